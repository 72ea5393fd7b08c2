"""Every supported MySQL/MariaDB type survives Parquet and CSV, value for value."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math

import mysql.connector
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from tests.integration.db_fixtures import MYSQL_ADMIN
from tests.integration.engine.export_helpers import export_once
from tests.integration.sources.test_mysql_source import DDL, EXPECTED_TYPES, ROWS, _expected_value

QUERY = "SELECT * FROM all_types ORDER BY id"
CONFIG = """
source: {{type: mysql, url: "{url}", tuning: {{profile: fast, batch_size: 2}}}}
exports:
  - name: my_types
    query: "{query}"
    format: {fmt}
    destination: {{type: local, path: "{out}"}}
"""


@pytest.fixture(scope="module")
def driver_rows(mysql_url):
    database = mysql_url.rsplit("/", 1)[1]
    conn = mysql.connector.connect(database=database, **MYSQL_ADMIN)
    cur = conn.cursor()
    cur.execute("SET SESSION sql_mode = ''")
    cur.execute(DDL)
    for row in ROWS:
        cur.execute(f"INSERT INTO all_types VALUES {row}")
    conn.commit()
    cur.execute("SET SESSION time_zone = '+00:00'")
    cur.execute(QUERY)
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r)) for r in cur.fetchall()]
    conn.close()
    return rows


def _export(url, tmp_path, fmt):
    result = export_once(CONFIG.format(url=url, query=QUERY, fmt=fmt, out=tmp_path), tmp_path)
    assert result.rows == len(ROWS)
    return tmp_path / "my_types" / "snapshot-000001" / result.parts[0].path


def test_parquet_round_trip(mysql_url, driver_rows, tmp_path):
    path = _export(mysql_url, tmp_path, "parquet")
    table = pq.read_table(path)
    assert dict(zip(table.schema.names, table.schema.types)) == EXPECTED_TYPES
    for ours, theirs in zip(table.to_pylist(), driver_rows):
        for name, value in theirs.items():
            got = ours[name]
            if name == "s" and got is not None:
                got = set(got.split(",")) - {""}
            assert got == _expected_value(name, value), (ours["id"], name)
    assert pq.read_table(path).column("bu").to_pylist()[0] == 2**64 - 1


def _csv_expected(name, value):
    value = _expected_value(name, value)
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            return value.isoformat(timespec="microseconds")
        return value.isoformat(timespec="microseconds")
    if isinstance(value, dt.time):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def test_csv_round_trip(mysql_url, driver_rows, tmp_path):
    path = _export(mysql_url, tmp_path, "csv")
    names = list(driver_rows[0])
    table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
        column_types={n: pa.string() for n in names}, strings_can_be_null=True,
        quoted_strings_can_be_null=False))
    assert table.column_names == names
    for ours, theirs in zip(table.to_pylist(), driver_rows):
        for name, value in theirs.items():
            got, want = ours[name], _csv_expected(name, value)
            if want is None:
                assert got is None, (ours["id"], name)
            elif name in ("f", "db"):
                assert math.isclose(float(got), want, rel_tol=1e-6), (ours["id"], name)
            elif isinstance(want, decimal.Decimal):
                assert decimal.Decimal(got) == want, (ours["id"], name)
            elif name == "j":
                assert json.loads(got) == json.loads(want), (ours["id"], name)
            elif name == "s":
                assert set(got.split(",")) - {""} == want, (ours["id"], name)
            else:
                assert got == str(want), (ours["id"], name, got, want)
