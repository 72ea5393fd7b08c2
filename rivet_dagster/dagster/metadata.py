"""Materialization metadata: the `rivet/...` keys (documented in docs/state.md).

The metadata of the latest materialization is the export's state store: the next run reads
its committed snapshot number (and, for incremental exports, the cursor) back from the
instance, so there is no second place where state could diverge.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import dagster as dg

if TYPE_CHECKING:  # annotations only: loading the definitions must not import pyarrow
    import pyarrow as pa

    from rivet_dagster.engine import ExportResult

SNAPSHOT = "rivet/snapshot"
MANIFEST = "rivet/manifest"
FILES = "rivet/files"
COMMITTED = "rivet/committed"
VERIFIED = "rivet/verified"
CURSOR = "rivet/cursor"
CURSOR_PREVIOUS = "rivet/cursor_previous"
INCREMENT = "rivet/increment"
EPOCH_START = "rivet/epoch_start"


def latest_metadata(instance: dg.DagsterInstance, key: dg.AssetKey,
                    partition: str | None = None) -> dict[str, Any]:
    """Plain values of the latest materialization's metadata (of one partition), or {}."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition] if partition else None),
        limit=1).records
    if not records or records[0].asset_materialization is None:
        return {}
    return {k: v.value for k, v in records[0].asset_materialization.metadata.items()}


def previous_metadata(context: dg.AssetExecutionContext) -> dict[str, Any]:
    """The state this materialization starts from: the asset's (partition's) latest metadata."""
    return latest_metadata(context.instance, context.asset_key,
                           context.partition_key if context.has_partition_key else None)


def as_metadata(value: Any) -> Any:
    """Dicts, lists and None as JSON metadata; anything else as Dagster normalises it."""
    return dg.MetadataValue.json(value) if value is None or isinstance(value, (dict, list)) else value


def column_schema(schema: pa.Schema) -> dg.TableSchema:
    return dg.TableSchema(columns=[
        dg.TableColumn(name=f.name, type=str(f.type),
                       description=(f.metadata or {}).get(b"rivet.native_type", b"").decode()
                       or None)
        for f in schema])


def run_figures(result: ExportResult) -> dict[str, Any]:
    """Rows, files and the run's cost: the same keys for every mode."""
    files = [{"uri": f"{result.destination_uri}/{p.path}", "rows": p.rows, "bytes": p.bytes,
              "content_hash": p.content_hash} for p in result.parts]
    metadata: dict[str, Any] = {
        "dagster/row_count": dg.MetadataValue.int(result.rows),
        FILES: dg.MetadataValue.json(files),
        "rivet/part_count": dg.MetadataValue.int(len(result.parts)),
        "rivet/bytes": dg.MetadataValue.int(result.bytes),
        "rivet/duration_s": dg.MetadataValue.float(round(result.duration_s, 3)),
        "rivet/rows_per_s": dg.MetadataValue.float(round(result.rows_per_s, 1)),
        "rivet/peak_rss_mb": dg.MetadataValue.float(round(result.peak_rss_mb, 1)),
    }
    if result.manifest_uri:
        metadata["dagster/uri"] = dg.MetadataValue.path(result.destination_uri)
    return metadata


def materialization_metadata(result: ExportResult, *, snapshot: int, run_id: str,
                             previous: dict[str, Any]) -> dict[str, Any]:
    committed = {"boundary": result.slot, "run_id": run_id,
                 "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    metadata: dict[str, Any] = {
        **run_figures(result),
        "dagster/column_schema": column_schema(result.schema),
        SNAPSHOT: dg.MetadataValue.int(snapshot),
        COMMITTED: dg.MetadataValue.json(committed),
        VERIFIED: dg.MetadataValue.json(previous.get(VERIFIED)),
    }
    if result.manifest_uri:
        metadata[MANIFEST] = dg.MetadataValue.path(result.manifest_uri)
    return metadata
