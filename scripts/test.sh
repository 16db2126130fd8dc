#!/usr/bin/env bash
# The one command that runs every test (the README's test command; CI runs
# it too). It first makes sure that what the tests need is there: the
# PostgreSQL server of this machine, Chromium with its driver for the
# browser test of the web explorer, and openapi-spec-validator for the
# test of the OpenAPI document. Arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "== PostgreSQL is not answering on 127.0.0.1:5432; starting it"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  echo "== installing Chromium and ChromeDriver (Debian packages) for the browser test"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi

if ! python3 -c "import openapi_spec_validator" 2>/dev/null; then
  echo "== installing openapi-spec-validator (PyPI) for the OpenAPI document test"
  python3 -m pip install -q openapi-spec-validator
fi
if ! command -v schemathesis >/dev/null 2>&1; then
  echo "== installing schemathesis (PyPI) for the API contract run"
  python3 -m pip install -q schemathesis
fi

# The PostgreSQL tests copy a migrated template database
# (eventdag_template_<hash of the migrations>, built by the first test that
# needs it); it is dropped when this script ends, like every scratch
# database, so the shared server keeps nothing of the run.
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi
  local url="${EVENTDAG_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
  for template in $(psql "$url" -Atc \
      "SELECT datname FROM pg_database WHERE datname LIKE 'eventdag\_template\_%'" 2>/dev/null); do
    psql "$url" -qc "DROP DATABASE IF EXISTS \"$template\" WITH (FORCE)" >/dev/null 2>&1 || true
  done
}
trap cleanup EXIT

cargo test --workspace "$@"

# schemathesis, every check on, against the real server (in-memory store,
# default settings but the address): every status documented, every
# schema-valid request accepted, every schema-violating one refused, every
# answer matching its schema. Zero failures or this script fails.
echo "== schemathesis --checks all against eventdag serve"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
EVENTDAG_ADDR="127.0.0.1:$port" target/debug/eventdag --store memory: serve >/dev/null 2>&1 &
server=$!
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
schemathesis run "http://127.0.0.1:$port/openapi.json" --checks all --max-examples 20 \
  --request-timeout 2 --no-color
kill "$server" 2>/dev/null || true
