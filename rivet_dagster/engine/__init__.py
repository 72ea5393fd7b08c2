"""The export engine: runs one export end to end. Imports nothing from Dagster."""

from rivet_dagster.engine.export_run import ExportResult, build_request, run_export
from rivet_dagster.engine.fault_injection import InjectedFault, fault_point

__all__ = ["ExportResult", "InjectedFault", "build_request", "fault_point", "run_export"]
