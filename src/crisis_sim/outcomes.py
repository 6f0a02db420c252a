"""How a crisis can end, and why a state entered the war: the codes stored in result files."""

from __future__ import annotations

from enum import IntEnum

DETERRED = 0
BACKED_DOWN = 1
AGGRESSOR_DEFEATED = 2
FAIT_ACCOMPLI = 3
STALEMATE = 4
NO_RESPONSE = 5
DEFENDERS_DEFEATED = 6

OUTCOMES = (
    "deterred",  # the aggressor did not attack
    "backed_down",  # it attacked, then modified its policy
    "aggressor_defeated",  # its side broke
    "fait_accompli",  # the target fell while the response (help, sanctions) had not stopped it
    "stalemate",  # still fighting at the horizon
    "no_response",  # the target fell; no institution responded, no third state came to its aid
    "defenders_defeated",  # the target fell with its helpers in the field
)


class Reason(IntEnum):
    """Why a state is in the war."""

    NONE = 0
    PARTY = 1  # the aggressor or the target
    INSTITUTION = 2  # committed under an institution's decision
    TREATY = 3  # called by a treaty (cascade)
    ATTACKED = 4  # invaded by a belligerent's war plan
    SELF_HELP = 5  # acted alone to restore the balance


REASONS = tuple(r.name.lower() for r in Reason)


def in_words(name: str) -> str:
    """A stored code's name as printed for a reader: ``no_response`` -> ``no response``."""
    return name.replace("_", " ")


SIDES = ("none", "aggressor", "defender")
