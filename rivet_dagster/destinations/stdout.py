"""Stdout destination: the rows stream to the process's standard output.

There is nothing durable to list or read back, so no manifest is written and the Dagster
IO manager cannot load it as an input; rotation (`max_file_size`) is rejected by config.
"""

from __future__ import annotations

import sys
from typing import BinaryIO

import pyarrow.fs as pafs

from rivet_dagster.destinations.base import HashingSink, PartInfo
from rivet_dagster.errors import RivetDestinationError


class StdoutPartHandle:
    def __init__(self, stream: BinaryIO):
        self._stream = stream
        self.sink = HashingSink(stream)

    def publish(self, rows: int) -> PartInfo:
        self._stream.flush()
        return PartInfo("-", rows, self.sink.size, self.sink.content_hash())

    def abort(self) -> None:
        self.sink.discard()
        self._stream.flush()


class StdoutDestination:
    kind = "stdout"
    keeps_files = False

    def __init__(self, stream: BinaryIO | None = None):
        self._stream = stream

    def uri(self, rel: str = "") -> str:
        return "stdout"

    def open_part(self, rel_dir: str, name: str) -> StdoutPartHandle:
        return StdoutPartHandle(self._stream or sys.stdout.buffer)

    def write_bytes_atomic(self, rel_path: str, data: bytes) -> None:
        return None

    def read_bytes(self, rel_path: str) -> bytes | None:
        return None

    def list_dir(self, rel_dir: str) -> list[str]:
        return []

    def remove_dir(self, rel_dir: str) -> None:
        return None

    def filesystem(self) -> tuple[pafs.FileSystem, str]:
        raise RivetDestinationError("stdout keeps no files to read back", field="destination.type")
