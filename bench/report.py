"""Re-print the report of a saved run (tables + targets) from bench/results/<stamp>.json.

    bench/.venv/bin/python bench/report.py bench/results/<stamp>.json [more.json ...]
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import TOOL_BY_NAME  # noqa: E402
from reporting import Case, aggregate, render  # noqa: E402

for path in sys.argv[1:]:
    data = json.loads(Path(path).read_text())
    cases = [Case(c["engine"], c["base"], c["table"], c["rows"], c.get("scale", 1)) for c in data["cases"]]
    tools = [TOOL_BY_NAME[name] for name in data["tools"] if name in TOOL_BY_NAME]
    runs = data["runs"]
    table = {c.name: [a for a in (aggregate(runs, c, t) for t in tools) if a] for c in cases}
    elapsed = float(data.get("elapsed_s") or 0.0)
    print(render(data["stamp"], data["args"].get("quick", False), data["repeat"], elapsed,
                 data["machine"], cases, table, data["args"].get("scale", 1)))
    print()
