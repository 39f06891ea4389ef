//! scrub: sanitize PostgreSQL dumps on their way from production to development.
//!
//! ```text
//! stdin/file ─► input (detect, decompress) ─► pipeline::plain reader
//!     SQL statements ─────────────────────────────────────────────┐ (byte for byte)
//!     COPY blocks ─► row-aligned chunks ─► workers: copy codec + transforms ─► writer (in order)
//!                                                                   └─► output (compress, atomic rename)
//! ```
//!
//! Modules follow the data flow: [`input`] opens and decompresses, [`sql`] finds statements and
//! reads the DDL, [`copy`] is the pure COPY text codec, [`rules`] compiles the rules file against
//! the dump's schema, [`transform`] holds the keyed rewrites, [`pipeline`] runs them in parallel
//! and in order, [`output`] writes the result, [`report`] and [`progress`] talk to the user.

pub mod app;
pub mod archive;
pub mod check;
pub mod cleanup;
pub mod copy;
pub mod error;
pub mod expr;
pub mod input;
pub mod inspect;
pub mod manifest;
pub mod output;
pub mod pipeline;
pub mod progress;
pub mod report;
pub mod rules;
pub mod sql;
pub mod subset;
pub mod transform;

pub use error::{Error, Result};
