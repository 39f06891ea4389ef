//! `scrub scan`: samples the rows of every table of a dump, scores each column by its name, its
//! type and its values, and writes a complete rules scaffold: every column of every table, a
//! suggested transform for the likely-sensitive ones and `keep` for the rest, each with the
//! evidence as a comment, and `unlisted_columns = "error"`.
//!
//! The walk takes the first `--sample` rows of each table (default 1000) and tells the reader to
//! skip the rest of the table, so a large dump costs little more than reading it. Detectors
//! ([`detect`], [`people`]) look at decoded values; per column only counters and a bounded
//! sample of values are kept ([`stats`]). Nothing from the data is ever printed or written into
//! the scaffold: evidence is counts and detector names.
//!
//! Suggestions are made so that the scaffold, used as is, passes `scrub check` on the dump,
//! restores with `psql -v ON_ERROR_STOP=1`, and leaves nothing for `scrub verify` to find:
//! transforms fit the column's type and constraints (uniqueness-preserving ones under unique
//! constraints, never `null` on NOT NULL columns, referencing columns left to the foreign key),
//! dictionary-based transforms whose output could coincide with real values are avoided, and a
//! kept column found to contain values of a rewritten one is rewritten too. The scaffold is
//! checked with the same [`Binder`] scrub uses before it is written; a rule that fails is
//! replaced by a safer one.

mod colname;
mod detect;
mod people;
mod render;
mod stats;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::pipeline::{Options, Visitor};
use crate::rules::RuleSet;
use crate::rules::bind::Binder;
use crate::rules::schema::Schema;
use crate::sql::QualifiedName;
use crate::sql::ddl::{ConstraintKind, CopyStmt};
use crate::transform::SecretKey;

pub use detect::Det;
pub use people::{NameList, fold};
use stats::{Ctx, Stats};

/// How many rows of each table to look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sample {
    /// The first N rows.
    First(u64),
    All,
}

impl Sample {
    /// Parses `--sample`: a number, or `all`.
    pub fn parse(text: &str) -> std::result::Result<Sample, String> {
        if text.eq_ignore_ascii_case("all") {
            return Ok(Sample::All);
        }
        match text.parse::<u64>() {
            Ok(0) | Err(_) => Err(format!("`{text}`: give a number of rows (at least 1) or `all`")),
            Ok(n) => Ok(Sample::First(n)),
        }
    }

    fn limit(self) -> u64 {
        match self {
            Sample::First(n) => n,
            Sample::All => u64::MAX,
        }
    }
}

/// What `scrub scan` was asked to do.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub sample: Sample,
    /// `--names`: the user's customer or patient names, one per line.
    pub names: Option<PathBuf>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions { sample: Sample::First(1000), names: None }
    }
}

/// What a column (probably) holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Secret,
    Email,
    Ip,
    Mac,
    Phone,
    Iban,
    Card,
    NationalId,
    BirthDate,
    PersonName,
    Username,
    Address,
    Health,
    FreeText,
    /// A JSON document with personal data in some of its paths.
    Json,
    /// Text that contains values of other, rewritten columns.
    Contains,
    /// A quasi-identifier (city, postcode, gender, salary, ...): reported, kept.
    Quasi,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::Secret => "secret",
            Kind::Email => "email",
            Kind::Ip => "IP address",
            Kind::Mac => "MAC address",
            Kind::Phone => "phone number",
            Kind::Iban => "bank account (IBAN)",
            Kind::Card => "card number",
            Kind::NationalId => "national identifier",
            Kind::BirthDate => "date of birth",
            Kind::PersonName => "person name",
            Kind::Username => "username",
            Kind::Address => "address",
            Kind::Health => "health data",
            Kind::FreeText => "free text with personal data",
            Kind::Json => "JSON with personal data",
            Kind::Contains => "copies of rewritten values",
            Kind::Quasi => "quasi-identifier",
        }
    }
}

/// The kinds of column types that matter for detection and for choosing a transform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Text,
    Integer,
    Numeric,
    Boolean,
    Uuid,
    DateTime {
        date_only: bool,
    },
    Bytea,
    Json,
    Network,
    Mac,
    Array,
    /// Enums, domains, composites and the rest: values are analysed, but a rewrite could be
    /// rejected by the type, so only `null` is suggested.
    Other,
}

impl Class {
    pub fn of(type_sql: &str) -> Class {
        let t = type_sql.trim();
        if t.ends_with(']') {
            return Class::Array;
        }
        let base = t.split('(').next().unwrap_or(t).trim();
        let base = base.rsplit('.').next().unwrap_or(base).trim_matches('"').to_ascii_lowercase();
        match base.as_str() {
            "text" | "character varying" | "varchar" | "character" | "char" | "bpchar" | "citext" | "name" => {
                Class::Text
            }
            "smallint" | "integer" | "bigint" | "int" | "int2" | "int4" | "int8" => Class::Integer,
            "numeric" | "decimal" | "real" | "double precision" | "float4" | "float8" | "money" => Class::Numeric,
            "boolean" | "bool" => Class::Boolean,
            "uuid" => Class::Uuid,
            "date" => Class::DateTime { date_only: true },
            "timestamp without time zone" | "timestamp with time zone" | "timestamp" | "timestamptz" => {
                Class::DateTime { date_only: false }
            }
            "bytea" => Class::Bytea,
            "json" | "jsonb" => Class::Json,
            "inet" | "cidr" => Class::Network,
            "macaddr" | "macaddr8" => Class::Mac,
            _ => Class::Other,
        }
    }
}

/// A suggested rule: a transform name and its parameters (`keep` has none).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestion {
    pub transform: String,
    #[serde(skip_serializing_if = "toml::Table::is_empty")]
    pub params: toml::Table,
}

impl Suggestion {
    fn keep() -> Self {
        Self::named("keep")
    }

    fn named(name: &str) -> Self {
        Suggestion { transform: name.to_string(), params: toml::Table::new() }
    }

    fn with(mut self, key: &str, value: impl Into<toml::Value>) -> Self {
        self.params.insert(key.to_string(), value.into());
        self
    }

    pub fn is_keep(&self) -> bool {
        self.transform == "keep"
    }

    /// The rule as a TOML value: `"name"` or `{ transform = "name", ... }`.
    pub fn to_value(&self) -> toml::Value {
        if self.params.is_empty() {
            return toml::Value::String(self.transform.clone());
        }
        let mut t = toml::Table::new();
        t.insert("transform".into(), toml::Value::String(self.transform.clone()));
        t.extend(self.params.clone());
        toml::Value::Table(t)
    }
}

/// One column of the scaffold.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnScan {
    pub column: String,
    #[serde(rename = "type")]
    pub type_sql: String,
    /// What the column probably holds; `None` when nothing was found.
    pub kind: Option<Kind>,
    /// Why: detector hits, the name, the type.
    pub evidence: Vec<String>,
    /// The strongest value evidence: matching values out of non-NULL values sampled.
    pub hits: u64,
    pub of: u64,
    pub suggestion: Suggestion,
    /// Why this transform (constraints, foreign keys, things to review).
    pub note: String,
    /// Generated columns carry no data and need no rule.
    pub generated: bool,
}

impl ColumnScan {
    /// The comment the scaffold writes after the rule.
    pub fn comment(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        if let Some(k) = self.kind {
            parts.push(format!("{}: {}", k.label(), self.evidence.join("; ")));
        } else if !self.evidence.is_empty() {
            parts.push(self.evidence.join("; "));
        } else {
            parts.push(format!("no evidence in {} sampled value(s)", self.of));
        }
        if !self.note.is_empty() {
            parts.push(self.note.clone());
        }
        parts.join(" — ")
    }

    /// Whether the report lists it among the sensitive columns.
    pub fn sensitive(&self) -> bool {
        self.kind.is_some_and(|k| k != Kind::Quasi)
    }
}

/// One table of the scaffold.
#[derive(Debug, Clone, Serialize)]
pub struct TableScan {
    pub table: String,
    #[serde(skip)]
    pub name: QualifiedName,
    pub rows_sampled: u64,
    /// Partitions and inheritance children covered by this entry (they carry no entry).
    pub covers: Vec<String>,
    pub columns: Vec<ColumnScan>,
}

/// Everything `scrub scan` found.
#[derive(Debug, Serialize)]
pub struct ScanReport {
    pub sample: Option<u64>,
    pub names_listed: usize,
    pub tables: Vec<TableScan>,
    /// Things the rules cannot fix (values of rewritten columns in the SQL text, ...).
    pub warnings: Vec<String>,
    /// Problems `scrub check` still finds with the scaffold (none when all went well).
    pub check_problems: Vec<String>,
    #[serde(skip)]
    dump: String,
}

// ---------------------------------------------------------------------------------------------
// sampling

struct TableSample {
    columns: Vec<String>,
    classes: Vec<Class>,
    stats: Vec<Stats>,
    rows: u64,
}

struct Sampler<'a> {
    limit: u64,
    types: &'a HashMap<(QualifiedName, String), String>,
    tables: BTreeMap<QualifiedName, TableSample>,
    current: Option<QualifiedName>,
    sql: Vec<u8>,
    spans: Vec<std::ops::Range<usize>>,
    ctx: Ctx<'a>,
}

/// SQL text kept for the CHECK and SQL-text checks.
const MAX_SQL: usize = 64 << 20;

impl Visitor for Sampler<'_> {
    fn sql(&mut self, text: &[u8]) -> Result<()> {
        if self.sql.len() + text.len() <= MAX_SQL {
            self.sql.extend_from_slice(text);
            self.sql.push(b'\n');
        }
        Ok(())
    }

    fn table(&mut self, copy: &CopyStmt) -> Result<bool> {
        let t = self.tables.entry(copy.table.clone()).or_insert_with(|| TableSample {
            columns: copy.columns.clone(),
            classes: copy
                .columns
                .iter()
                .map(|c| self.types.get(&(copy.table.clone(), c.clone())).map_or(Class::Text, |t| Class::of(t)))
                .collect(),
            stats: vec![Stats::default(); copy.columns.len()],
            rows: 0,
        });
        if t.columns != copy.columns {
            // The same table again with another column list (not written by pg_dump): start over.
            t.columns = copy.columns.clone();
            t.classes = vec![Class::Text; copy.columns.len()];
            t.stats = vec![Stats::default(); copy.columns.len()];
        }
        let wanted = t.rows < self.limit;
        self.current = Some(copy.table.clone());
        Ok(wanted)
    }

    fn rows(&mut self, rows: &[u8]) -> Result<bool> {
        let Some(name) = &self.current else { return Ok(false) };
        let Some(t) = self.tables.get_mut(name) else { return Ok(false) };
        let mut spans = std::mem::take(&mut self.spans);
        for line in rows.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            if t.rows >= self.limit {
                break;
            }
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if crate::copy::split_row(line, &mut spans).is_err() || spans.len() != t.stats.len() {
                continue;
            }
            t.rows += 1;
            for ((span, st), &class) in spans.iter().zip(t.stats.iter_mut()).zip(&t.classes) {
                st.add_raw(&line[span.clone()], class, &mut self.ctx);
            }
        }
        self.spans = spans;
        Ok(t.rows < self.limit)
    }
}

// ---------------------------------------------------------------------------------------------
// the schema, as the scaffold needs it

/// One column with everything that decides its rule.
struct Col {
    table: QualifiedName,
    name: String,
    type_sql: String,
    class: Class,
    not_null: bool,
    /// Under a primary key, unique constraint or unique index (or referenced by one).
    unique: bool,
    /// Its foreign key: (constraint, referenced table, referenced column).
    fk: Option<(String, QualifiedName, String)>,
    /// Named in a CHECK constraint.
    checked: bool,
    generated: bool,
    stats: Stats,
    finding: Option<Finding>,
    suggestion: Suggestion,
    note: String,
    /// The suggestion failed the check once: only `null` or `keep` from now on.
    fallback: bool,
}

#[derive(Debug, Clone)]
struct Finding {
    kind: Kind,
    evidence: Vec<String>,
    hits: u64,
    of: u64,
    /// Only the name said so.
    by_name: bool,
    /// For JSON: the rule of each path with findings.
    paths: Vec<(String, Kind)>,
}

fn char_limit(type_sql: &str) -> Option<usize> {
    if Class::of(type_sql) != Class::Text {
        return None;
    }
    let open = type_sql.find('(')?;
    let close = type_sql[open..].find(')')?;
    type_sql[open + 1..open + close].trim().parse().ok().filter(|&n: &usize| n > 0)
}

/// The table whose rules a table uses when it has none of its own: its root ancestor, when it
/// has a single line of parents and exactly the root's columns.
fn owner_of(schema: &Schema, table: &QualifiedName) -> QualifiedName {
    let mut cur = table.clone();
    for _ in 0..64 {
        let parents: Vec<&QualifiedName> = schema.parents(&cur).collect();
        match parents.as_slice() {
            [p] if schema.table(p).is_some() => cur = (*p).clone(),
            _ => break,
        }
    }
    let names = |t: &QualifiedName| schema.columns(t).into_iter().map(|(c, _)| c).collect::<Vec<_>>();
    if cur != *table && names(&cur) == names(table) { cur } else { table.clone() }
}

/// (table, column) pairs named in CHECK constraints of `CREATE TABLE` and `ALTER TABLE`.
fn checked_columns(sql: &[u8]) -> BTreeSet<(QualifiedName, String)> {
    use crate::sql::token::{Token, tokenize};
    let mut out = BTreeSet::new();
    let toks = tokenize(sql, true);
    let name_at = |i: usize| -> Option<QualifiedName> {
        match (toks.get(i)?.ident(), toks.get(i + 1), toks.get(i + 2).and_then(Token::ident)) {
            (Some(s), Some(dot), Some(t)) if dot.is(b'.') => Some(QualifiedName::new(s, t)),
            _ => None,
        }
    };
    let mut current: Option<QualifiedName> = None;
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        if t.is(b';') {
            current = None;
        } else if t.is_kw("table")
            && i > 0
            && (toks[i - 1].is_kw("create") || toks[i - 1].is_kw("alter") || toks[i - 1].is_kw("unlogged"))
        {
            let mut j = i + 1;
            while toks.get(j).is_some_and(|t| t.is_kw("only") || t.is_kw("if") || t.is_kw("not") || t.is_kw("exists")) {
                j += 1;
            }
            current = name_at(j);
        } else if t.is_kw("domain") || t.is_kw("function") || t.is_kw("procedure") || t.is_kw("view") {
            current = None;
        } else if t.is_kw("check")
            && toks.get(i + 1).is_some_and(|t| t.is(b'('))
            && let Some(table) = &current
        {
            let mut depth = 0;
            let mut j = i + 1;
            while j < toks.len() {
                if toks[j].is(b'(') {
                    depth += 1;
                } else if toks[j].is(b')') {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                } else if let Some(id) = toks[j].ident() {
                    out.insert((table.clone(), id.to_string()));
                }
                j += 1;
            }
            i = j;
        }
        i += 1;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// deciding what a column holds

/// Detectors that decide a column when enough of its values match them as a whole.
const WHOLE: &[(Det, Kind, f64)] = &[
    (Det::Email, Kind::Email, 0.5),
    (Det::Jwt, Kind::Secret, 0.5),
    (Det::ApiKey, Kind::Secret, 0.5),
    (Det::PasswordHash, Kind::Secret, 0.5),
    (Det::Iban, Kind::Iban, 0.5),
    (Det::Card, Kind::Card, 0.6),
    (Det::Ip, Kind::Ip, 0.5),
    (Det::Mac, Kind::Mac, 0.5),
    (Det::Ssn, Kind::NationalId, 0.5),
    (Det::Nino, Kind::NationalId, 0.5),
    (Det::Nir, Kind::NationalId, 0.5),
    (Det::SteuerId, Kind::NationalId, 0.6),
    (Det::Bsn, Kind::NationalId, 0.6),
    (Det::Phone, Kind::Phone, 0.5),
    (Det::HexToken, Kind::Secret, 0.8),
    (Det::B64Token, Kind::Secret, 0.8),
];

/// Detectors that make a text "free text with personal data" when found inside values.
const INSIDE: &[Det] = &[Det::Email, Det::Phone, Det::Iban, Det::Card, Det::Ssn, Det::ApiKey, Det::ListedName];

/// Words of column names that name events, not births: their old dates are not birth dates.
#[rustfmt::skip]
const EVENT_WORDS: &[&str] = &[
    "created", "updated", "modified", "deleted", "start", "end", "from", "to", "since", "until", "valid",
    "expires", "opened", "closed", "paid", "shipped", "ordered", "registered", "joined", "signup", "hired",
    "hire", "issued", "due", "last", "seen", "login", "sent", "received", "published", "founded",
    "established", "installed", "purchased", "booked", "effective", "release", "released", "built",
];

fn fits(kind: Kind, class: Class) -> bool {
    use Class::*;
    match kind {
        Kind::Email | Kind::PersonName | Kind::Address | Kind::Username | Kind::Iban => {
            matches!(class, Text | Other | Array)
        }
        Kind::Phone | Kind::NationalId | Kind::Card => matches!(class, Text | Other | Integer | Numeric | Array),
        Kind::Ip => matches!(class, Text | Network | Array),
        Kind::Mac => matches!(class, Text | Mac),
        Kind::Secret => matches!(class, Text | Other | Bytea | Uuid | Json | Array),
        Kind::BirthDate => matches!(class, DateTime { .. } | Text),
        Kind::Health | Kind::FreeText | Kind::Json | Kind::Contains => matches!(class, Text | Json | Array | Other),
        Kind::Quasi => true,
    }
}

fn pct(hits: u64, of: u64) -> String {
    format!("{hits}/{of}")
}

/// What a column (or JSON path) holds, judged from its name, type and sampled values.
fn classify(table: &QualifiedName, column: &str, class: Class, st: &Stats) -> Option<Finding> {
    let hint = colname::hint(&table.name, column).filter(|(k, _)| fits(*k, class));
    let mut evidence = Vec::new();
    if matches!(class, Class::Network | Class::Mac) {
        let kind = if class == Class::Mac { Kind::Mac } else { Kind::Ip };
        let mut evidence = vec![format!("column type {}", if kind == Kind::Ip { "inet/cidr" } else { "macaddr" })];
        if let Some((_, word)) = &hint {
            evidence.push(format!("name says `{word}`"));
        }
        return Some(Finding { kind, evidence, hits: st.values, of: st.values, by_name: false, paths: Vec::new() });
    }
    if class == Class::Json || (class == Class::Text && st.json_text * 10 >= st.values * 9 && st.json_text > 0) {
        return classify_json(table, st, hint);
    }
    let n = st.values;
    let min_hits = n.clamp(1, 3);
    // Whole values.
    // The detector with the most hits among those over their threshold; the one the column's
    // name agrees with, if any (`ssn` values also look like US phone numbers).
    let mut best: Option<(Det, Kind, u64)> = None;
    let mut agreed: Option<(Det, Kind, u64)> = None;
    for &(det, kind, threshold) in WHOLE {
        let hits = st.whole[det as usize];
        if hits >= min_hits && st.rate(det) >= threshold && (fits(kind, class) || class == Class::Text) {
            if best.is_none_or(|(_, _, h)| hits > h) {
                best = Some((det, kind, hits));
            }
            if hint.as_ref().is_some_and(|(k, _)| *k == kind) && agreed.is_none_or(|(_, _, h)| hits > h) {
                agreed = Some((det, kind, hits));
            }
        }
    }
    let mut best = agreed.or(best);
    let checked = st.name_checked;
    let name_hits = st.whole[Det::PersonName as usize];
    let person = name_hits >= checked.clamp(1, 3)
        && st.name_rate(Det::PersonName) >= 0.3
        && (st.distinct() >= 3 || n < 5)
        && st.avg_len() <= 40.0;
    let listed = st.whole[Det::ListedName as usize];
    if best.is_none() && (person || listed >= 2 || (listed >= 1 && n < 50)) {
        let (det, hits) = if person { (Det::PersonName, name_hits) } else { (Det::ListedName, listed) };
        best = Some((det, Kind::PersonName, hits));
    }
    // Inside longer text.
    let mut inside = Vec::new();
    for &det in INSIDE {
        let hits = st.inside[det as usize];
        // Digit runs pass for phone and card numbers now and then: in a large sample, a few
        // per mille of the values must have one. The other shapes are rare by chance.
        let enough =
            if matches!(det, Det::Phone | Det::Card) { hits >= 1 && (n <= 200 || hits * 400 >= n) } else { hits >= 1 };
        if enough {
            inside.push(format!("{} inside {} values", det.label(), pct(hits, n)));
        }
    }
    let in_names = st.inside[Det::PersonName as usize];
    if in_names >= 1 && (in_names >= 2 || checked < 20) && in_names as f64 >= 0.05 * checked as f64 {
        inside.push(format!("person names inside {} values", pct(in_names, checked)));
    }
    if let Some((det, kind, hits)) = best {
        let of = if det == Det::PersonName { checked } else { n };
        evidence.push(format!("{} in {} values", det.label(), pct(hits, of)));
        if let Some((k, word)) = &hint {
            evidence.push(if *k == kind {
                format!("name says `{word}`")
            } else {
                format!("name says `{word}` ({})", k.label())
            });
        }
        evidence.extend(inside);
        return Some(Finding { kind, evidence, hits, of, by_name: false, paths: Vec::new() });
    }
    if !inside.is_empty() {
        let (hits, of) =
            INSIDE.iter().map(|&d| st.inside[d as usize]).chain([in_names]).max().map_or((0, n), |h| (h, n));
        // Short values named for what they hold (an `iban` column with a few checksums that
        // pass) are that; names and addresses stay what their name says, long text is free text.
        let free_text = st.avg_len() >= 40.0 || st.multiline > 0;
        let kind = match &hint {
            Some((k @ (Kind::Address | Kind::PersonName | Kind::Username | Kind::Email | Kind::Phone), _)) => *k,
            Some((k @ (Kind::Iban | Kind::Card | Kind::NationalId | Kind::Secret | Kind::Ip), _)) if !free_text => *k,
            _ if matches!(class, Class::Text | Class::Other | Class::Array) => Kind::FreeText,
            _ => return None,
        };
        if let Some((_, word)) = &hint {
            inside.push(format!("name says `{word}`"));
        }
        return Some(Finding { kind, evidence: inside, hits, of, by_name: false, paths: Vec::new() });
    }
    if let Some((kind, word)) = hint {
        let mut evidence = vec![format!("name says `{word}`")];
        if n == 0 {
            evidence.push("no values sampled".into());
        }
        return Some(Finding { kind, evidence, hits: 0, of: n, by_name: true, paths: Vec::new() });
    }
    // Old dates, as birth dates are.
    let date_col =
        matches!(class, Class::DateTime { date_only: true }) || (class == Class::Text && st.dated * 10 >= n * 9);
    let words = colname::split_words(column);
    if date_col
        && st.dated >= 3
        && st.old_dates * 10 >= st.dated * 9
        && st.years() >= if st.dated >= 20 { 8 } else { 3 }
        && !words.iter().any(|w| EVENT_WORDS.contains(&w.as_str()))
    {
        return Some(Finding {
            kind: Kind::BirthDate,
            evidence: vec![format!(
                "dates from 1900 to 2012 over {} different years in {} values, as dates of birth are",
                st.years(),
                pct(st.old_dates, n)
            )],
            hits: st.old_dates,
            of: n,
            by_name: false,
            paths: Vec::new(),
        });
    }
    None
}

/// A JSON column: a finding per path, from the path's values and its last key.
fn classify_json(table: &QualifiedName, st: &Stats, hint: Option<(Kind, String)>) -> Option<Finding> {
    let mut paths = Vec::new();
    let mut evidence = Vec::new();
    let (mut hits, mut of) = (0, st.values);
    for (path, p) in &st.paths {
        let key = path.rsplit(['.', '[']).find(|s| !s.is_empty() && *s != "*]").unwrap_or(path);
        let key = key.trim_end_matches(']').trim_matches('"');
        if p.bools == p.stats.values {
            continue;
        }
        let class = if p.strings > 0 { Class::Text } else { Class::Numeric };
        if let Some(f) = classify(table, key, class, &p.stats)
            && f.kind != Kind::Quasi
        {
            if f.hits > hits {
                (hits, of) = (f.hits, f.of);
            }
            evidence.push(format!("{path}: {} ({})", f.kind.label(), f.evidence.join(", ")));
            paths.push((path.clone(), f.kind));
        }
    }
    // Past the parsed sample only the raw document was searched.
    let raw: Vec<&str> = INSIDE.iter().filter(|&&d| st.inside[d as usize] > 0).map(|d| d.label()).collect();
    if !raw.is_empty() {
        evidence.push(format!("{} inside documents", raw.join(", ")));
    }
    if paths.is_empty() && raw.is_empty() {
        let (kind, word) = hint.filter(|(k, _)| *k != Kind::Quasi)?;
        evidence.push(format!("name says `{word}` ({})", kind.label()));
    } else if let Some((_, word)) = &hint {
        evidence.push(format!("name says `{word}`"));
    }
    if st.json_bad > 0 {
        evidence.push(format!("{} value(s) are not valid JSON", st.json_bad));
    }
    Some(Finding { kind: Kind::Json, evidence, hits, of, by_name: false, paths })
}

// ---------------------------------------------------------------------------------------------
// choosing a transform

/// `hash` cut to the column's length; a unique column shorter than 24 characters gets
/// `pattern` with `unique = true` instead (a short hash may collide).
fn hash_for(col: &Col) -> Suggestion {
    let len = char_limit(&col.type_sql).map_or(64, |l| l.min(64));
    if col.unique && len < 24 {
        return Suggestion::named("pattern").with("unique", true);
    }
    if len == 64 { Suggestion::named("hash") } else { Suggestion::named("hash").with("length", len as i64) }
}

/// `pattern` (letters and digits replaced, the shape kept), unique when it must be.
fn pattern_for(col: &Col) -> Suggestion {
    if col.unique { Suggestion::named("pattern").with("unique", true) } else { Suggestion::named("pattern") }
}

/// Text whose letters are mostly not Latin: `pattern` would keep them, so it is replaced
/// whole.
fn non_latin(col: &Col) -> bool {
    col.stats.non_latin_share() > 0.05
}

/// The transform for a value of kind `kind` in a text column.
fn text_rule(kind: Kind, col: &Col, by_name: bool) -> Suggestion {
    let limit = char_limit(&col.type_sql);
    let replace_whole = |col: &Col| if col.unique { hash_for(col) } else { Suggestion::named("lorem") };
    match kind {
        Kind::Email => match limit {
            Some(l) if l < 28 => hash_for(col),
            Some(l) if l < 60 => Suggestion::named("email").with("domain", "example.com"),
            _ => Suggestion::named("email"),
        },
        Kind::Phone if col.unique => pattern_for(col),
        Kind::Phone => Suggestion::named("phone"),
        Kind::Iban if col.unique => pattern_for(col),
        Kind::Iban => Suggestion::named("iban"),
        Kind::Card if col.unique || by_name => pattern_for(col),
        Kind::Card => Suggestion::named("credit_card"),
        Kind::NationalId => pattern_for(col),
        Kind::Ip => Suggestion::named(if col.stats.ipv6 * 2 > col.stats.values { "ipv6" } else { "ipv4" }),
        Kind::Mac => Suggestion::named("mac"),
        Kind::Secret => hash_for(col),
        Kind::PersonName | Kind::Username | Kind::Address | Kind::Contains => {
            if non_latin(col) {
                replace_whole(col)
            } else if kind == Kind::Contains && (col.stats.avg_len() >= 40.0 || col.stats.multiline > 0) && !col.unique
            {
                Suggestion::named("lorem")
            } else {
                pattern_for(col)
            }
        }
        Kind::Health | Kind::FreeText | Kind::Json => replace_whole(col),
        Kind::BirthDate => birth_rule(col),
        Kind::Quasi => Suggestion::keep(),
    }
}

/// Dates of birth: NULL where the column allows it, else a fixed date. A shifted or truncated
/// date is often some other person's real date of birth, which `scrub verify` would rightly
/// report; both are in the comment for whoever prefers plausible ages.
fn birth_rule(col: &Col) -> Suggestion {
    if !col.not_null { Suggestion::named("null") } else { Suggestion::named("constant").with("value", "1900-01-01") }
}

/// The element rule of an array column.
fn element_rule(kind: Kind, col: &Col) -> Suggestion {
    match kind {
        Kind::Email => Suggestion::named("email"),
        Kind::Phone => Suggestion::named("phone"),
        Kind::Ip => Suggestion::named("ipv4"),
        Kind::Iban => Suggestion::named("iban"),
        Kind::Secret => Suggestion::named("hash"),
        Kind::PersonName | Kind::Username | Kind::NationalId | Kind::Card | Kind::Address if !non_latin(col) => {
            Suggestion::named("pattern")
        }
        _ => Suggestion::named("lorem"),
    }
}

/// The rule of a JSON column: every string and number rewritten (`$`), paths with findings by a
/// transform for their kind, booleans and plain numbers kept.
fn json_rule(col: &Col, f: &Finding) -> Suggestion {
    let root = if f.kind == Kind::Secret { "hash" } else { "lorem" };
    let mut paths = toml::Table::new();
    paths.insert("$".into(), toml::Value::String(root.into()));
    for (path, kind) in f.paths.iter().take(60) {
        let rule = match kind {
            Kind::Email => Suggestion::named("email"),
            Kind::Phone => Suggestion::named("phone"),
            Kind::Iban => Suggestion::named("iban"),
            Kind::Ip => Suggestion::named("ipv4"),
            Kind::Secret => Suggestion::named("hash"),
            Kind::PersonName | Kind::Username | Kind::Address | Kind::NationalId | Kind::Card => {
                Suggestion::named("pattern")
            }
            _ => continue,
        };
        paths.insert(path.clone(), rule.to_value());
    }
    let flagged: BTreeSet<&str> = f.paths.iter().map(|(p, _)| p.as_str()).collect();
    let mut kept = 0;
    for (path, p) in &col.stats.paths {
        if kept >= 60 || flagged.contains(path.as_str()) || p.strings > 0 {
            continue;
        }
        let key = path.rsplit(['.', '[']).next().unwrap_or(path).trim_end_matches(']').trim_matches('"');
        let numbers_ok = p.numbers == 0 || (p.stats.whole.iter().all(|&h| h == 0) && colname::hint("", key).is_none());
        if numbers_ok {
            paths.insert(path.clone(), toml::Value::String("keep".into()));
            kept += 1;
        }
    }
    Suggestion::named("json").with("paths", toml::Value::Table(paths))
}

/// Chooses the rule of one column from its finding, type and constraints.
fn suggest(col: &Col) -> (Suggestion, String) {
    if col.generated {
        return (Suggestion::keep(), "generated column, no data in the dump".into());
    }
    if let Some((constraint, table, column)) = &col.fk {
        return (
            Suggestion::keep(),
            format!(
                "foreign key {constraint}: follows the rule of {} automatically",
                crate::rules::bind::describe(table, column)
            ),
        );
    }
    let Some(f) = &col.finding else { return (Suggestion::keep(), String::new()) };
    if f.kind == Kind::Quasi {
        return (Suggestion::keep(), "kept: review whether it identifies people in combination".into());
    }
    let nullable = !col.not_null && !col.unique;
    let review = |why: &str| format!("REVIEW: {why}");
    if col.fallback {
        return if nullable {
            (Suggestion::named("null"), review("the first suggestion did not fit the column; set to NULL"))
        } else {
            (Suggestion::keep(), review("no suggested transform fits this column's type and constraints; kept"))
        };
    }
    let mut note = String::new();
    if col.unique {
        note.push_str("unique: a uniqueness-preserving transform");
    }
    let rule = match col.class {
        Class::Other | Class::Boolean => {
            if nullable {
                note = format!("type `{}` cannot hold a rewritten value; set to NULL", col.type_sql);
                Suggestion::named("null")
            } else {
                return (
                    Suggestion::keep(),
                    review(&format!("type `{}` with NOT NULL: no transform fits, kept", col.type_sql)),
                );
            }
        }
        Class::Json => json_rule(col, f),
        Class::Array => {
            if col.unique {
                return (Suggestion::keep(), review("a unique array column: no transform fits, kept"));
            }
            Suggestion::named("array").with("element", element_rule(f.kind, col).to_value())
        }
        Class::Uuid => Suggestion::named("uuid"),
        Class::Bytea => {
            if nullable {
                Suggestion::named("null")
            } else if !col.unique {
                Suggestion::named("constant").with("value", "\\x")
            } else {
                return (Suggestion::keep(), review("a unique bytea column: no transform fits, kept"));
            }
        }
        Class::Integer => Suggestion::named("int"),
        Class::Numeric => match f.kind {
            Kind::Phone | Kind::NationalId | Kind::Card | Kind::Secret => pattern_for(col),
            _ => return (Suggestion::keep(), review("numeric values: consider `noise`; kept")),
        },
        Class::DateTime { .. } => {
            if col.unique {
                return (Suggestion::keep(), review("a unique date column: no transform fits, kept"));
            }
            birth_rule(col)
        }
        Class::Network => Suggestion::named(if col.stats.ipv6 * 2 > col.stats.values { "ipv6" } else { "ipv4" }),
        Class::Mac => Suggestion::named("mac"),
        Class::Text if col.stats.json_text > 0 && f.kind == Kind::Json => json_rule(col, f),
        Class::Text => text_rule(f.kind, col, f.by_name),
    };
    if f.kind == Kind::BirthDate {
        note = "a shifted date (`date_shift`, max_days = 365) keeps ages plausible but may equal another person's date of birth, which `scrub verify` reports".into();
    }
    if col.checked && !matches!(rule.transform.as_str(), "null" | "pattern" | "phone" | "iban" | "credit_card" | "keep")
    {
        if nullable {
            return (Suggestion::named("null"), review("a CHECK constraint names this column; set to NULL"));
        }
        note = review("a CHECK constraint names this column: make sure the rewritten values pass it");
    }
    (rule, note)
}

// ---------------------------------------------------------------------------------------------
// the scan

/// Scans a dump (any format) and builds the report and scaffold.
pub fn scan(path: Option<&Path>, scan_opts: &ScanOptions, opts: &Options) -> Result<ScanReport> {
    let names = scan_opts.names.as_deref().map(NameList::load).transpose()?;
    // The schema first (a quick pass), so values are read with their column types.
    let schema = match path {
        Some(p) => crate::inspect::visit_dump(Some(p), opts, &mut super::SchemaOnly)?,
        None => Schema::default(),
    };
    let mut types = HashMap::new();
    for (name, _) in schema.tables() {
        for (col, _) in schema.columns(name) {
            if let Some(t) = schema.column_type(name, &col) {
                types.insert((name.clone(), col.clone()), t.to_string());
            }
        }
    }
    let mut sampler = Sampler {
        limit: scan_opts.sample.limit(),
        types: &types,
        tables: BTreeMap::new(),
        current: None,
        sql: Vec::new(),
        spans: Vec::new(),
        ctx: Ctx { names: names.as_ref(), scratch: Default::default(), decoded: Vec::new() },
    };
    let walked = crate::inspect::visit_dump(path, opts, &mut sampler)?;
    let schema = if schema.is_empty() { walked } else { schema };
    let mut report = build(&schema, sampler.tables, &sampler.sql, scan_opts);
    report.names_listed = names.as_ref().map_or(0, |n| n.count);
    report.dump = path.map_or("stdin".into(), |p| p.display().to_string());
    Ok(report)
}

/// Turns the samples into findings, suggestions and the checked scaffold.
fn build(schema: &Schema, samples: BTreeMap<QualifiedName, TableSample>, sql: &[u8], opts: &ScanOptions) -> ScanReport {
    let checked = checked_columns(sql);
    // Which tables get an entry, and which tables' rows they cover.
    let mut owners: BTreeMap<QualifiedName, Vec<QualifiedName>> = BTreeMap::new();
    for (name, _) in schema.tables() {
        let owner = owner_of(schema, name);
        let covers = owners.entry(owner.clone()).or_default();
        if owner != *name {
            covers.push(name.clone());
        }
    }
    // Unique columns, and the unique columns' referenced columns.
    let mut unique: BTreeSet<(QualifiedName, String)> = BTreeSet::new();
    let mut fks: BTreeMap<(QualifiedName, String), (String, QualifiedName, String)> = BTreeMap::new();
    let primary_key = |t: &QualifiedName| -> Vec<String> {
        schema
            .constraints
            .iter()
            .find_map(|c| match &c.kind {
                ConstraintKind::Unique { columns, primary: true, .. } if c.table == *t => Some(columns.clone()),
                _ => None,
            })
            .unwrap_or_default()
    };
    for c in &schema.constraints {
        match &c.kind {
            ConstraintKind::Unique { columns, .. } => {
                for col in columns {
                    unique.insert((owner_of(schema, &c.table), col.clone()));
                }
            }
            ConstraintKind::ForeignKey { columns, ref_table, ref_columns } => {
                let refs = if ref_columns.is_empty() { primary_key(ref_table) } else { ref_columns.clone() };
                for (col, r) in columns.iter().zip(refs) {
                    fks.entry((owner_of(schema, &c.table), col.clone())).or_insert((
                        c.name.clone(),
                        ref_table.clone(),
                        r,
                    ));
                }
            }
        }
    }
    // A referenced column must keep uniqueness when a unique column references it.
    let fk_pairs: Vec<_> = fks.iter().map(|(k, v)| (k.clone(), (owner_of(schema, &v.1), v.2.clone()))).collect();
    for (child, parent) in &fk_pairs {
        if unique.contains(child) {
            unique.insert(parent.clone());
        }
    }
    let mut rows_sampled: BTreeMap<QualifiedName, u64> = BTreeMap::new();
    let mut merged: BTreeMap<(QualifiedName, String), Stats> = BTreeMap::new();
    for (table, sample) in samples {
        let owner = owner_of(schema, &table);
        *rows_sampled.entry(owner.clone()).or_default() += sample.rows;
        for (col, st) in sample.columns.into_iter().zip(sample.stats) {
            merged.entry((owner.clone(), col)).or_default().merge(&st);
        }
    }
    let not_null = |t: &QualifiedName, col: &str| -> bool {
        let mut frontier = vec![t.clone()];
        for _ in 0..64 {
            for t in &frontier {
                if let Some(c) = schema.table(t).and_then(|d| d.columns.iter().find(|c| c.name == col)) {
                    return c.not_null;
                }
            }
            frontier = frontier.iter().flat_map(|t| schema.parents(t).cloned().collect::<Vec<_>>()).collect();
            if frontier.is_empty() {
                break;
            }
        }
        false
    };
    let mut cols: Vec<Col> = Vec::new();
    for owner in owners.keys() {
        for (name, generated) in schema.columns(owner) {
            let type_sql = schema.column_type(owner, &name).unwrap_or("text").to_string();
            let key = (owner.clone(), name.clone());
            let is_checked = owners[owner].iter().chain([owner]).any(|t| checked.contains(&(t.clone(), name.clone())));
            cols.push(Col {
                table: owner.clone(),
                class: Class::of(&type_sql),
                not_null: not_null(owner, &name),
                unique: unique.contains(&key),
                fk: fks.get(&key).cloned(),
                checked: is_checked,
                generated,
                stats: merged.remove(&key).unwrap_or_default(),
                finding: None,
                suggestion: Suggestion::keep(),
                note: String::new(),
                fallback: false,
                name,
                type_sql,
            });
        }
    }
    for c in &mut cols {
        if !c.generated {
            c.finding = classify(&c.table, &c.name, c.class, &c.stats);
        }
    }
    let index: HashMap<(QualifiedName, String), usize> =
        cols.iter().enumerate().map(|(i, c)| ((c.table.clone(), c.name.clone()), i)).collect();
    let mut warnings = Vec::new();
    // Settle the rules: foreign keys and copies of rewritten values can make more columns
    // sensitive; each round can only add findings, so this ends.
    for _ in 0..8 {
        let mut changed = false;
        // A sensitive referencing column makes the referenced column sensitive (it carries the
        // rule to it).
        for i in 0..cols.len() {
            let Some((_, pt, pc)) = &cols[i].fk else { continue };
            let Some(f) = cols[i].finding.clone().filter(|f| f.kind != Kind::Quasi) else { continue };
            if let Some(&p) = index.get(&(owner_of(schema, pt), pc.clone()))
                && cols[p].finding.as_ref().is_none_or(|f| f.kind == Kind::Quasi)
                && cols[p].fk.is_none()
            {
                let mut f = f.clone();
                f.evidence.insert(
                    0,
                    format!("referenced by {}", crate::rules::bind::describe(&cols[i].table, &cols[i].name)),
                );
                cols[p].finding = Some(f);
                changed = true;
            }
        }
        for c in &mut cols {
            (c.suggestion, c.note) = suggest(c);
        }
        if escalate_copies(&mut cols, &index, schema) {
            changed = true;
        }
        if !changed {
            break;
        }
    }
    // The values of rewritten columns that the SQL text shows (defaults, comments, ...).
    let needles = needles_of(&cols, &index, schema);
    if !needles.is_empty() && !sql.is_empty() {
        let ac = aho_corasick::AhoCorasick::new(needles.iter().map(|(v, _)| v.as_ref()));
        if let Ok(ac) = ac {
            let mut seen = BTreeSet::new();
            for m in ac.find_iter(sql) {
                seen.insert(needles[m.pattern().as_usize()].1);
            }
            for i in seen {
                warnings.push(format!(
                    "sampled values of {} also appear in the SQL text outside COPY data (a default, a comment, a function?): rules cannot rewrite that",
                    crate::rules::bind::describe(&cols[i].table, &cols[i].name)
                ));
            }
        }
    }
    let check_problems = settle_with_binder(&mut cols, schema);
    let mut tables = Vec::new();
    for (owner, covers) in owners {
        let columns: Vec<ColumnScan> = cols
            .iter()
            .filter(|c| c.table == owner)
            .map(|c| ColumnScan {
                column: c.name.clone(),
                type_sql: c.type_sql.clone(),
                kind: c.finding.as_ref().map(|f| f.kind),
                evidence: c.finding.as_ref().map(|f| f.evidence.clone()).unwrap_or_default(),
                hits: c.finding.as_ref().map_or(0, |f| f.hits),
                of: c.finding.as_ref().map_or(c.stats.values, |f| f.of),
                suggestion: c.suggestion.clone(),
                note: c.note.clone(),
                generated: c.generated,
            })
            .collect();
        tables.push(TableScan {
            table: owner.to_string(),
            rows_sampled: rows_sampled.get(&owner).copied().unwrap_or(0),
            covers: covers.iter().map(ToString::to_string).collect(),
            name: owner,
            columns,
        });
    }
    ScanReport {
        sample: match opts.sample {
            Sample::First(n) => Some(n),
            Sample::All => None,
        },
        names_listed: 0,
        tables,
        warnings,
        check_problems,
        dump: String::new(),
    }
}

/// Whether a column's values end up rewritten: its own rule, or its referenced column's.
fn rewritten(cols: &[Col], index: &HashMap<(QualifiedName, String), usize>, schema: &Schema, i: usize) -> bool {
    let mut i = i;
    for _ in 0..32 {
        if !cols[i].suggestion.is_keep() {
            return true;
        }
        let Some((_, t, c)) = &cols[i].fk else { return false };
        match index.get(&(owner_of(schema, t), c.clone())) {
            Some(&p) => i = p,
            None => return false,
        }
    }
    false
}

/// Sampled values of the rewritten columns, each with its column: what `scrub verify` would
/// search for.
fn needles_of(
    cols: &[Col],
    index: &HashMap<(QualifiedName, String), usize>,
    schema: &Schema,
) -> Vec<(Box<[u8]>, usize)> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for i in 0..cols.len() {
        if !rewritten(cols, index, schema, i) {
            continue;
        }
        for v in &cols[i].stats.samples {
            if v.len() >= stats::MIN_NEEDLE && v.len() < 2048 && seen.insert(v.clone()) {
                out.push((v.clone(), i));
            }
        }
    }
    out
}

/// Kept text columns whose sampled values contain sampled values of rewritten columns are
/// rewritten too: otherwise `scrub verify` finds those values there.
fn escalate_copies(cols: &mut [Col], index: &HashMap<(QualifiedName, String), usize>, schema: &Schema) -> bool {
    let needles = needles_of(cols, index, schema);
    if needles.is_empty() {
        return false;
    }
    let Ok(ac) = aho_corasick::AhoCorasick::new(needles.iter().map(|(v, _)| v.as_ref())) else { return false };
    let mut changed = false;
    for i in 0..cols.len() {
        if rewritten(cols, index, schema, i)
            || cols[i].generated
            || !matches!(cols[i].class, Class::Text | Class::Json | Class::Array | Class::Other)
        {
            continue;
        }
        let mut hits = 0;
        let mut from = BTreeSet::new();
        for v in &cols[i].stats.samples {
            let mut found = false;
            for m in ac.find_iter(v.as_ref()) {
                found = true;
                from.insert(needles[m.pattern().as_usize()].1);
            }
            hits += u64::from(found);
        }
        if hits == 0 {
            continue;
        }
        let sources: Vec<String> =
            from.iter().take(3).map(|&j| crate::rules::bind::describe(&cols[j].table, &cols[j].name)).collect();
        let evidence = format!(
            "{} of {} sampled values contain values of {}",
            hits,
            cols[i].stats.samples.len(),
            sources.join(", ")
        );
        let c = &mut cols[i];
        match &mut c.finding {
            Some(f) if f.kind != Kind::Quasi => f.evidence.push(evidence),
            _ => {
                let kind = if c.class == Class::Json { Kind::Json } else { Kind::Contains };
                c.finding = Some(Finding {
                    kind,
                    evidence: vec![evidence],
                    hits,
                    of: c.stats.samples.len() as u64,
                    by_name: false,
                    paths: Vec::new(),
                });
            }
        }
        (c.suggestion, c.note) = suggest(c);
        changed = true;
    }
    changed
}

/// Renders the scaffold, checks it against the schema with scrub's own binder, and replaces
/// every rule the binder refuses with a safer one. Returns what still fails (nothing, normally).
fn settle_with_binder(cols: &mut [Col], schema: &Schema) -> Vec<String> {
    let key = SecretKey::new(b"scrub scan".to_vec()).expect("non-empty");
    for round in 0..4 {
        let (text, lines) = render::toml_for_check(cols);
        let rules = match RuleSet::parse(&text, Path::new("scaffold.toml"), Some(&key)) {
            Ok(r) => r,
            Err(e) => return vec![e.to_string()],
        };
        let (problems, uncovered) = Binder::new(&rules, Some(&key)).problems(schema);
        let mut messages: Vec<String> = problems.iter().map(ToString::to_string).collect();
        messages.extend(uncovered.iter().map(|c| format!("not covered: {c}")));
        if messages.is_empty() || round == 3 {
            return messages;
        }
        let mut fixed = false;
        for p in &problems {
            if let Error::Rules { line: Some(l), .. } = p
                && let Some(&i) = lines.get(l)
                && !cols[i].fallback
            {
                cols[i].fallback = true;
                (cols[i].suggestion, cols[i].note) = suggest(&cols[i]);
                fixed = true;
            }
        }
        if !fixed {
            return messages;
        }
    }
    Vec::new()
}

impl ScanReport {
    /// The human-readable report.
    pub fn text(&self) -> String {
        render::report(self)
    }

    /// The rules scaffold (TOML).
    pub fn rules_toml(&self) -> String {
        render::toml(self)
    }

    /// The scaffold as a table: `schema,table,column,action,params,evidence`.
    pub fn rules_csv(&self) -> String {
        render::csv(self)
    }

    /// Every column the scan found sensitive: `schema.table.column`.
    pub fn sensitive(&self) -> Vec<String> {
        self.tables
            .iter()
            .flat_map(|t| {
                t.columns
                    .iter()
                    .filter(|c| c.sensitive())
                    .map(move |c| crate::rules::bind::describe(&t.name, &c.column))
            })
            .collect()
    }

    /// The column's scan result, by table (`schema.table` as written in SQL) and column name.
    pub fn column(&self, table: &str, column: &str) -> Option<&ColumnScan> {
        let name = QualifiedName::parse(table).ok()?;
        self.tables.iter().find(|t| t.name == name)?.columns.iter().find(|c| c.column == column)
    }
}

#[cfg(test)]
mod tests;
