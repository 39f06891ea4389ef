//! The statement splitter (`scrub::sql::lexer`): fed the same text in pieces of any size, with
//! or without consuming idle prefixes the way the plain reader does, it must report the same
//! statements and the same unfinished construct at the end, never panic, and every statement
//! must end in its `;`. Each statement is also classified and tokenized (the DDL reader), which
//! must not panic either.
//!
//! Input: byte 0 picks the feeding pattern and `standard_conforming_strings`; the rest is SQL.

use scrub::sql::lexer::{Scan, Splitter};

/// Splits `text`, handing the splitter `step(i)` more bytes at a time. Returns the statements
/// as absolute ranges and, at the end, the open construct (if any).
fn split(
    text: &[u8],
    std_strings: bool,
    consume_idle: bool,
    mut step: impl FnMut() -> usize,
) -> (Vec<(usize, usize)>, Option<&'static str>) {
    let mut sp = Splitter::default();
    sp.set_standard_conforming_strings(std_strings);
    let mut out = Vec::new();
    let mut seg_start = 0;
    let mut avail = 0;
    loop {
        let eof = avail >= text.len();
        match sp.scan(&text[seg_start..avail], eof) {
            Scan::Statement { start, end } => {
                assert!(start < end, "empty statement {start}..{end}");
                assert!(seg_start + end <= avail, "statement ends past the bytes handed over");
                assert_eq!(text[seg_start + end - 1], b';', "a statement must end with its `;`");
                out.push((seg_start + start, seg_start + end));
                seg_start += end;
                sp.consume(end);
            }
            Scan::NeedMore if eof => {
                return (out, sp.in_statement().then(|| sp.open_construct()));
            }
            Scan::NeedMore => {
                if consume_idle && let Some(idle) = sp.idle_prefix() {
                    assert!(seg_start + idle <= avail);
                    seg_start += idle;
                    sp.consume(idle);
                }
                avail = (avail + step().max(1)).min(text.len());
            }
        }
    }
}

/// Runs the checks on one input; panics on a finding.
pub fn check(data: &[u8]) {
    let Some((&mode, text)) = data.split_first() else { return };
    let std_strings = mode & 1 == 0;
    let whole = split(text, std_strings, false, || usize::MAX);
    // Pieces of a fixed small size, then of sizes drawn from a tiny generator seeded by `mode`.
    let fixed = 1 + usize::from(mode >> 5);
    let pieces = split(text, std_strings, mode & 2 != 0, || fixed);
    assert_eq!(whole, pieces, "statements differ when fed {fixed} byte(s) at a time");
    let mut state = u32::from(mode) | 1;
    let varied = split(text, std_strings, true, || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (state % 17) as usize
    });
    assert_eq!(whole, varied, "statements differ when fed in varied pieces");
    for &(start, end) in &whole.0 {
        let stmt = &text[start..end];
        let _ = scrub::sql::ddl::classify(stmt, std_strings);
        let _ = scrub::sql::token::tokenize(stmt, std_strings);
    }
}
