//! The README's transform table, with example outputs computed under the key `change-me`:
//! `cargo test --lib transform::examples -- --ignored --nocapture` prints the rows.

use super::{Ctx, NoTypes, Output, Params, SecretKey, Spec, Uniqueness, build};

/// (transform, rule parameters, column type, parameters column, output column, example input).
type Row = (&'static str, &'static str, Option<&'static str>, &'static str, &'static str, &'static str);

const ROWS: &[Row] = &[
    (
        "email",
        "unique = true\ndomain = \"example.com\"",
        None,
        "`keep_domain` (bool); `keep_domains` (list: these domains stay, others are rewritten); `domain` (every rewritten address gets it); `unique` (bool)",
        "a valid address; with `unique = true` the local part is a keyed permutation (Feistel) of the whole address in base32, about 1.6 characters per input byte",
        "ilovepgday@conf.de",
    ),
    (
        "first_name",
        "locale = \"de\"",
        None,
        "`locale` (`en`, `fr`, `de`; default `en`)",
        "a first name from an embedded list",
        "Alice",
    ),
    ("last_name", "locale = \"fr\"", None, "`locale`", "a last name from an embedded list", "Martin"),
    ("full_name", "", None, "`locale`", "`First Last`", "Alice Martin"),
    (
        "phone",
        "",
        None,
        "",
        "the same layout: `+`/`00` with the country code, a trunk `0`, separators, spaces, parentheses and the digit count stay; other digits keyed",
        "+49 (0)30 1234-5678",
    ),
    (
        "address",
        "",
        None,
        "`locale`",
        "a street address line (`742 Maple Avenue`, `Lindenstraße 12`, `12 rue des Lilas`)",
        "10 Downing Street",
    ),
    ("street", "locale = \"de\"", None, "`locale`", "a street name", "Unter den Linden"),
    ("city", "locale = \"fr\"", None, "`locale`", "a city", "Berlin"),
    (
        "postcode",
        "",
        None,
        "",
        "the same shape: digits stay digits, letters stay letters of the same case, the rest stays",
        "SW1A 1AA",
    ),
    ("country", "", None, "", "a country: an ISO alpha-2 or alpha-3 code when the input is one, else a name", "DE"),
    ("company", "", None, "", "a company name", "ACME Corp."),
    ("username", "", None, "", "a lower-case word and 2 to 4 digits", "alice.martin"),
    (
        "url",
        "",
        None,
        "`keep_host` (bool, default true)",
        "scheme, host and port stay (with `keep_host = false` the host becomes a token keeping its top-level domain); user info, every path segment, query values and the fragment become 16-character keyed tokens; query keys and file extensions stay",
        "https://conf.de/ilove/pgday.html?user=alice",
    ),
    (
        "ipv4",
        "keep_prefix = 16",
        None,
        "`keep_prefix` (leading bits kept, 0–32, default 0)",
        "a valid address of the same family; the netmask stays, and a zero host part stays zero (valid `cidr`)",
        "192.168.7.9",
    ),
    ("ipv6", "keep_prefix = 32", None, "`keep_prefix` (0–128)", "as `ipv4`", "2001:db8::1"),
    (
        "mac",
        "keep_oui = true",
        None,
        "`keep_oui` (bool: keep the first 3 bytes)",
        "the same layout and letter case, other hex digits keyed",
        "08:00:2b:01:02:03",
    ),
    (
        "credit_card",
        "",
        None,
        "`keep_prefix` (leading digits kept, default 1: the card network's digit; 6 keeps the issuer BIN)",
        "a Luhn-valid number of the same length, separators kept",
        "4111 1111 1111 1111",
    ),
    (
        "iban",
        "",
        None,
        "",
        "an IBAN with the same country code, length and layout, digits and letters of the BBAN keyed by class, valid mod-97 check digits",
        "DE89 3704 0044 0532 0130 00",
    ),
    (
        "pattern",
        "unique = true",
        None,
        "`unique` (bool)",
        "each `A-Z`, `a-z`, `0-9` becomes a keyed one of its class at the same position, the rest stays; `unique = true` makes it a format-preserving cipher",
        "AB-1234-cd",
    ),
    (
        "int",
        "",
        Some("integer"),
        "`type` (`smallint`, `integer`, `bigint`: overrides the column's type)",
        "an integer of the column's type with the same sign (`bigint` range when the type is unknown)",
        "42",
    ),
    (
        "mask",
        "keep_last = 4",
        None,
        "`keep_first`, `keep_last` (default 0), `char` (default `*`)",
        "every character but the kept ones replaced (a value no longer than the kept parts is masked whole)",
        "4111 1111 1111 1234",
    ),
    (
        "regex_replace",
        "pattern = '\\d'\nreplacement = '#'",
        None,
        "`pattern`, `replacement` (regex crate syntax, `$1` for groups)",
        "every match replaced",
        "Room 12, floor 3",
    ),
    (
        "lorem",
        "",
        None,
        "",
        "lorem-ipsum sentences of the value's length in characters (±10%)",
        "I love PgDay, the conference in Germany!",
    ),
    (
        "path",
        "",
        None,
        "",
        "every segment becomes a 16-character keyed token; separators (`/`, `\\`), a leading dot, a short extension, `.`, `..` and a drive letter stay",
        "/ilove/pgday/conf.de",
    ),
    (
        "noise",
        "relative = 0.1",
        Some("numeric(10,2)"),
        "`relative` (default 0.1 = ±10%) or `absolute`; `by` (a column: its value seeds the noise)",
        "the number plus keyed noise; integers stay integers in range, numerics keep their digits after the point",
        "1234.50",
    ),
    (
        "date_shift",
        "max_days = 90",
        None,
        "`max_days` or `interval` (`\"90 days\"`, `\"6 weeks\"`, `\"1 year\"`); `by` (a column: every row with the same value moves by the same offset)",
        "the date moved by a keyed, non-zero offset within ±max days; time of day, fractional digits, time zone notation and `infinity` stay",
        "2024-01-31 12:34:56.789+01",
    ),
    (
        "date_truncate",
        "to = \"month\"",
        None,
        "`to` (`day`, `month`, `year`)",
        "the first day of the month or year, at midnight; the time zone notation stays",
        "2024-05-17 12:34:56+02",
    ),
];

#[test]
#[ignore = "prints the README table: --ignored --nocapture"]
fn readme_rows() {
    let key = SecretKey::new(b"change-me".to_vec()).unwrap();
    for (name, params, column_type, param_doc, output_doc, input) in ROWS {
        let parsed: Params = toml::from_str(params).unwrap();
        let t = build(&Spec { name, params: &parsed, column_type: *column_type, key: Some(&key), types: &NoTypes })
            .unwrap()
            .unwrap();
        let mut out = Vec::new();
        assert_eq!(t.apply(input.as_bytes(), &Ctx::default(), &mut out), Output::Value);
        let uniqueness = match t.uniqueness() {
            Uniqueness::Preserves => "preserves",
            Uniqueness::MayBreak => "may break",
            Uniqueness::Breaks => "breaks",
        };
        let rule = if params.is_empty() {
            format!("`{name}`")
        } else {
            format!("`{{ transform = \"{name}\", {} }}`", params.replace('\n', ", "))
        };
        println!(
            "| `{name}` | {param_doc} | {output_doc} | {uniqueness} | {rule}: `{input}` → `{}` |",
            String::from_utf8_lossy(&out)
        );
    }
}

#[test]
#[ignore = "a timing loop: cargo test --release --lib transform::examples -- --ignored --nocapture"]
fn per_value_speed() {
    let key = SecretKey::new(b"change-me".to_vec()).unwrap();
    let mut out = Vec::new();
    for (name, params, column_type, _, _, input) in ROWS {
        let parsed: Params = toml::from_str(params).unwrap();
        let t = build(&Spec { name, params: &parsed, column_type: *column_type, key: Some(&key), types: &NoTypes })
            .unwrap()
            .unwrap();
        let n = 100_000u32;
        let start = std::time::Instant::now();
        for i in 0..n {
            // Distinct values of the example's shape: the last byte varies.
            let mut v = input.as_bytes().to_vec();
            if let Some(last) = v.last_mut() {
                *last = b'0' + (i % 10) as u8;
            }
            out.clear();
            t.apply(&v, &Ctx::default(), &mut out);
        }
        println!("{name:>14}: {:>6.2} µs per value", start.elapsed().as_secs_f64() * 1e6 / f64::from(n));
    }
}
