//! The benchmark kit under `bench/`: `bench/gen.sh` at its smallest scale builds its database and
//! plain dump, and `bench/rules.toml` (the rules every published figure in BENCHMARKS.md uses)
//! scrubs that dump into one that restores with `ON_ERROR_STOP=1`, keeps every row, foreign key
//! and index, and leaves no original e-mail address, name or phone number behind.
//!
//! Needs a server (skipped without one, failing under `CI`; see `pg`).

use std::collections::BTreeSet;
use std::process::Stdio;

use crate::support::{SECRET, Scrub, root, tempdir};

const TABLES: &[&str] = &["people", "accounts", "orders", "order_lines", "events", "notes", "wide_profile"];

#[test]
fn bench_rules_scrub_the_generated_dump_into_one_that_restores() {
    let pg = require_pg!();
    let source = pg.scratch("bench_src");
    let dir = tempdir();
    let generated = pg
        .command("bash")
        .arg(root().join("bench/gen.sh"))
        .arg("1")
        .arg(dir.path())
        .env("BENCH_DB", source.name())
        .stdout(Stdio::null())
        .output()
        .expect("run bench/gen.sh");
    assert!(generated.status.success(), "bench/gen.sh failed:\n{}", String::from_utf8_lossy(&generated.stderr));
    let dump = dir.path().join("bench_1.sql");

    let scrubbed = Scrub::new().rules(&root().join("bench/rules.toml")).secret(SECRET).arg(&dump).run().success();
    let target = pg.scratch("bench_dst");
    target.load_bytes(&scrubbed);

    for table in TABLES {
        let count = format!("SELECT count(*) FROM {table}");
        assert_eq!(target.query(&count), source.query(&count), "rows of {table}");
    }
    let constraints = "SELECT count(*) FROM pg_constraint WHERE contype IN ('p', 'f')";
    assert_eq!(target.query(constraints), source.query(constraints));
    let lines = |text: String| text.lines().map(str::to_owned).collect::<BTreeSet<_>>();
    for (table, column) in [("people", "email"), ("people", "last_name"), ("people", "phone"), ("accounts", "iban")] {
        let values = format!("SELECT {column} FROM {table} WHERE {column} IS NOT NULL");
        let before = lines(source.query(&values));
        let after = lines(target.query(&values));
        assert!(before.is_disjoint(&after), "an original {table}.{column} survived");
    }
    // The json paths rewrite the personal members and nothing else.
    let logins = "SELECT count(*) FROM events WHERE payload ? 'email'";
    assert_eq!(target.query(logins), source.query(logins));
    let emails = "SELECT payload->>'email' FROM events WHERE payload ? 'email'";
    assert!(lines(source.query(emails)).is_disjoint(&lines(target.query(emails))));
    let paths = "SELECT payload->>'path' FROM events WHERE payload ? 'path' ORDER BY id";
    assert_eq!(target.query(paths), source.query(paths));
}
