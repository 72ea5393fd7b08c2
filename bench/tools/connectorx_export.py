"""connectorx: read_sql(..., return_type="arrow_stream") -> pyarrow ParquetWriter (zstd).

    <bench .venv>/bin/python bench/tools/connectorx_export.py pg|mysql TABLE OUT_DIR BATCH_SIZE
"""

import json
import sys

import connectorx as cx
import pyarrow.parquet as pq

URLS = {"pg": "postgresql://postgres@127.0.0.1:5432/rivet_bench",
        "mysql": "mysql://root:@127.0.0.1:3306/rivet_bench"}
engine, table, out, batch_size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
reader = cx.read_sql(URLS[engine], f"SELECT * FROM {table}", return_type="arrow_stream",
                     batch_size=batch_size)
path = f"{out}/{table}.parquet"
rows = 0
with pq.ParquetWriter(path, reader.schema, compression="zstd") as writer:
    for batch in reader:
        writer.write_batch(batch)
        rows += batch.num_rows
print(json.dumps({"rows": rows, "files": [path]}))
