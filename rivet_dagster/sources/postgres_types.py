"""PostgreSQL type OIDs -> Arrow types, as pure functions (Rivet §5.1).

The mapping is decided from the result description (type OID, precision, scale) plus,
for user-defined OIDs, a row of `pg_type`, before any row is read: an unsupported column
fails the export up front, listing every offending column.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from rivet_dagster.config.column_types import ColumnType
from rivet_dagster.sources import arrow_types

# Scalar built-in types: OID -> (name, arrow type). NUMERIC (1700) is handled apart.
SCALAR_OIDS: dict[int, tuple[str, pa.DataType]] = {
    16: ("bool", pa.bool_()),
    17: ("bytea", pa.binary()),
    18: ("char", pa.string()),
    19: ("name", pa.string()),
    20: ("int8", pa.int64()),
    21: ("int2", pa.int16()),
    23: ("int4", pa.int32()),
    25: ("text", pa.string()),
    26: ("oid", pa.int64()),
    114: ("json", arrow_types.JSON),
    700: ("float4", pa.float32()),
    701: ("float8", pa.float64()),
    1042: ("bpchar", pa.string()),
    1043: ("varchar", pa.string()),
    1082: ("date", pa.date32()),
    1083: ("time", arrow_types.TIME),
    1114: ("timestamp", arrow_types.TIMESTAMP),
    1184: ("timestamptz", arrow_types.TIMESTAMP_TZ),
    1186: ("interval", pa.string()),
    2950: ("uuid", arrow_types.UUID),
    3802: ("jsonb", arrow_types.JSON),
    705: ("unknown", pa.string()),
}
NUMERIC_OID = 1700
# 1-D arrays: array OID -> element OID.
ARRAY_OIDS: dict[int, int] = {
    1000: 16, 1001: 17, 1002: 18, 1003: 19, 1016: 20, 1005: 21, 1007: 23, 1009: 25, 1028: 26,
    1021: 700, 1022: 701, 1014: 1042, 1015: 1043, 1182: 1082, 1183: 1083, 1115: 1114,
    1185: 1184, 1231: NUMERIC_OID, 2951: 2950,
}
# Element types a list may hold (JSON, UUID and interval lists would need nested extension
# types that most readers do not handle; they fail with a CAST hint instead).
LIST_ELEMENT_OIDS = {16, 17, 18, 19, 20, 21, 23, 25, 26, 700, 701, 1042, 1043, 1082, 1083,
                     1114, 1184, NUMERIC_OID}


@dataclass(frozen=True)
class PgColumn:
    """What the description and the catalog say about one result column."""

    name: str
    type_oid: int
    precision: int | None = None
    scale: int | None = None
    type_name: str | None = None  # from pg_type for non-built-in OIDs
    typtype: str | None = None  # 'e' enum, 'd' domain, 'b' base, ...
    element_oid: int | None = None  # for arrays of user types
    element_typtype: str | None = None


@dataclass(frozen=True)
class MappedColumn:
    name: str
    arrow_type: pa.DataType
    native_type: str
    kind: str  # conversion strategy: "plain", "uuid", "json", "decimal", "list", "enum", "override"
    source_oid: int = 0
    element_oid: int | None = None  # arrays: the element type


class UnsupportedColumn(ValueError):
    """Raised with the column name and a hint; collected by the caller into one error."""


def map_column(column: PgColumn, override: ColumnType | None) -> MappedColumn:
    """Decide the Arrow type of one column; raise UnsupportedColumn with a hint."""
    mapped = _map(column, override)
    element = ARRAY_OIDS.get(column.type_oid, column.element_oid)
    return MappedColumn(mapped.name, mapped.arrow_type, mapped.native_type, mapped.kind,
                        column.type_oid, element)


def _map(column: PgColumn, override: ColumnType | None) -> MappedColumn:
    native = _native_name(column)
    if override is not None:
        target = arrow_types.override_type(override)
        kind = {"uuid": "uuid", "json": "json", "decimal": "decimal"}.get(override.kind, "override")
        return MappedColumn(column.name, target, native, kind)
    oid = column.type_oid
    if oid == NUMERIC_OID:
        return MappedColumn(column.name, _numeric(column), native, "decimal")
    if oid in SCALAR_OIDS:
        name, arrow = SCALAR_OIDS[oid]
        kind = "uuid" if oid == 2950 else "json" if oid in (114, 3802) else "plain"
        return MappedColumn(column.name, arrow, name, kind)
    if oid in ARRAY_OIDS:
        element = ARRAY_OIDS[oid]
        if element not in LIST_ELEMENT_OIDS:
            raise UnsupportedColumn(
                f"'{column.name}' ({native}): arrays of this type are not supported; "
                f"cast it in SQL, e.g. {column.name}::text")
        if element == NUMERIC_OID:
            raise UnsupportedColumn(
                f"'{column.name}' (numeric[]): the elements' precision is unknown; cast it in "
                f"SQL, e.g. {column.name}::text[] or {column.name}::float8[]")
        return MappedColumn(column.name, pa.list_(SCALAR_OIDS[element][1]), native, "list")
    if column.typtype == "e":
        return MappedColumn(column.name, pa.string(), native, "enum")
    if column.element_oid is not None and column.element_typtype == "e":
        return MappedColumn(column.name, pa.list_(pa.string()), native, "list")
    raise UnsupportedColumn(
        f"'{column.name}' ({native}) has no Arrow mapping; cast it in SQL "
        f"(e.g. {column.name}::text, ST_AsText({column.name})) or add a `columns:` override")


def _numeric(column: PgColumn) -> pa.DataType:
    if column.precision is None or column.scale is None:
        raise UnsupportedColumn(
            f"'{column.name}' is NUMERIC without precision and scale, so its exact type is "
            f"unknown; add `columns: {{{column.name}: 'decimal(38,10)'}}` (pick p,s that hold "
            f"your data) or cast it in SQL, e.g. {column.name}::numeric(38,10)")
    if column.scale < 0:
        raise UnsupportedColumn(f"'{column.name}' is NUMERIC with a negative scale; cast it")
    if column.precision > 76:
        raise UnsupportedColumn(f"'{column.name}' NUMERIC({column.precision}) exceeds 76 digits")
    return arrow_types.decimal(column.precision, column.scale)


def _native_name(column: PgColumn) -> str:
    if column.type_oid in SCALAR_OIDS:
        return SCALAR_OIDS[column.type_oid][0]
    if column.type_oid == NUMERIC_OID:
        if column.precision is not None:
            return f"numeric({column.precision},{column.scale})"
        return "numeric"
    if column.type_oid in ARRAY_OIDS:
        element = ARRAY_OIDS[column.type_oid]
        inner = "numeric" if element == NUMERIC_OID else SCALAR_OIDS[element][0]
        return f"{inner}[]"
    return column.type_name or f"oid {column.type_oid}"
