"""Test-only fault hook: `RIVET_TEST_FAULT_AT=<point>` fails the export at that point.

Points (single-query path): after_source_read, after_part_written, after_file_write,
after_manifest, after_commit. `RIVET_TEST_FAULT_MODE=exit` kills the process with
`os._exit(137)` (a crash: no cleanup, no exception handlers); the default raises
`InjectedFault` (a clean failure of the step).
"""

from __future__ import annotations

import os

POINTS = ("after_source_read", "after_part_written", "after_file_write", "after_manifest",
          "after_commit")


class InjectedFault(RuntimeError):
    """Raised at a fault point named by RIVET_TEST_FAULT_AT."""


def fault_point(name: str) -> None:
    wanted = os.environ.get("RIVET_TEST_FAULT_AT")
    if not wanted or name not in {w.strip() for w in wanted.split(",")}:
        return
    if os.environ.get("RIVET_TEST_FAULT_MODE") == "exit":
        os._exit(137)
    raise InjectedFault(f"injected fault at {name} (RIVET_TEST_FAULT_AT)")
