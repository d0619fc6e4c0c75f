"""Solve a :class:`~relay.planning.problem.Problem` with OR-Tools CP-SAT.

The model is :func:`relay.planning.formulation.build` translated one to one:
Booleans for the options, integer volumes, AtMostOne for the cliques,
``OnlyEnforceIf`` for the decisional-data implications.  With
``deterministic=True`` (default) CP-SAT runs one ``max_lp`` search thread with a
deterministic time limit, so the same problem and settings give the same plan
byte for byte whatever the machine load (see :func:`configure`).
"""
from __future__ import annotations

import math
import time

from ortools.sat.python import cp_model

from ..summary import SolveReport
from .formulation import POINT_SCALE, Formulation, build, relative_gap, to_plan
from .plan import Plan
from .problem import Problem
from .settings import PlanningSettings


def make_model(F: Formulation) -> tuple[cp_model.CpModel, list]:
    """The CP-SAT model of a formulation and its variables (indexed like the formulation's)."""
    m = cp_model.CpModel()
    xs = []
    for i in range(F.num_vars):
        lb, ub = F.var_lb[i], F.var_ub[i]
        xs.append(m.NewBoolVar(F.var_name[i]) if F.is_bool(i) else m.NewIntVar(lb, ub, F.var_name[i]))
        if F.is_bool(i) and lb == 1:
            m.Add(xs[i] == 1)
    for g in F.at_most_one:
        m.AddAtMostOne([xs[i] for i in g])
    rows = m.Proto().constraints
    for c in F.linear:
        lb = int(c.lb) if c.lb > -float("inf") else None
        ub = int(c.ub) if c.ub < float("inf") else None
        if c.idx and 0 not in c.coef and len(set(c.idx)) == len(c.idx):
            # written into the model directly (variable i has index i): the constraint the
            # expression below makes, without building 2 million Python terms on long horizons
            row = rows.add().linear
            row.vars.extend(c.idx)
            row.coeffs.extend(c.coef)
            row.domain.extend((cp_model.INT_MIN if lb is None else lb, cp_model.INT_MAX if ub is None else ub))
            continue
        expr = cp_model.LinearExpr.WeightedSum([xs[i] for i in c.idx], c.coef)
        if lb is not None and ub is not None:
            m.AddLinearConstraint(expr, lb, ub)
        elif ub is not None:
            m.Add(expr <= ub)
        else:
            m.Add(expr >= lb)
    for e in F.enforced:
        m.Add(cp_model.LinearExpr.WeightedSum([xs[i] for i in e.idx], e.coef) >= e.lb).OnlyEnforceIf(xs[e.lit])
    keys = sorted(F.objective)
    m.Maximize(cp_model.LinearExpr.WeightedSum([xs[i] for i in keys], [F.objective[i] for i in keys]))
    return m, xs


#: Full-problem subsolvers in order of use.  ``max_lp`` (linearization level 2) comes first:
#: at level 1 the LP misses the relaxation of ``v <= cap * b`` once presolve turns it into an
#: implication, and the bound stalls (S1: 26 % gap after 20 s at level 1, optimal in 0.05 s at 2).
PORTFOLIO = ["max_lp", "default_lp", "quick_restart", "reduced_costs", "pseudo_costs", "core",
             "quick_restart_no_lp", "no_lp"]


def configure(p, s: PlanningSettings) -> None:
    """CP-SAT parameters from the settings.

    ``deterministic``: one search thread (``max_lp``) and a deterministic time limit of
    ``time_limit_s`` deterministic seconds besides the wall-clock one: a rerun gives the same
    plan byte for byte whenever the search ends by optimality, the gap limit or the
    deterministic limit; a run cut by the wall clock (a loaded machine: one deterministic
    second took up to 3 s here) says so in the summary (``reproducible: false``).
    Otherwise ``workers`` threads race (faster on large instances, never reproducible).
    """
    p.random_seed = s.seed
    p.relative_gap_limit = s.gap_limit
    p.absolute_gap_limit = 0.5  # the objective is integer: a gap below 1 proves optimality
    if s.deterministic:
        p.num_workers = 1
        p.linearization_level = 2
        p.max_deterministic_time = s.time_limit_s
        p.max_time_in_seconds = s.time_limit_s
    else:
        p.num_workers = s.workers
        p.max_time_in_seconds = s.time_limit_s
        if s.workers == 1:
            p.linearization_level = 2
        else:
            p.subsolvers.extend(PORTFOLIO[: max(2, s.workers)])


def solve(problem: Problem, settings: PlanningSettings | None = None, *, hint: list[int] | None = None,
          formulation: Formulation | None = None, fallback: list[int] | None = None,
          wall_s: float | None = None) -> Plan:
    """Solve with CP-SAT; ``hint`` is a value vector of the formulation (e.g. the greedy's).
    ``fallback`` (a feasible value vector, e.g. the greedy's) is the plan returned, with status
    FEASIBLE and CP-SAT's bound, when CP-SAT finds no solution within the time limit.  ``wall_s``:
    a wall-clock limit other than ``time_limit_s`` (what is left of a longer solve's)."""
    s = settings or PlanningSettings()
    t0 = time.perf_counter()
    F = formulation or build(problem)
    m, xs = make_model(F)
    if hint is not None:
        for x, val in zip(xs, hint):
            m.AddHint(x, int(val))
    solver = cp_model.CpSolver()
    configure(solver.parameters, s)
    if wall_s is not None:
        solver.parameters.max_time_in_seconds = max(wall_s, 0.1)
    build_s = time.perf_counter() - t0
    status = solver.Solve(m)
    name = solver.StatusName(status)
    if status == cp_model.UNKNOWN and fallback is not None:
        obj, bound = F.objective_value(fallback), solver.BestObjectiveBound()
        known = math.isfinite(bound) and bound >= obj  # before presolve ends CP-SAT has no bound
        return to_plan(F, list(fallback), SolveReport(
            solver="cpsat", status="FEASIBLE", objective_points=obj / POINT_SCALE,
            bound=bound / POINT_SCALE if known else None, gap=relative_gap(obj, bound) if known else None,
            bound_source="cpsat" if known else None, reproducible=False,
            solve_time_s=round(solver.WallTime(), 3), build_time_s=round(build_s, 3),
            workers=1 if s.deterministic else s.workers, deterministic=s.deterministic, seed=s.seed,
            time_limit_s=s.time_limit_s,
            note="CP-SAT found no plan within the time limit: this is the greedy plan, with CP-SAT's "
                 "bound (raise planning.time_limit_s or plan a shorter horizon)"))
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise RuntimeError(f"CP-SAT found no plan (status {name}); the hard constraints of the problem "
                           "contradict each other (fixed sessions?)")
    values = [solver.Value(x) for x in xs]
    obj, bound = solver.ObjectiveValue(), solver.BestObjectiveBound()
    report = SolveReport(
        solver="cpsat", status=name, objective_points=obj / POINT_SCALE, bound=bound / POINT_SCALE,
        gap=relative_gap(obj, bound), bound_source="cpsat",
        reproducible=bool(s.deterministic and (status == cp_model.OPTIMAL
                                               or solver.WallTime() < 0.99 * solver.parameters.max_time_in_seconds)),
        solve_time_s=round(solver.WallTime(), 3), build_time_s=round(build_s, 3),
        workers=1 if s.deterministic else s.workers, deterministic=s.deterministic, seed=s.seed,
        time_limit_s=s.time_limit_s)
    return to_plan(F, values, report)


class _StopAt(cp_model.CpSolverSolutionCallback):
    """Stops the search at the first solution worth at least ``target`` (model units).  On one
    deterministic thread solutions come in the same order on every run, so the stop is too."""

    def __init__(self, target: float):
        super().__init__()
        self.target = target

    def on_solution_callback(self) -> None:
        if self.ObjectiveValue() >= self.target:
            self.StopSearch()


def solve_fixed(F: Formulation, fixed: dict[int, int], hint: dict[int, int], s: PlanningSettings,
                deterministic_s: float, wall_s: float, target: float) -> tuple[list[int] | None, str, bool]:
    """CP-SAT on ``F`` with the variables of ``fixed`` fixed to their values, ``hint`` as the hint,
    one deterministic thread, stopping at ``deterministic_s`` deterministic seconds, ``wall_s``
    wall-clock ones, or the first solution worth ``target``: the values found (None if none),
    CP-SAT's status, and whether the wall clock stopped it (then a rerun may differ).  The
    restricted model's own bound proves nothing of ``F``'s."""
    m, xs = make_model(F)
    for i, val in fixed.items():
        m.Add(xs[i] == val)
    for i, val in hint.items():
        m.AddHint(xs[i], int(val))
    solver = cp_model.CpSolver()
    p = solver.parameters
    p.random_seed = s.seed
    p.num_workers = 1
    p.linearization_level = 2
    p.max_deterministic_time = max(deterministic_s, 0.1)
    p.max_time_in_seconds = max(wall_s, 0.1)
    status = solver.Solve(m, _StopAt(target))
    by_wall = solver.WallTime() >= 0.99 * p.max_time_in_seconds
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, solver.StatusName(status), by_wall
    return [solver.Value(x) for x in xs], solver.StatusName(status), by_wall
