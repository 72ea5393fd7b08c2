"""Profile rivet-dagster's engine on one bench table with py-spy and summarise where time goes.

    bench/.venv/bin/python bench/profile.py [pg|mysql] [page_views|content_items] [--profile fast]
                                            [--rate 200] [--native]

Runs tools/rivet_engine.py under `py-spy record --format raw` (py-spy is in bench/.venv), keeps
the collapsed stacks and an SVG flame graph in bench/results/profile-<engine>-<table>-<stamp>.*,
and prints the top functions by self time and by inclusive time, plus a coarse breakdown
(fetch / convert to Arrow / Parquet write / sleep).
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import linecache
import re
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
from harness import PROJECT_BIN, BENCH_BIN, URLS  # noqa: E402

# Coarse buckets, first match wins (checked from the innermost frame outwards).
BUCKETS = [
    ("parquet encode+write", ("write_table", "_flush (rivet_dagster/formats/parquet.py", "ParquetWriter",
                              "close (rivet_dagster/formats/parquet.py")),
    ("rows -> Arrow (pa.array / zip)", ("_to_batch", "_to_array", "from_arrays", "mysql_types")),
    ("fetch + decode rows (driver)", ("fetchmany", "psycopg", "_fetch", "mysql", "_Reader", "fetch_")),
]
IMPORTS = ("_find_and_load", "<frozen importlib")


def _line(source: dict[str, list[str]], path: str, lineno: int) -> str:
    lines = source.get(path)
    if lines is not None:
        return lines[lineno - 1] if 0 < lineno <= len(lines) else ""
    return linecache.getline(_resolve(path), lineno)


def _resolve(path: str) -> str:
    """py-spy prints paths relative to sys.path entries; find the file for linecache."""
    for root in (ROOT, *sorted((PROJECT_BIN.parent / "lib").glob("python3*/site-packages"))):
        candidate = Path(root) / path
        if candidate.exists():
            return str(candidate)
    return path


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("engine", nargs="?", default="pg", choices=("pg", "mysql"))
    ap.add_argument("table", nargs="?", default="page_views")
    ap.add_argument("--profile", default=None, help="rivet tuning profile (default: the default)")
    ap.add_argument("--rate", type=int, default=200)
    ap.add_argument("--native", action="store_true", help="py-spy --native (C frames too)")
    args = ap.parse_args()

    # the library's source as it is when the profile starts (others may edit it meanwhile)
    source = {str(p.relative_to(ROOT)): p.read_text().splitlines()
              for p in (ROOT / "rivet_dagster").rglob("*.py")}
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    results = BENCH / "results"
    results.mkdir(exist_ok=True)
    base = results / f"profile-{args.engine}-{args.table}-{args.profile or 'default'}-{stamp}"
    with tempfile.TemporaryDirectory(prefix="rivet-profile-") as tmp:
        name = f"{args.engine}_{args.table}"
        tuning = f"\n  tuning: {{profile: {args.profile}}}" if args.profile else ""
        cfg = Path(tmp) / "rivet.yaml"
        cfg.write_text(
            f"source:\n  type: {'postgres' if args.engine == 'pg' else 'mysql'}\n"
            f"  url: {URLS['rivet'][args.engine]}{tuning}\n"
            f"exports:\n  - name: {name}\n    table: {args.table}\n    format: parquet\n"
            f"    compression: zstd\n    destination: {{type: local, path: \"{tmp}/out\"}}\n")
        cmd = [str(BENCH_BIN / "py-spy"), "record", "--idle", "--rate", str(args.rate), "--format", "raw",
               "-o", f"{base}.txt", *(["--native"] if args.native else []), "--",
               str(PROJECT_BIN / "python"), str(BENCH / "tools" / "rivet_engine.py"), str(cfg), name]
        print("profile:", " ".join(cmd), flush=True)
        proc = subprocess.run(cmd, capture_output=True, text=True)
        print(proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else "", flush=True)
        if proc.returncode != 0:
            print(proc.stderr[-2000:])
            return 1
        subprocess.run([str(BENCH_BIN / "py-spy"), "record", "--idle", "--rate", str(args.rate), "--format",
                        "flamegraph", "-o", f"{base}.svg", "--", str(PROJECT_BIN / "python"),
                        str(BENCH / "tools" / "rivet_engine.py"), str(cfg), name],
                       capture_output=True)

    total = 0
    self_time: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    buckets: collections.Counter[str] = collections.Counter()
    for line in Path(f"{base}.txt").read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        frames = stack.split(";")
        total += n
        self_time[frames[-1]] += n
        for f in set(frames):
            incl[f] += n
        leaf = re.search(r"\((.+):(\d+)\)$", frames[-1])
        if any(imp in f for f in frames for imp in IMPORTS):
            buckets["imports / start-up"] += n
            continue
        if leaf and "sleep(" in _line(source, leaf.group(1), int(leaf.group(2))):
            buckets["sleep (tuning.throttle_ms)"] += n
            continue
        if frames[-1].startswith("Connection.wait"):
            buckets["fetch: waiting for / receiving rows (Connection.wait)"] += n
            continue
        for label, needles in BUCKETS:
            if any(any(nd in f for nd in needles) for f in frames):
                buckets[label] += n
                break
        else:
            buckets["other"] += n

    def show(title: str, counter: collections.Counter[str], k: int = 15) -> None:
        print(f"\n{title} (share of {total} samples at {args.rate} Hz, i.e. of wall time)")
        for frame, n in counter.most_common(k):
            print(f"  {n / total:6.1%}  {frame[:150]}")

    show("coarse breakdown", buckets, 10)
    show("top self time", self_time)
    show("top inclusive time", incl, 25)
    print(f"\nstacks: {base}.txt  flame graph: {base}.svg")
    return 0


if __name__ == "__main__":
    sys.exit(main())
