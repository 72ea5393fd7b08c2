"""`rivet-dagster` CLI: exit codes, one line per problem, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import rivet_dagster.config
from rivet_dagster.cli import main
from rivet_dagster.errors import RivetSourceError

GOOD = """\
source:
  type: postgres
  url_env: DATABASE_URL
exports:
  - name: orders
    table: public.orders
    mode: incremental
    cursor_column: updated_at
    format: parquet
    destination: {type: local, path: "${OUT}/orders"}
  - name: customers
    query: SELECT id FROM customers
    format: csv
    destination: {type: s3, bucket: lake, region: eu-west-1}
"""
BAD = """\
source:
  type: postgress
  url: postgresql://h/db
exports:
  - name: orders
    tabel: public.orders
    format: parquet
    destination: {type: local, path: out}
  - name: bad-name
    query: SELECT 1
    format: csv
    destination: {type: stdout}
"""
OK_LINE = ("OK: 2 export(s): orders (incremental, parquet -> local), "
           "customers (full, csv -> s3)\n")


@pytest.fixture
def good(tmp_path: Path) -> Path:
    path = tmp_path / "good.yaml"
    path.write_text(GOOD)
    return path


@pytest.fixture
def bad(tmp_path: Path) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD)
    return path


def test_validate_ok(good, capsys, monkeypatch):
    monkeypatch.setenv("OUT", "/data")
    assert main(["validate", str(good)]) == 0
    assert capsys.readouterr().out == OK_LINE


def test_validate_param_and_dash_c(good, capsys, monkeypatch):
    monkeypatch.delenv("OUT", raising=False)
    assert main(["validate", "-c", str(good), "-p", "OUT=/x", "--param", "UNUSED=1"]) == 0
    assert capsys.readouterr().out == OK_LINE


def test_validate_unset_variable(good, capsys, monkeypatch):
    monkeypatch.delenv("OUT", raising=False)
    assert main(["validate", str(good)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "export 'orders', field 'destination.path'" in err and "${OUT} is not set" in err


def test_validate_bad_file_lists_every_problem(bad, capsys):
    assert main(["validate", str(bad)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 3, err
    assert all(line.startswith(f"{bad}: ") for line in lines)
    expected = ["field 'source.type'", "export 'orders', field 'tabel'",
                "export 'bad-name', field 'name'"]
    for part in expected:
        assert any(part in line for line in lines), (part, err)
    assert "did you mean 'table'" in err and "Traceback" not in err


@pytest.mark.parametrize("content, expected", [
    (None, "cannot read the config file"),
    ("source: [\n", "invalid YAML: line 2"),
    ("[]\n", "must be a mapping"),
])
def test_validate_whole_file_errors(tmp_path, capsys, content, expected):
    path = tmp_path / "c.yaml"
    if content is not None:
        path.write_text(content)
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1 and "Traceback" not in err


def test_other_rivet_errors_are_one_line(good, capsys, monkeypatch):
    def boom(*_args: object, **_kwargs: object) -> None:
        raise RivetSourceError("connection refused\nsecond line", export="orders", field="source")

    monkeypatch.setattr(rivet_dagster.config, "load_config", boom)
    assert main(["validate", str(good)]) == 1
    assert capsys.readouterr().err == (
        "error: export 'orders', field 'source': connection refused second line\n")


@pytest.mark.parametrize("argv", [["schema"], ["schema", "config"]])
def test_schema_is_json(argv, capsys):
    assert main(argv) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "exports" in schema["properties"]
    assert schema["additionalProperties"] is False
    assert "ExportConfig" in schema["$defs"]


@pytest.mark.parametrize("command", ["check", "doctor", "init"])
def test_not_built_commands(command, capsys):
    assert main([command, "-c", "x.yaml", "--strict"]) == 2
    assert capsys.readouterr().err == (
        f"rivet-dagster {command}: not implemented yet (see docs/cli.md)\n")


def test_help_and_usage_errors(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert all(cmd in out for cmd in ("validate", "schema", "check", "doctor", "init"))
    assert main([]) == 2
    for argv in (["validate"], ["validate", "x.yaml", "-p", "NOEQUALS"], ["frobnicate"],
                 ["validate", "x.yaml", "--bogus"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2, argv


def _script() -> Path:
    return Path(sys.executable).with_name("rivet-dagster")


@pytest.mark.skipif(not _script().exists(), reason="console script not installed (pip install -e .)")
def test_console_script_subprocess(good, bad):
    env = {"PATH": "/usr/bin:/bin", "OUT": "/data"}
    ok = subprocess.run([str(_script()), "validate", str(good)], capture_output=True, text=True,
                        env=env, timeout=120)
    assert (ok.returncode, ok.stdout) == (0, OK_LINE), ok.stderr
    failed = subprocess.run([str(_script()), "validate", str(bad)], capture_output=True, text=True,
                            env=env, timeout=120)
    assert failed.returncode == 1
    assert len(failed.stderr.splitlines()) == 3 and "Traceback" not in failed.stderr
    schema = subprocess.run([str(_script()), "schema"], capture_output=True, text=True, env=env,
                            timeout=120)
    assert schema.returncode == 0 and "exports" in json.loads(schema.stdout)["properties"]
