#!/usr/bin/env bash
# Whole-program benchmark of scrub on pg_dump archives.
#
#   bench/archive.sh DIR SCALE
#
# Uses the database scrub_bench_<SCALE> of bench/gen.sh and its archives in DIR, made with the
# real pg_dump if absent:
#   DIR/bench_<SCALE>.custom.gz.dump     pg_dump -Fc           (gzip, pg_dump's default)
#   DIR/bench_<SCALE>.custom.none.dump   pg_dump -Fc -Z0
#   DIR/bench_<SCALE>.dir.gz             pg_dump -Fd -j 2
# and times, each once with /usr/bin/time (wall, user, sys, peak RSS), writing to files in a
# temporary directory beside DIR (removed after each run):
#   pg_restore -f /dev/null ARCHIVE            reading and decompressing, the reference
#   scrub with bench/noop.toml and bench/rules.toml, custom and directory in and out, gzip and
#   uncompressed, at -j JOBS and -j 1 (gzip recompression is spread over the cores)
# Environment: SCRUB (default target/release/scrub), JOBS (default nproc), SCRUB_SECRET
# (default bench-secret), PGHOST/PGPORT/PGUSER (defaults 127.0.0.1, 5432, postgres).
set -euo pipefail

if [[ $# -ne 2 || ! -d "$1" ]]; then
    echo "usage: $0 DIR SCALE" >&2
    exit 2
fi
dir="$(cd "$1" && pwd)"
scale="$2"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
scrub="${SCRUB:-$repo/target/release/scrub}"
jobs="${JOBS:-$(nproc)}"
export SCRUB_SECRET="${SCRUB_SECRET:-bench-secret}"
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
db="scrub_bench_${scale}"
gz="$dir/bench_${scale}.custom.gz.dump"
none="$dir/bench_${scale}.custom.none.dump"
dgz="$dir/bench_${scale}.dir.gz"

[[ -f "$gz" ]] || pg_dump -Fc -f "$gz" "$db"
[[ -f "$none" ]] || pg_dump -Fc -Z0 -f "$none" "$db"
[[ -d "$dgz" ]] || pg_dump -Fd -j 2 -f "$dgz" "$db"
[[ -x "$scrub" ]] || (cd "$repo" && cargo build --release --quiet)

work="$(mktemp -d "$dir/archive-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT
size() { du -sm "$1" | cut -f1; }

echo "| command | input MiB | wall s | user s | sys s | peak RSS MiB |"
echo "|---|---:|---:|---:|---:|---:|"
measure() { # LABEL INPUT COMMAND...
    local label="$1" input="$2"
    shift 2
    rm -rf "$work/out"
    sync
    if [[ -d "$input" ]]; then cat "$input"/* > /dev/null; else cat "$input" > /dev/null; fi # warm the cache
    /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$@" > /dev/null
    read -r wall user sys rss < "$work/time"
    printf '| %s | %s | %s | %s | %s | %d |\n' "$label" "$(size "$input")" "$wall" "$user" "$sys" "$((rss / 1024))"
}
noop="$repo/bench/noop.toml"
rules="$repo/bench/rules.toml"
measure "pg_restore -f /dev/null, custom gzip" "$gz" pg_restore -f /dev/null "$gz"
measure "pg_restore -f /dev/null, custom uncompressed" "$none" pg_restore -f /dev/null "$none"
measure "pg_restore -f /dev/null, directory gzip" "$dgz" pg_restore -f /dev/null "$dgz"
measure "scrub noop, custom gzip → custom (blocks copied raw)" "$gz" "$scrub" -q --rules "$noop" "$gz" -o "$work/out"
measure "scrub rules, custom gzip → custom, -j $jobs" "$gz" "$scrub" -q -j "$jobs" --rules "$rules" "$gz" -o "$work/out"
measure "scrub rules, custom gzip → custom, -j 1" "$gz" "$scrub" -q -j 1 --rules "$rules" "$gz" -o "$work/out"
measure "scrub rules, custom uncompressed → custom" "$none" "$scrub" -q -j "$jobs" --rules "$rules" "$none" -o "$work/out"
measure "scrub rules, directory gzip → directory, -j $jobs" "$dgz" "$scrub" -q -j "$jobs" --rules "$rules" "$dgz" -o "$work/out"
measure "scrub rules, directory gzip → directory, -j 1" "$dgz" "$scrub" -q -j 1 --rules "$rules" "$dgz" -o "$work/out"
measure "scrub rules, custom uncompressed → directory gzip" "$none" "$scrub" -q -j "$jobs" --rules "$rules" "$none" -F d -Z gzip -o "$work/out"
