"""Chunk partitions: dense, sparse, huge and NULL keys, days; union equals the source."""

import dagster as dg
import pytest

from tests.integration.chunked.harness import (
    all_rows, defs_for, materialize, partition_keys, plan, write_config,
)
from tests.integration.incremental.harness import execute



def _export_all(path, name, instance):
    defs = defs_for(path)
    keys = partition_keys(instance, name)
    for key in keys:
        result = materialize(defs, instance, name, key)
        assert result.success
        assert all(e.passed for e in result.get_asset_check_evaluations())
    return defs, keys


@pytest.mark.parametrize("shape,ids,size,expected_keys", [
    ("dense", list(range(1, 2501)), 1000, 3),
    # three clusters of 600 ids, gaps of 50x the chunk size
    ("sparse", [*range(1, 601), *range(50_000, 50_600), *range(500_000, 500_600)], 1000, 3),
    ("huge", [2**62 + i for i in range(0, 2500)], 1000, 4),
])
def test_union_equals_source(engine_url, tmp_path, shape, ids, size, expected_keys):
    engine, url = engine_url
    table = f"ch_{shape}"
    execute(engine, url, f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, v VARCHAR(10))",
            f"INSERT INTO {table} VALUES " + ",".join(f"({i}, 'x')" for i in ids))
    path = write_config(tmp_path, engine=engine, url=url, name=table, what=f"table: {table}",
                        extra=f"chunk_size: {size}")
    with dg.instance_for_test() as instance:
        first = plan(path, table, instance)
        assert first.column == "id"  # auto-detected from the primary key
        assert len(first.new_keys) == expected_keys
        again = plan(path, table, instance)
        assert again.new_keys == [] and again.keys == first.keys  # idempotent
        if shape == "sparse":
            assert first.diagnostics["sparse"] is True and first.diagnostics["empty_windows"] > 400
            assert first.diagnostics["density"] < 0.1
        defs, keys = _export_all(path, table, instance)
        got = all_rows(defs, instance, table, keys)
        assert sorted(got) == sorted(ids) and len(got) == len(set(got))


def test_null_keys_get_their_own_partition(engine_url, tmp_path):
    engine, url = engine_url
    execute(engine, url, "CREATE TABLE ch_null (id INT, v VARCHAR(5))",
            "INSERT INTO ch_null VALUES (1, 'a'), (NULL, 'b'), (2500, 'c'), (NULL, 'd')")
    path = write_config(tmp_path, engine=engine, url=url, name="ch_null",
                        what="query: SELECT id, v FROM ch_null",
                        extra="chunk_column: id\n    chunk_size: 1000")
    with dg.instance_for_test() as instance:
        planned = plan(path, "ch_null", instance)
        assert planned.keys[-1] == "null" and planned.diagnostics["null_rows"] == 2
        defs, keys = _export_all(path, "ch_null", instance)
        assert sorted(all_rows(defs, instance, "ch_null", keys, "v")) == ["a", "b", "c", "d"]


def test_chunk_by_days(engine_url, tmp_path):
    engine, url = engine_url
    execute(engine, url, "CREATE TABLE ch_days (id INT PRIMARY KEY, d DATE)",
            "INSERT INTO ch_days VALUES (1, '2024-01-01'), (2, '2024-01-02'), (3, '2024-01-09'), "
            "(4, '2024-01-30')")
    path = write_config(tmp_path, engine=engine, url=url, name="ch_days",
                        what="table: ch_days", extra="chunk_column: d\n    chunk_by_days: 7")
    with dg.instance_for_test() as instance:
        planned = plan(path, "ch_days", instance)
        # 2024-01-01..08, 01-08..15 hold rows; 01-15..22 and 01-22..29 are empty; 01-29..
        assert planned.keys == ["d20240101-20240108", "d20240108-20240115", "d20240129-20240205"]
        defs, keys = _export_all(path, "ch_days", instance)
        assert sorted(all_rows(defs, instance, "ch_days", keys)) == [1, 2, 3, 4]


def test_dense_count_and_growth(pg_url, tmp_path):
    execute("postgres", pg_url, "CREATE TABLE ch_grow (id INT PRIMARY KEY)",
            "INSERT INTO ch_grow SELECT g * 10 FROM generate_series(1, 100) g")
    path = write_config(tmp_path, engine="postgres", url=pg_url, name="ch_grow",
                        what="table: ch_grow", extra="chunk_dense: true\n    chunk_size: 30")
    with dg.instance_for_test() as instance:
        planned = plan(path, "ch_grow", instance)
        assert len(planned.keys) == 4  # 30 + 30 + 30 + 10 rows
        execute("postgres", pg_url, "INSERT INTO ch_grow SELECT g * 10 FROM generate_series(101, 140) g")
        grown = plan(path, "ch_grow", instance)
        assert grown.keys[:4] == planned.keys  # existing keys are never renamed
        assert len(grown.new_keys) == 2
        defs, keys = _export_all(path, "ch_grow", instance)
        assert sorted(all_rows(defs, instance, "ch_grow", keys)) == [g * 10 for g in range(1, 141)]


def test_rematerializing_a_partition_keeps_one_copy(pg_url, tmp_path):
    execute("postgres", pg_url, "CREATE TABLE ch_twice (id INT PRIMARY KEY)",
            "INSERT INTO ch_twice SELECT generate_series(1, 3000)")
    path = write_config(tmp_path, engine="postgres", url=pg_url, name="ch_twice",
                        what="table: ch_twice", extra="chunk_size: 1000")
    with dg.instance_for_test() as instance:
        plan(path, "ch_twice", instance)
        defs = defs_for(path)
        key = partition_keys(instance, "ch_twice")[0]
        for _ in range(3):
            assert materialize(defs, instance, "ch_twice", key).success
        rows = all_rows(defs, instance, "ch_twice", [key])
        assert sorted(rows) == list(range(1, 1000)) or sorted(rows) == list(range(0, 1000))
        assert len(rows) == len(set(rows))
        folders = sorted(p.name for p in (tmp_path / "out" / "ch_twice" / key).iterdir())
        assert folders == ["snapshot-000002", "snapshot-000003"]


def test_changed_settings_keep_the_frozen_layout(pg_url, tmp_path):
    execute("postgres", pg_url, "CREATE TABLE ch_layout (id INT PRIMARY KEY)",
            "INSERT INTO ch_layout SELECT generate_series(1, 3000)")
    path = write_config(tmp_path, engine="postgres", url=pg_url, name="ch_layout",
                        what="table: ch_layout", extra="chunk_size: 1000")
    with dg.instance_for_test() as instance:
        first = plan(path, "ch_layout", instance)
        path.write_text(path.read_text().replace("chunk_size: 1000", "chunk_count: 7"))
        execute("postgres", pg_url, "INSERT INTO ch_layout SELECT generate_series(4001, 4500)")
        second = plan(path, "ch_layout", instance)
        assert second.keys[:len(first.keys)] == first.keys
        assert second.new_keys == ["00000000000000004000-00000000000000004999"]


def test_chunk_count_memory_sizing_and_small_tables(pg_url, tmp_path):
    execute("postgres", pg_url, "CREATE TABLE ch_cnt (id INT PRIMARY KEY, pad TEXT)",
            "INSERT INTO ch_cnt SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g",
            "ANALYZE ch_cnt", "CREATE TABLE ch_small (id INT PRIMARY KEY)",
            "INSERT INTO ch_small VALUES (5), (50000), (90000)")
    with dg.instance_for_test() as instance:
        counted = plan(write_config(tmp_path, engine="postgres", url=pg_url, name="ch_cnt",
                                    what="table: ch_cnt", extra="chunk_count: 4"), "ch_cnt", instance)
        assert counted.keys == ["00000000000000000001-00000000000000005000",
                                "00000000000000005001-00000000000000010000",
                                "00000000000000010001-00000000000000015000",
                                "00000000000000015001-00000000000000020000"]
        memory = plan(write_config(tmp_path, engine="postgres", url=pg_url, name="ch_mem",
                                   what="table: ch_cnt", extra="chunk_size_memory_mb: 1"),
                      "ch_mem", instance)
        # ~250 bytes a row: 1 MB -> ~4000 rows, clamped up to the 10,000-row floor
        assert memory.diagnostics["chunk_size"] == 10_000 and len(memory.keys) == 3
        small = plan(write_config(tmp_path, engine="postgres", url=pg_url, name="ch_small",
                                  what="table: ch_small", extra="chunk_size: 1000"),
                     "ch_small", instance)
        # 3 rows fit in one chunk: one partition over the aligned span, not three
        assert small.keys == ["00000000000000000000-00000000000000090999"]
        assert small.diagnostics["downgraded_to_single_partition"] is True
