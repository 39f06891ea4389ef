//! Scanning dumps: what is found, what is suggested, and whether the scaffold passes the same
//! checks as `scrub check` (TOML and CSV).

use std::path::Path;

use super::*;
use crate::rules::{DataAction, RuleSet};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)
}

fn key() -> SecretKey {
    SecretKey::new(b"test".to_vec()).unwrap()
}

/// Parses the TOML scaffold and checks it against the dump's schema as `scrub check` does.
fn assert_checks(report: &ScanReport, dump: &Path) -> RuleSet {
    let rules = RuleSet::parse(&report.rules_toml(), Path::new("scaffold.toml"), Some(&key())).unwrap();
    let schema = crate::inspect::visit_dump(Some(dump), &Options::default(), &mut crate::inspect::SchemaOnly).unwrap();
    let check = crate::check::check(&rules, &schema);
    assert!(check.ok(), "{}\n{}", check.table(), report.rules_toml());
    assert!(report.check_problems.is_empty(), "{:?}", report.check_problems);
    rules
}

fn rule<'a>(report: &'a ScanReport, table: &str, column: &str) -> &'a ColumnScan {
    report.column(table, column).unwrap_or_else(|| panic!("{table}.{column} is not in the report"))
}

#[test]
fn pii_fixture_scaffold() {
    let dump = fixture("pii.dump.sql");
    let report = scan(Some(&dump), &ScanOptions::default(), &Options::default()).unwrap();
    let expect = [
        ("public.customers", "first_name", Kind::PersonName, "pattern"),
        ("public.customers", "last_name", Kind::PersonName, "pattern"),
        ("public.customers", "email", Kind::Email, "email"),
        ("public.customers", "phone", Kind::Phone, "phone"),
        ("public.customers", "street_address", Kind::Address, "pattern"),
        ("public.customers", "birth_date", Kind::BirthDate, "null"),
        ("public.customers", "notes", Kind::FreeText, "lorem"),
        ("public.customers", "profile", Kind::Json, "json"),
        ("public.api_credentials", "api_token", Kind::Secret, "hash"),
        ("public.api_credentials", "password_hash", Kind::Secret, "hash"),
        ("public.audit_log", "ip_address", Kind::Ip, "ipv4"),
        ("public.orders", "shipping_address", Kind::Address, "pattern"),
        ("public.orders", "gift_message", Kind::FreeText, "lorem"),
        ("public.devices", "device_name", Kind::FreeText, "lorem"),
        ("public.devices", "push_token", Kind::Secret, "uuid"),
        ("\"Billing\".\"Invoice Lines\"", "Customer Email", Kind::Email, "email"),
        ("\"Billing\".\"Invoice Lines\"", "Free Text Memo", Kind::FreeText, "lorem"),
    ];
    for (table, column, kind, transform) in expect {
        let c = rule(&report, table, column);
        assert_eq!((c.kind, c.suggestion.transform.as_str()), (Some(kind), transform), "{table}.{column}: {c:?}");
    }
    // Value evidence, not just names.
    assert_eq!(
        (rule(&report, "public.customers", "email").hits, rule(&report, "public.customers", "email").of),
        (200, 200)
    );
    assert!(rule(&report, "public.customers", "notes").evidence.iter().any(|e| e.starts_with("phone number inside")));
    // Keys, references and reference data stay.
    for (table, column) in [
        ("public.customers", "id"),
        ("public.orders", "customer_id"),
        ("public.countries", "code"),
        ("public.countries", "name"),
        ("public.orders", "status"),
        ("public.orders", "ordered_at"),
    ] {
        assert!(rule(&report, table, column).suggestion.is_keep(), "{table}.{column}");
    }
    assert!(rule(&report, "public.orders", "customer_id").note.contains("foreign key orders_customer_id_fkey"));
    // The JSON rule rewrites everything but keeps booleans, with a transform per found path.
    let profile = &rule(&report, "public.customers", "profile").suggestion.params["paths"];
    assert_eq!(profile.get("$").and_then(|v| v.as_str()), Some("lorem"));
    assert_eq!(profile.get("$.emergency_contact.phone").and_then(|v| v.as_str()), Some("phone"));
    assert_eq!(profile.get("$.newsletter").and_then(|v| v.as_str()), Some("keep"));
    // Every column of every table, unlisted columns an error, and `scrub check` is happy.
    let rules = assert_checks(&report, &dump);
    assert_eq!(rules.unlisted, crate::rules::Unlisted::Error);
    assert_eq!(rules.tables.len(), 7);
    let text = report.text();
    assert!(text.contains("likely sensitive: 18 column(s)"), "{text}");
    // No value of the dump is written into the scaffold or the report.
    for value in ["example-corp.de", "Müller", "+49 ", "sk_live_", "argon2id", "10.1."] {
        assert!(!report.rules_toml().contains(value) && !text.contains(value), "{value}");
    }
}

#[test]
fn csv_scaffold_loads_as_the_same_rules() {
    let dump = fixture("pii.dump.sql");
    let report = scan(Some(&dump), &ScanOptions::default(), &Options::default()).unwrap();
    let toml_rules = assert_checks(&report, &dump);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.csv");
    let csv = report.rules_csv();
    assert!(csv.starts_with("schema,table,column,action,params,evidence\n"));
    assert!(csv.contains("\nBilling,Invoice Lines,Customer Email,email,,"), "{csv}");
    std::fs::write(&path, &csv).unwrap();
    let csv_rules = RuleSet::load(&path, Some(&key())).unwrap();
    assert_eq!(csv_rules.unlisted, toml_rules.unlisted);
    assert_eq!(csv_rules.tables.keys().collect::<Vec<_>>(), toml_rules.tables.keys().collect::<Vec<_>>());
    for (name, t) in &toml_rules.tables {
        let c = &csv_rules.tables[name];
        assert_eq!((c.data, c.keep_all), (t.data, t.keep_all));
        assert_eq!(c.columns.keys().collect::<Vec<_>>(), t.columns.keys().collect::<Vec<_>>(), "{name}");
        for (col, r) in &t.columns {
            assert!(c.columns[col].same_transform(r), "{name}.{col}: {:?} vs {:?}", c.columns[col], r);
        }
    }
    let schema = crate::inspect::visit_dump(Some(&dump), &Options::default(), &mut crate::inspect::SchemaOnly).unwrap();
    assert!(crate::check::check(&csv_rules, &schema).ok());
    // A table-wide drop written by hand.
    let dropped = format!("{csv}public,audit_log,*,drop,,\n");
    std::fs::write(&path, dropped).unwrap();
    let rules = RuleSet::load(&path, Some(&key())).unwrap();
    assert_eq!(rules.tables[&QualifiedName::new("public", "audit_log")].data, DataAction::Drop);
}

/// A database whose column names say nothing: every finding comes from the values.
const ANONYMOUS: &str = "\
CREATE TABLE public.t1 (
    id integer NOT NULL,
    c1 character varying(40) NOT NULL,
    c2 text,
    c3 text,
    c4 text,
    c5 date,
    c6 date NOT NULL,
    c7 jsonb,
    c8 text,
    c9 text,
    c10 bigint,
    c11 text NOT NULL,
    c12 text,
    c13 text,
    c14 text,
    c15 text
);

COPY public.t1 (id, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15) FROM stdin;
1\tanna.mueller@example.org\tDE89 3704 0044 0532 0130 00\t+49 30 1234567\t123-45-6789\t1961-03-04\t2024-01-01\t{\"contact\": {\"mail\": \"anna@example.org\"}, \"vip\": true}\tAnna Müller\tRückruf erbeten: +49 170 1234567, danke!\t111222333\t4111 1111 1111 1111\teyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c\t10.0.0.1\tAB123456C\tshipped
2\tjan.devries@example.nl\tNL91 ABNA 0417 1643 00\t+31 20 7654321\t234-56-7890\t1975-12-24\t2024-01-02\t{\"contact\": {\"mail\": \"jan@example.nl\"}, \"vip\": false}\tJan de Vries\tMr Smith wants an invoice\t123456782\t5500 0000 0000 0004\tsk_live_4eC39HqLyjWDarjtT1zdp7dc9f2e1a3b\t192.168.1.20\tJG103759A\tnew
3\tsophie.martin@example.fr\tFR14 2004 1010 0505 0001 3M02 606\t+33 1 23456789\t345-67-8901\t1988-07-14\t2024-01-03\t{\"contact\": {\"mail\": \"sophie@example.fr\"}, \"vip\": false}\tSophie Martin\tno comment\t111222333\t3782 822463 10005\tghp_16C7e42F292c6912E7710c838347Ae178B4a\t2001:db8::1\tAB 12 34 56 C\tshipped
4\tluca.rossi@example.it\tGB82 WEST 1234 5698 7654 32\t+39 06 12345678\t456-78-9012\t1993-01-30\t2024-01-04\t{\"contact\": {\"mail\": \"luca@example.it\"}, \"vip\": true}\tLuca Rossi\tcall back\t123456782\t4111 1111 1111 1111\tAKIAIOSFODNN7EXAMPLE\t172.16.0.5\tJG103759A\tnew
\\.

ALTER TABLE ONLY public.t1
    ADD CONSTRAINT t1_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.t1
    ADD CONSTRAINT t1_c1_key UNIQUE (c1);
";

#[test]
fn finds_columns_whose_names_say_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("anon.sql");
    std::fs::write(&dump, ANONYMOUS).unwrap();
    let report = scan(Some(&dump), &ScanOptions::default(), &Options::default()).unwrap();
    let t = "public.t1";
    let expect = [
        // varchar(40), unique: an e-mail short enough for the column.
        ("c1", Kind::Email, "email"),
        ("c2", Kind::Iban, "iban"),
        ("c3", Kind::Phone, "phone"),
        ("c4", Kind::NationalId, "pattern"),
        ("c5", Kind::BirthDate, "null"),
        ("c7", Kind::Json, "json"),
        ("c8", Kind::PersonName, "pattern"),
        ("c9", Kind::FreeText, "lorem"),
        ("c10", Kind::NationalId, "int"),
        ("c11", Kind::Card, "credit_card"),
        ("c12", Kind::Secret, "hash"),
        ("c13", Kind::Ip, "ipv4"),
        ("c14", Kind::NationalId, "pattern"),
    ];
    for (column, kind, transform) in expect {
        let c = rule(&report, t, column);
        assert_eq!(
            (c.kind, c.suggestion.transform.as_str()),
            (Some(kind), transform),
            "{column}: {c:?}\n{}",
            report.text()
        );
        assert!(!c.evidence.iter().any(|e| e.starts_with("name says")), "{column}: {:?}", c.evidence);
    }
    assert_eq!(rule(&report, t, "c1").suggestion.params.get("domain").and_then(|v| v.as_str()), Some("example.com"));
    for column in ["id", "c6", "c15"] {
        assert_eq!(rule(&report, t, column).kind, None, "{column}");
        assert!(rule(&report, t, column).suggestion.is_keep());
    }
    let json = &rule(&report, t, "c7").suggestion.params["paths"];
    assert_eq!(json.get("$.contact.mail").and_then(|v| v.as_str()), Some("email"));
    assert_eq!(json.get("$.vip").and_then(|v| v.as_str()), Some("keep"));
    assert_checks(&report, &dump);
}

const CLINIC: &str = "\
CREATE TABLE public.visits (
    id integer NOT NULL,
    room text,
    info text,
    code text
);

COPY public.visits (id, room, info, code) FROM stdin;
1\tA1\tpatient Xaver Quibbleworth arrived late\tk1
2\tA2\tall fine\tk2
3\tB1\tnothing to add\tk3
4\tB2\tasked for QUIBBLEWORTH, XAVER's file\tk4
5\tB3\tzoë ñandú-pérez called\tk5
\\.
";

#[test]
fn listed_names_are_found_in_free_text() {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("clinic.sql");
    std::fs::write(&dump, CLINIC).unwrap();
    let names = dir.path().join("names.txt");
    std::fs::write(&names, "Xaver Quibbleworth\nQuibbleworth, Xaver\nZoe Nandu-Perez\n").unwrap();
    // Without the list these names are unknown: nothing points at the column.
    let plain = scan(Some(&dump), &ScanOptions::default(), &Options::default()).unwrap();
    assert_eq!(rule(&plain, "public.visits", "info").kind, None, "{}", plain.text());
    let opts = ScanOptions { names: Some(names), ..ScanOptions::default() };
    let report = scan(Some(&dump), &opts, &Options::default()).unwrap();
    assert_eq!(report.names_listed, 3);
    let remark = rule(&report, "public.visits", "info");
    assert_eq!(remark.kind, Some(Kind::FreeText), "{}", report.text());
    assert_eq!(remark.suggestion.transform, "lorem");
    assert!(remark.evidence.iter().any(|e| e.starts_with("listed name (--names) inside 3/5")), "{:?}", remark.evidence);
    for column in ["room", "code"] {
        assert_eq!(rule(&report, "public.visits", column).kind, None);
    }
    assert!(report.text().contains("searched for 3 listed name(s)"));
    assert_checks(&report, &dump);
}

#[test]
fn sample_limits_rows_and_parses() {
    assert_eq!(Sample::parse("all"), Ok(Sample::All));
    assert_eq!(Sample::parse("25"), Ok(Sample::First(25)));
    assert!(Sample::parse("0").is_err() && Sample::parse("x").is_err());
    let dump = fixture("pii.dump.sql");
    let opts = ScanOptions { sample: Sample::First(7), names: None };
    let report = scan(Some(&dump), &opts, &Options::default()).unwrap();
    assert!(report.tables.iter().all(|t| t.rows_sampled <= 7));
    assert_eq!(rule(&report, "public.customers", "email").of, 7);
    let all = scan(Some(&dump), &ScanOptions { sample: Sample::All, names: None }, &Options::default()).unwrap();
    assert_eq!(all.tables.iter().map(|t| t.rows_sampled).sum::<u64>(), 1130);
}

#[test]
fn archives_are_scanned_like_plain_dumps() {
    let archive = fixture("archives/pg17.custom.zstd.dump");
    let report = scan(Some(&archive), &ScanOptions::default(), &Options::default()).unwrap();
    assert!(!report.sensitive().is_empty(), "{}", report.text());
    assert_checks(&report, &archive);
}
