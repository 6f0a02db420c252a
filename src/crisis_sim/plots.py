"""Figures of result and sweep files, in the domain's words (matplotlib, Agg: no display needed).

Each function draws one kind of figure into a new matplotlib Figure and returns it; :func:`save`
writes it. Kinds: ``outcomes`` (how crises end, with 95% intervals), ``timeline`` (when help
comes: share of attacked crises by day), ``sweep`` (an outcome over one or two swept parameters)
and ``sensitivity`` (Sobol indices); :func:`assumptions` draws the ``assumptions`` command's
experiment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from crisis_sim import files, store
from crisis_sim.analysis import shares
from crisis_sim.errors import InputError, file_error_reason
from crisis_sim.outcomes import OUTCOMES

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from crisis_sim.assumptions import Experiment
    from crisis_sim.outputs import PointOutputs
    from crisis_sim.sensitivity import MorrisEffect, SobolIndex

Kind = Literal["outcomes", "timeline", "sweep", "sensitivity"]
KINDS: tuple[Kind, ...] = ("outcomes", "timeline", "sweep", "sensitivity")
WIDE = 0.1  # half-width of a Sobol index's interval above which more points are advised

OUTCOME_LABELS = {
    "deterred": "deterred (no attack)",
    "backed_down": "backed down (the aggressor modified its policy)",
    "aggressor_defeated": "aggressor defeated",
    "fait_accompli": "fait accompli (response too late)",
    "stalemate": "stalemate (still fighting at the horizon)",
    "no_response": "no response (target fell unanswered)",
    "defenders_defeated": "defenders defeated (the target and its helpers)",
}
OUTCOME_COLOURS = {
    "deterred": "#1b9e77",
    "backed_down": "#66a61e",
    "aggressor_defeated": "#7570b3",
    "fait_accompli": "#d95f02",
    "stalemate": "#a6761d",
    "no_response": "#e7298a",
    "defenders_defeated": "#666666",
}


def _figure(width: float = 7.5, height: float = 4.5) -> Figure:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=110, layout="constrained")
    return fig


def _title(ax: Any, head: str, detail: str, size: float) -> None:
    """A title whose detail is wrapped to the figure's width: no word cut at its edges.

    Long scenario names and the INCOMPLETE warning used to run past the edges of the image.
    """
    import textwrap

    # Over the whole figure (long tick labels leave the axes narrow): a character is about
    # half the font size wide.
    chars = max(30, int(0.9 * ax.figure.get_figwidth() * 72 / (0.55 * size)))
    ax.figure.suptitle("\n".join([head, *textwrap.wrap(detail, chars)]), fontsize=size)


def _points(outputs: PointOutputs) -> str:
    """How many points a sweep's figure shows, of how many, and replications at each."""
    done, total = int((outputs.n > 0).sum()), len(outputs.n)
    shown = f"{total:,} points" if done == total else f"{done:,} of {total:,} points"
    return f"{shown} × {int(outputs.n.max()) if total else 0:,} replications"


def check_path(out: Path, option: str = "--out") -> Path:
    """A figure file name the CLI can write: checked before any work is done."""
    out = Path(out)
    if out.suffix.lower() not in (".png", ".pdf", ".svg"):
        raise InputError(f"{option} {out}: give a .png, .pdf or .svg file name")
    if not out.parent.is_dir():
        raise InputError(f"{option} {out}: no such folder {out.parent}")
    why = files.not_a_file(out)
    if why:
        raise InputError(f"{option} {out}: {why}; give a file name for the figure")
    if _is_hdf5(out):
        raise InputError(f"{option} {out}: is a result file, not a figure; give another name")
    _check_writable(out, option)
    return out


def _is_hdf5(path: Path) -> bool:
    """Whether ``path`` is an HDF5 file (a result the figure must not replace)."""
    import h5py

    try:
        return bool(h5py.is_hdf5(path))  # a regular file only: never opens a pipe
    except OSError:
        return False


def _check_writable(out: Path, option: str) -> None:
    """Refuse a figure whose folder takes no new file, by making one there and removing it.

    Permissions alone do not tell (an administrator ignores them, an immutable folder or a
    read-only disk refuses even her): a command that computes for minutes first must know.
    """
    import os
    import secrets

    probe = out.parent / f".{secrets.token_hex(6)}.probe"
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as exc:
        raise InputError(f"{option} {out}: cannot write the figure: {exc.strerror}") from None
    try:
        probe.unlink()
    except OSError:
        pass


def save(fig: Any, out: Path, option: str = "--out") -> Path:
    """Write a figure (format from the suffix: .png, .pdf, .svg), whole or not at all.

    It is drawn into a hidden file beside the image it replaces (through a symbolic link, the
    image the link points to) and then moved into place, so a failed drawing or write (a full
    disk) leaves that image as it was, and no half-drawn one. A replaced image keeps its
    permissions; a new one gets the usual ones.
    """
    import os
    import secrets
    import stat

    out = check_path(out, option)
    target = Path(os.path.realpath(out))
    part = target.with_name(f".{target.name[:40]}.{secrets.token_hex(4)}.part")
    made = False
    try:
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # umask applies
        made = True
        with os.fdopen(fd, "wb") as f:
            if target.exists():
                os.fchmod(f.fileno(), stat.S_IMODE(target.stat().st_mode))
            fig.savefig(f, format=out.suffix.lower().lstrip("."))
            f.flush()
            os.fsync(f.fileno())
        part.replace(target)
        made = False
    except OSError as exc:
        reason = file_error_reason(exc)
        raise InputError(f"{option} {out}: cannot write the figure: {reason}") from None
    finally:
        if made:
            part.unlink(missing_ok=True)
    return out


@dataclass(frozen=True)
class Source:
    """What a figure is drawn from: a single run's file or a sweep's, finished or not."""

    kind: Literal["run", "sweep"]
    complete: bool


def source(path: Path) -> Source:
    """Whether a file is a single run or a sweep (refusing anything else), and if it is whole."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such result file")
    try:
        with store.open_for_reading(path) as f:
            fmt = f.attrs.get("format")
            if fmt not in (store.SWEEP_FORMAT, store.FORMAT):
                store.check_ours(f, path, expected="a single run or sweep")  # says what it is
            complete = bool(f.attrs.get("complete", 0))
    except OSError as exc:
        raise store.unreadable(path, exc) from None
    return Source("sweep" if fmt == store.SWEEP_FORMAT else "run", complete)


def _subtitle(info: dict[str, object], n: int) -> str:
    sc = json.loads(str(info["scenario"]))
    note = _incomplete(info)
    return f"scenario '{sc['name']}': {n:,} replications, seed {info['seed']}{note}"


def _incomplete(info: dict[str, object]) -> str:
    """A title's warning for a file not yet finished (some replications not written)."""
    return "" if info.get("complete") else " (INCOMPLETE file)"


def _sweep_of(outputs: PointOutputs) -> str:
    """Which scenario a sweep plays, and whether its file is finished."""
    name = json.loads(str(outputs.info["scenario"]))["name"]
    return f"scenario '{name}'{_incomplete(outputs.info)}"


def outcomes(path: Path) -> Figure:
    """How the crises ended: share of replications per outcome with 95% Wilson intervals."""
    info = store.read_info(path)
    runs = store.read_runs(path, ["outcome", "committed"])
    codes = runs["outcome"][store.written(path, runs, "to draw")]
    rows = shares(codes, OUTCOMES)
    fig = _figure(7.5, 4.2)
    ax = fig.add_subplot()
    y = np.arange(len(rows))[::-1]
    vals = np.array([r.share for r in rows])
    err = np.clip([[r.share - r.low for r in rows], [r.high - r.share for r in rows]], 0, None)
    ax.barh(y, vals, color=[OUTCOME_COLOURS[r.name] for r in rows], height=0.65)
    ax.errorbar(vals, y, xerr=err, fmt="none", ecolor="black", capsize=3, lw=1)
    for yi, r in zip(y, rows, strict=True):
        ax.text(r.high + 0.01, yi, f"{r.share:.1%}", va="center", fontsize=9)
    ax.set_yticks(y, [OUTCOME_LABELS[r.name] for r in rows])
    ax.set_xlim(0, min(1.0, max(r.high for r in rows) + 0.12))
    ax.xaxis.set_major_formatter(_percent())
    ax.set_xlabel("share of replications (bars: 95% interval)")
    _title(ax, "How the crisis ends", _subtitle(info, len(codes)), 11)
    ax.grid(axis="x", alpha=0.3)
    return fig


def _percent() -> Any:
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(1.0, decimals=0)


def _ecdf(ax: Any, days: np.ndarray, n: int, horizon: int, **style: object) -> None:
    """Step curve: share of ``n`` crises in which the event happened by each day."""
    xs = np.sort(days)
    ys = np.arange(1, len(xs) + 1) / max(n, 1)
    ax.step(
        np.concatenate(([0], xs, [horizon])),
        np.concatenate(([0], ys, ys[-1:] if len(ys) else [0])),
        where="post",
        **style,
    )


def timeline(path: Path) -> Figure:
    """When help comes: share of attacked crises in which each event happened by each day."""
    info = store.read_info(path)
    runs = store.read_runs(
        path,
        [
            "outcome",
            "committed",
            "side",
            "entry_day",
            "arrival_day",
            "decision_day",
            "target_fell_day",
            "end_day",
        ],
    )
    ok = store.written(path, runs, "to draw")
    attacked = ok & (runs["outcome"] != 0)
    n = int(attacked.sum())
    if n == 0:
        raise InputError(f"{path}: no replication has an attack, so there is no timeline to draw")
    sc = json.loads(str(info["scenario"]))
    codes = list(info["states"])
    a, g = codes.index(sc["aggressor"]), codes.index(sc["target"])
    side, entry = runs["side"][attacked], runs["entry_day"][attacked]
    helper = side == 2
    helper[:, [a, g]] = False
    never = np.iinfo(np.int32).max
    first_help = np.where(helper, entry.astype(np.int32), never).min(axis=1)
    arrival = runs["arrival_day"][attacked]
    first_arrival = np.where(helper & (arrival >= 0), arrival.astype(np.int32), never).min(axis=1)
    horizon = int(sc["horizon_days"])
    fig = _figure(8, 4.6)
    ax = fig.add_subplot()
    _ecdf(
        ax,
        first_help[first_help < never],
        n,
        horizon,
        color="#1b9e77",
        lw=2.2,
        label="first third state at war on the target's side",
    )
    _ecdf(
        ax,
        first_arrival[first_arrival < never],
        n,
        horizon,
        color="#1b9e77",
        lw=1.4,
        ls="-.",
        label="first helping forces in the theatre",
    )
    palette = ["#7570b3", "#e6ab02", "#66a61e", "#a6761d"]
    for i, name in enumerate(info["institutions"]):
        dd = runs["decision_day"][attacked][:, i]
        _ecdf(
            ax,
            dd[dd >= 0],
            n,
            horizon,
            color=palette[i % len(palette)],
            lw=1.6,
            ls="--",
            label=f"{name}: last vote taken",
        )
    fell = runs["target_fell_day"][attacked]
    _ecdf(ax, fell[fell >= 0], n, horizon, color="#d95f02", lw=1.8, label="target fell")
    end = runs["end_day"][attacked]
    _ecdf(
        ax,
        end[end < horizon],
        n,
        horizon,
        color="#444444",
        lw=1.2,
        ls=":",
        label="crisis over (before the horizon)",
    )
    last = max(
        [
            int(x.max())
            for x in (first_help[first_help < never], fell[fell >= 0], end[end < horizon])
            if x.size
        ]
        + [0]
    )
    ax.set_xlim(0, min(horizon, max(30, int(last * 1.15) + 1)))
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(_percent())
    ax.set_xlabel(f"days after the attack (horizon: {horizon} days)")
    ax.set_ylabel("share of attacked crises, by that day")
    _title(ax, "When help comes", f"{_subtitle(info, int(ok.sum()))}, {n:,} with an attack", 11)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8.5, framealpha=0.9)
    return fig


def _level_label(name: str, value: float, info: dict[str, object]) -> str:
    """``name = value``; switches read ``on``/``off``."""
    kinds = {r["name"]: r["kind"] for r in json.loads(str(info.get("ranges", "[]")))}
    if kinds.get(name) == "bool":
        return f"{name}: {'on' if value else 'off'}"
    return f"{name} = {value:g}"


def _param_label(name: str, info: dict[str, object]) -> str:
    ranges = {r["name"]: r for r in json.loads(str(info.get("ranges", "[]")))}
    r = ranges.get(name)
    if not r:
        return name
    unit = "" if r["unit"] in ("", "switch") else f" ({r['unit']})"
    return f"{name}{unit}\n{r['meaning']}"


def sweep(outputs: PointOutputs, x: str | None = None, by: str | None = None) -> Figure:
    """An output over one swept parameter (``x``), optionally one line per value of ``by``.

    Without ``by`` and with two or more parameters, points are coloured by the second one.
    """
    from crisis_sim.outputs import label

    names = outputs.names
    for option, name in (("--x", x), ("--by", by)):
        if name is not None and name not in names:
            raise InputError(f"{option} {name}: not swept in this file (swept: {', '.join(names)})")
    if by is not None and by == (x or names[0]):
        on_x = "--x" if x else "the x axis (the first swept parameter, as no --x is given)"
        raise InputError(f"--by {by}: already on {on_x}; give another, or leave it out")
    x = x or names[0]
    rest = [n for n in names if n != x]
    fig = _figure(8, 4.8)
    ax = fig.add_subplot()
    xv = outputs.values[:, names.index(x)]
    y, lo, hi = outputs.y, outputs.low, outputs.high
    is_share = outputs.output not in _means()
    by = by or (
        rest[0] if rest and len(np.unique(outputs.values[:, names.index(rest[0])])) <= 6 else None
    )
    if by is not None:
        bv = outputs.values[:, names.index(by)]
        levels = np.unique(bv)
        from matplotlib import colormaps

        cmap = colormaps["viridis"]
        for k, lev in enumerate(levels):
            sel = bv == lev
            order = np.argsort(xv[sel])
            colour = cmap(k / max(1, len(levels) - 1) * 0.85)
            ax.fill_between(
                xv[sel][order], lo[sel][order], hi[sel][order], color=colour, alpha=0.18
            )
            ax.plot(
                xv[sel][order],
                y[sel][order],
                "o-",
                color=colour,
                ms=4,
                lw=1.6,
                label=_level_label(by, float(lev), outputs.info),
            )
        ax.legend(fontsize=8.5, title="95% bands", title_fontsize=8)
    elif rest:
        cv = outputs.values[:, names.index(rest[0])]
        ax.errorbar(
            xv,
            y,
            yerr=np.clip([y - lo, hi - y], 0, None),
            fmt="none",
            ecolor="#bbbbbb",
            lw=0.8,
            zorder=1,
        )
        sc = ax.scatter(xv, y, c=cv, cmap="viridis", s=22, zorder=2)
        fig.colorbar(sc, ax=ax, label=_param_label(rest[0], outputs.info))
    else:
        order = np.argsort(xv)
        ax.fill_between(
            xv[order], lo[order], hi[order], color="#1b9e77", alpha=0.2, label="95% interval"
        )
        ax.plot(xv[order], y[order], "o-", color="#1b9e77", ms=4, lw=1.6)
        ax.legend(fontsize=8.5)
    if is_share:
        ax.yaxis.set_major_formatter(_percent())
    ax.set_xlabel(_param_label(x, outputs.info))
    ax.set_ylabel(label(outputs.output))
    _title(
        ax,
        f"{label(outputs.output).capitalize()} across the sweep",
        f"{_sweep_of(outputs)}, {outputs.info['design']} design, {_points(outputs)} "
        "(same random numbers at every point)",
        10.5,
    )
    ax.grid(alpha=0.3)
    return fig


def _means() -> dict[str, str]:
    from crisis_sim.outputs import MEANS

    return MEANS


def sensitivity(found: list[SobolIndex] | list[MorrisEffect], outputs: PointOutputs) -> Figure:
    """Sobol first-order and total indices (or Morris effects) per parameter, 95% bars."""
    from crisis_sim.outputs import label
    from crisis_sim.sensitivity import MorrisEffect, SobolIndex

    if not all(isinstance(i, SobolIndex) for i in found):
        return _morris([e for e in found if isinstance(e, MorrisEffect)], outputs)
    indices = [i for i in found if isinstance(i, SobolIndex)]

    order = sorted(range(len(indices)), key=lambda j: indices[j].st)
    rows = [indices[j] for j in order]
    fig = _figure(8, max(3.2, 1.6 + 0.55 * len(rows)))
    ax = fig.add_subplot()
    y = np.arange(len(rows))
    h = 0.38
    ax.barh(
        y + h / 2,
        [r.st for r in rows],
        h,
        xerr=[r.st_conf for r in rows],
        color="#7570b3",
        capsize=3,
        label="total (with interactions)",
    )
    ax.barh(
        y - h / 2,
        [r.s1 for r in rows],
        h,
        xerr=[r.s1_conf for r in rows],
        color="#1b9e77",
        capsize=3,
        label="first order (alone)",
    )
    ax.set_yticks(y, [r.name for r in rows])
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel("share of the output's variance explained (bars: 95% confidence)")
    _title(
        ax,
        f"What drives the {label(outputs.output)}: Sobol indices",
        f"{_sweep_of(outputs)}, {_points(outputs)}",
        10.5,
    )
    ax.legend(fontsize=8.5, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    if max(max(r.s1_conf, r.st_conf) for r in rows) > WIDE:
        ax.set_xlabel(
            f"{ax.get_xlabel()}\nwide intervals: a larger --points (base sample N) narrows them"
        )
    return fig


def _morris(effects: list[MorrisEffect], outputs: PointOutputs) -> Figure:
    """Morris screening: mean absolute elementary effect mu* (bars) and its spread sigma."""
    from crisis_sim.outputs import label

    rows = sorted(effects, key=lambda e: e.mu_star)
    fig = _figure(8, max(3.2, 1.6 + 0.45 * len(rows)))
    ax = fig.add_subplot()
    y = np.arange(len(rows))
    ax.barh(
        y,
        [e.mu_star for e in rows],
        0.6,
        xerr=[e.mu_star_conf for e in rows],
        color="#7570b3",
        capsize=3,
        label="mu*: mean |elementary effect|",
    )
    ax.plot(
        [e.sigma for e in rows],
        y,
        "D",
        color="#d95f02",
        ms=6,
        label="sigma: spread (interactions, non-linearity)",
    )
    ax.set_yticks(y, [e.name for e in rows])
    ax.set_xlabel(
        f"change of the {label(outputs.output)} per unit of the parameter's swept range\n"
        "(bars: 95% confidence)"
    )
    _title(
        ax,
        f"What moves the {label(outputs.output)}: Morris screening",
        f"{_sweep_of(outputs)}, {_points(outputs)}",
        10.5,
    )
    ax.legend(fontsize=8.5, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    return fig


def assumptions(e: Experiment) -> Figure:
    """Which assumption breaks the arrangement: each one's effect, with paired 95% intervals.

    Left, each assumption failing alone against all imposed; right, each holding alone against
    none. Points are changes in the share of crises where the arrangement works (deterred,
    backed down or defeated) and in the share deterred. Both panels list the assumptions in one
    order, the largest effect on either side at the top.
    """
    alone = {x.key: x for x in e.alone}
    size = {
        x.key: max(abs(x.change["works"].value), abs(alone[x.key].change["works"].value))
        for x in e.relaxed
    }
    order = sorted((x.key for x in e.relaxed), key=lambda k: size[k])
    labels = {x.key: x.label for x in e.relaxed}
    fig = _figure(11, max(3.6, 1.9 + 0.36 * len(order)))
    grid = fig.add_gridspec(1, 2)
    panels = (
        ({x.key: x for x in e.relaxed}, e.baseline, "fails alone\n(change from all imposed)"),
        (alone, e.none, "holds alone\n(change from none imposed)"),
    )
    marks = (
        ("works", "arrangement works", "#1b9e77", "o"),
        ("deterred", "deterred", "#7570b3", "s"),
    )
    y = np.arange(len(order))
    first = None
    for k, (effects, base, title) in enumerate(panels):
        ax = fig.add_subplot(grid[0, k], sharey=first, sharex=first)  # one scale: comparable
        first = first or ax
        for j, (key, name, colour, marker) in enumerate(marks):
            est = [effects[o].change[key] for o in order]
            val = np.array([100 * c.value for c in est])
            err = 100 * np.array([[c.value - c.low for c in est], [c.high - c.value for c in est]])
            ax.errorbar(
                val,
                y + (0.14 if j == 0 else -0.14),
                xerr=np.clip(err, 0, None),
                fmt=marker,
                color=colour,
                capsize=2.5,
                ms=5,
                label=f"{name} ({base.shares[key].value:.0%} in the reference)",
            )
        ax.axvline(0, color="black", lw=0.8)
        ax.set_xlabel("change in share of replications (points)")
        ax.set_title(f"When the assumption {title}", fontsize=9.5)
        ax.grid(axis="x", alpha=0.3)
        ax.legend(fontsize=7.5, loc="lower right")
        if k == 0:
            ax.set_yticks(y, [labels[o] for o in order])
        else:
            ax.tick_params(labelleft=False)
    fig.suptitle(
        f"{e.scenario}: which assumption breaks the arrangement?\n{e.n_runs:,} replications per "
        f"setting, seed {e.seed}, common random numbers; bars: paired 95% intervals",
        fontsize=10,
    )
    return fig
