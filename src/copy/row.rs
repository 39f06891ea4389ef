//! Splitting one COPY row (without its line ending) into field spans.
//!
//! A backslash always takes the next byte with it, so an escaped TAB does not split a field, and
//! a raw CR (never written by COPY TO, rejected by COPY FROM) is an error. The NULL test is done by
//! the caller on the raw span, before any unescaping: only a field that is exactly `\N` is NULL.

use std::ops::Range;

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
pub fn count_rows(data: &[u8], ncols: usize) -> Option<(u64, u64)> {
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

#[cfg(test)]
mod count_tests {
    use super::*;
    use proptest::prelude::*;

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
