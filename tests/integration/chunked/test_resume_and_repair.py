"""Crash mid-backfill then backfill the missing partitions; reconcile, then repair."""

import dagster as dg

from rivet_dagster.dagster.chunk_jobs import failed_partitions, reconcile_partitions
from rivet_dagster.config import load_config
from tests.integration.chunked.harness import (
    all_rows, defs_for, materialize, partition_keys, plan, write_config,
)
from tests.integration.incremental.harness import execute


def _materialization_count(instance, name, partition):
    return len(instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(name), asset_partitions=[partition]),
        limit=10).records)


def test_crash_then_backfill_missing(pg_url, tmp_path, monkeypatch):
    execute("postgres", pg_url, "CREATE TABLE rs (id INT PRIMARY KEY, v TEXT)",
            "INSERT INTO rs SELECT g, md5(g::text) FROM generate_series(1, 5000) g")
    path = write_config(tmp_path, engine="postgres", url=pg_url, name="rs", what="table: rs",
                        extra="chunk_size: 1000\n    max_file_size: 8KB")
    with dg.instance_for_test() as instance:
        plan(path, "rs", instance)
        defs = defs_for(path)
        keys = partition_keys(instance, "rs")
        assert len(keys) == 6  # 1..999, ..., 5000..5999
        for key in keys[:2]:
            assert materialize(defs, instance, "rs", key).success
        monkeypatch.setenv("RIVET_TEST_FAULT_AT", "after_part_written")
        assert not materialize(defs, instance, "rs", keys[2], raise_on_error=False).success
        monkeypatch.delenv("RIVET_TEST_FAULT_AT")
        done = instance.get_materialized_partitions(dg.AssetKey("rs"))
        missing = [k for k in keys if k not in done]
        assert missing == keys[2:]
        for key in missing:  # "backfill missing"
            assert materialize(defs, instance, "rs", key).success
        assert [_materialization_count(instance, "rs", k) for k in keys] == [1] * 6
        rows = all_rows(defs, instance, "rs", keys)
        assert sorted(rows) == list(range(1, 5001))


def test_reconcile_finds_the_changed_partition_and_repair_fixes_it(pg_url, tmp_path):
    execute("postgres", pg_url, "CREATE TABLE rp (id INT PRIMARY KEY)",
            "INSERT INTO rp SELECT generate_series(1, 3500)")
    path = write_config(tmp_path, engine="postgres", url=pg_url, name="rp", what="table: rp",
                        extra="chunk_size: 1000")
    config = load_config(path)
    key = dg.AssetKey("rp")
    with dg.instance_for_test() as instance:
        plan(path, "rp", instance)
        defs = defs_for(path)
        keys = partition_keys(instance, "rp")
        for k in keys:
            materialize(defs, instance, "rp", k)
        assert failed_partitions(instance, key) == []
        execute("postgres", pg_url, "DELETE FROM rp WHERE id BETWEEN 1200 AND 1209")
        job = defs.resolve_job_def("rivet_reconcile__rp")
        assert job.execute_in_process(instance=instance).success
        failed = failed_partitions(instance, key)
        assert [p for p, _ in failed] == [keys[1]]
        sensor = defs.get_sensor_def("rivet_repair__rp")
        result = sensor(dg.build_sensor_context(instance=instance))
        assert [r.partition_key for r in result.run_requests] == [keys[1]]
        assert materialize(defs, instance, "rp", keys[1]).success  # the repair run
        assert failed_partitions(instance, key) == []
        evaluations = reconcile_partitions(config, config.export("rp"), key, instance)
        assert len(evaluations) == len(keys) and all(e.passed for e in evaluations)
        assert isinstance(sensor(dg.build_sensor_context(instance=instance)), dg.SkipReason)
        assert len(all_rows(defs, instance, "rp", keys)) == 3490
