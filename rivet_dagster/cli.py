"""`rivet-dagster` console script: check a config without Dagster, print its JSON Schema.

Kept free of Dagster imports so `validate` answers in a fraction of a second (CI, pre-commit).
Exit codes: 0 OK, 1 invalid config or any other rivet-dagster error, 2 usage error or a
command that is not built yet. Errors are one line each on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

from rivet_dagster.errors import RivetConfigError, RivetError
from rivet_dagster.version import __version__

NOT_BUILT = ("check", "doctor", "init")
_NOT_BUILT_HELP = {
    "check": "preflight each export against the source (not implemented yet)",
    "doctor": "test the source connection and destination access (not implemented yet)",
    "init": "scaffold a config from a database (not implemented yet)",
}


def build_parser() -> argparse.ArgumentParser:
    """The argparse tree; public so docs and tests can read the same help texts."""
    parser = argparse.ArgumentParser(
        prog="rivet-dagster",
        description="Rivet-style database exports as Dagster assets: configuration tools.")
    parser.add_argument("--version", action="version", version=f"rivet-dagster {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    validate = commands.add_parser(
        "validate", help="load and check a config file (no database access)",
        description="Parse, interpolate and validate a config; list every problem found.")
    validate.add_argument("config", nargs="?", metavar="CONFIG", help="path to the YAML config")
    validate.add_argument("-c", "--config", dest="config_opt", metavar="CONFIG",
                          help="same as the positional CONFIG (Rivet's spelling)")
    validate.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                          help="value for ${KEY} in the config (beats the environment); repeatable")

    schema = commands.add_parser("schema", help="print the JSON Schema of the config",
                                 description="Print the JSON Schema of the config grammar.")
    schema.add_argument("what", nargs="?", choices=["config"], default="config",
                        help="what to describe (only 'config')")

    plan = commands.add_parser(
        "plan", help="add a chunked export's partitions to the Dagster instance",
        description="Plan the chunk ranges of a chunked export and add the new ones as dynamic "
                    "partitions to the instance in DAGSTER_HOME (idempotent; keys are never "
                    "renamed). Prints every key, new ones marked '+'.")
    plan.add_argument("config", metavar="CONFIG", help="path to the YAML config")
    plan.add_argument("-e", "--export", required=True, metavar="NAME", help="the chunked export")
    plan.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                      help="value for ${KEY} in the config; repeatable")
    plan.add_argument("--dry-run", action="store_true", help="print the plan, add nothing")
    plan.add_argument("--json", action="store_true", help="print the plan as JSON")

    for name in NOT_BUILT:
        commands.add_parser(name, help=_NOT_BUILT_HELP[name], add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    if not logging.getLogger().handlers:  # e.g. "WARNING: param 'X' is never referenced"
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    parser = build_parser()
    args, unknown = parser.parse_known_args(list(sys.argv[1:] if argv is None else argv))
    if args.command in NOT_BUILT:  # accept any arguments: their grammar is not settled yet
        print(f"rivet-dagster {args.command}: not implemented yet (see docs/cli.md)", file=sys.stderr)
        return 2
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        if args.command == "validate":
            return _validate(parser, args)
        if args.command == "plan":
            return _plan(parser, args)
        return _schema()
    except RivetError as exc:
        print(f"error: {_one_line(str(exc))}", file=sys.stderr)
        return 1


def _validate(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from rivet_dagster.config import load_config

    path = args.config or args.config_opt
    if not path:
        parser.error("validate needs a CONFIG path")
    if args.config and args.config_opt and args.config != args.config_opt:
        parser.error("give CONFIG once (positional or -c), not two different paths")
    try:
        config = load_config(path, _params(parser, args.param))
    except RivetConfigError as exc:
        _print_problems(exc, str(path))
        return 1
    described = ", ".join(f"{e.name} ({e.mode}, {e.format} -> {e.destination.type})"
                          for e in config.exports)
    print(f"OK: {len(config.exports)} export(s): {described}")
    return 0


def _plan(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Dagster is imported here only: `validate` and `schema` stay fast."""
    import os

    from rivet_dagster.config import load_config

    try:
        config = load_config(args.config, _params(parser, args.param))
    except RivetConfigError as exc:
        _print_problems(exc, str(args.config))
        return 1
    try:
        export = config.export(args.export)
    except KeyError:
        names = ", ".join(e.name for e in config.exports)
        raise RivetConfigError(f"no export named '{args.export}' (exports: {names})") from None
    if export.mode != "chunked":
        raise RivetConfigError(f"mode is {export.mode}; plan is for mode chunked",
                               export=export.name, field="mode")
    if not os.environ.get("DAGSTER_HOME"):
        raise RivetError("DAGSTER_HOME is not set: plan adds partitions to that instance")
    import dagster as dg

    from rivet_dagster.dagster.assets import asset_key
    from rivet_dagster.dagster.chunk_jobs import apply_plan, apply_pool_limit, plan_export
    from rivet_dagster.engine.chunk_ranges import LayoutChanged

    key = asset_key(config, export)
    with dg.DagsterInstance.get() as instance:
        try:
            result = plan_export(config, export, key, instance)
        except LayoutChanged as exc:
            raise RivetConfigError(str(exc), export=export.name, field="chunk_size") from None
        pool = None
        if not args.dry_run:
            apply_plan(result, key, instance)
            pool = apply_pool_limit(config, export, instance)
    new = set(result.new_keys)
    if args.json:
        print(json.dumps({"export": export.name, "keys": result.keys,
                          "new_keys": result.new_keys, "diagnostics": result.diagnostics},
                         indent=2, default=str))
        return 0
    for k in result.keys:
        print(f"{'+' if k in new else ' '} {k}")
    d = result.diagnostics
    verb = "would add" if args.dry_run else "added"
    print(f"{export.name}: {len(result.keys)} partition(s), {verb} {len(new)}; rows {d.get('rows')}, "
          f"null rows {d.get('null_rows')}, column {d.get('chunk_column')}"
          + (f", density {d['density']}" if "density" in d else "")
          + (" (sparse)" if d.get("sparse") else ""), file=sys.stderr)
    if pool is not None:
        print(f"pool {pool[0]}: {pool[1]} concurrent run step(s) (the export's `parallel`, "
              "unless set before)", file=sys.stderr)
    return 0


def _schema() -> int:
    from rivet_dagster.config import RivetConfig

    schema = RivetConfig.model_json_schema()
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
    print(json.dumps(schema, indent=2))
    return 0


def _params(parser: argparse.ArgumentParser, pairs: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            parser.error(f"-p expects KEY=VALUE, got '{pair}'")
        params[key.strip()] = value
    return params


def _print_problems(exc: RivetConfigError, label: str) -> None:
    """One line per problem, prefixed by the file, so editors and CI logs can point at it."""
    if not exc.problems:
        print(_one_line(str(exc)), file=sys.stderr)
        return
    for problem in exc.problems:
        print(f"{label}: {_one_line(str(problem))}", file=sys.stderr)


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
