//! The deterministic keyed byte stream every randomised transform draws from.
//!
//! **PINNED.** Everything here is part of the output format: changing a single detail (the block
//! derivation, the byte order of `next_u64`, the rejection rule of `below`) changes every
//! pseudonym users have ever produced with the same key. Add new helpers instead; never change
//! these. The golden tests below pin the exact streams.
//!
//! The stream for a value under a [`Keyed`] state `K` (HMAC-SHA256 with the transform's domain
//! label already absorbed) is the byte string `D0 ‖ D1 ‖ D2 ‖ …` where
//!
//! - `D0 = K(value)`, and
//! - `Di = K(D0 ‖ le64(i))` for `i ≥ 1` (counter mode, keyed by the first digest).
//!
//! Draws consume the stream front to back:
//!
//! - [`KeyedStream::next_u8`]: the next byte;
//! - [`KeyedStream::next_u64`]: the next 8 bytes, little-endian;
//! - [`KeyedStream::below`]`(n)`: uniform in `0..n` by rejection: for `n ≤ 256` it draws bytes
//!   until one is `< 256 - 256 % n` and returns it `% n`; for larger `n` it draws `u64`s until one
//!   is `< q·n` (the largest multiple of `n` not above `u64::MAX`) and returns it `% n`;
//! - [`KeyedStream::unit`]: `(next_u64 >> 11) / 2⁵³`, in `[0, 1)`.

use super::Keyed;

/// Keyed digest of the concatenation of `parts`, without allocating for short messages.
pub fn digest_concat(keyed: &Keyed, parts: &[&[u8]]) -> [u8; 32] {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let mut stack = [0u8; 256];
    if len <= stack.len() {
        let mut at = 0;
        for p in parts {
            stack[at..at + p.len()].copy_from_slice(p);
            at += p.len();
        }
        keyed.digest(&stack[..len])
    } else {
        keyed.digest(&parts.concat())
    }
}

/// An endless keyed byte stream (see the module documentation for the exact, pinned definition).
pub struct KeyedStream<'a> {
    keyed: &'a Keyed,
    seed: [u8; 32],
    block: [u8; 32],
    counter: u64,
    pos: usize,
}

impl<'a> KeyedStream<'a> {
    /// The stream for `value`: its first block is `keyed.digest(value)`.
    pub fn new(keyed: &'a Keyed, value: &[u8]) -> Self {
        Self::from_digest(keyed, keyed.digest(value))
    }

    /// The stream whose first block is `seed`, a digest already computed with `keyed`.
    pub fn from_digest(keyed: &'a Keyed, seed: [u8; 32]) -> Self {
        KeyedStream { keyed, seed, block: seed, counter: 0, pos: 0 }
    }

    /// The next byte.
    pub fn next_u8(&mut self) -> u8 {
        if self.pos == self.block.len() {
            self.counter += 1;
            let mut msg = [0u8; 40];
            msg[..32].copy_from_slice(&self.seed);
            msg[32..].copy_from_slice(&self.counter.to_le_bytes());
            self.block = self.keyed.digest(&msg);
            self.pos = 0;
        }
        let b = self.block[self.pos];
        self.pos += 1;
        b
    }

    /// The next 8 bytes as a little-endian `u64`.
    pub fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        for x in &mut b {
            *x = self.next_u8();
        }
        u64::from_le_bytes(b)
    }

    /// Uniform in `0..n` (`n ≥ 1`; `below(0)` is `0`).
    pub fn below(&mut self, n: u64) -> u64 {
        match n {
            0 | 1 => 0,
            2..=256 => {
                let limit = 256 - 256 % n;
                loop {
                    let b = u64::from(self.next_u8());
                    if b < limit {
                        return b % n;
                    }
                }
            }
            _ => {
                let limit = u64::MAX - u64::MAX % n;
                loop {
                    let r = self.next_u64();
                    if r < limit {
                        return r % n;
                    }
                }
            }
        }
    }

    /// Uniform in `0..n` as a `usize`, for indexing word lists.
    pub fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    /// Picks one element of a non-empty list.
    pub fn pick<T: Copy>(&mut self, list: &[T]) -> T {
        list[self.index(list.len())]
    }

    /// Uniform in `[0, 1)` with 53 bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// An ASCII digit, uniform.
    pub fn digit(&mut self) -> u8 {
        b'0' + self.below(10) as u8
    }

    /// A lower-case ASCII letter, uniform.
    pub fn lower(&mut self) -> u8 {
        b'a' + self.below(26) as u8
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::key;
    use super::*;

    #[test]
    fn golden_stream() {
        // Pinned: these bytes feed every randomised transform.
        let k = key().keyed("rng-test");
        let mut s = KeyedStream::new(&k, b"alice");
        let first: Vec<u64> = (0..5).map(|_| s.next_u64()).collect();
        assert_eq!(s.counter, 1, "the fifth u64 crosses into the second block");
        let mut t = KeyedStream::new(&k, b"alice");
        let picks: Vec<u64> = (0..8).map(|_| t.below(10)).collect();
        let big = t.below(1_000_000_007);
        assert_eq!(
            format!("{first:?} {picks:?} {big}"),
            "[17612390832062800353, 16992117854884506895, 8670603263718303823, 2303014020173475657, \
             10310999232551233741] [5, 3, 5, 2, 7, 0, 7, 4] 939682750"
        );
    }

    #[test]
    fn below_is_in_range_and_unit_in_0_1() {
        let k = key().keyed("rng-test");
        let mut s = KeyedStream::new(&k, b"x");
        for n in [1u64, 2, 3, 7, 26, 255, 256, 257, 1000, u64::MAX] {
            for _ in 0..200 {
                assert!(s.below(n) < n);
            }
        }
        for _ in 0..1000 {
            let u = s.unit();
            assert!((0.0..1.0).contains(&u));
        }
    }

    #[test]
    fn digest_concat_equals_one_digest() {
        let k = key().keyed("rng-test");
        let long = vec![7u8; 300];
        assert_eq!(digest_concat(&k, &[b"ab", b"cd"]), k.digest(b"abcd"));
        assert_eq!(digest_concat(&k, &[&long, b"x"]), k.digest(&[&long[..], b"x"].concat()));
    }
}
