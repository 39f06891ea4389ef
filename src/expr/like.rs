//! Precompiled `LIKE` / `ILIKE` matchers.
//!
//! `%` matches any run of characters, `_` exactly one character (a UTF-8 sequence; a byte that is
//! not valid UTF-8 counts as one character), and the escape character (backslash unless `ESCAPE`
//! says otherwise) makes the next pattern character literal. `ILIKE` lowercases both sides one
//! character at a time (Unicode simple lowercase mapping, the first character of
//! [`char::to_lowercase`]), which is what PostgreSQL does under a UTF-8 locale.
//!
//! Case-sensitive patterns without `_` (the common `'abc%'`, `'%@example.com'`, `'%x%'`) match by
//! `starts_with`/`ends_with`/`memmem`; the rest walk the value character by character. Matching
//! never allocates and takes O(value × pattern) time in the worst case.

use memchr::memmem::Finder;

/// One element of a general pattern segment.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Elem {
    /// A literal character (already lowercased for ILIKE), or `0x110000 + byte` for a byte that is
    /// not valid UTF-8 (never produced by a pattern, which is a `str`).
    Char(u32),
    /// `_`
    One,
}

#[derive(Clone, Debug)]
enum Kind {
    /// `%` alone (or several): anything matches.
    Any,
    /// No wildcards, case-sensitive.
    Exact(Box<[u8]>),
    /// Case-sensitive, `%` but no `_`: prefix, `%`-separated middles, suffix.
    Plain { prefix: Box<[u8]>, middles: Vec<Finder<'static>>, suffix: Box<[u8]> },
    /// Everything else: `%`-separated segments of characters and `_`. The first segment is anchored
    /// at the start, the last at the end (one segment: the whole value).
    General { segments: Vec<Vec<Elem>>, fold: bool },
}

/// A compiled `LIKE` or `ILIKE` pattern.
#[derive(Clone, Debug)]
pub(crate) struct Like {
    kind: Kind,
}

/// The code of the character at `i` and its length in bytes.
fn decode(b: &[u8], i: usize) -> (u32, usize) {
    let c = b[i];
    let n = match c {
        0..=0x7F => return (u32::from(c), 1),
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return (0x11_0000 + u32::from(c), 1),
    };
    match b.get(i..i + n).map(std::str::from_utf8) {
        Some(Ok(s)) => (s.chars().next().map_or(0, u32::from), n),
        _ => (0x11_0000 + u32::from(c), 1),
    }
}

fn lower(u: u32) -> u32 {
    if u < 0x80 {
        return u32::from((u as u8).to_ascii_lowercase());
    }
    match char::from_u32(u) {
        Some(c) => c.to_lowercase().next().map_or(u, u32::from),
        None => u,
    }
}

impl Like {
    /// Compiles `pattern`. `escape` is the escape character (`None` for `ESCAPE ''`).
    pub fn new(pattern: &str, escape: Option<char>, fold: bool) -> Result<Like, String> {
        let mut segments: Vec<Vec<Elem>> = vec![Vec::new()];
        let mut chars = pattern.chars();
        let mut any_one = false;
        while let Some(c) = chars.next() {
            let elem = if Some(c) == escape {
                let lit = chars.next().ok_or("LIKE pattern must not end with escape character")?;
                Elem::Char(u32::from(lit))
            } else if c == '%' {
                segments.push(Vec::new());
                continue;
            } else if c == '_' {
                any_one = true;
                Elem::One
            } else {
                Elem::Char(u32::from(c))
            };
            if let Some(seg) = segments.last_mut() {
                seg.push(elem);
            }
        }
        // `%%` leaves an empty segment between stars; drop those (keeping first and last).
        let n = segments.len();
        let segments: Vec<Vec<Elem>> = segments
            .into_iter()
            .enumerate()
            .filter(|(i, s)| *i == 0 || *i == n - 1 || !s.is_empty())
            .map(|(_, s)| s)
            .collect();
        let kind = if segments.len() == 2 && segments.iter().all(Vec::is_empty) {
            Kind::Any
        } else if fold || any_one {
            let segments = if fold {
                segments
                    .into_iter()
                    .map(|s| {
                        s.into_iter().map(|e| if let Elem::Char(u) = e { Elem::Char(lower(u)) } else { e }).collect()
                    })
                    .collect()
            } else {
                segments
            };
            Kind::General { segments, fold }
        } else {
            let bytes = |s: &[Elem]| -> Box<[u8]> {
                s.iter()
                    .filter_map(|e| match e {
                        Elem::Char(u) => char::from_u32(*u),
                        Elem::One => None,
                    })
                    .collect::<String>()
                    .into_bytes()
                    .into()
            };
            match segments.as_slice() {
                [one] => Kind::Exact(bytes(one)),
                [first, middle @ .., last] => Kind::Plain {
                    prefix: bytes(first),
                    middles: middle.iter().map(|m| Finder::new(&bytes(m)).into_owned()).collect(),
                    suffix: bytes(last),
                },
                [] => Kind::Exact(Box::default()),
            }
        };
        Ok(Like { kind })
    }

    /// Whether `value` matches the pattern.
    pub fn matches(&self, value: &[u8]) -> bool {
        match &self.kind {
            Kind::Any => true,
            Kind::Exact(e) => value == &e[..],
            Kind::Plain { prefix, middles, suffix } => {
                if value.len() < prefix.len() + suffix.len() || !value.starts_with(prefix) || !value.ends_with(suffix) {
                    return false;
                }
                let end = value.len() - suffix.len();
                let mut pos = prefix.len();
                for m in middles {
                    match m.find(&value[pos..end]) {
                        Some(k) => pos += k + m.needle().len(),
                        None => return false,
                    }
                }
                true
            }
            Kind::General { segments, fold } => general(segments, *fold, value),
        }
    }
}

/// Matches `seg` at byte `pos`, returning where the match ends.
fn match_at(seg: &[Elem], fold: bool, v: &[u8], mut pos: usize) -> Option<usize> {
    for e in seg {
        if pos >= v.len() {
            return None;
        }
        let (u, len) = decode(v, pos);
        if let Elem::Char(c) = e {
            let u = if fold { lower(u) } else { u };
            if u != *c {
                return None;
            }
        }
        pos += len;
    }
    Some(pos)
}

fn general(segments: &[Vec<Elem>], fold: bool, v: &[u8]) -> bool {
    let Some((first, rest)) = segments.split_first() else { return v.is_empty() };
    let Some(mut pos) = match_at(first, fold, v, 0) else { return false };
    let Some((last, middles)) = rest.split_last() else { return pos == v.len() };
    // Each middle segment matches a fixed number of characters, so its leftmost match is the best.
    for seg in middles {
        loop {
            if let Some(end) = match_at(seg, fold, v, pos) {
                pos = end;
                break;
            }
            if pos >= v.len() {
                return false;
            }
            pos += decode(v, pos).1;
        }
    }
    // The last segment must end exactly at the end: it starts `last.len()` characters before it.
    let mut remaining = 0usize;
    let mut i = pos;
    while i < v.len() {
        i += decode(v, i).1;
        remaining += 1;
    }
    let Some(skip) = remaining.checked_sub(last.len()) else { return false };
    for _ in 0..skip {
        pos += decode(v, pos).1;
    }
    match_at(last, fold, v, pos) == Some(v.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn like(v: &str, p: &str) -> bool {
        Like::new(p, Some('\\'), false).unwrap().matches(v.as_bytes())
    }

    fn ilike(v: &str, p: &str) -> bool {
        Like::new(p, Some('\\'), true).unwrap().matches(v.as_bytes())
    }

    #[test]
    fn basics() {
        assert!(like("abc", "abc"));
        assert!(!like("abc", "ab"));
        assert!(like("abc", "a%"));
        assert!(like("abc", "%c"));
        assert!(like("abc", "%b%"));
        assert!(like("abc", "a%%c"));
        assert!(like("abc", "%"));
        assert!(like("", "%"));
        assert!(!like("", "_"));
        assert!(like("abc", "a_c"));
        assert!(like("abc", "___"));
        assert!(!like("abc", "____"));
        assert!(like("äb", "_b"));
        assert!(like("ä", "_"));
        assert!(like("a%", "a\\%"));
        assert!(!like("ab", "a\\%"));
        assert!(like("a_", "a\\_"));
        assert!(like("a\\b", "a\\\\b"));
        assert!(!like("aXbXc", "a%b%d"));
        assert!(like("aaab", "%ab"));
        assert!(like("abab", "%ab%ab"));
        assert!(!like("ab", "%ab%ab"));
        assert!(like("xabcabd", "%ab_"));
        assert!(like("user@example.com", "%@example.com"));
        assert!(!like("user@example.co", "%@example.com"));
        assert!(!like("a", "a%a"));
    }

    #[test]
    fn case_insensitive() {
        assert!(ilike("ABC", "abc"));
        assert!(ilike("abc", "A%"));
        assert!(ilike("Émile", "émile"));
        assert!(ilike("ǅ", "ǆ"));
        assert!(!ilike("abd", "ABC"));
        assert!(ilike("Foo@Example.COM", "%@example.com"));
    }

    #[test]
    fn escapes() {
        let m = Like::new("a#_b", Some('#'), false).unwrap();
        assert!(m.matches(b"a_b"));
        assert!(!m.matches(b"axb"));
        let m = Like::new("a\\b", None, false).unwrap();
        assert!(m.matches(b"a\\b"));
        assert!(Like::new("ab\\", Some('\\'), false).is_err());
    }

    #[test]
    fn invalid_utf8_values() {
        let m = Like::new("_b", Some('\\'), false).unwrap();
        assert!(m.matches(b"\xffb"));
        assert!(m.matches(b"\xc3\xa4b"));
        assert!(m.matches(b"\xc3b"));
        assert!(!m.matches(b"\xc3\xa4\xc3b"));
        assert!(Like::new("%_", Some('\\'), true).unwrap().matches(b"\xe2\x82"));
    }

    /// A direct recursive definition, for checking the matcher.
    fn reference(v: &[char], p: &[char], fold: bool) -> bool {
        let low = |c: char| c.to_lowercase().next().unwrap_or(c);
        match p.split_first() {
            None => v.is_empty(),
            Some(('%', rest)) => (0..=v.len()).any(|k| reference(&v[k..], rest, fold)),
            Some(('_', rest)) => !v.is_empty() && reference(&v[1..], rest, fold),
            Some((c, rest)) => {
                v.first().is_some_and(|x| if fold { low(*x) == low(*c) } else { x == c })
                    && reference(&v[1..], rest, fold)
            }
        }
    }

    proptest! {
        #[test]
        fn agrees_with_reference(v in "[abAä]{0,8}", p in "[abAä%_]{0,6}", fold in any::<bool>()) {
            let m = Like::new(&p, None, fold).unwrap();
            let vc: Vec<char> = v.chars().collect();
            let pc: Vec<char> = p.chars().collect();
            prop_assert_eq!(m.matches(v.as_bytes()), reference(&vc, &pc, fold), "{:?} LIKE {:?}", v, p);
        }

        #[test]
        fn never_panics(v in proptest::collection::vec(any::<u8>(), 0..16), p in "\\PC{0,8}", fold in any::<bool>()) {
            if let Ok(m) = Like::new(&p, Some('\\'), fold) {
                let _ = m.matches(&v);
            }
        }
    }
}
