//! The one error type of the archive layer: every failure says what went wrong, at which byte
//! of which file or stream, and for which TOC entry when one is involved.

use std::fmt;
use std::io;

use super::toc::{ArchiveVersion, TocEntry};

/// A TOC entry named in an error: `dumpId 3418 (TABLE DATA public.t_text)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryLabel {
    pub dump_id: i32,
    pub desc: String,
    pub namespace: Option<String>,
    pub tag: String,
}

impl EntryLabel {
    pub fn of(entry: &TocEntry) -> EntryLabel {
        EntryLabel {
            dump_id: entry.dump_id,
            desc: super::toc::lossy(&entry.desc).into_owned(),
            namespace: entry.namespace.as_ref().map(|n| String::from_utf8_lossy(n).into_owned()),
            tag: super::toc::lossy(&entry.tag).into_owned(),
        }
    }

    /// A label for an entry that could not be found in the TOC.
    pub fn unknown(dump_id: i32) -> EntryLabel {
        EntryLabel { dump_id, desc: "?".into(), namespace: None, tag: "(not in the TOC)".into() }
    }
}

impl fmt::Display for EntryLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "dumpId {} ({}", self.dump_id, self.desc)?;
        match &self.namespace {
            Some(ns) if !ns.is_empty() => write!(f, " {ns}.{})", self.tag),
            _ => write!(f, " {})", self.tag),
        }
    }
}

/// Where in the archive something happened: the file or stream, a byte offset in it, and the
/// TOC entry being read or written, if any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// The file (or member, or "stream") the offset refers to.
    pub file: Option<String>,
    /// Byte offset from the start of `file`.
    pub offset: Option<u64>,
    /// Boxed to keep `ArchiveError` small.
    pub entry: Option<Box<EntryLabel>>,
}

impl Location {
    pub fn at(offset: u64) -> Location {
        Location { file: None, offset: Some(offset), entry: None }
    }

    pub fn with_entry(mut self, entry: Option<EntryLabel>) -> Location {
        if self.entry.is_none() {
            self.entry = entry.map(Box::new);
        }
        self
    }

    pub fn in_file(mut self, file: impl Into<String>) -> Location {
        if self.file.is_none() {
            self.file = Some(file.into());
        }
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(file) = &self.file {
            parts.push(file.clone());
        }
        if let Some(off) = self.offset {
            parts.push(format!("byte {off}"));
        }
        if let Some(e) = &self.entry {
            parts.push(format!("entry {e}"));
        }
        if parts.is_empty() { write!(f, "archive") } else { write!(f, "{}", parts.join(", ")) }
    }
}

/// Every failure of the archive readers and writers.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArchiveError {
    /// Reading or writing the underlying file or stream failed.
    #[error("{at}: {context}: {source}")]
    Io {
        at: Location,
        context: String,
        #[source]
        source: io::Error,
    },
    /// The input ended before a structure was complete.
    #[error("{at}: archive is truncated: it ends in the middle of {what}")]
    Truncated { at: Location, what: String },
    /// The bytes do not follow the archive format.
    #[error("{at}: {msg}")]
    Malformed { at: Location, msg: String },
    /// A valid archive version this library does not read or write.
    #[error(
        "unsupported archive version {version} in file header (this library handles 1.12 to 1.16, pg_dump 9.0 to 18)"
    )]
    UnsupportedVersion { version: ArchiveVersion },
    /// Compressed data could not be decompressed.
    #[error("{at}: could not decompress {algorithm} data: {msg}")]
    Decompress { at: Location, algorithm: &'static str, msg: String },
    /// The caller asked for something the archive format or version cannot represent, or used
    /// the API out of order (a block after the archive was finished, blocks out of TOC order...).
    #[error("{0}")]
    Usage(String),
}

impl ArchiveError {
    pub(crate) fn malformed(at: Location, msg: impl Into<String>) -> ArchiveError {
        ArchiveError::Malformed { at, msg: msg.into() }
    }

    pub(crate) fn usage(msg: impl Into<String>) -> ArchiveError {
        ArchiveError::Usage(msg.into())
    }

    pub(crate) fn io(at: Location, context: impl Into<String>, source: io::Error) -> ArchiveError {
        // An ArchiveError that travelled through an io::Error (from a Read/Write impl) comes back
        // out unchanged, with the outer location filled in where it had none.
        if source.get_ref().is_some_and(|e| e.is::<ArchiveError>()) {
            let inner = source.into_inner().expect("checked above").downcast::<ArchiveError>().expect("checked above");
            return inner.add_location(at);
        }
        ArchiveError::Io { at, context: context.into(), source }
    }

    /// Fills in missing parts of the location (file name, entry) from an outer context.
    pub(crate) fn add_location(self, outer: Location) -> ArchiveError {
        let merge = |mut at: Location| {
            if at.file.is_none() {
                at.file = outer.file.clone();
            }
            if at.entry.is_none() {
                at.entry = outer.entry.clone();
            }
            if at.offset.is_none() {
                at.offset = outer.offset;
            }
            at
        };
        match self {
            ArchiveError::Io { at, context, source } => ArchiveError::Io { at: merge(at), context, source },
            ArchiveError::Truncated { at, what } => ArchiveError::Truncated { at: merge(at), what },
            ArchiveError::Malformed { at, msg } => ArchiveError::Malformed { at: merge(at), msg },
            ArchiveError::Decompress { at, algorithm, msg } => {
                ArchiveError::Decompress { at: merge(at), algorithm, msg }
            }
            other => other,
        }
    }

    /// Wraps this error in an `io::Error`, for `Read`/`Write` implementations. [`ArchiveError::io`]
    /// unwraps it again.
    pub(crate) fn into_io(self) -> io::Error {
        let kind = match &self {
            ArchiveError::Truncated { .. } => io::ErrorKind::UnexpectedEof,
            ArchiveError::Io { source, .. } => source.kind(),
            _ => io::ErrorKind::InvalidData,
        };
        io::Error::new(kind, self)
    }

    /// Recovers an `ArchiveError` from an `io::Error` returned by one of this module's readers
    /// or writers (`Read`/`Write` can only return `io::Error`).
    pub fn from_io(e: io::Error) -> ArchiveError {
        ArchiveError::io(Location::default(), "I/O error", e)
    }
}

/// Result alias for the archive layer.
pub type Result<T, E = ArchiveError> = std::result::Result<T, E>;
