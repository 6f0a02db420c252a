"""Numba passes over a whole cohort of replications, one per step that handles many at once.

Capability draws, the aggressor's decision, ballots and decisions and their records, war
entries, treaty calls, which crises are still open, and the agenda's grouping by day. These
are the steps whose work grows with the number of replications rather than with the number of
event days; done with NumPy they made one temporary array per operation. Each pass here reads
and writes every row once, releases the GIL (chunks may run in threads), and does the same
arithmetic in the same order as the NumPy expressions they replace, so results are unchanged.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from crisis_sim import rules
from crisis_sim.codes import (
    AGAINST_NAMED,
    AGGRESSOR_BROKE,
    AGGRESSOR_SIDE,
    ANY_WAR,
    CALL_DELAY,
    CALL_HONOURS,
    CALL_PARTNER,
    CALL_REP,
    CALL_SIDE,
    CALL_TREATY,
    CAPABILITY,
    DEFENDER_SIDE,
    DEFENDERS_BROKE,
    DEFENSIVE,
    HONOUR,
    NOT_ENTERED,
    PERCEPTION,
    RUNNING,
    TREATY_DELAY,
    UNITY,
    VOTE,
)
from crisis_sim.libm import exp
from crisis_sim.outcomes import Reason
from crisis_sim.prefetch import AHEAD, prefetch
from crisis_sim.rng import lognormal_day, normal_at, rep_key, uniform_at

TREATY = int(Reason.TREATY)
ATTACKED = int(Reason.ATTACKED)

# The institutions' decision rule (:func:`crisis_sim.rules.decide_row`), compiled into the passes.
decide_row = njit(inline="always")(rules.decide_row)


@njit(cache=True, nogil=True)
def decide_rows(
    code: int,
    yes: np.ndarray,
    voting: np.ndarray,
    permanent: np.ndarray,
    quota: int,
    procedural: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Each replication's decision under rule ``code`` (a row of ``yes`` and ``voting`` each)."""
    n = yes.shape[0]
    result = np.empty(n, dtype=np.int8)
    veto = np.empty(n, dtype=np.int64)
    for i in range(n):
        result[i], veto[i] = decide_row(code, yes, voting, permanent, quota, procedural, i)
    return result, veto


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
            out[i, s] = cap_mean[s] * exp(cap_spread[s] * normal_at(key, CAPABILITY, s))
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
    belief_allies: np.ndarray,
    aggressor: int,
    target: int,
    coalition_ratio: float,
    misperception: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The aggressor's side and the defence it expects, as it perceives them.

    Its side: its own strength plus each ally's times the chance it honours the call. Expected
    help is each third state's strength times the chance it fights for the target and the
    share it would commit (at least the coalition the theory imposes, over the aggressor's own
    strength as in the war); perception errs by a log-normal factor.
    """
    n, m = cap.shape
    own = np.empty(n)
    perceived = np.empty(n)
    row = np.empty(m)
    allied = False
    for s in range(m):
        if belief_allies[s] > 0 and s != aggressor and s != target:
            allied = True
    for i in range(n):
        for s in range(m):
            row[s] = ((cap[i, s] * projection[s]) * belief_help[s]) * belief_share[s]
        row[aggressor] = 0.0
        row[target] = 0.0
        mine = cap[i, aggressor] * projection[aggressor]
        side = mine  # without allies, its side is its own strength, bit for bit
        if allied:
            for s in range(m):
                if s != aggressor and s != target:
                    side += (cap[i, s] * projection[s]) * belief_allies[s]
        help_total = _pairwise_sum(row) if m <= 128 else row.sum()
        if coalition_ratio > 0:  # over the aggressor's own strength, as in the war
            help_total = max(help_total, coalition_ratio * mine)
        defence = cap[i, target] * projection[target] + help_total
        z = normal_at(rep_key(seed, reps[i]), PERCEPTION, 0)
        own[i] = side
        perceived[i] = defence * exp(misperception * z)
    return own, perceived


# A claim's sort key (see claim_keys): replication, state, reason and side in these bits.
_STATE_SHIFT, _REASON_SHIFT, _REP_SHIFT = 5, 2, 24
CLOSED = np.int64(1) << 62  # the key of a claim on a crisis already over: after every other


@njit(cache=True, nogil=True)
def claim_keys(
    day: int,
    reps: np.ndarray,
    states: np.ndarray,
    sides: np.ndarray,
    reasons: np.ndarray,
    deterred: np.ndarray,
    end_day: np.ndarray,
) -> tuple[np.ndarray, int]:
    """The day's claims to enter the war as sort keys, and how many are on open crises.

    A stable sort of the keys puts the claims on open crises first, by replication, state,
    reason and side (then as they came), the order :func:`enter` needs; a claim on a crisis
    over before ``day`` gets :data:`CLOSED` and sorts last.
    """
    n = reps.shape[0]
    keys = np.empty(n, dtype=np.int64)
    n_open = 0
    for i in range(n):
        r, s = reps[i], states[i]
        if s >= 1 << (_REP_SHIFT - _STATE_SHIFT) or not 0 <= reasons[i] < 8 or not 0 < sides[i] < 4:
            raise ValueError("a claim to enter the war has a state, reason or side out of range")
        if deterred[r] or end_day[r] < day:
            keys[i] = CLOSED
            continue
        keys[i] = (
            (r << _REP_SHIFT) | (s << _STATE_SHIFT) | (np.int64(reasons[i]) << _REASON_SHIFT)
        ) | np.int64(sides[i])
        n_open += 1
    return keys, n_open


@njit(cache=True, nogil=True)
def enter(
    day: int,
    order: np.ndarray,
    reps: np.ndarray,
    states: np.ndarray,
    sides: np.ndarray,
    reasons: np.ndarray,
    shares: np.ndarray,
    entry: np.ndarray,
    side: np.ndarray,
    reason: np.ndarray,
    via_cascade: np.ndarray,
    cap: np.ndarray,
    projection: np.ndarray,
    n_bel: np.ndarray,
    b_state: np.ndarray,
    b_side: np.ndarray,
    b_entry: np.ndarray,
    b_force: np.ndarray,
) -> tuple[np.ndarray, int]:
    """Write the day's entries: the claims ``order`` picks, sorted as :func:`claim_keys` sorts.

    On each (replication, state) pair the best claim wins (the first reason and side in that
    order, then the largest share, then the first made), and only if that state is not yet at
    war. Each new belligerent also joins its replication's war roll (what the combat kernel
    reads), kept in state order so that forces add up in the same order whatever the order of
    entry. Returns the claims that took effect (indices, in ``order``'s order) and the places
    the most crowded war could need (its belligerents and all its claims, at most every
    state): when that is more than the roll has, nothing is written and no claim returned;
    widen the roll and call again.
    """
    k = order.shape[0]
    need = 0
    j = 0
    while j < k:
        r = reps[order[j]]
        claims = 0
        while j < k and reps[order[j]] == r:
            claims += 1
            j += 1
        need = max(need, n_bel[r] + claims)
    need = min(need, entry.shape[1])  # claims on states already at war count above: no more
    took = np.empty(k, dtype=np.int64)
    if need > b_state.shape[1]:
        return took[:0], need
    m = 0
    j = 0
    while j < k:
        if j + AHEAD < k:  # the rows of a claim a few ahead (see crisis_sim.prefetch)
            ra, sa = reps[order[j + AHEAD]], states[order[j + AHEAD]]
            prefetch(entry, ra, sa)
            prefetch(side, ra, sa)
            prefetch(reason, ra, sa)
            prefetch(via_cascade, ra, sa)
            prefetch(cap, ra, sa)
            prefetch(n_bel, ra, 0)
            prefetch(b_state, ra, 0)
            prefetch(b_side, ra, 0)
            prefetch(b_entry, ra, 0)
            prefetch(b_force, ra, 0)
        best = order[j]
        r, s = reps[best], states[best]
        j += 1
        while j < k and reps[order[j]] == r and states[order[j]] == s:  # other claims on it
            c = order[j]
            if reasons[c] == reasons[best] and sides[c] == sides[best] and shares[c] > shares[best]:
                best = c
            j += 1
        if entry[r, s] != NOT_ENTERED:
            continue
        took[m] = best
        m += 1
        entry[r, s] = day
        side[r, s] = sides[best]
        reason[r, s] = reasons[best]
        via_cascade[r, s] = reasons[best] == TREATY or reasons[best] == ATTACKED
        at = n_bel[r]
        while at > 0 and b_state[r, at - 1] > s:
            b_state[r, at] = b_state[r, at - 1]
            b_side[r, at] = b_side[r, at - 1]
            b_entry[r, at] = b_entry[r, at - 1]
            b_force[r, at] = b_force[r, at - 1]
            at -= 1
        b_state[r, at] = s
        b_side[r, at] = sides[best]
        b_entry[r, at] = day
        b_force[r, at] = cap[r, s] * projection[s] * shares[best]
        n_bel[r] += 1
    return took[:m], need


@njit(cache=True, nogil=True)
def vote(
    seed: int,
    reps: np.ndarray,
    rep_id: np.ndarray,
    draw: np.ndarray,
    p_yes: np.ndarray,
    bloc: np.ndarray,
    bloc_draw: int,
    p_bloc: float,
    is_target: np.ndarray,
    is_aggressor: np.ndarray,
    may_vote: np.ndarray,
    identified: np.ndarray,
    left: np.ndarray,
    acts: np.ndarray,
    rule: int,
    permanent: np.ndarray,
    quota: int,
    procedural: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Step 6 for a cohort in one pass: each member's vote and standing, and the decision.

    A member votes yes with its propensity (members of a unity ``bloc`` share one draw and
    their mean propensity) and only if it named the aggressor; the target always votes yes. A
    member votes at all if the rule lets it (``may_vote``), and the aggressor not once it left.
    ``acts`` masks each replication's yes votes (self-help acts only where threatened).
    Returns the votes, who voted (both replications x members), the result and the member
    position of any veto.
    """
    m, k = reps.shape[0], draw.shape[0]
    yes = np.empty((m, k), dtype=np.bool_)
    voting = np.empty((m, k), dtype=np.bool_)
    result = np.empty(m, dtype=np.int8)
    veto = np.empty(m, dtype=np.int64)
    for i in range(m):
        if i + AHEAD < m:
            ra = reps[i + AHEAD]
            prefetch(rep_id, ra, 0)
            prefetch(identified, ra, 0)
            prefetch(left, ra, 0)
        r = reps[i]
        key = rep_key(seed, rep_id[r])
        u_bloc = uniform_at(key, UNITY, bloc_draw)
        for j in range(k):
            if is_target[j]:
                yes[i, j] = True
            elif not identified[r, j]:
                yes[i, j] = False  # a member that did not name the aggressor votes no: no draw
            elif bloc[j]:
                yes[i, j] = u_bloc < p_bloc
            else:
                yes[i, j] = uniform_at(key, VOTE, draw[j]) < p_yes[j]
            voting[i, j] = may_vote[j] and not (is_aggressor[j] and left[r])
        if not acts[i]:
            yes[i, :] = False
        result[i], veto[i] = decide_row(rule, yes, voting, permanent, quota, procedural, i)
    return yes, voting, result, veto


@njit(cache=True, nogil=True)
def record_vote(
    reps: np.ndarray,
    result: np.ndarray,
    veto: np.ndarray,
    members: np.ndarray,
    day: int,
    inst: int,
    fought_to: np.ndarray,
    ending: np.ndarray,
    backed_down: np.ndarray,
    decision_day: np.ndarray,
    vote_result: np.ndarray,
    vetoed_by: np.ndarray,
    held: np.ndarray,
) -> None:
    """Write a vote's records; hold those taken on a war not yet fought up to ``day``.

    A motion that failed changes nothing but these records, so it is taken on the war as last
    fought. If the aggressor's side turns out to have broken before ``day``, the vote never
    happened: ``held`` keeps its day and the records it replaced (decision day, result, veto),
    for :func:`void_votes`.
    """
    n = reps.shape[0]
    for i in range(n):
        if i + AHEAD < n:
            ra = reps[i + AHEAD]
            prefetch(fought_to, ra, 0)
            prefetch(ending, ra, 0)
            prefetch(backed_down, ra, 0)
            prefetch(decision_day, ra, inst)
            prefetch(vote_result, ra, inst)
            prefetch(vetoed_by, ra, inst)
            prefetch(held, ra, inst)
        r = reps[i]
        # At most one vote per replication and institution is ever held: a motion that fails
        # ends its institution's stages, and a motion that passes is not held.
        if fought_to[r] < day and ending[r] == RUNNING and not backed_down[r]:
            held[r, inst, 0] = day
            held[r, inst, 1] = decision_day[r, inst]
            held[r, inst, 2] = vote_result[r, inst]
            held[r, inst, 3] = vetoed_by[r, inst]
        decision_day[r, inst] = day
        vote_result[r, inst] = result[i]
        vetoed_by[r, inst] = members[veto[i]] if veto[i] >= 0 else -1


@njit(cache=True, nogil=True)
def void_votes(
    ending: np.ndarray,
    end_day: np.ndarray,
    decision_day: np.ndarray,
    vote_result: np.ndarray,
    vetoed_by: np.ndarray,
    held: np.ndarray,
) -> None:
    """Put back the records of held votes taken after the aggressor's side broke."""
    n, k = decision_day.shape
    for r in range(n):
        if ending[r] != AGGRESSOR_BROKE:
            continue
        for i in range(k):
            if held[r, i, 0] > end_day[r]:
                decision_day[r, i] = held[r, i, 1]
                vote_result[r, i] = held[r, i, 2]
                vetoed_by[r, i] = held[r, i, 3]


@njit(cache=True, nogil=True)
def grouped(keys: np.ndarray, top: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Small non-negative ``keys`` grouped: a stable order, the distinct keys, where each starts.

    Returns the order (without keys above ``top``), the distinct keys in increasing order, and
    where each key's group starts in that order (plus its end): a counting sort, used for the
    agenda's days (``top`` the horizon) and a day's entrants by state and side.
    """
    count = np.zeros(top + 2, dtype=np.int64)
    for k in keys:
        if k <= top:
            count[k + 1] += 1
    n_groups = 0
    for k in range(top + 1):
        if count[k + 1] > 0:
            n_groups += 1
        count[k + 1] += count[k]
    order = np.empty(count[top + 1], dtype=np.int64)
    at = count[: top + 1].copy()
    for i in range(keys.shape[0]):
        k = keys[i]
        if k <= top:
            order[at[k]] = i
            at[k] += 1
    group_keys = np.empty(n_groups, dtype=np.int64)
    bounds = np.empty(n_groups + 1, dtype=np.int64)
    g = 0
    for k in range(top + 1):
        if count[k + 1] > count[k]:
            group_keys[g] = k
            bounds[g] = count[k]
            g += 1
    bounds[n_groups] = count[top + 1]
    return order, group_keys, bounds


@njit(cache=True, nogil=True)
def open_on(
    reps: np.ndarray,
    day: int,
    deterred: np.ndarray,
    end_day: np.ndarray,
    ending: np.ndarray,
    fallen_too: bool,
) -> np.ndarray:
    """Which of ``reps`` have a crisis still open on ``day`` (its war not over before it).

    With ``fallen_too``, also those whose target fell: an institution stays seized of them.
    """
    n = reps.shape[0]
    out = np.empty(n, dtype=np.bool_)
    for i in range(n):
        if i + AHEAD < n:
            ra = reps[i + AHEAD]
            prefetch(deterred, ra, 0)
            prefetch(end_day, ra, 0)
            prefetch(ending, ra, 0)
        r = reps[i]
        out[i] = not deterred[r] and (
            end_day[r] >= day or (fallen_too and ending[r] == DEFENDERS_BROKE)
        )
    return out


@njit(cache=True, inline="always")
def _pick(
    picked: np.ndarray,
    n: int,
    rows: np.ndarray,
    named: np.ndarray,
    t: int,
    first: int,
    last: int,
    enemy: int,
    day: int,
    reps: np.ndarray,
    side: np.ndarray,
    entry: np.ndarray,
) -> int:
    """Append to ``picked[:n]`` the ``rows`` where a state is at war on side ``enemy``.

    The states are ``named[t, first:last]`` (-1: none), at war by ``day``; ``first`` -1
    appends every row. Returns the new length.
    """
    for i in range(rows.shape[0]):
        r = reps[rows[i]]
        at_war = first < 0
        for j in range(max(first, 0), last):
            x = named[t, j]
            at_war |= x >= 0 and side[r, x] == enemy and entry[r, x] <= day
        if at_war:
            picked[n] = rows[i]
            n += 1
    return n


@njit(cache=True, inline="always")
def _partners(
    todo: np.ndarray, n: int, parties: np.ndarray, t: int, caller: int, join: int, lo: int, hi: int
) -> int:
    """Append to ``todo[:n]`` a call of each partner of ``caller`` in treaty ``t``.

    Each joins on side ``join``, in the replications of picked rows ``lo:hi``. Returns the new
    length.
    """
    for o in parties[t]:
        if o >= 0 and o != caller:
            todo[n, 0], todo[n, 1], todo[n, 2], todo[n, 3], todo[n, 4] = t, o, join, lo, hi
            n += 1
    return n


@njit(cache=True, inline="always")
def _listed(table: np.ndarray, t: int, s: int) -> bool:
    """Whether state ``s`` is in row ``t`` of a treaty table (padded with -1)."""
    for j in range(table.shape[1]):
        if table[t, j] == s:
            return True
    return False


@njit(cache=True, nogil=True)
def treaty_plan(
    day: int,
    reps: np.ndarray,
    order: np.ndarray,
    found: np.ndarray,
    bounds: np.ndarray,
    side: np.ndarray,
    entry: np.ndarray,
    casus: np.ndarray,
    parties: np.ndarray,
    against: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Step 10: which treaties call which partners, set off by the day's new belligerents.

    The states that entered the war on ``day`` are grouped by (state, side), in that order
    (:func:`grouped` of ``state * 4 + side``: ``order``, ``found``, ``bounds``); ``reps`` are
    their replications. Each treaty in turn looks at the groups. A party entering calls its
    partners (under a defensive treaty only when it defends; under one for any war always).
    Under a treaty against named states, a named state entering calls the partners of each
    party it is at war with, and a party entering calls its partners where a named state is at
    war on the other side. Returns the rows concerned, call after call, and one line per call:
    treaty, partner, side it would join, and where its rows begin and end in the first array.
    The treaties are packed by :func:`crisis_sim.compiled.treaty_tables` (``parties`` and
    ``against`` padded with -1). :func:`treaty_calls` then makes the calls.
    """
    width = parties.shape[1]
    # Which (treaty, entrants) pairs call at all, and room for the most they could.
    calling = np.zeros((casus.shape[0], found.shape[0], 3), dtype=np.bool_)
    most_rows = most_calls = 0
    for t in range(casus.shape[0]):
        kind = casus[t]
        for g in range(found.shape[0]):
            s_new, joined = found[g] >> 2, found[g] & 3
            party = _listed(parties, t, s_new)
            calling[t, g, 0] = party and (
                kind == ANY_WAR or (kind == DEFENSIVE and joined == DEFENDER_SIDE)
            )
            calling[t, g, 1] = kind == AGAINST_NAMED and _listed(against, t, s_new)
            calling[t, g, 2] = kind == AGAINST_NAMED and party
            lanes = calling[t, g, 0] + width * calling[t, g, 1] + calling[t, g, 2]
            most_rows += lanes * (bounds[g + 1] - bounds[g])
            most_calls += lanes * width
    picked = np.empty(most_rows, dtype=np.int64)
    todo = np.empty((most_calls, 5), dtype=np.int64)
    n_rows = n_todo = 0
    for t in range(casus.shape[0]):
        for g in range(found.shape[0]):
            s_new, joined = found[g] >> 2, found[g] & 3
            rows = order[bounds[g] : bounds[g + 1]]
            enemy = AGGRESSOR_SIDE if joined == DEFENDER_SIDE else DEFENDER_SIDE
            if calling[t, g, 0]:
                lo = n_rows
                n_rows = _pick(picked, lo, rows, parties, t, -1, 0, enemy, day, reps, side, entry)
                n_todo = _partners(todo, n_todo, parties, t, s_new, joined, lo, n_rows)
            if calling[t, g, 1]:
                for j in range(width):  # each party this named state is at war with
                    if parties[t, j] < 0:
                        continue
                    lo = n_rows
                    n_rows = _pick(
                        picked, lo, rows, parties, t, j, j + 1, enemy, day, reps, side, entry
                    )
                    if n_rows > lo:
                        n_todo = _partners(
                            todo, n_todo, parties, t, parties[t, j], enemy, lo, n_rows
                        )
            if calling[t, g, 2]:
                lo = n_rows
                n_rows = _pick(
                    picked, lo, rows, against, t, 0, against.shape[1], enemy, day, reps, side, entry
                )
                n_todo = _partners(todo, n_todo, parties, t, s_new, joined, lo, n_rows)
    return picked[:n_rows], todo[:n_todo]


@njit(cache=True, nogil=True)
def treaty_calls(
    seed: int,
    day: int,
    reps: np.ndarray,
    rep_id: np.ndarray,
    entry: np.ndarray,
    picked: np.ndarray,
    todo: np.ndarray,
    terms: np.ndarray,
) -> np.ndarray:
    """Step 10: the calls :func:`treaty_plan` lists, made: who answers, after how long.

    A partner already at war by ``day`` is not called; a called one honours the call with the
    treaty's strength (``terms``: strength, declaration delay's median and spread), after that
    delay. Returns one row per call, columns ``CALL_*`` (who, which treaty, which partner, on
    which side, whether it honours the call, after how many days), in the order listed.
    """
    most = 0
    for c in range(todo.shape[0]):
        most += todo[c, 4] - todo[c, 3]
    calls = np.empty((most, 6), dtype=np.int64)
    m = 0
    for c in range(todo.shape[0]):
        t, partner, join, lo, hi = todo[c, 0], todo[c, 1], todo[c, 2], todo[c, 3], todo[c, 4]
        strength, median, spread = terms[t, 0], terms[t, 1], terms[t, 2]
        draw = t * 1024 + partner
        for i in range(lo, hi):
            if i + AHEAD < hi:
                ra = reps[picked[i + AHEAD]]
                prefetch(entry, ra, partner)
                prefetch(rep_id, ra, 0)
            r = reps[picked[i]]
            if entry[r, partner] <= day:
                continue
            key = rep_key(seed, rep_id[r])
            honours = uniform_at(key, HONOUR, draw) < strength
            calls[m, CALL_REP] = r
            calls[m, CALL_TREATY] = t
            calls[m, CALL_PARTNER] = partner
            calls[m, CALL_SIDE] = join
            calls[m, CALL_HONOURS] = honours
            calls[m, CALL_DELAY] = 0
            if honours:
                calls[m, CALL_DELAY] = lognormal_day(key, TREATY_DELAY, draw, median, spread)
            m += 1
    return calls[:m]
