"""The MariaDB Arrow reader's statement planning: pure, no server."""

from __future__ import annotations

import pytest

from rivet_dagster.config.column_types import parse_column_type
from rivet_dagster.errors import RivetSourceError
from rivet_dagster.sources import mysql_types as mt
from rivet_dagster.sources.base import ReadRequest
from rivet_dagster.sources.mysql_arrow import READER_ENV, plan, reader_choice, split_order_by


@pytest.mark.parametrize("sql, body, order", [
    ("SELECT * FROM t", "SELECT * FROM t", ""),
    ("SELECT * FROM t ORDER BY a DESC, b", "SELECT * FROM t", " ORDER BY a DESC, b"),
    ("select * from t order  by a", "select * from t", " order  by a"),
    # inside parentheses, quotes and comments nothing counts
    ("SELECT * FROM (SELECT * FROM u ORDER BY x LIMIT 5) q", "SELECT * FROM (SELECT * FROM u ORDER BY x LIMIT 5) q", ""),
    ("SELECT 'ORDER BY x', `order by` FROM t", "SELECT 'ORDER BY x', `order by` FROM t", ""),
    ("SELECT a FROM t -- ORDER BY a\n", "SELECT a FROM t -- ORDER BY a\n", ""),
    ("SELECT a /* LIMIT 1 */ FROM t # LIMIT 2\n", "SELECT a /* LIMIT 1 */ FROM t # LIMIT 2\n", ""),
    ("SELECT 'it''s', \"a\\\"b\" FROM t ORDER BY 'x'", "SELECT 'it''s', \"a\\\"b\" FROM t", " ORDER BY 'x'"),
    ("SELECT border_by FROM t", "SELECT border_by FROM t", ""),
    # an ORDER BY after the last branch orders the whole union
    ("SELECT a FROM t UNION ALL SELECT a FROM u ORDER BY a", "SELECT a FROM t UNION ALL SELECT a FROM u", " ORDER BY a"),
])
def test_split_order_by(sql: str, body: str, order: str) -> None:
    assert split_order_by(sql) == (body, order)


@pytest.mark.parametrize("sql", [
    "SELECT * FROM t LIMIT 10",
    "SELECT * FROM t ORDER BY a LIMIT 10 OFFSET 5",
    "SELECT a, b FROM t ORDER BY 2",  # positional: would point at the rewritten column
    "SELECT a, b FROM t ORDER BY a, 2 DESC",
])
def test_queries_the_rewrite_cannot_keep_exact_are_refused(sql: str) -> None:
    assert split_order_by(sql) == (None, "")


def _field(name: str, code: int, **kw) -> mt.FieldMeta:
    return mt.FieldMeta(name=name, type_code=code, **kw)


def test_plan_rewrites_only_what_the_driver_cannot_decode_exactly() -> None:
    fields = [_field("id", mt.LONGLONG), _field("price", mt.NEWDECIMAL, length=12, decimals=2),
              _field("at", mt.DATETIME2), _field("dur", mt.TIME2), _field("name", mt.VAR_STRING),
              _field("flag", mt.TINY, length=1), _field("odd`name", mt.LONG),
              _field("code", mt.LONG)]
    request = ReadRequest(sql="x", column_overrides={"code": parse_column_type("string")},
                          statement_timeout_s=30)
    result, reason = plan(fields, request, "SELECT * FROM t ORDER BY id")
    assert reason == "" and result is not None
    sql = result.sql
    assert sql.startswith("SET STATEMENT time_zone='+00:00', max_statement_time=30 FOR SELECT "
                          f"/* rivet:{result.tag} */ ")
    assert "_rivet.`id` AS `_rivet_c0`" in sql
    assert "CAST(_rivet.`price` AS CHAR) AS `_rivet_c1`" in sql
    assert "IF(_rivet.`at` + INTERVAL 0 DAY IS NULL, NULL, _rivet.`at`) AS `_rivet_c2`" in sql
    assert "CAST(_rivet.`dur` AS CHAR) AS `_rivet_c3`" in sql
    assert "_rivet.`name` AS `_rivet_c4`" in sql and "_rivet.`flag` AS `_rivet_c5`" in sql
    assert "_rivet.`odd``name` AS `_rivet_c6`" in sql
    assert "CAST(_rivet.`code` AS CHAR) AS `_rivet_c7`" in sql  # overridden: from its text
    assert sql.endswith("FROM (SELECT * FROM t) AS _rivet ORDER BY id")


@pytest.mark.parametrize("fields, sql, why", [
    ([_field("id", mt.LONG), _field("ID", mt.LONG)], "SELECT a.id, b.ID FROM a, b", "repeats"),
    ([_field("g", mt.GEOMETRY)], "SELECT g FROM t", "raw bytes"),
    ([_field("id", mt.LONG)], "SELECT id FROM t LIMIT 3", "LIMIT"),
])
def test_plan_refusals_say_why(fields, sql: str, why: str) -> None:
    result, reason = plan(fields, ReadRequest(sql=sql), sql)
    assert result is None and why in reason


def test_reader_choice(monkeypatch) -> None:
    monkeypatch.delenv(READER_ENV, raising=False)
    assert reader_choice() == "auto"
    monkeypatch.setenv(READER_ENV, " Cursor ")
    assert reader_choice() == "cursor"
    monkeypatch.setenv(READER_ENV, "fast")
    with pytest.raises(RivetSourceError, match="export 'orders'.*expected auto, native, arrow or cursor"):
        reader_choice("orders")
