"""One export run, Dagster-free: stream batches from a source into parts at a destination.

Ordering (the guarantee everything else stands on): every part is durable under its final
name before the manifest is written, and the manifest (with `_SUCCESS`) is written before
`run_export` returns. The caller (the Dagster asset) records cursors and boundaries only
after that. Part names depend only on the slot (never on wall-clock time or run id), and
the slot's folder is cleared first, so a retry of the same slot overwrites a crashed
attempt instead of adding to it.
"""

from __future__ import annotations

import datetime as dt
import os
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from rivet_dagster.config.export import ExportConfig
from rivet_dagster.config.tuning_profiles import ResolvedTuning
from rivet_dagster.destinations import Destination, Manifest, PartHandle, PartInfo, publish_manifest
from rivet_dagster.destinations.manifest import schema_columns
from rivet_dagster.engine.adaptive import AdaptiveBatchSize
from rivet_dagster.engine.fault_injection import fault_point
from rivet_dagster.engine.memory_policy import MB, MemoryPolicy
from rivet_dagster.engine.prefetch import Prefetcher
from rivet_dagster.engine.meta_columns import enrich_batch, enrich_schema
from rivet_dagster.engine.process_memory import frozen_gc, peak_rss_mb, prefer_returning_pool
from rivet_dagster.errors import RivetError, RivetDestinationError
from rivet_dagster.formats import Format, FormatWriter, create_format
from rivet_dagster.sources.base import ReadRequest, Source

logger = logging.getLogger(__name__)
PROGRESS_EVERY_S = 5.0

BatchObserver = Callable[[pa.RecordBatch], None]


@dataclass
class ExportResult:
    """What one run wrote; the Dagster face turns it into materialization metadata."""

    export: str
    slot: str
    rows: int
    parts: list[PartInfo]
    schema: pa.Schema
    manifest_uri: str | None
    destination_uri: str
    duration_s: float
    peak_rss_mb: float
    batches: int
    skipped: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def bytes(self) -> int:
        return sum(p.bytes for p in self.parts)

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.duration_s if self.duration_s > 0 else 0.0


def build_request(export: ExportConfig, tuning: ResolvedTuning, sql: str | None = None,
                  params: Sequence[Any] = ()) -> ReadRequest:
    return ReadRequest(
        sql=sql or export.base_query(), params=tuple(params), batch_size=tuning.batch_size,
        batch_bytes=(tuning.auto_batch_mb or 0) * MB,
        column_overrides=export.column_overrides(),
        statement_timeout_s=tuning.statement_timeout_s, lock_timeout_s=tuning.lock_timeout_s,
        read_ahead=not tuning.throttle_ms, table=export.table, export=export.name,
        streams=copy_streams(export, tuning) if sql is None else 1)


def _reader_name(stream: Any) -> str:
    """The stream's class, and which decoder reads when a stream has several."""
    reader = getattr(stream, "reader", None)
    return type(stream).__name__ + (f", {reader}" if isinstance(reader, str) else "")


def copy_streams(export: ExportConfig, tuning: ResolvedTuning) -> int:
    """Source connections a whole-table full export may read with (PostgreSQL splits the
    table into COPY streams over one snapshot): `parallel` when set, else 2 on the fast
    profile and 1 otherwise (the throttled profiles stay gentle on the source)."""
    if export.mode != "full" or export.table is None:
        return 1
    if "parallel" in export.model_fields_set:
        return export.parallel
    return 2 if tuning.profile == "fast" else 1


def encode_threads(export: ExportConfig, tuning: ResolvedTuning, cores: int | None = None) -> int:
    """Parquet row groups encoded at once: `parquet.encode_threads` when set; else, on the fast
    profile, 2 where at least 3 cores are usable and 1 otherwise; 1 on the other profiles.

    Why not on two cores: the reader, its driver and usually the database share them, and
    the export is then CPU-bound already: a second encoder measured no faster (MariaDB wide
    rows -2 %, PostgreSQL wide rows +4 %) for +50-100 MB. With a core to spare, encoding (zstd
    above all) is what an export of wide rows waits for: 300k rows of ~3.6 KB encode in 1.9 s
    on one thread and 1.05 s on two. The throttled profiles keep their tighter memory."""
    if export.parquet is not None and export.parquet.encode_threads:
        return export.parquet.encode_threads
    if tuning.profile != "fast":
        return 1
    return 2 if (cores if cores is not None else usable_cores()) >= 3 else 1


def usable_cores() -> int:
    """The cores this process may run on (its affinity mask: a cpuset or taskset limits it)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def run_export(
    export: ExportConfig,
    source: Source,
    destination: Destination,
    *,
    tuning: ResolvedTuning,
    slot: str,
    run_id: str = "",
    sql: str | None = None,
    params: Sequence[Any] = (),
    observe: BatchObserver | None = None,
    drop_columns: Sequence[str] = (),
    manifest_extra: dict[str, Any] | None = None,
    log: logging.Logger | Any = logger,
) -> ExportResult:
    """Export `export` into `<destination>/<export>/<slot>/` and publish its manifest.

    `observe` sees every source batch (before meta columns), e.g. to track a cursor maximum.
    `drop_columns` are query columns that never reach the output (e.g. a synthetic cursor).
    """
    with frozen_gc():
        return _run_export(export, source, destination, tuning, slot, run_id, sql, params,
                           observe, drop_columns, manifest_extra, log)


def _run_export(export: ExportConfig, source: Source, destination: Destination,
                tuning: ResolvedTuning, slot: str, run_id: str, sql: str | None,
                params: Sequence[Any], observe: BatchObserver | None,
                drop_columns: Sequence[str], manifest_extra: dict[str, Any] | None,
                log: logging.Logger | Any) -> ExportResult:
    started = time.monotonic()
    prefer_returning_pool()
    fmt = create_format(export, encode_threads(export, tuning))
    rel_dir = f"{export.name}/{slot}"
    if destination.keeps_files:
        destination.remove_dir(rel_dir)  # leftovers of a crashed attempt of this same slot
    request = build_request(export, tuning, sql, params)
    stream = source.open(request)
    policy = MemoryPolicy(tuning, export.name, log)
    try:
        policy.size_first_fetch(stream, request.batch_size)
        keep = [i for i, f in enumerate(stream.schema) if f.name not in set(drop_columns)]
        data_schema = pa.schema([stream.schema.field(i) for i in keep])
        schema = enrich_schema(data_schema, export.meta_columns)
        fmt.check_schema(schema)
    except BaseException:
        stream.close()  # e.g. a type the format cannot hold: end the transaction now
        raise
    log.info(f"rivet: export '{export.name}' started: {source.engine} -> "
             f"{destination.uri(rel_dir)} ({fmt.name}, " + (
                 f"batches of ~{tuning.auto_batch_mb} MB" if tuning.auto_batch_mb
                 else f"batch_size {stream.batch_size}") + f", {_reader_name(stream)}"
             + (f", {fmt.encode_threads} encoding threads"
                if getattr(fmt, "encode_threads", 1) > 1 else "") + ")")
    writer = _PartWriter(export, fmt, destination, rel_dir, schema)
    rows = batches = 0
    last_log = time.monotonic()
    reader = Prefetcher(stream, throttle_ms=tuning.throttle_ms)
    adaptive = AdaptiveBatchSize(source, export.name, log) if tuning.adaptive else None
    try:
        for batch in reader:
            if observe is not None:
                observe(batch)
            if len(keep) != batch.num_columns:
                batch = pa.RecordBatch.from_arrays([batch.column(i) for i in keep],
                                                   schema=data_schema)
            policy.check_values(batch)
            policy.after_batch(batch, stream)
            if adaptive is not None:
                adaptive.after_batch(batch, stream)
            for piece in policy.fit(batch, stream):
                writer.write(enrich_batch(piece, export.meta_columns, schema))
            n = batch.num_rows
            del batch, piece  # let the reader thread's next batch replace it, not join it
            rows += n
            batches += 1
            now = time.monotonic()
            if now - last_log >= PROGRESS_EVERY_S:
                last_log = now
                log.info(f"rivet: export '{export.name}': {rows:,} rows, {batches} batches, "
                         f"{len(writer.parts) + 1} part(s), {rows / (now - started):,.0f} rows/s")
            policy.before_fetch()
        fault_point("after_source_read")
        skipped = rows == 0 and export.skip_empty
        writer.finish(write_empty=not skipped)
    except BaseException:
        writer.abort()
        reader.close()
        raise
    fault_point("after_file_write")
    manifest_uri = None
    if destination.keeps_files and not skipped:
        manifest = Manifest(
            export=export.name, slot=slot, run_id=run_id, format=fmt.name,
            compression=export.effective_compression()[0] if fmt.name == "parquet" else "none",
            row_count=rows, parts=writer.parts, columns=schema_columns(schema),
            source_engine=source.engine,
            finished_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds"),
            extra=manifest_extra or {})
        try:
            manifest_uri = publish_manifest(destination, rel_dir, manifest)
        except OSError as exc:
            raise RivetDestinationError(f"cannot write the manifest: {exc}",
                                        export=export.name, field="destination") from None
    fault_point("after_manifest")
    duration = time.monotonic() - started
    result = ExportResult(
        export=export.name, slot=slot, rows=rows, parts=writer.parts, schema=schema,
        manifest_uri=manifest_uri, destination_uri=destination.uri(rel_dir),
        duration_s=duration, peak_rss_mb=peak_rss_mb(), batches=batches, skipped=skipped)
    log.info(f"rivet: export '{export.name}' finished: {rows:,} rows in {len(result.parts)} "
             f"part(s), {result.bytes:,} bytes, {duration:.1f} s, {result.rows_per_s:,.0f} rows/s, "
             f"peak RSS {result.peak_rss_mb:.0f} MiB")
    return result


class _PartWriter:
    """Opens parts lazily, rotates at max_file_size, publishes each closed part."""

    def __init__(self, export: ExportConfig, fmt: Format, destination: Destination,
                 rel_dir: str, schema: pa.Schema):
        self._export = export
        self._fmt = fmt
        self._destination = destination
        self._rel_dir = rel_dir
        self._schema = schema
        self._handle: PartHandle | None = None
        self._writer: FormatWriter | None = None
        self._rows = 0
        self.parts: list[PartInfo] = []

    def write(self, batch: pa.RecordBatch) -> None:
        if self._writer is None:
            self._open()
        assert self._writer is not None
        try:
            self._writer.write_batch(batch)
        except OSError as exc:  # the disk is full, the file too large for its filesystem...
            raise self._unwritable(exc) from None
        self._rows += batch.num_rows
        limit = self._export.max_file_size
        if limit and self._writer.bytes_written >= limit:
            self._close_part()

    def _open(self) -> None:
        name = f"part-{len(self.parts):05d}.{self._fmt.extension}"
        try:
            self._handle = self._destination.open_part(self._rel_dir, name)
        except RivetDestinationError as exc:
            raise self._named(exc) from None
        self._writer = self._fmt.open_writer(self._handle.sink, self._schema)  # type: ignore[arg-type]
        self._rows = 0

    def _close_part(self) -> None:
        assert self._writer is not None and self._handle is not None
        try:
            self._writer.close()
        except OSError as exc:
            raise self._unwritable(exc) from None
        try:
            self.parts.append(self._handle.publish(self._rows))
        except OSError as exc:  # the last bytes, the fsync or the rename
            raise self._unwritable(exc) from None
        except RivetDestinationError as exc:
            raise self._named(exc) from None
        self._handle = self._writer = None
        fault_point("after_part_written")

    def _unwritable(self, exc: OSError) -> RivetDestinationError:
        name = f"part-{len(self.parts):05d}.{self._fmt.extension}"
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        return RivetDestinationError(
            f"cannot write {name} under {self._destination.uri(self._rel_dir)}: {reason}",
            export=self._export.name, field="destination")

    def _named(self, exc: RivetDestinationError) -> RivetDestinationError:
        """Destinations do not know export names: add this export's to their errors."""
        if exc.export is not None:
            return exc
        return RivetDestinationError(exc.detail, export=self._export.name, field=exc.field)

    def finish(self, write_empty: bool) -> None:
        """Close the open part; with no rows at all, write one typed empty part if asked."""
        if self._writer is None and not self.parts and write_empty:
            self._open()
        if self._writer is not None:
            self._close_part()

    def abort(self) -> None:
        if self._handle is not None:
            try:
                self._handle.abort()
            except (OSError, RivetError):
                pass
            self._handle = self._writer = None
