"""tuning.adaptive on the real servers: write pressure shrinks fetches, calm lets them grow back."""

from __future__ import annotations

import logging

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq

from rivet_dagster.config.source import SourceConfig
from rivet_dagster.engine.adaptive import FLOOR_ROWS, AdaptiveBatchSize
from rivet_dagster.sources import create_source
from rivet_dagster.sources.base import ReadRequest
from tests.integration.db_fixtures import mysql_execute, pg_execute
from tests.integration.engine.export_helpers import export_once

CONFIG = """
source: {{type: {engine}, url: "{url}", tuning: {{profile: fast, batch_size: 1000, adaptive: true}}}}
exports:
  - name: adapt
    query: "SELECT id, note FROM adapt ORDER BY id"
    format: parquet
    destination: {{type: local, path: "{out}"}}
"""


def _drive(source, sql: str, pressure_at: set[int], pg_url: str | None = None):
    """Read through the controller the way run_export does; CHECKPOINT at the given batches."""
    adaptive = AdaptiveBatchSize(source, "adapt", logging.getLogger("test"))
    stream = source.open(ReadRequest(sql=sql, batch_size=1000, export="adapt"))
    seen = []
    for i, batch in enumerate(stream):
        seen.append(batch.num_rows)
        adaptive.after_batch(batch, stream)
        if i in pressure_at:
            with psycopg.connect(pg_url, autocommit=True) as conn:
                conn.execute("CHECKPOINT")  # a requested checkpoint: the counter rises
    return adaptive, seen


def test_postgres_checkpoints_shrink_then_calm_grows_back(pg_url):
    pg_execute(pg_url, "CREATE TABLE adapt AS SELECT g AS id, 'n' || g AS note "
                       "FROM generate_series(1, 80000) g")
    source = create_source(SourceConfig(type="postgres", url=pg_url))
    adaptive, seen = _drive(source, "SELECT id, note FROM adapt ORDER BY id", {12, 22}, pg_url)
    assert sum(seen) == 80_000
    assert len(adaptive.samples) >= 4 and adaptive.samples == sorted(adaptive.samples)
    assert adaptive.sizes[0] == 1000 and 750 in adaptive.sizes and 562 in adaptive.sizes
    assert min(adaptive.sizes) >= FLOOR_ROWS
    assert adaptive.sizes[-1] == 1000  # no more pressure: grown back, never past the base
    assert 562 in seen and max(seen) == 1000


def test_export_with_adaptive_keeps_every_row(pg_url, tmp_path):
    pg_execute(pg_url, "CREATE TABLE IF NOT EXISTS adapt AS SELECT g AS id, 'n' || g AS note "
                       "FROM generate_series(1, 80000) g")
    result = export_once(CONFIG.format(engine="postgres", url=pg_url, out=tmp_path), tmp_path)
    table = pa.concat_tables([pq.read_table(tmp_path / "adapt" / "snapshot-000001" / p.path)
                              for p in result.parts])
    assert table.column("id").to_pylist() == list(range(1, 80_001))


def test_mysql_samples_innodb_log_waits_and_holds_without_pressure(mysql_url, tmp_path):
    mysql_execute(mysql_url, "CREATE TABLE adapt (id INT PRIMARY KEY, note VARCHAR(20))",
                  "INSERT INTO adapt SELECT seq, CONCAT('n', seq) FROM seq_1_to_30000")
    source = create_source(SourceConfig(type="mysql", url=mysql_url))
    adaptive, seen = _drive(source, "SELECT id, note FROM adapt ORDER BY id", set())
    assert sum(seen) == 30_000 and len(adaptive.samples) >= 2
    assert adaptive.sizes == [1000] and set(seen) == {1000}
    result = export_once(CONFIG.format(engine="mysql", url=mysql_url, out=tmp_path), tmp_path)
    assert result.rows == 30_000
