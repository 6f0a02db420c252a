"""Step 10's treaty calls, compiled (``cohort.treaty_plan``, ``cohort.treaty_calls``), read plainly.

The reference below walks the treaties as the scenario language defines them, one treaty, one
(state, side) of the day's entrants and one partner at a time, with the draws of
``rng.uniforms_serial`` and ``rng.lognormal_days``: the compiled pass must make the same calls,
in the same order (the story tells them in that order), with the same answers and delays.
"""

from __future__ import annotations

import numpy as np

from crisis_sim import cohort, rng
from crisis_sim.codes import (
    AGAINST_NAMED,
    AGGRESSOR_SIDE,
    ANY_WAR,
    DEFENDER_SIDE,
    DEFENSIVE,
    HONOUR,
    NOT_ENTERED,
    TREATY_DELAY,
)
from crisis_sim.compiled import TreatyPlan, treaty_tables

SEED = 5


def _calls(day, reps, states, sides, rep_id, side, entry, treaties):
    """The compiled passes, as the crisis calls them."""
    casus, parties, against, terms = treaty_tables(treaties)
    groups = cohort.grouped(states * 4 + sides, 4 * side.shape[1])
    picked, todo = cohort.treaty_plan(day, reps, *groups, side, entry, casus, parties, against)
    return cohort.treaty_calls(SEED, day, reps, rep_id, entry, picked, todo, terms)


def _reference(day, reps, states, sides, rep_id, side, entry, treaties):
    """Each call as ``(rep, treaty, partner, side, honours, delay)``, in the treaties' order."""
    out = []

    def call(rows, t, partner, join):
        for r in rows:
            if entry[r, partner] <= day:
                continue
            draw = np.array([t.index * 1024 + partner])
            who = rep_id[[r]]
            honours = rng.uniforms_serial(SEED, who, HONOUR, draw)[0, 0] < t.strength
            delay = rng.lognormal_days(SEED, who, TREATY_DELAY, draw, *t.delay)[0]
            out.append((r, t.index, partner, join, int(honours), int(delay) if honours else 0))

    keys = sorted({(int(s), int(d)) for s, d in zip(states, sides, strict=True)})
    for t in treaties:
        parties, against = t.parties.tolist(), t.against.tolist()
        for s_new, joined in keys:
            rows = [int(r) for r, s, d in zip(reps, states, sides, strict=True)
                    if (s, d) == (s_new, joined)]  # fmt: skip
            enemy = AGGRESSOR_SIDE if joined == DEFENDER_SIDE else DEFENDER_SIDE
            if s_new in parties and (
                t.casus == ANY_WAR or (t.casus == DEFENSIVE and joined == DEFENDER_SIDE)
            ):
                for q in parties:
                    if q != s_new:
                        call(rows, t, q, joined)
            if t.casus == AGAINST_NAMED and s_new in against:
                for q in parties:  # the named state is at war with this party: its partners
                    hit = [r for r in rows if side[r, q] == enemy and entry[r, q] <= day]
                    for o in parties:
                        if hit and o != q:
                            call(hit, t, o, enemy)
            if t.casus == AGAINST_NAMED and s_new in parties:  # a party joins a named state's war
                hit = [r for r in rows if any(side[r, x] == enemy for x in against
                                              if entry[r, x] <= day)]  # fmt: skip
                for o in parties:
                    if o != s_new:
                        call(hit, t, o, joined)
    return out


def _instance(gen: np.random.Generator, n_states: int = 7, n_reps: int = 12):
    treaties = []
    for k in range(int(gen.integers(1, 5))):
        casus = int(gen.integers(0, 3))
        parties = gen.choice(n_states, size=int(gen.integers(2, 4)), replace=False)
        against = (  # named states: any, a party too, one named twice now and then
            gen.choice(n_states, size=int(gen.integers(1, 4)), replace=True)
            if casus == AGAINST_NAMED
            else np.zeros(0, dtype=np.int64)
        )
        treaties.append(
            TreatyPlan(
                index=k,
                name=f"t{k}",
                parties=parties.astype(np.int64),
                casus=casus,
                against=against.astype(np.int64),
                strength=float(gen.uniform(0.2, 1.0)),
                delay=(float(gen.uniform(1, 20)), float(gen.uniform(0, 1))),
            )
        )
    day = int(gen.integers(0, 30))
    side = gen.integers(0, 3, size=(n_reps, n_states)).astype(np.int8)
    entry = np.where(side > 0, gen.integers(0, 40, size=side.shape), NOT_ENTERED).astype(np.int32)
    # The day's new belligerents: distinct (replication, state) pairs, sorted as entered.
    pairs = sorted({(int(r), int(s)) for r, s in gen.integers(0, [n_reps, n_states], (20, 2))})
    reps = np.array([r for r, _ in pairs], dtype=np.int64)
    states = np.array([s for _, s in pairs], dtype=np.int64)
    sides = gen.integers(1, 3, size=len(pairs)).astype(np.int8)
    side[reps, states], entry[reps, states] = sides, day
    rep_id = gen.permutation(1000)[:n_reps].astype(np.int64)
    return day, reps, states, sides, rep_id, side, entry, treaties


def test_treaty_calls_follow_the_treaties():
    gen = np.random.default_rng(2024)
    made = 0
    for _ in range(300):
        day, reps, states, sides, rep_id, side, entry, treaties = _instance(gen)
        got = _calls(day, reps, states, sides, rep_id, side, entry, treaties)
        want = _reference(day, reps, states, sides, rep_id, side, entry, treaties)
        assert [tuple(row) for row in got.tolist()] == want
        made += len(want)
    assert made > 1000  # the instances do make calls, of every kind below


def test_every_casus_calls_someone():
    gen = np.random.default_rng(7)
    kinds: set[int] = set()
    for _ in range(300):
        day, reps, states, sides, rep_id, side, entry, treaties = _instance(gen)
        got = _calls(day, reps, states, sides, rep_id, side, entry, treaties)
        kinds |= {treaties[t].casus for t in got[:, 1].tolist()}
    assert kinds == {DEFENSIVE, AGAINST_NAMED, ANY_WAR}


def test_a_large_treaty_calls_every_partner():
    """More calls than entrants: every partner of a forty-state treaty, once, in its order."""
    n = 40
    treaty = TreatyPlan(0, "all", np.arange(n, dtype=np.int64), ANY_WAR, np.zeros(0, np.int64),
                        1.0, (3.0, 0.0))  # fmt: skip
    side = np.zeros((1, n), dtype=np.int8)
    entry = np.full((1, n), NOT_ENTERED, dtype=np.int32)
    side[0, 0], entry[0, 0] = DEFENDER_SIDE, 0
    one = np.zeros(1, dtype=np.int64)
    got = _calls(0, one, one, np.full(1, DEFENDER_SIDE, np.int8), one, side, entry, [treaty])
    assert got[:, 2].tolist() == list(range(1, n))  # every partner, once, in the treaty's order
    assert (got[:, 4] == 1).all() and (got[:, 5] == 3).all()  # strength 1, a fixed three days
