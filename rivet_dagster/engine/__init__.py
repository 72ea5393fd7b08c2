"""The export engine: runs one export end to end. Imports nothing from Dagster.

The names from `export_run` load on first use (PEP 562): the Dagster layer imports
`rivet_dagster.engine.cursor` and the chunk planner when definitions load, and a code server,
a run coordinator or a sensor tick should not pay pyarrow (~0.1 s and ~30 MB) for that.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rivet_dagster.engine.fault_injection import InjectedFault, fault_point

if TYPE_CHECKING:
    from rivet_dagster.engine.export_run import ExportResult, build_request, run_export

_LAZY = frozenset({"ExportResult", "build_request", "run_export"})

__all__ = ["ExportResult", "InjectedFault", "build_request", "fault_point", "run_export"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from rivet_dagster.engine import export_run
        return getattr(export_run, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
