//! Tokens with positions, on top of [`crate::sql::token::tokenize`].
//!
//! The shared tokenizer returns tokens without offsets, splits `1e-5` into `1e`, `-`, `5` and `.5`
//! into `.`, `5`, and keeps string literals raw. This module recovers each token's byte span (by
//! re-walking the skipped whitespace and comments exactly as the tokenizer does), glues numbers
//! back together, and decodes string literals.

use crate::sql::token::{Token, tokenize};

/// A token and its byte span in the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tok {
    pub tok: Token,
    pub start: usize,
    pub end: usize,
}

/// Skips whitespace and comments from `i`, mirroring the tokenizer.
fn skip_blank(text: &[u8], mut i: usize) -> usize {
    let n = text.len();
    while i < n {
        if text[i].is_ascii_whitespace() {
            i += 1;
        } else if text[i..].starts_with(b"--") {
            i = memchr::memchr(b'\n', &text[i..]).map_or(n, |k| i + k + 1);
        } else if text[i..].starts_with(b"/*") {
            let mut depth = 0;
            while i < n {
                if text[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if text[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else {
            break;
        }
    }
    i.min(n)
}

/// The source length of a quoted identifier starting at `i` (which holds the `"`).
fn quoted_len(text: &[u8], i: usize) -> usize {
    let mut j = i + 1;
    while j < text.len() {
        if text[j] == b'"' {
            if text.get(j + 1) == Some(&b'"') {
                j += 2;
                continue;
            }
            return j + 1 - i;
        }
        j += 1;
    }
    text.len() - i
}

/// Tokenizes `text` (with `standard_conforming_strings` on) and attaches byte spans.
pub(crate) fn lex(text: &str) -> Vec<Tok> {
    let bytes = text.as_bytes();
    let n = bytes.len();
    let mut out: Vec<Tok> = Vec::new();
    let mut i = 0;
    for tok in tokenize(bytes, true) {
        let start = skip_blank(bytes, i);
        let len = match &tok {
            Token::Str(s) | Token::Number(s) => s.len(),
            Token::Ident { quoted: true, .. } => quoted_len(bytes, start),
            Token::Ident { name, .. } => name.len(),
            Token::Other(_) => 1,
        };
        let end = (start + len).min(n);
        i = end;
        out.push(Tok { tok, start, end });
    }
    glue_numbers(out)
}

fn is_num(t: &Tok) -> bool {
    matches!(t.tok, Token::Number(_))
}

/// Joins `.` + `5` into `.5`, and `1e` + `-` + `5` into `1e-5` (when adjacent).
fn glue_numbers(toks: Vec<Tok>) -> Vec<Tok> {
    let mut out: Vec<Tok> = Vec::with_capacity(toks.len());
    let mut it = toks.into_iter().peekable();
    while let Some(mut t) = it.next() {
        if t.tok.is(b'.')
            && it.peek().is_some_and(|n| is_num(n) && n.start == t.end)
            && let Some(Tok { tok: Token::Number(s), end, .. }) = it.next()
        {
            t = Tok { tok: Token::Number(format!(".{s}")), start: t.start, end };
        }
        if let Token::Number(s) = &t.tok
            && (s.ends_with('e') || s.ends_with('E'))
            && it.peek().is_some_and(|n| (n.tok.is(b'-') || n.tok.is(b'+')) && n.start == t.end)
        {
            let sign = it.next();
            match (sign, it.peek()) {
                (Some(sign), Some(next)) if is_num(next) && next.start == sign.end => {
                    if let (Token::Other(c), Some(Tok { tok: Token::Number(rest), end, .. })) = (&sign.tok, it.next()) {
                        t = Tok { tok: Token::Number(format!("{s}{}{rest}", *c as char)), start: t.start, end };
                    }
                }
                (Some(sign), _) => {
                    out.push(t);
                    t = sign;
                }
                (None, _) => {}
            }
        }
        out.push(t);
    }
    out
}

/// Whether `s` is a numeric literal as PostgreSQL lexes one: `digits[.digits][e[+-]digits]` or
/// `.digits[...]`.
pub(crate) fn valid_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let int = b.iter().take_while(|c| c.is_ascii_digit()).count();
    i += int;
    let mut frac = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        frac = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        i += frac;
    }
    if int + frac == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp = b[i.min(b.len())..].iter().take_while(|c| c.is_ascii_digit()).count();
        if exp == 0 {
            return false;
        }
        i += exp;
    }
    i == b.len()
}

/// Decodes a string literal token's raw text: `'...'` (with `''`), `E'...'` (backslash escapes),
/// `N'...'`, and dollar quotes. Bit strings (`B'...'`, `X'...'`) are refused.
pub(crate) fn decode_string(raw: &str) -> Result<String, String> {
    let b = raw.as_bytes();
    match b.first() {
        Some(b'$') => {
            let tag_len = raw[1..].find('$').map(|k| k + 2).ok_or("unterminated dollar-quoted string")?;
            let tag = &raw[..tag_len];
            if raw.len() >= 2 * tag_len && raw.ends_with(tag) {
                Ok(raw[tag_len..raw.len() - tag_len].to_string())
            } else {
                Err("unterminated dollar-quoted string".into())
            }
        }
        Some(b'E' | b'e') => quoted(&raw[1..], true),
        Some(b'N' | b'n') => quoted(&raw[1..], false),
        Some(b'B' | b'b' | b'X' | b'x') => Err("bit-string literals (B'...', X'...') are not supported".into()),
        _ => quoted(raw, false),
    }
}

fn quoted(raw: &str, escapes: bool) -> Result<String, String> {
    let b = raw.as_bytes();
    if b.first() != Some(&b'\'') {
        return Err("malformed string literal".into());
    }
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 1;
    let mut closed = false;
    while i < b.len() {
        match b[i] {
            b'\'' if b.get(i + 1) == Some(&b'\'') => {
                out.push(b'\'');
                i += 2;
            }
            b'\'' => {
                closed = true;
                i += 1;
                break;
            }
            b'\\' if escapes => {
                i += 1;
                let Some(&c) = b.get(i) else { break };
                i += 1;
                match c {
                    b'b' => out.push(8),
                    b'f' => out.push(12),
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'0'..=b'7' => {
                        let mut v = u32::from(c - b'0');
                        for _ in 0..2 {
                            match b.get(i) {
                                Some(&d @ b'0'..=b'7') => {
                                    v = v * 8 + u32::from(d - b'0');
                                    i += 1;
                                }
                                _ => break,
                            }
                        }
                        out.push((v & 0xFF) as u8);
                    }
                    b'x' if b.get(i).is_some_and(u8::is_ascii_hexdigit) => {
                        let mut v = 0u32;
                        for _ in 0..2 {
                            match b.get(i).and_then(|&d| (d as char).to_digit(16)) {
                                Some(d) => {
                                    v = v * 16 + d;
                                    i += 1;
                                }
                                None => break,
                            }
                        }
                        out.push(v as u8);
                    }
                    b'u' | b'U' => {
                        let len = if c == b'u' { 4 } else { 8 };
                        let hex = b.get(i..i + len).and_then(|h| std::str::from_utf8(h).ok());
                        let ch = hex
                            .filter(|h| h.bytes().all(|d| d.is_ascii_hexdigit()))
                            .and_then(|h| u32::from_str_radix(h, 16).ok())
                            .and_then(char::from_u32)
                            .ok_or("invalid Unicode escape: use \\uXXXX or \\UXXXXXXXX (no surrogates)")?;
                        i += len;
                        let mut buf = [0; 4];
                        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                    }
                    other => out.push(other),
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    if !closed || i != b.len() {
        return Err("unterminated quoted string".into());
    }
    if out.contains(&0) {
        return Err("string literals cannot contain a zero byte".into());
    }
    String::from_utf8(out).map_err(|_| "string literal is not valid UTF-8 after escapes".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(text: &str) -> Vec<(String, &str)> {
        lex(text).into_iter().map(|t| (t.tok.sql(), &text[t.start..t.end])).collect()
    }

    #[test]
    fn spans_follow_the_source() {
        let s = spans(" a /* c /* d */ */ <> 'x''y' -- z\n \"Mixed \"\"Q\"\" \" >= 1.5e-3 AND é");
        let src: Vec<&str> = s.iter().map(|(_, src)| *src).collect();
        assert_eq!(src, ["a", "<", ">", "'x''y'", "\"Mixed \"\"Q\"\" \"", ">", "=", "1.5e-3", "AND", "é"]);
    }

    #[test]
    fn numbers_glued() {
        let toks: Vec<Token> = lex(".5 1e+10 1E5 2e - 3 a.b 7.").into_iter().map(|t| t.tok).collect();
        assert_eq!(toks[0], Token::Number(".5".into()));
        assert_eq!(toks[1], Token::Number("1e+10".into()));
        assert_eq!(toks[2], Token::Number("1E5".into()));
        assert_eq!(toks[3], Token::Number("2e".into()));
        assert_eq!(toks[4], Token::Other(b'-'));
        assert!(valid_number("1.5e-3") && valid_number(".5") && valid_number("7.") && valid_number("1.e5"));
        assert!(!valid_number("2e") && !valid_number("1.2.3") && !valid_number("12abc") && !valid_number("."));
    }

    #[test]
    fn strings() {
        assert_eq!(decode_string("'it''s'"), Ok("it's".into()));
        assert_eq!(decode_string("'a\\b'"), Ok("a\\b".into()));
        assert_eq!(decode_string("E'a\\'b\\n\\x41\\101\\u00e9\\\\'"), Ok("a'b\nAAé\\".into()));
        assert_eq!(decode_string("N'x'"), Ok("x".into()));
        assert_eq!(decode_string("$$a'b$$"), Ok("a'b".into()));
        assert_eq!(decode_string("$q$a$q$"), Ok("a".into()));
        assert!(decode_string("'abc").is_err());
        assert!(decode_string("'abc''").is_err());
        assert!(decode_string("$q$abc").is_err());
        assert!(decode_string("E'\\0'").is_err());
        assert!(decode_string("E'\\xff'").is_err());
        assert!(decode_string("B'101'").is_err());
        assert!(decode_string("E'\\ud800'").is_err());
    }
}
