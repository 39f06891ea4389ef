#!/usr/bin/env bash
# Subsetting benchmark: a dump of at least 10 million rows, cut to a 10% sample.
#
#   bench/subset.sh OUTDIR [SCALE]
#
# Creates (or reuses) the database scrub_subset_bench with customers (SCALE × 1M
# rows), products (10 000), orders (SCALE × 4M, → customers) and order_items
# (SCALE × 6M, → orders and products): 11M rows at SCALE=1. Writes its plain dump
# OUTDIR/subset_bench.sql (reused if present), then runs scrub with
# bench/subset.toml (customers: percent = 10; orders and order_items follow by
# their foreign keys; products: referenced_only) under /usr/bin/time -v, from the
# file and from stdin, and prints wall time and peak RSS. Restores the output into
# scrub_subset_out with ON_ERROR_STOP to show every foreign key is created.
#
# SCRUB=path picks the binary (default: target/release/scrub, built if absent).
# Connection: PGHOST, PGPORT, PGUSER (defaults 127.0.0.1, 5432, postgres).
set -euo pipefail

out="${1:?usage: $0 OUTDIR [SCALE]}"
scale="${2:-1}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
here="$(cd "$(dirname "$0")" && pwd)"
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}" PSQLRC=/dev/null
export SCRUB_SECRET="${SCRUB_SECRET:-bench-secret}"
db=scrub_subset_bench
dump="$out/subset_bench.sql"
scrub="${SCRUB:-$here/../target/release/scrub}"
if [[ ! -x "$scrub" ]]; then
    (cd "$here/.." && cargo build --release)
fi
psql_db() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -d "$1" "${@:2}"; }

if [[ ! -s "$dump" ]]; then
    psql_db postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
    psql_db "$db" <<SQL
CREATE UNLOGGED TABLE customers (id integer PRIMARY KEY, country text NOT NULL, created_at date NOT NULL);
CREATE UNLOGGED TABLE products (id integer PRIMARY KEY, name text NOT NULL);
CREATE UNLOGGED TABLE orders (id bigint PRIMARY KEY, customer_id integer NOT NULL REFERENCES customers(id), created_at timestamp NOT NULL);
CREATE UNLOGGED TABLE order_items (order_id bigint NOT NULL REFERENCES orders(id), line integer NOT NULL, product_id integer NOT NULL REFERENCES products(id), qty integer NOT NULL, PRIMARY KEY (order_id, line));
INSERT INTO customers SELECT i, (ARRAY['FR','DE','US','ES'])[1 + i % 4], date '2015-01-01' + i % 3000 FROM generate_series(1, $scale * 1000000) i;
INSERT INTO products SELECT i, 'product ' || i FROM generate_series(1, 10000) i;
INSERT INTO orders SELECT i, (1 + (i * 7919) % ($scale * 1000000))::integer, timestamp '2020-01-01' + i * interval '7 seconds' FROM generate_series(1::bigint, $scale * 4000000) i;
INSERT INTO order_items SELECT 1 + (i - 1) / 3 * 2, (1 + (i - 1) % 3)::integer, (1 + (i * 104729) % 10000)::integer, (1 + i % 5)::integer FROM generate_series(1::bigint, $scale * 6000000) i;
SQL
    pg_dump -d "$db" -f "$dump"
fi
rows=$(grep -c -v -e '^--' "$dump" || true)
echo "dump: $dump ($(wc -c <"$dump") bytes, about $rows lines)"

measure() {
    local what="$1"; shift
    /usr/bin/time -v -o "$out/time.txt" "$@"
    local wall rss
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$out/time.txt")
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$out/time.txt")
    printf '%-28s wall %s  peak RSS %s MiB\n' "$what" "$wall" "$((rss / 1024))"
}
measure "file -> file" "$scrub" -q --rules "$here/subset.toml" -o "$out/subset_out.sql" "$dump"
measure "stdin -> file (spooled)" sh -c "\"$scrub\" -q --rules \"$here/subset.toml\" -o \"$out/subset_out2.sql\" < \"$dump\""
cmp "$out/subset_out.sql" "$out/subset_out2.sql"
measure "file, --memory-limit 8M" "$scrub" -q --memory-limit 8M --rules "$here/subset.toml" -o "$out/subset_out3.sql" "$dump"
cmp "$out/subset_out.sql" "$out/subset_out3.sql"
"$scrub" --rules "$here/subset.toml" -o /dev/null "$dump" 2>&1 | tail -6
psql_db postgres -c "DROP DATABASE IF EXISTS scrub_subset_out" -c "CREATE DATABASE scrub_subset_out"
psql_db scrub_subset_out -f "$out/subset_out.sql" >/dev/null
psql_db scrub_subset_out -At -c "SELECT count(*) || ' foreign keys created' FROM pg_constraint WHERE contype = 'f'"
