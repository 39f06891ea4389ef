//! Round trips through a real PostgreSQL server: restore the original dump
//! into one scratch database and the scrubbed dump into another (both with
//! `psql -v ON_ERROR_STOP=1`), then compare them with SQL.
//!
//! These tests skip (or fail under `CI`) when no server is reachable; see
//! `pg`.

use std::collections::BTreeSet;

use crate::compare::{assert_same_schema, assert_same_table_data, check_rules_applied, fingerprint};
use crate::pg::ScratchDb;
use crate::support::{OTHER_SECRET, SECRET, Scrub, assert_same_bytes, fixture, rules, tempdir};

#[test]
fn pii_round_trip_restores_and_applies_every_rule() {
    let pg = require_pg!();
    let original = pg.scratch("pii_orig");
    original.load_file(&fixture("pii.dump.sql"));

    let scrubbed = Scrub::new()
        .secret(SECRET)
        .rules(&rules("pii.toml"))
        .arg(fixture("pii.dump.sql"))
        .args(["-j", "2"])
        .run()
        .success();
    let restored = pg.scratch("pii_scrub");
    // ON_ERROR_STOP: a rewritten value that breaks a UNIQUE, PK, FK, CHECK or
    // NOT NULL constraint, or a type, fails the restore here.
    restored.load_bytes(&scrubbed);

    let checked = check_rules_applied(&original, &restored, &rules("pii.toml"));
    assert!(checked >= 40, "only {checked} column rules were checked");
    assert_same_schema(&original, &restored);

    // The same facts once more in plain SQL, as a reader of this test would
    // check them by hand.
    let q = |sql: &str| restored.query(sql);
    assert_eq!(q("SELECT count(*) FROM public.customers"), "200");
    assert_eq!(q("SELECT count(*) FROM public.orders"), "300");
    assert_eq!(q("SELECT count(*) FROM public.audit_log"), "0");
    assert_eq!(
        q(r"SELECT count(*) FROM public.customers WHERE email !~ '^[^@\s]+@[^@\s]+\.[^@\s]+$'"),
        "0",
        "scrubbed e-mail addresses that do not look like e-mail addresses"
    );
    assert_eq!(q("SELECT count(DISTINCT email) FROM public.customers"), "200");
    assert_eq!(q("SELECT count(*) FROM public.customers WHERE notes IS NOT NULL"), "0");
    for (child, column) in [
        ("public.orders", "customer_id"),
        ("public.api_credentials", "customer_id"),
        ("public.devices", "customer_id"),
        (r#""Billing"."Invoice Lines""#, "customer_id"),
    ] {
        let orphans = q(&format!(
            "SELECT count(*) FROM {child} AS c
             WHERE NOT EXISTS (SELECT 1 FROM public.customers AS p WHERE p.id = c.{column})"
        ));
        assert_eq!(orphans, "0", "{child} rows without a customer");
    }
    assert_eq!(
        q("SELECT count(*) FROM pg_constraint WHERE contype = 'f'"),
        original.query("SELECT count(*) FROM pg_constraint WHERE contype = 'f'"),
        "foreign keys missing after restore"
    );

    // No original e-mail address or API token may survive anywhere in the
    // scrubbed dump.
    let secrets = original.rows(
        r#"SELECT email AS s FROM public.customers
           UNION ALL SELECT api_token FROM public.api_credentials
           UNION ALL SELECT "Customer Email" FROM "Billing"."Invoice Lines""#,
    );
    assert!(secrets.len() >= 600);
    for row in secrets {
        let secret = row["s"].as_str().expect("text");
        assert!(!contains(&scrubbed, secret.as_bytes()), "{secret:?} survives in the scrubbed dump");
    }
}

/// The same with the dump converted to CRLF line endings: rewritten rows must
/// keep the block's CRLF, or psql stops with "literal carriage return found".
#[test]
fn pii_crlf_round_trip_restores_and_applies_every_rule() {
    let pg = require_pg!();
    let crlf = crate::support::to_crlf(&crate::support::read(&fixture("pii.dump.sql")));
    let original = pg.scratch("pii_crlf_orig");
    original.load_bytes(&crlf);
    let scrubbed = Scrub::new()
        .secret(SECRET)
        .rules(&rules("pii.toml"))
        .args(["-j", "2", "--chunk-size", "64"])
        .stdin(crlf)
        .run()
        .success();
    let restored = pg.scratch("pii_crlf_scrub");
    restored.load_bytes(&scrubbed);
    check_rules_applied(&original, &restored, &rules("pii.toml"));
    assert_same_schema(&original, &restored);
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The awkward cases pg_dump produced really are in the restored database (so
/// the fixture is what the tests believe it is).
fn assert_awkward_shape(db: &ScratchDb, with_wide_row: bool) {
    let q = |sql: &str| db.query(sql);
    assert_eq!(q("SELECT count(*) FROM public.t_nocols"), "2");
    assert_eq!(q("SELECT count(*) FROM public.t_empty"), "0");
    assert_eq!(q("SELECT count(*) FROM public.t_part"), "10");
    assert_eq!(q("SELECT count(*) FROM public.t_parent"), "2");
    assert_eq!(q("SELECT count(*) FROM public.t_text WHERE s IS NULL"), "1");
    assert_eq!(q("SELECT count(*) FROM public.t_text WHERE s = ''"), "1");
    assert_eq!(q(r"SELECT count(*) FROM public.t_text WHERE s = '\N'"), "1");
    assert_eq!(q(r"SELECT count(*) FROM public.t_text WHERE s = '\.'"), "1");
    assert_eq!(q("SELECT count(*) FROM public.\"weird\nname\" WHERE \"col\nx\" = E'one\\ntwo'"), "1");
    assert_eq!(q("SELECT sum(g) FROM public.t_gen"), "42");
    let comment = q("SELECT obj_description('public.t_text'::regclass, 'pg_class')");
    assert!(comment.contains("\nCOPY public.decoy (a) FROM stdin;\n1\tsecret\n\\.\n"), "{comment:?}");
    if with_wide_row {
        let len = q("SELECT length(payload) FROM public.t_wide WHERE id = 2");
        assert!(len.parse::<usize>().expect("length") > 2_500_000, "wide row is only {len} chars");
    }
}

/// Restores `name` and its noop-scrubbed version and compares everything.
fn assert_noop_round_trip(name: &str, with_wide_row: bool) {
    let pg = require_pg!();
    let original = pg.scratch("awk_orig");
    original.load_file(&fixture(name));
    assert_awkward_shape(&original, with_wide_row);

    let scrubbed = Scrub::new()
        .rules(&rules("noop.toml"))
        .arg(fixture(name))
        .args(["-j", "2", "--chunk-size", "64"])
        .run()
        .success();
    let restored = pg.scratch("awk_noop");
    restored.load_bytes(&scrubbed);

    assert_same_table_data(&original, &restored, &BTreeSet::new());
    assert_same_schema(&original, &restored);
    assert_same_bytes(&original.dump(&[]), &restored.dump(&[]), &format!("pg_dump after restoring {name}"));
}

#[test]
fn awkward_round_trip_with_noop_rules_matches_original() {
    assert_noop_round_trip("awkward.dump.sql", true);
}

#[test]
fn awkward_rootload_round_trip_with_noop_rules_matches_original() {
    assert_noop_round_trip("awkward.rootload.dump.sql", false);
}

/// The bytea_output = escape dump restores to the same bytes as the hex one.
#[test]
fn bytea_escape_round_trip_matches_hex_dump() {
    let pg = require_pg!();
    let hex = pg.scratch("bytea_hex");
    hex.load_file(&fixture("awkward.dump.sql"));
    let scrubbed = Scrub::new()
        .rules(&rules("noop.toml"))
        .arg(fixture("awkward.bytea-escape.dump.sql"))
        .args(["--chunk-size", "3"])
        .run()
        .success();
    let escape = pg.scratch("bytea_esc");
    escape.load_bytes(&scrubbed);
    assert_eq!(fingerprint(&hex, "public.t_bytea"), fingerprint(&escape, "public.t_bytea"));
    assert_eq!(escape.query("SELECT length(b) FROM public.t_bytea WHERE id = 6"), "256");
}

fn assert_rewrite_round_trip(name: &str) {
    let pg = require_pg!();
    let original = pg.scratch("awk_orig");
    original.load_file(&fixture(name));
    let scrubbed = Scrub::new()
        .secret(SECRET)
        .rules(&rules("awkward.toml"))
        .arg(fixture(name))
        .args(["-j", "2", "--chunk-size", "7"])
        .run()
        .success();
    let restored = pg.scratch("awk_rewrite");
    restored.load_bytes(&scrubbed);
    let checked = check_rules_applied(&original, &restored, &rules("awkward.toml"));
    assert!(checked >= 10, "only {checked} column rules were checked");
    // Comments and function bodies hold decoy COPY blocks: they must not have
    // been rewritten.
    assert_same_schema(&original, &restored);
}

#[test]
fn awkward_round_trip_with_rewritten_text_columns() {
    assert_rewrite_round_trip("awkward.dump.sql");
}

#[test]
fn awkward_rootload_round_trip_with_rewritten_text_columns() {
    assert_rewrite_round_trip("awkward.rootload.dump.sql");
}

/// One row of ~20 MB (more once escaped), far larger than any chunk: it must
/// stream through with a tiny chunk size and restore intact.
#[test]
fn big_row_round_trip_with_small_chunk_size() {
    let pg = require_pg!();
    let source = pg.scratch("big_src");
    source.exec(
        r"CREATE TABLE public.big (id integer PRIMARY KEY, payload text, note text);
          INSERT INTO public.big VALUES (1, 'before', 'first note');
          INSERT INTO public.big
          SELECT 2, string_agg(md5(v::text) || E'\t\\\n' || 'ü😀', '' ORDER BY v), 'second note'
          FROM generate_series(1, 500000) AS v;
          INSERT INTO public.big VALUES (3, 'after', E'\\.');",
    );
    let dir = tempdir();
    let dump_path = dir.path().join("big.dump.sql");
    let dump = source.dump(&[]);
    assert!(dump.len() > 20_000_000, "dump is only {} bytes", dump.len());
    std::fs::write(&dump_path, &dump).expect("write dump");
    drop(dump);
    let rules_path = dir.path().join("big.toml");
    std::fs::write(
        &rules_path,
        "[settings]\nunlisted_columns = \"error\"\n\n[tables.\"public.big\"]\n\
         columns.id = \"keep\"\ncolumns.payload = \"keep\"\n\
         columns.note = { transform = \"hash\", length = 16 }\n",
    )
    .expect("write rules");

    let run =
        |extra: &[&str]| Scrub::new().secret(SECRET).rules(&rules_path).arg(&dump_path).args(extra).run().success();
    let small = run(&["--chunk-size", "4096", "-j", "2"]);
    assert_same_bytes(&run(&[]), &small, "big row: default vs --chunk-size 4096");

    let restored = pg.scratch("big_dst");
    restored.load_bytes(&small);
    let sql = "SELECT id, length(payload) AS len, md5(payload) AS md5 FROM public.big ORDER BY id";
    assert_eq!(source.rows(sql), restored.rows(sql), "payloads differ after the round trip");
    assert_eq!(restored.query("SELECT string_agg(length(note)::text, ',' ORDER BY id) FROM public.big"), "16,16,16");
    check_rules_applied(&source, &restored, &rules_path);
}

/// `uuid_v5` is PostgreSQL's `uuid_generate_v5(namespace, value)` (RFC 4122
/// name-based, SHA-1), unkeyed: the key does not change it.
#[test]
fn uuid_v5_matches_postgresql() {
    const NS: &str = "6ba7b810-9dad-11d1-80b4-00c04fd430c8";
    let pg = require_pg!();
    let source = pg.scratch("v5_src");
    source.exec(
        r"CREATE TABLE public.names (id integer PRIMARY KEY, name text, name_v5 text, u uuid, u_v5 uuid);
          INSERT INTO public.names (id, name, u) VALUES
            (1, 'alice', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
            (2, '', '00000000-0000-0000-0000-000000000000'),
            (3, 'Grüße 😀', md5('3')::uuid),
            (4, E'tab\there\nnewline\rcr', md5('4')::uuid),
            (5, E'back\\slash \\N \\.', md5('5')::uuid),
            (6, NULL, NULL),
            (7, repeat('long value ', 1000), md5('7')::uuid);
          UPDATE public.names SET name_v5 = name, u_v5 = u;",
    );
    let dir = tempdir();
    let dump_path = dir.path().join("names.dump.sql");
    std::fs::write(&dump_path, source.dump(&[])).expect("write dump");
    let rules_path = dir.path().join("v5.toml");
    std::fs::write(
        &rules_path,
        format!(
            "[settings]\nunlisted_columns = \"error\"\n\n[tables.\"public.names\"]\n\
             columns.id = \"keep\"\ncolumns.name = \"keep\"\ncolumns.u = \"keep\"\n\
             columns.name_v5 = {{ transform = \"uuid_v5\", namespace = \"{NS}\" }}\n\
             columns.u_v5 = {{ transform = \"uuid_v5\", namespace = \"{NS}\" }}\n"
        ),
    )
    .expect("write rules");

    let scrub = |secret: Option<&str>| {
        let mut s = Scrub::new().rules(&rules_path).arg(&dump_path);
        if let Some(key) = secret {
            s = s.secret(key);
        }
        s.run().success()
    };
    let unkeyed = scrub(None);
    assert_same_bytes(&unkeyed, &scrub(Some(SECRET)), "uuid_v5 with and without a key");
    assert_same_bytes(&unkeyed, &scrub(Some(OTHER_SECRET)), "uuid_v5 with two different keys");

    let restored = pg.scratch("v5_dst");
    restored.load_bytes(&unkeyed);
    // Checks every value against the uuid crate's v5.
    check_rules_applied(&source, &restored, &rules_path);

    // And against PostgreSQL itself.
    let reference = if restored.try_query("CREATE EXTENSION IF NOT EXISTS \"uuid-ossp\"").is_ok() {
        |col: &str| format!("uuid_generate_v5('{NS}'::uuid, n.{col}::text)::text")
    } else if restored.try_query("CREATE EXTENSION IF NOT EXISTS pgcrypto").is_ok() {
        |col: &str| {
            format!(
                "(SELECT encode(set_byte(set_byte(h, 6, (get_byte(h, 6) & 15) | 80), 8, (get_byte(h, 8) & 63) | 128), 'hex')::uuid::text
                  FROM (SELECT substring(digest(uuid_send('{NS}'::uuid) || convert_to(n.{col}::text, 'UTF8'), 'sha1') FROM 1 FOR 16)) AS d(h))"
            )
        }
    } else {
        eprintln!("note: neither uuid-ossp nor pgcrypto is available; uuid_v5 checked against the uuid crate only");
        return;
    };
    for (input, output) in [("name", "name_v5"), ("u", "u_v5")] {
        let mismatches = restored.query(&format!(
            "SELECT count(*) FROM public.names AS n
             WHERE n.{input} IS NOT NULL AND n.{output}::text IS DISTINCT FROM {}",
            reference(input)
        ));
        assert_eq!(mismatches, "0", "{output} differs from PostgreSQL's uuid v5 of {input}");
    }
    assert_eq!(restored.query("SELECT count(name_v5) FROM public.names"), "6");
}
