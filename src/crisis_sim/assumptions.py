"""The theories as experiments: impose every assumption, then let each fail in turn.

The baseline imposes Organski's five assumptions and Morgenthau's three prerequisites, with the
great powers acting in unison (Schuman) and no free-riding. Each variant relaxes one of them and
nothing else. All variants play replications ``0 .. n - 1`` with the same seed, so every
replication meets the same capabilities, perceptions and combat luck under each: the change in
an outcome share, with a paired 95% interval, is the effect of that one assumption failing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from crisis_sim.analysis import Z95
from crisis_sim.compare import Estimate, run_variants, share
from crisis_sim.outcomes import (
    AGGRESSOR_DEFEATED,
    BACKED_DOWN,
    DETERRED,
    FAIT_ACCOMPLI,
    NO_RESPONSE,
)
from crisis_sim.runner import DEFAULT_CHUNK, Backend
from crisis_sim.scenario import Scenario, Theory

DEFAULT_SCENARIO = "default"
BASELINE = "baseline"
NONE = "none"
# Memory held per replication: one outcome byte per setting (22 for the default scenario) and
# the pairing's arrays. Measured on the default scenario: peak 242 MB at 10^5 replications,
# 273 MB at 10^6, ~34 bytes per replication.
BYTES_PER_RUN = 40
FREE_RIDING_WHEN_RELAXED = 0.5  # the schema's default exponent, used when a scenario sets none

# Outcome measures, by name: which replications count.
MEASURES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "works": lambda o: (o == DETERRED) | (o == BACKED_DOWN) | (o == AGGRESSOR_DEFEATED),
    "deterred": lambda o: o == DETERRED,
    "aggressor_defeated": lambda o: o == AGGRESSOR_DEFEATED,
    "fait_accompli": lambda o: o == FAIT_ACCOMPLI,
    "no_response": lambda o: o == NO_RESPONSE,
}


@dataclass(frozen=True)
class Assumption:
    """One assumption, and how to impose it or let it fail."""

    key: str
    label: str
    put: Callable[[Theory, bool, Theory], None]  # (theory to change, imposed?, the scenario's own)


def _switch(group: str, name: str) -> Callable[[Theory, bool, Theory], None]:
    def put(th: Theory, imposed: bool, _own: Theory) -> None:
        setattr(getattr(th, group), name, imposed)

    return put


def _unity(th: Theory, imposed: bool, _own: Theory) -> None:
    th.great_power_unity = imposed


def _no_free_riding(th: Theory, imposed: bool, own: Theory) -> None:
    th.free_riding = (
        0.0 if imposed else (own.free_riding if own.free_riding > 0 else FREE_RIDING_WHEN_RELAXED)
    )


ASSUMPTIONS: tuple[Assumption, ...] = (
    Assumption(
        "agreement_on_aggressor",
        "Organski 1: members agree on the aggressor",
        _switch("organski", "agreement_on_aggressor"),
    ),
    Assumption(
        "equal_commitment",
        "Organski 2: members are equally committed",
        _switch("organski", "equal_commitment"),
    ),
    Assumption(
        "equal_freedom_of_action",
        "Organski 3: members are equally free to act",
        _switch("organski", "equal_freedom_of_action"),
    ),
    Assumption(
        "sufficient_power",
        "Organski 4: the coalition's power suffices",
        _switch("organski", "sufficient_power"),
    ),
    Assumption(
        "modify_or_defeated",
        "Organski 5: the aggressor backs down or is defeated",
        _switch("organski", "modify_or_defeated"),
    ),
    Assumption(
        "overwhelming_force",
        "Morgenthau 1: overwhelming force",
        _switch("morgenthau", "overwhelming_force"),
    ),
    Assumption(
        "identical_beliefs",
        "Morgenthau 2: identical beliefs about the order",
        _switch("morgenthau", "identical_beliefs"),
    ),
    Assumption(
        "subordination_of_interests",
        "Morgenthau 3: conflicting interests subordinated",
        _switch("morgenthau", "subordination_of_interests"),
    ),
    Assumption("great_power_unity", "Schuman: the great powers act in unison", _unity),
    Assumption(
        "no_free_riding", "no free-riding: smaller members bear their share", _no_free_riding
    ),
)


def setting(sc: Scenario, imposed: bool, flipped: Assumption | None = None) -> Scenario:
    """The scenario with every assumption imposed (or none), except ``flipped``, the other way."""
    out = sc.model_copy(deep=True)
    for a in ASSUMPTIONS:
        a.put(out.theory, imposed != (a is flipped), sc.theory)
    return out


def baseline(sc: Scenario) -> Scenario:
    """The scenario with every assumption imposed."""
    return setting(sc, True)


def relaxed(sc: Scenario, assumption: Assumption) -> Scenario:
    """The baseline with one assumption failing."""
    return setting(sc, True, assumption)


@dataclass(frozen=True)
class Effect:
    """One variant: its outcome shares, and their change from the baseline (paired intervals)."""

    key: str
    label: str
    shares: dict[str, Estimate]
    change: dict[str, Estimate]


@dataclass(frozen=True)
class Experiment:
    """What ``crisis-sim assumptions`` prints.

    ``relaxed``: each assumption failing alone, against the baseline with all imposed (which one
    breaks the arrangement). ``alone``: each imposed alone, against none imposed (which one, by
    itself, rescues it); the two views differ when assumptions overlap, e.g. Organski's fourth and
    Morgenthau's first each ensure a coalition large enough to deter.
    """

    scenario: str
    seed: int
    n_runs: int
    baseline: Effect
    relaxed: list[Effect]
    none: Effect
    alone: list[Effect]


def paired_change(x: np.ndarray, base: np.ndarray) -> Estimate:
    """Mean of ``x - base`` over the same replications, with a normal 95% interval.

    The interval is cut to [-1, 1], the range of a change of share (the normal approximation
    overshoots it with few replications).
    """
    d = x.astype(float) - base.astype(float)
    n = len(d)
    m = float(d.mean())
    half = Z95 * float(d.std(ddof=1)) / np.sqrt(n) if n > 1 else 0.0
    return Estimate(m, max(-1.0, m - half), min(1.0, m + half))


def _effect(key: str, label: str, outcome: np.ndarray, base: np.ndarray) -> Effect:
    return Effect(
        key,
        label,
        shares={m: share(f(outcome)) for m, f in MEASURES.items()},
        change={m: paired_change(f(outcome), f(base)) for m, f in MEASURES.items()},
    )


def variants(sc: Scenario) -> dict[str, Scenario]:
    """Every setting the experiment plays, by name."""
    out = {BASELINE: baseline(sc), NONE: setting(sc, False)}
    for a in ASSUMPTIONS:
        out[f"without:{a.key}"] = relaxed(sc, a)
        out[f"only:{a.key}"] = setting(sc, False, a)
    return out


def run(
    sc: Scenario,
    n_runs: int,
    seed: int,
    *,
    backend: Backend | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    progress: Callable[[int], None] | None = None,
) -> Experiment:
    """Play every setting on the same replications and measure each assumption's effect."""
    plays = variants(sc)
    outcomes = {k: np.full(n_runs, -1, dtype=np.int8) for k in plays}
    for name, start, arrays in run_variants(plays, n_runs, seed, backend, chunk_size):
        got = arrays["outcome"]
        outcomes[name][start : start + len(got)] = got
        if progress:
            progress(len(got))
    base, none = outcomes[BASELINE], outcomes[NONE]
    return Experiment(
        scenario=sc.name,
        seed=seed,
        n_runs=n_runs,
        baseline=_effect(BASELINE, "every assumption imposed", base, base),
        relaxed=[_effect(a.key, a.label, outcomes[f"without:{a.key}"], base) for a in ASSUMPTIONS],
        none=_effect(NONE, "no assumption imposed", none, none),
        alone=[_effect(a.key, a.label, outcomes[f"only:{a.key}"], none) for a in ASSUMPTIONS],
    )
