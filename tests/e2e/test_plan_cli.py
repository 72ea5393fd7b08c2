"""`rivet-dagster plan` adds chunk partitions to the instance in DAGSTER_HOME, idempotently."""

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
from dagster._core.instance.ref import InstanceRef

from rivet_dagster.dagster.partitions import partitions_def_name
from tests.integration.db_fixtures import pg_execute

CLI = Path(sys.executable).with_name("rivet-dagster")


def test_plan_then_materialize_a_partition(pg_url, tmp_path):
    pg_execute(pg_url, "CREATE TABLE pl (id INT PRIMARY KEY)")
    pg_execute(pg_url, "INSERT INTO pl SELECT generate_series(1, 2500)")
    config = tmp_path / "rivet.yaml"
    config.write_text(f"""
source: {{type: postgres, url: "{pg_url}"}}
exports:
  - name: pl
    table: pl
    mode: chunked
    chunk_size: 1000
    parallel: 3
    format: parquet
    destination: {{type: local, path: "{tmp_path / 'out'}"}}
""")
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    run = lambda *a: subprocess.run([str(CLI), *a], env=env, capture_output=True, text=True,  # noqa: E731
                                    timeout=120)
    first = run("plan", str(config), "--export", "pl")
    assert first.returncode == 0, first.stderr
    assert first.stdout.split() == ["+", "00000000000000000000-00000000000000000999",
                                    "+", "00000000000000001000-00000000000000001999",
                                    "+", "00000000000000002000-00000000000000002999"]
    assert "pool rivet_postgres_127_0_0_1_5432_" in first.stderr and ": 3 concurrent" in first.stderr
    second = run("plan", str(config), "--export", "pl")
    assert "+" not in second.stdout and "added 0" in second.stderr
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        keys = instance.get_dynamic_partitions(partitions_def_name(dg.AssetKey("pl")))
        assert len(keys) == 3
        pools = instance.event_log_storage.get_concurrency_keys()
        assert len(pools) == 1 and instance.event_log_storage.get_concurrency_info(
            pools.pop()).slot_count == 3
    wrong = run("plan", str(config), "--export", "nope")
    assert wrong.returncode == 1 and "no export named 'nope'" in wrong.stderr
    assert "Traceback" not in wrong.stderr
