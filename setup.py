"""Only the optional C decoders live here; everything else is in pyproject.toml.

`optional=True`: without a C compiler the package still installs, and the PostgreSQL reader
falls back to ADBC and the MySQL one to connectorx (sources/postgres_native.py and
sources/mysql_native.py say why when asked for explicitly).
"""

from setuptools import Extension, setup

_COMMON = {"extra_compile_args": ["-O2", "-std=c99", "-Wall", "-Wextra"], "optional": True,
           "depends": ["rivet_dagster/native/arrow_columns.h"]}

setup(ext_modules=[
    Extension("rivet_dagster._pgcopy", ["rivet_dagster/native/pgcopy.c"], **_COMMON),
    Extension("rivet_dagster._myrows", ["rivet_dagster/native/myrows.c"], **_COMMON),
])
