//! A tokenizer for one complete SQL statement, used to read the few statements scrub must
//! understand (COPY, CREATE TABLE, ALTER TABLE, SET) and the table names in the rules file.
//!
//! It is not a SQL parser: it yields identifiers (case-folded unless quoted, as PostgreSQL does),
//! literals, numbers and punctuation, skipping whitespace and comments. It must not guess: anything
//! it does not recognise becomes a one-byte `Other` token.

/// One token of a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// An identifier or keyword. Unquoted ones are folded to lower case.
    Ident { name: String, quoted: bool },
    /// A string literal (any prefix: E, B, X, U&), with its raw text including quotes.
    Str(String),
    /// A number, or anything starting with a digit.
    Number(String),
    /// Punctuation and operators, one byte each.
    Other(u8),
}

impl Token {
    /// Whether this token is the unquoted keyword `kw` (given in lower case).
    pub fn is_kw(&self, kw: &str) -> bool {
        matches!(self, Token::Ident { name, quoted: false } if name == kw)
    }

    /// Whether this token is the punctuation byte `b`.
    pub fn is(&self, b: u8) -> bool {
        matches!(self, Token::Other(c) if *c == b)
    }

    /// The identifier's name, if this is an identifier.
    pub fn ident(&self) -> Option<&str> {
        match self {
            Token::Ident { name, .. } => Some(name),
            _ => None,
        }
    }

    /// The token as it could be written back in SQL (used to echo types).
    pub fn sql(&self) -> String {
        match self {
            Token::Ident { name, quoted } if *quoted || needs_quotes(name) => quote_ident(name),
            Token::Ident { name, .. } => name.clone(),
            Token::Str(s) | Token::Number(s) => s.clone(),
            Token::Other(b) => (*b as char).to_string(),
        }
    }
}

/// Whether an identifier must be double-quoted to survive case folding and lexing.
pub fn needs_quotes(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        None => true,
        Some(c) if !(c.is_ascii_lowercase() || c == '_' || !c.is_ascii()) => true,
        _ => !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$' || !c.is_ascii()),
    }
}

/// Quotes an identifier SQL-style, doubling embedded quotes.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn ident_cont(b: u8) -> bool {
    ident_start(b) || b.is_ascii_digit() || b == b'$'
}

/// Splits a complete statement into tokens. `std_strings` is `standard_conforming_strings`.
pub fn tokenize(text: &[u8], std_strings: bool) -> Vec<Token> {
    let mut out = Vec::new();
    let mut i = 0;
    let n = text.len();
    let lossy = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    while i < n {
        let b = text[i];
        if b.is_ascii_whitespace() {
            i += 1;
        } else if b == b'-' && text.get(i + 1) == Some(&b'-') {
            i = memchr::memchr(b'\n', &text[i..]).map_or(n, |k| i + k + 1);
        } else if b == b'/' && text.get(i + 1) == Some(&b'*') {
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
        } else if b == b'"' {
            let mut name = Vec::new();
            i += 1;
            while i < n {
                if text[i] == b'"' {
                    if text.get(i + 1) == Some(&b'"') {
                        name.push(b'"');
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                name.push(text[i]);
                i += 1;
            }
            out.push(Token::Ident { name: lossy(&name), quoted: true });
        } else if b == b'\''
            || (matches!(b, b'E' | b'e' | b'B' | b'b' | b'X' | b'x' | b'N' | b'n') && text.get(i + 1) == Some(&b'\''))
        {
            let start = i;
            let escapes = !std_strings || matches!(b, b'E' | b'e');
            i = if b == b'\'' { i + 1 } else { i + 2 };
            while i < n {
                match text[i] {
                    b'\\' if escapes => i += 2,
                    b'\'' if text.get(i + 1) == Some(&b'\'') => i += 2,
                    b'\'' => {
                        i += 1;
                        break;
                    }
                    _ => i += 1,
                }
            }
            out.push(Token::Str(lossy(&text[start..i.min(n)])));
        } else if b == b'$' && !text.get(i + 1).is_some_and(|c| c.is_ascii_digit()) {
            // Dollar-quoted string: find the closing tag.
            let tag_end = text[i + 1..].iter().position(|&c| !ident_cont(c) || c == b'$').map(|k| i + 1 + k);
            match tag_end {
                Some(j) if text[j] == b'$' => {
                    let tag = &text[i..=j];
                    let close = memchr::memmem::find(&text[j + 1..], tag).map_or(n, |k| j + 1 + k + tag.len());
                    out.push(Token::Str(lossy(&text[i..close])));
                    i = close;
                }
                _ => {
                    out.push(Token::Other(b));
                    i += 1;
                }
            }
        } else if ident_start(b) {
            let start = i;
            while i < n && ident_cont(text[i]) {
                i += 1;
            }
            out.push(Token::Ident { name: lossy(&text[start..i]).to_ascii_lowercase(), quoted: false });
        } else if b.is_ascii_digit() {
            let start = i;
            while i < n && (text[i].is_ascii_alphanumeric() || text[i] == b'.') {
                i += 1;
            }
            out.push(Token::Number(lossy(&text[start..i])));
        } else {
            out.push(Token::Other(b));
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(name: &str, quoted: bool) -> Token {
        Token::Ident { name: name.into(), quoted }
    }

    #[test]
    fn folds_unquoted_and_keeps_quoted() {
        let t = tokenize(b"COPY \"My Schema\".\"we\"\"ird\" (Id) FROM stdin;", true);
        assert_eq!(
            t,
            vec![
                id("copy", false),
                id("My Schema", true),
                Token::Other(b'.'),
                id("we\"ird", true),
                Token::Other(b'('),
                id("id", false),
                Token::Other(b')'),
                id("from", false),
                id("stdin", false),
                Token::Other(b';'),
            ]
        );
    }

    #[test]
    fn literals_and_comments() {
        let t = tokenize(b"SET x = E'a\\'b' -- c\n/* d /* e */ */ 'f''g' $q$h$q$ 12.5;", true);
        assert_eq!(
            t,
            vec![
                id("set", false),
                id("x", false),
                Token::Other(b'='),
                Token::Str("E'a\\'b'".into()),
                Token::Str("'f''g'".into()),
                Token::Str("$q$h$q$".into()),
                Token::Number("12.5".into()),
                Token::Other(b';'),
            ]
        );
    }

    #[test]
    fn quoting_rules() {
        assert!(!needs_quotes("users"));
        assert!(needs_quotes("Users"));
        assert!(needs_quotes("a b"));
        assert!(needs_quotes("1a"));
        assert_eq!(quote_ident("we\"ird"), "\"we\"\"ird\"");
    }
}
