"""Every supported PostgreSQL type survives Parquet and CSV, value for value."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import uuid

import psycopg
from psycopg.types.string import TextLoader
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from tests.integration.db_fixtures import pg_execute
from tests.integration.engine.export_helpers import export_once

TABLE = """
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE all_types (
  id int PRIMARY KEY, b bool, i2 int2, i4 int4, i8 int8, f4 float4, f8 float8,
  n38 numeric(38,10), n50 numeric(50,20), d date, t time, ts timestamp, tstz timestamptz,
  txt text, vc varchar(20), ch char(5), by bytea, js json, jsb jsonb, u uuid,
  ia int4[], ta text[], m mood, iv interval, nb numeric);
INSERT INTO all_types VALUES
 (1, true, 32767, 2147483647, 9223372036854775807, 3.5, 1.7976931348623157e308,
  '9999999999999999999999999999.9999999999', '999999999999999999999999999999.99999999999999999999',
  '0001-01-01', '23:59:59.999999', '1900-01-01 00:00:00.000001', '9999-12-31 23:59:59.999999+00',
  'unicode ✓ 雪 🚀', '', 'ab', '\\x00ff00', '{"a": [1, 2]}', '{"b": {"c": null}}',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{1,NULL,3}', '{"x",NULL,"z,\\"q\\""}', 'happy', '1 year 2 mons 3 days 04:05:06.5', 1.5),
 (2, false, -32768, -2147483648, -9223372036854775808, -0.0, -1e-300,
  '-0.0', '-12345678901234567890123456789.12345678901234567890',
  '1969-12-31', '00:00:00', '1969-12-31 23:59:59.999999', '1900-06-15 12:00:00+05:30',
  'line1
line2 "quoted", comma', 'x', 'abcde', '\\x', '[]', '[]',
  '00000000-0000-0000-0000-000000000000', '{}', '{}', 'sad', '-1 day', -2.25),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
"""
QUERY = "SELECT * FROM all_types ORDER BY id"
CONFIG = """
source: {{type: postgres, url: "{url}", tuning: {{profile: fast, batch_size: 2}}}}
exports:
  - name: all_types
    query: "{query}"
    format: {fmt}
    columns: {{nb: "decimal(20,4)"}}
    destination: {{type: local, path: "{out}"}}
"""


@pytest.fixture(scope="module")
def source_rows(pg_url):
    pg_execute(pg_url, TABLE)
    with psycopg.connect(pg_url) as conn:
        conn.execute("SET TimeZone = 'UTC'; SET IntervalStyle = 'iso_8601'")
        # intervals are exported as ISO-8601 text, which psycopg's interval loader cannot parse
        conn.adapters.register_loader("interval", TextLoader)
        cur = conn.execute(QUERY)
        names = [d.name for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]


def _export(pg_url, tmp_path, fmt):
    result = export_once(CONFIG.format(url=pg_url, query=QUERY, fmt=fmt, out=tmp_path), tmp_path)
    assert result.rows == 3
    assert len(result.parts) == 1
    return result, tmp_path / "all_types" / "snapshot-000001" / result.parts[0].path


def test_parquet_schema_and_values(pg_url, source_rows, tmp_path):
    result, path = _export(pg_url, tmp_path, "parquet")
    table = pq.read_table(path)
    types = {f.name: f.type for f in table.schema}
    assert types["b"] == pa.bool_() and types["i2"] == pa.int16() and types["i4"] == pa.int32()
    assert types["i8"] == pa.int64() and types["f4"] == pa.float32() and types["f8"] == pa.float64()
    assert types["n38"] == pa.decimal128(38, 10) and types["n50"] == pa.decimal256(50, 20)
    assert types["d"] == pa.date32() and types["t"] == pa.time64("us")
    assert types["ts"] == pa.timestamp("us") and types["tstz"] == pa.timestamp("us", tz="UTC")
    assert types["by"] == pa.binary() and types["u"] == pa.uuid()
    assert types["js"] == pa.json_(pa.string()) and types["jsb"] == pa.json_(pa.string())
    assert types["ia"] == pa.list_(pa.int32()) and types["ta"] == pa.list_(pa.string())
    assert types["m"] == pa.string() and types["iv"] == pa.string()
    assert types["nb"] == pa.decimal128(20, 4)
    rows = table.to_pylist()
    assert len(rows) == len(source_rows)
    for got, want in zip(rows, source_rows):
        for column, expected in want.items():
            actual = got[column]
            if column == "u" and isinstance(actual, bytes):
                actual = uuid.UUID(bytes=actual)
            if column in ("js", "jsb") and expected is not None:
                actual = json.loads(actual)
            if column == "f4" and expected is not None:
                assert actual == pytest.approx(expected, rel=1e-7), column
                continue
            if column == "tstz" and expected is not None:
                assert actual == expected.astimezone(dt.timezone.utc), column
                continue
            assert actual == expected, (column, actual, expected)


def test_parquet_logical_types(pg_url, source_rows, tmp_path):
    _, path = _export(pg_url, tmp_path, "parquet")
    schema = pq.ParquetFile(path).schema
    logical = {schema.column(i).name: str(schema.column(i).logical_type) for i in range(len(schema))}
    assert "JSON" in logical["js"] and "UUID" in logical["u"]
    assert "Timestamp(isAdjustedToUTC=true" in logical["tstz"]
    assert "Timestamp(isAdjustedToUTC=false" in logical["ts"]


def _csv_text(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            return value.astimezone(dt.timezone.utc).isoformat()
        return value.isoformat(timespec="microseconds")
    if isinstance(value, dt.time):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (dict,)):
        return value
    return str(value)


def test_csv_values(pg_url, source_rows, tmp_path):
    _, path = _export(pg_url, tmp_path, "csv")
    names = list(source_rows[0])
    table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
        column_types={n: pa.string() for n in names}, strings_can_be_null=True,
        quoted_strings_can_be_null=False))
    rows = table.to_pylist()
    assert table.column_names == names
    for got, want in zip(rows, source_rows):
        for column, expected in want.items():
            actual = got[column]
            if expected is None:
                assert actual is None, column
            elif column in ("js", "jsb"):
                assert json.loads(actual) == expected, column
            elif column in ("f4", "f8"):
                assert math.isclose(float(actual), expected, rel_tol=1e-7), column
            elif column in ("n38", "n50", "nb"):
                assert decimal.Decimal(actual) == expected, column
            elif column == "tstz":
                assert actual.endswith("+00:00")
                assert dt.datetime.fromisoformat(actual) == expected, column
            else:
                assert actual == _csv_text(expected), (column, actual, expected)
    # empty string and NULL stay distinct in CSV: "" vs an empty cell
    raw = path.read_text()
    assert ',"",' in raw
