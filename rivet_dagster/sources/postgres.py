"""PostgreSQL source: psycopg 3, read-only transaction, server-side cursor, Arrow batches.

Why this shape: a named (server-side) cursor keeps at most one batch in the client, the
transaction is read-only so an export can never write, and every session setting is
`SET LOCAL` (via set_config(..., true)) so it dies with the transaction, also behind a
transaction-mode pooler.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import psycopg
import pyarrow as pa

from rivet_dagster.config.source import SourceConfig
from rivet_dagster.errors import RivetSourceError
from rivet_dagster.sources.base import ReadRequest
from rivet_dagster.sources.postgres_arrow import batch_from_rows, raw_schema, register_loaders
from rivet_dagster.sources.postgres_session import first_line, session_settings
from rivet_dagster.sources.postgres_copy import (
    READER_ENV, PostgresCopyStream, adbc_available, copy_supported, literal_sql, reader_choice,
)
from rivet_dagster.sources.postgres_native import (
    PostgresNativeCopyStream, library, native_kinds,
)
from rivet_dagster.sources.postgres_parallel import (
    ParallelCopyStream, join_snapshot, split, splittable, start_all,
)
from rivet_dagster.sources.connection_url import ConnectionParams, resolve_connection
from rivet_dagster.sources.postgres_types import (
    MappedColumn, PgColumn, UnsupportedColumn, map_column, SCALAR_OIDS, ARRAY_OIDS, NUMERIC_OID,
)

log = logging.getLogger(__name__)
PostgresStream = ("PostgresBatchStream | PostgresCopyStream | PostgresNativeCopyStream | "
                  "ParallelCopyStream")  # what `open` returns, by reader


class PostgresSource:
    """Reads PostgreSQL. Cheap to construct; each `open` uses its own connection."""

    engine = "postgres"

    def __init__(self, config: SourceConfig):
        self.config = config
        self._params: ConnectionParams | None = None

    @property
    def params(self) -> ConnectionParams:
        if self._params is None:
            self._params = resolve_connection(self.config)
        return self._params

    def connect_kwargs(self) -> dict[str, Any]:
        """libpq connection parameters, shared by psycopg and the COPY reader."""
        p = self.params
        kwargs: dict[str, Any] = dict(host=p.host, port=p.port, user=p.user, dbname=p.database,
                                      application_name="rivet-dagster", connect_timeout=10)
        if p.password is not None:
            kwargs["password"] = p.password
        kwargs.update(_tls_kwargs(self.config))
        kwargs.update({k: v for k, v in p.options.items() if k not in kwargs})
        return kwargs

    def connect(self, export: str | None = None, repeatable: bool = False
                ) -> psycopg.Connection[Any]:
        """A read-only connection; `repeatable`: its transactions are REPEATABLE READ (one
        snapshot for every statement, which parallel COPY streams share)."""
        p = self.params
        try:
            conn = psycopg.connect(**self.connect_kwargs())
        except psycopg.Error as exc:
            raise RivetSourceError(
                f"postgres: cannot connect to {p.describe()}: {first_line(exc)}",
                export=export, field="source") from None
        conn.read_only = True
        if repeatable:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        return conn

    def open(self, request: ReadRequest) -> "PostgresStream":
        """The fastest reader that reads every column: binary COPY decoded in C, binary COPY
        decoded by ADBC, else the named cursor.

        All start the same way: the query is declared (planned, not run) on a psycopg
        connection, which describes and maps the columns, so types and errors are the same
        whichever reader then streams the rows."""
        choice = reader_choice(request.export)
        conn = self.connect(request.export, repeatable=splittable(request))
        try:
            stream = PostgresBatchStream(conn, request)
        except BaseException:
            conn.close()
            raise
        if choice in ("auto", "native"):
            kinds = native_kinds(stream.columns, request)
            if kinds is not None and library().lib is not None:
                return self._native(stream, request, kinds)
            if choice == "native":
                stream.close()
                why = library().why if kinds is not None else (
                    "a column's type or override needs the ADBC or cursor reader")
                raise RivetSourceError(f"{READER_ENV}=native: {why}", export=request.export,
                                       field=READER_ENV)
        if choice == "cursor" or not adbc_available() or not copy_supported(stream.columns,
                                                                             request):
            return stream
        return self._adbc(stream, request)

    def _native(self, stream: "PostgresBatchStream", request: ReadRequest, kinds: list[int]
                ) -> PostgresNativeCopyStream | ParallelCopyStream:
        """The C decoder on the describing connection, in the same transaction; split into
        streams over its snapshot when the export reads a whole table (postgres_parallel)."""
        try:
            sql = literal_sql(stream.connection, request)
            parts = split(stream.connection, request)
        except BaseException:
            stream.close()
            raise
        conn = stream.release_connection()
        if parts is None:
            return PostgresNativeCopyStream(conn, request, stream.columns, stream.schema, kinds,
                                            sql)
        snapshot, sqls, share = parts

        def member(index: int, member_sql: str) -> Callable[[], PostgresNativeCopyStream]:
            def build() -> PostgresNativeCopyStream:
                member_conn = conn if index == 0 else self._joined(snapshot, request)
                return PostgresNativeCopyStream(member_conn, share, stream.columns,
                                                stream.schema, kinds, member_sql)
            return build

        try:
            return start_all([member(i, s) for i, s in enumerate(sqls)])
        except BaseException:
            conn.close()  # the leader, when a later stream failed to start
            raise

    def _adbc(self, stream: "PostgresBatchStream", request: ReadRequest
              ) -> PostgresCopyStream | ParallelCopyStream:
        """ADBC's COPY in its own connection(s); the describing transaction ends once every
        stream has started (and imported its snapshot, when split)."""
        try:
            sql = literal_sql(stream.connection, request)
            parts = split(stream.connection, request)
            if parts is None:
                return PostgresCopyStream(self.connect_kwargs(), request, stream.columns,
                                          stream.schema, sql, self.params.describe())
            snapshot, sqls, share = parts
            return start_all([
                (lambda member_sql=s: PostgresCopyStream(
                    self.connect_kwargs(), share, stream.columns, stream.schema, member_sql,
                    self.params.describe(), snapshot=snapshot))
                for s in sqls])
        finally:
            stream.close()

    def _joined(self, snapshot: str, request: ReadRequest) -> psycopg.Connection[Any]:
        """A new read-only connection whose transaction sees `snapshot`, with the session."""
        conn = self.connect(request.export, repeatable=True)
        try:
            join_snapshot(conn, snapshot)
            _apply_session(conn, request)
        except psycopg.Error as exc:
            conn.close()
            raise RivetSourceError(f"postgres: cannot share the snapshot: {first_line(exc)}",
                                   export=request.export, field="query") from None
        except BaseException:
            conn.close()
            raise
        return conn

    def scalar(self, sql: str, params: Sequence[Any] = (), export: str | None = None) -> Any:
        """One value from a short query (probes, counts) in its own read-only transaction."""
        rows = self.rows(sql, params, export)
        return rows[0][0] if rows and rows[0] else None

    def rows(self, sql: str, params: Sequence[Any] = (), export: str | None = None) -> list[tuple]:
        """A small result (planning queries) in its own read-only transaction, in UTC."""
        with self.connect(export) as conn:
            try:
                conn.execute("SELECT set_config('TimeZone', 'UTC', true)")
                return list(conn.execute(sql, params or None).fetchall())
            except psycopg.Error as exc:
                raise RivetSourceError(f"postgres: query failed: {first_line(exc)}",
                                       export=export, field="query") from None

    def describe(self, request: ReadRequest) -> pa.Schema:
        probe = f"SELECT * FROM ({request.sql}) AS _rivet_probe LIMIT 0"
        with self.connect(request.export) as conn:
            try:
                cur = conn.execute(probe, request.params)
            except psycopg.Error as exc:
                raise RivetSourceError(f"postgres: query failed: {first_line(exc)}",
                                       export=request.export, field="query") from None
            columns = _describe_columns(conn, cur.description or [])
            return _schema(_map_all(columns, request))


class PostgresBatchStream:
    """One query inside one read-only transaction, streamed through a named cursor."""

    def __init__(self, conn: psycopg.Connection[Any], request: ReadRequest):
        self._conn = conn
        self._request = request
        self.batch_size = max(1, request.batch_size)  # the engine may lower it between batches
        self._closed = False
        try:
            _apply_session(conn, request)
            self._cursor = conn.cursor(name="rivet_export", withhold=False)
            register_loaders(self._cursor)  # this cursor only: probes keep typed values
            self._cursor.itersize = request.batch_size
            self._cursor.execute(request.sql, request.params or None)
            columns = _describe_columns(conn, self._cursor.description or [])
        except psycopg.Error as exc:
            raise RivetSourceError(f"postgres: query failed: {first_line(exc)}",
                                   export=request.export, field="query") from None
        self.columns = _map_all(columns, request)
        self.schema = _schema(self.columns)
        self._raw = raw_schema(self.columns)

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        for rows in self.raw_batches():
            yield self.convert(rows)

    def raw_batches(self) -> Iterator[list[tuple[Any, ...]]]:
        """Fetched rows as the driver returns them; `convert` makes the RecordBatch.

        Split so a reader thread can fetch while the caller's thread converts: Arrow
        allocations then stay on one thread (allocator arenas are per thread)."""
        try:
            while True:
                size = max(1, self.batch_size)
                try:
                    rows = self._cursor.fetchmany(size)
                except psycopg.Error as exc:
                    raise RivetSourceError(f"postgres: fetch failed: {first_line(exc)}",
                                           export=self._request.export, field="query") from None
                if not rows:
                    return
                yield rows
                if len(rows) < size:
                    return
        finally:
            self.close()

    def convert(self, rows: list[tuple[Any, ...]]) -> pa.RecordBatch:
        return batch_from_rows(rows, self.columns, self._raw, self.schema, self._request.export)

    @property
    def connection(self) -> psycopg.Connection[Any]:
        return self._conn

    def release_connection(self) -> psycopg.Connection[Any]:
        """Close the cursor, keep the transaction: another reader takes the connection over."""
        self._closed = True
        try:
            self._cursor.close()
        except psycopg.Error as exc:
            self._conn.close()
            raise RivetSourceError(f"postgres: query failed: {first_line(exc)}",
                                   export=self._request.export, field="query") from None
        return self._conn

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self._conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS:
                self._conn.commit()
            else:
                self._conn.rollback()
        except psycopg.Error:
            pass
        finally:
            self._conn.close()


def _apply_session(conn: psycopg.Connection[Any], request: ReadRequest) -> None:
    for name, value in session_settings(request).items():
        conn.execute("SELECT set_config(%s, %s, true)", (name, value))


def _describe_columns(conn: psycopg.Connection[Any], description: Sequence[Any]) -> list[PgColumn]:
    known = set(SCALAR_OIDS) | set(ARRAY_OIDS) | {NUMERIC_OID}
    unknown = sorted({d.type_code for d in description if d.type_code not in known})
    catalog: dict[int, tuple[str, str, int, str | None]] = {}
    if unknown:
        rows = conn.execute(
            "SELECT t.oid::int, t.typname, t.typtype::text, t.typelem::int, e.typtype::text "
            "FROM pg_type t LEFT JOIN pg_type e ON e.oid = t.typelem WHERE t.oid = ANY(%s)",
            (unknown,)).fetchall()
        catalog = {r[0]: (r[1], r[2], r[3], r[4]) for r in rows}
    columns = []
    for d in description:
        name, typtype, elem, elem_typtype = catalog.get(d.type_code, (None, None, 0, None))
        columns.append(PgColumn(
            name=d.name, type_oid=d.type_code, precision=d.precision, scale=d.scale,
            type_name=name, typtype=typtype, element_oid=elem or None, element_typtype=elem_typtype))
    return columns


def _map_all(columns: list[PgColumn], request: ReadRequest) -> list[MappedColumn]:
    mapped, problems = [], []
    overrides = request.column_overrides
    names = {c.name for c in columns}
    for missing in sorted(set(overrides) - names):
        problems.append(f"'{missing}' is in `columns:` but not in the query's result")
    for column in columns:
        try:
            mapped.append(map_column(column, overrides.get(column.name)))
        except UnsupportedColumn as exc:
            problems.append(str(exc))
    if problems:
        raise RivetSourceError("postgres: unsupported column types: " + "; ".join(problems),
                               export=request.export, field="columns")
    return mapped


def _schema(columns: list[MappedColumn]) -> pa.Schema:
    return pa.schema([pa.field(c.name, c.arrow_type, nullable=True,
                               metadata={"rivet.native_type": c.native_type})
                      for c in columns])


def _tls_kwargs(config: SourceConfig) -> dict[str, Any]:
    tls = config.tls
    if tls is None:
        return {}
    mode = {"disable": "disable", "require": "require", "verify-ca": "verify-ca",
            "verify-full": "verify-full"}[tls.mode]
    if tls.accept_invalid_certs and mode in ("verify-ca", "verify-full"):
        mode = "require"
    elif tls.accept_invalid_hostnames and mode == "verify-full":
        mode = "verify-ca"
    kwargs: dict[str, Any] = {"sslmode": mode}
    if tls.ca_file:
        kwargs["sslrootcert"] = tls.ca_file
    return kwargs
