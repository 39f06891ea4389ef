//! The manifest every sanitized artifact carries: which scrub, which rules (by hash), which key
//! (by fingerprint, never the key), and what happened to each table. It lets whoever receives a
//! dump see how it was made, and `scrub manifest ARTIFACT` prints it.
//!
//! It holds no value from the dump and no timestamp, so the same input, key and rules give a
//! byte-identical artifact. A run whose rules change nothing writes no manifest: its output is
//! the input, byte for byte.
//!
//! Where it goes: plain scripts get a comment block after pg_dump's header (the settings) and one
//! at the end (the per-table numbers, known only then); directory archives a `MANIFEST.json`
//! beside `toc.dat`; custom and tar archives a COMMENT entry with an empty definition in the
//! table of contents (pg_restore skips entries without a definition: it neither lists nor
//! restores it), holding what is known before the data: the settings and each table's planned
//! treatment.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::report::Report;
use crate::rules::{DataAction, LargeObjects, RuleSet};
use crate::transform::SecretKey;

/// Line prefixes in plain scripts.
const SETTINGS_PREFIX: &str = "-- scrub-manifest: ";
const TABLES_PREFIX: &str = "-- scrub-manifest-tables: ";
/// The tag of the TOC entry in custom and tar archives.
pub const TOC_TAG_PREFIX: &str = "scrub-manifest ";
/// The file in directory archives.
pub const FILE_NAME: &str = "MANIFEST.json";

/// How the artifact was made.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Settings {
    pub scrub_version: String,
    /// SHA-256 of the rules file's bytes.
    pub rules_sha256: Option<String>,
    /// A public fingerprint of the secret key (see [`SecretKey::fingerprint`]).
    pub key_fingerprint: Option<String>,
}

/// What happened to one table.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TableEntry {
    pub table: String,
    /// Absent when the table was copied without being parsed, or (in custom and tar archives)
    /// because the counts are not known when the table of contents is written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows_in: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows_out: Option<u64>,
    pub dropped: bool,
    /// `column: transform` for each rewritten column.
    pub rewritten: Vec<String>,
}

/// The whole manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    #[serde(flatten)]
    pub settings: Settings,
    #[serde(default)]
    pub tables: Vec<TableEntry>,
}

/// Whether the rules can change anything: only then does an artifact get a manifest.
pub fn rules_change_data(rules: &RuleSet) -> bool {
    rules.large_objects == LargeObjects::Drop
        || rules.subsets()
        || rules.tables.values().any(|t| t.data == DataAction::Drop || t.columns.values().any(|c| !c.is_keep()))
}

/// The settings part, from the rules file and key of this run.
pub fn settings(rules: &RuleSet, key: Option<&SecretKey>) -> Result<Settings> {
    let (rules_sha256, keyed) = match &rules.path {
        Some(p) => {
            let bytes = std::fs::read(p).map_err(|e| Error::io(format!("reading {}", p.display()), e))?;
            // The key is part of how the artifact was made only if some rule used it: rules that
            // load without a key never touch it.
            let keyed = std::str::from_utf8(&bytes).map_or(true, |t| RuleSet::parse(t, p, None).is_err());
            (Some(Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect()), keyed)
        }
        None => (None, false),
    };
    Ok(Settings {
        scrub_version: env!("CARGO_PKG_VERSION").to_string(),
        rules_sha256,
        key_fingerprint: key.filter(|_| keyed).map(SecretKey::fingerprint),
    })
}

/// The per-table part, from a run's report.
pub fn tables(report: &Report) -> Vec<TableEntry> {
    report
        .tables
        .iter()
        .map(|t| TableEntry {
            table: t.table.clone(),
            rows_in: (!t.copied_raw).then_some(t.rows_in),
            rows_out: (!t.copied_raw).then_some(t.rows_out),
            dropped: t.dropped,
            rewritten: t.rewritten.iter().map(|c| format!("{}: {}", c.column, c.transform)).collect(),
        })
        .collect()
}

fn one_line<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("the manifest serializes")
}

/// The comment block a plain script gets after pg_dump's header.
pub fn plain_header(settings: &Settings) -> Vec<u8> {
    format!(
        "--\n-- Sanitized by scrub {}; `scrub manifest FILE` prints how.\n{SETTINGS_PREFIX}{}\n--\n\n",
        settings.scrub_version,
        one_line(settings)
    )
    .into_bytes()
}

/// The comment block that ends a plain script.
pub fn plain_trailer(tables: &[TableEntry]) -> Vec<u8> {
    format!("\n--\n{TABLES_PREFIX}{}\n--\n", one_line(&tables)).into_bytes()
}

/// Where the header block goes in a plain script: after pg_dump's own header comment, so tools
/// that recognise a pg_dump script by its first lines still do.
pub fn header_position(text: &[u8]) -> usize {
    const PG_DUMP_HEADER: &[u8] = b"--\n-- PostgreSQL database dump\n--\n\n";
    const PG_DUMP_HEADER_CRLF: &[u8] = b"--\r\n-- PostgreSQL database dump\r\n--\r\n\r\n";
    [PG_DUMP_HEADER, PG_DUMP_HEADER_CRLF].iter().find(|h| text.starts_with(h)).map_or(0, |h| h.len())
}

/// Whether a script's first line ends in CR LF: its manifest blocks then do too.
pub fn uses_crlf(text: &[u8]) -> bool {
    memchr::memchr(b'\n', text).is_some_and(|i| i > 0 && text[i - 1] == b'\r')
}

/// `text` with every LF turned into CR LF.
pub fn to_crlf(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + text.len() / 16);
    for &b in text {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

/// The tag of the TOC entry that carries the manifest in custom and tar archives.
pub fn toc_tag(manifest: &Manifest) -> String {
    format!("{TOC_TAG_PREFIX}{}", one_line(manifest))
}

/// Finds the manifest in SQL text outside COPY data (plain scripts) or TOC entry tags.
#[derive(Default)]
pub struct Finder {
    pub settings: Option<Settings>,
    pub tables: Option<Vec<TableEntry>>,
}

impl Finder {
    /// Looks at a piece of SQL text (whole lines).
    pub fn sql(&mut self, text: &[u8]) {
        for line in text.split(|&b| b == b'\n') {
            let line = String::from_utf8_lossy(line);
            if let Some(json) = line.strip_prefix(SETTINGS_PREFIX) {
                self.settings = serde_json::from_str(json).ok();
            } else if let Some(json) = line.strip_prefix(TABLES_PREFIX) {
                self.tables = serde_json::from_str(json).ok();
            }
        }
    }

    /// Looks at a TOC entry's tag.
    pub fn tag(&mut self, tag: &[u8]) {
        if let Some(json) = String::from_utf8_lossy(tag).strip_prefix(TOC_TAG_PREFIX)
            && let Ok(m) = serde_json::from_str::<Manifest>(json)
        {
            self.settings = Some(m.settings);
            self.tables = Some(m.tables);
        }
    }

    pub fn manifest(self) -> Option<Manifest> {
        Some(Manifest { settings: self.settings?, tables: self.tables.unwrap_or_default() })
    }
}

/// Reads the manifest of an artifact of any format; `None` if it has none.
pub fn read(path: &std::path::Path) -> Result<Option<Manifest>> {
    use crate::input::Opened;
    if path.is_dir() {
        let file = path.join(FILE_NAME);
        return match std::fs::read(&file) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| Error::Usage(format!("{} is not a scrub manifest: {e}", file.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(format!("reading {}", file.display()), e)),
        };
    }
    let mut finder = Finder::default();
    match crate::input::open_any(Some(path))? {
        Opened::Plain(input) => {
            crate::pipeline::visit_plain(input.reader, &crate::pipeline::Options::default(), &mut finder)?;
        }
        Opened::Custom(input) => {
            let reader = crate::archive::custom::CustomReader::new(input.reader)?;
            reader.toc().entries.iter().filter_map(|e| e.tag.as_deref()).for_each(|t| finder.tag(t));
        }
        Opened::Tar(input) => {
            let reader = crate::archive::tar::TarReader::new(input.reader)?;
            reader.toc().entries.iter().filter_map(|e| e.tag.as_deref()).for_each(|t| finder.tag(t));
        }
        Opened::Directory(_) => unreachable!("directories are handled above"),
    }
    Ok(finder.manifest())
}

impl crate::pipeline::Visitor for Finder {
    fn sql(&mut self, text: &[u8]) -> Result<()> {
        Finder::sql(self, text);
        Ok(())
    }

    fn table(&mut self, _: &crate::sql::ddl::CopyStmt) -> Result<bool> {
        Ok(false)
    }

    fn rows(&mut self, _: &[u8]) -> Result<bool> {
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_blocks_round_trip() {
        let settings = Settings {
            scrub_version: "0.1.0".into(),
            rules_sha256: Some("ab".into()),
            key_fingerprint: Some("cd".into()),
        };
        let tables = vec![TableEntry {
            table: "public.t".into(),
            rows_in: Some(3),
            rows_out: Some(3),
            dropped: false,
            rewritten: vec!["email: email".into()],
        }];
        let mut finder = Finder::default();
        finder.sql(&plain_header(&settings));
        finder.sql(&plain_trailer(&tables));
        assert_eq!(finder.manifest(), Some(Manifest { settings, tables }));
        assert_eq!(header_position(b"--\n-- PostgreSQL database dump\n--\n\nSET x;"), 35);
    }
}
