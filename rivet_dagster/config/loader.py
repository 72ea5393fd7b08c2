"""Read a Rivet YAML file into a validated `RivetConfig`, with errors a person can act on.

Every problem is collected (not just the first) and rendered as one line naming the export
and the field path, with a "did you mean" hint for misspelt keys and values.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from rivet_dagster.config.root import RivetConfig
from rivet_dagster.config.source import TUNING_KEYS, RuleError
from rivet_dagster.errors import RivetConfigError, RivetError

_log = logging.getLogger(__name__)
_VAR = re.compile(r"\$\{([^}]*)\}")
_DESTINATION_TAGS = ("local", "s3", "gcs", "azure", "stdout")
_UNSET = "RIVET_UNSET_"


class _RivetYamlLoader(yaml.SafeLoader):
    """Safe loader with YAML 1.2 booleans, as Rivet's serde_yaml reads the file.

    Under PyYAML's YAML 1.1 rules `on:` (Slack's `on: [failure]`), `yes` and `no` turn into
    booleans; here only true/false do. A key given twice is an error, not a silent overwrite.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            if isinstance(key, str) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key '{key}'", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_RivetYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_RivetYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def interpolate(text: str, params: Mapping[str, str] | None = None,
                environ: Mapping[str, str] | None = None) -> tuple[str, list[RivetError]]:
    """Replace `${NAME}` from params first, then the environment (F06).

    An unset name is an error (never a silent empty string) naming the export and field whose
    line holds it; it is left in the text so the other problems of the file can still be found.
    Whole-line `# comments` are left alone, so commenting a line out never breaks a config.
    """
    params = params or {}
    environ = os.environ if environ is None else environ
    problems: list[RivetError] = []
    used: set[str] = set()

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        line_start = text.rfind("\n", 0, match.start()) + 1
        if text[line_start:match.start()].lstrip().startswith("#"):
            return match.group(0)
        if name == "":
            return ""
        used.add(name)
        if name in params:
            return str(params[name])
        if name in environ:
            return environ[name]
        line = text.count("\n", 0, match.start()) + 1
        export, field = locate(text, match.start())
        problems.append(RivetConfigError(
            f"line {line}: ${{{name}}} is not set; pass it as a param (-p {name}=...) "
            "or set the environment variable", export=export, field=field))
        return match.group(0)

    result = _VAR.sub(substitute, text)
    for name in sorted(set(params) - used):
        _log.warning("param '%s' is never referenced as ${%s} in the config", name, name)
    return result, problems


def load_config(path: str | os.PathLike[str], params: Mapping[str, str] | None = None,
                environ: Mapping[str, str] | None = None) -> RivetConfig:
    """Load, interpolate and validate; raise RivetConfigError listing every problem."""
    config_path = Path(path)
    label = str(config_path)
    try:
        text = config_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RivetConfigError(f"{label}: cannot read the config file ({exc.strerror})") from None
    return parse_config(text, base_dir=config_path.resolve().parent, label=label,
                        params=params, environ=environ)


def parse_config(text: str, *, base_dir: Path, label: str = "<config>",
                 params: Mapping[str, str] | None = None,
                 environ: Mapping[str, str] | None = None) -> RivetConfig:
    """Validate YAML text; `base_dir` anchors `query_file` paths."""
    text, problems = interpolate(text, params, environ)
    if problems:  # a neutral marker keeps `{path: ${OUT}}` parseable; its errors are filtered out
        text = _VAR.sub(lambda m: f"{_UNSET}{m.group(1).strip()}" if m.group(1).strip() else "", text)
    try:
        data = yaml.load(text, Loader=_RivetYamlLoader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        message = f"invalid YAML: {where}{getattr(exc, 'problem', None) or exc}"
        if problems:  # an unresolved ${NAME} may be what broke the YAML: report both
            raise RivetConfigError.from_problems([*problems, RivetConfigError(message)], label) from None
        raise RivetConfigError(f"{label}: {message}") from None
    if data is None:
        raise RivetConfigError(f"{label}: the file is empty; it needs `source:` and `exports:`")
    if not isinstance(data, dict):
        raise RivetConfigError(f"{label}: the file must be a mapping with `source:` and `exports:`")
    query_texts, file_problems = _read_query_files(data, base_dir)
    try:
        config = RivetConfig.model_validate(data)
    except ValidationError as exc:
        problems.extend(_describe(err, data) for err in exc.errors() if not _from_unset(err))
        problems.extend(file_problems)
        raise RivetConfigError.from_problems(problems, label) from None
    problems.extend(file_problems)
    if problems:
        raise RivetConfigError.from_problems(problems, label)
    for index, query_text in query_texts.items():
        config.exports[index].set_query_text(query_text)
    return config


def _from_unset(err: Mapping[str, Any]) -> bool:
    """True for a validation error caused only by a `${NAME}` already reported as unset."""
    value = err.get("input")
    return isinstance(value, str) and _UNSET in value


def _read_query_files(data: dict[str, Any], base_dir: Path) -> tuple[dict[int, str], list[RivetError]]:
    """F31: query_file is relative to the config's folder and may not leave it.

    Works on the raw data so these problems are reported together with validation errors.
    """
    texts: dict[int, str] = {}
    problems: list[RivetError] = []
    root = base_dir.resolve()
    items = data.get("exports")
    for index, item in enumerate(items if isinstance(items, list) else []):
        if not isinstance(item, dict) or not isinstance(item.get("query_file"), str):
            continue
        export = str(item.get("name") or f"exports[{index}]")
        rel = Path(item["query_file"])
        if rel.is_absolute() or ".." in rel.parts:
            problems.append(RivetConfigError(
                f"'{rel}' must be a path inside the config's folder (no absolute path, no '..')",
                export=export, field="query_file"))
            continue
        target = (root / rel).resolve()
        if root not in target.parents:
            problems.append(RivetConfigError(
                f"'{rel}' resolves (through a symlink) outside the config's folder",
                export=export, field="query_file"))
            continue
        try:
            texts[index] = target.read_text(encoding="utf-8")
        except OSError as exc:
            problems.append(RivetConfigError(f"cannot read '{rel}' ({exc.strerror})",
                                             export=export, field="query_file"))
    return texts, problems


def _describe(err: Mapping[str, Any], data: dict[str, Any]) -> RivetError:
    """One pydantic error -> "export 'x', field 'a.b': message"."""
    loc = tuple(err["loc"])
    export_name = None
    rest = loc
    if len(loc) >= 2 and loc[0] == "exports" and isinstance(loc[1], int):
        items = data.get("exports") or []
        raw = items[loc[1]] if loc[1] < len(items) else None
        name = raw.get("name") if isinstance(raw, dict) else None
        export_name = str(name) if name else f"exports[{loc[1]}]"
        rest = loc[2:]
    field_parts = _field_path(rest)
    rule = (err.get("ctx") or {}).get("error")
    if isinstance(rule, RuleError):
        if rule.field:
            field_parts.append(rule.field)
        export_name = rule.export or export_name
    field = ".".join(field_parts) or None
    if export_name is None and field is None:
        field = "(root)"
    return RivetConfigError(_message(err, loc), export=export_name, field=field)


def _field_path(rest: tuple[Any, ...]) -> list[str]:
    """Render a pydantic loc as `a.b[0].c`, dropping destination discriminator tags."""
    parts: list[str] = []
    previous: Any = None
    for part in rest:
        if isinstance(part, int):
            if parts:
                parts[-1] = f"{parts[-1]}[{part}]"
        elif not (previous == "destination" and part in _DESTINATION_TAGS):
            parts.append(str(part))
        previous = part
    return parts


def _message(err: Mapping[str, Any], loc: tuple[Any, ...]) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        key = str(loc[-1])
        known = _known_keys(loc[:-1])
        if key in TUNING_KEYS and "tuning" in known:
            block = "source" if loc[:-1] == ("source",) else "export"
            return (f"tuning key '{key}' must be nested under `tuning:` of the {block} "
                    f"(e.g. `tuning: {{{key}: ...}}`)")
        hint = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        suffix = f"; did you mean '{hint[0]}'?" if hint else (
            f"; known keys: {', '.join(sorted(known))}" if known else "")
        return f"unknown key '{key}'{suffix}"
    if kind == "missing":
        return "required field is missing"
    if kind == "literal_error":
        return _choice_message(err.get("input"), re.findall(r"'([^']*)'", str(ctx.get("expected"))))
    if kind == "union_tag_invalid":
        return "unknown destination type: " + _choice_message(ctx.get("tag"), list(_DESTINATION_TAGS))
    if kind == "union_tag_not_found":
        return f"destination needs `type:` (one of {', '.join(_DESTINATION_TAGS)})"
    if kind == "too_short" and loc == ("exports",):
        return "at least one export is required (the list is empty)"
    msg = str(err["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
    return msg


def _choice_message(value: Any, choices: list[str]) -> str:
    """"'ful' is not one of full, incremental, ...; did you mean 'full'?"."""
    hint = difflib.get_close_matches(str(value), choices, n=1, cutoff=0.5)
    text = f"'{value}' is not one of {', '.join(choices)}"
    return text + (f"; did you mean '{hint[0]}'?" if hint else "")


def _known_keys(loc: tuple[Any, ...]) -> list[str]:
    model: Any = RivetConfig
    for part in loc:
        candidates = _as_models(model)
        if isinstance(part, int):
            continue
        tagged = [m for m in candidates if _tag_of(m) == part]
        if tagged:
            model = tagged[0]
            continue
        field = next((m.model_fields[part] for m in candidates if part in m.model_fields), None)
        if field is None:
            return []
        model = field.annotation
    models = _as_models(model)
    return sorted({k for m in models for k in m.model_fields}) if models else []


def _as_models(annotation: Any) -> list[type[BaseModel]]:
    """Unwrap Optional / list / dict / Annotated / Union down to the pydantic models inside."""
    if annotation is None:
        return []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _as_models(args[0])
    if origin in (typing.Union, types.UnionType, list, dict, tuple):
        found: list[type[BaseModel]] = []
        for arg in args:
            found.extend(_as_models(arg))
        return found
    return []


def _tag_of(model: type[BaseModel]) -> str | None:
    field = model.model_fields.get("type")
    if field is None:
        return None
    args = typing.get_args(field.annotation)
    return args[0] if len(args) == 1 and isinstance(args[0], str) else None


# --- where is an offset of the raw YAML text? (block-style YAML, as people write configs) ---

_KEY_LINE = re.compile(r"^(?P<indent> *)(?P<dashes>(?:- +)*)(?P<key>[A-Za-z_][\w.$-]*)\s*:(?:\s|$)")
_FLOW_NAME = re.compile(r"^\s*-\s*\{(?:.*[,{])?\s*name\s*:\s*['\"]?([^,}'\"\s]+)")
_FLOW_KEY = re.compile(r"([A-Za-z_][\w-]*)\s*:\s*[^,{}:]*$")


def locate(text: str, offset: int) -> tuple[str | None, str | None]:
    """(export name, field path) of the YAML line holding `offset`, e.g. ('orders', 'destination.path').

    Used before parsing (interpolation runs on raw text), so it reads indentation, not a tree.
    Outside `exports:` the export is None and the field is the full path (e.g. 'source.password').
    """
    lines = text.split("\n")
    idx = text.count("\n", 0, offset)
    column = offset - (text.rfind("\n", 0, offset) + 1)
    segments: list[tuple[str, int, int, str]] = []  # (kind 'key'|'item', line, column, key)
    line = lines[idx]
    match = _KEY_LINE.match(line)
    lead = len(line) - len(line.lstrip(" "))
    flow = _FLOW_KEY.search(line[:column]) if "{" in line[:column] else None
    item_open = False  # the last segment is a list item (its parent key may share its column)
    col = lead + len(match["dashes"]) if match else lead
    if match:
        segments.append(("key", idx, col, match["key"]))
    if flow and not (match and flow.group(1) == match["key"]):
        segments.append(("key", idx, col + 1, flow.group(1)))
    if line.strip().startswith("-"):
        col, item_open = lead, True
        segments.insert(0, ("item", idx, col, ""))
    for j in range(idx - 1, -1, -1):
        stripped = lines[j].strip()
        lead = len(lines[j]) - len(lines[j].lstrip(" "))
        if not stripped or stripped.startswith("#") or lead > col:
            continue
        match = _KEY_LINE.match(lines[j])
        dashes = match["dashes"] if match else ("-" if stripped.startswith("-") else "")
        if lead == col and (dashes or not item_open):
            continue  # a sibling key or a sibling list item
        if match is None:
            if dashes:
                segments.insert(0, ("item", j, lead, ""))
                col, item_open = lead, True
            continue
        keycol = lead + len(dashes)
        if keycol < col or (item_open and keycol == col):
            segments.insert(0, ("key", j, keycol, match["key"]))
            col, item_open = keycol, False
        if dashes and lead < col:
            segments.insert(0, ("item", j, lead, ""))
            col, item_open = lead, True
        if col == 0 and not item_open:
            break
    return _render_location(lines, segments)


def _render_location(lines: list[str], segments: list[tuple[str, int, int, str]]
                     ) -> tuple[str | None, str | None]:
    export: str | None = None
    parts: list[str] = []
    for pos, (kind, line_no, col, key) in enumerate(segments):
        if kind == "key":
            parts.append(key)
            continue
        parent = segments[pos - 1][1] if pos else -1
        index = sum(1 for t in range(parent + 1, line_no + 1)
                    if lines[t].startswith(" " * col + "-"))
        index = max(index - 1, 0)
        if parts == ["exports"] and export is None:
            export = _item_name(lines, line_no, col) or f"exports[{index}]"
            parts = []
        elif parts:
            parts[-1] = f"{parts[-1]}[{index}]"
    return export, (".".join(parts) or None)


def _item_name(lines: list[str], start: int, dash_col: int) -> str | None:
    """The `name:` of the list item starting at line `start` (None when absent or templated)."""
    inline = _FLOW_NAME.search(lines[start])
    if inline:
        return inline.group(1) if "${" not in inline.group(1) else None
    key_col = None
    for t in range(start, len(lines)):
        stripped = lines[t].strip()
        lead = len(lines[t]) - len(lines[t].lstrip(" "))
        if t > start and (not stripped or stripped.startswith("#")):
            continue
        if t > start and lead <= dash_col:
            return None
        match = _KEY_LINE.match(lines[t])
        if match is None:
            continue
        col = lead + len(match["dashes"])
        key_col = col if key_col is None else key_col
        if col == key_col and match["key"] == "name":
            value = lines[t][match.end():].split(" #", 1)[0].strip().strip("'\"")
            return value if value and "${" not in value else None
    return None
