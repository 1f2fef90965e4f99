//! `ff-engine-client`: the typed async Rust client of the `ff_engine` PostgreSQL extension.
//!
//! * [`Client`]: one async method per SQL function, each one statement and one round trip, over a
//!   deadpool-postgres pool with per-connection prepared statements; `40001`, `40P01` and dropped
//!   connections are retried with jittered backoff ([`RetryPolicy`]).
//! * Typed values: [`ExecutionId`] parses `{fp:N}:<uuid>`; [`WaitpointToken`] and [`GrantKey`] redact
//!   themselves in `Debug`/`Display`; [`ResumeCondition`] builds the API's JSON; outcomes are enums.
//! * [`Error`]: one variant per SQLSTATE of ff_engine's `docs/errors.md`, carrying message and DETAIL.
//! * [`Subscription`]: signal, lease and completion events, exactly once per subscriber in event-id
//!   order, across reconnects (LISTEN or polling); on a Citus cluster, one per node that writes events
//!   ([`Client::subscribe_everywhere`]).
//! * [`Worker`]: the claim / handle / renew / complete loop with graceful stop; a [`Job`] runs durable
//!   steps ([`Job::step`]: once per execution, the stored value on every later attempt), hands back
//!   the continuation of the suspension it resumed from, and appends output frames.
//! * Flows: [`Client::create_flow`], members with dependencies ([`NewExecution::depends_on`]) and
//!   parents ([`NewExecution::parent`]) that are signalled when a child ends, [`Client::cancel_flow`]
//!   and [`Client::wait_for_flow`].
//! * [`FrameTail`]: an execution's output stream followed to its end ([`Client::tail_frames`]).
//! * Reading back: [`Client::get_execution`] (result, failure, attempts), [`Client::wait_for_completion`]
//!   (woken by the completion outbox), operator actions (priority, replay, lease revocation).
//!
//! The pure id, error and condition definitions come from `ff-engine-core`, the crate the extension
//! itself decides with, so client and server parse ids, map codes and serialise conditions
//! identically.
#![deny(missing_docs)]

use ff_engine_core::condition as engine_condition;

mod api_executions;
mod api_flows;
mod api_inspection;
mod api_progress;
mod api_signals;
mod client;
mod client_error;
mod condition;
mod event_nodes;
mod events;
mod retry;
mod types;
mod waiting;
mod worker;

pub use api_executions::NewExecution;
pub use api_flows::{CancelFlowOutcome, CancelFlowWait, FlowInfo, FlowMember};
pub use api_inspection::{AttemptInfo, ExecutionInfo, ExecutionSummary, FinishedExecution, Holdback, LaneInfo};
pub use api_progress::{Frame, FrameTail, Step};
pub use api_signals::{Signal, Suspend, WaitpointBinding};
pub use client::{Client, ClientBuilder};
pub use client_error::{Error, Result, ServerError};
pub use condition::{Distinct, ResumeCondition, SignalMatcher};
pub use event_nodes::{EventNode, NodeSubscriptions};
pub use events::{Cursor, Delivery, Event, EventHeader, EventKind, Subscription, SubscriptionOptions};
pub use ff_engine_core::error::ErrorKind;
pub use ff_engine_core::ids::ExecutionId;
pub use retry::RetryPolicy;
pub use types::*;
pub use worker::{Job, Outcome, Worker, WorkerOptions, WorkerReport};

/// The crate README's code, compiled as a doctest so it cannot rot.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
