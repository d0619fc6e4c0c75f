"""Plan a sweep's runs on Dask: start a LocalCluster or connect to one, submit, collect.

:func:`run_on_dask` submits each pending run (:func:`relay.workers.execute_run`)
as soon as the sweep has keyed it and hands every record back as it comes;
the workers warm up once (:class:`relay.workers.Warmup`) and run with
:data:`relay.workers.DASK_CONFIG`.
"""

from __future__ import annotations

import itertools
import logging
import os

import dask
from distributed import Client, LocalCluster, as_completed

from ..errors import RelayInputError, excerpt
from ..workers import DASK_CONFIG, Warmup, execute_run
from .sweepspec import SweepSpec


def cluster_size(spec: SweepSpec, n_runs: int) -> int:
    """LocalCluster workers: ``cluster.n_workers`` or the cores over the CP-SAT workers of a run,
    never more than those cores allow nor more than the runs."""
    cores = os.cpu_count() or 1
    by_cores = max(1, cores // max(1, spec.solver_workers))
    n = int(spec.n_workers) if spec.n_workers else by_cores
    return max(1, min(n, by_cores, max(1, n_runs)))


def _connect(spec: SweepSpec, scheduler, n_workers) -> tuple[Client, LocalCluster | None, bool]:
    """(client, the cluster started here or None, whether the client is ours to close)."""
    if scheduler is None:
        n = n_workers or cluster_size(spec, len(spec.runs))
        with dask.config.set(DASK_CONFIG):  # the workers' environment and settings (relay.workers)
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                                   silence_logs=logging.ERROR)
        return Client(cluster), cluster, True
    if isinstance(scheduler, str):
        try:
            return Client(scheduler), None, True
        except ValueError as exc:  # not an address (an unreachable one is an OSError after the timeout)
            raise RelayInputError(f"got {excerpt(scheduler)} ({exc}); expected 'serial' or a Dask scheduler's "
                                  "address such as tcp://host:8786", source="--scheduler") from None
    return scheduler, None, False


def _submit_and_collect(client: Client, spec: SweepSpec, pending, finish, geometry_cache: str | None) -> None:
    """Submit every pending run, then ``finish`` each as it completes (a lost task is a failed run)."""
    futures = {}
    done = as_completed()
    try:
        for run, key, sc in pending:
            fut = client.submit(execute_run, sc, {}, run.start, spec.days, spec.plan_options, geometry_cache,
                                key=f"relay-run-{key}-{run.run_id}", pure=False)
            futures[fut] = (run, key)
            done.add(fut)
        for fut in done:
            run, key = futures[fut]
            try:
                rec = fut.result()
            except Exception as exc:  # the worker died, the task was lost...
                rec = {"ok": False, "error": f"{type(exc).__name__}: {exc}",
                       "error_type": type(exc).__name__}
            finish(run, key, rec)
    except BaseException:
        client.cancel(list(futures))
        raise


def run_on_dask(spec: SweepSpec, pending, finish, scheduler, n_workers,
                geometry_cache: str | None = None) -> None:
    """Plan the ``pending`` (run, key, scenario) triples (an iterable: each is submitted as soon
    as it comes) on Dask; no cluster is started when there is nothing to plan.

    ``scheduler``: ``None`` starts a LocalCluster of ``n_workers`` (default
    :func:`cluster_size`), an address connects to that scheduler, a Client is used
    as is (and left open).  ``finish(run, key, record)`` is called for every run.
    """
    pending = iter(pending)
    first = next(pending, None)
    if first is None:
        return
    client, cluster, own_client = _connect(spec, scheduler, n_workers)
    try:
        # every worker (and any that joins later) warms up once before its first run
        client.register_plugin(Warmup(spec.base, spec.starts[0] if spec.starts else None))
        _submit_and_collect(client, spec, itertools.chain([first], pending), finish, geometry_cache)
    finally:
        if own_client:
            client.close()
        if cluster is not None:
            cluster.close()
