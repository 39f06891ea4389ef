//! The rules file: what to do with each table and column, compiled once into per-table plans.
//!
//! Loading validates everything that can be validated without the dump (syntax, transform names
//! and parameters, whether a key is needed), with the file and line in every error. Checking the
//! rules against the dump (absent tables or columns, uncovered columns) happens in [`coverage`],
//! once the dump's schema is known and before any row is written.

pub mod coverage;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use crate::error::{Error, Result};
use crate::sql::QualifiedName;
use crate::transform::{self, NoTypes, SecretKey, Spec, Transform};

/// What to do with a column of a dumped table that no rule names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Unlisted {
    /// Copy it unchanged.
    Keep,
    /// Copy it unchanged and say so in the summary.
    Warn,
    /// Refuse to run (the default: a new column must be reviewed before it can leak).
    #[default]
    Error,
}

/// Whether a table's rows are written at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DataAction {
    #[default]
    Keep,
    /// The schema stays; no rows are written.
    Drop,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    #[serde(default)]
    settings: SettingsSpec,
    #[serde(default)]
    tables: BTreeMap<Spanned<String>, TableSpec>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SettingsSpec {
    #[serde(default)]
    unlisted_columns: Unlisted,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TableSpec {
    #[serde(default)]
    data: DataAction,
    #[serde(default)]
    keep_all: bool,
    #[serde(default)]
    columns: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
}

/// A column's compiled rule.
#[derive(Debug, Clone)]
pub struct ColumnRule {
    pub line: usize,
    /// `None` is `keep`.
    pub transform: Option<Arc<Transform>>,
}

/// A table's compiled rules.
#[derive(Debug, Clone)]
pub struct TableRules {
    pub line: usize,
    pub data: DataAction,
    pub keep_all: bool,
    pub columns: BTreeMap<String, ColumnRule>,
}

/// The whole compiled rules file.
#[derive(Debug, Clone)]
pub struct RuleSet {
    /// The file the rules came from; `None` when scrub runs without `--rules`.
    pub path: Option<PathBuf>,
    pub unlisted: Unlisted,
    pub tables: BTreeMap<QualifiedName, TableRules>,
}

impl RuleSet {
    /// Rules that keep everything: what scrub does without `--rules`.
    pub fn keep_everything() -> Self {
        RuleSet { path: None, unlisted: Unlisted::Keep, tables: BTreeMap::new() }
    }

    /// Reads and compiles a rules file. `key` is needed only if a rule uses a keyed transform.
    pub fn load(path: &Path, key: Option<&SecretKey>) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("reading rules file {}", path.display()), e))?;
        Self::parse(&text, path, key)
    }

    /// Compiles rules from text; `path` is used in error messages.
    pub fn parse(text: &str, path: &Path, key: Option<&SecretKey>) -> Result<Self> {
        let err = |line: Option<usize>, msg: String| Error::Rules { file: path.to_path_buf(), line, msg };
        let line_of = |offset: usize| text[..offset.min(text.len())].bytes().filter(|&b| b == b'\n').count() + 1;
        let spec: FileSpec = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(s.start));
            err(line, e.message().to_string())
        })?;
        let mut tables = BTreeMap::new();
        for (name, table) in spec.tables {
            let line = line_of(name.span().start);
            let qname = QualifiedName::parse(name.get_ref()).map_err(|m| err(Some(line), m))?;
            let mut columns = BTreeMap::new();
            for (col, rule) in table.columns {
                let line = line_of(rule.span().start);
                let transform = compile_column(key, rule.get_ref())
                    .map_err(|m| err(Some(line), format!("{qname}.{}: {m}", col.get_ref())))?;
                columns.insert(col.into_inner(), ColumnRule { line, transform: transform.map(Arc::new) });
            }
            if table.keep_all && !columns.is_empty() {
                return Err(err(
                    Some(line),
                    format!("{qname}: `keep_all = true` cannot be combined with column rules"),
                ));
            }
            if tables
                .insert(qname.clone(), TableRules { line, data: table.data, keep_all: table.keep_all, columns })
                .is_some()
            {
                return Err(err(Some(line), format!("table {qname} is listed twice (written with different quoting)")));
            }
        }
        Ok(RuleSet { path: Some(path.to_path_buf()), unlisted: spec.settings.unlisted_columns, tables })
    }

    /// A description of where a rule is, for messages: `rules.toml:12`.
    pub fn locate(&self, line: usize) -> String {
        match &self.path {
            Some(p) => format!("{}:{line}", p.display()),
            None => format!("line {line}"),
        }
    }
}

fn compile_column(key: Option<&SecretKey>, rule: &toml::Value) -> Result<Option<Transform>, String> {
    let (name, params) = transform::split_rule(rule)?;
    transform::build(&Spec { name: &name, params: &params, column_type: None, key, types: &NoTypes })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RuleSet> {
        let key = SecretKey::new(b"k".to_vec()).unwrap();
        RuleSet::parse(text, Path::new("r.toml"), Some(&key))
    }

    #[test]
    fn the_documented_example_compiles() {
        let rules = parse(
            r#"
[settings]
unlisted_columns = "error"

[tables."public.users"]
data = "keep"
columns.id = "keep"
columns.email = { transform = "email", keep_domain = true }
columns.api_token = { transform = "hash", length = 16 }
columns.notes = "null"

[tables.'"Billing"."Invoice Lines"']
keep_all = true
"#,
        )
        .unwrap();
        assert_eq!(rules.unlisted, Unlisted::Error);
        let users = &rules.tables[&QualifiedName::new("public", "users")];
        assert!(users.columns["id"].transform.is_none());
        assert_eq!(users.columns["email"].transform.as_ref().unwrap().name(), "email");
        assert_eq!(users.columns["notes"].line, 10);
        assert!(rules.tables[&QualifiedName::new("Billing", "Invoice Lines")].keep_all);
    }

    #[test]
    fn errors_name_file_and_line() {
        let e =
            parse("[tables.\"public.t\"]\ncolumns.a = \"keep\"\ncolumns.b = { transform = \"nope\" }\n").unwrap_err();
        assert!(
            e.to_string().starts_with("r.toml:3: public.t.b: unknown transform `nope` (known: keep, null, "),
            "{e}"
        );
        let e = parse("[tables.\"public.t\"]\ncolums.a = \"keep\"\n").unwrap_err();
        assert!(e.to_string().starts_with("r.toml:2: unknown field `colums`"), "{e}");
        let e = parse("[tables.t]\n").unwrap_err();
        assert!(e.to_string().contains("schema-qualified"), "{e}");
        let e = parse("[tables.\"public.t\"]\ncolumns.a = { transform = \"hash\", length = \"x\" }\n").unwrap_err();
        assert!(e.to_string().contains("r.toml:2") && e.to_string().contains("integer"), "{e}");
    }

    #[test]
    fn keyed_rules_without_a_key_fail_at_load() {
        let e = RuleSet::parse("[tables.\"public.t\"]\ncolumns.a = \"hash\"\n", Path::new("r.toml"), None).unwrap_err();
        assert!(e.to_string().contains("SCRUB_SECRET"), "{e}");
    }
}
