//! Subscriptions on every node that writes events. The outbox tables are per node: on one server
//! there is one outbox; on a Citus cluster a call writes its events on the node it runs on — a
//! delegated call (`ff_complete_in`, …) on the worker holding its partition, any other call on the
//! coordinator. A subscriber that must see them all reads each node's outbox with a cursor of its own
//! (docs/scale-out.md, "Wake-ups and events on a cluster"): [`Client::subscribe_everywhere`]. Events
//! keep their order per node and table; between nodes there is none (an execution's events from its
//! delegated calls are all on its partition's node).

use crate::events::{Cursor, Event, Subscription, SubscriptionOptions};
use crate::{Client, Result};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// A node whose outbox holds events.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventNode {
    /// The server the client connects to (on a Citus cluster, the coordinator: the events of the calls
    /// it runs itself).
    Connected,
    /// A Citus worker holding shards of the engine's tables: the events of the delegated calls of its
    /// partitions.
    Worker {
        /// Its host, as the cluster's metadata names it (`pg_dist_node`).
        host: String,
        /// Its port.
        port: u16,
    },
}

/// The other nodes holding shards of `ff_exec_core` than the one connected to (its group is
/// `pg_dist_local_group`'s; the coordinator's is 0), in a stable order.
const WORKERS_WITH_SHARDS: &str = "SELECT DISTINCT n.nodename, n.nodeport \
     FROM pg_dist_shard s JOIN pg_dist_placement p ON p.shardid = s.shardid JOIN pg_dist_node n ON n.groupid = p.groupid \
     WHERE s.logicalrelid = 'ff_exec_core'::regclass AND n.groupid <> (SELECT groupid FROM pg_dist_local_group) \
     ORDER BY 1, 2";

impl Client {
    /// The nodes whose outboxes hold events: the server the client connects to and, on a Citus
    /// cluster, every other node holding shards (as the cluster's metadata says now; after a
    /// rebalance, ask again). Connect to the coordinator: the calls it runs itself (those Citus does
    /// not delegate) write their events there, and a client connected to a worker does not list it.
    pub async fn event_nodes(&self) -> Result<Vec<EventNode>> {
        let mut nodes = vec![EventNode::Connected];
        match self.rows(WORKERS_WITH_SHARDS, &[]).await {
            Ok(rows) => {
                for r in rows {
                    let (host, port): (String, i32) = (r.try_get(0)?, r.try_get(1)?);
                    let port = u16::try_from(port).map_err(|_| crate::Error::Protocol(format!("node port {port}")))?;
                    nodes.push(EventNode::Worker { host, port });
                }
            }
            // No Citus here (pg_dist_shard does not exist): one server, one outbox.
            Err(e) if e.sqlstate() == Some("42P01") => {}
            Err(e) => return Err(e),
        }
        Ok(nodes)
    }

    /// Subscribe to the outbox of one node (see [`Client::event_nodes`]); as [`Client::subscribe`]
    /// otherwise.
    pub fn subscribe_at(&self, node: &EventNode, options: SubscriptionOptions) -> Subscription {
        match node {
            EventNode::Connected => self.subscribe(options),
            EventNode::Worker { host, port } => Subscription::to(crate::waiting::node_config(self, host, *port), options),
        }
    }

    /// Subscribe to the outbox of every node of [`Client::event_nodes`], each with a connection and a
    /// cursor of its own: after `after`'s cursor for the nodes it names, after `options.cursor` for
    /// the others. On one server, one subscription as [`Client::subscribe`].
    pub async fn subscribe_everywhere(&self, options: SubscriptionOptions, after: &[(EventNode, Cursor)]) -> Result<NodeSubscriptions> {
        let nodes = self.event_nodes().await?;
        let (tx, events) = mpsc::channel(1);
        let mut cursors = Vec::new();
        let mut tasks = Vec::new();
        for (i, node) in nodes.into_iter().enumerate() {
            let start = after.iter().find(|(n, _)| *n == node).map_or(options.cursor, |(_, c)| *c);
            let mut subscription = self.subscribe_at(&node, options.clone().after(start));
            let tx = tx.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    let next = subscription.next().await;
                    let failed = next.is_err();
                    if tx.send((i, next)).await.is_err() || failed {
                        return;
                    }
                }
            }));
            cursors.push((node, start));
        }
        Ok(NodeSubscriptions { events, cursors, tasks })
    }
}

/// Subscriptions to every node's outbox ([`Client::subscribe_everywhere`]). Each node's events come
/// exactly once, in event-id order per table, across reconnects, as a [`Subscription`]'s do; their
/// order between nodes is the order they were read in.
pub struct NodeSubscriptions {
    events: mpsc::Receiver<(usize, Result<Event>)>,
    /// Per node, the last event id handed out per table.
    cursors: Vec<(EventNode, Cursor)>,
    tasks: Vec<JoinHandle<()>>,
}

impl NodeSubscriptions {
    /// The next event of any node, with its node. An error other than a dropped connection (which is
    /// retried) ends that node's subscription: subscribe again `after` [`NodeSubscriptions::cursors`].
    pub async fn next(&mut self) -> Result<(EventNode, Event)> {
        let Some((i, next)) = self.events.recv().await else {
            return Err(crate::Error::Protocol("every node's subscription has ended".into()));
        };
        let event = next?;
        let (node, cursor) = &mut self.cursors[i];
        cursor.set(event.kind(), event.event_id());
        Ok((node.clone(), event))
    }

    /// Per node, the last event id handed out per table: start a later subscription after these.
    pub fn cursors(&self) -> Vec<(EventNode, Cursor)> {
        self.cursors.clone()
    }
}

impl Drop for NodeSubscriptions {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}
