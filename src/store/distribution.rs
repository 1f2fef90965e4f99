//! Whether this database is distributed by Citus, and the check a partition-first call makes there
//! (sql/shared/citus.sql). The answer is read once per backend and kept until a relcache
//! invalidation (distributing ff_exec_core invalidates it, as does any ALTER of the extension's
//! tables), so on one node a partition-first call pays no statement for it.

use crate::error::WfResult;
use crate::postgres::relcache::Remembered;
use crate::statement;
use pgrx::pg_sys;
use pgrx::spi::SpiClient;

statement! {
    mod distributed = "distribution/distributed.sql";
    args {}
    row { distributed: bool }
}
statement! {
    mod check_partition_here = "distribution/check_partition_here.sql";
    args { partition_key: i16 }
    row {}
}

thread_local! {
    static DISTRIBUTED: Remembered = const { Remembered::new() };
}

/// A relation's relcache entry went (crate::postgres::relcache): read the answer again when needed.
pub fn forget(_relid: pg_sys::Oid) {
    DISTRIBUTED.with(Remembered::forget);
}

/// Whether ff_exec_core is distributed by Citus.
fn is_distributed(client: &SpiClient<'_>) -> WfResult<bool> {
    DISTRIBUTED.with(|r| r.get_or_read(|| Ok(distributed::one(client, distributed::Args {})?.distributed)))
}

/// WF035 not_delegated when this database is distributed and the partition's shard is on another
/// node; nothing on one node.
pub fn check_partition_here(client: &SpiClient<'_>, partition_key: i16) -> WfResult<()> {
    if is_distributed(client)? {
        check_partition_here::execute(client, check_partition_here::Args { partition_key })?;
    }
    Ok(())
}
