"""Local parts are staged then renamed; manifests are trusted only with a matching _SUCCESS."""

from rivet_dagster.destinations import LocalDestination, Manifest, publish_manifest, read_committed_manifest


def _manifest(parts):
    return Manifest(export="e", slot="snapshot-000001", run_id="r", format="parquet",
                    compression="zstd", row_count=sum(p.rows for p in parts), parts=parts,
                    columns=[{"name": "a", "type": "int64"}], source_engine="postgres",
                    finished_at="2026-01-01T00:00:00Z")


def test_part_is_invisible_until_published(tmp_path):
    dest = LocalDestination(tmp_path)
    handle = dest.open_part("e/snapshot-000001", "part-00000.parquet")
    handle.sink.write(b"hello")
    folder = tmp_path / "e" / "snapshot-000001"
    assert not (folder / "part-00000.parquet").exists()
    info = handle.publish(rows=1)
    assert (folder / "part-00000.parquet").read_bytes() == b"hello"
    assert info.bytes == 5 and info.rows == 1
    assert info.content_hash == "xxh3_128:b5e9c1ad071b3e7fc779cfaa5e523818"
    assert [p.name for p in folder.iterdir()] == ["part-00000.parquet"]


def test_abort_leaves_nothing(tmp_path):
    dest = LocalDestination(tmp_path)
    handle = dest.open_part("e/s", "part-00000.csv")
    handle.sink.write(b"x")
    handle.abort()
    assert list((tmp_path / "e" / "s").iterdir()) == []


def test_manifest_needs_matching_success(tmp_path):
    dest = LocalDestination(tmp_path)
    handle = dest.open_part("e/s", "part-00000.parquet")
    handle.sink.write(b"abc")
    manifest = _manifest([handle.publish(rows=3)])
    uri = publish_manifest(dest, "e/s", manifest)
    assert uri.endswith("e/s/manifest.json")
    assert read_committed_manifest(dest, "e/s") == manifest
    (tmp_path / "e" / "s" / "_SUCCESS").write_text("sha256:0000\n")
    assert read_committed_manifest(dest, "e/s") is None
    (tmp_path / "e" / "s" / "_SUCCESS").unlink()
    assert read_committed_manifest(dest, "e/s") is None


def test_local_parts_go_to_disk_through_their_own_writer_thread_with_o_direct(tmp_path):
    """pyarrow writes to a PartFile whose thread puts the bytes on disk bypassing the page
    cache; the hash covers exactly the published file."""
    import pyarrow as pa
    import xxhash
    import pyarrow.parquet as pq

    from rivet_dagster.destinations.part_file import PartFile

    handle = LocalDestination(tmp_path).open_part("e/s", "part-00000.parquet")
    assert isinstance(handle.sink, PartFile) and handle.sink.direct
    table = pa.table({"a": list(range(100_000)), "b": ["x" * 20] * 100_000})
    with pq.ParquetWriter(handle.sink, table.schema) as writer:
        writer.write_table(table)
    info = handle.publish(rows=table.num_rows)
    data = (tmp_path / "e" / "s" / "part-00000.parquet").read_bytes()
    assert info.bytes == len(data) and info.content_hash == f"xxh3_128:{xxhash.xxh3_128_hexdigest(data)}"
    assert pq.read_table(tmp_path / "e" / "s" / "part-00000.parquet").equals(table)


def test_an_aborted_writer_collected_later_fails_nothing_and_leaves_nothing(tmp_path, monkeypatch):
    import gc
    import sys

    import pyarrow as pa
    import pyarrow.parquet as pq

    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    handle = LocalDestination(tmp_path).open_part("e/s", "part-00000.parquet")
    table = pa.table({"a": [1, 2, 3]})
    writer = pq.ParquetWriter(handle.sink, table.schema)
    writer.write_table(table)
    handle.abort()
    del writer, handle  # the writer writes its footer as it goes
    gc.collect()
    assert unraisable == []
    assert list((tmp_path / "e" / "s").iterdir()) == []


def test_a_part_that_cannot_be_created_is_one_clear_error(tmp_path):
    import pytest

    from rivet_dagster.errors import RivetDestinationError

    (tmp_path / "e" / "s" / ".part-00000.parquet.inprogress").mkdir(parents=True)
    with pytest.raises(RivetDestinationError) as caught:
        LocalDestination(tmp_path).open_part("e/s", "part-00000.parquet")
    message = str(caught.value)
    assert f"local: cannot write under {tmp_path / 'e' / 's'}: " in message
    assert "is a directory" in message.lower() and "Traceback" not in message
    assert caught.value.field == "destination.path"


def test_a_part_changed_behind_the_writer_is_not_published(tmp_path):
    """Bytes another process added to the staging file are caught before the rename: the
    file's size differs from the size written."""
    import pytest

    from rivet_dagster.errors import RivetDestinationError

    handle = LocalDestination(tmp_path).open_part("e/s", "part-00000.parquet")
    handle.sink.write(b"abc")
    with open(tmp_path / "e" / "s" / ".part-00000.parquet.inprogress", "ab") as other:
        other.write(b"intruder")
    # our 3 bytes go down at publish, at offset 0, over the intruder's: 8 bytes either way
    with pytest.raises(RivetDestinationError, match="holds 8 bytes, 3 were written to it"):
        handle.publish(rows=1)
    handle.abort()
    assert list((tmp_path / "e" / "s").iterdir()) == []


def test_parts_carry_an_xxh3_content_hash_and_older_sha256_manifests_still_read(tmp_path):
    """Manifests before XXH3 listed `sha256` per part: a committed one must still be trusted
    and read (a rerun adopts it), its hashes keeping their algorithm's name."""
    import json

    from rivet_dagster.destinations.manifest import success_body

    dest = LocalDestination(tmp_path)
    handle = dest.open_part("e/s", "part-00000.parquet")
    handle.sink.write(b"abc")
    manifest = _manifest([handle.publish(rows=3)])
    publish_manifest(dest, "e/s", manifest)
    written = json.loads((tmp_path / "e" / "s" / "manifest.json").read_text())
    assert written["parts"][0]["content_hash"] == "xxh3_128:06b05ab6733a618578af5f94892f3950"
    assert "sha256" not in written["parts"][0]

    old = dict(written, parts=[{"path": "part-00000.parquet", "rows": 3, "bytes": 3,
                                "sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"}])
    data = json.dumps(old).encode()
    (tmp_path / "e" / "s" / "manifest.json").write_bytes(data)
    (tmp_path / "e" / "s" / "_SUCCESS").write_bytes(success_body(data))
    read = read_committed_manifest(dest, "e/s")
    assert read is not None and read.parts[0].content_hash == (
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    assert read.parts[0].to_json()["content_hash"].startswith("sha256:")
