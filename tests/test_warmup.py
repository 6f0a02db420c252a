"""The CLI says it is compiling when Numba's cache holds no current kernels."""

from __future__ import annotations

import os
import sys
import time

import pytest

from crisis_sim.warmup import cache_is_warm


def test_an_empty_cache_is_cold_and_fresh_indexes_are_warm(tmp_path, monkeypatch):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    assert not cache_is_warm()
    sub = tmp_path / "crisis_sim"  # Numba keeps one folder per source tree under the cache dir
    sub.mkdir()
    (sub / "kernel.advance_war-186.py311.nbi").write_bytes(b"")
    assert not cache_is_warm(), "the parallel twin is not the kernel every run calls"
    (sub / "kernel.advance_war_serial-250.py311.nbi").write_bytes(b"")
    assert not cache_is_warm(), "the cohort kernels are not cached yet"
    (sub / "cohort.capabilities-23.py311.nbi").write_bytes(b"")
    assert not cache_is_warm(), "the random-number kernels are not cached yet"
    (sub / "rng.uniforms_serial-190.py311.nbi").write_bytes(b"")
    assert cache_is_warm()
    (sub / "kernel.advance_war-186.py311.nbi").unlink()
    assert not cache_is_warm(threaded=True), "a threaded run would compile the parallel kernel"
    assert cache_is_warm(threaded=False), "a run on one thread per process compiles nothing"
    old = time.time() - 10 * 365 * 86400  # an index older than its source is stale
    os.utime(sub / "cohort.capabilities-23.py311.nbi", (old, old))
    assert not cache_is_warm(threaded=False)


def test_which_runs_launch_the_parallel_kernels():
    """Pool workers get one thread each on two cores; one process gets both, and uses them
    for cohorts of thousands (the default run's 20,000 replications in one chunk)."""
    import os as _os

    import numba
    import pytest

    from crisis_sim import runner

    if min(_os.cpu_count() or 1, numba.config.NUMBA_NUM_THREADS) < 2:
        pytest.skip("one Numba thread: no run launches the parallel kernels")
    assert runner.threaded(1, None, 20_000)
    assert not runner.threaded(1, None, 1_000)
    assert not runner.threaded(_os.cpu_count() or 1, None, 20_000)
    assert not runner.threaded(1, "tcp://scheduler:8786", 20_000)


def _index(path, stamp) -> None:
    """An index in Numba's layout: its version, then (source stamp, overloads)."""
    import pickle

    path.write_bytes(pickle.dumps("0.68.1") + pickle.dumps((stamp, {})))


def test_an_index_counts_when_made_from_the_source_as_it_is(tmp_path, monkeypatch):
    """Numba stamps indexes with the source's hash: a source touched but unchanged stays warm."""
    import hashlib
    from pathlib import Path

    import crisis_sim

    here = Path(crisis_sim.__file__).parent
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    sub = tmp_path / "crisis_sim"
    sub.mkdir()
    old = time.time() - 10 * 365 * 86400
    for module, name in (
        ("kernel", "advance_war_serial"),
        ("cohort", "capabilities"),
        ("rng", "uniforms_serial"),
    ):
        index = sub / f"{module}.{name}-7.py311.nbi"
        _index(index, hashlib.sha256((here / f"{module}.py").read_bytes()).digest())
        os.utime(index, (old, old))  # older than the source, yet made from the same text
    assert cache_is_warm()
    _index(sub / "cohort.capabilities-7.py311.nbi", hashlib.sha256(b"other text").digest())
    assert not cache_is_warm(), "an index made from other text is stale, however new"


def test_a_changed_compiled_source_clears_the_package_cache(tmp_path, monkeypatch):
    """Numba judges a cached kernel by its own file only; a change to a module it inlines
    (the random numbers into the combat kernel) must not leave stale machine code in use."""
    from types import SimpleNamespace

    from crisis_sim import warmup

    kernel = SimpleNamespace(_cache=SimpleNamespace(_cache_path=str(tmp_path)))
    ours = [tmp_path / "kernel.advance_war-1.py311.nbi", tmp_path / "cohort.vote-2.py311.1.nbc"]
    theirs = tmp_path / "other.thing-3.py311.nbi"
    for f in (*ours, theirs):
        f.write_bytes(b"x")
    warmup.forget_stale_kernels(kernel)  # no stamp yet: the cache's origin is unknown
    assert not any(f.exists() for f in ours) and theirs.exists()
    stamp = (tmp_path / warmup._STAMP).read_text()
    for f in ours:
        f.write_bytes(b"x")
    warmup.forget_stale_kernels(kernel)  # same sources: the cache stays
    assert all(f.exists() for f in ours)
    (tmp_path / warmup._STAMP).write_text("0" * len(stamp))  # as if rng.py had changed
    warmup.forget_stale_kernels(kernel)
    assert not any(f.exists() for f in ours) and theirs.exists()
    assert (tmp_path / warmup._STAMP).read_text() == stamp


def test_every_compiled_source_is_stamped():
    """A module of cached kernels or of code compiled into them (intrinsics, inlined functions)
    left out of the stamp would let a change to it run with stale machine code."""
    import ast
    from pathlib import Path

    from crisis_sim import warmup

    def compiled(tree: ast.Module) -> set[str]:
        """Whether a module compiles code of its own (decorators), and whose functions it
        compiles by name (``njit(...)(rules.decide_row)``)."""
        found = set()
        for node in ast.walk(tree):
            for d in getattr(node, "decorator_list", []):
                name = d.func if isinstance(d, ast.Call) else d
                if isinstance(name, ast.Name) and name.id in {"njit", "jit", "intrinsic"}:
                    found.add("")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Call):
                inner = node.func.func
                if isinstance(inner, ast.Name) and inner.id in {"njit", "jit"} and node.args:
                    arg = node.args[0]
                    if isinstance(arg, ast.Attribute) and isinstance(arg.value, ast.Name):
                        found.add(arg.value.id)
        return found

    package = Path(warmup.__file__).parent
    modules = set()
    for f in package.glob("*.py"):
        for m in compiled(ast.parse(f.read_text())):
            modules.add(m or f.stem)
    assert modules == set(warmup.KERNEL_SOURCES)
    # What they import from the package is compiled in too, or frozen in as constants
    # (``warmup`` only clears the cache, from Python).
    imported = set()
    for m in modules:
        for node in ast.walk(ast.parse((package / f"{m}.py").read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "crisis_sim":
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("crisis_sim."):
                imported.add(node.module.split(".")[1])
    assert imported - {"warmup"} <= modules | set(warmup.FROZEN_SOURCES)
    assert set(warmup.FROZEN_SOURCES) <= imported
    import hashlib

    stamped = [*warmup.KERNEL_SOURCES, *sorted(imported - modules - {"warmup"})]
    whole = b"".join((package / f"{m}.py").read_bytes() for m in stamped)
    assert warmup.sources_digest() == hashlib.sha256(whole).hexdigest()


@pytest.mark.skipif(sys.platform != "linux", reason="counts threads in /proc")
def test_the_cli_starts_no_blas_threads_before_numpy_is_imported():
    """OpenBLAS's threads spin at start; the CLI's process asks for none, before NumPy loads."""
    import subprocess

    probe = (
        "import os, sys\n"
        "import crisis_sim.cli\n"
        "assert 'numpy' not in sys.modules\n"
        "from crisis_sim.warmup import no_blas_threads\n"
        "if sys.argv[1] == 'ask': no_blas_threads()\n"
        "import numpy\n"
        "print(len(os.listdir('/proc/self/task')))\n"
    )
    # OpenBLAS also obeys OMP_NUM_THREADS, which the suite's own Dask clusters leave here.
    blas = {"OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS"}
    env = {k: v for k, v in os.environ.items() if k not in blas}

    def threads(mode: str) -> int:
        out = subprocess.run([sys.executable, "-c", probe, mode], env=env, capture_output=True,
                             text=True, check=True)  # fmt: skip
        return int(out.stdout)

    assert threads("ask") == 1
    if (os.cpu_count() or 1) > 1:
        assert threads("leave") > 1  # NumPy's OpenBLAS would have started some


def test_a_crisis_sim_process_skips_numbas_probes_and_still_computes(tmp_path):
    """The CLI's processes skip Numba's probes for BLAS and CFFI; kernels run; cffi importable.

    A stand-in ``cffi`` package comes first on the path, so the check holds whether or not the
    real one is installed: Numba would import it and find CFFI supported, were it not skipped.
    """
    import subprocess
    import sys

    stub = tmp_path / "cffi"
    stub.mkdir()
    (stub / "__init__.py").write_text("STAND_IN = True\n\n\nclass FFI:\n    pass\n")
    code = """
import sys
from crisis_sim.warmup import skip_unused_probes
skip_unused_probes()
from numba.core.typing import cffi_utils
from crisis_sim import scenario
from crisis_sim.compiled import compile_scenario
from crisis_sim.crisis import simulate_chunk
out = simulate_chunk(compile_scenario(scenario.load("default")), 1, 0, 200)
print(len(out["outcome"]), cffi_utils.SUPPORTED, "cffi" in sys.modules,
      "scipy.linalg" in sys.modules)
import cffi
print(cffi.STAND_IN)
"""
    path = os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": path},
                          timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["200 False False False", "True"], proc.stdout


def test_untimed_llvm_calls_leaves_other_layouts_alone(monkeypatch):
    """Only Numba's own pair of functions goes; an llvmlite laid out otherwise is left as it is."""
    import threading
    import types

    from llvmlite.binding import ffi

    from crisis_sim.warmup import untimed_llvm_calls

    def numbas() -> None: ...

    numbas.__module__ = "numba.core.base"
    others = (print, print)
    lock = types.SimpleNamespace(_lock=threading.RLock(), _cblist=[others, (numbas, numbas), "x"])
    monkeypatch.setattr(ffi, "lib", types.SimpleNamespace(_lock=lock))
    untimed_llvm_calls()
    assert lock._cblist == [others, "x"]
    monkeypatch.setattr(ffi, "lib", types.SimpleNamespace())  # no lock at all
    untimed_llvm_calls()  # nothing to do, no error


LEAN_RUN = """
import sys, hashlib
import numpy as np
from numba.core import event
from crisis_sim import warmup
warmup.skip_unused_probes()
if sys.argv[1] == "lean":
    warmup.our_kernels_only()
timed = event.RecordingListener()  # what Numba's compile timers would hear
event.register("numba:llvm_lock", timed)
from crisis_sim import scenario
from crisis_sim.compiled import compile_scenario
from crisis_sim.crisis import simulate_chunk
out = simulate_chunk(compile_scenario(scenario.load("default")), 7, 0, 3000)
digest = hashlib.sha256(b"".join(np.ascontiguousarray(out[k]).tobytes() for k in sorted(out)))
refreshed = "numba.typed.typeddict" in sys.modules  # one of the modules a refresh imports
from numba import njit
@njit
def fresh(x):  # not in any cache: compiled here, after the lean loads
    return np.cumsum(x)[-1]
loads_timed = len(timed.buffer)
print(digest.hexdigest(), refreshed, fresh(np.arange(5.0)), loads_timed)
"""


def test_cached_kernels_load_without_numbas_refresh_and_give_the_same_bits():
    """Lean loading skips the import of every implementation Numba has, and the timing of each
    call into LLVM; the results are equal.

    The kernels are first cached by this process (the same signatures the subprocesses use),
    so both subprocesses load them: one as Numba does, one lean. Each then compiles a new
    function, which the lean one can only do if compiling still readies Numba fully.
    """
    import subprocess
    import sys

    from crisis_sim import scenario
    from crisis_sim.compiled import compile_scenario
    from crisis_sim.crisis import simulate_chunk

    # The very chunk the subprocesses run, so that every kernel it calls is in the cache.
    simulate_chunk(compile_scenario(scenario.load("default")), 7, 0, 3000)
    lines = {}
    for how in ("lean", "numba"):
        proc = subprocess.run([sys.executable, "-c", LEAN_RUN, how], capture_output=True,
                              text=True, timeout=300)  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        lines[how] = proc.stdout.split()
    assert lines["lean"][0] == lines["numba"][0], "lean loading changed the results"
    assert lines["numba"][1] == "True", "Numba no longer imports this module when it loads"
    assert lines["lean"][1] == "False", "the lean load still refreshed Numba's context"
    assert lines["lean"][2] == lines["numba"][2] == "10.0"
    assert int(lines["numba"][3]) > 0, "Numba no longer times its calls into LLVM"
    assert lines["lean"][3] == "0", "loading still timed every call into LLVM"
