"""The Dagster face: assets, IO managers, the Component. Thin over the engine."""

from rivet_dagster.dagster.factory import build_defs, build_defs_from_config
from rivet_dagster.dagster.io_managers import (
    RivetIOManagerBase, RivetLocalIOManager, RivetStdoutIOManager,
)

__all__ = ["RivetIOManagerBase", "RivetLocalIOManager", "RivetStdoutIOManager", "build_defs",
           "build_defs_from_config"]
