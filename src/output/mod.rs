//! Where the result goes: stdout or a file, optionally compressed.
//!
//! A regular output file is written under a temporary name beside it and renamed only when the
//! run succeeded, so a failed or interrupted run never leaves something that looks like a good
//! dump. Paths that are not regular files (`/dev/null`, a FIFO, a terminal) are written directly,
//! never replaced.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::archive::compress::{FileEncoder, Level};
use crate::archive::toc::Algorithm;
use crate::error::{Error, Result};

/// Output compression, as given to `-Z/--compress` or implied by the output file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputCompression {
    None,
    Gzip(u32),
    Lz4,
    Zstd(i32),
}

impl OutputCompression {
    /// Parses pg_dump's spelling: `none`, `gzip`, `gzip:9`, `lz4`, `zstd`, `zstd:19`, or a bare
    /// level `0`–`9` meaning gzip at that level (0 is none).
    pub fn parse(spec: &str) -> Result<Self, String> {
        let (method, level) = match spec.split_once(':') {
            Some((m, l)) => (m, Some(l)),
            None => (spec, None),
        };
        let level_num = |default: i64, range: std::ops::RangeInclusive<i64>| -> Result<i64, String> {
            match level {
                None => Ok(default),
                Some(l) => {
                    l.strip_prefix("level=").unwrap_or(l).parse::<i64>().ok().filter(|v| range.contains(v)).ok_or_else(
                        || format!("invalid {method} level `{l}` (expected {}-{})", range.start(), range.end()),
                    )
                }
            }
        };
        match method.to_ascii_lowercase().as_str() {
            "none" => Ok(OutputCompression::None),
            "gzip" => Ok(OutputCompression::Gzip(level_num(6, 1..=9)? as u32)),
            "lz4" => {
                level_num(1, 1..=12)?;
                Ok(OutputCompression::Lz4)
            }
            "zstd" => Ok(OutputCompression::Zstd(level_num(3, 1..=22)? as i32)),
            "0" if level.is_none() => Ok(OutputCompression::None),
            digit if level.is_none() && digit.len() == 1 && digit.as_bytes()[0].is_ascii_digit() => {
                Ok(OutputCompression::Gzip(u32::from(digit.as_bytes()[0] - b'0')))
            }
            _ => Err(format!("unknown compression `{spec}` (use none, gzip[:LEVEL], lz4 or zstd[:LEVEL])")),
        }
    }

    /// The compression a file name implies: `.gz`, `.lz4`, `.zst`.
    pub fn from_extension(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some("gz") => OutputCompression::Gzip(6),
            Some("lz4") => OutputCompression::Lz4,
            Some("zst") => OutputCompression::Zstd(3),
            _ => OutputCompression::None,
        }
    }
}

/// The formats scrub writes, named as pg_dump's `-F` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DumpFormat {
    Plain,
    Custom,
    Directory,
    Tar,
}

impl DumpFormat {
    /// Parses `p`/`plain`, `c`/`custom`, `d`/`directory`, `t`/`tar`.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "p" | "plain" => Ok(DumpFormat::Plain),
            "c" | "custom" => Ok(DumpFormat::Custom),
            "d" | "directory" => Ok(DumpFormat::Directory),
            "t" | "tar" => Ok(DumpFormat::Tar),
            _ => Err(format!("unknown format `{s}` (use plain, custom, directory or tar)")),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DumpFormat::Plain => "plain",
            DumpFormat::Custom => "custom",
            DumpFormat::Directory => "directory",
            DumpFormat::Tar => "tar",
        }
    }

    /// pg_dump's one-letter name.
    pub fn letter(self) -> char {
        self.name().as_bytes()[0] as char
    }
}

/// A regular output file being written under a temporary name beside its target.
pub struct FileTarget {
    pub file: tempfile::NamedTempFile,
    final_path: PathBuf,
    /// Removed on SIGINT/SIGTERM while it exists ([`crate::cleanup`]).
    _registered: crate::cleanup::Registered,
}

impl FileTarget {
    /// Flushes to disk and renames the file into place (unless a signal arrived).
    pub fn persist(self) -> Result<()> {
        self.file.as_file().sync_all().map_err(|e| Error::io("finishing output", e))?;
        let FileTarget { file, final_path, _registered } = self;
        crate::cleanup::commit(|| file.persist(&final_path).map_err(|e| e.error))
            .map_err(|e| Error::io(format!("renaming the finished output to {}", final_path.display()), e))?;
        Ok(())
    }
}

/// For an output path that names (or will name) a regular file: a temporary file beside it.
/// `None` for stdout and for paths that are not regular files (`/dev/null`, FIFOs).
pub fn regular_file_target(path: Option<&Path>) -> Result<Option<FileTarget>> {
    let Some(p) = path.filter(|p| *p != Path::new("-")) else { return Ok(None) };
    if std::fs::metadata(p).is_ok_and(|m| !m.is_file()) {
        return Ok(None);
    }
    let dir = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tracked = crate::cleanup::create(false, || {
        let file = tempfile::Builder::new().prefix(&format!(".{name}.")).suffix(".scrub-partial").tempfile_in(dir)?;
        let path = file.path().to_path_buf();
        Ok((file, path))
    })
    .map_err(|e| Error::io(format!("creating a temporary file in {}", dir.display()), e))?;
    let (file, registered) = tracked.into_parts();
    Ok(Some(FileTarget { file, final_path: p.to_path_buf(), _registered: registered }))
}

enum Dest {
    Stdout(io::Stdout),
    /// An existing non-regular file, written in place.
    Direct(File),
    /// A temporary file renamed into place on success.
    Temp(FileTarget),
}

impl Write for Dest {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Dest::Stdout(s) => s.write(buf),
            Dest::Direct(f) => f.write(buf),
            Dest::Temp(t) => t.file.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Dest::Stdout(s) => s.flush(),
            Dest::Direct(f) => f.flush(),
            Dest::Temp(t) => t.file.flush(),
        }
    }
}

/// An output being written. Call [`Sink::finish`] on success; dropping it without finishing
/// removes the temporary file. Compressed output is built from pieces compressed on every core
/// ([`FileEncoder`]): the bytes are the same whatever `--jobs`.
pub struct Sink {
    encoder: FileEncoder<BufWriter<Dest>>,
}

impl Sink {
    /// Opens the output: `None` or `-` is stdout.
    pub fn create(path: Option<&Path>, compression: OutputCompression) -> Result<Sink> {
        let dest = match path {
            None => Dest::Stdout(io::stdout()),
            Some(p) if p == Path::new("-") => Dest::Stdout(io::stdout()),
            Some(p) => match regular_file_target(Some(p))? {
                Some(target) => Dest::Temp(target),
                None => Dest::Direct(
                    OpenOptions::new()
                        .write(true)
                        .open(p)
                        .map_err(|e| Error::io(format!("opening {}", p.display()), e))?,
                ),
            },
        };
        // Small enough that a whole chunk of rows (about 1 MiB) bypasses it instead of being copied
        // into it; large enough to gather the short SQL statements between COPY blocks.
        let buffered = BufWriter::with_capacity(128 << 10, dest);
        let default = Level::default();
        let (algorithm, level) = match compression {
            OutputCompression::None => (Algorithm::None, default),
            OutputCompression::Gzip(zlib) => (Algorithm::Gzip, Level { zlib, ..default }),
            OutputCompression::Lz4 => (Algorithm::Lz4, default),
            OutputCompression::Zstd(zstd) => (Algorithm::Zstd, Level { zstd, ..default }),
        };
        Ok(Sink { encoder: FileEncoder::new(algorithm, level, buffered) })
    }

    /// Completes compression, flushes, and moves a temporary file into place.
    pub fn finish(self) -> Result<()> {
        let ctx = "finishing output";
        let buffered = self.encoder.finish().map_err(|e| Error::io(ctx, e.into_io()))?;
        let dest = buffered.into_inner().map_err(|e| Error::io(ctx, e.into_error()))?;
        match dest {
            Dest::Stdout(mut s) => s.flush().map_err(|e| Error::io(ctx, e)),
            Dest::Direct(mut f) => f.flush().map_err(|e| Error::io(ctx, e)),
            Dest::Temp(target) => target.persist(),
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.encoder.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.encoder.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.encoder.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pg_dump_compression_specs() {
        assert_eq!(OutputCompression::parse("gzip"), Ok(OutputCompression::Gzip(6)));
        assert_eq!(OutputCompression::parse("gzip:9"), Ok(OutputCompression::Gzip(9)));
        assert_eq!(OutputCompression::parse("zstd:level=19"), Ok(OutputCompression::Zstd(19)));
        assert_eq!(OutputCompression::parse("5"), Ok(OutputCompression::Gzip(5)));
        assert_eq!(OutputCompression::parse("0"), Ok(OutputCompression::None));
        assert!(OutputCompression::parse("gzip:10").is_err());
        assert!(OutputCompression::parse("brotli").is_err());
        assert_eq!(OutputCompression::from_extension(Path::new("x.sql.zst")), OutputCompression::Zstd(3));
    }
}
