"""duckdb 1.4.4 + its postgres/mysql scanner (from the duckdb-ext-* wheels, loaded offline):
ATTACH the source read-only, then COPY (SELECT * ...) TO parquet with zstd.

    <bench .venv>/bin/python bench/tools/duckdb_export.py pg|mysql TABLE OUT_DIR BATCH_SIZE
"""

import json
import os
import sys

import duckdb
import duckdb_ext

engine, table, out = sys.argv[1], sys.argv[2], sys.argv[3]
ext_dir = os.path.join(list(duckdb_ext.__path__)[0], "extensions")
con = duckdb.connect(config={"extension_directory": ext_dir,
                             "autoinstall_known_extensions": False,
                             "autoload_known_extensions": False})
if engine == "pg":
    con.execute("LOAD postgres_scanner")
    con.execute("ATTACH 'host=127.0.0.1 port=5432 user=postgres dbname=rivet_bench' AS src "
                "(TYPE postgres, READ_ONLY)")
    source = f"src.public.{table}"
else:
    con.execute("LOAD mysql_scanner")
    con.execute("ATTACH 'host=127.0.0.1 port=3306 user=root database=rivet_bench' AS src "
                "(TYPE mysql, READ_ONLY)")
    source = f"src.{table}"
path = f"{out}/{table}.parquet"
rows = con.execute(f"COPY (SELECT * FROM {source}) TO '{path}' (FORMAT parquet, COMPRESSION zstd)"
                   ).fetchone()[0]
print(json.dumps({"rows": rows, "files": [path], "threads": con.execute(
    "SELECT current_setting('threads')").fetchone()[0]}))
