"""Benchmark the planning model shapes and solvers on synthetic instances of realistic size.

    .venv/bin/python scripts/bench_plan_models.py [--limit 20] [--sizes S1,S2] [--seeds 1]

Instances (relay.planning.synthetic, geometry-free):
  S1  a crowded week: 4 orbiters x 2 assets, ~90 candidate passes
  S2  28 days, 5 orbiters x 6 assets, ~1200 candidate passes
each "nominal" (relay-limited) and "tight" (backlog, storage, Earth side binding).

For each: model size, then CP-SAT and MIP (SCIP via pywraplp) on shape B1 (split
options) and CP-SAT on shape A (whole passes): status, time, objective, bound,
gap; the greedy's gap to the best bound; the share split passes add.
Never import highspy here (its library clashes with the HiGHS inside ortools).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from relay.planning import cpsat, greedy, mip, synthetic  # noqa: E402
from relay.planning.formulation import build  # noqa: E402
from relay.planning.settings import PlanningSettings  # noqa: E402
from relay.planning.validate import validate  # noqa: E402
from relay.summary import PlanSummary  # noqa: E402

SIZES = {
    "S1": dict(n_orbiters=4, n_assets=2, days=7.0, passes_per_pair_sol=1.7),
    "S2": dict(n_orbiters=5, n_assets=6, days=28.0, passes_per_pair_sol=1.5),
}


def run(name, P, s, solver, F):
    t = time.perf_counter()
    plan = solver.solve(P, s, formulation=F)
    wall = time.perf_counter() - t
    bad = validate(P, plan)
    return plan, wall, bad


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=float, default=20.0, help="time limit per solve, s")
    ap.add_argument("--sizes", default="S1,S2")
    ap.add_argument("--regimes", default="nominal,tight")
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--solvers", default="cpsat,mip,cpsat-A,cpsat-hint")
    ap.add_argument("--nondeterministic", action="store_true", help="CP-SAT without interleaved search")
    args = ap.parse_args(argv)
    s = PlanningSettings(time_limit_s=args.limit, workers=args.workers, deterministic=not args.nondeterministic)
    print(f"{'instance':<16}{'solver':<12}{'status':<10}{'time_s':>8}{'delivered':>11}{'objective':>16}"
          f"{'bound':>16}{'gap_%':>8}  notes")
    for size in args.sizes.split(","):
        for regime in args.regimes.split(","):
            for seed in range(args.seeds):
                kw = dict(SIZES[size], tight=regime == "tight")
                t = time.perf_counter()
                P = synthetic.instance(seed, **kw)
                PA = synthetic.instance(seed, split=False, **kw)
                F = build(P)
                gen_s = time.perf_counter() - t
                label = f"{size}-{regime}-{seed}"
                print(f"{label}: {len(P.passes)} passes, {len(P.options)} options, {len(P.downlinks)} chunks, "
                      f"{F.num_vars} vars, {len(F.linear)} rows, "
                      f"{sum(len(c.idx) for c in F.linear)} terms, {len(F.at_most_one)} cliques "
                      f"(built in {gen_s:.1f} s)")
                t = time.perf_counter()
                g = greedy.solve(P, formulation=F)
                g_s = time.perf_counter() - t
                best_bound = None
                results = {}
                for which in args.solvers.split(","):
                    if which == "cpsat":
                        plan, wall, bad = run(label, P, s, cpsat, F)
                    elif which == "cpsat-hint":
                        from relay.planning.greedy import greedy_values
                        t = time.perf_counter()
                        plan = cpsat.solve(P, s, formulation=F, hint=greedy_values(F))
                        wall, bad = time.perf_counter() - t, validate(P, plan)
                    elif which == "mip":
                        plan, wall, bad = run(label, P, s, mip, F)
                    elif which == "cpsat-A":
                        plan, wall, bad = run(label, PA, s, cpsat, build(PA))
                    else:
                        raise SystemExit(f"unknown solver {which}")
                    sm = PlanSummary(solve=plan.report, figures=plan.figures).to_json()
                    results[which] = sm
                    if which != "cpsat-A":
                        best_bound = sm["bound"] if best_bound is None else min(best_bound, sm["bound"])
                    print(f"{'':<16}{which:<12}{sm['status']:<10}{wall:>8.2f}{sm['delivered_mbit']:>11.1f}"
                          f"{sm['objective_points']:>16.2f}{sm['bound']:>16.2f}{100 * sm['gap']:>8.3f}  "
                          f"{'INVALID: ' + str(bad[0]) if bad else ''}")
                gsm = PlanSummary(solve=g.report, figures=g.figures).to_json()
                gap = 100 * (best_bound - gsm["objective_points"]) / best_bound if best_bound else float("nan")
                print(f"{'':<16}{'greedy':<12}{'-':<10}{g_s:>8.2f}{gsm['delivered_mbit']:>11.1f}"
                      f"{gsm['objective_points']:>16.2f}{'':>16}{gap:>8.3f}  gap to best bound"
                      f"{'; INVALID' if validate(P, g) else ''}")
                if "cpsat" in results and "cpsat-A" in results:
                    a, b = results["cpsat-A"]["delivered_mbit"], results["cpsat"]["delivered_mbit"]
                    print(f"{'':<16}split passes add {100 * (b - a) / a:+.2f} % delivered (B1 vs A)")
                sys.stdout.flush()


if __name__ == "__main__":
    main()
