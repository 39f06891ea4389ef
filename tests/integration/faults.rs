//! Faults around a run rather than in its input: a full disk, an input that stops mid-stream,
//! SIGINT and SIGTERM while scrub is blocked on a stalled input or a downstream program that
//! stopped reading, and a downstream pipe closed early. Each must end promptly with a clear
//! message, the documented exit status (1 for I/O failures, 130/143 for SIGINT/SIGTERM), and
//! nothing at the output path or in the temporary directory that could pass for a sanitized
//! dump.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::support::{bin, fixture, have_program, read, rules, tempdir};

/// A signal must end a run within this time, whatever it is blocked on.
const PROMPT: Duration = Duration::from_secs(10);

/// A running scrub whose stderr is being collected.
struct Running {
    child: Child,
    stderr: Option<JoinHandle<String>>,
}

impl Running {
    fn spawn(args: &[&dyn AsRef<std::ffi::OsStr>], stdin: Stdio, stdout: Stdio, env: &[(&str, &Path)]) -> Running {
        let mut cmd = Command::new(bin());
        cmd.env_remove("SCRUB_SECRET").env("RUST_BACKTRACE", "0");
        for (k, v) in env {
            cmd.env(k, v);
        }
        for a in args {
            cmd.arg(a);
        }
        let mut child = cmd.stdin(stdin).stdout(stdout).stderr(Stdio::piped()).spawn().expect("spawn scrub");
        let mut err = child.stderr.take().expect("stderr");
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        Running { child, stderr: Some(stderr) }
    }

    fn signal(&self, name: &str) {
        let ok = Command::new("kill").arg(format!("-{name}")).arg(self.child.id().to_string()).status();
        assert!(ok.is_ok_and(|s| s.success()), "kill -{name} failed");
    }

    /// Waits at most `limit`; returns the status, stderr and how long it took.
    fn finish(mut self, limit: Duration) -> (ExitStatus, String, Duration) {
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            if start.elapsed() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("scrub did not stop within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let took = start.elapsed();
        let stderr = self.stderr.take().expect("stderr").join().expect("stderr reader");
        (status, stderr, took)
    }
}

/// Polls `cond` for up to 20 seconds.
#[track_caller]
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < Duration::from_secs(20), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir).map(|d| d.map(|e| e.expect("entry").path()).collect()).unwrap_or_default()
}

#[track_caller]
fn assert_empty(dir: &Path, what: &str) {
    let left = entries(dir);
    assert!(left.is_empty(), "{what}: left behind: {left:?}");
}

/// Whether process `pid` has started the thread that handles SIGINT/SIGTERM (before that, a
/// signal would simply kill it).
fn has_signal_thread(pid: u32) -> bool {
    std::fs::read_dir(format!("/proc/{pid}/task")).into_iter().flatten().any(|t| {
        t.is_ok_and(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == "scrub-signals"))
    })
}

/// The exit status a signal must give: 128 + its number.
fn signal_code(name: &str) -> i32 {
    match name {
        "INT" => 130,
        "TERM" => 143,
        other => panic!("no code for {other}"),
    }
}

#[test]
fn full_disk_via_dev_full() {
    if !Path::new("/dev/full").exists() {
        eprintln!("skipped: no /dev/full");
        return;
    }
    let run = crate::support::Scrub::new()
        .rules(&rules("noop.toml"))
        .arg(fixture("pii.dump.sql"))
        .args(["-o", "/dev/full"])
        .run()
        .failure();
    run.code(1).stderr_contains(&["No space left on device"]);
}

/// Output to a file that may not grow past a limit (RLIMIT_FSIZE, with SIGXFSZ ignored so that
/// writes fail with EFBIG instead of killing the process), for every output format.
#[test]
fn output_file_size_limit() {
    let dir = tempdir();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).expect("mkdir");
    let cases: &[(&str, PathBuf, &[&str])] = &[
        ("plain", fixture("pii.dump.sql"), &[]),
        ("plain gzip", fixture("awkward.dump.sql"), &["-Z", "gzip:1"]),
        ("custom", fixture("archives/pg15.custom.none.dump"), &[]),
        ("tar", fixture("archives/pg15.custom.none.dump"), &["-F", "t"]),
    ];
    for (what, input, extra) in cases {
        let target = out.join("scrubbed");
        let script = "ulimit -f 16; trap '' XFSZ; exec \"$0\" \"$@\"";
        let status = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg(bin())
            .arg("--rules")
            .arg(rules("noop.toml"))
            .arg(input)
            .args(*extra)
            .arg("-o")
            .arg(&target)
            .env_remove("SCRUB_SECRET")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .expect("run scrub under ulimit");
        let stderr = String::from_utf8_lossy(&status.stderr);
        assert_eq!(status.status.code(), Some(1), "{what}: exit status; stderr:\n{stderr}");
        assert!(stderr.contains("File too large"), "{what}: stderr does not say why:\n{stderr}");
        assert!(!stderr.contains("panicked"), "{what}: panicked:\n{stderr}");
        assert_empty(&out, what);
    }
}

/// A real full file system: a 256 KiB tmpfs (needs root and mount; skipped otherwise).
#[test]
fn output_to_a_full_tmpfs() {
    let dir = tempdir();
    let mnt = dir.path().join("small");
    std::fs::create_dir(&mnt).expect("mkdir");
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
        .arg(&mnt)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("skipped: cannot mount a tmpfs here (not root?); output_file_size_limit covers the rest");
        return;
    }
    let result = std::panic::catch_unwind(|| {
        for (what, args) in [
            ("plain", vec!["-o", "plain.sql"]),
            ("directory", vec!["-F", "d", "-o", "dir"]),
            ("custom", vec!["-F", "c", "-o", "x.dump"]),
        ] {
            let input =
                if what == "plain" { fixture("awkward.dump.sql") } else { fixture("archives/pg15.custom.none.dump") };
            let run = Command::new(bin())
                .arg("--rules")
                .arg(rules("noop.toml"))
                .arg(&input)
                .args(&args)
                .current_dir(&mnt)
                .env_remove("SCRUB_SECRET")
                .output()
                .expect("run scrub");
            let stderr = String::from_utf8_lossy(&run.stderr);
            if what != "plain" && run.status.success() {
                // A small archive may fit: then it must be complete.
                continue;
            }
            assert_eq!(run.status.code(), Some(1), "{what}: exit status; stderr:\n{stderr}");
            assert!(stderr.contains("No space left on device"), "{what}: stderr does not say why:\n{stderr}");
            assert_empty(&mnt, what);
        }
    });
    let _ = Command::new("umount").arg(&mnt).status();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

/// The program feeding scrub dies halfway (pg_dump killed, a connection dropped): whatever has
/// been written is not a dump, and scrub says where its input stopped.
#[test]
fn input_that_stops_mid_stream() {
    let dump = read(&fixture("pii.dump.sql"));
    let dir = tempdir();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).expect("mkdir");
    // The last cut is just before pg_dump's closing comment.
    let closing = dump.len() - dump.windows(8).rev().position(|w| w == b"complete").expect("closing comment") - 8 - 30;
    for cut in [dump.len() / 3, dump.len() / 2 + 17, closing] {
        let mut running = Running::spawn(
            &[&"--rules", &rules("noop.toml"), &"-o", &out.join("x.sql")],
            Stdio::piped(),
            Stdio::null(),
            &[],
        );
        let mut stdin = running.child.stdin.take().expect("stdin");
        stdin.write_all(&dump[..cut]).expect("feed");
        drop(stdin);
        let (status, stderr, _) = running.finish(PROMPT);
        assert_eq!(status.code(), Some(1), "cut at {cut}: status; stderr:\n{stderr}");
        assert!(stderr.contains("truncated"), "cut at {cut}: stderr:\n{stderr}");
        assert!(stderr.contains(&format!("byte offset {cut}")), "cut at {cut}: no position:\n{stderr}");
        assert_empty(&out, "input stopped mid-stream");
    }
}

/// SIGINT/SIGTERM while scrub waits for more input that does not come: it stops at once,
/// removes its temporary output and exits 130/143.
#[test]
fn signal_while_input_stalls() {
    let dump = read(&fixture("pii.dump.sql"));
    let custom = read(&fixture("archives/pg15.custom.gzip.dump"));
    for sig in ["INT", "TERM"] {
        for (what, input, args) in [
            ("plain", &dump, vec!["-o", "x.sql"]),
            ("plain, keyed rules", &dump, vec!["-o", "x.sql"]),
            ("custom to directory", &custom, vec!["-F", "d", "-o", "x.dir"]),
            ("custom to custom", &custom, vec!["-o", "x.dump"]),
        ] {
            let dir = tempdir();
            let out = dir.path().join("out");
            std::fs::create_dir(&out).expect("mkdir");
            let rules_file = if what.contains("keyed") { rules("pii.toml") } else { rules("noop.toml") };
            let mut cmd_args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"--rules", &rules_file];
            let targets: Vec<PathBuf> =
                args.iter().map(|a| if a.starts_with('x') { out.join(a) } else { PathBuf::from(a) }).collect();
            for t in &targets {
                cmd_args.push(t);
            }
            let secret = Path::new("stall-test-key");
            let mut running = Running::spawn(&cmd_args, Stdio::piped(), Stdio::null(), &[("SCRUB_SECRET", secret)]);
            let mut stdin = running.child.stdin.take().expect("stdin");
            // Enough to start writing the output, then nothing more: the pipe stays open.
            stdin.write_all(&input[..input.len() / 2]).expect("feed");
            wait_for(&format!("{what}: a temporary output"), || !entries(&out).is_empty());
            std::thread::sleep(Duration::from_millis(100));
            running.signal(sig);
            let (status, stderr, took) = running.finish(PROMPT);
            drop(stdin);
            assert_eq!(status.code(), Some(signal_code(sig)), "{what}, SIG{sig}: status; stderr:\n{stderr}");
            assert!(stderr.contains("interrupted"), "{what}, SIG{sig}: stderr:\n{stderr}");
            assert!(!stderr.contains("panicked"), "{what}: panicked:\n{stderr}");
            assert!(took < Duration::from_secs(3), "{what}, SIG{sig}: took {took:?} to stop");
            assert_empty(&out, &format!("{what}, SIG{sig}"));
        }
    }
}

/// SIGINT/SIGTERM while scrub is blocked writing to a downstream program that stopped reading
/// (a stalled `psql`, a paused `pg_restore`) or waiting for one to open a FIFO: it stops at
/// once and leaves nothing in its temporary directory.
#[test]
fn signal_while_output_stalls() {
    let dir = tempdir();
    let fifo = dir.path().join("fifo");
    let have_fifo = Command::new("mkfifo").arg(&fifo).status().is_ok_and(|s| s.success());
    for sig in ["INT", "TERM"] {
        for what in ["plain to a full pipe", "custom to tar to a FIFO nobody opens"] {
            if what.contains("FIFO") && !have_fifo {
                continue;
            }
            let temp = tempdir();
            let rules_path = rules("noop.toml");
            let temp_path = temp.path().to_path_buf();
            let (input, stdout) = if what.contains("FIFO") {
                (fixture("archives/pg15.custom.none.dump"), Stdio::null())
            } else {
                (fixture("awkward.dump.sql"), Stdio::piped())
            };
            let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> =
                vec![&"--rules", &rules_path, &input, &"--temp-dir", &temp_path];
            if what.contains("FIFO") {
                args.extend([&"-F" as &dyn AsRef<std::ffi::OsStr>, &"t", &"-o", &fifo]);
            }
            // stdout is a pipe nobody reads (scrub fills it and blocks), or the FIFO has no reader.
            let running = Running::spawn(&args, Stdio::null(), stdout, &[]);
            wait_for("scrub's signal thread", || has_signal_thread(running.child.id()));
            std::thread::sleep(Duration::from_millis(500));
            running.signal(sig);
            let (status, stderr, took) = running.finish(PROMPT);
            assert_eq!(status.code(), Some(signal_code(sig)), "{what}, SIG{sig}: status; stderr:\n{stderr}");
            assert!(stderr.contains("interrupted"), "{what}, SIG{sig}: stderr:\n{stderr}");
            assert!(took < Duration::from_secs(3), "{what}, SIG{sig}: took {took:?} to stop");
            assert_empty(temp.path(), &format!("{what}, SIG{sig}: --temp-dir"));
        }
    }
}

/// Plain output from an archive goes through a temporary archive handed to pg_restore. A
/// signal while pg_restore runs (here: a stand-in that waits) removes it.
#[test]
fn signal_while_pg_restore_runs_removes_the_temporary_archive() {
    let temp = tempdir();
    let work = tempdir();
    let fake = work.path().join("fake-pg_restore");
    let seen = work.path().join("seen");
    // It keeps neither scrub's stderr nor its stdout open once scrub is gone.
    let script = format!(
        "#!/bin/sh\nexec 2>/dev/null\nstat -c '%a %n' \"$3\" > '{}'\nexec sleep 30 >/dev/null\n",
        seen.display()
    );
    std::fs::write(&fake, script).expect("write fake pg_restore");
    make_executable(&fake);
    for sig in ["INT", "TERM"] {
        let running = Running::spawn(
            &[
                &"--rules",
                &rules("noop.toml"),
                &fixture("archives/pg15.custom.none.dump"),
                &"-F",
                &"p",
                &"--temp-dir",
                &temp.path(),
            ],
            Stdio::null(),
            Stdio::piped(),
            &[("SCRUB_PG_RESTORE", &fake)],
        );
        wait_for("the stand-in pg_restore", || std::fs::read_to_string(&seen).is_ok_and(|s| s.ends_with('\n')));
        let seen_text = std::fs::read_to_string(&seen).expect("read");
        assert!(seen_text.starts_with("600 "), "the temporary archive is not mode 0600: {seen_text}");
        assert!(seen_text.contains(&temp.path().display().to_string()), "not in --temp-dir: {seen_text}");
        running.signal(sig);
        let (status, stderr, took) = running.finish(PROMPT);
        assert_eq!(status.code(), Some(signal_code(sig)), "SIG{sig}: status; stderr:\n{stderr}");
        assert!(took < Duration::from_secs(3), "SIG{sig}: took {took:?}");
        assert_empty(temp.path(), &format!("SIG{sig}: --temp-dir"));
        std::fs::remove_file(&seen).expect("reset");
    }
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// A downstream program that exits early: `scrub | head -c 100` for a plain dump, and a reader
/// gone before the first byte for archives (small archives fit in a pipe's buffer). The closed
/// pipe is an error (status 1), said plainly, and spool files are gone.
#[test]
fn downstream_closed_early_for_every_output_format() {
    for (what, input, extra) in [
        ("plain", fixture("awkward.dump.sql"), vec![]),
        ("custom", fixture("archives/pg15.custom.none.dump"), vec![]),
        ("custom to tar", fixture("archives/pg15.custom.none.dump"), vec!["-F", "t"]),
        ("tar to plain", fixture("archives/pg15.tar"), vec!["-F", "p"]),
    ] {
        if what == "tar to plain" && !have_program("pg_restore") {
            continue;
        }
        let temp = tempdir();
        let mut scrub = Command::new(bin())
            .arg("--rules")
            .arg(rules("noop.toml"))
            .arg(&input)
            .args(&extra)
            .arg("--temp-dir")
            .arg(temp.path())
            .env_remove("SCRUB_SECRET")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn scrub");
        let pipe = scrub.stdout.take().expect("stdout");
        if what == "plain" {
            let head = Command::new("head").args(["-c", "100"]).stdin(Stdio::from(pipe)).stdout(Stdio::null()).status();
            assert!(head.is_ok_and(|s| s.success()));
        } else {
            drop(pipe);
        }
        let mut err = String::new();
        scrub.stderr.take().expect("stderr").read_to_string(&mut err).expect("stderr");
        let status = crate::support::wait_with_timeout(&mut scrub, what);
        assert_eq!(status.code(), Some(1), "{what}: status; stderr:\n{err}");
        assert!(err.contains("broken pipe"), "{what}: stderr:\n{err}");
        assert!(!err.contains("panicked"), "{what}: panicked:\n{err}");
        assert_empty(temp.path(), what);
    }
}
