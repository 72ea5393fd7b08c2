"""The read-ahead thread: order kept, errors surface in the caller, early stop closes."""

import threading
import time

import pytest

from rivet_dagster.engine.prefetch import Prefetcher


class Stream:
    def __init__(self, n, fail_at=None):
        self.n, self.fail_at, self.closed_in = n, fail_at, None
        self.fetched = 0

    def raw_batches(self):
        try:
            for i in range(self.n):
                if i == self.fail_at:
                    raise RuntimeError("fetch failed")
                self.fetched += 1
                yield i
        finally:
            self.closed_in = threading.current_thread().name

    def convert(self, raw):
        return ("batch", raw, threading.current_thread().name)


def test_order_and_conversion_on_the_callers_thread():
    stream = Stream(5)
    out = list(Prefetcher(stream))
    assert [b[1] for b in out] == [0, 1, 2, 3, 4]
    assert {b[2] for b in out} == {threading.current_thread().name}
    assert stream.closed_in == "rivet-prefetch"


def test_errors_are_raised_to_the_caller():
    with pytest.raises(RuntimeError, match="fetch failed"):
        list(Prefetcher(Stream(5, fail_at=2)))


def test_reads_at_most_one_batch_ahead_and_close_stops_it():
    stream = Stream(1000)
    reader = Prefetcher(stream)
    it = iter(reader)
    next(it)
    for _ in range(50):  # give the thread time to run ahead if it could
        threading.Event().wait(0.002)
    assert stream.fetched <= 2
    reader.close()
    assert stream.closed_in == "rivet-prefetch" and stream.fetched < 1000


class TimedStream(Stream):
    """Records when each fetch starts and ends."""

    def __init__(self, n):
        super().__init__(n)
        self.spans = []

    def raw_batches(self):
        for i in range(self.n):
            start = time.monotonic()
            self.spans.append((start, time.monotonic()))
            yield i


def test_throttle_leaves_the_source_a_gap_between_fetches_without_idling_the_client():
    stream = TimedStream(6)
    started = time.monotonic()
    for _ in Prefetcher(stream, throttle_ms=40):
        time.sleep(0.04)  # the client's own work (encoding) per batch
    wall = time.monotonic() - started
    gaps = [b[0] - a[1] for a, b in zip(stream.spans, stream.spans[1:])]
    assert len(gaps) == 5 and min(gaps) >= 0.039
    # a sleep on the caller's thread would cost 6 x (40 + 40) ms; overlapped it is ~6 x 40 ms
    assert wall < 6 * 0.08 - 0.1


def test_close_interrupts_a_throttle_pause():
    stream = Stream(3)
    reader = Prefetcher(stream, throttle_ms=60_000)
    next(iter(reader))
    started = time.monotonic()
    reader.close()
    assert time.monotonic() - started < 5 and stream.fetched < 3
