//! Subsetting (issue 5; `/work/notes/subset-spec.md`) checked against an SQL
//! oracle.
//!
//! Each scenario is a database built by `fixtures/subset/NAME.sql` (schema and
//! deterministic `generate_series` data), dumped with the real `pg_dump`
//! (plain, custom and directory), scrubbed with `rules/subset/RULES.toml`, and
//! restored into a fresh database (`psql -v ON_ERROR_STOP=1` for plain output,
//! `pg_restore --exit-on-error -j 2` for custom output), so that every
//! constraint, every FK included, is created over the subset.
//!
//! Independently of scrub, `fixtures/subset/ORACLE.oracle.sql` computes on the
//! original database, in SQL (recursive CTEs for the fixed points), the rows
//! the spec says must be kept: for every table `public.X` a table `oracle.X`
//! holding exactly the expected rows, FK columns NULLed where the spec says so.
//! The oracle files are the executable form of the spec's semantics; they run
//! after the dumps, so the `oracle` schema never reaches scrub.
//!
//! [`Source::assert_matches_oracle`] then compares, for every ordinary table
//! of the source (leaf partitions included), the complete rows of the
//! restored table with `oracle.X`, as text, as multisets: a kept row must be
//! kept, a dropped row dropped, and no value of a kept row may change except
//! the NULLed FK columns.
//!
//! Dump order (for `limit`) is the order of the rows in pg_dump's COPY, which
//! reads the heap in order: the oracles sort by `ctid`, and the fixtures
//! insert some tables in an order that is not key order.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::pg::{Pg, ScratchDb};
use crate::support::{OTHER_SECRET, SECRET, Scrub, read, root, tempdir};

/// How scrub gets the dump.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Input {
    /// `pg_dump -Fp` in a file named on the command line.
    PlainFile,
    /// The same script on stdin.
    PlainStdin,
    /// `pg_dump -Fc`.
    Custom,
    /// `pg_dump -Fd`.
    Directory,
    /// `pg_dump -Fp --load-via-partition-root` in a file: every leaf's rows
    /// are loaded through the partitioned root (`COPY public.events`).
    PlainViaRoot,
}

/// What scrub writes, and how it is restored.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Output {
    /// A plain script on stdout, loaded with `psql -v ON_ERROR_STOP=1`.
    Plain,
    /// `-F c -o FILE`, restored with `pg_restore --exit-on-error -j 2`.
    Custom,
}

/// A scenario's source database and its dumps.
struct Source {
    pg: Pg,
    scenario: &'static str,
    db: ScratchDb,
    dir: tempfile::TempDir,
}

impl Source {
    /// Builds the database of `fixtures/subset/{scenario}.sql` and dumps it in
    /// every input format (before any oracle runs, so the dumps hold only the
    /// fixture).
    fn new(pg: &Pg, scenario: &'static str) -> Source {
        let db = pg.scratch(&format!("sub_{scenario}"));
        db.load_file(&fixture_path(&format!("{scenario}.sql")));
        let source = Source { pg: pg.clone(), scenario, db, dir: tempdir() };
        for input in [Input::PlainFile, Input::Custom, Input::Directory, Input::PlainViaRoot] {
            let (flag, path) = (source.format_flag(input), source.dump_path(input));
            let mut pg_dump = source.pg.command("pg_dump");
            if input == Input::PlainViaRoot {
                pg_dump.arg("--load-via-partition-root");
            }
            let out = pg_dump
                .arg(flag)
                .arg("-f")
                .arg(&path)
                .arg(source.db.name())
                .env("PGTZ", "UTC")
                .output()
                .expect("run pg_dump");
            assert!(out.status.success(), "pg_dump {flag} {scenario}: {}", String::from_utf8_lossy(&out.stderr));
        }
        source
    }

    fn format_flag(&self, input: Input) -> &'static str {
        match input {
            Input::PlainFile | Input::PlainStdin | Input::PlainViaRoot => "-Fp",
            Input::Custom => "-Fc",
            Input::Directory => "-Fd",
        }
    }

    fn dump_path(&self, input: Input) -> PathBuf {
        self.dir.path().join(match input {
            Input::PlainFile | Input::PlainStdin => "dump.sql",
            Input::Custom => "dump.custom",
            Input::Directory => "dump.dir",
            Input::PlainViaRoot => "dump.via-root.sql",
        })
    }

    /// The scrub command for `rules` reading `input`, before output options.
    fn scrub(&self, rules: &str, input: Input, extra: &[&str]) -> Scrub {
        let scrub = Scrub::new().secret(SECRET).rules(&rules_path(rules)).args(extra);
        match input {
            Input::PlainStdin => scrub.stdin(read(&self.dump_path(input))),
            _ => scrub.arg(self.dump_path(input)),
        }
    }

    /// Runs scrub and restores its output into a fresh database, which must
    /// end up with every constraint of the source.
    fn subset(&self, rules: &str, input: Input, output: Output, extra: &[&str]) -> ScratchDb {
        let restored = self.pg.scratch(&format!("sub_{}_out", self.scenario));
        match output {
            Output::Plain => {
                let script = self.scrub(rules, input, extra).args(["-F", "p"]).run().success();
                restored.load_bytes(&script);
            }
            Output::Custom => {
                let out_dir = tempdir();
                let archive = out_dir.path().join("subset.dump");
                self.scrub(rules, input, extra).args(["-F", "c", "-o"]).arg(&archive).run().success();
                let out = self
                    .pg
                    .command("pg_restore")
                    .args(["--exit-on-error", "-j", "2", "-d", restored.name()])
                    .arg(&archive)
                    .output()
                    .expect("run pg_restore");
                assert!(
                    out.status.success(),
                    "pg_restore of scrub's custom output ({rules}, {input:?}) failed:\n{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
        let constraints = "SELECT contype::text || ' ' || conrelid::regclass || ' ' || conname FROM pg_constraint \
                           WHERE connamespace = 'public'::regnamespace ORDER BY 1";
        assert_eq!(
            restored.query(constraints),
            self.db.query(constraints),
            "{}: the restored subset lacks constraints of the source",
            self.scenario
        );
        restored
    }

    /// Runs `fixtures/subset/{oracle}.oracle.sql` on the source database, after
    /// `setup` (SQL run first in the same session, e.g. to give the percent
    /// oracle scrub's sample).
    fn oracle(&self, oracle: &str, setup: &str) {
        let mut script = String::from("CREATE SCHEMA oracle;\n");
        script.push_str(setup);
        script.push('\n');
        script.push_str(&std::fs::read_to_string(fixture_path(&format!("{oracle}.oracle.sql"))).expect("oracle file"));
        self.db.load_bytes(script.as_bytes());
    }

    /// Every ordinary table of the source's `public` schema (leaf partitions
    /// included, partitioned parents not: they hold no rows of their own).
    fn tables(&self) -> Vec<String> {
        lines(&self.db.query(
            "SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' ORDER BY 1",
        ))
    }

    /// Asserts that every table of the source holds in `restored` exactly the
    /// rows of its oracle table, value for value. Reports every table before
    /// failing.
    #[track_caller]
    fn assert_matches_oracle(&self, restored: &ScratchDb, what: &str) {
        let mut report = String::new();
        let mut failed = false;
        for table in self.tables() {
            let expected = sorted_lines(&self.db.query(&format!("SELECT t::text FROM oracle.{table} AS t")));
            let actual = sorted_lines(&restored.query(&format!("SELECT t::text FROM ONLY public.{table} AS t")));
            let (missing, unexpected) = multiset_difference(&expected, &actual);
            if missing.is_empty() && unexpected.is_empty() {
                report.push_str(&format!("  {table}: {} rows, as expected\n", actual.len()));
                continue;
            }
            failed = true;
            report.push_str(&format!(
                "  {table}: expected {} rows, got {}; {} expected rows missing {:?}; {} rows that should not be there {:?}\n",
                expected.len(),
                actual.len(),
                missing.len(),
                &missing[..missing.len().min(6)],
                unexpected.len(),
                &unexpected[..unexpected.len().min(6)],
            ));
        }
        assert!(!failed, "{} ({what}): the subset differs from the oracle:\n{report}", self.scenario);
    }

    /// Asserts that the oracle really filters these tables (0 < kept < all),
    /// so that the comparison proves something.
    #[track_caller]
    fn assert_oracle_filters(&self, tables: &[&str]) {
        for table in tables {
            let kept: u64 = self.db.query(&format!("SELECT count(*) FROM oracle.{table}")).parse().unwrap();
            let all: u64 = self.db.query(&format!("SELECT count(*) FROM ONLY public.{table}")).parse().unwrap();
            assert!(0 < kept && kept < all, "{}: oracle keeps {kept} of {all} rows of {table}", self.scenario);
        }
    }
}

fn fixture_path(name: &str) -> PathBuf {
    root().join("fixtures").join("subset").join(name)
}

fn rules_path(name: &str) -> PathBuf {
    root().join("rules").join("subset").join(format!("{name}.toml"))
}

fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::to_string).collect()
}

fn sorted_lines(text: &str) -> Vec<String> {
    let mut rows = lines(text);
    rows.sort();
    rows
}

/// (in `expected` but not `actual`, in `actual` but not `expected`), counting
/// duplicates.
fn multiset_difference(expected: &[String], actual: &[String]) -> (Vec<String>, Vec<String>) {
    let mut count: BTreeMap<&str, i64> = BTreeMap::new();
    for row in expected {
        *count.entry(row).or_default() += 1;
    }
    for row in actual {
        *count.entry(row).or_default() -= 1;
    }
    let (mut missing, mut unexpected) = (Vec::new(), Vec::new());
    for (row, n) in count {
        for _ in 0..n.abs() {
            if n > 0 { missing.push(row.to_string()) } else { unexpected.push(row.to_string()) }
        }
    }
    (missing, unexpected)
}

/// One scenario end to end: build, dump, scrub with `rules`, restore, and
/// compare with `oracle`.
fn scenario(scenario: &'static str, rules: &str, oracle: &str, input: Input, output: Output, filtered: &[&str]) {
    scenario_with(scenario, rules, oracle, input, output, filtered, &["-j", "2"]);
}

/// [`scenario`] with these scrub arguments.
fn scenario_with(
    scenario: &'static str,
    rules: &str,
    oracle: &str,
    input: Input,
    output: Output,
    filtered: &[&str],
    extra: &[&str],
) {
    let pg = require_pg!();
    let source = Source::new(&pg, scenario);
    let restored = source.subset(rules, input, output, extra);
    source.oracle(oracle, "");
    source.assert_oracle_filters(filtered);
    source.assert_matches_oracle(&restored, &format!("rules {rules}, {input:?} in, {output:?} out"));
}

// ---------------------------------------------------------------------------
// 1. Star schema: a where on one dimension filters the facts.

const STAR_FILTERED: &[&str] = &["products", "sales"];

#[test]
fn star_from_plain_file_to_plain() {
    scenario("star", "star", "star", Input::PlainFile, Output::Plain, STAR_FILTERED);
}

#[test]
fn star_from_plain_stdin_to_plain() {
    scenario("star", "star", "star", Input::PlainStdin, Output::Plain, STAR_FILTERED);
}

#[test]
fn star_from_custom_to_custom() {
    scenario("star", "star", "star", Input::Custom, Output::Custom, STAR_FILTERED);
}

#[test]
fn star_from_custom_to_plain() {
    scenario("star", "star", "star", Input::Custom, Output::Plain, STAR_FILTERED);
}

#[test]
fn star_from_directory_to_plain() {
    scenario("star", "star", "star", Input::Directory, Output::Plain, STAR_FILTERED);
}

#[test]
fn star_from_directory_to_custom() {
    scenario("star", "star", "star", Input::Directory, Output::Custom, STAR_FILTERED);
}

// ---------------------------------------------------------------------------
// 2. A six-level chain: the root's filter flows down; a limit in the middle.

const CHAIN_FILTERED: &[&str] = &["companies", "divisions", "teams", "projects", "tasks", "task_comments"];

#[test]
fn chain_filter_at_root_and_limit_in_the_middle() {
    scenario("chain", "chain", "chain", Input::PlainFile, Output::Plain, CHAIN_FILTERED);
}

#[test]
fn chain_from_custom_to_custom() {
    scenario("chain", "chain", "chain", Input::Custom, Output::Custom, CHAIN_FILTERED);
}

// ---------------------------------------------------------------------------
// 3. Self-reference: subtrees under the greatest fixed point; limit before
// the fixed point; on_missing_parent = "null".

const SELFREF_FILTERED: &[&str] = &["employees", "timesheets"];

#[test]
fn self_reference_from_plain_file_to_plain() {
    scenario("selfref", "selfref", "selfref", Input::PlainFile, Output::Plain, SELFREF_FILTERED);
}

#[test]
fn self_reference_from_plain_stdin_to_plain() {
    scenario("selfref", "selfref", "selfref", Input::PlainStdin, Output::Plain, SELFREF_FILTERED);
}

#[test]
fn self_reference_from_custom_to_plain() {
    scenario("selfref", "selfref", "selfref", Input::Custom, Output::Plain, SELFREF_FILTERED);
}

#[test]
fn self_reference_from_custom_to_custom() {
    scenario("selfref", "selfref", "selfref", Input::Custom, Output::Custom, SELFREF_FILTERED);
}

#[test]
fn self_reference_from_directory_to_custom() {
    scenario("selfref", "selfref", "selfref", Input::Directory, Output::Custom, SELFREF_FILTERED);
}

/// The greatest fixed point, spelled out on the rows the fixture plants: a
/// manager loop whose members all pass the where stays with its reports,
/// although no chain from a root reaches it; a loop with one leaver goes
/// entirely, with its reports.
#[test]
fn self_reference_keeps_a_loop_of_kept_rows() {
    let pg = require_pg!();
    let source = Source::new(&pg, "selfref");
    let restored = source.subset("selfref", Input::PlainFile, Output::Plain, &[]);
    assert_eq!(
        restored.query("SELECT string_agg(id::text, ' ' ORDER BY id) FROM employees WHERE id > 990"),
        "991 992 993 994 997 998 999"
    );
    source.oracle("selfref", "");
    source.assert_matches_oracle(&restored, "loop check");
}

#[test]
fn self_reference_on_missing_parent_null_from_plain_file() {
    scenario("selfref", "selfref_null", "selfref_null", Input::PlainFile, Output::Plain, SELFREF_FILTERED);
}

#[test]
fn self_reference_on_missing_parent_null_from_directory_to_custom() {
    scenario("selfref", "selfref_null", "selfref_null", Input::Directory, Output::Custom, SELFREF_FILTERED);
}

#[test]
fn self_reference_limit_applies_before_the_fixed_point() {
    scenario("selfref", "selfref_limit", "selfref_limit", Input::PlainFile, Output::Plain, SELFREF_FILTERED);
}

// ---------------------------------------------------------------------------
// 4. A cycle between two tables.

#[test]
fn cycle_between_two_tables() {
    scenario("cycle", "cycle", "cycle", Input::PlainFile, Output::Plain, &["departments", "employees"]);
}

#[test]
fn cycle_between_two_tables_from_custom_to_custom() {
    scenario("cycle", "cycle", "cycle", Input::Custom, Output::Custom, &["departments", "employees"]);
}

/// A limit on a table of the cycle: candidates first, then the fixed point.
#[test]
fn cycle_limit_applies_before_the_fixed_point() {
    scenario("cycle", "cycle_limit", "cycle_limit", Input::PlainFile, Output::Plain, &["departments", "employees"]);
}

// ---------------------------------------------------------------------------
// 5. Composite keys.

#[test]
fn composite_keys() {
    scenario("composite", "composite", "composite", Input::PlainFile, Output::Plain, &["warehouses", "bins", "stock"]);
}

// ---------------------------------------------------------------------------
// 6. Partitions.

const PARTITIONS_FILTERED: &[&str] =
    &["users", "events_eu", "events_us_low", "events_us_high", "events_other", "event_notes"];

#[test]
fn partitions_from_plain_file_to_plain() {
    scenario("partitions", "partitions", "partitions", Input::PlainFile, Output::Plain, PARTITIONS_FILTERED);
}

/// `--load-via-partition-root`: every leaf's COPY block names the root. The
/// README (Subsetting, limitations) says subsetting needs one data block per
/// table and refuses such a dump: it must say so, before writing anything.
#[test]
fn partitions_loaded_via_partition_root_are_refused() {
    assert_refused_reading(
        "partitions",
        "partitions",
        &["load-via-partition-root", "public.events"],
        &[Input::PlainViaRoot],
    );
}

#[test]
fn partitions_from_custom_to_custom() {
    scenario("partitions", "partitions", "partitions", Input::Custom, Output::Custom, PARTITIONS_FILTERED);
}

// ---------------------------------------------------------------------------
// 7. referenced_only parents; integrity overrides a filter (and a limit);
// pulled rows do not bring their children.

const REFERENCED_ONLY_FILTERED: &[&str] =
    &["orders", "order_lines", "customers", "products", "countries", "continents", "holidays"];

#[test]
fn referenced_only_parents_and_integrity_over_filters() {
    scenario(
        "referenced_only",
        "referenced_only",
        "referenced_only",
        Input::PlainFile,
        Output::Plain,
        REFERENCED_ONLY_FILTERED,
    );
}

#[test]
fn referenced_only_from_custom_to_custom() {
    scenario(
        "referenced_only",
        "referenced_only",
        "referenced_only",
        Input::Custom,
        Output::Custom,
        REFERENCED_ONLY_FILTERED,
    );
}

/// The same with every key set spilled to disk (`--memory-limit 1K`): the
/// recursive pulls of this scenario read back what they spilled.
#[test]
fn referenced_only_with_key_sets_spilled_to_disk() {
    scenario_with(
        "referenced_only",
        "referenced_only",
        "referenced_only",
        Input::PlainStdin,
        Output::Plain,
        REFERENCED_ONLY_FILTERED,
        &["-j", "2", "--memory-limit", "1K"],
    );
}

/// The greatest fixed point with spilled key sets.
#[test]
fn self_reference_with_key_sets_spilled_to_disk() {
    scenario_with(
        "selfref",
        "selfref",
        "selfref",
        Input::Custom,
        Output::Custom,
        SELFREF_FILTERED,
        &["-j", "1", "--memory-limit", "1K"],
    );
}

// ---------------------------------------------------------------------------
// 8. percent on a root.

/// The accounts scrub chose, as an SQL array literal of ids.
fn chosen_ids(restored: &ScratchDb) -> String {
    format!("{{{}}}", restored.query("SELECT string_agg(id::text, ',' ORDER BY id) FROM accounts"))
}

#[test]
fn percent_sample_is_deterministic_and_closed() {
    let pg = require_pg!();
    let source = Source::new(&pg, "percent");

    // The same output for the same key, run after run, for every -j.
    let plain = |key: &str, jobs: &str| {
        Scrub::new()
            .secret(key)
            .rules(&rules_path("percent"))
            .arg(source.dump_path(Input::PlainFile))
            .args(["-j", jobs])
            .run()
            .success()
    };
    let first = plain(SECRET, "2");
    crate::support::assert_same_bytes(&first, &plain(SECRET, "2"), "percent, second run");
    crate::support::assert_same_bytes(&first, &plain(SECRET, "1"), "percent, -j 1 against -j 2");
    // the sample does not depend on the input format either
    let from_custom = source.subset("percent", Input::Custom, Output::Custom, &["-j", "1"]);

    let restored = pg.scratch("sub_percent_out");
    restored.load_bytes(&first);
    let ids = chosen_ids(&restored);
    assert_eq!(chosen_ids(&from_custom), ids, "custom input, -j 1: a different sample");

    // About 10% of 2000 accounts: binomial, sd 13.4; +-70 is over 5 sd.
    let kept: i64 = restored.query("SELECT count(*) FROM accounts").parse().unwrap();
    assert!((130..=270).contains(&kept), "percent = 10 kept {kept} of 2000 accounts");

    // Another key, another sample.
    let other = pg.scratch("sub_percent_other");
    other.load_bytes(&plain(OTHER_SECRET, "2"));
    assert_ne!(chosen_ids(&other), ids, "a different key chose the same sample");

    // The closure from scrub's choice of roots (which must be rows of the
    // source, unchanged).
    source
        .oracle("percent", &format!("CREATE TABLE oracle.accounts AS SELECT * FROM accounts WHERE id = ANY('{ids}');"));
    assert_eq!(source.db.query("SELECT count(*) FROM oracle.accounts"), kept.to_string());
    source.assert_oracle_filters(&["accounts", "transfers", "transfer_fees"]);
    source.assert_matches_oracle(&restored, "plain, -j 2");
    source.assert_matches_oracle(&from_custom, "custom, -j 1");
}

/// The spec's keyed sample of 10% of the accounts, in SQL with pgcrypto's
/// HMAC: HMAC-SHA256(key, "scrub subset\0" || "public.accounts" || "\0" || id),
/// its first 8 bytes big-endian below percent/100 * 2^64. `None` when the
/// server has no pgcrypto.
fn spec_sample_of_accounts(source: &Source, and_where: &str) -> Option<String> {
    if source.db.try_query("CREATE EXTENSION IF NOT EXISTS pgcrypto").is_err() {
        eprintln!("skipped: pgcrypto is not available on this server");
        return None;
    }
    // 0.1 * 2^64 as the f64 product is 0x1999999999999a00; the exact value
    // differs by less than 2^9, which no hash of 2000 rows will hit.
    let threshold = "1999999999999a00";
    Some(format!(
        "CREATE TABLE oracle.accounts AS
         SELECT * FROM accounts
         WHERE encode(substring(hmac(convert_to('scrub subset', 'UTF8') || '\\x00'::bytea
                                     || convert_to('public.accounts', 'UTF8') || '\\x00'::bytea
                                     || convert_to(id::text, 'UTF8'),
                                     convert_to('{SECRET}', 'UTF8'), 'sha256') FROM 1 FOR 8), 'hex') < '{threshold}'
           AND {and_where};"
    ))
}

/// The sample is the spec's keyed hash.
#[test]
fn percent_sample_follows_the_spec_hash() {
    let pg = require_pg!();
    let source = Source::new(&pg, "percent");
    let restored = source.subset("percent", Input::PlainFile, Output::Plain, &[]);
    let Some(setup) = spec_sample_of_accounts(&source, "true") else { return };
    source.oracle("percent", &setup);
    source.assert_oracle_filters(&["accounts", "transfers"]);
    source.assert_matches_oracle(&restored, "percent from the spec's HMAC");
}

/// percent and where on one table (both must hold), a limit on its child.
#[test]
fn percent_with_where_and_a_limit_below() {
    let pg = require_pg!();
    let source = Source::new(&pg, "percent");
    let restored = source.subset("percent_where_limit", Input::Directory, Output::Plain, &["-j", "2"]);
    let Some(setup) = spec_sample_of_accounts(&source, "currency <> 'CHF'") else { return };
    source.oracle("percent_where_limit", &setup);
    source.assert_oracle_filters(&["accounts", "transfers", "transfer_fees"]);
    source.assert_matches_oracle(&restored, "percent, where and limit");
}

// ---------------------------------------------------------------------------
// 9. virtual_foreign_keys.

#[test]
fn virtual_foreign_keys() {
    scenario(
        "virtual_fk",
        "virtual_fk",
        "virtual_fk",
        Input::PlainFile,
        Output::Plain,
        &["accounts", "invoices", "contacts"],
    );
}

#[test]
fn virtual_foreign_keys_from_custom_to_custom() {
    scenario(
        "virtual_fk",
        "virtual_fk",
        "virtual_fk",
        Input::Custom,
        Output::Custom,
        &["accounts", "invoices", "contacts"],
    );
}

// ---------------------------------------------------------------------------
// 10. data = "drop" on a parent.

#[test]
fn dropped_parent_drops_its_children() {
    scenario("drop", "drop", "drop", Input::PlainFile, Output::Plain, &["page_views", "clicks"]);
}

#[test]
fn dropped_parent_from_directory_to_custom() {
    scenario("drop", "drop", "drop", Input::Directory, Output::Custom, &["page_views", "clicks"]);
}

/// Without any subset rule, the rules mean what they meant before subsetting:
/// `data = "drop"` on a table that kept rows reference is refused. (Not from
/// stdin: there, as the README says, a plain dump declares its constraints
/// after its data, and scrub stops only when the constraint arrives.)
#[test]
fn dropped_parent_without_subset_rules_is_still_refused() {
    assert_refused_reading(
        "drop",
        "error_drop_without_subset",
        &["sessions", "page_views"],
        &[Input::PlainFile, Input::Custom],
    );
}

// ---------------------------------------------------------------------------
// Rules refused before anything is written.

/// Runs scrub on the scenario's plain dump (file, and stdin) and on its custom
/// dump with `-o`, and asserts: exit status 2, no panic, stderr names every
/// needle (case-insensitive), nothing on stdout, nothing in the output
/// directory (not even a hidden temporary file).
fn assert_refused(scenario: &'static str, rules: &str, needles: &[&str]) {
    assert_refused_reading(scenario, rules, needles, &[Input::PlainFile, Input::PlainStdin, Input::Custom]);
}

fn assert_refused_reading(scenario: &'static str, rules: &str, needles: &[&str], inputs: &[Input]) {
    let pg = require_pg!();
    let source = Source::new(&pg, scenario);
    for &input in inputs {
        let out_dir = tempdir();
        let target = out_dir.path().join("out");
        let run = source.scrub(rules, input, &[]).arg("-o").arg(&target).run().failure();
        run.code(2);
        let stderr = run.stderr.to_lowercase();
        for needle in needles {
            assert!(
                stderr.contains(&needle.to_lowercase()),
                "{rules} ({input:?}): stderr does not mention {needle:?}:\n{}",
                run.stderr
            );
        }
        assert!(run.stdout.is_empty(), "{rules} ({input:?}): {} bytes on stdout", run.stdout.len());
        let written: Vec<_> = std::fs::read_dir(out_dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert!(written.is_empty(), "{rules} ({input:?}): refused rules, yet it wrote {written:?}");
        // and without -o: nothing on stdout
        let run = source.scrub(rules, input, &[]).run().failure();
        run.code(2);
        assert!(run.stdout.is_empty(), "{rules} ({input:?}, stdout): {} bytes written", run.stdout.len());
    }
}

#[test]
fn refuses_unknown_column_in_where() {
    assert_refused("star", "error_unknown_column", &["colour", "products"]);
}

#[test]
fn refuses_referenced_only_with_subset() {
    assert_refused("star", "error_referenced_only_with_subset", &["referenced_only", "products"]);
}

#[test]
fn refuses_on_missing_parent_null_on_a_not_null_column() {
    assert_refused("selfref", "error_null_on_not_null_fk", &["timesheets", "employee_id", "null"]);
}

#[test]
fn refuses_unknown_constraint_in_foreign_keys() {
    assert_refused("selfref", "error_unknown_constraint", &["employees_boss_fkey"]);
}

/// The oracle files themselves, against the fixtures, without scrub: they run,
/// and they really filter (a guard for edits of the fixtures).
#[test]
fn oracles_run_on_their_fixtures() {
    let pg = require_pg!();
    for (scenario, oracle, filtered) in [
        ("star", "star", STAR_FILTERED),
        ("chain", "chain", CHAIN_FILTERED),
        ("selfref", "selfref", SELFREF_FILTERED),
        ("selfref", "selfref_null", SELFREF_FILTERED),
        ("selfref", "selfref_limit", SELFREF_FILTERED),
        ("cycle", "cycle", &["departments", "employees"][..]),
        ("cycle", "cycle_limit", &["departments", "employees"][..]),
        ("composite", "composite", &["warehouses", "bins", "stock"][..]),
        ("partitions", "partitions", PARTITIONS_FILTERED),
        ("referenced_only", "referenced_only", REFERENCED_ONLY_FILTERED),
        ("virtual_fk", "virtual_fk", &["accounts", "invoices", "contacts"][..]),
        ("drop", "drop", &["page_views", "clicks"][..]),
    ] {
        let source = Source::new(&pg, scenario);
        source.oracle(oracle, "");
        source.assert_oracle_filters(filtered);
        for table in source.tables() {
            assert!(
                source.db.try_query(&format!("SELECT 1 FROM oracle.{table} LIMIT 0")).is_ok(),
                "{oracle}.oracle.sql defines no oracle.{table}"
            );
        }
    }
}
