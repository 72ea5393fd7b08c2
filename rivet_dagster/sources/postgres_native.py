"""PostgreSQL's fastest reader: binary COPY on psycopg's own connection, decoded in C.

Why: on narrow rows the ADBC driver's decoding is the export's bottleneck (2M rows of 12
columns: about 2.3 s of CPU, against well under 1 s for the server to produce them), and any
Python loop over rows costs more still. `native/pgcopy.c` decodes the COPY stream straight
into Arrow buffers; it is built with the package (a plain C file, no Python API) and loaded
with ctypes, which releases the GIL for each call, so decoding overlaps encoding.

What stays the same as the other readers, so the choice never shows in the output:
- Types and errors: the query is described and mapped on this very connection by the named
  cursor (`PostgresBatchStream`), then the cursor is closed and the same read-only
  transaction, with the same `SET LOCAL` settings, runs the COPY. Only columns whose binary
  form decodes to the mapped type exactly are taken (`native_kinds`); anything else falls
  back to the ADBC reader, then the cursor.
- Statement timeout: per batch, by a watchdog, as the ADBC COPY reader does.
- Bounded memory: rows are decoded only when the export asks for the next batch, cut by
  bytes (`batch_bytes`) or rows, and COPY streams.
- Values: ±infinity dates and timestamps fail with the column named (the cursor reader fails
  too; Arrow has no infinity).

`RIVET_POSTGRES_READER=native|copy|cursor` picks a reader; `auto` (the default) takes the
first that can read every column. If the C library was not built (no compiler at install
time), `auto` uses the ADBC reader and `native` says why.
"""

from __future__ import annotations

import ctypes
import functools
import os
import select
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
import pyarrow as pa

from rivet_dagster.errors import RivetSourceError
from rivet_dagster.sources.base import ReadRequest
from rivet_dagster.sources.batching import RegroupedStream
from rivet_dagster.sources.native_library import decoded_arrays, load_decoder
from rivet_dagster.sources.postgres_arrow import convert_error
from rivet_dagster.sources.postgres_session import (
    batch_watchdog,
    copy_timeout_error,
    server_words,
)
from rivet_dagster.sources.postgres_types import MappedColumn

# Column kinds of native/pgcopy.c, by source type OID.
_KINDS = {16: 0, 21: 1, 23: 2, 20: 3, 700: 4, 701: 5, 1082: 6, 1083: 7, 1114: 8, 1184: 8,
          17: 9, 25: 9, 1042: 9, 1043: 9, 114: 9, 3802: 10, 2950: 11}
_TEXT_KIND = 9  # enum labels travel as text
MB = 1024 * 1024
_HINT_BYTES = 8 * MB  # per batch when the engine sizes batches by rows


class _Library:
    """The compiled decoder and libpq's two functions it calls (None when unavailable)."""

    def __init__(self) -> None:
        self.lib: Any = None
        self.getcopy = self.freemem = 0
        self.why = ""
        try:
            self._load()
        except OSError as exc:
            self.lib, self.why = None, str(exc)

    def _load(self) -> None:
        lib = load_decoder("_pgcopy", "pgc")
        libpq = _psycopg_libpq()
        self.getcopy = ctypes.cast(libpq.PQgetCopyData, ctypes.c_void_p).value or 0
        self.freemem = ctypes.cast(libpq.PQfreemem, ctypes.c_void_p).value or 0
        self.lib = lib


def _psycopg_libpq() -> ctypes.CDLL:
    """The libpq psycopg itself uses (its PGconn pointers are only valid with that one)."""
    from psycopg import pq

    if pq.__impl__ == "python":
        from psycopg.pq import _pq_ctypes  # type: ignore[attr-defined]
        return _pq_ctypes.pq  # type: ignore[no-any-return]
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split(None, 5)[5].strip() for line in maps
                     if len(line.split(None, 5)) == 6 and "libpq" in os.path.basename(line)}
    except OSError:
        paths = set()
    if pq.__impl__ == "binary":  # the wheel's bundled libpq, not another one in the process
        paths = {p for p in paths if "psycopg_binary" in p} or paths
    if len(paths) != 1:
        raise OSError(f"cannot tell which libpq psycopg ({pq.__impl__}) uses: {sorted(paths)}")
    return ctypes.CDLL(paths.pop())


@functools.cache
def library() -> _Library:
    """Loaded once per process (a failed load is remembered with its reason)."""
    return _Library()


def native_kinds(columns: Sequence[MappedColumn], request: ReadRequest) -> list[int] | None:
    """The decoder's kind per column, or None when some column needs another reader."""
    kinds = []
    for column in columns:
        if request.column_overrides.get(column.name) is not None:
            return None
        if column.kind == "enum":
            kinds.append(_TEXT_KIND)
        elif column.kind in ("plain", "json", "uuid") and column.source_oid in _KINDS:
            kinds.append(_KINDS[column.source_oid])
        else:
            return None
    return kinds


class PostgresNativeCopyStream(RegroupedStream):
    """`COPY (query) TO STDOUT (FORMAT binary)` in the describing transaction, decoded in C."""

    def __init__(self, conn: psycopg.Connection[Any], request: ReadRequest,
                 columns: list[MappedColumn], schema: pa.Schema, kinds: list[int], sql: str):
        self.columns, self.schema, self._request = columns, schema, request
        self.sizes_by_bytes = request.batch_bytes > 0
        self.batch_size = sys.maxsize if self.sizes_by_bytes else max(1, request.batch_size)
        self._conn, self._closed, self._timed_out, self._ended = conn, False, False, False
        lib = library()
        self._lib = lib.lib
        self._storage = [_storage_type(c.arrow_type) for c in columns]
        self._reader: int | None = None
        try:
            conn.execute("SELECT set_config('statement_timeout', '0', true), "
                         "set_config('client_encoding', 'UTF8', true)")  # see module
            self._cancel = conn.pgconn.get_cancel()
            with self._watchdog():
                self._start(f"COPY ({sql}) TO STDOUT (FORMAT binary)")
        except psycopg.Error as exc:
            self._abort()
            raise self._failure(str(exc), "query failed") from None
        except BaseException:
            self._abort()
            raise
        array = (ctypes.c_int * len(kinds))(*kinds)
        self._reader = self._lib.pgc_new(conn.pgconn.pgconn_ptr, lib.getcopy, lib.freemem,
                                         len(kinds), array)
        if not self._reader:
            self._abort()
            raise MemoryError("the COPY decoder could not allocate its state")

    def _start(self, sql: str) -> None:
        """Send the COPY and wait (GIL released) until the server starts the rows."""
        pg = self._conn.pgconn
        pg.send_query(sql.encode())
        while True:
            pg.consume_input()
            if not pg.is_busy():
                break
            select.select([pg.socket], [], [])
        result = pg.get_result()
        if result is None or result.status != psycopg.pq.ExecStatus.COPY_OUT:
            message = result.error_message.decode(errors="replace") if result else ""
            while pg.get_result() is not None:
                pass
            raise self._failure(message or "the server did not start the COPY", "query failed")

    def driver_batches(self) -> Iterator[pa.RecordBatch]:
        rows = sys.maxsize if self.sizes_by_bytes else max(1, self.batch_size)
        limit = self._request.batch_bytes if self.sizes_by_bytes else _HINT_BYTES
        while not self._ended:
            with self._watchdog():
                status = self._lib.pgc_read(self._reader, rows, limit)
            if status < 0:
                raise self._read_error(status)
            batch = self._batch()
            if status == 0:
                self._finish()  # the server's final word first: an error spoils the batch
            if batch.num_rows:
                yield batch

    def _batch(self) -> pa.RecordBatch:
        arrays = decoded_arrays(self._lib, "pgc", self._reader, self._storage)
        arrays = [array if storage is column.arrow_type
                  else pa.ExtensionArray.from_storage(column.arrow_type, array)
                  for array, storage, column in zip(arrays, self._storage, self.columns)]
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)

    def _finish(self) -> None:
        """The COPY's closing result: where a server error raised mid-stream shows up."""
        self._ended = True
        pg, error = self._conn.pgconn, ""
        while (result := pg.get_result()) is not None:
            if result.status != psycopg.pq.ExecStatus.COMMAND_OK and not error:
                error = result.error_message.decode(errors="replace")
        if error:
            raise self._timeout_error() if self._timed_out else self._failure(error)

    def _read_error(self, status: int) -> RivetSourceError:
        if status == -3:
            col = ctypes.c_int()
            reason = self._lib.pgc_error(self._reader, ctypes.byref(col)).decode()
            if col.value >= 0:
                column = self.columns[col.value]
                return convert_error(column, ValueError(reason), self._request.export)
            return self._failure(f"undecodable COPY data: {reason}")
        if self._timed_out:
            return self._timeout_error()
        message = self._conn.pgconn.error_message.decode(errors="replace")
        return self._failure(message or "the connection was lost")

    def _failure(self, message: str, what: str = "fetch failed") -> RivetSourceError:
        text = server_words(message) or (message.strip().splitlines() or ["unknown error"])[0]
        return RivetSourceError(f"postgres: {what}: {text}", export=self._request.export,
                                field="query")

    def _watchdog(self) -> Any:
        """Cancel the COPY when the server takes over statement_timeout_s for one batch."""
        return batch_watchdog(self._request, self._time_out)

    def _time_out(self) -> None:
        self._timed_out = True
        self.cancel()

    def _timeout_error(self) -> RivetSourceError:
        return copy_timeout_error(self._request)

    def convert(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        return batch  # decoded straight into the mapped types

    def cancel(self) -> None:
        """Ask the server to stop the COPY (thread-safe; the reading thread then fails)."""
        if not self._ended:
            try:
                self._cancel.cancel()
            except Exception:  # noqa: BLE001 - closing the connection ends it anyway
                pass

    def close(self, finished: bool = False) -> None:
        """End the transaction; a COPY stopped early is cancelled, not drained."""
        if self._closed:
            return
        self._closed = True
        self._abort(cancel=not self._ended)

    def _abort(self, cancel: bool = True) -> None:
        if cancel and getattr(self, "_cancel", None) is not None:
            self.cancel()
        if self._reader:
            self._lib.pgc_free(self._reader)
            self._reader = None
        try:
            if not cancel:
                self._conn.rollback()  # read-only: nothing to commit
        except psycopg.Error:
            pass
        finally:
            self._conn.close()


def _storage_type(arrow_type: pa.DataType) -> pa.DataType:
    return arrow_type.storage_type if isinstance(arrow_type, pa.BaseExtensionType) else arrow_type
