"""A validated scenario packed into arrays once, so the crisis and the kernel trust their input.

Also holds the per-member propensities that follow from the theory switches (who votes yes,
who commits, how much), in one place, so the crisis process reads as the story.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from crisis_sim.codes import AGAINST_NAMED, ANY_WAR, DEFENSIVE, LAWS
from crisis_sim.rules import RULES, Rule, at_least
from crisis_sim.scenario import Institution, Scenario

LEVELS = ("none", "condemnation", "sanctions", "military")
LEVEL_CODE = {name: i for i, name in enumerate(LEVELS)}
CASUS_CODE = {"defensive": DEFENSIVE, "against_named": AGAINST_NAMED, "any": ANY_WAR}


@dataclass(frozen=True)
class StagePlan:
    """One escalation step: its level, deliberation delay and each member's yes probability."""

    level: int
    median: float
    spread: float
    procedural: bool
    p_yes: np.ndarray  # (members,), before identification of the aggressor


@dataclass(frozen=True)
class InstitutionPlan:
    """An institution, with members as state indices."""

    index: int
    name: str
    arrangement: str
    rule_name: str
    rule: Rule
    members: np.ndarray  # voters
    covered: np.ndarray  # members first, then the wider membership: who appeals and commits
    permanent: np.ndarray  # bool per member
    bloc: np.ndarray  # bool per member: Schuman's great powers acting as one (none if not imposed)
    present: np.ndarray  # bool per member: not absent
    quota: int
    parties_vote: bool
    referral: tuple[float, float]
    declaration: tuple[float, float]
    quit_if_condemned: float
    predominance: float
    force: int  # state index of the authority's force, -1 if none
    stages: list[StagePlan]
    p_identify: np.ndarray  # per covered state
    p_commit: np.ndarray  # per covered state
    share: np.ndarray  # per covered state: share of capability committed when it commits


@dataclass(frozen=True)
class TreatyPlan:
    """A treaty, with parties as state indices."""

    index: int
    name: str
    parties: np.ndarray
    casus: int
    against: np.ndarray
    strength: float
    delay: tuple[float, float]


@dataclass(frozen=True)
class Plan:
    """Everything a chunk of replications needs, as arrays and small records."""

    scenario: Scenario
    codes: list[str]
    aggressor: int
    target: int
    horizon: int
    cap_mean: np.ndarray
    cap_spread: np.ndarray
    projection: np.ndarray
    ready: np.ndarray
    full_days: np.ndarray
    transit: np.ndarray
    willingness: np.ndarray
    resolve_a: float
    resolve_d: float
    law: int
    institutions: list[InstitutionPlan]
    treaties: list[TreatyPlan]
    invades: list[np.ndarray]
    coalition_ratio: float  # >0 when sufficient power or overwhelming force is imposed
    belief_help: np.ndarray = field(default_factory=lambda: np.zeros(0))
    belief_share: np.ndarray = field(default_factory=lambda: np.zeros(0))
    belief_allies: np.ndarray = field(default_factory=lambda: np.zeros(0))  # chance, for it

    @property
    def n_states(self) -> int:
        """Number of states."""
        return len(self.codes)

    @property
    def mobilization(self) -> np.ndarray:
        """Per state: ready share, days to full mobilization, transit days (read by state code)."""
        return np.stack([self.ready, self.full_days, self.transit], axis=1)

    @property
    def combat_constants(self) -> np.ndarray:
        """The combat kernel's constants, in the order of ``codes.COMBAT_CONSTANTS``."""
        c = self.scenario.combat
        return np.array(
            [
                c.attrition,
                c.effectiveness_sd,
                c.defender_advantage,
                c.sanctions_effect,
                self.resolve_a,
                self.resolve_d,
            ]
        )


class TreatyTables(NamedTuple):
    """The treaties as :func:`crisis_sim.cohort.treaty_plan` and ``treaty_calls`` read them."""

    casus: np.ndarray  # CASUS_CODE
    parties: np.ndarray  # state indices, padded with -1
    against: np.ndarray  # the named states, padded with -1
    terms: np.ndarray  # strength, declaration delay's median and spread


def treaty_tables(treaties: list[TreatyPlan]) -> TreatyTables:
    """Pack the treaties into arrays (one row each, in their order)."""
    n = len(treaties)
    wide = max([1] + [len(t.parties) for t in treaties])
    named = max([1] + [len(t.against) for t in treaties])
    parties = np.full((n, wide), -1, dtype=np.int64)
    against = np.full((n, named), -1, dtype=np.int64)
    for k, t in enumerate(treaties):
        parties[k, : len(t.parties)] = t.parties
        against[k, : len(t.against)] = t.against
    return TreatyTables(
        casus=np.array([t.casus for t in treaties], dtype=np.int64),
        parties=parties,
        against=against,
        terms=np.array([(t.strength, *t.delay) for t in treaties], dtype=np.float64).reshape(n, 3),
    )


def _vote_propensity(sc: Scenario, members: np.ndarray) -> np.ndarray:
    """Chance each member votes yes: its sympathies, unless beliefs are identical (Morgenthau)."""
    if sc.theory.morgenthau.identical_beliefs:
        return np.full(len(members), 0.9)
    aff_t = np.array([sc.states[m].affinity_target for m in members])
    aff_a = np.array([sc.states[m].affinity_aggressor for m in members])
    return np.clip(0.5 + 0.5 * (aff_t - aff_a), 0.0, 1.0)


def _commit_propensity(
    sc: Scenario, members: np.ndarray, cap: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Chance each member commits, and the share it commits.

    Equal commitment (Organski's second assumption) is about the will to act: imposed, every
    third state is as ready to commit as the most committed one. Free-riding is about the burden:
    a member commits ``(capability / largest) ** free_riding`` of its capability, the largest
    being the largest third state (the parties' own shares are not used). The two are
    separate switches so that an experiment can relax one without the other. The share here,
    on median capabilities, is the aggressor's forecast; the crisis takes each replication's
    own (:meth:`crisis_sim.crisis.Crisis._burden`).
    """
    th = sc.theory
    will = np.array([sc.states[m].willingness for m in members])
    aff_a = np.array([sc.states[m].affinity_aggressor for m in members])
    if th.morgenthau.subordination_of_interests:
        p = np.maximum(will, 0.9)
    else:
        p = will * (1.0 - np.clip(aff_a, 0.0, 1.0))
    parties = (sc.aggressor, sc.target)
    third = np.array([sc.states[m].code not in parties for m in members], dtype=bool)
    if th.organski.equal_commitment and third.any():
        p = np.full(len(members), p[third].max())
    return p, burden(cap[members], third, th.free_riding)


def burden(cap: np.ndarray, third: np.ndarray, free_riding: float) -> np.ndarray:
    """Free-riding: the share of its strength each state commits, ``(cap / largest) ** e``.

    ``cap`` is per state (last axis; one row per replication, or the medians); smaller members
    rely on the largest ``third`` state, never on the aggressor or the target.
    """
    if not third.any():
        return np.ones_like(cap)
    biggest = cap[..., third].max(axis=-1, keepdims=True)
    return np.minimum((cap / biggest) ** free_riding, 1.0)


def _p_identify(sc: Scenario, members: np.ndarray) -> np.ndarray:
    """Chance each member names the aggressor (Organski's first assumption)."""
    if sc.theory.organski.agreement_on_aggressor:
        return np.ones(len(members))
    base = sc.theory.organski.identification
    aff_a = np.array([sc.states[m].affinity_aggressor for m in members])
    return np.clip(base - 0.5 * np.clip(aff_a, 0.0, 1.0), 0.0, 1.0)


def compile_scenario(sc: Scenario) -> Plan:
    """Pack a validated scenario into a :class:`Plan`."""
    codes = [s.code for s in sc.states]
    ix = {c: i for i, c in enumerate(codes)}
    cap = np.array([s.capability.mean or 0.0 for s in sc.states], dtype=np.float64)
    aggressor, target = ix[sc.aggressor], ix[sc.target]
    insts: list[InstitutionPlan] = []
    for i, inst in enumerate(sc.institutions):
        members = np.array([ix[c] for c in inst.members], dtype=np.int64)
        extra = [ix[c] for c in inst.covers if c not in inst.members]
        covered = np.concatenate((members, np.array(extra, dtype=np.int64)))
        p_base = _vote_propensity(sc, members)
        stages = [
            StagePlan(
                level=LEVEL_CODE[st.level],
                median=st.deliberation.median,
                spread=st.deliberation.spread,
                procedural=st.procedural,
                p_yes=np.clip(p_base * st.support, 0.0, 1.0),
            )
            for st in inst.stages
        ]
        p_commit, share = _commit_propensity(sc, covered, cap)
        insts.append(
            InstitutionPlan(
                index=i,
                name=inst.name,
                arrangement=inst.arrangement,
                rule_name=inst.rule,
                rule=RULES[inst.rule],
                members=members,
                covered=covered,
                permanent=np.array([c in inst.permanent for c in inst.members]),
                bloc=_bloc(sc, inst, members, aggressor, target),
                present=np.array([c not in inst.absent for c in inst.members]),
                quota=inst.quota or 0,
                parties_vote=inst.parties_vote,
                referral=(inst.referral.median, inst.referral.spread),
                declaration=(inst.declaration.median, inst.declaration.spread),
                quit_if_condemned=inst.quit_if_condemned,
                predominance=inst.predominance,
                force=ix[inst.force] if inst.force else -1,
                stages=stages,
                p_identify=_p_identify(sc, covered),
                p_commit=p_commit,
                share=share,
            )
        )
    treaties = [
        TreatyPlan(
            index=k,
            name=t.name,
            parties=np.array([ix[c] for c in t.parties], dtype=np.int64),
            casus=CASUS_CODE[t.casus],
            against=np.array([ix[c] for c in t.against], dtype=np.int64),
            strength=t.strength,
            delay=(t.delay.median, t.delay.spread),
        )
        for k, t in enumerate(sc.treaties)
    ]
    th = sc.theory
    ratio = 0.0
    if th.organski.sufficient_power:
        ratio = th.organski.sufficiency_ratio
    if th.morgenthau.overwhelming_force:
        ratio = max(ratio, th.morgenthau.overwhelming_ratio)
    plan = Plan(
        scenario=sc,
        codes=codes,
        aggressor=aggressor,
        target=target,
        horizon=sc.horizon_days,
        cap_mean=cap,
        cap_spread=np.array([s.capability.spread for s in sc.states]),
        projection=np.array([s.projection for s in sc.states]),
        ready=np.array([s.mobilization.ready for s in sc.states]),
        full_days=np.array([s.mobilization.full_days for s in sc.states]),
        transit=np.array([s.mobilization.transit_days for s in sc.states]),
        willingness=np.array([s.willingness for s in sc.states]),
        resolve_a=sc.states[aggressor].resolve,
        resolve_d=sc.states[target].resolve,
        law=LAWS[sc.combat.law],
        institutions=insts,
        treaties=treaties,
        invades=[np.array([ix[c] for c in s.attacks_on_entry], dtype=np.int64) for s in sc.states],
        coalition_ratio=ratio,
    )
    help_p, help_share = _beliefs(plan)
    allies = _allies(plan)
    # A state fights on one side: an ally the aggressor counts on fights for the target only
    # if it does not honour the aggressor's call.
    help_p = help_p * (1.0 - allies)
    object.__setattr__(plan, "belief_help", help_p)
    object.__setattr__(plan, "belief_share", help_share)
    object.__setattr__(plan, "belief_allies", allies)
    if not help_p.any():  # no arrangement could bring a third state in: no coalition to imagine
        object.__setattr__(plan, "coalition_ratio", 0.0)
    return plan


def _bloc(
    sc: Scenario, inst: Institution, members: np.ndarray, aggressor: int, target: int
) -> np.ndarray:
    """Schuman's great powers acting in unison (nobody unless the theory imposes unity).

    The great powers among the voting members, the parties to the dispute aside: the target
    always votes for action, the aggressor against; an absent member casts no vote, so it
    neither joins the bloc nor sways it. One great power alone is no bloc: it acts as it
    would anyway.
    """
    absent = {sc.state_index(c) for c in inst.absent}
    bloc = np.array(
        [
            sc.states[m].great_power and m not in (aggressor, target) and m not in absent
            for m in members.tolist()
        ],
        dtype=bool,
    )
    if not sc.theory.great_power_unity or bloc.sum() < 2:
        return np.zeros(len(members), dtype=bool)
    return bloc


def applies(inst: InstitutionPlan, aggressor: int, target: int) -> bool:
    """Whether the target can appeal to this institution against this aggressor."""
    members = set(inst.covered.tolist())
    if inst.arrangement in ("balance_of_power", "global_government"):
        return True
    if inst.arrangement == "collective_defense":
        return target in members and aggressor not in members
    return target in members


def voters(inst: InstitutionPlan, aggressor: int, target: int) -> np.ndarray:
    """Members entitled to vote (present, and parties only if the rule lets them)."""
    ok = inst.present.copy()
    if not inst.parties_vote:
        ok &= (inst.members != aggressor) & (inst.members != target)
    return ok


def balancer_rank(
    inst: InstitutionPlan, cap: np.ndarray, aggressor: int, target: int
) -> np.ndarray:
    """For self-help: how many stronger balancers each state can pass the buck to.

    The aggressor and its victim are no balancers: nobody passes the buck to them.
    """
    c = cap[inst.covered]
    balancer = (inst.covered != aggressor) & (inst.covered != target)
    return ((c[None, :] > c[:, None]) & balancer[None, :]).sum(axis=1)


def threatens(inst: InstitutionPlan, aggressor: int, target: int, cap: np.ndarray) -> np.ndarray:
    """Self-help's trigger: the aggressor's gain would rival the strongest other member.

    ``cap``: capabilities, one row per replication (or one vector); True where the aggressor
    and its target together reach ``predominance`` times the strongest other member.
    """
    cap = np.asarray(cap)
    others = [int(m) for m in inst.members if m not in (aggressor, target)]
    if not others:
        return np.zeros(cap.shape[:-1], dtype=bool)
    gain = cap[..., aggressor] + cap[..., target]
    return np.asarray(gain >= inst.predominance * cap[..., others].max(axis=-1))


def _called_for_aggressor(t: TreatyPlan, a: int, g: int) -> bool:
    """Whether the aggressor's going to war calls its partners in ``t``.

    A treaty for any war does, and one against named states when the target is among them; a
    defensive treaty does not (the aggressor is not attacked).
    """
    return a in t.parties.tolist() and (
        t.casus == CASUS_CODE["any"]
        or (t.casus == CASUS_CODE["against_named"] and g in t.against.tolist())
    )


def _allies(plan: Plan) -> np.ndarray:
    """The aggressor's forecast of its own side: chance each state fights for it.

    Only the treaties its attack calls directly: a partner honours one with the treaty's
    strength. A partner its own war plan invades is not counted (in the war it may still join,
    when the call falls due on the day of the invasion). Like the defence it expects,
    second-order cascades are beyond its foresight.
    """
    a, g = plan.aggressor, plan.target
    invaded = set(plan.invades[a].tolist())  # its own war plan makes them enemies
    p_not = np.ones(plan.n_states)
    for t in plan.treaties:
        if _called_for_aggressor(t, a, g):
            for s in t.parties.tolist():
                if s not in (a, g) and s not in invaded:
                    p_not[s] *= 1.0 - t.strength
    return 1.0 - p_not


# How the forecast averages over the ways the members may name the aggressor. With up to
# NAMING_EXACT members (or blocs) whose naming is uncertain, every way is weighed; with more,
# every way in which at most a few of them do what is unlikely for them (not naming it, mostly),
# if those ways are no more than NAMING_ROWS; else a fixed sample of NAMING_SAMPLE ways (the
# same for every plan: a deterministic quadrature, not a replication's randomness). Of those,
# the likeliest ways are kept up to all but NAMING_TAIL of the probability.
NAMING_EXACT = 16
NAMING_ROWS = 1 << 16
NAMING_SAMPLE = 1 << 14
NAMING_TAIL = 1e-4


@functools.lru_cache(maxsize=64)
def _ways(chances: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Outcomes (ways x units) of independent events with these chances, and their weights.

    Cached (read-only arrays): the plans of a sweep or a comparison mostly share their members'
    chances of naming the aggressor.
    """
    on, weight = _enumerate(np.array(chances))
    on.flags.writeable = weight.flags.writeable = False
    return on, weight


def _enumerate(chance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    u = len(chance)
    if u <= NAMING_EXACT:
        on = ((np.arange(1 << u)[:, None] >> np.arange(u)) & 1).astype(bool)
    else:
        likely = chance >= 0.5
        odd = np.where(likely, 1.0 - chance, chance)  # chance of the unlikely outcome
        rows, r = 1, 0
        while at_least(odd, r + 1) > NAMING_TAIL:  # more than r unlikely outcomes
            r += 1
            rows += math.comb(u, r)
            if rows > NAMING_ROWS:
                return _sampled(chance)
        odd_rows = np.zeros((rows, u), dtype=bool)
        at = 1
        for size in range(1, r + 1):
            picks = np.array(list(itertools.combinations(range(u), size)))
            odd_rows[np.arange(at, at + len(picks))[:, None], picks] = True
            at += len(picks)
        on = odd_rows ^ likely
    log_no = np.log1p(-chance)
    weight = np.exp(on.astype(float) @ (np.log(chance) - log_no) + log_no.sum())
    return _likeliest(on, weight)


def _likeliest(on: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The likeliest ways, up to all but ``NAMING_TAIL`` of the probability."""
    order = np.argsort(-weight, kind="stable")
    kept = int(np.searchsorted(np.cumsum(weight[order]), 1.0 - NAMING_TAIL)) + 1
    order = order[: min(kept, len(order))]
    return on[order], weight[order]


def _sampled(chance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A fixed sample of outcomes, each distinct outcome once with its frequency as weight."""
    u = len(chance)
    gen = np.random.Generator(np.random.Philox(key=0x5EED))
    drawn = np.packbits(gen.random((NAMING_SAMPLE, u)) < chance, axis=1)
    # A sample repeats its likeliest ways (all named, one missing...): each is taken once.
    rows, which = np.unique(drawn.view(f"V{drawn.shape[1]}").ravel(), return_inverse=True)
    on = np.unpackbits(rows.view(np.uint8).reshape(len(rows), -1), axis=1, count=u)
    return _likeliest(on.astype(bool), np.bincount(which, minlength=len(rows)) / NAMING_SAMPLE)


def namings(inst: InstitutionPlan, a: int, g: int) -> tuple[np.ndarray, np.ndarray]:
    """The ways the members may name the aggressor, and their probabilities.

    Returns (ways x members) booleans and their weights (see ``NAMING_EXACT`` for which ways).
    As in the crisis, each member names it with its own chance, Schuman's bloc as one, the
    target always and the aggressor never. Only the voters' naming (and the bloc's) moves the
    votes: a member outside the bloc that does not vote is left out (False), its naming
    independent of the decision.
    """
    m = inst.members
    k = len(m)
    pid = inst.p_identify[:k]
    bloc = inst.bloc
    keep = voters(inst, a, g)
    sure = pid >= 1.0
    alone = [
        j for j in range(k) if keep[j] and not bloc[j] and 0.0 < pid[j] < 1.0 and m[j] not in (a, g)
    ]
    probs = [float(pid[j]) for j in alone]
    q = float(pid[bloc].mean()) if bloc.any() else 1.0
    sure[bloc] = q >= 1.0
    as_one = 0.0 < q < 1.0  # the bloc's naming is one more uncertain event
    on, weight = _ways(tuple(probs + [q] * as_one))
    named = np.repeat(sure[None, :], len(weight), axis=0)
    named[:, alone] = on[:, : len(alone)]
    if as_one:
        named[:, bloc] = on[:, -1:]
    named[:, m == g] = True
    named[:, m == a] = False
    return named, weight


def authorisation(inst: InstitutionPlan, stages: list[StagePlan], a: int, g: int) -> np.ndarray:
    """Chance that each covered state named the aggressor and every stage of ``stages`` passed.

    Under self-help the last stage is each balancer's own resolve to act, so it is the chance
    that it named the aggressor, every earlier stage passed and it resolved. A member names the
    aggressor once, at the referral, and that naming counts in every vote and in its
    commitment: each stage's chance of passing is taken for each way the members may have
    named it (:func:`namings`), multiplied over the stages, then averaged over those ways.
    """
    m = inst.members
    k = len(m)
    keep = voters(inst, a, g)
    bloc = inst.bloc
    unilateral = inst.rule_name == "unilateral"
    named, weight = namings(inst, a, g)
    reach = np.ones(len(weight))  # per way of naming: every stage so far has passed
    p = np.zeros(named.shape)
    for st in stages:
        p = np.where(named, st.p_yes, 0.0)
        if bloc.any():  # one shared vote at the bloc's mean propensity
            p[:, bloc] = np.where(named[:, bloc], st.p_yes[bloc].mean(), 0.0)
        p[:, m == a] = 0.0
        p[:, m == g] = 1.0
        if st is stages[-1] and unilateral:
            break  # each balancer's own resolve to fight: ``p`` below
        reach *= inst.rule.pass_probability(
            p[:, keep], inst.permanent[keep], bloc[keep], inst.quota, st.procedural
        )
    passed = weight * reach
    total = float(passed.sum())
    out = inst.p_identify * total  # covered states that are not members: independent namings
    out[:k] = passed @ (p if unilateral else named)
    # Outside the bloc, a member that does not vote names it (and resolves) whatever the votes.
    resolve = stages[-1].p_yes if unilateral else np.ones(k)
    alone = ~keep & ~bloc
    out[:k][alone] = (inst.p_identify[:k] * resolve * total)[alone]
    return np.asarray(out)


def _beliefs(plan: Plan) -> tuple[np.ndarray, np.ndarray]:
    """The aggressor's forecast: chance each state fights for the target, and with what share.

    It takes each institution's chance of authorising force (the rule's closed-form
    ``pass_probability`` for each stage up to its first military one, multiplied over the
    stages for each way the members may have named the aggressor, then averaged over those
    ways; none if it has no military stage), each member's commitment propensity, and the
    direct treaty obligations to the target. Second-order cascades are beyond its foresight.
    """
    sc = plan.scenario
    a, g = plan.aggressor, plan.target
    n = plan.n_states
    p_not = np.ones(n)
    share = np.zeros(n)
    bp = sc.theory.buck_passing
    for inst in plan.institutions:
        if not applies(inst, a, g):
            continue
        levels = [st.level for st in inst.stages]
        if LEVEL_CODE["military"] not in levels:
            continue  # it never authorises force
        # Force comes at the first military stage, once every stage before it has passed.
        stages = inst.stages[: levels.index(LEVEL_CODE["military"]) + 1]
        if inst.rule_name == "central_authority":
            if inst.force >= 0:
                p_not[inst.force] = 0.0
                share[inst.force] = 1.0
            continue
        p_commit = inst.p_commit.copy()
        named_and_passed = authorisation(inst, stages, a, g)
        if inst.rule_name == "unilateral":
            # Self-help: no collective decision. A balancer acts only if the aggressor's gain
            # would threaten predominance (judged on median capabilities) and it resolves to
            # act itself (its own 'vote'), and it passes the buck to stronger ones.
            p_commit = p_commit * (1.0 - bp) ** balancer_rank(inst, plan.cap_mean, a, g)
            named_and_passed *= float(threatens(inst, a, g, plan.cap_mean))
        free = (
            1.0
            if sc.theory.organski.equal_freedom_of_action
            else 1.0 - sc.theory.organski.constraint
        )
        for j, s in enumerate(inst.covered):
            if s in (a, g):
                continue
            p_act = named_and_passed[j] * p_commit[j] * free
            p_not[s] *= 1.0 - p_act
            share[s] = max(share[s], inst.share[j])
    for t in plan.treaties:
        parties = set(t.parties.tolist())
        # The target's partners are called the day it is attacked: by a defensive treaty or
        # one for any war, and by one against named states when the aggressor is among them.
        called = t.casus in (CASUS_CODE["defensive"], CASUS_CODE["any"]) or (
            t.casus == CASUS_CODE["against_named"] and a in t.against.tolist()
        )
        # A treaty that also calls the aggressor's partners calls them to its side first.
        if g in parties and called and not _called_for_aggressor(t, a, g):
            for s in t.parties:
                if s not in (a, g):
                    p_not[s] *= 1.0 - t.strength
                    share[s] = max(share[s], 1.0)
    return 1.0 - p_not, share
