#!/usr/bin/env bash
# wrk against `eventdag serve` on the embedded store, default settings
# (docs/benchmarks.md, "HTTP against /healthz"): /healthz (the HTTP floor),
# GET /v1/events/{id}, GET …/ancestors?limit=100 and durable
# POST /v1/events, 16 connections each, in one run. Needs wrk (Debian
# package) and a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${EVENTDAG_BIN:-target/release/eventdag}
seconds=${SECONDS_PER_ROW:-10}
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
EVENTDAG_ADDR="127.0.0.1:$port" "$bin" --data "$data/store" serve >/dev/null 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -rf "$data"' EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 1 50); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.2; done
post() { curl -sf -H 'content-type: application/json' -d "$1" "$base/v1/events"; }
id() { python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }
tip=$(post '{"payload":{"n":0}}' | id)
for n in $(seq 1 150); do tip=$(post "{\"payload\":{\"n\":$n},\"parents\":[\"$tip\"]}" | id); done
lua=$(mktemp --suffix=.lua)
cat > "$lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"payload":{"step":"act","n":1}}'
wrk.headers["Content-Type"] = "application/json"
LUA
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
row() { echo "== $1"; shift; wrk -t2 -c16 -d"${seconds}s" --latency "$@" | grep -E "Requests/sec|Non-2xx|50%|99%|requests in"; }
row "GET /healthz" "$base/healthz"
row "GET /v1/events/{id}" "$base/v1/events/$tip"
row "GET /v1/events/{id}/ancestors?limit=100" "$base/v1/events/$tip/ancestors?limit=100"
row "POST /v1/events (durable)" -s "$lua" "$base/v1/events"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
rm -f "$lua"
