"""Sweep benchmark: 24 week-long baseline variants on a LocalCluster of 2 workers vs serially.

    python scripts/bench_sweep.py [--runs 24] [--days 7] [--workers 2] [--time-limit 20] [--repeat 1]

The variants: Curiosity's and Perseverance's elevation masks (4 x 3) x two
TGO altitudes = 24 runs, one week each, CP-SAT with 1 worker and a fixed
seed.  Both modes start from empty output folders (no cached runs, an empty
geometry cache: each mode computes the passes and tracks its variants share
once, relay.geocache).  The serial process is warmed up as each Dask worker
is (relay.workers.warm_up: imports, de421, one small plan), outside the
timings.  Prints

* the serial wall time (every run one after another in this process),
* the LocalCluster wall time, cluster start-up (and worker warm-up) included
  and excluded,
* the speed-up (serial / cluster, runs only).  Target: at least 1.8x with 2
  workers on 24 runs;
* a run on a worker against the same run serially: the median of the
  per-run ratios and the ratio of the sums.  Target: at most 1.15;
* the per-run overhead of the cluster: (cluster wall x workers - sum of the
  runs' own times measured on the workers) / runs, and the round trip of an
  empty task;
* the load average before and after each mode (other processes on the
  machine slow the runs on the workers and the serial runs unequally).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# one BLAS/OpenMP thread in this (serial) process too, as Dask's nanny gives each worker: on a
# loaded 2-core machine the serial runs are faster so (0.43-0.45 s against 0.49-0.54 s a run)
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


def spec(days: float, time_limit: float, n: int) -> dict:
    masks_c = [10, 12, 15, 20]
    masks_p = [10, 15, 20]
    alts = [300, 400]
    grid = {"assets.Curiosity.min_elevation_deg": masks_c, "assets.Perseverance.min_elevation_deg": masks_p,
            "tgo_altitude_km": {"set": ["orbiters.TGO.orbit.periapsis_altitude_km",
                                        "orbiters.TGO.orbit.apoapsis_altitude_km"], "values": alts}}
    s = {"base": str(ROOT / "configs" / "baseline.yaml"), "days": days, "starts": ["2026-11-23T00:00:00Z"],
         "grid": grid, "plan": {"time_limit_s": time_limit, "workers": 1, "seed": 0}}
    if n != 24:  # fewer runs (quick checks): the first n combinations as a list of variants
        from relay.analysis.sweepspec import load_sweep_spec

        runs = load_sweep_spec(s).runs[:n]
        s.pop("grid")
        s["variants"] = [{"name": f"v{r.run_id}", "set": r.overrides} for r in runs]
    return s


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="sweep benchmark")
    ap.add_argument("--runs", type=int, default=24)
    ap.add_argument("--days", type=float, default=7.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--time-limit", type=float, default=20.0)
    ap.add_argument("--repeat", type=int, default=1, help="repeat both modes; medians are printed")
    args = ap.parse_args(argv)
    figures = [one(args) for _ in range(args.repeat)]
    if args.repeat > 1:
        import statistics

        print(f"== medians of {args.repeat}: speed-up {statistics.median(f['speedup'] for f in figures):.2f} x, "
              f"worker/serial per run {statistics.median(f['ratio_median'] for f in figures):.3f} "
              f"(sums {statistics.median(f['ratio_sum'] for f in figures):.3f}; CPU seconds "
              f"{statistics.median(f['cpu_median'] for f in figures):.3f}), "
              f"load {statistics.median(f['load'] for f in figures):.2f}")
    return 0


def one(args) -> dict:
    from distributed import Client, LocalCluster

    from relay.analysis.sweep import sweep
    from relay.workers import Warmup, warm_up

    sp = spec(args.days, args.time_limit, args.runs)
    tmp = Path(tempfile.mkdtemp(prefix="relay-bench-sweep-"))
    try:
        print(f"{args.runs} runs of {args.days:g} days (baseline variants), CP-SAT 1 worker, "
              f"limit {args.time_limit:g} s; {os.cpu_count()} cores", flush=True)

        w = warm_up(sp["base"], sp["starts"][0])
        load0 = os.getloadavg()[0]
        t0 = time.perf_counter()
        serial = sweep(sp, out=tmp / "serial", scheduler="serial", progress=False)
        t_serial = time.perf_counter() - t0
        print(f"serial (one process):        {t_serial:8.1f} s  ({t_serial / args.runs:.2f} s/run, "
              f"{int((~serial['ok']).sum())} failed; warm-up {w['seconds']:.1f} s before; "
              f"load {load0:.2f} -> {os.getloadavg()[0]:.2f})", flush=True)

        import logging

        t0 = time.perf_counter()
        import dask

        from relay.workers import DASK_CONFIG

        with dask.config.set(DASK_CONFIG), \
                LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                             dashboard_address=None, silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
            client.wait_for_workers(args.workers)
            # the sweep registers this plugin itself; registering it here first keeps the workers'
            # warm-up out of the runs' timings (the sweep's registration replaces it, a no-op)
            client.register_plugin(Warmup(sp["base"], sp["starts"][0]))
            t_up = time.perf_counter() - t0
            env = client.run(lambda: {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                                     "MALLOC_TRIM_THRESHOLD_")})
            print(f"worker environment: {sorted(env.values(), key=str)[0]}", flush=True)
            # the round trip of an empty task (scheduling + serialisation), median of 50
            rt = []
            for _ in range(50):
                a = time.perf_counter()
                client.submit(int, 0, pure=False).result()
                rt.append(time.perf_counter() - a)
            rt.sort()
            load1 = os.getloadavg()[0]
            t1 = time.perf_counter()
            dist = sweep(sp, out=tmp / "cluster", scheduler=client, progress=False)
            t_cluster = time.perf_counter() - t1
        t_total = time.perf_counter() - t0

        load2 = os.getloadavg()[0]
        work = float(dist["wall_s"].sum())
        overhead = (t_cluster * args.workers - work) / args.runs
        per = (dist.set_index("run_id")["wall_s"] / serial.set_index("run_id")["wall_s"]).dropna()
        ratio_sum = work / float(serial["wall_s"].sum())
        cpu = (dist.set_index("run_id")["cpu_s"] / serial.set_index("run_id")["cpu_s"]).dropna()
        cpu_sum = float(dist["cpu_s"].sum()) / float(serial["cpu_s"].sum())
        print(f"LocalCluster ({args.workers} workers):     {t_cluster:8.1f} s  runs only; "
              f"{t_total:.1f} s with start-up and warm-up ({t_up:.1f} s) and the 50 empty tasks; "
              f"load {load1:.2f} -> {load2:.2f}")
        print(f"speed-up serial / cluster:   {t_serial / t_cluster:8.2f} x  (runs only; target >= 1.8), "
              f"{t_serial / (t_total):.2f} x (start-up included)")
        print(f"a run on a worker / serial:  {per.median():8.3f}    (median of the {len(per)} runs' ratios; "
              f"sum of run times {ratio_sum:.3f}; target <= 1.15)")
        print(f"  in CPU seconds:            {cpu.median():8.3f}    (median of the runs' ratios; sums {cpu_sum:.3f}: "
              f"what a run costs a worker, whatever else holds the cores)")
        print(f"sum of run times on workers: {work:8.1f} s  (serial in-process sum: "
              f"{float(serial['wall_s'].sum()):.1f} s)")
        print(f"cluster overhead per run:    {overhead:8.3f} s  (idle + scheduling + transfer, "
              f"= (wall x workers - work) / runs)")
        print(f"empty-task round trip:       {1000 * rt[len(rt) // 2]:8.2f} ms (median of 50)")
        same = (serial.set_index("run_id")["delivered_mbit"].round(3)
                .equals(dist.set_index("run_id")["delivered_mbit"].round(3)))
        print(f"same delivered volumes serial vs cluster: {same}", flush=True)
        return {"speedup": t_serial / t_cluster, "ratio_median": float(per.median()), "ratio_sum": ratio_sum,
                "cpu_median": float(cpu.median()), "load": (load0 + load1 + load2) / 3}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
