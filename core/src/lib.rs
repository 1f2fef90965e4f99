//! `ff-engine-core`: the pure logic of ff_engine, with no Postgres in it.
//!
//! The extension (`ff_engine`, the crate at the repository root) reads and writes rows and calls these
//! modules to decide; the client (`ff-engine-client`) uses the same ids, error kinds and conditions, so
//! client and server parse, map and serialise identically. Everything here is unit- and property-tested
//! with plain `cargo test -p ff-engine-core`, without building pgrx.
//!
//! | module | what it decides |
//! |---|---|
//! | [`args`] | text lengths and page sizes of SQL arguments |
//! | [`creation`] | `ff_create_execution`'s arguments, checked and normalised |
//! | [`batch`] | `ff_complete_many`'s array of leases |
//! | [`delivery`] | a signal's argument checks and the delivery checks of semantics §6 |
//! | [`error`] | the one error type: kind → SQLSTATE, message, DETAIL |
//! | [`ids`] | execution ids (`{fp:N}:<uuid>`), partitions, lane / worker / capability validation |
//! | [`tokens`] | HMAC-SHA256 waitpoint tokens and claim grants, constant-time verification |
//! | [`keys`] | keystore decisions: seed, rotate, grace windows |
//! | [`condition`] | resume conditions: parse, evaluate, the effect of one more signal |
//! | [`bindings`] | which waitpoints a suspension binds, timeout rules |
//! | [`lifecycle`] | the five state columns of each transition, fences, retry back-off |
//! | [`admission`] | budget and quota admission |
//! | [`progress`] | durable steps (first write wins) and output frames (seq, ceilings) |
//! | [`suspend`] | `ff_suspend`'s checks, the replay of buffered signals, what it writes and returns |
//! | [`sql_legend`] | the `$n` legend of the extension's statement files |

pub mod admission;
pub mod args;
pub mod batch;
pub mod bindings;
pub mod condition;
pub mod creation;
pub mod delivery;
pub mod error;
pub mod ids;
pub mod keys;
pub mod lifecycle;
pub mod progress;
pub mod sql_legend;
pub mod suspend;
pub mod tokens;
