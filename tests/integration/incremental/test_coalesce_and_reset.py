"""Coalesce cursors, full refresh, and the verification check failing on a mismatch."""

import dagster as dg

from tests.integration.incremental.harness import (
    check_passed, execute, loaded_ids, make_defs, materialize, metadata,
)



def test_coalesce_exports_rows_with_null_primary(engine_url, tmp_path):
    engine, url = engine_url
    execute(engine, url, "CREATE TABLE co (id INT PRIMARY KEY, updated_at INT NULL, created_at INT)",
            "INSERT INTO co VALUES (1, NULL, 10), (2, 20, 5), (3, NULL, 30), (4, NULL, NULL)")
    defs = make_defs(tmp_path, engine=engine, url=url, name="co", cursor="updated_at",
                     query="SELECT id, updated_at, created_at FROM co",
                     extra="incremental_cursor_mode: coalesce\n    cursor_fallback_column: created_at")
    with dg.instance_for_test() as instance:
        first = materialize(defs, instance, "co")
        md = metadata(first, "co")
        # row 4 has neither value: no cursor, so it is not part of any window
        assert md["dagster/row_count"] == 3 and md["rivet/cursor"]["value"] == 30
        assert check_passed(first)
        table = defs.load_asset_value("co", instance=instance).to_table()
        assert "_rivet_coalesced_cursor" not in table.column_names
        assert sorted(table.column("id").to_pylist()) == [1, 2, 3]
        execute(engine, url, "INSERT INTO co VALUES (5, NULL, 31), (6, 25, 99)")
        second = materialize(defs, instance, "co")
        assert metadata(second, "co")["dagster/row_count"] == 1  # only row 5: 31 > 30
        assert loaded_ids(defs, instance, "co") == [1, 2, 3, 5]


def test_full_refresh_starts_a_new_history(pg_url, tmp_path):
    execute("postgres", pg_url, "CREATE TABLE fr (id INT PRIMARY KEY)",
            "INSERT INTO fr SELECT generate_series(1, 20)")
    defs = make_defs(tmp_path, engine="postgres", url=pg_url, name="fr", cursor="id",
                     query="SELECT id FROM fr")
    with dg.instance_for_test() as instance:
        materialize(defs, instance, "fr")
        execute("postgres", pg_url, "INSERT INTO fr SELECT generate_series(21, 25)")
        materialize(defs, instance, "fr")
        execute("postgres", pg_url, "DELETE FROM fr WHERE id <= 10")
        by_tag = materialize(defs, instance, "fr", tags={"rivet/full_refresh": "true"})
        md = metadata(by_tag, "fr")
        assert md["rivet/full_refresh"] is True and md["dagster/row_count"] == 15
        assert md["rivet/epoch_start"] == 3 and md["rivet/increment"] == 3
        assert loaded_ids(defs, instance, "fr") == list(range(11, 26))
        by_config = materialize(defs, instance, "fr", run_config={
            "ops": {"fr": {"config": {"full_refresh": True}}}})
        assert metadata(by_config, "fr")["rivet/epoch_start"] == 4
        assert loaded_ids(defs, instance, "fr") == list(range(11, 26))
        folders = sorted(p.name for p in (tmp_path / "out" / "fr").iterdir())
        assert folders == ["increment-000003", "increment-000004"]


def test_verification_fails_when_the_source_changes_under_the_window(pg_url, tmp_path,
                                                                     monkeypatch):
    """A row deleted between the export and its count makes the check fail; verified stays."""
    execute("postgres", pg_url, "CREATE TABLE vf (id INT PRIMARY KEY)",
            "INSERT INTO vf SELECT generate_series(1, 10)")
    defs = make_defs(tmp_path, engine="postgres", url=pg_url, name="vf", cursor="id",
                     query="SELECT id FROM vf")
    import rivet_dagster.dagster.verification as verification

    real_count = verification.source_count

    def count_after_delete(source, sql, params, export):
        execute("postgres", pg_url, "DELETE FROM vf WHERE id = 5")
        return real_count(source, sql, params, export)

    with dg.instance_for_test() as instance:
        monkeypatch.setattr(verification, "source_count", count_after_delete)
        result = materialize(defs, instance, "vf")
        assert not check_passed(result)
        md = metadata(result, "vf")
        assert md["rivet/cursor"]["value"] == 10 and md["rivet/verified"] is None
