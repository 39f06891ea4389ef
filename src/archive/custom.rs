//! Custom format (`pg_dump -Fc`, formats doc §3): a sequential reader that needs no `Seek` (it
//! works on stdin) and a writer that streams, with an optional pass to record block offsets when
//! the output is seekable.
//!
//! Data area layout after the TOC, blocks in TOC order:
//! ```text
//! TABLE DATA: 0x01 | int dumpId | { int len (>0) | len bytes }* | int 0
//! BLOBS:      0x03 | int dumpId | { int loOid | { int len | bytes }* | int 0 }* | int 0
//! ```
//! Chunk bytes are one compressed stream per table (or per large object): zlib for gzip, an LZ4
//! frame, zstd, or raw bytes, cut at arbitrary points.
//!
//! ```no_run
//! # use scrub::archive::custom::{CustomReader, CustomWriter, BlockKind};
//! # fn main() -> scrub::archive::Result<()> {
//! let mut reader = CustomReader::new(std::io::stdin().lock())?;
//! let mut writer = CustomWriter::new(std::io::stdout().lock(), reader.toc().clone())?;
//! while let Some(block) = reader.next_block()? {
//!     match block.kind {
//!         BlockKind::Data => {
//!             let mut out = writer.begin_data_block(block.dump_id)?;
//!             reader.copy_data_to(&mut out)?; // decompressed COPY text; rewrite it here
//!             out.finish()?;
//!         }
//!         BlockKind::Blobs => reader.copy_raw_block(&mut writer)?, // unchanged
//!     }
//! }
//! writer.finish()?;
//! # Ok(()) }
//! ```

use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};

use super::compress::{
    self, CompressedPiece, DEFLATE_FINAL_EMPTY_BLOCK, Encoder, Level, StreamKind, adler32_combine, zlib_header,
};
use super::error::{ArchiveError, EntryLabel, Location, Result};
use super::toc::{self, Algorithm, ArchiveFormat, DataOffset, DumpId, OffsetState, Toc, TocExtra};
use super::wire::{self, Counting, CountingWriter};

const BLK_DATA: u8 = 1;
const BLK_BLOBS: u8 = 3;

/// Largest chunk the writer emits. pg_restore accepts any chunking (formats doc §3.4). Larger
/// than the output buffer, so whole chunks of uncompressed data go to the file without being
/// copied into it.
const MAX_CHUNK: usize = 256 * 1024;

/// What a data block holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockKind {
    /// COPY text (or INSERT statements) of one TABLE DATA entry, as one compressed stream.
    Data,
    /// Large objects of one BLOBS entry, each its own compressed stream.
    Blobs,
}

/// The header of a data block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockHeader {
    pub kind: BlockKind,
    pub dump_id: DumpId,
    /// Byte position of the block's type byte from the start of the archive.
    pub offset: u64,
}

// ---------------------------------------------------------------------------------------------
// Reader
// ---------------------------------------------------------------------------------------------

/// Where the reader is inside a `{ int len | bytes }* int 0` chunk stream.
#[derive(Debug, Default)]
struct ChunkState {
    /// Bytes left in the current chunk.
    remaining: u64,
    /// The terminating `int 0` has been read.
    ended: bool,
    /// A reader was handed out for this stream (it cannot be handed out twice).
    started: bool,
}

enum State {
    BetweenBlocks,
    Data { label: EntryLabel, chunks: ChunkState },
    Blobs { label: EntryLabel, blob: Option<(u32, ChunkState)>, list_done: bool, touched: bool },
    Finished,
}

/// Reads a custom archive front to back from any `Read`: header and TOC at construction, then
/// the data blocks in file order with [`CustomReader::next_block`].
pub struct CustomReader<R: Read> {
    src: Counting<BufReader<R>>,
    toc: Toc,
    state: State,
    /// Per TOC entry: a block was seen.
    seen: Vec<bool>,
    kind: StreamKind,
}

impl<R: Read> CustomReader<R> {
    /// Reads the header and TOC. The input must start at the magic `PGDMP`.
    pub fn new(input: R) -> Result<CustomReader<R>> {
        let mut src = Counting::new(BufReader::with_capacity(128 * 1024, input));
        let toc = toc::read_toc_counting(&mut src)?;
        if toc.header.format != ArchiveFormat::Custom {
            return Err(ArchiveError::malformed(
                Location::at(10),
                "format byte 3: this is the toc.dat of a tar or directory archive, not a custom archive",
            ));
        }
        let kind = StreamKind::for_block(toc.header.compression.algorithm());
        let seen = vec![false; toc.entries.len()];
        Ok(CustomReader { src, toc, state: State::BetweenBlocks, seen, kind })
    }

    pub fn toc(&self) -> &Toc {
        &self.toc
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> u64 {
        self.src.pos()
    }

    /// Moves to the next data block, skipping whatever of the current one was not read. Returns
    /// `None` at the end of the archive; it is an error if the archive ends before a block of
    /// every entry that has data (`hadDumper` and an offset other than NO_DATA).
    pub fn next_block(&mut self) -> Result<Option<BlockHeader>> {
        self.skip_current()?;
        if matches!(self.state, State::Finished) {
            return Ok(None);
        }
        let offset = self.src.pos();
        let Some(kind_byte) = wire::read_byte_or_eof(&mut self.src, "a block header")? else {
            self.state = State::Finished;
            self.check_all_blocks_seen(offset)?;
            return Ok(None);
        };
        let kind = match kind_byte {
            BLK_DATA => BlockKind::Data,
            BLK_BLOBS => BlockKind::Blobs,
            b => {
                return Err(ArchiveError::malformed(
                    Location::at(offset),
                    format!("unknown data block type {b} (expected 1 for table data or 3 for large objects)"),
                ));
            }
        };
        let dump_id = wire::read_i32(&mut self.src, self.toc.header.int_size, "the dumpId of a block header")?;
        let label = self.toc.label(dump_id);
        if let Some(i) = self.toc.index_of(dump_id) {
            self.seen[i] = true;
        }
        self.state = match kind {
            BlockKind::Data => State::Data { label, chunks: ChunkState::default() },
            BlockKind::Blobs => State::Blobs { label, blob: None, list_done: false, touched: false },
        };
        Ok(Some(BlockHeader { kind, dump_id, offset }))
    }

    fn check_all_blocks_seen(&self, offset: u64) -> Result<()> {
        let missing: Vec<_> = self
            .toc
            .entries
            .iter()
            .zip(&self.seen)
            .filter(|(e, seen)| !**seen && e.had_dumper && e.offset().is_none_or(|o| o.state != OffsetState::NoData))
            .map(|(e, _)| e.label().to_string())
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(ArchiveError::Truncated {
            at: Location::at(offset),
            what: format!(
                "the data area: no data block for {} entr{} with data: {}",
                missing.len(),
                if missing.len() == 1 { "y" } else { "ies" },
                missing.join(", ")
            ),
        })
    }

    fn skip_current(&mut self) -> Result<()> {
        let is = self.toc.header.int_size;
        match &mut self.state {
            State::Data { label, chunks } => {
                skip_chunks(&mut self.src, chunks, is).map_err(|e| e.add_location(entry_loc(label)))?;
            }
            State::Blobs { label, blob, list_done, touched } => {
                *touched = true;
                let res = (|| {
                    if let Some((_, chunks)) = blob {
                        skip_chunks(&mut self.src, chunks, is)?;
                    }
                    while !*list_done {
                        let oid = wire::read_int(&mut self.src, is, "a large object OID")?;
                        if oid == 0 {
                            *list_done = true;
                        } else {
                            skip_chunks(&mut self.src, &mut ChunkState::default(), is)?;
                        }
                    }
                    Ok(())
                })();
                res.map_err(|e: ArchiveError| e.add_location(entry_loc(label)))?;
            }
            State::BetweenBlocks | State::Finished => {}
        }
        if !matches!(self.state, State::Finished) {
            self.state = State::BetweenBlocks;
        }
        Ok(())
    }

    /// In a BLOBS block: moves to the next large object (skipping the rest of the current one)
    /// and returns its OID, or `None` after the last one. Read its bytes with [`Self::data`].
    pub fn next_blob(&mut self) -> Result<Option<u32>> {
        let is = self.toc.header.int_size;
        let State::Blobs { label, blob, list_done, touched } = &mut self.state else {
            return Err(ArchiveError::usage("next_blob: the current block is not a BLOBS block"));
        };
        *touched = true;
        let res = (|| {
            if let Some((_, chunks)) = blob.take() {
                let mut chunks = chunks;
                skip_chunks(&mut self.src, &mut chunks, is)?;
            }
            if *list_done {
                return Ok(None);
            }
            let oid = wire::read_int(&mut self.src, is, "a large object OID")?;
            if oid == 0 {
                *list_done = true;
                return Ok(None);
            }
            let oid = wire::int_to_oid(oid);
            *blob = Some((oid, ChunkState::default()));
            Ok(Some(oid))
        })();
        res.map_err(|e: ArchiveError| e.add_location(entry_loc(label)))
    }

    /// A reader of the decompressed bytes of the current TABLE DATA block, or of the current
    /// large object in a BLOBS block. Can be called once per block or large object.
    pub fn data(&mut self) -> Result<DataReader<'_>> {
        let is = self.toc.header.int_size;
        let kind = self.kind;
        let (label, chunks) = match &mut self.state {
            State::Data { label, chunks } => (label, chunks),
            State::Blobs { label, blob: Some((_, chunks)), .. } => (label, chunks),
            State::Blobs { .. } => return Err(ArchiveError::usage("data: call next_blob first in a BLOBS block")),
            _ => return Err(ArchiveError::usage("data: there is no current data block (call next_block)")),
        };
        if chunks.started {
            return Err(ArchiveError::usage(format!("data: the data of {label} was already read")));
        }
        chunks.started = true;
        let owned = label.clone();
        let stream = ChunkStream { src: &mut self.src, st: chunks, int_size: is, label };
        let inner = compress::decoder(kind, stream)
            .map_err(|e| ArchiveError::io(entry_loc(&owned), "starting a decoder", e))?;
        Ok(DataReader { inner: Box::new(inner), label: owned })
    }

    /// Copies the decompressed bytes of the current block or large object to `out`.
    pub fn copy_data_to<W: Write + ?Sized>(&mut self, out: &mut W) -> Result<u64> {
        let mut r = self.data()?;
        let label = r.label.clone();
        io::copy(&mut r, out).map_err(|e| ArchiveError::io(entry_loc(&label), "copying block data", e))
    }

    /// Copies the current block to `writer` unchanged: the chunks as stored, without
    /// decompressing. The block must not have been read from yet, and both archives must use
    /// the same compression algorithm.
    pub fn copy_raw_block<W: Write>(&mut self, writer: &mut CustomWriter<W>) -> Result<()> {
        let is = self.toc.header.int_size;
        let (kind, label) = match &self.state {
            State::Data { label, chunks } if !chunks.started && chunks.remaining == 0 => {
                (BlockKind::Data, label.clone())
            }
            State::Blobs { label, touched: false, .. } => (BlockKind::Blobs, label.clone()),
            _ => return Err(ArchiveError::usage("copy_raw_block: no current block, or it was already (partly) read")),
        };
        if writer.kind != self.kind {
            return Err(ArchiveError::usage(format!(
                "copy_raw_block: {label} is {} but the output archive is {}; decompress and recompress instead",
                self.kind.name(),
                writer.kind.name()
            )));
        }
        writer.start_block(kind, label.dump_id)?;
        let res = (|| {
            match kind {
                BlockKind::Data => copy_chunks(&mut self.src, is, writer)?,
                BlockKind::Blobs => loop {
                    let oid = wire::read_int(&mut self.src, is, "a large object OID")?;
                    writer.put_int(oid)?;
                    if oid == 0 {
                        break;
                    }
                    copy_chunks(&mut self.src, is, writer)?;
                },
            }
            Ok(())
        })();
        res.map_err(|e: ArchiveError| e.add_location(entry_loc(&label)))?;
        writer.open = None;
        match &mut self.state {
            State::Data { chunks, .. } => {
                chunks.ended = true;
                chunks.started = true;
            }
            State::Blobs { list_done, touched, .. } => {
                *list_done = true;
                *touched = true;
            }
            _ => {}
        }
        Ok(())
    }

    /// Gives back the underlying reader (buffered data is lost).
    pub fn into_inner(self) -> R {
        self.src.into_inner().into_inner()
    }
}

fn entry_loc(label: &EntryLabel) -> Location {
    Location { file: None, offset: None, entry: Some(Box::new(label.clone())) }
}

/// Reads the next chunk length; `Ok(false)` at the end marker.
fn next_chunk<R: Read>(src: &mut Counting<R>, st: &mut ChunkState, int_size: u8) -> Result<bool> {
    let at = src.pos();
    let len = wire::read_int(src, int_size, "a data chunk length")?;
    if len == 0 {
        st.ended = true;
        return Ok(false);
    }
    if len < 0 {
        return Err(ArchiveError::malformed(Location::at(at), format!("negative data chunk length {len}")));
    }
    st.remaining = len as u64;
    Ok(true)
}

fn skip_chunks<R: Read>(src: &mut Counting<R>, st: &mut ChunkState, int_size: u8) -> Result<()> {
    st.started = true;
    loop {
        if st.remaining > 0 {
            let at = src.pos();
            let want = st.remaining;
            let got = io::copy(&mut src.by_ref().take(want), &mut io::sink())
                .map_err(|e| ArchiveError::io(Location::at(src.pos()), "skipping block data", e))?;
            st.remaining -= got;
            if got < want {
                return Err(ArchiveError::Truncated {
                    at: Location::at(at),
                    what: format!("a data chunk ({} of {want} bytes missing)", want - got),
                });
            }
        }
        if st.ended || !next_chunk(src, st, int_size)? {
            return Ok(());
        }
    }
}

/// Copies one `{ int len | bytes }* int 0` stream verbatim.
fn copy_chunks<R: Read, W: Write>(src: &mut Counting<R>, int_size: u8, w: &mut CustomWriter<W>) -> Result<()> {
    let mut st = ChunkState::default();
    while next_chunk(src, &mut st, int_size)? {
        let at = src.pos();
        let want = st.remaining;
        w.put_int(want as i64)?;
        let got = io::copy(&mut src.by_ref().take(want), &mut w.out)
            .map_err(|e| ArchiveError::io(Location::at(src.pos()), "copying a raw data chunk", e))?;
        if got < want {
            return Err(ArchiveError::Truncated {
                at: Location::at(at),
                what: format!("a data chunk ({} of {want} bytes missing)", want - got),
            });
        }
    }
    w.put_int(0)
}

/// The chunk payloads of one stream, as a `BufRead` (the input of a decoder).
struct ChunkStream<'a, R> {
    src: &'a mut Counting<BufReader<R>>,
    st: &'a mut ChunkState,
    int_size: u8,
    label: &'a EntryLabel,
}

impl<R: Read> ChunkStream<'_, R> {
    fn err(&self, e: ArchiveError) -> io::Error {
        e.add_location(entry_loc(self.label)).into_io()
    }
}

impl<R: Read> Read for ChunkStream<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(buf.len());
        buf[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for ChunkStream<'_, R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.st.remaining == 0 {
            if self.st.ended {
                return Ok(&[]);
            }
            if let Err(e) = next_chunk(self.src, self.st, self.int_size) {
                return Err(self.err(e));
            }
        }
        let remaining = self.st.remaining;
        let at = self.src.pos();
        let empty = self.src.fill_buf()?.is_empty();
        if empty {
            let e = ArchiveError::Truncated {
                at: Location::at(at),
                what: format!("the data of entry {} ({remaining} bytes of a chunk missing)", self.label),
            };
            return Err(e.into_io());
        }
        let buf = self.src.fill_buf()?;
        let n = buf.len().min(remaining.min(usize::MAX as u64) as usize);
        Ok(&buf[..n])
    }

    fn consume(&mut self, amt: usize) {
        self.src.consume(amt);
        self.st.remaining -= amt as u64;
    }
}

/// The decompressed bytes of one data block or large object. Errors are `io::Error`s wrapping
/// an [`ArchiveError`] that names the entry ([`ArchiveError::from_io`] recovers it).
pub struct DataReader<'a> {
    inner: Box<dyn Read + 'a>,
    label: EntryLabel,
}

impl DataReader<'_> {
    /// The entry whose data this is.
    pub fn entry(&self) -> &EntryLabel {
        &self.label
    }
}

impl Read for DataReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| ArchiveError::from_io(e).add_location(entry_loc(&self.label)).into_io())
    }
}

// ---------------------------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------------------------

/// Writes a custom archive: header and TOC first (data offsets NOT_SET for entries with data,
/// NO_DATA for the others), then data blocks in TOC order, each compressed with the header's
/// algorithm. [`CustomWriter::finalize_offsets`] records the block positions in the TOC when the
/// output is seekable; without it the archive is what `pg_dump -Fc | cat > file` produces, which
/// pg_restore reads fine (also with `-j`).
pub struct CustomWriter<W: Write> {
    out: CountingWriter<BufWriter<W>>,
    toc: Toc,
    toc_len: u64,
    kind: StreamKind,
    algorithm: Algorithm,
    level: Level,
    /// Per TOC entry: position of its block.
    blocks: Vec<Option<u64>>,
    last_index: Option<usize>,
    /// The block being written.
    open: Option<DumpId>,
    /// A data stream (table data or one large object) is being written.
    stream_open: bool,
}

impl<W: Write> CustomWriter<W> {
    /// Writes the header and TOC of `toc` as a custom archive. The TOC is normalised: the format
    /// byte becomes 1 (custom) and every entry gets a data offset, NOT_SET if it has data
    /// (`had_dumper`) and NO_DATA otherwise. Everything else is written as given.
    pub fn new(out: W, mut toc: Toc) -> Result<CustomWriter<W>> {
        toc.header.format = ArchiveFormat::Custom;
        for e in &mut toc.entries {
            let state = if e.had_dumper { OffsetState::NotSet } else { OffsetState::NoData };
            e.extra = TocExtra::Offset(DataOffset { state, pos: 0 });
        }
        let bytes = toc::encode_toc(&toc)?;
        let mut out = CountingWriter::new(BufWriter::with_capacity(128 * 1024, out));
        out.write_all(&bytes).map_err(|e| ArchiveError::io(Location::at(0), "writing the header and TOC", e))?;
        let algorithm = toc.header.compression.algorithm();
        Ok(CustomWriter {
            out,
            toc_len: bytes.len() as u64,
            kind: StreamKind::for_block(algorithm),
            algorithm,
            level: Level::for_archive(toc.header.compression),
            blocks: vec![None; toc.entries.len()],
            last_index: None,
            open: None,
            stream_open: false,
            toc,
        })
    }

    /// Sets the compression levels used from now on (the header does not record them).
    pub fn set_level(&mut self, level: Level) {
        self.level = level;
    }

    /// The TOC as written (normalised, offsets as currently known).
    pub fn toc(&self) -> &Toc {
        &self.toc
    }

    /// Bytes written so far.
    pub fn position(&self) -> u64 {
        self.out.pos()
    }

    fn check_idle(&self, what: &str) -> Result<()> {
        if self.stream_open {
            return Err(ArchiveError::usage(format!("{what}: the previous data stream was not finished")));
        }
        if let Some(id) = self.open {
            return Err(ArchiveError::usage(format!("{what}: the block of {} was not finished", self.toc.label(id))));
        }
        Ok(())
    }

    /// Checks order and writes a block header.
    fn start_block(&mut self, kind: BlockKind, dump_id: DumpId) -> Result<()> {
        self.check_idle("begin block")?;
        let Some(index) = self.toc.index_of(dump_id) else {
            return Err(ArchiveError::usage(format!("no TOC entry has dumpId {dump_id}")));
        };
        let entry = &self.toc.entries[index];
        if !entry.had_dumper {
            return Err(ArchiveError::usage(format!(
                "{} has no data part (hadDumper = 0); pg_restore would never read its block",
                entry.label()
            )));
        }
        if self.last_index.is_some_and(|last| index <= last) {
            return Err(ArchiveError::usage(format!(
                "data blocks must follow TOC order (pg_restore from a pipe reads them in that order): {} comes \
                 before {} in the TOC",
                entry.label(),
                self.toc.entries[self.last_index.expect("checked")].label()
            )));
        }
        let pos = self.out.pos();
        let byte = match kind {
            BlockKind::Data => BLK_DATA,
            BlockKind::Blobs => BLK_BLOBS,
        };
        self.put_bytes(&[byte])?;
        self.put_int(dump_id as i64)?;
        self.blocks[index] = Some(pos);
        self.last_index = Some(index);
        self.open = Some(dump_id);
        Ok(())
    }

    fn put_bytes(&mut self, b: &[u8]) -> Result<()> {
        let at = self.out.pos();
        self.out.write_all(b).map_err(|e| ArchiveError::io(Location::at(at), "writing the archive", e))
    }

    fn put_int(&mut self, v: i64) -> Result<()> {
        let mut buf = Vec::with_capacity(9);
        wire::put_int(&mut buf, self.toc.header.int_size, v, "an int")?;
        self.put_bytes(&buf)
    }

    /// Writes `bytes` as one or more chunks (none if empty: a zero length ends the stream).
    fn put_chunks(&mut self, bytes: &[u8]) -> Result<()> {
        for c in bytes.chunks(MAX_CHUNK) {
            self.put_int(c.len() as i64)?;
            self.put_bytes(c)?;
        }
        Ok(())
    }

    /// Starts the TABLE DATA block of `dump_id`: write the uncompressed data to the returned
    /// writer, then call [`DataWriter::finish`]. Blocks must come in TOC order.
    /// Compressed data is cut into pieces compressed on every core (see
    /// [`compress::ParallelEncoder`]).
    pub fn begin_data_block(&mut self, dump_id: DumpId) -> Result<DataWriter<'_, W>> {
        if self.algorithm == Algorithm::None {
            self.start_block(BlockKind::Data, dump_id)?;
            return self.stream(true);
        }
        let compressor = compress::PieceCompressor::new(self.algorithm, self.level);
        let pieces = self.begin_data_block_pieces(dump_id)?;
        Ok(DataWriter {
            inner: Some(DataStream::Pieces(compress::ParallelEncoder::new(compressor, pieces))),
            ends_block: true,
        })
    }

    fn stream(&mut self, ends_block: bool) -> Result<DataWriter<'_, W>> {
        let (kind, level) = (self.kind, self.level);
        self.stream_open = true;
        let sink = ChunkSink { w: self, buf: Vec::with_capacity(MAX_CHUNK) };
        let enc = Encoder::new(kind, level, sink)
            .map_err(|e| ArchiveError::io(Location::default(), "starting a compressor", e))?;
        Ok(DataWriter { inner: Some(DataStream::Serial(enc)), ends_block })
    }

    /// Ends a data stream with the chunk terminator (`int 0`); `ends_block` when the stream is the
    /// whole block (table data), not one large object of a BLOBS block.
    fn end_stream(&mut self, ends_block: bool) -> Result<()> {
        self.put_int(0)?;
        self.stream_open = false;
        if ends_block {
            self.open = None;
        }
        Ok(())
    }

    /// Starts a TABLE DATA block assembled from pieces compressed elsewhere (in parallel) by a
    /// [`compress::PieceCompressor`] for this archive's algorithm.
    pub fn begin_data_block_pieces(&mut self, dump_id: DumpId) -> Result<PieceWriter<'_, W>> {
        self.start_block(BlockKind::Data, dump_id)?;
        self.stream_open = true;
        Ok(PieceWriter { w: self, adler: 1, header_written: false })
    }

    /// Starts the block of a BLOBS entry; add large objects with [`BlobsWriter::begin_blob`].
    pub fn begin_blobs_block(&mut self, dump_id: DumpId) -> Result<BlobsWriter<'_, W>> {
        self.start_block(BlockKind::Blobs, dump_id)?;
        Ok(BlobsWriter { w: self })
    }

    /// Checks that every entry with data got its block, flushes, and returns the output.
    pub fn finish(mut self) -> Result<W> {
        self.check_complete()?;
        self.out.flush().map_err(|e| ArchiveError::io(Location::at(self.out.pos()), "flushing the archive", e))?;
        self.out
            .into_inner()
            .into_inner()
            .map_err(|e| ArchiveError::io(Location::default(), "flushing the archive", e.into_error()))
    }

    fn check_complete(&self) -> Result<()> {
        self.check_idle("finish")?;
        let missing: Vec<String> = self
            .toc
            .entries
            .iter()
            .zip(&self.blocks)
            .filter(|(e, b)| e.had_dumper && b.is_none())
            .map(|(e, _)| e.label().to_string())
            .collect();
        if !missing.is_empty() {
            return Err(ArchiveError::usage(format!(
                "no data block was written for {} (pg_restore fails on an entry with data but no block; drop the \
                 entry from the TOC or set had_dumper = false)",
                missing.join(", ")
            )));
        }
        Ok(())
    }
}

impl<W: Write + Seek> CustomWriter<W> {
    /// Seeks back and rewrites the TOC with the positions of the blocks written so far (flag
    /// SET), then returns to the end. The TOC's length does not change (offsets are fixed
    /// width). Positions are absolute in the output, like pg_dump's.
    pub fn finalize_offsets(&mut self) -> Result<()> {
        self.check_idle("finalize_offsets")?;
        let io_err = |e| ArchiveError::io(Location::default(), "rewriting the TOC with data offsets", e);
        let inner = self.out.get_mut();
        let end = inner.stream_position().map_err(io_err)?;
        let written = self.out.pos();
        let base = end
            .checked_sub(written)
            .ok_or_else(|| ArchiveError::usage("output position is before the archive start"))?;
        for (e, b) in self.toc.entries.iter_mut().zip(&self.blocks) {
            if let Some(pos) = b {
                e.extra = TocExtra::Offset(DataOffset { state: OffsetState::Set, pos: base + pos });
            }
        }
        let bytes = toc::encode_toc(&self.toc)?;
        if bytes.len() as u64 != self.toc_len {
            return Err(ArchiveError::usage("the TOC changed length; cannot rewrite it in place"));
        }
        let inner = self.out.get_mut();
        inner.seek(SeekFrom::Start(base)).map_err(io_err)?;
        inner.write_all(&bytes).map_err(io_err)?;
        inner.seek(SeekFrom::Start(end)).map_err(io_err)?;
        Ok(())
    }
}

/// Frames compressed bytes into `int len | bytes` chunks.
struct ChunkSink<'a, W: Write> {
    w: &'a mut CustomWriter<W>,
    buf: Vec<u8>,
}

impl<W: Write> ChunkSink<'_, W> {
    fn emit(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            let buf = std::mem::take(&mut self.buf);
            self.w.put_chunks(&buf).map_err(ArchiveError::into_io)?;
            self.buf = buf;
            self.buf.clear();
        }
        Ok(())
    }
}

impl<W: Write> Write for ChunkSink<'_, W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.is_empty() && data.len() >= MAX_CHUNK {
            // Whole chunks straight from the caller's buffer: uncompressed table data arrives
            // in chunks of rows far larger than a chunk.
            let whole = data.len() - data.len() % MAX_CHUNK;
            self.w.put_chunks(&data[..whole]).map_err(ArchiveError::into_io)?;
            return Ok(whole);
        }
        let room = MAX_CHUNK - self.buf.len();
        let n = data.len().min(room);
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == MAX_CHUNK {
            self.emit()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes one compressed data stream (a table's data or one large object). Dropping it without
/// [`DataWriter::finish`] leaves the archive unusable; the writer then refuses further blocks.
pub struct DataWriter<'a, W: Write> {
    inner: Option<DataStream<'a, W>>,
    ends_block: bool,
}

enum DataStream<'a, W: Write> {
    /// One compressor on this thread: uncompressed data, and large objects.
    Serial(Encoder<ChunkSink<'a, W>>),
    /// Table data compressed in pieces on every core.
    Pieces(compress::ParallelEncoder<PieceWriter<'a, W>>),
}

impl<W: Write> DataWriter<'_, W> {
    /// Ends the compressed stream and writes the chunk terminator (`int 0`).
    pub fn finish(mut self) -> Result<()> {
        match self.inner.take().expect("finish is called once") {
            DataStream::Pieces(p) => p.finish()?.finish(),
            DataStream::Serial(enc) => {
                let mut sink = enc.finish().map_err(ArchiveError::from_io)?;
                sink.emit().map_err(ArchiveError::from_io)?;
                sink.w.end_stream(self.ends_block)
            }
        }
    }
}

impl<W: Write> Write for DataWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.inner.as_mut().expect("not finished") {
            DataStream::Serial(enc) => enc.write(buf),
            DataStream::Pieces(p) => p.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes a TABLE DATA block from pieces compressed independently (see
/// [`compress::PieceCompressor`]). Push them in data order, then [`PieceWriter::finish`].
pub struct PieceWriter<'a, W: Write> {
    w: &'a mut CustomWriter<W>,
    adler: u32,
    header_written: bool,
}

impl<W: Write> PieceWriter<'_, W> {
    /// Appends the next piece. Each piece is written as whole chunks of its own, so frame ends
    /// fall on chunk boundaries.
    pub fn push(&mut self, piece: &CompressedPiece) -> Result<()> {
        if piece.algorithm != self.w.algorithm {
            return Err(ArchiveError::usage(format!(
                "piece compressed with {} but the archive uses {}",
                piece.algorithm.name(),
                self.w.algorithm.name()
            )));
        }
        if self.w.algorithm == Algorithm::Gzip {
            self.adler = adler32_combine(self.adler, piece.adler, piece.raw_len);
            if !self.header_written {
                // The zlib header goes in front of the first piece, in the same chunk.
                let mut first = Vec::with_capacity(2 + piece.bytes.len());
                first.extend_from_slice(&zlib_header(self.w.level.zlib));
                first.extend_from_slice(&piece.bytes);
                self.header_written = true;
                return self.w.put_chunks(&first);
            }
        }
        self.w.put_chunks(&piece.bytes)
    }

    /// Closes the stream (for zlib: final empty block and adler32) and ends the block.
    pub fn finish(self) -> Result<()> {
        if self.w.algorithm == Algorithm::Gzip {
            let mut tail = Vec::with_capacity(8);
            if !self.header_written {
                tail.extend_from_slice(&zlib_header(self.w.level.zlib));
            }
            tail.extend_from_slice(&DEFLATE_FINAL_EMPTY_BLOCK);
            tail.extend_from_slice(&self.adler.to_be_bytes());
            self.w.put_chunks(&tail)?;
        }
        self.w.end_stream(true)
    }
}

impl<W: Write> compress::PieceSink for PieceWriter<'_, W> {
    fn put(&mut self, piece: &CompressedPiece) -> Result<()> {
        self.push(piece)
    }
}

/// Writes the large objects of one BLOBS block.
pub struct BlobsWriter<'a, W: Write> {
    w: &'a mut CustomWriter<W>,
}

impl<W: Write> BlobsWriter<'_, W> {
    /// Starts large object `oid`; write its bytes, then [`DataWriter::finish`].
    pub fn begin_blob(&mut self, oid: u32) -> Result<DataWriter<'_, W>> {
        if self.w.stream_open {
            return Err(ArchiveError::usage("begin_blob: the previous large object was not finished"));
        }
        if oid == 0 {
            return Err(ArchiveError::usage("large object OID 0 is the end marker of the list"));
        }
        self.w.put_int(wire::oid_to_int(oid))?;
        self.w.stream(false)
    }

    /// Writes the end of the large object list and ends the block.
    pub fn finish(self) -> Result<()> {
        if self.w.stream_open {
            return Err(ArchiveError::usage("finish: the last large object was not finished"));
        }
        self.w.put_int(0)?;
        self.w.open = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::toc::tests::{entry, header, s};
    use super::super::toc::{ArchiveCompression, ArchiveVersion, Section};
    use super::*;
    use crate::archive::compress::PieceCompressor;
    use crate::archive::testutil::Pipe;

    fn toc(compression: ArchiveCompression) -> Toc {
        let off = TocExtra::Offset(DataOffset { state: OffsetState::NoData, pos: 0 });
        let mut t1 = entry(10, "TABLE", "t1", false, off.clone());
        t1.section = Section::PreData;
        let mut d1 = entry(20, "TABLE DATA", "t1", true, off.clone());
        d1.copy_stmt = s("COPY public.t1 (a) FROM stdin;\n");
        d1.namespace = s("public");
        d1.dependencies = vec![10];
        let mut d2 = entry(21, "TABLE DATA", "t2", true, off.clone());
        d2.namespace = s("public");
        let blobs = entry(30, "BLOBS", "BLOBS", true, off);
        Toc {
            header: header(ArchiveVersion::V1_16, ArchiveFormat::Custom, compression),
            entries: vec![t1, d1, d2, blobs],
        }
    }

    fn rows(n: usize) -> Vec<u8> {
        let mut v: Vec<u8> = (0..n).flat_map(|i| format!("{i}\tvalue {i}\\twith tab\n").into_bytes()).collect();
        v.extend_from_slice(b"\\.\n\n\n");
        v
    }

    fn write_sample(compression: ArchiveCompression) -> Vec<u8> {
        let mut w = CustomWriter::new(Vec::new(), toc(compression)).unwrap();
        let mut d = w.begin_data_block(20).unwrap();
        d.write_all(&rows(5000)).unwrap();
        d.finish().unwrap();
        let mut d = w.begin_data_block(21).unwrap();
        d.write_all(b"\\.\n\n\n").unwrap();
        d.finish().unwrap();
        let mut b = w.begin_blobs_block(30).unwrap();
        let mut lo = b.begin_blob(90001).unwrap();
        lo.write_all(b"hello large object").unwrap();
        lo.finish().unwrap();
        let mut lo = b.begin_blob(3_000_000_000).unwrap();
        lo.write_all(b"big oid").unwrap();
        lo.finish().unwrap();
        b.finish().unwrap();
        w.finish().unwrap()
    }

    type Blocks = Vec<(BlockKind, DumpId, Vec<(u32, Vec<u8>)>)>;

    fn read_all<R: Read>(r: R) -> Result<(Toc, Blocks)> {
        let mut r = CustomReader::new(r)?;
        let mut blocks = Vec::new();
        while let Some(b) = r.next_block()? {
            let mut items = Vec::new();
            match b.kind {
                BlockKind::Data => {
                    let mut v = Vec::new();
                    r.copy_data_to(&mut v)?;
                    items.push((0, v));
                }
                BlockKind::Blobs => {
                    while let Some(oid) = r.next_blob()? {
                        let mut v = Vec::new();
                        r.copy_data_to(&mut v)?;
                        items.push((oid, v));
                    }
                }
            }
            blocks.push((b.kind, b.dump_id, items));
        }
        Ok((r.toc().clone(), blocks))
    }

    fn compressions() -> [ArchiveCompression; 4] {
        [
            ArchiveCompression::None,
            ArchiveCompression::Gzip { level: None },
            ArchiveCompression::Lz4,
            ArchiveCompression::Zstd,
        ]
    }

    #[test]
    fn write_then_read_every_compression_from_a_pipe() {
        for c in compressions() {
            let bytes = write_sample(c);
            let (t, blocks) = read_all(Pipe(&bytes[..])).unwrap();
            assert_eq!(t.header.compression, c);
            assert_eq!(blocks.len(), 3);
            assert_eq!(blocks[0].2[0].1, rows(5000), "{c:?}");
            assert_eq!(blocks[1].2[0].1, b"\\.\n\n\n");
            assert_eq!(
                blocks[2].2,
                vec![(90001, b"hello large object".to_vec()), (3_000_000_000, b"big oid".to_vec())]
            );
            // Offsets: NOT_SET for data entries, NO_DATA for the TABLE.
            assert_eq!(t.entries[0].offset().unwrap().state, OffsetState::NoData);
            assert_eq!(t.entries[1].offset().unwrap().state, OffsetState::NotSet);
        }
    }

    #[test]
    fn uncompressed_block_matches_documented_bytes() {
        let bytes = write_sample(ArchiveCompression::None);
        // 01 | dumpId 21 | 00 05 00 00 00 5c 2e 0a 0a 0a | 00 00 00 00 00
        let block = [1u8, 0, 21, 0, 0, 0, 0, 5, 0, 0, 0, b'\\', b'.', b'\n', b'\n', b'\n', 0, 0, 0, 0, 0];
        assert!(bytes.windows(block.len()).any(|w| w == block));
        // The big OID is stored as a negative int.
        assert!(bytes.windows(5).any(|w| w == [0x01, 0x00, 0xa2, 0x2f, 0x4d]));
    }

    #[test]
    fn skipping_blocks_and_partial_reads_work() {
        for c in compressions() {
            let bytes = write_sample(c);
            let mut r = CustomReader::new(Pipe(&bytes[..])).unwrap();
            let b = r.next_block().unwrap().unwrap();
            assert_eq!(b.dump_id, 20);
            let mut first = [0u8; 10];
            r.data().unwrap().read_exact(&mut first).unwrap();
            assert_eq!(&first, b"0\tvalue 0\\");
            assert!(r.data().is_err(), "second data() on the same block");
            assert_eq!(r.next_block().unwrap().unwrap().dump_id, 21); // skip the rest
            let b = r.next_block().unwrap().unwrap(); // skip 21 entirely
            assert_eq!(b.kind, BlockKind::Blobs);
            assert_eq!(r.next_blob().unwrap(), Some(90001));
            assert_eq!(r.next_blob().unwrap(), Some(3_000_000_000)); // skip the first LO's bytes
            assert!(r.next_block().unwrap().is_none());
            assert!(r.next_block().unwrap().is_none());
        }
    }

    #[test]
    fn raw_copy_is_byte_identical() {
        for c in compressions() {
            let bytes = write_sample(c);
            let mut r = CustomReader::new(Pipe(&bytes[..])).unwrap();
            let mut w = CustomWriter::new(Vec::new(), r.toc().clone()).unwrap();
            while r.next_block().unwrap().is_some() {
                r.copy_raw_block(&mut w).unwrap();
            }
            assert_eq!(w.finish().unwrap(), bytes, "{c:?}");
        }
        // Different algorithms: refused.
        let bytes = write_sample(ArchiveCompression::Zstd);
        let mut r = CustomReader::new(&bytes[..]).unwrap();
        let mut w = CustomWriter::new(Vec::new(), toc(ArchiveCompression::Lz4)).unwrap();
        r.next_block().unwrap();
        assert!(r.copy_raw_block(&mut w).is_err());
    }

    #[test]
    fn pieces_make_one_readable_stream() {
        let data = rows(3000);
        for c in compressions() {
            let pc = PieceCompressor::for_archive(c);
            let mut w = CustomWriter::new(Vec::new(), toc(c)).unwrap();
            let mut p = w.begin_data_block_pieces(20).unwrap();
            for piece in data.chunks(10_000) {
                p.push(&pc.compress(piece).unwrap()).unwrap();
            }
            p.finish().unwrap();
            let mut d = w.begin_data_block(21).unwrap();
            d.write_all(b"\\.\n\n\n").unwrap();
            d.finish().unwrap();
            w.begin_blobs_block(30).unwrap().finish().unwrap();
            let bytes = w.finish().unwrap();
            let (_, blocks) = read_all(&bytes[..]).unwrap();
            assert_eq!(blocks[0].2[0].1, data, "{c:?}");
            assert!(blocks[2].2.is_empty());
        }
    }

    #[test]
    fn writer_enforces_order_and_completeness() {
        let mut w = CustomWriter::new(Vec::new(), toc(ArchiveCompression::None)).unwrap();
        assert!(w.begin_data_block(10).is_err(), "TABLE has no data");
        assert!(w.begin_data_block(99).is_err(), "unknown id");
        w.begin_data_block(21).unwrap().finish().unwrap();
        let err = w.begin_data_block(20).err().unwrap().to_string();
        assert!(err.contains("TOC order"), "{err}");
        let err = w.finish().unwrap_err().to_string();
        assert!(err.contains("dumpId 20") && err.contains("dumpId 30"), "{err}");
        // An unfinished stream blocks everything after it.
        let mut w = CustomWriter::new(Vec::new(), toc(ArchiveCompression::None)).unwrap();
        drop(w.begin_data_block(20).unwrap());
        assert!(w.begin_data_block(21).is_err());
    }

    #[test]
    fn finalize_offsets_points_at_the_blocks() {
        let mut cursor = io::Cursor::new(Vec::new());
        cursor.write_all(b"prefix").unwrap(); // offsets are absolute positions
        let mut w = CustomWriter::new(&mut cursor, toc(ArchiveCompression::Gzip { level: None })).unwrap();
        let len_before = w.position();
        for id in [20, 21] {
            let mut d = w.begin_data_block(id).unwrap();
            d.write_all(&rows(10)).unwrap();
            d.finish().unwrap();
        }
        w.begin_blobs_block(30).unwrap().finish().unwrap();
        w.finalize_offsets().unwrap();
        w.finish().unwrap();
        let all = cursor.into_inner();
        let bytes = &all[6..];
        let t = toc::read_toc(&mut &bytes[..]).unwrap();
        for e in t.entries.iter().filter(|e| e.had_dumper) {
            let o = e.offset().unwrap();
            assert_eq!(o.state, OffsetState::Set);
            let pos = o.pos as usize;
            assert!(pos as u64 >= 6 + len_before);
            assert!(all[pos] == BLK_DATA || all[pos] == BLK_BLOBS);
            assert_eq!(&all[pos + 1..pos + 6], &[0, e.dump_id as u8, 0, 0, 0]);
        }
        assert_eq!(t.entries[0].offset().unwrap().state, OffsetState::NoData);
    }

    #[test]
    fn truncation_names_the_entry() {
        for c in compressions() {
            let bytes = write_sample(c);
            let toc_len = toc::encode_toc(&CustomReader::new(&bytes[..]).unwrap().toc().clone()).unwrap().len();
            // Cut inside the first data block.
            let cut = toc_len + 40;
            let err = read_all(Pipe(&bytes[..cut])).unwrap_err();
            let msg = err.to_string();
            assert!(matches!(err, ArchiveError::Truncated { .. }), "{c:?}: {msg}");
            assert!(msg.contains("dumpId 20 (TABLE DATA public.t1)"), "{c:?}: {msg}");
            // Cut between blocks: the missing blocks are named.
            let (_, _) = read_all(&bytes[..]).unwrap();
            let mut r = CustomReader::new(&bytes[..]).unwrap();
            r.next_block().unwrap();
            r.next_block().unwrap();
            r.next_block().unwrap();
            let end_of_21 = r.position() as usize - 5 - 1; // before the BLOBS block header
            let err = read_all(&bytes[..end_of_21]).unwrap_err().to_string();
            assert!(err.contains("no data block") && err.contains("dumpId 30 (BLOBS BLOBS)"), "{c:?}: {err}");
        }
    }

    #[test]
    fn tar_toc_is_not_a_custom_archive() {
        let mut t = toc(ArchiveCompression::None);
        t.header.format = ArchiveFormat::Tar;
        for e in &mut t.entries {
            e.extra = TocExtra::Filename(Some(String::new()));
        }
        let bytes = toc::encode_toc(&t).unwrap();
        assert!(CustomReader::new(&bytes[..]).err().unwrap().to_string().contains("not a custom archive"));
    }
}
