#!/usr/bin/env bash
# Disk at rest and settled queries, as issue #9 measures them: starts bin/chronogo on a fresh data
# dir, loads LP_DATA through /write (db benchmark) with peers.sh's loader (LOADER, 4 workers, 5000
# lines), times the three queries at once ("right after the load"), waits until 150 s after the
# load ended, takes du of the whole directory and the RSS, times the queries again ("settled"),
# waits 15 s, takes the RSS again, stops the server and runs `chronogo inspect reportdisk`.
#
#   LP_DATA=/tmp/peers/data/cpu-1000h-24h-s1-int.lp LOADER=/tmp/peerbench/bin/load cmd/chronogo-bench/settle.sh
set -euo pipefail

: "${LP_DATA:?path of the line-protocol file to load through /write}"
: "${LOADER:?path of the loader that ../shared/tools/peerbench/peers.sh builds}"
SERVER=${SERVER:-bin/chronogo}
BENCH=${BENCH:-bin/chronogo-bench}
D=${SETTLE_DIR:-/tmp/chronogo-bench/settle-data}
HTTP=${SETTLE_PORT:-29400}
MONGO=$((HTTP + 1))

rm -rf "$D"; mkdir -p "$D"
"$SERVER" --data-dir "$D" --http-addr 127.0.0.1:$HTTP --mongo-addr 127.0.0.1:$MONGO --log-level warn > "$D.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf -o /dev/null http://127.0.0.1:$HTTP/health && break; sleep 0.2; done
"$LOADER" -file "$LP_DATA" -url "http://127.0.0.1:$HTTP/write?db=benchmark&precision=ns" -workers 4 -batch 5000 \
  -progress 0 -timeout 20m -json "$D.load.json" > /dev/null
END=$(date +%s)
echo "load: $(grep -o '"values_per_s":[0-9.]*' "$D.load.json"), $(grep VmHWM /proc/$PID/status)"
queries() {
  for q in q1 q2 q3; do
    "$BENCH" query --uri mongodb://127.0.0.1:$MONGO --db benchmark --coll cpu --file "$LP_DATA" --runs 9 --only $q | grep median
  done
}
echo "right after the load:"; queries
sleep $(( END + 150 - $(date +%s) ))
echo "150 s after the load: du $(du -s --block-size=1 "$D" | cut -f1) bytes, RSS $(grep VmRSS /proc/$PID/status | awk '{print $2}') kB"
echo "settled:"; queries
sleep 15
echo "RSS 15 s after the queries: $(grep VmRSS /proc/$PID/status | awk '{print $2}') kB"
kill $PID; wait $PID 2>/dev/null || true
trap - EXIT
"$SERVER" inspect reportdisk "$D"
