//! Progress on stderr: bytes read, rate, current table, and an ETA when the input size is known.
//!
//! Drawn only when asked for or when stderr is a terminal; never on stdout, which carries the dump.
//! Warnings go through here too, so they do not tear the progress line.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::sql::QualifiedName;

/// Progress display plus the warnings collected during a run.
pub struct Progress {
    bar: Option<ProgressBar>,
    /// Bytes read from the input so far (before decompression), shared with the input reader.
    read: Arc<AtomicU64>,
    quiet: bool,
    warnings: Mutex<Vec<String>>,
}

impl Progress {
    /// `show`: draw a bar. `total`: the input size, if known. `read`: the input byte counter.
    pub fn new(show: bool, quiet: bool, total: Option<u64>, read: Arc<AtomicU64>) -> Self {
        let bar = show.then(|| {
            let bar = match total {
                Some(t) => ProgressBar::with_draw_target(Some(t), ProgressDrawTarget::stderr()).with_style(
                    ProgressStyle::with_template("{bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta} {msg}")
                        .expect("valid template"),
                ),
                None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(
                    ProgressStyle::with_template("{bytes} {binary_bytes_per_sec} {msg}").expect("valid template"),
                ),
            };
            bar.enable_steady_tick(std::time::Duration::from_millis(200));
            bar
        });
        Progress { bar, read, quiet, warnings: Mutex::new(Vec::new()) }
    }

    /// A progress object that shows nothing.
    pub fn hidden() -> Self {
        Progress::new(false, true, None, Arc::default())
    }

    pub(crate) fn advance(&self, table: Option<&QualifiedName>) {
        if let Some(bar) = &self.bar {
            bar.set_position(self.read.load(Ordering::Relaxed));
            match table {
                Some(t) => bar.set_message(t.to_string()),
                None => bar.set_message(""),
            }
        }
    }

    /// Prints a warning now (unless quiet) and keeps it for the report.
    pub fn warn(&self, msg: String) {
        if !self.quiet {
            match &self.bar {
                Some(bar) => bar.suspend(|| eprintln!("scrub: warning: {msg}")),
                None => eprintln!("scrub: warning: {msg}"),
            }
        }
        self.warnings.lock().expect("not poisoned").push(msg);
    }

    /// Clears the bar and hands over the warnings.
    pub fn finish(&self) -> Vec<String> {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        std::mem::take(&mut self.warnings.lock().expect("not poisoned"))
    }
}
