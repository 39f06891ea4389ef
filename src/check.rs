//! `scrub check`: what the rules do to every column of a dump, without writing anything.
//!
//! Meant for CI against each new schema: it lists every table and column with its type and the
//! rule that covers it, every column no rule covers, and every problem the rules have against the
//! dump (absent names, broken constraints), and fails when there is anything to fix.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::rules::RuleSet;
use crate::rules::bind::{Binder, Source, describe};
use crate::rules::schema::Schema;
use crate::transform::SecretKey;

/// One column of the dump and what happens to it.
#[derive(Debug, Serialize)]
pub struct ColumnCheck {
    pub table: String,
    pub column: String,
    #[serde(rename = "type")]
    pub type_sql: String,
    /// What the rules do: `keep`, a transform name, `drop`, `generated`, or `uncovered`.
    pub action: String,
    /// Where that comes from: a rules file line, a parent table, a foreign key.
    pub source: String,
}

/// One table's subset settings.
#[derive(Debug, Serialize)]
pub struct SubsetCheck {
    pub table: String,
    /// `where ...; percent p; limit n`, `referenced only`, or a reference's `on_missing_parent`.
    pub setting: String,
    pub source: String,
}

/// The whole check.
#[derive(Debug, Serialize)]
pub struct CheckReport {
    pub columns: Vec<ColumnCheck>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subset: Vec<SubsetCheck>,
    pub uncovered: Vec<String>,
    pub problems: Vec<String>,
}

impl CheckReport {
    /// Whether the rules are complete and consistent for this dump.
    pub fn ok(&self) -> bool {
        self.uncovered.is_empty() && self.problems.is_empty()
    }

    /// The human-readable listing.
    pub fn table(&self) -> String {
        let headers = ["table", "column", "type", "action", "source"];
        let rows: Vec<[&str; 5]> =
            self.columns.iter().map(|c| [&*c.table, &*c.column, &*c.type_sql, &*c.action, &*c.source]).collect();
        let mut widths = headers.map(str::len);
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for row in std::iter::once(headers).chain(rows) {
            let line: Vec<String> = row.iter().zip(widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
            out.push_str(line.join("  ").trim_end());
            out.push('\n');
        }
        if !self.subset.is_empty() {
            out.push_str("\nsubset:\n");
            for s in &self.subset {
                out.push_str(&format!("  {}: {} ({})\n", s.table, s.setting, s.source));
            }
        }
        if !self.uncovered.is_empty() {
            out.push_str(&format!("\n{} column(s) not covered by the rules:\n", self.uncovered.len()));
            for c in &self.uncovered {
                out.push_str(&format!("  {c}\n"));
            }
        }
        if !self.problems.is_empty() {
            out.push_str(&format!("\n{} problem(s):\n", self.problems.len()));
            for p in &self.problems {
                out.push_str(&format!("  {p}\n"));
            }
        }
        out
    }
}

/// Checks `rules` against `schema`.
pub fn check(rules: &RuleSet, schema: &Schema) -> CheckReport {
    // Keyed transforms are built to validate their parameters; no value is ever transformed
    // here, so any key will do.
    let key = SecretKey::new(b"scrub check".to_vec()).expect("non-empty");
    let mut binder = Binder::new(rules, Some(&key));
    let (problems, uncovered) = binder.problems(schema);
    let locate = |line: usize| rules.locate(line);
    let mut columns = Vec::new();
    for (name, def) in schema.tables() {
        if def.partitioned {
            continue;
        }
        for (col, generated) in schema.columns(name) {
            let inherited = |owner: &crate::sql::QualifiedName| {
                if owner == name { String::new() } else { format!(", rules of {owner}") }
            };
            let (action, source) = if generated {
                ("generated".to_string(), "computed on restore, no data in the dump".to_string())
            } else {
                match binder.resolve(schema, name, &col) {
                    Source::Rule { owner, rule } => {
                        (rule.transform.clone(), format!("{}{}", locate(rule.line), inherited(owner)))
                    }
                    Source::KeepAll => ("keep".into(), "keep_all".into()),
                    Source::Dropped => ("drop".into(), "data = \"drop\"".into()),
                    Source::Propagated { constraint, origin, rule, .. } => (
                        rule.transform.clone(),
                        format!("foreign key {constraint} to {}", describe(&origin.0, &origin.1)),
                    ),
                    Source::Uncovered => ("uncovered".into(), String::new()),
                }
            };
            columns.push(ColumnCheck {
                table: name.to_string(),
                column: col.clone(),
                type_sql: schema.column_type(name, &col).unwrap_or("").to_string(),
                action,
                source,
            });
        }
    }
    let mut problems: Vec<String> = problems.iter().map(Error::to_string).collect();
    let subset = subset_settings(rules, schema, &mut problems);
    CheckReport { columns, subset, uncovered, problems }
}

/// The subset settings of every table with data, and the problems of the subset rules.
fn subset_settings(rules: &RuleSet, schema: &Schema, problems: &mut Vec<String>) -> Vec<SubsetCheck> {
    if !rules.subsets() {
        return Vec::new();
    }
    let tables: Vec<crate::subset::graph::DataTable> = schema
        .tables()
        .filter(|(_, d)| !d.partitioned)
        .map(|(name, _)| crate::subset::graph::DataTable {
            name: name.clone(),
            columns: schema.columns(name).into_iter().filter(|(_, g)| !g).map(|(c, _)| c).collect(),
        })
        .collect();
    let key = SecretKey::new(b"scrub check".to_vec()).expect("non-empty");
    if let Err(e) = crate::subset::graph::Graph::build(schema, rules, &tables, Some(&key)) {
        problems.push(e.to_string());
    }
    let mut out = Vec::new();
    for t in &tables {
        let Some((owner, r)) = schema.rules_for(rules, &t.name) else { continue };
        let source =
            if *owner == t.name { rules.locate(r.line) } else { format!("{}, rules of {owner}", rules.locate(r.line)) };
        let push = |out: &mut Vec<SubsetCheck>, setting: String, source: String| {
            out.push(SubsetCheck { table: t.name.to_string(), setting, source })
        };
        if let Some(sub) = &r.subset {
            let mut parts = Vec::new();
            if let Some(f) = &sub.filter {
                parts.push(format!("where {}", f.source()));
            }
            if let Some(p) = sub.percent {
                parts.push(format!("percent {p}"));
            }
            if let Some(l) = sub.limit {
                parts.push(format!("limit {l}"));
            }
            push(&mut out, parts.join("; "), source.clone());
        }
        if r.referenced_only {
            push(&mut out, "referenced only".into(), source.clone());
        }
        for (fk, rule) in rules.tables.get(&t.name).map(|r| &r.foreign_keys).into_iter().flatten() {
            push(
                &mut out,
                format!("foreign key {fk}: on_missing_parent = {:?}", rule.on_missing_parent).to_lowercase(),
                rules.locate(rule.line),
            );
        }
    }
    for v in &rules.virtual_foreign_keys {
        out.push(SubsetCheck {
            table: v.table.to_string(),
            setting: format!(
                "virtual foreign key ({}) references {} ({}), on_missing_parent = {}",
                v.columns.join(", "),
                v.references,
                if v.referenced_columns.is_empty() {
                    "primary key".to_string()
                } else {
                    v.referenced_columns.join(", ")
                },
                format!("{:?}", v.on_missing_parent).to_lowercase()
            ),
            source: rules.locate(v.line),
        });
    }
    out
}

/// Reads a dump's schema (any format) and checks `rules` against it.
pub fn check_dump(
    rules: &RuleSet,
    input: Option<&std::path::Path>,
    opts: &crate::pipeline::Options,
) -> Result<CheckReport> {
    let schema = crate::inspect::visit_dump(input, opts, &mut crate::inspect::SchemaOnly)?;
    Ok(check(rules, &schema))
}
