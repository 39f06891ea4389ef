//! Tests for `array`, `composite` and `json`. Inputs marked "PostgreSQL" are the server's own
//! `::text` output (15.x), copied from psql.

use std::io::Write;
use std::process::{Command, Stdio};

use proptest::prelude::*;

use super::super::testing::key;
use super::super::{Ctx, Output, Params, SecretKey, Spec, Transform, TypeInfo, Uniqueness, build};
use super::array::{delimiter, element_type};

/// The composite types the tests' "dump" declares.
struct Types;

impl TypeInfo for Types {
    fn composite_fields(&self, type_name: &str) -> Option<Vec<(String, String)>> {
        let fields: &[(&str, &str)] = match type_name {
            "public.s3obj" | "s3obj" => {
                &[("bucket", "text"), ("file_path", "text"), ("size", "bigint"), ("tags", "text[]")]
            }
            "public.pair" => &[("a", "text"), ("b", "character varying(4)")],
            _ => return None,
        };
        Some(fields.iter().map(|(n, t)| (n.to_string(), t.to_string())).collect())
    }
}

fn build_key(name: &str, params: &str, column_type: Option<&str>, key: &SecretKey) -> Result<Transform, String> {
    let params: Params = toml::from_str(params).map_err(|e| e.to_string())?;
    build(&Spec { name, params: &params, column_type, key: Some(key), types: &Types }).map(|t| t.expect("not keep"))
}

fn t(name: &str, params: &str, column_type: Option<&str>) -> Transform {
    build_key(name, params, column_type, &key()).unwrap()
}

fn err(name: &str, params: &str, column_type: Option<&str>) -> String {
    build_key(name, params, column_type, &key()).expect_err("build error")
}

fn apply(t: &Transform, value: &[u8]) -> Vec<u8> {
    let mut out = b"prefix".to_vec();
    assert_eq!(t.apply(value, &Ctx::default(), &mut out), Output::Value);
    assert!(out.starts_with(b"prefix"), "the caller's buffer is appended to, not replaced");
    out.split_off(6)
}

fn run(t: &Transform, value: &str) -> String {
    String::from_utf8(apply(t, value.as_bytes())).unwrap()
}

/// What a leaf transform alone does to a value (`None` for NULL).
fn leaf(name: &str, params: &str, value: &str) -> Option<String> {
    super::super::testing::run(&t(name, params, None), value)
}

// ---------------------------------------------------------------------------------------------
// A reference reader for array text, independent of the transform's own walker.

#[derive(Debug, Clone, PartialEq)]
enum Item {
    Null,
    Value(String),
    Array(Vec<Item>),
}

fn parse_array(text: &str, delim: char) -> Item {
    let body = match text.strip_prefix('[') {
        Some(_) => &text[text.find('=').expect("dimension decoration ends with =") + 1..],
        None => text,
    };
    let chars: Vec<char> = body.chars().collect();
    let mut i = 0;
    let item = parse_item(&chars, &mut i, delim);
    assert_eq!(i, chars.len(), "trailing text in {text:?}");
    item
}

fn parse_item(c: &[char], i: &mut usize, delim: char) -> Item {
    if c[*i] == '{' {
        *i += 1;
        let mut items = Vec::new();
        if c[*i] == '}' {
            *i += 1;
            return Item::Array(items);
        }
        loop {
            items.push(parse_item(c, i, delim));
            let next = c[*i];
            *i += 1;
            if next == '}' {
                return Item::Array(items);
            }
            assert_eq!(next, delim);
        }
    }
    let mut s = String::new();
    if c[*i] == '"' {
        *i += 1;
        while c[*i] != '"' {
            if c[*i] == '\\' {
                *i += 1;
            }
            s.push(c[*i]);
            *i += 1;
        }
        *i += 1;
        return Item::Value(s);
    }
    while c[*i] != delim && c[*i] != '}' {
        assert!(!"{}\"\\".contains(c[*i]) && !c[*i].is_ascii_whitespace(), "unquoted {:?}", c[*i]);
        s.push(c[*i]);
        *i += 1;
    }
    if s.eq_ignore_ascii_case("NULL") { Item::Null } else { Item::Value(s) }
}

/// `array_out`'s quoting, written independently for the property tests.
fn array_literal(items: &[Option<String>]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|v| match v {
            None => "NULL".into(),
            Some(s)
                if s.is_empty()
                    || s.eq_ignore_ascii_case("null")
                    || s.chars().any(|c| "{}\",\\ \t\n\r\u{b}\u{c}".contains(c)) =>
            {
                format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
            }
            Some(s) => s.clone(),
        })
        .collect();
    format!("{{{}}}", quoted.join(","))
}

fn items(item: Item) -> Vec<Item> {
    match item {
        Item::Array(v) => v,
        other => panic!("not an array: {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// array

#[test]
fn array_rewrites_each_element_and_keeps_nulls() {
    // PostgreSQL: array['a b','c"d',NULL,'NULL','',E'e\\f','null','{x}','x,y']::text[]
    let input = r#"{"a b","c\"d",NULL,"NULL","","e\\f","null","{x}","x,y"}"#;
    let arr = t("array", "element = { transform = \"hash\", length = 6 }", Some("text[]"));
    assert_eq!(arr.name(), "array");
    assert_eq!(arr.uniqueness(), Uniqueness::MayBreak);
    let out = run(&arr, input);
    let hash = |v: &str| Item::Value(leaf("hash", "length = 6", v).unwrap());
    assert_eq!(
        items(parse_array(&out, ',')),
        vec![
            hash("a b"),
            hash("c\"d"),
            Item::Null,
            hash("NULL"),
            hash(""),
            hash("e\\f"),
            hash("null"),
            hash("{x}"),
            hash("x,y")
        ]
    );
    // Hex needs no quotes, and NULL is copied as it was.
    assert!(!out.contains('"') && out.contains(",NULL,"), "{out}");
}

#[test]
fn array_quotes_as_array_out_does() {
    // A transform that changes nothing re-quotes every element: the text must come back exactly.
    let same = t("array", "element = { transform = \"regex_replace\", pattern = \"^\\\\b$\" }", Some("text[]"));
    for pg in [
        r#"{"a b","c\"d",NULL,"NULL","","e\\f","null","{x}","x,y"}"#,
        "{\"a\u{b}b\",\"c\r\"}",
        "{ä,\"ö ü\",NuLl,\"nULL\"}",
        "[0:1][1:2]={{a,b},{c,d}}",
        "{}",
        "{{NULL,\"\"},{\" \",x}}",
    ] {
        assert_eq!(run(&same, pg), pg);
    }
    // Results that need quotes get them; a NULL result is a bare NULL, the text "NULL" is quoted.
    let constant = |v: &str| t("array", &format!("element = {{ transform = \"constant\", value = '{v}' }}"), None);
    assert_eq!(run(&constant("a \"b\" \\c"), "{x,NULL}"), r#"{"a \"b\" \\c",NULL}"#);
    assert_eq!(run(&constant("NULL"), "{x,y}"), r#"{"NULL","NULL"}"#);
    assert_eq!(run(&constant(""), "{x}"), r#"{""}"#);
    assert_eq!(run(&constant("{,}"), "{x}"), r#"{"{,}"}"#);
    assert_eq!(run(&t("array", "element = \"null\"", None), "{x,\"y z\",NULL}"), "{NULL,NULL,NULL}");
}

#[test]
fn array_keeps_dimensions_nesting_and_the_box_delimiter() {
    let digits = "element = { transform = \"regex_replace\", pattern = \"1\", replacement = \"9\" }";
    // PostgreSQL: '[0:1][1:2]={{a,b},{c,d}}'::text[] with other values.
    assert_eq!(
        run(&t("array", digits, Some("integer[]")), "[0:1][1:2]={{1,21},{NULL,13}}"),
        "[0:1][1:2]={{9,29},{NULL,93}}"
    );
    // PostgreSQL: array[box '(1,1),(0,0)', box '(2,2),(1,1)']: `;` separates, `,` needs no quotes.
    assert_eq!(run(&t("array", digits, Some("box[]")), "{(1,1),(0,0);(2,2),(1,1)}"), "{(9,9),(0,0);(2,2),(9,9)}");
    let spaced = "element = { transform = \"regex_replace\", pattern = \",\", replacement = \", \" }";
    assert_eq!(run(&t("array", spaced, Some("box[]")), "{(1,1),(0,0)}"), "{\"(1, 1), (0, 0)\"}");
    // A value-length limit from the element type.
    let short = t("array", "element = \"lorem\"", Some("character varying(5)[]"));
    for item in items(parse_array(&run(&short, "{\"a long sentence here\",xyzzy}"), ',')) {
        let Item::Value(v) = item else { panic!() };
        assert!(v.chars().count() <= 5, "{v}");
    }
}

#[test]
fn array_element_types() {
    assert_eq!(element_type("text[]"), Some("text"));
    assert_eq!(element_type("character varying(20)[]"), Some("character varying(20)"));
    assert_eq!(element_type("public.mood[]"), Some("public.mood"));
    assert_eq!(element_type("integer[][]"), Some("integer"));
    assert_eq!(element_type("integer[3]"), Some("integer"));
    assert_eq!(element_type("text"), None);
    assert_eq!(element_type("[]"), None);
    assert_eq!(delimiter(Some("box")), b';');
    assert_eq!(delimiter(Some("pg_catalog.box")), b';');
    assert_eq!(delimiter(Some("text")), b',');
    assert_eq!(delimiter(None), b',');
}

#[test]
fn array_fails_closed_on_text_that_is_not_an_array() {
    let arr = t("array", "element = \"email\"", Some("text[]"));
    for bad in ["", "abc", "{a", "{a}}", "{\"a}", "{a b}", "{a,}", "{,a}", "{a}x", "[1:2]{a,b}", "[x]={a}", "{a\\,b}"] {
        assert_eq!(run(&arr, bad), "{}", "{bad:?}");
    }
    // `keep` as the element rule leaves any value alone.
    let keep = t("array", "element = \"keep\"", None);
    assert_eq!(run(&keep, "not an array"), "not an array");
}

#[test]
fn array_of_composites_and_array_errors() {
    // PostgreSQL: array[row('b1','/x/y.png',10,NULL), row('b 2',NULL,20,array['a','b'])]::s3obj[]
    let input = r#"{"(b1,/x/y.png,10,)","(\"b 2\",,20,\"{a,b}\")"}"#;
    let arr = t(
        "array",
        "element = { transform = \"composite\", fields.bucket = { transform = \"constant\", value = \"x y\" } }",
        Some("public.s3obj[]"),
    );
    assert_eq!(run(&arr, input), r#"{"(\"x y\",/x/y.png,10,)","(\"x y\",,20,\"{a,b}\")"}"#);
    assert!(err("array", "", None).contains("needs `element`"));
    assert!(err("array", "element = \"bogus\"", None).contains("`element`: unknown transform `bogus`"));
    assert!(err("array", "element = 3", None).contains("`element`"));
    assert!(err("array", "element = \"email\"\nx = 1", None).contains("has no parameter `x`"));
}

// ---------------------------------------------------------------------------------------------
// composite

const AVATAR: &str = "fields.file_path = \"path\"\nfields.bucket = { transform = \"hash\", length = 8 }";

#[test]
fn composite_rewrites_named_fields_only() {
    let c = t("composite", AVATAR, Some("public.s3obj"));
    assert_eq!(c.uniqueness(), Uniqueness::MayBreak);
    // PostgreSQL: row('my bucket', '/home/alice/cat.png', 12, array['a','b c'])::s3obj
    let out = run(&c, r#"("my bucket",/home/alice/cat.png,12,"{a,""b c""}")"#);
    let bucket = leaf("hash", "length = 8", "my bucket").unwrap();
    let path = leaf("path", "", "/home/alice/cat.png").unwrap();
    assert_eq!(out, format!(r#"({bucket},{path},12,"{{a,""b c""}}")"#));
    // PostgreSQL: row(NULL, '', NULL, NULL)::s3obj: NULL stays NULL, "" is a value.
    let out = run(&c, r#"(,"",,)"#);
    assert_eq!(out, format!(r#"(,"{}",,)"#, leaf("path", "", "").unwrap()));
    // PostgreSQL: row('he said "hi"\ ,', '/x', 1, '{}')::s3obj: the value is decoded first.
    let out = run(&c, r#"("he said ""hi""\\ ,",/x,1,{})"#);
    let bucket = leaf("hash", "length = 8", "he said \"hi\"\\ ,").unwrap();
    assert_eq!(out, format!("({bucket},{},1,{{}})", leaf("path", "", "/x").unwrap()));
}

#[test]
fn composite_quotes_as_record_out_does() {
    let c = |v: &str| {
        t(
            "composite",
            &format!("fields.a = {{ transform = \"constant\", value = {} }}", toml_string(v)),
            Some("public.pair"),
        )
    };
    assert_eq!(run(&c("x"), "(a,b)"), "(x,b)");
    assert_eq!(run(&c(""), "(a,b)"), r#"("",b)"#);
    assert_eq!(run(&c("he said \"hi\"\\ ,"), "(a,b)"), r#"("he said ""hi""\\ ,",b)"#);
    assert_eq!(run(&c("(x)"), "(a,\"b c\")"), r#"("(x)","b c")"#);
    assert_eq!(run(&c("a\u{b}"), "(a,b)"), "(\"a\u{b}\",b)");
    let null = t("composite", "fields.b = \"null\"", Some("public.pair"));
    assert_eq!(run(&null, "(a,\"b c\")"), "(a,)");
    // The field's type limits the nested transform: b is character varying(4).
    let lorem = t("composite", "fields.b = \"lorem\"", Some("public.pair"));
    let out = run(&lorem, "(a,\"a long text\")");
    assert!(out.len() <= "(a,)".len() + 4 + 2, "{out}");
    // Nested: an array field.
    let tags = t("composite", "fields.tags = { transform = \"array\", element = \"null\" }", Some("public.s3obj"));
    assert_eq!(run(&tags, r#"(b,/p,1,"{a,""b c""}")"#), r#"(b,/p,1,"{NULL,NULL}")"#);
}

#[test]
fn composite_fails_closed() {
    let c = t("composite", AVATAR, Some("public.s3obj"));
    for bad in ["", "x", "(a,b)", "(a,b,c,d,e)", "(a,b,c,d", "(a,\"b,c,d)", "(a,b,c,d)x", "(a,b,c,\\"] {
        assert_eq!(run(&c, bad), "(,,,)", "{bad:?}");
    }
    // Without the column's type (the rules file checked before a dump is read) the rules are
    // validated, and a value becomes NULL fields.
    let unresolved = t("composite", AVATAR, None);
    assert_eq!(run(&unresolved, r#"("my bucket",/p,12,"{a}")"#), "(,,,)");
    assert_eq!(run(&unresolved, "garbage"), "()");
    // Keep-only fields copy the value.
    assert_eq!(run(&t("composite", "fields.size = \"keep\"", Some("public.s3obj")), "garbage"), "garbage");
    assert_eq!(run(&t("composite", "fields.size = \"keep\"", None), "(a,b)"), "(a,b)");
}

#[test]
fn composite_build_errors() {
    let e = err("composite", "fields.nope = \"hash\"", Some("public.s3obj"));
    assert!(e.contains("has no field `nope`") && e.contains("bucket, file_path, size, tags"), "{e}");
    let e = err("composite", AVATAR, Some("public.unknown"));
    assert!(e.contains("not a composite type"), "{e}");
    assert!(err("composite", AVATAR, Some("public.s3obj[]")).contains("transform = \"array\""));
    assert!(err("composite", "", Some("public.s3obj")).contains("needs `fields`"));
    assert!(err("composite", "fields = 1", Some("public.s3obj")).contains("must be a table"));
    assert!(err("composite", "fields.bucket = \"bogus\"", None).contains("`fields.bucket`: unknown transform"));
    assert!(
        err("composite", "fields.bucket = { transform = \"hash\", length = 99 }", Some("public.s3obj"))
            .contains("1 to 64")
    );
}

// ---------------------------------------------------------------------------------------------
// json

const PROFILE: &str = r#"paths = { "$.bio" = { transform = "lorem" }, "$.ssn" = "delete", "$.contacts[*].email" = "email", "$.tags[0]" = "keep" }"#;

/// PostgreSQL: the jsonb text of a profile.
const PROFILE_DOC: &str = r#"{"q": "a\"b\\c\né", "ok": true, "age": 42, "bio": "I love PgDay, the conference in Germany!", "ssn": "123-45-6789", "tags": ["pg", "de"], "contacts": [{"kind": "work", "email": "a@b.de"}, {"email": "c@d.fr"}]}"#;

fn json_value(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn jsonb_documents_without_the_paths_keys_are_copied_unparsed() {
    let jsonb = t("json", PROFILE, Some("jsonb"));
    let json = t("json", PROFILE, Some("json"));
    // None of bio, ssn, email, tags: copied as is (even not JSON, which a jsonb column cannot hold).
    for doc in [r#"{"path": "/products/1", "ms": 12}"#, r#"[1, {"bios": "x"}]"#, "not json"] {
        assert_eq!(run(&jsonb, doc), doc);
    }
    // A json column may hold anything: still parsed, so text that is not JSON becomes null.
    assert_eq!(run(&json, "not json"), "null");
    // A key in a value is enough to parse; the result is the same as without the shortcut.
    let doc = r#"{"note": "see "email"", "contacts": [{"email": "a@b.de"}]}"#;
    assert_eq!(run(&jsonb, doc), run(&json, doc));
    assert_ne!(run(&jsonb, doc), doc);
    // Paths without a key anywhere (`$`, `$[*]`) turn the shortcut off.
    let any = t("json", r#"paths = { "$[*]" = "delete" }"#, Some("jsonb"));
    assert_eq!(run(&any, "[1, 2]"), "[]");
}

#[test]
fn json_applies_the_issue_example() {
    let j = t("json", PROFILE, Some("jsonb"));
    assert_eq!(j.uniqueness(), Uniqueness::MayBreak);
    let out = run(&j, PROFILE_DOC);
    let bio = leaf("lorem", "", "I love PgDay, the conference in Germany!").unwrap();
    let (e1, e2) = (leaf("email", "", "a@b.de").unwrap(), leaf("email", "", "c@d.fr").unwrap());
    assert_eq!(
        out,
        format!(
            r#"{{"q": "a\"b\\c\né", "ok": true, "age": 42, "bio": "{bio}", "tags": ["pg", "de"], "contacts": [{{"kind": "work", "email": "{e1}"}}, {{"email": "{e2}"}}]}}"#
        )
    );
}

#[test]
fn json_deletes_members_and_elements_with_their_commas() {
    let del = |path: &str| t("json", &format!("paths = {{ '{path}' = \"delete\" }}"), None);
    assert_eq!(run(&del("$.a"), r#"{"a": 1, "b": 2, "c": 3}"#), r#"{"b": 2, "c": 3}"#);
    assert_eq!(run(&del("$.b"), r#"{"a": 1, "b": 2, "c": 3}"#), r#"{"a": 1, "c": 3}"#);
    assert_eq!(run(&del("$.c"), r#"{"a": 1, "b": 2, "c": 3}"#), r#"{"a": 1, "b": 2}"#);
    assert_eq!(run(&del("$.*"), r#"{"a": 1, "b": [2], "c": {"d": 3}}"#), "{}");
    assert_eq!(run(&del("$[0]"), "[1,2,3]"), "[2,3]");
    assert_eq!(run(&del("$[2]"), "[1,2,3]"), "[1,2]");
    assert_eq!(run(&del("$[*]"), "[ 1 , 2 ]"), "[ ]");
    assert_eq!(run(&del("$.a"), "{\n  \"a\": 1,\n  \"b\": 2\n}"), "{\n  \"b\": 2\n}");
    assert_eq!(run(&del("$.b"), "{\n  \"a\": 1,\n  \"b\": 2\n}"), "{\n  \"a\": 1\n}");
    assert_eq!(run(&del("$.x"), r#"{"x": 1, "x": 2, "y": {"x": 3}}"#), r#"{"y": {"x": 3}}"#);
    // Indexes are those of the original document.
    let two = t("json", "paths = { '$[0]' = \"delete\", '$[1]' = \"delete\" }", None);
    assert_eq!(run(&two, "[1,2,3]"), "[3]");
    // Deleted subtrees are not rewritten, and nothing inside leaks.
    let both = t("json", "paths = { '$.a' = \"delete\", '$.a.b' = \"email\" }", None);
    assert_eq!(run(&both, r#"{"a": {"b": "x@y.z"}, "c": 1}"#), r#"{"c": 1}"#);
}

#[test]
fn json_scalars_keep_their_type_when_they_can() {
    let j = |rule: &str| t("json", &format!("paths = {{ '$[*]' = {rule} }}"), Some("json"));
    let out = run(&j("{ transform = \"int\" }"), r#"[42, -7, "12", true, null]"#);
    let v = json_value(&out);
    assert!(v[0].is_i64() && v[1].as_i64().unwrap() < 0 && v[2].is_string() && v[4].is_null(), "{out}");
    assert_eq!(v[3], serde_json::Value::String(leaf("int", "", "true").unwrap()));
    // A hash of a number is not a number: it becomes a string.
    let out = run(&j("{ transform = \"hash\", length = 6 }"), "[1.5e3, false]");
    assert_eq!(
        out,
        format!(
            r#"["{}", "{}"]"#,
            leaf("hash", "length = 6", "1.5e3").unwrap(),
            leaf("hash", "length = 6", "false").unwrap()
        )
    );
    assert_eq!(run(&j("\"null\""), r#"[1, "a", {"b": "c"}]"#), r#"[null, null, {"b": null}]"#);
    let yes = j("{ transform = \"constant\", value = \"true\" }");
    assert_eq!(run(&yes, r#"[false, "x", 0]"#), r#"[true, "true", "true"]"#);
    // Strings are decoded before the transform and escaped after it, as escape_json does.
    let ctl = j("{ transform = \"constant\", value = \"a\\\"b\\\\c\\n\\u0001\\u007f\\u00e9/\" }");
    assert_eq!(run(&ctl, r#"["x"]"#), "[\"a\\\"b\\\\c\\n\\u0001\u{7f}é/\"]");
    let seen = j("{ transform = \"regex_replace\", pattern = \"^\", replacement = \"<\" }");
    assert_eq!(run(&seen, r#"["\u0041\ud83d\ude00\n\/", 5]"#), "[\"<A😀\\n/\", \"<5\"]");
    // jsonb cannot hold \u0000: dropped there, kept in json.
    let nul = "{ transform = \"constant\", value = \"a\\u0000b\" }";
    assert_eq!(run(&j(nul), r#"["x"]"#), r#"["a\u0000b"]"#);
    let jsonb = t("json", &format!("paths = {{ '$[*]' = {nul} }}"), Some("jsonb"));
    assert_eq!(run(&jsonb, r#"["x"]"#), r#"["ab"]"#);
}

#[test]
fn json_rules_are_inherited_and_the_most_specific_wins() {
    let m = |rule: &str| leaf("regex_replace", "pattern = '^'\nreplacement = '*'", rule).unwrap();
    let star = "{ transform = \"regex_replace\", pattern = \"^\", replacement = \"*\" }";
    // A rule on a container reaches every string and number below it; `keep` exempts one.
    let tags =
        t("json", &format!("paths = {{ '$.tags' = {star}, '$.tags[0]' = \"keep\", '$.tags[2].k' = \"null\" }}"), None);
    assert_eq!(
        run(&tags, r#"{"tags": ["pg", "de", {"k": "v", "n": 1, "b": true, "z": null}], "other": "x"}"#),
        format!(
            r#"{{"tags": ["pg", "{}", {{"k": null, "n": "{}", "b": "{}", "z": null}}], "other": "x"}}"#,
            m("de"),
            m("1"),
            m("true")
        )
    );
    // At the first differing segment, a key or index beats `*`.
    let spec = t("json", "paths = { '$.*.x' = \"null\", '$.a.*' = \"delete\", '$.a.y' = \"keep\" }", None);
    assert_eq!(
        run(&spec, r#"{"a": {"x": 1, "y": 2, "z": 3}, "b": {"x": 4, "y": 5}}"#),
        r#"{"a": {"y": 2}, "b": {"x": null, "y": 5}}"#
    );
    // `$` applies to the whole document.
    let all = t("json", &format!("paths = {{ '$' = {star} }}"), None);
    assert_eq!(run(&all, r#""top""#), format!(r#""{}""#, m("top")));
    assert_eq!(run(&all, r#"{"k": ["a", 2]}"#), format!(r#"{{"k": ["{}", "{}"]}}"#, m("a"), m("2")));
}

#[test]
fn json_paths_quoted_keys_and_escaped_keys() {
    let j = t(
        "json",
        r#"paths = { '$["key with space"]' = "null", "$['it\\'s']" = "null", '$.a["q\"x"]' = "null", '$.é' = "null", '$.list[1]' = "null" }"#,
        None,
    );
    assert_eq!(
        run(&j, r#"{"key with space": 1, "it's": 2, "a": {"q\"x": 3, "q\u0022x": 4}, "\u00e9": 5, "list": [0, 1, 2]}"#),
        r#"{"key with space": null, "it's": null, "a": {"q\"x": null, "q\u0022x": null}, "\u00e9": null, "list": [0, null, 2]}"#
    );
    // Keys match objects only, indexes arrays only.
    let k = t("json", "paths = { '$.0' = \"null\", '$[0]' = \"delete\" }", None);
    assert_eq!(run(&k, r#"{"0": 1}"#), r#"{"0": null}"#);
    assert_eq!(run(&k, "[1, 2]"), "[2]");
}

#[test]
fn json_copies_what_no_rule_touches_byte_for_byte() {
    let j = t("json", PROFILE, Some("json"));
    for doc in [
        "{ \"a\" :\t[ 1 ,2.50e+3 , -0.0, true,false ,null, \"\\u00e9\\/\" ] , \"a\": {} }\n",
        "  [ ]  ",
        "\"just a string\"",
        "123",
        r#"{"bio": null, "contacts": [1, "two", {"mail": "x"}], "tags": {"0": "not an array"}}"#,
    ] {
        assert_eq!(run(&j, doc), doc);
    }
}

#[test]
fn json_invalid_documents_become_null() {
    let j = t("json", PROFILE, None);
    for bad in [
        "",
        " ",
        "{",
        "[1,]",
        "{\"a\" 1}",
        "{\"a\":1,}",
        "01",
        "1.",
        "-",
        "1e",
        "tru",
        "nul",
        "[1] x",
        "{\"a\":\"\u{1}\"}",
        "\"\\x\"",
        "\"\\ud800\"",
        "\"\\udc00\"",
        "\"\\ud800\\u0041\"",
        "{1: 2}",
        "[\"a\" \"b\"]",
        "NaN",
    ] {
        assert_eq!(run(&j, bad), "null", "{bad:?}");
    }
    assert_eq!(run(&j, &"[".repeat(20_000)), "null");
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    assert_eq!(run(&j, &deep), deep);
}

#[test]
fn json_build_errors() {
    assert!(err("json", "", None).contains("needs `paths`"));
    assert!(err("json", "paths = 1", None).contains("must be a table"));
    assert!(err("json", "paths = { '$' = \"delete\" }", None).contains("cannot be deleted"));
    assert!(err("json", "paths = { '$.a' = { transform = \"delete\", x = 1 } }", None).contains("no parameters"));
    assert!(err("json", "paths = { '$.a' = \"bogus\" }", None).contains("path `$.a`: unknown transform `bogus`"));
    let e = err("json", r#"paths = { '$.a' = "null", '$["a"]' = "keep" }"#, None);
    assert!(e.contains("same nodes"), "{e}");
    let many: Vec<String> = (0..129).map(|i| format!("'$.k{i}' = \"null\"")).collect();
    assert!(err("json", &format!("paths = {{ {} }}", many.join(", ")), None).contains("at most 128"));
    for (path, msg) in [
        ("a.b", "starts with `$`"),
        ("$..a", "recursive descent"),
        ("$.", "expected a key"),
        ("$.a b", "unexpected"),
        ("$[-1]", "negative"),
        ("$[1", "expected `]`"),
        ("$[x]", "after `[`"),
        ("$[\"a]", "unclosed"),
        ("$['a]", "unclosed"),
        ("$[\"\\q\"]", "not a JSON string"),
        ("$[99999999999999999999999]", "too large"),
    ] {
        let e = super::json::testing::path_error(path).unwrap_or_else(|| panic!("{path} parsed"));
        assert!(e.contains(msg), "{path}: {e}");
    }
    assert!(super::json::testing::path_error("$.a[*].b[\"c d\"][0]['e'].*").is_none());
    assert!(super::json::testing::is_number(b"-0.5e+10") && !super::json::testing::is_number(b"0x1"));
}

// ---------------------------------------------------------------------------------------------
// Golden outputs and determinism.

#[test]
fn golden_outputs() {
    // Pinned: a change here changes every pseudonym users have ever produced.
    let arr = t("array", "element = { transform = \"hash\", length = 8 }", Some("text[]"));
    let comp = t("composite", AVATAR, Some("public.s3obj"));
    let json = t("json", PROFILE, Some("jsonb"));
    let got = [
        run(&arr, r#"{"a b",NULL,c}"#),
        run(&comp, r#"("my bucket",/home/alice/cat.png,12,"{a,""b c""}")"#),
        run(&json, r#"{"bio": "I love PgDay!", "ssn": "123-45-6789", "contacts": [{"email": "a@b.de"}]}"#),
    ];
    assert_eq!(
        got,
        [
            "{1bf9d319,NULL,c279a21b}",
            r#"(207cfa8b,/bs3ngdxnrteyfvzn/hgetw557xbczlr7y/5g3hxhcdraah2sff.png,12,"{a,""b c""}")"#,
            r#"{"bio": "Nisl lectus.", "contacts": [{"email": "2rjpbzc55fhewtqf@pjeurez3.de"}]}"#,
        ]
    );
}

#[test]
fn outputs_depend_on_the_key_only_through_the_nested_transforms() {
    let other = SecretKey::new(b"another key".to_vec()).unwrap();
    let a = t("array", "element = \"hash\"", None);
    let b = build_key("array", "element = \"hash\"", None, &other).unwrap();
    assert_eq!(run(&a, "{x}"), run(&a, "{x}"));
    assert_ne!(run(&a, "{x}"), run(&b, "{x}"));
    // A nested transform that needs the key says so.
    let params: Params = toml::from_str("element = \"hash\"").unwrap();
    let e = build(&Spec { name: "array", params: &params, column_type: None, key: None, types: &Types }).unwrap_err();
    assert!(e.contains("SCRUB_SECRET"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Property tests.

fn element() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        1 => Just(None),
        1 => prop::sample::select(vec!["", "NULL", "null", "Null", " ", "{}", "\"", "\\", ",", "a b"]).prop_map(|s| Some(s.to_string())),
        6 => "[a-z0-9 ,{}\"\\\\\t\n\u{b}éü€😀()]{0,8}".prop_map(Some),
    ]
}

fn json_strategy() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        "[a-c\"\\\\\n\u{1}é😀 ]{0,6}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 40, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec(("[a-c]{1,2}", inner), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<serde_json::Map<_, _>>())),
        ]
    })
}

const JSON_RULES: &str = r#"paths = { "$.a" = "delete", "$.b[*]" = { transform = "hash", length = 4 }, "$.c" = "lorem", "$.*.a" = "int", "$[0]" = "delete", "$[1].b" = "null", "$.b[1]" = "keep" }"#;

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arrays_keep_their_shape(rows in prop::collection::vec(prop::collection::vec(element(), 0..6), 1..4)) {
        let arr = t("array", "element = { transform = \"hash\", length = 5 }", Some("text[]"));
        let same = t("array", "element = { transform = \"regex_replace\", pattern = \"^\\\\b$\" }", None);
        // One dimension per row, and the rows as a 2-D array when they have equal lengths.
        let mut inputs: Vec<String> = rows.iter().map(|r| array_literal(r)).collect();
        if rows.iter().all(|r| r.len() == rows[0].len() && !r.is_empty()) {
            inputs.push(format!("[0:{}][1:{}]={{{}}}", rows.len() - 1, rows[0].len(), inputs.join(",")));
        }
        for input in &inputs {
            let out = run(&arr, input);
            prop_assert_eq!(&out, &run(&arr, input), "deterministic");
            prop_assert_eq!(run(&same, input), input.clone(), "requoting reproduces array_out");
            let (a, b) = (parse_array(input, ','), parse_array(&out, ','));
            fn shape(i: &Item) -> String {
                match i {
                    Item::Null => "n".into(),
                    Item::Value(_) => "v".into(),
                    Item::Array(v) => format!("[{}]", v.iter().map(shape).collect::<String>()),
                }
            }
            prop_assert_eq!(shape(&a), shape(&b));
        }
    }

    #[test]
    fn composites_keep_their_field_count(fields in prop::collection::vec(element(), 4)) {
        let quoted: Vec<String> = fields
            .iter()
            .map(|f| match f {
                None => String::new(),
                Some(s) if s.is_empty() || s.chars().any(|c| "(),\"\\ \t\n\r\u{b}\u{c}".contains(c)) => {
                    format!("\"{}\"", s.replace('"', "\"\"").replace('\\', "\\\\"))
                }
                Some(s) => s.clone(),
            })
            .collect();
        let input = format!("({})", quoted.join(","));
        let c = t("composite", "fields.bucket = \"lorem\"\nfields.size = { transform = \"constant\", value = 'a \"(,)\" b' }", Some("public.s3obj"));
        let out = run(&c, &input);
        prop_assert_eq!(&out, &run(&c, &input));
        let mut count = 0;
        let mut kept = Vec::new();
        prop_assert_eq!(super::composite::walk(out.as_bytes(), &mut |f, i| {
            count += 1;
            if i % 2 == 1 { kept.push(f.raw.to_vec()); }
        }), Some(4));
        // Untouched fields byte for byte; NULL fields stay NULL.
        prop_assert_eq!(kept, vec![quoted[1].as_bytes().to_vec(), quoted[3].as_bytes().to_vec()]);
        prop_assert_eq!(out.starts_with("(,"), fields[0].is_none());
    }

    #[test]
    fn json_outputs_parse(v in json_strategy(), pretty in any::<bool>()) {
        let text = if pretty { serde_json::to_string_pretty(&v).unwrap() } else { serde_json::to_string(&v).unwrap() };
        let j = t("json", JSON_RULES, Some("jsonb"));
        let out = run(&j, &text);
        prop_assert_eq!(&out, &run(&j, &text));
        let parsed = serde_json::from_str::<serde_json::Value>(&out);
        prop_assert!(parsed.is_ok(), "{} -> {}", text, out);
        // Paths that match nothing copy the document exactly.
        let none = t("json", r#"paths = { "$.zzz" = "delete", "$[9].zzz" = "email" }"#, None);
        prop_assert_eq!(run(&none, &text), text);
    }

    #[test]
    fn any_bytes_are_handled(v in prop::collection::vec(prop_oneof![
        4 => prop::sample::select(b"{}[]\",:\\ ()NUL0123456789-.eEtrufalsn".to_vec()),
        1 => any::<u8>(),
    ], 0..48)) {
        let arr = t("array", "element = \"email\"", Some("text[]"));
        let comp = t("composite", AVATAR, Some("public.s3obj"));
        let json = t("json", JSON_RULES, None);
        for tr in [&arr, &comp, &json] {
            prop_assert_eq!(apply(tr, &v), apply(tr, &v));
        }
        let out = apply(&json, &v);
        if std::str::from_utf8(&v).is_ok() {
            prop_assert!(serde_json::from_slice::<serde::de::IgnoredAny>(&out).is_ok(), "{:?}", String::from_utf8_lossy(&out));
        }
        // Whatever came out is JSON to the scanner too: a no-op rule copies it.
        let none = t("json", r#"paths = { "$.zzz" = "delete" }"#, None);
        prop_assert_eq!(apply(&none, &out), out);
        // Array output is an array; composite output has the type's four fields.
        let arr_out = apply(&arr, &v);
        let same = t("array", "element = { transform = \"regex_replace\", pattern = \"^\\\\b$\" }", None);
        prop_assert_eq!(apply(&same, &arr_out), arr_out.clone());
        prop_assert!(arr_out.first().is_some_and(|&b| b == b'{' || b == b'['), "{:?}", arr_out);
        prop_assert_eq!(super::composite::walk(&apply(&comp, &v), &mut |_, _| {}), Some(4));
    }
}

// ---------------------------------------------------------------------------------------------
// Round trip through PostgreSQL.

/// Runs a psql script against `PGHOST:PGPORT` (default `127.0.0.1:5432`, user `PGUSER`, default
/// `postgres`). `None` (after saying why) when no server answers; a failure when `CI` is set.
fn psql(script: &str) -> Option<String> {
    let env = |name: &str, default: &str| std::env::var(name).ok().filter(|v| !v.is_empty()).unwrap_or(default.into());
    let (host, port, user) = (env("PGHOST", "127.0.0.1"), env("PGPORT", "5432"), env("PGUSER", "postgres"));
    let run = |script: &str| -> Result<String, String> {
        let mut child = Command::new("psql")
            .args([
                "-X",
                "-A",
                "-t",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                &host,
                "-p",
                &port,
                "-U",
                &user,
                "-d",
                "postgres",
            ])
            .env("PGCONNECT_TIMEOUT", "5")
            .env("PGCLIENTENCODING", "UTF8")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run psql: {e}"))?;
        child.stdin.take().expect("piped").write_all(script.as_bytes()).map_err(|e| e.to_string())?;
        let out = child.wait_with_output().map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    match run("select 'ready';") {
        Ok(s) if s.trim() == "ready" => {}
        other => {
            let why = format!(
                "no PostgreSQL server at {host}:{port} (user {user}): {}",
                other.err().unwrap_or_default().trim()
            );
            assert!(std::env::var_os("CI").is_none(), "{why} (CI is set, so this is a failure, not a skip)");
            eprintln!("skipped: {why}");
            return None;
        }
    }
    Some(run(script).unwrap_or_else(|e| panic!("psql failed: {e}\n{script}")))
}

/// A TOML basic string.
fn toml_string(v: &str) -> String {
    let mut s = String::from("\"");
    for c in v.chars() {
        match c {
            '"' | '\\' => {
                s.push('\\');
                s.push(c);
            }
            c if c.is_control() => s.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

fn dollar(v: &str) -> String {
    assert!(!v.contains("$q$"));
    format!("$q${v}$q$")
}

#[test]
fn outputs_load_into_postgresql() {
    // Values that make quoting interesting, as transform results.
    let mut tricky: Vec<String> = [
        "a b",
        "he said \"hi\"\\ ,",
        "NULL",
        "",
        "{x,y}",
        "(1,2)",
        "tab\there",
        "line\nbreak",
        "é €",
        "a;b",
        "v\u{b}t",
    ]
    .map(String::from)
    .into();
    // And a few generated ones over the characters that matter to the three syntaxes.
    let alphabet: Vec<char> = "ab ,;{}()[]\"\\\t\nNUL:é".chars().collect();
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    for _ in 0..12 {
        let len = (seed % 9) as usize;
        tricky.push(
            (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    alphabet[(seed % alphabet.len() as u64) as usize]
                })
                .collect(),
        );
    }
    let mut cases: Vec<(String, String)> = Vec::new(); // (cast type, value)
    let mut json_cases: Vec<String> = Vec::new();
    let arrays = [r#"{"a b","c\"d",NULL,"NULL","","e\\f","null","{x}","x,y"}"#, "[0:1][1:2]={{a,b},{NULL,d}}", "{}"];
    for v in &tricky {
        let rule = format!("{{ transform = \"constant\", value = {} }}", toml_string(v));
        let arr = t("array", &format!("element = {rule}"), Some("text[]"));
        for a in arrays {
            cases.push(("text[]".into(), run(&arr, a)));
        }
        let comp = t(
            "composite",
            &format!("fields.bucket = {rule}\nfields.tags = {{ transform = \"array\", element = {rule} }}"),
            Some("public.s3obj"),
        );
        for c in
            [r#"("my bucket",/home/alice/cat.png,12,"{a,""b c""}")"#, "(,\"\",,)", r#"("he said ""hi""\\ ,",/x,1,{})"#]
        {
            cases.push(("pg_temp.s3obj".into(), run(&comp, c)));
        }
        let arr_comp = t(
            "array",
            &format!("element = {{ transform = \"composite\", fields.file_path = {rule} }}"),
            Some("public.s3obj[]"),
        );
        cases.push(("pg_temp.s3obj[]".into(), run(&arr_comp, r#"{"(b1,/x/y.png,10,)","(\"b 2\",,20,\"{a,b}\")"}"#)));
        let json = t(
            "json",
            &format!(
                "paths = {{ '$.q' = {rule}, '$.age' = {rule}, '$.ssn' = \"delete\", '$.tags[0]' = \"delete\", '$.contacts[*]' = {rule} }}"
            ),
            Some("jsonb"),
        );
        json_cases.push(run(&json, PROFILE_DOC));
    }
    let boxes =
        t("array", "element = { transform = \"regex_replace\", pattern = \"2\", replacement = \"3\" }", Some("box[]"));
    cases.push(("box[]".into(), run(&boxes, "{(1,1),(0,0);(2,2),(1,1)}")));
    let mut script =
        String::from("create type pg_temp.s3obj as (bucket text, file_path text, size bigint, tags text[]);\n");
    for (i, (ty, v)) in cases.iter().enumerate() {
        // The cast must succeed and print back exactly the same text.
        script.push_str(&format!("select {i}, ({}::{ty})::text = {};\n", dollar(v), dollar(v)));
    }
    for (i, v) in json_cases.iter().enumerate() {
        script.push_str(&format!("select {}, ({}::jsonb)::text = {};\n", cases.len() + i, dollar(v), dollar(v)));
    }
    let Some(out) = psql(&script) else { return };
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), cases.len() + json_cases.len(), "{out}");
    for line in lines {
        let (i, same) = line.split_once('|').unwrap();
        let i: usize = i.parse().unwrap();
        let v = if i < cases.len() { &cases[i].1 } else { &json_cases[i - cases.len()] };
        assert_eq!(same, "t", "PostgreSQL prints {v:?} differently");
    }
}

// ---------------------------------------------------------------------------------------------
// README rows.

#[test]
#[ignore = "prints the README rows: cargo test --lib transform::structured -- --ignored --nocapture"]
fn readme_rows() {
    let key = SecretKey::new(b"change-me".to_vec()).unwrap();
    type Row = (&'static str, &'static str, Option<&'static str>, &'static str, &'static str, &'static str);
    let rows: &[Row] = &[
        (
            "array",
            "element = \"email\"",
            Some("text[]"),
            "`element` (a rule: a name or a table, as for a column; built for the element type)",
            "the same array: dimensions, nesting and NULL elements kept, each other element rewritten and quoted as PostgreSQL does; not an array → `{}`",
            r#"{alice@example.com,NULL,"bob@example.org"}"#,
        ),
        (
            "composite",
            "fields.file_path = \"path\"\nfields.bucket = { transform = \"hash\", length = 8 }",
            Some("public.s3obj"),
            "`fields.<name>` (a rule per field; the fields come from the dump's `CREATE TYPE`, unknown names are an error)",
            "the same record: named fields rewritten (NULL stays NULL), the others byte for byte; not a record of the type → all fields NULL",
            r#"("my bucket",/home/alice/cat.png,12,"{a,b}")"#,
        ),
        (
            "json",
            r#"paths = { "$.bio" = "lorem", "$.ssn" = "delete", "$.contacts[*].email" = "email" }"#,
            Some("jsonb"),
            "`paths` (path → rule, `\"keep\"` or `\"delete\"`; paths: `$`, `.key`, `[\"key\"]`, `[0]`, `[*]`, `.*`; the most specific path wins, containers pass their rule to everything inside)",
            "the same document byte for byte except the matched nodes: strings rewritten as strings, numbers and booleans kept as such when the result still is one, deleted members removed with their comma; not JSON → `null`",
            r#"{"bio": "I love PgDay!", "ssn": "123-45-6789", "contacts": [{"email": "a@b.de"}]}"#,
        ),
    ];
    for (name, params, column_type, param_doc, output_doc, input) in rows {
        let tr = build_key(name, params, *column_type, &key).unwrap();
        let out = String::from_utf8(apply(&tr, input.as_bytes())).unwrap();
        let uniqueness = match tr.uniqueness() {
            Uniqueness::Preserves => "preserves",
            Uniqueness::MayBreak => "may break",
            Uniqueness::Breaks => "breaks",
        };
        let rule = format!("`{{ transform = \"{name}\", {} }}`", params.replace('\n', ", "));
        println!("| `{name}` | {param_doc} | {output_doc} | {uniqueness} | {rule}: `{input}` → `{out}` |");
    }
}
