"""Sweep workers: the task a worker runs (:func:`execute_run`), its settings and its warm-up.

:func:`execute_run` plans one run of a sweep and returns its record (metrics,
or the error); the sweep sends it to Dask workers, and a serial sweep calls it
in its own process.  Each worker process pays its warm-up once, before its first run.

A run on a fresh worker process was slower than the same run in a warm serial
process: the first run of each process imported relay's planner, OR-Tools,
pandas' and Skyfield's lazy modules, read the de421 kernel and filled the
per-process caches.  :class:`Warmup` is a Dask worker plugin that does all of
that when the worker starts (on a LocalCluster and on every worker of a real
cluster, including workers that join later), with one small plan of the
sweep's base scenario so that every lazy first-call path has run.

Threads: every worker runs one task at a time (``threads_per_worker=1``, or
``dask worker --nthreads 1`` on a cluster), CP-SAT runs the sweep's
``plan.workers`` threads (1 by default), and the BLAS/OpenMP pools are held
at one thread (Dask's nanny sets ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``
and ``MKL_NUM_THREADS`` to 1 before it starts a worker; :func:`warm_up` checks
and reports them).  Two workers on two cores therefore run two threads, not
two thread pools competing for the cores.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import pandas as pd
from distributed import get_worker
from distributed.diagnostics.plugin import WorkerPlugin

from . import api, geocache
from .analysis.metrics import plan_metrics
from .analysis.overrides import resolve
from .config import Scenario
from .ephem import de421_span_tdb_s, planets
from .errors import RelayInputError
from .result import result_from_folder

#: the thread-pool variables a worker should hold at 1
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

#: Dask settings of the workers a sweep starts (a LocalCluster); give a real cluster's workers
#: the same in their Dask configuration.  The nanny's default environment also sets
#: ``MALLOC_TRIM_THRESHOLD_=65536``, which makes glibc hand every freed array back to the
#: system: a run then takes four times the page faults of a run in a plain process (195,000
#: against 45,000 for 12 baseline weeks) and 5 % more time; the workers' statistical profiler
#: samples the running task every 10 ms for a dashboard a sweep does not show.  Each worker's
#: event loop also wakes every 20 ms to check that it is not blocked (``admin.tick``), every
#: 0.5 s to sample the system and every 0.1 s to check its memory: each wake-up takes the GIL
#: from the running plan (a run on a worker took 1.10x its serial time with them, 1.015x with
#: these intervals; 24 baseline weeks on 2 workers 1.79x against 1.91x, bench_sweep.py).
DASK_CONFIG = {"distributed.nanny.pre-spawn-environ": {v: 1 for v in THREAD_VARS},
               "distributed.worker.profile.enabled": False,
               "distributed.admin.tick.interval": "1s",
               "distributed.admin.system-monitor.interval": "2s",
               "distributed.worker.memory.monitor-interval": "1s"}

#: solver statuses of a run without a plan (and any status starting with INFEASIBLE)
FAILED_STATUSES = {"INFEASIBLE", "MODEL_INVALID", "ERROR"}


def execute_run(base: str | Scenario, overrides: dict, start: str, days: float, plan_options: dict,
                geometry_cache: str | None = None) -> dict:
    """Plan one run and return its record (never raises: failures are recorded).

    The task the sweep sends to Dask workers (with the run's resolved scenario as ``base`` and
    no overrides, so that a worker does not read the configuration again); also what a serial
    sweep calls.  ``geometry_cache``: a folder shared by the runs (see :mod:`relay.geocache`), so that
    variants with the same orbits, sites and span compute their geometry once.
    """
    t0, c0 = time.perf_counter(), time.process_time()
    rec: dict[str, Any] = {"ok": False, "error": "", "error_type": ""}
    try:
        sc = resolve(base, overrides)
        with geocache.using(geometry_cache) if geometry_cache is not None else contextlib.nullcontext():
            p = api.plan(sc, start, days, **plan_options)
        rec.update(plan_metrics(p))
        status = str(rec.get("status", ""))
        if status in FAILED_STATUSES or status.startswith("INFEASIBLE"):
            rec["error"] = f"the solver found no plan (status {status})"
            rec["error_type"] = "Infeasible"
        else:
            rec["ok"] = True
    except RelayInputError as exc:
        rec["error"], rec["error_type"] = str(exc), type(exc).__name__
    except Exception as exc:  # a solver or planner error: recorded, the sweep goes on
        tb = traceback.format_exception_only(type(exc), exc)
        rec["error"], rec["error_type"] = "".join(tb).strip(), type(exc).__name__
    rec["wall_s"] = time.perf_counter() - t0
    rec["cpu_s"] = time.process_time() - c0  # CPU seconds of the process (wall_s also counts waiting for a core)
    rec["worker_pid"] = os.getpid()
    return rec


def warm_up(base: str | None = None, start: str | None = None, replan: bool = False) -> dict:
    """Load the ephemeris and (with ``base``, a scenario file, and ``start``) plan one day
    of it once, so that later runs in this process start warm (importing this module
    imported the planner, OR-Tools and pandas); with ``replan`` also the re-plan path
    (:func:`warm_replan`), which a service's worker takes.
    Returns the seconds it took and the thread variables seen; never raises."""
    t0 = time.perf_counter()
    info: dict = {"pid": os.getpid(), "env": {k: os.environ.get(k) for k in (*THREAD_VARS, "MALLOC_TRIM_THRESHOLD_")}}
    try:
        planets()
        de421_span_tdb_s()
        if base is not None and start is not None:
            rec = execute_run(base, {}, start, 1.0, {"time_limit_s": 5.0, "workers": 1, "seed": 0})
            info["plan_ok"] = bool(rec.get("ok"))
        if base is not None and start is not None and replan:
            info["replan_ok"] = warm_replan(base, start)
    except Exception as exc:  # a warm-up failure must not stop the worker: the runs report errors
        info["error"] = f"{type(exc).__name__}: {exc}"
    info["seconds"] = round(time.perf_counter() - t0, 3)
    return info


def warm_replan(base: str, start: str) -> bool:
    """Take the path of a re-plan once (the service's runs take it; a sweep never does): a day
    of ``base`` planned and written as a folder, read back as a re-plan reads it, re-planned
    with an outage over its first session (re-solve, tables, explanations, diff) and its
    files rendered.  A re-plan's first call in a process otherwise paid 0.3 s of lazy imports
    and first calls.  True when the re-plan was made with its diff."""
    first = api.plan(base, start, 1.0, time_limit_s=5.0, workers=1, seed=0)
    if not len(first.sessions):
        return False
    s = first.sessions.iloc[0]
    outage = pd.DataFrame([{"target": s["orbiter"], "what": "all", "start": utc_text(s["start"]),
                            "end": utc_text(s["end"]), "note": "warm-up"}])
    with tempfile.TemporaryDirectory() as tmp:
        first.write(Path(tmp) / "plan")
        again = result_from_folder(Path(tmp) / "plan").replan(outages=outage)
        again.write(Path(tmp) / "again")
    return again.diff is not None


def utc_text(t) -> str:
    return pd.Timestamp(t).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Warmup(WorkerPlugin):
    """Dask worker plugin running :func:`warm_up` once per worker process at start-up
    (``replan``: the re-plan path too, for the service's workers)."""

    name = "relay-warmup"

    def __init__(self, base: str | None = None, start: str | None = None, replan: bool = False):
        self.base, self.start, self.replan = base, start, replan
        self.info: dict = {}

    def setup(self, worker):
        # once per process: registering the plugin again (each sweep on a long-lived cluster
        # does) finds the worker warm
        key = (self.base, self.start, self.replan)
        if key not in _warm:
            _warm[key] = warm_up(self.base, self.start, self.replan)
        self.info = _warm[key]


_warm: dict = {}  # (base, start, replan) -> warm_up's figures, in this process


def worker_address() -> str | None:
    """The address of the Dask worker running the caller (None outside a Dask worker)."""
    try:
        return get_worker().address
    except ValueError:
        return None


__all__ = ["THREAD_VARS", "DASK_CONFIG", "FAILED_STATUSES", "execute_run", "warm_up", "warm_replan", "Warmup",
           "worker_address"]
