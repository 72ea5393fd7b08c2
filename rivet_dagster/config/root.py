"""The root of the YAML file (F01-F05)."""

from __future__ import annotations

from pydantic import Field, model_validator

from rivet_dagster.config.export import DagsterOptions, ExportConfig, NotificationsConfig
from rivet_dagster.config.source import RuleError, SourceConfig, StrictModel


class RivetConfig(StrictModel):
    """A Rivet export file: one source, one or more exports."""

    source: SourceConfig = Field(description="The database every export reads from.")
    exports: list[ExportConfig] = Field(min_length=1, description="At least one export.")
    notifications: NotificationsConfig | None = Field(None, description="Run notifications.")
    parallel_exports: bool = Field(False, description="Run the exports concurrently (threads).")
    parallel_export_processes: bool = Field(
        False, description="Run the exports concurrently (one process each).")
    dagster: DagsterOptions = Field(default_factory=DagsterOptions,
                                    description="Defaults for every export's `dagster:` block.")

    @model_validator(mode="after")
    def _unique_names(self) -> "RivetConfig":
        seen: set[str] = set()
        for export in self.exports:
            if export.name in seen:
                raise RuleError(f"export name '{export.name}' is used twice; names must be unique "
                                "(all state is keyed by name)", export=export.name, field="name")
            seen.add(export.name)
            if export.dagster.executor is not None:
                raise RuleError("executor applies to all the exports of a file: set it in the "
                                "top-level `dagster:` block", export=export.name,
                                field="dagster.executor")
            if (export.mode == "time_window" and not export.days_window
                    and not (export.dagster.partition_start or self.dagster.partition_start)):
                raise RuleError("mode time_window needs days_window (a rolling window) or "
                                "dagster.partition_start (time partitions)",
                                export=export.name, field="days_window")
        return self

    def export(self, name: str) -> ExportConfig:
        """The export called `name` (KeyError when absent)."""
        for export in self.exports:
            if export.name == name:
                return export
        raise KeyError(name)
