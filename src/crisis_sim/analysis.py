"""Summaries of result files: outcome shares with intervals, timing, votes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from crisis_sim import store
from crisis_sim.errors import StoreError
from crisis_sim.outcomes import OUTCOMES
from crisis_sim.rules import VOTE_MEANINGS

Z95 = 1.959963984540054


def wilson(k: int | np.ndarray, n: int | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score 95% interval for a binomial share ``k / n``."""
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + Z95**2 / n
        centre = (p + Z95**2 / (2 * n)) / denom
        half = Z95 * np.sqrt(p * (1 - p) / n + Z95**2 / (4 * n**2)) / denom
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


@dataclass(frozen=True)
class Share:
    """A share with its 95% interval."""

    name: str
    count: int
    share: float
    low: float
    high: float


def shares(codes: np.ndarray, names: tuple[str, ...]) -> list[Share]:
    """Share of each code among ``codes`` with Wilson intervals."""
    n = len(codes)
    counts = np.bincount(codes[codes >= 0].astype(np.int64), minlength=len(names))[: len(names)]
    lo, hi = wilson(counts, max(n, 1))
    return [
        Share(nm, int(c), c / max(n, 1), float(a), float(b))
        for nm, c, a, b in zip(names, counts, lo, hi, strict=True)
    ]


@dataclass(frozen=True)
class InstitutionSummary:
    """How one institution handled the wars: its highest response and its last vote."""

    name: str
    response: list[Share]  # highest response adopted (none, condemnation, sanctions, military)
    last_vote: list[Share]  # the result of its last vote (a later stage's, if it got there)
    decision_day: float  # median day of its last decision, over the wars with one
    votes: bool = True  # False where no one votes: self-help's balancers, a world authority


@dataclass(frozen=True)
class Summary:
    """What ``crisis-sim summarize`` prints."""

    path: Path
    n_runs: int
    n_committed: int
    complete: bool
    seed: int
    scenario_name: str
    outcomes: list[Share]
    end_day_quantiles: dict[str, float]
    response_day_quantiles: dict[str, float]
    belligerents_mean: float
    cascade_mean: float
    institutions: list[InstitutionSummary]
    n_wars: int  # replications in which the aggressor attacked: the base of the war figures
    n_helped: int  # wars in which a third state fought on the target's side


def _quantiles(x: np.ndarray) -> dict[str, float]:
    if not len(x):
        return {}
    q = np.quantile(x, [0.05, 0.25, 0.5, 0.75, 0.95])
    return dict(zip(("5%", "25%", "50%", "75%", "95%"), q.tolist(), strict=True))


def summarize(path: Path) -> Summary:
    """Read a result file and compute its summary (only committed replications count)."""
    import json

    info = store.read_info(path)
    runs = store.read_runs(
        path,
        [
            "outcome",
            "end_day",
            "entry_day",
            "side",
            "committed",
            "vote_result",
            "response_level",
            "decision_day",
            "n_belligerents",
            "n_cascade_entries",
        ],
    )
    ok = store.written(path, runs, "to summarize")
    outcome = runs["outcome"][ok]
    attacked = outcome != 0
    side, entry = runs["side"][ok], runs["entry_day"][ok]
    codes = info["states"]
    try:
        sc = json.loads(str(info["scenario"]))
        a, g = codes.index(sc["aggressor"]), codes.index(sc["target"])
    except (ValueError, KeyError, TypeError):
        raise StoreError(
            f"{path}:scenario: the stored scenario is damaged "
            "(not the JSON of this file's scenario)"
        ) from None
    helper = side == 2
    helper[:, g] = False
    helper[:, a] = False
    first_help = np.where(helper, entry.astype(np.int32), np.iinfo(np.int32).max).min(axis=1)
    responded = first_help < np.iinfo(np.int32).max
    insts = []
    for i, name in enumerate(info["institutions"]):
        vr = runs["vote_result"][ok][:, i][attacked]
        level = runs["response_level"][ok][:, i][attacked]
        dd = runs["decision_day"][ok][:, i][attacked]
        med = float(np.median(dd[dd >= 0])) if (dd >= 0).any() else float("nan")
        insts.append(
            InstitutionSummary(
                name,
                shares(level, store.LEVELS),
                shares(vr, VOTE_MEANINGS),
                med,
                votes=_rule(sc, i) not in ("unilateral", "central_authority"),
            )
        )
    return Summary(
        path=Path(path),
        n_runs=int(info["n_runs"]),
        n_committed=int(ok.sum()),
        complete=bool(info.get("complete", 0)),
        seed=int(info["seed"]),
        scenario_name=sc["name"],
        outcomes=shares(outcome, OUTCOMES),
        end_day_quantiles=_quantiles(runs["end_day"][ok][attacked]),
        response_day_quantiles=_quantiles(first_help[responded & attacked]),
        belligerents_mean=float(runs["n_belligerents"][ok][attacked].mean())
        if attacked.any()
        else 0.0,
        cascade_mean=float(runs["n_cascade_entries"][ok][attacked].mean())
        if attacked.any()
        else 0.0,
        institutions=insts,
        n_wars=int(attacked.sum()),
        n_helped=int((responded & attacked).sum()),
    )


def _rule(sc: dict[str, Any], i: int) -> str:
    """The decision rule of the stored scenario's ``i``-th institution ('' if not recorded)."""
    try:
        return str(sc["institutions"][i]["rule"])
    except (KeyError, IndexError, TypeError):
        return ""
