"""Arrow types shared by every source: the canonical targets of the type mapping.

JSON is a string column carrying the `arrow.json` extension (Parquet logical type JSON);
UUID is 16 fixed bytes carrying `arrow.uuid` (Parquet logical type UUID); decimals use
decimal128 up to 38 digits and decimal256 up to 76.
"""

from __future__ import annotations

import pyarrow as pa

from rivet_dagster.config.column_types import ColumnType

JSON = pa.json_(pa.string())
UUID = pa.uuid()
TIMESTAMP = pa.timestamp("us")
TIMESTAMP_TZ = pa.timestamp("us", tz="UTC")
TIME = pa.time64("us")


def decimal(precision: int, scale: int) -> pa.DataType:
    if precision <= 38:
        return pa.decimal128(precision, scale)
    return pa.decimal256(precision, scale)


_OVERRIDE_TYPES: dict[str, pa.DataType] = {
    "bool": pa.bool_(), "int16": pa.int16(), "int32": pa.int32(), "int64": pa.int64(),
    "float32": pa.float32(), "float64": pa.float64(), "string": pa.string(),
    "binary": pa.binary(), "date": pa.date32(), "timestamp": TIMESTAMP,
    "timestamp_tz": TIMESTAMP_TZ, "json": JSON, "uuid": UUID,
}


def override_type(column: ColumnType) -> pa.DataType:
    """The Arrow type a `columns:` override asks for."""
    if column.kind == "decimal":
        assert column.precision is not None and column.scale is not None
        return decimal(column.precision, column.scale)
    return _OVERRIDE_TYPES[column.kind]
