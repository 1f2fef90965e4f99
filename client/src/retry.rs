//! Retry with jittered exponential backoff (pure; the client's call loop uses it).
//!
//! Only failures for which [`crate::Error::is_retryable`] holds are retried: `40001`, `40P01` and dropped
//! connections. Every other error is returned at once.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// How often and how patiently a failed call is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = never retry).
    pub max_attempts: u32,
    /// The backoff ceiling before the first retry; it doubles per retry.
    pub base_delay: Duration,
    /// The largest ceiling.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// 5 attempts; ceilings 20 ms, 40 ms, 80 ms, 160 ms (capped at 2 s).
    fn default() -> Self {
        RetryPolicy { max_attempts: 5, base_delay: Duration::from_millis(20), max_delay: Duration::from_secs(2) }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub const NEVER: RetryPolicy = RetryPolicy { max_attempts: 1, base_delay: Duration::ZERO, max_delay: Duration::ZERO };

    /// The ceiling for the wait before retry number `retry` (0-based): `base * 2^retry`, capped.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// "Full jitter": a uniformly random wait in `[0, ceiling(retry)]`, so that clients that failed
    /// together do not retry together.
    pub fn delay(&self, retry: u32, random: u64) -> Duration {
        let ceiling = self.ceiling(retry).as_micros() as u64;
        Duration::from_micros(if ceiling == 0 { 0 } else { random % (ceiling + 1) })
    }
}

/// A random number for jitter (a per-call randomly keyed hash; no crypto needed).
pub fn jitter_seed() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ceilings_double_and_cap() {
        let p = RetryPolicy::default();
        assert_eq!(p.ceiling(0), Duration::from_millis(20));
        assert_eq!(p.ceiling(1), Duration::from_millis(40));
        assert_eq!(p.ceiling(3), Duration::from_millis(160));
        assert_eq!(p.ceiling(10), Duration::from_secs(2));
        assert_eq!(p.ceiling(1000), Duration::from_secs(2));
        assert_eq!(RetryPolicy::NEVER.delay(3, 12345), Duration::ZERO);
    }

    #[test]
    fn jitter_spreads_waits() {
        let p = RetryPolicy::default();
        let waits: std::collections::HashSet<Duration> = (0..50).map(|_| p.delay(2, jitter_seed())).collect();
        assert!(waits.len() > 10, "jitter produced only {} distinct waits", waits.len());
    }

    proptest! {
        #[test]
        fn delay_never_exceeds_its_ceiling(retry in 0u32..64, random in any::<u64>(), base in 0u64..10_000, max in 0u64..100_000) {
            let p = RetryPolicy { max_attempts: 5, base_delay: Duration::from_micros(base), max_delay: Duration::from_micros(max) };
            prop_assert!(p.delay(retry, random) <= p.ceiling(retry));
            prop_assert!(p.ceiling(retry) <= p.max_delay);
        }
    }
}
