//! Durable steps and output streams: `ff_set_step`, `ff_get_steps`, `ff_append_frame`,
//! `ff_read_frames`, and [`FrameTail`], which reads a stream to its end and sleeps on the `ff_frame`
//! wake-ups (announced with `ff_await_events`) when it has caught up.

use crate::client::col;
use crate::types::{FrameKind, Lease, StepOutcome};
use crate::{Client, ExecutionId, Result};
use std::collections::VecDeque;
use std::time::Duration;
use tokio::sync::mpsc;

/// One stored step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: Option<Vec<u8>>,
    /// The attempt that stored it.
    pub attempt_index: i32,
    /// When (ms since the epoch).
    pub stored_at_ms: i64,
}

/// One output frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Its place in the execution's stream.
    pub seq: i64,
    /// Its kind.
    pub kind: FrameKind,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// The attempt that appended it.
    pub attempt_index: i32,
    /// When (ms since the epoch).
    pub appended_at_ms: i64,
}

const READ_SQL: &str = "SELECT seq, frame_kind, bytes, attempt_index, appended_at_ms \
     FROM ff_read_frames(execution_id => $1, after_seq => $2, max_rows => $3)";

fn frame(r: &tokio_postgres::Row) -> Result<Frame> {
    Ok(Frame {
        seq: col(r, 0)?,
        kind: FrameKind::parse(col(r, 1)?)?,
        bytes: col(r, 2)?,
        attempt_index: col(r, 3)?,
        appended_at_ms: col(r, 4)?,
    })
}

impl Client {
    /// `ff_set_step`: store `value` under `step_name` for the leased execution, unless a value is
    /// already stored there (the first write wins, across attempts).
    pub async fn set_step(&self, lease: &Lease, step_name: &str, value: Option<&[u8]>) -> Result<StepOutcome> {
        let r = self
            .row(
                "SELECT outcome FROM ff_set_step(execution_id => $1, lease_id => $2, lease_epoch => $3, step_name => $4, value => $5)",
                &[&lease.execution_id.to_string(), &lease.lease_id, &lease.lease_epoch, &step_name, &value],
            )
            .await?;
        StepOutcome::parse(col(&r, 0)?)
    }

    /// `ff_get_steps`: the execution's steps in write order.
    pub async fn get_steps(&self, execution_id: &ExecutionId) -> Result<Vec<Step>> {
        let rows = self
            .rows(
                "SELECT step_name, value, attempt_index, stored_at_ms FROM ff_get_steps(execution_id => $1)",
                &[&execution_id.to_string()],
            )
            .await?;
        rows.iter().map(|r| Ok(Step { name: col(r, 0)?, value: col(r, 1)?, attempt_index: col(r, 2)?, stored_at_ms: col(r, 3)? })).collect()
    }

    /// `ff_append_frame`: append a frame to the leased execution's stream; its seq (the next one, or
    /// `seq` when given, which must be above the last).
    pub async fn append_frame(&self, lease: &Lease, kind: FrameKind, bytes: &[u8], seq: Option<i64>) -> Result<i64> {
        let r = self
            .row(
                "SELECT seq FROM ff_append_frame(execution_id => $1, lease_id => $2, lease_epoch => $3, frame_kind => $4, \
                 bytes => $5, seq => $6)",
                &[&lease.execution_id.to_string(), &lease.lease_id, &lease.lease_epoch, &kind.as_str(), &bytes, &seq],
            )
            .await?;
        col(&r, 0)
    }

    /// `ff_read_frames`: up to `max_rows` frames after `after_seq`, in seq order.
    pub async fn read_frames(&self, execution_id: &ExecutionId, after_seq: i64, max_rows: i32) -> Result<Vec<Frame>> {
        let rows = self.rows(READ_SQL, &[&execution_id.to_string(), &after_seq, &max_rows]).await?;
        rows.iter().map(frame).collect()
    }

    /// Follow an execution's stream from `after_seq`: every frame once, in seq order, until the
    /// execution has ended and its last frame was read. See [`FrameTail`].
    pub fn tail_frames(&self, execution_id: &ExecutionId, after_seq: i64) -> FrameTail {
        FrameTail {
            client: self.clone(),
            execution_id: *execution_id,
            after_seq,
            buffer: VecDeque::new(),
            listener: None,
            max_idle_poll: Duration::from_millis(500),
            ended: false,
        }
    }
}

/// A connection that `LISTEN`s on `ff_frame`, for a caught-up [`FrameTail`].
struct Listener {
    client: tokio_postgres::Client,
    wakeups: mpsc::UnboundedReceiver<()>,
}

/// An execution's stream, followed: [`FrameTail::next`] returns each frame once, in seq order, and
/// `None` once the execution has ended (completed, failed, cancelled, expired) and every frame it
/// appended was read. A reader that has caught up announces itself (`ff_await_events('{ff_frame}')`
/// on a connection of its own that `LISTEN`s on `ff_frame`), reads once more, and sleeps until an
/// append notifies it, or `max_idle_poll` (500 ms) passes: no polling while frames flow.
pub struct FrameTail {
    client: Client,
    execution_id: ExecutionId,
    after_seq: i64,
    buffer: VecDeque<Frame>,
    listener: Option<Listener>,
    max_idle_poll: Duration,
    ended: bool,
}

impl FrameTail {
    /// Sleep at most this long between reads when nothing wakes the reader (default 500 ms).
    pub fn max_idle_poll(mut self, d: Duration) -> Self {
        self.max_idle_poll = d;
        self
    }

    /// The seq of the last frame returned (the `after_seq` to resume from).
    pub fn after_seq(&self) -> i64 {
        self.after_seq
    }

    /// The frames as a `futures` stream (ends when [`FrameTail::next`] would return `None`).
    pub fn into_stream(self) -> impl futures_util::Stream<Item = Result<Frame>> {
        futures_util::stream::unfold(Some(self), |tail| async move {
            let mut tail = tail?;
            match tail.next().await {
                Ok(Some(f)) => Some((Ok(f), Some(tail))),
                Ok(None) => None,
                Err(e) => Some((Err(e), None)),
            }
        })
    }

    /// The next frame; `None` when the stream has ended.
    pub async fn next(&mut self) -> Result<Option<Frame>> {
        loop {
            if let Some(f) = self.buffer.pop_front() {
                self.after_seq = f.seq;
                return Ok(Some(f));
            }
            if self.ended {
                return Ok(None);
            }
            if self.fill().await? {
                continue;
            }
            // Caught up. Whether the execution has ended is read before the last look at the frames:
            // an ended execution appends nothing more, so what that look finds is everything.
            let ended = self.execution_ended().await?;
            self.announce().await;
            if self.fill().await? {
                self.ended = ended;
                continue;
            }
            if ended {
                return Ok(None);
            }
            self.wait().await;
        }
    }

    /// Read the next page into the buffer; whether it found any frame.
    async fn fill(&mut self) -> Result<bool> {
        let frames = self.client.read_frames(&self.execution_id, self.after_seq, 1000).await?;
        let any = !frames.is_empty();
        self.buffer.extend(frames);
        Ok(any)
    }

    async fn execution_ended(&self) -> Result<bool> {
        let r = self
            .client
            .row("SELECT lifecycle_phase = 'terminal' FROM ff_get_execution(execution_id => $1)", &[&self.execution_id.to_string()])
            .await?;
        col(&r, 0)
    }

    /// Announce this reader on `ff_frame` (best effort: without it the reader polls).
    async fn announce(&mut self) {
        if self.listener.is_none() {
            self.listener = self.listen().await.ok();
        }
        if let Some(l) = &self.listener {
            if l.client.batch_execute("SELECT ff_await_events('{ff_frame}')").await.is_err() {
                self.listener = None;
            }
        }
    }

    async fn listen(&self) -> Result<Listener> {
        // Where ff_append_frame (not delegated on a cluster) runs and notifies: the client's server.
        let config = self.client.pg_config().clone();
        let (client, wakeups) = crate::waiting::listening_connection(config, "ff_engine_frame_tail", None).await?;
        client.batch_execute("LISTEN ff_frame").await?;
        Ok(Listener { client, wakeups })
    }

    async fn wait(&mut self) {
        let Some(l) = self.listener.as_mut() else {
            tokio::time::sleep(self.max_idle_poll).await;
            return;
        };
        tokio::select! {
            woke = l.wakeups.recv() => {
                if woke.is_none() {
                    self.listener = None;
                } else {
                    while l.wakeups.try_recv().is_ok() {}
                }
            }
            _ = tokio::time::sleep(self.max_idle_poll) => {}
        }
    }
}
