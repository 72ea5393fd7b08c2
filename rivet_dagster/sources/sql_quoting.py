"""SQL identifier quoting per dialect, in one place (values are always bound, never quoted)."""

from __future__ import annotations


def quote_identifier(dialect: str, name: str) -> str:
    """`"name"` on PostgreSQL, `` `name` `` on MySQL; embedded quotes are doubled."""
    if dialect == "mysql":
        return "`" + name.replace("`", "``") + "`"
    return '"' + name.replace('"', '""') + '"'
