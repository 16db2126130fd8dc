#!/usr/bin/env bash
# Counts the SQL statements PostgreSQL receives for one HTTP append with a
# client-chosen id and a parent (docs/benchmarks.md, "statements per
# append"). Starts `eventdag serve` on a scratch database whose sessions
# log every statement, appends a root, then counts what the child's
# append sent. Needs the machine's PostgreSQL (log in
# /var/log/postgresql/postgresql-15-main.log) and a built release binary.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${EVENTDAG_BIN:-target/release/eventdag}
log=$(ls /var/log/postgresql/postgresql-*-main.log | head -n 1)
db="eventdag_stmt_$$"
port=$((20000 + RANDOM % 20000))
psql -qh 127.0.0.1 -U postgres -c "CREATE DATABASE $db" >/dev/null
cleanup() {
  [ -n "${server:-}" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  psql -qh 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
}
trap cleanup EXIT
EVENTDAG_ADDR="127.0.0.1:$port" "$bin" --store "postgres://postgres@127.0.0.1:5432/$db" serve >/dev/null 2>&1 &
server=$!
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
root=$(curl -sf -H 'content-type: application/json' -d '{"payload":{"step":"root"}}' "http://127.0.0.1:$port/v1/events" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
# Log every statement of this database's sessions from now on; the pool's
# connections pick the setting up when they (re)connect, so restart them.
psql -qh 127.0.0.1 -U postgres -c "ALTER DATABASE $db SET log_statement = 'all'" >/dev/null
psql -qh 127.0.0.1 -U postgres -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$db'" >/dev/null
curl -s "http://127.0.0.1:$port/v1/events/$root" >/dev/null || true  # reconnects the pool
curl -s "http://127.0.0.1:$port/v1/events/$root" >/dev/null
sleep 0.5
start=$(wc -l < "$log")
id=$(python3 -c 'import uuid,time,os; t=int(time.time()*1000); b=bytearray(t.to_bytes(6,"big")+os.urandom(10)); b[6]=(b[6]&0x0f)|0x70; b[8]=(b[8]&0x3f)|0x80; print(uuid.UUID(bytes=bytes(b)))')
curl -sf -H 'content-type: application/json' -d "{\"payload\":{\"step\":\"child\"},\"id\":\"$id\",\"parents\":[\"$root\"]}" "http://127.0.0.1:$port/v1/events" >/dev/null
sleep 0.5
tail -n +"$((start + 1))" "$log" | grep "@$db LOG:  \(statement\|execute\)" > "/tmp/$db.statements" || true
echo "statements for one HTTP append (client-chosen id, one parent):"
sed -E 's/^.*LOG:  (statement|execute [^:]*): //' "/tmp/$db.statements" | cut -c1-110 | nl
echo "total: $(wc -l < "/tmp/$db.statements")"
