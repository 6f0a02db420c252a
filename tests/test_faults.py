"""Faults lose nothing: kill -9, a full disk, a second writer, a dead Dask worker, Ctrl-C.

Every test here uses real processes and real signals: ``crisis-sim run`` in a subprocess,
``os.kill`` with SIGKILL or SIGINT, ``RLIMIT_FSIZE`` set in the child, a Dask worker process
killed while its chunk runs. Results are compared bit for bit with an uninterrupted run.
"""

from __future__ import annotations

import hashlib
import os
import random
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest
from inproc import main, one_error_line

from crisis_sim import experiment, scenario, store
from crisis_sim.runner import InProcess, chunks

SEED = 7
RUNS = 120
CHUNK = 20


def command(out: Path, *extra: str, runs: int = RUNS, chunk: int = CHUNK) -> list[str]:
    """The real ``crisis-sim run`` of the default scenario, as a subprocess argument list."""
    return [sys.executable, "-m", "crisis_sim", "run", "--runs", str(runs), "--seed", str(SEED),
            "--chunk-size", str(chunk), "--out", str(out), "--quiet", *extra]


def runs_group(path: Path) -> dict[str, np.ndarray]:
    """Every variable of group ``runs`` (dimension scales included), exactly as stored."""
    with h5py.File(path, "r", locking=False) as f:
        return {name: f["runs"][name][...] for name in f["runs"]}


def assert_bit_identical(path: Path, reference: dict[str, np.ndarray],
                         rows: np.ndarray | None = None) -> None:
    """Group ``runs`` of ``path`` equals the reference byte for byte (on ``rows`` if given).

    A file with fewer replications than the reference is compared with the reference's first
    replications: a replication's result does not depend on how many were asked for.
    """
    got = runs_group(path)
    assert sorted(got) == sorted(reference)
    n = len(got["run"])
    for name, ref in reference.items():
        a, b = got[name], ref if name in ("state", "institution") else ref[:n]
        if rows is not None and a.ndim and a.shape[0] == len(rows) and name not in ("run",):
            a, b = a[rows], b[rows]
        assert a.dtype == b.dtype and a.shape == b.shape, name
        if a.dtype.kind == "O":  # names (dimension scales) are strings, compared as such
            assert a.tolist() == b.tolist(), f"{path}: variable {name!r} differs"
        else:
            assert a.tobytes() == b.tobytes(), f"{path}: variable {name!r} differs"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def file_size_limit(limit: int) -> Callable[[], None]:
    """A ``preexec_fn`` that caps the size of any file the child writes (a full disk)."""
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, dict[str, np.ndarray]]:
    """An uninterrupted run by the real command: its file and its ``runs`` group."""
    out = tmp_path_factory.mktemp("reference") / "reference.h5"
    proc = subprocess.run(command(out), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(out, "r") as f:
        assert f.attrs["complete"] == 1
    return out, runs_group(out)


def partial_file(path: Path, n_chunks: int) -> None:
    """A result file of the reference run with only its first ``n_chunks`` chunks committed."""
    plan = experiment.start(path, scenario.load("default"), SEED, RUNS, overwrite=False)
    todo = chunks([(0, RUNS)], CHUNK)[:n_chunks]
    with store.ResultWriter(path) as writer:
        for start, arrays in InProcess().map(plan, SEED, todo):
            writer.commit(start, arrays)


def committed(path: Path) -> np.ndarray:
    with h5py.File(path, "r", locking=False) as f:
        return f["runs/committed"][...].astype(bool)


# --------------------------------------------------------------------------- overwrite


def test_existing_output_is_never_replaced_without_overwrite(capsys, tmp_path, reference):
    ref_path, ref = reference
    out = tmp_path / "mine.h5"
    out.write_bytes(ref_path.read_bytes())
    before = sha(out)
    for args in (("run", "--runs", "10", "--out", str(out), "-q"),
                 ("run", "--runs", "10", "--seed", "9", "--out", str(out), "-q")):
        line = one_error_line(main(capsys, *args))
        assert "--overwrite" in line and str(out) in line
    assert sha(out) == before
    assert main(capsys, "run", "--runs", "10", "--out", str(out), "--overwrite", "-q").code == 0
    with h5py.File(out, "r") as f:
        assert f.attrs["n_runs"] == 10 and f.attrs["complete"] == 1


# --------------------------------------------------------------------------- kill -9


def test_kill_9_at_random_moments_never_loses_or_fakes_results(capsys, tmp_path, reference):
    """Six real SIGKILLs at random moments of a run: readable, honest ``complete``, exact resume.

    The first kill comes at a random moment of the start-up (workers, file creation); the
    others once a random number of chunks, up to half of them, are committed, plus a random
    extra delay. One replication per chunk, each committed on its own, leaves the run working
    for a good while after the moment (~7 ms a chunk here), so those kills land mid-run.
    """
    _, ref = reference
    rng = random.Random(20261125)
    runs, chunk = RUNS, 1
    outcomes = []
    for i in range(6):
        out = tmp_path / f"killed{i}.h5"
        wait_for = 0 if i == 0 else rng.randrange(1, runs // 2) * chunk
        proc = subprocess.Popen(command(out, runs=runs, chunk=chunk), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while wait_for and proc.poll() is None and time.monotonic() < deadline:
            if out.exists() and committed(out).sum() >= wait_for:
                break
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 1.5 if i == 0 else 0.05))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        if not out.exists():  # killed before the file was moved into place: nothing claims anything
            outcomes.append("before the file existed")
            assert main(capsys, "run", "--runs", str(runs), "--seed", str(SEED), "--chunk-size",
                        str(CHUNK), "--out", str(out), "-q").code == 0
            assert_bit_identical(out, ref)
            continue
        done = committed(out)
        with h5py.File(out, "r", locking=False) as f:  # always readable, never falsely complete
            assert f.attrs["complete"] in (0, 1)
            assert not f.attrs["complete"] or done.all(), f"trial {i}: complete but rows missing"
        outcomes.append(f"{done.sum()} of {runs} committed")
        assert_bit_identical(out, ref, rows=done)  # what was committed is exactly right
        result = main(capsys, "run", "--resume", "--out", str(out), "-q")
        assert result.code == 0, result.err
        assert_bit_identical(out, ref)
    print("kill -9 trials:", outcomes)
    mid = [o for o in outcomes if o.endswith("committed") and not o.startswith(f"{runs} ")]
    assert len(mid) >= 3, f"too few kills landed mid-run: {outcomes}"
    assert not list(tmp_path.glob("*.grow"))


def test_kill_9_during_append_keeps_the_old_replications(capsys, tmp_path, reference):
    """Killed while growing the file or computing the new replications: nothing old is lost."""
    _, ref = reference
    half = RUNS // 2
    for i, wait_for in enumerate((0, half + 20)):  # during the copy; after two new chunks
        out = tmp_path / f"appended{i}.h5"
        assert main(capsys, "run", "--runs", str(half), "--seed", str(SEED), "--out", str(out),
                    "-q").code == 0
        proc = subprocess.Popen(
            [sys.executable, "-m", "crisis_sim", "run", "--append", str(RUNS - half),
             "--chunk-size", "10", "--out", str(out), "-q"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        moment = False
        while proc.poll() is None and time.monotonic() < deadline:
            if not wait_for and any(tmp_path.glob(f"{out.name}.*.grow*")):
                moment = True  # the bigger copy is being built (for ~40 ms here)
                break
            if wait_for and len(committed(out)) == RUNS and committed(out).sum() >= wait_for:
                moment = True
                break
            time.sleep(0.001 if not wait_for else 0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert moment, f"trial {i}: the append ended before the moment to kill it came"
        done = committed(out)
        assert done[:half].all(), "the replications from before the append must all be there"
        assert_bit_identical(out, ref, rows=done)
        more = (("--resume",) if len(done) == RUNS else ("--append", str(RUNS - half)))
        assert main(capsys, "run", *more, "--out", str(out), "-q").code == 0
        assert_bit_identical(out, ref)
    leftovers = [*tmp_path.glob("*.grow"), *tmp_path.glob("*.tmp")]
    assert not leftovers, "the next append replaces what a killed one left"


def test_kill_9_of_a_pooled_run_takes_its_workers_along(capsys, tmp_path, reference):
    """The local pool's worker processes end with a killed parent; the file resumes exactly."""
    import psutil

    _, ref = reference
    out = tmp_path / "pooled.h5"
    # One replication per chunk: ~100 chunks are still to come when the kill lands.
    proc = subprocess.Popen(command(out, "--workers", "2", chunk=1), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not (out.exists() and committed(out).sum() >= 20):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    workers = psutil.Process(proc.pid).children(recursive=True)
    assert workers, "expected worker processes"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    gone, alive = psutil.wait_procs(workers, timeout=15)
    for p in alive:  # clean up before failing
        p.kill()
    assert not alive, f"orphaned workers: {[p.pid for p in alive]}"
    done = committed(out)
    assert_bit_identical(out, ref, rows=done)
    assert main(capsys, "run", "--resume", "--out", str(out), "-q").code == 0
    assert_bit_identical(out, ref)


def test_a_killed_pool_worker_is_one_line_with_the_way_to_resume(capsys, tmp_path, reference):
    """A worker killed by the OOM killer, say: a clear message, committed chunks intact."""
    import psutil

    _, ref = reference
    out = tmp_path / "lost.h5"
    # One replication per chunk: ~100 chunks are still to come when the worker is killed.
    proc = subprocess.Popen(command(out, "--workers", "2", chunk=1), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out.exists() and committed(out).sum() >= 20):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    workers = [p for p in psutil.Process(proc.pid).children()  # forked or spawned
               if "resource_tracker" not in " ".join(p.cmdline())]
    assert workers, "expected pool worker processes"
    workers[0].kill()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    lines = err.splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "worker process died" in lines[0] and f"run --resume --out {out}" in lines[0]
    done = committed(out)
    assert_bit_identical(out, ref, rows=done)
    assert main(capsys, "run", "--resume", "--out", str(out), "-q").code == 0
    assert_bit_identical(out, ref)


HALF_A_RESULT = """
import os, struct, time
from crisis_sim import runner
from crisis_sim.errors import WorkerLost

def half_a_result(fd, seed, chunk, into=None):
    if chunk[0] == 0:  # the first chunk's worker dies while it sends its result
        os.write(fd, struct.pack("!i", 1000) + b"half")  # says 1,000 bytes follow; 4 do
        os._exit(1)
    time.sleep(0.5)
    return chunk[0], {}

runner._run_chunk = half_a_result  # what the pool's workers run for each chunk
pool = runner.LocalPool(2)
fd = pool.pool._result_queue._writer.fileno()  # inherited by the forked workers
try:
    list(pool.map(fd, 1, [(0, 1), (1, 2), (2, 3)]))  # the plan's place carries the pipe
except WorkerLost as exc:
    print("lost:", exc)
pool.close()
print("closed")
"""


@pytest.mark.skipif(sys.platform != "linux", reason="forked workers inherit the pipe (Linux)")
def test_a_worker_killed_while_sending_its_result_does_not_hang_the_run():
    """Half a message in the pool's result pipe: the run still stops, with a lost worker.

    Python 3.11's pool would wait for the rest of the message for ever; this hung one test of
    a killed worker about once in five runs on a loaded machine.
    """
    proc = subprocess.run([sys.executable, "-c", HALF_A_RESULT], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "lost: a worker process died (killed, or out of memory?)", "closed"]


# --------------------------------------------------------------------------- disk full


def test_disk_full_at_creation_is_one_line_and_leaves_nothing(tmp_path):
    out = tmp_path / "big.h5"
    proc = subprocess.run(command(out, runs=50_000), capture_output=True, text=True, timeout=120,
                          preexec_fn=file_size_limit(256 * 1024))
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and "Traceback" not in proc.stderr, proc.stderr
    # RLIMIT_FSIZE makes the reservation itself fail, for real (EFBIG).
    assert str(out) in proc.stderr and "file size limit reached (disk full)" in proc.stderr
    assert list(tmp_path.iterdir()) == [], "no half-made file may stay behind"


def test_disk_full_while_appending_leaves_the_original_intact(tmp_path, reference):
    ref_path, ref = reference
    out = tmp_path / "grow.h5"
    out.write_bytes(ref_path.read_bytes())
    before = sha(out)
    limit = out.stat().st_size + 64 * 1024  # room for the original, not for a copy with 10x more
    proc = subprocess.run(
        [sys.executable, "-m", "crisis_sim", "run", "--append", str(10 * RUNS), "--out", str(out),
         "-q"], capture_output=True, text=True, timeout=120, preexec_fn=file_size_limit(limit))
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "disk full" in proc.stderr and "unchanged" in proc.stderr
    assert sha(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grow.h5"]


def test_disk_full_while_writing_chunks_keeps_every_committed_chunk(capsys, tmp_path, reference):
    _, ref = reference
    out = tmp_path / "partial.h5"
    partial_file(out, 3)
    kept = committed(out)
    assert kept.sum() == 3 * CHUNK
    proc = subprocess.run(
        [sys.executable, "-m", "crisis_sim", "run", "--resume", "--out", str(out), "-q"],
        capture_output=True, text=True, timeout=120,
        preexec_fn=file_size_limit(out.stat().st_size // 2))
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "disk full" in proc.stderr and "committed before are intact" in proc.stderr
    assert (committed(out) == kept).all(), "a failed write must not mark anything committed"
    assert_bit_identical(out, ref, rows=kept)
    with h5py.File(out, "r") as f:
        assert f.attrs["complete"] == 0
    assert main(capsys, "run", "--resume", "--out", str(out), "-q").code == 0  # space again
    assert_bit_identical(out, ref)


# --------------------------------------------------------------------------- two writers


def test_second_writer_is_refused_at_once_and_the_first_is_unharmed(capsys, tmp_path):
    # The first writer must outlast three refused attempts: many small chunks keep it busy.
    long_runs = 1200
    out = tmp_path / "shared.h5"
    first = subprocess.Popen(command(out, runs=long_runs, chunk=2), stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (out.exists() and committed(out).any()):
            assert first.poll() is None, "the first writer ended too early"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        attempts = {
            "resume": ("run", "--resume", "--out", str(out), "-q"),
            "overwrite": ("run", "--runs", "10", "--out", str(out), "--overwrite", "-q"),
            "append": ("run", "--append", "10", "--out", str(out), "-q"),
        }
        for name, args in attempts.items():
            line = one_error_line(main(capsys, *args))
            assert "in use by another process" in line, f"{name}: {line}"
        # Refused while the first still writes: no attempt waited for the lock to be released.
        assert first.poll() is None, "inconclusive: the first writer ended before the attempts"
    finally:
        _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shared.h5"]
    alone = tmp_path / "alone" / "alone.h5"
    alone.parent.mkdir()
    plan = experiment.start(alone, scenario.load("default"), SEED, long_runs, overwrite=False)
    experiment.execute(alone, plan, SEED, InProcess(), chunk_size=1000)
    assert_bit_identical(out, runs_group(alone))


# --------------------------------------------------------------------------- Ctrl-C


def test_ctrl_c_in_a_terminal_gives_the_cursor_back(tmp_path):
    """With a progress bar on a terminal, Ctrl-C takes the bar down before the last line.

    The bar hides the cursor while it is drawn; left up, the shell's cursor stayed hidden and
    the bar was drawn again under the "interrupted" line.
    """
    from conftest import in_a_terminal

    out = tmp_path / "bar.h5"
    signalled = []

    def interrupt_after_some_chunks(proc: subprocess.Popen[bytes]) -> None:
        if not signalled and out.exists() and committed(out).sum() >= 20:
            proc.send_signal(signal.SIGINT)
            signalled.append(True)

    code, text = in_a_terminal(["run", "--runs", "3000", "--chunk-size", "1", "--out", str(out)],
                               interrupt_after_some_chunks)
    assert signalled and code == 130, text[-500:]
    hidden, shown = text.rfind("\x1b[?25l"), text.rfind("\x1b[?25h")
    assert hidden >= 0, "expected a progress bar"
    assert shown > hidden, "the cursor is left hidden"
    assert "crisis-sim: interrupted" in text, text[-500:]
    last = text[text.rfind("crisis-sim: interrupted"):]
    assert "replications/s" not in last, "the bar was drawn again after the last line"


def test_ctrl_c_once_every_chunk_is_in_finishes_the_file(tmp_path, reference):
    """A Ctrl-C that comes with the last chunk: nothing is left to stop, so the file is finished.

    The signal is a real SIGINT to this process, sent while the last chunk is handed over.
    """
    _, ref = reference

    class SignalWithTheLastChunk(InProcess):
        def map(self, plan, seed, todo):
            for i, result in enumerate(super().map(plan, seed, todo)):
                if i == len(todo) - 1:
                    os.kill(os.getpid(), signal.SIGINT)
                yield result

    out = tmp_path / "late.h5"
    plan = experiment.start(out, scenario.load("default"), SEED, RUNS, overwrite=False)
    report = experiment.execute(out, plan, SEED, SignalWithTheLastChunk(), chunk_size=CHUNK)
    assert report.complete and report.computed == RUNS
    with h5py.File(out, "r") as f:
        assert f.attrs["complete"] == 1
    assert_bit_identical(out, ref)



@pytest.mark.parametrize("how", ["one process", "local pool", "dask"])
def test_ctrl_c_stops_cleanly_says_how_to_resume_and_resume_is_exact(capsys, tmp_path, reference,
                                                                      how):
    """SIGINT to the run alone, or as a terminal sends it, to the whole process group."""
    _, ref = reference
    out = tmp_path / "interrupted.h5"
    extra = {"one process": (), "local pool": ("--workers", "2"),
             "dask": ("--scheduler", "local", "--workers", "2")}[how]
    # One replication per chunk: after the first commit, 119 more chunks (each committed on its
    # own) leave ample time for the signal to land while the run still works.
    proc = subprocess.Popen(command(out, *extra, chunk=1),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while not (out.exists() and committed(out).any()):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    if how == "one process":
        proc.send_signal(signal.SIGINT)
    else:
        os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    lines = err.splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert f"crisis-sim run --resume --out {out}" in lines[0]
    done = committed(out)
    assert 0 < done.sum() < RUNS
    assert f"{done.sum()} of {RUNS} replications are safe" in lines[0]
    with h5py.File(out, "r") as f:
        assert f.attrs["complete"] == 0
    assert_bit_identical(out, ref, rows=done)
    resume = lines[0].split("finish with: ")[1].split()
    assert main(capsys, *resume[1:], "-q").code == 0
    assert_bit_identical(out, ref)


# --------------------------------------------------------------------------- Dask worker lost


@pytest.fixture(scope="module")
def dask_cluster():
    """One LocalCluster for this module: two single-threaded worker processes on localhost."""
    pytest.importorskip("distributed")
    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None, silence_logs=40)
    yield cluster
    cluster.close()


def test_dask_worker_killed_mid_batch_still_gives_the_identical_result(dask_cluster, reference):
    from crisis_sim.compiled import compile_scenario
    from crisis_sim.runner import DaskBackend

    _, ref = reference
    plan = compile_scenario(scenario.load("default"))
    backend = DaskBackend(dask_cluster.scheduler_address, 2)
    client = backend.client
    pids = client.run(os.getpid)  # worker address -> process id
    killed: list[str] = []
    results: dict[int, dict[str, np.ndarray]] = {}
    todo = chunks([(0, RUNS)], 5)  # many small tasks: some are in flight whenever one returns
    try:
        for start, arrays in backend.map(plan, SEED, todo):
            results[start] = arrays
            if not killed:  # the first worker seen holding a task (on a busy machine: later)
                busy = [w for w, tasks in client.processing().items() if tasks and w in pids]
                if busy:
                    os.kill(pids[busy[0]], signal.SIGKILL)
                    killed.append(busy[0])
    finally:
        backend.client.close()
    assert killed, "no worker was ever seen busy: nothing in flight to lose"
    assert sorted(results) == [a for a, _ in todo]
    for name in store.FIELDS:
        got = np.concatenate([results[s][name] for s in sorted(results)])
        want = ref[name]
        assert got.astype(want.dtype).tobytes() == want.tobytes(), name


def test_a_ctrl_c_while_a_command_prepares_reaches_its_commit_loop():
    """The handler is in place from a command's start; the commit loop's own use shares it, so
    a Ctrl-C that came while workers started or the file was made is not lost."""
    from crisis_sim.interrupt import stop_on_ctrl_c

    before = signal.getsignal(signal.SIGINT)
    with stop_on_ctrl_c() as command_level:
        os.kill(os.getpid(), signal.SIGINT)  # handled at once, in this (main) thread
        with stop_on_ctrl_c() as commit_loop:
            assert commit_loop() and command_level()
    assert signal.getsignal(signal.SIGINT) is before
    with stop_on_ctrl_c() as fresh:
        assert not fresh()
