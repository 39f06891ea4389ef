//! The primitive encodings of pg_dump archives (formats doc §3.1): byte, int (sign byte + intSize
//! bytes little-endian), string (int length, −1 = NULL), offset (flag byte + offSize bytes), plus
//! byte-counting wrappers so every error can name its offset.
//!
//! Encoding is pure (appends to a `Vec<u8>`); decoding reads from a [`Counting`] reader.

use std::io::{self, BufRead, Read, Write};

use super::error::{ArchiveError, Location, Result};

/// A reader that counts the bytes it has returned, so errors can name offsets.
#[derive(Debug)]
pub(crate) struct Counting<R> {
    inner: R,
    pos: u64,
}

impl<R> Counting<R> {
    pub(crate) fn new(inner: R) -> Counting<R> {
        Counting { inner, pos: 0 }
    }

    /// Bytes consumed so far.
    pub(crate) fn pos(&self) -> u64 {
        self.pos
    }

    pub(crate) fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counting<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        self.inner.consume(amt);
        self.pos += amt as u64;
    }
}

/// A writer that counts the bytes written, so block offsets can be recorded.
#[derive(Debug)]
pub(crate) struct CountingWriter<W> {
    inner: W,
    pos: u64,
}

impl<W> CountingWriter<W> {
    pub(crate) fn new(inner: W) -> CountingWriter<W> {
        CountingWriter { inner, pos: 0 }
    }

    pub(crate) fn pos(&self) -> u64 {
        self.pos
    }

    pub(crate) fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    pub(crate) fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.pos += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

/// Reads exactly `buf.len()` bytes; end of input is a [`ArchiveError::Truncated`] naming `what`.
pub(crate) fn read_exact<R: Read>(r: &mut Counting<R>, buf: &mut [u8], what: &str) -> Result<()> {
    let start = r.pos();
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => return Err(ArchiveError::Truncated { at: Location::at(start), what: what.to_string() }),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ArchiveError::io(Location::at(r.pos()), format!("reading {what}"), e)),
        }
    }
    Ok(())
}

/// Reads one byte, or `None` at a clean end of input.
pub(crate) fn read_byte_or_eof<R: Read>(r: &mut Counting<R>, what: &str) -> Result<Option<u8>> {
    let mut b = [0u8; 1];
    loop {
        match r.read(&mut b) {
            Ok(0) => return Ok(None),
            Ok(_) => return Ok(Some(b[0])),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ArchiveError::io(Location::at(r.pos()), format!("reading {what}"), e)),
        }
    }
}

pub(crate) fn read_byte<R: Read>(r: &mut Counting<R>, what: &str) -> Result<u8> {
    let mut b = [0u8; 1];
    read_exact(r, &mut b, what)?;
    Ok(b[0])
}

/// Decodes an int: a sign byte (any non-zero value means negative, as pg_restore reads it), then
/// `int_size` bytes of the absolute value, least significant first.
pub(crate) fn read_int<R: Read>(r: &mut Counting<R>, int_size: u8, what: &str) -> Result<i64> {
    let start = r.pos();
    let mut buf = [0u8; 9];
    let n = 1 + int_size as usize;
    read_exact(r, &mut buf[..n], what)?;
    decode_int(&buf[..n])
        .ok_or_else(|| ArchiveError::malformed(Location::at(start), format!("{what}: integer does not fit in 63 bits")))
}

/// Decodes sign byte + little-endian magnitude. `None` if the magnitude exceeds `i64`.
pub(crate) fn decode_int(bytes: &[u8]) -> Option<i64> {
    let (sign, mag) = bytes.split_first()?;
    let mut v: u64 = 0;
    for (i, &b) in mag.iter().enumerate() {
        if b != 0 {
            if i >= 8 {
                return None;
            }
            v |= (b as u64) << (8 * i);
        }
    }
    let v = i64::try_from(v).ok()?;
    Some(if *sign != 0 { -v } else { v })
}

/// Reads an int that must fit an `i32` (dump IDs, flags, sections, time fields).
pub(crate) fn read_i32<R: Read>(r: &mut Counting<R>, int_size: u8, what: &str) -> Result<i32> {
    let start = r.pos();
    let v = read_int(r, int_size, what)?;
    i32::try_from(v).map_err(|_| ArchiveError::malformed(Location::at(start), format!("{what}: {v} is out of range")))
}

/// Reads a string: int length then bytes; a negative length is NULL (`None`).
pub(crate) fn read_str<R: Read>(r: &mut Counting<R>, int_size: u8, what: &str) -> Result<Option<Vec<u8>>> {
    let len = read_int(r, int_size, what)?;
    if len < 0 {
        return Ok(None);
    }
    let start = r.pos();
    let mut buf = Vec::new();
    // take() + read_to_end grows the buffer as bytes arrive, so a corrupt huge length fails at
    // end of input instead of allocating it up front.
    let got = r
        .by_ref()
        .take(len as u64)
        .read_to_end(&mut buf)
        .map_err(|e| ArchiveError::io(Location::at(r.pos()), format!("reading {what}"), e))?;
    if (got as i64) < len {
        return Err(ArchiveError::Truncated {
            at: Location::at(start),
            what: format!("{what} (a string of {len} bytes, only {got} present)"),
        });
    }
    Ok(Some(buf))
}

/// Reads an offset: a flag byte then `off_size` bytes little-endian. Returns (flag, value).
pub(crate) fn read_offset<R: Read>(r: &mut Counting<R>, off_size: u8, what: &str) -> Result<(u8, u64)> {
    let start = r.pos();
    let mut buf = [0u8; 17];
    let n = 1 + off_size as usize;
    read_exact(r, &mut buf[..n], what)?;
    let mut v: u64 = 0;
    for (i, &b) in buf[1..n].iter().enumerate() {
        if b != 0 {
            if i >= 8 {
                return Err(ArchiveError::malformed(Location::at(start), format!("{what}: file offset is too large")));
            }
            v |= (b as u64) << (8 * i);
        }
    }
    Ok((buf[0], v))
}

// ---------------------------------------------------------------------------------------------
// Encoding (pure)
// ---------------------------------------------------------------------------------------------

/// Appends an int in pg_dump's encoding. Fails if `|v|` needs more than `int_size` bytes.
pub(crate) fn put_int(out: &mut Vec<u8>, int_size: u8, v: i64, what: &str) -> Result<()> {
    let mag = v.unsigned_abs();
    if int_size < 8 && mag >> (8 * int_size as u32) != 0 {
        return Err(ArchiveError::usage(format!("{what}: {v} does not fit in an archive int of {int_size} bytes")));
    }
    out.push(u8::from(v < 0));
    for i in 0..int_size as u32 {
        out.push(if i < 8 { (mag >> (8 * i)) as u8 } else { 0 });
    }
    Ok(())
}

/// Appends a string; `None` is written as length −1 (NULL).
pub(crate) fn put_str(out: &mut Vec<u8>, int_size: u8, s: Option<&[u8]>, what: &str) -> Result<()> {
    match s {
        None => put_int(out, int_size, -1, what),
        Some(s) => {
            put_int(out, int_size, s.len() as i64, what)?;
            out.extend_from_slice(s);
            Ok(())
        }
    }
}

/// Appends an offset: flag byte then `off_size` bytes of `v`, little-endian.
pub(crate) fn put_offset(out: &mut Vec<u8>, off_size: u8, flag: u8, v: u64, what: &str) -> Result<()> {
    if off_size < 8 && v >> (8 * off_size as u32) != 0 {
        return Err(ArchiveError::usage(format!("{what}: offset {v} does not fit in {off_size} bytes")));
    }
    out.push(flag);
    for i in 0..off_size as u32 {
        out.push(if i < 8 { (v >> (8 * i)) as u8 } else { 0 });
    }
    Ok(())
}

/// The int encoding of a large-object OID: OIDs above 2^31 are written as negative ints, the way
/// pg_dump passes an unsigned `Oid` through its signed `WriteInt`.
pub(crate) fn oid_to_int(oid: u32) -> i64 {
    oid as i32 as i64
}

/// Inverse of [`oid_to_int`]: reinterprets the low 32 bits as unsigned.
pub(crate) fn int_to_oid(v: i64) -> u32 {
    v as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int_bytes(v: i64) -> Vec<u8> {
        let mut out = Vec::new();
        put_int(&mut out, 4, v, "test").unwrap();
        out
    }

    #[test]
    fn ints_match_the_documented_bytes() {
        assert_eq!(int_bytes(3418), [0x00, 0x5a, 0x0d, 0x00, 0x00]);
        assert_eq!(int_bytes(0), [0, 0, 0, 0, 0]);
        assert_eq!(int_bytes(-1), [0x01, 0x01, 0x00, 0x00, 0x00]);
        // LO OID 3000000000 is stored as -1294967296.
        assert_eq!(int_bytes(oid_to_int(3_000_000_000)), [0x01, 0x00, 0xa2, 0x2f, 0x4d]);
    }

    #[test]
    fn ints_decode_and_oids_reinterpret() {
        let mut r = Counting::new(&[0x01u8, 0x00, 0xa2, 0x2f, 0x4d][..]);
        let v = read_int(&mut r, 4, "oid").unwrap();
        assert_eq!(v, -1_294_967_296);
        assert_eq!(int_to_oid(v), 3_000_000_000);
        assert_eq!(r.pos(), 5);
    }

    #[test]
    fn int_too_large_for_int_size_is_refused() {
        let mut out = Vec::new();
        assert!(put_int(&mut out, 4, 1 << 40, "x").is_err());
        assert!(put_int(&mut out, 8, 1 << 40, "x").is_ok());
    }

    #[test]
    fn strings_keep_null_and_empty_apart() {
        let mut out = Vec::new();
        put_str(&mut out, 4, None, "s").unwrap();
        put_str(&mut out, 4, Some(b""), "s").unwrap();
        put_str(&mut out, 4, Some(b"abc"), "s").unwrap();
        assert_eq!(out, [1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, b'a', b'b', b'c']);
        let mut r = Counting::new(&out[..]);
        assert_eq!(read_str(&mut r, 4, "s").unwrap(), None);
        assert_eq!(read_str(&mut r, 4, "s").unwrap(), Some(vec![]));
        assert_eq!(read_str(&mut r, 4, "s").unwrap(), Some(b"abc".to_vec()));
    }

    #[test]
    fn truncated_string_names_what_and_where() {
        let bytes = [0u8, 10, 0, 0, 0, b'a', b'b'];
        let mut r = Counting::new(&bytes[..]);
        let err = read_str(&mut r, 4, "the tag").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("byte 5") && msg.contains("the tag") && msg.contains("truncated"), "{msg}");
    }

    #[test]
    fn offsets_are_fixed_width() {
        let mut out = Vec::new();
        put_offset(&mut out, 8, 2, 10764, "o").unwrap();
        assert_eq!(out, [0x02, 0x0c, 0x2a, 0, 0, 0, 0, 0, 0]);
        let mut r = Counting::new(&out[..]);
        assert_eq!(read_offset(&mut r, 8, "o").unwrap(), (2, 10764));
    }
}
