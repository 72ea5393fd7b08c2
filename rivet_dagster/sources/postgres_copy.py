"""PostgreSQL's fast reader: `COPY (query) TO STDOUT (FORMAT binary)` decoded in C++ by ADBC.

Why: the named-cursor reader spends most of its time creating and parsing one Python
object per value; the ADBC PostgreSQL driver decodes the binary COPY stream straight into
Arrow buffers (1M narrow rows in about 0.5 s on the dev machine, several times the cursor).

What stays the same as the cursor reader, so the choice never shows in the output:
- Types and errors: `PostgresSource.open` declares the query on psycopg first, which maps
  every column (overrides, unsupported types, NUMERIC precision). This reader is used only
  when every mapped column is one whose ADBC Arrow type converts exactly (`copy_supported`);
  anything else (interval, oid, "char", name, other overrides) keeps the cursor reader.
- Session: one read-only transaction with the same `SET LOCAL` settings (UTC, IntervalStyle,
  lock timeout), behind a transaction-mode pooler too.
- Statement timeout: the cursor reader's timeout bounds each FETCH, so an export of any
  length passes as long as every batch comes quickly. One COPY is a single statement for the
  whole export, and the server's statement_timeout would also count the time the client
  spends encoding or throttling. So the server's is switched off for the COPY and a watchdog
  cancels it when one batch takes longer than `statement_timeout_s`: the same bound as the
  cursor's.
- Bounded memory: batches are cut by bytes (`adbc.postgresql.batch_size_hint_bytes`), and
  COPY streams, so memory does not grow with the number of rows.
- Values: psycopg's client-side binding renders the parameters as escaped, typed literals
  (`ClientCursor.mogrify`). COPY takes no bind parameters, and ADBC's server-side binding
  buffers the whole result in one batch (measured: 1M rows, 287 MB).

`RIVET_POSTGRES_READER=cursor` forces the cursor reader (comparisons, bisecting a problem).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
import pyarrow as pa

from rivet_dagster import kernels
from rivet_dagster.errors import RivetSourceError
from rivet_dagster.sources.base import ReadRequest
from rivet_dagster.sources.batching import RegroupedStream
from rivet_dagster.sources.postgres_arrow import convert_error
from rivet_dagster.sources.postgres_session import (
    batch_watchdog, copy_timeout_error, first_line, server_words, session_settings,
)
from rivet_dagster.sources.postgres_types import NUMERIC_OID, MappedColumn

READER_ENV = "RIVET_POSTGRES_READER"
MB = 1024 * 1024
_MIN_HINT, _MAX_HINT = 1 * MB, 64 * MB
# OIDs whose ADBC Arrow type is already the mapped type (or, for numeric, its text).
_SAME_TYPE_OIDS = {16, 17, 20, 21, 23, 25, 114, 700, 701, 1042, 1043, 1082, 1083, 1114, 1184,
                   2950, 3802}
_LIST_ELEMENT_OIDS = {16, 17, 20, 21, 23, 25, 700, 701, 1042, 1043, 1082, 1083, 1114, 1184}


def reader_choice(export: str | None = None) -> str:
    """`RIVET_POSTGRES_READER`: auto (the fastest that reads every column), native, copy
    (ADBC) or cursor."""
    choice = os.environ.get(READER_ENV, "auto").strip().lower()
    if choice not in ("auto", "native", "copy", "cursor"):
        raise RivetSourceError(f"{READER_ENV}={choice!r}: expected auto, native, copy or cursor",
                               export=export, field=READER_ENV)
    return choice


def copy_supported(columns: Sequence[MappedColumn], request: ReadRequest) -> bool:
    """True when every column comes out of ADBC as its mapped type (or numeric text)."""
    return all(_supported(c, request) for c in columns)


def _supported(column: MappedColumn, request: ReadRequest) -> bool:
    oid, override = column.source_oid, request.column_overrides.get(column.name)
    if oid == NUMERIC_OID:
        return column.kind == "decimal"  # mapped from typmod or a decimal override
    if override is not None:
        return False  # casts from text follow the cursor reader's rules
    if column.kind == "enum":
        return True  # enums arrive as text
    if column.kind == "list":
        return column.element_oid in _LIST_ELEMENT_OIDS
    return oid in _SAME_TYPE_OIDS


def literal_sql(conn: psycopg.Connection[Any], request: ReadRequest) -> str:
    """The query with its parameters rendered by psycopg as escaped, typed literals."""
    if not request.params:
        return request.sql
    return psycopg.ClientCursor(conn).mogrify(request.sql, request.params)


class PostgresCopyStream(RegroupedStream):
    """One COPY in one read-only transaction, read batch by batch through ADBC."""

    def __init__(self, connect_kwargs: dict[str, Any], request: ReadRequest,
                 columns: list[MappedColumn], schema: pa.Schema, sql: str, where: str,
                 snapshot: str | None = None):
        from adbc_driver_manager import Error as AdbcError  # imported only when used

        self.columns = columns
        self.schema = schema
        self._request = request
        # Memory-sized exports: batches are cut by bytes here, not by the engine's row count.
        self.sizes_by_bytes = request.batch_bytes > 0
        self.batch_size = sys.maxsize if self.sizes_by_bytes else max(1, request.batch_size)
        self._closed = self._timed_out = False
        self._reader: Any = None
        try:
            self._adbc = _AdbcSession(psycopg.conninfo.make_conninfo("", **connect_kwargs))
        except AdbcError as exc:
            raise RivetSourceError(f"postgres: cannot connect to {where}: {adbc_message(exc)}",
                                   export=request.export, field="source") from None
        try:
            if snapshot is None:
                self._adbc.run("SET TRANSACTION READ ONLY")
            else:  # one of several streams over one snapshot (sources/postgres_parallel.py)
                self._adbc.run("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                self._adbc.run(f"SET TRANSACTION SNAPSHOT '{_snapshot_id(snapshot)}'")
            settings = {**session_settings(request), "statement_timeout": "0"}  # see module
            self._adbc.run("SELECT " + ", ".join(
                f"set_config('{name}', '{value}', true)" for name, value in settings.items()))
            self._adbc.statement.set_options(**{
                "adbc.postgresql.batch_size_hint_bytes": str(self._hint_bytes(request))})
            with self._watchdog():  # ADBC's execute already waits for the first batch
                self._reader = self._adbc.query(sql)
        except AdbcError as exc:
            self._abort()
            raise self._timeout_error() if self._timed_out else RivetSourceError(
                f"postgres: query failed: {adbc_message(exc)}",
                export=request.export, field="query") from None
        except BaseException:
            self._abort()
            raise
        self._converters = [_converter(c, f, request.export)
                            for c, f in zip(columns, self._reader.schema)]

    def _hint_bytes(self, request: ReadRequest) -> int:
        if self.sizes_by_bytes:
            return request.batch_bytes
        from rivet_dagster.engine.memory_policy import estimate_row_bytes
        wanted = request.batch_size * estimate_row_bytes(self.schema)
        return min(_MAX_HINT, max(_MIN_HINT, wanted))

    def driver_batches(self) -> Iterator[pa.RecordBatch]:
        """ADBC's batches (regrouped to exactly `batch_size` rows when the engine sets one)."""
        while (batch := self._next_adbc_batch()) is not None:
            yield batch

    def _next_adbc_batch(self) -> pa.RecordBatch | None:
        from adbc_driver_manager import Error as AdbcError

        try:
            with self._watchdog():
                return self._reader.read_next_batch()
        except StopIteration:
            return None
        except (AdbcError, pa.ArrowException, OSError) as exc:  # server errors mid-COPY
            if self._timed_out:
                raise self._timeout_error() from None
            raise RivetSourceError(f"postgres: fetch failed: {adbc_message(exc)}",
                                   export=self._request.export, field="query") from None

    def _watchdog(self) -> Any:
        """Cancel the COPY when the server takes over statement_timeout_s for one batch."""
        return batch_watchdog(self._request, self._time_out)

    def _timeout_error(self) -> RivetSourceError:
        return copy_timeout_error(self._request)

    def _time_out(self) -> None:
        self._timed_out = True
        self.cancel()

    def cancel(self) -> None:
        """Ask the server to stop the COPY (thread-safe: libpq's cancel request)."""
        try:
            self._adbc.statement.cancel()
        except Exception:  # noqa: BLE001 - the fetch then fails or finishes by itself
            pass

    def convert(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        arrays = [convert(batch.column(i)) for i, convert in enumerate(self._converters)]
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)

    def close(self, finished: bool = False) -> None:
        """End the transaction; a COPY stopped early is cancelled, not drained."""
        if self._closed:
            return
        self._closed = True
        if finished:
            try:
                self._adbc.connection.rollback()  # read-only: nothing to commit
            except Exception:  # noqa: BLE001 - the data is already read; closing follows
                pass
        self._abort(cancel=not finished)

    def _abort(self, cancel: bool = True) -> None:
        for step in (lambda: cancel and self._adbc.statement.cancel(),
                     lambda: self._reader is not None and self._reader.close(),
                     self._adbc.close):
            try:
                step()
            except Exception:  # noqa: BLE001 - best effort: the server ends the transaction
                pass


class _AdbcSession:
    """ADBC's own objects, one statement on one connection in a transaction, without its
    DB-API layer: `adbc_driver_manager.dbapi` imports pyarrow.dataset and pyarrow.compute,
    70 ms of every process that reads through it, for a cursor this reader does not need."""

    def __init__(self, conninfo: str):
        import adbc_driver_postgresql
        from adbc_driver_manager import AdbcConnection, AdbcStatement

        self._database = adbc_driver_postgresql.connect(conninfo)
        self.connection: Any = None
        self.statement: Any = None
        try:
            self.connection = AdbcConnection(self._database)
            self.connection.set_autocommit(False)  # a transaction, as the DB-API's would be
            self.statement = AdbcStatement(self.connection)
        except BaseException:
            self.close()
            raise

    def run(self, sql: str) -> None:
        """A statement whose result (at most a row) is not needed."""
        self.query(sql).read_all()

    def query(self, sql: str) -> pa.RecordBatchReader:
        # As ADBC's DB-API does it: on the main thread, Ctrl-C (SIGINT) while the server
        # works on the statement cancels it, instead of waiting for its first batch.
        from adbc_driver_manager._lib import _blocking_call

        self.statement.set_sql_query(sql)
        stream, _rows = _blocking_call(self.statement.execute_query, (), {},
                                       self.statement.cancel)
        return pa.RecordBatchReader._import_from_c(stream.address)

    def close(self) -> None:
        for part in (self.statement, self.connection, self._database):
            if part is not None:
                try:
                    part.close()
                except Exception:  # noqa: BLE001 - best effort: the server ends the session
                    pass


def _converter(column: MappedColumn, field: pa.Field, export: str | None) -> Any:
    """Per-column conversion from ADBC's Arrow type to the mapped type."""
    convert = _cast(column, field, export)
    limit = _infinity_floor(column.arrow_type)
    if limit is None:
        return convert
    return lambda array: convert(_finite(array, limit, column, export))


def _cast(column: MappedColumn, field: pa.Field, export: str | None) -> Any:
    target = column.arrow_type
    if field.type == target:
        return lambda array: array

    def cast(array: pa.Array) -> pa.Array:
        storage = array.storage if isinstance(array, pa.ExtensionArray) else array
        try:
            if isinstance(target, pa.BaseExtensionType):
                return pa.ExtensionArray.from_storage(target, kernels.cast(storage, target.storage_type))
            return kernels.cast(storage, target)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
            raise convert_error(column, exc, export) from None

    return cast


# PostgreSQL's earliest date and timestamp (4713 BC) in Arrow's units. ADBC turns ±infinity
# into far smaller values (its epoch shift overflows), so anything below is an infinity.
_EARLIEST_DAY = -2_440_588
_EARLIEST_US = _EARLIEST_DAY * 86_400_000_000


def _infinity_floor(arrow_type: pa.DataType) -> int | None:
    element = arrow_type.value_type if pa.types.is_list(arrow_type) else arrow_type
    if pa.types.is_date32(element):
        return _EARLIEST_DAY
    if pa.types.is_timestamp(element):
        return _EARLIEST_US
    return None


def _finite(array: pa.Array, floor: int, column: MappedColumn, export: str | None) -> pa.Array:
    """The array unchanged, or the cursor reader's error when it holds an infinity."""
    values = array.flatten() if pa.types.is_list(array.type) else array
    low = kernels.min(kernels.cast(values, pa.int64()) if not pa.types.is_date32(values.type)
                 else values.view(pa.int32())).as_py()
    if low is not None and low < floor:
        raise convert_error(column, ValueError("infinity"), export)
    return array


def _snapshot_id(snapshot: str) -> str:
    """An exported snapshot's id (hex and dashes), checked before it is put into SQL."""
    if not snapshot or any(c not in "0123456789ABCDEFabcdef-" for c in snapshot):
        raise ValueError(f"not a snapshot id: {snapshot!r}")
    return snapshot


def adbc_message(exc: BaseException) -> str:
    """The server's words from an ADBC error (it wraps them in driver context)."""
    return server_words(str(exc)) or first_line(exc)


def adbc_available() -> bool:
    try:
        import adbc_driver_manager  # noqa: F401
        import adbc_driver_postgresql  # noqa: F401
    except ImportError:
        return False
    return True
