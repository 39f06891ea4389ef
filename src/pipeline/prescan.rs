//! The prescan of an uncompressed plain dump file, on every core.
//!
//! Before the data pass, scrub reads a plain file once to learn its whole schema (pg_dump writes
//! the constraints after the data). Only the SQL between COPY blocks matters then, yet finding
//! where each block ends meant reading every byte on one thread. Here rayon's threads first search
//! pieces of the file for end-of-copy lines (a line that is exactly `\.`), counting lines as they
//! go; then the usual scan reads the SQL and, at each COPY block, jumps to the first such line
//! after the block's start: the line the sequential scan would have stopped at, with the same
//! line count behind it.
//!
//! It must not judge the data. An end line it cannot vouch for (one that follows a
//! backslash-escaped newline, or whose backslashes reach back past its piece) is not jumped to:
//! the scan reads that block as it always did and reports what it finds there.

use std::fs::File;
use std::io::{self, Seek, SeekFrom};
use std::path::Path;

use rayon::prelude::*;

use super::Options;
use crate::error::{Error, Result};
use crate::rules::schema::Schema;
use crate::subset::source::CopySpan;

/// Bytes each thread searches at a time.
const PIECE: u64 = 1 << 20;
/// A piece is read this far past its end, so that an end line starting in it is seen whole
/// (`\n\.\r\n`, after the newline that precedes it).
const OVERLAP: u64 = 4;
/// ... and this far before its start, to count the backslashes in front of a line feed.
const LOOK_BEHIND: u64 = 64;
/// More end lines than this (a file of almost nothing else) and the plain scan is used instead:
/// the list must stay small however large the file.
const MAX_END_LINES: usize = 1 << 20;

/// A line that is exactly `\.`, found before the scan reaches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct EndLine {
    /// Absolute offset of the backslash.
    pub at: u64,
    /// Line feeds before it in the file.
    pub lines: u64,
    /// The newline before it is not escaped by a backslash, so it may end a COPY block.
    pub clean: bool,
}

/// Every end line of a file, in order.
#[derive(Debug, Default)]
pub(super) struct EndLines(Vec<EndLine>);

impl EndLines {
    /// The first end line at or after `offset`.
    pub fn first_from(&self, offset: u64) -> Option<&EndLine> {
        self.0.get(self.0.partition_point(|e| e.at < offset))
    }
}

/// Learns the schema of the uncompressed plain dump at `path`, and where each COPY block's rows
/// are, reading the file on every core of rayon's pool.
pub fn prescan_plain_file(path: &Path, opts: &Options) -> Result<(Schema, Vec<CopySpan>)> {
    let file = File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let len = file.metadata().map_err(|e| Error::io(format!("reading {}", path.display()), e))?.len();
    let ends = find_end_lines(&file, len)
        .map_err(|(at, e)| Error::io(format!("reading {} at byte {at}", path.display()), e))?;
    // The search reads with `pread`, so the file is still at its start for the scan.
    let scanning = super::Scanning::new();
    let reader = scanning.reader(file, opts);
    match ends {
        Some(ends) => reader.scan_jumping(&ends, |file: &mut File, to| file.seek(SeekFrom::Start(to)).map(drop)),
        None => reader.scan_spans(),
    }
}

/// The end lines of `file`, searched piece by piece on rayon's threads; `None` if there are too
/// many to keep. An error names the offset of the read that failed.
fn find_end_lines(file: &File, len: u64) -> std::result::Result<Option<EndLines>, (u64, io::Error)> {
    let pieces: Vec<Piece> = (0..len.div_ceil(PIECE))
        .into_par_iter()
        .map_init(Vec::new, |buf, i| {
            let start = i * PIECE;
            scan_piece(file, start, (start + PIECE).min(len), buf)
        })
        .collect::<std::result::Result<_, _>>()?;
    let found: usize = pieces.iter().map(|p| p.ends.len()).sum();
    if found > MAX_END_LINES {
        return Ok(None);
    }
    let mut ends = Vec::with_capacity(found);
    let mut lines = 0;
    for piece in pieces {
        ends.extend(piece.ends.into_iter().map(|e| EndLine { lines: lines + e.lines, ..e }));
        lines += piece.lines;
    }
    Ok(Some(EndLines(ends)))
}

/// What one piece holds: its end lines (line counts from the piece's start) and its line feeds.
struct Piece {
    ends: Vec<EndLine>,
    lines: u64,
}

/// Searches `file[start..end]` for end lines, reading a few bytes before `start` to see the
/// backslashes in front of a line feed, and a few past `end` to see lines that start in it whole.
fn scan_piece(file: &File, start: u64, end: u64, buf: &mut Vec<u8>) -> std::result::Result<Piece, (u64, io::Error)> {
    use std::os::unix::fs::FileExt;

    let from = start.saturating_sub(LOOK_BEHIND);
    buf.resize((end - from + OVERLAP) as usize, 0);
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], from + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err((from + filled as u64, e)),
        }
    }
    let data = &buf[..filled];
    let (own_start, own_end) = ((start - from) as usize, ((end - from) as usize).min(filled));
    let mut ends = Vec::new();
    let (mut lines, mut counted) = (0u64, own_start);
    let search = &data[own_start..];
    for lf in memchr::memmem::find_iter(search, b"\n\\.").map(|k| own_start + k).take_while(|&k| k < own_end) {
        let rest = &data[lf + 3..];
        if !(rest.starts_with(b"\n") || rest.starts_with(b"\r\n")) {
            continue;
        }
        lines += memchr::memchr_iter(b'\n', &data[counted..=lf]).count() as u64;
        counted = lf + 1;
        let backslashes = data[..lf].iter().rev().take_while(|&&b| b == b'\\').count();
        let clean = backslashes % 2 == 0 && (backslashes < lf || from == 0);
        ends.push(EndLine { at: from + lf as u64 + 1, lines, clean });
    }
    lines += memchr::memchr_iter(b'\n', &data[counted..own_end]).count() as u64;
    Ok(Piece { ends, lines })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// The end lines of `text` as one sequential search finds them.
    fn oracle(text: &[u8]) -> Vec<EndLine> {
        let mut ends = Vec::new();
        for at in 1..text.len() {
            let rest = &text[at..];
            if text[at - 1] == b'\n' && (rest.starts_with(b"\\.\n") || rest.starts_with(b"\\.\r\n")) {
                let lines = text[..at].iter().filter(|&&b| b == b'\n').count() as u64;
                let clean = !crate::copy::block::is_escaped(text, at - 1);
                ends.push(EndLine { at: at as u64, lines, clean });
            }
        }
        ends
    }

    fn found(text: &[u8]) -> Vec<EndLine> {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(text).unwrap();
        find_end_lines(&file, text.len() as u64).unwrap().unwrap().0
    }

    #[test]
    fn end_lines_across_pieces_match_a_sequential_search() {
        // Each kind of line put across the first piece boundary in every way.
        let piece = PIECE as usize;
        for marker in [&b"a\n\\.\n"[..], b"a\n\\.\r\n", b"a\\\n\\.\n", b"\\\\\n\\.\n", b"a\n\\.x\n"] {
            for at in piece - 8..piece + 2 {
                let mut text: Vec<u8> = (0..2 * piece).map(|i| if i % 97 == 0 { b'\n' } else { b'x' }).collect();
                text[at..at + marker.len()].copy_from_slice(marker);
                text[piece + 500..piece + 504].copy_from_slice(b"\n\\.\n");
                assert_eq!(found(&text), oracle(&text), "{marker:?} at {at}");
            }
        }
    }

    #[test]
    fn escaped_newlines_make_end_lines_unclean() {
        let text = b"a\n\\.\nb\\\n\\.\nc\\\\\n\\.\r\n\\.\n";
        let ends = found(text);
        assert_eq!(ends, oracle(text));
        assert_eq!(ends.iter().map(|e| e.clean).collect::<Vec<_>>(), [true, false, true, true]);
        assert_eq!(found(b"\\.\n"), []);
    }

    /// What the prescan of `text` gives, from a file with end lines found in advance and from a
    /// stream read from start to end: the schema and spans, or the error.
    fn both_ways(text: &[u8], chunk_size: usize) -> (String, String) {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(text).unwrap();
        let opts = Options { chunk_size, ..Options::default() };
        let show = |r: Result<(Schema, Vec<CopySpan>)>| match r {
            Ok((schema, spans)) => format!("{schema:?} {spans:?}"),
            Err(e) => e.to_string(),
        };
        (show(prescan_plain_file(file.path(), &opts)), show(super::super::prescan_plain_spans(text, &opts)))
    }

    #[test]
    fn jumping_over_data_learns_what_reading_it_learns() {
        let head = "--\n-- PostgreSQL database dump\n--\n\nCREATE FUNCTION f() RETURNS text AS $$\nselect 1;\n\\.\n$$ LANGUAGE sql;\n\
            CREATE TABLE public.a (id integer, t text);\nCREATE TABLE public.b (id integer, a_id integer);\n";
        let rows = |n: usize, tag: &str| (0..n).map(|i| format!("{i}\t{tag} \\\\. x\\ny\n")).collect::<String>();
        let data = format!(
            "COPY public.a (id, t) FROM stdin;\n{}\\.\n\nCOPY public.b (id, a_id) FROM stdin;\n\\.\n\n",
            rows(300, "a")
        );
        let tail = "ALTER TABLE ONLY public.a\n    ADD CONSTRAINT a_pkey PRIMARY KEY (id);\n\
            ALTER TABLE ONLY public.b\n    ADD CONSTRAINT b_a FOREIGN KEY (a_id) REFERENCES public.a(id);\n\n\
            --\n-- PostgreSQL database dump complete\n--\n\n";
        let good = format!("{head}{data}{tail}");
        let cases = [
            good.clone(),
            good.replace('\n', "\r\n"),
            // An end line after an escaped newline: the scan must read the block to report it.
            format!("{head}{}{tail}", data.replacen("\n\\.\n", "\\\n\\.\n", 1)),
            // Errors after the data keep their line numbers.
            format!("{head}{data}SET client_encoding = 'SJIS';\n{tail}"),
            format!("{head}{data}SELECT 'never closed;\n"),
            format!("{head}{data}"),
            format!("{head}COPY public.a (id, t) FROM stdin;\n{}", rows(50, "cut")),
        ];
        for (i, text) in cases.iter().enumerate() {
            for chunk_size in [7, 64, 1000, 1 << 20] {
                let (jumping, reading) = both_ways(text.as_bytes(), chunk_size);
                assert_eq!(jumping, reading, "case {i}, chunk size {chunk_size}");
            }
        }
        assert!(both_ways(good.as_bytes(), 64).0.contains("b_a"), "the foreign key after the data is learnt");
        assert!(both_ways(cases[3].as_bytes(), 64).0.contains("line"), "{}", both_ways(cases[3].as_bytes(), 64).0);
    }

    #[test]
    fn backslashes_reaching_past_the_piece_are_not_vouched_for() {
        let piece = PIECE as usize;
        let mut text = vec![b'\\'; piece + 2 * LOOK_BEHIND as usize];
        text.extend_from_slice(b"\n\\.\n");
        let ends = found(&text);
        assert_eq!(ends.len(), 1);
        assert!(!ends[0].clean);
    }
}
