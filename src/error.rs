//! One error type for the library, so every failure can say *what* went wrong and *where*.
//!
//! Positions are attached as late as possible: the COPY codec only knows offsets inside the bytes it
//! was handed, the pipeline knows which table and which absolute byte and line that chunk started at.
//! This module must not print anything; the binary decides how errors reach the user.

use std::fmt;
use std::path::PathBuf;

/// Where in the (decompressed) input stream something happened.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Position {
    /// 1-based line number in the dump text.
    pub line: u64,
    /// 0-based byte offset in the dump text (after decompression).
    pub byte: u64,
    /// The table whose COPY data was being read, if any.
    pub table: Option<String>,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(t) = &self.table {
            write!(f, "table {t}, ")?;
        }
        write!(f, "line {}, byte offset {}", self.line, self.byte)
    }
}

/// Every failure scrub can report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing failed.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// The dump itself is malformed or uses something scrub refuses to guess about.
    #[error("{pos}: {msg}")]
    Input { pos: Position, msg: String },
    /// The rules file is wrong: syntax, unknown names, or a contradiction with the dump.
    #[error("{}{}: {msg}", file.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Rules { file: PathBuf, line: Option<usize>, msg: String },
    /// The dump has columns no rule covers while `unlisted_columns = "error"`.
    #[error("{} column(s) are not covered by the rules (unlisted_columns = \"error\"):\n{}\nadd a rule for each (\"keep\" if it holds nothing sensitive)", .columns.len(), .columns.iter().map(|c| format!("  {c}")).collect::<Vec<_>>().join("\n"))]
    Uncovered { columns: Vec<String> },
    /// A pg_dump archive is malformed, truncated, or cannot be written as asked.
    #[error("{0}")]
    Archive(Box<crate::archive::ArchiveError>),
    /// A problem with the command line or the environment it names (key file, output path).
    #[error("{0}")]
    Usage(String),
    /// The downstream reader closed the pipe before all output was written.
    #[error("output closed early (broken pipe): the program reading scrub's output stopped")]
    BrokenPipe,
}

impl Error {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        if source.kind() == std::io::ErrorKind::BrokenPipe {
            return Error::BrokenPipe;
        }
        Error::Io { context: context.into(), source }
    }

    pub(crate) fn input(pos: Position, msg: impl Into<String>) -> Error {
        Error::Input { pos, msg: msg.into() }
    }

    /// The exit status the binary should use for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Rules { .. } | Error::Uncovered { .. } | Error::Usage(_) => 2,
            _ => 1,
        }
    }
}

/// Result alias used throughout the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;
