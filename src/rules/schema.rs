//! What the dump declares, as far as the rules need it: tables and their columns with types,
//! parents (partitions and `INHERITS`), constraints, and composite types.
//!
//! It is filled from the dump's own DDL and never from a live database. Child tables use their
//! parent's rules unless the rules file names them itself; [`Schema::rules_for`] is where that is
//! decided, which is what makes `--load-via-partition-root` and per-partition COPY blocks get the
//! same treatment.

use std::collections::BTreeMap;

use super::{RuleSet, TableRules};
use crate::sql::QualifiedName;
use crate::sql::ddl::{Constraint, TableDef};

/// The tables the dump declares, as far as scrub needs them.
#[derive(Debug, Default, Clone)]
pub struct Schema {
    tables: BTreeMap<QualifiedName, TableDef>,
    /// Partition parents learnt from `ATTACH PARTITION`, child → parents.
    attached: BTreeMap<QualifiedName, Vec<QualifiedName>>,
    /// Primary keys, unique constraints and indexes, foreign keys.
    pub constraints: Vec<Constraint>,
    /// Composite types: name → fields (name, type).
    composites: BTreeMap<QualifiedName, Vec<(String, String)>>,
}

/// Bounds walks up the inheritance graph, in case a malformed dump declares a cycle.
const MAX_DEPTH: usize = 64;

impl Schema {
    pub fn add_table(&mut self, mut def: TableDef) {
        for c in std::mem::take(&mut def.constraints) {
            self.add_constraint(c);
        }
        self.tables.insert(def.name.clone(), def);
    }

    pub fn add_constraint(&mut self, constraint: Constraint) {
        // A prescanned schema sees the same statements again in the main pass.
        if !self.constraints.contains(&constraint) {
            self.constraints.push(constraint);
        }
    }

    pub fn add_composite(&mut self, name: QualifiedName, fields: Vec<(String, String)>) {
        self.composites.insert(name, fields);
    }

    pub fn add_attach(&mut self, parent: QualifiedName, child: QualifiedName) {
        let parents = self.attached.entry(child).or_default();
        if !parents.contains(&parent) {
            parents.push(parent);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }

    pub fn tables(&self) -> impl Iterator<Item = (&QualifiedName, &TableDef)> {
        self.tables.iter()
    }

    pub fn table(&self, name: &QualifiedName) -> Option<&TableDef> {
        self.tables.get(name)
    }

    pub fn parents(&self, name: &QualifiedName) -> impl Iterator<Item = &QualifiedName> {
        let declared = self.tables.get(name).map(|t| t.parents.as_slice()).unwrap_or_default();
        declared.iter().chain(self.attached.get(name).into_iter().flatten())
    }

    /// Every column of `name`, inherited ones included, as (name, is-generated).
    pub fn columns(&self, name: &QualifiedName) -> Vec<(String, bool)> {
        let mut out: Vec<(String, bool)> = Vec::new();
        self.collect_columns(name, &mut out, 0);
        out
    }

    fn collect_columns(&self, name: &QualifiedName, out: &mut Vec<(String, bool)>, depth: usize) {
        let Some(def) = self.tables.get(name) else { return };
        if depth < MAX_DEPTH {
            for parent in &def.parents {
                self.collect_columns(parent, out, depth + 1);
            }
        }
        for c in &def.columns {
            if !out.iter().any(|(n, _)| *n == c.name) {
                out.push((c.name.clone(), c.generated));
            }
        }
    }

    /// The declared type of a column (inherited columns included).
    pub fn column_type(&self, table: &QualifiedName, column: &str) -> Option<&str> {
        let mut frontier = vec![table];
        for _ in 0..MAX_DEPTH {
            for t in &frontier {
                if let Some(c) = self.tables.get(*t).and_then(|d| d.columns.iter().find(|c| c.name == column)) {
                    return Some(&c.type_sql);
                }
            }
            frontier = frontier.iter().filter_map(|t| self.tables.get(*t)).flat_map(|d| d.parents.iter()).collect();
            if frontier.is_empty() {
                break;
            }
        }
        None
    }

    /// Whether a column is declared NOT NULL.
    pub fn column_not_null(&self, table: &QualifiedName, column: &str) -> bool {
        self.tables.get(table).and_then(|d| d.columns.iter().find(|c| c.name == column)).is_some_and(|c| c.not_null)
    }

    /// The rules that apply to `name`: its own, or else the nearest ancestor's.
    pub fn rules_for<'r>(
        &self,
        rules: &'r RuleSet,
        name: &QualifiedName,
    ) -> Option<(&'r QualifiedName, &'r TableRules)> {
        let mut frontier = vec![name];
        for _ in 0..MAX_DEPTH {
            if let Some(hit) = frontier.iter().find_map(|t| rules.tables.get_key_value(*t)) {
                return Some(hit);
            }
            frontier = frontier.iter().flat_map(|t| self.parents(t)).collect();
            if frontier.is_empty() {
                break;
            }
        }
        None
    }
}

impl crate::transform::TypeInfo for Schema {
    fn composite_fields(&self, type_name: &str) -> Option<Vec<(String, String)>> {
        let name =
            QualifiedName::parse(type_name).or_else(|_| QualifiedName::parse(&format!("public.{type_name}"))).ok()?;
        self.composites.get(&name).cloned()
    }
}
