"""Local workers write a chunk's wide records straight into the file: the same file, bit for bit."""

from __future__ import annotations

import os

import numpy as np
import pytest

from crisis_sim import experiment, runner, scenario, store
from crisis_sim.crisis import simulate_chunk
from crisis_sim.errors import StoreError
from crisis_sim.placement import write_wide

SEED = 3
RUNS = 300


def _new(path):
    return experiment.start(path, scenario.load("default"), SEED, RUNS, overwrite=False)


def _assert_same_runs(path, reference):
    got, want = store.read_runs(path), store.read_runs(reference)
    for name in [*store.FIELDS, "committed"]:
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)


def _commit_placed(path, results):
    """Commit ``results(placement)`` to the file at ``path``; only per-replication records."""
    with store.ResultWriter(path) as w:
        for start, arrays in results(w.placement()):
            assert set(arrays) == set(store.PER_RUN)  # the wide ones are in the file already
            w.commit(start, arrays)
        assert w.finish()


def test_every_wide_record_has_a_place_in_a_new_file(tmp_path):
    _new(tmp_path / "r.h5")
    with store.ResultWriter(tmp_path / "r.h5") as w:
        place = w.placement()
    assert place is not None
    assert place.names() == set(store.WIDE)
    assert not place.names() & set(store.PER_RUN)
    st = os.stat(tmp_path / "r.h5")
    assert (place.device, place.inode) == (st.st_dev, st.st_ino)


def test_written_in_place_then_committed_equals_committed_whole(tmp_path):
    plan = _new(tmp_path / "whole.h5")
    _new(tmp_path / "placed.h5")
    parts = [(0, 120), (120, 300)]
    with store.ResultWriter(tmp_path / "whole.h5") as w:
        for a, b in parts:
            w.commit(a, simulate_chunk(plan, SEED, a, b))
        w.finish()
    _commit_placed(
        tmp_path / "placed.h5",
        lambda place: (
            (a, write_wide(place, a, simulate_chunk(plan, SEED, a, b))) for a, b in parts
        ),
    )
    _assert_same_runs(tmp_path / "placed.h5", tmp_path / "whole.h5")


def test_a_local_pool_writes_in_place_and_matches_one_process(tmp_path):
    plan = _new(tmp_path / "one.h5")
    experiment.execute(tmp_path / "one.h5", plan, SEED, runner.InProcess(), chunk_size=RUNS)
    _new(tmp_path / "pool.h5")
    pool = runner.LocalPool(2)

    def chunks_from_the_pool(place):
        pool.write_into(place)
        return pool.map(plan, SEED, runner.chunks([(0, RUNS)], 70))

    try:
        _commit_placed(tmp_path / "pool.h5", chunks_from_the_pool)
    finally:
        pool.close()
    _assert_same_runs(tmp_path / "pool.h5", tmp_path / "one.h5")


def test_a_worker_will_not_write_into_a_file_replaced_since(tmp_path):
    plan = _new(tmp_path / "r.h5")
    with store.ResultWriter(tmp_path / "r.h5") as w:
        place = w.placement()
    os.replace(tmp_path / "r.h5", tmp_path / "moved.h5")
    _new(tmp_path / "r.h5")  # another file under the same name
    with pytest.raises(StoreError, match=r"r\.h5: the result file was replaced during the run"):
        write_wide(place, 0, simulate_chunk(plan, SEED, 0, 10))
    assert not store.read_runs(tmp_path / "r.h5")["committed"].any()
    pool = runner.LocalPool(2)  # from a pool worker, the same one line
    try:
        pool.write_into(place)
        with pytest.raises(StoreError, match="replaced during the run"):
            list(pool.map(plan, SEED, [(0, 10)]))
    finally:
        pool.close()


def test_a_chunk_without_its_wide_records_is_refused_unless_they_were_placed(tmp_path):
    plan = _new(tmp_path / "r.h5")
    arrays = simulate_chunk(plan, SEED, 0, 10)
    trimmed = {k: v for k, v in arrays.items() if k in store.PER_RUN}
    with store.ResultWriter(tmp_path / "r.h5") as w:
        with pytest.raises(StoreError, match="came without their per-state records"):
            w.commit(0, trimmed)
        w.placement()
        with pytest.raises(StoreError, match="came without their per-state records"):
            w.commit(0, {**trimmed, store.WIDE[0]: arrays[store.WIDE[0]]})  # some, not all
    assert not store.read_runs(tmp_path / "r.h5")["committed"].any()
