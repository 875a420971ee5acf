# Helpers shared by the Kefu benchmark scripts. Sourced by run.sh, not run on its own.
# Everything binds and talks to 127.0.0.1 only.

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$BENCH_DIR/.." && pwd)"
KEFU_BIN=${KEFU_BIN:-"$REPO/target/release/kefu"}
SEED_BIN="$REPO/target/release/kefu-bench-seed"
# Throwaway credentials for a throwaway loopback server.
ADMIN_EMAIL="admin@example.com"
ADMIN_PASSWORD="bench-password-not-a-secret"

log() { echo "[bench $(date +%H:%M:%S)] $*" >&2; }
die() { log "error: $*"; exit 1; }

need_tools() {
  command -v wrk >/dev/null || { log "installing wrk (Debian package)"; apt-get install -y -q wrk >/dev/null; }
  command -v jq >/dev/null || { log "installing jq (Debian package)"; apt-get install -y -q jq >/dev/null; }
  command -v curl >/dev/null || die "curl is required"
}

build_release() {
  log "cargo build --release -p kefu -p kefu-bench-seed"
  (cd "$REPO" && cargo build --release -q -p kefu -p kefu-bench-seed)
}

# seed_data_dir DIR TICKETS: a fresh data dir with TICKETS seeded tickets and an admin. Prints seconds taken.
seed_data_dir() {
  local dir=$1 tickets=$2 t0 t1
  rm -rf "$dir"
  mkdir -p "$dir"
  t0=$(date +%s%N)
  KEFU_DATA_DIR="$dir" "$KEFU_BIN" migrate >>"$dir/seed.log" 2>&1
  "$SEED_BIN" --data-dir "$dir" --tickets "$tickets" >>"$dir/seed.log" 2>&1 \
    || { tail -20 "$dir/seed.log" >&2; die "seeding failed"; }
  t1=$(date +%s%N)
  KEFU_DATA_DIR="$dir" KEFU_PASSWORD="$ADMIN_PASSWORD" "$KEFU_BIN" user create \
    --email "$ADMIN_EMAIL" --role admin >>"$dir/seed.log" 2>&1
  awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.1f\n", ns / 1e9 }'
}

# start_kefu DIR PORT: starts `kefu serve` in the background (pid in KEFU_PID) and waits until /readyz
# answers 200; STARTUP_MS is the time from just before exec to that first 200.
KEFU_PID=""
start_kefu() {
  local dir=$1 port=$2 t0 t1
  if curl -s -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; then
    die "something already listens on 127.0.0.1:$port"
  fi
  t0=$(date +%s%N)
  KEFU_DATA_DIR="$dir" KEFU_LISTEN="127.0.0.1:$port" "$KEFU_BIN" serve >>"$dir/kefu.log" 2>&1 &
  KEFU_PID=$!
  until curl -s -f -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null; do
    kill -0 "$KEFU_PID" 2>/dev/null || { tail -20 "$dir/kefu.log" >&2; die "kefu exited during startup"; }
    t1=$(date +%s%N)
    [ $(((t1 - t0) / 1000000000)) -lt 120 ] || die "kefu did not become ready within 120 s"
    sleep 0.005
  done
  t1=$(date +%s%N)
  STARTUP_MS=$(((t1 - t0) / 1000000))
}

stop_kefu() {
  if [ -n "$KEFU_PID" ] && kill -0 "$KEFU_PID" 2>/dev/null; then
    kill -TERM "$KEFU_PID"
    for _ in $(seq 100); do kill -0 "$KEFU_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$KEFU_PID" 2>/dev/null && kill -KILL "$KEFU_PID"
    wait "$KEFU_PID" 2>/dev/null || true
  fi
  KEFU_PID=""
}

# rss_kib PID: resident set size of one process, from /proc/PID/status.
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

# make_token PORT: signs in as the admin and prints a new API token.
make_token() {
  local port=$1 base="http://127.0.0.1:$1/api/v1" jar csrf
  jar=$(mktemp)
  csrf=$(curl -s -f -c "$jar" -H 'Content-Type: application/json' \
    -d "{\"email\":\"$ADMIN_EMAIL\",\"password\":\"$ADMIN_PASSWORD\"}" "$base/auth/login" | jq -r .csrf_token)
  curl -s -f -b "$jar" -H 'Content-Type: application/json' -H "X-CSRF-Token: $csrf" \
    -d '{"name":"bench"}' "$base/auth/tokens" | jq -r .token
  rm -f "$jar"
}

# machine_ticks: busy and total clock ticks of all cores so far (/proc/stat). proc_ticks PID: one process's.
machine_ticks() { awk '/^cpu / { busy = $2 + $3 + $4 + $7 + $8 + $9; print busy, busy + $5 + $6 }' /proc/stat; }
proc_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

# wrk_once OUT CONNECTIONS SECONDS URL [-- LUA ARGS...]: one wrk run, raw output in OUT; prints its RESULT
# line, plus other_busy=: the share (%) of all cores that processes other than kefu and wrk used meanwhile.
wrk_once() {
  local out=$1 connections=$2 seconds=$3 url=$4 busy0 total0 busy1 total1 kefu0 kefu1 wrk_ticks
  shift 4
  read -r busy0 total0 < <(machine_ticks)
  kefu0=$(proc_ticks "$KEFU_PID")
  local TIMEFORMAT='%U %S'
  { time wrk -t1 -c"$connections" -d"${seconds}s" --timeout 10s --latency \
      -H "Authorization: Bearer $TOKEN" -s "$BENCH_DIR/kefu.lua" "$url" "$@" >"$out" 2>&1 || true; } 2>"$out.cpu"
  read -r busy1 total1 < <(machine_ticks)
  kefu1=$(proc_ticks "$KEFU_PID")
  wrk_ticks=$(awk -v hz="$(getconf CLK_TCK)" '{ printf "%d", ($1 + $2) * hz }' "$out.cpu")
  grep '^RESULT' "$out" >/dev/null || { cat "$out" >&2; die "wrk failed (see $out)"; }
  echo "$(grep '^RESULT' "$out") other_busy=$(((busy1 - busy0 - (kefu1 - kefu0) - wrk_ticks) * 100 / (total1 - total0)))"
}

# field LINE NAME: the value of NAME=... in a RESULT line.
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

# median: the median of the numbers on stdin (the lower middle one for an even count).
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

# cpu_busy_percent: how busy all cores were over the last second (everything on the machine, not only us).
cpu_busy_percent() {
  local a b
  a=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat)
  sleep 1
  b=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat)
  awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ");
    busy = y[1] - x[1]; idle = y[2] - x[2]; printf "%d\n", (busy + idle) ? 100 * busy / (busy + idle) : 0 }'
}

# wait_quiet: waits (at most QUIET_MAX seconds, default 60) until the machine is nearly idle, since other
# work on the same 2 cores (a build, a test suite) skews every figure. Prints the busy percentage it saw last.
wait_quiet() {
  local deadline=$(($(date +%s) + ${QUIET_MAX:-60})) busy
  while :; do
    busy=$(cpu_busy_percent)
    if [ "$busy" -le "${QUIET_BUSY:-15}" ] || [ "$(date +%s)" -ge "$deadline" ]; then
      [ "$busy" -le "${QUIET_BUSY:-15}" ] || log "machine still ${busy}% busy after ${QUIET_MAX:-60}s; measuring anyway"
      echo "$busy"
      return
    fi
  done
}
