#!/usr/bin/env bash
# The benchmark, one command:  bash bench/run.sh [--quick] [--repeat N] [--only TOOL,...]
#                                               [--cases CASE,...] [--scale N] [--skip-seed]
# 1. the project's venv (.venv, `pip install -e .`) runs rivet-dagster;
# 2. bench/.venv holds the peers (bench/requirements.txt), never the project's dependencies;
# 3. /usr/bin/time (Debian `time`) is installed when missing;
# 4. dev/services.sh starts PostgreSQL and MariaDB;
# 5. bench/harness.py seeds `rivet_bench` (idempotent), runs every tool x case and reports.
# See bench/README.md.
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 DEBIAN_FRONTEND=noninteractive

for arg in "$@"; do
  case "$arg" in -h|--help) exec "$PY" "$BENCH/harness.py" --help ;; esac
done

log() { echo "bench: $*" >&2; }

# -- 1. project venv -------------------------------------------------------------------------
if [ ! -x "$ROOT/.venv/bin/python" ]; then
  log "creating $ROOT/.venv"
  "$PY" -m venv "$ROOT/.venv"
fi
stale_decoder() {  # a C decoder (rivet_dagster/native/NAME.c) not built, or older than its source
  local so
  so=$(ls "$ROOT"/rivet_dagster/_"$1"*.so 2>/dev/null | head -1 || true)
  [ -z "$so" ] || [ "$ROOT/rivet_dagster/native/$1.c" -nt "$so" ] \
    || [ "$ROOT/rivet_dagster/native/arrow_columns.h" -nt "$so" ]
}
if [ ! -x "$ROOT/.venv/bin/dagster" ] || ! "$ROOT/.venv/bin/python" -c "import rivet_dagster" 2>/dev/null \
   || stale_decoder pgcopy || stale_decoder myrows; then
  log "installing rivet-dagster into .venv (pip install -e .)"
  "$ROOT/.venv/bin/python" -m pip install -q -e "$ROOT" >&2
fi

# -- 2. peers venv ---------------------------------------------------------------------------
V=$BENCH/.venv
STAMP=$V/.requirements.sha1
WANT=$(sha1sum "$BENCH/requirements.txt" | cut -d' ' -f1)
if [ ! -x "$V/bin/python" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
  log "installing the peers into bench/.venv (bench/requirements.txt)"
  [ -x "$V/bin/python" ] || "$PY" -m venv "$V"
  "$V/bin/python" -m pip install -q -r "$BENCH/requirements.txt" >&2
  echo "$WANT" > "$STAMP"
fi
# duckdb-cli's wheel ships its binary without the executable bit (sling runs it)
[ -f "$V/bin/duckdb" ] && [ ! -x "$V/bin/duckdb" ] && chmod +x "$V/bin/duckdb"
for f in "$V"/lib/python3*/site-packages/sling_linux_amd64/bin/sling-linux-amd64; do
  [ -f "$f" ] && [ ! -x "$f" ] && chmod +x "$f"
done

# -- 3. /usr/bin/time ------------------------------------------------------------------------
if [ ! -x /usr/bin/time ]; then
  log "installing GNU time (apt-get install time)"
  apt-get update -qq >&2 && apt-get install -y -qq time >&2
fi

# -- 4. databases ----------------------------------------------------------------------------
bash "$ROOT/dev/services.sh" start pg mysql >&2

# -- 5. seed, measure, report ----------------------------------------------------------------
exec "$V/bin/python" "$BENCH/harness.py" "$@"
