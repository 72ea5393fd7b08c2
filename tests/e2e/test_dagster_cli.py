"""`dagster asset materialize` with a persistent DAGSTER_HOME, as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
from dagster._core.instance.ref import InstanceRef
import pytest

import rivet_dagster
from tests.integration.db_fixtures import pg_execute

REPO = Path(__file__).parents[2]
DAGSTER = Path(sys.executable).with_name("dagster")
CONFIG = """
source: {{type: postgres, url: "{url}", tuning: {{profile: fast}}}}
exports:
  - name: cli_items
    table: items
    format: parquet
    destination: {{type: local, path: "{out}"}}
  - name: cli_broken
    query: "SELECT * FROM no_such_table"
    format: csv
    destination: {{type: local, path: "{out}"}}
"""


def _materialize(home: Path, config: Path, select: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DAGSTER_HOME": str(home), "RIVET_CONFIG": str(config)}
    return subprocess.run(
        [str(DAGSTER), "asset", "materialize", "-f", str(REPO / "definitions.py"),
         "--select", select], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_cli_materialize_twice_with_persistent_home(pg_url, tmp_path):
    pg_execute(pg_url, "CREATE TABLE items AS SELECT g AS id FROM generate_series(1, 1234) g")
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("")
    config = tmp_path / "rivet.yaml"
    config.write_text(CONFIG.format(url=pg_url, out=tmp_path / "out"))
    for _ in range(2):
        proc = _materialize(home, config, "cli_items")
        assert proc.returncode == 0, proc.stderr[-4000:]
        assert "RUN_SUCCESS" in proc.stderr + proc.stdout
    defs = rivet_dagster.build_defs(config)
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey("cli_items"))
        md = event.asset_materialization.metadata
        assert md["rivet/snapshot"].value == 2
        assert md["dagster/row_count"].value == 1234
        assert defs.load_asset_value("cli_items", instance=instance).count_rows() == 1234

    broken = _materialize(home, config, "cli_broken")
    assert broken.returncode != 0
    output = broken.stderr + broken.stdout
    assert "export 'cli_broken'" in output and "no_such_table" in output
    assert not (tmp_path / "out" / "cli_broken").exists() or not any(
        (tmp_path / "out" / "cli_broken").rglob("manifest.json"))
