"""Cursor values: JSON round trips, kinds from Arrow types, and the window SQL."""

import datetime as dt
import decimal
import uuid

import pyarrow as pa
import pytest

from rivet_dagster.engine.cursor import Cursor, cursor_kind, later, to_cursor, window_sql

VALUES = [
    Cursor("int", 18446744073709551615), Cursor("decimal", decimal.Decimal("-10.1234")),
    Cursor("date", dt.date(1969, 12, 31)), Cursor("timestamp", dt.datetime(2024, 1, 1, 0, 0, 0, 1)),
    Cursor("timestamptz", dt.datetime(2024, 1, 1, 5, tzinfo=dt.timezone.utc)),
    Cursor("string", "a'b\\c"), Cursor("uuid", uuid.UUID(int=7)), Cursor("float", 1.5),
]


@pytest.mark.parametrize("cursor", VALUES, ids=[c.kind for c in VALUES])
def test_json_round_trip(cursor):
    data = cursor.to_json()
    assert isinstance(data["value"], (int, str))
    assert Cursor.from_json(data) == cursor


@pytest.mark.parametrize("arrow_type,kind", [
    (pa.int16(), "int"), (pa.uint64(), "int"), (pa.decimal128(20, 4), "decimal"),
    (pa.decimal256(50, 2), "decimal"), (pa.float64(), "float"), (pa.date32(), "date"),
    (pa.timestamp("us"), "timestamp"), (pa.timestamp("us", "UTC"), "timestamptz"),
    (pa.string(), "string"), (pa.uuid(), "uuid"), (pa.json_(pa.string()), "string"),
])
def test_kinds(arrow_type, kind):
    assert cursor_kind(arrow_type) == kind


@pytest.mark.parametrize("arrow_type", [pa.bool_(), pa.binary(), pa.list_(pa.int32())])
def test_unusable_kinds(arrow_type):
    with pytest.raises(ValueError, match="cannot be an incremental cursor"):
        cursor_kind(arrow_type)


def test_naive_timestamptz_from_mysql_is_utc():
    c = to_cursor("timestamptz", dt.datetime(2024, 1, 1, 5))
    assert c.value.tzinfo == dt.timezone.utc
    tz = dt.timezone(dt.timedelta(hours=-5))
    assert to_cursor("timestamptz", dt.datetime(2024, 1, 1, tzinfo=tz)).value.hour == 5


def test_later_never_moves_backwards():
    assert later(Cursor("int", 5), Cursor("int", 3)) == Cursor("int", 5)
    assert later(None, Cursor("int", 3)) == Cursor("int", 3)
    assert later(Cursor("int", 3), None) == Cursor("int", 3)


def test_window_sql_binds_values_and_quotes_identifiers():
    sql = window_sql("postgres", "SELECT * FROM t", 'we"ird', None,
                     Cursor("string", "x'); DROP TABLE t; --"), Cursor("string", "z"))
    assert "DROP TABLE" not in sql.select and sql.params == ("x'); DROP TABLE t; --", "z")
    assert '_rivet."we""ird" > %s AND _rivet."we""ird" <= %s' in sql.select
    assert sql.select.endswith('ORDER BY _rivet."we""ird"')
    assert sql.count.startswith("SELECT COUNT(*) FROM (SELECT * FROM t) AS _rivet WHERE")
    first = window_sql("mysql", "SELECT * FROM t", "id", None, None, None)
    assert "WHERE" not in first.select and first.params == ()
    assert "`id` IS NOT NULL" in first.max_probe and first.max_probe.endswith("DESC LIMIT 1")


def test_coalesce_window_adds_and_names_a_synthetic_column():
    sql = window_sql("postgres", "SELECT * FROM t", "u", "c", Cursor("int", 1), None)
    assert sql.synthetic_column == "_rivet_coalesced_cursor"
    assert 'COALESCE(_rivet."u", _rivet."c") AS _rivet_coalesced_cursor' in sql.select
    assert sql.select.endswith('ORDER BY COALESCE(_rivet."u", _rivet."c"), _rivet."u", _rivet."c"')
