//! The COPY text codec (`scrub::copy`):
//!
//! * decode/encode round trip: any value without a NUL byte, encoded as COPY TO would, decodes
//!   back to itself, and the encoding holds no raw TAB, LF or CR; any raw field that decodes,
//!   decodes to a value whose encoding decodes to the same value (idempotence), and a decode
//!   error points at a backslash;
//! * `split_row` against a naive byte-at-a-time oracle: same fields, same error offset;
//! * `row_cut` and `find_end_marker` against naive oracles, the latter fed in pieces as the
//!   plain reader feeds it;
//! * the bit-mask row paths against the same oracle applied row by row: `RowScanner` (rows and
//!   fields in one pass, stopping only at a row the oracle refuses or one without an LF) and
//!   `count_rows` (`Some` exactly when every row is well formed with the expected field count).
//!
//! Input: byte 0 is a knob (cut limit, feeding step); the rest is the bytes under test.

use std::ops::Range;

use scrub::copy::block::{EndMarker, find_end_marker, is_escaped, row_cut};
use scrub::copy::row::{RowScanner, count_rows};
use scrub::copy::{decode_field, encode_field, split_row};

/// PostgreSQL's rule, one byte at a time: a backslash takes the next byte with it, a TAB ends a
/// field, a raw CR is an error, a backslash at the very end or a `\.` ending the row is an error.
fn naive_split(row: &[u8]) -> Result<Vec<Range<usize>>, usize> {
    let mut fields = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < row.len() {
        match row[i] {
            b'\\' => {
                if i + 1 == row.len() || (row[i + 1] == b'.' && i + 2 == row.len()) {
                    return Err(i);
                }
                i += 2;
            }
            b'\t' => {
                fields.push(start..i);
                start = i + 1;
                i += 1;
            }
            b'\r' => return Err(i),
            _ => i += 1,
        }
    }
    fields.push(start..row.len());
    Ok(fields)
}

/// The end of the first row that ends at or after... the last unescaped LF within `limit`, else
/// the first one after it.
fn naive_row_cut(region: &[u8], limit: usize) -> Option<usize> {
    let limit = limit.min(region.len());
    let ends: Vec<usize> = (0..region.len()).filter(|&i| region[i] == b'\n' && !is_escaped(region, i)).collect();
    ends.iter().rev().find(|&&i| i < limit).or_else(|| ends.iter().find(|&&i| i >= limit)).map(|&i| i + 1)
}

/// The first line (at the start or after an LF) that is exactly `\.` plus LF or CR LF.
fn naive_end_marker(region: &[u8]) -> Option<(usize, usize)> {
    (0..region.len()).filter(|&l| l == 0 || region[l - 1] == b'\n').find_map(|l| {
        let line = &region[l..];
        if line.starts_with(b"\\.\n") {
            Some((l, 3))
        } else if line.starts_with(b"\\.\r\n") {
            Some((l, 4))
        } else {
            None
        }
    })
}

/// Feeds `region` to `find_end_marker` in growing prefixes, as the plain reader does.
fn incremental_end_marker(region: &[u8], step: usize) -> Option<(usize, usize)> {
    let mut resume = 0;
    let mut avail = 0;
    loop {
        avail = (avail + step).min(region.len());
        let eof = avail == region.len();
        match find_end_marker(&region[..avail], resume, eof) {
            EndMarker::Found { at, len } => return Some((at, len)),
            EndMarker::NotYet { .. } if eof => return None,
            EndMarker::NotYet { resume: r } => {
                assert!(r <= avail.max(1), "resume {r} past the {avail} bytes seen");
                resume = r;
            }
        }
    }
}

/// Runs the checks on one input; panics on a finding.
pub fn check(data: &[u8]) {
    let Some((&knob, bytes)) = data.split_first() else { return };

    // Encode, then decode: the identity on values without NUL.
    let value: Vec<u8> = bytes.iter().copied().filter(|&b| b != 0).collect();
    let mut raw = Vec::new();
    encode_field(&value, &mut raw);
    assert!(!raw.iter().any(|&b| b == b'\t' || b == b'\n' || b == b'\r'), "encoding left a raw TAB, LF or CR");
    let mut back = Vec::new();
    decode_field(&raw, &mut back).expect("an encoded value decodes");
    assert_eq!(back, value, "decode(encode(v)) != v");
    let mut spans = Vec::new();
    split_row(&raw, &mut spans).expect("an encoded value is one valid field");
    assert_eq!(spans, vec![0..raw.len()]);

    // Decode arbitrary raw text: errors point at a backslash, successes are stable.
    let mut decoded = Vec::new();
    match decode_field(bytes, &mut decoded) {
        Err(at) => assert_eq!(bytes.get(at), Some(&b'\\'), "decode error at {at} is not at a backslash"),
        Ok(()) => {
            // A raw NUL byte is copied as it is (PostgreSQL rejects it at restore); an escape
            // never produces one.
            assert!(bytes.contains(&0) || !decoded.contains(&0), "an escape decoded to a NUL byte");
            let mut again = Vec::new();
            encode_field(&decoded, &mut again);
            let mut twice = Vec::new();
            decode_field(&again, &mut twice).expect("re-encoded value decodes");
            assert_eq!(twice, decoded);
        }
    }

    // Row splitting against the oracle (a row never contains its LF).
    let row: Vec<u8> = match memchr_lf(bytes) {
        Some(lf) => bytes[..lf].to_vec(),
        None => bytes.to_vec(),
    };
    match (split_row(&row, &mut spans), naive_split(&row)) {
        (Ok(()), Ok(fields)) => assert_eq!(spans, fields, "fields differ from the oracle"),
        (Err(e), Err(at)) => assert_eq!(e.offset, at, "error offset differs from the oracle: {}", e.msg),
        (got, want) => panic!("split_row gave {got:?}, the oracle {want:?}"),
    }

    check_rows(bytes, usize::from(knob % 5));

    // Block edges.
    let limit = usize::from(knob);
    assert_eq!(row_cut(bytes, limit), naive_row_cut(bytes, limit), "row_cut(limit {limit})");
    let step = 1 + usize::from(knob % 13);
    let found = incremental_end_marker(bytes, step);
    assert_eq!(found, naive_end_marker(bytes), "end marker fed {step} byte(s) at a time");
    assert_eq!(incremental_end_marker(bytes, usize::MAX / 2), found, "end marker fed at once");
}

/// One row as the oracle sees it: its LF, the LFs up to it, and its fields (or the error offset).
type NaiveRow = (usize, u64, Result<Vec<Range<usize>>, usize>);

/// The rows of `data` one byte at a time, and whether text follows the last one.
fn naive_rows(data: &[u8]) -> (Vec<NaiveRow>, bool) {
    let (mut rows, mut start, mut lines, mut i) = (Vec::new(), 0, 0, 0);
    while i < data.len() {
        match data[i] {
            b'\\' if i + 1 < data.len() => {
                lines += u64::from(data[i + 1] == b'\n');
                i += 2;
            }
            b'\n' => {
                lines += 1;
                rows.push((i, lines, naive_split(&data[start..i])));
                (start, lines, i) = (i + 1, 0, i + 1);
            }
            _ => i += 1,
        }
    }
    (rows, start < data.len())
}

fn check_rows(data: &[u8], ncols: usize) {
    let (rows, rest) = naive_rows(data);
    let mut scanner = RowScanner::new(data);
    let mut spans = Vec::new();
    let mut start = 0;
    let mut scanned_all = true;
    for (lf, lines, fields) in &rows {
        match (scanner.next_row(start, &mut spans), fields) {
            (Some(got), Ok(fields)) => {
                assert_eq!(got, (*lf, *lines), "row at {start}: LF and lines differ from the oracle");
                assert_eq!(&spans, fields, "row at {start}: fields differ from the oracle");
            }
            (None, Err(_)) => {
                scanned_all = false;
                break;
            }
            (got, want) => panic!("row at {start}: the scanner gave {got:?}, the oracle {want:?}"),
        }
        start = lf + 1;
    }
    if scanned_all && start < data.len() {
        assert_eq!(scanner.next_row(start, &mut spans), None, "a row without an LF");
    }
    let well_formed = ncols > 0
        && !rest
        && !data.contains(&b'\r')
        && !rows.is_empty()
        && rows.iter().all(|(_, _, f)| f.as_ref().is_ok_and(|f| f.len() == ncols));
    let want = well_formed.then(|| (rows.len() as u64, rows.iter().map(|r| r.1).sum::<u64>()));
    assert_eq!(count_rows(data, ncols), want, "count_rows with {ncols} column(s)");
}

fn memchr_lf(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}
