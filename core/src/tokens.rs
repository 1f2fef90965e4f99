//! HMAC-SHA256 waitpoint tokens and claim-grant keys (semantics §4). Pure Rust; comparisons are
//! constant-time (`hmac`'s `verify_slice`, `subtle`).

use crate::error::{WfError, WfResult};
use crate::ids::ExecutionId;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 of `message` under `secret`.
pub fn hmac_sha256(secret: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// Constant-time check that `digest` is the HMAC of `message` under `secret`.
pub fn hmac_verify(secret: &[u8], message: &[u8], digest: &[u8]) -> bool {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(message);
    mac.verify_slice(digest).is_ok()
}

/// Constant-time equality of two byte strings (lengths are not secret).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

fn waitpoint_message(kid: &str, execution_id: &ExecutionId, waitpoint_id: &Uuid) -> String {
    format!("{kid}:{execution_id}:{}", waitpoint_id.hyphenated())
}

/// The waitpoint token `<kid>:<64 lowercase hex>`.
pub fn waitpoint_token(kid: &str, secret: &[u8], execution_id: &ExecutionId, waitpoint_id: &Uuid) -> String {
    let digest = hmac_sha256(secret, waitpoint_message(kid, execution_id, waitpoint_id).as_bytes());
    format!("{kid}:{}", hex::encode(digest))
}

/// First 16 hex characters of a token's digest: safe to show, useless to forge with.
pub fn token_fingerprint(digest: &[u8; 32]) -> String {
    hex::encode(&digest[..8])
}

/// A presented token split at its first `:`. Parsing failures are all `invalid_token`.
#[derive(Debug, PartialEq, Eq)]
pub struct PresentedToken<'a> {
    pub kid: &'a str,
    pub digest: [u8; 32],
}

pub fn parse_token(token: &str) -> WfResult<PresentedToken<'_>> {
    let (kid, hex_part) = token.split_once(':').ok_or_else(WfError::invalid_token)?;
    if crate::keys::validate_kid(kid).is_err() || hex_part.len() != 64 || !is_lower_hex(hex_part) {
        return Err(WfError::invalid_token());
    }
    let mut digest = [0u8; 32];
    hex::decode_to_slice(hex_part, &mut digest).map_err(|_| WfError::invalid_token())?;
    Ok(PresentedToken { kid, digest })
}

/// Constant-time verification of a presented waitpoint digest.
pub fn verify_waitpoint_digest(kid: &str, secret: &[u8], execution_id: &ExecutionId, waitpoint_id: &Uuid, digest: &[u8]) -> bool {
    hmac_verify(secret, waitpoint_message(kid, execution_id, waitpoint_id).as_bytes(), digest)
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The fields a claim grant signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantClaims<'a> {
    pub execution_id: ExecutionId,
    pub worker_id: &'a str,
    pub worker_instance_id: &'a str,
    pub expires_at_ms: i64,
}

fn grant_message(kid: &str, c: &GrantClaims<'_>) -> String {
    format!(
        "{kid}:{{fp:{}}}|{}|{}|{}|{}",
        c.execution_id.partition,
        c.execution_id.uuid.hyphenated(),
        c.worker_id,
        c.worker_instance_id,
        c.expires_at_ms
    )
}

/// Hex HMAC of a grant (the last field of the grant key).
pub fn grant_signature(kid: &str, secret: &[u8], claims: &GrantClaims<'_>) -> String {
    hex::encode(hmac_sha256(secret, grant_message(kid, claims).as_bytes()))
}

/// `pg:{fp:N}:<exec uuid>:<expires_at_ms>:<kid>:<hex>`.
pub fn grant_key(kid: &str, secret: &[u8], claims: &GrantClaims<'_>) -> String {
    format!(
        "pg:{{fp:{}}}:{}:{}:{kid}:{}",
        claims.execution_id.partition,
        claims.execution_id.uuid.hyphenated(),
        claims.expires_at_ms,
        grant_signature(kid, secret, claims)
    )
}

/// A grant key split into its fields. Parsing failures are all `invalid_claim_grant`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedGrant<'a> {
    pub execution_id: ExecutionId,
    pub expires_at_ms: i64,
    pub kid: &'a str,
    pub digest: [u8; 32],
}

pub fn parse_grant_key(key: &str) -> WfResult<ParsedGrant<'_>> {
    let bad = || crate::error::WfError::new(crate::error::ErrorKind::InvalidClaimGrant, "grant key is malformed");
    if key.len() > 512 {
        return Err(bad());
    }
    let rest = key.strip_prefix("pg:").ok_or_else(bad)?;
    // {fp:N}:<uuid> is the execution id; then :<expires>:<kid>:<hex>.
    let close = rest.find("}:").ok_or_else(bad)?;
    let after_uuid = close + 2 + 36;
    if rest.len() < after_uuid + 1 || !rest.is_char_boundary(after_uuid) {
        return Err(bad());
    }
    let execution_id = ExecutionId::parse(&rest[..after_uuid]).map_err(|_| bad())?;
    let tail = rest[after_uuid..].strip_prefix(':').ok_or_else(bad)?;
    let (expires, tail) = tail.split_once(':').ok_or_else(bad)?;
    if expires.is_empty() || expires.len() > 19 || !expires.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let expires_at_ms: i64 = expires.parse().map_err(|_| bad())?;
    let (kid, hex_part) = tail.split_once(':').ok_or_else(bad)?;
    if crate::keys::validate_kid(kid).is_err() || hex_part.len() != 64 || !is_lower_hex(hex_part) {
        return Err(bad());
    }
    let mut digest = [0u8; 32];
    hex::decode_to_slice(hex_part, &mut digest).map_err(|_| bad())?;
    Ok(ParsedGrant { execution_id, expires_at_ms, kid, digest })
}

/// Constant-time verification of a parsed grant against the worker presenting it.
pub fn verify_grant(secret: &[u8], grant: &ParsedGrant<'_>, worker_id: &str, worker_instance_id: &str) -> bool {
    let claims = GrantClaims { execution_id: grant.execution_id, worker_id, worker_instance_id, expires_at_ms: grant.expires_at_ms };
    hmac_verify(secret, grant_message(grant.kid, &claims).as_bytes(), &grant.digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: [u8; 32] = [0x11; 32];

    fn exec() -> ExecutionId {
        ExecutionId::parse("{fp:7}:6f1c1e9e-0000-4000-8000-000000000001").unwrap()
    }

    #[test]
    fn waitpoint_token_vector() {
        let wp = Uuid::parse_str("6f1c1e9e-0000-4000-8000-0000000000aa").unwrap();
        let token = waitpoint_token("kid-1", &SECRET, &exec(), &wp);
        assert_eq!(token, "kid-1:b5ac18077d52b2213024ce556a24d956c88d10a92c80ac7dd85d36be5dd0d048");
        let p = parse_token(&token).unwrap();
        assert_eq!(p.kid, "kid-1");
        assert!(verify_waitpoint_digest(p.kid, &SECRET, &exec(), &wp, &p.digest));
        let other = Uuid::parse_str("6f1c1e9e-0000-4000-8000-0000000000ab").unwrap();
        assert!(!verify_waitpoint_digest(p.kid, &SECRET, &exec(), &other, &p.digest));
        assert!(!verify_waitpoint_digest(p.kid, &[0x12; 32], &exec(), &wp, &p.digest));
    }

    #[test]
    fn grant_vector() {
        let claims = GrantClaims { execution_id: exec(), worker_id: "w1", worker_instance_id: "wi1", expires_at_ms: 1_700_000_000_000 };
        assert_eq!(grant_message("kid-1", &claims), "kid-1:{fp:7}|6f1c1e9e-0000-4000-8000-000000000001|w1|wi1|1700000000000");
        assert_eq!(grant_signature("kid-1", &SECRET, &claims), "2c0d5ba1d9dba5c8e3c27d9bda4ce82c4076afc5758cc681865aeca33a46efe0");
        let key = grant_key("kid-1", &SECRET, &claims);
        assert_eq!(
            key,
            "pg:{fp:7}:6f1c1e9e-0000-4000-8000-000000000001:1700000000000:kid-1:2c0d5ba1d9dba5c8e3c27d9bda4ce82c4076afc5758cc681865aeca33a46efe0"
        );
        let parsed = parse_grant_key(&key).unwrap();
        assert_eq!(parsed.execution_id, exec());
        assert_eq!(parsed.expires_at_ms, 1_700_000_000_000);
        assert!(verify_grant(&SECRET, &parsed, "w1", "wi1"));
        assert!(!verify_grant(&SECRET, &parsed, "w2", "wi1"));
        assert!(!verify_grant(&SECRET, &parsed, "w1", "wi2"));
    }

    #[test]
    fn malformed_tokens_and_grants() {
        for t in [
            "",
            ":",
            "kid-1",
            "kid-1:",
            "kid-1:zz",
            &format!("kid-1:{}", "A".repeat(64)),
            &format!(":{}", "a".repeat(64)),
            &format!("k k:{}", "a".repeat(64)),
        ] {
            assert_eq!(parse_token(t).unwrap_err().kind, crate::error::ErrorKind::InvalidToken, "{t}");
        }
        let good = "pg:{fp:7}:6f1c1e9e-0000-4000-8000-000000000001:1700000000000:kid-1:2c0d5ba1d9dba5c8e3c27d9bda4ce82c4076afc5758cc681865aeca33a46efe0";
        for g in [
            "",
            "pg:",
            &good[..good.len() - 1],
            &good.replace("pg:", "px:"),
            &good.replace(":1700000000000:", ":-1:"),
            &good.replace(":1700000000000:", "::"),
            &good.replace("kid-1", ""),
            &good.replace("{fp:7}", "{fp:700}"),
            &format!("{good}0"),
        ] {
            assert_eq!(parse_grant_key(g).unwrap_err().kind, crate::error::ErrorKind::InvalidClaimGrant, "{g}");
        }
    }

    #[test]
    fn ct_eq_works() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic(s in "\\PC{0,200}") {
            let _ = parse_token(&s);
            let _ = parse_grant_key(&s);
        }
    }
}
