"""The cursor reader's open result: raw rows from mysql-connector's C extension, or batches
its rows decoded in C (`mysql_native`), converted to the mapped Arrow types.

`MySQLSource.open` builds it (connection, session, metadata); this module only streams and
closes: end of rows, a failed fetch, an early close (the query is killed first, so closing
does not drain it), then the transaction ends and the session is restored.
"""

from __future__ import annotations

import rivet_dagster._native_preload  # noqa: F401,I001  (must precede pyarrow)

import sys
from collections.abc import Iterator
from itertools import islice
from typing import TYPE_CHECKING

import pyarrow as pa

from rivet_dagster.errors import RivetSourceError
from rivet_dagster.sources import mysql_native
from rivet_dagster.sources import mysql_types as mt
from rivet_dagster.sources.base import ReadRequest
from rivet_dagster.sources.mysql_session import DRIVER_ERRORS, Session

if TYPE_CHECKING:
    from rivet_dagster.sources.mysql import MySQLSource


class UnbufferedResult:
    """The unbuffered result of the main query: field metadata, then raw rows batch by batch."""

    def __init__(self, session: Session, stmt: bytes):
        self.session, self.done = session, False
        conn = session.conn
        self._cext = getattr(conn, "_cmysql", None)  # CMySQLConnection's low-level handle
        session.columns.clear()
        try:
            conn.cmd_query(stmt, raw=True, buffered=False)
            if self._cext is not None:
                self.fields = [mt.field_from_cext(f) for f in self._cext.fetch_fields() or ()]
            else:
                self.fields = list(session.columns)
        except DRIVER_ERRORS as exc:
            raise session.error(exc, "query failed") from None
        if not self.fields:
            self.done = True
            raise RivetSourceError(f"mysql {session.target}: the query returned no result set",
                                   export=session.export)

    def fetch(self, n: int) -> list[tuple]:
        if self.done:
            return []
        try:
            if self._cext is not None:
                rows = list(islice(iter(self._cext.fetch_row, None), n))
            else:
                rows, eof = self.session.conn.get_rows(count=n, raw=True)
                self.done = eof is not None
        except DRIVER_ERRORS as exc:
            self.end()
            raise self.session.error(exc, "reading rows failed") from None
        if len(rows) < n:
            self.end()
        return rows

    def end(self) -> None:
        """The rows are all read, or the fetch failed: nothing is left to kill or drain."""
        self.done = True
        self.free()

    def free(self) -> None:
        """Release the result (drains what is left: callers kill the query first)."""
        try:
            if self._cext is not None:
                self._cext.free_result()
            else:
                self.session.conn.consume_results()
        except DRIVER_ERRORS:
            pass


class MySQLBatchStream:
    """An open MySQL query: `schema` first, then RecordBatches of at most `batch_size` rows.

    With `native` (see `mysql_native`) the rows of the same result are decoded in C; without
    it, mysql-connector hands over raw tuples that `convert` turns into columns."""

    def __init__(self, source: MySQLSource, session: Session, reader: UnbufferedResult,
                 fields: list[mt.FieldMeta], schema: pa.Schema, request: ReadRequest,
                 native: mysql_native.NativeRows | None = None):
        self.schema = schema
        self._source, self._session, self._reader, self._fields = source, session, reader, fields
        self._request, self._native = request, native
        # A native reader cuts batches by bytes when the export sizes them by memory.
        self.sizes_by_bytes = native is not None and request.batch_bytes > 0
        # The engine may lower it between batches.
        self.batch_size = sys.maxsize if self.sizes_by_bytes else max(1, request.batch_size)
        self._storage = pa.struct([pa.field(f"c{i}", mt.storage_type(f))
                                   for i, f in enumerate(fields)])
        self._closed = self._failed = False

    @property
    def reader(self) -> str:
        """Which reader decodes the rows: "native" (C) or "cursor" (Python)."""
        return "native" if self._native is not None else "cursor"

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        for rows in self.raw_batches():
            yield self.convert(rows)

    def raw_batches(self) -> Iterator[list[tuple] | pa.RecordBatch]:
        """Fetched raw rows (or C-decoded batches); `convert` makes the RecordBatch (a reader
        thread may fetch)."""
        try:
            if self._native is not None:
                yield from self._native_batches(self._native)
            while not self._reader.done:
                rows = self._reader.fetch(max(1, self.batch_size))
                if rows:
                    yield rows
        except BaseException:
            self._failed = True
            self.close()
            raise
        self.close()

    def _native_batches(self, native: mysql_native.NativeRows) -> Iterator[pa.RecordBatch]:
        budget = self._request.batch_bytes if self.sizes_by_bytes else 0
        try:
            yield from mysql_native.batches(native, lambda: self.batch_size, budget)
        except mysql_native.FetchFailed as exc:
            self._reader.end()
            raise self._session.error(exc, "reading rows failed") from None
        self._reader.end()

    def convert(self, rows: list[tuple] | pa.RecordBatch) -> pa.RecordBatch:
        if self._native is not None:  # C-decoded batches
            assert isinstance(rows, pa.RecordBatch)
            return self._convert_native(rows, self._native.kinds)
        try:
            columns = pa.array(rows, type=self._storage)  # one C loop: tuples -> columns
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            columns = None  # find the column at fault below
        overrides, arrays = self._request.column_overrides, []
        export = self._request.export
        for i, field in enumerate(self._fields):
            try:
                raw = (columns.field(i) if columns is not None
                       else pa.array([r[i] for r in rows], type=self._storage.field(i).type))
            except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                raise RivetSourceError(f"column '{field.name}' ({field.native_type()}): {exc}",
                                       export=export) from None
            arrays.append(mt.column_to_arrow(raw, field, self.schema.field(i).type,
                                             field.name in overrides, export))
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)

    def _convert_native(self, batch: pa.RecordBatch, kinds: list[int]) -> pa.RecordBatch:
        """Columns the C decoder kept as raw text get the cursor reader's conversion."""
        overrides, export = self._request.column_overrides, self._request.export
        arrays = [batch.column(i) if kind != mysql_native.K_RAW else
                  mt.column_to_arrow(batch.column(i), field, self.schema.field(i).type,
                                     field.name in overrides, export)
                  for i, (field, kind) in enumerate(zip(self._fields, kinds))]
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)

    def close(self) -> None:
        """Stop the query if rows are left, end the transaction, restore the session."""
        if self._closed:
            return
        self._closed = True
        session, reader = self._session, self._reader
        if not reader.done:
            self._failed = True
            self._source._kill_query(session)
            reader.free()
        if self._native is not None:
            self._native.free()
        self._source._finish(session, commit=not self._failed)
