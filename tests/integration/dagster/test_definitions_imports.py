"""Loading the definitions imports neither pyarrow nor a database driver.

Every Dagster process loads them: the code server the UI and the daemon talk to, each run's
coordinator, each step process. Only the process that runs an export needs pyarrow and a
driver (about 0.1 s and 37 MB of the 0.2-0.3 s and 43 MB loading took before, measured in
docs/performance.md). The same interpreter then materializes an export, so the names loaded
on first use (`rivet_dagster.engine.run_export`, the destinations) are shown to resolve.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.db_fixtures import mysql_execute, pg_execute

HEAVY = ("pyarrow", "psycopg", "mysql.connector", "connectorx", "adbc_driver_manager",
         "adbc_driver_postgresql")
CONFIG = """
source: {{type: {engine}, url: "{url}"}}
exports:
  - {{name: full, table: lean_t, format: parquet, destination: {{type: local, path: "{out}"}}}}
  - {{name: inc, table: lean_t, mode: incremental, cursor_column: id, format: parquet,
      destination: {{type: local, path: "{out}"}}}}
  - {{name: chunks, table: lean_t, mode: chunked, chunk_column: id, chunk_size: 10, format: csv,
      destination: {{type: local, path: "{out}"}}}}
  - {{name: days, table: lean_t, mode: time_window, time_column: at, time_column_type: unix,
      format: parquet, destination: {{type: local, path: "{out}"}},
      dagster: {{partition_start: "2024-01-01"}}}}
  - {{name: week, table: lean_t, mode: time_window, time_column: at, time_column_type: unix,
      days_window: 7, format: csv, destination: {{type: stdout}}}}
"""
SCRIPT = f"""
import json, sys
import dagster as dg
import rivet_dagster

defs = rivet_dagster.build_defs(sys.argv[1])
repo = defs.get_repository_def()  # resolves every asset, check, job, sensor and resource
names = sorted(k.to_user_string() for k in repo.asset_graph.get_all_asset_keys())
loaded = [m for m in {HEAVY!r} if m in sys.modules]
full = [a for a in defs.assets if dg.AssetKey("full") in a.keys]
result = dg.materialize(full, instance=dg.DagsterInstance.ephemeral(), resources=defs.resources)
rows = result.asset_materializations_for_node("full")[0].metadata["dagster/row_count"].value
print(json.dumps({{"assets": names, "sensors": len(repo.sensor_defs), "loaded": loaded,
                  "rows": rows, "pyarrow_after": "pyarrow" in sys.modules}}))
"""


def _load_then_materialize(tmp_path: Path, engine: str, url: str) -> dict:
    config = tmp_path / f"{engine}.yaml"
    config.write_text(CONFIG.format(engine=engine, url=url, out=tmp_path / "out"))
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(config)], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("engine", ["postgres", "mysql"])
def test_definitions_load_without_pyarrow_or_drivers(engine, pg_url, mysql_url, tmp_path):
    if engine == "postgres":
        url = pg_url
        pg_execute(url, "DROP TABLE IF EXISTS lean_t")
        pg_execute(url, "CREATE TABLE lean_t AS SELECT g AS id, 1704067200 + g * 3600 AS at "
                        "FROM generate_series(1, 42) g")
    else:
        url = mysql_url
        mysql_execute(url, "DROP TABLE IF EXISTS lean_t",
                      "CREATE TABLE lean_t AS SELECT seq AS id, 1704067200 + seq * 3600 AS at "
                      "FROM seq_1_to_42")
    seen = _load_then_materialize(tmp_path, engine, url)
    assert seen["assets"] == ["chunks", "days", "full", "inc", "week"]
    assert seen["sensors"] >= 1  # the incremental export's refresh sensor was built too
    assert seen["loaded"] == []
    assert seen["rows"] == 42
    assert seen["pyarrow_after"] is True
