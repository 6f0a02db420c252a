"""The HDF5 layout: names, dimensions, fill values, attributes; readable by xarray."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import xarray as xr

from crisis_sim import files, store
from crisis_sim.outcomes import OUTCOMES

RUN_VARS = [
    "deterred",
    "outcome",
    "attack_day",
    "end_day",
    "target_fell_day",
    "aggressor_quit",
    "n_belligerents",
    "n_cascade_entries",
    "losses_aggressor",
    "losses_defenders",
]
# What a result file stores of its scenario (its JSON), for files made here without a run.
STORED = json.dumps({"name": "two", "aggressor": "A", "target": "B"})
INST_VARS = ["referral_day", "decision_day", "vote_result", "vetoed_by", "response_level"]
STATE_VARS = ["side", "entry_day", "entry_reason"]


def test_opens_in_xarray_with_the_documented_names(default_result):
    with xr.open_dataset(default_result, group="runs", engine="h5netcdf") as ds:
        assert ds.sizes["run"] == 3000
        for v in RUN_VARS:
            assert ds[v].dims == ("run",), v
        for v in INST_VARS:
            assert ds[v].dims == ("run", "institution"), v
        for v in STATE_VARS:
            assert ds[v].dims == ("run", "state"), v
        assert list(ds["institution"].values) == ["Security Council"]
        assert "RED" in list(ds["state"].values)
        # Missing values are explicit: a deterred run has no attack day, shown as NaN.
        det = ds["deterred"].values == 1
        assert np.isnan(ds["attack_day"].values[det]).all()


def test_flag_meanings_and_fill_values(default_result):
    with h5py.File(default_result, "r") as f:
        out = f["runs/outcome"]
        assert out.attrs["flag_meanings"].split() == list(OUTCOMES)
        assert list(out.attrs["flag_values"]) == list(range(len(OUTCOMES)))
        assert f["runs/vote_result"].attrs["flag_meanings"].split() == [
            "no_decision",
            "passed",
            "vetoed",
            "failed_majority",
        ]
        for name in [*RUN_VARS, *INST_VARS, *STATE_VARS]:
            assert "_FillValue" in f["runs"][name].attrs, name


def test_root_attributes_replay_the_run(default_result):
    with h5py.File(default_result, "r") as f:
        a = dict(f.attrs)
    assert a["seed"] == 11 and a["n_runs"] == 3000 and a["complete"] == 1
    for key in (
        "crisis_sim_version",
        "numpy_version",
        "numba_version",
        "simpy_version",
        "h5py_version",
        "created",
    ):
        assert a[key], key
    sc = json.loads(a["scenario"])
    assert sc["name"] == "default" and sc["aggressor"] == "RED"


def test_a_new_file_is_incomplete_until_every_chunk_is_committed(tmp_path):
    path = tmp_path / "x.h5"
    store.create(path, scenario_json=STORED, seed=1, n_runs=10, states=["A", "B"],
                 institutions=["I"])
    with store.ResultWriter(path) as w:
        assert w.missing() == [(0, 10)]
        assert not w.finish()
    with h5py.File(path, "r") as f:
        assert f.attrs["complete"] == 0
        assert (f["runs/committed"][...] == 0).all()  # what marks replications with no result
        assert (f["runs/outcome"][...] == -1).all()  # per replication: reads as missing


def test_records_read_while_a_run_writes_count_only_committed_chunks(tmp_path):
    """A reader during a run sees every replication flagged as written with its records.

    A chunk committed between the reads of its records and of the flags was counted as written
    with the fill values read before it arrived (summaries then fell short of 100%).
    """
    out = tmp_path / "live.h5"
    run = [sys.executable, "-m", "crisis_sim", "run", "--runs", "400000", "--chunk-size", "2000",
           "--workers", "1", "--quiet", "--out", str(out)]  # fmt: skip
    proc = subprocess.Popen(run, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    reads = partial = 0
    try:
        while proc.poll() is None and partial < 8:  # enough reads caught it half-way: stop it
            try:
                # the records first, as a summary asks for them: the wide ones take a while
                runs = store.read_runs(out, ["outcome", "capability", "entry_day", "committed"])
            except store.StoreError:  # not created yet
                continue
            done = runs["committed"].astype(bool)
            assert (runs["outcome"][done] >= 0).all()  # -1: the fill value, no outcome yet
            reads += 1
            partial += 0 < done.sum() < len(done)
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # stopped as a user would: what it wrote stays
        assert proc.wait(timeout=60) in (0, 130), proc.stderr.read() if proc.stderr else ""
    finally:
        proc.kill() if proc.poll() is None else None
    assert partial >= 5, f"only {partial} of {reads} reads caught the run half-way"
    runs = store.read_runs(out, ["outcome", "committed"])
    assert (runs["outcome"][runs["committed"].astype(bool)] >= 0).all()


def _new(path, seed=1, overwrite=False):
    store.create(path, scenario_json=STORED, seed=seed, n_runs=10, states=["A", "B"],
                 institutions=["I"], overwrite=overwrite)  # fmt: skip


def test_a_file_made_by_another_run_meanwhile_is_never_replaced(tmp_path):
    """Two runs start on one new file: the one that finishes making it first keeps it."""
    path = tmp_path / "race.h5"
    with pytest.raises(store.StoreError, match="race.h5: file exists; pass --overwrite"):
        with store._building(path, "result file", overwrite=False, can_append=True):
            _new(path, seed=7)  # the other run, done while this one builds its own copy
    with h5py.File(path, "r") as f:
        assert f.attrs["seed"] == 7
    assert sorted(p.name for p in tmp_path.iterdir()) == ["race.h5"]  # no copy left behind
    _new(path, seed=8, overwrite=True)  # --overwrite does replace it
    with h5py.File(path, "r") as f:
        assert f.attrs["seed"] == 8


def test_a_run_whose_file_was_replaced_meanwhile_does_not_say_it_wrote_it(tmp_path):
    path, other = tmp_path / "mine.h5", tmp_path / "other.h5"
    _new(path)
    _new(other, seed=9)
    with store.ResultWriter(path) as w:
        os.replace(other, path)  # by hand, or by anything that ignores HDF5's lock
        with pytest.raises(store.StoreError, match="moved or replaced while this run wrote it"):
            w.finish()


def test_overwrite_keeps_away_from_a_file_a_run_began_writing_meanwhile(tmp_path):
    path = tmp_path / "busy.h5"
    _new(path, seed=3)
    with pytest.raises(store.StoreError, match="in use by another process"):
        with store._building(path, "result file", overwrite=True):
            held = store.ResultWriter(path)  # a run opens it while this one builds its copy
    held.close()
    with h5py.File(path, "r") as f:
        assert f.attrs["seed"] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["busy.h5"]


def test_a_run_writes_only_into_the_file_it_made(tmp_path):
    """Another run's file put under the name between this run's creation and its first write."""
    path, theirs = tmp_path / "mine.h5", tmp_path / "theirs.h5"
    _new(path, seed=1)
    _new(theirs, seed=2)
    os.replace(theirs, path)  # as another run with --overwrite would, a moment later
    with pytest.raises(store.StoreError, match="another run replaced the file this run had"):
        store.ResultWriter(path)
    with h5py.File(path, "r") as f:
        assert f.attrs["seed"] == 2 and not f["runs/committed"][...].any()  # untouched


def test_a_name_as_long_as_the_system_allows_is_written_and_grown(capsys, tmp_path):
    """The copies built beside a file (NAME.HOST.PID.tmp, .grow) are longer than its name: for
    a name near the limit they take a shorter stand-in, and nothing is left beside the file."""
    from inproc import main

    out = tmp_path / ("x" * 252 + ".h5")  # 255 bytes: the longest name most file systems take
    res = main(capsys, "run", "--runs", "20", "--out", str(out), "-q")
    assert res.code == 0, res.err
    res = main(capsys, "run", "--append", "10", "--out", str(out), "-q")
    assert res.code == 0, res.err
    assert list(tmp_path.iterdir()) == [out]
    assert store.read_runs(out, ["committed"])["committed"].sum() == 30


def test_a_folder_that_cannot_be_written_is_one_line_not_a_traceback(capsys, tmp_path):
    """Tests run as root, who may write anywhere but in sysfs: no file can be created there."""
    from inproc import main

    if not Path("/sys/kernel").is_dir():
        pytest.skip("no sysfs here")
    res = main(capsys, "run", "--runs", "20", "--out", "/sys/kernel/result.h5", "-q")
    assert res.code == 2 and res.err.count("\n") == 1, res.err
    assert "cannot create result file" in res.err
    assert not Path("/sys/kernel/result.h5").exists()


def test_a_stand_in_for_a_long_name_is_short_enough_and_its_own(tmp_path):
    """Two long names that differ only at the end get different stand-ins, within the limit."""
    a, b = (tmp_path / ("y" * 240 + end) for end in ("a.h5", "b.h5"))
    sa, sb = files._stem(a), files._stem(b)
    assert sa != sb
    assert len(os.fsencode(sa)) + files._TAG_BYTES <= 255
    assert files._stem(tmp_path / "short.h5") == "short.h5"


def test_a_folder_that_cannot_be_synced_is_no_error(tmp_path):
    files.sync_folder(tmp_path / "not-there")  # as a folder one may write in but not read


def test_what_killed_runs_left_is_removed_by_the_next(tmp_path):
    path = tmp_path / "left.h5"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = files._HOST
    names = [f"left.h5.{host}.{dead.pid}.tmp", f"left.h5.{host}.{dead.pid}.grow",
             f"left.h5.{host}.{dead.pid}.grow.{host}.{dead.pid}.tmp",
             f"left.h5.{host}.{os.getppid()}.tmp",  # a live process's: may be building it now
             f"left.h5.elsewhere.{dead.pid}.tmp"]  # another machine's: its number means nothing
    for name in names:
        (tmp_path / name).write_bytes(b"")
    _new(path)
    store.grow(path, 5)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["left.h5", *names[3:]])


@pytest.mark.skipif(not store.CAN_RESERVE, reason="no posix_fallocate here: every record is filled")
def test_a_full_disk_at_creation_is_reported_and_leaves_nothing(tmp_path, monkeypatch):
    """The file's space is reserved at creation: a disk that cannot hold it fails there.

    A full disk (ENOSPC) needs a small file system to happen for real, which a test cannot
    mount; the file size limit (EFBIG) happens for real in test_faults (RLIMIT_FSIZE).
    """

    def full(fd, offset, length):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "posix_fallocate", full)
    path = tmp_path / "x.h5"
    with pytest.raises(store.StoreError, match="disk full"):
        store.create(path, scenario_json=STORED, seed=1, n_runs=10, states=["A"],
                     institutions=["I"])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not store.CAN_RESERVE, reason="no posix_fallocate here")
def test_a_file_system_that_cannot_reserve_still_gets_its_file(tmp_path, monkeypatch):
    def unsupported(fd, offset, length):
        raise OSError(errno.EOPNOTSUPP, os.strerror(errno.EOPNOTSUPP))

    monkeypatch.setattr(os, "posix_fallocate", unsupported)
    path = tmp_path / "x.h5"
    store.create(path, scenario_json=STORED, seed=1, n_runs=10, states=["A"], institutions=["I"])
    with store.ResultWriter(path) as w:
        assert w.missing() == [(0, 10)]


def test_uncommitted_ranges_are_found_block_by_block(tmp_path):
    """What is missing is read a block of flags at a time (flat memory at 10^7 replications),
    and gives the same ranges as the flags read whole, runs across blocks joined."""
    from hypothesis import given
    from hypothesis import strategies as st

    path = tmp_path / "flags.h5"

    @given(st.lists(st.booleans(), max_size=70), st.integers(1, 9))
    def check(flags, block):
        c = np.array(flags, dtype=np.uint8)
        with h5py.File(path, "w") as f:
            ds = f.create_dataset("committed", data=c, maxshape=(None,))
            whole = store._ranges(c == 0)
            assert store._uncommitted(ds, block) == whole
            assert store._uncommitted(ds) == whole

    check()


def test_uncommitted_points_of_a_sweep_are_found_a_few_points_at_a_time(tmp_path):
    """A sweep's missing replications are read a few points' flags at a time (flat memory
    however many points), and match each point's flags read whole."""
    from hypothesis import given
    from hypothesis import strategies as st

    path = tmp_path / "sweep_flags.h5"

    @given(st.integers(1, 6), st.integers(1, 9), st.data())
    def check(points, runs, data):
        flags = data.draw(st.lists(st.booleans(), min_size=points * runs, max_size=points * runs))
        c = np.array(flags, dtype=np.uint8).reshape(points, runs)
        block = data.draw(st.integers(1, 2 * points * runs))
        whole = [(p, a, b) for p in range(points) for a, b in store._ranges(c[p] == 0)]
        with h5py.File(path, "w") as f:
            ds = f.create_dataset("committed", data=c)
            assert store._uncommitted_points(ds, block) == whole
            assert store._uncommitted_points(ds) == whole

    check()
