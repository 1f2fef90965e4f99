// In-database tests (`cargo pgrx test pg15`): run inside a backend, through SPI.
// Included into the extension crate as `mod tests` (src/lib.rs) for test builds only.

use pgrx::prelude::*;

#[pg_test]
fn seed_then_list_never_shows_secret() {
    let outcome = Spi::get_one::<String>(&format!("SELECT outcome FROM ff_seed_hmac('kid-a', '{}')", "11".repeat(32)));
    assert_eq!(outcome, Ok(Some("seeded".to_string())));
    let cols = Spi::get_one::<i64>("SELECT count(*) FROM ff_hmac_kids() WHERE kid = 'kid-a' AND active").unwrap();
    assert_eq!(cols, Some(1));
}

#[pg_test]
fn rotate_reports_previous_kid() {
    Spi::run(&format!("SELECT * FROM ff_seed_hmac('kid-a', '{}')", "11".repeat(32))).unwrap();
    let prev = Spi::get_one::<String>("SELECT previous_kid FROM ff_rotate_hmac('kid-b')").unwrap();
    assert_eq!(prev.as_deref(), Some("kid-a"));
    let active = Spi::get_one::<String>("SELECT kid FROM ff_hmac_kids() WHERE active").unwrap();
    assert_eq!(active.as_deref(), Some("kid-b"));
}

#[pg_test]
fn generated_secrets_are_32_random_bytes() {
    Spi::run("SELECT * FROM ff_seed_hmac('gen-1')").unwrap();
    Spi::run("SELECT * FROM ff_rotate_hmac('gen-2')").unwrap();
    let distinct = Spi::get_one::<i64>("SELECT count(DISTINCT secret) FROM ff_keystore WHERE octet_length(secret) = 32").unwrap();
    assert_eq!(distinct, Some(2));
}

#[pg_test]
fn plans_are_reused_across_calls() {
    // The same backend calls the same function many times: prepared plans must stay valid.
    Spi::run("SELECT * FROM ff_seed_hmac('kid-a')").unwrap();
    for _ in 0..200 {
        let n = Spi::get_one::<i64>("SELECT count(*) FROM ff_hmac_kids()").unwrap();
        assert_eq!(n, Some(1));
    }
}

fn mint_under_active_key(exec: &crate::ids::ExecutionId, wp: &uuid::Uuid) -> String {
    Spi::connect(|c| {
        let k = crate::store::keystore::active_key(c).unwrap();
        crate::tokens::waitpoint_token(&k.kid, &k.secret, exec, wp)
    })
}

fn verify_now(token: &str, exec: &crate::ids::ExecutionId, wp: &uuid::Uuid) -> Result<(), crate::error::ErrorKind> {
    let p = crate::tokens::parse_token(token).map_err(|e| e.kind)?;
    Spi::connect(|c| {
        let verify = |secret: &[u8]| crate::tokens::verify_waitpoint_digest(p.kid, secret, exec, wp, &p.digest);
        crate::store::keystore::verify_under(c, p.kid, crate::postgres::statement::now_ms(), verify).map_err(|e| e.kind)
    })
}

fn sample_ids() -> (crate::ids::ExecutionId, uuid::Uuid) {
    (
        crate::ids::ExecutionId::parse("{fp:7}:6f1c1e9e-0000-4000-8000-000000000001").unwrap(),
        uuid::Uuid::parse_str("6f1c1e9e-0000-4000-8000-0000000000aa").unwrap(),
    )
}

#[pg_test]
fn stored_key_reproduces_the_token_vector() {
    Spi::run(&format!("SELECT * FROM ff_seed_hmac('kid-1', '{}')", "11".repeat(32))).unwrap();
    let (exec, wp) = sample_ids();
    assert_eq!(mint_under_active_key(&exec, &wp), "kid-1:b5ac18077d52b2213024ce556a24d956c88d10a92c80ac7dd85d36be5dd0d048");
}

#[pg_test]
fn tokens_verify_within_grace_and_expire_after() {
    use crate::error::ErrorKind;
    let (exec, wp) = sample_ids();
    Spi::run("SELECT * FROM ff_seed_hmac('a')").unwrap();
    let token_a = mint_under_active_key(&exec, &wp);
    // a -> b with a long grace: a's tokens still verify.
    Spi::run("SELECT * FROM ff_rotate_hmac('b', NULL, 600000)").unwrap();
    assert_eq!(verify_now(&token_a, &exec, &wp), Ok(()));
    // b -> c quickly: a (and b) still verify.
    let token_b = mint_under_active_key(&exec, &wp);
    Spi::run("SELECT * FROM ff_rotate_hmac('c', NULL, 0)").unwrap();
    assert_eq!(verify_now(&token_a, &exec, &wp), Ok(()));
    // b was retired with grace 0: its tokens are expired.
    assert_eq!(verify_now(&token_b, &exec, &wp), Err(ErrorKind::TokenExpired));
    // A flipped digit, another waitpoint, or an unknown kid are all invalid_token.
    let mut flipped = token_a.clone().into_bytes();
    let last = flipped.len() - 1;
    flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
    assert_eq!(verify_now(std::str::from_utf8(&flipped).unwrap(), &exec, &wp), Err(ErrorKind::InvalidToken));
    let other_wp = uuid::Uuid::parse_str("6f1c1e9e-0000-4000-8000-0000000000ab").unwrap();
    assert_eq!(verify_now(&token_a, &exec, &other_wp), Err(ErrorKind::InvalidToken));
    assert_eq!(verify_now(&token_a.replacen("a:", "zz:", 1), &exec, &wp), Err(ErrorKind::InvalidToken));
    assert_eq!(verify_now("", &exec, &wp), Err(ErrorKind::InvalidToken));
    // Once GC reaps b (past grace, retired by an earlier rotation), its tokens are invalid, not expired.
    Spi::run("SELECT * FROM ff_rotate_hmac('d', NULL, 600000)").unwrap();
    assert_eq!(verify_now(&token_b, &exec, &wp), Err(ErrorKind::InvalidToken));
}

#[pg_test]
fn active_key_on_empty_keystore_is_keystore_empty() {
    let kind = Spi::connect(|c| crate::store::keystore::active_key(c).map(|_| ()).map_err(|e| e.kind));
    assert_eq!(kind, Err(crate::error::ErrorKind::KeystoreEmpty));
}

/// Test-only probes for the raise helper.
#[pg_extern]
fn panic_probe() -> i32 {
    crate::postgres::raise::guarded(|| -> crate::error::WfResult<i32> { panic!("deliberate test panic") })
}

#[pg_extern]
fn spi_error_probe() -> i32 {
    crate::postgres::raise::guarded(|| -> crate::error::WfResult<i32> {
        Spi::get_one::<i32>("SELECT 1 / 0").map_err(crate::error::WfError::corruption)?;
        Ok(1)
    })
}

#[pg_test]
fn rust_panic_becomes_wf099_not_xx000() {
    Spi::run(
        "DO $$ BEGIN
           PERFORM tests.panic_probe();
           RAISE EXCEPTION 'panic_probe returned';
         EXCEPTION WHEN SQLSTATE 'WF099' THEN
           NULL;
         END $$",
    )
    .unwrap();
}

#[pg_test]
fn postgres_error_inside_spi_keeps_its_sqlstate() {
    Spi::run(
        "DO $$ BEGIN
           PERFORM tests.spi_error_probe();
           RAISE EXCEPTION 'spi_error_probe returned';
         EXCEPTION WHEN division_by_zero THEN
           NULL;
         END $$",
    )
    .unwrap();
}
