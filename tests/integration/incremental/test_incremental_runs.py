"""Run 1 exports all, run 2 nothing, run 3 exactly the new rows; readers see each row once."""

import dagster as dg
import pytest

from tests.integration.incremental.harness import (
    check_passed, execute, loaded_ids, make_defs, materialize, metadata,
)



@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_three_runs(engine_url, fmt, tmp_path):
    engine, url = engine_url
    table = f"inc_{fmt}"
    execute(engine, url, f"CREATE TABLE {table} (id INT PRIMARY KEY, v VARCHAR(20))",
            f"INSERT INTO {table} VALUES " + ",".join(f"({i}, 'v{i}')" for i in range(1, 51)))
    defs = make_defs(tmp_path, engine=engine, url=url, name=table, fmt=fmt,
                     query=f"SELECT id, v FROM {table}", cursor="id")
    with dg.instance_for_test() as instance:
        first = materialize(defs, instance, table)
        md = metadata(first, table)
        assert md["dagster/row_count"] == 50 and md["rivet/cursor"] == {"type": "int", "value": 50}
        assert md["rivet/increment"] == 1 and check_passed(first)
        assert md["rivet/verified"]["boundary"] == {"type": "int", "value": 50}

        second = materialize(defs, instance, table)
        md2 = metadata(second, table)
        assert md2["dagster/row_count"] == 0 and md2["rivet/skipped"] is True
        assert md2["rivet/cursor"] == {"type": "int", "value": 50} and md2["rivet/increment"] == 1

        execute(engine, url, f"INSERT INTO {table} VALUES " +
                ",".join(f"({i}, 'v{i}')" for i in range(51, 58)))
        third = materialize(defs, instance, table)
        md3 = metadata(third, table)
        assert md3["dagster/row_count"] == 7 and md3["rivet/increment"] == 2
        assert md3["rivet/cursor_previous"] == {"type": "int", "value": 50}
        assert md3["rivet/cursor"] == {"type": "int", "value": 57} and check_passed(third)
        assert loaded_ids(defs, instance, table) == list(range(1, 58))
