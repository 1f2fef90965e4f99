//! Hostile input, generated: every `ff_*` function found in `pg_proc` (so a new function is fuzzed
//! without anyone adding it here), every argument position over a corpus of hostile values of its
//! type while the other arguments are plausible (a real execution, a real lease, a real waitpoint),
//! as a superuser and as each API role, each call in a subtransaction; then seeded random
//! combinations. Fails on any `XX000`, any SQLSTATE outside the documented set (docs/errors.md), any
//! lost connection (a crashed backend), and any row count changed by a call that raised.

use ff_engine_tests::*;
use postgres::Client;

/// A deterministic pseudo-random sequence (64-bit LCG), so a failing run repeats with its seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() as usize) % items.len()]
    }
}

/// One function: name and (argument name, SQL type) per position.
struct Function {
    name: String,
    args: Vec<(String, String)>,
}

fn functions(c: &mut Client) -> Vec<Function> {
    c.query(
        &format!(
            "SELECT p.proname::text,
                coalesce(p.proargnames[1:p.pronargs], '{{}}')::text[],
                ARRAY(SELECT format_type(t, NULL) FROM unnest(p.proargtypes) t)
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE p.proname LIKE 'ff\\_%' AND n.nspname = current_schema() AND NOT {IS_INTERNAL} ORDER BY 1"
        ),
        &[],
    )
    .unwrap()
    .iter()
    .map(|r| {
        let names: Vec<String> = r.get(1);
        let types: Vec<String> = r.get(2);
        Function { name: r.get(0), args: names.into_iter().zip(types).collect() }
    })
    .collect()
}

/// Hostile SQL expressions of a type.
fn hostile(sql_type: &str) -> Vec<String> {
    let deep = format!("'{}1{}'", "[".repeat(300), "]".repeat(300));
    if sql_type == "jsonb[]" {
        // The condition builders' members: NULL elements, numbers serde_json refuses, too many
        // members, members nested too deep.
        let arrays = [
            "NULL::jsonb[]".to_string(),
            "'{}'::jsonb[]".to_string(),
            "ARRAY[NULL]::jsonb[]".to_string(),
            "ARRAY['{\"a\": 1e400}']::jsonb[]".to_string(),
            "array_fill('\"OperatorOnly\"'::jsonb, ARRAY[3000])".to_string(),
            format!("ARRAY[{deep}::jsonb]"),
        ];
        // The only jsonb[] parameters are VARIADIC: an array is passed with the keyword.
        return arrays.iter().map(|a| format!("VARIADIC {a}")).collect();
    }
    let v: Vec<&str> = match sql_type {
        "text" => vec![
            "NULL",
            "''",
            "repeat('x', 1048576)",
            "'{fp:999}:zz'",
            "'{fp:1}:00000000-0000-4000-8000-00000000000G'",
            "'k1:' || repeat('0', 64)",
            "'pg:{fp:1}:00000000-0000-4000-8000-000000000000:1:k1:00'",
            "''';DROP TABLE ff_exec_core;--'",
            "'ünïcødé ☃'",
            "repeat('é', 300)",
        ],
        "bigint" => vec!["NULL", "-1", "0", "9223372036854775807", "(-9223372036854775807 - 1)", "4611686018427387904"],
        "integer" => vec!["NULL", "-1", "0", "2147483647", "(-2147483647 - 1)"],
        "smallint" => vec!["NULL", "-1", "0", "255", "256", "32767", "(-32767 - 1)"],
        "boolean" => vec!["NULL", "true", "false"],
        "interval" => vec!["NULL", "'0'", "'-1 second'", "'1 microsecond'", "'5 seconds'", "'7 minutes'", "'100 years'"],
        "uuid" => vec!["NULL", "'00000000-0000-0000-0000-000000000000'", "gen_random_uuid()"],
        "bytea" => vec!["NULL", "''::bytea", "convert_to(repeat('x', 1048576), 'UTF8')", "'\\x00ff'::bytea"],
        "jsonb" => vec![
            "NULL",
            "'{}'",
            "'[]'",
            "'null'",
            "'\"x\"'",
            "'{\"a\": 1e400}'",
            "'[1e400]'",
            "to_jsonb(repeat('x', 1048576))",
            "'{\"Composite\":{\"kind\":\"AllOf\",\"members\":[{\"Composite\":{\"kind\":\"AllOf\",\"members\":[{\"Composite\":{\"kind\":\"AllOf\",\"members\":[{\"Composite\":{\"kind\":\"AllOf\",\"members\":[{\"Composite\":{\"kind\":\"AllOf\",\"members\":[\"OperatorOnly\"]}}]}}]}}]}}]}}'",
            "'{\"Single\":{\"waitpoint_key\":\"\",\"matcher\":{\"ByName\":\"\"}}}'",
            "'[{\"execution_id\": 1, \"lease_id\": [], \"lease_epoch\": \"x\"}]'",
        ],
        "text[]" => vec!["NULL", "'{}'::text[]", "ARRAY[NULL]::text[]", "ARRAY['a', NULL]", "ARRAY['']", "array_fill('c'::text, ARRAY[300])"],
        other => panic!("no hostile corpus for type {other}: add one"),
    };
    let mut out: Vec<String> = v.into_iter().map(|s| format!("{s}::{sql_type}")).collect();
    if sql_type == "jsonb" {
        out.push(format!("{deep}::jsonb"));
    }
    out
}

/// The live population the plausible arguments name.
struct Population {
    leased: String,
    lease_id: String,
    lease_epoch: i64,
    suspended: String,
    waitpoint_id: String,
    token: String,
}

fn populate(c: &mut Client) -> Population {
    c.batch_execute("SELECT * FROM ff_seed_hmac('k1'); SELECT * FROM ff_create_budget('b1', '{\"t\": 100}');").unwrap();
    for _ in 0..3 {
        create_in(c, "fz", "");
    }
    let l = claim_one(c, "fz", "w").unwrap();
    let s = claim_one(c, "fz", "w").unwrap();
    let r = c
        .query_one(
            "SELECT waitpoint_id::text, token FROM ff_suspend($1, $2, $3, '{\"Single\":{\"waitpoint_key\":\"k\",\"matcher\":\"Wildcard\"}}')",
            &[&s.execution_id, &s.lease_id, &s.lease_epoch],
        )
        .unwrap();
    Population {
        leased: l.execution_id,
        lease_id: l.lease_id.to_string(),
        lease_epoch: l.lease_epoch,
        suspended: s.execution_id,
        waitpoint_id: r.get(0),
        token: r.get(1),
    }
}

/// Functions whose execution is the suspended one (they act on waitpoints and signals).
const ON_SUSPENDED: &[&str] = &[
    "ff_deliver_signal",
    "ff_deliver_signal_in",
    "ff_deliver_approval_signal",
    "ff_read_waitpoint_token",
    "ff_list_pending_waitpoints",
    "ff_observe_signals",
    "ff_resume_execution",
];

/// A plausible value for an argument of `function`, by name and type.
fn plausible(p: &Population, function: &str, name: &str, sql_type: &str) -> String {
    let q = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let v = match (name, sql_type) {
        ("execution_id", _) if ON_SUSPENDED.contains(&function) => q(&p.suspended),
        ("execution_id", _) => q(&p.leased),
        ("after_execution_id", _) => "NULL".into(),
        // The partition-first forms: a new execution's partition in lane fz, or the execution's.
        ("partition_key", _) if function == "ff_create_execution_in" || function == "ff_claim_in" => "ff_partition_for('fz', NULL)".into(),
        ("partition_key", _) if ON_SUSPENDED.contains(&function) => format!("(ff_parse_execution_id({})).partition_key", q(&p.suspended)),
        ("partition_key", _) => format!("(ff_parse_execution_id({})).partition_key", q(&p.leased)),
        ("lease_id", _) => q(&p.lease_id),
        ("lease_epoch", _) => p.lease_epoch.to_string(),
        ("waitpoint_id", _) => q(&p.waitpoint_id),
        ("token", _) => q(&p.token),
        ("lane_id", _) => q("fz"),
        ("budget_id", _) => q("b1"),
        ("kid" | "new_kid", _) => q("k1"),
        ("secret_hex" | "new_secret_hex", _) => "NULL".into(),
        ("resume_condition", _) => q("{\"Single\":{\"waitpoint_key\":\"k\",\"matcher\":\"Wildcard\"}}"),
        ("timeout_behavior", _) => q("fail"),
        ("reason_code", _) => q("waiting_for_signal"),
        ("requested_by", _) => q("worker"),
        ("leases", _) => format!(
            "jsonb_build_array(jsonb_build_object('execution_id', {}, 'lease_id', {}, 'lease_epoch', {}))",
            q(&p.leased),
            q(&p.lease_id),
            p.lease_epoch
        ),
        ("hard_limits" | "soft_limits" | "usage" | "tags", _) => q("{\"t\": 1}"),
        (_, "text") => q("x"),
        (_, "bigint") => "1000".into(),
        (_, "integer") => "10".into(),
        (_, "boolean") => "true".into(),
        (_, "uuid") => "NULL".into(),
        (_, "bytea") => "NULL".into(),
        (_, "jsonb") => "NULL".into(),
        (_, "text[]") => "'{}'".into(),
        // The condition builders' VARIADIC members: one valid condition.
        (_, "jsonb[]") => return "VARIADIC ARRAY['\"OperatorOnly\"'::jsonb]".into(),
        _ => "NULL".into(),
    };
    format!("{v}::{sql_type}")
}

/// Row counts of every ff_ table.
fn snapshot(c: &mut Client) -> Vec<(String, i64)> {
    let tables: Vec<String> = column(
        c,
        "SELECT relname::text FROM pg_class WHERE relkind = 'r' AND relname LIKE 'ff\\_%' AND relnamespace = current_schema()::regnamespace ORDER BY 1",
        &[],
    );
    tables.into_iter().map(|t| (t.clone(), count(c, &format!("SELECT count(*) FROM {t}")))).collect()
}

struct Outcome {
    calls: usize,
    bad: Vec<String>,
}

/// Run one call in a subtransaction as `role`, then roll it back (the population stays as it was).
fn call(c: &mut Client, role: &str, sql: &str, before: &[(String, i64)], out: &mut Outcome) {
    out.calls += 1;
    c.batch_execute(&format!("SAVEPOINT fz; SET LOCAL ROLE {role}")).unwrap();
    let result = c.query(sql, &[]);
    if let Err(e) = &result {
        let Some(db) = e.as_db_error() else {
            panic!("connection lost (crashed backend?) on {}: {e}", &sql[..sql.len().min(300)]);
        };
        let code = db.code().code();
        if !DOCUMENTED_SQLSTATES.contains(&code) {
            out.bad.push(format!("{code} {} ← {}", db.message(), &sql[..sql.len().min(300)]));
        }
    }
    c.batch_execute("ROLLBACK TO SAVEPOINT fz; RESET ROLE").unwrap();
    if result.is_err() && out.calls.is_multiple_of(97) {
        // A raised call must leave nothing: spot-check the row counts (a full check on every call
        // would dominate the run).
        assert_eq!(snapshot(c), before, "rows left behind by {sql}");
    }
}

#[test]
fn every_function_every_argument_hostile_values_every_role() {
    let db = Cluster::shared().fresh_db("fuzz");
    let mut c = db.connect();
    c.batch_execute(
        "DO $$ BEGIN
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fz_plain') THEN CREATE ROLE fz_plain; END IF;
         END $$;
         GRANT USAGE ON SCHEMA public TO fz_plain;",
    )
    .unwrap();
    let p = populate(&mut c);
    let fns = functions(&mut c);
    assert!(fns.len() >= 30, "only {} functions found", fns.len());
    c.batch_execute("BEGIN").unwrap();
    let before = snapshot(&mut c);
    let roles = ["postgres", "ff_admin", "ff_worker", "ff_signaler", "fz_plain"];
    let mut out = Outcome { calls: 0, bad: Vec::new() };
    for f in &fns {
        let base: Vec<String> = f.args.iter().map(|(n, t)| plausible(&p, &f.name, n, t)).collect();
        for role in roles {
            call(&mut c, role, &format!("SELECT * FROM {}({})", f.name, base.join(", ")), &before, &mut out);
            for (i, (_, t)) in f.args.iter().enumerate() {
                for value in hostile(t) {
                    let mut args = base.clone();
                    args[i] = value;
                    call(&mut c, role, &format!("SELECT * FROM {}({})", f.name, args.join(", ")), &before, &mut out);
                }
            }
        }
    }
    // Seeded random combinations: several hostile arguments at once.
    let mut rng = Rng(0x5eed_f00d);
    for _ in 0..1500 {
        let f = rng.pick(&fns);
        let role = *rng.pick(&roles);
        let args: Vec<String> = f
            .args
            .iter()
            .map(|(n, t)| if rng.next().is_multiple_of(2) { plausible(&p, &f.name, n, t) } else { rng.pick(&hostile(t)).clone() })
            .collect();
        call(&mut c, role, &format!("SELECT * FROM {}({})", f.name, args.join(", ")), &before, &mut out);
    }
    c.batch_execute("COMMIT").unwrap();
    assert_eq!(snapshot(&mut c), before, "the fuzz run changed the population");
    println!("fuzz: {} calls over {} functions, {} roles", out.calls, fns.len(), roles.len());
    assert!(out.calls >= 5_000, "only {} calls", out.calls);
    assert!(out.bad.is_empty(), "{} calls gave an undocumented SQLSTATE:\n{}", out.bad.len(), out.bad.join("\n"));
}

/// What the random sequence knows of the population: every lease and waitpoint token it was handed
/// (stale ones included, so later calls present old fences and tokens on purpose).
#[derive(Default)]
struct Known {
    executions: Vec<String>,
    leases: Vec<(String, uuid::Uuid, i64)>,
    waitpoints: Vec<(String, uuid::Uuid, String)>,
}

/// The invariants that must hold after every step, whatever the step was.
fn check_invariants(
    c: &mut Client,
    epochs: &mut std::collections::HashMap<String, i64>,
    terminal: &mut std::collections::HashSet<String>,
    step: usize,
) {
    let lease_shape = count(
        c,
        "SELECT count(*) FROM ff_exec_core WHERE (ownership_state = 'leased') <> (lifecycle_phase = 'active')
            OR (ownership_state = 'leased' AND (lease_id IS NULL OR lease_expires_at_ms IS NULL))",
    );
    assert_eq!(lease_shape, 0, "step {step}: an execution is leased without being active, or without a lease");
    let suspensions = count(
        c,
        "SELECT count(*) FROM ff_exec_core e WHERE (e.lifecycle_phase = 'suspended') <>
            ((SELECT count(*) FROM ff_suspension s WHERE s.partition_key = e.partition_key
                AND s.execution_id = e.execution_id AND s.state = 'open') = 1)",
    );
    assert_eq!(suspensions, 0, "step {step}: a suspended execution without exactly one open suspension, or the reverse");
    let open_of_closed = count(
        c,
        "SELECT count(*) FROM ff_waitpoint w JOIN ff_suspension s USING (partition_key, execution_id, suspension_id)
         WHERE s.state = 'closed' AND w.state <> 'closed'",
    );
    assert_eq!(open_of_closed, 0, "step {step}: an open waitpoint of a closed suspension");
    for r in c.query("SELECT execution_id, lease_epoch, lifecycle_phase = 'terminal' FROM ff_executions", &[]).unwrap() {
        let (id, epoch, is_terminal): (String, i64, bool) = (r.get(0), r.get(1), r.get(2));
        let before = epochs.insert(id.clone(), epoch).unwrap_or(0);
        assert!(epoch >= before, "step {step}: {id}'s lease epoch went back from {before} to {epoch}");
        assert!(is_terminal || !terminal.contains(&id), "step {step}: terminal execution {id} came back");
        if is_terminal {
            terminal.insert(id);
        }
    }
}

fn documented_or_ok<T>(result: Result<T, postgres::Error>, what: &str) -> Option<T> {
    match result {
        Ok(v) => Some(v),
        Err(e) => {
            let db = e.as_db_error().unwrap_or_else(|| panic!("connection lost on {what}: {e}"));
            assert!(DOCUMENTED_SQLSTATES.contains(&db.code().code()), "{what}: undocumented {} {}", db.code().code(), db.message());
            None
        }
    }
}

#[test]
fn random_sequences_keep_the_invariants() {
    let db = Cluster::shared().fresh_db("fuzz_sequence");
    let mut c = db.connect();
    c.batch_execute("SELECT * FROM ff_seed_hmac('k1')").unwrap();
    let mut rng = Rng(0xdeca_fbad);
    let mut k = Known::default();
    let (mut epochs, mut terminal) = (Default::default(), Default::default());
    let cond = "{\"Single\":{\"waitpoint_key\":\"k\",\"matcher\":\"Wildcard\"}}";
    for step in 0..400 {
        let lease = (!k.leases.is_empty()).then(|| rng.pick(&k.leases).clone());
        let op = rng.next() % 11;
        match (op, lease) {
            (0, _) | (_, None) if k.executions.len() < 40 => {
                let sql = "SELECT execution_id FROM ff_create_execution('rs', max_attempts => 3, retry_backoff_ms => 0)";
                if let Some(r) = documented_or_ok(c.query_one(sql, &[]), "create") {
                    k.executions.push(r.get(0));
                }
            }
            (1, _) | (_, None) => {
                if let Some(rows) = documented_or_ok(
                    c.query("SELECT * FROM ff_claim('rs', 'w', 'w-1', max_items => 3, lease_ttl_ms => 60000)", &[]),
                    "claim",
                ) {
                    k.leases.extend(rows.iter().map(|r| (r.get("execution_id"), r.get("lease_id"), r.get("lease_epoch"))));
                }
            }
            (2, Some((e, l, ep))) => {
                documented_or_ok(c.query("SELECT * FROM ff_complete($1, $2, $3, 'r'::bytea)", &[&e, &l, &ep]), "complete");
            }
            (3, Some((e, l, ep))) => {
                documented_or_ok(c.query("SELECT * FROM ff_fail($1, $2, $3, 'boom')", &[&e, &l, &ep]), "fail");
            }
            (4, Some((e, l, ep))) => {
                documented_or_ok(c.query("SELECT * FROM ff_renew_lease($1, $2, $3)", &[&e, &l, &ep]), "renew");
            }
            (5, Some((e, l, ep))) => {
                let sql = "SELECT waitpoint_id, token FROM ff_suspend($1, $2, $3, $4::text::jsonb) WHERE waitpoint_id IS NOT NULL";
                if let Some(rows) = documented_or_ok(c.query(sql, &[&e, &l, &ep, &cond]), "suspend") {
                    k.waitpoints.extend(rows.iter().map(|r| (e.clone(), r.get(0), r.get(1))));
                }
            }
            (6, _) if !k.waitpoints.is_empty() => {
                let (e, w, t) = rng.pick(&k.waitpoints).clone();
                let token = if rng.next().is_multiple_of(4) { format!("k1:{}", "0".repeat(64)) } else { t };
                documented_or_ok(c.query("SELECT * FROM ff_deliver_signal($1, $2, $3, 'go')", &[&e, &w, &token]), "deliver");
            }
            (7, _) if !k.executions.is_empty() => {
                let e = rng.pick(&k.executions).clone();
                documented_or_ok(c.query("SELECT * FROM ff_cancel($1)", &[&e]), "cancel");
            }
            (8, _) => {
                documented_or_ok(c.query("SELECT * FROM ff_tick()", &[]), "tick");
            }
            (9, _) if !k.executions.is_empty() => {
                let e = rng.pick(&k.executions).clone();
                documented_or_ok(c.query("SELECT * FROM ff_resume_execution($1)", &[&e]), "resume");
            }
            (_, Some((e, l, ep))) => {
                let sql = "SELECT waitpoint_id, token FROM ff_create_waitpoint($1, $2, $3, 'k')";
                if let Some(r) = documented_or_ok(c.query_one(sql, &[&e, &l, &ep]), "create_waitpoint") {
                    k.waitpoints.push((e, r.get(0), r.get(1)));
                }
            }
        }
        check_invariants(&mut c, &mut epochs, &mut terminal, step);
    }
    assert_no_orphans(&mut c);
    assert!(!terminal.is_empty() && k.waitpoints.len() > 5, "the sequence never reached the interesting states");
}
