"""What every PostgreSQL reader sets in its transaction, and how its errors read."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rivet_dagster.errors import RivetSourceError
from rivet_dagster.sources.base import ReadRequest


def session_settings(request: ReadRequest) -> dict[str, str]:
    """Transaction-local (`SET LOCAL`) settings: they cannot leak into a pooled session."""
    return {
        "TimeZone": "UTC",
        "IntervalStyle": "iso_8601",
        "statement_timeout": f"{int(request.statement_timeout_s) * 1000}",
        "lock_timeout": f"{int(request.lock_timeout_s) * 1000}",
    }


def first_line(exc: BaseException) -> str:
    text = str(exc).strip() or exc.__class__.__name__
    return text.splitlines()[0]


def server_words(text: str) -> str | None:
    """The server's message in a libpq error text ("ERROR:  ..." / "FATAL:  ..."), first line."""
    for marker in ("ERROR:  ", "FATAL:  "):
        if marker in text:
            return text.split(marker, 1)[1].splitlines()[0].strip()
    return None


@contextmanager
def batch_watchdog(request: ReadRequest, on_timeout: Callable[[], None]) -> Iterator[None]:
    """Call `on_timeout` (from a timer thread) when the block outlasts statement_timeout_s.

    The COPY readers' statement timeout: a COPY is one statement for the whole export, so the
    server's timeout is off and this bounds each batch instead (the cursor's FETCH bound)."""
    limit = request.statement_timeout_s
    if limit <= 0:
        yield
        return
    timer = threading.Timer(limit, on_timeout)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def copy_timeout_error(request: ReadRequest) -> RivetSourceError:
    return RivetSourceError(
        f"postgres: statement timeout: no batch came within {request.statement_timeout_s} s "
        f"(tuning.statement_timeout_s bounds each batch); the COPY was cancelled",
        export=request.export, field="query")
