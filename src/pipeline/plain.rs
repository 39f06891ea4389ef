//! The plain-format reader: walks the SQL text of a dump statement by statement, learns the schema
//! from `CREATE TABLE`, and cuts every COPY block into row-aligned chunks for the workers.
//!
//! It runs on one thread and touches COPY data only to find row boundaries and the `\.` line, so
//! it stays far ahead of the workers. Everything that is not COPY data is passed on byte for byte.
//! Output is held back until the first COPY block so that rule problems are reported before a
//! single byte is written.

use std::collections::BTreeSet;
use std::io::Read;
use std::sync::Arc;

use crossbeam_channel::Sender;

use super::prescan::EndLines;
use super::worker::{Chunk, Pool};
use super::{Item, Job, Options};
use crate::copy::block::{EndMarker, find_end_marker, is_escaped, row_cut};
use crate::error::{Error, Position, Result};
use crate::progress::Progress;
use crate::rules::bind::{self, Binder, TablePlan};
use crate::rules::schema::Schema;
use crate::rules::{DataAction, RuleSet, Unlisted};
use crate::sql::ddl::{Statement, classify};
use crate::sql::lexer::{Scan, Splitter};
use crate::transform::SecretKey;

/// Pass-through text is sent on once this much has accumulated.
const TEXT_BATCH: usize = 256 * 1024;

/// Client encodings whose multibyte characters may contain the byte 0x5C: COPY text in them
/// cannot be split byte-wise (see the format reference §2.1), so scrub refuses them.
const BACKSLASH_UNSAFE_ENCODINGS: &[&str] = &[
    "SJIS",
    "SHIFTJIS",
    "MSKANJI",
    "WIN932",
    "WINDOWS932",
    "SHIFTJIS2004",
    "BIG5",
    "WIN950",
    "WINDOWS950",
    "GBK",
    "WIN936",
    "WINDOWS936",
    "GB18030",
    "UHC",
    "WIN949",
    "WINDOWS949",
    "JOHAB",
];

/// What a run shares with its reader.
pub(super) struct Run<'a> {
    pub opts: &'a Options,
    pub rules: &'a RuleSet,
    pub key: Option<&'a SecretKey>,
    pub progress: &'a Progress,
    pub manifest_header: Option<&'a [u8]>,
    /// Subsetting: the row filter of each table.
    pub selection: Option<&'a crate::subset::Selection>,
}

/// Refuses a client encoding whose characters can contain the byte 0x5C.
pub(super) fn refuse_unsafe_encoding(enc: &str) -> Result<(), String> {
    let norm: String = enc.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_uppercase();
    if BACKSLASH_UNSAFE_ENCODINGS.contains(&norm.as_str()) {
        return Err(format!(
            "client_encoding {enc}: characters in this encoding can contain the byte 0x5C (backslash), which COPY does not escape; scrub refuses to guess. Dump with pg_dump -E UTF8"
        ));
    }
    Ok(())
}

struct CopyState {
    plan: Arc<TablePlan>,
    crlf: Option<bool>,
    /// Where the search for the end marker resumes, relative to the unconsumed bytes.
    scanned: usize,
    /// Rows sent so far (counted only for tables with a subset filter).
    rows: u64,
}

pub(super) struct PlainReader<'a, R> {
    src: R,
    /// Unconsumed input is `buf[start..end]`; `buf[0]` is at absolute offset `base`. Bytes past
    /// `end` are stale but initialised: reads go there without zero-filling the buffer first.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    base: u64,
    eof: bool,
    opts: &'a Options,
    rules: &'a RuleSet,
    binder: Binder<'a>,
    splitter: Splitter,
    std_strings: bool,
    schema: Schema,
    copy: Option<CopyState>,
    /// A COPY statement was read; its data starts after the end of its line (statement end given).
    awaiting_data: Option<(crate::sql::ddl::CopyStmt, usize)>,
    /// Pass-through text not yet sent; held entirely until the first COPY block.
    pending: Vec<u8>,
    holding: bool,
    blocks: usize,
    seen: BTreeSet<crate::sql::QualifiedName>,
    items: Sender<Item>,
    jobs: Sender<Job>,
    progress: &'a Progress,
    /// Only learn the schema: nothing is planned, processed or sent.
    scan_only: bool,
    /// Buffers to reuse for chunks.
    pool: Pool,
    /// Inserted into the held-back text when it is released.
    manifest_header: Option<&'a [u8]>,
    /// In scan mode, who is shown the text and rows.
    visitor: Option<&'a mut dyn Visitor>,
    /// The visitor wants the rows of the current COPY block.
    visiting: bool,
    /// The first bytes of the text outside COPY data and how it ends, to tell a pg_dump script
    /// cut short at a statement boundary ([`missing_trailer`]).
    head: Vec<u8>,
    ending: Ending,
    /// Lines consumed in scan mode, where no writer counts them for error positions.
    scan_lines: u64,
    /// In scan mode: where each COPY block's rows are.
    spans: Vec<crate::subset::source::CopySpan>,
    selection: Option<&'a crate::subset::Selection>,
    /// In a prescan of a file: its end lines, found in advance, and how to move the input to one.
    jumps: Option<(&'a EndLines, Jump<R>)>,
}

/// Moves the input to an absolute offset.
type Jump<R> = fn(&mut R, u64) -> std::io::Result<()>;

/// Sees a dump's contents in order during a scan: the SQL text outside COPY data and the rows of
/// each COPY block (complete rows, raw COPY text with line endings).
pub trait Visitor {
    fn sql(&mut self, text: &[u8]) -> Result<()>;
    /// A COPY block starts; answer whether its rows are wanted.
    fn table(&mut self, copy: &crate::sql::ddl::CopyStmt) -> Result<bool>;
    /// Complete rows of the current block; answer whether more are wanted.
    fn rows(&mut self, rows: &[u8]) -> Result<bool>;
}

/// The channel to the writer closed: the writer already has the error to report.
struct Closed;

enum Flow {
    Continue,
    NeedMore,
    Done,
}

fn count_lines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

/// The rows in whole COPY rows: line feeds not escaped by a backslash.
fn count_rows_ends(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).filter(|&k| !is_escaped(bytes, k)).count() as u64
}

impl<'a, R: Read> PlainReader<'a, R> {
    pub(super) fn new(
        src: R,
        run: Run<'a>,
        schema: Schema,
        items: Sender<Item>,
        jobs: Sender<Job>,
        pool: Pool,
    ) -> Self {
        let Run { opts, rules, key, progress, manifest_header, selection } = run;
        PlainReader {
            src,
            buf: Vec::new(),
            start: 0,
            end: 0,
            base: 0,
            eof: false,
            opts,
            rules,
            binder: Binder::new(rules, key),
            splitter: Splitter::default(),
            std_strings: true,
            schema,
            copy: None,
            awaiting_data: None,
            pending: Vec::new(),
            holding: true,
            blocks: 0,
            seen: BTreeSet::new(),
            items,
            jobs,
            progress,
            scan_only: false,
            pool,
            manifest_header,
            visitor: None,
            visiting: false,
            head: Vec::new(),
            ending: Ending::default(),
            scan_lines: 0,
            spans: Vec::new(),
            selection,
            jumps: None,
        }
    }

    /// Like [`Self::scan`], showing `visitor` the SQL text and the rows it asks for.
    pub(super) fn visit(mut self, visitor: &'a mut dyn Visitor) -> Result<Schema> {
        self.visitor = Some(visitor);
        self.scan()
    }

    /// Reads the whole input only to learn its schema (tables, constraints, types), skipping
    /// COPY data as fast as the end markers can be found.
    pub(super) fn scan(self) -> Result<Schema> {
        self.scan_spans().map(|(schema, _)| schema)
    }

    /// Like [`Self::scan`], also returning where each COPY block's rows are.
    pub(super) fn scan_spans(mut self) -> Result<(Schema, Vec<crate::subset::source::CopySpan>)> {
        self.scan_only = true;
        self.holding = false;
        self.drive()?;
        Ok((self.schema, self.spans))
    }

    /// Like [`Self::scan_spans`], jumping over the data of each COPY block to its end line when
    /// `ends` vouches for it (see [`super::prescan`]).
    pub(super) fn scan_jumping(
        mut self,
        ends: &'a EndLines,
        jump: Jump<R>,
    ) -> Result<(Schema, Vec<crate::subset::source::CopySpan>)> {
        self.jumps = Some((ends, jump));
        self.scan_spans()
    }

    /// Reads the whole input. Every failure is sent to the writer in stream order.
    pub(super) fn run(mut self) {
        if let Err(e) = self.drive() {
            let _ = self.items.send(Item::Fail(Box::new(e)));
        }
    }

    /// Reads one table's COPY data as an archive stores it: the input starts with the first row.
    pub(super) fn run_copy_data(mut self, plan: Arc<TablePlan>) {
        self.holding = false;
        let started = self.send(Item::Table(plan.clone())).map_err(|_| Error::BrokenPipe);
        self.copy = Some(CopyState { plan, crlf: None, scanned: 0, rows: 0 });
        if let Err(e) = started.and_then(|()| self.drive()) {
            let _ = self.items.send(Item::Fail(Box::new(e)));
        }
    }

    fn drive(&mut self) -> Result<()> {
        loop {
            let step = if self.copy.is_some() { self.copy_step() } else { self.sql_step() };
            match step {
                Ok(Flow::Continue) => {}
                Ok(Flow::NeedMore) => self.fill()?,
                Ok(Flow::Done) => return self.finish(),
                Err(e) => return Err(e),
            }
        }
    }

    fn fill(&mut self) -> Result<()> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.base += self.start as u64;
            self.start = 0;
        }
        // Enough to make the buffered input one read size: a COPY block is then cut into chunks
        // leaving only a partial row behind, which is all `send_chunk` copies. Once a row or
        // statement is longer than that, as much as is already buffered: it then needs a
        // logarithmic number of reads, not a linear one.
        let read_size = self.opts.read_size();
        let want = match read_size.checked_sub(self.end) {
            Some(short) if short > 0 => short.max(read_size / 16),
            _ => self.end,
        };
        if self.buf.len() < self.end + want {
            self.buf.resize(self.end + want, 0);
        }
        let mut filled = 0;
        while filled < want {
            let at = self.end + filled;
            match self.src.read(&mut self.buf[at..self.end + want]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let at = self.base + at as u64;
                    return Err(Error::io(format!("reading input at byte {at}"), e));
                }
            }
        }
        self.end += filled;
        self.eof = filled == 0;
        self.progress.advance(self.copy.as_ref().map(|c| &c.plan.table));
        Ok(())
    }

    /// A position `offset` bytes into the unconsumed input; the writer adds the lines it has seen.
    fn error_at(&self, offset: usize, table: bool, msg: impl Into<String>) -> (Error, u64) {
        let lines = count_lines(&self.buf[self.start..self.start + offset]);
        let pos = Position {
            line: lines,
            byte: self.base + (self.start + offset) as u64,
            table: if table { self.copy.as_ref().map(|c| c.plan.table.to_string()) } else { None },
        };
        (Error::input(pos, msg), lines)
    }

    fn fail_at(&mut self, offset: usize, table: bool, msg: impl Into<String>) -> Error {
        let (mut err, lines) = self.error_at(offset, table, msg);
        // The writer adds the lines already written before this point.
        if let Error::Input { pos, .. } = &mut err {
            pos.line = lines + count_lines(&self.pending);
            if self.scan_only {
                // No writer adds the lines before this point (it starts counting at line 1).
                pos.line += 1 + self.scan_lines;
            }
        }
        self.pending.clear();
        err
    }

    fn send(&self, item: Item) -> Result<(), Closed> {
        self.items.send(item).map_err(|_| Closed)
    }

    fn flush_text(&mut self, force: bool) -> Result<()> {
        if self.scan_only {
            self.pending.clear();
            return Ok(());
        }
        if self.holding || self.pending.is_empty() || (!force && self.pending.len() < TEXT_BATCH) {
            return Ok(());
        }
        let text = std::mem::take(&mut self.pending);
        self.send(Item::Text(text)).map_err(|_| Error::BrokenPipe)
    }

    fn consume_text(&mut self, len: usize) -> Result<()> {
        remember_ends(&mut self.head, &mut self.ending, &self.buf[self.start..self.start + len]);
        if self.scan_only {
            if let Some(v) = self.visitor.as_mut() {
                v.sql(&self.buf[self.start..self.start + len])?;
            }
            self.scan_lines += count_lines(&self.buf[self.start..self.start + len]);
            self.start += len;
            return Ok(());
        }
        self.pending.extend_from_slice(&self.buf[self.start..self.start + len]);
        self.start += len;
        self.flush_text(false)
    }

    /// The data starts on the line after the COPY statement, which may not be read yet.
    fn enter_copy(&mut self) -> Result<Flow> {
        let (_, end) = self.awaiting_data.as_ref().expect("a COPY statement was read");
        let end = *end;
        let after = &self.buf[self.start + end..self.end];
        let Some(nl) = memchr::memchr(b'\n', after) else {
            if self.eof {
                return Err(self.fail_at(end, false, "input ends right after a COPY statement: the dump is truncated"));
            }
            return Ok(Flow::NeedMore);
        };
        if !after[..nl].iter().all(u8::is_ascii_whitespace) {
            return Err(self.fail_at(end, false, "text after COPY ... FROM stdin; on the same line is not supported"));
        }
        let (copy, _) = self.awaiting_data.take().expect("a COPY statement was read");
        self.splitter.consume(end);
        self.consume_text(end + nl + 1)?;
        self.begin_copy(copy)?;
        Ok(Flow::Continue)
    }

    fn sql_step(&mut self) -> Result<Flow> {
        if self.awaiting_data.is_some() {
            return self.enter_copy();
        }
        let seg = &self.buf[self.start..self.end];
        match self.splitter.scan(seg, self.eof) {
            Scan::Statement { start, end } => {
                let stmt = classify(&seg[start..end], self.std_strings);
                self.statement(stmt, start, end)
            }
            Scan::NeedMore if self.eof => {
                if self.splitter.in_statement() {
                    let what = self.splitter.open_construct();
                    let at = self.end - self.start;
                    return Err(self.fail_at(at, false, format!("input ends inside a {what}: the dump is truncated")));
                }
                let rest = self.end - self.start;
                self.consume_text(rest)?;
                Ok(Flow::Done)
            }
            Scan::NeedMore => {
                if let Some(idle) = self.splitter.idle_prefix() {
                    self.splitter.consume(idle);
                    self.consume_text(idle)?;
                }
                Ok(Flow::NeedMore)
            }
        }
    }

    fn statement(&mut self, stmt: Statement, start: usize, end: usize) -> Result<Flow> {
        match stmt {
            Statement::CopyFromStdin(copy) => {
                self.awaiting_data = Some((copy, end));
                return self.enter_copy();
            }
            Statement::UnsupportedCopy(msg) => return Err(self.fail_at(start, false, msg)),
            Statement::CreateTable(def) => self.schema.add_table(def),
            Statement::AttachPartition { parent, child } => self.schema.add_attach(parent, child),
            Statement::Constraint(c) => {
                if !self.holding {
                    // The data this constraint covers is already written: check it as it stands.
                    self.binder.check_constraint(&self.schema, &c, true)?;
                }
                self.schema.add_constraint(c);
            }
            Statement::CreateCompositeType { name, fields } => self.schema.add_composite(name, fields),
            Statement::ClientEncoding(enc) => {
                if let Err(msg) = refuse_unsafe_encoding(&enc) {
                    return Err(self.fail_at(start, false, msg));
                }
            }
            Statement::StandardConformingStrings(on) => {
                self.std_strings = on;
                self.splitter.set_standard_conforming_strings(on);
            }
            Statement::Insert(table) => {
                if !self.insert_allowed(&table) {
                    return Err(self.fail_at(
                        start,
                        false,
                        format!("INSERT into {table}: scrub rewrites COPY data only, and this table has rules. Dump without --inserts/--column-inserts (COPY is pg_dump's default)"),
                    ));
                }
            }
            Statement::Other => {}
        }
        self.splitter.consume(end);
        self.consume_text(end)?;
        Ok(Flow::Continue)
    }

    /// INSERT statements can pass only for tables the rules leave entirely alone.
    fn insert_allowed(&self, table: &str) -> bool {
        let Ok(name) = crate::sql::QualifiedName::parse(table) else {
            return self.rules.tables.is_empty() && self.rules.unlisted != Unlisted::Error;
        };
        match self.schema.rules_for(self.rules, &name) {
            Some((_, t)) => t.data == DataAction::Keep && (t.keep_all || t.columns.values().all(|c| c.is_keep())),
            None => self.rules.unlisted != Unlisted::Error || self.rules.path.is_none(),
        }
    }

    /// Ends the hold on output: the schema seen so far is all there is before the data, so the
    /// rules are checked against it now, before anything is written.
    fn release(&mut self) -> Result<()> {
        if !self.holding {
            return Ok(());
        }
        if !self.schema.is_empty() {
            for warning in self.binder.check(&self.schema)? {
                self.progress.warn(format!("column not covered by the rules, copied unchanged: {warning}"));
            }
        }
        if let Some(header) = self.manifest_header {
            // Sent apart from the dump's own text: its lines are not input lines, and error
            // positions count input lines.
            let at = crate::manifest::header_position(&self.pending);
            let rest = self.pending.split_off(at);
            let before = std::mem::replace(&mut self.pending, rest);
            let crlf = crate::manifest::uses_crlf(&before);
            self.send(Item::Text(before)).map_err(|_| Error::BrokenPipe)?;
            let header = if crlf { crate::manifest::to_crlf(header) } else { header.to_vec() };
            self.send(Item::Inserted(header)).map_err(|_| Error::BrokenPipe)?;
        }
        self.holding = false;
        Ok(())
    }

    fn begin_copy(&mut self, copy: crate::sql::ddl::CopyStmt) -> Result<()> {
        if self.scan_only {
            self.visiting = match self.visitor.as_mut() {
                Some(v) => v.table(&copy)?,
                None => false,
            };
            self.spans.push(crate::subset::source::CopySpan {
                copy: copy.clone(),
                start: self.base + self.start as u64,
                end: self.base + self.start as u64,
                line: self.scan_lines + 1,
            });
            let plan = Arc::new(TablePlan::identity(copy.table, copy.columns));
            self.copy = Some(CopyState { plan, crlf: None, scanned: 0, rows: 0 });
            return self.jump_over_data();
        }
        self.release()?;
        let mut plan = self.binder.plan(&self.schema, &copy, self.blocks)?;
        plan.subset = self.selection.and_then(|s| s.filter(&copy.table));
        self.blocks += 1;
        self.seen.insert(copy.table.clone());
        let plan = Arc::new(plan);
        self.flush_text(true)?;
        self.send(Item::Table(plan.clone())).map_err(|_| Error::BrokenPipe)?;
        self.copy = Some(CopyState { plan, crlf: None, scanned: 0, rows: 0 });
        Ok(())
    }

    /// In a prescan with end lines found in advance: moves the input to the line that ends this
    /// block's data, unless it is already buffered or cannot be vouched for.
    fn jump_over_data(&mut self) -> Result<()> {
        let Some((ends, jump)) = self.jumps else { return Ok(()) };
        let data_start = self.base + self.start as u64;
        let Some(end) = ends.first_from(data_start).filter(|e| e.clean && e.at > self.base + self.end as u64) else {
            return Ok(());
        };
        jump(&mut self.src, end.at).map_err(|e| Error::io(format!("moving to byte {} of the input", end.at), e))?;
        (self.base, self.start, self.end, self.eof) = (end.at, 0, 0, false);
        self.scan_lines = end.lines;
        Ok(())
    }

    fn copy_step(&mut self) -> Result<Flow> {
        let region = &self.buf[self.start..self.end];
        let state = self.copy.as_mut().expect("in a COPY block");
        if state.crlf.is_none() {
            match memchr::memchr(b'\n', region) {
                Some(lf) => state.crlf = Some(lf > 0 && region[lf - 1] == b'\r' && !is_escaped(region, lf - 1)),
                None if !self.eof => return Ok(Flow::NeedMore),
                None => {}
            }
        }
        let chunk_size = self.opts.chunk_size;
        let found = find_end_marker(region, state.scanned, self.eof);
        // A marker more than a chunk away waits until the rows before it are sent, unless no
        // whole row ends before it (after an escaped newline): a cut must not take it as data.
        let marker_now = match found {
            EndMarker::Found { at, .. } => at <= chunk_size || row_cut(region, chunk_size).is_none_or(|cut| cut > at),
            EndMarker::NotYet { .. } => false,
        };
        match found {
            EndMarker::Found { at, len } if marker_now => {
                if at > 0 && is_escaped(region, at - 1) {
                    // The whole rows before it go to the workers first, as smaller chunks would
                    // have: a problem in them comes earlier in the input and is reported first.
                    if let Some(cut) = row_cut(region, at).filter(|&cut| cut <= at) {
                        self.send_chunk(cut)?;
                        return Ok(Flow::Continue);
                    }
                    return Err(self.fail_at(
                        at,
                        true,
                        "the end-of-copy marker \\. follows a backslash-escaped newline: the last row is cut off",
                    ));
                }
                if at > 0 {
                    self.send_chunk(at)?;
                }
                if self.scan_only
                    && let Some(span) = self.spans.last_mut()
                {
                    span.end = self.base + self.start as u64;
                }
                self.consume_text(len)?;
                self.copy = None;
                self.progress.advance(None);
                Ok(Flow::Continue)
            }
            found => {
                if let EndMarker::NotYet { resume } = found {
                    state.scanned = resume;
                }
                // At the end of input, hand over the complete rows first: a malformed row in them
                // is a more precise report than the missing end marker.
                let long_enough = region.len() >= chunk_size || matches!(found, EndMarker::Found { .. }) || self.eof;
                if let Some(cut) = row_cut(region, chunk_size).filter(|_| long_enough) {
                    self.send_chunk(cut)?;
                    return Ok(Flow::Continue);
                }
                if self.eof {
                    let at = region.len();
                    return Err(self.fail_at(
                        at,
                        true,
                        "input ends inside COPY data (no \\. end marker): the dump is truncated",
                    ));
                }
                // The row being read starts after the last complete one.
                let row_start = row_cut(region, region.len()).unwrap_or(0);
                if region.len() - row_start > self.opts.max_row_bytes {
                    let msg = format!("a row is longer than --max-row-bytes ({} bytes)", self.opts.max_row_bytes);
                    return Err(self.fail_at(row_start, true, msg));
                }
                Ok(Flow::NeedMore)
            }
        }
    }

    /// Hands `buf[start..start + len]` to a worker without copying it.
    fn send_chunk(&mut self, len: usize) -> Result<()> {
        if self.scan_only {
            if self.visiting
                && let Some(v) = self.visitor.as_mut()
            {
                self.visiting = v.rows(&self.buf[self.start..self.start + len])?;
            }
            self.scan_lines += count_lines(&self.buf[self.start..self.start + len]);
            self.start += len;
            self.copy.as_mut().expect("in a COPY block").scanned = 0;
            return Ok(());
        }
        self.flush_text(true)?;
        let cut = self.start + len;
        let leftover = self.end - cut;
        let mut next = self.pool.take_initialised(leftover + self.opts.read_size());
        next[..leftover].copy_from_slice(&self.buf[cut..self.end]);
        let mut rows = std::mem::replace(&mut self.buf, next);
        rows.truncate(cut);
        self.end = leftover;
        let state = self.copy.as_mut().expect("in a COPY block");
        let offset = self.base + self.start as u64;
        let first_row = state.rows;
        if state.plan.subset.is_some() {
            state.rows += count_rows_ends(&rows[self.start..]);
        }
        let chunk = Chunk { buf: rows, start: self.start, crlf: state.crlf.unwrap_or(false), first_row };
        state.scanned = 0;
        self.base += cut as u64;
        self.start = 0;
        let (tx, rx) = crossbeam_channel::bounded(1);
        let plan = state.plan.clone();
        self.send(Item::Rows(rx, plan.clone(), offset)).map_err(|_| Error::BrokenPipe)?;
        self.jobs.send((chunk, plan, tx)).map_err(|_| Error::BrokenPipe)?;
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        if let Some(msg) = missing_trailer(&self.head, &self.ending) {
            let at = self.end - self.start;
            return Err(self.fail_at(at, false, msg));
        }
        if self.scan_only {
            return Ok(());
        }
        self.release()?;
        if self.schema.is_empty() {
            bind::check_tables_seen(self.rules, &self.seen)?;
        }
        self.flush_text(true)
    }
}

/// How much of the start of the text outside COPY data is kept for [`missing_trailer`].
const HEAD: usize = 64;

/// pg_dump's and pg_dumpall's opening comments, and the closing comment each promises.
const CLOSINGS: [(&[u8], &[u8]); 2] = [
    (b"--\n-- PostgreSQL database dump\n", b"-- PostgreSQL database dump complete"),
    (b"--\n-- PostgreSQL database cluster dump\n", b"-- PostgreSQL database cluster dump complete"),
];

/// How the text outside COPY data ends, line by line: whether a closing comment came after the
/// last line of SQL.
#[derive(Debug, Default)]
struct Ending {
    /// The start of the current line (CRs dropped) and whether it is longer than that.
    line: Vec<u8>,
    long: bool,
    /// Per entry of [`CLOSINGS`]: its closing comment came, and only comments, psql
    /// meta-commands and blank lines after it.
    closed: [bool; 2],
}

impl Ending {
    fn end_line(&mut self) {
        let line = self.line.trim_ascii();
        if !self.long {
            for (closed, (_, closing)) in self.closed.iter_mut().zip(CLOSINGS) {
                if line == closing {
                    *closed = true;
                }
            }
        }
        if !(line.is_empty() || line.starts_with(b"--") || line.starts_with(b"\\")) {
            self.closed = [false; 2];
        }
        self.line.clear();
        self.long = false;
    }

    fn add(&mut self, mut text: &[u8]) {
        while !text.is_empty() {
            let (part, done) = match memchr::memchr(b'\n', text) {
                Some(k) => (&text[..k], Some(k + 1)),
                None => (text, None),
            };
            for &b in part.iter().filter(|&&b| b != b'\r') {
                if self.line.len() < 2 * HEAD {
                    self.line.push(b);
                } else {
                    self.long = true;
                }
            }
            match done {
                Some(k) => {
                    self.end_line();
                    text = &text[k..];
                }
                None => break,
            }
        }
    }
}

/// Keeps the first [`HEAD`] bytes of the text passed through, and follows how it ends.
fn remember_ends(head: &mut Vec<u8>, ending: &mut Ending, text: &[u8]) {
    if head.len() < HEAD {
        head.extend(text.iter().copied().filter(|&b| b != b'\r').take(HEAD - head.len()));
    }
    ending.add(text);
}

/// pg_dump opens a plain script with `-- PostgreSQL database dump` and closes it with `--
/// PostgreSQL database dump complete` (pg_dumpall: `... cluster dump` and `... cluster dump
/// complete`), followed at most by comments (scrub's manifest), psql meta-commands
/// (`\unrestrict`) and blank lines. A script that opens so but does not close so was cut
/// short, possibly between two statements, where nothing else shows it: a message saying so.
fn missing_trailer(head: &[u8], ending: &Ending) -> Option<String> {
    let kind = CLOSINGS.iter().position(|(opening, _)| head.starts_with(opening))?;
    let mut ending = Ending { line: ending.line.clone(), long: ending.long, closed: ending.closed };
    ending.end_line();
    (!ending.closed[kind]).then(|| {
        format!(
            "the script ends without pg_dump's closing comment `{}`: the dump is truncated (pg_dump stopped, or the copy or transfer was cut short)",
            String::from_utf8_lossy(CLOSINGS[kind].1)
        )
    })
}

#[cfg(test)]
mod trailer_tests {
    use super::{Ending, missing_trailer, remember_ends};

    /// Feeds `text` in pieces of `step` bytes.
    fn check(text: &[u8], step: usize) -> Option<String> {
        let (mut head, mut ending) = (Vec::new(), Ending::default());
        for piece in text.chunks(step) {
            remember_ends(&mut head, &mut ending, piece);
        }
        missing_trailer(&head, &ending)
    }

    fn closed(text: &[u8]) -> bool {
        let all: Vec<bool> = [1, 2, 7, 1000].iter().map(|&step| check(text, step).is_none()).collect();
        assert!(all.iter().all(|&c| c == all[0]), "depends on the pieces: {all:?}");
        all[0]
    }

    const HEAD: &str = "--\n-- PostgreSQL database dump\n--\n\nSET x = 1;\n";

    #[test]
    fn a_pg_dump_script_must_close() {
        let closing = "--\n-- PostgreSQL database dump complete\n--\n";
        assert!(closed(format!("{HEAD}{closing}\n\\unrestrict abc\n\n").as_bytes()));
        assert!(closed(format!("{HEAD}{closing}").as_bytes()));
        assert!(closed(format!("{HEAD}{closing}-- scrub-manifest: {{}}\n--").as_bytes()));
        assert!(closed(format!("{HEAD}{closing}\n").replace('\n', "\r\n").as_bytes()));
        assert!(!closed(HEAD.as_bytes()));
        assert!(!closed(format!("{HEAD}{closing}SET y = 2;\n").as_bytes()));
        assert!(!closed(format!("{HEAD}-- PostgreSQL database dump complete, or not\n").as_bytes()));
        assert!(check(HEAD.as_bytes(), 5).unwrap().contains("truncated"));
        // Not a pg_dump script: nothing to expect.
        assert!(closed(b"SET x = 1;\n"));
        let cluster = "--\n-- PostgreSQL database cluster dump\n--\n\n";
        assert!(!closed(format!("{cluster}{closing}").as_bytes()));
        assert!(closed(format!("{cluster}{closing}--\n-- PostgreSQL database cluster dump complete\n--\n").as_bytes()));
    }
}
