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

mod plain;
pub mod worker;

use std::io::{Read, Write};
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};

use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::report::Report;
use crate::rules::RuleSet;
use crate::rules::coverage::TablePlan;
use worker::{Chunk, ChunkError, Processed, Scratch};

/// Tuning knobs. None of them changes the output.
#[derive(Debug, Clone)]
pub struct Options {
    /// Worker threads.
    pub jobs: usize,
    /// Target size of a COPY chunk in bytes (a chunk holds at least one row).
    pub chunk_size: usize,
    /// A row longer than this is an error instead of unbounded memory.
    pub max_row_bytes: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
            chunk_size: 1 << 20,
            max_row_bytes: 1 << 30,
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
    /// A COPY block begins.
    Table(Arc<TablePlan>),
    /// A chunk of that block's rows being processed; the absolute input offset of its first row.
    Rows(Receiver<Reply>, Arc<TablePlan>, u64),
    /// The reader failed. An input error's line counts from the end of the previous item.
    Fail(Box<Error>),
}

/// Streams a plain dump from `input` to `output`, applying `rules`.
pub fn run_plain<R: Read + Send, W: Write + Send>(
    input: R,
    output: W,
    rules: &RuleSet,
    opts: &Options,
    progress: &Progress,
) -> Result<Report> {
    let jobs = opts.jobs.max(1);
    let (item_tx, item_rx) = crossbeam_channel::bounded::<Item>(2 * jobs + 2);
    let (job_tx, job_rx) = crossbeam_channel::unbounded::<Job>();
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let job_rx = job_rx.clone();
            scope.spawn(move || {
                let mut scratch = Scratch::default();
                for (chunk, plan, reply) in job_rx {
                    let _ = reply.send(worker::process(chunk, &plan, &mut scratch));
                }
            });
        }
        drop(job_rx);
        let writer = scope.spawn(move || write_in_order(item_rx, output));
        plain::PlainReader::new(input, opts, rules, item_tx, job_tx, progress).run();
        writer.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

fn write_in_order<W: Write>(items: Receiver<Item>, mut out: W) -> Result<Report> {
    let mut report = Report::default();
    let mut line: u64 = 1;
    let write = |out: &mut W, bytes: &[u8]| out.write_all(bytes).map_err(|e| Error::io("writing output", e));
    for item in items {
        match item {
            Item::Text(text) => {
                line += memchr::memchr_iter(b'\n', &text).count() as u64;
                write(&mut out, &text)?;
            }
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
