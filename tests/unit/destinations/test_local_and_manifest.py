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
    assert info.sha256 == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
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
