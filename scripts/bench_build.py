"""Benchmark everything outside the solvers on long horizons (issue 23): per horizon of network-6,
the time and peak memory of each stage up to and including the built CP-SAT model and LP rows.

    .venv/bin/python scripts/bench_build.py [--days 7,28,60,120,365] [--start 2026-12-14]
                                            [--config configs/network-6.yaml] [--stages ...]

Each horizon runs in a fresh process (so its peak memory is its own).  The stages, in order:

* ``inputs``: the scenario read and checked, the span and the operational inputs;
* ``passes``, ``tracks``, ``earth_mars``: the geometry (:func:`relay.pipeline.geometry`'s parts);
* ``volumes``: the UHF volume of every pass (:func:`relay.pipeline.volumes`);
* ``downlinks``: the X-band windows (:func:`relay.pipeline.downlink_windows`);
* ``problem``: the planning instance (:func:`relay.pipeline.problem_of`);
* ``formulation``: the model as ``relay plan`` builds it (without the coupling rows on a horizon
  planned block by block, :mod:`relay.planning.horizon`);
* ``greedy``: the greedy plan of that model (both orders), as every solve computes it;
* ``cpsat_model``: the CP-SAT model of that formulation (:func:`relay.planning.cpsat.make_model`);
* ``lp_rows``: the LP relaxation's rows of it (:func:`relay.planning.relaxation.rows_of`).
  A horizon planned block by block never gives its whole model to a solver (its windows' and
  blocks' models are built in the solve): these two show what the whole model would cost.

Printed per horizon: one JSON line with the passes, options and model size, then per stage its
seconds and the process's peak resident memory at its end (MiB, ``ru_maxrss``: the peak so far,
so a stage's own peak is the first rise), and the 1-minute load average before and after
(figures on a loaded 2-core machine are inflated).  Nothing is solved.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("inputs", "passes", "tracks", "earth_mars", "volumes", "downlinks", "problem", "formulation",
          "greedy", "cpsat_model", "lp_rows")


def peak_mib() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def child(config: str, start: str, days: float, upto: str) -> dict:
    """The stages of one horizon in this process: seconds and peak memory (MiB) after each."""
    from relay import pipeline
    from relay.api import settings_for
    from relay.config import load_scenario
    from relay.geometry.earth import earth_mars
    from relay.planning import cpsat, greedy, horizon, relaxation
    from relay.planning.formulation import build

    times: dict[str, float] = {}
    mem: dict[str, int] = {}
    last = [time.perf_counter()]

    def mark(name):
        now = time.perf_counter()
        times[name], mem[name] = round(now - last[0], 3), peak_mib()
        last[0] = now
        return name == upto

    out: dict = {"days": days, "load_before": round(os.getloadavg()[0], 2)}
    sc = load_scenario(config)
    span = pipeline.span_of(start, days)
    inputs = pipeline.read_inputs(sc, span)
    settings = settings_for(sc.planning, None, None, None, None, None)
    if mark("inputs"):
        return out | {"s": times, "mib": mem}
    passes = pipeline.find_pass_set(sc, span)
    out["passes"] = len(passes.passes)
    if mark("passes"):
        return out | {"s": times, "mib": mem}
    tracks = pipeline.find_track_set(sc, span)
    mark("tracks")
    em = earth_mars(span.start_tdb_s, span.end_tdb_s, 3600.0, sc.geometry.conjunction_deg)
    geo = pipeline.Geometry(span, passes, tracks, em)
    if mark("earth_mars"):
        return out | {"s": times, "mib": mem}
    vol = pipeline.volumes(sc, geo)
    if mark("volumes"):
        return out | {"s": times, "mib": mem}
    dl = pipeline.downlink_windows(sc, geo, inputs.bookings)
    if mark("downlinks"):
        return out | {"s": times, "mib": mem}
    problem = pipeline.problem_of(sc, geo, vol, dl, inputs, [], {})
    out["options"], out["chunks"] = len(problem.options), len(problem.downlinks)
    if mark("problem"):
        return out | {"s": times, "mib": mem}
    long = horizon.applies(problem, settings)
    F = build(problem, coupling_rows=not long)
    out.update(block_by_block=long, vars=F.num_vars, rows=len(F.linear), enforced=len(F.enforced),
               terms=sum(len(c.idx) for c in F.linear) + sum(len(e.idx) for e in F.enforced))
    if mark("formulation"):
        return out | {"s": times, "mib": mem}
    vals = greedy.greedy_values(F)
    out["greedy_points"] = F.objective_value(vals) / 100
    if mark("greedy"):
        return out | {"s": times, "mib": mem}
    cpsat.make_model(F)
    if mark("cpsat_model"):
        return out | {"s": times, "mib": mem}
    relaxation.rows_of(F)
    mark("lp_rows")
    return out | {"s": times, "mib": mem}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", default="7,28,60,120,365")
    ap.add_argument("--start", default="2026-12-14T00:00:00Z")
    ap.add_argument("--config", default="configs/network-6.yaml")
    ap.add_argument("--upto", default="lp_rows", choices=STAGES, help="the last stage to run")
    ap.add_argument("--child", type=float, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child is not None:
        row = child(args.config, args.start, args.child, args.upto)
        row["load_after"] = round(os.getloadavg()[0], 2)
        print(json.dumps(row), flush=True)
        return
    print(f"cpus {os.cpu_count()}, load average {os.getloadavg()}", flush=True)
    for days in args.days.split(","):
        proc = subprocess.run([sys.executable, __file__, "--child", days, "--start", args.start, "--config",
                               args.config, "--upto", args.upto], cwd=ROOT, capture_output=True, text=True)
        if proc.returncode != 0:
            print(json.dumps({"days": float(days), "error": proc.stderr.strip().splitlines()[-1:]}), flush=True)
            continue
        print(proc.stdout.strip(), flush=True)


if __name__ == "__main__":
    main()
