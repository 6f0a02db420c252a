"""Every scenario number as a named, bounded parameter: listing, addressing, refusal."""

from __future__ import annotations

import re

import pytest
from inproc import main

from crisis_sim import params, scenario
from crisis_sim.errors import InputError


@pytest.fixture(scope="module")
def sc():
    return scenario.load("default")


def test_listing_names_every_number_with_value_bounds_unit_and_meaning(capsys, sc):
    res = main(capsys, "params")
    assert res.code == 0
    lines = res.out.splitlines()
    by_name = {ln.split()[0]: ln for ln in lines}
    assert len(lines) == len(params.sweepable(sc)) + len(params.aliases(sc))
    red = by_name["states.RED.willingness"].split()
    assert red[1:5] == ["0.5", "[0,", "1]", "probability"]
    assert "willingness to commit forces" in by_name["states.RED.willingness"]
    assert "(0, 1]" in by_name["combat.attrition"]  # an open bound is shown open
    assert by_name["theory.organski.equal_commitment"].split()[1:5] == ["0", "[0,", "1]", "switch"]
    assert "institutions.Security_Council.stages.2.deliberation.median" in by_name
    assert "5..21 (3 places)" in by_name["deliberation.median"]
    assert "capability.year" not in res.out  # data keys are not parameters


def test_index_and_code_address_the_same_place(sc):
    by_code = params.find(sc, "states.GREEN.projection")
    by_index = params.find(sc, "states.2.projection")
    assert by_code.paths == by_index.paths == (("states", 2, "projection"),)
    assert by_code.values == (0.8,)


def test_alias_sets_every_stage_of_every_institution(sc):
    new = params.apply(sc, {"deliberation.median": 200.0})
    medians = [st.deliberation.median for inst in new.institutions for st in inst.stages]
    assert medians == [200.0, 200.0, 200.0]
    assert [st.deliberation.median for st in sc.institutions[0].stages] == [5.0, 14.0, 21.0]


def test_theory_alias_and_switch_rounding(sc):
    assert params.find(sc, "theory.equal_commitment").paths == (
        ("theory", "organski", "equal_commitment"),)
    new = params.apply(sc, {"theory.equal_commitment": 1.0, "horizon_days": 200.0})
    assert new.theory.organski.equal_commitment is True and new.horizon_days == 200


@pytest.mark.parametrize(("name", "value", "shown"), [
    ("states.RED.willingness", 1.5, "states.RED.willingness = 1.5 is outside its bounds [0, 1]"),
    ("combat.attrition", 0.0, "combat.attrition = 0 is outside its bounds (0, 1]"),
    ("theory.equal_commitment", 0.5, "theory.equal_commitment = 0.5 must be a whole number"),
    ("horizon_days", 4000.0, "horizon_days = 4000 is outside its bounds [1, 3650]"),
])
def test_values_outside_the_schema_are_refused_naming_parameter_and_value(sc, name, value, shown):
    with pytest.raises(InputError, match="^--param: " + re.escape(shown)):
        params.apply(sc, {name: value})


def test_cross_checks_of_the_schema_still_apply(sc):
    with pytest.raises(InputError, match=r"quota: 16 exceeds 15 members"):
        params.apply(sc, {"institutions.Security_Council.quota": 16})


def test_unknown_name_suggests_the_closest(sc):
    with pytest.raises(InputError, match="did you mean willingness"):
        params.find(sc, "willingnes")


def test_sweep_refuses_a_range_outside_bounds_with_exit_status_2(capsys, tmp_path):
    res = main(capsys, "sweep", "--param", "decision.misperception=0:5", "--runs", "10",
               "--out", str(tmp_path / "s.h5"), "-q")
    assert res.code == 2
    assert res.err.strip().splitlines() == [
        "crisis-sim: error: --param decision.misperception=0:5: decision.misperception = 5 is "
        "outside its bounds [0, 3] (log-sd)"]
    assert not (tmp_path / "s.h5").exists()


def test_setting_any_parameter_to_its_value_changes_nothing(sc):
    for p in params.sweepable(sc):
        assert params.apply(sc, {p.name: p.values[0]}) == sc, p.name


@pytest.mark.parametrize("name", scenario.bundled_names())
def test_every_bundled_scenario_lists_and_sets_its_parameters(name):
    sc = scenario.load(name)
    listed = params.sweepable(sc)
    assert listed and all(p.lo <= v <= p.hi for p in listed for v in p.values)
    new = params.apply(sc, {"willingness": 0.25})
    assert {s.willingness for s in new.states} == {0.25}


def test_a_capability_from_the_data_is_swept_through_its_factor():
    raw = {"name": "x", "aggressor": "AAA", "target": "BBB",
           "states": [{"code": "AAA", "capability": {"cow": "JPN", "year": 1931}},
                      {"code": "BBB", "capability": {"mean": 0.05}}]}
    sc = scenario.from_dict(raw)
    names = [p.name for p in params.sweepable(sc)]
    assert "states.AAA.capability.mean" not in names and "states.BBB.capability.mean" in names
    doubled = params.apply(sc, {"states.AAA.capability.factor": 2.0})
    assert doubled.states[0].capability.mean == pytest.approx(2 * sc.states[0].capability.mean)


def test_only_the_leaders_resolve_is_a_parameter(sc):
    """Each side breaks at its leader's resolve: a third state's would change nothing."""
    names = {p.name for p in params.sweepable(sc) if p.name.endswith(".resolve")}
    assert names == {f"states.{sc.aggressor}.resolve", f"states.{sc.target}.resolve"}
    assert len(params.find(sc, "resolve").paths) == 2
    third = next(s.code for s in sc.states if s.code not in (sc.aggressor, sc.target))
    with pytest.raises(InputError, match=f"states.{third}.resolve: not a parameter"):
        params.find(sc, f"states.{third}.resolve")


def test_numbers_that_would_change_nothing_are_not_parameters(sc):
    """A capability's ``factor`` scales data only, and ``predominance`` triggers self-help
    only: listed elsewhere, a sweep over them would change nothing."""
    names = {p.name for p in params.sweepable(sc)}
    assert not any(n.endswith("capability.factor") for n in names)  # no state from the data
    assert not any(n.endswith(".predominance") for n in names)  # a Security Council
    crimea = scenario.load("crimea_1853")  # self-help
    assert any(p.name.endswith(".predominance") for p in params.sweepable(crimea))
    with pytest.raises(InputError, match="not a parameter"):
        params.find(sc, f"states.{sc.aggressor}.capability.factor")


def test_params_aliases_lists_every_alias_of_the_scenario_with_its_places(capsys):
    """``params --aliases``: one row per alias that names a place, with how many it sets."""
    from inproc import main

    from crisis_sim import params, scenario

    res = main(capsys, "params", "--aliases")
    assert res.code == 0, res.err
    listed = [line.split()[0] for line in res.out.splitlines() if line.strip()]
    found = params.aliases(scenario.load("default"))
    assert [p.name for p in found] == [n for n in listed if n in {p.name for p in found}]
    assert {p.name for p in found} <= set(listed)
    assert "willingness" in listed and "(19 places)" in res.out
