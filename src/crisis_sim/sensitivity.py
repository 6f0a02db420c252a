"""Which swept assumption moves an outcome: Sobol indices (SALib) with confidence intervals.

First-order index S1: the share of the output's variance due to the parameter alone; total
index ST: including all its interactions. Computed from a sweep file made with
``--design sobol``, whose points are in the order SALib's sampler generated them. A sweep made
with ``--design morris`` gives Morris elementary effects instead (a cheaper screening: mu* is
the mean absolute change of the output per step of the parameter, sigma its spread).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from crisis_sim import files
from crisis_sim.errors import InputError
from crisis_sim.outputs import PointOutputs, by_point


@dataclass(frozen=True)
class SobolIndex:
    """Sobol indices of one parameter, with half-widths of their 95% confidence intervals."""

    name: str
    s1: float
    s1_conf: float
    st: float
    st_conf: float


def sobol(
    problem: dict[str, Any], y: np.ndarray, *, seed: int = 1, resamples: int = 1000
) -> list[SobolIndex]:
    """First and total order indices of outputs ``y`` of a Saltelli design (no second order)."""
    import warnings

    from SALib.analyze import sobol as salib_sobol

    y = np.asarray(y, dtype=np.float64)
    with warnings.catch_warnings():
        if y.min() == y.max():  # zero indices, and the command's caption says why
            warnings.filterwarnings("ignore", message="Constant values encountered")
            # SALib standardises the outputs first: 0 / 0 where they never vary.
            warnings.filterwarnings("ignore", message="invalid value encountered in divide")
        res = salib_sobol.analyze(
            problem,
            y,
            calc_second_order=False,
            num_resamples=resamples,
            conf_level=0.95,
            seed=seed,
        )
    return [
        SobolIndex(
            n,
            float(res["S1"][j]),
            float(res["S1_conf"][j]),
            float(res["ST"][j]),
            float(res["ST_conf"][j]),
        )
        for j, n in enumerate(problem["names"])
    ]


def _check_usable(path: Path, output: str, outputs: PointOutputs) -> None:
    if (outputs.n == 0).any():
        raise InputError(
            f"{path}: {int((outputs.n == 0).sum())} points have no replications yet; "
            f"finish it with: {files.resume_command(path, 'sweep')}"
        )
    if not np.isfinite(outputs.y).all():
        raise InputError(
            f"{path}: --output {output} is undefined at some points (no replication "
            "has it); choose another output"
        )


def problem_of(outputs: PointOutputs) -> dict[str, Any]:
    """The SALib problem of the sweep the outputs came from."""
    import json

    ranges = json.loads(str(outputs.info["ranges"]))
    return {
        "num_vars": len(ranges),
        "names": [r["name"] for r in ranges],
        "bounds": [[r["low"], r["high"]] for r in ranges],
    }


def from_sweep(path: Path, output: str, *, seed: int = 1) -> tuple[list[SobolIndex], PointOutputs]:
    """Sobol indices of ``output`` from a complete sobol sweep file."""
    outputs = by_point(path, output)
    design = outputs.info.get("design")
    if design != "sobol":
        raise InputError(
            f"{path}: design is '{design}'; Sobol indices need a sweep made with --design sobol"
            " (or --design morris for elementary effects)"
        )
    _check_usable(path, output, outputs)
    return sobol(problem_of(outputs), outputs.y, seed=seed), outputs


@dataclass(frozen=True)
class MorrisEffect:
    """Morris elementary effects of one parameter (mu* with its 95% confidence half-width)."""

    name: str
    mu_star: float
    mu_star_conf: float
    sigma: float


def morris(
    problem: dict[str, Any], x: np.ndarray, y: np.ndarray, *, seed: int = 1, resamples: int = 1000
) -> list[MorrisEffect]:
    """Elementary effects of outputs ``y`` at the Morris design ``x`` (raw sample)."""
    from SALib.analyze import morris as salib_morris

    from crisis_sim.design import MORRIS_LEVELS

    res = salib_morris.analyze(
        problem,
        np.asarray(x, dtype=np.float64),
        np.asarray(y, dtype=np.float64),
        num_resamples=resamples,
        conf_level=0.95,
        num_levels=MORRIS_LEVELS,
        seed=seed,
    )
    return [
        MorrisEffect(
            n, float(res["mu_star"][j]), float(res["mu_star_conf"][j]), float(res["sigma"][j])
        )
        for j, n in enumerate(problem["names"])
    ]


def analyze(
    path: Path, output: str, *, seed: int = 1
) -> tuple[list[SobolIndex] | list[MorrisEffect], PointOutputs]:
    """Sobol indices of a sobol sweep, or elementary effects of a morris sweep."""
    outputs = by_point(path, output)
    if outputs.info.get("design") != "morris":
        return from_sweep(path, output, seed=seed)
    _check_usable(path, output, outputs)
    return morris(problem_of(outputs), outputs.sample, outputs.y, seed=seed), outputs
