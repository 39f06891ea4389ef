//! The header and table of contents shared by the custom, directory and tar formats (formats doc
//! §3.2, §3.3), decoded into plain structs and encoded back byte for byte.
//!
//! Strings are kept as raw bytes (`Option<Vec<u8>>`): they are in the archive's client encoding,
//! which need not be UTF-8, and a NULL string (`None`) differs from an empty one (`Some(vec![])`).
//! Reading then writing an unmodified [`Toc`] reproduces the input bytes exactly, as long as the
//! input used pg_dump's canonical encodings (sign byte 0 or 1, hadDumper 0 or 1, dependency
//! strings in plain decimal), which every pg_dump writes.

use std::borrow::Cow;
use std::fmt;
use std::io::{Read, Write};

use super::error::{ArchiveError, EntryLabel, Location, Result};
use super::wire::{self, Counting};

/// A dump ID: the key of a TOC entry (always > 0).
pub type DumpId = i32;

/// The archive format version `major.minor.rev` from the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ArchiveVersion {
    pub major: u8,
    pub minor: u8,
    pub rev: u8,
}

impl ArchiveVersion {
    /// pg_dump 9.0 to early 10.x minors.
    pub const V1_12: ArchiveVersion = ArchiveVersion::new(1, 12, 0);
    /// pg_dump 10.3+ and 11 (SEARCHPATH entry; same layout as 1.12).
    pub const V1_13: ArchiveVersion = ArchiveVersion::new(1, 13, 0);
    /// pg_dump 12 to 15: `tableam` in the TOC.
    pub const V1_14: ArchiveVersion = ArchiveVersion::new(1, 14, 0);
    /// pg_dump 16: the header stores a compression algorithm byte instead of a zlib level.
    pub const V1_15: ArchiveVersion = ArchiveVersion::new(1, 15, 0);
    /// pg_dump 17 and 18: `relkind` in the TOC, several BLOBS entries.
    pub const V1_16: ArchiveVersion = ArchiveVersion::new(1, 16, 0);

    pub const fn new(major: u8, minor: u8, rev: u8) -> ArchiveVersion {
        ArchiveVersion { major, minor, rev }
    }

    /// Whether this library reads and writes the version: 1.12.x to 1.16.x (any revision, as
    /// pg_restore accepts any revision of the versions it knows).
    pub fn is_supported(self) -> bool {
        self >= ArchiveVersion::V1_12 && (self.major, self.minor) <= (1, 16)
    }
}

impl fmt::Display for ArchiveVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)?;
        if self.rev != 0 {
            write!(f, ".{}", self.rev)?;
        }
        Ok(())
    }
}

/// The format byte of the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArchiveFormat {
    /// 1: custom format (`-Fc`); TOC entries carry data offsets.
    Custom,
    /// 3: tar format (`-Ft`) and also the `toc.dat` of a directory archive (`-Fd`); TOC entries
    /// carry file names.
    Tar,
}

impl ArchiveFormat {
    pub fn byte(self) -> u8 {
        match self {
            ArchiveFormat::Custom => 1,
            ArchiveFormat::Tar => 3,
        }
    }

    fn from_byte(b: u8, at: Location) -> Result<ArchiveFormat> {
        match b {
            1 => Ok(ArchiveFormat::Custom),
            3 => Ok(ArchiveFormat::Tar),
            2 => Err(ArchiveError::malformed(at, "format byte 2 (the old \"files\" format) is not supported")),
            4 => Err(ArchiveError::malformed(at, "format byte 4 (null/plain) does not occur in archive files")),
            5 => {
                Err(ArchiveError::malformed(at, "format byte 5 (directory) is never written to a file; toc.dat uses 3"))
            }
            b => Err(ArchiveError::malformed(at, format!("unknown archive format byte {b}"))),
        }
    }
}

/// A compression algorithm, without level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    None,
    Gzip,
    Lz4,
    Zstd,
}

impl Algorithm {
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::None => "none",
            Algorithm::Gzip => "gzip",
            Algorithm::Lz4 => "lz4",
            Algorithm::Zstd => "zstd",
        }
    }
}

/// The compression recorded in the header.
///
/// Archives up to 1.14 store an int zlib level: 0 is [`ArchiveCompression::None`], anything else
/// is `Gzip { level: Some(n) }` (−1 = zlib's default, which is what plain `pg_dump -Fc` writes).
/// From 1.15 on the header stores only an algorithm byte (0 none, 1 gzip, 2 lz4, 3 zstd) and
/// `Gzip` has `level: None`. Writing `Gzip { level: None }` into a ≤1.14 header writes −1;
/// writing `Gzip { level: Some(_) }` into a ≥1.15 header drops the level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArchiveCompression {
    None,
    Gzip { level: Option<i32> },
    Lz4,
    Zstd,
}

impl ArchiveCompression {
    pub fn algorithm(self) -> Algorithm {
        match self {
            ArchiveCompression::None => Algorithm::None,
            ArchiveCompression::Gzip { .. } => Algorithm::Gzip,
            ArchiveCompression::Lz4 => Algorithm::Lz4,
            ArchiveCompression::Zstd => Algorithm::Zstd,
        }
    }

    /// The zlib level to compress with: the stored level when it is 1..=9, else zlib's default 6.
    pub fn gzip_level(self) -> u32 {
        match self {
            ArchiveCompression::Gzip { level: Some(l) } if (1..=9).contains(&l) => l as u32,
            _ => 6,
        }
    }
}

/// The `struct tm` fields of the dump's start time, as pg_dump stored them (local time;
/// `mon` is 0-11, `year` counts from 1900).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CreationTime {
    pub sec: i32,
    pub min: i32,
    pub hour: i32,
    pub mday: i32,
    pub mon: i32,
    pub year: i32,
    pub isdst: i32,
}

/// The archive header (formats doc §3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub version: ArchiveVersion,
    /// Bytes in an int's magnitude (4 in every real archive).
    pub int_size: u8,
    /// Bytes in an offset (8 in every real archive).
    pub off_size: u8,
    pub format: ArchiveFormat,
    pub compression: ArchiveCompression,
    pub created: CreationTime,
    pub dbname: Option<Vec<u8>>,
    pub server_version: Option<Vec<u8>>,
    pub pg_dump_version: Option<Vec<u8>>,
}

/// The section of a TOC entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Section {
    /// 1: not in any section (ENCODING, STDSTRINGS, SEARCHPATH, COMMENT ON DATABASE...).
    None,
    PreData,
    Data,
    PostData,
    /// Any other stored value, kept for a faithful round trip.
    Other(i32),
}

impl Section {
    pub fn from_int(v: i32) -> Section {
        match v {
            1 => Section::None,
            2 => Section::PreData,
            3 => Section::Data,
            4 => Section::PostData,
            v => Section::Other(v),
        }
    }

    pub fn to_int(self) -> i32 {
        match self {
            Section::None => 1,
            Section::PreData => 2,
            Section::Data => 3,
            Section::PostData => 4,
            Section::Other(v) => v,
        }
    }
}

/// The state of a custom-format data offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OffsetState {
    /// 1: the entry has a data block but its position was not recorded (output was a pipe).
    NotSet,
    /// 2: `pos` is the byte position of the entry's data block.
    Set,
    /// 3: the entry has no data block.
    NoData,
}

impl OffsetState {
    fn flag(self) -> u8 {
        match self {
            OffsetState::NotSet => 1,
            OffsetState::Set => 2,
            OffsetState::NoData => 3,
        }
    }
}

/// A custom-format entry's data offset (flag + fixed-width position).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DataOffset {
    pub state: OffsetState,
    /// Kept even when the state is not `Set`, for a faithful round trip (pg_dump writes 0).
    pub pos: u64,
}

/// The format-specific last field of a TOC entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TocExtra {
    /// Custom format: where the data block is.
    Offset(DataOffset),
    /// Directory and tar formats: the data file name, e.g. `"3418.dat"` (without compression
    /// suffix), `"blobs_3420.toc"`, or `""` for entries without data. `None` is a NULL string,
    /// which pg_dump never writes but pg_restore treats like `""`.
    Filename(Option<String>),
}

/// One TOC entry (formats doc §3.3). Fields that an archive version does not have are left at
/// their neutral value (`tableam: None` before 1.14, `relkind: 0` before 1.16); writing a
/// non-neutral value into such a version is an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TocEntry {
    pub dump_id: DumpId,
    /// Whether the entry has a data part (TABLE DATA, BLOBS, SEQUENCE SET has none).
    pub had_dumper: bool,
    pub tableoid: Option<Vec<u8>>,
    pub oid: Option<Vec<u8>>,
    pub tag: Option<Vec<u8>>,
    pub desc: Option<Vec<u8>>,
    pub section: Section,
    pub defn: Option<Vec<u8>>,
    pub drop_stmt: Option<Vec<u8>>,
    pub copy_stmt: Option<Vec<u8>>,
    pub namespace: Option<Vec<u8>>,
    pub tablespace: Option<Vec<u8>>,
    /// 1.14+.
    pub tableam: Option<Vec<u8>>,
    /// 1.16+: the relkind as an ASCII code (b'r' = 114 ...), 0 for non-relations.
    pub relkind: i32,
    pub owner: Option<Vec<u8>>,
    pub with_oids: Option<Vec<u8>>,
    pub dependencies: Vec<DumpId>,
    pub extra: TocExtra,
}

impl TocEntry {
    /// `desc` equals `d` (e.g. `"TABLE DATA"`).
    pub fn desc_is(&self, d: &str) -> bool {
        self.desc.as_deref() == Some(d.as_bytes())
    }

    pub fn is_table_data(&self) -> bool {
        self.desc_is("TABLE DATA")
    }

    /// A BLOBS entry: its data is a list of large objects, not COPY text.
    pub fn is_blobs(&self) -> bool {
        self.desc_is("BLOBS")
    }

    /// For a label in messages: `dumpId 3418 (TABLE DATA public.t_text)`.
    pub fn label(&self) -> EntryLabel {
        EntryLabel::of(self)
    }

    /// The data file name of a directory/tar entry, if it has a non-empty one.
    pub fn filename(&self) -> Option<&str> {
        match &self.extra {
            TocExtra::Filename(Some(f)) if !f.is_empty() => Some(f),
            _ => None,
        }
    }

    /// The data offset of a custom-format entry.
    pub fn offset(&self) -> Option<DataOffset> {
        match &self.extra {
            TocExtra::Offset(o) => Some(*o),
            TocExtra::Filename(_) => None,
        }
    }
}

/// Header plus entries, in archive order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toc {
    pub header: Header,
    pub entries: Vec<TocEntry>,
}

impl Toc {
    pub fn entry(&self, dump_id: DumpId) -> Option<&TocEntry> {
        self.entries.iter().find(|e| e.dump_id == dump_id)
    }

    pub fn index_of(&self, dump_id: DumpId) -> Option<usize> {
        self.entries.iter().position(|e| e.dump_id == dump_id)
    }

    /// The entries that have a data part (`had_dumper`), in TOC order: the order of the data
    /// blocks in a custom archive and of the data members in a tar archive.
    pub fn data_entries(&self) -> impl Iterator<Item = &TocEntry> {
        self.entries.iter().filter(|e| e.had_dumper)
    }

    pub(crate) fn label(&self, dump_id: DumpId) -> EntryLabel {
        self.entry(dump_id).map(EntryLabel::of).unwrap_or_else(|| EntryLabel::unknown(dump_id))
    }
}

/// Lossy text of an archive string for messages; NULL shows as empty.
pub fn lossy(s: &Option<Vec<u8>>) -> Cow<'_, str> {
    match s {
        Some(b) => String::from_utf8_lossy(b),
        None => Cow::Borrowed(""),
    }
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

/// Reads the header and TOC, starting at the magic `PGDMP`, and stops right after the last TOC
/// entry (the start of the data area in a custom archive). Reads byte by byte in places: give it
/// a buffered reader.
pub fn read_toc<R: Read>(r: &mut R) -> Result<Toc> {
    read_toc_counting(&mut Counting::new(r))
}

pub(crate) fn read_toc_counting<R: Read>(r: &mut Counting<R>) -> Result<Toc> {
    let header = read_header(r)?;
    let entries = read_entries(r, &header)?;
    Ok(Toc { header, entries })
}

/// Reads just the header.
pub(crate) fn read_header<R: Read>(r: &mut Counting<R>) -> Result<Header> {
    let start = r.pos();
    let mut magic = [0u8; 5];
    wire::read_exact(r, &mut magic, "the magic string PGDMP")?;
    if &magic != b"PGDMP" {
        return Err(ArchiveError::malformed(
            Location::at(start),
            format!("not a pg_dump archive: expected the magic \"PGDMP\", found {:?}", String::from_utf8_lossy(&magic)),
        ));
    }
    let mut v = [0u8; 3];
    wire::read_exact(r, &mut v, "the archive version")?;
    let version = ArchiveVersion::new(v[0], v[1], v[2]);
    if !version.is_supported() {
        return Err(ArchiveError::UnsupportedVersion { version });
    }
    let at = r.pos();
    let int_size = wire::read_byte(r, "intSize")?;
    if !(1..=8).contains(&int_size) {
        return Err(ArchiveError::malformed(
            Location::at(at),
            format!("unsupported intSize {int_size} (expected 1 to 8)"),
        ));
    }
    let at = r.pos();
    let off_size = wire::read_byte(r, "offSize")?;
    if !(1..=16).contains(&off_size) {
        return Err(ArchiveError::malformed(
            Location::at(at),
            format!("unsupported offSize {off_size} (expected 1 to 16)"),
        ));
    }
    let at = r.pos();
    let format = ArchiveFormat::from_byte(wire::read_byte(r, "the format byte")?, Location::at(at))?;
    let at = r.pos();
    let compression = if version >= ArchiveVersion::V1_15 {
        match wire::read_byte(r, "the compression algorithm")? {
            0 => ArchiveCompression::None,
            1 => ArchiveCompression::Gzip { level: None },
            2 => ArchiveCompression::Lz4,
            3 => ArchiveCompression::Zstd,
            b => {
                return Err(ArchiveError::malformed(
                    Location::at(at),
                    format!("unknown compression algorithm {b} in header"),
                ));
            }
        }
    } else {
        match wire::read_i32(r, int_size, "the compression level")? {
            0 => ArchiveCompression::None,
            l => ArchiveCompression::Gzip { level: Some(l) },
        }
    };
    let mut t = [0i32; 7];
    for (i, name) in ["tm_sec", "tm_min", "tm_hour", "tm_mday", "tm_mon", "tm_year", "tm_isdst"].iter().enumerate() {
        t[i] = wire::read_i32(r, int_size, &format!("the creation time ({name})"))?;
    }
    let created = CreationTime { sec: t[0], min: t[1], hour: t[2], mday: t[3], mon: t[4], year: t[5], isdst: t[6] };
    let dbname = wire::read_str(r, int_size, "the database name")?;
    let server_version = wire::read_str(r, int_size, "the server version")?;
    let pg_dump_version = wire::read_str(r, int_size, "the pg_dump version")?;
    Ok(Header { version, int_size, off_size, format, compression, created, dbname, server_version, pg_dump_version })
}

fn read_entries<R: Read>(r: &mut Counting<R>, h: &Header) -> Result<Vec<TocEntry>> {
    let at = r.pos();
    let count = wire::read_i32(r, h.int_size, "the TOC entry count")?;
    if count < 0 {
        return Err(ArchiveError::malformed(Location::at(at), format!("negative TOC entry count {count}")));
    }
    let mut entries = Vec::with_capacity(count.min(100_000) as usize);
    for i in 0..count as usize {
        entries.push(read_entry(r, h, i, count as usize)?);
    }
    Ok(entries)
}

fn read_entry<R: Read>(r: &mut Counting<R>, h: &Header, index: usize, count: usize) -> Result<TocEntry> {
    let is = h.int_size;
    let n = index + 1;
    let what = |field: &str| format!("the {field} of TOC entry {n} of {count}");
    let at = r.pos();
    let dump_id = wire::read_i32(r, is, &what("dumpId"))?;
    if dump_id <= 0 {
        return Err(ArchiveError::malformed(
            Location::at(at),
            format!("TOC entry {n} of {count} has dumpId {dump_id}; IDs must be > 0 (corrupt TOC?)"),
        ));
    }
    // From here on errors name the entry; desc and tag are filled in once read.
    let mut label = EntryLabel { dump_id, desc: "?".into(), namespace: None, tag: "?".into() };
    let mut fields = || -> Result<TocEntry> {
        let had_dumper = wire::read_i32(r, is, &what("hadDumper"))? != 0;
        let tableoid = wire::read_str(r, is, &what("tableoid"))?;
        let oid = wire::read_str(r, is, &what("oid"))?;
        let tag = wire::read_str(r, is, &what("tag"))?;
        label.tag = lossy(&tag).into_owned();
        let desc = wire::read_str(r, is, &what("desc"))?;
        label.desc = lossy(&desc).into_owned();
        let section = Section::from_int(wire::read_i32(r, is, &what("section"))?);
        let defn = wire::read_str(r, is, &what("defn"))?;
        let drop_stmt = wire::read_str(r, is, &what("dropStmt"))?;
        let copy_stmt = wire::read_str(r, is, &what("copyStmt"))?;
        let namespace = wire::read_str(r, is, &what("namespace"))?;
        label.namespace = namespace.as_ref().map(|n| String::from_utf8_lossy(n).into_owned());
        let tablespace = wire::read_str(r, is, &what("tablespace"))?;
        let tableam = if h.version >= ArchiveVersion::V1_14 { wire::read_str(r, is, &what("tableam"))? } else { None };
        let relkind = if h.version >= ArchiveVersion::V1_16 { wire::read_i32(r, is, &what("relkind"))? } else { 0 };
        let owner = wire::read_str(r, is, &what("owner"))?;
        let with_oids = wire::read_str(r, is, &what("withOids"))?;
        let mut dependencies = Vec::new();
        loop {
            let at = r.pos();
            let Some(dep) = wire::read_str(r, is, &what("dependency list"))? else { break };
            let parsed = std::str::from_utf8(&dep)
                .ok()
                .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|s| s.parse::<DumpId>().ok());
            match parsed {
                Some(d) => dependencies.push(d),
                None => {
                    return Err(ArchiveError::malformed(
                        Location::at(at),
                        format!("dependency {:?} is not a dump ID", String::from_utf8_lossy(&dep)),
                    ));
                }
            }
        }
        let at = r.pos();
        let extra = match h.format {
            ArchiveFormat::Custom => {
                let (flag, pos) = wire::read_offset(r, h.off_size, &what("data offset"))?;
                let state = match flag {
                    1 => OffsetState::NotSet,
                    2 => OffsetState::Set,
                    3 => OffsetState::NoData,
                    f => {
                        return Err(ArchiveError::malformed(
                            Location::at(at),
                            format!("unexpected data offset flag {f}"),
                        ));
                    }
                };
                TocExtra::Offset(DataOffset { state, pos })
            }
            ArchiveFormat::Tar => match wire::read_str(r, is, &what("file name"))? {
                None => TocExtra::Filename(None),
                Some(b) => TocExtra::Filename(Some(String::from_utf8(b).map_err(|e| {
                    ArchiveError::malformed(
                        Location::at(at),
                        format!("data file name {:?} is not UTF-8", String::from_utf8_lossy(e.as_bytes())),
                    )
                })?)),
            },
        };
        Ok(TocEntry {
            dump_id,
            had_dumper,
            tableoid,
            oid,
            tag,
            desc,
            section,
            defn,
            drop_stmt,
            copy_stmt,
            namespace,
            tablespace,
            tableam,
            relkind,
            owner,
            with_oids,
            dependencies,
            extra,
        })
    };
    let result = fields();
    result.map_err(|e| e.add_location(Location { file: None, offset: None, entry: Some(Box::new(label)) }))
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

/// Writes the header and TOC. See [`encode_toc`].
pub fn write_toc<W: Write>(w: &mut W, toc: &Toc) -> Result<()> {
    let bytes = encode_toc(toc)?;
    w.write_all(&bytes).map_err(|e| ArchiveError::io(Location::default(), "writing the archive header and TOC", e))
}

/// Encodes the header and TOC. Fails if the TOC holds something its version or format cannot
/// represent: a `tableam` before 1.14, a `relkind` before 1.16, lz4/zstd before 1.15, an offset
/// in a tar/directory TOC or a file name in a custom one.
pub fn encode_toc(toc: &Toc) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(64 * 1024);
    encode_header(&mut out, &toc.header)?;
    let is = toc.header.int_size;
    wire::put_int(&mut out, is, toc.entries.len() as i64, "the TOC entry count")?;
    for e in &toc.entries {
        encode_entry(&mut out, &toc.header, e).map_err(|err| match err {
            ArchiveError::Usage(msg) => ArchiveError::Usage(format!("entry {}: {msg}", e.label())),
            other => other,
        })?;
    }
    Ok(out)
}

/// Encodes just the header.
pub fn encode_header(out: &mut Vec<u8>, h: &Header) -> Result<()> {
    if !h.version.is_supported() {
        return Err(ArchiveError::UnsupportedVersion { version: h.version });
    }
    if !(1..=8).contains(&h.int_size) || !(1..=16).contains(&h.off_size) {
        return Err(ArchiveError::usage(format!("unsupported intSize {} / offSize {}", h.int_size, h.off_size)));
    }
    let is = h.int_size;
    out.extend_from_slice(b"PGDMP");
    out.extend_from_slice(&[h.version.major, h.version.minor, h.version.rev, h.int_size, h.off_size, h.format.byte()]);
    if h.version >= ArchiveVersion::V1_15 {
        out.push(match h.compression {
            ArchiveCompression::None => 0,
            ArchiveCompression::Gzip { .. } => 1,
            ArchiveCompression::Lz4 => 2,
            ArchiveCompression::Zstd => 3,
        });
    } else {
        let level = match h.compression {
            ArchiveCompression::None => 0,
            ArchiveCompression::Gzip { level } => level.unwrap_or(-1),
            other => {
                return Err(ArchiveError::usage(format!(
                    "archive version {} cannot record {} compression (lz4 and zstd need 1.15+, pg_dump 16+)",
                    h.version,
                    other.algorithm().name()
                )));
            }
        };
        if level == 0 && matches!(h.compression, ArchiveCompression::Gzip { .. }) {
            return Err(ArchiveError::usage(
                "gzip level 0 would read back as no compression; use ArchiveCompression::None",
            ));
        }
        wire::put_int(out, is, level as i64, "the compression level")?;
    }
    let t = &h.created;
    for v in [t.sec, t.min, t.hour, t.mday, t.mon, t.year, t.isdst] {
        wire::put_int(out, is, v as i64, "the creation time")?;
    }
    wire::put_str(out, is, h.dbname.as_deref(), "the database name")?;
    wire::put_str(out, is, h.server_version.as_deref(), "the server version")?;
    wire::put_str(out, is, h.pg_dump_version.as_deref(), "the pg_dump version")?;
    Ok(())
}

fn encode_entry(out: &mut Vec<u8>, h: &Header, e: &TocEntry) -> Result<()> {
    let is = h.int_size;
    if e.dump_id <= 0 {
        return Err(ArchiveError::usage(format!("dumpId {} must be > 0", e.dump_id)));
    }
    wire::put_int(out, is, e.dump_id as i64, "dumpId")?;
    wire::put_int(out, is, e.had_dumper as i64, "hadDumper")?;
    wire::put_str(out, is, e.tableoid.as_deref(), "tableoid")?;
    wire::put_str(out, is, e.oid.as_deref(), "oid")?;
    wire::put_str(out, is, e.tag.as_deref(), "tag")?;
    wire::put_str(out, is, e.desc.as_deref(), "desc")?;
    wire::put_int(out, is, e.section.to_int() as i64, "section")?;
    wire::put_str(out, is, e.defn.as_deref(), "defn")?;
    wire::put_str(out, is, e.drop_stmt.as_deref(), "dropStmt")?;
    wire::put_str(out, is, e.copy_stmt.as_deref(), "copyStmt")?;
    wire::put_str(out, is, e.namespace.as_deref(), "namespace")?;
    wire::put_str(out, is, e.tablespace.as_deref(), "tablespace")?;
    if h.version >= ArchiveVersion::V1_14 {
        wire::put_str(out, is, e.tableam.as_deref(), "tableam")?;
    } else if e.tableam.is_some() {
        return Err(ArchiveError::usage(format!("archive version {} has no tableam field (1.14+)", h.version)));
    }
    if h.version >= ArchiveVersion::V1_16 {
        wire::put_int(out, is, e.relkind as i64, "relkind")?;
    } else if e.relkind != 0 {
        return Err(ArchiveError::usage(format!("archive version {} has no relkind field (1.16+)", h.version)));
    }
    wire::put_str(out, is, e.owner.as_deref(), "owner")?;
    wire::put_str(out, is, e.with_oids.as_deref(), "withOids")?;
    for d in &e.dependencies {
        wire::put_str(out, is, Some(d.to_string().as_bytes()), "dependency")?;
    }
    wire::put_str(out, is, None, "dependency list end")?;
    match (&e.extra, h.format) {
        (TocExtra::Offset(o), ArchiveFormat::Custom) => {
            wire::put_offset(out, h.off_size, o.state.flag(), o.pos, "data offset")
        }
        (TocExtra::Filename(f), ArchiveFormat::Tar) => {
            wire::put_str(out, is, f.as_deref().map(str::as_bytes), "file name")
        }
        (TocExtra::Offset(_), ArchiveFormat::Tar) => {
            Err(ArchiveError::usage("has a data offset, but a tar/directory TOC needs a file name"))
        }
        (TocExtra::Filename(_), ArchiveFormat::Custom) => {
            Err(ArchiveError::usage("has a file name, but a custom-format TOC needs a data offset"))
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn s(v: &str) -> Option<Vec<u8>> {
        Some(v.as_bytes().to_vec())
    }

    pub(crate) fn header(version: ArchiveVersion, format: ArchiveFormat, compression: ArchiveCompression) -> Header {
        Header {
            version,
            int_size: 4,
            off_size: 8,
            format,
            compression,
            created: CreationTime { sec: 38, min: 54, hour: 22, mday: 25, mon: 10, year: 126, isdst: 0 },
            dbname: s("fmt_research"),
            server_version: s("15.18 (Debian 15.18-0+deb12u1)"),
            pg_dump_version: s("18.6"),
        }
    }

    pub(crate) fn entry(dump_id: DumpId, desc: &str, tag: &str, had_dumper: bool, extra: TocExtra) -> TocEntry {
        TocEntry {
            dump_id,
            had_dumper,
            tableoid: s("0"),
            oid: s("0"),
            tag: s(tag),
            desc: s(desc),
            section: if had_dumper { Section::Data } else { Section::PreData },
            defn: None,
            drop_stmt: None,
            copy_stmt: None,
            namespace: None,
            tablespace: None,
            tableam: None,
            relkind: 0,
            owner: None,
            with_oids: s("false"),
            dependencies: vec![],
            extra,
        }
    }

    /// The 1.16 -Z0 header from the formats doc §3.2, byte for byte.
    const DOC_HEADER_1_16: &str = "50 47 44 4d 50 01 10 00 04 08 01 00 00 26 00 00 00 00 36 00 00 00 00 16 00 00 00 00 19 00 00 00 \
         00 0a 00 00 00 00 7e 00 00 00 00 00 00 00 00 00 0c 00 00 00";

    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace().map(|b| u8::from_str_radix(b, 16).unwrap()).collect()
    }

    #[test]
    fn header_matches_documented_bytes() {
        let h = header(ArchiveVersion::V1_16, ArchiveFormat::Custom, ArchiveCompression::None);
        let mut out = Vec::new();
        encode_header(&mut out, &h).unwrap();
        let mut expected = hex(DOC_HEADER_1_16);
        expected.extend_from_slice(b"fmt_research");
        expected.extend_from_slice(&hex("00 1e 00 00 00"));
        expected.extend_from_slice(b"15.18 (Debian 15.18-0+deb12u1)");
        expected.extend_from_slice(&hex("00 04 00 00 00"));
        expected.extend_from_slice(b"18.6");
        assert_eq!(out, expected);
        assert_eq!(out.len(), 108);
        let back = read_header(&mut Counting::new(&out[..])).unwrap();
        assert_eq!(back, h);
    }

    #[test]
    fn compression_field_depends_on_version() {
        let mut h = header(ArchiveVersion::V1_14, ArchiveFormat::Custom, ArchiveCompression::Gzip { level: Some(-1) });
        let mut out = Vec::new();
        encode_header(&mut out, &h).unwrap();
        assert_eq!(&out[11..16], &[1, 1, 0, 0, 0]); // int -1
        h.version = ArchiveVersion::V1_15;
        out.clear();
        encode_header(&mut out, &h).unwrap();
        assert_eq!(out[11], 1); // algorithm byte gzip
        assert_eq!(&out[12..17], &[0, 38, 0, 0, 0]); // tm_sec follows directly
        let back = read_header(&mut Counting::new(&out[..])).unwrap();
        assert_eq!(back.compression, ArchiveCompression::Gzip { level: None });
        h.version = ArchiveVersion::V1_14;
        h.compression = ArchiveCompression::Zstd;
        assert!(matches!(encode_header(&mut Vec::new(), &h), Err(ArchiveError::Usage(_))));
    }

    #[test]
    fn documented_encoding_entry_round_trips() {
        // ENCODING entry of a 1.16 custom archive, from the formats doc §3.3.
        let mut bytes = hex("00 5f 0d 00 00 00 00 00 00 00 00 01 00 00 00");
        bytes.push(b'0');
        bytes.extend(hex("00 01 00 00 00"));
        bytes.push(b'0');
        bytes.extend(hex("00 08 00 00 00"));
        bytes.extend(b"ENCODING");
        bytes.extend(hex("00 08 00 00 00"));
        bytes.extend(b"ENCODING");
        bytes.extend(hex("00 02 00 00 00 00 1e 00 00 00"));
        bytes.extend(b"SET client_encoding = 'UTF8';\n");
        bytes.extend(hex("01 01 00 00 00 01 01 00 00 00 01 01 00 00 00 01 01 00 00 00 01 01 00 00 00 00 00 00 00 00 01 01 00 00 00 00 05 00 00 00"));
        bytes.extend(b"false");
        bytes.extend(hex("01 01 00 00 00 03 00 00 00 00 00 00 00 00"));
        let h = header(ArchiveVersion::V1_16, ArchiveFormat::Custom, ArchiveCompression::None);
        let e = read_entry(&mut Counting::new(&bytes[..]), &h, 0, 1).unwrap();
        assert_eq!(e.dump_id, 3423);
        assert!(!e.had_dumper);
        assert!(e.desc_is("ENCODING"));
        assert_eq!(e.section, Section::PreData);
        assert_eq!(e.drop_stmt, None);
        assert_eq!(e.owner, None);
        assert_eq!(e.extra, TocExtra::Offset(DataOffset { state: OffsetState::NoData, pos: 0 }));
        let mut out = Vec::new();
        encode_entry(&mut out, &h, &e).unwrap();
        assert_eq!(out, bytes);
    }

    fn sample_toc(version: ArchiveVersion, format: ArchiveFormat) -> Toc {
        let extra = |data: bool, id: DumpId| match format {
            ArchiveFormat::Custom => TocExtra::Offset(DataOffset {
                state: if data { OffsetState::Set } else { OffsetState::NoData },
                pos: if data { 10764 } else { 0 },
            }),
            ArchiveFormat::Tar => TocExtra::Filename(Some(if data { format!("{id}.dat") } else { String::new() })),
        };
        let mut table = entry(230, "TABLE", "t_empty", false, extra(false, 230));
        table.namespace = s("public");
        table.tablespace = s("");
        table.owner = s("postgres");
        if version >= ArchiveVersion::V1_14 {
            table.tableam = s("heap");
        }
        if version >= ArchiveVersion::V1_16 {
            table.relkind = b'r' as i32;
        }
        let mut data = entry(3418, "TABLE DATA", "t_empty", true, extra(true, 3418));
        data.copy_stmt = s("COPY public.t_empty (id) FROM stdin;\n");
        data.dependencies = vec![230];
        Toc {
            header: header(version, format, ArchiveCompression::Gzip { level: Some(-1) }.min_for(version)),
            entries: vec![table, data],
        }
    }

    impl ArchiveCompression {
        fn min_for(self, v: ArchiveVersion) -> ArchiveCompression {
            if v >= ArchiveVersion::V1_15 { ArchiveCompression::Gzip { level: None } } else { self }
        }
    }

    #[test]
    fn toc_round_trips_for_every_version_and_format() {
        for v in [
            ArchiveVersion::V1_12,
            ArchiveVersion::V1_13,
            ArchiveVersion::V1_14,
            ArchiveVersion::V1_15,
            ArchiveVersion::V1_16,
        ] {
            for f in [ArchiveFormat::Custom, ArchiveFormat::Tar] {
                let toc = sample_toc(v, f);
                let bytes = encode_toc(&toc).unwrap();
                let back = read_toc(&mut &bytes[..]).unwrap();
                assert_eq!(back, toc, "{v} {f:?}");
                assert_eq!(encode_toc(&back).unwrap(), bytes);
            }
        }
    }

    #[test]
    fn the_t_empty_entry_ends_like_the_doc_says() {
        let toc = sample_toc(ArchiveVersion::V1_16, ArchiveFormat::Custom);
        let bytes = encode_toc(&toc).unwrap();
        // "... 00 03 00 00 00 "230" 01 01 00 00 00 | 02 0c 2a 00 00 00 00 00 00"
        let mut tail = hex("00 03 00 00 00");
        tail.extend(b"230");
        tail.extend(hex("01 01 00 00 00 02 0c 2a 00 00 00 00 00 00"));
        assert!(bytes.ends_with(&tail));
    }

    #[test]
    fn version_gated_fields_are_refused_in_older_versions() {
        let mut toc = sample_toc(ArchiveVersion::V1_13, ArchiveFormat::Custom);
        toc.entries[0].tableam = s("heap");
        let err = encode_toc(&toc).unwrap_err().to_string();
        assert!(err.contains("tableam") && err.contains("dumpId 230"), "{err}");
        let mut toc = sample_toc(ArchiveVersion::V1_15, ArchiveFormat::Custom);
        toc.entries[0].relkind = 114;
        assert!(encode_toc(&toc).unwrap_err().to_string().contains("relkind"));
    }

    #[test]
    fn newer_version_is_a_clear_error() {
        let mut bytes = encode_toc(&sample_toc(ArchiveVersion::V1_16, ArchiveFormat::Custom)).unwrap();
        bytes[6] = 17;
        let err = read_toc(&mut &bytes[..]).unwrap_err();
        assert!(
            matches!(err, ArchiveError::UnsupportedVersion { version } if version == ArchiveVersion::new(1, 17, 0))
        );
        assert!(err.to_string().contains("1.17"), "{err}");
        bytes[6] = 11;
        assert!(read_toc(&mut &bytes[..]).unwrap_err().to_string().contains("1.11"));
    }

    #[test]
    fn truncated_toc_names_the_entry() {
        let bytes = encode_toc(&sample_toc(ArchiveVersion::V1_16, ArchiveFormat::Custom)).unwrap();
        let cut = bytes.len() - 20; // inside the last entry's dependency list
        let err = read_toc(&mut &bytes[..cut]).unwrap_err().to_string();
        assert!(err.contains("dumpId 3418 (TABLE DATA t_empty)") && err.contains("truncated"), "{err}");
    }

    #[test]
    fn bad_offset_flag_and_dump_id_are_errors() {
        let toc = sample_toc(ArchiveVersion::V1_16, ArchiveFormat::Custom);
        let mut bytes = encode_toc(&toc).unwrap();
        let n = bytes.len();
        bytes[n - 9] = 7;
        let err = read_toc(&mut &bytes[..]).unwrap_err().to_string();
        assert!(err.contains("unexpected data offset flag 7") && err.contains(&format!("byte {}", n - 9)), "{err}");
        let mut toc = toc;
        toc.entries[0].dump_id = 0;
        assert!(encode_toc(&toc).is_err());
    }

    #[test]
    fn not_an_archive() {
        let err = read_toc(&mut &b"--\n-- PostgreSQL database dump\n"[..]).unwrap_err().to_string();
        assert!(err.contains("PGDMP"), "{err}");
    }
}
