"""Shipped Correlates of War capability data and lookups by state and year."""

from __future__ import annotations

import csv
from functools import lru_cache
from importlib import resources

_ALIASES = {"USR": "RUS", "SRB": "YUG"}


@lru_cache(maxsize=1)
def _cinc_table() -> dict[tuple[str, int], float]:
    path = resources.files("crisis_sim") / "data" / "cow_nmc_v6_cinc.csv"
    table: dict[tuple[str, int], float] = {}
    with path.open("r", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            value = float(row["cinc"])
            if value >= 0:
                table[(row["stateabb"], int(row["year"]))] = value
    return table


def cinc(code: str, year: int) -> float | None:
    """CINC share of a state in a year (COW NMC v6.0), or None when there is no record."""
    return _cinc_table().get((_ALIASES.get(code, code), year))


def system_total(year: int) -> float:
    """Sum of CINC over all states in a year (close to, not exactly, 1)."""
    return sum(v for (_, y), v in _cinc_table().items() if y == year)
