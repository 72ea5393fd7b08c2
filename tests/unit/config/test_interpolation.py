"""`${NAME}` interpolation (F06/F07): params beat env, unset is an error naming its place."""

from __future__ import annotations

import logging

import pytest

from rivet_dagster.config import interpolate
from rivet_dagster.config.loader import locate

CONFIG = """\
source:
  type: postgres
  url: ${PG_URL}
exports:
  - name: orders
    query: SELECT * FROM orders WHERE created_at >= '${SINCE}'
    format: parquet
    destination:
      type: local
      path: ${OUT}/orders
"""
ENV = {"PG_URL": "postgresql://env@db/shop", "SINCE": "2024-01-01", "OUT": "/env-out"}


def test_values_come_from_env(load):
    config = load(CONFIG, environ=ENV)
    assert config.source.url == "postgresql://env@db/shop"
    assert config.exports[0].destination.path == "/env-out/orders"
    assert "'2024-01-01'" in config.exports[0].base_query()


def test_params_beat_env(load):
    config = load(CONFIG, params={"SINCE": "2025-06-30", "OUT": "/param-out"}, environ=ENV)
    assert "'2025-06-30'" in config.exports[0].base_query()
    assert config.exports[0].destination.path == "/param-out/orders"
    assert config.source.url == "postgresql://env@db/shop"


def test_empty_braces_become_empty_string():
    text, problems = interpolate("a: x${}y\n", environ={})
    assert (text, problems) == ("a: xy\n", [])


def test_name_is_trimmed_and_value_inserted_raw():
    text, problems = interpolate("a: ${ NAME }\n", {"NAME": "v:1"}, environ={})
    assert text == "a: v:1\n" and not problems


def test_comment_lines_are_not_interpolated():
    text = "# old: ${GONE}\n  # ${GONE_TOO}\na: ${A}  # ${A} again\n"
    result, problems = interpolate(text, {"A": "1"}, environ={})
    assert result == "# old: ${GONE}\n  # ${GONE_TOO}\na: 1  # 1 again\n"
    assert problems == []


def test_unset_is_an_error_not_an_empty_string():
    text, problems = interpolate("a: ${MISSING}\n", environ={})
    assert text == "a: ${MISSING}\n"
    assert len(problems) == 1
    assert "line 1: ${MISSING} is not set" in str(problems[0])


def test_unset_names_export_and_field(load_error):
    err = load_error(CONFIG, environ={"PG_URL": "postgresql://h/db"})
    messages = [str(p) for p in err.problems]
    assert messages == [
        "export 'orders', field 'query': line 6: ${SINCE} is not set; pass it as a param "
        "(-p SINCE=...) or set the environment variable",
        "export 'orders', field 'destination.path': line 10: ${OUT} is not set; pass it as a "
        "param (-p OUT=...) or set the environment variable",
    ]


def test_unset_in_source_names_the_field(load_error):
    err = load_error(CONFIG, environ={"SINCE": "x", "OUT": "y"})
    assert len(err.problems) == 1
    assert str(err.problems[0]).startswith("field 'source.url': line 3: ${PG_URL} is not set")


def test_unset_does_not_add_spurious_validation_errors(load_error):
    text = """\
source: {type: mysql, host: db, user: u, database: d, port: "${PORT}"}
exports:
  - {name: orders, table: orders, format: csv, mode: "${MODE}", destination: {type: stdout}}
"""
    err = load_error(text)
    assert [p.field for p in err.problems] == ["source.port", "mode"]
    assert err.problems[1].export == "orders"


@pytest.mark.parametrize("text, expected", [
    # block style, the var on a nested key
    ("exports:\n  - name: a\n    destination:\n      path: ${X}\n", ("a", "destination.path")),
    # indentless sequence (how PyYAML dumps lists)
    ("exports:\n- name: a\n  destination:\n    type: local\n    path: ${X}\n", ("a", "destination.path")),
    # flow mapping on one line: the innermost key before the var
    ("exports:\n  - name: a\n    destination: {type: local, path: ${X}}\n", ("a", "destination.path")),
    # inside a block scalar: the key that owns the scalar
    ("exports:\n  - name: a\n    query: |\n      SELECT 1\n      WHERE d > '${X}'\n", ("a", "query")),
    # second export; name is not the first key of the item
    ("exports:\n  - name: a\n    table: t\n  - table: u\n    name: b\n    format: ${X}\n", ("b", "format")),
    # the var sits on the `- name:` line itself: the export's name is templated
    ("exports:\n  - name: ${X}\n    table: t\n", ("exports[0]", "name")),
    # item without a name
    ("exports:\n  - name: a\n  - table: t\n    path: ${X}\n", ("exports[1]", "path")),
    # outside exports: no export, the full path
    ("source:\n  tls:\n    ca_file: ${X}\n", (None, "source.tls.ca_file")),
    # list items below an export
    ("exports:\n  - name: a\n    quality:\n      unique_columns:\n        - id\n        - ${X}\n",
     ("a", "quality.unique_columns[1]")),
    # a whole export as a flow mapping
    ("exports:\n  - {table: t, name: b, mode: ${X}}\n", ("b", "mode")),
    # comments and blank lines are skipped
    ("exports:\n  - name: a  # main\n\n    # note\n    format: ${X}\n", ("a", "format")),
])
def test_locate(text, expected):
    assert locate(text, text.index("${X}")) == expected


def test_unused_param_warns(caplog):
    with caplog.at_level(logging.WARNING, logger="rivet_dagster.config.loader"):
        interpolate("a: ${USED}\n", {"USED": "1", "TYPO": "2"}, environ={})
    assert "param 'TYPO' is never referenced" in caplog.text
    assert "USED" not in caplog.text


def test_interpolation_happens_before_yaml(load):
    text = CONFIG.replace("  url: ${PG_URL}\n", "${URL_LINE}\n")
    config = load(text, params={"URL_LINE": "  url_env: PG_URL", "SINCE": "s", "OUT": "o"})
    assert config.source.url_env == "PG_URL"
