//! `scrub scan`: the scaffold it writes for `fixtures/pii.dump.sql`, used as is, passes `scrub
//! check`, produces a dump that `scrub verify` finds clean (also for the customer names given
//! with `--names`), and restores with `psql -v ON_ERROR_STOP=1`; the CSV form does the same.

use std::path::Path;

use crate::support::{SECRET, Scrub, fixture, tempdir};

/// `scrub scan DUMP -o OUT [args]`: returns the report (stdout).
fn scan(dump: &Path, out: &Path, args: &[&str]) -> String {
    let stdout = Scrub::new().arg("scan").arg(dump).arg("-o").arg(out).args(args).run().success();
    String::from_utf8(stdout).expect("the report is UTF-8")
}

/// Sanitizes `dump` with `rules` into `out`, then runs `scrub verify` (with `names`, if given)
/// and asserts that it finds nothing.
fn scrub_and_verify(dump: &Path, rules: &Path, out: &Path, names: Option<&Path>) {
    Scrub::new().secret(SECRET).rules(rules).arg(dump).arg("-o").arg(out).arg("-q").run().success();
    let mut verify = Scrub::new().arg("verify").arg(dump).arg(out).rules(rules);
    if let Some(names) = names {
        verify = verify.arg("--names").arg(names);
    }
    let report = String::from_utf8(verify.run().success()).expect("UTF-8");
    assert!(report.contains("no leak found"), "{report}");
}

#[test]
fn scaffold_checks_and_verifies_clean() {
    let dir = tempdir();
    let dump = fixture("pii.dump.sql");
    let rules = dir.path().join("scaffold.toml");
    let report = scan(&dump, &rules, &[]);
    assert!(report.contains("likely sensitive: 18 column(s)"), "{report}");
    assert!(report.contains("the scaffold passes `scrub check` on this dump"), "{report}");
    for column in [
        "public.customers.email",
        "public.customers.notes",
        "public.customers.profile",
        "public.api_credentials.api_token",
        "public.api_credentials.password_hash",
        "public.audit_log.ip_address",
        "public.devices.device_name",
    ] {
        assert!(report.lines().any(|l| l.trim_start().starts_with(column)), "{column} not reported:\n{report}");
    }
    let scaffold = std::fs::read_to_string(&rules).expect("scaffold written");
    assert!(scaffold.contains("unlisted_columns = \"error\""));
    assert!(scaffold.contains("columns.email = \"email\"  # email: email in 200/200 values"), "{scaffold}");
    Scrub::new().arg("check").rules(&rules).arg(&dump).run().success();
    let out = dir.path().join("out.sql");
    scrub_and_verify(&dump, &rules, &out, None);
    let Some(pg) = crate::pg::server() else { return };
    let db = pg.scratch("scan");
    db.load_file(&out);
    assert_eq!(db.query("SELECT count(*) FROM public.customers WHERE email LIKE '%@example-corp.de'"), "0");
    assert_eq!(db.query("SELECT count(*) FROM public.customers WHERE birth_date IS NOT NULL"), "0");
    assert_eq!(db.query("SELECT count(*) FROM public.orders JOIN public.customers c ON c.id = customer_id"), "300");
}

#[test]
fn csv_scaffold_is_a_rules_file() {
    let dir = tempdir();
    let dump = fixture("pii.dump.sql");
    let rules = dir.path().join("decisions.csv");
    scan(&dump, &rules, &["--csv"]);
    let csv = std::fs::read_to_string(&rules).expect("csv written");
    assert!(csv.starts_with("schema,table,column,action,params,evidence\n"), "{csv}");
    assert!(csv.contains("\npublic,api_credentials,api_token,hash,,"), "{csv}");
    Scrub::new().arg("check").rules(&rules).arg(&dump).run().success();
    scrub_and_verify(&dump, &rules, &dir.path().join("out.sql"), None);
}

#[test]
fn listed_names_stay_out_of_the_sanitized_dump() {
    let dir = tempdir();
    let dump = fixture("pii.dump.sql");
    let names = dir.path().join("customers.txt");
    // Spelled without accents and in another case than in the dump.
    std::fs::write(&names, "BJORN OZTURK\njurgen yilmaz\nZoe Bianchi\nemilie fischer\n").expect("write names");
    let rules = dir.path().join("scaffold.toml");
    let report = scan(&dump, &rules, &["--names", names.to_str().expect("UTF-8 path"), "--sample", "all"]);
    assert!(report.contains("searched for 4 listed name(s)"), "{report}");
    assert!(report.contains("listed name (--names)"), "{report}");
    scrub_and_verify(&dump, &rules, &dir.path().join("out.sql"), None);
    // verify --names compares bytes: give it the names as the dump spells them.
    let spelled = dir.path().join("spelled.txt");
    std::fs::write(&spelled, "Björn Öztürk\nJürgen Yılmaz\nZoë Bianchi\nÉmilie Fischer\n").expect("write names");
    scrub_and_verify(&dump, &rules, &dir.path().join("out2.sql"), Some(&spelled));
}

#[test]
fn without_output_the_scaffold_goes_to_stdout() {
    let run = Scrub::new().arg("scan").arg(fixture("pii.dump.sql")).args(["--sample", "5"]).run();
    assert!(run.stderr.contains("sampled the first 5 rows of each table"), "{}", run.stderr);
    let stdout = String::from_utf8(run.success()).expect("UTF-8");
    assert!(stdout.starts_with("# Rules scaffold written by `scrub scan`"), "{stdout}");
    let bad = Scrub::new().arg("scan").arg(fixture("pii.dump.sql")).args(["--sample", "none"]).run();
    bad.failure().code(2);
}
