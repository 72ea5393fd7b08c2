"""MariaDB's two readers against the real server: Arrow (connectorx) and the cursor.

The Arrow reader is chosen when the query allows it; whichever is chosen, the batches must
be the same values with the same types and order, under the same session settings, with
the same errors, and in bounded memory however slowly the export consumes them.
"""

from __future__ import annotations

import time
import uuid

import rivet_dagster.sources.mysql  # noqa: F401,I001  (loads the C extension before pyarrow)
import mysql.connector
import pyarrow as pa
import pytest

from rivet_dagster.config.column_types import parse_column_type
from rivet_dagster.config.source import SourceConfig
from rivet_dagster.engine.process_memory import current_rss_mb
from rivet_dagster.errors import RivetSourceError
from rivet_dagster.sources.base import ReadRequest
from rivet_dagster.sources.mysql import MySQLBatchStream, MySQLSource
from rivet_dagster.sources.mysql_arrow import READ_AHEAD_MB, READER_ENV, MariaDBArrowStream
from tests.integration.sources.test_mysql_source import DDL, HOST, PORT, ROWS

EXTRA = [  # odd dates the Arrow reader must turn into NULL exactly as the cursor reader does
    "(6, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
    "NULL, NULL, NULL, '2021-02-00', '2021-00-15 10:00:00', NULL, NULL, NULL, 'ünï', NULL, NULL, "
    "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
    "(7, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
    "NULL, NULL, NULL, '2024-02-30', '2023-04-31 00:00:00', NULL, NULL, NULL, NULL, NULL, "
    "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
]
BIG_ROWS = 60_000  # ~2 KB each: 120 MB of rows


def _plain(database: str | None = None):
    return mysql.connector.connect(host=HOST, port=PORT, user="root", password="",
                                   database=database, autocommit=True)


@pytest.fixture(scope="module")
def db():
    name = f"rivet_test_readers_{uuid.uuid4().hex[:10]}"
    conn = _plain()
    cur = conn.cursor()
    cur.execute("SELECT VERSION()")
    if "mariadb" not in cur.fetchone()[0].lower():
        pytest.fail("these tests need MariaDB (the Arrow reader is MariaDB's)")
    cur.execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
    cur.execute(f"USE {name}")
    cur.execute("SET SESSION sql_mode = 'ALLOW_INVALID_DATES', time_zone = '+00:00'")
    cur.execute(DDL)
    cur.execute("INSERT INTO all_types VALUES " + ", ".join(ROWS + EXTRA))
    cur.execute("CREATE TABLE big (id INT PRIMARY KEY, pad VARCHAR(2100), at DATETIME(3))")
    cur.execute(f"INSERT INTO big SELECT seq, REPEAT(MD5(seq), 64), '2024-01-01' + INTERVAL seq "
                f"SECOND FROM seq_1_to_{BIG_ROWS}")
    yield name
    cur.execute(f"DROP DATABASE {name}")
    conn.close()


@pytest.fixture
def source(db):
    return MySQLSource(SourceConfig(type="mysql", url=f"mysql://root@{HOST}:{PORT}/{db}"))


def _read(source, sql, reader, monkeypatch, **kw):
    monkeypatch.setenv(READER_ENV, reader)
    stream = source.open(ReadRequest(sql=sql, export="e", **kw))
    kind = type(stream).__name__
    table = pa.Table.from_batches(list(stream), schema=stream.schema)
    return kind, table


def _both(source, sql, monkeypatch, **kw):
    arrow_kind, arrow = _read(source, sql, "auto", monkeypatch, **kw)
    cursor_kind, cursor = _read(source, sql, "cursor", monkeypatch, **kw)
    assert cursor_kind == MySQLBatchStream.__name__
    assert arrow.schema.equals(cursor.schema, check_metadata=True)
    for name in cursor.column_names:  # column by column, for a readable failure
        assert arrow.column(name).to_pylist() == cursor.column(name).to_pylist(), name
    assert arrow.equals(cursor)
    return arrow_kind, arrow


def test_every_type_reads_the_same_through_both_readers(source, monkeypatch) -> None:
    kind, table = _both(source, "SELECT * FROM all_types ORDER BY id", monkeypatch, batch_size=3)
    assert kind == MariaDBArrowStream.__name__
    assert table.num_rows == 7
    rows = {r["id"]: r for r in table.to_pylist()}
    assert rows[4]["d"] is None and rows[4]["dtm"] is None and rows[4]["ts"] is None  # zero dates
    assert rows[6]["d"] is None and rows[6]["dtm"] is None  # zero month / day
    assert rows[7]["d"] is None and rows[7]["dtm"] is None  # Feb 30, Apr 31


def test_overrides_and_parameters_read_the_same(source, monkeypatch) -> None:
    overrides = {"c": parse_column_type("uuid"), "d52": parse_column_type("float64"),
                 "ti": parse_column_type("string"), "dtm": parse_column_type("string")}
    kind, _ = _both(source, "SELECT id, c, d52, ti, dtm FROM all_types WHERE id <> %s AND vc <> %s",
                    monkeypatch, params=(3, "x' OR '1'='1"), column_overrides=overrides)
    assert kind == MariaDBArrowStream.__name__


def test_time_outside_a_day_fails_with_the_cursor_readers_message(source, monkeypatch) -> None:
    for reader in ("auto", "cursor"):
        with pytest.raises(RivetSourceError, match=r"column 'tm' \(time\): value '-01:00:00'"):
            _read(source, "SELECT id, CAST('-01:00:00' AS TIME) AS tm FROM all_types", reader,
                  monkeypatch)


def test_trailing_order_by_is_kept(source, monkeypatch) -> None:
    for sql in ("SELECT id, d65 FROM all_types ORDER BY d65 DESC, id",
                "SELECT id, d65 FROM all_types WHERE id < 6 ORDER BY `d65`, id DESC",
                "SELECT a.id, a.vc FROM all_types a ORDER BY a.vc, a.id"):  # inner alias
        _, table = _both(source, sql, monkeypatch)
        assert table.num_rows >= 5


@pytest.mark.parametrize("sql", [
    "SELECT id, d65 FROM all_types ORDER BY 2, 1",  # positional ORDER BY
    "SELECT id FROM all_types ORDER BY id LIMIT 3",  # top-level LIMIT
    "SELECT a.id, b.id FROM all_types a JOIN all_types b ON a.id = b.id",  # repeated names
])
def test_queries_the_rewrite_cannot_keep_exact_use_the_cursor(source, monkeypatch, sql) -> None:
    kind, _ = _read(source, sql, "auto", monkeypatch)
    assert kind == MySQLBatchStream.__name__
    with pytest.raises(RivetSourceError, match="RIVET_MYSQL_READER=arrow, but"):
        _read(source, sql, "arrow", monkeypatch)


def test_a_wrong_reader_choice_names_the_export_and_the_variable(source, monkeypatch) -> None:
    with pytest.raises(RivetSourceError, match=f"export 'e', field '{READER_ENV}'.*'fast'"):
        _read(source, "SELECT id FROM all_types", "fast", monkeypatch)


def test_session_is_utc_with_the_timeout_and_writes_never_run(source, monkeypatch) -> None:
    kind, table = _read(source, "SELECT @@session.time_zone AS tz, @@session.max_statement_time "
                        "AS t, ts FROM all_types WHERE id = 1", "auto", monkeypatch,
                        statement_timeout_s=5)
    assert kind == MariaDBArrowStream.__name__
    row = table.to_pylist()[0]
    assert row["tz"] == "+00:00" and float(row["t"]) == 5.0
    assert str(row["ts"]) == "2038-01-19 03:14:07+00:00"
    with pytest.raises(RivetSourceError, match="READ ONLY"):
        _read(source, "INSERT INTO all_types (id) VALUES (99)", "auto", monkeypatch)
    assert source.scalar("SELECT COUNT(*) FROM all_types WHERE id = 99") == 0


def test_statement_timeout_is_one_clear_error(source, monkeypatch) -> None:
    started = time.perf_counter()
    with pytest.raises(RivetSourceError, match="statement timeout of 1 s exceeded") as info:
        _read(source, "SELECT SLEEP(3) AS s", "arrow", monkeypatch, statement_timeout_s=1)
    assert time.perf_counter() - started < 2.9
    assert "export 'e'" in str(info.value) and "\n" not in str(info.value)


def test_server_errors_name_the_export(source, monkeypatch) -> None:
    with pytest.raises(RivetSourceError, match="export 'e'.*no_such_column"):
        _read(source, "SELECT no_such_column FROM all_types", "auto", monkeypatch)


@pytest.mark.parametrize("read_ahead", [True, False])
def test_memory_stays_bounded_when_the_export_is_slow(source, monkeypatch, read_ahead) -> None:
    """The driver reads ahead into an unbounded channel; the relay must hold it back."""
    monkeypatch.setenv(READER_ENV, "arrow")
    stream = source.open(ReadRequest(sql="SELECT * FROM big", batch_size=1000, export="e",
                                     read_ahead=read_ahead))
    assert isinstance(stream, MariaDBArrowStream)
    batches = iter(stream)
    first = next(batches)
    before = current_rss_mb()
    time.sleep(2.0)  # an unthrottled driver would read all 120 MB meanwhile
    grown = current_rss_mb() - before
    rows = first.num_rows + sum(b.num_rows for b in batches)
    assert rows == BIG_ROWS
    # the relay's read-ahead window (READ_AHEAD_MB of wire bytes), plus the batch in progress;
    # a throttled export (no read-ahead) only the batch in progress and the socket buffers
    limit = READ_AHEAD_MB + 20 if read_ahead else 20
    assert grown < limit, f"RSS grew {grown:.0f} MB while the export was idle"


@pytest.mark.parametrize("read_ahead", [True, False])
def test_batches_sized_by_memory_come_as_the_driver_cuts_them_unless_throttled(
        source, monkeypatch, read_ahead) -> None:
    monkeypatch.setenv(READER_ENV, "arrow")
    stream = source.open(ReadRequest(sql="SELECT id FROM big ORDER BY id", batch_size=50_000,
                                     batch_bytes=8 * 1024 * 1024, read_ahead=read_ahead,
                                     export="e"))
    assert isinstance(stream, MariaDBArrowStream)
    sizes, ids = [], []
    for batch in stream:
        sizes.append(batch.num_rows)
        ids += batch.column(0).to_pylist()
    assert ids == list(range(1, BIG_ROWS + 1))
    if read_ahead:  # the driver's batches (16,384 rows of an INT), never merged
        assert sizes == [16_384, 16_384, 16_384, BIG_ROWS - 3 * 16_384]
    else:  # merged to the engine's batch size, which paces a throttled export
        assert sizes == [50_000, BIG_ROWS - 50_000]


def test_early_close_stops_the_server_query(source, db, monkeypatch) -> None:
    monkeypatch.setenv(READER_ENV, "arrow")
    stream = source.open(ReadRequest(sql="SELECT seq, REPEAT('x', 500) AS pad FROM "
                                         "seq_1_to_100000000", batch_size=1000, export="e"))
    assert next(iter(stream)).num_rows == 1000
    started = time.perf_counter()
    stream.close()
    assert time.perf_counter() - started < 5
    conn = _plain()
    cur = conn.cursor()
    deadline = time.monotonic() + 5
    while True:
        cur.execute("SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                    "WHERE INFO LIKE '%seq_1_to_100000000%' AND ID <> CONNECTION_ID()")
        if cur.fetchone()[0] == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    conn.close()
    assert time.monotonic() <= deadline, "the server is still running the abandoned query"
