"""A full-table PostgreSQL read split into COPY streams that share one snapshot.

Why: with the C decoder the client is no longer the bottleneck on narrow rows; one backend
producing the binary COPY is (2M narrow rows: about 2 s of server CPU on one core). Splitting the
table into block ranges (`ctid >= '(a,0)' AND ctid < '(b,0)'`, a TID range scan since
PostgreSQL 14) puts two backends to work, as duckdb's scanner does.

What keeps this exactly one consistent read:
- The describing connection's transaction is REPEATABLE READ, READ ONLY; it exports its
  snapshot (`pg_export_snapshot()`), and every other stream's transaction imports it
  (`SET TRANSACTION SNAPSHOT`) before its first query. All streams see the same rows, the
  rows of one moment, as a single COPY would.
- The ranges cover the table: the first has no lower bound, the last no upper bound.
- Batches are handed out round-robin (stream 0, 1, 0, 1, ...), each stream's batches in
  its own order: for the same table contents, the same file, run after run.
- Each stream decodes in its own thread with at most one batch waiting, so memory grows
  by one batch per extra stream; `batch_bytes` is divided among the streams.

Only when it can be exactly that and pays: the export reads a whole `table:` (its SQL is
`SELECT * FROM <table>`, no parameters), a COPY reader (native or ADBC) reads every column,
the server is 14 or newer and not a standby, the table holds at least `MIN_PAGES` pages, and
its rows are narrow (`MAX_ROW_BYTES`, from the table's size and the planner's row count; a
table never analyzed is not split). Otherwise one stream reads as before.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any

import psycopg
import pyarrow as pa
from psycopg import sql as pgsql

from rivet_dagster.errors import RivetSourceError
from rivet_dagster.sources.base import ReadRequest
from rivet_dagster.sources.batching import RegroupedStream
from rivet_dagster.sources.postgres_session import first_line

log = logging.getLogger(__name__)
MIN_PAGES = 4096  # 32 MB of 8 KB pages: below that, a second connection costs more than it buys
MIN_SERVER = 140000  # TID range scans
# Split only narrow rows (bytes per row on disk, TOAST included, from the planner's row
# count): there the server's per-row work is the bottleneck. On wide rows the client's
# encoding is, and more streams only add contention and memory (300k rows of 4 KB, fast:
# 4.6 s with one stream, 5.7 s with two, +58 MB).
MAX_ROW_BYTES = 1024
_MIN_BATCH_BYTES = 1024 * 1024
_JOIN_S = 10.0


def splittable(request: ReadRequest) -> bool:
    return (request.streams > 1 and request.table is not None and not request.params
            and request.sql == f"SELECT * FROM {request.table}")


def plan(conn: psycopg.Connection[Any], request: ReadRequest) -> tuple[str, list[int]] | None:
    """The exported snapshot and the block boundaries of the streams, or None for one stream.

    Runs in the describing transaction (REPEATABLE READ, READ ONLY), whose snapshot the
    others import. Not on a standby (it cannot export snapshots), a view, or an old server.
    """
    row = conn.execute(
        "SELECT current_setting('server_version_num')::int, pg_is_in_recovery(), "
        "pg_relation_size(c.oid) / current_setting('block_size')::int, c.relkind::text, "
        "pg_total_relation_size(c.oid) / NULLIF(GREATEST(c.reltuples, 0), 0) "
        "FROM pg_class c WHERE c.oid = %s::regclass", (request.table,)).fetchone()
    if row is None or row[0] < MIN_SERVER or row[1] or row[2] < MIN_PAGES or row[3] != "r":
        return None
    if row[4] is None or row[4] > MAX_ROW_BYTES:  # not analyzed yet, or wide rows
        return None
    pages = int(row[2])
    streams = min(request.streams, pages // MIN_PAGES)
    snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()
    assert snapshot is not None
    return str(snapshot[0]), [pages * i // streams for i in range(1, streams)]


def range_sql(table: str, bounds: Sequence[int], index: int) -> str:
    """`SELECT * FROM table` limited to the index-th block range (open at both ends)."""
    where = []
    if index > 0:
        where.append(f"ctid >= '({bounds[index - 1]},0)'::tid")
    if index < len(bounds):
        where.append(f"ctid < '({bounds[index]},0)'::tid")
    return f"SELECT * FROM {table} WHERE " + " AND ".join(where)


def join_snapshot(conn: psycopg.Connection[Any], snapshot: str) -> None:
    """Make `conn`'s new transaction see exactly the exporting transaction's snapshot."""
    conn.execute(pgsql.SQL("SET TRANSACTION SNAPSHOT {}").format(pgsql.Literal(snapshot)))


class ParallelCopyStream(RegroupedStream):
    """Several COPY streams over one snapshot, handed out round-robin.

    The streams are native (`PostgresNativeCopyStream`) or ADBC (`PostgresCopyStream`)
    readers: each decodes and converts in its own thread; they need `driver_batches`,
    `convert`, a thread-safe `cancel` and `close(finished)`."""

    def __init__(self, streams: Sequence[Any]):
        self.columns = streams[0].columns
        self.schema = streams[0].schema
        self.sizes_by_bytes = streams[0].sizes_by_bytes
        self.batch_size = streams[0].batch_size
        self._streams = streams
        self._stop = threading.Event()
        self._queues: list[queue.Queue[tuple[str, Any]]] = [queue.Queue(1) for _ in streams]
        self._threads = [threading.Thread(target=self._pump, args=(s, q), daemon=True,
                                          name=f"rivet-copy-{i}")
                         for i, (s, q) in enumerate(zip(streams, self._queues))]
        self._closed = False
        for thread in self._threads:
            thread.start()

    @property
    def stream_count(self) -> int:
        return len(self._streams)

    def _pump(self, stream: Any, out: queue.Queue[tuple[str, Any]]) -> None:
        try:
            for batch in stream.driver_batches():
                if not self._put(out, ("batch", stream.convert(batch))):
                    return
            self._put(out, ("end", None))
        except BaseException as exc:  # noqa: BLE001 - raised by the consumer on its turn
            if not self._stop.is_set():
                self._put(out, ("error", exc))

    def _put(self, out: queue.Queue[tuple[str, Any]], item: tuple[str, Any]) -> bool:
        while not self._stop.is_set():
            try:
                out.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def driver_batches(self) -> Iterator[pa.RecordBatch]:
        live = list(range(len(self._streams)))
        while live:
            for index in list(live):
                kind, value = self._queues[index].get()
                if kind == "end":
                    live.remove(index)
                elif kind == "error":
                    raise value
                else:
                    yield value

    def convert(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        return batch

    def close(self, finished: bool = False) -> None:
        """Stop every stream: cancel the COPYs still running, then free them once their
        threads are out of the decoder."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        if not finished:
            for stream in self._streams:
                stream.cancel()
        for thread in self._threads:
            thread.join(_JOIN_S)
        for thread, stream in zip(self._threads, self._streams):
            if thread.is_alive():  # stuck in libpq (a dead network): freeing it would crash
                log.warning("a COPY stream did not stop within %s s; its connection is left "
                            "to the server's timeouts", _JOIN_S)
                continue
            stream.close(finished)


def split(conn: psycopg.Connection[Any], request: ReadRequest
          ) -> tuple[str, list[str], ReadRequest] | None:
    """The snapshot to share, each stream's SQL and request, or None to read as one stream."""
    try:
        planned = plan(conn, request) if splittable(request) else None
    except psycopg.Error as exc:
        raise RivetSourceError(f"postgres: cannot plan the COPY streams: {first_line(exc)}",
                               export=request.export, field="query") from None
    if planned is None:
        return None
    snapshot, bounds = planned
    assert request.table is not None
    per_stream = request.batch_bytes // (len(bounds) + 1)
    share = replace(request, batch_bytes=max(_MIN_BATCH_BYTES, per_stream)
                    if request.batch_bytes else 0)
    return snapshot, [range_sql(request.table, bounds, i) for i in range(len(bounds) + 1)], share


def start_all(builders: Sequence[Callable[[], Any]]) -> ParallelCopyStream:
    """Start every stream (each closes what it opened if it fails), or none."""
    streams: list[Any] = []
    try:
        for build in builders:
            streams.append(build())
    except BaseException:
        for stream in streams:
            stream.close()
        raise
    return ParallelCopyStream(streams)
