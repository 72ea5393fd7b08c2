"""Positive cases: every key of the grammar parses to the value the engine will use."""

from __future__ import annotations

import pytest

from rivet_dagster.config import (
    AzureDestinationConfig, GcsDestinationConfig, LocalDestinationConfig, S3DestinationConfig,
    StdoutDestinationConfig,
)
from rivet_dagster.config.column_types import ColumnType

FULL = """\
source:
  type: postgres
  url_env: PG_URL
  environment: replica
  tls: {mode: verify-ca, ca_file: ca.pem, accept_invalid_certs: false, accept_invalid_hostnames: false}
  tuning:
    profile: safe
    batch_size_memory_mb: 64
    throttle_ms: 10
    statement_timeout_s: 60
    lock_timeout_s: 5
    max_retries: 4
    retry_backoff_ms: 1500
    memory_threshold_mb: 1024
    max_batch_memory_mb: 128
    on_batch_memory_exceeded: auto_shrink
    adaptive: true
    min_parallel: 2
    max_value_mb: 64
notifications:
  slack: {webhook_url_env: SLACK_HOOK, on: [failure, schema_change, degraded]}
parallel_exports: true
parallel_export_processes: false
dagster: {key_prefix: [raw, pg], group: raw_pg, tags: {team: data}}
exports:
  - name: orders
    query: "SELECT * FROM orders;"
    mode: incremental
    cursor_column: updated_at
    incremental_cursor_mode: coalesce
    cursor_fallback_column: created_at
    format: parquet
    compression: gzip
    compression_level: 9
    parquet: {row_group_strategy: fixed_rows, row_group_rows: 50000}
    max_file_size: 256MB
    skip_empty: true
    meta_columns: {exported_at: true, row_hash: true}
    quality: {row_count_min: 1, row_count_max: 1000000, null_ratio_max: {email: 0.1},
              unique_columns: [id], unique_max_entries: 5000000}
    columns: {amount: "numeric(12, 2)", flags: int2, payload: jsonb_is_not_here}
    target: bigquery
    on_schema_drift: fail
    shape_drift_warn_factor: 0
    verify: content
    tuning: {batch_size: 1000, throttle_ms: 0}
    source_group: replica_a
    reconcile_required: true
    destination: {type: s3, bucket: lake, prefix: "raw/{export}/{date}/", region: eu-west-1,
                  endpoint: "http://minio:9000", access_key_env: AK, secret_key_env: SK,
                  session_token_env: ST, aws_profile: prod, allow_anonymous: false}
    dagster: {key_prefix: raw, group: orders, tags: {pii: "yes"}, description: Orders,
              sensor_interval_s: 60}
  - name: events
    table: public.events
    mode: chunked
    chunk_column: id
    chunk_size: 50000
    chunk_checkpoint: true
    chunk_max_attempts: 3
    parallel: 4
    format: csv
    compression_profile: compact
    destination: {type: gcs, bucket: lake, prefix: events/, credentials_file: key.json,
                  endpoint: "http://fake-gcs:4443"}
  - name: days
    table: public.events
    mode: chunked
    chunk_by_days: 7
    chunk_column: created_at
    format: parquet
    destination: {type: azure, bucket: container, account_name: acct, sas_token_env: SAS,
                  endpoint: "http://azurite:10000/acct"}
  - name: recent
    query_file: sql/recent.sql
    mode: time_window
    time_column: ts
    time_column_type: unix
    days_window: 3
    format: csv
    destination: {type: stdout}
  - name: sized
    table: big
    mode: chunked
    chunk_size_memory_mb: 256
    chunk_by_key: true
    format: parquet
    destination: {type: local, path: "./out/{export}"}
"""


@pytest.fixture
def full(load, tmp_path):
    (tmp_path / "sql").mkdir()
    (tmp_path / "sql" / "recent.sql").write_text("SELECT * FROM events\n;\n")
    return load(FULL.replace("jsonb_is_not_here", "json"))


def test_full_config_root(full):
    assert [e.name for e in full.exports] == ["orders", "events", "days", "recent", "sized"]
    assert full.parallel_exports is True and full.parallel_export_processes is False
    assert full.dagster.key_prefix == ["raw", "pg"] and full.dagster.tags == {"team": "data"}
    assert full.notifications.slack.on == ["failure", "schema_change", "degraded"]
    assert full.export("recent").mode == "time_window"


def test_full_config_source(full):
    src = full.source
    assert (src.url_env, src.environment, src.tls.mode, src.tls.ca_file) == (
        "PG_URL", "replica", "verify-ca", "ca.pem")
    assert src.tuning.on_batch_memory_exceeded == "auto_shrink"
    assert src.tuning.batch_size_memory_mb == 64 and src.tuning.adaptive is True


def test_full_config_incremental_export(full):
    orders = full.export("orders")
    assert orders.base_query() == "SELECT * FROM orders"
    assert orders.max_file_size == 256 * 1024**2
    assert orders.effective_compression() == ("gzip", 9)
    assert orders.column_overrides() == {"amount": ColumnType("decimal", 12, 2),
                                         "flags": ColumnType("int16"), "payload": ColumnType("json")}
    assert orders.quality.null_ratio_max == {"email": 0.1}
    assert orders.parquet.row_group_rows == 50_000
    assert isinstance(orders.destination, S3DestinationConfig)
    assert orders.destination.prefix == "raw/{export}/{date}/"
    assert orders.dagster.sensor_interval_s == 60
    assert orders.tuning.batch_size == 1000 and orders.tuning.throttle_ms == 0


def test_full_config_destinations(full):
    kinds = [type(e.destination) for e in full.exports]
    assert kinds == [S3DestinationConfig, GcsDestinationConfig, AzureDestinationConfig,
                     StdoutDestinationConfig, LocalDestinationConfig]


def test_query_file_is_read_relative_to_the_config_folder(full, tmp_path, monkeypatch):
    monkeypatch.chdir("/")
    assert full.export("recent").base_query() == "SELECT * FROM events"


def test_table_becomes_select_star(full):
    assert full.export("events").base_query() == "SELECT * FROM public.events"


def test_structured_source(load, patched):
    config = load(patched({}, {}, {"url": "__delete__", "type": "mysql", "host": "db",
                                   "user": "reader", "database": "shop", "password_env": "PW"}))
    src = config.source
    assert (src.host, src.user, src.database, src.password_env, src.port) == (
        "db", "reader", "shop", "PW", None)
    assert src.default_port == 3306
    assert src.tls is None and src.environment == "production"


def test_url_env_and_url_file(load, patched):
    assert load(patched({}, {}, {"url": "__delete__", "url_env": "PG_URL"})).source.url_env == "PG_URL"
    assert load(patched({}, {}, {"url": "__delete__", "url_file": "/run/url"})).source.url_file == "/run/url"


def test_tls_block_defaults_to_verify_full(load, patched):
    assert load(patched({}, {}, {"tls": {}})).source.tls.mode == "verify-full"


def test_defaults_of_a_minimal_export(load, patched):
    export = load(patched({})).exports[0]
    assert (export.mode, export.compression, export.compression_level, export.on_schema_drift,
            export.verify, export.chunk_size, export.parallel) == (
        "full", "zstd", None, "warn", "size", 100_000, 1)
    assert export.meta_columns.exported_at is False and export.quality is None
    assert export.effective_compression() == ("zstd", None)


@pytest.mark.parametrize("profile, expected", [
    ("none", ("none", None)), ("fast", ("snappy", None)),
    ("balanced", ("zstd", 3)), ("compact", ("zstd", 9))])
def test_compression_profile_mapping(load, patched, profile, expected):
    export = load(patched({}, {"compression_profile": profile, "compression": "gzip"})).exports[0]
    assert export.effective_compression() == expected


@pytest.mark.parametrize("value, size", [
    ("100KB", 100 * 1024), ("256MB", 256 * 1024**2), ("1GB", 1024**3), ("1.5 GiB", int(1.5 * 1024**3)),
    (1048576, 1048576), ("512", 512)])
def test_max_file_size_forms(load, patched, value, size):
    assert load(patched({}, {"max_file_size": value})).exports[0].max_file_size == size


@pytest.mark.parametrize("compression, level", [("zstd", 1), ("zstd", 22), ("gzip", 0), ("gzip", 10)])
def test_compression_level_bounds(load, patched, compression, level):
    export = load(patched({}, {"compression": compression, "compression_level": level})).exports[0]
    assert export.effective_compression() == (compression, level)


def test_chunked_with_table_needs_no_chunk_column(load, patched):
    assert load(patched({}, {"mode": "chunked"})).exports[0].chunk_column is None


def test_identifiers_accepted(load, patched):
    export = load(patched({}, {"name": "_Orders_2024", "table": "sales$1.order_items"})).exports[0]
    assert export.base_query() == "SELECT * FROM sales$1.order_items"


def test_yaml_1_2_booleans(load):
    """`on:` (Slack) and `yes` stay strings, as in Rivet's YAML 1.2 parser; true/false are bools."""
    config = load("""\
source: {type: postgres, url: x}
notifications: {slack: {webhook_url_env: HOOK, on: [failure]}}
exports:
  - {name: a, table: t, format: csv, skip_empty: true, destination: {type: stdout},
     dagster: {tags: {pii: yes, on: off}}}
""")
    assert config.notifications.slack.on == ["failure"]
    assert config.exports[0].dagster.tags == {"pii": "yes", "on": "off"}
    assert config.exports[0].skip_empty is True
