"""The refresh sensor requests a run only when the source moved past the committed cursor."""

import dagster as dg

from rivet_dagster.dagster.sensors import sensor_name
from tests.integration.incremental.harness import execute, make_defs, materialize


def test_sensor_requests_only_new_rows(pg_url, tmp_path):
    execute("postgres", pg_url, "CREATE TABLE sn (id INT PRIMARY KEY)",
            "INSERT INTO sn SELECT generate_series(1, 5)")
    defs = make_defs(tmp_path, engine="postgres", url=pg_url, name="sn", cursor="id",
                     query="SELECT id FROM sn")
    sensor = defs.get_sensor_def(sensor_name(dg.AssetKey("sn")))
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
    with dg.instance_for_test() as instance:
        def tick(cursor=None):
            return sensor(dg.build_sensor_context(instance=instance, cursor=cursor))

        first = tick()  # nothing committed yet: rows exist, so a run is requested
        assert isinstance(first, dg.SensorResult) and first.run_requests[0].run_key == "sn:5"
        materialize(defs, instance, "sn")
        unchanged = tick(cursor="5")
        assert isinstance(unchanged, dg.SkipReason) and "committed cursor 5" in unchanged.skip_message
        # the sensor's own cursor is never taken as the committed one
        assert isinstance(tick(cursor="999"), dg.SkipReason)
        execute("postgres", pg_url, "INSERT INTO sn VALUES (6), (7)")
        moved = tick(cursor="5")
        assert [r.run_key for r in moved.run_requests] == ["sn:7"]
        assert moved.run_requests[0].asset_selection == [dg.AssetKey("sn")]
        again = tick(cursor=moved.cursor)
        assert [r.run_key for r in again.run_requests] == ["sn:7"]  # same run_key: deduped
        materialize(defs, instance, "sn")
        assert isinstance(tick(cursor="7"), dg.SkipReason)
