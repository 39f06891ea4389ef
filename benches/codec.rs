//! Micro-benchmarks of scrub's hot paths: the COPY codec, each transform, and the whole plain
//! pipeline over an in-memory dump.
//!
//! ```text
//! cargo bench --bench codec                 # everything, a few minutes
//! cargo bench --bench codec -- transform/   # one group
//! ```
//!
//! The input is synthetic but shaped like the tables of `bench/gen.sh`: people rows (names,
//! emails, phones, addresses; few escapes) and note rows (long multi-line text, many escapes).
//! Everything is deterministic (a fixed-seed xorshift), so runs are comparable.

use std::hint::black_box;
use std::io::Write;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use scrub::copy::row::RowScanner;
use scrub::copy::{decode_field, encode_field, split_row};
use scrub::pipeline::{Context, Options, prescan_plain, run_plain};
use scrub::progress::Progress;
use scrub::rules::RuleSet;
use scrub::rules::schema::Schema;
use scrub::transform::{Ctx, NoTypes, Params, SecretKey, Spec, Transform};

/// Deterministic pseudo-random numbers (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const FIRST: &[&str] =
    &["Anna", "Ben", "Chloé", "David", "Elif", "Jürgen", "María", "Noah", "Søren", "Zoë", "Wei", "Olga"];
const LAST: &[&str] =
    &["Müller", "Schmidt", "Smith", "García", "Rossi", "Dubois", "Nowak", "O'Brien", "Öztürk", "Tanaka"];
const DOMAINS: &[&str] =
    &["gmail.com", "web.de", "gmx.net", "outlook.com", "yahoo.co.uk", "example.org", "corp-example.io"];
const CITIES: &[&str] = &["Berlin", "München", "Paris", "London", "New York", "Madrid", "Kraków", "Tōkyō", "São Paulo"];
const STREETS: &[&str] = &["Main Street", "Lindenallee", "Rue de la Paix", "Gran Vía", "Schillerstraße", "Oak Lane"];
const SENTENCE: &str =
    "They said the parcel never arrived and asked for a replacement. Verified identity via date of birth.";

const PEOPLE_COLUMNS: &str =
    "id, first_name, last_name, email, phone, street, city, postcode, birth_date, ssn, created_at, marketing_opt_in";
const NOTES_COLUMNS: &str = "id, person_id, author_email, created_at, body";

/// One `people` row in COPY text (no line ending): mostly plain ASCII/UTF-8, the odd NULL.
fn people_row(rng: &mut Rng, id: usize, out: &mut String) {
    let (first, last) = (rng.pick(FIRST), rng.pick(LAST));
    let email = format!("{}.{}{}@{}", first.to_lowercase(), last.to_lowercase(), rng.below(100), rng.pick(DOMAINS));
    let birth = if rng.below(20) == 0 {
        "\\N".to_string()
    } else {
        format!("19{:02}-{:02}-{:02}", 40 + rng.below(60), 1 + rng.below(12), 1 + rng.below(28))
    };
    out.push_str(&format!(
        "{id}\t{first}\t{last}\t{email}\t+49 {} {:07}\t{} {}\t{}\t{:05}\t{birth}\t{:03}-{:02}-{:04}\t2021-{:02}-{:02} {:02}:{:02}:{:02}+00\t{}",
        100 + rng.below(900),
        rng.below(10_000_000),
        1 + rng.below(250),
        rng.pick(STREETS),
        rng.pick(CITIES),
        rng.below(100_000),
        rng.below(1000),
        rng.below(100),
        rng.below(10_000),
        1 + rng.below(12),
        1 + rng.below(28),
        rng.below(24),
        rng.below(60),
        rng.below(60),
        if rng.below(3) == 0 { 't' } else { 'f' },
    ));
}

/// One `notes` row: a long free-text body with escaped newlines, tabs and backslashes.
fn notes_row(rng: &mut Rng, id: usize, out: &mut String) {
    out.push_str(&format!(
        "{id}\t{}\tsupport{}@corp-example.io\t2020-{:02}-{:02} 10:00:00+00\tCustomer called about order #{}.\\nPhone: +49 {} {}\\n",
        1 + rng.below(100_000),
        rng.below(40),
        1 + rng.below(12),
        1 + rng.below(28),
        rng.below(1_000_000),
        100 + rng.below(900),
        rng.below(10_000_000),
    ));
    for _ in 0..1 + rng.below(6) {
        out.push_str(SENTENCE);
        out.push_str("\\n");
    }
    if rng.below(5) == 0 {
        out.push_str(&format!("Attachment: C:\\\\Users\\\\agent\\\\ticket-{id}.pdf\\tsize={}\\n", rng.below(100_000)));
    }
    out.push_str("-- ");
    out.push_str(rng.pick(FIRST));
}

/// Rows of both tables, each without its line ending.
fn sample_rows(rng: &mut Rng, people: usize, notes: usize) -> (Vec<String>, Vec<String>) {
    let mut p = Vec::with_capacity(people);
    for id in 1..=people {
        let mut row = String::new();
        people_row(rng, id, &mut row);
        p.push(row);
    }
    let mut n = Vec::with_capacity(notes);
    for id in 1..=notes {
        let mut row = String::new();
        notes_row(rng, id, &mut row);
        n.push(row);
    }
    (p, n)
}

/// A pg_dump-like plain dump of about `target` bytes: two tables, one COPY block each, people
/// taking about three quarters of the bytes.
fn synthetic_dump(target: usize) -> Vec<u8> {
    let mut rng = Rng(0x5eed_0001);
    let mut s = String::with_capacity(target + 4096);
    s.push_str(
        "--\n-- PostgreSQL database dump\n--\n\nSET statement_timeout = 0;\nSET client_encoding = 'UTF8';\n\
         SET standard_conforming_strings = on;\nSELECT pg_catalog.set_config('search_path', '', false);\n\n",
    );
    s.push_str(
        "CREATE TABLE public.people (\n    id bigint NOT NULL,\n    first_name text NOT NULL,\n    last_name text NOT NULL,\n\
         \x20   email text NOT NULL,\n    phone text,\n    street text,\n    city text,\n    postcode text,\n    birth_date date,\n\
         \x20   ssn text,\n    created_at timestamp with time zone NOT NULL,\n    marketing_opt_in boolean NOT NULL\n);\n\n",
    );
    s.push_str(
        "CREATE TABLE public.notes (\n    id bigint NOT NULL,\n    person_id bigint NOT NULL,\n    author_email text,\n\
         \x20   created_at timestamp with time zone NOT NULL,\n    body text NOT NULL\n);\n\n",
    );
    s.push_str(&format!("COPY public.people ({PEOPLE_COLUMNS}) FROM stdin;\n"));
    let mut id = 0;
    while s.len() < target * 3 / 4 {
        id += 1;
        people_row(&mut rng, id, &mut s);
        s.push('\n');
    }
    s.push_str("\\.\n\n\n");
    s.push_str(&format!("COPY public.notes ({NOTES_COLUMNS}) FROM stdin;\n"));
    id = 0;
    while s.len() < target {
        id += 1;
        notes_row(&mut rng, id, &mut s);
        s.push('\n');
    }
    s.push_str("\\.\n\n\nALTER TABLE ONLY public.people\n    ADD CONSTRAINT people_pkey PRIMARY KEY (id);\n\n");
    s.push_str("--\n-- PostgreSQL database dump complete\n--\n\n");
    s.into_bytes()
}

/// The rules of the pipeline benchmark: 6 of the 12 people columns, 1 of the 5 notes columns.
const PIPELINE_RULES: &str = r#"
[settings]
unlisted_columns = "keep"

[tables."public.people"]
columns.first_name = { transform = "hash", length = 10 }
columns.last_name = { transform = "hash", length = 12 }
columns.email = { transform = "email" }
columns.phone = { transform = "constant", value = "+00 000 0000000" }
columns.street = { transform = "hash", length = 20 }
columns.ssn = "null"

[tables."public.notes"]
columns.author_email = { transform = "email", keep_domain = true }
"#;

fn key() -> SecretKey {
    SecretKey::new(b"bench".to_vec()).expect("a valid key")
}

/// Builds one transform the way a rules file would (`params` is the TOML of its parameters).
fn transform(key: &SecretKey, name: &str, params: &str) -> Transform {
    let params: Params = toml::from_str(params).expect("valid TOML");
    scrub::transform::build(&Spec { name, params: &params, column_type: None, key: Some(key), types: &NoTypes })
        .expect("a valid transform")
        .expect("not keep")
}

fn total_len(rows: &[String]) -> u64 {
    rows.iter().map(|r| r.len() as u64).sum()
}

fn codec(c: &mut Criterion) {
    let mut rng = Rng(0x5eed_0002);
    let (people, notes) = sample_rows(&mut rng, 2000, 500);
    let mut g = c.benchmark_group("copy");
    g.measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));

    for (name, rows) in [("people", &people), ("notes", &notes)] {
        g.throughput(Throughput::Bytes(total_len(rows)));
        g.bench_function(BenchmarkId::new("split_row", name), |b| {
            let mut spans: Vec<Range<usize>> = Vec::new();
            b.iter(|| {
                let mut fields = 0;
                for row in rows {
                    split_row(black_box(row.as_bytes()), &mut spans).expect("a valid row");
                    fields += spans.len();
                }
                fields
            })
        });

        // A chunk of the same rows, split the way the worker does: row by row (the LF, then the
        // fields) and in one pass with the row scanner.
        let chunk: Vec<u8> = rows.iter().flat_map(|r| r.bytes().chain([b'\n'])).collect();
        g.bench_function(BenchmarkId::new("rows_then_fields", name), |b| {
            let mut spans: Vec<Range<usize>> = Vec::new();
            b.iter(|| {
                let (mut fields, mut pos) = (0, 0);
                while let Some(k) = memchr::memchr(b'\n', &chunk[pos..]) {
                    split_row(black_box(&chunk[pos..pos + k]), &mut spans).expect("a valid row");
                    fields += spans.len();
                    pos += k + 1;
                }
                fields
            })
        });
        g.bench_function(BenchmarkId::new("row_scanner", name), |b| {
            let mut spans: Vec<Range<usize>> = Vec::new();
            b.iter(|| {
                let mut scanner = RowScanner::new(black_box(&chunk));
                let (mut fields, mut pos) = (0, 0);
                while let Some((lf, _)) = scanner.next_row(pos, &mut spans) {
                    fields += spans.len();
                    pos = lf + 1;
                }
                fields
            })
        });

        // Every non-NULL field of the rows, raw (as in the dump) and decoded.
        let mut spans = Vec::new();
        let mut raw_fields: Vec<&[u8]> = Vec::new();
        for row in rows.iter() {
            split_row(row.as_bytes(), &mut spans).expect("a valid row");
            raw_fields.extend(spans.iter().map(|s| &row.as_bytes()[s.clone()]).filter(|f| *f != b"\\N"));
        }
        let decoded: Vec<Vec<u8>> = raw_fields
            .iter()
            .map(|f| {
                let mut out = Vec::new();
                decode_field(f, &mut out).expect("decodes");
                out
            })
            .collect();
        g.throughput(Throughput::Bytes(raw_fields.iter().map(|f| f.len() as u64).sum()));
        g.bench_function(BenchmarkId::new("decode_field", name), |b| {
            let mut out = Vec::with_capacity(64 * 1024);
            b.iter(|| {
                for f in &raw_fields {
                    out.clear();
                    decode_field(black_box(f), &mut out).expect("decodes");
                }
                out.len()
            })
        });
        g.throughput(Throughput::Bytes(decoded.iter().map(|f| f.len() as u64).sum()));
        g.bench_function(BenchmarkId::new("encode_field", name), |b| {
            let mut out = Vec::with_capacity(64 * 1024);
            b.iter(|| {
                for f in &decoded {
                    out.clear();
                    encode_field(black_box(f), &mut out);
                }
                out.len()
            })
        });
    }
    g.finish();
}

fn transforms(c: &mut Criterion) {
    let key = key();
    let mut rng = Rng(0x5eed_0003);
    let n = 4096;
    // Every value is distinct, so the figures are those of computing each result: the per-thread
    // digest cache (and the workers' column memo, not involved here) only make repeats cheaper.
    // Mail domains repeat, as they do in real data.
    let names: Vec<Vec<u8>> = (0..n).map(|i| format!("{}{i}", rng.pick(LAST)).into_bytes()).collect();
    let emails: Vec<Vec<u8>> = (0..n)
        .map(|i| format!("{}.{}{i}@{}", rng.pick(FIRST), rng.pick(LAST), rng.pick(DOMAINS)).to_lowercase().into_bytes())
        .collect();
    let ids: Vec<Vec<u8>> = (0..n).map(|_| format!("{:016x}{:016x}", rng.next(), rng.next()).into_bytes()).collect();
    // One column of plausible values per kind, all distinct where the kind allows.
    let column = |f: &mut dyn FnMut(usize, &mut Rng) -> String, rng: &mut Rng| -> Vec<Vec<u8>> {
        (0..n).map(|i| f(i, rng).into_bytes()).collect()
    };
    let full_names = column(&mut |i, r| format!("{} {}{i}", r.pick(FIRST), r.pick(LAST)), &mut rng);
    let phones = column(&mut |i, _| format!("+49 30 {:07}", i * 7919 % 10_000_000), &mut rng);
    let streets = column(&mut |i, r| format!("{} Straße {}", r.pick(LAST), i + 1), &mut rng);
    let cities = column(&mut |i, r| format!("{} {i}", r.pick(&["Berlin", "Lyon", "Porto", "Graz", "Gent"])), &mut rng);
    let postcodes = column(&mut |i, _| format!("{:05}", i * 37 % 100_000), &mut rng);
    let urls = column(&mut |i, r| format!("https://{}/users/{i}?tab=orders", r.pick(DOMAINS)), &mut rng);
    let ipv4 = column(&mut |i, _| format!("10.{}.{}.{}", i >> 16 & 255, i >> 8 & 255, i & 255), &mut rng);
    let ipv6 = column(&mut |i, _| format!("2001:db8::{:x}:{:x}", i >> 16, i & 0xffff), &mut rng);
    let macs =
        column(&mut |i, _| format!("08:00:2b:{:02x}:{:02x}:{:02x}", i >> 16 & 255, i >> 8 & 255, i & 255), &mut rng);
    let cards = column(&mut |i, _| format!("4111{:012}", i * 104_729), &mut rng);
    let ibans = column(&mut |i, _| format!("DE89{:018}", i as u64 * 7_777_777), &mut rng);
    let codes = column(&mut |i, _| format!("AB-{:04}-xz", i), &mut rng);
    let ints = column(&mut |i, _| (i * 7919 + 100_000).to_string(), &mut rng);
    let amounts = column(&mut |i, _| format!("{}.{:02}", i * 13 % 100_000, i % 100), &mut rng);
    let dates = column(
        &mut |i, _| format!("{:04}-{:02}-{:02} 12:34:56.789+01", 1900 + i % 120, i / 120 % 12 + 1, i / 1440 % 28 + 1),
        &mut rng,
    );
    let paths = column(&mut |i, r| format!("/home/{}/docs/report-{i}.pdf", r.pick(FIRST).to_lowercase()), &mut rng);
    let texts = column(
        &mut |i, r| format!("Call {} {} about order {i}; she prefers email.", r.pick(FIRST), r.pick(LAST)),
        &mut rng,
    );
    let arrays = column(&mut |i, r| format!("{{{}.{i}@{},NULL}}", r.pick(FIRST), r.pick(DOMAINS)), &mut rng);
    let jsons = column(
        &mut |i, r| {
            format!(
                r#"{{"bio": "I love PgDay {i}", "ssn": "123-45-{:04}", "contacts": [{{"email": "{}@{}"}}]}}"#,
                i % 10_000,
                r.pick(FIRST),
                r.pick(DOMAINS)
            )
        },
        &mut rng,
    );
    let cases: &[(&str, &str, &str, &[Vec<u8>])] = &[
        ("null", "null", "", &names),
        ("constant", "constant", "value = \"+00 000 0000000\"", &names),
        ("hash_16", "hash", "length = 16", &names),
        ("hash_64", "hash", "", &names),
        ("uuid", "uuid", "", &ids),
        ("uuid_v5", "uuid_v5", "namespace = \"url\"", &ids),
        ("email", "email", "", &emails),
        ("email_keep_domain", "email", "keep_domain = true", &emails),
        ("email_unique", "email", "unique = true", &emails),
        ("first_name", "first_name", "", &names),
        ("last_name", "last_name", "", &names),
        ("full_name", "full_name", "", &full_names),
        ("phone", "phone", "", &phones),
        ("address", "address", "", &streets),
        ("street", "street", "", &streets),
        ("city", "city", "", &cities),
        ("postcode", "postcode", "", &postcodes),
        ("country", "country", "", &cities),
        ("company", "company", "", &names),
        ("username", "username", "", &names),
        ("url", "url", "", &urls),
        ("ipv4", "ipv4", "", &ipv4),
        ("ipv6", "ipv6", "", &ipv6),
        ("mac", "mac", "", &macs),
        ("credit_card", "credit_card", "", &cards),
        ("iban", "iban", "", &ibans),
        ("pattern", "pattern", "", &codes),
        ("pattern_unique", "pattern", "unique = true", &codes),
        ("int", "int", "type = \"integer\"", &ints),
        ("mask", "mask", "keep_last = 4", &cards),
        ("regex_replace", "regex_replace", "pattern = \"[0-9]\"\nreplacement = \"#\"", &texts),
        ("lorem", "lorem", "", &texts),
        ("path", "path", "", &paths),
        ("noise", "noise", "relative = 0.1", &amounts),
        ("date_shift", "date_shift", "max_days = 90", &dates),
        ("date_truncate", "date_truncate", "to = \"month\"", &dates),
        ("array_email", "array", "element = \"email\"", &arrays),
        (
            "json_paths",
            "json",
            "paths = { \"$.bio\" = \"lorem\", \"$.ssn\" = \"delete\", \"$.contacts[*].email\" = \"email\" }",
            &jsons,
        ),
    ];
    let mut g = c.benchmark_group("transform");
    g.measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    g.throughput(Throughput::Elements(n as u64));
    for (label, name, params, values) in cases {
        let t = transform(&key, name, params);
        g.bench_function(*label, |b| {
            let mut out = Vec::with_capacity(256);
            let ctx = Ctx::default();
            b.iter(|| {
                for v in values.iter() {
                    out.clear();
                    black_box(t.apply(black_box(v), &ctx, &mut out));
                }
                out.len()
            })
        });
    }
    g.finish();
}

/// One plain run over `dump`, single pass (as for stdin: no prescan, empty schema).
fn run_once(
    dump: &[u8],
    rules: &RuleSet,
    key: &SecretKey,
    opts: &Options,
    out: impl Write + Send,
) -> scrub::Result<()> {
    let progress = Progress::hidden();
    let ctx = Context { rules, key: Some(key), opts, progress: &progress, manifest_header: None, selection: None };
    run_plain(dump, out, Schema::default(), &ctx).map(|_| ())
}

fn pipeline(c: &mut Criterion) {
    let dump = synthetic_dump(20 << 20);
    let key = key();
    let noop = RuleSet::keep_everything();
    let rules = RuleSet::parse(PIPELINE_RULES, Path::new("bench.toml"), Some(&key)).expect("valid rules");
    // The dump is well-formed and the rules match it: check once, outside the measurement.
    run_once(&dump, &rules, &key, &Options::default(), std::io::sink()).expect("the synthetic dump passes");
    let mut g = c.benchmark_group("pipeline");
    g.sample_size(10).measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_secs(1));
    g.throughput(Throughput::Bytes(dump.len() as u64));
    for (label, set) in [("noop", &noop), ("rules", &rules)] {
        for jobs in [1, 2] {
            let opts = Options { jobs, ..Options::default() };
            g.bench_function(BenchmarkId::new(label, format!("j{jobs}")), |b| {
                b.iter(|| {
                    let mut out = Counter(0);
                    run_once(black_box(&dump), set, &key, &opts, &mut out).expect("runs");
                    out.0
                })
            });
        }
    }
    // The schema pass the command line makes first when it reads a file with rules.
    g.bench_function("prescan", |b| {
        let opts = Options::default();
        b.iter(|| prescan_plain(black_box(&dump[..]), &opts).expect("scans"))
    });
    g.finish();
}

/// A writer that only counts, so the benchmark measures scrub and not a copy into memory.
struct Counter(usize);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

criterion_group!(benches, codec, transforms, pipeline);
criterion_main!(benches);
