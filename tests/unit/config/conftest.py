"""Shared builders for the config tests: a small valid config, mutated per test case."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from rivet_dagster.config import RivetConfig, load_config
from rivet_dagster.errors import RivetConfigError

DELETE = "__delete__"  # a patch value that removes the key (a string: usable in parametrize)


def base_config() -> dict[str, Any]:
    """One postgres source, one table export to a local folder: valid as is."""
    return {
        "source": {"type": "postgres", "url": "postgresql://reader@db.internal/shop"},
        "exports": [{"name": "orders", "table": "public.orders", "format": "parquet",
                     "destination": {"type": "local", "path": "out"}}],
    }


def patched(patch: dict[str, Any], export_patch: dict[str, Any] | None = None,
            source_patch: dict[str, Any] | None = None) -> dict[str, Any]:
    """base_config() with keys merged in (nested dicts merge; DELETE removes a key)."""
    data = base_config()
    _merge(data, patch)
    _merge(data["source"], source_patch or {})
    if data["exports"]:
        _merge(data["exports"][0], export_patch or {})
    return data


@pytest.fixture(name="patched")
def patched_fixture() -> Callable[..., dict[str, Any]]:
    """The `patched` builder as a fixture (test modules do not import conftest)."""
    return patched


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if value is DELETE:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str | dict[str, Any]], Path]:
    """Write YAML text (or a dict) to tmp_path/rivet.yaml and return the path."""

    def write(content: str | dict[str, Any], name: str = "rivet.yaml") -> Path:
        text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def load(write_config: Callable[..., Path]) -> Callable[..., RivetConfig]:
    """Write then load a config with an empty environment (tests never depend on the host)."""

    def run(content: str | dict[str, Any], params: dict[str, str] | None = None,
            environ: dict[str, str] | None = None) -> RivetConfig:
        return load_config(write_config(content), params, environ or {})

    return run


@pytest.fixture
def load_error(load: Callable[..., RivetConfig]) -> Callable[..., RivetConfigError]:
    """Load a config that must fail; return the RivetConfigError."""

    def run(content: str | dict[str, Any], params: dict[str, str] | None = None,
            environ: dict[str, str] | None = None) -> RivetConfigError:
        with pytest.raises(RivetConfigError) as info:
            load(content, params, environ)
        return info.value

    return run
