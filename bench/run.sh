#!/usr/bin/env bash
# Whole-program benchmark of scrub on one plain dump.
#
#   bench/run.sh DUMP
#
# Measures, on the same file with a warm page cache, each REPS times (median
# of each figure is reported):
#   cat DUMP > /dev/null                       the floor: reading the file
#   scrub --rules bench/noop.toml  (-j 2, -j 1) parse, validate, copy
#   scrub --rules bench/rules.toml (-j 2, -j 1) the same plus the rewrites
#   scrub --rules bench/rules.toml < DUMP       the same from stdin (no prescan)
# with /usr/bin/time -v (wall clock, user + sys CPU, max RSS), and prints a
# markdown table plus the CPU cost per rewritten value. The number of rewritten
# values comes from scrub's --report JSON: for each table, rows × rewritten
# columns (NULLs included: they are looked at but not transformed).
#
# Then, if the dump's database (scrub_bench_<scale>, from bench/gen.sh) exists
# and the dump is at most PIPE_MAX_MB MiB, it times restoring it into fresh
# databases, with and without scrub in the pipe:
#   pg_dump DB | psql -q NEW
#   pg_dump DB | scrub --rules bench/rules.toml | psql -q NEW2
# and drops the new databases afterwards.
#
# Environment:
#   SCRUB         the binary (default: target/release/scrub, built if absent)
#   REPS          repetitions per measurement (default 3)
#   JOBS          the default -j to compare with -j 1 (default: nproc)
#   PIPE          1 force / 0 skip the pg_dump | psql comparison (default: auto)
#   PIPE_DB       database to dump for it (default: from the dump's file name)
#   PIPE_MAX_MB   auto-skip it above this dump size (default 256)
#   PIPE_REPS     repetitions of it (default 3)
#   SCRUB_SECRET  the key (default bench-secret)
#   PGHOST, PGPORT, PGUSER (defaults 127.0.0.1, 5432, postgres)
set -euo pipefail

if [[ $# -ne 1 || ! -f "$1" ]]; then
    echo "usage: $0 DUMP" >&2
    exit 2
fi
dump="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
scrub="${SCRUB:-$repo/target/release/scrub}"
reps="${REPS:-3}"
jobs="${JOBS:-$(nproc)}"
export SCRUB_SECRET="${SCRUB_SECRET:-bench-secret}"
export PGHOST="${PGHOST:-127.0.0.1}"
export PGPORT="${PGPORT:-5432}"
export PGUSER="${PGUSER:-postgres}"
export PSQLRC=/dev/null

if [[ ! -x /usr/bin/time ]]; then
    echo "$0: /usr/bin/time is missing (apt-get install -y time)" >&2
    exit 2
fi
if [[ ! -x "$scrub" ]]; then
    (cd "$repo" && cargo build --release --quiet)
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

bytes=$(stat -c %s "$dump")
mib=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }')

# median of the numbers on stdin
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# measure NAME CMD...: runs CMD (stdout to /dev/null) REPS times under
# /usr/bin/time -v; records median wall seconds, CPU seconds, max RSS KiB.
TIMEFORMAT='%3R %3U %3S'
declare -A wall cpu rss
measure() {
    local name="$1" i
    shift
    : >"$work/$name.runs"
    for ((i = 0; i < reps; i++)); do
        # Times from bash (1 ms resolution; /usr/bin/time's are in 10 ms steps),
        # max RSS from /usr/bin/time.
        { time /usr/bin/time -v -o "$work/time" "$@" >/dev/null 2>"$work/stderr"; } 2>"$work/times"
        awk -F': ' -v t="$(cat "$work/times")" '
            /Maximum resident set size/ { m = $2 }
            END { split(t, x, " "); printf "%.3f %.3f %d\n", x[1], x[2] + x[3], m }' "$work/time" >>"$work/$name.runs"
    done
    wall[$name]=$(awk '{ print $1 }' "$work/$name.runs" | median)
    cpu[$name]=$(awk '{ print $2 }' "$work/$name.runs" | median)
    rss[$name]=$(awk '{ print $3 }' "$work/$name.runs" | median)
    echo "  $name: wall ${wall[$name]} s, cpu ${cpu[$name]} s, max RSS ${rss[$name]} KiB  (runs: $(awk '{ printf "%s%s", sep, $1; sep = "/" }' "$work/$name.runs") s)" >&2
}

if [[ -z "${SCRUB:-}" ]]; then
    version="$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$repo" diff --quiet HEAD -- src 2>/dev/null || echo ', src modified')"
else
    version="$scrub"
fi
echo "$("$scrub" --version) ($version), $dump: $bytes bytes ($mib MiB), $reps runs each" >&2

# Percentage of CPU time idle over one second: other work on the machine skews wall times.
idle() {
    local a b
    a=$(awk '/^cpu / { print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)
    sleep 1
    b=$(awk '/^cpu / { print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); printf "%d", 100 * (y[1] - x[1]) / (y[2] - x[2]) }'
}
idle_before=$(idle)
echo "CPU idle before: $idle_before%" >&2
((idle_before >= 90)) || echo "warning: the machine is busy ($idle_before% idle): timings will be noisy" >&2
cat "$dump" >/dev/null # warm the page cache
measure cat cat "$dump"
measure noop_j "$scrub" -q --rules "$here/noop.toml" "$dump" -o /dev/null -j "$jobs"
measure noop_1 "$scrub" -q --rules "$here/noop.toml" "$dump" -o /dev/null -j 1
measure rules_j "$scrub" -q --rules "$here/rules.toml" "$dump" -o /dev/null -j "$jobs"
measure rules_1 "$scrub" -q --rules "$here/rules.toml" "$dump" -o /dev/null -j 1
# From stdin: scrub cannot read it twice, so it makes no schema prescan of the file.
# shellcheck disable=SC2016
measure rules_stdin sh -c 'exec "$0" -q --rules "$1" -j "$2" <"$3"' "$scrub" "$here/rules.toml" "$jobs" "$dump"

echo "CPU idle after: $(idle)%" >&2

# How many values the rules rewrote: rows × rewritten columns, per table.
"$scrub" -q --rules "$here/rules.toml" "$dump" -o /dev/null --report "$work/report.json"
values=$(jq '[.tables[] | .rows_in * (.rewritten | length)] | add // 0' "$work/report.json")
rows=$(jq '[.tables[] | .rows_in] | add // 0' "$work/report.json")
columns=$(jq '[.tables[] | .rewritten | length] | add // 0' "$work/report.json")

row() { # label key
    awk -v label="$1" -v w="${wall[$2]}" -v c="${cpu[$2]}" -v r="${rss[$2]}" -v cw="${wall[cat]}" -v mib="$mib" 'BEGIN {
        printf "| %s | %.3f | %.0f | %.1f | %.2f | %.1f |\n", label, w, mib / w, w / cw, c, r / 1024 }'
}
echo
echo "**$(basename "$dump")**: $mib MiB, $rows COPY rows; $(nproc) cores; median of $reps runs"
echo
echo "| command | wall s | MiB/s | × cat time | CPU s (user+sys) | peak RSS MiB |"
echo "|---|---:|---:|---:|---:|---:|"
row 'cat > /dev/null' cat
row "scrub noop.toml -j $jobs" noop_j
row 'scrub noop.toml -j 1' noop_1
row "scrub rules.toml -j $jobs" rules_j
row 'scrub rules.toml -j 1' rules_1
row "scrub rules.toml -j $jobs < DUMP (stdin)" rules_stdin
echo
awk -v v="$values" -v c="$columns" -v r1="${cpu[rules_1]}" -v n1="${cpu[noop_1]}" -v rj="${cpu[rules_j]}" -v nj="${cpu[noop_j]}" -v j="$jobs" 'BEGIN {
    printf "Rewritten values: %d (%d columns). CPU per rewritten value (rules − noop): %.0f ns at -j 1, %.0f ns at -j %s.\n",
        v, c, v ? (r1 - n1) * 1e9 / v : 0, v ? (rj - nj) * 1e9 / v : 0, j }'

# --- pg_dump | [scrub |] psql into fresh databases -------------------------
db="${PIPE_DB:-}"
if [[ -z "$db" ]]; then
    base="$(basename "$dump" .sql)"
    db="scrub_${base}"
fi
pipe="${PIPE:-auto}"
if [[ "$pipe" == auto ]]; then
    pipe=0
    if awk -v m="$mib" -v max="${PIPE_MAX_MB:-256}" 'BEGIN { exit !(m <= max) }'; then pipe=1; fi
fi
exists=$(psql -X -At -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$db'" 2>/dev/null || true)
if [[ "$pipe" != 1 ]]; then
    exit 0
fi
if [[ "$exists" != 1 ]]; then
    echo "(no database $db: skipping the pg_dump | psql comparison; run bench/gen.sh first)" >&2
    exit 0
fi

admin() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -d postgres "$@"; }
plain_db="${db}_restore_plain"
scrub_db="${db}_restore_scrubbed"
cleanup_dbs() {
    admin -c "DROP DATABASE IF EXISTS \"$plain_db\" WITH (FORCE)" -c "DROP DATABASE IF EXISTS \"$scrub_db\" WITH (FORCE)" || true
}
trap 'cleanup_dbs; rm -rf "$work"' EXIT
fresh() {
    admin -c "DROP DATABASE IF EXISTS \"$1\" WITH (FORCE)"
    admin -c "CREATE DATABASE \"$1\" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
}
# pipe_run NAME TARGET PIPELINE: wall seconds of the pipeline (client CPU too).
pipe_run() {
    local name="$1" target="$2" cmd="$3"
    fresh "$target"
    psql -X -q -d postgres -c CHECKPOINT
    { time bash -c "set -euo pipefail; $cmd" >/dev/null; } 2>"$work/times"
    awk '{ printf "%.2f %.2f\n", $1, $2 + $3 }' "$work/times" >>"$work/$name.runs"
}
: >"$work/pipe_plain.runs"
: >"$work/pipe_scrub.runs"
psql_restore="psql -X -q -v ON_ERROR_STOP=1 -o /dev/null"
for ((i = 0; i < ${PIPE_REPS:-3}; i++)); do
    pipe_run pipe_plain "$plain_db" "pg_dump '$db' | $psql_restore -d '$plain_db'"
    pipe_run pipe_scrub "$scrub_db" "pg_dump '$db' | /usr/bin/time -f %M -a -o '$work/pipe_rss' '$scrub' -q --rules '$here/rules.toml' | $psql_restore -d '$scrub_db'"
done
# The scrubbed copy must have every row, and no original email.
check="SELECT (SELECT count(*) FROM people) + (SELECT count(*) FROM order_lines) + (SELECT count(*) FROM events)"
n_plain=$(psql -X -At -d "$plain_db" -c "$check")
n_scrub=$(psql -X -At -d "$scrub_db" -c "$check")
# Original addresses are first.last<n>@domain; scrubbed local parts are base32, without dots.
same_email=$(psql -X -At -d "$scrub_db" -c "SELECT count(*) FROM people WHERE split_part(email, '@', 1) LIKE '%.%'")
[[ "$n_plain" == "$n_scrub" && "$same_email" == 0 ]] || echo "warning: restored copies differ unexpectedly ($n_plain vs $n_scrub rows, $same_email unscrubbed emails)" >&2
pw=$(awk '{ print $1 }' "$work/pipe_plain.runs" | median)
pc=$(awk '{ print $2 }' "$work/pipe_plain.runs" | median)
sw=$(awk '{ print $1 }' "$work/pipe_scrub.runs" | median)
sc=$(awk '{ print $2 }' "$work/pipe_scrub.runs" | median)
echo "  pipe runs: plain $(awk '{ printf "%s%s", sep, $1; sep = "/" }' "$work/pipe_plain.runs") s, scrubbed $(awk '{ printf "%s%s", sep, $1; sep = "/" }' "$work/pipe_scrub.runs") s" >&2
echo
echo "Restore into a fresh database from \`$db\` (median of ${PIPE_REPS:-3}; client-side CPU = pg_dump + scrub + psql, the server's work is not in it):"
echo
echo "| pipeline | wall s | client CPU s |"
echo "|---|---:|---:|"
echo "| \`pg_dump \\| psql\` | $pw | $pc |"
echo "| \`pg_dump \\| scrub --rules bench/rules.toml \\| psql\` | $sw | $sc |"
echo
echo "Peak RSS of scrub inside the pipe (psql is the slow end, so scrub waits on a full pipe): $(median <"$work/pipe_rss" | awk '{ printf "%.1f", $1 / 1024 }') MiB."
echo
awk -v p="$pw" -v s="$sw" 'BEGIN { printf "scrub in the pipe adds %.2f s (%+.1f%%).\n", s - p, 100 * (s - p) / p }'
