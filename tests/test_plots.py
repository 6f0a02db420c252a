"""Figures: each kind is drawn from the file's numbers, and the CLI writes a real image."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from conftest import assert_png  # noqa: E402
from inproc import main  # noqa: E402

from crisis_sim import (  # noqa: E402
    design,
    experiment,
    params,
    plots,
    runner,
    scenario,
    sensitivity,
    store,
    sweep,
)
from crisis_sim.analysis import summarize  # noqa: E402
from crisis_sim.outputs import by_point  # noqa: E402


def _sweep(path, specs, method, points, runs):
    base = scenario.load("default")
    ranges = [design.parse_range(params.find(base, n), r) for n, r in specs]
    plans = sweep.start(path, base, design.sample(ranges, method, points, 1), 1, runs, False)
    sweep.execute(path, plans, 1, runner.InProcess(), chunk_size=runs)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A small run, a small grid sweep and a small sobol sweep."""
    d = tmp_path_factory.mktemp("plots")
    plan = experiment.start(d / "run.h5", scenario.load("default"), 8, 400, overwrite=False)
    experiment.execute(d / "run.h5", plan, 8, runner.InProcess(), chunk_size=400)
    gpu = ("theory.great_power_unity", None)
    _sweep(d / "grid.h5", [("willingness", "0:1"), gpu], "grid", 3, 60)
    _sweep(d / "sobol.h5", [("decision.attack_threshold", "0.3:0.7")], "sobol", 4, 40)
    return d


def test_outcome_bars_are_the_summarized_shares(files):
    fig = plots.outcomes(files / "run.h5")
    widths = [p.get_width() for p in fig.axes[0].patches]
    assert widths == pytest.approx([s.share for s in summarize(files / "run.h5").outcomes])
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert "fait accompli (response too late)" in labels and "deterred (no attack)" in labels


def test_timeline_ends_at_the_share_of_crises_with_help(files):
    fig = plots.timeline(files / "run.h5")
    lines = {ln.get_label(): ln for ln in fig.axes[0].get_lines()}
    first = lines["first third state at war on the target's side"].get_ydata()
    # The share of attacked crises in which a third state entered on the target's side, from
    # the records themselves.
    with h5py.File(files / "run.h5", "r") as f:
        codes = [c.decode() for c in f["runs/state"][...]]
        attacked = f["runs/outcome"][...] != 0
        helper = (f["runs/side"][...] == 2) & (f["runs/entry_day"][...] >= 0)
    helper[:, [codes.index("RED"), codes.index("BLUE")]] = False
    helped = helper[attacked].any(axis=1)
    assert 0 < helped.mean() < 1
    assert first[-1] == pytest.approx(helped.mean())
    assert np.all(np.diff(first) >= 0)
    assert "Security Council: last vote taken" in lines


def test_sweep_lines_are_the_point_values(files):
    out = by_point(files / "grid.h5", "aggressor_defeated")
    fig = plots.sweep(out)
    lines = [ln for ln in fig.axes[0].get_lines() if ln.get_label().startswith("theory.")]
    assert [ln.get_label() for ln in lines] == ["theory.great_power_unity: off",
                                                "theory.great_power_unity: on"]
    for level, ln in enumerate(lines):
        sel = out.values[:, 1] == level
        order = np.argsort(out.values[sel, 0])
        np.testing.assert_allclose(ln.get_ydata(), out.y[sel][order])
        np.testing.assert_allclose(ln.get_xdata(), [0.0, 0.5, 1.0])


def test_sweep_drawn_against_the_parameter_asked_for(capsys, files, tmp_path):
    """--x and --by swap the axes: one line per willingness, the switch along x."""
    out = by_point(files / "grid.h5", "deterred")
    fig = plots.sweep(out, x="theory.great_power_unity", by="willingness")
    lines = [ln for ln in fig.axes[0].get_lines() if ln.get_label().startswith("willingness")]
    assert len(lines) == 3
    for ln, level in zip(lines, [0.0, 0.5, 1.0], strict=True):
        sel = out.values[:, 0] == level
        order = np.argsort(out.values[sel, 1])
        np.testing.assert_allclose(ln.get_xdata(), [0.0, 1.0])
        np.testing.assert_allclose(ln.get_ydata(), out.y[sel][order])
    png = tmp_path / "swapped.png"
    res = main(capsys, "plot", str(files / "grid.h5"), "--kind", "sweep", "--x",
               "theory.great_power_unity", "--by", "willingness", "--output", "deterred",
               "--out", str(png))  # fmt: skip
    assert res.code == 0, res.err
    assert_png(png)


def test_sensitivity_bars_are_the_indices(files):
    indices, outputs = sensitivity.from_sweep(files / "sobol.h5", "deterred")
    fig = plots.sensitivity(indices, outputs)
    widths = sorted(p.get_width() for p in fig.axes[0].patches)
    assert widths == pytest.approx(sorted([indices[0].s1, indices[0].st]))


@pytest.mark.parametrize(("name", "kind"), [("run.h5", "outcomes"), ("run.h5", "timeline"),
                                            ("grid.h5", "sweep"), ("sobol.h5", "sensitivity")])
def test_cli_writes_a_real_png(capsys, files, tmp_path, name, kind):
    out = tmp_path / f"{kind}.png"
    res = main(capsys, "plot", str(files / name), "--kind", kind, "--out", str(out))
    assert res.code == 0, res.err
    assert_png(out)


def test_a_figure_is_replaced_whole_or_not_at_all(capsys, files, tmp_path):
    """A full disk while drawing leaves the figure already there as it was, and no part file."""
    import resource
    import subprocess
    import sys

    out = tmp_path / "fig.png"
    assert main(capsys, "plot", str(files / "run.h5"), "--out", str(out)).code == 0
    before = out.read_bytes()
    assert len(before) > 8192

    def full_disk() -> None:  # any file the command writes stops at 8 KiB (EFBIG)
        resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))

    proc = subprocess.run(
        [sys.executable, "-m", "crisis_sim", "plot", str(files / "run.h5"), "--kind", "timeline",
         "--out", str(out)], capture_output=True, text=True, timeout=300, preexec_fn=full_disk)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == (
        f"crisis-sim: error: --out {out}: cannot write the figure: file size limit reached "
        "(disk full)"), proc.stderr
    assert out.read_bytes() == before
    assert sorted(q.name for q in tmp_path.iterdir()) == ["fig.png"]
    # Without the limit the same command replaces it, with the usual permissions.
    assert main(capsys, "plot", str(files / "run.h5"), "--kind", "timeline",
                "--out", str(out)).code == 0
    assert out.read_bytes() != before
    assert_png(out)
    assert sorted(q.name for q in tmp_path.iterdir()) == ["fig.png"]


def test_a_new_figure_gets_the_usual_permissions_and_a_replaced_one_keeps_its_own(
    capsys, files, tmp_path
):
    import os

    out = tmp_path / "new.png"
    mask = os.umask(0o022)
    try:
        assert main(capsys, "plot", str(files / "run.h5"), "--out", str(out)).code == 0
    finally:
        os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o644  # not the 0600 of a temporary file
    out.chmod(0o640)
    assert main(capsys, "plot", str(files / "run.h5"), "--kind", "timeline",
                "--out", str(out)).code == 0
    assert out.stat().st_mode & 0o777 == 0o640


def test_a_figure_through_a_link_replaces_the_image_it_points_to(capsys, files, tmp_path):
    (tmp_path / "images").mkdir()
    image = tmp_path / "images" / "real.png"
    image.write_bytes(b"old")
    link = tmp_path / "link.png"
    link.symlink_to(image)
    assert main(capsys, "plot", str(files / "run.h5"), "--out", str(link)).code == 0
    assert link.is_symlink() and link.resolve() == image
    assert_png(image)
    assert sorted(q.name for q in (tmp_path / "images").iterdir()) == ["real.png"]


def test_a_figure_that_cannot_be_drawn_leaves_nothing_behind(tmp_path):
    """Matplotlib refuses bad math text only while drawing: the image there stays, no part file."""
    out = tmp_path / "fig.png"
    out.write_bytes(b"the image before")
    fig = plots._figure()
    fig.add_subplot().set_title(r"$\frac{$")  # unbalanced: drawing raises ValueError
    with pytest.raises(ValueError, match=r"Expected \\frac"):  # raised while drawing it
        plots.save(fig, out)
    assert out.read_bytes() == b"the image before"
    assert sorted(q.name for q in tmp_path.iterdir()) == ["fig.png"]


def test_cli_refuses_a_kind_that_does_not_fit_the_file(capsys, files, tmp_path):
    res = main(capsys, "plot", str(files / "run.h5"), "--kind", "sweep",
               "--out", str(tmp_path / "x.png"))
    assert res.code == 2 and "--kind sweep: needs a sweep file" in res.err
    res = main(capsys, "plot", str(files / "run.h5"), "--out", str(tmp_path / "x.txt"))
    assert res.code == 2 and "give a .png, .pdf or .svg file name" in res.err


def test_an_unfinished_sweep_says_so_in_its_title(files, tmp_path):
    path = tmp_path / "unfinished.h5"
    base = scenario.load("default")
    ranges = [design.parse_range(params.find(base, "willingness"), "0:1")]
    plans = sweep.start(path, base, design.sample(ranges, "grid", 3, 1), 1, 50, False)
    with pytest.raises(store.StoreError, match="no replication is written yet"):
        by_point(path, "deterred")  # nothing run: nothing to draw
    with store.SweepWriter(path) as writer:  # the first point's replications only
        sweep._commit(writer, [runner._run_point(plans[0], 1, 0, (0, 50))])

    def title(p):
        return " ".join(plots.sweep(by_point(p, "deterred")).get_suptitle().split())

    assert "INCOMPLETE" in title(path)
    assert "1 of 3 points × 50 replications" in title(path)  # the points it shows, of all
    assert "INCOMPLETE" not in title(files / "grid.h5")
    assert "6 points × 60 replications" in title(files / "grid.h5")


def test_a_long_title_is_wrapped_inside_the_figure(files):
    """The detail line wraps (at about 0.9 x 72 points per inch over half the font size per
    character): a long scenario name or the INCOMPLETE warning is never cut at the edges."""
    fig = plots.outcomes(files / "run.h5")
    head, *lines = fig.get_suptitle().split("\n")
    assert head == "How the crisis ends" and lines
    limit = int(0.9 * fig.get_figwidth() * 72 / (0.55 * 11))
    assert all(len(line) <= limit for line in lines)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    box = fig._suptitle.get_window_extent(canvas.get_renderer())
    assert 0 <= box.x0 and box.x1 <= fig.bbox.width  # inside the image


def test_a_figure_name_as_long_as_the_system_allows_is_written(capsys, files, tmp_path):
    out = tmp_path / ("f" * 251 + ".png")  # 255 bytes: the longest name most file systems take
    assert main(capsys, "plot", str(files / "run.h5"), "--out", str(out)).code == 0
    assert_png(out)


def test_plotting_an_unfinished_file_warns_and_says_how_to_finish_it(capsys, files, tmp_path):
    import shlex

    part = tmp_path / "part[red].h5"  # brackets: printed as they are, not read as markup
    plan = experiment.start(part, scenario.load("default"), 8, 400, overwrite=False)
    with store.ResultWriter(part) as w:  # 100 of 400 replications written, then stopped
        w.commit(*runner._run_chunk(plan, 8, (0, 100)))
    res = main(capsys, "plot", str(part), "--out", str(tmp_path / "part.png"))
    assert res.code == 0
    said = " ".join(res.out.split())
    assert f"warning: {part} is incomplete" in said
    assert said.endswith(f"finish the file with: crisis-sim run --resume --out "
                         f"{shlex.quote(str(part))} wrote {tmp_path / 'part.png'}")
    assert_png(tmp_path / "part.png")
    whole = main(capsys, "plot", str(files / "run.h5"), "--out", str(tmp_path / "whole.png"))
    assert whole.code == 0 and "incomplete" not in whole.out
