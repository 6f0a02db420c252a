"""The bundled historical scenarios reproduce the facts of their crises in stated shares of runs.

Each scenario file states the shares asserted here and why. Runs are small (a few hundred to
1,500 replications, in process), so a share's 95% interval is a few points wide: thresholds sit
well inside what the scenarios give, and a broken cascade, vote or timeline fails them.
"""

from __future__ import annotations

import collections
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from crisis_sim import data, history, scenario
from crisis_sim.assumptions import paired_change
from crisis_sim.compiled import compile_scenario
from crisis_sim.crisis import simulate_chunk
from crisis_sim.outcomes import AGGRESSOR_DEFEATED, FAIT_ACCOMPLI, NO_RESPONSE, Reason
from crisis_sim.rules import FAILED_MAJORITY, PASSED, VETOED

ROOT = Path(__file__).resolve().parents[1]
HISTORICAL = ("crimea_1853", "manchuria_1931", "abyssinia_1935", "july_1914", "eastern_pact_1934",
              "eastern_pact_1934_without", "munich_1938", "poland_1939", "poland_1939_mr",
              "nato_2001", "iraq_2003", "five_arrangements")
SEED = 2024
CONDEMNATION, SANCTIONS, MILITARY = 1, 2, 3


@cache
def runs(name: str, n: int) -> tuple[list[str], list[str], dict[str, np.ndarray]]:
    """State codes, institution names and the results of ``n`` replications of a scenario."""
    plan = compile_scenario(scenario.load(name))
    return plan.codes, [i.name for i in plan.institutions], simulate_chunk(plan, SEED, 0, n)


def attacked(r: dict[str, np.ndarray]) -> np.ndarray:
    return ~r["deterred"].astype(bool)


# --------------------------------------------------------------------------- all scenarios


@pytest.mark.parametrize("name", HISTORICAL)
def test_bundled_and_configs_copies_are_identical(name: str) -> None:
    bundled = scenario.bundled_path(name).read_bytes()
    assert (ROOT / "configs" / f"{name}.toml").read_bytes() == bundled


@pytest.mark.parametrize("name", HISTORICAL)
def test_scenario_round_trips_through_its_stored_json(name: str) -> None:
    sc = scenario.load(name)
    again = scenario.from_json(sc.to_json())
    assert again.to_json() == sc.to_json()


def test_capabilities_come_from_the_data_with_documented_factors() -> None:
    sc = scenario.load("manchuria_1931")
    caps = {s.code: s.capability for s in sc.states}
    assert caps["JPN"].mean == pytest.approx(data.cinc("JPN", 1931))
    assert caps["CHN"].mean == pytest.approx(0.25 * data.cinc("CHN", 1931))
    serbia = {s.code: s.capability for s in scenario.load("july_1914").states}["SRB"]
    assert serbia.mean == pytest.approx(data.cinc("YUG", 1914))  # COW codes Serbia as YUG


def test_a_mean_that_contradicts_the_data_is_rejected() -> None:
    raw = scenario.Scenario.model_validate_json(scenario.load("munich_1938").to_json()).model_dump()
    raw["states"][0]["capability"]["mean"] = 0.5
    with pytest.raises(scenario.InputError, match=r"states\[0\]\.capability\.mean"):
        scenario.from_dict(raw, origin="edited")


# --------------------------------------------------------------------------- Manchuria


def test_manchuria_league_condemns_never_authorizes_force_and_japan_quits() -> None:
    codes, insts, r = runs("manchuria_1931", 1500)
    hit = attacked(r)
    assert hit.mean() >= 0.80
    council, assembly = insts.index("League Council"), insts.index("League Assembly")
    level = r["response_level"][hit]
    condemned = (r["vote_result"][hit, assembly] == PASSED) & (level[:, assembly] == CONDEMNATION)
    no_force = (level < MILITARY).all(axis=1)
    assert (condemned & no_force).mean() >= 0.90
    assert no_force.all()
    vetoed_by_japan = (r["vote_result"][hit, council] == VETOED) & (
        r["vetoed_by"][hit, council] == codes.index("JPN"))
    assert vetoed_by_japan.mean() >= 0.90
    assert r["aggressor_quit"][hit].mean() >= 0.80
    alone = r["n_belligerents"][hit] == 2
    assert alone.mean() >= 0.95
    facts = collections.Counter(zip(condemned & no_force, vetoed_by_japan, r["aggressor_quit"][hit],
                                    alone, strict=True))
    assert facts.most_common(1)[0][0] == (True, True, True, True)  # the modal replication


def test_manchuria_falls_in_the_second_year_a_fait_accompli_the_league_condemns() -> None:
    """Japan took Manchuria and, by the Tanggu truce (day 621), China had accepted the loss; the
    League's verdict came after the fall, so the crisis ends as a fait accompli."""
    _, _, r = runs("manchuria_1931", 1500)
    hit = attacked(r)
    fell = r["target_fell_day"][hit] >= 0
    assert fell.mean() >= 0.85
    assert 400 <= np.median(r["target_fell_day"][hit][fell]) <= 621
    assert (r["outcome"][hit] == FAIT_ACCOMPLI).mean() >= 0.85


def test_manchuria_decision_takes_about_a_year() -> None:
    _, insts, r = runs("manchuria_1931", 1500)
    day = r["decision_day"][attacked(r), insts.index("League Assembly")]
    assert 450 <= np.median(day[day >= 0]) <= 600  # the report was adopted on day 525


# --------------------------------------------------------------------------- Crimea


def test_crimea_britain_and_france_balance_russia_after_months_and_it_loses() -> None:
    """The balance of power: the maritime powers come in for themselves, months after the
    attack; Austria and Prussia stay out; Russia's side breaks."""
    codes, _, r = runs("crimea_1853", 1500)
    hit = attacked(r)
    assert hit.mean() >= 0.75
    entry = r["entry_day"][hit].astype(int)
    maritime = entry[:, [codes.index("UKG"), codes.index("FRN")]]
    came = (maritime >= 0).any(axis=1)
    assert came.mean() >= 0.65
    first = np.where(maritime >= 0, maritime, np.iinfo(int).max).min(axis=1)[came]
    assert 100 <= np.median(first) <= 260  # 31 March 1854 is day 159
    assert (entry[:, codes.index("AUH")] >= 0).mean() <= 0.15
    assert (entry[:, codes.index("GMY")] >= 0).mean() <= 0.05
    assert (r["outcome"][hit] == AGGRESSOR_DEFEATED).mean() >= 0.55
    reasons = r["entry_reason"][hit][:, [codes.index("UKG"), codes.index("FRN")]]
    assert set(np.unique(reasons[maritime >= 0]).tolist()) == {int(Reason.SELF_HELP)}


# --------------------------------------------------------------------------- Abyssinia


def test_abyssinia_league_sanctions_never_fights_and_ethiopia_falls_alone() -> None:
    """Sanctions without force: the League names Italy and sanctions it; Ethiopia falls alone."""
    codes, insts, r = runs("abyssinia_1935", 1500)
    hit = attacked(r)
    assert hit.mean() >= 0.90
    council = insts.index("League Council")
    level = r["response_level"][hit, council]
    assert (level == SANCTIONS).mean() >= 0.90
    assert (level < MILITARY).all()
    assert (r["vote_result"][hit, council] == VETOED).mean() >= 0.90  # force refused
    assert (r["n_belligerents"][hit] == 2).all()
    # Answered (sanctions), too weakly: a fait accompli, not "no response".
    assert (r["outcome"][hit] == FAIT_ACCOMPLI).mean() >= 0.90
    fell = r["target_fell_day"][hit]
    assert 150 <= np.median(fell[fell >= 0]) <= 300  # Addis Ababa fell on day 215
    assert not r["aggressor_quit"][hit].any()  # Italy left the League only in 1937


# --------------------------------------------------------------------------- July 1914

COW_NAMES = {"AUH": "Austria-Hungary", "SRB": "Yugoslavia", "RUS": "Russia", "GMY": "Germany",
             "FRN": "France", "UKG": "United Kingdom", "BEL": "Belgium", "ITA": "Italy"}


def test_1914_five_great_powers_within_ten_days_and_italy_stays_out() -> None:
    codes, _, r = runs("july_1914", 1500)
    hit = attacked(r)
    entry = r["entry_day"][hit]
    great = [codes.index(c) for c in ("AUH", "GMY", "RUS", "FRN", "UKG")]
    first = entry[:, [codes.index("AUH"), codes.index("SRB")]].min(axis=1)
    within = ((entry[:, great] >= 0) & (entry[:, great] <= first[:, None] + 10)).all(axis=1)
    assert within.mean() > 0.60
    assert (entry[:, codes.index("ITA")] == -1).all()


def test_1914_modal_order_of_entry_is_the_historical_one() -> None:
    codes, _, r = runs("july_1914", 1500)
    entry = r["entry_day"][attacked(r)]

    def ranks(row: np.ndarray) -> tuple[int, ...]:
        days = sorted({d for d in row if d >= 0})
        return tuple(days.index(d) if d >= 0 else -1 for d in row)

    modal = collections.Counter(ranks(row) for row in entry.tolist()).most_common(1)[0][0]
    cow = history.entry_dates(106)
    in_1914 = {c for c in codes if cow[COW_NAMES[c]].year == 1914}
    assert {c for c, k in zip(codes, modal, strict=True) if k >= 0} == in_1914
    for i in in_1914:
        for j in in_1914:
            if cow[COW_NAMES[i]] < cow[COW_NAMES[j]]:
                assert modal[codes.index(i)] <= modal[codes.index(j)], (i, j, modal)
    assert modal[codes.index("UKG")] > modal[codes.index("GMY")] > modal[codes.index("SRB")]


# --------------------------------------------------------------------------- Eastern Pact


def test_eastern_pact_with_germany_and_poland_deters_more_and_helps_sooner() -> None:
    codes, _, with_ = runs("eastern_pact_1934", 800)
    _, _, without = runs("eastern_pact_1934_without", 800)
    assert np.array_equal(with_["capability"], without["capability"])  # common random numbers
    more = paired_change(with_["deterred"], without["deterred"])
    assert more.low > 0
    rus = codes.index("RUS")

    def soviet_arrival(r: dict[str, np.ndarray]) -> float:
        day = r["arrival_day"][attacked(r), rus]
        return float(np.median(day[day >= 0]))

    assert soviet_arrival(with_) < soviet_arrival(without)


# --------------------------------------------------------------------------- Munich, Poland


def test_munich_ends_without_a_response() -> None:
    _, _, r = runs("munich_1938", 1000)
    assert attacked(r).mean() >= 0.90
    assert (r["outcome"] == NO_RESPONSE).mean() >= 0.75


@pytest.mark.parametrize("name", ["poland_1939", "poland_1939_mr"])
def test_poland_guarantees_honoured_but_poland_falls_first(name: str) -> None:
    codes, _, r = runs(name, 1500)
    hit = attacked(r)
    assert hit.mean() >= 0.90
    entry = r["entry_day"][hit]
    both = ((entry[:, [codes.index("UKG"), codes.index("FRN")]] >= 0)
            & (entry[:, [codes.index("UKG"), codes.index("FRN")]] <= 5)).all(axis=1)
    assert both.mean() >= 0.80
    assert (r["outcome"] == FAIT_ACCOMPLI).mean() > 0.50


def test_molotov_ribbentrop_brings_the_soviet_union_in_and_poland_falls_sooner() -> None:
    codes, _, plain = runs("poland_1939", 1500)
    _, _, pact = runs("poland_1939_mr", 1500)
    assert np.array_equal(plain["capability"], pact["capability"])
    rus = codes.index("RUS")
    assert (pact["side"][attacked(pact), rus] == 1).mean() >= 0.80
    assert (plain["side"][:, rus] == 0).all()
    fell = (plain["target_fell_day"] >= 0) & (pact["target_fell_day"] >= 0)
    sooner = paired_change(pact["target_fell_day"][fell], plain["target_fell_day"][fell])
    assert sooner.high < 0


# --------------------------------------------------------------------------- NATO


def test_nato_decides_within_two_days_and_allies_commit_unequally() -> None:
    codes, insts, r = runs("nato_2001", 1500)
    nac = insts.index("North Atlantic Council")
    passed = r["vote_result"][:, nac] == PASSED
    assert passed.mean() >= 0.90
    assert (r["decision_day"][:, nac] <= 2).all() and (r["decision_day"][:, nac] >= 1).all()
    assert (r["outcome"] == AGGRESSOR_DEFEATED).mean() >= 0.80
    allies = [i for i, c in enumerate(codes) if c not in ("AFG", "USA")]
    at_war = r["side"][:, allies] == 2
    assert at_war.sum(axis=1).mean() < len(allies) / 2
    share = {c: (r["side"][:, codes.index(c)] == 2).mean() for c in ("UKG", "GMY")}
    assert share["UKG"] > share["GMY"]


# --------------------------------------------------------------------------- Iraq 2003


def test_iraq_a_permanent_member_at_war_vetoes_the_council_and_iraq_falls_alone() -> None:
    """The seed text's UN case: the Council cannot act against one of its permanent members."""
    codes, insts, r = runs("iraq_2003", 1500)
    hit = attacked(r)
    assert hit.mean() >= 0.95
    council = insts.index("Security Council")
    assert (r["response_level"][hit, council] == 0).all()  # nothing ever passes
    result = r["vote_result"][hit, council]
    assert np.isin(result, [VETOED, FAILED_MAJORITY]).all()
    vetoed = result == VETOED
    assert vetoed.mean() >= 0.50
    assert (r["vetoed_by"][hit, council][vetoed] == codes.index("USA")).all()
    side = r["side"][hit]
    assert (side[:, codes.index("UKG")] == 1).mean() >= 0.85
    others = [i for i, c in enumerate(codes) if c != "IRQ"]
    assert not (side[:, others] == 2).any()  # nobody fights for Iraq
    assert (r["outcome"][hit] == NO_RESPONSE).mean() >= 0.95
    fell = r["target_fell_day"][hit]
    assert 15 <= np.median(fell[fell >= 0]) <= 45  # Baghdad fell on day 21, COW ends on day 44


def test_iraq_without_vetoes_the_council_responds_exactly_where_it_was_vetoed() -> None:
    """Same seed, same ballots: taking the vetoes away lets through what they stopped, no more."""
    codes, insts, r = runs("iraq_2003", 1500)
    raw = scenario.Scenario.model_validate_json(scenario.load("iraq_2003").to_json()).model_dump()
    raw["institutions"][0]["permanent"] = []
    free = simulate_chunk(compile_scenario(scenario.from_dict(raw, origin="no vetoes")), SEED, 0,
                          1500)
    both = attacked(r) & attacked(free)
    assert both.mean() >= 0.95
    council = insts.index("Security Council")
    vetoed = r["vote_result"][both, council] == VETOED
    responded = free["response_level"][both, council] >= CONDEMNATION
    assert vetoed.any()
    assert np.array_equal(responded, vetoed)
