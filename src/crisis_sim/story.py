"""Replay one replication alone and tell it as a story (``crisis-sim trace``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from crisis_sim import store
from crisis_sim.crisis import Crisis
from crisis_sim.errors import InputError
from crisis_sim.experiment import reopen
from crisis_sim.outcomes import OUTCOMES


@dataclass(frozen=True)
class Story:
    """A replayed replication: its timeline and whether it reproduces the stored record."""

    seed: int
    scenario: str
    lines: list[tuple[int, int, str]]
    outcome: str
    stored_outcome: str
    matches: bool
    replayed: dict[str, np.ndarray]

    @property
    def end_day(self) -> int | None:
        """The day the crisis ended (step 12), or None.

        Institutions may still deliberate and vote after it: a response adopted after the
        target fell makes the outcome a fait accompli.
        """
        return next((day for day, step, _ in self.lines if step == 12), None)


def replay(path: Path, run: int) -> Story:
    """Run replication ``run`` of the file's scenario and seed as a chunk of one."""
    info = store.read_info(path)
    n = int(info["n_runs"])
    if not 0 <= run < n:
        raise InputError(
            f"{path}: --run {run} is out of range (the file has replications 0..{n - 1})"
        )
    plan, seed = reopen(path)
    crisis = Crisis(plan, seed, run, run + 1, story=True)
    replayed = crisis.run()
    stored = {k: v[0] for k, v in store.read_runs(path, rows=slice(run, run + 1)).items()}
    if not stored["committed"]:
        raise InputError(f"{path}: replication {run} is not written yet (resume the run first)")
    code = int(stored["outcome"])
    if not 0 <= code < len(OUTCOMES):
        raise InputError(f"{path}:runs/outcome[{run}]: the file is damaged (outcome code {code})")
    matches = all(
        np.array_equal(np.asarray(replayed[k])[0], stored[k], equal_nan=True) for k in store.FIELDS
    )
    # By day, and within a day in the order the events happened: a vote, then the deliberation
    # on the next stage it opens (sorting by step number would put the deliberation first).
    lines = sorted(crisis.story or [], key=lambda x: x[0])
    return Story(
        seed,
        str(plan.scenario.name),
        lines,
        OUTCOMES[int(replayed["outcome"][0])],
        OUTCOMES[code],
        matches,
        replayed,
    )
