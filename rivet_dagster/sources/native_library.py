"""The package's optional C decoders (`native/*.c`, built by `setup.py` at install time).

Both decoders export the same functions under their own prefix (`pgc_`, `myr_`): `new`,
`free`, `read`, `rows`, `nulls`, `take`, `error`. They are loaded with ctypes, which
releases the GIL for every call, so a decoding thread overlaps the export's encoding.
"""

from __future__ import annotations

import ctypes
import glob
import importlib.machinery
import os
from collections.abc import Sequence
from typing import Any

import pyarrow as pa


def built_library(name: str) -> str:
    """The path of `rivet_dagster/<name>.<suffix>`; OSError saying why when it was not built."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        found = glob.glob(os.path.join(here, name + suffix))
        if found:
            return found[0]
    raise OSError(f"the C decoder rivet_dagster/{name} was not built at install time "
                  f"(a C compiler is needed: apt install gcc, then reinstall)")


def load_decoder(name: str, prefix: str) -> Any:
    """The decoder library with its functions' signatures declared."""
    lib = ctypes.CDLL(built_library(name))
    p, i64, ptr = ctypes.c_void_p, ctypes.c_int64, ctypes.POINTER(ctypes.c_int64)
    signatures: dict[str, tuple[Any, list[Any]]] = {
        "new": (p, [p, p, p, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]),
        "free": (None, [p]),
        "read": (ctypes.c_int, [p, i64, i64]),
        "rows": (i64, [p]),
        "nulls": (i64, [p, ctypes.c_int]),
        "take": (p, [p, ctypes.c_int, ctypes.c_int, ptr]),
        "error": (ctypes.c_char_p, [p, ctypes.POINTER(ctypes.c_int)]),
    }
    for suffix, (restype, argtypes) in signatures.items():
        function = getattr(lib, f"{prefix}_{suffix}")
        function.restype, function.argtypes = restype, argtypes
    return lib


class _Malloced:
    """Owner of memory a decoder handed over: freed when Arrow lets go of the buffer."""

    __slots__ = ("address",)

    def __init__(self, address: int):
        self.address = address

    def __del__(self) -> None:
        _free(self.address)


_free = ctypes.CDLL(None).free  # the C library's, which the decoders' malloc belongs to
_free.argtypes, _free.restype = [ctypes.c_void_p], None


def decoded_arrays(lib: Any, prefix: str, reader: int,
                   types: Sequence[pa.DataType]) -> list[pa.Array]:
    """The decoder's current batch as Arrow arrays of `types` (storage types: strings and
    binary take offsets). The buffers are taken over, not copied (see arrow_columns.h)."""
    rows = getattr(lib, f"{prefix}_rows")(reader)
    nulls_of, take = getattr(lib, f"{prefix}_nulls"), getattr(lib, f"{prefix}_take")
    size = ctypes.c_int64()

    def buffer(i: int, which: int) -> pa.Buffer:
        address = take(reader, i, which, ctypes.byref(size))
        if not address:
            return pa.py_buffer(b"")
        return pa.foreign_buffer(address, size.value, base=_Malloced(address))

    arrays = []
    for i, storage in enumerate(types):
        nulls = nulls_of(reader, i)
        validity = buffer(i, 0) if nulls else None
        if pa.types.is_string(storage) or pa.types.is_binary(storage):
            parts = [validity, buffer(i, 2), buffer(i, 1)]
        else:
            parts = [validity, buffer(i, 1)]
        arrays.append(pa.Array.from_buffers(storage, rows, parts, null_count=nulls))
    return arrays
