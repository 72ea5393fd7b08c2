"""Parquet parts: dictionaries only where values repeat; the data reads back unchanged."""

import io

import pyarrow as pa
import pyarrow.parquet as pq

from rivet_dagster.formats.parquet import ParquetFormat, dictionary_columns


def _table(n=50_000):
    return pa.table({
        "id": pa.array(range(n), pa.int64()),
        "country": pa.array([["fr", "de", "us"][i % 3] for i in range(n)]),
        "unique_text": pa.array([f"row {i}" for i in range(n)]),
        "status": pa.array([200 if i % 7 else 404 for i in range(n)], pa.int16()),
        "empty": pa.array([None] * n, pa.string()),
    })


def test_dictionary_is_chosen_for_repetitive_short_columns_only():
    assert dictionary_columns(_table()) == ["country", "status"]


def test_written_file_uses_those_encodings_and_round_trips():
    table = _table()
    buf = io.BytesIO()
    writer = ParquetFormat().open_writer(buf, table.schema)
    for batch in table.to_batches(max_chunksize=7_000):
        writer.write_batch(batch)
    writer.close()
    buf.seek(0)
    meta = pq.ParquetFile(buf).metadata
    encodings = {meta.schema.column(i).name: meta.row_group(0).column(i).encodings
                 for i in range(meta.num_columns)}
    assert "RLE_DICTIONARY" in encodings["country"] and "RLE_DICTIONARY" in encodings["status"]
    assert "RLE_DICTIONARY" not in encodings["id"]
    assert "RLE_DICTIONARY" not in encodings["unique_text"]
    buf.seek(0)
    assert pq.read_table(buf).equals(table)


def test_a_part_without_rows_is_still_a_valid_typed_file():
    schema = _table(1).schema
    buf = io.BytesIO()
    ParquetFormat().open_writer(buf, schema).close()
    buf.seek(0)
    assert pq.read_table(buf).schema.equals(schema) and pq.read_table(buf).num_rows == 0


def _bytes(fmt: ParquetFormat) -> bytes:
    table = _table(20_000)
    buf = io.BytesIO()
    writer = fmt.open_writer(buf, table.schema)
    writer.write_batch(table.to_batches()[0])
    writer.close()
    return buf.getvalue()


def test_an_unset_level_is_the_documented_one_zstd_1_gzip_9():
    # docs/config.md promises these for `compression_level` unset; a pyarrow that changed its
    # defaults would change every export's bytes without a word in our docs.
    for codec, documented, other in (("zstd", 1, 3), ("gzip", 9, 1)):
        unset = _bytes(ParquetFormat(compression=codec))
        assert unset == _bytes(ParquetFormat(compression=codec, compression_level=documented))
        assert unset != _bytes(ParquetFormat(compression=codec, compression_level=other))
