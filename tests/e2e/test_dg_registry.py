"""`dg` discovers the Component through the registry entry point, and scaffolds it."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

DG = Path(sys.executable).with_name("dg")


@pytest.mark.slow
def test_dg_lists_the_component(tmp_path):
    listed = subprocess.run([str(DG), "list", "components", "--json"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=180)
    assert listed.returncode == 0, listed.stderr[-2000:]
    keys = [item["key"] for item in json.loads(listed.stdout)["items"]]
    assert "rivet_dagster.RivetExportsComponent" in keys


def test_scaffolder_writes_defs_and_config(tmp_path):
    from dagster.components.testing import create_defs_folder_sandbox

    import rivet_dagster

    with create_defs_folder_sandbox() as sandbox:
        defs_path = sandbox.scaffold_component(component_cls=rivet_dagster.RivetExportsComponent)
        assert "RivetExportsComponent" in (defs_path / "defs.yaml").read_text()
        assert "config_file: rivet.yaml" in (defs_path / "defs.yaml").read_text()
        assert "exports:" in (defs_path / "rivet.yaml").read_text()
