"""The `rows_match_source` check, shared by increments, chunk and time partitions.

One verification for every mode: COUNT(*) over exactly the rows the export selected, at the
source, must equal the rows written and the rows read back from the committed parts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import dagster as dg

from rivet_dagster.config.export import ExportConfig
from rivet_dagster.dagster.io_managers import RivetIOManagerBase
from rivet_dagster.errors import RivetSourceError
from rivet_dagster.sources import Source

if TYPE_CHECKING:
    from rivet_dagster.engine import ExportResult

CHECK_NAME = "rows_match_source"


def source_count(source: Source, sql: str, params: tuple[Any, ...], export: ExportConfig) -> int:
    try:
        return int(source.scalar(sql, params, export=export.name))
    except RivetSourceError:
        raise
    except Exception as exc:  # noqa: BLE001 - a failed count must not hide the export's success
        raise RivetSourceError(f"verification count failed: {exc}", export=export.name,
                               field="query") from None


def rows_check(source_rows: int, written: int, read_back: int,
               context: dict[str, Any]) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=CHECK_NAME, passed=source_rows == written == read_back,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"source_rows": source_rows, "written_rows": written,
                  "read_back_rows": read_back, **context})


def verify_written(source: Source, count_sql: str, params: tuple[Any, ...],
                   result: ExportResult, io_manager: RivetIOManagerBase, export: ExportConfig,
                   context: dict[str, Any]) -> dg.AssetCheckResult:
    """Count at the source, read the committed parts back, compare with what was written."""
    counted = source_count(source, count_sql, params, export)
    read_back = (io_manager.load_manifest_dataset(result.manifest_uri).count_rows()
                 if result.manifest_uri else result.rows)
    return rows_check(counted, result.rows, read_back, context)
