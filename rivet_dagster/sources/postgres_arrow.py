"""Fetched PostgreSQL rows -> Arrow, with the per-value work in C.

psycopg's Python loaders (int, Decimal, datetime objects) dominated the read path. Scalar
types that Arrow can parse are instead loaded as their text (a C-level str per value), the
whole batch becomes one struct array in one call, and each column is parsed by an Arrow cast
(decimals exactly, timestamps with their offset). Only types Arrow cannot parse (time, bytea,
uuid, arrays of those) keep a driver loader.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import psycopg
import pyarrow as pa
from psycopg.adapt import Loader
from psycopg.types.string import TextLoader

from rivet_dagster import kernels
from rivet_dagster.errors import RivetSourceError
from rivet_dagster.sources import arrow_types
from rivet_dagster.sources.postgres_types import MappedColumn

# Loaded as text, parsed by Arrow: int8 int2 int4 oid float4 float8 numeric bool date
# timestamp timestamptz json jsonb interval.
TEXT_PARSED_OIDS = (20, 21, 23, 26, 700, 701, 1700, 16, 1082, 1114, 1184, 114, 3802, 1186)
_STRING_OIDS = {18, 19, 25, 705, 1042, 1043}
_UUID_OID, _TIME_OID, _BYTEA_OID = 2950, 1083, 17


class UuidBytesLoader(Loader):
    """uuid text -> its 16 bytes (what the Arrow UUID extension stores)."""

    def load(self, data: Any) -> bytes:
        return uuid.UUID(bytes(data).decode()).bytes


def register_loaders(cursor: psycopg.Cursor[Any] | psycopg.ServerCursor[Any]) -> None:
    """On the export's cursor only: other queries of the connection keep typed values."""
    for oid in TEXT_PARSED_OIDS:
        cursor.adapters.register_loader(oid, TextLoader)
    cursor.adapters.register_loader(_UUID_OID, UuidBytesLoader)


def raw_type(oid: int | None) -> pa.DataType:
    """What the driver hands over for a value of this type."""
    if oid == _TIME_OID:
        return arrow_types.TIME
    if oid == _BYTEA_OID:
        return pa.binary()
    if oid == _UUID_OID:
        return pa.binary(16)
    return pa.string()  # text-parsed types, text types, enums and unknown types


def raw_schema(columns: Sequence[MappedColumn]) -> pa.DataType:
    """The struct one fetched batch converts to (positional names: columns may repeat)."""
    return pa.struct([
        pa.field(f"c{i}", pa.list_(raw_type(c.element_oid)) if c.element_oid is not None
                 else raw_type(c.source_oid))
        for i, c in enumerate(columns)])


def batch_from_rows(rows: list[tuple[Any, ...]], columns: Sequence[MappedColumn],
                    raw: pa.DataType, schema: pa.Schema, export: str | None) -> pa.RecordBatch:
    try:
        struct = pa.array(rows, type=raw)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise RivetSourceError(f"postgres: cannot convert a batch: {exc}", export=export,
                               field="query") from None
    arrays = [_convert(struct.field(i), c, export) for i, c in enumerate(columns)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _convert(raw: pa.Array, column: MappedColumn, export: str | None) -> pa.Array:
    target = column.arrow_type
    try:
        if column.kind == "json":
            text = raw if pa.types.is_string(raw.type) else kernels.cast(raw, pa.string())
            return pa.ExtensionArray.from_storage(arrow_types.JSON, text)
        if column.kind == "uuid":
            if pa.types.is_fixed_size_binary(raw.type):
                return pa.ExtensionArray.from_storage(arrow_types.UUID, raw)
            return pa.ExtensionArray.from_storage(arrow_types.UUID, pa.array(
                [_uuid_or_none(v) for v in raw.to_pylist()], pa.binary(16)))
        if column.kind == "list":
            values = _scalar(raw.values, target.value_type)
            return pa.ListArray.from_arrays(raw.offsets, values, type=target,
                                            mask=raw.is_null())
        return _scalar(raw, target)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, ValueError) as exc:
        raise convert_error(column, exc, export) from None


def convert_error(column: MappedColumn, exc: Exception, export: str | None = None
                  ) -> RivetSourceError:
    return RivetSourceError(
        f"postgres: column '{column.name}' ({column.native_type}) does not fit "
        f"{column.arrow_type}: {exc}", export=export, field=f"columns.{column.name}")


def _scalar(raw: pa.Array, target: pa.DataType) -> pa.Array:
    if raw.type == target:
        return raw
    if pa.types.is_string(raw.type):
        if pa.types.is_boolean(target):
            return kernels.equal(raw, "t")
        if pa.types.is_binary(target):
            return kernels.cast(raw, pa.binary())
    return kernels.cast(raw, target)


def _uuid_or_none(value: Any) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, bytes) and len(value) == 16:
        return value
    try:
        return uuid.UUID(str(value)).bytes
    except ValueError:
        return None  # documented: an override to uuid turns unparsable text into NULL
