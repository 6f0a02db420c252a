"""A run from start to a complete file: create or reopen the store, dispatch, commit, report.

This is the glue between the runner (which computes chunks) and the store (which writes them);
it holds no model and no file layout of its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from crisis_sim import files, store
from crisis_sim import scenario as scenario_mod
from crisis_sim.compiled import Plan, compile_scenario
from crisis_sim.errors import Interrupted, StoreError, WorkerLost, at_least_one
from crisis_sim.interrupt import stop_on_ctrl_c
from crisis_sim.runner import DEFAULT_CHUNK, Backend, Result, chunks

Progress = Callable[[int], None]


@dataclass(frozen=True)
class RunReport:
    """What a run did."""

    path: Path
    n_runs: int
    computed: int
    seconds: float
    complete: bool


def start(
    path: Path,
    sc: scenario_mod.Scenario,
    seed: int,
    n_runs: int,
    overwrite: bool,
    plan: Plan | None = None,
) -> Plan:
    """Create a new result file for a scenario; returns its plan (``plan``, if given)."""
    at_least_one("--runs", n_runs)
    plan = plan or compile_scenario(sc)
    store.create(
        path,
        scenario_json=sc.to_json(),
        seed=seed,
        n_runs=n_runs,
        states=plan.codes,
        institutions=[i.name for i in plan.institutions],
        overwrite=overwrite,
    )
    return plan


def reopen(path: Path) -> tuple[Plan, int]:
    """Plan and seed stored in an existing result file (for resume, append, trace)."""
    info = store.read_info(path)
    sc = scenario_mod.from_json(str(info["scenario"]), origin=f"{path}:scenario")
    return compile_scenario(sc), int(info["seed"])


def begin(
    plan: Plan, seed: int, runner: Backend, n_runs: int, chunk_size: int = DEFAULT_CHUNK
) -> Iterator[Result]:
    """Start computing a new run before its file exists (pass the result to :func:`execute`).

    A pool of workers then computes its first chunks while this process creates the file.
    """
    at_least_one("--chunk-size", chunk_size)
    return runner.map(plan, seed, chunks([(0, n_runs)], chunk_size))


def execute(
    path: Path,
    plan: Plan,
    seed: int,
    runner: Backend,
    *,
    chunk_size: int = DEFAULT_CHUNK,
    progress: Callable[[int, int], Progress] | None = None,
    begun: Iterator[Result] | None = None,
) -> RunReport:
    """Compute every uncommitted replication of the file at ``path``, committing chunk by chunk.

    ``begun``: the results of :func:`begin`, for a file just created with the same chunk size.
    """
    at_least_one("--chunk-size", chunk_size)
    t0 = time.perf_counter()
    with store.ResultWriter(path) as writer:
        n_runs = int(writer.file.attrs["n_runs"])
        todo = chunks(writer.missing(), chunk_size)
        if begun is not None and todo != chunks([(0, n_runs)], chunk_size):
            raise StoreError(f"{path}: the file changed before this run could write it")
        total = sum(b - a for a, b in todo)
        advance = progress(total, n_runs) if progress else None
        done = 0
        try:
            # A pool starts on its first chunks when asked: a lost worker may show here already.
            runner.write_into(writer.placement())  # chunks submitted from now on
            results = begun if begun is not None else runner.map(plan, seed, todo)
            with stop_on_ctrl_c() as stop_requested:
                for start_rep, arrays in results:
                    writer.commit(start_rep, arrays)
                    done += len(arrays["outcome"])
                    if advance:
                        advance(len(arrays["outcome"]))
                    if stop_requested() and done < total:  # all in: the file is finished
                        raise KeyboardInterrupt
        except (WorkerLost, KeyboardInterrupt) as exc:
            safe = n_runs - sum(b - a for a, b in writer.missing())  # as the file says, exactly
            writer.close()
            where = (
                f"{safe:,} of {n_runs:,} replications are safe in {path}; "
                f"finish with: {files.resume_command(path)}"
            )
            if isinstance(exc, WorkerLost):
                raise WorkerLost(f"{exc}; {where}") from None
            raise Interrupted(f"interrupted: {where}") from None
        finally:
            runner.write_into(None)  # the backend may serve other files after this one
        complete = writer.finish()
    return RunReport(path, n_runs, done, time.perf_counter() - t0, complete)
