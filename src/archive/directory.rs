//! Directory format (`pg_dump -Fd`, formats doc §4).
//!
//! ```text
//! dir/
//!   toc.dat                         header (format byte 3) + TOC, never compressed by pg_dump
//!   <dumpId>.dat[.gz|.lz4|.zst]     one file per data entry: the COPY text incl. "\.\n\n\n"
//!   blob_<oid>.dat[.gz|.lz4|.zst]   one file per large object
//!   blobs.toc | blobs_<dumpId>.toc  lines "<oid> blob_<oid>.dat\n" (1.16+: one per BLOBS entry)
//! ```
//!
//! The TOC names each data file without its compression suffix; readers find the suffix per file
//! ([`discover`]). Reading and writing several files at once is fine (pg_dump and pg_restore do
//! it with `-j`): [`DirectoryReader`] methods take `&self`, and [`DirectoryWriter::begin_data`]
//! hands out independent writers.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::compress::{self, FileEncoder, Level, StreamKind};
use super::error::{ArchiveError, EntryLabel, Location, Result};
use super::toc::{self, Algorithm, ArchiveFormat, ArchiveVersion, DumpId, Toc, TocExtra};
use super::wire::Counting;

/// A data file found on disk, and how it is compressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataFile {
    pub path: PathBuf,
    pub kind: StreamKind,
}

const SUFFIXES: [(&str, StreamKind); 3] =
    [(".gz", StreamKind::Gzip), (".lz4", StreamKind::Lz4), (".zst", StreamKind::Zstd)];

/// The file names pg_restore of `version` tries for a TOC file name, in order, with their
/// compression: up to 1.14 (pg_restore ≤ 15) `name` then `name.gz`; from 1.15 a name that already
/// has a suffix is taken as is, otherwise `name`, `name.gz`, `name.lz4`, `name.zst`. The first
/// one that exists wins, so a plain file wins over a compressed one.
pub fn candidates(name: &str, version: ArchiveVersion) -> Vec<(String, StreamKind)> {
    if version >= ArchiveVersion::V1_15 {
        if let Some((_, kind)) = SUFFIXES.iter().find(|(s, _)| name.ends_with(s)) {
            return vec![(name.to_string(), *kind)];
        }
        let mut v = vec![(name.to_string(), StreamKind::Raw)];
        v.extend(SUFFIXES.iter().map(|(s, k)| (format!("{name}{s}"), *k)));
        v
    } else {
        vec![(name.to_string(), StreamKind::Raw), (format!("{name}.gz"), StreamKind::Gzip)]
    }
}

/// Finds the file pg_restore would open for `name` in `dir` (see [`candidates`]).
pub fn discover(dir: &Path, name: &str, version: ArchiveVersion) -> Option<DataFile> {
    candidates(name, version)
        .into_iter()
        .map(|(n, kind)| DataFile { path: dir.join(n), kind })
        .find(|f| f.path.is_file())
}

fn not_found(dir: &Path, name: &str, version: ArchiveVersion, entry: Option<EntryLabel>) -> ArchiveError {
    let tried: Vec<String> = candidates(name, version).into_iter().map(|(n, _)| n).collect();
    ArchiveError::malformed(
        Location { file: Some(dir.display().to_string()), offset: None, entry: entry.map(Box::new) },
        format!("missing data file (tried {}; pg_restore fails on this too)", tried.join(", ")),
    )
}

/// Opens `file` and returns a reader of its decompressed bytes; errors name the file.
fn open_decoded(file: &DataFile, entry: Option<EntryLabel>) -> Result<Box<dyn Read + Send>> {
    let loc = Location { file: Some(file.path.display().to_string()), offset: None, entry: entry.map(Box::new) };
    let f = File::open(&file.path).map_err(|e| ArchiveError::io(loc.clone(), "opening", e))?;
    let inner = compress::decoder(file.kind, BufReader::with_capacity(128 * 1024, f))
        .map_err(|e| ArchiveError::io(loc.clone(), "starting a decoder", e))?;
    Ok(Box::new(Located { inner, loc }))
}

/// Adds the file name and entry to errors.
struct Located<R> {
    inner: R,
    loc: Location,
}

impl<R: Read> Read for Located<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| ArchiveError::from_io(e).add_location(self.loc.clone()).into_io())
    }
}

/// A large object listed in a blobs TOC file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobRef {
    pub oid: u32,
    /// File name as listed (e.g. `blob_90001.dat`); compression is discovered like data files.
    pub filename: String,
}

/// Parses a blobs TOC file: lines `<oid> <filename>\n`.
pub fn parse_blobs_toc(text: &[u8]) -> std::result::Result<Vec<BlobRef>, String> {
    let mut out = Vec::new();
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let parsed = std::str::from_utf8(line).ok().and_then(|l| {
            let mut it = l.split_whitespace();
            let oid = it.next()?.parse::<u32>().ok()?;
            let filename = it.next()?.to_string();
            it.next().is_none().then_some(BlobRef { oid, filename })
        });
        match parsed {
            Some(b) => out.push(b),
            None => {
                return Err(format!(
                    "line {}: invalid large object TOC line {:?}",
                    i + 1,
                    String::from_utf8_lossy(line)
                ));
            }
        }
    }
    Ok(out)
}

/// A directory archive opened for reading.
#[derive(Debug, Clone)]
pub struct DirectoryReader {
    dir: PathBuf,
    toc: Toc,
}

impl DirectoryReader {
    /// Reads `dir/toc.dat` (or a compressed `toc.dat.gz|.lz4|.zst`, which pg_restore also
    /// accepts). Its format byte must be 3.
    pub fn open(dir: impl AsRef<Path>) -> Result<DirectoryReader> {
        let dir = dir.as_ref().to_path_buf();
        let tocfile = discover(&dir, "toc.dat", ArchiveVersion::V1_16).ok_or_else(|| {
            ArchiveError::malformed(
                Location { file: Some(dir.display().to_string()), ..Location::default() },
                "not a directory archive: no toc.dat",
            )
        })?;
        let loc = Location { file: Some(tocfile.path.display().to_string()), ..Location::default() };
        let f = File::open(&tocfile.path).map_err(|e| ArchiveError::io(loc.clone(), "opening", e))?;
        let dec = compress::decoder(tocfile.kind, BufReader::new(f))
            .map_err(|e| ArchiveError::io(loc.clone(), "opening", e))?;
        let toc = toc::read_toc_counting(&mut Counting::new(dec)).map_err(|e| e.add_location(loc.clone()))?;
        if toc.header.format != ArchiveFormat::Tar {
            return Err(ArchiveError::malformed(loc, "toc.dat has format byte 1 (custom); a directory archive has 3"));
        }
        Ok(DirectoryReader { dir, toc })
    }

    pub fn toc(&self) -> &Toc {
        &self.toc
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    fn entry_file_name(&self, dump_id: DumpId) -> Result<(&str, EntryLabel)> {
        let entry =
            self.toc.entry(dump_id).ok_or_else(|| ArchiveError::usage(format!("no TOC entry has dumpId {dump_id}")))?;
        let name = entry
            .filename()
            .ok_or_else(|| ArchiveError::usage(format!("{} has no data file name in the TOC", entry.label())))?;
        Ok((name, entry.label()))
    }

    /// The data file of an entry (for a BLOBS entry: its blobs TOC file), as pg_restore would
    /// find it.
    pub fn data_file(&self, dump_id: DumpId) -> Result<DataFile> {
        let (name, label) = self.entry_file_name(dump_id)?;
        discover(&self.dir, name, self.toc.header.version)
            .ok_or_else(|| not_found(&self.dir, name, self.toc.header.version, Some(label)))
    }

    /// The decompressed data of a TABLE DATA (or other non-BLOBS) entry.
    pub fn open_data(&self, dump_id: DumpId) -> Result<Box<dyn Read + Send>> {
        let file = self.data_file(dump_id)?;
        let (_, label) = self.entry_file_name(dump_id)?;
        open_decoded(&file, Some(label))
    }

    /// The large objects of a BLOBS entry, from its blobs TOC file, in file order.
    pub fn blobs(&self, dump_id: DumpId) -> Result<Vec<BlobRef>> {
        let file = self.data_file(dump_id)?;
        let (_, label) = self.entry_file_name(dump_id)?;
        let mut text = Vec::new();
        open_decoded(&file, Some(label.clone()))?
            .read_to_end(&mut text)
            .map_err(|e| ArchiveError::io(Location::default(), "reading", e))?;
        parse_blobs_toc(&text).map_err(|msg| {
            ArchiveError::malformed(
                Location { file: Some(file.path.display().to_string()), offset: None, entry: Some(Box::new(label)) },
                msg,
            )
        })
    }

    /// The file of one large object, as pg_restore would find it.
    pub fn blob_file(&self, blob: &BlobRef) -> Result<DataFile> {
        discover(&self.dir, &blob.filename, self.toc.header.version)
            .ok_or_else(|| not_found(&self.dir, &blob.filename, self.toc.header.version, None))
    }

    /// The decompressed bytes of one large object.
    pub fn open_blob(&self, blob: &BlobRef) -> Result<Box<dyn Read + Send>> {
        open_decoded(&self.blob_file(blob)?, None)
    }
}

// ---------------------------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------------------------

/// Suffix of a data file written with `algorithm`.
pub fn suffix(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::None => "",
        Algorithm::Gzip => ".gz",
        Algorithm::Lz4 => ".lz4",
        Algorithm::Zstd => ".zst",
    }
}

/// The file name a directory archive of `version` uses for an entry: `blobs.toc` (≤1.15) or
/// `blobs_<id>.toc` (1.16+) for BLOBS, `<id>.dat` for other entries with data, `""` otherwise.
pub fn toc_filename(entry: &toc::TocEntry, version: ArchiveVersion) -> String {
    if !entry.had_dumper {
        String::new()
    } else if entry.is_blobs() {
        if version >= ArchiveVersion::V1_16 { format!("blobs_{}.toc", entry.dump_id) } else { "blobs.toc".into() }
    } else {
        format!("{}.dat", entry.dump_id)
    }
}

/// Writes a directory archive. Data files can be written in any order and concurrently
/// ([`DirectoryWriter::begin_data`] takes `&self`); `toc.dat` is written last, by
/// [`DirectoryWriter::finish`], after checking that every entry with data has its file.
/// Files are written under a temporary name and renamed when finished, so an unfinished writer
/// never leaves a file that looks complete.
#[derive(Debug)]
pub struct DirectoryWriter {
    dir: PathBuf,
    toc: Toc,
    algorithm: Algorithm,
    level: Level,
}

impl DirectoryWriter {
    /// Creates `dir` (mode 0700; an existing empty directory is accepted, as pg_dump does). The
    /// TOC is normalised: format byte 3, file names as pg_dump writes them ([`toc_filename`]).
    /// Data files are compressed with the header's algorithm (`toc.header.compression`).
    pub fn create(dir: impl AsRef<Path>, mut toc: Toc) -> Result<DirectoryWriter> {
        let dir = dir.as_ref().to_path_buf();
        let loc = Location { file: Some(dir.display().to_string()), ..Location::default() };
        match fs::read_dir(&dir) {
            Ok(mut it) => {
                if it.next().is_some() {
                    return Err(ArchiveError::usage(format!("directory {} exists and is not empty", dir.display())));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::DirBuilder::new()
                    .mode(0o700)
                    .create(&dir)
                    .map_err(|e| ArchiveError::io(loc, "creating the directory", e))?;
            }
            Err(e) => return Err(ArchiveError::io(loc, "reading the directory", e)),
        }
        toc.header.format = ArchiveFormat::Tar;
        let version = toc.header.version;
        for e in &mut toc.entries {
            e.extra = TocExtra::Filename(Some(toc_filename(e, version)));
        }
        // Fail now rather than after writing all data if the TOC cannot be encoded.
        toc::encode_toc(&toc)?;
        let algorithm = toc.header.compression.algorithm();
        Ok(DirectoryWriter { dir, level: Level::for_archive(toc.header.compression), algorithm, toc })
    }

    pub fn set_level(&mut self, level: Level) {
        self.level = level;
    }

    pub fn toc(&self) -> &Toc {
        &self.toc
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    fn check_algorithm(&self, algorithm: Algorithm) -> Result<()> {
        if self.toc.header.version < ArchiveVersion::V1_15 && matches!(algorithm, Algorithm::Lz4 | Algorithm::Zstd) {
            return Err(ArchiveError::usage(format!(
                "archive version {} is read by pg_restore ≤ 15, which cannot read {} files",
                self.toc.header.version,
                algorithm.name()
            )));
        }
        Ok(())
    }

    /// Starts the data file of a TABLE DATA (or other non-BLOBS) entry, compressed with the
    /// header's algorithm.
    pub fn begin_data(&self, dump_id: DumpId) -> Result<FileWriter> {
        self.begin_data_as(dump_id, self.algorithm)
    }

    /// Like [`Self::begin_data`] with another algorithm for this one file (pg_restore finds the
    /// compression of each file from its suffix).
    pub fn begin_data_as(&self, dump_id: DumpId, algorithm: Algorithm) -> Result<FileWriter> {
        self.check_algorithm(algorithm)?;
        let entry = self.data_entry(dump_id)?;
        let name = format!("{}{}", entry.filename().expect("normalised"), suffix(algorithm));
        FileWriter::create(&self.dir, &name, algorithm, self.level, Some(entry.label()))
    }

    fn data_entry(&self, dump_id: DumpId) -> Result<&toc::TocEntry> {
        let entry =
            self.toc.entry(dump_id).ok_or_else(|| ArchiveError::usage(format!("no TOC entry has dumpId {dump_id}")))?;
        if !entry.had_dumper || entry.is_blobs() {
            return Err(ArchiveError::usage(format!(
                "{} has no data file (use begin_blobs for BLOBS entries)",
                entry.label()
            )));
        }
        Ok(entry)
    }

    /// Copies an entry's data file from another directory archive unchanged (keeping its
    /// compression), e.g. for a table no rule touches.
    pub fn copy_raw_data(&self, from: &DirectoryReader, dump_id: DumpId) -> Result<()> {
        let src = from.data_file(dump_id)?;
        let algorithm = match src.kind {
            StreamKind::Raw => Algorithm::None,
            StreamKind::Gzip => Algorithm::Gzip,
            StreamKind::Lz4 => Algorithm::Lz4,
            StreamKind::Zstd => Algorithm::Zstd,
            StreamKind::Zlib => unreachable!("never a file kind"),
        };
        self.check_algorithm(algorithm)?;
        let entry = self.data_entry(dump_id)?;
        // The bytes are already compressed: write them through a Raw writer under the suffixed name.
        let name = format!("{}{}", entry.filename().expect("normalised"), suffix(algorithm));
        let mut w = FileWriter::create(&self.dir, &name, Algorithm::None, self.level, Some(entry.label()))?;
        let loc = Location { file: Some(src.path.display().to_string()), ..Location::default() };
        let mut f = File::open(&src.path).map_err(|e| ArchiveError::io(loc.clone(), "opening", e))?;
        io::copy(&mut f, &mut w).map_err(|e| ArchiveError::io(loc, "copying", e))?;
        w.finish()
    }

    /// Starts the large objects of a BLOBS entry.
    pub fn begin_blobs(&self, dump_id: DumpId) -> Result<BlobsDirWriter> {
        let entry =
            self.toc.entry(dump_id).ok_or_else(|| ArchiveError::usage(format!("no TOC entry has dumpId {dump_id}")))?;
        if !entry.is_blobs() || !entry.had_dumper {
            return Err(ArchiveError::usage(format!("{} is not a BLOBS entry with data", entry.label())));
        }
        Ok(BlobsDirWriter {
            dir: self.dir.clone(),
            tocname: entry.filename().expect("normalised").to_string(),
            algorithm: self.algorithm,
            level: self.level,
            lines: Vec::new(),
            label: entry.label(),
        })
    }

    /// Checks that every entry with data has its file, then writes `toc.dat`.
    pub fn finish(self) -> Result<()> {
        let version = self.toc.header.version;
        let mut missing = Vec::new();
        for e in self.toc.data_entries() {
            let name = e.filename().expect("normalised");
            if discover(&self.dir, name, version).is_none() {
                missing.push(format!("{} ({name})", e.label()));
            }
        }
        if !missing.is_empty() {
            return Err(ArchiveError::usage(format!(
                "no finished data file for {} (pg_restore fails on a missing file; drop the entry from the TOC \
                 or write a file holding just \"\\.\\n\\n\\n\")",
                missing.join(", ")
            )));
        }
        let bytes = toc::encode_toc(&self.toc)?;
        let mut w = FileWriter::create(&self.dir, "toc.dat", Algorithm::None, self.level, None)?;
        w.write_all(&bytes).map_err(|e| ArchiveError::io(Location::default(), "writing toc.dat", e))?;
        w.finish()
    }
}

/// Writes one file of a directory archive (compressed per its suffix) under a temporary name;
/// [`FileWriter::finish`] ends the compressed stream and renames it into place.
pub struct FileWriter {
    enc: Option<FileEncoder<BufWriter<File>>>,
    tmp: PathBuf,
    path: PathBuf,
    label: Option<EntryLabel>,
}

impl FileWriter {
    fn create(
        dir: &Path,
        name: &str,
        algorithm: Algorithm,
        level: Level,
        label: Option<EntryLabel>,
    ) -> Result<FileWriter> {
        let path = dir.join(name);
        let tmp = dir.join(format!(".{name}.partial"));
        let loc = Location { file: Some(path.display().to_string()), offset: None, entry: label.clone().map(Box::new) };
        if path.exists() {
            return Err(ArchiveError::usage(format!("{} was already written", path.display())));
        }
        let f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| ArchiveError::io(loc.clone(), "creating", e))?;
        let enc = FileEncoder::new(algorithm, level, BufWriter::with_capacity(128 * 1024, f));
        Ok(FileWriter { enc: Some(enc), tmp, path, label })
    }

    /// The final path of the file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn loc(&self) -> Location {
        Location { file: Some(self.path.display().to_string()), offset: None, entry: self.label.clone().map(Box::new) }
    }

    /// Ends the compressed stream, flushes, and renames the file into place.
    pub fn finish(mut self) -> Result<()> {
        let loc = self.loc();
        let enc = self.enc.take().expect("finish is called once");
        let buf = enc.finish().map_err(|e| ArchiveError::io(loc.clone(), "finishing", e.into_io()))?;
        let f = buf.into_inner().map_err(|e| ArchiveError::io(loc.clone(), "flushing", e.into_error()))?;
        f.sync_all().map_err(|e| ArchiveError::io(loc.clone(), "syncing", e))?;
        fs::rename(&self.tmp, &self.path).map_err(|e| ArchiveError::io(loc, "renaming into place", e))
    }
}

impl Write for FileWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.enc.as_mut().expect("not finished").write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for FileWriter {
    fn drop(&mut self) {
        if self.enc.is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Writes the large objects of one BLOBS entry: one file each, and the blobs TOC file listing
/// them (written by [`BlobsDirWriter::finish`]).
pub struct BlobsDirWriter {
    dir: PathBuf,
    tocname: String,
    algorithm: Algorithm,
    level: Level,
    lines: Vec<u8>,
    label: EntryLabel,
}

impl BlobsDirWriter {
    /// Starts `blob_<oid>.dat[.suffix]`; write the large object's bytes, then finish it.
    pub fn begin_blob(&mut self, oid: u32) -> Result<FileWriter> {
        let name = format!("blob_{oid}.dat");
        let file = format!("{name}{}", suffix(self.algorithm));
        let w = FileWriter::create(&self.dir, &file, self.algorithm, self.level, Some(self.label.clone()))?;
        self.lines.extend_from_slice(format!("{oid} {name}\n").as_bytes());
        Ok(w)
    }

    /// Writes the blobs TOC file (never compressed).
    pub fn finish(self) -> Result<()> {
        let mut w = FileWriter::create(&self.dir, &self.tocname, Algorithm::None, self.level, Some(self.label))?;
        w.write_all(&self.lines).map_err(|e| ArchiveError::io(Location::default(), "writing the blobs TOC", e))?;
        w.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::super::toc::tests::{entry, header, s};
    use super::super::toc::{ArchiveCompression, ArchiveVersion};
    use super::*;

    /// Reads all of `r`, mapping errors to [`ArchiveError`].
    fn read_all(mut r: impl Read) -> Result<Vec<u8>> {
        let mut v = Vec::new();
        r.read_to_end(&mut v).map_err(ArchiveError::from_io)?;
        Ok(v)
    }

    /// Lists the files of a directory, sorted.
    fn list_files(dir: &Path) -> io::Result<Vec<String>> {
        let mut v: Vec<String> =
            fs::read_dir(dir)?.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        Ok(v)
    }

    #[test]
    fn readers_and_writers_cross_threads() {
        fn send<T: Send>() {}
        fn sync<T: Sync>() {}
        send::<FileWriter>();
        send::<BlobsDirWriter>();
        send::<Box<dyn Read + Send>>();
        sync::<DirectoryReader>();
        sync::<DirectoryWriter>();
        send::<crate::archive::compress::CompressedPiece>();
        sync::<crate::archive::compress::PieceCompressor>();
        send::<crate::archive::custom::CustomReader<File>>();
        send::<crate::archive::custom::CustomWriter<File>>();
        send::<crate::archive::tar::TarReader<File>>();
        send::<crate::archive::tar::TarWriter<File>>();
    }

    fn toc(version: ArchiveVersion, compression: ArchiveCompression) -> Toc {
        let none = TocExtra::Filename(Some(String::new()));
        let mut d1 = entry(20, "TABLE DATA", "t1", true, none.clone());
        d1.copy_stmt = s("COPY public.t1 (a) FROM stdin;\n");
        let d2 = entry(21, "TABLE DATA", "t2", true, none.clone());
        let blobs = entry(30, "BLOBS", "BLOBS", true, none.clone());
        let t = entry(10, "TABLE", "t1", false, none);
        Toc { header: header(version, ArchiveFormat::Tar, compression), entries: vec![t, d1, d2, blobs] }
    }

    #[test]
    fn candidates_follow_pg_restore() {
        let names = |n: &str, v| candidates(n, v).into_iter().map(|(n, _)| n).collect::<Vec<_>>();
        assert_eq!(names("3418.dat", ArchiveVersion::V1_14), ["3418.dat", "3418.dat.gz"]);
        assert_eq!(
            names("3418.dat", ArchiveVersion::V1_16),
            ["3418.dat", "3418.dat.gz", "3418.dat.lz4", "3418.dat.zst"]
        );
        assert_eq!(candidates("x.dat.lz4", ArchiveVersion::V1_16), vec![("x.dat.lz4".to_string(), StreamKind::Lz4)]);
    }

    #[test]
    fn blobs_toc_lines() {
        let v = parse_blobs_toc(b"90001 blob_90001.dat\n3000000000 blob_3000000000.dat\n").unwrap();
        assert_eq!(v[1], BlobRef { oid: 3_000_000_000, filename: "blob_3000000000.dat".into() });
        assert!(parse_blobs_toc(b"x blob.dat\n").unwrap_err().contains("line 1"));
    }

    fn write_sample(dir: &Path, version: ArchiveVersion, compression: ArchiveCompression) -> Result<()> {
        let w = DirectoryWriter::create(dir, toc(version, compression))?;
        let mut f = w.begin_data(20)?;
        f.write_all(b"1\n2\n\\.\n\n\n").unwrap();
        f.finish()?;
        let mut f = w.begin_data_as(21, Algorithm::None)?;
        f.write_all(b"\\.\n\n\n").unwrap();
        f.finish()?;
        let mut b = w.begin_blobs(30)?;
        let mut lo = b.begin_blob(3_000_000_000)?;
        lo.write_all(b"big").unwrap();
        lo.finish()?;
        b.finish()?;
        w.finish()
    }

    #[test]
    fn write_then_read_each_compression() {
        let tmp = tempfile::tempdir().unwrap();
        for (i, c) in [
            ArchiveCompression::None,
            ArchiveCompression::Gzip { level: None },
            ArchiveCompression::Lz4,
            ArchiveCompression::Zstd,
        ]
        .into_iter()
        .enumerate()
        {
            let dir = tmp.path().join(format!("d{i}"));
            write_sample(&dir, ArchiveVersion::V1_16, c).unwrap();
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
            let sfx = suffix(c.algorithm());
            assert_eq!(list_files(&dir).unwrap(), {
                let mut v = vec![
                    format!("20.dat{sfx}"),
                    "21.dat".to_string(),
                    format!("blob_3000000000.dat{sfx}"),
                    "blobs_30.toc".into(),
                    "toc.dat".into(),
                ];
                v.sort();
                v
            });
            let r = DirectoryReader::open(&dir).unwrap();
            assert_eq!(r.toc().entry(30).unwrap().filename(), Some("blobs_30.toc"));
            assert_eq!(read_all(r.open_data(20).unwrap()).unwrap(), b"1\n2\n\\.\n\n\n");
            assert_eq!(read_all(r.open_data(21).unwrap()).unwrap(), b"\\.\n\n\n");
            let blobs = r.blobs(30).unwrap();
            assert_eq!(blobs.len(), 1);
            assert_eq!(read_all(r.open_blob(&blobs[0]).unwrap()).unwrap(), b"big");
        }
    }

    #[test]
    fn old_versions_use_blobs_toc_and_refuse_lz4() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("d");
        write_sample(&dir, ArchiveVersion::V1_14, ArchiveCompression::Gzip { level: Some(-1) }).unwrap();
        assert!(dir.join("blobs.toc").is_file());
        let w = DirectoryWriter::create(tmp.path().join("e"), toc(ArchiveVersion::V1_14, ArchiveCompression::None))
            .unwrap();
        assert!(w.begin_data_as(20, Algorithm::Lz4).is_err());
        assert!(
            DirectoryWriter::create(tmp.path().join("f"), toc(ArchiveVersion::V1_14, ArchiveCompression::Zstd))
                .is_err()
        );
    }

    #[test]
    fn missing_files_are_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("d");
        let w = DirectoryWriter::create(&dir, toc(ArchiveVersion::V1_16, ArchiveCompression::None)).unwrap();
        let mut f = w.begin_data(20).unwrap();
        f.write_all(b"x").unwrap();
        drop(f); // unfinished: no file appears
        let err = w.finish().unwrap_err().to_string();
        assert!(err.contains("dumpId 20") && err.contains("dumpId 21") && err.contains("dumpId 30"), "{err}");
        assert!(list_files(&dir).unwrap().is_empty());
        assert!(DirectoryWriter::create(&dir, toc(ArchiveVersion::V1_16, ArchiveCompression::None)).is_ok());
        fs::write(dir.join("junk"), b"").unwrap();
        assert!(DirectoryWriter::create(&dir, toc(ArchiveVersion::V1_16, ArchiveCompression::None)).is_err());
    }

    #[test]
    fn plain_file_wins_and_missing_file_names_candidates() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("d");
        write_sample(&dir, ArchiveVersion::V1_16, ArchiveCompression::Gzip { level: None }).unwrap();
        fs::write(dir.join("20.dat"), b"plain wins\n").unwrap();
        let r = DirectoryReader::open(&dir).unwrap();
        assert_eq!(read_all(r.open_data(20).unwrap()).unwrap(), b"plain wins\n");
        fs::remove_file(dir.join("21.dat")).unwrap();
        let err = r.open_data(21).err().unwrap().to_string();
        assert!(err.contains("21.dat.zst") && err.contains("dumpId 21"), "{err}");
    }

    #[test]
    fn corrupt_file_error_names_file_and_entry() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("d");
        write_sample(&dir, ArchiveVersion::V1_16, ArchiveCompression::Gzip { level: None }).unwrap();
        let gz = fs::read(dir.join("20.dat.gz")).unwrap();
        fs::write(dir.join("20.dat.gz"), &gz[..gz.len() - 6]).unwrap();
        let r = DirectoryReader::open(&dir).unwrap();
        let err = read_all(r.open_data(20).unwrap()).unwrap_err().to_string();
        assert!(err.contains("20.dat.gz") && err.contains("dumpId 20"), "{err}");
    }
}
