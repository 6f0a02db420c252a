"""The combat kernel against a bare Numba loop doing the same arithmetic (ns per replication-day).

*Kernel*: a real chunk of the default scenario is simulated with ``kernel.advance_war`` wrapped
by a timer; the replication-days it fought are counted from its state before and after each call
(a replication fights ``day_to - day_from`` days, fewer if its war ends in the call).

*Bare loop*: the same replications fought again in one call, from day 0 to the end, with each
replication's belligerents (force, entry day, side, mobilization constants, and a day from
which it is at full strength and both loops add its force without the ramp) known in advance
and packed contiguously: no event days, no cohort bookkeeping, no checks of who is at war, and
each belligerent's constants beside it (the kernel unpacks them per segment). It is the
floor for this arithmetic in Numba: a plain loop on one thread, as the kernel runs in a pool
worker (compiled with ``parallel=True``, the same loop ran up to twice as slow). It must
reproduce the kernel's losses exactly, which :func:`measure` checks, so both loops really do
the same work.
"""

from __future__ import annotations

import inspect
import time
from typing import Any

import numpy as np
from numba import njit

from crisis_sim.codes import COMBAT
from crisis_sim.kernel import full_strength_day
from crisis_sim.libm import exp
from crisis_sim.rng import normal_pair_at, rep_key


# Compiled afresh in each run (a few seconds, before any timing): it inlines the package's
# exponential and random numbers, and a cached copy would not follow their changes (the
# package's own cache is cleared by a digest of its compiled sources, which this file is not).
@njit
def bare_war(
    rep_id: np.ndarray,
    nb: np.ndarray,
    b_side: np.ndarray,
    b_entry: np.ndarray,
    b_force: np.ndarray,
    b_ready: np.ndarray,
    b_full: np.ndarray,
    b_transit: np.ndarray,
    b_full_day: np.ndarray,
    last_day: np.ndarray,
    sanction_day: np.ndarray,
    seed: int,
    attrition: float,
    eff_sd: float,
    defender_advantage: float,
    sanctions_effect: float,
    resolve_a: float,
    resolve_d: float,
    loss_a: np.ndarray,
    loss_d: np.ndarray,
    end_day: np.ndarray,
) -> int:
    """Fight every replication from day 0 to ``last_day`` (square law); returns replication-days."""
    half_var = 0.5 * eff_sd * eff_sd
    days = 0
    for r in range(rep_id.shape[0]):
        key = rep_key(seed, rep_id[r])
        la = 0.0
        ld = 0.0
        t_end = last_day[r]
        for t in range(0, last_day[r] + 1):
            a_mob = 0.0
            d_mob = 0.0
            for j in range(nb[r]):
                e = b_entry[r, j]
                if t < e + b_transit[r, j]:
                    continue
                if t >= b_full_day[r, j]:  # at full strength: force * 1.0
                    f = b_force[r, j]
                else:
                    m = b_ready[r, j] + (1.0 - b_ready[r, j]) * (t - e) / b_full[r, j]
                    f = b_force[r, j] * (1.0 if m > 1.0 else m)
                if b_side[r, j] == 1:
                    a_mob += f
                else:
                    d_mob += f
            if t >= sanction_day[r]:
                a_mob *= 1.0 - sanctions_effect
            a_now = max(a_mob - la, 0.0)
            d_now = max(d_mob - ld, 0.0)
            za, zd = normal_pair_at(key, COMBAT, t)
            eff_a = exp(eff_sd * za - half_var)
            eff_d = defender_advantage * exp(eff_sd * zd - half_var)
            la += min(attrition * eff_d * d_now, a_now)
            ld += min(attrition * eff_a * a_now, d_now)
            frac_a = la / a_mob if a_mob > 0.0 else 1.0
            frac_d = ld / d_mob if d_mob > 0.0 else 1.0
            if frac_a >= resolve_a or frac_d >= resolve_d:
                t_end = t
                break
        loss_a[r] = la
        loss_d[r] = ld
        end_day[r] = t_end
        days += t_end + 1
    return days


def _instrumented(plan: Any, seed: int, n: int) -> tuple[Any, dict[str, float]]:
    """Simulate one chunk with the kernel timed; returns the Crisis and the kernel's figures."""
    from crisis_sim import crisis, kernel

    originals = {name: getattr(kernel, name) for name in ("advance_war", "advance_war_serial")}
    stats = {"seconds": 0.0, "rep_days": 0.0, "segments": 0.0, "calls": 0.0}

    def timer(orig: Any) -> Any:
        names = list(inspect.signature(orig.py_func).parameters)

        def timed(reps: np.ndarray, day_to: int, *rest: Any) -> None:
            arg = dict(zip(names[2:], rest, strict=True))
            end_day, ending, fought_to = arg["end_day"], arg["ending"], arg["fought_to"]
            deterred, backed = arg["deterred"], arg["backed_down"]
            start = fought_to[reps].copy()
            running = (ending[reps] == 0) & ~deterred[reps] & ~backed[reps] & (start < day_to)
            t0 = time.perf_counter()
            orig(reps, day_to, *rest)
            stats["seconds"] += time.perf_counter() - t0
            ended = running & (ending[reps] != 0)
            fought = np.where(ended, end_day[reps] + 1, day_to) - start
            stats["rep_days"] += float(fought[running].sum())
            stats["segments"] += float(running.sum())
            stats["calls"] += 1

        return timed

    for name, orig in originals.items():
        setattr(kernel, name, timer(orig))
    try:
        c = crisis.Crisis(plan, seed, 0, n)
        c.run()
    finally:
        for name, orig in originals.items():
            setattr(kernel, name, orig)
    return c, stats


def _pack(c: Any) -> dict[str, Any]:
    """The chunk's final belligerents, packed per replication in state order, for the bare loop."""
    p = c.plan
    fought = ~c.deterred
    reps = np.flatnonzero(fought)
    nb = c.n_bel[reps].astype(np.int64)
    width = max(1, int(nb.max()) if len(nb) else 1)
    shape = (len(reps), width)
    b_side = np.zeros(shape, np.int8)
    b_entry = np.zeros(shape, np.int64)
    b_force = np.zeros(shape)
    b_ready = np.ones(shape)
    b_full = np.ones(shape)
    b_transit = np.zeros(shape)
    b_full_day = np.zeros(shape, np.int64)
    for i, r in enumerate(reps):
        k = int(nb[i])
        states = c.b_state[r, :k]
        b_side[i, :k] = c.b_side[r, :k]
        b_entry[i, :k] = c.b_entry[r, :k]
        b_force[i, :k] = c.b_force[r, :k]
        b_ready[i, :k] = p.ready[states]
        b_full[i, :k] = np.where(p.full_days[states] > 0, p.full_days[states], 1e-300)
        b_transit[i, :k] = p.transit[states]
        for j in range(k):  # a day from which it is at full strength (the kernel's own rule)
            full = float(p.full_days[states[j]])
            b_full_day[i, j] = full_strength_day(int(b_entry[i, j]), b_ready[i, j], full)
    # Fight to the horizon, or to the day before the aggressor backed down (as the kernel does).
    last = np.where(c.backed_down[reps] & (c.ending[reps] == 0), c.end_day[reps] - 1, p.horizon)
    return {
        "reps": reps,
        "rep_id": c.rep[reps],
        "nb": nb,
        "b_side": b_side,
        "b_entry": b_entry,
        "b_force": b_force,
        "b_ready": b_ready,
        "b_full": b_full,
        "b_transit": b_transit,
        "b_full_day": b_full_day,
        "last_day": last.astype(np.int64),
        "sanction_day": c.sanction_day[reps].astype(np.int64),
    }


def _bare_args(plan: Any, c: Any, seed: int) -> tuple[tuple[Any, ...], np.ndarray]:
    pk = _pack(c)
    cb = plan.scenario.combat
    m = len(pk["reps"])
    return (
        pk["rep_id"], pk["nb"], pk["b_side"], pk["b_entry"], pk["b_force"], pk["b_ready"],
        pk["b_full"], pk["b_transit"], pk["b_full_day"], pk["last_day"], pk["sanction_day"], seed,
        cb.attrition, cb.effectiveness_sd, cb.defender_advantage, cb.sanctions_effect,
        plan.resolve_a, plan.resolve_d, np.zeros(m), np.zeros(m), np.zeros(m, np.int64),
    ), pk["reps"]  # fmt: skip


def measure(plan: Any, seed: int = 1, n: int = 50_000, repeats: int = 7) -> dict[str, float]:
    """ns per replication-day of the kernel (in a real chunk) and of the bare loop.

    The two are timed alternately, ``repeats`` times each, and the best of each is kept, so a
    burst of load from other processes does not favour one of them (``ratio``). The median of
    the ratios of each alternated pair (``ratio_paired_median``) shows how much that figure
    owes to the moment: this machine's speed drifts by tens of percent within minutes.
    """
    c, _ = _instrumented(plan, seed, min(n, 2000))  # load/compile
    args, reps = _bare_args(plan, c, seed)
    bare_war(*args)
    best_k = best_b = float("inf")
    st: dict[str, float] = {}
    days = 0
    paired = []
    for _ in range(repeats):
        c, st = _instrumented(plan, seed, n)
        k = st["seconds"] / st["rep_days"]
        args, reps = _bare_args(plan, c, seed)
        t0 = time.perf_counter()
        days = bare_war(*args)
        b = (time.perf_counter() - t0) / days
        best_k, best_b = min(best_k, k), min(best_b, b)
        paired.append(k / b)
    out_a, out_d = args[-3], args[-2]
    same = bool(np.array_equal(out_a, c.loss_a[reps]) and np.array_equal(out_d, c.loss_d[reps]))
    return {
        "replications": float(n),
        "repeats": float(repeats),
        "rep_days": st["rep_days"],
        "kernel_calls": st["calls"],
        "segments": st["segments"],
        "bare_rep_days": float(days),
        "kernel_ns_per_rep_day": best_k * 1e9,
        "bare_ns_per_rep_day": best_b * 1e9,
        "ratio": best_k / best_b,
        "ratio_paired_median": float(np.median(paired)),
        "ratio_paired_min": min(paired),
        "ratio_paired_max": max(paired),
        "same_losses": float(same),
    }


if __name__ == "__main__":
    from crisis_sim import scenario
    from crisis_sim.compiled import compile_scenario

    res = measure(compile_scenario(scenario.load("default")))
    for k, v in res.items():
        print(f"{k:>24}: {v:,.3f}")
