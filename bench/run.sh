#!/usr/bin/env bash
# Kefu core-service benchmarks: for each data set size, seed a fresh SQLite data dir, start `kefu serve`,
# and measure start-to-first-answer, idle memory, the open-ticket list, reading one ticket and creating
# tickets, with wrk on loopback. See bench/README.md for the method; figures go to bench/results/<time>/.
#
# Usage: bench/run.sh
# Env:
#   SIZES      ticket counts to seed, one data set each       (default "10000 100000 1000000")
#   DUR        seconds per wrk run                             (default 10)
#   RUNS       clean wrk runs per measure; the median is kept  (default 3; at most 3 x RUNS are tried)
#   STARTS     cold starts per size for startup and idle RSS   (default 3)
#   PORT       loopback port for kefu                          (default 18080)
#   DATA_ROOT  where the data dirs go                          (default ${TMPDIR:-/tmp}/kefu-bench)
#   KEEP_DATA  1 keeps each data dir after its run             (default 0)
#   SKIP_BUILD 1 uses the existing target/release binaries     (default 0)
#   RESULTS    output folder                                   (default bench/results/<time>)
#   QUIET_MAX  seconds to wait for an idle machine before a run (default 60; QUIET_BUSY=15 % counts as idle)
#   NOISE_MAX  a run is clean if other processes used at most this % of all cores during it (default 10)
# Timings are never a pass/fail: the script only prints what it saw.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SIZES="${SIZES:-10000 100000 1000000}"
DUR="${DUR:-10}"
RUNS="${RUNS:-3}"
STARTS="${STARTS:-3}"
NOISE_MAX="${NOISE_MAX:-10}"
PORT="${PORT:-18080}"
DATA_ROOT="${DATA_ROOT:-${TMPDIR:-/tmp}/kefu-bench}"
KEEP_DATA="${KEEP_DATA:-0}"
RESULTS="${RESULTS:-$BENCH_DIR/results/$(date +%Y%m%dT%H%M%S)}"
BASE="http://127.0.0.1:$PORT"

trap 'stop_kefu' EXIT
trap 'exit 130' INT TERM
mkdir -p "$RESULTS" "$DATA_ROOT"
SUMMARY="$RESULTS/summary.tsv"
: >"$SUMMARY"

# record SIZE MEASURE VALUE
record() {
  printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$SUMMARY"
  printf '  %-8s %-22s %s\n' "$1" "$2" "$3"
}

# measure SIZE NAME CONNECTIONS URL -- LUA ARGS: a short warm-up, then runs until RUNS of them were clean
# (other processes used at most NOISE_MAX % of the cores meanwhile) or 3 x RUNS were tried; records the
# medians of the clean runs (of all runs, if none was clean) and how many were clean.
measure() {
  local size=$1 name=$2 connections=$3 url=$4 line measure_field other attempts=0 clean=0 from
  shift 4
  wrk_once "$RESULTS/$size-$name-warmup.txt" "$connections" 2 "$url" "$@" >/dev/null
  : >"$RESULTS/$size-$name.clean"
  : >"$RESULTS/$size-$name.noisy"
  while [ "$clean" -lt "$RUNS" ] && [ "$attempts" -lt $((RUNS * 3)) ]; do
    attempts=$((attempts + 1))
    wait_quiet >/dev/null
    line=$(wrk_once "$RESULTS/$size-$name-$attempts.txt" "$connections" "$DUR" "$url" "$@")
    other=$(field "$line" other_busy)
    if [ "$other" -le "$NOISE_MAX" ]; then
      clean=$((clean + 1))
      echo "$line" >>"$RESULTS/$size-$name.clean"
    else
      echo "$line" >>"$RESULTS/$size-$name.noisy"
    fi
    log "$name ($size tickets, c=$connections) run $attempts: ${line#RESULT }"
  done
  from="$RESULTS/$size-$name.clean"
  [ "$clean" -gt 0 ] || from="$RESULTS/$size-$name.noisy"
  for measure_field in rps p50_ms p99_ms; do
    record "$size" "${name}_${measure_field}" \
      "$(while read -r line; do field "$line" "$measure_field"; done <"$from" | median)"
  done
  record "$size" "${name}_runs" "$clean clean of $attempts"
  record "$size" "${name}_failed" \
    "$(cat "$RESULTS/$size-$name.clean" "$RESULTS/$size-$name.noisy" | while read -r line; do
      echo $(($(field "$line" errors) + $(field "$line" non2xx))); done | sort -n | tail -1)"
}

need_tools
[ "${SKIP_BUILD:-0}" = 1 ] || build_release
{
  echo "date: $(date -Is)"
  echo "commit: $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    "($(git -C "$REPO" status --porcelain -- crates 2>/dev/null | wc -l) files under crates/ differ from it)"
  echo "cpu: $(nproc) x $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
  echo "memory: $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
  echo "kernel: $(uname -r)"
  echo "wrk: $(wrk -v 2>&1 | head -1)"
  echo "sizes: $SIZES; wrk runs: $RUNS x ${DUR}s (median), -t1; starts: $STARTS"
} | tee "$RESULTS/machine.txt" >&2

for size in $SIZES; do
  dir="$DATA_ROOT/$size"
  log "== $size tickets: seeding $dir"
  record "$size" seed_seconds "$(seed_data_dir "$dir" "$size")"
  grep '^done' "$dir/seed.log" >&2 || true
  record "$size" db_mib "$(du -m "$dir/kefu.db" | cut -f1)"
  # The seeder writes rows directly, so the search index is built here, as after an import: otherwise the
  # first start would rebuild it in the background, under the measurements below.
  t0=$(date +%s%N)
  KEFU_DATA_DIR="$dir" "$KEFU_BIN" reindex >>"$dir/seed.log" 2>&1
  record "$size" reindex_seconds "$(awk -v ns=$(($(date +%s%N) - t0)) 'BEGIN { printf "%.1f\n", ns / 1e9 }')"

  # Start to first answer and idle memory, over a few fresh starts of the same data.
  : >"$RESULTS/$size-startup.txt"
  for i in $(seq "$STARTS"); do
    wait_quiet >/dev/null
    start_kefu "$dir" "$PORT"
    sleep 2
    echo "$STARTUP_MS $(rss_kib "$KEFU_PID")" >>"$RESULTS/$size-startup.txt"
    log "start $i: first 200 on /readyz after ${STARTUP_MS} ms; idle VmRSS $(rss_kib "$KEFU_PID") KiB"
    stop_kefu
  done
  record "$size" startup_ms "$(cut -d' ' -f1 "$RESULTS/$size-startup.txt" | median)"
  record "$size" idle_rss_mib \
    "$(cut -d' ' -f2 "$RESULTS/$size-startup.txt" | median | awk '{ printf "%.1f", $1 / 1024 }')"

  start_kefu "$dir" "$PORT"
  TOKEN=$(make_token "$PORT")
  [ -n "$TOKEN" ] && [ "$TOKEN" != null ] || die "could not create an API token"
  measure "$size" list 4 "$BASE/api/v1/tickets?status=open&limit=25" -- list
  measure "$size" read 4 "$BASE" -- read "$size"
  measure "$size" create 8 "$BASE" -- create "r$size-$$"
  record "$size" rss_after_load_mib "$(awk '{ printf "%.1f", $1 / 1024 }' <<<"$(rss_kib "$KEFU_PID")")"
  record "$size" peak_rss_mib "$(awk '{ printf "%.1f", $1 / 1024 }' <<<"$(hwm_kib "$KEFU_PID")")"
  stop_kefu
  [ "$KEEP_DATA" = 1 ] || rm -rf "$dir"
done

# Flatness: the list's p99 at the largest size against the smallest.
first=${SIZES%% *}
last=${SIZES##* }
if [ "$first" != "$last" ]; then
  small=$(awk -F'\t' -v s="$first" '$1 == s && $2 == "list_p99_ms" { print $3 }' "$SUMMARY")
  large=$(awk -F'\t' -v s="$last" '$1 == s && $2 == "list_p99_ms" { print $3 }' "$SUMMARY")
  awk -v a="$small" -v b="$large" -v f="$first" -v l="$last" 'BEGIN {
    ratio = b / a
    printf "list p99: %s ms at %s tickets, %s ms at %s tickets: x%.2f (%s the 2x budget)\n",
      a, f, b, l, ratio, ratio <= 2 ? "within" : "OUTSIDE"
  }' | tee "$RESULTS/flatness.txt"
fi
log "results in $RESULTS (summary.tsv)"
