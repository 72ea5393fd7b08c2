"""Memory knobs: row-width estimate, batch caps (warn / fail / auto_shrink), value cap."""

import logging

import pyarrow as pa
import pytest

from rivet_dagster.config.source import SourceConfig, TuningConfig
from rivet_dagster.config.tuning_profiles import resolve_tuning
from rivet_dagster.engine.memory_policy import MemoryPolicy, estimate_row_bytes, rows_for_memory
from rivet_dagster.errors import RivetSourceError

SOURCE = SourceConfig(type="postgres", url="postgresql://u@h/d")
log = logging.getLogger("test")


def _policy(**tuning):
    return MemoryPolicy(resolve_tuning(SOURCE, TuningConfig(**tuning)), "e", log)


def test_row_estimate_follows_rivet():
    schema = pa.schema([("a", pa.bool_()), ("b", pa.int16()), ("c", pa.int32()), ("d", pa.int64()),
                        ("e", pa.decimal128(10, 2)), ("f", pa.string()), ("g", pa.list_(pa.int32()))])
    assert estimate_row_bytes(schema) == 1 + 2 + 4 + 8 + 16 + 256 + 64 + 7
    assert rows_for_memory(schema, 1) == 1024 * 1024 // 358
    assert rows_for_memory(pa.schema([("s", pa.string())] * 100), 1) == 1_000  # clamped
    assert rows_for_memory(pa.schema([("b", pa.bool_())]), 4096) == 500_000


class FakeStream:
    batch_size = 10_000


def _wide(rows=1000):
    return pa.record_batch([pa.array(["x" * 1000] * rows)], names=["s"])


def test_auto_shrink_splits_and_lowers_the_fetch_size():
    policy, stream, batch = _policy(max_batch_memory_mb=1, on_batch_memory_exceeded="auto_shrink"), \
        FakeStream(), _wide(3000)
    pieces = list(policy.fit(batch, stream))
    assert sum(p.num_rows for p in pieces) == 3000 and len(pieces) >= 3
    assert all(p.nbytes <= 1024 * 1024 for p in pieces)
    assert pa.Table.from_batches(pieces).equals(pa.Table.from_batches([batch]))
    assert stream.batch_size < 1100


def test_warn_and_fail(caplog):
    batch = _wide(3000)
    with caplog.at_level(logging.WARNING):
        assert list(_policy(max_batch_memory_mb=1).fit(batch, FakeStream())) == [batch]
    assert "batch_size ~" in caplog.text
    with pytest.raises(RivetSourceError, match="above max_batch_memory_mb 1"):
        list(_policy(max_batch_memory_mb=1, on_batch_memory_exceeded="fail").fit(batch, FakeStream()))


def test_value_cap():
    big = pa.record_batch([pa.array([b"x" * (2 * 1024 * 1024)])], names=["blob"])
    with pytest.raises(RivetSourceError, match="RIVET_VALUE_TOO_LARGE.*'blob'"):
        _policy(max_value_mb=1).check_values(big)
    _policy(max_value_mb=3).check_values(big)
    _policy(max_value_mb=0).check_values(big)
