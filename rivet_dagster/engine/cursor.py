"""Incremental cursors: typed values, JSON-safe storage, and the SQL around them.

A cursor is stored in materialization metadata as `{"type": ..., "value": ...}` with a
JSON-safe value (ints as ints, everything else as text), and turned back into the driver's
native type before it is bound as a query parameter: never pasted into SQL. Timestamps with
a time zone are compared as instants (bound as aware UTC datetimes, the session is UTC).
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rivet_dagster.sources.sql_quoting import quote_identifier

if TYPE_CHECKING:  # imported where used: sensors load this module with the definitions
    import pyarrow as pa


@dataclass(frozen=True)
class Cursor:
    """A typed cursor value. `kind` is one of KINDS."""

    kind: str
    value: Any

    def to_json(self) -> dict[str, Any]:
        value = self.value
        if self.kind == "int":
            return {"type": "int", "value": int(value)}
        if self.kind in ("timestamp", "timestamptz", "date"):
            return {"type": self.kind, "value": value.isoformat()}
        return {"type": self.kind, "value": str(value)}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> "Cursor | None":
        if not data:
            return None
        kind, raw = data["type"], data["value"]
        if kind == "int":
            return cls(kind, int(raw))
        if kind == "decimal":
            return cls(kind, decimal.Decimal(raw))
        if kind == "date":
            return cls(kind, dt.date.fromisoformat(raw))
        if kind == "timestamp":
            return cls(kind, dt.datetime.fromisoformat(raw))
        if kind == "timestamptz":
            return cls(kind, dt.datetime.fromisoformat(raw).astimezone(dt.timezone.utc))
        if kind == "uuid":
            return cls(kind, uuid.UUID(raw))
        if kind == "float":
            return cls(kind, float(raw))
        return cls("string", str(raw))

    def bind_value(self) -> Any:
        """The value handed to the driver as a query parameter."""
        return str(self.value) if self.kind == "uuid" else self.value

    def display(self) -> str:
        return str(self.to_json()["value"])


KINDS = ("int", "decimal", "float", "date", "timestamp", "timestamptz", "string", "uuid")


def cursor_kind(arrow_type: pa.DataType) -> str:
    """Which cursor kind a column of this Arrow type yields; ValueError if unusable."""
    import pyarrow as pa

    if isinstance(arrow_type, pa.BaseExtensionType):
        if arrow_type.extension_name == "arrow.uuid":
            return "uuid"
        arrow_type = arrow_type.storage_type
    if pa.types.is_integer(arrow_type):
        return "int"
    if pa.types.is_decimal(arrow_type):
        return "decimal"
    if pa.types.is_floating(arrow_type):
        return "float"
    if pa.types.is_date(arrow_type):
        return "date"
    if pa.types.is_timestamp(arrow_type):
        return "timestamptz" if arrow_type.tz else "timestamp"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "string"
    raise ValueError(f"a column of type {arrow_type} cannot be an incremental cursor; "
                     "use an integer, decimal, date, timestamp, text or uuid column")


def to_cursor(kind: str, value: Any) -> Cursor | None:
    """Wrap a driver or Arrow value (None stays None)."""
    if value is None:
        return None
    if kind == "timestamptz" and isinstance(value, dt.datetime):
        value = value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else \
            value.astimezone(dt.timezone.utc)
    if kind == "uuid" and not isinstance(value, uuid.UUID):
        value = uuid.UUID(bytes=value) if isinstance(value, bytes) else uuid.UUID(str(value))
    if kind == "decimal" and not isinstance(value, decimal.Decimal):
        value = decimal.Decimal(str(value))
    if kind == "int":
        value = int(value)
    if kind == "string":
        value = value.decode() if isinstance(value, bytes) else str(value)
    if kind == "date" and isinstance(value, dt.datetime):
        value = value.date()
    return Cursor(kind, value)


def later(a: Cursor | None, b: Cursor | None) -> Cursor | None:
    """The larger of two cursors: a committed cursor never moves backwards."""
    if a is None:
        return b
    if b is None:
        return a
    return b if b.value > a.value else a


@dataclass(frozen=True)
class CursorSql:
    """The SQL of one incremental window, for the export and for its verification count."""

    select: str
    count: str
    max_probe: str
    params: tuple[Any, ...]
    synthetic_column: str | None


COALESCED = "_rivet_coalesced_cursor"


def cursor_expression(dialect: str, column: str, fallback: str | None) -> str:
    primary = f"_rivet.{quote_identifier(dialect, column)}"
    if fallback is None:
        return primary
    return f"COALESCE({primary}, _rivet.{quote_identifier(dialect, fallback)})"


def window_sql(dialect: str, base: str, column: str, fallback: str | None,
               after: Cursor | None, upto: Cursor | None) -> CursorSql:
    """`(after, upto]` over the base query, ordered by the cursor expression.

    The upper bound is the maximum observed just before the export, so a row committed
    while the export runs belongs to the next window instead of being half-seen.
    """
    expr = cursor_expression(dialect, column, fallback)
    where, params = [], []
    if after is not None:
        where.append(f"{expr} > %s")
        params.append(after.bind_value())
    if upto is not None:
        where.append(f"{expr} <= %s")
        params.append(upto.bind_value())
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    source = f"({base}) AS _rivet"
    if fallback is None:
        select = f"SELECT _rivet.* FROM {source}{clause} ORDER BY {expr}"
        synthetic = None
    else:
        primary = f"_rivet.{quote_identifier(dialect, column)}"
        second = f"_rivet.{quote_identifier(dialect, fallback)}"
        select = (f"SELECT _rivet.*, {expr} AS {COALESCED} FROM {source}{clause} "
                  f"ORDER BY {expr}, {primary}, {second}")
        synthetic = COALESCED
    count = f"SELECT COUNT(*) FROM {source}{clause}"
    # ORDER BY ... DESC LIMIT 1 rather than MAX(): PostgreSQL has no max(uuid), and both
    # use an index on the cursor column the same way.
    probe_clause = f" AND {expr} > %s" if after is not None else ""
    max_probe = (f"SELECT {expr} FROM {source} WHERE {expr} IS NOT NULL{probe_clause} "
                 f"ORDER BY {expr} DESC LIMIT 1")
    return CursorSql(select, count, max_probe, tuple(params), synthetic)
