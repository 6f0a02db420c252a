"""Scenario schema and loading: the one place where input is checked.

A scenario is a TOML file. Every number in it is a bounded, named parameter with a unit
(see :func:`crisis_sim.params.sweepable`), so experiments can sweep it by its dotted name.

Scenario files are data: read as TOML by ``tomllib`` (and stored in result files as JSON), then
checked against the schema. Nothing in them is evaluated, imported or unpickled; a string of
Python code is just a string. Every problem is an :class:`InputError` naming file, key and value.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from crisis_sim.errors import InputError, plain_words

Arrangement = Literal[
    "collective_security", "collective_defense", "alliance", "balance_of_power", "global_government"
]
RuleName = Literal[
    "unanimity", "qualified_majority", "consensus", "unilateral", "central_authority"
]
Level = Literal["condemnation", "sanctions", "military"]
Casus = Literal["defensive", "against_named", "any"]
StateCode = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]{1,11}$")]


def _num(
    default: float | None, lo: float, hi: float, unit: str, doc: str, *, open_lo: bool = False
) -> Any:
    """A bounded, documented, sweepable number."""
    extra: Any = {"unit": unit}
    if open_lo:
        return Field(
            default, gt=lo, le=hi, description=doc, json_schema_extra=extra, allow_inf_nan=False
        )
    return Field(
        default, ge=lo, le=hi, description=doc, json_schema_extra=extra, allow_inf_nan=False
    )


def slug(name: str) -> str:
    """How a named list item (institution, treaty) appears in a parameter's dotted name."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)


class Strict(BaseModel):
    """Base for every scenario table: unknown keys and wrong types are errors, never converted."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, strict=True)


class Delay(Strict):
    """A random delay in days: log-normal with a median and a spread (sigma of the log)."""

    median: float = _num(1.0, 0.0, 3650.0, "days", "median delay")
    spread: float = _num(0.5, 0.0, 3.0, "log-sd", "dispersion of the delay (0 = fixed)")


class Capability(Strict):
    """A state's material capability, uncertain, drawn per replication (log-normal).

    Either give ``mean`` (a CINC-like share) or take it from the Correlates of War data with
    ``cow`` and ``year``; ``factor`` scales the data for known limits of CINC (say why in the file).
    ``mean`` is the draws' median, not their average: a draw is ``mean * exp(spread * z)``
    with ``z`` standard normal, whose average is ``mean * exp(spread**2 / 2)``.
    """

    mean: float | None = _num(
        None,
        0.0,
        1.0,
        "CINC share",
        "median capability (draws: mean x exp(spread x z))",
        open_lo=True,
    )
    cow: str | None = Field(None, pattern=r"^[A-Z]{2,3}$", description="COW state abbreviation")
    year: int | None = Field(
        None,
        ge=1816,
        le=2016,
        description="year of the COW record",
        json_schema_extra={"unit": "year"},
    )
    spread: float = _num(0.15, 0.0, 2.0, "log-sd", "uncertainty of capability across runs")
    factor: float = _num(1.0, 0.0, 20.0, "ratio", "documented adjustment of the data", open_lo=True)

    @model_validator(mode="after")
    def _one_source(self) -> Capability:
        from_data = self.cow is not None or self.year is not None
        if from_data and (self.cow is None or self.year is None):
            raise ValueError("give both 'cow' and 'year' to take capability from the data")
        if not from_data and self.mean is None:
            raise ValueError("give either 'mean' or 'cow' and 'year'")
        return self  # 'mean' beside 'cow' is the resolved value, checked by resolve_capabilities


class Mobilization(Strict):
    """How much of a state's capability is available N days after it orders mobilization."""

    ready: float = _num(0.3, 0.0, 1.0, "share", "share available on the day of the order")
    full_days: float = _num(30.0, 0.0, 3650.0, "days", "days from the order to full strength")
    transit_days: float = _num(0.0, 0.0, 365.0, "days", "days before its forces reach the theatre")


class State(Strict):
    """An actor: capability, mobilization, reach, loyalties and will."""

    code: StateCode
    name: str = ""
    capability: Capability
    mobilization: Mobilization = Mobilization()
    projection: float = _num(
        1.0, 0.0, 1.0, "share", "strength left after projection to the theatre"
    )
    affinity_aggressor: float = _num(0.0, -1.0, 1.0, "score", "sympathy for the aggressor")
    affinity_target: float = _num(0.0, -1.0, 1.0, "score", "sympathy for the target")
    willingness: float = _num(0.5, 0.0, 1.0, "probability", "willingness to commit forces")
    resolve: float = _num(
        0.3,
        0.0,
        1.0,
        "share",
        "loss share at which its side breaks (read for the aggressor and the target, who lead "
        "the two sides)",
        open_lo=True,
    )
    great_power: bool = False
    attacks_on_entry: list[StateCode] = Field(
        default_factory=list, description="states it invades when it enters the war (war plan)"
    )


class Stage(Strict):
    """One escalation step of an institution: deliberate, vote, respond at this level."""

    level: Level
    deliberation: Delay = Delay(median=30.0)
    support: float = _num(1.0, 0.0, 2.0, "ratio", "scales each member's chance of voting yes")
    procedural: bool = False


class Institution(Strict):
    """A security arrangement with its members, decision rule and response levels."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z][A-Za-z0-9_ .'-]*$")
    arrangement: Arrangement
    members: list[StateCode] = Field(
        min_length=1, description="states that vote (the deciding organ)"
    )
    covers: list[StateCode] = Field(
        default_factory=list,
        description="wider membership: may appeal and is asked to commit (default: the members)",
    )
    rule: RuleName
    parties_vote: bool = Field(
        True, description="parties to the dispute vote (Art. 11) or not (Art. 15)"
    )
    permanent: list[StateCode] = Field(default_factory=list, description="members holding a veto")
    quota: int | None = Field(
        None,
        ge=1,
        le=1000,
        description="yes votes needed (qualified majority)",
        json_schema_extra={"unit": "votes"},
    )
    absent: list[StateCode] = Field(default_factory=list, description="members who cast no vote")
    referral: Delay = Delay(median=2.0)
    stages: list[Stage] = Field(min_length=1, max_length=16)  # draws are keyed per stage
    declaration: Delay = Delay(median=3.0, spread=0.3)
    quit_if_condemned: float = _num(0.0, 0.0, 1.0, "probability", "aggressor quits when condemned")
    predominance: float = _num(
        1.0, 0.0, 100.0, "ratio", "aggressor+target over largest balancer that triggers self-help"
    )
    force: StateCode | None = Field(
        None, description="the authority's own force (global government)"
    )


class Treaty(Strict):
    """A mutual-assistance obligation among its parties.

    ``casus`` says when a party's entry calls the others: ``defensive``, when it is at war on
    the defending side (attacked, or having joined the defence); ``against_named``, when it is
    at war with a state in ``against``; ``any``, whenever it goes to war.
    """

    name: str = Field(min_length=1)
    parties: list[StateCode] = Field(min_length=2)
    casus: Casus = "defensive"
    against: list[StateCode] = Field(default_factory=list)
    strength: float = _num(0.8, 0.0, 1.0, "probability", "chance a called party honours it")
    delay: Delay = Delay(median=2.0, spread=0.4)


class Organski(Strict):
    """Organski's five assumptions: ``true`` imposes the assumption, ``false`` lets states act."""

    agreement_on_aggressor: bool = False
    identification: float = _num(
        0.8, 0.0, 1.0, "probability", "chance a neutral member names the aggressor"
    )
    equal_commitment: bool = False
    equal_freedom_of_action: bool = False
    constraint: float = _num(0.2, 0.0, 1.0, "probability", "chance a member is not free to act")
    sufficient_power: bool = False
    sufficiency_ratio: float = _num(
        1.0, 0.0, 10.0, "ratio", "coalition over aggressor when imposed"
    )
    modify_or_defeated: bool = False


class Morgenthau(Strict):
    """Morgenthau's three prerequisites: ``true`` imposes the prerequisite."""

    overwhelming_force: bool = False
    overwhelming_ratio: float = _num(
        3.0, 1.0, 20.0, "ratio", "coalition over aggressor when imposed"
    )
    identical_beliefs: bool = False
    subordination_of_interests: bool = False


class Theory(Strict):
    """The switchable theories of collective security."""

    organski: Organski = Organski()
    morgenthau: Morgenthau = Morgenthau()
    great_power_unity: bool = Field(
        False,
        description=(
            "Schuman: the great powers among an institution's voting members name the "
            "aggressor and vote as one"
        ),
    )
    free_riding: float = _num(0.5, 0.0, 3.0, "exponent", "how much smaller members scale down")
    buck_passing: float = _num(0.3, 0.0, 1.0, "share", "discount per other able balancer")


class Backdown(Strict):
    """Chance the aggressor modifies its policy when a response of each level passes."""

    condemnation: float = _num(0.02, 0.0, 1.0, "probability", "back down when condemned")
    sanctions: float = _num(0.10, 0.0, 1.0, "probability", "back down under sanctions")
    military: float = _num(0.30, 0.0, 1.0, "probability", "back down when force is authorized")


class Decision(Strict):
    """The aggressor's decision to attack (deterrence) and to back down."""

    attack_threshold: float = _num(
        0.5, 0.0, 1.0, "probability", "least estimated chance of winning"
    )
    misperception: float = _num(0.3, 0.0, 3.0, "log-sd", "noise in the aggressor's estimate")
    csf_exponent: float = _num(1.0, 0.0, 10.0, "exponent", "decisiveness m of the contest function")
    backdown: Backdown = Backdown()


class Combat(Strict):
    """Daily attrition between the sides."""

    law: Literal["lanchester_square", "lanchester_linear"] = "lanchester_square"
    attrition: float = _num(
        0.02, 0.0, 1.0, "1/day", "loss rate per unit of enemy strength", open_lo=True
    )
    effectiveness_sd: float = _num(0.3, 0.0, 3.0, "log-sd", "day-to-day variation of effectiveness")
    defender_advantage: float = _num(1.3, 0.0, 10.0, "ratio", "effectiveness of the defending side")
    sanctions_effect: float = _num(0.1, 0.0, 1.0, "share", "aggressor strength lost to sanctions")


class Scenario(Strict):
    """A crisis: who attacks whom, under which arrangements, with which assumptions."""

    name: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    title: str = ""
    description: str = ""
    aggressor: StateCode
    target: StateCode
    horizon_days: int = Field(
        365,
        ge=1,
        le=3650,
        description="days simulated after the attack",
        json_schema_extra={"unit": "days"},
    )
    states: list[State] = Field(min_length=2, max_length=1023)
    institutions: list[Institution] = Field(default_factory=list)
    treaties: list[Treaty] = Field(default_factory=list)
    theory: Theory = Theory()
    decision: Decision = Decision()
    combat: Combat = Combat()

    @field_validator("states")
    @classmethod
    def _unique_codes(cls, states: list[State]) -> list[State]:
        seen: set[str] = set()
        for i, s in enumerate(states):
            if s.code in seen:
                raise ValueError(f"duplicate state code {s.code!r} at states[{i}]")
            seen.add(s.code)
        return states

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        codes = {s.code for s in self.states}
        for key in ("aggressor", "target"):
            if getattr(self, key) not in codes:
                raise ValueError(f"{key} {getattr(self, key)!r} is not a state of the scenario")
        if self.aggressor == self.target:
            raise ValueError(f"target {self.target!r} is also the aggressor; they must differ")
        for i, s in enumerate(self.states):
            # The aggressor attacks on day 0 with forces at hand: a side with nothing in the
            # theatre counts as broken (the combat kernel), so it would lose before it began.
            m = s.mobilization
            if s.code == self.aggressor and (m.ready <= 0 or m.transit_days > 0):
                raise ValueError(
                    f"states[{i}].mobilization: the aggressor {s.code!r} attacks on day 0 with "
                    f"forces in the theatre: needs ready > 0 and transit_days = 0 (ready = "
                    f"{m.ready:g}, transit_days = {m.transit_days:g})"
                )
            if s.code == self.aggressor and s.projection <= 0:
                raise ValueError(
                    f"states[{i}].projection: the aggressor {s.code!r} attacks with forces in "
                    f"the theatre: needs projection > 0 (projection = {s.projection:g})"
                )
            for c in s.attacks_on_entry:
                if c not in codes or c == s.code:
                    raise ValueError(f"states[{i}].attacks_on_entry: unknown state {c!r}")
        _check_unique_names("institution", [inst.name for inst in self.institutions])
        _check_unique_names("treaty", [t.name for t in self.treaties])
        for i, inst in enumerate(self.institutions):
            where = f"institutions[{i}]"
            _check_members(where, "members", inst.members, codes)
            _check_members(where, "covers", inst.covers, codes)
            members = set(inst.members)
            for key in ("permanent", "absent"):
                for c in getattr(inst, key):
                    if c not in members:
                        raise ValueError(f"{where}.{key}: {c!r} is not a member")
            order = get_args(Level)  # the response only escalates, stage by stage
            for k in range(1, len(inst.stages)):
                level, before = inst.stages[k].level, inst.stages[k - 1].level
                if order.index(level) <= order.index(before):
                    how = "repeats the stage before" if level == before else f"after {before!r}"
                    raise ValueError(
                        f"{where}.stages[{k}].level: {level!r} {how}; the stages must escalate "
                        f"({', '.join(order)}), each at most once"
                    )
            if inst.rule == "qualified_majority":
                if inst.quota is None:
                    raise ValueError(f"{where}.quota: qualified majority needs a quota")
                if inst.quota > len(inst.members):
                    raise ValueError(
                        f"{where}.quota: {inst.quota} exceeds {len(inst.members)} members"
                    )
            if inst.rule == "central_authority":
                if inst.force is None or inst.force not in codes:
                    raise ValueError(f"{where}.force: a central authority needs a force state")
                if inst.force in (self.aggressor, self.target):
                    raise ValueError(
                        f"{where}.force: {inst.force!r} is a party to the crisis; the "
                        "authority's force must be a third state"
                    )
            elif inst.force is not None and inst.force not in codes:
                raise ValueError(f"{where}.force: unknown state {inst.force!r}")
        for i, t in enumerate(self.treaties):
            _check_members(f"treaties[{i}]", "parties", t.parties, codes)
            for c in t.against:
                if c not in codes:
                    raise ValueError(f"treaties[{i}].against: unknown state {c!r}")
            if t.casus == "against_named" and not t.against:
                raise ValueError(f"treaties[{i}].against: casus 'against_named' needs states")
        return self

    def state_index(self, code: str) -> int:
        """Position of a state in ``states``."""
        return [s.code for s in self.states].index(code)

    def to_json(self) -> str:
        """The fully resolved scenario, as stored with every result."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True)


def _check_unique_names(kind: str, names: list[str]) -> None:
    """Each institution (or treaty) its own name, also as its parameters name it (``slug``)."""
    seen: dict[str, str] = {}
    plural = "treaties" if kind == "treaty" else f"{kind}s"
    for i, name in enumerate(names):
        other = seen.get(slug(name))
        if other == name:
            raise ValueError(f"{plural}[{i}].name: duplicate {kind} {name!r}")
        if other is not None:
            raise ValueError(
                f"{plural}[{i}].name: {name!r} and {other!r} would name the same parameters "
                f"({plural}.{slug(name)}.*)"
            )
        seen[slug(name)] = name


def _check_members(where: str, key: str, codes_in: list[str], known: set[str]) -> None:
    seen: set[str] = set()
    for c in codes_in:
        if c not in known:
            raise ValueError(f"{where}.{key}: {c!r} is not a state of the scenario")
        if c in seen:
            raise ValueError(f"{where}.{key}: {c!r} listed twice")
        seen.add(c)


# --------------------------------------------------------------------------- loading


def bundled_names() -> list[str]:
    """Names of the scenarios shipped inside the package."""
    folder = resources.files("crisis_sim") / "scenarios"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def bundled_path(name: str) -> Path:
    """Path of a bundled scenario file."""
    return Path(str(resources.files("crisis_sim") / "scenarios" / f"{name}.toml"))


DEFAULT_SCENARIO = "default"


def resolve_source(source: str | Path | None) -> Path:
    """Turn a CLI argument (a path or a bundled name, or nothing) into a scenario file path."""
    if source is None:
        return bundled_path(DEFAULT_SCENARIO)
    if not str(source).strip():
        raise InputError(
            f"{str(source)!r}: no scenario named; give a scenario file (.toml) or a bundled "
            f"scenario (try: {', '.join(bundled_names())})"
        )
    path = Path(source)
    if path.is_dir():
        raise InputError(f"{path}: a folder, not a scenario file")
    if path.suffix == ".toml" or path.exists():
        if not path.exists():
            raise InputError(f"{path}: no such scenario file")
        return path
    if str(source) in bundled_names():
        return bundled_path(str(source))
    raise InputError(
        f"{source}: not a file and not a bundled scenario (try: {', '.join(bundled_names())})"
    )


# What a scenario file may weigh: far above any real one, far below a device that never ends.
MAX_SCENARIO_BYTES = 16 << 20


# The first bytes of an HDF5 file (at offset 0, as crisis_sim writes them).
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _opened(path: Path) -> Any:
    """``path`` open for reading; a named pipe nobody writes to reads as empty, not forever."""
    import fcntl

    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    return os.fdopen(fd, "rb")


def load(source: str | Path | None = None) -> Scenario:
    """Read, validate and resolve a scenario (file path or bundled name)."""
    path = resolve_source(source)
    try:
        with _opened(path) as f:  # a pipe too (``<(...)``); a device may never end
            data = f.read(MAX_SCENARIO_BYTES + 1)
        if len(data) > MAX_SCENARIO_BYTES:
            raise InputError(
                f"{path}: over {MAX_SCENARIO_BYTES >> 20} MiB, not a scenario file "
                "(the bundled ones are a few kB)"
            )
        raw = tomllib.loads(data.decode("utf-8-sig"))  # a BOM (Notepad) is not TOML but harmless
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: TOML syntax error: {exc}") from None
    except UnicodeDecodeError as exc:
        if data.startswith(HDF5_SIGNATURE):
            raise InputError(
                f"{path}: an HDF5 file, not a scenario (TOML); a result file is read with "
                "'crisis-sim summarize'"
            ) from None
        raise InputError(
            f"{path}: not a TOML text file (not UTF-8: {exc.reason} at byte {exc.start})"
        ) from None
    except ValueError as exc:  # e.g. an integer too long for Python to convert
        raise InputError(f"{path}: TOML syntax error: {_short(str(exc), 200)}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read scenario: {exc.strerror or exc}") from None
    except RecursionError:
        raise InputError(f"{path}: TOML syntax error: arrays or tables nested too deeply") from None
    return from_dict(raw, origin=str(path))


def from_dict(raw: dict[str, Any], origin: str = "<scenario>") -> Scenario:
    """Validate a scenario given as a dictionary and resolve data references."""
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        raise InputError(_one_line(origin, exc, raw)) from None
    except RecursionError:
        raise InputError(f"{origin}: scenario nested too deeply") from None
    return resolve_capabilities(scenario, origin)


def from_json(text: str, origin: str = "<stored scenario>") -> Scenario:
    """Rebuild a scenario stored in a result file."""
    try:
        return from_dict(json.loads(text), origin)
    except json.JSONDecodeError as exc:
        raise InputError(f"{origin}: stored scenario is not valid JSON: {exc}") from None


def resolve_capabilities(scenario: Scenario, origin: str) -> Scenario:
    """Replace ``{cow, year}`` capabilities by their value from the shipped data."""
    from crisis_sim import data

    for i, state in enumerate(scenario.states):
        cap = state.capability
        if cap.cow is not None and cap.year is not None:
            value = data.cinc(cap.cow, cap.year)
            if value is None or not value > 0:
                raise InputError(
                    f"{origin}: states[{i}].capability: no CINC for cow={cap.cow!r} year={cap.year}"
                )
            resolved = min(1.0, value * cap.factor)
            if cap.mean is not None and not math.isclose(cap.mean, resolved, rel_tol=1e-9):
                raise InputError(
                    f"{origin}: states[{i}].capability.mean = {cap.mean!r}: "
                    "give either 'mean' or 'cow' and 'year'"
                )
            cap.mean = resolved
    return scenario


def _one_line(origin: str, exc: ValidationError, raw: dict[str, Any]) -> str:
    err = exc.errors(include_url=False)[0]
    loc = _format_loc(err.get("loc", ()))
    value = err.get("input")
    if err.get("type") == "missing":
        shown = ""  # the input is the table that lacks the key
    elif isinstance(value, dict):
        shown = " (a table)" if loc else ""
    elif isinstance(value, float) and not math.isfinite(value):
        shown = f" = {value}"
    else:
        shown = f" = {_short(_repr(value))}"
        if isinstance(value, list) and len(shown) > 40:
            shown = f" (a list of {len(value)})"
    msg = plain_words(_short(str(err.get("msg", "invalid")).removeprefix("Value error, "), 300))
    path = tuple(err.get("loc", ()))
    if err.get("type") == "extra_forbidden" and path:
        keys = _keys_at(path[:-1])
        close = difflib.get_close_matches(str(path[-1]), keys, n=1, cutoff=0.75)
        msg += f"; did you mean {close[0]}?" if close else ""
    state = "" if path[-1:] == ("code",) else _state_named(path, raw)  # a bad code names none
    key = f" {loc}{shown}{state}:" if loc else ""
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return " ".join(f"{origin}:{key} {msg}{more}".splitlines())


def _keys_at(path: tuple[Any, ...]) -> list[str]:
    """The keys the table at ``path`` (``("states", 2)``) may hold.

    A misspelt key is measured against these only, so a suggestion is a key of that table.
    """
    model: type[BaseModel] = Scenario
    for part in path:
        if isinstance(part, int):
            continue  # an item of a list of tables: the same table
        field = model.model_fields.get(str(part))
        inner = _model_in(field.annotation) if field is not None else None
        if inner is None:
            return []
        model = inner
    return sorted(model.model_fields)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The scenario table a field holds (``list[State]``, ``Stage | None``), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _state_named(path: tuple[Any, ...], raw: dict[str, Any]) -> str:
    """`` (state GREEN)`` for a key of ``states[2]``: the state's code, as the user knows it."""
    if len(path) < 2 or path[0] != "states" or not isinstance(path[1], int):
        return ""
    try:
        code = raw["states"][path[1]]["code"]
    except (KeyError, IndexError, TypeError):
        return ""
    if not isinstance(code, str) or not code.isprintable() or len(code) > 20:
        return ""
    return f" (state {code})"


def _repr(value: Any) -> str:
    """The value as the file spells it (``true``, not ``True``).

    Cannot fail: Python refuses to print integers of over 4,300 digits.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    try:
        return repr(value)
    except ValueError:
        if isinstance(value, int):
            return f"<an integer of {int(value.bit_length() * math.log10(2)) + 1} digits>"
        return f"<{type(value).__name__}>"


def _short(text: str, limit: int = 60) -> str:
    """``text`` cut to ``limit`` characters, so one bad value cannot flood the message."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _format_loc(loc: tuple[Any, ...]) -> str:
    """A key path as TOML writes it: ``states[2].capability``, odd keys quoted (``"a b"``)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            key = str(part)
            key = key if _BARE_KEY.fullmatch(key) else json.dumps(key, ensure_ascii=False)
            out += ("." if out else "") + key
    return out
