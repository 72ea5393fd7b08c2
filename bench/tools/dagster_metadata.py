"""After a `dagster asset materialize`: print the materialization's rivet/* metadata as JSON.

    DAGSTER_HOME=<dir> <project .venv>/bin/python bench/tools/dagster_metadata.py ASSET_NAME

Run outside the measured process: it separates the engine's own duration (`rivet/duration_s`)
and the run's duration as Dagster records it (RUN_START to RUN_SUCCESS, what the UI shows)
from the process start-up around them.
"""

import json
import sys

import dagster as dg

with dg.DagsterInstance.get() as instance:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(sys.argv[1])), limit=1).records
    if not records or records[0].asset_materialization is None:
        print(json.dumps({"error": "no materialization recorded"}))
        sys.exit(1)
    md = {k: v.value for k, v in records[0].asset_materialization.metadata.items()}
    run = instance.get_run_record_by_id(records[0].run_id)
    run_s = (run.end_time - run.start_time) if run and run.start_time and run.end_time else None
    files = [f["uri"].removeprefix("file://") for f in (md.get("rivet/files") or [])]
    print(json.dumps({"rows": md.get("dagster/row_count"),
                      "engine_duration_s": md.get("rivet/duration_s"),
                      "engine_peak_rss_mb": md.get("rivet/peak_rss_mb"),
                      "run_duration_s": round(run_s, 3) if run_s else None, "files": files}))
