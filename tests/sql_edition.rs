//! The SQL edition against the Rust edition, call for call: both editions are
//! in one database — the Rust edition in `public`, the SQL edition (schema.sql and sql/edition/*.sql)
//! in `ff_sql` — and every call sequence below must give the same rows or the same error (SQLSTATE,
//! message and DETAIL) in both. Times are compared by whether they are set, not by value.

use ff_engine_tests::*;
use postgres::Client;

fn load_sql_edition(c: &mut Client, schema: &str) {
    c.batch_execute(&format!("CREATE SCHEMA {schema}")).unwrap();
    install_sql_edition(c, schema);
}

/// What a call gave: its rows as text (times as "set"/"null"), or its error.
#[derive(Debug, PartialEq)]
enum Outcome {
    Rows(Vec<Vec<String>>),
    Error { code: String, message: String, detail: Option<String> },
}

fn call(c: &mut Client, schema: &str, sql: &str) -> Outcome {
    c.batch_execute(&format!("SET search_path = {schema}")).unwrap();
    let out = match c.simple_query(sql) {
        Ok(msgs) => Outcome::Rows(
            msgs.iter()
                .filter_map(|m| match m {
                    postgres::SimpleQueryMessage::Row(r) => Some(
                        (0..r.len())
                            .map(|i| {
                                let name = r.columns()[i].name();
                                match r.get(i) {
                                    None => "null".to_string(),
                                    Some(_) if name.ends_with("_ms") => "set".to_string(),
                                    Some(_) if name == "lease_id" || name == "attempt_id" => "uuid".to_string(),
                                    Some(v) => v.to_string(),
                                }
                            })
                            .collect(),
                    ),
                    _ => None,
                })
                .collect(),
        ),
        Err(e) => {
            let e = db_err(&e);
            Outcome::Error { code: e.code, message: e.message, detail: e.detail }
        }
    };
    c.batch_execute("RESET search_path").unwrap();
    out
}

/// Run `calls` in order on both editions; every call must give the same outcome.
fn same_on_both(c: &mut Client, calls: &[&str]) {
    for sql in calls {
        let rust = call(c, "public", sql);
        let sql_edition = call(c, "ff_sql", sql);
        assert_eq!(sql_edition, rust, "{sql}");
    }
}

fn setup(name: &str) -> Option<(TestDb<'static>, Client)> {
    if rust_edition_only(
        "compares the SQL edition with the Rust edition in one database; this pass has no Rust edition (the Rust pass runs it)",
    ) {
        return None;
    }
    let db = Cluster::shared().fresh_db(name);
    let mut c = db.connect();
    load_sql_edition(&mut c, "ff_sql");
    Some((db, c))
}

#[test]
fn keys_seeding_and_rotation_match() {
    let Some((_db, mut c)) = setup("sqled_keys") else { return };
    let s1 = "1".repeat(64);
    let s2 = "2".repeat(64);
    same_on_both(
        &mut c,
        &[
            "SELECT * FROM ff_hmac_kids()",
            &format!("SELECT * FROM ff_seed_hmac('k1', '{s1}')"),
            &format!("SELECT * FROM ff_seed_hmac('k1', '{s1}')"),
            &format!("SELECT * FROM ff_seed_hmac('k1', '{s2}')"),
            "SELECT * FROM ff_seed_hmac('k1')",
            &format!("SELECT * FROM ff_seed_hmac('k2', '{s2}')"),
            "SELECT * FROM ff_hmac_kids()",
            &format!("SELECT * FROM ff_rotate_hmac('k1', '{s1}')"),
            &format!("SELECT * FROM ff_rotate_hmac('k1', '{s2}')"),
            &format!("SELECT * FROM ff_rotate_hmac('k2', '{s2}', 0)"),
            "SELECT * FROM ff_hmac_kids()",
            "SELECT * FROM ff_rotate_hmac('k3', grace_ms => 0)",
            "SELECT kid, active FROM ff_hmac_kids()",
            "SELECT * FROM ff_rotate_hmac('k4')",
            "SELECT kid, active, rotated_at_ms IS NULL FROM ff_hmac_kids()",
        ],
    );
}

#[test]
fn keys_bad_input_matches() {
    let Some((_db, mut c)) = setup("sqled_keys_bad") else { return };
    let huge = "a".repeat(1 << 20);
    same_on_both(
        &mut c,
        &[
            "SELECT * FROM ff_seed_hmac(NULL)",
            "SELECT * FROM ff_seed_hmac('')",
            "SELECT * FROM ff_seed_hmac('a b')",
            "SELECT * FROM ff_seed_hmac('a:b')",
            &format!("SELECT * FROM ff_seed_hmac('{}')", "k".repeat(65)),
            &format!("SELECT * FROM ff_seed_hmac('{huge}')"),
            "SELECT * FROM ff_seed_hmac('k', '')",
            "SELECT * FROM ff_seed_hmac('k', 'abc')",
            &format!("SELECT * FROM ff_seed_hmac('k', '{}')", "zz".repeat(32)),
            &format!("SELECT * FROM ff_seed_hmac('k', '{}')", "11".repeat(31)),
            &format!("SELECT * FROM ff_seed_hmac('k', '{}')", "11".repeat(65)),
            &format!("SELECT * FROM ff_seed_hmac('k', '{huge}')"),
            "SELECT * FROM ff_rotate_hmac(NULL)",
            "SELECT * FROM ff_rotate_hmac('k', NULL, NULL)",
            "SELECT * FROM ff_rotate_hmac('k', NULL, -1)",
            "SELECT * FROM ff_rotate_hmac('k', NULL, 9007199254740992)",
            "SELECT * FROM ff_rotate_hmac('k', 'xyz')",
            "SELECT count(*) FROM ff_keystore",
        ],
    );
}

#[test]
fn keys_generated_secrets_are_32_bytes_and_never_shown() {
    let Some((_db, mut c)) = setup("sqled_keys_secret") else { return };
    same_on_both(&mut c, &["SELECT outcome, kid FROM ff_seed_hmac('g1')", "SELECT octet_length(secret) FROM ff_keystore"]);
    let n: i64 = c
        .query_one("SELECT count(*) FROM ff_sql.ff_keystore k JOIN public.ff_keystore p USING (kid) WHERE k.secret = p.secret", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 0, "two generated secrets are different");
}

const ID1: &str = "{fp:7}:6f1c1e9e-0000-4000-8000-000000000001";
const ID2: &str = "{fp:0}:6f1c1e9e-0000-4000-8000-000000000002";

/// The stored row of each execution, times and generated ids aside.
const ROWS: &str = "SELECT partition_key, CASE WHEN execution_id::text LIKE '6f1c1e9e-%' THEN execution_id::text ELSE 'generated' END, lane_id, namespace, flow_id, priority, required_capabilities, tags, \
    budget_ids, quota_policy_id, payload, lifecycle_phase, ownership_state, eligibility_state, attempt_state, public_state, \
    eligible_at_ms IS NULL, max_attempts, retry_backoff_ms, idempotency_key, attempt_index, lease_epoch \
    FROM ff_exec_core ORDER BY lane_id, partition_key, public_state, execution_id::text LIKE '6f1c1e9e-%'";

#[test]
fn create_execution_matches() {
    let Some((_db, mut c)) = setup("sqled_create") else { return };
    let far = "4102444800000"; // 2100-01-01
    same_on_both(
        &mut c,
        &[
            &format!("SELECT * FROM ff_create_execution('a', execution_id => '{ID1}')"),
            &format!("SELECT * FROM ff_create_execution('a', execution_id => '{ID1}')"),
            &format!(
                "SELECT * FROM ff_create_execution('b', '\\x0102', 5, '{{z,a,z,m}}', 'ns', '{{\"k\": [1, {{\"x\": null}}]}}', '{{}}', NULL, NULL, 3, 0, 'idem', '{ID2}', NULL, {far})"
            ),
            &format!("SELECT * FROM ff_create_execution('b', idempotency_key => 'idem', execution_id => '{ID1}')"),
            "SELECT split_part(execution_id, ':', 1), created FROM ff_create_execution('lane-x')",
            "SELECT split_part(execution_id, ':', 1), created FROM ff_create_execution('lane-x', flow_id => '00000000-0000-4000-8000-0000000000ff')",
            &format!("SELECT split_part(execution_id, ':', 1) FROM ff_create_execution('d', delay_until_ms => {far})"),
            "SELECT split_part(execution_id, ':', 1) FROM ff_create_execution('d', delay_until_ms => 1, priority => NULL, max_attempts => NULL, retry_backoff_ms => NULL, tags => NULL, required_capabilities => NULL, budget_ids => NULL)",
            ROWS,
            "SELECT partition_key, deadline_at_ms FROM ff_deadline ORDER BY 1",
        ],
    );
}

#[test]
fn create_execution_bad_input_matches() {
    let Some((_db, mut c)) = setup("sqled_create_bad") else { return };
    let huge = "a".repeat(1 << 20);
    let deep = |n: usize| format!("'{}{}'", "[".repeat(n), "]".repeat(n));
    let caps257: String = (0..257).map(|i| format!("c{i}")).collect::<Vec<_>>().join(",");
    let budgets65: String = (0..65).map(|i| format!("b{i}")).collect::<Vec<_>>().join(",");
    let mut calls: Vec<String> = vec![
        "SELECT * FROM ff_create_execution(NULL)".into(),
        "SELECT * FROM ff_create_execution('')".into(),
        format!("SELECT * FROM ff_create_execution('{}')", "l".repeat(65)),
        format!("SELECT * FROM ff_create_execution('{huge}')"),
        "SELECT * FROM ff_create_execution(E'tab\\there')".into(),
        "SELECT * FROM ff_create_execution('l', required_capabilities => ARRAY['a', NULL])".into(),
        "SELECT * FROM ff_create_execution('l', required_capabilities => ARRAY[''])".into(),
        format!("SELECT * FROM ff_create_execution('l', required_capabilities => '{{{caps257}}}')"),
        format!("SELECT * FROM ff_create_execution('l', required_capabilities => ARRAY['{huge}'])"),
        "SELECT * FROM ff_create_execution('l', namespace => '')".into(),
        format!("SELECT * FROM ff_create_execution('l', namespace => '{huge}')"),
        "SELECT * FROM ff_create_execution('l', idempotency_key => '')".into(),
        "SELECT * FROM ff_create_execution('l', budget_ids => ARRAY[NULL])".into(),
        "SELECT * FROM ff_create_execution('l', budget_ids => ARRAY[''])".into(),
        format!("SELECT * FROM ff_create_execution('l', budget_ids => '{{{budgets65}}}')"),
        "SELECT * FROM ff_create_execution('l', budget_ids => ARRAY['nope'])".into(),
        "SELECT * FROM ff_create_execution('l', quota_policy_id => '00000000-0000-4000-8000-000000000000')".into(),
        "SELECT * FROM ff_create_execution('l', tags => '[]')".into(),
        "SELECT * FROM ff_create_execution('l', tags => '1')".into(),
        "SELECT * FROM ff_create_execution('l', tags => '{\"n\": 1e400}')".into(),
        format!("SELECT * FROM ff_create_execution('l', tags => {})", deep(127)),
        format!("SELECT * FROM ff_create_execution('l', tags => {})", deep(128)),
        format!("SELECT * FROM ff_create_execution('l', tags => {})", deep(200)),
        "SELECT * FROM ff_create_execution('l', max_attempts => 0)".into(),
        "SELECT * FROM ff_create_execution('l', max_attempts => 100001)".into(),
        "SELECT * FROM ff_create_execution('l', retry_backoff_ms => -1)".into(),
        "SELECT * FROM ff_create_execution('l', retry_backoff_ms => 9007199254740992)".into(),
        "SELECT * FROM ff_create_execution('l', deadline_at_ms => 1)".into(),
        "SET ff_engine.max_payload_bytes = 4".into(),
        "SELECT * FROM ff_create_execution('l', payload => '\\x0102030405')".into(),
        "RESET ff_engine.max_payload_bytes".into(),
        "SELECT count(*) FROM ff_exec_core".into(),
    ];
    for bad_id in [
        "",
        "x",
        "{fp:",
        "{fp:7",
        "{fp:}:6f1c1e9e-0000-4000-8000-000000000001",
        "{fp:07}:6f1c1e9e-0000-4000-8000-000000000001",
        "{fp:256}:6f1c1e9e-0000-4000-8000-000000000001",
        "{fp:-1}:6f1c1e9e-0000-4000-8000-000000000001",
        "{fp:7}6f1c1e9e-0000-4000-8000-000000000001",
        "{fp:7}:6F1C1E9E-0000-4000-8000-000000000001",
        "{fp:7}:6f1c1e9e00004000800000000000000001",
        "{fp:7}:6f1c1e9e-0000-4000-8000-0000000000011111111111111111111111111",
    ] {
        calls.push(format!("SELECT * FROM ff_create_execution('l', execution_id => '{bad_id}')"));
    }
    let refs: Vec<&str> = calls.iter().map(String::as_str).collect();
    same_on_both(&mut c, &refs);
}

/// Wake-ups: the SQL edition's create wakes an announced worker on its own channel, and the two
/// editions take the same advisory lock for a lane — an announcement in one waits for a writer in
/// flight in the other.
#[test]
fn wakeups_match_and_share_lock_keys() {
    use postgres::fallible_iterator::FallibleIterator;
    let Some((db, mut c)) = setup("sqled_wake") else { return };
    for (announce_in, write_in) in [("ff_sql", "public"), ("public", "ff_sql")] {
        let mut waiter = db.connect();
        let pid: i32 = waiter.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
        waiter.batch_execute(&format!("LISTEN ff_wake_{pid}")).unwrap();
        // A writer of the other edition in flight: the announcement waits for its commit.
        c.batch_execute(&format!("BEGIN; SELECT * FROM {write_in}.ff_create_execution('w')")).unwrap();
        let hold = std::time::Duration::from_millis(300);
        let started = std::time::Instant::now();
        let committer = std::thread::spawn(move || {
            std::thread::sleep(hold);
            c.batch_execute("COMMIT").unwrap();
            c
        });
        waiter.batch_execute(&format!("SELECT {announce_in}.ff_await_lane('w')")).unwrap();
        assert!(started.elapsed() >= hold - std::time::Duration::from_millis(50), "{announce_in} waited for {write_in}'s writer");
        c = committer.join().unwrap();
        // The next create in the announcing edition wakes this worker, once.
        c.batch_execute(&format!("SELECT * FROM {announce_in}.ff_create_execution('w')")).unwrap();
        c.batch_execute(&format!("SELECT * FROM {announce_in}.ff_create_execution('w')")).unwrap();
        let mut got = Vec::new();
        let mut it = waiter.notifications();
        let mut t = it.timeout_iter(std::time::Duration::from_millis(300));
        while let Some(n) = t.next().unwrap() {
            got.push((n.channel().to_string(), n.payload().to_string()));
        }
        assert_eq!(got, vec![(format!("ff_wake_{pid}"), "w".to_string())], "{announce_in}");
    }
    same_on_both(
        &mut c,
        &[
            "SELECT ff_await_lane(NULL)",
            "SELECT ff_await_lane('')",
            "SELECT ff_await_events('{}')",
            "SELECT ff_await_events(ARRAY[NULL])",
            "SELECT ff_await_events('{ff_lane_ready}')",
            "SELECT ff_await_events('{ff_completion,ff_lease_event}')",
            "SELECT channel, lane_id FROM ff_waiter ORDER BY 1, 2",
        ],
    );
}

#[test]
fn claims_match() {
    let Some((_db, mut c)) = setup("sqled_claims") else { return };
    let id = |n: u32| format!("{{fp:7}}:6f1c1e9e-0000-4000-8000-{n:012}");
    let mut calls: Vec<String> = vec![
        "SELECT * FROM ff_claim_for_worker('c', 'w', 'i')".into(), // keystore_empty
        "SELECT * FROM ff_seed_hmac('k1', repeat('11', 32))".into(),
        "SELECT * FROM ff_claim('c', 'w', 'i')".into(),
        "SELECT * FROM ff_claim_for_worker('c', 'w', 'i')".into(),
    ];
    for (n, prio, caps) in [(1, 0, "{}"), (2, 5, "{}"), (3, 0, "{gpu}"), (4, 5, "{}"), (5, 0, "{}"), (6, 1, "{}")] {
        calls.push(format!(
            "SELECT * FROM ff_create_execution('c', payload => '\\x{n:02}', priority => {prio}, required_capabilities => '{caps}', execution_id => '{}')",
            id(n)
        ));
    }
    calls.extend([
        "SELECT execution_id, attempt_index, lease_epoch, resumed, payload, attempt_id, lease_id, lease_expires_at_ms FROM ff_claim('c', 'w', 'i', max_items => 2)".into(),
        "SELECT execution_id, partition_key, grant_key LIKE 'pg:{fp:7}:%:k1:%', expires_at_ms FROM ff_claim_for_worker('c', 'w', 'i', '{gpu}')".into(),
        "CREATE TEMP TABLE IF NOT EXISTS gk (s text, k text)".into(),
        "DELETE FROM gk WHERE s = current_schema(); INSERT INTO gk SELECT current_schema(), grant_key FROM ff_claim_for_worker('c', 'w', 'i', '{gpu}')".into(),
        "SELECT * FROM ff_claim_execution((SELECT k FROM gk WHERE s = current_schema()), 'w2', 'i')".into(),
        "SELECT * FROM ff_claim_execution((SELECT k FROM gk WHERE s = current_schema()), 'w', 'i2')".into(),
        "SELECT * FROM ff_claim_execution((SELECT left(k, -1) || 'x' FROM gk WHERE s = current_schema()), 'w', 'i')".into(),
        "SELECT * FROM ff_claim_execution((SELECT left(k, -1) || CASE WHEN right(k, 1) = '0' THEN '1' ELSE '0' END FROM gk WHERE s = current_schema()), 'w', 'i')".into(),
        "SELECT * FROM ff_claim_resumed_execution((SELECT k FROM gk WHERE s = current_schema()), 'w', 'i')".into(),
        "SELECT execution_id, attempt_index, lease_epoch, resumed, payload FROM ff_claim_execution((SELECT k FROM gk WHERE s = current_schema()), 'w', 'i')".into(),
        "SELECT * FROM ff_claim_execution((SELECT k FROM gk WHERE s = current_schema()), 'w', 'i')".into(),
        "DELETE FROM gk WHERE s = current_schema(); INSERT INTO gk SELECT current_schema(), grant_key FROM ff_claim_for_worker('c', 'w', 'i', grant_ttl_ms => 1)".into(),
        "SELECT pg_sleep(0.01)".into(),
        "SELECT * FROM ff_claim_execution((SELECT k FROM gk WHERE s = current_schema()), 'w', 'i')".into(),
        "SELECT execution_id, attempt_index, resumed FROM ff_claim('c', 'w', 'i', '{gpu}', max_items => 10)".into(),
        "SELECT * FROM ff_claim('c', 'w', 'i', '{gpu}', max_items => 10)".into(),
        "SELECT partition_key, execution_id, lifecycle_phase, ownership_state, attempt_state, public_state, attempt_index, lease_epoch, lease_worker_id, reserved_until_ms IS NULL FROM ff_exec_core ORDER BY execution_id".into(),
        "SELECT execution_id, attempt_index, worker_id, worker_instance_id FROM ff_attempt ORDER BY execution_id".into(),
        "SELECT execution_id, lease_epoch, event_type FROM ff_lease_event ORDER BY event_id".into(),
        "SELECT count(*) FROM ff_claim_grant".into(),
    ]);
    for bad in [
        "ff_claim(NULL, 'w', 'i')",
        "ff_claim('', 'w', 'i')",
        "ff_claim('c', NULL, 'i')",
        "ff_claim('c', '', 'i')",
        "ff_claim('c', 'w', NULL)",
        "ff_claim('c', 'w', repeat('i', 257))",
        "ff_claim('c', 'w', 'i', ARRAY[NULL])",
        "ff_claim('c', 'w', 'i', ARRAY[''])",
        "ff_claim('c', 'w', 'i', lease_ttl_ms => 0)",
        "ff_claim('c', 'w', 'i', lease_ttl_ms => NULL)",
        "ff_claim('c', 'w', 'i', max_items => 0)",
        "ff_claim('c', 'w', 'i', max_items => 1001)",
        "ff_claim('c', 'w', 'i', max_items => NULL)",
        "ff_claim_for_worker('c', 'w', 'i', grant_ttl_ms => 0)",
        "ff_claim_for_worker('c', 'w', 'i', grant_ttl_ms => NULL)",
        "ff_claim_execution(NULL, 'w', 'i')",
        "ff_claim_execution('', 'w', 'i')",
        "ff_claim_execution('pg:{fp:7}:x', 'w', 'i')",
        "ff_claim_execution('x', 'w', 'i', 0)",
        "ff_claim_resumed_execution('x', NULL, 'i')",
    ] {
        calls.push(format!("SELECT * FROM {bad}"));
    }
    let refs: Vec<&str> = calls.iter().map(String::as_str).collect();
    same_on_both(&mut c, &refs);
}

/// The fence of execution n, read from the edition's own table: `<id>, <lease_id>, <lease_epoch>`.
fn fence(n: u32) -> String {
    let id = format!("{{fp:7}}:6f1c1e9e-0000-4000-8000-{n:012}");
    let uuid = &id[7..];
    format!(
        "'{id}', (SELECT lease_id FROM ff_exec_core WHERE execution_id = '{uuid}'), (SELECT lease_epoch FROM ff_exec_core WHERE execution_id = '{uuid}')"
    )
}

/// A JSON element of ff_complete_many for execution n, with `epoch_delta` added to its epoch.
fn element(n: u32, epoch_delta: i64, extra: &str) -> String {
    let id = format!("{{fp:7}}:6f1c1e9e-0000-4000-8000-{n:012}");
    let uuid = &id[7..];
    format!(
        "jsonb_build_object('execution_id', '{id}', 'lease_id', (SELECT lease_id FROM ff_exec_core WHERE execution_id = '{uuid}'), \
         'lease_epoch', (SELECT lease_epoch + {epoch_delta} FROM ff_exec_core WHERE execution_id = '{uuid}')){extra}"
    )
}

#[test]
fn leases_match() {
    let Some((_db, mut c)) = setup("sqled_leases") else { return };
    let id = |n: u32| format!("{{fp:7}}:6f1c1e9e-0000-4000-8000-{n:012}");
    let mut calls: Vec<String> = vec!["SELECT * FROM ff_seed_hmac('k1', repeat('11', 32))".into()];
    for n in 1..=8 {
        calls.push(format!(
            "SELECT * FROM ff_create_execution('l', max_attempts => 3, retry_backoff_ms => {}, execution_id => '{}')",
            if n == 6 { 1000 } else { 0 },
            id(n)
        ));
    }
    calls.extend([
        "SELECT execution_id, attempt_index, lease_epoch FROM ff_claim('l', 'w', 'i', max_items => 7)".to_string(),
        format!("SELECT * FROM ff_renew_lease({}, 60000)", fence(1)),
        format!("SELECT * FROM ff_renew_lease('{}', (SELECT lease_id FROM ff_exec_core WHERE execution_id = '{}'), 99)", id(1), &id(1)[7..]),
        format!("SELECT * FROM ff_renew_lease('{}', NULL, 1)", id(1)),
        format!("SELECT * FROM ff_renew_lease('{}', gen_random_uuid(), NULL)", id(1)),
        format!("SELECT * FROM ff_renew_lease({}, 0)", fence(1)),
        format!("SELECT * FROM ff_renew_lease({}, NULL)", fence(1)),
        "SELECT * FROM ff_renew_lease('{fp:7}:6f1c1e9e-0000-4000-8000-000000000099', gen_random_uuid(), 1)".into(),
        "SELECT * FROM ff_renew_lease(NULL, gen_random_uuid(), 1)".into(),
        "SELECT * FROM ff_renew_lease('nope', gen_random_uuid(), 1)".into(),
        format!("SELECT * FROM ff_complete({}, '\\x6869')", fence(1)),
        format!("SELECT * FROM ff_complete('{}', gen_random_uuid(), 1)", id(1)),
        format!("SELECT * FROM ff_complete({})", fence(1)),
        "SET ff_engine.max_payload_bytes = 1".into(),
        format!("SELECT * FROM ff_complete({}, '\\x0102')", fence(2)),
        "RESET ff_engine.max_payload_bytes".into(),
        format!("SELECT * FROM ff_fail({}, 'boom')", fence(2)),
        format!("SELECT outcome, retry_at_ms IS NULL FROM ff_fail({}, 'final', false)", fence(3)),
        format!("SELECT * FROM ff_fail({}, repeat('m', 65537))", fence(4)),
        format!("SELECT * FROM ff_fail({}, NULL, NULL)", fence(6)),
        format!(
            "SELECT * FROM ff_complete_many(jsonb_build_array({}, {}, 'junk'::text, jsonb_build_object('execution_id', 'nope'), \
             {}, {}, {}, {}, jsonb_build_object('execution_id', '{}', 'lease_id', 'x', 'lease_epoch', 1)))",
            element(4, 0, ""),
            element(5, 1, ""),
            element(7, 0, " || '{\"result_hex\": \"zz\"}'"),
            element(7, 0, " || '{\"result_hex\": 5}'"),
            element(7, 0, " || '{\"lease_epoch\": 1.5}'"),
            element(8, 0, " || '{\"result_hex\": \"CAFE\"}'"),
            id(9)
        ),
        "SELECT * FROM ff_complete_many(NULL)".into(),
        "SELECT * FROM ff_complete_many('{}')".into(),
        "SELECT * FROM ff_complete_many('[]')".into(),
        format!("SELECT * FROM ff_complete_many(jsonb_build_array({}))", element(7, 0, " || jsonb_build_object('lease_id', upper((SELECT lease_id::text FROM ff_exec_core WHERE execution_id = '6f1c1e9e-0000-4000-8000-000000000007')))")),
        "SELECT * FROM ff_complete_many((SELECT jsonb_agg(1) FROM generate_series(1, 10001)))".into(),
        format!("SELECT * FROM ff_cancel('{}')", id(2)),
        format!("SELECT * FROM ff_cancel('{}')", id(2)),
        format!("SELECT * FROM ff_cancel('{}', 'ops')", id(5)),
        format!("SELECT * FROM ff_cancel('{}', '')", id(6)),
        format!("SELECT * FROM ff_cancel('{}', NULL)", id(6)),
        format!("SELECT * FROM ff_cancel('{}', repeat('r', 257))", id(6)),
        "SELECT * FROM ff_cancel('{fp:7}:6f1c1e9e-0000-4000-8000-000000000099')".into(),
        "SELECT execution_id, attempt_index FROM ff_claim('l', 'w', 'i', lease_ttl_ms => 1, max_items => 5)".into(),
        "SELECT pg_sleep(0.01)".into(),
        format!("SELECT * FROM ff_complete({})", fence(8)),
        format!("SELECT * FROM ff_fail({}, 'late')", fence(8)),
        format!("SELECT * FROM ff_complete({})", fence(2)),
        format!("SELECT * FROM ff_renew_lease({})", fence(1)),
        "SELECT partition_key, execution_id, lifecycle_phase, ownership_state, eligibility_state, attempt_state, public_state, \
         attempt_index, lease_epoch, result, last_error, completed_at_ms IS NULL, eligible_at_ms IS NULL FROM ff_exec_core ORDER BY execution_id".into(),
        "SELECT execution_id, attempt_index, outcome, error_message, ended_at_ms IS NULL FROM ff_attempt ORDER BY execution_id, attempt_index".into(),
        "SELECT execution_id, lease_epoch, event_type FROM ff_lease_event ORDER BY event_id".into(),
        "SELECT execution_id, outcome FROM ff_completion_event ORDER BY event_id".into(),
    ]);
    let refs: Vec<&str> = calls.iter().map(String::as_str).collect();
    same_on_both(&mut c, &refs);
}

/// The SQL edition under concurrent sessions: eight workers claim and complete 1 000 executions
/// (batches of 1-5), each exactly once, with the same events as work done.
#[test]
fn concurrent_claims_are_exactly_once() {
    let Some((db, mut c)) = setup("sqled_concurrent") else { return };
    c.batch_execute(
        "SET search_path = ff_sql; SELECT * FROM ff_seed_hmac('k1', repeat('11', 32)); \
                     SELECT count(*) FROM (SELECT ff_create_execution('bulk') FROM generate_series(1, 1000)) s; RESET search_path",
    )
    .unwrap();
    let threads: Vec<_> = (0..8)
        .map(|w| {
            let mut s = db.connect();
            std::thread::spawn(move || {
                s.batch_execute("SET search_path = ff_sql").unwrap();
                let mut done = Vec::new();
                loop {
                    let rows = s
                        .query(
                            "SELECT execution_id, lease_id, lease_epoch FROM ff_claim('bulk', $1, 'i', max_items => $2)",
                            &[&format!("w{w}"), &(1 + w % 5)],
                        )
                        .unwrap();
                    if rows.is_empty() {
                        break;
                    }
                    for r in rows {
                        let (id, lease, epoch): (String, uuid::Uuid, i64) = (r.get(0), r.get(1), r.get(2));
                        s.query_one("SELECT * FROM ff_complete($1, $2, $3)", &[&id, &lease, &epoch]).unwrap();
                        done.push(id);
                    }
                }
                done
            })
        })
        .collect();
    let mut all: Vec<String> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!((n, all.len()), (1000, 1000), "each execution claimed and completed exactly once");
    c.batch_execute("SET search_path = ff_sql").unwrap();
    assert_eq!(count(&mut c, "SELECT count(*) FROM ff_exec_core WHERE public_state = 'completed'"), 1000);
    assert_eq!(count(&mut c, "SELECT count(*) FROM ff_lease_event WHERE event_type = 'acquired'"), 1000);
    assert_eq!(count(&mut c, "SELECT count(*) FROM ff_completion_event WHERE outcome = 'success'"), 1000);
}

#[test]
fn condition_checks_and_builders_match() {
    let Some((_db, mut c)) = setup("sqled_conditions") else { return };
    let single = |k: &str| format!(r#"{{"Single":{{"waitpoint_key":"{k}","matcher":{{"ByName":"go"}}}}}}"#);
    let nest = |depth: usize| {
        let mut v = single("k");
        for _ in 0..depth {
            v = format!(r#"{{"Composite":{{"kind":"AllOf","members":[{v}]}}}}"#);
        }
        v
    };
    let big_keys: Vec<String> = (0..40).map(|i| format!("\"{}{i}\"", "k".repeat(200))).collect();
    let mut docs: Vec<String> = vec![
        single("k"),
        r#"{"Single":{"waitpoint_key":"k","matcher":"Wildcard"}}"#.into(),
        r#""OperatorOnly""#.into(),
        r#""TimeoutOnly""#.into(),
        r#""Other""#.into(),
        "1".into(),
        "null".into(),
        "[]".into(),
        "{}".into(),
        r#"{"Single":{"waitpoint_key":"k","matcher":"Wildcard"},"x":1}"#.into(),
        r#"{"Single":{"waitpoint_key":"k"}}"#.into(),
        r#"{"Single":{"matcher":"Wildcard","waitpoint_key":"k","zz":1,"aa":2}}"#.into(),
        r#"{"Single":{"waitpoint_key":"","matcher":"Wildcard"}}"#.into(),
        r#"{"Single":{"waitpoint_key":5,"matcher":"Wildcard"}}"#.into(),
        format!(r#"{{"Single":{{"waitpoint_key":"{}","matcher":"Wildcard"}}}}"#, "k".repeat(257)),
        r#"{"Single":{"waitpoint_key":"k","matcher":{"ByName":""}}}"#.into(),
        r#"{"Single":{"waitpoint_key":"k","matcher":{"ByName":"a","x":1}}}"#.into(),
        r#"{"Single":{"waitpoint_key":"k","matcher":"wildcard"}}"#.into(),
        r#"{"Single":[]}"#.into(),
        r#"{"Composite":{"kind":"AllOf","members":[]}}"#.into(),
        r#"{"Composite":{"kind":"AllOf","members":{}}}"#.into(),
        r#"{"Composite":{"kind":"AllOf"}}"#.into(),
        r#"{"Composite":{"kind":"OneOf","members":[]}}"#.into(),
        r#"{"Composite":{"kind":"Count","n":2,"count_kind":"DistinctWaitpoints","waitpoints":["a","b","c"]}}"#.into(),
        r#"{"Composite":{"kind":"Count","n":2,"count_kind":"DistinctSignals","waitpoints":["a"],"matcher":{"ByName":"x"}}}"#.into(),
        r#"{"Composite":{"kind":"Count","n":1,"count_kind":"DistinctSources","waitpoints":["a"],"matcher":null}}"#.into(),
        r#"{"Composite":{"kind":"Count","n":3,"count_kind":"DistinctWaitpoints","waitpoints":["a","b","a"]}}"#.into(),
        r#"{"Composite":{"kind":"Count","n":0,"count_kind":"DistinctWaitpoints","waitpoints":["a"]}}"#.into(),
        r#"{"Composite":{"kind":"Count","n":-1,"count_kind":"DistinctWaitpoints","waitpoints":["a"]}}"#.into(),
        r#"{"Composite":{"kind":"Count","n":1.5,"count_kind":"DistinctWaitpoints","waitpoints":["a"]}}"#.into(),
        r#"{"Composite":{"kind":"Count","n":"1","count_kind":"DistinctWaitpoints","waitpoints":["a"]}}"#.into(),
        r#"{"Composite":{"kind":"Count","n":4294967296,"count_kind":"DistinctSignals","waitpoints":["a"]}}"#.into(),
        r#"{"Composite":{"kind":"Count","n":1,"count_kind":"Distinct","waitpoints":["a"]}}"#.into(),
        r#"{"Composite":{"kind":"Count","n":1,"count_kind":"DistinctWaitpoints","waitpoints":[]}}"#.into(),
        r#"{"Composite":{"kind":"Count","n":1,"count_kind":"DistinctWaitpoints","waitpoints":"a"}}"#.into(),
        r#"{"Composite":{"kind":"Count","n":1,"count_kind":"DistinctWaitpoints","waitpoints":["a",""]}}"#.into(),
        r#"{"Composite":{"kind":"Count","n":1,"count_kind":"DistinctWaitpoints","waitpoints":["a"],"matcher":"nope"}}"#.into(),
        r#"{"Composite":{"kind":"Count","n":1,"count_kind":"DistinctWaitpoints"}}"#.into(),
        nest(4),
        nest(5),
        nest(200),
        format!(r#"{{"Composite":{{"kind":"Count","n":1,"count_kind":"DistinctWaitpoints","waitpoints":[{}]}}}}"#, big_keys.join(",")),
        format!(
            r#"{{"Composite":{{"kind":"Count","n":1,"count_kind":"DistinctWaitpoints","waitpoints":[{}]}}}}"#,
            big_keys[..39].join(",")
        ),
        r#"{"Single":{"waitpoint_key":"k","matcher":{"ByName":"n\u00e9"}}}"#.into(),
        r#"{"n": 1e400}"#.into(),
    ];
    let mut calls: Vec<String> = docs.drain(..).map(|d| format!("SELECT ff_cond_check($json${d}$json$::jsonb)")).collect();
    calls.extend(
        [
            "SELECT ff_cond_check(NULL)",
            "SELECT ff_cond_single('k')",
            "SELECT ff_cond_single('k', 'go')",
            "SELECT ff_cond_single('', 'go')",
            "SELECT ff_cond_single(NULL)",
            "SELECT ff_cond_all(ff_cond_single('a'), ff_cond_any('{b,c}', 'x'))",
            "SELECT ff_cond_all()",
            "SELECT ff_cond_count(2, 'waitpoints', '{a,b}')",
            "SELECT ff_cond_count(2, 'signals', '{a}', 'go')",
            "SELECT ff_cond_count(1, 'sources', '{a}')",
            "SELECT ff_cond_count(1, 'bogus', '{a}')",
            "SELECT ff_cond_count(0, 'waitpoints', '{a}')",
            "SELECT ff_cond_count(3, 'waitpoints', '{a,b}')",
            "SELECT ff_cond_count(NULL, 'waitpoints', '{a}')",
            "SELECT ff_cond_count(1, 'waitpoints', NULL)",
            "SELECT ff_cond_count(1, 'waitpoints', ARRAY[NULL])",
            "SELECT ff_cond_any('{}')",
            "SELECT ff_cond_timeout_only()",
            "SELECT ff_cond_operator_only()",
        ]
        .map(String::from),
    );
    let refs: Vec<&str> = calls.iter().map(String::as_str).collect();
    same_on_both(&mut c, &refs);
}

#[test]
fn inspection_matches() {
    let Some((_db, mut c)) = setup("sqled_inspection") else { return };
    let id = |n: u32| format!("{{fp:7}}:6f1c1e9e-0000-4000-8000-{n:012}");
    let mut calls: Vec<String> = vec!["SELECT * FROM ff_seed_hmac('k1', repeat('11', 32))".into()];
    for n in 1..=6 {
        calls.push(format!(
            "SELECT * FROM ff_create_execution(CASE WHEN {n} = 6 THEN 'other' ELSE 'i' END, '\\\\x0a', {n}, namespace => 'ns', tags => '{{\"n\": {n}}}', max_attempts => 3, retry_backoff_ms => 60000, execution_id => '{}', deadline_at_ms => CASE WHEN {n} = 2 THEN 4102444800000 END)",
            id(n)
        ));
    }
    calls.extend([
        "SELECT execution_id FROM ff_claim('i', 'w', 'wi', max_items => 3)".to_string(),
        format!("SELECT * FROM ff_fail({}, 'boom')", fence(1)),
        format!("SELECT * FROM ff_complete({}, '\\\\x0102')", fence(2)),
        format!("SELECT * FROM ff_cancel('{}', 'ops')", id(4)),
    ]);
    for n in [1, 2, 3, 4, 5] {
        calls.push(format!("SELECT * FROM ff_get_execution('{}')", id(n)));
        calls.push(format!("SELECT attempt_index, worker_id, worker_instance_id, started_at_ms, ended_at_ms, outcome, error_message FROM ff_list_attempts('{}')", id(n)));
    }
    calls.extend(
        [
            "SELECT * FROM ff_list_executions('i')",
            "SELECT * FROM ff_list_executions('i', 'waiting')",
            "SELECT * FROM ff_list_executions('i', 'delayed')",
            "SELECT * FROM ff_list_executions('i', NULL, '{fp:7}:6f1c1e9e-0000-4000-8000-000000000002', 2)",
            "SELECT * FROM ff_list_executions('i', NULL, '{fp:7}:6f1c1e9e-0000-4000-8000-000000000006')",
            "SELECT * FROM ff_list_executions('i', NULL, '{fp:7}:6f1c1e9e-0000-4000-8000-000000000099')",
            "SELECT * FROM ff_list_executions('i', NULL, 'nope')",
            "SELECT * FROM ff_list_executions('i', 'bogus')",
            "SELECT * FROM ff_list_executions('i', max_rows => 0)",
            "SELECT * FROM ff_list_executions('i', max_rows => 10001)",
            "SELECT * FROM ff_list_executions('i', max_rows => NULL)",
            "SELECT * FROM ff_list_executions(NULL)",
            "SELECT * FROM ff_list_executions('')",
            "SELECT * FROM ff_list_executions('nobody')",
            "SELECT * FROM ff_get_execution(NULL)",
            "SELECT * FROM ff_get_execution('x')",
            "SELECT * FROM ff_get_execution('{fp:7}:6f1c1e9e-0000-4000-8000-000000000099')",
            "SELECT * FROM ff_list_attempts(NULL)",
            "SELECT * FROM ff_list_attempts('{fp:7}:6f1c1e9e-0000-4000-8000-000000000099')",
        ]
        .map(String::from),
    );
    let refs: Vec<&str> = calls.iter().map(String::as_str).collect();
    same_on_both(&mut c, &refs);
}

#[test]
fn operator_actions_match() {
    let Some((_db, mut c)) = setup("sqled_operator") else { return };
    let id = |n: u32| format!("{{fp:7}}:6f1c1e9e-0000-4000-8000-{n:012}");
    let mut calls: Vec<String> = vec!["SELECT * FROM ff_seed_hmac('k1', repeat('11', 32))".into()];
    for n in 1..=3 {
        calls.push(format!("SELECT * FROM ff_create_execution('o', execution_id => '{}')", id(n)));
    }
    calls.extend([
        format!("SELECT * FROM ff_change_priority('{}', 7)", id(3)),
        format!("SELECT * FROM ff_change_priority('{}', 7)", id(3)),
        format!("SELECT * FROM ff_change_priority('{}', NULL)", id(3)),
        "SELECT * FROM ff_change_priority('{fp:7}:6f1c1e9e-0000-4000-8000-000000000099', 1)".into(),
        "SELECT * FROM ff_change_priority(NULL, 1)".into(),
        "SELECT execution_id, lease_epoch FROM ff_claim('o', 'w', 'i', max_items => 2)".into(),
        format!("SELECT * FROM ff_revoke_lease('{}', 'stuck', 99)", id(3)),
        format!("SELECT * FROM ff_revoke_lease('{}', 'stuck', 1)", id(3)),
        format!("SELECT * FROM ff_revoke_lease('{}')", id(3)),
        format!("SELECT * FROM ff_revoke_lease('{}', '')", id(1)),
        format!("SELECT * FROM ff_revoke_lease('{}', NULL)", id(1)),
        format!("SELECT * FROM ff_revoke_lease('{}', repeat('r', 257))", id(1)),
        "SELECT execution_id, attempt_index, resumed FROM ff_claim('o', 'w2', 'i2')".into(),
        format!("SELECT * FROM ff_complete({})", fence(3)),
        format!("SELECT * FROM ff_replay_execution('{}')", id(3)),
        format!("SELECT * FROM ff_replay_execution('{}')", id(1)),
        format!("SELECT * FROM ff_fail({}, 'x', false)", fence(1)),
        format!("SELECT * FROM ff_replay_execution('{}', '')", id(1)),
        format!("SELECT * FROM ff_replay_execution('{}', 'again')", id(1)),
        format!("SELECT * FROM ff_cancel('{}')", id(2)),
        format!("SELECT * FROM ff_replay_execution('{}')", id(2)),
        "SELECT execution_id, attempt_index, resumed FROM ff_claim('o', 'w', 'i', max_items => 5)".into(),
        "SELECT execution_id, action, actor, reason, detail FROM ff_operator_event ORDER BY event_id".into(),
        "SELECT execution_id, lease_epoch, event_type FROM ff_lease_event ORDER BY event_id".into(),
        "SELECT execution_id, priority, lifecycle_phase, ownership_state, attempt_state, public_state, attempt_index, lease_epoch, \
             reclaim_count, interrupt_reason FROM ff_exec_core ORDER BY execution_id"
            .into(),
    ]);
    let refs: Vec<&str> = calls.iter().map(String::as_str).collect();
    same_on_both(&mut c, &refs);
}

#[test]
fn budgets_and_quotas_match() {
    let Some((_db, mut c)) = setup("sqled_budgets") else { return };
    let id = |n: u32| format!("{{fp:7}}:6f1c1e9e-0000-4000-8000-{n:012}");
    let q = "00000000-0000-4000-8000-00000000000a";
    let mut calls: Vec<String> = vec![
        "SELECT * FROM ff_seed_hmac('k1', repeat('11', 32))".into(),
        r#"SELECT * FROM ff_create_budget('b1', '{"tokens": 100, "calls": 3}', '{"tokens": 50}')"#.into(),
        r#"SELECT * FROM ff_create_budget('b1', '{"tokens": 1}')"#.into(),
        r#"SELECT * FROM ff_create_budget('b2', '{"tokens": 1000}', reset_interval_ms => 3600000)"#.into(),
        format!("SELECT * FROM ff_create_quota_policy(active_concurrency_cap => 1, quota_policy_id => '{q}')"),
        format!("SELECT * FROM ff_create_quota_policy(active_concurrency_cap => 1, quota_policy_id => '{q}')"),
        format!("SELECT * FROM ff_create_execution('q', execution_id => '{}', quota_policy_id => '{q}')", id(1)),
        format!("SELECT * FROM ff_create_execution('q', execution_id => '{}', quota_policy_id => '{q}')", id(2)),
        format!("SELECT * FROM ff_create_execution('q', execution_id => '{}', budget_ids => '{{b1,b2}}')", id(3)),
        format!("SELECT * FROM ff_create_execution('q', execution_id => '{}', budget_ids => '{{b1}}')", id(4)),
        "SELECT execution_id FROM ff_claim('q', 'w', 'i', max_items => 10)".into(),
        "SELECT execution_id FROM ff_claim('q', 'w', 'i', max_items => 10)".into(),
        "SELECT count(*) FROM ff_quota_admission".into(),
    ];
    for (usage, dedup) in [
        (r#"{"tokens": 30}"#, "NULL"),
        (r#"{"tokens": 30}"#, "'d1'"),
        (r#"{"tokens": 30}"#, "'d1'"),
        (r#"{"calls": 3}"#, "NULL"),
        (r#"{"tokens": 9223372036854775807}"#, "NULL"),
        (r#"{}"#, "NULL"),
    ] {
        calls.push(format!("SELECT * FROM ff_report_usage({}, '{usage}', {dedup})", fence(3)));
    }
    calls.extend([
        format!("SELECT * FROM ff_report_usage({}, '{{\"x\": 1}}')", fence(1)),
        "SELECT * FROM ff_budget_status('b1')".into(),
        "SELECT * FROM ff_budget_status('b2')".into(),
        "SELECT * FROM ff_budget_status('nope')".into(),
        "SELECT * FROM ff_budget_status(NULL)".into(),
        "SELECT * FROM ff_budget_status('')".into(),
        "SELECT execution_id FROM ff_claim('q', 'w', 'i', max_items => 10)".into(),
        r#"SELECT * FROM ff_create_budget(NULL, '{"a": 1}')"#.into(),
        r#"SELECT * FROM ff_create_budget('x', NULL)"#.into(),
        r#"SELECT * FROM ff_create_budget('x', '[]')"#.into(),
        r#"SELECT * FROM ff_create_budget('x', '{"a": -1}')"#.into(),
        r#"SELECT * FROM ff_create_budget('x', '{"a": 1.5}')"#.into(),
        r#"SELECT * FROM ff_create_budget('x', '{"a": 9223372036854775808}')"#.into(),
        r#"SELECT * FROM ff_create_budget('x', '{"": 1}')"#.into(),
        r#"SELECT * FROM ff_create_budget('x', '{"b": "1", "": 1}')"#.into(),
        r#"SELECT * FROM ff_create_budget('x', '{"a": 1}', '{"a": "x"}')"#.into(),
        r#"SELECT * FROM ff_create_budget('x', '{"a": 1}', NULL)"#.into(),
        r#"SELECT * FROM ff_create_budget('x', '{"a": 1}', reset_interval_ms => 0)"#.into(),
        r#"SELECT * FROM ff_create_budget('x', '{"a": 1e400}')"#.into(),
        r#"SELECT * FROM ff_create_budget('x', (SELECT jsonb_object_agg('d' || g, 1) FROM generate_series(1, 65) g))"#.into(),
        format!("SELECT * FROM ff_report_usage({}, NULL)", fence(3)),
        format!("SELECT * FROM ff_report_usage({}, '{{\"a\": -1}}')", fence(3)),
        format!("SELECT * FROM ff_report_usage({}, '{{\"a\": 1}}', '')", fence(3)),
        "SELECT * FROM ff_report_usage(NULL, NULL, NULL, NULL)".into(),
        "SELECT * FROM ff_create_quota_policy(-1)".into(),
        "SELECT * FROM ff_create_quota_policy(active_concurrency_cap => -1)".into(),
        "SELECT * FROM ff_create_quota_policy(window_ms => 0)".into(),
        "SELECT * FROM ff_create_quota_policy(window_ms => NULL)".into(),
        "SELECT budget_id, dimension, used FROM ff_budget_usage ORDER BY 1, 2".into(),
    ]);
    let refs: Vec<&str> = calls.iter().map(String::as_str).collect();
    same_on_both(&mut c, &refs);
}

/// The SQL edition's condition evaluation reproduces the core crate's vectors (core/src/condition.rs
/// tests): effects, satisfier sets, Count kinds, nested Counts that do not share signals. (Deliver and
/// suspend, which will call it, are not in the SQL edition yet, so it is checked against the vectors.)
#[test]
fn condition_evaluation_matches_the_core_vectors() {
    let Some((_db, mut c)) = setup("sqled_condeval") else { return };
    c.batch_execute("SET search_path = ff_sql").unwrap();
    let sig = |seq: i64, key: &str, name: &str| {
        format!(
            r#"{{"seq": {seq}, "signal_id": "{seq}", "waitpoint_key": "{key}", "name": "{name}", "source_type": "t", "source_identity": "s{seq}"}}"#
        )
    };
    let mut effect = |cond: &str, prior: &[String], new: &str| -> (String, Vec<i64>) {
        let r = c
            .query_one(
                "SELECT effect, satisfiers FROM ff_cond_effect(ff_cond_check($1::text::jsonb), $2::text::jsonb, $3::text::jsonb)",
                &[&cond, &format!("[{}]", prior.join(",")), &new],
            )
            .unwrap();
        (r.get(0), r.get(1))
    };
    let single = r#"{"Single":{"waitpoint_key":"k","matcher":{"ByName":"approved"}}}"#;
    assert_eq!(effect(single, &[], &sig(1, "k", "rejected")).0, "no_op");
    assert_eq!(effect(single, &[], &sig(1, "other", "approved")).0, "signal_ignored_not_in_condition");
    assert_eq!(effect(single, &[], &sig(2, "k", "approved")), ("resume_condition_satisfied".into(), vec![2]));
    let allof = r#"{"Composite":{"kind":"AllOf","members":[{"Single":{"waitpoint_key":"k","matcher":{"ByName":"a"}}},{"Single":{"waitpoint_key":"k","matcher":{"ByName":"b"}}}]}}"#;
    let a = sig(1, "k", "a");
    assert_eq!(effect(allof, &[], &a).0, "appended_to_waitpoint");
    assert_eq!(effect(allof, std::slice::from_ref(&a), &sig(2, "k", "a")).0, "appended_to_waitpoint_duplicate");
    assert_eq!(effect(allof, std::slice::from_ref(&a), &sig(3, "k", "zzz")).0, "signal_ignored_matcher_failed");
    assert_eq!(effect(allof, std::slice::from_ref(&a), &sig(4, "k", "b")), ("resume_condition_satisfied".into(), vec![1, 4]));
    let dw = r#"{"Composite":{"kind":"Count","n":2,"count_kind":"DistinctWaitpoints","waitpoints":["a","b","c"]}}"#;
    let s1 = sig(1, "a", "x");
    assert_eq!(effect(dw, &[], &s1).0, "appended_to_waitpoint");
    assert_eq!(effect(dw, std::slice::from_ref(&s1), &sig(2, "a", "y")).0, "appended_to_waitpoint_duplicate");
    assert_eq!(effect(dw, std::slice::from_ref(&s1), &sig(3, "c", "y")).0, "resume_condition_satisfied");
    let ds = r#"{"Composite":{"kind":"Count","n":2,"count_kind":"DistinctSignals","waitpoints":["a"]}}"#;
    let again = sig(5, "a", "x").replace(r#""signal_id": "5""#, r#""signal_id": "1""#);
    assert_eq!(effect(ds, std::slice::from_ref(&s1), &again).0, "appended_to_waitpoint_duplicate");
    let src = r#"{"Composite":{"kind":"Count","n":2,"count_kind":"DistinctSources","waitpoints":["a"]}}"#;
    let same_source = sig(6, "a", "x").replace(r#""source_identity": "s6""#, r#""source_identity": "s1""#);
    assert_eq!(effect(src, std::slice::from_ref(&s1), &same_source).0, "appended_to_waitpoint_duplicate");
    assert_eq!(effect(src, std::slice::from_ref(&s1), &sig(7, "a", "x")).0, "resume_condition_satisfied");
    let m = r#"{"Composite":{"kind":"Count","n":1,"count_kind":"DistinctSignals","matcher":{"ByName":"ok"},"waitpoints":["a"]}}"#;
    assert_eq!(effect(m, &[], &sig(8, "a", "nope")).0, "signal_ignored_matcher_failed");
    let nested = r#"{"Composite":{"kind":"AllOf","members":[{"Composite":{"kind":"Count","n":2,"count_kind":"DistinctWaitpoints","waitpoints":["a","b","c"]}},{"Single":{"waitpoint_key":"d","matcher":"Wildcard"}}]}}"#;
    let prior = vec![sig(1, "a", "x"), sig(2, "d", "x")];
    assert_eq!(effect(nested, &prior, &sig(3, "b", "x")), ("resume_condition_satisfied".into(), vec![1, 2, 3]));
    let two = r#"{"Composite":{"kind":"AllOf","members":[{"Composite":{"kind":"Count","n":1,"count_kind":"DistinctSignals","matcher":{"ByName":"x"},"waitpoints":["a"]}},{"Composite":{"kind":"Count","n":1,"count_kind":"DistinctSignals","matcher":{"ByName":"y"},"waitpoints":["a"]}}]}}"#;
    let both_x = format!("[{},{}]", sig(1, "a", "x"), sig(2, "a", "x"));
    let sat: bool =
        c.query_one("SELECT satisfied FROM ff_cond_evaluate($1::text::jsonb, $2::text::jsonb)", &[&two, &both_x]).unwrap().get(0);
    assert!(!sat, "two Count nodes over one key each count their own matching signals");
    let keys = r#"{"Composite":{"kind":"AllOf","members":[{"Single":{"waitpoint_key":"approval","matcher":{"ByName":"approved"}}},{"Composite":{"kind":"Count","n":2,"count_kind":"DistinctSources","waitpoints":["r1","approval","r2"]}}]}}"#;
    let r = c
        .query_one("SELECT ff_cond_keys($1::text::jsonb), ff_cond_required_names($1::text::jsonb, 'approval'), ff_cond_required_names($1::text::jsonb, 'r1')", &[&keys])
        .unwrap();
    let (k, n1, n2): (Vec<String>, Vec<String>, Vec<String>) = (r.get(0), r.get(1), r.get(2));
    assert_eq!((k, n1, n2), (vec!["approval".into(), "r1".into(), "r2".into()], vec!["approved".into()], vec![]));
}

#[test]
fn waitpoints_and_suspend_match() {
    let Some((_db, mut c)) = setup("sqled_suspend") else { return };
    let id = |n: u32| format!("{{fp:7}}:6f1c1e9e-0000-4000-8000-{n:012}");
    let wp = |n: u32| format!("00000000-0000-4000-8000-0000000000{n:02}");
    let sus = |n: u32| format!("00000000-0000-4000-9000-0000000000{n:02}");
    let mut calls: Vec<String> = vec!["SELECT * FROM ff_seed_hmac('k1', repeat('11', 32))".into()];
    for n in 1..=6 {
        calls.push(format!("SELECT * FROM ff_create_execution('s', execution_id => '{}')", id(n)));
    }
    calls.push("SELECT execution_id FROM ff_claim('s', 'w', 'i', max_items => 6)".into());
    let two = r#"'{"Composite":{"kind":"Count","n":1,"count_kind":"DistinctWaitpoints","waitpoints":["a","b"]}}'"#;
    calls.extend([
        // A pending waitpoint, then a suspend whose derived bindings reuse it for key "a".
        format!("SELECT waitpoint_key, left(token, 3) FROM ff_create_waitpoint({}, 'a')", fence(1)),
        format!("SELECT outcome, suspension_id, waitpoint_key, left(token, 3) FROM ff_suspend({}, {two}, suspension_id => '{}')", fence(1), sus(1)),
        format!("SELECT waitpoint_key, state, required_signal_names, token_kid, activated_at_ms FROM ff_list_pending_waitpoints('{}', include_closed => true) ORDER BY waitpoint_key", id(1)),
        // Explicit bindings: tokens equal across editions.
        format!(
            "SELECT * FROM ff_suspend({}, ff_cond_all(ff_cond_single('x', 'go'), ff_cond_single('y')), \
             '[{{\"waitpoint_key\": \"x\", \"waitpoint_id\": \"{}\"}}, {{\"waitpoint_key\": \"y\", \"waitpoint_id\": \"{}\"}}]', \
             timeout_at_ms => 4102444800000, timeout_behavior => 'auto_resume', reason_code => 'waiting_for_approval', \
             requested_by => 'operator', suspension_id => '{}', idempotency_key => 'k', continuation => 'cont')",
            fence(2), wp(1), wp(2), sus(2)
        ),
        // The idempotent replay gives the stored rows with tokens recomputed.
        format!("SELECT * FROM ff_suspend('{}', gen_random_uuid(), 0, ff_cond_single('x'), idempotency_key => 'k')", id(2)),
        format!("SELECT * FROM ff_suspend('{}', gen_random_uuid(), 0, ff_cond_single('x'))", id(2)),
        format!("SELECT * FROM ff_read_waitpoint_token('{}', '{}')", id(2), wp(1)),
        format!("SELECT * FROM ff_read_waitpoint_token('{}', '{}')", id(2), wp(9)),
        format!("SELECT * FROM ff_list_pending_waitpoints('{}', include_closed => true)", id(2)),
        "SELECT execution_id, lane_id, suspension_id, timeout_at_ms, reason_code, timeout_behavior FROM ff_list_suspended()".to_string(),
        format!("SELECT * FROM ff_list_suspended('{}')", id(1)),
        // use_pending, and its refusals.
        format!("SELECT waitpoint_key FROM ff_create_waitpoint({}, 'p', 1)", fence(3)),
        "SELECT pg_sleep(0.01)".into(),
        format!("SELECT * FROM ff_suspend({}, ff_cond_single('p'), (SELECT jsonb_build_array(jsonb_build_object('use_pending', waitpoint_id)) FROM ff_waitpoint WHERE waitpoint_key = 'p'))", fence(3)),
        format!("SELECT * FROM ff_suspend({}, ff_cond_single('p'), '[{{\"use_pending\": \"{}\"}}]')", fence(3), wp(1)),
        format!("SELECT * FROM ff_suspend({}, ff_cond_single('p'), '[{{\"use_pending\": \"{}\"}}]')", fence(3), wp(7)),
        format!("SELECT * FROM ff_suspend({}, ff_cond_timeout_only(), timeout_at_ms => 4102444800000, suspension_id => '{}')", fence(4), sus(4)),
        format!("SELECT * FROM ff_suspend({}, ff_cond_operator_only(), suspension_id => '{}')", fence(3), sus(3)),
    ]);
    for (n, bad) in [
        (5, "NULL".to_string()),
        (5, "'\"Nope\"'".to_string()),
        (5, format!("{two}, '[]'")),
        (5, format!("{two}, '{{}}'")),
        (5, format!("{two}, '[1]'")),
        (5, format!("{two}, '[{{\"waitpoint_key\": \"a\", \"x\": 1}}]'")),
        (5, format!("{two}, '[{{\"waitpoint_key\": \"\"}}]'")),
        (5, format!("{two}, '[{{\"waitpoint_key\": \"a\", \"waitpoint_id\": \"nope\"}}]'")),
        (5, format!("{two}, '[{{\"use_pending\": \"{}\", \"waitpoint_key\": \"a\"}}]'", wp(1))),
        (5, format!("{two}, '[{{\"waitpoint_key\": \"a\"}}]'")),
        (5, format!("{two}, '[{{\"waitpoint_key\": \"a\"}}, {{\"waitpoint_key\": \"b\"}}, {{\"waitpoint_key\": \"c\"}}]'")),
        (5, format!("{two}, '[{{\"waitpoint_key\": \"a\"}}, {{\"waitpoint_key\": \"a\"}}, {{\"waitpoint_key\": \"b\"}}]'")),
        (5, "ff_cond_single('q'), '[{\"waitpoint_key\": \"r\"}]'".to_string()),
        (5, "ff_cond_timeout_only()".to_string()),
        (5, "ff_cond_single('q'), timeout_at_ms => 1".to_string()),
        (5, "ff_cond_single('q'), timeout_behavior => 'later'".to_string()),
        (5, "ff_cond_single('q'), timeout_behavior => NULL".to_string()),
        (5, "ff_cond_single('q'), reason_code => 'because'".to_string()),
        (5, "ff_cond_single('q'), requested_by => 'me'".to_string()),
        (5, "ff_cond_single('q'), idempotency_key => ''".to_string()),
        (5, "ff_cond_single('q'), continuation => repeat('c', 65537)".to_string()),
    ] {
        calls.push(format!("SELECT * FROM ff_suspend({}, {bad})", fence(n)));
    }
    calls.extend([
        format!("SELECT * FROM ff_suspend('{}', gen_random_uuid(), 1, ff_cond_single('q'))", id(5)),
        format!("SELECT * FROM ff_suspend('{}', NULL, 1, ff_cond_single('q'))", id(5)),
        "SELECT * FROM ff_suspend('{fp:7}:6f1c1e9e-0000-4000-8000-000000000099', gen_random_uuid(), 1, ff_cond_single('q'))".into(),
        format!("SELECT * FROM ff_create_waitpoint({}, '')", fence(5)),
        format!("SELECT * FROM ff_create_waitpoint({}, 'k', 0)", fence(5)),
        format!("SELECT * FROM ff_list_pending_waitpoints('{}', max_rows => 0)", id(5)),
        "SELECT * FROM ff_list_suspended('nope')".into(),
        "SELECT * FROM ff_read_waitpoint_token(NULL, NULL)".into(),
        "SELECT partition_key, execution_id, lifecycle_phase, ownership_state, attempt_state, public_state, lease_epoch, interrupt_reason \
         FROM ff_exec_core ORDER BY execution_id".into(),
        "SELECT suspension_id, state, resume_condition, reason_code, requested_by, timeout_behavior, continuation, close_reason, satisfier_seqs \
         FROM ff_suspension ORDER BY suspension_id".into(),
        "SELECT execution_id, lease_epoch, event_type FROM ff_lease_event ORDER BY event_id".into(),
        "SELECT idempotency_key, result_rows FROM ff_suspend_dedup ORDER BY 1".into(),
    ]);
    let refs: Vec<&str> = calls.iter().map(String::as_str).collect();
    same_on_both(&mut c, &refs);
}

#[test]
fn signals_match() {
    let Some((_db, mut c)) = setup("sqled_signals") else { return };
    let id = |n: u32| format!("{{fp:7}}:6f1c1e9e-0000-4000-8000-{n:012}");
    let wp = |n: u32| format!("00000000-0000-4000-8000-0000000000{n:02}");
    let sig = |n: u32| format!("00000000-0000-4000-a000-0000000000{n:02}");
    // deliver to waitpoint w of execution n with signal id s: the token read from the edition's own tables.
    let deliver = |n: u32, w: u32, s: u32, name: &str, extra: &str| {
        format!(
            "SELECT * FROM ff_deliver_signal('{}', '{}', (SELECT token FROM ff_read_waitpoint_token('{}', '{}')), '{name}', '{}', \
             source_type => 'test', source_identity => 'src{s}'{extra})",
            id(n),
            wp(w),
            id(n),
            wp(w),
            sig(s)
        )
    };
    let mut calls: Vec<String> = vec!["SELECT * FROM ff_seed_hmac('k1', repeat('11', 32))".into()];
    for n in 1..=5 {
        calls.push(format!("SELECT * FROM ff_create_execution('g', execution_id => '{}')", id(n)));
    }
    calls.push("SELECT execution_id FROM ff_claim('g', 'w', 'i', max_items => 5)".into());
    // 1: Count 2 of 3 distinct waitpoints; duplicates, a wrong name, idempotency.
    calls.push(format!(
        "SELECT outcome, waitpoint_key FROM ff_suspend({}, ff_cond_count(2, 'waitpoints', '{{a,b,c}}', 'go'), \
         '[{{\"waitpoint_key\": \"a\", \"waitpoint_id\": \"{}\"}}, {{\"waitpoint_key\": \"b\", \"waitpoint_id\": \"{}\"}}, {{\"waitpoint_key\": \"c\", \"waitpoint_id\": \"{}\"}}]')",
        fence(1), wp(1), wp(2), wp(3)
    ));
    calls.extend([
        deliver(1, 1, 1, "go", ", idempotency_key => 'i1'"),
        deliver(1, 1, 2, "go", ", idempotency_key => 'i1'"),
        deliver(1, 1, 3, "go", ""),
        deliver(1, 2, 4, "nope", ""),
        deliver(1, 2, 5, "go", ", payload => '\\\\x01', correlation_id => 'corr'"),
        deliver(1, 3, 6, "go", ""),
        format!("SELECT signal_id, waitpoint_key, signal_name, source_type, source_identity, correlation_id, payload FROM ff_observe_signals('{}')", id(1)),
        "SELECT execution_id, attempt_index, resumed FROM ff_claim('g', 'w', 'i')".into(),
    ]);
    // 2: a pending waitpoint buffers signals; the suspend that binds it is already satisfied.
    calls.extend([
        format!("SELECT waitpoint_key FROM ff_create_waitpoint({}, 'p')", fence(2)),
        format!(
            "SELECT * FROM ff_deliver_signal('{}', (SELECT waitpoint_id FROM ff_waitpoint WHERE waitpoint_key = 'p'), \
             (SELECT token FROM ff_read_waitpoint_token('{}', (SELECT waitpoint_id FROM ff_waitpoint WHERE waitpoint_key = 'p'))), 'early', '{}')",
            id(2), id(2), sig(10)
        ),
        format!("SELECT outcome, waitpoint_key FROM ff_suspend({}, ff_cond_single('p'), suspension_id => '00000000-0000-4000-9000-000000000002')", fence(2)),
        format!("SELECT effect FROM ff_signal WHERE signal_id = '{}'", sig(10)),
    ]);
    // 3: operator paths, resume with a delay, and refusals.
    calls.push(format!(
        "SELECT outcome FROM ff_suspend({}, ff_cond_single('o', 'approve'), '[{{\"waitpoint_key\": \"o\", \"waitpoint_id\": \"{}\"}}]')",
        fence(3),
        wp(30)
    ));
    calls.extend([
        format!("SELECT outcome, effect FROM ff_deliver_approval_signal('{}', 'other', '{}', 'approve', 's1')", id(3), wp(30)),
        format!("SELECT outcome, effect FROM ff_deliver_approval_signal('{}', 'g', '{}', 'approve', 's1')", id(3), wp(99)),
        format!("SELECT outcome, effect FROM ff_deliver_approval_signal('{}', 'g', '{}', 'approve', 's1')", id(3), wp(30)),
        format!("SELECT outcome, effect FROM ff_deliver_approval_signal('{}', 'g', '{}', 'approve', 's1')", id(3), wp(30)),
        format!("SELECT outcome FROM ff_suspend({}, ff_cond_operator_only())", fence(4)),
        format!("SELECT * FROM ff_resume_execution('{}', 60000)", id(4)),
        format!("SELECT * FROM ff_resume_execution('{}')", id(4)),
        format!("SELECT * FROM ff_resume_execution('{}', -1)", id(4)),
        "SELECT * FROM ff_resume_execution('{fp:7}:6f1c1e9e-0000-4000-8000-000000000099')".into(),
    ]);
    // 4: tokens and bad input on a live waitpoint of execution 5.
    calls.push(format!(
        "SELECT outcome FROM ff_suspend({}, ff_cond_single('t'), '[{{\"waitpoint_key\": \"t\", \"waitpoint_id\": \"{}\"}}]')",
        fence(5),
        wp(50)
    ));
    for bad in [
        format!("'{}', '{}', 'k1:{}', 'go'", id(5), wp(50), "0".repeat(64)),
        format!("'{}', '{}', 'nope', 'go'", id(5), wp(50)),
        format!("'{}', '{}', NULL, 'go'", id(5), wp(50)),
        format!("'{}', '{}', (SELECT token FROM ff_read_waitpoint_token('{}', '{}')), 'go'", id(5), wp(51), id(5), wp(50)),
        format!("'{}', '{}', 'k9:{}', 'go'", id(5), wp(50), "0".repeat(64)),
        format!("'{}', NULL, 'x', 'go'", id(5)),
        format!("'{}', '{}', 'x', NULL", id(5), wp(50)),
        format!("'{}', '{}', 'x', ''", id(5), wp(50)),
        format!("'{}', '{}', 'x', 'go', source_type => repeat('s', 257)", id(5), wp(50)),
        format!("'{}', '{}', 'x', 'go', correlation_id => repeat('c', 257)", id(5), wp(50)),
        format!("'{}', '{}', 'x', 'go', idempotency_key => ''", id(5), wp(50)),
        format!("'{}', '{}', 'x', 'go', dedup_ttl_ms => -1", id(5), wp(50)),
        format!("'{}', '{}', 'x', 'go', resume_delay_ms => NULL", id(5), wp(50)),
        format!("'{}', '{}', 'x', 'go', max_signals_per_execution => NULL", id(5), wp(50)),
        format!(
            "'{}', '{}', (SELECT token FROM ff_read_waitpoint_token('{}', '{}')), 'go', max_signals_per_execution => 0",
            id(5),
            wp(50),
            id(5),
            wp(50)
        ),
        format!("NULL, '{}', 'x', 'go'", wp(50)),
        "'{fp:7}:6f1c1e9e-0000-4000-8000-000000000099', gen_random_uuid(), 'x', 'go'".to_string(),
    ] {
        calls.push(format!("SELECT * FROM ff_deliver_signal({bad})"));
    }
    calls.extend([
        format!("SELECT * FROM ff_cancel('{}')", id(5)),
        format!("SELECT * FROM ff_deliver_signal('{}', '{}', (SELECT token FROM ff_read_waitpoint_token('{}', '{}')), 'go')", id(5), wp(50), id(5), wp(50)),
        "SELECT CASE WHEN signal_id::text LIKE '00000000-%' THEN signal_id::text END, waitpoint_key, suspension_id IS NULL, signal_name, signal_category, source_type, source_identity, effect \
         FROM ff_signal ORDER BY signal_seq".into(),
        "SELECT suspension_id IS NULL, state, close_reason, satisfier_seqs IS NULL, closer_signal_id IS NULL FROM ff_suspension ORDER BY suspended_at_ms, state".into(),
        "SELECT execution_id, CASE WHEN signal_id::text LIKE '00000000-%' THEN signal_id::text END, signal_name, effect FROM ff_signal_event ORDER BY event_id".into(),
        "SELECT execution_id, outcome FROM ff_completion_event ORDER BY event_id".into(),
        "SELECT execution_id, lifecycle_phase, ownership_state, eligibility_state, attempt_state, public_state, signal_count \
         FROM ff_exec_core ORDER BY execution_id".into(),
    ]);
    let refs: Vec<&str> = calls.iter().map(String::as_str).collect();
    same_on_both(&mut c, &refs);
}

#[test]
fn scanners_and_retention_match() {
    let Some((_db, mut c)) = setup("sqled_scanners") else { return };
    let id = |n: u32| format!("{{fp:7}}:6f1c1e9e-0000-4000-8000-{n:012}");
    let soon = "(extract(epoch from clock_timestamp()) * 1000)::bigint + 50";
    let mut calls: Vec<String> = vec!["SELECT * FROM ff_seed_hmac('k1', repeat('11', 32))".into(), "SELECT * FROM ff_tick()".into()];
    // 1 delayed; 2 deadline; 3 short lease; 4-8 suspensions timing out with each behaviour; 9 a pending waitpoint.
    calls.push(format!("SELECT created FROM ff_create_execution('sc', delay_until_ms => {soon}, execution_id => '{}')", id(1)));
    calls.push(format!("SELECT created FROM ff_create_execution('sc', deadline_at_ms => {soon}, execution_id => '{}')", id(2)));
    for n in 3..=9 {
        calls.push(format!("SELECT created FROM ff_create_execution('sc', execution_id => '{}')", id(n)));
    }
    calls.push("SELECT execution_id FROM ff_claim('sc', 'w', 'i', max_items => 8)".into());
    calls.push(format!("SELECT lease_epoch FROM ff_renew_lease({}, 1)", fence(3)));
    for (n, behavior) in [(4, "fail"), (5, "cancel"), (6, "expire"), (7, "escalate"), (8, "auto_resume")] {
        calls.push(format!(
            "SELECT outcome FROM ff_suspend({}, ff_cond_single('k{n}'), timeout_at_ms => {soon}, timeout_behavior => '{behavior}')",
            fence(n)
        ));
    }
    calls.push(format!("SELECT waitpoint_key FROM ff_create_waitpoint({}, 'pw', 1)", fence(9)));
    calls.extend(
        [
            "SELECT pg_sleep(0.12)",
            "SELECT * FROM ff_tick()",
            "SELECT * FROM ff_tick()",
            "SELECT * FROM ff_promote_delayed()",
            "SELECT * FROM ff_expire_suspensions(0)",
            "SELECT * FROM ff_tick(NULL)",
            "SELECT * FROM ff_gc_keys(1000001)",
            "SELECT execution_id, lifecycle_phase, ownership_state, eligibility_state, attempt_state, public_state, last_error, \
             interrupt_reason, lease_epoch, reclaim_count FROM ff_exec_core ORDER BY execution_id",
            "SELECT execution_id, state, reason_code, close_reason, timeout_at_ms IS NULL FROM ff_suspension ORDER BY execution_id",
            "SELECT waitpoint_key, state, close_reason FROM ff_waitpoint ORDER BY waitpoint_key",
            "SELECT signal_name, source_type, effect, waitpoint_key FROM ff_signal ORDER BY signal_seq",
            "SELECT execution_id, event_type FROM ff_lease_event ORDER BY event_id",
            "SELECT execution_id, outcome FROM ff_completion_event ORDER BY event_id",
            "SELECT count(*) FROM ff_deadline",
            "SELECT * FROM ff_prune_executions((extract(epoch from clock_timestamp()) * 1000)::bigint + 1000, '{failed,cancelled}')",
            "SELECT * FROM ff_prune_executions(1, '{waiting}')",
            "SELECT * FROM ff_prune_executions(1, ARRAY[NULL])",
            "SELECT * FROM ff_prune_executions(NULL)",
            "SELECT * FROM ff_prune_executions(1, '{}')",
            "SELECT * FROM ff_prune_executions(1, max_rows => 0)",
            "SELECT * FROM ff_prune_by_retention()",
            "SELECT * FROM ff_prune_events((extract(epoch from clock_timestamp()) * 1000)::bigint + 1000)",
            "SELECT * FROM ff_prune_events(NULL)",
            "SELECT execution_id, public_state FROM ff_exec_core ORDER BY execution_id",
            "SELECT count(*) FROM ff_attempt",
        ]
        .map(String::from),
    );
    let refs: Vec<&str> = calls.iter().map(String::as_str).collect();
    same_on_both(&mut c, &refs);
}

/// Every `ff_*` table of `schema`, each row as text, sorted, with what is generated or timed masked:
/// uuids (and uuids inside text and JSON) as `U`, times (`*_ms`, timestamps) as set or null, bytes by
/// length (digests and secrets differ where ids do).
fn table_contents(c: &mut Client, schema: &str) -> std::collections::BTreeMap<String, Vec<String>> {
    let tables: Vec<String> = column(
        c,
        "SELECT relname::text FROM pg_class WHERE relnamespace = $1::text::regnamespace AND relkind = 'r' AND relname LIKE 'ff\\_%' ORDER BY 1",
        &[&schema],
    );
    let mut out = std::collections::BTreeMap::new();
    for t in tables {
        let columns: Vec<(String, String)> = c
            .query(
                "SELECT quote_ident(attname), format_type(atttypid, NULL) FROM pg_attribute
                 WHERE attrelid = format('%I.%I', $1::text, $2::text)::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                &[&schema, &t],
            )
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let exprs: Vec<String> = columns
            .iter()
            .map(|(name, ty)| match ty.as_str() {
                "uuid" => format!("CASE WHEN {name} IS NULL THEN 'null' ELSE 'U' END"),
                "bytea" => format!("coalesce('bytes:' || length({name}), 'null')"),
                // A sequence of the edition's own schema, named as the other schema would name it.
                "regclass" => format!("coalesce((SELECT c.relname::text FROM pg_class c WHERE c.oid = {name}), 'null')"),
                t if t.starts_with("timestamp") || name.ends_with("_ms") => format!("CASE WHEN {name} IS NULL THEN 'null' ELSE 'set' END"),
                _ => format!(
                    "coalesce(regexp_replace({name}::text, '[0-9a-f]{{8}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{12}}', 'U', 'g'), 'null')"
                ),
            })
            .collect();
        let sql = format!("SELECT concat_ws(' | ', {}) AS r FROM {schema}.{t} ORDER BY 1", exprs.join(", "));
        let rows: Vec<String> = column(c, &sql, &[]);
        out.insert(t, rows);
    }
    out
}

/// The same sequence of calls — keys, creation, claims, a composite suspension, signals, resume,
/// completion, a retry, cancellation, operator actions, a budget, the scanners — leaves the same rows in
/// every table of both editions.
#[test]
fn a_whole_workflow_leaves_the_same_rows_in_every_table() {
    let Some((_db, mut c)) = setup("sqled_rows") else { return };
    let id = |n: u32| format!("{{fp:7}}:6f1c1e9e-0000-4000-8000-{n:012}");
    let wp = |n: u32| format!("00000000-0000-4000-8000-0000000000{n:02}");
    let sus = |n: u32| format!("00000000-0000-4000-9000-0000000000{n:02}");
    let sig = |n: u32| format!("00000000-0000-4000-a000-0000000000{n:02}");
    let token = |n: u32, w: u32| format!("(SELECT token FROM ff_read_waitpoint_token('{}', '{}'))", id(n), wp(w));
    let mut calls: Vec<String> = vec![
        "SELECT * FROM ff_seed_hmac('k1', repeat('11', 32))".into(),
        "SELECT * FROM ff_create_budget('b1', '{\"tokens\": 100}')".into(),
    ];
    for n in 1..=6 {
        calls.push(format!(
            "SELECT * FROM ff_create_execution('flow', payload => '\\x{n:02}', priority => {}, max_attempts => 2, retry_backoff_ms => 0, \
             budget_ids => '{{b1}}', idempotency_key => 'k{n}', execution_id => '{}')",
            n % 3,
            id(n)
        ));
    }
    calls.extend([
        format!("SELECT * FROM ff_create_execution('flow', idempotency_key => 'k1', execution_id => '{}')", id(9)),
        "SELECT execution_id, attempt_index, lease_epoch FROM ff_claim('flow', 'w', 'i', max_items => 6)".into(),
        // 1: suspends on all of two waitpoints; two signals resume it; reclaimed and completed.
        format!(
            "SELECT outcome, waitpoint_key, token FROM ff_suspend({}, ff_cond_all(ff_cond_single('approve', 'yes'), ff_cond_single('pay')), \
             '[{{\"waitpoint_key\": \"approve\", \"waitpoint_id\": \"{}\"}}, {{\"waitpoint_key\": \"pay\", \"waitpoint_id\": \"{}\"}}]', \
             suspension_id => '{}')",
            fence(1),
            wp(1),
            wp(2),
            sus(1)
        ),
        format!("SELECT outcome, effect FROM ff_deliver_signal('{}', '{}', {}, 'no', signal_id => '{}')", id(1), wp(1), token(1, 1), sig(1)),
        format!("SELECT outcome, effect FROM ff_deliver_signal('{}', '{}', {}, 'yes', signal_id => '{}', idempotency_key => 'd1')", id(1), wp(1), token(1, 1), sig(2)),
        format!("SELECT outcome, effect FROM ff_deliver_signal('{}', '{}', {}, 'yes', signal_id => '{}', idempotency_key => 'd1')", id(1), wp(1), token(1, 1), sig(3)),
        format!("SELECT outcome, effect FROM ff_deliver_signal('{}', '{}', {}, 'paid', payload => '\\xff', signal_id => '{}')", id(1), wp(2), token(1, 2), sig(4)),
        // 2: completes; 3: fails and is retried at once, then fails for good; 4: cancelled; 5: usage.
        format!("SELECT * FROM ff_complete({}, '\\xc0ffee')", fence(2)),
        format!("SELECT * FROM ff_fail({}, 'boom')", fence(3)),
        format!("SELECT * FROM ff_cancel('{}', 'not needed')", id(4)),
        format!("SELECT * FROM ff_report_usage({}, '{{\"tokens\": 40}}')", fence(5)),
        "SELECT execution_id, attempt_index, resumed FROM ff_claim('flow', 'w', 'i', max_items => 6)".into(),
        format!("SELECT * FROM ff_fail({}, 'boom again')", fence(3)),
        format!("SELECT * FROM ff_complete({}, '\\x01')", fence(1)),
        // Operator actions: priority, a revoked lease reclaimed, a replay.
        format!("SELECT * FROM ff_change_priority('{}', 9)", id(6)),
        format!("SELECT * FROM ff_revoke_lease('{}', 'stuck')", id(5)),
        format!("SELECT * FROM ff_replay_execution('{}', 'try again')", id(3)),
        "SELECT execution_id, attempt_index, resumed FROM ff_claim('flow', 'w2', 'i', max_items => 6)".into(),
        format!("SELECT * FROM ff_complete({}, NULL)", fence(5)),
        "SELECT task, processed FROM ff_tick() ORDER BY task".into(),
        "SELECT * FROM ff_budget_status('b1')".into(),
    ]);
    let refs: Vec<&str> = calls.iter().map(String::as_str).collect();
    same_on_both(&mut c, &refs);
    let rust = table_contents(&mut c, "public");
    let sql = table_contents(&mut c, "ff_sql");
    assert_eq!(rust.keys().collect::<Vec<_>>(), sql.keys().collect::<Vec<_>>(), "the same tables");
    let mut rows = 0;
    for (table, rust_rows) in &rust {
        assert_eq!(&sql[table], rust_rows, "{table}");
        rows += rust_rows.len();
    }
    assert!(rows > 50, "the sequence wrote {rows} rows");
}

#[test]
fn steps_frames_and_continuations_match() {
    let Some((_db, mut c)) = setup("sqled_progress") else { return };
    let id = |n: u32| format!("{{fp:7}}:6f1c1e9e-0000-4000-8000-{n:012}");
    let uuid = |n: u32| id(n)[7..].to_string();
    let (f1, f2) = (fence(1), fence(2));
    let wp = format!("(SELECT waitpoint_id FROM ff_waitpoint WHERE execution_id = '{}' AND state = 'active')", uuid(1));
    let deliver = format!(
        "SELECT outcome FROM ff_deliver_signal('{}', {wp}, (SELECT token FROM ff_read_waitpoint_token('{}', {wp})), 'go')",
        id(1),
        id(1)
    );
    let mut calls: Vec<String> = vec![
        "SELECT * FROM ff_seed_hmac('k1', repeat('11', 32))".into(),
        format!("SELECT * FROM ff_create_execution('p', execution_id => '{}', max_attempts => 3, retry_backoff_ms => 0)", id(1)),
        format!("SELECT * FROM ff_create_execution('q', execution_id => '{}')", id(2)),
        "SELECT execution_id, attempt_index, resumed, continuation, step_count FROM ff_claim('p', 'w', 'i')".into(),
        format!("SELECT * FROM ff_set_step({f1}, 'fetch', '\\x01')"),
        format!("SELECT * FROM ff_set_step({f1}, 'fetch', '\\x02')"),
        format!("SELECT * FROM ff_set_step({f1}, 'none', NULL)"),
        format!("SELECT * FROM ff_append_frame({f1}, 'stdout', 'a')"),
        format!("SELECT * FROM ff_append_frame({f1}, 'event', 'b', 7)"),
        format!("SELECT * FROM ff_append_frame({f1}, 'blob', '\\x00ff')"),
        format!("SELECT * FROM ff_get_steps('{}')", id(1)),
        format!("SELECT * FROM ff_read_frames('{}')", id(1)),
        format!("SELECT * FROM ff_read_frames('{}', 1, 1)", id(1)),
        format!("SELECT outcome FROM ff_suspend({f1}, ff_cond_single('k'), continuation => 'cont é 1')"),
        deliver.clone(),
        "SELECT execution_id, attempt_index, resumed, continuation, step_count FROM ff_claim('p', 'w', 'i')".into(),
        format!("SELECT continuation, step_count FROM ff_get_execution('{}')", id(1)),
        format!("SELECT outcome FROM ff_suspend({f1}, ff_cond_single('k2'))"),
        deliver,
        "SELECT execution_id, resumed, continuation, step_count FROM ff_claim('p', 'w', 'i')".into(),
        format!("SELECT * FROM ff_fail({f1}, 'boom')"),
        "SELECT execution_id, attempt_index, resumed, continuation, step_count FROM ff_claim('p', 'w', 'i')".into(),
        format!("SELECT * FROM ff_set_step({f1}, 'fetch', '\\x03')"),
        format!("SELECT * FROM ff_set_step({f1}, 'ship', '\\x04')"),
        format!("SELECT * FROM ff_get_steps('{}')", id(1)),
        format!("SELECT * FROM ff_fail({f1}, 'boom', false)"),
        format!("SELECT * FROM ff_replay_execution('{}', keep_steps => false)", id(1)),
        format!("SELECT * FROM ff_get_steps('{}')", id(1)),
        "SELECT execution_id, attempt_index, continuation, step_count FROM ff_claim('q', 'w', 'i')".into(),
        format!("SELECT * FROM ff_revoke_lease('{}')", id(2)),
    ];
    for bad in [
        format!("ff_set_step({f2}, 'x', 'v')"),
        format!("ff_append_frame({f2}, 'stdout', 'v')"),
        "ff_set_step(NULL, NULL, NULL, NULL, NULL)".into(),
        "ff_set_step('nope', NULL, 1, 's', 'v')".into(),
        format!("ff_set_step('{}', NULL, 1, 's', 'v')", id(9)),
        format!("ff_set_step({f1}, NULL, 'v')"),
        format!("ff_set_step({f1}, '', 'v')"),
        format!("ff_set_step({f1}, repeat('n', 257), 'v')"),
        format!("ff_set_step({f1}, 's', decode(repeat('00', 1048577), 'hex'))"),
        format!("ff_append_frame({f1}, NULL, 'v')"),
        format!("ff_append_frame({f1}, 'log', 'v')"),
        format!("ff_append_frame({f1}, 'stdout', NULL)"),
        format!("ff_append_frame({f1}, 'stdout', 'v', 1)"),
        format!("ff_append_frame({f1}, 'stdout', 'v', 0)"),
        format!("ff_append_frame({f1}, 'stdout', 'v', -5)"),
        format!("ff_append_frame({f1}, 'stdout', decode(repeat('00', 1048577), 'hex'))"),
        format!(
            "ff_append_frame('{}', (SELECT lease_id FROM ff_exec_core WHERE execution_id = '{}'), NULL, 'stdout', 'v')",
            id(1),
            uuid(1)
        ),
        "ff_get_steps(NULL)".into(),
        format!("ff_get_steps('{}')", id(9)),
        format!("ff_read_frames('{}')", id(9)),
        format!("ff_read_frames('{}', NULL)", id(1)),
        format!("ff_read_frames('{}', 0, 0)", id(1)),
        format!("ff_read_frames('{}', 0, NULL)", id(1)),
    ] {
        calls.push(format!("SELECT * FROM {bad}"));
    }
    calls.extend([
        "SELECT step_name, value, attempt_index FROM ff_step ORDER BY step_seq".into(),
        "SELECT seq, frame_kind, bytes, attempt_index FROM ff_frame ORDER BY seq".into(),
        "SELECT last_seq, frame_count, total_bytes FROM ff_stream".into(),
    ]);
    let refs: Vec<&str> = calls.iter().map(String::as_str).collect();
    same_on_both(&mut c, &refs);
}

/// The SQL edition's condition evaluation against the core's, on random conditions and signal
/// sequences (the core's own generators): for every signal of every sequence, the effect, whether the
/// condition is satisfied, and the satisfiers. 2 000 cases a run.
#[test]
fn condition_effects_match_the_core_on_random_conditions() {
    use ff_engine_core::condition::{arbitrary, effect_of, Condition, Signal};
    use proptest::test_runner::{Config, TestRunner};
    let Some((_db, mut c)) = setup("sqled_condprop") else { return };
    c.batch_execute("SET search_path = ff_sql").unwrap();
    let stmt = c
        .prepare("SELECT effect, satisfiers FROM ff_cond_effect(ff_cond_check($1::text::jsonb), $2::text::jsonb, $3::text::jsonb)")
        .unwrap();
    let json = |s: &Signal| {
        serde_json::json!({
            "seq": s.seq, "signal_id": hex::encode(s.signal_id), "waitpoint_key": s.waitpoint_key, "name": s.name,
            "source_type": s.source_type, "source_identity": s.source_identity, "correlation_id": s.correlation_id,
        })
    };
    let c = std::cell::RefCell::new(c);
    let mut runner = TestRunner::new(Config { cases: 2000, failure_persistence: None, ..Config::default() });
    let cases = (arbitrary::arb_condition(), arbitrary::arb_signals());
    runner
        .run(&cases, |(cond, signals): (Condition, Vec<Signal>)| {
            let text = cond.to_json().to_string();
            let mut counted: Vec<Signal> = Vec::new();
            for s in &signals {
                let (effect, after) = effect_of(&cond, &counted, s);
                let prior = serde_json::Value::Array(counted.iter().map(json).collect()).to_string();
                let r = c.borrow_mut().query_one(&stmt, &[&text, &prior, &json(s).to_string()]).unwrap();
                let (sql_effect, sql_satisfiers): (String, Vec<i64>) = (r.get(0), r.get(1));
                proptest::prop_assert_eq!(&sql_effect, effect.as_str(), "{} after {} signals", text, counted.len());
                if after.satisfied {
                    proptest::prop_assert_eq!(&sql_satisfiers, &after.satisfiers, "{}", text);
                }
                if effect.counts() {
                    counted.push(s.clone());
                }
                if after.satisfied {
                    break;
                }
            }
            Ok(())
        })
        .unwrap();
}
