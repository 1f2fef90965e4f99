//! Mode "absurd": Absurd 0.5.1's PL/pgSQL functions (installed by `absurdctl init`), one call each.
//! create = spawn_task, claim = claim_task, suspend = await_event, signal = emit_event,
//! complete = complete_run. Absurd has no composite conditions: "5 of 5" is five sequential awaits,
//! each woken by its own event and re-claimed. Nor children that signal a parent: fan-in (workload 8)
//! is the parent awaiting one event per child, each child emitting its event before it completes.

use crate::stats::{BResult, Rec};
use crate::Workload;
use tokio_postgres::{Client, NoTls, Statement};
use uuid::Uuid;

pub struct Absurd {
    c: Client,
    queue: String,
    worker: String,
    spawn: Statement,
    claim: Statement,
    await_event: Statement,
    emit: Statement,
    complete: Statement,
}

impl Absurd {
    pub async fn new(conninfo: &str, queue: String, client_no: usize) -> BResult<Absurd> {
        let (c, conn) = tokio_postgres::connect(conninfo, NoTls).await?;
        tokio::spawn(conn);
        let spawn = c.prepare("SELECT task_id, run_id FROM absurd.spawn_task($1, 'job', '{}'::jsonb)").await?;
        let claim = c.prepare("SELECT run_id, task_id FROM absurd.claim_task($1, $2, 30, 1)").await?;
        let await_event = c.prepare("SELECT should_suspend FROM absurd.await_event($1, $2, $3, $4, $5)").await?;
        let emit = c.prepare("SELECT absurd.emit_event($1, $2, '{}'::jsonb)").await?;
        let complete = c.prepare("SELECT absurd.complete_run($1, $2)").await?;
        Ok(Absurd { c, queue, worker: format!("w{client_no}"), spawn, claim, await_event, emit, complete })
    }

    async fn claim_one(&self, rec: &mut Rec) -> BResult<Option<(Uuid, Uuid)>> {
        let rows = rec.call("claim", 1, self.c.query(&self.claim, &[&self.queue, &self.worker])).await?;
        Ok(rows.first().map(|r| (r.get(0), r.get(1))))
    }

    pub async fn cycle(&mut self, w: Workload, rec: &mut Rec) -> BResult<u64> {
        let q = &self.queue;
        match w {
            Workload::IdleWakeup | Workload::SignalWakeup => unreachable!("latency workloads run in wakeup.rs"),
            Workload::StepsAndFrames => unreachable!("not run in mode absurd"),
            Workload::SuspendSignalResume | Workload::CountOfFive => {
                let steps = if w == Workload::CountOfFive { 5 } else { 1 };
                rec.call("create", 1, self.c.query_one(&self.spawn, &[q])).await?;
                let (mut run, task) = self.claim_one(rec).await?.ok_or("nothing to claim")?;
                for step in 0..steps {
                    let event = format!("ev-{task}-{step}");
                    let step_name = format!("step-{step}");
                    let r = rec.call("suspend", 1, self.c.query_one(&self.await_event, &[q, &task, &run, &step_name, &event])).await?;
                    assert!(r.get::<_, bool>(0), "await_event must suspend");
                    rec.call("deliver", 1, self.c.execute(&self.emit, &[q, &event])).await?;
                    let (r2, t2) = self.claim_one(rec).await?.ok_or("woken task not claimable")?;
                    assert_eq!(t2, task);
                    run = r2;
                }
                rec.call("complete", 1, self.c.execute(&self.complete, &[q, &run])).await?;
            }
            Workload::FanIn => self.fan_in(rec).await?,
            Workload::ClaimComplete => {
                let Some((run, _)) = self.claim_one(rec).await? else {
                    rec.retries += 1; // Absurd's claim can come back empty under contention (a miss)
                    return Ok(0);
                };
                rec.call("complete", 1, self.c.execute(&self.complete, &[q, &run])).await?;
            }
            Workload::EmptyClaim => {
                assert!(self.claim_one(rec).await?.is_none());
            }
        }
        Ok(1)
    }
}

impl Absurd {
    /// Workload 8: the parent spawns the children and awaits `done-<child>` for each in turn; a child
    /// emits its event and completes; the parent, woken, takes the events already emitted without
    /// suspending and completes after the last.
    async fn fan_in(&self, rec: &mut Rec) -> BResult<()> {
        let q = &self.queue;
        rec.call("create", 1, self.c.query_one(&self.spawn, &[q])).await?;
        let (mut run, parent) = self.claim_one(rec).await?.ok_or("nothing to claim")?;
        let mut kids = Vec::new();
        for _ in 0..crate::ext::FAN_OUT {
            kids.push(rec.call("create", 1, self.c.query_one(&self.spawn, &[q])).await?.get::<_, Uuid>(0));
        }
        let mut next = 0;
        loop {
            // The parent awaits the children's events in order until one is not there yet.
            while next < kids.len() {
                let (step, event) = (format!("child-{next}"), format!("done-{}", kids[next]));
                let r = rec.call("suspend", 1, self.c.query_one(&self.await_event, &[q, &parent, &run, &step, &event])).await?;
                if r.get::<_, bool>(0) {
                    break;
                }
                next += 1;
            }
            if next == kids.len() {
                rec.call("complete", 1, self.c.execute(&self.complete, &[q, &run])).await?;
                return Ok(());
            }
            // Run children until the parent is woken.
            loop {
                let (r, task) = self.claim_one(rec).await?.ok_or("nothing claimable while the parent waits")?;
                if task == parent {
                    run = r;
                    break;
                }
                rec.call("deliver", 1, self.c.execute(&self.emit, &[q, &format!("done-{task}")])).await?;
                rec.call("complete", 1, self.c.execute(&self.complete, &[q, &r])).await?;
            }
        }
    }
}

pub fn fill_sql(queue: &str, n: usize) -> String {
    format!("SELECT count(*) FROM (SELECT absurd.spawn_task('{queue}', 'job', '{{}}'::jsonb) FROM generate_series(1, {n})) s")
}
