//! Compression as pg_dump uses it (formats doc §3.4, §4): decoders that turn a byte stream back
//! into data and fail loudly on truncated or trailing input, encoders for whole streams, and a
//! piece compressor whose outputs can be produced on several threads and joined into one block.
//!
//! Stream kinds:
//! * custom-format blocks: a **zlib** stream (RFC 1950, not gzip), one LZ4 frame, or one zstd
//!   frame per data block or large object;
//! * directory-format files: a **gzip** file (RFC 1952, as written by `gzopen`), an LZ4 frame file
//!   or a zstd file.

use std::collections::VecDeque;
use std::io::{self, BufRead, Read, Write};

use crossbeam_channel::Receiver;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::error::{ArchiveError, Location, Result};
use super::toc::{Algorithm, ArchiveCompression};

/// How a byte stream is framed and compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamKind {
    /// No compression.
    Raw,
    /// zlib (RFC 1950): custom-format gzip blocks.
    Zlib,
    /// gzip file (RFC 1952): directory-format `.gz` files.
    Gzip,
    /// LZ4 frame format: custom blocks and `.lz4` files.
    Lz4,
    /// zstd frames: custom blocks and `.zst` files.
    Zstd,
}

impl StreamKind {
    /// The stream kind of a custom-format data block for a header algorithm.
    pub fn for_block(algorithm: Algorithm) -> StreamKind {
        match algorithm {
            Algorithm::None => StreamKind::Raw,
            Algorithm::Gzip => StreamKind::Zlib,
            Algorithm::Lz4 => StreamKind::Lz4,
            Algorithm::Zstd => StreamKind::Zstd,
        }
    }

    /// The stream kind of a directory-format data file for an algorithm.
    pub fn for_file(algorithm: Algorithm) -> StreamKind {
        match algorithm {
            Algorithm::None => StreamKind::Raw,
            Algorithm::Gzip => StreamKind::Gzip,
            Algorithm::Lz4 => StreamKind::Lz4,
            Algorithm::Zstd => StreamKind::Zstd,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            StreamKind::Raw => "uncompressed",
            StreamKind::Zlib => "zlib",
            StreamKind::Gzip => "gzip",
            StreamKind::Lz4 => "lz4",
            StreamKind::Zstd => "zstd",
        }
    }
}

/// Compression level settings for writers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level {
    /// zlib/gzip level 0-9 (pg_dump's default is zlib's 6).
    pub zlib: u32,
    /// zstd level (pg_dump's default is zstd's 3).
    pub zstd: i32,
}

impl Level {
    /// The levels pg_dump would use for this header compression.
    pub fn for_archive(c: ArchiveCompression) -> Level {
        Level { zlib: c.gzip_level(), zstd: 3 }
    }
}

impl Default for Level {
    fn default() -> Level {
        Level { zlib: 6, zstd: 3 }
    }
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

/// A `Read` of the decompressed bytes of `input`. Errors are [`ArchiveError`]s wrapped in
/// `io::Error` ([`ArchiveError::from_io`] unwraps them); truncated streams and, for zlib, bytes
/// after the end of the stream are errors. `Send` when `B` is.
pub fn decoder<B: BufRead>(kind: StreamKind, input: B) -> io::Result<Decoder<B>> {
    Ok(match kind {
        StreamKind::Raw => Decoder::Raw(input),
        StreamKind::Zlib => {
            Decoder::Zlib(ZlibReader { input, z: Decompress::new(true), done: false, checked_tail: false })
        }
        StreamKind::Gzip => Decoder::Gzip(Labelled { inner: flate2::bufread::MultiGzDecoder::new(input), kind }),
        StreamKind::Lz4 => Decoder::Lz4(Box::new(Lz4Reader {
            dec: lz4_flex::frame::FrameDecoder::new(Lz4Tracker { inner: input, state: Lz4State::default(), fed: 0 }),
        })),
        StreamKind::Zstd => Decoder::Zstd(Labelled { inner: zstd::stream::read::Decoder::with_buffer(input)?, kind }),
    })
}

/// A decompressing reader; see [`decoder`].
pub enum Decoder<B: BufRead> {
    Raw(B),
    Zlib(ZlibReader<B>),
    Gzip(Labelled<flate2::bufread::MultiGzDecoder<B>>),
    Lz4(Box<Lz4Reader<B>>),
    Zstd(Labelled<zstd::stream::read::Decoder<'static, B>>),
}

impl<B: BufRead> Read for Decoder<B> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::Raw(r) => r.read(buf),
            Decoder::Zlib(r) => r.read(buf),
            Decoder::Gzip(r) => r.read(buf),
            Decoder::Lz4(r) => r.read(buf),
            Decoder::Zstd(r) => r.read(buf),
        }
    }
}

fn decompress_error(kind: StreamKind, msg: impl Into<String>) -> io::Error {
    ArchiveError::Decompress { at: Location::default(), algorithm: kind.name(), msg: msg.into() }.into_io()
}

/// Turns a decoder library's own errors into [`ArchiveError::Decompress`], leaving errors that
/// already are `ArchiveError`s (from the input, e.g. a truncated archive) alone.
#[doc(hidden)]
pub struct Labelled<R> {
    inner: R,
    kind: StreamKind,
}

impl<R: Read> Read for Labelled<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            if e.get_ref().is_some_and(|i| i.is::<ArchiveError>()) {
                e
            } else {
                decompress_error(self.kind, e.to_string())
            }
        })
    }
}

/// zlib decoding with explicit end-of-stream checks: pg_restore needs the stream's end
/// (`Z_STREAM_END`) and misbehaves on bytes after it, so both conditions are errors here.
#[doc(hidden)]
pub struct ZlibReader<B> {
    input: B,
    z: Decompress,
    done: bool,
    checked_tail: bool,
}

impl<B: BufRead> Read for ZlibReader<B> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.done {
                if !self.checked_tail {
                    if !self.input.fill_buf()?.is_empty() {
                        return Err(decompress_error(
                            StreamKind::Zlib,
                            "unexpected data after the end of the zlib stream",
                        ));
                    }
                    self.checked_tail = true;
                }
                return Ok(0);
            }
            let input = self.input.fill_buf()?;
            let eof = input.is_empty();
            let (in0, out0) = (self.z.total_in(), self.z.total_out());
            let flush = if eof { FlushDecompress::Finish } else { FlushDecompress::None };
            let status =
                self.z.decompress(input, buf, flush).map_err(|e| decompress_error(StreamKind::Zlib, e.to_string()))?;
            let consumed = (self.z.total_in() - in0) as usize;
            let produced = (self.z.total_out() - out0) as usize;
            self.input.consume(consumed);
            if status == Status::StreamEnd {
                self.done = true;
            }
            if produced > 0 {
                return Ok(produced);
            }
            if self.done {
                continue;
            }
            if eof {
                return Err(ArchiveError::Truncated {
                    at: Location::default(),
                    what: "a zlib stream (its end marker and checksum are missing)".into(),
                }
                .into_io());
            }
            if consumed == 0 {
                return Err(decompress_error(StreamKind::Zlib, "decoder made no progress"));
            }
        }
    }
}

/// LZ4 frame decoding. `lz4_flex`'s decoder reports the end of a frame, and also input that
/// stops at a block boundary inside a frame, as end of data; [`Lz4Tracker`] follows the frame
/// structure of the bytes it passes on so the two can be told apart, and concatenated frames
/// are read through.
#[doc(hidden)]
pub struct Lz4Reader<B: BufRead> {
    dec: lz4_flex::frame::FrameDecoder<Lz4Tracker<B>>,
}

impl<B: BufRead> Read for Lz4Reader<B> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let n = self.dec.read(buf).map_err(|e| {
                if e.get_ref().is_some_and(|i| i.is::<ArchiveError>()) {
                    e
                } else {
                    decompress_error(StreamKind::Lz4, e.to_string())
                }
            })?;
            if n > 0 {
                return Ok(n);
            }
            let tracker = self.dec.get_mut();
            if !tracker.at_frame_boundary() {
                return Err(ArchiveError::Truncated {
                    at: Location::default(),
                    what: "an LZ4 frame (the input ends before its end mark)".into(),
                }
                .into_io());
            }
            if tracker.inner.fill_buf()?.is_empty() {
                return Ok(0);
            }
            // Another frame follows.
        }
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
#[doc(hidden)]
pub enum Lz4State {
    /// Expecting a frame's magic number; `got` bytes of it seen.
    #[default]
    Magic,
    MagicPartial(u8),
    /// Expecting the FLG byte.
    Flg,
    /// Skipping the rest of the frame descriptor (BD, content size, dict ID, header checksum).
    Descriptor(u8),
    /// Reading a 4-byte block size; `got` bytes of it in `acc`.
    BlockSize {
        got: u8,
        acc: u32,
    },
    /// Skipping block data (and its checksum).
    BlockData(u64),
    /// Skipping the content checksum after the end mark.
    ContentChecksum(u8),
}

/// Passes bytes through while following the LZ4 frame layout (magic, FLG, descriptor, blocks,
/// end mark, optional content checksum) to know whether the input stopped between frames.
#[doc(hidden)]
pub struct Lz4Tracker<B> {
    inner: B,
    state: Lz4State,
    /// FLG of the current frame.
    fed: u8,
}

impl<B> Lz4Tracker<B> {
    fn at_frame_boundary(&self) -> bool {
        self.state == Lz4State::Magic
    }

    fn feed(&mut self, mut bytes: &[u8]) {
        while let Some((&b, rest)) = bytes.split_first() {
            match self.state {
                Lz4State::Magic => self.state = Lz4State::MagicPartial(1),
                Lz4State::MagicPartial(n) => {
                    self.state = if n == 3 { Lz4State::Flg } else { Lz4State::MagicPartial(n + 1) };
                }
                Lz4State::Flg => {
                    self.fed = b;
                    // BD, optional 8-byte content size, optional 4-byte dict ID, header checksum.
                    let len = 1 + if b & 0x08 != 0 { 8 } else { 0 } + if b & 0x01 != 0 { 4 } else { 0 } + 1;
                    self.state = Lz4State::Descriptor(len);
                }
                Lz4State::Descriptor(n) => {
                    self.state =
                        if n == 1 { Lz4State::BlockSize { got: 0, acc: 0 } } else { Lz4State::Descriptor(n - 1) };
                }
                Lz4State::BlockSize { got, acc } => {
                    let acc = acc | (b as u32) << (8 * got);
                    if got < 3 {
                        self.state = Lz4State::BlockSize { got: got + 1, acc };
                    } else if acc == 0 {
                        // End mark; a content checksum follows if the FLG says so.
                        self.state = if self.fed & 0x04 != 0 { Lz4State::ContentChecksum(4) } else { Lz4State::Magic };
                    } else {
                        let len = (acc & 0x7fff_ffff) as u64 + if self.fed & 0x10 != 0 { 4 } else { 0 };
                        self.state =
                            if len == 0 { Lz4State::BlockSize { got: 0, acc: 0 } } else { Lz4State::BlockData(len) };
                    }
                }
                Lz4State::BlockData(n) => {
                    // Skip as much as possible at once.
                    let take = (n as usize).min(bytes.len());
                    let left = n - take as u64;
                    self.state =
                        if left == 0 { Lz4State::BlockSize { got: 0, acc: 0 } } else { Lz4State::BlockData(left) };
                    bytes = &bytes[take..];
                    continue;
                }
                Lz4State::ContentChecksum(n) => {
                    self.state = if n == 1 { Lz4State::Magic } else { Lz4State::ContentChecksum(n - 1) };
                }
            }
            bytes = rest;
        }
    }
}

impl<B: Read> Read for Lz4Tracker<B> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.feed(&buf[..n]);
        Ok(n)
    }
}

// ---------------------------------------------------------------------------------------------
// Encoding a whole stream
// ---------------------------------------------------------------------------------------------

/// A streaming compressor writing to `W`; call [`Encoder::finish`] to end the stream.
pub enum Encoder<W: Write> {
    Raw(W),
    Zlib(flate2::write::ZlibEncoder<W>),
    Gzip(flate2::write::GzEncoder<W>),
    Lz4(Box<lz4_flex::frame::FrameEncoder<W>>),
    Zstd(zstd::stream::write::Encoder<'static, W>),
}

impl<W: Write> Encoder<W> {
    pub fn new(kind: StreamKind, level: Level, w: W) -> io::Result<Encoder<W>> {
        Ok(match kind {
            StreamKind::Raw => Encoder::Raw(w),
            StreamKind::Zlib => Encoder::Zlib(flate2::write::ZlibEncoder::new(w, Compression::new(level.zlib))),
            StreamKind::Gzip => Encoder::Gzip(flate2::write::GzEncoder::new(w, Compression::new(level.zlib))),
            StreamKind::Lz4 => Encoder::Lz4(Box::new(lz4_flex::frame::FrameEncoder::new(w))),
            StreamKind::Zstd => Encoder::Zstd(zstd::stream::write::Encoder::new(w, level.zstd)?),
        })
    }

    /// Ends the compressed stream (trailer, end mark, epilogue) and returns the writer.
    pub fn finish(self) -> io::Result<W> {
        match self {
            Encoder::Raw(w) => Ok(w),
            Encoder::Zlib(e) => e.finish(),
            Encoder::Gzip(e) => e.finish(),
            Encoder::Lz4(e) => e.finish().map_err(io::Error::other),
            Encoder::Zstd(e) => e.finish(),
        }
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Encoder::Raw(w) => w.write(buf),
            Encoder::Zlib(e) => e.write(buf),
            Encoder::Gzip(e) => e.write(buf),
            Encoder::Lz4(e) => e.write(buf),
            Encoder::Zstd(e) => e.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Encoder::Raw(w) => w.flush(),
            Encoder::Zlib(e) => e.flush(),
            Encoder::Gzip(e) => e.flush(),
            Encoder::Lz4(e) => e.flush(),
            Encoder::Zstd(e) => e.flush(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Independent pieces of one block (parallel compression)
// ---------------------------------------------------------------------------------------------

/// Compresses consecutive pieces of one data block independently, so that worker threads can
/// compress in parallel; a custom-format writer joins the pieces, in order, into one block that
/// pg_restore reads as a single stream (see `CustomWriter::begin_data_block_pieces`).
///
/// * gzip (zlib): each piece is raw deflate ending with a sync flush (byte aligned, not final);
///   the writer puts one zlib header in front, an empty final block and the combined adler32
///   behind. The result is one ordinary zlib stream.
/// * zstd, lz4: each piece is a complete frame; pg_restore decodes consecutive frames. Every
///   frame ends exactly at a chunk boundary (pg_restore's zstd reader drops the rest of a chunk
///   after a frame end).
/// * none: the piece is the data.
#[derive(Debug, Clone, Copy)]
pub struct PieceCompressor {
    algorithm: Algorithm,
    level: Level,
}

/// One compressed piece; see [`PieceCompressor`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompressedPiece {
    pub(crate) algorithm: Algorithm,
    pub(crate) bytes: Vec<u8>,
    /// Uncompressed length.
    pub(crate) raw_len: u64,
    /// adler32 of the uncompressed bytes (gzip only: a zlib stream's trailer).
    pub(crate) adler: u32,
    /// crc32 of the uncompressed bytes (gzip only: a gzip file's trailer).
    pub(crate) crc: u32,
}

impl CompressedPiece {
    /// The compressed bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Length of the data before compression.
    pub fn raw_len(&self) -> u64 {
        self.raw_len
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

impl PieceCompressor {
    pub fn new(algorithm: Algorithm, level: Level) -> PieceCompressor {
        PieceCompressor { algorithm, level }
    }

    /// The piece compressor matching an archive header, with pg_dump's default levels.
    pub fn for_archive(c: ArchiveCompression) -> PieceCompressor {
        PieceCompressor::new(c.algorithm(), Level::for_archive(c))
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Compresses one piece. Pure: no I/O, safe to call from any thread.
    pub fn compress(&self, data: &[u8]) -> Result<CompressedPiece> {
        let fail = |e: io::Error| ArchiveError::io(Location::default(), "compressing a piece", e);
        let bytes = match self.algorithm {
            Algorithm::None => data.to_vec(),
            Algorithm::Gzip => deflate_sync_flushed(data, self.level.zlib),
            Algorithm::Zstd => zstd::bulk::compress(data, self.level.zstd).map_err(fail)?,
            Algorithm::Lz4 => {
                let mut e = lz4_flex::frame::FrameEncoder::new(Vec::with_capacity(data.len() / 2 + 64));
                e.write_all(data).map_err(fail)?;
                e.finish().map_err(|e| fail(io::Error::other(e)))?
            }
        };
        // The same deflate pieces serve a zlib stream (custom blocks) and a gzip file (directory
        // files, plain output); each frames them with its own checksum.
        let (adler, crc) =
            if self.algorithm == Algorithm::Gzip { (adler32(1, data), crc32fast::hash(data)) } else { (0, 0) };
        Ok(CompressedPiece { algorithm: self.algorithm, bytes, raw_len: data.len() as u64, adler, crc })
    }
}

// ---------------------------------------------------------------------------------------------
// Compressing a stream on every core
// ---------------------------------------------------------------------------------------------

/// Where a [`ParallelEncoder`] delivers its pieces, in data order.
pub trait PieceSink {
    fn put(&mut self, piece: &CompressedPiece) -> Result<()>;
}

/// Bytes of uncompressed input per piece: large enough that splitting costs nothing measurable
/// in ratio (under 0.5% for gzip and zstd on dump data), small enough that a 2 MB table already
/// keeps two cores busy.
pub const PIECE_SIZE: usize = 1 << 20;

/// A `Write` that cuts its input into [`PIECE_SIZE`] pieces, compresses them on rayon's pool
/// (sized by `--jobs`) and hands them to its sink in order. Pieces are cut by byte count
/// alone, so the output is the same whatever the number of threads.
///
/// Memory: at most `2 × threads + 2` pieces in flight. A stream shorter than one piece is
/// compressed on the calling thread, without a round trip through the pool.
pub struct ParallelEncoder<S: PieceSink> {
    sink: S,
    compressor: PieceCompressor,
    buf: Vec<u8>,
    pending: VecDeque<Receiver<Result<CompressedPiece>>>,
    pieces: u64,
}

impl<S: PieceSink> ParallelEncoder<S> {
    pub fn new(compressor: PieceCompressor, sink: S) -> ParallelEncoder<S> {
        ParallelEncoder { sink, compressor, buf: Vec::new(), pending: VecDeque::new(), pieces: 0 }
    }

    fn submit(&mut self) -> Result<()> {
        let data = std::mem::replace(&mut self.buf, Vec::with_capacity(PIECE_SIZE));
        let (tx, rx) = crossbeam_channel::bounded(1);
        let compressor = self.compressor;
        rayon::spawn(move || {
            let _ = tx.send(compressor.compress(&data));
        });
        self.pending.push_back(rx);
        let limit = 2 * rayon::current_num_threads() + 2;
        while self.pending.len() > limit {
            self.deliver_oldest()?;
        }
        // Deliver whatever is already done, so finished pieces do not wait in memory.
        while self.pending.front().is_some_and(|rx| !rx.is_empty()) {
            self.deliver_oldest()?;
        }
        Ok(())
    }

    fn deliver_oldest(&mut self) -> Result<()> {
        let rx = self.pending.pop_front().expect("a pending piece");
        let piece = rx.recv().map_err(|_| {
            ArchiveError::io(Location::default(), "compressing", io::Error::other("a compression thread died"))
        })??;
        self.deliver(&piece)
    }

    fn deliver(&mut self, piece: &CompressedPiece) -> Result<()> {
        self.pieces += 1;
        self.sink.put(piece)
    }

    /// Compresses what is buffered, delivers every piece, and returns the sink (whose stream
    /// the caller then closes). A stream gets at least one piece, even if empty.
    pub fn finish(mut self) -> Result<S> {
        if self.pending.is_empty() {
            if !self.buf.is_empty() || self.pieces == 0 {
                let piece = self.compressor.compress(&self.buf)?;
                self.deliver(&piece)?;
            }
        } else {
            if !self.buf.is_empty() {
                self.submit()?;
            }
            while !self.pending.is_empty() {
                self.deliver_oldest()?;
            }
        }
        Ok(self.sink)
    }
}

impl<S: PieceSink> Write for ParallelEncoder<S> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.capacity() == 0 {
            self.buf.reserve_exact(PIECE_SIZE);
        }
        let n = data.len().min(PIECE_SIZE - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == PIECE_SIZE {
            self.submit().map_err(ArchiveError::into_io)?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Frames pieces into one compressed file: a single gzip member (header, the deflate pieces,
/// an empty final block, crc32 and length), or consecutive lz4 or zstd frames (both formats
/// decode concatenated frames as one stream).
pub struct FileSink<W: Write> {
    w: W,
    algorithm: Algorithm,
    crc: crc32fast::Hasher,
    len: u64,
    started: bool,
}

/// A gzip member header as zlib's `gzopen` writes it: no name, no time, OS unknown.
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

impl<W: Write> FileSink<W> {
    pub fn new(algorithm: Algorithm, w: W) -> FileSink<W> {
        FileSink { w, algorithm, crc: crc32fast::Hasher::new(), len: 0, started: false }
    }

    fn io(e: io::Error) -> ArchiveError {
        ArchiveError::io(Location::default(), "writing compressed data", e)
    }

    fn start(&mut self) -> Result<()> {
        if !self.started && self.algorithm == Algorithm::Gzip {
            self.w.write_all(&GZIP_HEADER).map_err(Self::io)?;
        }
        self.started = true;
        Ok(())
    }

    /// Ends the stream and returns the writer.
    pub fn finish(mut self) -> Result<W> {
        self.start()?;
        if self.algorithm == Algorithm::Gzip {
            let mut tail = [0u8; 10];
            tail[..2].copy_from_slice(&DEFLATE_FINAL_EMPTY_BLOCK);
            tail[2..6].copy_from_slice(&self.crc.clone().finalize().to_le_bytes());
            // ISIZE is the length modulo 2^32 (RFC 1952).
            tail[6..].copy_from_slice(&(self.len as u32).to_le_bytes());
            self.w.write_all(&tail).map_err(Self::io)?;
        }
        Ok(self.w)
    }
}

impl<W: Write> PieceSink for FileSink<W> {
    fn put(&mut self, piece: &CompressedPiece) -> Result<()> {
        if piece.algorithm != self.algorithm {
            return Err(ArchiveError::usage(format!(
                "piece compressed with {} but the file uses {}",
                piece.algorithm.name(),
                self.algorithm.name()
            )));
        }
        self.start()?;
        if self.algorithm == Algorithm::Gzip {
            self.crc.combine(&crc32fast::Hasher::new_with_initial_len(piece.crc, piece.raw_len));
            self.len += piece.raw_len;
        }
        self.w.write_all(&piece.bytes).map_err(Self::io)
    }
}

/// A file's compressor: uncompressed bytes pass straight through; compressed files are built
/// from pieces compressed on every core.
pub enum FileEncoder<W: Write> {
    Raw(W),
    Pieces(ParallelEncoder<FileSink<W>>),
}

impl<W: Write> FileEncoder<W> {
    pub fn new(algorithm: Algorithm, level: Level, w: W) -> FileEncoder<W> {
        match algorithm {
            Algorithm::None => FileEncoder::Raw(w),
            _ => FileEncoder::Pieces(ParallelEncoder::new(
                PieceCompressor::new(algorithm, level),
                FileSink::new(algorithm, w),
            )),
        }
    }

    /// Ends the compressed stream and returns the writer.
    pub fn finish(self) -> Result<W> {
        match self {
            FileEncoder::Raw(w) => Ok(w),
            FileEncoder::Pieces(p) => p.finish()?.finish(),
        }
    }
}

impl<W: Write> Write for FileEncoder<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        match self {
            FileEncoder::Raw(w) => w.write(data),
            FileEncoder::Pieces(p) => p.write(data),
        }
    }

    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        match self {
            FileEncoder::Raw(w) => w.write_all(data),
            FileEncoder::Pieces(p) => p.write_all(data),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            FileEncoder::Raw(w) => w.flush(),
            FileEncoder::Pieces(_) => Ok(()),
        }
    }
}

/// Raw deflate of `data`, ended by a sync flush (an empty stored block), with no final block.
fn deflate_sync_flushed(data: &[u8], level: u32) -> Vec<u8> {
    let mut c = Compress::new(Compression::new(level), false);
    let mut out = Vec::with_capacity(data.len() / 2 + 128);
    let mut input = data;
    loop {
        if out.capacity() - out.len() < 64 {
            out.reserve(out.capacity().max(4096));
        }
        let before = c.total_in();
        // Err is impossible for a well-formed Compress and an output buffer with room.
        c.compress_vec(input, &mut out, FlushCompress::Sync).expect("deflate cannot fail");
        input = &input[(c.total_in() - before) as usize..];
        if input.is_empty() && out.len() < out.capacity() {
            break;
        }
    }
    out
}

/// The zlib stream header for a level (FLEVEL bits are informative only).
pub(crate) fn zlib_header(level: u32) -> [u8; 2] {
    match level {
        0 | 1 => [0x78, 0x01],
        2..=5 => [0x78, 0x5e],
        6 => [0x78, 0x9c],
        _ => [0x78, 0xda],
    }
}

/// An empty final deflate block with fixed Huffman codes: closes a sync-flushed deflate stream.
pub(crate) const DEFLATE_FINAL_EMPTY_BLOCK: [u8; 2] = [0x03, 0x00];

const ADLER_BASE: u32 = 65521;

/// Updates an adler32 checksum (start with 1).
pub(crate) fn adler32(adler: u32, data: &[u8]) -> u32 {
    let mut a = adler & 0xffff;
    let mut b = adler >> 16;
    // 5552 is the largest n with 255n(n+1)/2 + (n+1)(BASE-1) < 2^32 (zlib's NMAX).
    for chunk in data.chunks(5552) {
        for &x in chunk {
            a += x as u32;
            b += a;
        }
        a %= ADLER_BASE;
        b %= ADLER_BASE;
    }
    (b << 16) | a
}

/// adler32 of A‖B from adler32(A), adler32(B) and len(B) (zlib's adler32_combine).
pub(crate) fn adler32_combine(adler1: u32, adler2: u32, len2: u64) -> u32 {
    let base = ADLER_BASE as u64;
    let rem = len2 % base;
    let mut sum1 = adler1 as u64 & 0xffff;
    let mut sum2 = (rem * sum1) % base;
    sum1 += (adler2 as u64 & 0xffff) + base - 1;
    sum2 += ((adler1 as u64 >> 16) & 0xffff) + ((adler2 as u64 >> 16) & 0xffff) + base - rem;
    if sum1 >= base {
        sum1 -= base;
    }
    if sum1 >= base {
        sum1 -= base;
    }
    if sum2 >= base << 1 {
        sum2 -= base << 1;
    }
    if sum2 >= base {
        sum2 -= base;
    }
    (sum1 | (sum2 << 16)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(kind: StreamKind, bytes: &[u8]) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        decoder(kind, bytes).map_err(ArchiveError::from_io)?.read_to_end(&mut out).map_err(ArchiveError::from_io)?;
        Ok(out)
    }

    fn encode_all(kind: StreamKind, data: &[u8]) -> Vec<u8> {
        let mut e = Encoder::new(kind, Level::default(), Vec::new()).unwrap();
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn sample() -> Vec<u8> {
        (0..20_000u32).flat_map(|i| format!("{i}\trow {}\n", i % 97).into_bytes()).collect()
    }

    #[test]
    fn every_stream_kind_round_trips() {
        let data = sample();
        for kind in [StreamKind::Raw, StreamKind::Zlib, StreamKind::Gzip, StreamKind::Lz4, StreamKind::Zstd] {
            let enc = encode_all(kind, &data);
            assert_eq!(decode_all(kind, &enc).unwrap(), data, "{kind:?}");
        }
        assert_eq!(&encode_all(StreamKind::Zlib, b"x")[..2], &[0x78, 0x9c]);
    }

    #[test]
    fn truncated_streams_are_errors() {
        let data = sample();
        for kind in [StreamKind::Zlib, StreamKind::Gzip, StreamKind::Lz4, StreamKind::Zstd] {
            let enc = encode_all(kind, &data);
            for cut in [enc.len() / 2, enc.len() - 1, 1] {
                let r = decode_all(kind, &enc[..cut]);
                assert!(r.is_err(), "{kind:?} cut at {cut} of {} decoded {} bytes", enc.len(), r.unwrap().len());
            }
        }
    }

    #[test]
    fn lz4_cut_at_a_block_boundary_is_an_error() {
        // Several 64 KB blocks; cut right after the first block (before the next block size).
        let data: Vec<u8> = (0..300_000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
        let enc = encode_all(StreamKind::Lz4, &data);
        let header_len = 7;
        let first = u32::from_le_bytes(enc[header_len..header_len + 4].try_into().unwrap()) & 0x7fff_ffff;
        let cut = header_len + 4 + first as usize;
        assert!(decode_all(StreamKind::Lz4, &enc[..cut]).is_err());
    }

    #[test]
    fn zlib_trailing_garbage_is_an_error() {
        let mut enc = encode_all(StreamKind::Zlib, b"hello");
        enc.extend_from_slice(b"junk");
        let err = decode_all(StreamKind::Zlib, &enc).unwrap_err().to_string();
        assert!(err.contains("after the end of the zlib stream"), "{err}");
    }

    #[test]
    fn corrupt_data_names_the_algorithm() {
        let err = decode_all(StreamKind::Zstd, b"\x28\xb5\x2f\xfdgarbage-garbage").unwrap_err().to_string();
        assert!(err.contains("zstd"), "{err}");
        let err = decode_all(StreamKind::Zlib, b"\x78\x9cgarbage").unwrap_err().to_string();
        assert!(err.contains("zlib"), "{err}");
    }

    #[test]
    fn adler_combine_matches_direct() {
        let data = sample();
        let (a, b) = data.split_at(12345);
        let direct = adler32(1, &data);
        assert_eq!(adler32_combine(adler32(1, a), adler32(1, b), b.len() as u64), direct);
        assert_eq!(adler32(1, b"Wikipedia"), 0x11E6_0398);
    }

    fn file_encode(algorithm: Algorithm, data: &[u8], write_size: usize) -> Vec<u8> {
        let mut e = FileEncoder::new(algorithm, Level::default(), Vec::new());
        for part in data.chunks(write_size.max(1)) {
            e.write_all(part).unwrap();
        }
        e.finish().unwrap()
    }

    #[test]
    fn files_compressed_in_pieces_decode_as_one_stream() {
        let big: Vec<u8> = sample().repeat(6); // ~3 pieces
        let sizes = [0, 1, PIECE_SIZE - 1, PIECE_SIZE, PIECE_SIZE + 1, big.len()];
        for algorithm in [Algorithm::None, Algorithm::Gzip, Algorithm::Lz4, Algorithm::Zstd] {
            let kind = StreamKind::for_file(algorithm);
            for &n in &sizes {
                let data = &big[..n.min(big.len())];
                let enc = file_encode(algorithm, data, 70_001);
                assert_eq!(decode_all(kind, &enc).unwrap(), data, "{algorithm:?}, {n} bytes");
                assert_eq!(file_encode(algorithm, data, 1 << 22), enc, "{algorithm:?}: independent of write sizes");
            }
        }
    }

    #[test]
    fn gzip_files_from_pieces_are_one_member_with_the_right_trailer() {
        let data: Vec<u8> = sample().repeat(6);
        let enc = file_encode(Algorithm::Gzip, &data, 1 << 16);
        // flate2's single-member decoder checks the crc32 and length and stops after one member.
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&enc[..]).read_to_end(&mut out).unwrap();
        assert_eq!(out, data);
        let trailer = &enc[enc.len() - 8..];
        assert_eq!(trailer[..4], crc32fast::hash(&data).to_le_bytes());
        assert_eq!(trailer[4..], (data.len() as u32).to_le_bytes());
    }

    /// Joins pieces the way the custom writer does, as one byte stream.
    fn join(pieces: &[CompressedPiece]) -> Vec<u8> {
        let mut out = Vec::new();
        if pieces.first().map(|p| p.algorithm) == Some(Algorithm::Gzip) {
            out.extend_from_slice(&zlib_header(6));
        }
        let mut adler = 1;
        for p in pieces {
            out.extend_from_slice(&p.bytes);
            adler = adler32_combine(adler, p.adler, p.raw_len);
        }
        if pieces.first().map(|p| p.algorithm) == Some(Algorithm::Gzip) {
            out.extend_from_slice(&DEFLATE_FINAL_EMPTY_BLOCK);
            out.extend_from_slice(&adler.to_be_bytes());
        }
        out
    }

    #[test]
    fn joined_pieces_decode_as_one_stream() {
        let data = sample();
        for alg in [Algorithm::None, Algorithm::Gzip, Algorithm::Lz4, Algorithm::Zstd] {
            let pc = PieceCompressor::new(alg, Level::default());
            let pieces: Vec<_> = data.chunks(7001).chain([&b""[..]]).map(|c| pc.compress(c).unwrap()).collect();
            let joined = join(&pieces);
            assert_eq!(decode_all(StreamKind::for_block(alg), &joined).unwrap(), data, "{alg:?}");
        }
        // flate2's own zlib decoder agrees (checks the adler32 trailer too).
        let pc = PieceCompressor::new(Algorithm::Gzip, Level::default());
        let pieces: Vec<_> = data.chunks(5000).map(|c| pc.compress(c).unwrap()).collect();
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(&join(&pieces)[..]).read_to_end(&mut out).unwrap();
        assert_eq!(out, data);
    }
}
