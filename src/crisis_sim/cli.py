"""The ``crisis-sim`` command line: thin commands that parse options and call the modules.

Heavy libraries (numba, h5py, dask) are imported inside commands, so ``--help`` stays fast.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup, TyperOption

from crisis_sim.errors import InputError, at_least_one, fits_in_memory, plain_words
from crisis_sim.outcomes import in_words

if TYPE_CHECKING:
    from crisis_sim.analysis import Summary
    from crisis_sim.runner import Backend


def _flags_untyped(params: list[Any]) -> list[Any]:
    """Flags get no type column in ``--help``.

    Typer labels them all ``<bool>``, though a flag takes no value (``--quiet``, not
    ``--quiet=true``).
    """
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = ""
    return params


class _Command(TyperCommand):
    def get_params(self, ctx: Any) -> list[Any]:
        return _flags_untyped(super().get_params(ctx))


class _Group(TyperGroup):
    def get_params(self, ctx: Any) -> list[Any]:
        return _flags_untyped(super().get_params(ctx))


app = typer.Typer(
    cls=_Group,
    name="crisis-sim",
    help="Simulate international crises under collective-security arrangements: how often is "
    "aggression deterred, answered or rewarded, how fast, by whom, at what cost.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _show_version(value: bool) -> None:
    if value:
        from crisis_sim import __version__

        typer.echo(f"crisis-sim {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", callback=_show_version, is_eager=True
        ),
    ] = False,
) -> None:
    """The commands below; ``--version`` is handled by its callback."""


ScenarioArg = Annotated[
    str | None,
    typer.Argument(
        help="Scenario file (.toml) or bundled scenario name; default: the bundled 'default'."
    ),
]
Quiet = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress bar and no compiling notice.")
]


# Width of tables written to a file or a pipe (unless COLUMNS says otherwise): the widest
# table, compare's, fits; Rich's default of 80 would squeeze it.
PIPE_WIDTH = 200


def _count(n: int, one: str, many: str | None = None) -> str:
    """``1 replication``, ``20,000 replications``, ``2 treaties``."""
    return f"{n:,} {one if n == 1 else many or one + 's'}"


# Names no HDF5 file should take: a figure's, a scenario's, a table's (a slip of --out for --plot).
NOT_HDF5 = {".png", ".pdf", ".svg", ".jpg", ".jpeg", ".toml", ".csv", ".txt", ".json"}


def _new_output(
    out: Path | None,
    default: str,
    name: str,
    overwrite: bool,
    kind: str = "result file",
    can_append: bool = True,
) -> Path:
    """``--out``, or the file named after the scenario, checked to be free for a new file.

    An existing file of that default name may hold another scenario file's results (two files
    may share a ``name``): the error says where the name came from, and how to choose another.
    """
    from crisis_sim import files
    from crisis_sim.errors import StoreError

    path = out or Path(default)
    if path.suffix.lower() in NOT_HDF5:
        raise InputError(f"--out {path}: a {kind} is HDF5; give it a .h5 name")
    try:
        files.refuse_existing(path, overwrite, can_append=can_append, kind=kind)
    except StoreError as exc:
        if out is not None:
            raise
        raise StoreError(
            f"{exc} (the name comes from the scenario's name '{name}'; give --out FILE for another)"
        ) from None
    return path


def _already_complete(out: Path, seed: int | None = None) -> str:
    """What ``--resume`` says of a file with nothing left to compute (run, sweep, compare)."""
    of_seed = f" (seed {seed})" if seed is not None else ""
    return f"{_lit(out)} is already complete; nothing to compute{of_seed}"


def _lit(text: object) -> str:
    """A path or command as printed: square brackets in it are not Rich markup."""
    from rich.markup import escape

    return escape(str(text))


def _console(stderr: bool = False) -> Any:
    """Rich console; into a file or a pipe, lines are never folded (one event, one line)."""
    from rich.console import Console

    con = Console(stderr=stderr, highlight=False)
    if not con.is_terminal:
        cols = os.environ.get("COLUMNS", "")
        width = int(cols) if cols.isdigit() and int(cols) > 0 else PIPE_WIDTH
        con.soft_wrap, con.width = True, width
    return con


_LIVE_BARS: list[Any] = []  # progress bars started by this command (see _stop_bars)


def _stop_bars() -> None:
    """Take down any progress bar still drawn, giving the terminal its cursor back.

    A bar stops by itself when its task is done; after Ctrl-C or an error it would otherwise
    leave the cursor hidden and be drawn again under the command's last line.
    """
    while _LIVE_BARS:
        _LIVE_BARS.pop().stop()


def _progress_factory(quiet: bool, label: str = "simulating crises") -> Any:
    """A rich progress bar with replications per second, or None when quiet or not a terminal."""
    if quiet or not sys.stderr.isatty():
        return None

    def factory(total: int, n_runs: int) -> Any:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )

        class Rate(TextColumn):
            def __init__(self) -> None:
                super().__init__("")

            def render(self, task: Any) -> Any:
                from rich.text import Text

                speed = task.finished_speed or task.speed
                return Text(f"{speed:,.0f} replications/s" if speed else "")

        bar = Progress(
            TextColumn(label),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            Rate(),
            TimeRemainingColumn(),
            console=_console(stderr=True),
            transient=True,
        )
        bar.start()
        _LIVE_BARS.append(bar)
        task = bar.add_task("run", total=total)
        factory.bar = bar  # type: ignore[attr-defined]

        def advance(k: int) -> None:
            bar.update(task, advance=k)
            if bar.tasks[task].finished:
                bar.stop()

        return advance

    return factory


SEED_RANGE = (0, 2**63 - 1)


def _check_seed(seed: int) -> int:
    """Seeds key every random draw: whole numbers from 0 to 2^63 - 1 (each its own stream)."""
    if not SEED_RANGE[0] <= seed <= SEED_RANGE[1]:
        raise InputError(f"--seed {seed}: must be a whole number from 0 to 2^63 - 1")
    return seed


def _refuse_given(options: dict[str, object], why: str, overwrite: bool = False) -> None:
    """A continued file keeps its own settings: refuse the options given to change them.

    ``overwrite``: whether ``--overwrite`` was given too, which a file being finished refuses.
    """
    given = [name for name, value in options.items() if value is not None]
    if given:
        raise InputError(f"{', '.join(given)}: {why}; leave these out")
    if overwrite:
        raise InputError("--resume: finishes the file as it is; leave out --overwrite")


def _announce_compile(quiet: bool, workers: int, scheduler: str | None, cohort: int) -> None:
    """Tell the user when Numba has to compile (first run, or after an upgrade).

    ``cohort``: replications per chunk, which decides with the workers' threads whether the
    parallel kernels will run too.
    """
    from crisis_sim import native, runner
    from crisis_sim.warmup import cache_is_warm

    if quiet:
        return
    if runner.forks_one_thread_workers(workers, scheduler) and native.wanted():
        if native.ready() or not native.is_built():
            return  # the workers' kernels compiled ahead of time, or about to be (said then)
    if not cache_is_warm(runner.threaded(workers, scheduler, cohort)):
        _console(stderr=True).print(
            "compiling the simulation kernels (once, then cached; up to about 30 s)..."
        )


def _announce_native_build(quiet: bool, workers: int, scheduler: str | None) -> None:
    """Tell the user when the workers' kernels are compiled ahead of time (once per version)."""
    from crisis_sim import native, runner

    if quiet or not runner.forks_one_thread_workers(workers, scheduler):
        return
    if native.wanted() and not native.is_built():
        _console(stderr=True).print(
            "compiling the simulation kernels for the workers (once, then kept; about 25 s)..."
        )


def _report_native_fallback(quiet: bool, workers: int, scheduler: str | None) -> None:
    """Say so when the workers could not get their kernels compiled ahead of time."""
    from crisis_sim import native, runner

    if quiet or not runner.forks_one_thread_workers(workers, scheduler):
        return
    note = native.failure_note() if native.wanted() and not native.ahead_of_time() else None
    if note is not None:
        typer.echo(
            f"the workers' kernels could not be compiled ahead of time (why: {note}; tried "
            "again after a day); the workers load Numba's kernels instead",
            err=True,
        )


@contextmanager
def _working(workers: int, scheduler: str | None, quiet: bool = True) -> Iterator[Backend]:
    """The backend for a command's work; while it lasts, Ctrl-C asks to stop after the chunk.

    The handler is in place before workers start or any file exists, so a Ctrl-C then is not
    lost in a garbage-collector callback (which would let the run finish as if nothing had
    happened), and the commit loop sees it (:mod:`crisis_sim.interrupt`). It ends with the
    work: a Ctrl-C while the summary prints stops at once.
    """
    from crisis_sim import runner
    from crisis_sim.interrupt import stop_on_ctrl_c

    with stop_on_ctrl_c():
        _announce_native_build(quiet, workers, scheduler)
        backend = runner.backend(workers, scheduler)
        _report_native_fallback(quiet, workers, scheduler)
        try:
            yield backend
        finally:
            backend.close()


@app.command(cls=_Command)
def run(
    scenario: ScenarioArg = None,
    runs: Annotated[
        int | None,
        typer.Option(
            "--runs", "-n", help="Monte Carlo replications of the crisis \\[default: 20000]."
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            help="Seed; the same seed and scenario give identical results \\[default: 1]."
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Result file (HDF5); default: NAME.h5, NAME the scenario's name key.",
        ),
    ] = None,
    workers: Annotated[
        int, typer.Option("--workers", "-w", help="Local worker processes (1: this process).")
    ] = 1,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Run on Dask: 'local' starts a LocalCluster on localhost; or tcp://HOST:PORT."
        ),
    ] = None,
    chunk_size: Annotated[
        int, typer.Option(help="Replications per chunk (unit of work and of commit).")
    ] = 50_000,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing result file.")] = False,
    resume: Annotated[
        bool, typer.Option(help="Finish an interrupted result file (--out).")
    ] = False,
    append: Annotated[
        int | None,
        typer.Option(help="Add this many replications to an existing file (--out)."),
    ] = None,
    quiet: Annotated[
        bool,
        typer.Option("--quiet", "-q", help="No progress bar, compiling notice or summary table."),
    ] = False,
) -> None:
    """Run a crisis many times and write every replication to an HDF5 file."""
    from crisis_sim import scenario as sc_mod

    at_least_one("--workers", workers)
    if append is not None and append < 1:
        raise InputError(f"--append {append}: must be positive")
    at_least_one("--chunk-size", chunk_size)
    continuing = resume or append is not None
    if continuing:
        _refuse_given(
            {"SCENARIO": scenario, "--runs": runs, "--seed": seed},
            "--resume and --append continue the file with its own scenario, seed and size",
        )
        if out is None:
            raise InputError("--resume and --append need --out FILE (the file to continue)")
    if append is not None and (resume or overwrite):
        raise InputError("--append: adds to the file as it is; leave out --resume and --overwrite")
    if resume and overwrite:
        raise InputError("--resume: finishes the file as it is; leave out --overwrite")
    runs = 20_000 if runs is None else runs
    seed = _check_seed(1 if seed is None else seed)
    if not continuing:
        at_least_one("--runs", runs)
    sc = None if continuing else sc_mod.load(scenario)
    if sc is not None:
        out = _new_output(out, f"{sc.name}.h5", sc.name, overwrite)  # before any worker starts
    # Workers (or the scheduler) first: if they cannot start, no result file is left behind.
    with _working(workers, scheduler, quiet) as backend:
        # HDF5 only now: forked workers do not need it, and start loading the kernels sooner.
        from crisis_sim import experiment, store

        if sc is None:
            assert out is not None  # checked above
            plan, seed = experiment.reopen(out)  # a file that cannot be continued stays as it is
            if resume and store.read_info(out)["complete"]:  # read unlocked, as summarize
                con = _console()
                con.print(_already_complete(out, seed))
                if not quiet:
                    from crisis_sim.analysis import summarize

                    _print_summary(summarize(out))
                return
            if append is not None:
                store.grow(out, append)
            _announce_compile(quiet, workers, scheduler, chunk_size)
            begun = None
        else:
            from crisis_sim.compiled import compile_scenario

            assert out is not None  # named above
            plan = compile_scenario(sc)
            _announce_compile(quiet, workers, scheduler, min(runs, chunk_size))
            begun = experiment.begin(plan, seed, backend, runs, chunk_size)  # workers start
            experiment.start(out, sc, seed, runs, overwrite, plan)
        report = experiment.execute(
            out,
            plan,
            seed,
            backend,
            chunk_size=chunk_size,
            progress=_progress_factory(quiet),
            begun=begun,
        )
    summary = None
    if not quiet:  # read first: a file that cannot be read back is not reported as written
        from crisis_sim.analysis import summarize as _summarize

        summary = _summarize(out)
    rate = report.computed / report.seconds if report.seconds > 0 else float("nan")
    typer.echo(  # one plain line (a script may read it; and no terminal library to load)
        f"wrote {out}: {_count(report.n_runs, 'replication')} of '{plan.scenario.name}' "
        f"(seed {seed}); {report.computed:,} computed in {report.seconds:.2f} s "
        f"({rate:,.0f} replications/s)"
    )
    if summary is not None:
        _print_summary(summary)


@app.command(cls=_Command)
def validate(
    scenario: Annotated[str, typer.Argument(help="Scenario file (.toml) or bundled name.")],
) -> None:
    """Check a scenario file: 'ok', or one line naming the file, key and value (exit status 2)."""
    from crisis_sim import scenario as sc_mod

    sc = sc_mod.load(scenario)
    counts = ", ".join(
        _count(len(items), word)
        for items, word in ((sc.states, "state"), (sc.institutions, "institution"))
    )
    treaties = _count(len(sc.treaties), "treaty", "treaties")
    _console().print(f"ok: {sc.name}: {counts}, {treaties}; {sc.aggressor} against {sc.target}")


@app.command(cls=_Command)
def scenarios() -> None:
    """List the bundled scenarios: the name 'run NAME' accepts, then what it is."""
    from crisis_sim import scenario as sc_mod

    names = sc_mod.bundled_names()
    width = max(len(n) for n in names) + 1
    for name in names:
        typer.echo(f"{name:<{width}} {sc_mod.load(name).title}")


@app.command(cls=_Command)
def summarize(
    result: Annotated[Path, typer.Argument(help="Result file written by 'run'.")],
) -> None:
    """Outcome shares with 95% intervals, timing quantiles and vote results."""
    from crisis_sim.analysis import summarize as _summarize

    _print_summary(_summarize(result))


@app.command(cls=_Command)
def trace(
    result: Annotated[Path, typer.Argument(help="Result file written by 'run'.")],
    run_: Annotated[int, typer.Option("--run", "-r", help="Replication number to replay.")] = 0,
) -> None:
    """Replay one replication alone and tell its timeline as a story."""
    from crisis_sim.story import replay

    story = replay(result, run_)
    con = _console()
    con.print(
        f"[bold]replication {run_} of {_lit(result)}[/bold] "
        f"(seed {story.seed}, scenario '{_lit(story.scenario)}')"
    )
    end = story.end_day
    for day, step, line in story.lines:
        after = "(after the end) " if end is not None and day > end else ""
        con.print(f"  day {day:>4}  [dim]step {step:>2}[/dim]  {after}{_lit(line)}")
    verdict = "matches" if story.matches else "DOES NOT MATCH"
    told, stored = in_words(story.outcome), in_words(story.stored_outcome)
    con.print(f"outcome: {told}; {verdict} the stored result ({stored})")
    if not story.matches:
        raise typer.Exit(1)


# --------------------------------------------------------------------------- experiments at scale


@app.command(
    cls=_Command,
    help="List every sweepable number: dotted name, value, bounds, unit, meaning.\n\n"
    "States are addressed by code (states.RED.willingness), institutions and treaties by name "
    "(spaces as _) or index, stages by index; '*' means every item. Aliases at the end set "
    "several places at once (deliberation.median: every stage of every institution).",
)
def params(
    scenario: ScenarioArg = None,
    aliases_only: Annotated[bool, typer.Option("--aliases", help="Only the aliases.")] = False,
) -> None:
    """List every sweepable number: dotted name, value, bounds, unit, meaning."""
    from crisis_sim import params as params_mod
    from crisis_sim import scenario as sc_mod

    sc = sc_mod.load(scenario)
    rows = [] if aliases_only else params_mod.sweepable(sc)
    rows += params_mod.aliases(sc)
    cols = [(p.name, p.value_text, p.bounds_text, p.unit, p.meaning) for p in rows]
    widths = [max(len(c[i]) for c in cols) for i in range(4)]
    for c in cols:
        typer.echo("  ".join(f"{c[i]:<{widths[i]}}" for i in range(4)) + f"  {c[4]}")


SweepParam = Annotated[
    list[str] | None,
    typer.Option(
        "--param",
        "-p",
        help="Parameter to sweep: NAME (over its declared bounds) or NAME=LOW:HIGH; "
        "repeat for several. See 'crisis-sim params'.",
    ),
]
Design = Annotated[
    str | None,
    typer.Option(
        help="grid, lhs (Latin hypercube), sobol (Saltelli; for 'sensitivity') or morris "
        "\\[default: grid]."
    ),
]
Points = Annotated[
    int | None,
    typer.Option(
        help="grid: values per parameter; lhs: points; sobol: base sample N, a power of 2 "
        "(N*(d+2) points); morris: trajectories (N*(d+1) points) \\[default: 8 for sobol, "
        "else 5]."
    ),
]
Workers = Annotated[
    int, typer.Option("--workers", "-w", help="Local worker processes (1: this process).")
]
Scheduler = Annotated[
    str | None,
    typer.Option(
        help="Run on Dask: 'local' starts a LocalCluster on localhost; or tcp://HOST:PORT."
    ),
]
ChunkSize = Annotated[
    int, typer.Option(help="Replications per chunk (unit of work and of commit).")
]


@app.command(cls=_Command)
def sweep(
    scenario: ScenarioArg = None,
    param: SweepParam = None,
    design: Design = None,
    points: Points = None,
    runs: Annotated[
        int | None,
        typer.Option("--runs", "-n", help="Replications at every point \\[default: 1000]."),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            help="Seed of every point (common random numbers) and of the design \\[default: 1]."
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Sweep file (HDF5); default: NAME_sweep.h5 (the scenario's name key).",
        ),
    ] = None,
    workers: Workers = 1,
    scheduler: Scheduler = None,
    chunk_size: ChunkSize = 50_000,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing sweep file.")] = False,
    resume: Annotated[bool, typer.Option(help="Finish an interrupted sweep file (--out).")] = False,
    quiet: Quiet = False,
) -> None:
    """Run the crisis at many parameter points, each with the same seed and replications."""
    from crisis_sim import design as design_mod
    from crisis_sim import params as params_mod
    from crisis_sim import scenario as sc_mod
    from crisis_sim import sweep as sweep_mod

    at_least_one("--workers", workers)
    at_least_one("--chunk-size", chunk_size)
    if resume:
        _refuse_given(
            {
                "SCENARIO": scenario,
                "--param": param or None,
                "--design": design,
                "--points": points,
                "--runs": runs,
                "--seed": seed,
            },
            "--resume continues the sweep with its own scenario, points, seed and size",
            overwrite,
        )
    runs = 1000 if runs is None else runs
    at_least_one("--runs", runs)
    seed = _check_seed(1 if seed is None else seed)
    if resume:
        if out is None:
            raise InputError("--resume needs --out FILE (the sweep to finish)")
        done, seed = sweep_mod.completed(out)  # checks the file is a sweep, reads no plans
        if done:
            _console().print(_already_complete(out, seed))
            return
        plans, seed = sweep_mod.reopen(out)
    else:
        sc = sc_mod.load(scenario)
        ranges = []
        for spec in param or []:
            name, given, bounds = spec.partition("=")
            p = params_mod.find(sc, name.strip())
            ranges.append(design_mod.parse_range(p, bounds.strip() if given else None))
        d = design_mod.sample(
            ranges,
            "grid" if design is None else design,
            (8 if design == "sobol" else 5) if points is None else points,  # sobol: a power of 2
            seed,
        )
        out = _new_output(out, f"{sc.name}_sweep.h5", sc.name, overwrite, "sweep file", False)
    # Workers (or the scheduler) first: if they cannot start, no sweep file is left behind.
    with _working(workers, scheduler, quiet) as backend:
        if not resume:
            plans = sweep_mod.start(out, sc, d, seed, runs, overwrite)
        _announce_compile(
            quiet, workers, scheduler, chunk_size if resume else min(runs, chunk_size)
        )
        report = sweep_mod.execute(
            out,
            plans,
            seed,
            backend,
            chunk_size=chunk_size,
            progress=_progress_factory(quiet, "sweeping"),
        )
    rate = report.computed / report.seconds if report.seconds > 0 else float("nan")
    typer.echo(
        f"wrote {out}: {_count(report.n_points, 'point')} × "
        f"{_count(report.n_runs, 'replication')} of "
        f"'{plans[0].scenario.name}' (seed {seed}); {report.computed:,} computed in "
        f"{report.seconds:.2f} s ({rate:,.0f} replications/s)"
    )


@app.command(
    cls=_Command,
    help="How much of an outcome's variation each swept parameter explains.\n\n"
    "Sobol indices for a sweep made with --design sobol, Morris elementary effects for one "
    "made with --design morris.",
)
def sensitivity(
    result: Annotated[
        Path, typer.Argument(help="Sweep file written by 'sweep --design sobol' (or morris).")
    ],
    output: Annotated[
        str,
        typer.Option(
            help="Outcome share (deterred, backed_down, ...) "
            "or mean (end_day, losses_aggressor, ...) "
            "to explain."
        ),
    ] = "deterred",
    plot: Annotated[
        Path | None,
        typer.Option("--plot", help="Also draw the indices to this file (.png, .pdf, .svg)."),
    ] = None,
) -> None:
    """How much of an outcome's variation each swept parameter explains."""
    from rich.table import Table

    from crisis_sim import sensitivity as sens
    from crisis_sim.outputs import label

    if plot is not None:
        from crisis_sim.plots import check_path

        check_path(plot, "--plot")  # before the analysis
    found, outputs = sens.analyze(result, output)
    caption = (
        f"{_count(len(outputs.y), 'point')} × {_count(int(outputs.n.max()), 'replication')}; "
        "± half-width of the 95% confidence interval"
    )
    if outputs.y.min() == outputs.y.max():
        caption += f"; the {label(output)} is the same at every point: no parameter moves it"
    con = _console()
    widest = 0.0
    if all(isinstance(i, sens.SobolIndex) for i in found):
        indices = [i for i in found if isinstance(i, sens.SobolIndex)]
        t = Table(title=f"Sobol indices: {label(output)}", caption=caption)
        for col in ("parameter", "first order S1", "total ST"):
            t.add_column(col, justify="left" if col == "parameter" else "right")
        for ix in sorted(indices, key=lambda i: -i.st):
            t.add_row(ix.name, f"{ix.s1:.3f} ± {ix.s1_conf:.3f}", f"{ix.st:.3f} ± {ix.st_conf:.3f}")
        widest = max(max(i.s1_conf, i.st_conf) for i in indices)
    else:
        effects = [e for e in found if isinstance(e, sens.MorrisEffect)]
        t = Table(title=f"Morris elementary effects: {label(output)}", caption=caption)
        for col in ("parameter", "mu* (mean |effect|)", "sigma (spread)"):
            t.add_column(col, justify="left" if col == "parameter" else "right")
        for e in sorted(effects, key=lambda e: -e.mu_star):
            t.add_row(e.name, f"{e.mu_star:.4f} ± {e.mu_star_conf:.4f}", f"{e.sigma:.4f}")
    con.print(t)
    if widest > 0.1:
        con.print("wide intervals: a sweep with a larger --points (base sample N) narrows them")
    if plot is not None:
        from crisis_sim import plots

        con.print(f"wrote {_lit(plots.save(plots.sensitivity(found, outputs), plot, '--plot'))}")


@app.command(cls=_Command)
def plot(
    result: Annotated[Path, typer.Argument(help="Result file ('run') or sweep file ('sweep').")],
    kind: Annotated[
        str | None,
        typer.Option(
            help="outcomes or timeline (result files); sweep or sensitivity (sweep files). "
            "Default: outcomes, or sweep for a sweep file."
        ),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Figure file (.png, .pdf, .svg).")
    ] = Path("fig.png"),
    output: Annotated[
        str | None,
        typer.Option(help="For sweep and sensitivity: the outcome to show \\[default: deterred]."),
    ] = None,
    x: Annotated[
        str | None, typer.Option("--x", help="For sweep: parameter on the x axis.")
    ] = None,
    by: Annotated[
        str | None, typer.Option("--by", help="For sweep: one line per value of this parameter.")
    ] = None,
) -> None:
    """Draw a figure of a result or sweep file in the domain's words."""
    from crisis_sim import plots
    from crisis_sim.files import resume_command

    found = plots.source(result)
    source = found.kind
    given_kind = kind is not None
    kind = kind or ("outcomes" if source == "run" else "sweep")
    wanted = {"outcomes": "run", "timeline": "run", "sweep": "sweep", "sensitivity": "sweep"}
    if kind not in wanted:
        raise InputError(f"--kind {kind}: unknown (choose from {', '.join(wanted)})")
    if wanted[kind] != source:
        raise InputError(f"--kind {kind}: needs a {wanted[kind]} file; {result} is a {source} file")
    takes = {"sweep": ("--output", "--x", "--by"), "sensitivity": ("--output",)}.get(kind, ())
    figure = f"--kind {kind}" if given_kind else f"a {source} file's figure (--kind {kind})"
    for option, value in (("--output", output), ("--x", x), ("--by", by)):
        if value is not None and option not in takes:
            raise InputError(f"{option} {value}: {figure} has no use for it (it would be ignored)")
    output = output or "deterred"
    if kind == "outcomes":
        fig = plots.outcomes(result)
    elif kind == "timeline":
        fig = plots.timeline(result)
    elif kind == "sweep":
        from crisis_sim.outputs import by_point

        fig = plots.sweep(by_point(result, output), x=x, by=by)
    else:
        from crisis_sim import sensitivity as sens

        indices, outputs = sens.analyze(result, output)
        fig = plots.sensitivity(indices, outputs)
    con = _console()
    if not found.complete:
        con.print(
            f"[yellow]warning: {_lit(result)} is incomplete: the figure shows only the "
            f"replications written so far (its title says so); finish the file with: "
            f"{_lit(resume_command(result, source))}[/yellow]"
        )
    con.print(f"wrote {_lit(plots.save(fig, out))}")


@app.command(cls=_Command)
def compare(
    scenario: Annotated[
        str | None,
        typer.Argument(
            help="Scenario file (.toml) or bundled name; default: the bundled 'five_arrangements'.",
        ),
    ] = None,
    runs: Annotated[
        int | None,
        typer.Option("--runs", "-n", help="Replications per arrangement \\[default: 10000]."),
    ] = None,
    arrangements: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated arrangements to play: none, collective_security, "
            "collective_defense, alliance, balance_of_power, global_government (or the "
            "table's words: 'no arrangement', 'alliances', ...); default: none and every one "
            "the scenario has."
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            help="Seed, shared by every arrangement (common random numbers) \\[default: 1]."
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Comparison file (HDF5, with an 'arrangement' dimension); "
            "default: NAME_compare.h5 (the scenario's name key).",
        ),
    ] = None,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Also draw the comparison (.png, .pdf, .svg).")
    ] = None,
    workers: Annotated[
        int, typer.Option("--workers", "-w", help="Local worker processes (1: this process).")
    ] = 1,
    scheduler: Scheduler = None,
    chunk_size: ChunkSize = 50_000,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing comparison file.")] = False,
    resume: Annotated[
        bool, typer.Option(help="Finish an interrupted comparison file (--out).")
    ] = False,
    quiet: Quiet = False,
) -> None:
    """Play the same crisis under each security arrangement, with the same random draws."""
    from crisis_sim import compare as cmp
    from crisis_sim import scenario as sc_mod
    from crisis_sim import tables

    at_least_one("--workers", workers)
    at_least_one("--chunk-size", chunk_size)
    if resume:
        _refuse_given(
            {"SCENARIO": scenario, "--runs": runs, "--seed": seed, "--arrangements": arrangements},
            "--resume continues the file with its own scenario, arrangements, seed and size",
            overwrite,
        )
        if out is None:
            raise InputError("--resume needs --out FILE (the comparison to finish)")
    runs = 10_000 if runs is None else runs
    at_least_one("--runs", runs)
    seed = _check_seed(1 if seed is None else seed)
    if plot is not None:
        from crisis_sim.plots import check_path

        check_path(plot, "--plot")  # before the comparison runs
        if out is not None and os.path.realpath(plot) == os.path.realpath(out):
            raise InputError(f"--plot {plot}: the same file as --out; give the figure its own name")
    if resume:
        assert out is not None
        opened = cmp.reopen(out)  # before any worker starts: a wrong file is one line
    else:
        sc = sc_mod.load(cmp.DEFAULT_SCENARIO if scenario is None else scenario)
        chosen = cmp.parse_arrangements(arrangements, sc)
        out = _new_output(
            out, f"{sc.name}_compare.h5", sc.name, overwrite, "comparison file", False
        )
    finished = resume and opened.complete  # nothing to compute: no workers, no writing
    if not finished:
        _announce_compile(
            quiet, workers, scheduler, chunk_size if resume else min(runs, chunk_size)
        )
    progress = _progress_factory(quiet, "comparing arrangements")
    with _working(1 if finished else workers, None if finished else scheduler, quiet) as backend:
        if resume:
            result = cmp.resume(
                out, opened, backend=backend, chunk_size=chunk_size, progress=progress
            )
        else:
            result = cmp.compare(
                sc,
                chosen,
                runs,
                seed,
                out,
                backend=backend,
                chunk_size=chunk_size,
                overwrite=overwrite,
                progress=progress,
            )
    con = _console()
    con.width = max(con.width, 100)  # six arrangements need ~100 columns: do not squeeze them
    con.print(tables.comparison(result))
    con.print(_already_complete(out) if finished else f"wrote {_lit(out)}")
    if plot is not None:
        cmp.plot(result, plot)
        con.print(f"wrote {_lit(plot)}")


@app.command(cls=_Command)
def assumptions(
    scenario: ScenarioArg = None,
    runs: Annotated[
        int, typer.Option("--runs", "-n", help="Replications per setting (22 settings).")
    ] = 5_000,
    seed: Annotated[
        int, typer.Option(help="Seed, shared by every setting (common random numbers).")
    ] = 1,
    workers: Annotated[
        int, typer.Option("--workers", "-w", help="Local worker processes (1: this process).")
    ] = 1,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot", help="Also draw each assumption's effect, with intervals (.png, .pdf, .svg)."
        ),
    ] = None,
    quiet: Quiet = False,
) -> None:
    """Which assumption, when it fails, breaks the arrangement (Organski, Morgenthau, Schuman)."""
    from crisis_sim import assumptions as exp
    from crisis_sim import runner, tables
    from crisis_sim import scenario as sc_mod

    at_least_one("--workers", workers)
    at_least_one("--runs", runs)
    fits_in_memory("--runs", runs, exp.BYTES_PER_RUN, "pairing every setting's replications")
    _check_seed(seed)
    if plot is not None:
        from crisis_sim.plots import check_path

        check_path(plot, "--plot")  # before the experiment runs
    sc = sc_mod.load(scenario)
    _announce_compile(quiet, workers, None, min(runs, runner.DEFAULT_CHUNK))
    factory = _progress_factory(quiet, "testing assumptions")
    settings = len(exp.variants(sc))
    _announce_native_build(quiet, workers, None)
    backend = runner.backend(workers, None)
    _report_native_fallback(quiet, workers, None)
    try:
        result = exp.run(
            sc,
            runs,
            seed,
            backend=backend,
            progress=factory(runs * settings, runs) if factory else None,
        )
    finally:
        backend.close()
    con = _console()
    con.width = max(con.width, 120)
    for t in tables.experiment(result):
        con.print(t)
    if plot is not None:
        from crisis_sim import plots

        plots.save(plots.assumptions(result), plot, "--plot")
        con.print(f"wrote {_lit(plot)}")


def _print_summary(s: Summary) -> None:
    from rich.table import Table

    from crisis_sim.files import resume_command

    con = _console()
    if not s.complete:
        con.print(
            f"[yellow]warning: {_lit(s.path)} is incomplete: {s.n_committed:,} of {s.n_runs:,} "
            "replications written; finish it with: "
            f"{_lit(resume_command(s.path))}[/yellow]"
        )
    t = Table(title=f"{s.scenario_name}: {_count(s.n_committed, 'replication')}, seed {s.seed}")
    t.add_column("outcome")
    t.add_column("share", justify="right")
    t.add_column("95% interval", justify="right")
    for sh in s.outcomes:
        t.add_row(in_words(sh.name), f"{sh.share:.1%}", f"{sh.low:.1%} – {sh.high:.1%}")
    con.print(t)
    wars = _count(s.n_wars, "war")
    if s.end_day_quantiles:
        q = s.end_day_quantiles
        con.print(
            f"crisis length (days, {wars}): median {q['50%']:.0f}, "
            f"5–95% {q['5%']:.0f}–{q['95%']:.0f}"
        )
    if s.response_day_quantiles:
        q = s.response_day_quantiles
        con.print(
            f"first third state at war on the target's side (day, in {s.n_helped:,} of "
            f"{wars}): median {q['50%']:.0f}, 5–95% {q['5%']:.0f}–{q['95%']:.0f}"
        )
    if s.n_wars:
        con.print(
            f"states at war (mean over {wars}): {s.belligerents_mean:.2f} "
            f"(of which via cascades {s.cascade_mean:.2f})"
        )
    else:
        con.print("no war: the aggressor was deterred in every replication")
    for inst in s.institutions:
        if not any(v.count for v in inst.last_vote):
            con.print(f"{inst.name}: never voted (no war)")
            continue
        adopted = ", ".join(
            f"{r.name} {_share(r)}" for r in reversed(inst.response) if r.count
        )  # the strongest response first
        words = in_words if inst.votes else _decided
        votes = ", ".join(f"{words(v.name)} {_share(v)}" for v in inst.last_vote if v.count)
        day = inst.decision_day
        when = f"; median day of the last decision {day:.0f} (wars with one)" if day == day else ""
        last = "last vote" if inst.votes else "last decision"
        con.print(
            f"{inst.name}, in {wars}: highest response adopted: {adopted}; {last}: {votes}{when}"
        )


def _decided(name: str) -> str:
    """A decision taken without a vote (self-help, a world authority), in words."""
    return {"passed": "resolved to act", "no_decision": "none resolved to act"}.get(
        name, in_words(name)
    )


def _share(s: Any) -> str:
    """A share in whole percent; '<1%' and '>99%' where rounding would hide that it is not 0, 1."""
    if 0 < s.share < 0.005:
        return "<1%"
    return ">99%" if 0.995 <= s.share < 1 else f"{s.share:.0%}"


def entry() -> None:
    """The ``crisis-sim`` command: :func:`main`, then an exit without the interpreter's teardown.

    A finished run leaves Numba's compiled code, HDF5 and the worker pool's remains for Python
    to take apart object by object: ~0.25 s (6% of 10^6 replications) that change nothing.
    By then every file is closed; other threads are joined, exit handlers run and output is
    flushed as at a normal exit, and only that teardown is skipped.
    """
    import atexit
    import threading

    try:
        main()
        code = 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    threading._shutdown()  # type: ignore[attr-defined]  # as the interpreter does at exit
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        if stream is None:  # closed before the start (``>&-``): nothing was written to it
            continue
        try:
            stream.flush()
        except BrokenPipeError:  # a reader that stopped early (``| head``): as Python ignores it
            pass
        except (OSError, ValueError) as exc:  # a full disk under ``> out.txt``: say so
            if stream is sys.stdout:
                print(f"crisis-sim: error: cannot write the output: {exc}", file=sys.stderr)
                code = code or 120  # Python's own status when flushing fails at exit
    os._exit(code)


def main() -> None:
    """Entry point: user errors become one line on stderr and exit status 2."""
    import signal

    from crisis_sim.allocator import keep_freed_memory
    from crisis_sim.errors import Interrupted, WorkerLost
    from crisis_sim.warmup import no_blas_threads

    no_blas_threads()  # before NumPy's import
    if hasattr(signal, "SIGXFSZ"):  # a file size limit becomes an error we report, not a crash
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    keep_freed_memory()  # this process is ours: chunks reuse the memory of the ones before
    try:
        try:
            code = app(standalone_mode=False, prog_name="crisis-sim")
        finally:
            _stop_bars()  # before any message: the bar would be drawn again under it
        if code == 130:  # typer turns Ctrl-C into a returned 130
            print("crisis-sim: interrupted", file=sys.stderr)
        if isinstance(code, int) and code:  # a command's own status (trace: no match)
            sys.exit(code)
    except InputError as exc:
        print(f"crisis-sim: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except Interrupted as exc:
        print(f"crisis-sim: {exc}", file=sys.stderr)
        sys.exit(130)
    except WorkerLost as exc:
        print(f"crisis-sim: error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("crisis-sim: interrupted", file=sys.stderr)
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(130)
    except Exception as exc:  # click's usage errors, a path or an output the system refuses
        code = getattr(exc, "exit_code", None)
        if hasattr(exc, "format_message") and isinstance(code, int):
            message = _usage_message(exc)
            if message:  # no arguments at all: the help was shown, nothing more to say
                print(f"crisis-sim: error: {message}", file=sys.stderr)
            sys.exit(code)
        if isinstance(exc, BrokenPipeError):  # a reader that stopped early (``| head``)
            sys.exit(0)
        if isinstance(exc, OSError) and exc.filename is None and exc.errno in _OUTPUT_ERRNOS:
            print(f"crisis-sim: error: cannot write the output: {exc.strerror}", file=sys.stderr)
            sys.exit(120)  # Python's own status when the output cannot be written at exit
        if isinstance(exc, OSError) and exc.errno in _PATH_ERRNOS:
            # A path the system refuses before any file is touched (a name too long for it).
            where = f"{exc.filename}: " if exc.filename is not None else ""
            print(f"crisis-sim: error: {where}{exc.strerror}", file=sys.stderr)
            sys.exit(2)
        raise


# Errors of a path itself, raised by the first look at it (pathlib's exists(), is_dir()).
_PATH_ERRNOS = {errno.ENAMETOOLONG, errno.ELOOP}
# Errors of writing to the command's own output (``> file`` on a full disk).
_OUTPUT_ERRNOS = {errno.ENOSPC, errno.EIO, errno.EFBIG, errno.EDQUOT, errno.EBADF}


# How alike a mistyped option and a real one must be to be suggested (difflib's ratio). Click
# suggests any option from 0.6 on: '--out' for '--foo'.
CLOSE_ENOUGH = 0.7


def _usage_message(exc: Any) -> str:
    """Click's usage error on one line; for an unknown option, only the options close to it."""
    name = getattr(exc, "option_name", None)
    if type(exc).__name__ == "NoSuchOption" and isinstance(name, str):
        import difflib

        known = sorted(set(getattr(exc, "possibilities", None) or ()))
        close = difflib.get_close_matches(name, known, n=3, cutoff=CLOSE_ENOUGH)
        where = getattr(getattr(exc, "ctx", None), "command_path", None) or "crisis-sim"
        hint = f"; did you mean {' or '.join(close)}?" if close else f"; see {where} --help"
        shown = name if name.isprintable() else repr(name)  # no terminal control from argv
        text = f"No such option: {shown}{hint}"
    else:
        text = _bad_value(exc) or str(exc.format_message())
    return " ".join(text.split())


def _bad_value(exc: Any) -> str | None:
    """``--runs abc: must be a whole number``: an option's value that did not parse.

    Click names the option but not what was typed; the value is found where it was typed (the
    last time, as click takes the last).
    """
    param, message = getattr(exc, "param", None), getattr(exc, "message", None)
    if type(exc).__name__ != "BadParameter" or param is None or not message:
        return None
    opts = [*getattr(param, "opts", ()), *getattr(param, "secondary_opts", ())]
    found = None
    args = sys.argv[1:]
    for i, arg in enumerate(args):
        for opt in opts:
            if arg == opt and i + 1 < len(args):
                found = (opt, args[i + 1])
            elif opt.startswith("--") and arg.startswith(opt + "="):
                found = (opt, arg[len(opt) + 1 :])
    if found is None:
        return None
    opt, value = found
    shown = value if value.isprintable() and value else repr(value)  # no terminal control
    return f"{opt} {shown}: {plain_words(message)}"
