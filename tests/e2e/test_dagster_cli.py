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


def _home_and_config(tmp_path: Path, text: str) -> tuple[Path, Path]:
    """A persistent DAGSTER_HOME (as a deployment has) and the YAML file."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("")
    config = tmp_path / "rivet.yaml"
    config.write_text(text)
    return home, config


def _materialize(home: Path, config: Path, select: str,
                 extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DAGSTER_HOME": str(home), "RIVET_CONFIG": str(config),
           **(extra_env or {})}
    return subprocess.run(
        [str(DAGSTER), "asset", "materialize", "-f", str(REPO / "definitions.py"),
         "--select", select], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_cli_materialize_twice_with_persistent_home(pg_url, tmp_path):
    pg_execute(pg_url, "CREATE TABLE items AS SELECT g AS id FROM generate_series(1, 1234) g")
    home, config = _home_and_config(tmp_path, CONFIG.format(url=pg_url, out=tmp_path / "out"))
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


@pytest.mark.slow
def test_in_process_executor_runs_the_export_in_the_run_process(pg_url, tmp_path):
    pg_execute(pg_url, "CREATE TABLE items_ip AS SELECT g AS id FROM generate_series(1, 321) g")
    home, config = _home_and_config(tmp_path, "dagster: {executor: in_process}\n" + CONFIG.replace(
        "table: items", "table: items_ip").format(url=pg_url, out=tmp_path / "out"))
    assert rivet_dagster.build_defs(config).executor is dg.in_process_executor
    proc = _materialize(home, config, "cli_items")
    output = proc.stderr + proc.stdout
    assert proc.returncode == 0, output[-4000:]
    assert "Executing steps in process" in output and "multiprocess" not in output
    default = tmp_path / "default.yaml"
    default.write_text(CONFIG.format(url=pg_url, out=tmp_path / "out"))
    assert rivet_dagster.build_defs(default).executor is None  # merges with any other Definitions


INCREMENTAL = """
source: {{type: postgres, url: "{url}", tuning: {{profile: fast}}}}
exports:
  - name: cli_events
    query: "SELECT id, note FROM events_inc"
    mode: incremental
    cursor_column: id
    format: parquet
    destination: {{type: local, path: "{out}"}}
"""


@pytest.mark.slow
def test_cli_incremental_second_run_exports_only_new_rows(pg_url, tmp_path):
    pg_execute(pg_url, "CREATE TABLE events_inc AS SELECT g AS id, 'n' || g AS note "
                       "FROM generate_series(1, 300) g")
    home, config = _home_and_config(tmp_path, INCREMENTAL.format(url=pg_url, out=tmp_path / "out"))
    assert _materialize(home, config, "cli_events").returncode == 0
    pg_execute(pg_url, "INSERT INTO events_inc SELECT g, 'n' || g FROM generate_series(301, 340) g")
    # a hard crash (the process dies) after the manifest and before the commit
    env_crash = {"RIVET_TEST_FAULT_AT": "after_manifest", "RIVET_TEST_FAULT_MODE": "exit"}
    crashed = _materialize(home, config, "cli_events", extra_env=env_crash)
    assert crashed.returncode != 0
    second = _materialize(home, config, "cli_events")
    assert second.returncode == 0, second.stderr[-3000:]
    defs = rivet_dagster.build_defs(config)
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        records = instance.fetch_materializations(dg.AssetKey("cli_events"), limit=10).records
        counts = [r.asset_materialization.metadata["dagster/row_count"].value for r in records]
        assert counts == [40, 300]  # newest first: the crashed attempt committed nothing
        ids = defs.load_asset_value("cli_events", instance=instance).to_table().column("id")
        assert sorted(ids.to_pylist()) == list(range(1, 341))
