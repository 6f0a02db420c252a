"""Decision rules of institutions, a registry keyed by the name used in scenario files.

Each rule has the same two verbs: ``decide`` (vectorised over a cohort of replications, given
who votes and how) and ``pass_probability`` (the closed form an aggressor uses to forecast the
response). A new rule is a new entry here; nothing else changes.
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


def _first(mask: np.ndarray) -> np.ndarray:
    return np.where(mask.any(axis=1), mask.argmax(axis=1), -1)


def _majority(b: Ballot) -> Decision:
    """Simple majority of those voting (procedural questions: no veto)."""
    yes = (b.yes & b.voting).sum(axis=1)
    present = b.voting.sum(axis=1)
    ok = yes * 2 > present
    return np.where(ok, PASSED, FAILED_MAJORITY).astype(np.int8), np.full(len(ok), -1)


def decide_unanimity(b: Ballot) -> Decision:
    """League Covenant Art. 5: every member voting holds a veto; procedure by majority."""
    if b.procedural:
        return _majority(b)
    no = b.voting & ~b.yes
    vetoed = no.any(axis=1)
    return np.where(vetoed, VETOED, PASSED).astype(np.int8), _first(no)


def decide_qualified_majority(b: Ballot) -> Decision:
    """UN Charter Art. 27: ``quota`` yes votes including no permanent member voting no.

    Too few yes votes fail as such, whatever the permanent members did; an absent permanent
    member casts no vote and so no veto; procedural questions cannot be vetoed.
    """
    yes = (b.yes & b.voting).sum(axis=1)
    enough = yes >= b.quota
    if b.procedural:
        return np.where(enough, PASSED, FAILED_MAJORITY).astype(np.int8), np.full(len(yes), -1)
    veto = b.voting & ~b.yes & b.permanent[None, :]
    vetoed = enough & veto.any(axis=1)
    result = np.where(~enough, FAILED_MAJORITY, np.where(vetoed, VETOED, PASSED)).astype(np.int8)
    return result, np.where(vetoed, _first(veto), -1)


def decide_consensus(b: Ballot) -> Decision:
    """NATO: decided when no member present objects; an objection blocks like a veto."""
    return decide_unanimity(Ballot(b.yes, b.voting, b.permanent, b.quota, procedural=False))


def decide_unilateral(b: Ballot) -> Decision:
    """Self-help: no collective decision; it 'passes' when at least one member acts."""
    acted = (b.yes & b.voting).any(axis=1)
    return np.where(acted, PASSED, NO_DECISION).astype(np.int8), np.full(len(acted), -1)


def decide_central_authority(b: Ballot) -> Decision:
    """Global government: the authority decides alone, no vote and no veto."""
    n = b.yes.shape[0]
    return np.full(n, PASSED, dtype=np.int8), np.full(n, -1)


# ----------------------------------------------------------------- forecasts (closed form)


def _at_least(p: np.ndarray, k: int) -> float:
    """P(at least k successes) for independent Bernoulli(p) (Poisson-binomial by DP)."""
    if k <= 0:
        return 1.0
    dist = np.zeros(len(p) + 1)
    dist[0] = 1.0
    for q in p:
        dist[1:] = dist[1:] * (1 - q) + dist[:-1] * q
        dist[0] *= 1 - q
    return float(dist[k:].sum())


def _bloc(p_perm: np.ndarray, unity: bool) -> float:
    """P(no permanent member votes no); with unity they vote as one bloc."""
    if len(p_perm) == 0:
        return 1.0
    return float(p_perm.mean()) if unity else float(np.prod(p_perm))


def p_unanimity(
    p: np.ndarray, permanent: np.ndarray, quota: int, procedural: bool, unity: bool
) -> float:
    """Chance that every voter says yes (or a majority, for procedure)."""
    if procedural:
        return _at_least(p, len(p) // 2 + 1)
    return _bloc(p[permanent], unity) * float(np.prod(p[~permanent]))


def p_qualified_majority(
    p: np.ndarray, permanent: np.ndarray, quota: int, procedural: bool, unity: bool
) -> float:
    """Chance of ``quota`` yes votes with no permanent no (procedure: just the quota)."""
    if procedural:
        return _at_least(p, quota)
    n_perm = int(permanent.sum())
    return _bloc(p[permanent], unity) * _at_least(p[~permanent], quota - n_perm)


def p_unilateral(
    p: np.ndarray, permanent: np.ndarray, quota: int, procedural: bool, unity: bool
) -> float:
    """Chance that at least one member acts."""
    return 1.0 - float(np.prod(1.0 - p))


def p_central(
    p: np.ndarray, permanent: np.ndarray, quota: int, procedural: bool, unity: bool
) -> float:
    """The authority always decides."""
    return 1.0


@dataclass(frozen=True)
class Rule:
    """A decision rule: how a cohort decides, and how likely it is to pass."""

    decide: Callable[[Ballot], Decision]
    pass_probability: Callable[[np.ndarray, np.ndarray, int, bool, bool], float]


RULES: dict[str, Rule] = {
    "unanimity": Rule(decide_unanimity, p_unanimity),
    "qualified_majority": Rule(decide_qualified_majority, p_qualified_majority),
    "consensus": Rule(decide_consensus, p_unanimity),
    "unilateral": Rule(decide_unilateral, p_unilateral),
    "central_authority": Rule(decide_central_authority, p_central),
}
