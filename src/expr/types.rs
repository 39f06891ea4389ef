//! Type classes: how a column's declared type decides the way its COPY text is compared.

use std::cmp::Ordering;

use super::datetime::{date_to_timestamp, parse_date, parse_time, parse_timestamp};
use super::num::{NumKind, NumOwned, NumRef, cmp_float, cmp_num, parse_float, parse_int, parse_num};

/// How values of a type are compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    /// `smallint`, `integer`, `bigint`: exact integers.
    Int,
    /// `numeric`, `decimal`: exact decimals.
    Num,
    /// `real`, `double precision`: binary floating point.
    Float,
    /// Text types and every type not listed here: bytes (C collation).
    Text,
    Bool,
    Date,
    /// `time without time zone`.
    Time,
    /// `timestamp without time zone`.
    Ts,
    /// `timestamp with time zone`.
    Tstz,
    Uuid,
}

impl Class {
    pub fn name(self) -> &'static str {
        match self {
            Class::Int => "integer",
            Class::Num => "numeric",
            Class::Float => "double precision",
            Class::Text => "text",
            Class::Bool => "boolean",
            Class::Date => "date",
            Class::Time => "time",
            Class::Ts => "timestamp",
            Class::Tstz => "timestamptz",
            Class::Uuid => "uuid",
        }
    }
}

/// A declared type, classified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Ty {
    pub class: Class,
    /// `real`: values are rounded to `f32`.
    pub single: bool,
    /// `character(n)`: trailing spaces are insignificant in comparisons.
    pub padded: bool,
    /// Integer width in bits (16, 32, 64), for range checks of literals.
    pub bits: u32,
    /// The type modifier, e.g. `[10, 2]` for `numeric(10,2)`.
    pub mods: Vec<i64>,
    /// The type as written, for messages.
    pub sql: String,
}

impl Ty {
    pub fn of(class: Class) -> Ty {
        Ty { class, single: false, padded: false, bits: 64, mods: Vec::new(), sql: class.name().to_string() }
    }
}

/// Classifies a type as pg_dump writes it (`integer`, `numeric(10,2)`, `character varying(20)`,
/// `timestamp(3) with time zone`, `public.mood`, `integer[]`, ...). Unknown types are text.
pub(crate) fn classify(type_sql: &str) -> Ty {
    let sql = type_sql.trim().to_string();
    let mut ty = Ty { class: Class::Text, single: false, padded: false, bits: 64, mods: Vec::new(), sql: sql.clone() };
    if sql.contains('[') || sql.contains('"') {
        // Arrays, and quoted names such as the internal `"char"` type: compared as text.
        return ty;
    }
    let lower = sql.to_ascii_lowercase();
    let lower = lower.strip_prefix("pg_catalog.").unwrap_or(&lower);
    // Drop type modifiers, keeping the precision of `float(p)`.
    let mut base = String::new();
    let mut modifier = String::new();
    let mut depth = 0;
    for c in lower.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ if depth > 0 => modifier.push(c),
            _ => base.push(c),
        }
    }
    let base = base.split_whitespace().collect::<Vec<_>>().join(" ");
    ty.mods = modifier.split(',').filter_map(|m| m.trim().parse().ok()).collect();
    let (class, bits) = match base.as_str() {
        "smallint" | "int2" | "smallserial" | "serial2" => (Class::Int, 16),
        "integer" | "int" | "int4" | "serial" | "serial4" => (Class::Int, 32),
        "bigint" | "int8" | "bigserial" | "serial8" => (Class::Int, 64),
        "numeric" | "decimal" => (Class::Num, 64),
        "real" | "float4" => {
            ty.single = true;
            (Class::Float, 64)
        }
        "float" => {
            ty.single = modifier.trim().parse::<u32>().is_ok_and(|p| p <= 24);
            (Class::Float, 64)
        }
        "double precision" | "float8" => (Class::Float, 64),
        "character" | "char" | "bpchar" | "national character" | "nchar" => {
            ty.padded = true;
            (Class::Text, 64)
        }
        "boolean" | "bool" => (Class::Bool, 64),
        "date" => (Class::Date, 64),
        "time" | "time without time zone" => (Class::Time, 64),
        "timestamp" | "timestamp without time zone" => (Class::Ts, 64),
        "timestamptz" | "timestamp with time zone" => (Class::Tstz, 64),
        "uuid" => (Class::Uuid, 64),
        _ => (Class::Text, 64),
    };
    ty.class = class;
    ty.bits = bits;
    if !matches!(
        base.as_str(),
        "character varying"
            | "varchar"
            | "character"
            | "char"
            | "bpchar"
            | "national character"
            | "nchar"
            | "numeric"
            | "decimal"
    ) {
        ty.mods.clear();
    }
    ty
}

/// Applies an explicit cast's type modifier to literal text, as PostgreSQL does:
/// `'Bob'::varchar(2)` is `'Bo'`, `'ab'::char(3)` is `'ab '`, `19.995::numeric(10,2)` is `20.00`
/// (and `12345.6::numeric(3,1)` is an overflow). Other modifiers are ignored.
pub(crate) fn apply_modifier(ty: &Ty, text: &str) -> Result<String, String> {
    match (ty.class, ty.mods.as_slice()) {
        (Class::Text, &[n]) => {
            // PostgreSQL's limit, which also bounds the padding below.
            const MAX_LEN: i64 = 10_485_760;
            if !(1..=MAX_LEN).contains(&n) {
                return Err(format!("length for type {} must be between 1 and {MAX_LEN}", ty.sql));
            }
            let n = usize::try_from(n).unwrap_or(0);
            let mut out: String = text.chars().take(n).collect();
            if ty.padded {
                let len = out.chars().count();
                out.extend(std::iter::repeat_n(' ', n.saturating_sub(len)));
            }
            Ok(out)
        }
        (Class::Num, &[p]) => round_numeric(text, p, 0),
        (Class::Num, &[p, s]) => round_numeric(text, p, s),
        _ => Ok(text.to_string()),
    }
}

/// Rounds decimal text to `scale` fractional digits (half away from zero), checking `precision`.
fn round_numeric(text: &str, precision: i64, scale: i64) -> Result<String, String> {
    let n = parse_num(text.as_bytes()).ok_or_else(|| format!("'{text}' is not a valid numeric"))?;
    let overflow = || format!("numeric field overflow: {text} does not fit numeric({precision},{scale})");
    match n.kind {
        NumKind::NaN => return Ok("NaN".into()),
        NumKind::PosInf | NumKind::NegInf => return Err(overflow()),
        NumKind::Finite => {}
    }
    let mut digits: Vec<u8> = n.a.iter().chain(n.b).copied().collect();
    let mut point = n.point;
    let keep = point.saturating_add(scale);
    if keep < 0 {
        digits.clear();
    } else if let Ok(keep) = usize::try_from(keep)
        && keep < digits.len()
    {
        let up = digits[keep] >= b'5';
        digits.truncate(keep);
        if up {
            let mut i = keep;
            loop {
                if i == 0 {
                    digits.insert(0, b'1');
                    point += 1;
                    break;
                }
                i -= 1;
                if digits[i] == b'9' {
                    digits[i] = b'0';
                } else {
                    digits[i] += 1;
                    break;
                }
            }
        }
    }
    if digits.iter().all(|&d| d == b'0') {
        return Ok("0".into());
    }
    if point > precision.saturating_sub(scale) {
        return Err(overflow());
    }
    let sign = if n.neg { "-" } else { "" };
    Ok(format!("{sign}0.{}e{point}", String::from_utf8_lossy(&digits)))
}

/// The class both sides of a comparison are converted to, as PostgreSQL's implicit casts do:
/// integers widen to numeric, exact numbers to floating point, dates to timestamps, timestamps to
/// timestamptz (at UTC).
pub(crate) fn unify(a: Class, b: Class) -> Option<Class> {
    use Class::*;
    match (a, b) {
        _ if a == b => Some(a),
        (Int, Num) | (Num, Int) => Some(Num),
        (Int | Num, Float) | (Float, Int | Num) => Some(Float),
        (Date, Ts) | (Ts, Date) => Some(Ts),
        (Date | Ts, Tstz) | (Tstz, Date | Ts) => Some(Tstz),
        _ => None,
    }
}

/// When trailing spaces are dropped from a text value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Trim {
    Never,
    /// `character(n)` compared with `=`, `<`, ...; LIKE sees the padding.
    InComparisons,
    /// `character(n)` cast to text.
    Always,
}

/// How to read one column's COPY text for one comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Reader {
    /// The class compared in.
    pub class: Class,
    /// The column is `real` (only matters when `class` is `Float`).
    pub single: bool,
    pub trim: Trim,
}

/// A value, borrowed from a row or a bound literal.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Val<'a> {
    Int(i128),
    Num(NumRef<'a>),
    Float(f64),
    Text(&'a [u8]),
    Bool(bool),
    /// Days; also `Time` (microseconds) and timestamps (microseconds): all plain integers.
    Date(i64),
    Time(i64),
    Ts(i64),
    Uuid(u128),
}

/// An owned value: a literal converted at bind time.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Owned {
    Int(i128),
    Num(NumOwned),
    Float(f64),
    Text(Box<[u8]>),
    Bool(bool),
    Date(i64),
    Time(i64),
    Ts(i64),
    Uuid(u128),
}

impl Owned {
    pub fn view(&self) -> Val<'_> {
        match self {
            Owned::Int(v) => Val::Int(*v),
            Owned::Num(n) => Val::Num(n.view()),
            Owned::Float(f) => Val::Float(*f),
            Owned::Text(t) => Val::Text(t),
            Owned::Bool(b) => Val::Bool(*b),
            Owned::Date(d) => Val::Date(*d),
            Owned::Time(t) => Val::Time(*t),
            Owned::Ts(t) => Val::Ts(*t),
            Owned::Uuid(u) => Val::Uuid(*u),
        }
    }
}

/// Drops trailing spaces, as `character(n)` comparisons do.
pub(crate) fn trim_pad(b: &[u8]) -> &[u8] {
    let n = b.iter().rev().take_while(|&&c| c == b' ').count();
    &b[..b.len() - n]
}

/// Parses `boolean` input as PostgreSQL does: any prefix of `true`/`false`/`yes`/`no`, `on`,
/// `off` (at least two letters), `1`, `0`, any case, surrounding whitespace ignored.
pub(crate) fn parse_bool(b: &[u8]) -> Option<bool> {
    let s = b.trim_ascii();
    let prefix_of = |word: &[u8]| s.len() <= word.len() && s.eq_ignore_ascii_case(&word[..s.len()]);
    match s.first()?.to_ascii_lowercase() {
        b't' if prefix_of(b"true") => Some(true),
        b'f' if prefix_of(b"false") => Some(false),
        b'y' if prefix_of(b"yes") => Some(true),
        b'n' if prefix_of(b"no") => Some(false),
        b'o' if s.len() >= 2 && prefix_of(b"on") => Some(true),
        b'o' if s.len() >= 2 && prefix_of(b"off") => Some(false),
        b'1' if s.len() == 1 => Some(true),
        b'0' if s.len() == 1 => Some(false),
        _ => None,
    }
}

/// Parses `uuid` input as PostgreSQL does: 32 hex digits, optionally in braces, with an optional
/// hyphen after any group of four digits.
pub(crate) fn parse_uuid(b: &[u8]) -> Option<u128> {
    let mut i = 0;
    let braces = b.first() == Some(&b'{');
    if braces {
        i = 1;
    }
    let hex = |c: u8| (c as char).to_digit(16).map(u128::from);
    let mut v: u128 = 0;
    for k in 0..16 {
        let hi = hex(*b.get(i)?)?;
        let lo = hex(*b.get(i + 1)?)?;
        v = (v << 8) | (hi << 4) | lo;
        i += 2;
        if k % 2 == 1 && k < 15 && b.get(i) == Some(&b'-') {
            i += 1;
        }
    }
    if braces {
        if b.get(i) != Some(&b'}') {
            return None;
        }
        i += 1;
    }
    if i == b.len() { Some(v) } else { None }
}

/// Reads one value. `None` when the text is not valid for the class (the caller treats that as
/// unknown).
pub(crate) fn read(r: Reader, b: &[u8]) -> Option<Val<'_>> {
    Some(match r.class {
        Class::Int => Val::Int(parse_int(b)?),
        Class::Num => Val::Num(parse_num(b)?),
        Class::Float => Val::Float(parse_float(b, r.single)?),
        Class::Text => Val::Text(if r.trim == Trim::Never { b } else { trim_pad(b) }),
        Class::Bool => Val::Bool(parse_bool(b)?),
        Class::Date => Val::Date(parse_date(b)?),
        Class::Time => Val::Time(parse_time(b)?),
        Class::Ts => Val::Ts(parse_timestamp(b, false)?),
        Class::Tstz => Val::Ts(parse_timestamp(b, true)?),
        Class::Uuid => Val::Uuid(parse_uuid(b)?),
    })
}

/// Compares two values of the same class (`None` if the classes differ, which binding prevents).
pub(crate) fn compare(a: &Val<'_>, b: &Val<'_>) -> Option<Ordering> {
    Some(match (a, b) {
        (Val::Int(x), Val::Int(y)) => x.cmp(y),
        (Val::Num(x), Val::Num(y)) => cmp_num(x, y),
        (Val::Float(x), Val::Float(y)) => cmp_float(*x, *y),
        (Val::Text(x), Val::Text(y)) => x.cmp(y),
        (Val::Bool(x), Val::Bool(y)) => x.cmp(y),
        (Val::Date(x), Val::Date(y)) | (Val::Time(x), Val::Time(y)) | (Val::Ts(x), Val::Ts(y)) => x.cmp(y),
        (Val::Uuid(x), Val::Uuid(y)) => x.cmp(y),
        _ => return None,
    })
}

const DEFERRED: &[&str] = &["now", "today", "tomorrow", "yesterday", "allballs", "current"];

/// Converts literal text to a value of the declared type `ty`, with PostgreSQL's checks; the
/// error says why the text is not a valid value.
pub(crate) fn convert(ty: &Ty, text: &str) -> Result<Owned, String> {
    let b = text.as_bytes();
    let bad = || format!("'{text}' is not a valid {}", ty.class.name());
    Ok(match ty.class {
        Class::Int => {
            let v = parse_int(b).ok_or_else(bad)?;
            let (lo, hi) = match ty.bits {
                16 => (i128::from(i16::MIN), i128::from(i16::MAX)),
                32 => (i128::from(i32::MIN), i128::from(i32::MAX)),
                _ => (i128::from(i64::MIN), i128::from(i64::MAX)),
            };
            if v < lo || v > hi {
                return Err(format!("'{text}' is out of range for type {}", ty.sql));
            }
            Owned::Int(v)
        }
        Class::Num => Owned::Num(NumOwned::from_ref(&parse_num(b).ok_or_else(bad)?)),
        Class::Float => {
            let v = parse_float(b, ty.single).ok_or_else(bad)?;
            let lower = text.trim().to_ascii_lowercase();
            if v.is_infinite() && !lower.trim_start_matches(['+', '-']).starts_with("inf") {
                return Err(format!("'{text}' is out of range for type {}", ty.sql));
            }
            Owned::Float(v)
        }
        Class::Text => Owned::Text(if ty.padded { trim_pad(b) } else { b }.into()),
        Class::Bool => Owned::Bool(parse_bool(b).ok_or_else(bad)?),
        Class::Uuid => Owned::Uuid(parse_uuid(b).ok_or_else(bad)?),
        Class::Date | Class::Time | Class::Ts | Class::Tstz => {
            let v = match ty.class {
                Class::Date => parse_date(b).map(Owned::Date),
                Class::Time => parse_time(b).map(Owned::Time),
                Class::Ts => parse_timestamp(b, false).map(Owned::Ts),
                _ => parse_timestamp(b, true).map(Owned::Ts),
            };
            return v.ok_or_else(|| {
                let word = text.trim().to_ascii_lowercase();
                if DEFERRED.contains(&word.as_str()) {
                    format!("'{text}' depends on the current time; write a fixed {} instead", ty.class.name())
                } else {
                    let example = match ty.class {
                        Class::Date => "'2024-01-31'",
                        Class::Time => "'13:45:00'",
                        Class::Ts => "'2024-01-31 13:45:00'",
                        _ => "'2024-01-31 13:45:00+01'",
                    };
                    format!("'{text}' is not a valid {} (write it in ISO form, e.g. {example})", ty.class.name())
                }
            });
        }
    })
}

/// Converts a value of class `from` to class `to` (one of [`unify`]'s widenings).
pub(crate) fn promote(v: Owned, from: Class, to: Class) -> Result<Owned, String> {
    if from == to {
        return Ok(v);
    }
    let fail = || format!("cannot convert a {} to {}", from.name(), to.name());
    Ok(match (v, to) {
        (Owned::Int(i), Class::Num) => {
            let text = i.to_string();
            Owned::Num(NumOwned::from_ref(&parse_num(text.as_bytes()).ok_or_else(fail)?))
        }
        (Owned::Int(i), Class::Float) => Owned::Float(i as f64),
        (Owned::Num(n), Class::Float) => Owned::Float(parse_float(n.to_text().as_bytes(), false).ok_or_else(fail)?),
        (Owned::Date(d), Class::Ts | Class::Tstz) => Owned::Ts(date_to_timestamp(d).ok_or_else(fail)?),
        (Owned::Ts(t), Class::Tstz) => Owned::Ts(t),
        _ => return Err(fail()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_types() {
        let c = |s: &str| classify(s).class;
        assert_eq!(c("integer"), Class::Int);
        assert_eq!(classify("smallint").bits, 16);
        assert_eq!(c("pg_catalog.int8"), Class::Int);
        assert_eq!(c("numeric(10,2)"), Class::Num);
        assert_eq!(c("NUMERIC"), Class::Num);
        assert!(classify("real").single);
        assert!(classify("float(10)").single);
        assert!(!classify("float(53)").single);
        assert!(!classify("double precision").single);
        assert_eq!(c("double precision"), Class::Float);
        assert_eq!(c("text"), Class::Text);
        assert!(!classify("character varying(20)").padded);
        assert!(classify("character(3)").padded);
        assert!(classify("char").padded);
        assert!(!classify("\"char\"").padded);
        assert_eq!(c("boolean"), Class::Bool);
        assert_eq!(c("date"), Class::Date);
        assert_eq!(c("time(3) without time zone"), Class::Time);
        assert_eq!(c("time with time zone"), Class::Text);
        assert_eq!(c("timestamp without time zone"), Class::Ts);
        assert_eq!(c("timestamp(3) with time zone"), Class::Tstz);
        assert_eq!(c("timestamptz"), Class::Tstz);
        assert_eq!(c("uuid"), Class::Uuid);
        assert_eq!(c("integer[]"), Class::Text);
        assert_eq!(c("public.mood"), Class::Text);
        assert_eq!(c("interval"), Class::Text);
        assert_eq!(c(""), Class::Text);
    }

    #[test]
    fn booleans() {
        for t in ["t", "TRUE", "tr", " yes ", "y", "on", "1"] {
            assert_eq!(parse_bool(t.as_bytes()), Some(true), "{t}");
        }
        for f in ["f", "false", "n", "NO", "off", "of", "0"] {
            assert_eq!(parse_bool(f.as_bytes()), Some(false), "{f}");
        }
        for x in ["", "o", "2", "truee", "yess", "t t"] {
            assert_eq!(parse_bool(x.as_bytes()), None, "{x}");
        }
    }

    #[test]
    fn uuids() {
        let want = 0xa0ee_bc99_9c0b_4ef8_bb6d_6bb9_bd38_0a11_u128;
        for s in [
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
            "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
            "a0eebc999c0b4ef8bb6d6bb9bd380a11",
            "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11",
        ] {
            assert_eq!(parse_uuid(s.as_bytes()), Some(want), "{s}");
        }
        for s in [
            "",
            "a0eebc99",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1",
            "{a0eebc999c0b4ef8bb6d6bb9bd380a11",
            "-a0eebc999c0b4ef8bb6d6bb9bd380a11",
        ] {
            assert_eq!(parse_uuid(s.as_bytes()), None, "{s}");
        }
    }

    #[test]
    fn conversions() {
        let int4 = classify("integer");
        assert_eq!(convert(&int4, "42"), Ok(Owned::Int(42)));
        assert!(convert(&int4, "3000000000").unwrap_err().contains("out of range"));
        assert!(convert(&int4, "abc").unwrap_err().contains("not a valid integer"));
        assert!(convert(&classify("date"), "today").unwrap_err().contains("current time"));
        assert!(convert(&classify("float8"), "1e400").unwrap_err().contains("out of range"));
        assert_eq!(convert(&classify("char(3)"), "ab  "), Ok(Owned::Text(b"ab".as_slice().into())));
        assert_eq!(promote(Owned::Date(1), Class::Date, Class::Tstz), Ok(Owned::Ts(86_400_000_000)));
        assert_eq!(promote(Owned::Int(3), Class::Int, Class::Float), Ok(Owned::Float(3.0)));
        assert!(promote(Owned::Bool(true), Class::Bool, Class::Int).is_err());
    }

    #[test]
    fn modifiers() {
        let m = |ty: &str, text: &str| apply_modifier(&classify(ty), text);
        assert_eq!(m("varchar(2)", "Bob"), Ok("Bo".into()));
        assert_eq!(m("character varying(1)", "éab"), Ok("é".into()));
        assert_eq!(m("character(3)", "ab"), Ok("ab ".into()));
        assert_eq!(m("text", "abc"), Ok("abc".into()));
        assert!(m("character(99999999999)", "a").is_err());
        assert!(m("varchar(0)", "a").is_err());
        assert!(m("numeric(9223372036854775807,-9223372036854775807)", "1").is_ok());
        let num = |ty: &str, text: &str| {
            let t = m(ty, text)?;
            Ok::<_, String>(NumOwned::from_ref(&parse_num(t.as_bytes()).unwrap()).to_text())
        };
        let text = |s: &str| NumOwned::from_ref(&parse_num(s.as_bytes()).unwrap()).to_text();
        assert_eq!(num("numeric(10,2)", "19.995"), Ok(text("20.00")));
        assert_eq!(num("numeric(10,2)", "-19.994"), Ok(text("-19.99")));
        assert_eq!(num("numeric(3,0)", "0.5"), Ok(text("1")));
        assert!(num("numeric(5,2)", "999.999").unwrap_err().contains("overflow"));
        assert!(m("numeric(3,1)", "12345.6").unwrap_err().contains("overflow"));
        assert_eq!(m("numeric(4,2)", "0.001"), Ok("0".into()));
        assert_eq!(m("numeric(4,2)", "NaN"), Ok("NaN".into()));
        assert_eq!(num("numeric(3,-1)", "15"), Ok(text("20")));
        assert_eq!(m("timestamp(2)", "2024-01-01 10:00:00.126"), Ok("2024-01-01 10:00:00.126".into()));
    }
}
