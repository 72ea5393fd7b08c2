"""Turn `source:` into driver connection arguments, and mask secrets for messages."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from rivet_dagster.config.source import SourceConfig
from rivet_dagster.errors import RivetSourceError

_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:@/]*)(?::[^@/]*)?@", re.I)


def mask_url(url: str) -> str:
    """`postgresql://u:secret@h/db` -> `postgresql://u:***@h/db` (never log a password)."""
    return _USERINFO.sub(lambda m: f"{m.group('scheme')}{m.group('user')}:***@", url)


@dataclass(frozen=True)
class ConnectionParams:
    """Driver-neutral connection parameters resolved from the config and environment."""

    host: str
    port: int
    user: str
    password: str | None
    database: str | None
    options: dict[str, str]

    def describe(self) -> str:
        return f"{self.user}@{self.host}:{self.port}/{self.database or ''}"


def resolve_connection(source: SourceConfig) -> ConnectionParams:
    """Resolve url / url_env / url_file / structured fields into ConnectionParams."""
    url = source.url
    if source.url_env:
        url = os.environ.get(source.url_env)
        if not url:
            raise RivetSourceError(f"environment variable {source.url_env} is not set",
                                   field="source.url_env")
    elif source.url_file:
        try:
            url = Path(source.url_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise RivetSourceError(f"cannot read {source.url_file} ({exc.strerror})",
                                   field="source.url_file") from None
    if url:
        return _parse_url(url, source)
    password = source.password
    if source.password_env:
        password = os.environ.get(source.password_env)
        if password is None:
            raise RivetSourceError(f"environment variable {source.password_env} is not set",
                                   field="source.password_env")
    return ConnectionParams(host=source.host or "localhost", port=source.port or source.default_port,
                            user=source.user or "", password=password, database=source.database,
                            options={})


def _parse_url(url: str, source: SourceConfig) -> ConnectionParams:
    parts = urlsplit(url)
    expected = ("postgres", "postgresql") if source.type == "postgres" else ("mysql", "mariadb")
    if parts.scheme.split("+")[0] not in expected:
        raise RivetSourceError(
            f"URL scheme '{parts.scheme}' does not match source type {source.type} "
            f"(expected {' or '.join(s + '://' for s in expected)}): {mask_url(url)}", field="source.url")
    options: dict[str, str] = {}
    for pair in filter(None, parts.query.split("&")):
        key, _, value = pair.partition("=")
        options[unquote(key)] = unquote(value)
    try:
        port = parts.port or source.default_port
    except ValueError:
        raise RivetSourceError(f"invalid port in URL {mask_url(url)}", field="source.url") from None
    return ConnectionParams(
        host=parts.hostname or "localhost", port=port,
        user=unquote(parts.username or ""),
        password=unquote(parts.password) if parts.password is not None else None,
        database=unquote(parts.path.lstrip("/")) or None, options=options)


def pool_name(source: SourceConfig) -> str:
    """A Dagster concurrency pool per source database, readable and secret-free.

    Derived from the config only (no environment lookups at definition time): host and
    database for URLs and structured fields, the variable or file name otherwise.
    """
    if source.url:
        parts = urlsplit(source.url)
        ident = f"{parts.hostname or 'localhost'}_{parts.port or source.default_port}_{parts.path.lstrip('/')}"
    elif source.url_env:
        ident = f"env_{source.url_env}"
    elif source.url_file:
        ident = f"file_{Path(source.url_file).stem}"
    else:
        ident = f"{source.host}_{source.port or source.default_port}_{source.database}"
    return f"rivet_{source.type}_" + re.sub(r"[^a-z0-9_]+", "_", ident.lower()).strip("_")
