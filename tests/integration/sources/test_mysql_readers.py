"""MariaDB's readers against the real server: native (C), Arrow (connectorx) and the cursor.

The native reader is chosen by default, the Arrow reader when the query allows it and the
native one is not built; whichever reads, the batches must be the same values with the same
types and order, under the same session settings, with the same errors, and in bounded
memory however slowly the export consumes them.
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


FAST = ["native", "arrow"]  # the readers that must read exactly as the cursor reader


def _kind(stream) -> str:
    """native, arrow or cursor: the reader that actually decoded the rows."""
    if isinstance(stream, MariaDBArrowStream):
        return "arrow"
    assert isinstance(stream, MySQLBatchStream)
    return stream.reader


def _preferring(reader, monkeypatch) -> str:
    """RIVET_MYSQL_READER for `reader` where the query decides: "arrow" becomes auto without
    the native reader (auto falls back to the cursor for what connectorx cannot read)."""
    if reader == "arrow":
        monkeypatch.setattr(MySQLSource, "native_available", lambda self: False)
        return "auto"
    return reader


def _read(source, sql, reader, monkeypatch, **kw):
    monkeypatch.setenv(READER_ENV, reader)
    stream = source.open(ReadRequest(sql=sql, export="e", **kw))
    kind = _kind(stream)
    table = pa.Table.from_batches(list(stream), schema=stream.schema)
    return kind, table


def _both(source, sql, monkeypatch, reader="auto", **kw):
    fast_kind, fast = _read(source, sql, reader, monkeypatch, **kw)
    cursor_kind, cursor = _read(source, sql, "cursor", monkeypatch, **kw)
    assert cursor_kind == "cursor"
    assert fast.schema.equals(cursor.schema, check_metadata=True)
    for name in cursor.column_names:  # column by column, for a readable failure
        assert fast.column(name).to_pylist() == cursor.column(name).to_pylist(), name
    assert fast.equals(cursor)
    return fast_kind, fast


def test_the_native_reader_is_the_default(source, monkeypatch) -> None:
    kind, _ = _read(source, "SELECT id FROM all_types", "auto", monkeypatch)
    assert kind == "native"


@pytest.mark.parametrize("reader", FAST)
def test_every_type_reads_the_same_through_every_reader(source, monkeypatch, reader) -> None:
    kind, table = _both(source, "SELECT * FROM all_types ORDER BY id", monkeypatch, reader,
                        batch_size=3)
    assert kind == reader
    assert table.num_rows == 7
    rows = {r["id"]: r for r in table.to_pylist()}
    assert rows[4]["d"] is None and rows[4]["dtm"] is None and rows[4]["ts"] is None  # zero dates
    assert rows[6]["d"] is None and rows[6]["dtm"] is None  # zero month / day
    assert rows[7]["d"] is None and rows[7]["dtm"] is None  # Feb 30, Apr 31


@pytest.mark.parametrize("reader", FAST)
def test_overrides_and_parameters_read_the_same(source, monkeypatch, reader) -> None:
    overrides = {"c": parse_column_type("uuid"), "d52": parse_column_type("float64"),
                 "ti": parse_column_type("string"), "dtm": parse_column_type("string")}
    kind, _ = _both(source, "SELECT id, c, d52, ti, dtm FROM all_types WHERE id <> %s AND vc <> %s",
                    monkeypatch, reader, params=(3, "x' OR '1'='1"), column_overrides=overrides)
    assert kind == reader


def test_time_outside_a_day_fails_with_the_cursor_readers_message(source, monkeypatch) -> None:
    for reader in ("native", "arrow", "cursor"):
        with pytest.raises(RivetSourceError, match=r"column 'tm' \(time\): value '-01:00:00'"):
            _read(source, "SELECT id, CAST('-01:00:00' AS TIME) AS tm FROM all_types", reader,
                  monkeypatch)


def test_trailing_order_by_is_kept(source, monkeypatch) -> None:
    for sql in ("SELECT id, d65 FROM all_types ORDER BY d65 DESC, id",
                "SELECT id, d65 FROM all_types WHERE id < 6 ORDER BY `d65`, id DESC",
                "SELECT a.id, a.vc FROM all_types a ORDER BY a.vc, a.id"):  # inner alias
        _, table = _both(source, sql, monkeypatch, _preferring("arrow", monkeypatch))
        assert table.num_rows >= 5


@pytest.mark.parametrize("sql", [
    "SELECT id, d65 FROM all_types ORDER BY 2, 1",  # positional ORDER BY
    "SELECT id FROM all_types ORDER BY id LIMIT 3",  # top-level LIMIT
    "SELECT a.id, b.id FROM all_types a JOIN all_types b ON a.id = b.id",  # repeated names
])
def test_queries_the_rewrite_cannot_keep_exact_use_the_cursor(source, monkeypatch, sql) -> None:
    monkeypatch.setattr(MySQLSource, "native_available", lambda self: False)
    kind, _ = _read(source, sql, "auto", monkeypatch)
    assert kind == "cursor"
    with pytest.raises(RivetSourceError, match="RIVET_MYSQL_READER=arrow, but"):
        _read(source, sql, "arrow", monkeypatch)


def test_a_wrong_reader_choice_names_the_export_and_the_variable(source, monkeypatch) -> None:
    with pytest.raises(RivetSourceError, match=f"export 'e', field '{READER_ENV}'.*'fast'"):
        _read(source, "SELECT id FROM all_types", "fast", monkeypatch)


@pytest.mark.parametrize("reader", FAST)
def test_session_is_utc_with_the_timeout_and_writes_never_run(source, monkeypatch, reader) -> None:
    kind, table = _read(source, "SELECT @@session.time_zone AS tz, @@session.max_statement_time "
                        "AS t, ts FROM all_types WHERE id = 1", reader, monkeypatch,
                        statement_timeout_s=5)
    assert kind == reader
    row = table.to_pylist()[0]
    assert row["tz"] == "+00:00" and float(row["t"]) == 5.0
    assert str(row["ts"]) == "2038-01-19 03:14:07+00:00"
    with pytest.raises(RivetSourceError, match="READ ONLY"):
        _read(source, "INSERT INTO all_types (id) VALUES (99)", _preferring(reader, monkeypatch),
              monkeypatch)
    assert source.scalar("SELECT COUNT(*) FROM all_types WHERE id = 99") == 0


@pytest.mark.parametrize("reader", FAST)
def test_statement_timeout_is_one_clear_error(source, monkeypatch, reader) -> None:
    started = time.perf_counter()
    with pytest.raises(RivetSourceError, match="statement timeout of 1 s exceeded") as info:
        _read(source, "SELECT SLEEP(3) AS s", reader, monkeypatch, statement_timeout_s=1)
    assert time.perf_counter() - started < 2.9
    assert "export 'e'" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("reader", FAST)
def test_server_errors_name_the_export(source, monkeypatch, reader) -> None:
    with pytest.raises(RivetSourceError, match="export 'e'.*no_such_column"):
        _read(source, "SELECT no_such_column FROM all_types", _preferring(reader, monkeypatch),
              monkeypatch)


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


@pytest.mark.parametrize("reader", FAST)
def test_early_close_stops_the_server_query(source, db, monkeypatch, reader) -> None:
    monkeypatch.setenv(READER_ENV, reader)
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


# -- the native (C) reader's own paths ------------------------------------------------------

def test_native_memory_stays_bounded_when_the_export_is_slow(source, monkeypatch) -> None:
    """An unbuffered result: the server sends only as fast as the C decoder takes rows."""
    monkeypatch.setenv(READER_ENV, "native")
    stream = source.open(ReadRequest(sql="SELECT * FROM big", batch_size=1000, export="e"))
    assert _kind(stream) == "native"
    batches = iter(stream)
    first = next(batches)
    before = current_rss_mb()
    time.sleep(2.0)  # a driver reading ahead would take all 120 MB meanwhile
    grown = current_rss_mb() - before
    assert first.num_rows + sum(b.num_rows for b in batches) == BIG_ROWS
    assert grown < 20, f"RSS grew {grown:.0f} MB while the export was idle"


def test_native_batches_follow_the_engines_rows_or_bytes(source, monkeypatch) -> None:
    monkeypatch.setenv(READER_ENV, "native")
    stream = source.open(ReadRequest(sql="SELECT id FROM big ORDER BY id", batch_size=7_000,
                                     export="e"))
    sizes = [b.num_rows for b in stream]
    assert sizes == [7_000] * 8 + [BIG_ROWS - 56_000]
    # sized by memory: cut once the batch's values reach batch_bytes (2 KB pads: ~49 rows)
    stream = source.open(ReadRequest(sql="SELECT id, pad FROM big ORDER BY id",
                                     batch_bytes=100_000, export="e"))
    assert stream.sizes_by_bytes
    ids, sizes = [], []
    for batch in stream:
        sizes.append(batch.num_rows)
        ids += batch.column(0).to_pylist()
    assert ids == list(range(1, BIG_ROWS + 1))
    per_row = len("1") + 2048
    assert max(sizes) == -(-100_000 // per_row) and len(sizes) > BIG_ROWS // 60


def test_native_error_mid_stream_is_one_line_and_leaves_no_transaction(source, monkeypatch) -> None:
    monkeypatch.setenv(READER_ENV, "native")
    stream = source.open(ReadRequest(sql="SELECT seq, REPEAT('x', 500) AS pad FROM "
                                         "seq_1_to_100000000", batch_size=1000, export="e"))
    batches = iter(stream)
    assert next(batches).num_rows == 1000
    thread_id = stream._session.conn.connection_id
    killer = _plain()
    killer.cursor().execute(f"KILL QUERY {int(thread_id)}")
    killer.close()
    with pytest.raises(RivetSourceError, match="export 'e'.*reading rows failed") as info:
        for _ in batches:
            pass
    assert "\n" not in str(info.value)
    conn = _plain()
    cur = conn.cursor()
    cur.execute("SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = %s",
                (thread_id,))
    assert cur.fetchone()[0] == 0
    conn.close()


def test_native_undecodable_value_names_the_column(source, monkeypatch) -> None:
    """The C parser's refusal (forced here: the server's metadata never lies about ints)."""
    from rivet_dagster.sources import mysql_native

    monkeypatch.setenv(READER_ENV, "native")
    monkeypatch.setattr(mysql_native, "kinds", lambda fields, schema, overrides:
                        [mysql_native.K_I32 for _ in fields])
    with pytest.raises(RivetSourceError, match=r"export 'e'.*column 'vc' \(varchar\): "
                                               r"cannot decode the row: not an integer: 'a'"):
        _read(source, "SELECT vc FROM all_types WHERE id = 4", "native", monkeypatch)


def test_native_when_it_cannot_read(source, monkeypatch) -> None:
    """Unbuilt library or an unknown mysql-connector build: auto reads with the cursor's
    Python path, `native` says why."""
    from rivet_dagster.sources import mysql_native

    monkeypatch.setattr(mysql_native, "_result_handle", lambda cext, columns: None)
    kind, table = _read(source, "SELECT id FROM all_types", "auto", monkeypatch)
    assert kind == "cursor" and table.num_rows == 7
    with pytest.raises(RivetSourceError, match=f"field '{READER_ENV}'.*=native, but the C reader "
                                               "cannot read: this mysql-connector build"):
        _read(source, "SELECT id FROM all_types", "native", monkeypatch)
    unbuilt = mysql_native._Library.__new__(mysql_native._Library)
    unbuilt.lib, unbuilt.why = None, "the C decoder rivet_dagster/_myrows was not built"
    monkeypatch.setattr(mysql_native, "library", lambda: unbuilt)
    assert not source.native_available()
    with pytest.raises(RivetSourceError, match="_myrows was not built"):
        _read(source, "SELECT id FROM all_types", "native", monkeypatch)


def test_native_buffers_handed_to_arrow_are_freed(source, monkeypatch) -> None:
    """The decoder's buffers become Arrow's without a copy and are freed with the batches:
    reading the 120 MB table again and again does not grow the process."""
    import gc

    monkeypatch.setenv(READER_ENV, "native")

    def read_all() -> int:
        stream = source.open(ReadRequest(sql="SELECT * FROM big", batch_bytes=4 << 20,
                                         export="e"))
        return sum(batch.num_rows for batch in stream)

    assert read_all() == BIG_ROWS
    gc.collect()
    before = current_rss_mb()
    for _ in range(3):
        assert read_all() == BIG_ROWS
    gc.collect()
    grown = current_rss_mb() - before
    assert grown < 30, f"RSS grew {grown:.0f} MB over three reads of 120 MB"
