"""`build_defs(path)`: a Rivet YAML file becomes Dagster Definitions."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import dagster as dg

from rivet_dagster.config import RivetConfig, load_config
from rivet_dagster.config.export import ExportConfig
from rivet_dagster.dagster.assets import asset_key, build_export_asset
from rivet_dagster.dagster.io_managers import default_io_managers
from rivet_dagster.dagster.chunk_jobs import (
    build_plan_sensor, build_reconcile_job, build_repair_sensor,
)
from rivet_dagster.dagster.sensors import build_refresh_sensor
from rivet_dagster.errors import RivetNotImplementedError

_BUILT_DESTINATIONS = {"local", "stdout"}


def build_defs(path: str | os.PathLike[str], params: Mapping[str, str] | None = None, *,
               resources: Mapping[str, Any] | None = None) -> dg.Definitions:
    """One asset per export of the YAML file at `path`.

    `params` fill `${NAME}` placeholders before the environment does. `resources` override
    the default IO managers (`rivet_local_io_manager`, `rivet_stdout_io_manager`), e.g. to
    send every export to another folder per environment.
    """
    config = load_config(path, params)
    return build_defs_from_config(config, resources=resources)


def build_defs_from_config(config: RivetConfig, *,
                           resources: Mapping[str, Any] | None = None) -> dg.Definitions:
    problems = unbuilt_features(config)
    if problems:
        raise RivetNotImplementedError(
            "these configured features are parsed and validated but not built yet:\n"
            + "\n".join(f"  - {p}" for p in problems))
    assets = [build_export_asset(config, export) for export in config.exports]
    sensors: list[dg.SensorDefinition] = []
    jobs: list[dg.JobDefinition] = []
    for export in config.exports:
        key = asset_key(config, export)
        if export.mode == "incremental":
            sensors.append(build_refresh_sensor(config, export, key))
        if export.mode == "chunked":
            sensors.append(build_plan_sensor(config, export, key))
            jobs.append(build_reconcile_job(config, export, key))
        if export.mode == "chunked" or (export.mode == "time_window" and not export.days_window):
            sensors.append(build_repair_sensor(config, export, key))
    kinds = {export.destination.type for export in config.exports}
    executor = {"in_process": dg.in_process_executor, "multiprocess": dg.multiprocess_executor,
                None: None}[config.dagster.executor]
    return dg.Definitions(assets=assets, sensors=sensors, jobs=jobs, executor=executor,
                          resources={**default_io_managers(kinds), **(resources or {})})


def unbuilt_features(config: RivetConfig) -> list[str]:
    """Every configured feature this release cannot run yet, named with export and field."""
    problems: list[str] = []
    if config.notifications is not None:
        problems.append("field 'notifications': Slack notifications (use Dagster alerting "
                        "or a run-failure sensor meanwhile)")
    for export in config.exports:
        problems.extend(f"export '{export.name}', {p}" for p in _unbuilt_in_export(export))
    return problems


def _unbuilt_in_export(export: ExportConfig) -> list[str]:
    problems = []
    if export.destination.type not in _BUILT_DESTINATIONS:
        problems.append(f"field 'destination.type': the '{export.destination.type}' destination")
    if export.chunk_by_key:
        problems.append("field 'chunk_by_key': keyset paging (use chunk_size ranges meanwhile)")
    if export.quality is not None:
        problems.append("field 'quality': quality checks (asset checks)")
    if export.on_schema_drift != "warn":
        problems.append(f"field 'on_schema_drift': schema drift policy '{export.on_schema_drift}'")
    return problems
