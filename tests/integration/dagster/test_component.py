"""The Component loads from a defs.yaml in a dg project and materializes."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from dagster.components.core.component_tree import ComponentTree

import rivet_dagster

PROJECT = Path(__file__).parents[2] / "fixtures" / "component_project"
DEFS = PROJECT / "component_project" / "defs"


def test_component_builds_and_materializes(pg_url, tmp_path, monkeypatch):
    monkeypatch.setenv("RIVET_TEST_PG_URL", pg_url)
    monkeypatch.setenv("RIVET_TEST_OUT_DIR", str(tmp_path))
    monkeypatch.syspath_prepend(str(PROJECT))
    tree = ComponentTree.for_project(path_within_project=DEFS)
    component = tree.load_component(DEFS / "exports")
    assert isinstance(component, rivet_dagster.RivetExportsComponent)
    defs = tree.build_defs()
    key = dg.AssetKey(["comp", "numbers"])
    spec = defs.resolve_asset_graph().get(key)
    assert spec.group_name == "component_exports"
    assert {"postgres", "parquet"} <= set(spec.kinds)
    with dg.instance_for_test() as instance:
        assets = [a for a in defs.assets if key in a.keys]
        result = dg.materialize(assets, instance=instance, resources=defs.resources)
        assert result.success
        dataset = defs.load_asset_value(key, instance=instance)
        assert dataset.count_rows() == 500
        assert sorted(dataset.to_table().column("doubled").to_pylist())[-1] == 1000
