//! The hot calls' writes one table per statement, and the outbox events as statements of their own
//! (sql/statements/events/). Where a call's statement would write several tables at once (the
//! claim's lease, a renewal, a lease's end, a suspend, a signal's record), it runs the statement
//! files that split it instead: fewer instructions (W1 −1.2 %, W3 −0.7 %), and on a Citus cluster,
//! where the event tables are node-local, each is routed whole with its plan kept where the one
//! statement is planned in steps on every call (docs/scale-out.md). On 0.1.0's schema, whose columns
//! the split statements do not all find, each call runs its one statement as released.

use crate::error::WfResult;
use crate::postgres::release;
use crate::statement;
use pgrx::spi::SpiClient;

/// Whether the hot calls write one table per statement: on every schema but 0.1.0's.
pub fn by_table(client: &SpiClient<'_>) -> WfResult<bool> {
    Ok(!release::on_0_1_schema(client)?)
}

statement! {
    pub mod lease_event = "events/lease_event.sql";
    args<'a> {
        partition_key: i16, execution_ref: &'a str, namespace: Option<&'a str>, now_ms: i64, lease_id: Option<pgrx::Uuid>,
        lease_epoch: i64, event_type: &'a str,
    }
    row {}
}
statement! {
    pub mod completion_event = "events/completion_event.sql";
    args<'a> {
        partition_key: i16, execution_ref: &'a str, namespace: Option<&'a str>, now_ms: i64, outcome: &'a str,
        failure_class: Option<&'a str>,
    }
    row {}
}
statement! {
    pub mod signal_event = "events/signal_event.sql";
    args<'a> {
        partition_key: i16, execution_ref: &'a str, namespace: Option<&'a str>, now_ms: i64, signal_id: pgrx::Uuid,
        waitpoint_id: pgrx::Uuid, signal_name: &'a str, source_type: &'a str, source_identity: &'a str, effect: &'a str,
    }
    row {}
}
