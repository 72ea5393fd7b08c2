"""Only the optional C decoder lives here; everything else is in pyproject.toml.

`optional=True`: without a C compiler the package still installs, and the PostgreSQL reader
falls back to ADBC (sources/postgres_native.py says why when asked for explicitly).
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension(
    "rivet_dagster._pgcopy", ["rivet_dagster/native/pgcopy.c"],
    extra_compile_args=["-O2", "-std=c99", "-Wall", "-Wextra"], optional=True)])
