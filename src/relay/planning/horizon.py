"""Long horizons block by block (issue 23): a bound of the whole horizon from a decomposition.

A horizon of months is cut into consecutive blocks of ``planning.block_days``
(:func:`block_edges`).  The plan comes from :mod:`.windows` (windows of two
blocks solved in sequence, the first block of each kept); this module gives the
proven bound the plan is measured against: the sum over blocks of an upper
bound of each block's *relaxed* problem (:func:`decomposition_bound`), the
block's LP relaxation certified from its duals (:mod:`.relaxation`: one
deterministic HiGHS thread; CP-SAT's bound if the LP gives none).  No step
races the clock: the wall-clock limits are safety nets far above the work.

Why the sum bounds the whole optimum.  Every variable of the whole model
belongs to one block: a session option and a downlink chunk to the block its
start falls in.  The whole objective is the sum of the blocks' shares (each
term is one variable's).  Block k's relaxed problem keeps every constraint of
the whole model among its own variables except those coupling it to other
blocks, which it relaxes or prices (a Lagrangian decomposition):

* store capacity is dropped (stores of 16 Gbit do not fill on network-6);
* data aboard at the block's start (per orbiter and data flow) is an amount
  ``c >= 0`` bought at ``L[k-1]`` and data aboard at its end is sold at
  ``L[k]``, where ``L[k]`` is the objective coefficient of a downlink of that
  flow ending at the block's end (:func:`carry_price`).  Bought data only
  pays when downlinked, which earns at most ``L[k-1]`` (a later downlink earns
  less latency), and the first-in-first-out rule of decisional data must send
  it first; so ``c = 0`` is optimal and the block is solved with empty stores
  (:func:`price_carries`);
* an asset's unrelayed data left at the edge is a variable ``c`` (it may be
  a little negative: a session crossing the edge may use data produced after
  it) added to every data-availability row of the block, bought at the
  asset's data price of the block's start and sold with what the block leaves
  unrelayed at the price of its end (:func:`price_data`).  Any prices give a
  valid bound; the one used is what a unit relayed at the edge earns
  (:func:`data_price`) where the plan leaves the asset short of data, 0 where
  it leaves a day's production or more waiting (:func:`scarcity_of`);
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
upper bound of the whole optimum.  Test: tests/test_horizon.py checks it never
falls below the optimum CP-SAT proves exactly on small random instances, with
free, priced and randomly mixed data prices.  It is tight when little data
waits at a block edge for a later downlink and each asset is either short of
data or never runs dry at the edges.
"""
from __future__ import annotations

import dataclasses
import math
import time
from bisect import bisect_right
from typing import Callable, NamedTuple

import numpy as np
from ortools.sat.python import cp_model

from . import relaxation
from .cpsat import configure, make_model
from .formulation import DAY_S, POINT_SCALE, Formulation, build, units_down
from .plan import ONBOARD
from .problem import Orbiter, Problem
from .settings import PlanningSettings

#: blocks a horizon must exceed (in ``block_days``) to be planned block by block
BLOCKS_MIN = 4.5


def applies(problem: Problem, s: PlanningSettings) -> bool:
    """Whether ``problem`` is planned block by block (one deterministic CP-SAT thread, a long horizon)."""
    return (s.solver == "cpsat" and s.deterministic and s.block_days > 0
            and problem.end_tdb_s - problem.start_tdb_s > BLOCKS_MIN * s.block_days * DAY_S)


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
    """Model units per volume unit of data of this priority ``weight`` aboard at ``t``: the objective
    coefficient of a downlink ending at ``t`` (rounded as the model rounds it), at least any later one's."""
    W, U = P.objective, P.volume_unit_mbit
    return int(round((W.delivered_per_mbit * U * weight * (1.0 - W.end_store_discount)
                      + W.latency_per_mbit_day * U * (P.end_tdb_s - t) / DAY_S) * POINT_SCALE))


class Block(NamedTuple):
    """One relaxed block: its problem, the points it adds as a constant (model units), and the
    prices of an asset's data at its start and end (model units per volume unit)."""

    problem: Problem
    constant: int
    data_in: dict[str, int]
    data_out: dict[str, int]


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


def relaxed_block(P: Problem, t0: float, t1: float, price_in: dict[str, int], price_out: dict[str, int]) -> Block:
    """Block ``[t0, t1)`` of ``P`` relaxed as the module docstring says (the horizon's end is kept, so
    every objective coefficient is the whole model's); ``price_in`` / ``price_out``: each asset's
    data price at the block's edges (0: the data is free)."""
    first = t0 <= P.start_tdb_s + 1e-6
    opts = tuple(x for x in P.options if _starts_in(x.start_tdb_s, t0, t1, first))
    pids = {x.pass_id for x in opts}
    last_end = max((x.end_tdb_s for x in opts), default=t1)
    assets = tuple(dataclasses.replace(
        a, backlog_mbit=a.backlog_mbit if first else 0.0,
        generation=tuple((t, v) for t, v in a.generation if first or t > t0),
        sols=tuple(sp for sp in a.sols if sp[2] > t0 and sp[1] < last_end)) for a in P.assets)
    room = sum(x.capacity_mbit for x in opts) + 1.0  # no store fills up: capacity is relaxed
    orbiters = tuple(Orbiter(o.name, room + o.initial_fill_mbit, o.initial_fill_mbit if first else 0.0,
                             o.initial_fill_weight) for o in P.orbiters)
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
    constant = n_dec * int(round(P.objective.decisional_per_sol * POINT_SCALE)) + points
    return Block(sub, constant, dict(price_in), dict(price_out))


def price_carries(F: Formulation, t1: float) -> int:
    """Give ``F`` (a relaxed block ending at ``t1``) the sale of the data aboard at ``t1``: every relayed
    unit earns the carry price of its flow and every downlinked unit gives it back; returns the
    constant the initial fill adds (its units sold at the end unless downlinked)."""
    P = F.problem
    weight = {a.name: a.priority_weight for a in P.assets}
    price = {(o.name, f): carry_price(P, F.flow_weight.get((o.name, f), weight.get(f, 1.0)), t1)
             for o in P.orbiters for f in [*weight, ONBOARD]}
    for i, x in enumerate(F.options):
        F.objective[F.v[i]] = F.objective.get(F.v[i], 0) + price[(x.orbiter, x.asset)]
    for (ci, f), var in F.d.items():
        F.objective[var] = F.objective.get(var, 0) - price[(F.chunks[ci].orbiter, f)]
    return sum(price[(o, ONBOARD)] * u for o, u in F.onboard_u.items() if ONBOARD in F.flows.get(o, ()))


def price_data(F: Formulation, whole: Problem, t0: float, t1: float, block: Block) -> int:
    """Give ``F`` (a relaxed block ``[t0, t1)``) each asset's data bought at its start and sold at its
    end: a variable ``c`` for the data left from before, added to every availability row (with one
    unit of slack for rounding), costing ``data_in`` and sold again with what is not relayed at
    ``data_out``; returns the constant the block's own data adds."""
    first = t0 <= whole.start_tdb_s + 1e-6
    constant = 0
    for a in whole.assets:
        p_in, p_out = (0 if first else block.data_in.get(a.name, 0)), block.data_out.get(a.name, 0)
        members = {F.v[i] for i in F.by_asset.get(a.name, [])}
        if first:
            constant += p_out * data_units(a, t1, F.unit)
        else:
            early = data_units(a, t0 + 2 * 3600.0, F.unit) - data_units(a, t0, F.unit)
            c = F.new_var(f"carried[{a.name}]", -early - 2, data_units(a, t0, F.unit) + 2)
            for row in F.linear:
                if row.ub < math.inf and row.lb == -math.inf and row.idx and set(row.idx) <= members \
                        and all(k == 1 for k in row.coef):
                    row.idx.append(c)
                    row.coef.append(-1)
                    row.ub += 2
            if p_out - p_in:
                F.objective[c] = p_out - p_in
            constant += p_out * (data_units(a, t1, F.unit) - data_units(a, t0, F.unit))
        if p_out:
            for v in members:
                F.objective[v] = F.objective.get(v, 0) - p_out
    return constant


class Bound(NamedTuple):
    """The decomposition bound (model units) and how its blocks went."""

    value: int
    blocks: int
    by_lp: int                   # blocks bounded by their LP relaxation (the others by CP-SAT)
    statuses: tuple[str, ...]
    time_s: float
    cut_by_time: bool            # a block's wall-clock limit stopped it (a rerun may differ)


def block_bound(whole: Problem, block: Block, t0: float, t1: float, last: bool, s: PlanningSettings,
                deterministic_s: float, wall_s: float) -> tuple[int, str, bool]:
    """A proven upper bound of one relaxed block (model units), where it came from, and whether the
    wall clock stopped a step: the LP relaxation's, certified from its duals
    (:func:`.relaxation.solve_lp`, one deterministic HiGHS thread, ``wall_s`` as a safety net),
    or, if the LP gives none, CP-SAT's (``deterministic_s`` deterministic seconds)."""
    F = build(block.problem)
    constant = block.constant + (0 if last else price_carries(F, t1)) + price_data(F, whole, t0, t1, block)
    lp = relaxation.solve_lp(F, wall_s)
    if lp.bound is not None:
        return lp.bound + constant, "LP", False
    m, _ = make_model(F)
    solver = cp_model.CpSolver()
    configure(solver.parameters, s.model_copy(update={"time_limit_s": deterministic_s}))
    solver.parameters.max_time_in_seconds = max(wall_s, 0.1)
    status = solver.Solve(m)
    if status == cp_model.INFEASIBLE:
        raise RuntimeError("a relaxed block of the horizon is infeasible: the hard constraints of the problem "
                           "contradict each other (fixed sessions?)")
    bound = solver.BestObjectiveBound()
    if not math.isfinite(bound):  # no bound before presolve ended: every variable at its best
        bound = sum(max(c * F.var_lb[i], c * F.var_ub[i]) for i, c in F.objective.items())
    cut = lp.cut_by_time or solver.WallTime() >= 0.99 * solver.parameters.max_time_in_seconds
    return int(math.floor(bound + 1e-6)) + constant, "CP-SAT " + solver.StatusName(status), cut


def decomposition_bound(P: Problem, s: PlanningSettings, deterministic_s: float, wall_s: float,
                        scarce: Callable[[str, float], bool] | None = None) -> Bound:
    """The sum of the relaxed blocks' bounds (module docstring): an upper bound of ``P``'s optimum.
    ``scarce(asset, t)``: whether the asset's data left at block edge ``t`` is priced at what it
    earns when relayed (true where the asset is data-limited) rather than free; any answer gives
    a valid bound, the right one a tight one."""
    t_start = time.perf_counter()
    edges = block_edges(P, s.block_days)
    prices = [{a.name: data_price(P, a, t) if (scarce is not None and scarce(a.name, t)) else 0
               for a in P.assets} for t in edges]
    total, statuses, cut = 0, [], False
    for k in range(len(edges) - 1):
        last = k == len(edges) - 2
        block = relaxed_block(P, edges[k], edges[k + 1], prices[k], {} if last else prices[k + 1])
        b, status, by_wall = block_bound(P, block, edges[k], edges[k + 1], last, s, deterministic_s, wall_s)
        total += b
        statuses.append(status)
        cut = cut or by_wall
    return Bound(total, len(statuses), statuses.count("LP"), tuple(statuses),
                 round(time.perf_counter() - t_start, 3), cut)


def scarcity_of(F: Formulation, vals) -> Callable[[str, float], bool]:
    """Where a plan (``vals`` of the whole formulation ``F``) leaves an asset short of data: at ``t``,
    less is left unrelayed by the sessions starting before ``t`` than the asset makes in a day."""
    P = F.problem
    by_asset: dict[str, list[tuple[float, int]]] = {}
    for i, x in enumerate(F.options):
        if vals[F.b[i]]:
            by_asset.setdefault(x.asset, []).append((x.start_tdb_s, int(vals[F.v[i]])))
    assets = {a.name: a for a in P.assets}
    starts = {a: sorted(v) for a, v in by_asset.items()}
    cum = {a: np.cumsum([0] + [u for _, u in v]) for a, v in starts.items()}

    def scarce(name: str, t: float) -> bool:
        a, U = assets[name], P.volume_unit_mbit
        held = starts.get(name, [])
        relayed = int(cum[name][bisect_right([s for s, _ in held], t - 1e-6)]) if held else 0
        return data_units(a, t, U) - relayed <= data_units(a, t + DAY_S, U) - data_units(a, t, U)
    return scarce


def source_text(b: Bound, block_days: float) -> str:
    """What the summary's ``bound_source`` says of a decomposition bound."""
    return (f"decomposition: {b.blocks} blocks of {block_days:g} days relaxed at their edges, bounded by "
            f"their LP relaxations (dual-certified; {b.blocks - b.by_lp} by CP-SAT instead; relay.planning.horizon)")
