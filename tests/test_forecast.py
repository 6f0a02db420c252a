"""The aggressor's forecast of an institution's response, against the votes it forecasts.

A member names the aggressor once, at the referral, and that one naming counts in every stage's
vote and in its commitment. The forecast must average over namings, not multiply each stage by
the chance of naming (which, over three stages, took the default council's chance of
authorising force from 0.54 to 0.16 where every member that named the aggressor voted yes).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import agrees

from crisis_sim import params, scenario
from crisis_sim.compiled import LEVEL_CODE, authorisation, compile_scenario, voters
from crisis_sim.crisis import simulate_chunk
from crisis_sim.rules import PASSED, Ballot

N = 100_000
MILITARY = LEVEL_CODE["military"]


def _variant(name: str, **values: float) -> scenario.Scenario:
    """A bundled scenario with parameters set by name (``params``: ``theory.identification``)."""
    return params.apply(scenario.load(name), {k.replace("__", "."): v for k, v in values.items()})


def _votes_by_hand(inst, stages, a, g, rng):
    """Namings and every stage's ballot drawn one by one, as the crisis draws them."""
    m, k = inst.members, len(inst.members)
    pid = inst.p_identify[:k]
    named = rng.uniform(size=(N, k)) < pid
    if inst.bloc.any():
        named[:, inst.bloc] = (rng.uniform(size=N) < pid[inst.bloc].mean())[:, None]
    named[:, m == g], named[:, m == a] = True, False
    voting = np.broadcast_to(voters(inst, a, g), (N, k))
    passed = np.ones(N, dtype=bool)
    for st in stages:
        yes = named & (rng.uniform(size=(N, k)) < st.p_yes)
        if inst.bloc.any():
            shared = rng.uniform(size=N) < st.p_yes[inst.bloc].mean()
            yes[:, inst.bloc] = named[:, inst.bloc] & shared[:, None]
        yes[:, m == g] = True
        ballot = Ballot(yes, voting, inst.permanent, inst.quota, st.procedural)
        passed &= inst.rule.decide(ballot)[0] == PASSED
    return passed, named


@pytest.mark.parametrize(
    ("name", "theory"),
    [
        ("default", {}),
        ("default", {"theory__identical_beliefs": 1}),
        ("default", {"theory__great_power_unity": 1}),
        ("nato_2001", {}),
        ("abyssinia_1935", {"theory__identification": 0.9}),
    ],
    ids=["council", "council, identical beliefs", "council, great-power bloc", "NATO", "League"],
)
def test_forecast_of_authorised_force_matches_the_ballots(name, theory):
    plan = compile_scenario(_variant(name, **theory))
    a, g = plan.aggressor, plan.target
    rng = np.random.default_rng(7)
    checked = 0
    for inst in plan.institutions:
        levels = [st.level for st in inst.stages]
        if MILITARY not in levels or inst.rule_name in ("unilateral", "central_authority"):
            continue
        stages = inst.stages[: levels.index(MILITARY) + 1]
        forecast = authorisation(inst, stages, a, g)
        passed, named = _votes_by_hand(inst, stages, a, g, rng)
        k = len(inst.members)
        by_hand = (passed[:, None] & named).mean(axis=0)
        assert agrees(by_hand, forecast[:k], N).all(), (inst.name, by_hand, forecast[:k])
        checked += 1
    assert checked


def test_forecast_counts_each_naming_once_across_stages():
    """Every member that named the aggressor votes yes: only the naming decides, once."""
    plan = compile_scenario(_variant("default", theory__identical_beliefs=1))
    inst = plan.institutions[0]
    levels = [st.level for st in inst.stages]
    stages = inst.stages[: levels.index(MILITARY) + 1]
    assert len(stages) == 3 and all((st.p_yes == 1.0).all() for st in stages)
    one = authorisation(inst, stages[:1], plan.aggressor, plan.target)
    three = authorisation(inst, stages, plan.aggressor, plan.target)
    np.testing.assert_allclose(three, one)  # the same ballots three times over
    assert 0.4 < three[: len(inst.members)][inst.permanent].min() < 0.7


def test_the_crisis_authorises_force_as_often_as_forecast():
    """No backing down, no war ending before the votes: the council's record is the forecast."""
    plan = compile_scenario(
        _variant(
            "default",
            theory__identical_beliefs=1,
            decision__attack_threshold=0.0,
            decision__backdown__condemnation=0.0,
            decision__backdown__sanctions=0.0,
            decision__backdown__military=0.0,
            combat__attrition=1e-7,
            horizon_days=400,
        )
    )
    inst = plan.institutions[0]
    levels = [st.level for st in inst.stages]
    stages = inst.stages[: levels.index(MILITARY) + 1]
    permanent = int(np.flatnonzero(inst.permanent)[0])
    # A permanent member's veto: force is authorised only where it named the aggressor.
    expected = authorisation(inst, stages, plan.aggressor, plan.target)[permanent]
    runs = 20_000
    out = simulate_chunk(plan, 3, 0, runs)
    authorised = (out["response_level"][:, 0] == MILITARY).mean()
    assert agrees(authorised, expected, runs)
