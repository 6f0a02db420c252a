"""The integer codes the compiled kernels share with the Python around them.

Sides, how a war ended, combat laws and random-number streams. Kept apart from the kernels and
free of Numba, so that a process running the kernels compiled ahead of time
(:mod:`crisis_sim.native`) never imports Numba. The kernels freeze these values in when they
are compiled: a change here clears their cache (:data:`crisis_sim.warmup.FROZEN_SOURCES`).
"""

from __future__ import annotations

# Combat laws, by the name used in scenario files.
LAWS = {"lanchester_square": 0, "lanchester_linear": 1}

# The combat constants the kernel takes, in this order, as one float array.
COMBAT_CONSTANTS = (
    "attrition",
    "effectiveness_sd",
    "defender_advantage",
    "sanctions_effect",
    "resolve_aggressor",
    "resolve_defender",
)

# How a war ended in the kernel (0: still running).
RUNNING = 0
DEFENDERS_BROKE = 1
AGGRESSOR_BROKE = 2

# Sides of a belligerent (``outcomes.SIDES`` names them), and the entry day of a state that
# never entered.
AGGRESSOR_SIDE = 1
DEFENDER_SIDE = 2
NOT_ENTERED = 1 << 30

# A treaty's casus foederis: a war in which a party defends, one against the named states, any.
DEFENSIVE = 0
AGAINST_NAMED = 1
ANY_WAR = 2
# Columns of the treaty calls ``cohort.treaty_calls`` returns, one row per call.
CALL_REP, CALL_TREATY, CALL_PARTNER, CALL_SIDE, CALL_HONOURS, CALL_DELAY = range(6)

# Cohorts at least this large are fought on all of Numba's threads (``kernel.advance_war``),
# smaller ones on the calling thread: a parallel launch costs more than a small cohort.
PARALLEL_COHORT = 4096
# Batches of at least this many random numbers are drawn on all of Numba's threads; smaller
# ones on the calling thread (a launch costs more than it saves, and much more when the cores
# are busy). Each number depends on its key only, so both give the same bits.
PARALLEL_DRAWS = 1 << 17

# Random-number streams: one per kind of decision, so adding draws to one never shifts another.
CAPABILITY = 1  # draw = state
PERCEPTION = 2  # draw = 0
REFERRAL = 3  # draw = institution
DELIBERATION = 4  # draw = institution * 16 + stage
IDENTIFY = 5  # draw = institution * 1024 + state (BLOC_DRAW: Schuman's great powers as one)
VOTE = 6  # draw = (institution * 16 + stage) * 1024 + state
COMMIT = 7  # draw = institution * 1024 + state
FREEDOM = 8  # draw = institution * 1024 + state
QUIT = 9  # draw = institution * 16 + stage
BACKDOWN = 10  # draw = institution * 16 + stage
HONOUR = 11  # draw = treaty * 1024 + state
TREATY_DELAY = 12  # draw = treaty * 1024 + state
DECLARATION = 13  # draw = institution * 1024 + state
COMBAT = 14  # draw = day (two normals per day, one per side)
UNITY = 15  # draw = institution * 16 + stage
INVASION_DELAY = 16  # draw = state * 1024 + invaded state

# Draws keyed by a state use its index below this: a scenario holds at most 1,023 states.
BLOC_DRAW = 1023
