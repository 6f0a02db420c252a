"""Numba passes over a whole cohort: the capability draws, the aggressor's decision, war entries.

These are the steps whose work grows with the number of replications rather than with the
number of event days; done with NumPy they made one temporary (replications x states) array
per operation. Each pass here reads and writes every row once, releases the GIL (chunks may
run in threads), and does the same arithmetic in the same order as the NumPy expressions they
replace, so results are unchanged.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from crisis_sim.kernel import NOT_ENTERED
from crisis_sim.outcomes import Reason
from crisis_sim.rng import CAPABILITY, PERCEPTION, normal_at, rep_key

TREATY = int(Reason.TREATY)
ATTACKED = int(Reason.ATTACKED)


@njit(cache=True, nogil=True)
def capabilities(
    seed: int, reps: np.ndarray, cap_mean: np.ndarray, cap_spread: np.ndarray
) -> np.ndarray:
    """Each replication's capability draw per state: ``mean * exp(spread * z)``."""
    n, m = reps.shape[0], cap_mean.shape[0]
    out = np.empty((n, m))
    for i in range(n):
        key = rep_key(seed, reps[i])
        for s in range(m):
            out[i, s] = cap_mean[s] * np.exp(cap_spread[s] * normal_at(key, CAPABILITY, s))
    return out


@njit(cache=True, inline="always")
def _pairwise_sum(a: np.ndarray) -> float:
    """Sum in NumPy's order for a short row (eight partial sums), so totals match NumPy's."""
    n = a.shape[0]
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[i]
        return res
    r0, r1, r2, r3, r4, r5, r6, r7 = a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]
    i = 8
    while i < n - n % 8:
        r0 += a[i]
        r1 += a[i + 1]
        r2 += a[i + 2]
        r3 += a[i + 3]
        r4 += a[i + 4]
        r5 += a[i + 5]
        r6 += a[i + 6]
        r7 += a[i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[i]
        i += 1
    return res


@njit(cache=True, nogil=True)
def perceived_balance(
    seed: int,
    reps: np.ndarray,
    cap: np.ndarray,
    projection: np.ndarray,
    belief_help: np.ndarray,
    belief_share: np.ndarray,
    aggressor: int,
    target: int,
    coalition_ratio: float,
    misperception: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The aggressor's own strength and the defence it expects, as it perceives it.

    Expected help is each third state's strength times the chance it fights for the target and
    the share it would commit (at least the coalition the theory imposes); perception errs by a
    log-normal factor.
    """
    n, m = cap.shape
    own = np.empty(n)
    perceived = np.empty(n)
    row = np.empty(m)
    for i in range(n):
        for s in range(m):
            row[s] = ((cap[i, s] * projection[s]) * belief_help[s]) * belief_share[s]
        row[aggressor] = 0.0
        row[target] = 0.0
        mine = cap[i, aggressor] * projection[aggressor]
        help_total = _pairwise_sum(row) if m <= 128 else row.sum()
        if coalition_ratio > 0:
            help_total = max(help_total, coalition_ratio * mine)
        defence = cap[i, target] * projection[target] + help_total
        z = normal_at(rep_key(seed, reps[i]), PERCEPTION, 0)
        own[i] = mine
        perceived[i] = defence * np.exp(misperception * z)
    return own, perceived


@njit(cache=True, nogil=True)
def enter(
    day: int,
    reps: np.ndarray,
    states: np.ndarray,
    sides: np.ndarray,
    reasons: np.ndarray,
    shares: np.ndarray,
    entry: np.ndarray,
    side: np.ndarray,
    reason: np.ndarray,
    via_cascade: np.ndarray,
    force: np.ndarray,
    cap: np.ndarray,
    projection: np.ndarray,
) -> np.ndarray:
    """Write the day's entries (sorted by replication and state, best claim first).

    The first claim on a (replication, state) pair wins, and only if that state is not yet at
    war; returns which claims took effect.
    """
    k = reps.shape[0]
    new = np.zeros(k, dtype=np.bool_)
    for j in range(k):
        r, s = reps[j], states[j]
        if j > 0 and reps[j - 1] == r and states[j - 1] == s:
            continue
        if entry[r, s] != NOT_ENTERED:
            continue
        new[j] = True
        entry[r, s] = day
        side[r, s] = sides[j]
        reason[r, s] = reasons[j]
        via_cascade[r, s] = reasons[j] == TREATY or reasons[j] == ATTACKED
        force[r, s] = cap[r, s] * projection[s] * shares[j]
    return new
