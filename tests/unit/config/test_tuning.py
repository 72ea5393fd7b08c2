"""Tuning resolution against rivet-reference §6.1: export ?? source ?? profile preset."""

from __future__ import annotations

import pytest

from rivet_dagster.config import SourceConfig, TuningConfig, parse_config, resolve_tuning
from rivet_dagster.engine.export_run import build_request, encode_threads
from rivet_dagster.formats import DEFAULT_ROW_GROUP_MB, create_format

# rivet-reference §6.1, copied as facts (fast / balanced / safe).
TABLE_6_1 = {
    "batch_size": (50_000, 10_000, 2_000),
    "throttle_ms": (0, 50, 500),
    "statement_timeout_s": (0, 300, 120),
    "max_retries": (1, 3, 5),
    "retry_backoff_ms": (1_000, 2_000, 5_000),
    "lock_timeout_s": (0, 30, 10),
    "memory_threshold_mb": (0, 4_096, 2_048),
    "max_value_mb": (256, 256, 256),
}
PROFILE_COLUMN = {"fast": 0, "balanced": 1, "safe": 2}


def source(environment: str = "production", **tuning: object) -> SourceConfig:
    return SourceConfig(type="postgres", url="postgresql://h/db", environment=environment,
                        tuning=TuningConfig(**tuning) if tuning else None)


@pytest.mark.parametrize("profile", list(PROFILE_COLUMN))
def test_profile_presets_match_reference(profile):
    resolved = resolve_tuning(source(profile=profile), None)
    assert resolved.profile == profile
    for field, values in TABLE_6_1.items():
        assert getattr(resolved, field) == values[PROFILE_COLUMN[profile]], field
    assert resolved.max_batch_memory_mb is None
    assert resolved.adaptive is False
    assert resolved.on_batch_memory_exceeded == "warn"
    assert resolved.min_parallel == 1
    assert resolved.batch_size_memory_mb is None


@pytest.mark.parametrize("environment, profile", [
    ("production", "balanced"), ("replica", "balanced"), ("local", "fast")])
def test_environment_picks_default_profile(environment, profile):
    assert resolve_tuning(source(environment), None).profile == profile


def test_explicit_profile_beats_environment():
    assert resolve_tuning(source("local", profile="safe"), None).profile == "safe"
    assert resolve_tuning(source("local"), TuningConfig(profile="balanced")).profile == "balanced"


def test_export_profile_beats_source_profile():
    resolved = resolve_tuning(source(profile="safe"), TuningConfig(profile="fast"))
    assert resolved.profile == "fast"
    assert resolved.batch_size == 50_000


def test_export_field_beats_source_field_beats_preset():
    resolved = resolve_tuning(source(profile="safe", throttle_ms=7, max_retries=9),
                              TuningConfig(throttle_ms=1))
    assert resolved.throttle_ms == 1          # export
    assert resolved.max_retries == 9          # source
    assert resolved.retry_backoff_ms == 5_000  # safe preset


def test_merge_is_field_by_field_not_replace():
    resolved = resolve_tuning(source(statement_timeout_s=60, adaptive=True),
                              TuningConfig(lock_timeout_s=5))
    assert (resolved.statement_timeout_s, resolved.adaptive, resolved.lock_timeout_s) == (60, True, 5)


def test_zero_is_a_value_not_unset():
    resolved = resolve_tuning(source(profile="balanced", throttle_ms=50), TuningConfig(throttle_ms=0))
    assert resolved.throttle_ms == 0


def test_memory_knobs_pass_through():
    resolved = resolve_tuning(source(max_batch_memory_mb=64, on_batch_memory_exceeded="auto_shrink"),
                              TuningConfig(min_parallel=2, max_value_mb=0))
    assert resolved.max_batch_memory_mb == 64
    assert resolved.on_batch_memory_exceeded == "auto_shrink"
    assert (resolved.min_parallel, resolved.max_value_mb) == (2, 0)


class TestBatchSizing:
    """batch_size and batch_size_memory_mb are one choice; the export's choice wins."""

    def test_source_memory_target_keeps_preset_as_fallback(self):
        resolved = resolve_tuning(source(batch_size_memory_mb=64), None)
        assert resolved.batch_size_memory_mb == 64
        assert resolved.batch_size == 10_000

    def test_source_rows(self):
        resolved = resolve_tuning(source(batch_size=5_000), None)
        assert (resolved.batch_size, resolved.batch_size_memory_mb) == (5_000, None)

    def test_export_rows_beat_source_memory_target(self):
        resolved = resolve_tuning(source(batch_size_memory_mb=64), TuningConfig(batch_size=1_000))
        assert (resolved.batch_size, resolved.batch_size_memory_mb) == (1_000, None)

    def test_export_memory_target_beats_source_rows(self):
        resolved = resolve_tuning(source(profile="safe", batch_size=5_000),
                                  TuningConfig(batch_size_memory_mb=32))
        assert resolved.batch_size_memory_mb == 32
        assert resolved.batch_size == 2_000  # safe preset, only a fallback now

    def test_export_memory_target_beats_source_memory_target(self):
        resolved = resolve_tuning(source(batch_size_memory_mb=64), TuningConfig(batch_size_memory_mb=16))
        assert resolved.batch_size_memory_mb == 16

    def test_both_in_one_block_is_an_error(self):
        with pytest.raises(ValueError, match="mutually exclusive"):
            TuningConfig(batch_size=10, batch_size_memory_mb=64)


def test_resolution_from_yaml(load):
    config = load({
        "source": {"type": "mysql", "url": "mysql://h/db", "environment": "local",
                   "tuning": {"throttle_ms": 20, "batch_size_memory_mb": 48}},
        "exports": [
            {"name": "a", "table": "a", "format": "csv", "destination": {"type": "stdout"}},
            {"name": "b", "table": "b", "format": "csv", "destination": {"type": "stdout"},
             "tuning": {"profile": "safe", "batch_size": 500}},
        ],
    })
    a = resolve_tuning(config.source, config.exports[0].tuning)
    b = resolve_tuning(config.source, config.exports[1].tuning)
    assert (a.profile, a.throttle_ms, a.batch_size, a.batch_size_memory_mb) == ("fast", 20, 50_000, 48)
    assert (b.profile, b.throttle_ms, b.batch_size, b.batch_size_memory_mb) == ("safe", 20, 500, None)
    assert b.statement_timeout_s == 120


@pytest.mark.parametrize(("tuning", "read_ahead"), [
    ("{profile: fast}", True),       # no throttle
    ("{profile: balanced}", False),  # throttle_ms 50: the pause is the server's too
    ("{profile: fast, throttle_ms: 5}", False),
])
def test_only_an_unthrottled_export_lets_the_reader_decode_ahead(tmp_path, tuning, read_ahead):
    config = parse_config(
        f"source: {{type: postgres, url: 'postgresql://u@h/db', tuning: {tuning}}}\n"
        "exports: [{name: e, table: t, format: parquet, destination: {type: local, path: out}}]\n",
        base_dir=tmp_path, environ={})
    export = config.exports[0]
    request = build_request(export, resolve_tuning(config.source, export.tuning))
    assert request.read_ahead is read_ahead


@pytest.mark.parametrize(("tuning", "extra", "streams"), [
    ("{profile: fast}", "", 2),                   # fast: two COPY streams for a whole table
    ("{profile: balanced}", "", 1),               # the throttled profiles stay at one
    ("{profile: fast}", ", parallel: 1", 1),      # `parallel` set wins both ways
    ("{profile: safe}", ", parallel: 3", 3),
    ("{profile: fast}", ", mode: incremental, cursor_column: id", 1),  # a window, not the table
])
def test_whole_table_reads_get_copy_streams_from_parallel_or_the_profile(
        tmp_path, tuning, extra, streams):
    config = parse_config(
        f"source: {{type: postgres, url: 'postgresql://u@h/db', tuning: {tuning}}}\n"
        f"exports: [{{name: e, table: t, format: parquet, destination: {{type: local, path: out}}"
        f"{extra}}}]\n", base_dir=tmp_path, environ={})
    export = config.exports[0]
    assert build_request(export, resolve_tuning(config.source, export.tuning)).streams == streams
    query = parse_config(
        f"source: {{type: postgres, url: 'postgresql://u@h/db', tuning: {tuning}}}\n"
        "exports: [{name: q, query: 'SELECT * FROM t', format: parquet, "
        "destination: {type: local, path: out}}]\n", base_dir=tmp_path, environ={}).exports[0]
    assert build_request(query, resolve_tuning(config.source, query.tuning)).streams == 1


@pytest.mark.parametrize(("tuning", "extra", "cores", "threads"), [
    ("{profile: fast}", "", 4, 2),      # fast with a core to spare: a second encoder
    ("{profile: fast}", "", 2, 1),      # two cores: reader, driver and database have them
    ("{profile: balanced}", "", 8, 1),  # the throttled profiles keep their memory bound
    ("{profile: safe}", "", 8, 1),
    ("{profile: balanced}", ", parquet: {encode_threads: 3}", 2, 3),  # set wins both ways
    ("{profile: fast}", ", parquet: {encode_threads: 1}", 8, 1),
])
def test_parquet_encode_threads_come_from_the_export_or_the_profile_and_cores(
        tmp_path, tuning, extra, cores, threads):
    config = parse_config(
        f"source: {{type: postgres, url: 'postgresql://u@h/db', tuning: {tuning}}}\n"
        f"exports: [{{name: e, table: t, format: parquet, destination: {{type: local, path: out}}"
        f"{extra}}}]\n", base_dir=tmp_path, environ={})
    export = config.exports[0]
    tuned = resolve_tuning(config.source, export.tuning)
    assert encode_threads(export, tuned, cores=cores) == threads
    assert create_format(export, encode_threads(export, tuned, cores=cores)).encode_threads == threads


def test_encode_threads_alone_keeps_the_default_row_groups(tmp_path):
    # the `parquet:` block's sizing defaults (128 MB groups) apply when a sizing key is set,
    # not when the block only asks for threads
    def fmt(block: str):
        return create_format(parse_config(
            "source: {type: postgres, url: 'postgresql://u@h/db'}\n"
            f"exports: [{{name: e, table: t, format: parquet, {block}"
            "destination: {type: local, path: out}}]\n", base_dir=tmp_path, environ={}).exports[0])
    assert fmt("").row_group_bytes == DEFAULT_ROW_GROUP_MB << 20
    assert fmt("parquet: {encode_threads: 2}, ").row_group_bytes == DEFAULT_ROW_GROUP_MB << 20
    assert fmt("parquet: {target_row_group_mb: 32}, ").row_group_bytes == 32 << 20
