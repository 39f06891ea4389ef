//! The `scrub` command: parses flags into a [`scrub::app::Config`], runs it, prints the summary
//! and turns the outcome into an exit status. Nothing else lives here.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use clap::{Parser, Subcommand, ValueEnum};
use scrub::app::{Config, ProgressMode};
use scrub::output::{DumpFormat, OutputCompression};
use scrub::pipeline::Options;

/// Sanitize a PostgreSQL dump: stream pg_dump output through column rules.
///
/// Reads any pg_dump output from INPUT or stdin: a plain script (optionally gzip, lz4 or zstd
/// compressed), a custom (-Fc) or tar (-Ft) archive, or a directory (-Fd) archive. Rewrites the
/// columns your rules name with keyed, deterministic transforms, and writes a dump that restores
/// with `psql -v ON_ERROR_STOP=1` or `pg_restore`.
#[derive(Parser, Debug)]
#[command(
    name = "scrub",
    version,
    args_conflicts_with_subcommands = true,
    after_help = "\
Examples:
  pg_dump prod | scrub --rules rules/prod.toml | psql -v ON_ERROR_STOP=1 dev
  scrub --rules rules/prod.toml prod.sql.gz -o dev.sql.zst
  pg_dump -Fc prod | scrub --rules rules/prod.toml | pg_restore -d dev
  scrub --rules rules/prod.toml prod.dump -F d -o dev.dir

The secret key for keyed transforms (hash, uuid, email) comes from the SCRUB_SECRET environment
variable or --secret-file, never from the command line. The same key and input give the same
output on every run; a different key gives unrelated output.

Exit status: 0 success, 1 bad input or I/O failure, 2 bad command line, rules file or key,
130/143 interrupted by SIGINT/SIGTERM."
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,

    /// Dump to read: a plain script, a custom or tar archive, or a directory archive; `-` or
    /// absent for stdin.
    #[arg(value_name = "INPUT")]
    input: Option<PathBuf>,

    /// Rules file (TOML). Without it, every value is copied unchanged.
    #[arg(long, value_name = "FILE")]
    rules: Option<PathBuf>,

    /// Write the result to FILE instead of stdout. A regular file is replaced only on success.
    #[arg(short = 'o', long = "output", alias = "file", value_name = "FILE")]
    output: Option<PathBuf>,

    /// Output format: plain, custom, directory or tar (p, c, d, t), as pg_dump's -F. Default:
    /// the input's format. Archives convert to any format; plain dumps stay plain.
    #[arg(short = 'F', long = "format", value_name = "FORMAT", value_parser = DumpFormat::parse)]
    format: Option<DumpFormat>,

    /// Compress the output: none, gzip[:LEVEL], lz4, zstd[:LEVEL] (default: plain output from the
    /// -o extension .gz/.lz4/.zst, else none; archives keep the input's compression).
    #[arg(short = 'Z', long = "compress", value_name = "METHOD[:LEVEL]", value_parser = OutputCompression::parse)]
    compress: Option<OutputCompression>,

    /// Worker threads for COPY data (default: the available cores).
    #[arg(short = 'j', long = "jobs", value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,

    /// Read the secret key from FILE (a trailing newline is ignored) instead of SCRUB_SECRET.
    #[arg(long, value_name = "FILE")]
    secret_file: Option<PathBuf>,

    /// Write the summary as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,

    /// Progress on stderr: auto (when stderr is a terminal), always, never.
    #[arg(long, value_enum, default_value_t = Progress::Auto, value_name = "WHEN")]
    progress: Progress,

    /// Print no summary, warnings or progress (errors are still printed).
    #[arg(short, long)]
    quiet: bool,

    /// Refuse rows longer than this many bytes instead of buffering them.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 30)]
    max_row_bytes: usize,

    /// Subsetting: memory the key sets may use (e.g. 512M, 2G) before they spill to disk in
    /// --temp-dir instead of failing.
    #[arg(long, value_name = "SIZE", default_value = "1G", value_parser = parse_size)]
    memory_limit: u64,

    /// Directory for spool files (tar output, large objects of tar input, the archive given to
    /// pg_restore for plain output); default: the system's ($TMPDIR or /tmp). Files there have
    /// mode 0600 and are removed on every exit, signals included.
    #[arg(long, value_name = "DIR")]
    temp_dir: Option<PathBuf>,

    /// Target size of the COPY chunks handed to workers (testing and tuning; output is the same
    /// for any value).
    #[arg(long, value_name = "BYTES", hide = true, value_parser = clap::value_parser!(u64).range(1..))]
    chunk_size: Option<u64>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List every table and column of a dump with its type and the rule that covers it; fail
    /// when a column is not covered or a rule does not fit the dump. Writes nothing.
    ///
    /// Run it in CI against each new schema so a new column cannot reach a sanitized dump
    /// unreviewed. No secret key is needed.
    Check {
        /// Plain dump to check; `-` or absent for stdin (a schema-only dump, `pg_dump -s`, is
        /// enough).
        #[arg(value_name = "DUMP")]
        input: Option<PathBuf>,
        /// Rules file (TOML).
        #[arg(long, value_name = "FILE", required = true)]
        rules: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = CheckFormat::Table)]
        format: CheckFormat,
    },
    /// Print the manifest of an artifact scrub wrote (any format): scrub version, rules hash,
    /// key fingerprint, and what happened to each table. Exits with status 1 when there is none.
    Manifest {
        /// The artifact: a plain script, a custom or tar archive, or a directory archive.
        #[arg(value_name = "ARTIFACT")]
        artifact: PathBuf,
    },
    /// Suggest rules: sample the rows of every table, score each column by its name, type and
    /// values (emails, phones, IBANs, cards, IPs, national ids, tokens, person names), print a
    /// report and write a complete rules scaffold (every column, `unlisted_columns = "error"`).
    ///
    /// With -o the scaffold goes to FILE and the report to stdout; without it the scaffold goes
    /// to stdout and the report to stderr. No secret key is needed.
    Scan {
        /// The dump (any format); `-` for stdin.
        #[arg(value_name = "DUMP")]
        input: PathBuf,
        /// Rows to sample from each table: the first N, or `all`.
        #[arg(long, value_name = "N|all", default_value = "1000", value_parser = scrub::inspect::scan::Sample::parse)]
        sample: scrub::inspect::scan::Sample,
        /// Your customer or patient names (one per line), found anywhere, also inside free text,
        /// ignoring case and accents.
        #[arg(long, value_name = "FILE")]
        names: Option<PathBuf>,
        /// Write the scaffold to FILE.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
        /// Write the scaffold as a table (schema,table,column,action,params,evidence) instead of
        /// TOML; `--rules` reads such a `.csv` file.
        #[arg(long)]
        csv: bool,
    },
    /// Prove that a sanitized dump leaks nothing: search it for every original value of every
    /// column the rules rewrite (and every name in --names), in every column of every table and
    /// in the SQL outside COPY data. Exits with status 3 when anything is found.
    ///
    /// Values shorter than --min-length bytes are not searched for. No secret key is needed.
    Verify {
        /// The original dump (any format; read twice, so not stdin).
        #[arg(value_name = "ORIGINAL")]
        original: PathBuf,
        /// The sanitized dump (any format); `-` for stdin.
        #[arg(value_name = "SANITIZED")]
        sanitized: PathBuf,
        /// Rules file the sanitized dump was made with.
        #[arg(long, value_name = "FILE", required = true)]
        rules: PathBuf,
        /// Also search for these names (one per line, e.g. customers or patients).
        #[arg(long, value_name = "FILE")]
        names: Option<PathBuf>,
        /// Shortest value searched for, in bytes.
        #[arg(long, value_name = "BYTES", default_value_t = scrub::inspect::verify::DEFAULT_MIN_LENGTH)]
        min_length: usize,
        /// Output format.
        #[arg(long, value_enum, default_value_t = CheckFormat::Table)]
        format: CheckFormat,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum CheckFormat {
    Table,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Progress {
    Auto,
    Always,
    Never,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(command) = args.command {
        return run_command(command);
    }
    let signal = Arc::new(AtomicUsize::new(0));
    // SIGINT/SIGTERM remove the temporary files and exit 130/143 at once, even while a read or
    // write blocks. If this fails the default action (terminate) stays, which is still safe: a
    // temporary output file then remains under its hidden partial name.
    let _ = scrub::cleanup::watch_signals(signal.clone());
    if let Some(dir) = args.temp_dir {
        if !dir.is_dir() {
            return fail(&scrub::Error::Usage(format!("--temp-dir {}: not a directory", dir.display())));
        }
        scrub::cleanup::set_temp_dir(dir);
    }
    let mut options = Options::default();
    if let Some(j) = args.jobs {
        options.jobs = usize::from(j);
    }
    if let Some(c) = args.chunk_size {
        options.chunk_size = usize::try_from(c).unwrap_or(usize::MAX);
    }
    options.max_row_bytes = args.max_row_bytes;
    options.memory_limit = args.memory_limit;
    // Output compression runs on rayon's pool (src/archive/compress.rs): as many threads as jobs.
    let _ = rayon::ThreadPoolBuilder::new().num_threads(options.jobs).build_global();
    let config = Config {
        rules: args.rules,
        input: args.input,
        output: args.output,
        compress: args.compress,
        format: args.format,
        secret_file: args.secret_file,
        options,
        progress: match args.progress {
            Progress::Auto => ProgressMode::Auto,
            Progress::Always => ProgressMode::Always,
            Progress::Never => ProgressMode::Never,
        },
        quiet: args.quiet,
        report: args.report,
    };
    let result = scrub::app::run(&config, &signal);
    let sig = signal.load(Ordering::Relaxed);
    if sig != 0 {
        eprintln!("scrub: interrupted; no output file was written");
        return ExitCode::from(128 + sig as u8);
    }
    match result {
        Ok(report) => {
            if !config.quiet {
                eprint!("{}", report.summary());
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

fn run_command(command: Command) -> ExitCode {
    match command {
        Command::Manifest { artifact } => match scrub::manifest::read(&artifact) {
            Ok(Some(m)) => {
                println!("{}", serde_json::to_string_pretty(&m).expect("the manifest serializes"));
                ExitCode::SUCCESS
            }
            Ok(None) => {
                eprintln!("scrub: {} carries no scrub manifest", artifact.display());
                ExitCode::from(1)
            }
            Err(e) => fail(&e),
        },
        Command::Scan { input, sample, names, output, csv } => run_scan(input, sample, names, output, csv),
        Command::Verify { original, sanitized, rules, names, min_length, format } => {
            run_verify(original, sanitized, rules, names, min_length, format)
        }
        Command::Check { input, rules, format } => {
            // Keyed transforms are validated, never run: no key is needed to check.
            let key = scrub::transform::SecretKey::new(b"scrub check".to_vec()).expect("non-empty");
            let result = scrub::rules::RuleSet::load(&rules, Some(&key))
                .and_then(|r| scrub::check::check_dump(&r, input.as_deref(), &Options::default()));
            match result {
                Ok(report) => {
                    match format {
                        CheckFormat::Table => print!("{}", report.table()),
                        CheckFormat::Json => {
                            println!("{}", serde_json::to_string_pretty(&report).expect("the report serializes"))
                        }
                    }
                    if report.ok() { ExitCode::SUCCESS } else { ExitCode::from(2) }
                }
                Err(e) => fail(&e),
            }
        }
    }
}

/// `scrub scan`: the report and the scaffold.
fn run_scan(
    input: PathBuf,
    sample: scrub::inspect::scan::Sample,
    names: Option<PathBuf>,
    output: Option<PathBuf>,
    csv: bool,
) -> ExitCode {
    let opts = scrub::inspect::scan::ScanOptions { sample, names };
    let input = Some(input.as_path()).filter(|p| *p != std::path::Path::new("-"));
    let report = match scrub::inspect::scan::scan(input, &opts, &Options::default()) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let scaffold = if csv { report.rules_csv() } else { report.rules_toml() };
    match output {
        Some(path) => {
            if let Err(e) = std::fs::write(&path, scaffold) {
                eprintln!("scrub: error: writing {}: {e}", path.display());
                return ExitCode::from(1);
            }
            print!("{}", report.text());
            println!("scaffold written to {}", path.display());
        }
        None => {
            eprint!("{}", report.text());
            print!("{scaffold}");
        }
    }
    ExitCode::SUCCESS
}

/// `scrub verify`: status 3 when a leak is found.
fn run_verify(
    original: PathBuf,
    sanitized: PathBuf,
    rules: PathBuf,
    names: Option<PathBuf>,
    min_length: usize,
    format: CheckFormat,
) -> ExitCode {
    let key = scrub::transform::SecretKey::new(b"scrub verify".to_vec()).expect("non-empty");
    let result = scrub::rules::RuleSet::load(&rules, Some(&key)).and_then(|r| {
        let sanitized = Some(sanitized.as_path()).filter(|p| *p != std::path::Path::new("-"));
        scrub::inspect::verify::verify(&r, &original, sanitized, names.as_deref(), min_length, &Options::default())
    });
    match result {
        Ok(report) => {
            match format {
                CheckFormat::Table => print!("{}", report.text()),
                CheckFormat::Json => {
                    println!("{}", serde_json::to_string_pretty(&report).expect("the report serializes"))
                }
            }
            if report.leaks.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(3) }
        }
        Err(e) => fail(&e),
    }
}

fn fail(e: &scrub::Error) -> ExitCode {
    eprintln!("scrub: error: {e}");
    ExitCode::from(e.exit_code() as u8)
}

/// A size with an optional binary suffix: `1048576`, `512K`, `512M`, `2G`, `1T`.
fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (digits, unit) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => t.split_at(i),
        None => (t, ""),
    };
    let shift = match unit.trim().to_ascii_uppercase().trim_end_matches("IB").trim_end_matches('B') {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return Err(format!("`{text}`: expected a size such as 512M or 2G")),
    };
    let n: u64 = digits.parse().map_err(|_| format!("`{text}`: expected a size such as 512M or 2G"))?;
    n.checked_mul(1u64 << shift).ok_or_else(|| format!("`{text}` is too large"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes() {
        assert_eq!(super::parse_size("512M"), Ok(512 << 20));
        assert_eq!(super::parse_size("2G"), Ok(2 << 30));
        assert_eq!(super::parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(super::parse_size("100"), Ok(100));
        assert!(super::parse_size("lots").is_err());
        assert!(super::parse_size("1X").is_err());
    }
}
