//! The Postgres machinery under the SQL surface: nothing here knows the engine's rules.
//!
//! - [`raise`]: the one audited place that raises errors (`WF…` SQLSTATEs, panics → `WF099`).
//! - [`statement`]: typed statements (`statement!`), prepared once per backend and kept.
//! - [`settings`]: the `ff_engine.*` GUCs.
//! - [`notify`]: outbox NOTIFY through `Async_Notify`.
//! - [`release`]: which release's schema the database has (before `ALTER EXTENSION … UPDATE`).
//! - [`relcache`]: the one relcache invalidation callback that clears the per-backend caches.
//! - [`args`]: turning SQL arguments into checked Rust values; [`jsonb`]: jsonb arguments that
//!   cannot fail to convert.

pub mod args;
pub mod jsonb;
pub mod notify;
pub mod raise;
pub mod relcache;
pub mod release;
pub mod settings;
pub mod statement;
