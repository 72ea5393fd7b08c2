"""The Destination protocol and the pieces every store shares.

A destination stores parts and manifests under `<base>/<export>/<slot>/`. A part is written
through a `PartHandle` (hashing every byte on the way) and becomes visible under its final
name only at `publish()`: a rename on local disk, the completed upload on object stores.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

import pyarrow.fs as pafs


@dataclass(frozen=True)
class PartInfo:
    """A published part: path relative to its manifest's folder, rows, bytes, content hash."""

    path: str
    rows: int
    bytes: int
    sha256: str

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "rows": self.rows, "bytes": self.bytes,
                "sha256": self.sha256}


class HashingSink:
    """A write-only binary file that hashes and counts what passes through it (stdout parts).

    pyarrow writers accept any object with write/tell/flush/close, so the content hash of
    a part costs no second read of the stream. The bytes go to the stream at once, in order;
    the hashing runs on a helper thread (hashlib releases the GIL), so it can overlap the
    encoding of the next pages instead of adding to it. `hexdigest()` waits for it.
    Local parts do not come through here: pyarrow writes them to the file's descriptor and
    `FileHasher` reads them back (a Python file object costs a bytes object per page).
    """

    _QUEUE_CHUNKS = 16  # pyarrow hands over pages of about 1 MB: a few MB in flight at most

    def __init__(self, inner: BinaryIO):
        self._inner = inner
        self._hash = hashlib.sha256()
        self._size = 0
        self._discarding = False
        self._pending: queue.Queue[bytes | None] = queue.Queue(self._QUEUE_CHUNKS)
        self._hasher: threading.Thread | None = None
        self.closed = False

    def discard(self) -> None:
        """Drop every later write: an aborted part's format writer may still flush on GC."""
        self._discarding = True
        self._finish_hashing()

    def write(self, data: Any) -> int:
        view = memoryview(data)
        if self._discarding:
            return view.nbytes
        self._inner.write(view)
        # pyarrow passes bytes, which cannot change; anything else is copied before it queues
        self._enqueue(data if type(data) is bytes else view.tobytes())
        self._size += view.nbytes
        return view.nbytes

    def _enqueue(self, chunk: bytes) -> None:
        if self._hasher is None:
            self._hasher = threading.Thread(target=self._hash_pending, name="rivet-part-hash",
                                            daemon=True)
            self._hasher.start()
        self._pending.put(chunk)

    def _hash_pending(self) -> None:
        while (chunk := self._pending.get()) is not None:
            self._hash.update(chunk)

    def tell(self) -> int:
        return self._size

    def flush(self) -> None:
        self._inner.flush()

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readable(self) -> bool:
        return False

    def close(self) -> None:
        self.closed = True  # the PartHandle closes the inner file (after fsync where it can)

    @property
    def size(self) -> int:
        return self._size

    def hexdigest(self) -> str:
        """The SHA-256 of every byte written (waits for the hashing thread to catch up)."""
        self._finish_hashing()
        return self._hash.hexdigest()

    def _finish_hashing(self) -> None:
        if self._hasher is not None:
            self._pending.put(None)
            self._hasher.join()
            self._hasher = None


class BinarySink(Protocol):
    """What a format writer writes to: a `HashingSink`, or for local parts the staging file's
    pyarrow `OSFile` (pyarrow then writes without Python in the way)."""

    def write(self, data: Any) -> int: ...

    def tell(self) -> int: ...

    def flush(self) -> None: ...


class PartHandle(Protocol):
    sink: BinarySink

    def publish(self, rows: int) -> PartInfo:
        """Make the part durable and visible under its final name."""
        ...

    def abort(self) -> None:
        """Drop a part that will not be published (best effort)."""
        ...


class Destination(Protocol):
    """Where parts and manifests go. `rel` paths are relative to the destination's base."""

    kind: str
    keeps_files: bool  # False for stdout: nothing to list, read back or manifest

    def uri(self, rel: str = "") -> str: ...

    def open_part(self, rel_dir: str, name: str) -> PartHandle: ...

    def write_bytes_atomic(self, rel_path: str, data: bytes) -> None: ...

    def read_bytes(self, rel_path: str) -> bytes | None: ...

    def list_dir(self, rel_dir: str) -> list[str]: ...

    def remove_dir(self, rel_dir: str) -> None: ...

    def filesystem(self) -> tuple[pafs.FileSystem, str]:
        """A pyarrow filesystem and the base path in it, for reading datasets."""
        ...
