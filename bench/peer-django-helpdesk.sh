#!/usr/bin/env bash
# django-helpdesk measured beside Kefu, on the same machine: runs the shared peer scripts
# (../shared/bench/peers: venv, 100k tickets on SQLite, gunicorn with 5 workers on loopback), saves their
# figures next to Kefu's, and stops the peer afterwards. Run it when nothing else loads the machine (not
# during a build or bench/run.sh), since both compete for the same 2 cores.
#
# Usage: bench/peer-django-helpdesk.sh
# Env:
#   PEERS_DIR  the shared peer scripts        (default <repo>/../shared/bench/peers)
#   PEER_PORT  loopback port for gunicorn     (default 8801)
#   DUR        seconds per wrk run            (default 15, as the peer script)
#   RESULTS    output folder                  (default bench/results/<time>-django-helpdesk)
#   KEEP_PEER  1 leaves gunicorn running      (default 0)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PEERS_DIR="${PEERS_DIR:-$REPO/../shared/bench/peers}"
PEER_PORT="${PEER_PORT:-8801}"
RESULTS="${RESULTS:-$BENCH_DIR/results/$(date +%Y%m%dT%H%M%S)-django-helpdesk}"
PIDFILE="${XDG_CACHE_HOME:-$HOME/.cache}/peers/django-helpdesk/state-sqlite/gunicorn.pid"
[ -f "$PEERS_DIR/setup-django-helpdesk.sh" ] || die "no peer scripts in $PEERS_DIR"
mkdir -p "$RESULTS"

stop_peer() {
  if [ "${KEEP_PEER:-0}" != 1 ] && [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    log "stopping gunicorn (pid $(cat "$PIDFILE"))"
    kill "$(cat "$PIDFILE")"
  fi
}
trap stop_peer EXIT

need_tools
log "setting up django-helpdesk (the first time: a venv and 100k tickets, a few minutes)"
# RESTART=1: a fresh gunicorn start, so its start-to-first-answer is measured in this run too.
RESTART=1 bash "$PEERS_DIR/setup-django-helpdesk.sh" "$PEER_PORT" 2>&1 | tee "$RESULTS/setup.txt" >&2
sleep 5 # let the workers settle before the idle memory reading
log "measuring django-helpdesk (machine $(wait_quiet)% busy before)"
DUR="${DUR:-15}" bash "$PEERS_DIR/load-django-helpdesk.sh" "$PEER_PORT" 2>&1 | tee "$RESULTS/load.txt"
log "results in $RESULTS"
