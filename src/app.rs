//! One scrub run, from a resolved configuration: load the key and rules, open input and output,
//! run the pipeline, and leave either a complete output or none.
//!
//! The command-line layer (the binary) only parses flags into a [`Config`]; everything with a
//! failure mode lives here, so it is testable without a process.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::{Error, Result};
use std::io::Read;
use std::path::Path;

use crate::archive::custom::{CustomReader, CustomWriter};
use crate::archive::directory::{DirectoryReader, DirectoryWriter};
use crate::archive::tar::{TarOptions, TarReader, TarWriter};
use crate::input::{Input, Opened};
use crate::manifest;
use crate::output::{DumpFormat, OutputCompression, Sink};
use crate::pipeline::Options;
use crate::pipeline::archive::{
    ArchiveInput, ArchiveOutput, ArchiveRun, Prepared, archive_compression, prepare, transfer,
};
use crate::progress::Progress;
use crate::report::Report;
use crate::rules::RuleSet;
use crate::rules::schema::Schema;
use crate::transform::SecretKey;
use std::io::Write;

/// When to draw progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    Auto,
    Always,
    Never,
}

/// Everything a run needs, already validated by the command line.
#[derive(Debug, Clone)]
pub struct Config {
    pub rules: Option<PathBuf>,
    pub input: Option<PathBuf>,
    pub output: Option<PathBuf>,
    pub compress: Option<OutputCompression>,
    /// Output format; `None` keeps the input's.
    pub format: Option<DumpFormat>,
    pub secret_file: Option<PathBuf>,
    pub options: Options,
    pub progress: ProgressMode,
    pub quiet: bool,
    pub report: Option<PathBuf>,
}

/// The environment variable holding the secret key.
pub const SECRET_ENV: &str = "SCRUB_SECRET";

/// Reads the key from `--secret-file` or `SCRUB_SECRET`; `None` if neither is given.
pub fn load_key(secret_file: Option<&std::path::Path>) -> Result<Option<SecretKey>> {
    let bytes = match secret_file {
        Some(path) => {
            // A key problem is a usage error (status 2), like a missing or empty key.
            let mut bytes = std::fs::read(path)
                .map_err(|e| Error::Usage(format!("reading the secret file {}: {e}", path.display())))?;
            // A trailing newline from `echo` or an editor is not part of the key.
            while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                bytes.pop();
            }
            if bytes.is_empty() {
                return Err(Error::Usage(format!("the secret file {} is empty", path.display())));
            }
            bytes
        }
        None => match std::env::var_os(SECRET_ENV) {
            Some(v) if !v.is_empty() => v.into_encoded_bytes(),
            Some(_) => return Err(Error::Usage(format!("{SECRET_ENV} is set but empty"))),
            None => return Ok(None),
        },
    };
    SecretKey::new(bytes).map(Some).map_err(Error::Usage)
}

/// Runs scrub. `interrupted` holds the number of a signal that arrived (0 for none); the run then
/// stops and cleans up.
pub fn run(config: &Config, interrupted: &Arc<AtomicUsize>) -> Result<Report> {
    let key = load_key(config.secret_file.as_deref())?;
    let rules = match &config.rules {
        Some(path) => RuleSet::load(path, key.as_ref())?,
        None => RuleSet::keep_everything(),
    };
    let opened = crate::input::open_any(config.input.as_deref())?;
    let (size, read) = match &opened {
        Opened::Plain(i) | Opened::Custom(i) | Opened::Tar(i) => (i.size, i.read.clone()),
        Opened::Directory(_) => (None, Arc::default()),
    };
    let show = match config.progress {
        ProgressMode::Always => true,
        ProgressMode::Never => false,
        ProgressMode::Auto => !config.quiet && std::io::stderr().is_terminal(),
    };
    let progress = Progress::new(show, config.quiet, size, read);
    if rules.path.is_none() {
        progress.warn("no --rules given: every value is copied unchanged".into());
    }
    let ctx = RunContext { config, rules: &rules, key: key.as_ref(), progress: &progress, interrupted };
    let result = match opened {
        Opened::Plain(input) => run_plain_input(&ctx, input),
        archive => run_archive_input(&ctx, archive),
    };
    let warnings = progress.finish();
    let mut report = result?;
    report.warnings = warnings;
    if let Some(path) = &config.report {
        let json = serde_json::to_vec_pretty(&report).expect("the report serializes");
        std::fs::write(path, json).map_err(|e| Error::io(format!("writing the report {}", path.display()), e))?;
    }
    Ok(report)
}

struct RunContext<'a> {
    config: &'a Config,
    rules: &'a RuleSet,
    key: Option<&'a SecretKey>,
    progress: &'a Progress,
    interrupted: &'a Arc<AtomicUsize>,
}

impl RunContext<'_> {
    fn interruptible<R>(&self, inner: R) -> Interruptible<R> {
        Interruptible { inner, flag: self.interrupted.clone() }
    }

    /// The manifest settings, when the rules change anything (a run that changes nothing writes
    /// its input unchanged, without a manifest).
    fn manifest_settings(&self) -> Result<Option<manifest::Settings>> {
        if !manifest::rules_change_data(self.rules) {
            return Ok(None);
        }
        manifest::settings(self.rules, self.key).map(Some)
    }

    /// The compression of a plain output: `-Z`, else the `-o` extension, else none.
    fn plain_compression(&self) -> OutputCompression {
        self.config
            .compress
            .or_else(|| self.config.output.as_deref().map(OutputCompression::from_extension))
            .unwrap_or(OutputCompression::None)
    }
}

fn run_plain_input(ctx: &RunContext<'_>, input: Input) -> Result<Report> {
    let config = ctx.config;
    if let Some(format) = config.format.filter(|f| *f != DumpFormat::Plain) {
        return Err(Error::Usage(format!(
            "a plain SQL dump can only be written as plain SQL, not as a {} archive: an archive's table of contents cannot be rebuilt from a script. Restore it and run pg_dump -F{}",
            format.name(),
            format.letter()
        )));
    }
    if ctx.rules.subsets() {
        return run_plain_subset(ctx, input);
    }
    // pg_dump writes constraints after the data. When the input is a file it can be read twice,
    // so the rules are checked against the whole schema, foreign keys included, before the data
    // pass; from a pipe, constraints are checked as they arrive.
    let schema = match (&config.input, input.size, ctx.rules.tables.is_empty()) {
        (Some(path), Some(_), false) if path != Path::new("-") => {
            if input.compression == crate::input::Compression::None {
                crate::pipeline::prescan_plain_file(path, &config.options)?.0
            } else {
                crate::pipeline::prescan_plain(crate::input::open(Some(path))?.reader, &config.options)?
            }
        }
        _ => Schema::default(),
    };
    write_plain(ctx, input.reader, schema, None)
}

/// Subsets a plain dump: one pass learns the schema and where each COPY block is (spooling the
/// input when it cannot seek: standard input, compressed files), the phases read the tables they
/// need by byte range, and the output pass reads the file (or the spool) once more.
fn run_plain_subset(ctx: &RunContext<'_>, input: Input) -> Result<Report> {
    let config = ctx.config;
    let opts = &config.options;
    let seekable = match &config.input {
        Some(path) if path != Path::new("-") && input.size.is_some() => {
            (input.compression == crate::input::Compression::None).then(|| path.clone())
        }
        _ => None,
    };
    let mut spool = None;
    let (schema, spans) = match &seekable {
        Some(path) => crate::pipeline::prescan_plain_file(path, opts)?,
        None => {
            let s = spool.insert(crate::subset::source::Spool::new().map_err(|e| {
                Error::io(format!("creating a spool file in {}", crate::cleanup::temp_dir().display()), e)
            })?);
            let tee = crate::subset::source::Tee { inner: ctx.interruptible(input.reader), spool: s };
            let found = crate::pipeline::prescan_plain_spans(tee, opts)?;
            s.finish().map_err(|e| Error::io("writing the spool file", e))?;
            found
        }
    };
    let tables: Vec<_> = spans
        .iter()
        .map(|s| crate::subset::graph::DataTable { name: s.copy.table.clone(), columns: s.copy.columns.clone() })
        .collect();
    let graph = crate::subset::graph::Graph::build(&schema, ctx.rules, &tables, ctx.key)?;
    if !schema.is_empty() {
        crate::rules::bind::Binder::new(ctx.rules, ctx.key).check(&schema)?;
    }
    let bytes = match (&seekable, &spool) {
        (Some(path), _) => crate::subset::source::PlainBytes::File(path.clone()),
        (None, Some(s)) => crate::subset::source::PlainBytes::Spool(s),
        (None, None) => unreachable!("input that cannot seek is spooled"),
    };
    let mut source = crate::subset::source::PlainSource { bytes, spans, max_row_bytes: opts.max_row_bytes };
    let selection = crate::subset::select(&graph, &mut source, opts.memory_limit, ctx.key)?;
    match (&seekable, &spool) {
        (Some(path), _) => write_plain(ctx, crate::input::open(Some(path))?.reader, schema, Some(&selection)),
        (None, Some(s)) => write_plain(ctx, Box::new(s.range(0, s.len())), schema, Some(&selection)),
        (None, None) => unreachable!("input that cannot seek is spooled"),
    }
}

/// The output pass of a plain dump.
fn write_plain<R: Read>(
    ctx: &RunContext<'_>,
    reader: R,
    schema: Schema,
    selection: Option<&crate::subset::Selection>,
) -> Result<Report> {
    let config = ctx.config;
    let mut sink = Sink::create(config.output.as_deref(), ctx.plain_compression())?;
    let reader = ctx.interruptible(reader);
    let header = ctx.manifest_settings()?.map(|s| manifest::plain_header(&s));
    let pipeline_ctx = crate::pipeline::Context {
        rules: ctx.rules,
        key: ctx.key,
        opts: &config.options,
        progress: ctx.progress,
        manifest_header: header.as_deref(),
        selection,
    };
    let report = crate::pipeline::run_plain(reader, &mut sink, schema, &pipeline_ctx)?;
    if header.is_some() {
        let trailer = manifest::plain_trailer(&manifest::tables(&report));
        let trailer = if report.crlf { manifest::to_crlf(&trailer) } else { trailer };
        sink.write_all(&trailer).map_err(|e| Error::io("writing output", e))?;
    }
    sink.finish()?;
    Ok(report)
}

/// Subsetting an archive reads its tables by TOC entry from a file: an archive arriving on
/// standard input is first copied (as it is, compressed) to a temporary file.
fn archive_file(
    ctx: &RunContext<'_>,
    opened: Opened,
) -> Result<(Opened, Option<crate::cleanup::Tracked<tempfile::NamedTempFile>>)> {
    let from_file = ctx.config.input.as_deref().filter(|p| *p != Path::new("-")).is_some();
    match opened {
        Opened::Custom(i) | Opened::Tar(i) if !from_file || i.size.is_none() => {
            let mut temp = crate::cleanup::named_temp_file(".scrub-input.").map_err(|e| {
                Error::io(format!("creating a temporary file in {}", crate::cleanup::temp_dir().display()), e)
            })?;
            let mut reader = ctx.interruptible(i.reader);
            std::io::copy(&mut reader, temp.as_file_mut())
                .map_err(|e| Error::io("copying the archive to a temporary file", e))?;
            let reopened = crate::input::open_any(Some(temp.path()))?;
            Ok((reopened, Some(temp)))
        }
        other => Ok((other, None)),
    }
}

/// Decides the rows of every table of an archive.
fn select_archive(
    ctx: &RunContext<'_>,
    input: &ArchiveInput,
    path: &Path,
    format: DumpFormat,
) -> Result<crate::subset::Selection> {
    let toc = input.toc();
    let schema = crate::pipeline::archive::schema_from_toc(toc)?;
    let found = crate::pipeline::archive::data_tables(toc);
    let tables: Vec<_> = found.iter().map(|(t, _, _)| t.clone()).collect();
    let graph = crate::subset::graph::Graph::build(&schema, ctx.rules, &tables, ctx.key)?;
    if !schema.is_empty() {
        crate::rules::bind::Binder::new(ctx.rules, ctx.key).check(&schema)?;
    }
    let mut source = crate::subset::source::ArchiveSource {
        file: crate::subset::source::ArchiveFile::index(path, format)?,
        entries: found.into_iter().map(|(_, id, label)| (id, label)).collect(),
        max_row_bytes: ctx.config.options.max_row_bytes,
    };
    crate::subset::select(&graph, &mut source, ctx.config.options.memory_limit, ctx.key)
}

fn run_archive_input(ctx: &RunContext<'_>, opened: Opened) -> Result<Report> {
    let config = ctx.config;
    let (opened, spooled) = if ctx.rules.subsets() { archive_file(ctx, opened)? } else { (opened, None) };
    let path = match (&opened, &spooled) {
        (Opened::Directory(p), _) => Some(p.clone()),
        (_, Some(temp)) => Some(temp.path().to_path_buf()),
        _ => config.input.clone(),
    };
    let (mut input, in_format) = match opened {
        Opened::Custom(i) => {
            (ArchiveInput::Custom(CustomReader::new(boxed(ctx.interruptible(i.reader)))?), DumpFormat::Custom)
        }
        Opened::Tar(i) => (ArchiveInput::Tar(TarReader::new(boxed(ctx.interruptible(i.reader)))?), DumpFormat::Tar),
        Opened::Directory(p) => (ArchiveInput::Directory(DirectoryReader::open(&p)?), DumpFormat::Directory),
        Opened::Plain(_) => unreachable!("plain input is handled by run_plain_input"),
    };
    let format = config.format.unwrap_or(in_format);
    let version = input.toc().header.version;
    let compression = match (format, config.compress) {
        (DumpFormat::Tar, Some(c)) if c != OutputCompression::None => {
            return Err(Error::Usage("tar archives cannot be compressed (as with pg_dump -Ft)".into()));
        }
        (DumpFormat::Tar | DumpFormat::Plain, _) => None,
        (_, Some(c)) => Some(archive_compression(c, version).0),
        (_, None) => None,
    };
    let selection = match (&path, ctx.rules.subsets()) {
        (Some(path), true) => Some(select_archive(ctx, &input, path, in_format)?),
        _ => None,
    };
    let run = ArchiveRun {
        rules: ctx.rules,
        key: ctx.key,
        opts: &config.options,
        progress: ctx.progress,
        subset: selection.as_ref(),
    };
    let mut prepared = prepare(input.toc(), &run, compression)?;
    let settings = ctx.manifest_settings()?;
    if let Some(settings) = &settings
        && matches!(format, DumpFormat::Custom | DumpFormat::Tar)
    {
        let planned = manifest::Manifest { settings: settings.clone(), tables: prepared.planned_tables() };
        prepared.add_manifest_entry(&planned);
    }
    let output = config.output.as_deref();
    let mut report = match format {
        DumpFormat::Custom => write_custom(output, &mut input, &prepared, &run)?,
        DumpFormat::Tar => {
            let mut sink = Sink::create(output, OutputCompression::None)?;
            let opts = TarOptions { mtime: Some(creation_epoch(&prepared.toc().header)), ..TarOptions::default() };
            let mut writer = ArchiveOutput::Tar(TarWriter::with_options(&mut sink, prepared.toc().clone(), opts)?);
            let report = transfer(&mut input, &mut writer, &prepared, &run)?;
            writer.finish()?;
            sink.finish()?;
            report
        }
        DumpFormat::Directory => write_directory(output, &mut input, &prepared, &run, settings)?,
        DumpFormat::Plain => write_plain_via_pg_restore(ctx, &mut input, &prepared, &run)?,
    };
    report.notes.extend(prepared.notes.iter().cloned());
    Ok(report)
}

fn boxed<R: Read + Send + 'static>(r: R) -> Box<dyn Read + Send> {
    Box::new(r)
}

/// Seconds since 1970 of an archive's creation time, so tar member times are reproducible.
fn creation_epoch(header: &crate::archive::Header) -> u64 {
    let c = &header.created;
    let (y, m, d) = (i64::from(c.year) + 1900, i64::from(c.mon) + 1, i64::from(c.mday));
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + i64::from(c.hour) * 3600 + i64::from(c.min) * 60 + i64::from(c.sec);
    u64::try_from(secs).unwrap_or(0)
}

/// A custom archive goes to a temporary file beside the target (renamed on success, with data
/// offsets filled in so `pg_restore -j` can plan), or to stdout in TOC order.
fn write_custom(
    output: Option<&Path>,
    input: &mut ArchiveInput,
    prepared: &Prepared,
    run: &ArchiveRun<'_>,
) -> Result<Report> {
    match crate::output::regular_file_target(output)? {
        Some(target) => {
            let file = target.file.as_file().try_clone().map_err(|e| Error::io("opening the output", e))?;
            let mut writer = ArchiveOutput::Custom(CustomWriter::new(file, prepared.toc().clone())?);
            let report = transfer(input, &mut writer, prepared, run)?;
            if let ArchiveOutput::Custom(w) = &mut writer {
                w.finalize_offsets()?;
            }
            writer.finish()?;
            target.persist()?;
            Ok(report)
        }
        None => {
            let mut sink = Sink::create(output, OutputCompression::None)?;
            let mut writer = ArchiveOutput::Custom(CustomWriter::new(&mut sink, prepared.toc().clone())?);
            let report = transfer(input, &mut writer, prepared, run)?;
            writer.finish()?;
            sink.finish()?;
            Ok(report)
        }
    }
}

/// A directory archive is built under a temporary name beside the target and renamed at the end.
fn write_directory(
    output: Option<&Path>,
    input: &mut ArchiveInput,
    prepared: &Prepared,
    run: &ArchiveRun<'_>,
    settings: Option<manifest::Settings>,
) -> Result<Report> {
    let target = output.ok_or_else(|| Error::Usage("a directory archive needs -o DIRECTORY".into()))?;
    if target.exists() && std::fs::read_dir(target).map(|mut d| d.next().is_some()).unwrap_or(true) {
        return Err(Error::Usage(format!("{} exists and is not an empty directory", target.display())));
    }
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    // Registered, so that SIGINT/SIGTERM removes it whatever the run is blocked on.
    let staging = crate::cleanup::create(true, || {
        let dir = tempfile::Builder::new().prefix(&format!(".{name}.")).suffix(".scrub-partial").tempdir_in(parent)?;
        let path = dir.path().to_path_buf();
        Ok((dir, path))
    })
    .map_err(|e| Error::io(format!("creating a temporary directory in {}", parent.display()), e))?;
    let build = staging.path().join("archive");
    let mut writer =
        ArchiveOutput::<std::io::Sink>::Directory(DirectoryWriter::create(&build, prepared.toc().clone())?);
    let report = transfer(input, &mut writer, prepared, run)?;
    writer.finish()?;
    if let Some(settings) = settings {
        let full = manifest::Manifest { settings, tables: manifest::tables(&report) };
        let json = serde_json::to_vec_pretty(&full).expect("the manifest serializes");
        std::fs::write(build.join(manifest::FILE_NAME), json).map_err(|e| Error::io("writing the manifest", e))?;
    }
    crate::cleanup::commit(|| {
        if target.exists() {
            std::fs::remove_dir(target)?;
        }
        std::fs::rename(&build, target)
    })
    .map_err(|e| Error::io(format!("moving the archive to {}", target.display()), e))?;
    Ok(report)
}

/// Plain output from an archive is exactly what pg_restore prints for the sanitized archive: it
/// is written as an uncompressed custom archive to a temporary file, then `pg_restore -f -`
/// (from `SCRUB_PG_RESTORE`, else PATH) turns it into the script.
fn write_plain_via_pg_restore(
    ctx: &RunContext<'_>,
    input: &mut ArchiveInput,
    prepared: &Prepared,
    run: &ArchiveRun<'_>,
) -> Result<Report> {
    let mut toc = prepared.toc().clone();
    toc.header.compression = archive_compression(OutputCompression::None, toc.header.version).0;
    let temp = crate::cleanup::named_temp_file(".scrub-archive.").map_err(|e| {
        Error::io(format!("creating a temporary archive in {}", crate::cleanup::temp_dir().display()), e)
    })?;
    let file = temp.as_file().try_clone().map_err(|e| Error::io("opening the temporary archive", e))?;
    let mut writer = ArchiveOutput::Custom(CustomWriter::new(file, toc)?);
    let report = transfer(input, &mut writer, prepared, run)?;
    if let ArchiveOutput::Custom(w) = &mut writer {
        w.finalize_offsets()?;
    }
    writer.finish()?;
    let program = std::env::var_os("SCRUB_PG_RESTORE").unwrap_or_else(|| "pg_restore".into());
    let mut child = std::process::Command::new(&program)
        .arg("-f")
        .arg("-")
        .arg(temp.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| Error::io(format!("running {} to write the plain script", program.to_string_lossy()), e))?;
    let mut sink = Sink::create(ctx.config.output.as_deref(), ctx.plain_compression())?;
    let mut stdout = child.stdout.take().expect("piped");
    let copied = std::io::copy(&mut stdout, &mut sink);
    let status = child.wait().map_err(|e| Error::io("waiting for pg_restore", e))?;
    copied.map_err(|e| Error::io("writing the plain script", e))?;
    if !status.success() {
        return Err(Error::Usage(format!(
            "{} failed ({status}) writing the plain script; is it new enough for archive version {}?",
            program.to_string_lossy(),
            prepared.toc().header.version
        )));
    }
    sink.finish()?;
    Ok(report)
}

/// Stops reading once a signal arrived, so the run unwinds and removes its temporary output.
struct Interruptible<R> {
    inner: R,
    flag: Arc<AtomicUsize>,
}

impl<R: std::io::Read> std::io::Read for Interruptible<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.flag.load(Ordering::Relaxed) != 0 {
            return Err(std::io::Error::other("interrupted by a signal"));
        }
        self.inner.read(buf)
    }
}
