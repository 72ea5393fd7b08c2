"""Database sources behind one protocol. Imports nothing from Dagster."""

from __future__ import annotations

import rivet_dagster._native_preload  # noqa: F401  (before pyarrow: see the module)
from rivet_dagster.config.source import SourceConfig
from rivet_dagster.sources.base import BatchStream, ReadRequest, Source


def create_source(config: SourceConfig) -> Source:
    """The registry: one line per engine."""
    if config.type == "postgres":
        from rivet_dagster.sources.postgres import PostgresSource
        return PostgresSource(config)
    if config.type == "mysql":
        from rivet_dagster.sources.mysql import MySQLSource
        return MySQLSource(config)
    raise ValueError(f"unknown source type {config.type!r}")


__all__ = ["BatchStream", "ReadRequest", "Source", "create_source"]
