"""CSV writer: RFC 4180, header row, NULL as an empty cell, empty string as "".

Types without a natural CSV text are rendered explicitly before pyarrow writes the batch:
timestamps as ISO-8601 (with a +00:00 offset when tz-aware), bytes as lowercase hex, UUIDs
canonical, JSON as its text, lists as JSON arrays.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.csv as pacsv

from rivet_dagster import kernels


@dataclass(frozen=True)
class CsvFormat:
    name: str = "csv"
    extension: str = "csv"

    def open_writer(self, sink: BinaryIO, schema: pa.Schema) -> "CsvFormatWriter":
        return CsvFormatWriter(sink, schema)

    def check_schema(self, schema: pa.Schema) -> None:
        return None  # every column is rendered to text by `render_for_csv`


def csv_schema(schema: pa.Schema) -> pa.Schema:
    fields = [pa.field(f.name, pa.string() if _needs_render(f.type) else f.type)
              for f in schema]
    return pa.schema(fields)


class CsvFormatWriter:
    def __init__(self, sink: BinaryIO, schema: pa.Schema):
        self._sink = sink
        self._schema = csv_schema(schema)
        self._writer = pacsv.CSVWriter(
            sink, self._schema,
            write_options=pacsv.WriteOptions(include_header=True, delimiter=",",
                                             quoting_style="needed"))
        self._written = 0

    def write_batch(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        arrays = [render_for_csv(col) if _needs_render(col.type) else col for col in batch.columns]
        self._writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=self._schema))
        self._written = self._sink.tell()

    def close(self) -> None:
        self._writer.close()
        self._written = self._sink.tell()

    @property
    def bytes_written(self) -> int:
        return self._written


def _needs_render(t: pa.DataType) -> bool:
    return (isinstance(t, pa.BaseExtensionType) or pa.types.is_timestamp(t) or pa.types.is_binary(t)
            or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t)
            or pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_decimal(t))


def render_for_csv(array: pa.Array) -> pa.Array:
    """The text a CSV cell holds for one column (None stays None, i.e. an empty cell)."""
    t = array.type
    if isinstance(t, pa.BaseExtensionType):
        if t.extension_name == "arrow.uuid":
            return pa.array([None if b is None else str(uuid.UUID(bytes=b))
                             for b in array.storage.to_pylist()], pa.string())
        return render_for_csv(array.storage) if _needs_render(array.storage.type) else \
            kernels.cast(array.storage, pa.string())
    if pa.types.is_timestamp(t):
        fmt = "%Y-%m-%dT%H:%M:%S%Ez" if t.tz else "%Y-%m-%dT%H:%M:%S"
        return kernels.strftime(array, format=fmt)
    if pa.types.is_decimal(t):
        return kernels.cast(array, pa.string())
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return pa.array([None if b is None else b.hex() for b in array.to_pylist()], pa.string())
    return pa.array([None if v is None else json.dumps(v, default=_json_default, ensure_ascii=False)
                     for v in array.to_pylist()], pa.string())


def _json_default(value: Any) -> str:
    if isinstance(value, bytes):
        return value.hex()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
