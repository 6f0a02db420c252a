"""What a sweep measures at each point: an outcome's share, or a record's mean, with intervals.

The one place that turns a sweep file's replications into one number per point, used by the
sensitivity analysis and the sweep plot alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from crisis_sim import store
from crisis_sim.analysis import Z95, wilson
from crisis_sim.errors import InputError
from crisis_sim.outcomes import OUTCOMES

#: Records whose mean over the replications (missing values left out) can be an output.
MEANS = {
    "end_day": "mean crisis length (days)",
    "losses_aggressor": "mean losses of the aggressor's side (capability share)",
    "losses_defenders": "mean losses of the defending side (capability share)",
    "n_belligerents": "mean number of states at war",
    "n_cascade_entries": "mean number of states brought in by cascades",
    "p_win_estimate": "the aggressor's mean estimated chance of winning",
}
OUTPUTS = (*OUTCOMES, "attacked", *MEANS)


def label(output: str) -> str:
    """The output in the domain's words, for tables and axes."""
    if output in MEANS:
        return MEANS[output]
    if output == "attacked":
        return "share of crises with an attack"
    return f"share {output.replace('_', ' ')}"


@dataclass(frozen=True)
class PointOutputs:
    """One output at every point of a sweep, with 95% intervals and the design behind it."""

    output: str
    info: dict[str, object]
    names: list[str]  # swept parameters
    values: np.ndarray  # (points, parameters) applied values
    sample: np.ndarray  # (points, parameters) raw design sample
    y: np.ndarray  # (points,)
    low: np.ndarray
    high: np.ndarray
    n: np.ndarray  # committed replications per point


def check_output(output: str) -> str:
    """Refuse an unknown output name, listing the known ones."""
    if output not in OUTPUTS:
        raise InputError(f"--output {output}: unknown output (choose from {', '.join(OUTPUTS)})")
    return output


def by_point(path: Path, output: str) -> PointOutputs:
    """The output's value at each point of the sweep file (committed replications only)."""
    check_output(output)
    record = output if output in MEANS else "outcome"
    info, data = store.read_sweep(path, names=[record, "committed"])
    ok = store.written(path, data, "to show", "sweep")  # else every share would read 0 of 0
    n = ok.sum(axis=1)
    x = data[record]
    if output in MEANS:
        fill = store.FIELDS[record].fill
        valid = ok & (~np.isnan(x) if np.isnan(fill) else x != fill)
        xs = np.where(valid, x, 0).astype(np.float64)
        k = valid.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            y = xs.sum(axis=1) / k
            sd = np.sqrt(
                np.maximum(
                    (np.where(valid, x, 0).astype(np.float64) ** 2).sum(axis=1) / k - y**2, 0
                )
            )
            half = Z95 * sd / np.sqrt(k)
        low, high = y - half, y + half
    else:
        hit = (x != 0) if output == "attacked" else (x == OUTCOMES.index(output))
        count = (hit & ok).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            y = count / n
        low, high = wilson(count, n)
    names = list(info["parameters"])
    values = np.column_stack([data[p] for p in names])
    return PointOutputs(output, info, names, values, data["sample"], y, low, high, n)
