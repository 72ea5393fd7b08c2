"""Time-window partitions (daily, hourly, unix seconds) and Rivet's rolling days_window."""

import datetime as dt

import dagster as dg

from tests.integration.chunked.harness import defs_for, materialize, write_config
from tests.integration.incremental.harness import execute



def _ids(defs, instance, name, partition):
    return sorted(defs.load_asset_value(name, instance=instance, partition_key=partition)
                  .to_table().column("id").to_pylist())


def test_daily_partitions_including_an_empty_day(engine_url, tmp_path):
    engine, url = engine_url
    ts = "TIMESTAMP" if engine == "postgres" else "DATETIME(6)"
    execute(engine, url, f"CREATE TABLE tw (id INT PRIMARY KEY, at {ts})",
            "INSERT INTO tw VALUES (1, '2024-03-01 00:00:00'), (2, '2024-03-01 23:59:59.999999'),"
            " (3, '2024-03-02 00:00:00'), (4, '2024-03-04 12:00:00')")
    path = write_config(tmp_path, engine=engine, url=url, name="tw", mode="time_window",
                        what="table: tw",
                        extra="time_column: at\n    dagster: {partition_start: '2024-03-01'}")
    defs = defs_for(path)
    node = defs.resolve_asset_graph().get(dg.AssetKey("tw"))
    assert isinstance(node.partitions_def, dg.DailyPartitionsDefinition)
    with dg.instance_for_test() as instance:
        expected = {"2024-03-01": [1, 2], "2024-03-02": [3], "2024-03-03": [], "2024-03-04": [4]}
        for day, ids in expected.items():
            result = materialize(defs, instance, "tw", day)
            assert result.success and all(e.passed for e in result.get_asset_check_evaluations())
            assert _ids(defs, instance, "tw", day) == ids


def test_hourly_unix_seconds(pg_url, tmp_path):
    base = int(dt.datetime(2024, 3, 1, tzinfo=dt.timezone.utc).timestamp())
    execute("postgres", pg_url, "CREATE TABLE tu (id INT PRIMARY KEY, at_s BIGINT)",
            f"INSERT INTO tu VALUES (1, {base}), (2, {base + 3599}), (3, {base + 3600})")
    path = write_config(tmp_path, engine="postgres", url=pg_url, name="tu", mode="time_window",
                        what="table: tu",
                        extra="time_column: at_s\n    time_column_type: unix\n"
                              "    dagster: {partition_start: '2024-03-01-00:00', time_partitions: hourly}")
    defs = defs_for(path)
    with dg.instance_for_test() as instance:
        assert materialize(defs, instance, "tu", "2024-03-01-00:00").success
        assert _ids(defs, instance, "tu", "2024-03-01-00:00") == [1, 2]
        assert materialize(defs, instance, "tu", "2024-03-01-01:00").success
        assert _ids(defs, instance, "tu", "2024-03-01-01:00") == [3]


def test_rolling_days_window(engine_url, tmp_path):
    engine, url = engine_url
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    rows = [(1, now - dt.timedelta(days=10)), (2, now - dt.timedelta(days=1)), (3, now)]
    ts = "TIMESTAMP" if engine == "postgres" else "DATETIME(6)"
    execute(engine, url, f"CREATE TABLE rw (id INT PRIMARY KEY, at {ts})",
            "INSERT INTO rw VALUES " + ",".join(f"({i}, '{t:%Y-%m-%d %H:%M:%S}')" for i, t in rows))
    path = write_config(tmp_path, engine=engine, url=url, name="rw", mode="time_window",
                        what="table: rw", extra="time_column: at\n    days_window: 3")
    defs = defs_for(path)
    assert defs.resolve_asset_graph().get(dg.AssetKey("rw")).partitions_def is None
    with dg.instance_for_test() as instance:
        assets = [a for a in defs.assets if dg.AssetKey("rw") in a.keys]
        for run in (1, 2):  # no cursor: every run re-exports the window as a new snapshot
            result = dg.materialize(assets, instance=instance, resources=defs.resources)
            md = result.asset_materializations_for_node("rw")[0].metadata
            assert md["dagster/row_count"].value == 2 and md["rivet/snapshot"].value == run
        table = defs.load_asset_value("rw", instance=instance).to_table()
        assert sorted(table.column("id").to_pylist()) == [2, 3]
