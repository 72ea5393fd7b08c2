"""dlt: sql_table(backend="pyarrow") -> filesystem destination, parquet, zstd.

    <bench .venv>/bin/python bench/tools/dlt_export.py pg|mysql TABLE OUT_DIR BATCH_SIZE

Runs extract + normalize + load (pipeline.run) into OUT_DIR/data; its working folders go to
OUT_DIR/pipelines. zstd via dlt's data_writer config (DATA_WRITER__COMPRESSION).
"""

import glob
import json
import os
import sys

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
os.environ.setdefault("DATA_WRITER__COMPRESSION", "zstd")

import dlt  # noqa: E402
from dlt.sources.sql_database import sql_table  # noqa: E402

URLS = {"pg": "postgresql+psycopg2://postgres@127.0.0.1:5432/rivet_bench",
        "mysql": "mysql+pymysql://root:@127.0.0.1:3306/rivet_bench"}
engine, table, out, batch_size = sys.argv[1], sys.argv[2], os.path.abspath(sys.argv[3]), int(sys.argv[4])
source = sql_table(credentials=URLS[engine], table=table, backend="pyarrow", chunk_size=batch_size)
pipeline = dlt.pipeline(pipeline_name=f"bench_{engine}_{table}",
                        destination=dlt.destinations.filesystem(bucket_url=f"{out}/data"),
                        dataset_name="bench", pipelines_dir=f"{out}/pipelines")
info = pipeline.run(source, loader_file_format="parquet")
info.raise_on_failed_jobs()
files = sorted(glob.glob(f"{out}/data/bench/{table}/*.parquet"))
rows = pipeline.last_trace.last_normalize_info.row_counts.get(table)
print(json.dumps({"rows": rows, "files": files}))
