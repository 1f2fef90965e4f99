//! ff_engine: a durable-execution engine's hot paths inside PostgreSQL.
//!
//! Pure logic (no Postgres): `error`, `ids`, `tokens`, `keys`.
//! Postgres layer: `raise` (the one error-raising helper), `plans` (per-backend prepared SPI plans),
//! `keystore` (key functions), `settings` (GUCs). SQL schema: `sql/`.

pub mod admission;
pub mod bindings;
pub mod condition;
pub mod error;
pub mod ids;
pub mod keys;
pub mod lifecycle;
pub mod tokens;

mod budgets;
mod claims;
mod events;
mod executions;
mod keystore;
mod leases;
mod plans;
mod raise;
mod scanners;
mod settings;
mod signals;
mod suspensions;

::pgrx::pg_module_magic!();

pgrx::extension_sql_file!("../sql/schema.sql", name = "schema", bootstrap);
pgrx::extension_sql_file!("../sql/finalize.sql", name = "finalize", finalize);

#[allow(non_snake_case)]
#[pgrx::pg_guard]
pub extern "C-unwind" fn _PG_init() {
    settings::register();
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
