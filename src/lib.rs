//! ff_engine: a durable-execution engine's hot paths inside PostgreSQL.
//!
//! The tree says which part is which:
//! - `core/` (crate `ff-engine-core`): the pure logic — ids, tokens, keys, conditions, bindings,
//!   lifecycle, admission, the error type. No Postgres; re-exported here under the same names.
//! - [`postgres`]: the Postgres machinery — raising `WF…` errors ([`postgres::raise`]), typed
//!   statements with kept plans ([`postgres::statement`]), settings, NOTIFY.
//! - [`store`]: one module per concept that reads and writes rows through typed statements (SQL in
//!   `sql/statements/<concept>/`) and asks the core to decide.
//! - [`api`]: the SQL surface — every `#[pg_extern]`, a few lines each over [`store`].
//! - `sql/`: the schema (`schema.sql`), ownership and grants (`finalize.sql`), the statements, and
//!   what both editions install as it is (`sql/shared/`: errors, ids, flows, lanes, claim starts).

pub use ff_engine_core::{
    admission, args as checks, batch, bindings, condition, creation, delivery, error, ids, keys, lifecycle, progress, suspend, tokens,
};

// pgrx needs each result type spelled out in the signature (no aliases), so they are long.
#[allow(clippy::type_complexity)]
pub mod api;
pub mod postgres;
pub mod store;

::pgrx::pg_module_magic!();

pgrx::extension_sql_file!("../sql/schema.sql", name = "schema", bootstrap);
pgrx::extension_sql_file!("../sql/shared/errors.sql", name = "shared_errors", requires = ["schema"]);
pgrx::extension_sql_file!("../sql/shared/ids.sql", name = "shared_ids", requires = ["shared_errors"]);
pgrx::extension_sql_file!(
    "../sql/shared/flows.sql",
    name = "flows",
    requires = ["shared_ids", api::flows::ff_wake, api::flows::ff_deliver_engine_signal, api::leases::ff_cancel]
);
pgrx::extension_sql_file!("../sql/shared/lanes.sql", name = "lanes", requires = ["shared_ids", api::flows::ff_lanes_changed]);
pgrx::extension_sql_file!("../sql/shared/claim_start.sql", name = "claim_start", requires = ["shared_ids"]);
pgrx::extension_sql_file!("../sql/shared/scan_starts.sql", name = "scan_starts", requires = ["shared_ids"]);
pgrx::extension_sql_file!(
    "../sql/claim_start_triggers.sql",
    name = "claim_start_triggers",
    requires = ["claim_start", api::claim_start::ff_claim_start_row]
);
pgrx::extension_sql_file!("../sql/conditions.sql", name = "conditions", requires = [api::conditions::ff_cond_check]);
pgrx::extension_sql_file!(
    "../sql/shared/citus.sql",
    name = "citus",
    requires = [
        "shared_ids",
        api::executions::ff_create_execution_0_2,
        api::leases::ff_renew_lease,
        api::leases::ff_complete,
        api::leases::ff_fail_0_2,
        api::suspensions::ff_suspend,
        api::signals::ff_deliver_signal,
    ]
);
pgrx::extension_sql_file!("../sql/cron.sql", name = "cron");
pgrx::extension_sql_file!("../sql/finalize.sql", name = "finalize", finalize);

#[allow(non_snake_case)]
#[pgrx::pg_guard]
pub extern "C-unwind" fn _PG_init() {
    postgres::settings::register();
    postgres::relcache::register();
}

// The in-database tests live in pgrx-tests/ and are compiled into test builds only.
#[cfg(any(test, feature = "pg_test"))]
#[pgrx::pg_schema]
mod tests {
    include!("../pgrx-tests/pg_tests.rs");
}

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
