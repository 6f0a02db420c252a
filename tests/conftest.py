"""Shared fixtures: small real runs of the bundled default scenario, computed once per session."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def cli(
    *args: str, env: dict[str, str] | None = None, check: bool = False, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run the real ``crisis-sim`` command in a subprocess."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "crisis_sim", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"crisis-sim {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}"
        )
    return proc


@pytest.fixture(scope="session")
def default_plan():
    from crisis_sim import scenario
    from crisis_sim.compiled import compile_scenario

    return compile_scenario(scenario.load("default"))


@pytest.fixture(scope="session")
def default_result(tmp_path_factory) -> Path:
    """A 3,000-replication result file of the default scenario, written by the real CLI."""
    out = tmp_path_factory.mktemp("default") / "default.h5"
    cli(
        "run",
        "--runs",
        "3000",
        "--seed",
        "11",
        "--out",
        str(out),
        "--chunk-size",
        "1000",
        "--quiet",
        check=True,
    )
    return out
