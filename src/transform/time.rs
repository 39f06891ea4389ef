//! Numbers and dates: `noise`, `date_shift` and `date_truncate`.
//!
//! Dates are handled as text in PostgreSQL's ISO output (what pg_dump writes with its
//! `DateStyle = ISO`): `2024-01-31`, `2024-01-31 12:34:56.789`, `2024-01-31 12:34:56+01`,
//! `0044-03-15 BC`, `infinity`. Only the date part changes; the time of day, the fractional
//! digits and the time zone notation are copied as they are, so the output is valid for `date`,
//! `timestamp` and `timestamptz` columns alike. Calendar arithmetic is the proleptic Gregorian
//! calendar PostgreSQL uses, through Howard Hinnant's days-from-civil algorithms.

use super::column::{IntKind, base_name, is_array, modifiers};
use super::encode::push_uint;
use super::rng::{KeyedStream, digest_concat};
use super::{Built, Ctx, Keyed, Output, Spec, Uniqueness, ValueTransform};

// ---------------------------------------------------------------------------------------------
// calendar

/// Days since 1970-01-01 of the proleptic Gregorian date `y-m-d` (astronomical year: 1 BC is 0).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A date at the start of an ISO date or timestamp text.
struct DateText<'a> {
    /// Astronomical year.
    year: i64,
    month: u32,
    day: u32,
    /// What follows the date (time, time zone), without a trailing ` BC`.
    rest: &'a [u8],
}

fn parse_num(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 9 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0i64, |n, &b| n * 10 + i64::from(b - b'0')))
}

fn parse_date(value: &[u8]) -> Option<DateText<'_>> {
    let dash = value.iter().position(|&b| b == b'-').filter(|&p| p > 0)?;
    let year = parse_num(&value[..dash])?;
    let rest = &value[dash + 1..];
    if rest.len() < 5 || rest[2] != b'-' {
        return None;
    }
    let month = parse_num(&rest[..2])? as u32;
    let day = parse_num(&rest[3..5])? as u32;
    let mut rest = &rest[5..];
    if !(rest.is_empty() || rest[0] == b' ' || rest[0] == b'T') {
        return None;
    }
    let bc = rest.ends_with(b" BC");
    if bc {
        rest = &rest[..rest.len() - 3];
    }
    if year == 0
        || !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(if bc { 1 - year } else { year }, month)
    {
        return None;
    }
    Some(DateText { year: if bc { 1 - year } else { year }, month, day, rest })
}

/// Writes `y-m-d` (astronomical year) in ISO form, then `rest`, then ` BC` for years before 1.
fn push_date(y: i64, m: u32, d: u32, rest: &[u8], out: &mut Vec<u8>) {
    push_ymd(y, m, d, out);
    out.extend_from_slice(rest);
    if y <= 0 {
        out.extend_from_slice(b" BC");
    }
}

/// Writes `YYYY-MM-DD` with the year as shown (without era), without going through `format!`:
/// this runs once per rewritten date.
fn push_ymd(y: i64, m: u32, d: u32, out: &mut Vec<u8>) {
    let shown = if y <= 0 { 1 - y } else { y };
    push_uint(u128::from(shown.unsigned_abs()), 4, out);
    out.push(b'-');
    push_uint(u128::from(m), 2, out);
    out.push(b'-');
    push_uint(u128::from(d), 2, out);
}

/// Astronomical years PostgreSQL's date and timestamp types both accept (4713 BC to 294276 AD).
const YEARS: std::ops::RangeInclusive<i64> = -4712..=294_275;

// ---------------------------------------------------------------------------------------------
// date_shift

/// Moves a date by a keyed number of days in `[-max, -1] ∪ [1, max]`, drawn from the rule's `by`
/// value when there is one (every date of one person moves together) or else from the value.
struct DateShift {
    mac: Keyed,
    max: u64,
}

impl DateShift {
    fn offset(&self, seed: &[u8]) -> i64 {
        let k = KeyedStream::new(&self.mac, seed).below(2 * self.max) as i64;
        let max = self.max as i64;
        if k < max { k - max } else { k - max + 1 }
    }
}

impl ValueTransform for DateShift {
    fn apply(&self, value: &[u8], ctx: &Ctx<'_>, out: &mut Vec<u8>) -> Output {
        let Some(date) = parse_date(value) else {
            // `infinity`, `-infinity`, or not a date.
            out.extend_from_slice(value);
            return Output::Value;
        };
        let days = days_from_civil(date.year, date.month, date.day);
        let offset = self.offset(ctx.seed.unwrap_or(value));
        let (mut y, mut m, mut d) = civil_from_days(days + offset);
        if !YEARS.contains(&y) {
            (y, m, d) = civil_from_days(days - offset);
        }
        push_date(y, m, d, date.rest, out);
        Output::Value
    }
}

/// `90 days`, `3 weeks`, `2 months` (30 days each), `1 year` (365 days), or a sum of those.
fn parse_interval(s: &str) -> Option<u64> {
    let words: Vec<&str> = s.split_whitespace().collect();
    if words.is_empty() || !words.len().is_multiple_of(2) {
        return None;
    }
    let mut days = 0u64;
    for pair in words.chunks(2) {
        let n: u64 = pair[0].parse().ok()?;
        let unit = match pair[1].to_ascii_lowercase().trim_end_matches('s') {
            "day" => 1,
            "week" => 7,
            "mon" | "month" => 30,
            "year" => 365,
            _ => return None,
        };
        days = days.checked_add(n.checked_mul(unit)?)?;
    }
    Some(days)
}

pub fn build_date_shift(spec: &Spec<'_>) -> Result<Built, String> {
    let max = match (spec.int_param("max_days", 1..=1_000_000)?, spec.str_param("interval")?) {
        (Some(n), None) => n as u64,
        (None, Some(i)) => parse_interval(i)
            .filter(|d| (1..=1_000_000).contains(d))
            .ok_or_else(|| format!("`interval` must be like \"90 days\", \"6 weeks\" or \"1 year\", got \"{i}\""))?,
        (Some(_), Some(_)) => return Err("give either `max_days` or `interval`, not both".into()),
        (None, None) => return Err("transform `date_shift` needs `max_days` (e.g. 90) or `interval`".into()),
    };
    Ok((Box::new(DateShift { mac: spec.keyed("date_shift")?, max }), Uniqueness::MayBreak))
}

// ---------------------------------------------------------------------------------------------
// date_truncate

#[derive(Clone, Copy, PartialEq)]
enum Unit {
    Day,
    Month,
    Year,
}

/// The first day of the month (or year) at midnight; the time zone notation and the era stay.
struct DateTruncate {
    unit: Unit,
}

impl ValueTransform for DateTruncate {
    fn apply(&self, value: &[u8], _: &Ctx<'_>, out: &mut Vec<u8>) -> Output {
        let Some(date) = parse_date(value) else {
            out.extend_from_slice(value);
            return Output::Value;
        };
        let (m, d) = match self.unit {
            Unit::Day => (date.month, date.day),
            Unit::Month => (date.month, 1),
            Unit::Year => (1, 1),
        };
        // A time `HH:MM:SS[.ffffff]` after the date becomes midnight, with no fraction.
        let rest = date.rest;
        let time_len = if rest.len() >= 9 && rest[3] == b':' && rest[6] == b':' {
            9 + rest[9..].iter().take_while(|b| b.is_ascii_digit() || **b == b'.').count()
        } else {
            0
        };
        push_ymd(date.year, m, d, out);
        if time_len > 0 {
            out.push(rest[0]);
            out.extend_from_slice(b"00:00:00");
        }
        out.extend_from_slice(&rest[time_len..]);
        if date.year <= 0 {
            out.extend_from_slice(b" BC");
        }
        Output::Value
    }
}

pub fn build_date_truncate(spec: &Spec<'_>) -> Result<Built, String> {
    let unit = match spec.str_param("to")?.ok_or("transform `date_truncate` needs `to` (\"month\" or \"year\")")? {
        "day" => Unit::Day,
        "month" => Unit::Month,
        "year" => Unit::Year,
        other => return Err(format!("`to` must be \"day\", \"month\" or \"year\", got \"{other}\"")),
    };
    Ok((Box::new(DateTruncate { unit }), Uniqueness::MayBreak))
}

// ---------------------------------------------------------------------------------------------
// noise

#[derive(Clone, Copy)]
enum Amount {
    Relative(f64),
    Absolute(f64),
}

/// What the column type allows.
#[derive(Clone, Copy)]
enum NumType {
    /// An integer type: the result is rounded and clamped to its range.
    Int(IntKind),
    /// `numeric(p, s)`: the result keeps the input's digits after the point and fits `p - s`
    /// digits before it; `numeric` without modifiers, or an unknown type, has no bound.
    Numeric(Option<u32>),
    /// `real`, `double precision`.
    Float,
}

/// Adds keyed noise, uniform in `±relative · |value|` or `±absolute`.
struct Noise {
    mac: Keyed,
    amount: Amount,
    ty: NumType,
}

/// A decimal text split as `sign`, digits as one integer `mantissa`, and `scale` digits after
/// the point, when it has at most 38 digits and no exponent.
fn parse_decimal(s: &[u8]) -> Option<(i128, u32)> {
    let (neg, body) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (int, frac) = match memchr::memchr(b'.', body) {
        Some(p) => (&body[..p], &body[p + 1..]),
        None => (body, &[][..]),
    };
    if (int.is_empty() && frac.is_empty())
        || int.len() + frac.len() > 38
        || !int.iter().chain(frac).all(u8::is_ascii_digit)
        || (memchr::memchr(b'.', body).is_some() && frac.is_empty() && int.is_empty())
    {
        return None;
    }
    let m = int.iter().chain(frac).fold(0i128, |m, &b| m * 10 + i128::from(b - b'0'));
    Some((if neg { -m } else { m }, frac.len() as u32))
}

fn push_decimal(m: i128, scale: u32, out: &mut Vec<u8>) {
    if m < 0 {
        out.push(b'-');
    }
    let scale = scale as usize;
    push_uint(m.unsigned_abs(), scale + 1, out);
    if scale > 0 {
        out.insert(out.len() - scale, b'.');
    }
}

impl ValueTransform for Noise {
    fn apply(&self, value: &[u8], ctx: &Ctx<'_>, out: &mut Vec<u8>) -> Output {
        let digest = match ctx.seed {
            Some(seed) => digest_concat(&self.mac, &[&(seed.len() as u64).to_le_bytes(), seed, value]),
            None => self.mac.digest(value),
        };
        let u = 2.0 * KeyedStream::from_digest(&self.mac, digest).unit() - 1.0;
        let exact = if matches!(self.ty, NumType::Float) { None } else { parse_decimal(value) };
        if let Some((m, scale)) = exact {
            let delta = match self.amount {
                Amount::Relative(r) => m as f64 * r * u,
                Amount::Absolute(a) => a * 10f64.powi(scale as i32) * u,
            };
            let mut y = m.saturating_add(delta.round() as i128);
            match self.ty {
                NumType::Int(kind) if scale == 0 => {
                    y = y.clamp(i128::from(kind.min()), i128::from(kind.max()));
                }
                NumType::Numeric(Some(int_digits)) if int_digits.saturating_add(scale) <= 38 => {
                    let bound = 10i128.pow(int_digits + scale) - 1;
                    y = y.clamp(-bound, bound);
                }
                _ => {}
            }
            push_decimal(y, scale, out);
            return Output::Value;
        }
        match std::str::from_utf8(value).ok().and_then(|s| s.trim().parse::<f64>().ok()).filter(|v| v.is_finite()) {
            Some(v) => {
                let delta = match self.amount {
                    Amount::Relative(r) => v * r * u,
                    Amount::Absolute(a) => a * u,
                };
                out.extend_from_slice((v + delta).to_string().as_bytes());
            }
            // NaN, Infinity, or not a number.
            None => out.extend_from_slice(value),
        }
        Output::Value
    }
}

fn float_param(spec: &Spec<'_>, name: &str) -> Result<Option<f64>, String> {
    match spec.params.get(name) {
        None => Ok(None),
        Some(toml::Value::Float(f)) if f.is_finite() && *f > 0.0 => Ok(Some(*f)),
        Some(toml::Value::Integer(n)) if *n > 0 => Ok(Some(*n as f64)),
        Some(other) => Err(format!("`{name}` must be a positive number, got {other}")),
    }
}

pub fn build_noise(spec: &Spec<'_>) -> Result<Built, String> {
    let amount = match (float_param(spec, "relative")?, float_param(spec, "absolute")?) {
        (Some(_), Some(_)) => return Err("give either `relative` or `absolute`, not both".into()),
        (Some(r), None) => Amount::Relative(r),
        (None, Some(a)) => Amount::Absolute(a),
        (None, None) => Amount::Relative(0.1),
    };
    let ty = match spec.column_type {
        None => NumType::Numeric(None),
        Some(t) if is_array(t) => NumType::Numeric(None),
        Some(t) => match (IntKind::parse(&base_name(t)), base_name(t).as_str()) {
            (Some(kind), _) => NumType::Int(kind),
            (None, "numeric" | "decimal") => match modifiers(t).as_slice() {
                [p] => NumType::Numeric(Some(*p as u32)),
                [p, s] => NumType::Numeric(Some(p.saturating_sub(*s) as u32)),
                _ => NumType::Numeric(None),
            },
            (None, "real" | "double precision" | "float4" | "float8" | "float") => NumType::Float,
            (None, "text" | "character varying" | "varchar") => NumType::Numeric(None),
            _ => return Err(format!("transform `noise` needs a numeric column, got `{t}`")),
        },
    };
    Ok((Box::new(Noise { mac: spec.keyed("noise")?, amount, ty }), Uniqueness::MayBreak))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::testing::*;
    use super::super::{Ctx, Output};
    use super::*;

    fn apply(t: &super::super::Transform, v: &str, seed: Option<&str>) -> String {
        let mut out = Vec::new();
        assert_eq!(t.apply(v.as_bytes(), &Ctx { seed: seed.map(str::as_bytes) }, &mut out), Output::Value);
        String::from_utf8(out).unwrap()
    }

    fn day_number(v: &str) -> i64 {
        let d = parse_date(v.as_bytes()).unwrap_or_else(|| panic!("not a date: {v}"));
        days_from_civil(d.year, d.month, d.day)
    }

    #[test]
    fn golden_outputs() {
        // Pinned: a change here changes every pseudonym users have ever produced.
        let shift = build_with("date_shift", "max_days = 90", None).unwrap();
        let got = [
            apply(&shift, "2024-01-31", None),
            apply(&shift, "2024-01-31 12:34:56.789+01", Some("patient 7")),
            apply(&build_with("noise", "", None).unwrap(), "1234.50", None),
            apply(&build_with("noise", "absolute = 5", Some("integer")).unwrap(), "42", None),
            apply(&build_with("date_truncate", "to = \"month\"", None).unwrap(), "2024-05-17 12:34:56.5+02", None),
        ];
        assert_eq!(got, ["2024-04-23", "2024-01-20 12:34:56.789+01", "1208.88", "38", "2024-05-01 00:00:00+02"]);
    }

    #[test]
    fn calendar_round_trips() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        for z in (-2_500_000..110_000_000).step_by(997) {
            let (y, m, d) = civil_from_days(z);
            assert!(d >= 1 && d <= days_in_month(y, m));
            assert_eq!(days_from_civil(y, m, d), z);
        }
    }

    #[test]
    fn shifts_keep_the_text_form_and_one_offset_per_seed() {
        let t = build_with("date_shift", "interval = \"30 days\"", None).unwrap();
        let forms = [
            "2024-01-31",
            "2024-01-31 12:34:56",
            "2024-01-31 12:34:56.789",
            "2024-01-31 12:34:56+01",
            "2024-01-31 12:34:56.123456-08:30",
            "2024-02-29T23:59:59Z",
            "0044-03-15 BC",
            "0001-01-05 12:00:00 BC",
        ];
        let mut offsets = Vec::new();
        for v in forms {
            let out = apply(&t, v, Some("patient 7"));
            let (dv, dout) = (&v[v.find('-').unwrap() + 6..], &out[out.find('-').unwrap() + 6..]);
            assert_eq!(dout.trim_end_matches(" BC"), dv.trim_end_matches(" BC"), "time and zone stay: {v} -> {out}");
            offsets.push(day_number(&out) - day_number(v));
        }
        assert!(offsets.iter().all(|&o| o == offsets[0] && o != 0 && o.abs() <= 30), "{offsets:?}");
        // Another person, another offset (almost surely); no seed: keyed by the value.
        let others: std::collections::HashSet<i64> = (0..20)
            .map(|i| day_number(&apply(&t, "2024-01-31", Some(&format!("p{i}")))) - day_number("2024-01-31"))
            .collect();
        assert!(others.len() > 5 && others.iter().all(|o| *o != 0 && o.abs() <= 30));
        assert_eq!(apply(&t, "infinity", None), "infinity");
        assert_eq!(apply(&t, "-infinity", Some("x")), "-infinity");
        assert_eq!(apply(&t, "not a date", None), "not a date");
        // Crossing the era boundary writes BC.
        let wide = build_with("date_shift", "max_days = 1000", None).unwrap();
        let crossings = (0..50).filter(|i| apply(&wide, "0001-06-01", Some(&i.to_string())).ends_with(" BC")).count();
        assert!(crossings > 10 && crossings < 40, "{crossings}");
    }

    #[test]
    fn parameters_are_checked() {
        assert!(build_with("date_shift", "", None).unwrap_err().contains("max_days"));
        assert!(build_with("date_shift", "max_days = 1\ninterval = '1 day'", None).unwrap_err().contains("not both"));
        assert!(build_with("date_shift", "interval = 'soon'", None).is_err());
        assert_eq!(parse_interval("1 year 2 months"), Some(425));
        assert!(build_with("date_shift", "max_days = 5\nby = 'patient_id'", None).is_ok());
        assert!(build_with("noise", "relative = -1", None).is_err());
        assert!(build_with("noise", "relative = 0.1\nabsolute = 1", None).is_err());
        assert!(build_with("noise", "", Some("date")).is_err());
        assert!(build_with("date_truncate", "to = 'week'", None).is_err());
    }

    #[test]
    fn truncation() {
        let m = build_with("date_truncate", "to = \"month\"", None).unwrap();
        let y = build_with("date_truncate", "to = \"year\"", None).unwrap();
        assert_eq!(apply(&m, "2024-05-17", None), "2024-05-01");
        assert_eq!(apply(&m, "2024-05-17 12:34:56.789", None), "2024-05-01 00:00:00");
        assert_eq!(apply(&y, "2024-05-17 12:34:56+05:30", None), "2024-01-01 00:00:00+05:30");
        assert_eq!(apply(&y, "0044-03-15 BC", None), "0044-01-01 BC");
        assert_eq!(apply(&y, "infinity", None), "infinity");
    }

    #[test]
    fn noise_keeps_type_and_scale() {
        let int = build_with("noise", "relative = 0.1", Some("integer")).unwrap();
        for v in [0i64, 1, 100, -100, 2_000_000_000, i64::from(i32::MAX)] {
            let y: i64 = apply(&int, &v.to_string(), None).parse().unwrap();
            assert!((y - v).abs() <= v.abs() / 10 + 1 && y <= i64::from(i32::MAX), "{v} -> {y}");
        }
        let num = build_with("noise", "absolute = 5", Some("numeric(6,2)")).unwrap();
        for v in ["12.34", "-0.50", "9999.99", "0.00"] {
            let out = apply(&num, v, None);
            assert_eq!(out.split('.').nth(1).map(str::len), Some(2), "{v} -> {out}");
            let (a, b): (f64, f64) = (v.parse().unwrap(), out.parse().unwrap());
            assert!((a - b).abs() <= 5.0 + 1e-9 && b.abs() < 10_000.0, "{v} -> {out}");
        }
        assert_eq!(apply(&num, "NaN", None), "NaN");
        let float = build_with("noise", "", Some("double precision")).unwrap();
        let f: f64 = apply(&float, "1.5e10", None).parse().unwrap();
        assert!((f - 1.5e10).abs() <= 1.5e9);
        // The same seed and value give the same noise; the value alone keys it without a seed.
        assert_eq!(apply(&num, "12.34", Some("a")), apply(&num, "12.34", Some("a")));
    }

    proptest! {
        #[test]
        fn any_bytes_are_handled_deterministically(v in proptest::collection::vec(any::<u8>(), 0..40)) {
            for (name, params) in [
                ("date_shift", "max_days = 365"), ("date_truncate", "to = \"year\""), ("noise", "absolute = 3"),
            ] {
                let t = build_with(name, params, None).unwrap();
                for ctx in [Ctx::default(), Ctx { seed: Some(&v) }] {
                    let (mut a, mut b) = (Vec::new(), Vec::new());
                    t.apply(&v, &ctx, &mut a);
                    t.apply(&v, &ctx, &mut b);
                    prop_assert_eq!(&a, &b);
                }
            }
        }

        #[test]
        fn shifted_dates_parse(y in 1i64..=9999, m in 1u32..=12, d in 1u32..=28, seed in any::<u64>()) {
            let t = build_with("date_shift", "max_days = 3650", None).unwrap();
            let v = format!("{y:04}-{m:02}-{d:02} 01:02:03.5+02");
            let seed = seed.to_string();
            let out = apply(&t, &v, Some(&seed));
            let off = day_number(&out) - day_number(&v);
            prop_assert!(off != 0 && off.abs() <= 3650);
            prop_assert!(out.contains(" 01:02:03.5+02"));
        }
    }
}
