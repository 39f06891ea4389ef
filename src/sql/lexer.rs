//! A streaming splitter for the SQL text of a plain dump: it finds where each top-level statement
//! ends, so the reader can recognise `COPY ... FROM stdin;` and hand the following lines to the COPY
//! codec.
//!
//! BE ADVISED: this is where decoys live. A `COMMENT ON ... IS '...'` literal or a function body can
//! hold a line that reads exactly like a COPY statement followed by `\.`; a quoted identifier can hold
//! a newline. So the splitter tracks everything psql tracks: `'...'` (with `''`), `E'...'` (backslash
//! escapes), `"..."` (with `""`), `$tag$...$tag$`, `-- ...`, nested `/* */`, and psql backslash
//! commands (`\restrict`, `\connect`), which run to the end of their line.
//!
//! The splitter is incremental: it is handed the bytes of the current segment (everything since the
//! last statement it reported) and never consumes a byte whose meaning depends on bytes it has not
//! seen yet; it answers [`Scan::NeedMore`] instead and resumes where it stopped. It does no I/O and
//! keeps no copy of the text.

/// What the splitter found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scan {
    /// A top-level statement ends at `end` (exclusive, just after its `;`). Its first significant
    /// byte is at `start`; bytes before it are whitespace, comments and psql meta-commands.
    Statement { start: usize, end: usize },
    /// The segment ended (or is empty) without completing a statement. If more input exists, call
    /// again with more bytes.
    NeedMore,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Normal,
    LineComment,
    BlockComment {
        depth: u32,
    },
    Quote {
        backslash_escapes: bool,
    },
    DoubleQuote,
    /// Inside `$tag$ ... $tag$`; the tag includes both dollar signs.
    Dollar {
        tag: Vec<u8>,
    },
    /// A psql backslash command, up to the end of the line.
    Meta,
}

/// Incremental statement splitter. See the module documentation.
#[derive(Debug, Clone)]
pub struct Splitter {
    state: State,
    /// How far into the current segment the splitter has scanned.
    scanned: usize,
    /// First significant byte of the statement in progress, if it has started.
    stmt_start: Option<usize>,
    /// `standard_conforming_strings = off` makes backslashes escapes in every `'...'` literal.
    std_strings: bool,
}

impl Default for Splitter {
    fn default() -> Self {
        Splitter { state: State::Normal, scanned: 0, stmt_start: None, std_strings: true }
    }
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

impl Splitter {
    /// Tells the splitter whether `standard_conforming_strings` is on for what follows.
    pub fn set_standard_conforming_strings(&mut self, on: bool) {
        self.std_strings = on;
    }

    /// Whether the splitter is between statements with nothing significant pending, so the bytes
    /// scanned so far may be passed on without waiting for a statement end.
    pub fn idle_prefix(&self) -> Option<usize> {
        (self.state == State::Normal && self.stmt_start.is_none()).then_some(self.scanned)
    }

    /// Whether the bytes scanned so far leave a literal, quoted identifier or comment open, or a
    /// statement unfinished. Used at end of input to report truncation.
    pub fn in_statement(&self) -> bool {
        self.stmt_start.is_some() || !matches!(self.state, State::Normal | State::Meta | State::LineComment)
    }

    /// Describes the unfinished construct, for error messages at end of input.
    pub fn open_construct(&self) -> &'static str {
        match self.state {
            State::Normal | State::Meta | State::LineComment => "statement without its terminating ';'",
            State::BlockComment { .. } => "/* comment",
            State::Quote { .. } => "string literal",
            State::DoubleQuote => "quoted identifier",
            State::Dollar { .. } => "dollar-quoted string",
        }
    }

    /// The segment the splitter was scanning has been consumed up to `consumed` bytes (a value it
    /// reported as a statement end, or its idle prefix); positions restart from there.
    pub fn consume(&mut self, consumed: usize) {
        debug_assert!(consumed <= self.scanned);
        self.scanned -= consumed;
        if let Some(s) = self.stmt_start.as_mut() {
            *s -= consumed;
        }
    }

    /// Scans `seg` (the current segment) from where the last call stopped. `eof` says no more bytes
    /// will follow, which resolves lookahead at the very end.
    pub fn scan(&mut self, seg: &[u8], eof: bool) -> Scan {
        let n = seg.len();
        let mut i = self.scanned;
        while i < n {
            match &mut self.state {
                State::Normal => {
                    let b = seg[i];
                    match b {
                        b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => {
                            i += 1;
                        }
                        b';' => {
                            let start = self.stmt_start.take().unwrap_or(i);
                            self.scanned = i + 1;
                            return Scan::Statement { start, end: i + 1 };
                        }
                        b'\\' => {
                            self.state = State::Meta;
                            i += 1;
                        }
                        b'-' | b'/' => {
                            if i + 1 >= n && !eof {
                                break;
                            }
                            let next = seg.get(i + 1).copied();
                            if b == b'-' && next == Some(b'-') {
                                self.state = State::LineComment;
                                i += 2;
                            } else if b == b'/' && next == Some(b'*') {
                                self.state = State::BlockComment { depth: 1 };
                                i += 2;
                            } else {
                                self.stmt_start.get_or_insert(i);
                                i += 1;
                            }
                        }
                        b'\'' => {
                            self.stmt_start.get_or_insert(i);
                            let e_prefix =
                                i >= 1 && matches!(seg[i - 1], b'E' | b'e') && (i < 2 || !is_ident_byte(seg[i - 2]));
                            self.state = State::Quote { backslash_escapes: e_prefix || !self.std_strings };
                            i += 1;
                        }
                        b'"' => {
                            self.stmt_start.get_or_insert(i);
                            self.state = State::DoubleQuote;
                            i += 1;
                        }
                        b'$' => {
                            self.stmt_start.get_or_insert(i);
                            if i > 0 && is_ident_byte(seg[i - 1]) {
                                i += 1;
                                continue;
                            }
                            // A dollar quote opens with `$tag$`, the tag an identifier not starting
                            // with a digit (or empty); `$1` is a parameter.
                            let mut j = i + 1;
                            while j < n && seg[j] != b'$' && is_ident_byte(seg[j]) {
                                j += 1;
                            }
                            if j >= n && !eof {
                                break;
                            }
                            let tag_ok = j < n && seg[j] == b'$' && !seg.get(i + 1).is_some_and(|c| c.is_ascii_digit());
                            if tag_ok {
                                self.state = State::Dollar { tag: seg[i..=j].to_vec() };
                                i = j + 1;
                            } else {
                                i += 1;
                            }
                        }
                        _ => {
                            self.stmt_start.get_or_insert(i);
                            i += 1;
                        }
                    }
                }
                State::LineComment | State::Meta => match memchr::memchr(b'\n', &seg[i..]) {
                    Some(k) => {
                        i += k + 1;
                        self.state = State::Normal;
                    }
                    None => i = n,
                },
                State::BlockComment { depth } => match memchr::memchr2(b'*', b'/', &seg[i..]) {
                    None => i = n,
                    Some(k) => {
                        let j = i + k;
                        if j + 1 >= n && !eof {
                            i = j;
                            break;
                        }
                        let next = seg.get(j + 1).copied();
                        if seg[j] == b'*' && next == Some(b'/') {
                            *depth -= 1;
                            i = j + 2;
                            if *depth == 0 {
                                self.state = State::Normal;
                            }
                        } else if seg[j] == b'/' && next == Some(b'*') {
                            *depth += 1;
                            i = j + 2;
                        } else {
                            i = j + 1;
                        }
                    }
                },
                State::Quote { backslash_escapes } => {
                    let found = if *backslash_escapes {
                        memchr::memchr2(b'\'', b'\\', &seg[i..])
                    } else {
                        memchr::memchr(b'\'', &seg[i..])
                    };
                    match found {
                        None => i = n,
                        Some(k) => {
                            let j = i + k;
                            if j + 1 >= n && !eof {
                                i = j;
                                break;
                            }
                            // A backslash escape or a doubled quote skips two bytes.
                            if seg[j] == b'\\' || seg.get(j + 1) == Some(&b'\'') {
                                i = j + 2;
                            } else {
                                i = j + 1;
                                self.state = State::Normal;
                            }
                        }
                    }
                }
                State::DoubleQuote => match memchr::memchr(b'"', &seg[i..]) {
                    None => i = n,
                    Some(k) => {
                        let j = i + k;
                        if j + 1 >= n && !eof {
                            i = j;
                            break;
                        }
                        if seg.get(j + 1) == Some(&b'"') {
                            i = j + 2;
                        } else {
                            i = j + 1;
                            self.state = State::Normal;
                        }
                    }
                },
                State::Dollar { tag } => match memchr::memmem::find(&seg[i..], tag) {
                    Some(k) => {
                        i += k + tag.len();
                        self.state = State::Normal;
                    }
                    None => {
                        // Keep the last tag.len()-1 bytes unscanned: the closing tag may straddle.
                        let keep = tag.len() - 1;
                        i = n.saturating_sub(keep).max(i);
                        break;
                    }
                },
            }
        }
        self.scanned = i.min(n);
        Scan::NeedMore
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits `text` fed in pieces of `step` bytes, returning each statement's text.
    fn split(text: &[u8], step: usize) -> (Vec<String>, Splitter) {
        let mut sp = Splitter::default();
        let mut out = Vec::new();
        let mut seg_start = 0;
        let mut avail = 0;
        loop {
            let eof = avail >= text.len();
            match sp.scan(&text[seg_start..avail], eof) {
                Scan::Statement { start, end } => {
                    out.push(String::from_utf8_lossy(&text[seg_start + start..seg_start + end]).into_owned());
                    seg_start += end;
                    sp.consume(end);
                }
                Scan::NeedMore if eof => break,
                Scan::NeedMore => avail = (avail + step).min(text.len()),
            }
        }
        (out, sp)
    }

    fn check(text: &str, expected: &[&str]) {
        for step in [1, 2, 3, 5, 8, 1000] {
            let (got, _) = split(text.as_bytes(), step);
            assert_eq!(got, expected, "step {step}");
        }
    }

    #[test]
    fn plain_statements() {
        check("SET a = 1;\nSELECT 2;\n", &["SET a = 1;", "SELECT 2;"]);
    }

    #[test]
    fn comments_and_meta_commands_are_not_statements() {
        check("--\n-- x; y\n--\n\\restrict abc;def\n/* a; /* nested; */ b; */ SELECT 1;", &["SELECT 1;"]);
    }

    #[test]
    fn decoy_copy_inside_literals() {
        let text = "COMMENT ON TABLE t IS 'x\nCOPY public.decoy (a) FROM stdin;\n\\.\n';\nCREATE FUNCTION f() RETURNS int AS $body$\nCOPY x FROM stdin;\n$body$ LANGUAGE sql;";
        check(
            text,
            &[
                "COMMENT ON TABLE t IS 'x\nCOPY public.decoy (a) FROM stdin;\n\\.\n';",
                "CREATE FUNCTION f() RETURNS int AS $body$\nCOPY x FROM stdin;\n$body$ LANGUAGE sql;",
            ],
        );
    }

    #[test]
    fn escape_strings_and_doubled_quotes() {
        check(
            "SELECT E'it\\'s; here', 'a''b;c', \"we\"\"ird;\";SELECT 1;",
            &["SELECT E'it\\'s; here', 'a''b;c', \"we\"\"ird;\";", "SELECT 1;"],
        );
        // `e` inside an identifier does not open an escape string.
        check("SELECT some'a\\';SELECT 2;", &["SELECT some'a\\';", "SELECT 2;"]);
    }

    #[test]
    fn standard_conforming_strings_off() {
        let mut sp = Splitter::default();
        sp.set_standard_conforming_strings(false);
        let text = b"SELECT 'a\\'b;c';";
        assert_eq!(sp.scan(text, true), Scan::Statement { start: 0, end: text.len() });
    }

    #[test]
    fn dollar_quotes_and_parameters() {
        check("SELECT $$a;b$$, $x$ $$ ; $x$;SELECT $1;", &["SELECT $$a;b$$, $x$ $$ ; $x$;", "SELECT $1;"]);
        check("SELECT a$b;", &["SELECT a$b;"]);
    }

    #[test]
    fn quoted_identifier_with_newline() {
        check(
            "COPY public.\"weird\nname\" (\"col\nx\") FROM stdin;",
            &["COPY public.\"weird\nname\" (\"col\nx\") FROM stdin;"],
        );
    }

    #[test]
    fn unterminated_literal_is_reported() {
        let (got, sp) = split(b"SELECT 'abc;", 4);
        assert!(got.is_empty());
        assert!(sp.in_statement());
        assert_eq!(sp.open_construct(), "string literal");
    }
}
