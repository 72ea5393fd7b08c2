"""What every PostgreSQL reader sets in its transaction, and how its errors read."""

from __future__ import annotations

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
