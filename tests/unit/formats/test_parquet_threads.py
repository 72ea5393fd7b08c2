"""Row groups encoded on several threads make the very file the sequential writer makes."""

from __future__ import annotations

import datetime as dt
import decimal
import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rivet_dagster.formats.parquet import ParquetFormat
from rivet_dagster.formats.parquet_footer import EncodedFile, UnsupportedFooter


def _table(n: int = 40_000) -> pa.Table:
    start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    return pa.table({
        "id": pa.array(range(n), pa.int64()),
        "country": pa.array([["fr", "de", None][i % 3] for i in range(n)]),  # dictionary
        "body": pa.array([f"{i:08x}" * (1 + i % 40) for i in range(n)]),
        "price": pa.array([decimal.Decimal(i % 1000) / 100 for i in range(n)], pa.decimal128(12, 2)),
        "seen": pa.array([start + dt.timedelta(seconds=i) for i in range(n)],
                         pa.timestamp("us", tz="UTC")),
        "tags": pa.array([[str(i % 5)] * (i % 3) for i in range(n)], pa.list_(pa.string())),
        "flag": pa.array([i % 7 == 0 if i % 11 else None for i in range(n)], pa.bool_()),
    })


def _write(fmt: ParquetFormat, table: pa.Table, batch_rows: int = 1_000) -> bytes:
    buf = io.BytesIO()
    writer = fmt.open_writer(buf, table.schema)
    for batch in table.to_batches(max_chunksize=batch_rows):
        writer.write_batch(batch)
    writer.close()
    return buf.getvalue()


@pytest.mark.parametrize("threads", [2, 3, 8])
def test_threaded_file_is_byte_for_byte_the_sequential_one(threads):
    table = _table()
    small_groups = dict(row_group_rows=2_000, row_group_bytes=64 << 20)  # 20 groups: > 15
    sequential = _write(ParquetFormat(**small_groups), table)
    threaded = _write(ParquetFormat(encode_threads=threads, **small_groups), table)
    assert threaded == sequential
    meta = pq.ParquetFile(io.BytesIO(threaded)).metadata
    assert meta.num_row_groups == 20 and meta.num_rows == len(table)
    assert pq.read_table(io.BytesIO(threaded)).equals(table)


def test_one_group_and_groups_by_bytes_match_too():
    table = _table(5_000)
    for budget in (1 << 30, 200_000):  # one group; groups closed by the byte budget
        fmt = dict(row_group_bytes=budget)
        assert _write(ParquetFormat(encode_threads=2, **fmt), table) == \
            _write(ParquetFormat(**fmt), table)


def test_a_threaded_part_without_rows_is_a_valid_typed_file():
    schema = _table(1).schema
    buf = io.BytesIO()
    ParquetFormat(encode_threads=2).open_writer(buf, schema).close()
    back = pq.read_table(io.BytesIO(buf.getvalue()))
    assert back.schema.equals(schema) and back.num_rows == 0


def test_bytes_written_counts_groups_still_being_encoded():
    # max_file_size rotation reads bytes_written after each batch: a group handed to a thread
    # must count before its bytes reach the part, or a part would overshoot by every such group
    table = _table(4_000)
    writer = ParquetFormat(encode_threads=4, row_group_rows=1_000).open_writer(
        io.BytesIO(), table.schema)
    first = table.slice(0, 1_000).to_batches()[0]
    writer.write_batch(first)
    assert writer.bytes_written >= first.nbytes
    writer.close()


def test_an_error_while_encoding_reaches_the_caller():
    table = _table(3_000)
    other = pa.table({"id": pa.array([1, 2], pa.int64())})
    writer = ParquetFormat(encode_threads=2, row_group_rows=1_000).open_writer(
        io.BytesIO(), table.schema)
    with pytest.raises(ValueError, match="schema"):
        for batch in other.to_batches() * 3:
            writer.write_batch(batch)  # a group that does not fit the part's schema
        writer.close()


def test_a_failing_sink_fails_the_writer():
    class Full(io.RawIOBase):
        def writable(self):
            return True

        def write(self, data):
            raise OSError(28, "No space left on device")

    table = _table(3_000)
    writer = ParquetFormat(encode_threads=2, row_group_rows=500).open_writer(Full(), table.schema)
    with pytest.raises(OSError, match="No space"):
        for batch in table.to_batches(max_chunksize=500):
            writer.write_batch(batch)
        writer.close()


def test_files_with_bytes_outside_their_chunks_are_refused():
    buf = io.BytesIO()
    pq.write_table(_table(100), buf, write_page_index=True)
    with pytest.raises(UnsupportedFooter, match="page indexes"):
        EncodedFile.parse(buf.getvalue())


def test_parse_rejects_what_is_not_parquet():
    with pytest.raises(ValueError, match="not a Parquet file"):
        EncodedFile.parse(b"PAR1 but not really")


# A footer written by hand (Thrift compact protocol), for the fields pyarrow leaves out:
# RowGroup.ordinal (7) and ColumnMetaData.dictionary_page_offset (11).
def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    return bytes(out + bytes([n]))


def _i(fid_delta: int, ctype: int, n: int) -> bytes:  # an integer field, zigzag-encoded
    return bytes([fid_delta << 4 | ctype]) + _varint((n << 1) ^ (n >> 63))


def _hand_made_file(chunk: bytes, rows: int) -> bytes:
    I16, I64, LIST, STRUCT = 4, 6, 9, 12
    meta = _i(9, I64, 4 + 1) + _i(2, I64, 4) + b"\x00"  # data page at 5, dictionary at 4
    column = _i(2, I64, 0) + bytes([1 << 4 | STRUCT]) + meta + b"\x00"  # file_offset unset
    group = (bytes([1 << 4 | LIST, 1 << 4 | STRUCT]) + column  # 1: columns
             + _i(1, I64, len(chunk)) + _i(1, I64, rows)  # 2: total_byte_size, 3: num_rows
             + _i(2, I64, 4) + _i(2, I16, 0) + b"\x00")  # 5: file_offset, 7: ordinal
    footer = _i(3, I64, rows) + bytes([1 << 4 | LIST, 1 << 4 | STRUCT]) + group + b"\x00"
    return b"PAR1" + chunk + footer + len(footer).to_bytes(4, "little") + b"PAR1"


def test_offsets_move_and_row_groups_are_numbered_in_hand_made_footers():
    from rivet_dagster.formats.parquet_footer import merged_footer, moved_row_groups

    first = EncodedFile.parse(_hand_made_file(b"A" * 10, 3))
    second = EncodedFile.parse(_hand_made_file(b"B" * 20, 5))
    groups = moved_row_groups(first, 4, 0) + moved_row_groups(second, 14, 1)
    merged = b"PAR1" + b"A" * 10 + b"B" * 20 + merged_footer(first, groups, 8)
    back = EncodedFile.parse(merged)
    assert back.chunks.tobytes() == b"A" * 10 + b"B" * 20
    # every offset of the second group moved by 10, its ordinal is 1, the unset one stayed 0
    values = [[(kind, value) for _s, _e, kind, value in g.patches] for g in back.groups]
    OFFSET, ORDINAL = 0, 1
    assert values == [[(OFFSET, 0), (OFFSET, 5), (OFFSET, 4), (OFFSET, 4), (ORDINAL, 0)],
                      [(OFFSET, 0), (OFFSET, 15), (OFFSET, 14), (OFFSET, 14), (ORDINAL, 1)]]
    rows_at = back.rows_span[0]
    assert back.footer[rows_at:back.rows_span[1]] == _varint(8 << 1)  # 8 rows, zigzag
