"""The naive baseline: the same crisis, written the way a researcher would write it by hand.

One ``simpy.Environment`` per replication, one process per institution, one process per treaty
call and per entry, the war fought day by day in pure Python, random numbers from a NumPy
``Generator`` seeded per replication. Same model as :mod:`crisis_sim.crisis` (deterrence,
referral, identification, staged deliberation and qualified-majority/veto votes, responses,
commitments, treaty cascades, mobilization ramps, Lanchester attrition, resolve thresholds,
outcome classification), read from the same compiled :class:`~crisis_sim.compiled.Plan`, so the
speed-up measured against it cannot come from a different model. Its numbers differ draw by
draw (another generator), not in distribution: ``tests/test_naive_agreement.py`` checks that.

It supports the decision rules and treaty kinds of the bundled scenarios (qualified majority,
unanimity, consensus); self-help and global government are not mirrored here.

Run it alone: ``python benchmarks/naive.py 2000 --workers 2``.
"""

from __future__ import annotations

import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
import simpy

from crisis_sim.compiled import LEVEL_CODE, Plan, applies, voters
from crisis_sim.outcomes import (
    AGGRESSOR_DEFEATED,
    BACKED_DOWN,
    DEFENDERS_DEFEATED,
    DETERRED,
    FAIT_ACCOMPLI,
    NO_RESPONSE,
    STALEMATE,
    Reason,
)
from crisis_sim.rules import FAILED_MAJORITY, NO_DECISION, PASSED, VETOED

A_SIDE, D_SIDE = 1, 2
CONDEMNATION, SANCTIONS, MILITARY = (
    LEVEL_CODE[k] for k in ("condemnation", "sanctions", "military")
)
LEVEL_NAMES = ("none", "condemnation", "sanctions", "military")


def lognormal_days(rng: np.random.Generator, median: float, spread: float) -> int:
    """Whole days of a log-normal delay, at least one (as in the package)."""
    return max(1, math.ceil(median * math.exp(spread * rng.standard_normal())))


class Replication:
    """One crisis in its own SimPy Environment."""

    def __init__(self, plan: Plan, seed: int, rep: int) -> None:
        self.p = plan
        self.sc = plan.scenario
        self.rng = np.random.default_rng([seed, rep])
        self.env = simpy.Environment()
        n = plan.n_states
        self.cap = [
            float(plan.cap_mean[s])
            * math.exp(float(plan.cap_spread[s]) * self.rng.standard_normal())
            for s in range(n)
        ]
        self.side = [0] * n
        self.entry: list[int | None] = [None] * n
        self.reason = [0] * n
        self.force = [0.0] * n
        self.belligerents: list[int] = []  # in order of entry
        # Per-state constants as Python floats (NumPy scalars are slow in a pure-Python loop).
        self.ready = plan.ready.tolist()
        self.full_days = plan.full_days.tolist()
        self.transit = plan.transit.tolist()
        self.cascade_entry = [False] * n
        self.pending: dict[int, list[tuple[int, int, int, float]]] = {}
        self.end_day: int | None = None  # set when the crisis ends (war ends or backdown)
        self.ending = 0  # 1 defenders broke, 2 aggressor broke
        self.backed_down = False
        self.help_promised = False
        self.responded = False  # an institution adopted a response (even after the fall)
        self.helpers_in = False
        self.quit = False
        self.sanction_day: int | None = None
        self.loss_a = 0.0
        self.loss_d = 0.0
        self.deterred = False
        self.votes: dict[int, int] = {}
        self.left: set[int] = set()
        self.answers: dict[tuple[int, int], tuple[bool, int]] = {}  # (treaty, partner)

    # ---------------------------------------------------------------- the crisis

    def run(self) -> dict[str, Any]:
        """Simulate to the horizon and return this replication's record."""
        if self.decide_to_attack():
            self.env.process(self.crisis())
            self.env.process(self.war())
            self.env.run(until=self.p.horizon + 1)
        return self.record()

    def decide_to_attack(self) -> bool:
        """Step 1: contest success function, its side and allies against the target's help."""
        p, a, g = self.p, self.p.aggressor, self.p.target
        alone = self.cap[a] * p.projection[a]
        own = alone + sum(
            self.cap[s] * p.projection[s] * p.belief_allies[s]
            for s in range(p.n_states)
            if s not in (a, g)
        )
        help_total = sum(
            self.cap[s] * p.projection[s] * p.belief_help[s] * p.belief_share[s]
            for s in range(p.n_states)
            if s not in (a, g)
        )
        if p.coalition_ratio > 0:
            help_total = max(help_total, p.coalition_ratio * alone)
        defence = self.cap[g] * p.projection[g] + help_total
        perceived = defence * math.exp(self.sc.decision.misperception * self.rng.standard_normal())
        m = self.sc.decision.csf_exponent
        if own <= 0 and perceived <= 0:
            p_win = 0.5
        elif perceived <= 0:
            p_win = 1.0
        else:
            p_win = 1.0 / (1.0 + (perceived / own) ** m) if own > 0 else 0.0
        self.deterred = p_win < self.sc.decision.attack_threshold
        return not self.deterred

    def crisis(self) -> Any:
        """Steps 2-3: attack, then appeal to every institution that applies."""
        p = self.p
        yield self.env.timeout(0)
        self.request_entry(0, p.aggressor, A_SIDE, Reason.PARTY, 1.0)
        self.request_entry(0, p.target, D_SIDE, Reason.PARTY, 1.0)
        for inst in p.institutions:
            self.votes[inst.index] = NO_DECISION
            if inst.rule_name in ("unilateral", "central_authority"):
                raise NotImplementedError("the naive baseline mirrors voting institutions only")
            if applies(inst, p.aggressor, p.target):
                self.env.process(self.institution(inst))

    def alive(self, day: float | None = None) -> bool:
        """The crisis is still open on ``day`` (today by default; decisions see the day's start)."""
        return self.end_day is None or self.end_day >= (self.env.now if day is None else day)

    def seized(self, day: float | None = None) -> bool:
        """An institution still deliberates: open crises, and conquered targets (fait accompli)."""
        return self.alive(day) or self.ending == 1

    def institution(self, inst: Any) -> Any:
        """Steps 3-8 for one institution: referral, identification, then stage after stage."""
        p = self.p
        yield self.env.timeout(lognormal_days(self.rng, *inst.referral))
        if not self.seized():
            return
        named = {}
        for j, s in enumerate(inst.covered.tolist()):
            u = self.rng.random()
            named[s] = s == p.target or (s != p.aggressor and u < inst.p_identify[j])
        if inst.bloc.any():  # Schuman's great powers name the aggressor as one
            shared = self.rng.random() < float(
                np.mean(inst.p_identify[: len(inst.bloc)][inst.bloc])
            )
            for j in np.flatnonzero(inst.bloc).tolist():
                named[int(inst.members[j])] = shared
        can_vote = voters(inst, p.aggressor, p.target).tolist()
        for k, st in enumerate(inst.stages):
            yield self.env.timeout(lognormal_days(self.rng, st.median, st.spread))
            if not self.seized():
                return
            day = int(self.env.now)
            yes, voting = [], []
            bloc = self.rng.random()
            bloc_p = float(np.mean(st.p_yes[inst.bloc])) if inst.bloc.any() else 0.0
            for j, s in enumerate(inst.members.tolist()):
                u = self.rng.random()
                py = st.p_yes[j]
                if inst.bloc[j]:  # Schuman's great powers vote as one
                    u, py = bloc, bloc_p
                yes.append(s == p.target or (u < py and named[s]))
                voting.append(can_vote[j] and not (s == p.aggressor and inst.index in self.left))
            result, veto = self.decide(inst, st.procedural, yes, voting)
            self.votes[inst.index] = result
            if result != PASSED:
                return
            self.respond(inst, k, day, named)
            if not self.seized(day + 1):
                return

    def decide(
        self, inst: Any, procedural: bool, yes: list[bool], voting: list[bool]
    ) -> tuple[int, int]:
        """Qualified majority with permanent vetoes, or unanimity/consensus."""
        ayes = sum(1 for y, v in zip(yes, voting, strict=True) if y and v)
        if inst.rule_name == "qualified_majority":
            if ayes < inst.quota:
                return FAILED_MAJORITY, -1
            if procedural:
                return PASSED, -1
            for j, (y, v) in enumerate(zip(yes, voting, strict=True)):
                if v and not y and inst.permanent[j]:
                    return VETOED, j
            return PASSED, -1
        if procedural and inst.rule_name == "unanimity":
            return (PASSED if 2 * ayes > sum(voting) else FAILED_MAJORITY), -1
        for j, (y, v) in enumerate(zip(yes, voting, strict=True)):
            if v and not y:
                return VETOED, j
        return PASSED, -1

    def respond(self, inst: Any, stage: int, day: int, named: dict[int, bool]) -> None:
        """Steps 7, 8 and 11: the response, the commitments, and the aggressor's reaction."""
        p = self.p
        level = inst.stages[stage].level
        self.responded = True
        member = p.aggressor in inst.covered and inst.index not in self.left
        if inst.quit_if_condemned > 0 and member:
            if self.rng.random() < inst.quit_if_condemned:
                self.left.add(inst.index)
                self.quit = True
        if not self.alive():  # after a fait accompli: condemnation only, nobody fights
            return
        if level == SANCTIONS:
            self.sanction_day = day if self.sanction_day is None else min(self.sanction_day, day)
        overwhelmed = False
        if level == MILITARY:
            overwhelmed = self.commit(inst, day, named)
        chance = getattr(self.sc.decision.backdown, LEVEL_NAMES[level])
        if self.rng.random() < chance or overwhelmed:
            self.backed_down = True
            self.end_day = day if self.end_day is None else min(self.end_day, day)

    def commit(self, inst: Any, day: int, named: dict[int, bool]) -> bool:
        """Step 8: each member decides whether and how much to commit."""
        p, th = self.p, self.sc.theory
        chosen = []
        covered = inst.covered.tolist()
        # Free-riding on this replication's capabilities: the largest third state covered.
        biggest = max(
            (self.cap[s] for s in covered if s not in (p.aggressor, p.target)), default=None
        )
        for j, s in enumerate(covered):
            willing = self.rng.random() < inst.p_commit[j]
            if not th.organski.equal_freedom_of_action:
                willing = willing and self.rng.random() >= th.organski.constraint
            entered = self.entry[s]
            if (
                willing
                and named[s]
                and s not in (p.aggressor, p.target)
                and not (entered is not None and entered < day)
            ):
                burden = (
                    1.0 if biggest is None else min((self.cap[s] / biggest) ** th.free_riding, 1.0)
                )
                chosen.append((s, float(burden)))
        committed = sum(self.cap[s] * p.projection[s] * share for s, share in chosen)
        own = self.cap[p.aggressor] * p.projection[p.aggressor]
        scale = 1.0
        if p.coalition_ratio > 0 and committed > 0:
            scale = max(1.0, p.coalition_ratio * own / committed)
        for s, share in chosen:
            delay = lognormal_days(self.rng, *inst.declaration)
            self.request_entry(day + delay, s, D_SIDE, Reason.INSTITUTION, share * scale)
        if th.organski.modify_or_defeated:  # whole sides: the forces at war, and those committed
            new = {s for s, _ in chosen}
            sides = {A_SIDE: 0.0, D_SIDE: committed * scale}
            for s in range(len(self.side)):
                entered = self.entry[s]
                if s in new or entered is None or entered > day or self.side[s] not in sides:
                    continue
                sides[self.side[s]] += self.force[s]
            return sides[D_SIDE] > sides[A_SIDE]
        return False

    # ---------------------------------------------------------------- entries and cascades

    def request_entry(self, day: int, state: int, side: int, reason: int, share: float) -> None:
        """File an entry into the war on ``day``; all entries of a day are applied together."""
        if side == D_SIDE and state != self.p.target and reason != Reason.ATTACKED:
            self.help_promised = True  # an invaded state is no help
        if day > self.p.horizon:
            return
        if day not in self.pending:
            self.pending[day] = []
            ev = self.env.timeout(day - self.env.now)
            ev.callbacks.append(lambda _e, d=day: self.enter(d))
        self.pending[day].append((state, int(reason), side, share))

    def enter(self, day: int) -> None:
        """Step 9: states enter, one request per state wins (lowest reason, side; largest share)."""
        requests = sorted(self.pending.pop(day), key=lambda q: (q[0], q[1], q[2], -q[3]))
        if not self.alive():
            return
        new = []
        for s, reason, side, share in requests:
            if self.entry[s] is not None:
                continue
            self.entry[s] = day
            self.side[s] = side
            self.reason[s] = reason
            self.cascade_entry[s] = reason in (Reason.TREATY, Reason.ATTACKED)
            self.force[s] = self.cap[s] * float(self.p.projection[s]) * share
            self.belligerents.append(s)
            new.append((s, side))
        for t in self.p.treaties:
            for s, side in new:
                self.cascade(t, day, s, side)
        for s, side in new:
            for victim in self.p.invades[s].tolist():
                self.request_entry(
                    day + 1, victim, D_SIDE if side == A_SIDE else A_SIDE, Reason.ATTACKED, 1.0
                )

    def cascade(self, t: Any, day: int, s_new: int, side: int) -> None:
        """Step 10: a state entering calls its treaty partners."""
        parties = t.parties.tolist()
        enemy = A_SIDE if side == D_SIDE else D_SIDE
        if s_new in parties and (t.casus == 2 or (t.casus == 0 and side == D_SIDE)):
            for q in parties:
                if q != s_new:
                    self.call_partner(t, day, q, side)
        if t.casus == 1 and s_new in t.against.tolist():
            for q in parties:
                if self.side[q] == enemy and self.entry[q] is not None and self.entry[q] <= day:
                    for o in parties:
                        if o != q:
                            self.call_partner(t, day, o, enemy)
        if t.casus == 1 and s_new in parties:
            if any(
                self.side[x] == enemy and self.entry[x] is not None and self.entry[x] <= day
                for x in t.against.tolist()
            ):
                for o in parties:
                    if o != s_new:
                        self.call_partner(t, day, o, side)

    def call_partner(self, t: Any, day: int, partner: int, side: int) -> None:
        """A partner not yet at war honours the treaty with its strength, after a delay.

        It decides once per treaty: called again (by another party's entry), it answers as
        it did the first time.
        """
        if self.entry[partner] is not None and self.entry[partner] <= day:
            return
        key = (id(t), partner)
        if key not in self.answers:
            honours = self.rng.random() < t.strength
            self.answers[key] = (honours, lognormal_days(self.rng, *t.delay) if honours else 0)
        honours, delay = self.answers[key]
        if honours:
            self.request_entry(day + delay, partner, side, Reason.TREATY, 1.0)

    # ---------------------------------------------------------------- the war

    def mobilized(self, s: int, t: int) -> float:
        """Share of a belligerent's force in the theatre on day ``t``."""
        entry = self.entry[s]
        assert entry is not None
        if t < entry + self.transit[s]:
            return 0.0
        if self.full_days[s] <= 0:
            return 1.0
        return min(1.0, self.ready[s] + (1.0 - self.ready[s]) * (t - entry) / self.full_days[s])

    def war(self) -> Any:
        """Fight each day after that day's events (Lanchester, resolve thresholds)."""
        p, c = self.p, self.sc.combat
        half_var = 0.5 * c.effectiveness_sd**2
        yield self.env.timeout(0.5)
        for t in range(0, p.horizon + 1):
            if self.backed_down or (self.end_day is not None and self.end_day <= t):
                return
            a_mob = d_mob = helpers = 0.0
            for s in self.belligerents:
                f = self.force[s] * self.mobilized(s, t)
                if self.side[s] == A_SIDE:
                    a_mob += f
                else:
                    d_mob += f
                    if s != p.target and self.reason[s] != Reason.ATTACKED:
                        helpers += f
            if self.sanction_day is not None and t >= self.sanction_day:
                a_mob *= 1.0 - c.sanctions_effect
            a_now = max(a_mob - self.loss_a, 0.0)
            d_now = max(d_mob - self.loss_d, 0.0)
            eff_a = math.exp(c.effectiveness_sd * self.rng.standard_normal() - half_var)
            z_d = self.rng.standard_normal()
            eff_d = c.defender_advantage * math.exp(c.effectiveness_sd * z_d - half_var)
            hit_a = c.attrition * eff_d * d_now
            hit_d = c.attrition * eff_a * a_now
            if p.law == 1:
                hit_a *= a_now / (a_mob + 1e-300)
                hit_d *= d_now / (d_mob + 1e-300)
            self.loss_a += min(hit_a, a_now)
            self.loss_d += min(hit_d, d_now)
            frac_a = self.loss_a / a_mob if a_mob > 0 else 1.0
            frac_d = self.loss_d / d_mob if d_mob > 0 else 1.0
            broke_a, broke_d = frac_a >= p.resolve_a, frac_d >= p.resolve_d
            if broke_a or broke_d:
                self.end_day = t
                self.helpers_in = helpers > 0
                if broke_d and (not broke_a or frac_d / p.resolve_d >= frac_a / p.resolve_a):
                    self.ending = 1
                else:
                    self.ending = 2
                return
            yield self.env.timeout(1)

    # ---------------------------------------------------------------- step 12

    def record(self) -> dict[str, Any]:
        """Classify the outcome and count belligerents."""
        if self.deterred:
            return {
                "outcome": DETERRED,
                "end_day": -1,
                "n_belligerents": 0,
                "n_cascade_entries": 0,
                "losses_aggressor": 0.0,
                "losses_defenders": 0.0,
                "first_vote": -1,
            }
        outcome = STALEMATE
        if self.ending == 1:
            outcome = (
                DEFENDERS_DEFEATED
                if self.helpers_in
                else (FAIT_ACCOMPLI if self.help_promised or self.responded else NO_RESPONSE)
            )
        elif self.ending == 2:
            outcome = AGGRESSOR_DEFEATED
        elif self.backed_down:
            outcome = BACKED_DOWN
        end = self.p.horizon if self.end_day is None else self.end_day
        entered = [
            s
            for s in range(self.p.n_states)
            if self.entry[s] is not None and self.entry[s] <= end and self.side[s] > 0
        ]  # type: ignore[operator]
        return {
            "outcome": outcome,
            "end_day": end,
            "n_belligerents": len(entered),
            "n_cascade_entries": sum(1 for s in entered if self.cascade_entry[s]),
            "losses_aggressor": self.loss_a,
            "losses_defenders": self.loss_d,
            "first_vote": self.votes.get(0, -1),  # the first institution's last vote
        }


def simulate(plan: Plan, seed: int, start: int, stop: int) -> dict[str, np.ndarray]:
    """Replications ``start .. stop - 1``, one Environment each, as arrays."""
    rows = [Replication(plan, seed, r).run() for r in range(start, stop)]
    return {k: np.array([row[k] for row in rows]) for k in rows[0]} if rows else {}


def _chunk(args: tuple[Plan, int, int, int]) -> dict[str, np.ndarray]:
    return simulate(*args)


def run(plan: Plan, seed: int, n: int, workers: int = 1) -> dict[str, np.ndarray]:
    """Run ``n`` replications in ``workers`` processes (spawn), the way one would by hand."""
    if workers <= 1:
        return simulate(plan, seed, 0, n)
    import multiprocessing as mp

    step = -(-n // (4 * workers))
    jobs = [(plan, seed, a, min(n, a + step)) for a in range(0, n, step)]
    with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
        parts = list(pool.map(_chunk, jobs))
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def main(argv: list[str]) -> None:
    """``python benchmarks/naive.py N [--workers W]``: time the naive baseline."""
    from crisis_sim import scenario
    from crisis_sim.compiled import compile_scenario

    n = int(argv[0]) if argv else 2000
    workers = int(argv[argv.index("--workers") + 1]) if "--workers" in argv else 1
    plan = compile_scenario(scenario.load("default"))
    t0 = time.perf_counter()
    out = run(plan, 1, n, workers)
    dt = time.perf_counter() - t0
    counts = np.bincount(out["outcome"], minlength=7)
    print(f"naive: {n} replications, {workers} worker(s): {dt:.2f} s, {n / dt:,.0f} replications/s")
    print("outcome counts:", counts.tolist())


if __name__ == "__main__":
    main(sys.argv[1:])
