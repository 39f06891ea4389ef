//! Writing the scan's results: the report for people, the TOML scaffold and the CSV table.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::{Col, ColumnScan, ScanReport, Suggestion};
use crate::rules::bind::describe;
use crate::sql::QualifiedName;

/// A TOML basic string.
fn toml_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A TOML key: bare when it can be.
fn toml_key(s: &str) -> String {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        s.to_string()
    } else {
        toml_str(s)
    }
}

/// The TOML key of a table: its SQL name, in a literal string when it has double quotes.
fn table_key(name: &QualifiedName) -> String {
    let sql = name.to_string();
    if sql.contains('"') && !sql.contains('\'') && !sql.contains('\n') { format!("'{sql}'") } else { toml_str(&sql) }
}

/// A TOML value, inline.
fn toml_value(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => toml_str(s),
        toml::Value::Integer(n) => n.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::Datetime(d) => d.to_string(),
        toml::Value::Array(items) => format!("[{}]", items.iter().map(toml_value).collect::<Vec<_>>().join(", ")),
        toml::Value::Table(t) => inline_table(t.iter()),
    }
}

fn inline_table<'a>(items: impl Iterator<Item = (&'a String, &'a toml::Value)>) -> String {
    let parts: Vec<String> = items.map(|(k, v)| format!("{} = {}", toml_key(k), toml_value(v))).collect();
    if parts.is_empty() { "{}".into() } else { format!("{{ {} }}", parts.join(", ")) }
}

/// A rule as written in a rules file: `"keep"` or `{ transform = "hash", length = 32 }`.
pub fn rule_text(s: &Suggestion) -> String {
    if s.params.is_empty() {
        return toml_str(&s.transform);
    }
    let transform = ("transform".to_string(), toml::Value::String(s.transform.clone()));
    let mut items = vec![(&transform.0, &transform.1)];
    items.extend(s.params.iter());
    inline_table(items.into_iter())
}

/// The parameters alone, as the CSV's `params` column holds them.
pub fn params_text(s: &Suggestion) -> String {
    if s.params.is_empty() { String::new() } else { inline_table(s.params.iter()) }
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

/// One table of the scaffold as the writers need it.
struct Entry<'a> {
    name: &'a QualifiedName,
    rows: Option<u64>,
    covers: Vec<String>,
    columns: Vec<(&'a str, &'a Suggestion, String, bool, usize)>,
}

const HEADER: &str = "\
# Rules scaffold written by `scrub scan`. Review every line before use: the comments give the
# evidence (detectors, column names, types; never a value from the dump), and a column no rule
# covers stops scrub, so a column added later cannot leak unreviewed.
#
# Keyed transforms need the secret key: SCRUB_SECRET or --secret-file.
";

fn write_toml(intro: &str, entries: &[Entry<'_>]) -> (String, HashMap<usize, usize>) {
    let mut out = String::new();
    out.push_str(intro);
    out.push_str("\n[settings]\nunlisted_columns = \"error\"\n");
    let mut lines = HashMap::new();
    for e in entries {
        out.push('\n');
        let mut about = Vec::new();
        if let Some(rows) = e.rows {
            about.push(format!("{rows} row(s) sampled"));
        }
        if !e.covers.is_empty() {
            about.push(format!("also covers {}", e.covers.join(", ")));
        }
        if !about.is_empty() {
            let _ = writeln!(out, "# {}: {}", e.name, about.join("; "));
        }
        let _ = writeln!(out, "[tables.{}]", table_key(e.name));
        for (column, rule, comment, generated, index) in &e.columns {
            if *generated {
                let _ = writeln!(
                    out,
                    "# columns.{}: generated column, no data in the dump, no rule needed",
                    toml_key(column)
                );
                continue;
            }
            let line = out.bytes().filter(|&b| b == b'\n').count() + 1;
            lines.insert(line, *index);
            let _ = writeln!(out, "columns.{} = {}  # {}", toml_key(column), rule_text(rule), one_line(comment));
        }
    }
    (out, lines)
}

/// The scaffold of the columns as they stand, with the line of each column's rule (for mapping
/// the binder's complaints back to columns).
pub(super) fn toml_for_check(cols: &[Col]) -> (String, HashMap<usize, usize>) {
    let mut entries: Vec<Entry<'_>> = Vec::new();
    for (i, c) in cols.iter().enumerate() {
        if entries.last().is_none_or(|e| *e.name != c.table) {
            entries.push(Entry { name: &c.table, rows: None, covers: Vec::new(), columns: Vec::new() });
        }
        let e = entries.last_mut().expect("just pushed");
        e.columns.push((&c.name, &c.suggestion, String::new(), c.generated, i));
    }
    write_toml("", &entries)
}

fn entries(report: &ScanReport) -> Vec<Entry<'_>> {
    report
        .tables
        .iter()
        .map(|t| Entry {
            name: &t.name,
            rows: Some(t.rows_sampled),
            covers: t.covers.clone(),
            columns: t
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| (c.column.as_str(), &c.suggestion, c.comment(), c.generated, i))
                .collect(),
        })
        .collect()
}

pub fn toml(report: &ScanReport) -> String {
    let sample = match report.sample {
        Some(n) => format!("the first {n} rows of each table"),
        None => "every row".into(),
    };
    let intro = format!("{HEADER}#\n# Dump: {}; sampled {sample}.\n", one_line(&report.dump));
    write_toml(&intro, &entries(report)).0
}

/// A CSV field, quoted when it must be.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) || s.starts_with(' ') || s.ends_with(' ') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub fn csv(report: &ScanReport) -> String {
    let mut out = String::from("schema,table,column,action,params,evidence\n");
    for t in &report.tables {
        for c in t.columns.iter().filter(|c| !c.generated) {
            let row = [
                csv_field(&t.name.schema),
                csv_field(&t.name.name),
                csv_field(&c.column),
                csv_field(&c.suggestion.transform),
                csv_field(&params_text(&c.suggestion)),
                csv_field(&one_line(&c.comment())),
            ];
            out.push_str(&row.join(","));
            out.push('\n');
        }
    }
    out
}

fn rate(c: &ColumnScan) -> String {
    if c.hits == 0 { "-".into() } else { format!("{}/{}", c.hits, c.of) }
}

fn table_text(rows: &[[String; 5]]) -> String {
    let headers = ["column", "type", "evidence", "hits", "suggestion"];
    let mut widths = headers.map(str::len);
    for r in rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    widths[2] = widths[2].min(70);
    let mut out = String::new();
    let head: [String; 5] = headers.map(String::from);
    for r in std::iter::once(&head).chain(rows) {
        let cells: Vec<String> = r
            .iter()
            .zip(widths)
            .map(|(cell, w)| {
                let cell: String = if cell.chars().count() > w {
                    cell.chars().take(w - 1).chain(['…']).collect()
                } else {
                    cell.clone()
                };
                format!("{cell:<w$}")
            })
            .collect();
        out.push_str("  ");
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

pub fn report(report: &ScanReport) -> String {
    let mut out = String::new();
    let columns: usize = report.tables.iter().map(|t| t.columns.len()).sum();
    let rows: u64 = report.tables.iter().map(|t| t.rows_sampled).sum();
    let sample = match report.sample {
        Some(n) => format!("the first {n} rows of each table"),
        None => "every row".into(),
    };
    let _ = writeln!(
        out,
        "scrub scan: {} table(s), {columns} column(s); sampled {sample} ({rows} rows)",
        report.tables.len()
    );
    if report.names_listed > 0 {
        let _ = writeln!(out, "searched for {} listed name(s) (--names)", report.names_listed);
    }
    let mut sensitive = Vec::new();
    let mut quasi = Vec::new();
    let mut follow = Vec::new();
    let mut kept = 0;
    for t in &report.tables {
        for c in &t.columns {
            let name = describe(&t.name, &c.column);
            let row = |c: &ColumnScan| {
                [
                    name.clone(),
                    c.type_sql.clone(),
                    c.kind.map_or(String::new(), |k| format!("{}: {}", k.label(), c.evidence.join("; "))),
                    rate(c),
                    rule_text(&c.suggestion),
                ]
            };
            if c.sensitive() && c.suggestion.is_keep() && c.note.starts_with("foreign key") {
                follow.push(format!("  {name}: {}", c.note));
            } else if c.sensitive() {
                sensitive.push(row(c));
            } else if c.kind.is_some() {
                quasi.push(row(c));
            } else {
                kept += 1;
            }
        }
    }
    let _ = writeln!(out, "\nlikely sensitive: {} column(s)", sensitive.len());
    out.push_str(&table_text(&sensitive));
    if !follow.is_empty() {
        let _ = writeln!(out, "\nreferencing columns (keep: they get the referenced column's rule):");
        for f in &follow {
            let _ = writeln!(out, "{f}");
        }
    }
    if !quasi.is_empty() {
        let _ = writeln!(out, "\nquasi-identifiers, kept (review: together they may identify people):");
        out.push_str(&table_text(&quasi));
    }
    let _ = writeln!(out, "\n{kept} other column(s): no evidence, kept");
    for w in &report.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    if report.check_problems.is_empty() {
        let _ = writeln!(out, "the scaffold passes `scrub check` on this dump");
    } else {
        let _ = writeln!(out, "\nthe scaffold still has problems `scrub check` reports:");
        for p in &report.check_problems {
            let _ = writeln!(out, "  {p}");
        }
    }
    out
}
