//! Failures must be clean: a non-zero exit (README: 1 for bad input or I/O,
//! 2 for bad rules, key or coverage), a message that says where (table, line
//! and byte offset; rules file and line), no panic, and no half-written `-o`
//! file.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::support::{
    Run, SECRET, Scrub, assert_same_bytes, bin, copy_data_range, fixture, line_of, line_starts, read, rules, tempdir,
    wait_with_timeout,
};

/// Exit status for malformed input and I/O failures.
const BAD_INPUT: i32 = 1;
/// Exit status for bad command lines, rules files, keys and coverage.
const BAD_RULES: i32 = 2;

/// Asserts that a failed run left nothing in its output directory: neither
/// the `-o` file nor a temporary file beside it.
#[track_caller]
fn assert_no_output(out_dir: &Path) {
    let left: Vec<PathBuf> =
        std::fs::read_dir(out_dir).expect("read output dir").map(|e| e.expect("dir entry").path()).collect();
    assert!(left.is_empty(), "a failed run left files behind: {left:?}");
}

/// Writes `bytes` to `dir/name` and returns the path.
fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write test input");
    path
}

/// A temporary directory with an empty `out/` subdirectory for `-o`.
fn dirs() -> (tempfile::TempDir, PathBuf) {
    let dir = tempdir();
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).expect("create out dir");
    (dir, out_dir)
}

fn pii_dump() -> Vec<u8> {
    read(&fixture("pii.dump.sql"))
}

/// Runs the input through scrub with each rules file, on stdin and from a
/// file with `-o`; every run must fail with `BAD_INPUT` and pass `checks`.
fn assert_bad_input_everywhere(input: &[u8], rules_files: &[&str], checks: impl Fn(&Run)) {
    let (dir, out_dir) = dirs();
    let input_path = write(dir.path(), "input.sql", input);
    for rules_file in rules_files {
        let on_stdin = Scrub::new().secret(SECRET).rules(&rules(rules_file)).stdin(input.to_vec()).run().failure();
        on_stdin.code(BAD_INPUT);
        checks(&on_stdin);
        let to_file = Scrub::new()
            .secret(SECRET)
            .rules(&rules(rules_file))
            .arg(&input_path)
            .arg("-o")
            .arg(out_dir.join("scrubbed.sql"))
            .args(["-j", "2", "--chunk-size", "64"])
            .run()
            .failure();
        to_file.code(BAD_INPUT);
        checks(&to_file);
        assert_no_output(&out_dir);
    }
}

#[test]
fn truncated_copy_block_fails_naming_table_and_line() {
    let dump = pii_dump();
    let data = copy_data_range(&dump, b"COPY public.customers ");
    let rows = line_starts(&dump, data);
    assert!(rows.len() > 150);
    // Cut in the middle of row 100.
    let cut = rows[99] + 20;
    // Framing errors are found whether or not the table has rules.
    assert_bad_input_everywhere(&dump[..cut], &["noop.toml", "pii.toml"], |run| {
        run.stderr_contains(&["customers"]);
        assert!(run.stderr.to_lowercase().contains("line"), "no line in:\n{}", run.stderr);
    });
}

#[test]
fn truncated_at_row_boundary_without_terminator_fails() {
    let dump = pii_dump();
    // The last table's data, cut exactly before its `\.` line.
    let data = copy_data_range(&dump, b"COPY public.orders ");
    let cut = data.end;
    assert_bad_input_everywhere(&dump[..cut], &["noop.toml", "pii.toml"], |run| {
        run.stderr_contains(&["orders"]);
        assert!(run.stderr.to_lowercase().contains("line"), "no line in:\n{}", run.stderr);
    });
}

#[test]
fn missing_terminator_line_fails() {
    let dump = pii_dump();
    let data = copy_data_range(&dump, b"COPY public.customers ");
    assert_eq!(&dump[data.end..data.end + 3], b"\\.\n");
    // Without its `\.`, the customers block runs into the blank lines and
    // comments that follow, which are not 13-field rows. (With rules that
    // leave the table alone, scrub need not split its rows, and would only
    // stop at the next table's `\.`; so only the pii rules are used here.)
    let mut broken = dump[..data.end].to_vec();
    broken.extend_from_slice(&dump[data.end + 3..]);
    let first_bad_line = line_of(&dump, data.end);
    assert_bad_input_everywhere(&broken, &["pii.toml"], |run| {
        run.stderr_contains(&["customers"]);
        run.stderr_names_line(&[first_bad_line, first_bad_line + 1]);
    });
}

/// Replaces row 50 of the customers block using `edit` and checks that scrub
/// with the pii rules fails naming the table, the line and a byte offset.
fn assert_bad_row_reported(edit: impl Fn(&[u8]) -> Vec<u8>) {
    let dump = pii_dump();
    let data = copy_data_range(&dump, b"COPY public.customers ");
    let rows = line_starts(&dump, data.clone());
    let (start, end) = (rows[49], rows[50] - 1);
    let mut broken = dump[..start].to_vec();
    broken.extend_from_slice(&edit(&dump[start..end]));
    broken.extend_from_slice(&dump[end..]);
    let line = line_of(&dump, start);

    let (dir, out_dir) = dirs();
    let input = write(dir.path(), "input.sql", &broken);
    for chunk in ["3", "4096"] {
        let run = Scrub::new()
            .secret(SECRET)
            .rules(&rules("pii.toml"))
            .arg(&input)
            .arg("-o")
            .arg(out_dir.join("scrubbed.sql"))
            .args(["--chunk-size", chunk, "-j", "2"])
            .run()
            .failure();
        run.code(BAD_INPUT).stderr_contains(&["customers"]).stderr_names_line(&[line]);
        let lower = run.stderr.to_lowercase();
        assert!(lower.contains("byte") || lower.contains("offset"), "no byte offset in:\n{}", run.stderr);
        assert_no_output(&out_dir);
    }
}

/// Splits a COPY row into its fields.
fn fields(row: &[u8]) -> Vec<Vec<u8>> {
    row.split(|&b| b == b'\t').map(<[u8]>::to_vec).collect()
}

#[test]
fn too_few_fields_reports_table_line_and_offset() {
    assert_bad_row_reported(|row| {
        let last_tab = row.iter().rposition(|&b| b == b'\t').expect("tab in row");
        row[..last_tab].to_vec()
    });
}

#[test]
fn too_many_fields_reports_table_line_and_offset() {
    assert_bad_row_reported(|row| [row, b"\textra field"].concat());
}

/// `1<TAB>...<TAB>value\.`: PostgreSQL up to 17 silently ends the COPY there.
#[test]
fn end_marker_after_data_reports_table_line_and_offset() {
    assert_bad_row_reported(|row| [row, b"\\."].concat());
}

/// A raw CR inside a row of an LF block: "literal carriage return found in
/// data" at restore time.
#[test]
fn stray_carriage_return_reports_table_line_and_offset() {
    assert_bad_row_reported(|row| {
        let mut f = fields(row);
        f[7].insert(2, b'\r'); // city (kept)
        f.join(&b'\t')
    });
}

/// `\000` decodes to a NUL byte, which no text value can hold.
#[test]
fn escape_producing_nul_reports_table_line_and_offset() {
    assert_bad_row_reported(|row| {
        let mut f = fields(row);
        f[1] = b"A\\000B".to_vec(); // first_name (hashed, so decoded)
        f.join(&b'\t')
    });
}

/// A row longer than `--max-row-bytes` is an error, not unbounded memory.
#[test]
fn row_longer_than_max_row_bytes_fails_naming_table_and_line() {
    let name = "awkward.dump.sql";
    let dump = read(&fixture(name));
    let data = copy_data_range(&dump, b"COPY public.t_wide ");
    let rows = line_starts(&dump, data);
    let wide_line = line_of(&dump, rows[1]);
    let wide_len = rows[2] - rows[1];
    assert!(wide_len > 3_000_000, "the wide row is only {wide_len} bytes");

    let (_dir, out_dir) = dirs();
    let run = Scrub::new()
        .rules(&rules("noop.toml"))
        .arg(fixture(name))
        .args(["--max-row-bytes", "1000000", "-o"])
        .arg(out_dir.join("scrubbed.sql"))
        .run()
        .failure();
    run.code(BAD_INPUT).stderr_contains(&["t_wide"]).stderr_names_line(&[wide_line]);
    assert_no_output(&out_dir);

    let roomy = Scrub::new()
        .rules(&rules("noop.toml"))
        .arg(fixture(name))
        .args(["--max-row-bytes", &(wide_len + 16).to_string()])
        .run()
        .success();
    assert_same_bytes(&dump, &roomy, "--max-row-bytes just above the longest row");
}

/// The pii rules with `edit` applied to their text, written to `dir/name`.
fn edited_pii_rules(dir: &Path, name: &str, edit: impl Fn(&str) -> String) -> PathBuf {
    let original = std::fs::read_to_string(rules("pii.toml")).expect("read rules");
    let edited = edit(&original);
    assert_ne!(original, edited, "the edit did not change the rules");
    write(dir, name, edited.as_bytes())
}

/// 1-based number of the first line of `text` equal to `line`.
fn line_number(text: &str, line: &str) -> usize {
    1 + text.lines().position(|l| l == line).unwrap_or_else(|| panic!("no line {line:?}"))
}

/// Runs the pii fixture through rules that are wrong for it, to stdout and
/// with `-o`. The README promises the rules are checked against the dump's
/// DDL before a single byte is written, so stdout must stay empty too.
fn assert_rules_rejected(rules_path: &Path, needles: &[&str], lines: &[usize]) {
    let (_dir, out_dir) = dirs();
    let file_name = rules_path.file_name().expect("file name").to_string_lossy().into_owned();
    let to_stdout = Scrub::new().secret(SECRET).rules(rules_path).arg(fixture("pii.dump.sql")).run().failure();
    let to_file = Scrub::new()
        .secret(SECRET)
        .rules(rules_path)
        .arg(fixture("pii.dump.sql"))
        .arg("-o")
        .arg(out_dir.join("scrubbed.sql"))
        .run()
        .failure();
    for run in [&to_stdout, &to_file] {
        run.code(BAD_RULES).stderr_contains(needles);
        if !lines.is_empty() {
            // `rules/prod.toml:12: ...` or `... line 12 ...`.
            run.stderr_contains(&[&file_name]).stderr_names_number(lines);
        }
    }
    assert!(to_stdout.stdout.is_empty(), "{} bytes written before the rules error", to_stdout.stdout.len());
    assert_no_output(&out_dir);
}

#[test]
fn rules_naming_absent_table_is_an_error_with_file_and_line() {
    let dir = tempdir();
    let header = "[tables.\"public.no_such_table\"]";
    let path = edited_pii_rules(dir.path(), "absent-table.toml", |text| format!("{text}\n{header}\nkeep_all = true\n"));
    let line = line_number(&std::fs::read_to_string(&path).expect("read"), header);
    assert_rules_rejected(&path, &["no_such_table"], &[line, line + 1]);
}

#[test]
fn rules_naming_absent_column_is_an_error_with_file_and_line() {
    let dir = tempdir();
    let header = "[tables.\"public.customers\"]";
    let path = edited_pii_rules(dir.path(), "absent-column.toml", |text| {
        text.replace(header, &format!("{header}\ncolumns.no_such_column = \"keep\""))
    });
    let line = line_number(&std::fs::read_to_string(&path).expect("read"), header) + 1;
    assert_rules_rejected(&path, &["no_such_column"], &[line]);
}

/// Column keys are case-sensitive: `Email` is not `email`.
#[test]
fn rules_column_in_wrong_case_is_an_error() {
    let dir = tempdir();
    let path = edited_pii_rules(dir.path(), "wrong-case.toml", |text| {
        text.replace("columns.city = \"keep\"", "columns.City = \"keep\"")
    });
    let line = line_number(&std::fs::read_to_string(&path).expect("read"), "columns.City = \"keep\"");
    assert_rules_rejected(&path, &["City"], &[line]);
}

#[test]
fn unknown_transform_is_an_error_with_file_and_line() {
    let dir = tempdir();
    let bad = "columns.city = { transform = \"no_such_transform\" }";
    let path = edited_pii_rules(dir.path(), "bad-transform.toml", |text| text.replace("columns.city = \"keep\"", bad));
    let line = line_number(&std::fs::read_to_string(&path).expect("read"), bad);
    assert_rules_rejected(&path, &[], &[line]);
}

#[test]
fn unlisted_column_with_error_policy_names_column_and_writes_nothing() {
    let dir = tempdir();
    let path = edited_pii_rules(dir.path(), "unlisted.toml", |text| {
        text.lines().filter(|l| !l.starts_with("columns.phone ")).map(|l| format!("{l}\n")).collect()
    });
    assert_rules_rejected(&path, &["phone", "customers"], &[]);
}

#[test]
fn keyed_transform_without_secret_fails_before_any_output() {
    let (_dir, out_dir) = dirs();
    let to_stdout = Scrub::new().rules(&rules("pii.toml")).arg(fixture("pii.dump.sql")).run().failure();
    to_stdout.code(BAD_RULES);
    assert!(to_stdout.stdout.is_empty(), "{} bytes written before failing for the missing key", to_stdout.stdout.len());
    assert!(
        to_stdout.stderr.contains("SCRUB_SECRET") || to_stdout.stderr.contains("--secret-file"),
        "the error does not say how to give the key:\n{}",
        to_stdout.stderr
    );
    Scrub::new()
        .rules(&rules("pii.toml"))
        .arg(fixture("pii.dump.sql"))
        .arg("-o")
        .arg(out_dir.join("scrubbed.sql"))
        .run()
        .failure()
        .code(BAD_RULES);
    assert_no_output(&out_dir);
}

#[test]
fn missing_input_file_fails_naming_it() {
    let dir = tempdir();
    let missing = dir.path().join("no-such-dump.sql");
    let run = Scrub::new().rules(&rules("noop.toml")).arg(&missing).run().failure();
    run.code(BAD_INPUT).stderr_contains(&["no-such-dump.sql"]);
}

#[test]
fn missing_rules_file_fails_naming_it() {
    let dir = tempdir();
    Scrub::new()
        .rules(&dir.path().join("no-such-rules.toml"))
        .arg(fixture("pii.dump.sql"))
        .run()
        .failure()
        .stderr_contains(&["no-such-rules.toml"]);
}

/// `scrub ... | head -c 100`: once head exits, scrub's writes fail with EPIPE.
/// The README makes that exit status 1 (a dying `psql` downstream is a
/// failure), without a panic message.
#[test]
fn closed_stdout_pipe_exits_nonzero_without_panic() {
    let input = fixture("awkward.dump.sql");
    let expected = read(&input);
    for jobs in ["1", "4"] {
        let mut scrub = Command::new(bin())
            .arg("--rules")
            .arg(rules("noop.toml"))
            .arg(&input)
            .args(["-j", jobs])
            .env_remove("SCRUB_SECRET")
            .env("RUST_BACKTRACE", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn scrub");
        let pipe = scrub.stdout.take().expect("scrub stdout");
        let head = Command::new("head")
            .args(["-c", "100"])
            .stdin(Stdio::from(pipe))
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn head");
        let head_out = head.wait_with_output().expect("wait for head");
        let mut stderr = scrub.stderr.take().expect("scrub stderr");
        let reader = std::thread::spawn(move || {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut stderr, &mut text).map(|_| text)
        });
        let status = wait_with_timeout(&mut scrub, "scrub | head -c 100");
        let stderr = reader.join().expect("stderr reader").expect("read stderr");
        assert_eq!(head_out.stdout, expected[..100], "the first 100 bytes are wrong");
        assert!(!stderr.contains("panicked"), "-j {jobs}: scrub panicked:\n{stderr}");
        assert_eq!(
            status.code(),
            Some(BAD_INPUT),
            "-j {jobs}: exit status after the reader went away; stderr:\n{stderr}"
        );
    }
}
