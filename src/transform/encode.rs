//! Small output encoders shared by transforms: decimal, hex, base32, UUID text. Pure and
//! allocation-free.

/// Appends `v` in decimal, zero-padded to at least `width` digits.
pub fn push_uint(mut v: u128, width: usize, out: &mut Vec<u8>) {
    let mut buf = [b'0'; 40];
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[at.min(buf.len().saturating_sub(width))..]);
}

/// Appends lower-case hex.
pub fn push_hex(bytes: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(HEX[usize::from(b >> 4)]);
        out.push(HEX[usize::from(b & 15)]);
    }
}

/// Appends RFC 4648 base32 in lower case, without padding: letters and digits 2-7, valid in any
/// email local part or host name.
pub fn push_base32(bytes: &[u8], out: &mut Vec<u8>) {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut acc = 0u32;
    let mut bits = 0;
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((acc >> bits) & 31) as usize]);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (5 - bits)) & 31) as usize]);
    }
}

/// Appends a UUID in its canonical lower-case hyphenated form.
pub fn push_uuid(u: &uuid::Uuid, out: &mut Vec<u8>) {
    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    out.extend_from_slice(u.hyphenated().encode_lower(&mut buf).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_with_minimum_width() {
        let text = |v: u128, width: usize| {
            let mut out = b"x".to_vec();
            push_uint(v, width, &mut out);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(text(0, 1), "x0");
        assert_eq!(text(7, 4), "x0007");
        assert_eq!(text(12345, 2), "x12345");
        assert_eq!(text(u128::MAX, 1), format!("x{}", u128::MAX));
        assert_eq!(text(5, 40), format!("x{:040}", 5));
    }

    #[test]
    fn base32_matches_rfc4648_vectors() {
        for (input, expected) in [("", ""), ("f", "my"), ("fo", "mzxq"), ("foobar", "mzxw6ytboi")] {
            let mut out = Vec::new();
            push_base32(input.as_bytes(), &mut out);
            assert_eq!(out, expected.as_bytes());
        }
    }
}
