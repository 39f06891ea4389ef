//! The fuzz targets' checks (`fuzz/src/`), run without libFuzzer on the inputs committed under
//! `fuzz/regressions/<target>/` (inputs that once found a bug, or that pin a decision) and
//! `fuzz/seeds/<target>/` (the seed corpus). Each check panics on a finding; the failing file is
//! named. Run a target for longer with `cargo +nightly fuzz run TARGET` (see `fuzz/README.md`).

#[path = "../../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod checks;

use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    crate::support::root().join("fuzz")
}

/// Runs every file under `dir/<target>/` through the target's check; returns how many ran.
fn replay(dir: &Path) -> usize {
    let mut ran = 0;
    let mut failures = Vec::new();
    for (target, check) in checks::TARGETS {
        let Ok(entries) = std::fs::read_dir(dir.join(target)) else { continue };
        let mut files: Vec<PathBuf> = entries.map(|e| e.expect("dir entry").path()).collect();
        files.sort();
        for file in files {
            let data = std::fs::read(&file).unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
            let outcome = std::panic::catch_unwind(|| check(&data));
            ran += 1;
            if let Err(panic) = outcome {
                let msg = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push(format!("{}: {msg}", file.display()));
            }
        }
    }
    assert!(failures.is_empty(), "fuzz checks failed:\n{}", failures.join("\n"));
    eprintln!("replayed {ran} inputs from {}", dir.display());
    ran
}

#[test]
fn fuzz_regression_inputs_pass_their_checks() {
    let ran = replay(&fuzz_dir().join("regressions"));
    assert!(ran > 0, "no regression inputs under fuzz/regressions");
}

#[test]
fn fuzz_seed_corpus_passes_its_checks() {
    let ran = replay(&fuzz_dir().join("seeds"));
    assert!(ran >= checks::TARGETS.len(), "only {ran} seeds under fuzz/seeds");
}
