//! Decoding and encoding the backslash escapes of one COPY text field.
//!
//! Decoding accepts everything COPY FROM accepts (`\b \f \n \r \t \v`, octal `\NNN`, hex `\xHH`,
//! and `\` before any other byte meaning that byte). Encoding writes exactly what COPY TO writes,
//! so a value that was decoded and encoded again comes back byte for byte when it came from
//! pg_dump.

/// Decodes the raw text of a non-NULL field into `out` (appended).
///
/// Fails on an escape that produces a NUL byte, which no PostgreSQL text value can hold.
pub fn decode_field(raw: &[u8], out: &mut Vec<u8>) -> Result<(), usize> {
    let mut i = 0;
    while let Some(k) = memchr::memchr(b'\\', &raw[i..]) {
        out.extend_from_slice(&raw[i..i + k]);
        let j = i + k;
        let Some(&c) = raw.get(j + 1) else {
            // A trailing backslash is dropped, as the server does.
            return Ok(());
        };
        i = j + 2;
        let byte = match c {
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'v' => 0x0b,
            b'0'..=b'7' => {
                let mut v = u32::from(c - b'0');
                for _ in 0..2 {
                    match raw.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                (v & 0xff) as u8
            }
            b'x' => match raw.get(i).and_then(|&d| hex(d)) {
                Some(h) => {
                    i += 1;
                    match raw.get(i).and_then(|&d| hex(d)) {
                        Some(l) => {
                            i += 1;
                            h * 16 + l
                        }
                        None => h,
                    }
                }
                None => b'x',
            },
            other => other,
        };
        if byte == 0 {
            return Err(j);
        }
        out.push(byte);
    }
    out.extend_from_slice(&raw[i..]);
    Ok(())
}

fn hex(d: u8) -> Option<u8> {
    (d as char).to_digit(16).map(|v| v as u8)
}

fn escape_of(b: u8) -> Option<u8> {
    match b {
        b'\\' => Some(b'\\'),
        0x08 => Some(b'b'),
        0x0c => Some(b'f'),
        b'\n' => Some(b'n'),
        b'\r' => Some(b'r'),
        b'\t' => Some(b't'),
        0x0b => Some(b'v'),
        _ => None,
    }
}

/// Whether any byte of `bytes` needs an escape, eight bytes at a time (most values are short, and
/// the tail of a byte-wise vector loop dominated their cost). No early exit.
fn any_escaped(bytes: &[u8]) -> bool {
    let (words, tail) = bytes.as_chunks::<8>();
    let mut last = [0u8; 8];
    last[..tail.len()].copy_from_slice(tail);
    let found = words.iter().fold(0, |any, word| any | escaped_bytes(u64::from_le_bytes(*word)));
    found | escaped_bytes(u64::from_le_bytes(last)) != 0
}

/// The high bit of each byte of `word` that COPY TO writes as an escape (`escape_of`: the backslash
/// and 0x08..=0x0d), and no other bit. Each byte is computed on its own 7 low bits, so no carry
/// crosses into the next byte.
fn escaped_bytes(word: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = !LOW7;
    let splat = |b: u8| u64::from_ne_bytes([b; 8]);
    let low = word & LOW7;
    // High bit set where the low 7 bits are at least `n`.
    let at_least = |n: u8| (low + splat(0x80 - n)) & HIGH;
    let ascii = !word & HIGH;
    let backslash = !((word ^ splat(b'\\')) & LOW7).wrapping_add(LOW7) & !(word ^ splat(b'\\')) & HIGH;
    let control = at_least(0x08) & !at_least(0x0e) & ascii;
    backslash | control
}

/// Encodes `value` as the raw text of a COPY field, appended to `out`.
pub fn encode_field(value: &[u8], out: &mut Vec<u8>) {
    if !any_escaped(value) {
        out.extend_from_slice(value);
        return;
    }
    // Even in values that have escapes (free text with newlines), most bytes are plain: blocks
    // without an escape are checked at vector speed and copied with the run before them.
    const BLOCK: usize = 32;
    out.reserve(value.len() + value.len() / 16 + 2);
    let mut copied = 0;
    let mut block_start = 0;
    while block_start < value.len() {
        let block_end = (block_start + BLOCK).min(value.len());
        if any_escaped(&value[block_start..block_end]) {
            for i in block_start..block_end {
                if let Some(e) = escape_of(value[i]) {
                    out.extend_from_slice(&value[copied..i]);
                    out.push(b'\\');
                    out.push(e);
                    copied = i + 1;
                }
            }
        }
        block_start = block_end;
    }
    out.extend_from_slice(&value[copied..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn is_escaped_byte(b: u8) -> bool {
        escape_of(b).is_some()
    }

    fn dec(raw: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        decode_field(raw, &mut out).unwrap();
        out
    }

    #[test]
    fn decodes_every_escape() {
        assert_eq!(dec(b"a\\tb\\nc\\rd\\\\e"), b"a\tb\nc\rd\\e");
        assert_eq!(dec(b"\\b\\f\\v"), b"\x08\x0c\x0b");
        assert_eq!(dec(b"\\101\\1012\\7"), b"AA2\x07");
        assert_eq!(dec(b"\\x41\\x4g\\xz"), b"A\x04gxz");
        assert_eq!(dec(b"\\N\\.\\q"), b"N.q");
        assert_eq!(dec(b"abc\\"), b"abc");
        let mut out = Vec::new();
        assert_eq!(decode_field(b"a\\000", &mut out), Err(1));
        assert_eq!(decode_field(b"\\x00", &mut Vec::new()), Err(0));
    }

    #[test]
    fn escaped_bytes_agrees_with_is_escaped_byte_at_every_position() {
        for b in 0..=255u8 {
            for at in 0..8 {
                let mut word = [b'a'; 8];
                word[at] = b;
                let mask = escaped_bytes(u64::from_le_bytes(word));
                let expected = if is_escaped_byte(b) { 0x80u64 << (8 * at) } else { 0 };
                assert_eq!(mask, expected, "byte {b:#04x} at {at}");
            }
            for len in 0..20 {
                let mut value = vec![b'x'; len];
                value.push(b);
                assert_eq!(any_escaped(&value), is_escaped_byte(b));
            }
        }
    }

    #[test]
    fn encodes_like_copy_to() {
        let mut out = Vec::new();
        encode_field(b"a\tb\nc\rd\\e\x08\x0c\x0b\x01\x7f\\N", &mut out);
        assert_eq!(out, b"a\\tb\\nc\\rd\\\\e\\b\\f\\v\x01\x7f\\\\N");
    }

    proptest! {
        #[test]
        fn encodes_sparse_escapes_like_byte_by_byte(
            value in proptest::collection::vec(
                prop_oneof![40 => b'a'..=b'z', 1 => Just(b'\n'), 1 => Just(b'\\'), 1 => Just(0x0b)],
                0..300,
            )
        ) {
            let mut naive = Vec::new();
            for &b in &value {
                match escape_of(b) {
                    Some(e) => naive.extend_from_slice(&[b'\\', e]),
                    None => naive.push(b),
                }
            }
            let mut out = b"prefix".to_vec();
            encode_field(&value, &mut out);
            prop_assert_eq!(&out[6..], &naive[..]);
        }

        #[test]
        fn decode_inverts_encode(value in proptest::collection::vec(1u8..=255, 0..160)) {
            let mut raw = Vec::new();
            encode_field(&value, &mut raw);
            prop_assert!(memchr::memchr3(b'\t', b'\n', b'\r', &raw).is_none());
            prop_assert_eq!(dec(&raw), value);
        }

        #[test]
        fn encode_inverts_decode_on_copy_to_output(value in proptest::collection::vec(1u8..=255, 0..160)) {
            // Whatever COPY TO writes, decoding and re-encoding reproduces it exactly.
            let mut raw = Vec::new();
            encode_field(&value, &mut raw);
            let mut again = Vec::new();
            encode_field(&dec(&raw), &mut again);
            prop_assert_eq!(again, raw);
        }
    }
}
