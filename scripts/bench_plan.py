"""Benchmark the weekly plan end to end (issue 4); prints the figures quoted in the README.

    .venv/bin/python scripts/bench_plan.py [--only baseline,network,insight] [--repeat 3]

1. baseline: ``relay plan configs/baseline.yaml`` for 7 days, as a user runs it (a fresh
   process: imports, config, geometry, volumes, model, solve, validation, written files);
   wall time, solver status and gap.  Target: proven optimal (gap 0) within 10 s.
2. network: ``configs/network-6.yaml`` (5 orbiters x 6 assets x 6 stations), 28 days, 60 s
   time limit, CP-SAT with 1 deterministic worker (the default) and with 2 racing workers,
   and SCIP: status, gap, peak memory of the process.  Target: gap <= 1 % in 60 s, < 2 GiB.
3. insight: ``configs/insight-2019.yaml`` (Curiosity and InSight share overflights), 7 days:
   delivered Mbit of CP-SAT against the greedy baseline, and what split passes add
   (the same plan with ``planning.split_passes: false``).

Each case runs in its own process so that the peak memory (ru_maxrss) is that case's.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RELAY = [sys.executable, "-m", "relay"]
START = "2026-11-23T00:00:00Z"

CHILD = r"""
import json, resource, sys, time
t = time.perf_counter()
import relay.api as api
from relay.config import load_scenario
args = json.loads(sys.argv[1])
sc = load_scenario(args.pop("config"), overrides=args.pop("overrides", None))
r = api.plan(sc, args.pop("start"), args.pop("days"), **args)
wall = time.perf_counter() - t
s = r.summary.to_json()
out = {k: s[k] for k in ("status", "gap", "objective_points", "bound", "delivered_mbit", "greedy_delivered_mbit",
                             "gain_vs_greedy_pct", "solve_time_s", "sessions", "note", "windows",
                             "window_statuses", "window_objective", "greedy_objective")}
out.update(wall_s=wall, options=len(r.problem.options), passes=len(r.problem.passes),
           downlinks=len(r.problem.downlinks), timings=r.timings,
           peak_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
print(json.dumps(out))
"""


def child(**kw) -> dict:
    p = subprocess.run([sys.executable, "-c", CHILD, json.dumps(kw)], cwd=ROOT, capture_output=True, text=True)
    if p.returncode:
        sys.exit(f"benchmark case failed:\n{p.stderr}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def baseline(repeat: int) -> None:
    print("== baseline, 7 days: `relay plan configs/baseline.yaml` in a fresh process ==")
    walls = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(repeat):
            out = Path(tmp) / f"out{k}"
            t = time.perf_counter()
            p = subprocess.run(RELAY + ["plan", "configs/baseline.yaml", "--start", START, "--days", "7",
                                        "--out", str(out), "--quiet"], cwd=ROOT, capture_output=True, text=True)
            walls.append(time.perf_counter() - t)
            if p.returncode:
                sys.exit(f"relay plan failed:\n{p.stderr}")
            s = json.loads((out / "summary.json").read_text())
            print(f"  run {k + 1}: {walls[-1]:.2f} s wall, status {s['status']}, gap {s['gap']}, "
                  f"solve {s['solve_time_s']:.2f} s, {s['sessions']} sessions, delivered "
                  f"{s['delivered_mbit']:.1f} Mbit (greedy {s['greedy_delivered_mbit']:.1f}), stages "
                  f"{s['timings_s']}")
    print(f"  median {statistics.median(walls):.2f} s end to end (target: optimal within 10 s)")


def network() -> None:
    print("== network-6, 28 days (5 orbiters x 6 assets x 6 stations), 60 s limit ==")
    for label, kw in (("CP-SAT 2 workers (--workers 2)", dict(workers=2)),
                      ("CP-SAT 1 worker (deterministic, the default)", dict(workers=1)),
                      ("SCIP (planning.solver: mip)", dict(solver="mip"))):
        r = child(config="configs/network-6.yaml", start=START, days=28, time_limit_s=60, **kw)
        print(f"  {label}: {r['status']}, gap {100 * r['gap']:.3f} %, solve {r['solve_time_s']:.1f} s, "
              f"{r['wall_s']:.1f} s end to end, peak {r['peak_mib']:.0f} MiB; {r['passes']} passes, "
              f"{r['options']} options, {r['downlinks']} downlinks; delivered {r['delivered_mbit']:.1f} Mbit "
              f"(greedy {r['greedy_delivered_mbit']:.1f}, {r['gain_vs_greedy_pct']:+.2f} %)")
    print("  (target: gap <= 1 % within 60 s, peak < 2 GiB)")


def insight() -> None:
    print("== insight-2019, 7 days: CP-SAT against greedy, and what split passes add ==")
    split = child(config="configs/insight-2019.yaml", start="2019-06-03T00:00:00Z", days=7)
    whole = child(config="configs/insight-2019.yaml", start="2019-06-03T00:00:00Z", days=7,
                  overrides={"planning.split_passes": False})
    print(f"  CP-SAT {split['delivered_mbit']:.1f} Mbit ({split['status']}, gap {100 * split['gap']:.3f} %), "
          f"greedy {split['greedy_delivered_mbit']:.1f} Mbit: CP-SAT gains {split['gain_vs_greedy_pct']:+.2f} %")
    gain = 100.0 * (split["delivered_mbit"] - whole["delivered_mbit"]) / whole["delivered_mbit"]
    print(f"  whole passes only: {whole['delivered_mbit']:.1f} Mbit ({whole['status']}); split passes add "
          f"{split['delivered_mbit'] - whole['delivered_mbit']:.1f} Mbit ({gain:+.2f} %); options "
          f"{whole['options']} -> {split['options']}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="baseline,network,insight", help="cases to run, comma-separated")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}; "
          f"load average {os.getloadavg()[0]:.2f}")
    which = args.only.split(",")
    if "baseline" in which:
        baseline(args.repeat)
    if "network" in which:
        network()
    if "insight" in which:
        insight()
    return 0


if __name__ == "__main__":
    sys.exit(main())
