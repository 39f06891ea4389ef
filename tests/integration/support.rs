//! Running the `scrub` binary and comparing its output.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The binary under test: the one cargo built for this test target, unless
/// `SCRUB_TEST_BIN` names another (e.g. an installed release build).
pub fn bin() -> PathBuf {
    match std::env::var_os("SCRUB_TEST_BIN") {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_scrub")),
    }
}

/// A fixed key for tests that need keyed transforms.
pub const SECRET: &str = "integration-test-secret-key-0001";
/// A second key, for "different key, different output" checks.
pub const OTHER_SECRET: &str = "integration-test-secret-key-0002";

/// No single scrub run in these tests should take anywhere near this long; a
/// run that does is treated as a hang (deadlocked pipeline) and killed.
const TIMEOUT: Duration = Duration::from_secs(300);

/// The package root (where `fixtures/` and `rules/` live).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A committed fixture, e.g. `fixture("pii.dump.sql")`.
pub fn fixture(name: &str) -> PathBuf {
    root().join("fixtures").join(name)
}

/// A committed rules file, e.g. `rules("noop.toml")`.
pub fn rules(name: &str) -> PathBuf {
    root().join("rules").join(name)
}

pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Every committed plain dump.
pub const DUMP_FIXTURES: &[&str] =
    &["pii.dump.sql", "awkward.dump.sql", "awkward.rootload.dump.sql", "awkward.bytea-escape.dump.sql"];

/// Builder for one `scrub` invocation. The environment is cleaned of
/// `SCRUB_SECRET`, so each test states the key it relies on.
pub struct Scrub {
    cmd: Command,
    stdin: Option<Vec<u8>>,
    described: Vec<String>,
}

impl Scrub {
    pub fn new() -> Scrub {
        let mut cmd = Command::new(bin());
        cmd.env_remove("SCRUB_SECRET").env("RUST_BACKTRACE", "0").current_dir(root());
        Scrub { cmd, stdin: None, described: vec!["scrub".to_string()] }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Scrub {
        self.described.push(arg.as_ref().to_string_lossy().into_owned());
        self.cmd.arg(arg);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Scrub
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for arg in args {
            self = self.arg(arg);
        }
        self
    }

    /// `--rules FILE`.
    pub fn rules(self, path: &Path) -> Scrub {
        self.arg("--rules").arg(path)
    }

    /// Sets `SCRUB_SECRET`.
    pub fn secret(mut self, key: &str) -> Scrub {
        self.described.insert(0, format!("SCRUB_SECRET={key}"));
        self.cmd.env("SCRUB_SECRET", key);
        self
    }

    /// Feeds these bytes on stdin (otherwise stdin is empty).
    pub fn stdin(mut self, bytes: Vec<u8>) -> Scrub {
        self.described.push(format!("<{} bytes on stdin>", bytes.len()));
        self.stdin = Some(bytes);
        self
    }

    /// Runs to completion (or [`TIMEOUT`]) and captures everything.
    pub fn run(mut self) -> Run {
        let description = self.described.join(" ");
        let mut child = self
            .cmd
            .stdin(if self.stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", bin().display()));
        let stdin = child.stdin.take();
        let mut stdout = child.stdout.take().expect("stdout");
        let mut stderr = child.stderr.take().expect("stderr");
        let input = self.stdin.take();
        let (status, out, err) = std::thread::scope(|s| {
            if let (Some(mut pipe), Some(bytes)) = (stdin, input) {
                // scrub may stop reading early (e.g. on an error): ignore EPIPE.
                s.spawn(move || {
                    let _ = pipe.write_all(&bytes);
                });
            }
            let out = s.spawn(move || {
                let mut buf = Vec::new();
                stdout.read_to_end(&mut buf).expect("read scrub stdout");
                buf
            });
            let err = s.spawn(move || {
                let mut buf = Vec::new();
                stderr.read_to_end(&mut buf).expect("read scrub stderr");
                buf
            });
            let status = wait_with_timeout(&mut child, &description);
            (status, out.join().expect("stdout reader"), err.join().expect("stderr reader"))
        });
        Run {
            args: self.described,
            description,
            status,
            stdout: out,
            stderr: String::from_utf8_lossy(&err).into_owned(),
        }
    }
}

/// Waits for the child; kills it and panics after [`TIMEOUT`].
pub fn wait_with_timeout(child: &mut Child, description: &str) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait for child") {
            return status;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("timed out after {TIMEOUT:?}: {description}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The result of one `scrub` run.
pub struct Run {
    /// The command line, for removing paths from stderr before looking for
    /// numbers in it.
    args: Vec<String>,
    pub description: String,
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Run {
    /// Asserts success and returns stdout.
    #[track_caller]
    pub fn success(self) -> Vec<u8> {
        assert!(
            self.status.success(),
            "expected success from `{}`, got {}; stderr:\n{}",
            self.description,
            self.status,
            self.stderr
        );
        self.stdout
    }

    /// Asserts a non-zero exit without a panic, and returns the run for more
    /// checks on stderr.
    #[track_caller]
    pub fn failure(self) -> Run {
        assert!(
            !self.status.success(),
            "expected `{}` to fail, but it exited with {}; stderr:\n{}",
            self.description,
            self.status,
            self.stderr
        );
        self.assert_no_panic();
        self
    }

    /// Asserts the exit status code (README: 1 bad input or I/O, 2 bad
    /// command line, rules, key or coverage).
    #[track_caller]
    pub fn code(&self, expected: i32) -> &Run {
        assert_eq!(
            self.status.code(),
            Some(expected),
            "exit status of `{}`; stderr:\n{}",
            self.description,
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn assert_no_panic(&self) {
        assert!(!self.stderr.contains("panicked"), "`{}` panicked:\n{}", self.description, self.stderr);
    }

    /// Asserts that stderr contains each needle (case-sensitive).
    #[track_caller]
    pub fn stderr_contains(&self, needles: &[&str]) -> &Run {
        for needle in needles {
            assert!(
                self.stderr.contains(needle),
                "stderr of `{}` does not mention {needle:?}:\n{}",
                self.description,
                self.stderr
            );
        }
        self
    }

    /// Asserts that stderr says "line" and gives one of these line numbers
    /// (as a whole number, not as part of a longer one).
    #[track_caller]
    pub fn stderr_names_line(&self, candidates: &[usize]) -> &Run {
        assert!(
            self.stderr.to_lowercase().contains("line"),
            "stderr of `{}` does not mention a line:\n{}",
            self.description,
            self.stderr
        );
        self.stderr_names_number(candidates)
    }

    /// Asserts that stderr gives one of these numbers, ignoring digits that
    /// are part of the arguments (temporary directories have random names).
    #[track_caller]
    pub fn stderr_names_number(&self, candidates: &[usize]) -> &Run {
        let mut text = self.stderr.clone();
        for arg in self.args.iter().filter(|a| a.len() > 3) {
            text = text.replace(arg.as_str(), " ");
        }
        let numbers = numbers_in(&text);
        assert!(
            candidates.iter().any(|n| numbers.contains(n)),
            "stderr of `{}` names none of {candidates:?}:\n{}",
            self.description,
            self.stderr
        );
        self
    }
}

/// All decimal numbers in a text.
fn numbers_in(text: &str) -> Vec<usize> {
    text.split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty()).filter_map(|s| s.parse().ok()).collect()
}

/// Asserts two byte strings are equal; on mismatch reports the first differing
/// offset and line with some context instead of dumping megabytes.
#[track_caller]
pub fn assert_same_bytes(expected: &[u8], actual: &[u8], what: &str) {
    if expected == actual {
        return;
    }
    let at = expected.iter().zip(actual).position(|(a, b)| a != b).unwrap_or(expected.len().min(actual.len()));
    let line = 1 + expected[..at].iter().filter(|&&b| b == b'\n').count();
    let excerpt = |bytes: &[u8]| {
        let from = at.saturating_sub(80);
        let to = (at + 80).min(bytes.len());
        format!("{:?}", String::from_utf8_lossy(&bytes[from.min(to)..to]))
    };
    panic!(
        "{what}: output differs from expected at byte {at} (line {line}); \
         expected {} bytes, got {}\n  expected: …{}…\n  actual:   …{}…",
        expected.len(),
        actual.len(),
        excerpt(expected),
        excerpt(actual),
    );
}

/// The 1-based line number of the line that starts at byte `offset`.
pub fn line_of(bytes: &[u8], offset: usize) -> usize {
    1 + bytes[..offset].iter().filter(|&&b| b == b'\n').count()
}

/// Byte offset of the first occurrence of `needle` at or after `from`.
pub fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack[from..].windows(needle.len()).position(|w| w == needle).map(|p| p + from)
}

/// Byte range of the data lines of the COPY block whose statement starts with
/// `copy_prefix` (e.g. `b"COPY public.customers "`): from the first data byte
/// to the start of the `\.` line.
pub fn copy_data_range(dump: &[u8], copy_prefix: &[u8]) -> std::ops::Range<usize> {
    let mut stmt = find(dump, copy_prefix, 0).expect("COPY statement in fixture");
    // The statement must start a line (skip decoys inside string literals).
    while stmt > 0 && dump[stmt - 1] != b'\n' {
        stmt = find(dump, copy_prefix, stmt + 1).expect("COPY statement at line start");
    }
    let start = find(dump, b" FROM stdin;\n", stmt).expect("end of COPY statement") + 13;
    let end = if dump[start..].starts_with(b"\\.\n") {
        start
    } else {
        find(dump, b"\n\\.\n", start).expect("COPY terminator") + 1
    };
    start..end
}

/// Byte offsets where each line of `range` starts.
pub fn line_starts(bytes: &[u8], range: std::ops::Range<usize>) -> Vec<usize> {
    let mut starts = vec![range.start];
    for (i, &b) in bytes[range.clone()].iter().enumerate() {
        if b == b'\n' && range.start + i + 1 < range.end {
            starts.push(range.start + i + 1);
        }
    }
    starts
}

/// Whether an external program can be run (e.g. `gzip`).
pub fn have_program(name: &str) -> bool {
    Command::new(name).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
}

/// A temporary directory for output files.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("scrub-it-").tempdir().expect("create temp dir")
}

/// `unix2dos`: every LF becomes CR LF.
pub fn to_crlf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 20);
    for &b in bytes {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}
