"""The same crisis under each security arrangement, with common random numbers.

A scenario may combine arrangements (a League and a bilateral alliance). ``compare`` plays it
once per arrangement, keeping only that arrangement's institutions (and the treaties, for
``alliance``), plus ``none`` (no institution, no treaty) as the baseline. Every variant has the
same states in the same order, the same seed and the same replication numbers, so the
counter-based generator gives each replication the same capabilities, perception and combat
draws under every arrangement: differences between rows are the arrangement's doing, not noise.

The result is one HDF5 file whose ``runs`` group has an ``arrangement`` dimension in front of
the usual ``run``, ``state`` and ``institution`` dimensions (readable with
``xarray.open_dataset(path, group="runs", engine="h5netcdf")``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import numpy as np

from crisis_sim import files, store
from crisis_sim.analysis import Z95, wilson
from crisis_sim.compiled import Plan, compile_scenario
from crisis_sim.errors import (
    InputError,
    StoreError,
    at_least_one,
    fits_one_file,
)
from crisis_sim.outcomes import DETERRED, OUTCOMES, in_words
from crisis_sim.runner import DEFAULT_CHUNK, Backend, InProcess, chunks
from crisis_sim.scenario import Arrangement, Scenario, from_json

FORMAT = store.COMPARE_FORMAT
NONE = "none"
ARRANGEMENTS: tuple[str, ...] = (NONE, *get_args(Arrangement))
DEFAULT_SCENARIO = "five_arrangements"

Progress = Callable[[int, int], Callable[[int], None]]


# ----------------------------------------------------------------------------- variants


def present(sc: Scenario) -> list[str]:
    """Arrangements the scenario holds (with ``none`` first), in canonical order."""
    have = {inst.arrangement for inst in sc.institutions}
    if sc.treaties:
        have.add("alliance")
    return [a for a in ARRANGEMENTS if a == NONE or a in have]


def parse_arrangements(text: str | None, sc: Scenario) -> list[str]:
    """The ``--arrangements`` option: a comma-separated list, checked against the scenario."""
    if text is None:
        return present(sc)
    # The table's words are accepted too ('alliances', 'no arrangement', 'Collective security').
    by_label = {label: key for key, label in LABELS.items()}
    typed = [t.strip() for t in text.split(",") if t.strip()]
    if not typed:
        raise InputError(f"--arrangements {text!r}: names no arrangement")
    chosen = []
    for t in typed:
        words = " ".join(t.lower().replace("_", " ").split())
        a = by_label.get(words, words.replace(" ", "_"))
        if a not in ARRANGEMENTS:
            raise InputError(
                f"--arrangements: unknown arrangement {t!r} (choose from "
                f"{', '.join(ARRANGEMENTS)}, or the table's words: no arrangement, alliances, ...)"
            )
        chosen.append(a)
    have = present(sc)
    for a in chosen:
        if a not in have:
            raise InputError(
                f"--arrangements: scenario '{sc.name}' has no institution or treaty "
                f"of arrangement {a!r} (it has: {', '.join(have)})"
            )
    if len(set(chosen)) != len(chosen):
        raise InputError(f"--arrangements {text}: an arrangement is listed twice")
    return chosen


def variant(sc: Scenario, arrangement: str) -> Scenario:
    """The scenario with only one arrangement's institutions (treaties count as ``alliance``)."""
    out = sc.model_copy(deep=True)
    out.institutions = [i for i in out.institutions if i.arrangement == arrangement]
    out.treaties = out.treaties if arrangement == "alliance" else []
    return out


def run_variants(
    variants: dict[str, Scenario],
    n_runs: int,
    seed: int,
    backend: Backend | None = None,
    chunk_size: int = DEFAULT_CHUNK,
) -> Iterator[tuple[str, int, dict[str, np.ndarray]]]:
    """Replications ``0 .. n_runs - 1`` of every variant, same seed: ``(name, start, arrays)``."""
    at_least_one("--runs", n_runs)
    at_least_one("--chunk-size", chunk_size)
    backend = backend or InProcess()
    todo = chunks([(0, n_runs)], chunk_size)
    for name, sc in variants.items():
        plan = compile_scenario(sc)
        for start, arrays in backend.map(plan, seed, todo):
            yield name, start, arrays


# ----------------------------------------------------------------------------- the file


def start(
    path: Path,
    sc: Scenario,
    arrangements: list[str],
    seed: int,
    n_runs: int,
    overwrite: bool,
) -> tuple[list[Plan], list[np.ndarray]]:
    """Create the comparison file; returns each arrangement's plan and institution columns.

    The file keeps every variant's scenario, so ``--resume`` replays exactly these.
    """
    at_least_one("--runs", n_runs)
    fits_one_file("--runs × --arrangements", n_runs * len(arrangements))
    variants = {a: variant(sc, a) for a in arrangements}
    store.create(
        Path(path),
        scenario_json=sc.to_json(),
        seed=seed,
        n_runs=n_runs,
        states=[s.code for s in sc.states],
        institutions=[i.name for i in sc.institutions],
        arrangements=arrangements,
        overwrite=overwrite,
        extra={
            "arrangements": json.dumps(arrangements),
            "variants": json.dumps({a: v.to_json() for a, v in variants.items()}),
        },
    )
    return _plans(sc, list(variants.values()))


@dataclass(frozen=True)
class Reopened:
    """What ``--resume`` needs of an existing comparison file."""

    plans: list[Plan]
    columns: list[np.ndarray]  # each arrangement's institutions among the file's
    seed: int
    complete: bool


def reopen(path: Path) -> Reopened:
    """Plans, institution columns, seed and state of an existing comparison file."""
    path = Path(path)
    if not path.exists():
        raise StoreError(f"{path}: no such comparison file")
    try:
        with store.open_for_reading(path) as f:
            store.check_ours(f, path, FORMAT)
            attrs = {k: str(f.attrs[k]) for k in ("scenario", "arrangements", "variants")}
            seed, complete = int(f.attrs["seed"]), bool(f.attrs.get("complete", 0))
    except (OSError, RuntimeError, KeyError) as exc:
        raise store.unreadable(path, exc, "cannot read comparison file") from None
    sc = from_json(attrs["scenario"], origin=f"{path}:scenario")
    try:
        texts = json.loads(attrs["variants"])
        names = json.loads(attrs["arrangements"])
        variant_texts = [(a, texts[a]) for a in names]
    except (ValueError, KeyError, TypeError) as exc:
        raise StoreError(f"{path}: damaged list of arrangements ({exc})") from None
    variants = [from_json(t, origin=f"{path}:variants:{a}") for a, t in variant_texts]
    return Reopened(*_plans(sc, variants), seed, complete)


def _plans(sc: Scenario, variants: list[Scenario]) -> tuple[list[Plan], list[np.ndarray]]:
    return [compile_scenario(v) for v in variants], [_institution_columns(sc, v) for v in variants]


def _institution_columns(sc: Scenario, v: Scenario) -> np.ndarray:
    """Where each of the variant's institutions sits in the full scenario's institution list."""
    names = [i.name for i in sc.institutions]
    return np.array([names.index(i.name) for i in v.institutions], dtype=np.int64)


# ----------------------------------------------------------------------------- summary


@dataclass(frozen=True)
class Estimate:
    """A statistic with its 95% interval (NaN when undefined, e.g. no run responded)."""

    value: float
    low: float
    high: float


@dataclass(frozen=True)
class Row:
    """One arrangement's results."""

    arrangement: str
    n: int
    shares: dict[str, Estimate]  # every outcome of ``OUTCOMES``, in that order: they add to 1
    response_day: Estimate  # median day the first third state entered, attacked runs that got help
    belligerents: Estimate  # mean number of states at war, attacked runs


@dataclass(frozen=True)
class Comparison:
    """What ``crisis-sim compare`` prints and plots."""

    path: Path
    scenario: str
    seed: int
    n_runs: int
    rows: list[Row]


def share(hits: np.ndarray) -> Estimate:
    """Share of ``True`` with its Wilson interval."""
    n = len(hits)
    if n == 0:
        return Estimate(float("nan"), float("nan"), float("nan"))
    p = float(hits.mean())
    lo, hi = wilson(int(hits.sum()), n)
    return Estimate(p, min(float(lo), p), max(float(hi), p))  # no rounding past 0 or 1 shares


def median_interval(x: np.ndarray) -> Estimate:
    """Median with a distribution-free 95% interval (binomial order statistics)."""
    n = len(x)
    if n == 0:
        return Estimate(float("nan"), float("nan"), float("nan"))
    s = np.sort(x)
    half = Z95 * np.sqrt(n) / 2
    lo = int(max(0, np.floor(n / 2 - half)))
    hi = int(min(n - 1, np.ceil(n / 2 + half)))
    return Estimate(float(np.median(s)), float(s[lo]), float(s[hi]))


def mean_interval(x: np.ndarray) -> Estimate:
    """Mean with a normal 95% interval."""
    n = len(x)
    if n == 0:
        return Estimate(float("nan"), float("nan"), float("nan"))
    m = float(x.mean())
    half = Z95 * float(x.std(ddof=1)) / np.sqrt(n) if n > 1 else 0.0
    return Estimate(m, m - half, m + half)


def first_help_day(
    side: np.ndarray, entry_day: np.ndarray, aggressor: int, target: int
) -> np.ndarray:
    """Day the first third state entered on the target's side (-1: none did)."""
    helper = side == 2
    helper[:, [aggressor, target]] = False
    big = np.iinfo(np.int32).max
    first = np.where(helper, entry_day.astype(np.int32), big).min(axis=1)
    return np.where(first == big, -1, first)


def row(
    name: str,
    outcome: np.ndarray,
    side: np.ndarray,
    entry_day: np.ndarray,
    n_belligerents: np.ndarray,
    aggressor: int,
    target: int,
) -> Row:
    """Summarise one arrangement's replications."""
    attacked = outcome != DETERRED
    help_day = first_help_day(side, entry_day, aggressor, target)
    helped = attacked & (help_day >= 0)
    return Row(
        arrangement=name,
        n=len(outcome),
        shares={name: share(outcome == code) for code, name in enumerate(OUTCOMES)},
        response_day=median_interval(help_day[helped].astype(float)),
        belligerents=mean_interval(n_belligerents[attacked].astype(float)),
    )


def summarize(path: Path) -> Comparison:
    """Read a comparison file and summarise each arrangement."""
    path = Path(path)
    try:
        with store.open_for_reading(path) as f:
            if f.attrs.get("format") != FORMAT:
                raise StoreError(
                    f"{path}: not a crisis_sim comparison file (no '{FORMAT}' format attribute)"
                )
            if not f.attrs.get("complete", 0):
                how = (
                    f"finish it with: {files.resume_command(path, 'compare')}"
                    if "committed" in f["runs"]
                    else "run it again with --overwrite"  # written before --resume existed
                )
                raise StoreError(f"{path}: the comparison is not finished; {how}")
            sc = json.loads(str(f.attrs["scenario"]))
            arrangements = json.loads(str(f.attrs["arrangements"]))
            states = [s.decode() if isinstance(s, bytes) else s for s in f["runs/state"][...]]
            a, g = states.index(sc["aggressor"]), states.index(sc["target"])
            rows = [
                row(
                    name,
                    f["runs/outcome"][k],
                    f["runs/side"][k],
                    f["runs/entry_day"][k],
                    f["runs/n_belligerents"][k],
                    a,
                    g,
                )
                for k, name in enumerate(arrangements)
            ]
            return Comparison(path, sc["name"], int(f.attrs["seed"]), int(f.attrs["n_runs"]), rows)
    except OSError as exc:
        raise StoreError(f"{path}: cannot read comparison file: {exc}") from None


# ----------------------------------------------------------------------------- the command


def compare(
    sc: Scenario,
    arrangements: list[str],
    n_runs: int,
    seed: int,
    out: Path,
    *,
    backend: Backend | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> Comparison:
    """Run the crisis under each arrangement into one file at ``out`` and summarise it."""
    at_least_one("--chunk-size", chunk_size)
    plans, columns = start(Path(out), sc, arrangements, seed, n_runs, overwrite)
    return execute(Path(out), plans, columns, seed, backend, chunk_size, progress)


def resume(
    out: Path,
    opened: Reopened | None = None,
    *,
    backend: Backend | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    progress: Progress | None = None,
) -> Comparison:
    """Finish an interrupted comparison file: its own scenario, arrangements, seed and size.

    ``opened``: the file's :func:`reopen`, if the caller has read it already. A finished file
    is only summarised (it is not opened for writing).
    """
    at_least_one("--chunk-size", chunk_size)
    opened = opened or reopen(Path(out))
    if opened.complete:
        return summarize(Path(out))
    return execute(
        Path(out), opened.plans, opened.columns, opened.seed, backend, chunk_size, progress
    )


def execute(
    out: Path,
    plans: list[Plan],
    columns: list[np.ndarray],
    seed: int,
    backend: Backend | None,
    chunk_size: int,
    progress: Progress | None,
) -> Comparison:
    """Compute every uncommitted replication of every arrangement, chunk by chunk, and summarise.

    Each chunk counts only once committed, so an interruption loses nothing already written and
    ``--resume`` finishes the file bit for bit as an uninterrupted run would have.
    """
    from crisis_sim.sweep import execute as commit_chunks

    commit_chunks(
        out,
        plans,
        seed,
        backend or InProcess(),
        chunk_size=chunk_size,
        progress=progress,
        writer=store.CompareWriter(out, columns),
        command="compare",
    )
    return summarize(out)


LABELS = {
    NONE: "no arrangement",
    "collective_security": "collective security",
    "collective_defense": "collective defense",
    "alliance": "alliances",
    "balance_of_power": "balance of power",
    "global_government": "global government",
}


def plot(comparison: Comparison, path: Path) -> None:
    """Draw :func:`figure` into ``path`` (.png, .pdf, .svg)."""
    from crisis_sim.plots import save

    save(figure(comparison), path, "--plot")


def figure(comparison: Comparison) -> Any:
    """Bar chart of the outcome shares (95% intervals) and the response day, per arrangement.

    A matplotlib ``Figure`` of its own (no pyplot state, no backend chosen for the caller).
    """
    import textwrap

    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

    from crisis_sim.plots import OUTCOME_COLOURS, OUTCOME_LABELS

    rows = comparison.rows
    # Outcomes that no arrangement produced would be rows of empty bars: named in the footer.
    seen = [name for name in OUTCOMES if any(r.shares[name].value > 0 for r in rows)]
    never = [in_words(name) for name in OUTCOMES if name not in seen]
    fig = Figure(figsize=(12, 5.2), dpi=120)
    ax, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 1.3]})
    x = np.arange(len(rows))
    width = 0.8 / max(len(seen), 1)
    for j, key in enumerate(seen):
        est = [r.shares[key] for r in rows]
        val = np.array([e.value for e in est])
        err = np.clip(
            np.array([[e.value - e.low for e in est], [e.high - e.value for e in est]]), 0, None
        )
        ax.bar(
            x + (j - (len(seen) - 1) / 2) * width,
            val,
            width,
            yerr=err,
            capsize=2,
            label=OUTCOME_LABELS[key],
            color=OUTCOME_COLOURS[key],
        )
    # Two lines at most per name, so that neighbouring names do not run into each other.
    names = [textwrap.fill(LABELS.get(r.arrangement, r.arrangement), 12) for r in rows]
    ax.set_xticks(x, names)
    ax.set_ylabel("share of replications (95% interval)")
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_title(f"{comparison.scenario}: outcome by security arrangement")
    ax.legend(frameon=False, fontsize=8)
    day = [r.response_day for r in rows]
    ok = np.array([d.value == d.value for d in day])
    shown = [d for d, o in zip(day, ok, strict=True) if o]
    day_err = np.clip(
        np.array([[d.value - d.low for d in shown], [d.high - d.value for d in shown]]), 0, None
    )
    ax2.errorbar(x[ok], [d.value for d in shown], yerr=day_err.reshape(2, -1), fmt="o", capsize=3)
    ax2.set_xticks(x, names, rotation=30, ha="right", fontsize=8)
    ax2.set_ylabel("first help: day a third state joined the target\n(median, 95% interval)")
    ax2.set_title("speed of the response")
    fig.text(
        0.01,
        0.01,
        f"{comparison.n_runs:,} replications per arrangement, seed {comparison.seed}, "
        "common random numbers"
        + (f"; never in any arrangement: {', '.join(never)}" if never else ""),
        fontsize=8,
    )
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig
