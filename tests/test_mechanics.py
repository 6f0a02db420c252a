"""The model's mechanics one by one, against closed forms and their stated rules.

The contest success function, the attrition laws, sanctions, backing down, stalemate, the world
authority's fixed delay and absence of veto, and collective defense's outside attacker.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from crisis_sim import codes, kernel, scenario
from crisis_sim.codes import COMBAT
from crisis_sim.compare import variant
from crisis_sim.compiled import applies, compile_scenario
from crisis_sim.crisis import simulate_chunk
from crisis_sim.libm import exp
from crisis_sim.outcomes import BACKED_DOWN, STALEMATE
from crisis_sim.rng import normal_pair_at, rep_key
from crisis_sim.rules import VETOED

SANCTIONS = 2

positive = st.floats(1e-6, 1e3, allow_nan=False)


@settings(deadline=None)  # the first call loads the compiled kernel
@given(positive, positive, st.floats(0.1, 5.0))
def test_contest_success_is_tullocks(a, b, m):
    p = kernel.contest_success(np.array([a]), np.array([b]), m)[0]
    assert p == pytest.approx(a**m / (a**m + b**m), rel=1e-9, abs=1e-12)


def test_contest_success_edges():
    p = kernel.contest_success(np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0]), 1.5)
    assert p.tolist() == [0.5, 1.0, 0.0]


@settings(deadline=None)
@given(st.integers(0, 3650), st.floats(0.0, 1.0), st.floats(0.0, 3650.0))
def test_full_strength_day_is_where_the_ramp_reaches_one_for_good(entry, ready, full_days):
    """The kernel adds a belligerent's whole force from this day on, skipping the ramp."""
    day = kernel.full_strength_day(entry, ready, full_days)
    assert entry <= day <= entry + np.ceil(full_days) + 1  # not later than the ramp's end
    ramp = kernel._ramp.py_func
    later = [day, day + 1, day + 2, day + 37, day + 4000]
    assert all(ramp(t, entry, ready, full_days) == 1.0 for t in later)


@njit
def _every_day(t_end, rep_id, n_bel, b_state, b_side, b_entry, b_force, mobilization,
               sanction_day, seed, law, combat, loss_a, loss_d, end_day, ending):  # fmt: skip
    """The combat kernel's days as first written: every belligerent's ramp, every day."""
    attrition, eff_sd, adv, sanctions, resolve_a, resolve_d = combat
    half_var = 0.5 * eff_sd * eff_sd
    for r in range(rep_id.shape[0]):
        key = rep_key(seed, rep_id[r])
        la = ld = frac_a = frac_d = 0.0
        for t in range(t_end):
            a_mob = d_mob = 0.0
            for j in range(n_bel[r]):
                entry, s = b_entry[r, j], b_state[r, j]
                if t < entry + mobilization[s, 2]:
                    continue
                f = b_force[r, j] * kernel._ramp(t, entry, mobilization[s, 0], mobilization[s, 1])
                if b_side[r, j] == codes.AGGRESSOR_SIDE:
                    a_mob += f
                else:
                    d_mob += f
            if t >= sanction_day[r]:
                a_mob *= 1.0 - sanctions
            a_now, d_now = max(a_mob - la, 0.0), max(d_mob - ld, 0.0)
            za, zd = normal_pair_at(key, COMBAT, t)
            hit_a = attrition * (adv * exp(eff_sd * zd - half_var)) * d_now
            hit_d = attrition * exp(eff_sd * za - half_var) * a_now
            hit_a *= a_now / (a_mob + 1e-300) if law == 1 else 1.0
            hit_d *= d_now / (d_mob + 1e-300) if law == 1 else 1.0
            la += min(hit_a, a_now)
            ld += min(hit_d, d_now)
            frac_a = la / a_mob if a_mob > 0.0 else 1.0
            frac_d = ld / d_mob if d_mob > 0.0 else 1.0
            if frac_a >= resolve_a or frac_d >= resolve_d:
                end_day[r] = t
                broke_d = frac_d >= resolve_d
                if broke_d and (frac_a < resolve_a or frac_d / resolve_d >= frac_a / resolve_a):
                    ending[r] = codes.DEFENDERS_BROKE
                else:
                    ending[r] = codes.AGGRESSOR_BROKE
                break
        loss_a[r], loss_d[r] = la, ld


@pytest.mark.parametrize("law", [0, 1])
def test_the_kernel_fights_as_if_every_ramp_were_taken_every_day(law):
    """The kernel's shortcuts (belligerents unpacked per segment, a force at full strength added
    without its ramp, wars cut at event days) against the plain day-by-day loop, bit for bit.

    Random wars on fractional days to full strength and transit, ready shares of 0 and 1 and a
    hair below 1 (at full strength long before ``entry + full_days``), sanctions, both laws:
    cases the shipped scenarios do not have.
    """
    gen = np.random.default_rng(11)
    n, width, states, t_end = 3000, 6, 9, 160
    mobilization = np.column_stack([
        gen.choice([0.0, 0.3, 1.0, 1.0 - 2.0**-53, 0.999999], states),
        gen.choice([0.0, 0.5, 7.25, 20.0, 33.3, 364.9], states),
        gen.choice([0.0, 0.75, 2.0, 9.5], states),
    ])  # fmt: skip
    n_bel = gen.integers(2, width + 1, n).astype(np.int16)
    b_state = np.zeros((n, width), np.int16)
    b_side = np.zeros((n, width), np.int8)
    b_entry = np.zeros((n, width), np.int32)
    b_force = gen.uniform(0.05, 1.0, (n, width))
    mobilization[:2] = [[0.3, 20.5, 0.0], [1.0 - 2.0**-53, 33.3, 0.0]]  # the two parties
    for r in range(n):  # states 0 and 1 at war from day 0, the others joining on either side
        b_state[r] = np.sort(np.r_[0, 1, gen.choice(np.arange(2, states), width - 2, False)])
        b_side[r] = gen.choice([codes.AGGRESSOR_SIDE, codes.DEFENDER_SIDE], width)
        b_side[r, :2] = codes.AGGRESSOR_SIDE, codes.DEFENDER_SIDE
        b_entry[r] = np.where(b_state[r] < 2, 0, gen.integers(0, 40, width))
    sanction_day = np.where(gen.random(n) < 0.3, gen.integers(0, 60, n), 1 << 40)
    combat = np.array([0.004, 0.3, 1.1, 0.25, 0.5, 0.5])
    rep_id = np.arange(5_000, 5_000 + n, dtype=np.int64)
    want = [np.zeros(n), np.zeros(n), np.full(n, -7, np.int32), np.zeros(n, np.int8)]
    _every_day(t_end, rep_id, n_bel, b_state, b_side, b_entry, b_force, mobilization,
               sanction_day, 3, law, combat, *want)  # fmt: skip
    got = [np.zeros(n), np.zeros(n), np.full(n, -7, np.int32), np.zeros(n, np.int8)]
    fought_to = np.zeros(n, np.int64)
    no = np.zeros(n, dtype=bool)
    reps = np.arange(n, dtype=np.int64)
    for day_to in (1, 17, 18, 45, t_end):  # cut at event days, as the crisis does
        kernel.advance_war_serial(reps, day_to, rep_id, n_bel, b_state, b_side, b_entry,
                                  b_force, mobilization, sanction_day, got[0], got[1], got[2],
                                  got[3], fought_to, no, no, 3, law, combat)  # fmt: skip
    for name, a, b in zip(("loss_a", "loss_d", "end_day", "ending"), got, want, strict=True):
        assert np.array_equal(a, b), name
    assert np.bincount(got[3], minlength=3).min() > 100  # wars running on, and either side broken
    assert np.median(got[2][got[3] > 0]) > 60  # most past full strength before they ended


def test_a_war_roll_narrower_than_its_war_is_refused():
    """The kernel copies a war's belligerents into scratch as wide as the roll: never past it."""
    one, two = np.zeros(1, np.int64), np.zeros((1, 2))
    args = (np.zeros(1, np.int64), 5, one, np.array([3], np.int16), np.zeros((1, 2), np.int16),
            np.ones((1, 2), np.int8), np.zeros((1, 2), np.int32), two, np.ones((1, 3)),
            np.full(1, 1 << 40), np.zeros(1), np.zeros(1), np.zeros(1, np.int32),
            np.zeros(1, np.int8), one.copy(), np.zeros(1, bool), np.zeros(1, bool), 1, 0,
            np.array([0.01, 0.3, 1.0, 0.0, 0.5, 0.5]))  # fmt: skip
    with pytest.raises(ValueError, match="more belligerents than its roll"):
        kernel.advance_war_serial(*args)


def _duel(law: str, days: int) -> dict:
    """Two states only, everything certain: full strength at once, effectiveness exactly 1."""
    raw = {
        "name": "duel",
        "aggressor": "AGG",
        "target": "DEF",
        "horizon_days": days - 1,  # the war is fought on days 0 .. horizon
        "decision": {"attack_threshold": 0.0},
        "combat": {"law": law, "attrition": 0.01, "effectiveness_sd": 0.0,
                   "defender_advantage": 1.5},
        "states": [
            {"code": "AGG", "capability": {"mean": 0.3, "spread": 0.0}, "resolve": 0.99,
             "mobilization": {"ready": 1.0, "full_days": 0}},
            {"code": "DEF", "capability": {"mean": 0.2, "spread": 0.0}, "resolve": 0.99,
             "mobilization": {"ready": 1.0, "full_days": 0}},
        ],
    }
    return simulate_chunk(compile_scenario(scenario.from_dict(raw, origin="duel")), 1, 0, 3)


@pytest.mark.parametrize("law", ["lanchester_square", "lanchester_linear"])
def test_attrition_laws_follow_their_closed_form_day_by_day(law):
    """Each day a side loses attrition x effectiveness x the enemy still standing; under the
    linear law that is also scaled by the side's own share still standing."""
    att, adv, a0, d0 = 0.01, 1.5, 0.3, 0.2
    la = ld = 0.0
    for _ in range(3):
        a, d = a0 - la, d0 - ld
        hit_a, hit_d = att * adv * d, att * a
        if law == "lanchester_linear":
            hit_a, hit_d = hit_a * a / a0, hit_d * d / d0
        la, ld = la + min(hit_a, a), ld + min(hit_d, d)
    r = _duel(law, 3)
    assert r["losses_aggressor"] == pytest.approx(np.full(3, la), rel=1e-6)
    assert r["losses_defenders"] == pytest.approx(np.full(3, ld), rel=1e-6)


def _abyssinia(**changes: float) -> dict:
    sc = scenario.load("abyssinia_1935")
    for path, value in changes.items():
        obj = sc
        *head, leaf = path.split("__")
        for part in head:
            obj = getattr(obj, part)
        setattr(obj, leaf, value)
    return simulate_chunk(compile_scenario(sc), 1, 0, 600)


def test_sanctions_weaken_the_aggressor_from_the_day_they_start():
    """Abyssinia: sanctions pass in nearly every run; biting ones delay the fall."""
    spared = _abyssinia(combat__sanctions_effect=0.0)
    biting = _abyssinia(combat__sanctions_effect=0.5)
    assert (spared["response_level"][:, 0] == SANCTIONS).mean() > 0.9
    fell = [r["target_fell_day"][r["target_fell_day"] >= 0] for r in (spared, biting)]
    # Medians of 210 and 344.5 days here (586 and 396 falls of 600): 20 days is a floor far
    # below the effect and far above the spread of a median of ~400 draws.
    assert np.median(fell[1]) > np.median(fell[0]) + 20
    # Where no sanctions came, the wars are the same, bit for bit (common random numbers).
    unsanctioned = spared["response_level"][:, 0] < SANCTIONS
    assert 0 < unsanctioned.sum() < len(unsanctioned)
    for record in ("end_day", "losses_aggressor", "losses_defenders"):
        assert (biting[record][unsanctioned] == spared[record][unsanctioned]).all()


def test_the_aggressor_backs_down_when_sure_to_under_sanctions():
    r = _abyssinia(decision__backdown__sanctions=1.0)
    sanctioned = r["response_level"][:, 0] == SANCTIONS
    assert sanctioned.mean() > 0.9
    assert (r["outcome"][sanctioned] == BACKED_DOWN).all()


def test_a_war_still_running_at_the_horizon_is_a_stalemate():
    r = _abyssinia(horizon_days=30)  # Ethiopia fell after about seven months
    assert (r["outcome"] == STALEMATE).mean() > 0.95


def test_the_world_authority_acts_after_a_fixed_delay_without_a_vote_or_veto():
    sc = variant(scenario.load("five_arrangements"), "global_government")
    plan = compile_scenario(sc)
    world = plan.codes.index("WORLD")
    r = simulate_chunk(plan, 1, 0, 1000)
    attacked = r["deterred"] == 0
    assert attacked.any()
    assert not (r["vote_result"] == VETOED).any()
    entered = r["entry_day"][attacked, world]
    assert len(np.unique(entered[entered >= 0])) == 1  # one fixed day, whatever the draws


def test_collective_defense_answers_only_an_attacker_from_outside():
    sc = variant(scenario.load("five_arrangements"), "collective_defense")
    plan = compile_scenario(sc)
    inst = plan.institutions[0]
    assert applies(inst, plan.aggressor, plan.target)
    member = next(int(m) for m in inst.covered if m != plan.target)
    assert not applies(inst, member, plan.target)  # an ally turned aggressor: no Article 5
    sc.institutions[0].covers = [*sc.institutions[0].covers, sc.aggressor]
    inside = compile_scenario(sc)
    r = simulate_chunk(inside, 1, 0, 300)
    assert (r["referral_day"][:, 0] < 0).all()
