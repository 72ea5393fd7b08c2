"""Destinations behind one protocol. Imports nothing from Dagster."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from rivet_dagster.config.destination import DestinationConfig
from rivet_dagster.destinations.base import Destination, HashingSink, PartHandle, PartInfo
from rivet_dagster.destinations.manifest import (
    Manifest, publish_manifest, read_committed_manifest,
)
from rivet_dagster.errors import RivetNotImplementedError

if TYPE_CHECKING:
    from rivet_dagster.destinations.local import LocalDestination
    from rivet_dagster.destinations.stdout import StdoutDestination

# The stores' modules import pyarrow: they load on first use (PEP 562), so that loading the
# Dagster definitions, whose IO managers import this package, does not.
_LAZY = {"LocalDestination": "local", "StdoutDestination": "stdout"}


def expand_placeholders(template: str, export: str, run_id: str | None = None) -> str:
    """F71: {export}, {table} (= export name), {date} (UTC), {run_id} (literal if unknown)."""
    return (template.replace("{export}", export).replace("{table}", export)
            .replace("{date}", dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d"))
            .replace("{run_id}", run_id or "{run_id}"))


def create_destination(config: DestinationConfig, export: str,
                       run_id: str | None = None) -> Destination:
    """The registry: one line per store."""
    if config.type == "local":
        from rivet_dagster.destinations.local import LocalDestination
        return LocalDestination(expand_placeholders(config.path, export, run_id))
    if config.type == "stdout":
        from rivet_dagster.destinations.stdout import StdoutDestination
        return StdoutDestination()
    raise RivetNotImplementedError(
        f"destination type '{config.type}' is parsed and validated but not built yet "
        "(planned: S3, GCS and Azure Blob IO managers); use type: local for now",
        export=export, field="destination.type")


__all__ = [
    "Destination", "HashingSink", "LocalDestination", "Manifest", "PartHandle", "PartInfo",
    "StdoutDestination", "create_destination", "expand_placeholders", "publish_manifest",
    "read_committed_manifest",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
