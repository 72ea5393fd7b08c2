"""rivet_dagster.kernels calls Arrow's kernels by name: same results and errors as pyarrow.compute."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from rivet_dagster import kernels

TEXT = pa.array(["2024-02-29", "0000-00-00", None, "2023-02-30", "1999-12-31"])
NUMS = pa.array([3, None, -7, 3, 250], pa.int64())


def test_each_kernel_gives_what_pyarrow_compute_gives() -> None:
    pairs = [
        (kernels.cast(NUMS, pa.int16()), pc.cast(NUMS, pa.int16())),
        (kernels.cast(pa.array(["1.50", None, "-2"]), pa.decimal128(5, 2)),
         pc.cast(pa.array(["1.50", None, "-2"]), pa.decimal128(5, 2))),
        (kernels.equal(NUMS, 3), pc.equal(NUMS, 3)),
        (kernels.not_equal(NUMS, 3), pc.not_equal(NUMS, 3)),
        (kernels.invert(pa.array([True, None, False])), pc.invert(pa.array([True, None, False]))),
        (kernels.if_else(pc.equal(NUMS, 3), NUMS, pa.scalar(0, pa.int64())),
         pc.if_else(pc.equal(NUMS, 3), NUMS, pa.scalar(0, pa.int64()))),
        (kernels.fill_null(pc.equal(NUMS, 3), False), pc.fill_null(pc.equal(NUMS, 3), False)),
        (kernels.filter(NUMS, pc.equal(NUMS, 3)), pc.filter(NUMS, pc.equal(NUMS, 3))),
        (kernels.any_true(pa.array([False, None])), pc.any(pa.array([False, None]))),
        (kernels.any_true(pa.array([None], pa.bool_())), pc.any(pa.array([None], pa.bool_()))),
        (kernels.max(NUMS), pc.max(NUMS)),
        (kernels.min(NUMS), pc.min(NUMS)),
        (kernels.min(pa.array([], pa.int64())), pc.min(pa.array([], pa.int64()))),
        (kernels.count_distinct(NUMS), pc.count_distinct(NUMS)),
        (kernels.binary_length(TEXT), pc.binary_length(TEXT)),
        (kernels.utf8_slice_codeunits(TEXT, 0, 4), pc.utf8_slice_codeunits(TEXT, 0, 4)),
        (kernels.match_substring_regex(TEXT, r"^\d{4}-02"), pc.match_substring_regex(TEXT, r"^\d{4}-02")),
        (kernels.binary_join_element_wise("1970-01-01 ", TEXT, ""),
         pc.binary_join_element_wise("1970-01-01 ", TEXT, "")),
        (kernels.strptime(TEXT, format="%Y-%m-%d", unit="s", error_is_null=True),
         pc.strptime(TEXT, format="%Y-%m-%d", unit="s", error_is_null=True)),
        (kernels.strftime(pa.array([dt.datetime(2024, 1, 2, 3, 4, 5)], pa.timestamp("us", "UTC")),
                          format="%Y-%m-%dT%H:%M:%S%Ez"),
         pc.strftime(pa.array([dt.datetime(2024, 1, 2, 3, 4, 5)], pa.timestamp("us", "UTC")),
                     format="%Y-%m-%dT%H:%M:%S%Ez")),
    ]
    for ours, theirs in pairs:
        assert ours.type == theirs.type and ours.equals(theirs), (ours, theirs)


@pytest.mark.parametrize(("values", "target"), [
    (pa.array([70000], pa.int64()), pa.int16()),        # overflow
    (pa.array(["12x"]), pa.int32()),                     # not a number
    (pa.array(["1.234"]), pa.decimal128(5, 2)),          # would lose a digit
    (pa.array(["2023-02-30"]), pa.date32()),             # not a date
])
def test_cast_is_safe_like_pyarrow_compute(values: pa.Array, target: pa.DataType) -> None:
    with pytest.raises(pa.ArrowInvalid):
        pc.cast(values, target)
    with pytest.raises(pa.ArrowInvalid):
        kernels.cast(values, target)


def test_the_engine_does_not_import_pyarrow_compute() -> None:
    """Its wrappers cost 40-50 ms of every start; nothing the engine imports may pull it in."""
    code = ("import sys, rivet_dagster.engine, rivet_dagster.config, rivet_dagster.destinations, "
            "rivet_dagster.formats, rivet_dagster.sources.mysql_native, rivet_dagster.sources.postgres_native, "
            "rivet_dagster.sources.mysql_arrow, rivet_dagster.sources.postgres_copy; "
            "print('pyarrow.compute' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
