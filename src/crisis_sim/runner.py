"""Chunks of replications, dispatched in this process, a local process pool or Dask.

No HDF5 here: backends return arrays, the caller's one writer commits them (a local pool's
workers may first write a chunk's wide records into the file themselves, see ``write_into``).
Whatever the backend, a chunk's result depends only on (scenario, seed, replication numbers).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from crisis_sim import native
from crisis_sim.compiled import Plan
from crisis_sim.errors import WorkerLost
from crisis_sim.placement import Placement

Chunk = tuple[int, int]
Result = tuple[int, dict[str, np.ndarray]]
PointChunk = tuple[int, Chunk]  # a chunk of one point of a parameter sweep
PointResult = tuple[int, int, dict[str, np.ndarray]]  # point, first replication, arrays

DEFAULT_CHUNK = 50_000


def chunks(ranges: list[tuple[int, int]], size: int) -> list[Chunk]:
    """Cut replication ranges into chunks of at most ``size``."""
    out = []
    for a, b in ranges:
        out += [(s, min(b, s + size)) for s in range(a, b, size)]
    return out


class Backend(Protocol):
    """Runs chunks of a plan; yields results in any order, holding few in memory."""

    def map(self, plan: Plan, seed: int, todo: list[Chunk]) -> Iterator[Result]:
        """Yield ``(start, arrays)`` for each chunk (without the wide records if written)."""
        ...

    def map_points(
        self, plans: list[Plan], seed: int, todo: list[PointChunk]
    ) -> Iterator[PointResult]:
        """Yield ``(point, start, arrays)`` for each chunk of each sweep point."""
        ...

    def write_into(self, placement: Placement | None) -> None:
        """Let workers write the wide records of chunks submitted from now on into the file."""
        ...

    def close(self) -> None:
        """Release workers."""
        ...


def _threads_per_worker(workers: int) -> int:
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def forks_one_thread_workers(workers: int, scheduler: str | None) -> bool:
    """Whether a run's pool forks its workers, each with one Numba thread (Linux, local pool).

    Such workers run the serial kernels only, which :mod:`crisis_sim.native` can compile ahead
    of time.
    """
    import sys

    return (
        not scheduler
        and workers > 1
        and sys.platform == "linux"
        and _threads_per_worker(workers) == 1
    )


def threaded(workers: int, scheduler: str | None, cohort: int) -> bool:
    """Whether a run will launch the parallel kernels.

    It does when its processes have several Numba threads and its chunks hold ``cohort``
    replications, enough for a parallel launch.
    """
    from crisis_sim.codes import PARALLEL_COHORT

    if scheduler and scheduler != "local":
        return False  # a remote worker runs one task per core, each on one thread
    if _threads_per_worker(workers) <= 1 or cohort < PARALLEL_COHORT:
        return False  # decided without importing Numba
    import numba

    threads = min(_threads_per_worker(workers), int(getattr(numba.config, "NUMBA_NUM_THREADS", 1)))
    return threads > 1


def _init_worker(threads: int) -> None:
    """Give each worker its share of cores so Numba threads do not oversubscribe."""
    import numba

    numba.set_num_threads(min(threads, int(getattr(numba.config, "NUMBA_NUM_THREADS", threads))))


def _init_pool_worker(threads: int, parent: int) -> None:
    """Set up a local pool worker: its share of cores, and to end when its parent does.

    Ctrl-C at a terminal reaches every process of the group; the run's process decides when
    to stop (after the chunk in hand), so workers ignore it and finish their chunk.
    """
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(parent)
    from crisis_sim.allocator import keep_freed_memory

    keep_freed_memory()
    from crisis_sim.native import ahead_of_time

    if ahead_of_time():  # forked with the kernels compiled ahead of time: no Numba here
        return
    from crisis_sim.warmup import our_kernels_only

    our_kernels_only()  # a spawned worker's own; a forked one inherits its parent's
    _init_worker(threads)


def _die_with_parent(parent: int) -> None:
    """Ask Linux to kill this process when its parent dies, even by ``kill -9``.

    Without it, workers of a killed run would wait forever for chunks that never come.
    """
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return  # not Linux: the pool's own shutdown is all there is
    if os.getppid() != parent:  # the parent died before the request was in place
        os._exit(1)


def _preload() -> None:
    """Load every compiled kernel a chunk uses, by simulating a few replications.

    A worker calls this as soon as it starts, so that loading overlaps with the parent's own
    preparations (reading the scenario, creating the result file). With the kernels compiled
    ahead of time (inherited at the fork) there is nothing to load but the crisis's modules.
    """
    from crisis_sim.native import ahead_of_time

    if ahead_of_time():
        import crisis_sim.crisis  # noqa: F401  (SimPy and the crisis, before the first chunk)

        return
    from crisis_sim import scenario
    from crisis_sim.compiled import compile_scenario
    from crisis_sim.crisis import simulate_chunk

    simulate_chunk(compile_scenario(scenario.load("default")), 0, 0, 64)


def _run_chunk(plan: Plan, seed: int, chunk: Chunk, into: Placement | None = None) -> Result:
    """Simulate a chunk; with ``into``, write its wide records into that file here."""
    from crisis_sim.crisis import simulate_chunk

    arrays = simulate_chunk(plan, seed, *chunk)
    if into is not None:
        from crisis_sim.placement import write_wide

        arrays = write_wide(into, chunk[0], arrays)
    return chunk[0], arrays


def _run_point(plan: Plan, seed: int, point: int, chunk: Chunk, threads: int = 0) -> PointResult:
    """One chunk of one sweep point; ``threads`` > 0 sets Numba's threads in this task's thread.

    Numba's thread count is per calling thread, so on Dask it must be set inside the task:
    setting it from ``Client.run`` reaches the worker's main thread, not its task threads.
    """
    if threads:
        _init_worker(threads)
    return point, *_run_chunk(plan, seed, chunk)


@dataclass
class InProcess:
    """Chunks one after another in this process (the kernel still uses Numba threads)."""

    def map(self, plan: Plan, seed: int, todo: list[Chunk]) -> Iterator[Result]:
        """Run each chunk here."""
        for c in todo:
            yield _run_chunk(plan, seed, c)

    def map_points(
        self, plans: list[Plan], seed: int, todo: list[PointChunk]
    ) -> Iterator[PointResult]:
        """Run each chunk of each sweep point here."""
        for p, c in todo:
            yield _run_point(plans[p], seed, p, c)

    def write_into(self, placement: Placement | None) -> None:
        """Nothing to gain: this process commits the chunks it computes."""

    def close(self) -> None:
        """Nothing to release."""


class LocalPool:
    """Chunks in local worker processes, started here (not at import).

    With one Numba thread per worker on Linux, the workers are forked: they start with this
    process's imports and the kernels compiled ahead of time (:mod:`crisis_sim.native`; built
    here first if need be), or else only load the JIT kernels. A forked worker never starts a
    thread pool of its own (see :func:`draws.worth_threads`), so it is safe even when this
    process has used OpenMP. Otherwise they are spawned. Either way they get ready while the
    caller prepares the run.
    """

    def __init__(self, workers: int) -> None:
        import multiprocessing as mp

        self.workers = workers
        self.placement: Placement | None = None
        threads = _threads_per_worker(workers)
        forked = forks_one_thread_workers(workers, None)
        if not (forked and native.use()):
            from crisis_sim.warmup import our_kernels_only

            our_kernels_only()
        self.pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=mp.get_context("fork" if forked else "spawn"),
            initializer=_init_pool_worker,
            initargs=(threads, os.getpid()),
        )
        # Start the workers now, before the caller opens any file they could inherit, and let
        # them load the kernels while the caller prepares the run.
        for _ in range(workers):
            self.pool.submit(_preload)

    def map(self, plan: Plan, seed: int, todo: list[Chunk]) -> Iterator[Result]:
        """Keep at most two chunks per worker in flight, so memory stays flat.

        The first chunks are submitted at once: the workers start computing before the
        caller asks for the first result.
        """
        return _bounded(
            lambda c: self.pool.submit(_run_chunk, plan, seed, c, self.placement),
            todo,
            2 * self.workers,
            self._unstick,
        )

    def map_points(
        self, plans: list[Plan], seed: int, todo: list[PointChunk]
    ) -> Iterator[PointResult]:
        """Sweep points' chunks, each sent with its own plan, at most two per worker in flight."""
        return _bounded(
            lambda t: self.pool.submit(_run_point, plans[t[0]], seed, t[0], t[1]),
            todo,
            2 * self.workers,
            self._unstick,
        )

    def write_into(self, placement: Placement | None) -> None:
        """Workers write the wide records of chunks submitted from now on into the file.

        They share this machine's disk; sending those records back cost more CPU than
        computing a sixth of the chunk (see :mod:`crisis_sim.placement`).
        """
        self.placement = placement

    def _unstick(self) -> None:
        """Called when no chunk has come back for a while: make a dead worker's loss known.

        A worker killed while it sends a result leaves half a message in the pool's result
        pipe; the pool then waits for the rest for ever (on Python 3.11), and the run with it.
        Once a worker is seen dead, the others are stopped and this process's unused end of
        that pipe closed: the wait ends, the pool reports itself broken, and the run stops
        with the usual one line (committed chunks are safe).
        """
        procs = list((getattr(self.pool, "_processes", None) or {}).values())
        if not any(p.exitcode is not None for p in procs):
            return  # all alive: only slow
        for p in procs:
            if p.exitcode is None:
                p.kill()
            p.join(timeout=10)
        queue = getattr(self.pool, "_result_queue", None)
        if queue is not None:
            queue._writer.close()  # no writer left: the half-read result ends in EOF

    def close(self) -> None:
        """Stop the workers."""
        self.pool.shutdown(wait=True, cancel_futures=True)


# How long a pool may return nothing before the run checks that its workers are alive.
STALL_SECONDS = 2.0


def _bounded(
    submit: Callable[[Any], Any],
    todo: list[Any],
    limit: int,
    stalled: Callable[[], None] | None = None,
) -> Iterator[Any]:
    """Results as they come, with at most ``limit`` tasks in flight.

    The first ``limit`` tasks are submitted at once, when this is called: the workers start
    while the caller prepares to receive (creates the result file, say). ``stalled`` is called
    whenever nothing has come back for :data:`STALL_SECONDS`.
    """
    pending: set[Future[Any]] = set()
    queue = list(reversed(todo))
    try:
        while queue and len(pending) < limit:
            pending.add(submit(queue.pop()))
    except BrokenProcessPool:
        raise WorkerLost("a worker process died (killed, or out of memory?)") from None
    return _drain(submit, queue, pending, limit, stalled)


def _drain(
    submit: Callable[[Any], Any],
    queue: list[Any],
    pending: set[Future[Any]],
    limit: int,
    stalled: Callable[[], None] | None = None,
) -> Iterator[Any]:
    try:
        while queue or pending:
            while queue and len(pending) < limit:
                pending.add(submit(queue.pop()))
            timeout = STALL_SECONDS if stalled else None
            done, pending = wait(pending, timeout=timeout, return_when=FIRST_COMPLETED)
            if not done and stalled:
                stalled()
            for fut in done:
                yield fut.result()
    except BrokenProcessPool:  # raised by result() or, once the pool knows, by submit()
        raise WorkerLost("a worker process died (killed, or out of memory?)") from None
    finally:
        for fut in pending:
            fut.cancel()


def _check_reachable(address: str) -> None:
    """Fail at once, not after Dask's retry loop (or never), when no scheduler answers there."""
    import socket
    from urllib.parse import urlsplit

    from crisis_sim.errors import InputError

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme not in ("tcp", "tls"):
        return  # other transports: let distributed judge
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port = None, None
    if not host or port is None:
        raise InputError(
            f"--scheduler {address}: not a scheduler address (expected 'local' or tcp://HOST:PORT)"
        )
    try:
        probe = socket.create_connection((host, port), timeout=SILENCE_SECONDS)
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise InputError(
            f"--scheduler {address}: cannot reach the Dask scheduler ({reason})"
        ) from None
    with probe:
        if parts.scheme != "tcp":
            return  # TLS: the client speaks first
        # A Dask scheduler sends its handshake as soon as it accepts a connection; a web server
        # (the dashboard's port, say) waits for a request, and Dask's client would wait with it
        # for ever.
        try:
            spoke = probe.recv(1)
        except OSError:  # silent until the timeout, or reset
            spoke = b""
    if not spoke:
        raise InputError(
            f"--scheduler {address}: something listens there but does not answer as a Dask "
            f"scheduler within {SILENCE_SECONDS:.0f} s (a dashboard's web port? a scheduler "
            "usually listens on 8786)"
        )


# How long a scheduler address may stay silent before the run says it is not one.
SILENCE_SECONDS = 5.0


@contextmanager
def _sigint_ignored_by_children() -> Iterator[None]:
    """Processes started inside inherit an ignored SIGINT.

    A terminal's Ctrl-C reaches the whole process group; the run's process decides when to
    stop, so Dask's worker processes must not die printing tracebacks of their own.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def _quiet_workers() -> Iterator[None]:
    """Workers started inside log only Dask's critical messages; this process's environment stays.

    ``silence_logs`` reaches only the nanny's own logger: a worker whose heartbeat meets a
    scheduler already closing (after Ctrl-C, say) would print an ERROR with its traceback
    under the run's one-line message. What matters reaches the run as an exception anyway.
    Spawned workers read Dask's logging levels from the environment when they start. Dask's
    nanny writes its workers' settings (``OMP_NUM_THREADS=1``, ``PYTHONHASHSEED``, ...) into
    this process's environment before it spawns them, and would leave them for everything
    this process starts later; it writes them again before any later spawn of its own.
    """
    before = dict(os.environ)
    os.environ["DASK_LOGGING__DISTRIBUTED"] = "critical"
    try:
        yield
    finally:
        for key in set(os.environ) - set(before):
            del os.environ[key]
        for key, value in before.items():
            if os.environ.get(key) != value:
                os.environ[key] = value


class DaskBackend:
    """Chunks on a Dask cluster: a LocalCluster on localhost, or an existing scheduler."""

    def __init__(self, scheduler: str, workers: int) -> None:
        from crisis_sim.errors import InputError

        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise InputError(
                f"--scheduler {scheduler}: needs Dask, the package's 'dask' extra "
                "(pip install '.[dask]' in crisis-sim's source folder)"
            ) from None

        self.cluster = None
        self.threads = 1  # Numba threads per task: a remote worker runs one task per core
        if scheduler == "local":
            self.threads = _threads_per_worker(workers)
            import dask

            # Localhost only, no dashboard; of the scheduler's HTTP endpoints (info, metrics,
            # proxy, ...) only the health check, since dashboard_address=None still serves them.
            only_health = {"distributed.scheduler.http.routes": ["distributed.http.health"]}
            with dask.config.set(only_health), _sigint_ignored_by_children(), _quiet_workers():
                self.cluster = LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                    silence_logs=40,
                )
            try:
                self.client = Client(self.cluster)
            except BaseException:
                self.cluster.close()  # started here: not left running
                raise
        else:
            _check_reachable(scheduler)
            try:
                self.client = Client(scheduler, timeout="10s")
            except (OSError, TimeoutError, ValueError) as exc:
                raise InputError(
                    f"--scheduler {scheduler}: cannot reach the Dask scheduler ({exc})"
                ) from None
        try:
            n = max(1, len(self.client.scheduler_info().get("workers", {})) or workers)
        except BaseException:
            self.close()
            raise
        self.limit = 2 * n

    def map(self, plan: Plan, seed: int, todo: list[Chunk]) -> Iterator[Result]:
        """Scatter the plan once, then keep a bounded number of chunks in flight."""
        for _, start, arrays in self.map_points([plan], seed, [(0, c) for c in todo]):
            yield start, arrays

    def map_points(
        self, plans: list[Plan], seed: int, todo: list[PointChunk]
    ) -> Iterator[PointResult]:
        """Scatter each point's plan once, then keep a bounded number of chunks in flight."""
        from concurrent.futures import CancelledError

        from distributed import KilledWorker, as_completed

        plan_fs = self.client.scatter(plans, broadcast=True)
        queue = list(reversed(todo))
        flight = as_completed()
        task_of: dict[Any, PointChunk] = {}  # by future key

        def submit(task: PointChunk, plan: Any) -> None:
            fut = self.client.submit(
                _run_point, plan, seed, task[0], task[1], self.threads, pure=False, retries=3
            )
            task_of[fut.key] = task
            flight.add(fut)

        def submit_next() -> None:
            task = queue.pop()
            submit(task, plan_fs[task[0]])

        for _ in range(min(self.limit, len(queue))):
            submit_next()
        for fut in flight:
            task = task_of.pop(fut.key)
            try:
                result = fut.result()
            except KilledWorker as exc:
                raise WorkerLost(f"Dask workers kept dying on one chunk ({exc})") from None
            except CancelledError:
                # The scheduler dropped the task with a dead worker's copy of its plan ("already
                # forgotten"): run it again, the plan sent along (a chunk's result is the same).
                submit(task, plans[task[0]])
                continue
            yield result
            fut.release()
            if queue:
                submit_next()

    def write_into(self, placement: Placement | None) -> None:
        """Nothing: Dask's workers may be on other machines, so chunks come back whole."""

    def close(self) -> None:
        """Close the client, and the cluster if this backend started it."""
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def backend(workers: int, scheduler: str | None) -> Backend:
    """The backend for the CLI options ``--workers`` and ``--scheduler``.

    The CLI's process (and the workers it forks) run only crisis_sim's kernels
    (:func:`warmup.our_kernels_only`: no probes for linear algebra and CFFI, cached kernels
    loaded without Numba's full refresh, no timing of calls into LLVM): a caller that compiles
    its own Numba code calling CFFI functions in this process must not use it, and its compile
    statistics count no time in the LLVM lock. A pool of forked one-thread workers uses the
    kernels compiled ahead of time instead, where it can (:mod:`crisis_sim.native`).
    """
    from crisis_sim.warmup import our_kernels_only

    if scheduler:
        our_kernels_only()
        return DaskBackend(scheduler, workers)
    if workers <= 1:
        our_kernels_only()
        return InProcess()
    return LocalPool(workers)  # spares its workers Numba where it can
