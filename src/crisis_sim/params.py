"""Every number of a scenario as a named, bounded parameter: list, find, check and set.

Names are dotted paths through the scenario schema, with list items addressed the way a
researcher thinks of them: states by code (``states.JPN.willingness``), institutions and
treaties by name with spaces as ``_`` (``institutions.Security_Council.quota``) or by index,
stages by index (``institutions.0.stages.2.deliberation.median``). A ``*`` stands for every
item of a list. Switches (booleans) are parameters over 0:1.

Short aliases stand for several places at once (:data:`ALIASES`), e.g. ``deliberation.median``
sets the deliberation median of every stage of every institution to one value, and
``theory.equal_commitment`` is ``theory.organski.equal_commitment``.

Bounds, units and meanings come from the pydantic schema itself, and every change is validated
by it again, so a parameter cannot take a value a scenario file could not.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, replace
from typing import Any, Literal, get_args

import annotated_types as at
from pydantic import BaseModel

from crisis_sim import scenario as scenario_mod
from crisis_sim.errors import InputError
from crisis_sim.scenario import Scenario, slug

Kind = Literal["float", "int", "bool"]
Path = tuple[str | int, ...]

#: Short names for parameters that live in many places; each maps to a pattern of full names.
ALIASES: dict[str, str] = {
    "deliberation.median": "institutions.*.stages.*.deliberation.median",
    "deliberation.spread": "institutions.*.stages.*.deliberation.spread",
    "support": "institutions.*.stages.*.support",
    "referral.median": "institutions.*.referral.median",
    "declaration.median": "institutions.*.declaration.median",
    "quit_if_condemned": "institutions.*.quit_if_condemned",
    "willingness": "states.*.willingness",
    "resolve": "states.*.resolve",
    "projection": "states.*.projection",
    "capability.spread": "states.*.capability.spread",
    "treaty.strength": "treaties.*.strength",
    "treaty.delay.median": "treaties.*.delay.median",
}
ALIAS_MEANINGS = {
    "deliberation.median": "median deliberation before each vote, every stage of every institution",
    "deliberation.spread": "dispersion of every stage's deliberation delay",
    "support": "scales every member's chance of voting yes, every stage",
    "referral.median": "median days until the crisis reaches each institution",
    "declaration.median": "median days from a decision to each member's declaration",
    "quit_if_condemned": "chance the aggressor quits each institution when condemned",
    "willingness": "every state's willingness to commit forces",
    "resolve": "the aggressor's and the target's loss share at which their side breaks",
    "projection": "every state's strength left after projection to the theatre",
    "capability.spread": "uncertainty of every state's capability across runs",
    "treaty.strength": "chance a called party honours its treaty, every treaty",
    "treaty.delay.median": "median days for a called party to act, every treaty",
}
for _sub in ("organski", "morgenthau"):
    _model = scenario_mod.Organski if _sub == "organski" else scenario_mod.Morgenthau
    for _leaf in _model.model_fields:
        ALIASES[f"theory.{_leaf}"] = f"theory.{_sub}.{_leaf}"

# Numbers that identify data rather than describe the crisis: not parameters.
_NOT_PARAMETERS = {("Capability", "year")}
_FALLBACK_UNITS = {"horizon_days": "days", "quota": "votes"}
# Switches the schema leaves without a description: what imposing each one means (MODEL.md).
_SWITCH_MEANINGS = {
    "agreement_on_aggressor": "Organski 1 imposed: every member names the same aggressor",
    "equal_commitment": "Organski 2 imposed: every member as ready to commit as the readiest",
    "equal_freedom_of_action": "Organski 3 imposed: no member is constrained from acting",
    "sufficient_power": "Organski 4 imposed: the coalition's power suffices",
    "modify_or_defeated": "Organski 5 imposed: the aggressor backs down or is defeated",
    "overwhelming_force": "Morgenthau 1 imposed: the coalition has overwhelming force",
    "identical_beliefs": "Morgenthau 2 imposed: members share one view of the order",
    "subordination_of_interests": "Morgenthau 3 imposed: members put the order above interests",
    "great_power": "the state is a great power (with Schuman's unity, great powers act as one)",
    "procedural": "the vote is procedural (no veto applies)",
}


@dataclass(frozen=True)
class Parameter:
    """A sweepable number: where it lives, its current value, bounds, unit and meaning."""

    name: str
    paths: tuple[Path, ...]  # places in the scenario it sets (several for aliases)
    values: tuple[float, ...]  # current value at each place
    lo: float
    hi: float
    lo_open: bool
    kind: Kind
    unit: str
    meaning: str

    @property
    def value_text(self) -> str:
        """The current value, or its range when the places differ."""
        vals = sorted(set(self.values))
        if len(vals) == 1:
            return _fmt(vals[0], self.kind)
        return (
            f"{_fmt(vals[0], self.kind)}..{_fmt(vals[-1], self.kind)} ({len(self.values)} places)"
        )

    @property
    def bounds_text(self) -> str:
        """Bounds as an interval, open where the schema says ``>``."""
        return (
            f"{'(' if self.lo_open else '['}{_fmt(self.lo, self.kind)}, {_fmt(self.hi, self.kind)}]"
        )

    def check(self, value: float, origin: str) -> float:
        """Refuse a value outside the bounds (or not whole, for counts and switches)."""
        bad = not math.isfinite(value) or value < self.lo or value > self.hi
        bad = bad or (self.lo_open and value <= self.lo)
        if bad:
            raise InputError(
                f"{origin}: {self.name} = {value:g} is outside its bounds "
                f"{self.bounds_text} ({self.unit})"
            )
        if self.kind != "float" and value != round(value):
            raise InputError(
                f"{origin}: {self.name} = {value:g} must be a whole number "
                f"({'0 or 1' if self.kind == 'bool' else self.unit})"
            )
        return value


def _fmt(x: float, kind: Kind) -> str:
    return str(int(x)) if kind != "float" else f"{x:g}"


def _item_key(item: BaseModel, index: int) -> str:
    code = getattr(item, "code", None)
    if isinstance(code, str):
        return code
    name = getattr(item, "name", None)
    return slug(name) if isinstance(name, str) and name else str(index)


def _numeric(field_annotation: Any) -> Kind | None:
    types = set(get_args(field_annotation)) or {field_annotation}
    types.discard(type(None))
    if types == {bool}:
        return "bool"
    if types == {int}:
        return "int"
    if types == {float}:
        return "float"
    return None


def _walk(model: BaseModel, names: tuple[str, ...], path: Path) -> list[Parameter]:
    """Concrete parameters of a (sub)model, in schema order."""
    out: list[Parameter] = []
    cls = type(model)
    for key, info in cls.model_fields.items():
        value = getattr(model, key)
        if isinstance(value, BaseModel):
            out += _walk(value, (*names, key), (*path, key))
            continue
        if isinstance(value, list) and value and isinstance(value[0], BaseModel):
            for i, item in enumerate(value):
                out += _walk(item, (*names, key, _item_key(item, i)), (*path, key, i))
            continue
        kind = _numeric(info.annotation)
        if kind is None or value is None or (cls.__name__, key) in _NOT_PARAMETERS:
            continue
        if cls.__name__ == "Capability" and key == "mean" and getattr(model, "cow", None):
            continue  # taken from the data: sweep `factor` instead
        if cls.__name__ == "Capability" and key == "factor" and not getattr(model, "cow", None):
            continue  # scales data only: sweep `mean` instead
        self_help = getattr(model, "rule", None) == "unilateral"
        if cls.__name__ == "Institution" and key == "predominance" and not self_help:
            continue  # only self-help has a trigger
        lo, hi, lo_open = 0.0, 1.0, False
        if kind != "bool":
            lo, hi = -math.inf, math.inf
            for m in info.metadata:
                if isinstance(m, at.Ge):
                    lo = float(m.ge)  # type: ignore[arg-type]
                elif isinstance(m, at.Gt):
                    lo, lo_open = float(m.gt), True  # type: ignore[arg-type]
                elif isinstance(m, at.Le):
                    hi = float(m.le)  # type: ignore[arg-type]
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        unit = str(extra.get("unit", "switch" if kind == "bool" else _FALLBACK_UNITS.get(key, "")))
        out.append(
            Parameter(
                name=".".join((*names, key)),
                paths=((*path, key),),
                values=(float(value),),
                lo=lo,
                hi=hi,
                lo_open=lo_open,
                kind=kind,
                unit=unit,
                meaning=info.description or _SWITCH_MEANINGS.get(key, key.replace("_", " ")),
            )
        )
    return out


def sweepable(sc: Scenario) -> list[Parameter]:
    """Every number of the scenario by its full dotted name (one place each).

    A state's resolve counts only for the aggressor and the target: each side breaks at its
    leader's resolve, so a third state's would be a parameter that changes nothing. The
    aggressor's ready share is above 0 and its transit days are not a parameter: it attacks on
    day 0 with forces in the theatre.
    """
    leaders = {sc.state_index(sc.aggressor), sc.state_index(sc.target)}
    aggressor = sc.state_index(sc.aggressor)
    out = []
    for p in _walk(sc, (), ()):
        path = p.paths[0]
        if path[0] == "states" and path[-1] == "resolve" and path[1] not in leaders:
            continue
        if path[0] == "states" and path[1] == aggressor:
            # The aggressor attacks on day 0 with forces in the theatre (the schema's rule).
            if path[-2:] == ("mobilization", "transit_days"):
                continue  # stays 0
            if path[-2:] == ("mobilization", "ready") or path[2:] == ("projection",):
                p = replace(p, lo_open=True)  # more than nothing
        out.append(p)
    return out


def _matches(pattern: str, p: Parameter) -> bool:
    segs = pattern.split(".")
    names = p.name.split(".")
    path = p.paths[0]
    if len(segs) != len(names):
        return False
    for seg, name, step in zip(segs, names, path, strict=True):
        if seg == name:
            continue
        if isinstance(step, int) and (seg == "*" or (seg.isdigit() and int(seg) == step)):
            continue
        return False
    return True


def _merge(name: str, found: list[Parameter]) -> Parameter:
    first = found[0]
    return Parameter(
        name=name,
        paths=tuple(q for p in found for q in p.paths),
        values=tuple(v for p in found for v in p.values),
        lo=max(p.lo for p in found),
        hi=min(p.hi for p in found),
        lo_open=any(p.lo_open for p in found),
        kind=first.kind,
        unit=first.unit,
        meaning=ALIAS_MEANINGS.get(
            name, first.meaning if len(found) == 1 else f"{first.meaning} (all)"
        ),
    )


def aliases(sc: Scenario) -> list[Parameter]:
    """The short aliases that name at least one place in this scenario."""
    concrete = sweepable(sc)
    out = []
    for alias, pattern in ALIASES.items():
        found = [p for p in concrete if _matches(pattern, p)]
        if found:
            out.append(_merge(alias, found))
    return out


def find(
    sc: Scenario, name: str, origin: str = "--param", concrete: list[Parameter] | None = None
) -> Parameter:
    """The parameter called ``name``: a full name, an index or ``*`` pattern, or an alias.

    ``concrete`` is :func:`sweepable` of ``sc`` when the caller has it already.
    """
    concrete = sweepable(sc) if concrete is None else concrete
    pattern = ALIASES.get(name, name)
    found = [p for p in concrete if _matches(pattern, p)]
    if not found:
        known = [p.name for p in concrete] + list(ALIASES)
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean {close[0]}?" if close else "; list them with: crisis-sim params"
        raise InputError(f"{origin} {name}: not a parameter of scenario '{sc.name}'{hint}")
    kinds = {p.kind for p in found}
    if len(kinds) > 1:
        raise InputError(
            f"{origin} {name}: names numbers of different kinds ({', '.join(sorted(kinds))})"
        )
    return found[0] if len(found) == 1 and found[0].name == name else _merge(name, found)


def apply(sc: Scenario, values: dict[str, float], origin: str = "--param") -> Scenario:
    """A copy of the scenario with parameters set, checked against bounds and the whole schema."""
    concrete = sweepable(sc)
    return apply_found(sc, [(find(sc, n, origin, concrete), v) for n, v in values.items()], origin)


def apply_found(sc: Scenario, settings: list[tuple[Parameter, float]], origin: str) -> Scenario:
    """Like :func:`apply`, with the parameters already found (a sweep finds them once)."""
    raw = sc.model_dump(mode="json")
    for state in raw["states"]:  # data-derived capabilities are resolved again from the data
        if state["capability"].get("cow"):
            state["capability"]["mean"] = None
    for p, value in settings:
        p.check(float(value), origin)
        typed: float | int | bool = (
            bool(round(value))
            if p.kind == "bool"
            else int(round(value))
            if p.kind == "int"
            else float(value)
        )
        for path in p.paths:
            node: Any = raw
            for step in path[:-1]:
                node = node[step]
            node[path[-1]] = typed
    return scenario_mod.from_dict(raw, origin=origin)


def get(sc: Scenario, name: str) -> float:
    """The current value of a parameter (the first place, for aliases naming several)."""
    return find(sc, name, "parameter").values[0]
