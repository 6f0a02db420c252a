"""The naive baseline of benchmarks/ simulates the same model: its outcomes agree in distribution.

The speed-up reported by ``crisis-sim bench`` may not come from a different model. The two
implementations use different random generators, so they agree statistically, not draw by draw.
Seeds are fixed, so the test is deterministic.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _naive():
    spec = importlib.util.spec_from_file_location("crisis_naive", ROOT / "benchmarks" / "naive.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["crisis_naive"] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def both(default_plan):
    from crisis_sim.crisis import simulate_chunk

    fast = simulate_chunk(default_plan, 5, 0, 6000)
    slow = _naive().simulate(default_plan, 5, 0, 3000)
    return fast, slow


def _same_distribution(what: str, a: np.ndarray, b: np.ndarray) -> None:
    """Counts per category from each implementation pass a chi-square test of one law."""
    from scipy.stats import chi2_contingency

    keep = (a + b) >= 20  # pool rare categories, so the chi-square approximation holds
    table = np.vstack([np.append(a[keep], a[~keep].sum()), np.append(b[keep], b[~keep].sum())])
    table = table[:, table.sum(axis=0) > 0]
    p = chi2_contingency(table).pvalue
    assert p > 1e-3, f"{what} differ: crisis_sim {a.tolist()}, naive {b.tolist()} (p={p:.2g})"


def _votes(result: np.ndarray) -> np.ndarray:
    """How the first institution's last vote went (none, passed, vetoed, failed majority)."""
    return np.bincount(result + 1, minlength=5)


def test_outcome_distribution_agrees(both):
    fast, slow = both
    a = np.bincount(fast["outcome"], minlength=7)
    b = np.bincount(slow["outcome"], minlength=7)
    _same_distribution("outcomes", a, b)


def test_votes_agree(both):
    fast, slow = both
    a = _votes(fast["vote_result"][fast["outcome"] != 0, 0])
    b = _votes(slow["first_vote"][slow["outcome"] != 0])
    _same_distribution("the council's votes", a, b)


MEANS = ["end_day", "n_belligerents", "n_cascade_entries", "losses_defenders"]


@pytest.mark.parametrize("name", MEANS)
def test_means_agree(both, name):
    fast, slow = both
    x = fast[name][fast["outcome"] != 0].astype(float)
    y = slow[name][slow["outcome"] != 0].astype(float)
    se = np.sqrt(x.var(ddof=1) / len(x) + y.var(ddof=1) / len(y))
    msg = f"{name}: {x.mean():.4g} vs naive {y.mean():.4g} (se {se:.2g})"
    assert abs(x.mean() - y.mean()) < 4 * se, msg


def test_outcomes_and_votes_agree_with_the_great_powers_acting_as_one():
    """Schuman's unity too: the bloc names the aggressor and votes as one in both."""
    from crisis_sim import scenario
    from crisis_sim.compiled import compile_scenario
    from crisis_sim.crisis import simulate_chunk

    sc = scenario.load("default")
    sc.theory.great_power_unity = True
    plan = compile_scenario(sc)
    fast = simulate_chunk(plan, 5, 0, 4000)
    slow = _naive().simulate(plan, 5, 0, 2000)
    a, b = (np.bincount(x["outcome"], minlength=7) for x in (fast, slow))
    _same_distribution("outcomes", a, b)
    a = _votes(fast["vote_result"][fast["outcome"] != 0, 0])
    b = _votes(slow["first_vote"][slow["outcome"] != 0])
    _same_distribution("the council's votes", a, b)


def test_a_partner_called_twice_answers_once_in_both():
    """An entente against the target calls the aggressor's partner twice on day 0 (the
    aggressor enters, and the target it names): it decides once, in both implementations."""
    from crisis_sim import scenario
    from crisis_sim.compiled import compile_scenario
    from crisis_sim.crisis import simulate_chunk

    sc = scenario.load("default")
    entente = next(t for t in sc.treaties if t.name == "Red-Purple entente")
    entente.casus, entente.against = "against_named", ["BLUE"]
    plan = compile_scenario(sc)
    fast = simulate_chunk(plan, 5, 0, 4000)
    slow = _naive().simulate(plan, 5, 0, 2000)
    a, b = (np.bincount(x["outcome"], minlength=7) for x in (fast, slow))
    _same_distribution("outcomes", a, b)
    for name in ("n_cascade_entries", "n_belligerents"):
        x = fast[name][fast["outcome"] != 0].astype(float)
        y = slow[name][slow["outcome"] != 0].astype(float)
        se = np.sqrt(x.var(ddof=1) / len(x) + y.var(ddof=1) / len(y))
        assert abs(x.mean() - y.mean()) < 4 * se, f"{name}: {x.mean():.4g} vs {y.mean():.4g}"
