"""A whole-table read split into COPY streams over one snapshot, against the real server.

`MIN_PAGES` is lowered so a table of a few MB splits; everything else is as in production.
"""

from __future__ import annotations

import time

import psycopg
import pyarrow as pa
import pytest

from rivet_dagster.config.source import SourceConfig
from rivet_dagster.errors import RivetSourceError
from rivet_dagster.sources import postgres_parallel
from rivet_dagster.sources.base import ReadRequest
from rivet_dagster.sources.postgres import PostgresSource
from rivet_dagster.sources.postgres_copy import READER_ENV
from tests.integration.db_fixtures import pg_execute

ROWS = 400_000
TABLE = f"""
CREATE TABLE wide AS SELECT g AS id, md5(g::text) AS h, g % 7 = 0 AS flag,
  CASE WHEN g % 11 = 0 THEN NULL ELSE timestamptz '2024-01-01' + g * interval '1 s' END AS at
  FROM generate_series(1, {ROWS}) g;
CREATE VIEW wide_view AS SELECT * FROM wide;
ANALYZE wide;
CREATE TABLE fresh WITH (autovacuum_enabled = false) AS SELECT * FROM wide;
"""


@pytest.fixture(scope="module")
def url(pg_url):
    pg_execute(pg_url, TABLE)
    return pg_url


@pytest.fixture
def source(url, monkeypatch):
    monkeypatch.setattr(postgres_parallel, "MIN_PAGES", 64)  # the table has ~4,000 pages
    monkeypatch.setenv(READER_ENV, "auto")
    return PostgresSource(SourceConfig(type="postgres", url=url))


def _request(table="wide", streams=2, **kwargs):
    return ReadRequest(sql=f"SELECT * FROM {table}", table=table, streams=streams, export="e",
                       batch_bytes=kwargs.pop("batch_bytes", 256 * 1024), **kwargs)


def _read(stream) -> tuple[pa.Table, list[int]]:
    batches = list(stream)
    return pa.Table.from_batches(batches, schema=stream.schema), [b.num_rows for b in batches]


def _backends(url) -> int:
    database = url.rsplit("/", 1)[1]
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND "
                            "application_name = 'rivet-dagster'", (database,)).fetchone()[0]


def _wait_no_backends(url) -> int:
    for _ in range(50):
        if (left := _backends(url)) == 0:
            return 0
        time.sleep(0.1)
    return left


@pytest.mark.parametrize("reader", ["native", "copy"])
def test_a_table_splits_into_streams_with_every_row_once(source, url, monkeypatch, reader):
    monkeypatch.setenv(READER_ENV, reader)
    stream = source.open(_request(streams=3))
    assert type(stream).__name__ == "ParallelCopyStream" and stream.stream_count == 3
    table, sizes = _read(stream)
    ids = table.column("id").to_pylist()
    assert sorted(ids) == list(range(1, ROWS + 1))  # none lost, none twice
    single, _ = _read(source.open(_request(streams=1)))
    assert table.sort_by("id").equals(single.sort_by("id"))
    assert table.column("at").null_count == ROWS // 11
    # round-robin over each stream's own order: the same file on every run
    again, again_sizes = _read(source.open(_request(streams=3)))
    assert again.equals(table) and again_sizes == sizes
    assert _wait_no_backends(url) == 0


@pytest.mark.parametrize("request_, why", [
    (_request(streams=1), "one stream asked"),
    (_request(table="wide_view"), "a view has no blocks to split"),
    (ReadRequest(sql="SELECT * FROM wide WHERE id > 5", table="wide", streams=2, export="e"),
     "not the whole table"),
    (ReadRequest(sql="SELECT * FROM wide ORDER BY id", table="wide", streams=2, export="e"),
     "an order to keep"),
])
def test_what_is_not_a_whole_table_reads_as_one_stream(source, request_, why):
    stream = source.open(request_)
    assert type(stream).__name__ == "PostgresNativeCopyStream", why
    stream.close()


@pytest.mark.parametrize("limit, table, why", [
    ("MIN_PAGES", "wide", "a small table"),
    ("MAX_ROW_BYTES", "wide", "wide rows: the client, not the server, is the bottleneck"),
    (None, "fresh", "never analyzed: its row width is unknown"),
])
def test_small_wide_or_unknown_tables_are_not_split(source, monkeypatch, limit, table, why):
    if limit is not None:
        monkeypatch.setattr(postgres_parallel, limit, 10**9 if limit == "MIN_PAGES" else 10)
    stream = source.open(_request(table=table))
    assert type(stream).__name__ == "PostgresNativeCopyStream", why
    stream.close()


def test_streams_share_the_exporting_snapshot(url):
    leader = psycopg.connect(url)
    leader.read_only = True
    leader.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    request = _request()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(postgres_parallel, "MIN_PAGES", 64)
        snapshot, bounds = postgres_parallel.plan(leader, request)
    assert len(bounds) == 1 and bounds[0] > 0
    with psycopg.connect(url, autocommit=True) as writer:  # commits after the snapshot
        writer.execute("INSERT INTO wide (id) VALUES (-1)")
    try:
        follower = psycopg.connect(url)
        follower.read_only = True
        follower.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        postgres_parallel.join_snapshot(follower, snapshot)
        seen = follower.execute("SELECT count(*) FROM wide").fetchone()[0]
        with psycopg.connect(url) as other:
            fresh = other.execute("SELECT count(*) FROM wide").fetchone()[0]
        assert (seen, fresh) == (ROWS, ROWS + 1)
        ranges = [postgres_parallel.range_sql("wide", bounds, i) for i in range(2)]
        halves = [follower.execute(f"SELECT count(*) FROM ({sql}) q").fetchone()[0]
                  for sql in ranges]
        assert sum(halves) == ROWS and min(halves) > 0
        follower.close()
    finally:
        leader.close()
        with psycopg.connect(url, autocommit=True) as writer:
            writer.execute("DELETE FROM wide WHERE id = -1")


@pytest.mark.parametrize("reader", ["native", "copy"])
def test_closing_early_cancels_every_stream(source, url, monkeypatch, reader):
    monkeypatch.setenv(READER_ENV, reader)
    stream = source.open(_request(batch_bytes=64 * 1024))
    assert type(stream).__name__ == "ParallelCopyStream"
    assert _backends(url) == 2  # the describing connection is the first stream, or closed
    assert next(iter(stream)).num_rows > 0
    stream.close()
    assert _wait_no_backends(url) == 0


@pytest.mark.parametrize("reader", ["native", "copy"])
def test_a_failing_stream_fails_the_read_and_frees_the_others(source, url, monkeypatch, reader):
    monkeypatch.setenv(READER_ENV, reader)
    stream = source.open(_request(batch_bytes=64 * 1024))
    batches = iter(stream)
    next(batches)
    database = url.rsplit("/", 1)[1]
    with psycopg.connect(url, autocommit=True) as admin:
        cancelled = admin.execute(
            "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE datname = %s AND "
            "application_name = 'rivet-dagster' AND state = 'active' "
            "AND query LIKE 'COPY%%ctid >=%%'",
            (database,)).fetchall()
    assert cancelled == [(True,)]
    with pytest.raises(RivetSourceError, match="cancel") as err:
        for _ in batches:
            pass
    assert err.value.export == "e" and err.value.field == "query"
    assert _wait_no_backends(url) == 0
