"""The PostgreSQL type table (Rivet §5.1) as pure cases."""

import pyarrow as pa
import pytest

from rivet_dagster.config.column_types import parse_column_type
from rivet_dagster.sources.postgres_types import PgColumn, UnsupportedColumn, map_column

CASES = [
    (16, None, None, pa.bool_()), (21, None, None, pa.int16()), (23, None, None, pa.int32()),
    (20, None, None, pa.int64()), (26, None, None, pa.int64()), (700, None, None, pa.float32()),
    (701, None, None, pa.float64()), (1700, 10, 2, pa.decimal128(10, 2)),
    (1700, 38, 0, pa.decimal128(38, 0)), (1700, 39, 5, pa.decimal256(39, 5)),
    (1700, 76, 76, pa.decimal256(76, 76)), (1082, None, None, pa.date32()),
    (1083, None, None, pa.time64("us")), (1114, None, None, pa.timestamp("us")),
    (1184, None, None, pa.timestamp("us", tz="UTC")), (25, None, None, pa.string()),
    (1043, None, None, pa.string()), (1042, None, None, pa.string()), (19, None, None, pa.string()),
    (17, None, None, pa.binary()), (114, None, None, pa.json_(pa.string())),
    (3802, None, None, pa.json_(pa.string())), (2950, None, None, pa.uuid()),
    (1186, None, None, pa.string()), (1007, None, None, pa.list_(pa.int32())),
    (1009, None, None, pa.list_(pa.string())), (1016, None, None, pa.list_(pa.int64())),
    (1185, None, None, pa.list_(pa.timestamp("us", tz="UTC"))),
]


@pytest.mark.parametrize("oid,precision,scale,expected", CASES)
def test_builtin_types(oid, precision, scale, expected):
    assert map_column(PgColumn("c", oid, precision, scale), None).arrow_type == expected


def test_enum_and_enum_array():
    assert map_column(PgColumn("m", 99999, typtype="e", type_name="mood"), None).arrow_type == pa.string()
    col = PgColumn("ms", 99998, type_name="_mood", typtype="b", element_oid=99999, element_typtype="e")
    assert map_column(col, None).arrow_type == pa.list_(pa.string())


@pytest.mark.parametrize("column,needle", [
    (PgColumn("n", 1700), "columns: {n: 'decimal(38,10)'}"),
    (PgColumn("n", 1700, 10, -2), "negative scale"),
    (PgColumn("g", 99997, type_name="geometry", typtype="b"), "ST_AsText(g)"),
    (PgColumn("j", 199), "has no Arrow mapping"),  # json[]
    (PgColumn("na", 1231), "numeric[]"),
])
def test_unsupported_have_hints(column, needle):
    with pytest.raises(UnsupportedColumn) as err:
        map_column(column, None)
    assert needle in str(err.value) and f"'{column.name}'" in str(err.value)


def test_overrides_beat_detection():
    bare = PgColumn("n", 1700)
    assert map_column(bare, parse_column_type("decimal(50,4)")).arrow_type == pa.decimal256(50, 4)
    text = PgColumn("u", 25)
    mapped = map_column(text, parse_column_type("uuid"))
    assert mapped.arrow_type == pa.uuid() and mapped.kind == "uuid"
