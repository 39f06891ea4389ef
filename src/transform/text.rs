//! Free-text transforms: `mask`, `regex_replace`, `lorem` and `path`.

use std::borrow::Cow;

use super::column::{char_count, char_limit, fit_chars, push_token};
use super::rng::KeyedStream;
use super::words::LOREM;
use super::{Built, Ctx, Keyed, Output, Spec, Uniqueness, ValueTransform};

// ---------------------------------------------------------------------------------------------
// mask

/// Replaces every character but the first `keep_first` and the last `keep_last` with `fill`.
struct Mask {
    keep_first: usize,
    keep_last: usize,
    fill: Vec<u8>,
}

impl ValueTransform for Mask {
    fn apply(&self, value: &[u8], _: &Ctx<'_>, out: &mut Vec<u8>) -> Output {
        let n = char_count(value);
        // A value no longer than the kept parts would be shown whole: mask it all instead.
        let (first, last) =
            if n <= self.keep_first + self.keep_last { (0, 0) } else { (self.keep_first, self.keep_last) };
        let mut i = 0;
        let mut emit = |unit: &[u8], out: &mut Vec<u8>| {
            if i < first || i >= n - last {
                out.extend_from_slice(unit);
            } else {
                out.extend_from_slice(&self.fill);
            }
            i += 1;
        };
        for chunk in value.utf8_chunks() {
            let valid = chunk.valid();
            for (at, c) in valid.char_indices() {
                emit(&valid.as_bytes()[at..at + c.len_utf8()], out);
            }
            for b in chunk.invalid() {
                emit(std::slice::from_ref(b), out);
            }
        }
        Output::Value
    }
}

pub fn build_mask(spec: &Spec<'_>) -> Result<Built, String> {
    let keep_first = spec.int_param("keep_first", 0..=1_000_000)?.unwrap_or(0) as usize;
    let keep_last = spec.int_param("keep_last", 0..=1_000_000)?.unwrap_or(0) as usize;
    let fill = spec.str_param("char")?.unwrap_or("*");
    if fill.chars().count() != 1 {
        return Err(format!("`char` must be exactly one character, got \"{fill}\""));
    }
    Ok((Box::new(Mask { keep_first, keep_last, fill: fill.as_bytes().to_vec() }), Uniqueness::MayBreak))
}

// ---------------------------------------------------------------------------------------------
// regex_replace

struct RegexReplace {
    re: regex::bytes::Regex,
    replacement: Vec<u8>,
    limit: Option<usize>,
}

impl ValueTransform for RegexReplace {
    fn apply(&self, value: &[u8], _: &Ctx<'_>, out: &mut Vec<u8>) -> Output {
        let start = out.len();
        match self.re.replace_all(value, self.replacement.as_slice()) {
            Cow::Borrowed(v) => out.extend_from_slice(v),
            Cow::Owned(v) => out.extend_from_slice(&v),
        }
        fit_chars(out, start, self.limit);
        Output::Value
    }
}

pub fn build_regex_replace(spec: &Spec<'_>) -> Result<Built, String> {
    let pattern = spec.str_param("pattern")?.ok_or("transform `regex_replace` needs `pattern`")?;
    let replacement = spec.str_param("replacement")?.unwrap_or("");
    let re = regex::bytes::Regex::new(pattern).map_err(|e| format!("`pattern` is not a valid regex: {e}"))?;
    let imp = RegexReplace { re, replacement: replacement.as_bytes().to_vec(), limit: char_limit(spec.column_type) };
    Ok((Box::new(imp), Uniqueness::MayBreak))
}

// ---------------------------------------------------------------------------------------------
// lorem

/// Lorem-ipsum sentences, keyed by the value, of the value's length in characters (within 10%,
/// and never longer than the column allows).
struct Lorem {
    mac: Keyed,
    limit: Option<usize>,
}

impl ValueTransform for Lorem {
    fn apply(&self, value: &[u8], _: &Ctx<'_>, out: &mut Vec<u8>) -> Output {
        let target = char_count(value).min(self.limit.unwrap_or(usize::MAX));
        if target == 0 {
            return Output::Value;
        }
        let start = out.len();
        let mut s = KeyedStream::new(&self.mac, value);
        // Sentences of 4 to 12 words, until the text is longer than the target.
        while out.len() - start <= target {
            let words = 4 + s.index(9);
            for w in 0..words {
                let word = s.pick(LOREM).as_bytes();
                if w == 0 {
                    if out.len() > start {
                        out.push(b' ');
                    }
                    out.push(word[0].to_ascii_uppercase());
                    out.extend_from_slice(&word[1..]);
                } else {
                    out.push(b' ');
                    out.extend_from_slice(word);
                }
            }
            out.push(b'.');
        }
        let text = &out[start..];
        if target <= 2 {
            out.truncate(start + target);
            return Output::Value;
        }
        let slack = target / 10;
        let (lo, hi) = (target - slack, (target + slack).min(self.limit.unwrap_or(usize::MAX)));
        // The final length when cutting after `e` characters at a word end: a full stop closes the
        // text unless it already ends with one.
        let stop = |e: usize| e + usize::from(text[e - 1] != b'.');
        let boundary = (1..=hi.min(text.len()))
            .rev()
            .find(|&e| (e == text.len() || text[e] == b' ') && stop(e) <= hi)
            .filter(|&e| stop(e) >= lo);
        match boundary {
            Some(e) => {
                out.truncate(start + e);
                if out.last() != Some(&b'.') {
                    out.push(b'.');
                }
            }
            None => {
                // Cut inside a word, at exactly the target length.
                out.truncate(start + target - 1);
                if let Some(last) = out.last_mut().filter(|b| **b == b' ' || **b == b'.') {
                    *last = b'a';
                }
                out.push(b'.');
            }
        }
        Output::Value
    }
}

pub fn build_lorem(spec: &Spec<'_>) -> Result<Built, String> {
    Ok((Box::new(Lorem { mac: spec.keyed("lorem")?, limit: char_limit(spec.column_type) }), Uniqueness::MayBreak))
}

// ---------------------------------------------------------------------------------------------
// path

/// Appends the pseudonym of one path segment: `.` and `..` and a Windows drive (`C:`) stay, a
/// leading dot stays, a short alphanumeric extension stays, the rest becomes a keyed token of the
/// whole segment.
pub(super) fn push_segment(mac: &Keyed, seg: &[u8], out: &mut Vec<u8>) {
    if seg.is_empty()
        || seg == b"."
        || seg == b".."
        || (seg.len() == 2 && seg[1] == b':' && seg[0].is_ascii_alphabetic())
    {
        out.extend_from_slice(seg);
        return;
    }
    let dots = seg.iter().take_while(|&&b| b == b'.').count();
    out.extend_from_slice(&seg[..dots]);
    push_token(&mac.digest(seg), out);
    let body = &seg[dots..];
    if let Some(p) = memchr::memrchr(b'.', body) {
        let ext = &body[p + 1..];
        if p > 0 && (1..=8).contains(&ext.len()) && ext.iter().all(u8::is_ascii_alphanumeric) {
            out.push(b'.');
            out.extend_from_slice(ext);
        }
    }
}

/// `/ilove/pgday/conf.de` → `/<token>/<token>/<token>.de`: separators (`/` and `\`), leading and
/// trailing ones included, stay where they are.
struct PathT {
    mac: Keyed,
    limit: Option<usize>,
}

impl ValueTransform for PathT {
    fn apply(&self, value: &[u8], _: &Ctx<'_>, out: &mut Vec<u8>) -> Output {
        let start = out.len();
        let mut seg_start = 0;
        for (i, &b) in value.iter().enumerate() {
            if b == b'/' || b == b'\\' {
                push_segment(&self.mac, &value[seg_start..i], out);
                out.push(b);
                seg_start = i + 1;
            }
        }
        push_segment(&self.mac, &value[seg_start..], out);
        fit_chars(out, start, self.limit);
        Output::Value
    }
}

pub fn build_path(spec: &Spec<'_>) -> Result<Built, String> {
    let limit = char_limit(spec.column_type);
    // 80-bit tokens: distinct segments collide with negligible probability, unless the column's
    // length limit cuts them.
    let uniqueness = if limit.is_some() { Uniqueness::MayBreak } else { Uniqueness::Preserves };
    Ok((Box::new(PathT { mac: spec.keyed("path")?, limit }), uniqueness))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::testing::*;
    use super::super::{Ctx, Uniqueness};

    #[test]
    fn golden_outputs() {
        // Pinned: a change here changes every pseudonym users have ever produced.
        let lorem = build_with("lorem", "", None).unwrap();
        let path = build_with("path", "", None).unwrap();
        let got = [
            run(&lorem, "I love PgDay, the conference in Germany!").unwrap(),
            run(&path, "/ilove/pgday/conf.de").unwrap(),
            run(&path, r"C:\Users\alice\.ssh\id_rsa.pub").unwrap(),
        ];
        assert_eq!(
            got,
            [
                "Maecenas eros mollis laborum proident do mi.",
                "/uuguccgghzraptpz/jezkssqlunrs7uic/fwrsyujf4wc5lcfg.de",
                r"C:\mxoqbrifvr3lpbbe\hgetw557xbczlr7y\.xrbils6pt2gf2ng6\nwknstu264m5nlz3.pub",
            ]
        );
    }

    #[test]
    fn mask_counts_characters() {
        let t = build_with("mask", "keep_first = 1\nkeep_last = 2", None).unwrap();
        assert_eq!(t.uniqueness(), Uniqueness::MayBreak);
        assert_eq!(run(&t, "Jürgen Müller").unwrap(), "J**********er");
        assert_eq!(run(&t, "abc").unwrap(), "***");
        assert_eq!(run(&build_with("mask", "", None).unwrap(), "äöü").unwrap(), "***");
        assert_eq!(
            run(&build_with("mask", "char = \"•\"\nkeep_last = 4", None).unwrap(), "4111 1111").unwrap(),
            "•••••1111"
        );
        let mut out = Vec::new();
        build_with("mask", "keep_first = 1", None).unwrap().apply(&[0xff, 0xfe, b'a'], &Ctx::default(), &mut out);
        assert_eq!(out, [0xff, b'*', b'*']);
        assert!(build_with("mask", "char = \"ab\"", None).unwrap_err().contains("one character"));
    }

    #[test]
    fn regex_replace_uses_regex_syntax() {
        let t = build_with(
            "regex_replace",
            r#"pattern = '(\d{3})\d+'
replacement = '${1}XXXX'"#,
            None,
        )
        .unwrap();
        assert_eq!(run(&t, "call 0301234567 now").unwrap(), "call 030XXXX now");
        assert!(build_with("regex_replace", "pattern = '('", None).unwrap_err().contains("not a valid regex"));
        assert!(build_with("regex_replace", "", None).unwrap_err().contains("needs `pattern`"));
        let short = build_with("regex_replace", "pattern = 'a'\nreplacement = 'aaaa'", Some("varchar(5)")).unwrap();
        assert_eq!(run(&short, "abab").unwrap(), "aaaab");
    }

    #[test]
    fn lorem_keeps_the_length_within_ten_percent() {
        let t = build_with("lorem", "", None).unwrap();
        for len in (0..300).chain([1000, 5000]) {
            let input: String = (0..len).map(|i| if i % 7 == 6 { ' ' } else { 'é' }).collect();
            let out = run(&t, &input).unwrap();
            let n = out.chars().count();
            assert!(n.abs_diff(len) <= len / 10, "{len} -> {n}: {out:?}");
            assert!(out.is_ascii() && !out.contains("  ") && !out.ends_with(' '), "{out:?}");
            if len > 2 {
                assert!(out.ends_with('.') && out.as_bytes()[0].is_ascii_uppercase(), "{out:?}");
            }
        }
        let short = build_with("lorem", "", Some("character varying(10)")).unwrap();
        assert!(run(&short, &"x".repeat(100)).unwrap().len() <= 10);
    }

    #[test]
    fn path_keeps_structure() {
        let t = build_with("path", "", None).unwrap();
        assert_eq!(t.uniqueness(), Uniqueness::Preserves);
        let out = run(&t, "/ilove/pgday/conf.de/").unwrap();
        let parts: Vec<&str> = out.split('/').collect();
        assert_eq!(parts.len(), 5, "{out}");
        assert!(parts[0].is_empty() && parts[4].is_empty() && parts[3].ends_with(".de"));
        assert_eq!(parts[1].len(), 16);
        let other = run(&t, "/ilove/other").unwrap();
        assert_eq!(other.split('/').nth(1), Some(parts[1]), "the same segment, the same token");
        let win = run(&t, r"C:\dir\..\.bashrc").unwrap();
        assert!(win.starts_with(r"C:\") && win.contains(r"\..\.") && !win.contains("bashrc"), "{win}");
        assert_eq!(run(&t, "").unwrap(), "");
        assert_eq!(run(&t, "//").unwrap(), "//");
    }

    proptest! {
        #[test]
        fn any_bytes_are_handled_deterministically(v in proptest::collection::vec(any::<u8>(), 0..40)) {
            for (name, params) in [
                ("mask", "keep_first = 2\nkeep_last = 1"),
                ("regex_replace", "pattern = '[0-9]'\nreplacement = '#'"),
                ("lorem", ""),
                ("path", ""),
            ] {
                let t = build_with(name, params, Some("character varying(40)")).unwrap();
                let (mut a, mut b) = (Vec::new(), Vec::new());
                t.apply(&v, &Ctx::default(), &mut a);
                t.apply(&v, &Ctx::default(), &mut b);
                prop_assert_eq!(&a, &b);
                prop_assert!(super::char_count(&a) <= 40);
            }
        }
    }
}
