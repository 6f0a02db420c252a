"""The historical record the model is calibrated against: COW inter-state wars and capabilities.

Reads the two Correlates of War files shipped in ``crisis_sim/data`` (see the README there for
citations) and derives, per war with one clear winning and one clear losing side, each side's
summed capability (CINC of its distinct states in the war's start year), duration and battle
deaths. The headline fact, recomputed by the tests: the side with the larger summed CINC won
49 of 76 such wars (64.5%).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

WINNER, LOSER = 1, 2  # COW Outcome codes
CALIBRATION_FILE = "calibration.json"


@dataclass(frozen=True)
class War:
    """One inter-state war with a clear winner, reduced to what calibration needs."""

    number: int
    name: str
    start_year: int
    winner_cinc: float  # summed over the winning side's distinct states, start year
    loser_cinc: float
    initiator_won: bool  # the side of the (first) initiator won
    days: int  # from the first entry to the last exit of any participant
    winner_deaths: int  # battle deaths, unknown (-9) counted as 0
    loser_deaths: int
    missing: tuple[str, ...]  # participants without a CINC record (counted as 0)

    @property
    def larger_won(self) -> bool:
        """The side with more summed capability won."""
        return self.winner_cinc > self.loser_cinc


@lru_cache(maxsize=1)
def cinc_by_ccode() -> dict[tuple[int, int], float]:
    """CINC by (COW numeric code, year) from the shipped NMC file (missing values left out)."""
    path = resources.files("crisis_sim") / "data" / "cow_nmc_v6_cinc.csv"
    table: dict[tuple[int, int], float] = {}
    with path.open("r", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            value = float(row["cinc"])
            if value >= 0:
                table[(int(row["ccode"]), int(row["year"]))] = value
    return table


@lru_cache(maxsize=1)
def participants() -> dict[int, list[dict[str, str]]]:
    """Rows of the shipped COW Inter-State War file, grouped by war number."""
    path = resources.files("crisis_sim") / "data" / "cow_interstate_wars_v4.csv"
    wars: dict[int, list[dict[str, str]]] = defaultdict(list)
    with path.open("r", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["WarNum"].strip():
                wars[int(row["WarNum"])].append(row)
    return dict(wars)


def _date(year: str, month: str, day: str) -> dt.date | None:
    """A COW date; unknown months or days (-9) fall mid-month or mid-year."""
    y, m, d = int(year), int(month), int(day)
    if y < 0:
        return None
    m = 6 if m < 1 else m
    d = 15 if d < 1 else d
    return dt.date(y, m, min(d, 28 if m == 2 else 30 if m in (4, 6, 9, 11) else 31))


def _span(rows: list[dict[str, str]]) -> int:
    starts, ends = [], []
    for r in rows:
        for k in ("1", "2"):
            s = _date(r[f"StartYear{k}"], r[f"StartMonth{k}"], r[f"StartDay{k}"])
            e = _date(r[f"EndYear{k}"], r[f"EndMonth{k}"], r[f"EndDay{k}"])
            if s is not None:
                starts.append(s)
            if e is not None:
                ends.append(e)
    return max(1, (max(ends) - min(starts)).days + 1)


def _side_sum(rows: list[dict[str, str]], year: int, missing: list[str]) -> float:
    total, seen = 0.0, set()
    for r in rows:
        code = int(r["ccode"])
        if code in seen:  # a state listed twice on one side counts once
            continue
        seen.add(code)
        value = cinc_by_ccode().get((code, year))
        if value is None:
            missing.append(f"{r['StateName'].strip()} ({code}, {year})")
        else:
            total += value
    return total


def _deaths(rows: list[dict[str, str]]) -> int:
    return sum(max(0, int(r["BatDeath"])) for r in rows)


def decisive_wars() -> list[War]:
    """Wars where every participant of one side won (Outcome 1) and every one of the other lost."""
    out = []
    for number, rows in sorted(participants().items()):
        by_side: dict[int, set[int]] = {1: set(), 2: set()}
        for r in rows:
            by_side[int(r["Side"])].add(int(r["Outcome"]))
        if by_side[1] == {WINNER} and by_side[2] == {LOSER}:
            win, lose = 1, 2
        elif by_side[1] == {LOSER} and by_side[2] == {WINNER}:
            win, lose = 2, 1
        else:
            continue
        year = min(int(r["StartYear1"]) for r in rows)
        missing: list[str] = []
        w_rows = [r for r in rows if int(r["Side"]) == win]
        l_rows = [r for r in rows if int(r["Side"]) == lose]
        initiators = [int(r["Side"]) for r in rows if int(r["Initiator"]) == 1]
        out.append(
            War(
                number=number,
                name=rows[0]["WarName"].strip(),
                start_year=year,
                winner_cinc=_side_sum(w_rows, year, missing),
                loser_cinc=_side_sum(l_rows, year, missing),
                initiator_won=bool(initiators) and initiators[0] == win,
                days=_span(rows),
                winner_deaths=_deaths(w_rows),
                loser_deaths=_deaths(l_rows),
                missing=tuple(missing),
            )
        )
    return out


def larger_side_wins(wars: list[War] | None = None) -> tuple[int, int]:
    """How many decisive wars the side with more summed CINC won, out of how many."""
    wars = decisive_wars() if wars is None else wars
    return sum(w.larger_won for w in wars), len(wars)


def entry_dates(war_number: int) -> dict[str, dt.date]:
    """First entry date of each participant of a war, by COW state name."""
    out: dict[str, dt.date] = {}
    for r in participants()[war_number]:
        d = _date(r["StartYear1"], r["StartMonth1"], r["StartDay1"])
        name = r["StateName"].strip()
        if d is not None and (name not in out or d < out[name]):
            out[name] = d
    return out


def calibration() -> dict[str, Any]:
    """The calibrated defaults written by ``scripts/calibrate.py`` (see the data README)."""
    path = resources.files("crisis_sim") / "data" / CALIBRATION_FILE
    with path.open("r", encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data
