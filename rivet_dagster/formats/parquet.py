"""Parquet writer: batches accumulate into large row groups before they are encoded.

One row group per fetched batch made files ~40 % larger (small row groups compress and
encode worse), so rows are buffered up to a byte or row budget, then written as one
row group. The budget bounds the memory this costs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

CREATED_BY = "rivet-dagster"  # version-free: identical rows give identical bytes across releases


@dataclass(frozen=True)
class ParquetFormat:
    compression: str = "zstd"
    compression_level: int | None = None
    row_group_rows: int = 1_048_576
    row_group_bytes: int = 64 * 1024 * 1024
    name: str = "parquet"
    extension: str = "parquet"

    def open_writer(self, sink: BinaryIO, schema: pa.Schema) -> "ParquetFormatWriter":
        return ParquetFormatWriter(self, sink, schema)

    def check_schema(self, schema: pa.Schema) -> None:
        return None  # every type a source produces has a Parquet mapping


class ParquetFormatWriter:
    def __init__(self, fmt: ParquetFormat, sink: BinaryIO, schema: pa.Schema):
        self._fmt = fmt
        self._sink = sink
        self._writer = pq.ParquetWriter(
            sink, schema,
            compression=fmt.compression if fmt.compression != "none" else "NONE",
            compression_level=fmt.compression_level,
            write_statistics=True,
            store_schema=True,
        )
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        self._pending_bytes = 0
        self._written = 0

    def write_batch(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        self._pending.append(batch)
        self._pending_rows += batch.num_rows
        self._pending_bytes += batch.nbytes
        if (self._pending_rows >= self._fmt.row_group_rows
                or self._pending_bytes >= self._fmt.row_group_bytes):
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        table = pa.Table.from_batches(self._pending)
        self._pending, self._pending_rows, self._pending_bytes = [], 0, 0
        self._writer.write_table(table, row_group_size=table.num_rows)
        self._written = self._sink.tell()

    def close(self) -> None:
        self._flush()
        self._writer.close()
        self._written = self._sink.tell()

    @property
    def bytes_written(self) -> int:
        return self._written
