"""Local directory destination: stage, fsync, atomic rename, fsync the folder.

A part is written as `.<name>.inprogress` beside its final name, then renamed: a reader
never sees a half-written file under a final name, and a crashed attempt leaves only
dot-files that the next attempt of the same slot clears.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pyarrow.fs as pafs

from rivet_dagster.destinations.base import PartInfo
from rivet_dagster.destinations.part_file import PartFile
from rivet_dagster.errors import RivetDestinationError

class LocalPartHandle:
    """The format writer writes to `sink`, a `PartFile` on the staging file, whose thread
    writes the bytes to disk (O_DIRECT where the filesystem takes it) and hashes them."""

    def __init__(self, final: Path, rel_name: str):
        self._final = final
        self._rel_name = rel_name
        self._staging = final.with_name(f".{final.name}.inprogress")
        self.sink = PartFile(self._staging)

    def publish(self, rows: int) -> PartInfo:
        written, digest = self.sink.finish()
        size = self._staging.stat().st_size
        if size != written:
            raise RivetDestinationError(
                f"local: {self._staging} holds {size} bytes, {written} were written to it "
                "(changed by another process?)", field="destination.path")
        os.replace(self._staging, self._final)
        _fsync_dir(self._final.parent)
        return PartInfo(self._rel_name, rows, size, digest)

    def abort(self) -> None:
        """Drop the staged file. An aborted format writer may still write its footer when it
        is collected: the `PartFile` drops those bytes instead of failing on a closed file."""
        self.sink.abort()
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
            # name the errno alone (an OSError from pyarrow puts its whole message in strerror)
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
