"""Full-mode exports materialized in-process against a real PostgreSQL."""

import json
from pathlib import Path

import dagster as dg
import pyarrow.dataset as ds
import pytest

import rivet_dagster
from rivet_dagster.errors import RivetDestinationError, RivetNotImplementedError
from tests.integration.db_fixtures import pg_execute

CONFIG = """
source: {{type: postgres, url: "{url}", tuning: {{profile: fast, batch_size: 1000}}}}
dagster: {{group: demo, tags: {{team: data}}}}
exports:
  - name: items
    table: items
    format: parquet
    max_file_size: 20KB
    destination: {{type: local, path: "{out}"}}
  - name: items_csv
    query: "SELECT id, label FROM items WHERE id <= 10"
    format: csv
    dagster: {{key_prefix: [raw, pg]}}
    destination: {{type: local, path: "{out}"}}
  - name: empty_skipped
    query: "SELECT id FROM items WHERE id < 0"
    format: parquet
    skip_empty: true
    destination: {{type: local, path: "{out}"}}
"""


@pytest.fixture(scope="module")
def items(pg_url):
    pg_execute(pg_url, "CREATE TABLE items AS SELECT g AS id, md5(g::text) AS label "
                       "FROM generate_series(1, 5000) g")
    return pg_url


def _defs(url: str, tmp_path: Path) -> dg.Definitions:
    path = tmp_path / "rivet.yaml"
    path.write_text(CONFIG.format(url=url, out=tmp_path / "out"))
    return rivet_dagster.build_defs(path)


def _materialize(defs, instance, name, **kwargs):
    key = dg.AssetKey.from_user_string(name)
    assets = [a for a in defs.assets if key in a.keys]
    return dg.materialize(assets, instance=instance, resources=defs.resources, **kwargs)


def test_asset_specs(items, tmp_path):
    defs = _defs(items, tmp_path)
    graph = defs.resolve_asset_graph()
    node = graph.get(dg.AssetKey("items"))
    assert node.group_name == "demo"
    assert set(node.kinds) == {"postgres", "parquet"}
    assert "SELECT * FROM items" in node.description
    assert node.tags.get("team") == "data"
    assert graph.get(dg.AssetKey(["raw", "pg", "items_csv"])).kinds == {"postgres", "csv"}


def test_materialize_twice_then_load(items, tmp_path):
    defs = _defs(items, tmp_path)
    out = tmp_path / "out" / "items"
    with dg.instance_for_test() as instance:
        for run in (1, 2, 3):
            result = _materialize(defs, instance, "items")
            assert result.success
            md = result.asset_materializations_for_node("items")[0].metadata
            assert md["dagster/row_count"].value == 5000
            assert md["rivet/snapshot"].value == run
            files = md["rivet/files"].value
            assert len(files) >= 3 and sum(f["rows"] for f in files) == 5000
            manifest = json.loads(Path(md["rivet/manifest"].value).read_text())
            assert manifest["row_count"] == 5000 and manifest["part_count"] == len(files)
            assert md["rivet/committed"].value["boundary"] == f"snapshot-{run:06d}"
            assert {c.name for c in md["dagster/column_schema"].schema.columns} == {"id", "label"}
        # the committed snapshot and the one before it stay; older ones are removed
        assert sorted(p.name for p in out.iterdir()) == ["snapshot-000002", "snapshot-000003"]
        dataset = defs.load_asset_value("items", instance=instance)
        table = dataset.to_table()
        assert table.num_rows == 5000
        assert len(set(table.column("id").to_pylist())) == 5000
        csv = _materialize(defs, instance, "raw/pg/items_csv")
        assert csv.success
        loaded = defs.load_asset_value(dg.AssetKey(["raw", "pg", "items_csv"]), instance=instance)
        assert loaded.to_table().num_rows == 10


def test_crash_before_manifest_is_invisible_and_overwritten(items, tmp_path, monkeypatch):
    defs = _defs(items, tmp_path)
    out = tmp_path / "out" / "items"
    with dg.instance_for_test() as instance:
        monkeypatch.setenv("RIVET_TEST_FAULT_AT", "after_file_write")
        failed = _materialize(defs, instance, "items", raise_on_error=False)
        assert not failed.success
        slot = out / "snapshot-000001"
        assert any(p.suffix == ".parquet" for p in slot.iterdir())  # parts were written
        assert not (slot / "manifest.json").exists() and not (slot / "_SUCCESS").exists()
        assert instance.get_latest_materialization_event(dg.AssetKey("items")) is None
        with pytest.raises(RivetDestinationError, match="no committed materialization"):
            defs.load_asset_value("items", instance=instance)
        (slot / "part-09999.parquet").write_bytes(b"junk from a crashed attempt")
        monkeypatch.delenv("RIVET_TEST_FAULT_AT")
        ok = _materialize(defs, instance, "items")
        assert ok.success
        md = ok.asset_materializations_for_node("items")[0].metadata
        assert md["rivet/snapshot"].value == 1  # the same slot, overwritten
        assert not (slot / "part-09999.parquet").exists()
        listed = {f["uri"].rsplit("/", 1)[1] for f in md["rivet/files"].value}
        assert {p.name for p in slot.glob("*.parquet")} == listed
        assert defs.load_asset_value("items", instance=instance).count_rows() == 5000


def test_crash_after_a_rotated_part_keeps_previous_snapshot(items, tmp_path, monkeypatch):
    defs = _defs(items, tmp_path)
    with dg.instance_for_test() as instance:
        assert _materialize(defs, instance, "items").success
        monkeypatch.setenv("RIVET_TEST_FAULT_AT", "after_part_written")
        assert not _materialize(defs, instance, "items", raise_on_error=False).success
        latest = instance.get_latest_materialization_event(dg.AssetKey("items"))
        assert latest.asset_materialization.metadata["rivet/snapshot"].value == 1
        assert defs.load_asset_value("items", instance=instance).count_rows() == 5000


def test_skip_empty_keeps_no_files(items, tmp_path):
    defs = _defs(items, tmp_path)
    with dg.instance_for_test() as instance:
        result = _materialize(defs, instance, "empty_skipped")
        assert result.success
        md = result.asset_materializations_for_node("empty_skipped")[0].metadata
        assert md["rivet/skipped"].value is True and md["dagster/row_count"].value == 0
        assert not (tmp_path / "out" / "empty_skipped").exists()


def test_bad_credentials_fail_with_one_clear_message(tmp_path):
    path = tmp_path / "rivet.yaml"
    path.write_text(CONFIG.format(url="postgresql://nobody:s3cret@127.0.0.1:5432/nodb",
                                  out=tmp_path / "out"))
    defs = rivet_dagster.build_defs(path)
    with dg.instance_for_test() as instance:
        result = _materialize(defs, instance, "items", raise_on_error=False)
        assert not result.success
        failure = result.get_step_failure_events()[0].step_failure_data.error
        assert "export 'items'" in failure.message and "cannot connect" in failure.message
        assert "s3cret" not in failure.message
        assert not (tmp_path / "out").exists()


def test_unbuilt_features_are_named(tmp_path):
    path = tmp_path / "rivet.yaml"
    path.write_text("""
source: {type: postgres, url: "postgresql://postgres@127.0.0.1/postgres"}
exports:
  - name: inc
    table: t
    format: parquet
    quality: {row_count_min: 1}
    destination: {type: s3, bucket: b, region: us-east-1}
""")
    with pytest.raises(RivetNotImplementedError) as err:
        rivet_dagster.build_defs(path)
    text = str(err.value)
    assert "export 'inc', field 'quality'" in text and "field 'destination.type'" in text
    assert isinstance(err.value, NotImplementedError)


def test_downstream_asset_receives_a_dataset(items, tmp_path):
    defs = _defs(items, tmp_path)

    @dg.asset(ins={"items": dg.AssetIn(key="items")})
    def item_count(items: ds.Dataset) -> int:
        assert isinstance(items, ds.Dataset)
        return items.count_rows()

    upstream = [a for a in defs.assets if dg.AssetKey("items") in a.keys]
    with dg.instance_for_test() as instance:
        result = dg.materialize([*upstream, item_count], instance=instance,
                                resources=defs.resources)
        assert result.success
        assert result.output_for_node("item_count") == 5000
