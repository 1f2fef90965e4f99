//! Settings (GUCs): `ff_engine.notify` and `ff_engine.max_reclaims`.

use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};

/// `ff_engine.notify`: issue `pg_notify` for outbox events (off behind transaction-mode poolers).
pub static NOTIFY: GucSetting<bool> = GucSetting::<bool>::new(true);
/// `ff_engine.max_reclaims`: lease expiries an execution survives before it is failed.
pub static MAX_RECLAIMS: GucSetting<i32> = GucSetting::<i32>::new(1000);

pub fn register() {
    GucRegistry::define_bool_guc(
        c"ff_engine.notify",
        c"Send NOTIFY for ff_engine outbox events.",
        c"When off, listeners poll the event tables by event id instead.",
        &NOTIFY,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"ff_engine.max_reclaims",
        c"Lease expiries an execution survives before it is failed.",
        c"After this many lease expiries the scanner fails the execution terminally.",
        &MAX_RECLAIMS,
        0,
        i32::MAX,
        GucContext::Userset,
        GucFlags::default(),
    );
}
