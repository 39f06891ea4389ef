//! The rules parser (`scrub::rules::RuleSet::parse`, with its `when` conditions, templates and
//! transform parameters): any text gives rules or an error naming the file, never a panic. Rules
//! that parse are bound to the schema of a small dump (`data/small.dump.sql`: PK, UNIQUE, FK,
//! most column types) and, when they fit, run over it: binding, `scrub check` and every
//! transform on awkward values must not panic, and a run must be the same with one worker and
//! tiny chunks as with several workers and large chunks.
//!
//! Input: a rules file (seeds: rules/*.toml, fuzz/seeds/rules/*).

use std::path::Path;
use std::sync::OnceLock;

use super::check_message;
use scrub::pipeline::{Context, Options, prescan_plain, run_plain};
use scrub::progress::Progress;
use scrub::rules::RuleSet;
use scrub::rules::schema::Schema;
use scrub::transform::SecretKey;

const DUMP: &[u8] = include_bytes!("../data/small.dump.sql");

fn schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| prescan_plain(DUMP, &Options::default()).expect("the embedded dump reads"))
}

fn run(rules: &RuleSet, key: &SecretKey, jobs: usize, chunk_size: usize) -> Result<Vec<u8>, String> {
    let opts = Options { jobs, chunk_size, ..Options::default() };
    let mut out = Vec::new();
    let progress = Progress::hidden();
    let ctx =
        Context { rules, key: Some(key), opts: &opts, progress: &progress, manifest_header: None, selection: None };
    run_plain(DUMP, &mut out, schema().clone(), &ctx).map(|_| out).map_err(|e| e.to_string())
}

/// Runs the checks on one input; panics on a finding.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let path = Path::new("fuzz.toml");
    let key = SecretKey::new(b"fuzz key".to_vec()).expect("non-empty key");
    let rules = match RuleSet::parse(text, path, Some(&key)) {
        Ok(rules) => rules,
        Err(e) => {
            let msg = e.to_string();
            check_message(&msg);
            assert!(msg.starts_with("fuzz.toml"), "a rules error must name the file: {msg}");
            if let scrub::Error::Rules { line: Some(line), .. } = e {
                assert!(line >= 1 && line <= text.lines().count().max(1) + 1, "line {line} is outside the file");
            }
            return;
        }
    };
    // Without a key, keyed rules are refused, never run with some default key.
    let _ = RuleSet::parse(text, path, None);
    let report = scrub::check::check(&rules, schema());
    let _ = report.table();
    let small = run(&rules, &key, 1, 7);
    let large = run(&rules, &key, 2, 1 << 20);
    match (&small, &large) {
        (Ok(a), Ok(b)) => assert!(a == b, "output depends on the chunk size"),
        (Err(a), Err(b)) => {
            check_message(a);
            assert_eq!(a, b, "the error depends on the chunk size");
        }
        _ => panic!("one chunking failed and the other did not: {small:?} / {large:?}"),
    }
}
