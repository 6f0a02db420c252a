"""Experimental designs over scenario parameters: where in parameter space to run the crisis.

Sampling only (SALib for Sobol/Saltelli, Latin hypercube and Morris; numpy for a grid); no
simulation and no files here. Counts and switches are sampled as continuous numbers and
rounded when applied, so SALib's estimators see the design they generated.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from crisis_sim.errors import InputError
from crisis_sim.params import Parameter

Method = Literal["grid", "lhs", "sobol", "morris"]
METHODS: tuple[Method, ...] = ("grid", "lhs", "sobol", "morris")
MORRIS_LEVELS = 4


@dataclass(frozen=True)
class Range:
    """A parameter swept between two values (within its schema bounds)."""

    parameter: Parameter
    lo: float
    hi: float


@dataclass(frozen=True)
class Design:
    """The points of an experiment: raw samples and the values applied to the scenario."""

    method: Method
    ranges: tuple[Range, ...]
    sample: np.ndarray  # (points, parameters) as sampled
    values: np.ndarray  # (points, parameters) as applied: counts and switches rounded
    size: int  # the --points asked for

    @property
    def names(self) -> list[str]:
        """Swept parameter names, in column order."""
        return [r.parameter.name for r in self.ranges]

    def problem(self) -> dict[str, Any]:
        """The SALib problem dictionary of this design."""
        return problem(self.ranges)


def parse_range(p: Parameter, text: str | None, origin: str = "--param") -> Range:
    """``lo:hi`` (or nothing: the declared bounds), checked against the schema's bounds."""
    if text is None:
        lo, hi = p.lo, p.hi
        if p.lo_open:
            raise InputError(
                f"{origin} {p.name}: its lower bound {p.lo:g} is excluded "
                f"{p.bounds_text}; give a range, e.g. {p.name}={p.hi / 100:g}:{p.hi:g}"
            )
    else:
        try:
            lo_s, hi_s = text.split(":")
            lo, hi = float(lo_s), float(hi_s)
        except ValueError:
            raise InputError(
                f"{origin} {p.name}={text}: expected NAME=LOW:HIGH, e.g. {p.name}={p.lo:g}:{p.hi:g}"
            ) from None
        p.check(lo, f"{origin} {p.name}={text}")
        p.check(hi, f"{origin} {p.name}={text}")
    if not hi > lo:
        raise InputError(f"{origin} {p.name}={text}: the range is empty (high must exceed low)")
    return Range(p, lo, hi)


def problem(ranges: tuple[Range, ...] | list[Range]) -> dict[str, Any]:
    """SALib's description of the parameter space."""
    return {
        "num_vars": len(ranges),
        "names": [r.parameter.name for r in ranges],
        "bounds": [[r.lo, r.hi] for r in ranges],
    }


def sample(ranges: list[Range], method: str, points: int, seed: int) -> Design:
    """Points of the design.

    ``points`` means, per method: grid, values per parameter (a full factorial of
    ``points ** d``, switches take 0 and 1 only); lhs, the number of points; sobol, the base
    sample N of Saltelli's scheme (``N * (d + 2)`` points, first and total order; a power of 2);
    morris, the number of trajectories (``points * (d + 1)`` points, 4 levels).
    """
    if method not in METHODS:
        raise InputError(f"--design {method}: unknown design (choose from {', '.join(METHODS)})")
    if not ranges:
        raise InputError("--param: give at least one parameter to sweep")
    names = [r.parameter.name for r in ranges]
    if len(set(names)) != len(names):
        raise InputError(f"--param: a parameter is given twice ({', '.join(names)})")
    setting: dict[tuple[Any, ...], str] = {}
    for r in ranges:  # an alias and a name it covers would set one number twice
        for path in r.parameter.paths:
            other = setting.setdefault(tuple(path), r.parameter.name)
            if other != r.parameter.name:
                raise InputError(
                    f"--param {r.parameter.name}: sets numbers that --param {other} sets "
                    "too; give each number once"
                )
    numeric = any(r.parameter.kind != "bool" for r in ranges)  # a grid's switches take 0 and 1
    if points < 1 or (
        points < 2 and (method in ("sobol", "morris") or method == "grid" and numeric)
    ):
        each = " (values per parameter: one would not vary it)" if method == "grid" else ""
        raise InputError(f"--points {points}: too few for a {method} design{each}")
    n = design_size(ranges, method, points)
    if n > MAX_POINTS:
        raise InputError(
            f"--points {points}: a {method} design of {n:,} points; "
            f"at most {MAX_POINTS:,} in one sweep"
        )
    prob = problem(ranges)
    x: np.ndarray
    if method == "grid":
        x = _grid(ranges, points)
    elif method == "lhs":
        from SALib.sample import latin

        x = latin.sample(prob, points, seed=seed)
    elif method == "sobol":
        if points & (points - 1):
            raise InputError(
                f"--points {points}: a sobol design needs a power of 2 (e.g. 8, 16, 64)"
            )
        from SALib.sample import sobol

        x = sobol.sample(prob, points, calc_second_order=False, seed=seed)
    else:
        from SALib.sample import morris

        x = morris.sample(prob, points, num_levels=MORRIS_LEVELS, seed=seed)
    x = np.asarray(x, dtype=np.float64)
    return Design(method, tuple(ranges), x, applied(ranges, x), points)  # type: ignore[arg-type]


def applied(ranges: tuple[Range, ...] | list[Range], x: np.ndarray) -> np.ndarray:
    """The values the scenario receives: counts and switches rounded to whole numbers."""
    out = x.copy()
    for j, r in enumerate(ranges):
        if r.parameter.kind != "float":
            out[:, j] = np.clip(np.round(out[:, j]), np.ceil(r.lo), np.floor(r.hi))
    return out


# Points in one sweep file: each is a plan in memory and a row of every record.
MAX_POINTS = 1_000_000


def design_size(ranges: list[Range], method: str, points: int) -> int:
    """How many points a design will have, known before it is drawn (see :func:`sample`)."""
    d = len(ranges)
    if method == "grid":  # as _grid draws it: a count takes each whole number once at most
        n = 1
        for r in ranges:
            if r.parameter.kind == "bool":
                n *= 2
            elif r.parameter.kind == "int":
                n *= min(points, math.floor(r.hi) - math.ceil(r.lo) + 1)
            else:
                n *= points
        return n
    if method == "sobol":
        return points * (d + 2)
    if method == "morris":
        return points * (d + 1)
    return points


def _grid(ranges: list[Range], levels: int) -> np.ndarray:
    axes = []
    for r in ranges:
        if r.parameter.kind == "bool":
            axes.append(np.array([r.lo, r.hi]))
        elif r.parameter.kind == "int":
            axes.append(np.unique(np.round(np.linspace(r.lo, r.hi, levels))))
        else:
            axes.append(np.linspace(r.lo, r.hi, levels))
    return np.array(list(itertools.product(*axes)), dtype=np.float64)
