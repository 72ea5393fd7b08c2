"""Chunk ranges and their partition keys: pure math, no I/O.

Keys are stable and sortable strings made of `[0-9a-z-]` only:
- integer ranges `00000000000000000001-00000000000000100000` (inclusive, 20 digits, so any
  non-negative bigint up to 2^64-1 fits and lexical order is numeric order);
- day windows `d20240101-20240108` (half-open: the end day is not included);
- `null` for the rows whose chunk column is NULL (Rivet 0.8.1 silently dropped them).

A plan never renames or moves an existing key: new keys are only ever added beside the
existing ones, and a candidate that partly overlaps an existing key is refused (the layout
changed), because two partitions covering the same rows would duplicate them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

NULL_KEY = "null"
_DIGITS = 20


@dataclass(frozen=True, order=True)
class ChunkRange:
    """`kind` is "int" (inclusive lo..hi), "days" (half-open [lo, hi)) or "null"."""

    kind: str
    lo: int | dt.date | None = None
    hi: int | dt.date | None = None

    @property
    def key(self) -> str:
        if self.kind == "null":
            return NULL_KEY
        if self.kind == "int":
            assert isinstance(self.lo, int) and isinstance(self.hi, int)
            return f"{self.lo:0{_DIGITS}d}-{self.hi:0{_DIGITS}d}"
        assert isinstance(self.lo, dt.date) and isinstance(self.hi, dt.date)
        return f"d{self.lo:%Y%m%d}-{self.hi:%Y%m%d}"

    def overlaps(self, other: "ChunkRange") -> bool:
        if self.kind != other.kind or self.kind == "null":
            return self.kind == other.kind == "null"
        assert self.lo is not None and self.hi is not None
        assert other.lo is not None and other.hi is not None
        if self.kind == "int":
            return not (self.hi < other.lo or other.hi < self.lo)  # type: ignore[operator]
        return self.lo < other.hi and other.lo < self.hi  # type: ignore[operator]

    def within(self, other: "ChunkRange") -> bool:
        if self.kind != other.kind:
            return False
        if self.kind == "null":
            return True
        return other.lo <= self.lo and self.hi <= other.hi  # type: ignore[operator]

    def to_json(self) -> dict[str, object]:
        lo = self.lo.isoformat() if isinstance(self.lo, dt.date) else self.lo
        hi = self.hi.isoformat() if isinstance(self.hi, dt.date) else self.hi
        return {"kind": self.kind, "lo": lo, "hi": hi}


def parse_key(key: str) -> ChunkRange:
    """The range a partition key stands for; ValueError for a key this module did not make."""
    if key == NULL_KEY:
        return ChunkRange("null")
    if key.startswith("d"):
        lo, _, hi = key[1:].partition("-")
        try:
            return ChunkRange("days", dt.datetime.strptime(lo, "%Y%m%d").date(),
                              dt.datetime.strptime(hi, "%Y%m%d").date())
        except ValueError:
            raise ValueError(f"'{key}' is not a chunk partition key") from None
    lo, sep, hi = key.partition("-")
    if not sep or not lo.isdigit() or not hi.isdigit() or len(lo) != _DIGITS:
        raise ValueError(f"'{key}' is not a chunk partition key")
    return ChunkRange("int", int(lo), int(hi))


def aligned_window(value: int, size: int, origin: int = 0) -> ChunkRange:
    """The window of width `size` (aligned to `origin`) that holds `value`."""
    index = (value - origin) // size
    lo = origin + index * size
    return ChunkRange("int", lo, lo + size - 1)


def int_windows(window_indexes: Iterable[int], size: int, origin: int = 0) -> list[ChunkRange]:
    """Windows for the given indexes (e.g. the non-empty ones from a GROUP BY)."""
    return [ChunkRange("int", origin + i * size, origin + (i + 1) * size - 1)
            for i in sorted(set(window_indexes))]


def count_size(lo: int, hi: int, count: int) -> int:
    """chunk_count: the width that splits [lo, hi] into `count` windows."""
    return max(1, math.ceil((hi - lo + 1) / count))


def day_windows(first: dt.date, last: dt.date, days: int, origin: dt.date | None = None
                ) -> list[ChunkRange]:
    """Half-open N-day windows from `origin` (default: `first`) covering [first, last]."""
    origin = origin or first
    start = origin + dt.timedelta(days=((first - origin).days // days) * days)
    out = []
    while start <= last:
        end = start + dt.timedelta(days=days)
        out.append(ChunkRange("days", start, end))
        start = end
    return out


def dense_windows(boundaries: Sequence[int], max_value: int) -> list[ChunkRange]:
    """Windows between consecutive boundary values (each the first value of a chunk)."""
    starts = sorted(set(boundaries))
    return [ChunkRange("int", lo, (starts[i + 1] - 1) if i + 1 < len(starts) else max_value)
            for i, lo in enumerate(starts)]


class LayoutChanged(ValueError):
    """A planned window partly overlaps an existing partition."""


def merge_plan(existing: Sequence[str], candidates: Sequence[ChunkRange]) -> list[ChunkRange]:
    """The candidates that are new; those already covered are dropped; partial overlap fails."""
    current = [parse_key(k) for k in existing if is_chunk_key(k)]
    new: list[ChunkRange] = []
    for candidate in candidates:
        if candidate.key in existing or any(candidate.within(c) for c in current):
            continue
        clash = [c for c in current if c.overlaps(candidate)]
        if clash:
            raise LayoutChanged(
                f"planned chunk {candidate.key} overlaps existing partition {clash[0].key}; "
                "the chunk layout (chunk_size, chunk_count, chunk_by_days or the origin) "
                "changed since the partitions were created. Keep the old settings, or delete "
                "the partitions and plan again")
        new.append(candidate)
    return new


def is_chunk_key(key: str) -> bool:
    """True for a key this module made (other keys of a partitions def are ignored)."""
    try:
        parse_key(key)
    except ValueError:
        return False
    return True
