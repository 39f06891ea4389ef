//! The secret key and the keyed MAC states derived from it.
//!
//! The key never leaves this module: it is not `Debug`, not `Display`, and only a fingerprint
//! (a MAC of a fixed label, safe to publish) can be printed. Each transform gets its own MAC
//! state with a domain label already absorbed, so `hash` and `uuid` of the same value are unrelated.
//!
//! Every keyed transform spends most of its time here, so a digest is made as cheap as HMAC
//! allows. HMAC-SHA256 is written out over the `sha2` crate's compression function instead of
//! going through the generic `hmac` wrapper, whose per-value clone and finalisation cost as much
//! as a compression (tests check it against the `hmac` crate): the key blocks and the label are
//! absorbed once, and a short value costs exactly two compressions. And each thread remembers the
//! digests of recent short values ([`DigestCache`]): names, cities, mail domains, dates and array
//! elements repeat, and a repeat costs a lookup instead of two compressions. Neither changes a
//! single output byte.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::block_api::compress256;
use sha2::{Digest, Sha256};

/// SHA-256's initial state (FIPS 180-4, 5.3.3).
const SHA256_IV: [u32; 8] =
    [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

/// The user's secret, from `SCRUB_SECRET` or `--secret-file`.
pub struct SecretKey {
    bytes: Vec<u8>,
}

impl SecretKey {
    /// Wraps the secret. An empty secret is refused.
    pub fn new(bytes: Vec<u8>) -> Result<Self, String> {
        if bytes.is_empty() {
            return Err("the secret key is empty".into());
        }
        Ok(SecretKey { bytes })
    }

    /// A MAC state for one transform, separated from all others by `domain`.
    pub fn keyed(&self, domain: &str) -> Keyed {
        let prefix = [b"scrub/v1/", domain.as_bytes(), &[0]].concat();
        Keyed::new(&self.bytes, &prefix)
    }

    /// A MAC state that has absorbed exactly `prefix` (no scrub label): for digests whose input is
    /// specified byte for byte elsewhere (the subset sample, which tests recompute).
    pub fn keyed_exact(&self, prefix: &[u8]) -> Keyed {
        Keyed::new(&self.bytes, prefix)
    }

    /// A short public fingerprint: tells two keys apart without revealing either.
    pub fn fingerprint(&self) -> String {
        let digest = self.keyed("fingerprint").digest(b"");
        digest[..8].iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Tells `Keyed` states apart in the digest cache; clones share their original's number.
static NEXT_KEYED_ID: AtomicU64 = AtomicU64::new(1);

/// A prepared keyed MAC: `digest(value)` is HMAC-SHA256(key, prefix ‖ value).
#[derive(Clone)]
pub struct Keyed {
    id: u64,
    /// The inner hash after the key ⊕ ipad block and the prefix's whole blocks.
    inner: [u32; 8],
    /// Blocks compressed into `inner`.
    inner_blocks: u64,
    /// The rest of the prefix, `tail[..tail_len]`.
    tail: [u8; 64],
    tail_len: usize,
    /// The outer hash after the key ⊕ opad block.
    outer: [u32; 8],
}

impl Keyed {
    fn new(key: &[u8], prefix: &[u8]) -> Keyed {
        // RFC 2104: a key longer than the block is hashed first, then zero-padded to a block.
        let mut block = [0u8; 64];
        if key.len() > 64 {
            block[..32].copy_from_slice(&Sha256::digest(key));
        } else {
            block[..key.len()].copy_from_slice(key);
        }
        let mut inner = SHA256_IV;
        let mut outer = SHA256_IV;
        compress256(&mut inner, &[block.map(|b| b ^ 0x36)]);
        compress256(&mut outer, &[block.map(|b| b ^ 0x5c)]);
        let (blocks, rest) = prefix.as_chunks::<64>();
        compress256(&mut inner, blocks);
        let mut tail = [0u8; 64];
        tail[..rest.len()].copy_from_slice(rest);
        let id = NEXT_KEYED_ID.fetch_add(1, Ordering::Relaxed);
        Keyed { id, inner, inner_blocks: 1 + blocks.len() as u64, tail, tail_len: rest.len(), outer }
    }

    /// The 32-byte keyed digest of `value`.
    pub fn digest(&self, value: &[u8]) -> [u8; 32] {
        if value.len() > CACHED_LEN {
            return self.compute(value);
        }
        DIGEST_CACHE.with_borrow_mut(|cache| cache.digest(self, value))
    }

    /// HMAC-SHA256 of `value`, computed.
    fn compute(&self, value: &[u8]) -> [u8; 32] {
        let mut state = self.inner;
        let mut block = self.tail;
        let mut fill = self.tail_len;
        let bits = (self.inner_blocks * 64 + (fill + value.len()) as u64) * 8;
        let take = value.len().min(64 - fill);
        block[fill..fill + take].copy_from_slice(&value[..take]);
        fill += take;
        if fill == 64 {
            compress256(&mut state, &[block]);
            let (blocks, rest) = value[take..].as_chunks::<64>();
            compress256(&mut state, blocks);
            block[..rest.len()].copy_from_slice(rest);
            fill = rest.len();
        }
        block[fill] = 0x80;
        block[fill + 1..].fill(0);
        if fill >= 56 {
            compress256(&mut state, &[block]);
            block = [0; 64];
        }
        block[56..].copy_from_slice(&bits.to_be_bytes());
        compress256(&mut state, &[block]);

        let mut block = [0u8; 64];
        write_be(&state, &mut block[..32]);
        block[32] = 0x80;
        block[56..].copy_from_slice(&((64u64 + 32) * 8).to_be_bytes());
        let mut state = self.outer;
        compress256(&mut state, &[block]);
        let mut digest = [0u8; 32];
        write_be(&state, &mut digest);
        digest
    }
}

fn write_be(state: &[u32; 8], out: &mut [u8]) {
    for (bytes, word) in out.as_chunks_mut::<4>().0.iter_mut().zip(state) {
        *bytes = word.to_be_bytes();
    }
}

/// Values up to this length are remembered (a UUID in text is 36 bytes; a stream block's
/// message, digest and counter, is 40).
const CACHED_LEN: usize = 40;
/// Slots of the direct-mapped cache of each thread (about 360 KiB).
const CACHE_SLOTS: usize = 4096;
/// Usage is tracked per state in windows of this many lookups ...
const WINDOW: u32 = 1024;
/// ... and a state that hit fewer times than this in a window (a column of distinct values)
/// skips the cache for the next `PAUSE` digests, then tries again.
const MIN_HITS: u32 = WINDOW / 16;
const PAUSE: u32 = 32 * WINDOW;
/// Usage records, indexed by state id modulo this.
const USAGE_SLOTS: usize = 256;

thread_local! {
    static DIGEST_CACHE: RefCell<DigestCache> = RefCell::new(DigestCache::default());
}

#[derive(Clone, Copy)]
struct Slot {
    /// The `Keyed::id` of the digest; 0 marks an empty slot.
    owner: u64,
    len: u8,
    value: [u8; CACHED_LEN],
    digest: [u8; 32],
}

#[derive(Clone, Copy, Default)]
struct Usage {
    owner: u64,
    lookups: u32,
    hits: u32,
    paused: u32,
}

/// One thread's recent digests (see the module documentation).
#[derive(Default)]
struct DigestCache {
    slots: Vec<Slot>,
    usage: Vec<Usage>,
}

impl DigestCache {
    fn digest(&mut self, keyed: &Keyed, value: &[u8]) -> [u8; 32] {
        if self.slots.is_empty() {
            let empty = Slot { owner: 0, len: 0, value: [0; CACHED_LEN], digest: [0; 32] };
            self.slots = vec![empty; CACHE_SLOTS];
            self.usage = vec![Usage::default(); USAGE_SLOTS];
        }
        let usage = &mut self.usage[keyed.id as usize % USAGE_SLOTS];
        if usage.owner != keyed.id {
            *usage = Usage { owner: keyed.id, ..Usage::default() };
        }
        if usage.paused > 0 {
            usage.paused -= 1;
            return keyed.compute(value);
        }
        usage.lookups += 1;
        if usage.lookups == WINDOW {
            if usage.hits < MIN_HITS {
                usage.paused = PAUSE;
            }
            usage.lookups = 0;
            usage.hits = 0;
        }
        let hash = xxhash_rust::xxh3::xxh3_64_with_seed(value, keyed.id);
        let slot = &mut self.slots[hash as usize % CACHE_SLOTS];
        if slot.owner == keyed.id && usize::from(slot.len) == value.len() && &slot.value[..value.len()] == value {
            usage.hits += 1;
            return slot.digest;
        }
        let digest = keyed.compute(value);
        slot.owner = keyed.id;
        slot.len = value.len() as u8;
        slot.value[..value.len()].copy_from_slice(value);
        slot.digest = digest;
        digest
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, KeyInit, Mac};
    use proptest::prelude::*;

    fn reference(key: &[u8], prefix: &[u8], value: &[u8]) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
        mac.update(prefix);
        mac.update(value);
        mac.finalize().into_bytes().into()
    }

    #[test]
    fn rfc_4231_test_case_2() {
        let keyed = SecretKey::new(b"Jefe".to_vec()).unwrap().keyed_exact(b"");
        let hex: String = keyed.compute(b"what do ya want for nothing?").iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn every_length_around_the_block_boundaries() {
        let key = SecretKey::new(b"k".repeat(70)).unwrap();
        for prefix_len in [0, 1, 9, 55, 56, 63, 64, 65, 130] {
            let prefix = vec![7u8; prefix_len];
            let keyed = key.keyed_exact(&prefix);
            for len in 0..200 {
                let value: Vec<u8> = (0..len as u8).collect();
                assert_eq!(keyed.digest(&value), reference(&b"k".repeat(70), &prefix, &value), "{prefix_len} {len}");
            }
        }
    }

    #[test]
    fn cached_digests_are_the_computed_ones() {
        let key = SecretKey::new(b"secret".to_vec()).unwrap();
        let a = key.keyed("a");
        let b = key.keyed("b");
        let values: Vec<Vec<u8>> = (0..20_000u32).map(|i| format!("v{}", i % 5000).into_bytes()).collect();
        for v in &values {
            assert_eq!(a.digest(v), a.compute(v));
            assert_eq!(b.digest(v), b.compute(v));
            // A clone is the same state: it may share cache entries.
            assert_eq!(a.clone().digest(v), a.compute(v));
        }
    }

    #[test]
    fn distinct_values_pause_the_cache_and_repeats_resume_it() {
        let keyed = SecretKey::new(b"secret".to_vec()).unwrap().keyed("pause");
        for i in 0..WINDOW {
            keyed.digest(&i.to_le_bytes());
        }
        let paused = DIGEST_CACHE.with_borrow(|c| c.usage[keyed.id as usize % USAGE_SLOTS].paused);
        assert_eq!(paused, PAUSE);
        for _ in 0..PAUSE + 2 * WINDOW {
            assert_eq!(keyed.digest(b"same"), keyed.compute(b"same"));
        }
        let usage = DIGEST_CACHE.with_borrow(|c| c.usage[keyed.id as usize % USAGE_SLOTS]);
        assert_eq!(usage.paused, 0);
        assert!(usage.hits > 0);
    }

    proptest! {
        #[test]
        fn matches_the_hmac_crate(key in proptest::collection::vec(any::<u8>(), 1..100),
                                  prefix in proptest::collection::vec(any::<u8>(), 0..80),
                                  value in proptest::collection::vec(any::<u8>(), 0..150)) {
            let keyed = SecretKey::new(key.clone()).unwrap().keyed_exact(&prefix);
            prop_assert_eq!(keyed.digest(&value), reference(&key, &prefix, &value));
            prop_assert_eq!(keyed.digest(&value), reference(&key, &prefix, &value));
        }
    }
}
