"""MySQL / MariaDB result metadata -> Arrow types, and raw wire values -> Arrow arrays.

Everything here is pure (no server) so the mapping table can be unit-tested. The source
reads rows in the text protocol as raw bytes, loads each column once into an Arrow
string/binary array, and converts it with Arrow kernels (`kernels.cast`) instead of building
Python ints/Decimals/datetimes value by value.
"""

from __future__ import annotations

import re
import struct
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

import rivet_dagster._native_preload  # noqa: F401  (before pyarrow: see that module)
import pyarrow as pa

from rivet_dagster import kernels
from rivet_dagster.config.column_types import ColumnType
from rivet_dagster.errors import RivetSourceError
from rivet_dagster.sources import arrow_types as at

# Field type codes of the client/server protocol (enum_field_types).
DECIMAL, TINY, SHORT, LONG, FLOAT, DOUBLE, NULL, TIMESTAMP, LONGLONG, INT24 = range(10)
DATE, TIME, DATETIME, YEAR, NEWDATE, VARCHAR, BIT, TIMESTAMP2, DATETIME2, TIME2 = range(10, 20)
VECTOR, JSON, NEWDECIMAL, ENUM, SET = 242, 245, 246, 247, 248
TINY_BLOB, MEDIUM_BLOB, LONG_BLOB, BLOB, VAR_STRING, STRING, GEOMETRY = range(249, 256)

UNSIGNED_FLAG, ENUM_FLAG, SET_FLAG = 32, 256, 2048
BINARY_CHARSET = 63  # charset number 63 = `binary`: bytes, not text

_BLOB_TYPES = frozenset({TINY_BLOB, MEDIUM_BLOB, LONG_BLOB, BLOB})  # MariaDB sends JSON as a blob
_TEXT_TYPES = _BLOB_TYPES | {VARCHAR, VAR_STRING, STRING}
_NUMERIC_TYPES = frozenset({DECIMAL, TINY, SHORT, LONG, FLOAT, DOUBLE, LONGLONG, INT24, NEWDECIMAL})
_LENGTH_TYPES = frozenset({TINY, DECIMAL, NEWDECIMAL, BIT})  # types whose mapping needs the length
_TYPE_NAMES = {
    DECIMAL: "decimal", TINY: "tinyint", SHORT: "smallint", LONG: "int", FLOAT: "float",
    DOUBLE: "double", NULL: "null", TIMESTAMP: "timestamp", LONGLONG: "bigint", INT24: "mediumint",
    DATE: "date", TIME: "time", DATETIME: "datetime", YEAR: "year", NEWDATE: "date",
    VARCHAR: "varchar", BIT: "bit", TIMESTAMP2: "timestamp", DATETIME2: "datetime", TIME2: "time",
    VECTOR: "vector", JSON: "json", NEWDECIMAL: "decimal", ENUM: "enum", SET: "set",
    TINY_BLOB: "tinyblob", MEDIUM_BLOB: "mediumblob", LONG_BLOB: "longblob", BLOB: "blob",
    VAR_STRING: "varchar", STRING: "char", GEOMETRY: "geometry",
}


@dataclass(frozen=True)
class FieldMeta:
    """One result column as the server describes it.

    `length` is the wire column length (display width for integers, digits + sign + point
    for DECIMAL, bits for BIT). The C extension does not expose it, so the source fills it
    from the catalog or a metadata probe; None means "not known".
    """

    name: str
    type_code: int
    flags: int = 0
    charset: int = 45
    decimals: int = 0
    length: int | None = None
    origin: tuple[str, str, str] | None = None  # (schema or '', table, column) of a table column
    is_json: bool = False  # MariaDB JSON: LONGTEXT + json_valid() check, only the catalog knows

    @property
    def unsigned(self) -> bool:
        return bool(self.flags & UNSIGNED_FLAG)

    @property
    def needs_length(self) -> bool:
        return self.type_code in _LENGTH_TYPES and self.length is None

    @property
    def maybe_mariadb_json(self) -> bool:
        return self.type_code in _BLOB_TYPES and self.charset != BINARY_CHARSET

    def native_type(self) -> str:
        """Readable source type for messages and `rivet.native_type` metadata."""
        name = _TYPE_NAMES.get(self.type_code, f"type#{self.type_code}")
        if self.flags & ENUM_FLAG:
            name = "enum"
        elif self.flags & SET_FLAG:
            name = "set"
        elif self.is_json:
            name = "json"
        elif self.type_code in (DECIMAL, NEWDECIMAL) and self.length is not None:
            name = f"decimal({decimal_precision(self)},{self.decimals})"
        elif self.type_code in (TINY, BIT) and self.length is not None:
            name = f"{name}({self.length})"
        elif self.type_code in _TEXT_TYPES and self.charset == BINARY_CHARSET:
            name = {VARCHAR: "varbinary", VAR_STRING: "varbinary", STRING: "binary"}.get(
                self.type_code, name)
        elif self.type_code in _TEXT_TYPES:
            name = name.replace("blob", "text")
        return f"{name} unsigned" if self.unsigned and self.type_code in _NUMERIC_TYPES else name


def field_from_cext(info: tuple) -> FieldMeta:
    """Build a FieldMeta from one `_mysql_connector.MySQL.fetch_fields()` tuple:
    (catalog, db, table, org_table, name, org_name, charsetnr, max_length, type, flags, decimals)."""
    db, org_table, org_name = info[1], info[3], info[5]
    origin = (db, org_table, org_name) if org_table and org_name else None  # db '' = default db
    return FieldMeta(name=info[4], type_code=int(info[8]), flags=int(info[9]), charset=int(info[6]),
                     decimals=int(info[10]), origin=origin)


def _lenenc(buf: bytes, pos: int) -> tuple[int, int]:
    first = buf[pos]
    if first < 0xFB:
        return first, pos + 1
    size = {0xFC: 2, 0xFD: 3, 0xFE: 8}[first]
    return int.from_bytes(buf[pos + 1:pos + 1 + size], "little"), pos + 1 + size


def parse_column_definition(packet: bytes) -> FieldMeta:
    """Parse a protocol ColumnDefinition41 packet (with its 4-byte header).

    Used with the pure-Python driver, the only place the wire length is visible."""
    pos, strings = 4, []
    for _ in range(6):  # catalog, schema, table, org_table, name, org_name
        size, pos = _lenenc(packet, pos)
        strings.append(packet[pos:pos + size].decode("utf-8", "replace"))
        pos += size
    _, pos = _lenenc(packet, pos)  # length of the fixed fields (0x0c)
    charset, length, type_code, flags, decimals = struct.unpack_from("<HIBHB", packet, pos)
    db, org_table, org_name = strings[1], strings[3], strings[5]
    return FieldMeta(name=strings[4], type_code=type_code, flags=flags, charset=charset,
                     decimals=decimals, length=length,
                     origin=(db, org_table, org_name) if org_table and org_name else None)


_COLUMN_TYPE = re.compile(r"^\s*(\w+)\s*(?:\((\d+)(?:\s*,\s*(\d+))?\))?\s*(unsigned)?", re.I)


def length_from_column_type(column_type: str) -> int | None:
    """Wire length implied by an information_schema COLUMN_TYPE ('decimal(10,2) unsigned')."""
    match = _COLUMN_TYPE.match(column_type or "")
    if not match:
        return None
    base, first, second, unsigned = match.groups()
    base = base.lower()
    if base == "tinyint":  # MySQL >= 8.0.19 prints no width except for tinyint(1)
        return int(first) if first else 4
    if base == "bit":
        return int(first) if first else 1
    if base in ("decimal", "numeric", "dec", "fixed"):
        precision, scale = int(first or 10), int(second or 0)
        return precision + (1 if scale > 0 else 0) + (0 if unsigned else 1)
    return None


_JSON_CHECK = re.compile(r"json_valid\(\s*`((?:[^`]|``)+)`\s*\)", re.I)


def json_columns_from_checks(clauses: Iterable[str]) -> set[str]:
    """Lower-cased column names guarded by `json_valid(col)`: how MariaDB marks JSON columns."""
    names: set[str] = set()
    for clause in clauses:
        names.update(m.group(1).replace("``", "`").lower() for m in _JSON_CHECK.finditer(clause or ""))
    return names


def _json_key(field: FieldMeta, default_db: str) -> tuple[str, str, str] | None:
    if not (field.origin and field.maybe_mariadb_json):
        return None
    schema, table, column = field.origin
    return ((schema or default_db).lower(), table.lower(), column.lower())


def json_check_query(fields: Iterable[FieldMeta], default_db: str) -> tuple[str, list[str]] | None:
    """information_schema query for the CHECK clauses of the tables behind possible JSON columns."""
    tables = sorted({(f.origin[0] or default_db, f.origin[1]) for f in fields
                     if f.origin and f.maybe_mariadb_json and (f.origin[0] or default_db)})
    if not tables:
        return None
    sql = " UNION ALL ".join(  # plain equalities: MariaDB then opens only these tables
        "SELECT CONSTRAINT_SCHEMA, TABLE_NAME, CHECK_CLAUSE FROM information_schema."
        "CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = %s AND TABLE_NAME = %s" for _ in tables)
    return sql, [part for table in tables for part in table]


def mark_json(fields: list[FieldMeta], check_rows: Iterable[tuple[str, str, str]],
              default_db: str) -> list[FieldMeta]:
    """Flag the columns that a `json_valid(col)` CHECK guards (rows from json_check_query)."""
    guarded = {(s.lower(), t.lower(), col) for s, t, clause in check_rows
               for col in json_columns_from_checks([clause])}
    return [replace(f, is_json=True) if _json_key(f, default_db) in guarded else f for f in fields]


def decimal_precision(field: FieldMeta) -> int:
    """DECIMAL precision from the wire length (which counts the sign and the point).

    Without a length (an expression whose metadata could not be probed) assume 38 digits,
    or 65 (MySQL's maximum) when the scale leaves fewer than 20 integer digits."""
    scale = field.decimals
    if field.length is None:
        return 38 if scale <= 18 else 65
    precision = field.length - (1 if scale > 0 else 0) - (0 if field.unsigned else 1)
    return min(max(precision, scale, 1), 76)


def arrow_type(field: FieldMeta, override: ColumnType | None = None) -> pa.DataType | None:
    """The Arrow type of a column, or None when the source type is unsupported."""
    if override is not None:
        return at.override_type(override)
    code, unsigned = field.type_code, field.unsigned
    if field.flags & (ENUM_FLAG | SET_FLAG) or code in (ENUM, SET):
        return pa.string()
    simple = {
        SHORT: pa.int32() if unsigned else pa.int16(),
        INT24: pa.int64() if unsigned else pa.int32(),
        LONG: pa.int64() if unsigned else pa.int32(),
        LONGLONG: pa.uint64() if unsigned else pa.int64(),
        FLOAT: pa.float32(), DOUBLE: pa.float64(), YEAR: pa.int16(), NULL: pa.null(),
        DATE: pa.date32(), NEWDATE: pa.date32(), JSON: at.JSON,
        DATETIME: at.TIMESTAMP, DATETIME2: at.TIMESTAMP,
        TIMESTAMP: at.TIMESTAMP_TZ, TIMESTAMP2: at.TIMESTAMP_TZ, TIME: at.TIME, TIME2: at.TIME,
    }
    if code in simple:
        return simple[code]
    if code == TINY:
        return pa.bool_() if field.length == 1 else pa.int16()
    if code == BIT:
        return pa.bool_() if field.length == 1 else pa.int64()
    if code in (DECIMAL, NEWDECIMAL):
        return at.decimal(decimal_precision(field), field.decimals)
    if code in _TEXT_TYPES:
        if field.charset == BINARY_CHARSET:
            return pa.binary()
        return at.JSON if field.is_json else pa.string()
    return None


def storage_type(field: FieldMeta) -> pa.DataType:
    """How a column's raw wire bytes are loaded first: utf8 text, or bytes when they are not text."""
    code = field.type_code
    if code in (BIT, GEOMETRY, VECTOR) or arrow_type(field) is None:
        return pa.binary()
    if code in _TEXT_TYPES and field.charset == BINARY_CHARSET:
        return pa.binary()
    return pa.string()


def build_schema(fields: list[FieldMeta], overrides: Mapping[str, ColumnType],
                 export: str | None = None) -> pa.Schema:
    """The stream schema; fails before any row is read if a column has no Arrow mapping."""
    unsupported = [f for f in fields if arrow_type(f, overrides.get(f.name)) is None]
    if unsupported:
        listed = ", ".join(f"{f.name} ({f.native_type()})" for f in unsupported)
        raise RivetSourceError(
            f"mysql: unsupported column type(s): {listed}; cast them in the query, e.g. "
            f"CAST({unsupported[0].name} AS CHAR) or ST_AsText({unsupported[0].name}) for geometry, "
            f"or set a `columns:` override", export=export)
    return pa.schema([
        pa.field(f.name, arrow_type(f, overrides.get(f.name)),
                 metadata={"rivet.native_type": f.native_type()})
        for f in fields])


def _fail(field: FieldMeta, target: pa.DataType, exc: Exception) -> RivetSourceError:
    return RivetSourceError(
        f"column '{field.name}' ({field.native_type()}): cannot convert to {target}: {exc}; "
        f"CAST it in the query or set a `columns:` override")


def _cast(arr: pa.Array, target: pa.DataType, field: FieldMeta) -> pa.Array:
    try:
        return kernels.cast(arr, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise _fail(field, target, exc) from None


def _valid_date_mask(text: pa.Array) -> pa.Array:
    """True where 'YYYY-MM-DD' is a real calendar date (zero dates, month 0, Feb 30 -> False)."""
    parsed = kernels.strptime(text, format="%Y-%m-%d", unit="s", error_is_null=True)
    back = kernels.cast(kernels.cast(parsed, pa.date32()), pa.string())
    return kernels.fill_null(kernels.equal(back, text), False)


def _to_date(raw: pa.Array) -> pa.Array:
    try:
        return kernels.cast(raw, pa.date32())
    except pa.ArrowInvalid:  # zero / invalid dates in this batch -> NULL
        keep = _valid_date_mask(raw)
        return kernels.cast(kernels.if_else(keep, raw, pa.scalar(None, pa.string())), pa.date32())


def _to_timestamp(raw: pa.Array, target: pa.DataType, field: FieldMeta) -> pa.Array:
    try:
        naive = kernels.cast(raw, at.TIMESTAMP)
    except pa.ArrowInvalid:  # '0000-00-00 00:00:00' and friends -> NULL
        keep = _valid_date_mask(kernels.utf8_slice_codeunits(raw, 0, 10))
        naive = _cast(kernels.if_else(keep, raw, pa.scalar(None, pa.string())), at.TIMESTAMP, field)
    return naive if target.tz is None else kernels.cast(naive, target)  # session runs in UTC


_TIME_OF_DAY = r"^([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?$"


def _to_time(raw: pa.Array, field: FieldMeta) -> pa.Array:
    ok = kernels.match_substring_regex(raw, _TIME_OF_DAY)
    if kernels.any_true(kernels.invert(ok)).as_py():
        bad = kernels.filter(raw, kernels.invert(ok))[0].as_py()
        raise RivetSourceError(
            f"column '{field.name}' (time): value '{bad}' is outside 00:00:00..23:59:59.999999 "
            f"(MySQL TIME is a duration, Arrow time64 a time of day); select "
            f"CAST({field.name} AS CHAR) instead")
    stamp = kernels.cast(kernels.binary_join_element_wise("1970-01-01 ", raw, ""), at.TIMESTAMP)
    return kernels.cast(kernels.cast(stamp, pa.int64()), at.TIME)


def _bits_to_int64(raw: pa.Array) -> pa.Array:
    """BIT(n) arrives big-endian; BIT(64) values >= 2**63 wrap to negative (two's complement)."""
    values = []
    for v in raw.to_pylist():
        if v is None:
            values.append(None)
        else:
            n = int.from_bytes(v, "big")
            values.append(n - (1 << 64) if n >= 1 << 63 else n)
    return pa.array(values, pa.int64())


def _natural(raw: pa.Array, field: FieldMeta, target: pa.DataType) -> pa.Array:
    code = field.type_code
    if target == raw.type:
        return raw
    if target == at.JSON:
        return pa.ExtensionArray.from_storage(at.JSON, raw)
    if pa.types.is_null(target):
        return pa.nulls(len(raw))
    if code == BIT:
        if pa.types.is_boolean(target):
            return kernels.not_equal(raw, pa.scalar(b"\x00", pa.binary()))
        return _bits_to_int64(raw)
    if pa.types.is_boolean(target):
        return kernels.not_equal(_cast(raw, pa.int16(), field), 0)
    if pa.types.is_date(target):
        return _to_date(raw)
    if pa.types.is_timestamp(target):
        return _to_timestamp(raw, target, field)
    if pa.types.is_time(target):
        return _to_time(raw, field)
    return _cast(raw, target, field)


def _uuid_bytes(value: bytes | str | None) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        if len(value) == 16:
            return value
        value = value.decode("ascii", "replace")
    try:
        return uuid.UUID(value.strip()).bytes
    except ValueError:
        return None


def _apply_override(arr: pa.Array, field: FieldMeta, target: pa.DataType) -> pa.Array:
    if isinstance(arr.type, pa.ExtensionType):
        arr = arr.storage
    if target == at.UUID:  # char(36) text or binary(16); unparseable values -> NULL
        storage = pa.array([_uuid_bytes(v) for v in arr.to_pylist()], pa.binary(16))
        return pa.ExtensionArray.from_storage(at.UUID, storage)
    if target == at.JSON:
        text = arr if pa.types.is_string(arr.type) else _cast(arr, pa.string(), field)
        return pa.ExtensionArray.from_storage(at.JSON, text)
    return arr if arr.type == target else _cast(arr, target, field)


def to_arrow(raw: pa.Array, field: FieldMeta, target: pa.DataType,
             overridden: bool = False) -> pa.Array:
    """Convert one column of raw wire values (as `storage_type(field)`) to `target`."""
    if not overridden:
        return _natural(raw, field, target)
    natural = arrow_type(field)
    if pa.types.is_string(target) and pa.types.is_string(raw.type):
        return raw  # the server's own text rendering (TIME durations, zero dates stay readable)
    if natural is None or (pa.types.is_decimal(target) and pa.types.is_string(raw.type)):
        return _apply_override(raw, field, target)  # straight from text: no intermediate type
    return _apply_override(_natural(raw, field, natural), field, target)


def column_to_arrow(raw: pa.Array, field: FieldMeta, target: pa.DataType, overridden: bool,
                    export: str | None) -> pa.Array:
    """`to_arrow` for a reader: any failure becomes one error naming the export and column."""
    try:
        return to_arrow(raw, field, target, overridden)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise RivetSourceError(f"column '{field.name}' ({field.native_type()}): {exc}",
                               export=export) from None
    except RivetSourceError as exc:
        raise RivetSourceError(exc.detail, export=export) from None
