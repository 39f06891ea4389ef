//! Reading a dump without writing one: the commands that inspect dumps (`check`, `scan`,
//! `verify`) walk any format through here and see its SQL text and its COPY rows.
//!
//! Nothing here writes output or rewrites data.

pub mod scan;
pub mod verify;

use std::path::Path;

use crate::archive::custom::CustomReader;
use crate::archive::directory::DirectoryReader;
use crate::archive::tar::TarReader;
use crate::error::Result;
use crate::input::Opened;
use crate::pipeline::archive::{ArchiveInput, visit_archive};
use crate::pipeline::{Options, Visitor};
use crate::rules::schema::Schema;

/// Walks any pg_dump output (plain, custom, tar, directory; a file, a directory or stdin),
/// showing `visitor` its SQL text and the rows it asks for, and returns the declared schema.
pub fn visit_dump(path: Option<&Path>, opts: &Options, visitor: &mut dyn Visitor) -> Result<Schema> {
    match crate::input::open_any(path)? {
        Opened::Plain(input) => crate::pipeline::visit_plain(input.reader, opts, visitor),
        Opened::Custom(input) => visit_archive(&mut ArchiveInput::Custom(CustomReader::new(input.reader)?), visitor),
        Opened::Tar(input) => visit_archive(&mut ArchiveInput::Tar(TarReader::new(input.reader)?), visitor),
        Opened::Directory(dir) => visit_archive(&mut ArchiveInput::Directory(DirectoryReader::open(&dir)?), visitor),
    }
}

/// A visitor that wants nothing: walking with it only learns the schema.
pub struct SchemaOnly;

impl Visitor for SchemaOnly {
    fn sql(&mut self, _: &[u8]) -> Result<()> {
        Ok(())
    }

    fn table(&mut self, _: &crate::sql::ddl::CopyStmt) -> Result<bool> {
        Ok(false)
    }

    fn rows(&mut self, _: &[u8]) -> Result<bool> {
        Ok(false)
    }
}
