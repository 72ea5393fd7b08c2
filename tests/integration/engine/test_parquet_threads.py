"""Parquet encoded on several threads: the same bytes as on one, from real sources (both
engines), and `max_file_size` rotation still holds."""

from __future__ import annotations

import pyarrow.parquet as pq

from tests.integration.db_fixtures import mysql_execute, pg_execute
from tests.integration.engine.export_helpers import export_once

ROWS = 30_000
CONFIG = """
source: {{type: {engine}, url: "{url}", tuning: {{profile: fast, batch_size: 1000}}}}
exports:
  - name: threads
    table: threads_t
    format: parquet
    parquet: {{encode_threads: {threads}, row_group_strategy: fixed_rows, row_group_rows: 1000}}{extra}
    destination: {{type: local, path: "{out}"}}
"""


def _seed(engine: str, url: str) -> None:
    if engine == "postgres":
        pg_execute(url, "DROP TABLE IF EXISTS threads_t")
        pg_execute(url, f"""CREATE TABLE threads_t AS SELECT g::bigint AS id,
            repeat(md5(g::text), 1 + g % 20) AS body, ((g % 1000)::numeric / 7)::numeric(8, 2) AS price,
            CASE WHEN g % 5 = 0 THEN NULL ELSE jsonb_build_object('k', g % 3) END AS doc,
            g % 7 = 0 AS flag, timestamptz '2024-01-01' + g * interval '1 minute' AS seen,
            (ARRAY['fr', 'de', 'us'])[1 + g % 3] AS country
            FROM generate_series(1, {ROWS}) g""")
    else:
        mysql_execute(url, "DROP TABLE IF EXISTS threads_t", f"""CREATE TABLE threads_t AS
            SELECT CAST(seq AS SIGNED) AS id, REPEAT(MD5(seq), 1 + seq % 20) AS body,
            CAST((seq % 1000) / 7 AS DECIMAL(8, 2)) AS price,
            IF(seq % 5 = 0, NULL, JSON_OBJECT('k', seq % 3)) AS doc, seq % 7 = 0 AS flag,
            TIMESTAMP '2024-01-01 00:00:00' + INTERVAL seq MINUTE AS seen,
            ELT(1 + seq % 3, 'fr', 'de', 'us') AS country FROM seq_1_to_{ROWS}""")


def _export(engine, url, tmp_path, threads: int, extra: str = ""):
    out = tmp_path / f"out{threads}{len(extra)}"
    result = export_once(CONFIG.format(engine=engine, url=url, threads=threads, extra=extra,
                                       out=out), base_dir=tmp_path)
    return result, sorted((out / "threads" / "snapshot-000001").glob("part-*.parquet"))


def test_threaded_parts_are_byte_for_byte_the_sequential_ones(engine_url, tmp_path):
    engine, url = engine_url
    _seed(engine, url)
    one, [sequential] = _export(engine, url, tmp_path, 1)
    three, [threaded] = _export(engine, url, tmp_path, 3)
    assert one.rows == three.rows == ROWS
    assert threaded.read_bytes() == sequential.read_bytes()
    meta = pq.ParquetFile(threaded).metadata
    assert meta.num_rows == ROWS and meta.num_row_groups > 15  # the long list header too
    table = pq.read_table(threaded)
    assert table.column("id").to_pylist() == list(range(1, ROWS + 1))
    # the manifest's content hash covers exactly the bytes on disk
    assert three.parts[0].bytes == threaded.stat().st_size == one.parts[0].bytes
    assert three.parts[0].content_hash == one.parts[0].content_hash


def test_threaded_parts_still_rotate_at_max_file_size(engine_url, tmp_path):
    engine, url = engine_url
    _seed(engine, url)
    limit = 1 << 20
    result, parts = _export(engine, url, tmp_path, 3, "\n    max_file_size: 1MB")
    assert len(parts) >= 3 and result.rows == ROWS
    assert sum(pq.ParquetFile(p).metadata.num_rows for p in parts) == ROWS
    ids = pq.ParquetDataset([str(p) for p in parts]).read(columns=["id"]).column("id")
    assert sorted(ids.to_pylist()) == list(range(1, ROWS + 1))
    # groups being encoded count toward the limit: no part overshoots it by more than the
    # last group's few hundred KB (the sequential writer's own margin)
    assert max(p.stat().st_size for p in parts) < 2 * limit
