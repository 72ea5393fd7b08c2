"""Shared pieces of the chunked / time-window tests."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

import rivet_dagster
from rivet_dagster.dagster.chunk_jobs import apply_plan, plan_export
from rivet_dagster.dagster.partitions import partitions_def_name
from rivet_dagster.config import load_config

CONFIG = """
source: {{type: {engine}, url: "{url}", tuning: {{profile: fast, batch_size: 500}}}}
exports:
  - name: {name}
    {what}
    mode: {mode}
    {extra}
    format: parquet
    destination: {{type: local, path: "{out}"}}
"""


def write_config(tmp_path: Path, **fields: str) -> Path:
    fields.setdefault("mode", "chunked")
    fields.setdefault("extra", "")
    path = tmp_path / f"{fields['name']}.yaml"
    path.write_text(CONFIG.format(out=tmp_path / "out", **fields))
    return path


def plan(path: Path, name: str, instance: dg.DagsterInstance):
    config = load_config(path)
    export = config.export(name)
    key = dg.AssetKey(name)
    result = plan_export(config, export, key, instance)
    apply_plan(result, key, instance)
    return result


def partition_keys(instance: dg.DagsterInstance, name: str) -> list[str]:
    return instance.get_dynamic_partitions(partitions_def_name(dg.AssetKey(name)))


def materialize(defs: dg.Definitions, instance: dg.DagsterInstance, name: str, partition: str,
                **kwargs) -> dg.ExecuteInProcessResult:
    key = dg.AssetKey(name)
    assets = [a for a in defs.assets if key in a.keys]
    return dg.materialize(assets, instance=instance, resources=defs.resources,
                          partition_key=partition, **kwargs)


def all_rows(defs: dg.Definitions, instance: dg.DagsterInstance, name: str,
             partitions: list[str], column: str = "id") -> list:
    values: list = []
    for partition in partitions:
        table = defs.load_asset_value(name, instance=instance, partition_key=partition).to_table()
        values.extend(table.column(column).to_pylist())
    return values


def defs_for(path: Path) -> dg.Definitions:
    return rivet_dagster.build_defs(path)
