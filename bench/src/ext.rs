//! Mode "extension": every operation is one SQL function call through the client crate.

use crate::stats::{BResult, Rec};
use crate::Workload;
use ff_engine_client::*;

pub struct Ext {
    c: Client,
    lane: String,
    worker: String,
    batch: i32,
}

const KEYS: [&str; 5] = ["k1", "k2", "k3", "k4", "k5"];

/// Children per parent in workload 8.
pub const FAN_OUT: u32 = 100;

impl Ext {
    pub async fn new(conninfo: &str, lane: String, client_no: usize, batch: i32) -> BResult<Ext> {
        let c = Client::builder(conninfo)?.max_connections(1).build()?;
        c.hmac_kids().await?; // open the pooled connection before the clock starts
        Ok(Ext { c, lane, worker: format!("w{client_no}"), batch })
    }

    pub async fn cycle(&mut self, w: Workload, rec: &mut Rec) -> BResult<u64> {
        match w {
            Workload::IdleWakeup | Workload::SignalWakeup => unreachable!("latency workloads run in wakeup.rs"),
            Workload::SuspendSignalResume | Workload::CountOfFive | Workload::StepsAndFrames => self.suspend_cycle(w, rec).await,
            Workload::FanIn => self.fan_in_cycle(rec).await,
            Workload::ClaimComplete => self.claim_complete_cycle(rec).await,
            Workload::EmptyClaim => {
                let c = &self.c;
                let g = rec.call("claim", 1, c.claim_for_worker(&self.lane, &self.worker, "i", &[], 5000)).await?;
                assert!(g.is_none());
                Ok(1)
            }
        }
    }

    /// Workloads 1, 2 and 7: create, claim, (steps and frames), suspend, deliver, claim resumed, complete.
    async fn suspend_cycle(&mut self, w: Workload, rec: &mut Rec) -> BResult<u64> {
        let c = &self.c;
        let (lane, worker) = (self.lane.as_str(), self.worker.as_str());
        let id = rec.call("create", 1, c.create_execution(&NewExecution::new(lane))).await?.execution_id;
        let l = rec.call("claim", 1, c.claim(lane, worker, "i", &[], 30_000, 1)).await?.remove(0);
        if w == Workload::StepsAndFrames {
            for (step, frame) in [("fetch", "fetched 512 rows"), ("charge", "charged the card")] {
                let value: &[u8] = br#"{"ok":true,"rows":512}"#;
                rec.call("set_step", 1, c.set_step(&l.lease, step, Some(value))).await?;
                rec.call("append_frame", 1, c.append_frame(&l.lease, FrameKind::Stdout, frame.as_bytes(), None)).await?;
            }
        }
        let condition = if w == Workload::CountOfFive {
            ResumeCondition::count(5, Distinct::Waitpoints, KEYS)
        } else {
            ResumeCondition::single("k1", SignalMatcher::name("go"))
        };
        let s = rec.call("suspend", 1, c.suspend(&l.lease, &Suspend::new(condition))).await?;
        for wp in s.waitpoints {
            let d = rec.call("deliver", 1, c.deliver_signal(&Signal::new(id, wp.waitpoint_id, wp.token, "go"))).await?;
            debug_assert_eq!(d.outcome, SignalOutcome::Accepted);
        }
        let l2 = rec.call("claim", 1, c.claim(lane, worker, "i", &[], 30_000, 1)).await?.remove(0);
        assert!(l2.resumed, "resumed execution expected");
        rec.call("complete", 1, c.complete(&l2.lease, None)).await?;
        Ok(1)
    }

    /// Workload 8: a parent in a flow, its 100 children, the parent resumed by the last one's end.
    async fn fan_in_cycle(&mut self, rec: &mut Rec) -> BResult<u64> {
        let c = &self.c;
        let (lane, worker) = (self.lane.as_str(), self.worker.as_str());
        let kids = format!("{lane}k");
        let (flow, _) = rec.call("create_flow", 1, c.create_flow(None, None, serde_json::json!({}))).await?;
        let parent = rec.call("create", 1, c.create_execution(&NewExecution::new(lane).flow(flow))).await?.execution_id;
        let p = rec.call("claim", 1, c.claim(lane, worker, "i", &[], 30_000, 1)).await?.remove(0);
        rec.call("create_waitpoint", 1, c.create_waitpoint(&p.lease, "children", 600_000)).await?;
        for _ in 0..FAN_OUT {
            rec.call("create", 1, c.create_execution(&NewExecution::new(&kids).parent(parent, "children"))).await?;
        }
        rec.call("suspend", 1, c.suspend(&p.lease, &Suspend::new(ResumeCondition::children(FAN_OUT, "children")))).await?;
        for _ in 0..FAN_OUT {
            let k = rec.call("claim", 1, c.claim(&kids, worker, "i", &[], 30_000, 1)).await?.remove(0);
            rec.call("complete", 1, c.complete(&k.lease, None)).await?;
        }
        let p2 = rec.call("claim", 1, c.claim(lane, worker, "i", &[], 30_000, 1)).await?.remove(0);
        assert!(p2.resumed, "the last child resumed the parent");
        rec.call("complete", 1, c.complete(&p2.lease, None)).await?;
        Ok(1)
    }

    /// Workload 3: claim and complete one (or a batch).
    async fn claim_complete_cycle(&mut self, rec: &mut Rec) -> BResult<u64> {
        let c = &self.c;
        let (lane, worker) = (self.lane.as_str(), self.worker.as_str());
        if self.batch <= 1 {
            let mut got = rec.call("claim", 1, c.claim(lane, worker, "i", &[], 30_000, 1)).await?;
            let Some(l) = got.pop() else {
                rec.retries += 1; // an empty claim with work queued (a miss)
                return Ok(0);
            };
            rec.call("complete", 1, c.complete(&l.lease, None)).await?;
        } else {
            let got = rec.call("claim", 1, c.claim(lane, worker, "i", &[], 30_000, self.batch)).await?;
            if got.is_empty() {
                rec.retries += 1;
                return Ok(0);
            }
            let items: Vec<_> = got.iter().map(|g| (g.lease, None)).collect();
            rec.call("complete", 1, c.complete_many(&items)).await?;
            return Ok(got.len() as u64);
        }
        Ok(1)
    }
}

/// Set-up SQL (superuser): the key, and `n` queued executions in `lane`.
pub fn fill_sql(lane: &str, n: usize) -> String {
    // In the select list, so it runs once per row (a LATERAL call without references would run once).
    format!("SELECT count(*) FROM (SELECT ff_create_execution(lane_id => '{lane}') FROM generate_series(1, {n})) s")
}

pub const RESET_SQL: &str = "DO $$ DECLARE t text; BEGIN \
    FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'ff\\_%' AND tablename <> 'ff_keystore' LOOP \
      EXECUTE format('TRUNCATE %I RESTART IDENTITY CASCADE', t); \
    END LOOP; END $$";
