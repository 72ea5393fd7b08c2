"""Resolve tuning: export field ?? source field ?? profile preset (Rivet §6.1)."""

from __future__ import annotations

from dataclasses import dataclass

from rivet_dagster.config.source import SourceConfig, TuningConfig

PROFILES: dict[str, dict[str, int]] = {
    "fast": dict(batch_size=50_000, throttle_ms=0, statement_timeout_s=0, max_retries=1,
                 retry_backoff_ms=1_000, lock_timeout_s=0, memory_threshold_mb=0, max_value_mb=256),
    "balanced": dict(batch_size=10_000, throttle_ms=50, statement_timeout_s=300, max_retries=3,
                     retry_backoff_ms=2_000, lock_timeout_s=30, memory_threshold_mb=4_096,
                     max_value_mb=256),
    "safe": dict(batch_size=2_000, throttle_ms=500, statement_timeout_s=120, max_retries=5,
                 retry_backoff_ms=5_000, lock_timeout_s=10, memory_threshold_mb=2_048,
                 max_value_mb=256),
}


# Memory budget of one fetched batch when no batch size is configured: large batches for
# narrow rows, bounded memory for wide ones. Readers that fetch Python rows (MySQL, the
# PostgreSQL cursor) are also capped at AUTO_BATCH_MAX_VALUES values a batch (rows x columns,
# at most AUTO_BATCH_MAX_ROWS rows): their row objects cost several times the Arrow bytes.
# 600k values = 50k rows of page_views' 12 columns: 215 MB peak RSS, against 165 MB and twice
# the throttle pauses (5.5 s instead of 3.4 s for 2M rows, balanced) with 25k rows.
AUTO_BATCH_MB = {"fast": 16, "balanced": 8, "safe": 4}
AUTO_BATCH_MAX_VALUES = 600_000
AUTO_BATCH_MAX_ROWS = 100_000


@dataclass(frozen=True)
class ResolvedTuning:
    """Every tuning knob with a concrete value, as the engine uses it."""

    profile: str
    batch_size: int
    batch_size_memory_mb: int | None
    throttle_ms: int
    statement_timeout_s: int
    lock_timeout_s: int
    max_retries: int
    retry_backoff_ms: int
    memory_threshold_mb: int
    max_batch_memory_mb: int | None
    on_batch_memory_exceeded: str
    adaptive: bool
    min_parallel: int
    max_value_mb: int
    # Neither batch_size nor batch_size_memory_mb was set: batches are sized from the
    # measured width of the rows to this budget (Rivet 0.12's memory-driven default).
    auto_batch_mb: int | None = None


def resolve_tuning(source: SourceConfig, export_tuning: TuningConfig | None) -> ResolvedTuning:
    """Merge field by field: export ?? source ?? preset of profile (export ?? source ?? environment).

    batch_size and batch_size_memory_mb are one choice: the export's choice (either key) replaces
    the source's, so `source: {batch_size}` + `export: {batch_size_memory_mb}` is not a conflict.
    """
    src = source.tuning or TuningConfig()
    exp = export_tuning or TuningConfig()
    default_profile = "fast" if source.environment == "local" else "balanced"
    profile = exp.profile or src.profile or default_profile
    preset = PROFILES[profile]

    def pick(name: str, fallback: object) -> object:
        value = getattr(exp, name)
        if value is None:
            value = getattr(src, name)
        return fallback if value is None else value

    batch_size_memory_mb = exp.batch_size_memory_mb
    if batch_size_memory_mb is None and exp.batch_size is None:
        batch_size_memory_mb = src.batch_size_memory_mb
    batch_size = exp.batch_size or (src.batch_size if exp.batch_size_memory_mb is None else None)
    return ResolvedTuning(
        profile=profile,
        batch_size=int(batch_size or preset["batch_size"]),
        batch_size_memory_mb=batch_size_memory_mb if batch_size is None else None,
        throttle_ms=int(pick("throttle_ms", preset["throttle_ms"])),  # type: ignore[arg-type]
        statement_timeout_s=int(pick("statement_timeout_s", preset["statement_timeout_s"])),  # type: ignore[arg-type]
        lock_timeout_s=int(pick("lock_timeout_s", preset["lock_timeout_s"])),  # type: ignore[arg-type]
        max_retries=int(pick("max_retries", preset["max_retries"])),  # type: ignore[arg-type]
        retry_backoff_ms=int(pick("retry_backoff_ms", preset["retry_backoff_ms"])),  # type: ignore[arg-type]
        memory_threshold_mb=int(pick("memory_threshold_mb", preset["memory_threshold_mb"])),  # type: ignore[arg-type]
        max_batch_memory_mb=pick("max_batch_memory_mb", None),  # type: ignore[arg-type]
        on_batch_memory_exceeded=str(pick("on_batch_memory_exceeded", "warn")),
        adaptive=bool(pick("adaptive", False)),
        min_parallel=int(pick("min_parallel", 1)),  # type: ignore[arg-type]
        max_value_mb=int(pick("max_value_mb", preset["max_value_mb"])),  # type: ignore[arg-type]
        auto_batch_mb=(AUTO_BATCH_MB[profile]
                       if batch_size is None and batch_size_memory_mb is None else None),
    )
