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

cargo test --workspace "$@"
