//! The directory-format reader (`scrub::archive::directory`): whatever `toc.dat` and data files
//! hold, reading gives data or an error, never a panic, and never touches a file outside the
//! archive directory.
//!
//! Input: a little file system. The first section is `toc.dat`; each further section starts with
//! `\n==> NAME\n` and holds the file NAME (letters, digits, `.`, `_` and `-`; others are dropped).
//! Seeds: `fuzz/seeds.sh` packs fixtures/archives/*.dir.* this way.

use std::path::Path;

use super::{check_message, read_capped};
use scrub::archive::DirectoryReader;

const SEPARATOR: &[u8] = b"\n==> ";

fn sections(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some(k) = rest.windows(SEPARATOR.len()).position(|w| w == SEPARATOR) {
        out.push(&rest[..k]);
        rest = &rest[k + SEPARATOR.len()..];
    }
    out.push(rest);
    out
}

fn read_dir(dir: &Path) -> Result<(), String> {
    let reader = DirectoryReader::open(dir).map_err(|e| e.to_string())?;
    let entries: Vec<_> = reader.toc().data_entries().cloned().collect();
    for entry in entries {
        if entry.is_blobs() {
            for blob in reader.blobs(entry.dump_id).map_err(|e| e.to_string())? {
                let file = reader.blob_file(&blob).map_err(|e| e.to_string())?;
                assert!(file.path.starts_with(dir), "large object file {} is outside the archive", file.path.display());
                let mut r = reader.open_blob(&blob).map_err(|e| e.to_string())?;
                read_capped(&mut r).map_err(|e| e.to_string())?;
            }
        } else {
            let file = reader.data_file(entry.dump_id).map_err(|e| e.to_string())?;
            assert!(file.path.starts_with(dir), "data file {} is outside the archive", file.path.display());
            let mut r = reader.open_data(entry.dump_id).map_err(|e| e.to_string())?;
            read_capped(&mut r).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// Runs the checks on one input; panics on a finding.
pub fn check(data: &[u8]) {
    let parts = sections(data);
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("archive");
    std::fs::create_dir(&dir).expect("archive dir");
    std::fs::write(dir.join("toc.dat"), parts[0]).expect("write toc.dat");
    for part in &parts[1..] {
        let (name, body) = match part.iter().position(|&b| b == b'\n') {
            Some(k) => (&part[..k], &part[k + 1..]),
            None => (*part, &[][..]),
        };
        let name: String = name
            .iter()
            .filter(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
            .take(64)
            .map(|&b| char::from(b))
            .collect();
        if name.is_empty() || name.starts_with('.') || name == "toc.dat" {
            continue;
        }
        std::fs::write(dir.join(name), body).expect("write data file");
    }
    // A file beside the archive that no reader may open.
    std::fs::write(tmp.path().join("secret.dat"), b"outside the archive").expect("write secret");
    if let Err(msg) = read_dir(&dir) {
        check_message(&msg);
    }
}
