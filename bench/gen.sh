#!/usr/bin/env bash
# Generate a PII-heavy benchmark database and its plain pg_dump.
#
#   bench/gen.sh SCALE_MB OUTDIR
#
# Creates (or reuses) the database scrub_bench_<SCALE_MB> and writes
# OUTDIR/bench_<SCALE_MB>.sql with the real pg_dump (plain format). The dump is
# about SCALE_MB MiB (within a few percent); an existing dump is reused.
#
# The data is deterministic: every value is a function of the row number
# through hashint8extended() and md5(), so two runs with the same scale and
# server version give the same dump (the \restrict key is pinned too).
# Tables are filled as UNLOGGED with INSERT ... SELECT generate_series, two
# tables at a time (the machine this was written for has 2 cores), then
# switched to LOGGED so the dump says CREATE TABLE as a production dump would.
# Set BENCH_KEEP_UNLOGGED=1 to skip that step (faster, but the dump then
# contains CREATE UNLOGGED TABLE).
#
# The database is kept, because bench/run.sh also benchmarks
# `pg_dump | scrub | psql` from it. Drop it with
#   dropdb -h 127.0.0.1 -U postgres scrub_bench_<SCALE_MB>
#
# BENCH_DB names the database instead (the tests use a scratch database).
#
# Connection: PGHOST, PGPORT, PGUSER (defaults 127.0.0.1, 5432, postgres).
set -euo pipefail

if [[ $# -ne 2 || ! "$1" =~ ^[0-9]+$ || "$1" -lt 1 ]]; then
    echo "usage: $0 SCALE_MB OUTDIR" >&2
    exit 2
fi
scale="$1"
out="$2"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
db="${BENCH_DB:-scrub_bench_${scale}}"
dump_file="$out/bench_${scale}.sql"

export PGHOST="${PGHOST:-127.0.0.1}"
export PGPORT="${PGPORT:-5432}"
export PGUSER="${PGUSER:-postgres}"
export PGTZ=UTC
export PSQLRC=/dev/null
unset PGDATABASE PGOPTIONS

if [[ -s "$dump_file" ]]; then
    echo "reusing $dump_file ($(wc -c <"$dump_file") bytes)"
    exit 0
fi

restrict_opt=()
if pg_dump --help | grep -q -- '--restrict-key'; then
    restrict_opt=(--restrict-key=scrubBenchRestrictKey0123456789abcdefghijklmnopqrstuvwxyzABCDEFG)
fi

admin() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -d postgres "$@"; }
sql() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }

# Rows per MiB of dump, calibrated on PostgreSQL 15. The byte shares come out
# at roughly: order_lines 33%, events 22%, notes 12%, wide_profile 10%,
# orders 10%, people 8%, accounts 5%.
rows() { awk -v s="$scale" -v r="$1" 'BEGIN { n = int(s * r + 0.5); print (n < 10 ? 10 : n) }'; }
n_people=$(rows 595)
n_accounts=$(rows 334)
n_orders=$(rows 800)
n_lines=$(rows 770)
n_events=$(rows 885)
n_notes=$(rows 220)
n_wide=$(rows 290)

# The database is reused only if it was completed with the same row counts.
marker="scrub bench v1: $n_people $n_accounts $n_orders $n_lines $n_events $n_notes $n_wide"
ready=$(admin -Atc "SELECT 1 FROM pg_database d WHERE datname = '$db' AND shobj_description(d.oid, 'pg_database') = '$marker'")
if [[ "$ready" != 1 ]]; then
    start=$(date +%s)
    echo "creating database $db: people=$n_people accounts=$n_accounts orders=$n_orders order_lines=$n_lines events=$n_events notes=$n_notes wide_profile=$n_wide"
    admin -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)"
    admin -c "CREATE DATABASE \"$db\" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"

    sql <<'SQL'
CREATE UNLOGGED TABLE people (
    id bigint NOT NULL,
    first_name text NOT NULL,
    last_name text NOT NULL,
    email text NOT NULL,
    phone text,
    street text,
    city text,
    postcode text,
    country character(2),
    birth_date date,
    ssn text,
    created_at timestamp with time zone NOT NULL,
    marketing_opt_in boolean NOT NULL
);
CREATE UNLOGGED TABLE accounts (
    id bigint NOT NULL,
    person_id bigint NOT NULL,
    username text NOT NULL,
    password_hash text NOT NULL,
    iban text,
    balance numeric(14,2) NOT NULL,
    status text NOT NULL,
    opened_at timestamp with time zone NOT NULL,
    last_login_ip inet
);
CREATE UNLOGGED TABLE orders (
    id bigint NOT NULL,
    account_id bigint NOT NULL,
    ordered_at timestamp with time zone NOT NULL,
    status text NOT NULL,
    currency character(3) NOT NULL,
    total numeric(12,2) NOT NULL,
    shipping_name text,
    shipping_address text,
    billing_email text,
    tracking_code text
);
CREATE UNLOGGED TABLE order_lines (
    id bigint NOT NULL,
    order_id bigint NOT NULL,
    line_no integer NOT NULL,
    sku text NOT NULL,
    product_name text NOT NULL,
    description text,
    quantity integer NOT NULL,
    unit_price numeric(10,2) NOT NULL,
    discount numeric(5,2),
    gift_message text
);
CREATE UNLOGGED TABLE events (
    id bigint NOT NULL,
    person_id bigint,
    occurred_at timestamp with time zone NOT NULL,
    kind text NOT NULL,
    ip inet,
    user_agent text,
    session_id uuid,
    payload jsonb
);
CREATE UNLOGGED TABLE notes (
    id bigint NOT NULL,
    person_id bigint NOT NULL,
    author_email text,
    created_at timestamp with time zone NOT NULL,
    body text NOT NULL
);
CREATE UNLOGGED TABLE wide_profile (
    person_id bigint NOT NULL,
    nickname text,
    gender text,
    marital_status text,
    nationality character(2),
    preferred_language text,
    timezone text,
    tax_id text,
    passport_no text,
    drivers_license text,
    mobile text,
    work_phone text,
    employer text,
    job_title text,
    department text,
    salary numeric(10,2),
    emergency_contact_name text,
    emergency_contact_phone text,
    loyalty_tier text,
    loyalty_points integer,
    newsletter boolean,
    sms_opt_in boolean,
    signup_source text,
    referral_code text,
    external_ref text,
    avatar_url text,
    height_cm smallint,
    score double precision,
    tags text[],
    last_seen timestamp with time zone,
    updated_at timestamp with time zone
);
-- A deterministic number in [0, n) from (row, stream); hashint8extended is a
-- C function, cheap enough for tens of millions of calls.
CREATE FUNCTION r(i bigint, k bigint, n bigint) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (hashint8extended(i, k) & 2147483647) % n;
-- The same in [0, 1).
CREATE FUNCTION u(i bigint, k bigint) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (hashint8extended(i, k) & 1048575) / 1048576.0;
SQL

    # Each table is one INSERT ... SELECT; the SQL functions above are inlined.
    fill_people="
INSERT INTO people
SELECT i, fn, ln,
    lower(fn) || '.' || lower(ln) || r(i, 3, 100) || '@' ||
        (ARRAY['gmail.com','web.de','gmx.net','outlook.com','yahoo.co.uk','example.org','mail.ru','corp-example.io','uni-example.edu','t-online.de'])[1 + r(i, 4, 10)],
    '+' || (ARRAY['49','33','44','1','34','39','31','48','46','81'])[1 + r(i, 5, 10)] || ' ' || (100 + r(i, 6, 900)) || ' ' || lpad(r(i, 7, 10000000)::text, 7, '0'),
    (1 + r(i, 8, 250)) || ' ' || (ARRAY['Main','Church','Linden','Bahnhof','High','Park','Oak','Mill','Schiller','Rue de la Paix','Gran Vía','Station','Kirch','Garden'])[1 + r(i, 9, 14)] || ' ' || (ARRAY['Street','Road','Straße','Weg','Allee','Avenue','Lane'])[1 + r(i, 10, 7)],
    (ARRAY['Berlin','Hamburg','München','Köln','Paris','Lyon','London','Manchester','New York','Madrid','Barcelona','Roma','Amsterdam','Warszawa','Stockholm','Tōkyō','Zürich','Wien','Kraków','São Paulo'])[1 + r(i, 11, 20)],
    lpad(r(i, 12, 100000)::text, 5, '0'),
    (ARRAY['DE','FR','GB','US','ES','IT','NL','PL','SE','JP'])[1 + r(i, 5, 10)],
    CASE WHEN r(i, 13, 20) = 0 THEN NULL ELSE date '1940-01-01' + r(i, 14, 25000)::int END,
    lpad(r(i, 15, 1000)::text, 3, '0') || '-' || lpad(r(i, 16, 100)::text, 2, '0') || '-' || lpad(r(i, 17, 10000)::text, 4, '0'),
    timestamptz '2015-01-01 00:00:00+00' + r(i, 18, 300000000) * interval '1 second',
    r(i, 19, 3) = 0
FROM generate_series(1, $n_people) AS i,
LATERAL (SELECT
    (ARRAY['Anna','Ben','Chloé','David','Elif','Farid','Greta','Hiroshi','Inès','Jürgen','Kateryna','Liam','María','Noah','Olga','Pedro','Quentin','Rosa','Søren','Tomás','Ursula','Viktor','Wei','Xenia','Yusuf','Zoë','Mia','Luca','Emma','Oskar'])[1 + r(i, 1, 30)] AS fn,
    (ARRAY['Müller','Schmidt','Smith','Jones','García','Martínez','Rossi','Bianchi','Dubois','Lefèvre','Nowak','Kowalski','Andersson','Johansson','de Vries','Jansen','Tanaka','Suzuki','O''Brien','Nguyen','Kim','Öztürk','Papadopoulos','Ivanova','Silva','Fischer','Weber','Brown','Taylor','Wilson'])[1 + r(i, 2, 30)] AS ln
    OFFSET 0) AS x;"

    fill_accounts="
INSERT INTO accounts
SELECT i,
    1 + r(i, 1, $n_people),
    (ARRAY['anna','ben','chloe','dave','elif','farid','greta','hiro','ines','juergen','kat','liam'])[1 + r(i, 2, 12)] || '_' || substr(m, 1, 6),
    '\$2b\$12\$' || substr(m || md5(m), 1, 53),
    CASE WHEN r(i, 3, 10) = 0 THEN NULL ELSE (ARRAY['DE','FR','GB','NL','ES'])[1 + r(i, 4, 5)] || lpad(r(i, 5, 100)::text, 2, '0') || lpad(r(i, 6, 100000000)::text, 8, '0') || lpad(r(i, 7, 10000000000)::text, 10, '0') END,
    (r(i, 8, 100000000) - 20000000) / 100.0,
    (ARRAY['active','active','active','suspended','closed'])[1 + r(i, 9, 5)],
    timestamptz '2012-01-01 00:00:00+00' + r(i, 10, 400000000) * interval '1 second',
    CASE WHEN r(i, 11, 8) = 0 THEN NULL ELSE ((1 + r(i, 12, 223)) || '.' || r(i, 13, 256) || '.' || r(i, 14, 256) || '.' || (1 + r(i, 15, 254)))::inet END
FROM generate_series(1, $n_accounts) AS i,
LATERAL (SELECT md5('acct' || i) AS m OFFSET 0) AS x;"

    fill_orders="
INSERT INTO orders
SELECT i,
    1 + r(i, 1, $n_accounts),
    timestamptz '2018-01-01 00:00:00+00' + r(i, 2, 200000000) * interval '1 second',
    (ARRAY['new','paid','shipped','shipped','delivered','delivered','delivered','cancelled','refunded'])[1 + r(i, 3, 9)],
    (ARRAY['EUR','EUR','EUR','USD','GBP','PLN','SEK','JPY'])[1 + r(i, 4, 8)],
    r(i, 5, 5000000) / 100.0,
    (ARRAY['Anna','Ben','Chloé','David','Elif','Jürgen','María','Noah','Søren','Zoë'])[1 + r(i, 6, 10)] || ' ' || (ARRAY['Müller','Smith','García','Rossi','Dubois','Nowak','Tanaka','O''Brien','Öztürk','Silva'])[1 + r(i, 7, 10)],
    (1 + r(i, 8, 250)) || ' ' || (ARRAY['Main Street','Lindenallee','Rue de la Paix','Gran Vía','High Road','Schillerstraße','Oak Lane'])[1 + r(i, 9, 7)]
        || E'\n' || CASE WHEN r(i, 10, 4) = 0 THEN 'c/o ' || (ARRAY['ACME GmbH','Initech Ltd','Globex S.A.'])[1 + r(i, 11, 3)] || E'\n' ELSE '' END
        || lpad(r(i, 12, 100000)::text, 5, '0') || ' ' || (ARRAY['Berlin','Hamburg','Paris','London','Madrid','Roma','Wien','Kraków'])[1 + r(i, 13, 8)],
    CASE WHEN r(i, 14, 6) = 0 THEN NULL ELSE 'billing' || r(i, 15, 100000) || '@' || (ARRAY['gmail.com','web.de','example.org','corp-example.io'])[1 + r(i, 16, 4)] END,
    CASE WHEN r(i, 3, 9) IN (2, 3, 4, 5, 6) THEN upper(substr(md5('trk' || i), 1, 18)) END
FROM generate_series(1, $n_orders) AS i;"

    # Order lines: orders get a skewed number of lines (low order ids get many),
    # and descriptions have a long-tailed length (most short, a few ~2 KB).
    fill_lines="
INSERT INTO order_lines
SELECT i,
    1 + floor($n_orders * u(i, 1) ^ 2)::bigint,
    1 + r(i, 2, 12),
    'SKU-' || upper(substr(m, 1, 10)),
    (ARRAY['USB-C cable','Espresso machine','Running shoes','Desk lamp','Wireless mouse','Notebook A5','Coffee beans 1 kg','Yoga mat','Backpack 30 l','Mechanical keyboard','Kinderbuch „Der Mond“','Tea set'])[1 + r(i, 3, 12)]
        || ' ' || (ARRAY['S','M','L','XL','black','white','blue','red'])[1 + r(i, 4, 8)],
    CASE WHEN r(i, 5, 10) = 0 THEN NULL ELSE
        substr(m, 11, 8) || ' ' || substr('$(printf 'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. %.0s' {1..18})', 1 + r(i, 6, 200)::int, floor(2000 * u(i, 7) ^ 4)::int)
    END,
    1 + floor(9 * u(i, 8) ^ 3)::int,
    (99 + r(i, 9, 50000)) / 100.0,
    CASE WHEN r(i, 10, 5) = 0 THEN r(i, 11, 5000) / 100.0 END,
    CASE WHEN r(i, 12, 25) = 0 THEN
        (ARRAY['Happy birthday!', 'Alles Gute zum Geburtstag', 'Merry Christmas', 'Joyeux anniversaire'])[1 + r(i, 13, 4)]
        || E'\n' || (ARRAY['Love, ', 'Cheers,' || E'\t', 'Bisous, ', 'Liebe Grüße, '])[1 + r(i, 14, 4)]
        || (ARRAY['Anna','Ben','Oma','the team'])[1 + r(i, 15, 4)]
    END
FROM generate_series(1, $n_lines) AS i,
LATERAL (SELECT md5('line' || i) AS m OFFSET 0) AS x;"

    fill_events="
INSERT INTO events
SELECT i,
    CASE WHEN r(i, 1, 10) = 0 THEN NULL ELSE 1 + r(i, 2, $n_people) END,
    timestamptz '2023-01-01 00:00:00+00' + r(i, 3, 60000000) * interval '1 second' + r(i, 4, 1000000) * interval '1 microsecond',
    kind,
    CASE WHEN r(i, 5, 10) = 0 THEN ('2001:db8:' || to_hex(r(i, 6, 65536)::int) || '::' || to_hex(r(i, 7, 65536)::int))::inet
         ELSE ((1 + r(i, 8, 223)) || '.' || r(i, 9, 256) || '.' || r(i, 10, 256) || '.' || (1 + r(i, 11, 254)))::inet END,
    (ARRAY['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36',
           'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
           'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
           'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
           'okhttp/4.12.0', 'curl/8.5.0'])[1 + r(i, 12, 6)],
    md5('sess' || (i / 7))::uuid,
    CASE kind
        WHEN 'page_view' THEN jsonb_build_object('path', '/products/' || r(i, 13, 5000), 'referrer', (ARRAY['https://www.google.com/', 'https://duckduckgo.com/', NULL, 'https://news.example.com/a?b=c&d=e'])[1 + r(i, 14, 4)], 'ms', r(i, 15, 3000))
        WHEN 'search' THEN jsonb_build_object('q', (ARRAY['laufschuhe herren', 'espresso \"dual boiler\"', 'usb c kabel 2m', 'yoga mat', E'tab\there', 'C:\\\\Users\\\\anna\\\\cv.pdf'])[1 + r(i, 16, 6)], 'results', r(i, 17, 500), 'page', 1 + r(i, 18, 5))
        WHEN 'add_to_cart' THEN jsonb_build_object('sku', 'SKU-' || upper(substr(md5('line' || r(i, 19, 1000000)), 1, 10)), 'qty', 1 + r(i, 20, 3), 'price', (99 + r(i, 21, 50000)) / 100.0, 'cart', jsonb_build_array(r(i, 22, 1000), r(i, 23, 1000), r(i, 24, 1000)))
        WHEN 'login' THEN jsonb_build_object('email', 'user' || r(i, 25, 1000000) || '@example.org', 'mfa', r(i, 26, 2) = 0, 'device', jsonb_build_object('os', (ARRAY['Windows','macOS','Linux','iOS','Android'])[1 + r(i, 27, 5)], 'id', substr(md5('dev' || i), 1, 16)))
        ELSE jsonb_build_object('error', E'Traceback (most recent call last):\n  File \"app.py\", line ' || r(i, 28, 900) || E', in checkout\nValueError: card declined', 'order', r(i, 29, 1000000), 'customer_email', 'c' || r(i, 30, 100000) || '@example.com')
    END
FROM generate_series(1, $n_events) AS i,
LATERAL (SELECT (ARRAY['page_view','page_view','page_view','page_view','search','search','add_to_cart','login','checkout_failed'])[1 + r(i, 31, 9)] AS kind OFFSET 0) AS x;"

    # Free text: several paragraphs, newlines, the odd tab and backslash.
    fill_notes="
INSERT INTO notes
SELECT i,
    1 + r(i, 1, $n_people),
    (ARRAY['support','sales','billing','ops'])[1 + r(i, 2, 4)] || r(i, 3, 40) || '@corp-example.io',
    timestamptz '2019-01-01 00:00:00+00' + r(i, 4, 150000000) * interval '1 second',
    (ARRAY['Customer called about order #', 'Kunde hat wegen Bestellung angerufen #', 'Refund requested for order #', 'Address change for order #'])[1 + r(i, 5, 4)] || r(i, 6, 1000000) || E'.\n'
        || 'Phone: +49 ' || (100 + r(i, 7, 900)) || ' ' || r(i, 8, 10000000) || E'\n'
        || repeat(E'They said the parcel never arrived and asked for a replacement. Verified identity via date of birth and last four digits of the card.\n', 1 + floor(8 * u(i, 9) ^ 2)::int)
        || CASE WHEN r(i, 10, 5) = 0 THEN E'Attachment: C:\\\\Users\\\\agent\\\\Documents\\\\ticket-' || i || E'.pdf\tsize=' || r(i, 11, 100000) || E'\n' ELSE '' END
        || '-- ' || (ARRAY['Anna','Jürgen','María','Søren'])[1 + r(i, 12, 4)]
FROM generate_series(1, $n_notes) AS i;"

    fill_wide="
INSERT INTO wide_profile
SELECT i,
    substr(m, 1, 8),
    (ARRAY['female','male','diverse',NULL])[1 + r(i, 1, 4)],
    (ARRAY['single','married','divorced','widowed',NULL])[1 + r(i, 2, 5)],
    (ARRAY['DE','FR','GB','US','ES','IT','NL','PL','SE','JP'])[1 + r(i, 3, 10)],
    (ARRAY['de-DE','en-GB','en-US','fr-FR','es-ES','ja-JP'])[1 + r(i, 4, 6)],
    (ARRAY['Europe/Berlin','Europe/London','America/New_York','Europe/Paris','Asia/Tokyo'])[1 + r(i, 5, 5)],
    'DE' || lpad(r(i, 6, 1000000000)::text, 9, '0'),
    CASE WHEN r(i, 7, 3) = 0 THEN NULL ELSE upper(substr(m, 9, 9)) END,
    CASE WHEN r(i, 8, 2) = 0 THEN NULL ELSE 'B' || lpad(r(i, 9, 100000000)::text, 8, '0') || 'X' END,
    '+49 1' || (50 + r(i, 10, 30)) || ' ' || lpad(r(i, 11, 10000000)::text, 7, '0'),
    CASE WHEN r(i, 12, 2) = 0 THEN NULL ELSE '+49 30 ' || lpad(r(i, 13, 1000000)::text, 6, '0') END,
    (ARRAY['ACME GmbH','Initech Ltd','Globex S.A.','Umbrella Corp','Stark Industries','Wayne Enterprises',NULL])[1 + r(i, 14, 7)],
    (ARRAY['Engineer','Manager','Nurse','Teacher','Consultant','Student','Retired'])[1 + r(i, 15, 7)],
    (ARRAY['R&D','Sales','HR','Finance','Operations'])[1 + r(i, 16, 5)],
    (20000 + r(i, 17, 15000000) / 100.0),
    (ARRAY['Maria Müller','John Smith','Ana García','Paolo Rossi'])[1 + r(i, 18, 4)],
    '+44 7' || lpad(r(i, 19, 1000000000)::text, 9, '0'),
    (ARRAY['bronze','silver','gold','platinum'])[1 + floor(4 * u(i, 20) ^ 2)::int],
    r(i, 21, 100000)::int,
    r(i, 22, 2) = 0,
    r(i, 23, 4) = 0,
    (ARRAY['web','ios','android','partner','import'])[1 + r(i, 24, 5)],
    upper(substr(m, 18, 8)),
    'ext-' || substr(m, 1, 24),
    'https://cdn.example.com/avatars/' || substr(m, 5, 20) || '.jpg',
    (150 + r(i, 25, 50))::smallint,
    u(i, 26) * 100,
    ARRAY[(ARRAY['vip','newsletter','b2b','churn-risk','beta'])[1 + r(i, 27, 5)], (ARRAY['de','en','fr'])[1 + r(i, 28, 3)]],
    timestamptz '2024-01-01 00:00:00+00' + r(i, 29, 30000000) * interval '1 second',
    timestamptz '2024-01-01 00:00:00+00' + r(i, 30, 30000000) * interval '1 second'
FROM generate_series(1, $n_wide) AS i,
LATERAL (SELECT md5('wide' || i) AS m OFFSET 0) AS x;"

    # Two lanes (2 cores), balanced by size; each lane fills its tables in turn.
    ( sql -c "$fill_lines" && sql -c "$fill_notes" && sql -c "$fill_people" ) &
    lane_a=$!
    ( sql -c "$fill_events" && sql -c "$fill_wide" && sql -c "$fill_orders" && sql -c "$fill_accounts" ) &
    lane_b=$!
    wait "$lane_a"
    wait "$lane_b"
    sql -Atc "SELECT 'people', count(*) FROM people UNION ALL SELECT 'accounts', count(*) FROM accounts UNION ALL SELECT 'orders', count(*) FROM orders UNION ALL SELECT 'order_lines', count(*) FROM order_lines UNION ALL SELECT 'events', count(*) FROM events UNION ALL SELECT 'notes', count(*) FROM notes UNION ALL SELECT 'wide_profile', count(*) FROM wide_profile" \
        | awk -F'|' '{ print "  " $1 ": " $2 " rows"; if ($2 == 0) bad = 1 } END { exit bad }'
    echo "filled in $(( $(date +%s) - start ))s"

    # Keys, as a production schema has them; pg_dump writes them after the data.
    constraints=(
        "ALTER TABLE people ADD PRIMARY KEY (id)"
        "ALTER TABLE accounts ADD PRIMARY KEY (id)"
        "ALTER TABLE orders ADD PRIMARY KEY (id)"
        "ALTER TABLE order_lines ADD PRIMARY KEY (id)"
        "ALTER TABLE events ADD PRIMARY KEY (id)"
        "ALTER TABLE notes ADD PRIMARY KEY (id)"
        "ALTER TABLE wide_profile ADD PRIMARY KEY (person_id)"
    )
    if [[ "${BENCH_KEEP_UNLOGGED:-0}" != 1 ]]; then
        for t in people accounts orders order_lines events notes wide_profile; do
            constraints+=("ALTER TABLE $t SET LOGGED")
        done
    fi
    # Again in two lanes: even and odd entries.
    run_lane() {
        local k
        for ((k = $1; k < ${#constraints[@]}; k += 2)); do sql -c "${constraints[$k]}"; done
    }
    run_lane 0 &
    lane_a=$!
    run_lane 1 &
    lane_b=$!
    wait "$lane_a"
    wait "$lane_b"
    sql <<'SQL'
ALTER TABLE accounts ADD FOREIGN KEY (person_id) REFERENCES people (id);
ALTER TABLE orders ADD FOREIGN KEY (account_id) REFERENCES accounts (id);
ALTER TABLE order_lines ADD FOREIGN KEY (order_id) REFERENCES orders (id);
ALTER TABLE notes ADD FOREIGN KEY (person_id) REFERENCES people (id);
ALTER TABLE wide_profile ADD FOREIGN KEY (person_id) REFERENCES people (id);
CREATE INDEX ON events (person_id, occurred_at);
CREATE INDEX ON people (email);
DROP FUNCTION r(bigint, bigint, bigint);
DROP FUNCTION u(bigint, bigint);
VACUUM ANALYZE;
SQL
    admin -c "COMMENT ON DATABASE \"$db\" IS '$marker'"
    echo "database $db ready in $(( $(date +%s) - start ))s"
fi

pg_dump --format=plain "${restrict_opt[@]+"${restrict_opt[@]}"}" -f "$dump_file.tmp" "$db"
mv "$dump_file.tmp" "$dump_file"
bytes=$(wc -c <"$dump_file")
echo "wrote $dump_file ($bytes bytes, $(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }') MiB)"
