"""Regrouping Arrow batches that a fast reader produces at its own size.

Arrow-native readers (PostgreSQL COPY via ADBC, MariaDB via connectorx) cut batches where
their driver does. The engine's memory policies still speak in rows (`stream.batch_size`,
which `auto_shrink` may lower between batches), so the stream hands out exactly that many
rows, except when the reader itself was asked to cut by bytes (`by_bytes`): then a batch
goes out as it came unless it is larger than the engine asks for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa


def regroup(batches: Iterator[pa.RecordBatch], size: Callable[[], int],
            by_bytes: bool) -> Iterator[pa.RecordBatch]:
    """Yield `batches` as batches of exactly `size()` rows (the last may be shorter)."""
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    for batch in batches:
        if by_bytes and size() >= batch.num_rows and not pending:
            yield batch
            continue
        pending.append(batch)
        pending_rows += batch.num_rows
        del batch
        while pending_rows >= (wanted := max(1, size())):
            merged = pending[0] if len(pending) == 1 else pa.concat_batches(pending)
            rest = merged.slice(wanted)
            pending, pending_rows = ([rest], rest.num_rows) if rest.num_rows else ([], 0)
            yield merged.slice(0, wanted)
            del merged, rest
    if pending:
        yield pending[0] if len(pending) == 1 else pa.concat_batches(pending)


class RegroupedStream:
    """A stream over a driver's own batches: regrouped, converted, closed when done.

    Subclasses provide `driver_batches()`, `convert(batch)`, `close(finished)`, `batch_size`
    and `sizes_by_bytes`. `raw_batches` is what a read-ahead thread takes; `close(True)` means
    the driver reached the end, `close(False)` that the consumer stopped early.
    """

    batch_size: int
    sizes_by_bytes: bool = False

    def driver_batches(self) -> Iterator[pa.RecordBatch]:
        raise NotImplementedError

    def convert(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        raise NotImplementedError

    def close(self, finished: bool = False) -> Any:
        raise NotImplementedError

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        for batch in self.raw_batches():
            yield self.convert(batch)

    def raw_batches(self) -> Iterator[pa.RecordBatch]:
        finished = False
        try:
            yield from regroup(self.driver_batches(), lambda: self.batch_size, self.sizes_by_bytes)
            finished = True
        finally:
            self.close(finished)
