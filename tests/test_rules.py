"""Decision rules as a truth table, including the cases from history."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import agrees
from hypothesis import given
from hypothesis import strategies as st

from crisis_sim.rules import FAILED_MAJORITY, PASSED, RULES, VETOED, Ballot


def ballot(yes, voting=None, permanent=None, quota=0, procedural=False):
    yes = np.array([yes], dtype=bool)
    voting = np.ones_like(yes) if voting is None else np.array([voting], dtype=bool)
    permanent = np.zeros(yes.shape[1], dtype=bool) if permanent is None else np.array(permanent)
    return Ballot(yes, voting, permanent, quota, procedural)


def decide(rule, b):
    result, veto = RULES[rule].decide(b)
    return int(result[0]), int(veto[0])


P5 = [True] * 5 + [False] * 10


@pytest.mark.parametrize(
    ("yes", "voting", "quota", "procedural", "expected", "vetoer"),
    [
        # 15 members, 5 permanent, quota 9 (UN Charter Art. 27).
        ([1] * 15, [1] * 15, 9, False, PASSED, -1),
        ([0] + [1] * 14, [1] * 15, 9, False, VETOED, 0),  # a permanent member's no is a veto
        ([1] * 5 + [1] * 3 + [0] * 7, [1] * 15, 9, False, FAILED_MAJORITY, -1),  # 8 yes: fails
        (
            [0] + [1] * 7 + [0] * 7,
            [1] * 15,
            9,
            False,
            FAILED_MAJORITY,
            -1,
        ),  # too few, no veto counted
        (
            [0] + [1] * 14,
            [0] + [1] * 14,
            9,
            False,
            PASSED,
            -1,
        ),  # absent (Korea 1950): no vote, no veto
        ([0] + [1] * 14, [1] * 15, 9, True, PASSED, -1),  # procedural: cannot be vetoed
        ([0, 1, 1, 1, 1] + [1] * 3 + [0] * 7, [1] * 15, 9, True, FAILED_MAJORITY, -1),
    ],
)
def test_qualified_majority_truth_table(yes, voting, quota, procedural, expected, vetoer):
    b = ballot(yes, voting, P5, quota, procedural)
    assert decide("qualified_majority", b) == (expected, vetoer)


def test_vetoing_permanent_member_is_named():
    yes = [1, 1, 0, 1, 1] + [1] * 10
    assert decide("qualified_majority", ballot(yes, None, P5, 9)) == (VETOED, 2)


def test_league_unanimity_counts_the_parties_article_11():
    # Council 1931: Japan (position 0) is a party and votes no: the resolution is vetoed.
    yes = [0, 1, 1, 1]
    assert decide("unanimity", ballot(yes, [1, 1, 1, 1])) == (VETOED, 0)


def test_league_unanimity_without_the_parties_article_15():
    # Assembly 1933: the parties to the dispute do not vote; the others are unanimous.
    yes = [0, 1, 1, 1]
    assert decide("unanimity", ballot(yes, [0, 1, 1, 1])) == (PASSED, -1)


def test_consensus_blocked_by_one_objection():
    assert decide("consensus", ballot([1, 1, 0, 1])) == (VETOED, 2)
    assert decide("consensus", ballot([1, 1, 1, 1])) == (PASSED, -1)


@given(
    st.lists(st.booleans(), min_size=15, max_size=15),
    st.lists(st.booleans(), min_size=15, max_size=15),
)
def test_qualified_majority_properties(yes, voting):
    """Art. 27(3) both ways: nine yes votes and no permanent member voting no, and nothing else.

    Too few yes votes fail as such; with enough, the first permanent member voting no vetoes.
    """
    b = ballot(yes, voting, P5, 9)
    result, vetoer = decide("qualified_majority", b)
    n_yes = sum(y and v for y, v in zip(yes, voting, strict=True))
    permanent_no = [j for j in range(15) if P5[j] and voting[j] and not yes[j]]
    if n_yes < 9:
        assert result == FAILED_MAJORITY
    elif permanent_no:
        assert result == VETOED and vetoer == permanent_no[0]
    else:
        assert result == PASSED


@given(st.lists(st.floats(0, 1), min_size=3, max_size=12))
def test_pass_probability_matches_enumeration_for_unanimity(p):
    p = np.array(p)
    perm = np.zeros(len(p), dtype=bool)
    assert RULES["unanimity"].pass_probability(p, perm, perm, 0, False) == pytest.approx(np.prod(p))


def test_pass_probability_of_qualified_majority_by_monte_carlo():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.3, 0.95, 15)
    perm = np.array(P5)
    exact = RULES["qualified_majority"].pass_probability(p, perm, np.zeros_like(perm), 9, False)
    draws = rng.uniform(size=(200_000, 15)) < p
    b = Ballot(draws, np.ones_like(draws), perm, 9, False)
    mc = (RULES["qualified_majority"].decide(b)[0] == PASSED).mean()
    assert agrees(mc, exact, 200_000), (mc, exact)


@pytest.mark.parametrize(
    "bloc_members",
    [[0, 1, 2, 3, 4], [0, 1, 5], [5, 6, 7]],
    ids=["the permanent five", "two permanent and one elected", "three elected, no veto"],
)
@pytest.mark.parametrize("low", [0.3, 0.85], ids=["divided council", "willing council"])
def test_pass_probability_with_a_unity_bloc_by_monte_carlo(bloc_members, low):
    """Schuman's bloc votes with one shared draw at its members' mean propensity.

    Propensities from 0.85 put unanimity near a third, where a forecast that ignored the bloc
    (0.23 against 0.28-0.34) is many standard errors off; from 0.3 it is a few in a thousand.
    """
    rng = np.random.default_rng(1)
    p = rng.uniform(low, 0.95 if low < 0.5 else 0.99, 15)
    perm = np.array(P5)
    bloc = np.isin(np.arange(15), bloc_members)
    n = 200_000
    draws = rng.uniform(size=(n, 15)) < p
    draws[:, bloc] = (rng.uniform(size=n) < p[bloc].mean())[:, None]
    for rule, quota in (("qualified_majority", 9), ("unanimity", 0), ("consensus", 0)):
        # Procedural votes too; consensus has none, so its forecast must match its ballots there.
        for procedural in (False, True):
            b = Ballot(draws, np.ones_like(draws), perm, quota, procedural)
            mc = (RULES[rule].decide(b)[0] == PASSED).mean()
            exact = RULES[rule].pass_probability(p, perm, bloc, quota, procedural)
            assert agrees(mc, exact, n), (rule, procedural, mc, exact)
    if low > 0.5:  # the bloc's shared draw shows in unanimity's forecast
        unanimous = (
            RULES["unanimity"].decide(Ballot(draws, np.ones_like(draws), perm, 0, False))[0]
            == PASSED
        ).mean()
        no_bloc = RULES["unanimity"].pass_probability(p, perm, np.zeros_like(bloc), 0, False)
        assert not agrees(unanimous, no_bloc, n), (unanimous, no_bloc)


@pytest.mark.parametrize("rule", ["unanimity", "qualified_majority", "consensus", "unilateral"])
@pytest.mark.parametrize("procedural", [False, True])
def test_pass_probability_of_many_settings_is_each_setting_alone(rule, procedural):
    """The forecast weighs every way of naming the aggressor at once: row by row, the same."""
    rng = np.random.default_rng(3)
    p = rng.uniform(0.0, 1.0, (40, 15)) * (rng.uniform(size=(40, 15)) < 0.9)
    perm = np.array(P5)
    for bloc in (np.zeros(15, dtype=bool), np.isin(np.arange(15), [0, 1, 5])):
        many = RULES[rule].pass_probability(p, perm, bloc, 9, procedural)
        alone = [float(RULES[rule].pass_probability(row, perm, bloc, 9, procedural)) for row in p]
        np.testing.assert_allclose(many, alone, rtol=1e-12, atol=1e-15)
        assert many.shape == (40,) and 0.0 < many.max() <= 1.0
