//! HMAC keystore in the database: `ff_seed_hmac`, `ff_rotate_hmac`, `ff_hmac_kids`, and the key
//! look-ups that signing and verification use. Decisions come from `keys.rs`; this is the SPI layer.
//! The secrets never leave this module except as inputs to the HMAC functions of `tokens.rs`.

use crate::error::{WfError, WfResult};
use crate::keys::{self, RotateDecision, SeedDecision, StoredKey};
use crate::plans::{now_ms, t, Plan};
use crate::raise::guarded;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;

static LOCK_KEYSTORE: Plan = Plan { sql: "LOCK TABLE ff_keystore IN EXCLUSIVE MODE", args: &[] };
static KEY_BY_KID: Plan = Plan { sql: concat!("SELECT ", crate::key_columns!(), " FROM ff_keystore k WHERE k.kid = $1"), args: &[t::TEXT] };
static ACTIVE_KEY: Plan = Plan { sql: concat!("SELECT ", crate::key_columns!(), " FROM ff_keystore k WHERE k.active"), args: &[] };
static INSERT_ACTIVE: Plan = Plan {
    sql: "INSERT INTO ff_keystore (kid, secret, created_at_ms, active) VALUES ($1, $2, $3, true)",
    args: &[t::TEXT, t::BYTEA, t::INT8],
};
static RETIRE_ACTIVE: Plan = Plan {
    sql: "UPDATE ff_keystore SET active = false, rotated_at_ms = $1, expires_at_ms = $1 + $2 WHERE active RETURNING kid",
    args: &[t::INT8, t::INT8],
};
static GC_RETIRED: Plan = Plan {
    sql: "DELETE FROM ff_keystore WHERE NOT active AND expires_at_ms <= $1 AND kid IS DISTINCT FROM $2 RETURNING kid",
    args: &[t::INT8, t::TEXT],
};
static LIST_KIDS: Plan = Plan {
    sql: "SELECT kid, active, created_at_ms, rotated_at_ms, expires_at_ms FROM ff_keystore ORDER BY created_at_ms, kid",
    args: &[],
};

/// The keystore columns a hot-path statement of another module selects (from `ff_keystore k`, usually
/// LEFT JOINed) so that reading the key costs no statement of its own; `key_at` reads them back.
#[macro_export]
macro_rules! key_columns {
    () => {
        "k.kid, k.secret, k.active, k.expires_at_ms"
    };
}

/// The key in the four `key_columns!()` of `row`, starting at 1-based column `first`; `None` when the
/// join found no key (the kid is NULL).
pub fn key_at(row: &pgrx::spi::SpiHeapTupleData<'_>, first: usize) -> WfResult<Option<StoredKey>> {
    let Some(kid) = row.get::<String>(first)? else { return Ok(None) };
    let secret: Vec<u8> = row.get(first + 1)?.ok_or_else(|| WfError::corruption("keystore row without secret"))?;
    let active: bool = row.get(first + 2)?.unwrap_or(false);
    let expires_at_ms: Option<i64> = row.get(first + 3)?;
    Ok(Some(StoredKey { kid, secret, active, expires_at_ms }))
}

fn read_key(client: &SpiClient<'_>, plan: &'static Plan, args: &[pgrx::datum::DatumWithOid<'_>]) -> WfResult<Option<StoredKey>> {
    match plan.run(client, args)?.next() {
        Some(row) => key_at(&row, 1),
        None => Ok(None),
    }
}

/// The key stored under `kid`, if any.
pub fn key_by_kid(client: &SpiClient<'_>, kid: &str) -> WfResult<Option<StoredKey>> {
    read_key(client, &KEY_BY_KID, &[kid.into()])
}

/// The active signing key, or `keystore_empty` (grant minting; suspend reads it with `key_columns!()`).
pub fn active_key(client: &SpiClient<'_>) -> WfResult<StoredKey> {
    read_key(client, &ACTIVE_KEY, &[])?.ok_or_else(WfError::keystore_empty)
}

/// The key that verifies a token minted under `kid`, at `now_ms`: an unknown kid (never stored, or
/// already reaped by GC) is `invalid_token`, like any bad token; a retired key past its grace window
/// is `token_expired` (grant consumption; delivery reads the key with `key_columns!()`).
pub fn verifying_key(client: &SpiClient<'_>, kid: &str, now_ms: i64) -> WfResult<StoredKey> {
    usable_for_verification(key_by_kid(client, kid)?, now_ms)
}

/// `verifying_key`'s decision for a key already read (by `key_columns!()` in another statement).
pub fn usable_for_verification(key: Option<StoredKey>, now_ms: i64) -> WfResult<StoredKey> {
    let key = key.ok_or_else(WfError::invalid_token)?;
    match keys::key_usability(&key, now_ms) {
        keys::KeyUsability::Usable => Ok(key),
        keys::KeyUsability::PastGrace => Err(WfError::new(
            crate::error::ErrorKind::TokenExpired,
            "the token's signing key was retired and its grace window has passed",
        )),
    }
}

fn generate_secret() -> WfResult<Vec<u8>> {
    let mut buf = vec![0u8; keys::GENERATED_SECRET_LEN];
    getrandom::getrandom(&mut buf).map_err(|e| WfError::corruption(format!("random source failed: {e}")))?;
    Ok(buf)
}

fn lock_keystore(client: &SpiClient<'_>) -> WfResult<()> {
    LOCK_KEYSTORE.run(client, &[])?;
    Ok(())
}

type SeedRow = (String, String, Option<bool>);

fn seed(kid: Option<&str>, secret_hex: Option<&str>) -> WfResult<SeedRow> {
    let kid = crate::error::required(kid, "kid")?;
    keys::validate_kid(kid)?;
    let given = secret_hex.map(keys::parse_secret_hex).transpose()?;
    Spi::connect_mut(|client| {
        lock_keystore(client)?;
        let existing = key_by_kid(client, kid)?;
        let active = read_key(client, &ACTIVE_KEY, &[])?;
        match keys::decide_seed(existing.as_ref(), active.as_ref().map(|k| k.kid.as_str()), given.as_deref())? {
            SeedDecision::AlreadySeeded { same_secret } => Ok(("already_seeded".to_string(), kid.to_string(), same_secret)),
            SeedDecision::Insert => {
                let secret = match given {
                    Some(s) => s,
                    None => generate_secret()?,
                };
                INSERT_ACTIVE.run(client, &[kid.into(), secret.into(), now_ms().into()])?;
                Ok(("seeded".to_string(), kid.to_string(), None))
            }
        }
    })
}

type RotateRow = (String, Option<String>, String, i32);

fn rotate(new_kid: Option<&str>, new_secret_hex: Option<&str>, grace_ms: Option<i64>) -> WfResult<RotateRow> {
    let new_kid = crate::error::required(new_kid, "new_kid")?;
    keys::validate_kid(new_kid)?;
    let grace_ms = crate::error::required(grace_ms, "grace_ms")?;
    keys::validate_grace_ms(grace_ms)?;
    let secret = match new_secret_hex {
        Some(h) => keys::parse_secret_hex(h)?,
        None => generate_secret()?,
    };
    Spi::connect_mut(|client| {
        lock_keystore(client)?;
        let existing = key_by_kid(client, new_kid)?;
        match keys::decide_rotate(existing.as_ref(), &secret)? {
            RotateDecision::Noop => Ok(("noop".to_string(), None, new_kid.to_string(), 0)),
            RotateDecision::Rotate => {
                let now = now_ms();
                let retired = RETIRE_ACTIVE.run(client, &[now.into(), grace_ms.into()])?;
                let mut previous: Option<String> = None;
                for row in retired {
                    previous = row.get(1)?;
                }
                INSERT_ACTIVE.run(client, &[new_kid.into(), secret.into(), now.into()])?;
                let gc = GC_RETIRED.run(client, &[now.into(), previous.clone().into()])?;
                Ok(("rotated".to_string(), previous, new_kid.to_string(), gc.len() as i32))
            }
        }
    })
}

type KidRow = (String, bool, i64, Option<i64>, Option<i64>);

fn list_kids() -> WfResult<Vec<KidRow>> {
    Spi::connect(|client| {
        let mut out = Vec::new();
        for row in LIST_KIDS.run(client, &[])? {
            out.push((
                row.get(1)?.unwrap_or_default(),
                row.get(2)?.unwrap_or(false),
                row.get(3)?.unwrap_or(0),
                row.get(4)?,
                row.get(5)?,
            ));
        }
        Ok(out)
    })
}

/// Install the first signing key (idempotent boot-time seeding).
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_seed_hmac(
    kid: Option<&str>,
    secret_hex: default!(Option<&str>, "NULL"),
) -> TableIterator<'static, (name!(outcome, String), name!(kid, String), name!(same_secret, Option<bool>))> {
    TableIterator::once(guarded(|| seed(kid, secret_hex)))
}

/// Retire the active key (kept for `grace_ms`) and make `new_kid` the signing key.
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_rotate_hmac(
    new_kid: Option<&str>,
    new_secret_hex: default!(Option<&str>, "NULL"),
    grace_ms: default!(Option<i64>, 86400000),
) -> TableIterator<
    'static,
    (name!(outcome, String), name!(previous_kid, Option<String>), name!(new_kid, String), name!(gc_count, i32)),
> {
    TableIterator::once(guarded(|| rotate(new_kid, new_secret_hex, grace_ms)))
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
    TableIterator::new(guarded(list_kids))
}
