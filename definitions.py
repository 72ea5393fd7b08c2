"""Dagster entry point: `dagster dev -f definitions.py` / `dagster asset materialize -f definitions.py`.

RIVET_CONFIG picks the YAML file of exports (default: the demo, dev/rivet.yaml).
"""

import os
from pathlib import Path

import rivet_dagster

defs = rivet_dagster.build_defs(
    os.environ.get("RIVET_CONFIG", str(Path(__file__).parent / "dev" / "rivet.yaml")))
