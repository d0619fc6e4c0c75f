"""A rolling-window plan of a long horizon: CP-SAT's starting point (``planning.window_days``) and
the plan of a horizon of months (``planning.block_days``, :mod:`.horizon`).

Horizons longer than 4.5 blocks (``relay.planning.solve.block_by_block``) are
planned here as a whole: windows of one block, each solved 2/7 of a block
(two days of a week) further than it keeps and planned as its LP relaxation guides it
(:func:`window_plan`), what it leaves at its end sold at the prices of
:mod:`.horizon`'s bound (:func:`price_end`), solved in sequence; the sessions
already planned just before a window are held in it (:func:`held_before`), so
that its per-sol caps and radio exclusivity are the whole model's.  The
whole-horizon model is never given to a solver, and :mod:`.horizon` bounds the
joined plan.

One deterministic CP-SAT thread proves a week of the network optimal in
seconds, but on 28 days of 5 orbiters x 6 assets it finds no solution at all
within a minute (the root LP alone takes about that long).  For a horizon
longer than 1.5 windows the deterministic solve takes its bound and starting
plan from the LP relaxation (:mod:`.relaxation`); when the LP gives no bound
in its share of the time limit, it falls back to this module: it plans
consecutive windows (each to optimality or its share of the time limit),
carrying the store fill of every orbiter and the data left at every asset from
one window to the next, then joins them into one plan of the whole horizon:

* the windows' sessions are taken in order into the greedy's state of the
  whole problem (so every constraint of the whole horizon holds: per-sol caps
  across a window boundary, data availability, store capacity), each with the
  largest volume up to its window's that stays feasible;
* the greedy then fills in what the boundaries left free;
* downlinks follow by the greedy's as-soon-as-possible rule.

The joined plan is the hint of the final CP-SAT solve of the whole horizon
(which keeps the rest of the time limit) and the plan returned if that solve
finds nothing better.  Its bound is still CP-SAT's, so the reported gap is an
honest one.

Sub-problems approximate what crosses a boundary: a downlink window belongs to
the window it starts in; data aboard at a boundary counts at weight 1;
a forward-link requirement crossing a boundary goes, clipped, to the window
holding its middle; a decisional one whose deadline falls in the next window
is left to the joined plan.
"""
from __future__ import annotations

import dataclasses
import math
import time
from typing import Callable, NamedTuple

from ..summary import SolveReport
from . import cpsat, greedy, relaxation
from .formulation import Formulation, build, to_plan
from .plan import Plan
from .problem import Problem, SessionOption
from .settings import PlanningSettings


def windows_of(problem: Problem, window_days: float) -> list[tuple[float, float]]:
    """Consecutive windows of ``window_days`` (the last one absorbs a remainder under half a window)."""
    w = window_days * 86400.0
    t, end = problem.start_tdb_s, problem.end_tdb_s
    out = []
    while t < end - 1e-6:
        te = min(t + w, end)
        if end - te < 0.5 * w:
            te = end
        out.append((t, te))
        t = te
    return out


def applies(problem: Problem, s: PlanningSettings) -> bool:
    return (s.solver == "cpsat" and s.deterministic and s.window_days > 0
            and problem.end_tdb_s - problem.start_tdb_s > 1.5 * s.window_days * 86400.0)


#: sessions already planned that started up to this long before a window are held in it (a sol
#: lasts 1.03 days)
HELD_S = 1.1 * 86400.0


def held_before(F: Formulation, st: greedy.FeasibilityState, t0: float) -> tuple[SessionOption, ...]:
    """The sessions ``st`` holds that started in the ``HELD_S`` before ``t0``, as fixed options that
    carry nothing (no volume, no points): held in the window from ``t0`` they count, as in the whole
    model, in its per-sol caps and energy budgets, its radio exclusivity and its one session per
    pass.  Without them a window planned sessions the join then had to drop (60 days of network-6:
    4 sessions, 281 Mbit, most of the 0.23 % the plan lost)."""
    return tuple(dataclasses.replace(x, capacity_mbit=0.0, fixed=True, keep_points=0.0, elevation_score=0.0)
                 for i, x in enumerate(F.options)
                 if st.taken[i] and t0 - HELD_S <= x.start_tdb_s < t0 - 1e-6)


def sub_problem(P: Problem, t0: float, t1: float, fill: dict[str, float], relayed: dict[str, float],
                whole_end: bool = False, held: tuple[SessionOption, ...] = ()) -> Problem:
    """The window ``[t0, t1]`` of ``P`` with the stores and backlogs carried in; ``whole_end``: the
    objective keeps the whole horizon's end (the latency of a downlink counts to it), the window's
    sessions and downlinks still end by ``t1``; ``held``: sessions planned before ``t0`` held as
    fixed options (:func:`held_before`)."""
    opts = held + tuple(x for x in P.options if x.start_tdb_s >= t0 - 1e-6 and x.end_tdb_s <= t1 + 1e-6)
    pids = {x.pass_id for x in opts}
    assets = []
    for a in P.assets:
        before = sum(v for t, v in a.generation if t <= t0)
        assets.append(dataclasses.replace(
            a, backlog_mbit=max(0.0, a.backlog_mbit + before - relayed.get(a.name, 0.0)),
            generation=tuple((t, v) for t, v in a.generation if t0 < t <= t1),
            sols=tuple(sp for sp in a.sols if sp[2] > t0 and sp[1] < t1)))
    # each orbiter as it is (its daily downlink hours too: a window planned without them chose more
    # station time than a day holds, and the join had to drop it, 2026-12-07) with its store carried in
    orbiters = tuple(dataclasses.replace(o, initial_fill_mbit=min(max(fill.get(o.name, 0.0), 0.0), o.capacity_mbit),
                                         initial_fill_weight=1.0) for o in P.orbiters)
    return dataclasses.replace(
        P, start_tdb_s=t0, end_tdb_s=P.end_tdb_s if whole_end else t1, orbiters=orbiters, assets=tuple(assets),
        passes=tuple(p for p in P.passes if p.pass_id in pids), options=opts,
        downlinks=tuple(d for d in P.downlinks if t0 <= d.start_tdb_s < t1 and d.end_tdb_s <= t1 + 1e-6),
        # a requirement crossing a boundary goes, clipped, to the window holding its middle
        forward_requirements=tuple(
            dataclasses.replace(r, start_tdb_s=max(r.start_tdb_s, t0), end_tdb_s=min(r.end_tdb_s, t1))
            for r in P.forward_requirements if t0 <= 0.5 * (r.start_tdb_s + r.end_tdb_s) < t1),
        decisional_requirements=tuple(r for r in P.decisional_requirements
                                      if r.start_tdb_s >= t0 and r.deadline_tdb_s <= t1))


def window_fill(plan: Plan, t: float, fill: dict[str, float]) -> dict[str, float]:
    """Each orbiter's fill at ``t`` as a window's own plan has it (``fill`` where it has no event)."""
    out = dict(fill)
    for p in plan.store:  # the store series is sorted by time
        if p.tdb_s <= t + 1e-6:
            out[p.orbiter] = p.fill_mbit
    return out


def fill_at(F: Formulation, st: greedy.FeasibilityState, t: float) -> dict[str, float]:
    """Each orbiter's fill at ``t`` (Mbit) in the joined plan so far: what its held sessions ending
    by ``t`` brought aboard, less what the as-soon-as-possible downlinks of chunks starting before
    ``t`` sent (the joined plan's own rule).  A window selling what it leaves aboard may downlink
    later than that, and the next window would then start with data the joined plan has sent."""
    out = {}
    for o in F.problem.orbiters:
        held = st.held_by_orb.get(o.name, [])
        units = F.onboard_u.get(o.name, 0) + sum(st.vol[i] for i in held if F.options[i].end_tdb_s <= t + 1e-9)
        if held:
            units -= sum(u for (ci, _), u in st.simulate(o.name).sent.items() if F.chunks[ci].start_tdb_s < t - 1e-9)
        out[o.name] = max(units, 0) * F.unit
    return out


def with_earth_leg(F: Formulation, st: greedy.FeasibilityState, chosen: frozenset[int]) -> greedy.FeasibilityState:
    """The sessions of ``st`` held again, in time order, each with as much of its volume as still
    fits, in a state whose downlinks use the pieces the windows chose first under the daily hours
    (issue 19): the greedy's own choice, the largest pieces of each day, ignores the latency and the
    store timing the windows' plans weighed."""
    out = greedy.FeasibilityState(F, chosen)
    for i in sorted((i for i, t in enumerate(st.taken) if t), key=lambda i: (F.options[i].start_tdb_s, i)):
        out.take_up_to(i, st.vol[i])
    return out


class WindowPlan(NamedTuple):
    """The joined rolling-window plan: its value vector and the figures the solve report shows."""

    values: list[int]
    windows: int                     # windows solved
    window_statuses: tuple[str, ...]  # CP-SAT's status of each window
    window_time_s: float             # wall-clock seconds in the window solves
    cut_by_time: bool = False        # a window's wall-clock limit stopped it (a rerun may differ)


#: what data carried across a time is worth (model units per volume unit): ("store", orbiter) for
#: data aboard, ("data", asset) for data not yet relayed (:mod:`.horizon`'s prices)
Prices = dict[tuple[str, str], int]


def price_end(Fs: Formulation, p: Prices) -> None:
    """Sell what a window leaves at its end at the prices ``p``: data aboard at ``p[("store",
    orbiter)]``, data still at an asset at ``p[("data", asset)]`` (the constant part, the data held
    before any session, is left out).  Without a price a window values data aboard at its end at
    half its worth (the relay share) and data left at an asset at nothing, so it spent the radio
    time of capacity-limited assets on data the whole plan could relay later (60 days of
    network-6: most of the 0.23 % the plan lost)."""
    for i, x in enumerate(Fs.options):
        c = p.get(("store", x.orbiter), 0) - p.get(("data", x.asset), 0)
        if c:
            Fs.objective[Fs.v[i]] = Fs.objective.get(Fs.v[i], 0) + c
    for (ci, _), var in Fs.d.items():
        c = p.get(("store", Fs.chunks[ci].orbiter), 0)
        if c:
            Fs.objective[var] = Fs.objective.get(var, 0) - c
    Fs.objective = {k: v for k, v in Fs.objective.items() if v}


def window_plan(sub: Problem, s: PlanningSettings, deterministic_s: float, wall_s: float | None,
                guided: bool, end_prices: Prices | None = None) -> Plan:
    """One window's plan: CP-SAT on the whole window (the greedy plan if it finds none), or with
    ``guided`` the LP relaxation's guided plan (:func:`.relaxation.guided_values`: the LP, then
    CP-SAT on what it leaves fractional), falling back to the former if the LP gives no bound;
    ``end_prices``: what is left at the window's end is sold at them (:func:`price_end`).
    ``report.reproducible`` is false when a wall-clock limit stopped a step."""
    Fs = build(sub)
    if end_prices:
        price_end(Fs, end_prices)
    wall = deterministic_s if wall_s is None else wall_s
    lp = relaxation.solve_lp(Fs, wall, by_work=True) if guided else None
    if lp is None or lp.bound is None:
        return cpsat.solve(sub, s.model_copy(update={"time_limit_s": deterministic_s}), formulation=Fs,
                           fallback=greedy.greedy_values(Fs), wall_s=wall_s)
    vals, status, _, by_wall = relaxation.guided_values(Fs, lp, s, deterministic_s, wall)
    return to_plan(Fs, vals, SolveReport(solver="cpsat", status=status, reproducible=not by_wall))


def window_values(F: Formulation, s: PlanningSettings, time_budget_s: float, *, window_days: float | None = None,
                  overlap_days: float = 0.0, wall_s: float | None = None, guided: bool = False,
                  prices: Callable[[float], Prices] | None = None) -> WindowPlan:
    """The joined rolling-window plan of ``F`` (see the module docstring).  ``window_days``: the
    windows' length (default ``s.window_days``); ``overlap_days``: each window is solved this much
    longer and only its sessions starting before its end are kept, so that what comes next
    weighs on its last choices; ``time_budget_s``: deterministic seconds shared equally by the
    windows (at least 1 each); ``wall_s``: each window's wall-clock limit (default its share);
    ``guided``: each window planned as the LP relaxation guides it (:func:`window_plan`);
    ``prices(t)``: what is carried across ``t`` is worth (a window ending before the horizon's end
    sells what it leaves at them)."""
    P = F.problem
    wins = windows_of(P, window_days or s.window_days)
    st = greedy.FeasibilityState(F)
    index = {x.option_id: i for i, x in enumerate(F.options)}
    fill = {o.name: o.initial_fill_mbit for o in P.orbiters}
    relayed: dict[str, float] = {}
    statuses, cut = [], False
    chunk_index = {c.chunk_id: ci for ci, c in enumerate(F.chunks)}
    chosen: set[int] = set()   # the downlink pieces the windows used (a chosen Earth leg, issue 19)
    t_start = time.perf_counter()
    share = max(time_budget_s / len(wins), 1.0)  # fixed shares: a rerun gives the same plan
    for t0, t1 in wins:
        te = min(t1 + overlap_days * 86400.0, P.end_tdb_s)
        sub = sub_problem(P, t0, te, fill, relayed, whole_end=guided, held=held_before(F, st, t0))
        end_prices = prices(te) if prices is not None and te < P.end_tdb_s - 1e-6 else None
        plan = window_plan(sub, s, share, wall_s, guided, end_prices)
        statuses.append(plan.report.status)
        cut = cut or not plan.report.reproducible
        for ses in plan.sessions:
            i = index.get(ses.option_id)
            if ses.start_tdb_s < t0 - 1e-6:
                continue  # held from the previous window
            if ses.start_tdb_s >= t1 - 1e-6 and te > t1:
                continue  # in the overlap: the next window decides
            u = None if i is None else st.take_up_to(i, int(math.floor(ses.volume_mbit / F.unit + 1e-6)))
            if u is not None:
                relayed[ses.asset] = relayed.get(ses.asset, 0.0) + u * F.unit
        chosen.update(chunk_index[d.chunk_id] for d in plan.downlinks
                      if d.chunk_id in chunk_index and d.start_tdb_s < t1 - 1e-6)
        fill = fill_at(F, st, t1) if prices is not None else window_fill(plan, t1, fill)
    # under daily downlink hours, the windows' Earth leg or the greedy's (the largest pieces of each
    # day), whichever joins better (before the windows kept the daily hours: network-6 over 60 days
    # 0.034 % from the bound with the windows', 0.080 % with the greedy's; 28 days 0.104 %, 0.084 %)
    theirs = with_earth_leg(F, st, frozenset(chosen)) if F.hours_groups else None
    vals = greedy.greedy_values_by(F, "value", st)
    if theirs is not None:
        other = greedy.greedy_values_by(F, "value", theirs)
        if F.objective_value(other) > F.objective_value(vals):
            vals = other
    return WindowPlan(vals, len(wins), tuple(statuses), round(time.perf_counter() - t_start, 3), cut)
