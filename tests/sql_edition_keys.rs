//! The SQL edition's keystore against the Rust edition's, call for call (issue #20): both editions are
//! in one database — the Rust edition in `public`, the SQL edition (schema.sql and sql/edition/*.sql)
//! in `ff_sql` — and every call sequence below must give the same rows or the same error (SQLSTATE,
//! message and DETAIL) in both. Times are compared by whether they are set, not by value.

use ff_engine_tests::*;
use postgres::Client;

/// The SQL edition's files in load order (its install script is their concatenation).
const EDITION: [&str; 4] = [
    include_str!("../sql/schema.sql"),
    include_str!("../sql/edition/errors.sql"),
    include_str!("../sql/edition/crypto.sql"),
    include_str!("../sql/edition/keys.sql"),
];

fn load_sql_edition(c: &mut Client, schema: &str) {
    c.batch_execute(&format!("CREATE SCHEMA {schema}; SET search_path = {schema}")).unwrap();
    for part in EDITION {
        c.batch_execute(&part.replace("@extschema@", schema)).unwrap_or_else(|e| panic!("{}", db_err(&e).message));
    }
    c.batch_execute("RESET search_path").unwrap();
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

fn setup(name: &str) -> (TestDb<'static>, Client) {
    let db = Cluster::shared().fresh_db(name);
    let mut c = db.connect();
    load_sql_edition(&mut c, "ff_sql");
    (db, c)
}

#[test]
fn seeding_and_rotation_match() {
    let (_db, mut c) = setup("sqled_keys");
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
fn bad_input_matches() {
    let (_db, mut c) = setup("sqled_keys_bad");
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
fn generated_secrets_are_32_bytes_and_never_shown() {
    let (_db, mut c) = setup("sqled_keys_secret");
    same_on_both(&mut c, &["SELECT outcome, kid FROM ff_seed_hmac('g1')", "SELECT octet_length(secret) FROM ff_keystore"]);
    let n: i64 = c
        .query_one("SELECT count(*) FROM ff_sql.ff_keystore k JOIN public.ff_keystore p USING (kid) WHERE k.secret = p.secret", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 0, "two generated secrets are different");
}
