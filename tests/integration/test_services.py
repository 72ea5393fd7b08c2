"""The local services the suite relies on: both databases answer over TCP and hold rivet_demo."""

from __future__ import annotations

import os
import re
import socket
import subprocess
from pathlib import Path

import rivet_dagster._native_preload  # noqa: F401  (mysql-connector's C extension before pyarrow)
import mysql.connector
import psycopg
import pytest

TABLES = ("customers", "orders", "events", "all_types")
EXACT_ROWS = {"customers": 10_000, "orders": 100_000}
MIN_EVENTS = 1_000_000


def _pg(dbname: str = "rivet_demo") -> psycopg.Connection:
    return psycopg.connect(host="127.0.0.1", port=5432, user="postgres", dbname=dbname,
                           connect_timeout=10)


def _mysql(database: str | None = "rivet_demo"):
    return mysql.connector.connect(host="127.0.0.1", port=3306, user="root", password="",
                                   database=database, connection_timeout=10)


def test_postgres_answers_over_tcp() -> None:
    with _pg("postgres") as conn:
        assert conn.execute("select 1").fetchone() == (1,)
        assert conn.info.host == "127.0.0.1"
        dbs = {row[0] for row in conn.execute("select datname from pg_database")}
    assert "rivet_demo" in dbs


def test_mariadb_answers_over_tcp() -> None:
    conn = _mysql(None)
    try:
        cur = conn.cursor()
        cur.execute("select 1, version()")
        one, version = cur.fetchone()
        assert one == 1
        assert "MariaDB" in version or version[0].isdigit()
        cur.execute("show databases like 'rivet_demo'")
        assert cur.fetchall() == [("rivet_demo",)]
    finally:
        conn.close()


def test_postgres_rivet_demo_is_seeded() -> None:
    with _pg() as conn:
        counts = {t: conn.execute(f"select count(*) from {t}").fetchone()[0] for t in TABLES}
        kinds = conn.execute("select count(*) from pg_type where typname = 'mood'").fetchone()[0]
        indexed = conn.execute(
            "select count(*) from pg_indexes where tablename = 'orders' and indexdef like '%(updated_at)%'"
        ).fetchone()[0]
        first, last = conn.execute("select min(created_at), max(created_at) from events").fetchone()
    for table, rows in EXACT_ROWS.items():
        assert counts[table] == rows, counts
    assert counts["events"] >= MIN_EVENTS, counts
    assert counts["all_types"] >= 5, counts
    assert kinds == 1
    assert indexed == 1
    assert (last - first).total_seconds() == counts["events"] - 1


@pytest.mark.parametrize("table", TABLES)
def test_mariadb_rivet_demo_table_exists(table: str) -> None:
    conn = _mysql()
    try:
        cur = conn.cursor()
        cur.execute("select count(*) from information_schema.tables "
                    "where table_schema = 'rivet_demo' and table_name = %s", (table,))
        assert cur.fetchone() == (1,)
    finally:
        conn.close()


def test_mariadb_rivet_demo_is_seeded() -> None:
    conn = _mysql()
    try:
        cur = conn.cursor()
        counts = {}
        for table in TABLES:
            cur.execute(f"select count(*) from {table}")
            counts[table] = cur.fetchone()[0]
        cur.execute("select index_name from information_schema.statistics where table_schema = "
                    "'rivet_demo' and table_name = 'orders' and column_name = 'updated_at'")
        indexed = cur.fetchall()
        cur.execute("select c_bigint_u from all_types where c_bigint_u = 18446744073709551615")
        biggest = cur.fetchall()
    finally:
        conn.close()
    for table, rows in EXACT_ROWS.items():
        assert counts[table] == rows, counts
    assert counts["events"] >= MIN_EVENTS, counts
    assert counts["all_types"] >= 5, counts
    assert indexed, "orders.updated_at has no index"
    assert biggest == [(18446744073709551615,)]


SERVICES = Path(__file__).resolve().parents[2] / "dev" / "services.sh"


def _ephemeral_range() -> tuple[int, int]:
    low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    return int(low), int(high)


def _default_port(name: str) -> int:
    found = re.search(rf"{name}=\$\{{{name}:-(\d+)\}}", SERVICES.read_text())
    assert found, f"no default for {name} in dev/services.sh"
    return int(found.group(1))


@pytest.mark.parametrize("name", ["PGTLS_PORT", "MYTLS_PORT"])
def test_the_throwaway_servers_listen_below_the_ephemeral_range(name: str) -> None:
    """Inside the range any client socket, a TIME_WAIT one included, can hold the port and the
    server's bind fails: CI failed so once, on 55440, while the suite's connections came and went."""
    assert _default_port(name) < _ephemeral_range()[0]


def _start_pgtls_on(port: int, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PGTLS_PORT": str(port), "EMU_DIR": str(tmp_path)}
    return subprocess.run(["bash", str(SERVICES), "start", "pgtls"], capture_output=True, text=True,
                          env=env, stdin=subprocess.DEVNULL, timeout=60)


def test_a_port_held_by_a_listener_is_one_clear_error(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = _start_pgtls_on(port, tmp_path)
    assert result.returncode == 1
    assert f"pgtls: 127.0.0.1:{port} is already in use" in result.stderr
    assert "PGTLS_PORT" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "pgtls.started").exists()


def test_a_port_held_by_a_closed_client_socket_names_the_ephemeral_range(tmp_path: Path) -> None:
    """The CI failure's cause: a client that closed first leaves TIME_WAIT on its local port."""
    with socket.create_connection(("127.0.0.1", 5432)) as client:
        port = client.getsockname()[1]  # an ephemeral port, chosen by the kernel
    result = _start_pgtls_on(port, tmp_path)
    low, high = _ephemeral_range()
    assert result.returncode == 1
    assert f"inside the ephemeral port range {low}-{high}" in result.stderr
    assert "TIME-WAIT" in result.stderr
