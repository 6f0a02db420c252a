"""Shared fixtures: small real runs of the bundled default scenario, computed once per session."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]

# Property tests keep no example database in the working tree, and an example's first call may
# load compiled kernels (a second or more): no per-example deadline.
settings.register_profile("crisis_sim", database=None, deadline=None)
settings.load_profile("crisis_sim")


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


def assert_png(path: Path) -> None:
    """A figure was written: a PNG that decodes, of a figure's size (its contents are checked
    on the Figure objects, in test_plots and the tests of each experiment)."""
    import matplotlib.image

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{path}: not a PNG"
    image = matplotlib.image.imread(path)
    assert image.shape[0] > 300 and image.shape[1] > 600, f"{path}: {image.shape[:2]} pixels"
    assert image[..., :3].std() > 0.05, f"{path}: a blank canvas"


def in_a_terminal(
    args: list[str], poke: Callable[[subprocess.Popen[bytes]], None] | None = None
) -> tuple[int, str]:
    """Run the CLI with stderr on a pseudo-terminal, as a person at a shell would see it.

    ``poke(proc)`` is called between reads (to send a signal at the right moment, say).
    Returns the exit status and everything the terminal showed.
    """
    import pty
    import select
    import time

    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "crisis_sim", *args], stdout=subprocess.DEVNULL,
                            stderr=follower, env={**os.environ, "COLUMNS": "120"})
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if poke:
            poke(proc)
        if select.select([leader], [], [], 0.05)[0]:
            try:
                block = os.read(leader, 65536)
            except OSError:  # the terminal closed: the process is done
                break
            if not block:
                break
            seen += block
    proc.wait(timeout=60)
    os.close(leader)
    return proc.returncode, seen.decode(errors="replace")


def agrees(share, exact, n):
    """A Monte Carlo share within four standard errors of the exact probability (elementwise)."""
    import numpy as np

    return np.abs(share - exact) <= 4.0 * np.sqrt(np.maximum(exact * (1.0 - exact), 1e-6) / n)
