"""Memory knobs on a real wide table: same rows with auto_shrink, clear failures otherwise."""

import pyarrow.parquet as pq
import pytest

from rivet_dagster.errors import RivetSourceError
from tests.integration.db_fixtures import pg_execute
from tests.integration.engine.export_helpers import export_once

CONFIG = """
source: {{type: postgres, url: "{url}", tuning: {{profile: fast, batch_size: 5000}}}}
exports:
  - name: wide
    query: "SELECT id, body FROM wide ORDER BY id"
    format: parquet
    tuning: {{{tuning}}}
    destination: {{type: local, path: "{out}"}}
"""


@pytest.fixture(scope="module")
def wide(pg_url):
    pg_execute(pg_url, "CREATE TABLE wide AS SELECT g AS id, repeat(md5(g::text), 64) AS body "
                       "FROM generate_series(1, 20000) g")
    return pg_url


def _table(result, out):
    return pq.ParquetDataset([str(out / "wide" / "snapshot-000001" / p.path)
                              for p in result.parts]).read()


def test_auto_shrink_keeps_every_row(wide, tmp_path):
    plain = export_once(CONFIG.format(url=wide, out=tmp_path / "a", tuning=""), tmp_path)
    shrunk = export_once(CONFIG.format(url=wide, out=tmp_path / "b", tuning=
                                       "max_batch_memory_mb: 2, on_batch_memory_exceeded: auto_shrink"),
                         tmp_path)
    assert shrunk.rows == plain.rows == 20000
    assert shrunk.batches > plain.batches  # later fetches were made smaller
    assert _table(shrunk, tmp_path / "b").equals(_table(plain, tmp_path / "a"))


def test_fail_and_value_cap_abort(wide, tmp_path):
    with pytest.raises(RivetSourceError, match="above max_batch_memory_mb 2"):
        export_once(CONFIG.format(url=wide, out=tmp_path, tuning=
                                  "max_batch_memory_mb: 2, on_batch_memory_exceeded: fail"), tmp_path)
    pg_execute(wide, "CREATE TABLE huge_cell AS SELECT 1 AS id, repeat('x', 2 * 1024 * 1024) AS body")
    config = CONFIG.replace("FROM wide ORDER BY id", "FROM huge_cell")
    with pytest.raises(RivetSourceError, match="RIVET_VALUE_TOO_LARGE"):
        export_once(config.format(url=wide, out=tmp_path, tuning="max_value_mb: 1"), tmp_path)
    assert not any((tmp_path / "wide").rglob("manifest.json"))


def test_batch_size_memory_mb_sets_the_fetch_size(wide, tmp_path):
    # the export's batch_size_memory_mb beats the source's batch_size
    result = export_once(CONFIG.format(url=wide, out=tmp_path, tuning="batch_size_memory_mb: 1"),
                         tmp_path)
    # int4 + text estimated at 4 + 256 (+2 validity) bytes: 1 MiB -> 4002 rows a batch
    assert result.batches == 5 and result.rows == 20000
