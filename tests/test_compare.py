"""``compare``: one file with an arrangement dimension, common random numbers, thin CLI."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest
import xarray as xr
from conftest import assert_png, cli
from inproc import main, one_error_line

from crisis_sim import compare, scenario, store
from crisis_sim.crisis import simulate_chunk
from crisis_sim.errors import InputError, StoreError
from crisis_sim.outcomes import DETERRED, NO_RESPONSE, OUTCOMES

N = 400


@pytest.fixture(scope="module")
def comparison(tmp_path_factory: pytest.TempPathFactory) -> compare.Comparison:
    sc = scenario.load("five_arrangements")
    out = tmp_path_factory.mktemp("compare") / "five.h5"
    return compare.compare(sc, compare.parse_arrangements(None, sc), N, 7, out, chunk_size=150)


def test_one_row_per_arrangement_in_canonical_order(comparison: compare.Comparison) -> None:
    assert [r.arrangement for r in comparison.rows] == list(compare.ARRANGEMENTS)
    for r in comparison.rows:
        assert r.n == N
        assert list(r.shares) == list(OUTCOMES)
        assert sum(e.value for e in r.shares.values()) == pytest.approx(1.0)
        for e in r.shares.values():
            assert 0.0 <= e.low <= e.value <= e.high <= 1.0


def test_file_opens_in_xarray_with_an_arrangement_dimension(comparison: compare.Comparison) -> None:
    sc = scenario.load("five_arrangements")
    with xr.open_dataset(comparison.path, group="runs", engine="h5netcdf") as ds:
        assert dict(ds.sizes) == {"arrangement": len(compare.ARRANGEMENTS), "run": N,
                                  "state": len(sc.states), "institution": len(sc.institutions)}
        assert list(ds["arrangement"].values) == list(compare.ARRANGEMENTS)
        assert ds["outcome"].dims == ("arrangement", "run")
        assert ds["entry_day"].dims == ("arrangement", "run", "state")
        # Common random numbers: every arrangement drew the same capabilities, run by run.
        cap = ds["capability"].values
        assert np.isfinite(cap).all()
        assert all(np.array_equal(cap[0], cap[k]) for k in range(1, cap.shape[0]))
        # Institutions absent from a variant are missing values, not zeros.
        alliance = list(compare.ARRANGEMENTS).index("alliance")
        assert ds["vote_result"].isel(arrangement=alliance).isnull().all()


def test_without_any_arrangement_no_third_state_fights(comparison: compare.Comparison) -> None:
    with xr.open_dataset(comparison.path, group="runs", engine="h5netcdf") as ds:
        none = ds.sel(arrangement="none")
        third = [s for s in ds["state"].values if s not in ("RED", "BLUE")]
        assert (none["side"].sel(state=third) == 0).all()
        outcome = none["outcome"].values
        fell = none["target_fell_day"].values >= 0
    row = comparison.rows[0]
    assert row.shares['no_response'].value == pytest.approx(np.mean(fell & (outcome != DETERRED)))
    assert row.shares['no_response'].value == pytest.approx(np.mean(outcome == NO_RESPONSE))
    assert row.response_day.value != row.response_day.value  # no helper: no response day


def test_arrangements_differ_on_the_same_draws(comparison: compare.Comparison) -> None:
    by = {r.arrangement: r for r in comparison.rows}
    # A world authority with its own force deters far more than no arrangement at all.
    assert by["global_government"].shares["deterred"].low > by["none"].shares["deterred"].high


def test_the_figure_shows_each_outcome_some_arrangement_produced(
    comparison: compare.Comparison,
) -> None:
    from crisis_sim.plots import OUTCOME_LABELS

    fig = compare.figure(comparison)
    shown = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    seen = [k for k in OUTCOMES if any(r.shares[k].value > 0 for r in comparison.rows)]
    assert shown == [OUTCOME_LABELS[k] for k in seen]
    footer = " ".join(t.get_text() for t in fig.texts)
    never = [k.replace("_", " ") for k in OUTCOMES if k not in seen]
    assert never  # at N replications some outcome never happens: the footer names it
    assert footer.endswith(f"never in any arrangement: {', '.join(never)}")
    heights = [p.get_height() for p in fig.axes[0].patches]
    assert heights == [r.shares[k].value for k in seen for r in comparison.rows]


def test_arrangement_option_is_checked() -> None:
    sc = scenario.load("july_1914")
    assert compare.parse_arrangements(None, sc) == ["none", "alliance"]
    assert compare.parse_arrangements(" alliance ,none", sc) == ["alliance", "none"]
    # The words of the table's header are accepted too.
    assert compare.parse_arrangements("no arrangement, alliances", sc) == ["none", "alliance"]
    assert compare.parse_arrangements("No  Arrangement,ALLIANCE", sc) == ["none", "alliance"]
    with pytest.raises(InputError, match="unknown arrangement 'no  arrangment'"):
        compare.parse_arrangements("no  arrangment", sc)  # what was typed, not a rewriting
    five = scenario.load("five_arrangements")
    assert compare.parse_arrangements("collective security", five) == ["collective_security"]
    with pytest.raises(InputError, match="unknown arrangement 'leagues'"):
        compare.parse_arrangements("leagues", sc)
    with pytest.raises(InputError, match="has no institution or treaty of arrangement"):
        compare.parse_arrangements("collective_security", sc)
    with pytest.raises(InputError, match="listed twice"):
        compare.parse_arrangements("none,none", sc)


def test_variant_keeps_states_and_only_its_arrangement() -> None:
    sc = scenario.load("five_arrangements")
    v = compare.variant(sc, "balance_of_power")
    assert [s.code for s in v.states] == [s.code for s in sc.states]
    assert [i.arrangement for i in v.institutions] == ["balance_of_power"]
    assert v.treaties == []
    assert compare.variant(sc, "alliance").treaties == sc.treaties


def test_cli_compare_writes_file_table_and_plot(tmp_path: Path) -> None:
    out, fig = tmp_path / "cmp.h5", tmp_path / "cmp.png"
    proc = cli("compare", "--runs", "150", "--arrangements", "none,alliance,global_government",
               "--out", str(out), "--plot", str(fig), "--quiet", "--seed", "3")
    assert proc.returncode == 0, proc.stderr
    assert "no arrangement" in proc.stdout and "alliances" in proc.stdout
    for outcome in ("deterred", "backed down", "stalemate", "defenders defeated"):
        assert outcome in proc.stdout  # every outcome has its column: each row adds to 100%
    assert out.exists()
    assert_png(fig)
    again = cli("compare", "--runs", "150", "--out", str(out), "--quiet")
    assert again.returncode == 2 and "exists" in again.stderr
    bad = cli("compare", "july_1914", "--runs", "10", "--arrangements", "global_government",
              "--out", str(tmp_path / "x.h5"))
    assert bad.returncode == 2
    assert "july_1914" in bad.stderr and "global_government" in bad.stderr


# --------------------------------------------------------------------------- interrupted, resumed


def _records(path: Path) -> dict[str, np.ndarray]:
    with h5py.File(path, "r") as f:
        return {k: f["runs"][k][...] for k in f["runs"] if k != "committed"}


def _same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert np.array_equal(a[k], b[k], equal_nan=a[k].dtype.kind == "f"), k


def test_a_partly_written_comparison_is_refused_then_resumes_bit_for_bit(
    capsys: pytest.CaptureFixture[str], comparison: compare.Comparison, tmp_path: Path
) -> None:
    """Some chunks committed, the rest not: the summary refuses; ``--resume`` finishes exactly."""
    sc = scenario.load("five_arrangements")
    out = tmp_path / "partial.h5"
    chosen = compare.parse_arrangements(None, sc)
    plans, columns = compare.start(out, sc, chosen, 7, N, overwrite=False)
    with store.CompareWriter(out, columns) as writer:
        writer.commit_many([(k, a, simulate_chunk(plans[k], 7, a, b))
                            for k, (a, b) in ((0, (0, 150)), (3, (150, 300)), (5, (300, N)))])
    with pytest.raises(StoreError, match="not finished; finish it with: crisis-sim compare "
                                         f"--resume --out {out}"):
        compare.summarize(out)
    done = main(capsys, "compare", "--resume", "--out", str(out), "--chunk-size", "150", "-q")
    assert done.code == 0, done.err
    assert "no arrangement" in done.out
    _same(_records(out), _records(comparison.path))


BIG = ("compare", "--runs", "60000", "--seed", "5", "--chunk-size", "5000", "--quiet")


@pytest.fixture(scope="module")
def whole(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    """The records of an uninterrupted two-worker comparison, for the interrupted ones."""
    out = tmp_path_factory.mktemp("whole") / "whole.h5"
    proc = cli(*BIG, "--workers", "2", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return _records(out)


def _stopped_once_a_chunk_is_safe(out: Path, stop: Callable[[subprocess.Popen[str]], None],
                                  *extra: str) -> tuple[int, str]:
    """Start the big comparison, and ``stop`` it once a chunk is committed: (status, stderr)."""
    proc = subprocess.Popen([sys.executable, "-m", "crisis_sim", *BIG, *extra, "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while True:
        assert proc.poll() is None and time.monotonic() < deadline, "no chunk before the end"
        if out.exists():
            with h5py.File(out, "r", locking=False) as f:
                if f["runs/committed"][...].any():
                    break
        time.sleep(0.05)
    stop(proc)
    _, err = proc.communicate(timeout=120)
    with h5py.File(out, "r") as f:
        assert f.attrs["complete"] == 0 and 0 < f["runs/committed"][...].mean() < 1
    return proc.returncode, err


def test_ctrl_c_stops_a_comparison_that_resumes_exactly(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, whole: dict[str, np.ndarray]
) -> None:
    """A real SIGINT to ``crisis-sim compare``: exit 130, one line, and the way to finish."""
    out = tmp_path / "stopped.h5"
    code, err = _stopped_once_a_chunk_is_safe(out, lambda p: p.send_signal(signal.SIGINT))
    assert code == 130, err
    lines = err.splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert f"finish with: crisis-sim compare --resume --out {out}" in lines[0]
    assert main(capsys, "compare", "--resume", "--out", str(out), "-q").code == 0
    _same(_records(out), whole)


def test_a_lost_worker_keeps_what_came_back_and_says_how_to_resume(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, whole: dict[str, np.ndarray]
) -> None:
    """A pool worker killed (the OOM killer, say): exit 1, one line, nothing lost."""
    import psutil

    def kill_a_worker(proc: subprocess.Popen[str]) -> None:
        workers = [p for p in psutil.Process(proc.pid).children()
                   if "resource_tracker" not in " ".join(p.cmdline())]
        assert workers, "expected pool worker processes"
        workers[0].kill()

    out = tmp_path / "lost.h5"
    code, err = _stopped_once_a_chunk_is_safe(out, kill_a_worker, "--workers", "2")
    assert code == 1, err
    lines = err.splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "worker process died" in lines[0]
    assert f"finish with: crisis-sim compare --resume --out {out}" in lines[0]
    assert main(capsys, "compare", "--resume", "--out", str(out), "-q").code == 0
    _same(_records(out), whole)


def test_resuming_a_finished_comparison_only_prints_it(
    capsys: pytest.CaptureFixture[str], comparison: compare.Comparison
) -> None:
    before = comparison.path.read_bytes()
    done = main(capsys, "compare", "--resume", "--out", str(comparison.path), "-q")
    assert done.code == 0 and "no arrangement" in done.out
    assert "is already complete; nothing to compute" in done.out and "wrote" not in done.out
    assert comparison.path.read_bytes() == before  # not opened for writing


def test_a_damaged_list_of_arrangements_is_one_line(capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path) -> None:
    out = tmp_path / "damaged.h5"
    sc = scenario.load("five_arrangements")
    compare.start(out, sc, ["none", "alliance"], 1, 50, overwrite=False)
    with h5py.File(out, "r+") as f:
        f.attrs["variants"] = "{not json"
    line = one_error_line(main(capsys, "compare", "--resume", "--out", str(out)))
    assert str(out) in line and "damaged list of arrangements" in line
