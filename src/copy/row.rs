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
