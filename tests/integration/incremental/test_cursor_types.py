"""Cursor columns of every supported type advance exactly, values always bound as parameters."""

import dagster as dg
import pytest

from tests.integration.incremental.harness import (
    check_passed, execute, loaded_ids, make_defs, materialize, metadata,
)

# (name, column DDL, first batch of values, second batch) -- values are SQL literals
PG_CASES = [
    ("int", "int", ["1", "2", "3"], ["4", "5"]),
    ("bigint", "bigint", ["9007199254740993", "9007199254740994"], ["9223372036854775806"]),
    ("numeric", "numeric(20,4)", ["1.0001", "1.0002", "2.5"], ["2.5001", "10.1234"]),
    ("date", "date", ["'1969-12-31'", "'2024-01-01'"], ["'2024-01-02'"]),
    ("timestamp", "timestamp", ["'2024-01-01 00:00:00.000001'", "'2024-01-01 00:00:00.000002'"],
     ["'2024-01-01 00:00:00.000003'"]),
    ("timestamptz", "timestamptz", ["'2024-01-01 10:00:00+05'", "'2024-01-01 05:00:00.5+00'"],
     ["'2024-01-01 00:00:01-05'", "'2024-01-01 05:00:00.6+00'"]),
    ("text", "text", ["'a''b'", "'b\\\\c'", "'c\"; DROP TABLE x; --'"], ["'d'", "'e''); --'"]),
    ("uuid", "uuid", ["'00000000-0000-0000-0000-000000000001'"],
     ["'00000000-0000-0000-0000-000000000002'", "'ffffffff-0000-0000-0000-000000000000'"]),
]
MYSQL_CASES = [
    ("int", "int", ["1", "2", "3"], ["4", "5"]),
    ("bigint", "bigint unsigned", ["1", "18446744073709551614"], ["18446744073709551615"]),
    ("numeric", "decimal(20,4)", ["1.0001", "2.5"], ["2.5001"]),
    ("date", "date", ["'1969-12-31'", "'2024-01-01'"], ["'2024-01-02'"]),
    ("datetime", "datetime(6)", ["'2024-01-01 00:00:00.000001'"], ["'2024-01-01 00:00:00.000002'"]),
    ("timestamp", "timestamp(6) NULL", ["'2024-01-01 00:00:01'"], ["'2024-01-01 00:00:01.5'"]),
    ("text", "varchar(64)", ["'a''b'", "'b\\\\c'"], ["'c\"; DROP TABLE x; --'"]),
]


def _run_case(engine, url, tmp_path, name, ddl, first, second):
    table = f"cur_{name}"
    execute(engine, url, f"CREATE TABLE {table} (id INT PRIMARY KEY, c {ddl})",
            f"INSERT INTO {table} VALUES " + ",".join(f"({i}, {v})" for i, v in enumerate(first)))
    defs = make_defs(tmp_path, engine=engine, url=url, name=table,
                     query=f"SELECT id, c FROM {table}", cursor="c")
    with dg.instance_for_test() as instance:
        run1 = materialize(defs, instance, table)
        assert metadata(run1, table)["dagster/row_count"] == len(first) and check_passed(run1)
        offset = len(first)
        execute(engine, url, f"INSERT INTO {table} VALUES " +
                ",".join(f"({offset + i}, {v})" for i, v in enumerate(second)))
        run2 = materialize(defs, instance, table)
        md = metadata(run2, table)
        assert md["dagster/row_count"] == len(second), md
        assert check_passed(run2)
        assert md["rivet/cursor"]["type"] != "string" or name == "text"
        run3 = materialize(defs, instance, table)
        assert metadata(run3, table)["dagster/row_count"] == 0
        assert loaded_ids(defs, instance, table) == list(range(len(first) + len(second)))
    return md


@pytest.mark.parametrize("name,ddl,first,second", PG_CASES, ids=[c[0] for c in PG_CASES])
def test_postgres_cursor_types(pg_url, tmp_path, name, ddl, first, second):
    # a non-UTC server time zone must not shift timestamptz comparisons
    execute("postgres", pg_url,
            f"ALTER DATABASE \"{pg_url.rsplit('/', 1)[1]}\" SET timezone TO 'America/New_York'")
    md = _run_case("postgres", pg_url, tmp_path, name, ddl, first, second)
    if name == "timestamptz":
        assert md["rivet/cursor"] == {"type": "timestamptz",
                                      "value": "2024-01-01T05:00:01+00:00"}
    if name == "numeric":
        assert md["rivet/cursor"] == {"type": "decimal", "value": "10.1234"}


@pytest.mark.parametrize("name,ddl,first,second", MYSQL_CASES, ids=[c[0] for c in MYSQL_CASES])
def test_mysql_cursor_types(mysql_url, tmp_path, name, ddl, first, second):
    md = _run_case("mysql", mysql_url, tmp_path, name, ddl, first, second)
    if name == "bigint":
        assert md["rivet/cursor"] == {"type": "int", "value": 18446744073709551615}
