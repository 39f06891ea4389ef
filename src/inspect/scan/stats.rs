//! What the sampled values of one column (or one JSON path) looked like: how many matched each
//! detector, as the whole value or inside it, and a few facts about their shape. Only counts and
//! hashes are kept, plus a bounded sample of values for the cross-column check; nothing here is
//! ever printed.

use std::collections::BTreeMap;

use super::Class;
use super::detect::{self, Det, Hits};
use super::people::{DICTIONARIES, NameList, NameScratch};

/// Values kept per column for the cross-column check, and their total size.
const SAMPLE_VALUES: usize = 400;
const SAMPLE_BYTES: usize = 96 * 1024;
/// After this many values, a column's name detectors and JSON parsing stop (their hit rates
/// are known by then); the cheap shape detectors keep running on every value.
const EXPENSIVE_VALUES: u64 = 20_000;
/// JSON paths tracked per column.
const MAX_PATHS: usize = 200;
/// Distinct values counted exactly up to this many.
const DISTINCT: usize = 64;
/// The shortest value worth searching for in other columns (as `scrub verify` does).
pub const MIN_NEEDLE: usize = crate::inspect::verify::DEFAULT_MIN_LENGTH;

/// Counters for one column or JSON path.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub values: u64,
    pub nulls: u64,
    pub whole: [u64; Det::ALL.len()],
    pub inside: [u64; Det::ALL.len()],
    pub bytes: u64,
    pub multiline: u64,
    pub spaced: u64,
    pub ipv6: u64,
    pub letters: u64,
    pub non_latin: u64,
    /// Values checked by the name detectors (at most [`EXPENSIVE_VALUES`]).
    pub name_checked: u64,
    distinct: Vec<u64>,
    pub many_distinct: bool,
    /// Values that start with a date; those with a year from 1900 to 2012; the years seen.
    pub dated: u64,
    pub old_dates: u64,
    years: u128,
    /// For JSON values: how many parsed, how many did not, and each path's counters.
    pub json_ok: u64,
    pub json_bad: u64,
    pub json_checked: u64,
    pub paths: BTreeMap<String, PathStats>,
    /// Text values that looked like JSON documents (start with `{` or `[` and parse).
    pub json_text: u64,
    pub samples: Vec<Box<[u8]>>,
    sample_bytes: usize,
}

/// One JSON path: the counters of its leaves, and which JSON types they had.
#[derive(Debug, Default, Clone)]
pub struct PathStats {
    pub stats: Stats,
    pub strings: u64,
    pub numbers: u64,
    pub bools: u64,
}

/// What the per-value analysis needs besides the value.
pub struct Ctx<'a> {
    pub names: Option<&'a NameList>,
    pub scratch: NameScratch,
    pub decoded: Vec<u8>,
}

fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    h
}

impl Stats {
    pub fn rate(&self, d: Det) -> f64 {
        (self.whole[d as usize] as f64 / self.values.max(1) as f64).min(1.0)
    }

    pub fn name_rate(&self, d: Det) -> f64 {
        self.whole[d as usize] as f64 / self.name_checked.max(1) as f64
    }

    pub fn distinct(&self) -> usize {
        if self.many_distinct { usize::MAX } else { self.distinct.len() }
    }

    pub fn avg_len(&self) -> f64 {
        self.bytes as f64 / self.values.max(1) as f64
    }

    /// Distinct years among the dates seen.
    pub fn years(&self) -> u32 {
        self.years.count_ones()
    }

    pub fn non_latin_share(&self) -> f64 {
        self.non_latin as f64 / self.letters.max(1) as f64
    }

    fn note_distinct(&mut self, v: &[u8]) {
        if self.many_distinct {
            return;
        }
        let h = fnv(v);
        if !self.distinct.contains(&h) {
            if self.distinct.len() >= DISTINCT {
                self.many_distinct = true;
                self.distinct.clear();
            } else {
                self.distinct.push(h);
            }
        }
    }

    fn keep_sample(&mut self, v: &[u8]) {
        if v.len() >= MIN_NEEDLE && self.samples.len() < SAMPLE_VALUES && self.sample_bytes < SAMPLE_BYTES {
            let v = &v[..v.len().min(2048)];
            self.sample_bytes += v.len();
            self.samples.push(v.into());
        }
    }

    fn add_hits(&mut self, h: Hits) {
        for d in Det::ALL {
            if h.whole & d.bit() != 0 {
                self.whole[d as usize] += 1;
            } else if h.inside & d.bit() != 0 {
                self.inside[d as usize] += 1;
            }
        }
    }

    /// Adds one field as it appears in the COPY data (escaped; `\N` is NULL).
    pub fn add_raw(&mut self, raw: &[u8], class: Class, ctx: &mut Ctx<'_>) {
        if raw == crate::copy::NULL_FIELD {
            self.nulls += 1;
            return;
        }
        let mut decoded = std::mem::take(&mut ctx.decoded);
        decoded.clear();
        let value: &[u8] = if memchr::memchr(b'\\', raw).is_some() {
            if crate::copy::decode_field(raw, &mut decoded).is_err() {
                ctx.decoded = decoded;
                return;
            }
            &decoded
        } else {
            raw
        };
        self.add_value(value, class, ctx);
        ctx.decoded = decoded;
    }

    /// Adds one decoded, non-NULL value of a column of class `class`.
    pub fn add_value(&mut self, v: &[u8], class: Class, ctx: &mut Ctx<'_>) {
        self.values += 1;
        self.bytes += v.len() as u64;
        self.note_distinct(v);
        match class {
            Class::Boolean | Class::Uuid | Class::Bytea => {}
            Class::Integer | Class::Numeric => {
                let t = detect::trim(v);
                let mut h = Hits::default();
                for (d, f) in [
                    (Det::Card, detect::is_card as fn(&[u8]) -> bool),
                    (Det::Bsn, detect::is_bsn),
                    (Det::SteuerId, detect::is_steuer_id),
                    (Det::Nir, detect::is_nir),
                ] {
                    if f(t) {
                        h.whole |= d.bit();
                    }
                }
                self.add_hits(h);
            }
            Class::DateTime { .. } => self.note_date(v),
            Class::Network => {
                self.whole[Det::Ip as usize] += 1;
                if detect::is_ipv6(v) {
                    self.ipv6 += 1;
                }
            }
            Class::Mac => self.whole[Det::Mac as usize] += 1,
            Class::Json => self.add_json(v, ctx),
            Class::Array => self.add_array(v, ctx),
            Class::Text | Class::Other => self.add_text(v, ctx, true),
        }
    }

    fn note_date(&mut self, v: &[u8]) {
        if let Some((y, _, _)) = detect::date_prefix(v) {
            self.dated += 1;
            if (1900..=2012).contains(&y) {
                self.old_dates += 1;
            }
            if (1900..2028).contains(&y) {
                self.years |= 1u128 << (y - 1900);
            }
        }
    }

    /// A text value: shapes, names, listed names, and whether it is a JSON document.
    fn add_text(&mut self, v: &[u8], ctx: &mut Ctx<'_>, top: bool) {
        let mut h = detect::shapes(v);
        if h.whole & Det::Ip.bit() != 0 && detect::is_ipv6(v) {
            self.ipv6 += 1;
        }
        if memchr::memchr(b'\n', v).is_some() {
            self.multiline += 1;
        }
        if memchr::memchr(b' ', detect::trim(v)).is_some() {
            self.spaced += 1;
        }
        self.note_date(v);
        let expensive = self.values <= EXPENSIVE_VALUES;
        if let Ok(text) = std::str::from_utf8(v) {
            for c in text.chars().filter(|c| c.is_alphabetic()) {
                self.letters += 1;
                if c > '\u{24f}' {
                    self.non_latin += 1;
                }
            }
            if expensive && h.whole == 0 {
                self.name_checked += 1;
                let d = &*DICTIONARIES;
                if text.len() <= 80 && d.is_name(text, &mut ctx.scratch) {
                    h.whole |= Det::PersonName.bit();
                } else if text.len() >= 8 && d.mentions_name(text, &mut ctx.scratch) {
                    h.inside |= Det::PersonName.bit();
                }
            }
            if let Some(list) = ctx.names
                && let Some(whole) = list.find(text, &mut ctx.scratch)
            {
                if whole { h.whole |= Det::ListedName.bit() } else { h.inside |= Det::ListedName.bit() }
            }
            if top && matches!(text.trim_start().as_bytes().first(), Some(b'{' | b'[')) && expensive {
                let before = self.json_ok;
                self.walk_json(text, ctx);
                if self.json_ok > before {
                    self.json_text += 1;
                }
            }
        }
        self.add_hits(h);
        if top {
            self.keep_sample(v);
        }
    }

    fn add_json(&mut self, v: &[u8], ctx: &mut Ctx<'_>) {
        self.keep_sample(v);
        if self.json_checked >= EXPENSIVE_VALUES {
            // Past the parsed sample: the shape detectors still look at the raw document.
            let h = detect::shapes(v);
            self.add_hits(Hits { whole: 0, inside: h.whole | h.inside });
            return;
        }
        match std::str::from_utf8(v) {
            Ok(text) => self.walk_json(text, ctx),
            Err(_) => self.json_bad += 1,
        }
    }

    fn walk_json(&mut self, text: &str, ctx: &mut Ctx<'_>) {
        self.json_checked += 1;
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(doc) => {
                self.json_ok += 1;
                let mut path = String::from("$");
                self.walk(&doc, &mut path, ctx, 0);
            }
            Err(_) => self.json_bad += 1,
        }
    }

    fn walk(&mut self, node: &serde_json::Value, path: &mut String, ctx: &mut Ctx<'_>, depth: usize) {
        use serde_json::Value;
        if depth > 32 {
            return;
        }
        let len = path.len();
        match node {
            Value::Object(map) => {
                for (k, child) in map {
                    push_key(path, k);
                    self.walk(child, path, ctx, depth + 1);
                    path.truncate(len);
                }
                return;
            }
            Value::Array(items) => {
                path.push_str("[*]");
                for child in items {
                    self.walk(child, path, ctx, depth + 1);
                }
                path.truncate(len);
                return;
            }
            Value::Null => return,
            _ => {}
        }
        if !self.paths.contains_key(path.as_str()) && self.paths.len() >= MAX_PATHS {
            return;
        }
        let p = self.paths.entry(path.clone()).or_default();
        match node {
            Value::String(s) => {
                p.strings += 1;
                p.stats.values += 1;
                p.stats.bytes += s.len() as u64;
                p.stats.note_distinct(s.as_bytes());
                p.stats.add_text(s.as_bytes(), ctx, false);
            }
            Value::Number(n) => {
                p.numbers += 1;
                let text = n.to_string();
                p.stats.add_value(text.as_bytes(), Class::Text, ctx);
            }
            Value::Bool(_) => {
                p.bools += 1;
                p.stats.values += 1;
            }
            _ => {}
        }
    }

    fn add_array(&mut self, v: &[u8], ctx: &mut Ctx<'_>) {
        self.keep_sample(v);
        let inner = v.strip_prefix(b"{").and_then(|r| r.strip_suffix(b"}")).unwrap_or(v);
        let mut elem = Vec::new();
        let mut quoted = false;
        let mut i = 0;
        while i <= inner.len() {
            let b = inner.get(i).copied();
            match b {
                Some(b'"') => quoted = !quoted,
                Some(b'\\') if quoted => {
                    i += 1;
                    if let Some(&c) = inner.get(i) {
                        elem.push(c);
                    }
                }
                Some(b',') | None if !quoted => {
                    if !elem.is_empty() && elem != b"NULL" {
                        self.add_text(&elem, ctx, false);
                    }
                    elem.clear();
                }
                Some(c) => elem.push(c),
                None => {}
            }
            i += 1;
        }
    }

    /// Adds another table's counters for the same column (partitions into their parent).
    pub fn merge(&mut self, o: &Stats) {
        self.values += o.values;
        self.nulls += o.nulls;
        for k in 0..Det::ALL.len() {
            self.whole[k] += o.whole[k];
            self.inside[k] += o.inside[k];
        }
        self.bytes += o.bytes;
        self.multiline += o.multiline;
        self.spaced += o.spaced;
        self.ipv6 += o.ipv6;
        self.letters += o.letters;
        self.non_latin += o.non_latin;
        self.name_checked += o.name_checked;
        if o.many_distinct {
            self.many_distinct = true;
            self.distinct.clear();
        }
        for h in &o.distinct {
            if !self.many_distinct && !self.distinct.contains(h) {
                if self.distinct.len() >= DISTINCT {
                    self.many_distinct = true;
                    self.distinct.clear();
                } else {
                    self.distinct.push(*h);
                }
            }
        }
        self.dated += o.dated;
        self.old_dates += o.old_dates;
        self.years |= o.years;
        self.json_ok += o.json_ok;
        self.json_bad += o.json_bad;
        self.json_checked += o.json_checked;
        self.json_text += o.json_text;
        for (k, p) in &o.paths {
            let mine = self.paths.entry(k.clone()).or_default();
            mine.stats.merge(&p.stats);
            mine.strings += p.strings;
            mine.numbers += p.numbers;
            mine.bools += p.bools;
        }
        for s in &o.samples {
            if self.samples.len() < SAMPLE_VALUES {
                self.samples.push(s.clone());
            }
        }
    }
}

/// Appends `.key` (or `["key"]` when the key is not a plain identifier) to a JSON path.
fn push_key(path: &mut String, key: &str) {
    let plain = !key.is_empty()
        && key.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        path.push('.');
        path.push_str(key);
    } else {
        path.push('[');
        path.push_str(&serde_json::Value::String(key.to_string()).to_string());
        path.push(']');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Ctx<'static> {
        Ctx { names: None, scratch: NameScratch::default(), decoded: Vec::new() }
    }

    #[test]
    fn counts_whole_and_inside_hits() {
        let mut s = Stats::default();
        let mut c = ctx();
        s.add_raw(b"anna@example.org", Class::Text, &mut c);
        s.add_raw(b"\\N", Class::Text, &mut c);
        s.add_raw(b"call me: +49 30 1234567\\nbye", Class::Text, &mut c);
        assert_eq!((s.values, s.nulls, s.multiline), (2, 1, 1));
        assert_eq!(s.whole[Det::Email as usize], 1);
        assert_eq!(s.inside[Det::Phone as usize], 1);
        assert_eq!(s.samples.len(), 2);
    }

    #[test]
    fn json_paths() {
        let mut s = Stats::default();
        let mut c = ctx();
        s.add_raw(
            br#"{"twitter": "@anna", "newsletter": true, "emergency_contact": {"name": "Anna M\\u00fcller", "phone": "+49 151 1234567"}, "tags": ["a b"], "odd key": 1}"#,
            Class::Json,
            &mut c,
        );
        let keys: Vec<&str> = s.paths.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "$.emergency_contact.name",
                "$.emergency_contact.phone",
                "$.newsletter",
                "$.tags[*]",
                "$.twitter",
                "$[\"odd key\"]"
            ]
        );
        assert_eq!(s.paths["$.emergency_contact.phone"].stats.whole[Det::Phone as usize], 1);
        assert_eq!(s.paths["$.emergency_contact.name"].stats.whole[Det::PersonName as usize], 1);
        assert_eq!(s.paths["$.newsletter"].bools, 1);
    }

    #[test]
    fn arrays_and_dates() {
        let mut s = Stats::default();
        let mut c = ctx();
        s.add_raw(b"{anna@example.org,\"b c@example.org\",NULL}", Class::Array, &mut c);
        assert_eq!(s.whole[Det::Email as usize], 2);
        let mut d = Stats::default();
        for v in [&b"1955-11-08"[..], b"1987-02-19", b"2024-01-01"] {
            d.add_raw(v, Class::DateTime { date_only: true }, &mut c);
        }
        assert_eq!((d.dated, d.old_dates, d.years()), (3, 2, 3));
    }
}
