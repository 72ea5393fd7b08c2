"""Run one export in a fresh interpreter and print its result as JSON (for RSS checks)."""

import json
import sys

import rivet_dagster  # noqa: F401  (loads native extensions in the right order)
from rivet_dagster.config import load_config, resolve_tuning
from rivet_dagster.destinations import create_destination
from rivet_dagster.engine import run_export
from rivet_dagster.sources import create_source

config = load_config(sys.argv[1])
export = config.export(sys.argv[2])
result = run_export(export, create_source(config.source),
                    create_destination(export.destination, export.name),
                    tuning=resolve_tuning(config.source, export.tuning), slot="snapshot-000001")
print(json.dumps({"rows": result.rows, "parts": [p.to_json() for p in result.parts],
                  "peak_rss_mb": result.peak_rss_mb, "rows_per_s": result.rows_per_s,
                  "manifest": result.manifest_uri}))
