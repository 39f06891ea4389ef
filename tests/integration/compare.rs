//! Comparing a database restored from an original dump with one restored from
//! the scrubbed dump, using SQL on both sides.
//!
//! [`check_rules_applied`] reads a rules file and checks, table by table and
//! column by column, that the scrubbed database holds what the rule promises
//! (kept values equal, nulls null, constants constant, keyed values changed,
//! consistent and well-formed, dropped tables empty), and that every table the
//! rules do not mention is unchanged.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use crate::pg::ScratchDb;

/// `"quoted"` SQL identifier.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `'quoted'` SQL string literal (standard_conforming_strings = on).
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// Every ordinary table (including partitions and inheritance children) in
/// user schemas, as a quoted, qualified name.
pub fn tables(db: &ScratchDb) -> Vec<String> {
    db.rows(
        "SELECT format('%I.%I', n.nspname, c.relname) AS t
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind = 'r'
           AND n.nspname NOT IN ('pg_catalog', 'information_schema')
           AND n.nspname NOT LIKE 'pg_toast%'
         ORDER BY 1",
    )
    .iter()
    .map(|row| text_of(&row["t"]).expect("table name"))
    .collect()
}

/// Row count and an md5 over the sorted text forms of all rows of one table
/// (`ONLY`, so inheritance parents do not include their children).
pub fn fingerprint(db: &ScratchDb, table: &str) -> String {
    db.query(&format!(
        "SELECT count(*) || ' rows, md5 ' || md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), ''))
         FROM ONLY {table} AS t"
    ))
}

/// Asserts both databases have the same tables with the same rows, except
/// for the tables in `skip`.
pub fn assert_same_table_data(original: &ScratchDb, scrubbed: &ScratchDb, skip: &BTreeSet<String>) {
    let names = tables(original);
    assert_eq!(names, tables(scrubbed), "the scrubbed database has different tables");
    assert!(!names.is_empty(), "no tables in {}", original.name());
    for table in names.iter().filter(|t| !skip.contains(*t)) {
        assert_eq!(
            fingerprint(original, table),
            fingerprint(scrubbed, table),
            "table {table} differs after the round trip"
        );
    }
}

/// Asserts everything outside the table data is the same: constraints (so the
/// PK, UNIQUE and FK constraints were all created), indexes, functions,
/// comments, sequence positions and large objects.
pub fn assert_same_schema(original: &ScratchDb, scrubbed: &ScratchDb) {
    let queries = [
        (
            "constraints",
            "SELECT conrelid::regclass::text AS rel, conname, contype, convalidated,
                    pg_get_constraintdef(oid) AS def
             FROM pg_constraint
             WHERE connamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
             ORDER BY 1, 2",
        ),
        (
            "indexes",
            "SELECT schemaname, tablename, indexname, indexdef FROM pg_indexes
             WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2, 3",
        ),
        (
            "functions",
            "SELECT p.oid::regprocedure::text AS f, md5(p.prosrc) AS body
             FROM pg_proc p
             WHERE p.pronamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
             ORDER BY 1",
        ),
        ("comments", "SELECT description FROM pg_description WHERE objoid >= 16384 ORDER BY 1"),
        ("sequences", "SELECT schemaname, sequencename, last_value::text AS last FROM pg_sequences ORDER BY 1, 2"),
        ("large objects", "SELECT oid::text AS oid, md5(lo_get(oid)) AS md5 FROM pg_largeobject_metadata ORDER BY oid"),
    ];
    for (what, sql) in queries {
        assert_eq!(
            original.rows(sql),
            scrubbed.rows(sql),
            "{what} differ between the original and the scrubbed database"
        );
    }
    let violations = scrubbed.query(
        "SELECT count(*) FROM pg_constraint
         WHERE contype IN ('p', 'u', 'f') AND NOT convalidated",
    );
    assert_eq!(violations, "0", "constraints left NOT VALID");
}

/// One column rule from a rules file.
#[derive(Debug, Clone, PartialEq)]
enum ColumnRule {
    Keep,
    Null,
    Constant(String),
    Hash(usize),
    Uuid,
    UuidV5(uuid::Uuid),
    Email { keep_domain: bool },
}

fn parse_column_rule(table: &str, column: &str, value: &toml::Value) -> ColumnRule {
    let bad = || -> ! { panic!("unsupported rule for {table}.{column}: {value}") };
    match value {
        toml::Value::String(s) if s == "keep" => ColumnRule::Keep,
        toml::Value::String(s) if s == "null" => ColumnRule::Null,
        toml::Value::Table(t) => match t.get("transform").and_then(|v| v.as_str()) {
            Some("keep") => ColumnRule::Keep,
            Some("null") => ColumnRule::Null,
            Some("constant") => ColumnRule::Constant(t["value"].as_str().unwrap_or_else(|| bad()).to_string()),
            Some("hash") => {
                let length = t.get("length").and_then(|v| v.as_integer());
                ColumnRule::Hash(length.map(|n| n as usize).unwrap_or_else(|| bad()))
            }
            Some("uuid") => ColumnRule::Uuid,
            Some("uuid_v5") => {
                let ns = t.get("namespace").and_then(|v| v.as_str()).unwrap_or_else(|| bad());
                ColumnRule::UuidV5(ns.parse().unwrap_or_else(|_| bad()))
            }
            Some("email") => {
                ColumnRule::Email { keep_domain: t.get("keep_domain").and_then(|v| v.as_bool()).unwrap_or(false) }
            }
            _ => bad(),
        },
        _ => bad(),
    }
}

/// Canonical `schema.table` (quoted as needed) for a rules-file table key,
/// which is SQL-quoted text such as `public.users` or `"Billing"."Invoice Lines"`.
fn canonical_table(db: &ScratchDb, key: &str) -> String {
    db.rows(&format!(
        "SELECT format('%I.%I', n.nspname, c.relname) AS t
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.oid = {}::regclass",
        literal(key)
    ))
    .first()
    .and_then(|row| text_of(&row["t"]))
    .unwrap_or_else(|| panic!("rules table {key:?} not found"))
}

/// Columns that appear in COPY (not dropped, not generated), in order.
fn copy_columns(db: &ScratchDb, table: &str) -> Vec<String> {
    db.rows(&format!(
        "SELECT attname::text AS a FROM pg_attribute
         WHERE attrelid = {}::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = ''
         ORDER BY attnum",
        literal(table)
    ))
    .iter()
    .map(|row| text_of(&row["a"]).expect("column name"))
    .collect()
}

/// `ORDER BY` clause that lines up the rows of the two databases: the primary
/// key if there is one, otherwise the physical order (both tables were filled
/// by COPY from dumps with the same row order).
fn row_order(db: &ScratchDb, table: &str) -> String {
    let pk: Vec<String> = db
        .rows(&format!(
            "SELECT a.attname::text AS a
             FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
             WHERE i.indrelid = {}::regclass AND i.indisprimary ORDER BY a.attnum",
            literal(table)
        ))
        .iter()
        .map(|row| ident(&text_of(&row["a"]).expect("pk column")))
        .collect();
    if pk.is_empty() { "ctid".to_string() } else { pk.join(", ") }
}

/// All values of one table as text, column by column: `result[col][row]`.
fn column_values(db: &ScratchDb, table: &str, columns: &[String], order: &str) -> Vec<Vec<Option<String>>> {
    let select: Vec<String> = columns.iter().enumerate().map(|(i, c)| format!("{}::text AS c{i}", ident(c))).collect();
    let rows = db.rows(&format!("SELECT {} FROM ONLY {table} ORDER BY {order}", select.join(", ")));
    (0..columns.len()).map(|i| rows.iter().map(|row| text_of(&row[&format!("c{i}")])).collect()).collect()
}

fn looks_like_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn looks_like_uuid(s: &str) -> bool {
    s.len() == 36 && s.parse::<uuid::Uuid>().is_ok()
}

/// Checks one column against its rule. `orig` and `new` are aligned rows.
fn check_column(what: &str, rule: &ColumnRule, orig: &[Option<String>], new: &[Option<String>]) {
    // For keyed rules: equal inputs give equal outputs, different inputs
    // give different outputs.
    let mut forward: BTreeMap<&str, &str> = BTreeMap::new();
    let mut backward: BTreeMap<&str, &str> = BTreeMap::new();
    let keyed =
        matches!(rule, ColumnRule::Hash(_) | ColumnRule::Uuid | ColumnRule::UuidV5(_) | ColumnRule::Email { .. });
    for (row, (o, n)) in orig.iter().zip(new).enumerate() {
        let at = format!("{what}, row {}", row + 1);
        match rule {
            ColumnRule::Keep => assert_eq!(o, n, "{at}: kept value changed"),
            ColumnRule::Null => assert_eq!(n, &None, "{at}: expected NULL"),
            ColumnRule::Constant(value) if o.is_some() => {
                assert_eq!(n.as_deref(), Some(value.as_str()), "{at}: expected the constant")
            }
            _ => {}
        }
        if !keyed {
            continue;
        }
        // NULL stays NULL; a value stays a value.
        let (o, n) = match (o.as_deref(), n.as_deref()) {
            (Some(o), Some(n)) => (o, n),
            (None, None) => continue,
            (o, n) => panic!("{at}: {o:?} became {n:?}"),
        };
        assert_ne!(o, n, "{at}: value was not rewritten");
        match rule {
            ColumnRule::Hash(length) => {
                assert_eq!(n.chars().count(), *length, "{at}: hash {n:?} has the wrong length")
            }
            ColumnRule::Uuid => assert!(looks_like_uuid(n), "{at}: {n:?} is not a uuid"),
            ColumnRule::UuidV5(ns) => {
                let expected = uuid::Uuid::new_v5(ns, o.as_bytes()).to_string();
                assert_eq!(n, expected, "{at}: uuid_v5 of {o:?}");
            }
            ColumnRule::Email { keep_domain } => {
                assert!(looks_like_email(n), "{at}: {n:?} does not look like an e-mail address");
                if *keep_domain {
                    let domain = |s: &str| s.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase());
                    assert_eq!(domain(n), domain(o), "{at}: keep_domain = true, but the domain changed");
                }
            }
            _ => unreachable!(),
        }
        if let Some(prev) = forward.insert(o, n) {
            assert_eq!(prev, n, "{at}: the same input {o:?} was rewritten two ways");
        }
        if let Some(prev) = backward.insert(n, o) {
            assert_eq!(prev, o, "{at}: different inputs both became {n:?}");
        }
    }
}

/// Checks that `scrubbed` is `original` with the rules in `rules_path`
/// applied. Returns the number of column rules that were checked.
pub fn check_rules_applied(original: &ScratchDb, scrubbed: &ScratchDb, rules_path: &Path) -> usize {
    let text = std::fs::read_to_string(rules_path).expect("read rules file");
    let rules: toml::Table = text.parse().expect("rules file is valid TOML");
    let unlisted = rules
        .get("settings")
        .and_then(|s| s.get("unlisted_columns"))
        .and_then(|v| v.as_str())
        .unwrap_or("keep")
        .to_string();
    let empty = toml::Table::new();
    let rule_tables = rules.get("tables").and_then(|t| t.as_table()).unwrap_or(&empty);

    let mut with_rules = BTreeSet::new();
    let mut checked = 0;
    for (key, spec) in rule_tables {
        let table = canonical_table(original, key);
        with_rules.insert(table.clone());
        let spec = spec.as_table().expect("table rules are a TOML table");
        if spec.get("data").and_then(|v| v.as_str()) == Some("drop") {
            let before = original.query(&format!("SELECT count(*) FROM ONLY {table}"));
            assert_ne!(before, "0", "{table} is empty in the original; the drop check means nothing");
            let after = scrubbed.query(&format!("SELECT count(*) FROM ONLY {table}"));
            assert_eq!(after, "0", "{table} has data = \"drop\" but kept {after} rows");
            continue;
        }
        if spec.get("keep_all").and_then(|v| v.as_bool()) == Some(true) {
            assert_eq!(
                fingerprint(original, &table),
                fingerprint(scrubbed, &table),
                "{table} has keep_all = true but changed"
            );
            continue;
        }
        let columns = copy_columns(original, &table);
        let column_rules = spec.get("columns").and_then(|c| c.as_table()).unwrap_or(&empty);
        for name in column_rules.keys() {
            assert!(columns.contains(name), "rules name column {name:?}, which {table} lacks");
        }
        let order = row_order(original, &table);
        let before = column_values(original, &table, &columns, &order);
        let after = column_values(scrubbed, &table, &columns, &order);
        assert_eq!(before.first().map(Vec::len), after.first().map(Vec::len), "{table}: row count changed");
        for (i, name) in columns.iter().enumerate() {
            let rule = match column_rules.get(name) {
                Some(value) => parse_column_rule(&table, name, value),
                None => {
                    assert_ne!(
                        unlisted, "error",
                        "{table}.{name} is not in the rules, yet unlisted_columns = \"error\" let it through"
                    );
                    ColumnRule::Keep
                }
            };
            check_column(&format!("{table}.{}", ident(name)), &rule, &before[i], &after[i]);
            checked += 1;
        }
    }
    assert_same_table_data(original, scrubbed, &with_rules);
    checked
}
