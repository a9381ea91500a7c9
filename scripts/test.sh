#!/usr/bin/env bash
# The whole test suite: lint, format check, then pytest (with PostgreSQL when a server answers).
set -euo pipefail
cd "$(dirname "$0")/.."

.venv/bin/ruff check .
.venv/bin/ruff format --check .

# PostgreSQL tests run against a real server; these machines run one on localhost with trust auth.
if [ -z "${COPRODUCE_TEST_POSTGRES_URL:-}" ] && command -v pg_isready >/dev/null; then
  if ! pg_isready -q -h 127.0.0.1 -p 5432 && command -v pg_ctlcluster >/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
  if pg_isready -q -h 127.0.0.1 -p 5432; then
    export COPRODUCE_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:5432/test"
  fi
fi

exec .venv/bin/pytest "$@"
