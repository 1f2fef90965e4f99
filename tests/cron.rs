//! pg_cron drives ff_tick: with Debian's postgresql-15-cron preloaded, `ff_schedule_tick`
//! schedules the scanners, and a delayed execution is promoted and an expired lease reclaimed without
//! anyone calling ff_tick. Without pg_cron, the function is a clear WF035. pg_cron 1.4 schedules by the
//! minute, so this test waits for the next minute boundary (up to ~70 s).

use ff_engine_tests::*;
use std::time::{Duration, Instant};

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

#[test]
fn without_pg_cron_scheduling_is_a_clear_error() {
    let db = Cluster::shared().fresh_db("cron_missing");
    let mut c = db.connect();
    let e = assert_code(&mut c, "SELECT ff_schedule_tick()", &[], "WF035");
    assert_eq!(e.detail.as_deref(), Some("pg_cron"));
    assert_code(&mut c, "SELECT ff_unschedule_tick()", &[], "WF035");
}

#[test]
fn pg_cron_promotes_and_reclaims_without_a_manual_tick() {
    // Debian's postgresql-15-cron (installed by scripts/setup.sh); the other majors' builds lack it.
    assert!(std::path::Path::new("/usr/lib/postgresql/15/lib/pg_cron.so").exists(), "pg_cron missing: run scripts/setup.sh");
    let cluster = Cluster::start(&[
        "shared_preload_libraries=pg_cron",
        "cron.database_name=ff_cron",
        "cron.use_background_workers=on",
        "max_worker_processes=16",
    ]);
    cluster.connect("postgres", "postgres").batch_execute("CREATE DATABASE ff_cron").unwrap();
    let mut c = cluster.connect("ff_cron", "postgres");
    c.batch_execute("CREATE EXTENSION pg_cron; CREATE EXTENSION ff_engine; SELECT ff_seed_hmac('k1');").unwrap();
    // Bad schedules are WF001 before pg_cron is asked.
    for bad in ["'0'", "'90 seconds'", "'7 minutes'", "'1.5 seconds'", "NULL"] {
        let e = assert_code(&mut c, &format!("SELECT ff_schedule_tick({bad})"), &[], "WF001");
        assert_eq!(e.detail.as_deref(), Some("invalid_every"), "{bad}");
    }
    // Seconds need pg_cron >= 1.5; Debian bookworm's 1.4 says so with WF035.
    let version: String = c.query_one("SELECT extversion FROM pg_extension WHERE extname = 'pg_cron'", &[]).unwrap().get(0);
    if version.as_str() < "1.5" {
        assert_eq!(assert_code(&mut c, "SELECT ff_schedule_tick('5 seconds')", &[], "WF035").detail.as_deref(), Some("pg_cron_schedule"));
    }
    let job: i64 = c.query_one("SELECT ff_schedule_tick('1 minute')", &[]).unwrap().get(0);
    let again: i64 = c.query_one("SELECT ff_schedule_tick('1 minute')", &[]).unwrap().get(0);
    assert_eq!(job, again, "scheduling twice updates the one job");

    let delayed = create_in(&mut c, "d", &format!("delay_until_ms => {}", now_ms() + 500));
    create_in(&mut c, "l", "");
    let leased: Lease =
        c.query("SELECT * FROM ff_claim('l', 'w', 'i', lease_ttl_ms => 500)", &[]).unwrap().first().map(lease_from_row).unwrap();
    let start = Instant::now();
    loop {
        let promoted = states(&mut c, &delayed).4 == "waiting";
        let reclaimed = states(&mut c, &leased.execution_id).3 == "attempt_interrupted";
        if promoted && reclaimed {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(130), "pg_cron did not run ff_tick: promoted {promoted}, reclaimed {reclaimed}");
        std::thread::sleep(Duration::from_millis(500));
    }
    // pg_cron marks a run succeeded in its own transaction after the job's commit, so the effects
    // above can be visible a moment before the run's record says so.
    let recorded = Instant::now();
    while count(&mut c, "SELECT count(*) FROM cron.job_run_details WHERE command LIKE '%ff_tick()%' AND status = 'succeeded'") < 1 {
        assert!(recorded.elapsed() < Duration::from_secs(30), "the job ran but pg_cron recorded no succeeded run");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(c.query_one("SELECT ff_unschedule_tick()", &[]).unwrap().get::<_, bool>(0));
    assert!(!c.query_one("SELECT ff_unschedule_tick()", &[]).unwrap().get::<_, bool>(0), "nothing left to remove");
    cluster.stop();
}
