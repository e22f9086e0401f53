#!/usr/bin/env bash
# The README's test command: lint, the suite on SQLite, then on PostgreSQL.
# PostgreSQL: YIWANG_TEST_PG_URL (default postgresql://postgres@127.0.0.1:5432/test); each run makes
# and drops its own databases. Under CI=true an unreachable PostgreSQL is a failure, not a skip.
set -uo pipefail
cd "$(dirname "$0")/.."
UV=${UV:-$(command -v uv || echo "$PWD/.tools/bin/uv")}
PG_URL=${YIWANG_TEST_PG_URL:-postgresql://postgres@127.0.0.1:5432/test}
WORKERS=${YIWANG_TEST_WORKERS:-2}

"$UV" run --frozen ruff check src tests bench || exit 1

echo "== tests on SQLite"
"$UV" run --frozen pytest -n "$WORKERS" tests "$@"
rc=$?
[ $rc -eq 0 ] || exit $rc

pg_ready() {
  "$UV" run --frozen python - "$PG_URL" <<'PY'
import sys
import psycopg
try:
    psycopg.connect(sys.argv[1], connect_timeout=3).close()
except Exception as exc:
    print(f"PostgreSQL unreachable: {exc}", file=sys.stderr)
    sys.exit(1)
PY
}

if ! pg_ready; then
  # Start the local cluster if this machine has one (as CI's machine does) and try once more.
  if command -v pg_ctlcluster >/dev/null 2>&1 && ls /etc/postgresql >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start 2>/dev/null || true
    sleep 3
  fi
fi
if ! pg_ready; then
  if [ "${CI:-}" = "true" ]; then
    echo "FAIL: PostgreSQL is required in CI but cannot be reached at $PG_URL" >&2
    exit 1
  fi
  echo "PostgreSQL not reachable: skipped the PostgreSQL run (outside CI only)." >&2
  exit 0
fi

echo "== tests on PostgreSQL"
YIWANG_TEST_DATABASE_URL="$PG_URL" "$UV" run --frozen pytest -n "$WORKERS" tests "$@"
