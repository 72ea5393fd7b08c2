"""Local directory destination: stage, fsync, atomic rename, fsync the folder.

A part is written as `.<name>.inprogress` beside its final name, then renamed: a reader
never sees a half-written file under a final name, and a crashed attempt leaves only
dot-files that the next attempt of the same slot clears.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs

from rivet_dagster.destinations.base import PartInfo
from rivet_dagster.destinations.file_hasher import FileHasher
from rivet_dagster.errors import RivetDestinationError

WRITE_BACK_BYTES = 32 * 1024 * 1024  # written to disk while the export runs (FileHasher)


class LocalPartHandle:
    """The format writer writes to the staging file's descriptor (`sink`, a pyarrow OSFile);
    a `FileHasher` reads it back behind the writer for the part's content hash."""

    def __init__(self, final: Path, rel_name: str):
        self._final = final
        self._rel_name = rel_name
        self._staging = final.with_name(f".{final.name}.inprogress")
        self.sink = pa.OSFile(str(self._staging), "wb")
        try:
            self._hasher = FileHasher(self._staging, sync_every=WRITE_BACK_BYTES)
        except BaseException:
            self.sink.close()
            self._staging.unlink(missing_ok=True)
            raise

    def publish(self, rows: int) -> PartInfo:
        written = self.sink.tell()
        os.fsync(self.sink.fileno())
        self.sink.close()
        size, digest = self._hasher.finish()
        if size != written:
            raise RivetDestinationError(
                f"local: {self._staging} holds {size} bytes, {written} were written to it "
                "(changed by another process?)", field="destination.path")
        os.replace(self._staging, self._final)
        _fsync_dir(self._final.parent)
        return PartInfo(self._rel_name, rows, size, digest)

    def abort(self) -> None:
        """Drop the staged file. The descriptor stays open until the handle goes: an aborted
        format writer may still write its footer when it is collected, and that write must
        land in the unlinked file rather than fail noisily on a closed one."""
        self._hasher.stop()
        self._staging.unlink(missing_ok=True)


class LocalDestination:
    kind = "local"
    keeps_files = True

    def __init__(self, base: str | os.PathLike[str]):
        self.base = Path(base).absolute()

    def _path(self, rel: str) -> Path:
        return self.base / rel if rel else self.base

    def uri(self, rel: str = "") -> str:
        return str(self._path(rel))

    def open_part(self, rel_dir: str, name: str) -> LocalPartHandle:
        folder = self._path(rel_dir)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            return LocalPartHandle(folder / name, name)
        except OSError as exc:
            # pyarrow's OSError puts its whole message in strerror: name the errno alone
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            raise RivetDestinationError(f"local: cannot write under {folder}: {reason}",
                                        field="destination.path") from None

    def write_bytes_atomic(self, rel_path: str, data: bytes) -> None:
        final = self._path(rel_path)
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = final.with_name(f".{final.name}.inprogress")
        with open(staging, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(staging, final)
        _fsync_dir(final.parent)

    def read_bytes(self, rel_path: str) -> bytes | None:
        try:
            return self._path(rel_path).read_bytes()
        except FileNotFoundError:
            return None

    def list_dir(self, rel_dir: str) -> list[str]:
        try:
            return sorted(p.name for p in self._path(rel_dir).iterdir())
        except FileNotFoundError:
            return []

    def remove_dir(self, rel_dir: str) -> None:
        shutil.rmtree(self._path(rel_dir), ignore_errors=True)

    def filesystem(self) -> tuple[pafs.FileSystem, str]:
        return pafs.LocalFileSystem(), str(self.base)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
