"""YAML -> pydantic models. Imports nothing from Dagster."""

from rivet_dagster.config.destination import (
    AzureDestinationConfig, DestinationConfig, GcsDestinationConfig, LocalDestinationConfig,
    S3DestinationConfig, StdoutDestinationConfig,
)
from rivet_dagster.config.export import (
    DagsterOptions, ExportConfig, MetaColumns, ParquetOptions, QualityConfig,
)
from rivet_dagster.config.loader import interpolate, load_config, parse_config
from rivet_dagster.config.root import RivetConfig
from rivet_dagster.config.source import SourceConfig, TlsConfig, TuningConfig
from rivet_dagster.config.tuning_profiles import ResolvedTuning, resolve_tuning

__all__ = [
    "AzureDestinationConfig", "DagsterOptions", "DestinationConfig", "ExportConfig",
    "GcsDestinationConfig", "LocalDestinationConfig", "MetaColumns", "ParquetOptions",
    "QualityConfig", "ResolvedTuning", "RivetConfig", "S3DestinationConfig", "SourceConfig",
    "StdoutDestinationConfig", "TlsConfig", "TuningConfig", "interpolate", "load_config",
    "parse_config", "resolve_tuning",
]
