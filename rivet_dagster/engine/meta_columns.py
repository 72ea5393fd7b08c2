"""Meta columns (F39/F40): `_rivet_exported_at` and `_rivet_row_hash`, appended to each batch.

The row hash is injective by construction (each value is length-prefixed, NULL has its own
marker), unlike Rivet 0.8.1's separator-joined text; it is the low 64 bits of BLAKE2b,
as a signed int64, stable across runs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import struct

import pyarrow as pa

from rivet_dagster.config.export import MetaColumns

EXPORTED_AT = "_rivet_exported_at"
ROW_HASH = "_rivet_row_hash"


def enrich_schema(schema: pa.Schema, meta: MetaColumns) -> pa.Schema:
    if meta.exported_at:
        schema = schema.append(pa.field(EXPORTED_AT, pa.timestamp("us", tz="UTC"), nullable=False))
    if meta.row_hash:
        schema = schema.append(pa.field(ROW_HASH, pa.int64(), nullable=False))
    return schema


def enrich_batch(batch: pa.RecordBatch, meta: MetaColumns, schema: pa.Schema) -> pa.RecordBatch:
    if not (meta.exported_at or meta.row_hash):
        return batch
    arrays = list(batch.columns)
    if meta.exported_at:
        now = dt.datetime.now(dt.timezone.utc)
        arrays.append(pa.array([now] * batch.num_rows, pa.timestamp("us", tz="UTC")))
    if meta.row_hash:
        arrays.append(pa.array(row_hashes(batch), pa.int64()))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def row_hashes(batch: pa.RecordBatch) -> list[int]:
    columns = [_texts(column) for column in batch.columns]
    out = []
    for row in zip(*columns):
        h = hashlib.blake2b(digest_size=8)
        for value in row:
            if value is None:
                h.update(b"\xff")
            else:
                h.update(struct.pack("<I", len(value)))
                h.update(value)
        out.append(struct.unpack("<q", h.digest())[0])
    return out


def _texts(column: pa.Array) -> list[bytes | None]:
    if isinstance(column.type, pa.BaseExtensionType):
        column = column.storage
    values = column.to_pylist()
    return [None if v is None else v if isinstance(v, bytes) else str(v).encode() for v in values]
