"""MariaDB's fast reader: connectorx decodes the binary protocol into Arrow in Rust.

Why: the cursor reader gets one Python bytes object per value from mysql-connector and
then builds Arrow arrays from them; on narrow rows that is most of the run. connectorx
reads the same result with a Rust driver straight into Arrow buffers.

What stays the same as the cursor reader, so the choice never shows in the output:
- Types and errors: `MySQLSource` PREPAREs the query first (metadata only) and maps every
  column with `mysql_types`, exactly as the cursor reader does; conversions go through the
  same `mysql_types.to_arrow`. connectorx is given only columns whose values it decodes
  exactly. The others are rewritten server-side in one derived table (`plan`):
  DECIMAL, TIME, overridden and NULL-typed columns arrive as their text (what the cursor
  reader reads too); DATE / DATETIME / TIMESTAMP arrive natively with zero and invalid dates
  turned into NULL by the server (connectorx aborts on them; the cursor reader reads NULL).
- Session: `SET STATEMENT time_zone='+00:00', max_statement_time=N FOR ...` gives the one
  statement the cursor reader's UTC session and timeout. The statement is always
  `SELECT ... FROM (query) AS _rivet`, so only a SELECT can run (the cursor reader uses a
  READ ONLY transaction; a single SELECT in autocommit reads one consistent snapshot).
- Order: a trailing top-level ORDER BY (incremental windows have one) is moved out of the
  derived table, where MariaDB would ignore it. A rewritten statement that does not PREPARE
  (an ORDER BY naming an inner table alias, say), a top-level LIMIT, or repeated column
  names keep the cursor reader.
- Transport: TCP as configured (never the server's socket behind the caller's back); a
  session that would use TLS keeps the cursor reader (this driver build speaks plaintext).
- Early close: the query is found by a unique comment tag in the process list and killed,
  so an abandoned export does not leave the server streaming.

`RIVET_MYSQL_READER=cursor` forces the cursor reader; `arrow` makes a refusal an error.
MySQL servers (not MariaDB) keep the cursor reader: `SET STATEMENT` is MariaDB's.
"""

from __future__ import annotations

import rivet_dagster._native_preload  # noqa: F401,I001  (must precede pyarrow)

import logging
import os
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pyarrow as pa

from rivet_dagster import kernels
from rivet_dagster.engine.memory_policy import MB, estimate_row_bytes
from rivet_dagster.errors import RivetSourceError
from rivet_dagster.sources import mysql_types as mt
from rivet_dagster.sources.base import ReadRequest
from rivet_dagster.sources.batching import RegroupedStream
from rivet_dagster.sources.connection_url import ConnectionParams
from rivet_dagster.sources.flow_relay import FlowRelay
from rivet_dagster.sources.mysql_session import source_error

log = logging.getLogger(__name__)

READER_ENV = "RIVET_MYSQL_READER"
DRIVER_BATCH_MB, DRIVER_BATCH_MIN_ROWS, DRIVER_BATCH_MAX_ROWS = 8, 1024, 16384
READ_AHEAD_BATCHES, READ_AHEAD_MB = 8, 32
_TEXT_GUESS = 4096
_NATIVE_CODES = frozenset({mt.TINY, mt.SHORT, mt.LONG, mt.INT24, mt.LONGLONG, mt.FLOAT, mt.DOUBLE,
                           mt.YEAR, mt.BIT, mt.ENUM, mt.SET, mt.VARCHAR, mt.VAR_STRING, mt.STRING,
                           mt.TINY_BLOB, mt.MEDIUM_BLOB, mt.LONG_BLOB, mt.BLOB, mt.JSON})
_DATE_CODES = frozenset({mt.DATE, mt.NEWDATE, mt.DATETIME, mt.DATETIME2, mt.TIMESTAMP,
                         mt.TIMESTAMP2})
_TEXT_CODES = frozenset({mt.DECIMAL, mt.NEWDECIMAL, mt.TIME, mt.TIME2, mt.NULL})
_ERROR = re.compile(r"ERROR (\d+) \((\w+)\): (.*?)(?: \}|$)", re.S)


def reader_choice(export: str | None = None) -> str:
    """auto (default), native, arrow or cursor, from RIVET_MYSQL_READER."""
    choice = os.environ.get(READER_ENV, "auto").strip().lower()
    if choice not in ("auto", "native", "arrow", "cursor"):
        raise RivetSourceError(f"{READER_ENV}={choice!r}: expected auto, native, arrow or cursor",
                               export=export, field=READER_ENV)
    if choice == "arrow" and not connectorx_available():
        raise RivetSourceError(f"{READER_ENV}=arrow but connectorx is not installed",
                               export=export, field=READER_ENV)
    return choice


@dataclass(frozen=True)
class ArrowPlan:
    """The statement connectorx runs, and the tag that finds it in the process list."""

    sql: str
    tag: str


def plan(fields: Sequence[mt.FieldMeta], request: ReadRequest,
         bound_sql: str) -> tuple[ArrowPlan | None, str]:
    """The rewritten statement, or None and the reason the cursor reader must read it."""
    names = [f.name.lower() for f in fields]
    if len(set(names)) != len(names):
        return None, "the query repeats a column name"
    for field in fields:
        if field.type_code not in _NATIVE_CODES | _DATE_CODES | _TEXT_CODES:
            return None, f"column '{field.name}' ({field.native_type()}) is read as raw bytes"
    body, order = split_order_by(bound_sql.strip().rstrip(";").strip())
    if body is None:
        return None, "the query ends in LIMIT (the derived table would be materialized)"
    tag = uuid.uuid4().hex
    exprs = ", ".join(f"{_expression(f, f.name in request.column_overrides)} AS `_rivet_c{i}`"
                      for i, f in enumerate(fields))
    timeout_s = request.statement_timeout_s
    timeout = f"{float(timeout_s):g}" if timeout_s else "0"
    sql = (f"SET STATEMENT time_zone='+00:00', max_statement_time={timeout} FOR "
           f"SELECT /* rivet:{tag} */ {exprs} FROM ({body}) AS _rivet{order}")
    return ArrowPlan(sql=sql, tag=tag), ""


def _expression(field: mt.FieldMeta, overridden: bool) -> str:
    column = "_rivet.`" + field.name.replace("`", "``") + "`"
    binary = mt.storage_type(field) == pa.binary()
    if field.type_code in _TEXT_CODES or (overridden and not binary):
        return f"CAST({column} AS CHAR)"
    if field.type_code in _DATE_CODES:  # zero / invalid dates: NULL, as the cursor reader reads them
        return f"IF({column} + INTERVAL 0 DAY IS NULL, NULL, {column})"
    return column


_WORD = re.compile(r"[A-Za-z_]+")


def split_order_by(sql: str) -> tuple[str | None, str]:
    """(query without its trailing top-level ORDER BY, " ORDER BY ..."), or (None, "") when
    the query has a top-level LIMIT. Quotes, comments and parentheses are skipped."""
    order_at: int | None = None
    depth, i, n = 0, 0, len(sql)
    while i < n:
        c = sql[i]
        if c in "'\"`":
            i = _skip_quoted(sql, i)
            continue
        if sql.startswith("--", i) or c == "#":
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
            continue
        if sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif depth == 0 and (c.isalpha() or c == "_") and (i == 0 or not _ident(sql[i - 1])):
            word = _WORD.match(sql, i)
            assert word is not None
            token = word.group().upper()
            if token == "LIMIT":
                return None, ""
            if token == "ORDER" and re.match(r"ORDER\s+BY\b", sql[i:], re.I):
                order_at = i
            elif token in ("UNION", "INTERSECT", "EXCEPT", "SELECT"):
                order_at = None  # an ORDER BY before a set operation belongs to its branch
            i = word.end()
            continue
        i += 1
    if order_at is None:
        return sql, ""
    order = sql[order_at:]
    items = re.sub(r"^ORDER\s+BY\s+", "", order, flags=re.I)
    if any(item.strip()[:1].isdigit() for item in items.split(",")):
        return None, ""  # ORDER BY 2 would point at the rewritten column
    return sql[:order_at].rstrip(), " " + order


def _ident(c: str) -> bool:
    return c.isalnum() or c in "_$"


def _skip_quoted(sql: str, i: int) -> int:
    quote_char, j = sql[i], i + 1
    while j < len(sql):
        if sql[j] == "\\" and quote_char != "`":
            j += 2
            continue
        if sql[j] == quote_char:
            if j + 1 < len(sql) and sql[j + 1] == quote_char:
                j += 2
                continue
            return j + 1
        j += 1
    return j


def connection_url(relay: FlowRelay, user: str, password: str | None,
                   database: str | None) -> str:
    """connectorx's URL: to the local relay (never a switch to the server's own socket)."""
    auth = quote(user, safe="") + ":" + quote(password or "", safe="")
    url = f"mysql://{auth}@127.0.0.1:{relay.port or 3306}/{quote(database or '', safe='')}"
    if relay.socket_path:
        return f"{url}?socket={quote(relay.socket_path, safe='')}&prefer_socket=false"
    return f"{url}?prefer_socket=false"


def batch_rows(fields: Sequence[mt.FieldMeta], schema: pa.Schema) -> int:
    """Rows per connectorx batch (regrouped later into the engine's batch sizes).

    About DRIVER_BATCH_MB of rows, estimated from the declared column lengths (a text column
    counts its declared byte length, at most 4 KB). Large batches on narrow rows matter:
    connectorx 0.4.6 keeps a few KB of every batch it hands over (measured: +28 MB over 20M
    rows in 2,048-row batches, +4 MB in 16,384-row ones); small ones keep wide rows bounded.
    """
    width = 0
    for field, arrow_field in zip(fields, schema):
        kind = arrow_field.type.storage_type if isinstance(arrow_field.type, pa.BaseExtensionType) \
            else arrow_field.type
        if pa.types.is_string(kind) or pa.types.is_binary(kind):
            width += min(field.length or _TEXT_GUESS, _TEXT_GUESS) + 4
        else:
            width += estimate_row_bytes(pa.schema([pa.field("c", kind)]))
    rows = DRIVER_BATCH_MB * MB // max(1, width)
    return int(min(DRIVER_BATCH_MAX_ROWS, max(DRIVER_BATCH_MIN_ROWS, rows)))


def read_ahead_rows(driver_rows: int) -> int:
    """Rows the relay lets the driver read ahead of the export (0: only while it waits).

    Wide rows (driver batches cut by bytes) get READ_AHEAD_BATCHES batches, at most
    READ_AHEAD_MB of wire bytes, so the server and the driver's decoding overlap the export's
    encoding. Measured on 300k rows of ~4 KB, fast profile: 6.1 s with 2 batches, 5.4 s with 8
    (+24 MB peak RSS), 5.4 s with 32 (+55 MB). The relay counts packets for that, which on
    narrow rows would cost more CPU than the overlap gains. A throttled export
    (`request.read_ahead` false) gets no window: its pause is the server's pause too.
    """
    return READ_AHEAD_BATCHES * driver_rows if driver_rows < DRIVER_BATCH_MAX_ROWS else 0


class MariaDBArrowStream(RegroupedStream):
    """One connectorx statement, read batch by batch; `kill` stops it server-side."""

    def __init__(self, params: ConnectionParams, connect_timeout_s: int, arrow_plan: ArrowPlan,
                 fields: list[mt.FieldMeta], schema: pa.Schema, request: ReadRequest,
                 kill: Callable[[str], None]):
        import connectorx as cx  # imported only when used

        self.schema = schema
        # The engine sizes batches in rows (and from the measured width when sized by
        # memory); the driver's smaller batches are regrouped to that size.
        self.batch_size = max(1, request.batch_size)
        # Unthrottled and sized by memory: the driver's ~8 MB batches go out as they come
        # (regrouping copied every value once more: 300k wide rows peaked at 298 MB instead of
        # 208). A throttled export still gets the engine's batch size, which paces its pauses.
        self.sizes_by_bytes = request.batch_bytes > 0 and request.read_ahead
        rows = batch_rows(fields, schema)
        self._fields, self._request, self._plan, self._kill = fields, request, arrow_plan, kill
        self._target = params.describe()
        self._overridden = [f.name in request.column_overrides for f in fields]
        self._closed = False
        self._reader: Any = None
        self._password = params.password or ""
        window = read_ahead_rows(rows) if request.read_ahead else 0
        try:
            self._relay = FlowRelay(params.host, params.port, connect_timeout_s, window_rows=window,
                                    window_bytes=READ_AHEAD_MB * MB)
        except OSError as exc:
            raise RivetSourceError(f"mysql {self._target}: {exc}; set {READER_ENV}=cursor to "
                                   f"read without it", export=request.export) from None
        url = connection_url(self._relay, params.user, params.password, params.database)
        try:
            self._reader = self._relay.fetch(  # connecting and the first rows pass freely
                lambda: cx.read_sql(url, arrow_plan.sql, return_type="arrow_stream",
                                    protocol="binary", batch_size=rows))
        except BaseException as exc:  # RuntimeError, or pyo3's PanicException (a BaseException)
            self._relay.close()
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            upstream = self._relay.upstream_error()
            if upstream:
                raise RivetSourceError(f"mysql {self._target}: {upstream}",
                                       export=request.export) from None
            raise self._error(exc, "query failed") from None

    def driver_batches(self) -> Iterator[pa.RecordBatch]:
        """connectorx's batches (regrouped to the engine's `batch_size`)."""
        while True:
            try:
                batch = self._relay.fetch(self._reader.read_next_batch)
            except StopIteration:
                return
            except BaseException as exc:  # noqa: BLE001 - connectorx panics on server errors
                if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                    raise
                self.close(finished=True)  # the statement is over: nothing to kill
                raise self._error(exc, "reading rows failed") from None
            if batch.num_rows:
                yield batch

    def convert(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        arrays = []
        for i, field in enumerate(self._fields):
            raw = batch.column(i)
            if pa.types.is_large_string(raw.type):
                raw = kernels.cast(raw, pa.string())
            elif pa.types.is_large_binary(raw.type):
                raw = kernels.cast(raw, pa.binary())
            arrays.append(mt.column_to_arrow(raw, field, self.schema.field(i).type,
                                             self._overridden[i], self._request.export))
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)

    def close(self, finished: bool = False) -> None:
        """A statement stopped early is killed server-side, then its reader dropped."""
        if self._closed:
            return
        self._closed = True
        if not finished:
            self._kill(self._plan.tag)
        self._reader = None  # drops connectorx's pool before its relay goes away
        self._relay.close()

    def _error(self, exc: BaseException, action: str) -> RivetSourceError:
        """connectorx wraps the server's error in Rust debug text: take out code and message."""
        text = str(exc)
        match = _ERROR.search(text)
        errno, msg = ((int(match.group(1)), match.group(3).strip()) if match
                      else (None, " ".join(text.split())[:500]))
        return source_error(self._target, self._password, errno, msg, action,
                            self._request.statement_timeout_s, self._request.export)


def connectorx_available() -> bool:
    try:
        import connectorx  # noqa: F401
    except ImportError:
        return False
    return True

