//! ff_engine distributed on a real Citus cluster: a coordinator and two workers on unix sockets
//! (scripts/citus-cluster.sh; FF_CITUS_CLUSTER names its directory, `scripts/test.sh` starts one per
//! edition). `ff_distribute` places the tables; each partition-first call made on the coordinator —
//! create, claim, renew, complete, fail, suspend, deliver — runs on exactly one node, the one holding
//! its partition's shard, counted from Citus's own log of the commands it sends
//! (`citus.log_remote_commands`). On the cluster: an execution suspends and resumes by a signal sent
//! through the coordinator, sixteen claimers get every execution exactly once, sixteen signalers
//! resume one execution exactly once, bad input gets a documented SQLSTATE, a worker waiting on the
//! node of its partition is woken, a flow releases its dependent in its partition, each node's
//! `ff_tick_node` runs the scanners over the shards it holds, and a worker node restarted mid-run
//! loses nothing. Both editions; the SQL edition also installed by its standalone script run on the
//! coordinator (FF_CITUS_SCRIPT), as on a managed Citus that takes no extension files.
//! What does not distribute yet is listed in docs/scale-out.md.

use ff_engine_tests::*;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;
use postgres::{Client, NoTls};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier, Mutex, Once, RwLock};
use std::time::{Duration, Instant};
use uuid::Uuid;

const COORDINATOR: u16 = 5432;

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

/// A session on the node listening on `port`; the remote commands Citus logs for it go to `log`.
fn node(dir: &Path, port: u16, log: Option<Arc<Mutex<Vec<String>>>>) -> Result<Client, postgres::Error> {
    let mut config = postgres::Config::new();
    config.host_path(dir.join("sock")).port(port).user("postgres").dbname("postgres");
    if script_install() {
        config.options("-c search_path=ff_engine,public");
    }
    if let Some(log) = log {
        config.notice_callback(move |n| {
            if n.message().starts_with("issuing ") {
                log.lock().unwrap().push(format!("{} / {}", n.message(), n.detail().unwrap_or_default()));
            }
        });
    }
    config.connect(NoTls)
}

/// The standalone script to install the SQL edition with (FF_CITUS_SCRIPT), when set.
fn install_script() -> Option<PathBuf> {
    std::env::var_os("FF_CITUS_SCRIPT").filter(|s| !s.is_empty()).map(PathBuf::from)
}

fn script_install() -> bool {
    install_script().is_some()
}

fn coordinator(dir: &Path) -> Client {
    node(dir, COORDINATOR, None).unwrap()
}

/// ff_engine installed on the coordinator — CREATE EXTENSION ff_engine (Citus creates it on the
/// workers), or with FF_CITUS_SCRIPT the SQL edition's standalone script run there with psql, which
/// installs on the workers itself and distributes — then a key and `ff_distribute`, once per cluster
/// (the cluster is fresh for each run of this file).
fn distributed(dir: &Path) -> Client {
    static SETUP: Once = Once::new();
    let mut c = coordinator(dir);
    SETUP.call_once(|| {
        match install_script() {
            Some(script) => install_by_script(dir, &script),
            None => c.batch_execute("CREATE EXTENSION IF NOT EXISTS ff_engine CASCADE").unwrap(),
        }
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

/// The standalone script (schema ff_engine, which every session of this file then searches) run on the
/// coordinator with psql as a managed Citus's administrator would — a `CREATEROLE` role, no
/// superuser: it installs ff_engine on every worker, then on the coordinator, then distributes it
/// (8 shards); a second run does nothing.
fn install_by_script(dir: &Path, script: &Path) {
    let mut su = coordinator(dir);
    su.batch_execute("CREATE ROLE ff_citus_admin LOGIN CREATEROLE").unwrap();
    su.batch_execute("GRANT CREATE ON DATABASE postgres TO ff_citus_admin").unwrap();
    let run = || {
        let o = std::process::Command::new(psql_path())
            .args(["-X", "-q", "-h", dir.join("sock").to_str().unwrap(), "-p", &COORDINATOR.to_string(), "-U", "ff_citus_admin"])
            .args(["-d", "postgres", "-v", "ON_ERROR_STOP=1", "-v", "ff_shard_count=8", "-f"])
            .arg(script)
            .env_remove("RUST_BACKTRACE")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}: {}", script.display(), String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    let first = run();
    assert!(first.contains("distributed by partition_key"), "the script distributes: {first}");
    assert!(run().contains("already installed"), "a second run does nothing");
    let objects = |c: &mut Client| -> (i64, i64, bool, bool, String) {
        let r = c
            .query_one(
                "SELECT (SELECT count(*) FROM pg_proc WHERE pronamespace = 'ff_engine'::regnamespace), \
                        (SELECT count(*) FROM pg_class WHERE relnamespace = 'ff_engine'::regnamespace AND relkind = 'v'), \
                        has_column_privilege('ff_signaler', 'ff_completions', 'outcome', 'SELECT'), \
                        has_column_privilege('ff_signaler', 'ff_completions', 'result', 'SELECT'), \
                        (SELECT string_agg(DISTINCT pg_get_userbyid(proowner)::text, ',') FROM pg_proc \
                         WHERE pronamespace = 'ff_engine'::regnamespace)",
                &[],
            )
            .unwrap();
        (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4))
    };
    let here = objects(&mut coordinator(dir));
    assert_eq!((here.2, here.3), (true, false), "ff_signaler reads a completion's outcome, not its result");
    // PostgreSQL 18: the admin that created ff_engine_owner may not SET ROLE to it, so it keeps them.
    assert_eq!(here.4, "ff_citus_admin", "the installer owns the functions");
    for port in [COORDINATOR + 1, COORDINATOR + 2] {
        let there = objects(&mut node(dir, port, None).unwrap());
        assert_eq!(there, here, "the worker on {port} has every function and view, with their grants and owner");
    }
}

/// A lane whose partition's shard is on one worker.
#[derive(Clone, Debug)]
struct Placed {
    lane: String,
    partition: i16,
    port: u16,
}

/// The port of the worker holding the shard of `partition`.
fn node_of(c: &mut Client, partition: i16) -> u16 {
    let port: i32 = c
        .query_one(
            "SELECT nodeport FROM pg_dist_shard_placement \
             WHERE shardid = get_shard_id_for_distribution_column('ff_exec_core', $1::smallint)",
            &[&partition],
        )
        .unwrap()
        .get(0);
    port as u16
}

/// One lane per worker, named `<prefix>-<n>` (each test has lanes of its own).
fn lanes_on_both_workers(c: &mut Client, prefix: &str) -> Vec<Placed> {
    let mut by_node: BTreeMap<u16, Placed> = BTreeMap::new();
    for i in 0..64 {
        let lane = format!("{prefix}-{i}");
        let partition: i16 = c.query_one("SELECT ff_partition_for($1, NULL)", &[&lane]).unwrap().get(0);
        let port = node_of(c, partition);
        by_node.entry(port).or_insert(Placed { lane, partition, port });
    }
    assert_eq!(by_node.len(), 2, "lanes on both workers: {by_node:?}");
    by_node.into_values().collect()
}

/// One waitpoint `k`, satisfied by a signal named `go`.
const SINGLE: &str = r#"{"Single":{"waitpoint_key":"k","matcher":{"ByName":"go"}}}"#;

/// Create and claim an execution of the lane, through the coordinator: its lease.
fn leased(c: &mut Client, at: &Placed) -> Lease {
    c.query_one("SELECT * FROM ff_create_execution_in($1, $2, '\\x01')", &[&at.partition, &at.lane]).unwrap();
    lease_from_row(&c.query_one("SELECT * FROM ff_claim_in($1, $2, 'w1', 'inst-1')", &[&at.partition, &at.lane]).unwrap())
}

/// A leased execution suspended on `cond` with waitpoint `k`: its lease, the waitpoint and its token.
fn suspended(c: &mut Client, at: &Placed, cond: &str) -> (Lease, Uuid, String) {
    let l = leased(c, at);
    let r = c
        .query_one(
            "SELECT waitpoint_id, token FROM ff_suspend_in($1, $2, $3, $4, $5::text::jsonb, '[{\"waitpoint_key\":\"k\"}]')",
            &[&at.partition, &l.execution_id, &l.lease_id, &l.lease_epoch, &cond],
        )
        .unwrap();
    (l, r.get(0), r.get(1))
}

/// A call: its SQL and its arguments.
type Call = (&'static str, Vec<Box<dyn ToSql + Sync>>);

/// For a lane on each worker: make the state `prepare` needs, then run its call on the coordinator;
/// assert that the call went, whole, to the node of its partition and to no other (one remote
/// command: the call, not its statements).
fn assert_one_node_per_call(dir: &Path, function: &str, prepare: impl Fn(&mut Client, &Placed) -> Call) {
    let mut setup = distributed(dir);
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut c = node(dir, COORDINATOR, Some(log.clone())).unwrap();
    c.batch_execute("SET citus.log_remote_commands = on").unwrap();
    for at in lanes_on_both_workers(&mut setup, &format!("one-{function}")) {
        let (sql, args) = prepare(&mut setup, &at);
        let args: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a.as_ref()).collect();
        log.lock().unwrap().clear();
        let rows = c.query(sql, &args).unwrap();
        assert!(!rows.is_empty(), "{function} in {}", at.lane);
        let sent = log.lock().unwrap().clone();
        assert_eq!(sent.len(), 1, "{function} in {}: one command to one node, got {sent:?}", at.lane);
        let schema = if script_install() { "ff_engine" } else { "public" };
        assert!(sent[0].contains(&format!("{schema}.{function}(")), "{function} in {}: sent {sent:?}", at.lane);
        assert!(sent[0].contains(&format!(":{} ", at.port)), "{function} in {}: sent {sent:?}, its partition is on {}", at.lane, at.port);
    }
}

#[test]
fn each_create_runs_on_the_one_node_of_its_partition() {
    let Some(dir) = cluster() else { return };
    let _shared = SHARED.read().unwrap_or_else(|e| e.into_inner());
    assert_one_node_per_call(&dir, "ff_create_execution_in", |_, at| {
        ("SELECT * FROM ff_create_execution_in($1, $2, '\\x02')", vec![Box::new(at.partition), Box::new(at.lane.clone())])
    });
}

#[test]
fn each_claim_runs_on_the_one_node_of_its_partition() {
    let Some(dir) = cluster() else { return };
    let _shared = SHARED.read().unwrap_or_else(|e| e.into_inner());
    assert_one_node_per_call(&dir, "ff_claim_in", |c, at| {
        c.query_one("SELECT * FROM ff_create_execution_in($1, $2)", &[&at.partition, &at.lane]).unwrap();
        ("SELECT * FROM ff_claim_in($1, $2, 'w1', 'inst-1')", vec![Box::new(at.partition), Box::new(at.lane.clone())])
    });
}

/// The partition, execution id, lease id and epoch of a lease, as call arguments.
fn lease_args(at: &Placed, l: Lease) -> Vec<Box<dyn ToSql + Sync>> {
    vec![Box::new(at.partition), Box::new(l.execution_id), Box::new(l.lease_id), Box::new(l.lease_epoch)]
}

#[test]
fn each_renew_runs_on_the_one_node_of_its_partition() {
    let Some(dir) = cluster() else { return };
    let _shared = SHARED.read().unwrap_or_else(|e| e.into_inner());
    assert_one_node_per_call(&dir, "ff_renew_lease_in", |c, at| {
        ("SELECT * FROM ff_renew_lease_in($1, $2, $3, $4)", lease_args(at, leased(c, at)))
    });
}

#[test]
fn each_complete_runs_on_the_one_node_of_its_partition() {
    let Some(dir) = cluster() else { return };
    let _shared = SHARED.read().unwrap_or_else(|e| e.into_inner());
    assert_one_node_per_call(&dir, "ff_complete_in", |c, at| {
        ("SELECT * FROM ff_complete_in($1, $2, $3, $4, '\\x2a')", lease_args(at, leased(c, at)))
    });
}

#[test]
fn each_fail_runs_on_the_one_node_of_its_partition() {
    let Some(dir) = cluster() else { return };
    let _shared = SHARED.read().unwrap_or_else(|e| e.into_inner());
    assert_one_node_per_call(&dir, "ff_fail_in", |c, at| {
        ("SELECT * FROM ff_fail_in($1, $2, $3, $4, 'boom')", lease_args(at, leased(c, at)))
    });
}

#[test]
fn each_suspend_runs_on_the_one_node_of_its_partition() {
    let Some(dir) = cluster() else { return };
    let _shared = SHARED.read().unwrap_or_else(|e| e.into_inner());
    assert_one_node_per_call(&dir, "ff_suspend_in", |c, at| {
        let mut args = lease_args(at, leased(c, at));
        args.push(Box::new(SINGLE));
        ("SELECT * FROM ff_suspend_in($1, $2, $3, $4, $5::text::jsonb, '[{\"waitpoint_key\":\"k\"}]')", args)
    });
}

#[test]
fn each_signal_runs_on_the_one_node_of_its_partition() {
    let Some(dir) = cluster() else { return };
    let _shared = SHARED.read().unwrap_or_else(|e| e.into_inner());
    assert_one_node_per_call(&dir, "ff_deliver_signal_in", |c, at| {
        let (l, waitpoint, token) = suspended(c, at, SINGLE);
        let args: Vec<Box<dyn ToSql + Sync>> = vec![Box::new(at.partition), Box::new(l.execution_id), Box::new(waitpoint), Box::new(token)];
        ("SELECT * FROM ff_deliver_signal_in($1, $2, $3, $4, 'go')", args)
    });
}

/// The rows of `table` for an execution on the node at `port` (the event tables are per node).
fn events_on(dir: &Path, port: u16, table: &str, execution_id: &str) -> i64 {
    let sql = format!("SELECT count(*) FROM {table} WHERE execution_id = $1");
    node(dir, port, None).unwrap().query_one(&sql, &[&execution_id]).unwrap().get(0)
}

#[test]
fn a_suspended_execution_resumes_by_a_signal_sent_through_the_coordinator() {
    let Some(dir) = cluster() else { return };
    let _shared = SHARED.read().unwrap_or_else(|e| e.into_inner());
    let mut c = distributed(&dir);
    for at in lanes_on_both_workers(&mut c, "resume") {
        let (l, waitpoint, token) = suspended(&mut c, &at, SINGLE);
        let effect: String = c
            .query_one(
                "SELECT effect FROM ff_deliver_signal_in($1, $2, $3, $4, 'go')",
                &[&at.partition, &l.execution_id, &waitpoint, &token],
            )
            .unwrap()
            .get(0);
        assert_eq!(effect, "resume_condition_satisfied");
        let again = assert_code(
            &mut c,
            "SELECT * FROM ff_deliver_signal_in($1, $2, $3, $4, 'go')",
            &[&at.partition, &l.execution_id, &waitpoint, &token],
            "WF030",
        );
        assert_eq!(again.detail, None, "{again:?}");
        let resumed =
            lease_from_row(&c.query_one("SELECT * FROM ff_claim_in($1, $2, 'w2', 'inst-2')", &[&at.partition, &at.lane]).unwrap());
        assert_eq!((resumed.execution_id.as_str(), resumed.resumed), (l.execution_id.as_str(), true));
        c.query_one(
            "SELECT * FROM ff_complete_in($1, $2, $3, $4)",
            &[&at.partition, &resumed.execution_id, &resumed.lease_id, &resumed.lease_epoch],
        )
        .unwrap();
        let state: String = c
            .query_one(
                "SELECT public_state FROM ff_exec_core WHERE partition_key = $1 AND execution_id = split_part($2, '}:', 2)::uuid",
                &[&at.partition, &l.execution_id],
            )
            .unwrap()
            .get(0);
        assert_eq!(state, "completed");
        // The events were written on the node that ran the calls.
        let outcomes: Vec<String> = node(&dir, at.port, None)
            .unwrap()
            .query("SELECT outcome FROM ff_completion_event WHERE execution_id = $1 ORDER BY event_id", &[&l.execution_id])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(outcomes, ["resumed", "success"]);
        assert_eq!(events_on(&dir, at.port, "ff_signal_event", &l.execution_id), 1);
        assert_eq!(events_on(&dir, COORDINATOR, "ff_completion_event", &l.execution_id), 0);
    }
}

#[test]
fn sixteen_claimers_on_the_cluster_get_every_execution_exactly_once() {
    let Some(dir) = cluster() else { return };
    let _shared = SHARED.read().unwrap_or_else(|e| e.into_inner());
    let mut c = distributed(&dir);
    let lanes = lanes_on_both_workers(&mut c, "race");
    let mut created = HashSet::new();
    for at in &lanes {
        for _ in 0..100 {
            let id: String =
                c.query_one("SELECT execution_id FROM ff_create_execution_in($1, $2)", &[&at.partition, &at.lane]).unwrap().get(0);
            created.insert(id);
        }
    }
    let claimed = Arc::new(Mutex::new(Vec::new()));
    let start = Arc::new(Barrier::new(16));
    let workers: Vec<_> = (0..16)
        .map(|w| {
            let (dir, claimed, start, lanes) = (dir.clone(), claimed.clone(), start.clone(), lanes.clone());
            std::thread::spawn(move || {
                let mut c = coordinator(&dir);
                start.wait();
                let mut idle = 0;
                while idle < lanes.len() {
                    let at = &lanes[(w + idle) % lanes.len()];
                    let rows = c
                        .query("SELECT execution_id FROM ff_claim_in($1, $2, $3, 'inst')", &[&at.partition, &at.lane, &format!("w{w}")])
                        .unwrap();
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
    let leased: i64 =
        c.query_one("SELECT count(*) FROM ff_exec_core WHERE lane_id LIKE 'race-%' AND ownership_state = 'leased'", &[]).unwrap().get(0);
    assert_eq!(leased, 200);
}

#[test]
fn sixteen_signalers_on_the_cluster_resume_one_execution_once() {
    let Some(dir) = cluster() else { return };
    let _shared = SHARED.read().unwrap_or_else(|e| e.into_inner());
    let mut c = distributed(&dir);
    let cond = r#"{"Composite":{"kind":"Count","n":20,"count_kind":"DistinctSources","waitpoints":["k"]}}"#;
    for at in lanes_on_both_workers(&mut c, "storm") {
        let (l, waitpoint, token) = suspended(&mut c, &at, cond);
        let start = Arc::new(Barrier::new(16));
        let signalers: Vec<_> = (0..16)
            .map(|s| {
                let (dir, start, at, eid, token) = (dir.clone(), start.clone(), at.clone(), l.execution_id.clone(), token.clone());
                std::thread::spawn(move || {
                    let mut c = coordinator(&dir);
                    start.wait();
                    let mut effects = Vec::new();
                    for i in 0..3 {
                        let source = format!("u{s}-{i}");
                        match c.query_one(
                            "SELECT effect FROM ff_deliver_signal_in($1, $2, $3, $4, 'vote', source_type => 'user', source_identity => $5)",
                            &[&at.partition, &eid, &waitpoint, &token, &source],
                        ) {
                            Ok(r) => effects.push(r.get::<_, String>(0)),
                            Err(e) => assert_eq!(db_err(&e).code, "WF030", "after the resume the waitpoint is closed"),
                        }
                    }
                    effects
                })
            })
            .collect();
        let effects: Vec<String> = signalers.into_iter().flat_map(|h| h.join().unwrap()).collect();
        assert_eq!(effects.iter().filter(|e| *e == "resume_condition_satisfied").count(), 1, "{effects:?}");
        assert_eq!(effects.len(), 20, "exactly the satisfying signals were accepted before the resume closed the waitpoint");
        assert_eq!(events_on(&dir, at.port, "ff_signal_event", &l.execution_id), 20, "no signal lost");
        let resumed =
            lease_from_row(&c.query_one("SELECT * FROM ff_claim_in($1, $2, 'w2', 'inst-2')", &[&at.partition, &at.lane]).unwrap());
        assert_eq!((resumed.execution_id, resumed.resumed), (l.execution_id, true));
        assert!(c.query("SELECT * FROM ff_claim_in($1, $2, 'w2', 'inst-2')", &[&at.partition, &at.lane]).unwrap().is_empty());
    }
}

#[test]
fn a_partition_first_call_with_another_partition_is_refused_on_the_cluster() {
    let Some(dir) = cluster() else { return };
    let _shared = SHARED.read().unwrap_or_else(|e| e.into_inner());
    let mut c = distributed(&dir);
    let at = lanes_on_both_workers(&mut c, "mismatch").remove(0);
    let e = assert_code(&mut c, "SELECT * FROM ff_create_execution_in($1, $2)", &[&((at.partition + 1) % 256), &at.lane], "WF001");
    assert_eq!(e.detail.as_deref(), Some("partition_mismatch"), "{e:?}");
    let e = assert_code(&mut c, "SELECT * FROM ff_create_execution_in($1, $2, budget_ids => '{b1}')", &[&at.partition, &at.lane], "WF035");
    assert_eq!(e.detail.as_deref(), Some("distributed_admission"), "{e:?}");
}

#[test]
fn a_call_citus_does_not_delegate_is_refused_with_a_clear_error() {
    let Some(dir) = cluster() else { return };
    let _shared = SHARED.read().unwrap_or_else(|e| e.into_inner());
    let mut c = distributed(&dir);
    let at = lanes_on_both_workers(&mut c, "undelegated").remove(0);
    let l = leased(&mut c, &at);
    // An argument Citus cannot evaluate before it routes (a volatile call): the call runs on the
    // coordinator, which holds no shard.
    let e = assert_code(
        &mut c,
        "SELECT * FROM ff_complete_in($1, $2, (SELECT $3::uuid WHERE random() >= 0), $4)",
        &[&at.partition, &l.execution_id, &l.lease_id, &l.lease_epoch],
        "WF035",
    );
    assert_eq!(e.detail.as_deref(), Some("not_delegated"), "{e:?}");
    let e = assert_code(&mut c, "SELECT * FROM ff_claim_in($1, $2 || (SELECT ''), 'w', 'i')", &[&at.partition, &at.lane], "WF035");
    assert_eq!(e.detail.as_deref(), Some("not_delegated"), "{e:?}");
    // Delegated, the same calls go through.
    c.query_one("SELECT * FROM ff_complete_in($1, $2, $3, $4)", &[&at.partition, &l.execution_id, &l.lease_id, &l.lease_epoch]).unwrap();
}

/// Hostile SQL values per argument kind, for the partition-first calls on the cluster.
fn hostile(kind: &str, other_partition: i16, other_execution: &str) -> Vec<String> {
    let texts = ["NULL::text", "''", "repeat('x', 1048576)", "chr(1)"].map(String::from).to_vec();
    match kind {
        "partition" => ["NULL::smallint", "(-1)::smallint", "256::smallint", "32767::smallint"]
            .map(String::from)
            .into_iter()
            .chain([format!("{other_partition}::smallint")])
            .collect(),
        "execution" => ["NULL::text", "''", "'garbage'", "'{fp:1}:not-a-uuid'", "repeat('x', 1048576)"]
            .map(String::from)
            .into_iter()
            .chain([format!("'{other_execution}'")])
            .collect(),
        "uuid" => vec!["NULL::uuid".into(), "gen_random_uuid()".into()],
        "epoch" => vec!["NULL::bigint".into(), "(-1)::bigint".into(), "9223372036854775807".into()],
        "jsonb" => {
            ["NULL::jsonb", "'{}'::jsonb", "'[1,2]'::jsonb", "'\"x\"'::jsonb", "'{\"Single\":{}}'::jsonb"].map(String::from).to_vec()
        }
        "token" => ["NULL::text", "''", "'k1:' || repeat('0', 64)", "repeat('k', 100000)"].map(String::from).to_vec(),
        "name" => ["NULL::text", "''", "repeat('x', 1048576)"].map(String::from).to_vec(),
        _ => texts,
    }
}

#[test]
fn bad_input_to_the_hot_calls_on_the_cluster_gets_a_documented_sqlstate() {
    let Some(dir) = cluster() else { return };
    let _shared = SHARED.read().unwrap_or_else(|e| e.into_inner());
    let mut c = distributed(&dir);
    let lanes = lanes_on_both_workers(&mut c, "hostile");
    let (at, other) = (&lanes[0], &lanes[1]);
    let (l, waitpoint, token) = suspended(&mut c, at, SINGLE);
    let live = leased(&mut c, at);
    let other_execution = leased(&mut c, other).execution_id;
    let quote = |s: &str| format!("'{s}'");
    // Each call with valid arguments, as (kind, SQL value) per position.
    let calls: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("ff_create_execution_in", vec![("partition", format!("{}::smallint", at.partition)), ("text", quote(&at.lane))]),
        (
            "ff_claim_in",
            vec![
                ("partition", format!("{}::smallint", at.partition)),
                ("text", quote(&at.lane)),
                ("text", "'w'".into()),
                ("text", "'i'".into()),
            ],
        ),
        (
            "ff_renew_lease_in",
            vec![
                ("partition", format!("{}::smallint", at.partition)),
                ("execution", quote(&live.execution_id)),
                ("uuid", quote(&live.lease_id.to_string())),
                ("epoch", live.lease_epoch.to_string()),
            ],
        ),
        (
            "ff_complete_in",
            vec![
                ("partition", format!("{}::smallint", at.partition)),
                ("execution", quote(&live.execution_id)),
                ("uuid", quote(&live.lease_id.to_string())),
                ("epoch", (live.lease_epoch + 1).to_string()),
            ],
        ),
        (
            "ff_fail_in",
            vec![
                ("partition", format!("{}::smallint", at.partition)),
                ("execution", quote(&live.execution_id)),
                ("uuid", quote(&live.lease_id.to_string())),
                ("epoch", (live.lease_epoch + 1).to_string()),
                ("text", "'boom'".into()),
            ],
        ),
        (
            "ff_suspend_in",
            vec![
                ("partition", format!("{}::smallint", at.partition)),
                ("execution", quote(&live.execution_id)),
                ("uuid", quote(&live.lease_id.to_string())),
                ("epoch", (live.lease_epoch + 1).to_string()),
                ("jsonb", quote(SINGLE) + "::jsonb"),
            ],
        ),
        (
            "ff_deliver_signal_in",
            vec![
                ("partition", format!("{}::smallint", at.partition)),
                ("execution", quote(&l.execution_id)),
                ("uuid", quote(&waitpoint.to_string())),
                ("token", quote(&token)),
                ("name", "'go'".into()),
            ],
        ),
    ];
    // This test's rows (the other tests run meanwhile).
    let rows = "SELECT (SELECT count(*) FROM ff_exec_core WHERE lane_id LIKE 'hostile-%') \
        + (SELECT count(*) FROM ff_signal s JOIN ff_exec_core e USING (partition_key, execution_id) WHERE e.lane_id LIKE 'hostile-%') \
        + (SELECT count(*) FROM ff_suspension s JOIN ff_exec_core e USING (partition_key, execution_id) WHERE e.lane_id LIKE 'hostile-%')";
    let before: i64 = c.query_one(rows, &[]).unwrap().get(0);
    let mut refused = 0;
    let mut accepted = Vec::new();
    for (function, args) in &calls {
        for (at_arg, (kind, _)) in args.iter().enumerate() {
            for value in hostile(kind, other.partition, &other_execution) {
                let list: Vec<&str> =
                    args.iter().enumerate().map(|(i, (_, v))| if i == at_arg { value.as_str() } else { v.as_str() }).collect();
                let sql = format!("SELECT * FROM {function}({})", list.join(", "));
                let shown = format!("{function} with argument {} = {}", at_arg + 1, &value[..value.len().min(40)]);
                match c.query(&sql, &[]) {
                    Ok(rows) => accepted.push((shown, rows.len())),
                    Err(e) => {
                        let e = e.as_db_error().unwrap_or_else(|| panic!("{shown}: connection lost: {e}"));
                        let code = e.code().code();
                        assert!(DOCUMENTED_SQLSTATES.contains(&code), "{shown}: undocumented {code} {}", e.message());
                        assert!(!looks_like_backtrace(e.message()), "{shown}: {}", e.message());
                        refused += 1;
                    }
                }
            }
        }
    }
    assert!(refused > 100, "{refused} calls refused");
    assert!(accepted.iter().all(|(_, rows)| *rows == 0), "accepted with a result: {accepted:?}");
    let after: i64 = c.query_one(rows, &[]).unwrap().get(0);
    assert_eq!(after, before, "a refused call wrote nothing");
    // The lease and the waitpoint the hostile calls aimed at are intact.
    c.query_one("SELECT * FROM ff_complete_in($1, $2, $3, $4)", &[&at.partition, &live.execution_id, &live.lease_id, &live.lease_epoch])
        .unwrap();
    let effect: String = c
        .query_one("SELECT effect FROM ff_deliver_signal_in($1, $2, $3, $4, 'go')", &[&at.partition, &l.execution_id, &waitpoint, &token])
        .unwrap()
        .get(0);
    assert_eq!(effect, "resume_condition_satisfied");
}

/// The first notification on `c` within `wait`, as (channel, payload).
fn notified(c: &mut Client, wait: Duration) -> Option<(String, String)> {
    let mut n = c.notifications();
    let got = n.timeout_iter(wait).next().unwrap();
    got.map(|n| (n.channel().to_string(), n.payload().to_string()))
}

#[test]
fn a_worker_waiting_on_the_node_of_its_partition_is_woken() {
    let Some(dir) = cluster() else { return };
    let _shared = SHARED.read().unwrap_or_else(|e| e.into_inner());
    let mut c = distributed(&dir);
    for at in lanes_on_both_workers(&mut c, "wake") {
        // A worker announced on the node of its lane's partition, and one announced on the coordinator.
        let mut on_node = node(&dir, at.port, None).unwrap();
        let mut elsewhere = coordinator(&dir);
        for w in [&mut on_node, &mut elsewhere] {
            let pid: i32 = w.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
            w.batch_execute(&format!("LISTEN ff_wake_{pid}")).unwrap();
            w.query_one("SELECT ff_await_lane($1)", &[&at.lane]).unwrap();
        }
        let pid: i32 = on_node.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
        c.query_one("SELECT * FROM ff_create_execution_in($1, $2)", &[&at.partition, &at.lane]).unwrap();
        assert_eq!(notified(&mut on_node, Duration::from_secs(5)), Some((format!("ff_wake_{pid}"), at.lane.clone())));
        assert_eq!(notified(&mut elsewhere, Duration::from_millis(300)), None, "the create ran on the node, not here");
        // A subscriber caught up on the node hears the completion written there.
        on_node.batch_execute("LISTEN ff_completion").unwrap();
        on_node.query_one("SELECT ff_await_events('{ff_completion}')", &[]).unwrap();
        let l = lease_from_row(&c.query_one("SELECT * FROM ff_claim_in($1, $2, 'w1', 'inst-1')", &[&at.partition, &at.lane]).unwrap());
        c.query_one("SELECT * FROM ff_complete_in($1, $2, $3, $4)", &[&at.partition, &l.execution_id, &l.lease_id, &l.lease_epoch])
            .unwrap();
        let (channel, _) = notified(&mut on_node, Duration::from_secs(5)).expect("the completion's notification on the node");
        assert_eq!(channel, "ff_completion");
        let read: i64 =
            on_node.query_one("SELECT count(*) FROM ff_completion_event WHERE execution_id = $1", &[&l.execution_id]).unwrap().get(0);
        assert_eq!(read, 1);
    }
}

#[test]
fn each_node_ticks_the_shards_it_holds() {
    let Some(dir) = cluster() else { return };
    let _shared = SHARED.read().unwrap_or_else(|e| e.into_inner());
    let mut c = distributed(&dir);
    let lanes = lanes_on_both_workers(&mut c, "tick");
    let mut delayed = Vec::new();
    let mut expiring = Vec::new();
    for at in &lanes {
        let id: String = c
            .query_one(
                "SELECT execution_id FROM ff_create_execution_in($1, $2, delay_until_ms => $3)",
                &[&at.partition, &at.lane, &(now_ms() + 300)],
            )
            .unwrap()
            .get(0);
        delayed.push(id);
        c.query_one("SELECT * FROM ff_create_execution_in($1, $2)", &[&at.partition, &at.lane]).unwrap();
        let l = lease_from_row(
            &c.query_one("SELECT * FROM ff_claim_in($1, $2, 'w1', 'inst-1', lease_ttl_ms => 300)", &[&at.partition, &at.lane]).unwrap(),
        );
        expiring.push(l);
    }
    std::thread::sleep(Duration::from_millis(700));
    // The coordinator holds no shard: its node tick has nothing to do.
    assert!(c.query("SELECT * FROM ff_tick_node()", &[]).unwrap().is_empty());
    for at in &lanes {
        let mut n = node(&dir, at.port, None).unwrap();
        let ran: BTreeMap<String, i32> =
            n.query("SELECT * FROM ff_tick_node()", &[]).unwrap().iter().map(|r| (r.get(0), r.get(1))).collect();
        assert!(ran["promote_delayed"] >= 1 && ran["expire_leases"] >= 1, "on {}: {ran:?}", at.port);
        assert!(!ran.contains_key("gc_keys") && !ran.contains_key("verify_claim_starts"), "{ran:?}");
    }
    for (i, at) in lanes.iter().enumerate() {
        // Both are claimable again: the expired lease's attempt as a resumed one.
        let mut got = HashSet::new();
        for row in c.query("SELECT * FROM ff_claim_in($1, $2, 'w2', 'inst-2', max_items => 10)", &[&at.partition, &at.lane]).unwrap() {
            got.insert(lease_from_row(&row).execution_id);
        }
        assert!(got.contains(&delayed[i]) && got.contains(&expiring[i].execution_id), "{got:?}");
    }
}

#[test]
fn a_flow_on_the_cluster_releases_its_dependent_in_its_partition() {
    let Some(dir) = cluster() else { return };
    let _shared = SHARED.read().unwrap_or_else(|e| e.into_inner());
    let mut c = distributed(&dir);
    let flow: Uuid = c.query_one("SELECT flow_id FROM ff_create_flow()", &[]).unwrap().get(0);
    // Members are placed by their flow: both lanes' members in the flow's partition.
    let p: i16 = c.query_one("SELECT ff_partition_for('flow-a', $1)", &[&flow]).unwrap().get(0);
    let other: i16 = c.query_one("SELECT ff_partition_for('flow-b', $1)", &[&flow]).unwrap().get(0);
    assert_eq!(p, other, "a flow's members share its partition");
    let a: String =
        c.query_one("SELECT execution_id FROM ff_create_execution_in($1, 'flow-a', flow_id => $2)", &[&p, &flow]).unwrap().get(0);
    let b: String = c
        .query_one(
            "SELECT execution_id FROM ff_create_execution_in($1, 'flow-b', flow_id => $2, depends_on => $3)",
            &[&p, &flow, &vec![a.clone()]],
        )
        .unwrap()
        .get(0);
    assert!(c.query("SELECT * FROM ff_claim_in($1, 'flow-b', 'w', 'i')", &[&p]).unwrap().is_empty(), "b waits for a");
    let la = lease_from_row(&c.query_one("SELECT * FROM ff_claim_in($1, 'flow-a', 'w', 'i')", &[&p]).unwrap());
    assert_eq!(la.execution_id, a);
    c.query_one("SELECT * FROM ff_complete_in($1, $2, $3, $4)", &[&p, &a, &la.lease_id, &la.lease_epoch]).unwrap();
    // Released in the transaction that completed a.
    let lb = lease_from_row(&c.query_one("SELECT * FROM ff_claim_in($1, 'flow-b', 'w', 'i')", &[&p]).unwrap());
    assert_eq!(lb.execution_id, b);
    c.query_one("SELECT * FROM ff_complete_in($1, $2, $3, $4)", &[&p, &b, &lb.lease_id, &lb.lease_epoch]).unwrap();
    let state: String = c.query_one("SELECT state FROM ff_get_flow($1)", &[&flow]).unwrap().get(0);
    assert_eq!(state, "completed");
}

/// The coordinator's connection string, for the client crate.
fn coordinator_conninfo(dir: &Path) -> String {
    node_conninfo(dir, COORDINATOR)
}

/// The node on `port` as a conninfo string, searching ff_engine's schema after a script install.
fn node_conninfo(dir: &Path, port: u16) -> String {
    let options = if script_install() { " options='-c search_path=ff_engine,public'" } else { "" };
    format!("host={} port={port} user=postgres dbname=postgres{options}", dir.join("sock").display())
}

/// A runtime for the client crate's calls.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// A partition-first client of the coordinator with at most `connections` connections.
fn partition_first_client(conninfo: &str, connections: usize) -> ff_engine_client::Client {
    ff_engine_client::Client::builder(conninfo).unwrap().partition_first(true).max_connections(connections).build().unwrap()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// Tests hold this to read; the one that restarts a node holds it to write (alone).
static SHARED: RwLock<()> = RwLock::new(());

/// A coordinator session that is opened again after an error (a node restarting).
struct Session<'d> {
    dir: &'d Path,
    client: Option<Client>,
}

impl Session<'_> {
    /// Run `sql`; on any error but a database error of `codes`, drop the session and say so.
    fn query(&mut self, sql: &str, args: &[&(dyn ToSql + Sync)], codes: &[&str]) -> Result<Vec<postgres::Row>, Option<String>> {
        if self.client.is_none() {
            self.client = node(self.dir, COORDINATOR, None).ok();
        }
        let Some(client) = self.client.as_mut() else {
            std::thread::sleep(Duration::from_millis(100));
            return Err(None);
        };
        client.query(sql, args).map_err(|e| match e.as_db_error().map(|d| d.code().code()) {
            Some(code) if codes.contains(&code) => Some(code.to_string()),
            _ => {
                self.client = None;
                std::thread::sleep(Duration::from_millis(50));
                None
            }
        })
    }
}

/// Claim and complete in `lanes` until every execution of the run is completed (as the database
/// says: a reply lost in the restart leaves the client unsure); each completion this worker was told
/// of is pushed to `done`. A claim whose reply was lost leaves a lease that expires and is claimed
/// again.
fn claim_and_complete(dir: &Path, lanes: &[Placed], w: usize, done: &Mutex<Vec<String>>, total: i64) {
    let mut s = Session { dir, client: None };
    let deadline = Instant::now() + Duration::from_secs(120);
    let completed = "SELECT count(*) FROM ff_exec_core WHERE lane_id LIKE 'restart-%' AND public_state = 'completed'";
    let mut turn = w;
    loop {
        assert!(Instant::now() < deadline, "the run did not finish: {} completions seen", done.lock().unwrap().len());
        turn += 1;
        let at = &lanes[turn % lanes.len()];
        let claim = "SELECT * FROM ff_claim_in($1, $2, $3, 'inst', lease_ttl_ms => 3000)";
        let Ok(rows) = s.query(claim, &[&at.partition, &at.lane, &format!("w{w}")], &[]) else { continue };
        let Some(lease) = rows.first().map(lease_from_row) else {
            if s.query(completed, &[], &[]).is_ok_and(|r| r[0].get::<_, i64>(0) == total) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
            continue;
        };
        let args: [&(dyn ToSql + Sync); 4] = [&at.partition, &lease.execution_id, &lease.lease_id, &lease.lease_epoch];
        while Instant::now() < deadline {
            match s.query("SELECT * FROM ff_complete_in($1, $2, $3, $4)", &args, &["WF020", "WF021"]) {
                Ok(_) => {
                    done.lock().unwrap().push(lease.execution_id.clone());
                    break;
                }
                // A retry after a lost reply, or a lease that expired while the node restarted.
                Err(Some(_)) => break,
                Err(None) => {}
            }
        }
    }
}

/// `ff_tick_node` on each worker every 300 ms, as each node's scheduler would, until dropped.
struct Ticker {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Ticker {
    fn start(dir: &Path) -> Ticker {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (dir, stopped) = (dir.to_path_buf(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
                for port in [5433, 5434] {
                    if let Ok(mut n) = node(&dir, port, None) {
                        if let Err(e) = n.query("SELECT * FROM ff_tick_node()", &[]) {
                            eprintln!("ff_tick_node on {port}: {e}");
                        }
                    }
                }
                std::thread::sleep(Duration::from_millis(300));
            }
        });
        Ticker { stop, thread: Some(thread) }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Signal `go` to a waitpoint through its partition-first call: partition, execution, waitpoint, token.
const DELIVER_GO: &str = "SELECT effect FROM ff_deliver_signal_in($1, $2, $3, $4, 'go')";

/// Deliver signal `go` through the coordinator to the waitpoint of a suspension made by `suspended`.
fn deliver(c: &mut Client, at: &Placed, s: &(Lease, Uuid, String)) -> Result<String, postgres::Error> {
    c.query_one(DELIVER_GO, &[&at.partition, &s.0.execution_id, &s.1, &s.2]).map(|r| r.get(0))
}

/// The kid a token was signed under.
fn kid_of(token: &str) -> &str {
    token.split(':').next().unwrap()
}

#[test]
fn a_key_rotated_through_the_coordinator_signs_and_verifies_on_every_worker() {
    let Some(dir) = cluster() else { return };
    // Alone: the other tests sign with the active key.
    let _alone = SHARED.write().unwrap_or_else(|e| e.into_inner());
    let mut c = distributed(&dir);
    let lanes = lanes_on_both_workers(&mut c, "rotate");
    let active: String = c.query_one("SELECT kid FROM ff_hmac_kids() WHERE active", &[]).unwrap().get(0);
    let before: Vec<_> = lanes.iter().map(|at| suspended(&mut c, at, SINGLE)).collect();
    let next = format!("{active}-r");
    let r = c.query_one("SELECT outcome, previous_kid FROM ff_rotate_hmac($1, grace_ms => 600000)", &[&next]).unwrap();
    assert_eq!((r.get::<_, String>(0), r.get::<_, Option<String>>(1)), ("rotated".to_string(), Some(active.clone())));
    // The keystore is a reference table: every worker has the new key, in the rotation's transaction.
    for at in &lanes {
        let kid: String = node(&dir, at.port, None).unwrap().query_one("SELECT kid FROM ff_hmac_kids() WHERE active", &[]).unwrap().get(0);
        assert_eq!(kid, next, "the active key on the worker at {}", at.port);
    }
    let after: Vec<_> = lanes.iter().map(|at| suspended(&mut c, at, SINGLE)).collect();
    for (at, (old, new)) in lanes.iter().zip(before.iter().zip(&after)) {
        assert_eq!((kid_of(&old.2), kid_of(&new.2)), (active.as_str(), next.as_str()), "tokens signed on the worker at {}", at.port);
        assert_eq!(deliver(&mut c, at, old).unwrap(), "resume_condition_satisfied", "an old token within its grace");
        assert_eq!(deliver(&mut c, at, new).unwrap(), "resume_condition_satisfied", "a token of the new key");
    }
    // Retired with no grace: the tokens of the key rotated away from are refused on every worker.
    let last: Vec<_> = lanes.iter().map(|at| suspended(&mut c, at, SINGLE)).collect();
    let third = format!("{active}-r2");
    c.query_one("SELECT * FROM ff_rotate_hmac($1, grace_ms => 0)", &[&third]).unwrap();
    std::thread::sleep(Duration::from_millis(5));
    for (at, s) in lanes.iter().zip(&last) {
        let e = assert_code(&mut c, DELIVER_GO, &[&at.partition, &s.0.execution_id, &s.1, &s.2], "WF003");
        assert!(!e.message.contains(&s.2), "the error does not echo the token: {e:?}");
    }
    // ff_gc_keys through the coordinator deletes the key past its grace from every node's copy, and
    // only it (the first key is still within its grace).
    let removed: i32 = c.query_one("SELECT ff_gc_keys()", &[]).unwrap().get(0);
    assert_eq!(removed, 1);
    for port in [COORDINATOR].into_iter().chain(lanes.iter().map(|at| at.port)) {
        let kids: Vec<String> = node(&dir, port, None)
            .unwrap()
            .query("SELECT kid FROM ff_hmac_kids() ORDER BY kid", &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert!(kids.contains(&active) && kids.contains(&third) && !kids.contains(&next), "the keys on the node at {port}: {kids:?}");
    }
}

#[test]
fn a_worker_node_restarted_mid_run_loses_nothing() {
    let Some(dir) = cluster() else { return };
    let _alone = SHARED.write().unwrap_or_else(|e| e.into_inner());
    let mut c = distributed(&dir);
    let lanes = lanes_on_both_workers(&mut c, "restart");
    let mut created = HashSet::new();
    for at in &lanes {
        for _ in 0..150 {
            let id: String =
                c.query_one("SELECT execution_id FROM ff_create_execution_in($1, $2)", &[&at.partition, &at.lane]).unwrap().get(0);
            created.insert(id);
        }
    }
    let total = created.len();
    let done = Arc::new(Mutex::new(Vec::new()));
    let total_i64 = total as i64;
    let ticker = Ticker::start(&dir);
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let (dir, lanes, done) = (dir.clone(), lanes.clone(), done.clone());
            std::thread::spawn(move || claim_and_complete(&dir, &lanes, w, &done, total_i64))
        })
        .collect();
    while done.lock().unwrap().len() < total / 4 {
        assert!(workers.iter().all(|w| !w.is_finished()), "a worker stopped before the restart");
        std::thread::sleep(Duration::from_millis(20));
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/citus-cluster.sh");
    let restarted = std::process::Command::new("bash").arg(&script).arg("restart").arg(&dir).arg("worker2").status().unwrap();
    assert!(restarted.success(), "restarting worker2");
    let completed_at_restart = done.lock().unwrap().len();
    for w in workers {
        w.join().unwrap();
    }
    drop(ticker);
    assert!(completed_at_restart < total, "the restart came mid-run");
    let done = done.lock().unwrap();
    let distinct: HashSet<String> = done.iter().cloned().collect();
    assert_eq!(distinct.len(), done.len(), "a completion acknowledged twice");
    assert!(distinct.is_subset(&created));
    eprintln!("{} of {total} completions acknowledged (the rest lost their reply in the restart)", done.len());
    let completed: i64 =
        c.query_one("SELECT count(*) FROM ff_exec_core WHERE lane_id LIKE 'restart-%' AND public_state = 'completed'", &[]).unwrap().get(0);
    assert_eq!(completed as usize, total);
    // One success event each, on the node of its partition.
    let ids: Vec<String> = created.iter().cloned().collect();
    let mut events = 0;
    for at in &lanes {
        let mut n = node(&dir, at.port, None).unwrap();
        let per_execution: Vec<i64> = n
            .query(
                "SELECT count(*) FROM ff_completion_event WHERE execution_id = ANY($1) AND outcome = 'success' GROUP BY execution_id",
                &[&ids],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert!(per_execution.iter().all(|n| *n == 1), "a completion recorded twice on {}", at.port);
        events += per_execution.len();
    }
    assert_eq!(events, total, "a completion event per execution");
}

#[path = "support/idle_worker.rs"]
mod idle_worker;

#[test]
fn an_idle_worker_of_a_partition_first_client_is_woken_on_the_node_of_its_partition() {
    let Some(dir) = cluster() else { return };
    let _shared = SHARED.read().unwrap_or_else(|e| e.into_inner());
    let mut setup = distributed(&dir);
    let lanes = lanes_on_both_workers(&mut setup, "idle");
    let (conninfo, rt) = (coordinator_conninfo(&dir), runtime());
    for at in lanes {
        let delays = rt.block_on(async {
            let client = partition_first_client(&conninfo, 2);
            let creator = partition_first_client(&conninfo, 1);
            idle_worker::idle_wakeups(client, &creator, &at.lane, true, 3, Duration::from_millis(400)).await
        });
        assert!(
            delays.iter().all(|d| *d < Duration::from_millis(1000)),
            "woken on the node at {}, not polled (fallback 10 s): {delays:?}",
            at.port
        );
    }
}

#[test]
fn a_partition_first_client_runs_each_cycle_on_the_node_of_its_partition() {
    use ff_engine_client as fc;
    let Some(dir) = cluster() else { return };
    let _shared = SHARED.read().unwrap_or_else(|e| e.into_inner());
    let mut setup = distributed(&dir);
    let lanes = lanes_on_both_workers(&mut setup, "client");
    let (conninfo, rt) = (coordinator_conninfo(&dir), runtime());
    let ids = rt.block_on(async {
        let c = partition_first_client(&conninfo, 1);
        let mut ids = Vec::new();
        for at in &lanes {
            // More cycles than the plan cache's five custom plans: the generic plan is delegated too.
            for _ in 0..7 {
                let id = c.create_execution(&fc::NewExecution::new(&at.lane).payload(vec![1])).await.unwrap().execution_id;
                let l = c.claim(&at.lane, "w", "i", &[], 30_000, 1).await.unwrap().remove(0);
                assert_eq!(l.lease.execution_id, id);
                c.renew_lease(&l.lease, 30_000).await.unwrap();
                let cond = fc::ResumeCondition::single("k", fc::SignalMatcher::name("go"));
                let s = c.suspend(&l.lease, &fc::Suspend::new(cond)).await.unwrap();
                let wp = &s.waitpoints[0];
                let d = c.deliver_signal(&fc::Signal::new(id, wp.waitpoint_id, wp.token.clone(), "go")).await.unwrap();
                assert!(d.resumed(), "{d:?}");
                let again = c.claim(&at.lane, "w", "i", &[], 30_000, 1).await.unwrap().remove(0);
                assert!(again.resumed);
                c.complete(&again.lease, None).await.unwrap();
                ids.push((at.port, id.to_string()));
            }
        }
        ids
    });
    // Each call ran on the node of its partition: the events are there, none on the coordinator.
    for (port, id) in ids {
        let outcomes: Vec<String> = node(&dir, port, None)
            .unwrap()
            .query("SELECT outcome FROM ff_completion_event WHERE execution_id = $1 ORDER BY event_id", &[&id])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(outcomes, ["resumed", "success"], "{id} on {port}");
        assert_eq!(events_on(&dir, COORDINATOR, "ff_completion_event", &id), 0, "{id}");
    }
}

/// A flow member waits in its flow's partition, on the other worker than its lane's own partition:
/// `ff_lane_partitions` through the coordinator lists it, and a partition-first client's claim takes
/// it from there (it looks at most once a second per lane; its first claim looks).
#[test]
fn a_partition_first_client_claims_a_flow_member_outside_its_lanes_partition() {
    let Some(dir) = cluster() else { return };
    let _shared = SHARED.read().unwrap_or_else(|e| e.into_inner());
    let mut c = distributed(&dir);
    let (conninfo, rt) = (coordinator_conninfo(&dir), runtime());
    for at in lanes_on_both_workers(&mut c, "stray") {
        let (flow, p) = loop {
            let flow = Uuid::new_v4();
            let p: i16 = c.query_one("SELECT ff_partition_for($1, $2)", &[&at.lane, &flow]).unwrap().get(0);
            if node_of(&mut c, p) != at.port {
                break (flow, p);
            }
        };
        c.query_one("SELECT * FROM ff_create_flow($1)", &[&flow]).unwrap();
        let member: String =
            c.query_one("SELECT execution_id FROM ff_create_execution_in($1, $2, flow_id => $3)", &[&p, &at.lane, &flow]).unwrap().get(0);
        let listed: Vec<i16> =
            c.query("SELECT partition_key FROM ff_lane_partitions($1)", &[&at.lane]).unwrap().iter().map(|r| r.get(0)).collect();
        assert_eq!(listed, vec![p], "{member}");
        let claimed = rt.block_on(async {
            let client = partition_first_client(&conninfo, 1);
            let got = client.claim(&at.lane, "w", "i", &[], 30_000, 5).await.unwrap();
            for l in &got {
                client.complete(&l.lease, None).await.unwrap();
            }
            got.into_iter().map(|l| l.lease.execution_id.to_string()).collect::<Vec<_>>()
        });
        assert_eq!(claimed, vec![member.clone()], "the member in partition {p}, lane {} at {}", at.lane, at.port);
        let state: String = c.query_one("SELECT state FROM ff_get_flow($1)", &[&flow]).unwrap().get(0);
        assert_eq!(state, "completed");
    }
}

/// The announcements of `key` (an execution id, or `flow:<id>`) waiting for an end on the node at `port`.
fn completion_waiters(dir: &Path, port: u16, key: &str) -> i64 {
    node(dir, port, None)
        .unwrap()
        .query_one("SELECT count(*) FROM ff_waiter WHERE channel = 'ff_completion_of' AND lane_id = $1", &[&key])
        .unwrap()
        .get(0)
}

/// Until `key` is announced on the node at `port` (at most 5 s); whether it was.
fn announced_on(dir: &Path, port: u16, key: &str) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(5) {
        if completion_waiters(dir, port, key) == 1 {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn a_partition_first_client_waits_for_an_end_on_the_node_of_its_partition() {
    use ff_engine_client as fc;
    let Some(dir) = cluster() else { return };
    let _shared = SHARED.read().unwrap_or_else(|e| e.into_inner());
    let mut setup = distributed(&dir);
    let lanes = lanes_on_both_workers(&mut setup, "waitend");
    let (conninfo, rt) = (coordinator_conninfo(&dir), runtime());
    let c = rt.block_on(async { partition_first_client(&conninfo, 2) });
    for at in &lanes {
        // An execution: the wait is announced on its node, and the completion sent through the
        // coordinator (run there by the delegated call) takes the announcement and wakes it.
        let (id, lease) = rt.block_on(async {
            let id = c.create_execution(&fc::NewExecution::new(&at.lane)).await.unwrap().execution_id;
            (id, c.claim(&at.lane, "w", "i", &[], 30_000, 1).await.unwrap().remove(0).lease)
        });
        let waiting = {
            let c = c.clone();
            rt.spawn(async move { c.wait_for_completion(&id, Duration::from_secs(20)).await })
        };
        let key = id.to_string();
        assert!(announced_on(&dir, at.port, &key), "{key}: announced on its node {}", at.port);
        assert_eq!(completion_waiters(&dir, COORDINATOR, &key), 0);
        rt.block_on(c.complete(&lease, None)).unwrap();
        let finished = rt.block_on(waiting).unwrap().unwrap();
        assert!(finished.is_some(), "{key}");
        assert_eq!(completion_waiters(&dir, at.port, &key), 0, "{key}: the completing transaction took the announcement");

        // A flow in the lane's partition (where the client claims the lane): the same for the end of
        // its last member.
        let flow = loop {
            let f = Uuid::new_v4();
            if ff_engine_core::ids::partition_for_flow(&f) as i16 == at.partition {
                break f;
            }
        };
        let lease = rt.block_on(async {
            c.create_flow(Some(flow), None, serde_json::json!({})).await.unwrap();
            let member = c.create_execution(&fc::NewExecution::new(&at.lane).flow(flow)).await.unwrap().execution_id;
            let l = c.claim(&at.lane, "w", "i", &[], 30_000, 1).await.unwrap().remove(0).lease;
            assert_eq!(l.execution_id, member);
            l
        });
        let waiting = {
            let c = c.clone();
            rt.spawn(async move { c.wait_for_flow(flow, Duration::from_secs(20)).await })
        };
        let key = format!("flow:{flow}");
        assert!(announced_on(&dir, at.port, &key), "{key}: announced on its node {}", at.port);
        rt.block_on(c.complete(&lease, None)).unwrap();
        let ended = rt.block_on(waiting).unwrap().unwrap().expect("the flow ended");
        assert_eq!(completion_waiters(&dir, at.port, &key), 0, "{key}");
        assert!(ended.drained(), "{ended:?}");
    }
}

/// Create, claim and complete `n` executions on each lane through `c`: each one's worker node.
async fn completed_on(c: &ff_engine_client::Client, lanes: &[Placed], n: usize) -> HashMap<ff_engine_client::ExecutionId, u16> {
    let mut ours = HashMap::new();
    for at in lanes {
        for _ in 0..n {
            let id = c.create_execution(&ff_engine_client::NewExecution::new(&at.lane)).await.unwrap().execution_id;
            let l = c.claim(&at.lane, "w", "i", &[], 30_000, 1).await.unwrap().remove(0);
            c.complete(&l.lease, None).await.unwrap();
            ours.insert(id, at.port);
        }
    }
    ours
}

/// Read `all` until every execution of `ours` has had its completion, each once and from its node;
/// the events of other tests' executions (the cluster is shared) pass by.
async fn read_each_from_its_node(all: &mut ff_engine_client::NodeSubscriptions, mut ours: HashMap<ff_engine_client::ExecutionId, u16>) {
    while !ours.is_empty() {
        let (node, e) = tokio::time::timeout(Duration::from_secs(20), all.next()).await.expect("an event within 20 s").unwrap();
        let id = e.header().unwrap().execution_id;
        if let Some(port) = ours.remove(&id) {
            assert!(matches!(node, ff_engine_client::EventNode::Worker { port: p, .. } if p == port), "{id} read on {node:?}, not {port}");
        }
    }
}

#[test]
fn a_subscriber_everywhere_reads_the_events_of_every_node() {
    use ff_engine_client as fc;
    let Some(dir) = cluster() else { return };
    let _shared = SHARED.read().unwrap_or_else(|e| e.into_inner());
    let mut setup = distributed(&dir);
    let lanes = lanes_on_both_workers(&mut setup, "everywhere");
    let (conninfo, rt) = (coordinator_conninfo(&dir), runtime());
    rt.block_on(async {
        let c = partition_first_client(&conninfo, 2);
        let nodes = c.event_nodes().await.unwrap();
        assert_eq!(nodes[0], fc::EventNode::Connected);
        let mut workers: Vec<u16> =
            nodes.iter().filter_map(|n| if let fc::EventNode::Worker { port, .. } = n { Some(*port) } else { None }).collect();
        workers.sort();
        let mut expected: Vec<u16> = lanes.iter().map(|at| at.port).collect();
        expected.sort();
        assert_eq!(workers, expected, "{nodes:?}");
        // A client connected to a worker lists itself once, as the server it connects to.
        let on_worker = node_conninfo(&dir, workers[0]);
        let w = fc::Client::builder(&on_worker).unwrap().max_connections(1).build().unwrap();
        let from_worker = w.event_nodes().await.unwrap();
        assert_eq!(from_worker.len(), 2, "{from_worker:?}");
        assert!(!from_worker.iter().any(|n| matches!(n, fc::EventNode::Worker { port, .. } if *port == workers[0])), "{from_worker:?}");
        let options = fc::SubscriptionOptions::new([fc::EventKind::Completion]);
        let after: Vec<(fc::EventNode, fc::Cursor)> = vec![];
        let mut all = c.subscribe_everywhere(options.clone(), &after).await.unwrap();
        let first = completed_on(&c, &lanes, 3).await;
        read_each_from_its_node(&mut all, first.clone()).await;
        // A later subscription after the cursors handed out: the new events, none again.
        let cursors = all.cursors();
        drop(all);
        let later = completed_on(&c, &lanes, 2).await;
        let mut again = c.subscribe_everywhere(options, &cursors).await.unwrap();
        let mut pending = later.clone();
        while !pending.is_empty() {
            let (_, e) = tokio::time::timeout(Duration::from_secs(20), again.next()).await.expect("an event").unwrap();
            let id = e.header().unwrap().execution_id;
            assert!(!first.contains_key(&id), "{id} handed out again after the cursors");
            pending.remove(&id);
        }
    });
}

#[test]
fn lane_holdback_reads_a_lane_across_the_cluster() {
    let Some(dir) = cluster() else { return };
    let _shared = SHARED.read().unwrap_or_else(|e| e.into_inner());
    let mut c = distributed(&dir);
    for at in lanes_on_both_workers(&mut c, "holdback") {
        let later = now_ms() + 600_000;
        c.query_one("SELECT * FROM ff_create_execution_in($1, $2, delay_until_ms => $3)", &[&at.partition, &at.lane, &later]).unwrap();
        c.query_one("SELECT * FROM ff_create_execution_in($1, $2)", &[&at.partition, &at.lane]).unwrap();
        let rows: Vec<(String, i64, Option<i64>)> =
            c.query("SELECT * FROM ff_lane_holdback($1)", &[&at.lane]).unwrap().iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
        assert_eq!(rows, [("delayed".to_string(), 1, Some(later))], "the lane on {}", at.port);
    }
}
