"""The Arrow compute kernels the library calls, by name, without importing `pyarrow.compute`.

`import pyarrow.compute` builds a Python wrapper, docstring included, for each of Arrow's
~300 kernels: 40-50 ms of every process's start-up, more than `pyarrow.parquet` takes to
import, and the bench's exports start in 0.4-0.5 s all told. Through `call_function` the
same C++ kernels run with the same options; only the wrappers are skipped. Array methods
such as `.cast()` import `pyarrow.compute` as well, so the library casts with `cast` here.
The options mirror `pyarrow.compute`'s defaults (tests/unit/test_kernels.py compares them).
"""

from __future__ import annotations

from typing import Any

import rivet_dagster._native_preload  # noqa: F401  (before pyarrow: see that module)
import pyarrow as pa
from pyarrow._compute import (
    CastOptions,
    CountOptions,
    FilterOptions,
    JoinOptions,
    MatchSubstringOptions,
    ScalarAggregateOptions,
    SliceOptions,
    StrftimeOptions,
    StrptimeOptions,
    call_function,
)

_AGGREGATE = ScalarAggregateOptions(skip_nulls=True, min_count=1)


def cast(values: Any, target: pa.DataType) -> Any:
    """A safe cast (overflow, truncation and bad text raise `ArrowInvalid`)."""
    return call_function("cast", [values], CastOptions.safe(target))


def equal(left: Any, right: Any) -> Any:
    return call_function("equal", [left, right])


def not_equal(left: Any, right: Any) -> Any:
    return call_function("not_equal", [left, right])


def invert(values: Any) -> Any:
    return call_function("invert", [values])


def if_else(cond: Any, left: Any, right: Any) -> Any:
    return call_function("if_else", [cond, left, right])


def fill_null(values: Any, fill_value: Any) -> Any:
    return call_function("coalesce", [values, pa.scalar(fill_value, values.type)])


def filter(values: Any, mask: Any) -> Any:  # noqa: A001  (Arrow's name for it)
    return call_function("filter", [values, mask], FilterOptions("drop"))


def any_true(values: Any) -> pa.Scalar:
    return call_function("any", [values], _AGGREGATE)


def max(values: Any) -> pa.Scalar:  # noqa: A001
    return call_function("max", [values], _AGGREGATE)


def min(values: Any) -> pa.Scalar:  # noqa: A001
    return call_function("min", [values], _AGGREGATE)


def count_distinct(values: Any) -> pa.Scalar:
    """Distinct non-null values."""
    return call_function("count_distinct", [values], CountOptions("only_valid"))


def binary_length(values: Any) -> Any:
    return call_function("binary_length", [values])


def utf8_slice_codeunits(values: Any, start: int, stop: int) -> Any:
    return call_function("utf8_slice_codeunits", [values], SliceOptions(start, stop))


def match_substring_regex(values: Any, pattern: str) -> Any:
    return call_function("match_substring_regex", [values], MatchSubstringOptions(pattern))


def binary_join_element_wise(*strings: Any) -> Any:
    """Concatenate element-wise, the last argument being the separator; null if any is null."""
    return call_function("binary_join_element_wise", list(strings), JoinOptions())


def strptime(values: Any, format: str, unit: str, error_is_null: bool = False) -> Any:  # noqa: A002
    return call_function("strptime", [values],
                         StrptimeOptions(format, unit, error_is_null=error_is_null))


def strftime(values: Any, format: str) -> Any:  # noqa: A002
    return call_function("strftime", [values], StrftimeOptions(format))
