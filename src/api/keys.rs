//! `ff_seed_hmac`, `ff_rotate_hmac`, `ff_hmac_kids`.

use crate::postgres::raise::guarded;
use crate::store::keystore;
use pgrx::prelude::*;

/// Install the first signing key (idempotent boot-time seeding).
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_seed_hmac(
    kid: Option<&str>,
    secret_hex: default!(Option<&str>, "NULL"),
) -> TableIterator<'static, (name!(outcome, String), name!(kid, String), name!(same_secret, Option<bool>))> {
    TableIterator::once(guarded(|| keystore::seed(kid, secret_hex)))
}

/// Retire the active key (kept for `grace_ms`) and make `new_kid` the signing key.
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_rotate_hmac(
    new_kid: Option<&str>,
    new_secret_hex: default!(Option<&str>, "NULL"),
    grace_ms: default!(Option<i64>, 86400000),
) -> TableIterator<'static, (name!(outcome, String), name!(previous_kid, Option<String>), name!(new_kid, String), name!(gc_count, i32))> {
    TableIterator::once(guarded(|| keystore::rotate(new_kid, new_secret_hex, grace_ms)))
}

/// The stored keys, never their secrets.
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_hmac_kids() -> TableIterator<
    'static,
    (
        name!(kid, String),
        name!(active, bool),
        name!(created_at_ms, i64),
        name!(rotated_at_ms, Option<i64>),
        name!(expires_at_ms, Option<i64>),
    ),
> {
    TableIterator::new(guarded(keystore::list_kids))
}
