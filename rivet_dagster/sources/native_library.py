"""The package's optional C decoders (`native/*.c`, built by `setup.py` at install time).

Both decoders export the same functions under their own prefix (`pgc_`, `myr_`): `new`,
`free`, `read`, `rows`, `nulls`, `buffer`, `error`. They are loaded with ctypes, which
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
        "buffer": (p, [p, ctypes.c_int, ctypes.c_int, ptr]),
        "error": (ctypes.c_char_p, [p, ctypes.POINTER(ctypes.c_int)]),
    }
    for suffix, (restype, argtypes) in signatures.items():
        function = getattr(lib, f"{prefix}_{suffix}")
        function.restype, function.argtypes = restype, argtypes
    return lib


def decoded_arrays(lib: Any, prefix: str, reader: int,
                   types: Sequence[pa.DataType]) -> list[pa.Array]:
    """The decoder's current batch as Arrow arrays of `types` (storage types: strings and
    binary take offsets). The buffers are copied out: the decoder reuses them."""
    rows = getattr(lib, f"{prefix}_rows")(reader)
    nulls_of, buffer_of = getattr(lib, f"{prefix}_nulls"), getattr(lib, f"{prefix}_buffer")
    size = ctypes.c_int64()

    def buffer(i: int, which: int) -> pa.Buffer:
        address = buffer_of(reader, i, which, ctypes.byref(size))
        return pa.py_buffer(ctypes.string_at(address, size.value) if size.value else b"")

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
