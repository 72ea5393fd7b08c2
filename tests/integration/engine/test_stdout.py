"""The stdout destination streams CSV (or Parquet bytes) and keeps no files or manifest."""

import gc
import io
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from rivet_dagster.config import parse_config, resolve_tuning
from rivet_dagster.destinations import StdoutDestination
from rivet_dagster.engine import run_export
from rivet_dagster.sources import create_source

CONFIG = """
source: {{type: postgres, url: "{url}"}}
exports:
  - name: to_stdout
    query: "SELECT g AS id, 'row ' || g AS label FROM generate_series(1, 2500) g"
    format: {fmt}{extra}
    destination: {{type: stdout}}
"""


def _run(url: str, fmt: str, extra: str = "") -> tuple[bytes, object]:
    config = parse_config(CONFIG.format(url=url, fmt=fmt, extra=extra), base_dir=Path("."))
    export = config.exports[0]
    stream = io.BytesIO()
    frozen: list[int] = []
    result = run_export(export, create_source(config.source), StdoutDestination(stream),
                        tuning=resolve_tuning(config.source, export.tuning), slot="snapshot-000001",
                        observe=lambda batch: frozen.append(gc.get_freeze_count()))
    # the process's objects stay out of full collections while batches stream, not after
    assert frozen and min(frozen) > 0 and gc.get_freeze_count() == 0
    return stream.getvalue(), result


def test_csv_to_stdout(pg_url):
    data, result = _run(pg_url, "csv")
    table = pacsv.read_csv(io.BytesIO(data))
    assert table.num_rows == 2500 == result.rows
    assert table.column("label").to_pylist()[-1] == "row 2500"
    assert result.manifest_uri is None and result.parts[0].path == "-"


def test_parquet_to_stdout(pg_url):
    data, result = _run(pg_url, "parquet")
    assert pq.read_table(io.BytesIO(data)).num_rows == 2500


def test_parquet_encoded_on_threads_to_stdout(pg_url):
    # the threaded writer hands the sink pyarrow buffers (write_owned), not bytes
    groups = ("\n    tuning: {batch_size: 250}"
              "\n    parquet: {encode_threads: 3, row_group_strategy: fixed_rows, row_group_rows: 250}")
    data, result = _run(pg_url, "parquet", groups)
    plain, _ = _run(pg_url, "parquet", groups.replace("encode_threads: 3", "encode_threads: 1"))
    assert data == plain
    meta = pq.ParquetFile(io.BytesIO(data)).metadata
    assert meta.num_rows == 2500 == result.rows and meta.num_row_groups > 1
    assert result.parts[0].bytes == len(data)
