//! Where the subset phases read a table's rows from, one table at a time.
//!
//! Plain dumps: the byte range of each COPY block, remembered by the prescan. A plain file is
//! read by seeking; input that cannot seek (standard input, compressed files) is spooled once,
//! while the prescan reads it, into a [`Spool`]: zstd frames of [`FRAME`] bytes each in an
//! anonymous file in `--temp-dir` (mode 0600, gone on every exit), so that any range can be read
//! back by decompressing only the frames it covers, and the output pass reads the spool instead
//! of the input. Archives: each table's data entry, found through the table of contents (custom
//! archives by their data offsets, tar archives by their members, directories by file), read
//! from the archive file itself. This module reads; it never decides or writes output.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::plan::RowSource;
use crate::archive::DumpId;
use crate::copy::block::is_escaped;
use crate::error::{Error, Position, Result};

/// Raw bytes per spool frame.
pub const FRAME: usize = 4 << 20;

/// A seekable, compressed copy of a stream.
#[derive(Debug)]
pub struct Spool {
    file: File,
    /// Per frame: raw start offset, file offset, compressed length.
    frames: Vec<(u64, u64, u64)>,
    len: u64,
    pending: Vec<u8>,
    written: u64,
}

impl Spool {
    pub fn new() -> io::Result<Spool> {
        Ok(Spool { file: crate::cleanup::spool_file()?, frames: Vec::new(), len: 0, pending: Vec::new(), written: 0 })
    }

    fn flush_frame(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let packed = zstd::bulk::compress(&self.pending, 1)?;
        self.file.write_all(&packed)?;
        self.frames.push((self.len, self.written, packed.len() as u64));
        self.len += self.pending.len() as u64;
        self.written += packed.len() as u64;
        self.pending.clear();
        Ok(())
    }

    /// Ends writing.
    pub fn finish(&mut self) -> io::Result<()> {
        self.flush_frame()
    }

    /// Bytes spooled.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing was spooled.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Reads the raw bytes `start..end`.
    pub fn range(&self, start: u64, end: u64) -> SpoolRange<'_> {
        SpoolRange { spool: self, pos: start, end, frame: Vec::new(), frame_start: 0 }
    }
}

impl Write for Spool {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = FRAME - self.pending.len();
        let n = buf.len().min(room);
        self.pending.extend_from_slice(&buf[..n]);
        if self.pending.len() == FRAME {
            self.flush_frame()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A range of a [`Spool`], decompressed frame by frame.
pub struct SpoolRange<'s> {
    spool: &'s Spool,
    pos: u64,
    end: u64,
    frame: Vec<u8>,
    frame_start: u64,
}

impl Read for SpoolRange<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.end {
            return Ok(0);
        }
        let in_frame = self.pos >= self.frame_start && self.pos < self.frame_start + self.frame.len() as u64;
        if !in_frame {
            let i = self.spool.frames.partition_point(|f| f.0 <= self.pos).saturating_sub(1);
            let Some(&(raw, at, len)) = self.spool.frames.get(i) else { return Ok(0) };
            let mut packed = vec![0u8; len as usize];
            std::os::unix::fs::FileExt::read_exact_at(&self.spool.file, &mut packed, at)?;
            self.frame = zstd::bulk::decompress(&packed, FRAME)?;
            self.frame_start = raw;
        }
        let from = (self.pos - self.frame_start) as usize;
        let avail = (self.frame.len() - from).min((self.end - self.pos) as usize).min(buf.len());
        buf[..avail].copy_from_slice(&self.frame[from..from + avail]);
        self.pos += avail as u64;
        Ok(avail)
    }
}

/// Reads through `inner` and writes everything read into a spool.
pub struct Tee<'s, R> {
    pub inner: R,
    pub spool: &'s mut Spool,
}

impl<R: Read> Read for Tee<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.spool.write_all(&buf[..n])?;
        Ok(n)
    }
}

/// Where one table's COPY data is in a plain dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopySpan {
    pub copy: crate::sql::ddl::CopyStmt,
    /// Absolute offsets of the first row and of the `\.` line.
    pub start: u64,
    pub end: u64,
    /// The line of the first row.
    pub line: u64,
}

/// A plain dump's bytes: a file that seeks, or a spool.
pub enum PlainBytes<'a> {
    File(PathBuf),
    Spool(&'a Spool),
}

/// Tables of a plain dump, by their COPY spans.
pub struct PlainSource<'a> {
    pub bytes: PlainBytes<'a>,
    pub spans: Vec<CopySpan>,
    pub max_row_bytes: usize,
}

impl RowSource for PlainSource<'_> {
    fn scan(&mut self, node: usize, each: &mut super::plan::EachRow<'_>) -> Result<()> {
        let span = &self.spans[node];
        let table = span.copy.table.to_string();
        let len = span.end - span.start;
        match &self.bytes {
            PlainBytes::File(path) => {
                let mut f = File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
                f.seek(SeekFrom::Start(span.start)).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
                scan_rows(f.take(len), &table, span.line, span.start, self.max_row_bytes, each)
            }
            PlainBytes::Spool(s) => {
                scan_rows(s.range(span.start, span.end), &table, span.line, span.start, self.max_row_bytes, each)
            }
        }
    }
}

/// Where an archive's data entries are read from.
pub enum ArchiveFile {
    Directory(PathBuf),
    /// A custom archive: the length of its header and TOC, and each data block's offset.
    Custom {
        path: PathBuf,
        toc_len: u64,
        blocks: Vec<(DumpId, u64)>,
    },
    /// A tar archive: the length up to the end of `toc.dat`, and each data member's offset.
    Tar {
        path: PathBuf,
        toc_len: u64,
        members: Vec<(DumpId, u64)>,
    },
}

impl ArchiveFile {
    /// Indexes the archive at `path` (one pass over its headers for custom archives without data
    /// offsets and for tar archives; directories need none).
    pub fn index(path: &Path, format: crate::output::DumpFormat) -> Result<ArchiveFile> {
        use crate::archive::custom::CustomReader;
        use crate::archive::tar::{MemberKind, TarReader};
        use crate::output::DumpFormat;
        let open = || File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e));
        match format {
            DumpFormat::Custom => {
                let mut reader = CustomReader::new(open()?)?;
                let toc_len = reader.position();
                let mut blocks: Vec<(DumpId, u64)> = reader
                    .toc()
                    .entries
                    .iter()
                    .filter_map(|e| {
                        let o = e.offset()?;
                        (o.state == crate::archive::toc::OffsetState::Set).then_some((e.dump_id, o.pos))
                    })
                    .collect();
                let wanted = reader.toc().entries.iter().filter(|e| e.is_table_data() && e.had_dumper).count();
                if blocks.len() < wanted {
                    blocks.clear();
                    while let Some(b) = reader.next_block()? {
                        blocks.push((b.dump_id, b.offset));
                    }
                }
                Ok(ArchiveFile::Custom { path: path.to_path_buf(), toc_len, blocks })
            }
            DumpFormat::Tar => {
                let mut reader = TarReader::new(open()?)?;
                let toc_len = reader.position();
                let mut members = Vec::new();
                while let Some(m) = reader.next_member()? {
                    if let MemberKind::Data { dump_id } = m.kind {
                        members.push((dump_id, m.offset));
                    }
                }
                Ok(ArchiveFile::Tar { path: path.to_path_buf(), toc_len, members })
            }
            _ => Ok(ArchiveFile::Directory(path.to_path_buf())),
        }
    }
}

/// Tables of an archive, by their data entries.
pub struct ArchiveSource {
    pub file: ArchiveFile,
    /// Per node: the data entry and its label.
    pub entries: Vec<(DumpId, String)>,
    pub max_row_bytes: usize,
}

impl RowSource for ArchiveSource {
    fn scan(&mut self, node: usize, each: &mut super::plan::EachRow<'_>) -> Result<()> {
        use crate::archive::custom::CustomReader;
        use crate::archive::tar::TarReader;
        let (dump_id, label) = &self.entries[node];
        let max = self.max_row_bytes;
        // The archive's header and TOC, then its bytes from `offset`: a reader that sees one
        // entry's data as if it came right after the TOC.
        let joined = |path: &Path, toc_len: u64, offset: u64| -> Result<Box<dyn Read + Send>> {
            let open = || File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e));
            let mut rest = open()?;
            rest.seek(SeekFrom::Start(offset)).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
            Ok(Box::new(open()?.take(toc_len).chain(rest)))
        };
        let missing = || Error::Usage(format!("{label}: no data for this entry in the archive"));
        match &self.file {
            ArchiveFile::Directory(path) => {
                let reader = crate::archive::directory::DirectoryReader::open(path)?;
                scan_rows(reader.open_data(*dump_id)?, label, 1, 0, max, each)
            }
            ArchiveFile::Custom { path, toc_len, blocks } => {
                let offset = blocks.iter().find(|(d, _)| d == dump_id).ok_or_else(missing)?.1;
                let mut reader = CustomReader::new(joined(path, *toc_len, offset)?)?;
                match reader.next_block()? {
                    Some(b) if b.dump_id == *dump_id => scan_rows(reader.data()?, label, 1, 0, max, each),
                    _ => Err(missing()),
                }
            }
            ArchiveFile::Tar { path, toc_len, members } => {
                let offset = members.iter().find(|(d, _)| d == dump_id).ok_or_else(missing)?.1;
                let mut reader = TarReader::new(joined(path, *toc_len, offset)?)?;
                match reader.next_member()? {
                    Some(m) if m.kind == crate::archive::tar::MemberKind::Data { dump_id: *dump_id } => {
                        scan_rows(reader.member_data()?, label, 1, 0, max, each)
                    }
                    _ => Err(missing()),
                }
            }
        }
    }
}

/// Reads COPY rows from `data` (up to a `\.` line or the end), calling `each(index, row)`.
/// Positions in errors count from `line` and `base`.
pub fn scan_rows(
    data: impl Read,
    table: &str,
    line: u64,
    base: u64,
    max_row_bytes: usize,
    each: &mut super::plan::EachRow<'_>,
) -> Result<()> {
    let mut r = BufReader::with_capacity(1 << 20, data);
    let mut buf = Vec::new();
    let (mut offset, mut line, mut index) = (base, line, 0u64);
    let at = |line: u64, byte: u64| Position { line, byte, table: Some(table.to_string()) };
    loop {
        buf.clear();
        loop {
            let n = r
                .by_ref()
                .take(max_row_bytes as u64 + 2)
                .read_until(b'\n', &mut buf)
                .map_err(|e| Error::io(format!("reading the data of {table}"), e))?;
            if n == 0 || buf.len() > max_row_bytes + 1 {
                break;
            }
            if buf.ends_with(b"\n") && is_escaped(&buf, buf.len() - 1) {
                continue;
            }
            break;
        }
        if buf.is_empty() {
            return Ok(());
        }
        if buf.len() > max_row_bytes + 1 {
            return Err(Error::input(
                at(line, offset),
                format!("a row is longer than --max-row-bytes ({max_row_bytes} bytes)"),
            ));
        }
        if !buf.ends_with(b"\n") {
            return Err(Error::input(at(line, offset), "row without a line ending: the data is truncated"));
        }
        let mut row = &buf[..buf.len() - 1];
        if row.ends_with(b"\r") && !is_escaped(row, row.len() - 1) {
            row = &row[..row.len() - 1];
        }
        if row == b"\\." {
            return Ok(());
        }
        each(index, row).map_err(|m| Error::input(at(line, offset), m))?;
        index += 1;
        offset += buf.len() as u64;
        line += memchr::memchr_iter(b'\n', &buf).count() as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spool_ranges_cross_frames() {
        let data: Vec<u8> = (0..(FRAME * 2 + 100)).map(|i| (i % 251) as u8).collect();
        let mut spool = Spool::new().unwrap();
        let mut tee = Tee { inner: &data[..], spool: &mut spool };
        io::copy(&mut tee, &mut io::sink()).unwrap();
        spool.finish().unwrap();
        assert_eq!(spool.len(), data.len() as u64);
        for (a, b) in [(0, 10), (FRAME - 3, FRAME + 5), (10, data.len()), (FRAME * 2, data.len())] {
            let mut got = Vec::new();
            spool.range(a as u64, b as u64).read_to_end(&mut got).unwrap();
            assert_eq!(got, &data[a..b], "{a}..{b}");
        }
    }

    #[test]
    fn rows_end_at_the_marker_and_keep_escaped_newlines() {
        let data = b"1\ta\n2\tb\\\nc\r\n\\.\n\nignored\n";
        let mut rows = Vec::new();
        scan_rows(&data[..], "t", 1, 0, 100, &mut |i, r| {
            rows.push((i, r.to_vec()));
            Ok(())
        })
        .unwrap();
        assert_eq!(rows, vec![(0, b"1\ta".to_vec()), (1, b"2\tb\\\nc".to_vec())]);
        let err = scan_rows(&b"1\n2"[..], "public.t", 7, 100, 100, &mut |_, _| Ok(())).unwrap_err().to_string();
        assert_eq!(err, "table public.t, line 8, byte offset 102: row without a line ending: the data is truncated");
        let err = scan_rows(&b"1\n22\n"[..], "public.t", 1, 0, 100, &mut |_, r| {
            if r == b"22" { Err("bad".into()) } else { Ok(()) }
        })
        .unwrap_err()
        .to_string();
        assert_eq!(err, "table public.t, line 2, byte offset 2: bad");
    }
}
