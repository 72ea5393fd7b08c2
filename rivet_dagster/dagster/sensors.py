"""One refresh sensor per incremental export (default stopped).

Each tick asks the source for the highest cursor past the *committed* one (read from the
asset's latest materialization, never from the sensor's own cursor) and requests a run only
when there is one. The run_key names that high-water mark, so repeated ticks over the same
new rows request one run.
"""

import dagster as dg

from rivet_dagster.config.export import ExportConfig
from rivet_dagster.config.root import RivetConfig
from rivet_dagster.dagster.incremental import probe_high_water, resolve_cursor_kind
from rivet_dagster.dagster.metadata import CURSOR, latest_metadata
from rivet_dagster.engine.cursor import Cursor
from rivet_dagster.errors import RivetError
from rivet_dagster.sources import create_source

DEFAULT_INTERVAL_S = 300


def sensor_name(key: dg.AssetKey) -> str:
    return "rivet_refresh__" + "__".join(key.path)


def build_refresh_sensor(config: RivetConfig, export: ExportConfig,
                         key: dg.AssetKey) -> dg.SensorDefinition:
    interval = (export.dagster.sensor_interval_s or config.dagster.sensor_interval_s
                or DEFAULT_INTERVAL_S)

    @dg.sensor(name=sensor_name(key), asset_selection=[key], minimum_interval_seconds=interval,
               default_status=dg.DefaultSensorStatus.STOPPED,
               description=f"Requests a run of {key.to_user_string()} when its source has rows "
                           f"past the committed cursor ({export.cursor_column}).")
    def _refresh(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        committed = Cursor.from_json(latest_metadata(context.instance, key).get(CURSOR))
        source = create_source(config.source)
        try:
            kind = committed.kind if committed else resolve_cursor_kind(source, config, export)
            high = probe_high_water(source, config, export, committed, kind)
        except RivetError as exc:
            return dg.SkipReason(f"source probe failed: {exc}")
        if high is None:
            where = committed.display() if committed else "(nothing committed)"
            return dg.SkipReason(f"no rows past the committed cursor {where}")
        run_key = f"{export.name}:{high.display()}"
        return dg.SensorResult(
            run_requests=[dg.RunRequest(run_key=run_key, asset_selection=[key])],
            cursor=high.display())

    return _refresh
