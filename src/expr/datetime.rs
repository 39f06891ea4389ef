//! Dates, times and timestamps in PostgreSQL's ISO text form (the form pg_dump writes, since it
//! sets `DateStyle = ISO`), parsed without allocating.
//!
//! Dates are days since 1970-01-01, times microseconds since midnight, timestamps microseconds
//! since 1970-01-01 00:00 (UTC for `timestamptz`), all proleptic Gregorian with astronomical year
//! numbering (`0001-01-01 BC` is year 0). `infinity` and `-infinity` are `i64::MAX` and `i64::MIN`.

pub(crate) const DAY_US: i64 = 86_400_000_000;

/// The largest UTC offset PostgreSQL accepts (15:59:59).
const MAX_OFFSET_S: i64 = 15 * 3600 + 59 * 60 + 59;

/// The parts of a date/time text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Parsed {
    PosInf,
    NegInf,
    At {
        days: i64,
        /// Microseconds since midnight; `None` when only a date was written.
        time: Option<i64>,
        /// Seconds east of UTC, when a zone was written.
        offset: Option<i64>,
    },
}

fn digits(s: &[u8], i: &mut usize, max: usize) -> Option<(i64, usize)> {
    let start = *i;
    let mut v: i64 = 0;
    while *i < s.len() && s[*i].is_ascii_digit() && *i - start < max {
        v = v * 10 + i64::from(s[*i] - b'0');
        *i += 1;
    }
    if *i == start { None } else { Some((v, *i - start)) }
}

fn eat(s: &[u8], i: &mut usize, c: u8) -> bool {
    if s.get(*i) == Some(&c) {
        *i += 1;
        true
    } else {
        false
    }
}

fn skip_spaces(s: &[u8], i: &mut usize) {
    while *i < s.len() && s[*i].is_ascii_whitespace() {
        *i += 1;
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (astronomical year).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Microseconds of a fraction of a second written `.ddd`. Up to six digits this is exact; beyond,
/// PostgreSQL reads the fraction as a double and rounds half to even (`rint`), and so do we.
fn fraction_us(frac: &[u8]) -> Option<i64> {
    let digits = &frac[1..];
    if digits.len() <= 6 {
        let mut us = 0;
        for k in 0..6 {
            us = us * 10 + digits.get(k).map_or(0, |d| i64::from(d - b'0'));
        }
        return Some(us);
    }
    let x: f64 = std::str::from_utf8(frac).ok()?.parse().ok()?;
    Some((x * 1e6).round_ties_even() as i64)
}

/// `HH:MM[:SS[.ffffff]]` starting at `i`, as microseconds since midnight (`24:00:00` allowed, and a
/// leap second `:60` rolls over, as in PostgreSQL).
fn time_of_day(s: &[u8], i: &mut usize) -> Option<i64> {
    let (h, _) = digits(s, i, 2)?;
    if !eat(s, i, b':') {
        return None;
    }
    let (m, mlen) = digits(s, i, 2)?;
    let mut sec = 0;
    let mut us = 0;
    if mlen != 2 {
        return None;
    }
    if eat(s, i, b':') {
        let (v, slen) = digits(s, i, 2)?;
        if slen != 2 {
            return None;
        }
        sec = v;
        if s.get(*i) == Some(&b'.') {
            let dot = *i;
            *i += 1;
            while *i < s.len() && s[*i].is_ascii_digit() {
                *i += 1;
            }
            us = fraction_us(&s[dot..*i])?;
        }
    }
    if m > 59 || sec > 60 || h > 24 || (h == 24 && (m > 0 || sec > 0 || us > 0)) {
        return None;
    }
    Some(((h * 60 + m) * 60 + sec) * 1_000_000 + us)
}

/// A zone: `Z`, `UTC`, `GMT`, `+HH`, `+HH:MM`, `+HHMM`, `+HH:MM:SS`; seconds east of UTC.
fn zone(s: &[u8], i: &mut usize) -> Option<i64> {
    let rest = &s[*i..];
    for (word, len) in [("utc", 3), ("gmt", 3), ("z", 1)] {
        if rest.len() >= len && rest[..len].eq_ignore_ascii_case(word.as_bytes()) {
            *i += len;
            return Some(0);
        }
    }
    let sign = match rest.first() {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return None,
    };
    *i += 1;
    let (mut h, hlen) = digits(s, i, 4)?;
    let (mut m, mut sec) = (0, 0);
    match hlen {
        1 | 2 => {
            if eat(s, i, b':') {
                let (v, l) = digits(s, i, 2)?;
                if l != 2 {
                    return None;
                }
                m = v;
                if eat(s, i, b':') {
                    let (v, l) = digits(s, i, 2)?;
                    if l != 2 {
                        return None;
                    }
                    sec = v;
                }
            }
        }
        4 => {
            m = h % 100;
            h /= 100;
        }
        _ => return None,
    }
    if m > 59 || sec > 59 {
        return None;
    }
    let off = h * 3600 + m * 60 + sec;
    if off > MAX_OFFSET_S {
        return None;
    }
    Some(sign * off)
}

/// Parses `[-]infinity`, `epoch`, or `YYYY-MM-DD[( |T)HH:MM[:SS[.f]]][ ][zone][ BC|AD]`.
fn parse(b: &[u8]) -> Option<Parsed> {
    let mut s = b.trim_ascii();
    if s.eq_ignore_ascii_case(b"infinity") || s.eq_ignore_ascii_case(b"+infinity") {
        return Some(Parsed::PosInf);
    }
    if s.eq_ignore_ascii_case(b"-infinity") {
        return Some(Parsed::NegInf);
    }
    if s.eq_ignore_ascii_case(b"epoch") {
        return Some(Parsed::At { days: 0, time: Some(0), offset: Some(0) });
    }
    let mut bc = false;
    if s.len() > 3 && s[s.len() - 3].is_ascii_whitespace() {
        let era = &s[s.len() - 2..];
        if era.eq_ignore_ascii_case(b"bc") || era.eq_ignore_ascii_case(b"ad") {
            bc = era.eq_ignore_ascii_case(b"bc");
            s = s[..s.len() - 2].trim_ascii_end();
        }
    }
    let mut i = 0;
    let (year, _) = digits(s, &mut i, 7)?;
    if !eat(s, &mut i, b'-') {
        return None;
    }
    let (month, _) = digits(s, &mut i, 2)?;
    if !eat(s, &mut i, b'-') {
        return None;
    }
    let (day, _) = digits(s, &mut i, 2)?;
    if year == 0 || !(1..=12).contains(&month) {
        return None;
    }
    let year = if bc { 1 - year } else { year };
    if day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let mut time = None;
    let mut offset = None;
    if i < s.len() {
        if matches!(s[i], b'T' | b't') {
            i += 1;
        } else {
            skip_spaces(s, &mut i);
        }
        time = Some(time_of_day(s, &mut i)?);
        skip_spaces(s, &mut i);
        if i < s.len() {
            offset = Some(zone(s, &mut i)?);
        }
        if i != s.len() {
            return None;
        }
    }
    Some(Parsed::At { days, time, offset })
}

/// A `date` value (a time part, if any, is ignored, as PostgreSQL does).
pub(crate) fn parse_date(b: &[u8]) -> Option<i64> {
    match parse(b)? {
        Parsed::PosInf => Some(i64::MAX),
        Parsed::NegInf => Some(i64::MIN),
        Parsed::At { days, .. } => Some(days),
    }
}

/// A `timestamp` (`tz = false`: a written zone is ignored, as PostgreSQL does) or `timestamptz`
/// (`tz = true`: a written zone is applied; text without one is taken as UTC).
pub(crate) fn parse_timestamp(b: &[u8], tz: bool) -> Option<i64> {
    match parse(b)? {
        Parsed::PosInf => Some(i64::MAX),
        Parsed::NegInf => Some(i64::MIN),
        Parsed::At { days, time, offset } => {
            let local = days.checked_mul(DAY_US)?.checked_add(time.unwrap_or(0))?;
            let off = if tz { offset.unwrap_or(0) * 1_000_000 } else { 0 };
            let v = local.checked_sub(off)?;
            // Keep clear of the infinity sentinels.
            if v == i64::MAX || v == i64::MIN { None } else { Some(v) }
        }
    }
}

/// A `time` value: `HH:MM[:SS[.ffffff]]`.
pub(crate) fn parse_time(b: &[u8]) -> Option<i64> {
    let s = b.trim_ascii();
    let mut i = 0;
    let t = time_of_day(s, &mut i)?;
    if i == s.len() { Some(t) } else { None }
}

/// Promotes a date (days) to a timestamp (microseconds at midnight), keeping infinities.
pub(crate) fn date_to_timestamp(days: i64) -> Option<i64> {
    match days {
        i64::MAX | i64::MIN => Some(days),
        d => d.checked_mul(DAY_US),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str, tz: bool) -> i64 {
        parse_timestamp(s.as_bytes(), tz).unwrap_or_else(|| panic!("{s:?}"))
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date(b"1970-01-01"), Some(0));
        assert_eq!(parse_date(b"2000-03-01"), Some(11_017));
        assert_eq!(parse_date(b"1969-12-31"), Some(-1));
        assert_eq!(parse_date(b"2024-02-29"), Some(19_782));
        assert_eq!(parse_date(b"2023-02-29"), None);
        assert_eq!(parse_date(b"0000-01-01"), None);
        assert_eq!(parse_date(b"2024-13-01"), None);
        assert_eq!(parse_date(b"infinity"), Some(i64::MAX));
        assert_eq!(parse_date(b"-infinity"), Some(i64::MIN));
        assert_eq!(parse_date(b"epoch"), Some(0));
        assert_eq!(parse_date(b"2024-01-01 10:00"), parse_date(b"2024-01-01"));
        // 1 BC is year 0, a leap year; it immediately precedes 0001-01-01.
        assert_eq!(parse_date(b"0001-12-31 BC").unwrap() + 1, parse_date(b"0001-01-01").unwrap());
        assert!(parse_date(b"0001-02-29 BC").is_some());
        assert!(parse_date(b"10000-01-01").unwrap() > parse_date(b"9999-12-31").unwrap());
        assert_eq!(parse_date(b"2024-01-01x"), None);
    }

    #[test]
    fn timestamps() {
        assert_eq!(ts("1970-01-01 00:00:01", false), 1_000_000);
        assert_eq!(ts("1970-01-01T00:00:00.5", false), 500_000);
        assert_eq!(ts("1970-01-01 00:00:00.0000015", false), 2);
        assert_eq!(ts("1970-01-01 00:00:00.0000025", false), 2);
        assert_eq!(ts("1970-01-01 00:00:00.0000005", false), 0);
        assert_eq!(ts("1970-01-01 00:00:00.", false), 0);
        assert_eq!(ts("2024-01-01 24:00:00", false), ts("2024-01-02", false));
        assert_eq!(ts("2024-01-01 23:59:60", false), ts("2024-01-02 00:00", false));
        // timestamp ignores a zone; timestamptz applies it.
        assert_eq!(ts("2024-01-01 10:00:00+05", false), ts("2024-01-01 10:00:00", false));
        assert_eq!(ts("2024-01-01 10:00:00+05", true), ts("2024-01-01 05:00:00", true));
        assert_eq!(ts("2024-01-01 10:00:00+05:30", true), ts("2024-01-01 04:30:00Z", true));
        assert_eq!(ts("2024-01-01 10:00:00-0800", true), ts("2024-01-01 18:00:00 UTC", true));
        assert_eq!(ts("1900-01-01 00:00:00+00:09:21", true), ts("1899-12-31 23:50:39", true));
        assert_eq!(ts("0001-01-01 00:00:00+00 BC", true), ts("0001-01-01 00:00:00 bc", true));
        assert!(parse_timestamp(b"2024-01-01 10:00+16", true).is_none());
        assert!(parse_timestamp(b"2024-01-01 25:00", false).is_none());
        assert!(parse_timestamp(b"2024-01-01 10:0", false).is_none());
        assert!(parse_timestamp(b"2024-01-01 10:00 Europe/Paris", true).is_none());
        assert!(parse_timestamp(b"9999999-01-01", false).is_none());
    }

    #[test]
    fn times() {
        assert_eq!(parse_time(b"00:00"), Some(0));
        assert_eq!(parse_time(b"24:00:00"), Some(DAY_US));
        assert_eq!(parse_time(b"12:34:56.789"), Some(((12 * 60 + 34) * 60 + 56) * 1_000_000 + 789_000));
        assert_eq!(parse_time(b"12:60"), None);
        assert_eq!(date_to_timestamp(1), Some(DAY_US));
        assert_eq!(date_to_timestamp(i64::MAX), Some(i64::MAX));
    }
}
