#!/usr/bin/env bash
# Install and run the whole test suite: venv + `pip install -e '.[test]'`, local PostgreSQL and
# MariaDB (dev/services.sh), then pytest. Extra arguments go to pytest:
#
#   bash dev/test.sh                      everything
#   bash dev/test.sh tests/unit -x        a subset
#
# Exits non-zero on any failure, including "no tests collected" (pytest exit code 5).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export PIP_NO_INPUT=1 PIP_DISABLE_PIP_VERSION_CHECK=1

ensure_venv() {  # ensure_venv EXTRA  (same logic as dev/demo.sh)
  local extra=$1 py stamp want
  if [ ! -x .venv/bin/python ]; then
    py=$(command -v python3.11 || command -v python3.12 || command -v python3 || true)
    [ -n "$py" ] || { echo "test: python3.11 not found" >&2; exit 1; }
    "$py" -c 'import sys; sys.exit(sys.version_info[:2] not in ((3, 11), (3, 12)))' \
      || { echo "test: $py is not Python 3.11/3.12" >&2; exit 1; }
    echo "creating .venv with $py"
    if ! "$py" -m venv .venv; then
      rm -rf .venv
      if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then   # Debian: venv needs pythonX.Y-venv
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
          "python3.$("$py" -c 'import sys; print(sys.version_info[1])')-venv" >/dev/null
        "$py" -m venv .venv
      else
        echo "test: '$py -m venv' failed (install python3-venv)" >&2; exit 1
      fi
    fi
  fi
  stamp=.venv/.rivet-dagster-$extra.stamp
  want="$(sha256sum pyproject.toml | cut -d' ' -f1) $ROOT"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] \
     || ! .venv/bin/python -I -c 'import importlib.util as u, os, sys; s = u.find_spec("rivet_dagster")
sys.exit(s is None or not os.path.realpath(s.origin).startswith(os.path.realpath(sys.argv[1]) + os.sep))' "$ROOT" 2>/dev/null; then
    echo "installing rivet-dagster[$extra] into .venv (pip, quiet)"
    local log=.venv/.rivet-dagster-pip.log
    if ! .venv/bin/python -m pip install -q -e ".[$extra]" >"$log" 2>&1; then
      cat "$log" >&2; echo "test: pip install -e '.[$extra]' failed (log above)" >&2; exit 1
    fi
    echo "$want" > "$stamp"
  fi
}

ensure_venv test
bash dev/services.sh

rc=0
.venv/bin/python -m pytest -q -p no:cacheprovider "$@" </dev/null || rc=$?
if [ "$rc" = 5 ]; then
  echo "test: pytest collected no tests (exit code 5) - treated as a failure" >&2
fi
exit "$rc"
