"""`source:` and `tuning:` models (F08-F29)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Rivet rejects these next to `url:` or `query:` with a pointer to `tuning:`; the loader words
# the extra_forbidden error that way (so the block's other problems are still reported).
TUNING_KEYS = (
    "profile", "batch_size", "batch_size_memory_mb", "throttle_ms", "statement_timeout_s",
    "lock_timeout_s", "max_retries", "retry_backoff_ms", "memory_threshold_mb",
    "max_batch_memory_mb", "on_batch_memory_exceeded", "adaptive", "min_parallel", "max_value_mb",
)


class RuleError(ValueError):
    """A cross-field rule failed. ``field`` (relative to the model raising it) and ``export``
    let the loader name the exact key instead of only the enclosing block."""

    def __init__(self, message: str, *, field: str | None = None, export: str | None = None):
        super().__init__(message)
        self.field = field
        self.export = export


class StrictModel(BaseModel):
    """Every config model rejects unknown keys (a typo must never be silently ignored)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class TuningConfig(StrictModel):
    """Source-load and memory knobs. Per-export `tuning:` overrides `source.tuning:` field by field."""

    profile: Literal["fast", "balanced", "safe"] | None = Field(
        None, description="Preset for every field below: fast, balanced (default) or safe.")
    batch_size: int | None = Field(None, ge=1, description="Rows per fetch from the source.")
    batch_size_memory_mb: int | None = Field(
        None, ge=1, description="Target batch memory; rows derived from the estimated row width.")
    throttle_ms: int | None = Field(None, ge=0, description="Sleep between batches, in ms.")
    statement_timeout_s: int | None = Field(None, ge=0, description="Per-statement timeout; 0 = none.")
    lock_timeout_s: int | None = Field(None, ge=0, description="PostgreSQL lock timeout; 0 = none.")
    max_retries: int | None = Field(None, ge=0, description="Retries for transient errors.")
    retry_backoff_ms: int | None = Field(None, ge=0, description="Base of the exponential backoff.")
    memory_threshold_mb: int | None = Field(None, ge=0, description="RSS guard; 0 disables.")
    max_batch_memory_mb: int | None = Field(None, ge=1, description="Cap on one Arrow batch.")
    on_batch_memory_exceeded: Literal["warn", "fail", "auto_shrink"] | None = Field(
        None, description="What to do when a batch exceeds max_batch_memory_mb.")
    adaptive: bool | None = Field(
        None, description="Shrink fetches 25 % while the source's write-pressure counter rises "
                          "(sampled every 10 batches), grow them back when it does not.")
    min_parallel: int | None = Field(None, ge=1, description="Governor floor for chunked exports.")
    max_value_mb: int | None = Field(None, ge=0, description="Largest single cell; 0 = no limit.")

    @model_validator(mode="after")
    def _one_batch_rule(self) -> "TuningConfig":
        if self.batch_size is not None and self.batch_size_memory_mb is not None:
            raise RuleError("batch_size and batch_size_memory_mb are mutually exclusive; keep one",
                            field="batch_size_memory_mb")
        return self


class TlsConfig(StrictModel):
    """libpq-like TLS settings; when the block is present the default mode is verify-full."""

    mode: Literal["disable", "require", "verify-ca", "verify-full"] = Field(
        "verify-full", description="require = encrypt only; verify-ca = check the chain; "
                                   "verify-full = chain + hostname; disable = plaintext, no warning.")
    ca_file: str | None = Field(None, description="PEM file of CA certificates to trust.")
    accept_invalid_certs: bool = Field(False, description="Dangerous: trust any certificate.")
    accept_invalid_hostnames: bool = Field(False, description="Dangerous: skip the hostname check.")


class SourceConfig(StrictModel):
    """Where rows come from. Exactly one of url, url_env, url_file or the structured fields."""

    type: Literal["postgres", "mysql"] = Field(description="Database engine (mysql covers MariaDB).")
    url: str | None = Field(None, description="Connection URL, e.g. postgresql://user@host/db.")
    url_env: str | None = Field(None, description="Name of an environment variable holding the URL.")
    url_file: str | None = Field(None, description="File holding the URL (rotation-friendly).")
    host: str | None = Field(None, description="Structured style: server host name or address.")
    port: int | None = Field(None, ge=1, le=65535, description="Default 5432 (postgres) / 3306 (mysql).")
    user: str | None = Field(None, description="Structured style: user name.")
    database: str | None = Field(None, description="Structured style: database name.")
    password: str | None = Field(None, description="Literal password; prefer password_env.")
    password_env: str | None = Field(None, description="Environment variable holding the password.")
    environment: Literal["production", "replica", "local"] = Field(
        "production", description="Picks the default tuning profile (local -> fast, else balanced).")
    tls: TlsConfig | None = Field(None, description="TLS settings; omitted = plaintext with a warning.")
    tuning: TuningConfig | None = Field(None, description="Tuning for every export (see `tuning`).")

    @model_validator(mode="after")
    def _connection_style(self) -> "SourceConfig":
        url_style = [k for k in ("url", "url_env", "url_file") if getattr(self, k)]
        structured = [k for k in ("host", "port", "user", "database", "password", "password_env")
                      if getattr(self, k) is not None]
        if len(url_style) > 1:
            raise RuleError(f"use exactly one of url, url_env, url_file (got {', '.join(url_style)})",
                            field=url_style[1])
        if url_style and structured:
            raise RuleError(
                f"{url_style[0]} cannot be combined with structured fields ({', '.join(structured)})",
                field=structured[0])
        if not url_style:
            if not structured:
                raise RuleError("no connection given: set one of url, url_env, url_file, "
                                "or host + user + database")
            missing = [k for k in ("host", "user", "database") if not getattr(self, k)]
            if missing:
                raise RuleError(f"structured connection needs {', '.join(missing)}", field=missing[0])
            if self.password is not None and self.password_env is not None:
                raise RuleError("use password or password_env, not both", field="password_env")
        return self

    @property
    def default_port(self) -> int:
        return 5432 if self.type == "postgres" else 3306
