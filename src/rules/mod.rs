//! The rules file: what to do with each table and column, compiled once into per-table plans.
//!
//! Loading validates everything that can be validated without the dump (syntax, transform names
//! and parameters, whether a key is needed), with the file and line in every error. Checking the
//! rules against the dump (absent tables or columns, uncovered columns) happens in [`coverage`],
//! once the dump's schema is known and before any row is written.

pub mod bind;
pub mod csv;
pub mod schema;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::error::{Error, Result};
use crate::sql::QualifiedName;
use crate::transform::{self, NoTypes, Params, SecretKey, Spec, Transform, TypeInfo};

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
    #[serde(default)]
    virtual_foreign_keys: Vec<Spanned<VirtualForeignKeySpec>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SettingsSpec {
    #[serde(default)]
    unlisted_columns: Unlisted,
    #[serde(default)]
    large_objects: LargeObjects,
}

/// What to do with large objects (they are not COPY data, so no column rule reaches them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LargeObjects {
    #[default]
    Keep,
    Drop,
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
    #[serde(default)]
    subset: Option<Spanned<SubsetSpec>>,
    #[serde(default)]
    referenced_only: bool,
    #[serde(default)]
    foreign_keys: BTreeMap<Spanned<String>, ForeignKeySpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubsetSpec {
    #[serde(default, rename = "where")]
    where_: Option<String>,
    #[serde(default)]
    percent: Option<toml::Value>,
    #[serde(default)]
    limit: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ForeignKeySpec {
    #[serde(default)]
    on_missing_parent: OnMissingParent,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VirtualForeignKeySpec {
    table: String,
    columns: Vec<String>,
    references: String,
    #[serde(default)]
    referenced_columns: Vec<String>,
    #[serde(default)]
    on_missing_parent: OnMissingParent,
}

/// What subsetting does with a kept row whose parent row is not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum OnMissingParent {
    /// The row goes too (the key filters its children).
    #[default]
    Drop,
    /// The row stays with the key's columns written as NULL (the key neither filters nor pulls).
    Null,
}

/// `[tables."s.t".subset]`: which rows of the table to keep (before referential integrity adds
/// the rows kept rows need).
#[derive(Debug, Clone)]
pub struct SubsetRule {
    pub line: usize,
    /// `where = "..."`: rows where this is true (unknown counts as false).
    pub filter: Option<crate::expr::Expr>,
    /// `percent = p`: a keyed sample of p percent of the rows, by primary key.
    pub percent: Option<f64>,
    /// `limit = n`: the first n rows in dump order that pass everything else.
    pub limit: Option<u64>,
}

/// `[tables."s.t".foreign_keys.NAME]`: settings for one declared foreign key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForeignKeyRule {
    pub line: usize,
    pub on_missing_parent: OnMissingParent,
}

/// `[[virtual_foreign_keys]]`: a reference the schema does not declare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualForeignKey {
    pub line: usize,
    pub table: QualifiedName,
    pub columns: Vec<String>,
    pub references: QualifiedName,
    /// Empty: the referenced table's primary key.
    pub referenced_columns: Vec<String>,
    pub on_missing_parent: OnMissingParent,
}

/// A column's rule as written, validated but not yet bound to the column's type.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnRule {
    pub line: usize,
    /// The transform name (`keep`, `hash`, ..., or `template`).
    pub transform: String,
    /// The transform's own parameters.
    pub params: Params,
    /// `allow_duplicates = true`: the user accepts that the transform may break a unique
    /// constraint on this column.
    pub allow_duplicates: bool,
    /// `when = "..."`: apply the rule only to rows where this condition is not false.
    pub when: Option<crate::expr::Expr>,
    /// For `transform = "template"`: the parsed template.
    pub template: Option<Template>,
}

impl ColumnRule {
    /// Whether the rule leaves values as they are.
    pub fn is_keep(&self) -> bool {
        self.transform == "keep"
    }

    /// The column whose original value seeds the transform (`by = "patient_id"`).
    pub fn by(&self) -> Option<&str> {
        self.params.get("by").and_then(|v| v.as_str())
    }

    /// The same transform with the same parameters: two columns with equal specs produce equal
    /// outputs for equal inputs.
    pub fn same_transform(&self, other: &ColumnRule) -> bool {
        self.transform == other.transform && self.params == other.params && self.template == other.template
    }

    /// Builds the transform for a column of `column_type` (`None` for keep and templates).
    pub fn build(
        &self,
        key: Option<&SecretKey>,
        column_type: Option<&str>,
        types: &dyn TypeInfo,
    ) -> Result<Option<Transform>, String> {
        if self.template.is_some() {
            return Ok(None);
        }
        transform::build(&Spec { name: &self.transform, params: &self.params, column_type, key, types })
    }
}

/// `template = "{first_name} {last_name}"`: a value built from other columns of the row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub parts: Vec<TemplatePart>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplatePart {
    Literal(String),
    /// `{col}` (the rewritten value) or `{col.original}`.
    Column {
        name: String,
        original: bool,
    },
}

impl Template {
    /// Parses `{col}`, `{col.original}` and literal text; `{{` and `}}` are literal braces.
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c) => name.push(c),
                            None => return Err(format!("unclosed `{{` in template `{text}`")),
                        }
                    }
                    if !literal.is_empty() {
                        parts.push(TemplatePart::Literal(std::mem::take(&mut literal)));
                    }
                    let (name, original) = match name.strip_suffix(".original") {
                        Some(n) => (n.to_string(), true),
                        None => (name, false),
                    };
                    if name.is_empty() {
                        return Err(format!("empty `{{}}` in template `{text}`"));
                    }
                    parts.push(TemplatePart::Column { name, original });
                }
                '}' => return Err(format!("unmatched `}}` in template `{text}` (write `}}}}` for a literal brace)")),
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(TemplatePart::Literal(literal));
        }
        Ok(Template { parts })
    }

    /// The columns the template reads.
    pub fn columns(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            TemplatePart::Column { name, .. } => Some(name.as_str()),
            TemplatePart::Literal(_) => None,
        })
    }
}

/// A table's compiled rules.
#[derive(Debug, Clone)]
pub struct TableRules {
    pub line: usize,
    pub data: DataAction,
    pub keep_all: bool,
    pub columns: BTreeMap<String, ColumnRule>,
    pub subset: Option<SubsetRule>,
    /// Keep exactly the rows that kept rows reference.
    pub referenced_only: bool,
    /// Per declared foreign key (by constraint name).
    pub foreign_keys: BTreeMap<String, ForeignKeyRule>,
}

impl TableRules {
    /// Rules that name a table without saying anything about it.
    pub fn new(line: usize) -> Self {
        TableRules {
            line,
            data: DataAction::Keep,
            keep_all: false,
            columns: BTreeMap::new(),
            subset: None,
            referenced_only: false,
            foreign_keys: BTreeMap::new(),
        }
    }
}

/// The whole compiled rules file.
#[derive(Debug, Clone)]
pub struct RuleSet {
    /// The file the rules came from; `None` when scrub runs without `--rules`.
    pub path: Option<PathBuf>,
    pub unlisted: Unlisted,
    pub large_objects: LargeObjects,
    pub tables: BTreeMap<QualifiedName, TableRules>,
    pub virtual_foreign_keys: Vec<VirtualForeignKey>,
}

impl RuleSet {
    /// Rules that keep everything: what scrub does without `--rules`.
    pub fn keep_everything() -> Self {
        RuleSet {
            path: None,
            unlisted: Unlisted::Keep,
            large_objects: LargeObjects::Keep,
            tables: BTreeMap::new(),
            virtual_foreign_keys: Vec::new(),
        }
    }

    /// Whether the rules ask for a subset (any `subset`, `referenced_only`, `foreign_keys` or
    /// `virtual_foreign_keys`). Without one, no row is ever left out for referential reasons.
    pub fn subsets(&self) -> bool {
        !self.virtual_foreign_keys.is_empty()
            || self.tables.values().any(|t| t.subset.is_some() || t.referenced_only || !t.foreign_keys.is_empty())
    }

    /// Reads and compiles a rules file. `key` is needed only if a rule uses a keyed transform.
    /// A `.csv` file is a rules table ([`csv`]); anything else is TOML.
    pub fn load(path: &Path, key: Option<&SecretKey>) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("reading rules file {}", path.display()), e))?;
        if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")) {
            return csv::parse(&text, path, key);
        }
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
                let rule = compile_column(key, rule.get_ref(), line)
                    .map_err(|m| err(Some(line), format!("{qname}.{}: {m}", col.get_ref())))?;
                columns.insert(col.into_inner(), rule);
            }
            if table.keep_all && !columns.is_empty() {
                return Err(err(
                    Some(line),
                    format!("{qname}: `keep_all = true` cannot be combined with column rules"),
                ));
            }
            let subset = match table.subset {
                Some(spec) => Some(
                    compile_subset(key, &spec, line_of(spec.span().start))
                        .map_err(|(l, m)| err(Some(l), format!("{qname}: {m}")))?,
                ),
                None => None,
            };
            if table.referenced_only && subset.is_some() {
                return Err(err(
                    Some(line),
                    format!(
                        "{qname}: `referenced_only = true` cannot be combined with a `subset` section (it keeps exactly the rows kept rows reference)"
                    ),
                ));
            }
            let foreign_keys = table
                .foreign_keys
                .into_iter()
                .map(|(name, fk)| {
                    let line = line_of(name.span().start);
                    (name.into_inner(), ForeignKeyRule { line, on_missing_parent: fk.on_missing_parent })
                })
                .collect();
            let rules = TableRules {
                line,
                data: table.data,
                keep_all: table.keep_all,
                columns,
                subset,
                referenced_only: table.referenced_only,
                foreign_keys,
            };
            if tables.insert(qname.clone(), rules).is_some() {
                return Err(err(Some(line), format!("table {qname} is listed twice (written with different quoting)")));
            }
        }
        let mut virtual_foreign_keys = Vec::new();
        for v in spec.virtual_foreign_keys {
            let line = line_of(v.span().start);
            let v = v.into_inner();
            let name =
                |s: &str| QualifiedName::parse(s).map_err(|m| err(Some(line), format!("virtual_foreign_keys: {m}")));
            if v.columns.is_empty() {
                return Err(err(Some(line), "virtual_foreign_keys: `columns` must name at least one column".into()));
            }
            if !v.referenced_columns.is_empty() && v.referenced_columns.len() != v.columns.len() {
                return Err(err(
                    Some(line),
                    format!(
                        "virtual_foreign_keys: {} column(s) reference {} column(s); the counts must match",
                        v.columns.len(),
                        v.referenced_columns.len()
                    ),
                ));
            }
            virtual_foreign_keys.push(VirtualForeignKey {
                line,
                table: name(&v.table)?,
                columns: v.columns,
                references: name(&v.references)?,
                referenced_columns: v.referenced_columns,
                on_missing_parent: v.on_missing_parent,
            });
        }
        Ok(RuleSet {
            path: Some(path.to_path_buf()),
            unlisted: spec.settings.unlisted_columns,
            large_objects: spec.settings.large_objects,
            tables,
            virtual_foreign_keys,
        })
    }

    /// A description of where a rule is, for messages: `rules.toml:12`.
    pub fn locate(&self, line: usize) -> String {
        match &self.path {
            Some(p) => format!("{}:{line}", p.display()),
            None => format!("line {line}"),
        }
    }
}

/// Validates a `subset` section as far as possible without the dump. Errors carry their line.
fn compile_subset(
    key: Option<&SecretKey>,
    spec: &Spanned<SubsetSpec>,
    line: usize,
) -> Result<SubsetRule, (usize, String)> {
    let s = spec.get_ref();
    let fail = |m: String| (line, format!("subset: {m}"));
    if s.where_.is_none() && s.percent.is_none() && s.limit.is_none() {
        return Err(fail("give at least one of `where`, `percent`, `limit`".into()));
    }
    let filter = match &s.where_ {
        Some(text) => Some(crate::expr::parse(text).map_err(|e| fail(format!("`where`: {e}")))?),
        None => None,
    };
    let percent = match &s.percent {
        None => None,
        Some(v) => {
            let p = match v {
                toml::Value::Integer(i) => *i as f64,
                toml::Value::Float(f) => *f,
                other => return Err(fail(format!("`percent` must be a number, got {other}"))),
            };
            if !(p > 0.0 && p <= 100.0) {
                return Err(fail(format!("`percent` must be above 0 and at most 100, got {p}")));
            }
            if key.is_none() {
                return Err(fail(format!(
                    "`percent` samples rows with the secret key, and none is given: set {} or use --secret-file",
                    crate::app::SECRET_ENV
                )));
            }
            Some(p)
        }
    };
    Ok(SubsetRule { line, filter, percent, limit: s.limit })
}

/// Reads one column rule and validates it as far as possible without the dump: transform name,
/// parameters and their types, the key when the transform needs one, the template syntax.
fn compile_column(key: Option<&SecretKey>, rule: &toml::Value, line: usize) -> Result<ColumnRule, String> {
    let (name, mut params) = transform::split_rule(rule)?;
    let allow_duplicates = match params.remove("allow_duplicates") {
        None => false,
        Some(toml::Value::Boolean(b)) => b,
        Some(other) => return Err(format!("`allow_duplicates` must be true or false, got {other}")),
    };
    let when = match params.remove("when") {
        None => None,
        Some(toml::Value::String(s)) => Some(crate::expr::parse(&s).map_err(|e| format!("`when`: {e}"))?),
        Some(other) => return Err(format!("`when` must be a string (an SQL condition), got {other}")),
    };
    let template = if name == "template" {
        let text = match params.remove("template") {
            Some(toml::Value::String(s)) => s,
            Some(other) => return Err(format!("`template` must be a string, got {other}")),
            None => return Err("transform `template` needs `template = \"...{column}...\"`".into()),
        };
        if let Some(extra) = params.keys().next() {
            return Err(format!("transform `template` has no parameter `{extra}` (it takes: template)"));
        }
        Some(Template::parse(&text)?)
    } else {
        None
    };
    let rule = ColumnRule { line, transform: name, params, allow_duplicates, when, template };
    rule.build(key, None, &NoTypes)?;
    Ok(rule)
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
        assert!(users.columns["id"].is_keep());
        assert_eq!(users.columns["email"].transform, "email");
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
    fn templates_and_rule_level_parameters() {
        let rules = parse(
            "[tables.\"public.t\"]\ncolumns.d = { transform = \"template\", template = \"{a} {{x}} {b.original}\" }\ncolumns.e = { transform = \"hash\", allow_duplicates = true, when = \"a <> 'x'\" }\n",
        )
        .unwrap();
        let t = &rules.tables[&QualifiedName::new("public", "t")];
        assert_eq!(
            t.columns["d"].template.as_ref().unwrap().parts,
            vec![
                TemplatePart::Column { name: "a".into(), original: false },
                TemplatePart::Literal(" {x} ".into()),
                TemplatePart::Column { name: "b".into(), original: true },
            ]
        );
        assert!(t.columns["e"].allow_duplicates);
        assert_eq!(t.columns["e"].when.as_ref().map(|w| w.source()), Some("a <> 'x'"));
        let e = parse("[tables.\"public.t\"]\ncolumns.e = { transform = \"hash\", when = \"a <> \" }\n").unwrap_err();
        assert!(e.to_string().starts_with("r.toml:2: public.t.e: `when`: syntax error"), "{e}");
        assert!(parse("[tables.\"public.t\"]\ncolumns.d = { transform = \"template\", template = \"{a\" }\n").is_err());
    }

    #[test]
    fn subset_rules_are_checked_at_load() {
        let rules = parse(
            "[tables.\"public.c\".subset]\nwhere = \"country = 'FR'\"\npercent = 2.5\nlimit = 10\n[tables.\"public.p\"]\nreferenced_only = true\n[tables.\"public.e\".foreign_keys.e_boss]\non_missing_parent = \"null\"\n[[virtual_foreign_keys]]\ntable = \"public.o\"\ncolumns = [\"c_ref\"]\nreferences = \"public.c\"\n",
        )
        .unwrap();
        assert!(rules.subsets());
        let c = rules.tables[&QualifiedName::new("public", "c")].subset.as_ref().unwrap();
        assert_eq!((c.percent, c.limit, c.line), (Some(2.5), Some(10), 1));
        assert_eq!(rules.virtual_foreign_keys[0].line, 9);
        assert_eq!(
            rules.tables[&QualifiedName::new("public", "e")].foreign_keys["e_boss"].on_missing_parent,
            OnMissingParent::Null
        );
        assert!(!parse("[tables.\"public.c\"]\ndata = \"drop\"\n").unwrap().subsets());
        let err = |text: &str| parse(text).unwrap_err().to_string();
        assert!(err("[tables.\"public.c\".subset]\npercent = 0\n").contains("above 0 and at most 100"));
        assert!(err("[tables.\"public.c\".subset]\npercent = 100.5\n").contains("above 0 and at most 100"));
        assert!(err("[tables.\"public.c\".subset]\n").contains("at least one of"));
        assert!(
            err("[tables.\"public.c\".subset]\nwhere = \"a = \"\n")
                .starts_with("r.toml:1: public.c: subset: `where`: syntax error")
        );
        assert!(
            err("[tables.\"public.c\"]\nreferenced_only = true\n[tables.\"public.c\".subset]\nlimit = 1\n")
                .contains("cannot be combined")
        );
        assert!(
            err("[tables.\"public.c\".foreign_keys.k]\non_missing_parent = \"maybe\"\n").contains("unknown variant")
        );
        assert!(err("[[virtual_foreign_keys]]\ntable = \"public.o\"\ncolumns = [\"a\", \"b\"]\nreferences = \"public.c\"\nreferenced_columns = [\"id\"]\n").contains("counts must match"));
        let e = RuleSet::parse("[tables.\"public.c\".subset]\npercent = 5\n", Path::new("r.toml"), None).unwrap_err();
        assert!(e.to_string().contains("SCRUB_SECRET"), "{e}");
    }

    #[test]
    fn keyed_rules_without_a_key_fail_at_load() {
        let e = RuleSet::parse("[tables.\"public.t\"]\ncolumns.a = \"hash\"\n", Path::new("r.toml"), None).unwrap_err();
        assert!(e.to_string().contains("SCRUB_SECRET"), "{e}");
    }
}
