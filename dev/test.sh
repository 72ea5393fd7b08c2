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

# shellcheck source=dev/venv.sh
source "$ROOT/dev/venv.sh"

ensure_venv test
bash dev/services.sh

rc=0
.venv/bin/python -m pytest -q -p no:cacheprovider "$@" </dev/null || rc=$?
if [ "$rc" = 5 ]; then
  echo "test: pytest collected no tests (exit code 5) - treated as a failure" >&2
fi
exit "$rc"
