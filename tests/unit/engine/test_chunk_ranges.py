"""Chunk keys and range math as pure cases."""

import datetime as dt

import pytest

from rivet_dagster.engine.chunk_ranges import (
    ChunkRange, LayoutChanged, aligned_window, count_size, day_windows, dense_windows,
    int_windows, merge_plan, parse_key,
)


def test_keys_round_trip_and_sort_numerically():
    ranges = [ChunkRange("int", 0, 99), ChunkRange("int", 100, 199), ChunkRange("int", 2**62, 2**62 + 99),
              ChunkRange("int", 2**64 - 100, 2**64 - 1)]
    keys = [r.key for r in ranges]
    assert keys == sorted(keys)
    assert [parse_key(k) for k in keys] == ranges
    assert all(set(k) <= set("0123456789-") for k in keys)
    day = ChunkRange("days", dt.date(2024, 1, 1), dt.date(2024, 1, 8))
    assert day.key == "d20240101-20240108" and parse_key(day.key) == day
    assert parse_key("null") == ChunkRange("null")


@pytest.mark.parametrize("bad", ["", "1-2", "x", "d2024-01", "00000000000000000001"])
def test_foreign_keys_are_rejected(bad):
    with pytest.raises(ValueError):
        parse_key(bad)


def test_windows():
    assert aligned_window(0, 100) == ChunkRange("int", 0, 99)
    assert aligned_window(199, 100, origin=0) == ChunkRange("int", 100, 199)
    assert aligned_window(5, 10, origin=1) == ChunkRange("int", 1, 10)
    assert int_windows([3, 0, 3], 10, 0) == [ChunkRange("int", 0, 9), ChunkRange("int", 30, 39)]
    assert count_size(1, 100, 7) == 15 and count_size(5, 5, 3) == 1
    assert dense_windows([10, 40, 70], 95) == [
        ChunkRange("int", 10, 39), ChunkRange("int", 40, 69), ChunkRange("int", 70, 95)]
    days = day_windows(dt.date(2024, 1, 3), dt.date(2024, 1, 10), 7, origin=dt.date(2024, 1, 1))
    assert [d.key for d in days] == ["d20240101-20240108", "d20240108-20240115"]


def test_overlap_and_within():
    a, b = ChunkRange("int", 0, 99), ChunkRange("int", 50, 149)
    assert a.overlaps(b) and b.overlaps(a) and not a.within(b)
    assert ChunkRange("int", 10, 20).within(a)
    d1 = ChunkRange("days", dt.date(2024, 1, 1), dt.date(2024, 1, 8))
    d2 = ChunkRange("days", dt.date(2024, 1, 8), dt.date(2024, 1, 15))
    assert not d1.overlaps(d2)  # half-open


def test_merge_adds_only_new_and_refuses_partial_overlap():
    existing = [ChunkRange("int", 0, 999).key, "null"]
    new = merge_plan(existing, [ChunkRange("int", 0, 999), ChunkRange("int", 100, 199),
                                ChunkRange("int", 1000, 1999), ChunkRange("null")])
    assert new == [ChunkRange("int", 1000, 1999)]
    with pytest.raises(LayoutChanged, match="overlaps existing partition"):
        merge_plan(existing, [ChunkRange("int", 500, 1499)])
