"""Appending replications to a finished file equals having asked for them at the start."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from inproc import main

from crisis_sim import experiment, runner, scenario, store


def _same_runs(a, b):
    ra, rb = store.read_runs(a), store.read_runs(b)
    for name in [*store.FIELDS, "committed"]:
        np.testing.assert_array_equal(ra[name], rb[name], err_msg=name)


@pytest.fixture(scope="module")
def longer(tmp_path_factory):
    """One uninterrupted run of 500 replications."""
    out = tmp_path_factory.mktemp("append") / "long.h5"
    from conftest import cli

    cli("run", "--runs", "500", "--seed", "3", "--chunk-size", "100", "--out", str(out), "-q",
        check=True)
    return out


def test_append_equals_one_longer_run(capsys, tmp_path, longer):
    short = tmp_path / "short.h5"
    assert main(capsys, "run", "--runs", "300", "--seed", "3", "--chunk-size", "100",
                "--out", str(short), "-q").code == 0
    with h5py.File(short, "r+") as f:
        created = f.attrs["created"]
        f.attrs["numba_version"] = "0.1"  # as if made with another Numba
    res = main(capsys, "run", "--append", "200", "--out", str(short), "--chunk-size", "70", "-q")
    assert res.code == 0, res.err
    assert "200 computed" in res.out
    _same_runs(short, longer)
    with h5py.File(short, "r") as f, h5py.File(longer, "r") as g:
        assert f.attrs["n_runs"] == 500 and f.attrs["complete"] == 1
        assert f.attrs["seed"] == g.attrs["seed"] and f.attrs["scenario"] == g.attrs["scenario"]
        assert f.attrs["created"] == created
        # The versions that computed the added replications are recorded with them.
        import json

        (added,) = json.loads(f.attrs["appends"])
        assert added["first_run"] == 300 and added["runs"] == 200
        assert added["numba_version"] == store.versions()["numba_version"] != "0.1"
        assert f.attrs["numba_version"] == "0.1"  # the first replications' own


def test_appending_twice_with_a_worker_pool(capsys, tmp_path, longer):
    short = tmp_path / "short.h5"
    assert main(capsys, "run", "--runs", "100", "--seed", "3", "--out", str(short), "-q").code == 0
    assert main(capsys, "run", "--append", "150", "--out", str(short), "-q").code == 0
    assert main(capsys, "run", "--append", "250", "--out", str(short), "--workers", "2",
                "--chunk-size", "60", "-q").code == 0
    _same_runs(short, longer)


def test_summarize_warns_on_an_incomplete_file_and_resume_completes_it(capsys, tmp_path, longer):
    part = tmp_path / "part.h5"
    plan = experiment.start(part, scenario.load("default"), 3, 500, overwrite=False)
    with store.ResultWriter(part) as w:  # the first 200 replications written, then stopped
        for chunk in [(0, 100), (100, 200)]:
            w.commit(*runner._run_chunk(plan, 3, chunk))
    res = main(capsys, "summarize", str(part))
    assert res.code == 0
    assert (f"warning: {part} is incomplete: 200 of 500 replications written; finish it with: "
            f"crisis-sim run --resume --out {part}") in " ".join(res.out.split())
    done = main(capsys, "summarize", str(longer))
    assert "incomplete" not in done.out
    assert main(capsys, "run", "--resume", "--out", str(part), "-q").code == 0
    _same_runs(part, longer)
    with h5py.File(part, "r") as f:
        assert f.attrs["complete"] == 1


def test_a_file_that_cannot_be_continued_is_left_as_it_was(capsys, tmp_path, longer):
    """Its stored scenario is checked before the file grows: a refused append changes nothing."""
    import hashlib
    import json

    odd = tmp_path / "odd.h5"
    odd.write_bytes(longer.read_bytes())
    with h5py.File(odd, "r+") as f:  # as from another version: a key this one does not know
        stored = json.loads(f.attrs["scenario"])
        f.attrs["scenario"] = json.dumps({**stored, "new_field": 1})
    before = hashlib.sha256(odd.read_bytes()).hexdigest()
    res = main(capsys, "run", "--append", "100", "--out", str(odd), "-q")
    assert res.code == 2 and "new_field" in res.err
    assert hashlib.sha256(odd.read_bytes()).hexdigest() == before
    with h5py.File(odd, "r") as f:
        assert f.attrs["n_runs"] == 500 and f.attrs["complete"] == 1


def test_no_writer_gets_in_between_the_copy_and_the_swap(capsys, tmp_path, monkeypatch):
    """While an append swaps the bigger copy in, the file is locked: a --resume that opens it
    at that moment is refused (else its commits would go to the file about to be replaced)."""
    import os

    short = tmp_path / "short.h5"
    assert main(capsys, "run", "--runs", "100", "--seed", "3", "--out", str(short), "-q").code == 0
    seen = []
    real_replace = os.replace

    def swap(src, dst):
        if dst == short:  # the moment of the swap: try to open the file for writing
            try:
                store.open_for_writing(short).close()
                seen.append("opened")
            except (OSError, RuntimeError):
                seen.append("refused")
        real_replace(src, dst)

    monkeypatch.setattr(store.os, "replace", swap)
    store.grow(short, 50)
    assert seen == ["refused"]
    with h5py.File(short, "r") as f:
        assert f.attrs["n_runs"] == 150
        assert f["runs"]["committed"][:100].all() and not f["runs"]["committed"][100:].any()
