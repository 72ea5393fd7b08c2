"""`tuning.adaptive` (Rivet F27): smaller fetches while the source struggles with writes.

Every `SAMPLE_EVERY` batches the source's write-pressure counter is read over a short
connection of its own: requested checkpoints on PostgreSQL (`pg_stat_bgwriter`, or
`pg_stat_checkpointer` from 17), `Innodb_log_waits` on MySQL/MariaDB. A counter that rose
since the previous sample means the server is behind on writes, so the next fetches are
25 % smaller (never under 500 rows); otherwise they grow back by 25 % up to the export's own
size. A sample that fails leaves the size as it is. Smaller fetches mean more throttle
pauses and fewer bytes pulled a second, which is the relief this asks for.

Rivet's concurrency governor (fewer parallel chunk workers under pressure) has no
counterpart here: parallel chunk partitions are Dagster runs bounded by the source's pool.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from rivet_dagster.errors import RivetSourceError

SAMPLE_EVERY = 10
SHRINK, GROW, FLOOR_ROWS = 0.75, 1.25, 500
PRESSURE_QUERIES = {
    "postgres": ("SELECT checkpoints_req FROM pg_stat_bgwriter",      # PostgreSQL <= 16
                 "SELECT num_requested FROM pg_stat_checkpointer"),   # PostgreSQL >= 17
    "mysql": ("SHOW GLOBAL STATUS LIKE 'Innodb_log_waits'",),
}


class AdaptiveBatchSize:
    """Scales the stream's rows per fetch by a factor that pressure samples move."""

    def __init__(self, source: Any, export: str, log: Any, sample_every: int = SAMPLE_EVERY):
        self._source, self._export, self._log = source, export, log
        self._sample_every = sample_every
        self._queries = PRESSURE_QUERIES.get(source.engine, ())
        self._factor = 1.0
        self._batches = 0
        self._last: int | None = None
        self._base: int | None = None
        self._applied: int | None = None
        self.samples: list[int] = []  # what was read, in order (metadata, tests)
        self.sizes: list[int] = []    # each size set, in order

    def after_batch(self, batch: pa.RecordBatch, stream: Any) -> None:
        if stream.batch_size != self._applied:  # first batch, or another policy resized it
            self._base = min(stream.batch_size, max(batch.num_rows, 1))
        self._batches += 1
        if self._batches % self._sample_every == 0:
            self._sample()
        size = self._size()
        if size != self._applied:
            self.sizes.append(size)
        stream.batch_size = self._applied = size

    def _sample(self) -> None:
        value = self._read_counter()
        if value is None:
            return
        self.samples.append(value)
        if self._last is not None:
            if value > self._last:
                self._factor *= SHRINK
                self._log.info(f"rivet: export '{self._export}': source under write pressure "
                               f"({self._last} -> {value}); fetching {self._size():,} rows "
                               f"a batch")
            elif self._factor < 1:
                self._factor = min(1.0, self._factor * GROW)
        self._last = value

    def _size(self) -> int:
        """The base size scaled by the pressure factor, never under the floor."""
        assert self._base is not None
        return self._base if self._factor >= 1 else max(FLOOR_ROWS, int(self._base * self._factor))

    def _read_counter(self) -> int | None:
        for sql in self._queries:
            try:
                rows = self._source.rows(sql, export=self._export)
            except RivetSourceError:
                continue  # another server version's view, or no privilege: try the next
            if rows:
                return int(rows[0][-1])
        return None
