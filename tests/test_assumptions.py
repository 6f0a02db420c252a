"""The theories as experiments: settings, common random numbers, paired effects, the CLI."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_png, cli

from crisis_sim import assumptions, scenario
from crisis_sim.compare import run_variants
from crisis_sim.compiled import compile_scenario

N = 300


@pytest.fixture(scope="module")
def experiment() -> assumptions.Experiment:
    return assumptions.run(scenario.load(assumptions.DEFAULT_SCENARIO), N, 5, chunk_size=120)


def test_baseline_imposes_everything_and_each_variant_flips_one() -> None:
    sc = scenario.load("default")
    base = assumptions.baseline(sc).theory
    assert base.organski.agreement_on_aggressor and base.organski.modify_or_defeated
    assert base.morgenthau.overwhelming_force and base.morgenthau.subordination_of_interests
    assert base.great_power_unity and base.free_riding == 0.0
    for a in assumptions.ASSUMPTIONS:
        flipped = assumptions.relaxed(sc, a).theory.model_dump()
        differs = [k for k, v in _flat(flipped).items() if _flat(base.model_dump())[k] != v]
        assert len(differs) == 1, (a.key, differs)
    free_riders = assumptions.relaxed(sc, assumptions.ASSUMPTIONS[-1])
    assert free_riders.theory.free_riding == sc.theory.free_riding


def _flat(d: dict, prefix: str = "") -> dict:
    out: dict = {}
    for k, v in d.items():
        out.update(_flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
    return out


def test_every_setting_draws_the_same_capabilities() -> None:
    sc = scenario.load("five_arrangements")
    plays = assumptions.variants(sc)
    assert len(plays) == 2 + 2 * len(assumptions.ASSUMPTIONS)
    caps: dict[str, np.ndarray] = {}
    for name, _start, arrays in run_variants(plays, 60, 9):
        caps[name] = arrays["capability"]
    first = caps[assumptions.BASELINE]
    assert all(np.array_equal(first, c) for c in caps.values())


def test_experiment_shape_and_paired_changes(experiment: assumptions.Experiment) -> None:
    assert [e.key for e in experiment.relaxed] == [a.key for a in assumptions.ASSUMPTIONS]
    assert [e.key for e in experiment.alone] == [a.key for a in assumptions.ASSUMPTIONS]
    for e in [experiment.baseline, experiment.none]:
        assert all(c.value == 0 for c in e.change.values())
    for e in experiment.relaxed + experiment.alone:
        for m in assumptions.MEASURES:
            assert 0.0 <= e.shares[m].value <= 1.0
            assert e.change[m].low <= e.change[m].value <= e.change[m].high
    base = experiment.baseline.shares["deterred"].value
    for e in experiment.relaxed:
        assert e.change["deterred"].value == pytest.approx(e.shares["deterred"].value - base)


def test_overwhelming_force_alone_deters(experiment: assumptions.Experiment) -> None:
    alone = {e.key: e for e in experiment.alone}
    assert alone["overwhelming_force"].change["deterred"].low > 0
    # And it is what keeps the fully imposed system deterring: all imposed deters nearly always
    # (every run of this sample; README: 100.0% at 20,000), none imposed about one run in five.
    assert experiment.baseline.shares["deterred"].low > 0.95
    assert experiment.none.shares["deterred"].high < 0.5


def test_equal_commitment_and_free_riding_are_separate_switches() -> None:
    sc = scenario.load("five_arrangements")
    sc.theory.free_riding = 0.5
    sc.theory.organski.equal_commitment = True
    inst = compile_scenario(sc).institutions[0]
    third = ~np.isin(inst.covered, [sc.state_index("RED"), sc.state_index("BLUE")])
    assert np.unique(inst.p_commit[third]).size == 1  # equally committed
    assert np.unique(inst.share).size > 1  # yet the small still carry less
    sc.theory.organski.equal_commitment = False
    sc.theory.free_riding = 0.0
    inst = compile_scenario(sc).institutions[0]
    assert np.unique(inst.p_commit[third]).size > 1
    assert (inst.share == 1.0).all()


def test_cli_assumptions_prints_both_tables_and_draws_them(tmp_path) -> None:
    fig = tmp_path / "assumptions.png"
    proc = cli("assumptions", "five_arrangements", "--runs", "60", "--quiet", "--plot", str(fig))
    assert proc.returncode == 0, proc.stderr
    assert f"wrote {fig}" in proc.stdout
    assert_png(fig)
    assert "When one assumption fails" in proc.stdout
    assert "When one assumption holds alone" in proc.stdout
    assert "Organski 1" in proc.stdout and "Schuman" in proc.stdout
    bad = cli("assumptions", "five_arrangements", "--runs", "0")
    assert bad.returncode == 2 and "--runs 0" in bad.stderr


def test_a_paired_change_stays_within_the_range_of_a_share() -> None:
    """With few replications the normal interval would pass +-100 points; it is cut there."""
    x = np.array([1] * 9 + [0])
    base = np.zeros(10, dtype=int)
    est = assumptions.paired_change(x, base)
    assert est.value == pytest.approx(0.9)
    assert -1.0 <= est.low < est.value < est.high == 1.0
    assert assumptions.paired_change(base, x).low == -1.0


def test_the_figure_lists_every_assumption_on_both_sides(
    experiment: assumptions.Experiment,
) -> None:
    from crisis_sim import plots

    fig = plots.assumptions(experiment)
    left, right = fig.axes
    labels = [t.get_text() for t in left.get_yticklabels()]
    assert sorted(labels) == sorted(a.label for a in assumptions.ASSUMPTIONS)
    # Each panel draws both measures for every assumption, at its paired change in points.
    for ax, effects in ((left, experiment.relaxed), (right, experiment.alone)):
        works = ax.containers[0].lines[0].get_xdata()
        by_label = dict(zip(labels, works, strict=True))
        for x in effects:
            assert by_label[x.label] == pytest.approx(100 * x.change["works"].value)
