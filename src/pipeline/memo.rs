//! A worker's memory of recent results per rewritten column, for columns whose values repeat.
//!
//! First names, cities, tags and short codes take a few dozen or thousand distinct values over
//! millions of rows. For such a column a repeated raw field is answered with the raw output
//! written the last time, skipping decoding, the transform and encoding. A column of distinct
//! values (ids, emails, free text) turns its memo off after one window of lookups, so it costs
//! next to nothing there.
//!
//! Exactness: a memo belongs to one compiled transform (it holds the `Arc` and compares
//! pointers), transforms are deterministic functions of the value, and only rules that read
//! nothing but their own field use a memo. The output is byte for byte what computing it gives.
//! It must not be used for rules with context (`by`, templates, `when`).

use std::sync::Arc;

use crate::transform::Transform;

/// Raw fields up to this length are remembered...
const KEY_LEN: usize = 40;
/// ... with raw outputs up to this length.
const OUT_LEN: usize = 48;
/// Slots per column (direct-mapped by a hash of the raw field).
const SLOTS: usize = 512;
/// A memo that answers fewer than one lookup in `MIN_HIT_RATIO` of a window turns off.
const WINDOW: u32 = 1024;
const MIN_HIT_RATIO: u32 = 8;

#[derive(Clone)]
struct Slot {
    /// `u8::MAX` marks an empty slot.
    key_len: u8,
    key: [u8; KEY_LEN],
    out_len: u8,
    out: [u8; OUT_LEN],
}

const EMPTY: Slot = Slot { key_len: u8::MAX, key: [0; KEY_LEN], out_len: 0, out: [0; OUT_LEN] };

/// Recent results of one transform in one worker.
pub struct Memo {
    transform: Arc<Transform>,
    slots: Vec<Slot>,
    lookups: u32,
    hits: u32,
    off: bool,
}

impl Memo {
    fn new(transform: &Arc<Transform>) -> Memo {
        Memo { transform: transform.clone(), slots: Vec::new(), lookups: 0, hits: 0, off: false }
    }

    /// The raw output remembered for the raw field `raw`, if any.
    pub fn get(&mut self, raw: &[u8]) -> Option<&[u8]> {
        if self.off {
            return None;
        }
        self.lookups += 1;
        if self.lookups == WINDOW {
            if self.hits * MIN_HIT_RATIO < WINDOW {
                self.off = true;
                self.slots = Vec::new();
                return None;
            }
            self.lookups = 0;
            self.hits = 0;
        }
        if raw.len() > KEY_LEN || self.slots.is_empty() {
            return None;
        }
        let slot = &self.slots[slot_of(raw)];
        if usize::from(slot.key_len) == raw.len() && &slot.key[..raw.len()] == raw {
            self.hits += 1;
            return Some(&slot.out[..usize::from(slot.out_len)]);
        }
        None
    }

    /// Remembers that `raw` gives `out`.
    pub fn put(&mut self, raw: &[u8], out: &[u8]) {
        if self.off || raw.len() > KEY_LEN || out.len() > OUT_LEN {
            return;
        }
        if self.slots.is_empty() {
            self.slots = vec![EMPTY; SLOTS];
        }
        let slot = &mut self.slots[slot_of(raw)];
        slot.key_len = raw.len() as u8;
        slot.key[..raw.len()].copy_from_slice(raw);
        slot.out_len = out.len() as u8;
        slot.out[..out.len()].copy_from_slice(out);
    }
}

fn slot_of(raw: &[u8]) -> usize {
    xxhash_rust::xxh3::xxh3_64(raw) as usize % SLOTS
}

/// The memos of one worker, by field index of the current COPY block.
#[derive(Default)]
pub struct Memos {
    by_field: Vec<Option<Memo>>,
}

impl Memos {
    /// The memo of field `index` under `transform`, fresh if the field had another transform.
    pub fn for_field(&mut self, index: usize, transform: &Arc<Transform>) -> &mut Memo {
        if self.by_field.len() <= index {
            self.by_field.resize_with(index + 1, || None);
        }
        let memo = &mut self.by_field[index];
        if !memo.as_ref().is_some_and(|m| Arc::ptr_eq(&m.transform, transform)) {
            *memo = Some(Memo::new(transform));
        }
        memo.as_mut().expect("set above")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::testing::build_with;

    fn transform() -> Arc<Transform> {
        Arc::new(build_with("first_name", "", None).unwrap())
    }

    #[test]
    fn remembers_short_fields_and_forgets_on_a_new_transform() {
        let t = transform();
        let mut memos = Memos::default();
        let memo = memos.for_field(3, &t);
        assert_eq!(memo.get(b"Anna"), None);
        memo.put(b"Anna", b"Dagmar");
        memo.put(&[b'x'; KEY_LEN + 1], b"long key");
        memo.put(b"Ben", &[b'y'; OUT_LEN + 1]);
        assert_eq!(memos.for_field(3, &t).get(b"Anna"), Some(&b"Dagmar"[..]));
        assert_eq!(memos.for_field(3, &t).get(&[b'x'; KEY_LEN + 1]), None);
        assert_eq!(memos.for_field(3, &t).get(b"Ben"), None);
        let other = transform();
        assert_eq!(memos.for_field(3, &other).get(b"Anna"), None);
    }

    #[test]
    fn turns_off_on_distinct_values() {
        let t = transform();
        let mut memo = Memo::new(&t);
        for i in 0..WINDOW {
            let key = i.to_le_bytes();
            assert_eq!(memo.get(&key), None);
            memo.put(&key, b"out");
        }
        assert!(memo.off);
        memo.put(b"a", b"b");
        assert_eq!(memo.get(b"a"), None);
    }

    #[test]
    fn stays_on_for_repeated_values() {
        let t = transform();
        let mut memo = Memo::new(&t);
        for i in 0..10 * WINDOW {
            let key = (i % 50).to_le_bytes();
            if memo.get(&key).is_none() {
                memo.put(&key, &key);
            }
        }
        assert!(!memo.off);
        assert_eq!(memo.get(&7u32.to_le_bytes()), Some(&7u32.to_le_bytes()[..]));
    }
}
