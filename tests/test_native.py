"""The kernels compiled ahead of time (native.py) give the JIT kernels' bits, and check their input.

The module is built once per version of the sources and machine (about 20 s), here by the first
test that needs it, and kept beside Numba's cache like the JIT kernels.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import cli

from crisis_sim import native, runner

HERE = Path(__file__).parent / "scenarios"

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="kernels compiled ahead of time: Linux only"
)


@pytest.fixture
def ahead_of_time():
    """The kernels compiled ahead of time, in use in this process for the test."""
    if shutil.which(os.environ.get("CC", "cc")) is None:
        pytest.skip("no C compiler: the workers keep to the JIT kernels")
    path = native.module_path()
    assert path is not None, "the cache folder is not writable"
    failed = path.with_suffix(".failed")
    if not native.use():
        why = failed.read_text() if failed.exists() else "the module does not load"
        if "compiler" in why or "Python.h" in why:  # this machine cannot build C extensions
            pytest.skip(f"cannot build the module here: {why.strip().splitlines()[-1]}")
        pytest.fail(why)
    yield native.kernels
    native.stop_using()


def _plans():
    from crisis_sim import scenario
    from crisis_sim.compare import variant
    from crisis_sim.compiled import compile_scenario

    for name in scenario.bundled_names():
        sc = scenario.load(name)
        yield name, compile_scenario(sc)
        if name == "five_arrangements":
            for arrangement in ("collective_defense", "alliance", "balance_of_power"):
                yield f"{name}/{arrangement}", compile_scenario(variant(sc, arrangement))
    yield "all_steps", compile_scenario(scenario.load(str(HERE / "all_steps.toml")))


def test_every_scenario_gives_the_same_bits_both_ways(ahead_of_time):
    """Every bundled scenario and every step: each record the same with either kernels."""
    from crisis_sim.crisis import simulate_chunk

    for name, plan in _plans():
        native.stop_using()
        jit = simulate_chunk(plan, 5, 1000, 3000)
        assert native.use()
        aot = simulate_chunk(plan, 5, 1000, 3000)
        assert sorted(jit) == sorted(aot)
        for record in jit:
            assert np.array_equal(jit[record], aot[record], equal_nan=True), (name, record)


def test_the_signatures_are_those_the_crisis_calls(default_plan):
    """Every type a JIT kernel was called with fits the signature compiled ahead of time."""
    from numba.core import sigutils, types

    from crisis_sim.crisis import simulate_chunk

    native.stop_using()
    for _name, plan in _plans():
        simulate_chunk(plan, 2, 0, 500)
    simulate_chunk(default_plan, 2, 0, 500)
    for name, (module, signature) in native.EXPORTS.items():
        dispatcher = getattr(__import__(f"crisis_sim.{module}", fromlist=[name]), name)
        args, _ = sigutils.normalize_signature(signature)
        assert dispatcher.signatures, f"{name} was never called"
        for seen in dispatcher.signatures:
            assert len(seen) == len(args), name
            for i, (got, want) in enumerate(zip(seen, args, strict=True)):
                if isinstance(want, types.Array):
                    assert isinstance(got, types.Array), (name, i, got)
                    assert (got.dtype, got.ndim) == (want.dtype, want.ndim), (name, i, got)
                    assert want.layout == "A" or got.layout == "C", (name, i, got)
                else:
                    assert not isinstance(got, types.Array), (name, i, got)


def test_a_wrong_array_is_refused_in_one_line(ahead_of_time):
    """The compiled module reads memory as the type it was built for; the wrapper checks first."""
    reps = np.arange(4, dtype=np.int64)
    deterred = np.zeros(10, dtype=bool)
    end_day = np.full(10, 100, dtype=np.int32)
    ending = np.zeros(10, dtype=np.int8)
    assert ahead_of_time.open_on(reps, 5, deterred, end_day, ending, False).all()
    with pytest.raises(TypeError, match=r"open_on: argument 3 is a 1-d contiguous int64 array"):
        ahead_of_time.open_on(reps, 5, deterred, end_day.astype(np.int64), ending, False)
    with pytest.raises(TypeError, match=r"open_on: argument 0 is a 1-d strided int64 array"):
        ahead_of_time.open_on(np.arange(8)[::2], 5, deterred, end_day, ending, False)
    with pytest.raises(TypeError, match=r"open_on: 5 arguments given, it takes 6"):
        ahead_of_time.open_on(reps, 5, deterred, end_day, ending)


def test_signatures_are_read_as_written():
    assert native.arguments("UniTuple(i8[::1], 3)(i8[:], i8)") == ["i8[:]", "i8"]
    assert native.arguments("void(i1[::1], i2[:,:,::1])") == ["i1[::1]", "i2[:,:,::1]"]
    assert native.arguments("Tuple((b1[:,::1], i8[::1]))(i8, b1[:])") == ["i8", "b1[:]"]


def test_a_pool_of_one_thread_workers_gives_the_same_file_either_way(tmp_path, ahead_of_time):
    """The real command, two forked workers: kernels compiled ahead of time, or the JIT ones."""
    if not runner.forks_one_thread_workers(2, None):
        pytest.skip("two workers here get several threads each: spawned, JIT kernels")
    import h5py

    files = {}
    for switch in ("1", "0"):
        out = tmp_path / f"run{switch}.h5"
        cli(
            "run", "--runs", "6000", "--workers", "2", "--chunk-size", "1000", "--quiet",
            "--out", str(out), env={native.SWITCH: switch}, check=True,
        )  # fmt: skip
        with h5py.File(out) as f:
            files[switch] = {k: f["runs"][k][()] for k in f["runs"]}
    for k, v in files["1"].items():
        assert np.array_equal(v, files["0"][k]), k


def test_a_failed_build_is_remembered_for_a_day_and_the_run_says_so(tmp_path):
    """No working C compiler: one failed build, noted beside the cache and tried again after a
    day; meanwhile the workers load Numba's kernels, and the command says so in one line."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path), "CC": "false"}
    code = (
        "from crisis_sim import native; import time; t = time.time(); "
        "print(native.use(), round(time.time() - t, 1))"
    )
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert first.stdout.split()[0] == "False", first.stderr
    failed = list(tmp_path.glob(f"{native.MODULE_PREFIX}*.failed"))
    assert len(failed) == 1 and "compiler" in failed[0].read_text()
    noted = failed[0].stat().st_mtime_ns
    again = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert again.stdout.split()[0] == "False", again.stderr
    assert failed[0].stat().st_mtime_ns == noted, "a fresh note is not built again"
    assert not list(tmp_path.glob(f"{native.MODULE_PREFIX}*.so")), "no module left behind"
    day_old = failed[0].stat().st_mtime - native.RETRY_AFTER_S - 60
    os.utime(failed[0], (day_old, day_old))
    subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert failed[0].stat().st_mtime > day_old + 3600, "a day-old note: built again"
    if not runner.forks_one_thread_workers(2, None):
        return  # two workers here get several threads each: nothing compiled ahead of time
    out = tmp_path / "run.h5"
    done = cli("run", "--runs", "300", "--workers", "2", "--out", str(out), env=env, check=True)
    assert "could not be compiled ahead of time" in done.stderr
    assert str(failed[0]) in done.stderr and out.exists()


def test_the_build_refuses_another_copy_of_the_package(tmp_path):
    """The build process compiles the caller's own copy, never another one on its path."""
    done = subprocess.run(
        [sys.executable, "-m", "crisis_sim.native", str(tmp_path / "x.so"), str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0 and "asked to build for the package in" in done.stderr
    assert not (tmp_path / "x.so").exists()


def test_the_name_follows_what_is_exported(monkeypatch):
    """A changed signature gets a module of its own, not the old one under the old name."""
    before = native.module_path()
    name, (module, signature) = next(iter(native.EXPORTS.items()))
    changed = {**native.EXPORTS, name: (module, signature.replace("i8", "i4", 1))}
    monkeypatch.setattr(native, "EXPORTS", changed)
    assert native.module_path() != before


@pytest.mark.parametrize("value", ["0", "false", "No", "OFF"])
def test_the_switch_turns_it_off(monkeypatch, value):
    monkeypatch.setenv(native.SWITCH, value)
    assert not native.wanted()
    monkeypatch.setenv(native.SWITCH, "1")
    assert native.wanted()
