"""Partitioned exports: chunk ranges as dynamic partitions, time windows as time partitions.

A partition's materialization exports exactly its range in its own short transaction into
`<export>/<partition key>/snapshot-<n>/`, where n is that partition's committed snapshot + 1
(a re-run replaces its own files and never duplicates them; readers keep the committed
snapshot until the new one is committed), then verifies itself: COUNT(*) over the range at
the source, rows written and rows read back must agree (`rows_match_source`).
"""

import datetime as dt
import re
import warnings
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext

from rivet_dagster.config.export import ExportConfig
from rivet_dagster.config.root import RivetConfig
from rivet_dagster.engine.chunk_planner import chunk_sql, detect_chunk_column
from rivet_dagster.engine.chunk_ranges import parse_key
from rivet_dagster.sources import Source
from rivet_dagster.dagster.verification import CHECK_NAME
from rivet_dagster.sources.sql_quoting import quote_identifier



def partitions_def_name(key: dg.AssetKey) -> str:
    """Global in the instance and never renamed: it is the storage key of the partitions."""
    return "rivet_" + "_".join(re.sub(r"[^a-z0-9_]", "_", p.lower()) for p in key.path) + "_chunks"


def build_partitions_def(config: RivetConfig, export: ExportConfig,
                         key: dg.AssetKey) -> dg.PartitionsDefinition | None:
    if export.mode == "chunked":
        return dg.DynamicPartitionsDefinition(name=partitions_def_name(key))
    if export.mode == "time_window" and not export.days_window:
        start = export.dagster.partition_start or config.dagster.partition_start
        granularity = (export.dagster.time_partitions if "time_partitions" in
                       export.dagster.model_fields_set else config.dagster.time_partitions)
        assert start is not None
        if granularity == "hourly":
            fmt_start = start if len(start) > 10 else f"{start}-00:00"
            return dg.HourlyPartitionsDefinition(start_date=fmt_start, timezone="UTC")
        return dg.DailyPartitionsDefinition(start_date=start[:10], timezone="UTC")
    return None


def partition_check_spec(key: dg.AssetKey,
                         partitions_def: dg.PartitionsDefinition) -> dg.AssetCheckSpec:
    with warnings.catch_warnings():  # partitioned check specs are a preview API in 1.13
        warnings.simplefilter("ignore")
        return dg.AssetCheckSpec(
            CHECK_NAME, asset=key, partitions_def=partitions_def,
            description="Source COUNT(*) over the partition's range equals the rows written and "
                        "the rows read back from the committed parts.")


def partition_query(context: AssetExecutionContext, config: RivetConfig, export: ExportConfig,
                    source: Source) -> tuple[str, str, tuple[Any, ...], dict[str, Any]]:
    """(select, count, params, range) for the partition being materialized."""
    dialect = config.source.type
    base = export.base_query()
    if export.mode == "chunked":
        chunk = parse_key(context.partition_key)
        column = detect_chunk_column(source, dialect, export)
        select, count, params = chunk_sql(dialect, base, column, chunk)
        return select, count, params, {"column": column, **chunk.to_json()}
    window = context.partition_time_window
    start, end = _utc_naive(window.start), _utc_naive(window.end)
    return time_range_sql(dialect, base, export, start, end)


def time_range_sql(dialect: str, base: str, export: ExportConfig, start: dt.datetime,
                   end: dt.datetime | None) -> tuple[str, str, tuple[Any, ...], dict[str, Any]]:
    """`time_column` in [start, end) (end None: open-ended, the rolling `days_window`)."""
    assert export.time_column is not None
    expr = f"_rivet.{quote_identifier(dialect, export.time_column)}"
    if export.time_column_type == "unix":
        bounds: list[Any] = [int(start.replace(tzinfo=dt.timezone.utc).timestamp())]
        if end is not None:
            bounds.append(int(end.replace(tzinfo=dt.timezone.utc).timestamp()))
    else:
        bounds = [start] + ([end] if end is not None else [])
    where = f"{expr} >= %s" + (f" AND {expr} < %s" if end is not None else "")
    source = f"({base}) AS _rivet"
    window = {"column": export.time_column, "kind": "time", "lo": start.isoformat() + "Z",
              "hi": end.isoformat() + "Z" if end is not None else None}
    return (f"SELECT _rivet.* FROM {source} WHERE {where}",
            f"SELECT COUNT(*) FROM {source} WHERE {where}", tuple(bounds), window)


def rolling_window_start(days: int, now: dt.datetime | None = None) -> dt.datetime:
    """Rivet F65: UTC midnight of (now - N days), naive UTC."""
    now = now or dt.datetime.now(dt.timezone.utc)
    day = (now - dt.timedelta(days=days)).date()
    return dt.datetime(day.year, day.month, day.day)


def _utc_naive(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.timezone.utc).replace(tzinfo=None)
