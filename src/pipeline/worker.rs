//! What a worker thread does with one chunk of COPY rows: validate every row, and rewrite the
//! fields that have a transform.
//!
//! Rows of tables without transforms are checked (field count, escapes, line endings) and handed
//! back in the very buffer they arrived in, so pass-through costs one scan. In rewritten rows the
//! bytes between rewritten fields are copied as they are; only ruled fields are decoded. Rows of
//! subset tables are written or skipped by their index in the table's data (a chunk carries the
//! index of its first row), and a kept row's references whose parent row is not kept are written
//! as NULL where the rules say `on_missing_parent = "null"`.

use std::ops::Range;
use std::sync::Arc;

use super::memo::Memos;
use crate::copy::block::is_escaped;
use crate::copy::row::RowScanner;
use crate::copy::{NULL_FIELD, decode_field, encode_field, split_row};
use crate::rules::bind::{BoundPart, FieldPlan, TablePlan};
use crate::transform::{Ctx, Output, Transform};

/// Rows cut from one COPY block at row boundaries.
pub struct Chunk {
    /// The rows are `buf[start..]`, whole rows each ending in a line ending.
    pub buf: Vec<u8>,
    pub start: usize,
    /// The block's rows end in CR LF instead of LF.
    pub crlf: bool,
    /// The index of the chunk's first row in its table's data (counted only for subset tables).
    pub first_row: u64,
}

/// A processed chunk.
pub struct Processed {
    /// The output is `buf[start..]`.
    pub buf: Vec<u8>,
    pub start: usize,
    pub rows_in: u64,
    pub rows_out: u64,
    /// Newlines consumed from the input (rows plus escaped newlines inside values).
    pub lines: u64,
}

/// A malformed row, positioned inside its chunk.
#[derive(Debug)]
pub struct ChunkError {
    /// Byte offset from the chunk's first row.
    pub offset: usize,
    /// Lines before the bad row, from the chunk's first row.
    pub line: u64,
    pub msg: String,
}

/// Chunk buffers handed back for reuse once written, so that steady state neither allocates nor
/// faults in fresh pages for every chunk.
#[derive(Clone)]
pub struct Pool {
    tx: crossbeam_channel::Sender<Vec<u8>>,
    rx: crossbeam_channel::Receiver<Vec<u8>>,
}

impl Pool {
    pub fn new(capacity: usize) -> Pool {
        let (tx, rx) = crossbeam_channel::bounded(capacity);
        Pool { tx, rx }
    }

    /// An empty buffer with at least `capacity` bytes of room.
    pub fn take(&self, capacity: usize) -> Vec<u8> {
        let mut buf = self.rx.try_recv().unwrap_or_default();
        buf.clear();
        buf.reserve(capacity);
        buf
    }

    /// A buffer of at least `len` bytes with arbitrary contents, to read into: a reused buffer
    /// keeps its length, so only growth beyond it is zero-filled.
    pub fn take_initialised(&self, len: usize) -> Vec<u8> {
        let mut buf = self.rx.try_recv().unwrap_or_default();
        if buf.len() < len {
            buf.resize(len, 0);
        }
        buf
    }

    /// Returns a buffer; dropped if the pool is full.
    pub fn give(&self, buf: Vec<u8>) {
        if buf.capacity() > 0 {
            let _ = self.tx.try_send(buf);
        }
    }
}

/// Buffers one worker reuses across chunks, so steady state does not allocate.
#[derive(Default)]
pub struct Scratch {
    spans: Vec<Range<usize>>,
    decoded: Vec<u8>,
    rewritten: Vec<u8>,
    /// Subset: the fields to write as NULL, and the row with them nulled.
    nulled: Vec<usize>,
    nulled_row: Vec<u8>,
    /// Rows with context: decoded originals of the context fields, and each field's result.
    originals: Vec<u8>,
    original_at: Vec<Option<Range<usize>>>,
    results: Vec<FieldResult>,
    /// Recent results of the rewritten columns whose rules read only their own field.
    memos: Memos,
    /// A transform's output for [`rewrite_field`], which must not disturb `rewritten`.
    field_out: Vec<u8>,
}

/// What became of one field in a row with context.
#[derive(Clone, Debug)]
enum FieldResult {
    Unchanged,
    Null,
    /// The new value, decoded, at this range of `Scratch::rewritten`.
    Value(Range<usize>),
    /// A rule that reads only its own field, in a table without templates: rewritten as in rows
    /// without context, when the row is written.
    Direct,
}

/// Validates and rewrites one chunk.
pub fn process(chunk: Chunk, plan: &TablePlan, scratch: &mut Scratch, pool: &Pool) -> Result<Processed, ChunkError> {
    let data = &chunk.buf[chunk.start..];
    let identity = plan.is_identity();
    let subset = plan.subset.as_deref();
    let transforms = plan.fields.iter().any(Option::is_some);
    // Rows no rule touches are only checked, in one pass; anything unusual takes the row-by-row
    // path below, which names the problem.
    if (identity || plan.drop)
        && !chunk.crlf
        && let Some((rows, lines)) = crate::copy::row::count_rows(data, plan.columns.len())
    {
        let rows_out = if plan.drop { 0 } else { rows };
        if plan.drop {
            pool.give(chunk.buf);
            return Ok(Processed { buf: Vec::new(), start: 0, rows_in: rows, rows_out, lines });
        }
        return Ok(Processed { buf: chunk.buf, start: chunk.start, rows_in: rows, rows_out, lines });
    }
    let mut out = if identity || plan.drop { Vec::new() } else { pool.take(data.len() + data.len() / 8) };
    let mut rows_out = 0u64;
    let ncols = plan.columns.len();
    let mut pos = 0;
    let mut lines = 0u64;
    let mut rows = 0u64;
    // Rows of the common kind are split in one pass over the chunk; at anything else the scanner
    // stops and the rest of the chunk goes row by row, which names the problem.
    let mut scanner = (!chunk.crlf && ncols > 0).then(|| RowScanner::new(data));
    while pos < data.len() {
        let row_start = pos;
        let row_line = lines;
        let fail = |offset: usize, msg: String| ChunkError { offset, line: row_line, msg };
        let scanned = scanner.as_mut().and_then(|s| s.next_row(row_start, &mut scratch.spans));
        let row = if let Some((lf, row_lines)) = scanned {
            lines += row_lines;
            pos = lf + 1;
            &data[row_start..lf]
        } else {
            scanner = None;
            let (row_end, lf) =
                row_by_row(data, row_start, chunk.crlf, &mut lines).map_err(|(at, msg)| fail(at, msg))?;
            pos = lf + 1;
            let row = &data[row_start..row_end];
            if ncols == 0 {
                scratch.spans.clear();
                if !row.is_empty() {
                    return Err(fail(row_start, "data in a row of a table with no columns".into()));
                }
            } else {
                split_row(row, &mut scratch.spans).map_err(|e| fail(row_start + e.offset, e.msg))?;
            }
            row
        };
        let count = scratch.spans.len();
        rows += 1;
        if count != ncols {
            return Err(fail(row_start, format!("row has {count} field(s), the COPY header names {ncols} column(s)")));
        }
        if identity || plan.drop {
            continue;
        }
        let line_end = &data[row_start + row.len()..pos];
        if let Some(filter) = subset {
            if !filter.keeps(chunk.first_row + rows - 1) {
                continue;
            }
            rows_out += 1;
            let spans = &scratch.spans;
            filter.columns_to_null(|c| &row[spans[c].clone()], &mut scratch.nulled).map_err(|m| fail(row_start, m))?;
            if !scratch.nulled.is_empty() {
                null_fields(row, scratch);
                let nulled = std::mem::take(&mut scratch.nulled_row);
                split_row(&nulled, &mut scratch.spans).map_err(|e| fail(row_start + e.offset, e.msg))?;
                let result = write_row(&nulled, line_end, plan, transforms, scratch, &mut out);
                scratch.nulled_row = nulled;
                result.map_err(|(at, msg)| fail(row_start + at, msg))?;
                continue;
            }
            if !transforms {
                out.extend_from_slice(&data[row_start..pos]);
                continue;
            }
        } else {
            rows_out += 1;
        }
        if plan.context.is_empty() {
            rewrite_row(row, line_end, plan, scratch, &mut out).map_err(|(at, msg)| fail(row_start + at, msg))?;
        } else {
            rewrite_row_with_context(row, line_end, plan, scratch, &mut out)
                .map_err(|(at, msg)| fail(row_start + at, msg))?;
        }
    }
    let rows_out = if identity {
        rows
    } else if plan.drop {
        0
    } else {
        rows_out
    };
    if identity {
        return Ok(Processed { buf: chunk.buf, start: chunk.start, rows_in: rows, rows_out, lines });
    }
    pool.give(chunk.buf);
    Ok(Processed { buf: out, start: 0, rows_in: rows, rows_out, lines })
}

type FieldError = (usize, String);

/// Finds the end of the row at `start` the slow way, counting the line feeds it passes: the end
/// of its text (before CR LF in a CR LF block) and its LF.
fn row_by_row(data: &[u8], start: usize, crlf: bool, lines: &mut u64) -> Result<(usize, usize), FieldError> {
    let mut search = start;
    let lf = loop {
        let Some(k) = memchr::memchr(b'\n', &data[search..]) else {
            return Err((start, "row without a line ending".into()));
        };
        *lines += 1;
        if !is_escaped(data, search + k) {
            break search + k;
        }
        search += k + 1;
    };
    if !crlf {
        return Ok((lf, lf));
    }
    if lf == start || data[lf - 1] != b'\r' || is_escaped(data, lf - 1) {
        return Err((lf, "line ends in LF where the block's first row ended in CR LF".into()));
    }
    Ok((lf - 1, lf))
}

/// Builds `scratch.nulled_row`: `row` with the fields in `scratch.nulled` written as `\N`.
fn null_fields(row: &[u8], scratch: &mut Scratch) {
    let out = &mut scratch.nulled_row;
    out.clear();
    for (i, span) in scratch.spans.iter().enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        if scratch.nulled.contains(&i) {
            out.extend_from_slice(NULL_FIELD);
        } else {
            out.extend_from_slice(&row[span.clone()]);
        }
    }
}

/// Writes one row (split into `scratch.spans`) with the plan's transforms, if any.
fn write_row(
    row: &[u8],
    line_end: &[u8],
    plan: &TablePlan,
    transforms: bool,
    scratch: &mut Scratch,
    out: &mut Vec<u8>,
) -> Result<(), FieldError> {
    if !transforms {
        out.extend_from_slice(row);
        out.extend_from_slice(line_end);
        return Ok(());
    }
    if plan.context.is_empty() {
        rewrite_row(row, line_end, plan, scratch, out)
    } else {
        rewrite_row_with_context(row, line_end, plan, scratch, out)
    }
}

fn nul_error(at: usize) -> FieldError {
    (at, "escape sequence produces a NUL byte, which PostgreSQL cannot store".into())
}

/// Rewrites a row whose rules read nothing but their own field: ruled fields are decoded,
/// transformed and encoded in place; the bytes between them are copied as they are.
fn rewrite_row(
    row: &[u8],
    line_end: &[u8],
    plan: &TablePlan,
    scratch: &mut Scratch,
    out: &mut Vec<u8>,
) -> Result<(), FieldError> {
    let Scratch { spans, decoded, memos, field_out, .. } = scratch;
    let mut copied = 0;
    for (index, (span, field)) in spans.iter().zip(&plan.fields).enumerate() {
        let Some(FieldPlan { transform: Some(transform), .. }) = field else { continue };
        out.extend_from_slice(&row[copied..span.start]);
        copied = span.end;
        let raw = &row[span.clone()];
        if raw == NULL_FIELD {
            out.extend_from_slice(NULL_FIELD);
            continue;
        }
        let field = FieldInput { raw, at: span.start, index, transform };
        rewrite_field(field, memos, decoded, field_out, out)?;
    }
    out.extend_from_slice(&row[copied..]);
    out.extend_from_slice(line_end);
    Ok(())
}

/// A non-NULL field whose rule reads only the field itself.
struct FieldInput<'a> {
    raw: &'a [u8],
    /// Where the field starts in its row, for errors.
    at: usize,
    index: usize,
    transform: &'a Arc<Transform>,
}

/// Writes the raw output of a field's transform to `out`: recalled from the column's memo when
/// the same raw field was seen recently, else decoded, transformed and encoded.
fn rewrite_field(
    field: FieldInput<'_>,
    memos: &mut Memos,
    decoded: &mut Vec<u8>,
    transformed: &mut Vec<u8>,
    out: &mut Vec<u8>,
) -> Result<(), FieldError> {
    let FieldInput { raw, at, index, transform } = field;
    let memo = memos.for_field(index, transform);
    if let Some(output) = memo.get(raw) {
        out.extend_from_slice(output);
        return Ok(());
    }
    let output_start = out.len();
    decoded.clear();
    decode_field(raw, decoded).map_err(|k| nul_error(at + k))?;
    transformed.clear();
    match transform.apply(decoded, &Ctx::default(), transformed) {
        Output::Value => encode_field(transformed, out),
        Output::Null => out.extend_from_slice(NULL_FIELD),
    }
    memo.put(raw, &out[output_start..]);
    Ok(())
}

/// Rewrites a row where rules read other fields (templates, `by`): the context fields are decoded
/// once, value transforms run first, then templates, which may read their results.
fn rewrite_row_with_context(
    row: &[u8],
    line_end: &[u8],
    plan: &TablePlan,
    scratch: &mut Scratch,
    out: &mut Vec<u8>,
) -> Result<(), FieldError> {
    let Scratch { spans, decoded, rewritten, originals, original_at, results, memos, field_out, .. } = scratch;
    originals.clear();
    original_at.clear();
    original_at.resize(spans.len(), None);
    for &i in &plan.context {
        let raw = &row[spans[i].clone()];
        if raw != NULL_FIELD {
            let start = originals.len();
            decode_field(raw, originals).map_err(|at| nul_error(spans[i].start + at))?;
            original_at[i] = Some(start..originals.len());
        }
    }
    rewritten.clear();
    results.clear();
    results.resize(spans.len(), FieldResult::Unchanged);
    for templates in [false, true] {
        for (i, field) in plan.fields.iter().enumerate() {
            let Some(field) = field else { continue };
            if field.template.is_some() != templates {
                continue;
            }
            let raw = &row[spans[i].clone()];
            if raw == NULL_FIELD {
                continue;
            }
            // Without templates nothing reads another field's result, so rules that read only
            // their own field run as in rows without context, with the memo.
            if !plan.templates && field.transform.is_some() && field.seed.is_none() && field.when.is_none() {
                results[i] = FieldResult::Direct;
                continue;
            }
            // Fail closed: the rule is skipped only where its condition is false, not unknown.
            if let Some(when) = &field.when
                && when.eval(|c| original_at[c].clone().map(|r| &originals[r])) == Some(false)
            {
                continue;
            }
            let start = rewritten.len();
            let output = if let Some(parts) = &field.template {
                for part in parts {
                    match part {
                        BoundPart::Literal(text) => rewritten.extend_from_slice(text),
                        BoundPart::Field { index, original } => match (&results[*index], original) {
                            (FieldResult::Value(r), false) => rewritten.extend_from_within(r.clone()),
                            (FieldResult::Null, false) => {}
                            _ => {
                                if let Some(r) = &original_at[*index] {
                                    rewritten.extend_from_slice(&originals[r.clone()]);
                                }
                            }
                        },
                    }
                }
                Output::Value
            } else if let Some(transform) = &field.transform {
                let value: &[u8] = match &original_at[i] {
                    Some(r) => &originals[r.clone()],
                    None => {
                        decoded.clear();
                        decode_field(raw, decoded).map_err(|at| nul_error(spans[i].start + at))?;
                        decoded
                    }
                };
                let seed = field.seed.and_then(|s| original_at[s].clone()).map(|r| &originals[r]);
                transform.apply(value, &Ctx { seed }, rewritten)
            } else {
                continue;
            };
            results[i] = match output {
                Output::Value => FieldResult::Value(start..rewritten.len()),
                Output::Null => FieldResult::Null,
            };
        }
    }
    let mut copied = 0;
    for (i, result) in results.iter().enumerate() {
        let span = &spans[i];
        match result {
            FieldResult::Unchanged => continue,
            FieldResult::Null => {
                out.extend_from_slice(&row[copied..span.start]);
                out.extend_from_slice(NULL_FIELD);
            }
            FieldResult::Value(r) => {
                out.extend_from_slice(&row[copied..span.start]);
                encode_field(&rewritten[r.clone()], out);
            }
            FieldResult::Direct => {
                out.extend_from_slice(&row[copied..span.start]);
                let transform = plan.fields[i].as_ref().and_then(|f| f.transform.as_ref()).expect("a direct rule");
                let field = FieldInput { raw: &row[span.clone()], at: span.start, index: i, transform };
                rewrite_field(field, memos, decoded, field_out, out)?;
            }
        }
        copied = span.end;
    }
    out.extend_from_slice(&row[copied..]);
    out.extend_from_slice(line_end);
    Ok(())
}
