"""Decision rules of institutions, a registry keyed by the name used in scenario files.

Each rule has the same two verbs: ``decide`` (over a cohort of replications, given who votes and
how) and ``pass_probability`` (the closed form an aggressor uses to forecast the response). The
decision itself is :func:`decide_row`, one branch per rule code, written for Numba: the crisis
takes it hundreds of times per chunk, compiled into :func:`crisis_sim.cohort.vote`. This module
itself imports no Numba (a process running the kernels compiled ahead of time reads its codes).
A new rule is a code, a branch there and an entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# Vote results, as stored (fill value -1: no crisis, the aggressor was deterred).
NO_DECISION = 0
PASSED = 1
VETOED = 2
FAILED_MAJORITY = 3
VOTE_MEANINGS = ("no_decision", "passed", "vetoed", "failed_majority")


@dataclass(frozen=True)
class Ballot:
    """What a rule needs: each member's vote and standing, for a cohort of replications.

    ``yes`` and ``voting`` are (replications, members); ``permanent`` is (members,).
    Members not ``voting`` (absent, withdrawn, or parties excluded) cast no vote and so no veto.
    """

    yes: np.ndarray
    voting: np.ndarray
    permanent: np.ndarray
    quota: int
    procedural: bool


Decision = tuple[np.ndarray, np.ndarray]  # (result code, member position of the veto or -1)


# Rule codes, for the compiled decision below.
UNANIMITY, QUALIFIED_MAJORITY, CONSENSUS, UNILATERAL, CENTRAL_AUTHORITY = range(5)


def decide_row(
    code: int,
    yes: np.ndarray,
    voting: np.ndarray,
    permanent: np.ndarray,
    quota: int,
    procedural: bool,
    i: int,
) -> tuple[int, int]:
    """One replication's decision under rule ``code``: (result, member position of the veto).

    Plain Python here; :mod:`crisis_sim.cohort` compiles it (inlined into its passes).
    """
    if code == CENTRAL_AUTHORITY:  # global government: the authority decides alone
        return PASSED, -1
    k = yes.shape[1]
    if code == UNILATERAL:  # self-help: it 'passes' when at least one member acts
        for j in range(k):
            if yes[i, j] and voting[i, j]:
                return PASSED, -1
        return NO_DECISION, -1
    n_yes = 0
    present = 0
    first_no = -1
    first_permanent_no = -1
    for j in range(k):
        if voting[i, j]:
            present += 1
            if yes[i, j]:
                n_yes += 1
            else:
                if first_no < 0:
                    first_no = j
                if permanent[j] and first_permanent_no < 0:
                    first_permanent_no = j
    if code == QUALIFIED_MAJORITY:
        # UN Charter Art. 27: too few yes votes fail as such, whatever the permanent members
        # did; procedural questions cannot be vetoed.
        if n_yes < quota:
            return FAILED_MAJORITY, -1
        if procedural or first_permanent_no < 0:
            return PASSED, -1
        return VETOED, first_permanent_no
    # Unanimity (League Covenant Art. 5) and consensus (NATO): every member voting holds a veto;
    # procedure (never under consensus) by simple majority of those voting.
    if procedural and code == UNANIMITY:
        return (PASSED if n_yes * 2 > present else FAILED_MAJORITY), -1
    if first_no >= 0:
        return VETOED, first_no
    return PASSED, -1


def _decide(code: int, b: Ballot) -> Decision:
    from crisis_sim.cohort import decide_rows  # compiled, so Numba only where a rule is used

    return decide_rows(code, b.yes, b.voting, b.permanent, b.quota, b.procedural)


def decide_unanimity(b: Ballot) -> Decision:
    """League Covenant Art. 5: every member voting holds a veto; procedure by majority."""
    return _decide(UNANIMITY, b)


def decide_qualified_majority(b: Ballot) -> Decision:
    """UN Charter Art. 27: ``quota`` yes votes including no permanent member voting no.

    Too few yes votes fail as such, whatever the permanent members did; an absent permanent
    member casts no vote and so no veto; procedural questions cannot be vetoed.
    """
    return _decide(QUALIFIED_MAJORITY, b)


def decide_consensus(b: Ballot) -> Decision:
    """NATO: decided when no member present objects; an objection blocks like a veto."""
    return _decide(CONSENSUS, b)


def decide_unilateral(b: Ballot) -> Decision:
    """Self-help: no collective decision; it 'passes' when at least one member resolves to act.

    The response itself (its level on record, the aggressor's reaction to it) counts only where
    a balancer then commits forces (:meth:`crisis_sim.crisis.Crisis.respond`).
    """
    return _decide(UNILATERAL, b)


def decide_central_authority(b: Ballot) -> Decision:
    """Global government: the authority decides alone, no vote and no veto."""
    return _decide(CENTRAL_AUTHORITY, b)


# ----------------------------------------------------------------- forecasts (closed form)
#
# Each takes the members' yes probabilities ``p`` as (members,) or, for many settings of them at
# once (every way the members may have named the aggressor), as (settings, members), and returns
# one chance per setting.


def at_least(p: np.ndarray, k: int) -> np.ndarray:
    """P(at least k successes) for independent Bernoulli(p) (Poisson-binomial by DP)."""
    if k <= 0:
        return np.ones(p.shape[:-1])
    n = p.shape[-1]
    # Counts first, so that each step works on whole rows (many settings at once).
    dist = np.zeros((n + 1,) + p.shape[:-1])
    dist[0] = 1.0
    for i in range(n):
        q = p[..., i]
        dist[1 : i + 2] = dist[1 : i + 2] * (1 - q) + dist[: i + 1] * q
        dist[0] *= 1 - q
    return np.asarray(dist[k:].sum(axis=0))


def _bloc_yes(p: np.ndarray, bloc: np.ndarray) -> np.ndarray:
    """Chance that Schuman's bloc votes yes: one shared draw, its members' mean (1 if none)."""
    if not bloc.any():
        return np.ones(p.shape[:-1])
    return np.asarray(p[..., bloc].mean(axis=-1))


def _majority(p: np.ndarray, bloc: np.ndarray, k: int) -> np.ndarray:
    """P(at least ``k`` yes votes) when the bloc's members vote as one (procedural votes)."""
    if not bloc.any():
        return at_least(p, k)
    q, rest = _bloc_yes(p, bloc), p[..., ~bloc]
    return q * at_least(rest, k - int(bloc.sum())) + (1.0 - q) * at_least(rest, k)


def p_unanimity(
    p: np.ndarray, permanent: np.ndarray, bloc: np.ndarray, quota: int, procedural: bool
) -> np.ndarray:
    """Chance that every voter says yes (or a majority, for procedure)."""
    if procedural:
        return _majority(p, bloc, p.shape[-1] // 2 + 1)
    return _bloc_yes(p, bloc) * np.prod(p[..., ~bloc], axis=-1)


def p_consensus(
    p: np.ndarray, permanent: np.ndarray, bloc: np.ndarray, quota: int, procedural: bool
) -> np.ndarray:
    """Chance that no member objects: consensus knows no procedural vote (see decide_row)."""
    return p_unanimity(p, permanent, bloc, quota, False)


def p_qualified_majority(
    p: np.ndarray, permanent: np.ndarray, bloc: np.ndarray, quota: int, procedural: bool
) -> np.ndarray:
    """Chance of ``quota`` yes votes with no permanent no (procedure: just the quota).

    A bloc that holds a veto passes the motion only by voting yes; one that holds none, voting
    no, still leaves the others to reach the quota.
    """
    if procedural:
        return _majority(p, bloc, quota)
    alone = permanent & ~bloc  # vetoes cast one by one
    others = ~(permanent | bloc)
    no_veto = np.prod(p[..., alone], axis=-1)
    q = _bloc_yes(p, bloc)
    passed = q * no_veto * at_least(p[..., others], quota - int((permanent | bloc).sum()))
    if bloc.any() and not (bloc & permanent).any():
        passed = passed + (1.0 - q) * no_veto * at_least(p[..., others], quota - int(alone.sum()))
    return np.asarray(passed)


def p_unilateral(
    p: np.ndarray, permanent: np.ndarray, bloc: np.ndarray, quota: int, procedural: bool
) -> np.ndarray:
    """Chance that at least one member acts."""
    nobody = np.prod(1.0 - p[..., ~bloc], axis=-1)
    if bloc.any():
        nobody = nobody * (1.0 - _bloc_yes(p, bloc))
    return np.asarray(1.0 - nobody)


def p_central(
    p: np.ndarray, permanent: np.ndarray, bloc: np.ndarray, quota: int, procedural: bool
) -> np.ndarray:
    """The authority always decides."""
    return np.ones(p.shape[:-1])


@dataclass(frozen=True)
class Rule:
    """A decision rule: how a cohort decides, and how likely it is to pass."""

    code: int
    decide: Callable[[Ballot], Decision]
    pass_probability: Callable[[np.ndarray, np.ndarray, np.ndarray, int, bool], np.ndarray]


RULES: dict[str, Rule] = {
    "unanimity": Rule(UNANIMITY, decide_unanimity, p_unanimity),
    "qualified_majority": Rule(QUALIFIED_MAJORITY, decide_qualified_majority, p_qualified_majority),
    "consensus": Rule(CONSENSUS, decide_consensus, p_consensus),
    "unilateral": Rule(UNILATERAL, decide_unilateral, p_unilateral),
    "central_authority": Rule(CENTRAL_AUTHORITY, decide_central_authority, p_central),
}
