"""Memory knobs of `tuning:` (Rivet §6.2-6.3), applied between batches.

- batch_size_memory_mb: rows per fetch from an estimated row width (schema-based).
- max_batch_memory_mb + on_batch_memory_exceeded: measured on the real Arrow buffers;
  warn (with a suggested batch_size), fail, or auto_shrink (the batch is written in halves
  that fit, and later fetches are made smaller, so the totals are unchanged).
- max_value_mb: one cell larger than this aborts the export (RIVET_VALUE_TOO_LARGE).
- memory_threshold_mb: when the process RSS is above it, fetching pauses (garbage is
  collected and the RSS polled for up to a few seconds) and a warning is logged.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from rivet_dagster import kernels
from rivet_dagster.config.tuning_profiles import (
    AUTO_BATCH_MAX_ROWS, AUTO_BATCH_MAX_VALUES, ResolvedTuning,
)
from rivet_dagster.engine.process_memory import current_rss_mb
from rivet_dagster.errors import RivetSourceError

MB = 1024 * 1024
MIN_ROWS, MAX_ROWS = 1_000, 500_000
PROBE_ROWS = 1_000  # the first fetch of a memory-sized export measures the row width
RSS_PAUSE_S = 5.0


def estimate_row_bytes(schema: pa.Schema) -> int:
    """Rivet's estimate: fixed widths, 256 B per string/binary, 64 B otherwise, +1 validity."""
    total = 0
    for field in schema:
        t = field.type
        if isinstance(t, pa.BaseExtensionType):
            t = t.storage_type
        if pa.types.is_boolean(t) or (pa.types.is_integer(t) and t.bit_width == 8):
            size = 1
        elif pa.types.is_integer(t) and t.bit_width == 16:
            size = 2
        elif (pa.types.is_integer(t) and t.bit_width == 32) or t in (pa.float32(), pa.date32()):
            size = 4
        elif pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_timestamp(t) \
                or pa.types.is_time(t):
            size = 8
        elif pa.types.is_decimal(t):
            size = 16
        elif pa.types.is_string(t) or pa.types.is_binary(t) or pa.types.is_fixed_size_binary(t):
            size = 256
        else:
            size = 64
        total += size + 1
    return max(total, 1)


def rows_for_memory(schema: pa.Schema, megabytes: int) -> int:
    return int(min(MAX_ROWS, max(MIN_ROWS, megabytes * MB // estimate_row_bytes(schema))))


class MemoryPolicy:
    """Applies the memory knobs to each batch of one export."""

    def __init__(self, tuning: ResolvedTuning, export: str, log: Any):
        self.tuning, self.export, self.log = tuning, export, log
        self._warned_batch = self._warned_rss = False

    def size_first_fetch(self, stream: Any, configured: int) -> None:
        """Set the stream's first fetch size (rows), unless the reader cuts batches by bytes."""
        if _sizes_itself(stream):
            return
        if self.tuning.auto_batch_mb:
            stream.batch_size = PROBE_ROWS
        elif self.tuning.batch_size_memory_mb:
            rows = rows_for_memory(stream.schema, self.tuning.batch_size_memory_mb)
            self.log.info(f"rivet: export '{self.export}': batch_size {rows:,} rows from "
                          f"batch_size_memory_mb {self.tuning.batch_size_memory_mb} "
                          f"(~{estimate_row_bytes(stream.schema)} B/row estimated)")
            stream.batch_size = rows
        else:
            stream.batch_size = configured

    def after_batch(self, batch: pa.RecordBatch, stream: Any) -> None:
        """Memory-driven default: size the next fetches from the measured row width."""
        budget = self.tuning.auto_batch_mb
        if not budget or batch.num_rows == 0 or _sizes_itself(stream):
            return
        per_row = max(1.0, batch.nbytes / batch.num_rows)
        cap = min(AUTO_BATCH_MAX_ROWS, AUTO_BATCH_MAX_VALUES // max(1, batch.num_columns))
        stream.batch_size = int(min(cap, max(MIN_ROWS, budget * MB / per_row)))

    def before_fetch(self) -> None:
        limit = self.tuning.memory_threshold_mb
        if not limit or current_rss_mb() <= limit:
            return
        gc.collect()
        deadline = time.monotonic() + RSS_PAUSE_S
        while current_rss_mb() > limit * 0.8 and time.monotonic() < deadline:
            time.sleep(0.1)
        if not self._warned_rss:
            self._warned_rss = True
            self.log.warning(f"rivet: export '{self.export}': RSS {current_rss_mb():.0f} MiB is "
                             f"above memory_threshold_mb {limit}; fetching paused up to "
                             f"{RSS_PAUSE_S:.0f} s (lower batch_size to stay below it)")

    def check_values(self, batch: pa.RecordBatch) -> None:
        limit = self.tuning.max_value_mb
        if not limit:
            return
        for field, column in zip(batch.schema, batch.columns):
            t = column.type.storage_type if isinstance(column.type, pa.BaseExtensionType) else column.type
            if not (pa.types.is_string(t) or pa.types.is_binary(t) or pa.types.is_large_string(t)):
                continue
            storage = column.storage if isinstance(column.type, pa.BaseExtensionType) else column
            longest = kernels.max(kernels.binary_length(storage)).as_py()
            if longest is not None and longest > limit * MB:
                raise RivetSourceError(
                    f"RIVET_VALUE_TOO_LARGE: a value of column '{field.name}' is "
                    f"{longest / MB:.1f} MB, above max_value_mb {limit}", export=self.export,
                    field="tuning.max_value_mb")

    def fit(self, batch: pa.RecordBatch, stream: Any) -> Iterator[pa.RecordBatch]:
        """The batch as pieces that respect max_batch_memory_mb (or the batch itself)."""
        cap = self.tuning.max_batch_memory_mb
        if not cap or batch.nbytes <= cap * MB or batch.num_rows == 0:
            yield batch
            return
        suggested = max(1, int(batch.num_rows * cap * MB / batch.nbytes))
        policy = self.tuning.on_batch_memory_exceeded
        message = (f"rivet: export '{self.export}': a batch of {batch.num_rows:,} rows holds "
                   f"{batch.nbytes / MB:.1f} MB, above max_batch_memory_mb {cap}; "
                   f"batch_size ~{suggested:,} would fit")
        if policy == "fail":
            raise RivetSourceError(message.split(": ", 1)[1], export=self.export,
                                   field="tuning.max_batch_memory_mb")
        if policy == "warn":
            if not self._warned_batch:
                self._warned_batch = True
                self.log.warning(message)
            yield batch
            return
        stream.batch_size = min(getattr(stream, "batch_size", suggested), suggested)
        yield from _halves(batch, cap * MB)


def _sizes_itself(stream: Any) -> bool:
    """A reader that cuts its batches by bytes (PostgreSQL COPY) needs no row count."""
    return bool(getattr(stream, "sizes_by_bytes", False))


def _halves(batch: pa.RecordBatch, cap: int) -> Iterator[pa.RecordBatch]:
    if batch.nbytes <= cap or batch.num_rows <= 1:
        yield batch
        return
    middle = batch.num_rows // 2
    yield from _halves(batch.slice(0, middle), cap)
    yield from _halves(batch.slice(middle), cap)
