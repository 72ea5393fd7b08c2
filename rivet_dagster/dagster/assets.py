"""One Dagster asset per export (full mode).

The asset body drives the engine: it reads the committed state from the previous
materialization's metadata, streams the export into a new snapshot slot through the IO
manager's destination, and only then returns the `MaterializeResult` that commits it.
"""

import datetime as dt
import textwrap
from collections.abc import Iterator
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext

from rivet_dagster.config.export import ExportConfig
from rivet_dagster.config.root import RivetConfig
from rivet_dagster.config.tuning_profiles import resolve_tuning
from rivet_dagster.dagster.incremental import FULL_REFRESH_TAG, materialize_incremental
from rivet_dagster.dagster.verification import CHECK_NAME, rows_check, verify_written
from rivet_dagster.dagster.partitions import (
    build_partitions_def, partition_check_spec, partition_query, rolling_window_start,
    time_range_sql,
)
from rivet_dagster.dagster.io_managers import IO_MANAGER_KEYS, RivetIOManagerBase
from rivet_dagster.dagster.metadata import (
    MANIFEST, SNAPSHOT, VERIFIED, materialization_metadata, previous_metadata,
)
from rivet_dagster.destinations.retention import drop_numbered_before
from rivet_dagster import engine  # engine.run_export loads pyarrow when an asset runs, not here
from rivet_dagster.engine import fault_point
from rivet_dagster.errors import RivetError
from rivet_dagster.sources import Source, create_source
from rivet_dagster.sources.connection_url import pool_name

SNAPSHOT_PREFIX = "snapshot-"


class RivetRunConfig(dg.Config):
    """Run config of every rivet asset (launchpad, `--config-json`, RunRequest)."""

    full_refresh: bool = False
    """Incremental exports: forget the committed cursor and start a new history."""


def asset_key(config: RivetConfig, export: ExportConfig) -> dg.AssetKey:
    prefix = export.dagster.key_prefix or config.dagster.key_prefix or []
    parts = [prefix] if isinstance(prefix, str) else list(prefix)
    return dg.AssetKey([*parts, export.name])


def asset_description(config: RivetConfig, export: ExportConfig) -> str:
    text = export.dagster.description or config.dagster.description
    if text:
        return text
    sql = export.base_query()
    return (f"Rivet export `{export.name}` ({export.mode}) from {config.source.type} to "
            f"{export.format} at a {export.destination.type} destination.\n\n"
            f"```sql\n{textwrap.shorten(sql, 4000, placeholder=' ...') if len(sql) > 4000 else sql}\n```")


def build_export_asset(config: RivetConfig, export: ExportConfig) -> dg.AssetsDefinition:
    """The asset for one export; `config` supplies the source and the Dagster defaults."""
    rivet_config = config
    io_key = IO_MANAGER_KEYS[export.destination.type]
    tags = {**config.dagster.tags, **export.dagster.tags}
    source_kind = "postgres" if config.source.type == "postgres" else "mysql"
    key = asset_key(config, export)
    partitions_def = build_partitions_def(config, export, key)
    check_specs = None
    if export.mode == "incremental":
        check_specs = [dg.AssetCheckSpec(
            CHECK_NAME, asset=key,
            description="Source COUNT(*) over the increment's cursor window equals the rows "
                        "written and the rows read back from the committed parts.")]
    elif partitions_def is not None:
        check_specs = [partition_check_spec(key, partitions_def)]

    @dg.asset(
        key=key,
        check_specs=check_specs,
        partitions_def=partitions_def,
        pool=export.source_group or pool_name(config.source),
        group_name=export.dagster.group or config.dagster.group or "rivet",
        kinds={source_kind, export.format},
        description=asset_description(config, export),
        io_manager_key=io_key,
        required_resource_keys={io_key},
        tags=tags or None,
        metadata={"rivet/export": export.name, "rivet/mode": export.mode,
                  "rivet/destination": export.destination.type},
    )
    def _export_asset(context: AssetExecutionContext,
                      config: RivetRunConfig) -> Iterator[dg.MaterializeResult]:
        io_manager: RivetIOManagerBase = getattr(context.resources, io_key)
        try:
            if export.mode == "incremental":
                full_refresh = (config.full_refresh
                                or context.run.tags.get(FULL_REFRESH_TAG, "").lower() == "true")
                yield from materialize_incremental(context, rivet_config, export, io_manager,
                                                   full_refresh)
            else:
                yield _materialize_snapshot(context, rivet_config, export, io_manager)
                fault_point("after_commit")
        except RivetError as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from None

    return _export_asset


def _materialize_snapshot(context: AssetExecutionContext, config: RivetConfig,
                          export: ExportConfig, io_manager: RivetIOManagerBase
                          ) -> dg.MaterializeResult:
    """Full mode, one chunk or time partition, or a rolling window: a complete snapshot."""
    source = create_source(config.source)
    scope = context.partition_key if context.has_partition_key else ""
    previous = previous_metadata(context)
    committed = int(previous.get(SNAPSHOT, 0) or 0)
    snapshot = committed + 1
    sql, params, verify = _snapshot_query(context, config, export, source)
    destination = io_manager.destination_for(export.destination, export.name, context.run_id)
    folder = f"{export.name}/{scope}" if scope else export.name
    # snapshots older than the committed one: a reader may still use the committed one
    drop_numbered_before(destination, folder, SNAPSHOT_PREFIX, keep_from=committed)
    slot = f"{scope}/{SNAPSHOT_PREFIX}{snapshot:06d}" if scope else f"{SNAPSHOT_PREFIX}{snapshot:06d}"
    result = engine.run_export(
        export, source, destination, tuning=resolve_tuning(config.source, export.tuning),
        slot=slot, run_id=context.run_id, sql=sql, params=params, log=context.log,
        manifest_extra={"range": verify[2]} if verify else None)
    if result.skipped:
        context.log.info(f"rivet: export '{export.name}' returned 0 rows and skip_empty is set; "
                         f"snapshot {committed} stays the committed one")
        metadata: dict[str, Any] = {
            "dagster/row_count": dg.MetadataValue.int(0),
            "rivet/skipped": dg.MetadataValue.bool(True),
            SNAPSHOT: dg.MetadataValue.int(committed),
        }
        for name in (MANIFEST, "rivet/files", "rivet/committed", VERIFIED):
            if name in previous:
                metadata[name] = previous[name]
        checks = [rows_check(0, 0, 0, {"range": verify[2]})] if verify else []
        return dg.MaterializeResult(metadata=metadata, check_results=checks)
    metadata = materialization_metadata(result, snapshot=snapshot, run_id=context.run_id,
                                        previous=previous)
    if verify is None:
        return dg.MaterializeResult(metadata=metadata)
    count_sql, count_params, window = verify
    check = verify_written(source, count_sql, count_params, result, io_manager, export,
                           {"range": window})
    if check.passed:
        metadata[VERIFIED] = dg.MetadataValue.json(
            {"boundary": window, "snapshot": snapshot, "run_id": context.run_id,
             "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")})
    metadata["rivet/range"] = dg.MetadataValue.json(window)
    return dg.MaterializeResult(metadata=metadata, check_results=[check])


def _snapshot_query(context: AssetExecutionContext, config: RivetConfig, export: ExportConfig,
                    source: Source) -> tuple[str | None, tuple[Any, ...],
                                         tuple[str, tuple[Any, ...], dict[str, Any]] | None]:
    """(sql, params, (count sql, count params, range) or None) for this materialization."""
    if context.has_partition_key:
        select, count, params, window = partition_query(context, config, export, source)
        return select, params, (count, params, window)
    if export.mode == "time_window" and export.days_window:
        start = rolling_window_start(export.days_window)
        select, _, params, window = time_range_sql(config.source.type, export.base_query(),
                                                    export, start, None)
        context.log.info(f"rivet: rolling window of {export.days_window} day(s) from {start}Z")
        return select, params, None
    return None, (), None
