"""Overlap fetching with encoding: the source is read one batch ahead in a thread.

While the main thread encodes and compresses a batch (pyarrow releases the GIL), a reader
thread already waits on the server for the next one (the driver releases the GIL while it
waits). The reader fetches a batch only when fewer than two are alive (the one being
encoded and the one being fetched), so memory is at most one batch more than without it.
The reader thread owns the stream: it is also the thread that closes it.

`throttle_ms` is a pause the *source* sees: the reader leaves at least that long between the
end of one fetch and the start of the next. The client keeps converting and encoding during
the pause, so relief for the server costs wall time only when the client is faster than the
pause (a sleep on the main thread would add every pause to the run's wall time).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

_JOIN_S = 30.0


class Prefetcher:
    def __init__(self, stream: Any, ahead: int = 1, throttle_ms: int = 0):
        self._stream = stream
        self._throttle_s = throttle_ms / 1000
        self._convert = getattr(stream, "convert", None) if hasattr(stream, "raw_batches") else None
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._slots = threading.Semaphore(ahead + 1)  # batches alive: being used + fetched
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rivet-prefetch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        # Streams that separate fetching from conversion get only the fetch done here.
        raw = getattr(self._stream, "raw_batches", None)
        batches = raw() if raw is not None else iter(self._stream)
        fetched_at: float | None = None
        try:
            while self._acquire():
                if fetched_at is not None and not self._pause_since(fetched_at):
                    return
                try:
                    batch = next(batches)
                except StopIteration:
                    self._queue.put(("end", None))
                    return
                fetched_at = time.monotonic()
                self._queue.put(("batch", batch))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            self._queue.put(("error", exc))
        finally:
            close = getattr(batches, "close", None)
            if close is not None:
                close()  # a generator's `finally` closes the stream, in this thread

    def _pause_since(self, fetched_at: float) -> bool:
        """Wait out the throttle since the last fetch ended; False when stopped meanwhile."""
        wait = self._throttle_s - (time.monotonic() - fetched_at)
        return wait <= 0 or not self._stop.wait(wait)

    def _acquire(self) -> bool:
        while not self._stop.is_set():
            if self._slots.acquire(timeout=0.1):
                return not self._stop.is_set()
        return False

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        while True:
            kind, value = self._queue.get()
            if kind == "batch":
                batch = self._convert(value) if self._convert else value
                del value  # the driver's rows go before the batch is encoded, not after
                yield batch
                del batch
                self._slots.release()  # the consumer is done with that batch
            elif kind == "end":
                self._thread.join(_JOIN_S)
                return
            else:
                self._thread.join(_JOIN_S)
                raise value

    def close(self) -> None:
        """Stop reading ahead (on failure); the reader thread closes the stream."""
        self._stop.set()
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join(_JOIN_S)
