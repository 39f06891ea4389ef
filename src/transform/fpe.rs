//! Keyed permutations (format-preserving encryption) for the transforms that guarantee
//! uniqueness: `int`, `pattern` with `unique = true`, `email` with `unique = true`, `ipv4`,
//! `ipv6` and `mac`.
//!
//! **PINNED**, like [`super::rng`]: the round count, the round-function messages and the split
//! points are part of the output format.
//!
//! All three constructions are Feistel networks whose round function is HMAC-SHA256 under the
//! transform's key (a pseudo-random function), with [`ROUNDS`] rounds. Each round changes one
//! half by a value computed from the other half only, with an invertible operation (XOR, or
//! digit-wise addition modulo each position's radix), so each round can be undone given the
//! other half, and the whole network is a bijection of its domain: distinct inputs always give
//! distinct outputs. This is a guarantee by construction, not a probability.
//!
//! - [`permute_bits`]: the integers `0..2^w` for any `w ≤ 128` (unbalanced halves of `⌊w/2⌋` and
//!   `⌈w/2⌉` bits, XOR).
//! - [`permute_below`]: the integers `0..n` for any `n`, by cycle walking over
//!   [`permute_bits`] with the smallest `w` such that `n ≤ 2^w`: re-encrypt until the result is
//!   below `n`. Walking stays inside the cycle of the start value, which contains it, so it ends,
//!   after fewer than two steps on average; and it is a bijection of `0..n`.
//! - [`permute_digits`]: numeral strings of a fixed mixed radix (each position has its own base,
//!   e.g. 26 for a letter, 10 for a digit), digit-wise modular addition, any length.
//! - [`permute_bytes`]: byte strings of any fixed length `≥ 2` (XOR).
//!
//! A `tweak` (up to [`MAX_TWEAK`] bytes) selects an independent permutation from the same key,
//! e.g. per sign, per format or per kept prefix.

use super::Keyed;
use super::rng::{KeyedStream, digest_concat};

/// Feistel rounds for every construction (as NIST FF1).
pub const ROUNDS: u8 = 10;

/// The longest tweak accepted.
pub const MAX_TWEAK: usize = 64;

fn mask(bits: u32) -> u128 {
    if bits >= 128 { u128::MAX } else { (1u128 << bits) - 1 }
}

/// The round function for [`permute_bits`]: 128 keyed bits of (round, width, tweak, half).
fn round_bits(keyed: &Keyed, tweak: &[u8], round: u8, width: u32, half: u128) -> u128 {
    debug_assert!(tweak.len() <= MAX_TWEAK);
    let tweak = &tweak[..tweak.len().min(MAX_TWEAK)];
    let head = [b'F', round, width as u8, tweak.len() as u8];
    let d = digest_concat(keyed, &[&head, tweak, &half.to_le_bytes()]);
    u128::from_le_bytes(d[..16].try_into().expect("16 bytes"))
}

/// A keyed permutation of `0..2^width` (`width ≤ 128`). `x` must be below `2^width`; higher bits
/// are ignored.
pub fn permute_bits(keyed: &Keyed, tweak: &[u8], width: u32, x: u128) -> u128 {
    let width = width.min(128);
    if width == 0 {
        return 0;
    }
    let a = width / 2; // bits of the left (high) half
    let b = width - a; // bits of the right (low) half, at most 64
    let mut left = (x >> b) & mask(a);
    let mut right = x & mask(b);
    for round in 0..ROUNDS {
        if round % 2 == 0 {
            left ^= round_bits(keyed, tweak, round, width, right) & mask(a);
        } else {
            right ^= round_bits(keyed, tweak, round, width, left) & mask(b);
        }
    }
    (left << b) | right
}

/// The inverse of [`permute_bits`] (tests, and a proof by example that it is a bijection).
#[cfg(test)]
pub fn unpermute_bits(keyed: &Keyed, tweak: &[u8], width: u32, y: u128) -> u128 {
    let width = width.min(128);
    if width == 0 {
        return 0;
    }
    let a = width / 2;
    let b = width - a;
    let mut left = (y >> b) & mask(a);
    let mut right = y & mask(b);
    for round in (0..ROUNDS).rev() {
        if round % 2 == 0 {
            left ^= round_bits(keyed, tweak, round, width, right) & mask(a);
        } else {
            right ^= round_bits(keyed, tweak, round, width, left) & mask(b);
        }
    }
    (left << b) | right
}

/// A keyed permutation of `0..n` by cycle walking (`n ≥ 1`, `x < n`; for `x ≥ n` the result is
/// still below `n` but not part of the permutation).
pub fn permute_below(keyed: &Keyed, tweak: &[u8], n: u128, x: u128) -> u128 {
    if n <= 1 {
        return 0;
    }
    let width = 128 - (n - 1).leading_zeros();
    let mut y = permute_bits(keyed, tweak, width, x);
    while y >= n {
        y = permute_bits(keyed, tweak, width, y);
    }
    y
}

/// A keyed permutation of the numeral strings with the mixed radix `radices`: `digits[i]` must be
/// below `radices[i]` (each ≥ 1) and both have the same length. Rewrites `digits` in place.
///
/// The left half is the first `len / 2` positions. Round `r` adds, position by position modulo
/// its radix, offsets drawn with [`KeyedStream::below`] from the stream seeded by
/// `K("M" ‖ r ‖ tweak_len ‖ tweak ‖ le64(len) ‖ radices ‖ other half)`, to the left half in even
/// rounds and to the right half in odd rounds.
pub fn permute_digits(keyed: &Keyed, tweak: &[u8], radices: &[u8], digits: &mut [u8]) {
    let tweak = &tweak[..tweak.len().min(MAX_TWEAK)];
    let n = digits.len().min(radices.len());
    let split = n / 2;
    for round in 0..ROUNDS {
        let (left, right) = digits[..n].split_at_mut(split);
        let (target, source, radix) =
            if round % 2 == 0 { (left, &*right, &radices[..split]) } else { (right, &*left, &radices[split..n]) };
        if target.is_empty() {
            continue;
        }
        let head = [b'M', round, tweak.len() as u8];
        let seed = digest_concat(keyed, &[&head, tweak, &(n as u64).to_le_bytes(), &radices[..n], source]);
        let mut stream = KeyedStream::from_digest(keyed, seed);
        for (d, &r) in target.iter_mut().zip(radix) {
            let r = r.max(1);
            *d = ((u16::from(*d % r) + stream.below(u64::from(r)) as u16) % u16::from(r)) as u8;
        }
    }
}

/// A keyed permutation of the byte strings of `data.len()` bytes (`≥ 2`; shorter strings are
/// left as they are), in place.
///
/// The left half is the first `len / 2` bytes. Round `r` XORs into the left half (even rounds) or
/// the right half (odd rounds) the stream seeded by `K("B" ‖ r ‖ tweak_len ‖ tweak ‖ le64(len) ‖
/// other half)`.
pub fn permute_bytes(keyed: &Keyed, tweak: &[u8], data: &mut [u8]) {
    let tweak = &tweak[..tweak.len().min(MAX_TWEAK)];
    let n = data.len();
    if n < 2 {
        return;
    }
    let split = n / 2;
    for round in 0..ROUNDS {
        let (left, right) = data.split_at_mut(split);
        let (target, source) = if round % 2 == 0 { (left, &*right) } else { (right, &*left) };
        let head = [b'B', round, tweak.len() as u8];
        let seed = digest_concat(keyed, &[&head, tweak, &(n as u64).to_le_bytes(), source]);
        let mut stream = KeyedStream::from_digest(keyed, seed);
        for b in target.iter_mut() {
            *b ^= stream.next_u8();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::super::testing::key;
    use super::*;

    #[test]
    fn bits_is_a_bijection_for_small_widths() {
        let k = key().keyed("fpe-test");
        for width in 0..=12u32 {
            let n = 1u128 << width;
            let outs: HashSet<u128> = (0..n).map(|x| permute_bits(&k, b"t", width, x)).collect();
            assert_eq!(outs.len() as u128, n, "width {width}");
            assert!(outs.iter().all(|&y| y < n));
        }
    }

    #[test]
    fn bits_inverts_at_every_width() {
        let k = key().keyed("fpe-test");
        for width in [1u32, 2, 15, 31, 32, 63, 64, 100, 127, 128] {
            for x in [0u128, 1, 12345, u128::MAX] {
                let x = x & mask(width);
                let y = permute_bits(&k, b"", width, x);
                assert!(y <= mask(width));
                assert_eq!(unpermute_bits(&k, b"", width, y), x, "width {width}");
            }
        }
    }

    #[test]
    fn below_is_a_bijection() {
        let k = key().keyed("fpe-test");
        for n in [1u128, 2, 3, 5, 10, 26, 100, 1000, 4097] {
            let outs: HashSet<u128> = (0..n).map(|x| permute_below(&k, b"", n, x)).collect();
            assert_eq!(outs.len() as u128, n);
            assert!(outs.iter().all(|&y| y < n));
        }
    }

    #[test]
    fn digits_is_a_bijection() {
        let k = key().keyed("fpe-test");
        let radices = [26u8, 10, 10, 26];
        let mut seen = HashSet::new();
        for a in 0..26u8 {
            for b in 0..10u8 {
                for c in 0..10u8 {
                    for d in 0..26u8 {
                        let mut digits = [a, b, c, d];
                        permute_digits(&k, b"", &radices, &mut digits);
                        assert!(digits.iter().zip(&radices).all(|(d, r)| d < r));
                        assert!(seen.insert(digits));
                    }
                }
            }
        }
        // One position: a keyed rotation, still a bijection.
        let single: HashSet<u8> = (0..10u8)
            .map(|x| {
                let mut d = [x];
                permute_digits(&k, b"", &[10], &mut d);
                d[0]
            })
            .collect();
        assert_eq!(single.len(), 10);
    }

    #[test]
    fn bytes_is_a_bijection_on_two_bytes() {
        let k = key().keyed("fpe-test");
        let outs: HashSet<[u8; 2]> = (0..=u16::MAX)
            .map(|x| {
                let mut d = x.to_le_bytes();
                permute_bytes(&k, b"", &mut d);
                d
            })
            .collect();
        assert_eq!(outs.len(), 65536);
    }

    #[test]
    fn golden_permutations() {
        // Pinned: `int`, `pattern`, `email unique`, `ipv4`, `ipv6` and `mac` outputs rest on these.
        let k = key().keyed("fpe-test");
        let mut digits = [1u8, 2, 3, 4, 5];
        permute_digits(&k, b"x", &[10, 10, 26, 26, 10], &mut digits);
        let mut bytes = *b"hello";
        permute_bytes(&k, b"x", &mut bytes);
        assert_eq!(
            format!("{} {} {digits:?} {bytes:?}", permute_bits(&k, b"x", 63, 42), permute_below(&k, b"x", 1000, 42)),
            "3966218943921546288 799 [7, 3, 7, 24, 1] [244, 6, 4, 236, 184]"
        );
    }
}
