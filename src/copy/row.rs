//! Finding the rows of COPY data and splitting them into field spans.
//!
//! A backslash always takes the next byte with it, so an escaped TAB does not split a field, and
//! a raw CR (never written by COPY TO, rejected by COPY FROM) is an error. The NULL test is done by
//! the caller on the raw span, before any unescaping: only a field that is exactly `\N` is NULL.
//!
//! Two fast paths look at 64 bytes at a time through bit masks ([`RowScanner`] for rows that are
//! rewritten, [`count_rows`] for rows that are only checked); they take only well-formed rows and
//! leave anything else to [`split_row`], one row at a time, which names the problem.

use std::ops::Range;

use wide::u8x16;

/// The raw text of a NULL field.
pub const NULL_FIELD: &[u8] = b"\\N";

/// What is wrong with a row, with the byte offset inside the row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub offset: usize,
    pub msg: String,
}

/// Splits `row` into fields, appending their byte ranges to `spans` (cleared first).
///
/// A row of a zero-column table is empty and has no fields. The row must not include its line
/// ending.
pub fn split_row(row: &[u8], spans: &mut Vec<Range<usize>>) -> Result<(), RowError> {
    spans.clear();
    let mut start = 0;
    let mut i = 0;
    while let Some(k) = memchr::memchr3(b'\t', b'\\', b'\r', &row[i..]) {
        let j = i + k;
        match row[j] {
            b'\t' => {
                spans.push(start..j);
                start = j + 1;
                i = j + 1;
            }
            b'\\' => {
                if j + 1 == row.len() {
                    return Err(RowError { offset: j, msg: "backslash at the end of a row".into() });
                }
                if row[j + 1] == b'.' && j + 2 == row.len() {
                    return Err(RowError { offset: j, msg: "end-of-copy marker \\. is not alone on its line".into() });
                }
                i = j + 2;
            }
            _ => {
                return Err(RowError {
                    offset: j,
                    msg: "literal carriage return in data (line endings must not change inside a COPY block)".into(),
                });
            }
        }
    }
    spans.push(start..row.len());
    Ok(())
}

/// Finds the rows of a chunk of COPY data and their fields in one pass, 64 bytes at a time: a
/// vector comparison marks every TAB, backslash, LF and CR of a block in a bit mask, and only the
/// marked bytes are looked at. Splitting a row with [`split_row`] after finding its end costs a
/// search per field plus one for the row end; this is about twice as fast on real rows, short or
/// long.
///
/// It takes only the common case: rows that end in a bare LF, with no raw CR and no `\.` at a
/// row's end. At anything else it stops, and the caller goes on row by row with [`split_row`],
/// which names the problem.
pub struct RowScanner<'a> {
    data: &'a [u8],
    /// The current 64-byte block and its marked bytes not looked at yet.
    block: usize,
    mask: u64,
    /// The byte after the last backslash seen: data, whatever it is.
    escaped: usize,
}

impl<'a> RowScanner<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        RowScanner { data, block: 0, mask: marks(data, 0), escaped: usize::MAX }
    }

    /// Splits the row starting at `start` (the end of the previous row, or 0) into `spans`
    /// (relative to `start`) and returns the offset of its LF and the line feeds in it. `None` if
    /// the row is not of the common kind or has no LF; the scanner is then spent.
    pub fn next_row(&mut self, start: usize, spans: &mut Vec<Range<usize>>) -> Option<(usize, u64)> {
        spans.clear();
        let mut field = start;
        let mut lines = 0;
        loop {
            while self.mask == 0 {
                self.block += 64;
                if self.block >= self.data.len() {
                    return None;
                }
                self.mask = marks(self.data, self.block);
            }
            let at = self.block + self.mask.trailing_zeros() as usize;
            self.mask &= self.mask - 1;
            let byte = self.data[at];
            if at == self.escaped {
                lines += u64::from(byte == b'\n');
                continue;
            }
            match byte {
                b'\t' => {
                    spans.push(field - start..at - start);
                    field = at + 1;
                }
                b'\\' => self.escaped = at + 1,
                // A row ending in an escaped `.` is an end marker after data: not the common case.
                b'\n' if !(at > 0 && self.escaped == at - 1 && self.data[at - 1] == b'.') => {
                    spans.push(field - start..at - start);
                    return Some((at, lines + 1));
                }
                _ => return None,
            }
        }
    }
}

/// Bit `i` set where `data[at + i]` is a TAB, backslash, LF or CR.
fn marks(data: &[u8], at: usize) -> u64 {
    let [marked] = block_masks(data, at, |v| [eq(v, b'\t') | eq(v, b'\\') | eq(v, b'\n') | eq(v, b'\r')]);
    marked
}

fn eq(v: u8x16, byte: u8) -> u8x16 {
    v.simd_eq(u8x16::splat(byte))
}

/// `N` bit masks of the 64-byte block at `at` (bit `i` for `data[at + i]`), from the lane
/// comparisons `compare` makes; bytes past the end of `data` read as NUL, which no caller marks.
fn block_masks<const N: usize>(data: &[u8], at: usize, compare: impl Fn(u8x16) -> [u8x16; N]) -> [u64; N] {
    let padded;
    let block = match data.get(at..at + 64) {
        Some(block) => block,
        None => {
            let mut tail = [0u8; 64];
            let rest = data.get(at..).unwrap_or_default();
            tail[..rest.len()].copy_from_slice(rest);
            padded = tail;
            &padded[..]
        }
    };
    let mut masks = [0u64; N];
    for (i, lane) in block.as_chunks::<16>().0.iter().enumerate() {
        for (mask, hits) in masks.iter_mut().zip(compare(u8x16::new(*lane))) {
            *mask |= u64::from(hits.to_bitmask()) << (16 * i);
        }
    }
    masks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(row: &[u8]) -> Vec<&[u8]> {
        let mut spans = Vec::new();
        split_row(row, &mut spans).unwrap();
        spans.iter().map(|r| &row[r.clone()]).collect()
    }

    #[test]
    fn splits_on_unescaped_tabs_only() {
        assert_eq!(fields(b"1\ta\\tb\t\\N"), vec![&b"1"[..], b"a\\tb", b"\\N"]);
        assert_eq!(fields(b"9\t\t9"), vec![&b"9"[..], b"", b"9"]);
        assert_eq!(fields(b"a\\\tb"), vec![&b"a\\\tb"[..]]);
        assert_eq!(fields(b"a\\\\\tb"), vec![&b"a\\\\"[..], b"b"]);
        assert_eq!(fields(b""), vec![&b""[..]]);
    }

    #[test]
    fn rejects_marker_after_data_and_raw_cr() {
        let mut spans = Vec::new();
        assert!(split_row(b"1\tfoo\\.", &mut spans).unwrap_err().msg.contains("not alone"));
        assert!(split_row(b"1\tfoo\\\\.", &mut spans).is_ok());
        assert_eq!(split_row(b"1\tf\roo", &mut spans).unwrap_err().offset, 3);
        assert!(split_row(b"1\\\rx", &mut spans).is_ok());
    }
}

/// Checks, in one pass, that `data` holds whole LF-ended rows of `ncols` fields each, and counts
/// them: (rows, newlines). `None` when anything is unusual (a carriage return, a wrong field
/// count, an end marker after data, a trailing backslash); [`split_row`] then finds and names the
/// problem. This is the path of every row no rule touches, so it stores nothing per field.
///
/// It looks at 64 bytes at a time through bit masks of their TABs, LFs, backslashes and CRs: a
/// row's separators are counted with one `popcount`, and only blocks with backslashes are looked
/// at byte by byte (to drop the escaped bytes from the masks).
pub fn count_rows(data: &[u8], ncols: usize) -> Option<(u64, u64)> {
    if ncols == 0 || data.last() != Some(&b'\n') {
        return None;
    }
    let separators = (ncols - 1) as u32;
    let (mut rows, mut lines, mut tabs) = (0u64, 0u64, 0u32);
    // The first byte of the next block is escaped by a backslash at the end of this one; the last
    // byte of the previous block was an escaped `.`.
    let (mut carry, mut dot_before) = (false, false);
    for at in (0..data.len()).step_by(64) {
        let Classes { mut tab, mut lf, backslash, cr } = classes(data, at);
        if cr != 0 {
            return None;
        }
        let mut escaped = 0u64;
        if backslash != 0 || carry {
            escaped = u64::from(carry);
            let mut escapers = backslash & !escaped;
            while escapers != 0 {
                let i = escapers.trailing_zeros();
                let next = 1u64.checked_shl(i + 1).unwrap_or(0);
                escaped |= next;
                escapers &= !(1 << i) & !next;
            }
            carry = backslash & !escaped & (1 << 63) != 0;
            lines += u64::from((lf & escaped).count_ones());
            lf &= !escaped;
            tab &= !escaped;
        }
        while lf != 0 {
            let i = lf.trailing_zeros();
            let dot =
                if i == 0 { dot_before } else { escaped >> (i - 1) & 1 == 1 && data[at + i as usize - 1] == b'.' };
            let before = (1u64 << i) - 1;
            if dot || tabs + (tab & before).count_ones() != separators {
                return None;
            }
            tab &= !before;
            lf &= lf - 1;
            (rows, lines, tabs) = (rows + 1, lines + 1, 0);
        }
        tabs += tab.count_ones();
        dot_before = escaped >> 63 == 1 && data.get(at + 63) == Some(&b'.');
    }
    // The last byte, an LF, ended a row unless it was escaped.
    (!crate::copy::block::is_escaped(data, data.len() - 1)).then_some((rows, lines))
}

/// One 64-byte block's bytes of each kind the row check cares about, as bit masks.
struct Classes {
    tab: u64,
    lf: u64,
    backslash: u64,
    cr: u64,
}

fn classes(data: &[u8], at: usize) -> Classes {
    let [tab, lf, backslash, cr] = block_masks(data, at, |v| [eq(v, b'\t'), eq(v, b'\n'), eq(v, b'\\'), eq(v, b'\r')]);
    Classes { tab, lf, backslash, cr }
}

#[cfg(test)]
mod count_tests {
    use super::*;
    use proptest::prelude::*;

    /// The row check as it was before bit masks, one `memchr` per row: it must agree.
    fn count_rows_memchr(data: &[u8], ncols: usize) -> Option<(u64, u64)> {
        if ncols == 0 || data.last() != Some(&b'\n') || memchr::memchr(b'\r', data).is_some() {
            return None;
        }
        // The next newline or backslash is found with one vectorised search and the tabs before it
        // are counted with another. Stopping at every tab instead (memchr3) costs more on the
        // tab-dense rows of real dumps; so did a 64-byte bit-mask loop (not vectorised by LLVM).
        let separators = ncols - 1;
        let (mut rows, mut lines, mut tabs) = (0u64, 0u64, 0usize);
        let (mut pos, mut rows_end) = (0, 0);
        while let Some(k) = memchr::memchr2(b'\n', b'\\', &data[pos..]) {
            let hit = pos + k;
            tabs += memchr::memchr_iter(b'\t', &data[pos..hit]).count();
            if data[hit] == b'\\' {
                match data.get(hit + 1) {
                    None => return None,
                    Some(b'.') if data.get(hit + 2) == Some(&b'\n') => return None,
                    Some(b'\n') => lines += 1,
                    Some(_) => {}
                }
                // The escaped byte is data: an escaped tab separates nothing.
                pos = hit + 2;
                if pos >= data.len() {
                    break;
                }
                continue;
            }
            if tabs != separators {
                return None;
            }
            rows += 1;
            lines += 1;
            tabs = 0;
            pos = hit + 1;
            rows_end = pos;
            if pos >= data.len() {
                break;
            }
        }
        (rows_end == data.len()).then_some((rows, lines))
    }

    /// The slow path's answer: split every row.
    fn oracle(data: &[u8], ncols: usize) -> Option<(u64, u64)> {
        let mut spans = Vec::new();
        let mut rows = 0;
        let mut lines = 0;
        let mut start = 0;
        let mut i = 0;
        while i < data.len() {
            match data[i] {
                b'\\' => i += 2,
                b'\n' => {
                    lines += 1;
                    let row = &data[start..i];
                    split_row(row, &mut spans).ok()?;
                    if spans.len() != ncols {
                        return None;
                    }
                    rows += 1;
                    start = i + 1;
                    i += 1;
                }
                _ => i += 1,
            }
        }
        let escaped_lfs = data
            .windows(2)
            .enumerate()
            .filter(|(k, w)| w == b"\\\n" && !crate::copy::block::is_escaped(data, *k))
            .count();
        (start == data.len() && i == data.len()).then_some((rows, lines + escaped_lfs as u64))
    }

    #[test]
    fn counts_rows_and_refuses_anything_odd() {
        assert_eq!(count_rows(b"1\ta\n2\t\\N\n", 2), Some((2, 2)));
        assert_eq!(count_rows(b"1\ta\\\nb\n", 2), Some((1, 2)));
        assert_eq!(count_rows(b"1\ta\\\tb\n", 2), Some((1, 1)));
        assert_eq!(count_rows(b"1\ta\n2\n", 2), None);
        assert_eq!(count_rows(b"1\ta\\.\n", 2), None);
        assert_eq!(count_rows(b"1\ta\r\n", 2), None);
        assert_eq!(count_rows(b"1\ta", 2), None);
    }

    proptest! {
        #[test]
        fn well_formed_rows_take_the_fast_path(
            rows in proptest::collection::vec(
                proptest::collection::vec(proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'.'), Just(b' ')], 0..6), 3),
                1..20,
            ),
            escapes in proptest::collection::vec(prop_oneof![Just(&b"\\t"[..]), Just(&b"\\\\"[..]), Just(&b"\\\n"[..]), Just(&b"\\x41"[..])], 0..5),
        ) {
            let mut data = Vec::new();
            for (i, row) in rows.iter().enumerate() {
                for (j, field) in row.iter().enumerate() {
                    if j > 0 {
                        data.push(b'\t');
                    }
                    data.extend_from_slice(field);
                    if let Some(e) = escapes.get(i + j) {
                        data.extend_from_slice(e);
                    }
                }
                data.push(b'\n');
            }
            prop_assert_eq!(count_rows(&data, 3), oracle(&data, 3));
            prop_assert!(count_rows(&data, 3).is_some());
            // Each block boundary falls anywhere in the rows: shift them by a few bytes.
            for pad in 1..4 {
                let mut shifted = vec![b'x'; pad];
                shifted.push(b'\t');
                shifted.push(b'y');
                shifted.push(b'\n');
                shifted.extend_from_slice(&data);
                prop_assert_eq!(count_rows(&shifted, 2), count_rows_memchr(&shifted, 2));
                prop_assert_eq!(count_rows(&shifted, 3), count_rows_memchr(&shifted, 3));
            }
        }

        #[test]
        fn agrees_with_the_memchr_check(
            data in proptest::collection::vec(
                prop_oneof![Just(b'\n'), Just(b'\t'), Just(b'\\'), Just(b'.'), Just(b'\r'), Just(b'a'), Just(b'a'), Just(b'a'), Just(b'a')],
                0..400,
            ),
            ncols in 1usize..5,
        ) {
            prop_assert_eq!(count_rows(&data, ncols), count_rows_memchr(&data, ncols));
        }

        #[test]
        fn agrees_with_the_memchr_check_on_rows_of_one_shape(
            fields in proptest::collection::vec(
                prop_oneof![Just(&b"a"[..]), Just(&b"\\t"[..]), Just(&b"\\\\"[..]), Just(&b"\\\n"[..]), Just(&b"\\."[..]), Just(&b"."[..])],
                0..300,
            ),
        ) {
            // Two fields per row, a row every third piece: mostly well formed, escapes everywhere.
            let mut data = Vec::new();
            for (i, piece) in fields.iter().enumerate() {
                data.extend_from_slice(piece);
                data.push(match i % 3 { 0 => b'\t', 1 => b'x', _ => b'\n' });
            }
            data.push(b'\n');
            prop_assert_eq!(count_rows(&data, 2), count_rows_memchr(&data, 2));
        }

        #[test]
        fn agrees_with_splitting_every_row(
            data in proptest::collection::vec(prop_oneof![Just(b'\n'), Just(b'\t'), Just(b'\\'), Just(b'.'), Just(b'a')], 0..200),
            ncols in 1usize..4,
        ) {
            if let Some(counted) = count_rows(&data, ncols) {
                prop_assert_eq!(Some(counted), oracle(&data, ncols));
            }
        }
    }
}

#[cfg(test)]
mod scanner_tests {
    use super::*;
    use proptest::prelude::*;

    /// One row the slow way: its LF (not escaped), the line feeds up to it, and its fields.
    fn slow_row(data: &[u8], start: usize) -> Option<(usize, u64, Vec<Range<usize>>)> {
        let mut lines = 0;
        let mut from = start;
        let lf = loop {
            let lf = from + memchr::memchr(b'\n', &data[from..])?;
            lines += 1;
            if !crate::copy::block::is_escaped(data, lf) {
                break lf;
            }
            from = lf + 1;
        };
        let mut spans = Vec::new();
        split_row(&data[start..lf], &mut spans).ok()?;
        Some((lf, lines, spans))
    }

    /// Runs the scanner over `data` as the worker does, checking each row against the slow way;
    /// returns where it stopped.
    fn scan_checked(data: &[u8]) -> usize {
        let mut scanner = RowScanner::new(data);
        let mut spans = Vec::new();
        let mut pos = 0;
        while pos < data.len() {
            let Some((lf, lines)) = scanner.next_row(pos, &mut spans) else { break };
            assert_eq!(slow_row(data, pos), Some((lf, lines, spans.clone())), "row at {pos} of {data:?}");
            pos = lf + 1;
        }
        pos
    }

    #[test]
    fn splits_rows_across_blocks_and_stops_at_the_unusual() {
        let mut data = Vec::new();
        for i in 0..40 {
            data.extend_from_slice(format!("{i}\ta\\tb\\\\\t{}\tmulti\\\nline\t\\N\n", "x".repeat(i * 7)).as_bytes());
        }
        assert_eq!(scan_checked(&data), data.len());
        for odd in [&b"1\tfoo\\.\n"[..], b"1\tf\roo\n", b"1\tno line end"] {
            let mut text = data.clone();
            text.extend_from_slice(odd);
            assert_eq!(scan_checked(&text), data.len(), "{odd:?}");
        }
        assert_eq!(scan_checked(b"1\tfoo\\\\.\n"), 9);
        assert_eq!(scan_checked(b"\n\n"), 2);
    }

    proptest! {
        #[test]
        fn agrees_with_finding_the_line_end_then_splitting(
            data in proptest::collection::vec(
                prop_oneof![Just(b'\n'), Just(b'\t'), Just(b'\\'), Just(b'.'), Just(b'\r'), Just(b'a'), Just(b'a'), Just(b'a')],
                0..300,
            ),
        ) {
            let stopped = scan_checked(&data);
            // It stops only at a row the slow way refuses, or one without an LF or with a CR.
            if stopped < data.len() {
                let refused = slow_row(&data, stopped).is_none();
                let rest = &data[stopped..];
                prop_assert!(refused || rest.contains(&b'\r'), "stopped at {} of {:?}", stopped, data);
            }
        }
    }
}
