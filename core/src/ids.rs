//! Identifiers (semantics §1): execution ids `{fp:N}:<uuid>`, CRC-16/XMODEM partition minting, and the
//! validation of lane, worker and capability strings. Pure Rust.

use crate::error::{WfError, WfResult};
use std::fmt;
use uuid::Uuid;

/// Number of partitions: `N` in `{fp:N}` is below this.
pub const PARTITIONS: u16 = 256;

/// CRC-16/XMODEM: poly 0x1021, init 0, no reflection, no final xor.
pub fn crc16_xmodem(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &byte in data {
        crc ^= (byte as u16) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
        }
    }
    crc
}

/// Partition of a solo execution: crc16(lane_id as UTF-8) % 256.
pub fn partition_for_lane(lane_id: &str) -> u16 {
    crc16_xmodem(lane_id.as_bytes()) % PARTITIONS
}

/// Partition of a flow member: crc16(flow_id's 16 raw bytes) % 256.
pub fn partition_for_flow(flow_id: &Uuid) -> u16 {
    crc16_xmodem(flow_id.as_bytes()) % PARTITIONS
}

/// An execution id: partition plus uuid. Displays as `{fp:N}:<uuid>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExecutionId {
    pub partition: u16,
    pub uuid: Uuid,
}

impl ExecutionId {
    /// Parse strictly: `{fp:`, decimal digits (< 256, no sign, no leading zeros beyond "0"),
    /// `}:`, a lowercase hyphenated uuid.
    pub fn parse(text: &str) -> WfResult<ExecutionId> {
        let bad = |why: &str| WfError::invalid_input("invalid_execution_id", format!("execution_id {why}; expected {{fp:N}}:<uuid>"));
        if text.len() > 64 {
            return Err(bad("is too long"));
        }
        let rest = text.strip_prefix("{fp:").ok_or_else(|| bad("must start with {fp:"))?;
        let close = rest.find('}').ok_or_else(|| bad("has no closing brace"))?;
        let partition =
            parse_partition_digits(&rest[..close]).ok_or_else(|| bad("has a partition that is not a decimal number below 256"))?;
        let uuid_text = rest[close + 1..].strip_prefix(':').ok_or_else(|| bad("needs ':' after the partition"))?;
        let uuid = parse_canonical_uuid(uuid_text).ok_or_else(|| bad("has a uuid that is not lowercase hyphenated"))?;
        Ok(ExecutionId { partition, uuid })
    }

    /// Mint an id for a new execution: flow members by flow id, solo executions by lane; uuid v4.
    pub fn mint(lane_id: &str, flow_id: Option<&Uuid>) -> ExecutionId {
        let partition = match flow_id {
            Some(f) => partition_for_flow(f),
            None => partition_for_lane(lane_id),
        };
        ExecutionId { partition, uuid: Uuid::new_v4() }
    }

    pub fn partition_key_text(&self) -> String {
        format!("{{fp:{}}}", self.partition)
    }
}

impl fmt::Display for ExecutionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{fp:{}}}:{}", self.partition, self.uuid.hyphenated())
    }
}

fn parse_partition_digits(s: &str) -> Option<u16> {
    if s.is_empty() || s.len() > 3 || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0')) {
        return None;
    }
    let n: u16 = s.parse().ok()?;
    (n < PARTITIONS).then_some(n)
}

/// Parse `{fp:N}` (partition key text form).
pub fn parse_partition_key(text: &str) -> WfResult<u16> {
    text.strip_prefix("{fp:")
        .and_then(|r| r.strip_suffix('}'))
        .and_then(parse_partition_digits)
        .ok_or_else(|| WfError::invalid_input("invalid_partition_key", "partition key must be {fp:N} with N below 256"))
}

/// A uuid in canonical lowercase hyphenated form (36 chars), nothing else.
pub fn parse_canonical_uuid(s: &str) -> Option<Uuid> {
    if s.len() != 36 {
        return None;
    }
    for (i, b) in s.bytes().enumerate() {
        let ok = match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
        };
        if !ok {
            return None;
        }
    }
    Uuid::parse_str(s).ok()
}

/// `lane_id`: 1–64 bytes of printable ASCII (0x20–0x7e).
pub fn validate_lane_id(lane_id: &str) -> WfResult<()> {
    if lane_id.is_empty() || lane_id.len() > 64 || !lane_id.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        return Err(WfError::invalid_input("invalid_lane_id", "lane_id must be 1-64 bytes of printable ASCII"));
    }
    Ok(())
}

/// `worker_id`, `worker_instance_id`: non-empty, at most 256 bytes.
pub fn validate_worker_field(value: &str, field: &str) -> WfResult<()> {
    if value.is_empty() || value.len() > 256 {
        return Err(WfError::invalid_input(&format!("invalid_{field}"), format!("{field} must be 1-256 bytes")));
    }
    Ok(())
}

/// Capability tokens: each non-empty and at most 256 bytes; at most 256 of them.
pub fn validate_capabilities(caps: &[String], field: &str) -> WfResult<()> {
    if caps.len() > 256 {
        return Err(WfError::invalid_input(&format!("invalid_{field}"), format!("{field}: at most 256 capability tokens")));
    }
    if caps.iter().any(|c| c.is_empty() || c.len() > 256) {
        return Err(WfError::invalid_input(&format!("invalid_{field}"), format!("{field}: each token must be 1-256 bytes")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn crc16_check_value() {
        assert_eq!(crc16_xmodem(b"123456789"), 0x31C3);
        assert_eq!(crc16_xmodem(b""), 0);
    }

    #[test]
    fn parse_roundtrip_and_strictness() {
        let id = ExecutionId::parse("{fp:7}:6f1c1e9e-0000-4000-8000-000000000001").unwrap();
        assert_eq!(id.partition, 7);
        assert_eq!(id.to_string(), "{fp:7}:6f1c1e9e-0000-4000-8000-000000000001");
        assert_eq!(id.partition_key_text(), "{fp:7}");
        for bad in [
            "",
            "{fp:}:6f1c1e9e-0000-4000-8000-000000000001",
            "{fp:256}:6f1c1e9e-0000-4000-8000-000000000001",
            "{fp:07}:6f1c1e9e-0000-4000-8000-000000000001",
            "{fp:-1}:6f1c1e9e-0000-4000-8000-000000000001",
            "{fp:7}6f1c1e9e-0000-4000-8000-000000000001",
            "{fp:7}:6F1C1E9E-0000-4000-8000-000000000001",
            "{fp:7}:6f1c1e9e000040008000000000000001",
            "{fp:7}:6f1c1e9e-0000-4000-8000-000000000001x",
            "fp:7:6f1c1e9e-0000-4000-8000-000000000001",
            "{fp:7}:{6f1c1e9e-0000-4000-8000-000000000001}",
        ] {
            let e = ExecutionId::parse(bad).unwrap_err();
            assert_eq!(e.kind, crate::error::ErrorKind::InvalidInput, "{bad}");
        }
    }

    #[test]
    fn minting_rules() {
        let id = ExecutionId::mint("default", None);
        assert_eq!(id.partition, crc16_xmodem(b"default") % 256);
        assert_eq!(id.uuid.get_version_num(), 4);
        let flow = Uuid::parse_str("6f1c1e9e-0000-4000-8000-0000000000ff").unwrap();
        let m = ExecutionId::mint("default", Some(&flow));
        assert_eq!(m.partition, crc16_xmodem(flow.as_bytes()) % 256);
    }

    #[test]
    fn lanes_workers_caps() {
        assert!(validate_lane_id("a").is_ok());
        assert!(validate_lane_id(&"x".repeat(64)).is_ok());
        assert!(validate_lane_id("").is_err());
        assert!(validate_lane_id(&"x".repeat(65)).is_err());
        assert!(validate_lane_id("tab\t").is_err());
        assert!(validate_lane_id("é").is_err());
        assert!(validate_worker_field("w", "worker_id").is_ok());
        assert!(validate_worker_field("", "worker_id").is_err());
        assert!(validate_worker_field(&"w".repeat(257), "worker_id").is_err());
        assert!(validate_capabilities(&["gpu".into()], "capabilities").is_ok());
        assert!(validate_capabilities(&["".into()], "capabilities").is_err());
        assert!(validate_capabilities(&vec!["a".to_string(); 257], "capabilities").is_err());
        assert_eq!(parse_partition_key("{fp:255}").unwrap(), 255);
        assert!(parse_partition_key("{fp:256}").is_err());
    }

    proptest! {
        #[test]
        fn display_parse_roundtrip(p in 0u16..256, bytes in any::<[u8; 16]>()) {
            let id = ExecutionId { partition: p, uuid: Uuid::from_bytes(bytes) };
            prop_assert_eq!(ExecutionId::parse(&id.to_string()).unwrap(), id);
        }

        #[test]
        fn parse_never_panics(s in ".{0,80}") {
            let _ = ExecutionId::parse(&s);
        }
    }
}
