"""The theory switches and the aggressor's forecast, on the stylised five arrangements.

Each switch must change the crisis where its theory applies (a switch that changes nothing is
a defect an experiment could not see), and the big ones in the direction their theory says.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from crisis_sim import scenario
from crisis_sim.compare import variant
from crisis_sim.compiled import compile_scenario
from crisis_sim.crisis import simulate_chunk
from crisis_sim.outcomes import (
    AGGRESSOR_DEFEATED,
    BACKED_DOWN,
    DETERRED,
    FAIT_ACCOMPLI,
    NO_RESPONSE,
    Reason,
)
from crisis_sim.scenario import Scenario, Theory

N = 2000


def _five(arrangement: str) -> Scenario:
    return variant(scenario.load("five_arrangements"), arrangement)


def _runs(sc: Scenario) -> dict[str, np.ndarray]:
    return simulate_chunk(compile_scenario(sc), 1, 0, N)


def _share(r: dict[str, np.ndarray], outcome: int) -> float:
    return float((r["outcome"] == outcome).mean())


def _set(path: str) -> Callable[[Theory, object], None]:
    def put(th: Theory, value: object) -> None:
        *groups, key = path.split(".")
        obj: object = th
        for g in groups:
            obj = getattr(obj, g)
        setattr(obj, key, value)

    return put


# (switch, arrangement where it applies, value off, value on)
SWITCHES = [
    ("organski.agreement_on_aggressor", "collective_security", False, True),
    ("organski.equal_commitment", "collective_security", False, True),
    ("organski.equal_freedom_of_action", "collective_security", False, True),
    ("organski.sufficient_power", "collective_security", False, True),
    ("organski.modify_or_defeated", "collective_security", False, True),
    ("morgenthau.overwhelming_force", "collective_security", False, True),
    ("morgenthau.identical_beliefs", "collective_security", False, True),
    ("morgenthau.subordination_of_interests", "collective_security", False, True),
    ("great_power_unity", "collective_security", False, True),
    ("free_riding", "collective_security", 0.0, 3.0),
    ("buck_passing", "balance_of_power", 0.0, 1.0),
]


@pytest.fixture(scope="module")
def switched() -> dict[tuple[str, str], tuple[dict, dict]]:
    out = {}
    for path, arrangement, off, on in SWITCHES:
        pair = []
        for value in (off, on):
            sc = _five(arrangement)
            _set(path)(sc.theory, value)
            pair.append(_runs(sc))
        out[(path, arrangement)] = (pair[0], pair[1])
    return out


@pytest.mark.parametrize(("path", "arrangement"), [(s[0], s[1]) for s in SWITCHES])
def test_every_switch_changes_the_crisis_where_its_theory_applies(switched, path, arrangement):
    off, on = switched[(path, arrangement)]
    changed = int((off["outcome"] != on["outcome"]).sum())
    assert changed >= 20, f"{path} changed {changed} outcomes of {N} under {arrangement}"


@pytest.mark.parametrize(
    ("path", "margin"),
    [
        ("organski.equal_commitment", 0.02),  # 17.0% -> 20.7% deterred
        ("organski.equal_freedom_of_action", 0.02),  # 17.0% -> 21.2%
        ("organski.sufficient_power", 0.5),  # 17.0% -> 86.3%
        ("morgenthau.subordination_of_interests", 0.05),  # 17.0% -> 31.6%
        ("free_riding", -0.03),  # exponent 0 -> 3: 20.1% -> 12.6%
    ],
)
def test_each_smaller_switch_moves_deterrence_the_way_its_theory_says(switched, path, margin):
    """More help foreseen deters more; free riders (smaller members scaling down) deter less.

    The same draws on both sides (common random numbers): a deterred replication stays
    deterred when the aggressor foresees more help, so the margins, a fraction of each effect,
    are many paired standard errors (at most 0.5 points here) wide.
    """
    off, on = switched[(path, "collective_security")]
    change = _share(on, DETERRED) - _share(off, DETERRED)
    assert change > margin if margin > 0 else change < margin, (path, change)
    more, fewer = (on, off) if margin > 0 else (off, on)
    assert not (fewer["deterred"] & ~more["deterred"]).any()  # the same replications, and more


def test_the_big_switches_work_the_way_their_theories_say(switched):
    cs = "collective_security"
    for path in (
        "organski.agreement_on_aggressor",
        "morgenthau.identical_beliefs",
        "morgenthau.overwhelming_force",
        "great_power_unity",
    ):
        off, on = switched[(path, cs)]
        # 5 points: over three standard errors of a difference of shares of N = 2,000 runs
        # (at most 1.6 points), so no sampling luck passes it; the effects are 15-92 points.
        assert _share(on, DETERRED) > _share(off, DETERRED) + 0.05, path
    # Organski 5: the aggressor facing a response modifies its policy rather than be defeated.
    off, on = switched[("organski.modify_or_defeated", cs)]
    assert _share(on, BACKED_DOWN) > _share(off, BACKED_DOWN)
    assert _share(on, AGGRESSOR_DEFEATED) < _share(off, AGGRESSOR_DEFEATED)
    # Buck-passing: each balancer waits for the others, and the aggressor counts on it.
    off, on = switched[("buck_passing", "balance_of_power")]
    assert _share(on, DETERRED) < _share(off, DETERRED) - 0.05  # 59.5% to 35.2% here


def test_unity_keeps_the_great_powers_from_splitting_in_a_vote():
    """Schuman: acting in unison, the great powers name the aggressor and vote as one."""
    sc = scenario.load("default")
    splits = {}
    for unity in (False, True):
        sc.theory.great_power_unity = unity
        plan = compile_scenario(sc)
        council = plan.institutions[0]
        r = simulate_chunk(plan, 1, 0, N)
        voted = r["vote_result"][:, 0] >= 0
        assert voted.sum() > 100
        great = [plan.scenario.states[m].great_power for m in council.members.tolist()]
        assert council.bloc.any() == unity
        assert set(np.flatnonzero(council.bloc)) <= set(np.flatnonzero(great))
        # A bloc member's veto names the first of them; without unity any may cast one.
        vetoers = set(r["vetoed_by"][voted & (r["vetoed_by"][:, 0] >= 0), 0].tolist())
        splits[unity] = len(vetoers)
    assert splits[True] <= 1 < splits[False]


@pytest.mark.parametrize(
    "casus,against,counted",
    [("any", [], True), ("against_named", ["BLUE"], True), ("against_named", ["GREEN"], False),
     ("defensive", [], False)],
)
def test_the_aggressor_counts_the_allies_its_attack_calls(casus, against, counted):
    """Its forecast adds each ally its attack calls, at the treaty's strength: a treaty for
    any war, or one against the target; not a defensive one (it is not attacked)."""
    sc = scenario.load("default")
    entente = next(t for t in sc.treaties if t.name == "Red-Purple entente")
    entente.casus, entente.against = casus, against
    plan = compile_scenario(sc)
    purple = sc.state_index("PURPLE")
    expected = entente.strength if counted else 0.0
    assert plan.belief_allies[purple] == pytest.approx(expected)
    assert np.count_nonzero(plan.belief_allies) == int(counted)
    alone = scenario.load("default")
    alone.treaties = [t for t in alone.treaties if t.name != "Red-Purple entente"]
    with_ally = simulate_chunk(plan, 1, 0, N)
    without = simulate_chunk(compile_scenario(alone), 1, 0, N)
    # Same draws: the estimate rises in every replication with a counted ally, else is the same.
    if counted:
        assert (with_ally["p_win_estimate"] > without["p_win_estimate"]).all()
        assert with_ally["deterred"].mean() < without["deterred"].mean()
        # The forecast's chance is the engine's: the partner honours the call that often.
        attacked = with_ally["deterred"] == 0
        joined = (with_ally["side"][attacked, purple] == 1).mean()
        se = np.sqrt(expected * (1 - expected) / attacked.sum())
        assert abs(joined - expected) < 4 * se, (joined, expected)
    else:
        np.testing.assert_array_equal(with_ally["p_win_estimate"], without["p_win_estimate"])


def test_a_state_is_forecast_on_one_side_only():
    """A treaty binding the aggressor, the target and a third state calls the third to the
    aggressor's side (it is called there first); an ally the aggressor's own war plan invades
    is no ally; and an ally's chance of helping the target is only what is left of it."""
    sc = scenario.load("default")
    purple = sc.state_index("PURPLE")
    entente = next(t for t in sc.treaties if t.name == "Red-Purple entente")
    entente.parties = ["RED", "BLUE", "PURPLE"]
    plan = compile_scenario(sc)
    assert plan.belief_allies[purple] == pytest.approx(entente.strength)
    # The treaty calls it to the aggressor's side, not the target's: its help for the target
    # is only the council's, and only if it does not honour the aggressor's call.
    alone = compile_scenario(_without_entente(scenario.load("default")))
    assert plan.belief_help[purple] == pytest.approx(
        alone.belief_help[purple] * (1 - entente.strength)
    )
    r = simulate_chunk(plan, 1, 0, N)
    attacked = r["deterred"] == 0
    assert (r["side"][attacked, purple] == 2).sum() == 0  # never on the target's side
    plain = compile_scenario(scenario.load("default"))
    assert plain.belief_help[purple] > 0  # the council may ask it to commit
    assert plain.belief_help[purple] < compile_scenario(
        _without_entente(scenario.load("default"))
    ).belief_help[purple]
    invading = scenario.load("default")
    invading.states[invading.state_index("RED")].attacks_on_entry = ["PURPLE"]
    assert compile_scenario(invading).belief_allies[purple] == 0.0


def _without_entente(sc: Scenario) -> Scenario:
    sc.treaties = [t for t in sc.treaties if t.name != "Red-Purple entente"]
    return sc


def test_a_treaty_against_the_aggressor_is_foreseen_like_a_defensive_one():
    """The target's partner under a treaty naming the aggressor is called the day of the attack,
    so the aggressor's forecast counts it as it counts a defensive ally."""
    helps = {}
    treaties = (("defensive", []), ("against_named", ["RED"]), ("against_named", ["EAST"]))
    for casus, against in treaties:
        sc = _five("alliance")
        t = sc.treaties[0]
        t.casus, t.against = casus, against
        plan = compile_scenario(sc)
        partner = [c for c in t.parties if c != sc.target][0]
        helps[(casus, *against)] = plan.belief_help[sc.state_index(partner)]
        if casus == "against_named" and against == ["RED"]:
            r = simulate_chunk(plan, 1, 0, 500)
            attacked = r["deterred"] == 0
            assert (r["entry_day"][attacked, sc.state_index(partner)] >= 0).mean() > 0.5
    assert sc.aggressor == "RED"
    assert helps[("against_named", "RED")] == helps[("defensive",)] > 0
    assert helps[("against_named", "EAST")] < helps[("defensive",)]


@pytest.mark.parametrize(
    "overwhelming", [False, True], ids=["as given", "Organski 5, strong target"]
)
def test_self_help_responds_only_where_a_balancer_acts(overwhelming):
    """Balance of power: no response on record, and nothing to back down from, unless some
    balancer commits forces (each replication's story says who commits); and the aggressor
    foresees no balancer when no gain could threaten predominance. With Organski's fifth, a
    target strong enough alone does not make the aggressor back down from a response nobody
    gave."""
    from crisis_sim.crisis import Crisis

    sc = _five("balance_of_power")
    if overwhelming:
        sc.theory.organski.modify_or_defeated = True
        sc.states[sc.state_index(sc.target)].capability.mean = 0.058
    plan = compile_scenario(sc)
    r = simulate_chunk(plan, 1, 0, 400)
    seen = {"military": 0, "backed_down": 0, "voted_yes_no_one_came": 0}
    for rep in np.flatnonzero(r["vote_result"][:, 0] == 1).tolist():
        story = Crisis(plan, 1, rep, rep + 1, story=True)
        one = story.run()
        committed = any(step == 8 for _, step, _ in story.story or [])
        military = one["response_level"][0, 0] == 3
        assert military == committed, (rep, story.story)
        if one["outcome"][0] == BACKED_DOWN:
            assert committed, (rep, story.story)
            seen["backed_down"] += 1
        seen["military"] += military
        seen["voted_yes_no_one_came"] += not committed
    assert all(n > 0 for n in seen.values()), seen
    sc.institutions[0].predominance = 100.0  # no gain could ever threaten predominance
    assert (compile_scenario(sc).belief_help == 0).all()


def test_schuman_as_an_experiment_over_great_power_affinity():
    """The Council acts less, and is vetoed more, the more one great power sides with the
    aggressor: a sweep of EAST's sympathy for RED in the default scenario (same draws)."""
    from crisis_sim.rules import VETOED
    from crisis_sim.sweep import plans_for

    values = np.array([[-1.0], [0.0], [1.0]])
    plans = plans_for(scenario.load("default"), ["states.EAST.affinity_aggressor"], values)
    responded, vetoed = [], []
    for plan in plans:
        r = simulate_chunk(plan, 1, 0, N)
        hit = r["outcome"] != DETERRED
        responded.append(float((r["response_level"][hit, 0] >= 1).mean()))
        vetoed.append(float((r["vote_result"][hit, 0] == VETOED).mean()))
    # Margins of 5 and 10 points: about three and six standard errors of a difference of
    # shares of the ~1,600 attacked runs of N = 2,000 (README: 45.8%, 32.2% and 0% at 4,000
    # per point).
    assert responded[0] > responded[1] + 0.05 > responded[2] + 0.1
    assert responded[2] == 0.0  # EAST, a permanent member, votes no: nothing ever passes
    assert vetoed[0] < vetoed[1] < vetoed[2]


def test_nobody_passes_the_buck_to_the_aggressor_or_its_victim():
    """Buck-passing counts the stronger balancers only: the parties to the war are not ones."""
    import dataclasses

    from crisis_sim.compiled import balancer_rank

    plan = compile_scenario(_five("balance_of_power"))
    (inst,) = [i for i in plan.institutions if i.rule_name == "unilateral"]
    a, g = plan.aggressor, plan.target
    assert a not in inst.covered and g not in inst.covered  # as bundled: third states only
    cap = plan.cap_mean.copy()
    cap[a] = cap[g] = cap.max() + 1.0  # both stronger than every balancer
    wider = dataclasses.replace(inst, covered=np.concatenate([inst.covered, [a, g]]))
    rank = balancer_rank(wider, cap, a, g)
    third = balancer_rank(inst, cap, a, g)
    np.testing.assert_array_equal(rank[: len(inst.covered)], third)  # the parties add nobody
    c = cap[inst.covered]
    assert third.tolist() == [int((c > x).sum()) for x in c]


def test_forecast_and_crisis_pass_the_buck_past_the_parties_alike():
    """Self-help that covers the aggressor and its victim, both stronger than every balancer,
    with full buck-passing: the strongest balancer still acts, in the aggressor's forecast and
    in the crisis alike, and the others pass the buck to it. Counting the parties as balancers
    to pass the buck to would leave no one to act in either."""
    from crisis_sim.outcomes import Reason

    sc = _five("balance_of_power")
    sc.institutions[0].members = ["RED", "BLUE", *sc.institutions[0].members]
    for code, cap in (("RED", 0.2), ("BLUE", 0.15)):  # WEST, the strongest balancer: 0.12
        sc.states[sc.state_index(code)].capability.mean = cap
    sc.theory.buck_passing = 1.0
    sc = Scenario.model_validate(sc.model_dump())  # through the loader's checks again
    plan = compile_scenario(sc)
    idx = {s.code: sc.state_index(s.code) for s in sc.states}
    assert plan.belief_help[idx["WEST"]] > 0
    assert plan.belief_help[[idx[c] for c in ("EAST", "NORTH", "RED", "BLUE")]].tolist() == [0] * 4
    r = simulate_chunk(plan, 1, 0, N)
    acted = (r["entry_reason"] == Reason.SELF_HELP).sum(axis=0)
    assert acted[idx["WEST"]] > 0
    assert acted.sum() == acted[idx["WEST"]]
    assert set(r["entry_reason"][:, idx["RED"]].tolist()) <= {Reason.NONE, Reason.PARTY}


def test_the_world_authority_answers_to_the_coalition_switches():
    """The world authority's force is a coalition like any other: with Organski's fifth an
    overwhelmed aggressor backs down, and sufficient power (ten times the aggressor's) sends
    a force that ends every war no later and most much sooner."""
    sc = _five("global_government")
    sc.decision.attack_threshold = 0.0  # every replication attacks: the war shows
    sc.decision.backdown.military = 0.0  # no back-down but the overwhelmed one
    base = _runs(sc)
    assert _share(base, BACKED_DOWN) == 0.0
    fifth = sc.model_copy(deep=True)
    fifth.theory.organski.modify_or_defeated = True
    assert _share(_runs(fifth), BACKED_DOWN) > 0.9
    big = sc.model_copy(deep=True)
    big.theory.organski.sufficient_power = True
    big.theory.organski.sufficiency_ratio = 10.0
    ends = _runs(big)["end_day"]
    assert (ends <= base["end_day"]).all()
    assert ends.mean() < 0.75 * base["end_day"].mean()


@pytest.mark.parametrize(
    "arrangement", ["collective_security", "balance_of_power", "global_government"]
)
def test_the_forecast_counts_the_stages_up_to_the_first_military_one(arrangement):
    """The aggressor expects force from an institution as the crisis gives it: once every
    stage up to the military one has passed (none may follow it: the stages escalate); an
    institution with no military stage sends nobody, in the forecast and in the crisis."""
    from crisis_sim.outcomes import Reason

    def with_levels(levels: list[str]) -> Scenario:
        sc = _five(arrangement)
        inst = sc.institutions[0]
        inst.stages = [inst.stages[-1].model_copy(update={"level": lv}) for lv in levels]
        return Scenario.model_validate(sc.model_dump())

    plain = compile_scenario(with_levels(["condemnation", "military"]))
    with pytest.raises(ValueError, match="'sanctions' after 'military'; the stages must escalate"):
        with_levels(["condemnation", "military", "sanctions"])
    assert plain.belief_help.max() > 0
    direct = compile_scenario(with_levels(["military"]))
    assert (direct.belief_help >= plain.belief_help).all()  # one vote fewer to pass
    none = compile_scenario(with_levels(["condemnation", "sanctions"]))
    assert none.belief_help.max() == 0.0
    r = simulate_chunk(none, 1, 0, N)
    came = np.isin(r["entry_reason"], [Reason.INSTITUTION, Reason.SELF_HELP])
    assert not came.any()


def test_an_absent_great_power_neither_joins_nor_sways_the_bloc():
    """Schuman's unity binds the great powers that vote: one that is absent (no vote, no veto)
    does not pull the bloc's shared vote towards its own sympathy for the aggressor."""

    def passed(unity: bool) -> float:
        sc = scenario.from_dict({
            "name": "absent_power", "aggressor": "AGG", "target": "TGT",
            "decision": {"attack_threshold": 0.0},
            "theory": {"great_power_unity": unity,
                       "organski": {"agreement_on_aggressor": True}},
            "states": [
                {"code": "AGG", "capability": {"mean": 0.1}},
                {"code": "TGT", "capability": {"mean": 0.1}},
                *({"code": c, "capability": {"mean": 0.2}, "great_power": True,
                   "affinity_target": 1.0} for c in ("GPA", "GPB")),
                {"code": "GPC", "capability": {"mean": 0.2}, "great_power": True,
                 "affinity_aggressor": 1.0},
            ],
            "institutions": [{
                "name": "Council", "arrangement": "collective_security",
                "rule": "qualified_majority", "members": ["GPA", "GPB", "GPC"],
                "permanent": ["GPA", "GPB", "GPC"], "quota": 2, "absent": ["GPC"],
                "covers": ["TGT", "AGG"],
                "stages": [{"level": "condemnation", "deliberation": {"median": 2}}],
            }],
        })
        plan = compile_scenario(sc)
        assert plan.institutions[0].bloc.tolist() == [unity, unity, False]
        r = simulate_chunk(plan, 1, 0, N)
        return float((r["vote_result"][:, 0] == 1).mean())

    alone, united = passed(False), passed(True)
    assert alone > 0.95
    assert united > 0.95  # was ~0.65: the absent, hostile GPC counted in the bloc's vote


# ------------------------------------------------------------- who counts as a response


def _no_arrangement() -> Scenario:
    return _five("none")


def test_with_no_arrangement_an_imposed_coalition_deters_no_one() -> None:
    """Organski's fourth and Morgenthau's first are about a system's cooperating members: with
    no institution or treaty that could bring a third state in, they imagine no coalition."""
    plain = _no_arrangement()
    assert _share(_runs(plain), DETERRED) < 0.5  # the aggressor is not simply outmatched here
    for switch in ("organski.sufficient_power", "morgenthau.overwhelming_force"):
        sc = plain.model_copy(deep=True)
        _set(switch)(sc.theory, True)
        assert compile_scenario(sc).coalition_ratio == 0.0
        np.testing.assert_array_equal(_runs(sc)["deterred"], _runs(plain)["deterred"])


def test_free_riders_measure_themselves_against_the_largest_third_state() -> None:
    """A stronger aggressor does not make the members commit less: smaller members rely on the
    largest third state, never on a party to the crisis."""
    sc = scenario.load("default")
    stronger = sc.model_copy(deep=True)
    stronger.states[[s.code for s in sc.states].index(sc.aggressor)].capability.mean = 0.3
    a, b = compile_scenario(sc), compile_scenario(stronger)
    for ia, ib in zip(a.institutions, b.institutions, strict=True):
        third = (ia.covered != a.aggressor) & (ia.covered != a.target)
        np.testing.assert_array_equal(ia.share[third], ib.share[third])
        assert ia.share[third].max() == 1.0  # the largest third state bears its whole share


def test_a_neutral_the_aggressor_invades_is_no_response() -> None:
    """With no arrangement, a war plan that invades a neutral brings it into the war on the
    target's side, but nobody responded: a target that falls fell unanswered."""
    sc = _no_arrangement()
    codes = [s.code for s in sc.states]
    third = [s for s in sc.states if s.code not in (sc.aggressor, sc.target)]
    neutral = min(third, key=lambda s: s.capability.mean or 1.0).code  # the weakest
    sc.states[codes.index(sc.aggressor)].attacks_on_entry = [neutral]
    r = _runs(sc)
    fell = r["target_fell_day"] >= 0
    assert fell.sum() > 50
    invaded = r["entry_reason"][:, codes.index(neutral)] == int(Reason.ATTACKED)
    assert invaded[fell].mean() > 0.9
    assert (r["outcome"][fell] == NO_RESPONSE).all()


def test_a_condemnation_after_the_fall_answers_the_crisis() -> None:
    """The target fell, and an institution condemned (even after the fall): a fait accompli,
    not "no response"; where nobody responded at all it is "no response"."""
    r = simulate_chunk(compile_scenario(scenario.load("manchuria_1931")), 1, 0, N)
    fell = r["target_fell_day"] >= 0
    answered = (r["response_level"] > 0).any(axis=1)
    assert (fell & answered).sum() > 100 and (fell & ~answered).sum() > 0
    assert (r["outcome"][fell & answered] == FAIT_ACCOMPLI).all()
    assert (r["outcome"][fell & ~answered] == NO_RESPONSE).all()


def test_organski_fifth_weighs_whole_sides():
    """The aggressor is overwhelmed by the collective might against its side: forces already at
    war for the target count with those just committed, its own allies at war count for it,
    and a state just committed that is already on the war roll counts once."""
    from crisis_sim.codes import AGGRESSOR_SIDE, DEFENDER_SIDE
    from crisis_sim.crisis import Crisis

    sc = scenario.load("default")
    sc.theory.organski.modify_or_defeated = True
    plan = compile_scenario(sc)
    c = Crisis(plan, 1, 0, 4)
    a, g = plan.aggressor, plan.target
    green, purple = plan.codes.index("GREEN"), plan.codes.index("PURPLE")
    force = {a: 6.0, g: 3.0, green: 2.0, purple: 1.5}
    assert c.b_state.shape[1] >= 4  # room on the roll for four belligerents
    rolls = [[a, g], [a, g, green], [a, g, green, purple], [a, g, green]]
    for r, states in enumerate(rolls):
        c.n_bel[r] = len(states)
        for place, s in enumerate(states):
            c.b_state[r, place] = s
            c.b_side[r, place] = AGGRESSOR_SIDE if s in (a, purple) else DEFENDER_SIDE
            c.b_entry[r, place] = 0
            c.b_force[r, place] = force[s]
    chosen = np.zeros((4, len(plan.codes)), dtype=bool)
    chosen[3, green] = True  # committed by this vote, and already on the roll since day 0
    members = np.arange(len(plan.codes))
    committed = np.full(4, 6.0 - 3.0 - 1.0)  # just short of the aggressor alone
    overwhelmed = c._overwhelmed(0, np.arange(4), members, chosen, committed)
    assert overwhelmed.tolist() == [False, True, False, False]


def test_free_riders_scale_to_the_largest_third_state_of_their_own_replication():
    """The share each covered state commits follows the capabilities drawn in that replication
    (the forecast takes the medians'): a state larger than the largest third state's median,
    but not the largest in this replication, commits less than all of its strength."""
    from crisis_sim.crisis import Crisis

    sc = _five("collective_security")
    sc.theory.free_riding = 1.0
    plan = compile_scenario(sc)
    inst = plan.institutions[0]
    c = Crisis(plan, 1, 0, 2)
    third = (inst.covered != plan.aggressor) & (inst.covered != plan.target)
    c.cap[0, inst.covered] = 0.01
    c.cap[1, inst.covered] = 0.01
    j, k = np.flatnonzero(third)[:2]
    c.cap[0, inst.covered[j]] = 0.04  # the largest in replication 0
    c.cap[1, inst.covered[j]] = 0.04
    c.cap[1, inst.covered[k]] = 0.08  # outgrown in replication 1
    share = c._burden(inst, np.arange(2))
    assert share[0, j] == 1.0 and share[1, j] == 0.5 and share[1, k] == 1.0
    assert share[0, k] == 0.25  # 0.01 of 0.04
