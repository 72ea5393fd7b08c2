"""A failure at each fault point, then a clean re-run: nothing lost, nothing duplicated."""

import dagster as dg
import pytest

from tests.integration.incremental.harness import (
    execute, loaded_ids, make_defs, materialize, metadata,
)

POINTS = ["after_source_read", "after_part_written", "after_file_write", "after_manifest",
          "after_commit"]


def _latest_cursor(instance, name):
    event = instance.get_latest_materialization_event(dg.AssetKey(name))
    return event.asset_materialization.metadata["rivet/cursor"].value["value"]


@pytest.mark.parametrize("point", POINTS)
def test_fault_then_rerun(engine_url, point, tmp_path, monkeypatch):
    engine, url = engine_url
    table = f"crash_{point}"
    execute(engine, url, f"CREATE TABLE {table} (id INT PRIMARY KEY, v VARCHAR(10))",
            f"INSERT INTO {table} VALUES " + ",".join(f"({i}, 'a')" for i in range(1, 51)))
    defs = make_defs(tmp_path, engine=engine, url=url, name=table,
                     query=f"SELECT id, v FROM {table}", cursor="id",
                     extra="max_file_size: 1KB")
    with dg.instance_for_test() as instance:
        assert materialize(defs, instance, table).success
        execute(engine, url, f"INSERT INTO {table} VALUES " +
                ",".join(f"({i}, 'b')" for i in range(51, 81)))
        monkeypatch.setenv("RIVET_TEST_FAULT_AT", point)
        failed = materialize(defs, instance, table, raise_on_error=False)
        assert not failed.success
        # the committed cursor never runs ahead of committed data
        cursor = _latest_cursor(instance, table)
        assert cursor == (80 if point == "after_commit" else 50)
        assert loaded_ids(defs, instance, table) == list(range(1, cursor + 1))
        monkeypatch.delenv("RIVET_TEST_FAULT_AT")
        rerun = materialize(defs, instance, table)
        assert rerun.success
        assert metadata(rerun, table)["dagster/row_count"] == (0 if point == "after_commit" else 30)
        assert _latest_cursor(instance, table) == 80
        assert loaded_ids(defs, instance, table) == list(range(1, 81))
