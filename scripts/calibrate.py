"""Calibrate the contest and combat parameters against the COW inter-state wars.

Usage: python scripts/calibrate.py [--reps 200] [--seed 1] [--out FILE]

Three fits, each reported next to the historical figure it reproduces:

1. ``decision.csf_exponent`` (m): maximum likelihood of the contest success function
   P(side A wins) = A^m / (A^m + B^m) over the decisive wars, with each side's summed CINC
   (start year). Historical figure: the larger side won 49 of 76 wars (64.5%).
2. ``capability.spread`` and ``combat.attrition``: every decisive war is played by the engine
   itself (the initiating side attacks, two states whose capabilities are the sides' summed CINC,
   default combat otherwise), on a grid of both parameters; the fit minimises the squared gap,
   in units of its own standard error, between simulated and historical (a) share of wars won by
   the larger side and (b) median duration in days.
3. The resulting battle-death ratio (loser's over winner's losses, median) is reported beside
   the historical one, as a check that is not fitted.

Writes the calibrated values, the fit and the historical figures to a JSON file
(``crisis_sim.history.calibration()`` reads it); deterministic for a given seed.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from crisis_sim import history, scenario
from crisis_sim.compiled import compile_scenario
from crisis_sim.crisis import simulate_chunk
from crisis_sim.outcomes import AGGRESSOR_DEFEATED, DEFENDERS_DEFEATED, FAIT_ACCOMPLI, NO_RESPONSE

ROOT = Path(__file__).resolve().parents[1]
SPREADS = (1.0, 1.25, 1.5, 1.75, 2.0)  # 2.0 is the schema's upper bound for capability.spread
ATTRITIONS = (0.0001, 0.00015, 0.0002, 0.0003, 0.0005)
HORIZON = 3650


def csf_log_likelihood(m: float, wars: list[history.War]) -> float:
    """Log-likelihood of the observed winners under the contest success function."""
    w = np.array([x.winner_cinc for x in wars])
    lo = np.array([x.loser_cinc for x in wars])
    return float(-np.log1p((lo / w) ** m).sum())


def fit_csf(wars: list[history.War]) -> tuple[float, float]:
    """Maximum-likelihood exponent (grid of 0.001 on [0, 3]) and its mean predicted hit rate."""
    grid = np.round(np.arange(0.0, 3.0005, 0.001), 3)
    ll = np.array([csf_log_likelihood(m, wars) for m in grid])
    m = float(grid[int(np.argmax(ll))])
    big = np.array([max(x.winner_cinc, x.loser_cinc) for x in wars])
    small = np.array([min(x.winner_cinc, x.loser_cinc) for x in wars])
    p_larger = float(np.mean(1.0 / (1.0 + (small / big) ** m)))
    return m, p_larger


def war_scenario(war: history.War, spread: float, attrition: float) -> scenario.Scenario:
    """A decisive war as a two-state crisis: the initiator's side attacks the other."""
    a, d = (
        (war.winner_cinc, war.loser_cinc)
        if war.initiator_won
        else (war.loser_cinc, war.winner_cinc)
    )
    return scenario.from_dict(
        {
            "name": f"war_{war.number}",
            "aggressor": "ATT",
            "target": "DEF",
            "horizon_days": HORIZON,
            "decision": {"attack_threshold": 0.0},
            "combat": {"attrition": attrition},
            "states": [
                {"code": "ATT", "capability": {"mean": a, "spread": spread}},
                {"code": "DEF", "capability": {"mean": d, "spread": spread}},
            ],
        },
        origin=f"COW war {war.number}",
    )


def play(
    wars: list[history.War], spread: float, attrition: float, reps: int, seed: int
) -> dict[str, float]:
    """Simulated share of wars won by the larger side, median duration, and loss ratio."""
    larger_won, days, ratio = [], [], []
    for war in wars:
        r = simulate_chunk(compile_scenario(war_scenario(war, spread, attrition)), seed, 0, reps)
        a_won = np.isin(r["outcome"], (DEFENDERS_DEFEATED, FAIT_ACCOMPLI, NO_RESPONSE))
        d_won = r["outcome"] == AGGRESSOR_DEFEATED
        a_larger = (war.winner_cinc > war.loser_cinc) == war.initiator_won
        larger_won.append(np.where(a_larger, a_won, d_won))
        decided = a_won | d_won
        days.append(np.where(decided, r["end_day"] + 1, HORIZON))
        la, ld = r["losses_aggressor"].astype(float), r["losses_defenders"].astype(float)
        loser = np.where(a_won, ld, la)
        winner = np.where(a_won, la, ld)
        ok = decided & (winner > 0)
        ratio.append(np.median(loser[ok] / winner[ok]) if ok.any() else np.nan)
    won = np.concatenate(larger_won)
    return {
        "larger_side_wins": float(won.mean()),
        "median_days": float(np.median(np.concatenate(days))),
        "median_loss_ratio": float(np.nanmedian(ratio)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200, help="replications per war and grid point")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "src" / "crisis_sim" / "data" / "calibration.json"
    )
    args = parser.parse_args()
    t0 = time.perf_counter()
    wars = history.decisive_wars()
    won, n = history.larger_side_wins(wars)
    hist_share = won / n
    hist_days = float(np.median([w.days for w in wars]))
    deaths = [(w.loser_deaths / w.winner_deaths) for w in wars if w.winner_deaths > 0]
    hist_death_ratio = float(np.median(deaths))
    m, p_larger = fit_csf(wars)
    print(
        f"historical: larger side won {won} of {n} decisive wars ({hist_share:.1%}); "
        f"median duration {hist_days:.1f} days; median battle-death ratio loser/winner "
        f"{hist_death_ratio:.2f} ({len(deaths)} wars with winner deaths > 0)"
    )
    print(
        f"csf_exponent m = {m:.3f} (maximum likelihood): mean predicted P(larger side wins) "
        f"{p_larger:.1%} vs {hist_share:.1%} observed"
    )
    se_share = np.sqrt(hist_share * (1 - hist_share) / n)
    log_days = np.log([w.days for w in wars])
    se_log_days = 1.2533 * float(np.std(log_days, ddof=1)) / np.sqrt(n)  # s.e. of a median
    grid = []
    for spread in SPREADS:
        for attrition in ATTRITIONS:
            fit = play(wars, spread, attrition, args.reps, args.seed)
            gap = ((fit["larger_side_wins"] - hist_share) / se_share) ** 2 + (
                (np.log(fit["median_days"]) - np.log(hist_days)) / se_log_days
            ) ** 2
            grid.append({"spread": spread, "attrition": attrition, **fit, "distance": float(gap)})
            print(
                f"  spread {spread:<5} attrition {attrition:<7} larger side wins "
                f"{fit['larger_side_wins']:.1%}  median days {fit['median_days']:7.1f}  "
                f"loss ratio {fit['median_loss_ratio']:.2f}  distance {gap:8.2f}"
            )
    best = min(grid, key=lambda g: g["distance"])
    print(
        f"best: capability spread {best['spread']}, attrition {best['attrition']}: larger wins "
        f"{best['larger_side_wins']:.1%} (history {hist_share:.1%}), median duration "
        f"{best['median_days']:.0f} days (history {hist_days:.1f}), loss ratio "
        f"{best['median_loss_ratio']:.2f} (battle deaths {hist_death_ratio:.2f})"
    )
    out = {
        "source": "COW Inter-State War Data v4.0 and NMC v6.0, decisive wars (one side all won, "
        "the other all losers); CINC summed over each side's distinct states in the start year",
        "script": "scripts/calibrate.py",
        "seed": args.seed,
        "replications_per_war": args.reps,
        "historical": {
            "decisive_wars": n,
            "larger_side_won": won,
            "larger_side_share": hist_share,
            "median_days": hist_days,
            "median_battle_death_ratio": hist_death_ratio,
        },
        "calibrated": {
            "decision.csf_exponent": m,
            "capability.spread": best["spread"],
            "combat.attrition": best["attrition"],
        },
        "fit": {
            "csf_mean_p_larger_side": p_larger,
            "csf_log_likelihood": csf_log_likelihood(m, wars),
            "simulated_larger_side_share": best["larger_side_wins"],
            "simulated_median_days": best["median_days"],
            "simulated_median_loss_ratio": best["median_loss_ratio"],
        },
        "grid": grid,
    }
    args.out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out} in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
