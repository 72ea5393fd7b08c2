"""`exports[]` models (F30-F65) and the optional `dagster:` block."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, PrivateAttr, field_validator, model_validator

from rivet_dagster.config.byte_size import parse_byte_size
from rivet_dagster.config.column_types import ColumnType, parse_column_type
from rivet_dagster.config.destination import DestinationConfig
from rivet_dagster.config.source import RuleError, StrictModel, TuningConfig

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$")
_KEY_PART = re.compile(r"^[A-Za-z0-9_]+$")
_DEFAULT_CHUNK_SIZE = 100_000
# max_file_size is stored as bytes but written as "256MB" too: tell the JSON schema so.
_SIZE_SCHEMA: dict[str, Any] = {"anyOf": [{"type": "integer", "minimum": 1},
                                          {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*[A-Za-z]*\s*$"},
                                          {"type": "null"}]}


def _strip_sql(text: str) -> str:
    """Drop surrounding blanks and trailing `;` (the query gets wrapped in a sub-select)."""
    return text.rstrip(" \t\r\n;").strip()


class DagsterOptions(StrictModel):
    """Dagster-only settings (Rivet has no such block): asset key prefix, group, tags, text."""

    key_prefix: str | list[str] | None = Field(None, description="Asset key prefix, e.g. 'raw' or ['raw', 'pg'].")
    group: str | None = Field(None, description="Asset group name (default 'rivet').")
    tags: dict[str, str] = Field(default_factory=dict, description="Asset tags.")
    description: str | None = Field(None, description="Asset description (default: the query).")
    sensor_interval_s: int | None = Field(
        None, ge=1, description="Interval of the refresh (incremental) and planning (chunked) "
                                "sensors, in seconds (default 300).")
    time_partitions: Literal["daily", "hourly"] = Field(
        "daily", description="time_window without days_window: the partition granularity.")
    partition_start: str | None = Field(
        None, description="time_window without days_window: the first partition, "
                          "'YYYY-MM-DD' (daily) or 'YYYY-MM-DD-HH:MM' (hourly), UTC.")
    executor: Literal["in_process", "multiprocess"] | None = Field(
        None, description="Top level only. The Definitions' executor: in_process runs a run's "
                          "exports one after another in the run's own process (no step "
                          "process to start: about 1.5 s less per run); multiprocess runs "
                          "them in parallel processes. Unset: Dagster's default (multiprocess), "
                          "and no executor is set, so these Definitions merge with others that "
                          "set one.")

    @field_validator("partition_start")
    @classmethod
    def _start(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^\d{4}-\d{2}-\d{2}(-\d{2}:\d{2})?$", value):
            raise ValueError(f"partition_start '{value}' must be 'YYYY-MM-DD' or 'YYYY-MM-DD-HH:MM'")
        return value

    @field_validator("key_prefix")
    @classmethod
    def _prefix_parts(cls, value: str | list[str] | None) -> str | list[str] | None:
        parts = [value] if isinstance(value, str) else (value or [])
        for part in parts:
            if not _KEY_PART.match(part):
                raise ValueError(f"key_prefix part '{part}' may hold only letters, digits and _")
        return value

    @field_validator("group")
    @classmethod
    def _group_name(cls, value: str | None) -> str | None:
        if value is not None and not _KEY_PART.match(value):
            raise ValueError(f"group '{value}' may hold only letters, digits and _")
        return value


class ParquetOptions(StrictModel):
    """Row-group sizing (F36) and encoding threads. Without a sizing key here rows are buffered into row groups of about 8 MB of Arrow data (also capped by max_file_size)."""

    row_group_strategy: Literal["auto", "fixed_memory", "fixed_rows"] = Field(
        "auto", description="auto / fixed_memory: rows from target_row_group_mb and the row width; "
                            "fixed_rows: row_group_rows.")
    target_row_group_mb: int = Field(128, ge=1, description="Target row-group size in MB.")
    max_row_group_mb: int | None = Field(None, ge=1, description="Upper cap on a row group in MB.")
    row_group_rows: int | None = Field(None, ge=1, description="Rows per group (fixed_rows only).")
    encode_threads: int | None = Field(
        None, ge=1, le=64, description=(
            "Row groups encoded at once, each on a thread of its own; the file is the same. "
            "Costs a row group and its encoded bytes per thread. Unset: 2 with profile fast "
            "where 3+ cores are usable, else 1."))

    @model_validator(mode="after")
    def _rows_rule(self) -> "ParquetOptions":
        if self.row_group_strategy == "fixed_rows" and self.row_group_rows is None:
            raise RuleError("row_group_strategy fixed_rows needs row_group_rows", field="row_group_rows")
        if self.row_group_strategy != "fixed_rows" and self.row_group_rows is not None:
            raise RuleError("row_group_rows is only used with row_group_strategy: fixed_rows",
                            field="row_group_rows")
        return self


class MetaColumns(StrictModel):
    """Extra columns appended to every row (F39-F40)."""

    exported_at: bool = Field(False, description="Append `_rivet_exported_at` (timestamp, UTC).")
    row_hash: bool = Field(False, description="Append `_rivet_row_hash` (int64 hash of the row).")


class QualityConfig(StrictModel):
    """Quality gate checked before the files are published (F41); a failure fails the export."""

    row_count_min: int | None = Field(None, ge=0, description="Fail when fewer rows are exported.")
    row_count_max: int | None = Field(None, ge=0, description="Fail when more rows are exported.")
    null_ratio_max: dict[str, float] = Field(default_factory=dict,
                                             description="Column -> largest allowed NULL ratio (0..1).")
    unique_columns: list[str] = Field(default_factory=list, description="Columns whose values must be unique.")
    unique_max_entries: int | None = Field(None, ge=1, description="Memory cap on the uniqueness check.")

    @field_validator("null_ratio_max")
    @classmethod
    def _ratios(cls, value: dict[str, float]) -> dict[str, float]:
        for column, ratio in value.items():
            if not 0.0 <= ratio <= 1.0:
                raise ValueError(f"null_ratio_max for '{column}' must be between 0 and 1, got {ratio}")
        return value

    @model_validator(mode="after")
    def _bounds(self) -> "QualityConfig":
        if (self.row_count_min is not None and self.row_count_max is not None
                and self.row_count_min > self.row_count_max):
            raise RuleError("row_count_min is larger than row_count_max", field="row_count_min")
        return self


class ExportConfig(StrictModel):
    """One export: what to read, how, and where the files go."""

    name: str = Field(description="Unique export name; the asset key and the state key.")
    query: str | None = Field(None, description="SQL query.")
    query_file: str | None = Field(None, description="File with the SQL, relative to the config's folder.")
    table: str | None = Field(None, description="`table` or `schema.table`: SELECT * FROM it.")
    mode: Literal["full", "incremental", "chunked", "time_window"] = Field(
        "full", description="Extraction strategy.")
    format: Literal["parquet", "csv"] = Field(description="Output file format.")
    compression: Literal["zstd", "snappy", "gzip", "lz4", "none"] = Field(
        "zstd", description="Parquet codec.")
    compression_level: int | None = Field(
        None, description="zstd 1..22, gzip 0..10. Unset: Arrow's default, 1 for zstd and 9 for "
                          "gzip (Rivet's are 3 and 6).")
    compression_profile: Literal["none", "fast", "balanced", "compact"] | None = Field(
        None, description="Overrides codec and level: none, snappy, zstd-3, zstd-9.")
    parquet: ParquetOptions | None = Field(None, description="Row-group sizing (see `parquet`).")
    max_file_size: int | None = Field(None, description="Rotate parts at this size: '256MB', '1GB', bytes.",
                                      json_schema_extra=_SIZE_SCHEMA)
    skip_empty: bool = Field(False, description="Report 0-row runs as skipped.")
    meta_columns: MetaColumns = Field(default_factory=MetaColumns, description="See `meta_columns`.")
    quality: QualityConfig | None = Field(None, description="Quality gate (see `quality`).")
    columns: dict[str, str] = Field(default_factory=dict, description="Per-column type overrides.")
    target: Literal["bigquery", "bq", "duckdb", "snowflake", "sf"] | None = Field(
        None, description="Warehouse the files are meant for (type-report guidance only).")
    on_schema_drift: Literal["warn", "continue", "fail"] = Field(
        "warn", description="What to do when the result schema changes between runs.")
    shape_drift_warn_factor: float = Field(
        2.0, ge=0, description="Warn when a text column's max length grows by this factor; 0 = off.")
    verify: Literal["size", "content"] = Field("size", description="Depth of the manifest check.")
    tuning: TuningConfig | None = Field(None, description="Overrides `source.tuning` field by field.")
    source_group: str | None = Field(None, description="Advisory: exports sharing a replica.")
    reconcile_required: bool = Field(False, description="Advisory hint for planning.")
    # incremental
    cursor_column: str | None = Field(None, description="incremental: monotone column to resume from.")
    incremental_cursor_mode: Literal["single_column", "coalesce"] = Field(
        "single_column", description="incremental: coalesce = COALESCE(cursor, fallback).")
    cursor_fallback_column: str | None = Field(None, description="incremental + coalesce: fallback column.")
    # chunked
    chunk_column: str | None = Field(None, description="chunked: integer or date/timestamp column.")
    chunk_size: int = Field(_DEFAULT_CHUNK_SIZE, ge=1, description="chunked: key-range width per chunk.")
    chunk_count: int | None = Field(None, ge=1, description="chunked: split [min, max] into N windows.")
    chunk_dense: bool = Field(False, description="chunked: equal row counts via ROW_NUMBER().")
    chunk_by_days: int | None = Field(None, ge=1, description="chunked: N-day windows on a date column.")
    chunk_size_memory_mb: int | None = Field(
        None, ge=1, description="chunked + table: derive chunk_size from this memory budget.")
    chunk_by_key: bool = Field(False, description="chunked + table: keyset paging on a unique key.")
    parallel: int = Field(1, ge=1, description=(
        "chunked: concurrent chunk workers. full `table:` export on PostgreSQL: COPY streams "
        "over one snapshot (unset: 2 with profile fast, else 1)."))
    chunk_checkpoint: bool = Field(False, description="chunked: persist chunk progress (resume).")
    chunk_max_attempts: int | None = Field(None, ge=1, description="chunked: attempts per chunk.")
    # time_window
    time_column: str | None = Field(None, description="time_window: the time column.")
    time_column_type: Literal["timestamp", "unix"] = Field(
        "timestamp", description="time_window: timestamp or unix (epoch seconds).")
    days_window: int | None = Field(
        None, ge=1, description="time_window: Rivet's rolling window, every run re-exports the last N "
                                "days (an unpartitioned asset). Without it the asset gets daily or "
                                "hourly time partitions (see dagster.time_partitions).")
    destination: DestinationConfig = Field(description="Where the files go (see `destination`).")
    dagster: DagsterOptions = Field(default_factory=DagsterOptions,
                                    description="Overrides the root `dagster:` block.")
    _query_text: str | None = PrivateAttr(default=None)

    def set_query_text(self, text: str) -> None:
        """Called by the loader once `query_file` has been read (its path checked)."""
        self._query_text = text

    def base_query(self) -> str:
        """The export's SQL before any mode-specific wrapping."""
        if self.query is not None:
            return _strip_sql(self.query)
        if self.table is not None:
            return f"SELECT * FROM {self.table}"
        if self._query_text is None:
            raise RuntimeError(f"export '{self.name}': query_file was not resolved by the loader")
        return _strip_sql(self._query_text)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"'{value}' is not a valid export name: use letters, digits and _ "
                             "(it becomes the asset key and part of file paths)")
        return value

    @field_validator("table")
    @classmethod
    def _table(cls, value: str | None) -> str | None:
        if value is not None and not _TABLE.match(value):
            raise ValueError(f"'{value}' is not `table` or `schema.table` with ASCII identifiers")
        return value

    @field_validator("max_file_size", mode="before")
    @classmethod
    def _size(cls, value: Any) -> Any:
        return None if value is None else parse_byte_size(value)

    @field_validator("columns")
    @classmethod
    def _columns(cls, value: dict[str, str]) -> dict[str, str]:
        for column, text in value.items():
            try:
                parse_column_type(text)
            except ValueError as exc:
                raise ValueError(f"column '{column}': {exc}") from None
        return value

    @model_validator(mode="after")
    def _rules(self) -> "ExportConfig":
        given = [k for k in ("query", "query_file", "table") if getattr(self, k) is not None]
        if len(given) != 1:
            raise RuleError("set exactly one of query, query_file, table"
                            + (f" (got {', '.join(given)})" if given else ""),
                            field=given[1] if given else "query")
        self._check_compression()
        self._check_mode_keys()
        if self.destination.type == "stdout":
            if self.max_file_size is not None:
                raise RuleError("max_file_size cannot be used with a stdout destination",
                                field="max_file_size")
            if self.mode == "chunked":
                raise RuleError("mode chunked cannot write to a stdout destination", field="mode")
        return self

    def _check_compression(self) -> None:
        level = self.compression_level
        if level is None:
            return
        if self.compression == "zstd" and not 1 <= level <= 22:
            raise RuleError(f"compression_level for zstd must be 1..22, got {level}",
                            field="compression_level")
        if self.compression == "gzip" and not 0 <= level <= 10:
            raise RuleError(f"compression_level for gzip must be 0..10, got {level}",
                            field="compression_level")
        if self.compression not in ("zstd", "gzip"):
            raise RuleError(f"compression_level is only valid with zstd or gzip, not {self.compression}",
                            field="compression_level")

    def _check_mode_keys(self) -> None:
        if self.mode == "incremental" and not self.cursor_column:
            raise RuleError("mode incremental needs cursor_column", field="cursor_column")
        if self.mode != "incremental" and self.cursor_column:
            raise RuleError(f"cursor_column is only used with mode incremental (mode is {self.mode})",
                            field="cursor_column")
        if self.incremental_cursor_mode == "coalesce" and not self.cursor_fallback_column:
            raise RuleError("incremental_cursor_mode coalesce needs cursor_fallback_column",
                            field="cursor_fallback_column")
        if self.incremental_cursor_mode != "coalesce" and self.cursor_fallback_column:
            raise RuleError("cursor_fallback_column needs incremental_cursor_mode: coalesce",
                            field="cursor_fallback_column")
        if self.mode == "time_window":
            if not self.time_column:
                raise RuleError("mode time_window needs time_column", field="time_column")
        elif self.time_column or self.days_window:
            raise RuleError(f"time_column/days_window are only used with mode time_window "
                            f"(mode is {self.mode})",
                            field="time_column" if self.time_column else "days_window")
        if self.mode == "chunked":
            self._check_chunked()
        else:
            used = [k for k in ("chunk_column", "chunk_count", "chunk_dense", "chunk_by_days",
                                "chunk_size_memory_mb", "chunk_by_key", "chunk_checkpoint")
                    if getattr(self, k)]
            if used:
                raise RuleError(f"chunk_* keys are only used with mode chunked (mode is {self.mode})",
                                field=used[0])

    def _check_chunked(self) -> None:
        if self.chunk_count and (self.chunk_dense or self.chunk_by_days):
            raise RuleError("chunk_count cannot be combined with chunk_dense or chunk_by_days",
                            field="chunk_count")
        if self.chunk_dense and self.chunk_by_days:
            raise RuleError("chunk_dense cannot be combined with chunk_by_days", field="chunk_dense")
        if self.chunk_size_memory_mb and self.table is None:
            raise RuleError("chunk_size_memory_mb needs `table:` (it reads the table's size)",
                            field="chunk_size_memory_mb")
        if (self.chunk_size_memory_mb and "chunk_size" in self.model_fields_set
                and self.chunk_size != _DEFAULT_CHUNK_SIZE):
            raise RuleError("chunk_size_memory_mb derives chunk_size; remove the explicit chunk_size",
                            field="chunk_size_memory_mb")
        if self.chunk_by_key and self.table is None:
            raise RuleError("chunk_by_key needs `table:` (it reads the table's unique keys)",
                            field="chunk_by_key")
        if not self.chunk_column and self.table is None and not self.chunk_by_key:
            raise RuleError("mode chunked needs chunk_column (auto-detection needs `table:`)",
                            field="chunk_column")

    def column_overrides(self) -> dict[str, ColumnType]:
        """The `columns:` overrides, parsed (validated already at load time)."""
        return {column: parse_column_type(text) for column, text in self.columns.items()}

    def effective_compression(self) -> tuple[str, int | None]:
        """Codec and level after applying compression_profile (F35)."""
        profile = {"none": ("none", None), "fast": ("snappy", None),
                   "balanced": ("zstd", 3), "compact": ("zstd", 9)}
        if self.compression_profile:
            return profile[self.compression_profile]
        return self.compression, self.compression_level


class SlackConfig(StrictModel):
    """Slack incoming webhook (F73); a missing env var silently skips the notification."""

    webhook_url: str | None = Field(None, description="Webhook URL (prefer webhook_url_env).")
    webhook_url_env: str | None = Field(None, description="Env var holding the webhook URL.")
    on: list[Literal["failure", "schema_change", "degraded"]] = Field(
        default_factory=lambda: ["failure"], description="Events that send a message.")

    @model_validator(mode="after")
    def _one_url(self) -> "SlackConfig":
        if bool(self.webhook_url) == bool(self.webhook_url_env):
            raise RuleError("set exactly one of webhook_url, webhook_url_env", field="webhook_url")
        return self


class NotificationsConfig(StrictModel):
    """Where run outcomes are announced."""

    slack: SlackConfig | None = Field(None, description="Slack webhook (see `notifications.slack`).")
