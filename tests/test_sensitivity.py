"""Sobol indices: right on a function with known answers, and end to end on a small sweep."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_png
from inproc import main
from SALib.sample import sobol as sobol_sample
from SALib.test_functions import Ishigami

from crisis_sim import design, params, runner, scenario, sensitivity, sweep

# Ishigami (a=7, b=0.1): analytic first-order and total indices.
ISHIGAMI_S1 = [0.3139, 0.4424, 0.0]
ISHIGAMI_ST = [0.5576, 0.4424, 0.2437]


def test_recovers_the_analytic_ishigami_indices():
    problem = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-np.pi, np.pi]] * 3}
    x = sobol_sample.sample(problem, 4096, calc_second_order=False, seed=3)
    got = sensitivity.sobol(problem, Ishigami.evaluate(x), seed=3, resamples=200)
    for ix, s1, st in zip(got, ISHIGAMI_S1, ISHIGAMI_ST, strict=True):
        assert ix.s1 == pytest.approx(s1, abs=0.03), ix.name
        assert ix.st == pytest.approx(st, abs=0.03), ix.name
        assert 0 < ix.s1_conf < 0.1 and 0 < ix.st_conf < 0.1


@pytest.fixture(scope="module")
def sobol_sweep(tmp_path_factory):
    """A small sobol sweep (32 points x 60 replications), through the sweep module."""
    out = tmp_path_factory.mktemp("sens") / "sobol.h5"
    base = scenario.load("default")
    ranges = [design.parse_range(params.find(base, "decision.attack_threshold"), "0.3:0.7"),
              design.parse_range(params.find(base, "combat.sanctions_effect"), None)]
    plans = sweep.start(out, base, design.sample(ranges, "sobol", 8, 2), 2, 60, overwrite=False)
    sweep.execute(out, plans, 2, runner.InProcess(), chunk_size=60)
    return out


def test_end_to_end_on_a_small_sobol_sweep(capsys, sobol_sweep, tmp_path):
    res = main(capsys, "sensitivity", str(sobol_sweep), "--output", "deterred",
               "--plot", str(tmp_path / "s.png"))
    assert res.code == 0, res.err
    assert "decision.attack_threshold" in res.out and "combat.sanctions_effect" in res.out
    assert_png(tmp_path / "s.png")
    idx = {i.name: i for i in sensitivity.from_sweep(sobol_sweep, "deterred")[0]}
    # The aggressor's decision reads its threshold, never the effect of sanctions: with the
    # same random numbers at every point, the latter's indices are exactly zero.
    assert idx["combat.sanctions_effect"].st == 0.0 and idx["combat.sanctions_effect"].s1 == 0.0
    assert idx["decision.attack_threshold"].st > 0.2


def test_sensitivity_needs_a_sobol_design(capsys, tmp_path):
    out = tmp_path / "grid.h5"
    assert main(capsys, "sweep", "--param", "decision.attack_threshold=0.3:0.7", "--points", "2",
                "--runs", "10", "--out", str(out), "-q").code == 0
    res = main(capsys, "sensitivity", str(out))
    assert res.code == 2
    assert "design is 'grid'; Sobol indices need a sweep made with --design sobol" in res.err


def test_unknown_output_is_refused(capsys, sobol_sweep):
    res = main(capsys, "sensitivity", str(sobol_sweep), "--output", "victory")
    assert res.code == 2 and "--output victory: unknown output" in res.err


def test_morris_effects_of_a_linear_function_are_its_slopes():
    from SALib.sample import morris as morris_sample

    problem = {"num_vars": 2, "names": ["a", "b"], "bounds": [[0.0, 2.0], [0.0, 1.0]]}
    x = morris_sample.sample(problem, 20, num_levels=4, seed=1)
    got = sensitivity.morris(problem, x, 3.0 * x[:, 0] + 0.0 * x[:, 1], seed=1)
    # SALib scales each step to the unit range: a slope of 3 over a range of 2 is an effect of 6
    assert got[0].mu_star == pytest.approx(6.0) and got[0].sigma == pytest.approx(0.0, abs=1e-9)
    assert got[1].mu_star == 0.0


def test_end_to_end_morris_screening(capsys, tmp_path):
    out = tmp_path / "morris.h5"
    assert main(capsys, "sweep", "--param", "decision.attack_threshold=0.3:0.7",
                "--param", "combat.sanctions_effect", "--design", "morris", "--points", "3",
                "--runs", "40", "--out", str(out), "-q").code == 0
    res = main(capsys, "sensitivity", str(out), "--plot", str(tmp_path / "m.png"))
    assert res.code == 0, res.err
    assert "Morris elementary effects: share deterred" in res.out
    effects = {e.name: e for e in sensitivity.analyze(out, "deterred")[0]}
    assert effects["combat.sanctions_effect"].mu_star == 0.0
    assert effects["decision.attack_threshold"].mu_star > 0
    assert_png(tmp_path / "m.png")


def test_an_output_that_never_moves_is_said_so_without_library_warnings(tmp_path):
    """The aggressor's decision ignores sanctions' effect: the share deterred is one number."""
    from conftest import cli

    out = tmp_path / "flat.h5"
    cli("sweep", "--param", "combat.sanctions_effect", "--design", "sobol", "--points", "4",
        "--runs", "20", "--out", str(out), "-q", check=True)
    proc = cli("sensitivity", str(out), "--output", "deterred", check=True)
    assert proc.stderr == "", proc.stderr  # no SALib warning about constant values
    said = " ".join(proc.stdout.split())  # the caption wraps at the table's width
    assert "the share deterred is the same at every point: no parameter moves it" in said


@pytest.mark.parametrize("value", [0.0, 0.14])
def test_constant_outputs_raise_no_library_warning(value):
    """An output that never moves (exactly, so its deviation is 0) gives zero indices, quietly:
    SALib warns that the values are constant, then divides 0 by 0 standardising them."""
    import warnings

    problem = {"num_vars": 2, "names": ["a", "b"], "bounds": [[0.0, 1.0]] * 2}
    y = np.full(24, value)  # a Saltelli design without second order: 8 x (2 + 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = sensitivity.sobol(problem, y, resamples=50)
    assert [(s.name, s.s1, s.st) for s in found] == [("a", 0.0, 0.0), ("b", 0.0, 0.0)]
