"""CSV cell text for types without a natural CSV form."""

import datetime as dt
import decimal
import io
import uuid

import pyarrow as pa

from rivet_dagster.formats.csv import CsvFormat, render_for_csv


def test_timestamps_iso_with_offset_only_when_aware():
    aware = pa.array([dt.datetime(1900, 1, 1, tzinfo=dt.timezone.utc), None], pa.timestamp("us", "UTC"))
    naive = pa.array([dt.datetime(9999, 12, 31, 23, 59, 59, 999999)], pa.timestamp("us"))
    assert render_for_csv(aware).to_pylist() == ["1900-01-01T00:00:00.000000+00:00", None]
    assert render_for_csv(naive).to_pylist() == ["9999-12-31T23:59:59.999999"]


def test_bytes_hex_uuid_json_list_decimal():
    u = uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
    assert render_for_csv(pa.array([b"\x00\xff", b"", None])).to_pylist() == ["00ff", "", None]
    uuids = pa.ExtensionArray.from_storage(pa.uuid(), pa.array([u.bytes, None], pa.binary(16)))
    assert render_for_csv(uuids).to_pylist() == [str(u), None]
    js = pa.ExtensionArray.from_storage(pa.json_(pa.string()), pa.array(['{"a": 1}']))
    assert render_for_csv(js).to_pylist() == ['{"a": 1}']
    lists = pa.array([[1, None], [], None], pa.list_(pa.int32()))
    assert render_for_csv(lists).to_pylist() == ["[1, null]", "[]", None]
    decs = pa.array([decimal.Decimal("-0.50"), None], pa.decimal128(10, 2))
    assert render_for_csv(decs).to_pylist() == ["-0.50", None]


def test_null_is_empty_cell_and_empty_string_is_quoted():
    sink = io.BytesIO()
    schema = pa.schema([("a", pa.string()), ("b", pa.int32())])
    writer = CsvFormat().open_writer(sink, schema)
    writer.write_batch(pa.record_batch([pa.array(["", None, 'q"t']), pa.array([1, None, 3])], schema=schema))
    writer.close()
    assert sink.getvalue().decode().splitlines() == ['"a","b"', '"",1', ",", '"q""t",3']
