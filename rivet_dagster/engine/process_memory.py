"""Process memory readings (Linux): current RSS from /proc, peak RSS from getrusage."""

from __future__ import annotations

import gc
import os
import resource
from collections.abc import Iterator
from contextlib import contextmanager


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB.

    VmHWM (this address space's high-water mark) rather than ru_maxrss: on Linux a child
    started with fork+exec inherits its parent's ru_maxrss, so an export launched from a large
    process (a test runner, a Dagster daemon) would report the parent's peak.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)
    except (OSError, ValueError, IndexError):
        return peak_rss_mb()


POOL_ENV = "ARROW_DEFAULT_MEMORY_POOL"


def prefer_returning_pool() -> str:
    """Make pyarrow's default pool jemalloc if it is not the one ARROW_DEFAULT_MEMORY_POOL chose.

    `rivet_dagster._native_preload` sets that variable (unless the user did) before pyarrow
    loads, which covers the whole process. This is the fallback for a process that had used
    pyarrow before importing rivet_dagster: it moves pyarrow's own allocations (the Python
    API's default pool); Arrow's C++ default pool stays what it was. Returns the pool's name.
    """
    import pyarrow as pa

    wanted = os.environ.get(POOL_ENV, "jemalloc").strip().lower()
    current = pa.default_memory_pool().backend_name
    if wanted != "jemalloc" or current == "jemalloc":
        return current
    try:
        pool = pa.jemalloc_memory_pool()
    except NotImplementedError:  # a pyarrow build without jemalloc
        return current
    pa.set_memory_pool(pool)
    return pool.backend_name


@contextmanager
def frozen_gc() -> Iterator[None]:
    """Keep the objects that exist now out of the cyclic GC's full collections meanwhile.

    An export allocates short-lived wrappers per batch, which triggers collections; each full
    one walks every object in the process (all of Dagster's, in an asset). Freezing them for
    the export's duration measured 0.2 s (3 %) less CPU on 300k wide MariaDB rows.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
