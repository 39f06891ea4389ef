//! The expression grammar, with PostgreSQL's precedence (lowest first):
//!
//! ```text
//! or      := and (OR and)*
//! and     := not (AND not)*
//! not     := NOT not | is
//! is      := cmp ( IS [NOT] (NULL | TRUE | FALSE | UNKNOWN | DISTINCT FROM cmp) | ISNULL | NOTNULL )*
//! cmp     := pred [ (= | <> | != | < | <= | > | >=) pred ]          -- not chainable
//! pred    := unary [ [NOT] (LIKE | ILIKE) unary [ESCAPE unary]
//!                  | [NOT] BETWEEN [SYMMETRIC | ASYMMETRIC] unary AND unary
//!                  | [NOT] IN '(' unary (',' unary)* ')' ]
//! unary   := (- | +) unary | primary
//! primary := ( '(' or ')' | column | literal | type 'string' | CAST '(' or AS type ')' ) ('::' type)*
//! ```

use crate::sql::token::Token;

use super::ExprError;
use super::lex::{Tok, decode_string, lex, valid_number};
use super::types::{Class, apply_modifier, classify, convert};

/// How deeply parentheses and `NOT`s may nest.
pub const MAX_DEPTH: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn test(self, o: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            CmpOp::Eq => o == Equal,
            CmpOp::Ne => o != Equal,
            CmpOp::Lt => o == Less,
            CmpOp::Le => o != Greater,
            CmpOp::Gt => o == Greater,
            CmpOp::Ge => o != Less,
        }
    }

    pub fn sql(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "<>",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// What `IS [NOT] ...` tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IsTest {
    Null,
    True,
    False,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Lit {
    Null,
    Bool(bool),
    /// A numeric literal as written (sign included).
    Num(String),
    /// A string literal, decoded.
    Str(String),
}

/// A type name written in a cast or typed literal.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TypeName {
    pub sql: String,
    pub at: usize,
}

/// The parsed, untyped expression. `at` fields are byte offsets into the source, for messages.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Node {
    Col { name: String, cast: Option<TypeName>, at: usize },
    Lit { lit: Lit, cast: Option<TypeName>, at: usize },
    Cmp { op: CmpOp, l: Box<Node>, r: Box<Node>, at: usize },
    Distinct { l: Box<Node>, r: Box<Node>, neg: bool, at: usize },
    In { x: Box<Node>, items: Vec<Node>, neg: bool, at: usize },
    Between { x: Box<Node>, lo: Box<Node>, hi: Box<Node>, neg: bool, symmetric: bool, at: usize },
    Like { x: Box<Node>, pat: Box<Node>, esc: Option<Box<Node>>, neg: bool, fold: bool, at: usize },
    Is { x: Box<Node>, test: IsTest, neg: bool, at: usize },
    Not(Box<Node>),
    And(Vec<Node>),
    Or(Vec<Node>),
}

impl Node {
    /// The byte offset this node is reported at.
    pub fn at(&self) -> usize {
        match self {
            Node::Col { at, .. }
            | Node::Lit { at, .. }
            | Node::Cmp { at, .. }
            | Node::Distinct { at, .. }
            | Node::In { at, .. }
            | Node::Between { at, .. }
            | Node::Like { at, .. }
            | Node::Is { at, .. } => *at,
            Node::Not(n) => n.at(),
            Node::And(v) | Node::Or(v) => v.first().map_or(0, Node::at),
        }
    }
}

/// Words that cannot be column names without quotes.
const RESERVED: &[&str] = &[
    "all",
    "and",
    "any",
    "array",
    "as",
    "asymmetric",
    "between",
    "case",
    "cast",
    "collate",
    "distinct",
    "else",
    "end",
    "escape",
    "exists",
    "false",
    "from",
    "ilike",
    "in",
    "is",
    "isnull",
    "like",
    "not",
    "notnull",
    "null",
    "or",
    "select",
    "similar",
    "some",
    "symmetric",
    "then",
    "true",
    "when",
    "where",
];

pub(crate) struct Parser<'a> {
    src: &'a str,
    toks: Vec<Tok>,
    i: usize,
    depth: usize,
}

/// Parses a whole expression.
pub(crate) fn parse(src: &str) -> Result<Node, ExprError> {
    let mut p = Parser { src, toks: lex(src), i: 0, depth: 0 };
    if p.toks.is_empty() {
        return Err(p.err_at(src.len(), "empty expression"));
    }
    let node = p.or()?;
    if p.i < p.toks.len() {
        let what = p.describe(p.i);
        let msg = match &p.toks[p.i].tok {
            Token::Other(b')') => "unbalanced ')'".to_string(),
            Token::Other(b';') => "a `;` is not allowed: write only the condition".to_string(),
            _ => format!("expected AND, OR or the end of the expression, found {what}"),
        };
        return Err(p.err(msg));
    }
    Ok(node)
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.i).map(|t| &t.tok)
    }

    fn peek_at(&self, k: usize) -> Option<&Token> {
        self.toks.get(self.i + k).map(|t| &t.tok)
    }

    /// Byte offset of the current token (or the end).
    fn pos(&self) -> usize {
        self.toks.get(self.i).map_or(self.src.len(), |t| t.start)
    }

    fn err_at(&self, at: usize, msg: impl Into<String>) -> ExprError {
        ExprError::syntax(self.src, at, msg.into())
    }

    fn err(&self, msg: impl Into<String>) -> ExprError {
        self.err_at(self.pos(), msg)
    }

    fn describe(&self, i: usize) -> String {
        match self.toks.get(i) {
            None => "the end of the expression".into(),
            Some(t) => {
                let text = self.src.get(t.start..t.end).unwrap_or("");
                match &t.tok {
                    Token::Ident { quoted: false, name } if RESERVED.contains(&name.as_str()) => {
                        format!("keyword {}", name.to_uppercase())
                    }
                    _ => format!("`{text}`"),
                }
            }
        }
    }

    fn kw(&mut self, kw: &str) -> bool {
        if self.peek().is_some_and(|t| t.is_kw(kw)) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn kw_at(&self, k: usize, kw: &str) -> bool {
        self.peek_at(k).is_some_and(|t| t.is_kw(kw))
    }

    fn punct(&mut self, b: u8) -> bool {
        if self.peek().is_some_and(|t| t.is(b)) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect_kw(&mut self, kw: &str, context: &str) -> Result<(), ExprError> {
        if self.kw(kw) {
            Ok(())
        } else {
            Err(self.err(format!("expected {} {context}, found {}", kw.to_uppercase(), self.describe(self.i))))
        }
    }

    fn expect_punct(&mut self, b: u8, context: &str) -> Result<(), ExprError> {
        if self.punct(b) {
            Ok(())
        } else {
            Err(self.err(format!("expected `{}` {context}, found {}", b as char, self.describe(self.i))))
        }
    }

    /// Whether tokens `i` and `i + 1` touch (for two-byte operators).
    fn adjacent(&self, k: usize) -> bool {
        match (self.toks.get(self.i + k), self.toks.get(self.i + k + 1)) {
            (Some(a), Some(b)) => a.end == b.start,
            _ => false,
        }
    }

    fn enter(&mut self) -> Result<(), ExprError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err(format!("expression is nested too deeply (more than {MAX_DEPTH} levels)")));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Node, ExprError> {
        let mut v = vec![self.and()?];
        while self.kw("or") {
            v.push(self.and()?);
        }
        Ok(if v.len() == 1 { v.remove(0) } else { Node::Or(v) })
    }

    fn and(&mut self) -> Result<Node, ExprError> {
        let mut v = vec![self.not()?];
        while self.kw("and") {
            v.push(self.not()?);
        }
        Ok(if v.len() == 1 { v.remove(0) } else { Node::And(v) })
    }

    fn not(&mut self) -> Result<Node, ExprError> {
        if self.kw("not") {
            self.enter()?;
            let inner = self.not()?;
            self.depth -= 1;
            return Ok(Node::Not(Box::new(inner)));
        }
        self.is()
    }

    fn is(&mut self) -> Result<Node, ExprError> {
        let mut x = self.cmp()?;
        loop {
            let at = self.pos();
            if self.kw("isnull") {
                x = Node::Is { x: Box::new(x), test: IsTest::Null, neg: false, at };
            } else if self.kw("notnull") {
                x = Node::Is { x: Box::new(x), test: IsTest::Null, neg: true, at };
            } else if self.kw("is") {
                let neg = self.kw("not");
                let test = if self.kw("null") || self.kw("unknown") {
                    IsTest::Null
                } else if self.kw("true") {
                    IsTest::True
                } else if self.kw("false") {
                    IsTest::False
                } else if self.kw("distinct") {
                    self.expect_kw("from", "after IS DISTINCT")?;
                    let r = self.cmp()?;
                    x = Node::Distinct { l: Box::new(x), r: Box::new(r), neg, at };
                    continue;
                } else {
                    return Err(self.err(format!(
                        "expected NULL, TRUE, FALSE, UNKNOWN or DISTINCT FROM after IS{}, found {}",
                        if neg { " NOT" } else { "" },
                        self.describe(self.i)
                    )));
                };
                x = Node::Is { x: Box::new(x), test, neg, at };
            } else {
                return Ok(x);
            }
        }
    }

    /// A comparison operator at the cursor, and how many tokens it takes.
    fn cmp_op(&self) -> Option<(CmpOp, usize)> {
        let a = match self.peek()? {
            Token::Other(b) => *b,
            _ => return None,
        };
        let b = match self.peek_at(1) {
            Some(Token::Other(b)) if self.adjacent(0) => Some(*b),
            _ => None,
        };
        match (a, b) {
            (b'<', Some(b'>')) => Some((CmpOp::Ne, 2)),
            (b'<', Some(b'=')) => Some((CmpOp::Le, 2)),
            (b'>', Some(b'=')) => Some((CmpOp::Ge, 2)),
            (b'!', Some(b'=')) => Some((CmpOp::Ne, 2)),
            (b'=', Some(b'=')) => None,
            (b'=', _) => Some((CmpOp::Eq, 1)),
            (b'<', _) => Some((CmpOp::Lt, 1)),
            (b'>', _) => Some((CmpOp::Gt, 1)),
            _ => None,
        }
    }

    fn cmp(&mut self) -> Result<Node, ExprError> {
        let l = self.pred()?;
        let Some((op, n)) = self.cmp_op() else {
            if self.peek().is_some_and(|t| t.is(b'=')) {
                return Err(self.err("`==` is not an operator; write `=`"));
            }
            return Ok(l);
        };
        let at = self.pos();
        self.i += n;
        let r = self.pred()?;
        if self.cmp_op().is_some() {
            return Err(self.err("comparisons cannot be chained; combine them with AND"));
        }
        Ok(Node::Cmp { op, l: Box::new(l), r: Box::new(r), at })
    }

    fn pred(&mut self) -> Result<Node, ExprError> {
        let x = self.unary()?;
        let at = self.pos();
        let neg =
            self.kw_at(0, "not") && ["like", "ilike", "between", "in", "similar"].iter().any(|w| self.kw_at(1, w));
        if neg {
            self.i += 1;
        }
        let x = Box::new(x);
        if self.kw("like") || self.kw("ilike") {
            let fold = self.toks[self.i - 1].tok.is_kw("ilike");
            let pat = Box::new(self.unary()?);
            let esc = if self.kw("escape") { Some(Box::new(self.unary()?)) } else { None };
            Ok(Node::Like { x, pat, esc, neg, fold, at })
        } else if self.kw("between") {
            let symmetric = self.kw("symmetric");
            if !symmetric {
                self.kw("asymmetric");
            }
            let lo = Box::new(self.unary()?);
            self.expect_kw("and", "in BETWEEN ... AND ...")?;
            let hi = Box::new(self.unary()?);
            Ok(Node::Between { x, lo, hi, neg, symmetric, at })
        } else if self.kw("in") {
            self.expect_punct(b'(', "after IN")?;
            if self.peek().is_some_and(|t| t.is_kw("select")) {
                return Err(self.err("subqueries are not supported in IN (...); list the values"));
            }
            let mut items = vec![self.unary()?];
            while self.punct(b',') {
                items.push(self.unary()?);
            }
            self.expect_punct(b')', "to close the IN list")?;
            Ok(Node::In { x, items, neg, at })
        } else if self.kw("similar") {
            Err(self.err_at(at, "SIMILAR TO is not supported; use LIKE"))
        } else {
            Ok(*x)
        }
    }

    fn unary(&mut self) -> Result<Node, ExprError> {
        let at = self.pos();
        let mut negate = false;
        let mut signs = 0;
        while let Some(Token::Other(c @ (b'-' | b'+'))) = self.peek() {
            negate ^= *c == b'-';
            signs += 1;
            self.i += 1;
        }
        let node = self.primary()?;
        if signs == 0 {
            return Ok(node);
        }
        match node {
            Node::Lit { lit: Lit::Num(s), cast, .. } => {
                let s = if negate { negate_number(&s) } else { s };
                Ok(Node::Lit { lit: Lit::Num(s), cast, at })
            }
            Node::Lit { lit: Lit::Str(s), cast: Some(ty), .. }
                if matches!(classify(&ty.sql).class, Class::Int | Class::Num | Class::Float) =>
            {
                let s = if negate { negate_number(&s) } else { s };
                Ok(Node::Lit { lit: Lit::Str(s), cast: Some(ty), at })
            }
            Node::Lit { lit: Lit::Null, cast, .. } => Ok(Node::Lit { lit: Lit::Null, cast, at }),
            _ => Err(self.err_at(at, "unary minus and plus apply only to numbers (arithmetic is not supported)")),
        }
    }

    fn primary(&mut self) -> Result<Node, ExprError> {
        let at = self.pos();
        let Some(tok) = self.peek().cloned() else {
            return Err(self.err("expected a column or a value, found the end of the expression"));
        };
        let node = match tok {
            Token::Other(b'(') => {
                self.i += 1;
                self.enter()?;
                if self.peek().is_some_and(|t| t.is_kw("select")) {
                    return Err(self.err("subqueries are not supported"));
                }
                let inner = self.or()?;
                self.expect_punct(b')', "to close `(`")?;
                self.depth -= 1;
                inner
            }
            Token::Number(s) => {
                self.i += 1;
                if !valid_number(&s) {
                    return Err(self.err_at(at, format!("`{s}` is not a valid number")));
                }
                Node::Lit { lit: Lit::Num(s), cast: None, at }
            }
            Token::Str(raw) => {
                self.i += 1;
                let s = decode_string(&raw).map_err(|m| self.err_at(at, m))?;
                Node::Lit { lit: Lit::Str(s), cast: None, at }
            }
            Token::Ident { name, quoted: false }
                if name == "u"
                    && self.peek_at(1).is_some_and(|t| t.is(b'&'))
                    && matches!(self.peek_at(2), Some(Token::Str(s)) if s.starts_with('\''))
                    && self.adjacent(0)
                    && self.adjacent(1) =>
            {
                let Some(Token::Str(raw)) = self.peek_at(2).cloned() else { return Err(self.err("internal error")) };
                self.i += 3;
                if self.peek().is_some_and(|t| t.is_kw("uescape")) {
                    return Err(self.err("UESCAPE is not supported; use the default escape character `\\`"));
                }
                let s = decode_string(&raw).and_then(|s| unicode_escapes(&s)).map_err(|m| self.err_at(at, m))?;
                Node::Lit { lit: Lit::Str(s), cast: None, at }
            }
            Token::Ident { name, quoted: false } if name == "null" => {
                self.i += 1;
                Node::Lit { lit: Lit::Null, cast: None, at }
            }
            Token::Ident { name, quoted: false } if name == "true" || name == "false" => {
                self.i += 1;
                Node::Lit { lit: Lit::Bool(name == "true"), cast: None, at }
            }
            Token::Ident { name, quoted: false } if name == "cast" && self.peek_at(1).is_some_and(|t| t.is(b'(')) => {
                self.i += 2;
                self.enter()?;
                let inner = self.or()?;
                self.expect_kw("as", "in CAST(... AS type)")?;
                let ty = self.type_name()?.ok_or_else(|| self.err("expected a type name after AS"))?;
                self.expect_punct(b')', "to close CAST(")?;
                self.depth -= 1;
                self.apply_cast(inner, ty)?
            }
            Token::Ident { name, quoted } => {
                if let Some(node) = self.typed_literal()? {
                    node
                } else {
                    if !quoted && RESERVED.contains(&name.as_str()) {
                        let word = name.to_uppercase();
                        let msg = match name.as_str() {
                            "case" | "exists" | "any" | "all" | "some" | "array" | "select" => {
                                format!("{word} is not supported in these expressions")
                            }
                            _ => format!(
                                "expected a column or a value, found keyword {word} (quote a column named so: \"{name}\")"
                            ),
                        };
                        return Err(self.err(msg));
                    }
                    self.i += 1;
                    if self.peek().is_some_and(|t| t.is(b'.')) {
                        return Err(self.err_at(at, "qualified names are not supported: write the bare column name"));
                    }
                    if self.peek().is_some_and(|t| t.is(b'(')) {
                        return Err(self.err_at(at, format!("function calls are not supported (`{name}(...)`)")));
                    }
                    Node::Col { name, cast: None, at }
                }
            }
            Token::Other(_) => {
                let what = self.describe(self.i);
                return Err(self.err(format!("expected a column or a value, found {what}")));
            }
        };
        self.casts(node)
    }

    /// Postfix `::type` casts, and `COLLATE "C"` (a no-op: text always compares in C order).
    fn casts(&mut self, mut node: Node) -> Result<Node, ExprError> {
        loop {
            if self.peek().is_some_and(|t| t.is(b':'))
                && self.peek_at(1).is_some_and(|t| t.is(b':'))
                && self.adjacent(0)
            {
                self.i += 2;
                let ty = self.type_name()?.ok_or_else(|| self.err("expected a type name after `::`"))?;
                node = self.apply_cast(node, ty)?;
            } else if self.kw_at(0, "collate") {
                let at = self.pos();
                self.i += 1;
                match self.peek() {
                    Some(Token::Ident { name, .. }) if matches!(name.as_str(), "C" | "POSIX" | "c" | "posix") => {
                        self.i += 1;
                    }
                    _ => {
                        return Err(self.err_at(at, "only COLLATE \"C\" is supported: scrub compares text byte-wise"));
                    }
                }
            } else {
                return Ok(node);
            }
        }
    }

    /// Attaches a cast to a column or literal. A literal cast to a type scrub knows is checked now.
    fn apply_cast(&self, node: Node, ty: TypeName) -> Result<Node, ExprError> {
        match node {
            Node::Col { name, cast: None, at } => Ok(Node::Col { name, cast: Some(ty), at }),
            Node::Col { at, .. } => Err(self.err_at(at, "a column can be cast only once")),
            Node::Lit { lit, at, .. } => {
                let text = match lit {
                    Lit::Null => return Ok(Node::Lit { lit: Lit::Null, cast: Some(ty), at }),
                    Lit::Bool(b) => b.to_string(),
                    Lit::Num(s) | Lit::Str(s) => s,
                };
                let class = classify(&ty.sql);
                convert(&class, &text).map_err(|m| self.err_at(at, m))?;
                let text = apply_modifier(&class, &text).map_err(|m| self.err_at(at, m))?;
                Ok(Node::Lit { lit: Lit::Str(text), cast: Some(ty), at })
            }
            other => {
                Err(self.err_at(ty.at, format!("only columns and values can be cast (near {})", other_desc(&other))))
            }
        }
    }

    /// `type 'string'` (e.g. `DATE '2024-01-01'`), if that is what follows.
    fn typed_literal(&mut self) -> Result<Option<Node>, ExprError> {
        let save = self.i;
        let at = self.pos();
        match self.type_name() {
            Ok(Some(ty)) if matches!(self.peek(), Some(Token::Str(_))) => {
                let Some(Token::Str(raw)) = self.peek().cloned() else { return Ok(None) };
                let lit_at = self.pos();
                self.i += 1;
                let s = decode_string(&raw).map_err(|m| self.err_at(lit_at, m))?;
                let node = Node::Lit { lit: Lit::Str(s), cast: None, at };
                self.apply_cast(node, ty).map(Some)
            }
            _ => {
                self.i = save;
                Ok(None)
            }
        }
    }

    /// A type name: `integer`, `double precision`, `character varying(20)`,
    /// `timestamp(3) with time zone`, `numeric(10, 2)`, `public.mood`, `text[]`.
    fn type_name(&mut self) -> Result<Option<TypeName>, ExprError> {
        let at = self.pos();
        let Some(Token::Ident { name, quoted }) = self.peek().cloned() else { return Ok(None) };
        self.i += 1;
        let mut words = vec![if quoted { format!("\"{name}\"") } else { name.clone() }];
        if !quoted {
            match name.as_str() {
                "double" => {
                    self.expect_kw("precision", "after DOUBLE")?;
                    words.push("precision".into());
                }
                "character" | "char" | "national" | "bit" => {
                    if name == "national" && self.kw("character") {
                        words.push("character".into());
                    }
                    if self.kw("varying") {
                        words.push("varying".into());
                    }
                }
                _ => {}
            }
        }
        if self.peek().is_some_and(|t| t.is(b'.')) {
            self.i += 1;
            match self.peek().cloned() {
                Some(Token::Ident { name, quoted }) => {
                    self.i += 1;
                    let last = words.pop().unwrap_or_default();
                    words.push(format!("{last}.{}", if quoted { format!("\"{name}\"") } else { name }));
                }
                _ => return Err(self.err("expected a type name after `.`")),
            }
        }
        let mut sql = words.join(" ");
        if self.punct(b'(') {
            let mut args = Vec::new();
            loop {
                match self.peek().cloned() {
                    Some(Token::Number(n)) => {
                        self.i += 1;
                        args.push(n);
                    }
                    _ => return Err(self.err("expected a number in the type modifier")),
                }
                if !self.punct(b',') {
                    break;
                }
            }
            self.expect_punct(b')', "to close the type modifier")?;
            sql = format!("{sql}({})", args.join(","));
        }
        if matches!(name.as_str(), "timestamp" | "time")
            && !quoted
            && (self.kw_at(0, "with") || self.kw_at(0, "without"))
        {
            let with = self.kw("with");
            if !with {
                self.i += 1;
            }
            self.expect_kw("time", "in WITH/WITHOUT TIME ZONE")?;
            self.expect_kw("zone", "in WITH/WITHOUT TIME ZONE")?;
            sql = format!("{sql} {} time zone", if with { "with" } else { "without" });
        }
        while self.peek().is_some_and(|t| t.is(b'[')) && self.peek_at(1).is_some_and(|t| t.is(b']')) {
            self.i += 2;
            sql.push_str("[]");
        }
        Ok(Some(TypeName { sql, at }))
    }
}

fn other_desc(node: &Node) -> &'static str {
    match node {
        Node::Cmp { .. } | Node::Distinct { .. } | Node::Is { .. } => "a comparison",
        Node::In { .. } => "an IN list",
        Node::Between { .. } => "a BETWEEN",
        Node::Like { .. } => "a LIKE",
        Node::Not(_) | Node::And(_) | Node::Or(_) => "a condition",
        Node::Col { .. } | Node::Lit { .. } => "a value",
    }
}

/// Decodes the escapes of a `U&'...'` string: `\XXXX`, `\+XXXXXX` and `\\`.
fn unicode_escapes(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(k) = rest.find('\\') {
        out.push_str(&rest[..k]);
        rest = &rest[k + 1..];
        if let Some(r) = rest.strip_prefix('\\') {
            out.push('\\');
            rest = r;
            continue;
        }
        let (len, r) = match rest.strip_prefix('+') {
            Some(r) => (6, r),
            None => (4, rest),
        };
        let code = r
            .get(..len)
            .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .and_then(char::from_u32)
            .filter(|&c| c != '\0')
            .ok_or("invalid Unicode escape in U&'...': use \\XXXX or \\+XXXXXX (no surrogates)")?;
        out.push(code);
        rest = &r[len..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Flips the sign of a numeric literal's text.
fn negate_number(s: &str) -> String {
    match s.strip_prefix('-') {
        Some(rest) => rest.to_string(),
        None => format!("-{}", s.strip_prefix('+').unwrap_or(s)),
    }
}
