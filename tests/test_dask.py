"""Dask: the same replications, bit for bit, on a real LocalCluster; Numba threads per task."""

from __future__ import annotations

import h5py
import numba
import numpy as np
import pytest
from inproc import main

from crisis_sim import experiment, runner, scenario, store, sweep

distributed = pytest.importorskip("distributed")

RUNS = 400
SEED = 21


@pytest.fixture(scope="module")
def cluster():
    """One real LocalCluster on localhost, two worker processes, for the whole module."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None,
                                  silence_logs=40) as lc:
        yield lc


@pytest.fixture(scope="module")
def in_process(tmp_path_factory):
    """The reference: every chunk in this process."""
    out = tmp_path_factory.mktemp("dask") / "ref.h5"
    plan = experiment.start(out, scenario.load("default"), SEED, RUNS, overwrite=False)
    experiment.execute(out, plan, SEED, runner.InProcess(), chunk_size=RUNS)
    return out


def _run(path, backend, chunk_size):
    plan = experiment.start(path, scenario.load("default"), SEED, RUNS, overwrite=False)
    try:
        report = experiment.execute(path, plan, SEED, backend, chunk_size=chunk_size)
    finally:
        backend.close()
    assert report.complete
    return store.read_runs(path)


def test_same_runs_in_process_local_pool_and_dask_cluster(cluster, in_process, tmp_path):
    ref = store.read_runs(in_process)
    pool = _run(tmp_path / "pool.h5", runner.LocalPool(2), 90)
    dask = _run(tmp_path / "dask.h5", runner.DaskBackend(cluster.scheduler_address, 2), 70)
    for name in [*store.FIELDS, "committed"]:
        np.testing.assert_array_equal(pool[name], ref[name], err_msg=f"pool {name}")
        np.testing.assert_array_equal(dask[name], ref[name], err_msg=f"dask {name}")


def test_cli_scheduler_address_runs_a_sweep_on_the_cluster(capsys, cluster, tmp_path):
    args = ["--param", "decision.attack_threshold=0.3:0.7", "--design", "lhs", "--points", "3",
            "--runs", "80", "--seed", "4", "--chunk-size", "30", "-q"]
    res = main(capsys, "sweep", *args, "--scheduler", cluster.scheduler_address,
               "--out", str(tmp_path / "dask.h5"))
    assert res.code == 0, res.err
    assert main(capsys, "sweep", *args, "--out", str(tmp_path / "here.h5")).code == 0
    a = store.read_sweep(tmp_path / "dask.h5")[1]
    b = store.read_sweep(tmp_path / "here.h5")[1]
    for name in [*store.FIELDS, "committed", "decision.attack_threshold"]:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    plans, _ = sweep.reopen(tmp_path / "dask.h5")
    assert len(plans) == 3


def test_cli_scheduler_address_runs_a_comparison_on_the_cluster(capsys, cluster, tmp_path):
    args = ["--runs", "60", "--seed", "4", "--chunk-size", "25", "-q"]
    res = main(capsys, "compare", *args, "--scheduler", cluster.scheduler_address,
               "--out", str(tmp_path / "dask.h5"))
    assert res.code == 0, res.err
    assert main(capsys, "compare", *args, "--out", str(tmp_path / "here.h5")).code == 0
    with h5py.File(tmp_path / "dask.h5", "r") as a, h5py.File(tmp_path / "here.h5", "r") as b:
        for name in a["runs"]:
            np.testing.assert_array_equal(a["runs"][name][...], b["runs"][name][...],
                                          err_msg=name)


def test_cli_scheduler_local_starts_and_closes_its_own_cluster(in_process, tmp_path):
    from conftest import cli

    out = tmp_path / "local.h5"
    proc = cli("run", "--runs", str(RUNS), "--seed", str(SEED), "--chunk-size", "150",
               "--scheduler", "local", "--workers", "2", "--out", str(out), "-q", check=True)
    assert f"wrote {out}" in " ".join(proc.stdout.split())
    ref, got = store.read_runs(in_process), store.read_runs(out)
    for name in store.FIELDS:
        np.testing.assert_array_equal(got[name], ref[name], err_msg=name)


def test_dask_tasks_run_numba_with_their_share_of_threads(cluster, default_plan):
    """Numba's thread count is per thread: the task itself must set it, not Client.run."""
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one core: nothing to oversubscribe")
    backend = runner.DaskBackend(cluster.scheduler_address, 2)
    try:
        client = backend.client
        workers = list(client.scheduler_info()["workers"])

        def threads_in_tasks():
            return [client.submit(numba.get_num_threads, pure=False, workers=[w]).result()
                    for w in workers]

        for w in workers:  # the task threads start from Numba's default
            client.submit(numba.set_num_threads, 2, pure=False, workers=[w]).result()
        assert threads_in_tasks() == [2, 2]
        todo = [(0, (a, a + 5)) for a in range(0, 40, 5)]
        assert len(list(backend.map_points([default_plan], 1, todo))) == len(todo)
        assert backend.threads == 1 and threads_in_tasks() == [1, 1]
    finally:
        backend.close()


def test_unreachable_scheduler_is_one_line_and_exit_status_2(capsys, tmp_path):
    res = main(capsys, "run", "--runs", "10", "--scheduler", "tcp://127.0.0.1:9", "-q",
               "--out", str(tmp_path / "x.h5"))
    assert res.code == 2
    assert res.err.startswith("crisis-sim: error: --scheduler tcp://127.0.0.1:9: cannot reach")
    assert len(res.err.strip().splitlines()) == 1


def test_an_address_that_is_not_a_scheduler_is_one_line_not_a_hang(capsys, tmp_path):
    """Something that accepts connections but never speaks (a dashboard's web port, say): Dask's
    client would wait for its handshake for ever; the run says what it found, and writes nothing."""
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # the kernel accepts connections; nothing ever answers them
        address = f"tcp://127.0.0.1:{silent.getsockname()[1]}"
        res = main(capsys, "run", "--runs", "10", "--scheduler", address, "-q",
                   "--out", str(tmp_path / "x.h5"))
    assert res.code == 2
    assert res.err.startswith(f"crisis-sim: error: --scheduler {address}: something listens")
    assert "does not answer as a Dask scheduler" in res.err
    assert len(res.err.strip().splitlines()) == 1
    assert not (tmp_path / "x.h5").exists()


def test_a_local_cluster_s_workers_log_only_critical_messages():
    """A heartbeat meeting a closing scheduler (after Ctrl-C) must not print a traceback under
    the run's one-line message: the workers of ``--scheduler local`` log only critical ones."""
    import logging
    import os

    before = dict(os.environ)
    backend = runner.DaskBackend("local", 2)
    try:
        levels = backend.client.run(
            lambda: logging.getLogger("distributed.worker").getEffectiveLevel())
        # The nanny's settings for its workers (OMP_NUM_THREADS=1, ...) stayed with them.
        assert dict(os.environ) == before
    finally:
        backend.close()
    assert len(levels) == 2 and set(levels.values()) == {logging.CRITICAL}
    assert dict(os.environ) == before  # this process is left as it was
