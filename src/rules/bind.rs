//! Binding the rules to one dump: which treatment each column of each table gets, checked against
//! the dump's schema and constraints before any row is written, and compiled into the per-COPY-block
//! plans the workers run.
//!
//! The checks here are the ones that make a restore fail hours later if skipped: a rule naming
//! something the dump does not have, a column no rule covers, a transform that may break a primary
//! key or unique constraint, a foreign key whose two ends are rewritten differently, NULL written
//! into a NOT NULL column. Foreign keys also carry rules: a column referencing a rewritten column
//! gets the referenced column's transform (the same compiled transform, so equal inputs give
//! equal outputs) unless its own rule conflicts.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::schema::Schema;
use super::{ColumnRule, DataAction, RuleSet, TemplatePart, Unlisted};
use crate::error::{Error, Result};
use crate::sql::QualifiedName;
use crate::sql::ddl::{Constraint, ConstraintKind, CopyStmt};
use crate::sql::token::{needs_quotes, quote_ident};
use crate::transform::{SecretKey, Transform, Uniqueness};

/// Bounds walks along foreign keys, in case of cycles.
const MAX_DEPTH: usize = 32;

/// Where a column's treatment comes from.
#[derive(Debug, Clone)]
pub enum Source<'a> {
    /// A rule of the rules file (possibly `keep`), from the table `owner` (the table itself or
    /// the ancestor whose rules it uses).
    Rule { owner: &'a QualifiedName, rule: &'a ColumnRule },
    /// `keep_all = true`.
    KeepAll,
    /// `data = "drop"`.
    Dropped,
    /// The rule of a referenced column, applied through the foreign key `constraint`. `origin`
    /// is the column the rule is written for (at the end of a chain of foreign keys).
    Propagated { constraint: String, owner: &'a QualifiedName, origin: (QualifiedName, String), rule: &'a ColumnRule },
    /// No rule covers the column.
    Uncovered,
}

impl<'a> Source<'a> {
    /// Whether the column's values are rewritten (or nulled) in the output.
    pub fn rewrites(&self) -> bool {
        self.rewriting_rule().is_some()
    }

    /// The rule that rewrites the column, if any.
    fn rewriting_rule(&self) -> Option<&'a ColumnRule> {
        match self {
            Source::Rule { rule, .. } if !rule.is_keep() => Some(rule),
            Source::Propagated { rule, .. } => Some(rule),
            _ => None,
        }
    }
}

/// One rewritten field of a COPY block.
#[derive(Debug)]
pub struct FieldPlan {
    /// The value transform; `None` for templates.
    pub transform: Option<Arc<Transform>>,
    /// For templates: the parts, with columns resolved to COPY field indexes.
    pub template: Option<Vec<BoundPart>>,
    /// The field whose original value seeds the transform (`by`).
    pub seed: Option<usize>,
    /// `when`: the rule applies to rows where this is not false.
    pub when: Option<crate::expr::Bound>,
    /// What the summary says about this column: the transform, and where it came from.
    pub label: String,
}

/// A template part with its column resolved to a field index.
#[derive(Debug, Clone)]
pub enum BoundPart {
    Literal(Vec<u8>),
    Field { index: usize, original: bool },
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
    pub fields: Vec<Option<FieldPlan>>,
    /// Columns copied unchanged although no rule names them (`unlisted_columns = "warn"`).
    pub unlisted: Vec<String>,
    /// Fields whose original values some rule reads (templates, `by`), decoded once per row.
    pub context: Vec<usize>,
    /// Some rule is a template, which may read other rules' results.
    pub templates: bool,
    /// Subsetting: which rows are written, and which references are written as NULL.
    pub subset: Option<Arc<crate::subset::RowFilter>>,
}

impl TablePlan {
    /// A plan that copies every row unchanged.
    pub fn identity(table: QualifiedName, columns: Vec<String>) -> Self {
        let fields = columns.iter().map(|_| None).collect();
        TablePlan {
            id: 0,
            table,
            rules_from: None,
            columns,
            drop: false,
            fields,
            unlisted: Vec::new(),
            context: Vec::new(),
            templates: false,
            subset: None,
        }
    }

    /// Whether every row passes through unchanged.
    pub fn is_identity(&self) -> bool {
        !self.drop && self.subset.is_none() && self.fields.iter().all(Option::is_none)
    }

    /// (column, label) for every rewritten column.
    pub fn rewritten(&self) -> Vec<(String, String)> {
        self.columns
            .iter()
            .zip(&self.fields)
            .filter_map(|(c, f)| f.as_ref().map(|f| (c.clone(), f.label.clone())))
            .collect()
    }
}

/// `schema.table.column`, quoted where SQL would need it.
pub fn describe(table: &QualifiedName, column: &str) -> String {
    let column = if needs_quotes(column) { quote_ident(column) } else { column.to_string() };
    format!("{table}.{column}")
}

/// Binds a rule set to a dump's schema.
pub struct Binder<'a> {
    rules: &'a RuleSet,
    key: Option<&'a SecretKey>,
    /// Transforms built so far, by (rules owner, column the rule is written for).
    built: BTreeMap<(QualifiedName, String), Arc<Transform>>,
    /// Columns already planned with their treatment, for checking constraints that arrive after
    /// the data (plain dumps read from a pipe).
    planned: BTreeSet<(QualifiedName, String, bool)>,
}

impl<'a> Binder<'a> {
    pub fn new(rules: &'a RuleSet, key: Option<&'a SecretKey>) -> Self {
        Binder { rules, key, built: BTreeMap::new(), planned: BTreeSet::new() }
    }

    fn rules_error(&self, line: usize, msg: String) -> Error {
        Error::Rules { file: self.rules.path.clone().unwrap_or_default(), line: Some(line), msg }
    }

    /// The foreign key that makes `table.column` reference another column, if any.
    fn fk_target(
        &self,
        schema: &Schema,
        table: &QualifiedName,
        column: &str,
    ) -> Option<(String, QualifiedName, String)> {
        let mut tables = vec![table.clone()];
        let mut frontier = vec![table.clone()];
        for _ in 0..MAX_DEPTH {
            frontier = frontier.iter().flat_map(|t| schema.parents(t).cloned().collect::<Vec<_>>()).collect();
            if frontier.is_empty() {
                break;
            }
            tables.extend(frontier.iter().cloned());
        }
        schema.constraints.iter().find_map(|c| {
            let ConstraintKind::ForeignKey { columns, ref_table, ref_columns } = &c.kind else { return None };
            if !tables.contains(&c.table) {
                return None;
            }
            let k = columns.iter().position(|col| col == column)?;
            let ref_column = match ref_columns.get(k) {
                Some(r) => r.clone(),
                None => primary_key(schema, ref_table)?.get(k)?.clone(),
            };
            Some((c.name.clone(), ref_table.clone(), ref_column))
        })
    }

    /// Where the treatment of `table.column` comes from.
    pub fn resolve(&self, schema: &Schema, table: &QualifiedName, column: &str) -> Source<'a> {
        self.resolve_at(schema, table, column, 0)
    }

    fn resolve_at(&self, schema: &Schema, table: &QualifiedName, column: &str, depth: usize) -> Source<'a> {
        let found = schema.rules_for(self.rules, table);
        if found.is_some_and(|(_, t)| t.data == DataAction::Drop) {
            return Source::Dropped;
        }
        let explicit = found.and_then(|(owner, t)| t.columns.get(column).map(|rule| (owner, rule)));
        if let Some((owner, rule)) = explicit
            && !rule.is_keep()
        {
            return Source::Rule { owner, rule };
        }
        if depth < MAX_DEPTH
            && let Some((constraint, parent, parent_column)) = self.fk_target(schema, table, column)
        {
            match self.resolve_at(schema, &parent, &parent_column, depth + 1) {
                Source::Rule { owner, rule } if !rule.is_keep() => {
                    return Source::Propagated { constraint, owner, origin: (parent, parent_column), rule };
                }
                Source::Propagated { owner, origin, rule, .. } => {
                    return Source::Propagated { constraint, owner, origin, rule };
                }
                _ => {}
            }
        }
        match (explicit, found) {
            (Some((owner, rule)), _) => Source::Rule { owner, rule },
            (None, Some((_, t))) if t.keep_all => Source::KeepAll,
            _ => Source::Uncovered,
        }
    }

    /// The compiled transform for a rule written for `origin` (built once, shared by every column
    /// that uses it, so a key and its references always agree).
    fn transform(
        &mut self,
        schema: &Schema,
        owner: &QualifiedName,
        origin: (&QualifiedName, &str),
        rule: &ColumnRule,
    ) -> Result<Option<Arc<Transform>>> {
        let cache_key = (owner.clone(), origin.1.to_string());
        if let Some(t) = self.built.get(&cache_key) {
            return Ok(Some(t.clone()));
        }
        let ty = schema.column_type(origin.0, origin.1);
        let built = rule
            .build(self.key, ty, schema)
            .map_err(|m| self.rules_error(rule.line, format!("{}: {m}", describe(origin.0, origin.1))))?;
        Ok(built.map(|t| {
            let t = Arc::new(t);
            self.built.insert(cache_key, t.clone());
            t
        }))
    }

    /// Checks the rules against everything the dump declared before its data. Returns the
    /// uncovered columns when the policy is `warn`; the first problem otherwise.
    pub fn check(&mut self, schema: &Schema) -> Result<Vec<String>> {
        let (mut problems, uncovered) = self.problems(schema);
        if !problems.is_empty() {
            return Err(problems.swap_remove(0));
        }
        match self.rules.unlisted {
            Unlisted::Error if !uncovered.is_empty() => Err(Error::Uncovered { columns: uncovered }),
            Unlisted::Warn => Ok(uncovered),
            _ => Ok(Vec::new()),
        }
    }

    /// Every problem of the rules against the schema, in a stable order, and the columns no rule
    /// covers (whatever the `unlisted_columns` policy).
    pub fn problems(&mut self, schema: &Schema) -> (Vec<Error>, Vec<String>) {
        let mut problems = self.name_problems(schema);
        let mut uncovered = Vec::new();
        for (name, def) in schema.tables() {
            if def.partitioned {
                continue;
            }
            for (col, generated) in schema.columns(name) {
                let source = self.resolve(schema, name, &col);
                if !generated && matches!(source, Source::Uncovered) {
                    uncovered.push(describe(name, &col));
                }
                if let Some(rule) = source.rewriting_rule() {
                    if let Err(e) = self.check_rule_columns(schema, name, rule) {
                        problems.push(e);
                    }
                    if rule.transform == "null" && schema.column_not_null(name, &col) {
                        problems.push(self.rules_error(
                            rule.line,
                            format!("{} is NOT NULL: `null` would make the restore fail", describe(name, &col)),
                        ));
                    }
                }
                let built = match &source {
                    Source::Propagated { owner, origin, rule, .. } => {
                        self.transform(schema, owner, (&origin.0, &origin.1), rule).map(drop)
                    }
                    Source::Rule { owner, rule } => self.transform(schema, owner, (name, &col), rule).map(drop),
                    _ => Ok(()),
                };
                if let Err(e) = built {
                    problems.push(e);
                }
            }
        }
        for c in &schema.constraints {
            if let Err(e) = self.check_constraint(schema, c, false) {
                problems.push(e);
            }
        }
        let mut seen = BTreeSet::new();
        problems.retain(|e| seen.insert(e.to_string()));
        (problems, uncovered)
    }

    /// Every table and column the rules name must exist.
    fn name_problems(&self, schema: &Schema) -> Vec<Error> {
        let mut problems = Vec::new();
        for (name, table) in &self.rules.tables {
            if schema.table(name).is_none() {
                problems.push(self.rules_error(
                    table.line,
                    format!("table {name} is not in the dump{}", suggest_table(schema, name)),
                ));
                continue;
            }
            let columns = schema.columns(name);
            for (col, rule) in &table.columns {
                if !columns.iter().any(|(c, _)| c == col) {
                    let hint = columns
                        .iter()
                        .find(|(c, _)| c.eq_ignore_ascii_case(col))
                        .map(|(c, _)| format!(" (did you mean `{c}`? column names are case-sensitive)"))
                        .unwrap_or_default();
                    problems.push(self.rules_error(rule.line, format!("table {name} has no column `{col}`{hint}")));
                }
            }
        }
        problems
    }

    /// Templates, `by` and `when` must name columns of the table (that carry data).
    fn check_rule_columns(&self, schema: &Schema, table: &QualifiedName, rule: &ColumnRule) -> Result<()> {
        let columns = schema.columns(table);
        if let Some(expr) = &rule.when {
            let typed: Vec<(String, String)> = columns
                .iter()
                .filter(|(_, generated)| !generated)
                .map(|(c, _)| (c.clone(), schema.column_type(table, c).unwrap_or("text").to_string()))
                .collect();
            expr.bind(&typed).map_err(|e| self.rules_error(rule.line, format!("{table}: `when`: {e}")))?;
        }
        let named = rule.template.iter().flat_map(|t| t.columns()).chain(rule.by());
        for col in named {
            if !columns.iter().any(|(c, generated)| c == col && !generated) {
                return Err(self.rules_error(rule.line, format!("{table} has no column `{col}` (named in the rule)")));
            }
        }
        Ok(())
    }

    /// Checks one constraint against the rules. `late` means the data it constrains was already
    /// written (a plain dump read from a pipe declares constraints after the data), so foreign
    /// keys can no longer pass rules on and must be consistent as written.
    pub fn check_constraint(&mut self, schema: &Schema, c: &Constraint, late: bool) -> Result<()> {
        match &c.kind {
            ConstraintKind::Unique { columns, primary, nulls_distinct } => {
                for col in columns {
                    let Some(rule) = self.resolve(schema, &c.table, col).rewriting_rule() else { continue };
                    if rule.allow_duplicates {
                        continue;
                    }
                    let class = self.uniqueness(schema, &c.table, col)?;
                    let nulls_ok = rule.transform == "null" && !primary && *nulls_distinct;
                    if class != Uniqueness::Preserves && !nulls_ok {
                        let what = if *primary { "primary key" } else { "unique constraint" };
                        return Err(self.rules_error(
                            rule.line,
                            format!(
                                "{}: transform `{}` may give equal outputs for different inputs, which breaks the {what} {}; use a uniqueness-preserving transform (see the transform list) or set allow_duplicates = true",
                                describe(&c.table, col),
                                rule.transform,
                                c.name
                            ),
                        ));
                    }
                }
            }
            ConstraintKind::ForeignKey { columns, ref_table, ref_columns } => {
                for (k, col) in columns.iter().enumerate() {
                    let Some(ref_col) =
                        ref_columns.get(k).cloned().or_else(|| primary_key(schema, ref_table)?.get(k).cloned())
                    else {
                        continue;
                    };
                    self.check_fk_pair(schema, c, (&c.table, col), (ref_table, &ref_col), late)?;
                }
            }
        }
        Ok(())
    }

    fn check_fk_pair(
        &mut self,
        schema: &Schema,
        c: &Constraint,
        child: (&QualifiedName, &str),
        parent: (&QualifiedName, &str),
        late: bool,
    ) -> Result<()> {
        let child_source = self.resolve(schema, child.0, child.1);
        let parent_source = self.resolve(schema, parent.0, parent.1);
        let parent_rule = parent_source.rewriting_rule();
        let child_desc = describe(child.0, child.1);
        let parent_desc = describe(parent.0, parent.1);
        // A subset keeps no row that references a dropped table's rows (the reference filters).
        if matches!(parent_source, Source::Dropped)
            && !self.rules.subsets()
            && !matches!(child_source, Source::Dropped)
            && !matches!(&child_source, Source::Rule { rule, .. } if rule.transform == "null")
        {
            let line = self.rules.tables.get(parent.0).map_or(0, |t| t.line);
            return Err(self.rules_error(
                line,
                format!(
                    "{} has data = \"drop\", but {child_desc} references it (foreign key {}) and its rows are kept: the restore would fail. Drop both tables' data, or set {child_desc} to \"null\"",
                    parent.0, c.name
                ),
            ));
        }
        match (&child_source, parent_rule) {
            // NULL references nothing: always satisfies the key.
            (Source::Rule { rule, .. }, _) if rule.transform == "null" => Ok(()),
            (Source::Rule { rule, .. }, Some(p)) if !rule.is_keep() && !rule.same_transform(p) => Err(self.rules_error(
                rule.line,
                format!(
                    "{child_desc} references {parent_desc} (foreign key {}), which is rewritten with `{}` (line {}): the two rules must be the same, or leave {child_desc} to inherit it",
                    c.name, p.transform, p.line
                ),
            )),
            (Source::Rule { rule, .. }, None) if !rule.is_keep() => Err(self.rules_error(
                rule.line,
                format!("{child_desc} is rewritten but the column it references, {parent_desc} (foreign key {}), is kept: joins would break", c.name),
            )),
            (_, Some(p)) if p.when.is_some() || p.template.is_some() || p.by().is_some() => Err(self.rules_error(
                p.line,
                format!(
                    "{parent_desc} is referenced by {child_desc} (foreign key {}), so its rule must depend on the value alone: `when`, `by` and templates cannot be repeated on the referencing side",
                    c.name
                ),
            )),
            (Source::Propagated { .. }, Some(_)) if late && !self.planned.contains(&(child.0.clone(), child.1.to_string(), true)) => {
                Err(self.rules_error(
                    p_line(parent_rule),
                    format!(
                        "{child_desc} references the rewritten {parent_desc} (foreign key {}), but the dump declares the key only after {child_desc}'s data, which was already written unchanged. Give {child_desc} the same rule explicitly, or run scrub on a file instead of a pipe",
                        c.name
                    ),
                ))
            }
            _ => Ok(()),
        }
    }

    fn uniqueness(&mut self, schema: &Schema, table: &QualifiedName, col: &str) -> Result<Uniqueness> {
        Ok(match self.resolve(schema, table, col) {
            Source::Rule { rule, .. } if rule.template.is_some() => Uniqueness::MayBreak,
            Source::Rule { owner, rule } => {
                self.transform(schema, owner, (table, col), rule)?.map_or(Uniqueness::Preserves, |t| t.uniqueness())
            }
            Source::Propagated { owner, origin, rule, .. } => self
                .transform(schema, owner, (&origin.0, &origin.1), rule)?
                .map_or(Uniqueness::Preserves, |t| t.uniqueness()),
            _ => Uniqueness::Preserves,
        })
    }

    /// Compiles the plan for one COPY block. Columns no rule covers are an error when the rules
    /// say `unlisted_columns = "error"`.
    pub fn plan(&mut self, schema: &Schema, copy: &CopyStmt, id: usize) -> Result<TablePlan> {
        let found = schema.rules_for(self.rules, &copy.table);
        let mut plan = TablePlan {
            id,
            table: copy.table.clone(),
            rules_from: found.and_then(|(name, _)| (*name != copy.table).then(|| name.clone())),
            columns: copy.columns.clone(),
            drop: false,
            fields: Vec::with_capacity(copy.columns.len()),
            unlisted: Vec::new(),
            context: Vec::new(),
            templates: false,
            subset: None,
        };
        let mut uncovered = Vec::new();
        for col in &copy.columns {
            let source = self.resolve(schema, &copy.table, col);
            let field = match &source {
                Source::Dropped => {
                    plan.drop = true;
                    None
                }
                Source::Uncovered => {
                    uncovered.push(col.clone());
                    None
                }
                Source::KeepAll => None,
                Source::Rule { rule, .. } if rule.is_keep() => None,
                Source::Rule { owner, rule } => {
                    Some(self.field(schema, copy, owner, (&copy.table, col), rule, None)?)
                }
                Source::Propagated { constraint, owner, origin, rule } => {
                    Some(self.field(schema, copy, owner, (&origin.0, &origin.1), rule, Some(constraint))?)
                }
            };
            self.planned.insert((copy.table.clone(), col.clone(), field.is_some()));
            plan.fields.push(field);
        }
        if plan.drop {
            plan.fields.iter_mut().for_each(|f| *f = None);
        }
        let mut context: BTreeSet<usize> = BTreeSet::new();
        for f in plan.fields.iter().flatten() {
            context.extend(f.seed);
            context.extend(f.when.iter().flat_map(|w| w.column_indices()));
            for part in f.template.iter().flatten() {
                if let BoundPart::Field { index, .. } = part {
                    context.insert(*index);
                }
            }
        }
        plan.context = context.into_iter().collect();
        plan.templates = plan.fields.iter().flatten().any(|f| f.template.is_some());
        match self.rules.unlisted {
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

    fn field(
        &mut self,
        schema: &Schema,
        copy: &CopyStmt,
        owner: &QualifiedName,
        origin: (&QualifiedName, &str),
        rule: &ColumnRule,
        via: Option<&String>,
    ) -> Result<FieldPlan> {
        let index_of = |name: &str| -> Result<usize> {
            copy.columns.iter().position(|c| c == name).ok_or_else(|| {
                self.rules_error(
                    rule.line,
                    format!("the COPY data of {} has no column `{name}` (named in the rule)", copy.table),
                )
            })
        };
        let template = match &rule.template {
            None => None,
            Some(t) => {
                let mut parts = Vec::with_capacity(t.parts.len());
                for part in &t.parts {
                    parts.push(match part {
                        TemplatePart::Literal(s) => BoundPart::Literal(s.as_bytes().to_vec()),
                        TemplatePart::Column { name, original } => {
                            let index = index_of(name)?;
                            let target = self.resolve(schema, &copy.table, name);
                            if !original && target.rewriting_rule().is_some_and(|r| r.template.is_some()) {
                                return Err(self.rules_error(
                                    rule.line,
                                    format!("the template reads `{name}`, which is itself a template: use `{{{name}.original}}` or a non-template column"),
                                ));
                            }
                            BoundPart::Field { index, original: *original }
                        }
                    });
                }
                Some(parts)
            }
        };
        let seed = rule.by().map(index_of).transpose()?;
        let when = match &rule.when {
            None => None,
            Some(expr) => {
                let columns: Vec<(String, String)> = copy
                    .columns
                    .iter()
                    .map(|c| (c.clone(), schema.column_type(&copy.table, c).unwrap_or("text").to_string()))
                    .collect();
                Some(expr.bind(&columns).map_err(|e| {
                    self.rules_error(rule.line, format!("{}: `when`: {e}", describe(origin.0, origin.1)))
                })?)
            }
        };
        let transform = self.transform(schema, owner, origin, rule)?;
        let mut label = rule.transform.clone();
        if let Some(constraint) = via {
            label.push_str(&format!(", via foreign key {constraint}"));
        }
        Ok(FieldPlan { transform, template, seed, when, label })
    }
}

/// The primary key columns of a table, from the dump's constraints.
fn primary_key<'s>(schema: &'s Schema, table: &QualifiedName) -> Option<&'s Vec<String>> {
    schema.constraints.iter().find_map(|c| match &c.kind {
        ConstraintKind::Unique { columns, primary: true, .. } if c.table == *table => Some(columns),
        _ => None,
    })
}

fn p_line(rule: Option<&ColumnRule>) -> usize {
    rule.map_or(0, |r| r.line)
}

/// For dumps without `CREATE TABLE` (data-only): every table named in the rules must have had a
/// COPY block.
pub fn check_tables_seen(rules: &RuleSet, seen: &BTreeSet<QualifiedName>) -> Result<()> {
    match rules.tables.iter().find(|(name, _)| !seen.contains(*name)) {
        Some((name, table)) => Err(Error::Rules {
            file: rules.path.clone().unwrap_or_default(),
            line: Some(table.line),
            msg: format!("table {name} is not in the dump"),
        }),
        None => Ok(()),
    }
}

fn suggest_table(schema: &Schema, name: &QualifiedName) -> String {
    schema
        .tables()
        .map(|(t, _)| t)
        .find(|t| t.schema.eq_ignore_ascii_case(&name.schema) && t.name.eq_ignore_ascii_case(&name.name))
        .map(|t| format!(" (did you mean {t}? quote mixed-case names: '\"{}\".\"{}\"')", t.schema, t.name))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::ddl::{Statement, classify};
    use std::path::Path;

    fn schema(sql: &[&str]) -> Schema {
        let mut s = Schema::default();
        for stmt in sql {
            match classify(stmt.as_bytes(), true) {
                Statement::CreateTable(def) => s.add_table(def),
                Statement::AttachPartition { parent, child } => s.add_attach(parent, child),
                Statement::Constraint(c) => s.add_constraint(c),
                other => panic!("{other:?}"),
            }
        }
        s
    }

    fn key() -> SecretKey {
        SecretKey::new(b"k".to_vec()).unwrap()
    }

    fn rules(text: &str) -> RuleSet {
        RuleSet::parse(text, Path::new("r.toml"), Some(&key())).unwrap()
    }

    fn copy(table: &str, cols: &[&str]) -> CopyStmt {
        CopyStmt { table: QualifiedName::parse(table).unwrap(), columns: cols.iter().map(|c| c.to_string()).collect() }
    }

    fn check(r: &RuleSet, s: &Schema) -> Result<Vec<String>> {
        let k = key();
        Binder::new(r, Some(&k)).check(s)
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
        let e = check(&r, &s).unwrap_err();
        assert_eq!(e.to_string().lines().nth(1), Some("  public.child.own"));
        let k = key();
        let p = Binder::new(&r, Some(&k)).plan(&s, &copy("public.par_a", &["id", "email"]), 0).unwrap();
        assert_eq!(p.rewritten(), vec![("email".to_string(), "email".to_string())]);
        assert_eq!(p.rules_from, Some(QualifiedName::new("public", "par")));
    }

    #[test]
    fn rules_naming_absent_things_fail_with_line() {
        let s = schema(&["CREATE TABLE public.users (id integer, Email text, \"Email\" text);"]);
        let e = check(&rules("[tables.\"public.users\"]\ncolumns.id = \"keep\"\ncolumns.EMAIL = \"null\"\n"), &s)
            .unwrap_err();
        assert!(e.to_string().starts_with("r.toml:3: table public.users has no column `EMAIL` (did you mean"), "{e}");
        let e = check(&rules("[tables.'\"public\".\"Users\"']\nkeep_all = true\n"), &s).unwrap_err();
        assert!(e.to_string().contains("did you mean public.users"), "{e}");
    }

    #[test]
    fn generated_columns_need_no_rule_and_drop_covers_all() {
        let s = schema(&[
            "CREATE TABLE public.g (id integer, x integer GENERATED ALWAYS AS ((id * 2)) STORED);",
            "CREATE TABLE public.log (msg text);",
        ]);
        let r = rules("[tables.\"public.g\"]\ncolumns.id = \"keep\"\n[tables.\"public.log\"]\ndata = \"drop\"\n");
        assert!(check(&r, &s).unwrap().is_empty());
        let k = key();
        let p = Binder::new(&r, Some(&k)).plan(&s, &copy("public.log", &["msg"]), 1).unwrap();
        assert!(p.drop && !p.is_identity());
    }

    const SHOP: &[&str] = &[
        "CREATE TABLE public.customers (id integer NOT NULL, email text, name text);",
        "CREATE TABLE public.orders (id integer NOT NULL, customer_email text, note text);",
        "ALTER TABLE ONLY public.customers ADD CONSTRAINT customers_pkey PRIMARY KEY (id);",
        "ALTER TABLE ONLY public.customers ADD CONSTRAINT customers_email_key UNIQUE (email);",
        "ALTER TABLE ONLY public.orders ADD CONSTRAINT orders_email_fkey FOREIGN KEY (customer_email) REFERENCES public.customers(email);",
    ];

    #[test]
    fn foreign_keys_carry_the_referenced_rule() {
        let s = schema(SHOP);
        let r = rules(
            "[tables.\"public.customers\"]\ncolumns.id = \"keep\"\ncolumns.email = \"email\"\ncolumns.name = \"keep\"\n[tables.\"public.orders\"]\ncolumns.id = \"keep\"\ncolumns.note = \"keep\"\n",
        );
        assert!(check(&r, &s).unwrap().is_empty(), "customer_email is covered through the key");
        let k = key();
        let mut b = Binder::new(&r, Some(&k));
        let parent = b.plan(&s, &copy("public.customers", &["id", "email", "name"]), 0).unwrap();
        let child = b.plan(&s, &copy("public.orders", &["id", "customer_email", "note"]), 1).unwrap();
        assert!(Arc::ptr_eq(
            parent.fields[1].as_ref().unwrap().transform.as_ref().unwrap(),
            child.fields[1].as_ref().unwrap().transform.as_ref().unwrap()
        ));
        assert_eq!(child.rewritten()[0].1, "email, via foreign key orders_email_fkey");
    }

    #[test]
    fn conflicting_or_one_sided_foreign_key_rules_are_refused() {
        let s = schema(SHOP);
        let base = "[tables.\"public.customers\"]\ncolumns.id = \"keep\"\ncolumns.email = \"email\"\ncolumns.name = \"keep\"\n[tables.\"public.orders\"]\ncolumns.id = \"keep\"\ncolumns.note = \"keep\"\n";
        let e = check(&rules(&format!("{base}columns.customer_email = {{ transform = \"hash\" }}\n")), &s).unwrap_err();
        assert!(e.to_string().contains("must be the same"), "{e}");
        let kept_parent = base.replace("columns.email = \"email\"", "columns.email = \"keep\"");
        let e = check(&rules(&format!("{kept_parent}columns.customer_email = \"email\"\n")), &s).unwrap_err();
        assert!(e.to_string().contains("joins would break"), "{e}");
        assert!(check(&rules(&format!("{base}columns.customer_email = \"null\"\n")), &s).is_ok());
        assert!(check(&rules(&format!("{base}columns.customer_email = \"email\"\n")), &s).is_ok());
        let dropped = "[tables.\"public.customers\"]\ndata = \"drop\"\n[tables.\"public.orders\"]\nkeep_all = true\n";
        let e = check(&rules(dropped), &s).unwrap_err();
        assert!(e.to_string().contains("data = \"drop\", but public.orders.customer_email references it"), "{e}");
    }

    #[test]
    fn uniqueness_and_not_null_are_checked() {
        let s = schema(SHOP);
        let r = |email: &str, id: &str| {
            rules(&format!(
                "[tables.\"public.customers\"]\ncolumns.id = {id}\ncolumns.email = {email}\ncolumns.name = \"keep\"\n[tables.\"public.orders\"]\nkeep_all = true\n"
            ))
        };
        let e = check(&r("{ transform = \"hash\", length = 8 }", "\"keep\""), &s).unwrap_err();
        assert!(e.to_string().contains("customers_email_key") && e.to_string().contains("r.toml:3"), "{e}");
        assert!(check(&r("{ transform = \"hash\", length = 8, allow_duplicates = true }", "\"keep\""), &s).is_ok());
        assert!(check(&r("\"null\"", "\"keep\""), &s).is_ok(), "NULLs never collide in a unique constraint");
        let e = check(&r("\"email\"", "\"null\""), &s).unwrap_err();
        assert!(e.to_string().contains("NOT NULL"), "{e}");
        let e = check(&r("\"email\"", "{ transform = \"constant\", value = \"1\" }"), &s).unwrap_err();
        assert!(e.to_string().contains("primary key customers_pkey"), "{e}");
    }

    #[test]
    fn templates_and_seeds_resolve_to_fields() {
        let s = schema(&["CREATE TABLE public.p (id integer, first text, last text, display text);"]);
        let r = rules(
            "[tables.\"public.p\"]\ncolumns.id = \"keep\"\ncolumns.first = \"hash\"\ncolumns.last = \"keep\"\ncolumns.display = { transform = \"template\", template = \"{first} {last.original}\" }\n",
        );
        assert!(check(&r, &s).is_ok());
        let k = key();
        let p = Binder::new(&r, Some(&k)).plan(&s, &copy("public.p", &["id", "first", "last", "display"]), 0).unwrap();
        assert_eq!(p.context, vec![1, 2]);
        let bad = rules(
            "[tables.\"public.p\"]\nkeep_all = false\ncolumns.display = { transform = \"template\", template = \"{nope}\" }\n",
        );
        assert!(Binder::new(&bad, Some(&k)).check(&s).unwrap_err().to_string().contains("no column `nope`"));
    }
}
