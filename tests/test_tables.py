"""How the experiments' tables write their numbers."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from crisis_sim.tables import signed_points


def test_a_fall_too_small_to_show_keeps_its_sign():
    assert signed_points(-0.0001) == "-0.0"  # an interval ending here is below zero
    assert signed_points(-0.0) == "+0.0"
    assert signed_points(0.0) == "+0.0"
    assert signed_points(0.0004) == "+0.0"
    assert signed_points(-0.0006) == "-0.1"
    assert signed_points(0.123) == "+12.3"
    assert signed_points(-0.5) == "-50.0"


@given(st.floats(-1.0, 1.0))
def test_points_are_the_share_rounded_with_a_sign(share):
    shown = signed_points(share)
    assert shown[0] in "+-"
    assert abs(float(shown) - 100 * share) <= 0.05 + 1e-9
    assert shown == f"{100 * share:+.1f}" or float(shown) == 0.0
    assert (shown[0] == "-") == (share < 0 or float(shown) < 0)  # the sign is the share's
