#!/usr/bin/env bash
# Search speed: about 1M messages indexed; indexing throughput, bare tantivy queries over the index, the
# search API under load (wrk), and django-helpdesk's keyword search beside it. See bench/README.md.
#
# Usage: bench/search.sh
# Env:
#   TICKETS     tickets to seed (default 600000: the seeder writes about 1.7 messages per ticket)
#   DATA_DIR    the data dir (default /tmp/kefu-bench-search/<TICKETS>); KEEP_DATA=1 reuses a seeded one
#   REINDEX     0 keeps an existing index (default 1: rebuild and time it)
#   PORT        loopback port for kefu (default 18090)
#   DUR         seconds per timed run (default 10)   RUNS   wrk runs, medians reported (default 3)
#   PEER        0 skips django-helpdesk (default 1)  PEER_PORT (default 8801)
#   SKIP_BUILD  1 uses the binaries in target/release as they are
#   RESULTS     output folder (default bench/results/<time>-search)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TICKETS="${TICKETS:-600000}"
DATA_DIR="${DATA_DIR:-/tmp/kefu-bench-search/$TICKETS}"
PORT="${PORT:-18090}"
DUR="${DUR:-10}"
RUNS="${RUNS:-3}"
PEER="${PEER:-1}"
PEER_PORT="${PEER_PORT:-8801}"
PEERS_DIR="${PEERS_DIR:-$REPO/../shared/bench/peers}"
PIDFILE="${XDG_CACHE_HOME:-$HOME/.cache}/peers/django-helpdesk/state-sqlite/gunicorn.pid"
RESULTS="${RESULTS:-$BENCH_DIR/results/$(date +%Y%m%dT%H%M%S)-search}"
QUERIES="$BENCH_DIR/search/queries.txt"
BENCH_BIN="$REPO/target/release/kefu-bench-search"
mkdir -p "$RESULTS"
SUMMARY="$RESULTS/summary.tsv"
: >"$SUMMARY"
put() { printf '%s\t%s\n' "$1" "$2" | tee -a "$SUMMARY" >&2; }

cleanup() {
  stop_kefu
  if [ "$PEER" = 1 ] && [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    log "stopping django-helpdesk's gunicorn (pid $(cat "$PIDFILE"))"
    kill "$(cat "$PIDFILE")"
  fi
}
trap cleanup EXIT

need_tools
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  log "cargo build --release -p kefu -p kefu-bench-seed -p kefu-bench-search"
  (cd "$REPO" && cargo build --release --locked -q -p kefu -p kefu-bench-seed -p kefu-bench-search)
fi
{
  echo "date: $(date -u +%FT%TZ)"
  echo "commit: $(git -C "$REPO" rev-parse --short HEAD)$(git -C "$REPO" diff --quiet HEAD -- crates bench || echo ' (with local changes)')"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores"
  echo "memory: $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
  echo "kernel: $(uname -r)"
  echo "nice: $(nice)"
} >"$RESULTS/machine.txt"
cat "$RESULTS/machine.txt" >&2

# 1. Seed.
if [ "${KEEP_DATA:-0}" = 1 ] && [ -f "$DATA_DIR/kefu.db" ]; then
  log "reusing $DATA_DIR"
else
  log "seeding $TICKETS tickets into $DATA_DIR"
  put seed_seconds "$(seed_data_dir "$DATA_DIR" "$TICKETS")"
fi
messages=$(sed -n 's/.* \([0-9]*\) messages,.*/\1/p' "$DATA_DIR/seed.log" | tail -1)
put tickets "$TICKETS"
put messages "${messages:-unknown}"

# 2. Index: `kefu reindex` (App::reindex_all: read every ticket with its messages and every customer from
# SQLite, analyze, write, commit).
if [ "${REINDEX:-1}" = 1 ] || [ ! -d "$DATA_DIR/search" ]; then
  rm -rf "$DATA_DIR/search"
  log "kefu reindex (machine $(wait_quiet)% busy before)"
  t0=$(date +%s%N)
  KEFU_DATA_DIR="$DATA_DIR" "$KEFU_BIN" reindex 2>>"$DATA_DIR/reindex.log" | tee "$RESULTS/reindex.txt" >&2
  t1=$(date +%s%N)
  seconds=$(awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.1f", ns / 1e9 }')
  documents=$(sed -n 's/.* \([0-9]*\) documents in all.*/\1/p' "$RESULTS/reindex.txt")
  put index_seconds "$seconds"
  put index_documents "$documents"
  put index_docs_per_s "$(awk -v d="$documents" -v s="$seconds" 'BEGIN { printf "%.0f", d / s }')"
  put index_messages_per_s "$(awk -v d="${messages:-0}" -v s="$seconds" 'BEGIN { printf "%.0f", d / s }')"
fi
put index_mib "$(du -sm "$DATA_DIR/search" | cut -f1)"

# 3. Bare tantivy and kefu-search in process, one thread.
log "bare tantivy and kefu-search, ${DUR}s each (machine $(wait_quiet)% busy before)"
"$BENCH_BIN" --index "$DATA_DIR/search" --queries "$QUERIES" --seconds "$DUR" --list --per-query | tee "$RESULTS/in-process.txt" >&2
for mode in bare bare_count kefu_search; do
  line=$(grep "^RESULT mode=$mode " "$RESULTS/in-process.txt")
  put "${mode}_rate" "$(field "$line" rate)"
  put "${mode}_p50_ms" "$(field "$line" p50_ms)"
  put "${mode}_p99_ms" "$(field "$line" p99_ms)"
done

# 4. The API under load: kefu serve, GET /api/v1/search?q=..., 4 connections.
start_kefu "$DATA_DIR" "$PORT"
TOKEN=$(make_token "$PORT")
[ -n "$TOKEN" ] && [ "$TOKEN" != null ] || die "could not create an API token"
hits=$(curl -s -f -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/v1/search?q=refund" | jq '.hits | length')
[ "${hits:-0}" -gt 0 ] || die "the API found nothing for 'refund'; is the index built?"
# OUT SECONDS [CONNECTIONS]: one wrk run of the search mix (lib.sh's wrk_once).
search_wrk() { wrk_once "$1" "${3:-4}" "$2" "http://127.0.0.1:$PORT" -- search "$QUERIES"; }
search_wrk "$RESULTS/api-warmup.txt" 3 >/dev/null
log "API search under load, $RUNS runs of ${DUR}s (machine $(wait_quiet)% busy before)"
for run in $(seq "$RUNS"); do
  line=$(search_wrk "$RESULTS/api-$run.txt" "$DUR")
  echo "api run $run: $line" | tee -a "$RESULTS/api.txt" >&2
  [ "$(field "$line" errors)" = 0 ] && [ "$(field "$line" non2xx)" = 0 ] || die "errors in run $run (see $RESULTS/api-$run.txt)"
done
for name in rps p50_ms p99_ms other_busy; do
  put "api_$name" "$(sed -n "s/.* $name=\([^ ]*\).*/\1/p" "$RESULTS/api.txt" | median)"
done
# One connection: a request's own latency, without queueing behind the other three.
line=$(search_wrk "$RESULTS/api-c1.txt" "$DUR" 1)
echo "api 1 connection: $line" >&2
for name in rps p50_ms p99_ms; do put "api_c1_$name" "$(field "$line" "$name")"; done
put kefu_rss_mib "$(($(rss_kib "$KEFU_PID") / 1024))"
stop_kefu

# 5. django-helpdesk's keyword search, in the same session.
if [ "$PEER" = 1 ]; then
  [ -f "$PEERS_DIR/setup-django-helpdesk.sh" ] || die "no peer scripts in $PEERS_DIR"
  log "django-helpdesk: setup (reused if already done)"
  bash "$PEERS_DIR/setup-django-helpdesk.sh" "$PEER_PORT" >"$RESULTS/django-setup.txt" 2>&1 \
    || { tail -20 "$RESULTS/django-setup.txt" >&2; die "django-helpdesk setup failed"; }
  sleep 5
  log "django-helpdesk: the shared load script (machine $(wait_quiet)% busy before)"
  DUR="${PEER_DUR:-15}" bash "$PEERS_DIR/load-django-helpdesk.sh" "$PEER_PORT" 2>&1 | tee "$RESULTS/django-load.txt" >&2
  line=$(grep "^search 'refund'" "$RESULTS/django-load.txt" || true)
  put django_search_rps "$(sed -n 's/.*: \([0-9.]*\) req\/s.*/\1/p' <<<"$line")"
  put django_search_p50 "$(sed -n 's/.* p50=\([^ ]*\).*/\1/p' <<<"$line")"
  put django_search_p99 "$(sed -n 's/.* p99=\([^ ]*\).*/\1/p' <<<"$line")"
  line=$(grep "^search rare" "$RESULTS/django-load.txt" || true)
  put django_rare_search_rps "$(sed -n 's/.*: \([0-9.]*\) req\/s.*/\1/p' <<<"$line")"
fi

# 6. Ratios.
get() { awk -F'\t' -v k="$1" '$1 == k { v = $2 } END { print v }' "$SUMMARY"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.1f", a / b; else print "n/a" }'; }
put api_p50_over_bare_p50 "$(ratio "$(get api_p50_ms)" "$(get bare_p50_ms)")"
put api_p99_over_bare_p99 "$(ratio "$(get api_p99_ms)" "$(get bare_p99_ms)")"
put bare_rate_over_api_rps "$(ratio "$(get bare_rate)" "$(get api_rps)")"
put api_c1_p50_over_bare_p50 "$(ratio "$(get api_c1_p50_ms)" "$(get bare_p50_ms)")"
put api_c1_p50_over_kefu_search_p50 "$(ratio "$(get api_c1_p50_ms)" "$(get kefu_search_p50_ms)")"
[ "$PEER" = 1 ] && put api_rps_over_django "$(ratio "$(get api_rps)" "$(get django_search_rps)")"
log "summary in $SUMMARY"
