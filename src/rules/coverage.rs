//! Matching rules to the dump: which rule covers each column, which columns no rule covers, and
//! which rules name something the dump does not have. Also compiles the per-table plan that the
//! COPY workers run.
//!
//! The schema comes from the dump's own `CREATE TABLE` statements, which pg_dump writes before any
//! data, so every check here can run before the first row is written. Child tables (partitions,
//! `INHERITS` children) use their parent's rules unless the rules file names them itself; this is
//! what makes `--load-via-partition-root` and per-partition COPY blocks get the same treatment.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::{DataAction, RuleSet, TableRules, Unlisted};
use crate::error::{Error, Result};
use crate::sql::QualifiedName;
use crate::sql::ddl::{Constraint, CopyStmt, TableDef};
use crate::sql::token::{needs_quotes, quote_ident};
use crate::transform::Transform;

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
        self.constraints.append(&mut def.constraints);
        self.tables.insert(def.name.clone(), def);
    }

    pub fn add_constraint(&mut self, constraint: Constraint) {
        self.constraints.push(constraint);
    }

    pub fn add_composite(&mut self, name: QualifiedName, fields: Vec<(String, String)>) {
        self.composites.insert(name, fields);
    }

    pub fn add_attach(&mut self, parent: QualifiedName, child: QualifiedName) {
        self.attached.entry(child).or_default().push(parent);
    }

    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }

    pub fn table(&self, name: &QualifiedName) -> Option<&TableDef> {
        self.tables.get(name)
    }

    fn parents(&self, name: &QualifiedName) -> impl Iterator<Item = &QualifiedName> {
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
        let name = QualifiedName::parse(type_name)
            .or_else(|_| QualifiedName::parse(&format!("public.{type_name}")))
            .ok()?;
        self.composites.get(&name).cloned()
    }
}

/// What the workers do with one COPY block.
#[derive(Debug)]
pub struct TablePlan {
    /// Index of this COPY block in the dump, for the summary.
    pub id: usize,
    /// The COPY target.
    pub table: QualifiedName,
    /// The table whose rules apply, when they were inherited from a parent.
    pub rules_from: Option<QualifiedName>,
    pub columns: Vec<String>,
    /// Drop every row.
    pub drop: bool,
    /// Per COPY column: `None` copies the raw field.
    pub fields: Vec<Option<Arc<Transform>>>,
    /// Columns copied unchanged although no rule names them (`unlisted_columns = "warn"`).
    pub unlisted: Vec<String>,
}

impl TablePlan {
    /// Whether every row passes through unchanged.
    pub fn is_identity(&self) -> bool {
        !self.drop && self.fields.iter().all(Option::is_none)
    }

    /// (column, transform) for every rewritten column.
    pub fn rewritten(&self) -> Vec<(String, &'static str)> {
        self.columns.iter().zip(&self.fields).filter_map(|(c, f)| f.as_ref().map(|t| (c.clone(), t.name()))).collect()
    }
}

fn describe(table: &QualifiedName, column: &str) -> String {
    let column = if needs_quotes(column) { quote_ident(column) } else { column.to_string() };
    format!("{table}.{column}")
}

/// Compiles the plan for one COPY block. Columns no rule covers are returned as an error when
/// the rules say `unlisted_columns = "error"`.
pub fn plan(rules: &RuleSet, schema: &Schema, copy: &CopyStmt, id: usize) -> Result<TablePlan> {
    let found = schema.rules_for(rules, &copy.table);
    let mut plan = TablePlan {
        id,
        table: copy.table.clone(),
        rules_from: found.and_then(|(name, _)| (*name != copy.table).then(|| name.clone())),
        columns: copy.columns.clone(),
        drop: found.is_some_and(|(_, t)| t.data == DataAction::Drop),
        fields: Vec::with_capacity(copy.columns.len()),
        unlisted: Vec::new(),
    };
    let mut uncovered = Vec::new();
    for col in &copy.columns {
        let covered = match found {
            Some((_, t)) if t.data == DataAction::Drop || t.keep_all => Some(None),
            Some((_, t)) => t.columns.get(col).map(|r| r.transform.clone()),
            None => None,
        };
        match covered {
            Some(transform) if !plan.drop => plan.fields.push(transform),
            Some(_) => plan.fields.push(None),
            None => {
                plan.fields.push(None);
                uncovered.push(col.clone());
            }
        }
    }
    match rules.unlisted {
        Unlisted::Error if !uncovered.is_empty() => {
            Err(Error::Uncovered { columns: uncovered.iter().map(|c| describe(&copy.table, c)).collect() })
        }
        Unlisted::Warn => {
            plan.unlisted = uncovered;
            Ok(plan)
        }
        _ => Ok(plan),
    }
}

/// Checks the rules against the schema declared by the dump, before any data: every rule must
/// name a table and column that exist, and (with `unlisted_columns = "error"`) every column that
/// carries data must be covered. Returns the uncovered columns when the policy is `warn`.
pub fn check_schema(rules: &RuleSet, schema: &Schema) -> Result<Vec<String>> {
    for (name, table) in &rules.tables {
        if schema.table(name).is_none() {
            return Err(rules_error(
                rules,
                table.line,
                format!("table {name} is not in the dump{}", suggest_table(schema, name)),
            ));
        }
        let columns = schema.columns(name);
        for (col, rule) in &table.columns {
            if !columns.iter().any(|(c, _)| c == col) {
                let hint = columns
                    .iter()
                    .find(|(c, _)| c.eq_ignore_ascii_case(col))
                    .map(|(c, _)| format!(" (did you mean `{c}`? column names are case-sensitive)"))
                    .unwrap_or_default();
                return Err(rules_error(rules, rule.line, format!("table {name} has no column `{col}`{hint}")));
            }
        }
    }
    let mut uncovered = Vec::new();
    for (name, def) in &schema.tables {
        if def.partitioned {
            continue;
        }
        let found = schema.rules_for(rules, name);
        for (col, generated) in schema.columns(name) {
            let covered = generated
                || match found {
                    Some((_, t)) => t.data == DataAction::Drop || t.keep_all || t.columns.contains_key(&col),
                    None => false,
                };
            if !covered {
                uncovered.push(describe(name, &col));
            }
        }
    }
    match rules.unlisted {
        Unlisted::Error if !uncovered.is_empty() => Err(Error::Uncovered { columns: uncovered }),
        Unlisted::Warn => Ok(uncovered),
        _ => Ok(Vec::new()),
    }
}

/// For dumps without `CREATE TABLE` (data-only): every table named in the rules must have had a
/// COPY block.
pub fn check_tables_seen(rules: &RuleSet, seen: &BTreeSet<QualifiedName>) -> Result<()> {
    match rules.tables.iter().find(|(name, _)| !seen.contains(*name)) {
        Some((name, table)) => Err(rules_error(rules, table.line, format!("table {name} is not in the dump"))),
        None => Ok(()),
    }
}

fn suggest_table(schema: &Schema, name: &QualifiedName) -> String {
    schema
        .tables
        .keys()
        .find(|t| t.schema.eq_ignore_ascii_case(&name.schema) && t.name.eq_ignore_ascii_case(&name.name))
        .map(|t| format!(" (did you mean {t}? quote mixed-case names: '\"{}\".\"{}\"')", t.schema, t.name))
        .unwrap_or_default()
}

fn rules_error(rules: &RuleSet, line: usize, msg: String) -> Error {
    Error::Rules { file: rules.path.clone().unwrap_or_default(), line: Some(line), msg }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::ddl::{Statement, classify};
    use crate::transform::SecretKey;
    use std::path::Path;

    fn schema(sql: &[&str]) -> Schema {
        let mut s = Schema::default();
        for stmt in sql {
            match classify(stmt.as_bytes(), true) {
                Statement::CreateTable(def) => s.add_table(def),
                Statement::AttachPartition { parent, child } => s.add_attach(parent, child),
                other => panic!("{other:?}"),
            }
        }
        s
    }

    fn rules(text: &str) -> RuleSet {
        RuleSet::parse(text, Path::new("r.toml"), Some(&SecretKey::new(b"k".to_vec()).unwrap())).unwrap()
    }

    fn copy(table: &str, cols: &[&str]) -> CopyStmt {
        CopyStmt { table: QualifiedName::parse(table).unwrap(), columns: cols.iter().map(|c| c.to_string()).collect() }
    }

    #[test]
    fn partitions_and_children_inherit_rules() {
        let s = schema(&[
            "CREATE TABLE public.par (id integer, email text) PARTITION BY LIST (id);",
            "CREATE TABLE public.par_a (id integer, email text);",
            "ALTER TABLE ONLY public.par ATTACH PARTITION public.par_a FOR VALUES IN (1);",
            "CREATE TABLE public.base (id integer, name text);",
            "CREATE TABLE public.child (own text) INHERITS (public.base);",
        ]);
        let r = rules(
            "[tables.\"public.par\"]\ncolumns.id = \"keep\"\ncolumns.email = \"email\"\n[tables.\"public.base\"]\ncolumns.id = \"keep\"\ncolumns.name = \"keep\"\n",
        );
        let e = check_schema(&r, &s).unwrap_err();
        assert_eq!(e.to_string().lines().nth(1), Some("  public.child.own"));
        let p = plan(&r, &s, &copy("public.par_a", &["id", "email"]), 0).unwrap();
        assert_eq!(p.rewritten(), vec![("email".to_string(), "email")]);
        assert_eq!(p.rules_from, Some(QualifiedName::new("public", "par")));
    }

    #[test]
    fn rules_naming_absent_things_fail_with_line() {
        let s = schema(&["CREATE TABLE public.users (id integer, Email text, \"Email\" text);"]);
        let e =
            check_schema(&rules("[tables.\"public.users\"]\ncolumns.id = \"keep\"\ncolumns.EMAIL = \"null\"\n"), &s)
                .unwrap_err();
        assert!(e.to_string().starts_with("r.toml:3: table public.users has no column `EMAIL` (did you mean"), "{e}");
        let e = check_schema(&rules("[tables.'\"public\".\"Users\"']\nkeep_all = true\n"), &s).unwrap_err();
        assert!(e.to_string().contains("did you mean public.users"), "{e}");
    }

    #[test]
    fn generated_columns_need_no_rule_and_drop_covers_all() {
        let s = schema(&[
            "CREATE TABLE public.g (id integer, x integer GENERATED ALWAYS AS ((id * 2)) STORED);",
            "CREATE TABLE public.log (msg text);",
        ]);
        let r = rules("[tables.\"public.g\"]\ncolumns.id = \"keep\"\n[tables.\"public.log\"]\ndata = \"drop\"\n");
        assert!(check_schema(&r, &s).unwrap().is_empty());
        let p = plan(&r, &s, &copy("public.log", &["msg"]), 1).unwrap();
        assert!(p.drop && !p.is_identity());
    }
}
