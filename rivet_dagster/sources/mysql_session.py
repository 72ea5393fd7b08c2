"""One MySQL / MariaDB connection with the session settings an export changes on it.

`_Session` applies UTC and the statement timeout and can put the previous values back, so a
pooled or reused connection leaves as it came; `bind` renders `%s` parameters as
driver-escaped literals; errors become one readable `RivetSourceError` line.
"""

from __future__ import annotations

import rivet_dagster._native_preload  # noqa: F401,I001  (must precede pyarrow)

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import mysql.connector

from rivet_dagster.errors import RivetSourceError
from rivet_dagster.sources import mysql_types as mt

try:
    from _mysql_connector import MySQLInterfaceError as _CextError
    DRIVER_ERRORS: tuple[type[BaseException], ...] = (mysql.connector.Error, _CextError)
except ImportError:  # pragma: no cover - only without the C extension
    DRIVER_ERRORS = (mysql.connector.Error,)

TIMEOUT_ERRNOS = {1969, 3024}  # MariaDB max_statement_time, MySQL max_execution_time
_PLACEHOLDER = re.compile(rb"%s")


def one_line(exc: BaseException) -> str:
    return " ".join(str(getattr(exc, "msg", None) or exc).split())


def bind(conn: Any, sql: str, params: Sequence[Any]) -> bytes:
    """Substitute `%s` with driver-escaped literals (values are never pasted as text)."""
    stmt = sql.encode("utf-8")
    if not params:
        return stmt
    if hasattr(conn, "prepare_for_mysql"):  # C extension: mysql_real_escape_string
        values = list(conn.prepare_for_mysql(tuple(params)))
    else:  # pure Python: what its cursor does
        conv, mode = conn.converter, conn.sql_mode
        values = [conv.escape(conv.to_mysql(v), mode) for v in params]
        values = [v if isinstance(p, Decimal) else conv.quote(v) for v, p in zip(values, params)]
    count = len(_PLACEHOLDER.findall(stmt))
    if count != len(values):
        raise RivetSourceError(f"mysql: the query has {count} %s placeholder(s) "
                               f"but {len(values)} parameter(s) were given")
    it = iter(values)
    return _PLACEHOLDER.sub(lambda _m: next(it), stmt)


def source_error(target: str, password: str | None, errno: int | None, msg: str, action: str,
                 timeout_s: int, export: str | None) -> RivetSourceError:
    """One line for a server error (both readers): password masked, timeouts named as such."""
    if password and len(password) >= 4:  # servers never echo it; belt and braces
        msg = msg.replace(password, "***")
    if errno in TIMEOUT_ERRNOS:
        return RivetSourceError(f"mysql {target}: statement timeout of {timeout_s} s exceeded "
                                f"(tuning.statement_timeout_s): {msg}", export=export)
    return RivetSourceError(f"mysql {target}: {action}: {msg}", export=export)


class Session:
    """One connection plus the session settings changed on it, so they can be put back."""

    def __init__(self, conn: Any, target: str, password: str | None, export: str | None):
        self.conn, self.target, self.password, self.export = conn, target, password, export
        self.mariadb = False
        self.timeout_s = 0
        self.database: str | None = None
        self._previous: tuple[Any, Any] | None = None
        self.columns: list[mt.FieldMeta] = []  # column packets seen by a pure-Python connection

    def error(self, exc: BaseException, action: str) -> RivetSourceError:
        return source_error(self.target, self.password, getattr(exc, "errno", None),
                            one_line(exc), action, self.timeout_s, self.export)

    def uses_tls(self) -> bool:
        return bool((self.run("SHOW SESSION STATUS LIKE 'Ssl_cipher'") or [("", "")])[0][1])

    def run(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """A short statement with Python-converted results."""
        try:
            cur = self.conn.cursor()
            try:
                cur.execute(sql, tuple(params) or None)
                return list(cur.fetchall()) if cur.with_rows else []
            finally:
                cur.close()
        except DRIVER_ERRORS as exc:
            raise self.error(exc, "query failed") from None

    @property
    def _timeout_var(self) -> str:
        return "max_statement_time" if self.mariadb else "max_execution_time"

    def apply(self, timeout_s: int) -> None:
        """UTC + statement timeout (MariaDB: seconds as a double; MySQL: milliseconds)."""
        self.mariadb = "mariadb" in str(self.run("SELECT VERSION()")[0][0]).lower()
        self.timeout_s = timeout_s
        self._previous = self.run(f"SELECT @@session.time_zone, @@session.{self._timeout_var}")[0]
        value = float(timeout_s) if self.mariadb else int(timeout_s * 1000)
        self.run(f"SET SESSION time_zone = '+00:00', {self._timeout_var} = %s", (value,))

    def restore(self) -> None:
        if self._previous is not None:
            tz, timeout = self._previous
            value = float(timeout) if self.mariadb else int(timeout)
            self.run(f"SET SESSION time_zone = %s, {self._timeout_var} = %s", (tz, value))
            self._previous = None
