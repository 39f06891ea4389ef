//! The run summary: per COPY block, rows in and out and the columns rewritten. Printed on stderr
//! at the end of a run and written as JSON with `--report FILE`.
//!
//! It holds counts and names only, never values from the dump.

use serde::Serialize;

use crate::rules::bind::TablePlan;

/// One COPY block's numbers.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TableReport {
    pub table: String,
    /// Set when the rules were inherited from a parent (partitions, inheritance children).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rules_from: Option<String>,
    pub rows_in: u64,
    pub rows_out: u64,
    /// Copied from the archive without being parsed: rows were not counted.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub copied_raw: bool,
    pub dropped: bool,
    /// (column, transform) for each rewritten column.
    pub rewritten: Vec<RewrittenColumn>,
    /// Columns no rule names, copied unchanged under `unlisted_columns = "warn"`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unlisted: Vec<String>,
    /// Subsetting: why the table's rows were kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subset: Option<SubsetRows>,
}

/// Why a subset table keeps the rows it keeps.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SubsetRows {
    /// `subset rule`, `referenced only`, `foreign keys` (filtered by its parents only) or
    /// `data dropped`.
    pub reason: String,
    /// Rows kept by the table's own rule and its parents (before integrity), when counted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selected: Option<u64>,
    /// Rows added because kept rows reference them.
    pub pulled: u64,
}

impl SubsetRows {
    fn describe(&self) -> String {
        let selected = self.selected.map(|n| format!(", {n} selected")).unwrap_or_default();
        format!("[subset: {}{selected}, {} pulled in]", self.reason, self.pulled)
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RewrittenColumn {
    pub column: String,
    /// The transform, and where the rule came from when it was not written for this column.
    pub transform: String,
}

/// The whole run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub tables: Vec<TableReport>,
    pub warnings: Vec<String>,
    /// Other things the run did that a user should know (entries dropped from an archive, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The script's lines end in CR LF (so must anything appended to it).
    #[serde(skip)]
    pub crlf: bool,
    /// Plan id → index in `tables`.
    #[serde(skip)]
    index: std::collections::BTreeMap<usize, usize>,
}

impl Report {
    pub(crate) fn begin_table(&mut self, plan: &TablePlan) {
        self.index.insert(plan.id, self.tables.len());
        self.push_table(plan);
    }

    /// Lists a table copied without being parsed (its rows are not counted).
    pub(crate) fn copied_raw(&mut self, plan: &TablePlan) {
        self.push_table(plan);
        if let Some(t) = self.tables.last_mut() {
            t.copied_raw = true;
        }
    }

    fn push_table(&mut self, plan: &TablePlan) {
        self.tables.push(TableReport {
            table: plan.table.to_string(),
            rules_from: plan.rules_from.as_ref().map(ToString::to_string),
            rows_in: 0,
            rows_out: 0,
            copied_raw: false,
            dropped: plan.drop,
            rewritten: plan
                .rewritten()
                .into_iter()
                .map(|(column, transform)| RewrittenColumn { column, transform })
                .collect(),
            unlisted: plan.unlisted.clone(),
            subset: plan.subset.as_ref().map(|f| SubsetRows {
                reason: f.reason.to_string(),
                selected: f.selected,
                pulled: f.pulled,
            }),
        });
    }

    /// Appends another report's tables (one archive entry's run).
    pub(crate) fn merge(&mut self, other: Report) {
        for (id, i) in other.index {
            self.index.insert(id, self.tables.len() + i);
        }
        self.tables.extend(other.tables);
        self.warnings.extend(other.warnings);
    }

    pub(crate) fn rows(&mut self, plan: &TablePlan, rows_in: u64, rows_out: u64) {
        let t = &mut self.tables[self.index[&plan.id]];
        t.rows_in += rows_in;
        t.rows_out += rows_out;
    }

    /// The human-readable summary.
    pub fn summary(&self) -> String {
        let width = self.tables.iter().map(|t| t.table.len()).max().unwrap_or(5).max(5);
        let mut out = format!("{:<width$}  {:>12}  {:>12}  rewritten\n", "table", "rows in", "rows out");
        for t in &self.tables {
            let what = if t.dropped {
                "(data dropped)".to_string()
            } else {
                t.rewritten.iter().map(|c| format!("{} ({})", c.column, c.transform)).collect::<Vec<_>>().join(", ")
            };
            let mut inherited = t.rules_from.as_ref().map(|p| format!(" [rules of {p}]")).unwrap_or_default();
            if let Some(s) = &t.subset {
                inherited.push(' ');
                inherited.push_str(&s.describe());
            }
            let (rows_in, rows_out) = if t.copied_raw {
                ("-".to_string(), "-".to_string())
            } else {
                (t.rows_in.to_string(), t.rows_out.to_string())
            };
            let what = if t.copied_raw { "(copied unchanged, not parsed)".to_string() } else { what };
            out.push_str(&format!("{:<width$}  {rows_in:>12}  {rows_out:>12}  {what}{inherited}\n", t.table));
        }
        let rows_in: u64 = self.tables.iter().map(|t| t.rows_in).sum();
        let rows_out: u64 = self.tables.iter().map(|t| t.rows_out).sum();
        out.push_str(&format!(
            "{:<width$}  {rows_in:>12}  {rows_out:>12}\n",
            format!("{} table(s)", self.tables.len())
        ));
        for n in &self.notes {
            out.push_str(&format!("note: {n}\n"));
        }
        for w in &self.warnings {
            out.push_str(&format!("warning: {w}\n"));
        }
        out
    }
}
