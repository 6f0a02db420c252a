"""The prefetch hint compiles for the arrays the passes use and changes no value."""

from __future__ import annotations

import numpy as np
from numba import njit

from crisis_sim.prefetch import AHEAD, prefetch


@njit(cache=False)
def _gather(a: np.ndarray, rows: np.ndarray, hint: bool) -> np.ndarray:
    """``a[rows]`` (one dimension), ``a[rows, 1]`` or ``a[rows, 1, 2]``, hinting rows ahead."""
    out = np.empty(rows.shape[0])
    flat = a.reshape(a.shape[0], -1)
    col = 0 if a.ndim == 1 else (1 if a.ndim == 2 else a.shape[2] + 2)
    for k in range(rows.shape[0]):
        if hint and k + AHEAD < rows.shape[0]:
            prefetch(a, rows[k + AHEAD], 1)
        out[k] = flat[rows[k], col]
    return out


def test_gathered_values_are_the_same_with_and_without_the_hint():
    rng = np.random.default_rng(0)
    rows = np.sort(rng.choice(100_000, 5_000, replace=False))
    for a, expected in (
        (x := rng.random(100_000), x[rows]),  # one dimension: the column is ignored
        (y := rng.random((100_000, 19)), y[rows, 1]),
        (z := rng.integers(0, 9, (100_000, 8, 3)).astype(np.int32), z[rows, 1, 2]),
    ):
        with_hint = _gather(a, rows, True)
        np.testing.assert_array_equal(with_hint, expected)
        np.testing.assert_array_equal(_gather(a, rows, False), expected)


@njit(cache=False)
def _gather_column(a: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``a[rows, 1]`` for any two-dimensional ``a`` (views included), hinting rows ahead."""
    out = np.empty(rows.shape[0])
    for k in range(rows.shape[0]):
        if k + AHEAD < rows.shape[0]:
            prefetch(a, rows[k + AHEAD], 1)
        out[k] = a[rows[k], 1]
    return out


def test_narrow_indices_and_strided_views_are_hinted_at_their_own_elements():
    rng = np.random.default_rng(1)
    wide = rng.random((30_000, 19))
    rows16 = np.sort(rng.choice(30_000, 2_000, replace=False)).astype(np.int16)
    view = wide[:, ::3]  # a column of an institution's records: strided, as the passes see them
    for a in (wide, view, wide[::2]):
        rows = rows16[rows16 < a.shape[0]]
        np.testing.assert_array_equal(_gather_column(a, rows), a[rows, 1])
