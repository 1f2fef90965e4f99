//! Test harness: a real PostgreSQL 15 cluster started with initdb/pg_ctl as the `postgres` OS user,
//! listening only on a unix socket in a private directory under /tmp; one fresh database per test, a
//! copy of a template database in which `CREATE EXTENSION ff_engine` ran. The extension must be
//! installed into the system Postgres first (`scripts/test.sh` does that).
//!
//! One switch decides which edition the whole suite runs against: `FF_EDITION` (`rust`, the default, or
//! `sql`), together with `FF_PG_BINDIR`, the server whose `ff_engine` is that edition
//! (`scripts/sql-edition-server.sh` makes a copy of a server in which `ff_engine` is the SQL edition).
//! Every database still gets ff_engine by `CREATE EXTENSION ff_engine` (in the template `fresh_db`
//! copies), and the template is checked to hold the edition asked for, so a mislabelled run fails
//! instead of passing twice. The template also checks, on every event row and execution written in
//! a test, that the writing transaction had its transaction id before it drew the row's number
//! (`ids_after_xid.sql`: the event subscription's gap rule and the claim-start verifier rely on it).

use postgres::{Client, NoTls};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

pub use postgres;

/// Directory of the Postgres 15 server binaries.
pub fn pg_bindir() -> PathBuf {
    std::env::var_os("FF_PG_BINDIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/usr/lib/postgresql/15/bin"))
}

/// Which implementation of ff_engine the suite runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edition {
    /// The pgrx extension (ff_engine.so).
    Rust,
    /// The SQL/PL/pgSQL edition: no module, installable through pg_tle or psql -f.
    Sql,
}

/// psql: the server's own, or Debian's PostgreSQL 15 client for a server-only build (14, 17), which
/// talks to every server tested here.
pub fn psql_path() -> PathBuf {
    let own = pg_bindir().join("psql");
    if own.exists() {
        own
    } else {
        PathBuf::from("/usr/lib/postgresql/15/bin/psql")
    }
}

/// The server's extension directory: `pg_config --sharedir`, or PostgreSQL's relocatable layout next to
/// `bin/` for a server-only build without pg_config.
pub fn extension_dir() -> PathBuf {
    let pg_config = pg_bindir().join("pg_config");
    let sharedir = if pg_config.exists() {
        let out = Command::new(pg_config).arg("--sharedir").output().expect("pg_config");
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    } else {
        pg_bindir().join("../share/postgresql")
    };
    sharedir.join("extension")
}

/// Whether this pass installs ff_engine through pg_tle (`FF_PGTLE_INSTALLER` set).
pub fn through_pgtle() -> bool {
    std::env::var_os("FF_PGTLE_INSTALLER").is_some()
}

/// The SQL edition's pg_tle installer (the file `FF_PGTLE_INSTALLER` names) when this pass installs
/// ff_engine through pg_tle, on a server that preloads it (scripts/sql-edition-server.sh 15 --pgtle).
pub fn pgtle_installer() -> Option<String> {
    let path = std::env::var_os("FF_PGTLE_INSTALLER")?;
    Some(std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("FF_PGTLE_INSTALLER {}: {e}", path.to_string_lossy())))
}

/// The edition this run tests, from `FF_EDITION` (unset or `rust`: Rust; `sql`: SQL).
pub fn edition() -> Edition {
    match std::env::var("FF_EDITION").as_deref() {
        Err(_) | Ok("") | Ok("rust") => Edition::Rust,
        Ok("sql") => Edition::Sql,
        Ok(other) => panic!("FF_EDITION must be rust or sql, not {other:?}"),
    }
}

/// True (and says so on stderr) when the run is on the SQL edition and the calling test only makes
/// sense for the Rust edition; `why` is the reason, written in the test that skips.
pub fn rust_edition_only(why: &str) -> bool {
    let skip = edition() == Edition::Sql;
    if skip {
        record_skip(&format!("skipped on the SQL edition: {why}"));
    }
    skip
}

/// Say that the running test skips: on stderr, and as a line `<test>: <why>` appended to the file
/// `FF_SKIP_LOG` names (scripts/test.sh counts and lists them per pass, so a skip is never a pass in
/// disguise).
pub fn record_skip(why: &str) {
    eprintln!("{why}");
    if let Some(path) = std::env::var_os("FF_SKIP_LOG") {
        let test = std::thread::current().name().unwrap_or("?").to_string();
        let binary = std::env::current_exe().ok().and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned())).unwrap_or_default();
        let binary = binary.rsplit_once('-').map_or(binary.as_str(), |(name, _hash)| name).to_string();
        let line = format!("{binary}::{test}: {why}\n");
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
            let _ = f.write_all(line.as_bytes());
        }
    }
}

/// SQL: whether the function `p` (a `pg_proc` row) is one of the SQL edition's helpers, commented
/// "… (internal)." — not part of the API, executable by nobody but its owner (finalize.sql). The Rust
/// edition has none.
pub const IS_INTERNAL: &str = "coalesce(obj_description(p.oid, 'pg_proc'), '') LIKE '%(internal).'";

/// True (and says so on stderr) when the run is on the Rust edition and the calling test is about the
/// SQL edition alone; `why` is the reason, written in the test that skips.
pub fn sql_edition_only(why: &str) -> bool {
    let skip = edition() == Edition::Rust;
    if skip {
        record_skip(&format!("skipped on the Rust edition: {why}"));
    }
    skip
}

/// A running throwaway cluster.
pub struct Cluster {
    pub root: PathBuf,
    pub socket_dir: PathBuf,
    pub port: u16,
    server_options: String,
    /// The template database every `fresh_db` is copied from (made on first use).
    template: OnceLock<String>,
}

fn run_as_postgres(args: &[&str]) -> std::process::Output {
    let out = try_run_as_postgres(args);
    if !out.status.success() {
        panic!("{}", failed(args, &out));
    }
    out
}

/// Run `args` as the postgres user, whatever its exit status.
fn try_run_as_postgres(args: &[&str]) -> std::process::Output {
    // The server must not inherit RUST_BACKTRACE, or Rust backtraces would reach clients in DETAIL.
    Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .output()
        .expect("runuser (util-linux) must be available")
}

/// What a failed command printed.
fn failed(args: &[&str], out: &std::process::Output) -> String {
    format!("command {:?} failed: {}\n{}", args, String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// The processes whose parent is `pid` (from /proc).
fn child_pids(pid: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|p| proc_stat(*p).is_some_and(|(_, parent)| parent == pid))
        .collect()
}

/// Whether process `pid` exists and is not a zombie (an unreaped zombie holds no shared memory).
fn process_alive(pid: i32) -> bool {
    proc_stat(pid).is_some_and(|(state, _)| state != 'Z' && state != 'X')
}

/// State letter and parent pid of `pid`, from /proc/<pid>/stat ("pid (comm) S ppid …").
fn proc_stat(pid: i32) -> Option<(char, i32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut rest = stat[stat.rfind(')')? + 1..].split_whitespace();
    let state = rest.next()?.chars().next()?;
    Some((state, rest.next()?.parse().ok()?))
}

impl Cluster {
    /// initdb + start a new cluster under /tmp. `settings` are extra `-c name=value` server options.
    pub fn start(settings: &[&str]) -> Cluster {
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let root = PathBuf::from(format!("/tmp/ff_it_{}_{}", std::process::id(), SEQ.fetch_add(1, Ordering::SeqCst)));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let socket_dir = root.join("sock");
        std::fs::create_dir_all(&socket_dir).unwrap();
        let (uid, gid) = postgres_ids();
        for p in [&root, &socket_dir] {
            std::os::unix::fs::chown(p, Some(uid), Some(gid)).unwrap();
        }
        let data = root.join("data");
        let bin = pg_bindir();
        run_as_postgres(&[
            bin.join("initdb").to_str().unwrap(),
            "-D",
            data.to_str().unwrap(),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        ]);
        let mut opts = format!("-c listen_addresses='' -k {} -p 5432 -c max_connections=120", socket_dir.display());
        if through_pgtle() {
            opts.push_str(" -c shared_preload_libraries=pg_tle");
        }
        for s in settings {
            opts.push_str(" -c ");
            opts.push_str(s);
        }
        let c = Cluster { root, socket_dir, port: 5432, server_options: opts, template: OnceLock::new() };
        c.pg_ctl_start();
        c
    }

    /// Start the server; on failure, the panic carries the end of the server's log.
    fn pg_ctl_start(&self) {
        let (pg_ctl, data) = (pg_bindir().join("pg_ctl"), self.data_dir());
        let log = self.root.join("server.log");
        let args = [
            pg_ctl.to_str().unwrap(),
            "-D",
            data.to_str().unwrap(),
            "-l",
            log.to_str().unwrap(),
            "-o",
            &self.server_options,
            "-w",
            "start",
        ];
        let out = try_run_as_postgres(&args);
        if !out.status.success() {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(15).collect();
            panic!("{}\nend of {}:\n{}", failed(&args, &out), log.display(), tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
        }
    }

    /// Kill the postmaster with SIGKILL (no shutdown, no checkpoint), then start it again: crash recovery.
    /// Its backends notice the postmaster's death and exit; the restart waits for them (a backend still
    /// attached to the old shared memory makes the new postmaster refuse to start), and kills any
    /// that has not exited after 10 s. Exited but not yet reaped (zombie) counts as gone.
    pub fn crash_and_restart(&self) {
        let pidfile = std::fs::read_to_string(self.data_dir().join("postmaster.pid")).expect("postmaster.pid");
        let pid: i32 = pidfile.lines().next().unwrap().trim().parse().unwrap();
        let children = child_pids(pid);
        unsafe { libc::kill(pid, libc::SIGKILL) };
        let mut waited = 0;
        while std::iter::once(&pid).chain(&children).any(|p| process_alive(*p)) {
            if waited == 200 {
                children.iter().for_each(|p| unsafe {
                    libc::kill(*p, libc::SIGKILL);
                });
            }
            assert!(waited < 400, "the killed server's processes did not exit in 20 s");
            std::thread::sleep(std::time::Duration::from_millis(50));
            waited += 1;
        }
        // A killed postmaster not yet reaped still answers kill(pid, 0), which the new one would take
        // for a live owner of the lock files: they are stale, remove them.
        let _ = std::fs::remove_file(self.data_dir().join("postmaster.pid"));
        let _ = std::fs::remove_file(self.socket_dir.join(format!(".s.PGSQL.{}.lock", self.port)));
        self.pg_ctl_start();
    }

    /// The server options of a shared cluster (scripts/test.sh starts its clusters with the same ones).
    pub const SHARED_SETTINGS: [&str; 3] = ["fsync=off", "synchronous_commit=off", "full_page_writes=off"];

    /// The cluster shared by all tests of one test binary; stopped when the process exits. With
    /// `FF_TEST_CLUSTER=<dir>`, the cluster `scripts/cluster.sh start <dir>` runs there instead, shared
    /// by every test binary of a run (scripts/test.sh: starting a cluster per binary was half of a pass).
    pub fn shared() -> &'static Cluster {
        static SHARED: OnceLock<Cluster> = OnceLock::new();
        SHARED.get_or_init(|| {
            if let Some(root) = std::env::var_os("FF_TEST_CLUSTER").map(PathBuf::from) {
                let socket_dir = root.join("sock");
                return Cluster { root, socket_dir, port: 5432, server_options: String::new(), template: OnceLock::new() };
            }
            let c = Cluster::start(&Cluster::SHARED_SETTINGS);
            extern "C" fn stop_shared() {
                if let Some(c) = SHARED.get() {
                    c.stop();
                }
            }
            unsafe { libc::atexit(stop_shared) };
            c
        })
    }

    pub fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    pub fn conninfo(&self, dbname: &str, user: &str) -> String {
        format!("host={} port={} user={} dbname={} application_name=ff_it", self.socket_dir.display(), self.port, user, dbname)
    }

    pub fn connect(&self, dbname: &str, user: &str) -> Client {
        Client::connect(&self.conninfo(dbname, user), NoTls).unwrap_or_else(|e| panic!("connect {dbname} as {user}: {e}"))
    }

    /// A fresh database with ff_engine, named after the test: a copy of the cluster's template database,
    /// in which `CREATE EXTENSION ff_engine` ran once (copying a database is quicker than creating the
    /// extension in each: about 0.25 s a test).
    pub fn fresh_db(&self, name: &str) -> TestDb<'_> {
        let template = self.template.get_or_init(|| self.make_template());
        let mut admin = self.connect("postgres", "postgres");
        let db = format!("t_{}", name.replace(|c: char| !c.is_ascii_alphanumeric(), "_"));
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")).unwrap();
        // FILE_COPY (PostgreSQL 15 and later; 14 copies files anyway): quicker than the WAL-logged copy for small databases.
        let version: i32 = admin.query_one("SELECT current_setting('server_version_num')::int", &[]).unwrap().get(0);
        let strategy = if version >= 150000 { " STRATEGY FILE_COPY" } else { "" };
        admin.batch_execute(&format!("CREATE DATABASE {db} TEMPLATE {template}{strategy}")).unwrap();
        TestDb { cluster: self, name: db }
    }

    /// The template database, `ff_template`: made once per cluster, and kept for the next test binary
    /// of a run on a shared cluster (`FF_TEST_CLUSTER`; each binary made its own, ~0.6 s apiece) while
    /// what it was made from is unchanged, as its comment records: the edition, the installed
    /// extension (its control file's time), the pg_tle installer and the server's start.
    fn make_template(&self) -> String {
        let mut admin = self.connect("postgres", "postgres");
        let made_from = template_source(&mut admin);
        let existing: Option<String> = admin
            .query_opt("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = 'ff_template'", &[])
            .unwrap()
            .and_then(|r| r.get(0));
        if existing.as_deref() == Some(made_from.as_str()) {
            assert_edition(&mut self.connect("ff_template", "postgres"));
            return "ff_template".to_string();
        }
        admin.batch_execute("DROP DATABASE IF EXISTS ff_template WITH (FORCE)").unwrap();
        let mut c = match pgtle_installer() {
            None => {
                admin.batch_execute("CREATE DATABASE ff_template").unwrap();
                self.connect("ff_template", "postgres")
            }
            Some(installer) => self.install_through_pgtle(&installer),
        };
        c.batch_execute("CREATE EXTENSION ff_engine").unwrap();
        assert_edition(&mut c);
        drop(c);
        self.connect("ff_template", "postgres").batch_execute(include_str!("ids_after_xid.sql")).unwrap();
        admin.execute(&format!("COMMENT ON DATABASE ff_template IS '{}'", made_from.replace('\'', "''")), &[]).unwrap();
        "ff_template".to_string()
    }

    /// The way RDS, Aurora and Supabase install ff_engine: pg_tle in `template1` (created by a
    /// superuser, as the provider does), the SQL edition's pg_tle installer run there by
    /// `ff_tle_admin`, a role with CREATEROLE and `pgtle_admin` but no superuser (as `rds_superuser`),
    /// and `ff_template` owned by that role, which creates the extension in it. Every database the
    /// tests create inherits the registration from `template1`. A session of `ff_tle_admin` on
    /// `ff_template` is returned, for the `CREATE EXTENSION`.
    fn install_through_pgtle(&self, installer: &str) -> Client {
        let mut su = self.connect("template1", "postgres");
        su.batch_execute(
            "CREATE EXTENSION IF NOT EXISTS pg_tle;
             DO $$ BEGIN
               IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ff_tle_admin') THEN
                 CREATE ROLE ff_tle_admin LOGIN CREATEROLE NOSUPERUSER;
               END IF;
             END $$;
             GRANT pgtle_admin TO ff_tle_admin;",
        )
        .unwrap();
        let mut tle_admin = self.connect("template1", "ff_tle_admin");
        tle_admin.batch_execute(installer).unwrap_or_else(|e| panic!("the pg_tle installer: {}", db_err(&e).message));
        drop((tle_admin, su));
        let mut admin = self.connect("postgres", "postgres");
        admin.batch_execute("CREATE DATABASE ff_template OWNER ff_tle_admin").unwrap();
        let mut c = self.connect("ff_template", "ff_tle_admin");
        let registered: i64 =
            c.query_one("SELECT count(*) FROM pgtle.available_extensions() WHERE name = 'ff_engine'", &[]).unwrap().get(0);
        assert_eq!(registered, 1, "ff_engine is registered with pg_tle");
        c
    }

    /// Stop immediately (used at exit and by crash tests).
    pub fn stop(&self) {
        let data = self.data_dir();
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(pg_bindir().join("pg_ctl"))
            .args(["-D", data.to_str().unwrap(), "-m", "immediate", "-w", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.root);
    }

    pub fn log_path(&self) -> PathBuf {
        self.root.join("server.log")
    }
}

/// What a template database is made from (`Cluster::make_template`), as one line.
fn template_source(admin: &mut Client) -> String {
    let control: Option<String> = admin
        .query_one(
            "SELECT (pg_stat_file(setting || '/extension/ff_engine.control', true)).modification::text FROM pg_config WHERE name = 'SHAREDIR'",
            &[],
        )
        .unwrap()
        .get(0);
    let started: String = admin.query_one("SELECT pg_postmaster_start_time()::text", &[]).unwrap().get(0);
    let installer = std::env::var_os("FF_PGTLE_INSTALLER")
        .map(|p| format!("{} {:?}", p.to_string_lossy(), std::fs::metadata(&p).and_then(|m| m.modified()).ok()))
        .unwrap_or_default();
    format!("ff_engine test template: {:?}, control {}, installer {installer}, server {started}", edition(), control.unwrap_or_default())
}

/// Fails unless the ff_engine installed in `c`'s database is the edition this run tests: the Rust
/// edition's functions are C functions of ff_engine.so, the SQL edition has none.
#[track_caller]
pub fn assert_edition(c: &mut Client) {
    let c_functions: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'ff_engine' \
             JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND p.oid = d.objid \
             JOIN pg_language l ON l.oid = p.prolang AND l.lanname = 'c'",
            &[],
        )
        .unwrap()
        .get(0);
    let found = if c_functions > 0 { Edition::Rust } else { Edition::Sql };
    assert_eq!(
        found,
        edition(),
        "FF_EDITION asks for {:?} but this server's ff_engine is the {found:?} edition (FF_PG_BINDIR?)",
        edition()
    );
}

fn postgres_ids() -> (u32, u32) {
    let out = Command::new("id").args(["-u", "postgres"]).output().expect("id");
    let uid: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().expect("postgres user must exist");
    let out = Command::new("id").args(["-g", "postgres"]).output().expect("id");
    let gid: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().expect("postgres group");
    (uid, gid)
}

/// A database of the cluster with the extension created.
pub struct TestDb<'c> {
    pub cluster: &'c Cluster,
    pub name: String,
}

impl TestDb<'_> {
    /// A superuser session.
    pub fn connect(&self) -> Client {
        self.cluster.connect(&self.name, "postgres")
    }

    pub fn connect_as(&self, user: &str) -> Client {
        self.cluster.connect(&self.name, user)
    }

    pub fn conninfo(&self, user: &str) -> String {
        self.cluster.conninfo(&self.name, user)
    }
}

/// The SQLSTATEs docs/errors.md documents: every error an API call may raise.
pub const DOCUMENTED_SQLSTATES: &[&str] = &[
    "WF001", "WF002", "WF003", "WF004", "WF005", "WF010", "WF020", "WF021", "WF022", "WF023", "WF024", "WF025", "WF026", "WF030", "WF031",
    "WF032", "WF033", "WF034", "WF035", "22P02", "22003", "42501", "40001", "40P01", "57014",
];

/// The SQLSTATE, message and detail of a failed statement.
#[derive(Debug, Clone)]
pub struct DbErr {
    pub code: String,
    pub message: String,
    pub detail: Option<String>,
}

pub fn db_err(e: &postgres::Error) -> DbErr {
    match e.as_db_error() {
        Some(d) => DbErr { code: d.code().code().to_string(), message: d.message().to_string(), detail: d.detail().map(str::to_string) },
        None => DbErr { code: "client".into(), message: e.to_string(), detail: None },
    }
}

/// Run a statement that must fail; return its error.
pub fn expect_err(c: &mut Client, sql: &str, params: &[&(dyn postgres::types::ToSql + Sync)]) -> DbErr {
    match c.query(sql, params) {
        Ok(rows) => panic!("expected an error from {sql}, got {} rows", rows.len()),
        Err(e) => db_err(&e),
    }
}

/// Assert a statement fails with `code`; return the error for further checks.
#[track_caller]
pub fn assert_code(c: &mut Client, sql: &str, params: &[&(dyn postgres::types::ToSql + Sync)], code: &str) -> DbErr {
    let e = expect_err(c, sql, params);
    assert_eq!(e.code, code, "{sql}: {e:?}");
    e
}

/// Whether a string looks like it carries a Rust backtrace or panic location.
pub fn looks_like_backtrace(s: &str) -> bool {
    s.contains("stack backtrace") || s.contains("rustc/") || s.contains(".rs:") || s.contains("panicked at")
}

pub fn hex32(byte: u8) -> String {
    format!("{byte:02x}").repeat(32)
}

/// A lease as the worker functions return it.
#[derive(Debug, Clone)]
pub struct Lease {
    pub execution_id: String,
    pub attempt_index: i32,
    pub lease_id: uuid::Uuid,
    pub lease_epoch: i64,
    pub resumed: bool,
}

pub fn lease_from_row(r: &postgres::Row) -> Lease {
    Lease {
        execution_id: r.get("execution_id"),
        attempt_index: r.get("attempt_index"),
        lease_id: r.get("lease_id"),
        lease_epoch: r.get("lease_epoch"),
        resumed: r.get("resumed"),
    }
}

/// A fresh database of the shared cluster with the key `k1` (32 bytes of 0x11) seeded, and a superuser
/// session on it.
pub fn seeded(name: &str) -> (TestDb<'static>, Client) {
    let db = Cluster::shared().fresh_db(name);
    let mut c = db.connect();
    c.query_one("SELECT * FROM ff_seed_hmac('k1', repeat('11', 32))", &[]).unwrap();
    (db, c)
}

/// Create an execution in `lane` with extra named arguments (SQL text, may be empty); returns its id.
pub fn create_in(c: &mut Client, lane: &str, extra: &str) -> String {
    let sql = format!("SELECT execution_id FROM ff_create_execution($1{}{extra})", if extra.is_empty() { "" } else { ", " });
    c.query_one(&sql, &[&lane]).unwrap().get(0)
}

/// Claim one execution of `lane` with `ff_claim`; None on an empty lane.
pub fn claim_one(c: &mut Client, lane: &str, worker: &str) -> Option<Lease> {
    c.query("SELECT * FROM ff_claim($1, $2, 'inst-1')", &[&lane, &worker]).unwrap().first().map(lease_from_row)
}

/// The five state columns of an execution.
pub fn states(c: &mut Client, execution_id: &str) -> (String, String, String, String, String) {
    let r = c
        .query_one(
            "SELECT lifecycle_phase, ownership_state, eligibility_state, attempt_state, public_state FROM ff_executions WHERE execution_id = $1",
            &[&execution_id],
        )
        .unwrap();
    (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4))
}

pub fn count(c: &mut Client, sql: &str) -> i64 {
    c.query_one(sql, &[]).unwrap().get(0)
}

/// The per-execution tables have no foreign key to `ff_exec_core` (schema.sql says why); the engine's
/// row-lock protocol must keep them consistent. Fails naming every table that holds a row without its
/// execution, and also checks that each attempt row is one the execution has reached.
pub fn assert_no_orphans(c: &mut Client) {
    let mut bad = Vec::new();
    for t in [
        "ff_attempt",
        "ff_claim_grant",
        "ff_suspension",
        "ff_waitpoint",
        "ff_signal",
        "ff_deadline",
        "ff_step",
        "ff_stream",
        "ff_frame",
        "ff_flow_member",
    ] {
        let n = count(
            c,
            &format!(
                "SELECT count(*) FROM {t} x WHERE NOT EXISTS (SELECT 1 FROM ff_exec_core e \
                 WHERE e.partition_key = x.partition_key AND e.execution_id = x.execution_id)"
            ),
        );
        if n > 0 {
            bad.push(format!("{t}: {n}"));
        }
    }
    let ahead = count(
        c,
        "SELECT count(*) FROM ff_attempt a JOIN ff_exec_core e USING (partition_key, execution_id) \
         WHERE a.attempt_index > e.attempt_index",
    );
    if ahead > 0 {
        bad.push(format!("ff_attempt rows past the execution's attempt_index: {ahead}"));
    }
    assert!(bad.is_empty(), "rows without their execution: {bad:?}");
}

/// The first column of every row `sql` returns, collected (a `Vec`, a `HashSet`, ...).
pub fn column<T, C>(c: &mut Client, sql: &str, params: &[&(dyn postgres::types::ToSql + Sync)]) -> C
where
    T: for<'a> postgres::types::FromSql<'a>,
    C: FromIterator<T>,
{
    c.query(sql, params).unwrap().iter().map(|r| r.get(0)).collect()
}

/// The SQL edition's source files in load order, as `sql/edition/files.list` names them (the build
/// script and the benchmark read the same list): (path, text).
pub fn sql_edition_files() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let list = std::fs::read_to_string(root.join("sql/edition/files.list")).expect("sql/edition/files.list");
    list.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|f| (f.to_string(), std::fs::read_to_string(root.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"))))
        .collect()
}

/// Install the SQL edition into `schema` (which must exist) on connection `c` as the standalone script
/// does (scripts/sql-edition.sh): the source files, pg_cron's functions, then ownership, grants, plan
/// settings and comments (sql/edition/standalone_own.sql and sql/finalize.sql after its ownership block).
/// The benchmark installs it so, to measure what a user gets.
pub fn install_sql_edition_standalone(c: &mut Client, schema: &str) {
    install_sql_edition(c, schema);
    let finalize = include_str!("../../sql/finalize.sql");
    let after_own = &finalize[finalize.find("\n$own$;\n").expect("finalize.sql's ownership block") + "\n$own$;\n".len()..];
    c.batch_execute(&format!("SET search_path = {schema}")).unwrap();
    for part in [include_str!("../../sql/cron.sql"), include_str!("../../sql/edition/standalone_own.sql"), after_own] {
        c.batch_execute(&part.replace("@extschema@", schema))
            .unwrap_or_else(|e| panic!("{}: {}", part.lines().next().unwrap_or(""), db_err(&e).message));
    }
    c.batch_execute("RESET search_path").unwrap();
}

/// Install the SQL edition into `schema` (which must exist) on connection `c`.
pub fn install_sql_edition(c: &mut Client, schema: &str) {
    c.batch_execute(&format!("SET search_path = {schema}")).unwrap();
    for (file, part) in sql_edition_files() {
        c.batch_execute(&part.replace("@extschema@", schema)).unwrap_or_else(|e| panic!("{file}: {}", db_err(&e).message));
    }
    c.batch_execute("RESET search_path").unwrap();
}
