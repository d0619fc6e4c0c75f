"""Re-solving a plan's instance after an operational change (issue 11), no geometry recomputed.

A plan keeps what re-planning needs beside its instance (see
:mod:`relay.planfolder`: ``problem.json``, the instance with the outages,
vetoes and requests already applied, and ``volumes.npz``, the
:class:`~relay.planstate.ReplanState`).  :func:`resolve` reads new inputs
(locks, vetoes, outages, requests; see :mod:`relay.operations`) against the
plan's names, applies them ON TOP of the ones the instance already had
(:func:`relay.planning.apply.apply`: a cut session's volume comes from the
saved VolumeTable) and re-solves.  It works on plain pieces (an instance, a
state, settings) and returns plain pieces: :meth:`relay.result.PlanResult.replan`
turns them into the new plan's tables and its diff against the old one; a bad
input raises :class:`~relay.errors.RelayInputError` before anything is written.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from .inputs import read_forbid, read_outages, read_requests, read_sessions_table
from .operations import Operations
from .planstate import ReplanState
from .planning.apply import apply
from .planning.plan import Plan
from .planning.problem import Problem
from .planning.solve import solve
from .sols import clocks_of


def asset_clocks(problem: Problem) -> dict:
    """The assets as the readers take them: name -> sol clock (a request by sol needs it)."""
    clocks = clocks_of(problem)
    return {a.name: clocks.get(a.name) for a in problem.assets}


def read_operations(problem: Problem, state: ReplanState | None, *, lock=None, forbid=None, outages=None,
                    requests=None) -> Operations:
    """The new operational inputs (CSV paths or DataFrames) read against the names of the plan
    (its instance, and the station names its state saved), as one
    :class:`relay.operations.Operations`."""
    orbiters = [o.name for o in problem.orbiters]
    assets = [a.name for a in problem.assets]
    stations = list(state.stations) if state is not None and state.stations else \
        sorted({d.station for d in problem.downlinks})
    locks = read_sessions_table(lock, orbiters=orbiters, assets=assets, min_session_s=problem.min_session_s,
                                turnaround_s=problem.turnaround_s) if lock is not None else None
    return Operations(
        outages=read_outages(outages, orbiters=orbiters, stations=stations, assets=asset_clocks(problem))
        if outages is not None else (),
        forbid=read_forbid(forbid, orbiters=orbiters, assets=assets) if forbid is not None else (),
        requests=read_requests(requests, assets=asset_clocks(problem), orbiters=orbiters)
        if requests is not None else (),
        locks=locks)


@dataclass(frozen=True)
class Resolved:
    """A re-solved instance: the new instance, its solver plan and the seconds each took
    (``problem``: reading and applying the inputs; ``solve``); ``warnings``: a sentence for each
    new outage, veto or lock that changes nothing (:func:`relay.planning.apply.unmatched`)."""

    problem: Problem
    plan: Plan
    timings: dict
    warnings: tuple = ()


def resolve(problem: Problem, state: ReplanState, *, lock=None, forbid=None, outages=None, requests=None,
            settings=None) -> Resolved:
    """``problem`` (a plan's instance) with new locks, vetoes, outages and requests applied on top
    of the ones it already had, and solved with ``settings`` (None: the plan's own, saved in
    ``state``)."""
    t0 = time.perf_counter()
    ops = read_operations(problem, state, lock=lock, forbid=forbid, outages=outages, requests=requests)
    warnings: list[str] = []
    new = apply(problem, ops, volume=state.volume_table, warnings=warnings)
    t1 = time.perf_counter()
    raw = solve(new, settings if settings is not None else state.settings)
    t2 = time.perf_counter()
    return Resolved(new, raw, {"problem": round(t1 - t0, 3), "solve": round(t2 - t1, 3)}, tuple(warnings))


__all__ = ["asset_clocks", "read_operations", "Resolved", "resolve"]
