"""MySQLSource against the real MariaDB/MySQL at 127.0.0.1:3306 (root, empty password).

Every value read through the source is compared with what a plain mysql-connector cursor
returns for the same query, converted to the same Python representation.
"""

from __future__ import annotations

import datetime as dt
import os
import struct
import subprocess
import sys
import time
import uuid
from decimal import Decimal

import rivet_dagster.sources.mysql  # noqa: F401,I001  (loads the C extension before pyarrow)
import mysql.connector
import pyarrow as pa
import pytest
from mysql.connector.connection_cext import CMySQLConnection

from rivet_dagster.config.column_types import parse_column_type
from rivet_dagster.config.source import SourceConfig
from rivet_dagster.errors import RivetSourceError
from rivet_dagster.sources import arrow_types as at
from rivet_dagster.sources.base import BatchStream, ReadRequest, Source
from rivet_dagster.sources.mysql import MySQLSource
from rivet_dagster.sources.mysql_arrow import READER_ENV

HOST, PORT = os.environ.get("RIVET_TEST_MYSQL_HOST", "127.0.0.1"), 3306
UTC = dt.timezone.utc
D38 = "9" * 28 + "." + "9" * 10
D65 = "9" * 35 + "." + "9" * 30
UID = "0f8fad5b-d9cb-469f-a165-70867728950e"

DDL = """CREATE TABLE all_types (
  id INT PRIMARY KEY, b1 TINYINT(1), bo BOOL, ti TINYINT, tu TINYINT UNSIGNED, si SMALLINT,
  su SMALLINT UNSIGNED, mi MEDIUMINT, mu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED, bi BIGINT,
  bu BIGINT UNSIGNED, d38 DECIMAL(38,10), d65 DECIMAL(65,30), d52 DECIMAL(5,2),
  du DECIMAL(10,0) UNSIGNED, f FLOAT, db DOUBLE, d DATE, dtm DATETIME(6),
  ts TIMESTAMP(6) NULL DEFAULT NULL, tm TIME(6), c CHAR(36), vc VARCHAR(50), tx TEXT,
  bn BINARY(4), vb VARBINARY(10), bl BLOB, j JSON, e ENUM('small','medium','large'),
  s SET('red','green','blue'), bt1 BIT(1), bt10 BIT(10), y YEAR)"""
ROWS = [
    f"""(1, 1, TRUE, 127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295,
     9223372036854775807, 18446744073709551615, '{D38}', '{D65}', 999.99, 9999999999,
     3.40282e38, 1.7976931348623157e308, '9999-12-31', '9999-12-31 23:59:59.999999',
     '2038-01-19 03:14:07', '23:59:59.999999', '{UID}', '', 'emoji 😀 CJK 中文 é',
     x'00010200', x'00ff00', x'000000ff00', '{{"k": [1, 2, {{"n": null}}], "s": "é"}}',
     'large', 'red,blue', b'1', b'1111111111', 2155)""",
    f"""(2, 0, FALSE, -128, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0,
     '-{D38}', '-{D65}', '-0.00', 0, -1.5, -2.25e-308, '1000-01-01', '1000-01-01 00:00:00',
     '1970-01-01 00:00:01', '00:00:00', 'not-a-uuid', 'it''s "quoted" \\\\ back', '',
     x'00000000', x'', x'', '[]', 'small', '', b'0', b'0', 1901)""",
    "(3" + ", NULL" * 34 + ")",
    """(4, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0.1, 0.1, 0.1, 1, 0.1, 0.1, '0000-00-00',
     '0000-00-00 00:00:00', '0000-00-00 00:00:00', '12:34:56.5', 'x', 'a', '中文テキスト',
     x'ff', x'01', x'02', '{}', 'medium', 'green', b'1', b'1000000000', 2000)""",
    f"""(5, 0, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, '2020-00-00',
     '2020-02-03 04:05:06.007', '2001-02-03 04:05:06.123456', '01:02:03', '{UID.upper()}', ' ',
     'tab\\tnewline\\n', x'0a0b0c0d', x'00', x'00', '"x"', 'small', 'red,green,blue', b'0',
     b'0000000001', 1999)""",
]
EXPECTED_TYPES = {
    "id": pa.int32(), "b1": pa.bool_(), "bo": pa.bool_(), "ti": pa.int16(), "tu": pa.int16(),
    "si": pa.int16(), "su": pa.int32(), "mi": pa.int32(), "mu": pa.int64(), "i": pa.int32(),
    "iu": pa.int64(), "bi": pa.int64(), "bu": pa.uint64(), "d38": pa.decimal128(38, 10),
    "d65": pa.decimal256(65, 30), "d52": pa.decimal128(5, 2), "du": pa.decimal128(10, 0),
    "f": pa.float32(), "db": pa.float64(), "d": pa.date32(), "dtm": pa.timestamp("us"),
    "ts": pa.timestamp("us", "UTC"), "tm": pa.time64("us"), "c": pa.string(), "vc": pa.string(),
    "tx": pa.string(), "bn": pa.binary(), "vb": pa.binary(), "bl": pa.binary(), "j": at.JSON,
    "e": pa.string(), "s": pa.string(), "bt1": pa.bool_(), "bt10": pa.int64(), "y": pa.int16(),
}


def _plain(database: str | None = None) -> CMySQLConnection:
    return mysql.connector.connect(host=HOST, port=PORT, user="root", password="",
                                   database=database, autocommit=True)


@pytest.fixture(scope="module")
def db() -> str:
    name = f"rivet_test_mysql_{uuid.uuid4().hex[:10]}"
    conn = _plain()
    cur = conn.cursor()
    cur.execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
    cur.execute(f"USE {name}")
    cur.execute("SET SESSION sql_mode = '', time_zone = '+00:00'")
    cur.execute(DDL)
    cur.execute("INSERT INTO all_types VALUES " + ", ".join(ROWS))
    cur.execute("CREATE TABLE shapes (id INT, p POINT, poly POLYGON, name VARCHAR(5))")
    cur.execute("INSERT INTO shapes VALUES (1, POINT(1, 2), NULL, 'a')")
    yield name
    cur.execute(f"DROP DATABASE {name}")
    conn.close()


@pytest.fixture(scope="module")
def mariadb(db: str) -> bool:
    conn = _plain()
    cur = conn.cursor()
    cur.execute("SELECT VERSION()")
    flavour = "mariadb" in cur.fetchone()[0].lower()
    conn.close()
    return flavour


def _source(db: str, url: str | None = None, cls: type[MySQLSource] = MySQLSource) -> MySQLSource:
    return cls(SourceConfig(type="mysql", url=url or f"mysql://root@{HOST}:{PORT}/{db}"))


def _read(source: MySQLSource, sql: str, **kw) -> tuple[pa.Schema, list[pa.RecordBatch]]:
    stream = source.open(ReadRequest(sql=sql, **kw))
    assert isinstance(stream, BatchStream)
    schema = stream.schema
    return schema, list(stream)


def _expected_value(name: str, value):
    """A plain (converting) cursor's value in the representation Arrow gives back."""
    if value is None:
        return None
    if name in ("b1", "bo", "bt1"):
        return bool(value)
    if name == "f":
        return struct.unpack("f", struct.pack("f", value))[0]
    if name == "ts":
        return value.replace(tzinfo=UTC)
    if name == "tm":
        return (dt.datetime.min + value).time()
    if name == "s":
        return set(value) - {""}
    if name in ("bn", "vb", "bl"):
        return bytes(value)
    return value


def test_every_type_matches_a_plain_cursor(db: str) -> None:
    source = _source(db)
    assert isinstance(source, Source) and source.engine == "mysql"
    sql = "SELECT * FROM all_types ORDER BY id"
    schema, batches = _read(source, sql, batch_size=3)
    assert [b.num_rows for b in batches] == [3, 2]
    assert dict(zip(schema.names, schema.types)) == EXPECTED_TYPES
    assert all(b.schema == schema for b in batches)
    got = pa.Table.from_batches(batches, schema).to_pylist()
    conn = _plain(db)
    cur = conn.cursor()
    cur.execute("SET SESSION time_zone = '+00:00'")
    cur.execute(sql)
    names = [d[0] for d in cur.description]
    expected = [dict(zip(names, row)) for row in cur.fetchall()]
    conn.close()
    assert len(got) == len(expected) == 5
    for ours, theirs in zip(got, expected):
        for name in names:
            value = ours[name]
            if name == "s" and value is not None:
                value = set(value.split(",")) - {""}
            assert value == _expected_value(name, theirs[name]), (ours["id"], name)
    first, second, nulls, zero, invalid = got
    assert first["bu"] == 2**64 - 1 and first["tu"] == 255 and first["d65"] == Decimal(D65)
    assert first["dtm"] == dt.datetime(9999, 12, 31, 23, 59, 59, 999999)
    assert first["ts"] == dt.datetime(2038, 1, 19, 3, 14, 7, tzinfo=UTC)
    assert second["ts"] == dt.datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)
    assert first["tx"] == "emoji 😀 CJK 中文 é" and first["vc"] == "" and nulls["vc"] is None
    assert first["bl"] == b"\x00\x00\x00\xff\x00" and second["vb"] == b""
    assert second["d52"] == Decimal("0.00") and second["vc"] == 'it\'s "quoted" \\ back'
    assert (zero["d"], zero["dtm"], zero["ts"], invalid["d"]) == (None, None, None, None)
    assert first["s"] == "red,blue" and invalid["s"] == "red,green,blue" and second["s"] == ""
    assert (first["bt10"], zero["bt10"], first["y"]) == (1023, 512, 2155)
    assert all(v is None for k, v in nulls.items() if k != "id")


def test_pure_python_fallback_reads_the_same(db: str) -> None:
    class PureSource(MySQLSource):
        use_pure = True

    sql = "SELECT * FROM all_types ORDER BY id"
    schema, batches = _read(_source(db), sql, batch_size=2)
    pure_schema, pure_batches = _read(_source(db, cls=PureSource), sql, batch_size=2)
    assert pure_schema == schema
    assert pa.Table.from_batches(pure_batches).equals(pa.Table.from_batches(batches))
    params = ("q'\\\"x", None, Decimal("-12.50"), b"\x00\xff", dt.datetime(2020, 1, 2, 3, 4, 5), 7)
    sql = "SELECT %s AS s, %s AS n, %s AS d, HEX(%s) AS b, %s AS t, %s AS i"
    rows = [_read(src, sql, params=params)[1][0].to_pylist()
            for src in (_source(db), _source(db, cls=PureSource))]
    assert rows[0] == rows[1] and rows[0][0]["s"] == params[0] and rows[0][0]["b"] == "00FF"


def test_expressions_get_exact_decimal_precision(db: str) -> None:
    sql = ("SELECT SUM(d52) AS total, d38 * 2 AS twice, CAST(d52 AS DECIMAL(7,3)) AS c73, "
           "1 + 1 AS two FROM all_types WHERE id = 1 GROUP BY d38, d52")
    schema, batches = _read(_source(db), sql)
    assert schema.field("c73").type == pa.decimal128(7, 3)
    assert pa.types.is_decimal(schema.field("total").type) and schema.field("two").type == pa.int32()
    row = batches[0].to_pylist()[0]
    assert row["twice"] == Decimal("1" + D38[:-1] + "8") and row["total"] == Decimal("999.99")


def test_uuid_override_parses_text_and_nulls_failures(db: str) -> None:
    schema, batches = _read(_source(db), "SELECT id, c FROM all_types ORDER BY id",
                            column_overrides={"c": parse_column_type("uuid")})
    assert schema.field("c").type == at.UUID
    values = pa.Table.from_batches(batches).column("c").to_pylist()
    assert values == [uuid.UUID(UID), None, None, None, uuid.UUID(UID)]


def test_streams_200k_rows_in_bounded_batches(db: str, mariadb: bool) -> None:
    sql = ("SELECT seq AS id, CONCAT('name-', seq) AS name, seq % 1000 AS bucket FROM seq_1_to_200000"
           if mariadb else
           "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 200000) "
           "SELECT n AS id, CONCAT('name-', n) AS name, n % 1000 AS bucket FROM s")
    source = _source(db)
    started = time.perf_counter()
    stream = source.open(ReadRequest(sql=sql, batch_size=10_000, statement_timeout_s=60))
    sizes, total = [], 0
    for batch in stream:
        sizes.append(batch.num_rows)
        total += pc_sum(batch.column("id"))
    elapsed = time.perf_counter() - started
    assert len(sizes) == 20 and max(sizes) <= 10_000 and sum(sizes) == 200_000
    assert total == 200_000 * 200_001 // 2
    print(f"\nmysql 200k narrow rows: {200_000 / elapsed:,.0f} rows/s")


def pc_sum(array: pa.Array) -> int:
    return pa.compute.sum(array).as_py()


def test_early_close_stops_the_server_query(db: str, mariadb: bool) -> None:
    if not mariadb:
        pytest.skip("uses MariaDB's Sequence engine")
    source = _source(db)
    stream = source.open(ReadRequest(sql="SELECT seq FROM seq_1_to_100000000", batch_size=1000))
    assert next(iter(stream)).num_rows == 1000
    started = time.perf_counter()
    stream.close()
    assert time.perf_counter() - started < 5
    assert source.scalar("SELECT 41 + %s", (1,)) == 42


def test_empty_result_is_typed_and_describe_matches(db: str) -> None:
    source = _source(db)
    schema, batches = _read(source, "SELECT * FROM all_types WHERE id < 0")
    assert batches == [] and dict(zip(schema.names, schema.types)) == EXPECTED_TYPES
    assert source.describe(ReadRequest(sql="SELECT * FROM all_types;")) == schema
    dup = source.describe(ReadRequest(sql="SELECT a.id, b.id FROM all_types a JOIN all_types b"))
    assert dup.names == ["id", "id"] and dup.types == [pa.int32(), pa.int32()]
    started = time.perf_counter()  # PREPARE only: the statement is never run
    slow = source.describe(ReadRequest(sql="SELECT SLEEP(%s) AS s, d52 FROM all_types", params=(5,)))
    assert time.perf_counter() - started < 2 and slow.field("d52").type == pa.decimal128(5, 2)


class _PooledLike(MySQLSource):
    """A connection that arrives with its own session settings, like one from a pool."""

    timeout_var = "max_statement_time"
    seen: list[tuple]

    def _connect(self, **kw):
        session = super()._connect(**kw)
        session.run(f"SET SESSION time_zone = '+05:00', {self.timeout_var} = 7")
        return session

    def _release(self, conn) -> None:
        cur = conn.cursor()
        cur.execute(f"SELECT @@session.time_zone, @@session.{self.timeout_var}")
        self.seen.append(tuple(cur.fetchone()))
        cur.close()
        super()._release(conn)


def test_session_is_applied_then_restored(db: str, mariadb: bool, monkeypatch) -> None:
    # The cursor reader's own connection (MariaDB's Arrow reader: test_mysql_readers.py).
    monkeypatch.setenv(READER_ENV, "cursor")
    var = "max_statement_time" if mariadb else "max_execution_time"
    source = _source(db, cls=type("Pooled", (_PooledLike,), {"timeout_var": var, "seen": []}))
    _, batches = _read(source, f"SELECT @@session.time_zone AS tz, @@session.{var} AS t, "
                       "1 AS one", statement_timeout_s=5)
    row = batches[0].to_pylist()[0]
    assert row["tz"] == "+00:00" and float(row["t"]) == (5.0 if mariadb else 5000)
    with pytest.raises(RivetSourceError, match="READ ONLY"):
        _read(source, "INSERT INTO all_types (id) VALUES (99)")
    with pytest.raises(RivetSourceError):
        _read(source, "SELECT * FROM no_such_table_here")
    assert source.scalar("SELECT @@session.time_zone") == "+00:00"
    assert [(tz, float(t)) for tz, t in source.seen] == [("+05:00", 7.0)] * 4


def test_statement_timeout_is_enforced(db: str) -> None:
    started = time.perf_counter()
    with pytest.raises(RivetSourceError, match="statement timeout of 1 s") as info:
        _read(_source(db), "SELECT SLEEP(3)", statement_timeout_s=1, export="slow")
    assert time.perf_counter() - started < 2.9
    assert "export 'slow'" in str(info.value) and "timeout" in str(info.value)


def test_parameters_are_data(db: str) -> None:
    nasty = "x' OR '1'='1 \\' -- \" ; \\\\"
    _, batches = _read(_source(db), "SELECT %s AS v, CHAR_LENGTH(%s) AS n, "
                       "(SELECT COUNT(*) FROM all_types WHERE vc = %s) AS hits",
                       params=(nasty, nasty, 'it\'s "quoted" \\ back'))
    assert batches[0].to_pylist() == [{"v": nasty, "n": len(nasty), "hits": 1}]
    with pytest.raises(RivetSourceError, match="2 %s placeholder"):
        _read(_source(db), "SELECT %s, %s", params=(1,))


def test_unsupported_columns_are_listed_before_reading(db: str) -> None:
    with pytest.raises(RivetSourceError, match=r"p \(geometry\), poly \(geometry\).*CAST"):
        _read(_source(db), "SELECT * FROM shapes")
    schema, batches = _read(_source(db), "SELECT id, p FROM shapes",
                            column_overrides={"p": parse_column_type("binary")})
    assert schema.field("p").type == pa.binary() and len(batches[0].column("p")[0].as_py()) == 25


def test_time_outside_a_day_fails_with_a_cast_hint(db: str) -> None:
    with pytest.raises(RivetSourceError, match=r"'neg'.*CAST\(neg AS CHAR\)"):
        _read(_source(db), "SELECT CAST('-01:00:00' AS TIME) AS neg")


def _error(source: MySQLSource, sql: str = "SELECT 1") -> RivetSourceError:
    with pytest.raises(RivetSourceError) as info:
        _read(source, sql)
    err = info.value
    assert err.__cause__ is None and err.__suppress_context__ and "\n" not in str(err)
    return err


def test_connection_errors_are_one_readable_line(db: str) -> None:
    refused = str(_error(_source(db, f"mysql://root:Sup3rSecret@{HOST}:1/{db}")))
    assert "mysql" in refused and f"{HOST}:1" in refused and "Sup3rSecret" not in refused
    denied = str(_error(_source(db, f"mysql://root:Wr0ngPassw0rd@{HOST}:{PORT}/{db}")))
    assert "Access denied" in denied and "Wr0ngPassw0rd" not in denied
    host = str(_error(_source(db, "mysql://root:Pw-Secret1@no-such-host.invalid:3306/x")))
    assert "no-such-host.invalid:3306" in host and "Pw-Secret1" not in host
    unknown_db = str(_error(_source(db, f"mysql://root@{HOST}:{PORT}/no_such_db_rivet")))
    assert "no_such_db_rivet" in unknown_db and f"root@{HOST}:{PORT}" in unknown_db


def test_query_errors_name_the_problem(db: str) -> None:
    missing = str(_error(_source(db), "SELECT * FROM missing_table_xyz"))
    assert "missing_table_xyz" in missing and "mysql root@" in missing
    syntax = str(_error(_source(db), "SELEC 1"))
    assert "SQL syntax" in syntax


def test_c_extension_loads_and_is_used(db: str) -> None:
    code = ("import rivet_dagster.sources.mysql, mysql.connector; "
            "assert mysql.connector.HAVE_CEXT")
    subprocess.run([sys.executable, "-c", code], check=True)
    session = _source(db)._connect()
    try:
        assert type(session.conn) is CMySQLConnection
    finally:
        session.conn.close()


def test_the_metadata_connection_sends_without_delay(db: str) -> None:
    """The pure-Python connection that PREPAREs for column metadata turns Nagle off: the server
    does not answer COM_STMT_CLOSE, so the next command would wait for its delayed ACK (40 ms)."""
    import socket

    side = _source(db)._connect(pure=True)
    try:
        assert type(side.conn) is not CMySQLConnection
        sock = side.conn._socket.sock
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        prepared = side.conn.cmd_stmt_prepare(b"SELECT id, j FROM all_types")
        side.conn.cmd_stmt_close(prepared["statement_id"])
        assert side.run("SELECT COUNT(*) FROM all_types")[0][0] == len(ROWS)  # still in step
    finally:
        side.conn.close()


def test_without_the_c_extension_it_warns_and_still_reads(db: str) -> None:
    code = ("import pyarrow, logging; logging.basicConfig(); "  # pyarrow first: the TLS-block clash
            "import mysql.connector, rivet_dagster.sources.mysql as m; "
            "from rivet_dagster.config.source import SourceConfig; "
            "from rivet_dagster.sources.base import ReadRequest; "
            f"s = m.MySQLSource(SourceConfig(type='mysql', url='mysql://root@{HOST}:{PORT}/{db}')); "
            "rows = [b.num_rows for b in s.open(ReadRequest(sql='SELECT * FROM all_types'))]; "
            "print(mysql.connector.HAVE_CEXT, m.MySQLSource.use_pure, sum(rows))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    if done.stdout.split()[0] == "True":
        pytest.skip("the C extension loaded even after pyarrow on this machine")
    assert done.stdout.split() == ["False", "True", "5"]
    assert done.stderr.count("C extension") == 1 and "slower" in done.stderr


def test_tls_and_url_options(db: str) -> None:
    conn = _plain()
    cur = conn.cursor()
    cur.execute("SHOW VARIABLES LIKE 'have_ssl'")
    have_ssl = (cur.fetchone() or ("", ""))[1] == "YES"
    conn.close()
    plain = MySQLSource(SourceConfig(type="mysql", host=HOST, port=PORT, user="root",
                                     database=db, tls={"mode": "disable"}))
    assert plain.scalar("SELECT COUNT(*) FROM all_types") == 5
    if not have_ssl:
        required = MySQLSource(SourceConfig(type="mysql", url=f"mysql://root@{HOST}:{PORT}/{db}",
                                            tls={"mode": "require"}))
        with pytest.raises(RivetSourceError, match="TLS is required"):
            required.scalar("SELECT 1")
    with pytest.raises(RivetSourceError, match="unsupported mysql URL option.*bogus"):
        _source(db, f"mysql://root@{HOST}:{PORT}/{db}?bogus=1").scalar("SELECT 1")
    assert _source(db, f"mysql://root@{HOST}:{PORT}/{db}?connect_timeout=5").scalar("SELECT 2") == 2
