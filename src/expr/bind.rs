//! Binding (names to row indices, literals to values of each comparison's class) and evaluation.

use std::cmp::Ordering;

use super::like::Like;
use super::parse::{CmpOp, IsTest, Lit, Node, TypeName};
use super::types::{
    Class, Owned, Reader, Trim, Ty, Val, classify, compare, convert, parse_bool, promote, read, trim_pad, unify,
};
use super::{ExprError, Schema};
use crate::sql::token::{needs_quotes, quote_ident};

/// An operand of a bound comparison.
#[derive(Clone, Debug)]
pub(crate) enum Operand {
    Col { idx: usize, reader: Reader },
    Lit(Owned),
    Null,
}

/// A bound condition.
#[derive(Clone, Debug)]
pub(crate) enum BNode {
    Const(Option<bool>),
    /// A boolean column used as a condition.
    Truth(Operand),
    Cmp(CmpOp, Operand, Operand),
    Distinct {
        a: Operand,
        b: Operand,
        neg: bool,
    },
    /// `x [NOT] IN (literals)`; `items` sorted by the class's order.
    In {
        x: Operand,
        items: Box<[Owned]>,
        has_null: bool,
        neg: bool,
    },
    Between {
        x: Operand,
        lo: Operand,
        hi: Operand,
        neg: bool,
        symmetric: bool,
    },
    Like {
        x: Operand,
        m: Box<Like>,
        neg: bool,
    },
    IsNull {
        x: Operand,
        neg: bool,
    },
    Is {
        p: Box<BNode>,
        test: IsTest,
        neg: bool,
    },
    Not(Box<BNode>),
    And(Box<[BNode]>),
    Or(Box<[BNode]>),
}

fn val<'a>(op: &'a Operand, get: &impl Fn(usize) -> Option<&'a [u8]>) -> Option<Val<'a>> {
    match op {
        Operand::Col { idx, reader } => read(*reader, get(*idx)?),
        Operand::Lit(o) => Some(o.view()),
        Operand::Null => None,
    }
}

fn cmp3(a: &Option<Val<'_>>, b: &Option<Val<'_>>, op: CmpOp) -> Option<bool> {
    Some(op.test(compare(a.as_ref()?, b.as_ref()?)?))
}

fn and3(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

fn or3(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), Some(false)) => Some(false),
        _ => None,
    }
}

impl BNode {
    pub fn eval<'a>(&'a self, get: &impl Fn(usize) -> Option<&'a [u8]>) -> Option<bool> {
        match self {
            BNode::Const(v) => *v,
            BNode::Truth(op) => match val(op, get)? {
                Val::Bool(b) => Some(b),
                _ => None,
            },
            BNode::Cmp(op, a, b) => {
                let x = val(a, get)?;
                let y = val(b, get)?;
                Some(op.test(compare(&x, &y)?))
            }
            BNode::Distinct { a, b, neg } => {
                let distinct = match (val(a, get), val(b, get)) {
                    (None, None) => false,
                    (Some(x), Some(y)) => compare(&x, &y) != Some(Ordering::Equal),
                    _ => true,
                };
                Some(distinct != *neg)
            }
            BNode::In { x, items, has_null, neg } => {
                let x = val(x, get)?;
                let found = items.binary_search_by(|it| compare(&it.view(), &x).unwrap_or(Ordering::Less)).is_ok();
                let r = if found {
                    Some(true)
                } else if *has_null {
                    None
                } else {
                    Some(false)
                };
                if *neg { r.map(|b| !b) } else { r }
            }
            BNode::Between { x, lo, hi, neg, symmetric } => {
                let (x, lo, hi) = (val(x, get), val(lo, get), val(hi, get));
                let within = |lo, hi| and3(cmp3(&x, lo, CmpOp::Ge), cmp3(&x, hi, CmpOp::Le));
                let mut r = within(&lo, &hi);
                if *symmetric {
                    r = or3(r, within(&hi, &lo));
                }
                if *neg { r.map(|b| !b) } else { r }
            }
            BNode::Like { x, m, neg } => match val(x, get)? {
                Val::Text(t) => Some(m.matches(t) != *neg),
                _ => None,
            },
            BNode::IsNull { x, neg } => {
                let null = match x {
                    Operand::Col { idx, .. } => get(*idx).is_none(),
                    Operand::Lit(_) => false,
                    Operand::Null => true,
                };
                Some(null != *neg)
            }
            BNode::Is { p, test, neg } => {
                let r = p.eval(get);
                let hit = match test {
                    IsTest::Null => r.is_none(),
                    IsTest::True => r == Some(true),
                    IsTest::False => r == Some(false),
                };
                Some(hit != *neg)
            }
            BNode::Not(p) => p.eval(get).map(|b| !b),
            BNode::And(v) => {
                let mut r = Some(true);
                for n in v.iter() {
                    match n.eval(get) {
                        Some(false) => return Some(false),
                        None => r = None,
                        Some(true) => {}
                    }
                }
                r
            }
            BNode::Or(v) => {
                let mut r = Some(false);
                for n in v.iter() {
                    match n.eval(get) {
                        Some(true) => return Some(true),
                        None => r = None,
                        Some(false) => {}
                    }
                }
                r
            }
        }
    }

    /// Collects the row indices this node reads.
    pub fn columns(&self, out: &mut Vec<usize>) {
        let mut op = |o: &Operand| {
            if let Operand::Col { idx, .. } = o {
                out.push(*idx);
            }
        };
        match self {
            BNode::Const(_) => {}
            BNode::Truth(x) | BNode::In { x, .. } | BNode::Like { x, .. } | BNode::IsNull { x, .. } => op(x),
            BNode::Cmp(_, a, b) | BNode::Distinct { a, b, .. } => {
                op(a);
                op(b);
            }
            BNode::Between { x, lo, hi, .. } => {
                op(x);
                op(lo);
                op(hi);
            }
            BNode::Is { p, .. } | BNode::Not(p) => p.columns(out),
            BNode::And(v) | BNode::Or(v) => v.iter().for_each(|n| n.columns(out)),
        }
    }
}

/// One side of a comparison, before conversion.
#[derive(Clone, Debug)]
enum Side {
    Col {
        idx: usize,
        ty: Ty,
        trim: Trim,
        name: String,
    },
    /// A literal: its text and, when known, its type (typed literals, numbers, booleans).
    Lit {
        text: String,
        ty: Option<Ty>,
        shown: String,
    },
    Null {
        ty: Option<Ty>,
    },
}

impl Side {
    fn class(&self) -> Option<Class> {
        match self {
            Side::Col { ty, .. } => Some(ty.class),
            Side::Lit { ty, .. } | Side::Null { ty } => ty.as_ref().map(|t| t.class),
        }
    }

    fn describe(&self) -> String {
        match self {
            Side::Col { ty, name, .. } => format!("column `{name}` ({})", ty.sql),
            Side::Lit { shown, ty: Some(ty), .. } => format!("{shown} ({})", ty.sql),
            Side::Lit { shown, .. } => shown.clone(),
            Side::Null { .. } => "NULL".into(),
        }
    }
}

pub(crate) struct Binder<'s, S: Schema + ?Sized> {
    pub src: &'s str,
    pub schema: &'s S,
}

impl<S: Schema + ?Sized> Binder<'_, S> {
    fn err(&self, at: usize, msg: impl Into<String>) -> ExprError {
        ExprError::bind(self.src, at, msg.into())
    }

    /// Binds a condition, folding it to a constant when it reads no column.
    pub fn pred(&self, n: &Node) -> Result<BNode, ExprError> {
        let node = self.pred_inner(n)?;
        let mut cols = Vec::new();
        node.columns(&mut cols);
        if cols.is_empty() && !matches!(node, BNode::Const(_)) {
            let no_row = |_: usize| -> Option<&[u8]> { None };
            return Ok(BNode::Const(node.eval(&no_row)));
        }
        Ok(node)
    }

    fn pred_inner(&self, n: &Node) -> Result<BNode, ExprError> {
        Ok(match n {
            Node::And(v) => BNode::And(v.iter().map(|c| self.pred(c)).collect::<Result<_, _>>()?),
            Node::Or(v) => BNode::Or(v.iter().map(|c| self.pred(c)).collect::<Result<_, _>>()?),
            Node::Not(c) => BNode::Not(Box::new(self.pred(c)?)),
            Node::Cmp { op, l, r, at } => {
                let sides = [self.side(l, op.sql())?, self.side(r, op.sql())?];
                let [a, b] = self.operands(&sides, *at)?;
                BNode::Cmp(*op, a, b)
            }
            Node::Distinct { l, r, neg, at } => {
                let sides = [self.side(l, "IS DISTINCT FROM")?, self.side(r, "IS DISTINCT FROM")?];
                let [a, b] = self.operands(&sides, *at)?;
                BNode::Distinct { a, b, neg: *neg }
            }
            Node::Between { x, lo, hi, neg, symmetric, at } => {
                let sides = [self.side(x, "BETWEEN")?, self.side(lo, "BETWEEN")?, self.side(hi, "BETWEEN")?];
                let [x, lo, hi] = self.operands(&sides, *at)?;
                BNode::Between { x, lo, hi, neg: *neg, symmetric: *symmetric }
            }
            Node::In { x, items, neg, at } => self.in_list(x, items, *neg, *at)?,
            Node::Like { x, pat, esc, neg, fold, at } => self.like(x, pat, esc.as_deref(), *neg, *fold, *at)?,
            Node::Is { x, test: IsTest::Null, neg, .. } if matches!(**x, Node::Col { .. } | Node::Lit { .. }) => {
                let side = self.side(x, "IS NULL")?;
                let x = match side {
                    Side::Col { idx, .. } => Operand::Col { idx, reader: text_reader(Trim::Never) },
                    // Any non-NULL value: only its presence matters.
                    Side::Lit { .. } => Operand::Lit(Owned::Bool(true)),
                    Side::Null { .. } => Operand::Null,
                };
                BNode::IsNull { x, neg: *neg }
            }
            Node::Is { x, test, neg, .. } => BNode::Is { p: Box::new(self.pred(x)?), test: *test, neg: *neg },
            Node::Col { name, cast, at } => {
                let side = self.column(name, cast.as_ref(), *at)?;
                match side {
                    Side::Col { idx, ty, trim, .. } if ty.class == Class::Bool => {
                        BNode::Truth(Operand::Col { idx, reader: Reader { class: Class::Bool, single: false, trim } })
                    }
                    other => {
                        return Err(self.err(
                            *at,
                            format!(
                                "{} is not a boolean; compare it with something (e.g. `{name} = ...`)",
                                other.describe()
                            ),
                        ));
                    }
                }
            }
            Node::Lit { lit, cast, at } => {
                let b = match (lit, cast) {
                    (Lit::Null, _) => None,
                    (Lit::Bool(b), None) => Some(*b),
                    (Lit::Str(s), None) => Some(parse_bool(s.as_bytes()).ok_or_else(|| {
                        self.err(*at, format!("'{s}' is not a boolean, so it cannot be a condition"))
                    })?),
                    (Lit::Str(s), Some(ty)) if classify(&ty.sql).class == Class::Bool => parse_bool(s.as_bytes()),
                    _ => return Err(self.err(*at, "a condition is expected here, found a value")),
                };
                BNode::Const(b)
            }
        })
    }

    /// Resolves a column (and its cast).
    fn column(&self, name: &str, cast: Option<&TypeName>, at: usize) -> Result<Side, ExprError> {
        let Some((idx, type_sql)) = self.schema.column(name) else {
            let known = self.schema.column_names();
            let list = if known.is_empty() {
                "the table has no columns".to_string()
            } else {
                let shown: Vec<String> =
                    known.iter().map(|n| if needs_quotes(n) { quote_ident(n) } else { n.clone() }).collect();
                format!("known columns: {}", shown.join(", "))
            };
            let hint = if known.iter().any(|k| k.eq_ignore_ascii_case(name) && k != name) {
                " (unquoted names are folded to lower case: quote mixed-case names, e.g. \"Name\")"
            } else {
                ""
            };
            return Err(self.err(at, format!("unknown column `{name}`{hint}; {list}")));
        };
        let ty = classify(type_sql);
        let trim = if ty.padded { Trim::InComparisons } else { Trim::Never };
        let Some(cast) = cast else { return Ok(Side::Col { idx, ty, trim, name: name.to_string() }) };
        let to = classify(&cast.sql);
        let (from_sql, to_sql) = (ty.sql.clone(), to.sql.clone());
        let fail = |why: &str| self.err(cast.at, format!("cannot cast column `{name}` ({from_sql}) to {to_sql}{why}"));
        let (ty, trim) = if to.class == Class::Text {
            match ty.class {
                Class::Text if ty.padded && !to.padded => (to, Trim::Always),
                Class::Text if !ty.padded && to.padded => {
                    return Err(fail(": padding or truncating to character(n) is not supported"));
                }
                Class::Text => (ty, trim),
                Class::Bool => {
                    return Err(fail(
                        ": boolean text is 'true'/'false' in SQL but 't'/'f' in the dump; compare with TRUE or FALSE",
                    ));
                }
                // The dump holds each value's text form, which is what `::text` gives.
                _ => (to, Trim::Never),
            }
        } else if to.class == ty.class {
            (ty, trim)
        } else if unify(ty.class, to.class) == Some(to.class) {
            let single = ty.single && ty.class == Class::Float;
            (Ty { single, ..to }, Trim::Never)
        } else {
            let hint = match (ty.class, to.class) {
                (Class::Ts | Class::Tstz, Class::Date) => {
                    format!("; compare with a range instead, e.g. {name} >= '2024-01-31' AND {name} < '2024-02-01'")
                }
                _ => String::new(),
            };
            return Err(fail(&format!(
                ": only widening casts (integer to numeric, date to timestamp, ...) and casts to text are supported{hint}"
            )));
        };
        Ok(Side::Col { idx, ty, trim, name: name.to_string() })
    }

    /// One side of a comparison: a column or a literal.
    fn side(&self, n: &Node, op: &str) -> Result<Side, ExprError> {
        match n {
            Node::Col { name, cast, at } => self.column(name, cast.as_ref(), *at),
            Node::Lit { lit, cast, .. } => {
                let typed = cast.as_ref().map(|c| classify(&c.sql));
                Ok(match lit {
                    Lit::Null => Side::Null { ty: typed },
                    Lit::Bool(b) => Side::Lit { text: b.to_string(), ty: Some(Ty::of(Class::Bool)), shown: b.to_string().to_uppercase() },
                    Lit::Num(s) => {
                        let integral = !s.contains(['.', 'e', 'E']);
                        let fits = s.parse::<i64>().is_ok();
                        let ty = Ty::of(if integral && fits { Class::Int } else { Class::Num });
                        Side::Lit { text: s.clone(), ty: Some(ty), shown: format!("the number {s}") }
                    }
                    Lit::Str(s) => Side::Lit { text: s.clone(), shown: format!("'{s}'"), ty: typed },
                })
            }
            other => Err(self.err(
                other.at(),
                format!("expected a column or a value as an operand of {op}, found a condition (use AND, OR, IS TRUE or IS FALSE)"),
            )),
        }
    }

    /// Converts the sides of one comparison to operands of their common class.
    fn operands<const N: usize>(&self, sides: &[Side; N], at: usize) -> Result<[Operand; N], ExprError> {
        let class = self.common(sides, at)?;
        // An untyped literal takes the type of the (first) column it is compared with, as in SQL.
        let adopt = sides.iter().find_map(|s| match s {
            Side::Col { ty, .. } if ty.class == class => Some(ty.clone()),
            Side::Lit { ty: Some(ty), .. } if ty.class == class => Some(ty.clone()),
            _ => None,
        });
        let mut out = Vec::with_capacity(N);
        for s in sides {
            out.push(self.operand(s, class, adopt.as_ref(), at)?);
        }
        out.try_into().map_err(|_| self.err(at, "internal error: operand count"))
    }

    fn common(&self, sides: &[Side], at: usize) -> Result<Class, ExprError> {
        let mut k: Option<(Class, &Side)> = None;
        for s in sides {
            let Some(c) = s.class() else { continue };
            k = match k {
                None => Some((c, s)),
                Some((k0, first)) => match unify(k0, c) {
                    Some(u) => Some((u, first)),
                    None => {
                        let hint = match (first, s) {
                            (Side::Col { ty, .. }, Side::Lit { ty: Some(lt), text, .. })
                            | (Side::Lit { ty: Some(lt), text, .. }, Side::Col { ty, .. })
                                if ty.class == Class::Text && matches!(lt.class, Class::Int | Class::Num) =>
                            {
                                format!("; quote the value: '{text}'")
                            }
                            _ => String::new(),
                        };
                        return Err(
                            self.err(at, format!("cannot compare {} with {}{hint}", first.describe(), s.describe()))
                        );
                    }
                },
            };
        }
        Ok(k.map_or(Class::Text, |(c, _)| c))
    }

    fn operand(&self, s: &Side, class: Class, adopt: Option<&Ty>, at: usize) -> Result<Operand, ExprError> {
        Ok(match s {
            Side::Col { idx, ty, trim, .. } => {
                let single = ty.single && ty.class == Class::Float;
                Operand::Col { idx: *idx, reader: Reader { class, single, trim: *trim } }
            }
            Side::Null { .. } => Operand::Null,
            Side::Lit { text, ty, shown } => {
                let (ty, v) = match ty {
                    Some(t) => (t.clone(), convert(t, text)),
                    None => {
                        let t = adopt.cloned().unwrap_or_else(|| Ty::of(class));
                        let v = convert(&t, text);
                        (t, v)
                    }
                };
                let v = v.map_err(|m| self.err(at, format!("cannot use {shown} here: {m}")))?;
                Operand::Lit(promote(v, ty.class, class).map_err(|m| self.err(at, m))?)
            }
        })
    }

    fn in_list(&self, x: &Node, items: &[Node], neg: bool, at: usize) -> Result<BNode, ExprError> {
        let mut sides = vec![self.side(x, "IN")?];
        for it in items {
            sides.push(self.side(it, "IN")?);
        }
        let class = self.common(&sides, at)?;
        let adopt = sides.iter().find_map(|s| match s {
            Side::Col { ty, .. } | Side::Lit { ty: Some(ty), .. } if ty.class == class => Some(ty.clone()),
            _ => None,
        });
        let ops = sides.iter().map(|s| self.operand(s, class, adopt.as_ref(), at)).collect::<Result<Vec<_>, _>>()?;
        let mut ops = ops.into_iter();
        let x = ops.next().unwrap_or(Operand::Null);
        let rest: Vec<Operand> = ops.collect();
        if rest.iter().all(|o| !matches!(o, Operand::Col { .. })) {
            let has_null = rest.iter().any(|o| matches!(o, Operand::Null));
            let mut values: Vec<Owned> =
                rest.into_iter().filter_map(|o| if let Operand::Lit(v) = o { Some(v) } else { None }).collect();
            let order = |a: &Owned, b: &Owned| compare(&a.view(), &b.view()).unwrap_or(Ordering::Equal);
            values.sort_by(order);
            values.dedup_by(|a, b| order(a, b) == Ordering::Equal);
            return Ok(BNode::In { x, items: values.into_boxed_slice(), has_null, neg });
        }
        // Columns in the list: x = a OR x = b ...
        let any: Box<[BNode]> = rest.into_iter().map(|o| BNode::Cmp(CmpOp::Eq, x.clone(), o)).collect();
        Ok(if neg { BNode::Not(Box::new(BNode::Or(any))) } else { BNode::Or(any) })
    }

    fn like(
        &self,
        x: &Node,
        pat: &Node,
        esc: Option<&Node>,
        neg: bool,
        fold: bool,
        at: usize,
    ) -> Result<BNode, ExprError> {
        let op = if fold { "ILIKE" } else { "LIKE" };
        let x = match self.side(x, op)? {
            Side::Col { idx, ty, trim, name } => {
                if ty.class != Class::Text {
                    return Err(self.err(
                        at,
                        format!("{op} needs text, but column `{name}` is {}; compare its text form with `{name}::text {op} ...`", ty.sql),
                    ));
                }
                // LIKE sees a character(n) value with its padding, unless cast to text.
                let trim = if trim == Trim::Always { Trim::Always } else { Trim::Never };
                Operand::Col { idx, reader: text_reader(trim) }
            }
            Side::Lit { text, ty, shown } => {
                if ty.as_ref().is_some_and(|t| t.class != Class::Text) {
                    return Err(self.err(at, format!("{op} needs text, found {shown}")));
                }
                Operand::Lit(Owned::Text(text.into_bytes().into()))
            }
            Side::Null { .. } => Operand::Null,
        };
        let text_lit = |n: &Node, what: &str| -> Result<Option<String>, ExprError> {
            match n {
                Node::Lit { lit: Lit::Null, .. } => Ok(None),
                Node::Lit { lit: Lit::Str(s), cast, .. }
                    if cast.as_ref().is_none_or(|c| classify(&c.sql).class == Class::Text) =>
                {
                    // A character(n) pattern is converted to text, which drops its padding.
                    let padded = cast.as_ref().is_some_and(|c| classify(&c.sql).padded);
                    let s =
                        if padded { String::from_utf8_lossy(trim_pad(s.as_bytes())).into_owned() } else { s.clone() };
                    Ok(Some(s))
                }
                other => Err(self.err(other.at(), format!("the {what} of {op} must be a string literal"))),
            }
        };
        let Some(pattern) = text_lit(pat, "pattern")? else { return Ok(BNode::Const(None)) };
        let escape = match esc {
            None => Some('\\'),
            Some(e) => {
                let Some(e_text) = text_lit(e, "ESCAPE")? else { return Ok(BNode::Const(None)) };
                let mut chars = e_text.chars();
                match (chars.next(), chars.next()) {
                    (None, _) => None,
                    (Some(c), None) => Some(c),
                    _ => return Err(self.err(e.at(), "ESCAPE must be a single character (or '' for none)")),
                }
            }
        };
        let m = Like::new(&pattern, escape, fold).map_err(|m| self.err(pat.at(), m))?;
        Ok(BNode::Like { x, m: Box::new(m), neg })
    }
}

fn text_reader(trim: Trim) -> Reader {
    Reader { class: Class::Text, single: false, trim }
}
