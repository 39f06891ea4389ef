//! `scrub verify`: proves that no original value of a rewritten column survives anywhere in a
//! sanitized dump — in any column of any table (free text, json and arrays included) and in the
//! SQL outside COPY data (comments, defaults, function bodies, statistics).
//!
//! BE ADVISED: the search must cost about what scrub itself costs, whatever the number of values,
//! so it is not a scan per value. Every original value is reduced to (hash of its first `k`
//! bytes, hash of all its bytes, length); the sanitized dump is scanned once with a rolling hash
//! over every `k`-byte window, and only windows whose hash is known are checked in full. Values
//! are compared in their COPY-escaped form, which is how they appear in both dumps. Memory is
//! about 24 bytes per distinct value plus a fixed 16 MiB filter.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;

use crate::copy::{NULL_FIELD, split_row};
use crate::error::{Error, Result};
use crate::pipeline::{Options, Visitor};
use crate::rules::RuleSet;
use crate::rules::bind::{Binder, describe};
use crate::rules::schema::Schema;
use crate::sql::QualifiedName;
use crate::sql::ddl::CopyStmt;
use crate::transform::SecretKey;

/// Values shorter than this many bytes are not searched for: too short to identify anyone, and
/// they would match by chance all over a dump (`DE`, `42`, `Anna`).
pub const DEFAULT_MIN_LENGTH: usize = 6;

const BASE: u64 = 0x100_0000_01b3;
const FILTER_BITS: u32 = 27;

/// One leaked value's whereabouts.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Leak {
    /// Where it was found: `schema.table.column`, or `SQL text`.
    pub found_in: String,
    /// The rewritten column (or the names list) the value came from.
    pub original: String,
    pub count: u64,
}

/// The verdict.
#[derive(Debug, Serialize)]
pub struct VerifyReport {
    pub values_checked: u64,
    pub min_length: usize,
    pub leaks: Vec<Leak>,
}

impl VerifyReport {
    pub fn text(&self) -> String {
        let mut out = format!(
            "{} distinct original value(s) of at least {} bytes searched for\n",
            self.values_checked, self.min_length
        );
        if self.leaks.is_empty() {
            out.push_str("no leak found\n");
        }
        for l in &self.leaks {
            out.push_str(&format!("LEAK: {} value(s) of {} found in {}\n", l.count, l.original, l.found_in));
        }
        out
    }
}

/// A value to look for.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Needle {
    prefix: u64,
    full: u64,
    len: u32,
    origin: u32,
}

fn hash_bytes(bytes: &[u8]) -> u64 {
    // FNV-1a, then a final mix: stable, cheap, and only ever compared with itself.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    h ^= h >> 33;
    h.wrapping_mul(0xff51_afd7_ed55_8ccd)
}

fn rolling(window: &[u8]) -> u64 {
    window.iter().fold(0u64, |h, &b| h.wrapping_mul(BASE).wrapping_add(u64::from(b) + 1))
}

/// Collects the original values of the rewritten columns.
struct Collector<'a> {
    schema: &'a Schema,
    binder: Binder<'a>,
    min_len: usize,
    origins: Vec<String>,
    needles: Vec<Needle>,
    current: Vec<Option<u32>>,
    spans: Vec<std::ops::Range<usize>>,
}

impl Collector<'_> {
    fn add(&mut self, raw: &[u8], origin: u32) {
        if raw.len() >= self.min_len && raw.len() <= u32::MAX as usize {
            self.needles.push(Needle {
                prefix: rolling(&raw[..self.min_len]),
                full: hash_bytes(raw),
                len: raw.len() as u32,
                origin,
            });
        }
    }
}

impl Visitor for Collector<'_> {
    fn sql(&mut self, _: &[u8]) -> Result<()> {
        Ok(())
    }

    fn table(&mut self, copy: &CopyStmt) -> Result<bool> {
        self.current.clear();
        for col in &copy.columns {
            let rewritten = self.binder.resolve(self.schema, &copy.table, col).rewrites();
            self.current.push(rewritten.then(|| {
                self.origins.push(describe(&copy.table, col));
                (self.origins.len() - 1) as u32
            }));
        }
        Ok(self.current.iter().any(Option::is_some))
    }

    fn rows(&mut self, rows: &[u8]) -> Result<bool> {
        for line in rows.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let mut spans = std::mem::take(&mut self.spans);
            if split_row(line, &mut spans).is_ok() {
                for (span, origin) in spans.iter().zip(self.current.clone()) {
                    let raw = &line[span.clone()];
                    if let Some(o) = origin
                        && raw != NULL_FIELD
                    {
                        self.add(raw, o);
                    }
                }
            }
            self.spans = spans;
        }
        Ok(true)
    }
}

/// Searches the sanitized dump.
struct Searcher<'a> {
    needles: &'a [Needle],
    filter: Vec<u64>,
    min_len: usize,
    origins: &'a [String],
    table: Option<QualifiedName>,
    columns: Vec<String>,
    spans: Vec<std::ops::Range<usize>>,
    found: BTreeMap<(String, u32), u64>,
}

impl Searcher<'_> {
    fn may_contain(&self, prefix: u64) -> bool {
        let bit = prefix >> (64 - FILTER_BITS);
        self.filter[(bit / 64) as usize] & (1 << (bit % 64)) != 0
    }

    /// Every needle occurring in `text`; `place(pos)` names where.
    fn search(&mut self, text: &[u8], place: &dyn Fn(usize, &mut Vec<std::ops::Range<usize>>) -> String) {
        let k = self.min_len;
        if text.len() < k {
            return;
        }
        let top = (0..k - 1).fold(1u64, |p, _| p.wrapping_mul(BASE));
        let mut h = rolling(&text[..k]);
        let mut spans = std::mem::take(&mut self.spans);
        for start in 0..=text.len() - k {
            if start > 0 {
                let out = u64::from(text[start - 1]) + 1;
                let inn = u64::from(text[start + k - 1]) + 1;
                h = h.wrapping_sub(out.wrapping_mul(top)).wrapping_mul(BASE).wrapping_add(inn);
            }
            if !self.may_contain(h) {
                continue;
            }
            let first = self.needles.partition_point(|n| n.prefix < h);
            for n in self.needles[first..].iter().take_while(|n| n.prefix == h) {
                let end = start + n.len as usize;
                if end <= text.len() && hash_bytes(&text[start..end]) == n.full {
                    *self.found.entry((place(start, &mut spans), n.origin)).or_default() += 1;
                }
            }
        }
        self.spans = spans;
    }
}

impl Visitor for Searcher<'_> {
    fn sql(&mut self, text: &[u8]) -> Result<()> {
        self.search(text, &|_, _| "SQL text outside COPY data".to_string());
        Ok(())
    }

    fn table(&mut self, copy: &CopyStmt) -> Result<bool> {
        self.table = Some(copy.table.clone());
        self.columns = copy.columns.clone();
        Ok(true)
    }

    fn rows(&mut self, rows: &[u8]) -> Result<bool> {
        let table = self.table.clone().expect("rows come after their table");
        let columns = self.columns.clone();
        for line in rows.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            // The column of a hit is found only when there is one.
            let place = |pos: usize, spans: &mut Vec<std::ops::Range<usize>>| {
                let column = match split_row(line, spans) {
                    Ok(()) => spans.iter().position(|s| s.contains(&pos)).and_then(|i| columns.get(i)),
                    Err(_) => None,
                };
                describe(&table, column.map_or("?", String::as_str))
            };
            self.search(line, &place);
        }
        Ok(true)
    }
}

/// Searches `sanitized` for every original value of the columns `rules` rewrite in `original`,
/// and for every name in `names` (one per line).
pub fn verify(
    rules: &RuleSet,
    original: &Path,
    sanitized: Option<&Path>,
    names: Option<&Path>,
    min_len: usize,
    opts: &Options,
) -> Result<VerifyReport> {
    if min_len == 0 {
        return Err(Error::Usage("--min-length must be at least 1".into()));
    }
    // The original is read twice: once for its schema, once for its values.
    let schema = crate::inspect::visit_dump(Some(original), opts, &mut super::SchemaOnly)?;
    let key = SecretKey::new(b"scrub verify".to_vec()).expect("non-empty");
    let mut collector = Collector {
        schema: &schema,
        binder: Binder::new(rules, Some(&key)),
        min_len,
        origins: Vec::new(),
        needles: Vec::new(),
        current: Vec::new(),
        spans: Vec::new(),
    };
    crate::inspect::visit_dump(Some(original), opts, &mut collector)?;
    if let Some(path) = names {
        let text = std::fs::read(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        collector.origins.push(format!("names list {}", path.display()));
        let origin = (collector.origins.len() - 1) as u32;
        for name in text.split(|&b| b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l)) {
            let mut raw = Vec::new();
            crate::copy::encode_field(name, &mut raw);
            collector.add(&raw, origin);
        }
    }
    let Collector { mut needles, origins, .. } = collector;
    needles.sort_unstable();
    needles.dedup_by(|a, b| (a.prefix, a.full, a.len) == (b.prefix, b.full, b.len));
    let mut filter = vec![0u64; 1 << (FILTER_BITS - 6)];
    for n in &needles {
        let bit = n.prefix >> (64 - FILTER_BITS);
        filter[(bit / 64) as usize] |= 1 << (bit % 64);
    }
    let mut searcher = Searcher {
        needles: &needles,
        filter,
        min_len,
        origins: &origins,
        table: None,
        columns: Vec::new(),
        spans: Vec::new(),
        found: BTreeMap::new(),
    };
    crate::inspect::visit_dump(sanitized, opts, &mut searcher)?;
    let origins = searcher.origins;
    let mut leaks: BTreeSet<Leak> = BTreeSet::new();
    for ((found_in, origin), count) in searcher.found {
        leaks.insert(Leak { found_in, original: origins[origin as usize].clone(), count });
    }
    Ok(VerifyReport { values_checked: needles.len() as u64, min_length: min_len, leaks: leaks.into_iter().collect() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolling_hash_matches_a_fresh_hash_of_every_window() {
        let text = b"the quick brown fox jumps over the lazy dog";
        let k = 6;
        let top = (0..k - 1).fold(1u64, |p, _| p.wrapping_mul(BASE));
        let mut h = rolling(&text[..k]);
        for start in 1..=text.len() - k {
            let out = u64::from(text[start - 1]) + 1;
            let inn = u64::from(text[start + k - 1]) + 1;
            h = h.wrapping_sub(out.wrapping_mul(top)).wrapping_mul(BASE).wrapping_add(inn);
            assert_eq!(h, rolling(&text[start..start + k]));
        }
    }

    #[test]
    fn finds_values_inside_other_text_and_sql() {
        let dir = tempfile::tempdir().unwrap();
        let original = dir.path().join("o.sql");
        let sanitized = dir.path().join("s.sql");
        std::fs::write(
            &original,
            "CREATE TABLE public.p (id integer, email text, note text);\nCOPY public.p (id, email, note) FROM stdin;\n1\talice@example.org\tok\n2\tbob@example.org\tfine\n\\.\n",
        )
        .unwrap();
        std::fs::write(
            &sanitized,
            "-- contact alice@example.org\nCREATE TABLE public.p (id integer, email text, note text);\nCOPY public.p (id, email, note) FROM stdin;\n1\tx1@y.de\tok\n2\tx2@y.de\tsee bob@example.org please\n\\.\n",
        )
        .unwrap();
        let key = SecretKey::new(b"k".to_vec()).unwrap();
        let rules = RuleSet::parse(
            "[tables.\"public.p\"]\ncolumns.id = \"keep\"\ncolumns.email = \"email\"\ncolumns.note = \"keep\"\n",
            Path::new("r.toml"),
            Some(&key),
        )
        .unwrap();
        let report = verify(&rules, &original, Some(&sanitized), None, 6, &Options::default()).unwrap();
        assert_eq!(report.values_checked, 2);
        let found: Vec<_> = report.leaks.iter().map(|l| (l.found_in.as_str(), l.count)).collect();
        assert_eq!(found, vec![("SQL text outside COPY data", 1), ("public.p.note", 1)]);
        let clean = verify(&rules, &original, Some(&original.with_file_name("missing")), None, 6, &Options::default());
        assert!(clean.is_err());
    }
}
