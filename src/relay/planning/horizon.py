"""Long horizons block by block (issue 23): a bound of the whole horizon from a decomposition.

A horizon of months is cut into consecutive blocks (:func:`block_edges`).  This
module gives the proven bound the plan is measured against
(:func:`decomposition_bound`): the sum over blocks of ``BOUND_BLOCKS`` x
``block_days`` of an upper bound of each block's *relaxed* problem, from the
duals of the block's LP relaxation (:mod:`.relaxation`: one deterministic
HiGHS thread; CP-SAT's bound if the LP gives none), and the prices at its
edges, which :mod:`.windows` uses to value what a window leaves at its end
(windows of one ``planning.block_days`` block solved in sequence, each 2/7 of
a block longer than it keeps; ``relay.planning.solve.block_by_block``).  The
bound comes first, its prices taken from what the greedy plan carries, so that
the windows can use them; when the plan is not within ``gap_limit`` of it, it is
computed once more with the prices taken from what the plan carries, and the
smaller of the two is reported (60 days of network-6: 0.090 % from the first,
0.032 % from the second).  No step races the clock: the wall-clock limits are
safety nets far above the work.

Why the sum bounds the whole optimum.  Every variable of the whole model
belongs to one block: a session option and a downlink chunk to the block its
start falls in.  The whole objective is the sum of the blocks' shares (each
term is one variable's).  Block k's relaxed problem keeps every constraint of
the whole model among its own variables except those coupling it to other
blocks, which it relaxes or prices (a Lagrangian decomposition):

* store capacity is dropped (stores of 16 Gbit do not fill on network-6);
* data aboard at the block's start is one pooled amount ``c`` per orbiter
  (a flow worth the most valuable asset's data, so relabelling any carried
  data as pooled only raises the objective), bought at a price ``p[k-1]``,
  and what is aboard at its end is sold at ``p[k]`` (:func:`carry_model`,
  :func:`price`);
* an asset's unrelayed data left at the edge is likewise a variable ``c``
  (it may be a little negative: a session crossing the edge may use data
  produced after it) added to every data-availability row of the block,
  bought and sold at the asset's data prices;
* exclusivity cliques, per-sol caps and energy budgets are restricted to the
  block's options (each restriction is implied by the whole constraint);
* a forward-link requirement, relay request or sol guarantee whose window
  crosses a block edge is dropped (its penalty is never positive), and the
  points a crossing decisional requirement or preferred request could earn
  are added as a constant; the first-in-first-out condition of a decisional
  requirement inside one block is implied by the whole model's.

The prices telescope: for the whole plan's own carries the blocks' relaxed
objectives add up to the whole objective exactly (the first block starts with
the real stores and backlogs, the last sells nothing).  So each relaxed
block's optimum is at least the whole optimum's share of it, its LP bound at
least that, and the sum of the blocks' bounds plus the constants is a valid
upper bound of the whole optimum, whatever the prices (a Lagrangian bound).
The prices make it tight or loose: taken block by block from the last, the
price at a block's start is what one more unit carried in is worth to that
block (the LP's reduced cost of the amount fixed at what a plan carries,
rounded up, :func:`discover_prices`).  The same LP's duals then bound the
priced block with the amounts free (:func:`dual_bound`: weak duality holds for
any multipliers), so each block costs one LP.  On 28 days of network-6, with
the greedy plan's carries, this gives 91,013,270 points with one 14-day edge
against the optimum's 90,959,588 (0.059 %; two LPs a block and the final
plan's carries gave 91,003,352); the full value of delivered data as the
price of every carry gives 96.7 million, a free carry 106 million.  Tests:
tests/test_horizon.py checks the bound never falls below the optimum CP-SAT
proves exactly on small random instances, with discovered, zero, full and
random prices, and that a block's one-LP bound is not below its priced LP.
"""
from __future__ import annotations

import dataclasses
import math
import time
from bisect import bisect_left, bisect_right
from typing import Callable, NamedTuple

import numpy as np
from ortools.sat.python import cp_model

from . import relaxation
from .cpsat import configure, make_model
from .formulation import DAY_S, POINT_SCALE, Formulation, build, units_down
from .plan import ONBOARD
from .problem import Problem
from .settings import PlanningSettings

#: blocks a horizon must exceed (in ``block_days``) to be planned block by block
BLOCKS_MIN = 4.5
#: the same under a chosen Earth leg (issue 19): its whole-horizon model grows faster (28 days of
#: network-6: 1,944 downlink pieces, 6.2 M nonzeros, the LP alone 39 s and CP-SAT's presolve of what
#: the LP leaves over a minute), so any horizon beyond 1.5 blocks goes block by block
CHOSEN_BLOCKS_MIN = 1.5
#: the bound's blocks are this many planning blocks long: each edge costs about 40,000 points
#: on network-6 (28 days: 0.048 % of the plan with one 14-day edge, 0.107 % with three 7-day
#: edges), and an LP's time grows faster than its block (a 14-day block's two LPs take a few
#: seconds, a 28-day block's 10-15 s and a minute or more on a loaded machine)
BOUND_BLOCKS = 2


def applies(problem: Problem, s: PlanningSettings) -> bool:
    """Whether ``problem`` is planned block by block (one deterministic CP-SAT thread, a long horizon)."""
    chosen = any(o.downlink_hours_per_day is not None for o in problem.orbiters)
    return (s.solver == "cpsat" and s.deterministic and s.block_days > 0
            and problem.end_tdb_s - problem.start_tdb_s > (CHOSEN_BLOCKS_MIN if chosen else BLOCKS_MIN) * s.block_days * DAY_S)


def block_edges(problem: Problem, block_days: float) -> list[float]:
    """Edges of consecutive blocks of ``block_days`` (the last absorbs a remainder under half a block)."""
    w = block_days * DAY_S
    t, end = problem.start_tdb_s, problem.end_tdb_s
    edges = [t]
    while t < end - 1e-6:
        te = min(t + w, end)
        if end - te < 0.5 * w:
            te = end
        edges.append(te)
        t = te
    return edges


def carry_price(P: Problem, weight: float, t: float) -> int:
    """The objective coefficient of a downlink ending at ``t`` of data of priority ``weight`` (model
    units per volume unit, rounded as the model rounds it): a price of data aboard at ``t``."""
    W, U = P.objective, P.volume_unit_mbit
    return int(round((W.delivered_per_mbit * U * weight * (1.0 - W.end_store_discount)
                      + W.latency_per_mbit_day * U * (P.end_tdb_s - t) / DAY_S) * POINT_SCALE))


class Block(NamedTuple):
    """One relaxed block: its problem and the points it adds as a constant (model units)."""

    problem: Problem
    constant: int


def _inside(s: float, e: float, t0: float, t1: float) -> bool:
    return t0 - 1e-6 <= s and e <= t1 + 1e-6


def _starts_in(t: float, t0: float, t1: float, first: bool) -> bool:
    return (first or t0 - 1e-6 <= t) and t < t1 - 1e-6


def data_units(a, t: float, unit: float) -> int:
    """Units of data asset ``a`` has produced by ``t`` (backlog included), as the model rounds them."""
    steps = sorted(a.generation)
    cum = np.cumsum([a.backlog_mbit] + [m for _, m in steps])
    return units_down(float(cum[bisect_right([s for s, _ in steps], t + 1e-9)]), unit)


def data_price(P: Problem, a, t: float) -> int:
    """What a unit of ``a``'s data relayed at ``t`` and downlinked at once earns (model units)."""
    W, U = P.objective, P.volume_unit_mbit
    relay = int(round(W.delivered_per_mbit * U * a.priority_weight * W.end_store_discount * POINT_SCALE))
    return relay + carry_price(P, a.priority_weight, t)


def relaxed_block(P: Problem, t0: float, t1: float) -> Block:
    """Block ``[t0, t1)`` of ``P`` relaxed as the module docstring says (the horizon's end is kept, so
    every objective coefficient is the whole model's).  After the first block each store starts with
    one unit of a pooled flow worth the most valuable asset's data (:func:`carry_model` turns it
    into the carried amount) and each asset with no backlog (the carried data is added there too)."""
    first = t0 <= P.start_tdb_s + 1e-6
    opts = tuple(x for x in P.options if _starts_in(x.start_tdb_s, t0, t1, first))
    pids = {x.pass_id for x in opts}
    last_end = max((x.end_tdb_s for x in opts), default=t1)
    assets = tuple(dataclasses.replace(
        a, backlog_mbit=a.backlog_mbit if first else 0.0,
        generation=tuple((t, v) for t, v in a.generation if first or t > t0),
        sols=tuple(sp for sp in a.sols if sp[2] > t0 and sp[1] < last_end)) for a in P.assets)
    room = sum(x.capacity_mbit for x in opts) + 1.0  # no store fills up: capacity is relaxed
    top = max((a.priority_weight for a in P.assets), default=1.0)
    # each orbiter as it is but for its store, so its daily downlink hours are kept: a UTC day's chunks
    # in this block may use at most the day's hours (a day split by an edge gives each part the whole
    # day's: still a relaxation)
    orbiters = tuple(dataclasses.replace(o, capacity_mbit=room + o.initial_fill_mbit) if first else
                     dataclasses.replace(o, capacity_mbit=room + P.volume_unit_mbit, initial_fill_mbit=P.volume_unit_mbit,
                                         initial_fill_weight=max(top, o.initial_fill_weight))
                     for o in P.orbiters)
    dec = tuple(r for r in P.decisional_requirements if _inside(r.start_tdb_s, r.deadline_tdb_s, t0, t1))
    n_dec = sum(1 for r in P.decisional_requirements if _starts_in(r.start_tdb_s, t0, t1, first)) - len(dec)
    reqs = tuple(r for r in P.requests if _inside(r.start_tdb_s, r.end_tdb_s, t0, t1))
    points = sum(max(0, int(round(r.points * POINT_SCALE))) for r in P.requests
                 if r.priority == "preferred" and _starts_in(r.start_tdb_s, t0, t1, first) and r not in reqs)
    sub = dataclasses.replace(
        P, start_tdb_s=P.start_tdb_s if first else t0, orbiters=orbiters, assets=assets,
        passes=tuple(p for p in P.passes if p.pass_id in pids), options=opts,
        downlinks=tuple(d for d in P.downlinks if _starts_in(d.start_tdb_s, t0, t1, first)),
        forward_requirements=tuple(r for r in P.forward_requirements if _inside(r.start_tdb_s, r.end_tdb_s, t0, t1)),
        decisional_requirements=dec, requests=reqs,
        guarantees=tuple(g for g in P.guarantees if _inside(g.start_tdb_s, g.end_tdb_s, t0, t1)))
    return Block(sub, n_dec * int(round(P.objective.decisional_per_sol * POINT_SCALE)) + points)


Key = tuple[str, str]  # ("store", orbiter) or ("data", asset)


class CarryModel(NamedTuple):
    """A relaxed block's formulation with a variable per carried amount, and its objective unpriced."""

    F: Formulation
    carry: dict[Key, int]            # variable of each carried amount (none in the first block)
    base: dict[int, int]             # the block's own objective coefficients
    constant: int


def _add_to_rows(F: Formulation, members: set[int], var: int, slack: int, ub: float | None = None) -> None:
    """``var`` subtracted from every ``<=`` row of ``F`` over ``members`` only (coefficients 1; with
    upper bound ``ub`` if given), whose upper bound grows by ``slack``."""
    for row in F.linear:
        if row.ub < math.inf and row.lb == -math.inf and (ub is None or row.ub == ub) and row.idx \
                and row.coef.count(1) == len(row.coef) and members.issuperset(row.idx):
            row.idx.append(var)
            row.coef.append(-1)
            row.ub += slack


def carry_model(whole: Problem, t0: float, t1: float) -> CarryModel:
    """The relaxed block ``[t0, t1)`` with the data carried in as variables: per orbiter the pooled
    flow's starting amount, per asset the data left unrelayed at ``t0`` (with two units of slack
    for rounding; it may be a little negative where a session crossing ``t0`` used later data)."""
    block = relaxed_block(whole, t0, t1)
    F = build(block.problem)
    carry: dict[Key, int] = {}
    if t0 > whole.start_tdb_s + 1e-6:
        U = F.unit
        for o in whole.orbiters:
            pool = {var for (ci, f), var in F.d.items() if f == ONBOARD and F.chunks[ci].orbiter == o.name}
            cross = sum(x.capacity_mbit for x in whole.options
                        if x.orbiter == o.name and x.start_tdb_s < t0 < x.end_tdb_s)
            c = F.new_var(f"carried[{o.name}]", 0, units_down(o.capacity_mbit + cross, U) + 2)
            _add_to_rows(F, pool, c, -F.onboard_u.get(o.name, 0), ub=F.onboard_u.get(o.name, 0))
            carry[("store", o.name)] = c
        for a in whole.assets:
            early = data_units(a, t0 + 2 * 3600.0, U) - data_units(a, t0, U)
            c = F.new_var(f"carried[{a.name}]", -early - 2, data_units(a, t0, U) + 2)
            _add_to_rows(F, {F.v[i] for i in F.by_asset.get(a.name, [])}, c, 2)
            carry[("data", a.name)] = c
    return CarryModel(F, carry, dict(F.objective), block.constant)


def price(m: CarryModel, whole: Problem, t0: float, t1: float, p_in: dict[Key, int], p_out: dict[Key, int]) -> int:
    """Set ``m``'s objective: its own, plus what is carried out at ``t1`` sold at ``p_out`` and what
    is carried in bought at ``p_in`` (model units per unit); returns the constant this adds."""
    F, U = m.F, m.F.unit
    obj = dict(m.base)
    first = not m.carry
    constant = m.constant
    for i, x in enumerate(F.options):
        obj[F.v[i]] = obj.get(F.v[i], 0) + p_out.get(("store", x.orbiter), 0) - p_out.get(("data", x.asset), 0)
    for (ci, f), var in F.d.items():
        obj[var] = obj.get(var, 0) - p_out.get(("store", F.chunks[ci].orbiter), 0)
    for key, c in m.carry.items():
        obj[c] = p_out.get(key, 0) - p_in.get(key, 0)
    for o in whole.orbiters:
        if first:  # the real starting fill, sold at the end unless downlinked
            constant += p_out.get(("store", o.name), 0) * (F.onboard_u.get(o.name, 0) if ONBOARD in F.flows.get(o.name, ()) else 0)
    for a in whole.assets:
        made = data_units(a, t1, U) - (0 if first else data_units(a, t0, U))
        constant += p_out.get(("data", a.name), 0) * made
    F.objective = {k: v for k, v in obj.items() if v}
    return constant


def carries_of(F: Formulation, vals, t: float) -> dict[Key, int]:
    """What a plan (``vals`` of the whole formulation ``F``) carries across ``t``, counting each
    session and downlink in the block its start falls in: per orbiter the data aboard, per asset
    the data not yet relayed (units)."""
    out: dict[Key, int] = {}
    for o in F.problem.orbiters:
        out[("store", o.name)] = F.onboard_u.get(o.name, 0)
    for a in F.problem.assets:
        out[("data", a.name)] = data_units(a, t, F.unit)
    for i, x in enumerate(F.options):
        if x.start_tdb_s < t - 1e-6 and vals[F.b[i]]:
            out[("store", x.orbiter)] += int(vals[F.v[i]])
            out[("data", x.asset)] -= int(vals[F.v[i]])
    for (ci, f), var in F.d.items():
        if F.chunks[ci].start_tdb_s < t - 1e-6:
            out[("store", F.chunks[ci].orbiter)] -= int(vals[var])
    return out


class Bound(NamedTuple):
    """The decomposition bound (model units) and how its blocks went."""

    value: int
    blocks: int
    by_lp: int                   # blocks bounded by their LP relaxation (the others by CP-SAT)
    statuses: tuple[str, ...]
    time_s: float
    cut_by_time: bool            # a wall-clock safety net stopped a step (a rerun may differ)
    prices: dict[float, dict[Key, int]] = {}  # the prices of the carried amounts at each inner edge

    def price_at(self, t: float) -> dict[Key, int]:
        """The prices at the first inner edge at or after ``t`` (the last edge's after it; none
        without an inner edge): what data carried across ``t`` is worth, within a week's latency."""
        edges = sorted(self.prices)
        if not edges:
            return {}
        k = bisect_left(edges, t - 1e-6)
        return self.prices[edges[min(k, len(edges) - 1)]]


def discover_prices(m: CarryModel, whole: Problem, t0: float, t1: float, p_out: dict[Key, int],
                    carried: dict[Key, int], wall_s: float) -> tuple[dict[Key, int], bool, relaxation.Relaxation]:
    """The prices of the carried amounts at ``t0``: what one more unit carried in is worth to the
    block (the LP's reduced cost of the amount, fixed at what the plan carries, nothing paid for
    it), at least 0; the full value of delivered data where the LP gives none.  Also whether the
    clock stopped the LP, and the LP itself (its duals bound the block: :func:`dual_bound`)."""
    F = m.F
    saved = {c: (F.var_lb[c], F.var_ub[c]) for c in m.carry.values()}
    for key, c in m.carry.items():
        v = min(max(carried.get(key, 0), 0), F.var_ub[c])
        F.var_lb[c] = F.var_ub[c] = v
    price(m, whole, t0, t1, {}, p_out)
    lp = relaxation.solve_lp(F, wall_s, by_work=True)
    for c, (lo, hi) in saved.items():
        F.var_lb[c], F.var_ub[c] = lo, hi
    if lp.reduced is None:
        top = max((a.priority_weight for a in whole.assets), default=1.0)
        return ({k: data_price(whole, whole.assets[0], t0) if k[0] == "data" else carry_price(whole, top, t0)
                 for k in m.carry}, lp.cut_by_time, lp)
    # rounded up: in the priced block each amount's reduced cost is then in (-1, 0] model units, which
    # costs the dual bound nothing at an amount's lower bound (0 for a store)
    return {k: max(0, int(math.ceil(lp.reduced[c] - 1e-9))) for k, c in m.carry.items()}, lp.cut_by_time, lp


def dual_bound(m: CarryModel, lp: relaxation.Relaxation) -> int | None:
    """A proven upper bound of the priced block ``m`` (its objective as :func:`price` last set it,
    the carried amounts free within their bounds) from the row multipliers of ``lp``, an LP of the
    same rows solved with the amounts fixed (:func:`discover_prices`): weak duality holds for any
    multipliers (:func:`.relaxation.safe_bound`), and with the prices set to the amounts' reduced
    costs rounded up, each amount's reduced cost in the priced block is in (-1, 0] model units a
    unit, so the bound is the fixed LP's optimum less what the carry-in costs, plus under one model
    unit per unit of an amount's lower bound (0 for a store, a few hours' data for an asset): one
    LP per block instead of two, the second having been the LP of the priced block itself."""
    if lp.duals is None:
        return None
    return int(math.floor(relaxation.safe_bound(relaxation.rows_of(m.F), lp.duals)))


def block_bound(m: CarryModel, s: PlanningSettings, deterministic_s: float, wall_s: float) -> tuple[int, str, bool]:
    """A proven upper bound of a priced relaxed block's objective (model units, without its
    constant), where it came from, and whether the wall clock stopped a step: the LP relaxation's,
    certified from its duals (:func:`.relaxation.solve_lp`, one deterministic HiGHS thread,
    ``wall_s`` a safety net), or, if the LP gives none, CP-SAT's (``deterministic_s``)."""
    F = m.F
    lp = relaxation.solve_lp(F, wall_s, by_work=True)
    if lp.bound is not None:
        return lp.bound, "LP", False
    model, _ = make_model(F)
    solver = cp_model.CpSolver()
    configure(solver.parameters, s.model_copy(update={"time_limit_s": deterministic_s}))
    solver.parameters.max_time_in_seconds = max(wall_s, 0.1)
    status = solver.Solve(model)
    if status == cp_model.INFEASIBLE:
        raise RuntimeError("a relaxed block of the horizon is infeasible: the hard constraints of the problem "
                           "contradict each other (fixed sessions?)")
    bound = solver.BestObjectiveBound()
    if not math.isfinite(bound):  # no bound before presolve ended: every variable at its best
        bound = sum(max(c * F.var_lb[i], c * F.var_ub[i]) for i, c in F.objective.items())
    cut = lp.cut_by_time or solver.WallTime() >= 0.99 * solver.parameters.max_time_in_seconds
    return int(math.floor(bound + 1e-6)), "CP-SAT " + solver.StatusName(status), cut


def decomposition_bound(P: Problem, s: PlanningSettings, deterministic_s: float, wall_s: float,
                        carried: Callable[[float], dict[Key, int]] | None = None,
                        prices: Callable[[Key, float], int] | None = None, block_days: float | None = None) -> Bound:
    """The sum of the relaxed blocks' bounds (module docstring): an upper bound of ``P``'s optimum,
    whatever the prices.  The blocks are taken from the last to the first; the prices at a block's
    start are given by ``prices(key, t)``, or found by :func:`discover_prices` from what the plan
    carries (``carried(t)``; nothing when None).  Blocks of ``block_days`` (default
    ``BOUND_BLOCKS`` x ``s.block_days``)."""
    t_start = time.perf_counter()
    edges = block_edges(P, block_days or BOUND_BLOCKS * s.block_days)
    total, statuses, cut, p_out, at = 0, [], False, {}, {}
    for k in reversed(range(len(edges) - 1)):
        t0, t1 = edges[k], edges[k + 1]
        m = carry_model(P, t0, t1)
        b = None
        if not m.carry:
            p_in = {}
        elif prices is not None:
            p_in = {key: prices(key, t0) for key in m.carry}
        else:
            p_in, by_wall, lp = discover_prices(m, P, t0, t1, p_out, carried(t0) if carried else {}, wall_s)
            cut = cut or by_wall
        constant = price(m, P, t0, t1, p_in, p_out)
        if m.carry and prices is None:
            b, status = dual_bound(m, lp), "LP"
        if b is None:
            b, status, by_wall = block_bound(m, s, deterministic_s, wall_s)
            cut = cut or by_wall
        total += b + constant
        statuses.append(status)
        p_out = at[t0] = p_in
    return Bound(total, len(statuses), statuses.count("LP"), tuple(reversed(statuses)),
                 round(time.perf_counter() - t_start, 3), cut, {t: at[t] for t in sorted(at) if at[t]})


def source_text(b: Bound, block_days: float) -> str:
    """What the summary's ``bound_source`` says of a decomposition bound."""
    return (f"decomposition: {b.blocks} blocks of {BOUND_BLOCKS * block_days:g} days relaxed at their edges, bounded by "
            f"their LP relaxations (dual-certified; {b.blocks - b.by_lp} by CP-SAT instead; relay.planning.horizon)")
