//! Flows: dependencies released and skipped in the transaction that ends an upstream, children that
//! signal their parent, ff_cancel_flow's policies, bad input. Both editions (the harness picks one).

use ff_engine_tests::*;
use postgres::Client;
use std::collections::HashSet;
use std::sync::{Arc, Barrier};

fn new_flow(c: &mut Client) -> uuid::Uuid {
    c.query_one("SELECT flow_id FROM ff_create_flow()", &[]).unwrap().get(0)
}

fn member(c: &mut Client, lane: &str, flow: uuid::Uuid, depends_on: &[&str]) -> String {
    let deps: Vec<String> = depends_on.iter().map(|s| s.to_string()).collect();
    c.query_one(
        "SELECT execution_id FROM ff_create_execution($1, flow_id => $2, depends_on => CASE WHEN cardinality($3::text[]) > 0 THEN $3 END)",
        &[&lane, &flow, &deps],
    )
    .unwrap()
    .get(0)
}

fn child(c: &mut Client, lane: &str, parent: &str, key: &str) -> String {
    c.query_one(
        "SELECT execution_id FROM ff_create_execution($1, parent_execution_id => $2, parent_waitpoint_key => $3)",
        &[&lane, &parent, &key],
    )
    .unwrap()
    .get(0)
}

fn public_state(c: &mut Client, id: &str) -> String {
    states(c, id).4
}

fn complete(c: &mut Client, l: &Lease) {
    c.query_one("SELECT * FROM ff_complete($1, $2, $3)", &[&l.execution_id, &l.lease_id, &l.lease_epoch]).unwrap();
}

fn fail(c: &mut Client, l: &Lease) {
    c.query_one("SELECT * FROM ff_fail($1, $2, $3, 'boom', false)", &[&l.execution_id, &l.lease_id, &l.lease_epoch]).unwrap();
}

/// Claim the one execution of a lane that must be there.
fn claim(c: &mut Client, lane: &str) -> Lease {
    claim_one(c, lane, "w").unwrap_or_else(|| panic!("nothing claimable in {lane}"))
}

fn flow_state(c: &mut Client, flow: uuid::Uuid) -> String {
    c.query_one("SELECT state FROM ff_get_flow($1)", &[&flow]).unwrap().get(0)
}

#[test]
fn a_diamond_releases_its_join_in_the_transaction_of_its_last_upstream() {
    let (db, mut c) = seeded("flow_diamond");
    let f = new_flow(&mut c);
    let a = member(&mut c, "a", f, &[]);
    let b = member(&mut c, "b", f, &[&a]);
    let cc = member(&mut c, "c", f, &[&a]);
    let d = member(&mut c, "d", f, &[&b, &cc]);
    assert_eq!(
        states(&mut c, &b),
        ("runnable".into(), "unowned".into(), "blocked_by_dependencies".into(), "pending_first_attempt".into(), "waiting_children".into())
    );
    assert!(claim_one(&mut c, "b", "w").is_none(), "a blocked execution is not claimable");
    let blockers: Vec<String> = column(&mut c, "SELECT unnest(blocked_by) FROM ff_get_execution($1)", &[&d]);
    assert_eq!(blockers.into_iter().collect::<HashSet<_>>(), HashSet::from([b.clone(), cc.clone()]));
    let la = claim(&mut c, "a");
    assert_eq!(la.execution_id, a);
    complete(&mut c, &la);
    assert_eq!(
        (public_state(&mut c, &b), public_state(&mut c, &cc), public_state(&mut c, &d)),
        ("waiting".into(), "waiting".into(), "waiting_children".into())
    );
    let lb = claim(&mut c, "b");
    complete(&mut c, &lb);
    assert_eq!(public_state(&mut c, &d), "waiting_children", "one upstream is left");
    let blockers: Vec<String> = column(&mut c, "SELECT unnest(blocked_by) FROM ff_get_execution($1)", &[&d]);
    assert_eq!(blockers, std::slice::from_ref(&cc));
    // The last upstream's complete releases D inside its own transaction: D is claimable before the
    // commit, to that transaction, and to nobody else.
    let lc = claim(&mut c, "c");
    let mut other = db.connect();
    let mut tx = c.transaction().unwrap();
    tx.query_one("SELECT * FROM ff_complete($1, $2, $3)", &[&lc.execution_id, &lc.lease_id, &lc.lease_epoch]).unwrap();
    let inside: String = tx.query_one("SELECT public_state FROM ff_get_execution($1)", &[&d]).unwrap().get(0);
    assert_eq!(inside, "waiting");
    assert_eq!(public_state(&mut other, &d), "waiting_children", "not before the commit");
    tx.commit().unwrap();
    assert_eq!(claim(&mut other, "d").execution_id, d);
    assert_eq!(flow_state(&mut c, f), "open");
    assert_no_orphans(&mut c);
}

#[test]
fn sixteen_sessions_racing_two_branches_release_every_join_once() {
    let (db, mut c) = seeded("flow_diamond_race");
    let diamonds = 48;
    let mut branch_leases = Vec::new();
    let mut joins = Vec::new();
    for i in 0..diamonds {
        let f = new_flow(&mut c);
        let a = member(&mut c, &format!("a{i}"), f, &[]);
        let b = member(&mut c, "b", f, &[&a]);
        let cc = member(&mut c, "c", f, &[&a]);
        joins.push(member(&mut c, "d", f, &[&b, &cc]));
        let la = claim(&mut c, &format!("a{i}"));
        complete(&mut c, &la);
    }
    while let Some(l) = claim_one(&mut c, "b", "w") {
        branch_leases.push(l);
    }
    while let Some(l) = claim_one(&mut c, "c", "w") {
        branch_leases.push(l);
    }
    assert_eq!(branch_leases.len(), 2 * diamonds);
    // Each session completes one branch of three diamonds and the other branch of three others, all
    // at once.
    let sessions = 16;
    let barrier = Arc::new(Barrier::new(sessions));
    let handles: Vec<_> = (0..sessions)
        .map(|s| {
            let mine: Vec<Lease> = branch_leases.iter().skip(s).step_by(sessions).cloned().collect();
            let (barrier, ci) = (barrier.clone(), db.conninfo("postgres"));
            std::thread::spawn(move || {
                let mut c = postgres::Client::connect(&ci, postgres::NoTls).unwrap();
                barrier.wait();
                for l in mine {
                    complete(&mut c, &l);
                }
            })
        })
        .collect();
    handles.into_iter().for_each(|h| h.join().unwrap());
    for d in &joins {
        assert_eq!(states(&mut c, d).2, "eligible_now", "{d} left blocked");
    }
    let left: i64 = count(&mut c, "SELECT count(*) FROM ff_flow_member WHERE upstreams_left <> 0");
    assert_eq!(left, 0);
    let mut claimed = HashSet::new();
    while let Some(l) = claim_one(&mut c, "d", "w") {
        assert!(claimed.insert(l.execution_id), "a join was released twice");
    }
    assert_eq!(claimed, joins.into_iter().collect::<HashSet<_>>());
    assert_no_orphans(&mut c);
}

#[test]
fn a_failure_skips_three_levels_of_dependents_and_a_replay_does_not_bring_them_back() {
    let (_db, mut c) = seeded("flow_cascade");
    let f = new_flow(&mut c);
    let a = member(&mut c, "a", f, &[]);
    let side = member(&mut c, "side", f, &[]);
    let b = member(&mut c, "b", f, &[&a]);
    let cc = member(&mut c, "c", f, &[&b, &side]);
    let d = member(&mut c, "d", f, &[&cc]);
    let la = claim(&mut c, "a");
    fail(&mut c, &la);
    for id in [&b, &cc, &d] {
        assert_eq!(
            states(&mut c, id),
            ("terminal".into(), "unowned".into(), "not_applicable".into(), "attempt_terminal".into(), "skipped".into())
        );
        let last_error: Option<String> = c.query_one("SELECT last_error FROM ff_get_execution($1)", &[id]).unwrap().get(0);
        assert_eq!(last_error.as_deref(), Some("dependency_failed"));
    }
    let skipped = count(&mut c, "SELECT count(*) FROM ff_completion_event WHERE outcome = 'skipped'");
    assert_eq!(skipped, 3);
    assert_eq!(public_state(&mut c, &side), "waiting", "what does not depend on the failure carries on");
    assert_eq!(flow_state(&mut c, f), "open");
    let ls = claim(&mut c, "side");
    complete(&mut c, &ls);
    assert_eq!(flow_state(&mut c, f), "failed");
    // A member created on an upstream that already failed is skipped at once.
    let late = member(&mut c, "late", f, &[&a]);
    assert_eq!(public_state(&mut c, &late), "skipped");
    // Replaying the failed upstream runs it again; what was skipped stays skipped (create new
    // dependents, or replay them, to run them).
    c.query_one("SELECT * FROM ff_replay_execution($1)", &[&a]).unwrap();
    assert_eq!(flow_state(&mut c, f), "open");
    let la = claim(&mut c, "a");
    complete(&mut c, &la);
    for id in [&b, &cc, &d, &late] {
        assert_eq!(public_state(&mut c, id), "skipped");
    }
    assert!(claim_one(&mut c, "b", "w").is_none());
    assert_eq!(flow_state(&mut c, f), "failed");

    // Asked: a failed upstream replayed with its dependents brings back what its end skipped, each
    // waiting for its upstreams again, released in order as they complete.
    let g = new_flow(&mut c);
    let a = member(&mut c, "ga", g, &[]);
    let side = member(&mut c, "gside", g, &[]);
    let b = member(&mut c, "gb", g, &[&a]);
    let cc = member(&mut c, "gc", g, &[&b, &side]);
    let other = member(&mut c, "gother", g, &[]);
    let blocked_elsewhere = member(&mut c, "gx", g, &[&a, &other]);
    let lo = claim(&mut c, "gother");
    fail(&mut c, &lo);
    let la = claim(&mut c, "ga");
    fail(&mut c, &la);
    for id in [&b, &cc, &blocked_elsewhere] {
        assert_eq!(public_state(&mut c, id), "skipped");
    }
    c.query_one("SELECT * FROM ff_replay_execution($1, with_dependents => true)", &[&a]).unwrap();
    assert_eq!((public_state(&mut c, &b), public_state(&mut c, &cc)), ("waiting_children".into(), "waiting_children".into()));
    assert_eq!(public_state(&mut c, &blocked_elsewhere), "skipped", "its other upstream failed");
    let la = claim(&mut c, "ga");
    complete(&mut c, &la);
    let lb = claim(&mut c, "gb");
    complete(&mut c, &lb);
    assert_eq!(public_state(&mut c, &cc), "waiting_children", "side has not completed");
    let ls = claim(&mut c, "gside");
    complete(&mut c, &ls);
    let lc = claim(&mut c, "gc");
    assert_eq!(lc.execution_id, cc);

    // A cancelled dependent replayed on its own waits for its upstreams.
    let h = new_flow(&mut c);
    let up = member(&mut c, "hup", h, &[]);
    let down = member(&mut c, "hdown", h, &[&up]);
    c.query_one("SELECT * FROM ff_cancel($1)", &[&down]).unwrap();
    c.query_one("SELECT * FROM ff_replay_execution($1)", &[&down]).unwrap();
    assert_eq!(states(&mut c, &down).2, "blocked_by_dependencies");
    assert!(claim_one(&mut c, "hdown", "w").is_none());
    let lu = claim(&mut c, "hup");
    complete(&mut c, &lu);
    assert_eq!(claim(&mut c, "hdown").execution_id, down);
    assert_no_orphans(&mut c);
}

/// A parent in a flow, leased, with a pending waitpoint `children`.
fn parent_with_waitpoint(c: &mut Client, lane: &str) -> (uuid::Uuid, Lease) {
    let f = new_flow(c);
    c.query_one("SELECT * FROM ff_create_execution($1, flow_id => $2)", &[&lane, &f]).unwrap();
    let p = claim(c, lane);
    c.query_one("SELECT * FROM ff_create_waitpoint($1, $2, $3, 'children')", &[&p.execution_id, &p.lease_id, &p.lease_epoch]).unwrap();
    (f, p)
}

fn suspend(c: &mut Client, p: &Lease, condition: &str) {
    let outcome: String = c
        .query_one(&format!("SELECT outcome FROM ff_suspend($1, $2, $3, {condition})"), &[&p.execution_id, &p.lease_id, &p.lease_epoch])
        .unwrap()
        .get(0);
    assert_eq!(outcome, "suspended");
}

#[test]
fn a_thousand_children_completed_by_sixteen_sessions_resume_their_parent_once() {
    let (db, mut c) = seeded("flow_fan_in");
    let (_f, p) = parent_with_waitpoint(&mut c, "parents");
    let n = 1000;
    let kids: HashSet<String> = (0..n).map(|_| child(&mut c, "kids", &p.execution_id, "children")).collect();
    // Children that end before the parent suspends are buffered on its pending waitpoint.
    for _ in 0..10 {
        let l = claim(&mut c, "kids");
        complete(&mut c, &l);
    }
    suspend(&mut c, &p, &format!("ff_cond_count({n}, 'sources', ARRAY['children'])"));
    let sessions = 16;
    let barrier = Arc::new(Barrier::new(sessions));
    let handles: Vec<_> = (0..sessions)
        .map(|_| {
            let (barrier, ci) = (barrier.clone(), db.conninfo("postgres"));
            std::thread::spawn(move || {
                let mut c = postgres::Client::connect(&ci, postgres::NoTls).unwrap();
                barrier.wait();
                while let Some(l) = claim_one(&mut c, "kids", "w") {
                    c.query_one(
                        "SELECT * FROM ff_complete($1, $2, $3, convert_to($1, 'UTF8'))",
                        &[&l.execution_id, &l.lease_id, &l.lease_epoch],
                    )
                    .unwrap();
                }
            })
        })
        .collect();
    handles.into_iter().for_each(|h| h.join().unwrap());
    assert_eq!(public_state(&mut c, &p.execution_id), "waiting");
    let resumed = count(
        &mut c,
        &format!("SELECT count(*) FROM ff_completion_event WHERE execution_id = '{}' AND outcome = 'resumed'", p.execution_id),
    );
    assert_eq!(resumed, 1, "resumed exactly once");
    let rows =
        c.query("SELECT signal_name, source_type, source_identity, payload FROM ff_observe_signals($1)", &[&p.execution_id]).unwrap();
    assert_eq!(rows.len(), n);
    let mut sources = HashSet::new();
    for r in &rows {
        assert_eq!((r.get::<_, String>(0), r.get::<_, String>(1)), ("child_completed".into(), "child_execution".into()));
        let source: String = r.get(2);
        let payload: Option<Vec<u8>> = r.get(3);
        if let Some(p) = payload {
            assert_eq!(p, source.as_bytes(), "the child's result is the payload");
        }
        sources.insert(source);
    }
    assert_eq!(sources, kids, "every child, once");
    let again = claim(&mut c, "parents");
    assert!(again.resumed);
    assert_no_orphans(&mut c);
}

#[test]
fn three_of_five_and_any_failed_conditions_over_children() {
    let (_db, mut c) = seeded("flow_n_of_m");
    // 3 of 5: two children end before the suspend, the third after; the rest end with the parent no
    // longer listening, and their completes are not disturbed.
    let (_f, p) = parent_with_waitpoint(&mut c, "p3");
    let kids: Vec<String> = (0..5).map(|_| child(&mut c, "k3", &p.execution_id, "children")).collect();
    for _ in 0..2 {
        let l = claim(&mut c, "k3");
        complete(&mut c, &l);
    }
    suspend(&mut c, &p, "ff_cond_count(3, 'sources', ARRAY['children'])");
    assert_eq!(public_state(&mut c, &p.execution_id), "suspended");
    let l = claim(&mut c, "k3");
    fail(&mut c, &l);
    assert_eq!(public_state(&mut c, &p.execution_id), "waiting", "a failed child counts as a source");
    for _ in 0..2 {
        let l = claim(&mut c, "k3");
        complete(&mut c, &l);
    }
    let signals = count(&mut c, &format!("SELECT count(*) FROM ff_signal_event WHERE execution_id = '{}'", p.execution_id));
    assert_eq!(signals, 3, "nothing is recorded once the parent stopped listening");
    assert!(kids
        .iter()
        .all(|k| c.query_one("SELECT lifecycle_phase FROM ff_get_execution($1)", &[k]).unwrap().get::<_, String>(0) == "terminal"));

    // Any failed: the first child_failed resumes; completed children before it do not.
    let (_f, p) = parent_with_waitpoint(&mut c, "pf");
    for _ in 0..3 {
        child(&mut c, "kf", &p.execution_id, "children");
    }
    suspend(&mut c, &p, "ff_cond_single('children', 'child_failed')");
    let l = claim(&mut c, "kf");
    complete(&mut c, &l);
    assert_eq!(public_state(&mut c, &p.execution_id), "suspended");
    let l = claim(&mut c, "kf");
    fail(&mut c, &l);
    assert_eq!(public_state(&mut c, &p.execution_id), "waiting");
    let names: Vec<String> = column(&mut c, "SELECT signal_name FROM ff_observe_signals($1)", &[&p.execution_id]);
    assert_eq!(names, ["child_failed"]);
    // A cancelled child is signalled too.
    let (_f, p) = parent_with_waitpoint(&mut c, "pc");
    let k = child(&mut c, "kc", &p.execution_id, "children");
    suspend(&mut c, &p, "ff_cond_single('children', 'child_cancelled')");
    c.query_one("SELECT * FROM ff_cancel($1)", &[&k]).unwrap();
    assert_eq!(public_state(&mut c, &p.execution_id), "waiting");
    assert_no_orphans(&mut c);
}

/// A flow of `n` members in `lane`, the first `leased` of them leased (returned).
fn flow_with_leases(c: &mut Client, lane: &str, n: usize, leased: usize) -> (uuid::Uuid, Vec<Lease>) {
    let f = new_flow(c);
    c.query_one(
        "SELECT count(*) FROM generate_series(1, $3) g, LATERAL ff_create_execution($1, flow_id => $2, priority => g - g)",
        &[&lane, &f, &(n as i32)],
    )
    .unwrap();
    let leases = (0..leased).map(|_| claim(c, lane)).collect();
    (f, leases)
}

fn cancel_flow(c: &mut Client, f: uuid::Uuid, policy: &str) -> (i64, i64, i64) {
    let rows = c.query("SELECT outcome, members FROM ff_cancel_flow($1, $2)", &[&f, &policy]).unwrap();
    let get = |o: &str| rows.iter().find(|r| r.get::<_, String>(0) == o).map(|r| r.get::<_, i64>(1)).unwrap();
    (get("cancelled"), get("left_running"), get("already_terminal"))
}

#[test]
fn cancel_flow_under_each_policy_while_workers_hold_leases() {
    let (_db, mut c) = seeded("flow_cancel");
    // cancel_all: every member ends, a leased one's worker is fenced off.
    let (f, leases) = flow_with_leases(&mut c, "all", 6, 2);
    member(&mut c, "all", f, &[]);
    let l = claim(&mut c, "all");
    complete(&mut c, &l);
    assert_eq!(cancel_flow(&mut c, f, "cancel_all"), (6, 0, 1));
    assert!(claim_one(&mut c, "all", "w").is_none(), "nothing runnable is left");
    for l in &leases {
        assert_code(&mut c, "SELECT * FROM ff_complete($1, $2, $3)", &[&l.execution_id, &l.lease_id, &l.lease_epoch], "WF020");
        assert_code(&mut c, "SELECT * FROM ff_renew_lease($1, $2, $3)", &[&l.execution_id, &l.lease_id, &l.lease_epoch], "WF020");
    }
    assert_eq!(flow_state(&mut c, f), "cancelled");
    assert_code(&mut c, "SELECT * FROM ff_create_execution('all', flow_id => $1)", &[&f], "WF001");
    assert_eq!(cancel_flow(&mut c, f, "cancel_all"), (0, 0, 7), "cancelling again changes nothing");

    // cancel_pending: the leased members drain.
    let (f, leases) = flow_with_leases(&mut c, "pending", 5, 2);
    assert_eq!(cancel_flow(&mut c, f, "cancel_pending"), (3, 2, 0));
    assert!(claim_one(&mut c, "pending", "w").is_none());
    for l in &leases {
        complete(&mut c, l);
    }
    let counts: serde_json::Value = c.query_one("SELECT counts FROM ff_get_flow($1)", &[&f]).unwrap().get(0);
    assert_eq!(counts, serde_json::json!({"cancelled": 3, "completed": 2}));

    // flow_only: the members carry on, the flow takes no new ones.
    let (f, leases) = flow_with_leases(&mut c, "only", 3, 1);
    assert_eq!(cancel_flow(&mut c, f, "flow_only"), (0, 3, 0));
    complete(&mut c, &leases[0]);
    assert!(claim_one(&mut c, "only", "w").is_some());
    assert_code(&mut c, "SELECT * FROM ff_create_execution('only', flow_id => $1)", &[&f], "WF001");
    assert_no_orphans(&mut c);
}

#[test]
fn a_cancel_flow_killed_mid_call_leaves_nothing_cancelled() {
    let (db, mut c) = seeded("flow_cancel_kill");
    let (f, _leases) = flow_with_leases(&mut c, "big", 500, 10);
    // Hold the row lock of the oldest member, which cancel_all reaches last (newest first): the call
    // cancels 499 members, then waits there, and is terminated while it waits.
    let oldest: String = c
        .query_one(
            "SELECT execution_id FROM ff_list_flow_members($1, max_rows => 1000) ORDER BY created_at_ms, execution_id LIMIT 1",
            &[&f],
        )
        .unwrap()
        .get(0);
    let mut holder = db.connect();
    let mut tx = holder.transaction().unwrap();
    tx.execute(
        "SELECT 1 FROM ff_exec_core e, ff_list_flow_members($1, max_rows => 1000) m          WHERE m.execution_id = $2 AND '{fp:' || e.partition_key || '}:' || e.execution_id = $2 FOR UPDATE OF e",
        &[&f, &oldest],
    )
    .unwrap();
    let ci = db.conninfo("postgres");
    let canceller = std::thread::spawn(move || {
        let mut k = postgres::Client::connect(&ci, postgres::NoTls).unwrap();
        k.batch_execute("SET application_name = 'flow_canceller'").unwrap();
        k.query("SELECT * FROM ff_cancel_flow($1)", &[&f]).map(|_| ()).map_err(|e| db_err(&e))
    });
    let mut waited = false;
    for _ in 0..2000 {
        let n: i64 = c
            .query_one("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'flow_canceller' AND wait_event_type = 'Lock'", &[])
            .unwrap()
            .get(0);
        if n > 0 {
            waited = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(waited, "the call reached the held member");
    c.query_one("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'flow_canceller'", &[]).unwrap();
    let outcome = canceller.join().unwrap();
    assert!(outcome.is_err(), "terminated mid-call");
    tx.rollback().unwrap();
    let cancelled = count(&mut c, "SELECT count(*) FROM ff_executions WHERE public_state = 'cancelled'");
    let flow_cancelled: Option<i64> = c.query_one("SELECT cancelled_at_ms FROM ff_get_flow($1)", &[&f]).unwrap().get(0);
    assert_eq!((cancelled, flow_cancelled), (0, None), "a killed call wrote nothing");
    assert_eq!(count(&mut c, "SELECT count(*) FROM ff_completion_event"), 0);
    assert_eq!(cancel_flow(&mut c, f, "cancel_all"), (500, 0, 0), "and can be run again");
    assert_no_orphans(&mut c);
}

/// A call, its parameters, the SQLSTATE and DETAIL it must fail with.
type Case<'a> = (&'a str, Vec<&'a (dyn postgres::types::ToSql + Sync)>, &'a str, Option<&'a str>);

#[test]
fn bad_flow_input_is_refused_with_its_code_and_writes_nothing() {
    let (db, mut c) = seeded("flow_bad_input");
    let f = new_flow(&mut c);
    let other = new_flow(&mut c);
    let a = member(&mut c, "l", f, &[]);
    let foreign = member(&mut c, "l", other, &[]);
    let solo = create_in(&mut c, "l", "");
    let unknown_flow = uuid::Uuid::new_v4();
    let partition: u16 = a[4..a.find('}').unwrap()].parse().unwrap();
    let unknown_exec = format!("{{fp:{partition}}}:{}", uuid::Uuid::new_v4());
    let elsewhere = format!("{{fp:{}}}:{}", (partition + 1) % 256, uuid::Uuid::new_v4());
    let ten_thousand: Vec<String> = (0..10_000).map(|_| a.clone()).collect();
    let before = count(&mut c, "SELECT count(*) FROM ff_exec_core")
        + count(&mut c, "SELECT count(*) FROM ff_flow_member")
        + count(&mut c, "SELECT count(*) FROM ff_flow_dependency");
    let cases: Vec<Case> = vec![
        ("SELECT * FROM ff_create_execution('l', flow_id => $1)", vec![&unknown_flow], "WF010", Some("flow")),
        (
            "SELECT * FROM ff_create_execution('l', flow_id => $1, depends_on => ARRAY[$2])",
            vec![&f, &foreign],
            "WF001",
            Some("upstream_not_in_flow"),
        ),
        (
            "SELECT * FROM ff_create_execution('l', flow_id => $1, depends_on => ARRAY[$2])",
            vec![&f, &solo],
            "WF001",
            Some("upstream_not_in_flow"),
        ),
        (
            "SELECT * FROM ff_create_execution('l', flow_id => $1, depends_on => ARRAY[$2])",
            vec![&f, &unknown_exec],
            "WF010",
            Some("upstream_execution"),
        ),
        (
            "SELECT * FROM ff_create_execution('l', flow_id => $1, depends_on => $2)",
            vec![&f, &ten_thousand],
            "WF001",
            Some("too_many_upstreams"),
        ),
        (
            "SELECT * FROM ff_create_execution('l', flow_id => $1, depends_on => ARRAY[$2, NULL])",
            vec![&f, &a],
            "WF001",
            Some("invalid_depends_on"),
        ),
        (
            "SELECT * FROM ff_create_execution('l', flow_id => $1, depends_on => ARRAY['nope'])",
            vec![&f],
            "WF001",
            Some("invalid_execution_id"),
        ),
        ("SELECT * FROM ff_create_execution('l', depends_on => ARRAY[$1])", vec![&a], "WF001", Some("flow_id_required")),
        (
            "SELECT * FROM ff_create_execution('l', flow_id => $1, execution_id => $2)",
            vec![&f, &elsewhere],
            "WF001",
            Some("partition_mismatch"),
        ),
        ("SELECT * FROM ff_create_execution('l', parent_waitpoint_key => 'k')", vec![], "WF001", Some("parent_execution_id_required")),
        ("SELECT * FROM ff_create_execution('l', parent_execution_id => $1)", vec![&a], "WF001", Some("parent_waitpoint_key_required")),
        (
            "SELECT * FROM ff_create_execution('l', parent_execution_id => $1, parent_waitpoint_key => 'k')",
            vec![&solo],
            "WF001",
            Some("parent_not_in_flow"),
        ),
        (
            "SELECT * FROM ff_create_execution('l', parent_execution_id => $1, parent_waitpoint_key => 'k')",
            vec![&unknown_exec],
            "WF010",
            Some("parent_execution"),
        ),
        (
            "SELECT * FROM ff_create_execution('l', parent_execution_id => $1, parent_waitpoint_key => 'k')",
            vec![&a],
            "WF010",
            Some("parent_waitpoint"),
        ),
        (
            "SELECT * FROM ff_create_execution('l', parent_execution_id => $1, parent_waitpoint_key => '')",
            vec![&a],
            "WF001",
            Some("invalid_parent_waitpoint_key"),
        ),
        ("SELECT * FROM ff_get_flow(NULL)", vec![], "WF001", Some("flow_id_required")),
        ("SELECT * FROM ff_get_flow($1)", vec![&unknown_flow], "WF010", Some("flow")),
        ("SELECT * FROM ff_list_flow_members($1)", vec![&unknown_flow], "WF010", Some("flow")),
        ("SELECT * FROM ff_list_flow_members($1, max_rows => 0)", vec![&f], "WF001", Some("invalid_max_rows")),
        ("SELECT * FROM ff_list_flow_members($1, 'nope')", vec![&f], "WF001", Some("invalid_execution_id")),
        ("SELECT * FROM ff_cancel_flow($1)", vec![&unknown_flow], "WF010", Some("flow")),
        ("SELECT * FROM ff_cancel_flow($1, 'everything')", vec![&f], "WF001", Some("invalid_policy")),
        ("SELECT * FROM ff_cancel_flow($1, NULL)", vec![&f], "WF001", Some("invalid_policy")),
        ("SELECT * FROM ff_cancel_flow($1, reason => '')", vec![&f], "WF001", Some("invalid_reason")),
        ("SELECT * FROM ff_create_flow(tags => '[1]')", vec![], "WF001", Some("invalid_tags")),
        ("SELECT * FROM ff_create_flow(namespace => '')", vec![], "WF001", Some("invalid_namespace")),
    ];
    for (sql, params, code, detail) in &cases {
        let e = assert_code(&mut c, sql, params, code);
        assert_eq!(e.detail.as_deref(), *detail, "{sql}: {e:?}");
        assert!(e.message.starts_with(if *code == "WF010" { "not_found: " } else { "invalid_input: " }), "{sql}: {e:?}");
    }
    let after = count(&mut c, "SELECT count(*) FROM ff_exec_core")
        + count(&mut c, "SELECT count(*) FROM ff_flow_member")
        + count(&mut c, "SELECT count(*) FROM ff_flow_dependency");
    assert_eq!(before, after, "a refused call wrote nothing");
    assert_eq!(count(&mut c, "SELECT count(*) FROM ff_flow"), 2);

    // Roles: a worker creates and reads flows; only an admin cancels one; a signaler does neither.
    c.batch_execute("CREATE ROLE flow_bad_w LOGIN IN ROLE ff_worker; CREATE ROLE flow_bad_s LOGIN IN ROLE ff_signaler; CREATE ROLE flow_bad_a LOGIN IN ROLE ff_admin").unwrap();
    let mut w = db.connect_as("flow_bad_w");
    let wf: uuid::Uuid = w.query_one("SELECT flow_id FROM ff_create_flow()", &[]).unwrap().get(0);
    w.query_one("SELECT * FROM ff_get_flow($1)", &[&wf]).unwrap();
    w.query("SELECT * FROM ff_list_flow_members($1)", &[&wf]).unwrap();
    member(&mut w, "l", wf, &[]);
    assert_code(&mut w, "SELECT * FROM ff_cancel_flow($1)", &[&wf], "42501");
    assert_code(&mut w, "SELECT ff_flow_join(0::smallint, gen_random_uuid(), NULL, NULL, NULL, NULL)", &[], "42501");
    assert_code(&mut w, "SELECT ff_deliver_engine_signal(0::smallint, gen_random_uuid(), gen_random_uuid(), 'x', 'y', NULL)", &[], "42501");
    let mut s = db.connect_as("flow_bad_s");
    assert_code(&mut s, "SELECT * FROM ff_create_flow()", &[], "42501");
    assert_code(&mut s, "SELECT * FROM ff_get_flow($1)", &[&wf], "42501");
    let mut a = db.connect_as("flow_bad_a");
    assert_code(&mut a, "SELECT ff_flow_join(0::smallint, gen_random_uuid(), NULL, NULL, NULL, NULL)", &[], "42501");
    assert_eq!(cancel_flow(&mut a, wf, "cancel_all"), (1, 0, 0));
    assert_no_orphans(&mut c);
}

#[test]
fn members_share_their_flow_partition_and_pruning_takes_their_rows() {
    let (_db, mut c) = seeded("flow_partition");
    let f = new_flow(&mut c);
    let pk: String = c.query_one("SELECT partition_key FROM ff_get_flow($1)", &[&f]).unwrap().get(0);
    let a = member(&mut c, "x", f, &[]);
    let b = member(&mut c, "y", f, &[&a]);
    assert!(a.starts_with(&pk) && b.starts_with(&pk), "{a} {b} in {pk}");
    c.query_one("SELECT * FROM ff_create_flow($1)", &[&f]).unwrap();
    let created: bool = c.query_one("SELECT created FROM ff_create_flow($1)", &[&f]).unwrap().get(0);
    assert!(!created, "creating a flow again is idempotent");
    let la = claim(&mut c, "x");
    complete(&mut c, &la);
    let lb = claim(&mut c, "y");
    complete(&mut c, &lb);
    assert_eq!(flow_state(&mut c, f), "completed");
    let pruned: i64 = c.query_one("SELECT ff_prune_executions(ff_now_ms() + 1000)", &[]).unwrap().get(0);
    assert_eq!(pruned, 2);
    assert_eq!(count(&mut c, "SELECT count(*) FROM ff_flow_member") + count(&mut c, "SELECT count(*) FROM ff_flow_dependency"), 0);
    assert_eq!(flow_state(&mut c, f), "open", "a flow without members is open");
    assert_no_orphans(&mut c);
}

/// `ff_lane_partitions`: the partitions besides the lane's own where it has claimable work — where a
/// flow's members wait, whatever their lanes — and none once that work is claimed or blocked.
#[test]
fn a_lane_lists_the_other_partitions_its_flow_members_wait_in() {
    let (_db, mut c) = seeded("flow_lane_partitions");
    let partitions = |c: &mut Client, lane: &str| -> Vec<i16> {
        c.query("SELECT partition_key FROM ff_lane_partitions($1)", &[&lane]).unwrap().iter().map(|r| r.get(0)).collect()
    };
    let home: i16 = c.query_one("SELECT ff_partition_for('x', NULL)", &[]).unwrap().get(0);
    let f = loop {
        let f = new_flow(&mut c);
        let p: i16 = c.query_one("SELECT ff_partition_for('x', $1)", &[&f]).unwrap().get(0);
        if p != home {
            break f;
        }
    };
    let p: i16 = c.query_one("SELECT ff_partition_for('x', $1)", &[&f]).unwrap().get(0);
    create_in(&mut c, "x", "");
    assert!(partitions(&mut c, "x").is_empty(), "work in the lane's own partition is not listed");
    let a = member(&mut c, "x", f, &[]);
    member(&mut c, "x", f, &[&a]);
    assert_eq!(partitions(&mut c, "x"), vec![p], "the flow's partition holds a claimable member of x");
    assert!(partitions(&mut c, "y").is_empty(), "another lane has none");
    let leases: Vec<Lease> = (0..2).map(|_| claim(&mut c, "x")).collect();
    assert!(leases.iter().any(|l| l.execution_id == a), "{leases:?}");
    assert!(partitions(&mut c, "x").is_empty(), "a claimed member and a blocked one are not claimable");
    assert_eq!(assert_code(&mut c, "SELECT * FROM ff_lane_partitions(NULL)", &[], "WF001").detail.as_deref(), Some("lane_id_required"));
    assert_code(&mut c, "SELECT * FROM ff_lane_partitions('')", &[], "WF001");
}

/// Notifications received on a session's own wake channel within `ms`.
fn notifications(c: &mut Client, ms: u64) -> Vec<String> {
    use postgres::fallible_iterator::FallibleIterator;
    let mut n = c.notifications();
    let mut it = n.timeout_iter(std::time::Duration::from_millis(ms));
    let mut out = Vec::new();
    while let Ok(Some(note)) = it.next() {
        out.push(note.payload().to_string());
    }
    out
}

#[test]
fn completion_waiters_are_woken_by_their_own_execution_or_flow_only() {
    let (db, mut c) = seeded("flow_await_completion");
    let ids: Vec<String> = (0..24).map(|_| create_in(&mut c, "l", "")).collect();
    let mut waiters: Vec<Client> = ids
        .iter()
        .map(|id| {
            let mut w = db.connect();
            w.batch_execute("DO $$ BEGIN EXECUTE format('LISTEN %I', 'ff_wake_' || pg_backend_pid()); END $$").unwrap();
            let ended: bool = w.query_one("SELECT ff_await_completion(execution_id => $1)", &[id]).unwrap().get(0);
            assert!(!ended);
            w
        })
        .collect();
    // Complete one: its waiter alone is told, once, in the completing transaction's commit.
    let l = claim(&mut c, "l");
    let which = ids.iter().position(|id| *id == l.execution_id).unwrap();
    complete(&mut c, &l);
    for (i, w) in waiters.iter_mut().enumerate() {
        let got = notifications(w, if i == which { 2000 } else { 20 });
        assert_eq!(got, if i == which { vec![l.execution_id.clone()] } else { vec![] }, "waiter {i}");
    }
    // A failure with retries left is not an end; a cancel is; an ended execution answers at once.
    let ended: bool = waiters[which].query_one("SELECT ff_await_completion(execution_id => $1)", &[&l.execution_id]).unwrap().get(0);
    assert!(ended);
    let other = (which + 1) % ids.len();
    c.query_one("SELECT * FROM ff_cancel($1)", &[&ids[other]]).unwrap();
    assert_eq!(notifications(&mut waiters[other], 2000), vec![ids[other].clone()]);
    // The flow's waiter is woken by its members' ends, and by nothing else.
    let f = new_flow(&mut c);
    let a = member(&mut c, "fa", f, &[]);
    member(&mut c, "fb", f, &[&a]);
    let mut fw = db.connect();
    fw.batch_execute("DO $$ BEGIN EXECUTE format('LISTEN %I', 'ff_wake_' || pg_backend_pid()); END $$").unwrap();
    let ended: bool = fw.query_one("SELECT ff_await_completion(flow_id => $1)", &[&f]).unwrap().get(0);
    assert!(!ended);
    let l = claim(&mut c, "l");
    complete(&mut c, &l);
    assert!(notifications(&mut fw, 50).is_empty(), "another execution's end (its own waiter is told)");
    let la = claim(&mut c, "fa");
    complete(&mut c, &la);
    assert_eq!(notifications(&mut fw, 2000), vec![format!("flow:{f}")]);
    let ended: bool = fw.query_one("SELECT ff_await_completion(flow_id => $1)", &[&f]).unwrap().get(0);
    assert!(!ended, "one member is left");
    let lb = claim(&mut c, "fb");
    complete(&mut c, &lb);
    assert_eq!(notifications(&mut fw, 2000), vec![format!("flow:{f}")]);
    let ended: bool = fw.query_one("SELECT ff_await_completion(flow_id => $1)", &[&f]).unwrap().get(0);
    assert!(ended);
    assert_code(&mut c, "SELECT ff_await_completion()", &[], "WF001");
    assert_code(&mut c, "SELECT ff_await_completion($1, $2)", &[&a, &f], "WF001");
    assert_code(&mut c, "SELECT ff_await_completion(flow_id => $1)", &[&uuid::Uuid::new_v4()], "WF010");
    assert_eq!(
        count(&mut c, "SELECT count(*) FROM ff_waiter WHERE channel = 'ff_completion_of'"),
        (ids.len() - 3) as i64,
        "consumed once told"
    );
}
