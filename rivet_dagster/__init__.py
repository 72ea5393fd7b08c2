"""rivet-dagster: Rivet-style database exports as Dagster assets.

The engine (config, sources, formats, destinations, engine) imports nothing from Dagster;
`build_defs` and the Component live in `rivet_dagster.dagster` and load lazily.
"""

import rivet_dagster._native_preload  # noqa: F401  (must precede any pyarrow import)
from rivet_dagster.errors import (
    RivetConfigError, RivetDestinationError, RivetError, RivetFormatError,
    RivetNotImplementedError, RivetSourceError,
)
from rivet_dagster.version import __version__

__all__ = [
    "RivetConfigError", "RivetDestinationError", "RivetError", "RivetExportsComponent",
    "RivetFormatError", "RivetNotImplementedError", "RivetSourceError", "__version__",
    "build_defs",
]


def __getattr__(name: str):  # lazy: `import rivet_dagster.engine` must not import dagster
    if name == "build_defs":
        from rivet_dagster.dagster.factory import build_defs
        return build_defs
    if name == "RivetExportsComponent":
        from rivet_dagster.dagster.component import RivetExportsComponent
        return RivetExportsComponent
    raise AttributeError(f"module 'rivet_dagster' has no attribute {name!r}")


def __dir__() -> list[str]:  # lets `dg list components` find the lazily imported Component
    return sorted({*globals(), "build_defs", "RivetExportsComponent"})
