"""`manifest.json` and `_SUCCESS`: the record of what one materialization published.

Order (Rivet M1/M2/M7): every part is durable first; then the manifest is written
atomically; then `_SUCCESS`, whose body is the manifest's hash. A manifest without a
matching `_SUCCESS` is not trusted by readers.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rivet_dagster.destinations.base import Destination, PartInfo

if TYPE_CHECKING:  # annotations only: loading Dagster definitions must not import pyarrow
    import pyarrow as pa

MANIFEST = "manifest.json"
SUCCESS = "_SUCCESS"
MANIFEST_VERSION = 1


@dataclass(frozen=True)
class Manifest:
    export: str
    slot: str
    run_id: str
    format: str
    compression: str
    row_count: int
    parts: list[PartInfo]
    columns: list[dict[str, str]]
    source_engine: str
    finished_at: str
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "manifest_version": MANIFEST_VERSION, "export": self.export, "slot": self.slot,
            "run_id": self.run_id, "format": self.format, "compression": self.compression,
            "row_count": self.row_count, "part_count": len(self.parts),
            "parts": [p.to_json() for p in self.parts], "columns": self.columns,
            "source_engine": self.source_engine, "finished_at": self.finished_at,
            "extra": self.extra,
        }

    def to_bytes(self) -> bytes:
        return (json.dumps(self.to_json(), indent=2, sort_keys=True, default=str) + "\n").encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> "Manifest":
        raw = json.loads(data)
        return cls(export=raw["export"], slot=raw["slot"], run_id=raw["run_id"],
                   format=raw["format"], compression=raw["compression"],
                   row_count=raw["row_count"],
                   parts=[PartInfo(p["path"], p["rows"], p["bytes"], _part_hash(p))
                          for p in raw["parts"]],
                   columns=raw["columns"], source_engine=raw["source_engine"],
                   finished_at=raw["finished_at"], extra=raw.get("extra", {}))


def _part_hash(part: dict[str, Any]) -> str:
    """Manifests written before parts were hashed with XXH3 carry `sha256` instead."""
    if "content_hash" in part:
        return str(part["content_hash"])
    return f"sha256:{part['sha256']}"


def schema_columns(schema: pa.Schema) -> list[dict[str, str]]:
    return [{"name": f.name, "type": str(f.type)} for f in schema]


def success_body(manifest_bytes: bytes) -> bytes:
    return f"sha256:{hashlib.sha256(manifest_bytes).hexdigest()}\n".encode()


def publish_manifest(destination: Destination, rel_dir: str, manifest: Manifest) -> str:
    """Write manifest.json then _SUCCESS; return the manifest's URI."""
    data = manifest.to_bytes()
    destination.write_bytes_atomic(f"{rel_dir}/{MANIFEST}", data)
    destination.write_bytes_atomic(f"{rel_dir}/{SUCCESS}", success_body(data))
    return destination.uri(f"{rel_dir}/{MANIFEST}")


def read_committed_manifest(destination: Destination, rel_dir: str) -> Manifest | None:
    """The slot's manifest, only if `_SUCCESS` vouches for exactly these bytes."""
    data = destination.read_bytes(f"{rel_dir}/{MANIFEST}")
    if data is None:
        return None
    if destination.read_bytes(f"{rel_dir}/{SUCCESS}") != success_body(data):
        return None
    return Manifest.from_bytes(data)
