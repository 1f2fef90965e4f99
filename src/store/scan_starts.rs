//! Scan starts of the time-ordered scanners (`sql/shared/scan_starts.sql`): lease expiry, delayed
//! promotion, suspension timeouts and deadlines scan their index from a lower bound on the keys still
//! due, not from its earliest entry, so a snapshot held for minutes does not make each run walk every
//! entry moved out since.

use crate::error::WfResult;
use crate::statement;
use crate::store::scanners::ScanFilter;
use pgrx::spi::SpiClient;

statement! {
    mod scan_from = "scanners/scan_from.sql";
    args<'a> { scanner: &'a str, now_ms: i64, unfiltered: bool }
    row { scan_from: i64 }
}
statement! {
    mod scan_done = "scanners/scan_done.sql";
    args<'a> { scanner: &'a str, now_ms: i64 }
    row {}
}

/// A run of one scanner: where it scans from, and whether it may move the start afterwards.
pub struct Run<'a> {
    scanner: &'a str,
    now_ms: i64,
    unfiltered: bool,
    pub from: i64,
}

/// Begin a run of `scanner` at `now_ms` (on release 0.1.0's schema, which keeps no starts: from the
/// earliest key, and nothing is moved).
pub fn begin<'a>(client: &SpiClient<'_>, scanner: &'a str, now_ms: i64, f: &ScanFilter<'_>) -> WfResult<Run<'a>> {
    if crate::postgres::release::on_0_1_schema(client)? {
        return Ok(Run { scanner, now_ms, unfiltered: false, from: i64::MIN });
    }
    let unfiltered = !f.is_filtered();
    let from = scan_from::one(client, scan_from::Args { scanner, now_ms, unfiltered })?.scan_from;
    Ok(Run { scanner, now_ms, unfiltered, from })
}

impl Run<'_> {
    /// The run found `found` due rows out of at most `max_rows`: when it found fewer (it processed every
    /// due row it saw) and was unfiltered, the start moves up.
    pub fn end(self, client: &SpiClient<'_>, found: usize, max_rows: i64) -> WfResult<()> {
        if self.unfiltered && (found as i64) < max_rows {
            scan_done::execute(client, scan_done::Args { scanner: self.scanner, now_ms: self.now_ms })?;
        }
        Ok(())
    }
}
