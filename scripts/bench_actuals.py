"""Predicted against achieved (issue 22), checked against a known truth; prints every figure.

    python scripts/bench_actuals.py [--weeks 4] [--draws 400] [--seed 1]

1. Calibration error against N: per pair of a known truth (lognormal bias and spread, failure
   rate), the root-mean-square error of the fitted bias (log ratio) and spread, and the failure
   rate's, after N reports (200 repetitions each).
2. Coverage: sessions planned at quantile q achieve at least their planned volume in a share
   ``1 - q`` of simulated passes (link-limited options of synthetic weeks).
3. Guaranteed minimum: synthetic weeks (2 orbiters x 2 assets, 7 days) planned with the true
   calibration at q = 0.16 and q = 0.5 with a guaranteed minimum per sol (half an asset's mean
   per-sol volume); of the sols each plan claims, the share of draws that returned less.
"""
from __future__ import annotations

import argparse
import math
import time

import numpy as np

from relay.actuals.calibrate import fit_pair
from relay.actuals.simulate import (PairTruth, Truth, draw, draw_log_ratios, guarantee_trial, share_of_sol_volume,
                                   truth_record)
from relay.planning import synthetic
from relay.planning.build import problem_at_confidence
from relay.planning.settings import PlanningSettings

TRUTH = Truth({("O0", "A0"): PairTruth(-0.2, 0.35, 0.05), ("O1", "A0"): PairTruth(0.0, 0.15, 0.02),
               ("O0", "A1"): PairTruth(-0.1, 0.3, 0.08), ("O1", "A1"): PairTruth(-0.3, 0.4, 0.05)})


def calibration_error(rng) -> None:
    print("1. calibration error against N (rms over 200 repetitions; bias = log(achieved/predicted))")
    print("   pair     true mu  sigma  fail    N:  bias rms  sigma rms  fail rms")
    for (o, a), t in sorted(TRUTH.pairs.items()):
        for n in (5, 10, 20, 50, 100, 200, 500):
            fits = [fit_pair(*draw_log_ratios(t, n, rng), n) for _ in range(200)]
            e_mu = math.sqrt(np.mean([(f.mu - t.mu) ** 2 for f in fits]))
            e_s = math.sqrt(np.mean([(f.sigma - t.sigma) ** 2 for f in fits]))
            e_f = math.sqrt(np.mean([(f.fail_p - t.fail_p) ** 2 for f in fits]))
            print(f"   {o}/{a}  {t.mu:6.2f} {t.sigma:6.2f} {t.fail_p:5.2f} {n:5d}:  {e_mu:8.3f} {e_s:10.3f} {e_f:9.3f}")


def coverage(weeks, rng) -> None:
    print("2. coverage: share of simulated passes achieving at least the volume planned at q (want 1 - q)")
    for q in (0.05, 0.16, 0.5, 0.84):
        hits = n = 0
        for P in weeks:
            Pq = problem_at_confidence(P, truth_record(TRUTH, P), volume_quantile=q)
            pred = {c.option_id: c.predicted_mbit for c in Pq.confidence.options}
            for x in Pq.options:
                got, _ = draw(TRUTH.of(x.orbiter, x.asset), np.full(50, pred[x.option_id]), rng)
                hits += int(np.sum(got >= x.capacity_mbit - 1e-9)) if x.capacity_mbit > 0 else int(np.sum(got > 0))
                n += 50
        se = math.sqrt((1 - q) * q / n)
        print(f"   q = {q:4.2f}: {hits / n:.4f} of {n:,} draws (want {1 - q:.2f} +- {3 * se:.4f})")


def guarantees(weeks, draws, rng) -> None:
    need = share_of_sol_volume(weeks, 0.5)
    print(f"3. guaranteed minimum per sol {need} Mbit over {len(weeks)} synthetic weeks, {draws} draws a sol")
    s = PlanningSettings(time_limit_s=20)
    for q in (0.16, 0.5):
        t0 = time.perf_counter()
        r = guarantee_trial(weeks, TRUTH, q, need, s, rng, draws)
        print(f"   q = {q:4.2f}: {r.claimed} of {r.sols} sols claimed; claimed sols miss their minimum in "
              f"{r.miss_share:.1%} of draws; {r.delivered_mbit:,.0f} Mbit planned delivered "
              f"({time.perf_counter() - t0:.1f} s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weeks", type=int, default=4)
    ap.add_argument("--draws", type=int, default=400)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    weeks = [synthetic.instance(100 + k, n_orbiters=2, n_assets=2, days=7.0, passes_per_pair_sol=3.0)
             for k in range(args.weeks)]
    calibration_error(rng)
    coverage(weeks, rng)
    guarantees(weeks, args.draws, rng)


if __name__ == "__main__":
    main()
