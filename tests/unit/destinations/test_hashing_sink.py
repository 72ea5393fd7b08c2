"""HashingSink: the file gets every byte at once, in order; the hash (on a thread) covers them all."""

import hashlib
import io
import threading

from rivet_dagster.destinations.base import HashingSink


def _hash_threads() -> int:
    return sum(t.name == "rivet-part-hash" for t in threading.enumerate())


def test_hash_and_file_match_every_write_even_buffers_reused_by_the_caller() -> None:
    out = io.BytesIO()
    sink = HashingSink(out)
    expected = hashlib.sha256()
    reused = bytearray(4096)
    for i in range(200):  # more chunks than the queue holds
        if i % 2:
            chunk = bytes([i % 256]) * (1000 + i)
            sink.write(chunk)
        else:
            reused[:] = bytes([i % 256]) * 4096
            sink.write(memoryview(reused))  # the caller changes it right after
            chunk = bytes(reused)
        expected.update(chunk)
        assert out.getbuffer().nbytes == sink.tell()  # the file already has it
    assert sink.hexdigest() == expected.hexdigest() == hashlib.sha256(out.getvalue()).hexdigest()
    assert sink.hexdigest() == expected.hexdigest()  # asking twice is fine
    sink.write(b"more")
    expected.update(b"more")
    assert sink.hexdigest() == expected.hexdigest()
    assert sink.size == len(out.getvalue())


def test_discarding_stops_the_hashing_thread_and_later_writes() -> None:
    before = _hash_threads()
    out = io.BytesIO()
    sink = HashingSink(out)
    sink.write(b"x" * 10_000)
    assert _hash_threads() == before + 1
    sink.discard()
    assert _hash_threads() == before
    sink.write(b"dropped")
    assert out.getvalue() == b"x" * 10_000
