"""Shared pieces of the incremental tests: one export per cursor type, both engines."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

import rivet_dagster
from tests.integration.db_fixtures import mysql_execute, pg_execute

CONFIG = """
source: {{type: {engine}, url: "{url}", tuning: {{profile: fast, batch_size: 7}}}}
exports:
  - name: {name}
    query: "{query}"
    mode: incremental
    cursor_column: {cursor}
    {extra}
    format: {fmt}
    destination: {{type: local, path: "{out}"}}
"""


def execute(engine: str, url: str, *statements: str) -> None:
    if engine == "postgres":
        for statement in statements:
            pg_execute(url, statement)
    else:
        mysql_execute(url, *statements)


def make_defs(tmp_path: Path, *, engine: str, url: str, name: str, query: str, cursor: str,
              extra: str = "", fmt: str = "parquet") -> dg.Definitions:
    path = tmp_path / f"{name}.yaml"
    path.write_text(CONFIG.format(engine=engine, url=url, name=name, query=query, cursor=cursor,
                                  extra=extra, fmt=fmt, out=tmp_path / "out"))
    return rivet_dagster.build_defs(path)


def materialize(defs: dg.Definitions, instance: dg.DagsterInstance, name: str,
                **kwargs) -> dg.ExecuteInProcessResult:
    key = dg.AssetKey(name)
    assets = [a for a in defs.assets if key in a.keys]
    return dg.materialize(assets, instance=instance, resources=defs.resources, **kwargs)


def metadata(result: dg.ExecuteInProcessResult, name: str) -> dict:
    md = result.asset_materializations_for_node(name)[0].metadata
    return {k: v.value for k, v in md.items()}


def loaded_ids(defs: dg.Definitions, instance: dg.DagsterInstance, name: str,
               column: str = "id") -> list:
    return sorted(defs.load_asset_value(name, instance=instance).to_table()
                  .column(column).to_pylist())


def check_passed(result: dg.ExecuteInProcessResult) -> bool:
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) == 1
    return evaluations[0].passed
