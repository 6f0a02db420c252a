"""Counter-based random numbers keyed by (seed, replication, stream, draw).

Every random number in a replication is a pure function of those four integers (a SplitMix64
hash chain, the idea of Random123's counter-based generators), so a replication's result does not
depend on which worker, thread, chunk or restart computed it, and two experiments that share a
seed share their draws (common random numbers). The cohort-sized draws that Python code asks
for are in :mod:`crisis_sim.draws`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from crisis_sim.libm import exp
from crisis_sim.warmup import forget_stale_kernels

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0


@njit(cache=True, inline="always")
def _mix(z: np.uint64) -> np.uint64:
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True, inline="always")
def _unit(h: np.uint64) -> float:
    """A hash's top 53 bits as a uniform number in [0, 1)."""
    return float(h >> _S11) * _INV53


@njit(cache=True, inline="always")
def rep_key(seed: int, rep: int) -> np.uint64:
    """The first two links of the hash chain, shared by every draw of one replication."""
    h = _mix(np.uint64(seed) + _GOLDEN)
    return _mix(h ^ (np.uint64(rep) + _GOLDEN))


@njit(cache=True, inline="always")
def uniform_at(key: np.uint64, stream: int, draw: int) -> float:
    """The uniform for (stream, draw) of the replication whose :func:`rep_key` is ``key``."""
    return _unit(_mix(key ^ (np.uint64(stream) * _GOLDEN + np.uint64(draw))))


@njit(cache=True, inline="always")
def uniform(seed: int, rep: int, stream: int, draw: int) -> float:
    """One uniform number in [0, 1) for (seed, replication, stream, draw)."""
    return uniform_at(rep_key(seed, rep), stream, draw)


def _ziggurat_tables() -> tuple[np.ndarray, np.ndarray]:
    """Layer edges ``x`` and ratios ``x[i + 1] / x[i]`` of Marsaglia and Tsang's 128 layers.

    Computed with Python's ``math`` (the C library), as the rest of the arithmetic is.
    """
    x = np.zeros(_ZIG_LAYERS + 1)
    f = math.exp(-0.5 * _ZIG_R * _ZIG_R)
    x[0] = _ZIG_V / f  # the base layer's rectangle-equivalent width (its tail included)
    x[1] = _ZIG_R
    for i in range(2, _ZIG_LAYERS):
        x[i] = math.sqrt(-2.0 * math.log(_ZIG_V / x[i - 1] + f))
        f = math.exp(-0.5 * x[i] * x[i])
    return x, x[1:] / x[:-1]


_ZIG_LAYERS = 128
_ZIG_R = 3.442619855899  # where the tail begins
_ZIG_V = 9.91256303526217e-3  # the area of each layer
_ZIG_X, _ZIG_RATIO = _ziggurat_tables()


@njit(cache=True, inline="always")
def _chain(h: np.uint64) -> np.uint64:
    """The next link of a hash chain: more uniforms for the same (stream, draw), when needed."""
    return _mix(h + _GOLDEN)


@njit(cache=True, inline="always")
def _layer(h: np.uint64) -> tuple[int, float]:
    """A hash's ziggurat layer (its low 7 bits) and signed uniform (its top 53 bits)."""
    return int(h & np.uint64(_ZIG_LAYERS - 1)), 2.0 * _unit(h) - 1.0


@njit(cache=True)
def _normal_rejected(h: np.uint64, i: int, u: float) -> float:
    """The ziggurat's rare paths (about 3% of draws): a wedge, or the tail past ``_ZIG_R``.

    Further uniforms come from the hash chain of the same (stream, draw), so a draw stays a pure
    function of its key however many tries it takes.
    """
    while True:
        if i == 0:  # the tail (Marsaglia's method)
            while True:
                h = _chain(h)
                x = np.log(1.0 - _unit(h)) / _ZIG_R
                h = _chain(h)
                y = np.log(1.0 - _unit(h))
                if -2.0 * y >= x * x:
                    return x - _ZIG_R if u < 0.0 else _ZIG_R - x
        x = u * _ZIG_X[i]
        f0 = exp(-0.5 * (_ZIG_X[i] * _ZIG_X[i] - x * x))
        f1 = exp(-0.5 * (_ZIG_X[i + 1] * _ZIG_X[i + 1] - x * x))
        h = _chain(h)
        if f1 + _unit(h) * (f0 - f1) < 1.0:
            return x
        h = _chain(h)
        i, u = _layer(h)
        if abs(u) < _ZIG_RATIO[i]:
            return u * _ZIG_X[i]


@njit(cache=True, inline="always")
def normal_at(key: np.uint64, stream: int, draw: int) -> float:
    """One standard normal for (stream, draw) of a keyed replication: a ziggurat.

    One hash gives the layer (its low 7 bits) and a signed uniform (its top 53 bits); in about
    97% of draws that is all it takes: no logarithm, root or sine.
    """
    h = _mix(key ^ (np.uint64(stream) * _GOLDEN + np.uint64(draw)))
    i, u = _layer(h)
    if abs(u) < _ZIG_RATIO[i]:
        return u * _ZIG_X[i]
    return _normal_rejected(h, i, u)


@njit(cache=True, inline="always")
def normal_pair_at(key: np.uint64, stream: int, draw: int) -> tuple[float, float]:
    """Two independent standard normals for one draw of a keyed replication."""
    return normal_at(key, stream, 2 * draw), normal_at(key, stream, 2 * draw + 1)


@njit(cache=True, inline="always")
def _fill_uniforms(
    out: np.ndarray, i: int, seed: int, rep: int, stream: int, draws: np.ndarray
) -> None:
    key = rep_key(seed, rep)
    for j in range(draws.shape[0]):
        out[i, j] = uniform_at(key, stream, draws[j])


@njit(cache=True, parallel=True, nogil=True)
def uniforms(seed: int, reps: np.ndarray, stream: int, draws: np.ndarray) -> np.ndarray:
    """Uniforms for each replication (rows) and draw index (columns), on all threads."""
    out = np.empty((reps.shape[0], draws.shape[0]))
    for i in prange(reps.shape[0]):
        _fill_uniforms(out, i, seed, reps[i], stream, draws)
    return out


@njit(cache=True, nogil=True)
def uniforms_serial(seed: int, reps: np.ndarray, stream: int, draws: np.ndarray) -> np.ndarray:
    """:func:`uniforms` on the calling thread."""
    out = np.empty((reps.shape[0], draws.shape[0]))
    for i in range(reps.shape[0]):
        _fill_uniforms(out, i, seed, reps[i], stream, draws)
    return out


@njit(cache=True, inline="always")
def lognormal_day(key: np.uint64, stream: int, draw: int, median: float, spread: float) -> int:
    """Whole days of one log-normal delay of a keyed replication, at least one."""
    days = np.ceil(median * exp(spread * normal_at(key, stream, draw)))
    return int(days) if days > 1.0 else 1


@njit(cache=True, nogil=True)
def lognormal_days(
    seed: int, reps: np.ndarray, stream: int, draws: np.ndarray, median: float, spread: float
) -> np.ndarray:
    """Whole days of a log-normal delay per replication: one draw index, or one each."""
    out = np.empty(reps.shape[0], dtype=np.int64)
    one = draws.shape[0] == 1
    for i in range(reps.shape[0]):
        key = rep_key(seed, reps[i])
        out[i] = lognormal_day(key, stream, draws[0] if one else draws[i], median, spread)
    return out


# Before any kernel of the package loads from Numba's cache (they all import this module).
forget_stale_kernels(uniforms)
