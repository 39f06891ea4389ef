//! Tar format (`pg_dump -Ft`, formats doc §5): a ustar archive holding the directory-format
//! files. Members in order: `toc.dat`, `<dumpId>.dat` per data entry in TOC order, the large
//! objects as `blob_<oid>.dat` followed by their `blobs.toc` (≤1.15) or `blobs_<dumpId>.toc`
//! (1.16+), `restore.sql` (for humans; pg_restore never reads it), two zero blocks.
//!
//! Tar archives are never compressed. pg_restore reads them sequentially and refuses data that
//! comes out of TOC order, so the writer enforces TOC order. Every member header holds the
//! member's size, so data of unknown size is spooled to an anonymous temporary file first.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use super::error::{ArchiveError, EntryLabel, Location, Result};
use super::toc::{self, ArchiveCompression, ArchiveFormat, ArchiveVersion, DumpId, Toc, TocExtra};
use super::wire::{Counting, CountingWriter};

const BLOCK: usize = 512;

/// A parsed member header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TarHeader {
    pub name: String,
    pub size: u64,
    pub mtime: u64,
    /// `b'0'` (or NUL) for a regular file.
    pub typeflag: u8,
}

/// Reads a numeric field: octal (leading spaces or NULs allowed, ended by space or NUL) or the
/// GNU base-256 form (first byte 0x80), as pg_restore's `read_tar_number` does.
fn read_number(field: &[u8]) -> u64 {
    if field.first() == Some(&0x80) {
        field[1..].iter().fold(0u64, |acc, &b| (acc << 8) | b as u64)
    } else {
        field
            .iter()
            .skip_while(|&&b| b == b' ' || b == 0)
            .take_while(|&&b| (b'0'..=b'7').contains(&b))
            .fold(0u64, |acc, &b| (acc << 3) | (b - b'0') as u64)
    }
}

/// Writes a numeric field like pg_dump's `print_tar_number`: zero-padded octal and a trailing
/// space if it fits, else 0x80 and base-256.
fn write_number(field: &mut [u8], val: u64) {
    let len = field.len();
    if val < 1u64 << ((len - 1) * 3) {
        field[len - 1] = b' ';
        let mut v = val;
        for b in field[..len - 1].iter_mut().rev() {
            *b = b'0' + (v & 7) as u8;
            v >>= 3;
        }
    } else {
        field[0] = 0x80;
        let mut v = val;
        for b in field[1..].iter_mut().rev() {
            *b = v as u8;
            v >>= 8;
        }
    }
}

/// The header checksum: the byte sum with the checksum field counted as 8 spaces.
fn checksum(h: &[u8; BLOCK]) -> u64 {
    h.iter().enumerate().map(|(i, &b)| if (148..156).contains(&i) { b' ' as u64 } else { b as u64 }).sum()
}

/// Parses a header block; `Ok(None)` for an all-zero block (end of archive padding).
pub fn parse_header(h: &[u8; BLOCK]) -> std::result::Result<Option<TarHeader>, String> {
    if h.iter().all(|&b| b == 0) {
        return Ok(None);
    }
    let stored = read_number(&h[148..156]);
    let computed = checksum(h);
    let name_field = &h[..100];
    let name_end = name_field.iter().position(|&b| b == 0).unwrap_or(100);
    let mut name = String::from_utf8_lossy(&name_field[..name_end]).into_owned();
    if stored != computed {
        return Err(format!("corrupt tar header for {name:?}: checksum {stored} stored, {computed} computed"));
    }
    let magic = &h[257..265];
    if !(magic == b"ustar\x0000" || magic == b"ustar  \x00" || magic == b"ustar00\x00") {
        return Err(format!("tar header for {name:?} has no ustar magic"));
    }
    let prefix_end = h[345..500].iter().position(|&b| b == 0).unwrap_or(155);
    if prefix_end > 0 {
        name = format!("{}/{name}", String::from_utf8_lossy(&h[345..345 + prefix_end]));
    }
    Ok(Some(TarHeader { name, size: read_number(&h[124..136]), mtime: read_number(&h[136..148]), typeflag: h[156] }))
}

/// Builds a member header the way pg_dump does: mode 0600, uid 04000, gid 02000, regular file,
/// ustar magic, owner and group name `owner`.
pub fn build_header(name: &str, size: u64, mtime: u64, owner: &str) -> std::result::Result<[u8; BLOCK], String> {
    if name.len() > 99 {
        return Err(format!("tar member name {name:?} is longer than 99 bytes"));
    }
    let mut h = [0u8; BLOCK];
    h[..name.len()].copy_from_slice(name.as_bytes());
    write_number(&mut h[100..108], 0o600);
    write_number(&mut h[108..116], 0o4000);
    write_number(&mut h[116..124], 0o2000);
    write_number(&mut h[124..136], size);
    write_number(&mut h[136..148], mtime);
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    let owner = &owner.as_bytes()[..owner.len().min(31)];
    h[265..265 + owner.len()].copy_from_slice(owner);
    h[297..297 + owner.len()].copy_from_slice(owner);
    write_number(&mut h[329..337], 0);
    write_number(&mut h[337..345], 0);
    let sum = checksum(&h);
    write_number(&mut h[148..156], sum);
    Ok(h)
}

fn padding(size: u64) -> u64 {
    (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64
}

// ---------------------------------------------------------------------------------------------
// Reader
// ---------------------------------------------------------------------------------------------

/// What a member is, relative to the TOC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberKind {
    /// The data of a TOC entry (the member name is the entry's file name, `<dumpId>.dat`).
    Data { dump_id: DumpId },
    /// A large object. `blobs_entry` is the BLOBS entry it belongs to: the next BLOBS entry in
    /// TOC order after the last data member (pg_dump writes data in TOC order).
    Blob { oid: u32, blobs_entry: Option<DumpId> },
    /// The list of large objects that ends a BLOBS entry's members.
    BlobsToc { blobs_entry: Option<DumpId> },
    /// `restore.sql`.
    RestoreScript,
    /// Anything else (pg_restore skips unknown members).
    Other,
}

/// A member header as returned by [`TarReader::next_member`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TarMember {
    pub name: String,
    pub size: u64,
    /// Position of the member's header block in the archive.
    pub offset: u64,
    pub kind: MemberKind,
}

/// Reads a pg_dump tar archive front to back from any `Read` (stdin included).
pub struct TarReader<R: Read> {
    src: Counting<BufReader<R>>,
    toc: Toc,
    /// Bytes of the current member not yet read, then its padding.
    remaining: u64,
    pad: u64,
    current: Option<TarMember>,
    /// TOC indices of the entries with data, in TOC order.
    data_order: Vec<usize>,
    /// Position in `data_order` of the next expected data entry.
    cursor: usize,
    seen: Vec<bool>,
    finished: bool,
}

fn read_block<R: Read>(src: &mut Counting<R>) -> Result<Option<[u8; BLOCK]>> {
    let start = src.pos();
    let mut h = [0u8; BLOCK];
    let mut got = 0;
    while got < BLOCK {
        match src.read(&mut h[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ArchiveError::io(Location::at(src.pos()), "reading a tar header", e)),
        }
    }
    match got {
        0 => Ok(None),
        BLOCK => Ok(Some(h)),
        n => Err(ArchiveError::Truncated { at: Location::at(start), what: format!("a tar header ({n} of 512 bytes)") }),
    }
}

/// Reads member headers, skipping zero blocks; `None` at the end of input.
fn next_header<R: Read>(src: &mut Counting<R>) -> Result<Option<(u64, TarHeader)>> {
    loop {
        let at = src.pos();
        let Some(block) = read_block(src)? else { return Ok(None) };
        match parse_header(&block) {
            Ok(None) => continue,
            Ok(Some(h)) => return Ok(Some((at, h))),
            Err(msg) => return Err(ArchiveError::malformed(Location::at(at), msg)),
        }
    }
}

fn skip<R: Read>(src: &mut Counting<R>, n: u64, what: &str) -> Result<()> {
    let at = src.pos();
    let got = io::copy(&mut src.by_ref().take(n), &mut io::sink())
        .map_err(|e| ArchiveError::io(Location::at(src.pos()), format!("skipping {what}"), e))?;
    if got < n {
        return Err(ArchiveError::Truncated {
            at: Location::at(at),
            what: format!("{what} ({} bytes missing)", n - got),
        });
    }
    Ok(())
}

impl<R: Read> TarReader<R> {
    /// Reads the first member, which must be `toc.dat`, and parses the header and TOC in it.
    pub fn new(input: R) -> Result<TarReader<R>> {
        let mut src = Counting::new(BufReader::with_capacity(128 * 1024, input));
        let Some((at, h)) = next_header(&mut src)? else {
            return Err(ArchiveError::malformed(Location::at(0), "empty tar archive"));
        };
        if h.name != "toc.dat" {
            return Err(ArchiveError::malformed(
                Location::at(at),
                format!("not a pg_dump tar archive: the first member is {:?}, not toc.dat", h.name),
            ));
        }
        let data_start = src.pos();
        let member_loc =
            Location { file: Some(format!("toc.dat (tar member, data at byte {data_start})")), ..Location::default() };
        let mut member = Counting::new((&mut src).take(h.size));
        let toc = toc::read_toc_counting(&mut member).map_err(|e| e.add_location(member_loc.clone()))?;
        let used = member.pos();
        if toc.header.format != ArchiveFormat::Tar {
            return Err(ArchiveError::malformed(member_loc, "toc.dat in a tar archive must have format byte 3"));
        }
        if toc.header.compression != ArchiveCompression::None {
            return Err(ArchiveError::malformed(
                member_loc,
                "the header says the data is compressed, which the tar format does not support",
            ));
        }
        skip(&mut src, h.size - used + padding(h.size), "the rest of toc.dat")?;
        let data_order = toc.entries.iter().enumerate().filter(|(_, e)| e.had_dumper).map(|(i, _)| i).collect();
        let seen = vec![false; toc.entries.len()];
        Ok(TarReader { src, toc, remaining: 0, pad: 0, current: None, data_order, cursor: 0, seen, finished: false })
    }

    pub fn toc(&self) -> &Toc {
        &self.toc
    }

    /// Bytes consumed so far (right after [`TarReader::new`]: the end of `toc.dat`).
    pub fn position(&self) -> u64 {
        self.src.pos()
    }

    /// The BLOBS entry that large objects seen now belong to.
    fn blobs_owner(&self) -> Option<(usize, DumpId)> {
        self.data_order[self.cursor.min(self.data_order.len())..]
            .iter()
            .enumerate()
            .find(|(_, i)| self.toc.entries[**i].is_blobs())
            .map(|(k, &i)| (self.cursor + k, self.toc.entries[i].dump_id))
    }

    fn classify(&mut self, name: &str) -> MemberKind {
        if name == "restore.sql" {
            return MemberKind::RestoreScript;
        }
        if let Some(k) = self.data_order.iter().position(|&i| {
            let e = &self.toc.entries[i];
            !e.is_blobs() && e.filename() == Some(name)
        }) {
            let i = self.data_order[k];
            self.seen[i] = true;
            self.cursor = k + 1;
            return MemberKind::Data { dump_id: self.toc.entries[i].dump_id };
        }
        if let Some(oid) =
            name.strip_prefix("blob_").and_then(|r| r.strip_suffix(".dat")).and_then(|o| o.parse::<u32>().ok())
        {
            let owner = self.blobs_owner();
            if let Some((k, _)) = owner {
                self.seen[self.data_order[k]] = true;
            }
            return MemberKind::Blob { oid, blobs_entry: owner.map(|(_, id)| id) };
        }
        let explicit =
            name.strip_prefix("blobs_").and_then(|r| r.strip_suffix(".toc")).and_then(|d| d.parse::<DumpId>().ok());
        if name == "blobs.toc" || explicit.is_some() {
            let owner = match explicit {
                Some(id) => self.data_order.iter().position(|&i| self.toc.entries[i].dump_id == id).map(|k| (k, id)),
                None => self.blobs_owner(),
            };
            if let Some((k, _)) = owner {
                self.seen[self.data_order[k]] = true;
                self.cursor = k + 1;
            }
            return MemberKind::BlobsToc { blobs_entry: owner.map(|(_, id)| id).or(explicit) };
        }
        MemberKind::Other
    }

    /// Moves to the next member, skipping what was not read of the current one. `None` at the
    /// end; it is an error if the archive ends before the data of every entry that has data.
    pub fn next_member(&mut self) -> Result<Option<TarMember>> {
        if self.finished {
            return Ok(None);
        }
        let what = self.current.as_ref().map(|m| format!("member {}", m.name)).unwrap_or_default();
        let label = self.current_label();
        skip(&mut self.src, self.remaining + self.pad, &what).map_err(|e| e.add_location(label_loc(label)))?;
        self.remaining = 0;
        self.pad = 0;
        self.current = None;
        let end = self.src.pos();
        let Some((offset, h)) = next_header(&mut self.src)? else {
            self.finished = true;
            return self.check_all_seen(end).map(|_| None);
        };
        let kind = self.classify(&h.name);
        self.remaining = h.size;
        self.pad = padding(h.size);
        let m = TarMember { name: h.name, size: h.size, offset, kind };
        self.current = Some(m.clone());
        Ok(Some(m))
    }

    fn current_label(&self) -> Option<EntryLabel> {
        match self.current.as_ref()?.kind {
            MemberKind::Data { dump_id } => Some(self.toc.label(dump_id)),
            MemberKind::Blob { blobs_entry: Some(id), .. } | MemberKind::BlobsToc { blobs_entry: Some(id) } => {
                Some(self.toc.label(id))
            }
            _ => None,
        }
    }

    fn check_all_seen(&self, offset: u64) -> Result<()> {
        let missing: Vec<String> = self
            .data_order
            .iter()
            .filter(|&&i| !self.seen[i])
            .map(|&i| self.toc.entries[i].label().to_string())
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(ArchiveError::Truncated {
            at: Location::at(offset),
            what: format!("the archive: no data member for {}", missing.join(", ")),
        })
    }

    /// A reader of the current member's bytes (never compressed in tar archives).
    pub fn member_data(&mut self) -> Result<MemberReader<'_, R>> {
        let Some(m) = &self.current else {
            return Err(ArchiveError::usage("member_data: no current member (call next_member)"));
        };
        let loc = label_loc(self.current_label()).in_file(format!("tar member {}", m.name));
        Ok(MemberReader { src: &mut self.src, remaining: &mut self.remaining, loc })
    }

    /// Copies the current member's bytes to `out`.
    pub fn copy_member_to<W: Write + ?Sized>(&mut self, out: &mut W) -> Result<u64> {
        let mut r = self.member_data()?;
        let loc = r.loc.clone();
        io::copy(&mut r, out).map_err(|e| ArchiveError::io(loc, "copying member data", e))
    }
}

fn label_loc(label: Option<EntryLabel>) -> Location {
    Location { file: None, offset: None, entry: label.map(Box::new) }
}

/// The bytes of one tar member.
pub struct MemberReader<'a, R: Read> {
    src: &'a mut Counting<BufReader<R>>,
    remaining: &'a mut u64,
    loc: Location,
}

impl<R: Read> Read for MemberReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if *self.remaining == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = buf.len().min((*self.remaining).min(usize::MAX as u64) as usize);
        let n = self.src.read(&mut buf[..want])?;
        if n == 0 {
            let mut loc = self.loc.clone();
            loc.offset = Some(self.src.pos());
            return Err(ArchiveError::Truncated {
                at: loc,
                what: format!("a member ({} bytes missing)", self.remaining),
            }
            .into_io());
        }
        *self.remaining -= n as u64;
        Ok(n)
    }
}

// ---------------------------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------------------------

/// Settings of a [`TarWriter`].
#[derive(Debug, Clone)]
pub struct TarOptions {
    /// Member modification time (seconds since 1970); `None` = now.
    pub mtime: Option<u64>,
    /// Owner and group name in member headers (pg_dump writes `postgres` or the OS user).
    pub owner_name: String,
    /// Where spool files go (default: [`crate::cleanup::temp_dir`], `--temp-dir` or the system's).
    pub spool_dir: Option<PathBuf>,
    /// Write a `restore.sql` member (a short comment, not pg_dump's script). pg_restore never
    /// reads it; it only exists for people extracting the tar by hand.
    pub restore_script: bool,
}

impl Default for TarOptions {
    fn default() -> TarOptions {
        TarOptions { mtime: None, owner_name: "postgres".into(), spool_dir: None, restore_script: true }
    }
}

/// The `restore.sql` written when [`TarOptions::restore_script`] is set.
pub const RESTORE_SQL_STUB: &str = "--\n\
-- NOTE:\n\
--\n\
-- This archive was rewritten by scrub. Restore it with pg_restore.\n\
-- pg_dump's restore.sql for extracted files is not reproduced here.\n\
--\n";

/// Writes a pg_dump tar archive; see the module docs.
pub struct TarWriter<W: Write> {
    out: CountingWriter<BufWriter<W>>,
    toc: Toc,
    opts: TarOptions,
    mtime: u64,
    last_index: Option<usize>,
    done: Vec<bool>,
    open: bool,
}

impl<W: Write> TarWriter<W> {
    pub fn new(out: W, toc: Toc) -> Result<TarWriter<W>> {
        TarWriter::with_options(out, toc, TarOptions::default())
    }

    /// Normalises the TOC (format byte 3, no compression, file names `<dumpId>.dat` for entries
    /// with data, BLOBS included, `""` for the others) and writes the `toc.dat` member.
    pub fn with_options(out: W, mut toc: Toc, opts: TarOptions) -> Result<TarWriter<W>> {
        toc.header.format = ArchiveFormat::Tar;
        toc.header.compression = ArchiveCompression::None;
        for e in &mut toc.entries {
            let name = if e.had_dumper { format!("{}.dat", e.dump_id) } else { String::new() };
            e.extra = TocExtra::Filename(Some(name));
        }
        let bytes = toc::encode_toc(&toc)?;
        let mtime =
            opts.mtime.unwrap_or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()));
        let n = toc.entries.len();
        let mut w = TarWriter {
            out: CountingWriter::new(BufWriter::with_capacity(128 * 1024, out)),
            toc,
            opts,
            mtime,
            last_index: None,
            done: vec![false; n],
            open: false,
        };
        w.put_member("toc.dat", bytes.len() as u64, &mut &bytes[..])?;
        Ok(w)
    }

    pub fn toc(&self) -> &Toc {
        &self.toc
    }

    /// Writes a member whose size is known; `data` must yield exactly `size` bytes.
    fn put_member(&mut self, name: &str, size: u64, data: &mut dyn Read) -> Result<()> {
        let at = self.out.pos();
        let loc = || Location { file: Some(format!("tar member {name}")), offset: Some(at), entry: None };
        let h = build_header(name, size, self.mtime, &self.opts.owner_name).map_err(ArchiveError::Usage)?;
        self.out.write_all(&h).map_err(|e| ArchiveError::io(loc(), "writing a tar header", e))?;
        let got = io::copy(&mut data.take(size), &mut self.out)
            .map_err(|e| ArchiveError::io(loc(), "writing member data", e))?;
        if got != size {
            return Err(ArchiveError::usage(format!("tar member {name}: {size} bytes announced, {got} supplied")));
        }
        let pad = [0u8; BLOCK];
        self.out.write_all(&pad[..padding(size) as usize]).map_err(|e| ArchiveError::io(loc(), "writing padding", e))
    }

    /// Checks that `dump_id` may get its data now (TOC order) and returns its TOC index.
    fn claim(&mut self, dump_id: DumpId, blobs: bool) -> Result<usize> {
        if self.open {
            return Err(ArchiveError::usage("the previous member was not finished"));
        }
        let index = self
            .toc
            .index_of(dump_id)
            .ok_or_else(|| ArchiveError::usage(format!("no TOC entry has dumpId {dump_id}")))?;
        let e = &self.toc.entries[index];
        if !e.had_dumper || e.is_blobs() != blobs {
            return Err(ArchiveError::usage(format!(
                "{} {}",
                e.label(),
                if !e.had_dumper {
                    "has no data part"
                } else if blobs {
                    "is not a BLOBS entry"
                } else {
                    "is a BLOBS entry (use begin_blobs)"
                }
            )));
        }
        if let Some(last) = self.last_index.filter(|&last| index <= last) {
            return Err(ArchiveError::usage(format!(
                "tar data must follow TOC order (pg_restore refuses out-of-order data in tar archives): {} comes \
                 before {} in the TOC",
                e.label(),
                self.toc.entries[last].label()
            )));
        }
        self.last_index = Some(index);
        Ok(index)
    }

    fn spool(&self) -> Result<File> {
        // A file with mode 0600 and no name: it disappears when dropped, even on a crash.
        match &self.opts.spool_dir {
            Some(d) => crate::cleanup::spool_file_in(d),
            None => crate::cleanup::spool_file(),
        }
        .map_err(|e| ArchiveError::io(Location::default(), "creating a spool file", e))
    }

    /// Starts the data member of a TABLE DATA (or other non-BLOBS) entry; its bytes are spooled
    /// to a temporary file until [`SpooledMember::finish`].
    pub fn begin_data(&mut self, dump_id: DumpId) -> Result<SpooledMember<'_, W>> {
        let index = self.claim(dump_id, false)?;
        let file = self.spool()?;
        self.open = true;
        Ok(SpooledMember {
            name: format!("{dump_id}.dat"),
            spool: BufWriter::with_capacity(128 * 1024, file),
            w: self,
            done_index: Some(index),
        })
    }

    /// Writes the data member of an entry whose size is known up front (no spooling), e.g.
    /// when copying a member from a [`TarReader`].
    pub fn write_data_from(&mut self, dump_id: DumpId, size: u64, data: &mut dyn Read) -> Result<()> {
        let index = self.claim(dump_id, false)?;
        self.put_member(&format!("{dump_id}.dat"), size, data)?;
        self.done[index] = true;
        Ok(())
    }

    /// Starts the large objects of a BLOBS entry.
    pub fn begin_blobs(&mut self, dump_id: DumpId) -> Result<TarBlobsWriter<'_, W>> {
        let index = self.claim(dump_id, true)?;
        let tocname = if self.toc.header.version >= ArchiveVersion::V1_16 {
            format!("blobs_{dump_id}.toc")
        } else {
            "blobs.toc".to_string()
        };
        Ok(TarBlobsWriter { w: self, index, tocname, lines: Vec::new() })
    }

    /// Checks that every entry with data got its member, writes `restore.sql` (unless disabled)
    /// and the two zero blocks that end a tar archive, and returns the output.
    pub fn finish(mut self) -> Result<W> {
        if self.open {
            return Err(ArchiveError::usage("finish: the last member was not finished"));
        }
        let missing: Vec<String> = self
            .toc
            .entries
            .iter()
            .zip(&self.done)
            .filter(|(e, d)| e.had_dumper && !**d)
            .map(|(e, _)| e.label().to_string())
            .collect();
        if !missing.is_empty() {
            return Err(ArchiveError::usage(format!(
                "no data was written for {} (pg_restore fails on an entry with data but no member)",
                missing.join(", ")
            )));
        }
        if self.opts.restore_script {
            self.put_member("restore.sql", RESTORE_SQL_STUB.len() as u64, &mut RESTORE_SQL_STUB.as_bytes())?;
        }
        let at = self.out.pos();
        self.out
            .write_all(&[0u8; 2 * BLOCK])
            .map_err(|e| ArchiveError::io(Location::at(at), "writing the end blocks", e))?;
        self.out.flush().map_err(|e| ArchiveError::io(Location::at(at), "flushing", e))?;
        self.out.into_inner().into_inner().map_err(|e| ArchiveError::io(Location::at(at), "flushing", e.into_error()))
    }
}

/// A member whose bytes are spooled to a temporary file (mode 0600, removed when dropped) until
/// [`SpooledMember::finish`] writes header and data.
pub struct SpooledMember<'a, W: Write> {
    w: &'a mut TarWriter<W>,
    name: String,
    spool: BufWriter<File>,
    /// TOC index to mark as written (table data), or `None` (a large object).
    done_index: Option<usize>,
}

impl<W: Write> SpooledMember<'_, W> {
    pub fn finish(self) -> Result<()> {
        let loc = Location { file: Some(format!("spool file of tar member {}", self.name)), ..Location::default() };
        let mut file =
            self.spool.into_inner().map_err(|e| ArchiveError::io(loc.clone(), "flushing", e.into_error()))?;
        let size = file.stream_position().map_err(|e| ArchiveError::io(loc.clone(), "sizing", e))?;
        file.seek(SeekFrom::Start(0)).map_err(|e| ArchiveError::io(loc.clone(), "rewinding", e))?;
        let mut reader = BufReader::with_capacity(128 * 1024, file);
        self.w.put_member(&self.name, size, &mut reader)?;
        if let Some(i) = self.done_index {
            self.w.done[i] = true;
        }
        self.w.open = false;
        Ok(())
    }
}

impl<W: Write> Write for SpooledMember<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.spool.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes the large objects of one BLOBS entry: `blob_<oid>.dat` members, then the blobs TOC
/// member ([`TarBlobsWriter::finish`]).
pub struct TarBlobsWriter<'a, W: Write> {
    w: &'a mut TarWriter<W>,
    index: usize,
    tocname: String,
    lines: Vec<u8>,
}

impl<W: Write> TarBlobsWriter<'_, W> {
    /// Starts a large object of unknown size (spooled).
    pub fn begin_blob(&mut self, oid: u32) -> Result<SpooledMember<'_, W>> {
        if self.w.open {
            return Err(ArchiveError::usage("begin_blob: the previous large object was not finished"));
        }
        let name = format!("blob_{oid}.dat");
        self.lines.extend_from_slice(format!("{oid} {name}\n").as_bytes());
        let file = self.w.spool()?;
        self.w.open = true;
        Ok(SpooledMember { name, spool: BufWriter::new(file), w: self.w, done_index: None })
    }

    /// Writes a large object whose size is known.
    pub fn write_blob(&mut self, oid: u32, size: u64, data: &mut dyn Read) -> Result<()> {
        if self.w.open {
            return Err(ArchiveError::usage("write_blob: the previous large object was not finished"));
        }
        let name = format!("blob_{oid}.dat");
        self.lines.extend_from_slice(format!("{oid} {name}\n").as_bytes());
        self.w.put_member(&name, size, data)
    }

    /// Writes the blobs TOC member, ending the entry.
    pub fn finish(self) -> Result<()> {
        if self.w.open {
            return Err(ArchiveError::usage("finish: the last large object was not finished"));
        }
        self.w.put_member(&self.tocname, self.lines.len() as u64, &mut &self.lines[..])?;
        self.w.done[self.index] = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::toc::ArchiveVersion;
    use super::super::toc::tests::{entry, header, s};
    use super::*;

    fn toc(version: ArchiveVersion) -> Toc {
        let none = TocExtra::Filename(Some(String::new()));
        let t = entry(10, "TABLE", "t1", false, none.clone());
        let mut d1 = entry(20, "TABLE DATA", "t1", true, none.clone());
        d1.copy_stmt = s("COPY public.t1 (a) FROM stdin;\n");
        let d2 = entry(21, "TABLE DATA", "t2", true, none.clone());
        let blobs = entry(30, "BLOBS", "BLOBS", true, none);
        Toc { header: header(version, ArchiveFormat::Tar, ArchiveCompression::None), entries: vec![t, d1, d2, blobs] }
    }

    fn write_sample(version: ArchiveVersion) -> Vec<u8> {
        let opts = TarOptions { mtime: Some(1_764_120_000), ..TarOptions::default() };
        let mut w = TarWriter::with_options(Vec::new(), toc(version), opts).unwrap();
        let mut m = w.begin_data(20).unwrap();
        m.write_all(b"1\n2\n\\.\n\n\n").unwrap();
        m.finish().unwrap();
        w.write_data_from(21, 5, &mut &b"\\.\n\n\n"[..]).unwrap();
        let mut b = w.begin_blobs(30).unwrap();
        let mut lo = b.begin_blob(90001).unwrap();
        lo.write_all(b"hello").unwrap();
        lo.finish().unwrap();
        b.write_blob(3_000_000_000, 3, &mut &b"big"[..]).unwrap();
        b.finish().unwrap();
        w.finish().unwrap()
    }

    #[test]
    fn header_fields_match_pg_dump() {
        let h = build_header("toc.dat", 55111, 0o13465712305, "postgres").unwrap();
        assert_eq!(&h[100..108], b"0000600 ");
        assert_eq!(&h[108..116], b"0004000 ");
        assert_eq!(&h[116..124], b"0002000 ");
        assert_eq!(&h[124..136], b"00000153507 ");
        assert_eq!(&h[136..148], b"13465712305 ");
        assert_eq!(&h[148..156], b"0014460 "); // the checksum in dvdrental_pgdump11_tar_format.tar
        assert_eq!(&h[257..265], b"ustar\x0000");
        let p = parse_header(&h).unwrap().unwrap();
        assert_eq!((p.name.as_str(), p.size, p.typeflag), ("toc.dat", 55111, b'0'));
    }

    #[test]
    fn big_sizes_use_base_256() {
        let h = build_header("1.dat", 10 << 30, 0, "postgres").unwrap();
        assert_eq!(h[124], 0x80);
        assert_eq!(parse_header(&h).unwrap().unwrap().size, 10 << 30);
    }

    #[test]
    fn corrupt_header_is_reported() {
        let mut h = build_header("1.dat", 1, 0, "postgres").unwrap();
        h[0] = b'2';
        assert!(parse_header(&h).unwrap_err().contains("checksum"));
    }

    #[test]
    fn write_then_read_sequentially() {
        for v in [ArchiveVersion::V1_14, ArchiveVersion::V1_16] {
            let bytes = write_sample(v);
            assert_eq!(bytes.len() % 512, 0);
            assert!(bytes.ends_with(&[0u8; 1024]));
            let mut r = TarReader::new(crate::archive::testutil::Pipe(&bytes[..])).unwrap();
            assert_eq!(r.toc().entry(30).unwrap().filename(), Some("30.dat"));
            assert_eq!(r.toc().entry(10).unwrap().filename(), None);
            let mut got = Vec::new();
            while let Some(m) = r.next_member().unwrap() {
                let mut data = Vec::new();
                r.copy_member_to(&mut data).unwrap();
                got.push((m.name, m.kind, data));
            }
            let toc_name = if v >= ArchiveVersion::V1_16 { "blobs_30.toc" } else { "blobs.toc" };
            assert_eq!(
                got,
                vec![
                    ("20.dat".to_string(), MemberKind::Data { dump_id: 20 }, b"1\n2\n\\.\n\n\n".to_vec()),
                    ("21.dat".to_string(), MemberKind::Data { dump_id: 21 }, b"\\.\n\n\n".to_vec()),
                    (
                        "blob_90001.dat".into(),
                        MemberKind::Blob { oid: 90001, blobs_entry: Some(30) },
                        b"hello".to_vec()
                    ),
                    (
                        "blob_3000000000.dat".into(),
                        MemberKind::Blob { oid: 3_000_000_000, blobs_entry: Some(30) },
                        b"big".to_vec()
                    ),
                    (
                        toc_name.into(),
                        MemberKind::BlobsToc { blobs_entry: Some(30) },
                        b"90001 blob_90001.dat\n3000000000 blob_3000000000.dat\n".to_vec()
                    ),
                    ("restore.sql".into(), MemberKind::RestoreScript, RESTORE_SQL_STUB.as_bytes().to_vec()),
                ]
            );
        }
    }

    #[test]
    fn writer_enforces_order() {
        let mut w = TarWriter::new(Vec::new(), toc(ArchiveVersion::V1_16)).unwrap();
        w.write_data_from(21, 0, &mut io::empty()).unwrap();
        let err = w.begin_data(20).err().unwrap().to_string();
        assert!(err.contains("TOC order"), "{err}");
        assert!(w.begin_blobs(20).is_err());
        assert!(w.write_data_from(30, 0, &mut io::empty()).is_err());
        let err = w.finish().unwrap_err().to_string();
        assert!(err.contains("dumpId 20") && err.contains("dumpId 30"), "{err}");
    }

    #[test]
    fn truncated_tar_names_the_member_and_entry() {
        let bytes = write_sample(ArchiveVersion::V1_16);
        // Find the 20.dat member header and cut inside its data.
        let pos = (0..bytes.len()).step_by(512).find(|&p| bytes[p..].starts_with(b"20.dat\0")).unwrap();
        let cut = pos + 512 + 3;
        let mut r = TarReader::new(&bytes[..cut]).unwrap();
        r.next_member().unwrap();
        let err = r.copy_member_to(&mut Vec::new()).unwrap_err().to_string();
        assert!(
            err.contains("20.dat") && err.contains("dumpId 20 (TABLE DATA t1)") && err.contains("truncated"),
            "{err}"
        );
        // Cut after 20.dat: the missing members are named at the end.
        let mut r = TarReader::new(&bytes[..pos + 1024]).unwrap();
        r.next_member().unwrap();
        let err = r.next_member().unwrap_err().to_string();
        assert!(err.contains("dumpId 21") && err.contains("dumpId 30"), "{err}");
    }
}
