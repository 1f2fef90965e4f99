//! Mode "baseline": the same operations done the way FlowFabric's Postgres backend does them — a
//! SERIALIZABLE transaction of separate statements sent from the client, the decisions (fence check,
//! HMAC verification, condition evaluation) made in the client, retried up to 3 times on 40001/40P01;
//! the claim walks the 256 partitions, one transaction each. Tables shaped like ff_engine's.

use crate::stats::{BResult, Rec};
use crate::Workload;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio_postgres::{Client, NoTls, Statement};
use uuid::Uuid;

pub const SCHEMA_SQL: &str = "
CREATE TABLE IF NOT EXISTS bl_keystore (kid text PRIMARY KEY, secret bytea NOT NULL, active boolean NOT NULL);
CREATE TABLE IF NOT EXISTS bl_exec (
    partition_key smallint NOT NULL, execution_id uuid NOT NULL, lane_id text NOT NULL,
    priority int NOT NULL DEFAULT 0, created_at_ms bigint NOT NULL, state text NOT NULL,
    interrupted boolean NOT NULL DEFAULT false, attempt_index int NOT NULL DEFAULT 0,
    lease_id uuid, lease_epoch bigint NOT NULL DEFAULT 0, lease_expires_at_ms bigint, worker_id text,
    payload bytea, PRIMARY KEY (partition_key, execution_id));
CREATE INDEX IF NOT EXISTS bl_exec_claimable ON bl_exec (partition_key, lane_id, priority DESC, created_at_ms)
    WHERE state = 'runnable';
CREATE TABLE IF NOT EXISTS bl_suspension (
    partition_key smallint NOT NULL, execution_id uuid NOT NULL, suspension_id uuid NOT NULL,
    condition jsonb NOT NULL, signal_map jsonb NOT NULL, state text NOT NULL,
    PRIMARY KEY (partition_key, execution_id));
CREATE TABLE IF NOT EXISTS bl_waitpoint (
    partition_key smallint NOT NULL, waitpoint_id uuid NOT NULL, execution_id uuid NOT NULL,
    waitpoint_key text NOT NULL, kid text NOT NULL, state text NOT NULL, PRIMARY KEY (partition_key, waitpoint_id));
CREATE TABLE IF NOT EXISTS bl_signal_event (event_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    partition_key smallint, execution_id uuid, signal_id uuid, waitpoint_id uuid, signal_name text, effect text,
    occurred_at_ms bigint);
CREATE TABLE IF NOT EXISTS bl_lease_event (event_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    partition_key smallint, execution_id uuid, lease_id uuid, lease_epoch bigint, event_type text, occurred_at_ms bigint);
CREATE TABLE IF NOT EXISTS bl_completion_event (event_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    partition_key smallint, execution_id uuid, outcome text, occurred_at_ms bigint);
INSERT INTO bl_keystore VALUES ('k1', decode(repeat('ab', 32), 'hex'), true) ON CONFLICT DO NOTHING;
";

pub const RESET_SQL: &str =
    "TRUNCATE bl_exec, bl_suspension, bl_waitpoint, bl_signal_event, bl_lease_event, bl_completion_event RESTART IDENTITY";

pub fn partition_for_lane(lane: &str) -> i16 {
    // CRC-16/XMODEM, as ff_engine and FlowFabric place solo executions.
    let mut crc: u16 = 0;
    for &b in lane.as_bytes() {
        crc ^= (b as u16) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
        }
    }
    (crc % 256) as i16
}

pub fn fill_sql(lane: &str, n: usize) -> String {
    format!(
        "INSERT INTO bl_exec (partition_key, execution_id, lane_id, created_at_ms, state) \
         SELECT {}, gen_random_uuid(), '{lane}', (extract(epoch from clock_timestamp()) * 1000)::bigint + g, 'runnable' \
         FROM generate_series(1, {n}) g",
        partition_for_lane(lane)
    )
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

fn token_digest(secret: &[u8], execution_id: &Uuid, waitpoint_id: &Uuid) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    mac.update(execution_id.as_bytes());
    mac.update(waitpoint_id.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

struct Stmts {
    begin: Statement,
    commit: Statement,
    insert_exec: Statement,
    claim_candidate: Statement,
    claim_update: Statement,
    lease_event: Statement,
    lock_exec: Statement,
    active_key: Statement,
    insert_suspension: Statement,
    insert_waitpoint: Statement,
    suspend_exec: Statement,
    select_waitpoint: Statement,
    key_by_kid: Statement,
    lock_suspension: Statement,
    update_signal_map: Statement,
    resume_exec: Statement,
    close_suspension: Statement,
    delete_waitpoints: Statement,
    completion_event: Statement,
    signal_event: Statement,
    complete_exec: Statement,
}

pub struct Baseline {
    c: Client,
    s: Stmts,
    lane: String,
    pk: i16,
    worker: String,
}

pub struct Leased {
    pk: i16,
    id: Uuid,
    lease_id: Uuid,
    epoch: i64,
    interrupted: bool,
}

/// Is this a serialization failure or deadlock (retry the transaction)?
fn is_conflict(e: &tokio_postgres::Error) -> bool {
    e.code().is_some_and(|c| c.code() == "40001" || c.code() == "40P01")
}

impl Baseline {
    pub async fn new(conninfo: &str, lane: String, client_no: usize) -> BResult<Baseline> {
        let (c, conn) = tokio_postgres::connect(conninfo, NoTls).await?;
        tokio::spawn(conn);
        let p = |sql: &'static str| c.prepare(sql);
        let s = Stmts {
            begin: p("BEGIN ISOLATION LEVEL SERIALIZABLE").await?,
            commit: p("COMMIT").await?,
            insert_exec: p("INSERT INTO bl_exec (partition_key, execution_id, lane_id, created_at_ms, state) VALUES ($1, $2, $3, $4, 'runnable')").await?,
            claim_candidate: p("SELECT execution_id, lease_epoch, interrupted FROM bl_exec WHERE partition_key = $1 AND lane_id = $2 \
                 AND state = 'runnable' ORDER BY priority DESC, created_at_ms LIMIT 1 FOR UPDATE SKIP LOCKED").await?,
            claim_update: p("UPDATE bl_exec SET state = 'leased', lease_id = $3, lease_epoch = lease_epoch + 1, \
                 lease_expires_at_ms = $4, worker_id = $5 WHERE partition_key = $1 AND execution_id = $2").await?,
            lease_event: p("INSERT INTO bl_lease_event (partition_key, execution_id, lease_id, lease_epoch, event_type, occurred_at_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6)").await?,
            lock_exec: p("SELECT state, lease_id, lease_epoch, lease_expires_at_ms FROM bl_exec WHERE partition_key = $1 AND execution_id = $2 FOR UPDATE").await?,
            active_key: p("SELECT kid, secret FROM bl_keystore WHERE active").await?,
            insert_suspension: p("INSERT INTO bl_suspension VALUES ($1, $2, $3, $4, '{}'::jsonb, 'open') \
                 ON CONFLICT (partition_key, execution_id) DO UPDATE SET suspension_id = $3, condition = $4, signal_map = '{}', state = 'open'").await?,
            insert_waitpoint: p("INSERT INTO bl_waitpoint VALUES ($1, $2, $3, $4, $5, 'active')").await?,
            suspend_exec: p("UPDATE bl_exec SET state = 'suspended', lease_id = NULL, lease_epoch = lease_epoch + 1 WHERE partition_key = $1 AND execution_id = $2").await?,
            select_waitpoint: p("SELECT execution_id, waitpoint_key, kid, state FROM bl_waitpoint WHERE partition_key = $1 AND waitpoint_id = $2").await?,
            key_by_kid: p("SELECT secret FROM bl_keystore WHERE kid = $1").await?,
            lock_suspension: p("SELECT condition, signal_map, state FROM bl_suspension WHERE partition_key = $1 AND execution_id = $2 FOR UPDATE").await?,
            update_signal_map: p("UPDATE bl_suspension SET signal_map = $3 WHERE partition_key = $1 AND execution_id = $2").await?,
            resume_exec: p("UPDATE bl_exec SET state = 'runnable', interrupted = true WHERE partition_key = $1 AND execution_id = $2").await?,
            close_suspension: p("UPDATE bl_suspension SET state = 'closed' WHERE partition_key = $1 AND execution_id = $2").await?,
            delete_waitpoints: p("DELETE FROM bl_waitpoint WHERE partition_key = $1 AND execution_id = $2").await?,
            completion_event: p("INSERT INTO bl_completion_event (partition_key, execution_id, outcome, occurred_at_ms) VALUES ($1, $2, $3, $4)").await?,
            signal_event: p("INSERT INTO bl_signal_event (partition_key, execution_id, signal_id, waitpoint_id, signal_name, effect, occurred_at_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)").await?,
            complete_exec: p("UPDATE bl_exec SET state = 'completed', lease_id = NULL, lease_epoch = lease_epoch + 1 WHERE partition_key = $1 AND execution_id = $2").await?,
        };
        let pk = partition_for_lane(&lane);
        Ok(Baseline { c, s, lane, pk, worker: format!("w{client_no}") })
    }

    async fn rollback(&self) {
        let _ = self.c.batch_execute("ROLLBACK").await;
    }

    /// Run `body` as a SERIALIZABLE transaction with FlowFabric's 3-attempt retry. When all three fail
    /// the operation fails; the harness, like an application, submits it again (counted in `retries`).
    async fn txn<T, F, Fut>(&self, rec: &mut Rec, mut body: F) -> BResult<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<(T, u64), tokio_postgres::Error>>,
    {
        for attempt in 0.. {
            self.c.execute(&self.s.begin, &[]).await?;
            let r = match body().await {
                Ok(v) => self.c.execute(&self.s.commit, &[]).await.map(|_| v),
                Err(e) => Err(e),
            };
            match r {
                Ok((v, n)) => {
                    rec.statements += n + 2;
                    return Ok(v);
                }
                Err(e) if is_conflict(&e) => {
                    let _ = attempt;
                    self.rollback().await;
                    rec.retries += 1;
                }
                Err(e) => {
                    self.rollback().await;
                    return Err(e.into());
                }
            }
        }
        unreachable!()
    }

    async fn create(&self, rec: &mut Rec) -> BResult<Uuid> {
        let id = Uuid::new_v4();
        let (c, s, pk, lane) = (&self.c, &self.s, self.pk, &self.lane);
        self.txn(rec, || async move {
            c.execute(&s.insert_exec, &[&pk, &id, lane, &now_ms()]).await?;
            Ok(((), 1))
        })
        .await?;
        Ok(id)
    }

    /// FlowFabric's claim: walk the partitions, one SERIALIZABLE transaction each, until one has work.
    async fn claim(&self, rec: &mut Rec) -> BResult<Option<Leased>> {
        let (c, s, lane, worker) = (&self.c, &self.s, &self.lane, &self.worker);
        for pk in 0..256i16 {
            let got = self
                .txn(rec, || async move {
                    let rows = c.query(&s.claim_candidate, &[&pk, lane]).await?;
                    let Some(r) = rows.first() else { return Ok((None, 1)) };
                    let (id, epoch, interrupted): (Uuid, i64, bool) = (r.get(0), r.get(1), r.get(2));
                    let lease_id = Uuid::new_v4();
                    let now = now_ms();
                    c.execute(&s.claim_update, &[&pk, &id, &lease_id, &(now + 30_000), worker]).await?;
                    c.execute(&s.lease_event, &[&pk, &id, &lease_id, &(epoch + 1), &"acquired", &now]).await?;
                    Ok((Some(Leased { pk, id, lease_id, epoch: epoch + 1, interrupted }), 3))
                })
                .await?;
            if got.is_some() {
                return Ok(got);
            }
        }
        Ok(None)
    }

    fn check_fence(rows: &[tokio_postgres::Row], l: &Leased) -> Result<(), tokio_postgres::Error> {
        let r = &rows[0];
        let (state, lease_id, epoch): (String, Option<Uuid>, i64) = (r.get(0), r.get(1), r.get(2));
        assert!(state == "leased" && lease_id == Some(l.lease_id) && epoch == l.epoch, "fence mismatch");
        Ok(())
    }

    async fn suspend(&self, l: &Leased, keys: &[&str], condition: &serde_json::Value, rec: &mut Rec) -> BResult<Vec<(Uuid, Vec<u8>)>> {
        let (c, s) = (&self.c, &self.s);
        self.txn(rec, || async move {
            Self::check_fence(&c.query(&s.lock_exec, &[&l.pk, &l.id]).await?, l)?;
            let key = c.query_one(&s.active_key, &[]).await?;
            let (kid, secret): (String, Vec<u8>) = (key.get(0), key.get(1));
            c.execute(&s.insert_suspension, &[&l.pk, &l.id, &Uuid::new_v4(), condition]).await?;
            let mut tokens = Vec::new();
            for k in keys {
                let wp = Uuid::new_v4();
                c.execute(&s.insert_waitpoint, &[&l.pk, &wp, &l.id, k, &kid]).await?;
                tokens.push((wp, token_digest(&secret, &l.id, &wp)));
            }
            c.execute(&s.suspend_exec, &[&l.pk, &l.id]).await?;
            c.execute(&s.lease_event, &[&l.pk, &l.id, &l.lease_id, &(l.epoch + 1), &"revoked", &now_ms()]).await?;
            Ok((tokens, 5 + keys.len() as u64))
        })
        .await
    }

    /// deliver_signal as the issue describes it: select waitpoint, select key, verify the HMAC in the
    /// client, lock the suspension, update the signal map, evaluate in the client, update the execution,
    /// delete waitpoints, insert completion event, insert signal event.
    async fn deliver(&self, pk: i16, wp: Uuid, token: &[u8], name: &str, need: usize, rec: &mut Rec) -> BResult<bool> {
        let (c, s) = (&self.c, &self.s);
        self.txn(rec, || async move {
            let w = c.query_one(&s.select_waitpoint, &[&pk, &wp]).await?;
            let (id, key, kid, state): (Uuid, String, String, String) = (w.get(0), w.get(1), w.get(2), w.get(3));
            assert_eq!(state, "active");
            let secret: Vec<u8> = c.query_one(&s.key_by_kid, &[&kid]).await?.get(0);
            let expected = token_digest(&secret, &id, &wp);
            assert!(hmac_eq(&expected, token), "forged token");
            let susp = c.query_one(&s.lock_suspension, &[&pk, &id]).await?;
            let mut map: serde_json::Value = susp.get(1);
            map[&key] = serde_json::json!([name]);
            c.execute(&s.update_signal_map, &[&pk, &id, &map]).await?;
            let satisfied = map.as_object().map_or(0, |m| m.len()) >= need;
            let now = now_ms();
            let effect = if satisfied { "resume_condition_satisfied" } else { "appended_to_waitpoint" };
            let mut n = 6;
            if satisfied {
                c.execute(&s.resume_exec, &[&pk, &id]).await?;
                c.execute(&s.close_suspension, &[&pk, &id]).await?;
                c.execute(&s.delete_waitpoints, &[&pk, &id]).await?;
                c.execute(&s.completion_event, &[&pk, &id, &"resumed", &now]).await?;
                n += 4;
            }
            c.execute(&s.signal_event, &[&pk, &id, &Uuid::new_v4(), &wp, &name, &effect, &now]).await?;
            Ok((satisfied, n))
        })
        .await
    }

    async fn complete(&self, l: &Leased, rec: &mut Rec) -> BResult<()> {
        let (c, s) = (&self.c, &self.s);
        self.txn(rec, || async move {
            Self::check_fence(&c.query(&s.lock_exec, &[&l.pk, &l.id]).await?, l)?;
            let now = now_ms();
            c.execute(&s.complete_exec, &[&l.pk, &l.id]).await?;
            c.execute(&s.completion_event, &[&l.pk, &l.id, &"success", &now]).await?;
            c.execute(&s.lease_event, &[&l.pk, &l.id, &l.lease_id, &(l.epoch + 1), &"released", &now]).await?;
            Ok(((), 4))
        })
        .await
    }

    pub async fn cycle(&mut self, w: Workload, rec: &mut Rec) -> BResult<u64> {
        // Statements are counted inside `txn`; `call` is given 0.
        let this = &*self;
        match w {
            Workload::IdleWakeup | Workload::SignalWakeup => unreachable!("latency workloads run in wakeup.rs"),
            Workload::StepsAndFrames => unreachable!("the baseline has no steps or frames"),
            Workload::FanIn => unreachable!("the baseline has no flows"),
            Workload::SuspendSignalResume | Workload::CountOfFive => {
                let five = w == Workload::CountOfFive;
                let keys: &[&str] = if five { &["k1", "k2", "k3", "k4", "k5"] } else { &["k1"] };
                let condition = if five {
                    serde_json::json!({"Composite": {"kind": "Count", "n": 5, "count_kind": "DistinctWaitpoints", "waitpoints": keys}})
                } else {
                    serde_json::json!({"Single": {"waitpoint_key": "k1", "matcher": {"ByName": "go"}}})
                };
                let t = std::time::Instant::now();
                this.create(rec).await?;
                rec.record("create", t);
                let t = std::time::Instant::now();
                let l = this.claim(rec).await?.ok_or("nothing to claim")?;
                rec.record("claim", t);
                let t = std::time::Instant::now();
                let tokens = this.suspend(&l, keys, &condition, rec).await?;
                rec.record("suspend", t);
                for (i, (wp, token)) in tokens.iter().enumerate() {
                    let t = std::time::Instant::now();
                    let satisfied = this.deliver(l.pk, *wp, token, "go", keys.len(), rec).await?;
                    rec.record("deliver", t);
                    assert_eq!(satisfied, i + 1 == keys.len());
                }
                let t = std::time::Instant::now();
                let l2 = this.claim(rec).await?.ok_or("resumed execution not claimable")?;
                rec.record("claim", t);
                assert!(l2.interrupted);
                let t = std::time::Instant::now();
                this.complete(&l2, rec).await?;
                rec.record("complete", t);
                Ok(1)
            }
            Workload::ClaimComplete => {
                let t = std::time::Instant::now();
                let Some(l) = this.claim(rec).await? else {
                    rec.retries += 1;
                    return Ok(0);
                };
                rec.record("claim", t);
                let t = std::time::Instant::now();
                this.complete(&l, rec).await?;
                rec.record("complete", t);
                Ok(1)
            }
            Workload::EmptyClaim => {
                let t = std::time::Instant::now();
                assert!(this.claim(rec).await?.is_none());
                rec.record("claim", t);
                Ok(1)
            }
        }
    }
}

fn hmac_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
