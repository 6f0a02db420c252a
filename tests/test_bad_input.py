"""Bad input of every kind gives exit status 2 and one line naming file, key and value.

Scenario files are checked in-process by the thousand (``scenario.from_dict`` and ``load``
on files) and a handful go through the real ``crisis-sim validate`` and ``run``. CLI values
and result files that are not ours, or corrupt, follow the same rule.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import re
import socket
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import h5py
import pytest
from conftest import ROOT, cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from inproc import main, one_error_line

from crisis_sim import scenario
from crisis_sim.errors import InputError

# --------------------------------------------------------------------------- helpers


def bundled_raw() -> dict[str, dict[str, Any]]:
    """Every bundled scenario as the dictionary ``tomllib`` reads from it."""
    return {name: tomllib.loads(scenario.bundled_path(name).read_text(encoding="utf-8"))
            for name in scenario.bundled_names()}


RAW = bundled_raw()
DEFAULT = RAW["default"]


def toml_value(v: Any) -> str:
    """``v`` as a TOML value (inline tables and arrays; enough to write any scenario back)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v) if abs(v) < 10**4000 else hex(v)  # Python prints no longer decimals
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        items = (f"{json.dumps(str(k))} = {toml_value(x)}" for k, x in v.items())
        return "{" + ", ".join(items) + "}"
    raise TypeError(type(v))


def toml_text(raw: dict[str, Any]) -> str:
    """A scenario dictionary written back as a TOML document."""
    return "".join(f"{json.dumps(str(k))} = {toml_value(v)}\n" for k, v in raw.items())


# A key path as TOML writes it: the schema's own keys, or any key a file may hold (an unknown
# one such as 0description as written, an odd one quoted: "a b").
_KEY = r'(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*")'
KEY_PATH = re.compile(rf"{_KEY}(\[\d+\]|\.{_KEY})*[ :]")


def assert_one_line_naming(message: str, origin: str) -> None:
    """The message is one line: ``ORIGIN: KEY.PATH ...``."""
    assert "\n" not in message and "\r" not in message, repr(message)
    assert message.startswith(f"{origin}: "), message
    rest = message[len(origin) + 2:]
    assert KEY_PATH.match(rest) or rest.startswith("TOML syntax error"), message
    assert len(message) < 600, f"message too long ({len(message)} chars)"


def write(tmp_path: Path, name: str, raw: dict[str, Any]) -> Path:
    path = tmp_path / name
    path.write_text(toml_text(raw), encoding="utf-8")
    return path


def test_toml_writer_round_trips_every_bundled_scenario(tmp_path):
    for name, raw in RAW.items():
        path = write(tmp_path, f"{name}.toml", raw)
        assert tomllib.loads(path.read_text()) == raw
        assert scenario.load(path).name == raw["name"]


# --------------------------------------------------------------------------- the named cases


def _set(path: tuple[Any, ...], value: Any):
    def mutate(raw: dict[str, Any]) -> None:
        node = raw
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return mutate


def _append(path: tuple[Any, ...], value: Any):
    def mutate(raw: dict[str, Any]) -> None:
        node: Any = raw
        for key in path:
            node = node[key]
        node.append(copy.deepcopy(value) if not callable(value) else value(raw))
    return mutate


NAMED_CASES = {
    # case: (mutation, key path the message must name, value the message must show)
    "unknown key": (_set(("colour",), "red"), "colour", "'red'"),
    "unknown nested key": (_set(("states", 2, "size"), 3), "states[2].size = 3 (state GREEN)",
                           "unknown key"),
    "misspelt key": (_set(("states", 2, "willingnes"), 0.7), "states[2].willingnes",
                     "unknown key; did you mean willingness?"),
    "wrong type": (_set(("horizon_days",), "a year"), "horizon_days", "'a year'"),
    "bool for a number": (_set(("combat", "attrition"), True), "combat.attrition", "= true"),
    "out of bounds": (_set(("horizon_days",), 100_000), "horizon_days", "100000"),
    "probability 1.5": (_set(("states", 2, "willingness"), 1.5), "states[2].willingness", "1.5"),
    "negative delay": (_set(("institutions", 0, "referral", "median"), -3.0),
                       "institutions[0].referral.median", "-3.0"),
    "NaN": (_set(("combat", "attrition"), math.nan), "combat.attrition", "nan"),
    "infinity": (_set(("decision", "misperception"), math.inf), "decision.misperception", "inf"),
    "huge number": (_set(("combat", "defender_advantage"), 1e300), "combat.defender_advantage",
                    "1e+300"),
    "huge integer": (_set(("horizon_days",), 10**40), "horizon_days", "1" + "0" * 40),
    "integer too long to print": (_set(("horizon_days",), 10**5000), "horizon_days",
                                  "integer of 5001 digits"),
    "state in a missing institution": (_append(("institutions", 0, "members"), "ATLANTIS"),
                                       "institutions[0].members", "'ATLANTIS'"),
    "treaty party not a state": (_set(("treaties", 0, "parties"), ["BLUE", "NOWHERE"]),
                                 "treaties[0].parties", "'NOWHERE'"),
    "veto for a non-member": (_set(("institutions", 0, "permanent"), ["WEST", "RED"]),
                              "institutions[0].permanent", "'RED'"),
    "empty membership": (_set(("institutions", 0, "members"), []), "institutions[0].members = []",
                         "at least 1"),
    "duplicate state": (_append(("states",), lambda raw: copy.deepcopy(raw["states"][3])),
                        "states", "'PURPLE'"),
    "duplicate treaty": (_append(("treaties",), lambda raw: copy.deepcopy(raw["treaties"][0])),
                         "treaties[3].name", "duplicate treaty"),
    "treaties named alike": (
        _append(("treaties",), lambda raw: {**copy.deepcopy(raw["treaties"][0]),
                                            "name": raw["treaties"][0]["name"].replace(" ", "_")}),
        "treaties[3].name", "would name the same parameters"),
    "institutions named alike": (
        _append(("institutions",), lambda raw: {**copy.deepcopy(raw["institutions"][0]),
                                                "name": "Security_Council"}),
        "institutions[1].name", "would name the same parameters"),
    "aggressor not a state": (_set(("aggressor",), "ZZZ"), "aggressor", "'ZZZ'"),
    "aggressor attacks itself": (_set(("target",), "RED"), "target", "'RED'"),
    "aggressor with nothing at hand": (
        _set(("states", 0, "mobilization", "transit_days"), 5.0),
        "states[0].mobilization", "transit_days = 5"),
    "bad state code": (_set(("states", 0, "code"), "red land"), "states[0].code = 'red land':",
                       "must be a state code"),
    "key of another table": (_set(("states", 0, "quota"), 3), "states[0].quota",
                             "(state RED): unknown key"),
    "one-party treaty": (_set(("treaties", 0, "parties"), ["BLUE"]), "treaties[0].parties",
                         "must list at least 2 (it lists 1)"),
    "table instead of list": (_set(("states",), {"code": "RED"}), "states", "table"),
    "missing required key": (lambda raw: raw["states"][0].pop("capability"),
                             "states[0].capability (state RED): missing", "required"),
    "no capability data": (_set(("states", 0, "capability"), {"cow": "ZZZ", "year": 1900}),
                           "states[0].capability", "'ZZZ'"),
    "stages that do not escalate": (
        _set(("institutions", 0, "stages", 1, "level"), "condemnation"),
        "institutions[0].stages[1].level", "'condemnation' repeats the stage before"),
    "quota above members": (_set(("institutions", 0, "quota"), 99), "institutions[0].quota", "99"),
    "the authority's force a party": (
        lambda raw: [_set(("institutions", 0, "rule"), "central_authority")(raw),
                     _set(("institutions", 0, "force"), "RED")(raw)],
        "institutions[0].force", "'RED'"),
    "date for a number": (_set(("horizon_days",), dt.date(1914, 7, 28)), "horizon_days", "1914"),
}


@pytest.mark.parametrize("case", list(NAMED_CASES))
def test_each_malformed_scenario_is_one_line_naming_file_key_and_value(case, tmp_path):
    mutate, key, value = NAMED_CASES[case]
    raw = copy.deepcopy(DEFAULT)
    mutate(raw)
    path = write(tmp_path, "broken.toml", raw)
    with pytest.raises(InputError) as err:
        scenario.load(path)
    message = str(err.value)
    assert_one_line_naming(message, str(path))
    assert key in message, f"{case}: key {key!r} not named in {message!r}"
    assert value in message, f"{case}: value {value!r} not shown in {message!r}"
    if "did you mean" in message:  # a suggestion is a key of the table at fault
        assert message.endswith(("did you mean willingness?",)), message


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_a_device_given_as_a_scenario_is_refused_not_read_for_ever(capsys):
    line = one_error_line(main(capsys, "validate", "/dev/zero"))
    assert line == ("crisis-sim: error: /dev/zero: over 16 MiB, not a scenario file "
                    "(the bundled ones are a few kB)")


def test_toml_syntax_error_names_file_and_line(tmp_path):
    path = tmp_path / "syntax.toml"
    path.write_text('name = "x"\nhorizon_days = = 3\n')
    with pytest.raises(InputError, match=r"syntax\.toml: TOML syntax error: .*line 2"):
        scenario.load(path)


@pytest.mark.parametrize("text", [
    "a = " + "[" * 3000 + "]" * 3000,
    "a = " + "{b = " * 3000 + "1" + "}" * 3000,
    "\x00\x01\x02",
    "horizon_days = " + "9" * 5000,
    "a = 1979-13-45",
    "name = \"\ud7ff\"\n",
])
def test_pathological_toml_is_an_input_error_not_a_crash(tmp_path, text):
    path = tmp_path / "odd.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    with pytest.raises(InputError) as err:
        scenario.load(path)
    assert str(err.value).startswith(f"{path}: ")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("args", [("summarize",), ("trace",), ("plot",), ("sensitivity",),
                                  ("run", "--resume", "--out"), ("sweep", "--resume", "--out"),
                                  ("compare", "--resume", "--out")])
def test_a_file_that_is_not_hdf5_says_so_once(capsys, tmp_path, args):
    text = tmp_path / "notes.h5"
    text.write_text("not a result file")
    line = one_error_line(main(capsys, *args, str(text)))
    assert line.endswith(f"{text}: not an HDF5 file, so not a crisis_sim result file"), line


def test_unreadable_scenario_files_are_input_errors(tmp_path):
    (tmp_path / "binary.toml").write_bytes(b"\xff\xfe\x00name")
    (tmp_path / "dir.toml").mkdir()
    for name in ("binary.toml", "dir.toml", "missing.toml"):
        with pytest.raises(InputError, match=re.escape(str(tmp_path / name))):
            scenario.load(tmp_path / name)
    with pytest.raises(InputError, match="dir.toml: a folder, not a scenario file"):
        scenario.load(tmp_path / "dir.toml")
    for empty in ("", " "):
        with pytest.raises(InputError, match="no scenario named; give a scenario file"):
            scenario.load(empty)


def test_a_scenario_saved_with_a_byte_order_mark_is_read_as_without(tmp_path):
    """Windows editors may start a UTF-8 file with a BOM; it is not TOML, but it is harmless."""
    text = (ROOT / "src/crisis_sim/scenarios/default.toml").read_bytes()
    (tmp_path / "bom.toml").write_bytes(b"\xef\xbb\xbf" + text)
    assert scenario.load(tmp_path / "bom.toml") == scenario.load("default")


def test_a_result_file_given_as_the_scenario_is_named_for_what_it_is(capsys, tmp_path):
    out = tmp_path / "r.h5"
    assert main(capsys, "run", "--runs", "5", "--out", str(out), "-q").code == 0
    for command in ("validate", "run"):
        line = one_error_line(main(capsys, command, str(out)))
        assert f"{out}: an HDF5 file, not a scenario (TOML)" in line
        assert "crisis-sim summarize" in line


def test_python_code_in_a_scenario_is_only_a_string(tmp_path):
    marker = tmp_path / "pwned"
    code = f"__import__('pathlib').Path({str(marker)!r}).write_text('x')"
    raw = copy.deepcopy(DEFAULT)
    raw["title"] = code
    raw["description"] = f"!!python/object/apply:os.system ['touch {marker}']"
    raw["states"][0]["name"] = "{{ " + code + " }}"
    path = write(tmp_path, "code.toml", raw)
    sc = scenario.load(path)
    assert sc.title == code
    assert sc.states[0].name == "{{ " + code + " }}"
    assert not marker.exists()
    # and a code string where a number belongs is refused, not evaluated
    raw["horizon_days"] = code
    with pytest.raises(InputError, match="horizon_days"):
        scenario.load(write(tmp_path, "code2.toml", raw))
    assert not marker.exists()


def test_only_toml_is_read_as_a_scenario(tmp_path):
    pickled = tmp_path / "scenario.pkl"
    import pickle

    pickled.write_bytes(pickle.dumps(DEFAULT))
    with pytest.raises(InputError, match="not a TOML text file|TOML syntax error"):
        scenario.load(pickled)
    as_json = tmp_path / "scenario.json"
    as_json.write_text(json.dumps(DEFAULT))
    with pytest.raises(InputError, match="TOML syntax error"):
        scenario.load(as_json)


# --------------------------------------------------------------------------- generated breakage


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


PATHS = {name: _paths(raw) for name, raw in RAW.items()}
CODES = sorted({s["code"] for raw in RAW.values() for s in raw["states"]})

weird_values = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -1e308, 10**30, -(10**30), 2**63,
                     -1, 0, 1, -0.5, 1.5, 1e-320, 3651, 0.0, True, False, "", "nan", "1e999",
                     "ZZZ", "RED", "__import__('os').system('true')", [], {}, [[]], [{}],
                     dt.date(1914, 7, 28), dt.time(12, 0), "x" * 5000, 10**5000]),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.lists(st.sampled_from(CODES + ["ZZZ", "", "red"]), max_size=4),
    st.dictionaries(st.sampled_from(["mean", "median", "code", "level", "x", "cow", "year"]),
                    st.one_of(st.integers(-5, 5000), st.floats(), st.text(max_size=5)),
                    max_size=3),
)


@st.composite
def broken_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """A bundled scenario with one to three mutations: delete, retype, rescale, add, re-point.

    Drawn values are copied: ``weird_values`` samples from shared ``[]`` and ``{}``, which a
    later mutation would otherwise change for every example after it (a flaky strategy).
    """
    name = draw(st.sampled_from(sorted(RAW)))
    raw = copy.deepcopy(RAW[name])
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(raw)
        path = draw(st.sampled_from(paths))
        parent: Any = raw
        for key in path[:-1]:
            parent = parent[key]
        last = path[-1]
        if last not in (parent if isinstance(parent, dict) else range(len(parent))):
            continue
        kind = draw(st.sampled_from(["delete", "replace", "scale", "unknown_key", "reference",
                                     "duplicate"]))
        old = parent[last]
        if kind == "delete":
            del parent[last]
        elif kind == "replace":
            parent[last] = copy.deepcopy(draw(weird_values))
        elif kind == "scale" and isinstance(old, int | float) and not isinstance(old, bool):
            factor = draw(st.sampled_from([-1, 10, 1000, 1e6, 1e300, 0.5, 0]))
            try:
                parent[last] = old * factor
            except OverflowError:  # an integer beyond any float, from an earlier mutation
                parent[last] = -old
        elif kind == "unknown_key" and isinstance(old, dict):
            old[draw(st.text(min_size=1, max_size=12))] = copy.deepcopy(draw(weird_values))
        elif kind == "reference" and isinstance(old, str):
            parent[last] = draw(st.sampled_from(CODES + ["ZZZ", "NOPE_1"]))
        elif kind == "reference" and isinstance(old, list) and all(isinstance(x, str) for x in old):
            parent[last] = draw(st.lists(st.sampled_from(CODES + ["ZZZ"]), max_size=5))
        elif kind == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(old))
        else:
            parent[last] = copy.deepcopy(draw(weird_values))
    return raw


@settings(max_examples=2000, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(raw=broken_scenarios())
def test_thousands_of_broken_scenarios_give_one_line_input_errors(raw):
    origin = "mutant.toml"
    try:
        sc = scenario.from_dict(raw, origin=origin)
    except InputError as exc:
        assert_one_line_naming(str(exc), origin)
    else:  # a mutation that happens to be valid must give a usable, storable, runnable scenario
        assert scenario.from_json(sc.to_json()).to_json() == sc.to_json()
        from crisis_sim.compiled import compile_scenario
        from crisis_sim.crisis import simulate_chunk

        arrays = simulate_chunk(compile_scenario(sc), 1, 0, 1)
        assert len(arrays["outcome"]) == 1


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(raw=broken_scenarios(), cut=st.integers(0, 20_000), junk=st.text(max_size=8))
def test_broken_scenario_files_give_one_line_input_errors(tmp_path, raw, cut, junk):
    path = tmp_path / "mutant.toml"
    text = toml_text(raw)
    cut = cut % (len(text) + 1)
    if junk:  # also damage the text itself: an insertion at a random place
        text = text[:cut] + junk + text[cut:]
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        scenario.load(path)
    except InputError as exc:
        assert_one_line_naming(str(exc), str(path))


def test_broken_scenarios_through_the_real_command(tmp_path):
    """A handful through the installed command: validate and run, exit 2, one line, no file."""
    cases = ["probability 1.5", "veto for a non-member", "NaN", "duplicate state"]
    for i, case in enumerate(cases):
        mutate, key, value = NAMED_CASES[case]
        raw = copy.deepcopy(DEFAULT)
        mutate(raw)
        path = write(tmp_path, f"broken{i}.toml", raw)
        command = ("validate", str(path)) if i % 2 == 0 else (
            "run", str(path), "--runs", "10", "--out", str(tmp_path / "x.h5"), "-q")
        proc = cli(*command)
        assert proc.returncode == 2, (case, proc.stderr)
        lines = proc.stderr.splitlines()
        assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert str(path) in lines[0] and key in lines[0] and value in lines[0], lines[0]
    (tmp_path / "syntax.toml").write_text("name = 'x\n")
    proc = cli("validate", str(tmp_path / "syntax.toml"))
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1
    assert "syntax.toml: TOML syntax error" in proc.stderr
    assert not (tmp_path / "x.h5").exists()


# --------------------------------------------------------------------------- CLI values


@pytest.mark.parametrize("args,named", [
    (("--runs", "0"), "--runs 0"),
    (("--runs", "-5"), "--runs -5"),
    (("--workers", "0"), "--workers 0"),
    (("--workers", "-2"), "--workers -2"),
    (("--chunk-size", "0"), "--chunk-size 0"),
    (("--chunk-size", "-100"), "--chunk-size -100"),
    (("--append", "-3"), "--append -3"),
    (("--append", "0"), "--append 0: must be positive"),  # not read as no --append at all
    (("--runs", "many"), "--runs many: must be a whole number"),  # what was typed
    (("--seed=1e3",), "--seed 1e3: must be a whole number"),
    (("-n", "1\x1b[31m"), "-n '1\\x1b[31m': must be a whole number"),
    (("--no-such-option",), "--no-such-option"),
    # Too many: refused at once, not out of memory or hung cutting the work into chunks.
    (("--runs", "99999999999999999999"), "must be at most 10,000,000,000"),
    (("--workers", "99999999999999999999"), "must be at most 1,024"),
])
def test_bad_option_values_are_one_line_and_leave_no_file(capsys, tmp_path, args, named):
    out = tmp_path / "r.h5"
    line = one_error_line(main(capsys, "run", "--out", str(out), "-q", *args))
    assert named in line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command,extra,kind", [
    ("run", (), "result file"),
    ("sweep", ("--param", "willingness"), "sweep file"),
    ("compare", (), "comparison file"),
])
def test_a_taken_out_is_refused_before_any_worker_or_compiling(tmp_path, command, extra, kind):
    """Refused at once: not after the workers' kernels were compiled (about 25 s) for nothing."""
    from conftest import cli

    out = tmp_path / "taken.h5"
    out.write_bytes(b"mine")
    cache = tmp_path / "fresh-cache"  # nothing compiled yet: the first parallel run would build
    proc = cli(command, *extra, "--runs", "10", "--workers", "2", "--out", str(out),
               env={"NUMBA_CACHE_DIR": str(cache)})  # fmt: skip
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1
    assert "taken.h5: file exists" in proc.stderr and "compiling" not in proc.stderr
    assert not cache.exists() or not any(cache.iterdir()), "nothing built for a refused run"
    assert out.read_bytes() == b"mine"
    missing = cli(command, *extra, "--runs", "10", "--workers", "2",
                  "--out", str(tmp_path / "no" / "x.h5"), env={"NUMBA_CACHE_DIR": str(cache)})
    assert missing.returncode == 2 and f"cannot create {kind}" in missing.stderr
    assert not cache.exists() or not any(cache.iterdir())


@pytest.mark.parametrize("command,typed,said", [
    ("run", "--sed", "No such option: --sed; did you mean --seed?"),
    ("run", "--quite", "No such option: --quite; did you mean --quiet?"),
    ("sweep", "--point", "No such option: --point; did you mean --points?"),
    ("compare", "--arrangement", "No such option: --arrangement; did you mean --arrangements?"),
    # Nothing alike: no suggestion (click alone would offer '--out' for '--foo').
    ("run", "--foo", "No such option: --foo; see crisis-sim run --help"),
    ("sweep", "--zzz", "No such option: --zzz; see crisis-sim sweep --help"),
    ("run", "-x", "No such option: -x; see crisis-sim run --help"),
    # Control characters typed into an option name are shown escaped, on one line.
    ("run", "--a\nb\x1b[31m", "No such option: '--a\\nb\\x1b[31m'; see crisis-sim run --help"),
])
def test_a_mistyped_option_gets_only_close_suggestions(capsys, tmp_path, command, typed, said):
    line = one_error_line(main(capsys, command, typed, "3", "--out", str(tmp_path / "x.h5")))
    assert line == f"crisis-sim: error: {said}"
    assert list(tmp_path.iterdir()) == []


def test_the_program_is_called_crisis_sim_however_it_was_started():
    """Started as ``python -m crisis_sim``, its messages still name the command to type."""
    from conftest import cli

    proc = cli("run", "--foo", "3")
    assert proc.returncode == 2
    assert proc.stderr == "crisis-sim: error: No such option: --foo; see crisis-sim run --help\n"
    assert cli("run", "--help").stdout.split("Usage: ", 1)[1].startswith("crisis-sim run ")


BIG = str(2**64)


@pytest.mark.parametrize("args,named", [
    (("run", "--seed", BIG, "--runs", "10"), f"--seed {BIG}"),
    (("sweep", "--seed", BIG, "--param", "willingness", "--points", "2", "--runs", "10"),
     f"--seed {BIG}"),
    (("compare", "--seed", BIG, "--runs", "10"), f"--seed {BIG}"),
    (("sweep", "--seed", "-5", "--param", "willingness", "--design", "sobol", "--points", "4",
      "--runs", "10"), "--seed -5"),
    (("run", "--seed", "-1", "--runs", "10"), "--seed -1"),
    (("assumptions", "--seed", BIG, "--runs", "10"), f"--seed {BIG}"),
    (("assumptions", "--runs", "10", "--plot", "fig.txt"), "--plot fig.txt"),
    (("assumptions", "--runs", "10", "--plot", "no/such/folder/a.png"), "no such folder"),
    (("compare", "--runs", "-1"), "--runs -1"),
    (("run", "--runs", "10", "--out", "fig.png"), "--out fig.png: a result file is HDF5"),
    (("compare", "--runs", "10", "--out", "c.toml"), "--out c.toml: a comparison file is HDF5"),
    (("compare", "--runs", "0"), "--runs 0"),
    (("compare", "--runs", "10", "--plot", "fig.txt"), "--plot fig.txt"),
    (("compare", "--runs", "10", "--plot", "no/such/folder/fig.png"), "no such folder"),
    (("run", "--append", "10", "--overwrite"), "--append"),
    (("run", "--append", "10", "--resume"), "--append"),
    (("run", "--resume", "--overwrite"), "--resume"),
    (("compare", "--resume", "--overwrite"), "--resume"),
    (("compare", "--resume", "--runs", "10"), "--runs"),
    (("compare", "--resume", "--arrangements", "none"), "--arrangements"),
    (("compare", "--resume", "--seed", "3"), "--seed"),
    (("compare", "--resume"), "no such comparison file"),
    (("compare", "--chunk-size", "0"), "--chunk-size 0"),
    (("compare", "--arrangements", ","), "names no arrangement"),
    (("compare", "--arrangements", ""), "--arrangements '': names no arrangement"),
    (("compare", "--runs", "10", ""), "'': no scenario named"),
    (("run", "--runs", "10", ""), "'': no scenario named"),
    (("sweep", "--param", "willingness", "--runs", "10", ""), "'': no scenario named"),
    (("assumptions", "--runs", "10", ""), "'': no scenario named"),
    (("sweep", "--param", "willingness", "--param", "states.RED.willingness", "--points", "2",
      "--runs", "10"), "--param states.RED.willingness: sets numbers that --param willingness"),
    (("sweep", "--param", "states.*.willingness", "--param", "willingness", "--points", "2",
      "--runs", "10"), "sets numbers that --param states.*.willingness sets too"),
    (("sweep", "--param", "willingness=", "--points", "2", "--runs", "10"),
     "--param willingness=: expected NAME=LOW:HIGH"),  # '=' with nothing after it
    (("sweep", "--param", "willingness", "--points", "1", "--runs", "10"),
     "--points 1: too few for a grid design"),  # one value would not vary it
    (("sweep", "--param", "willingness", "--param", "theory.great_power_unity", "--points", "1",
      "--runs", "10"), "--points 1: too few for a grid design"),  # nor with a switch beside it
    (("sweep", "--param", "willingness", "--points", "99999999999999999999", "--runs", "10"),
     "at most 1,000,000 in one sweep"),
    (("sweep", "--param", "horizon_days", "--param", "decision.misperception", "--points",
      "100000", "--runs", "10"), "a grid design of 365,000,000 points"),  # 3,650 days at most
    (("sweep", "--param", "willingness", "--design", "sobol", "--points", str(2**40),
      "--runs", "10"), "a sobol design of 3,298,534,883,328 points"),
])
def test_bad_values_of_every_command_are_one_line_and_leave_no_file(
    capsys, tmp_path, monkeypatch, args, named
):
    """Checked before any work: a refused command writes nothing, not even a figure's file."""
    monkeypatch.chdir(tmp_path)
    command, *rest = args
    line = one_error_line(main(capsys, command, "--out", str(tmp_path / "r.h5"), "-q", *rest)
                          if command != "assumptions" else main(capsys, command, "-q", *rest))
    assert named in line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["compare", "assumptions", "sensitivity"])
def test_a_folder_named_as_the_figure_is_refused_before_any_work(capsys, tmp_path, monkeypatch,
                                                                 command):
    """A folder called d.png cannot take the figure: said at once, not after the computing."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d.png").mkdir()
    args = {"compare": ("--runs", "10", "--out", "c.h5"), "assumptions": ("--runs", "10"),
            "sensitivity": ("no_such_sweep.h5",)}[command]
    quiet = () if command == "sensitivity" else ("-q",)
    line = one_error_line(main(capsys, command, *args, "--plot", "d.png", *quiet))
    assert "--plot d.png: is a folder; give a file name for the figure" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.png"]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("tcp://127.0.0.1:{port}", "(Connection refused)"),
        ("nonsense", "not a scheduler address"),
        ("tcp://no-such-host.invalid:8786", "cannot reach the Dask scheduler ("),
    ],
)
def test_unreachable_scheduler_fails_fast_with_one_line(capsys, tmp_path, address, reason):
    """Refused by crisis_sim's own check of the address, not after Dask's connection retries.

    Dask's client would say "Timed out trying to connect" once its timeout ran out; the reasons
    here (a refused connection, a malformed address, a name that does not resolve) come from
    the check made before any client starts.
    """
    address = address.format(port=_closed_port())
    line = one_error_line(main(capsys, "run", "--runs", "10", "--scheduler", address,
                               "--out", str(tmp_path / "r.h5"), "-q"))
    assert address in line and "scheduler" in line
    assert reason in line and "Timed out" not in line, line
    assert list(tmp_path.iterdir()) == [], "a failed start must leave no result file"


def test_unwritable_output_paths_are_one_line(capsys, tmp_path):
    afile = tmp_path / "plain"
    afile.write_text("x")
    for out in (tmp_path / "no" / "such" / "dir" / "r.h5", afile / "r.h5"):
        line = one_error_line(main(capsys, "run", "--runs", "10", "--out", str(out), "-q"))
        assert str(out) in line and "cannot create" in line
    adir = tmp_path / "adir.h5"
    adir.mkdir()
    for command, extra in (("run", ()), ("run", ("--overwrite",)),
                           ("sweep", ("--param", "willingness", "--points", "2")),
                           ("compare", ())):
        line = one_error_line(main(capsys, command, "--runs", "10", "--out", str(adir), "-q",
                                   *extra))
        assert f"{adir}: is a folder; give a file name" in line, line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir.h5", "plain"]
    assert list(adir.iterdir()) == []


@pytest.fixture(scope="module")
def good_file(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("good") / "good.h5"
    from crisis_sim import experiment
    from crisis_sim.runner import InProcess

    plan = experiment.start(out, scenario.load("default"), 3, 200, overwrite=False)
    experiment.execute(out, plan, 3, InProcess(), chunk_size=100)
    return out


def _foreign_files(tmp_path: Path, good: Path) -> dict[str, Path]:
    text = tmp_path / "text.h5"
    text.write_text("outcome,deterred\n1,0\n")
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f.create_dataset("runs/outcome", data=[1, 2, 3])
    empty = tmp_path / "empty.h5"
    empty.write_bytes(b"")
    data = good.read_bytes()
    files = {"text": text, "other": other, "empty": empty}
    for frac in (0.01, 0.3, 0.9):
        cut = tmp_path / f"truncated{int(frac * 100)}.h5"
        cut.write_bytes(data[: int(len(data) * frac)])
        files[cut.stem] = cut
    return files


def test_result_files_not_ours_or_corrupt_are_one_line(capsys, tmp_path, good_file):
    for kind, path in _foreign_files(tmp_path, good_file).items():
        before = path.read_bytes()
        for args in (("summarize", str(path)), ("trace", str(path), "--run", "1"),
                     ("run", "--resume", "--out", str(path), "-q"),
                     ("run", "--append", "5", "--out", str(path), "-q")):
            line = one_error_line(main(capsys, *args))
            assert str(path) in line, (kind, args, line)
            assert "lock" not in line, f"{kind}: a damaged file is not a locked file: {line}"
        assert path.read_bytes() == before, f"{kind}: a refused file must not be touched"
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob("*.grow"))


def test_foreign_files_through_the_real_command(tmp_path, good_file):
    files = _foreign_files(tmp_path, good_file)
    for path, command in ((files["text"], "summarize"), (files["truncated30"], "trace")):
        proc = cli(command, str(path))
        assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1, proc.stderr
        assert proc.stderr.startswith(f"crisis-sim: error: {path}")


@pytest.mark.parametrize("stored", [
    "__import__('os').system('touch pwned')",
    "\x80\x04\x95 pickled",
    json.dumps({"name": "x"}),
])
def test_a_tampered_stored_scenario_is_refused_as_data(capsys, tmp_path, good_file, stored):
    path = tmp_path / "tampered.h5"
    path.write_bytes(good_file.read_bytes())
    with h5py.File(path, "r+") as f:
        f.attrs["scenario"] = stored
    figure = str(tmp_path / "fig.png")
    for args in (("summarize", str(path)), ("trace", str(path), "--run", "1"),
                 ("run", "--resume", "--out", str(path), "-q"),
                 ("plot", str(path), "--kind", "outcomes", "--out", figure),
                 ("plot", str(path), "--kind", "timeline", "--out", figure)):
        line = one_error_line(main(capsys, *args))
        assert f"{path}:scenario" in line, line
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()
    assert not (tmp_path / "fig.png").exists()


@pytest.mark.parametrize(("key", "damage"), [
    ("scenario", None), ("ranges", None),  # gone
    ("scenario", '{"name": "x"}'), ("ranges", "[1]"), ("ranges", '[{"name": "x"}]'),  # malformed
])
def test_a_sweep_file_with_a_damaged_attribute_is_one_line(capsys, tmp_path, key, damage):
    path = tmp_path / "s.h5"
    assert main(capsys, "sweep", "--param", "decision.attack_threshold=0.3:0.7", "--design",
                "sobol", "--points", "2", "--runs", "10", "--out", str(path), "-q").code == 0
    with h5py.File(path, "r+") as f:
        if damage is None:
            del f.attrs[key]
        else:
            f.attrs[key] = damage
    figure = str(tmp_path / "fig.png")
    for args in (("sensitivity", str(path)),
                 ("plot", str(path), "--kind", "sweep", "--out", figure),
                 ("sweep", "--resume", "--out", str(path), "-q")):
        line = one_error_line(main(capsys, *args))
        assert f"{path}:{key}" in line and "damaged" in line, line


CORRUPTER = """
import contextlib, io, json, random, sys
from crisis_sim.cli import main

good, work, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
data, rng, results = open(good, "rb").read(), random.Random(seed), []
for i in range(16):
    damaged = bytearray(data)
    at = rng.randrange(0, 4096) if i % 2 else rng.randrange(0, len(data))  # metadata or anywhere
    damaged[at:at + 8] = bytes(rng.randrange(256) for _ in range(8))
    open(work, "wb").write(damaged)
    for args in (["summarize", work], ["trace", work, "--run", "3"]):
        err = io.StringIO()
        sys.argv = ["crisis-sim", *args]
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                main()
                code = 0
            except SystemExit as exc:
                code = exc.code
        results.append([at, args[0], code, err.getvalue()])
print(json.dumps(results))
"""


def test_randomly_damaged_result_files_never_give_a_traceback(tmp_path, good_file):
    """Bytes overwritten at random places: a summary (damage in data), or one line, exit 2."""
    proc = subprocess.run([sys.executable, "-c", CORRUPTER, str(good_file),
                           str(tmp_path / "damaged.h5"), "7"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]  # no crash of the interpreter either
    results = json.loads(proc.stdout.splitlines()[-1])
    refused = 0
    for at, command, code, err in results:
        assert code in (0, 1, 2), (at, command, code, err)  # 1: trace says it does not match
        if code == 2:
            refused += 1
            assert len(err.splitlines()) == 1 and "Traceback" not in err, (at, command, err)
            assert err.startswith("crisis-sim: error: "), err
    assert refused, "some damage should have been detected"


def test_trace_of_a_replication_out_of_range_is_one_line(capsys, good_file):
    for run in ("-1", "200", "99999999999"):
        line = one_error_line(main(capsys, "trace", str(good_file), "--run", run))
        said = f"{good_file}: --run {run} is out of range (the file has replications 0..199)"
        assert said in line


def test_files_of_another_kind_or_with_nothing_written_are_one_line(capsys, tmp_path, good_file):
    """Each command says what the file is, and a file with no replication yet has no shares."""
    from crisis_sim import experiment

    empty = tmp_path / "started.h5"
    experiment.start(empty, scenario.load("default"), 3, 200, overwrite=False)
    cmp_file = tmp_path / "cmp.h5"
    assert main(capsys, "compare", "--runs", "20", "--out", str(cmp_file), "-q").code == 0
    for args, named in (
        (("summarize", str(empty)), "no replication is written yet"),
        (("plot", str(empty), "--out", str(tmp_path / "o.png")), "no replication is written yet"),
        (("plot", str(empty), "--kind", "timeline", "--out", str(tmp_path / "t.png")),
         "no replication is written yet"),
        (("summarize", str(cmp_file)), "a comparison of arrangements, not a single run; "
         f"crisis-sim compare --resume --out {cmp_file} prints its table again"),
        (("trace", str(cmp_file)), "a comparison of arrangements, not a single run;"),
        (("plot", str(cmp_file), "--out", str(tmp_path / "c.png")),
         "a comparison of arrangements, not a single run or sweep;"),
        (("sensitivity", str(good_file)), "a single run, not a parameter sweep"),
        (("compare", "--resume", "--out", str(good_file)),
         "a single run, not a comparison of arrangements; make one with 'crisis-sim compare'"),
        (("run", "--resume", "--out", str(cmp_file)), "a comparison of arrangements"),
        (("sweep", "--resume", "--out", str(cmp_file)), "a comparison of arrangements"),
    ):
        line = one_error_line(main(capsys, *args))
        assert named in line, (args, line)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cmp.h5", "started.h5"]


def test_a_plot_option_its_kind_would_ignore_is_refused(capsys, tmp_path):
    run = tmp_path / "r.h5"
    assert main(capsys, "run", "--runs", "20", "--out", str(run), "-q").code == 0
    for args in (("--output", "end_day"), ("--x", "willingness"), ("--by", "willingness")):
        line = one_error_line(main(capsys, "plot", str(run), "--out", str(tmp_path / "p.png"),
                                   *args))
        said = f"{args[0]} {args[1]}: a run file's figure (--kind outcomes) has no use for it"
        assert said in line, line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.h5"]


def test_plot_and_sensitivity_name_the_option_at_fault(capsys, tmp_path):
    sweep = tmp_path / "s.h5"
    assert main(capsys, "sweep", "--param", "willingness", "--param", "support",
                "--points", "2", "--runs", "20", "--out", str(sweep), "-q").code == 0
    for args, named in (
        (("--kind", "sweep", "--x", "bogus"), "--x bogus"),
        (("--kind", "sweep", "--x", "willingness", "--by", "willingness"), "--by willingness"),
        (("--kind", "sweep", "--by", "willingness"), "first swept parameter"),
        (("--kind", "sensitivity", "--x", "willingness"),
         "--x willingness: --kind sensitivity has no use for it"),
    ):
        line = one_error_line(main(capsys, "plot", str(sweep), "--out", str(tmp_path / "p.png"),
                                   *args))
        assert named in line, line
    line = one_error_line(main(capsys, "sensitivity", str(sweep), "--plot",
                               str(tmp_path / "no" / "p.png")))
    assert "--plot" in line and "no such folder" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.h5"]


def test_a_scheduler_without_dask_installed_is_one_line(tmp_path):
    """Dask is an extra: without it, ``--scheduler`` says how to install it, and writes nothing."""
    code = (
        "import sys; sys.modules['distributed'] = None  # as if not installed\n"
        "from crisis_sim.cli import entry; entry()"
    )
    out = tmp_path / "r.h5"
    proc = subprocess.run(
        [sys.executable, "-c", code, "run", "--runs", "10", "--scheduler", "local",
         "--out", str(out), "-q"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == (
        "crisis-sim: error: --scheduler local: needs Dask, the package's 'dask' extra "
        "(pip install '.[dask]' in crisis-sim's source folder)"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(sys.platform != "linux", reason="caps the address space with setrlimit")
def test_assumptions_refuses_more_replications_than_memory_holds(tmp_path):
    """Its settings are paired in memory: a --runs beyond half the machine's memory is one line,
    before anything is allocated (run capped at 8 GiB, so a regression fails, not the host)."""
    import resource

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30))

    proc = subprocess.run(
        [sys.executable, "-m", "crisis_sim", "assumptions", "--runs", "10000000000", "-q"],
        capture_output=True, text=True, cwd=tmp_path, preexec_fn=cap, timeout=300,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert "--runs 10,000,000,000: pairing every setting's replications needs about" in proc.stderr
    assert "GiB of memory, over half of this machine's" in proc.stderr
    assert list(tmp_path.iterdir()) == []



# --------------------------------------------------------------- found by a new user's eye


def _copy(src: Path, tmp_path: Path, name: str = "copy.h5") -> Path:
    import shutil

    return Path(shutil.copy(src, tmp_path / name))


@pytest.mark.parametrize(
    ("attr", "value"),
    [("seed", None), ("n_runs", None), ("complete", None), ("seed", "abc"), ("n_runs", 7)],
)
def test_damaged_root_attributes_are_one_line_in_every_reader(
    capsys, tmp_path, good_file, attr, value
):
    """A file whose seed, size or completeness is missing or wrong is refused in one line by
    every command that opens it (they were KeyError, ValueError or TypeError tracebacks)."""
    path = _copy(good_file, tmp_path)
    with h5py.File(path, "a") as f:
        if value is None:
            del f.attrs[attr]
        else:
            f.attrs[attr] = value
    before = path.read_bytes()
    for args in (("summarize", str(path)), ("trace", str(path), "--run", "0"),
                 ("plot", str(path), "--out", str(tmp_path / "f.png")),
                 ("run", "--resume", "--out", str(path)),
                 ("run", "--append", "5", "--out", str(path))):
        line = one_error_line(main(capsys, *args))
        assert "damaged" in line and attr in line, (args, line)
    assert path.read_bytes() == before  # never touched


def test_a_missing_record_is_one_line(capsys, tmp_path, good_file):
    path = _copy(good_file, tmp_path)
    with h5py.File(path, "a") as f:
        del f["runs/outcome"]
    line = one_error_line(main(capsys, "run", "--append", "5", "--out", str(path)))
    assert "runs/outcome" in line and "damaged" in line


def test_an_unknown_outcome_code_is_one_line_in_trace(capsys, tmp_path, good_file):
    path = _copy(good_file, tmp_path)
    with h5py.File(path, "a") as f:
        f["runs/outcome"][0] = 42
    line = one_error_line(main(capsys, "trace", str(path), "--run", "0"))
    assert "outcome code 42" in line


def test_a_trace_that_does_not_match_is_not_called_an_interruption(capsys, tmp_path, good_file):
    path = _copy(good_file, tmp_path)
    with h5py.File(path, "a") as f:
        code = int(f["runs/outcome"][0])
        f["runs/outcome"][0] = (code + 1) % 7
    res = main(capsys, "trace", str(path), "--run", "0")
    assert res.code == 1 and "DOES NOT MATCH" in res.out
    assert "interrupted" not in res.err


def test_bare_command_shows_help_without_an_empty_error_and_version_is_known(capsys):
    res = main(capsys)
    assert res.code == 2 and "Usage" in res.out and "error" not in res.err
    res = main(capsys, "--version")
    from crisis_sim import __version__

    assert res.code == 0 and res.out.strip() == f"crisis-sim {__version__}"


@pytest.mark.parametrize("command", ["run", "summarize", "validate"])
def test_a_path_too_long_for_the_system_is_one_line(capsys, tmp_path, command):
    long = str(tmp_path / ("y" * 300 + ".h5"))
    args = {"run": ("run", "--runs", "10", "--out", long), "summarize": ("summarize", long),
            "validate": ("validate", long[:-3] + ".toml")}[command]
    line = one_error_line(main(capsys, *args))
    assert "name too long" in line.lower()


def test_output_to_a_full_disk_is_one_line(tmp_path):
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "crisis_sim", "validate", "default"],
                              stdout=full, stderr=subprocess.PIPE, text=True, timeout=60)
    assert proc.returncode == 120, proc.stderr
    assert proc.stderr.strip() == ("crisis-sim: error: cannot write the output: "
                                   "No space left on device")


def test_output_into_a_pipe_is_not_folded_at_80_columns():
    proc = cli("validate", "eastern_pact_1934_without", check=True)
    assert len(proc.stdout.splitlines()) == 1 and len(proc.stdout.strip()) > 80


def test_a_figure_never_replaces_a_result_file(capsys, tmp_path, good_file):
    res_png = _copy(good_file, tmp_path, "r.png")
    before = res_png.read_bytes()
    line = one_error_line(main(capsys, "plot", str(res_png), "--out", str(res_png)))
    assert "is a result file" in line
    same = tmp_path / "same.png"
    line = one_error_line(main(capsys, "compare", "--runs", "20", "-q", "--out", str(same),
                               "--plot", str(same)))
    assert "the same file as --out" in line and not same.exists()
    assert res_png.read_bytes() == before


def test_a_figure_folder_that_takes_no_file_is_refused_before_the_work(capsys):
    if not Path("/sys/kernel").is_dir():
        pytest.skip("no sysfs here")
    res = main(capsys, "assumptions", "--runs", "20", "--plot", "/sys/kernel/x.png")
    line = one_error_line(res)
    assert "cannot write the figure" in line and res.out == ""  # no table computed first


def test_a_named_pipe_is_refused_not_waited_on(tmp_path):
    import os

    fifo = tmp_path / "f.toml"
    os.mkfifo(fifo)
    h5 = tmp_path / "f.h5"
    os.mkfifo(h5)
    for args in (("validate", str(fifo)), ("summarize", str(h5))):
        proc = cli(*args, timeout=60)
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "not a regular file (a pipe or a device)" in proc.stderr
    # Nor is one replaced, or waited on, by a new result file, even with --overwrite.
    for command in (("run",), ("sweep", "--param", "willingness"), ("compare",)):
        proc = cli(*command, "--runs", "5", "--out", str(h5), "--overwrite", timeout=60)
        assert proc.returncode == 2, proc.stderr
        assert f"{h5}: not a regular file (a pipe or a device)" in proc.stderr
        assert os.path.exists(h5) and not os.path.isfile(h5)


@pytest.mark.parametrize("command,extra,name", [
    ("run", (), "default.h5"),
    ("sweep", ("--param", "willingness", "--points", "2"), "default_sweep.h5"),
    ("compare", ("default",), "default_compare.h5"),
])
def test_a_taken_default_name_says_where_it_came_from(capsys, tmp_path, monkeypatch, command,
                                                      extra, name):
    """Two scenario files may share a name: --overwrite is not the only way out, --out is."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).write_bytes(b"another scenario's results")
    line = one_error_line(main(capsys, command, *extra, "--runs", "5", "-q"))
    assert f"{name}: file exists" in line
    assert "the name comes from the scenario's name 'default'; give --out FILE for another" in line
    assert (tmp_path / name).read_bytes() == b"another scenario's results"
    given = one_error_line(main(capsys, command, *extra, "--runs", "5", "-q", "--out", name))
    assert "the name comes from" not in given  # the user chose it
