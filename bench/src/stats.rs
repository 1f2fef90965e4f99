//! Per-client recording of call latencies, cycles and statements, and the merged summary.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

pub type BResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// What one client recorded.
#[derive(Default)]
pub struct Rec {
    /// Latencies in microseconds per operation name (only while measuring, not during warm-up).
    pub lat: BTreeMap<&'static str, Vec<u32>>,
    /// Cycles completed while measuring.
    pub cycles: u64,
    /// Cycles completed in all (warm-up included), to divide WAL bytes by.
    pub cycles_total: u64,
    /// SQL statements sent in all (warm-up included).
    pub statements: u64,
    /// Transactions retried after 40001 / 40P01 (baseline).
    pub retries: u64,
    pub measuring: bool,
    /// When set (start of measuring, window length): latencies and cycles also kept per window.
    pub window: Option<(Instant, Duration)>,
    /// Latencies in microseconds per (window number, operation name).
    pub window_lat: BTreeMap<(u32, &'static str), Vec<u32>>,
    /// Cycles completed per window number.
    pub window_cycles: BTreeMap<u32, u64>,
}

impl Rec {
    /// Time one call of operation `op` that sends `statements` SQL statements.
    pub async fn call<T, F: Future<Output = T>>(&mut self, op: &'static str, statements: u64, f: F) -> T {
        let t = Instant::now();
        let r = f.await;
        self.record(op, t);
        self.statements += statements;
        r
    }

    /// Record the latency of `op`, started at `t` (only while measuring).
    pub fn record(&mut self, op: &'static str, t: Instant) {
        if self.measuring {
            let micros = t.elapsed().as_micros().min(u32::MAX as u128) as u32;
            self.lat.entry(op).or_default().push(micros);
            if let Some(w) = self.current_window() {
                self.window_lat.entry((w, op)).or_default().push(micros);
            }
        }
    }

    /// Count `n` cycles completed while measuring.
    pub fn count_cycles(&mut self, n: u64) {
        self.cycles += n;
        if let Some(w) = self.current_window() {
            *self.window_cycles.entry(w).or_default() += n;
        }
    }

    /// The number of the window now running, when windows are kept.
    fn current_window(&self) -> Option<u32> {
        let (start, len) = self.window?;
        Some((start.elapsed().as_secs_f64() / len.as_secs_f64()) as u32)
    }

    pub fn merge(&mut self, other: Rec) {
        for (k, v) in other.lat {
            self.lat.entry(k).or_default().extend(v);
        }
        for (k, v) in other.window_lat {
            self.window_lat.entry(k).or_default().extend(v);
        }
        for (k, v) in other.window_cycles {
            *self.window_cycles.entry(k).or_default() += v;
        }
        self.cycles += other.cycles;
        self.cycles_total += other.cycles_total;
        self.statements += other.statements;
        self.retries += other.retries;
    }
}

/// Percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pcts {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
}

pub fn percentiles(samples: &mut [u32]) -> Pcts {
    if samples.is_empty() {
        return Pcts::default();
    }
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1] as f64 / 1000.0;
    Pcts { p50: at(0.50), p95: at(0.95), p99: at(0.99) }
}

/// Latencies of the named operations together (all operations when `ops` is empty).
pub fn latencies(rec: &Rec, ops: &[&str]) -> Vec<u32> {
    rec.lat.iter().filter(|(k, _)| ops.is_empty() || ops.contains(k)).flat_map(|(_, v)| v.iter().copied()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_nearest_rank() {
        let mut v: Vec<u32> = (1..=100).map(|i| i * 1000).collect();
        let p = percentiles(&mut v);
        assert_eq!((p.p50, p.p95, p.p99), (50.0, 95.0, 99.0));
        assert_eq!(percentiles(&mut []).p99, 0.0);
    }
}
