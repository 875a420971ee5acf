#!/usr/bin/env bash
# Ticket creates over the API with no rules and with kefu-bench-rules' 50 triggers and 10 SLA policies (issue
# 4's ratio, as a user of the API sees it): two fresh SQLite data dirs, one server at a time, wrk with 8
# connections posting the tickets of `kefu-bench-rules` (bench/kefu.lua's create-mixed), rounds alternating
# between the two (which goes first swaps every pair). Prints each round, the medians and the median ratio of
# paired rounds.
#
#   ROUNDS=9 SECONDS_PER_ROUND=6 bench/rules-api.sh
#   SKIP_BUILD=1 bench/rules-api.sh     # with the release binaries already in target/release
#
# Not a test: nothing here asserts a timing. Raw output in bench/results/rules-api-* (not committed).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS=${ROUNDS:-9}
SECONDS_PER_ROUND=${SECONDS_PER_ROUND:-6}
PORT=${PORT:-18093}
OUT="$BENCH_DIR/results/rules-api-$(date +%Y%m%d-%H%M%S)"
RULES_BIN="$REPO/target/release/kefu-bench-rules"

need_tools
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  log "cargo build --release -p kefu -p kefu-bench-rules"
  (cd "$REPO" && cargo build --release -q -p kefu -p kefu-bench-rules)
fi
mkdir -p "$OUT"
trap stop_kefu EXIT

declare -A TOKENS
for configuration in plain rules; do
  dir="$OUT/$configuration"
  mkdir -p "$dir"
  if [ "$configuration" = rules ]; then
    "$RULES_BIN" --into-data-dir "$dir" >>"$dir/setup.log" 2>&1 || { cat "$dir/setup.log" >&2; die "adding the rules failed"; }
  fi
  KEFU_DATA_DIR="$dir" "$KEFU_BIN" migrate >>"$dir/setup.log" 2>&1
  KEFU_DATA_DIR="$dir" KEFU_PASSWORD="$ADMIN_PASSWORD" "$KEFU_BIN" user create \
    --email "$ADMIN_EMAIL" --role admin >>"$dir/setup.log" 2>&1
  start_kefu "$dir" "$PORT"
  TOKENS[$configuration]=$(make_token "$PORT")
  TOKEN=${TOKENS[$configuration]}
  # A first round makes the 500 requesters and warms the caches; it is not counted.
  wrk_once "$dir/warm-up.txt" 8 "$SECONDS_PER_ROUND" "http://127.0.0.1:$PORT" -- create-mixed >/dev/null
  stop_kefu
done

: >"$OUT/plain.rps"
: >"$OUT/rules.rps"
: >"$OUT/ratios"
for round in $(seq "$ROUNDS"); do
  wait_quiet >/dev/null
  order="plain rules"
  [ $((round % 2)) = 0 ] && order="rules plain"
  for configuration in $order; do
    dir="$OUT/$configuration"
    start_kefu "$dir" "$PORT"
    TOKEN=${TOKENS[$configuration]}
    line=$(wrk_once "$dir/round-$round.txt" 8 "$SECONDS_PER_ROUND" "http://127.0.0.1:$PORT" -- create-mixed)
    stop_kefu
    [ "$(field "$line" non2xx)" = 0 ] || die "$configuration round $round: non-2xx answers ($line)"
    field "$line" rps >>"$OUT/$configuration.rps"
    log "round $round $configuration: $line"
  done
  paste -d' ' <(tail -n1 "$OUT/plain.rps") <(tail -n1 "$OUT/rules.rps") | awk '{ printf "%.4f\n", $2 / $1 }' >>"$OUT/ratios"
done

plain=$(median <"$OUT/plain.rps")
rules=$(median <"$OUT/rules.rps")
ratio=$(median <"$OUT/ratios")
echo "| configuration | ticket creates/s over the API, 8 connections (median of $ROUNDS alternating rounds of ${SECONDS_PER_ROUND} s) |"
echo "|---|---|"
echo "| no rules | $plain |"
awk -v p="$plain" -v r="$rules" -v q="$ratio" 'BEGIN {
  printf "| 50 triggers + 10 SLA policies | %s (%.0f%% of no rules; median ratio of paired rounds %.0f%%) |\n", r, 100 * r / p, 100 * q }'
