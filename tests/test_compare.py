"""``compare``: one file with an arrangement dimension, common random numbers, thin CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from conftest import cli

from crisis_sim import compare, scenario
from crisis_sim.errors import InputError
from crisis_sim.outcomes import DETERRED, NO_RESPONSE

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
        shares = (r.deterred, r.aggressor_defeated, r.fait_accompli, r.no_response)
        assert sum(e.value for e in shares) <= 1.0 + 1e-12
        for e in shares:
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
    assert row.no_response.value == pytest.approx(np.mean(fell & (outcome != DETERRED)))
    assert row.no_response.value == pytest.approx(np.mean(outcome == NO_RESPONSE))
    assert row.response_day.value != row.response_day.value  # no helper: no response day


def test_arrangements_differ_on_the_same_draws(comparison: compare.Comparison) -> None:
    by = {r.arrangement: r for r in comparison.rows}
    # A world authority with its own force deters far more than no arrangement at all.
    assert by["global_government"].deterred.low > by["none"].deterred.high


def test_arrangement_option_is_checked() -> None:
    sc = scenario.load("july_1914")
    assert compare.parse_arrangements(None, sc) == ["none", "alliance"]
    assert compare.parse_arrangements(" alliance ,none", sc) == ["alliance", "none"]
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
    assert out.exists() and fig.stat().st_size > 10_000
    assert fig.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = cli("compare", "--runs", "150", "--out", str(out), "--quiet")
    assert again.returncode == 2 and "exists" in again.stderr
    bad = cli("compare", "july_1914", "--runs", "10", "--arrangements", "global_government",
              "--out", str(tmp_path / "x.h5"))
    assert bad.returncode == 2
    assert "july_1914" in bad.stderr and "global_government" in bad.stderr
