//! The bad-input catalogue: every kind of broken input scrub can be handed, each run with `-o`
//! into an empty directory. Every case must end with the documented exit status (1 bad input,
//! 2 bad rules or key), a message on stderr that names the problem and where it is (line and
//! byte offset, archive offset or entry, file and line, file name), no panic, and nothing left
//! in the output directory that could pass for a sanitized dump.

use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::support::{SECRET, Scrub, copy_data_range, fixture, line_of, line_starts, read, rules, tempdir};

const BAD_INPUT: i32 = 1;
const BAD_RULES: i32 = 2;

/// One catalogue case: an input file (or directory), the output name, extra arguments.
struct Case<'a> {
    name: &'a str,
    input: PathBuf,
    rules: Option<PathBuf>,
    args: Vec<String>,
    code: i32,
    /// Every one must appear on stderr.
    needles: Vec<String>,
}

impl Case<'_> {
    #[track_caller]
    fn check(&self) {
        let dir = tempdir();
        let out_dir = dir.path().join("out");
        std::fs::create_dir(&out_dir).expect("create out dir");
        let mut scrub = Scrub::new().secret(SECRET).arg(&self.input).args(&self.args);
        if let Some(r) = &self.rules {
            scrub = scrub.rules(r);
        }
        let target = out_dir.join(if self.args.iter().any(|a| a == "d") { "scrubbed.dir" } else { "scrubbed.out" });
        let run = scrub.arg("-o").arg(&target).run().failure();
        run.code(self.code);
        for needle in &self.needles {
            assert!(
                run.stderr.contains(needle.as_str()),
                "{}: stderr does not say {needle:?}:\n{}",
                self.name,
                run.stderr
            );
        }
        assert!(run.stderr.contains("error"), "{}: no error message:\n{}", self.name, run.stderr);
        assert_empty(&out_dir, self.name);
    }
}

#[track_caller]
fn assert_empty(dir: &Path, what: &str) {
    let left: Vec<PathBuf> =
        std::fs::read_dir(dir).expect("read output dir").map(|e| e.expect("entry").path()).collect();
    assert!(left.is_empty(), "{what}: a failed run left files behind: {left:?}");
}

/// Writes `bytes` to `dir/name`.
fn input_file(dir: &TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("write input");
    path
}

fn pii() -> Vec<u8> {
    read(&fixture("pii.dump.sql"))
}

fn plain_case<'a>(dir: &TempDir, name: &'a str, bytes: &[u8], needles: &[String]) -> Case<'a> {
    Case {
        name,
        input: input_file(dir, &format!("{name}.sql"), bytes),
        rules: Some(rules("noop.toml")),
        args: vec![],
        code: BAD_INPUT,
        needles: needles.to_vec(),
    }
}

/// `line L, byte offset B` as scrub prints positions in a plain dump.
fn at(line: usize, byte: usize) -> String {
    format!("line {line}, byte offset {byte}")
}

#[test]
fn truncated_plain_dump_mid_statement() {
    let dump = pii();
    let stmt = crate::support::find(&dump, b"CREATE TABLE public.orders (", 0).expect("statement");
    let cut = stmt + 40;
    let tmp = tempdir();
    let case = plain_case(
        &tmp,
        "mid-statement",
        &dump[..cut],
        &["input ends inside a statement".into(), "truncated".into(), at(line_of(&dump, cut), cut)],
    );
    case.check();
    // With keyed rules the file is read twice (a first pass learns the constraints): the first
    // pass must report the same position.
    Case { rules: Some(rules("pii.toml")), ..case }.check();
}

#[test]
fn truncated_plain_dump_between_statements() {
    let tmp = tempdir();
    // pg_dump's closing comment is all that shows a dump cut at a statement boundary.
    let dump = pii();
    let cut = crate::support::find(&dump, b"CREATE TABLE public.orders (", 0).expect("statement");
    let needles = ["PostgreSQL database dump complete".to_string(), "truncated".into(), at(line_of(&dump, cut), cut)];
    let case = plain_case(&tmp, "between-statements", &dump[..cut], &needles);
    case.check();
    Case { rules: Some(rules("pii.toml")), ..case }.check();
    // After the last COPY block, before the constraints.
    let data = copy_data_range(&dump, b"COPY public.orders ");
    let cut = data.end + 3;
    let needles = ["PostgreSQL database dump complete".to_string(), at(line_of(&dump, cut), cut)];
    plain_case(&tmp, "after-last-copy", &dump[..cut], &needles).check();
}

#[test]
fn truncated_plain_dump_mid_copy_row() {
    let tmp = tempdir();
    let dump = pii();
    let data = copy_data_range(&dump, b"COPY public.customers ");
    let rows = line_starts(&dump, data);
    let cut = rows[10] + 7;
    let needles = ["table public.customers".to_string(), "truncated".into(), format!("byte offset {cut}")];
    let case = plain_case(&tmp, "mid-copy-row", &dump[..cut], &needles);
    case.check();
    Case { rules: Some(rules("pii.toml")), ..case }.check();
}

#[test]
fn truncated_plain_dump_missing_end_marker() {
    let tmp = tempdir();
    let dump = pii();
    let data = copy_data_range(&dump, b"COPY public.orders ");
    let cut = data.end;
    let needles = ["table public.orders".to_string(), "no \\. end marker".into(), at(line_of(&dump, cut), cut)];
    plain_case(&tmp, "missing-end-marker", &dump[..cut], &needles).check();
}

/// The customers block with row `n` (0-based) replaced by `edit(row)`; returns the dump and the
/// row's line and offset.
fn edited_row(n: usize, edit: impl Fn(&[u8]) -> Vec<u8>) -> (Vec<u8>, usize, usize) {
    let dump = pii();
    let data = copy_data_range(&dump, b"COPY public.customers ");
    let rows = line_starts(&dump, data);
    let (start, end) = (rows[n], rows[n + 1] - 1);
    let mut broken = dump[..start].to_vec();
    broken.extend_from_slice(&edit(&dump[start..end]));
    broken.extend_from_slice(&dump[end..]);
    (broken, line_of(&dump, start), start)
}

#[test]
fn wrong_field_counts() {
    let tmp = tempdir();
    let (few, line, start) = edited_row(20, |row| row[..row.iter().rposition(|&b| b == b'\t').unwrap()].to_vec());
    let needles =
        ["table public.customers".into(), "row has 12 field(s)".into(), "13 column(s)".into(), at(line, start)];
    plain_case(&tmp, "too-few-fields", &few, &needles).check();
    let (many, line, start) = edited_row(20, |row| [row, b"\textra"].concat());
    let needles = ["table public.customers".into(), "row has 14 field(s)".into(), at(line, start)];
    plain_case(&tmp, "too-many-fields", &many, &needles).check();
}

#[test]
fn invalid_escapes() {
    let tmp = tempdir();
    // `\000` decodes to NUL, which no text value holds: found where the field is decoded.
    let (nul, line, start) = edited_row(30, |row| {
        let mut fields: Vec<&[u8]> = row.split(|&b| b == b'\t').collect();
        fields[1] = b"A\\000B";
        fields.join(&b'\t')
    });
    let case = plain_case(&tmp, "nul-escape", &nul, &[]);
    let first_name = start + crate::support::find(&nul[start..], b"A\\000B", 0).expect("edited field") + 1;
    let needles = vec!["table public.customers".into(), "NUL byte".into(), at(line, first_name), "line".into()];
    Case { rules: Some(rules("pii.toml")), needles, ..case }.check();
    // A backslash at the very end of a row escapes its line ending: the row runs on into the
    // next one (PostgreSQL reads it so too).
    let (trailing, line, start) = edited_row(30, |row| [row, b"\\"].concat());
    let needles = ["table public.customers".into(), "row has 25 field(s)".into(), at(line, start)];
    plain_case(&tmp, "trailing-backslash", &trailing, &needles).check();
    // ... and before the end marker, it cuts the last row off.
    let dump = pii();
    let data = copy_data_range(&dump, b"COPY public.customers ");
    let mut cut_off = dump[..data.end - 1].to_vec();
    cut_off.extend_from_slice(b"\\");
    cut_off.extend_from_slice(&dump[data.end - 1..]);
    let needles = [
        "table public.customers".into(),
        "backslash-escaped newline".into(),
        at(line_of(&dump, data.end), data.end + 1),
    ];
    plain_case(&tmp, "backslash-before-end-marker", &cut_off, &needles).check();
}

#[test]
fn copy_header_naming_a_column_twice() {
    let tmp = tempdir();
    let dump = pii();
    let header = b"COPY public.countries (code, name) FROM stdin;";
    let at_header = crate::support::find(&dump, header, 0).expect("countries COPY");
    let mut broken = dump[..at_header].to_vec();
    broken.extend_from_slice(b"COPY public.countries (code, code) FROM stdin;");
    broken.extend_from_slice(&dump[at_header + header.len()..]);
    let needles = ["names column code twice".into(), at(line_of(&dump, at_header), at_header)];
    plain_case(&tmp, "column-twice", &broken, &needles).check();
    // A table named by two COPY blocks is not an error: pg_dump --load-via-partition-root writes
    // one block per partition, each naming the root table (fixtures/awkward.rootload.dump.sql).
}

/// The pii dump compressed by scrub itself (`-Z`), then `damage`d.
fn compressed(method: &str, damage: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
    let mut bytes =
        Scrub::new().rules(&rules("noop.toml")).arg(fixture("pii.dump.sql")).args(["-Z", method, "-q"]).run().success();
    damage(&mut bytes);
    bytes
}

#[test]
fn corrupt_compressed_plain_dumps() {
    let tmp = tempdir();
    for method in ["gzip", "zstd", "lz4"] {
        let truncated = compressed(method, |b| b.truncate(b.len() / 2));
        let needles = [format!("corrupt or truncated {method} data"), "byte".into()];
        plain_case(&tmp, &format!("truncated-{method}"), &truncated, &needles).check();
    }
    // gzip's checksum catches flipped bytes in the stream.
    let flipped = compressed("gzip", |b| {
        let mid = b.len() / 2;
        b[mid] ^= 0x55;
    });
    plain_case(&tmp, "flipped-gzip", &flipped, &["corrupt or truncated gzip data".into(), "byte".into()]).check();
}

fn archive(name: &str) -> PathBuf {
    fixture(&format!("archives/{name}"))
}

fn archive_case(name: &'static str, input: PathBuf, args: &[&str], needles: &[&str]) -> Case<'static> {
    Case {
        name,
        input,
        rules: Some(rules("noop.toml")),
        args: args.iter().map(|s| s.to_string()).collect(),
        code: BAD_INPUT,
        needles: needles.iter().map(|s| s.to_string()).collect(),
    }
}

#[test]
fn truncated_archives() {
    let tmp = tempdir();
    let custom = read(&archive("pg17.custom.gzip.dump"));
    let cut = custom.len() * 2 / 3;
    let input = input_file(&tmp, "truncated.dump", &custom[..cut]);
    archive_case("truncated-custom", input.clone(), &[], &["archive is truncated", "byte", "entry"]).check();
    archive_case("truncated-custom-to-tar", input, &["-F", "t"], &["archive is truncated", "byte"]).check();
    // Cut inside the TOC.
    let input = input_file(&tmp, "truncated-toc.dump", &custom[..200]);
    archive_case("truncated-toc", input, &[], &["truncated", "TOC entry"]).check();
    let tar = read(&archive("pg17.tar"));
    let input = input_file(&tmp, "truncated.tar", &tar[..tar.len() / 2]);
    archive_case("truncated-tar", input, &[], &["archive is truncated", "tar member", "byte"]).check();
}

#[test]
fn version_bumped_archive() {
    let tmp = tempdir();
    let mut custom = read(&archive("pg17.custom.none.dump"));
    assert_eq!(&custom[..5], b"PGDMP");
    custom[6] = 17; // 1.16 -> 1.17
    let input = input_file(&tmp, "bumped.dump", &custom);
    archive_case("version-bumped", input, &[], &["unsupported archive version 1.17", "header"]).check();
}

#[test]
fn directory_archive_with_a_missing_data_file() {
    let tmp = tempdir();
    let dir = tmp.path().join("archive");
    std::fs::create_dir(&dir).expect("mkdir");
    let source = archive("pg17.dir.gzip");
    let mut removed = None;
    for entry in std::fs::read_dir(&source).expect("read fixture dir") {
        let entry = entry.expect("entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        if removed.is_none() && name.ends_with(".dat.gz") && !name.starts_with("blob_") {
            removed = Some(name);
            continue;
        }
        std::fs::copy(entry.path(), dir.join(&name)).expect("copy fixture file");
    }
    let removed = removed.expect("a data file to remove");
    let stem = removed.trim_end_matches(".gz").to_string();
    let case = Case {
        name: "missing-data-file",
        input: dir,
        rules: Some(rules("noop.toml")),
        args: vec!["-F".into(), "d".into()],
        code: BAD_INPUT,
        needles: vec!["missing data file".into(), stem, "entry".into()],
    };
    case.check();
    Case { args: vec![], ..case }.check();
}

#[test]
fn garbage_binary_and_empty_input() {
    let tmp = tempdir();
    let needles = ["input ends inside a statement".to_string(), at(3, 41)];
    plain_case(&tmp, "garbage-text", b"this is not a dump,\nnor is it SQL at all\n", &needles).check();
    let mut binary = b"COPY public.t (a) FROM stdin;\n".to_vec();
    binary.extend_from_slice(&[0x17, 0x00, 0xff, 0xfe]);
    plain_case(&tmp, "binary", &binary, &["binary data".into(), at(2, 31)]).check();
    plain_case(&tmp, "empty", b"", &["the input is empty".into(), at(1, 0)]).check();
    // Empty on stdin: a pg_dump that died before writing anything must not look like a success.
    let run = Scrub::new().rules(&rules("noop.toml")).stdin(Vec::new()).run().failure();
    run.code(BAD_INPUT).stderr_contains(&["the input is empty"]);
    assert!(run.stdout.is_empty());
}

fn rules_file(dir: &TempDir, name: &str, text: &str) -> PathBuf {
    input_file(dir, name, text.as_bytes())
}

fn rules_case(name: &'static str, rules_path: PathBuf, needles: &[&str]) -> Case<'static> {
    Case {
        name,
        input: fixture("pii.dump.sql"),
        rules: Some(rules_path),
        args: vec![],
        code: BAD_RULES,
        needles: needles.iter().map(|s| s.to_string()).collect(),
    }
}

#[test]
fn rules_file_errors_name_file_and_line() {
    let tmp = tempdir();
    let syntax = rules_file(
        &tmp,
        "syntax.toml",
        "[settings]\nunlisted_columns = \"keep\"\n[tables.\"public.customers\"\ncolumns.id = \"keep\"\n",
    );
    rules_case("rules-syntax", syntax, &["syntax.toml:3:", "expected"]).check();
    let unknown = rules_file(
        &tmp,
        "unknown.toml",
        "[settings]\nunlisted_columns = \"keep\"\n\n[tables.\"public.customers\"]\ncolumns.city = { transform = \"no_such_transform\" }\n",
    );
    rules_case(
        "unknown-transform",
        unknown,
        &["unknown.toml:5:", "unknown transform `no_such_transform`", "customers.city"],
    )
    .check();
    let wrong_type = rules_file(
        &tmp,
        "wrong-type.toml",
        "[settings]\nunlisted_columns = \"keep\"\n[tables.\"public.customers\"]\ncolumns.first_name = { transform = \"hash\", length = \"ten\" }\n",
    );
    rules_case("parameter-type", wrong_type, &["wrong-type.toml:4:", "`length` must be an integer", "\"ten\""]).check();
    let bool_type = rules_file(
        &tmp,
        "bool-type.toml",
        "[settings]\nunlisted_columns = \"keep\"\n[tables.\"public.customers\"]\ncolumns.email = { transform = \"email\", keep_domain = \"yes\" }\n",
    );
    rules_case("parameter-type-bool", bool_type, &["bool-type.toml:4:", "keep_domain"]).check();
}

#[test]
fn key_file_missing_or_empty() {
    let tmp = tempdir();
    let missing = tmp.path().join("no-such-key");
    let case = Case {
        name: "key-file-missing",
        input: fixture("pii.dump.sql"),
        rules: Some(rules("pii.toml")),
        args: vec!["--secret-file".into(), missing.display().to_string()],
        code: BAD_RULES,
        needles: vec!["secret file".into(), "no-such-key".into()],
    };
    case.check();
    let empty = tmp.path().join("empty-key");
    std::fs::write(&empty, b"\n").expect("write key");
    Case {
        name: "key-file-empty",
        args: vec!["--secret-file".into(), empty.display().to_string()],
        needles: vec!["secret file".into(), "empty-key".into(), "is empty".into()],
        ..case
    }
    .check();
}
