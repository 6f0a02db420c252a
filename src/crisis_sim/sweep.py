"""A parameter sweep from design to a complete file: one scenario per point, same random numbers.

The four jobs of an experiment live in four places: sampling in :mod:`crisis_sim.design`,
dispatch in :mod:`crisis_sim.runner` (any backend), collection here (the only loop that sees
results), storage in :mod:`crisis_sim.store` (one writer). Every point reuses the seed and the
replication numbers ``0 .. R-1`` (common random numbers), so point ``k`` of a sweep is bit for
bit the single ``run`` of the scenario with point ``k``'s values, and differences between
points are not noise between seeds.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from crisis_sim import files, params, store
from crisis_sim import scenario as scenario_mod
from crisis_sim.compiled import Plan, compile_scenario
from crisis_sim.design import Design
from crisis_sim.errors import InputError, Interrupted, WorkerLost, at_least_one, fits_one_file
from crisis_sim.interrupt import stop_on_ctrl_c
from crisis_sim.runner import Backend, PointChunk, chunks

Progress = Callable[[int], None]
COMMIT_SECONDS = 1.0  # commit what has arrived at least this often ...
COMMIT_CHUNKS = 256  # ... or once this many chunks wait (flushes cost more than small chunks)


@dataclass(frozen=True)
class SweepReport:
    """What a sweep did."""

    path: Path
    n_points: int
    n_runs: int
    computed: int
    seconds: float
    complete: bool


def plans_for(base: scenario_mod.Scenario, names: list[str], values: np.ndarray) -> list[Plan]:
    """One compiled plan per point (parameters are looked up once, not at every point)."""
    concrete = params.sweepable(base)
    found = [params.find(base, n, "--param", concrete) for n in names]
    return [
        compile_scenario(
            params.apply_found(
                base, list(zip(found, row.tolist(), strict=True)), origin=f"sweep point {k}"
            )
        )
        for k, row in enumerate(values)
    ]


def start(
    path: Path, base: scenario_mod.Scenario, design: Design, seed: int, n_runs: int, overwrite: bool
) -> list[Plan]:
    """Create a sweep file for a design; returns the plan of every point."""
    at_least_one("--runs", n_runs)
    fits_one_file("--runs × --points", n_runs * len(design.values))
    plans = plans_for(base, design.names, design.values)
    ranges = [
        {
            "name": r.parameter.name,
            "low": r.lo,
            "high": r.hi,
            "kind": r.parameter.kind,
            "unit": r.parameter.unit,
            "meaning": r.parameter.meaning,
        }
        for r in design.ranges
    ]
    store.create_sweep(
        path,
        scenario_json=base.to_json(),
        seed=seed,
        n_runs=n_runs,
        states=plans[0].codes,
        institutions=[i.name for i in plans[0].institutions],
        parameters={n: design.values[:, j] for j, n in enumerate(design.names)},
        sample=design.sample,
        overwrite=overwrite,
        extra={"design": design.method, "design_size": design.size, "ranges": json.dumps(ranges)},
    )
    return plans


def completed(path: Path) -> tuple[bool, int]:
    """Whether an existing sweep file holds every replication, and its seed."""
    info, _ = store.read_sweep(path, names=["committed"])
    return bool(info.get("complete", 0)), int(info["seed"])


def reopen(path: Path) -> tuple[list[Plan], int]:
    """Plans and seed of an existing sweep file (for ``--resume``)."""
    info, data = store.read_sweep(path, names=["committed"])
    base = scenario_mod.from_json(str(info["scenario"]), origin=f"{path}:scenario")
    values = np.column_stack([data[n] for n in info["parameters"]])
    try:
        return plans_for(base, info["parameters"], values), int(info["seed"])
    except InputError as exc:  # a parameter this version no longer sweeps, say
        raise InputError(f"{path}: cannot resume this sweep: {exc}") from None


def _commit(
    writer: store.SweepWriter, pending: list[tuple[int, int, dict[str, np.ndarray]]]
) -> int:
    """Commit the waiting chunks in one go; returns how many replications that made safe."""
    writer.commit_many(pending)
    n = sum(len(a["outcome"]) for _, _, a in pending)
    pending.clear()
    return n


def execute(
    path: Path,
    plans: list[Plan],
    seed: int,
    runner: Backend,
    *,
    chunk_size: int,
    progress: Callable[[int, int], Progress] | None = None,
    writer: store.SweepWriter | None = None,
    command: str = "sweep",
) -> SweepReport:
    """Compute every uncommitted replication of every point and commit it chunk by chunk.

    Points are a sweep's, or with a :class:`store.CompareWriter` a comparison's arrangements;
    ``command`` is the one that resumes the file.
    """
    at_least_one("--chunk-size", chunk_size)
    t0 = time.perf_counter()
    with writer or store.SweepWriter(path) as writer:
        n_runs = int(writer.file.attrs["n_runs"])
        n_points = int(writer.runs["committed"].shape[0])  # points, or arrangements
        todo: list[PointChunk] = [
            (p, c) for p, a, b in writer.missing() for c in chunks([(a, b)], chunk_size)
        ]
        total = sum(b - a for _, (a, b) in todo)
        advance = progress(total, n_runs * n_points) if progress and total else None
        done = 0
        pending: list[tuple[int, int, dict[str, np.ndarray]]] = []
        last = time.perf_counter()
        try:
            with stop_on_ctrl_c() as stop_requested:
                for point, first, arrays in runner.map_points(plans, seed, todo):
                    pending.append((point, first, arrays))
                    if advance:
                        advance(len(arrays["outcome"]))
                    if (
                        time.perf_counter() - last > COMMIT_SECONDS
                        or len(pending) >= COMMIT_CHUNKS
                        or stop_requested()
                    ):
                        done += _commit(writer, pending)
                        last = time.perf_counter()
                    if stop_requested() and done < total:  # all in: the file is finished
                        raise KeyboardInterrupt
                done += _commit(writer, pending)
        except (KeyboardInterrupt, WorkerLost) as exc:
            done += _commit(writer, pending)  # whole chunks already computed: keep them
            writer.close()
            safe, whole = n_runs * n_points - total + done, n_runs * n_points
            where = (
                f"{safe:,} of {whole:,} replications are safe in {path}; "
                f"finish with: {files.resume_command(path, command)}"
            )
            if isinstance(exc, WorkerLost):  # a worker died: what came back before is kept
                raise WorkerLost(f"{exc}; {where}") from None
            raise Interrupted(f"interrupted: {where}") from None
        complete = writer.finish()
    return SweepReport(path, n_points, n_runs, done, time.perf_counter() - t0, complete)
