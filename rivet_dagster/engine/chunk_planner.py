"""Plan a chunked export: which key ranges (partitions) hold rows, with sparsity diagnostics.

Planning runs a few short aggregate queries (min/max/count, then one GROUP BY over window
numbers) so that only windows that hold rows become partitions: sparse ids produce no empty
partitions, and the counts give the density diagnostics for free. The layout (origin and
width) of the first plan is frozen: later plans only add windows for new rows.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from rivet_dagster.config.export import ExportConfig
from rivet_dagster.engine.chunk_ranges import (
    ChunkRange, aligned_window, count_size, day_windows, dense_windows, int_windows,
    is_chunk_key, merge_plan, parse_key,
)
from rivet_dagster.errors import RivetConfigError, RivetSourceError
from rivet_dagster.sources.base import Source
from rivet_dagster.sources.sql_quoting import quote_identifier

MEMORY_CHUNK_MIN, MEMORY_CHUNK_MAX = 10_000, 5_000_000
SPARSE_DENSITY = 0.1


@dataclass
class ChunkPlan:
    column: str
    ranges: list[ChunkRange]  # every window that holds rows (and `null` if any), sorted
    new_ranges: list[ChunkRange]  # those not yet partitions
    diagnostics: dict[str, Any] = field(default_factory=dict)

    @property
    def keys(self) -> list[str]:
        return [r.key for r in self.ranges]

    @property
    def new_keys(self) -> list[str]:
        return [r.key for r in self.new_ranges]


def chunk_filter(dialect: str, column: str, chunk: ChunkRange) -> tuple[str, tuple[Any, ...]]:
    """The WHERE clause (over `_rivet`) selecting exactly one partition's rows."""
    expr = f"_rivet.{quote_identifier(dialect, column)}"
    if chunk.kind == "null":
        return f"{expr} IS NULL", ()
    if chunk.kind == "int":
        return f"{expr} BETWEEN %s AND %s", (chunk.lo, chunk.hi)
    return f"{expr} >= %s AND {expr} < %s", (chunk.lo, chunk.hi)


def chunk_sql(dialect: str, base: str, column: str, chunk: ChunkRange) -> tuple[str, str, tuple[Any, ...]]:
    """(select, count, params) for one partition."""
    where, params = chunk_filter(dialect, column, chunk)
    source = f"({base}) AS _rivet"
    return (f"SELECT _rivet.* FROM {source} WHERE {where}",
            f"SELECT COUNT(*) FROM {source} WHERE {where}", params)


def detect_chunk_column(source: Source, dialect: str, export: ExportConfig) -> str:
    """A single-column integer primary key of `table:` (both engines)."""
    if export.chunk_column:
        return export.chunk_column
    if export.table is None:
        raise RivetConfigError("mode chunked needs chunk_column (auto-detection needs `table:`)",
                               export=export.name, field="chunk_column")
    schema, _, table = export.table.rpartition(".")
    if dialect == "postgres":
        rows = source.rows(
            "SELECT a.attname, format_type(a.atttypid, NULL) FROM pg_index i "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
            "WHERE i.indrelid = %s::regclass AND i.indisprimary", (export.table,))
        integer = {"smallint", "integer", "bigint"}
    else:
        rows = source.rows(
            "SELECT k.COLUMN_NAME, c.DATA_TYPE FROM information_schema.KEY_COLUMN_USAGE k "
            "JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = k.TABLE_SCHEMA "
            "AND c.TABLE_NAME = k.TABLE_NAME AND c.COLUMN_NAME = k.COLUMN_NAME "
            "WHERE k.CONSTRAINT_NAME = 'PRIMARY' AND k.TABLE_NAME = %s "
            "AND k.TABLE_SCHEMA = COALESCE(%s, DATABASE())", (table, schema or None))
        integer = {"tinyint", "smallint", "mediumint", "int", "bigint"}
    if len(rows) != 1 or str(rows[0][1]).lower() not in integer:
        found = ", ".join(f"{r[0]} ({r[1]})" for r in rows) or "none"
        raise RivetConfigError(
            f"cannot auto-detect the chunk column of {export.table}: it needs a single-column "
            f"integer primary key (found: {found}); set chunk_column", export=export.name,
            field="chunk_column")
    return str(rows[0][0])


def plan_chunks(source: Source, dialect: str, export: ExportConfig,
                existing_keys: list[str] | tuple[str, ...] = ()) -> ChunkPlan:
    column = detect_chunk_column(source, dialect, export)
    base = export.base_query()
    expr = f"_rivet.{quote_identifier(dialect, column)}"
    src = f"({base}) AS _rivet"
    stats = source.rows(f"SELECT COUNT(*), COUNT({expr}), MIN({expr}), MAX({expr}) FROM {src}")
    total, non_null, low, high = stats[0]
    total, non_null = int(total), int(non_null)
    existing = [parse_key(k) for k in existing_keys if k != "null" and is_chunk_key(k)]
    diagnostics: dict[str, Any] = {"chunk_column": column, "rows": total,
                                   "null_rows": total - non_null,
                                   "min": _json(low), "max": _json(high)}
    ranges: list[ChunkRange] = []
    if non_null:
        if export.chunk_by_days:
            ranges = _day_ranges(source, dialect, expr, src, export, low, high, existing)
        else:
            ranges = _int_ranges(source, dialect, expr, src, export, low, high, non_null,
                                 existing, diagnostics)
    if total > non_null:
        ranges.append(ChunkRange("null"))
    new = merge_plan(list(existing_keys), ranges)
    diagnostics.update(windows=len(ranges), new_windows=len(new))
    return ChunkPlan(column=column, ranges=ranges, new_ranges=new, diagnostics=diagnostics)


def _int_ranges(source: Source, dialect: str, expr: str, src: str, export: ExportConfig,
                low: Any, high: Any, non_null: int, existing: list[ChunkRange],
                diagnostics: dict[str, Any]) -> list[ChunkRange]:
    if not isinstance(low, int) or not isinstance(high, int):
        raise RivetConfigError(
            f"chunk column values must be integers (or use chunk_by_days for dates); got "
            f"{type(low).__name__}", export=export.name, field="chunk_column")
    if low < 0:
        raise RivetSourceError(
            f"the chunk column has negative values (min {low}); chunk keys cover 0..2^64-1, so "
            "offset the column in the query (e.g. SELECT id + 1000000 AS chunk_id, ...)",
            export=export.name, field="chunk_column")
    ints = [r for r in existing if r.kind == "int"]
    if export.chunk_dense:
        after = max((r.hi for r in ints), default=None)  # type: ignore[type-var]
        where = f"WHERE {expr} IS NOT NULL" + (" AND " + f"{expr} > %s" if after is not None else "")
        params = (after,) if after is not None else ()
        size = export.chunk_size
        rows = source.rows(
            f"SELECT v FROM (SELECT {expr} AS v, ROW_NUMBER() OVER (ORDER BY {expr}) AS rn "
            f"FROM {src} {where}) AS _d WHERE MOD(rn - 1, {int(size)}) = 0", params)
        diagnostics.update(strategy="dense", chunk_size=size)
        return [*ints, *dense_windows([int(r[0]) for r in rows], int(high))] if rows else ints
    size, origin = _layout(source, dialect, export, low, high, ints)
    windows = source.rows(
        f"SELECT ({expr} - %s) DIV %s AS w, COUNT(*) FROM {src} WHERE {expr} IS NOT NULL "
        "GROUP BY w" if dialect == "mysql" else
        f"SELECT ({expr} - %s) / %s AS w, COUNT(*) FROM {src} WHERE {expr} IS NOT NULL "
        "GROUP BY w", (origin, size))
    ranges = int_windows([int(w) for w, _ in windows], size, origin)
    span = high - low + 1
    span_windows = (aligned_window(high, size, origin).hi - aligned_window(low, size, origin).lo
                    + 1) // size
    density = non_null / span
    diagnostics.update(strategy="count" if export.chunk_count else "size", chunk_size=size,
                       origin=origin, density=round(density, 6),
                       empty_windows=span_windows - len(ranges),
                       sparse=density < SPARSE_DENSITY and span_windows > 10)
    if not ints and non_null <= size and len(ranges) > 1:
        # small table: one partition (still aligned, so a later plan extends it cleanly)
        diagnostics["downgraded_to_single_partition"] = True
        return [ChunkRange("int", ranges[0].lo, ranges[-1].hi)]
    return ranges


def _layout(source: Source, dialect: str, export: ExportConfig, low: int, high: int,
            ints: list[ChunkRange]) -> tuple[int, int]:
    """(width, origin). `chunk_size` is authoritative and aligned to 0; the derived layouts
    (chunk_count, chunk_size_memory_mb) are frozen by the existing partitions."""
    if export.chunk_count:
        if ints:
            first = min(ints)
            return int(first.hi) - int(first.lo) + 1, int(first.lo)  # type: ignore[arg-type]
        return count_size(low, high, export.chunk_count), low
    if export.chunk_size_memory_mb:
        if ints:
            widths = Counter(int(r.hi) - int(r.lo) + 1 for r in ints)  # type: ignore[arg-type]
            return widths.most_common(1)[0][0], 0
        return _memory_chunk_size(source, dialect, export), 0
    return export.chunk_size, 0


def _memory_chunk_size(source: Source, dialect: str, export: ExportConfig) -> int:
    """F58: chunk_size = budget / average row bytes (PostgreSQL `table:`), clamped."""
    if dialect != "postgres":
        raise RivetConfigError("chunk_size_memory_mb reads pg_relation_size: PostgreSQL only",
                               export=export.name, field="chunk_size_memory_mb")
    rows = source.rows("SELECT pg_relation_size(%s::regclass), reltuples FROM pg_class "
                       "WHERE oid = %s::regclass", (export.table, export.table))
    size_bytes, tuples = rows[0]
    per_row = max(1.0, float(size_bytes) / max(1.0, float(tuples)))
    budget = (export.chunk_size_memory_mb or 0) * 1024 * 1024
    return int(min(MEMORY_CHUNK_MAX, max(MEMORY_CHUNK_MIN, budget / per_row)))


def _day_ranges(source: Source, dialect: str, expr: str, src: str, export: ExportConfig,
                low: Any, high: Any, existing: list[ChunkRange]) -> list[ChunkRange]:
    first, last = _as_date(low, export), _as_date(high, export)
    days = int(export.chunk_by_days or 1)
    day_keys = [r for r in existing if r.kind == "days"]
    origin = min(day_keys).lo if day_keys else first
    assert isinstance(origin, dt.date)
    if dialect == "postgres":
        sql = (f"SELECT DISTINCT floor((CAST({expr} AS date) - CAST(%s AS date))::numeric / %s)"
               f"::int FROM {src} WHERE {expr} IS NOT NULL")
    else:
        sql = (f"SELECT DISTINCT FLOOR(DATEDIFF({expr}, %s) / %s) FROM {src} "
               f"WHERE {expr} IS NOT NULL")
    used = {int(r[0]) for r in source.rows(sql, (origin, days))}
    windows = day_windows(first, last, days, origin)
    return [w for w in windows
            if ((w.lo - origin).days // days) in used]  # type: ignore[operator]


def _as_date(value: Any, export: ExportConfig) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    raise RivetConfigError(f"chunk_by_days needs a date or timestamp column, got "
                           f"{type(value).__name__}", export=export.name, field="chunk_by_days")


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value
