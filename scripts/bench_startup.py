"""Start-up benchmark (issue 23): whole commands in fresh processes, as a user runs them.

    .venv/bin/python scripts/bench_startup.py [--repeat 7] [--only help,passes,plan]

1. help: ``relay --help``.  Target: under 0.2 s.
2. passes: ``relay passes configs/exomars-2030.yaml --start 2026-12-01T00:00:00Z --days 120
   --out F.csv`` (TGO over Rosalind Franklin for 120 days: the job SPICE's ``gfposc`` does in
   about 2.5 s, ``scripts/bench_spice_passes.py``), the table printed (to /dev/null) and the CSV
   written.  Target: under 0.6 s.
3. plan: ``relay plan configs/baseline.yaml --start 2026-11-23T00:00:00Z --days 7 --out DIR``
   (5 orbiters x 2 assets x 6 stations, every file written, report.html included).  Target:
   under 1.0 s.

Each run is a new process (``python -m relay``, what the ``relay`` script runs); printed per
command: the median, minimum and maximum of its wall seconds and of its CPU seconds (user +
system, from the operating system's accounting of the finished child), its peak memory, and the
1-minute load average before and after the runs.  The machine has 2 cores shared with other
work: the CPU seconds move less with the load than the wall seconds do.  relay's own sources are
byte-compiled first, as ``make`` does (this machine sets PYTHONDONTWRITEBYTECODE, so otherwise
every run would compile them again).  One run of each command is made first and not counted.
"""
from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RELAY = [sys.executable, "-m", "relay"]

CASES = {
    "help": (["--help"], 0.2),
    "passes": (["passes", "configs/exomars-2030.yaml", "--start", "2026-12-01T00:00:00Z", "--days", "120",
                "--out", "{tmp}/passes.csv"], 0.6),
    "plan": (["plan", "configs/baseline.yaml", "--start", "2026-11-23T00:00:00Z", "--days", "7",
              "--out", "{tmp}/plan"], 1.0),
}


def run_once(argv: list[str]) -> tuple[float, float, float]:
    """(wall s, CPU s, peak MiB) of one whole command in a new process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited with {proc.returncode}:\n{err}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} s (min {min(values):.3f}, max {max(values):.3f})"


def bench(name: str, repeat: int) -> dict:
    words, target = CASES[name]
    with tempfile.TemporaryDirectory() as tmp:
        argv = RELAY + [w.format(tmp=tmp) for w in words]
        load0 = os.getloadavg()[0]
        run_once(argv)                                   # not counted: warms the file cache
        runs = [run_once(argv) for _ in range(repeat)]
        load1 = os.getloadavg()[0]
    walls, cpus, peaks = zip(*runs)
    print(f"relay {' '.join(words[:1])}: wall {spread(list(walls))}; CPU {spread(list(cpus))}; "
          f"peak {max(peaks):.0f} MiB; target {target:g} s; load {load0:.2f} -> {load1:.2f}", flush=True)
    return {"wall": statistics.median(walls), "cpu": statistics.median(cpus), "load": (load0, load1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7, help="counted runs of each command (default 7)")
    ap.add_argument("--only", default=",".join(CASES), help=f"comma-separated cases of {', '.join(CASES)}")
    args = ap.parse_args()
    import relay

    compileall.compile_dir(str(Path(relay.__file__).parent), quiet=1)
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, cpus {os.cpu_count()}, relay from "
          f"{Path(relay.__file__).parent}, {args.repeat} runs each (median, min, max)", flush=True)
    for name in args.only.split(","):
        bench(name.strip(), args.repeat)


if __name__ == "__main__":
    main()
