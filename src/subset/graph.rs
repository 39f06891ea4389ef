//! The foreign-key graph of a subset: one node per table with data, one edge per reference from a
//! child table's columns to a parent's key, and the key sets those edges look rows up in.
//!
//! Built from the dump's declared foreign keys (composite ones included) and the rules'
//! `virtual_foreign_keys`. Partitioning is flattened: a key declared on a partitioned table
//! applies to each of its leaf partitions, and a key referencing a partitioned table looks up
//! the union of its partitions' rows (one key set filled by every partition). Every check of the
//! subset rules against the dump happens here, so that a mistake is reported before any row is
//! read. This module decides nothing about rows.

use std::collections::BTreeMap;

use super::keys::KeyKind;
use crate::error::{Error, Result};
use crate::rules::schema::Schema;
use crate::rules::{DataAction, OnMissingParent, RuleSet};
use crate::sql::QualifiedName;
use crate::sql::ddl::ConstraintKind;

/// A table that has a data block (COPY) in the dump, with its COPY column order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataTable {
    pub name: QualifiedName,
    pub columns: Vec<String>,
}

/// What `own(r)` is for a table's rows.
#[derive(Debug)]
pub enum Own {
    /// Every row (no subset rule).
    All,
    /// No row: `referenced_only` or `data = "drop"`.
    None,
    /// Rows passing the subset rule's `where` and `percent`.
    Rule { filter: Option<crate::expr::Bound>, sample: Option<Sample> },
}

/// `percent = p`: kept iff the first 8 bytes of the row's keyed digest, as a big-endian number,
/// are below `threshold` (p/100 × 2⁶⁴).
#[derive(Debug)]
pub struct Sample {
    pub threshold: u128,
    /// COPY indexes of the primary key; empty: the whole row's text.
    pub key_columns: Vec<usize>,
}

#[derive(Debug)]
pub struct Node {
    pub name: QualifiedName,
    pub columns: Vec<String>,
    pub own: Own,
    pub limit: Option<u64>,
    /// A subset rule or `referenced_only` applies: the table is always filtered in the output.
    pub ruled: bool,
    pub referenced_only: bool,
    pub dropped: bool,
    /// The key sets this table's rows belong to, with the COPY indexes of the key's columns.
    pub memberships: Vec<(usize, Vec<usize>)>,
}

/// A reference from some rows of `child` to the key set `keyset`.
#[derive(Debug, Clone)]
pub struct Edge {
    /// The constraint name, or `virtual foreign key (rules line N)`.
    pub name: String,
    pub child: usize,
    pub child_columns: Vec<usize>,
    pub keyset: usize,
    /// Rows whose parent is not kept are not kept (the downward set).
    pub filtering: bool,
    /// Kept rows pull in their parents (the kept set).
    pub pulls: bool,
    /// `on_missing_parent = "null"`: the columns are written as NULL when the parent is not kept.
    pub nulls: bool,
}

/// The rows of a referenced table (or of all partitions of one), by some of its columns.
#[derive(Debug)]
pub struct KeySetSpec {
    pub table: QualifiedName,
    pub columns: Vec<String>,
    pub kind: KeyKind,
    pub members: Vec<usize>,
}

#[derive(Debug)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    pub keysets: Vec<KeySetSpec>,
}

fn is_integer_type(t: &str) -> bool {
    matches!(
        t.trim().to_ascii_lowercase().as_str(),
        "smallint" | "integer" | "bigint" | "int" | "int2" | "int4" | "int8" | "smallserial" | "serial" | "bigserial"
    )
}

/// A foreign key in a form common to declared and virtual ones.
struct Reference {
    name: String,
    table: QualifiedName,
    columns: Vec<String>,
    parent: QualifiedName,
    parent_columns: Vec<String>,
    on_missing_parent: OnMissingParent,
}

impl Graph {
    /// Builds the graph for the tables with data, checking the subset rules against the schema.
    pub fn build(
        schema: &Schema,
        rules: &RuleSet,
        tables: &[DataTable],
        key: Option<&crate::transform::SecretKey>,
    ) -> Result<Graph> {
        let rules_error = |line: usize, msg: String| Error::Rules {
            file: rules.path.clone().unwrap_or_default(),
            line: Some(line),
            msg,
        };
        // Rules written for any table (partitioned parents included) are checked once here.
        for (name, t) in &rules.tables {
            if schema.table(name).is_none() {
                continue; // reported by the rules binder: the table is not in the dump
            }
            if let Some(filter) = t.subset.as_ref().and_then(|s| s.filter.as_ref()) {
                let typed = typed_columns(schema, name, &schema_columns(schema, name));
                filter.bind(&typed).map_err(|e| rules_error(t.line, format!("{name}: subset: `where`: {e}")))?;
            }
            for (fk, rule) in &t.foreign_keys {
                let found = schema
                    .constraints
                    .iter()
                    .find(|c| c.table == *name && c.name == *fk && matches!(c.kind, ConstraintKind::ForeignKey { .. }));
                let Some(c) = found else {
                    let known: Vec<&str> = schema
                        .constraints
                        .iter()
                        .filter(|c| c.table == *name && matches!(c.kind, ConstraintKind::ForeignKey { .. }))
                        .map(|c| c.name.as_str())
                        .collect();
                    return Err(rules_error(
                        rule.line,
                        format!(
                            "{name}: foreign_keys.{fk}: the dump declares no such foreign key on {name} (it has: {})",
                            if known.is_empty() { "none".to_string() } else { known.join(", ") }
                        ),
                    ));
                };
                if rule.on_missing_parent == OnMissingParent::Null
                    && let ConstraintKind::ForeignKey { columns, .. } = &c.kind
                {
                    check_nullable(schema, name, columns)
                        .map_err(|m| rules_error(rule.line, format!("{name}: foreign_keys.{fk}: {m}")))?;
                }
            }
        }
        let mut references = Vec::new();
        for c in &schema.constraints {
            let ConstraintKind::ForeignKey { columns, ref_table, ref_columns } = &c.kind else { continue };
            let parent_columns = if ref_columns.is_empty() {
                primary_key(schema, ref_table).ok_or_else(|| {
                    Error::Usage(format!(
                        "foreign key {} on {}: {ref_table} has no primary key in the dump, so the referenced columns are unknown",
                        c.name, c.table
                    ))
                })?
            } else {
                ref_columns.clone()
            };
            let on_missing_parent = rules
                .tables
                .get(&c.table)
                .and_then(|t| t.foreign_keys.get(&c.name))
                .map_or(OnMissingParent::Drop, |r| r.on_missing_parent);
            references.push(Reference {
                name: c.name.clone(),
                table: c.table.clone(),
                columns: columns.clone(),
                parent: ref_table.clone(),
                parent_columns,
                on_missing_parent,
            });
        }
        for v in &rules.virtual_foreign_keys {
            let fail = |m: String| rules_error(v.line, format!("virtual_foreign_keys: {m}"));
            for t in [&v.table, &v.references] {
                if schema.table(t).is_none() {
                    return Err(fail(format!("table {t} is not in the dump")));
                }
            }
            let parent_columns = if v.referenced_columns.is_empty() {
                primary_key(schema, &v.references)
                    .ok_or_else(|| fail(format!("{} has no primary key: give `referenced_columns`", v.references)))?
            } else {
                v.referenced_columns.clone()
            };
            if parent_columns.len() != v.columns.len() {
                return Err(fail(format!(
                    "{} column(s) reference {} column(s) of {}; the counts must match",
                    v.columns.len(),
                    parent_columns.len(),
                    v.references
                )));
            }
            for (t, cols) in [(&v.table, &v.columns), (&v.references, &parent_columns)] {
                let known = schema_columns(schema, t);
                if let Some(c) = cols.iter().find(|c| !known.contains(c)) {
                    return Err(fail(format!("table {t} has no column `{c}`")));
                }
            }
            if v.on_missing_parent == OnMissingParent::Null {
                check_nullable(schema, &v.table, &v.columns).map_err(fail)?;
            }
            references.push(Reference {
                name: format!("virtual foreign key ({})", rules.locate(v.line)),
                table: v.table.clone(),
                columns: v.columns.clone(),
                parent: v.references.clone(),
                parent_columns,
                on_missing_parent: v.on_missing_parent,
            });
        }

        let mut nodes = Vec::with_capacity(tables.len());
        for t in tables {
            nodes.push(node(schema, rules, t, key)?);
        }
        let by_name: BTreeMap<&QualifiedName, usize> = tables.iter().enumerate().map(|(i, t)| (&t.name, i)).collect();
        if by_name.len() != tables.len() {
            let dup = tables.iter().enumerate().find(|(i, t)| by_name[&t.name] != *i).map(|(_, t)| &t.name);
            return Err(Error::Usage(format!(
                "table {} has more than one data block (a dump made with pg_dump --load-via-partition-root?); subsetting needs one per table: dump without that option",
                dup.map(ToString::to_string).unwrap_or_default()
            )));
        }
        let members = |group: &QualifiedName| -> Vec<usize> {
            tables
                .iter()
                .enumerate()
                .filter(|(_, t)| in_partition_tree(schema, &t.name, group))
                .map(|(i, _)| i)
                .collect()
        };
        let mut keysets: Vec<KeySetSpec> = Vec::new();
        let mut edges = Vec::new();
        for r in &references {
            let ks = match keysets.iter().position(|k| k.table == r.parent && k.columns == r.parent_columns) {
                Some(k) => k,
                None => {
                    keysets.push(KeySetSpec {
                        table: r.parent.clone(),
                        columns: r.parent_columns.clone(),
                        kind: KeyKind::Hash,
                        members: members(&r.parent),
                    });
                    keysets.len() - 1
                }
            };
            let parent_rules = schema.rules_for(rules, &r.parent).map(|(_, t)| t);
            let dropped = parent_rules.is_some_and(|t| t.data == DataAction::Drop);
            let referenced_only = parent_rules.is_some_and(|t| t.referenced_only);
            let nulls = r.on_missing_parent == OnMissingParent::Null && !dropped;
            let (filtering, pulls) = if dropped { (true, false) } else { (!nulls && !referenced_only, !nulls) };
            for child in members(&r.table) {
                let child_columns = column_indexes(&nodes[child], &r.columns).map_err(|c| {
                    Error::Usage(format!("{}: column {c} of {} is not in its data", r.name, nodes[child].name))
                })?;
                edges.push(Edge { name: r.name.clone(), child, child_columns, keyset: ks, filtering, pulls, nulls });
            }
        }
        for (k, ks) in keysets.iter_mut().enumerate() {
            for &m in &ks.members {
                let cols = column_indexes(&nodes[m], &ks.columns).map_err(|c| {
                    Error::Usage(format!("column {c} of {} (a referenced key) is not in its data", nodes[m].name))
                })?;
                nodes[m].memberships.push((k, cols));
            }
            let int = |t: &QualifiedName, c: &str| schema.column_type(t, c).is_some_and(is_integer_type);
            let all_int = ks.columns.len() == 1
                && int(&ks.table, &ks.columns[0])
                && edges.iter().filter(|e| e.keyset == k).all(|e| {
                    let n = &nodes[e.child];
                    int(&n.name, &n.columns[e.child_columns[0]])
                });
            ks.kind = if all_int { KeyKind::Int } else { KeyKind::Hash };
        }
        Ok(Graph { nodes, edges, keysets })
    }

    /// For each node, the nodes its rows point to through edges that satisfy `pick`.
    pub fn adjacency(&self, pick: impl Fn(&Edge) -> bool) -> Vec<Vec<usize>> {
        let mut adj = vec![Vec::new(); self.nodes.len()];
        for e in self.edges.iter().filter(|e| pick(e)) {
            for &m in &self.keysets[e.keyset].members {
                if !adj[e.child].contains(&m) {
                    adj[e.child].push(m);
                }
            }
        }
        adj
    }
}

fn node(schema: &Schema, rules: &RuleSet, t: &DataTable, key: Option<&crate::transform::SecretKey>) -> Result<Node> {
    let found = schema.rules_for(rules, &t.name).map(|(_, r)| r);
    let dropped = found.is_some_and(|r| r.data == DataAction::Drop);
    let referenced_only = found.is_some_and(|r| r.referenced_only);
    let subset = found.and_then(|r| r.subset.as_ref());
    let own = match subset {
        _ if dropped || referenced_only => Own::None,
        None => Own::All,
        Some(s) => {
            let rules_error =
                |msg: String| Error::Rules { file: rules.path.clone().unwrap_or_default(), line: Some(s.line), msg };
            let filter = match &s.filter {
                Some(f) => Some(
                    f.bind(&typed_columns(schema, &t.name, &t.columns))
                        .map_err(|e| rules_error(format!("{}: subset: `where`: {e}", t.name)))?,
                ),
                None => None,
            };
            let sample = match s.percent {
                Some(p) if p < 100.0 => {
                    if key.is_none() {
                        return Err(rules_error(format!("{}: subset: `percent` needs the secret key", t.name)));
                    }
                    let key_columns = match primary_key(schema, &t.name) {
                        Some(pk) => column_indexes_in(&t.columns, &pk).unwrap_or_default(),
                        None => Vec::new(),
                    };
                    Some(Sample { threshold: ((p / 100.0) * 18_446_744_073_709_551_616.0) as u128, key_columns })
                }
                _ => None,
            };
            Own::Rule { filter, sample }
        }
    };
    Ok(Node {
        name: t.name.clone(),
        columns: t.columns.clone(),
        own,
        limit: subset.and_then(|s| s.limit).filter(|_| !dropped && !referenced_only),
        ruled: subset.is_some() || referenced_only,
        referenced_only,
        dropped,
        memberships: Vec::new(),
    })
}

/// The columns of a table that carry data (generated ones do not).
fn schema_columns(schema: &Schema, table: &QualifiedName) -> Vec<String> {
    schema.columns(table).into_iter().filter(|(_, generated)| !generated).map(|(c, _)| c).collect()
}

fn typed_columns(schema: &Schema, table: &QualifiedName, columns: &[String]) -> Vec<(String, String)> {
    columns.iter().map(|c| (c.clone(), schema.column_type(table, c).unwrap_or("text").to_string())).collect()
}

fn check_nullable(schema: &Schema, table: &QualifiedName, columns: &[String]) -> std::result::Result<(), String> {
    let mut frontier = vec![table.clone()];
    let mut seen = Vec::new();
    while let Some(t) = frontier.pop() {
        if seen.contains(&t) || seen.len() > 64 {
            continue;
        }
        for c in columns {
            if schema.column_not_null(&t, c) {
                return Err(format!(
                    "on_missing_parent = \"null\" needs nullable columns, and {} is NOT NULL",
                    crate::rules::bind::describe(table, c)
                ));
            }
        }
        frontier.extend(schema.parents(&t).cloned());
        seen.push(t);
    }
    let pk = primary_key(schema, table).unwrap_or_default();
    if let Some(c) = columns.iter().find(|c| pk.contains(c)) {
        return Err(format!(
            "on_missing_parent = \"null\" needs nullable columns, and {} is in the primary key",
            crate::rules::bind::describe(table, c)
        ));
    }
    Ok(())
}

/// The primary key of a table, or of the nearest partitioned table it is a partition of.
fn primary_key(schema: &Schema, table: &QualifiedName) -> Option<Vec<String>> {
    partition_ancestry(schema, table).iter().find_map(|t| {
        schema.constraints.iter().find_map(|c| match &c.kind {
            ConstraintKind::Unique { columns, primary: true, .. } if c.table == *t => Some(columns.clone()),
            _ => None,
        })
    })
}

fn is_partitioned(schema: &Schema, t: &QualifiedName) -> bool {
    schema.table(t).is_some_and(|d| d.partitioned)
}

/// Whether `table` is `root` or a partition (at any depth) of it.
fn in_partition_tree(schema: &Schema, table: &QualifiedName, root: &QualifiedName) -> bool {
    partition_ancestry(schema, table).contains(root)
}

/// `table`, then the partitioned tables it is a partition of, nearest first (level by level, at
/// most 64 levels: a malformed dump cannot make this loop).
fn partition_ancestry(schema: &Schema, table: &QualifiedName) -> Vec<QualifiedName> {
    let mut all = Vec::new();
    let mut frontier = vec![table.clone()];
    for _ in 0..64 {
        if frontier.is_empty() {
            break;
        }
        let next: Vec<QualifiedName> = frontier
            .iter()
            .flat_map(|t| schema.parents(t).filter(|p| is_partitioned(schema, p)).cloned().collect::<Vec<_>>())
            .collect();
        all.append(&mut frontier);
        frontier = next;
    }
    all
}

fn column_indexes(node: &Node, columns: &[String]) -> std::result::Result<Vec<usize>, String> {
    column_indexes_in(&node.columns, columns)
}

fn column_indexes_in(have: &[String], want: &[String]) -> std::result::Result<Vec<usize>, String> {
    want.iter().map(|c| have.iter().position(|h| h == c).ok_or_else(|| c.clone())).collect()
}

/// Strongly connected components (Tarjan), each listed after every component it reaches: with
/// edges child → parent, parents come first.
pub fn components(adj: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = adj.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut out = Vec::new();
    let mut next = 0;
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        // (node, next neighbour to visit)
        let mut call = vec![(root, 0usize)];
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (v, ref mut i)) = call.last_mut() {
            if let Some(&w) = adj[v].get(*i) {
                *i += 1;
                if index[w] == usize::MAX {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    call.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            call.pop();
            if let Some(&(u, _)) = call.last() {
                low[u] = low[u].min(low[v]);
            }
            if low[v] == index[v] {
                let mut scc = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    scc.push(w);
                    if w == v {
                        break;
                    }
                }
                scc.sort_unstable();
                out.push(scc);
            }
        }
    }
    out
}

/// Whether a component is a cycle (more than one node, or a node referencing itself).
pub fn is_cyclic(scc: &[usize], adj: &[Vec<usize>]) -> bool {
    scc.len() > 1 || adj[scc[0]].contains(&scc[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_come_parents_first() {
        // 0 -> 1 -> 2, 3 <-> 4 -> 2, 5 -> 5
        let adj = vec![vec![1], vec![2], vec![], vec![4], vec![3, 2], vec![5]];
        let sccs = components(&adj);
        let pos = |n: usize| sccs.iter().position(|s| s.contains(&n)).unwrap();
        assert!(pos(2) < pos(1) && pos(1) < pos(0));
        assert!(pos(2) < pos(3));
        assert_eq!(sccs[pos(3)], vec![3, 4]);
        assert!(is_cyclic(&sccs[pos(3)], &adj));
        assert!(is_cyclic(&sccs[pos(5)], &adj));
        assert!(!is_cyclic(&sccs[pos(0)], &adj));
        assert_eq!(sccs.len(), 5);
    }

    fn schema(sql: &str) -> Schema {
        let mut schema = Schema::default();
        for stmt in sql.split(";\n").filter(|s| !s.trim().is_empty()) {
            match crate::sql::ddl::classify(stmt.as_bytes(), true) {
                crate::sql::ddl::Statement::CreateTable(d) => schema.add_table(d),
                crate::sql::ddl::Statement::Constraint(c) => schema.add_constraint(c),
                crate::sql::ddl::Statement::AttachPartition { parent, child } => schema.add_attach(parent, child),
                other => panic!("{stmt}: {other:?}"),
            }
        }
        schema
    }

    fn rules(text: &str) -> RuleSet {
        let key = crate::transform::SecretKey::new(b"k".to_vec()).unwrap();
        RuleSet::parse(text, std::path::Path::new("r.toml"), Some(&key)).unwrap()
    }

    fn table(name: &str, cols: &[&str]) -> DataTable {
        DataTable { name: QualifiedName::parse(name).unwrap(), columns: cols.iter().map(|c| c.to_string()).collect() }
    }

    const SHOP: &str = "CREATE TABLE public.c (id integer NOT NULL, name text);\nCREATE TABLE public.o (id integer NOT NULL, c_id integer NOT NULL, code text) PARTITION BY RANGE (id);\nCREATE TABLE public.o1 (id integer NOT NULL, c_id integer NOT NULL, code text);\nALTER TABLE ONLY public.o ATTACH PARTITION public.o1 FOR VALUES FROM (0) TO (10);\nALTER TABLE ONLY public.c ADD CONSTRAINT c_pkey PRIMARY KEY (id);\nALTER TABLE ONLY public.o ADD CONSTRAINT o_pkey PRIMARY KEY (id);\nALTER TABLE public.o ADD CONSTRAINT o_c_fkey FOREIGN KEY (c_id) REFERENCES public.c(id);\n";

    #[test]
    fn partitions_inherit_keys_and_rules() {
        let s = schema(SHOP);
        let r = rules("[tables.\"public.o\".subset]\nlimit = 3\nwhere = \"code LIKE 'a%'\"\n");
        let g = Graph::build(
            &s,
            &r,
            &[table("public.c", &["id", "name"]), table("public.o1", &["c_id", "id", "code"])],
            None,
        )
        .unwrap();
        assert_eq!(g.edges.len(), 1);
        let e = &g.edges[0];
        assert_eq!((e.child, e.child_columns.clone(), e.filtering, e.pulls, e.nulls), (1, vec![0], true, true, false));
        assert_eq!(g.keysets[e.keyset].kind, KeyKind::Int);
        assert_eq!(g.nodes[0].memberships, vec![(0, vec![0])]);
        assert_eq!(g.nodes[1].limit, Some(3));
        assert!(matches!(g.nodes[1].own, Own::Rule { filter: Some(_), .. }));
        assert!(matches!(g.nodes[0].own, Own::All));
    }

    #[test]
    fn rule_errors_before_any_row() {
        let s = schema(SHOP);
        let tables = [table("public.c", &["id", "name"]), table("public.o1", &["id", "c_id", "code"])];
        let err = |text: &str| Graph::build(&s, &rules(text), &tables, None).unwrap_err().to_string();
        assert!(
            err("[tables.\"public.c\".subset]\nwhere = \"nope = 1\"\n").contains("r.toml:1: public.c: subset: `where`")
        );
        assert!(
            err("[tables.\"public.o\".foreign_keys.o_c_fkey]\non_missing_parent = \"null\"\n").contains("NOT NULL")
        );
        assert!(err("[tables.\"public.o\".foreign_keys.nope]\n").contains("no such foreign key"));
        let v = "[[virtual_foreign_keys]]\ntable = \"public.c\"\ncolumns = [\"name\"]\nreferences = \"public.x\"\n";
        assert!(err(v).contains("table public.x is not in the dump"));
        let v = "[[virtual_foreign_keys]]\ntable = \"public.c\"\ncolumns = [\"nom\"]\nreferences = \"public.o\"\n";
        assert!(err(v).contains("no column `nom`"));
        let v =
            "[[virtual_foreign_keys]]\ntable = \"public.c\"\ncolumns = [\"name\", \"id\"]\nreferences = \"public.o\"\n";
        assert!(err(v).contains("counts must match"));
    }

    #[test]
    fn edge_kinds_follow_the_parent() {
        let s = schema(SHOP);
        let tables = [table("public.c", &["id", "name"]), table("public.o1", &["id", "c_id", "code"])];
        let flags = |text: &str| {
            let g = Graph::build(&s, &rules(text), &tables, None).unwrap();
            (g.edges[0].filtering, g.edges[0].pulls, g.edges[0].nulls)
        };
        assert_eq!(flags("[tables.\"public.c\"]\nreferenced_only = true\n"), (false, true, false));
        assert_eq!(flags("[tables.\"public.c\"]\ndata = \"drop\"\n"), (true, false, false));
        let v = "[[virtual_foreign_keys]]\ntable = \"public.c\"\ncolumns = [\"name\"]\nreferences = \"public.o\"\nreferenced_columns = [\"code\"]\non_missing_parent = \"null\"\n";
        let g = Graph::build(&s, &rules(v), &tables, None).unwrap();
        let e = g.edges.iter().find(|e| e.child == 0).unwrap();
        assert_eq!((e.filtering, e.pulls, e.nulls), (false, false, true));
        assert_eq!(g.keysets[e.keyset].kind, KeyKind::Hash);
    }
}
