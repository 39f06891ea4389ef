//! The COPY text-format codec: splitting a row into fields, and decoding and encoding the
//! backslash escapes of one field.
//!
//! This is the product's core and is kept pure: bytes in, bytes out, no I/O and no allocation in
//! steady state (callers pass reusable buffers). Fields no rule touches are never decoded; the
//! caller copies their raw bytes. The rules implemented here are PostgreSQL's own
//! (`CopyReadAttributesText`, `CopyAttributeOutText`); see the format reference §2.

pub mod block;
pub mod escape;
pub mod row;

pub use escape::{decode_field, encode_field};
pub use row::{NULL_FIELD, RowError, split_row};
