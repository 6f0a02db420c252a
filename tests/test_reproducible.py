"""Same scenario and seed: bit-identical ``runs`` whatever the workers, threads and chunks."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
from conftest import cli

from crisis_sim.codes import PARALLEL_COHORT

# One chunk of N (the default chunk size holds it) is a cohort large enough for the parallel
# combat kernel when the process has two Numba threads; the reference's chunks of 1,000 are not.
N = "5000"
assert int(N) >= PARALLEL_COHORT


def runs_group(path: Path) -> dict[str, np.ndarray]:
    with h5py.File(path, "r") as f:
        assert f.attrs["complete"] == 1
        return {k: f["runs"][k][...] for k in f["runs"]}


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, np.ndarray]:
    out = tmp_path_factory.mktemp("ref") / "ref.h5"
    cli(
        "run",
        "--runs",
        N,
        "--seed",
        "42",
        "--out",
        str(out),
        "--chunk-size",
        "1000",
        "-q",
        check=True,
    )
    return runs_group(out)


@pytest.mark.parametrize(
    ("label", "args", "env"),
    [
        ("two worker processes", ["--workers", "2"], None),
        # Chunks submitted once the file exists have their wide records written by the workers.
        ("two workers, eight chunks", ["--workers", "2", "--chunk-size", "500"], None),
        ("another chunk size", ["--chunk-size", "333"], None),
        ("one Numba thread", [], {"NUMBA_NUM_THREADS": "1"}),
        ("two Numba threads", [], {"NUMBA_NUM_THREADS": "2"}),
    ],
)
def test_runs_are_bit_identical(reference, tmp_path, label, args, env):
    out = tmp_path / "x.h5"
    cli("run", "--runs", N, "--seed", "42", "--out", str(out), "-q", *args, env=env, check=True)
    other = runs_group(out)
    assert other.keys() == reference.keys()
    for key in reference:
        np.testing.assert_array_equal(other[key], reference[key], err_msg=f"{label}: {key}")


def test_another_seed_differs(reference, tmp_path):
    out = tmp_path / "y.h5"
    cli("run", "--runs", N, "--seed", "43", "--out", str(out), "-q", check=True)
    assert not np.array_equal(runs_group(out)["outcome"], reference["outcome"])
