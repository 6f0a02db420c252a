"""Which swept assumption moves an outcome: Sobol indices (SALib) with confidence intervals.

First-order index S1: the share of the output's variance due to the parameter alone; total
index ST: including all its interactions. Computed from a sweep file made with
``--design sobol``, whose points are in the order SALib's sampler generated them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

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
    from SALib.analyze import sobol as salib_sobol

    res = salib_sobol.analyze(
        problem,
        np.asarray(y, dtype=np.float64),
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
        )
    if (outputs.n == 0).any():
        raise InputError(
            f"{path}: {int((outputs.n == 0).sum())} points have no replications yet; "
            f"finish it with: crisis-sim sweep --resume --out {path}"
        )
    if not np.isfinite(outputs.y).all():
        raise InputError(
            f"{path}: --output {output} is undefined at some points (no replication "
            "has it); choose another output"
        )
    return sobol(problem_of(outputs), outputs.y, seed=seed), outputs
