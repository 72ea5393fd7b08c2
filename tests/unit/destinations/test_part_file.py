"""PartFile: a local part written by its own thread, with O_DIRECT where the filesystem takes it."""

from __future__ import annotations

import errno
import fcntl
import os
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xxhash

from rivet_dagster.destinations import part_file
from rivet_dagster.destinations.part_file import (
    CHUNK, DIRECT_FILESYSTEMS, PartFile, filesystem_type,
)


def _xxh3(data: bytes) -> str:
    return f"xxh3_128:{xxhash.xxh3_128_hexdigest(data)}"


def _writer_threads() -> int:
    return sum(t.name == "rivet-part-write" for t in threading.enumerate())


def test_every_byte_lands_in_order_with_its_hash(tmp_path: Path) -> None:
    """Writes smaller and larger than a chunk, and a tail that is no whole block."""
    path = tmp_path / "part"
    f = PartFile(path)
    sent = bytearray()
    for i in range(40):
        piece = bytes([i]) * (CHUNK + 12_345 if i % 9 == 0 else 10 + 7 * i)
        assert f.write(piece) == len(piece)
        sent += piece
        assert f.tell() == len(sent)
    assert f.write(memoryview(b"tail")) == 4  # any bytes-like object, copied at once
    sent += b"tail"
    size, digest = f.finish()
    assert path.read_bytes() == bytes(sent)
    assert (size, digest) == (len(sent), _xxh3(bytes(sent)))
    assert len(sent) % 4096 != 0


def test_on_this_filesystem_the_part_bypasses_the_page_cache(tmp_path: Path) -> None:
    """ext4 takes O_DIRECT: the descriptor is opened with it and whole chunks go down that way."""
    f = PartFile(tmp_path / "part")
    try:
        assert f.direct
        assert fcntl.fcntl(f._fd, fcntl.F_GETFL) & os.O_DIRECT
        f.write(b"x" * (2 * CHUNK))
    finally:
        size, _ = f.finish()
    assert size == 2 * CHUNK


def test_an_empty_part_is_an_empty_file(tmp_path: Path) -> None:
    assert PartFile(tmp_path / "part").finish() == (0, _xxh3(b""))
    assert (tmp_path / "part").read_bytes() == b""


def test_pyarrow_writes_a_readable_parquet_file_through_it(tmp_path: Path) -> None:
    table = pa.table({"a": list(range(300_000)), "b": [f"value {i}" * 20 for i in range(300_000)]})
    f = PartFile(tmp_path / "part.parquet")
    with pq.ParquetWriter(f, table.schema, compression="none") as writer:
        writer.write_table(table, row_group_size=100_000)
    size, digest = f.finish()
    data = (tmp_path / "part.parquet").read_bytes()
    assert size == len(data) > 2 * CHUNK and digest == _xxh3(data)
    assert pq.read_table(tmp_path / "part.parquet").equals(table)


def test_a_filesystem_that_refuses_o_direct_at_open_gets_buffered_writes(tmp_path, monkeypatch):
    """EINVAL at open is how Linux says a filesystem has no O_DIRECT (tmpfs before 6.6, some
    FUSE and network filesystems); the part is written through the page cache instead, and
    written back to disk every SYNC_EVERY bytes."""
    real_open, synced = os.open, []

    def no_direct(path, flags, mode=0o777, **kw):
        if flags & os.O_DIRECT:
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_open(path, flags, mode, **kw)

    monkeypatch.setattr(os, "open", no_direct)
    monkeypatch.setattr(part_file, "SYNC_EVERY", 2 * CHUNK)
    real_sync = os.fdatasync

    def recording(fd: int) -> None:
        synced.append(os.fstat(fd).st_size)
        real_sync(fd)

    monkeypatch.setattr(os, "fdatasync", recording)
    f = PartFile(tmp_path / "part")
    assert not f.direct
    data = os.urandom(5 * CHUNK + 3)
    f.write(data)
    assert f.finish() == (len(data), _xxh3(data))
    assert (tmp_path / "part").read_bytes() == data
    assert synced == [2 * CHUNK, 4 * CHUNK]


def test_other_errors_at_open_are_not_retried(tmp_path: Path) -> None:
    (tmp_path / "part").mkdir()
    before = _writer_threads()
    with pytest.raises(IsADirectoryError):
        PartFile(tmp_path / "part")
    assert _writer_threads() == before


def test_a_filesystem_that_refuses_direct_writes_falls_back_mid_part(tmp_path, monkeypatch):
    """Some filesystems open with O_DIRECT and refuse the write (EINVAL): the same chunk is
    written again through the page cache and so is the rest."""
    real_write, refused = os.write, []

    def refusing(fd, data):
        if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT:
            refused.append(len(data))
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", refusing)
    f = PartFile(tmp_path / "part")
    data = os.urandom(3 * CHUNK + 100)
    f.write(data)
    assert f.finish() == (len(data), _xxh3(data))
    assert (tmp_path / "part").read_bytes() == data
    assert refused == [CHUNK] and not f.direct


def test_a_write_error_reaches_the_writer_and_finish(tmp_path, monkeypatch) -> None:
    """The thread's error is raised by the next write that hands over a chunk, and by finish."""
    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    f = PartFile(tmp_path / "part")
    with pytest.raises(OSError, match="No space left on device"):
        for _ in range(10):  # the first chunk fails in the thread; a later hand-over says so
            f.write(b"y" * CHUNK)
    with pytest.raises(OSError, match="No space left on device"):
        f.finish()
    f.abort()  # after a failed finish, as the handle does: nothing more to close
    assert _writer_threads() == 0


def test_abort_ends_the_thread_closes_the_descriptor_and_drops_later_writes(tmp_path: Path) -> None:
    before_threads, before_fds = _writer_threads(), len(os.listdir("/proc/self/fd"))
    f = PartFile(tmp_path / "part")
    assert _writer_threads() == before_threads + 1
    f.write(b"z" * (CHUNK + 1))
    f.abort()
    f.abort()  # twice is fine
    assert f.write(b"footer of a collected writer") == 28
    assert _writer_threads() == before_threads
    assert len(os.listdir("/proc/self/fd")) == before_fds


def test_o_direct_only_on_local_block_device_filesystems(tmp_path: Path) -> None:
    """tmpfs takes O_DIRECT on recent kernels but is the page cache itself: such a part is
    written through the cache (and NFS, SMB, FUSE, overlay, ZFS likewise, by their type)."""
    assert filesystem_type(tmp_path) in DIRECT_FILESYSTEMS  # ext4 on this machine
    shm = Path("/dev/shm")
    assert filesystem_type(shm) == "tmpfs"
    path = shm / f"rivet-part-{os.getpid()}"
    try:
        f = PartFile(path)
        assert not f.direct and not fcntl.fcntl(f._fd, fcntl.F_GETFL) & os.O_DIRECT
        f.write(b"q" * (CHUNK + 5))
        assert f.finish() == (CHUNK + 5, _xxh3(b"q" * (CHUNK + 5)))
        assert path.read_bytes() == b"q" * (CHUNK + 5)
    finally:
        path.unlink(missing_ok=True)


def test_filesystem_type_takes_the_deepest_mount_and_the_top_of_a_stack() -> None:
    mountinfo = "\n".join([
        "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw",
        "30 27 0:27 / /data rw,relatime - xfs /dev/vdb rw",
        "31 30 0:28 / /data/my\\040share rw,relatime shared:1 - nfs4 srv:/x rw",
        "32 27 0:29 / /scratch rw - tmpfs tmpfs rw",
        "33 32 0:30 / /scratch rw - fuse.s3fs s3fs rw",
    ])
    assert filesystem_type("/data/out", mountinfo) == "xfs"
    assert filesystem_type("/data/my share/out", mountinfo) == "nfs4"
    assert filesystem_type("/data/my sharex", mountinfo) == "xfs"
    assert filesystem_type("/scratch/a", mountinfo) == "fuse.s3fs"
    assert filesystem_type("/elsewhere", mountinfo) == "ext4"
    assert filesystem_type("/x", "garbage line\n") is None
