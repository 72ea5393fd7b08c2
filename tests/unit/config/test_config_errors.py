"""Negative cases: every bad config fails with a message naming the export and the field.

Why so many: the config is the library's whole user interface, and a message that does not
say *where* is the difference between a one-minute fix and an afternoon of guessing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from rivet_dagster.config import load_config
from rivet_dagster.errors import RivetConfigError

D = "__delete__"  # conftest.DELETE: remove the key
ORDERS = "export 'orders'"

# id -> (root patch, export patch, source patch, substrings the message must contain)
CASES: dict[str, tuple[dict, dict, dict, list[str]]] = {
    # unknown keys, with a "did you mean" hint, at every level
    "root_unknown_key": ({"parallel_export": True}, {}, {},
                         ["field 'parallel_export'", "did you mean 'parallel_exports'"]),
    "source_unknown_key": ({}, {}, {"environmnet": "local"},
                           ["field 'source.environmnet'", "did you mean 'environment'"]),
    "export_unknown_key": ({}, {"skip_emtpy": True}, {},
                           [ORDERS, "field 'skip_emtpy'", "did you mean 'skip_empty'"]),
    "destination_unknown_key": ({}, {"destination": {"pth": "x"}}, {},
                                [ORDERS, "field 'destination.pth'", "did you mean 'path'"]),
    "tuning_unknown_key": ({}, {"tuning": {"batch_sise": 10}}, {},
                           [ORDERS, "field 'tuning.batch_sise'", "did you mean 'batch_size'"]),
    "source_tuning_unknown_key": ({}, {}, {"tuning": {"throtle_ms": 1}},
                                  ["field 'source.tuning.throtle_ms'", "did you mean 'throttle_ms'"]),
    "parquet_unknown_key": ({}, {"parquet": {"target_row_group_m": 64}}, {},
                            [ORDERS, "field 'parquet.target_row_group_m'",
                             "did you mean 'target_row_group_mb'"]),
    "quality_unknown_key": ({}, {"quality": {"row_count_mn": 1}}, {},
                            [ORDERS, "field 'quality.row_count_mn'", "did you mean 'row_count_min'"]),
    "dagster_unknown_key": ({}, {"dagster": {"grup": "raw"}}, {},
                            [ORDERS, "field 'dagster.grup'", "did you mean 'group'"]),
    "root_dagster_unknown_key": ({"dagster": {"key_prefx": "raw"}}, {}, {},
                                 ["field 'dagster.key_prefx'", "did you mean 'key_prefix'"]),
    "meta_columns_unknown_key": ({}, {"meta_columns": {"row_hsh": True}}, {},
                                 [ORDERS, "field 'meta_columns.row_hsh'", "did you mean 'row_hash'"]),
    # source connection styles
    "url_and_url_env": ({}, {}, {"url_env": "PG_URL"}, ["field 'source.url_env'", "exactly one of url"]),
    "url_and_host": ({}, {}, {"host": "db"}, ["field 'source.host'", "cannot be combined"]),
    "structured_without_host": ({}, {}, {"url": D, "user": "u", "database": "shop"},
                                ["field 'source.host'", "needs host"]),
    "no_connection": ({}, {}, {"url": D}, ["field 'source'", "no connection given"]),
    "password_and_password_env": ({}, {}, {"url": D, "host": "db", "user": "u", "database": "d",
                                           "password": "hunter2", "password_env": "PGPASS"},
                                  ["field 'source.password_env'", "not both"]),
    "bad_source_type": ({}, {}, {"type": "postgress"}, ["field 'source.type'", "did you mean 'postgres'"]),
    "bad_tls_mode": ({}, {}, {"tls": {"mode": "verify"}}, ["field 'source.tls.mode'", "verify-full"]),
    "bad_port": ({}, {}, {"url": D, "host": "db", "user": "u", "database": "d", "port": 70000},
                 ["field 'source.port'", "65535"]),
    # tuning placement and exclusivity
    "tuning_key_under_source": ({}, {}, {"batch_size": 5000},
                                ["field 'source.batch_size'", "under `tuning:`"]),
    "tuning_key_under_export": ({}, {"throttle_ms": 10}, {},
                                [ORDERS, "field 'throttle_ms'", "under `tuning:`"]),
    "batch_size_and_memory": ({}, {"tuning": {"batch_size": 10, "batch_size_memory_mb": 64}}, {},
                              [ORDERS, "field 'tuning.batch_size_memory_mb'", "mutually exclusive"]),
    "bad_profile": ({}, {"tuning": {"profile": "turbo"}}, {},
                    [ORDERS, "field 'tuning.profile'", "fast, balanced, safe"]),
    # what to read
    "query_and_table": ({}, {"query": "SELECT 1"}, {}, [ORDERS, "field 'table'", "exactly one of"]),
    "no_query_no_table": ({}, {"table": D}, {}, [ORDERS, "field 'query'", "exactly one of"]),
    "query_file_absolute": ({}, {"table": D, "query_file": "/etc/passwd"}, {},
                            [ORDERS, "field 'query_file'", "inside the config's folder"]),
    "query_file_dotdot": ({}, {"table": D, "query_file": "sql/../../x.sql"}, {},
                          [ORDERS, "field 'query_file'", "no '..'"]),
    "query_file_missing": ({}, {"table": D, "query_file": "missing.sql"}, {},
                           [ORDERS, "field 'query_file'", "cannot read 'missing.sql'"]),
    "table_with_quote": ({}, {"table": 'public."orders"'}, {}, [ORDERS, "field 'table'", "ASCII"]),
    "table_with_three_parts": ({}, {"table": "db.public.orders"}, {}, [ORDERS, "field 'table'"]),
    # mode / format / compression
    "bad_mode": ({}, {"mode": "incremantal"}, {}, [ORDERS, "field 'mode'", "did you mean 'incremental'"]),
    "bad_format": ({}, {"format": "parket"}, {}, [ORDERS, "field 'format'", "did you mean 'parquet'"]),
    "missing_format": ({}, {"format": D}, {}, [ORDERS, "field 'format'", "required"]),
    "level_on_snappy": ({}, {"compression": "snappy", "compression_level": 3}, {},
                        [ORDERS, "field 'compression_level'", "only valid with zstd or gzip"]),
    "zstd_level_30": ({}, {"compression_level": 30}, {}, [ORDERS, "field 'compression_level'", "1..22"]),
    "gzip_level_11": ({}, {"compression": "gzip", "compression_level": 11}, {},
                      [ORDERS, "field 'compression_level'", "0..10"]),
    "bad_compression_profile": ({}, {"compression_profile": "smallest"}, {},
                                [ORDERS, "field 'compression_profile'", "compact"]),
    "max_file_size_abc": ({}, {"max_file_size": "abc"}, {}, [ORDERS, "field 'max_file_size'", "256MB"]),
    "max_file_size_zero": ({}, {"max_file_size": 0}, {}, [ORDERS, "field 'max_file_size'", "positive"]),
    "column_decimal_80": ({}, {"columns": {"amount": "decimal(80,2)"}}, {},
                          [ORDERS, "field 'columns'", "amount", "precision 80"]),
    "column_geometry": ({}, {"columns": {"shape": "geometry"}}, {},
                        [ORDERS, "field 'columns'", "unknown column type 'geometry'"]),
    "parquet_fixed_rows_without_rows": ({}, {"parquet": {"row_group_strategy": "fixed_rows"}}, {},
                                        [ORDERS, "field 'parquet.row_group_rows'"]),
    "parquet_encode_threads_zero": ({}, {"parquet": {"encode_threads": 0}}, {},
                                    [ORDERS, "field 'parquet.encode_threads'", "1"]),
    "parquet_encode_threads_word": ({}, {"parquet": {"encode_threads": "many"}}, {},
                                    [ORDERS, "field 'parquet.encode_threads'"]),
    # mode-specific keys
    "incremental_without_cursor": ({}, {"mode": "incremental"}, {},
                                   [ORDERS, "field 'cursor_column'", "needs cursor_column"]),
    "cursor_on_full": ({}, {"cursor_column": "updated_at"}, {},
                       [ORDERS, "field 'cursor_column'", "only used with mode incremental"]),
    "coalesce_without_fallback": ({}, {"mode": "incremental", "cursor_column": "updated_at",
                                       "incremental_cursor_mode": "coalesce"}, {},
                                  [ORDERS, "field 'cursor_fallback_column'", "needs"]),
    "fallback_without_coalesce": ({}, {"mode": "incremental", "cursor_column": "updated_at",
                                       "cursor_fallback_column": "created_at"}, {},
                                  [ORDERS, "field 'cursor_fallback_column'", "coalesce"]),
    "time_window_without_time_column": ({}, {"mode": "time_window", "days_window": 7}, {},
                                        [ORDERS, "field 'time_column'", "needs time_column"]),
    "time_window_without_days": ({}, {"mode": "time_window", "time_column": "ts"}, {},
                                 [ORDERS, "field 'days_window'", "needs days_window"]),
    "days_window_on_full": ({}, {"days_window": 7}, {}, [ORDERS, "field 'days_window'"]),
    "chunk_key_on_full": ({}, {"chunk_column": "id"}, {},
                          [ORDERS, "field 'chunk_column'", "only used with mode chunked"]),
    "chunk_count_and_dense": ({}, {"mode": "chunked", "chunk_column": "id", "chunk_count": 4,
                                   "chunk_dense": True}, {},
                              [ORDERS, "field 'chunk_count'", "chunk_dense"]),
    "chunked_query_without_column": ({}, {"mode": "chunked", "table": D, "query": "SELECT 1"}, {},
                                     [ORDERS, "field 'chunk_column'", "needs chunk_column"]),
    "chunk_by_key_without_table": ({}, {"mode": "chunked", "table": D, "query": "SELECT 1",
                                        "chunk_by_key": True}, {},
                                   [ORDERS, "field 'chunk_by_key'", "needs `table:`"]),
    "parallel_zero": ({}, {"mode": "chunked", "parallel": 0}, {}, [ORDERS, "field 'parallel'"]),
    # destinations
    "stdout_with_max_file_size": ({}, {"destination": {"type": "stdout", "path": D},
                                       "max_file_size": "1MB"}, {},
                                  [ORDERS, "field 'max_file_size'", "stdout"]),
    "stdout_with_chunked": ({}, {"destination": {"type": "stdout", "path": D}, "mode": "chunked"}, {},
                            [ORDERS, "field 'mode'", "stdout"]),
    "unknown_destination_type": ({}, {"destination": {"type": "s4"}}, {},
                                 [ORDERS, "field 'destination'", "did you mean 's3'"]),
    "destination_without_type": ({}, {"destination": {"type": D}}, {},
                                 [ORDERS, "field 'destination'", "needs `type:`"]),
    "local_without_path": ({}, {"destination": {"path": D}}, {},
                           [ORDERS, "field 'destination.path'", "required"]),
    "s3_only_access_key_env": ({}, {"destination": {"type": "s3", "path": D, "bucket": "b",
                                                    "access_key_env": "AWS_KEY"}}, {},
                               [ORDERS, "field 'destination.secret_key_env'", "both"]),
    "s3_endpoint_without_region": ({}, {"destination": {"type": "s3", "path": D, "bucket": "b",
                                                        "endpoint": "http://minio:9000"}}, {},
                                   [ORDERS, "field 'destination.region'"]),
    "gcs_anonymous_with_credentials": ({}, {"destination": {"type": "gcs", "path": D, "bucket": "b",
                                                            "allow_anonymous": True,
                                                            "credentials_file": "k.json"}}, {},
                                       [ORDERS, "field 'destination.credentials_file'"]),
    "azure_anonymous_with_key": ({}, {"destination": {"type": "azure", "path": D, "bucket": "c",
                                                      "account_name": "a", "allow_anonymous": True,
                                                      "account_key_env": "AZ_KEY"}}, {},
                                 [ORDERS, "field 'destination.allow_anonymous'", "excludes"]),
    "azure_key_and_sas": ({}, {"destination": {"type": "azure", "path": D, "bucket": "c",
                                               "account_name": "a", "account_key_env": "K",
                                               "sas_token_env": "S"}}, {},
                          [ORDERS, "field 'destination.sas_token_env'"]),
    # names, lists, quality, dagster, notifications
    "empty_exports": ({"exports": []}, {}, {}, ["field 'exports'", "at least one export"]),
    "export_name_dash": ({}, {"name": "my-orders"}, {},
                         ["export 'my-orders'", "field 'name'", "letters, digits and _"]),
    "export_name_space": ({}, {"name": "my orders"}, {}, ["export 'my orders'", "field 'name'"]),
    "export_name_missing": ({}, {"name": D}, {}, ["export 'exports[0]'", "field 'name'", "required"]),
    "quality_min_above_max": ({}, {"quality": {"row_count_min": 10, "row_count_max": 5}}, {},
                              [ORDERS, "field 'quality.row_count_min'", "larger than row_count_max"]),
    "null_ratio_1_5": ({}, {"quality": {"null_ratio_max": {"email": 1.5}}}, {},
                       [ORDERS, "field 'quality.null_ratio_max'", "between 0 and 1"]),
    "key_prefix_slash": ({}, {"dagster": {"key_prefix": "raw/pg"}}, {},
                         [ORDERS, "field 'dagster.key_prefix'", "'raw/pg'"]),
    "executor_per_export": ({}, {"dagster": {"executor": "in_process"}}, {},
                            [ORDERS, "field 'dagster.executor'", "top-level `dagster:` block"]),
    "executor_unknown": ({"dagster": {"executor": "threads"}}, {}, {},
                         ["field 'dagster.executor'", "in_process", "multiprocess"]),
    "dagster_group_dash": ({}, {"dagster": {"group": "raw-pg"}}, {}, [ORDERS, "field 'dagster.group'"]),
    "slack_without_url": ({"notifications": {"slack": {"on": ["failure"]}}}, {}, {},
                          ["field 'notifications.slack.webhook_url'", "exactly one of"]),
    "slack_bad_event": ({"notifications": {"slack": {"webhook_url_env": "HOOK", "on": ["boom"]}}},
                        {}, {}, ["field 'notifications.slack.on[0]'", "failure"]),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_bad_config_names_export_and_field(case, patched, load_error):
    root, export, source, expected = CASES[case]
    err = load_error(patched(root, export, source))
    message = str(err)
    for text in expected:
        assert text in message, f"{text!r} not in:\n{message}"
    assert err.problems, "validation problems are listed one by one"
    assert "Traceback" not in message


def test_duplicate_export_names(patched, load_error):
    data = patched({})
    data["exports"].append(dict(data["exports"][0]))
    err = load_error(data)
    assert "export 'orders', field 'name'" in str(err)
    assert "used twice" in str(err)


def test_second_export_is_named(patched, load_error):
    data = patched({})
    data["exports"].append({"name": "customers", "table": "public.customers", "format": "csv",
                            "mode": "full", "destination": {"type": "local", "path": "out"},
                            "cursor_column": "id"})
    err = load_error(data)
    assert len(err.problems) == 1
    assert "export 'customers', field 'cursor_column'" in str(err.problems[0])


def test_query_file_symlink_escaping(tmp_path, patched):
    outside = tmp_path / "outside.sql"
    outside.write_text("SELECT 1")
    folder = tmp_path / "cfg"
    folder.mkdir()
    os.symlink(outside, folder / "link.sql")
    path = folder / "rivet.yaml"
    path.write_text(yaml.safe_dump(patched({}, {"table": D, "query_file": "link.sql"})))
    with pytest.raises(RivetConfigError) as info:
        load_config(path, environ={})
    assert "export 'orders', field 'query_file'" in str(info.value)
    assert "symlink" in str(info.value)


# Whole-file problems: no export or field to name, but the file and the position are named.
RAW_CASES = {
    "invalid_yaml": ("source: [\n", ["rivet.yaml", "invalid YAML", "line 2"]),
    "bad_indent": ("source:\n  type: postgres\n url: x\n", ["invalid YAML", "line 3"]),
    "non_mapping_top_level": ("- source\n- exports\n", ["must be a mapping with `source:`"]),
    "scalar_top_level": ("hello\n", ["must be a mapping"]),
    "empty_file": ("", ["the file is empty"]),
    "duplicate_key": ("source: {type: postgres, url: x}\nexports:\n  - name: a\n    table: t\n"
                      "    format: csv\n    table: u\n    destination: {type: stdout}\n",
                      ["duplicate key 'table'", "line 6"]),
}


@pytest.mark.parametrize("case", list(RAW_CASES), ids=list(RAW_CASES))
def test_whole_file_problems(case, load_error):
    text, expected = RAW_CASES[case]
    message = str(load_error(text))
    for part in expected:
        assert part in message, message


def test_missing_config_file(tmp_path):
    with pytest.raises(RivetConfigError) as info:
        load_config(tmp_path / "nope.yaml", environ={})
    assert "nope.yaml" in str(info.value)
    assert "cannot read the config file" in str(info.value)


def test_unset_variable_names_export_and_field(patched, write_config, load_error):
    text = Path(write_config(patched({}))).read_text().replace("path: out", "path: ${OUT_DIR}")
    err = load_error(text)
    assert len(err.problems) == 1
    assert "export 'orders', field 'destination.path'" in str(err)
    assert "${OUT_DIR} is not set" in str(err)


def test_all_problems_in_one_file_are_reported(load_error):
    text = """\
source:
  type: postgres
  url: postgresql://reader@db/shop
  url_env: PG_URL
exports:
  - name: orders
    table: public.orders
    format: parquett
    compression_level: 30
    destination: {type: local, path: out}
  - name: customers
    query_file: /abs/customers.sql
    format: csv
    mode: incremental
    destination: {type: local, pth: out}
  - name: events
    query: SELECT * FROM events WHERE day >= '${SINCE}'
    format: csv
    destination: {type: stdout}
    max_file_size: 1MB
"""
    err = load_error(text)
    rendered = [str(p) for p in err.problems]
    expected = [
        "export 'events', field 'query'",                # unset ${SINCE}
        "field 'source.url_env'",                        # url + url_env
        "export 'orders', field 'format'",               # parquett
        "export 'customers', field 'destination.path'",  # required, misspelt
        "export 'customers', field 'destination.pth'",   # unknown key
        "export 'events', field 'max_file_size'",        # stdout + max_file_size
        "export 'customers', field 'query_file'",        # absolute path
    ]
    assert len(rendered) == len(expected), "\n".join(rendered)
    for part in expected:
        assert any(part in line for line in rendered), f"{part!r} missing from {rendered}"
    assert str(err).splitlines()[0].endswith(f"{len(expected)} problems:")


def test_secret_never_in_message(patched, load_error):
    data = patched({}, {}, {"url": D, "host": "db", "user": "u", "database": "d",
                            "password": "s3cr3t-value", "password_env": "PGPASS"})
    assert "s3cr3t-value" not in str(load_error(data))
