//! Security properties of a run:
//!
//! * the secret key never appears in the output (any format), on stderr (summary, warnings,
//!   progress, errors), in the `--report`, in the manifest, or in `/proc/PID/cmdline`;
//! * spool files are created with mode 0600 in `--temp-dir` (default: the system's, `$TMPDIR`)
//!   and are gone after every kind of exit;
//! * a rules file cannot make scrub open, create or remove any file other than the ones the
//!   user named on the command line.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Scrub, bin, fixture, have_program, read, rules, tempdir};

/// A key that is easy to spot, in every spelling that could leak.
const KEY: &str = "h8-Secret-Key-That-Must-Never-Be-Printed-7f3a9c";

fn key_spellings() -> Vec<Vec<u8>> {
    let hex: String = KEY.bytes().map(|b| format!("{b:02x}")).collect();
    vec![KEY.as_bytes().to_vec(), hex.into_bytes(), KEY.to_lowercase().into_bytes()]
}

#[track_caller]
fn assert_no_key(what: &str, bytes: &[u8]) {
    for spelling in key_spellings() {
        assert!(!bytes.windows(spelling.len()).any(|w| w == spelling.as_slice()), "the secret key appears in {what}");
    }
}

/// Every regular file under `path` (or `path` itself).
fn files_under(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(path).into_iter().flatten() {
        out.extend(files_under(&entry.expect("entry").path()));
    }
    out
}

#[test]
fn key_never_appears_in_outputs_logs_reports_or_manifests() {
    let dir = tempdir();
    let key_file = dir.path().join("key");
    std::fs::write(&key_file, format!("{KEY}\n")).expect("write key");
    let archive_rules = dir.path().join("archive.toml");
    std::fs::write(
        &archive_rules,
        "[settings]\nunlisted_columns = \"keep\"\n[tables.\"public.t_text\"]\ncolumns.s = { transform = \"hash\", length = 16 }\n\
         [tables.\"public.t_many\"]\ncolumns.label = \"uuid\"\n",
    )
    .expect("write rules");
    let cases: Vec<(&str, PathBuf, Vec<&str>)> = vec![
        ("plain", fixture("pii.dump.sql"), vec!["-o", "plain.sql"]),
        ("plain gzip", fixture("pii.dump.sql"), vec!["-o", "plain.sql.gz"]),
        ("custom", fixture("archives/pg15.custom.gzip.dump"), vec!["-o", "x.dump"]),
        ("custom to directory", fixture("archives/pg15.custom.gzip.dump"), vec!["-F", "d", "-o", "x.dir"]),
        ("custom to tar", fixture("archives/pg15.custom.gzip.dump"), vec!["-F", "t", "-o", "x.tar"]),
    ];
    for (via_file, (what, input, args)) in [false, true].into_iter().flat_map(|f| cases.iter().map(move |c| (f, c))) {
        let out = dir.path().join(format!("out-{via_file}"));
        let _ = std::fs::remove_dir_all(&out);
        std::fs::create_dir(&out).expect("mkdir");
        let report = out.join("report.json");
        let rules_file = if what.starts_with("plain") { rules("pii.toml") } else { archive_rules.clone() };
        let mut scrub = Scrub::new().rules(&rules_file).arg(input).arg("--report").arg(&report);
        scrub = scrub.args(["--progress", "always"]);
        scrub = if via_file { scrub.arg("--secret-file").arg(&key_file) } else { scrub.secret(KEY) };
        for a in args {
            scrub = if a.contains('.') { scrub.arg(out.join(a)) } else { scrub.arg(a) };
        }
        let run = scrub.run();
        let label = format!("{what} (key from {})", if via_file { "file" } else { "environment" });
        assert!(run.status.success(), "{label}: {}", run.stderr);
        assert_no_key(&format!("{label}: stdout"), &run.stdout);
        assert_no_key(&format!("{label}: stderr"), run.stderr.as_bytes());
        for file in files_under(&out) {
            assert_no_key(&format!("{label}: {}", file.display()), &read(&file));
        }
        // What `scrub manifest` prints about the artifact.
        let artifact = files_under(&out).into_iter().find(|p| p != &report).expect("an artifact");
        let target = if what.contains("directory") { out.join("x.dir") } else { artifact };
        let manifest = Scrub::new().arg("manifest").arg(&target).run();
        assert_no_key(&format!("{label}: scrub manifest"), &manifest.stdout);
        assert_no_key(&format!("{label}: scrub manifest"), manifest.stderr.as_bytes());
    }
    // Failures say nothing about the key either.
    let truncated = dir.path().join("truncated.sql");
    let dump = read(&fixture("pii.dump.sql"));
    std::fs::write(&truncated, &dump[..dump.len() / 2]).expect("write");
    let failed = Scrub::new().secret(KEY).rules(&rules("pii.toml")).arg(&truncated).run().failure();
    assert_no_key("an error message", failed.stderr.as_bytes());
    let bad_rules = dir.path().join("bad.toml");
    std::fs::write(&bad_rules, format!("[tables.\"public.customers\"]\ncolumns.email = {{ transform = \"{KEY}\" }}\n"))
        .expect("write");
    // (A key that is also a transform name is the user's own doing; the rules error may quote
    // the rules file, but never the key from SCRUB_SECRET.)
    let failed = Scrub::new().secret("another-key-entirely").rules(&bad_rules).arg(fixture("pii.dump.sql")).run();
    assert!(!failed.stderr.contains("another-key-entirely"), "{}", failed.stderr);
}

/// Spawns scrub reading a stalled stdin: `input[..cut]` is written and the pipe stays open.
fn spawn_stalled(
    args: &[&dyn AsRef<std::ffi::OsStr>],
    env: &[(&str, &dyn AsRef<std::ffi::OsStr>)],
    input: &[u8],
) -> (Child, std::process::ChildStdin) {
    let mut cmd = Command::new(bin());
    cmd.env_remove("SCRUB_SECRET").env("RUST_BACKTRACE", "0");
    for (k, v) in env {
        cmd.env(k, v);
    }
    for a in args {
        cmd.arg(a);
    }
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input).expect("feed");
    (child, stdin)
}

/// SIGTERM, then waits; the input pipe is closed only afterwards (closing it first would end the
/// run with a truncated input instead).
fn kill_and_wait(mut child: Child, stdin: std::process::ChildStdin) -> std::process::ExitStatus {
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let status = crate::support::wait_with_timeout(&mut child, "scrub after SIGTERM");
    drop(stdin);
    status
}

/// Files (open or named) of process `pid` that live in `dir`, with their modes.
fn open_files_in(pid: u32, dir: &Path) -> Vec<(String, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd")).into_iter().flatten() {
        let entry = entry.expect("fd");
        let Ok(target) = std::fs::read_link(entry.path()) else { continue };
        if target.starts_with(dir) {
            let mode = std::fs::metadata(entry.path()).map(|m| m.permissions().mode() & 0o7777).unwrap_or(0);
            out.push((target.display().to_string(), mode));
        }
    }
    out
}

#[test]
fn the_key_is_not_on_the_command_line() {
    if !Path::new("/proc/self/cmdline").exists() {
        return;
    }
    let dir = tempdir();
    let key_file = dir.path().join("key");
    std::fs::write(&key_file, KEY).expect("write key");
    let dump = read(&fixture("pii.dump.sql"));
    let (child, stdin) = spawn_stalled(
        &[&"--rules", &rules("pii.toml"), &"--secret-file", &key_file, &"-o", &dir.path().join("out.sql")],
        &[],
        &dump[..dump.len() / 2],
    );
    std::thread::sleep(Duration::from_millis(300));
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", child.id())).expect("read cmdline");
    assert_no_key("/proc/PID/cmdline", &cmdline);
    let environ = std::fs::read(format!("/proc/{}/environ", child.id())).unwrap_or_default();
    assert_no_key("/proc/PID/environ (key given as a file)", &environ);
    kill_and_wait(child, stdin);
}

/// Tar output spools each entry to an anonymous file: it must be in `--temp-dir` (or `$TMPDIR`),
/// mode 0600, and nothing may stay there however the run ends.
#[test]
fn spool_files_are_private_and_in_the_temp_dir() {
    if !Path::new("/proc/self/fd").exists() {
        return;
    }
    let custom = read(&fixture("archives/pg15.custom.none.dump"));
    for via_env in [false, true] {
        let temp = tempdir();
        let out = tempdir();
        let temp_path = temp.path().to_path_buf();
        let target = out.path().join("x.tar");
        let rules_path = rules("noop.toml");
        let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"--rules", &rules_path, &"-F", &"t", &"-o", &target];
        if !via_env {
            args.extend([&"--temp-dir" as &dyn AsRef<std::ffi::OsStr>, &temp_path]);
        }
        let env: Vec<(&str, &dyn AsRef<std::ffi::OsStr>)> = if via_env { vec![("TMPDIR", &temp_path)] } else { vec![] };
        let (child, stdin) = spawn_stalled(&args, &env, &custom[..custom.len() * 3 / 4]);
        let start = Instant::now();
        let spools = loop {
            let found = open_files_in(child.id(), temp.path());
            if !found.is_empty() {
                break found;
            }
            assert!(start.elapsed() < Duration::from_secs(20), "no spool file appeared in the temp dir");
            std::thread::sleep(Duration::from_millis(10));
        };
        for (name, mode) in &spools {
            assert_eq!(*mode, 0o600, "spool file {name} has mode {mode:o}");
            assert!(name.ends_with("(deleted)"), "spool file {name} has a name in the directory");
        }
        let status = kill_and_wait(child, stdin);
        assert_eq!(status.code(), Some(143));
        assert!(std::fs::read_dir(temp.path()).unwrap().next().is_none(), "the temp dir is not empty");
        assert!(std::fs::read_dir(out.path()).unwrap().next().is_none(), "the output dir is not empty");
    }
    // Success, failure and a closed pipe: nothing stays in --temp-dir.
    let temp = tempdir();
    let out = tempdir();
    let tar_with_blobs = fixture("archives/pg15.tar");
    let cases: Vec<(&str, Vec<&dyn AsRef<std::ffi::OsStr>>, bool)> = vec![
        ("custom to tar", vec![&"-F", &"t"], true),
        ("tar with large objects to custom", vec![], true),
        ("tar to tar", vec![&"-F", &"t"], true),
    ];
    for (what, extra, ok) in cases {
        let input =
            if what.starts_with("tar") { tar_with_blobs.clone() } else { fixture("archives/pg15.custom.none.dump") };
        let target = out.path().join("x");
        let mut cmd = Command::new(bin());
        cmd.arg("--rules").arg(rules("noop.toml")).arg(&input).arg("--temp-dir").arg(temp.path());
        for e in &extra {
            cmd.arg(e);
        }
        let output = cmd.arg("-o").arg(&target).env_remove("SCRUB_SECRET").output().expect("run");
        assert_eq!(output.status.success(), ok, "{what}: {}", String::from_utf8_lossy(&output.stderr));
        assert!(std::fs::read_dir(temp.path()).unwrap().next().is_none(), "{what}: the temp dir is not empty");
        let _ = std::fs::remove_file(&target);
    }
    // A failure halfway: a truncated archive.
    let custom_cut = out.path().join("cut.dump");
    std::fs::write(&custom_cut, &custom[..custom.len() * 3 / 4]).expect("write");
    let output = Command::new(bin())
        .args(["--rules"])
        .arg(rules("noop.toml"))
        .arg(&custom_cut)
        .args(["-F", "t", "--temp-dir"])
        .arg(temp.path())
        .arg("-o")
        .arg(out.path().join("y.tar"))
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
    assert!(std::fs::read_dir(temp.path()).unwrap().next().is_none(), "failure: the temp dir is not empty");
}

/// The temporary archive handed to pg_restore (the one named temporary file) is mode 0600 in
/// `--temp-dir`, and is removed after success and after pg_restore fails.
#[test]
fn temporary_archive_for_pg_restore_is_private_and_removed() {
    let temp = tempdir();
    let work = tempdir();
    for (what, exit) in [("success", 0), ("pg_restore fails", 1)] {
        let fake = work.path().join("fake-pg_restore");
        let seen = work.path().join("seen");
        let script =
            format!("#!/bin/sh\nstat -c '%a %n' \"$3\" > '{}'\necho 'SELECT 1;'\nexit {exit}\n", seen.display());
        std::fs::write(&fake, script).expect("write fake");
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        let output = Command::new(bin())
            .arg("--rules")
            .arg(rules("noop.toml"))
            .arg(fixture("archives/pg15.custom.none.dump"))
            .args(["-F", "p", "--temp-dir"])
            .arg(temp.path())
            .env("SCRUB_PG_RESTORE", &fake)
            .env_remove("SCRUB_SECRET")
            .output()
            .expect("run");
        assert_eq!(output.status.success(), exit == 0, "{what}: {}", String::from_utf8_lossy(&output.stderr));
        let seen_text = std::fs::read_to_string(&seen).expect("the stand-in ran");
        assert!(seen_text.starts_with("600 "), "{what}: {seen_text}");
        assert!(seen_text.contains(&temp.path().display().to_string()), "{what}: not in --temp-dir: {seen_text}");
        assert!(std::fs::read_dir(temp.path()).unwrap().next().is_none(), "{what}: the temp dir is not empty");
    }
}

/// Path-like strings in every place a rules file takes a string, and unknown keys that would
/// name files, must not make scrub touch those paths. With strace, every path scrub opens,
/// creates, renames or removes is checked; without it, the named files must stay as they were
/// and their contents must not reach the output.
#[test]
fn a_rules_file_cannot_name_other_files() {
    let dir = tempdir();
    let secret = dir.path().join("sentinel-secret.txt");
    std::fs::write(&secret, "SENTINEL CONTENT THAT MUST NOT LEAK").expect("write");
    let victim = dir.path().join("sentinel-victim.txt");
    std::fs::write(&victim, "unchanged").expect("write");
    let (s, v) = (secret.display().to_string(), victim.display().to_string());
    let rules_text = format!(
        "[settings]\nunlisted_columns = \"keep\"\n\n[tables.\"public.customers\"]\n\
         columns.first_name = {{ transform = \"constant\", value = \"{s}\" }}\n\
         columns.last_name = {{ transform = \"regex_replace\", pattern = '.*', replacement = '{v}' }}\n\
         columns.email = {{ transform = \"template\", template = \"{{first_name}}@{s}\", allow_duplicates = true }}\n\
         columns.notes = {{ transform = \"hash\", length = 16, when = \"notes <> '{v}'\" }}\n"
    );
    let rules_path = dir.path().join("paths.toml");
    std::fs::write(&rules_path, &rules_text).expect("write rules");
    let out = dir.path().join("out.sql");
    let traced = have_program("strace");
    let trace = dir.path().join("trace.txt");
    let mut cmd = if traced {
        let mut c = Command::new("strace");
        c.args(["-f", "-qq", "-e", "trace=%file", "-o"]).arg(&trace).arg(bin());
        c
    } else {
        Command::new(bin())
    };
    let output = cmd
        .arg("--rules")
        .arg(&rules_path)
        .arg(fixture("pii.dump.sql"))
        .arg("-o")
        .arg(&out)
        .env("SCRUB_SECRET", KEY)
        .output()
        .expect("run scrub");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = read(&out);
    assert!(!String::from_utf8_lossy(&text).contains("SENTINEL CONTENT"), "a file named in the rules was read");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "unchanged");
    if traced {
        let log = std::fs::read_to_string(&trace).expect("read trace");
        let touched: Vec<&str> = log.lines().filter(|l| l.contains("sentinel-")).collect();
        assert!(touched.is_empty(), "scrub touched files named in the rules:\n{}", touched.join("\n"));
    } else {
        eprintln!("note: strace not installed; checked contents only");
    }
    // Keys that are not part of the rules format are refused, not ignored.
    for extra in [format!("include = \"{s}\"\n"), format!("[settings]\noutput = \"{v}\"\n")] {
        let bad = dir.path().join("extra.toml");
        std::fs::write(&bad, format!("{extra}\n[tables.\"public.countries\"]\nkeep_all = true\n")).expect("write");
        let run = Scrub::new().rules(&bad).arg(fixture("pii.dump.sql")).run().failure();
        run.code(2).stderr_contains(&["extra.toml"]);
    }
    let mut buf = String::new();
    std::fs::File::open(&victim).unwrap().read_to_string(&mut buf).unwrap();
    assert_eq!(buf, "unchanged");
}
