#!/usr/bin/env bash
# Install and run the demo: venv + `pip install -e '.[dev]'`, local PostgreSQL and MariaDB,
# demo data, then materialize every asset of dev/rivet.yaml and dev/rivet_mysql.yaml into ./out
# and print what was written.
#
#   bash dev/demo.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export PIP_NO_INPUT=1 PIP_DISABLE_PIP_VERSION_CHECK=1

# shellcheck source=dev/venv.sh
source "$ROOT/dev/venv.sh"

ensure_venv dev
bash dev/services.sh
bash dev/seed_demo.sh

# --- materialize every asset of both demo files ----------------------------------------------
export DAGSTER_HOME=$ROOT/.dagster_home
mkdir -p "$DAGSTER_HOME"
[ -f "$DAGSTER_HOME/dagster.yaml" ] || printf 'telemetry:\n  enabled: false\n' > "$DAGSTER_HOME/dagster.yaml"

failed=()
for config in dev/rivet.yaml dev/rivet_mysql.yaml; do
  echo
  echo "=== materializing $config"
  start=$(date +%s)
  if RIVET_CONFIG=$ROOT/$config .venv/bin/dagster asset materialize -f definitions.py --select '*'; then
    echo "=== $config: done in $(( $(date +%s) - start )) s"
  else
    echo "=== $config: FAILED" >&2
    failed+=("$config")
  fi
done

# --- summary ---------------------------------------------------------------------------------
echo
echo "=== output under ./out"
if [ -d out ]; then
  .venv/bin/python - <<'EOF'
import json, os
from pathlib import Path

def human(n):
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024

def first(d, *keys):
    for k in keys:
        if isinstance(d, dict) and d.get(k) is not None:
            return d[k]
    return None

out = Path("out")
for directory in sorted(p for p in out.rglob("*") if p.is_dir()) or [out]:
    files = sorted(p for p in directory.iterdir() if p.is_file())
    if not files:
        continue
    print(f"{directory}/")
    for f in files:
        print(f"  {f.name:<60} {human(f.stat().st_size):>10}")
print()
manifests = sorted(out.rglob("manifest.json"))
if not manifests:
    print("no manifest.json found under ./out")
for m in manifests:
    try:
        data = json.loads(m.read_text())
    except (OSError, ValueError) as exc:
        print(f"{m}: unreadable ({exc})")
        continue
    export = first(data, "export", "export_name", "name")
    rows = first(data, "row_count", "rows", "total_rows")
    parts = first(data, "parts", "files")
    nparts = len(parts) if isinstance(parts, list) else parts
    print(f"{m}: export={export} row_count={rows} parts={nparts}")
EOF
else
  echo "(nothing: ./out does not exist)"
fi

if [ ${#failed[@]} -gt 0 ]; then
  echo
  echo "demo: materialize failed for: ${failed[*]}" >&2
  exit 1
fi
echo
echo "demo: all assets materialized"
