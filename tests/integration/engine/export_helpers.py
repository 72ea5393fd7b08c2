"""Run one export through the engine from YAML text (no Dagster involved)."""

from __future__ import annotations

from pathlib import Path

from rivet_dagster.config import parse_config, resolve_tuning
from rivet_dagster.destinations import create_destination
from rivet_dagster.engine import ExportResult, run_export
from rivet_dagster.sources import create_source


def export_once(yaml_text: str, base_dir: Path, name: str | None = None,
                slot: str = "snapshot-000001") -> ExportResult:
    config = parse_config(yaml_text, base_dir=base_dir)
    export = config.export(name) if name else config.exports[0]
    return run_export(export, create_source(config.source),
                      create_destination(export.destination, export.name),
                      tuning=resolve_tuning(config.source, export.tuning), slot=slot)
