//! Limits: a single COPY row of hundreds of megabytes is processed in memory proportional to
//! that row (not to the dump, and not many times the row), passes through byte for byte, and
//! `--max-row-bytes` turns such a runaway row into an error naming the table and line, long
//! before the row is read whole.

use std::io::{BufWriter, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{SECRET, bin, tempdir};

const MIB: u64 = 1 << 20;
/// The size of the long value.
const ROW: u64 = 192 * MIB;
/// What a process needs besides the row (code, threads, buffers, chunks in flight).
const BASE: u64 = 96 * MIB;

/// Writes a dump with one row whose second field is `ROW` bytes (with escapes in it).
fn write_dump(path: &Path) {
    let mut f = BufWriter::new(std::fs::File::create(path).expect("create dump"));
    f.write_all(b"CREATE TABLE public.big (id integer, v text, w text);\n").unwrap();
    f.write_all(b"COPY public.big (id, v, w) FROM stdin;\n1\tsmall\tx\n2\t").unwrap();
    let piece = b"abcdefghij\\\\klmnopqrstuvwxyz0123456789\\n".repeat(1024);
    let mut written = 0;
    while written < ROW {
        f.write_all(&piece).unwrap();
        written += piece.len() as u64;
    }
    f.write_all(b"\ty\n3\tsmall\tz\n\\.\n").unwrap();
    f.flush().unwrap();
}

/// Runs scrub and returns (exit code, stderr, peak resident memory in bytes from
/// `/proc/PID/status` VmHWM, sampled while it runs).
fn run_measured(args: &[&dyn AsRef<std::ffi::OsStr>]) -> (Option<i32>, String, u64) {
    let mut cmd = Command::new(bin());
    for a in args {
        cmd.arg(a);
    }
    let mut child = cmd
        .env("SCRUB_SECRET", SECRET)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn scrub");
    let mut err = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    let start = std::time::Instant::now();
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_file)
            && let Some(kb) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak = peak.max(kb * 1024);
        }
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(start.elapsed() < Duration::from_secs(300), "scrub took too long");
        std::thread::sleep(Duration::from_millis(2));
    };
    (status.code(), reader.join().expect("stderr"), peak)
}

fn same_files(a: &Path, b: &Path) -> bool {
    let (mut fa, mut fb) = (std::fs::File::open(a).unwrap(), std::fs::File::open(b).unwrap());
    if fa.metadata().unwrap().len() != fb.metadata().unwrap().len() {
        return false;
    }
    let (mut ba, mut bb) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let n = fa.read(&mut ba).unwrap();
        if n == 0 {
            return true;
        }
        fb.read_exact(&mut bb[..n]).unwrap();
        if ba[..n] != bb[..n] {
            return false;
        }
    }
}

#[test]
fn a_row_of_hundreds_of_megabytes() {
    if !Path::new("/proc/self/status").exists() {
        eprintln!("skipped: no /proc to measure memory");
        return;
    }
    let dir = tempdir();
    let dump = dir.path().join("big.sql");
    write_dump(&dump);
    let out = dir.path().join("out.sql");
    let rules = dir.path().join("big.toml");
    std::fs::write(
        &rules,
        "[settings]\nunlisted_columns = \"keep\"\n[tables.\"public.big\"]\ncolumns.v = { transform = \"hash\", length = 16 }\n",
    )
    .expect("write rules");

    // Passed through: the output is the input, and memory is about one copy of the row.
    let (code, stderr, peak) = run_measured(&[&dump, &"-q", &"-o", &out]);
    assert_eq!(code, Some(0), "stderr:\n{stderr}");
    assert!(same_files(&dump, &out), "a passed-through dump changed");
    assert!(peak < 2 * ROW + BASE, "passing a {} MiB row through took {} MiB", ROW / MIB, peak / MIB);

    // Rewritten: the row and its decoded value, not more.
    let (code, stderr, peak) = run_measured(&[&"--rules", &rules, &dump, &"-q", &"-o", &out]);
    assert_eq!(code, Some(0), "stderr:\n{stderr}");
    let text = std::fs::read(&out).expect("read output");
    assert!(text.len() < 4096, "the long value was not rewritten");
    assert!(peak < 3 * ROW + BASE, "rewriting a {} MiB row took {} MiB", ROW / MIB, peak / MIB);

    // A limit below the row: an error as soon as the row outgrows it.
    let limit = 32 * MIB;
    let limit_arg = limit.to_string();
    let (code, stderr, peak) = run_measured(&[&dump, &"--max-row-bytes", &limit_arg, &"-o", &out]);
    assert_eq!(code, Some(1), "stderr:\n{stderr}");
    for needle in ["table public.big", "line 4", "byte offset 103", "--max-row-bytes"] {
        assert!(stderr.contains(needle), "stderr does not say {needle:?}:\n{stderr}");
    }
    assert!(peak < 3 * limit + BASE, "stopping at a {} MiB limit took {} MiB", limit / MIB, peak / MIB);
    // The failed run removed its output; the earlier successful one is still there.
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left.len(), 3, "left behind: {left:?}");
}
