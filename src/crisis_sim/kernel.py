"""Numba kernels: daily attrition between event days, and the contest success function.

Nothing but arrays and scalars: everything a kernel needs from the scenario is packed by
:mod:`crisis_sim.compiled` once, outside. Each replication is independent (``prange`` over
blocks of replications, randomness keyed by replication and day), so results are
bit-identical whatever the number of threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from crisis_sim.codes import (
    AGGRESSOR_BROKE,
    AGGRESSOR_SIDE,
    COMBAT,
    DEFENDERS_BROKE,
    RUNNING,
)
from crisis_sim.libm import exp
from crisis_sim.outcomes import Reason
from crisis_sim.prefetch import AHEAD, prefetch
from crisis_sim.rng import normal_pair_at, rep_key

INVADED = int(Reason.ATTACKED)  # the entry reason of a state invaded by a war plan


@njit(cache=True, inline="always")
def _ramp(t: int, entry: int, ready: float, full_days: float) -> float:
    """Share of a belligerent's committed force in the theatre on day ``t``, once it is there."""
    if full_days <= 0.0:
        return 1.0
    m = ready + (1.0 - ready) * (t - entry) / full_days
    return 1.0 if m > 1.0 else m


@njit(cache=True, inline="always")
def full_strength_day(entry: int, ready: float, full_days: float) -> int:
    """A day from which :func:`_ramp` gives exactly 1.0: the belligerent's whole force.

    From then on the kernel adds the force itself and skips the day's division. With a ready
    share in [0, 1] the ramp's arithmetic never decreases from one day to the next, so once at
    1.0 it stays there. The day is found by evaluating the ramp from just before
    ``entry + full_days`` (not by a formula that could round otherwise): at most a day or two
    after it.
    """
    if full_days <= 0.0 or ready >= 1.0:
        return entry
    t = entry + max(0, int(np.floor(full_days)) - 1)
    while _ramp(t, entry, ready, full_days) != 1.0:
        t += 1
    return t


@njit(cache=True, inline="always")
def _mobilized(t: int, entry: int, ready: float, full_days: float, transit: float) -> float:
    """Share of a belligerent's committed force in the theatre on day ``t``."""
    if t < entry + transit:
        return 0.0
    return _ramp(t, entry, ready, full_days)


@njit(cache=True, nogil=True)
def _fight(
    lo: int,
    hi: int,
    reps: np.ndarray,
    day_to: int,
    rep_id: np.ndarray,
    n_bel: np.ndarray,
    b_state: np.ndarray,
    b_side: np.ndarray,
    b_entry: np.ndarray,
    b_force: np.ndarray,
    mobilization: np.ndarray,
    sanction_day: np.ndarray,
    loss_a: np.ndarray,
    loss_d: np.ndarray,
    end_day: np.ndarray,
    ending: np.ndarray,
    fought_to: np.ndarray,
    deterred: np.ndarray,
    backed_down: np.ndarray,
    seed: int,
    law: int,
    combat: np.ndarray,
) -> None:
    """Fight replications ``reps[lo:hi]``, each from ``fought_to[r]`` up to ``day_to``.

    A replication's belligerents are its war roll (``n_bel`` and the ``b_`` arrays: state, side,
    entry day and force, in state order, kept by :func:`crisis_sim.cohort.enter`), so a segment
    reads one short row instead of scanning every state; ``mobilization`` holds each state's
    ready share, days to full strength and transit days. A state on the roll that enters on or
    after a day adds exactly 0.0 to it (it is not mobilized before its entry day), so entries
    may be written before the war is fought up to them.

    The whole segment is written out in this one loop: a call per replication to a compiled
    helper taking the arrays cost ~100 ns each (reference counts), more than a short segment's
    arithmetic.
    """
    attrition, eff_sd, defender_advantage = combat[0], combat[1], combat[2]
    sanctions_effect, resolve_a, resolve_d = combat[3], combat[4], combat[5]
    half_var = 0.5 * eff_sd * eff_sd
    linear = law == 1
    # One replication's belligerents, unpacked once per segment: the day loop then reads them
    # contiguously instead of looking each state's constants up every day.
    width = b_state.shape[1]
    c_entry = np.empty(width, dtype=np.int64)
    c_arrive = np.empty(width)
    c_ready = np.empty(width)
    c_full = np.empty(width)
    c_force = np.empty(width)
    c_full_day = np.empty(width, dtype=np.int64)
    c_aggressor = np.empty(width, dtype=np.bool_)
    for k in range(lo, hi):
        if k + AHEAD < hi:  # a segment a few ahead: its records (see crisis_sim.prefetch)
            ra = reps[k + AHEAD]
            prefetch(fought_to, ra, 0)
            prefetch(ending, ra, 0)
            prefetch(deterred, ra, 0)
            prefetch(backed_down, ra, 0)
            prefetch(n_bel, ra, 0)
            prefetch(rep_id, ra, 0)
            prefetch(sanction_day, ra, 0)
            prefetch(loss_a, ra, 0)
            prefetch(loss_d, ra, 0)
            prefetch(b_side, ra, 0)
            prefetch(b_entry, ra, 0)
            prefetch(b_force, ra, 0)
            prefetch(b_state, ra, 0)
        r = reps[k]
        day_from = fought_to[r]
        if ending[r] != RUNNING or deterred[r] or backed_down[r] or day_from >= day_to:
            continue
        nb = n_bel[r]
        if nb > width:  # Crisis widens the roll before any entry; a sound roll never gets here
            raise ValueError("a war has more belligerents than its roll has places")
        fought_to[r] = day_to
        key = rep_key(seed, rep_id[r])  # the draw-independent part of the random hash chain
        sanctioned_from = sanction_day[r]
        la = loss_a[r]
        ld = loss_d[r]
        broke_on = -1
        frac_a = frac_d = 0.0
        for j in range(nb):
            s = b_state[r, j]
            c_entry[j] = b_entry[r, j]
            c_arrive[j] = b_entry[r, j] + mobilization[s, 2]
            c_ready[j] = mobilization[s, 0]
            c_full[j] = mobilization[s, 1]
            c_force[j] = b_force[r, j]
            c_full_day[j] = full_strength_day(c_entry[j], c_ready[j], c_full[j])
            c_aggressor[j] = b_side[r, j] == AGGRESSOR_SIDE
        for t in range(day_from, day_to):
            a_mob = 0.0
            d_mob = 0.0
            for j in range(nb):
                if t < c_arrive[j]:
                    continue  # not yet in the theatre: it would add exactly 0.0
                if t >= c_full_day[j]:  # force * 1.0, without the day's division
                    f = c_force[j]
                else:
                    f = c_force[j] * _ramp(t, c_entry[j], c_ready[j], c_full[j])
                if c_aggressor[j]:
                    a_mob += f
                else:
                    d_mob += f
            if t >= sanctioned_from:
                a_mob *= 1.0 - sanctions_effect
            a_now = a_mob - la
            d_now = d_mob - ld
            if a_now < 0.0:
                a_now = 0.0
            if d_now < 0.0:
                d_now = 0.0
            za, zd = normal_pair_at(key, COMBAT, t)
            eff_a = exp(eff_sd * za - half_var)
            eff_d = defender_advantage * exp(eff_sd * zd - half_var)
            hit_a = attrition * eff_d * d_now
            hit_d = attrition * eff_a * a_now
            # The linear law scales each side's hits by its own share still standing; under the
            # square law the factor is exactly 1.0 (a select each day: a test of the law here
            # made every day about a third slower).
            hit_a *= a_now / (a_mob + 1e-300) if linear else 1.0
            hit_d *= d_now / (d_mob + 1e-300) if linear else 1.0
            la += min(hit_a, a_now)
            ld += min(hit_d, d_now)
            frac_a = la / a_mob if a_mob > 0.0 else 1.0
            frac_d = ld / d_mob if d_mob > 0.0 else 1.0
            if frac_a >= resolve_a or frac_d >= resolve_d:
                broke_on = t
                break
        loss_a[r] = la
        loss_d[r] = ld
        if broke_on < 0:
            continue
        end_day[r] = broke_on
        broke_a = frac_a >= resolve_a
        broke_d = frac_d >= resolve_d
        if broke_d and (not broke_a or frac_d / resolve_d >= frac_a / resolve_a):
            ending[r] = DEFENDERS_BROKE
        else:
            ending[r] = AGGRESSOR_BROKE


# Replications per block of the parallel kernel: a block is one call of :func:`_fight`.
BLOCK = 256


@njit(cache=True, parallel=True, nogil=True)
def advance_war(
    reps: np.ndarray,
    day_to: int,
    rep_id: np.ndarray,
    n_bel: np.ndarray,
    b_state: np.ndarray,
    b_side: np.ndarray,
    b_entry: np.ndarray,
    b_force: np.ndarray,
    mobilization: np.ndarray,
    sanction_day: np.ndarray,
    loss_a: np.ndarray,
    loss_d: np.ndarray,
    end_day: np.ndarray,
    ending: np.ndarray,
    fought_to: np.ndarray,
    deterred: np.ndarray,
    backed_down: np.ndarray,
    seed: int,
    law: int,
    combat: np.ndarray,
) -> None:
    """Fight each replication of ``reps`` (distinct) from day ``fought_to[r]`` to ``day_to - 1``.

    A replication is fought only while its war runs (not deterred, not backed down, no side
    broken); ``fought_to`` records how far it got. The crisis calls this lazily, where a step
    needs the war as it stands and once at the end, so a replication's war is cut only at a few
    of its own event days: the result is the same as fighting every day in turn.

    Lanchester square law (default): each side loses ``attrition * effectiveness * enemy``
    per day; linear law scales that by the side's own share of its strength. A side breaks when
    its cumulative losses pass its resolve share of its mobilized strength, and a side with
    nothing in the theatre counts as broken: an undefended target falls at once (the scenario
    schema gives the aggressor a ready share and a projection above 0, and no transit days, so
    it has forces on day 0 unless sanctions take them all). ``combat`` holds
    the constants in the order of :data:`crisis_sim.codes.COMBAT_CONSTANTS`. Blocks of :data:`BLOCK`
    replications go to Numba's threads.
    """
    n = reps.shape[0]
    for b in prange((n + BLOCK - 1) // BLOCK):
        _fight(
            b * BLOCK,
            min(n, (b + 1) * BLOCK),
            reps,
            day_to,
            rep_id,
            n_bel,
            b_state,
            b_side,
            b_entry,
            b_force,
            mobilization,
            sanction_day,
            loss_a,
            loss_d,
            end_day,
            ending,
            fought_to,
            deterred,
            backed_down,
            seed,
            law,
            combat,
        )


@njit(cache=True, nogil=True)
def advance_war_serial(
    reps: np.ndarray,
    day_to: int,
    rep_id: np.ndarray,
    n_bel: np.ndarray,
    b_state: np.ndarray,
    b_side: np.ndarray,
    b_entry: np.ndarray,
    b_force: np.ndarray,
    mobilization: np.ndarray,
    sanction_day: np.ndarray,
    loss_a: np.ndarray,
    loss_d: np.ndarray,
    end_day: np.ndarray,
    ending: np.ndarray,
    fought_to: np.ndarray,
    deterred: np.ndarray,
    backed_down: np.ndarray,
    seed: int,
    law: int,
    combat: np.ndarray,
) -> None:
    """:func:`advance_war` on the calling thread (for small cohorts: same bits, no launch cost)."""
    _fight(
        0,
        reps.shape[0],
        reps,
        day_to,
        rep_id,
        n_bel,
        b_state,
        b_side,
        b_entry,
        b_force,
        mobilization,
        sanction_day,
        loss_a,
        loss_d,
        end_day,
        ending,
        fought_to,
        deterred,
        backed_down,
        seed,
        law,
        combat,
    )


@njit(cache=True, nogil=True)
def helpers_in_field(
    reps: np.ndarray,
    day: np.ndarray,
    n_bel: np.ndarray,
    b_state: np.ndarray,
    b_side: np.ndarray,
    b_entry: np.ndarray,
    b_force: np.ndarray,
    mobilization: np.ndarray,
    reason: np.ndarray,
    target: int,
) -> np.ndarray:
    """Whether the target had helpers in the field on ``day[i]`` (the day its side broke).

    Read from the war roll once the chunk is over: states that entered after that day add
    exactly nothing (not yet mobilized), so the roll then gives the same answer as on the day.
    A state the aggressor's side invaded (its ``reason``) fights for itself: no helper.
    """
    out = np.zeros(reps.shape[0], dtype=np.bool_)
    for i in range(reps.shape[0]):
        r = reps[i]
        t = day[i]
        for j in range(n_bel[r]):
            s = b_state[r, j]
            if b_side[r, j] != AGGRESSOR_SIDE and s != target and reason[r, s] != INVADED:
                m = _mobilized(
                    t, b_entry[r, j], mobilization[s, 0], mobilization[s, 1], mobilization[s, 2]
                )
                if b_force[r, j] * m > 0.0:  # a sum of such terms is positive if one is
                    out[i] = True
                    break
    return out


@njit(cache=True, nogil=True)
def contest_success(a: np.ndarray, b: np.ndarray, m: float) -> np.ndarray:
    """Tullock contest success function ``p = a**m / (a**m + b**m)`` for each pair."""
    out = np.empty(a.shape[0])
    for i in range(a.shape[0]):
        if a[i] <= 0.0 and b[i] <= 0.0:
            out[i] = 0.5
        elif b[i] <= 0.0:
            out[i] = 1.0
        else:
            out[i] = 1.0 / (1.0 + (b[i] / a[i]) ** m) if a[i] > 0.0 else 0.0
    return out


@njit(cache=True, nogil=True)
def state_records(
    entry: np.ndarray,
    side: np.ndarray,
    reason: np.ndarray,
    via_cascade: np.ndarray,
    end_day: np.ndarray,
    transit_days: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-state records of a chunk in one pass: who fought (entered by the end day), and how.

    Returns ``side``, ``entry_day``, ``arrival_day`` (entry plus whole transit days) and
    ``entry_reason`` (0 for states that did not fight), and per replication the number of
    belligerents and of those that came in through cascades.
    """
    n, m = entry.shape
    side_out = np.zeros((n, m), dtype=np.int8)
    entry_out = np.full((n, m), -1, dtype=np.int16)  # days fit: the horizon is at most 3650
    arrival = np.full((n, m), -1, dtype=np.int16)
    reason_out = np.zeros((n, m), dtype=np.int8)
    n_bel = np.zeros(n, dtype=np.int16)
    n_casc = np.zeros(n, dtype=np.int16)
    for r in range(n):
        for s in range(m):
            if side[r, s] > 0 and entry[r, s] <= end_day[r]:
                side_out[r, s] = side[r, s]
                entry_out[r, s] = entry[r, s]
                arrival[r, s] = entry[r, s] + transit_days[s]
                reason_out[r, s] = reason[r, s]
                n_bel[r] += 1
                if via_cascade[r, s]:
                    n_casc[r] += 1
    return side_out, entry_out, arrival, reason_out, n_bel, n_casc
