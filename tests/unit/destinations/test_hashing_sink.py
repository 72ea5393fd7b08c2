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


def test_a_local_file_is_written_back_while_it_grows(tmp_path, monkeypatch) -> None:
    """`sync_every`: fdatasync on the part's own descriptor every N bytes, from the hashing
    thread; the hash and the file are unchanged by it."""
    import os

    synced: list[tuple[int, int, str]] = []
    real = os.fdatasync

    def recording(fd: int) -> None:
        synced.append((fd, os.fstat(fd).st_size, threading.current_thread().name))
        real(fd)

    monkeypatch.setattr(os, "fdatasync", recording)
    with open(tmp_path / "part", "wb", buffering=0) as f:
        sink = HashingSink(f, sync_every=100_000)
        for i in range(50):
            sink.write(bytes([i]) * 10_000)
        digest = sink.hexdigest()
        fd = f.fileno()
    data = (tmp_path / "part").read_bytes()
    assert digest == hashlib.sha256(data).hexdigest() and len(data) == 500_000
    assert [s[0] for s in synced] == [fd] * 5
    assert all(size >= 100_000 * (n + 1) for n, (_, size, _) in enumerate(synced))
    assert {s[2] for s in synced} == {"rivet-part-hash"}


def test_write_back_is_skipped_where_there_is_no_file() -> None:
    out = io.BytesIO()  # no fileno(): io.UnsupportedOperation
    sink = HashingSink(out, sync_every=1)
    sink.write(b"abc" * 1000)
    assert sink.hexdigest() == hashlib.sha256(out.getvalue()).hexdigest()
