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
use crate::output::{OutputCompression, Sink};
use crate::pipeline::Options;
use crate::progress::Progress;
use crate::report::Report;
use crate::rules::RuleSet;
use crate::rules::schema::Schema;
use crate::transform::SecretKey;

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
            let mut bytes =
                std::fs::read(path).map_err(|e| Error::io(format!("reading the secret file {}", path.display()), e))?;
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
    let input = crate::input::open(config.input.as_deref())?;
    // pg_dump writes constraints after the data. When the input is a file it can be read twice,
    // so the rules are checked against the whole schema, foreign keys included, before the data
    // pass; from a pipe, constraints are checked as they arrive.
    let schema = match (&config.input, input.size, rules.tables.is_empty()) {
        (Some(path), Some(_), false) if path != std::path::Path::new("-") => {
            crate::pipeline::prescan_plain(crate::input::open(Some(path))?.reader, &config.options)?
        }
        _ => Schema::default(),
    };
    let compression = config
        .compress
        .or_else(|| config.output.as_deref().map(OutputCompression::from_extension))
        .unwrap_or(OutputCompression::None);
    let show = match config.progress {
        ProgressMode::Always => true,
        ProgressMode::Never => false,
        ProgressMode::Auto => !config.quiet && std::io::stderr().is_terminal(),
    };
    let progress = Progress::new(show, config.quiet, input.size, input.read.clone());
    if rules.path.is_none() {
        progress.warn("no --rules given: every value is copied unchanged".into());
    }
    let mut sink = Sink::create(config.output.as_deref(), compression, config.options.jobs)?;
    let reader = Interruptible { inner: input.reader, flag: interrupted.clone() };
    let result =
        crate::pipeline::run_plain(reader, &mut sink, &rules, key.as_ref(), schema, &config.options, &progress);
    let warnings = progress.finish();
    let mut report = result?;
    sink.finish()?;
    report.warnings = warnings;
    if let Some(path) = &config.report {
        let json = serde_json::to_vec_pretty(&report).expect("the report serializes");
        std::fs::write(path, json).map_err(|e| Error::io(format!("writing the report {}", path.display()), e))?;
    }
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
