"""Parameter sweeps: designs, the point dimension, common random numbers, resume."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import xarray as xr
from inproc import main, one_error_line

from crisis_sim import design, experiment, params, runner, scenario, store, sweep
from crisis_sim.compiled import compile_scenario

RUNS = 120
SWEPT = ["decision.misperception=0.1:0.8", "theory.great_power_unity"]


@pytest.fixture(scope="module")
def base():
    return scenario.load("default")


@pytest.fixture(scope="module")
def grid_sweep(tmp_path_factory):
    """A 2 x 2 grid sweep written by the real CLI on the local pool with 2 workers."""
    out = tmp_path_factory.mktemp("sweep") / "grid.h5"
    from conftest import cli

    cli("sweep", "--param", SWEPT[0], "--param", SWEPT[1], "--design", "grid", "--points", "2",
        "--runs", str(RUNS), "--seed", "5", "--chunk-size", "50", "--workers", "2",
        "--out", str(out), "-q", check=True)
    return out


def test_sweep_file_has_a_point_dimension_with_parameter_coordinates(grid_sweep):
    with xr.open_dataset(grid_sweep, group="runs", engine="h5netcdf") as ds:
        assert ds["outcome"].dims == ("point", "run")
        assert ds["side"].dims == ("point", "run", "state")
        assert ds.sizes["point"] == 4 and ds.sizes["run"] == RUNS
        assert "decision.misperception" in ds.coords and "theory.great_power_unity" in ds.coords
        assert ds["decision.misperception"].values.tolist() == [0.1, 0.1, 0.8, 0.8]
        assert ds["theory.great_power_unity"].values.tolist() == [0.0, 1.0, 0.0, 1.0]
        assert int(ds["committed"].sum()) == 4 * RUNS
    with h5py.File(grid_sweep, "r") as f:
        assert f.attrs["complete"] == 1 and f.attrs["design"] == "grid" and f.attrs["seed"] == 5


def test_each_point_equals_a_single_run_at_its_values(grid_sweep, base, tmp_path):
    info, data = store.read_sweep(grid_sweep)
    names = info["parameters"]
    for k in range(info["n_points"]):
        sc = params.apply(base, {n: float(data[n][k]) for n in names})
        single = tmp_path / f"point{k}.h5"
        plan = experiment.start(single, sc, 5, RUNS, overwrite=False)
        experiment.execute(single, plan, 5, runner.InProcess(), chunk_size=1000)
        ref = store.read_runs(single)
        for field in store.FIELDS:
            np.testing.assert_array_equal(data[field][k], ref[field], err_msg=f"point {k} {field}")
    # and the points do differ: the values were applied
    assert not np.array_equal(data["p_win_estimate"][0], data["p_win_estimate"][2])


def test_an_interrupted_sweep_resumes_to_the_same_file(grid_sweep, base, tmp_path, capsys):
    info, _ = store.read_sweep(grid_sweep)
    values = np.column_stack([store.read_sweep(grid_sweep)[1][n] for n in info["parameters"]])
    ranges = [design.parse_range(params.find(base, s.split("=")[0]), s.partition("=")[2] or None)
              for s in SWEPT]
    d = design.sample(ranges, "grid", 2, 5)
    np.testing.assert_array_equal(d.values, values)
    part = tmp_path / "part.h5"
    plans = sweep.start(part, base, d, 5, RUNS, overwrite=False)
    with store.SweepWriter(part) as w:  # commit point 0 and the first 50 of point 3, as if killed
        w.commit(0, 0, runner._run_chunk(plans[0], 5, (0, RUNS))[1])
        w.commit(3, 0, runner._run_chunk(plans[3], 5, (0, 50))[1])
        assert w.missing() == [(1, 0, RUNS), (2, 0, RUNS), (3, 50, RUNS)]
    assert store.read_sweep(part)[0]["complete"] == 0
    res = main(capsys, "sweep", "--resume", "--out", str(part), "-q")
    assert res.code == 0, res.err
    a, b = store.read_sweep(part)[1], store.read_sweep(grid_sweep)[1]
    for field in [*store.FIELDS, "committed"]:
        np.testing.assert_array_equal(a[field], b[field], err_msg=field)
    assert store.read_sweep(part)[0]["complete"] == 1


@pytest.mark.parametrize(
    "given",
    [("--points", "3"), ("--seed", "7"), ("--runs", "10"), ("--design", "lhs"),
     ("--param", "theory.great_power_unity"), ("default",), ("--overwrite",)],
)
def test_resume_refuses_what_it_would_ignore_and_leaves_the_file(grid_sweep, given, capsys):
    """A resumed sweep keeps its own design, seed and size: an option to change them is refused."""
    before = grid_sweep.read_bytes()
    res = main(capsys, "sweep", "--resume", "--out", str(grid_sweep), *given, "-q")
    line = one_error_line(res)
    shown = "SCENARIO" if given == ("default",) else given[0]
    assert shown in line and ("leave these out" in line or "leave out --overwrite" in line), line
    assert grid_sweep.read_bytes() == before


def test_resuming_a_complete_file_says_so_and_leaves_it(grid_sweep, capsys, tmp_path):
    """Nothing to compute: the file is not opened for writing, its bytes and time unchanged."""
    import os

    single = tmp_path / "r.h5"
    assert main(capsys, "run", "--runs", "30", "--out", str(single), "-q").code == 0
    for command, path in (("sweep", grid_sweep), ("run", single)):
        before, stamp = path.read_bytes(), os.stat(path).st_mtime_ns
        res = main(capsys, command, "--resume", "--out", str(path), "-q")
        assert res.code == 0, res.err
        assert f"{path} is already complete; nothing to compute" in " ".join(res.out.split())
        assert path.read_bytes() == before and os.stat(path).st_mtime_ns == stamp


def test_a_sweep_over_a_number_no_longer_swept_cannot_be_resumed_and_says_why(
    base, tmp_path, capsys
):
    """A file from a version that swept a number this one does not (it changed nothing) is
    refused in one line naming the file and the parameter, and left as it was."""
    ranges = [design.parse_range(params.find(base, "decision.misperception"), "0.1:0.8")]
    part = tmp_path / "old.h5"
    sweep.start(part, base, design.sample(ranges, "grid", 2, 5), 5, RUNS, overwrite=False)
    gone = "states.RED.capability.factor"
    with h5py.File(part, "r+") as f:  # as that version wrote it: the parameter under its name
        g = f["runs"]
        g["parameter"][0] = gone
        g.move("decision.misperception", gone)
    before = part.read_bytes()
    line = one_error_line(main(capsys, "sweep", "--resume", "--out", str(part), "-q"))
    assert line.startswith(f"crisis-sim: error: {part}: cannot resume this sweep: "), line
    assert f"{gone}: not a parameter" in line, line
    assert part.read_bytes() == before


def test_design_sizes_follow_salib_and_switches_are_rounded(base):
    mis = design.parse_range(params.find(base, "decision.misperception"), "0.1:0.8")
    gpu = design.parse_range(params.find(base, "theory.great_power_unity"), None)
    hz = design.parse_range(params.find(base, "horizon_days"), "100:200")
    assert design.sample([mis, gpu, hz], "sobol", 8, 1).values.shape == (8 * (3 + 2), 3)
    assert design.sample([mis, gpu, hz], "morris", 4, 1).values.shape == (4 * (3 + 1), 3)
    # A grid of switches alone takes 0 and 1 whatever --points says, so one point is enough.
    assert design.sample([gpu], "grid", 1, 1).values.tolist() == [[0.0], [1.0]]
    lhs = design.sample([mis, gpu, hz], "lhs", 10, 1)
    assert lhs.values.shape == (10, 3)
    assert set(lhs.values[:, 1]) <= {0.0, 1.0}
    assert np.all(lhs.values[:, 2] == np.round(lhs.values[:, 2]))
    assert not np.array_equal(lhs.sample[:, 1], lhs.values[:, 1])  # raw sample kept for SALib
    assert design.sample([mis, gpu], "grid", 3, 1).values.shape == (3 * 2, 2)


def test_sobol_design_needs_a_power_of_two(capsys, tmp_path):
    res = main(capsys, "sweep", "--param", "decision.misperception", "--design", "sobol",
               "--points", "6", "--out", str(tmp_path / "s.h5"), "-q")
    assert res.code == 2 and "--points 6: a sobol design needs a power of 2" in res.err


def test_summarize_refuses_a_sweep_file_with_a_pointer(capsys, grid_sweep):
    res = main(capsys, "summarize", str(grid_sweep))
    assert res.code == 2 and "a parameter sweep, not a single run" in res.err
    res = main(capsys, "run", "--resume", "--out", str(grid_sweep), "-q")
    assert res.code == 2 and "'sweep --resume' finishes an interrupted one" in res.err


def test_plans_compile_from_the_stored_base_scenario(grid_sweep):
    plans, seed = sweep.reopen(grid_sweep)
    assert seed == 5 and len(plans) == 4
    assert plans[3].scenario.theory.great_power_unity is True
    assert plans[2].scenario.decision.misperception == pytest.approx(0.8)
    assert compile_scenario(plans[0].scenario).codes == plans[0].codes


def _stderr_in_a_terminal(*args: str) -> str:
    """What a person at a shell sees of a command that succeeds."""
    from conftest import in_a_terminal

    code, seen = in_a_terminal(list(args))
    assert code == 0
    return seen


def test_progress_bar_in_a_terminal_and_not_with_quiet(tmp_path):
    args = ["sweep", "--param", "decision.attack_threshold=0.3:0.7", "--points", "3",
            "--runs", "100", "--chunk-size", "20"]
    shown = _stderr_in_a_terminal(*args, "--out", str(tmp_path / "a.h5"))
    assert "sweeping" in shown and "replications/s" in shown and "300/300" in shown
    quiet = _stderr_in_a_terminal(*args, "--out", str(tmp_path / "b.h5"), "--quiet")
    assert "sweeping" not in quiet and "replications/s" not in quiet


def test_ctrl_c_during_a_sweep_then_resume_gives_the_uninterrupted_file(capsys, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    # 800 chunks of 10 (~4 s here): a sweep commits what has arrived once a second, so the
    # first commit leaves most of them still to come when the signal lands.
    args = ["sweep", "--param", "decision.attack_threshold=0.3:0.7", "--points", "4",
            "--runs", "2000", "--chunk-size", "10", "--seed", "9", "-q"]
    part = tmp_path / "part.h5"
    proc = subprocess.Popen([sys.executable, "-m", "crisis_sim", *args, "--out", str(part)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        if part.exists() and store.read_sweep(part, ["committed"])[1]["committed"].any():
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the sweep ended before a chunk was committed"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err.startswith("crisis-sim: interrupted")
    assert "crisis-sim sweep --resume" in err  # chunks are safe: the line says how to finish
    info, data = store.read_sweep(part)
    assert info["complete"] == 0 and 0 < data["committed"].sum() < 4 * 2000
    assert main(capsys, "sweep", "--resume", "--out", str(part), "-q").code == 0
    whole = tmp_path / "whole.h5"
    assert main(capsys, *args, "--out", str(whole)).code == 0
    a, b = store.read_sweep(part)[1], store.read_sweep(whole)[1]
    for name in [*store.FIELDS, "committed"]:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_overwrite_refuses_a_sweep_file_another_process_writes(capsys, tmp_path):
    """As for runs: a locked file is not replaced under its writer, who would lose its work."""
    from inproc import one_error_line

    out = tmp_path / "busy.h5"
    args = ["sweep", "--param", "decision.attack_threshold=0.3:0.7", "--points", "2",
            "--runs", "20", "-q", "--out", str(out)]
    assert main(capsys, *args).code == 0
    before = (out.stat().st_ino, out.read_bytes())
    with store.open_for_writing(out):  # the lock a running sweep holds
        line = one_error_line(main(capsys, *args, "--overwrite"))
    assert "in use by another process" in line and str(out) in line
    assert (out.stat().st_ino, out.read_bytes()) == before


def test_a_sobol_sweep_without_points_takes_a_power_of_two(capsys, tmp_path):
    out = tmp_path / "sobol.h5"
    done = main(capsys, "sweep", "--param", "willingness", "--design", "sobol", "--runs", "5",
                "--out", str(out), "-q")
    assert done.code == 0, done.err
    assert "wrote" in done.out and "24 points" in done.out  # N = 8: 8 * (1 + 2) points
