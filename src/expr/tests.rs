//! Unit tests: grammar, binding, each type class, three-valued logic, robustness.

use proptest::prelude::*;

use super::*;

const COLS: &[(&str, &str)] = &[
    ("id", "integer"),
    ("name", "text"),
    ("role", "character varying(20)"),
    ("code", "character(3)"),
    ("price", "numeric(10,2)"),
    ("ratio", "double precision"),
    ("small", "real"),
    ("active", "boolean"),
    ("born", "date"),
    ("seen", "timestamp without time zone"),
    ("at", "timestamp with time zone"),
    ("uid", "uuid"),
    ("Mixed Case", "text"),
    ("big", "bigint"),
    ("tod", "time without time zone"),
    ("mood", "public.mood"),
];

fn col(name: &str) -> usize {
    COLS.iter().position(|(n, _)| *n == name).unwrap_or_else(|| panic!("no column {name}"))
}

/// Evaluates `expr` on a row given as `(column, value)` pairs; other columns are NULL.
fn eval(expr: &str, values: &[(&str, &str)]) -> Option<bool> {
    let bound =
        parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}")).bind(COLS).unwrap_or_else(|e| panic!("{expr}: {e}"));
    let mut row: Vec<Option<&[u8]>> = vec![None; COLS.len()];
    for (c, v) in values {
        row[col(c)] = Some(v.as_bytes());
    }
    bound.eval(|i| row[i])
}

fn t(expr: &str, values: &[(&str, &str)]) {
    assert_eq!(eval(expr, values), Some(true), "{expr} on {values:?}");
}

fn f(expr: &str, values: &[(&str, &str)]) {
    assert_eq!(eval(expr, values), Some(false), "{expr} on {values:?}");
}

fn unknown(expr: &str, values: &[(&str, &str)]) {
    assert_eq!(eval(expr, values), None, "{expr} on {values:?}");
}

fn parse_err(expr: &str) -> ExprError {
    match parse(expr) {
        Ok(e) => panic!("{expr} parsed: {e:?}"),
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Syntax, "{e}");
            e
        }
    }
}

fn bind_err(expr: &str) -> ExprError {
    let e = parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
    match e.bind(COLS) {
        Ok(b) => panic!("{expr} bound: {b:?}"),
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Bind, "{e}");
            e
        }
    }
}

#[test]
fn precedence() {
    // AND binds tighter than OR.
    t("id = 1 OR id = 2 AND name = 'x'", &[("id", "1"), ("name", "y")]);
    f("(id = 1 OR id = 2) AND name = 'x'", &[("id", "1"), ("name", "y")]);
    // NOT binds tighter than AND, looser than comparisons.
    t("NOT id = 2 AND name = 'x'", &[("id", "1"), ("name", "x")]);
    f("NOT (id = 1 AND name = 'x')", &[("id", "1"), ("name", "x")]);
    t("NOT NOT active", &[("active", "t")]);
    // BETWEEN takes its own AND.
    t("id BETWEEN 1 AND 3 AND name = 'x'", &[("id", "2"), ("name", "x")]);
    // IS binds looser than comparisons.
    t("id = 1 IS TRUE", &[("id", "1")]);
    t("id = 1 IS NOT FALSE", &[("id", "1")]);
    t("id = 1 IS NULL", &[]);
    t("id = 1 IS UNKNOWN", &[]);
}

#[test]
fn operators_from_split_tokens() {
    let v = [("id", "5")];
    t("id <> 4", &v);
    t("id != 4", &v);
    t("id<=5", &v);
    t("id>=5", &v);
    t("id<6", &v);
    t("id>4", &v);
    f("id<>5", &v);
    parse_err("id < > 4");
    parse_err("id == 4");
    parse_err("id ! = 4");
    let e = parse_err("id = 1 = 2");
    assert!(e.message().contains("chained"), "{e}");
}

#[test]
fn syntax_errors_say_where() {
    let e = parse_err("id = 1 AND");
    assert_eq!(e.offset(), 10);
    assert!(e.to_string().contains("end of the expression"), "{e}");
    let e = parse_err("id = 1 AND AND name = 'x'");
    assert_eq!(e.offset(), 11);
    assert!(e.message().contains("keyword AND"), "{e}");
    let e = parse_err("name = 'unterminated");
    assert_eq!(e.offset(), 7);
    assert!(e.message().contains("unterminated"), "{e}");
    // Offsets count characters, not bytes.
    let e = parse_err("name = 'é' AND )");
    assert_eq!(e.offset(), 15);
    let e = parse_err("(id = 1");
    assert!(e.message().contains("`)`"), "{e}");
    let e = parse_err("id = 1)");
    assert!(e.message().contains("unbalanced"), "{e}");
    assert!(parse_err("").message().contains("empty"));
    assert!(parse_err("  -- just a comment").message().contains("empty"));
    assert!(parse_err("id = 1;").message().contains(';'));
    assert!(parse_err("lower(name) = 'x'").message().contains("function"));
    assert!(parse_err("t.id = 1").message().contains("qualified"));
    assert!(parse_err("id + 1 = 2").message().contains("expected AND"));
    assert!(parse_err("-id = 1").message().contains("only to numbers"));
    assert!(parse_err("id IN (SELECT 1)").message().contains("subqueries"));
    assert!(parse_err("id IN ()").message().contains("expected a column or a value"));
    assert!(parse_err("id = 12abc").message().contains("not a valid number"));
    assert!(parse_err("id = 1e").message().contains("not a valid number"));
    assert!(parse_err("born = DATE '2024-02-30'").message().contains("not a valid date"));
    assert!(parse_err("name SIMILAR TO 'x'").message().contains("SIMILAR"));
    assert!(parse_err("CASE WHEN x THEN 1 END").message().contains("CASE"));
    assert!(parse_err("id IS 5").message().contains("after IS"));
    assert!(parse_err("name = B'101'").message().contains("bit-string"));
}

#[test]
fn depth_limit() {
    let ok = format!("{}id = 1{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert!(parse(&ok).is_ok());
    let deep = format!("{}id = 1{}", "(".repeat(MAX_DEPTH + 1), ")".repeat(MAX_DEPTH + 1));
    assert!(parse_err(&deep).message().contains("nested too deeply"));
    let nots = format!("{}active", "NOT ".repeat(MAX_DEPTH + 1));
    assert!(parse_err(&nots).message().contains("nested too deeply"));
    // Long flat chains are fine.
    let flat = vec!["id = 1"; 10_000].join(" OR ");
    assert!(parse(&flat).is_ok());
    let huge = "(".repeat(100_000);
    assert!(parse(&huge).is_err());
}

#[test]
fn columns_listed_and_quoted() {
    let e = parse("\"Mixed Case\" = 'a' AND ID = 1 OR \"Mixed Case\" IS NULL AND price BETWEEN id AND ratio").unwrap();
    assert_eq!(e.columns(), ["Mixed Case", "id", "price", "ratio"]);
    t("\"Mixed Case\" = 'a'", &[("Mixed Case", "a")]);
    let b = e.bind(COLS).unwrap();
    assert_eq!(b.column_indices(), [col("id"), col("price"), col("ratio"), col("Mixed Case")]);
    assert_eq!(e.to_string(), e.source());
}

#[test]
fn bind_errors() {
    let e = bind_err("nope = 1");
    assert!(e.message().contains("unknown column `nope`") && e.message().contains("\"Mixed Case\""), "{e}");
    assert_eq!(e.offset(), 0);
    let e = bind_err("id = 1 AND \"ID\" = 2");
    assert_eq!(e.offset(), 11);
    assert!(e.message().contains("folded to lower case"), "{e}");
    let e = bind_err("id > 'abc'");
    assert!(e.message().contains("'abc' is not a valid integer"), "{e}");
    assert!(bind_err("id = '3000000000'").message().contains("out of range"));
    let e = bind_err("name = 5");
    assert!(e.message().contains("quote the value: '5'"), "{e}");
    assert!(bind_err("id = name").message().contains("cannot compare column `id` (integer) with column `name` (text)"));
    assert!(bind_err("id LIKE '1%'").message().contains("id::text LIKE"));
    assert!(bind_err("id").message().contains("not a boolean"));
    assert!(bind_err("active = 5").message().contains("cannot compare"));
    assert!(bind_err("active = 'maybe'").message().contains("not a valid boolean"));
    assert!(bind_err("born = 'today'").message().contains("current time"));
    assert!(bind_err("at > '2024-01-01 10:00 Europe/Paris'").message().contains("ISO"));
    assert!(bind_err("uid = 'xyz'").message().contains("uuid"));
    assert!(bind_err("seen::date = '2024-01-01'").message().contains("range"));
    assert!(bind_err("active::text = 'true'").message().contains("TRUE or FALSE"));
    assert!(bind_err("name = DATE '2024-01-01'").message().contains("cannot compare"));
    assert!(bind_err("name LIKE name").message().contains("string literal"));
    assert!(bind_err("name LIKE 'a' ESCAPE 'ab'").message().contains("single character"));
    assert!(bind_err("name LIKE 'a\\'").message().contains("escape character"));
    assert!(bind_err("(id = 1) = TRUE").message().contains("found a condition"));
    assert!(bind_err("5").message().contains("condition is expected"));
    assert!(bind_err("'x'").message().contains("not a boolean"));
    assert!(bind_err("id IN (1, 'a')").message().contains("not a valid integer"));
    assert!(bind_err("tod = born").message().contains("cannot compare"));
}

#[test]
fn integers() {
    let v = [("id", "42"), ("big", "-9223372036854775808")];
    t("id = 42", &v);
    t("id = '42'", &v);
    t("id = 42.0", &v);
    t("id < 42.5", &v);
    f("id = 42.5", &v);
    t("id > 41.999", &v);
    t("id = 4.2e1", &v);
    t("id > -1", &v);
    t("id BETWEEN 40 AND 50", &v);
    t("id NOT BETWEEN 50 AND 40", &v);
    t("id BETWEEN SYMMETRIC 50 AND 40", &v);
    t("id IN (1, 42, 7)", &v);
    t("id NOT IN (1, 2)", &v);
    t("id = 99999999999999999999 OR id < 99999999999999999999", &v);
    t("big = -9223372036854775808", &v);
    t("big < 0 AND big < id", &v);
    t("id = +42", &v);
    t("id::numeric = 42.00 AND id::text = '42' AND id::double precision = 4.2e1", &v);
    t("CAST('42' AS integer) = id", &v);
}

#[test]
fn numerics_exact() {
    let v = [("price", "19.99"), ("ratio", "0.1"), ("small", "0.1")];
    t("price = 19.99", &v);
    t("price = '19.990'", &v);
    t("price < 20", &v);
    t("price > 19.989999999999999999999", &v);
    f("price > 19.99", &v);
    t("price BETWEEN 19.99 AND 19.99", &v);
    t("price IN (1, 19.990, 3)", &v);
    t("price <> 'NaN'", &v);
    t("price < 'Infinity' AND price > '-Infinity'", &v);
    t("price < 'NaN'", &v);
    t("price = 'NaN'", &[("price", "NaN")]);
    t("price > 'Infinity'", &[("price", "NaN")]);
    t("price = 0", &[("price", "-0.00")]);
    t("price > 123456789012345678901234567890.4", &[("price", "123456789012345678901234567890.5")]);
    // Floats: a numeric literal compares as double precision; a real column is rounded to f32 first.
    t("ratio = 0.1", &v);
    f("small = 0.1", &v);
    t("small = '0.1'", &v);
    t("small = 0.1::real", &v);
    t("ratio = 'NaN'", &[("ratio", "NaN")]);
    t("ratio > 'Infinity'", &[("ratio", "NaN")]);
    t("ratio < 1e308 AND ratio > -1e308", &v);
    t("ratio = 0", &[("ratio", "-0")]);
    f("ratio > price", &v);
    t("ratio < price", &v);
    t("id < ratio", &[("id", "0"), ("ratio", "0.5")]);
}

#[test]
fn text_and_padding() {
    let v = [("name", "Bob"), ("code", "ab "), ("role", "admin")];
    t("name = 'Bob'", &v);
    f("name = 'bob'", &v);
    t("name < 'a'", &v); // C collation: uppercase first
    t("name > 'B' AND name < 'Bz'", &v);
    t("name <> 'Bob '", &v);
    t("code = 'ab'", &v);
    t("code = 'ab   '", &v);
    t("code < 'ab!'", &v);
    t("code = 'ab'::text", &v);
    f("code = 'ab '::text", &v);
    f("code LIKE 'ab'", &v);
    t("code LIKE 'ab_'", &v);
    t("code::text LIKE 'ab'", &v);
    t("code::varchar = 'ab'", &v);
    t("role <> 'user'", &v);
    t("role IN ('admin', 'root')", &v);
    t("role NOT IN ('user', 'guest')", &v);
    t("name = E'B\\x6fb'", &v);
    t("name = $$Bob$$", &v);
    t("name = 'it''s'", &[("name", "it's")]);
    t("name = ''", &[("name", "")]);
    t("mood = 'happy' AND mood LIKE 'h%'", &[("mood", "happy")]);
    t("name = 'é'", &[("name", "é")]);
    t("name COLLATE \"C\" < 'a'", &v);
    assert!(parse_err("name COLLATE \"en_US\" < 'a'").message().contains("COLLATE"));
    t("name > 'z'", &[("name", "é")]);
}

#[test]
fn like_family() {
    let v = [("name", "Alice@Example.com")];
    t("name LIKE 'Alice%'", &v);
    t("name LIKE '%.com'", &v);
    t("name LIKE '%@%'", &v);
    t("name LIKE 'A_ice@%'", &v);
    f("name LIKE 'alice%'", &v);
    t("name ILIKE 'alice%'", &v);
    t("name NOT ILIKE '%@other.com'", &v);
    t("name NOT LIKE 'alice%'", &v);
    t("name LIKE '%\\%'", &[("name", "50%")]);
    f("name LIKE '%\\%'", &[("name", "50")]);
    t("name LIKE '50#%' ESCAPE '#'", &[("name", "50%")]);
    t("name LIKE 'a\\b' ESCAPE ''", &[("name", "a\\b")]);
    unknown("name LIKE NULL", &v);
    unknown("name LIKE 'x'", &[]);
    t("'abc' LIKE 'a%'", &[]);
    t("seen::text LIKE '2024-%'", &[("seen", "2024-05-01 10:00:00")]);
}

#[test]
fn booleans() {
    let on = [("active", "t")];
    let off = [("active", "f")];
    t("active", &on);
    f("active", &off);
    unknown("active", &[]);
    t("NOT active", &off);
    t("active = true", &on);
    t("active = 'yes'", &on);
    t("active <> 'off'", &on);
    t("active = 't'", &on);
    t("active IS TRUE", &on);
    t("active IS NOT TRUE", &off);
    t("active IS NOT TRUE", &[]);
    t("active IS NOT FALSE", &[]);
    t("active IS UNKNOWN", &[]);
    t("active > false", &on);
    t("active IN (true)", &on);
    t("TRUE", &[]);
    f("FALSE", &[]);
    unknown("NULL", &[]);
    t("'yes'", &[]);
}

#[test]
fn dates_and_timestamps() {
    let v = [
        ("born", "1990-05-17"),
        ("seen", "2024-03-01 10:00:00.25"),
        ("at", "2024-03-01 10:00:00+01"),
        ("tod", "13:45:00"),
    ];
    t("born = '1990-05-17'", &v);
    t("born < '2000-01-01'", &v);
    t("born > '1990-05-16 23:59'", &v);
    t("born = DATE '1990-05-17'", &v);
    t("born = '1990-05-17'::date", &v);
    t("born < 'infinity' AND born > '-infinity'", &v);
    t("born > '0001-01-01 BC'", &v);
    t("born < TIMESTAMP '1990-05-17 00:00:01'", &v);
    f("born = TIMESTAMP '1990-05-17 00:00:01'", &v);
    t("born = TIMESTAMP '1990-05-17 00:00:00'", &v);
    t("seen > '2024-03-01 10:00:00.2'", &v);
    t("seen < '2024-03-01 10:00:00.250001'", &v);
    t("seen >= '2024-03-01'", &v);
    t("seen >= DATE '2024-03-01' AND seen < DATE '2024-03-02'", &v);
    t("seen = '2024-03-01T10:00:00.25'", &v);
    // timestamp ignores a written zone.
    t("seen = '2024-03-01 10:00:00.25+05'", &v);
    t("at = '2024-03-01 09:00:00Z'", &v);
    t("at = '2024-03-01 09:00:00'", &v);
    t("at = '2024-03-01 14:30:00+05:30'", &v);
    t("at = '2024-03-01 01:00:00-08'", &v);
    t("at > '2024-03-01' AND at < DATE '2024-03-02'", &v);
    t("at = TIMESTAMP '2024-03-01 09:00:00+07'", &v);
    t("at < 'infinity'", &v);
    t("at = 'infinity'", &[("at", "infinity")]);
    t("born = 'epoch'", &[("born", "1970-01-01")]);
    t("seen > born", &v);
    t("at < seen", &v);
    t("tod > '9:00' AND tod < '24:00'", &v);
    t("tod BETWEEN '13:00' AND '14:00:00.000001'", &v);
}

#[test]
fn uuids() {
    let v = [("uid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")];
    t("uid = 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'", &v);
    t("uid = '{a0eebc999c0b4ef8bb6d6bb9bd380a11}'", &v);
    t("uid > '00000000-0000-0000-0000-000000000000'", &v);
    t("uid < 'b0000000-0000-0000-0000-000000000000'", &v);
    t("uid IN ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'ffffffff-ffff-ffff-ffff-ffffffffffff')", &v);
    t("uid::text LIKE 'a0ee%'", &v);
}

#[test]
fn three_valued_logic() {
    let none: [(&str, &str); 0] = [];
    unknown("id = 1", &none);
    unknown("id <> 1", &none);
    unknown("NOT id = 1", &none);
    unknown("id = 1 AND TRUE", &none);
    f("id = 1 AND FALSE", &none);
    t("id = 1 OR TRUE", &none);
    unknown("id = 1 OR FALSE", &none);
    t("id IS NULL", &none);
    f("id IS NOT NULL", &none);
    t("id ISNULL", &none);
    f("id NOTNULL", &none);
    unknown("id = NULL", &[("id", "1")]);
    unknown("NULL = NULL", &none);
    t("id IN (1, NULL)", &[("id", "1")]);
    unknown("id IN (2, NULL)", &[("id", "1")]);
    unknown("id NOT IN (2, NULL)", &[("id", "1")]);
    f("id NOT IN (1, NULL)", &[("id", "1")]);
    unknown("id BETWEEN 1 AND NULL", &[("id", "5")]);
    f("id BETWEEN 6 AND NULL", &[("id", "5")]);
    unknown("id BETWEEN SYMMETRIC 6 AND NULL", &[("id", "5")]);
    t("id IS DISTINCT FROM 1", &none);
    f("id IS NOT DISTINCT FROM 1", &none);
    t("id IS NOT DISTINCT FROM NULL", &none);
    f("id IS DISTINCT FROM 1", &[("id", "1")]);
    t("id IS DISTINCT FROM big", &[("id", "1")]);
    // A row value that is not valid for its type counts as NULL.
    unknown("id = 1", &[("id", "x")]);
    f("id IS NULL", &[("id", "x")]);
    // Column lists in IN expand to ORs.
    t("id IN (big, 1)", &[("id", "1")]);
    unknown("id IN (big, 2)", &[("id", "1")]);
}

#[test]
fn constants_fold() {
    let b = parse("1 = 1 AND 'a' < 'b'").unwrap().bind(COLS).unwrap();
    assert!(b.is_constant());
    assert_eq!(b.eval(|_| None), Some(true));
    assert!(b.column_indices().is_empty());
    assert!(!parse("id = 1").unwrap().bind(COLS).unwrap().is_constant());
    assert!(parse("1 = 'x'").unwrap().bind(COLS).is_err());
}

#[test]
fn schema_impls() {
    let owned: Vec<(String, String)> = vec![("a".into(), "integer".into()), ("b".into(), "text".into())];
    let bound = parse("a = 1 AND b = 'x'").unwrap().bind(&owned).unwrap();
    assert!(bound.matches(|i| [Some(&b"1"[..]), Some(&b"x"[..])][i]));
    let arr = [("a", "integer")];
    assert!(parse("a = 1").unwrap().bind(&arr[..]).is_ok());
    let empty: [(&str, &str); 0] = [];
    assert!(parse("a = 1").unwrap().bind(&empty[..]).unwrap_err().message().contains("no columns"));
}

#[test]
fn bound_is_send_sync() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<Bound>();
    assert_send_sync::<Expr>();
    assert_send_sync::<ExprError>();
}

#[test]
fn comments_and_whitespace() {
    t("id /* the key */ = -- trailing\n 42", &[("id", "42")]);
    t("\n\tid\n=\n42\n", &[("id", "42")]);
    t("id = - 42", &[("id", "-42")]);
    t("id = --42\n 7", &[("id", "7")]);
    t("id = - -42", &[("id", "42")]);
    t("ratio = .5", &[("ratio", "0.5")]);
    t("ratio = 5e-1", &[("ratio", "0.5")]);
    t("ratio = 5E+0", &[("ratio", "5")]);
}

/// Random expressions built from the grammar, over every column type.
fn arb_expr() -> impl Strategy<Value = String> {
    let column = prop::sample::select(COLS.iter().map(|(n, _)| format!("\"{n}\"")).collect::<Vec<_>>());
    let literal = prop::sample::select(vec![
        "1",
        "-2.5",
        "1e3",
        "'x'",
        "'2024-01-01'",
        "'t'",
        "TRUE",
        "NULL",
        "'NaN'",
        "'infinity'",
        "DATE '2024-01-01'",
        "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'",
        "'13:00'",
        "'%a_'",
    ])
    .prop_map(String::from);
    let operand = prop_oneof![column.clone(), literal.clone()];
    let op = prop::sample::select(vec!["=", "<>", "<", "<=", ">", ">=", "LIKE", "ILIKE", "IS DISTINCT FROM"]);
    let leaf = prop_oneof![
        (operand.clone(), op, operand.clone()).prop_map(|(a, o, b)| format!("{a} {o} {b}")),
        (column.clone(), literal.clone(), literal.clone()).prop_map(|(a, b, c)| format!("{a} BETWEEN {b} AND {c}")),
        (column.clone(), prop::collection::vec(literal, 1..4))
            .prop_map(|(a, l)| format!("{a} NOT IN ({})", l.join(", "))),
        column.clone().prop_map(|c| format!("{c} IS NULL")),
        column,
    ];
    leaf.prop_recursive(4, 16, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) AND ({b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) OR ({b})")),
            inner.clone().prop_map(|a| format!("NOT ({a})")),
            inner.prop_map(|a| format!("({a}) IS NOT TRUE")),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn parse_never_panics(s in "\\PC{0,64}") {
        let _ = parse(&s);
    }

    #[test]
    fn parse_never_panics_on_sql_like_text(
        parts in prop::collection::vec(prop::sample::select(vec![
            "(", ")", "'", "\"", "E'", "$$", "$q$", "--", "/*", "*/", "\\", "::", ":", "-", "+", ".", "e", "1", "1e",
            "=", "<", ">", "!", "NOT", "AND", "OR", "IN", "IS", "NULL", "LIKE", "BETWEEN", "DATE", "CAST", "AS",
            "id", "name", ",", " ", "\n", "é", "x",
        ]), 0..24)
    ) {
        let s: String = parts.concat();
        if let Ok(e) = parse(&s) {
            let _ = e.columns();
            if let Ok(b) = e.bind(COLS) {
                let _ = b.eval(|_| Some(&b"1"[..]));
            }
        } else if let Err(e) = parse(&s) {
            prop_assert!(e.offset() <= s.chars().count());
            let _ = e.to_string();
        }
    }

    #[test]
    fn eval_never_panics(expr in arb_expr(), values in prop::collection::vec(prop::option::of(prop::collection::vec(any::<u8>(), 0..40)), COLS.len())) {
        if let Ok(b) = parse(&expr).unwrap().bind(COLS) {
            let _ = b.eval(|i| values[i].as_deref());
        }
    }

    #[test]
    fn eval_never_panics_on_near_valid_values(
        expr in arb_expr(),
        values in prop::collection::vec(prop::option::of(prop::sample::select(vec![
            "", " ", "0", "-0", "1e999999999999", "NaN", "Infinity", "-infinity", "t", "2024-02-29", "0001-01-01 BC",
            "2024-01-01 24:00:00", "2024-01-01 10:00:00+15:59", "99999999-01-01", "294277-01-01 00:00:00",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "\u{0}", "é", "ab ", "13:00", "1.5", "170141183460469231731687303715884105728",
        ])), COLS.len()),
    ) {
        if let Ok(b) = parse(&expr).unwrap().bind(COLS) {
            let _ = b.eval(|i| values[i].map(str::as_bytes));
        }
    }

    #[test]
    fn integer_order_matches_i64(a in any::<i64>(), b in any::<i64>()) {
        let cols = [("x", "bigint"), ("y", "numeric")];
        let row = [a.to_string(), b.to_string()];
        for (op, want) in [("<", a < b), ("=", a == b), (">", a > b)] {
            let bound = parse(&format!("x {op} y")).unwrap().bind(&cols[..]).unwrap();
            prop_assert_eq!(bound.eval(|i| Some(row[i].as_bytes())), Some(want));
            let bound = parse(&format!("x {op} {b}")).unwrap().bind(&cols[..]).unwrap();
            prop_assert_eq!(bound.eval(|i| Some(row[i].as_bytes())), Some(want));
        }
    }

    #[test]
    fn decimal_order_matches_scaled_integers(a in -1_000_000i64..1_000_000, b in -1_000_000i64..1_000_000, sa in 0u32..5, sb in 0u32..5) {
        // a / 10^sa vs b / 10^sb, written as decimals; compared exactly in i128.
        let text = |v: i64, s: u32| {
            let p = 10i64.pow(s);
            let sign = if v < 0 { "-" } else { "" };
            format!("{sign}{}.{:0width$}", v.abs() / p, v.abs() % p, width = s as usize)
        };
        let want = (i128::from(a) * 10i128.pow(sb)).cmp(&(i128::from(b) * 10i128.pow(sa)));
        let cols = [("x", "numeric")];
        let row = [text(a, sa)];
        let bound = parse(&format!("x < {}", text(b, sb))).unwrap().bind(&cols[..]).unwrap();
        prop_assert_eq!(bound.eval(|i| Some(row[i].as_bytes())), Some(want == std::cmp::Ordering::Less));
        let bound = parse(&format!("x = '{}'", text(b, sb))).unwrap().bind(&cols[..]).unwrap();
        prop_assert_eq!(bound.eval(|i| Some(row[i].as_bytes())), Some(want == std::cmp::Ordering::Equal));
    }
}
