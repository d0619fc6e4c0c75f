"""A known truth to check the loop against: achieved volumes drawn from per-pair lognormal
biases and spreads and failure rates.

A :class:`Truth` gives each orbiter-asset pair a :class:`PairTruth`: a held session returns
``predicted x exp(mu + sigma Z)`` (``Z`` standard normal), and fails, returning nothing, with
probability ``fail_p`` (a share :data:`MISSED_SHARE` of the failures reported as ``missed``, the
rest ``failed``).  ``predicted`` is the link model's volume; as in a real report the lander's
queue is full, so the draw is what the pass returned whatever the plan counted on.

* :func:`draw_reports`: pass performance reports of a plan's sessions (the CSV ``relay actuals
  ingest`` reads, :func:`reports_csv`);
* :func:`draw_log_ratios`: ``n`` reports of one pair as (log ratios of the held, failures), for
  calibration-recovery checks;
* :func:`sol_outcomes`: per guaranteed sol of a solved plan, the share of draws whose sessions
  returned less than the guaranteed minimum, beside whether the plan claimed the sol;
* :data:`BASELINE_TRUTH`: an illustrative truth for configs/baseline.yaml's pairs (no public
  per-pair figures exist; the numbers are made up to exercise the loop).

Used by tests/test_actuals*.py, scripts/bench_actuals.py and the shipped example
(configs/examples/actuals/).
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..constants import SOL_S
from ..planning.build import problem_at_confidence
from ..planning.plan import Plan
from ..planning.problem import Problem
from ..planning.solve import solve
from ..links.calibration import Calibration, Fit, PairFit

#: of the failed sessions, the share reported as missed (never started) rather than failed
MISSED_SHARE = 0.3


@dataclass(frozen=True)
class PairTruth:
    mu: float = 0.0
    sigma: float = 0.2
    fail_p: float = 0.03


@dataclass(frozen=True)
class Truth:
    """The true distribution of each pair (``pairs`` by ``(orbiter, asset)``; others ``default``)."""

    pairs: dict = field(default_factory=dict)
    default: PairTruth = PairTruth()

    def of(self, orbiter: str, asset: str) -> PairTruth:
        return self.pairs.get((orbiter, asset), self.default)


#: illustrative (made up): MRO and TGO slightly under their predictions, Odyssey's fixed rates
#: close to them, MAVEN's long range more variable, Mars Express the least reliable
BASELINE_TRUTH = Truth({
    ("MRO", "Curiosity"): PairTruth(-0.15, 0.25, 0.04), ("MRO", "Perseverance"): PairTruth(-0.10, 0.25, 0.04),
    ("TGO", "Curiosity"): PairTruth(-0.20, 0.30, 0.05), ("TGO", "Perseverance"): PairTruth(-0.05, 0.30, 0.05),
    ("Odyssey", "Curiosity"): PairTruth(0.0, 0.10, 0.03), ("Odyssey", "Perseverance"): PairTruth(0.0, 0.10, 0.03),
    ("MAVEN", "Curiosity"): PairTruth(-0.25, 0.40, 0.08), ("MAVEN", "Perseverance"): PairTruth(-0.25, 0.40, 0.08),
    ("MEX", "Curiosity"): PairTruth(-0.30, 0.35, 0.12), ("MEX", "Perseverance"): PairTruth(-0.30, 0.35, 0.12),
}, PairTruth(-0.1, 0.3, 0.05))


def draw(truth: PairTruth, predicted: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Achieved volumes of sessions predicted at ``predicted`` (Mbit) and whether each failed."""
    predicted = np.asarray(predicted, dtype=float)
    failed = rng.random(predicted.size) < truth.fail_p
    achieved = predicted * np.exp(truth.mu + truth.sigma * rng.standard_normal(predicted.size))
    return np.where(failed, 0.0, achieved), failed


def draw_log_ratios(truth: PairTruth, n: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """``n`` reports of one pair: the log ratios of the sessions held, and the failures."""
    achieved, failed = draw(truth, np.full(n, 100.0), rng)
    return np.log(achieved[~failed] / 100.0), int(failed.sum())


def draw_reports(planned: pd.DataFrame, truth: Truth, rng: np.random.Generator) -> pd.DataFrame:
    """Reports (``orbiter, asset, start, end, achieved_mbit, outcome, note``) of the planned
    sessions (``orbiter, asset, start, end, predicted_mbit, planned_mbit``)."""
    rows = []
    for (o, a), g in planned.groupby(["orbiter", "asset"], sort=True):
        achieved, failed = draw(truth.of(o, a), g["predicted_mbit"].to_numpy(float), rng)
        missed = rng.random(len(g)) < MISSED_SHARE
        for r, got, bad, miss in zip(g.itertuples(index=False), achieved, failed, missed):
            outcome = ("missed" if miss else "failed") if bad else ("partial" if got < r.planned_mbit else "ok")
            rows.append({"orbiter": o, "asset": a, "start": r.start, "end": r.end,
                         "achieved_mbit": round(float(got), 1), "outcome": outcome, "note": "simulated"})
    out = pd.DataFrame(rows, columns=["orbiter", "asset", "start", "end", "achieved_mbit", "outcome", "note"])
    return out.sort_values(["start", "orbiter", "asset"], kind="mergesort").reset_index(drop=True)


def reports_csv(reports: pd.DataFrame) -> str:
    """The report CSV text ``relay actuals ingest`` reads."""
    buf = io.StringIO()
    reports.to_csv(buf, index=False, float_format="%.1f", lineterminator="\n")
    return buf.getvalue()


def sol_outcomes(problem: Problem, plan: Plan, truth: Truth, rng: np.random.Generator, draws: int = 200
                 ) -> list[tuple[str, int, bool, float]]:
    """Per guaranteed minimum of ``problem``: ``(asset, sol, claimed, miss share)``, where
    ``claimed`` says the plan does not report it unmet, and the miss share is the share of
    ``draws`` in which its sessions (predicted by the problem's ``confidence`` block) returned
    less than the minimum."""
    pred = {c.option_id: c.predicted_mbit for c in problem.confidence.options} if problem.confidence else {}
    unmet = {(v.asset, v.local_sol if v.local_sol is not None else v.sol) for v in plan.figures.violations
             if v.requirement == "guaranteed_minimum"}
    out = []
    for g in problem.guarantees:
        mine = [s for s in plan.sessions if s.asset == g.asset and g.start_tdb_s <= s.start_tdb_s < g.end_tdb_s]
        total = np.zeros(draws)
        for s in mine:
            total += draw(truth.of(s.orbiter, s.asset), np.full(draws, pred.get(s.option_id, s.volume_mbit)), rng)[0]
        out.append((g.asset, g.sol, (g.asset, g.sol) not in unmet, float(np.mean(total < g.min_mbit - 1e-6))))
    return out


def truth_record(truth: Truth, problem: Problem, label: str = "the known truth") -> Calibration:
    """The known truth as a calibration record of the problem's pairs (to check the planner apart
    from the fit)."""
    pairs = sorted({(x.orbiter, x.asset) for x in problem.options})
    return Calibration(tuple(PairFit(o, a, Fit(truth.of(o, a).mu, truth.of(o, a).sigma, truth.of(o, a).fail_p))
                             for o, a in pairs), label=label)


def share_of_sol_volume(problems: list[Problem], share: float) -> dict[str, float]:
    """``share`` of each asset's mean whole-pass volume per sol over ``problems`` (Mbit, to 0.1):
    a guaranteed minimum that binds in some sols and not in others."""
    tot: dict[str, float] = {}
    for P in problems:
        for x in P.options:
            if x.option_id.endswith("#0"):
                tot[x.asset] = tot.get(x.asset, 0.0) + x.capacity_mbit
    sols = sum((P.end_tdb_s - P.start_tdb_s) / SOL_S for P in problems)
    return {a: round(share * v / sols, 1) for a, v in sorted(tot.items())}


@dataclass(frozen=True)
class GuaranteeTrial:
    """Plans at ``quantile`` with a guaranteed minimum, their sols drawn ``draws`` times."""

    quantile: float
    sols: int          # guaranteed sols
    claimed: int       # sols the plans say meet their minimum
    miss_share: float  # of the claimed sols' draws, the share that returned less than the minimum
    delivered_mbit: float


def guarantee_trial(problems: list[Problem], truth: Truth, quantile: float, min_sol_mbit: dict, settings,
                    rng: np.random.Generator, draws: int = 200) -> GuaranteeTrial:
    """Plan every problem at ``quantile`` with the true calibration and the guaranteed minima
    (confidence ``1 - quantile``), then draw what each guaranteed sol returned."""
    sols = claimed = 0
    missed, delivered = [], 0.0
    for P in problems:
        Pq = problem_at_confidence(P, truth_record(truth, P), volume_quantile=quantile, min_sol_mbit=min_sol_mbit)
        plan = solve(Pq, settings)
        delivered += plan.figures.delivered_mbit
        for _, _, ok, share in sol_outcomes(Pq, plan, truth, rng, draws):
            sols += 1
            if ok:
                claimed += 1
                missed.append(share)
    return GuaranteeTrial(quantile, sols, claimed, float(np.mean(missed)) if missed else 0.0, delivered)


__all__ = ["MISSED_SHARE", "PairTruth", "Truth", "BASELINE_TRUTH", "draw", "draw_log_ratios", "draw_reports",
           "reports_csv", "sol_outcomes", "truth_record", "share_of_sol_volume", "GuaranteeTrial",
           "guarantee_trial"]
