//! PostgreSQL harness for the round-trip tests.
//!
//! Everything goes through the real client programs (`psql`, `pg_dump`), the
//! same way a user restores a scrubbed dump. The server address comes from
//! `PGHOST`, `PGPORT` and `PGUSER` (defaults `127.0.0.1`, `5432`, `postgres`);
//! the user must be allowed to create databases, and the dumps restore objects
//! owned by `postgres`, so in practice it is a superuser.
//!
//! When no server answers, [`server`] returns `None` and prints
//! `skipped: no PostgreSQL server at ...`, and the test returns early
//! ([`require_pg!`]). When the `CI` environment variable is set it panics
//! instead, so a broken CI database cannot turn into a green run.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Evaluates to a [`Pg`], or returns from the calling test when no server is
/// available (after [`server`] has printed why).
macro_rules! require_pg {
    () => {
        match $crate::pg::server() {
            Some(pg) => pg,
            None => return,
        }
    };
}

/// `\restrict` key passed to `pg_dump` where it is supported, so that two dumps
/// of identical databases are byte-identical.
const RESTRICT_KEY: &str = "scrubTestRestrictKey0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";

/// A reachable PostgreSQL server.
#[derive(Clone, Debug)]
pub struct Pg {
    host: String,
    port: String,
    user: String,
    /// Whether this `pg_dump` knows `--restrict-key` (15.14 and later minors).
    restrict_key: bool,
}

static SERVER: OnceLock<Result<Pg, String>> = OnceLock::new();

/// The server from the `PG*` environment, probed once per test run with
/// `psql -c 'select 1'`.
///
/// # Panics
///
/// When no server answers and the `CI` environment variable is set.
pub fn server() -> Option<Pg> {
    match SERVER.get_or_init(probe) {
        Ok(pg) => Some(pg.clone()),
        Err(why) if std::env::var_os("CI").is_some() => {
            panic!("{why} (CI is set, so this is a failure, not a skip)")
        }
        Err(why) => {
            eprintln!("skipped: {why}");
            None
        }
    }
}

fn env_or(name: &str, default: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v,
        _ => default.to_string(),
    }
}

fn probe() -> Result<Pg, String> {
    let mut pg = Pg {
        host: env_or("PGHOST", "127.0.0.1"),
        port: env_or("PGPORT", "5432"),
        user: env_or("PGUSER", "postgres"),
        restrict_key: false,
    };
    let at = format!("{}:{} as user {}", pg.host, pg.port, pg.user);
    let out = pg
        .command("psql")
        .args(["-XAt", "-d", "postgres", "-c", "select 1"])
        .output()
        .map_err(|e| format!("no PostgreSQL server at {at}: cannot run psql: {e}"))?;
    if !out.status.success() || String::from_utf8_lossy(&out.stdout).trim() != "1" {
        return Err(format!(
            "no PostgreSQL server at {at}: psql -c 'select 1' failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let help = pg
        .command("pg_dump")
        .arg("--help")
        .output()
        .map_err(|e| format!("PostgreSQL server at {at} is up, but pg_dump cannot run: {e}"))?;
    pg.restrict_key = String::from_utf8_lossy(&help.stdout).contains("--restrict-key");
    Ok(pg)
}

/// Panics with the command's stderr unless it succeeded.
fn check(what: &str, out: &Output) {
    assert!(out.status.success(), "{what} failed ({}):\n{}", out.status, String::from_utf8_lossy(&out.stderr));
}

impl Pg {
    /// A client command (`psql`, `pg_dump`, ...) pointed at this server.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("PGHOST", &self.host)
            .env("PGPORT", &self.port)
            .env("PGUSER", &self.user)
            .env_remove("PGDATABASE")
            .stdin(Stdio::null());
        if std::env::var_os("PGCONNECT_TIMEOUT").is_none() {
            cmd.env("PGCONNECT_TIMEOUT", "10");
        }
        cmd
    }

    /// Runs one statement in the `postgres` maintenance database.
    fn admin(&self, sql: &str) -> Output {
        self.command("psql")
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", "postgres", "-c", sql])
            .env("PGOPTIONS", "-c client_min_messages=warning")
            .output()
            .expect("run psql")
    }

    /// Creates an empty UTF8 database with a unique name; it is dropped when
    /// the returned value goes out of scope. `tag` becomes part of the name,
    /// to make leftovers of a killed run easy to attribute.
    pub fn scratch(&self, tag: &str) -> ScratchDb {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        let tag: String = tag
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
            .take(24)
            .collect();
        let name = format!("scrub_t_{tag}_{}_{n}_{nanos:x}", std::process::id());
        let out = self.admin(&format!(
            "CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8' \
             LC_COLLATE 'C' LC_CTYPE 'C'"
        ));
        check(&format!("CREATE DATABASE {name}"), &out);
        ScratchDb { pg: self.clone(), name }
    }
}

/// A database that exists for the duration of one test.
pub struct ScratchDb {
    pg: Pg,
    name: String,
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        let out = self.pg.admin(&format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name));
        if !out.status.success() {
            eprintln!(
                "warning: could not drop scratch database {}: {}",
                self.name,
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

impl ScratchDb {
    pub fn name(&self) -> &str {
        &self.name
    }

    fn psql(&self) -> Command {
        let mut cmd = self.pg.command("psql");
        cmd.args(["-X", "-d", &self.name]);
        cmd
    }

    /// Runs an SQL script file with `psql -v ON_ERROR_STOP=1 -X -q`.
    ///
    /// # Panics
    ///
    /// When psql fails; the message carries psql's stderr.
    pub fn load_file(&self, path: &Path) {
        let out = self
            .psql()
            .args(["-q", "-v", "ON_ERROR_STOP=1", "-f"])
            .arg(path)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .expect("run psql");
        check(&format!("loading {} into {}", path.display(), self.name), &out);
    }

    /// Runs an SQL script given as bytes (fed to psql on stdin), like
    /// `scrub ... | psql -v ON_ERROR_STOP=1`.
    ///
    /// # Panics
    ///
    /// When psql fails; the message carries psql's stderr.
    pub fn load_bytes(&self, sql: &[u8]) {
        let out = self.try_load_bytes(sql);
        check(&format!("loading {} bytes of SQL into {}", sql.len(), self.name), &out);
    }

    /// [`Self::load_bytes`] without the success check.
    pub fn try_load_bytes(&self, sql: &[u8]) -> Output {
        let mut child = self
            .psql()
            .args(["-q", "-v", "ON_ERROR_STOP=1", "-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run psql");
        let mut stdin = child.stdin.take().expect("psql stdin");
        std::thread::scope(|s| {
            // psql stops reading at the first error (ON_ERROR_STOP); a broken
            // pipe here is reported through its exit status and stderr.
            s.spawn(move || {
                let _ = stdin.write_all(sql);
            });
            child.wait_with_output().expect("wait for psql")
        })
    }

    /// Runs SQL statements (`psql -c`), failing the test on any error.
    pub fn exec(&self, sql: &str) {
        let out = self
            .psql()
            .args(["-q", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .env("PGOPTIONS", "-c client_min_messages=warning")
            .stdout(Stdio::null())
            .output()
            .expect("run psql");
        check(&format!("in {}: {sql}", self.name), &out);
    }

    /// Runs a query with `psql -XAt` and returns its output without the final
    /// newline. Meant for scalars; use [`Self::rows`] for anything with
    /// newlines in it.
    pub fn query(&self, sql: &str) -> String {
        let out = self.psql().args(["-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql]).output().expect("run psql");
        check(&format!("in {}: {sql}", self.name), &out);
        let mut text = String::from_utf8(out.stdout).expect("psql output is UTF-8");
        if text.ends_with('\n') {
            text.pop();
        }
        text
    }

    /// Like [`Self::query`], but returns `Err(stderr)` instead of panicking.
    pub fn try_query(&self, sql: &str) -> Result<String, String> {
        let out = self
            .psql()
            .args(["-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .env("PGOPTIONS", "-c client_min_messages=warning")
            .output()
            .expect("run psql");
        if out.status.success() {
            let text = String::from_utf8(out.stdout).expect("psql output is UTF-8");
            Ok(text.trim_end_matches('\n').to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// Runs a query and returns each row as a JSON object (`row_to_json`), so
    /// NULLs, newlines and control characters survive unambiguously.
    pub fn rows(&self, sql: &str) -> Vec<serde_json::Map<String, serde_json::Value>> {
        let text = self.query(&format!("SELECT row_to_json(q)::text FROM ({sql}) AS q"));
        text.lines()
            .map(|line| match serde_json::from_str(line) {
                Ok(serde_json::Value::Object(map)) => map,
                other => panic!("unexpected row_to_json output {line:?}: {other:?}"),
            })
            .collect()
    }

    /// Runs `pg_dump` (plain format) on this database with extra arguments and
    /// returns the script. A fixed `\restrict` key is used where supported.
    pub fn dump(&self, args: &[&str]) -> Vec<u8> {
        let mut cmd = self.pg.command("pg_dump");
        cmd.arg("--format=plain");
        if self.pg.restrict_key {
            cmd.arg(format!("--restrict-key={RESTRICT_KEY}"));
        }
        let out = cmd.args(args).arg(&self.name).env("PGTZ", "UTC").output().expect("run pg_dump");
        check(&format!("pg_dump {}", self.name), &out);
        out.stdout
    }
}
