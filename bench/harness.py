"""The benchmark harness: seed, run every tool x case as its own measured process, report.

Started by bench/run.sh (which sets up the venvs and the services); run it through that script.

    bench/run.sh [--quick] [--repeat N] [--only TOOL,...] [--cases CASE,...] [--scale N]
                 [--skip-seed] [--timeout S] [--keep-work]

Every run is one process under `/usr/bin/time -v` (user + sys CPU and the maximum resident set
of the process or any one of its descendants); the harness times the wall clock around it and
samples the summed RSS of the whole process tree every 0.2 s. After each run the output is
validated (row count from the Parquet footers == source rows; codec), its size is taken, and it
is deleted; then `sync` flushes the page cache's dirty pages so the next run does not pay for
this one's writeback. Cases run one after another; inside a case the repeats are rounds over all
tools (round-robin, rotated each round) so that a burst of load from elsewhere hits every tool.
"""

from __future__ import annotations

import argparse
import datetime as dt
import glob
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
import seed as seeding  # noqa: E402
from reporting import BASE_TOOL, Case, aggregate, render, short_reason  # noqa: E402

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
TOOLS = BENCH / "tools"
PROJECT_BIN = Path(os.environ.get("RIVET_PROJECT_VENV", ROOT / ".venv")) / "bin"
BENCH_BIN = Path(os.environ.get("RIVET_BENCH_VENV", BENCH / ".venv")) / "bin"
SITE = next(iter(sorted((BENCH_BIN.parent / "lib").glob("python3*/site-packages"))), None)

DB = seeding.DB
URLS = {
    "rivet": {"pg": f"postgresql://postgres@127.0.0.1:5432/{DB}",
              "mysql": f"mysql://root@127.0.0.1:3306/{DB}"},
    "sling": {"pg": f"postgresql://postgres@127.0.0.1:5432/{DB}?sslmode=disable",
              "mysql": f"mysql://root:@127.0.0.1:3306/{DB}"},
}
# Rows per fetch for the peers that take one (rivet-dagster's own default profile decides its own).
PEER_BATCH = {"page_views": 50_000, "content_items": 10_000}
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


# ------------------------------------------------------------------------------------------
# Tools: each builds one command for one case in a fresh run folder; the harness measures it.


@dataclass
class Command:
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    stdout_devnull: bool = False
    after: Callable[[Path, dict[str, Any]], dict[str, Any]] | None = None  # unmeasured follow-up


@dataclass
class Tool:
    name: str
    kind: str              # rivet | peer | limit | floor
    describe: str
    build: Callable[[Case, Path], Command]
    engines: tuple[str, ...] = ("pg", "mysql")
    unavailable: dict[str, str] = field(default_factory=dict)  # engine -> reason


def _rivet_yaml(case: Case, run: Path, profile: str | None,
                executor: str | None = None) -> tuple[Path, str]:
    name = f"{case.engine}_{case.table}"
    tuning = f"\n  tuning: {{profile: {profile}}}" if profile else ""
    text = ((f"dagster: {{executor: {executor}}}\n" if executor else "") + f"source:\n  type: {'postgres' if case.engine == 'pg' else 'mysql'}\n"
            f"  url: {URLS['rivet'][case.engine]}{tuning}\n"
            f"exports:\n  - name: {name}\n    table: {case.table}\n    format: parquet\n"
            f"    compression: zstd\n    destination: {{type: local, path: {json.dumps(str(run / 'out'))}}}\n")
    path = run / "rivet.yaml"
    path.write_text(text)
    return path, name


def build_rivet_engine(profile: str | None) -> Callable[[Case, Path], Command]:
    def build(case: Case, run: Path) -> Command:
        cfg, name = _rivet_yaml(case, run, profile)
        return Command([str(PROJECT_BIN / "python"), str(TOOLS / "rivet_engine.py"), str(cfg), name])
    return build


def build_rivet_dagster(executor: str | None) -> Callable[[Case, Path], Command]:
    return lambda case, run: _build_rivet_dagster(case, run, executor)


def _dagster_home(run: Path) -> dict[str, str]:
    """A fresh instance whose storage exists before the measured process starts.

    A deployment's instance storage exists long before a materialization: it is created here,
    outside the measured process, as `dagster dev` or the daemon would have.
    """
    home = run / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {"DAGSTER_HOME": str(home)}
    subprocess.run([str(PROJECT_BIN / "python"), "-c",
                    "import dagster as dg; dg.DagsterInstance.get().dispose()"],
                   env={**os.environ, **env}, check=True, capture_output=True)
    return env


def _build_rivet_dagster(case: Case, run: Path, executor: str | None) -> Command:
    cfg, name = _rivet_yaml(case, run, None, executor)
    env = {**_dagster_home(run), "RIVET_CONFIG": str(cfg)}

    def after(run_dir: Path, _info: dict[str, Any]) -> dict[str, Any]:
        proc = subprocess.run([str(PROJECT_BIN / "python"), str(TOOLS / "dagster_metadata.py"), name],
                              env={**os.environ, **env}, capture_output=True, text=True, cwd=run_dir)
        return _last_json(proc.stdout) or {"error": proc.stderr.strip()[-500:]}

    return Command([str(PROJECT_BIN / "dagster"), "asset", "materialize", "-f",
                    str(ROOT / "definitions.py"), "--select", name], env=env, cwd=run, after=after)


def build_dagster_floor(executor: str | None) -> Callable[[Case, Path], Command]:
    def build(_case: Case, run: Path) -> Command:
        env = {**_dagster_home(run), "RIVET_BENCH_FLOOR_EXECUTOR": executor or ""}
        return Command([str(PROJECT_BIN / "dagster"), "asset", "materialize", "-f",
                        str(TOOLS / "dagster_floor.py"), "--select", "dagster_floor"],
                       env=env, cwd=run)
    return build


def build_rivet_cli(profile: str | None) -> Callable[[Case, Path], Command]:
    def build(case: Case, run: Path) -> Command:
        tuning = f"\n  tuning:\n    profile: {profile}" if profile else ""
        cfg = run / "rivet-cli.yaml"
        cfg.write_text(
            f"source:\n  type: {'postgres' if case.engine == 'pg' else 'mysql'}\n"
            f"  url: {URLS['rivet'][case.engine]}{tuning}\n"
            f"exports:\n  - name: {case.engine}_{case.table}\n    table: {case.table}\n"
            f"    format: parquet\n    compression: zstd\n"
            f"    destination:\n      type: local\n      path: {json.dumps(str(run / 'out'))}\n")
        return Command([str(BENCH_BIN / "rivet"), "run", "-c", str(cfg)], cwd=run)
    return build


def build_python_peer(script: str) -> Callable[[Case, Path], Command]:
    def build(case: Case, run: Path) -> Command:
        return Command([str(BENCH_BIN / "python"), str(TOOLS / script), case.engine, case.table,
                        str(run / "out"), str(PEER_BATCH[case.base])], cwd=run)
    return build


def build_sling(case: Case, run: Path) -> Command:
    home = run / "home"
    (home / ".duckdb").mkdir(parents=True)
    if SITE is not None:  # the duckdb-ext-* wheels: sling's duckdb CLI must not download them
        (home / ".duckdb" / "extensions").symlink_to(SITE / "duckdb_ext" / "extensions")
    binary = SITE / "sling_linux_amd64" / "bin" / "sling-linux-amd64" if SITE else Path("sling")
    stream = f"public.{case.table}" if case.engine == "pg" else f"{DB}.{case.table}"
    env = {"HOME": str(home), "SLING_HOME_DIR": str(home / ".sling"), "SLING_DISABLE_TELEMETRY": "true",
           "DUCKDB_PATH": str(BENCH_BIN / "duckdb"), "DUCKDB_USE_INSTALLED_EXTENSIONS": "true",
           "BENCH_SRC": URLS["sling"][case.engine]}
    return Command([str(binary), "run", "--src-conn", "BENCH_SRC", "--src-stream", stream,
                    "--tgt-object", f"file://{run / 'out' / case.table}.parquet",
                    "--tgt-options", '{"format": "parquet", "compression": "zstd"}'],
                   env=env, cwd=run)


def build_physical(case: Case, run: Path) -> Command:
    if case.engine == "pg":
        return Command(["psql", "-X", "-h", "127.0.0.1", "-p", "5432", "-U", "postgres", "-d", DB,
                        "-c", f"\\copy (SELECT * FROM {case.table}) TO '/dev/null'"], cwd=run)
    return Command(["mariadb", "--protocol=TCP", "-h", "127.0.0.1", "-P", "3306", "-u", "root",
                    "--password=", "--quick", "--batch", DB, "-e", f"SELECT * FROM {case.table}"],
                   cwd=run, stdout_devnull=True)


ALL_TOOLS = [
    Tool("physical-limit", "limit",
         "PG: psql \\copy (COPY ... TO STDOUT) into /dev/null; MariaDB: mariadb --quick > /dev/null",
         build_physical),
    Tool("rivet-dagster", "rivet", "rivet-dagster engine (run_export), default tuning profile",
         build_rivet_engine(None)),
    Tool("rivet-dagster[fast]", "rivet", "rivet-dagster engine, tuning profile: fast",
         build_rivet_engine("fast")),
    Tool("rivet-dagster+dagster", "rivet",
         "rivet-dagster via `dagster asset materialize` (default profile, Dagster's default "
         "multiprocess executor)", build_rivet_dagster(None)),
    Tool("rivet-dagster+dagster[in_process]", "rivet",
         "rivet-dagster via `dagster asset materialize`, `dagster: {executor: in_process}`",
         build_rivet_dagster("in_process")),
    Tool("dagster-floor", "floor",
         "Dagster alone: a no-op asset through the same `dagster asset materialize` and fresh "
         "instance (multiprocess executor); what any materialization costs beyond its asset",
         build_dagster_floor(None)),
    Tool("dagster-floor[in_process]", "floor", "the same with the in_process executor",
         build_dagster_floor("in_process")),
    Tool("rivet-cli", "peer", "upstream Rust rivet (pip rivet-cli), default profile",
         build_rivet_cli(None)),
    Tool("rivet-cli[fast]", "peer", "upstream Rust rivet, tuning profile: fast",
         build_rivet_cli("fast")),
    Tool("connectorx", "peer", "connectorx read_sql arrow_stream -> pyarrow ParquetWriter",
         build_python_peer("connectorx_export.py")),
    Tool("adbc", "peer", "adbc-driver-postgresql fetch_record_batch -> pyarrow ParquetWriter",
         build_python_peer("adbc_export.py"), engines=("pg",),
         unavailable={"mysql": "no ADBC driver for MySQL/MariaDB on PyPI"}),
    Tool("duckdb", "peer", "duckdb 1.4.4 postgres/mysql scanner, COPY TO parquet",
         build_python_peer("duckdb_export.py")),
    Tool("dlt", "peer", "dlt sql_table(backend=pyarrow) -> filesystem, parquet",
         build_python_peer("dlt_export.py")),
    Tool("sling", "peer", "sling CLI (duckdb-backed parquet writer)", build_sling),
]
TOOL_BY_NAME = {t.name: t for t in ALL_TOOLS}


# ------------------------------------------------------------------------------------------
# Measuring one run


def _last_json(text: str) -> dict[str, Any] | None:
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{") and line.endswith("}"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                continue
    return None


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                out.extend(int(x) for x in fh.read().split())
    except (OSError, ValueError):
        pass
    return out


def _tree_rss_kb(root: int) -> int:
    """Summed RSS of root's descendants (not root: that is /usr/bin/time itself)."""
    total, todo, page_kb = 0, _children(root), os.sysconf("SC_PAGE_SIZE") // 1024
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/statm") as fh:
                total += int(fh.read().split()[1]) * page_kb
        except (OSError, ValueError, IndexError):
            continue
        todo.extend(_children(pid))
    return total


def _parse_time_v(text: str) -> dict[str, float]:
    def num(label: str) -> float:
        m = re.search(rf"{re.escape(label)}:\s*([0-9.]+)", text)
        return float(m.group(1)) if m else float("nan")
    return {"user_s": num("User time (seconds)"), "sys_s": num("System time (seconds)"),
            "maxrss_mb": num("Maximum resident set size (kbytes)") / 1024,
            "exit": num("Exit status")}


def measure(cmd: Command, run: Path, timeout: float) -> dict[str, Any]:
    stats = run / "time.txt"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **cmd.env}
    out = subprocess.DEVNULL if cmd.stdout_devnull else open(run / "stdout.txt", "wb")
    err = open(run / "stderr.txt", "wb")
    peak_tree = 0
    started = time.perf_counter()
    proc = subprocess.Popen(["/usr/bin/time", "-v", "-o", str(stats), *cmd.argv], stdout=out,
                            stderr=err, cwd=cmd.cwd or run, env=env, start_new_session=True)
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak_tree
        while not stop.is_set():
            peak_tree = max(peak_tree, _tree_rss_kb(proc.pid))
            stop.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    timed_out = False
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    wall = time.perf_counter() - started
    stop.set()
    sampler.join()
    for fh in (out, err):
        if hasattr(fh, "close"):
            fh.close()
    info: dict[str, Any] = {"wall_s": wall, "returncode": proc.returncode, "timed_out": timed_out,
                            "tree_rss_mb": peak_tree / 1024}
    info.update(_parse_time_v(stats.read_text() if stats.exists() else ""))
    info["cpu_s"] = info["user_s"] + info["sys_s"]
    info["stdout"] = "" if cmd.stdout_devnull else (run / "stdout.txt").read_text(errors="replace")
    info["stderr"] = (run / "stderr.txt").read_text(errors="replace")
    return info


def _parquet_facts(files: list[str]) -> tuple[int, int, set[str]]:
    import pyarrow.parquet as pq  # bench/.venv has it; `--help` must work without it

    rows = size = 0
    codecs: set[str] = set()
    for f in files:
        meta = pq.ParquetFile(f).metadata
        rows += meta.num_rows
        size += os.path.getsize(f)
        if meta.num_row_groups:
            rg = meta.row_group(0)
            codecs.update(rg.column(i).compression for i in range(rg.num_columns))
    return rows, size, codecs


def _slug(name: str) -> str:
    """Folder names without YAML/glob metacharacters (tool names contain `[fast]`, `+`)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")


def _tail(text: str, n: int = 3) -> str:
    lines = [ANSI.sub("", l).strip() for l in text.strip().splitlines() if l.strip()]
    return " | ".join(lines[-n:])[-400:]


def run_once(tool: Tool, case: Case, work: Path, timeout: float, rep: int) -> dict[str, Any]:
    run = work / _slug(case.name) / _slug(tool.name) / f"rep{rep}"
    if run.exists():
        shutil.rmtree(run)
    (run / "out").mkdir(parents=True)
    cmd = tool.build(case, run)
    load_before = os.getloadavg()[0]
    info = measure(cmd, run, timeout)
    result: dict[str, Any] = {"tool": tool.name, "case": case.name, "rep": rep,
                              "load1_before": round(load_before, 2),
                              **{k: v for k, v in info.items() if k not in ("stdout", "stderr")}}
    reported = _last_json(info["stdout"]) or {}
    if cmd.after is not None and info["returncode"] == 0:
        extra = cmd.after(run, info)
        reported = {**reported, **extra}
    result["reported"] = {k: v for k, v in reported.items() if k != "files"}
    status, reason = "ok", ""
    if info["timed_out"]:
        status, reason = "FAILED", f"timed out after {timeout:.0f} s"
    elif info["returncode"] != 0:
        status, reason = "FAILED", short_reason(
            f"exit {info['returncode']}: {_tail(info['stderr'] or info['stdout'], 6)}")
    elif tool.kind == "floor":
        result.update(rows=None, out_mb=None)
        reason = "no output: Dagster's own cost per materialization"
    elif tool.kind == "limit":
        result["out_mb"] = None
        if case.engine == "pg":
            m = re.search(r"COPY (\d+)", info["stdout"])
            got = int(m.group(1)) if m else -1
            result["rows"] = got
            if got != case.rows:
                status, reason = "FAILED", f"COPY returned {got} rows, expected {case.rows}"
        else:
            result["rows"] = None
            reason = "row count not checked (output discarded)"
    else:
        files = reported.get("files") or sorted(glob.glob(glob.escape(str(run / "out")) + "/**/*.parquet",
                                                          recursive=True))
        try:
            rows, size, codecs = _parquet_facts(files)
        except Exception as exc:  # unreadable / truncated footer
            rows, size, codecs = -1, 0, set()
            status, reason = "FAILED", f"output unreadable: {exc}"
        result.update(rows=rows, out_mb=size / 1e6, files=len(files), codecs=sorted(codecs))
        if status == "ok" and rows != case.rows:
            status, reason = "FAILED", (f"wrote {rows:,} rows, source has {case.rows:,} "
                                        f"(the tool reported success)")
        elif status == "ok" and reported.get("rows") not in (None, rows):
            status, reason = "FAILED", f"reported {reported.get('rows')} rows, files hold {rows}"
        elif status == "ok" and codecs != {"ZSTD"}:
            reason = f"codecs {sorted(codecs)}"
    result["status"], result["reason"] = status, reason
    if status == "FAILED":
        result["stderr_tail"] = _tail(info["stderr"], 15)
    shutil.rmtree(run, ignore_errors=True)
    os.sync()
    return result


def _cmd_out(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def machine() -> dict[str, Any]:
    lscpu = _cmd_out(["lscpu"])
    model = re.search(r"Model name:\s*(.+)", lscpu)
    mem = re.search(r"MemTotal:\s*(\d+)", Path("/proc/meminfo").read_text())
    versions = {}
    for pkg in ("rivet-cli", "connectorx", "duckdb", "dlt", "adbc-driver-postgresql", "pyarrow",
                "sling-linux-amd64"):
        m = re.search(r"Version: (\S+)", _cmd_out([str(BENCH_BIN / "pip"), "show", pkg]))
        versions[pkg] = m.group(1) if m else None
    for pkg in ("pyarrow", "psycopg", "mysql-connector-python", "dagster"):
        m = re.search(r"Version: (\S+)", _cmd_out([str(PROJECT_BIN / "pip"), "show", pkg]))
        versions[f"project:{pkg}"] = m.group(1) if m else None
    return {
        "nproc": os.cpu_count(), "cpu": model.group(1).strip() if model else platform.processor(),
        "mem_gb": round(int(mem.group(1)) / 1024 / 1024, 1) if mem else None,
        "kernel": platform.release(), "python": platform.python_version(),
        "postgres": _cmd_out(["psql", "-X", "-A", "-t", "-h", "127.0.0.1", "-U", "postgres", "-d",
                              "postgres", "-c", "SHOW server_version"]),
        "mariadb": _cmd_out(["mariadb", "--protocol=TCP", "-h", "127.0.0.1", "-u", "root",
                             "--password=", "-N", "-e", "SELECT VERSION()"]),
        "versions": versions,
    }


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="bench/run.sh", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: page_views 200k, content_items 30k rows, 1 repeat")
    ap.add_argument("--repeat", type=int, default=None, help="runs per tool x case (default 3; --quick 1)")
    ap.add_argument("--only", default="", help="comma-separated tools: " + ", ".join(TOOL_BY_NAME))
    ap.add_argument("--cases", default="",
                    help="comma-separated filters: pg, mysql, page_views, content_items, pg/page_views ...")
    ap.add_argument("--scale", type=int, default=1,
                    help="also run page_views at N x rows (memory-flatness check; page_views only; "
                         "default tools: rivet-dagster, rivet-dagster[fast])")
    ap.add_argument("--skip-seed", action="store_true", help="do not check/seed the tables")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per run (default 1800)")
    ap.add_argument("--keep-work", action="store_true", help="keep bench/.work (outputs are always deleted)")
    return ap.parse_args(argv)


def select_cases(args: argparse.Namespace) -> list[Case]:
    suffix = "_quick" if args.quick else ""
    rows = {"page_views": 200_000, "content_items": 30_000} if args.quick else dict(seeding.DEFAULT_ROWS)
    cases = []
    for engine in ("pg", "mysql"):
        for base in ("page_views", "content_items"):
            if args.scale > 1 and base != "page_views":
                continue
            cases.append(Case(engine, base, base + suffix, rows[base]))
            if args.scale > 1:
                cases.append(Case(engine, base, f"{base}{suffix}_x{args.scale}",
                                  rows[base] * args.scale, args.scale))
    filters = [f.strip() for f in args.cases.split(",") if f.strip()]
    if filters:
        cases = [c for c in cases if any(f in (c.engine, c.base, f"{c.engine}/{c.base}", c.name)
                                         for f in filters)]
        if not cases:
            sys.exit(f"bench: --cases {args.cases!r} matches no case")
    return cases


def select_tools(args: argparse.Namespace) -> list[Tool]:
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in TOOL_BY_NAME]
        if unknown:
            sys.exit(f"bench: unknown tool(s) {unknown}; known: {', '.join(TOOL_BY_NAME)}")
        return [TOOL_BY_NAME[n] for n in names]
    if args.scale > 1:
        return [TOOL_BY_NAME[BASE_TOOL], TOOL_BY_NAME[f"{BASE_TOOL}[fast]"]]
    return list(ALL_TOOLS)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    repeat = args.repeat or (1 if args.quick else 3)
    cases, tools = select_cases(args), select_tools(args)
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    work = BENCH / ".work" / stamp
    results_dir = BENCH / "results"
    results_dir.mkdir(exist_ok=True)
    work.mkdir(parents=True)
    print(f"bench: {len(cases)} case(s) × {len(tools)} tool(s) × {repeat} repeat(s); "
          f"load average now {os.getloadavg()[0]:.2f}", flush=True)

    if not args.skip_seed:
        for engine in sorted({c.engine for c in cases}):
            for c in [c for c in cases if c.engine == engine]:
                seeding.seed([engine], {c.base: c.rows},
                             suffix=c.table[len(c.base):], log=lambda m: print(m, flush=True))

    info = machine()
    info["load_at_start"] = os.getloadavg()
    mysql_tables = [c.table for c in cases if c.engine == "mysql"]
    if mysql_tables:
        info["mariadb_buffer_pool"] = seeding.fit_mariadb_buffer_pool(
            mysql_tables, log=lambda m: print(m, flush=True))
    runs: list[dict[str, Any]] = []
    started = time.monotonic()
    for case in cases:
        print(f"\n== {case.name}: {case.title}", flush=True)
        # warm-up (not recorded): pull the table through the server's cache once
        warm = run_once(TOOL_BY_NAME["physical-limit"], case, work, args.timeout, -1)
        print(f"   warm-up scan {warm['wall_s']:.1f} s", flush=True)
        for tool in tools:
            if case.engine not in tool.engines:
                runs.append({"tool": tool.name, "case": case.name, "rep": 0, "status": "UNAVAILABLE",
                             "reason": tool.unavailable.get(case.engine, "not supported")})
        active = [t for t in tools if case.engine in t.engines]
        for rep in range(repeat):
            order = active[rep % len(active):] + active[:rep % len(active)] if active else []
            for tool in order:
                r = run_once(tool, case, work, args.timeout, rep)
                runs.append(r)
                rps = f"{case.rows / r['wall_s']:,.0f} rows/s" if r["status"] == "ok" else ""
                print(f"   [{rep + 1}/{repeat}] {tool.name:24s} {r['wall_s']:7.2f} s {rps:>18s} "
                      f"cpu {r['cpu_s']:6.2f} s rss {r['maxrss_mb']:5.0f} MB  {r['status']} "
                      f"{r['reason'][:150]}", flush=True)
    elapsed = time.monotonic() - started
    info["load_at_end"] = os.getloadavg()

    table = {c.name: [a for a in (aggregate(runs, c, t) for t in tools) if a] for c in cases}
    text = render(stamp, args.quick, repeat, elapsed, info, cases, table, args.scale)
    print("\n" + text)
    out = results_dir / f"{stamp}.json"
    out.write_text(json.dumps({"stamp": stamp, "args": vars(args), "repeat": repeat,
                               "elapsed_s": round(elapsed, 1), "machine": info, "cases": [c.__dict__ | {"name": c.name} for c in cases],
                               "tools": {t.name: t.describe for t in tools}, "runs": runs,
                               "aggregates": table, "report": text}, indent=1, default=str))
    (results_dir / f"{stamp}.md").write_text(text + "\n")
    print(f"\nbench: results saved to {out.relative_to(ROOT)} (and .md)")
    if not args.keep_work:
        shutil.rmtree(work, ignore_errors=True)
        try:
            (BENCH / ".work").rmdir()
        except OSError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
