//! Reads the handful of statements whose meaning scrub needs: `COPY ... FROM stdin`, `CREATE TABLE`
//! (columns, types, NOT NULL, generated columns, parents), `ALTER TABLE ... ATTACH PARTITION`, and the
//! session settings that change how bytes are read (`client_encoding`,
//! `standard_conforming_strings`).
//!
//! Everything else passes through untouched. This module must never rewrite SQL text; it only
//! describes it. Statements it cannot read are reported as such so callers can fail closed.

use super::QualifiedName;
use super::token::{Token, tokenize};

/// The header of a COPY block: which table, and which columns in which order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyStmt {
    pub table: QualifiedName,
    pub columns: Vec<String>,
}

/// A column as declared in `CREATE TABLE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDef {
    pub name: String,
    /// The type as written, e.g. `character varying(255)` or `public.mood[]`.
    pub type_sql: String,
    pub not_null: bool,
    /// `GENERATED ALWAYS AS (...) STORED|VIRTUAL`: computed on restore, absent from COPY data.
    pub generated: bool,
}

/// A table as declared in `CREATE TABLE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDef {
    pub name: QualifiedName,
    /// Columns declared locally, in order. Inherited columns are not repeated by pg_dump.
    pub columns: Vec<ColumnDef>,
    /// `INHERITS (...)` or `PARTITION OF` parents.
    pub parents: Vec<QualifiedName>,
    /// `PARTITION BY ...`: a partitioned table holds no rows itself.
    pub partitioned: bool,
    /// Table constraints written inside `CREATE TABLE` (pg_dump adds them later instead).
    pub constraints: Vec<Constraint>,
}

/// A constraint that restoring the dump will check against the rewritten data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    pub name: String,
    pub table: QualifiedName,
    pub kind: ConstraintKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConstraintKind {
    /// PRIMARY KEY, UNIQUE, or a unique index over plain columns.
    Unique { columns: Vec<String>, primary: bool, nulls_distinct: bool },
    /// FOREIGN KEY (columns) REFERENCES table (ref_columns); `ref_columns` is empty when the
    /// statement names none (the referenced table's primary key).
    ForeignKey { columns: Vec<String>, ref_table: QualifiedName, ref_columns: Vec<String> },
}

/// What a statement means to scrub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Statement {
    /// `COPY table (cols) FROM stdin;`: inline data follows.
    CopyFromStdin(CopyStmt),
    /// A COPY that reads inline data with options scrub does not support (it could not rewrite it).
    UnsupportedCopy(String),
    CreateTable(TableDef),
    /// `ALTER TABLE [ONLY] parent ATTACH PARTITION child`.
    AttachPartition {
        parent: QualifiedName,
        child: QualifiedName,
    },
    /// A primary key, unique constraint, unique index or foreign key.
    Constraint(Constraint),
    /// `CREATE TYPE name AS (field type, ...)`: a composite type.
    CreateCompositeType {
        name: QualifiedName,
        fields: Vec<(String, String)>,
    },
    /// `SET client_encoding = '...'`.
    ClientEncoding(String),
    /// `SET standard_conforming_strings = on|off`.
    StandardConformingStrings(bool),
    /// `INSERT INTO ...` at top level: row data scrub cannot rewrite.
    Insert(String),
    Other,
}

/// An identifier as SQL would write it: quoted only when it needs to be.
fn shown(name: &str) -> String {
    if crate::sql::token::needs_quotes(name) { crate::sql::token::quote_ident(name) } else { name.to_string() }
}

/// The first name that appears twice in `names`.
fn duplicate(names: &[String]) -> Option<&str> {
    names.iter().enumerate().find_map(|(i, a)| names[..i].contains(a).then_some(a.as_str()))
}

/// Classifies one complete statement.
pub fn classify(text: &[u8], std_strings: bool) -> Statement {
    let first = text.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(text.len());
    let head: Vec<u8> = text[first..].iter().take(7).map(u8::to_ascii_lowercase).collect();
    // Cheap prefilter: most statements are none of these.
    if !(head.starts_with(b"copy")
        || head.starts_with(b"create")
        || head.starts_with(b"alter")
        || head.starts_with(b"set")
        || head.starts_with(b"insert"))
    {
        return Statement::Other;
    }
    let toks = tokenize(text, std_strings);
    let mut p = Parser { toks: &toks, i: 0 };
    let result = if p.kw("copy") {
        p.copy()
    } else if p.kw("create") {
        p.create()
    } else if p.kw("alter") {
        p.alter_table()
    } else if p.kw("set") {
        p.set()
    } else if p.kw("insert") {
        p.kw("into");
        Some(Statement::Insert(p.qualified().map(|q| q.to_string()).unwrap_or_default()))
    } else {
        None
    };
    result.unwrap_or(Statement::Other)
}

struct Parser<'a> {
    toks: &'a [Token],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.i)
    }

    fn kw(&mut self, kw: &str) -> bool {
        let hit = self.peek().is_some_and(|t| t.is_kw(kw));
        self.i += usize::from(hit);
        hit
    }

    fn punct(&mut self, b: u8) -> bool {
        let hit = self.peek().is_some_and(|t| t.is(b));
        self.i += usize::from(hit);
        hit
    }

    fn ident(&mut self) -> Option<String> {
        let name = self.peek()?.ident()?.to_string();
        self.i += 1;
        Some(name)
    }

    fn qualified(&mut self) -> Option<QualifiedName> {
        let first = self.ident()?;
        if self.punct(b'.') {
            let second = self.ident()?;
            Some(QualifiedName::new(first, second))
        } else {
            Some(QualifiedName::new("public", first))
        }
    }

    /// Identifiers separated by commas, inside parentheses already opened.
    fn ident_list(&mut self) -> Option<Vec<String>> {
        let mut names = Vec::new();
        if self.punct(b')') {
            return Some(names);
        }
        loop {
            names.push(self.ident()?);
            if self.punct(b')') {
                return Some(names);
            }
            if !self.punct(b',') {
                return None;
            }
        }
    }

    fn copy(&mut self) -> Option<Statement> {
        let reads_stdin = self.toks.iter().any(|t| t.is_kw("stdin"));
        let parsed = (|| {
            let table = self.qualified()?;
            let columns = if self.punct(b'(') { self.ident_list()? } else { Vec::new() };
            (self.kw("from") && self.kw("stdin") && self.punct(b';') && self.i == self.toks.len())
                .then_some(CopyStmt { table, columns })
        })();
        match parsed {
            // PostgreSQL refuses a column listed twice ("specified more than once"); scrub would
            // otherwise pair fields with rules by a name that means two fields.
            Some(c) if duplicate(&c.columns).is_some() => Some(Statement::UnsupportedCopy(format!(
                "the COPY header of {} names column {} twice (PostgreSQL refuses this: column specified more than once)",
                c.table,
                shown(duplicate(&c.columns).unwrap_or_default())
            ))),
            Some(c) => Some(Statement::CopyFromStdin(c)),
            None if reads_stdin => Some(Statement::UnsupportedCopy(
                "a COPY ... FROM stdin with options scrub does not understand (only pg_dump's text-format COPY is supported)".into(),
            )),
            None => None,
        }
    }

    fn create(&mut self) -> Option<Statement> {
        if self.kw("unique") {
            return self.unique_index();
        }
        if self.kw("type") {
            return self.composite_type();
        }
        self.create_table()
    }

    /// `CREATE UNIQUE INDEX name ON [ONLY] table [USING method] (col, ...) ...`. Indexes over
    /// expressions are not column constraints scrub can reason about; they are skipped.
    fn unique_index(&mut self) -> Option<Statement> {
        self.kw("index");
        if self.kw("if") {
            self.kw("not");
            self.kw("exists");
        }
        let name = if self.peek().is_some_and(|t| t.is_kw("on")) { String::new() } else { self.ident()? };
        if !self.kw("on") {
            return None;
        }
        self.kw("only");
        let table = self.qualified()?;
        if self.kw("using") {
            self.ident()?;
        }
        if !self.punct(b'(') {
            return None;
        }
        let mut columns = Vec::new();
        for element in self.split_elements() {
            // A plain column, optionally with an opclass, collation or ordering.
            let first = element.first()?.ident()?.to_string();
            if element.get(1).is_some_and(|t| t.is(b'(') || t.is(b'.')) {
                return None;
            }
            columns.push(first);
        }
        let nulls_distinct = !self.nulls_not_distinct_follows();
        Some(Statement::Constraint(Constraint {
            name,
            table,
            kind: ConstraintKind::Unique { columns, primary: false, nulls_distinct },
        }))
    }

    fn nulls_not_distinct_follows(&self) -> bool {
        self.toks[self.i..].windows(3).any(|w| w[0].is_kw("nulls") && w[1].is_kw("not") && w[2].is_kw("distinct"))
    }

    /// `CREATE TYPE name AS (field type, ...)`.
    fn composite_type(&mut self) -> Option<Statement> {
        let name = self.qualified()?;
        if !(self.kw("as") && self.punct(b'(')) {
            return None;
        }
        let fields =
            self.split_elements().into_iter().filter_map(|e| column_def(e).map(|c| (c.name, c.type_sql))).collect();
        Some(Statement::CreateCompositeType { name, fields })
    }

    /// Table constraints: `PRIMARY KEY (..)`, `UNIQUE [NULLS [NOT] DISTINCT] (..)`,
    /// `FOREIGN KEY (..) REFERENCES t [(..)]`, after an optional `CONSTRAINT name`.
    fn table_constraint(&mut self, table: &QualifiedName) -> Option<Constraint> {
        let name = if self.kw("constraint") { self.ident()? } else { String::new() };
        let kind = if self.kw("primary") {
            self.kw("key");
            self.punct(b'(').then_some(())?;
            ConstraintKind::Unique { columns: self.ident_list()?, primary: true, nulls_distinct: true }
        } else if self.kw("unique") {
            let mut nulls_distinct = true;
            if self.kw("nulls") {
                nulls_distinct = !self.kw("not");
                self.kw("distinct");
            }
            self.punct(b'(').then_some(())?;
            ConstraintKind::Unique { columns: self.ident_list()?, primary: false, nulls_distinct }
        } else if self.kw("foreign") {
            self.kw("key");
            self.punct(b'(').then_some(())?;
            let columns = self.ident_list()?;
            self.kw("references").then_some(())?;
            let ref_table = self.qualified()?;
            let ref_columns = if self.punct(b'(') { self.ident_list()? } else { Vec::new() };
            ConstraintKind::ForeignKey { columns, ref_table, ref_columns }
        } else {
            return None;
        };
        Some(Constraint { name, table: table.clone(), kind })
    }

    fn create_table(&mut self) -> Option<Statement> {
        for modifier in ["unlogged", "temporary", "temp", "global", "local"] {
            self.kw(modifier);
        }
        if !self.kw("table") {
            return None;
        }
        if self.kw("if") {
            self.kw("not");
            self.kw("exists");
        }
        let name = self.qualified()?;
        let mut def =
            TableDef { name, columns: Vec::new(), parents: Vec::new(), partitioned: false, constraints: Vec::new() };
        if self.kw("partition") && self.kw("of") {
            def.parents.push(self.qualified()?);
        }
        if self.punct(b'(') {
            for element in self.split_elements() {
                if let Some(col) = column_def(element) {
                    def.constraints.extend(inline_constraints(element, &def.name, &col.name));
                    def.columns.push(col);
                } else {
                    let mut inner = Parser { toks: element, i: 0 };
                    if let Some(c) = inner.table_constraint(&def.name) {
                        def.constraints.push(c);
                    }
                }
            }
        }
        while let Some(t) = self.peek() {
            if t.is_kw("inherits") {
                self.i += 1;
                if self.punct(b'(') {
                    loop {
                        def.parents.push(self.qualified()?);
                        if !self.punct(b',') {
                            break;
                        }
                    }
                }
            } else if t.is_kw("partition") && self.toks.get(self.i + 1).is_some_and(|t| t.is_kw("by")) {
                def.partitioned = true;
                self.i += 2;
            } else {
                self.i += 1;
            }
        }
        Some(Statement::CreateTable(def))
    }

    /// The comma-separated elements of a parenthesised list already opened; consumes the `)`.
    fn split_elements(&mut self) -> Vec<&[Token]> {
        let mut elements = Vec::new();
        let mut depth = 0usize;
        let mut start = self.i;
        while let Some(t) = self.peek() {
            if t.is(b'(') || t.is(b'[') {
                depth += 1;
            } else if t.is(b']') {
                depth = depth.saturating_sub(1);
            } else if t.is(b')') {
                if depth == 0 {
                    elements.push(&self.toks[start..self.i]);
                    self.i += 1;
                    break;
                }
                depth -= 1;
            } else if t.is(b',') && depth == 0 {
                elements.push(&self.toks[start..self.i]);
                start = self.i + 1;
            }
            self.i += 1;
        }
        elements.retain(|e| !e.is_empty());
        elements
    }

    /// `ALTER TABLE [ONLY] t ATTACH PARTITION c ...` and `ALTER TABLE [ONLY] t ADD CONSTRAINT ...`.
    fn alter_table(&mut self) -> Option<Statement> {
        if !self.kw("table") {
            return None;
        }
        if self.kw("if") {
            self.kw("exists");
        }
        self.kw("only");
        let table = self.qualified()?;
        if self.kw("attach") && self.kw("partition") {
            let child = self.qualified()?;
            return Some(Statement::AttachPartition { parent: table, child });
        }
        if self.kw("add") {
            return self.table_constraint(&table).map(Statement::Constraint);
        }
        None
    }

    fn set(&mut self) -> Option<Statement> {
        self.kw("session");
        let name = self.ident()?;
        if !(self.punct(b'=') || self.kw("to")) {
            return None;
        }
        let value = match self.peek()? {
            Token::Str(s) => s.trim_matches('\'').to_string(),
            Token::Ident { name, .. } => name.clone(),
            _ => return None,
        };
        match name.as_str() {
            "client_encoding" => Some(Statement::ClientEncoding(value)),
            "standard_conforming_strings" => Some(Statement::StandardConformingStrings(!matches!(
                value.to_ascii_lowercase().as_str(),
                "off" | "false" | "0" | "no"
            ))),
            _ => None,
        }
    }
}

const COLUMN_CONSTRAINT_WORDS: &[&str] = &[
    "collate",
    "constraint",
    "not",
    "null",
    "default",
    "generated",
    "primary",
    "unique",
    "check",
    "references",
    "compression",
    "storage",
];

fn column_def(element: &[Token]) -> Option<ColumnDef> {
    let first = element.first()?;
    if let Token::Ident { name, quoted: false } = first
        && matches!(name.as_str(), "constraint" | "primary" | "unique" | "check" | "foreign" | "exclude" | "like")
    {
        return None;
    }
    let name = first.ident()?.to_string();
    let rest = &element[1..];
    let type_end = rest.iter().position(|t| COLUMN_CONSTRAINT_WORDS.iter().any(|w| t.is_kw(w))).unwrap_or(rest.len());
    let type_sql = join_sql(&rest[..type_end]);
    let tail = &rest[type_end..];
    let not_null = tail.windows(2).any(|w| w[0].is_kw("not") && w[1].is_kw("null"));
    let generated = tail.windows(3).any(|w| w[0].is_kw("generated") && w[2].is_kw("as"))
        && tail.windows(2).any(|w| w[0].is_kw("as") && w[1].is(b'('));
    Some(ColumnDef { name, type_sql, not_null, generated })
}

/// Column constraints written inline: `id integer PRIMARY KEY`, `email text UNIQUE`,
/// `customer_id integer REFERENCES public.customers(id)`.
fn inline_constraints(element: &[Token], table: &QualifiedName, column: &str) -> Vec<Constraint> {
    let mut out = Vec::new();
    let col = || vec![column.to_string()];
    for (i, t) in element.iter().enumerate() {
        let kind = if t.is_kw("primary") && element.get(i + 1).is_some_and(|k| k.is_kw("key")) {
            ConstraintKind::Unique { columns: col(), primary: true, nulls_distinct: true }
        } else if t.is_kw("unique") {
            let not_distinct = element.get(i + 1).is_some_and(|k| k.is_kw("nulls"))
                && element.get(i + 2).is_some_and(|k| k.is_kw("not"));
            ConstraintKind::Unique { columns: col(), primary: false, nulls_distinct: !not_distinct }
        } else if t.is_kw("references") {
            let mut p = Parser { toks: element, i: i + 1 };
            let Some(ref_table) = p.qualified() else { continue };
            let ref_columns = if p.punct(b'(') { p.ident_list().unwrap_or_default() } else { Vec::new() };
            ConstraintKind::ForeignKey { columns: col(), ref_table, ref_columns }
        } else {
            continue;
        };
        out.push(Constraint { name: String::new(), table: table.clone(), kind });
    }
    out
}

/// Writes tokens back as compact SQL: `character varying ( 10 ) [ ]` becomes `character varying(10)[]`.
fn join_sql(toks: &[Token]) -> String {
    let mut out = String::new();
    let mut prev_glue = true;
    for t in toks {
        let glue_before = matches!(t, Token::Other(b'(' | b')' | b',' | b'[' | b']' | b'.'));
        if !out.is_empty() && !glue_before && !prev_glue {
            out.push(' ');
        }
        out.push_str(&t.sql());
        prev_glue = matches!(t, Token::Other(b'(' | b'[' | b'.' | b','));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str, t: &str) -> QualifiedName {
        QualifiedName::new(s, t)
    }

    #[test]
    fn copy_statements() {
        assert_eq!(
            classify(b"COPY \"My Schema\".\"Mixed Case\" (\"Id\", \"we\"\"ird col\", \"select\") FROM stdin;", true),
            Statement::CopyFromStdin(CopyStmt {
                table: q("My Schema", "Mixed Case"),
                columns: vec!["Id".into(), "we\"ird col".into(), "select".into()],
            })
        );
        assert_eq!(
            classify(b"COPY public.t_nocols  FROM stdin;", true),
            Statement::CopyFromStdin(CopyStmt { table: q("public", "t_nocols"), columns: vec![] })
        );
        assert!(matches!(
            classify(b"COPY public.t (a) FROM stdin WITH (FORMAT csv);", true),
            Statement::UnsupportedCopy(_)
        ));
        assert_eq!(classify(b"COPY public.t (a) TO stdout;", true), Statement::Other);
    }

    #[test]
    fn create_table_columns() {
        let sql = b"CREATE TABLE public.gen (\n    id integer NOT NULL,\n    name character varying(20) DEFAULT 'a,b'::character varying,\n    g integer GENERATED ALWAYS AS ((a * 2)) STORED,\n    tags text[],\n    CONSTRAINT c CHECK ((id > 0))\n)\nINHERITS (public.base);";
        let Statement::CreateTable(def) = classify(sql, true) else { panic!("not a table") };
        assert_eq!(def.name, q("public", "gen"));
        assert_eq!(def.parents, vec![q("public", "base")]);
        let cols: Vec<_> =
            def.columns.iter().map(|c| (c.name.as_str(), c.type_sql.as_str(), c.not_null, c.generated)).collect();
        assert_eq!(
            cols,
            vec![
                ("id", "integer", true, false),
                ("name", "character varying(20)", false, false),
                ("g", "integer", false, true),
                ("tags", "text[]", false, false),
            ]
        );
    }

    #[test]
    fn constraints_and_types() {
        let fk = classify(
            b"ALTER TABLE ONLY public.orders\n    ADD CONSTRAINT orders_customer_fkey FOREIGN KEY (customer_id, region) REFERENCES public.customers(id, region) ON DELETE CASCADE;",
            true,
        );
        assert_eq!(
            fk,
            Statement::Constraint(Constraint {
                name: "orders_customer_fkey".into(),
                table: q("public", "orders"),
                kind: ConstraintKind::ForeignKey {
                    columns: vec!["customer_id".into(), "region".into()],
                    ref_table: q("public", "customers"),
                    ref_columns: vec!["id".into(), "region".into()],
                },
            })
        );
        let pk = classify(b"ALTER TABLE ONLY public.t\n    ADD CONSTRAINT t_pkey PRIMARY KEY (id);", true);
        assert!(matches!(
            pk,
            Statement::Constraint(Constraint { kind: ConstraintKind::Unique { primary: true, .. }, .. })
        ));
        let uq = classify(b"ALTER TABLE ONLY public.t ADD CONSTRAINT t_e_key UNIQUE NULLS NOT DISTINCT (email);", true);
        assert!(matches!(
            uq,
            Statement::Constraint(Constraint { kind: ConstraintKind::Unique { nulls_distinct: false, .. }, .. })
        ));
        let idx =
            classify(b"CREATE UNIQUE INDEX t_lower ON public.t USING btree (email text_pattern_ops, id DESC);", true);
        let Statement::Constraint(Constraint { kind: ConstraintKind::Unique { columns, .. }, .. }) = idx else {
            panic!("{idx:?}")
        };
        assert_eq!(columns, vec!["email", "id"]);
        assert_eq!(
            classify(b"CREATE UNIQUE INDEX t_expr ON public.t USING btree (lower(email));", true),
            Statement::Other
        );
        assert_eq!(
            classify(b"CREATE TYPE public.s3obj AS (\n\tbucket text,\n\tfile_path character varying(200)\n);", true),
            Statement::CreateCompositeType {
                name: q("public", "s3obj"),
                fields: vec![("bucket".into(), "text".into()), ("file_path".into(), "character varying(200)".into())],
            }
        );
        let Statement::CreateTable(def) = classify(
            b"CREATE TABLE public.x (id integer PRIMARY KEY, c integer REFERENCES public.y(id), UNIQUE (c, id));",
            true,
        ) else {
            panic!()
        };
        assert_eq!(def.columns.len(), 2);
        assert_eq!(def.constraints.len(), 3);
    }

    #[test]
    fn partitions_and_settings() {
        assert_eq!(
            classify(b"ALTER TABLE ONLY public.par ATTACH PARTITION public.par_a FOR VALUES IN ('a');", true),
            Statement::AttachPartition { parent: q("public", "par"), child: q("public", "par_a") }
        );
        let Statement::CreateTable(def) =
            classify(b"CREATE TABLE public.par (id integer) PARTITION BY LIST (region);", true)
        else {
            panic!()
        };
        assert!(def.partitioned);
        assert_eq!(classify(b"SET client_encoding = 'LATIN1';", true), Statement::ClientEncoding("LATIN1".into()));
        assert_eq!(
            classify(b"SET standard_conforming_strings = off;", true),
            Statement::StandardConformingStrings(false)
        );
        assert_eq!(classify(b"INSERT INTO public.t VALUES (1);", true), Statement::Insert("public.t".into()));
    }
}
