"""The command line as a user meets it."""

from __future__ import annotations

import h5py
from conftest import ROOT, cli


def test_help_explains_the_commands():
    """Every command is listed with the first words of its own explanation."""
    from crisis_sim.cli import app

    proc = cli("--help", check=True, env={"COLUMNS": "200"})
    listed = {line.strip("│ ").split()[0]: line for line in proc.stdout.splitlines()
              if line.startswith("│ ") and not line.startswith("│ --")}
    for command in app.registered_commands:
        name = command.name or command.callback.__name__
        words = " ".join(command.callback.__doc__.split()[:4])
        assert name in listed, f"{name} is not listed"
        assert words in listed[name], f"{name}: {listed[name]!r}"


def test_scenarios_lists_bundled_names_with_titles():
    from crisis_sim import scenario

    proc = cli("scenarios", check=True, env={"COLUMNS": "300"})
    rows = [line.split(maxsplit=1) for line in proc.stdout.splitlines() if line.strip()]
    names = scenario.bundled_names()
    assert [r[0] for r in rows] == names
    for (_, title), name in zip(rows, names, strict=True):
        assert title.strip() == scenario.load(name).title


def test_validate_accepts_the_shipped_configs():
    for path in sorted((ROOT / "configs").glob("*.toml")):
        proc = cli("validate", str(path))
        assert proc.returncode == 0, f"{path}: {proc.stderr}"
        assert proc.stdout.startswith("ok")
    lines = {name: cli("validate", name, check=True).stdout.strip()
             for name in ("default", "nato_2001")}
    assert lines == {
        "default": "ok: default: 19 states, 1 institution, 3 treaties; RED against BLUE",
        "nato_2001": "ok: nato_2001: 20 states, 1 institution, 0 treaties; AFG against USA",
    }


def test_configs_are_the_bundled_scenarios():
    bundled = ROOT / "src" / "crisis_sim" / "scenarios"
    for path in bundled.glob("*.toml"):
        assert (ROOT / "configs" / path.name).read_bytes() == path.read_bytes(), path.name


def test_summary_figures_state_their_base(default_result):
    """Each figure of the wars says over how many wars it is taken."""
    import re

    out = " ".join(cli("summarize", str(default_result), check=True).stdout.split())
    wars = re.search(r"crisis length \(days, ([\d,]+) wars\)", out)
    assert wars, out
    n = wars.group(1)
    assert re.search(rf"on the target's side \(day, in [\d,]+ of {n} wars\)", out)
    assert f"states at war (mean over {n} wars)" in out
    assert f"Security Council, in {n} wars: highest response adopted:" in out
    assert "; last vote:" in out and "(wars with one)" in out


def test_the_council_line_gives_its_highest_response_and_its_last_vote(default_result):
    """A council that condemned, then was vetoed on sanctions, responded: the line says both."""
    import re

    import numpy as np

    with h5py.File(default_result, "r") as f:
        attacked = f["runs/outcome"][...] != 0
        level = f["runs/response_level"][:, 0][attacked]
    out = " ".join(cli("summarize", str(default_result), check=True).stdout.split())
    said = re.search(r"highest response adopted: (.*?); last vote:", out)
    assert said, out
    shown = dict(part.rsplit(" ", 1) for part in said.group(1).split(", "))
    condemned = np.mean(level == 1)
    assert condemned > 0.01  # the fixture's council condemns in some wars
    assert shown["condemnation"] == f"{condemned:.0%}"
    assert shown["none"] == f"{np.mean(level == 0):.0%}"


def test_summarize_reports_shares_with_intervals(default_result):
    """Each outcome's row: its share in the file and that share's Wilson interval."""
    import numpy as np

    from crisis_sim.analysis import wilson
    from crisis_sim.outcomes import OUTCOMES, in_words

    with h5py.File(default_result, "r") as f:
        outcome = f["runs/outcome"][...]
    proc = cli("summarize", str(default_result), check=True, env={"COLUMNS": "300"})
    assert "95% interval" in proc.stdout and "Security Council" in proc.stdout
    rows = {
        cells[0]: cells[1:]
        for line in proc.stdout.splitlines()
        if len(cells := [c.strip() for c in line.strip("│ ").split("│")]) == 3
    }
    for code, name in enumerate(OUTCOMES):
        k = int(np.sum(outcome == code))
        lo, hi = wilson(k, len(outcome))
        assert rows[in_words(name)] == [f"{k / len(outcome):.1%}", f"{lo:.1%} – {hi:.1%}"]


def test_a_summary_without_any_war_says_so(tmp_path):
    """No empty vote line and no 0.00 belligerents where the aggressor never attacked."""
    text = (ROOT / "src/crisis_sim/scenarios/default.toml").read_text()
    peace = tmp_path / "peace.toml"
    peace.write_text(text.replace("attack_threshold = 0.5", "attack_threshold = 1.0"))
    out = tmp_path / "peace.h5"
    proc = cli("run", str(peace), "--runs", "300", "--out", str(out), check=True)
    assert "deterred           │ 100.0%" in proc.stdout
    assert "no war: the aggressor was deterred in every replication" in proc.stdout
    assert "Security Council: never voted (no war)" in proc.stdout
    assert "states at war" not in proc.stdout


def test_trace_replays_the_stored_replication(default_result):
    with h5py.File(default_result, "r") as f:
        outcomes = f["runs/outcome"][:50]
    for run in (int((outcomes == 0).argmax()), int((outcomes != 0).argmax())):
        proc = cli("trace", str(default_result), "--run", str(run), check=True,
                   env={"COLUMNS": "300"})
        assert "matches the stored result" in proc.stdout
        steps = [line.split()[1:4:2] for line in proc.stdout.splitlines()
                 if line.startswith("  day")]
        days = [int(day) for day, _ in steps]
        assert days == sorted(days) and days[0] == 0, proc.stdout  # no day -1, in order
        assert steps[0][1] == "1" and steps[-1][1] == "12", proc.stdout


def test_trace_tells_a_day_in_order_and_marks_what_follows_the_end(default_result):
    """A vote comes before the deliberation it opens; a vote after the end says so."""
    import numpy as np

    with h5py.File(default_result, "r") as f:
        end, decided = f["runs/end_day"][...], f["runs/decision_day"][...].max(axis=1)
    late = np.flatnonzero((end >= 0) & (decided > end))
    assert len(late), "no replication of the fixture votes after its end"
    proc = cli("trace", str(default_result), "--run", str(late[0]), check=True,
               env={"COLUMNS": "300"})
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("  day")]
    ended = next(i for i, ln in enumerate(lines) if "end:" in ln)
    assert all("(after the end)" in ln for ln in lines[ended + 1:]), proc.stdout
    assert lines[ended + 1:], proc.stdout  # the late vote is told
    assert not any("(after the end)" in ln for ln in lines[:ended + 1]), proc.stdout
    told = [ln.split("Security Council ", 1)[1] for ln in lines if "Security Council " in ln]
    for before, after in zip(("condemnation", "sanctions"), ("sanctions", "military"), strict=True):
        if f"deliberates on {after} (about" in " ".join(told):
            vote = next(i for i, t in enumerate(told) if t.startswith(f"votes on {before}"))
            opened = next(i for i, t in enumerate(told) if t.startswith(f"deliberates on {after}"))
            assert vote < opened, proc.stdout


def test_trace_tells_names_with_brackets_as_they_are(tmp_path):
    """State and treaty names are free text: brackets in them are not terminal markup."""
    text = (ROOT / "src/crisis_sim/scenarios/default.toml").read_text()
    odd = tmp_path / "odd.toml"
    odd.write_text(text.replace('name = "Redland"', 'name = "Red[/]land [fr]"'))
    out = tmp_path / "odd.h5"
    cli("run", str(odd), "--runs", "50", "--out", str(out), "-q", check=True)
    proc = cli("trace", str(out), "--run", "0", check=True, env={"COLUMNS": "300"})
    assert "Red[/]land [fr] estimates its chance of winning" in proc.stdout, proc.stdout


def test_refuses_to_overwrite_without_being_asked(default_result):
    before = default_result.read_bytes()
    proc = cli("run", "--runs", "10", "--out", str(default_result), "-q")
    assert proc.returncode == 2
    assert "--overwrite" in proc.stderr and "Traceback" not in proc.stderr
    assert default_result.read_bytes() == before


def test_unknown_scenario_is_one_clear_line():
    proc = cli("run", "no_such_scenario", "--runs", "10")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "no_such_scenario" in proc.stderr


def test_resume_refuses_options_it_would_ignore(default_result):
    before = default_result.read_bytes()
    proc = cli("run", "--resume", "--out", str(default_result), "--seed", "5")
    assert proc.returncode == 2
    assert "--seed" in proc.stderr and proc.stderr.count("\n") == 1
    assert default_result.read_bytes() == before


def test_the_command_exits_quickly_with_its_output_whole_and_its_status(tmp_path):
    """The entry point skips the interpreter's teardown: nothing written may be lost by it."""
    out = tmp_path / "r.h5"
    done = cli("run", "--runs", "500", "--workers", "2", "--chunk-size", "100", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("wrote ")
    assert "median day of the last decision" in done.stdout  # the summary reached the pipe
    with h5py.File(out, "r") as f:
        assert f.attrs["complete"] == 1 and f["runs/committed"][...].all()
    bad = cli("run", "--runs", "0")
    assert bad.returncode == 2
    assert bad.stderr.strip() == "crisis-sim: error: --runs 0: must be at least 1"


def test_help_gives_a_type_for_values_and_none_for_flags():
    """A flag takes no value, so ``--help`` shows no type beside it; an option with a value
    keeps its type (``--quiet``, but ``--runs <int>``)."""
    import re

    import typer
    from typer.testing import CliRunner

    from crisis_sim.cli import app

    group = typer.main.get_command(app)
    runner = CliRunner()
    flags_seen = 0
    for name, command in [(None, group), *group.commands.items()]:
        args = [name, "--help"] if name else ["--help"]
        out = runner.invoke(app, args, env={"COLUMNS": "200"}, prog_name="crisis-sim").output
        rows = [line.split() for line in out.splitlines() if re.match(r"│ +--", line)]
        options = [p for p in command.params if p.opts[0].startswith("-")]
        is_flag = {"--help": True} | {o: p.is_flag for p in options for o in p.opts}
        listed = {row[1] for row in rows}
        assert {"--help"} | {p.opts[0] for p in options} <= listed, f"{args}: {listed}"
        for row in rows:
            flags_seen += is_flag[row[1]] and row[1] != "--help"
            assert bool(re.search(r"<[^ ]+>", " ".join(row))) != is_flag[row[1]], f"{args}: {row}"
    assert flags_seen >= 5  # --quiet, --overwrite, --resume, --aliases, ...


def test_one_replication_is_counted_in_the_singular(tmp_path):
    proc = cli("run", "--runs", "1", "--out", str(tmp_path / "one.h5"), check=True)
    assert "wrote" in proc.stdout and ": 1 replication of 'default'" in proc.stdout
    assert "default: 1 replication, seed 1" in proc.stdout
    assert "1 replications" not in proc.stdout


def test_self_help_summary_speaks_of_decisions_not_votes(tmp_path):
    """Balancers of power hold no vote: the summary says whether one resolved to act."""
    out = tmp_path / "crimea.h5"
    proc = cli("run", "crimea_1853", "--runs", "300", "--out", str(out), check=True)
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("Balance of power"))
    assert "; last decision: " in line and "resolved to act" in line
    assert "last vote" not in line and "passed" not in line
