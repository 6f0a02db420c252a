"""The 95% intervals every table prints, against published and hand-worked values."""

from __future__ import annotations

import numpy as np
import pytest

from crisis_sim.analysis import wilson
from crisis_sim.assumptions import paired_change
from crisis_sim.compare import mean_interval, median_interval


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        # Newcombe (1998), Statistics in Medicine 17:857-872, Table I, method 3 (Wilson score).
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
        (5, 10, 0.2366, 0.7634),
    ],
)
def test_wilson_interval_matches_newcombe(k, n, low, high):
    lo, hi = wilson(k, n)
    assert (round(float(lo), 4), round(float(hi), 4)) == (low, high)


def test_median_interval_is_the_binomial_order_statistics():
    """n = 100: ranks 50 -/+ 1.96 * sqrt(100) / 2, that is the 41st and 61st values."""
    est = median_interval(np.arange(100.0)[::-1])
    assert (est.value, est.low, est.high) == (49.5, 40.0, 60.0)


def test_mean_interval_is_normal_with_the_sample_deviation():
    """Fifty 0s and fifty 1s: 0.5 -/+ 1.96 * 0.50252 / 10."""
    est = mean_interval(np.array([0.0, 1.0] * 50))
    assert est.value == 0.5
    assert (est.low, est.high) == pytest.approx((0.401508, 0.598492), abs=1e-6)


def test_paired_change_lower_bound_by_hand():
    """Nine 1s and a 0 against zeros: 0.9 -/+ 1.96 * sqrt(0.1) / sqrt(10), cut at 1."""
    est = paired_change(np.array([1] * 9 + [0]), np.zeros(10, dtype=int))
    assert est.low == pytest.approx(0.704004, abs=1e-6)
    assert est.high == 1.0
