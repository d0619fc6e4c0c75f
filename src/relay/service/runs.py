"""Planning runs off the request path.

A run is stored ``queued`` and answered at once; a driver thread of the service marks it
``running``, sends :func:`relay.service.engine.plan_task` to the executor (a Dask
LocalCluster by default, a Dask scheduler by address at scale, or a thread pool), waits,
and stores the result as a new plan version (:mod:`relay.service.plans`); then the same
worker writes the plan's folder (:func:`relay.service.engine.files_task`), which the version
gets before the run is ``done``.  Reads and
edits never wait for a run: the planner works on a copy of the records taken when the run
started.  A run whose worker dies (kill -9) fails with the executor's error; a run left
``queued`` or ``running`` by a service process that died is marked failed when the
service starts again (:func:`recover`); any failed run can be retried.
"""
from __future__ import annotations

import os
import socket
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor

from django.db import close_old_connections, connection, transaction

from ..errors import RelayInputError
from ..fileio import process_alive
from ..workers import DASK_CONFIG, Warmup
from . import engine, pages_charts, plans
from .models import Run
from .records import audit, now, require

_STATE = {"executor": None, "client": None, "cluster": None}


def owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# ----------------------------------------------------------------------------- executors
def start_executor(kind: str = "dask", workers: int = 1, scheduler: str | None = None,
                   warm: tuple[str, str] | None = None) -> None:
    """Start where runs execute: ``dask`` (a LocalCluster of ``workers`` processes, or the
    cluster at ``scheduler``) or ``thread`` (a pool in this process, for tests).  ``warm``:
    (a scenario file, a start) each Dask worker plans and re-plans a day of when it starts, so
    that the first run does not pay the planner's imports and first calls (:class:`relay.workers.Warmup`)."""
    stop_executor()
    if kind == "thread":
        _STATE["executor"] = ThreadExecutor(max(1, workers))
        return
    import dask
    from distributed import Client, LocalCluster

    dask.config.set({**DASK_CONFIG, "distributed.scheduler.allowed-failures": 0})
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(n_workers=max(1, workers), threads_per_worker=1, processes=True,
                               dashboard_address=None, host="127.0.0.1")
        _STATE["cluster"] = cluster
        client = Client(cluster)
    client.register_plugin(Warmup(*(warm or (None, None)), replan=True))
    _STATE["client"] = client
    _STATE["executor"] = DaskExecutor(client)


class DaskExecutor:
    """``submit(fn, arg, worker=None)`` on a Dask client, like concurrent.futures; ``worker``:
    the address of the worker that should run it (another one only if that one has gone),
    before the runs queued there (it finishes a run whose plan that worker holds)."""

    def __init__(self, client):
        self.client = client

    def submit(self, fn, arg, worker: str | None = None):
        if worker is None:
            return self.client.submit(fn, arg, pure=False)
        return self.client.submit(fn, arg, pure=False, workers=[worker], allow_other_workers=True, priority=1)


class ThreadExecutor:
    """The same on a thread pool of this process (every task runs here: ``worker`` is None)."""

    def __init__(self, threads: int):
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="relay-run")

    def submit(self, fn, arg, worker: str | None = None):
        return self.pool.submit(fn, arg)

    def shutdown(self) -> None:
        self.pool.shutdown(wait=True)


def stop_executor() -> None:
    ex, client, cluster = _STATE["executor"], _STATE["client"], _STATE["cluster"]
    _STATE.update(executor=None, client=None, cluster=None)
    if isinstance(ex, ThreadExecutor):
        ex.shutdown()
    for thing in (client, cluster):
        if thing is not None:
            thing.close()


def executor():
    if _STATE["executor"] is None:
        start_executor("thread")
    return _STATE["executor"]


# ----------------------------------------------------------------------------- runs
def submit(user, cycle, mode: str = "auto") -> Run:
    """Queue a run of ``cycle`` (``auto``: re-plan the published version when it can, ``full``:
    plan the cycle anew) and start driving it; returns at once."""
    require(user, "run.create", cycle)
    with transaction.atomic():
        run = Run.objects.create(cycle=cycle, requested_by=user, mode=mode, owner=owner())
        audit(user, "run.create", run, None, cycle.pk)
    threading.Thread(target=drive, args=(run.pk,), name=f"relay-run-{run.pk}", daemon=True).start()
    return run


def set_state(run_id: int, **changes) -> None:
    Run.objects.filter(pk=run_id).update(**changes)


def drive(run_id: int) -> None:
    """Run ``run_id`` to its end (in a driver thread): plan on the executor, store the result."""
    close_old_connections()
    t0 = time.perf_counter()
    try:
        run = Run.objects.select_related("cycle", "cycle__scenario", "requested_by").get(pk=run_id)
        set_state(run_id, status="running", progress="gathering the cycle's records", started=now(), owner=owner())
        payload, kept = plans.payload_for(run)
        set_state(run_id, progress="re-planning" if kept["base"] is not None else "planning")
        result = plan_on_worker(payload, kept)
        set_state(run_id, progress="storing the plan version")
        plan = plans.store_result(run, {**result, "files": b""}, kept)
        set_state(run_id, progress=f"plan version {plan.number} stored in {time.perf_counter() - t0:.2f} s; "
                                   "writing its files")
        write_files(plan, result)
        set_state(run_id, progress=f"plan version {plan.number} stored with its files; drawing its timelines")
        pages_charts.prepare(plan.pk)  # the timeline page's charts, made now rather than on a first visit
        set_state(run_id, status="done", progress=f"plan version {plan.number} stored", finished=now(),
                  seconds=round(time.perf_counter() - t0, 3))
    except Exception as exc:  # every failure is recorded on the run, which may be retried
        set_state(run_id, status="failed", progress="failed", error=failure_text(exc), finished=now(),
                  seconds=round(time.perf_counter() - t0, 3))
    finally:
        connection.close()


def plan_on_worker(payload: dict, kept: dict) -> dict:
    """The worker's tables of the run's plan (its files come later, :func:`write_files`); the
    plan it starts from is named by key, and sent whole only to a worker that does not hold it."""
    try:
        return executor().submit(engine.plan_task, {**payload, "files_later": True}).result()
    except engine.NotHeld:
        return executor().submit(engine.plan_task, {**plans.with_files(payload, kept), "files_later": True}).result()


def write_files(plan, result: dict) -> None:
    """The plan folder ``relay plan`` writes (report.html, the zip), made by the worker holding
    the plan after its version is stored and usable; the run is done once the version has them
    (a download or a publication meanwhile waits for them, :func:`relay.service.plans.wait_for_files`)."""
    try:
        files = executor().submit(engine.files_task, result["files_key"], worker=result["worker"]).result()
    except Exception as exc:
        raise RuntimeError(f"plan version {plan.number} was stored but its files were not written "
                           f"({failure_text(exc)}); it cannot be published or downloaded: retry the run") from exc
    plans.store_files(plan, files)


def failure_text(exc: BaseException) -> str:
    if isinstance(exc, RelayInputError):
        return str(exc)
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


def retry(user, run: Run) -> Run:
    """A new run of a failed run's cycle, in the same mode."""
    if run.status != "failed":
        raise RelayInputError(f"run {run.pk} is {run.status}; expected a failed run to retry", source="run")
    return submit(user, run.cycle, run.mode)


def recover() -> int:
    """Mark failed (retryable) every run left queued or running by a dead process of this host;
    returns how many."""
    host = socket.gethostname()
    n = 0
    for run in Run.objects.filter(status__in=("queued", "running")):
        h, _, pid = run.owner.rpartition(":")
        if h == host and pid.isdigit() and (int(pid) == os.getpid() or process_alive(int(pid))):
            continue
        if h and h != host:
            continue
        set_state(run.pk, status="failed", progress="failed", finished=now(),
                  error=f"the service process driving this run ({run.owner or 'unknown'}) stopped; retry the run")
        n += 1
    return n
