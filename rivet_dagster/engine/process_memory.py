"""Process memory readings (Linux): current RSS from /proc, peak RSS from getrusage."""

from __future__ import annotations

import os
import resource


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
