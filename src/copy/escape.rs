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

/// Encodes `value` as the raw text of a COPY field, appended to `out`.
pub fn encode_field(value: &[u8], out: &mut Vec<u8>) {
    // Most values need no escape. This check has no early exit, so the compiler vectorises it;
    // the bytes escaped are the backslash and 0x08..=0x0d (see `escape_of`).
    let plain = !value.iter().fold(false, |any, &b| any | (b == b'\\') | (b.wrapping_sub(0x08) <= 0x05));
    if plain {
        out.extend_from_slice(value);
        return;
    }
    let mut start = 0;
    for (i, &b) in value.iter().enumerate() {
        if let Some(e) = escape_of(b) {
            out.extend_from_slice(&value[start..i]);
            out.push(b'\\');
            out.push(e);
            start = i + 1;
        }
    }
    out.extend_from_slice(&value[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
    fn encodes_like_copy_to() {
        let mut out = Vec::new();
        encode_field(b"a\tb\nc\rd\\e\x08\x0c\x0b\x01\x7f\\N", &mut out);
        assert_eq!(out, b"a\\tb\\nc\\rd\\\\e\\b\\f\\v\x01\x7f\\\\N");
    }

    proptest! {
        #[test]
        fn decode_inverts_encode(value in proptest::collection::vec(1u8..=255, 0..64)) {
            let mut raw = Vec::new();
            encode_field(&value, &mut raw);
            prop_assert!(memchr::memchr3(b'\t', b'\n', b'\r', &raw).is_none());
            prop_assert_eq!(dec(&raw), value);
        }

        #[test]
        fn encode_inverts_decode_on_copy_to_output(value in proptest::collection::vec(1u8..=255, 0..64)) {
            // Whatever COPY TO writes, decoding and re-encoding reproduces it exactly.
            let mut raw = Vec::new();
            encode_field(&value, &mut raw);
            let mut again = Vec::new();
            encode_field(&dec(&raw), &mut again);
            prop_assert_eq!(again, raw);
        }
    }
}
