"""Shared fixtures. The session starts the local services and seeds rivet_demo once."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _run_dev_script(name: str, *args: str) -> None:
    """Run dev/<name>; a failure fails the session loudly (services are never optional)."""
    result = subprocess.run(["bash", str(REPO / "dev" / name), *args], cwd=REPO,
                            capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=1200)
    if result.returncode != 0:
        pytest.fail(f"dev/{name} {' '.join(args)} failed with exit code {result.returncode}:\n"
                    f"{result.stdout}\n{result.stderr}", pytrace=False)


@pytest.fixture(scope="session")
def start_service() -> Callable[[str], None]:
    """`start_service("pgtls")`: an extra service from dev/services.sh, started (or installed)
    when it is not running; a missing service fails the test, never skips it."""
    return lambda name: _run_dev_script("services.sh", "start", name)


@pytest.fixture(scope="session", autouse=True)
def demo_services() -> None:
    """PostgreSQL and MariaDB on 127.0.0.1 with rivet_demo seeded (dev/services.sh, dev/seed_demo.sh)."""
    _run_dev_script("services.sh")
    _run_dev_script("seed_demo.sh")
