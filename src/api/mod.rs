//! The SQL surface: every `#[pg_extern]` of ff_engine, one module per concept, each body a call into
//! [`crate::store`] inside [`crate::postgres::raise::guarded`] (which raises a `WfError` with its
//! `WF…` SQLSTATE). All are `SECURITY DEFINER` with a pinned `search_path`; grants are in
//! `sql/finalize.sql`. pgrx needs each result type spelled out in the signature (no aliases).

pub mod budgets;
pub mod claim_start;
pub mod claims;
pub mod compat;
pub mod conditions;
pub mod executions;
pub mod flows;
pub mod inspection;
pub mod keys;
pub mod leases;
pub mod operator;
pub mod progress;
pub mod scanners;
pub mod signals;
pub mod suspensions;
pub mod wakeups;
