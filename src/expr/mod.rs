//! SQL boolean expressions from the rules file, such as `when = "role <> 'admin'"` and
//! `where = "country = 'FR' AND created_at >= '2024-01-01'"`, evaluated on COPY rows.
//!
//! ```
//! use scrub::expr;
//!
//! let e = expr::parse("country = 'FR' AND created_at >= DATE '2024-01-01'").unwrap();
//! let columns = [("id", "integer"), ("country", "character(2)"), ("created_at", "timestamp with time zone")];
//! let bound = e.bind(&columns[..]).unwrap();
//! let row: [Option<&[u8]>; 3] = [Some(b"1"), Some(b"FR"), Some(b"2024-03-01 10:00:00+01")];
//! assert_eq!(bound.eval(|i| row[i]), Some(true));
//! let row: [Option<&[u8]>; 3] = [Some(b"2"), None, Some(b"2024-03-01 10:00:00+01")];
//! assert_eq!(bound.eval(|i| row[i]), None); // unknown: the caller treats it as false
//! ```
//!
//! Two steps: [`parse`] checks the syntax once ([`Expr`]); [`Expr::bind`] resolves column names
//! against one table ([`Schema`]: names, row positions and declared types) and converts every
//! literal to the type of what it is compared with ([`Bound`]). Evaluating a bound expression on
//! a row does not allocate: a comparison parses the column's COPY text and compares it with the
//! pre-converted literal, and `LIKE` runs a precompiled matcher.
//!
//! # Language
//!
//! PostgreSQL syntax and semantics for: `OR`, `AND`, `NOT`, parentheses; `= <> != < <= > >=`;
//! `[NOT] IN (...)`; `[NOT] BETWEEN [SYMMETRIC] a AND b`; `[NOT] LIKE` / `ILIKE` with `%`, `_`,
//! backslash escapes and `ESCAPE '...'`; `IS [NOT] NULL | TRUE | FALSE | UNKNOWN`, `ISNULL`,
//! `NOTNULL`; `IS [NOT] DISTINCT FROM`. Operands are columns (`name`, `"Mixed Case"`) and
//! literals: strings (`'it''s'`, `E'\n'`, `$$...$$`), numbers (`42`, `-1.5e3`, `.5`), `TRUE`,
//! `FALSE`, `NULL`, and typed literals (`DATE '2024-01-01'`, `'2024-01-01'::date`,
//! `CAST('1' AS integer)`), checked against their type. A column may be cast to `text` (its text in
//! the dump, e.g. `created_at::text LIKE '2024-%'`) or widened (`int_col::numeric`); other casts,
//! arithmetic, functions and subqueries are not supported. Nesting is limited to [`MAX_DEPTH`].
//!
//! # Types
//!
//! Values compare by the column's declared type, as PostgreSQL does:
//!
//! | declared type | compared as |
//! |---|---|
//! | `smallint`, `integer`, `bigint` | exact integers |
//! | `numeric`, `decimal` | exact decimals (`NaN` above `Infinity`) |
//! | `real`, `double precision` | floating point (`NaN` equal to itself, above everything) |
//! | `boolean` | `false < true`; `t`, `yes`, `on`, `1`, ... accepted as literals |
//! | `date`, `timestamp` | ISO text, `BC`, `infinity`, `-infinity` |
//! | `timestamp with time zone` | instants: offsets (`+01`, `+05:30`, `Z`) are applied |
//! | `time` | time of day |
//! | `uuid` | 128-bit values (any hex case, braces, hyphens) |
//! | `character(n)` | text, trailing spaces insignificant (but seen by `LIKE`) |
//! | text types and **anything else** | bytes, i.e. the `C` collation |
//!
//! Text compares byte-wise (`C` collation), which for UTF-8 is code point order: `'B' < 'a'`. It
//! can differ from the order of a database with a linguistic collation. Other types (enums,
//! intervals, arrays, `json`, ...) compare as their text, which is right for `=`, `<>`, `IN` and
//! `LIKE` but not, in general, for ordering.
//!
//! Mixed comparisons widen as PostgreSQL does: integer and numeric compare exactly, exact and
//! floating-point numbers compare as `double precision`, dates compare with timestamps at
//! midnight. Literals without a zone compared with `timestamptz` are read as UTC (PostgreSQL would
//! use the session's `TimeZone`). Literals that depend on the clock (`'now'`, `'today'`) and named
//! zones are refused.
//!
//! # Unknown and NULL
//!
//! Logic is three-valued: a comparison with NULL is unknown, `NOT unknown` is unknown, and so on.
//! [`Bound::eval`] returns `None` for unknown; callers treat it as false ([`Bound::matches`]), as a
//! `WHERE` clause does. A value whose text is not valid for its column's type (which a dump does
//! not produce) is treated like NULL.

mod bind;
mod datetime;
mod lex;
mod like;
mod num;
mod parse;
mod types;

#[cfg(test)]
mod pg_tests;
#[cfg(test)]
mod tests;

use std::fmt;

pub use parse::MAX_DEPTH;

/// Whether an error is in the expression's syntax or in its meaning for a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// [`parse`] failed.
    Syntax,
    /// [`Expr::bind`] failed: unknown column, incompatible types, invalid literal, ...
    Bind,
}

/// A parse or bind error: what is wrong, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    kind: ErrorKind,
    message: String,
    offset: usize,
    near: String,
}

impl ExprError {
    fn new(kind: ErrorKind, src: &str, byte: usize, message: String) -> Self {
        let mut byte = byte.min(src.len());
        while !src.is_char_boundary(byte) {
            byte -= 1;
        }
        let rest = &src[byte..];
        let mut near: String = rest.chars().take(24).collect();
        if near.len() < rest.len() {
            near.push('…');
        }
        ExprError { kind, message, offset: src[..byte].chars().count(), near }
    }

    pub(crate) fn syntax(src: &str, byte: usize, message: String) -> Self {
        Self::new(ErrorKind::Syntax, src, byte, message)
    }

    pub(crate) fn bind(src: &str, byte: usize, message: String) -> Self {
        Self::new(ErrorKind::Bind, src, byte, message)
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// What is wrong.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Where: a 0-based offset in characters into the expression text.
    pub fn offset(&self) -> usize {
        self.offset
    }
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            ErrorKind::Syntax => "syntax error",
            ErrorKind::Bind => "error",
        };
        if self.near.is_empty() {
            write!(f, "{kind} at the end of the expression (offset {}): {}", self.offset, self.message)
        } else {
            write!(f, "{kind} at offset {}, near `{}`: {}", self.offset, self.near, self.message)
        }
    }
}

impl std::error::Error for ExprError {}

/// The columns an expression can refer to.
///
/// Implemented for slices, arrays and vectors of `(name, declared type)` pairs, where a column's
/// row index is its position (the order of the COPY column list).
pub trait Schema {
    /// The row index and declared type (as in `CREATE TABLE`: `integer`, `character varying(20)`,
    /// ...) of the column named exactly `name` (SQL case folding has already been applied).
    fn column(&self, name: &str) -> Option<(usize, &str)>;

    /// All column names, for error messages.
    fn column_names(&self) -> Vec<String>;
}

impl<N: AsRef<str>, T: AsRef<str>> Schema for [(N, T)] {
    fn column(&self, name: &str) -> Option<(usize, &str)> {
        self.iter().position(|(n, _)| n.as_ref() == name).map(|i| (i, self[i].1.as_ref()))
    }

    fn column_names(&self) -> Vec<String> {
        self.iter().map(|(n, _)| n.as_ref().to_string()).collect()
    }
}

impl<N: AsRef<str>, T: AsRef<str>> Schema for Vec<(N, T)> {
    fn column(&self, name: &str) -> Option<(usize, &str)> {
        self.as_slice().column(name)
    }

    fn column_names(&self) -> Vec<String> {
        self.as_slice().column_names()
    }
}

/// A parsed expression, not yet tied to a table.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    src: String,
    root: parse::Node,
}

/// Parses an expression. The error says what is wrong and at which character.
pub fn parse(text: &str) -> Result<Expr, ExprError> {
    Ok(Expr { src: text.to_string(), root: parse::parse(text)? })
}

impl Expr {
    /// The expression text, as given to [`parse`].
    pub fn source(&self) -> &str {
        &self.src
    }

    /// The column names the expression mentions, each once, in order of appearance (unquoted
    /// names folded to lower case).
    pub fn columns(&self) -> Vec<String> {
        fn walk(n: &parse::Node, out: &mut Vec<String>) {
            use parse::Node::*;
            match n {
                Col { name, .. } => {
                    if !out.contains(name) {
                        out.push(name.clone());
                    }
                }
                Lit { .. } => {}
                Cmp { l, r, .. } | Distinct { l, r, .. } => {
                    walk(l, out);
                    walk(r, out);
                }
                In { x, items, .. } => {
                    walk(x, out);
                    items.iter().for_each(|i| walk(i, out));
                }
                Between { x, lo, hi, .. } => {
                    walk(x, out);
                    walk(lo, out);
                    walk(hi, out);
                }
                Like { x, pat, esc, .. } => {
                    walk(x, out);
                    walk(pat, out);
                    if let Some(e) = esc {
                        walk(e, out);
                    }
                }
                Is { x, .. } | Not(x) => walk(x, out),
                And(v) | Or(v) => v.iter().for_each(|c| walk(c, out)),
            }
        }
        let mut out = Vec::new();
        walk(&self.root, &mut out);
        out
    }

    /// Ties the expression to a table: resolves columns, checks types and converts literals.
    ///
    /// Errors: unknown columns (the message lists the known ones), comparisons between
    /// incompatible types (`name = 5` on a text column), literals that are not valid for the type
    /// they are compared with (`age > 'abc'`), `LIKE` on non-text columns, ...
    pub fn bind<S: Schema + ?Sized>(&self, schema: &S) -> Result<Bound, ExprError> {
        let root = bind::Binder { src: &self.src, schema }.pred(&self.root)?;
        let mut columns = Vec::new();
        root.columns(&mut columns);
        columns.sort_unstable();
        columns.dedup();
        Ok(Bound { root, columns })
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.src)
    }
}

/// An expression bound to a table's columns, ready to evaluate on rows. `Send + Sync`; share it
/// between workers by reference.
#[derive(Debug, Clone)]
pub struct Bound {
    root: bind::BNode,
    columns: Vec<usize>,
}

impl Bound {
    /// Evaluates the expression on one row. `value(i)` is the decoded COPY text of column `i`
    /// (`None` for NULL); it is called only for the indices in [`Bound::column_indices`].
    ///
    /// Returns `Some(true)`, `Some(false)`, or `None` for SQL's unknown (e.g. `x = 1` when `x` is
    /// NULL). Treat unknown as false, as `WHERE` does — or use [`Bound::matches`].
    pub fn eval<'a, F>(&'a self, value: F) -> Option<bool>
    where
        F: Fn(usize) -> Option<&'a [u8]>,
    {
        self.root.eval(&value)
    }

    /// Whether the row satisfies the expression: [`Bound::eval`] with unknown as false.
    pub fn matches<'a, F>(&'a self, value: F) -> bool
    where
        F: Fn(usize) -> Option<&'a [u8]>,
    {
        self.eval(value) == Some(true)
    }

    /// The row indices the expression reads, sorted, without duplicates.
    pub fn column_indices(&self) -> Vec<usize> {
        self.columns.clone()
    }

    /// Whether the expression reads no column (its result is the same for every row).
    pub fn is_constant(&self) -> bool {
        matches!(self.root, bind::BNode::Const(_))
    }
}
