"""Rich tables for the experiments (``compare``, ``assumptions``), in the domain's words."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crisis_sim.assumptions import Effect, Experiment
    from crisis_sim.compare import Comparison, Estimate


def _pct(e: Estimate) -> str:
    """A share over its interval, on two lines to keep tables narrow."""
    if e.value != e.value:
        return "–"
    return f"{100 * e.value:.1f}%\n[dim]{100 * e.low:.1f}–{100 * e.high:.1f}[/dim]"


def _num(e: Estimate, digits: int) -> str:
    if e.value != e.value:
        return "–"
    return f"{e.value:.{digits}f}\n[dim]{e.low:.{digits}f}–{e.high:.{digits}f}[/dim]"


def signed_points(share: float) -> str:
    """A change of a share in percentage points, one decimal, with its sign.

    A fall too small to show is -0.0, so that an interval below zero never reads as reaching
    it ("-0.2 to -0.0", not "to +0.0"); no change at all is +0.0.
    """
    shown = round(100 * share, 1) + 0.0  # + 0.0: no signed zero from the rounding
    return "-0.0" if shown == 0.0 and share < 0 else f"{shown:+.1f}"


def _pp(e: Estimate) -> str:
    """A change in percentage points over its interval."""
    low, high = signed_points(e.low), signed_points(e.high)
    return f"{signed_points(e.value)}\n[dim]{low} to {high}[/dim]"


def comparison(c: Comparison) -> Any:
    """One column per arrangement; a row per outcome (the seven add to 100%), then the response.

    Arrangements run across, so the table stays narrow however many outcomes it shows.
    """
    from rich.table import Table

    from crisis_sim.compare import LABELS
    from crisis_sim.outcomes import OUTCOMES, in_words

    t = Table(
        title=f"{c.scenario}: the same crisis under each arrangement",
        caption=f"{c.n_runs:,} replications each, seed {c.seed}, common random numbers; 95% "
        "intervals below each figure. First help: the day the first third state joined the "
        "target (runs in which one did); states at war: runs with a war.",
        show_lines=True,
    )
    t.add_column("share of replications")
    for r in c.rows:
        t.add_column(LABELS.get(r.arrangement, r.arrangement), justify="right")
    for name in OUTCOMES:
        t.add_row(in_words(name), *(_pct(r.shares[name]) for r in c.rows))
    t.add_row(
        "first help (day, median)",
        *(_num(r.response_day, 0) for r in c.rows),
    )
    t.add_row("states at war (mean)", *(_num(r.belligerents, 2) for r in c.rows))
    return t


COLUMNS = (
    ("works", "works"),
    ("deterred", "deterred"),
    ("aggressor_defeated", "aggressor defeated"),
    ("fait_accompli", "fait accompli"),
    ("no_response", "no response"),
)


def _effects(title: str, first: Effect, rows: list[Effect], reference: str) -> Any:
    from rich.table import Table

    t = Table(title=title, show_lines=True)
    t.add_column("assumption")
    for _, label in COLUMNS:
        t.add_column(label, justify="right")
    t.add_row(f"[bold]{reference}[/bold]", *(_pct(first.shares[k]) for k, _ in COLUMNS))
    for e in sorted(rows, key=lambda e: e.change["works"].value):
        t.add_row(e.label, *(_pp(e.change[k]) for k, _ in COLUMNS))
    return t


def experiment(e: Experiment) -> list[Any]:
    """Two tables: each assumption failing alone, and each imposed alone (note on overlap)."""
    head = (
        f"{e.scenario}, {e.n_runs:,} replications per setting, seed {e.seed}, common random numbers"
    )
    out: list[Any] = [
        _effects(
            f"When one assumption fails ({head}): change from all imposed, in points "
            "[95% paired interval]; 'works' = deterred, backed down or defeated",
            e.baseline,
            e.relaxed,
            "all imposed (shares)",
        )
    ]
    if all(x.change["works"].low <= 0.0 <= x.change["works"].high for x in e.relaxed):
        out.append(
            "No single failure changes whether the arrangement works: the assumptions overlap "
            "(for example Organski's fourth and Morgenthau's first each make the aggressor "
            "expect a coalition strong enough to deter it). The next table shows what each one "
            "does on its own."
        )
    out.append(
        _effects(
            f"When one assumption holds alone ({head}): change from none imposed, in points "
            "[95% paired interval]",
            e.none,
            e.alone,
            "none imposed (shares)",
        )
    )
    return out
