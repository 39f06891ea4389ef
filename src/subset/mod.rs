//! Subsetting: keep a slice of a dump whose foreign keys all still hold.
//!
//! Rules pick rows (`[tables.X.subset]`: `where`, `percent`, `limit`), `referenced_only` tables
//! keep just what kept rows reference, and foreign keys (declared, or `virtual_foreign_keys`)
//! carry the choice: parents filter their children (phase D), then kept rows pull in the rows
//! they reference (phase K). The exact semantics are in the README. [`graph`] builds the
//! reference graph and checks the rules, [`plan`] runs the phases over tables read one at a time
//! through a [`plan::RowSource`], [`keys`] holds the key sets within `--memory-limit`, and
//! [`source`] reads tables from plain dumps (by byte range, spooled when the input cannot seek)
//! and from archives (by TOC entry). The result is a [`Selection`]: per table, a [`RowFilter`]
//! that the ordinary output pass applies to each row by its index in the table's data.
//!
//! Nothing here writes output or changes values; without subset rules none of it runs.

pub mod graph;
pub mod keys;
pub mod plan;
pub mod source;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::error::Result;
use crate::sql::QualifiedName;
use graph::Graph;
use keys::{KeySet, KeyValue, key_of};
use plan::Kept;

/// A reference whose columns are written as NULL when the referenced row is not kept.
#[derive(Debug)]
pub struct NullRef {
    pub columns: Vec<usize>,
    pub keys: Arc<KeySet>,
}

/// What the output pass does with one table's rows.
#[derive(Debug)]
pub struct RowFilter {
    pub kept: Kept,
    pub nulls: Vec<NullRef>,
    /// Why rows are kept, for the summary.
    pub reason: &'static str,
    /// Rows the table's own rule and its parents kept (phase D), when counted.
    pub selected: Option<u64>,
    /// Rows added because kept rows reference them.
    pub pulled: u64,
}

impl RowFilter {
    /// Whether the row with this index (from 0, in the table's data) is written.
    pub fn keeps(&self, row: u64) -> bool {
        self.kept.contains(row)
    }

    /// The columns of a kept row (given as raw COPY fields) to write as NULL: those of each
    /// `on_missing_parent = "null"` reference whose parent row is not kept.
    pub fn columns_to_null<'r>(&self, field: impl Fn(usize) -> &'r [u8], out: &mut Vec<usize>) -> Result<(), String> {
        out.clear();
        for n in &self.nulls {
            let fields: Vec<&[u8]> = n.columns.iter().map(|&c| field(c)).collect();
            let v = key_of(n.keys.kind(), &fields);
            let missing = match v {
                KeyValue::Null => false,
                KeyValue::Never => true,
                KeyValue::Key(k) => !n.keys.contains(k).map_err(|e| format!("reading a key set: {e}"))?,
            };
            if missing {
                for &c in &n.columns {
                    if !out.contains(&c) {
                        out.push(c);
                    }
                }
            }
        }
        Ok(())
    }
}

/// The filters of a subset run, by table.
#[derive(Debug, Default)]
pub struct Selection {
    filters: BTreeMap<QualifiedName, Arc<RowFilter>>,
}

impl Selection {
    pub fn filter(&self, table: &QualifiedName) -> Option<Arc<RowFilter>> {
        self.filters.get(table).cloned()
    }

    /// Turns the phases' outcome into filters. Tables that keep every row unchanged and have no
    /// rule get none (their data can be copied as it is).
    pub fn new(g: &Graph, outcome: plan::Outcome) -> Self {
        let present: Vec<Arc<KeySet>> = outcome.present.into_iter().map(Arc::new).collect();
        let mut filters = BTreeMap::new();
        for (n, (node, decided)) in g.nodes.iter().zip(outcome.tables).enumerate() {
            let nulls: Vec<NullRef> = g
                .edges
                .iter()
                .filter(|e| e.child == n && e.nulls)
                .map(|e| NullRef { columns: e.child_columns.clone(), keys: present[e.keyset].clone() })
                .collect();
            if !node.ruled && decided.kept == Kept::All && nulls.is_empty() {
                continue;
            }
            let reason = if node.dropped {
                "data dropped"
            } else if node.referenced_only {
                "referenced only"
            } else if node.ruled {
                "subset rule"
            } else {
                "foreign keys"
            };
            filters.insert(
                node.name.clone(),
                Arc::new(RowFilter {
                    kept: decided.kept,
                    nulls,
                    reason,
                    selected: decided.selected,
                    pulled: decided.pulled,
                }),
            );
        }
        Selection { filters }
    }
}

/// Builds the graph (checking the rules), runs the phases over `src`, and returns the filters.
pub fn select<S: plan::RowSource>(
    g: &Graph,
    src: &mut S,
    memory_limit: u64,
    key: Option<&crate::transform::SecretKey>,
) -> Result<Selection> {
    let budget = keys::Budget::new(memory_limit);
    let outcome = plan::run(g, src, &budget, key)?;
    Ok(Selection::new(g, outcome))
}
