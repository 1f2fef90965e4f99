//! Event subscriptions over the outbox tables (semantics §8): each committed event exactly once per
//! subscriber, in event-id order per table, across reconnects.
//!
//! A subscription holds one connection of its own. In [`Delivery::Listen`] mode it `LISTEN`s on the
//! channels and reads rows after its cursor when woken (and every `poll_interval` as a safety net).
//! Before it sleeps it announces itself (`ff_await_events`) and reads once more: with the default
//! `ff_engine.notify = on` writers notify only announced subscribers, so a subscriber that is catching
//! up costs the writers no NOTIFY, and one that has caught up is woken by the next event (docs/wakeups.md). In
//! [`Delivery::Poll`] mode (for transaction-mode poolers, or `ff_engine.notify = off`) it only polls. On
//! start and after every reconnect it replays from its cursor, so nothing committed while it was away is
//! missed.
//!
//! **Gaps.** Event ids come from identity sequences, which hand out ids at insert time, not commit time:
//! id 11 can commit before id 10 does, and a rolled-back insert leaves a hole for ever. Reading "ids
//! after the last one seen" would then skip id 10. So the subscriber delivers only the contiguous run
//! after its cursor and holds back at a hole until the hole is proven final: every read returns its
//! snapshot's `xmin` and the next transaction id to be assigned; once a later snapshot's `xmin` reaches
//! that next id as it was when the hole was first seen, every transaction that could have taken the
//! missing ids has ended (the engine writes an event only in a transaction that already has its id), so a
//! still-missing id never will commit. The snapshot's `xmax` would not do: it is one past the latest
//! *completed* transaction, and a running one can hold a larger id. The same holds once a look at the
//! transactions in progress *of this database* (`pg_stat_activity`, readable by every role), taken after
//! the hole was seen, finds none below that id: a later read still missing it misses it for good, and a
//! long transaction in another database of the server does not hold the subscriber back. (`max_gap_wait`
//! bounds the wait when an unrelated transaction of this database stays open for long.)

use crate::client::col;
use crate::retry::{jitter_seed, RetryPolicy};
use crate::types::parse_execution_id;
use crate::{Client, ExecutionId, Result};
use std::collections::VecDeque;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, NoTls, Row};
use uuid::Uuid;

/// The `FROM` of every read: its snapshot's `xmin`, and the next transaction id to be assigned when
/// it ran (`xmax` + `age(xmax)`: `age` counts from that id and assigns none). Not the snapshot's
/// `xmax`: that is one past the latest *completed* transaction, and a transaction still running can hold
/// a larger id, assigned before the snapshot.
macro_rules! snapshot_bounds {
    () => {
        concat!(
            "FROM (SELECT pg_snapshot_xmin(c.s)::text::bigint AS xmin, ",
            "pg_snapshot_xmax(c.s)::text::bigint + age(xid(pg_snapshot_xmax(c.s))) AS next_xid ",
            "FROM (SELECT pg_current_snapshot() AS s) c) s "
        )
    };
}

/// The four outbox tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// `ff_signal_event` (channel `ff_signal_event`).
    Signal,
    /// `ff_lease_event` (channel `ff_lease_event`).
    Lease,
    /// `ff_completion_event` (channel `ff_completion`).
    Completion,
    /// `ff_operator_event` (channel `ff_operator_event`).
    Operator,
}

impl EventKind {
    fn channel(self) -> &'static str {
        match self {
            EventKind::Signal => "ff_signal_event",
            EventKind::Lease => "ff_lease_event",
            EventKind::Completion => "ff_completion",
            EventKind::Operator => "ff_operator_event",
        }
    }

    /// Completion events with their results' bytes.
    const COMPLETIONS_WITH_RESULTS: &'static str = concat!(
        "SELECT s.xmin, s.next_xid, e.event_id, e.partition_key, e.execution_id, e.namespace, e.produced_at_ms, ",
        "e.outcome, e.flow_id, e.result_bytes, e.result, e.failure_class ",
        snapshot_bounds!(),
        "LEFT JOIN LATERAL (SELECT * FROM ff_completions WHERE event_id > $1 ORDER BY event_id LIMIT $2) e ON true ",
        "ORDER BY e.event_id"
    );

    fn index(self) -> usize {
        self as usize
    }

    // One statement (one snapshot): the snapshot's bounds, then the rows after the cursor.
    fn sql(self) -> &'static str {
        match self {
            EventKind::Signal => concat!(
                "SELECT s.xmin, s.next_xid, e.event_id, e.partition_key, e.execution_id, e.namespace, e.occurred_at_ms, ",
                "e.signal_id, e.waitpoint_id, e.signal_name, e.source_type, e.source_identity, e.effect ",
                snapshot_bounds!(),
                "LEFT JOIN LATERAL (SELECT * FROM ff_signal_event WHERE event_id > $1 ORDER BY event_id LIMIT $2) e ON true ",
                "ORDER BY e.event_id"
            ),
            EventKind::Lease => concat!(
                "SELECT s.xmin, s.next_xid, e.event_id, e.partition_key, e.execution_id, e.namespace, e.occurred_at_ms, ",
                "e.lease_id, e.lease_epoch, e.event_type ",
                snapshot_bounds!(),
                "LEFT JOIN LATERAL (SELECT * FROM ff_lease_event WHERE event_id > $1 ORDER BY event_id LIMIT $2) e ON true ",
                "ORDER BY e.event_id"
            ),
            // The view adds the execution's flow and, for a success, its result's size (and bytes: with
            // `SubscriptionOptions::with_results`, a column ff_signaler may not read).
            EventKind::Completion => concat!(
                "SELECT s.xmin, s.next_xid, e.event_id, e.partition_key, e.execution_id, e.namespace, e.produced_at_ms, ",
                "e.outcome, e.flow_id, e.result_bytes, NULL::bytea, e.failure_class ",
                snapshot_bounds!(),
                "LEFT JOIN LATERAL (SELECT event_id, partition_key, execution_id, namespace, produced_at_ms, outcome, flow_id, ",
                "result_bytes, failure_class FROM ff_completions WHERE event_id > $1 ORDER BY event_id LIMIT $2) e ON true ",
                "ORDER BY e.event_id"
            ),
            EventKind::Operator => concat!(
                "SELECT s.xmin, s.next_xid, e.event_id, e.partition_key, e.execution_id, e.namespace, e.occurred_at_ms, ",
                "e.action::text, e.actor, e.reason, e.detail, e.lane_id ",
                snapshot_bounds!(),
                "LEFT JOIN LATERAL (SELECT * FROM ff_operator_event WHERE event_id > $1 ORDER BY event_id LIMIT $2) e ON true ",
                "ORDER BY e.event_id"
            ),
        }
    }
}

/// Fields every event carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventHeader {
    /// The event's id within its table (the cursor).
    pub event_id: i64,
    /// The execution's partition.
    pub partition_key: i16,
    /// The execution.
    pub execution_id: ExecutionId,
    /// The execution's namespace.
    pub namespace: Option<String>,
    /// When it happened (ms since the epoch).
    pub occurred_at_ms: i64,
}

/// An outbox event (new kinds may be added: match with a wildcard arm).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// An accepted signal.
    Signal {
        /// Common fields.
        header: EventHeader,
        /// The signal's id.
        signal_id: Uuid,
        /// The waitpoint it arrived on.
        waitpoint_id: Uuid,
        /// Its name.
        signal_name: String,
        /// Sender kind.
        source_type: String,
        /// Sender identity.
        source_identity: String,
        /// What it did (`appended_to_waitpoint`, `resume_condition_satisfied`, …).
        effect: String,
    },
    /// A lease transition.
    Lease {
        /// Common fields.
        header: EventHeader,
        /// The lease.
        lease_id: Option<Uuid>,
        /// The epoch after the transition.
        lease_epoch: i64,
        /// `acquired`, `renewed`, `expired`, `reclaimed`, `revoked` or `released`.
        event_type: String,
    },
    /// A terminal outcome or a resume (`header.occurred_at_ms`: when it was produced).
    Completion {
        /// Common fields.
        header: EventHeader,
        /// `success`, `failed`, `cancelled`, `expired`, `skipped` or `resumed`.
        outcome: String,
        /// The execution's flow.
        flow_id: Option<uuid::Uuid>,
        /// A success's result size.
        result_bytes: Option<i32>,
        /// A success's result, with [`SubscriptionOptions::with_results`].
        result: Option<Vec<u8>>,
        /// A failure's class (`transient`, `permanent`, `timeout`, `infra_crash`, `cancelled`; see
        /// [`FailureClass`](crate::FailureClass)); NULL for a success, a resume or a skip.
        failure_class: Option<String>,
    },
    /// An operator action on a lane (`lane_paused`, `lane_resumed`): no execution.
    Lane {
        /// The event's id within `ff_operator_event` (the cursor).
        event_id: i64,
        /// When it happened (ms since the epoch).
        occurred_at_ms: i64,
        /// The lane.
        lane_id: String,
        /// `lane_paused` or `lane_resumed`.
        action: String,
        /// The session user who acted.
        actor: String,
        /// The reason given, if any.
        reason: Option<String>,
    },
    /// An operator action on an execution.
    Operator {
        /// Common fields.
        header: EventHeader,
        /// `priority_changed`, `replayed`, `lease_revoked`, `execution_held` or `execution_released`.
        action: String,
        /// The session user who acted.
        actor: String,
        /// The reason given, if any.
        reason: Option<String>,
        /// Details (e.g. `{"from": 0, "to": 10}` for a priority change).
        detail: serde_json::Value,
    },
}

impl Event {
    /// The common fields of an event about an execution (every kind but [`Event::Lane`]).
    pub fn header(&self) -> Option<&EventHeader> {
        match self {
            Event::Signal { header, .. }
            | Event::Lease { header, .. }
            | Event::Completion { header, .. }
            | Event::Operator { header, .. } => Some(header),
            Event::Lane { .. } => None,
        }
    }

    /// The event's id within its table (the cursor).
    pub fn event_id(&self) -> i64 {
        match self {
            Event::Lane { event_id, .. } => *event_id,
            other => other.header().map_or(0, |h| h.event_id),
        }
    }

    /// Which table it came from.
    pub fn kind(&self) -> EventKind {
        match self {
            Event::Signal { .. } => EventKind::Signal,
            Event::Lease { .. } => EventKind::Lease,
            Event::Completion { .. } => EventKind::Completion,
            Event::Operator { .. } | Event::Lane { .. } => EventKind::Operator,
        }
    }

    fn from_row(kind: EventKind, r: &Row) -> Result<Event> {
        if kind == EventKind::Operator && col::<Option<&str>>(r, 4)?.is_none() {
            return Ok(Event::Lane {
                event_id: col(r, 2)?,
                occurred_at_ms: col(r, 6)?,
                lane_id: col(r, 11)?,
                action: col(r, 7)?,
                actor: col(r, 8)?,
                reason: col(r, 9)?,
            });
        }
        let header = EventHeader {
            event_id: col(r, 2)?,
            partition_key: col(r, 3)?,
            execution_id: parse_execution_id(col(r, 4)?)?,
            namespace: col(r, 5)?,
            occurred_at_ms: col(r, 6)?,
        };
        Ok(match kind {
            EventKind::Signal => Event::Signal {
                header,
                signal_id: col(r, 7)?,
                waitpoint_id: col(r, 8)?,
                signal_name: col(r, 9)?,
                source_type: col(r, 10)?,
                source_identity: col(r, 11)?,
                effect: col(r, 12)?,
            },
            EventKind::Lease => Event::Lease { header, lease_id: col(r, 7)?, lease_epoch: col(r, 8)?, event_type: col(r, 9)? },
            EventKind::Completion => Event::Completion {
                header,
                outcome: col(r, 7)?,
                flow_id: col(r, 8)?,
                result_bytes: col(r, 9)?,
                result: col(r, 10)?,
                failure_class: col(r, 11)?,
            },
            EventKind::Operator => {
                Event::Operator { header, action: col(r, 7)?, actor: col(r, 8)?, reason: col(r, 9)?, detail: col(r, 10)? }
            }
        })
    }
}

/// The last event id delivered per table (0 = from the beginning). Persist it to resume a subscription
/// across restarts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cursor {
    /// Last `ff_signal_event.event_id` delivered.
    pub signal: i64,
    /// Last `ff_lease_event.event_id` delivered.
    pub lease: i64,
    /// Last `ff_completion_event.event_id` delivered.
    pub completion: i64,
    /// Last `ff_operator_event.event_id` delivered.
    pub operator: i64,
}

impl Cursor {
    fn get(&self, k: EventKind) -> i64 {
        [self.signal, self.lease, self.completion, self.operator][k.index()]
    }

    pub(crate) fn set(&mut self, k: EventKind, v: i64) {
        *[&mut self.signal, &mut self.lease, &mut self.completion, &mut self.operator][k.index()] = v;
    }
}

/// How a subscription learns of new events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// `LISTEN` on the channels; read on every notification.
    Listen,
    /// Poll only (transaction-mode poolers, `ff_engine.notify = off`).
    Poll,
}

/// Options of [`Client::subscribe`].
#[derive(Debug, Clone)]
pub struct SubscriptionOptions {
    /// Tables to follow.
    pub kinds: Vec<EventKind>,
    /// Start after these ids.
    pub cursor: Cursor,
    /// Listen or poll.
    pub delivery: Delivery,
    /// Poll period (in Listen mode: the safety-net period).
    pub poll_interval: Duration,
    /// Rows read per statement.
    pub batch: i64,
    /// Longest a hole in the ids holds back later events (see the module docs). A hole still open
    /// after it is passed for good: an event whose transaction commits more than this long after it
    /// was written is never delivered. Keep it above the longest transaction that calls the engine.
    pub max_gap_wait: Duration,
    /// Completion events carry their results' bytes (not for a client in role ff_signaler).
    pub with_results: bool,
    /// Deliver only the events of executions in this namespace (a tenant's subscriber; lane events,
    /// which belong to no execution, are left out too). The cursor still moves past the others.
    pub namespace: Option<String>,
    /// Deliver only the events of executions with this tag (`tags ->> key = value`), looked up once
    /// per execution with `ff_get_execution` (so for the roles that may call it, not `ff_signaler`); an
    /// execution already pruned does not match.
    pub tag: Option<(String, String)>,
}

impl SubscriptionOptions {
    /// Follow `kinds` from the beginning with LISTEN (poll every 10 s as a safety net).
    pub fn new(kinds: impl IntoIterator<Item = EventKind>) -> Self {
        SubscriptionOptions {
            kinds: kinds.into_iter().collect(),
            cursor: Cursor::default(),
            delivery: Delivery::Listen,
            poll_interval: Duration::from_secs(10),
            batch: 500,
            max_gap_wait: Duration::from_secs(30),
            with_results: false,
            namespace: None,
            tag: None,
        }
    }

    /// Only the events of executions tagged `key = value` (the scanners' tag filter, for a subscriber).
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tag = Some((key.into(), value.into()));
        self
    }

    /// Only the events of executions in `namespace` (the scanners' filter, for a subscriber).
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    /// Completion events carry their results' bytes (the roles that run executions; not ff_signaler).
    pub fn with_results(mut self) -> Self {
        self.with_results = true;
        self
    }

    /// Start after `cursor`.
    pub fn after(mut self, cursor: Cursor) -> Self {
        self.cursor = cursor;
        self
    }

    /// Poll every `interval` instead of listening.
    pub fn polling(mut self, interval: Duration) -> Self {
        self.delivery = Delivery::Poll;
        self.poll_interval = interval;
        self
    }
}

#[derive(Debug, Clone, Copy)]
struct Hole {
    first_missing: i64,
    /// The next transaction id to be assigned when the hole was first seen: the writer of the missing
    /// id had its transaction id then.
    next_xid_then: i64,
    /// A look at the transactions in progress, taken after the hole was first seen, found none of this
    /// database below `next_xid_then`: the writer had ended then, so a later read that still misses
    /// the id misses it for good.
    writers_ended: bool,
    seen_at: Instant,
}

/// The oldest transaction in progress in this database, prepared ones included, as a 64-bit id (NULL:
/// none): `pg_stat_activity`'s `backend_xid` is readable by every role, and its 32 bits are placed
/// against the snapshot's `xmax` (an id in progress is within 2^31 of it).
const OLDEST_WRITER_HERE: &str = concat!(
    "SELECT min(s.xmax + (t.xid::text::bigint - s.xmax % 4294967296 + 6442450944) % 4294967296 - 2147483648) ",
    "FROM (SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS xmax) s, ",
    "(SELECT backend_xid AS xid FROM pg_stat_activity WHERE datname = current_database() AND backend_xid IS NOT NULL ",
    "UNION ALL SELECT transaction FROM pg_prepared_xacts WHERE database = current_database()) t"
);

struct Connection {
    client: tokio_postgres::Client,
    statements: Vec<(EventKind, tokio_postgres::Statement)>,
    oldest_writer_here: tokio_postgres::Statement,
    wakeups: mpsc::UnboundedReceiver<()>,
    backend_pid: i32,
}

/// A live subscription; see the module docs. Call [`Subscription::next`] in a loop.
pub struct Subscription {
    config: tokio_postgres::Config,
    options: SubscriptionOptions,
    cursor: Cursor,
    holes: [Option<Hole>; 4],
    conn: Option<Connection>,
    buffer: VecDeque<Event>,
    must_read: bool,
    /// Announced (`ff_await_events`) since the last wake-up.
    announced: bool,
    /// False once the database refused `ff_await_events` (an extension older than 0.2.0, which
    /// notifies every write anyway).
    can_announce: bool,
    connected_once: bool,
    reconnects: u64,
    /// Whether each execution seen matches [`SubscriptionOptions::tag`].
    tagged: std::collections::HashMap<String, bool>,
}

impl Client {
    /// Subscribe to outbox events with its own connection (opened lazily by the first `next`), on the
    /// server the client connects to. On a Citus cluster that is the coordinator's outbox only: see
    /// [`Client::subscribe_everywhere`].
    pub fn subscribe(&self, options: SubscriptionOptions) -> Subscription {
        Subscription::to(self.pg_config().clone(), options)
    }
}

impl Subscription {
    /// A subscription to the outbox of the server `config` names.
    pub(crate) fn to(mut config: tokio_postgres::Config, options: SubscriptionOptions) -> Subscription {
        config.application_name("ff_engine_subscriber");
        Subscription {
            config,
            cursor: options.cursor,
            options,
            holes: [None; 4],
            conn: None,
            buffer: VecDeque::new(),
            must_read: true,
            announced: false,
            can_announce: true,
            connected_once: false,
            reconnects: 0,
            tagged: std::collections::HashMap::new(),
        }
    }
}

const HOLE_RECHECK: Duration = Duration::from_millis(20);

impl Subscription {
    /// The next event, in event-id order per table. Waits for one; reconnects (with jittered backoff)
    /// and replays as needed. Errors other than dropped connections (e.g. `42501`) are returned.
    pub async fn next(&mut self) -> Result<Event> {
        loop {
            if let Some(header) = self.buffer.front().map(|e| e.header().cloned()) {
                // Decided before the cursor moves: a lookup that loses the connection leaves the event
                // in the buffer.
                let wanted = match self.wanted(header.as_ref()).await {
                    Ok(wanted) => wanted,
                    Err(e) if e.is_retryable() => {
                        self.conn = None;
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                let e = self.buffer.pop_front().expect("an event was peeked");
                self.cursor.set(e.kind(), e.event_id());
                if wanted {
                    return Ok(e);
                }
                continue;
            }
            if self.conn.is_none() {
                self.connect().await?;
                self.must_read = true;
            }
            if self.must_read {
                self.must_read = false;
                match self.read().await {
                    Ok(()) => continue,
                    Err(e) if e.is_retryable() => {
                        self.conn = None;
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }
            if self.options.delivery == Delivery::Listen && self.can_announce && !self.announced {
                // Announce, then read once more: whatever committed before the announcement is read
                // now, whatever commits after it notifies.
                match self.announce().await {
                    Ok(()) => {
                        self.announced = true;
                        self.must_read = true;
                    }
                    Err(e) if e.is_retryable() => self.conn = None,
                    Err(_) => self.can_announce = false,
                }
                continue;
            }
            self.wait().await;
            self.announced = false;
        }
    }

    async fn announce(&self) -> Result<()> {
        let conn = self.conn.as_ref().expect("connected");
        // One simple-protocol round trip; the channel names are this crate's constants.
        let channels: Vec<&str> = self.options.kinds.iter().map(|k| k.channel()).collect();
        conn.client.batch_execute(&format!("SELECT ff_await_events('{{{}}}')", channels.join(","))).await?;
        Ok(())
    }

    /// The last event id delivered per table.
    pub fn cursor(&self) -> Cursor {
        self.cursor
    }

    /// How many times the subscription reconnected.
    pub fn reconnects(&self) -> u64 {
        self.reconnects
    }

    /// The server process id of the subscription's connection, if connected.
    pub fn backend_pid(&self) -> Option<i32> {
        self.conn.as_ref().map(|c| c.backend_pid)
    }

    /// Whether an event about this execution (none: a lane event) passes the namespace and tag filters.
    async fn wanted(&mut self, header: Option<&EventHeader>) -> Result<bool> {
        if self.options.namespace.is_none() && self.options.tag.is_none() {
            return Ok(true);
        }
        let Some(h) = header else { return Ok(false) };
        if self.options.namespace.as_deref().is_some_and(|ns| h.namespace.as_deref() != Some(ns)) {
            return Ok(false);
        }
        let Some(tag) = &self.options.tag else { return Ok(true) };
        let id = h.execution_id.to_string();
        if let Some(known) = self.tagged.get(&id) {
            return Ok(*known);
        }
        let (key, value) = tag.clone();
        if self.conn.is_none() {
            self.connect().await?;
            self.must_read = true;
        }
        let conn = self.conn.as_ref().expect("connected");
        let found = match conn.client.query_opt("SELECT tags ->> $2 FROM ff_get_execution($1)", &[&id, &key]).await {
            Ok(row) => row.and_then(|r| r.get::<_, Option<String>>(0)).is_some_and(|v| v == value),
            // Pruned since the event was written: it matches nothing.
            Err(e) if e.code().is_some_and(|c| c.code() == "WF010") => false,
            Err(e) => return Err(e.into()),
        };
        if self.tagged.len() >= 100_000 {
            self.tagged.clear();
        }
        self.tagged.insert(id, found);
        Ok(found)
    }

    async fn connect(&mut self) -> Result<()> {
        let backoff = RetryPolicy { max_attempts: u32::MAX, base_delay: Duration::from_millis(50), max_delay: Duration::from_secs(5) };
        let mut attempt = 0;
        loop {
            match self.try_connect().await {
                Ok(c) => {
                    if self.connected_once {
                        self.reconnects += 1;
                    }
                    self.connected_once = true;
                    self.conn = Some(c);
                    self.announced = false;
                    return Ok(());
                }
                Err(e) if e.is_retryable() => {
                    tokio::time::sleep(backoff.delay(attempt, jitter_seed())).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn try_connect(&self) -> Result<Connection> {
        let (client, mut connection) = self.config.connect(NoTls).await?;
        let (tx, wakeups) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            // Drive the connection; forward notifications; dropping `tx` tells the subscriber it closed.
            while let Some(Ok(msg)) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                if let AsyncMessage::Notification(_) = msg {
                    let _ = tx.send(());
                }
            }
        });
        if self.options.delivery == Delivery::Listen {
            let listen: String = self.options.kinds.iter().map(|k| format!("LISTEN {};", k.channel())).collect();
            client.batch_execute(&listen).await?;
        }
        let backend_pid: i32 = client.query_one("SELECT pg_backend_pid()", &[]).await?.get(0);
        let mut statements = Vec::new();
        for &kind in &self.options.kinds {
            let sql =
                if kind == EventKind::Completion && self.options.with_results { EventKind::COMPLETIONS_WITH_RESULTS } else { kind.sql() };
            statements.push((kind, client.prepare(sql).await?));
        }
        let oldest_writer_here = client.prepare(OLDEST_WRITER_HERE).await?;
        Ok(Connection { client, statements, oldest_writer_here, wakeups, backend_pid })
    }

    /// Read every followed table after its cursor into the buffer (contiguous runs only).
    async fn read(&mut self) -> Result<()> {
        let conn = self.conn.as_ref().expect("connected");
        for (kind, stmt) in &conn.statements {
            let kind = *kind;
            let start = self.cursor.get(kind); // `next` reads only once the buffer is drained
            let rows = conn.client.query(stmt, &[&start, &self.options.batch]).await?;
            let full = rows.iter().filter(|r| r.get::<_, Option<i64>>(2).is_some()).count() as i64 == self.options.batch;
            let (xmin, next_xid): (i64, i64) = match rows.first() {
                Some(r) => (col(r, 0)?, col(r, 1)?),
                None => continue,
            };
            let mut expected = start + 1;
            for r in &rows {
                let Some(id) = col::<Option<i64>>(r, 2)? else { break };
                if id != expected {
                    let hole = self.holes[kind.index()];
                    match hole {
                        Some(h) if h.first_missing == expected => {
                            let final_now = xmin >= h.next_xid_then || h.writers_ended || h.seen_at.elapsed() >= self.options.max_gap_wait;
                            if !final_now {
                                break;
                            }
                        }
                        _ => {
                            self.holes[kind.index()] = Some(Hole {
                                first_missing: expected,
                                next_xid_then: next_xid,
                                writers_ended: false,
                                seen_at: Instant::now(),
                            });
                            break;
                        }
                    }
                }
                self.holes[kind.index()] = None;
                self.buffer.push_back(Event::from_row(kind, r)?);
                expected = id + 1;
            }
            if full && self.holes[kind.index()].is_none() {
                self.must_read = true;
            }
        }
        // After the reads that saw the holes, before the read that may pass them: whether their writers
        // have ended, told by this database's transactions alone (a long one elsewhere on the server
        // holds the snapshots' xmin back, not these holes).
        if self.holes.iter().flatten().any(|h| !h.writers_ended) {
            let oldest: Option<i64> = col(&conn.client.query_one(&conn.oldest_writer_here, &[]).await?, 0)?;
            for h in self.holes.iter_mut().flatten() {
                h.writers_ended |= oldest.is_none_or(|x| x >= h.next_xid_then);
            }
        }
        Ok(())
    }

    /// Sleep until a notification, the poll period, a hole re-check, or the connection's end.
    async fn wait(&mut self) {
        let period = if self.holes.iter().any(Option::is_some) { HOLE_RECHECK } else { self.options.poll_interval };
        let conn = self.conn.as_mut().expect("connected");
        tokio::select! {
            woke = conn.wakeups.recv() => match woke {
                Some(()) => {
                    // Fold a burst of notifications into one read.
                    while conn.wakeups.try_recv().is_ok() {}
                    self.must_read = true;
                }
                None => self.conn = None,
            },
            _ = tokio::time::sleep(period) => self.must_read = true,
        }
        if self.conn.as_ref().is_some_and(|c| c.client.is_closed()) {
            self.conn = None;
        }
    }
}

impl Client {
    /// The current end of the event tables: subscribe `after` it to see only what happens from now on.
    pub async fn current_cursor(&self) -> Result<Cursor> {
        let r = self
            .row(
                "SELECT (SELECT coalesce(max(event_id), 0) FROM ff_signal_event), \
                 (SELECT coalesce(max(event_id), 0) FROM ff_lease_event), \
                 (SELECT coalesce(max(event_id), 0) FROM ff_completion_event), \
                 (SELECT coalesce(max(event_id), 0) FROM ff_operator_event)",
                &[],
            )
            .await?;
        Ok(Cursor { signal: col(&r, 0)?, lease: col(&r, 1)?, completion: col(&r, 2)?, operator: col(&r, 3)? })
    }
}
