//! The engine's reads and writes, one module per concept. Each declares its statements with
//! `statement!` (SQL in `sql/statements/<concept>/`, typed arguments and rows), runs them through
//! SPI and asks the core (`ff-engine-core`) to decide. The `#[pg_extern]` shells are in
//! [`crate::api`].
//!
//! Concurrency rule shared by every module: an execution's row in `ff_exec_core` is its mutex. Every
//! operation that changes an execution locks that row first (`FOR UPDATE`), then touches its
//! suspensions, waitpoints, signals and attempts; scanners skip rows that are locked.

pub mod budgets;
pub mod claim_starts;
pub mod claims;
pub mod distribution;
pub mod events;
pub mod executions;
pub mod inspection;
pub mod keystore;
pub mod lanes;
pub mod leases;
pub mod operator;
pub mod progress;
pub mod scan_starts;
pub mod scanners;
pub mod signals;
pub mod suspensions;
pub mod wakeups;
