"""The ``crisis-sim`` command line: thin commands that parse options and call the modules.

Heavy libraries (numba, h5py, dask) are imported inside commands, so ``--help`` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from crisis_sim.errors import InputError

if TYPE_CHECKING:
    from crisis_sim.analysis import Summary

app = typer.Typer(
    name="crisis-sim",
    help="Simulate international crises under collective-security arrangements: how often is "
    "aggression deterred, answered or rewarded, how fast, by whom, at what cost.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ScenarioArg = Annotated[
    str | None,
    typer.Argument(help="Scenario file (.toml) or bundled scenario name; default: the bundled 'default'."),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def _progress_factory(quiet: bool) -> Any:
    """A rich progress bar with replications per second, or None when quiet or not a terminal."""
    if quiet or not sys.stderr.isatty():
        return None

    def factory(total: int, n_runs: int) -> Any:
        from rich.progress import (
            BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn,
        )

        class Rate(TextColumn):
            def __init__(self) -> None:
                super().__init__("")

            def render(self, task: Any) -> Any:
                from rich.text import Text

                speed = task.finished_speed or task.speed
                return Text(f"{speed:,.0f} replications/s" if speed else "")

        bar = Progress(TextColumn("simulating crises"), BarColumn(), MofNCompleteColumn(),
                       TaskProgressColumn(), Rate(), TimeRemainingColumn(),
                       console=_console(stderr=True), transient=True)
        bar.start()
        task = bar.add_task("run", total=total)
        factory.bar = bar  # type: ignore[attr-defined]

        def advance(k: int) -> None:
            bar.update(task, advance=k)
            if bar.tasks[task].finished:
                bar.stop()

        return advance

    return factory


def _announce_compile(quiet: bool) -> None:
    """Tell the user when Numba has to compile (first run, or after an upgrade)."""
    from crisis_sim.warmup import cache_is_warm

    if not quiet and not cache_is_warm():
        _console(stderr=True).print("compiling the simulation kernels (first run only, ~30 s)...")


@app.command()
def run(
    scenario: ScenarioArg = None,
    runs: Annotated[int, typer.Option("--runs", "-n", help="Monte Carlo replications of the crisis.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Seed; the same seed and scenario give identical results.")] = 1,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Result file (HDF5); default: NAME.h5.")] = None,
    workers: Annotated[int, typer.Option("--workers", "-w", help="Local worker processes (1: this process).")] = 1,
    scheduler: Annotated[str | None, typer.Option(
        help="Run on Dask: 'local' starts a LocalCluster on localhost; or tcp://HOST:PORT.")] = None,
    chunk_size: Annotated[int, typer.Option(help="Replications per chunk (unit of work and of commit).")] = 50_000,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing result file.")] = False,
    resume: Annotated[bool, typer.Option(help="Finish an interrupted result file (--out).")] = False,
    append: Annotated[int, typer.Option(help="Add this many replications to an existing file (--out).")] = 0,
    quiet: Quiet = False,
) -> None:
    """Run a crisis many times and write every replication to an HDF5 file."""
    from crisis_sim import experiment, runner
    from crisis_sim import scenario as sc_mod

    if workers < 1:
        raise InputError(f"--workers {workers}: must be at least 1")
    if append < 0:
        raise InputError(f"--append {append}: must be positive")
    if resume or append:
        if out is None:
            raise InputError("--resume and --append need --out FILE (the file to continue)")
        if append:
            from crisis_sim import store

            store.grow(out, append)
        plan, seed = experiment.reopen(out)
    else:
        sc = sc_mod.load(scenario)
        out = out or Path(f"{sc.name}.h5")
        plan = experiment.start(out, sc, seed, runs, overwrite)
    _announce_compile(quiet)
    backend = runner.backend(workers, scheduler)
    try:
        report = experiment.execute(out, plan, seed, backend, chunk_size=chunk_size,
                                    progress=_progress_factory(quiet))
    finally:
        backend.close()
    con = _console()
    rate = report.computed / report.seconds if report.seconds > 0 else float("nan")
    con.print(f"wrote {out}: {report.n_runs:,} replications of '{plan.scenario.name}' "
              f"(seed {seed}); {report.computed:,} computed in {report.seconds:.2f} s "
              f"({rate:,.0f} replications/s)")
    if not quiet:
        from crisis_sim.analysis import summarize as _summarize

        _print_summary(_summarize(out))


@app.command()
def validate(scenario: Annotated[str, typer.Argument(help="Scenario file (.toml) or bundled name.")]) -> None:
    """Check a scenario file; prints one line per problem (exit status 2) or 'ok'."""
    from crisis_sim import scenario as sc_mod

    sc = sc_mod.load(scenario)
    _console().print(f"ok: {sc.name}: {len(sc.states)} states, {len(sc.institutions)} institutions, "
                     f"{len(sc.treaties)} treaties; {sc.aggressor} against {sc.target}")


@app.command()
def scenarios() -> None:
    """List the bundled scenarios: the name 'run NAME' accepts, then what it is."""
    from crisis_sim import scenario as sc_mod

    for name in sc_mod.bundled_names():
        sc = sc_mod.load(name)
        typer.echo(f"{name:<24} {sc.title}")


@app.command()
def summarize(result: Annotated[Path, typer.Argument(help="Result file written by 'run'.")]) -> None:
    """Outcome shares with 95% intervals, timing quantiles and vote results."""
    from crisis_sim.analysis import summarize as _summarize

    _print_summary(_summarize(result))


@app.command()
def trace(
    result: Annotated[Path, typer.Argument(help="Result file written by 'run'.")],
    run_: Annotated[int, typer.Option("--run", "-r", help="Replication number to replay.")] = 0,
) -> None:
    """Replay one replication alone and tell its timeline as a story."""
    from crisis_sim.story import replay

    story = replay(result, run_)
    con = _console()
    con.print(f"[bold]replication {run_} of {result}[/bold] (seed {story.seed}, scenario '{story.scenario}')")
    for day, step, line in story.lines:
        con.print(f"  day {day:>4}  [dim]step {step:>2}[/dim]  {line}")
    verdict = "matches" if story.matches else "DOES NOT MATCH"
    con.print(f"outcome: {story.outcome}; {verdict} the stored result ({story.stored_outcome})")
    if not story.matches:
        raise typer.Exit(1)


def _print_summary(s: Summary) -> None:
    from rich.table import Table

    con = _console()
    if not s.complete:
        con.print(f"[yellow]warning: {s.path} is incomplete: {s.n_committed:,} of {s.n_runs:,} "
                  f"replications written; finish it with 'crisis-sim run --resume --out {s.path}'[/yellow]")
    t = Table(title=f"{s.scenario_name}: {s.n_committed:,} replications, seed {s.seed}")
    t.add_column("outcome")
    t.add_column("share", justify="right")
    t.add_column("95% interval", justify="right")
    for sh in s.outcomes:
        t.add_row(sh.name.replace("_", " "), f"{sh.share:.1%}", f"{sh.low:.1%} – {sh.high:.1%}")
    con.print(t)
    if s.end_day_quantiles:
        q = s.end_day_quantiles
        con.print(f"crisis length (days, attacked runs): median {q['50%']:.0f}, 5–95% {q['5%']:.0f}–{q['95%']:.0f}")
    if s.response_day_quantiles:
        q = s.response_day_quantiles
        con.print(f"first third state at war (day): median {q['50%']:.0f}, 5–95% {q['5%']:.0f}–{q['95%']:.0f}")
    con.print(f"belligerents per war: {s.belligerents_mean:.2f} (of which via cascades {s.cascade_mean:.2f})")
    for name, votes, med in s.institutions:
        parts = ", ".join(f"{v.name.replace('_', ' ')} {v.share:.0%}" for v in votes if v.count)
        when = f"; median decision day {med:.0f}" if med == med else ""
        con.print(f"{name}: {parts}{when}")


def main() -> None:
    """Entry point: user errors become one line on stderr and exit status 2."""
    from crisis_sim.errors import Interrupted

    try:
        app(standalone_mode=False)
    except InputError as exc:
        print(f"crisis-sim: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except Interrupted as exc:
        print(f"crisis-sim: {exc}", file=sys.stderr)
        sys.exit(130)
    except KeyboardInterrupt:
        print("crisis-sim: interrupted", file=sys.stderr)
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(130)
    except Exception as exc:  # click usage errors
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
