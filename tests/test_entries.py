"""Step 9's entries, compiled (``cohort.claim_keys`` and ``cohort.enter``), against a plain reading.

The reference sorts the day's claims with NumPy's ``lexsort`` (replication, state, reason, side,
largest share first) and lets the first claim on each (replication, state) pair enter, if the
crisis is open and the state not yet at war. The compiled passes must admit the same claims,
in the same order, and write the same records and war roll.
"""

from __future__ import annotations

import numpy as np
import pytest

from crisis_sim import cohort
from crisis_sim.codes import NOT_ENTERED

N_REPS, N_STATES = 6, 5


def _world(gen: np.random.Generator, width: int, at_war: int = 3):
    entry = np.full((N_REPS, N_STATES), NOT_ENTERED, dtype=np.int32)
    side = np.zeros((N_REPS, N_STATES), dtype=np.int8)
    n_bel = np.zeros(N_REPS, dtype=np.int16)
    roll = (
        np.zeros((N_REPS, width), dtype=np.int16),
        np.zeros((N_REPS, width), dtype=np.int8),
        np.zeros((N_REPS, width), dtype=np.int32),
        np.zeros((N_REPS, width)),
    )
    for r in range(N_REPS):  # some states already at war, on the roll in state order
        for s in sorted(gen.choice(N_STATES, size=int(gen.integers(0, at_war)), replace=False)):
            entry[r, s], side[r, s] = 0, 1 + s % 2
            roll[0][r, n_bel[r]], roll[1][r, n_bel[r]] = s, side[r, s]
            roll[3][r, n_bel[r]] = 1.0
            n_bel[r] += 1
    return {
        "entry": entry,
        "side": side,
        "reason": np.zeros((N_REPS, N_STATES), dtype=np.int8),
        "via_cascade": np.zeros((N_REPS, N_STATES), dtype=bool),
        "cap": gen.uniform(0.1, 1.0, size=(N_REPS, N_STATES)),
        "projection": gen.uniform(0.5, 1.0, size=N_STATES),
        "n_bel": n_bel,
        "roll": roll,
    }


def _claims(gen: np.random.Generator, k: int):
    return (
        gen.integers(0, N_REPS, size=k).astype(np.int64),
        gen.integers(0, N_STATES, size=k).astype(np.int64),
        gen.integers(1, 3, size=k).astype(np.int8),
        gen.integers(1, 6, size=k).astype(np.int8),
        gen.choice([0.5, 1.0, 2.0], size=k),  # shares tie often
    )


def _reference(day, claims, open_, w):
    reps, states, sides, reasons, shares = claims
    rows = [i for i in np.lexsort((-shares, sides, reasons, states, reps)) if open_[reps[i]]]
    took = []
    for j, i in enumerate(rows):
        r, s = reps[i], states[i]
        if j and (reps[rows[j - 1]], states[rows[j - 1]]) == (r, s):
            continue
        if w["entry"][r, s] != NOT_ENTERED:
            continue
        took.append(i)
        w["entry"][r, s], w["side"][r, s], w["reason"][r, s] = day, sides[i], reasons[i]
        w["via_cascade"][r, s] = reasons[i] in (3, 4)
        at = int(np.searchsorted(w["roll"][0][r, : w["n_bel"][r]], s))
        for a, value in zip(w["roll"], (s, sides[i], day, 0.0), strict=True):
            a[r, at + 1 : w["n_bel"][r] + 1] = a[r, at : w["n_bel"][r]].copy()
            a[r, at] = value
        w["roll"][3][r, at] = w["cap"][r, s] * w["projection"][s] * shares[i]
        w["n_bel"][r] += 1
    return took


def _compiled(day, claims, deterred, end_day, w):
    keys, n_open = cohort.claim_keys(day, *claims[:4], deterred, end_day)
    order = np.argsort(keys, kind="stable")[:n_open]
    args = (w["entry"], w["side"], w["reason"], w["via_cascade"], w["cap"], w["projection"])
    took, need = cohort.enter(day, order, *claims, *args, w["n_bel"], *w["roll"])
    return took.tolist(), need


def _bound(claims, open_, n_bel):
    """The places the most crowded war could need: its belligerents and its open claims."""
    reps = claims[0][open_[claims[0]]]
    return min(N_STATES, max([0] + [n_bel[r] + int((reps == r).sum()) for r in set(reps)]))


def _widened(w, width):
    """The world with its war roll made ``width`` places wide (as ``Crisis._make_roll``)."""
    roll = []
    for a in w["roll"]:
        b = np.zeros((N_REPS, width), dtype=a.dtype)
        b[:, : min(width, a.shape[1])] = a[:, :width]
        roll.append(b)
    return {**w, "roll": tuple(roll)}


@pytest.mark.parametrize("seed", range(40))
def test_entries_follow_the_claims(seed):
    gen = np.random.default_rng(seed)
    day = 3
    deterred = gen.random(N_REPS) < 0.2
    end_day = np.where(gen.random(N_REPS) < 0.2, 1, 1000).astype(np.int32)  # some wars over
    open_ = ~deterred & (end_day >= day)
    for claims in (_claims(gen, int(gen.integers(1, 30))) for _ in range(3)):
        world = _world(gen, N_STATES)
        # The compiled passes start on a roll as narrow as the wars already fought allow.
        mine = {k: tuple(a.copy() for a in v) if k == "roll" else v.copy()
                for k, v in world.items()}  # fmt: skip
        mine = _widened(mine, max(1, int(world["n_bel"].max())))
        bound = _bound(claims, open_, world["n_bel"])
        entry, n_bel = mine["entry"].copy(), mine["n_bel"].copy()
        want = _reference(day, claims, open_, world)
        got, need = _compiled(day, claims, deterred, end_day, mine)
        assert need == bound
        if need > mine["roll"][0].shape[1]:  # nothing written: widen, as the crisis does, again
            assert got == []
            assert np.array_equal(mine["entry"], entry) and np.array_equal(mine["n_bel"], n_bel)
            mine = _widened(mine, need)
            got, need = _compiled(day, claims, deterred, end_day, mine)
        assert got == want
        for key in ("entry", "side", "reason", "via_cascade", "n_bel"):
            assert np.array_equal(mine[key], world[key]), key
        for r in range(N_REPS):  # the roll, as far as each war's belligerents go
            n = world["n_bel"][r]
            for a, b in zip(mine["roll"], world["roll"], strict=True):
                assert np.array_equal(a[r, :n], b[r, :n])


def test_a_roll_too_narrow_is_asked_to_grow_and_nothing_is_written():
    gen = np.random.default_rng(1)
    world = _world(gen, 1, at_war=1)  # no state at war yet, a roll one place wide
    claims = (
        np.array([0, 0, 0], dtype=np.int64),
        np.array([0, 1, 2], dtype=np.int64),
        np.ones(3, dtype=np.int8),
        np.ones(3, dtype=np.int8),
        np.ones(3),
    )
    no = np.zeros(N_REPS, dtype=bool)
    took, need = _compiled(0, claims, no, np.full(N_REPS, 99, np.int32), world)
    assert (took, need) == ([], 3)
    assert (world["entry"] == NOT_ENTERED).all() and world["n_bel"].sum() == 0


def test_claims_beyond_every_state_need_no_more_than_every_state():
    """Claims on states already at war count in the bound: it never asks for more than all."""
    gen = np.random.default_rng(2)
    world = _world(gen, N_STATES)
    claims = (
        np.zeros(3 * N_STATES, dtype=np.int64),
        np.tile(np.arange(N_STATES, dtype=np.int64), 3),
        np.ones(3 * N_STATES, dtype=np.int8),
        np.ones(3 * N_STATES, dtype=np.int8),
        np.ones(3 * N_STATES),
    )
    before = world["entry"][0].copy()
    no = np.zeros(N_REPS, dtype=bool)
    took, need = _compiled(5, claims, no, np.full(N_REPS, 99, np.int32), world)
    assert need == N_STATES
    new = np.flatnonzero(before == NOT_ENTERED)  # each enters once, by its first claim
    assert took == new.tolist()
    assert (world["entry"][0, new] == 5).all() and (world["entry"][0] != NOT_ENTERED).all()
