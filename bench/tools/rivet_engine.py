"""rivet-dagster's engine, no Dagster: run one export of a rivet YAML and print a JSON summary.

    <project .venv>/bin/python bench/tools/rivet_engine.py CONFIG.yaml EXPORT_NAME

The same calls as tests/integration/engine/run_export_subprocess.py (and as the Dagster asset
body): load_config -> create_source / create_destination -> run_export.
"""

import json
import sys

import rivet_dagster  # noqa: F401  (loads native extensions in the right order)
from rivet_dagster.config import load_config, resolve_tuning
from rivet_dagster.destinations import create_destination
from rivet_dagster.engine import run_export
from rivet_dagster.sources import create_source

config = load_config(sys.argv[1])
export = config.export(sys.argv[2])
tuning = resolve_tuning(config.source, export.tuning)
result = run_export(export, create_source(config.source),
                    create_destination(export.destination, export.name),
                    tuning=tuning, slot="snapshot-000001")
print(json.dumps({"rows": result.rows, "engine_duration_s": round(result.duration_s, 3),
                  "engine_peak_rss_mb": round(result.peak_rss_mb, 1), "batches": result.batches,
                  "profile": tuning.profile, "batch_size": tuning.batch_size,
                  "throttle_ms": tuning.throttle_ms,
                  "files": [f"{result.destination_uri}/{p.path}".removeprefix("file://")
                            for p in result.parts]}))
