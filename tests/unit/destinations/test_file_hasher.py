"""FileHasher: reads a local part back behind its writer; the hash covers exactly the file."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pyarrow as pa
import pytest
import xxhash

from rivet_dagster.destinations.file_hasher import FileHasher


def _xxh3(data: bytes) -> str:
    return f"xxh3_128:{xxhash.xxh3_128_hexdigest(data)}"


def _hash_threads() -> int:
    return sum(t.name == "rivet-part-hash" for t in threading.enumerate())


def test_it_hashes_every_byte_written_while_it_follows(tmp_path: Path) -> None:
    path = tmp_path / "part"
    out = pa.OSFile(str(path), "wb")
    hasher = FileHasher(path)
    expected = xxhash.xxh3_128()
    for i in range(40):  # some writes larger than the read-back buffer, some tiny
        chunk = bytes([i]) * (3_000_000 if i % 7 == 0 else 10 + i)
        out.write(chunk)
        expected.update(chunk)
        if i % 10 == 0:
            time.sleep(0.05)  # let it catch up and wait for more
    out.close()
    size, digest = hasher.finish()
    data = path.read_bytes()
    assert size == len(data) and digest == f"xxh3_128:{expected.hexdigest()}" == _xxh3(data)


def test_an_empty_file_hashes_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "part"
    path.write_bytes(b"")
    assert FileHasher(path).finish() == (0, _xxh3(b""))


def test_the_file_is_written_back_while_it_grows(tmp_path: Path, monkeypatch) -> None:
    """`sync_every`: fdatasync every N bytes from the hashing thread; the hash is unchanged."""
    synced: list[tuple[int, str]] = []
    real = os.fdatasync

    def recording(fd: int) -> None:
        synced.append((os.fstat(fd).st_size, threading.current_thread().name))
        real(fd)

    monkeypatch.setattr(os, "fdatasync", recording)
    path = tmp_path / "part"
    with open(path, "wb", buffering=0) as f:
        hasher = FileHasher(path, sync_every=100_000)
        for i in range(5):
            f.write(bytes([i]) * 100_000)
            deadline = time.monotonic() + 10
            while len(synced) <= i and time.monotonic() < deadline:  # it follows the writer
                time.sleep(0.01)
    size, digest = hasher.finish()
    data = path.read_bytes()
    assert digest == _xxh3(data) and size == len(data) == 500_000
    assert [done for done, _ in synced] == [100_000, 200_000, 300_000, 400_000, 500_000]
    assert {name for _, name in synced} == {"rivet-part-hash"}


def test_stop_ends_the_thread_and_closes_its_descriptor(tmp_path: Path) -> None:
    path = tmp_path / "part"
    path.write_bytes(b"x" * 10_000)
    before_threads, before_fds = _hash_threads(), len(os.listdir("/proc/self/fd"))
    hasher = FileHasher(path)
    assert _hash_threads() == before_threads + 1
    hasher.stop()
    hasher.stop()  # twice is fine (an abort after a failed publish)
    assert _hash_threads() == before_threads
    assert len(os.listdir("/proc/self/fd")) == before_fds


def test_a_read_error_surfaces_at_finish(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "part"
    path.write_bytes(b"abc")

    def failing(*args: object) -> int:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "preadv", failing)
    hasher = FileHasher(path)
    with pytest.raises(OSError, match="Input/output error"):
        hasher.finish()


def test_the_hashing_thread_alone_runs_at_the_lowest_priority(tmp_path: Path) -> None:
    """nice 19 for the hashing thread, so the encoder wins the cores; the process and the
    thread that writes keep theirs."""
    path = tmp_path / "part"
    path.write_bytes(b"x" * 1000)
    before = os.getpriority(os.PRIO_PROCESS, 0)
    hasher = FileHasher(path)
    try:
        thread = next(t for t in threading.enumerate() if t.name == "rivet-part-hash")
        deadline = time.monotonic() + 5  # its first step; the writer is not done yet
        while os.getpriority(os.PRIO_PROCESS, thread.native_id) != 19 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert os.getpriority(os.PRIO_PROCESS, thread.native_id) == 19
        assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before
    finally:
        assert hasher.finish() == (1000, _xxh3(b"x" * 1000))
