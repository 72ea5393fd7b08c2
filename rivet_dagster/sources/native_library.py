"""Where the package's optional C decoders were built (`setup.py`, at install time)."""

from __future__ import annotations

import glob
import importlib.machinery
import os


def built_library(name: str) -> str:
    """The path of `rivet_dagster/<name>.<suffix>`; OSError saying why when it was not built."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        found = glob.glob(os.path.join(here, name + suffix))
        if found:
            return found[0]
    raise OSError(f"the C decoder rivet_dagster/{name} was not built at install time "
                  f"(a C compiler is needed: apt install gcc, then reinstall)")
