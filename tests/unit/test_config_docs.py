"""docs/config.md is generated from the models: fail when it drifts from the code."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

from rivet_dagster.config import RivetConfig, parse_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_config_docs", ROOT / "dev" / "gen_config_docs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docs_are_up_to_date(gen):
    current = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    assert current == gen.render(), (
        "docs/config.md is stale: run `.venv/bin/python dev/gen_config_docs.py` and commit it")


def test_check_mode(gen, tmp_path):
    stale = tmp_path / "config.md"
    stale.write_text("old")
    assert gen.main(["--check", "--output", str(stale)]) == 1
    assert gen.main(["--output", str(stale)]) == 0
    assert gen.main(["--check", "--output", str(stale)]) == 0


def test_example_is_valid(gen, tmp_path):
    config = parse_config(gen.EXAMPLE_YAML, base_dir=tmp_path, environ={})
    assert [e.name for e in config.exports] == ["orders", "active_customers"]
    assert {e.destination.type for e in config.exports} == {"local"}
    assert f"```yaml\n{gen.EXAMPLE_YAML}```" in gen.render()


def test_every_model_has_a_section(gen):
    defs = set(RivetConfig.model_json_schema()["$defs"])
    documented = {model.__name__ for _, _, model, _ in gen.SECTIONS}
    assert defs | {"RivetConfig"} == documented


def test_every_field_is_described():
    """A new field without `Field(description=...)` would leave a blank cell in the docs."""
    schema = RivetConfig.model_json_schema()
    nodes = {"RivetConfig": schema, **schema["$defs"]}
    blank = [f"{model}.{key}" for model, node in nodes.items()
             for key, prop in node.get("properties", {}).items() if not prop.get("description")]
    assert blank == []


def test_anchors_resolve(gen):
    text = gen.render()
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', text))
    links = set(re.findall(r"\]\(#([^)]+)\)", text))
    assert links <= anchors, links - anchors
