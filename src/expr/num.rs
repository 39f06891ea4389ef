//! Exact comparison of decimal numbers written as text (`numeric`), and PostgreSQL's ordering of
//! floating-point values.
//!
//! A decimal is never converted to binary floating point: `0.1` and `0.10000000000000001` differ,
//! as they do in PostgreSQL. Parsing borrows the input and does not allocate.

use std::cmp::Ordering;

/// The kind of a `numeric` value, in PostgreSQL's sort order: `-Infinity` < finite < `Infinity` <
/// `NaN` (and `NaN` equals itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum NumKind {
    NegInf,
    Finite,
    PosInf,
    NaN,
}

/// A normalized decimal borrowing its digits: the value is `±0.D × 10^point`, where the significant
/// digits `D` are `a` followed by `b` (ASCII digits, no leading or trailing zeros). Zero has no
/// digits and is never negative.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NumRef<'a> {
    pub kind: NumKind,
    pub neg: bool,
    pub a: &'a [u8],
    pub b: &'a [u8],
    pub point: i64,
}

/// An owned normalized decimal (a bound literal).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NumOwned {
    kind: NumKind,
    neg: bool,
    digits: Box<[u8]>,
    point: i64,
}

impl NumOwned {
    pub fn from_ref(n: &NumRef<'_>) -> Self {
        let mut digits = Vec::with_capacity(n.a.len() + n.b.len());
        digits.extend_from_slice(n.a);
        digits.extend_from_slice(n.b);
        NumOwned { kind: n.kind, neg: n.neg, digits: digits.into_boxed_slice(), point: n.point }
    }

    pub fn view(&self) -> NumRef<'_> {
        NumRef { kind: self.kind, neg: self.neg, a: &self.digits, b: &[], point: self.point }
    }

    /// Plain decimal text (for conversion to `f64`).
    pub fn to_text(&self) -> String {
        match self.kind {
            NumKind::NaN => "NaN".into(),
            NumKind::PosInf => "Infinity".into(),
            NumKind::NegInf => "-Infinity".into(),
            NumKind::Finite if self.digits.is_empty() => "0".into(),
            NumKind::Finite => {
                let digits = String::from_utf8_lossy(&self.digits);
                format!("{}0.{}e{}", if self.neg { "-" } else { "" }, digits, self.point)
            }
        }
    }
}

fn trim(b: &[u8]) -> &[u8] {
    b.trim_ascii()
}

fn eq_ignore_case(b: &[u8], word: &str) -> bool {
    b.eq_ignore_ascii_case(word.as_bytes())
}

/// Parses `numeric` input: optional sign, digits with an optional point, optional exponent,
/// `NaN`, `Infinity`/`inf` (either sign); surrounding whitespace is ignored.
pub(crate) fn parse_num(b: &[u8]) -> Option<NumRef<'_>> {
    let s = trim(b);
    let (neg, body) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let special = |kind| Some(NumRef { kind, neg: false, a: &[], b: &[], point: 0 });
    if eq_ignore_case(body, "nan") {
        return if body.len() == s.len() { special(NumKind::NaN) } else { None };
    }
    if eq_ignore_case(body, "infinity") || eq_ignore_case(body, "inf") {
        return special(if neg { NumKind::NegInf } else { NumKind::PosInf });
    }
    let int_len = body.iter().take_while(|c| c.is_ascii_digit()).count();
    let mut int = &body[..int_len];
    let mut rest = &body[int_len..];
    let mut frac: &[u8] = &[];
    if let Some(r) = rest.strip_prefix(b".") {
        let n = r.iter().take_while(|c| c.is_ascii_digit()).count();
        frac = &r[..n];
        rest = &r[n..];
    }
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut exp: i64 = 0;
    if let Some(r) = rest.strip_prefix(b"e").or_else(|| rest.strip_prefix(b"E")) {
        let (eneg, r) = match r.first() {
            Some(b'-') => (true, &r[1..]),
            Some(b'+') => (false, &r[1..]),
            _ => (false, r),
        };
        if r.is_empty() || !r.iter().all(u8::is_ascii_digit) {
            return None;
        }
        for &c in r {
            // Saturate: exponents this large are out of any type's range anyway.
            exp = (exp * 10 + i64::from(c - b'0')).min(1_000_000_000_000);
        }
        if eneg {
            exp = -exp;
        }
    } else if !rest.is_empty() {
        return None;
    }
    // Normalize: drop leading zeros (moving the point), then trailing zeros.
    let lead_int = int.iter().take_while(|&&c| c == b'0').count();
    int = &int[lead_int..];
    let mut point = int.len() as i64;
    if int.is_empty() {
        let lead_frac = frac.iter().take_while(|&&c| c == b'0').count();
        frac = &frac[lead_frac..];
        point = -(lead_frac as i64);
    }
    let trail = frac.iter().rev().take_while(|&&c| c == b'0').count();
    frac = &frac[..frac.len() - trail];
    if frac.is_empty() {
        let trail = int.iter().rev().take_while(|&&c| c == b'0').count();
        int = &int[..int.len() - trail];
    }
    if int.is_empty() && frac.is_empty() {
        return Some(NumRef { kind: NumKind::Finite, neg: false, a: &[], b: &[], point: 0 });
    }
    Some(NumRef { kind: NumKind::Finite, neg, a: int, b: frac, point: point.saturating_add(exp) })
}

/// PostgreSQL's `numeric` ordering.
pub(crate) fn cmp_num(x: &NumRef<'_>, y: &NumRef<'_>) -> Ordering {
    if x.kind != NumKind::Finite || y.kind != NumKind::Finite {
        return x.kind.cmp(&y.kind);
    }
    let sign = |n: &NumRef<'_>| -> i8 {
        if n.a.is_empty() && n.b.is_empty() {
            0
        } else if n.neg {
            -1
        } else {
            1
        }
    };
    let (sx, sy) = (sign(x), sign(y));
    if sx != sy || sx == 0 {
        return sx.cmp(&sy);
    }
    let magnitude = x.point.cmp(&y.point).then_with(|| {
        let dx = x.a.iter().chain(x.b);
        let dy = y.a.iter().chain(y.b);
        dx.cmp(dy)
    });
    if sx < 0 { magnitude.reverse() } else { magnitude }
}

/// Parses `real` / `double precision` input (`NaN`, `Infinity`, `-Infinity` included). With
/// `single`, the value is rounded to `f32` first, as a `real` column stores it.
pub(crate) fn parse_float(b: &[u8], single: bool) -> Option<f64> {
    let s = std::str::from_utf8(trim(b)).ok()?;
    if s.is_empty() || s.contains('_') {
        return None;
    }
    if single { s.parse::<f32>().ok().map(f64::from) } else { s.parse::<f64>().ok() }
}

/// PostgreSQL's float ordering: `NaN` equals itself and sorts above everything; `-0 = 0`.
pub(crate) fn cmp_float(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

/// Parses integer input: optional sign and decimal digits, surrounding whitespace ignored.
pub(crate) fn parse_int(b: &[u8]) -> Option<i128> {
    let s = trim(b);
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || digits.len() > 38 {
        return None;
    }
    let mut v: i128 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i128::from(c - b'0');
    }
    Some(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        cmp_num(&parse_num(a.as_bytes()).unwrap(), &parse_num(b.as_bytes()).unwrap())
    }

    #[test]
    fn decimal_order() {
        use Ordering::*;
        let cases = [
            ("1", "1.0", Equal),
            ("0.1", "0.10000000000000001", Less),
            ("-0", "0.000", Equal),
            ("-1.5", "-1.25", Less),
            ("10", "9.999", Greater),
            ("1e3", "1000", Equal),
            ("1.5E-3", "0.0015", Equal),
            ("  12.50 ", "12.5", Equal),
            ("-0.001", "0", Less),
            ("007.10", "7.1", Equal),
            (".5", "0.5", Equal),
            ("5.", "5", Equal),
            ("123456789012345678901234567890.5", "123456789012345678901234567890.25", Greater),
            ("NaN", "Infinity", Greater),
            ("nan", "NaN", Equal),
            ("-Infinity", "-1e100", Less),
            ("inf", "1e100", Greater),
            ("100", "99", Greater),
            ("-100", "-99", Less),
            ("0.0001", "0.001", Less),
        ];
        for (a, b, want) in cases {
            assert_eq!(cmp(a, b), want, "{a} vs {b}");
            assert_eq!(cmp(b, a), want.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn decimal_rejects() {
        for s in ["", ".", "-", "1e", "1e+", "1.2.3", "12abc", "0x10", "1 2", "--1", "-nan"] {
            assert!(parse_num(s.as_bytes()).is_none(), "{s:?}");
        }
    }

    #[test]
    fn owned_round_trip() {
        let n = NumOwned::from_ref(&parse_num(b"-120.50").unwrap());
        assert_eq!(cmp_num(&n.view(), &parse_num(b"-120.5").unwrap()), Ordering::Equal);
        assert_eq!(n.to_text().parse::<f64>().unwrap(), -120.5);
    }

    #[test]
    fn floats() {
        assert_eq!(parse_float(b"Infinity", false), Some(f64::INFINITY));
        assert_eq!(parse_float(b"-Infinity", false), Some(f64::NEG_INFINITY));
        assert!(parse_float(b"NaN", false).unwrap().is_nan());
        assert_eq!(parse_float(b"0.1", true), Some(f64::from(0.1f32)));
        assert_eq!(cmp_float(f64::NAN, f64::INFINITY), Ordering::Greater);
        assert_eq!(cmp_float(f64::NAN, f64::NAN), Ordering::Equal);
        assert_eq!(cmp_float(-0.0, 0.0), Ordering::Equal);
    }

    #[test]
    fn ints() {
        assert_eq!(parse_int(b" -42 "), Some(-42));
        assert_eq!(parse_int(b"+7"), Some(7));
        assert_eq!(parse_int(b"1.0"), None);
        assert_eq!(parse_int(b""), None);
        assert_eq!(parse_int(b"9".repeat(39).as_slice()), None);
    }
}
