"""Throwaway databases on the real PostgreSQL and MariaDB servers (never mocked)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import rivet_dagster._native_preload  # noqa: F401
import mysql.connector
import psycopg

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
MYSQL_ADMIN = dict(host="127.0.0.1", port=3306, user="root", password="")


@contextmanager
def temp_pg_database(prefix: str = "rivet_t") -> Iterator[str]:
    """Create a database, yield its URL, drop it afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def temp_mysql_database(prefix: str = "rivet_t") -> Iterator[str]:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    conn = mysql.connector.connect(**MYSQL_ADMIN)
    conn.cursor().execute(f"CREATE DATABASE `{name}`")
    conn.close()
    try:
        yield f"mysql://root@127.0.0.1:3306/{name}"
    finally:
        conn = mysql.connector.connect(**MYSQL_ADMIN)
        conn.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()


def pg_execute(url: str, sql: str) -> None:
    with psycopg.connect(url.replace("postgresql://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(sql)


def mysql_execute(url: str, *statements: str) -> None:
    database = url.rsplit("/", 1)[1]
    conn = mysql.connector.connect(database=database, **MYSQL_ADMIN)
    cur = conn.cursor()
    for statement in statements:
        cur.execute(statement)
    conn.commit()
    conn.close()
