//! pg_dump archive formats at the byte level: custom (`-Fc`), directory (`-Fd`) and tar (`-Ft`),
//! for reading and for writing archives that the real pg_restore accepts.
//!
//! Reference: `pg-dump-formats.md` §3-§7 (shared team doc) and PostgreSQL's `src/bin/pg_dump`.
//!
//! * [`toc`]: the header and table of contents all three formats share; decoded into structs and
//!   re-encoded byte for byte. Archive versions 1.12 to 1.16 (pg_dump 9.0 to 18).
//! * [`custom`]: sequential reader (no `Seek` needed, works from stdin) and streaming writer of
//!   the custom format's data blocks, with raw block copy and parallel-compressed pieces.
//! * [`directory`]: `toc.dat` plus one (optionally compressed) file per data entry.
//! * [`tar`]: a ustar archive of the directory layout, read sequentially, written with spooling.
//! * [`compress`]: the zlib/gzip/lz4/zstd streams the formats use.
//!
//! Nothing here interprets SQL or COPY text: data comes out as the decompressed bytes pg_dump
//! stored (COPY text including the trailing `\.\n\n\n`), and goes back in the same way.

pub mod compress;
pub mod custom;
pub mod directory;
mod error;
pub mod tar;
pub mod toc;
mod wire;

pub use compress::{CompressedPiece, Level, PieceCompressor};
pub use custom::{BlockHeader, BlockKind, CustomReader, CustomWriter};
pub use directory::{DirectoryReader, DirectoryWriter};
pub use error::{ArchiveError, EntryLabel, Location, Result};
pub use tar::{TarOptions, TarReader, TarWriter};
pub use toc::{
    Algorithm, ArchiveCompression, ArchiveFormat, ArchiveVersion, DumpId, Header, Toc, TocEntry, read_toc, write_toc,
};

#[cfg(test)]
mod roundtrip_tests;

#[cfg(test)]
pub(crate) mod testutil {
    use std::io::{self, Read};

    /// A `Read` that is deliberately not `Seek` and hands out at most 7 bytes per call, like a
    /// slow pipe.
    pub(crate) struct Pipe<R>(pub R);

    impl<R: Read> Read for Pipe<R> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(7);
            self.0.read(&mut buf[..n])
        }
    }
}
