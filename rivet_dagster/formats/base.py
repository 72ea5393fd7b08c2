"""The FormatWriter protocol: one open output file in one format."""

from __future__ import annotations

from typing import BinaryIO, Protocol

import pyarrow as pa


class FormatWriter(Protocol):
    """Streams batches into one file. `bytes_written` drives `max_file_size` rotation."""

    def write_batch(self, batch: pa.RecordBatch) -> None: ...

    def close(self) -> None:
        """Flush buffered rows and write the footer; the sink stays open (the caller owns it)."""
        ...

    @property
    def bytes_written(self) -> int: ...


class Format(Protocol):
    """A file format: its extension and how to open a writer over a binary sink."""

    name: str
    extension: str

    def open_writer(self, sink: BinaryIO, schema: pa.Schema) -> FormatWriter: ...

    def check_schema(self, schema: pa.Schema) -> None:
        """Raise RivetFormatError before any row is read if a column cannot be written."""
        ...
