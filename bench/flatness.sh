#!/usr/bin/env bash
# Flatness: does a page of the ticket list (and reading one ticket) cost the same with 1M tickets as with 10k?
# Runs two kefu servers side by side, one on a small and one on a large data set, and alternates wrk runs
# between them (ABBA order), so both sizes see the same noise from whatever else runs on the machine. Prints
# the median p50/p99 and req/s per size, and the ratio large/small of the p99 (budget: 2x).
#
# Usage: bench/flatness.sh
# Env:
#   SMALL, LARGE  ticket counts                           (default 10000, 1000000)
#   PAIRS         runs per size and request               (default 6)
#   DUR           seconds per wrk run                     (default 10)
#   PORT          loopback port of the small server; the large one gets PORT+1 (default 18090)
#   DATA_ROOT     where the data dirs go; an existing seeded dir of the right size is reused
#                 (default ${TMPDIR:-/tmp}/kefu-bench)
#   SKIP_BUILD=1  use the existing target/release binaries
#   RESULTS       output folder                           (default bench/results/<time>-flatness)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SMALL="${SMALL:-10000}"
LARGE="${LARGE:-1000000}"
PAIRS="${PAIRS:-6}"
DUR="${DUR:-10}"
PORT="${PORT:-18090}"
DATA_ROOT="${DATA_ROOT:-${TMPDIR:-/tmp}/kefu-bench}"
RESULTS="${RESULTS:-$BENCH_DIR/results/$(date +%Y%m%dT%H%M%S)-flatness}"

declare -A PID_OF TOKEN_OF PORT_OF
cleanup() {
  for size in "${!PID_OF[@]}"; do
    KEFU_PID=${PID_OF[$size]}
    stop_kefu
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$RESULTS" "$DATA_ROOT"

need_tools
[ "${SKIP_BUILD:-0}" = 1 ] || build_release

offset=0
for size in "$SMALL" "$LARGE"; do
  dir="$DATA_ROOT/$size"
  # Reuse a data dir this script seeded before (the marker is written after seeding succeeded).
  if [ "$(cat "$dir/seeded" 2>/dev/null)" != "$size" ]; then
    log "seeding $size tickets into $dir"
    seed_data_dir "$dir" "$size" >/dev/null
    echo "$size" >"$dir/seeded"
  fi
  PORT_OF[$size]=$((PORT + offset))
  offset=$((offset + 1))
  start_kefu "$dir" "${PORT_OF[$size]}"
  PID_OF[$size]=$KEFU_PID
  TOKEN_OF[$size]=$(make_token "${PORT_OF[$size]}")
  log "$size tickets: kefu pid $KEFU_PID on 127.0.0.1:${PORT_OF[$size]}"
done

# one SIZE NAME CONNECTIONS PATH -- LUA ARGS: one run against the server holding SIZE tickets.
one() {
  local size=$1 name=$2 connections=$3 path=$4 line
  shift 4
  KEFU_PID=${PID_OF[$size]}
  TOKEN=${TOKEN_OF[$size]}
  line=$(wrk_once "$RESULTS/$size-$name-$(date +%H%M%S).txt" "$connections" "$DUR" \
    "http://127.0.0.1:${PORT_OF[$size]}$path" "$@")
  echo "$line" >>"$RESULTS/$size-$name.results"
  log "$name, $size tickets: ${line#RESULT }"
}

for name in list read; do
  for size in "$SMALL" "$LARGE"; do
    : >"$RESULTS/$size-$name.results"
    # warm-up
    KEFU_PID=${PID_OF[$size]} TOKEN=${TOKEN_OF[$size]} wrk_once "$RESULTS/$size-$name-warmup.txt" 4 2 \
      "http://127.0.0.1:${PORT_OF[$size]}/api/v1/tickets?status=open&limit=25" -- list >/dev/null
  done
  for pair in $(seq "$PAIRS"); do
    if [ $((pair % 2)) = 1 ]; then order="$SMALL $LARGE"; else order="$LARGE $SMALL"; fi
    for size in $order; do
      case $name in
        list) one "$size" list 4 "/api/v1/tickets?status=open&limit=25" -- list ;;
        read) one "$size" read 4 "/" -- read "$size" ;;
      esac
    done
  done
done

{
  printf 'measure\tsize\treq/s\tp50_ms\tp99_ms\n'
  for name in list read; do
    for size in "$SMALL" "$LARGE"; do
      printf '%s\t%s' "$name" "$size"
      for f in rps p50_ms p99_ms; do
        printf '\t%s' "$(while read -r line; do field "$line" "$f"; done <"$RESULTS/$size-$name.results" | median)"
      done
      printf '\n'
    done
  done
} | tee "$RESULTS/flatness.tsv"
awk -F'\t' -v s="$SMALL" -v l="$LARGE" '
  $2 == s { p99s[$1] = $5 } $2 == l { p99l[$1] = $5 }
  END { for (m in p99s) printf "%s p99: x%.2f from %s to %s tickets (%s the 2x budget)\n", m, p99l[m] / p99s[m],
        s, l, p99l[m] / p99s[m] <= 2 ? "within" : "OUTSIDE" }' "$RESULTS/flatness.tsv" | tee -a "$RESULTS/flatness.txt"
log "results in $RESULTS"
