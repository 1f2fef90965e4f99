//! Mode "extension": every operation is one SQL function call through the client crate.

use crate::snapshot::Variant;
use crate::stats::{BResult, Rec};
use crate::Workload;
use ff_engine_client::*;

pub struct Ext {
    c: Client,
    lane: String,
    worker: String,
    batch: i32,
    /// Cycles run, for the held-snapshot variants that act on every n-th one.
    cycles: u64,
    /// A connection of its own, for a claim that is rolled back (variant rollback1).
    raw: Option<tokio_postgres::Client>,
}

const KEYS: [&str; 5] = ["k1", "k2", "k3", "k4", "k5"];

/// Children per parent in workload 8.
pub const FAN_OUT: u32 = 100;

impl Ext {
    pub async fn new(conninfo: &str, lane: String, client_no: usize, batch: i32) -> BResult<Ext> {
        let c = Client::builder(conninfo)?.max_connections(1).build()?;
        c.hmac_kids().await?; // open the pooled connection before the clock starts
        let raw = if crate::snapshot::variant() == Variant::Rollback1 {
            let (raw, conn) = tokio_postgres::connect(conninfo, tokio_postgres::NoTls).await?;
            tokio::spawn(conn);
            Some(raw)
        } else {
            None
        };
        Ok(Ext { c, lane, worker: format!("w{client_no}"), batch, cycles: client_no as u64, raw })
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

    /// Workload 3: claim and complete one (or a batch). The held-snapshot variants: lanes16 claims from
    /// the 16 lanes in turn, retries10 fails every tenth execution (retried), rollback1 rolls back
    /// every hundredth claim.
    async fn claim_complete_cycle(&mut self, rec: &mut Rec) -> BResult<u64> {
        self.cycles += 1;
        let variant = crate::snapshot::variant();
        let lane = if variant == Variant::Lanes16 { format!("{}{}", self.lane, self.cycles % 16) } else { self.lane.clone() };
        if let (Some(raw), true) = (&self.raw, self.cycles.is_multiple_of(100)) {
            raw.batch_execute(&format!("BEGIN; SELECT * FROM ff_claim('{lane}', '{}', 'i'); ROLLBACK", self.worker)).await?;
        }
        let (c, worker) = (&self.c, self.worker.as_str());
        if self.batch <= 1 {
            let mut got = rec.call("claim", 1, c.claim(&lane, worker, "i", &[], 30_000, 1)).await?;
            let Some(l) = got.pop() else {
                rec.retries += 1; // an empty claim with work queued (a miss)
                return Ok(0);
            };
            if variant == Variant::Retries10 && self.cycles.is_multiple_of(10) {
                rec.call("fail", 1, c.fail(&l.lease, "retry me", true)).await?;
                return Ok(0);
            }
            rec.call("complete", 1, c.complete(&l.lease, None)).await?;
        } else {
            let got = rec.call("claim", 1, c.claim(&lane, worker, "i", &[], 30_000, self.batch)).await?;
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

/// Set-up SQL for workload 3 under a held-snapshot variant: `n` queued executions in `lane` (spread over
/// three priorities, over 16 lanes `<lane>0`…`<lane>15`, or retried once).
pub fn fill_sql_for(variant: Variant, lane: &str, n: usize) -> String {
    let args = match variant {
        Variant::Priorities3 => format!("lane_id => '{lane}', priority => (g % 3)::int"),
        // From a lane drawn per statement, in turn: `g % 16` alone gave the low lanes more of every
        // small refill, and lanes 15 and 0 ran empty while claimed in turn.
        Variant::Lanes16 => format!("lane_id => '{lane}' || ((g + o.first) % 16)"),
        Variant::Retries10 => format!("lane_id => '{lane}', max_attempts => 2, retry_backoff_ms => 0"),
        _ => format!("lane_id => '{lane}'"),
    };
    // In the select list, so it runs once per row (a LATERAL call without references would run once).
    format!(
        "SELECT count(*) FROM (SELECT ff_create_execution({args}) \
         FROM generate_series(1, {n}) g, (SELECT floor(random() * 16)::int AS first) o) s"
    )
}

pub const RESET_SQL: &str = "DO $$ DECLARE t text; BEGIN \
    FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'ff\\_%' AND tablename <> 'ff_keystore' LOOP \
      EXECUTE format('TRUNCATE %I RESTART IDENTITY CASCADE', t); \
    END LOOP; END $$";
