"""The inlined exponential gives the C library's bits; its table is 2^(i/128), recomputed."""

from __future__ import annotations

import math
import platform
import struct
from decimal import Decimal, localcontext

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numba import njit

from crisis_sim.libm import INLINE, TABLE, N, exp


def _why_other_bits() -> str | None:
    """Why the inlined exp need not match the C library here (None: it must)."""
    lib, version = platform.libc_ver()
    if lib != "glibc" or tuple(int(p) for p in version.split(".")[:2]) < (2, 28):
        return f"the C library is {lib or 'not glibc'} {version}, not glibc 2.28 or later"
    if not INLINE:
        return "no FMA and AVX2 here: exp hands every argument to np.exp"
    return None


needs_fma_glibc = pytest.mark.skipif(_why_other_bits() is not None, reason=str(_why_other_bits()))


@njit(cache=False)
def _both(xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The inlined exp and the C library's (Numba's ``np.exp``) of every argument."""
    mine = np.empty_like(xs)
    libc = np.empty_like(xs)
    for i in range(xs.size):
        mine[i] = exp(xs[i])
        libc[i] = np.exp(xs[i])
    return mine, libc


@njit(cache=False)
def _one(x: float) -> float:
    return exp(x)


@needs_fma_glibc
def test_same_bits_as_the_c_library_on_millions_of_arguments():
    rng = np.random.default_rng(2026)
    xs = np.concatenate(
        [
            rng.normal(-0.02, 0.3, 1_000_000),  # the kernel's effectiveness draws
            rng.uniform(-12.0, 12.0, 1_000_000),  # capabilities, perceptions, delays
            rng.uniform(-745.2, 709.8, 200_000),  # the whole finite range
            rng.normal(0.0, 2.0**-50, 10_000),  # around the tiny cut-off
            np.array([0.0, -0.0, 2.0**-54, -(2.0**-54), 512.0, -512.0, 709.78, -745.13, 1e-300]),
        ]
    )
    mine, libc = _both(xs)
    differ = np.flatnonzero(mine.view(np.uint64) != libc.view(np.uint64))
    assert differ.size == 0, f"exp differs from the C library at {xs[differ[:5]].tolist()}"


@needs_fma_glibc
@given(st.floats(min_value=-746.0, max_value=709.7))
def test_same_bits_as_math_exp(x):
    assert struct.pack("<d", _one(x)) == struct.pack("<d", math.exp(x))


def test_nan_and_infinities_as_the_c_library_gives_them():
    assert math.isnan(_one(math.nan))
    assert _one(math.inf) == math.inf
    assert _one(-math.inf) == 0.0
    assert _one(1000.0) == math.inf


def test_table_is_two_to_the_i_over_n_split_into_scale_and_tail():
    """Recomputed to 60 digits: 2^(i/N) = scale * (1 + tail), scale and tail correctly rounded."""
    with localcontext() as ctx:
        ctx.prec = 60
        for i in range(N):
            exact = Decimal(2) ** (Decimal(i) / Decimal(N))
            scale = float(exact)
            tail = float((exact - Decimal(scale)) / Decimal(scale))
            (scale_bits,) = struct.unpack("<Q", struct.pack("<d", scale))
            (tail_bits,) = struct.unpack("<Q", struct.pack("<d", tail))
            assert int(TABLE[2 * i]) == tail_bits, i
            assert int(TABLE[2 * i + 1]) == (scale_bits - (i << 45)) % 2**64, i
