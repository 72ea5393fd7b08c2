"""A backfill of 8 chunk partitions under `dagster dev` with a pool limit of 2 never holds
more than 2 source connections (sampled from pg_stat_activity)."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import psycopg
import pytest

from tests.integration.db_fixtures import PG_ADMIN, pg_execute

DAGSTER = Path(sys.executable).with_name("dagster")
CLI = Path(sys.executable).with_name("rivet-dagster")
PARTITIONS = 8


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(server: subprocess.Popen) -> None:
    """Stop `dagster dev` and everything it started. Its shutdown takes about a second, but
    once in CI every process was still up minutes after SIGTERM although all runs had
    succeeded. By then every run is over and the connection sampler has stopped, so a hung
    shutdown is killed rather than failing the test."""
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)


def _graphql(port: int, query: str, variables: dict | None = None) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


class ConnectionSampler(threading.Thread):
    """Counts the export's connections to the test database every 50 ms."""

    def __init__(self, database: str):
        super().__init__(daemon=True)
        self.database, self.samples, self.stop = database, [], threading.Event()

    def run(self) -> None:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            while not self.stop.is_set():
                n = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                                 "AND application_name = 'rivet-dagster'",
                                 (self.database,)).fetchone()[0]
                self.samples.append(n)
                time.sleep(0.05)


@pytest.mark.slow
def test_backfill_respects_the_pool(pg_url, tmp_path):
    database = pg_url.rsplit("/", 1)[1]
    pg_execute(pg_url, "CREATE TABLE pool_t AS SELECT g AS id FROM generate_series(0, 7999) g")
    config = tmp_path / "rivet.yaml"
    # the scalar sub-select runs once per query: each partition holds its connection ~1.5 s
    config.write_text(f"""
source: {{type: postgres, url: "{pg_url}", tuning: {{profile: fast}}}}
exports:
  - name: pool_t
    query: "SELECT id FROM pool_t WHERE (SELECT pg_sleep(1.5)) IS NOT NULL"
    mode: chunked
    chunk_column: id
    chunk_size: 1000
    parallel: 2
    format: parquet
    destination: {{type: local, path: "{tmp_path / 'out'}"}}
""")
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        "concurrency:\n  pools:\n    default_limit: 2\n  runs:\n    max_concurrent_runs: 4\n")
    env = {**os.environ, "DAGSTER_HOME": str(home), "RIVET_CONFIG": str(config)}
    planned = subprocess.run([str(CLI), "plan", str(config), "--export", "pool_t"], env=env,
                             capture_output=True, text=True, timeout=120)
    assert planned.returncode == 0, planned.stderr
    keys = [line.split()[1] for line in planned.stdout.splitlines()]
    assert len(keys) == PARTITIONS
    port = _free_port()
    repo = Path(__file__).parents[2]
    server = subprocess.Popen(
        [str(DAGSTER), "dev", "-f", str(repo / "definitions.py"), "-h", "127.0.0.1", "-p", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    sampler = ConnectionSampler(database)
    try:
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2)
                break
            except OSError:
                assert time.time() < deadline, "dagster dev did not start"
                time.sleep(0.5)
        sampler.start()
        launched = _graphql(port, """
            mutation($p: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $p) {
              __typename ... on LaunchBackfillSuccess { backfillId }
              ... on PythonError { message } ... on InvalidSubsetError { message } } }""",
            {"p": {"partitionNames": keys, "assetSelection": [{"path": ["pool_t"]}]}})
        result = launched["data"]["launchPartitionBackfill"]
        assert result["__typename"] == "LaunchBackfillSuccess", result
        deadline = time.time() + 400
        while time.time() < deadline:
            done = _graphql(port, """{ runsOrError(filter: {statuses: [SUCCESS]}) {
                ... on Runs { results { runId } } } }""")["data"]["runsOrError"]["results"]
            failed = _graphql(port, """{ runsOrError(filter: {statuses: [FAILURE, CANCELED]}) {
                ... on Runs { results { runId } } } }""")["data"]["runsOrError"]["results"]
            assert not failed, failed
            if len(done) >= PARTITIONS:
                break
            time.sleep(2)
        assert len(done) >= PARTITIONS, f"only {len(done)} runs succeeded"
    finally:
        sampler.stop.set()
        _stop(server)
    histogram = {n: sampler.samples.count(n) for n in set(sampler.samples)}
    assert max(sampler.samples) == 2, histogram  # two at a time, never more
    materialized = list((tmp_path / "out" / "pool_t").iterdir())
    assert len(materialized) == PARTITIONS
