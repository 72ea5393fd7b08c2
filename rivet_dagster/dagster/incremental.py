"""Incremental mode: `WHERE cursor > :committed`, one increment folder per materialization.

State lives in the latest materialization's metadata (`rivet/cursor`, `rivet/increment`,
`rivet/epoch_start`, ...). The next increment's number is the committed one + 1, so a retry
after a crash rewrites the same folder; the cursor only advances through the materialization
that is stored after the increment's parts and manifest are durable. Each increment is
verified in the same materialization (source COUNT over the window vs rows written vs rows
read back) and `rivet/verified` advances only when that check passes.
"""

import datetime as dt
from collections.abc import Iterator
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext

from rivet_dagster.config.export import ExportConfig
from rivet_dagster.config.root import RivetConfig
from rivet_dagster.config.tuning_profiles import resolve_tuning
from rivet_dagster.dagster.io_managers import RivetIOManagerBase
from rivet_dagster.dagster.metadata import (
    COMMITTED, CURSOR, CURSOR_PREVIOUS, EPOCH_START, INCREMENT, MANIFEST, VERIFIED,
    as_metadata, column_schema, previous_metadata, run_figures,
)
from rivet_dagster.dagster.verification import rows_check, verify_written
from rivet_dagster.destinations.retention import drop_numbered_before
from rivet_dagster import engine  # engine.run_export loads pyarrow when an asset runs, not here
from rivet_dagster.engine import fault_point
from rivet_dagster.engine.cursor import Cursor, cursor_kind, to_cursor, window_sql
from rivet_dagster.errors import RivetConfigError
from rivet_dagster.sources import Source, create_source

INCREMENT_PREFIX = "increment-"
FULL_REFRESH_TAG = "rivet/full_refresh"


def increment_slot(number: int) -> str:
    return f"{INCREMENT_PREFIX}{number:06d}"


def resolve_cursor_kind(source: Source, config: RivetConfig, export: ExportConfig) -> str:
    """The cursor's kind from the query's schema (a LIMIT 0 probe); clear error if missing."""
    tuning = resolve_tuning(config.source, export.tuning)
    schema = source.describe(engine.build_request(export, tuning))
    assert export.cursor_column is not None
    names = schema.names
    for field_name in (export.cursor_column, export.cursor_fallback_column):
        if field_name is not None and field_name not in names:
            which = "cursor_column" if field_name == export.cursor_column else "cursor_fallback_column"
            raise RivetConfigError(
                f"'{field_name}' is not a column of the query's result (columns: "
                f"{', '.join(names)})", export=export.name, field=which)
    try:
        return cursor_kind(schema.field(export.cursor_column).type)
    except ValueError as exc:
        raise RivetConfigError(str(exc), export=export.name, field="cursor_column") from None


def probe_high_water(source: Source, config: RivetConfig, export: ExportConfig,
                     after: Cursor | None, kind: str) -> Cursor | None:
    """MAX(cursor) past the committed cursor: cheap on an indexed column, None if no new rows."""
    assert export.cursor_column is not None
    sql = window_sql(config.source.type, export.base_query(), export.cursor_column,
                     export.cursor_fallback_column, after, None)
    params = (after.bind_value(),) if after is not None else ()
    return to_cursor(kind, source.scalar(sql.max_probe, params, export=export.name))


def materialize_incremental(context: AssetExecutionContext, config: RivetConfig,
                            export: ExportConfig, io_manager: RivetIOManagerBase,
                            full_refresh: bool) -> Iterator[dg.MaterializeResult]:
    previous = previous_metadata(context)
    committed = int(previous.get(INCREMENT, 0) or 0)
    epoch_start = int(previous.get(EPOCH_START, 1) or 1)
    after = Cursor.from_json(previous.get(CURSOR))
    verified = previous.get(VERIFIED)
    if full_refresh:
        context.log.info(f"rivet: full refresh of '{export.name}': the cursor is cleared and "
                         f"increments before {committed + 1} are dropped after this commit")
        after, epoch_start, verified = None, committed + 1, None
    source = create_source(config.source)
    destination = io_manager.destination_for(export.destination, export.name, context.run_id)
    # increments before the committed epoch belong to a history that a full refresh replaced
    drop_numbered_before(destination, export.name, INCREMENT_PREFIX,
                         keep_from=int(previous.get(EPOCH_START, 1) or 1))
    kind = resolve_cursor_kind(source, config, export)
    high = probe_high_water(source, config, export, after, kind)
    state = {CURSOR_PREVIOUS: previous.get(CURSOR), EPOCH_START: epoch_start,
             "rivet/full_refresh": full_refresh}
    if high is None:
        context.log.info(f"rivet: export '{export.name}': no rows past cursor "
                         f"{after.display() if after else '(none)'}; nothing written")
        yield dg.MaterializeResult(
            metadata=_carry(previous, state | {
                CURSOR: after.to_json() if after else None,
                INCREMENT: committed, "dagster/row_count": 0, "rivet/skipped": True}),
            check_results=[rows_check(0, 0, 0, {"window": "empty"})])
        return
    number = committed + 1
    assert export.cursor_column is not None
    sql = window_sql(config.source.type, export.base_query(), export.cursor_column,
                     export.cursor_fallback_column, after, high)
    window = {"from": after.to_json() if after else None, "to": high.to_json()}
    result = engine.run_export(
        export, source, destination, tuning=resolve_tuning(config.source, export.tuning),
        slot=increment_slot(number), run_id=context.run_id, sql=sql.select, params=sql.params,
        drop_columns=[sql.synthetic_column] if sql.synthetic_column else (),
        manifest_extra={"cursor_window": window}, log=context.log)
    check = verify_written(source, sql.count, sql.params, result, io_manager, export,
                           {"window": window})
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    if check.passed:
        verified = {"boundary": high.to_json(), "increment": number, "run_id": context.run_id,
                    "at": now}
    metadata: dict[str, Any] = {
        **run_figures(result),
        "dagster/column_schema": column_schema(result.schema),
        CURSOR: dg.MetadataValue.json(high.to_json()),
        INCREMENT: dg.MetadataValue.int(number),
        COMMITTED: dg.MetadataValue.json({"boundary": high.to_json(), "increment": number,
                                          "run_id": context.run_id, "at": now}),
        VERIFIED: dg.MetadataValue.json(verified),
        "rivet/window": dg.MetadataValue.json(window),
        **{k: as_metadata(v) for k, v in state.items()},
    }
    if result.manifest_uri:
        metadata[MANIFEST] = dg.MetadataValue.path(result.manifest_uri)
    yield dg.MaterializeResult(metadata=metadata, check_results=[check])
    fault_point("after_commit")


def _carry(previous: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """Metadata of a run that wrote nothing: the committed state carried forward unchanged."""
    carried = {k: previous[k] for k in (MANIFEST, COMMITTED, VERIFIED, "rivet/window")
               if k in previous}
    return {k: as_metadata(v) for k, v in {**carried, **values}.items()}
