"""Solve a :class:`~relay.planning.problem.Problem` as a MILP through OR-Tools' MIP interface.

The same formulation as :mod:`.cpsat` (so optima agree), handed to SCIP (which
ships inside ortools) via ``pywraplp``.  Enforced (``OnlyEnforceIf``)
constraints become big-M rows with the tightest M the variable bounds allow
(:func:`relay.planning.relaxation.big_m_row`, shared with the LP relaxation).
SCIP runs single-threaded with a fixed seed, so reruns are deterministic when
they stop on optimality or the gap limit (a wall-clock time limit can cut a run
at different points on a loaded machine).
"""
from __future__ import annotations

import math
import time

from ortools.linear_solver import pywraplp

from ..summary import SolveReport
from .formulation import POINT_SCALE, Formulation, build, relative_gap, to_plan
from .plan import Plan
from .problem import Problem
from .relaxation import big_m_row
from .settings import PlanningSettings

_STATUS = {
    pywraplp.Solver.OPTIMAL: "OPTIMAL", pywraplp.Solver.FEASIBLE: "FEASIBLE",
    pywraplp.Solver.INFEASIBLE: "INFEASIBLE", pywraplp.Solver.UNBOUNDED: "UNBOUNDED",
    pywraplp.Solver.ABNORMAL: "ABNORMAL", pywraplp.Solver.NOT_SOLVED: "NOT_SOLVED",
}


def make_model(F: Formulation, backend: str = "SCIP"):
    solver = pywraplp.Solver.CreateSolver(backend)
    if solver is None:
        raise RuntimeError(f"OR-Tools has no {backend} backend in this build")
    inf = solver.infinity()
    xs = [solver.IntVar(F.var_lb[i], F.var_ub[i], F.var_name[i]) for i in range(F.num_vars)]
    for g in F.at_most_one:
        row = solver.RowConstraint(-inf, 1)
        for i in g:
            row.SetCoefficient(xs[i], 1)
    for c in F.linear:
        row = solver.RowConstraint(c.lb if c.lb > -math.inf else -inf, c.ub if c.ub < math.inf else inf)
        for i, a in zip(c.idx, c.coef):
            row.SetCoefficient(xs[i], a)
    for e in F.enforced:
        big_m = big_m_row(F, e)  # lit => sum a x >= lb, as a row with the tightest M
        if big_m is None:
            continue
        terms, lb = big_m
        row = solver.RowConstraint(lb, inf)
        for i, a in terms.items():
            row.SetCoefficient(xs[i], a)
    objective = solver.Objective()
    for i, c in sorted(F.objective.items()):
        objective.SetCoefficient(xs[i], c)
    objective.SetMaximization()
    return solver, xs


def solve(problem: Problem, settings: PlanningSettings | None = None, *, hint: list[int] | None = None,
          formulation: Formulation | None = None, backend: str = "SCIP",
          fallback: list[int] | None = None, wall_s: float | None = None) -> Plan:
    """Solve with SCIP through pywraplp; ``hint`` is a value vector of the formulation;
    ``fallback`` and ``wall_s`` as in :func:`relay.planning.cpsat.solve`."""
    s = settings or PlanningSettings()
    t0 = time.perf_counter()
    F = formulation or build(problem)
    solver, xs = make_model(F, backend)
    solver.SetTimeLimit(int(1000 * (s.time_limit_s if wall_s is None else min(wall_s, s.time_limit_s))))
    solver.SetSolverSpecificParametersAsString(f"randomization/randomseedshift = {s.seed}\n")
    if hint is not None:
        solver.SetHint(xs, [float(v) for v in hint])
    params = pywraplp.MPSolverParameters()
    params.SetDoubleParam(params.RELATIVE_MIP_GAP, s.gap_limit)
    build_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    status = solver.Solve(params)
    wall = time.perf_counter() - t1
    name = _STATUS.get(status, str(status))
    if status == pywraplp.Solver.NOT_SOLVED and fallback is not None:
        obj = F.objective_value(fallback)
        return to_plan(F, list(fallback), SolveReport(
            solver="mip", backend=backend, status="FEASIBLE", objective_points=obj / POINT_SCALE,
            solve_time_s=round(wall, 3), build_time_s=round(build_s, 3), seed=s.seed,
            time_limit_s=s.time_limit_s, reproducible=False,
            note=f"{backend} found no plan within the time limit: this is the greedy plan"))
    if status not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        raise RuntimeError(f"{backend} found no plan (status {name})")
    values = [int(round(x.solution_value())) for x in xs]
    obj = F.objective_value(values)
    bound = solver.Objective().BestBound()
    if status == pywraplp.Solver.OPTIMAL and s.gap_limit == 0:
        bound = min(bound, math.floor(bound + 1e-6))
    report = SolveReport(
        solver="mip", backend=backend, status=name, objective_points=obj / POINT_SCALE,
        bound=bound / POINT_SCALE, gap=relative_gap(obj, bound), bound_source=f"mip ({backend})",
        solve_time_s=round(wall, 3), build_time_s=round(build_s, 3), seed=s.seed,
        time_limit_s=s.time_limit_s)
    return to_plan(F, values, report)
