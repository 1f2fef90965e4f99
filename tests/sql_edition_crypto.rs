//! The SQL edition's crypto (sql/edition/crypto.sql): HMAC-SHA256 on core
//! sha256() reproduces the spec's vectors, RFC 4231 and pgcrypto's hmac(); tokens and grants minted by
//! the Rust edition verify in SQL and the other way round, under the same key.

use ff_engine_tests::*;
use postgres::Client;

const CRYPTO_SQL: &str = include_str!("../sql/edition/crypto.sql");
const K1: &str = "\\x1111111111111111111111111111111111111111111111111111111111111111";

/// A database with the Rust edition (superuser session) and the SQL edition's crypto in schema ff_sql.
fn setup(name: &str) -> Option<(TestDb<'static>, Client)> {
    if rust_edition_only(
        "checks the SQL edition's crypto against the Rust edition's in one database; this pass has no Rust edition (the Rust pass runs it)",
    ) {
        return None;
    }
    let (db, mut c) = seeded(name);
    c.batch_execute("CREATE SCHEMA ff_sql; SET search_path = ff_sql, public").unwrap();
    c.batch_execute(CRYPTO_SQL).unwrap();
    Some((db, c))
}

fn text(c: &mut Client, sql: &str, params: &[&(dyn postgres::types::ToSql + Sync)]) -> String {
    c.query_one(sql, params).unwrap().get(0)
}

#[test]
fn spec_and_rfc_vectors() {
    let Some((_db, mut c)) = setup("sqled_vectors") else { return };
    let token = text(
        &mut c,
        "SELECT ff_waitpoint_token('kid-1', ff_hmac_pads($1::text::bytea), '{fp:7}:6f1c1e9e-0000-4000-8000-000000000001', '6f1c1e9e-0000-4000-8000-0000000000aa')",
        &[&K1],
    );
    assert_eq!(token, "kid-1:b5ac18077d52b2213024ce556a24d956c88d10a92c80ac7dd85d36be5dd0d048");
    let grant = text(
        &mut c,
        "SELECT ff_grant_key('kid-1', ff_hmac_pads($1::text::bytea), 7::smallint, '6f1c1e9e-0000-4000-8000-000000000001', 'w1', 'wi1', 1700000000000)",
        &[&K1],
    );
    assert_eq!(
        grant,
        "pg:{fp:7}:6f1c1e9e-0000-4000-8000-000000000001:1700000000000:kid-1:2c0d5ba1d9dba5c8e3c27d9bda4ce82c4076afc5758cc681865aeca33a46efe0"
    );
    // RFC 4231 test cases 1, 2 and 6 (a key longer than the block).
    let long_key = format!("\\x{}", "aa".repeat(131));
    for (key, msg, hmac) in [
        ("\\x0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        ("\\x4a656665", "what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        (
            long_key.as_str(),
            "Test Using Larger Than Block-Size Key - Hash Key First",
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        ),
    ] {
        let got =
            text(&mut c, "SELECT encode(ff_hmac_sha256(ff_hmac_pads($1::text::bytea), convert_to($2, 'UTF8')), 'hex')", &[&key, &msg]);
        assert_eq!(got, hmac, "{msg}");
    }
}

#[test]
fn agrees_with_pgcrypto_for_every_key_length() {
    let Some((_db, mut c)) = setup("sqled_pgcrypto") else { return };
    if count(&mut c, "SELECT count(*) FROM pg_available_extensions WHERE name = 'pgcrypto'") == 0 {
        // The PostgreSQL 16 and 18 builds this project installs have no OpenSSL, hence no pgcrypto; the
        // comparison runs on 15 (Debian's, with pgcrypto). The vectors above run everywhere.
        record_skip("pgcrypto is not available on this server: the comparison is skipped");
        return;
    }
    c.batch_execute("CREATE EXTENSION IF NOT EXISTS pgcrypto SCHEMA public").unwrap();
    let disagreements: i64 = c
        .query_one(
            "SELECT count(*) FROM generate_series(0, 200) n,
                 LATERAL (SELECT decode(repeat(lpad(to_hex(n % 256), 2, '0'), n), 'hex') AS key,
                                 convert_to(repeat(md5(n::text), n % 7), 'UTF8') AS msg) x
             WHERE ff_hmac_sha256(ff_hmac_pads(key), msg) <> public.hmac(msg, key, 'sha256')",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(disagreements, 0);
}

#[test]
fn tokens_and_grants_cross_editions() {
    let Some((_db, mut c)) = setup("sqled_cross") else { return };
    // Rust mints, SQL verifies.
    let id = create_in(&mut c, "x", "");
    let lease = claim_one(&mut c, "x", "w").unwrap();
    let r = c
        .query_one(
            "SELECT waitpoint_id, token FROM ff_suspend($1, $2, $3, ff_cond_single('k'))",
            &[&id, &lease.lease_id, &lease.lease_epoch],
        )
        .unwrap();
    let (wp, token): (uuid::Uuid, String) = (r.get(0), r.get(1));
    let verify =
        "SELECT ff_digest_eq(ff_waitpoint_digest(p.kid, ff_hmac_pads($1::text::bytea), $2, $3), p.digest) FROM ff_parse_token($4) p";
    assert!(c.query_one(verify, &[&K1, &id, &wp, &token]).unwrap().get::<_, bool>(0));
    let forged = format!("{}0", &token[..token.len() - 1]);
    let forged = if forged == token { format!("{}1", &token[..token.len() - 1]) } else { forged };
    assert!(!c.query_one(verify, &[&K1, &id, &wp, &forged]).unwrap().get::<_, bool>(0));
    let other_wp = uuid::Uuid::new_v4();
    assert!(!c.query_one(verify, &[&K1, &id, &other_wp, &token]).unwrap().get::<_, bool>(0));
    // SQL mints, Rust verifies: the delivery accepts the SQL edition's token.
    let sql_token = text(&mut c, "SELECT ff_waitpoint_token('k1', ff_hmac_pads($1::text::bytea), $2, $3)", &[&K1, &id, &wp]);
    assert_eq!(sql_token, token, "the same token, byte for byte");
    let effect: String = c.query_one("SELECT effect FROM ff_deliver_signal($1, $2, $3, 'go')", &[&id, &wp, &sql_token]).unwrap().get(0);
    assert_eq!(effect, "resume_condition_satisfied");
    // Grants: Rust's verifies in SQL; SQL's is accepted by Rust's consume.
    let g = c.query_one("SELECT execution_id, grant_key, expires_at_ms FROM ff_claim_for_worker('x', 'w9', 'i9')", &[]).unwrap();
    let (gid, gkey, gexp): (String, String, i64) = (g.get(0), g.get(1), g.get(2));
    let ok: bool = c
        .query_one(
            "SELECT ff_digest_eq(ff_grant_digest(p.kid, ff_hmac_pads($1::text::bytea), p.partition_key, p.execution_uuid, 'w9', 'i9', p.expires_at_ms), p.digest)
             FROM ff_parse_grant_key($2) p",
            &[&K1, &gkey],
        )
        .unwrap()
        .get(0);
    assert!(ok);
    let (part, uuid_text) = gid.trim_start_matches("{fp:").split_once("}:").unwrap();
    let sql_key = text(
        &mut c,
        "SELECT ff_grant_key('k1', ff_hmac_pads($1::text::bytea), $2::text::smallint, $3::text::uuid, 'w9', 'i9', $4)",
        &[&K1, &part, &uuid_text, &gexp],
    );
    assert_eq!(sql_key, gkey);
}

#[test]
fn malformed_tokens_and_grants_parse_to_nothing() {
    let Some((_db, mut c)) = setup("sqled_malformed") else { return };
    let n = |c: &mut Client, sql: &str, v: &str| -> i64 { c.query_one(sql, &[&v]).unwrap().get(0) };
    let a64 = "a".repeat(64);
    for t in [
        String::new(),
        ":".into(),
        "kid-1".into(),
        "kid-1:".into(),
        "kid-1:zz".into(),
        format!("kid-1:{}", "A".repeat(64)),
        format!(":{a64}"),
        format!("k k:{a64}"),
        format!("{}:{a64}", "k".repeat(65)),
    ] {
        assert_eq!(n(&mut c, "SELECT count(*) FROM ff_parse_token($1)", &t), 0, "{t}");
    }
    assert_eq!(n(&mut c, "SELECT count(*) FROM ff_parse_token($1)", &format!("kid-1:{a64}")), 1);
    let good = "pg:{fp:7}:6f1c1e9e-0000-4000-8000-000000000001:1700000000000:kid-1:2c0d5ba1d9dba5c8e3c27d9bda4ce82c4076afc5758cc681865aeca33a46efe0";
    let sql = "SELECT count(*) FROM ff_parse_grant_key($1)";
    assert_eq!(n(&mut c, sql, good), 1);
    for g in [
        String::new(),
        "pg:".into(),
        good[..good.len() - 1].to_string(),
        good.replace("pg:", "px:"),
        good.replace(":1700000000000:", ":-1:"),
        good.replace(":1700000000000:", "::"),
        good.replace(":1700000000000:", ":9223372036854775808:"),
        good.replace("kid-1", ""),
        good.replace("{fp:7}", "{fp:700}"),
        good.replace("{fp:7}", "{fp:07}"),
        format!("{good}0"),
    ] {
        assert_eq!(n(&mut c, sql, &g), 0, "{g}");
    }
}

#[test]
fn generated_secrets_and_constant_time_compare() {
    let Some((_db, mut c)) = setup("sqled_secret") else { return };
    let r = c.query_one("SELECT length(ff_generate_secret()), ff_generate_secret() <> ff_generate_secret()", &[]).unwrap();
    assert_eq!((r.get::<_, i32>(0), r.get::<_, bool>(1)), (32, true));
    let r = c
        .query_one(
            "SELECT ff_digest_eq(sha256('a'), sha256('a')), ff_digest_eq(sha256('a'), sha256('b')), ff_digest_eq('\\x00', '\\x0000')",
            &[],
        )
        .unwrap();
    assert_eq!((r.get::<_, bool>(0), r.get::<_, bool>(1), r.get::<_, bool>(2)), (true, false, false));
    // A presented digest against the expected one, both hashed under a key's padded keys.
    let r = c
        .query_one(
            "SELECT ff_digest_matches(p, sha256('a'), sha256('a')), ff_digest_matches(p, sha256('a'), sha256('b')),
                    ff_digest_matches(p, sha256('a'), '\\x00')
             FROM (SELECT ff_hmac_pads($1::text::bytea) AS p) k",
            &[&K1],
        )
        .unwrap();
    assert_eq!((r.get::<_, bool>(0), r.get::<_, bool>(1), r.get::<_, bool>(2)), (true, false, false));
}
