"""The historical figure recomputed from the shipped data, and the calibration reproduced."""

from __future__ import annotations

import importlib.util
import json
import statistics
import sys
from pathlib import Path
from types import ModuleType

import pytest

from crisis_sim import history, scenario

ROOT = Path(__file__).resolve().parents[1]


def _calibrate_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("calibrate", ROOT / "scripts" / "calibrate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["calibrate"] = module
    spec.loader.exec_module(module)
    return module


def test_larger_side_won_49_of_76_decisive_wars() -> None:
    wars = history.decisive_wars()
    assert history.larger_side_wins(wars) == (49, 76)
    assert len(history.participants()) == 95
    upsets = {w.name for w in wars if not w.larger_won}
    assert len(upsets) == 27
    assert {"Franco-Prussian", "Russo-Japanese", "Six Day War"} <= upsets
    missing = [m for w in wars for m in w.missing]
    assert missing == ["Ethiopia (530, 1939)"]


def test_entry_dates_of_1914() -> None:
    d = history.entry_dates(106)
    assert d["Germany"].isoformat() == "1914-08-01"
    assert d["United Kingdom"].isoformat() == "1914-08-05"


def test_calibration_file_matches_the_data() -> None:
    cal = history.calibration()
    wars = history.decisive_wars()
    won, n = history.larger_side_wins(wars)
    assert cal["historical"]["larger_side_won"] == won and cal["historical"]["decisive_wars"] == n
    assert cal["historical"]["median_days"] == statistics.median(w.days for w in wars)
    script = _calibrate_script()
    m, p_larger = script.fit_csf(wars)
    assert cal["calibrated"]["decision.csf_exponent"] == m
    assert cal["fit"]["csf_mean_p_larger_side"] == pytest.approx(p_larger)
    # The fitted contest reproduces the historical share within three points.
    assert abs(p_larger - won / n) < 0.03


def test_calibrated_values_are_valid_scenario_parameters() -> None:
    cal = history.calibration()["calibrated"]
    sc = scenario.load("five_arrangements").model_dump()
    sc["decision"]["csf_exponent"] = cal["decision.csf_exponent"]
    sc["combat"]["attrition"] = cal["combat.attrition"]
    for s in sc["states"]:
        s["capability"]["spread"] = cal["capability.spread"]
    scenario.from_dict(json.loads(json.dumps(sc)), origin="calibrated")


def test_the_best_grid_point_replays_exactly() -> None:
    cal = history.calibration()
    best = cal["calibrated"]
    script = _calibrate_script()
    fit = script.play(history.decisive_wars(), best["capability.spread"], best["combat.attrition"],
                      cal["replications_per_war"], cal["seed"])
    assert fit["larger_side_wins"] == cal["fit"]["simulated_larger_side_share"]
    assert fit["median_days"] == cal["fit"]["simulated_median_days"]
