"""Generate docs/config.md from the pydantic config models.

The reference is built from `RivetConfig.model_json_schema()` (types, enums, bounds, field
descriptions) plus the models' defaults, so the page cannot drift from the code:
tests/unit/test_config_docs.py regenerates it and fails when docs/config.md is stale.

    python dev/gen_config_docs.py          # rewrite docs/config.md
    python dev/gen_config_docs.py --check  # exit 1 when docs/config.md is out of date
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from rivet_dagster.config import (
    AzureDestinationConfig, DagsterOptions, ExportConfig, GcsDestinationConfig,
    LocalDestinationConfig, MetaColumns, ParquetOptions, QualityConfig, RivetConfig,
    S3DestinationConfig, SourceConfig, StdoutDestinationConfig, TlsConfig, TuningConfig,
)
from rivet_dagster.config.column_types import ACCEPTED
from rivet_dagster.config.export import NotificationsConfig, SlackConfig
from rivet_dagster.config.tuning_profiles import PROFILES, resolve_tuning

DOCS_PATH = Path(__file__).resolve().parents[1] / "docs" / "config.md"

EXAMPLE_YAML = """\
source:
  type: postgres
  url_env: DATABASE_URL          # e.g. postgresql://reader@db.internal:5432/shop
  tls: {mode: verify-full}
  tuning: {profile: balanced}

exports:
  - name: orders
    table: public.orders
    mode: incremental
    cursor_column: updated_at
    format: parquet
    compression_profile: balanced
    max_file_size: 256MB
    destination:
      type: local
      path: ./exports/{export}/{date}

  - name: active_customers
    query: >
      SELECT id, email, country, created_at
      FROM public.customers
      WHERE deleted_at IS NULL
    format: csv
    quality: {row_count_min: 1, unique_columns: [id]}
    destination:
      type: local
      path: ./exports/{export}
"""

# (heading, anchor, model, where the block lives)
SECTIONS: list[tuple[str, str, type[BaseModel], str]] = [
    ("Root", "root", RivetConfig, "the top level of the file"),
    ("source", "source", SourceConfig, "`source:`"),
    ("source.tls", "tls", TlsConfig, "`source.tls:`"),
    ("tuning", "tuning", TuningConfig, "`source.tuning:` and `exports[].tuning:`"),
    ("exports[]", "exports", ExportConfig, "each item of `exports:`"),
    ("parquet", "parquet", ParquetOptions, "`exports[].parquet:`"),
    ("meta_columns", "meta-columns", MetaColumns, "`exports[].meta_columns:`"),
    ("quality", "quality", QualityConfig, "`exports[].quality:`"),
    ("dagster", "dagster", DagsterOptions, "the root `dagster:` (defaults) and `exports[].dagster:`"),
    ("destination: local", "destination-local", LocalDestinationConfig, "`exports[].destination:`"),
    ("destination: s3", "destination-s3", S3DestinationConfig, "`exports[].destination:`"),
    ("destination: gcs", "destination-gcs", GcsDestinationConfig, "`exports[].destination:`"),
    ("destination: azure", "destination-azure", AzureDestinationConfig, "`exports[].destination:`"),
    ("destination: stdout", "destination-stdout", StdoutDestinationConfig, "`exports[].destination:`"),
    ("notifications", "notifications", NotificationsConfig, "`notifications:`"),
    ("notifications.slack", "slack", SlackConfig, "`notifications.slack:`"),
]

# Cross-field rules: the JSON schema cannot say these, the validators enforce them.
RULES: dict[type[BaseModel], list[str]] = {
    RivetConfig: [
        "`exports` needs at least one item; export names must be unique (all state is keyed by name).",
        "Unknown keys are errors everywhere, with a \"did you mean\" hint.",
    ],
    SourceConfig: [
        "Exactly one connection style: `url`, `url_env`, `url_file`, or the structured fields "
        "(`host` + `user` + `database`, optional `port`, `password` or `password_env`, not both).",
        "Tuning keys (`batch_size`, `throttle_ms`, `profile`, ...) directly under `source:` are an "
        "error: nest them under `tuning:`.",
    ],
    TuningConfig: [
        "Each field resolves as: export `tuning` ?? `source.tuning` ?? the profile's preset; the "
        "profile itself is export ?? source ?? `environment` (`local` -> fast, otherwise balanced).",
        "`batch_size` and `batch_size_memory_mb` exclude each other within one block; the "
        "export's choice replaces the source's.",
    ],
    ExportConfig: [
        "Exactly one of `query`, `query_file`, `table`. `query_file` is relative to the config's "
        "folder; absolute paths, `..` and symlinks leading outside it are rejected.",
        "`incremental` needs `cursor_column`; `time_window` needs `time_column` and `days_window`; "
        "`chunked` needs `chunk_column` unless `table:` is set. Mode-specific keys on another "
        "mode are errors.",
        "`chunk_count` excludes `chunk_dense` and `chunk_by_days`; `chunk_size_memory_mb` and "
        "`chunk_by_key` need `table:`.",
        "`compression_level`: zstd 1..22, gzip 0..10, an error with any other codec.",
        "A `stdout` destination excludes `mode: chunked` and `max_file_size`.",
        f"`columns` types: {ACCEPTED}.",
        "Tuning keys directly under an export are an error: nest them under `tuning:`.",
    ],
    S3DestinationConfig: ["`access_key_env` and `secret_key_env` go together; "
                          "`endpoint` needs `region`. No keys -> the default AWS chain."],
    GcsDestinationConfig: ["`allow_anonymous` excludes `credentials_file`."],
    AzureDestinationConfig: ["`account_key_env` or `sas_token_env`, not both; "
                             "`allow_anonymous` excludes both."],
    SlackConfig: ["Exactly one of `webhook_url`, `webhook_url_env`."],
}


def render() -> str:
    """The whole Markdown page (deterministic: same models -> same bytes)."""
    schema = RivetConfig.model_json_schema()
    anchors = {model.__name__: anchor for _, anchor, model, _ in SECTIONS}
    out = [_intro()]
    for heading, anchor, model, where in SECTIONS:
        node = schema if model is RivetConfig else schema["$defs"][model.__name__]
        out.append(_section(heading, anchor, model, where, node, anchors))
    return "\n".join(out).rstrip() + "\n"


def _intro() -> str:
    toc = " · ".join(f"[{heading}](#{anchor})" for heading, anchor, _, _ in SECTIONS)
    return f"""# Configuration reference

<!-- Generated by dev/gen_config_docs.py from the pydantic models. Do not edit by hand. -->

One YAML file describes one source database and the exports read from it, in the format of
[Rivet](https://github.com/panchenkoai/rivet). Check a file without touching the database with
`rivet-dagster validate CONFIG` (see [cli.md](cli.md)); print the JSON Schema with
`rivet-dagster schema`.

`${{NAME}}` anywhere in the file is replaced before parsing: from params first
(`-p NAME=value`), then from the environment. An unset name is an error naming the export and
field; `${{}}` becomes an empty string; whole-line `#` comments are left as they are.

## Example

A PostgreSQL source and two exports to a local folder:

```yaml
{EXAMPLE_YAML.rstrip()}
```

Sections: {toc}
"""


def _section(heading: str, anchor: str, model: type[BaseModel], where: str,
             node: dict[str, Any], anchors: dict[str, str]) -> str:
    title = heading if model is RivetConfig else f"`{heading}`"
    lines = [f'<a id="{anchor}"></a>', f"## {title}", "", f"Where: {where}."]
    if node.get("description"):
        lines += ["", " ".join(str(node["description"]).split())]
    lines += ["", "| Key | Type | Default | Description |", "|---|---|---|---|"]
    required = set(node.get("required", []))
    for key, prop in node.get("properties", {}).items():
        default = "**required**" if key in required else _default(model, key)
        cells = [f"`{key}`", _type(prop, anchors), default, str(prop.get("description", ""))]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    rules = RULES.get(model, [])
    if rules:
        lines += ["", "Rules:", ""] + [f"- {rule}" for rule in rules]
    if model is TuningConfig:
        lines += ["", _profiles_table()]
    return "\n".join(lines) + "\n"


def _profiles_table() -> str:
    names = list(PROFILES)
    fields = list(PROFILES[names[0]])
    rows = ["| Field | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    rows += [f"| `{field}` | " + " | ".join(f"{PROFILES[n][field]:,}" for n in names) + " |"
             for field in fields]
    return "Profile presets:\n\n" + "\n".join(rows)


def _type(prop: dict[str, Any], anchors: dict[str, str]) -> str:
    if "$ref" in prop:
        name = prop["$ref"].rsplit("/", 1)[-1]
        return f"object ([{anchors[name].replace('-', ' ')}](#{anchors[name]}))"
    if "discriminator" in prop:
        tags = sorted(prop["discriminator"]["mapping"])
        return "object, by `type`: " + ", ".join(f"[{t}](#destination-{t})" for t in tags)
    if "anyOf" in prop:
        options = [p for p in prop["anyOf"] if p.get("type") != "null"]
        return " or ".join(_type(p, anchors) for p in options)
    if "const" in prop:
        return f"`{prop['const']}`"
    if "enum" in prop:
        return "one of " + ", ".join(f"`{v}`" for v in prop["enum"])
    kind = prop.get("type", "any")
    if kind == "array":
        items = prop.get("items", {})
        if "enum" in items:
            return "list of " + ", ".join(f"`{v}`" for v in items["enum"])
        return "list of " + _type(items, anchors)
    if kind == "object" and isinstance(prop.get("additionalProperties"), dict):
        return "map of string -> " + _type(prop["additionalProperties"], anchors)
    low, high = prop.get("minimum"), prop.get("maximum")
    if low is not None and high is not None:
        return f"{kind} {low}..{high}"
    if low is not None:
        return f"{kind} >= {low}"
    return str(kind)


def _default(model: type[BaseModel], key: str) -> str:
    value = model.model_fields[key].get_default(call_default_factory=True)
    if model is TuningConfig and value is None:
        return _tuning_default(key)
    if value is None:
        return "-"
    if isinstance(value, BaseModel):
        return "(all defaults)"
    return f"`{json.dumps(value)}`"


def _tuning_default(key: str) -> str:
    """Unset tuning fields come from the profile preset (or a fixed engine default)."""
    if key == "profile":
        return "`balanced` (`fast` when environment is local)"
    if key in PROFILES["balanced"]:
        return "profile preset"
    resolved = resolve_tuning(SourceConfig(type="postgres", url="postgresql://h/db"), None)
    value = getattr(resolved, key)
    return "-" if value is None else f"`{json.dumps(value)}`"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def main(argv: list[str] | None = None) -> int:
    """Write docs/config.md, or with --check report whether it is up to date."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the file is stale")
    parser.add_argument("--output", type=Path, default=DOCS_PATH)
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date: run python dev/gen_config_docs.py", file=sys.stderr)
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
