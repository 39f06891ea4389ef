//! The parallel, ordered pipeline: one reader thread cuts the dump into items, workers process
//! COPY chunks, and one writer emits results strictly in input order.
//!
//! ```text
//! input ─► PlainReader ──(Item, in order)──────────────────────► writer ─► output
//!               └──(Job: chunk + reply channel)─► workers ─┘ (the writer waits on each reply in turn)
//! ```
//!
//! Order comes for free: the writer receives the items in the order the reader produced them, and
//! a chunk item carries the receiving end of its own one-slot reply channel. The ordered channel is
//! bounded, so at most `2 × jobs + 2` items are in flight and memory stays at that many chunks,
//! whatever the size of the dump. The output is the same for any `jobs` and chunk size.

pub mod archive;
mod memo;
mod plain;
mod prescan;
pub use plain::Visitor;
pub use prescan::prescan_plain_file;
pub mod worker;

use std::io::{Read, Write};
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};

use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::report::Report;
use crate::rules::RuleSet;
use crate::rules::bind::TablePlan;
use crate::rules::schema::Schema;
use crate::transform::SecretKey;
use worker::{Chunk, ChunkError, Pool, Processed, Scratch};

/// Tuning knobs. None of them changes the output.
#[derive(Debug, Clone)]
pub struct Options {
    /// Worker threads.
    pub jobs: usize,
    /// Target size of a COPY chunk in bytes (a chunk holds at least one row).
    pub chunk_size: usize,
    /// A row longer than this is an error instead of unbounded memory.
    pub max_row_bytes: usize,
    /// Subsetting: the memory key sets may use before they spill to disk.
    pub memory_limit: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
            chunk_size: 1 << 20,
            max_row_bytes: 1 << 30,
            memory_limit: 1 << 30,
        }
    }
}

impl Options {
    /// How much the reader asks for at a time. Tied to the chunk size so that tests with tiny
    /// chunks also exercise statements and markers split across reads.
    fn read_size(&self) -> usize {
        self.chunk_size.clamp(1, 4 << 20)
    }
}

type Reply = Result<Processed, ChunkError>;
type Job = (Chunk, Arc<TablePlan>, Sender<Reply>);

/// What the reader hands the writer, in input order.
enum Item {
    /// Bytes to copy to the output unchanged.
    Text(Vec<u8>),
    /// Bytes scrub adds to the output (the manifest): not input, so not counted in positions.
    Inserted(Vec<u8>),
    /// A COPY block begins.
    Table(Arc<TablePlan>),
    /// A chunk of that block's rows being processed; the absolute input offset of its first row.
    Rows(Receiver<Reply>, Arc<TablePlan>, u64),
    /// The reader failed. An input error's line counts from the end of the previous item.
    Fail(Box<Error>),
}

/// Reads a plain dump only to learn its schema, constraints included (pg_dump writes them after
/// the data). Used before the real pass when the input can be read twice.
pub fn prescan_plain<R: Read>(input: R, opts: &Options) -> Result<Schema> {
    prescan_plain_spans(input, opts).map(|(schema, _)| schema)
}

/// Like [`prescan_plain`], also returning where each COPY block's rows are (for subsetting).
pub fn prescan_plain_spans<R: Read>(
    input: R,
    opts: &Options,
) -> Result<(Schema, Vec<crate::subset::source::CopySpan>)> {
    Scanning::new().reader(input, opts).scan_spans()
}

/// Reads a plain dump like [`prescan_plain`], showing `visitor` its SQL text and rows.
pub fn visit_plain<R: Read>(input: R, opts: &Options, visitor: &mut dyn Visitor) -> Result<Schema> {
    Scanning::new().reader(input, opts).visit(visitor)
}

/// What a reader that only learns what a dump holds lends it: no rules, no key, no progress bar.
struct Scanning {
    rules: RuleSet,
    progress: Progress,
}

impl Scanning {
    fn new() -> Self {
        Scanning { rules: RuleSet::keep_everything(), progress: Progress::hidden() }
    }

    /// A reader of `input` with no workers and nowhere to send anything.
    fn reader<'a, R: Read>(&'a self, input: R, opts: &'a Options) -> plain::PlainReader<'a, R> {
        let (item_tx, _) = crossbeam_channel::bounded::<Item>(1);
        let (job_tx, _) = crossbeam_channel::bounded::<Job>(1);
        let Scanning { rules, progress } = self;
        let run = plain::Run { opts, rules, key: None, progress, manifest_header: None, selection: None };
        plain::PlainReader::new(input, run, Schema::default(), item_tx, job_tx, Pool::new(1))
    }
}

/// Streams a plain dump from `input` to `output`, applying `rules`. `schema` is what a prescan
/// learnt (empty when the input can be read only once).
pub fn run_plain<R: Read, W: Write + Send>(input: R, output: W, schema: Schema, ctx: &Context<'_>) -> Result<Report> {
    let Context { rules, key, opts, progress, manifest_header, selection } = *ctx;
    run_ordered(output, opts, |items, jobs, pool| {
        let run = plain::Run { opts, rules, key, progress, manifest_header, selection };
        plain::PlainReader::new(input, run, schema, items, jobs, pool).run()
    })
}

/// What a plain run needs besides its input and output.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub rules: &'a RuleSet,
    pub key: Option<&'a SecretKey>,
    pub opts: &'a Options,
    pub progress: &'a Progress,
    /// A comment block to put after pg_dump's header (the manifest), if any.
    pub manifest_header: Option<&'a [u8]>,
    /// Subsetting: which rows of each table to write.
    pub selection: Option<&'a crate::subset::Selection>,
}

/// Processes one table's COPY data as an archive stores it (rows, the `\.` line, trailing
/// newlines) from `input` to `output` with `plan`. Errors name `plan`'s table; positions are
/// inside this data stream.
pub fn run_copy_data<R: Read, W: Write + Send>(
    input: R,
    output: W,
    plan: Arc<TablePlan>,
    opts: &Options,
    progress: &Progress,
) -> Result<Report> {
    let rules = RuleSet::keep_everything();
    run_ordered(output, opts, |items, jobs, pool| {
        let run = plain::Run { opts, rules: &rules, key: None, progress, manifest_header: None, selection: None };
        plain::PlainReader::new(input, run, Schema::default(), items, jobs, pool).run_copy_data(plan)
    })
}

/// Runs `produce` on this thread, feeding workers and an ordered writer to `output`.
fn run_ordered<W: Write + Send>(
    output: W,
    opts: &Options,
    produce: impl FnOnce(Sender<Item>, Sender<Job>, Pool),
) -> Result<Report> {
    let jobs = opts.jobs.max(1);
    let (item_tx, item_rx) = crossbeam_channel::bounded::<Item>(2 * jobs + 2);
    let (job_tx, job_rx) = crossbeam_channel::unbounded::<Job>();
    let pool = Pool::new(4 * jobs + 8);
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let job_rx = job_rx.clone();
            let pool = pool.clone();
            scope.spawn(move || {
                let mut scratch = Scratch::default();
                for (chunk, plan, reply) in job_rx {
                    let _ = reply.send(worker::process(chunk, &plan, &mut scratch, &pool));
                }
            });
        }
        drop(job_rx);
        let writer_pool = pool.clone();
        let writer = scope.spawn(move || write_in_order(item_rx, output, &writer_pool));
        produce(item_tx, job_tx, pool);
        writer.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

fn write_in_order<W: Write>(items: Receiver<Item>, mut out: W, pool: &Pool) -> Result<Report> {
    let mut report = Report::default();
    let mut line: u64 = 1;
    let write = |out: &mut W, bytes: &[u8]| out.write_all(bytes).map_err(|e| Error::io("writing output", e));
    for item in items {
        match item {
            Item::Text(text) => {
                if line == 1 {
                    report.crlf = crate::manifest::uses_crlf(&text);
                }
                line += memchr::memchr_iter(b'\n', &text).count() as u64;
                write(&mut out, &text)?;
            }
            Item::Inserted(text) => write(&mut out, &text)?,
            Item::Table(plan) => report.begin_table(&plan),
            Item::Rows(reply, plan, offset) => {
                let processed = reply.recv().expect("a worker replies to every job").map_err(|e| {
                    Error::input(
                        crate::error::Position {
                            line: line + e.line,
                            byte: offset + e.offset as u64,
                            table: Some(plan.table.to_string()),
                        },
                        e.msg,
                    )
                })?;
                line += processed.lines;
                report.rows(&plan, processed.rows_in, processed.rows_out);
                write(&mut out, &processed.buf[processed.start..])?;
                pool.give(processed.buf);
            }
            Item::Fail(mut err) => {
                if let Error::Input { pos, .. } = err.as_mut() {
                    pos.line += line;
                }
                return Err(*err);
            }
        }
    }
    out.flush().map_err(|e| Error::io("writing output", e))?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::copy::encode_field;
    use crate::transform::SecretKey;
    use proptest::prelude::*;
    use std::path::Path;

    /// A dump with one table whose rows hold arbitrary values (NULLs included).
    fn dump(rows: &[Vec<Option<Vec<u8>>>], crlf: bool) -> Vec<u8> {
        let eol: &[u8] = if crlf { b"\r\n" } else { b"\n" };
        let mut out = b"SET client_encoding = 'UTF8';\nCREATE TABLE public.t (a text, b text, \"C d\" text);\n-- COPY public.x (a) FROM stdin;\nCOPY public.t (a, b, \"C d\") FROM stdin;\n".to_vec();
        for row in rows {
            for (i, field) in row.iter().enumerate() {
                if i > 0 {
                    out.push(b'\t');
                }
                match field {
                    Some(v) => encode_field(v, &mut out),
                    None => out.extend_from_slice(b"\\N"),
                }
            }
            out.extend_from_slice(eol);
        }
        out.extend_from_slice(b"\\.");
        out.extend_from_slice(eol);
        out.extend_from_slice(b"\n\nSELECT 'done';\n");
        out
    }

    fn run(input: &[u8], rules: &RuleSet, jobs: usize, chunk_size: usize) -> Result<(Vec<u8>, Report)> {
        let opts = Options { jobs, chunk_size, ..Options::default() };
        let mut out = Vec::new();
        let key = SecretKey::new(b"test key".to_vec()).unwrap();
        let progress = Progress::hidden();
        let ctx = Context {
            rules,
            key: Some(&key),
            opts: &opts,
            progress: &progress,
            manifest_header: None,
            selection: None,
        };
        let report = run_plain(input, &mut out, Schema::default(), &ctx)?;
        Ok((out, report))
    }

    fn hashing_rules() -> RuleSet {
        let key = SecretKey::new(b"test key".to_vec()).unwrap();
        let text = "[tables.\"public.t\"]\ncolumns.a = \"keep\"\ncolumns.b = { transform = \"hash\", length = 8 }\ncolumns.\"C d\" = \"email\"\n";
        RuleSet::parse(text, Path::new("t.toml"), Some(&key)).unwrap()
    }

    fn rows() -> impl Strategy<Value = Vec<Vec<Option<Vec<u8>>>>> {
        let value = proptest::option::weighted(0.8, proptest::collection::vec(1u8..=255, 0..12));
        proptest::collection::vec(proptest::collection::vec(value, 3), 0..20)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn identity_for_any_chunking(rows in rows(), crlf: bool, chunk in 1usize..64, jobs in 1usize..4) {
            let input = dump(&rows, crlf);
            let (out, report) = run(&input, &RuleSet::keep_everything(), jobs, chunk).unwrap();
            prop_assert_eq!(&out, &input);
            prop_assert_eq!(report.tables[0].rows_in, rows.len() as u64);
        }

        #[test]
        fn rewriting_is_independent_of_chunking(rows in rows(), crlf: bool, chunk in 1usize..64, jobs in 1usize..4) {
            let input = dump(&rows, crlf);
            let rules = hashing_rules();
            let (expected, _) = run(&input, &rules, 1, 1 << 20).unwrap();
            let (out, _) = run(&input, &rules, jobs, chunk).unwrap();
            prop_assert_eq!(out, expected);
        }
    }

    #[test]
    fn rewrites_only_ruled_fields_and_keeps_nulls() {
        let input = dump(&[vec![Some(b"x\ty".to_vec()), Some(b"secret".to_vec()), None]], false);
        let (out, report) = run(&input, &hashing_rules(), 2, 3).unwrap();
        let text = String::from_utf8(out).unwrap();
        let row = text.lines().find(|l| l.starts_with("x\\ty\t")).unwrap();
        let fields: Vec<_> = row.split('\t').collect();
        assert_eq!(fields.len(), 3);
        assert_eq!(fields[1].len(), 8);
        assert_ne!(fields[1], "secret");
        assert_eq!(fields[2], "\\N");
        assert_eq!(report.tables[0].rewritten.len(), 2);
    }

    /// The rows of table `t` in `out`, split into raw fields.
    fn copy_rows(out: &[u8]) -> Vec<Vec<String>> {
        let text = String::from_utf8(out.to_vec()).unwrap();
        let data = text.split_once("\"C d\") FROM stdin;\n").unwrap().1.split_once("\\.\n").unwrap().0;
        data.lines().map(|l| l.split('\t').map(str::to_owned).collect()).collect()
    }

    #[test]
    fn remembered_results_are_the_computed_ones_with_and_without_context() {
        use crate::transform::testing::build_with;
        use crate::transform::{Ctx, Output};
        // Repeated values (with escapes) keep the columns' memos on; distinct e-mails turn the
        // other memo off after its first window.
        let repeated: [&[u8]; 5] = [b"x\ty", b"a\\b", b"line\nbreak", b"plain", b""];
        let rows: Vec<Vec<Option<Vec<u8>>>> = (0..3000)
            .map(|i| {
                let b = (i % 7 != 0).then(|| repeated[i % 5].to_vec());
                vec![Some(b"2024-01-31".to_vec()), b, Some(format!("user{i}@example.org").into_bytes())]
            })
            .collect();
        let input = dump(&rows, false);
        let (plain, _) = run(&input, &hashing_rules(), 2, 4096).unwrap();
        let (hash, email) = (build_with("hash", "length = 8", None).unwrap(), build_with("email", "", None).unwrap());
        let computed = |t: &crate::transform::Transform, v: &Option<Vec<u8>>| match v {
            None => "\\N".to_string(),
            Some(v) => {
                let (mut value, mut raw) = (Vec::new(), Vec::new());
                match t.apply(v, &Ctx::default(), &mut value) {
                    Output::Value => encode_field(&value, &mut raw),
                    Output::Null => raw.extend_from_slice(b"\\N"),
                }
                String::from_utf8(raw).unwrap()
            }
        };
        let plain_rows = copy_rows(&plain);
        assert_eq!(plain_rows.len(), rows.len());
        for (got, row) in plain_rows.iter().zip(&rows) {
            assert_eq!(got[1], computed(&hash, &row[1]));
            assert_eq!(got[2], computed(&email, &row[2]));
        }
        // A `by` rule gives the table context; the other rules still give the same outputs.
        let key = SecretKey::new(b"test key".to_vec()).unwrap();
        let text = "[tables.\"public.t\"]\ncolumns.a = { transform = \"date_shift\", max_days = 30, by = \"C d\" }\ncolumns.b = { transform = \"hash\", length = 8 }\ncolumns.\"C d\" = \"email\"\n";
        let by = RuleSet::parse(text, Path::new("t.toml"), Some(&key)).unwrap();
        let (context, _) = run(&input, &by, 2, 4096).unwrap();
        for (with, without) in copy_rows(&context).iter().zip(&plain_rows) {
            assert_ne!(with[0], "2024-01-31");
            assert_eq!(with[1..], without[1..]);
        }
    }

    #[test]
    fn errors_carry_table_line_and_offset() {
        let mut input = dump(&[vec![Some(b"a".to_vec()), Some(b"b".to_vec()), Some(b"c".to_vec())]], false);
        let at = memchr::memmem::find(&input, b"a\tb\tc\n").unwrap();
        input.splice(at..at + 5, b"a\tb".iter().copied());
        for chunk in [1, 4, 1 << 20] {
            let err = run(&input, &RuleSet::keep_everything(), 2, chunk).unwrap_err().to_string();
            assert_eq!(
                err,
                format!(
                    "table public.t, line 5, byte offset {at}: row has 2 field(s), the COPY header names 3 column(s)"
                )
            );
        }
        let truncated = &input[..at + 2];
        let err = run(truncated, &RuleSet::keep_everything(), 1, 1 << 20).unwrap_err().to_string();
        assert!(err.contains("line 5") && err.contains("truncated"), "{err}");
    }

    #[test]
    fn conditions_and_templates_read_the_row() {
        let key = SecretKey::new(b"test key".to_vec()).unwrap();
        let rules = RuleSet::parse(
            "[tables.\"public.u\"]\ncolumns.id = \"keep\"\ncolumns.role = \"keep\"\ncolumns.first = { transform = \"hash\", length = 6 }\ncolumns.login = { transform = \"hash\", length = 8, when = \"role <> 'admin'\" }\ncolumns.display = { transform = \"template\", template = \"{first} ({first.original})\" }\n",
            std::path::Path::new("t.toml"),
            Some(&key),
        )
        .unwrap();
        let input = b"CREATE TABLE public.u (id integer, role text, first text, login text, display text);\nCOPY public.u (id, role, first, login, display) FROM stdin;\n1\tadmin\tAnn\tann\tx\n2\tuser\tBob\tbob\tx\n3\t\\N\tCy\tcy\t\\N\n\\.\n";
        for chunk in [1, 7, 1 << 20] {
            let (out, _) = run(input, &rules, 2, chunk).unwrap();
            let text = String::from_utf8(out).unwrap();
            let rows: Vec<Vec<&str>> = text.lines().skip(2).take(3).map(|l| l.split('\t').collect()).collect();
            assert_eq!(rows[0][3], "ann", "admins keep their login");
            assert_ne!(rows[1][3], "bob");
            assert_ne!(rows[2][3], "cy", "an unknown condition does not skip the rule");
            assert_eq!(rows[1][4], format!("{} (Bob)", rows[1][2]));
            assert_eq!(rows[2][4], "\\N", "NULL stays NULL");
        }
    }

    #[test]
    fn decoy_copy_in_a_comment_literal_is_not_data() {
        let input = b"COMMENT ON TABLE public.t IS 'x\nCOPY public.t (a) FROM stdin;\n\\.\n';\nSELECT 1;\n";
        let (out, report) = run(input, &RuleSet::keep_everything(), 1, 3).unwrap();
        assert_eq!(out, input);
        assert!(report.tables.is_empty());
    }

    #[test]
    fn zero_column_tables() {
        let input = b"COPY public.nocols  FROM stdin;\n\n\n\\.\n";
        let (out, report) = run(input, &RuleSet::keep_everything(), 1, 1).unwrap();
        assert_eq!(out, input);
        assert_eq!(report.tables[0].rows_in, 2);
        let bad = b"COPY public.nocols  FROM stdin;\nx\n\\.\n";
        assert!(run(bad, &RuleSet::keep_everything(), 1, 1).is_err());
    }

    #[test]
    fn refuses_backslash_unsafe_encodings() {
        let input = b"SET client_encoding = 'SJIS';\nCOPY public.t (a) FROM stdin;\n\\.\n";
        let err = run(input, &RuleSet::keep_everything(), 1, 64).unwrap_err().to_string();
        assert!(err.contains("SJIS") && err.contains("0x5C"), "{err}");
    }
}
