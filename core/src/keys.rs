//! Keystore rules (semantics §4) as pure decisions: validation of kids, secrets and grace windows,
//! and what seeding or rotating does given the stored keys. The SPI layer (`src/store/keystore.rs`) only reads
//! and writes what these functions decide.

use crate::error::{ErrorKind, WfError, WfResult};
use crate::tokens::ct_eq;

/// Largest grace window: 2^53 − 1 ms.
pub const MAX_GRACE_MS: i64 = (1i64 << 53) - 1;
pub const DEFAULT_GRACE_MS: i64 = 86_400_000;
pub const GENERATED_SECRET_LEN: usize = 32;

/// kid: 1–64 bytes of printable ASCII without space (0x21–0x7e), no `:`.
pub fn validate_kid(kid: &str) -> WfResult<()> {
    if kid.is_empty() || kid.len() > 64 || !kid.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b':') {
        return Err(WfError::invalid_input("invalid_kid", "kid must be 1-64 printable ASCII bytes without space or ':'"));
    }
    Ok(())
}

/// A secret given as hex: even length, only hex digits, 32–64 bytes. The message never echoes it.
pub fn parse_secret_hex(secret_hex: &str) -> WfResult<Vec<u8>> {
    let bad = |why: &str| WfError::invalid_input("invalid_secret", format!("secret_hex {why}"));
    if !secret_hex.len().is_multiple_of(2) {
        return Err(bad("must have an even number of hex digits"));
    }
    if !secret_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad("must contain only hex digits"));
    }
    let n = secret_hex.len() / 2;
    if !(32..=64).contains(&n) {
        return Err(bad("must be 32 to 64 bytes (64 to 128 hex digits)"));
    }
    hex::decode(secret_hex).map_err(|_| bad("is not valid hex"))
}

pub fn validate_grace_ms(grace_ms: i64) -> WfResult<()> {
    if !(0..=MAX_GRACE_MS).contains(&grace_ms) {
        return Err(WfError::invalid_input("invalid_grace_ms", "grace_ms must be between 0 and 2^53-1"));
    }
    Ok(())
}

/// A stored key as the decisions need it.
#[derive(Debug, Clone)]
pub struct StoredKey {
    pub kid: String,
    pub secret: Vec<u8>,
    pub active: bool,
    pub expires_at_ms: Option<i64>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum SeedDecision {
    /// Insert the key as the active one.
    Insert,
    /// The kid exists: report `already_seeded`; `same_secret` is None when no secret was given.
    AlreadySeeded { same_secret: Option<bool> },
}

/// `existing`: the stored row with this kid, if any; `active_kid`: the active key's kid, if any.
pub fn decide_seed(existing: Option<&StoredKey>, active_kid: Option<&str>, given_secret: Option<&[u8]>) -> WfResult<SeedDecision> {
    if let Some(k) = existing {
        return Ok(SeedDecision::AlreadySeeded { same_secret: given_secret.map(|s| ct_eq(s, &k.secret)) });
    }
    if let Some(active) = active_kid {
        return Err(WfError::invalid_input(
            "another_kid_active",
            format!("another kid ({active}) is already active; use ff_rotate_hmac to change keys"),
        ));
    }
    Ok(SeedDecision::Insert)
}

#[derive(Debug, PartialEq, Eq)]
pub enum RotateDecision {
    Noop,
    /// Retire the active key (if any) with `expires_at_ms = now + grace`, insert the new active key,
    /// and delete keys retired earlier whose grace has passed.
    Rotate,
}

/// `existing`: the stored row with the new kid, if any. `new_secret` is the given or generated secret.
pub fn decide_rotate(existing: Option<&StoredKey>, new_secret: &[u8]) -> WfResult<RotateDecision> {
    match existing {
        Some(k) if ct_eq(&k.secret, new_secret) => Ok(RotateDecision::Noop),
        Some(k) => {
            Err(WfError::new(ErrorKind::RotationConflict, format!("kid {} already exists with a different secret", k.kid))
                .with_detail("kid"))
        }
        None => Ok(RotateDecision::Rotate),
    }
}

/// Whether a key may verify tokens at `now_ms`: active, or retired and still within grace.
#[derive(Debug, PartialEq, Eq)]
pub enum KeyUsability {
    Usable,
    PastGrace,
}

pub fn key_usability(key: &StoredKey, now_ms: i64) -> KeyUsability {
    if key.active || key.expires_at_ms.is_some_and(|e| now_ms < e) {
        KeyUsability::Usable
    } else {
        KeyUsability::PastGrace
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kid: &str, secret: u8, active: bool, expires: Option<i64>) -> StoredKey {
        StoredKey { kid: kid.into(), secret: vec![secret; 32], active, expires_at_ms: expires }
    }

    #[test]
    fn kid_validation() {
        assert!(validate_kid("kid-1").is_ok());
        assert!(validate_kid(&"k".repeat(64)).is_ok());
        for bad in ["", "a:b", "a b", &"k".repeat(65), "tab\t", "é"] {
            let e = validate_kid(bad).unwrap_err();
            assert_eq!(e.detail.as_deref(), Some("invalid_kid"), "{bad}");
        }
    }

    #[test]
    fn secret_validation() {
        assert_eq!(parse_secret_hex(&"11".repeat(32)).unwrap(), vec![0x11; 32]);
        assert_eq!(parse_secret_hex(&"AB".repeat(64)).unwrap().len(), 64);
        for bad in ["", "1", &"1".repeat(63), &"zz".repeat(32), &"11".repeat(31), &"11".repeat(65)] {
            let e = parse_secret_hex(bad).unwrap_err();
            assert_eq!(e.detail.as_deref(), Some("invalid_secret"));
            assert!(!e.message.contains(bad) || bad.len() < 2, "message must not echo the secret");
        }
    }

    #[test]
    fn grace_validation() {
        assert!(validate_grace_ms(0).is_ok());
        assert!(validate_grace_ms(MAX_GRACE_MS).is_ok());
        assert!(validate_grace_ms(-1).is_err());
        assert!(validate_grace_ms(MAX_GRACE_MS + 1).is_err());
    }

    #[test]
    fn seed_rules() {
        let s = [0x11u8; 32];
        assert_eq!(decide_seed(None, None, Some(&s)).unwrap(), SeedDecision::Insert);
        let k = key("a", 0x11, true, None);
        assert_eq!(decide_seed(Some(&k), Some("a"), Some(&s)).unwrap(), SeedDecision::AlreadySeeded { same_secret: Some(true) });
        assert_eq!(decide_seed(Some(&k), Some("a"), Some(&[0x12; 32])).unwrap(), SeedDecision::AlreadySeeded { same_secret: Some(false) });
        assert_eq!(decide_seed(Some(&k), Some("a"), None).unwrap(), SeedDecision::AlreadySeeded { same_secret: None });
        assert_eq!(decide_seed(None, Some("a"), Some(&s)).unwrap_err().detail.as_deref(), Some("another_kid_active"));
    }

    #[test]
    fn rotate_rules() {
        let k = key("a", 0x11, true, None);
        assert_eq!(decide_rotate(Some(&k), &[0x11; 32]).unwrap(), RotateDecision::Noop);
        assert_eq!(decide_rotate(Some(&k), &[0x12; 32]).unwrap_err().kind, ErrorKind::RotationConflict);
        assert_eq!(decide_rotate(None, &[0x12; 32]).unwrap(), RotateDecision::Rotate);
    }

    #[test]
    fn usability() {
        assert_eq!(key_usability(&key("a", 1, true, None), 10), KeyUsability::Usable);
        assert_eq!(key_usability(&key("a", 1, false, Some(11)), 10), KeyUsability::Usable);
        assert_eq!(key_usability(&key("a", 1, false, Some(10)), 10), KeyUsability::PastGrace);
    }
}
