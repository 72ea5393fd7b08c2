"""One Dagster asset per export (full mode).

The asset body drives the engine: it reads the committed state from the previous
materialization's metadata, streams the export into a new snapshot slot through the IO
manager's destination, and only then returns the `MaterializeResult` that commits it.
"""

import textwrap
from collections.abc import Iterator
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext

from rivet_dagster.config.export import ExportConfig
from rivet_dagster.config.root import RivetConfig
from rivet_dagster.config.tuning_profiles import resolve_tuning
from rivet_dagster.dagster.incremental import CHECK_NAME, FULL_REFRESH_TAG, materialize_incremental
from rivet_dagster.dagster.io_managers import IO_MANAGER_KEYS, RivetIOManagerBase
from rivet_dagster.dagster.metadata import (
    MANIFEST, SNAPSHOT, materialization_metadata, previous_metadata,
)
from rivet_dagster.destinations import Destination
from rivet_dagster.engine import run_export
from rivet_dagster.errors import RivetError
from rivet_dagster.sources import create_source

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
    check_specs = None
    if export.mode == "incremental":
        check_specs = [dg.AssetCheckSpec(
            CHECK_NAME, asset=key,
            description="Source COUNT(*) over the increment's cursor window equals the rows "
                        "written and the rows read back from the committed parts.")]

    @dg.asset(
        key=key,
        check_specs=check_specs,
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
                yield _materialize_full(context, rivet_config, export, io_manager)
        except RivetError as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from None

    return _export_asset


def _materialize_full(context: AssetExecutionContext, config: RivetConfig, export: ExportConfig,
                      io_manager: RivetIOManagerBase) -> dg.MaterializeResult:
    previous = previous_metadata(context)
    committed = int(previous.get(SNAPSHOT, 0) or 0)
    snapshot = committed + 1
    destination = io_manager.destination_for(export.destination, export.name, context.run_id)
    if destination.keeps_files:
        _drop_stale_snapshots(destination, export.name, keep_from=committed)
    result = run_export(
        export, create_source(config.source), destination,
        tuning=resolve_tuning(config.source, export.tuning),
        slot=f"{SNAPSHOT_PREFIX}{snapshot:06d}", run_id=context.run_id, log=context.log)
    if result.skipped:
        context.log.info(f"rivet: export '{export.name}' returned 0 rows and skip_empty is set; "
                         f"snapshot {committed} stays the committed one")
        metadata: dict[str, Any] = {
            "dagster/row_count": dg.MetadataValue.int(0),
            "rivet/skipped": dg.MetadataValue.bool(True),
            SNAPSHOT: dg.MetadataValue.int(committed),
        }
        for key in (MANIFEST, "rivet/files", "rivet/committed", "rivet/verified"):
            if key in previous:
                metadata[key] = previous[key]
        return dg.MaterializeResult(metadata=metadata)
    return dg.MaterializeResult(metadata=materialization_metadata(
        result, snapshot=snapshot, run_id=context.run_id, previous=previous))


def _drop_stale_snapshots(destination: Destination, export: str, keep_from: int) -> None:
    """Remove snapshots older than the committed one (a reader may still use that one)."""
    for name in destination.list_dir(export):
        if name.startswith(SNAPSHOT_PREFIX):
            try:
                number = int(name[len(SNAPSHOT_PREFIX):])
            except ValueError:
                continue
            if number < keep_from:
                destination.remove_dir(f"{export}/{name}")
