"""Shared fixtures. The session starts the local services and seeds rivet_demo once."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _run_dev_script(name: str) -> None:
    """Run dev/<name>; a failure fails the session loudly (services are never optional)."""
    result = subprocess.run(["bash", str(REPO / "dev" / name)], cwd=REPO, capture_output=True,
                            text=True, stdin=subprocess.DEVNULL, timeout=1200)
    if result.returncode != 0:
        pytest.fail(f"dev/{name} failed with exit code {result.returncode}:\n"
                    f"{result.stdout}\n{result.stderr}", pytrace=False)


@pytest.fixture(scope="session", autouse=True)
def demo_services() -> None:
    """PostgreSQL and MariaDB on 127.0.0.1 with rivet_demo seeded (dev/services.sh, dev/seed_demo.sh)."""
    _run_dev_script("services.sh")
    _run_dev_script("seed_demo.sh")
