#!/usr/bin/env bash
# The whole test suite: lint, format check, then pytest twice, once on SQLite and once on PostgreSQL
# (COPRODUCE_TEST_DATABASE=postgresql gives every test its own fresh PostgreSQL database: tests/dbtarget.py).
# Arguments go to both pytest runs. TEST_DATABASES="sqlite" (or "postgresql") runs one pass only.
set -euo pipefail
cd "$(dirname "$0")/.."

.venv/bin/ruff check .
.venv/bin/ruff format --check .

# PostgreSQL: these machines run a server on localhost with trust auth; start it if it is not answering.
# The URL is an admin connection: the tests create (and drop) their own databases through it.
postgres_url="${COPRODUCE_TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}"
postgres_answers() {
  .venv/bin/python - "$postgres_url" <<'PY' >/dev/null 2>&1
import sys
from sqlalchemy import create_engine, text

engine = create_engine(sys.argv[1], connect_args={"connect_timeout": 5})
with engine.connect() as connection:
    connection.execute(text("SELECT 1"))
PY
}
if ! postgres_answers && command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
  echo "PostgreSQL is not answering at $postgres_url; starting the local cluster" >&2
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  for _ in $(seq 1 20); do postgres_answers && break; sleep 1; done
fi
# Tests marked `postgres` (and the PostgreSQL pass) read this; unset, they skip in the SQLite pass.
if postgres_answers; then export COPRODUCE_TEST_POSTGRES_URL="$postgres_url"; else unset COPRODUCE_TEST_POSTGRES_URL; fi

databases=${TEST_DATABASES:-sqlite postgresql}
status=0
summary=()
for database in $databases; do
  if [ "$database" = postgresql ] && [ -z "${COPRODUCE_TEST_POSTGRES_URL:-}" ]; then
    echo "" >&2
    echo "!!! NO POSTGRESQL SERVER: nothing answers at $postgres_url, so the PostgreSQL pass" >&2
    echo "!!! did not run. Start one (pg_ctlcluster ... main start) or set COPRODUCE_TEST_POSTGRES_URL." >&2
    if [ "${CI:-}" = true ]; then
      summary+=("postgresql: NOT RUN (no server) -> failing, CI=true")
      status=1
    else
      summary+=("postgresql: NOT RUN (no server)")
    fi
    continue
  fi
  echo ""
  echo "=== pytest on ${database} (COPRODUCE_TEST_DATABASE=${database}) ==="
  started=$SECONDS
  set +e
  COPRODUCE_TEST_DATABASE=$database .venv/bin/pytest "$@"
  code=$?
  set -e
  # pytest exits 5 when it collected no test: that is a failure of the run, not a pass.
  summary+=("${database}: pytest exit ${code} in $((SECONDS - started)) s")
  [ "$code" -eq 0 ] || status=1
done

echo ""
echo "=== test passes ==="
printf '%s\n' "${summary[@]}"
exit "$status"
