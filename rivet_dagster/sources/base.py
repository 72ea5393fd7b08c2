"""The Source protocol: the one seam every database engine implements.

A source turns a query into a stream of Arrow RecordBatches with a schema known before the
first row (so an empty result still yields a typed, empty file). Implementations keep at
most one batch in memory, run inside a read-only transaction with the session settings the
export asks for (statement timeout, lock timeout, UTC), and restore the session afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from rivet_dagster.config.column_types import ColumnType

if TYPE_CHECKING:  # annotations only: loading Dagster definitions must not import pyarrow
    import pyarrow as pa


@dataclass(frozen=True)
class ReadRequest:
    """Everything a source needs to run one query.

    `sql` uses the driver's `%s` placeholders for `params` (both psycopg and
    mysql-connector accept that style); values are always bound, never pasted.
    """

    sql: str
    params: Sequence[Any] = ()
    batch_size: int = 10_000
    # Bytes per batch when the export sizes batches by memory (no batch_size set); readers
    # that can cut batches by bytes themselves use it instead of a row count.
    batch_bytes: int = 0
    column_overrides: Mapping[str, ColumnType] = field(default_factory=dict)
    statement_timeout_s: int = 0
    lock_timeout_s: int = 0
    # Whether a reader may decode ahead of the export beyond one batch (a bounded window).
    # Not when the export is throttled: its pause between batches is meant for the server too.
    read_ahead: bool = True
    # COPY streams a whole-table read may be split into, over one snapshot (PostgreSQL's
    # native reader; see sources/postgres_parallel.py). 1 = one stream.
    streams: int = 1
    table: str | None = None  # catalog hint (e.g. NUMERIC precision) when the export names a table
    export: str | None = None  # for error messages only


@runtime_checkable
class BatchStream(Protocol):
    """An open query. Iterate for batches; `schema` is valid before the first batch."""

    schema: pa.Schema
    batch_size: int  # rows per fetch; may be changed between batches (memory policies)

    def __iter__(self) -> Iterator[pa.RecordBatch]: ...

    def close(self) -> None: ...


@runtime_checkable
class Source(Protocol):
    """A database engine. Construct with a `SourceConfig`; cheap until `open` is called."""

    engine: str  # "postgres" | "mysql"

    def open(self, request: ReadRequest) -> BatchStream:
        """Connect, start the read-only transaction, run the query; stream from the server."""
        ...

    def scalar(self, sql: str, params: Sequence[Any] = (), export: str | None = None) -> Any:
        """One value from a short query (min/max/count probes), in its own transaction."""
        ...

    def rows(self, sql: str, params: Sequence[Any] = (), export: str | None = None
             ) -> list[tuple[Any, ...]]:
        """A small result (planning queries), in its own read-only transaction, in UTC."""
        ...

    def describe(self, request: ReadRequest) -> pa.Schema:
        """The Arrow schema the query would produce, without reading rows."""
        ...
