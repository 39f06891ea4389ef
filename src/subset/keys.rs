//! Key sets: the key values of kept rows (or of rows that must be pulled in), held compactly and
//! spilled to disk past `--memory-limit`.
//!
//! A key is one `u128`: for a single integer column the value itself (exact), otherwise a 128-bit
//! xxh3 hash of the columns' COPY text (a collision would keep or drop a row wrongly with odds of
//! about n²/2¹²⁹, which is what "hashed keys" means in the README). Integer keys live in a roaring
//! treemap (a few bytes per key, less for dense ranges); hashed keys in a hash set. When the
//! memory [`Budget`] is exceeded, the set being grown writes its keys as a sorted run to an
//! anonymous file in `--temp-dir` and starts again empty; lookups then also binary-search the runs
//! (one 4 KiB read per run, through a sparse in-memory index). This module never decides what is
//! kept; it only remembers and answers.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU64, Ordering};

use roaring::RoaringTreemap;

/// How the values of a key are turned into a `u128`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// One `smallint`/`integer`/`bigint` column: the value, exactly.
    Int,
    /// Anything else: a hash of the COPY text of the columns.
    Hash,
}

/// What a key column holds in one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyValue {
    /// A column is NULL: the reference constrains nothing (MATCH SIMPLE).
    Null,
    Key(u128),
    /// Text that cannot be a value of the key (an integer key that does not parse): it matches
    /// no row.
    Never,
}

/// The key of one row, from the raw COPY fields of the key columns (in key order).
pub fn key_of(kind: KeyKind, fields: &[&[u8]]) -> KeyValue {
    if fields.contains(&crate::copy::NULL_FIELD) {
        return KeyValue::Null;
    }
    match kind {
        KeyKind::Int => match fields {
            [one] => std::str::from_utf8(one)
                .ok()
                .and_then(|s| s.parse::<i64>().ok())
                .map_or(KeyValue::Never, |v| KeyValue::Key(u128::from((v as u64) ^ (1 << 63)))),
            _ => KeyValue::Never,
        },
        KeyKind::Hash => {
            let mut h = xxhash_rust::xxh3::Xxh3::new();
            for (i, f) in fields.iter().enumerate() {
                if i > 0 {
                    // Raw COPY fields never contain a tab: an unambiguous separator.
                    h.update(b"\t");
                }
                h.update(f);
            }
            KeyValue::Key(h.digest128())
        }
    }
}

/// The memory all key sets of a run may use together before they spill.
#[derive(Debug)]
pub struct Budget {
    limit: u64,
    used: AtomicU64,
}

impl Budget {
    pub fn new(limit: u64) -> Self {
        Budget { limit, used: AtomicU64::new(0) }
    }

    /// Bytes in use now, as last reported by the sets.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    fn adjust(&self, old: u64, new: u64) -> bool {
        if new >= old {
            self.used.fetch_add(new - old, Ordering::Relaxed);
        } else {
            self.used.fetch_sub(old - new, Ordering::Relaxed);
        }
        self.used() > self.limit
    }
}

/// Entries per block of a spilled run: a lookup reads one block.
const BLOCK: usize = 256;
/// How often (in inserts) a set re-measures itself.
const MEASURE_EVERY: u32 = 4096;
/// More runs than this are merged into one, so a lookup reads at most this many blocks.
const MAX_RUNS: usize = 4;

/// A sorted run of keys on disk.
#[derive(Debug)]
struct Run {
    file: File,
    len: u64,
    /// The first key of every block.
    index: Vec<u128>,
}

/// A set of keys. Built by one thread; once built, shared read-only between workers.
#[derive(Debug)]
pub struct KeySet {
    kind: KeyKind,
    ints: RoaringTreemap,
    hashes: HashSet<u128>,
    runs: Vec<Run>,
    /// Bytes this set last reported to the budget.
    accounted: u64,
    since_measure: u32,
}

impl KeySet {
    pub fn new(kind: KeyKind) -> Self {
        KeySet {
            kind,
            ints: RoaringTreemap::new(),
            hashes: HashSet::new(),
            runs: Vec::new(),
            accounted: 0,
            since_measure: 0,
        }
    }

    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// Whether no key was ever inserted.
    pub fn is_empty(&self) -> bool {
        self.ints.is_empty() && self.hashes.is_empty() && self.runs.is_empty()
    }

    /// Adds a key; spills to disk when the budget is exceeded.
    pub fn insert(&mut self, key: u128, budget: &Budget) -> io::Result<()> {
        match self.kind {
            // Integer keys are at most 64 bits by construction.
            KeyKind::Int => {
                self.ints.insert(key as u64);
            }
            KeyKind::Hash => {
                self.hashes.insert(key);
            }
        }
        self.since_measure += 1;
        if self.since_measure >= MEASURE_EVERY {
            self.since_measure = 0;
            let now = self.memory();
            let over = budget.adjust(self.accounted, now);
            self.accounted = now;
            // A small set spilling would only make many tiny runs (and merges): it spills once it
            // holds a fair share of the budget.
            if over && now >= budget.limit / 8 {
                self.spill(budget)?;
            }
        }
        Ok(())
    }

    /// Whether the set holds `key`.
    pub fn contains(&self, key: u128) -> io::Result<bool> {
        let hot = match self.kind {
            KeyKind::Int => u64::try_from(key).is_ok_and(|k| self.ints.contains(k)),
            KeyKind::Hash => self.hashes.contains(&key),
        };
        if hot {
            return Ok(true);
        }
        for run in &self.runs {
            if self.run_contains(run, key)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Whether the set holds the key of a row (NULL and impossible keys are never held).
    pub fn holds(&self, value: KeyValue) -> io::Result<bool> {
        match value {
            KeyValue::Key(k) => self.contains(k),
            KeyValue::Null | KeyValue::Never => Ok(false),
        }
    }

    /// Estimated bytes of the in-memory part.
    fn memory(&self) -> u64 {
        let runs: u64 = self.runs.iter().map(|r| r.index.len() as u64 * 16).sum();
        match self.kind {
            KeyKind::Int => self.ints.serialized_size() as u64 + runs,
            // 16 bytes per slot plus a control byte, at the table's capacity.
            KeyKind::Hash => self.hashes.capacity() as u64 * 17 + runs,
        }
    }

    fn width(&self) -> usize {
        match self.kind {
            KeyKind::Int => 8,
            KeyKind::Hash => 16,
        }
    }

    fn decode(&self, bytes: &[u8]) -> u128 {
        match self.kind {
            KeyKind::Int => u128::from(u64::from_le_bytes(bytes.try_into().unwrap_or_default())),
            KeyKind::Hash => u128::from_le_bytes(bytes.try_into().unwrap_or_default()),
        }
    }

    /// Writes the in-memory keys as a sorted run and empties memory.
    fn spill(&mut self, budget: &Budget) -> io::Result<()> {
        let keys: Vec<u128> = match self.kind {
            KeyKind::Int => std::mem::take(&mut self.ints).into_iter().map(u128::from).collect(),
            KeyKind::Hash => {
                let mut v: Vec<u128> = std::mem::take(&mut self.hashes).into_iter().collect();
                v.sort_unstable();
                v
            }
        };
        if !keys.is_empty() {
            let run = self.write_run(keys.into_iter())?;
            self.runs.push(run);
        }
        if self.runs.len() > MAX_RUNS {
            self.merge_runs()?;
        }
        let now = self.memory();
        budget.adjust(self.accounted, now);
        self.accounted = now;
        Ok(())
    }

    /// Writes sorted, distinct keys to a new run.
    fn write_run(&self, keys: impl Iterator<Item = u128>) -> io::Result<Run> {
        let file = crate::cleanup::spool_file()?;
        let width = self.width();
        let mut out = BufWriter::with_capacity(1 << 16, &file);
        let mut index = Vec::new();
        let mut len = 0u64;
        for k in keys {
            if len.is_multiple_of(BLOCK as u64) {
                index.push(k);
            }
            out.write_all(&k.to_le_bytes()[..width])?;
            len += 1;
        }
        out.flush()?;
        drop(out);
        Ok(Run { file, len, index })
    }

    /// Merges every run into one (k-way, streaming).
    fn merge_runs(&mut self) -> io::Result<()> {
        let width = self.width();
        let mut readers: Vec<(BufReader<&File>, u64)> =
            self.runs.iter().map(|r| (BufReader::with_capacity(1 << 16, &r.file), r.len)).collect();
        for (r, _) in &mut readers {
            io::Seek::seek(r, io::SeekFrom::Start(0))?;
        }
        let mut buf = [0u8; 16];
        let mut next = |i: usize, readers: &mut Vec<(BufReader<&File>, u64)>| -> io::Result<Option<u128>> {
            let (r, left) = &mut readers[i];
            if *left == 0 {
                return Ok(None);
            }
            *left -= 1;
            r.read_exact(&mut buf[..width])?;
            Ok(Some(self.decode(&buf[..width])))
        };
        let mut heap = BinaryHeap::new();
        for i in 0..readers.len() {
            if let Some(k) = next(i, &mut readers)? {
                heap.push(Reverse((k, i)));
            }
        }
        let mut merged = Vec::new();
        let mut last = None;
        // Collected in chunks would be leaner; a merged run is written in one go because runs
        // are already bounded by the budget and MAX_RUNS keeps their number small.
        while let Some(Reverse((k, i))) = heap.pop() {
            if last != Some(k) {
                merged.push(k);
                last = Some(k);
            }
            if let Some(n) = next(i, &mut readers)? {
                heap.push(Reverse((n, i)));
            }
        }
        drop(readers);
        let run = self.write_run(merged.into_iter())?;
        self.runs = vec![run];
        Ok(())
    }

    fn run_contains(&self, run: &Run, key: u128) -> io::Result<bool> {
        let block = match run.index.binary_search(&key) {
            Ok(_) => return Ok(true),
            Err(0) => return Ok(false),
            Err(i) => i - 1,
        };
        let width = self.width();
        let start = block as u64 * BLOCK as u64;
        let n = (run.len - start).min(BLOCK as u64) as usize;
        let mut bytes = vec![0u8; n * width];
        run.file.read_exact_at(&mut bytes, start * width as u64)?;
        let (mut lo, mut hi) = (0usize, n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            let k = self.decode(&bytes[mid * width..(mid + 1) * width]);
            match k.cmp(&key) {
                std::cmp::Ordering::Equal => return Ok(true),
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
            }
        }
        Ok(false)
    }

    /// Number of spilled runs (for tests and the summary).
    pub fn spilled_runs(&self) -> usize {
        self.runs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kind: KeyKind, s: &str) -> u128 {
        match key_of(kind, &[s.as_bytes()]) {
            KeyValue::Key(k) => k,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn keys_of_rows() {
        assert_eq!(key_of(KeyKind::Int, &[b"\\N"]), KeyValue::Null);
        assert_eq!(key_of(KeyKind::Hash, &[b"a", b"\\N"]), KeyValue::Null);
        assert_eq!(key_of(KeyKind::Int, &[b"x1"]), KeyValue::Never);
        assert_ne!(key(KeyKind::Int, "-1"), key(KeyKind::Int, "1"));
        assert_eq!(key(KeyKind::Int, "-9223372036854775808"), 0);
        // Composite keys: the column boundary matters.
        assert_ne!(key_of(KeyKind::Hash, &[b"ab", b"c"]), key_of(KeyKind::Hash, &[b"a", b"bc"]));
    }

    #[test]
    fn sets_answer_in_memory_and_after_spilling() {
        for kind in [KeyKind::Int, KeyKind::Hash] {
            // A budget of zero spills at every measurement.
            for limit in [u64::MAX, 0] {
                let budget = Budget::new(limit);
                let mut set = KeySet::new(kind);
                assert!(set.is_empty());
                for i in (0..50_000i64).step_by(3) {
                    set.insert(key(kind, &i.to_string()), &budget).unwrap();
                }
                assert!(!set.is_empty());
                if limit == 0 {
                    assert!(set.spilled_runs() >= 1 && set.spilled_runs() <= MAX_RUNS, "{}", set.spilled_runs());
                } else {
                    assert_eq!(set.spilled_runs(), 0);
                }
                for i in 0..50_000i64 {
                    assert_eq!(set.contains(key(kind, &i.to_string())).unwrap(), i % 3 == 0, "{kind:?} {limit} {i}");
                }
                assert!(!set.holds(KeyValue::Null).unwrap());
                assert!(!set.holds(KeyValue::Never).unwrap());
            }
        }
    }
}
