"""Human byte sizes ("256MB", "1GB", "100KB", 1048576) as Rivet writes them (binary units)."""

from __future__ import annotations

import re

_UNITS = {"": 1, "B": 1, "KB": 1024, "KIB": 1024, "K": 1024, "MB": 1024**2, "MIB": 1024**2,
          "M": 1024**2, "GB": 1024**3, "GIB": 1024**3, "G": 1024**3, "TB": 1024**4, "TIB": 1024**4}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")


def parse_byte_size(value: int | str) -> int:
    """Return the size in bytes; raise ValueError with the accepted forms otherwise."""
    if isinstance(value, bool):
        raise ValueError("expected a size such as '256MB' or a number of bytes, got a boolean")
    if isinstance(value, int):
        if value <= 0:
            raise ValueError("must be a positive number of bytes")
        return value
    match = _PATTERN.match(str(value))
    if not match or match.group(2).upper() not in _UNITS:
        raise ValueError(f"'{value}' is not a size; use e.g. '100KB', '256MB', '1GB' or bytes")
    size = int(float(match.group(1)) * _UNITS[match.group(2).upper()])
    if size <= 0:
        raise ValueError("must be a positive size")
    return size
