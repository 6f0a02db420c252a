"""The single-thread and multi-thread variants of the kernels give the same bits.

crisis.py picks one or the other by cohort size, so results would otherwise depend on how
replications are grouped into chunks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from crisis_sim import codes, rng

HERE = Path(__file__).parent / "scenarios"


def test_draw_variants_agree():
    reps = np.arange(1000, 1300, dtype=np.int64)
    draws = np.arange(7, dtype=np.int64) * 1024 + 3
    par = rng.uniforms(9, reps, codes.VOTE, draws)
    assert np.array_equal(par, rng.uniforms_serial(9, reps, codes.VOTE, draws))


def test_kernel_variants_agree(default_plan, monkeypatch):
    import numba

    from crisis_sim.crisis import simulate_chunk

    if numba.get_num_threads() < 2:  # draws.worth_threads: one thread never launches in parallel
        pytest.skip("one Numba thread: the parallel kernel is never used")
    monkeypatch.setattr(codes, "PARALLEL_COHORT", 1)  # every cohort on all threads
    par = simulate_chunk(default_plan, 3, 0, 3000)
    monkeypatch.setattr(codes, "PARALLEL_COHORT", 1 << 62)  # every cohort on the calling thread
    ser = simulate_chunk(default_plan, 3, 0, 3000)
    for name in par:
        assert np.array_equal(par[name], ser[name], equal_nan=True), name


def test_lazy_war_matches_a_day_by_day_war(default_plan):
    """Cutting each war only at its own event days gives the same losses as fighting day by day."""
    from crisis_sim.crisis import Crisis

    c = Crisis(default_plan, 4, 0, 2000)
    c.run()
    reps = np.flatnonzero(~c.deterred & ~c.backed_down)
    la, ld = c.loss_a[reps].copy(), c.loss_d[reps].copy()
    # Fight the same wars again one day per call, from the final war rolls (entries are dated,
    # and mobilization is zero before entry, so the final roll replays the whole war).
    c.loss_a[:] = 0.0
    c.loss_d[:] = 0.0
    c.fought_to[:] = 0
    c.ending[:] = 0
    c.end_day[:] = np.where(c.deterred, -1, np.iinfo(np.int32).max)
    for day in range(1, default_plan.horizon + 2):
        c.advance(reps, day)
    assert np.array_equal(c.loss_a[reps], la)
    assert np.array_equal(c.loss_d[reps], ld)


@pytest.mark.parametrize(
    "name", ["default", "july_1914", str(HERE / "all_steps.toml"), str(HERE / "late_steps.toml")]
)
def test_steps_that_act_on_the_war_as_last_fought_change_nothing(name, monkeypatch):
    """Identification and entries skip fighting the war up to their day: same bits as not.

    late_steps.toml makes the cases that need care common: appeals heard after the aggressor's
    side broke, allies arriving after the war, help called for after the target fell.
    """
    from crisis_sim import crisis, scenario
    from crisis_sim.compiled import compile_scenario

    plan = compile_scenario(scenario.load(name))
    blind = crisis.simulate_chunk(plan, 5, 0, 4000)
    monkeypatch.setattr(crisis, "BLIND", ())  # every step fights the war up to its day first
    fought = crisis.simulate_chunk(plan, 5, 0, 4000)
    for key in fought:
        assert np.array_equal(blind[key], fought[key], equal_nan=True), key


@pytest.mark.parametrize("name", ["default", "july_1914", str(HERE / "all_steps.toml")])
def test_war_roll_width_changes_nothing(name, monkeypatch):
    """A roll that starts narrow and widens often gives the bits of one wide from the start.

    Places beyond a war's belligerents are left uncleared when the roll widens: here they hold
    nonsense (a state -5 on side -5, in the field since day -4 with a force of 1.0), and
    nothing may read them.
    """
    from crisis_sim import crisis, scenario
    from crisis_sim.compiled import compile_scenario

    class Poisoned:
        """NumPy, but ``empty`` arrays come full of nonsense rather than of whatever was there."""

        def __getattr__(self, name: str):
            return getattr(np, name)

        @staticmethod
        def empty(shape, dtype=float):
            return np.full(shape, -5 if np.dtype(dtype).kind == "i" else 1.0, dtype=dtype)

    plan = compile_scenario(scenario.load(name))
    monkeypatch.setattr(crisis, "np", Poisoned())
    monkeypatch.setattr(crisis, "ROLL_WIDTH", 1)  # widens at nearly every entry day at first
    narrow = crisis.Crisis(plan, 6, 0, 3000)
    narrow_runs = narrow.run()
    monkeypatch.setattr(crisis, "np", np)
    monkeypatch.setattr(np, "empty", np.zeros)  # places never written hold harmless zeros
    monkeypatch.setattr(crisis, "ROLL_WIDTH", plan.n_states)  # never widens
    wide = crisis.simulate_chunk(plan, 6, 0, 3000)
    assert narrow.b_state.shape[1] > 2  # it did widen, more than once
    for key in wide:
        assert np.array_equal(narrow_runs[key], wide[key], equal_nan=True), key
