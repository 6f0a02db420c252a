"""The aggressor's forecast of an institution's response, against the votes it forecasts.

A member names the aggressor once, at the referral, and that one naming counts in every stage's
vote and in its commitment. The forecast must average over namings, not multiply each stage by
the chance of naming (which, over three stages, took the default council's chance of
authorising force from 0.54 to 0.16 where every member that named the aggressor voted yes).
"""

from __future__ import annotations

import numpy as np
import pytest

from crisis_sim import scenario
from crisis_sim.compiled import LEVEL_CODE, authorisation, compile_scenario, voters
from crisis_sim.crisis import simulate_chunk
from crisis_sim.rules import PASSED, Ballot

N = 100_000
MILITARY = LEVEL_CODE["military"]


def _variant(name: str, **theory: object) -> scenario.Scenario:
    raw = scenario.load(name).model_dump(mode="json")
    for state in raw["states"]:  # data-derived capabilities are resolved again from the data
        if state["capability"].get("cow"):
            state["capability"]["mean"] = None
    for key, value in theory.items():
        group, _, field = key.partition("__")
        if field:
            raw["theory"][group][field] = value
        else:
            raw["theory"][group] = value
    return scenario.from_dict(raw)


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


def _close(mc: np.ndarray, exact: np.ndarray) -> np.ndarray:
    return np.abs(mc - exact) <= 4.0 * np.sqrt(np.maximum(exact * (1 - exact), 1e-4) / N)


@pytest.mark.parametrize(
    ("name", "theory"),
    [
        ("default", {}),
        ("default", {"morgenthau__identical_beliefs": True}),
        ("default", {"great_power_unity": True}),
        ("nato_2001", {}),
        ("abyssinia_1935", {"organski__identification": 0.9}),
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
        assert _close(by_hand, forecast[:k]).all(), (inst.name, by_hand, forecast[:k])
        checked += 1
    assert checked


def test_forecast_counts_each_naming_once_across_stages():
    """Every member that named the aggressor votes yes: only the naming decides, once."""
    plan = compile_scenario(_variant("default", morgenthau__identical_beliefs=True))
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
    sc = _variant("default", morgenthau__identical_beliefs=True)
    raw = sc.model_dump(mode="json")
    raw["decision"]["attack_threshold"] = 0.0
    raw["decision"]["backdown"] = {"condemnation": 0.0, "sanctions": 0.0, "military": 0.0}
    raw["combat"]["attrition"] = 1e-7
    raw["horizon_days"] = 400
    plan = compile_scenario(scenario.from_dict(raw))
    inst = plan.institutions[0]
    levels = [st.level for st in inst.stages]
    stages = inst.stages[: levels.index(MILITARY) + 1]
    permanent = int(np.flatnonzero(inst.permanent)[0])
    # A permanent member's veto: force is authorised only where it named the aggressor.
    expected = authorisation(inst, stages, plan.aggressor, plan.target)[permanent]
    runs = 20_000
    out = simulate_chunk(plan, 3, 0, runs)
    authorised = (out["response_level"][:, 0] == MILITARY).mean()
    assert abs(authorised - expected) <= 4 * np.sqrt(expected * (1 - expected) / runs)
