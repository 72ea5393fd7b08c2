"""MySQL / MariaDB's fastest reader: the cursor reader's own result, decoded in C.

Why: the cursor reader spends most of a narrow export turning one Python bytes object per
value into Arrow arrays, and the connectorx reader needs a relay process to keep its memory
bounded. `native/myrows.c` fetches the rows of the very result the cursor reader opened
(mysql-connector's C extension, unbuffered, so the server streams only as fast as rows are
taken) and parses them straight into Arrow buffers, without the GIL.

What stays the same as the cursor reader, because it *is* the cursor reader's session:
connection and TLS, UTC and the statement timeout in a READ ONLY transaction, the column
metadata and type mapping, the early-close KILL and the session restore. Integers, floats,
dates and datetimes are parsed in C (zero and invalid dates read as NULL, as the cursor
reader reads them); every other column (DECIMAL, TIME, BIT, JSON, overrides...) is copied as
its raw text and converted by the cursor reader's own `mysql_types.column_to_arrow`.

The extension does not expose its result handle, so it is found in the extension object's
memory right after the query, by a signature only that field has (see `_result_handle`);
when the signature is not found (another mysql-connector build) the cursor reader's Python
path reads instead and `RIVET_MYSQL_READER=native` says why.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa

from rivet_dagster.errors import RivetSourceError
from rivet_dagster.sources import mysql_types as mt
from rivet_dagster.sources.native_library import decoded_arrays, load_decoder

# Column kinds of native/myrows.c.
K_RAW, K_BOOL, K_I16, K_I32, K_I64, K_U64, K_F32, K_F64, K_DATE, K_DATETIME = range(10)
_INT_KINDS = {pa.int16(): K_I16, pa.int32(): K_I32, pa.int64(): K_I64, pa.uint64(): K_U64}
_INT_CODES = frozenset({mt.TINY, mt.SHORT, mt.INT24, mt.LONG, mt.LONGLONG, mt.YEAR})
_DATETIME_CODES = frozenset({mt.DATETIME, mt.DATETIME2, mt.TIMESTAMP, mt.TIMESTAMP2})
MB = 1024 * 1024
_HINT_BYTES = 8 * MB  # of values per batch when the engine sizes batches by rows
_PTR = ctypes.sizeof(ctypes.c_void_p)
_HEAD = object.__basicsize__  # PyObject_HEAD: where an extension object's own fields start


class _Library:
    """The compiled decoder and the libmysqlclient functions it calls (lib None: unavailable)."""

    def __init__(self) -> None:
        self.lib: Any = None
        self.client: Any = None
        self.fetch_row = self.fetch_lengths = 0
        self.why = ""
        try:
            self._load()
        except (OSError, ImportError, AttributeError) as exc:
            self.lib, self.why = None, str(exc)

    def _load(self) -> None:
        lib = load_decoder("_myrows", "myr")
        import _mysql_connector  # the extension mysql-connector reads with

        client = ctypes.CDLL(_mysql_connector.__file__)  # already loaded: same handle
        client.mysql_errno.restype = ctypes.c_uint
        client.mysql_errno.argtypes = [ctypes.c_void_p]
        client.mysql_error.restype = ctypes.c_char_p
        client.mysql_error.argtypes = [ctypes.c_void_p]
        client.mysql_num_fields.restype = ctypes.c_uint
        client.mysql_num_fields.argtypes = [ctypes.c_void_p]
        self.fetch_row = ctypes.cast(client.mysql_fetch_row, ctypes.c_void_p).value or 0
        self.fetch_lengths = ctypes.cast(client.mysql_fetch_lengths, ctypes.c_void_p).value or 0
        self.client, self.lib = client, lib


_result_offset: int | None = None  # where the result handle sits, once found


@functools.cache
def library() -> _Library:
    """Loaded once per process (a failed load is remembered with its reason)."""
    return _Library()


def _word(address: int) -> int:
    return ctypes.c_size_t.from_address(address).value


def _result_handle(cext: Any, columns: int) -> int | None:
    """The extension's `MYSQL_RES *` of the unbuffered query it just ran, or None.

    In mysql-connector's `MySQL` object the result pointer is followed by `connected` (1),
    `result_num_fields`, `use_unicode`, then the PyObject* flags `buffered` (False here),
    `raw` (True) ... `have_result_set` (True): no other word has that neighbourhood. The
    candidate must also report the query's column count through libmysqlclient itself."""
    global _result_offset
    base, size = id(cext), type(cext).__basicsize__
    yes, no = id(True), id(False)

    def fits(offset: int) -> bool:
        return (offset + 10 * _PTR <= size and _word(base + offset) != 0
                and _word(base + offset + _PTR) & 0xFF == 1
                and _word(base + offset + 3 * _PTR) == no
                and _word(base + offset + 4 * _PTR) == yes
                and _word(base + offset + 9 * _PTR) == yes)

    offsets = [_result_offset] if _result_offset is not None else range(_HEAD, size, _PTR)
    found = [o for o in offsets if fits(o)]
    if len(found) != 1:
        return None
    handle = _word(base + found[0])
    if library().client.mysql_num_fields(handle) != columns:
        return None
    _result_offset = found[0]
    return handle


def kinds(fields: list[mt.FieldMeta], schema: pa.Schema, overrides: Any) -> list[int]:
    """What the C decoder parses per column; K_RAW keeps the raw text for `column_to_arrow`."""
    out = []
    for field, target in zip(fields, schema.types):
        code = field.type_code
        if field.name in overrides or field.flags & (mt.ENUM_FLAG | mt.SET_FLAG):
            out.append(K_RAW)
        elif code == mt.TINY and pa.types.is_boolean(target):
            out.append(K_BOOL)
        elif code in _INT_CODES and target in _INT_KINDS:
            out.append(_INT_KINDS[target])
        elif code == mt.FLOAT and target == pa.float32():
            out.append(K_F32)
        elif code == mt.DOUBLE and target == pa.float64():
            out.append(K_F64)
        elif code in (mt.DATE, mt.NEWDATE) and target == pa.date32():
            out.append(K_DATE)
        elif code in _DATETIME_CODES and pa.types.is_timestamp(target) and target.unit == "us":
            out.append(K_DATETIME)
        else:
            out.append(K_RAW)
    return out


class NativeRows:
    """Batches of the open unbuffered result, decoded in C; the driver still owns the result."""

    def __init__(self, cext: Any, handle: int, fields: list[mt.FieldMeta], schema: pa.Schema,
                 column_kinds: list[int], export: str | None):
        lib = library()
        self._export = export
        # `cext` is kept referenced: the MYSQL struct and the result live inside it.
        self._lib, self._client, self._cext = lib.lib, lib.client, cext
        self._mysql = id(cext) + _HEAD  # `MYSQL session` is the object's first field
        self.fields, self.kinds = fields, column_kinds
        self._types = [mt.storage_type(f) if k == K_RAW else t
                       for f, k, t in zip(fields, column_kinds, schema.types)]
        array = (ctypes.c_int * len(column_kinds))(*column_kinds)
        self._reader = self._lib.myr_new(handle, lib.fetch_row, lib.fetch_lengths,
                                         len(column_kinds), array)
        if not self._reader:
            raise MemoryError("the MySQL row decoder could not allocate its state")

    def read(self, max_rows: int, max_bytes: int) -> tuple[pa.RecordBatch, bool]:
        """(the next batch, whether the result ended). A failed fetch raises `FetchFailed`."""
        status = self._lib.myr_read(self._reader, max_rows, max_bytes)
        if status == -3:
            col = ctypes.c_int()
            reason = self._lib.myr_error(self._reader, ctypes.byref(col)).decode(errors="replace")
            field = self.fields[col.value] if col.value >= 0 else None
            where = f"column '{field.name}' ({field.native_type()}): " if field else ""
            raise RivetSourceError(f"mysql: {where}cannot decode the row: {reason}",
                                   export=self._export)
        errno = self._client.mysql_errno(self._mysql) if status == 0 else 0
        if errno:
            message = self._client.mysql_error(self._mysql) or b""
            raise FetchFailed(int(errno), message.decode(errors="replace"))
        return self._batch(), status == 0

    def _batch(self) -> pa.RecordBatch:
        arrays = decoded_arrays(self._lib, "myr", self._reader, self._types)
        return pa.RecordBatch.from_arrays(arrays, names=[f"c{i}" for i in range(len(arrays))])

    def free(self) -> None:
        if self._reader:
            self._lib.myr_free(self._reader)
            self._reader = None


class FetchFailed(Exception):
    """The driver reported an error while streaming (the message is the server's)."""

    def __init__(self, errno: int, msg: str):
        super().__init__(msg)
        self.errno, self.msg = errno, msg


def open_rows(cext: Any, fields: list[mt.FieldMeta], schema: pa.Schema, overrides: Any,
              export: str | None) -> tuple[NativeRows | None, str]:
    """The C decoder over the extension's open result, or None and why it cannot read."""
    lib = library()
    if lib.lib is None:
        return None, lib.why
    if cext is None:
        return None, "mysql-connector's C extension is not in use"
    handle = _result_handle(cext, len(fields))
    if handle is None:
        return None, ("this mysql-connector build's result handle was not found "
                      f"({type(cext).__module__}, {type(cext).__basicsize__} bytes)")
    return NativeRows(cext, handle, fields, schema, kinds(fields, schema, overrides), export), ""


def row_limits(batch_size: int, batch_bytes: int) -> tuple[int, int]:
    """Rows and value bytes per decoded batch: the engine's rows (unbounded when the reader
    sizes by memory, until `auto_shrink` lowers them) and its bytes, or 8 MB of values."""
    return max(1, batch_size), batch_bytes if batch_bytes > 0 else _HINT_BYTES


def batches(rows: NativeRows, size: Callable[[], int],
            batch_bytes: int) -> Iterator[pa.RecordBatch]:
    """Decode until the result ends; `size()` is read before each batch (auto_shrink)."""
    ended = False
    while not ended:
        batch, ended = rows.read(*row_limits(size(), batch_bytes))
        if batch.num_rows:
            yield batch
