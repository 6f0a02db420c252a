"""The crisis as SimPy processes acting on cohorts of replications.

A chunk of replications shares one SimPy Environment. Every step of the crisis (MODEL.md's
twelve) is a handler; all replications of the chunk whose next step of a kind falls on the same
day are handled by one SimPy event, and the Numba kernel fights each replication's war lazily:
only where a step needs the war as it stands (a motion that passed) and once at the horizon.
The other steps act on the war as last fought, and what they record is put right once the
war's end is known (an appeal or a failed vote after the aggressor's side broke never
happened). A chunk of one replication is the same code: that is ``trace``, which fights before
every step so that its story follows the war day by day.

Determinism across chunkings rests on three rules: every consequence comes at least one day
after its cause; a decision on day ``t`` sees the war as it stood at the start of day ``t``; and
all entries into the war on one day are applied together, in a canonical order.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from functools import partial
from typing import Any

import numpy as np
import simpy

from crisis_sim import codes, draws
from crisis_sim.codes import (
    AGGRESSOR_BROKE,
    AGGRESSOR_SIDE,
    DEFENDER_SIDE,
    DEFENDERS_BROKE,
    NOT_ENTERED,
)
from crisis_sim.compiled import (
    LEVEL_CODE,
    LEVELS,
    Plan,
    applies,
    balancer_rank,
    burden,
    threatens,
    treaty_tables,
    voters,
)
from crisis_sim.native import kernels
from crisis_sim.outcomes import (
    AGGRESSOR_DEFEATED,
    BACKED_DOWN,
    DEFENDERS_DEFEATED,
    DETERRED,
    FAIT_ACCOMPLI,
    NO_RESPONSE,
    OUTCOMES,
    STALEMATE,
    Reason,
    in_words,
)
from crisis_sim.rules import NO_DECISION, PASSED, VOTE_MEANINGS

CONDEMNATION, SANCTIONS, MILITARY = (
    LEVEL_CODE[k] for k in ("condemnation", "sanctions", "military")
)
STILL_RUNNING = np.iinfo(np.int32).max
# Steps that may act on a war not yet fought up to their day (see ``identify_aggressor``,
# ``vote``, ``enter_war``).
BLIND = ("identify:", "vote:", "enter:")
# Places on the war roll to begin with: in the default scenario all but about one war in 5,000
# have at most eight belligerents; the roll widens (for the whole chunk, so about once per
# 50,000 replications) when one has more.
ROLL_WIDTH = 8
# Draw indices, propensities, unity bloc, its draw and propensity, target, aggressor, voters.
VoteConstants = tuple[
    np.ndarray, np.ndarray, np.ndarray, int, float, np.ndarray, np.ndarray, np.ndarray
]


class Crisis:
    """One chunk of replications ``start .. stop - 1`` of a scenario, advanced together."""

    def __init__(self, plan: Plan, seed: int, start: int, stop: int, story: bool = False) -> None:
        self.plan = plan
        self.seed = int(seed)
        self.rep = np.arange(start, stop, dtype=np.int64)
        n, s_count, i_count = stop - start, plan.n_states, len(plan.institutions)
        self.n = n
        self.env = simpy.Environment()
        self.story: list[tuple[int, int, str]] | None = [] if story else None
        self._agenda: dict[tuple[str, int], list[tuple[np.ndarray, ...]]] = {}
        self._constants: dict[tuple[int, int], VoteConstants] = {}
        # Per replication.
        self.deterred = np.zeros(n, dtype=bool)
        self.p_win = np.zeros(n)
        self.end_day = np.full(n, STILL_RUNNING, dtype=np.int32)
        self.ending = np.zeros(n, dtype=np.int8)
        self.backed_down = np.zeros(n, dtype=bool)
        self.promised_day = np.full(n, STILL_RUNNING, dtype=np.int32)  # first call for help
        self.aggressor_quit = np.zeros(n, dtype=bool)
        self.sanction_day = np.full(n, STILL_RUNNING, dtype=np.int64)
        self.loss_a = np.zeros(n)
        self.loss_d = np.zeros(n)
        self.fought_to = np.zeros(n, dtype=np.int64)  # the war is fought up to this day (excl.)
        self.combat = plan.combat_constants
        self._mobilization = plan.mobilization
        # Per replication and state.
        self.cap = kernels.capabilities(self.seed, self.rep, plan.cap_mean, plan.cap_spread)
        self.side = np.zeros((n, s_count), dtype=np.int8)
        self.entry = np.full((n, s_count), NOT_ENTERED, dtype=np.int32)
        self.reason = np.zeros((n, s_count), dtype=np.int8)
        # The war roll: each replication's belligerents in state order (what the kernel reads),
        # as wide as the most crowded war so far (it grows when a war gets more belligerents).
        self.n_bel = np.zeros(n, dtype=np.int16)
        self._make_roll(min(s_count, ROLL_WIDTH))
        self.via_cascade = np.zeros((n, s_count), dtype=bool)
        # Per replication and institution.
        self.referral_day = np.full((n, i_count), -1, dtype=np.int16)  # days fit (horizon)
        self.decision_day = np.full((n, i_count), -1, dtype=np.int16)
        self.vote_result = np.full((n, i_count), -1, dtype=np.int8)
        self.vetoed_by = np.full((n, i_count), -1, dtype=np.int16)
        self.response_level = np.full((n, i_count), -1, dtype=np.int8)
        self.left = np.zeros((n, i_count), dtype=bool)
        # Votes taken on a war not yet fought up to their day: day, and the records they
        # replaced (see ``vote``); day -1 where none is held.
        self._held = np.full((n, i_count, 4), -1, dtype=np.int16)
        self.identified: dict[int, np.ndarray] = {}
        self._treaties = treaty_tables(plan.treaties) if plan.treaties else None
        self._invaders = [s for s in range(s_count) if len(plan.invades[s])]  # war plans

    def _make_roll(self, width: int) -> None:
        """(Re)allocate the war roll with room for ``width`` belligerents per replication."""
        shape = (self.n, width)
        # Places beyond a replication's ``n_bel`` are never read: no need to clear them.
        roll: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] = (
            np.empty(shape, dtype=np.int16),  # state
            np.empty(shape, dtype=np.int8),  # side
            np.empty(shape, dtype=np.int32),  # entry day
            np.empty(shape),  # force
        )
        if hasattr(self, "b_state"):
            for new, old in zip(roll, self.roll(), strict=True):
                new[:, : old.shape[1]] = old
        self.b_state, self.b_side, self.b_entry, self.b_force = roll

    def roll(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The war roll: state, side, entry day and force per replication and place.

        The kernel finds a state's mobilization constants in the plan's small per-state table
        (always in cache), by the state code on the roll: copies on the roll would cost 24 bytes
        a place.
        """
        return self.b_state, self.b_side, self.b_entry, self.b_force

    # ------------------------------------------------------------------ the story

    def run(self) -> dict[str, np.ndarray]:
        """Simulate the chunk to the horizon and return its results as arrays."""
        self.env.process(self.crisis())
        self.env.run(until=self.plan.horizon + 1)
        self.advance(np.arange(self.n), self.plan.horizon + 1)
        return self.results()

    def crisis(self) -> Generator[simpy.Event, Any, None]:
        """Steps 1-3; the institutions and treaties carry the story on from there."""
        attackers = self.decide_to_attack()  # 1
        yield self.env.timeout(0)
        self.attack(attackers)  # 2
        for inst in self.plan.institutions:  # 3 (treaties are checked as states enter)
            self.refer(inst, attackers)

    def advance(self, reps: np.ndarray, day: int) -> None:
        """Steps 9 and 12: fight these replications' wars up to the start of ``day``.

        Called where a step needs the war as it stands (a motion that passed; every step when
        telling a story) and once at the horizon, so each war is cut only at a few of its own
        event days (fewer, longer kernel calls than cutting at every event day of the chunk),
        and a decision on day ``t`` that needs it sees the war as it stood at the start of day
        ``t``: bit-identical to fighting day by day.
        """
        p = self.plan
        if len(reps) > 1:  # distinct replications (a day's entries may repeat one), sorted
            reps = np.sort(reps)
            reps = reps[np.concatenate(([True], reps[1:] != reps[:-1]))]
        before = self.ending[reps].copy() if self.story is not None else None
        big = draws.worth_threads(len(reps), codes.PARALLEL_COHORT)  # small cohorts: no launch
        fight = kernels.advance_war if big else kernels.advance_war_serial
        fight(
            reps,
            day,
            self.rep,
            self.n_bel,
            *self.roll(),
            self._mobilization,
            self.sanction_day,
            self.loss_a,
            self.loss_d,
            self.end_day,
            self.ending,
            self.fought_to,
            self.deterred,
            self.backed_down,
            self.seed,
            p.law,
            self.combat,
        )
        if before is not None:
            self._tell_war_ends(reps[(before == 0) & (self.ending[reps] != 0)])

    # ------------------------------------------------------------------ 1-2

    def decide_to_attack(self) -> np.ndarray:
        """Step 1: the aggressor weighs its chance of winning against the expected response."""
        p, sc = self.plan, self.plan.scenario
        a, g = p.aggressor, p.target
        own, perceived = kernels.perceived_balance(
            self.seed,
            self.rep,
            self.cap,
            p.projection,
            p.belief_help,
            p.belief_share,
            p.belief_allies,
            a,
            g,
            float(p.coalition_ratio),
            sc.decision.misperception,
        )
        self.p_win = kernels.contest_success(own, perceived, sc.decision.csf_exponent)
        self.deterred = self.p_win < sc.decision.attack_threshold
        self.end_day[self.deterred] = -1
        self.tell(
            1,
            np.arange(self.n),
            lambda i: (
                f"{self._n(a)} estimates its chance of winning at "
                f"{_against(float(self.p_win[i]), sc.decision.attack_threshold)}: "
                + ("deterred, no attack" if self.deterred[i] else "it attacks")
            ),
            day=0,
        )
        return np.flatnonzero(~self.deterred)

    def attack(self, reps: np.ndarray) -> None:
        """Step 2: attack on day 0; the target resists with what it has mobilized."""
        p = self.plan
        self.referral_day[reps] = -1
        self.vote_result[reps] = NO_DECISION
        self.response_level[reps] = 0
        ones = np.ones(len(reps))
        self.request_entry(
            0, reps, np.full(len(reps), p.aggressor), AGGRESSOR_SIDE, Reason.PARTY, ones
        )
        self.request_entry(0, reps, np.full(len(reps), p.target), DEFENDER_SIDE, Reason.PARTY, ones)
        self.tell(2, reps, lambda i: f"{self._n(p.aggressor)} attacks {self._n(p.target)}")

    # ------------------------------------------------------------------ 3-5

    def refer(self, inst: Any, reps: np.ndarray) -> None:
        """Step 3: the target appeals to each institution it can (after a referral delay)."""
        p = self.plan
        if not applies(inst, p.aggressor, p.target) or not len(reps):
            return
        days = draws.lognormal_days(
            self.seed, self.rep[reps], codes.REFERRAL, inst.index, *inst.referral
        )
        self.schedule(days, partial(self.identify_aggressor, inst), "identify", inst.index, reps)

    def identify_aggressor(self, inst: Any, day: int, reps: np.ndarray) -> None:
        """Step 4: each member names the aggressor, or not (Organski's first assumption).

        The war is not fought up to this day first (one cut less per replication): where the
        aggressor's side broke before the appeal, the institution deliberates for nothing. A
        later vote on it fails or, if it passes, fights the war up to date first and is
        dropped; :meth:`results` records neither the appeal nor a failed vote. The outcome is
        the same as checking first.
        """
        reps = reps[self.seized(reps, day)]
        if not len(reps):
            return
        self.referral_day[reps, inst.index] = day
        u = draws.uniform_draws(
            self.seed, self.rep[reps], codes.IDENTIFY, inst.index * 1024 + inst.covered
        )
        named = u < inst.p_identify[None, :]
        if inst.bloc.any():  # Schuman's great powers name the aggressor as one, or not at all
            b = np.flatnonzero(inst.bloc)  # members come first among the covered states
            shared = draws.uniform_draws(
                self.seed, self.rep[reps], codes.IDENTIFY, inst.index * 1024 + codes.BLOC_DRAW
            )
            named[:, b] = (shared < inst.p_identify[b].mean())[:, None]
        named[:, inst.covered == self.plan.target] = True
        named[:, inst.covered == self.plan.aggressor] = False
        if inst.index not in self.identified:
            self.identified[inst.index] = np.zeros((self.n, len(inst.covered)), dtype=bool)
        self.identified[inst.index][reps] = named
        self.tell(3, reps, lambda i: f"{self._n(self.plan.target)} appeals to the {inst.name}")
        self.tell(
            4,
            reps,
            lambda i: (
                f"{self.identified[inst.index][reps[i]].sum()} of the {len(inst.covered)} "
                f"states the {inst.name} covers name {self._n(self.plan.aggressor)} the aggressor"
            ),
        )
        self.deliberate(inst, 0, day, reps)

    def deliberate(self, inst: Any, stage: int, day: int, reps: np.ndarray) -> None:
        """Step 5: a random deliberation delay before the vote on this stage."""
        st = inst.stages[stage]
        delay = draws.lognormal_days(
            self.seed,
            self.rep[reps],
            codes.DELIBERATION,
            inst.index * 16 + stage,
            st.median,
            st.spread,
        )
        if inst.rule_name == "central_authority":
            delay = np.maximum(np.round(np.full(len(reps), st.median)), 1).astype(np.int64)
        self.tell(
            5,
            reps,
            lambda i: (
                f"the {inst.name} deliberates on {LEVELS[st.level]} (about {st.median:g} days)"
            ),
            day=day,
        )
        self.schedule(
            day + delay, partial(self.vote, inst, stage), "vote", inst.index * 16 + stage, reps
        )

    # ------------------------------------------------------------------ 6-8

    def vote(self, inst: Any, stage: int, day: int, reps: np.ndarray) -> None:
        """Step 6: members vote under the institution's rule.

        The ballot and the decision do not depend on the war, so they are taken first. Only
        where the motion passes is the war fought up to this day (its consequences need the
        war as it stands), and the motion dropped where the crisis was in fact over. Elsewhere
        the failed motion, which changes nothing but its records, is taken on the war as last
        fought and held: :meth:`results` puts the records back where the aggressor's side
        turns out to have broken before this day (one cut less per replication). The outcome
        is the same as fighting first.
        """
        reps = reps[self.seized(reps, day)]  # exact where fought up to this day, else hopeful
        if not len(reps):
            return
        st = inst.stages[stage]
        acts = (
            self.threatened(inst, reps)
            if inst.rule_name == "unilateral"
            else np.ones(len(reps), dtype=bool)
        )
        yes, voting, result, veto_pos = kernels.vote(
            self.seed,
            reps,
            self.rep,
            *self._vote_constants(inst, stage),
            self.identified[inst.index],
            self.left[:, inst.index],
            acts,
            inst.rule.code,
            inst.permanent,
            inst.quota,
            st.procedural,
        )
        passed = result == PASSED
        if passed.any():
            self.advance(reps[passed], day)
            keep = ~passed
            keep[passed] = self.seized(reps[passed], day)
            if not keep.all():
                reps, yes, voting, result, veto_pos = (
                    x[keep] for x in (reps, yes, voting, result, veto_pos)
                )
                passed = passed[keep]
        kernels.record_vote(
            reps,
            result,
            veto_pos,
            inst.members,
            day,
            inst.index,
            self.fought_to,
            self.ending,
            self.backed_down,
            self.decision_day,
            self.vote_result,
            self.vetoed_by,
            self._held,
        )
        self.tell(
            6, reps, lambda i: self._vote_line(inst, st, yes, voting, result, veto_pos, reps, i)
        )
        if passed.any():
            winners = reps[passed]
            self.respond(inst, stage, day, winners, yes[passed])
            if stage + 1 < len(inst.stages):
                self.deliberate(inst, stage + 1, day, winners[self.seized(winners, day + 1)])

    def _vote_constants(self, inst: Any, stage: int) -> VoteConstants:
        """What every vote of a stage shares, found once per chunk.

        ``cohort.vote``'s arguments from the draw indices to who may vote.
        """
        found = self._constants.get((inst.index, stage))
        if found is None:
            p, st = self.plan, inst.stages[stage]
            bloc = inst.bloc
            sub = inst.index * 16 + stage
            found = (
                sub * 1024 + inst.members,  # draw indices
                st.p_yes,
                bloc,
                sub,  # the bloc's draw
                float(st.p_yes[bloc].mean()) if bloc.any() else 0.0,
                inst.members == p.target,
                inst.members == p.aggressor,
                voters(inst, p.aggressor, p.target),
            )
            self._constants[(inst.index, stage)] = found
        return found

    def threatened(self, inst: Any, reps: np.ndarray) -> np.ndarray:
        """Self-help acts only when the aggressor's gain would threaten predominance."""
        return threatens(inst, self.plan.aggressor, self.plan.target, self.cap[reps])

    def respond(self, inst: Any, stage: int, day: int, reps: np.ndarray, yes: np.ndarray) -> None:
        """Step 7 (and 11): the response of this level, and the aggressor's reaction to it."""
        sc = self.plan.scenario
        level = inst.stages[stage].level
        # Self-help has no collective decision: it responds where a balancer acts (below).
        self_help = inst.rule_name == "unilateral" and level == MILITARY
        key = inst.index * 16 + stage
        if not self_help:
            self._adopt(inst, stage, reps, level)
        # After a fait accompli the organization may still condemn; no one fights any more.
        open_ = self.alive(reps, day)
        reps, yes = reps[open_], yes[open_]
        if level == SANCTIONS:
            self.sanction_day[reps] = np.minimum(self.sanction_day[reps], day)
        overwhelmed = np.zeros(len(reps), dtype=bool)
        acted = np.ones(len(reps), dtype=bool)
        if level == MILITARY:
            overwhelmed, acted = self.commit(inst, day, reps, yes)
        if self_help:
            self._adopt(inst, stage, reps[acted], level)
        chance = getattr(sc.decision.backdown, LEVELS[level])
        backs = draws.uniform_draws(self.seed, self.rep[reps], codes.BACKDOWN, key) < chance
        if self_help:  # no balancer acted: nothing to back down from, nor to be overwhelmed by
            backs &= acted
            overwhelmed &= acted
        self.back_down(day, reps[overwhelmed | backs])

    def _adopt(self, inst: Any, stage: int, reps: np.ndarray, level: int) -> None:
        """Steps 7 and 11: the response reaches this level, and the aggressor may quit.

        Any response condemns; a member of the organization, voting or not, may quit it once.
        """
        p = self.plan
        self.response_level[reps, inst.index] = np.maximum(
            self.response_level[reps, inst.index], level
        )
        self.tell(7, reps, lambda i: f"the {inst.name} adopts {LEVELS[level]}")
        if inst.quit_if_condemned > 0 and p.aggressor in inst.covered:
            still_in = reps[~self.left[reps, inst.index]]
            draw = draws.uniform_draws(
                self.seed, self.rep[still_in], codes.QUIT, inst.index * 16 + stage
            )
            quits = still_in[draw < inst.quit_if_condemned]
            self.left[quits, inst.index] = True
            self.aggressor_quit[quits] = True
            self.tell(11, quits, lambda i: f"{self._n(p.aggressor)} quits the {inst.name}")

    def commit(
        self, inst: Any, day: int, reps: np.ndarray, yes: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Step 8: each member decides whether and how much to commit.

        Returns who is overwhelmed (Organski's fifth) and where any member committed.

        A world authority commits its own force, always; the coalition's sufficient power
        (Organski's fourth, Morgenthau's first) and Organski's fifth apply to it as to any
        coalition, as in the aggressor's forecast. Members commit with their own propensity
        (self-interest, conflicting interests; equal commitment, imposed, gives every third
        state the readiest one's), only if free to act (Organski's third assumption) and if
        they named the aggressor; how much they commit follows free-riding (see
        ``compiled._commit_propensity``). Under self-help each balancer also passes the buck
        to stronger ones.
        """
        p = self.plan
        a = p.aggressor
        if inst.rule_name == "central_authority":  # its own force, unless already at war
            members, share = np.array([inst.force]), np.ones((len(reps), 1))
            chosen: np.ndarray = ~(self.entry[reps][:, members] < day)
        else:
            members, share = inst.covered, self._burden(inst, reps)
            chosen = self._willing(inst, day, reps, yes)
        strength = self.cap[reps][:, members] * p.projection[members] * share
        committed = (strength * chosen).sum(axis=1)
        own = self.cap[reps, a] * p.projection[a]
        scale = np.ones(len(reps))
        if p.coalition_ratio > 0:
            need = p.coalition_ratio * own
            scale = np.where(
                committed > 0, np.maximum(1.0, need / np.maximum(committed, 1e-300)), 1.0
            )
        overwhelmed = np.zeros(len(reps), dtype=bool)
        if p.scenario.theory.organski.modify_or_defeated:
            overwhelmed = self._overwhelmed(day, reps, members, chosen, committed * scale)
        self._enlist(inst, day, reps, members, chosen, share, scale)
        return overwhelmed, np.asarray(chosen.any(axis=1))

    def _overwhelmed(
        self,
        day: int,
        reps: np.ndarray,
        members: np.ndarray,
        chosen: np.ndarray,
        committed: np.ndarray,
    ) -> np.ndarray:
        """Organski's fifth: the collective might now ranged against the aggressor's side.

        Whole sides, as the war roll has them by this day (each belligerent's committed force):
        the target's side with the forces just committed (counted once, as committed, if one of
        those states is already on the roll), against the aggressor's side.
        """
        width = self.b_state.shape[1]
        entered = (np.arange(width) < self.n_bel[reps][:, None]) & (self.b_entry[reps] <= day)
        just = np.zeros((len(reps), self.plan.n_states), dtype=bool)
        just[:, members] = chosen
        on_roll = np.where(entered, self.b_state[reps], 0).astype(np.intp)
        entered &= ~np.take_along_axis(just, on_roll, axis=1)
        force = np.where(entered, self.b_force[reps], 0.0)
        side = self.b_side[reps]
        mine = (force * (side == codes.AGGRESSOR_SIDE)).sum(axis=1)
        against = (force * (side == codes.DEFENDER_SIDE)).sum(axis=1)
        return np.asarray(committed + against > mine)

    def _burden(self, inst: Any, reps: np.ndarray) -> np.ndarray:
        """Free-riding: the share of its strength each covered state commits, per replication.

        ``(capability / largest) ** free_riding``, the largest being the largest third state
        covered, in this replication's capabilities (the forecast takes the medians').
        """
        p = self.plan
        third = (inst.covered != p.aggressor) & (inst.covered != p.target)
        return burden(self.cap[reps][:, inst.covered], third, p.scenario.theory.free_riding)

    def _willing(self, inst: Any, day: int, reps: np.ndarray, yes: np.ndarray) -> np.ndarray:
        """Which covered states commit, per replication (see :meth:`commit`)."""
        p, sc = self.plan, self.plan.scenario
        a, g = p.aggressor, p.target
        members = inst.covered
        key = inst.index * 1024 + members
        p_commit = inst.p_commit
        if inst.rule_name == "unilateral":
            p_commit = p_commit * (1.0 - sc.theory.buck_passing) ** balancer_rank(
                inst, p.cap_mean, a, g
            )
        rep_ids = self.rep[reps]
        willing = draws.uniform_draws(self.seed, rep_ids, codes.COMMIT, key) < p_commit[None, :]
        if not sc.theory.organski.equal_freedom_of_action:
            willing &= (
                draws.uniform_draws(self.seed, rep_ids, codes.FREEDOM, key)
                >= sc.theory.organski.constraint
            )
        chosen = willing & self.identified[inst.index][reps]
        if inst.rule_name == "unilateral":
            chosen[:, : len(inst.members)] &= yes
        chosen &= (members != a) & (members != g)
        return chosen & ~(self.entry[reps][:, members] < day)  # not at war already

    def _enlist(
        self,
        inst: Any,
        day: int,
        reps: np.ndarray,
        states: np.ndarray,
        chosen: np.ndarray,
        share: np.ndarray,
        scale: np.ndarray | None = None,
    ) -> None:
        """File the entries of committed members after their declaration delay."""
        rr, jj = np.nonzero(chosen)
        if not len(rr):
            return
        s = states[jj]
        delay = draws.lognormal_days(
            self.seed,
            self.rep[reps[rr]],
            codes.DECLARATION,
            inst.index * 1024 + s,
            *inst.declaration,
        )
        mult = share[rr, jj] * (scale[rr] if scale is not None else 1.0)
        self.tell(8, reps[rr], lambda i: f"{self._n_list(reps, rr, s, i)} commit forces", day=day)
        why = Reason.SELF_HELP if inst.rule_name == "unilateral" else Reason.INSTITUTION
        self.request_entry(day + delay, reps[rr], s, DEFENDER_SIDE, why, mult)

    # ------------------------------------------------------------------ 9-11

    def request_entry(
        self, days: Any, reps: np.ndarray, states: np.ndarray, side: Any, reason: int, share: Any
    ) -> None:
        """States will enter the war on ``days`` on ``side`` (step 9's mobilization starts then)."""
        reps = np.ascontiguousarray(reps, dtype=np.int64)
        n = len(reps)
        if not n:
            return
        days = np.broadcast_to(np.asarray(days, dtype=np.int64), (n,))
        states = np.ascontiguousarray(states, dtype=np.int64)
        sides = np.broadcast_to(np.asarray(side, dtype=np.int8), (n,))
        if reason != Reason.ATTACKED:  # help is promised (an invaded state is no help)
            third = reps[(sides == DEFENDER_SIDE) & (states != self.plan.target)]
            self.promised_day[third] = np.minimum(self.promised_day[third], int(self.env.now))
        cols = (
            reps,
            states,
            sides.copy(),
            np.full(n, reason, dtype=np.int8),
            np.broadcast_to(np.asarray(share, dtype=np.float64), (n,)).copy(),
        )
        self.schedule(days, self.enter_war, "enter", 0, *cols)

    def enter_war(
        self,
        day: int,
        reps: np.ndarray,
        states: np.ndarray,
        sides: np.ndarray,
        reasons: np.ndarray,
        shares: np.ndarray,
    ) -> None:
        """Step 9: states enter on this day, all together; step 10: their treaties cascade.

        The war is not fought up to this day first (one cut less per entry): a new belligerent
        adds exactly nothing before its entry day, so the kernel may fight across it later.
        Where the war had in fact ended before this day, the entry and its cascade change
        nothing that is kept: :meth:`results` counts only states that entered by the war's last
        day, and help only as promised while the war went on.
        """
        keys, n_open = kernels.claim_keys(
            day, reps, states, sides, reasons, self.deterred, self.end_day
        )
        order = np.argsort(keys, kind="stable")[:n_open]  # claims in order, on open crises
        cols = (reps, states, sides, reasons, shares)
        took, need = self._enter(day, order, cols)
        if need > self.b_state.shape[1]:  # the roll is widened first: nothing written yet
            self._make_roll(min(self.plan.n_states, max(need, 2 * self.b_state.shape[1])))
            took, need = self._enter(day, order, cols)
        reps, states, sides, reasons = (x[took] for x in (reps, states, sides, reasons))
        if not len(reps):
            return
        self.tell(
            9, reps, lambda i: self._entry_line(reps, states, sides, reasons, i, day), day=day
        )
        self.cascade(day, reps, states, sides)

    def _enter(
        self, day: int, order: np.ndarray, cols: tuple[np.ndarray, ...]
    ) -> tuple[np.ndarray, int]:
        """The claims ``order`` picks, entered on this chunk's records and war roll."""
        return kernels.enter(  # type: ignore[no-any-return]
            day,
            order,
            *cols,
            self.entry,
            self.side,
            self.reason,
            self.via_cascade,
            self.cap,
            self.plan.projection,
            self.n_bel,
            *self.roll(),
        )

    def cascade(self, day: int, reps: np.ndarray, states: np.ndarray, sides: np.ndarray) -> None:
        """Step 10: a state entering the war triggers its partners' obligations and war plans."""
        p = self.plan
        if self._treaties is not None:
            casus, parties, against, terms = self._treaties
            groups = kernels.grouped(states * 4 + sides, 4 * p.n_states)  # by (state, side)
            picked, todo = kernels.treaty_plan(
                day, reps, *groups, self.side, self.entry, casus, parties, against
            )
            calls = kernels.treaty_calls(
                self.seed, day, reps, self.rep, self.entry, picked, todo, terms
            )
            self._tell_calls(day, calls)
            calls = calls[calls[:, codes.CALL_HONOURS] == 1]
            self.request_entry(
                day + calls[:, codes.CALL_DELAY],
                calls[:, codes.CALL_REP],
                calls[:, codes.CALL_PARTNER],
                calls[:, codes.CALL_SIDE],
                Reason.TREATY,
                1.0,
            )
        for s_new in self._invaders:
            sel = states == s_new
            if not sel.any():
                continue
            rr, side = reps[sel], sides[sel]
            for victim in p.invades[s_new]:
                victim_side = np.where(side == AGGRESSOR_SIDE, DEFENDER_SIDE, AGGRESSOR_SIDE)
                for vs in (AGGRESSOR_SIDE, DEFENDER_SIDE):
                    m = victim_side == vs
                    self.request_entry(
                        day + 1, rr[m], np.full(m.sum(), victim), vs, Reason.ATTACKED, 1.0
                    )
                self.tell(10, rr, partial(self._invasion_line, int(s_new), int(victim)), day=day)

    def _tell_calls(self, day: int, calls: np.ndarray) -> None:
        """The story's treaty calls: who is called to honour which treaty, and whether it does."""
        if self.story is None:
            return
        for call in calls[calls[:, codes.CALL_REP] == 0].tolist():
            treaty = self.plan.treaties[call[codes.CALL_TREATY]].name
            partner = self._n(call[codes.CALL_PARTNER])
            answer = "" if call[codes.CALL_HONOURS] else ", and does not"
            self.story.append(
                (day, 10, f"{treaty}: {partner} is called to honour its obligation{answer}")
            )

    def _invasion_line(self, invader: int, victim: int, _i: int) -> str:
        return f"{self._n(invader)} invades {self._n(victim)}"

    def back_down(self, day: int, reps: np.ndarray) -> None:
        """Step 11: the aggressor modifies its policy; the crisis ends on this day."""
        if not len(reps):
            return
        self.backed_down[reps] = True
        self.end_day[reps] = np.minimum(self.end_day[reps], day)
        self.tell(11, reps, lambda i: f"{self._n(self.plan.aggressor)} backs down", day=day)

    # ------------------------------------------------------------------ 12

    def _tell_war_ends(self, done: np.ndarray) -> None:
        if self.story is None:
            return
        for r in done:
            who = self.plan.target if self.ending[r] == DEFENDERS_BROKE else self.plan.aggressor
            self.story.append(
                (int(self.end_day[r]), 11, f"the forces of {self._n(who)}'s side break")
            )

    def results(self) -> dict[str, np.ndarray]:
        """Step 12: classify how each replication ended, and package every record."""
        p = self.plan
        n = self.n
        outcome = np.full(n, STALEMATE, dtype=np.int8)
        fell = self.ending == DEFENDERS_BROKE
        # Answered: help promised while the war went on, or a response adopted by an
        # institution (a condemnation or sanctions count, even after the fall: Manchuria).
        answered = (self.promised_day <= self.end_day) | (self.response_level > 0).any(axis=1)
        outcome[fell & ~answered] = NO_RESPONSE
        outcome[fell & answered] = FAIT_ACCOMPLI
        fell_reps = np.flatnonzero(fell)
        helped = kernels.helpers_in_field(
            fell_reps,
            self.end_day[fell_reps],
            self.n_bel,
            *self.roll(),
            self._mobilization,
            self.reason,
            p.target,
        )
        outcome[fell_reps[helped]] = DEFENDERS_DEFEATED
        outcome[self.ending == AGGRESSOR_BROKE] = AGGRESSOR_DEFEATED
        outcome[self.backed_down & (self.ending == 0)] = BACKED_DOWN
        outcome[self.deterred] = DETERRED
        # Appeals and votes that came after the aggressor's side broke never happened
        # (identify_aggressor, vote).
        kernels.void_votes(
            self.ending,
            self.end_day,
            self.decision_day,
            self.vote_result,
            self.vetoed_by,
            self._held,
        )
        too_late = (self.ending == AGGRESSOR_BROKE)[:, None] & (
            self.referral_day > self.end_day[:, None]
        )
        self.referral_day[too_late] = -1
        end_day = np.where(self.end_day == STILL_RUNNING, p.horizon, self.end_day).astype(np.int32)
        end_day[self.deterred] = -1
        side, entry_day, arrival, reason, n_bel, n_casc = kernels.state_records(
            self.entry,
            self.side,
            self.reason,
            self.via_cascade,
            end_day,
            np.ceil(p.transit).astype(np.int64),
        )  # states that fought: entered by the end day (one pass instead of many NumPy ones)
        if self.story is not None:
            ended = in_words(OUTCOMES[int(outcome[0])])
            self.story.append((max(int(end_day[0]), 0) if n else 0, 12, f"end: {ended}"))
        return {
            "deterred": self.deterred.copy(),
            "outcome": outcome,
            "p_win_estimate": self.p_win.astype(np.float32),
            "attack_day": np.where(self.deterred, -1, 0).astype(np.int16),
            "end_day": end_day.astype(np.int16),
            "target_fell_day": np.where(fell, self.end_day, -1).astype(np.int16),
            "aggressor_quit": self.aggressor_quit.copy(),
            "n_belligerents": n_bel,
            "n_cascade_entries": n_casc,
            "losses_aggressor": self.loss_a.astype(np.float32),
            "losses_defenders": self.loss_d.astype(np.float32),
            "referral_day": self.referral_day,
            "decision_day": self.decision_day,
            "vote_result": self.vote_result,
            "vetoed_by": self.vetoed_by,
            "response_level": self.response_level,
            "capability": self.cap.astype(np.float32),
            "side": side,
            "entry_day": entry_day,
            "arrival_day": arrival,
            "entry_reason": reason,
        }

    # ------------------------------------------------------------------ machinery

    def alive(self, reps: np.ndarray, day: int) -> np.ndarray:
        """Replications whose crisis is still open on ``day`` (decisions see the day's start)."""
        return kernels.open_on(reps, day, self.deterred, self.end_day, self.ending, False)

    def seized(self, reps: np.ndarray, day: int) -> np.ndarray:
        """Replications an institution still deliberates on: open crises, and conquered targets.

        A fait accompli does not end the organization's business (the League condemned Japan
        after Manchuria had fallen); a defeated aggressor or a back-down does.
        """
        return kernels.open_on(reps, day, self.deterred, self.end_day, self.ending, True)

    def schedule(
        self, days: Any, step: Callable[..., None], kind: str, sub: int, *cols: np.ndarray
    ) -> None:
        """Put replications on the agenda: one SimPy event per (kind of step, day)."""
        days = np.asarray(days, dtype=np.int64)
        if days.ndim == 0:
            if days > self.plan.horizon or not len(cols[0]):
                return
            self._file((f"{kind}:{sub}", int(days)), step, cols)  # one day for all
            return
        name = f"{kind}:{sub}"
        for day, part in _split(days, self.plan.horizon, *cols):  # days past the horizon: none
            self._file((name, day), step, part)

    def _file(self, key: tuple[str, int], step: Callable[..., None], part: tuple[Any, ...]) -> None:
        """Add replications to the agenda entry ``key``, creating its SimPy event if new."""
        parts = self._agenda.get(key)
        if parts is not None:
            parts.append(part)
            return
        self._agenda[key] = [part]
        event = self.env.timeout(key[1] - self.env.now)
        event.callbacks.append(partial(self._fire, key, step))

    def _fire(self, key: tuple[str, int], step: Callable[..., None], _event: simpy.Event) -> None:
        parts = self._agenda.pop(key)
        cols = (
            parts[0]
            if len(parts) == 1
            else tuple(np.concatenate(c) for c in zip(*parts, strict=True))
        )
        if not key[0].startswith(BLIND) or self.story is not None:
            self.advance(cols[0], key[1])  # every step's first column holds the replications
        step(key[1], *cols)

    def tell(
        self, step: int, reps: np.ndarray, line: Callable[[int], str], day: int | None = None
    ) -> None:
        """Add to the story of the first replication of the chunk (used by ``trace``)."""
        if self.story is None or not len(reps):
            return
        hit = np.flatnonzero(np.asarray(reps) == 0)
        if hit.size:
            self.story.append((int(self.env.now) if day is None else day, step, line(int(hit[0]))))

    def _n(self, s: int) -> str:
        st = self.plan.scenario.states[int(s)]
        return st.name or st.code

    def _n_list(self, reps: np.ndarray, rr: np.ndarray, s: np.ndarray, i: int) -> str:
        return ", ".join(self._n(x) for x in s[reps[rr] == 0])

    def _vote_line(
        self,
        inst: Any,
        st: Any,
        yes: np.ndarray,
        voting: np.ndarray,
        result: np.ndarray,
        veto_pos: np.ndarray,
        reps: np.ndarray,
        i: int,
    ) -> str:
        ayes = int((yes[i] & voting[i]).sum())
        line = (
            f"the {inst.name} votes on {LEVELS[st.level]}: {ayes} yes of "
            f"{int(voting[i].sum())} voting: {VOTE_MEANINGS[int(result[i])]}"
        )
        if veto_pos[i] >= 0:
            line += f" (veto: {self._n(int(inst.members[veto_pos[i]]))})"
        return line

    def _entry_line(
        self,
        reps: np.ndarray,
        states: np.ndarray,
        sides: np.ndarray,
        reasons: np.ndarray,
        i: int,
        day: int,
    ) -> str:
        mine = np.flatnonzero(reps == 0)
        parts = []
        for j in mine:
            s = int(states[j])
            arrive = day + int(np.ceil(self.plan.transit[s]))
            who = "the aggressor" if sides[j] == AGGRESSOR_SIDE else "the target"
            why = Reason(int(reasons[j])).name.lower()
            parts.append(
                f"{self._n(s)} enters the war on the side of {who} ({why}), "
                f"forces in theatre from day {arrive}"
            )
        return "; ".join(parts)


def _against(chance: float, needed: float) -> str:
    """``50% (needs 60%)``, with as many decimals as it takes for the two to read apart."""
    for digits in range(4):
        if f"{chance:.{digits}%}" != f"{needed:.{digits}%}" or chance == needed:
            return f"{chance:.{digits}%} (needs {needed:.{digits}%})"
    return f"{chance:.3%} (needs {needed:.3%})"


def _split(keys: np.ndarray, top: int, *cols: np.ndarray) -> list[tuple[int, tuple[Any, ...]]]:
    """Columns split by small non-negative ``keys``, in key order: ``[(key, its rows), ...]``.

    Stable (rows keep their order within a key); rows whose key is above ``top`` are left out.
    """
    order, found, bounds = kernels.grouped(keys, top)
    cols = tuple(c[order] for c in cols)
    edges = bounds.tolist()
    return [
        (k, tuple(c[edges[g] : edges[g + 1]] for c in cols)) for g, k in enumerate(found.tolist())
    ]


def simulate_chunk(plan: Plan, seed: int, start: int, stop: int) -> dict[str, np.ndarray]:
    """Run replications ``start .. stop - 1``; the unit of work of every runner."""
    return Crisis(plan, seed, start, stop).run()
