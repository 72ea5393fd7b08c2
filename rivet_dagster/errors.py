"""The library's exceptions.

Every error names the export and the field or step it concerns, so that one line in a
Dagster run log or a CLI error is enough to act on. Messages never contain secrets.
"""

from __future__ import annotations


class RivetError(Exception):
    """Base class of every error raised by rivet-dagster."""

    def __init__(self, message: str, *, export: str | None = None, field: str | None = None):
        self.export = export
        self.field = field
        self.detail = message
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.export:
            where.append(f"export '{self.export}'")
        if self.field:
            where.append(f"field '{self.field}'")
        prefix = ", ".join(where)
        return f"{prefix}: {self.detail}" if prefix else self.detail


class RivetConfigError(RivetError):
    """The YAML configuration is invalid. ``problems`` lists every problem found."""

    def __init__(self, message: str, *, export: str | None = None, field: str | None = None,
                 problems: list[RivetError] | None = None):
        self.problems: list[RivetError] = problems or []
        super().__init__(message, export=export, field=field)

    @classmethod
    def from_problems(cls, problems: list[RivetError], source: str) -> "RivetConfigError":
        lines = "\n".join(f"  - {p}" for p in problems)
        noun = "problem" if len(problems) == 1 else "problems"
        err = cls(f"{source}: {len(problems)} {noun}:\n{lines}", problems=problems)
        return err


class RivetSourceError(RivetError):
    """Reading from the source database failed (connect, query, types)."""


class RivetDestinationError(RivetError):
    """Writing to or reading from the destination failed."""


class RivetFormatError(RivetError):
    """A batch cannot be encoded in the requested file format."""


class RivetNotImplementedError(RivetError, NotImplementedError):
    """A configured feature is parsed and validated, but not built yet."""
