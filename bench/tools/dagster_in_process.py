"""What a Dagster materialization costs beyond the engine, inside one running Python process.

    <project .venv>/bin/python bench/tools/dagster_in_process.py [pg|mysql] [--table page_views]
        [--profile fast] [--pairs 7] [--instance ephemeral|sqlite]

The bench's `rivet-dagster+dagster` tools time a whole `dagster asset materialize` process,
of which Dagster's own start-up (interpreter, `import dagster`, the instance, exit) is
1.5-3.4 s on the bench host whatever the asset does (the `dagster-floor` tools). A
materialization launched from a process that is already running (a sensor's run in a
long-lived worker, `dagster.materialize()` in a test or a notebook) does not pay that.
This script imports everything first, then alternates, in the same process, the engine's
`run_export` of one bench export and `dagster.materialize()` of that export's asset
(rivet_dagster.build_defs, the same YAML as the bench's), and prints the medians and the
materialization's cost over the bare engine. The instance is ephemeral (in memory) or, with
`--instance sqlite`, a fresh DAGSTER_HOME with SQLite storage, as `dagster dev` keeps.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from harness import URLS  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("engine", choices=["pg", "mysql"])
    parser.add_argument("--table", default="page_views")
    parser.add_argument("--profile", default=None)
    parser.add_argument("--pairs", type=int, default=7)
    parser.add_argument("--instance", choices=["ephemeral", "sqlite"], default="ephemeral")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="rivet-bench-inproc-"))
    name = f"{args.engine}_{args.table}"
    tuning = f"\n  tuning: {{profile: {args.profile}}}" if args.profile else ""
    config = work / "rivet.yaml"
    config.write_text(
        f"source:\n  type: {'postgres' if args.engine == 'pg' else 'mysql'}\n"
        f"  url: {URLS['rivet'][args.engine]}{tuning}\n"
        f"exports:\n  - name: {name}\n    table: {args.table}\n    format: parquet\n"
        f"    compression: zstd\n    destination: {{type: local, path: {json.dumps(str(work / 'out'))}}}\n")
    if args.instance == "sqlite":
        home = work / "dagster_home"
        home.mkdir()
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        os.environ["DAGSTER_HOME"] = str(home)

    import dagster as dg

    import rivet_dagster
    from rivet_dagster.config import load_config, resolve_tuning
    from rivet_dagster.destinations import create_destination
    from rivet_dagster.engine import run_export
    from rivet_dagster.sources import create_source

    defs = rivet_dagster.build_defs(config)
    asset = defs.resolve_assets_def(name)
    instance = dg.DagsterInstance.get() if args.instance == "sqlite" else dg.DagsterInstance.ephemeral()
    loaded = load_config(config)
    export = loaded.export(name)

    def bare(slot: int) -> float:
        started = time.perf_counter()
        run_export(export, create_source(loaded.source), create_destination(export.destination, name),
                   tuning=resolve_tuning(loaded.source, export.tuning), slot=f"bare-{slot:06d}")
        return time.perf_counter() - started

    def materialization() -> float:
        started = time.perf_counter()
        result = dg.materialize([asset], instance=instance)
        elapsed = time.perf_counter() - started
        assert result.success
        return elapsed

    bare(0)  # warm-up: first connections, first Parquet writer, the table in the server's cache
    materialization()
    times: dict[str, list[float]] = {"bare": [], "dagster": []}
    for i in range(args.pairs):
        order = [("bare", lambda: bare(i + 1)), ("dagster", materialization)]
        for label, fn in (order if i % 2 == 0 else order[::-1]):
            shutil.rmtree(work / "out" / name, ignore_errors=True)
            times[label].append(fn())
    shutil.rmtree(work, ignore_errors=True)
    b, d = statistics.median(times["bare"]), statistics.median(times["dagster"])
    print(json.dumps({"case": f"{args.engine}/{args.table}", "profile": args.profile or "default",
                      "instance": args.instance, "pairs": args.pairs,
                      "bare_s": [round(x, 3) for x in times["bare"]],
                      "dagster_s": [round(x, 3) for x in times["dagster"]],
                      "bare_median_s": round(b, 3), "dagster_median_s": round(d, 3),
                      "overhead_pct": round((d / b - 1) * 100, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
