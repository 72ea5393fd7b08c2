"""1M rows stream through bounded memory into several rotated parts (both engines)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.integration.db_fixtures import mysql_execute, pg_execute

ROWS = 1_000_000
RSS_CEILING_MB = 400  # generous on purpose: the real target lives in bench/
CONFIG = """
source: {{type: {engine}, url: "{url}", tuning: {{profile: fast, batch_size: 10000}}}}
exports:
  - name: big
    table: big
    format: parquet
    max_file_size: 2MB
    destination: {{type: local, path: "{out}"}}
"""


def _run(config_path: Path) -> dict:
    proc = subprocess.run([sys.executable, str(Path(__file__).with_name("run_export_subprocess.py")),
                           str(config_path), "big"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _check(result: dict, out: Path) -> None:
    assert result["rows"] == ROWS
    assert len(result["parts"]) >= 3
    assert sum(p["rows"] for p in result["parts"]) == ROWS
    folder = out / "big" / "snapshot-000001"
    on_disk = sum(pq.ParquetFile(folder / p["path"]).metadata.num_rows for p in result["parts"])
    assert on_disk == ROWS
    ids = pq.ParquetDataset([str(folder / p["path"]) for p in result["parts"]]).read(
        columns=["id"]).column("id")
    assert len(ids.unique()) == ROWS
    assert result["peak_rss_mb"] < RSS_CEILING_MB, result


@pytest.mark.slow
def test_postgres_million_rows(pg_url, tmp_path):
    pg_execute(pg_url, """
        CREATE TABLE big AS SELECT g::bigint AS id, (g % 1000)::int AS user_id, g % 3 = 0 AS flag,
               md5(g::text) AS label, timestamp '2024-01-01' + g * interval '1 second' AS created_at
        FROM generate_series(1, 1000000) g""")
    config = tmp_path / "rivet.yaml"
    config.write_text(CONFIG.format(engine="postgres", url=pg_url, out=tmp_path))
    _check(_run(config), tmp_path)


@pytest.mark.slow
def test_mysql_million_rows(mysql_url, tmp_path):
    mysql_execute(mysql_url, """
        CREATE TABLE big AS SELECT seq AS id, seq % 1000 AS user_id, seq % 3 = 0 AS flag,
               md5(seq) AS label, TIMESTAMP '2024-01-01 00:00:00' + INTERVAL seq SECOND AS created_at
        FROM seq_1_to_1000000""")
    config = tmp_path / "rivet.yaml"
    config.write_text(CONFIG.format(engine="mysql", url=mysql_url, out=tmp_path))
    _check(_run(config), tmp_path)


def test_a_failed_export_releases_its_connection(pg_url, tmp_path, monkeypatch):
    """The reader thread closes the cursor and the connection when the writer fails."""
    import psycopg

    from tests.integration.db_fixtures import PG_ADMIN
    from tests.integration.engine.export_helpers import export_once
    from rivet_dagster.engine import InjectedFault

    pg_execute(pg_url, "CREATE TABLE rel AS SELECT g AS id FROM generate_series(1, 200000) g")
    monkeypatch.setenv("RIVET_TEST_FAULT_AT", "after_part_written")
    config = CONFIG.format(engine="postgres", url=pg_url, out=tmp_path).replace("table: big", "table: rel")
    with pytest.raises(InjectedFault):
        export_once(config, tmp_path, name="big")
    with psycopg.connect(PG_ADMIN) as conn:
        left = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND "
                            "application_name = 'rivet-dagster'", (pg_url.rsplit("/", 1)[1],)).fetchone()[0]
    assert left == 0


def test_a_destination_that_cannot_take_a_part_names_the_export(pg_url, tmp_path):
    """The destination's own error (it knows folders, not exports) reaches the user with the
    export's name and the field, and nothing is left behind."""
    from rivet_dagster.errors import RivetDestinationError
    from tests.integration.engine.export_helpers import export_once

    pg_execute(pg_url, "CREATE TABLE named AS SELECT g AS id FROM generate_series(1, 10) g")
    blocker = tmp_path / "out"
    blocker.write_text("a file where the destination folder should be")
    config = CONFIG.format(engine="postgres", url=pg_url, out=blocker).replace("table: big",
                                                                                "table: named")
    with pytest.raises(RivetDestinationError) as caught:
        export_once(config, tmp_path)
    assert str(caught.value).startswith("export 'big', field 'destination.path': local: cannot "
                                        f"write under {blocker}")
    assert blocker.read_text() == "a file where the destination folder should be"
