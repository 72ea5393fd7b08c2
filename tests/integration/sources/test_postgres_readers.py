"""PostgreSQL's three readers against the real server: binary COPY decoded in C (native),
binary COPY decoded by ADBC (copy), and the named cursor.

The fastest reader that reads every column is chosen; whichever it is, the batches must be
the same values with the same types, in a read-only transaction with the same session
settings, in bounded memory.
"""

from __future__ import annotations

import datetime as dt
import math
import time
import uuid
from decimal import Decimal

import psycopg
import pyarrow as pa
import pytest

from rivet_dagster.config.column_types import parse_column_type
from rivet_dagster.config.source import SourceConfig
from rivet_dagster.errors import RivetSourceError
from rivet_dagster.sources.base import ReadRequest
from rivet_dagster.sources.postgres import PostgresSource
from rivet_dagster.sources.postgres_copy import READER_ENV
from tests.integration.db_fixtures import pg_execute

TABLE = """
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE t (
  id int PRIMARY KEY, b bool, i2 int2, i4 int4, i8 int8, f4 float4, f8 float8,
  n38 numeric(38,10), n50 numeric(50,20), d date, tm time, ts timestamp, tstz timestamptz,
  txt text, vc varchar(20), ch char(5), by bytea, js json, jsb jsonb, u uuid,
  ia int4[], ta text[], tsa timestamptz[], m mood, nb numeric);
INSERT INTO t VALUES
 (1, true, 32767, 2147483647, 9223372036854775807, 3.5, 1.7976931348623157e308,
  '9999999999999999999999999999.9999999999', '999999999999999999999999999999.99999999999999999999',
  '0001-01-01', '23:59:59.999999', '1900-01-01 00:00:00.000001', '9999-12-31 23:59:59.999999+00',
  'unicode ✓ 雪 🚀', '', 'ab', '\\x00ff00', '{"a": [1, 2]}', '{"b": {"c": null}}',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{1,NULL,3}', '{"x",NULL,"z,\\"q\\""}',
  '{"2024-01-01 00:00:00+02", NULL}', 'happy', 1.5),
 (2, false, -32768, -2147483648, -9223372036854775808, 'NaN', '-Infinity',
  '-0.0', '-12345678901234567890123456789.12345678901234567890',
  '1969-12-31', '00:00:00', '1969-12-31 23:59:59.999999', '1900-06-15 12:00:00+05:30',
  'line1
line2 "quoted", comma', 'x', 'abcde', '\\x', '[]', '[]',
  '00000000-0000-0000-0000-000000000000', '{}', '{}', '{}', 'sad', -2.25),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
CREATE TABLE big AS SELECT g AS id, g % 97 AS k, md5(g::text) AS h,
  timestamptz '2024-01-01' + g * interval '1 second' AS at FROM generate_series(1, 200000) g;
CREATE SEQUENCE s;
"""
OVERRIDES = {"nb": parse_column_type("decimal(20,4)")}
# Every column the C decoder reads (numeric, arrays and overrides go to ADBC or the cursor).
NATIVE_COLUMNS = "id, b, i2, i4, i8, f4, f8, d, tm, ts, tstz, txt, vc, ch, by, js, jsb, u, m"
COPY_KINDS = {"native": "PostgresNativeCopyStream", "copy": "PostgresCopyStream"}


@pytest.fixture(scope="module")
def url(pg_url):
    pg_execute(pg_url, TABLE)
    return pg_url


@pytest.fixture
def source(url):
    return PostgresSource(SourceConfig(type="postgres", url=url))


def _read(source, sql, reader, monkeypatch, params=(), **kwargs):
    monkeypatch.setenv(READER_ENV, reader)
    stream = source.open(ReadRequest(sql=sql, params=params, export="e", **kwargs))
    kind = type(stream).__name__
    batches = list(stream)
    table = pa.Table.from_batches(batches, schema=stream.schema)
    return kind, table, batches


def _comparable(table: pa.Table) -> list[dict]:
    def fix(v):
        if isinstance(v, float) and math.isnan(v):
            return "NaN"
        if isinstance(v, list):
            return [fix(x) for x in v]
        return v
    return [{k: fix(v) for k, v in row.items()} for row in table.to_pylist()]


def test_copy_reader_reads_every_supported_type_exactly_like_the_cursor(source, monkeypatch):
    sql = "SELECT * FROM t ORDER BY id"
    kind, copy, _ = _read(source, sql, "auto", monkeypatch, column_overrides=OVERRIDES)
    cursor_kind, cursor, _ = _read(source, sql, "cursor", monkeypatch, column_overrides=OVERRIDES)
    assert (kind, cursor_kind) == ("PostgresCopyStream", "PostgresBatchStream")
    assert copy.schema.equals(cursor.schema, check_metadata=True)
    assert _comparable(copy) == _comparable(cursor)
    row = copy.to_pylist()[0]
    assert row["n50"] == Decimal("999999999999999999999999999999.99999999999999999999")
    assert row["tstz"] == dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.timezone.utc)
    assert row["tsa"][0] == dt.datetime(2023, 12, 31, 22, tzinfo=dt.timezone.utc)
    assert row["u"] == uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
    assert row["m"] == "happy" and row["ch"] == "ab   " and row["nb"] == Decimal("1.5000")


def test_native_reader_reads_its_types_exactly_like_the_cursor(source, monkeypatch):
    sql = f"SELECT {NATIVE_COLUMNS} FROM t ORDER BY id"
    kind, native, _ = _read(source, sql, "auto", monkeypatch)
    _, cursor, _ = _read(source, sql, "cursor", monkeypatch)
    assert kind == "PostgresNativeCopyStream"
    assert native.schema.equals(cursor.schema, check_metadata=True)
    assert _comparable(native) == _comparable(cursor)
    row = native.to_pylist()[0]
    assert row["tstz"] == dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.timezone.utc)
    assert row["d"] == dt.date(1, 1, 1) and row["tm"] == dt.time(23, 59, 59, 999999)
    assert row["u"] == uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
    assert row["txt"] == "unicode ✓ 雪 🚀" and row["by"] == b"\x00\xff\x00"
    assert row["jsb"] == '{"b": {"c": null}}' and row["m"] == "happy" and row["ch"] == "ab   "


def test_native_reader_null_bitmaps_across_many_rows(source, monkeypatch):
    sql = ("SELECT NULLIF(id % 3, 0) AS a, id % 2 = 0 OR NULL AS flag, "
           "CASE WHEN id % 5 = 0 THEN NULL ELSE h END AS h, "
           "CASE WHEN id % 7 = 0 THEN NULL ELSE at END AS at FROM big ORDER BY id")
    kind, native, batches = _read(source, sql, "native", monkeypatch, batch_bytes=1 << 20)
    _, cursor, _ = _read(source, sql, "cursor", monkeypatch)
    assert kind == "PostgresNativeCopyStream" and len(batches) > 3
    assert native.equals(cursor)
    assert native.column("flag").null_count == 100_000


def test_native_reader_empty_result_and_infinity(source, monkeypatch):
    kind, table, _ = _read(source, "SELECT id, h FROM big WHERE false", "native", monkeypatch)
    assert kind == "PostgresNativeCopyStream" and table.num_rows == 0
    assert table.schema.field("h").type == pa.string()
    for value, column_type in (("infinity", "timestamp"), ("-infinity", "date")):
        with pytest.raises(RivetSourceError, match=f"'x' \\({column_type}\\).*infinity") as err:
            _read(source, f"SELECT '{value}'::{column_type} AS x", "native", monkeypatch)
        assert err.value.export == "e" and err.value.field == "columns.x"


def test_native_reader_refuses_what_it_cannot_decode_when_forced(source, monkeypatch):
    with pytest.raises(RivetSourceError, match=f"{READER_ENV}=native: .*ADBC or cursor") as err:
        _read(source, "SELECT n38 FROM t", "native", monkeypatch)
    assert err.value.export == "e" and err.value.field == READER_ENV
    kind, _, _ = _read(source, "SELECT n38 FROM t", "auto", monkeypatch)
    assert kind == "PostgresCopyStream"  # numeric: ADBC decodes it


@pytest.mark.parametrize("sql, why", [
    ("SELECT id, interval '1 day' AS iv FROM t", "interval is rendered as ISO-8601 text"),
    ("SELECT id, 'pg_class'::regclass::oid AS o FROM t", "oid"),
    ("SELECT id, txt AS forced FROM t", "a non-decimal override"),
])
def test_columns_the_copy_reader_cannot_match_keep_the_cursor(source, monkeypatch, sql, why):
    overrides = {"forced": parse_column_type("uuid")} if "forced" in sql else {}
    kind, table, _ = _read(source, sql, "auto", monkeypatch, column_overrides=overrides)
    assert kind == "PostgresBatchStream", why
    assert table.num_rows == 3


def test_the_environment_can_force_the_cursor_and_rejects_nonsense(source, monkeypatch):
    kind, _, _ = _read(source, "SELECT id FROM t", "cursor", monkeypatch)
    assert kind == "PostgresBatchStream"
    with pytest.raises(RivetSourceError, match=f"export 'e'.*{READER_ENV}='fast'"):
        _read(source, "SELECT id FROM t", "fast", monkeypatch)


@pytest.mark.parametrize("param", [
    "x'); DROP TABLE t; --", dt.datetime(2024, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=5))),
    uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), Decimal("-0.5"), dt.date(1969, 12, 31),
    2**62, "it's \\ quoted",
])
@pytest.mark.parametrize("reader", ["native", "copy"])
def test_parameters_become_typed_literals_with_the_same_rows(source, monkeypatch, param, reader):
    column = {str: "txt", dt.datetime: "tstz", uuid.UUID: "u", Decimal: "n38", dt.date: "d",
              int: "i8"}[type(param)]
    if reader == "native" and column == "n38":
        column = "i8"  # numeric is ADBC's
    sql = f"SELECT id, {column} FROM t WHERE {column} > %s OR {column} IS NULL ORDER BY id"
    kind, copy, _ = _read(source, sql, reader, monkeypatch, params=(param,))
    _, cursor, _ = _read(source, sql, "cursor", monkeypatch, params=(param,))
    assert kind == COPY_KINDS[reader]
    assert copy.to_pylist() == cursor.to_pylist()
    assert source.scalar("SELECT count(*) FROM t") == 3  # nothing was dropped


@pytest.mark.parametrize("reader", ["native", "copy"])
def test_session_is_read_only_in_utc_with_the_timeouts(source, monkeypatch, reader):
    sql = ("SELECT current_setting('TimeZone') AS tz, current_setting('statement_timeout') AS st, "
           "current_setting('lock_timeout') AS lt, current_setting('transaction_read_only') AS ro")
    kind, table, _ = _read(source, sql, reader, monkeypatch, statement_timeout_s=7,
                           lock_timeout_s=3)
    assert kind == COPY_KINDS[reader]
    # the server's timeout would count the whole COPY: a watchdog bounds each batch instead
    assert table.to_pylist() == [{"tz": "UTC", "st": "0", "lt": "3s", "ro": "on"}]
    _, table, _ = _read(source, sql, "cursor", monkeypatch, statement_timeout_s=7)
    assert table.column("st").to_pylist() == ["7s"]  # the cursor's bounds each FETCH
    with pytest.raises(RivetSourceError, match="read-only transaction"):
        _read(source, "SELECT nextval('s') AS n", reader, monkeypatch)


@pytest.mark.parametrize("reader", ["native", "copy", "cursor"])
def test_statement_timeout_bounds_each_batch_not_the_export(source, monkeypatch, reader):
    started = time.monotonic()
    with pytest.raises(RivetSourceError, match="timeout") as err:
        _read(source, "SELECT pg_sleep(5)::text AS x, 1 AS y", reader, monkeypatch,
              statement_timeout_s=1)
    assert time.monotonic() - started < 4
    assert err.value.export == "e" and err.value.field == "query"
    # a slow consumer (encoding, throttling) never trips it: 3 s of reading, 1 s timeout
    monkeypatch.setenv(READER_ENV, reader)
    stream = source.open(ReadRequest(sql="SELECT * FROM big ORDER BY id", export="e",
                                     statement_timeout_s=1, batch_size=40_000,
                                     batch_bytes=0))
    rows = 0
    for batch in stream:
        rows += batch.num_rows
        time.sleep(0.6)
    assert rows == 200_000


@pytest.mark.parametrize("reader", ["native", "copy"])
def test_batches_are_bounded_by_bytes_or_rows(source, monkeypatch, reader):
    sql = "SELECT * FROM big ORDER BY id"
    kind, table, batches = _read(source, sql, reader, monkeypatch, batch_bytes=1 << 20)
    assert kind == COPY_KINDS[reader] and table.num_rows == 200_000
    assert len(batches) >= 8 and max(b.nbytes for b in batches) < 2 * (1 << 20)
    assert table.column("id").to_pylist() == list(range(1, 200_001))
    _, table, batches = _read(source, sql, reader, monkeypatch, batch_size=30_000)
    assert [b.num_rows for b in batches] == [30_000] * 6 + [20_000]


@pytest.mark.parametrize("reader", ["native", "copy"])
def test_closing_early_cancels_the_copy_and_frees_the_connection(source, url, monkeypatch,
                                                                 reader):
    monkeypatch.setenv(READER_ENV, reader)
    stream = source.open(ReadRequest(sql="SELECT a.* FROM big a, big b", export="e",
                                     batch_bytes=1 << 20))
    assert type(stream).__name__ == COPY_KINDS[reader]
    assert next(iter(stream)).num_rows > 0
    started = time.monotonic()
    stream.close()
    assert time.monotonic() - started < 2  # 4e10 rows are not drained
    database = url.rsplit("/", 1)[1]
    for _ in range(50):
        with psycopg.connect(url) as conn:
            left = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                                "AND application_name = 'rivet-dagster'", (database,)).fetchone()[0]
        if left == 0:
            break
        time.sleep(0.1)
    assert left == 0


@pytest.mark.parametrize("reader", ["native", "copy"])
def test_errors_while_streaming_and_converting_name_the_export(source, monkeypatch, reader):
    with pytest.raises(RivetSourceError, match="division by zero") as err:
        _read(source, "SELECT 1 / (id - 150000) AS x FROM big", reader, monkeypatch,
              batch_bytes=1 << 20)
    assert err.value.export == "e" and err.value.field == "query"
    with pytest.raises(RivetSourceError, match="'n38'") as err:
        _read(source, "SELECT n38 FROM t", "auto", monkeypatch,
              column_overrides={"n38": parse_column_type("decimal(5,2)")})
    assert err.value.field == "columns.n38"


@pytest.mark.parametrize("sql, column_type", [
    ("SELECT 'infinity'::timestamp AS x", "timestamp"),
    ("SELECT '-infinity'::date AS x", "date"),
    ("SELECT ARRAY['2024-01-01'::timestamptz, 'infinity'] AS x", "timestamptz\\[\\]"),
])
def test_adbc_reader_fails_on_infinity_instead_of_overflowing(source, monkeypatch, sql,
                                                               column_type):
    # ADBC shifts ±infinity by the epoch and overflows into a plausible-looking value
    with pytest.raises(RivetSourceError, match=f"'x' \\({column_type}\\).*infinity") as err:
        _read(source, sql, "copy", monkeypatch)
    assert err.value.field == "columns.x"
    kind, table, _ = _read(source, "SELECT d, ts, tsa FROM t ORDER BY id", "copy", monkeypatch)
    assert kind == "PostgresCopyStream" and table.column("d")[0].as_py() == dt.date(1, 1, 1)


INTERRUPTED_OPEN = """
import sys
from rivet_dagster.config.source import SourceConfig
from rivet_dagster.sources.base import ReadRequest
from rivet_dagster.sources.postgres import PostgresSource
source = PostgresSource(SourceConfig(type="postgres", url=sys.argv[1]))
print("opening", flush=True)
try:
    rows = sum(batch.num_rows for batch in source.open(ReadRequest(sql=sys.argv[2], export="e")))
except BaseException as exc:  # Ctrl-C: whatever it became, the process ends now
    print("ended:", type(exc).__name__, exc, flush=True)
    sys.exit(3)
print("read", rows, flush=True)
"""


def test_ctrl_c_while_the_copy_waits_for_its_first_batch_cancels_it(url):
    """ADBC's execute waits for the first batch; SIGINT then must cancel the statement on the
    server at once (as ADBC's DB-API does), not after the 10 s its first row takes."""
    import os
    import signal
    import subprocess
    import sys

    sql = "SELECT g AS id FROM generate_series(1, 20) g WHERE (SELECT true FROM pg_sleep(CASE WHEN g = 1 THEN 10 ELSE 0 END))"
    proc = subprocess.Popen([sys.executable, "-c", INTERRUPTED_OPEN, url, sql],
                            env={**os.environ, READER_ENV: "copy"}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "opening"
    database = url.rsplit("/", 1)[1]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # the COPY is running on the server
        with psycopg.connect(url) as conn:
            running = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                                   "AND query LIKE 'COPY%%pg_sleep%%'", (database,)).fetchone()[0]
        if running:
            break
        time.sleep(0.05)
    assert running, proc.communicate(timeout=30)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert time.monotonic() - sent < 5, (out, err)  # not the ~10 s the COPY needs
    assert proc.returncode == 3 and "read" not in out, (out, err)
    with psycopg.connect(url) as conn:
        left = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                            "AND query LIKE 'COPY%%pg_sleep%%' AND state = 'active'",
                            (database,)).fetchone()[0]
    assert left == 0
