"""The real ``crisis-sim`` entry point, called in this process (fast: no interpreter start-up).

Used where a test needs many CLI calls; a handful of calls per module still go through
``conftest.cli`` (a real subprocess) to check the installed command itself.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class Outcome:
    """Exit status and output of one call of ``crisis_sim.cli.main``."""

    code: int
    out: str
    err: str


def main(capsys: pytest.CaptureFixture[str], *args: str) -> Outcome:
    """Run ``crisis-sim ARGS`` through ``crisis_sim.cli.main``; an uncaught exception fails."""
    from crisis_sim.cli import main as entry

    capsys.readouterr()
    argv = sys.argv
    sys.argv = ["crisis-sim", *args]
    try:
        entry()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = argv
    cap = capsys.readouterr()
    return Outcome(code, cap.out, cap.err)


def one_error_line(result: Outcome) -> str:
    """The single ``crisis-sim: error: ...`` line of a refused command (asserts the rule)."""
    assert result.code == 2, f"exit status {result.code}, stderr: {result.err!r}"
    lines = result.err.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got: {result.err!r}"
    assert lines[0].startswith("crisis-sim: error: "), lines[0]
    assert "Traceback" not in result.err
    return lines[0]
