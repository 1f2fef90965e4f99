//! The HMAC keystore: seeding, rotation, listing, and the key look-ups that signing and verification
//! use. Decisions come from `keys` (core); this module reads and writes `ff_keystore`. The secrets
//! never leave this module except as inputs to the HMAC functions of `tokens`.

use crate::error::{required, ErrorKind, WfError, WfResult};
use crate::keys::{self, RotateDecision, SeedDecision, StoredKey};
use crate::postgres::statement::now_ms;
use crate::statement;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;

statement! {
    mod lock_keystore = "keystore/lock_keystore.sql";
    args {}
    row {}
}
statement! {
    mod key_by_kid = "keystore/key_by_kid.sql";
    args<'a> { kid: &'a str }
    row { key: Option<StoredKey> }
}
statement! {
    mod active_key = "keystore/active_key.sql";
    args {}
    row { key: Option<StoredKey> }
}
statement! {
    mod insert_active = "keystore/insert_active.sql";
    args<'a> { kid: &'a str, secret: &'a [u8], now_ms: i64 }
    row {}
}
statement! {
    mod retire_active = "keystore/retire_active.sql";
    args { now_ms: i64, grace_ms: i64 }
    row { kid: String }
}
statement! {
    mod gc_retired = "keystore/gc_retired.sql";
    args<'a> { now_ms: i64, keep_kid: Option<&'a str> }
    row { kid: String }
}
statement! {
    mod list_kids = "keystore/list_kids.sql";
    args {}
    row { kid: String, active: bool, created_at_ms: i64, rotated_at_ms: Option<i64>, expires_at_ms: Option<i64> }
}

/// The key stored under `kid`, if any.
pub fn key_by_kid(client: &SpiClient<'_>, kid: &str) -> WfResult<Option<StoredKey>> {
    Ok(key_by_kid::optional(client, key_by_kid::Args { kid })?.and_then(|r| r.key))
}

fn active(client: &SpiClient<'_>) -> WfResult<Option<StoredKey>> {
    Ok(active_key::optional(client, active_key::Args {})?.and_then(|r| r.key))
}

/// The active signing key, or `keystore_empty` (grant minting; suspend reads it in its own statement).
pub fn active_key(client: &SpiClient<'_>) -> WfResult<StoredKey> {
    active(client)?.ok_or_else(WfError::keystore_empty)
}

/// Check a digest presented under `kid` at `now_ms`, with `verify` (given the key's secret): an
/// unknown kid (never stored, or already reaped by GC) or a digest that does not verify is
/// `invalid_token`, like any bad token; only a digest that verifies learns that its key is retired and
/// past its grace window (`token_expired`), so a caller without the secret cannot tell an existing
/// waitpoint from a missing one by the error (grant consumption; delivery reads the key in its own
/// statement and calls `verified`).
pub fn verify_under(client: &SpiClient<'_>, kid: &str, now_ms: i64, verify: impl FnOnce(&[u8]) -> bool) -> WfResult<()> {
    verified(key_by_kid(client, kid)?, now_ms, verify)
}

/// `verify_under`'s decision for a key already read.
pub fn verified(key: Option<StoredKey>, now_ms: i64, verify: impl FnOnce(&[u8]) -> bool) -> WfResult<()> {
    let key = key.ok_or_else(WfError::invalid_token)?;
    if !verify(&key.secret) {
        return Err(WfError::invalid_token());
    }
    match keys::key_usability(&key, now_ms) {
        keys::KeyUsability::Usable => Ok(()),
        keys::KeyUsability::PastGrace => {
            Err(WfError::new(ErrorKind::TokenExpired, "the token's signing key was retired and its grace window has passed"))
        }
    }
}

fn generate_secret() -> WfResult<Vec<u8>> {
    let mut buf = vec![0u8; keys::GENERATED_SECRET_LEN];
    getrandom::getrandom(&mut buf).map_err(|e| WfError::corruption(format!("random source failed: {e}")))?;
    Ok(buf)
}

/// `ff_seed_hmac`'s row: outcome, kid, same_secret.
pub type SeedRow = (String, String, Option<bool>);

pub fn seed(kid: Option<&str>, secret_hex: Option<&str>) -> WfResult<SeedRow> {
    let kid = required(kid, "kid")?;
    keys::validate_kid(kid)?;
    let given = secret_hex.map(keys::parse_secret_hex).transpose()?;
    Spi::connect_mut(|client| {
        lock_keystore::execute(client, lock_keystore::Args {})?;
        let existing = key_by_kid(client, kid)?;
        let active = active(client)?;
        match keys::decide_seed(existing.as_ref(), active.as_ref().map(|k| k.kid.as_str()), given.as_deref())? {
            SeedDecision::AlreadySeeded { same_secret } => Ok(("already_seeded".to_string(), kid.to_string(), same_secret)),
            SeedDecision::Insert => {
                let secret = match given {
                    Some(s) => s,
                    None => generate_secret()?,
                };
                insert_active::execute(client, insert_active::Args { kid, secret: &secret, now_ms: now_ms() })?;
                Ok(("seeded".to_string(), kid.to_string(), None))
            }
        }
    })
}

/// `ff_rotate_hmac`'s row: outcome, previous_kid, new_kid, gc_count.
pub type RotateRow = (String, Option<String>, String, i32);

pub fn rotate(new_kid: Option<&str>, new_secret_hex: Option<&str>, grace_ms: Option<i64>) -> WfResult<RotateRow> {
    let new_kid = required(new_kid, "new_kid")?;
    keys::validate_kid(new_kid)?;
    let grace_ms = required(grace_ms, "grace_ms")?;
    keys::validate_grace_ms(grace_ms)?;
    let secret = match new_secret_hex {
        Some(h) => keys::parse_secret_hex(h)?,
        None => generate_secret()?,
    };
    Spi::connect_mut(|client| {
        lock_keystore::execute(client, lock_keystore::Args {})?;
        let existing = key_by_kid(client, new_kid)?;
        match keys::decide_rotate(existing.as_ref(), &secret)? {
            RotateDecision::Noop => Ok(("noop".to_string(), None, new_kid.to_string(), 0)),
            RotateDecision::Rotate => {
                let now = now_ms();
                let previous = retire_active::all(client, retire_active::Args { now_ms: now, grace_ms })?.pop().map(|r| r.kid);
                insert_active::execute(client, insert_active::Args { kid: new_kid, secret: &secret, now_ms: now })?;
                let gc = gc_retired::execute(client, gc_retired::Args { now_ms: now, keep_kid: previous.as_deref() })?;
                Ok(("rotated".to_string(), previous, new_kid.to_string(), gc as i32))
            }
        }
    })
}

/// `ff_hmac_kids`'s row: kid, active, created_at_ms, rotated_at_ms, expires_at_ms.
pub type KidRow = (String, bool, i64, Option<i64>, Option<i64>);

pub fn list_kids() -> WfResult<Vec<KidRow>> {
    Spi::connect(|client| {
        Ok(list_kids::all(client, list_kids::Args {})?
            .into_iter()
            .map(|r| (r.kid, r.active, r.created_at_ms, r.rotated_at_ms, r.expires_at_ms))
            .collect())
    })
}
