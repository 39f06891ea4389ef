//! The archive path of a run (`scrub::pipeline::archive`): a custom or tar archive is read, its
//! TOC turned into a schema (every `defn` goes through the SQL splitter and DDL reader), the rules
//! checked and planned against it, and every data entry streamed through the COPY pipeline into
//! a custom or tar archive in memory. Any bytes must give a result or an error with a message,
//! never a panic; an archive written successfully must read back.
//!
//! Input: byte 0 is a knob (bit 0: tar output, bit 1: rewriting rules, bit 2: tiny chunks); the
//! rest is a custom or tar archive (seeds: fixtures/archives).

use std::io::{Cursor, Read};
use std::path::Path;
use std::sync::OnceLock;

use scrub::archive::custom::{CustomReader, CustomWriter};
use scrub::archive::tar::{TarReader, TarWriter};
use scrub::pipeline::Options;
use scrub::pipeline::archive::{ArchiveInput, ArchiveOutput, ArchiveRun, prepare, transfer};
use scrub::progress::Progress;
use scrub::rules::RuleSet;
use scrub::transform::SecretKey;

use super::check_message;

const RULES: &str = r#"
[settings]
unlisted_columns = "keep"
large_objects = "drop"

[tables."public.t_text"]
columns.s = { transform = "hash", length = 16 }

[tables."public.t"]
columns.b = { transform = "hash", length = 8 }
columns.d = { transform = "null", when = "a <> 'keep'" }

[tables."public.t_many"]
columns.label = "uuid"
"#;

fn key() -> &'static SecretKey {
    static KEY: OnceLock<SecretKey> = OnceLock::new();
    KEY.get_or_init(|| SecretKey::new(b"fuzz key".to_vec()).expect("non-empty key"))
}

fn rewriting() -> &'static RuleSet {
    static SET: OnceLock<RuleSet> = OnceLock::new();
    SET.get_or_init(|| RuleSet::parse(RULES, Path::new("fuzz.toml"), Some(key())).expect("the rules parse"))
}

fn open(bytes: &[u8]) -> Result<ArchiveInput, String> {
    let reader: Box<dyn Read + Send> = Box::new(Cursor::new(bytes.to_vec()));
    if bytes.starts_with(b"PGDMP") {
        CustomReader::new(reader).map(ArchiveInput::Custom).map_err(|e| e.to_string())
    } else {
        TarReader::new(reader).map(ArchiveInput::Tar).map_err(|e| e.to_string())
    }
}

fn run(bytes: &[u8], knob: u8) -> Result<Vec<u8>, String> {
    let keep = RuleSet::keep_everything();
    let rules = if knob & 2 != 0 { rewriting() } else { &keep };
    let opts = Options {
        jobs: 1,
        chunk_size: if knob & 4 != 0 { 5 } else { 1 << 16 },
        max_row_bytes: 1 << 20,
        ..Options::default()
    };
    let progress = Progress::hidden();
    let archive_run = ArchiveRun { rules, key: Some(key()), opts: &opts, progress: &progress, subset: None };
    let mut input = open(bytes)?;
    let prepared = prepare(input.toc(), &archive_run, None).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    if knob & 1 != 0 {
        let writer = TarWriter::new(&mut out, prepared.toc().clone()).map_err(|e| e.to_string())?;
        let mut output = ArchiveOutput::Tar(writer);
        transfer(&mut input, &mut output, &prepared, &archive_run).map_err(|e| e.to_string())?;
        output.finish().map_err(|e| e.to_string())?;
    } else {
        let writer = CustomWriter::new(&mut out, prepared.toc().clone()).map_err(|e| e.to_string())?;
        let mut output = ArchiveOutput::Custom(writer);
        transfer(&mut input, &mut output, &prepared, &archive_run).map_err(|e| e.to_string())?;
        output.finish().map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// Runs the checks on one input; panics on a finding.
pub fn check(data: &[u8]) {
    let Some((&knob, archive)) = data.split_first() else { return };
    match run(archive, knob) {
        Ok(written) => {
            // What scrub wrote is an archive scrub reads (with the same rules, again).
            if let Err(msg) = run(&written, knob & !4) {
                panic!("an archive scrub wrote does not read back: {msg}");
            }
        }
        Err(msg) => check_message(&msg),
    }
}
