"""Benchmark long horizons (issue 23): ``relay plan configs/network-6.yaml --days N`` for N in 7, 28,
60, 120 and 365 days, each in a fresh process, as a user runs it (imports, geometry, volumes, model,
solve, validation, every file written).

    .venv/bin/python scripts/bench_horizon.py [--days 7,28,60,120,365] [--start 2026-12-14] [--repeat 1]

Printed per horizon: wall time of the whole command, the child's peak memory (ru_maxrss of the
finished child), the machine's 1-minute load average before and after (figures on a loaded
2-core machine are inflated), the solve's status, relative gap, where the bound came from,
sessions held and Mbit delivered, the stage timings, and, with --repeat 2, whether the reruns
wrote the same plan (scripts/same_plan.py's comparison); peak memory is the child's own
``ru_maxrss``, printed by it as it exits.  Targets: 365 days under 10 minutes and
4 GB with a gap of at most 0.1 %, 60 days under 90 s, cost about linear in the horizon.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: the child: ``relay`` as ``python -m relay`` runs it, then its own peak memory on stderr
CHILD = ("import resource, runpy, sys\n"
         "sys.argv = ['relay', *sys.argv[1:]]\n"
         "try:\n    runpy.run_module('relay', run_name='__main__')\n"
         "finally:\n    print('MAXRSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n")


def run(days: float, start: str, out: Path) -> dict:
    """One ``relay plan`` in a fresh process: its wall time, peak memory, load and summary."""
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD, "plan", "configs/network-6.yaml", "--days", f"{days:g}", "--start", start,
                           "--out", str(out), "--quiet"], cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    peak = [int(line.split()[1]) for line in proc.stderr.splitlines() if line.startswith("MAXRSS_KB ")]
    row = {"days": days, "wall_s": round(wall, 1), "peak_mb": round(peak[-1] / 1024) if peak else None,
           "load": (round(load0, 2), round(os.getloadavg()[0], 2)), "rc": proc.returncode}
    if proc.returncode != 0:
        row["error"] = [line for line in proc.stderr.splitlines() if not line.startswith("MAXRSS_KB")][-1:]
        return row
    sm = json.loads((out / "summary.json").read_text())  # one flat record (relay.summary.PlanSummary)
    row.update(status=sm["status"], gap_pct=None if sm["gap"] is None else round(100 * sm["gap"], 4),
               bound_source=sm["bound_source"], sessions=sm["sessions"], delivered_mbit=sm["delivered_mbit"],
               objective_points=sm["objective_points"], windows=sm["windows"], reproducible=sm["reproducible"],
               timings_s=sm["timings_s"])
    return row


def same(a: Path, b: Path) -> bool:
    """scripts/same_plan.py finds no difference but manifest.json's (it holds the hashes of summary.json
    and report.html, whose stage timings differ on every run)."""
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "same_plan.py"), str(a), str(b)],
                          capture_output=True, text=True)
    lines = proc.stdout.strip().splitlines()
    return bool(lines) and (lines[0].startswith("same plan") or all(x == "differs: manifest.json" for x in lines))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", default="7,28,60,120,365")
    ap.add_argument("--start", default="2026-12-14T00:00:00Z")
    ap.add_argument("--repeat", type=int, default=1, help="runs per horizon (2: also compare the files)")
    args = ap.parse_args(argv)
    print(f"cpus {os.cpu_count()}, load average {os.getloadavg()}")
    table = []
    with tempfile.TemporaryDirectory() as tmp:
        for days in (float(d) for d in args.days.split(",")):
            outs = []
            for k in range(args.repeat):
                out = Path(tmp) / f"d{days:g}-{k}"
                row = run(days, args.start, out)
                outs.append(out)
                table.append(row)
                print(json.dumps(row), flush=True)
            if len(outs) > 1:
                rerun = all(same(outs[0], o) for o in outs[1:])
                for row in table[-len(outs):]:
                    row["same_plan"] = rerun
                print(json.dumps({"days": days, "reruns_same_plan": rerun}), flush=True)
    print(markdown(table))


def markdown(rows: list[dict]) -> str:
    """The horizon table (one line per run) as the README quotes it."""
    out = ["| days | wall | load before-after | peak memory | status, gap | bound | sessions, delivered | "
           "reproducible, reruns the same plan |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["rc"] != 0:
            out.append(f"| {r['days']:g} | {r['wall_s']} s | {r['load'][0]}-{r['load'][1]} | - | failed: "
                       f"{' '.join(r.get('error', []))} | | | |")
            continue
        src = (r["bound_source"] or "none").split(" (")[0].split(":")[0]
        out.append(f"| {r['days']:g} | {r['wall_s']} s (solve {r['timings_s'].get('solve', 0):.0f} s) | "
                   f"{r['load'][0]}-{r['load'][1]} | {r['peak_mb']:,} MiB | {r['status']}, {r['gap_pct']} % | {src} | "
                   f"{r['sessions']:,}, {r['delivered_mbit']:,.0f} Mbit | {r['reproducible']}, "
                   f"{r.get('same_plan', '-')} |")
    return "\n".join(out)


if __name__ == "__main__":
    main()
