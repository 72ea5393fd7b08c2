"""MySQL / MariaDB source: stream a query as Arrow RecordBatches with mysql-connector.

Reads go through the C extension's low-level API (`_mysql_connector.MySQL`): an unbuffered
text-protocol result (nothing is loaded beyond one batch), whose rows are parsed into Arrow
buffers in C (`mysql_native`) or, without the C decoder, fetched as raw bytes and converted
column by column by Arrow kernels (see `mysql_types`); `mysql_stream` streams and closes it.
The session runs in UTC with the export's statement timeout inside a READ ONLY transaction;
the previous settings are put back before the connection is released. MariaDB's Arrow reader
(`mysql_arrow`, connectorx) is the fallback when the C decoder was not built.

The C extension does not expose the wire column length (needed for tinyint(1), DECIMAL
precision and BIT width). When a result has such columns, a short pure-Python side
connection PREPAREs the same statement (metadata only, nothing runs) and reads the column
definitions off its protocol parser; MariaDB's JSON (LONGTEXT + json_valid CHECK) is found
in information_schema. `describe()` uses that side connection alone.
"""

from __future__ import annotations

import rivet_dagster._native_preload  # noqa: F401,I001  (must precede pyarrow)

import logging
import socket
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import mysql.connector
import pyarrow as pa

from rivet_dagster.config.source import SourceConfig
from rivet_dagster.errors import RivetSourceError
from rivet_dagster.sources import mysql_arrow, mysql_native
from rivet_dagster.sources import mysql_types as mt
from rivet_dagster.sources.base import ReadRequest
from rivet_dagster.sources.connection_url import resolve_connection
from rivet_dagster.sources.mysql_session import DRIVER_ERRORS, Session, bind
from rivet_dagster.sources.mysql_stream import MySQLBatchStream, UnbufferedResult

log = logging.getLogger(__name__)

if not mysql.connector.HAVE_CEXT:
    log.warning("mysql-connector's C extension (_mysql_connector) could not be loaded; MySQL "
                "reads fall back to the pure-Python protocol and are several times slower "
                "(import rivet_dagster before pyarrow so the extension loads first)")

_SSL_MODES = {"disabled": "disable", "preferred": "prefer", "required": "require",
              "verify-identity": "verify-full"}  # MySQL names -> source.tls names


def _prepare(side: Session, stmt: bytes) -> dict[str, Any] | None:
    """COM_STMT_PREPARE then close: the statement's metadata, nothing run; None if refused."""
    try:
        prepared = side.conn.cmd_stmt_prepare(stmt)
        side.conn.cmd_stmt_close(prepared["statement_id"])
    except DRIVER_ERRORS as exc:
        log.debug("mysql: PREPARE failed: %s", exc)
        return None
    return prepared


def _no_delay(conn: Any) -> None:
    """Turn Nagle off on a pure-Python connection, as libmysqlclient does on its own.

    The server does not answer COM_STMT_CLOSE, so with Nagle on, the next command waits in
    the kernel for the server's delayed ACK: 40 ms on every MariaDB read with JSON columns
    (PREPARE, close, then the catalog query). Best effort: the socket is the driver's.
    """
    sock = getattr(getattr(conn, "_socket", None), "sock", None)
    if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:  # pragma: no cover - a socket the kernel already closed
            pass


def _connect_timeout_s(value: str) -> int:
    if not value.isdigit():
        raise RivetSourceError(f"connect_timeout must be whole seconds, got '{value}'",
                               field="source.url")
    return int(value)


class MySQLSource:
    """MySQL and MariaDB (`engine = "mysql"`). Cheap to construct: connects in `open`."""

    engine = "mysql"
    use_pure: bool = not mysql.connector.HAVE_CEXT

    def __init__(self, config: SourceConfig) -> None:
        if config.type != "mysql":
            raise RivetSourceError(f"MySQLSource needs source.type mysql, got {config.type}",
                                   field="source.type")
        self.config = config

    # -- connections -------------------------------------------------------------------
    def _connect(self, *, pure: bool | None = None, export: str | None = None) -> Session:
        params = resolve_connection(self.config)
        pure = self.use_pure if pure is None else pure
        args: dict[str, Any] = {
            "host": params.host, "port": params.port, "user": params.user,
            "password": params.password or "", "charset": "utf8mb4", "use_unicode": True,
            "autocommit": True, "use_pure": pure}
        if params.database:
            args["database"] = params.database
        require_tls = self._tls_args(dict(params.options), args)
        try:
            conn = mysql.connector.connect(**args)
        except DRIVER_ERRORS as exc:
            raise Session(None, params.describe(), params.password, export).error(
                exc, "cannot connect") from None
        session = Session(conn, params.describe(), params.password, export)
        session.database = params.database
        if pure:
            _no_delay(conn)
            self._capture_columns(session)
        if require_tls and not session.uses_tls():
            self._discard(session)
            raise RivetSourceError(f"mysql {session.target}: TLS is required (source.tls) but the "
                                   f"server did not negotiate it", export=export, field="source.tls")
        return session

    def _tls_args(self, options: dict[str, str], args: dict[str, Any]) -> bool:
        """Map `source.tls` / URL `ssl-mode`, `ssl-ca` onto driver options; True if TLS is mandatory."""
        args["connection_timeout"] = _connect_timeout_s(options.pop("connect_timeout", "10"))
        raw_mode = options.pop("ssl-mode", None) or options.pop("sslmode", None) or options.pop("ssl_mode", None)
        ca = options.pop("ssl-ca", None) or options.pop("sslrootcert", None)
        if options:
            raise RivetSourceError(f"unsupported mysql URL option(s): {', '.join(sorted(options))} "
                                   f"(supported: connect_timeout, ssl-mode, ssl-ca)", field="source.url")
        mode = (raw_mode or "prefer").lower().replace("_", "-")
        mode = _SSL_MODES.get(mode, mode)
        if mode not in ("disable", "prefer", "require", "verify-ca", "verify-full"):
            raise RivetSourceError(f"unknown ssl-mode '{raw_mode}'", field="source.url")
        verify_cert = verify_host = True
        tls = self.config.tls
        if tls is not None:
            mode, ca = tls.mode, tls.ca_file or ca
            verify_cert, verify_host = not tls.accept_invalid_certs, not tls.accept_invalid_hostnames
        if mode == "disable":
            args["ssl_disabled"] = True
        elif mode in ("verify-ca", "verify-full"):
            if ca:
                args["ssl_ca"] = ca
            args["ssl_verify_cert"] = verify_cert
            args["ssl_verify_identity"] = mode == "verify-full" and verify_cert and verify_host
        return mode not in ("disable", "prefer")

    @staticmethod
    def _capture_columns(session: Session) -> None:
        """Record full column definitions (with the wire length) on a pure-Python connection."""
        protocol = getattr(session.conn, "_protocol", None)
        if protocol is None:  # pragma: no cover - another driver version: lengths stay unknown
            return
        original = protocol.parse_column

        def parse_column(packet: bytes, encoding: str = "utf-8") -> Any:
            session.columns.append(mt.parse_column_definition(bytes(packet)))
            return original(packet, encoding)

        protocol.parse_column = parse_column

    def _release(self, conn: Any) -> None:
        """Close the main connection after its session was restored (tests hook in here)."""
        conn.close()

    def _discard(self, session: Session) -> None:
        try:
            session.conn.close()
        except Exception:  # noqa: BLE001 - a broken connection is being thrown away
            pass

    def _finish(self, session: Session, commit: bool) -> None:
        try:
            session.run("COMMIT" if commit else "ROLLBACK")
            session.restore()
        except RivetSourceError as exc:
            log.warning("mysql: could not restore the session, dropping the connection: %s", exc)
            self._discard(session)
            return
        self._release(session.conn)

    def _kill_query(self, session: Session) -> None:
        """Stop a still-streaming query server-side, so closing does not drain every row."""
        thread_id = int(session.conn.connection_id)
        self._on_side_connection(session.export, lambda side: side.run(f"KILL QUERY {thread_id}"))

    def _kill_tagged(self, tag: str, export: str | None) -> None:
        """Kill the connection running the statement tagged `rivet:<tag>` (an early close)."""
        def kill(side: Session) -> None:
            rows = side.run("SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE %s "
                            "AND ID <> CONNECTION_ID()", (f"%rivet:{tag}%",))
            for (thread_id,) in rows:
                side.run(f"KILL {int(thread_id)}")

        self._on_side_connection(export, kill)

    def _on_side_connection(self, export: str | None,
                            action: Callable[[Session], Any]) -> None:
        """Run `action(session)` on a short extra connection; a failure is only logged
        (without the kill, closing drains the rest or the server ends it: slow but correct)."""
        try:
            side = self._connect(export=export)
            try:
                action(side)
            finally:
                self._discard(side)
        except RivetSourceError as exc:
            log.warning("mysql: could not stop the query early: %s", exc)

    # -- the Source protocol -------------------------------------------------------------
    def open(self, request: ReadRequest) -> MySQLBatchStream | mysql_arrow.MariaDBArrowStream:
        """The cursor reader's result decoded in C when built (`mysql_native`), else MariaDB's
        Arrow reader where the query allows it (`mysql_arrow`), else the cursor in Python."""
        choice = mysql_arrow.reader_choice(request.export)
        if choice == "native" or (choice == "auto" and self.native_available()):
            return self._open_cursor(request, native=choice)
        if choice == "arrow" or (choice == "auto" and mysql_arrow.connectorx_available()):
            stream = self._open_arrow(request, required=choice == "arrow")
            if stream is not None:
                return stream
        return self._open_cursor(request)

    def native_available(self) -> bool:
        """Whether the C row decoder is built and mysql-connector reads with its C extension."""
        return not self.use_pure and mysql_native.library().lib is not None

    def _open_cursor(self, request: ReadRequest, native: str = "") -> MySQLBatchStream:
        """Connect, UTC + timeout, START TRANSACTION READ ONLY, run the query unbuffered;
        `native` ("auto" or "native", which insists) decodes its rows in C."""
        session = self._connect(export=request.export)
        reader: UnbufferedResult | None = None
        try:
            session.apply(request.statement_timeout_s)
            session.run("START TRANSACTION READ ONLY")
            reader = UnbufferedResult(session, bind(session.conn, request.sql, request.params))
            fields = self._enrich(reader.fields, request, session)
            schema = mt.build_schema(fields, request.column_overrides, request.export)
            rows = None
            if native:
                rows, why = mysql_native.open_rows(getattr(session.conn, "_cmysql", None),
                                                   fields, schema, request.column_overrides,
                                                   request.export)
                if rows is None and native == "native":
                    raise RivetSourceError(f"{mysql_arrow.READER_ENV}=native, but the C reader "
                                           f"cannot read: {why}", export=request.export,
                                           field=mysql_arrow.READER_ENV)
                if rows is None:
                    log.debug("mysql: Python cursor reader for export %s: %s", request.export, why)
        except BaseException:
            if reader is not None and not reader.done:
                self._kill_query(session)
                reader.free()
            self._finish(session, commit=False)
            raise
        return MySQLBatchStream(self, session, reader, fields, schema, request, rows)

    def _open_arrow(self, request: ReadRequest,
                    required: bool) -> mysql_arrow.MariaDBArrowStream | None:
        """Map the query from a PREPARE, plan connectorx's statement; None: use the cursor."""
        side = self._connect(pure=True, export=request.export)
        arrow_plan, fields, schema = None, None, None
        try:
            side.apply(request.statement_timeout_s)
            reason = self._arrow_refusal(side)
            if not reason:
                fields = self._described_fields(side, request)
                reason = "" if fields else "the query cannot be PREPAREd"
            if fields and not reason:
                schema = mt.build_schema(fields, request.column_overrides, request.export)
                try:
                    bound = bind(side.conn, request.sql, request.params).decode("utf-8")
                    arrow_plan, reason = mysql_arrow.plan(fields, request, bound)
                except UnicodeDecodeError:
                    reason = "a parameter is bytes that are not UTF-8 text"
            if arrow_plan is not None and _prepare(side, arrow_plan.sql.encode("utf-8")) is None:
                arrow_plan, reason = None, "the rewritten query does not PREPARE"
        finally:
            self._discard(side)
        if arrow_plan is None or fields is None or schema is None:
            if required:
                raise RivetSourceError(f"{mysql_arrow.READER_ENV}=arrow, but the Arrow reader "
                                       f"cannot read this query: {reason}", export=request.export)
            log.debug("mysql: cursor reader for export %s: %s", request.export, reason)
            return None
        params = resolve_connection(self.config)
        timeout = _connect_timeout_s(dict(params.options).get("connect_timeout", "10"))
        return mysql_arrow.MariaDBArrowStream(
            params, timeout, arrow_plan, fields, schema, request,
            kill=lambda tag: self._kill_tagged(tag, request.export))

    @staticmethod
    def _arrow_refusal(side: Session) -> str:
        if not side.mariadb:
            return "MySQL servers keep the cursor reader (SET STATEMENT is MariaDB's)"
        if side.uses_tls():
            return "the connection uses TLS"
        return ""

    def scalar(self, sql: str, params: Sequence[Any] = (), export: str | None = None) -> Any:
        """One value (min/max/count probes) in its own read-only transaction, in UTC."""
        rows = self.rows(sql, params, export=export)
        return rows[0][0] if rows and rows[0] else None

    def rows(self, sql: str, params: Sequence[Any] = (), export: str | None = None) -> list[tuple]:
        """A small result (planning queries) in its own read-only transaction, in UTC."""
        session = self._connect(export=export)
        ok = False
        try:
            timeout = self.config.tuning.statement_timeout_s if self.config.tuning else None
            session.apply(timeout or 0)
            session.run("START TRANSACTION READ ONLY")
            rows = session.run(sql, params)
            ok = True
        finally:
            self._finish(session, commit=ok)
        return rows

    def describe(self, request: ReadRequest) -> pa.Schema:
        """The query's schema from a server-side PREPARE: metadata only, nothing executed."""
        side = self._connect(pure=True, export=request.export)
        try:
            side.apply(request.statement_timeout_s)
            fields = self._described_fields(side, request)
        finally:
            self._discard(side)
        if fields is not None:
            return mt.build_schema(fields, request.column_overrides, request.export)
        stream = self._open_cursor(request)  # cannot be prepared: run it, stop after the metadata
        stream.close()
        return stream.schema

    # -- metadata the C extension does not give ----------------------------------------------
    def _enrich(self, fields: list[mt.FieldMeta], request: ReadRequest,
                main: Session) -> list[mt.FieldMeta]:
        """Fill wire lengths (tinyint(1), DECIMAL precision, BIT width) and MariaDB JSON flags."""
        lengths = any(f.needs_length for f in fields)
        json = main.mariadb and any(f.origin and f.maybe_mariadb_json for f in fields)
        if not (lengths or json):
            return fields
        side = self._connect(pure=True, export=request.export)
        try:
            side.apply(request.statement_timeout_s)
            prepared = self._prepared_fields(side, request) if lengths else None
            if prepared is not None and len(prepared) == len(fields):
                fields = [replace(f, length=p.length) if f.needs_length else f
                          for f, p in zip(fields, prepared)]
            elif lengths:  # pragma: no cover - servers/proxies that refuse COM_STMT_PREPARE
                log.warning("mysql: could not PREPARE the query for its column metadata; "
                            "tinyint(1) reads as int16, BIT as int64, DECIMAL with default precision")
            if json:
                fields = self._mariadb_json(side, fields, main.database or "")
        finally:
            self._discard(side)
        return fields

    def _described_fields(self, side: Session, request: ReadRequest) -> list[mt.FieldMeta] | None:
        """The query's columns from a PREPARE, MariaDB's JSON columns marked; None if refused."""
        fields = self._prepared_fields(side, request)
        if fields is not None and side.mariadb:
            fields = self._mariadb_json(side, fields, side.database or "")
        return fields

    def _prepared_fields(self, side: Session, request: ReadRequest) -> list[mt.FieldMeta] | None:
        """Column definitions from COM_STMT_PREPARE (values bound as literals, never executed)."""
        side.columns.clear()
        sql = request.sql.strip().rstrip(";")
        prepared = _prepare(side, bind(side.conn, sql, request.params))
        if prepared is None:
            return None
        # Parameter definitions are parsed before the columns: keep the last num_columns.
        count = int(prepared.get("num_columns") or 0)
        return list(side.columns[-count:]) if count else None

    def _mariadb_json(self, side: Session, fields: list[mt.FieldMeta],
                      default_db: str) -> list[mt.FieldMeta]:
        """MariaDB's JSON is LONGTEXT plus a `json_valid(col)` CHECK: find it in the catalog."""
        query = mt.json_check_query(fields, default_db)
        if query is None:
            return fields
        try:
            rows = side.run(*query)
        except RivetSourceError:  # no CHECK_CONSTRAINTS (old server): JSON stays a string
            return fields
        return mt.mark_json(fields, rows, default_db)
