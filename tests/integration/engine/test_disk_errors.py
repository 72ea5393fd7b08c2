"""A part that cannot be written (the file grows past what the system allows) ends the export
with one error naming the export and the destination, and leaves no part, staging file or
manifest behind. The limit is the kernel's own: RLIMIT_FSIZE makes write() fail with EFBIG,
as a full disk fails it with ENOSPC, on the O_DIRECT writes and the buffered tail alike."""

from __future__ import annotations

import json
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.db_fixtures import mysql_execute, pg_execute

SCRIPT = """
import json, sys
from rivet_dagster.errors import RivetError
sys.path.insert(0, {root!r})
from tests.integration.engine.export_helpers import export_once
try:
    from pathlib import Path
    result = export_once(open(sys.argv[1]).read(), base_dir=Path.cwd())
except RivetError as exc:
    print(json.dumps({{"error": str(exc), "type": type(exc).__name__, "field": exc.field,
                      "export": exc.export}}))
    sys.exit(1)
print(json.dumps({{"rows": result.rows}}))
"""
CONFIG = """
source: {{type: {engine}, url: "{url}", tuning: {{profile: fast}}}}
exports:
  - name: big
    table: disk_errors_t
    format: {fmt}{extra}
    destination: {{type: local, path: "{out}"}}
"""
LIMIT = 6 << 20  # bytes any file of the export process may hold
PRIMES = (1, 3, 7, 13, 31, 61, 127, 251)  # distinct md5s per row: ~128 bytes of zstd each
ROOT = str(Path(__file__).resolve().parents[3])


def _limited() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() returns EFBIG instead of a kill
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


def _run(tmp_path: Path, name: str, engine: str, url: str, fmt: str, limited: bool,
         extra: str = "") -> tuple[int, dict, Path]:
    out = tmp_path / name
    config = tmp_path / f"{name}.yaml"
    config.write_text(CONFIG.format(engine=engine, url=url, fmt=fmt, out=out, extra=extra))
    proc = subprocess.run([sys.executable, "-c", SCRIPT.format(root=ROOT), str(config)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path,
                          preexec_fn=_limited if limited else None)
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return proc.returncode, json.loads(proc.stdout.strip().splitlines()[-1]), out


@pytest.mark.parametrize("fmt,extra", [("parquet", ""), ("csv", ""),
                                       ("parquet", "\n    parquet: {encode_threads: 3}")],
                         ids=["parquet", "csv", "parquet-threads"])
def test_a_part_too_large_for_the_system_is_one_clear_error_and_leaves_nothing(
        engine_url, tmp_path, fmt, extra):
    engine, url = engine_url
    if engine == "postgres":
        pg_execute(url, "DROP TABLE IF EXISTS disk_errors_t")
        pg_execute(url, """CREATE TABLE disk_errors_t AS
            SELECT g AS id, concat({}) AS body FROM generate_series(1, 60000) g""".format(
            ", ".join(f"md5((g * {k})::text)" for k in PRIMES)))
    else:
        mysql_execute(url, "DROP TABLE IF EXISTS disk_errors_t", """CREATE TABLE disk_errors_t AS
            SELECT seq AS id, CONCAT({}) AS body FROM seq_1_to_60000""".format(
            ", ".join(f"MD5(seq * {k})" for k in PRIMES)))
    code, result, out = _run(tmp_path, "unlimited", engine, url, fmt, False, extra)
    assert code == 0 and result == {"rows": 60000}  # the same export fits without the limit
    assert sum(f.stat().st_size for f in out.rglob("part-*")) > LIMIT

    code, failed, out = _run(tmp_path, "limited", engine, url, fmt, True, extra)
    assert code == 1, failed
    assert failed["type"] == "RivetDestinationError"
    assert (failed["export"], failed["field"]) == ("big", "destination")
    assert failed["error"].startswith(
        f"export 'big', field 'destination': cannot write part-00000.{fmt} under {out / 'big'}/")
    assert failed["error"].endswith(": File too large")
    assert [p for p in out.rglob("*") if p.is_file()] == []
