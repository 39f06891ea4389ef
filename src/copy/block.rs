//! Finding the edges of a COPY block in a buffer: the `\.` line that ends it, and row boundaries
//! where it may be cut into chunks.
//!
//! The end of data is psql's rule: a physical line that is exactly `\.` (LF or CR LF). Rows end at
//! an LF that no backslash escapes; because COPY TO escapes every newline inside values, each raw
//! LF of pg_dump output ends a row and no quote tracking is needed.

/// What [`find_end_marker`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndMarker {
    /// The marker line starts at `at` and is `len` bytes long with its line ending.
    Found { at: usize, len: usize },
    /// Not in the bytes seen so far; call again with more bytes, passing `resume`.
    NotYet { resume: usize },
}

/// Searches `region` (which starts at a row boundary) for the end marker. `resume` is 0 on the
/// first call for a region and the value last returned otherwise. With `eof`, a marker cut short
/// by the end of input is not a marker.
pub fn find_end_marker(region: &[u8], resume: usize, eof: bool) -> EndMarker {
    let n = region.len();
    let next_line_start = |from: usize| -> Option<usize> {
        let search = from.saturating_sub(1);
        memchr::memmem::find(&region[search.min(n)..], b"\n\\.").map(|k| search + k + 1)
    };
    let mut candidate = if resume == 0 { Some(0) } else { next_line_start(resume) };
    while let Some(l) = candidate {
        let line = &region[l..];
        let complete = match line {
            [b'\\', b'.', b'\n', ..] => return EndMarker::Found { at: l, len: 3 },
            [b'\\', b'.', b'\r', b'\n', ..] => return EndMarker::Found { at: l, len: 4 },
            [] | [b'\\'] | [b'\\', b'.'] | [b'\\', b'.', b'\r'] => false,
            _ => true,
        };
        if !complete && !eof {
            return EndMarker::NotYet { resume: l };
        }
        candidate = next_line_start(l + 1);
    }
    EndMarker::NotYet { resume: n.saturating_sub(1).max(1) }
}

/// Whether the byte at `at` is escaped by an odd run of backslashes before it.
pub fn is_escaped(buf: &[u8], at: usize) -> bool {
    buf[..at].iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 1
}

/// Where to cut `region` (starting at a row boundary): just after the last row that ends within
/// `limit` bytes, or after the first row if that one is longer. `None` if no row is complete.
pub fn row_cut(region: &[u8], limit: usize) -> Option<usize> {
    let limit = limit.min(region.len());
    let mut end = limit;
    while let Some(lf) = memchr::memrchr(b'\n', &region[..end]) {
        if !is_escaped(region, lf) {
            return Some(lf + 1);
        }
        end = lf;
    }
    let mut from = limit;
    while let Some(k) = memchr::memchr(b'\n', &region[from..]) {
        let lf = from + k;
        if !is_escaped(region, lf) {
            return Some(lf + 1);
        }
        from = lf + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `text` in growing prefixes, as the reader does, and returns where the marker is.
    fn scan(text: &[u8], step: usize) -> Option<(usize, usize)> {
        let mut resume = 0;
        let mut avail = 0;
        loop {
            avail = (avail + step).min(text.len());
            let eof = avail == text.len();
            match find_end_marker(&text[..avail], resume, eof) {
                EndMarker::Found { at, len } => return Some((at, len)),
                EndMarker::NotYet { .. } if eof => return None,
                EndMarker::NotYet { resume: r } => resume = r,
            }
        }
    }

    #[test]
    fn finds_the_marker_line_only() {
        for step in [1, 2, 3, 100] {
            assert_eq!(scan(b"\\.\n", step), Some((0, 3)), "step {step}");
            assert_eq!(scan(b"1\ta\n2\tb\n\\.\n\nx", step), Some((8, 3)));
            assert_eq!(scan(b"1\ta\r\n\\.\r\n", step), Some((5, 4)));
            assert_eq!(scan(b"\\\\.\n\\.x\n1\\.\n", step), None);
            assert_eq!(scan(b"1\n\\.", step), None);
            assert_eq!(scan(b"\\.abc\n\\.\n", step), Some((6, 3)));
        }
    }

    #[test]
    fn cuts_after_unescaped_newlines() {
        assert_eq!(row_cut(b"a\nb\nc\n", 4), Some(4));
        assert_eq!(row_cut(b"abcdef\nb\n", 3), Some(7));
        assert_eq!(row_cut(b"a\\\nb\nc", 3), Some(5));
        assert_eq!(row_cut(b"a\\\\\nb", 10), Some(4));
        assert_eq!(row_cut(b"abc", 2), None);
    }
}
