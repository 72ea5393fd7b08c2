"""An export does not import pyarrow.compute or pyarrow.dataset (nor ADBC's DB-API layer,
which imports both): together they cost about 0.1 s of every process start, against the
0.4-0.5 s the bench's engine process takes to start at all (docs/performance.md). Arrow's
kernels are called by name (rivet_dagster/kernels.py) and ADBC through its own objects."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.db_fixtures import mysql_execute, pg_execute

HEAVY = ("pyarrow.compute", "pyarrow.dataset", "adbc_driver_manager.dbapi")
HELPER = Path(__file__).with_name("run_export_subprocess.py")  # the export, as other tests run it
SCRIPT = f"""
import json, logging, runpy, sys
logging.basicConfig(level=logging.INFO, stream=sys.stderr)  # the start line names the reader
sys.argv = [{str(HELPER)!r}, sys.argv[1], "t"]
runpy.run_path(sys.argv[0], run_name="__main__")
print(json.dumps({{"loaded": [m for m in {HEAVY!r} if m in sys.modules]}}))
"""
CONFIG = """
source: {{type: {engine}, url: "{url}", tuning: {{profile: fast}}}}
exports:
  - name: t
    table: t
    format: {fmt}
    destination: {{type: local, path: "{out}"}}
"""


def _export(tmp_path: Path, engine: str, url: str, fmt: str, env: dict[str, str]
            ) -> tuple[dict, str]:
    config = tmp_path / f"{fmt}.yaml"
    config.write_text(CONFIG.format(engine=engine, url=url, fmt=fmt, out=tmp_path / fmt))
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(config)], capture_output=True,
                          text=True, timeout=300, env={**os.environ, **env})
    assert proc.returncode == 0, proc.stderr[-3000:]
    *_, exported, imported = (json.loads(line) for line in proc.stdout.strip().splitlines())
    return {"rows": exported["rows"], "loaded": imported["loaded"]}, proc.stderr


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_postgres_adbc_reader_imports_neither(pg_url, tmp_path, fmt):
    pg_execute(pg_url, """
        CREATE TABLE IF NOT EXISTS t AS SELECT g AS id, (g / 7.0)::numeric(12, 4) AS amount,
               ARRAY['a', g::text] AS tags, timestamptz '2024-01-01' + g * interval '1 min' AS at,
               md5(g::text) AS label
        FROM generate_series(1, 5000) g""")
    result, log = _export(tmp_path, "postgres", pg_url, fmt, {"RIVET_POSTGRES_READER": "copy"})
    assert "PostgresCopyStream" in log, log[-2000:]  # ADBC read it
    assert result == {"rows": 5000, "loaded": []}


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_mysql_native_reader_imports_neither(mysql_url, tmp_path, fmt):
    mysql_execute(mysql_url, "DROP TABLE IF EXISTS t", """
        CREATE TABLE t (id BIGINT PRIMARY KEY, amount DECIMAL(12, 4), d DATE, at DATETIME(3),
                        t TIME, flag BIT(1), doc JSON, label VARCHAR(40))""", """
        INSERT INTO t SELECT seq, seq / 7, '2024-02-29', '2024-01-01 10:00:00.125', '12:34:56',
                             seq % 2, '{"a": 1}', MD5(seq) FROM seq_1_to_5000""")
    result, log = _export(tmp_path, "mysql", mysql_url, fmt, {"RIVET_MYSQL_READER": "native"})
    assert "native" in log, log[-2000:]
    assert result == {"rows": 5000, "loaded": []}
