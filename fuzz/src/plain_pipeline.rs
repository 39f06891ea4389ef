//! The whole plain-dump path (`scrub::pipeline::run_plain`: statement splitter, DDL reader, COPY
//! block edges, worker validation, ordered writer) on arbitrary text:
//!
//! * with rules that change nothing, a successful run is the identity;
//! * the result (output or error message, positions included) is the same for one worker and
//!   the default chunk size as for two workers and tiny chunks;
//! * with rules that rewrite `public.t` (`a` kept, `b` hashed, `c` templated, `d` nulled when
//!   `a` says so), the same holds but for the identity.
//!
//! Input: byte 0 picks the chunk size (1 to 64) and the rules; the rest is the dump (seeds:
//! fixtures/*.dump.sql cut down, fuzz/seeds/plain_pipeline/*).

use std::path::Path;
use std::sync::OnceLock;

use super::check_message;
use scrub::pipeline::{Context, Options, run_plain};
use scrub::progress::Progress;
use scrub::rules::RuleSet;
use scrub::rules::schema::Schema;
use scrub::transform::SecretKey;

const RULES: &str = r#"
[settings]
unlisted_columns = "keep"

[tables."public.t"]
columns.a = "keep"
columns.b = { transform = "hash", length = 8 }
columns.c = { transform = "template", template = "{a}-{b}" }
columns.d = { transform = "null", when = "a <> 'keep'" }
"#;

fn key() -> &'static SecretKey {
    static KEY: OnceLock<SecretKey> = OnceLock::new();
    KEY.get_or_init(|| SecretKey::new(b"fuzz key".to_vec()).expect("non-empty key"))
}

fn rewriting() -> &'static RuleSet {
    static RULES_SET: OnceLock<RuleSet> = OnceLock::new();
    RULES_SET.get_or_init(|| RuleSet::parse(RULES, Path::new("fuzz.toml"), Some(key())).expect("the rules parse"))
}

fn run(input: &[u8], rules: &RuleSet, jobs: usize, chunk_size: usize) -> Result<Vec<u8>, String> {
    let opts = Options { jobs, chunk_size, max_row_bytes: 1 << 20, ..Options::default() };
    let mut out = Vec::new();
    let progress = Progress::hidden();
    let ctx =
        Context { rules, key: Some(key()), opts: &opts, progress: &progress, manifest_header: None, selection: None };
    run_plain(input, &mut out, Schema::default(), &ctx).map(|_| out).map_err(|e| e.to_string())
}

/// Runs the checks on one input; panics on a finding.
pub fn check(data: &[u8]) {
    let Some((&knob, input)) = data.split_first() else { return };
    let chunk = 1 + usize::from(knob & 63);
    let keep = RuleSet::keep_everything();
    let rules = if knob & 64 != 0 { rewriting() } else { &keep };
    let whole = run(input, rules, 1, 1 << 20);
    let pieces = run(input, rules, 2, chunk);
    match (&whole, &pieces) {
        (Ok(a), Ok(b)) => {
            assert!(a == b, "output differs with --chunk-size {chunk}");
            if knob & 64 == 0 {
                assert!(a.as_slice() == input, "rules that change nothing changed the dump");
            }
        }
        (Err(a), Err(b)) => {
            check_message(a);
            assert_eq!(a, b, "the error differs with --chunk-size {chunk}");
        }
        _ => panic!("--chunk-size {chunk} changed success into failure or back: {whole:?} / {pieces:?}"),
    }
}
