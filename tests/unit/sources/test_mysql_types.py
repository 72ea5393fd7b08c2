"""Pure MySQL type mapping: field metadata -> Arrow type, and raw wire text -> Arrow arrays."""

from __future__ import annotations

import datetime as dt
import struct
import uuid
from decimal import Decimal

import rivet_dagster._native_preload  # noqa: F401,I001
import pyarrow as pa
import pytest

from rivet_dagster.config.column_types import parse_column_type
from rivet_dagster.errors import RivetSourceError
from rivet_dagster.sources import arrow_types as at
from rivet_dagster.sources import mysql_types as mt

U, BIN, ENUMF, SETF = mt.UNSIGNED_FLAG, mt.BINARY_CHARSET, mt.ENUM_FLAG, mt.SET_FLAG
UTF8 = 45

# (type code, flags, wire length, decimals, charset) -> expected Arrow type
MAPPING = [
    (mt.TINY, 0, 1, 0, BIN, pa.bool_()),            # tinyint(1) / bool
    (mt.TINY, U, 1, 0, BIN, pa.bool_()),            # tinyint(1) unsigned
    (mt.TINY, 0, 4, 0, BIN, pa.int16()),
    (mt.TINY, U, 3, 0, BIN, pa.int16()),            # 255 fits int16
    (mt.TINY, 0, None, 0, BIN, pa.int16()),         # width unknown: never guess bool
    (mt.SHORT, 0, 6, 0, BIN, pa.int16()),
    (mt.SHORT, U, 5, 0, BIN, pa.int32()),
    (mt.INT24, 0, 9, 0, BIN, pa.int32()),
    (mt.INT24, U, 8, 0, BIN, pa.int64()),
    (mt.LONG, 0, 11, 0, BIN, pa.int32()),
    (mt.LONG, U, 10, 0, BIN, pa.int64()),
    (mt.LONGLONG, 0, 20, 0, BIN, pa.int64()),
    (mt.LONGLONG, U, 20, 0, BIN, pa.uint64()),
    (mt.NEWDECIMAL, 0, 40, 10, BIN, pa.decimal128(38, 10)),   # sign + point counted
    (mt.NEWDECIMAL, 0, 67, 30, BIN, pa.decimal256(65, 30)),
    (mt.NEWDECIMAL, U, 10, 0, BIN, pa.decimal128(10, 0)),      # no sign, no point
    (mt.NEWDECIMAL, U, 6, 2, BIN, pa.decimal128(5, 2)),
    (mt.NEWDECIMAL, 0, 7, 2, BIN, pa.decimal128(5, 2)),
    (mt.NEWDECIMAL, 0, 11, 0, BIN, pa.decimal128(10, 0)),
    (mt.DECIMAL, 0, 41, 0, BIN, pa.decimal256(40, 0)),
    (mt.NEWDECIMAL, 0, None, 2, BIN, pa.decimal128(38, 2)),    # underivable: default precision
    (mt.NEWDECIMAL, 0, None, 30, BIN, pa.decimal256(65, 30)),
    (mt.FLOAT, 0, 12, 31, BIN, pa.float32()),
    (mt.DOUBLE, 0, 22, 31, BIN, pa.float64()),
    (mt.DATE, 0, 10, 0, BIN, pa.date32()),
    (mt.NEWDATE, 0, 10, 0, BIN, pa.date32()),
    (mt.DATETIME, 0, 26, 6, BIN, pa.timestamp("us")),
    (mt.DATETIME2, 0, 19, 0, BIN, pa.timestamp("us")),
    (mt.TIMESTAMP, 0, 26, 6, BIN, pa.timestamp("us", "UTC")),
    (mt.TIMESTAMP2, 0, 19, 0, BIN, pa.timestamp("us", "UTC")),
    (mt.TIME, 0, 17, 6, BIN, pa.time64("us")),
    (mt.TIME2, 0, 10, 0, BIN, pa.time64("us")),
    (mt.YEAR, U, 4, 0, BIN, pa.int16()),
    (mt.STRING, 0, 144, 0, UTF8, pa.string()),      # char(36)
    (mt.VAR_STRING, 0, 40, 0, UTF8, pa.string()),
    (mt.BLOB, 16, 65535, 0, UTF8, pa.string()),     # text
    (mt.STRING, 128, 4, 0, BIN, pa.binary()),       # binary(4)
    (mt.VAR_STRING, 128, 10, 0, BIN, pa.binary()),  # varbinary
    (mt.BLOB, 144, 65535, 0, BIN, pa.binary()),     # blob
    (mt.LONG_BLOB, 144, 2**32 - 1, 0, BIN, pa.binary()),
    (mt.JSON, 144, 2**32 - 1, 0, BIN, at.JSON),      # MySQL sends JSON with charset 63
    (mt.STRING, ENUMF, 4, 0, UTF8, pa.string()),
    (mt.STRING, SETF, 12, 0, UTF8, pa.string()),
    (mt.ENUM, 0, 4, 0, UTF8, pa.string()),
    (mt.SET, 0, 12, 0, UTF8, pa.string()),
    (mt.BIT, U, 1, 0, BIN, pa.bool_()),
    (mt.BIT, U, 10, 0, BIN, pa.int64()),
    (mt.BIT, U, 64, 0, BIN, pa.int64()),
    (mt.NULL, 0, 0, 0, BIN, pa.null()),
    (mt.GEOMETRY, 144, 2**32 - 1, 0, BIN, None),
    (mt.VECTOR, 0, 4096, 0, BIN, None),
]


@pytest.mark.parametrize("code,flags,length,decimals,charset,expected", MAPPING)
def test_arrow_type_table(code, flags, length, decimals, charset, expected):
    field = mt.FieldMeta("c", code, flags=flags, charset=charset, decimals=decimals, length=length)
    assert mt.arrow_type(field) == expected


def test_mariadb_json_flag_and_overrides():
    text = mt.FieldMeta("j", mt.LONG_BLOB, flags=16, charset=UTF8, is_json=True)
    assert mt.arrow_type(text) == at.JSON
    char36 = mt.FieldMeta("id", mt.STRING, charset=UTF8, length=144)
    assert mt.arrow_type(char36, parse_column_type("uuid")) == at.UUID
    geometry = mt.FieldMeta("g", mt.GEOMETRY, charset=BIN)
    assert mt.arrow_type(geometry, parse_column_type("binary")) == pa.binary()
    bigu = mt.FieldMeta("n", mt.LONGLONG, flags=U)
    assert mt.arrow_type(bigu, parse_column_type("decimal(20,0)")) == pa.decimal128(20, 0)


@pytest.mark.parametrize("column_type,length", [
    ("tinyint(1)", 1), ("tinyint(1) unsigned", 1), ("tinyint(4)", 4), ("tinyint", 4),
    ("decimal(38,10)", 40), ("decimal(65,30)", 67), ("decimal(10,0) unsigned", 10),
    ("decimal(5,2) unsigned", 6), ("DECIMAL(5,2)", 7), ("bit(1)", 1), ("bit(10)", 10),
    ("int(11)", None), ("varchar(10)", None), ("", None),
])
def test_length_from_column_type(column_type, length):
    assert mt.length_from_column_type(column_type) == length


def test_catalog_length_round_trips_through_precision():
    for column_type, expected in [("decimal(38,10)", (38, 10)), ("decimal(5,2) unsigned", (5, 2)),
                                  ("decimal(65,30)", (65, 30)), ("decimal(1,0)", (1, 0))]:
        precision, scale = expected
        flags = U if "unsigned" in column_type else 0
        field = mt.FieldMeta("d", mt.NEWDECIMAL, flags=flags, decimals=scale,
                             length=mt.length_from_column_type(column_type))
        assert mt.decimal_precision(field) == precision


def test_json_columns_from_checks():
    clauses = ["json_valid(`doc`)", "`a` > 0", "json_valid(`we``ird`) and json_valid(`Other`)", None]
    assert mt.json_columns_from_checks(clauses) == {"doc", "we`ird", "other"}


def _lenenc_str(text: str) -> bytes:
    raw = text.encode()
    return bytes([len(raw)]) + raw


def test_parse_column_definition_reads_the_wire_length():
    body = b"".join(_lenenc_str(s) for s in ("def", "shop", "o", "orders", "amount", "amount"))
    body += b"\x0c" + struct.pack("<HIBHB", 63, 12, mt.NEWDECIMAL, 32 | 4096, 2) + b"\x00\x00"
    packet = len(body).to_bytes(3, "little") + b"\x01" + body
    field = mt.parse_column_definition(packet)
    assert (field.name, field.type_code, field.length, field.decimals) == ("amount", 246, 12, 2)
    assert field.origin == ("shop", "orders", "amount") and field.unsigned
    assert mt.arrow_type(field) == pa.decimal128(11, 2)


def test_field_from_cext_tuple():
    info = ("def", "db", "alias", "orders", "total", "total", 63, 0, 246, 32768, 2)
    field = mt.field_from_cext(info)
    assert field.origin == ("db", "orders", "total") and field.length is None and field.needs_length
    expr = mt.field_from_cext(("def", "", "", "", "x", "", 63, 0, 8, 32897, 0))
    assert expr.origin is None and not expr.needs_length


def test_native_type_names():
    assert mt.FieldMeta("a", mt.LONGLONG, flags=U).native_type() == "bigint unsigned"
    assert mt.FieldMeta("a", mt.NEWDECIMAL, decimals=2, length=7).native_type() == "decimal(5,2)"
    assert mt.FieldMeta("a", mt.TIMESTAMP, flags=U).native_type() == "timestamp"
    assert mt.FieldMeta("a", mt.BLOB, charset=UTF8).native_type() == "text"
    assert mt.FieldMeta("a", mt.VAR_STRING, charset=BIN).native_type() == "varbinary"


def _convert(code, values, flags=0, length=None, decimals=0, charset=BIN, override=None):
    field = mt.FieldMeta("col", code, flags=flags, charset=charset, decimals=decimals, length=length)
    target = mt.arrow_type(field, parse_column_type(override) if override else None)
    raw = pa.array(values, mt.storage_type(field))
    out = mt.to_arrow(raw, field, target, overridden=override is not None)
    assert out.type == target
    return out.to_pylist()


def test_integers_and_unsigned_extremes():
    assert _convert(mt.LONGLONG, [b"18446744073709551615", b"0", None], flags=U) == [
        2**64 - 1, 0, None]
    assert _convert(mt.TINY, [b"255", b"0"], flags=U, length=3) == [255, 0]
    assert _convert(mt.TINY, [b"1", b"0", b"2", None], length=1) == [True, False, True, None]
    assert _convert(mt.YEAR, [b"2024", b"0000"], flags=U) == [2024, 0]


def test_decimals_exact():
    assert _convert(mt.NEWDECIMAL, [b"-12.50", b"0.00", None], length=7, decimals=2) == [
        Decimal("-12.50"), Decimal("0.00"), None]
    big = "9" * 35 + "." + "9" * 30
    assert _convert(mt.NEWDECIMAL, [big.encode()], length=67, decimals=30) == [Decimal(big)]


def test_decimal_overflow_names_the_column():
    with pytest.raises(RivetSourceError, match="column 'col'.*override"):
        _convert(mt.NEWDECIMAL, [b"1" * 40 + b".5"], length=None, decimals=1)


def test_floats():
    assert _convert(mt.FLOAT, [b"1.5", b"-3.25"]) == [1.5, -3.25]
    assert _convert(mt.DOUBLE, [b"1.7976931348623157e308"]) == [1.7976931348623157e308]


def test_zero_and_invalid_dates_become_null():
    values = [b"2020-01-31", b"0000-00-00", b"2020-00-00", b"2020-02-30", b"2019-02-29", None,
              b"1000-01-01", b"9999-12-31"]
    assert _convert(mt.DATE, values) == [dt.date(2020, 1, 31), None, None, None, None, None,
                                          dt.date(1000, 1, 1), dt.date(9999, 12, 31)]


def test_datetimes_and_timestamps():
    values = [b"1000-01-01 00:00:00", b"9999-12-31 23:59:59.999999", b"0000-00-00 00:00:00", None]
    assert _convert(mt.DATETIME, values, decimals=6) == [
        dt.datetime(1000, 1, 1), dt.datetime(9999, 12, 31, 23, 59, 59, 999999), None, None]
    utc = dt.timezone.utc
    out = _convert(mt.TIMESTAMP, [b"1970-01-01 00:00:01", b"2038-01-19 03:14:07.500000"])
    assert [v.astimezone(utc) for v in out] == [
        dt.datetime(1970, 1, 1, 0, 0, 1, tzinfo=utc),
        dt.datetime(2038, 1, 19, 3, 14, 7, 500000, tzinfo=utc)]


def test_time_of_day_and_out_of_range():
    assert _convert(mt.TIME, [b"00:00:00", b"23:59:59.999999", b"12:30:00.5", None]) == [
        dt.time(0), dt.time(23, 59, 59, 999999), dt.time(12, 30, 0, 500000), None]
    for bad in (b"-01:00:00", b"24:00:00", b"838:59:59"):
        with pytest.raises(RivetSourceError, match=r"column 'col'.*CAST\(col AS CHAR\)"):
            _convert(mt.TIME, [b"01:00:00", bad])
    assert _convert(mt.TIME, [b"-838:59:59.000000"], override="string") == ["-838:59:59.000000"]


def test_bits():
    assert _convert(mt.BIT, [b"\x01", b"\x00", None], flags=U, length=1) == [True, False, None]
    assert _convert(mt.BIT, [b"\x03\xff", b"\x00\x00"], flags=U, length=10) == [1023, 0]
    assert _convert(mt.BIT, [b"\xff" * 8], flags=U, length=64) == [-1]  # documented wrap


def test_strings_binary_json_enum_set():
    assert _convert(mt.VAR_STRING, ["", "é😀中", None], charset=UTF8) == ["", "é😀中", None]
    assert _convert(mt.BLOB, [b"\x00\x01\x00", b""], flags=144) == [b"\x00\x01\x00", b""]
    out = _convert(mt.JSON, [b'{"a": [1, "x"]}', None], flags=144)
    assert out == ['{"a": [1, "x"]}', None]
    assert _convert(mt.STRING, [b"a,c", b""], flags=SETF, charset=UTF8) == ["a,c", ""]
    assert _convert(mt.NULL, [None, None]) == [None, None]


def test_uuid_override_from_text_and_binary():
    u = uuid.UUID("0f8fad5b-d9cb-469f-a165-70867728950e")
    text = [str(u).encode(), str(u).upper().encode(), b"not-a-uuid", b"", None]
    assert _convert(mt.STRING, text, charset=UTF8, override="uuid") == [u, u, None, None, None]
    assert _convert(mt.STRING, [u.bytes, b"\x01\x02"], flags=128, charset=BIN,
                    override="uuid") == [u, None]


def test_other_overrides():
    assert _convert(mt.LONGLONG, [b"18446744073709551615"], flags=U,
                    override="decimal(20,0)") == [Decimal("18446744073709551615")]
    assert _convert(mt.BLOB, [b'{"k": 1}'], flags=16, charset=UTF8, override="json") == ['{"k": 1}']
    assert _convert(mt.LONG, [b"7", None], override="string") == ["7", None]
    assert _convert(mt.GEOMETRY, [b"\x00\x01"], override="binary") == [b"\x00\x01"]
    stamp = _convert(mt.DATETIME, [b"2020-01-01 10:00:00"], override="timestamp_tz")[0]
    assert stamp == dt.datetime(2020, 1, 1, 10, tzinfo=dt.timezone.utc)


def test_build_schema_lists_every_unsupported_column():
    fields = [mt.FieldMeta("id", mt.LONG), mt.FieldMeta("shape", mt.GEOMETRY, charset=BIN),
              mt.FieldMeta("emb", mt.VECTOR, charset=BIN)]
    with pytest.raises(RivetSourceError, match=r"shape \(geometry\), emb \(vector\).*CAST") as info:
        mt.build_schema(fields, {}, export="orders")
    assert "export 'orders'" in str(info.value)
    schema = mt.build_schema(fields, {"shape": parse_column_type("binary"),
                                      "emb": parse_column_type("binary")})
    assert schema.types == [pa.int32(), pa.binary(), pa.binary()]
    assert schema.field("shape").metadata == {b"rivet.native_type": b"geometry"}


def test_mariadb_json_catalog_query_and_marking():
    doc = mt.FieldMeta("doc", mt.BLOB, flags=16, charset=UTF8, origin=("", "Orders", "Doc"))
    note = mt.FieldMeta("note", mt.BLOB, flags=16, charset=UTF8, origin=("db2", "t", "note"))
    name = mt.FieldMeta("name", mt.VAR_STRING, charset=UTF8, origin=("db2", "t", "name"))
    expr = mt.FieldMeta("x", mt.BLOB, charset=UTF8)
    sql, args = mt.json_check_query([doc, note, name, expr], "shop")
    assert sql.count("UNION ALL") == 1 and args == ["db2", "t", "shop", "Orders"]
    assert mt.json_check_query([name, expr], "shop") is None
    rows = [("shop", "Orders", "json_valid(`doc`)"), ("db2", "t", "`note` <> ''")]
    marked = mt.mark_json([doc, note, name, expr], rows, "shop")
    assert [f.is_json for f in marked] == [True, False, False, False]
    assert mt.arrow_type(marked[0]) == at.JSON
