"""The `columns:` override grammar (F42): a type string per column, parsed once."""

from __future__ import annotations

import re
from dataclasses import dataclass

_ALIASES = {
    "bool": "bool", "boolean": "bool",
    "int2": "int16", "smallint": "int16", "int16": "int16",
    "int4": "int32", "int": "int32", "integer": "int32", "int32": "int32",
    "int8": "int64", "bigint": "int64", "int64": "int64",
    "float4": "float32", "real": "float32", "float32": "float32",
    "float8": "float64", "double": "float64", "float64": "float64",
    "text": "string", "string": "string", "varchar": "string",
    "binary": "binary", "bytea": "binary", "blob": "binary",
    "date": "date", "timestamp": "timestamp", "timestamp_tz": "timestamp_tz",
    "timestamptz": "timestamp_tz", "json": "json", "uuid": "uuid",
}
_DECIMAL = re.compile(r"^(?:decimal|numeric)\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)$", re.IGNORECASE)
ACCEPTED = ("decimal(p,s)/numeric(p,s) with 1<=p<=76, bool, int2/int4/int8, float4/float8, "
            "text/string/varchar, binary/bytea/blob, date, timestamp, timestamp_tz, json, uuid")


@dataclass(frozen=True)
class ColumnType:
    """A normalised override: ``kind`` plus precision/scale for decimals."""

    kind: str
    precision: int | None = None
    scale: int | None = None


def parse_column_type(text: str) -> ColumnType:
    """Parse an override type string; raise ValueError listing the accepted forms."""
    raw = str(text).strip()
    match = _DECIMAL.match(raw)
    if match:
        precision, scale = int(match.group(1)), int(match.group(2))
        if not 1 <= precision <= 76:
            raise ValueError(f"decimal precision {precision} is outside 1..76")
        if scale > precision:
            raise ValueError(f"decimal scale {scale} is larger than precision {precision}")
        return ColumnType("decimal", precision, scale)
    kind = _ALIASES.get(raw.lower())
    if kind is None:
        raise ValueError(f"unknown column type '{raw}'; accepted: {ACCEPTED}")
    return ColumnType(kind)
