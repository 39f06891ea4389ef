//! Where the dump's bytes come from: a file or stdin, decompressed when the content says so.
//!
//! Formats are detected by content, never by file name: gzip, lz4 and zstd by their magic bytes,
//! custom archives by `PGDMP`, tar archives by their ustar header, directory archives by their
//! `toc.dat`. This module must not interpret SQL or archive contents.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Position, Result};

/// Compression of a plain dump, from its magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Lz4,
    Zstd,
}

impl Compression {
    /// Detects compression from the first bytes of a stream.
    pub fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x04, 0x22, 0x4d, 0x18]) {
            Compression::Lz4
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    fn name(self) -> &'static str {
        match self {
            Compression::None => "plain",
            Compression::Gzip => "gzip",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

/// An opened input: the decompressed bytes, plus what progress reporting needs.
pub struct Input {
    pub reader: Box<dyn Read + Send>,
    /// Size of the input file on disk, if it is a regular file.
    pub size: Option<u64>,
    /// Bytes read from the file or stdin so far (compressed bytes for compressed input).
    pub read: Arc<AtomicU64>,
    pub compression: Compression,
}

/// Counts the bytes passing through, for progress.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Adds the compression format to decoder errors, so "corrupt deflate stream" says which input.
struct Labelled<R> {
    inner: R,
    what: Compression,
}

impl<R: Read> Read for Labelled<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner
            .read(buf)
            .map_err(|e| io::Error::new(e.kind(), format!("corrupt or truncated {} data: {e}", self.what.name())))
    }
}

/// What an input turned out to be.
pub enum Opened {
    /// A plain SQL dump (possibly compressed).
    Plain(Input),
    /// A custom (`-Fc`) or tar (`-Ft`) archive, as a stream starting at its first byte.
    Custom(Input),
    Tar(Input),
    /// A directory archive (`-Fd`).
    Directory(std::path::PathBuf),
}

/// Opens any pg_dump output: a plain dump, a custom or tar archive (file or stdin), or a
/// directory archive.
pub fn open_any(path: Option<&Path>) -> Result<Opened> {
    if let Some(p) = path.filter(|p| p.is_dir()) {
        if p.join("toc.dat").is_file() {
            return Ok(Opened::Directory(p.to_path_buf()));
        }
        return Err(Error::Usage(format!(
            "{} is a directory without toc.dat: not a pg_dump directory archive",
            p.display()
        )));
    }
    let (input, head) = open_raw(path)?;
    if input.compression == Compression::None {
        if head.starts_with(b"PGDMP") {
            return Ok(Opened::Custom(input));
        }
        if head.len() >= 262 && &head[257..262] == b"ustar" {
            return Ok(Opened::Tar(input));
        }
        if let Some(at) = memchr::memchr(0, &head) {
            let pos = Position {
                line: 1 + memchr::memchr_iter(b'\n', &head[..at]).count() as u64,
                byte: at as u64,
                table: None,
            };
            return Err(Error::input(pos, "a NUL byte: the input is binary data, not a pg_dump dump or archive"));
        }
        if head.is_empty() {
            // pg_dump never writes nothing: an empty input is a failed or missing dump (say, a
            // pg_dump that died before its first byte), and passing it on would hide that.
            let pos = Position { line: 1, byte: 0, table: None };
            return Err(Error::input(pos, "the input is empty: no pg_dump output to sanitize (did pg_dump fail?)"));
        }
    }
    Ok(Opened::Plain(input))
}

/// Opens `path` (`None` or `-` for stdin) as a plain dump and sets up decompression; archives
/// are refused with a message saying what they are.
pub fn open(path: Option<&Path>) -> Result<Input> {
    let name = path.map_or("standard input".into(), |p| p.display().to_string());
    match open_any(path)? {
        Opened::Plain(input) => Ok(input),
        Opened::Custom(_) | Opened::Tar(_) | Opened::Directory(_) => {
            Err(Error::Usage(format!("{name} is a pg_dump archive; this operation needs a plain SQL dump")))
        }
    }
}

fn open_raw(path: Option<&Path>) -> Result<(Input, Vec<u8>)> {
    let read = Arc::new(AtomicU64::new(0));
    let (raw, size, name): (Box<dyn Read + Send>, Option<u64>, String) = match path {
        None => (Box::new(io::stdin()), None, "standard input".into()),
        Some(p) if p == Path::new("-") => (Box::new(io::stdin()), None, "standard input".into()),
        Some(p) => {
            let file = File::open(p).map_err(|e| Error::io(format!("opening {}", p.display()), e))?;
            let meta = file.metadata().ok();
            let size = meta.filter(|m| m.is_file()).map(|m| m.len());
            (Box::new(file), size, p.display().to_string())
        }
    };
    let mut buffered = BufReader::with_capacity(1 << 20, Counting { inner: raw, read: read.clone() });
    let head = buffered.fill_buf().map_err(|e| Error::io(format!("reading {name}"), e))?.to_vec();
    let compression = Compression::sniff(&head);
    let reader: Box<dyn Read + Send> = match compression {
        Compression::None => {
            // Unbuffered from here on: the plain reader reads large blocks itself, and a read
            // smaller than the buffer would go through it, costing a copy of every byte.
            let sniffed = buffered.buffer().to_vec();
            Box::new(io::Cursor::new(sniffed).chain(buffered.into_inner()))
        }
        Compression::Gzip => Box::new(Labelled {
            inner: BufReader::with_capacity(1 << 20, flate2::bufread::MultiGzDecoder::new(buffered)),
            what: compression,
        }),
        Compression::Lz4 => Box::new(Labelled {
            inner: BufReader::with_capacity(1 << 20, lz4_flex::frame::FrameDecoder::new(buffered)),
            what: compression,
        }),
        Compression::Zstd => {
            let decoder = zstd::stream::read::Decoder::with_buffer(buffered)
                .map_err(|e| Error::io(format!("reading {name}"), e))?;
            Box::new(Labelled { inner: BufReader::with_capacity(1 << 20, decoder), what: compression })
        }
    };
    Ok((Input { reader, size, read, compression }, head))
}
