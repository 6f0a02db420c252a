"""Random draws for a cohort of replications, as the crisis asks for them.

Thin wrappers that shape the arguments and pick the kernel: the numbers themselves come from
:mod:`crisis_sim.rng` (through :data:`crisis_sim.native.kernels`), keyed by (seed,
replication, stream, draw), so which kernel draws them changes no bit.
"""

from __future__ import annotations

import numpy as np

from crisis_sim import codes
from crisis_sim.native import ahead_of_time, kernels


def worth_threads(size: int, threshold: int) -> bool:
    """Whether a batch this large is worth a parallel launch from the calling thread.

    Never when this thread is allowed one Numba thread (a pool worker): such a process then
    never starts a thread pool, which also keeps forked workers clear of OpenMP. Never with the
    kernels compiled ahead of time, which are serial (and spare the process Numba).
    """
    if size < threshold or ahead_of_time():
        return False
    import numba

    return bool(numba.get_num_threads() > 1)


def uniform_draws(seed: int, reps: np.ndarray, stream: int, draws: np.ndarray | int) -> np.ndarray:
    """Uniforms shaped (len(reps), len(draws)), or (len(reps),) for a single draw index."""
    single = np.ndim(draws) == 0
    d = np.atleast_1d(np.asarray(draws, dtype=np.int64))
    r = np.ascontiguousarray(reps, dtype=np.int64)
    if worth_threads(len(r) * len(d), codes.PARALLEL_DRAWS):
        out = kernels.uniforms(seed, r, stream, d)
    else:
        out = kernels.uniforms_serial(seed, r, stream, d)
    return out[:, 0] if single else out


def lognormal_days(
    seed: int,
    reps: np.ndarray,
    stream: int,
    draw: int | np.ndarray,
    median: float,
    spread: float,
) -> np.ndarray:
    """Whole days of a log-normal delay, at least one day (consequences follow their cause).

    ``draw`` is one draw index for all, or one per replication.
    """
    reps = np.ascontiguousarray(reps, dtype=np.int64)
    draws = np.atleast_1d(np.asarray(draw, dtype=np.int64))
    if len(draws) not in (1, len(reps)):
        raise ValueError(f"{len(draws)} draw indices for {len(reps)} replications")
    return kernels.lognormal_days(seed, reps, stream, draws, float(median), float(spread))  # type: ignore[no-any-return]
