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
