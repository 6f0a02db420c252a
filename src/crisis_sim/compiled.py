"""A validated scenario packed into arrays once, so the crisis and the kernel trust their input.

Also holds the per-member propensities that follow from the theory switches (who votes yes,
who commits, how much), in one place, so the crisis process reads as the story.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from crisis_sim.codes import LAWS
from crisis_sim.rules import RULES, Rule
from crisis_sim.scenario import Institution, Scenario

LEVELS = ("none", "condemnation", "sanctions", "military")
LEVEL_CODE = {name: i for i, name in enumerate(LEVELS)}
CASUS_CODE = {"defensive": 0, "against_named": 1, "any": 2}


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
    separate switches so that an experiment can relax one without the other.
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
    # Smaller members rely on the largest third state, never on the aggressor or the target.
    biggest = cap[members][third].max() if third.any() else 1.0
    share = np.minimum((cap[members] / biggest) ** th.free_riding, 1.0)
    return p, share


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


def _beliefs(plan: Plan) -> tuple[np.ndarray, np.ndarray]:
    """The aggressor's forecast: chance each state fights for the target, and with what share.

    It takes each institution's chance of authorising force in closed form (the rule's
    ``pass_probability`` over the stages up to its first military one; none if it has none),
    each member's commitment propensity, and the direct treaty obligations to the target.
    Second-order cascades are beyond its foresight.
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
        m = inst.members
        keep = voters(inst, a, g)
        p_pass = 1.0
        bloc = inst.bloc
        named = inst.p_identify[: len(m)]
        for st in stages:
            p = st.p_yes * named
            if bloc.any():  # one shared naming of the aggressor, one shared vote
                p[bloc] = st.p_yes[bloc].mean() * named[bloc].mean()
            p = np.where(m == a, 0.0, np.where(m == g, 1.0, p))
            if st is stages[-1] and inst.rule_name == "unilateral":
                break  # each balancer's own resolve to fight: ``p`` below
            p_pass *= inst.rule.pass_probability(
                p[keep], inst.permanent[keep], bloc[keep], inst.quota, st.procedural
            )
        if inst.rule_name == "central_authority":
            if inst.force >= 0:
                p_not[inst.force] = 0.0
                share[inst.force] = 1.0
            continue
        p_commit = inst.p_commit.copy()
        named_by = inst.p_identify.copy()
        if inst.rule_name == "unilateral":
            # Self-help: no collective decision. A balancer acts only if the aggressor's gain
            # would threaten predominance (judged on median capabilities) and it resolves to
            # act itself (its own 'vote'), and it passes the buck to stronger ones.
            p_commit = p_commit * (1.0 - bp) ** balancer_rank(inst, plan.cap_mean, a, g)
            p_pass *= float(threatens(inst, a, g, plan.cap_mean))
            named_by[: len(m)] = p  # named the aggressor and resolved to act
        free = (
            1.0
            if sc.theory.organski.equal_freedom_of_action
            else 1.0 - sc.theory.organski.constraint
        )
        for j, s in enumerate(inst.covered):
            if s in (a, g):
                continue
            p_act = p_pass * p_commit[j] * free * named_by[j]
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
