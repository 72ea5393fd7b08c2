"""Dagster's own cost per materialization: one asset that does nothing, nothing of ours loaded.

    DAGSTER_HOME=<dir> [RIVET_BENCH_FLOOR_EXECUTOR=in_process] \
        dagster asset materialize -f bench/tools/dagster_floor.py --select dagster_floor

Measured like `rivet-dagster+dagster` (same command, same fresh instance, same executor), it is
the floor under any asset's materialization: interpreter, `import dagster`, the instance and its
storage, the run's events, the step process of the multiprocess executor, exit. What a
rivet-dagster materialization costs beyond this floor and the bare engine is ours to answer for.
"""

import os

import dagster as dg


@dg.asset
def dagster_floor() -> dg.MaterializeResult:
    return dg.MaterializeResult()


_IN_PROCESS = os.environ.get("RIVET_BENCH_FLOOR_EXECUTOR") == "in_process"
defs = dg.Definitions(assets=[dagster_floor],
                      executor=dg.in_process_executor if _IN_PROCESS else None)
