//! ff_engine distributed on a real Citus cluster: a coordinator and two workers on unix sockets
//! (scripts/citus-cluster.sh; FF_CITUS_CLUSTER names its directory, `scripts/test.sh` starts one per
//! edition). `ff_distribute` places the tables; each partition-first call made on the coordinator runs
//! on exactly one node, the one holding its partition's shard — counted from Citus's own log of the
//! commands it sends (`citus.log_remote_commands`); sixteen claimers racing on the cluster get every
//! execution exactly once. Both editions. What does not distribute yet is listed in docs/scale-out.md.

use ff_engine_tests::*;
use postgres::{Client, NoTls};
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Barrier, Mutex, Once};

/// The cluster's directory, or None (the test says it is skipped, and why).
fn cluster() -> Option<PathBuf> {
    match std::env::var_os("FF_CITUS_CLUSTER") {
        Some(dir) => Some(PathBuf::from(dir)),
        None => {
            record_skip("no Citus cluster (FF_CITUS_CLUSTER): scripts/test.sh starts one on PostgreSQL 18");
            None
        }
    }
}

/// A session on the coordinator; the remote commands Citus logs for it are appended to `log`.
fn coordinator(dir: &std::path::Path, log: Option<Arc<Mutex<Vec<String>>>>) -> Client {
    let mut config = postgres::Config::new();
    config.host_path(dir.join("sock")).port(5432).user("postgres").dbname("postgres");
    if let Some(log) = log {
        config.notice_callback(move |n| {
            if n.message().starts_with("issuing ") {
                log.lock().unwrap().push(format!("{} / {}", n.message(), n.detail().unwrap_or_default()));
            }
        });
    }
    config.connect(NoTls).unwrap()
}

/// CREATE EXTENSION ff_engine on the coordinator (Citus creates it on the workers), a key, and
/// `ff_distribute`, once per cluster (the cluster is fresh for each run of this file).
fn distributed(dir: &std::path::Path) -> Client {
    static SETUP: Once = Once::new();
    let mut c = coordinator(dir, None);
    SETUP.call_once(|| {
        c.batch_execute("CREATE EXTENSION IF NOT EXISTS ff_engine CASCADE").unwrap();
        assert_edition(&mut c);
        c.query("SELECT * FROM ff_seed_hmac('k1', repeat('11', 32))", &[]).unwrap();
        let placed: Vec<(String, String)> =
            c.query("SELECT * FROM ff_distribute(8)", &[]).unwrap().iter().map(|r| (r.get(0), r.get(1))).collect();
        assert!(placed.contains(&("ff_exec_core".into(), "distributed by partition_key".into())), "{placed:?}");
        assert!(placed.contains(&("ff_keystore".into(), "reference".into())), "{placed:?}");
        let again: i64 = c.query_one("SELECT count(*) FROM ff_distribute(8)", &[]).unwrap().get(0);
        assert_eq!(again as usize, placed.len(), "ff_distribute is idempotent");
    });
    c
}

/// The port of the worker holding the shard of `partition`.
fn node_of(c: &mut Client, partition: i16) -> String {
    let port: i32 = c
        .query_one(
            "SELECT nodeport FROM pg_dist_shard_placement \
             WHERE shardid = get_shard_id_for_distribution_column('ff_exec_core', $1::smallint)",
            &[&partition],
        )
        .unwrap()
        .get(0);
    port.to_string()
}

/// Lanes whose partitions fall on each of the two workers, and their partitions.
fn lanes_on_both_workers(c: &mut Client) -> Vec<(String, i16, String)> {
    let mut by_node: BTreeMap<String, (String, i16)> = BTreeMap::new();
    for i in 0..64 {
        let lane = format!("cit-lane-{i}");
        let p: i16 = c.query_one("SELECT ff_partition_for($1, NULL)", &[&lane]).unwrap().get(0);
        by_node.entry(node_of(c, p)).or_insert((lane, p));
    }
    assert_eq!(by_node.len(), 2, "lanes on both workers: {by_node:?}");
    by_node.into_iter().map(|(node, (lane, p))| (lane, p, node)).collect()
}

/// Why the Rust edition's claims do not run on a cluster yet.
const RUST_CLAIM: &str = "the Rust edition's claim writes the lease, the attempt and the lease event in one statement \
    whose CTEs insert, which Citus does not route to one shard (docs/scale-out.md, \"Not built\")";

/// Run `sql` ($1 partition, $2 lane) for a lane on each worker; assert that each call went, whole, to
/// the node of its partition and to no other (one remote command: the call, not its statements).
fn assert_one_node_per_call(dir: &std::path::Path, function: &str, sql: &str) {
    let mut setup = distributed(dir);
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut c = coordinator(dir, Some(log.clone()));
    c.batch_execute("SET citus.log_remote_commands = on").unwrap();
    for (lane, p, node) in lanes_on_both_workers(&mut setup) {
        c.query_one("SELECT * FROM ff_create_execution_in($1, $2, '\\x01')", &[&p, &lane]).unwrap();
        log.lock().unwrap().clear();
        let rows = c.query(sql, &[&p, &lane]).unwrap();
        assert_eq!(rows.len(), 1, "{function} in {lane}");
        let sent = log.lock().unwrap().clone();
        assert_eq!(sent.len(), 1, "{function} in {lane}: one command to one node, got {sent:?}");
        assert!(sent[0].contains(&format!("public.{function}(")), "{function} in {lane}: sent {sent:?}");
        assert!(sent[0].contains(&format!(":{node} ")), "{function} in {lane}: sent to {sent:?}, its partition is on {node}");
    }
}

#[test]
fn each_create_runs_on_the_one_node_of_its_partition() {
    let Some(dir) = cluster() else { return };
    assert_one_node_per_call(&dir, "ff_create_execution_in", "SELECT * FROM ff_create_execution_in($1, $2, '\\x02')");
}

#[test]
fn each_claim_runs_on_the_one_node_of_its_partition() {
    let Some(dir) = cluster() else { return };
    if sql_edition_only(RUST_CLAIM) {
        return;
    }
    assert_one_node_per_call(&dir, "ff_claim_in", "SELECT * FROM ff_claim_in($1, $2, 'w1', 'inst-1')");
}

#[test]
fn a_partition_first_call_with_another_partition_is_refused_on_the_cluster() {
    let Some(dir) = cluster() else { return };
    let mut c = distributed(&dir);
    let (lane, p, _) = lanes_on_both_workers(&mut c).remove(0);
    let e = assert_code(&mut c, "SELECT * FROM ff_create_execution_in($1, $2)", &[&((p + 1) % 256), &lane], "WF001");
    assert_eq!(e.detail.as_deref(), Some("partition_mismatch"), "{e:?}");
    let e = assert_code(&mut c, "SELECT * FROM ff_create_execution_in($1, $2, budget_ids => '{b1}')", &[&p, &lane], "WF035");
    assert_eq!(e.detail.as_deref(), Some("distributed_admission"), "{e:?}");
}

#[test]
fn sixteen_claimers_on_the_cluster_get_every_execution_exactly_once() {
    let Some(dir) = cluster() else { return };
    if sql_edition_only(RUST_CLAIM) {
        return;
    }
    let mut c = distributed(&dir);
    let lanes = lanes_on_both_workers(&mut c);
    let lanes: Vec<(String, i16)> = lanes.into_iter().map(|(l, p, _)| (format!("{l}-race"), p)).collect();
    // The race lanes' own partitions (the suffix moves them).
    let lanes: Vec<(String, i16)> = lanes
        .into_iter()
        .map(|(l, _)| {
            let p: i16 = c.query_one("SELECT ff_partition_for($1, NULL)", &[&l]).unwrap().get(0);
            (l, p)
        })
        .collect();
    let mut created = HashSet::new();
    for (lane, p) in &lanes {
        for _ in 0..100 {
            let id: String = c.query_one("SELECT execution_id FROM ff_create_execution_in($1, $2)", &[p, lane]).unwrap().get(0);
            created.insert(id);
        }
    }
    let claimed = Arc::new(Mutex::new(Vec::new()));
    let start = Arc::new(Barrier::new(16));
    let workers: Vec<_> = (0..16)
        .map(|w| {
            let (dir, claimed, start, lanes) = (dir.clone(), claimed.clone(), start.clone(), lanes.clone());
            std::thread::spawn(move || {
                let mut c = coordinator(&dir, None);
                start.wait();
                let mut idle = 0;
                while idle < lanes.len() {
                    let (lane, p) = &lanes[(w + idle) % lanes.len()];
                    let rows = c.query("SELECT execution_id FROM ff_claim_in($1, $2, $3, 'inst')", &[p, lane, &format!("w{w}")]).unwrap();
                    match rows.first() {
                        Some(r) => {
                            claimed.lock().unwrap().push(r.get::<_, String>(0));
                            idle = 0;
                        }
                        None => idle += 1,
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let claimed = claimed.lock().unwrap();
    let distinct: HashSet<_> = claimed.iter().cloned().collect();
    assert_eq!(distinct.len(), claimed.len(), "an execution claimed twice");
    assert_eq!(distinct, created, "every execution claimed");
    let leased: i64 = c
        .query_one("SELECT count(*) FROM ff_exec_core WHERE lane_id LIKE 'cit-lane-%-race' AND ownership_state = 'leased'", &[])
        .unwrap()
        .get(0);
    assert_eq!(leased, 200);
}
