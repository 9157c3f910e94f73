#!/usr/bin/env bash
# Server benchmark, called by `make bench-server`: starts bin/chronogo on free ports with a fresh
# data dir, loads LP_DATA through /write (db bench), times the queries on bench.cpu, loads
# MONGO_DATA through the Go driver (db benchmongo), stops the server with SIGTERM and prints one
# markdown table. Progress goes to stderr, the table to stdout; raw results stay in $WORK.
#
#   LP_DATA=/tmp/chronogo-bench/cpu-1000h.lp MONGO_DATA=/tmp/chronogo-bench/cpu-100h.lp cmd/chronogo-bench/run.sh
#   BENCH_PPROF=1 also saves 30 s CPU profiles of the server during the load and the queries;
#   BENCH_QUERIES=0 skips the queries; BENCH_RUNS (9) and BENCH_WORKERS (4) tune the runs.
set -euo pipefail

: "${LP_DATA:?path of the line-protocol file to load through /write}"
: "${MONGO_DATA:?path of the file to load through the Go driver}"
SERVER=${SERVER:-bin/chronogo}
BENCH=${BENCH:-bin/chronogo-bench}
WORKERS=${BENCH_WORKERS:-4}
RUNS=${BENCH_RUNS:-9}
WORK=${BENCH_WORK:-/tmp/chronogo-bench/server-run}

log() { echo "bench-server: $*" >&2; }

rm -rf "$WORK"
mkdir -p "$WORK"
read -r MONGO_PORT HTTP_PORT RAFT_PORT < <("$BENCH" free-ports --n 3)
URL=http://127.0.0.1:$HTTP_PORT
URI=mongodb://127.0.0.1:$MONGO_PORT

"$SERVER" --pprof --data-dir "$WORK/data" --mongo-addr "127.0.0.1:$MONGO_PORT" --http-addr "127.0.0.1:$HTTP_PORT" \
  --raft-addr "127.0.0.1:$RAFT_PORT" --log-level warn 2>"$WORK/server.log" &
PID=$!
stop_server() {
  if kill -0 "$PID" 2>/dev/null; then
    kill -TERM "$PID"
    wait "$PID" || log "server exited with status $? (see $WORK/server.log)"
  fi
}
trap stop_server EXIT
"$BENCH" wait-ready --url "$URL/health" --timeout 60s
log "server pid $PID, mongo $URI, http $URL, data $WORK/data"

# profile NAME: a 30 s CPU profile of the server in the background, after the previous one
# (BENCH_PPROF=1 only); CLIENT_PROF is the client's --cpuprofile flag.
PROF_PID=
CLIENT_PROF=()
profile() {
  if [[ -n "${BENCH_PPROF:-}" ]]; then
    [[ -z "$PROF_PID" ]] || wait "$PROF_PID" || true
    curl -sS -o "$WORK/server-$1.pprof" "$URL/debug/pprof/profile?seconds=30" &
    PROF_PID=$!
    CLIENT_PROF=(--cpuprofile "$WORK/client-$1.pprof")
  fi
}

log "load-lineproto $LP_DATA"
profile load-lineproto
"$BENCH" load-lineproto --url "$URL" --db bench --file "$LP_DATA" --workers "$WORKERS" --batch-lines 5000 \
  --server-pid "$PID" --json "$WORK/load-lineproto.json" "${CLIENT_PROF[@]}" >&2

RESULTS=("$WORK/load-lineproto.json" "$WORK/load-mongo.json")
if [[ "${BENCH_QUERIES:-1}" != 0 ]]; then
  log "queries on bench.cpu, $RUNS runs each"
  profile query
  "$BENCH" query --uri "$URI" --db bench --coll cpu --file "$LP_DATA" --runs "$RUNS" --json "$WORK/query.json" >&2
  RESULTS+=("$WORK/query.json")
fi

log "load-mongo $MONGO_DATA"
profile load-mongo
"$BENCH" load-mongo --uri "$URI" --db benchmongo --coll cpu --file "$MONGO_DATA" --workers "$WORKERS" --batch 5000 \
  --server-pid "$PID" --json "$WORK/load-mongo.json" "${CLIENT_PROF[@]}" >&2

[[ -z "$PROF_PID" ]] || wait "$PROF_PID" || true
stop_server
du -sh "$WORK/data" >&2
rm -rf "$WORK/data"
"$BENCH" report "${RESULTS[@]}"
