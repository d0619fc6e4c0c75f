"""An example "notebook": the documented Python API end to end, returning pandas objects.

    python scripts/notebook_example.py [--days 7] [--out out/notebook]

Each step below is one notebook cell: load a scenario with an override, list
the passes, plan the horizon, then compare the baseline with a variant whose
elevation masks are raised to 20 degrees.  (The test suite runs it with a
short horizon: tests/test_analysis.py.)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

import relay

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "configs" / "baseline.yaml"
START = "2026-11-23T00:00:00Z"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=float, default=7.0)
    ap.add_argument("--out", default=str(ROOT / "out" / "notebook"))
    ap.add_argument("--time-limit", type=float, default=20.0, help="CP-SAT time limit per plan (s)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    pd.set_option("display.width", 160)
    solver = {"time_limit_s": args.time_limit, "workers": 1, "seed": 0}

    # -- cell 1: a scenario, with an override of Curiosity's mask ---------------------------
    sc = relay.load_scenario(BASELINE, overrides={"assets.Curiosity.min_elevation_deg": 15})
    print(f"scenario {sc.name}: {[o.name for o in sc.orbiters]} over {[a.name for a in sc.assets]}")

    # -- cell 2: every overflight --------------------------------------------------------------
    passes = relay.find_passes(sc, START, days=args.days)
    print(f"\n{len(passes)} passes; per orbiter and asset:")
    print(passes.groupby(["orbiter", "asset"]).size().unstack(fill_value=0))

    # -- cell 3: plan the horizon ----------------------------------------------------------------
    plan = relay.plan(sc, START, days=args.days, **solver)
    s = plan.summary
    print(f"\nplan: {s.solve.status}, delivered {s.figures.delivered_mbit:,.1f} Mbit in {len(plan.sessions)} "
          f"sessions (greedy {s.solve.greedy_delivered_mbit:,.1f})")
    print(plan.sessions[["orbiter", "asset", "start", "end", "volume_mbit"]].head(8).to_string(index=False))
    plan.write(out / "plan")

    # -- cell 4: compare the baseline with higher masks ------------------------------------------
    cmp = relay.compare([BASELINE], START, days=args.days, out=out / "compare",
                        variants={"masks-20": {"assets.Curiosity.min_elevation_deg": 20,
                                               "assets.Perseverance.min_elevation_deg": 20}},
                        plan_options=solver)
    print("\ncomparison (differences against the baseline):")
    print(cmp.totals[["config", "status", "delivered_mbit", "d_delivered_mbit", "d_delivered_pct",
                      "sessions", "worst_latency_h"]].to_string(index=False))
    print(f"\nwrote {out / 'plan' / 'report.html'} and {out / 'compare' / 'compare.html'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
