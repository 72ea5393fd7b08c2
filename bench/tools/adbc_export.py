"""ADBC (PostgreSQL only): adbc_driver_postgresql cursor -> Arrow reader -> ParquetWriter (zstd).

    <bench .venv>/bin/python bench/tools/adbc_export.py pg TABLE OUT_DIR BATCH_SIZE
"""

import json
import sys

import adbc_driver_postgresql.dbapi as adbc
import pyarrow.parquet as pq

engine, table, out = sys.argv[1], sys.argv[2], sys.argv[3]
if engine != "pg":
    sys.exit("adbc: only the PostgreSQL driver is benchmarked (no MySQL ADBC driver on PyPI)")
path = f"{out}/{table}.parquet"
rows = 0
with adbc.connect("postgresql://postgres@127.0.0.1:5432/rivet_bench") as conn:
    with conn.cursor() as cur:
        cur.execute(f"SELECT * FROM {table}")
        reader = cur.fetch_record_batch()
        with pq.ParquetWriter(path, reader.schema, compression="zstd") as writer:
            for batch in reader:
                writer.write_batch(batch)
                rows += batch.num_rows
print(json.dumps({"rows": rows, "files": [path]}))
