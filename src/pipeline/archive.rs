//! pg_dump archives (custom, directory, tar) through the rules: read the TOC, check the rules
//! against the schema it declares (constraints included, since the TOC comes before any data),
//! then stream every data entry through the same COPY pipeline as plain dumps and write the
//! result as an archive of any format.
//!
//! Entries are written in TOC order, which is the order of the data in custom and tar input, so
//! nothing needs seeking and custom or tar archives can come from a pipe. Tables without rules
//! are copied without decompressing when input and output use the same format and compression.
//! This module does not know byte layouts; [`crate::archive`] does.

use std::collections::BTreeSet;
use std::io::{self, Read, Write};
use std::sync::Arc;

use super::{Options, run_copy_data};
use crate::archive::compress::Level;
use crate::archive::custom::{BlockKind, CustomReader, CustomWriter};
use crate::archive::directory::{DirectoryReader, DirectoryWriter};
use crate::archive::tar::{MemberKind, TarReader, TarWriter};
use crate::archive::{Algorithm, ArchiveCompression, ArchiveError, ArchiveVersion, DumpId, Toc, TocEntry};
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::report::Report;
use crate::rules::bind::{Binder, TablePlan};
use crate::rules::schema::Schema;
use crate::rules::{LargeObjects, RuleSet};
use crate::sql::ddl::{Statement, classify};
use crate::transform::SecretKey;

/// An archive being read.
pub enum ArchiveInput {
    Custom(CustomReader<Box<dyn Read + Send>>),
    Tar(TarReader<Box<dyn Read + Send>>),
    Directory(DirectoryReader),
}

impl ArchiveInput {
    pub fn toc(&self) -> &Toc {
        match self {
            ArchiveInput::Custom(r) => r.toc(),
            ArchiveInput::Tar(r) => r.toc(),
            ArchiveInput::Directory(r) => r.toc(),
        }
    }
}

/// An archive being written.
pub enum ArchiveOutput<W: Write + Send> {
    Custom(CustomWriter<W>),
    Tar(TarWriter<W>),
    Directory(DirectoryWriter),
}

impl<W: Write + Send> ArchiveOutput<W> {
    /// Completes the archive: checks that every entry with data got it, writes the trailer.
    pub fn finish(self) -> Result<()> {
        match self {
            ArchiveOutput::Custom(w) => drop(w.finish()?),
            ArchiveOutput::Tar(w) => drop(w.finish()?),
            ArchiveOutput::Directory(w) => w.finish()?,
        }
        Ok(())
    }

    fn toc(&self) -> &Toc {
        match self {
            ArchiveOutput::Custom(w) => w.toc(),
            ArchiveOutput::Tar(w) => w.toc(),
            ArchiveOutput::Directory(w) => w.toc(),
        }
    }
}

/// Everything a run shares.
pub struct ArchiveRun<'a> {
    pub rules: &'a RuleSet,
    pub key: Option<&'a SecretKey>,
    pub opts: &'a Options,
    pub progress: &'a Progress,
    /// Subsetting: which rows of each table to write.
    pub subset: Option<&'a crate::subset::Selection>,
}

impl From<ArchiveError> for Error {
    fn from(e: ArchiveError) -> Self {
        match e {
            // Only writes fail so: the program reading the output went away (as for plain output).
            ArchiveError::Io { source, .. } if source.kind() == io::ErrorKind::BrokenPipe => Error::BrokenPipe,
            e => Error::Archive(Box::new(e)),
        }
    }
}

fn label_of(toc: &Toc, dump_id: DumpId) -> String {
    toc.entry(dump_id).map_or_else(|| format!("dumpId {dump_id}"), |e| e.label().to_string())
}

fn text(s: &Option<Vec<u8>>) -> &[u8] {
    s.as_deref().unwrap_or_default()
}

/// The tables with COPY data in an archive, in TOC order, with their data entries.
pub fn data_tables(toc: &Toc) -> Vec<(crate::subset::graph::DataTable, DumpId, String)> {
    toc.entries
        .iter()
        .filter(|e| e.had_dumper && e.is_table_data())
        .filter_map(|e| match classify(e.copy_stmt.as_deref()?, true) {
            Statement::CopyFromStdin(c) => Some((
                crate::subset::graph::DataTable { name: c.table, columns: c.columns },
                e.dump_id,
                e.label().to_string(),
            )),
            _ => None,
        })
        .collect()
}

/// Learns the schema from the TOC: every `CREATE TABLE`, constraint, index and type it defines.
pub fn schema_from_toc(toc: &Toc) -> Result<Schema> {
    let std_strings =
        !toc.entries.iter().any(|e| e.desc_is("STDSTRINGS") && memchr::memmem::find(text(&e.defn), b"'off'").is_some());
    let mut schema = Schema::default();
    for entry in &toc.entries {
        let Some(defn) = &entry.defn else { continue };
        if entry.desc_is("ENCODING") {
            if let Statement::ClientEncoding(enc) = classify(defn, std_strings) {
                super::plain::refuse_unsafe_encoding(&enc).map_err(Error::Usage)?;
            }
            continue;
        }
        // A definition can hold several statements (a table and its column defaults, say).
        let mut splitter = crate::sql::lexer::Splitter::default();
        splitter.set_standard_conforming_strings(std_strings);
        let mut rest: &[u8] = defn;
        while let crate::sql::lexer::Scan::Statement { start, end } = splitter.scan(rest, true) {
            match classify(&rest[start..end], std_strings) {
                Statement::CreateTable(def) => schema.add_table(def),
                Statement::AttachPartition { parent, child } => schema.add_attach(parent, child),
                Statement::Constraint(c) => schema.add_constraint(c),
                Statement::CreateCompositeType { name, fields } => schema.add_composite(name, fields),
                _ => {}
            }
            rest = &rest[end..];
            splitter = crate::sql::lexer::Splitter::default();
            splitter.set_standard_conforming_strings(std_strings);
        }
    }
    Ok(schema)
}

/// What happens to each data entry.
enum Treatment {
    /// Copy unchanged (raw when possible).
    Copy,
    /// Through the COPY pipeline with this plan.
    Rows(Arc<TablePlan>),
}

/// The plan for every TABLE DATA entry, the output TOC, and the notes for the summary.
pub struct Prepared {
    toc: Toc,
    treatments: Vec<(DumpId, Treatment)>,
    removed: BTreeSet<DumpId>,
    pub notes: Vec<String>,
}

/// Checks the rules against the archive and plans every entry. `compression` overrides the
/// output compression.
pub fn prepare(input: &Toc, run: &ArchiveRun<'_>, compression: Option<ArchiveCompression>) -> Result<Prepared> {
    let schema = schema_from_toc(input)?;
    let mut binder = Binder::new(run.rules, run.key);
    if !schema.is_empty() {
        for warning in binder.check(&schema)? {
            run.progress.warn(format!("column not covered by the rules, copied unchanged: {warning}"));
        }
    }
    let std_strings = true;
    let mut treatments = Vec::new();
    let mut rewritten_tables = BTreeSet::new();
    let mut block = 0;
    for entry in input.entries.iter().filter(|e| e.had_dumper && e.is_table_data()) {
        let copy = entry.copy_stmt.as_deref().map(|c| classify(c, std_strings));
        let treatment = match copy {
            Some(Statement::CopyFromStdin(copy)) => {
                let mut plan = binder.plan(&schema, &copy, block)?;
                plan.subset = run.subset.and_then(|s| s.filter(&copy.table));
                block += 1;
                if !plan.is_identity() {
                    rewritten_tables.insert(entry.dump_id);
                    for dep in &entry.dependencies {
                        rewritten_tables.insert(*dep);
                    }
                }
                Treatment::Rows(Arc::new(plan))
            }
            _ => {
                // INSERT-style data (pg_dump --inserts): SQL statements scrub cannot rewrite.
                let name = crate::sql::QualifiedName::new(
                    String::from_utf8_lossy(text(&entry.namespace)),
                    String::from_utf8_lossy(text(&entry.tag)),
                );
                let touched = run.subset.and_then(|s| s.filter(&name)).is_some()
                    || schema.rules_for(run.rules, &name).is_some_and(|(_, t)| {
                        t.data == crate::rules::DataAction::Drop || t.columns.values().any(|c| !c.is_keep())
                    });
                if touched {
                    return Err(Error::Usage(format!(
                        "{}: the table's data is stored as INSERT statements (pg_dump --inserts), which scrub cannot rewrite; dump with COPY (pg_dump's default)",
                        entry.label()
                    )));
                }
                Treatment::Copy
            }
        };
        treatments.push((entry.dump_id, treatment));
    }
    let mut toc = input.clone();
    let mut removed = BTreeSet::new();
    let mut notes = Vec::new();
    // PostgreSQL 18 statistics hold real values (most common values, histograms).
    for e in &toc.entries {
        if e.desc_is("STATISTICS DATA") && e.dependencies.iter().any(|d| rewritten_tables.contains(d)) {
            removed.insert(e.dump_id);
        }
    }
    if !removed.is_empty() {
        notes.push(format!(
            "dropped {} STATISTICS DATA entries of rewritten tables (they hold real values)",
            removed.len()
        ));
    }
    if run.rules.large_objects == LargeObjects::Drop {
        let blob_ids: BTreeSet<DumpId> = toc
            .entries
            .iter()
            .filter(|e| e.desc_is("BLOB") || e.desc_is("BLOBS") || e.desc_is("BLOB METADATA"))
            .map(|e| e.dump_id)
            .collect();
        let dependents: Vec<DumpId> = toc
            .entries
            .iter()
            .filter(|e| {
                e.dependencies.iter().any(|d| blob_ids.contains(d)) && (e.desc_is("ACL") || e.desc_is("COMMENT"))
            })
            .map(|e| e.dump_id)
            .collect();
        if !blob_ids.is_empty() {
            notes.push("dropped the large objects (large_objects = \"drop\")".into());
        }
        removed.extend(blob_ids);
        removed.extend(dependents);
    }
    toc.entries.retain(|e| !removed.contains(&e.dump_id));
    if let Some(c) = compression {
        check_compression(toc.header.version, c)?;
        toc.header.compression = c;
    }
    Ok(Prepared { toc, treatments, removed, notes })
}

/// Archive versions before 1.15 (pg_dump ≤ 15) store a zlib level and cannot say lz4 or zstd.
fn check_compression(version: ArchiveVersion, c: ArchiveCompression) -> Result<()> {
    if version < ArchiveVersion::V1_15 && matches!(c, ArchiveCompression::Lz4 | ArchiveCompression::Zstd) {
        return Err(Error::Usage(format!(
            "this archive is version {version} (pg_dump 15 or older), whose pg_restore reads only gzip or uncompressed data; use -Z gzip or -Z none"
        )));
    }
    Ok(())
}

impl Prepared {
    /// The output TOC (before format normalisation by the writer).
    pub fn toc(&self) -> &Toc {
        &self.toc
    }

    /// Each table's planned treatment, for a manifest written before the data.
    pub fn planned_tables(&self) -> Vec<crate::manifest::TableEntry> {
        self.treatments
            .iter()
            .filter_map(|(_, t)| match t {
                Treatment::Rows(plan) => Some(crate::manifest::TableEntry {
                    table: plan.table.to_string(),
                    rows_in: None,
                    rows_out: None,
                    dropped: plan.drop,
                    rewritten: plan.rewritten().into_iter().map(|(c, t)| format!("{c}: {t}")).collect(),
                }),
                Treatment::Copy => None,
            })
            .collect()
    }

    /// Adds a TOC entry carrying `manifest` in its tag: a COMMENT with an empty definition, so
    /// pg_restore lists it and restores nothing from it.
    pub fn add_manifest_entry(&mut self, manifest: &crate::manifest::Manifest) {
        let dump_id = self.toc.entries.iter().map(|e| e.dump_id).max().unwrap_or(0) + 1;
        self.toc.entries.push(TocEntry {
            dump_id,
            had_dumper: false,
            tableoid: Some(b"0".to_vec()),
            oid: Some(b"0".to_vec()),
            tag: Some(crate::manifest::toc_tag(manifest).into_bytes()),
            desc: Some(b"COMMENT".to_vec()),
            section: crate::archive::toc::Section::None,
            defn: Some(Vec::new()),
            drop_stmt: Some(Vec::new()),
            copy_stmt: None,
            namespace: None,
            tablespace: None,
            tableam: None,
            relkind: 0,
            owner: None,
            with_oids: Some(b"false".to_vec()),
            dependencies: Vec::new(),
            extra: crate::archive::toc::TocExtra::Filename(Some(String::new())),
        });
    }
}

/// Copies one entry's decompressed data through the pipeline (or unchanged) into `out`.
fn process_data<R: Read, W: Write + Send>(
    reader: R,
    out: W,
    treatment: Option<&Treatment>,
    run: &ArchiveRun<'_>,
    report: &mut Report,
    label: &dyn std::fmt::Display,
) -> Result<()> {
    match treatment {
        Some(Treatment::Rows(plan)) => {
            let sub =
                run_copy_data(reader, out, plan.clone(), run.opts, run.progress).map_err(|e| with_entry(e, label))?;
            report.merge(sub);
        }
        _ => {
            let mut reader = reader;
            let mut out = out;
            io::copy(&mut reader, &mut out).map_err(|e| Error::io(format!("copying {label}"), e))?;
        }
    }
    Ok(())
}

fn with_entry(e: Error, label: &dyn std::fmt::Display) -> Error {
    match e {
        Error::Input { mut pos, msg } => {
            pos.table = Some(format!("{} in {label}", pos.table.unwrap_or_default()));
            Error::Input { pos, msg }
        }
        other => other,
    }
}

/// Whether raw block copies work: same container and same stream compression.
fn raw_copy_ok(treatment: Option<&Treatment>) -> bool {
    match treatment {
        None | Some(Treatment::Copy) => true,
        Some(Treatment::Rows(plan)) => plan.is_identity(),
    }
}

/// Streams every data entry of `input` into `output`.
pub fn transfer<W: Write + Send>(
    input: &mut ArchiveInput,
    output: &mut ArchiveOutput<W>,
    prepared: &Prepared,
    run: &ArchiveRun<'_>,
) -> Result<Report> {
    let mut report = Report::default();
    let treatment = |id: DumpId| prepared.treatments.iter().find(|(d, _)| *d == id).map(|(_, t)| t);
    let same_compression = input.toc().header.compression.algorithm() == output.toc().header.compression.algorithm();
    match input {
        ArchiveInput::Custom(reader) => {
            while let Some(block) = reader.next_block()? {
                if prepared.removed.contains(&block.dump_id) {
                    continue;
                }
                let label = label_of(reader.toc(), block.dump_id);
                let t = treatment(block.dump_id);
                match block.kind {
                    BlockKind::Data => {
                        if let (ArchiveOutput::Custom(w), true) = (&mut *output, same_compression && raw_copy_ok(t)) {
                            reader.copy_raw_block(w)?;
                            count_rows(&mut report, t);
                            continue;
                        }
                        let data = reader.data()?;
                        write_data(output, block.dump_id, |out| process_data(data, out, t, run, &mut report, &label))?;
                    }
                    BlockKind::Blobs => {
                        if let (ArchiveOutput::Custom(w), true) = (&mut *output, same_compression) {
                            reader.copy_raw_block(w)?;
                            continue;
                        }
                        write_blobs(output, block.dump_id, &mut |put| {
                            while let Some(oid) = reader.next_blob()? {
                                put(oid, &mut reader.data()?)?;
                            }
                            Ok(())
                        })?;
                    }
                }
            }
        }
        ArchiveInput::Tar(reader) => {
            let mut pending_blobs: Option<DumpId> = None;
            let mut blob_files: Vec<(u32, std::fs::File)> = Vec::new();
            while let Some(member) = reader.next_member()? {
                match member.kind {
                    MemberKind::Data { dump_id } => {
                        if prepared.removed.contains(&dump_id) {
                            continue;
                        }
                        let label = label_of(reader.toc(), dump_id);
                        let t = treatment(dump_id);
                        let data = reader.member_data()?;
                        write_data(output, dump_id, |out| process_data(data, out, t, run, &mut report, &label))?;
                    }
                    MemberKind::Blob { oid, blobs_entry: Some(id) } if !prepared.removed.contains(&id) => {
                        // Large objects of one BLOBS entry arrive one member each, before the
                        // list that ends them; spool them so the entry is written whole (to
                        // anonymous files in --temp-dir: nothing is left behind on any exit).
                        pending_blobs = Some(id);
                        let mut spool =
                            crate::cleanup::spool_file().map_err(|e| Error::io("spooling a large object", e))?;
                        reader.copy_member_to(&mut spool)?;
                        blob_files.push((oid, spool));
                    }
                    MemberKind::BlobsToc { .. } => {
                        if let Some(id) = pending_blobs.take() {
                            let files = std::mem::take(&mut blob_files);
                            write_blobs(output, id, &mut |put| {
                                for (oid, file) in &files {
                                    let mut f = file
                                        .try_clone()
                                        .and_then(|mut f| io::Seek::seek(&mut f, io::SeekFrom::Start(0)).map(|_| f))
                                        .map_err(|e| Error::io("reading a spooled large object", e))?;
                                    put(*oid, &mut f)?;
                                }
                                Ok(())
                            })?;
                        }
                    }
                    _ => {}
                }
            }
        }
        ArchiveInput::Directory(reader) => {
            let entries: Vec<TocEntry> = reader.toc().data_entries().cloned().collect();
            if let ArchiveOutput::Directory(w) = &*output {
                let tables: Vec<&TocEntry> =
                    entries.iter().filter(|e| !e.is_blobs() && !prepared.removed.contains(&e.dump_id)).collect();
                let copy_raw = |e: &TocEntry| same_compression && raw_copy_ok(treatment(e.dump_id));
                report.merge(directory_tables_in_parallel(reader, w, &tables, &treatment, &copy_raw, run)?);
            }
            for entry in entries {
                if matches!(output, ArchiveOutput::Directory(_)) && !entry.is_blobs() {
                    continue; // done above
                }
                if prepared.removed.contains(&entry.dump_id) {
                    continue;
                }
                let label = entry.label();
                if entry.is_blobs() {
                    let blobs = reader.blobs(entry.dump_id)?;
                    write_blobs(output, entry.dump_id, &mut |put| {
                        for blob in &blobs {
                            put(blob.oid, &mut reader.open_blob(blob)?)?;
                        }
                        Ok(())
                    })?;
                    continue;
                }
                let t = treatment(entry.dump_id);
                if let (ArchiveOutput::Directory(w), true) = (&mut *output, same_compression && raw_copy_ok(t)) {
                    w.copy_raw_data(reader, entry.dump_id)?;
                    count_rows(&mut report, t);
                    continue;
                }
                let data = reader.open_data(entry.dump_id)?;
                write_data(output, entry.dump_id, |out| process_data(data, out, t, run, &mut report, &label))?;
            }
        }
    }
    Ok(report)
}

/// Directory to directory: every table has its own input and output file, so several tables are
/// processed at once (`--jobs` of them, each with its own chunk workers), which keeps every core
/// busy on dumps of many small tables too. Reports are merged in TOC order and the first error
/// in TOC order is returned, so the result does not depend on the scheduling.
fn directory_tables_in_parallel<'t>(
    reader: &DirectoryReader,
    writer: &crate::archive::directory::DirectoryWriter,
    tables: &[&TocEntry],
    treatment: &(dyn Fn(DumpId) -> Option<&'t Treatment> + Sync),
    copy_raw: &(dyn Fn(&TocEntry) -> bool + Sync),
    run: &ArchiveRun<'_>,
) -> Result<Report> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Vec<Mutex<Option<Result<Report>>>> = tables.iter().map(|_| Mutex::new(None)).collect();
    let one = |entry: &TocEntry| -> Result<Report> {
        let mut report = Report::default();
        let t = treatment(entry.dump_id);
        if copy_raw(entry) {
            writer.copy_raw_data(reader, entry.dump_id)?;
            count_rows(&mut report, t);
            return Ok(report);
        }
        let label = entry.label();
        let data = reader.open_data(entry.dump_id)?;
        let mut out = writer.begin_data(entry.dump_id)?;
        process_data(data, &mut out, t, run, &mut report, &label)?;
        out.finish()?;
        Ok(report)
    };
    std::thread::scope(|scope| {
        for _ in 0..run.opts.jobs.clamp(1, tables.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= tables.len() || failed.load(Ordering::Relaxed) {
                        break;
                    }
                    let result = one(tables[i]);
                    if result.is_err() {
                        failed.store(true, Ordering::Relaxed);
                    }
                    *results[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(result);
                }
            });
        }
    });
    let mut report = Report::default();
    for slot in results {
        match slot.into_inner().unwrap_or_else(|p| p.into_inner()) {
            Some(result) => report.merge(result?),
            // Not started because an earlier table failed: that error comes first in TOC order.
            None => continue,
        }
    }
    Ok(report)
}

/// A table copied raw still appears in the summary (its rows are not counted).
fn count_rows(report: &mut Report, t: Option<&Treatment>) {
    if let Some(Treatment::Rows(plan)) = t {
        report.copied_raw(plan);
    }
}

/// Opens the output's data writer for `dump_id`, runs `fill` on it, and finishes it.
fn write_data<W: Write + Send>(
    output: &mut ArchiveOutput<W>,
    dump_id: DumpId,
    fill: impl FnOnce(&mut (dyn Write + Send)) -> Result<()>,
) -> Result<()> {
    macro_rules! fill_one {
        ($data:expr) => {{
            let mut data = $data;
            fill(&mut data)?;
            data.finish()?;
        }};
    }
    match output {
        ArchiveOutput::Custom(w) => fill_one!(w.begin_data_block(dump_id)?),
        ArchiveOutput::Tar(w) => fill_one!(w.begin_data(dump_id)?),
        ArchiveOutput::Directory(w) => fill_one!(w.begin_data(dump_id)?),
    }
    Ok(())
}

type PutBlob<'p> = dyn FnMut(u32, &mut dyn Read) -> Result<()> + 'p;

/// Writes the large objects of one BLOBS entry: `fill` calls `put(oid, data)` for each.
fn write_blobs<W: Write + Send>(
    output: &mut ArchiveOutput<W>,
    dump_id: DumpId,
    fill: &mut dyn FnMut(&mut PutBlob<'_>) -> Result<()>,
) -> Result<()> {
    let copy = |r: &mut dyn Read, w: &mut dyn Write| {
        io::copy(r, w).map(drop).map_err(|e| Error::io("copying a large object", e))
    };
    // The three writers have the same shape but no common trait.
    macro_rules! put_all {
        ($blobs:expr) => {{
            let mut blobs = $blobs;
            fill(&mut |oid, data| {
                let mut out = blobs.begin_blob(oid)?;
                copy(data, &mut out)?;
                out.finish().map_err(Error::from)
            })?;
            blobs.finish()?;
        }};
    }
    match output {
        ArchiveOutput::Custom(w) => put_all!(w.begin_blobs_block(dump_id)?),
        ArchiveOutput::Tar(w) => put_all!(w.begin_blobs(dump_id)?),
        ArchiveOutput::Directory(w) => put_all!(w.begin_blobs(dump_id)?),
    }
    Ok(())
}

/// The compression an output archive gets from `-Z` (pg_dump's spelling), for its version.
pub fn archive_compression(
    spec: crate::output::OutputCompression,
    version: ArchiveVersion,
) -> (ArchiveCompression, Option<Level>) {
    use crate::output::OutputCompression as O;
    let old = version < ArchiveVersion::V1_15;
    match spec {
        O::None => (ArchiveCompression::None, None),
        O::Gzip(l) => (ArchiveCompression::Gzip { level: old.then_some(l as i32) }, None),
        O::Lz4 => (ArchiveCompression::Lz4, None),
        O::Zstd(_) => (ArchiveCompression::Zstd, None),
    }
}

/// The algorithm of an archive compression, for messages.
pub fn algorithm_name(c: ArchiveCompression) -> &'static str {
    match c.algorithm() {
        Algorithm::None => "none",
        Algorithm::Gzip => "gzip",
        Algorithm::Lz4 => "lz4",
        Algorithm::Zstd => "zstd",
    }
}

/// Shows `visitor` an archive's SQL (every TOC entry's definition) and the rows it asks for, and
/// returns the schema the TOC declares. Reads the data once, in archive order.
pub fn visit_archive(input: &mut ArchiveInput, visitor: &mut dyn super::Visitor) -> Result<Schema> {
    let schema = schema_from_toc(input.toc())?;
    for e in &input.toc().entries {
        for text in [&e.defn, &e.copy_stmt].into_iter().flatten() {
            visitor.sql(text)?;
        }
    }
    let copy_of = |toc: &Toc, id: DumpId| -> Option<crate::sql::ddl::CopyStmt> {
        let entry = toc.entry(id).filter(|e| e.is_table_data())?;
        match classify(entry.copy_stmt.as_deref()?, true) {
            Statement::CopyFromStdin(c) => Some(c),
            _ => None,
        }
    };
    match input {
        ArchiveInput::Custom(reader) => {
            while let Some(block) = reader.next_block()? {
                let Some(copy) = copy_of(reader.toc(), block.dump_id) else { continue };
                if visitor.table(&copy)? {
                    let label = label_of(reader.toc(), block.dump_id);
                    feed_rows(reader.data()?, visitor, &label)?;
                }
            }
        }
        ArchiveInput::Tar(reader) => {
            while let Some(member) = reader.next_member()? {
                let MemberKind::Data { dump_id } = member.kind else { continue };
                let Some(copy) = copy_of(reader.toc(), dump_id) else { continue };
                if visitor.table(&copy)? {
                    let label = label_of(reader.toc(), dump_id);
                    feed_rows(reader.member_data()?, visitor, &label)?;
                }
            }
        }
        ArchiveInput::Directory(reader) => {
            let ids: Vec<DumpId> = reader.toc().data_entries().map(|e| e.dump_id).collect();
            for id in ids {
                let Some(copy) = copy_of(reader.toc(), id) else { continue };
                if visitor.table(&copy)? {
                    let label = label_of(reader.toc(), id);
                    feed_rows(reader.open_data(id)?, visitor, &label)?;
                }
            }
        }
    }
    Ok(schema)
}

/// Hands an entry's COPY data to `visitor` in complete rows, up to the end marker or until the
/// visitor has seen enough.
fn feed_rows(mut data: impl Read, visitor: &mut dyn super::Visitor, label: &str) -> Result<()> {
    use crate::copy::block::{EndMarker, find_end_marker, row_cut};
    const READ: usize = 1 << 20;
    let mut buf: Vec<u8> = Vec::with_capacity(READ);
    let mut resume = 0;
    loop {
        let want = READ.max(buf.len());
        let n = (&mut data)
            .take(want as u64)
            .read_to_end(&mut buf)
            .map_err(|e| Error::io(format!("reading {label}"), e))?;
        let eof = n == 0;
        match find_end_marker(&buf, resume, eof) {
            EndMarker::Found { at, .. } => {
                if at > 0 {
                    visitor.rows(&buf[..at])?;
                }
                return Ok(());
            }
            EndMarker::NotYet { resume: r } => resume = r,
        }
        if let Some(cut) = row_cut(&buf, buf.len()) {
            if !visitor.rows(&buf[..cut])? {
                return Ok(());
            }
            buf.drain(..cut);
            resume = 0;
        }
        if eof {
            return Err(Error::Usage(format!(
                "{label}: the data ends without the \\. end marker: the archive is truncated"
            )));
        }
    }
}
