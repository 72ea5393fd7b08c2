"""Destinations as Dagster IO managers.

The IO manager owns all destination I/O: the asset asks it for a `Destination` to stream
parts into (staging, rotation, atomic publish, manifest), and downstream assets get a
`pyarrow.dataset.Dataset` over the committed parts from `load_input`. Swapping where exports
land per environment is binding another IO manager under the same key, as Dagster users
expect. One subclass per store: the base knows manifests, the subclass knows the filesystem.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import dagster as dg

from rivet_dagster.config.destination import (
    DestinationConfig, LocalDestinationConfig, StdoutDestinationConfig,
)
from rivet_dagster.dagster.metadata import latest_metadata
from rivet_dagster.destinations import Destination, create_destination
from rivet_dagster.destinations.manifest import SUCCESS, Manifest, success_body
from rivet_dagster.errors import RivetDestinationError

if TYPE_CHECKING:  # pyarrow is imported where files are read or written: every Dagster
    import pyarrow.dataset as ds  # process that loads the definitions (code server, run
    import pyarrow.fs as pafs  # coordinator, sensor ticks) would pay ~0.1 s and ~30 MB for it

MANIFEST_KEY = "rivet/manifest"
INCREMENT_KEY = "rivet/increment"
EPOCH_START_KEY = "rivet/epoch_start"


class RivetIOManagerBase(dg.ConfigurableIOManager):
    """Shared behaviour: hand out destinations, load committed parts as a Dataset."""

    def destination_for(self, config: DestinationConfig, export: str,
                        run_id: str | None = None) -> Destination:
        raise NotImplementedError

    def filesystem(self) -> pafs.FileSystem:
        raise NotImplementedError

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        if obj is not None:
            raise TypeError(
                f"{type(self).__name__}: rivet assets write their files themselves and return a "
                f"MaterializeResult; got a {type(obj).__name__} for {context.asset_key}")

    def load_input(self, context: dg.InputContext) -> ds.Dataset:
        key = context.asset_key
        partition = context.asset_partition_key if context.has_asset_partitions else None
        metadata = latest_metadata(context.instance, key, partition)
        uri = metadata.get(MANIFEST_KEY)
        if uri is None:
            what = f"{key.to_user_string()}" + (f" partition {partition}" if partition else "")
            raise RivetDestinationError(
                f"{what} has no committed materialization with files to load; materialize it first")
        uris = [str(uri)]
        if INCREMENT_KEY in metadata:  # incremental: every increment since the last reset
            export_folder = str(uri).rsplit("/", 2)[0]
            first = int(metadata.get(EPOCH_START_KEY) or 1)
            uris = [f"{export_folder}/increment-{n:06d}/manifest.json"
                    for n in range(first, int(metadata[INCREMENT_KEY]) + 1)]
        return self.load_manifests_dataset(uris)

    def load_manifest_dataset(self, manifest_uri: str) -> ds.Dataset:
        """A Dataset over exactly the parts listed in a committed manifest."""
        return self.load_manifests_dataset([manifest_uri])

    def load_manifests_dataset(self, manifest_uris: list[str]) -> ds.Dataset:
        """A Dataset over the parts of several committed manifests (one format)."""
        fs = self.filesystem()
        paths: list[str] = []
        formats: set[str] = set()
        for manifest_uri in manifest_uris:
            folder = manifest_uri.rsplit("/", 1)[0]
            data = _read(fs, manifest_uri)
            if data is None or _read(fs, f"{folder}/{SUCCESS}") != success_body(data):
                raise RivetDestinationError(
                    f"manifest {manifest_uri} is missing or not vouched for by {SUCCESS}; "
                    "the files at the destination were changed or removed after the export")
            manifest = Manifest.from_bytes(data)
            formats.add(manifest.format)
            paths.extend(f"{folder}/{p.path}" for p in manifest.parts)
        import pyarrow.dataset as ds

        fmt = ds.CsvFileFormat() if formats == {"csv"} else ds.ParquetFileFormat()
        return ds.dataset(paths, format=fmt, filesystem=fs)


class RivetLocalIOManager(RivetIOManagerBase):
    """Local disk. `base_path` overrides every export's `destination.path` when set."""

    base_path: str | None = None

    def destination_for(self, config: DestinationConfig, export: str,
                        run_id: str | None = None) -> Destination:
        if self.base_path:
            config = LocalDestinationConfig(type="local", path=self.base_path)
        elif config.type != "local":
            raise RivetDestinationError(
                f"RivetLocalIOManager cannot write a '{config.type}' destination without base_path",
                export=export, field="destination.type")
        return create_destination(config, export, run_id)

    def filesystem(self) -> pafs.FileSystem:
        import pyarrow.fs as pafs

        return pafs.LocalFileSystem()


class RivetStdoutIOManager(RivetIOManagerBase):
    """Streams rows to the step's stdout (captured in the run's compute logs)."""

    def destination_for(self, config: DestinationConfig, export: str,
                        run_id: str | None = None) -> Destination:
        return create_destination(StdoutDestinationConfig(type="stdout"), export, run_id)

    def load_input(self, context: dg.InputContext) -> ds.Dataset:
        raise RivetDestinationError(
            f"{context.asset_key.to_user_string()} writes to stdout, which keeps no files; "
            "use a local (or object store) destination to read it downstream")


IO_MANAGER_KEYS = {"local": "rivet_local_io_manager", "stdout": "rivet_stdout_io_manager"}


def default_io_managers(kinds: set[str]) -> dict[str, RivetIOManagerBase]:
    managers: dict[str, RivetIOManagerBase] = {}
    if "local" in kinds:
        managers[IO_MANAGER_KEYS["local"]] = RivetLocalIOManager()
    if "stdout" in kinds:
        managers[IO_MANAGER_KEYS["stdout"]] = RivetStdoutIOManager()
    return managers


def _read(fs: pafs.FileSystem, path: str) -> bytes | None:
    try:
        with fs.open_input_stream(path) as f:
            return f.read()
    except (FileNotFoundError, OSError):
        return None


def manifest_json(uri: str, fs: pafs.FileSystem) -> dict[str, Any]:
    data = _read(fs, uri)
    return json.loads(data) if data else {}
