"""The LP relaxation of a formulation: a proven bound and a plan guided by it (issue 12).

On a long horizon one deterministic CP-SAT thread does not finish the root LP
of the whole model within a minute (28 days of 5 orbiters x 6 assets: 2.1
million nonzeros, mostly the store's prefix sums), so its own bound stays ~10 %
above the plan.  The same LP solved by HiGHS's dual simplex (shipped inside
OR-Tools, driven through MathOpt's model proto; no ``highspy``, whose library
clashes with OR-Tools') takes about 5 s, and it is almost integral (53 of 7,100
Booleans fractional on that case).  This module turns it into:

* a bound that is provably valid whatever the LP solver's tolerances: from the
  LP's dual values ``y``, for every ``x`` in the box with ``lo <= A x <= hi``,
  ``c x = y A x + (c - A' y) x <= sum_i max(y_i lo_i, y_i hi_i)
  + sum_j max(r_j l_j, r_j u_j)`` (weak duality as in Neumaier and Shcherbina,
  "Safe bounds in linear and mixed-integer programming", Math. Prog. 2004);
  the sum is evaluated with a margin for float rounding, and the objective is
  integer, so the bound is rounded down;
* a plan: the session options (and, under a daily downlink-hours cap, the
  downlink pieces) whose LP value is 0 or 1 are fixed to it, the volumes hinted
  with the LP's (rounded down), and CP-SAT (one deterministic thread) solves
  what is left: a few thousand variables instead of 17,000.

Enforced constraints (``lit => sum a x >= lb``) enter the LP as big-M rows
with the tightest M the variable bounds allow, as in :mod:`.mip`.
"""
from __future__ import annotations

import datetime
import math
import time
from dataclasses import dataclass

import numpy as np

from . import cpsat, greedy
from .formulation import Enforced, Formulation
from .settings import PlanningSettings

#: relative margin added to the dual bound for float rounding (terms are sums of ~1e7 products
#: of integers below 2**53 and float duals; 1e-9 of their absolute sum is far above the error)
SAFETY = 1e-9
#: what the summary's ``bound_source`` says of this bound
SOURCE = "lp relaxation (HiGHS dual simplex, dual-certified)"


def big_m_row(F: Formulation, e: Enforced) -> tuple[dict[int, int], int] | None:
    """``lit => sum a x >= lb`` as ``sum a x - M lit >= lb - M`` with ``M = lb - min(sum a x)``:
    the row's terms and its lower bound, or None when the constraint always holds."""
    low = sum(a * (F.var_lb[i] if a > 0 else F.var_ub[i]) for i, a in zip(e.idx, e.coef))
    big_m = e.lb - low
    if big_m <= 0:
        return None
    terms = dict(zip(e.idx, e.coef))
    terms[e.lit] = terms.get(e.lit, 0) - big_m
    return terms, e.lb - big_m


@dataclass(frozen=True)
class Rows:
    """The constraint matrix of a formulation (row-major, columns sorted in each row) and its bounds."""

    row: np.ndarray
    col: np.ndarray
    val: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    c: np.ndarray       # objective (maximised)
    xl: np.ndarray
    xu: np.ndarray


def rows_of(F: Formulation) -> Rows:
    """Every constraint of ``F`` as one sparse matrix: AtMostOne groups, linear rows, big-M rows.

    A chain of prefix-sum rows (``Linear.chain``: the store, flow and data rows, each holding the
    previous row's terms) becomes running totals: a column per row, its value the row's sum, defined
    by the previous row's column plus the new terms and bounded by the row's bounds.  The LP is the
    same (the columns are sums of the others), but its matrix grows with the events instead of
    their square (28 days of network-6 with a chosen Earth leg: 6.2 M nonzeros of prefix sums).
    The columns come after ``F``'s variables; a row that does not hold its chain's previous one is
    summed from scratch."""
    idx: list[list[int]] = []
    coef: list[list[int]] = []
    lo: list[float] = []
    hi: list[float] = []
    xl, xu = [float(v) for v in F.var_lb], [float(v) for v in F.var_ub]
    for g in F.at_most_one:
        idx.append(sorted(g))
        coef.append([1] * len(g))
        lo.append(-math.inf)
        hi.append(1.0)
    last: dict[tuple, tuple[dict[int, int], int, float, float]] = {}
    for c in F.linear:
        if c.chain is None:
            idx.append(c.idx)
            coef.append(c.coef)
            lo.append(c.lb)
            hi.append(c.ub)
            continue
        terms = dict(zip(c.idx, c.coef))
        prev = last.get(c.chain)
        # the previous row's terms among this one's, coefficients equal (set comparisons of the
        # dicts' item views: C loops, where a Python loop over every prefix row was quadratic)
        if prev is not None and len(prev[0]) <= len(terms) and prev[0].items() <= terms.items():
            new = {k: terms[k] for k in sorted(terms.keys() - prev[0].keys())}
            low, high, row = prev[2], prev[3], {prev[1]: 1}
        else:
            new, low, high, row = terms, 0.0, 0.0, {}
        low += sum(min(a * xl[k], a * xu[k]) for k, a in new.items())
        high += sum(max(a * xl[k], a * xu[k]) for k, a in new.items())
        col = len(xl)
        # the row's own bounds; where it has none, what its terms can reach, widened so that the
        # column never rests on it: a bound the column rested on would take a reduced cost that
        # depends on the variables' bounds when the rows were built (an LP with some variables fixed,
        # :func:`relay.planning.horizon.discover_prices`), and the certificate its duals give with
        # them freed (:func:`relay.planning.horizon.dual_bound`) would be valid but loose
        margin = 1.0 + 1e-6 * max(abs(low), abs(high))
        xl.append(max(c.lb, low - margin))
        xu.append(min(c.ub, high + margin))
        row.update(new)
        keys = sorted(row)
        idx.append([*keys, col])
        coef.append([*(row[k] for k in keys), -1])
        lo.append(0.0)
        hi.append(0.0)
        last[c.chain] = (terms, col, low, high)
    for e in F.enforced:
        row = big_m_row(F, e)
        if row is not None:
            terms, lb = row
            keys = sorted(terms)
            idx.append(keys)
            coef.append([terms[k] for k in keys])
            lo.append(lb)
            hi.append(math.inf)
    lengths = np.fromiter((len(i) for i in idx), dtype=np.int64, count=len(idx))
    c = np.zeros(len(xl))
    for i, v in F.objective.items():
        c[i] = v
    return Rows(row=np.repeat(np.arange(len(idx), dtype=np.int64), lengths),
                col=np.fromiter((k for ks in idx for k in ks), dtype=np.int64, count=int(lengths.sum())),
                val=np.fromiter((a for cs in coef for a in cs), dtype=np.float64, count=int(lengths.sum())),
                lo=np.array(lo, dtype=np.float64), hi=np.array(hi, dtype=np.float64), c=c,
                xl=np.array(xl, dtype=np.float64), xu=np.array(xu, dtype=np.float64))


def safe_bound(R: Rows, y: np.ndarray) -> float:
    """An upper bound on ``max c x`` over ``lo <= A x <= hi``, ``xl <= x <= xu``, valid for ANY row
    multipliers ``y`` (weak duality); tight when ``y`` is the LP's optimal dual.  A multiplier whose
    sign would pair with an infinite row bound is taken as 0."""
    y = np.where(((y > 0) & ~np.isfinite(R.hi)) | ((y < 0) & ~np.isfinite(R.lo)), 0.0, y)
    row_part = np.where(y > 0, y * np.where(np.isfinite(R.hi), R.hi, 0.0),
                        y * np.where(np.isfinite(R.lo), R.lo, 0.0))
    reduced = R.c - np.bincount(R.col, weights=R.val * y[R.row], minlength=len(R.c))
    col_part = np.where(reduced > 0, reduced * R.xu, reduced * R.xl)
    total = float(row_part.sum() + col_part.sum())
    margin = SAFETY * float(np.abs(row_part).sum() + np.abs(col_part).sum()) + 1.0
    return total + margin


@dataclass(frozen=True)
class Relaxation:
    """The LP relaxation's outcome: ``bound`` in model units (points x POINT_SCALE, an integer,
    rounded down) and the LP's values, or ``status`` saying why there is none."""

    status: str                          # "OPTIMAL", or what stopped the LP
    bound: int | None = None
    values: np.ndarray | None = None
    time_s: float = 0.0
    cut_by_time: bool = False            # the wall-clock limit stopped it (a rerun may differ)
    reduced: np.ndarray | None = None    # reduced costs c - A'y (per variable: the objective's rate of
    #                                      change as a variable fixed at a bound moves; model units)
    duals: np.ndarray | None = None      # the row multipliers y (rows as :func:`rows_of` orders them)


#: simplex iterations per row and column of the LP that :func:`solve_lp` allows when asked to stop
#: by work rather than by the clock (dual simplex takes one to three per row in practice)
ITERATIONS_PER_SIZE = 20


def solve_lp(F: Formulation, time_limit_s: float, *, by_work: bool = False) -> Relaxation:
    """The LP relaxation of ``F`` by HiGHS's dual simplex (serial, so deterministic).  ``by_work``:
    also stop after ``ITERATIONS_PER_SIZE`` x (rows + columns) iterations, a limit that does not
    depend on the machine's speed (then ``time_limit_s`` is only a safety net)."""
    from ortools.math_opt import model_pb2, result_pb2
    from ortools.math_opt.core.python import solver as core
    from ortools.math_opt.python import callback, init_arguments, model_parameters, parameters

    t0 = time.perf_counter()
    R = rows_of(F)
    m = model_pb2.ModelProto()
    n, nr = len(R.c), len(R.lo)
    m.variables.ids.extend(range(n))
    m.variables.lower_bounds.extend(R.xl)
    m.variables.upper_bounds.extend(R.xu)
    m.variables.integers.extend([False] * n)
    m.linear_constraints.ids.extend(range(nr))
    m.linear_constraints.lower_bounds.extend(R.lo)
    m.linear_constraints.upper_bounds.extend(R.hi)
    m.linear_constraint_matrix.row_ids.extend(R.row)
    m.linear_constraint_matrix.column_ids.extend(R.col)
    m.linear_constraint_matrix.coefficients.extend(R.val)
    m.objective.maximize = True
    nz = np.flatnonzero(R.c)
    m.objective.linear_coefficients.ids.extend(nz)
    m.objective.linear_coefficients.values.extend(R.c[nz])
    params = parameters.SolveParameters(lp_algorithm=parameters.LPAlgorithm.DUAL_SIMPLEX,
                                        time_limit=datetime.timedelta(seconds=max(time_limit_s, 0.001)),
                                        iteration_limit=ITERATIONS_PER_SIZE * (n + nr) if by_work else None)
    params.highs.string_options["parallel"] = "off"
    raw = core.solve(m, parameters.SolverType.HIGHS.value,
                     init_arguments.StreamableSolverInitArguments().to_proto(), params.to_proto(),
                     model_parameters.ModelSolveParameters().to_proto(), None,
                     callback.CallbackRegistration().to_proto(), None, None)
    res = result_pb2.SolveResultProto.FromString(raw) if isinstance(raw, bytes) else raw
    took = round(time.perf_counter() - t0, 3)
    reason = result_pb2.TerminationReasonProto.Name(res.termination.reason).removeprefix("TERMINATION_REASON_")
    if reason != "OPTIMAL" or not res.solutions:
        return Relaxation(status=reason, time_s=took,
                          cut_by_time=res.termination.limit == result_pb2.LIMIT_TIME)
    sol = res.solutions[0]
    x = np.zeros(n)
    x[np.asarray(sol.primal_solution.variable_values.ids, dtype=np.int64)] = sol.primal_solution.variable_values.values
    y = np.zeros(nr)
    duals = sol.dual_solution.dual_values
    y[np.asarray(duals.ids, dtype=np.int64)] = duals.values
    bound = math.floor(safe_bound(R, y))
    reduced = R.c - np.bincount(R.col, weights=R.val * y[R.row], minlength=len(R.c))
    return Relaxation(status="OPTIMAL", bound=bound, values=x, time_s=took, reduced=reduced, duals=y)


def guided_start(F: Formulation, lp: Relaxation) -> tuple[dict[int, int], dict[int, int]]:
    """What the LP says of the plan: the session options and the downlink pieces under a daily
    hours cap (``u``, issue 19) to fix (LP value 0 or 1, within 1e-6) and a hint for every other
    variable (the LP value rounded: Booleans to nearest, volumes down).  Fixing the pieces the LP
    chose leaves CP-SAT only the fractional ones (the baseline week: 105 of 480), so it comes within
    the gap limit of the LP's bound 3 to 7 times sooner than with every piece free."""
    x = lp.values
    fixed, hint = {}, {}
    options = set(F.b) | set(F.u.values())
    for i in range(F.num_vars):
        xi = float(x[i])
        if F.is_bool(i):
            r = int(round(xi))
            if i in options and abs(xi - r) <= 1e-6:
                fixed[i] = r
            hint[i] = r
        else:
            hint[i] = min(max(int(math.floor(xi + 1e-6)), F.var_lb[i]), F.var_ub[i])
    return fixed, hint


def rounded_values(F: Formulation, lp: Relaxation) -> list[int]:
    """A plan from the LP alone, when CP-SAT finds none in its share: the session options the LP
    holds at 1/2 or more, most held first, each taken as far as it still fits with at most its
    LP volume (:meth:`relay.planning.greedy.FeasibilityState.take_up_to`), then the greedy fills
    in the rest; downlinks by the greedy's as-soon-as-possible rule."""
    st = greedy.FeasibilityState(F)
    x = lp.values
    picks = sorted((i for i in range(len(F.options)) if x[F.b[i]] >= 0.5), key=lambda i: (-round(x[F.b[i]], 6), i))
    for i in picks:
        st.take_up_to(i, int(math.floor(x[F.v[i]] + 1e-6)))
    return greedy.greedy_values_by(F, "value", st)


def guided_values(F: Formulation, lp: Relaxation, s: PlanningSettings, deterministic_s: float,
                  wall_s: float) -> tuple[list[int], str, bool, bool]:
    """The plan the LP guides: CP-SAT (one deterministic thread, ``deterministic_s`` deterministic
    seconds, ``wall_s`` on the clock) on the options :func:`guided_start` leaves free, stopping at
    the first plan within ``s.gap_limit`` of the LP's bound; the rounded LP plan
    (:func:`rounded_values`) when it finds none.  Returns the values, CP-SAT's status, whether
    CP-SAT found them, and whether the wall clock stopped it (then a rerun may differ)."""
    fixed, hint = guided_start(F, lp)
    target = lp.bound - s.gap_limit * abs(lp.bound)
    if F.hours_groups:
        # the Earth leg as the LP rounds it (:func:`rounded_earth_leg`), every piece fixed: what is left
        # is a first-come-like model CP-SAT solves in a second (network-6's week: 2e-5 from the LP's
        # bound in 1.0-1.5 s, where leaving the LP's 268 fractional pieces of 480 free reached 3e-3 in
        # 15 deterministic seconds and the whole model 6e-5 in 213 s; 28 days in 7-day windows: the
        # same plan whether or not the pieces were then freed for the rest of the time)
        pieces = set(F.u.values())
        rounded = {**{i: v for i, v in fixed.items() if i not in pieces}, **rounded_earth_leg(F, lp)}
        share = min(deterministic_s, max(EARTH_LEG_SHARE * deterministic_s, 1.0))
        vals, status, by_wall = cpsat.solve_fixed(F, rounded, hint, s, share, wall_s, target)
        if vals is not None:
            return vals, status, True, by_wall
        deterministic_s -= share
    vals, status, by_wall = cpsat.solve_fixed(F, fixed, hint, s, deterministic_s, wall_s, target)
    if vals is None:
        return rounded_values(F, lp), status, False, by_wall
    return vals, status, True, by_wall


#: the share of :func:`guided_values`' deterministic seconds for the plan with the LP's rounded Earth
#: leg (the rest only if it finds none, for the plan with the LP's fractional pieces free)
EARTH_LEG_SHARE = 0.25


def rounded_earth_leg(F: Formulation, lp: Relaxation) -> dict[int, int]:
    """The downlink pieces to use (``u``, issue 19) as the LP rounds them, per capped day: the
    pieces the LP uses, most used first (ties: the earlier), while the day's hours allow, then
    the largest of the others while they still fit (unused hours cost nothing: a piece the plan
    does not need sends nothing).  Every piece of a capped day is fixed, 0 or 1."""
    x = lp.values
    out: dict[int, int] = {}
    for g in F.hours_groups:
        used = sorted((ci for ci in g.chunks if x[F.u[ci]] > 1e-6), key=lambda ci: (-round(float(x[F.u[ci]]), 9), ci))
        rest = sorted((ci for ci in g.chunks if x[F.u[ci]] <= 1e-6), key=lambda ci: (-F.chunk_cap_u[ci], ci))
        kept = greedy.within_hours(g, used + rest)
        out.update((F.u[ci], int(ci in kept)) for ci in g.chunks)
    return out
