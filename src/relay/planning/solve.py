"""One entry point: greedy baseline, exact solve (CP-SAT or MIP), comparison, validation.

>>> plan = solve(problem, PlanningSettings(time_limit_s=10))      # doctest: +SKIP
>>> plan.report.status, plan.report.gain_vs_greedy_pct            # doctest: +SKIP
"""
from __future__ import annotations

import time

from ..summary import SolveReport
from . import cpsat, greedy, horizon, relaxation, windows
from .formulation import POINT_SCALE, build, relative_gap, settle_soft, to_plan
from .plan import Plan
from .problem import Problem
from .settings import PlanningSettings
from .validate import validate


def solve(problem: Problem, settings: PlanningSettings | None = None, *, validate_plan: bool = True) -> Plan:
    """Plan ``problem``: the greedy plan, then the exact solver of ``settings.solver`` (optionally
    hinted with the greedy), compared side by side in the summary and validated independently.

    Raises ``RuntimeError`` if the plan fails validation (a bug, never a user error).
    """
    s = settings or PlanningSettings()
    long = horizon.applies(problem, s)
    F = build(problem, coupling_rows=not long)  # a long horizon never gives the whole model to a solver
    g_vals = greedy.greedy_values(F)
    g_plan = to_plan(F, g_vals, SolveReport(solver="greedy", status="FEASIBLE"))
    # re-planning against a previous plan: the greedy, which takes the kept sessions first,
    # is that plan as far as it still fits, and is the solver's hint
    keeping = any(x.keep_points > 0 for x in problem.options)
    hint = g_vals if (s.greedy_hint or keeping) else None
    fallback, extra, lp, cut, wall, T = g_vals, {}, None, False, None, s.time_limit_s
    if long:
        return _finish(problem, F, g_plan, block_by_block(F, s, g_vals), validate_plan)
    if windows.applies(problem, s) or lp_first(F, s):
        # a long horizon (or a chosen Earth leg) for one deterministic thread: the LP relaxation's
        # certified bound and the plan it guides; on a long horizon the joined rolling-window plan
        # when the LP gives none (fixed shares of the time limit, so that the deterministic limits,
        # and so the plan, do not depend on the load)
        t0 = time.perf_counter()
        start, lp, extra, cut = long_horizon_start(F, s, joined=windows.applies(problem, s))
        if start is not None and F.objective_value(start) >= F.objective_value(g_vals):
            hint = fallback = settle_soft(F, start)
        if lp.bound is not None and relative_gap(F.objective_value(fallback), lp.bound) <= s.gap_limit:
            # proven within the gap limit by the LP's bound: no whole-horizon CP-SAT solve needed
            obj = F.objective_value(fallback)
            plan = to_plan(F, fallback, SolveReport(
                solver="cpsat", status="OPTIMAL", objective_points=obj / POINT_SCALE, bound=lp.bound / POINT_SCALE,
                gap=relative_gap(obj, lp.bound), bound_source=relaxation.SOURCE, reproducible=not cut,
                solve_time_s=round(time.perf_counter() - t0, 3), workers=1, deterministic=True, seed=s.seed,
                time_limit_s=s.time_limit_s, **extra))
            return _finish(problem, F, g_plan, plan, validate_plan)
        # the whole horizon: half the time limit in deterministic seconds (the clock only a safety net)
        wall = WALL_FACTOR * max(0.5 * T, 1.0)
        s = s.model_copy(update={"time_limit_s": max(0.5 * T, 1.0)})
    elif s.solver == "cpsat" and s.deterministic:
        return _finish(problem, F, g_plan, short_horizon(problem, F, s, hint, fallback), validate_plan)
    if s.solver == "cpsat":
        backend = cpsat
    else:
        from . import mip  # lazy: pywraplp, imported only when asked for (10 ms of every relay command)

        backend = mip
    plan = backend.solve(problem, s, hint=hint, formulation=F, fallback=fallback, wall_s=wall)
    fb_obj = F.objective_value(fallback)
    rep = plan.report
    if rep.status != "OPTIMAL" and rep.objective_points * POINT_SCALE < fb_obj - 0.5:
        # the solver stopped on a plan worse than its starting point: return the better one
        start = _start_name(extra) if fallback is not g_vals else "the greedy plan"
        rep = rep.replace(
            reproducible=False, gap=None if rep.bound is None else relative_gap(fb_obj, rep.bound * POINT_SCALE),
            note=f"{s.solver} stopped on a plan worse than its starting point: this is {start}, "
                 "with the solver's bound")
        plan = to_plan(F, fallback, rep)
    elif rep.note and fallback is not g_vals:
        plan.report = rep.replace(note=rep.note.replace("the greedy plan", _start_name(extra)))
    if lp is not None and lp.bound is not None:
        plan.report = with_lp_bound(plan.report, lp, s.gap_limit)
    plan.report = plan.report.replace(**extra, time_limit_s=T)
    if cut:
        plan.report = plan.report.replace(reproducible=False)
    return _finish(problem, F, g_plan, plan, validate_plan)


#: a long horizon's deterministic seconds per window solve and per block bound, as a share of the
#: time limit; the wall clock stops a step only at WALL_FACTOR times its share (a safety net, so
#: that on a loaded machine the plan and its bound are still the deterministic ones: at load 8 on
#: this 2-core machine CP-SAT did 0.9 deterministic seconds in 30 s of wall time)
BLOCK_SHARE = 1 / 6
WALL_FACTOR = 100.0
#: a long horizon's windows keep one block each and are solved 2/7 of a block (two days of a week)
#: further, where what they leave is sold at the decomposition bound's prices.  28 days of network-6
#: in 7-day windows: 0.024 % below the optimum with 2 days of overlap, 0.011 % with 3.5, 0.131 %
#: with none, 0.18 % with 2 and nothing priced; 60 days: 0.032 % from the bound with 2 days, 0.030 %
#: with 3.5 in 14 % more time
OVERLAP_BLOCKS = 2 / 7


def block_by_block(F, s: PlanningSettings, g_vals: list[int]) -> Plan:
    """A long horizon (:mod:`.horizon`), in a fixed order of deterministic steps: the decomposition
    bound of the whole horizon first (its blocks' LPs, the carries priced from what the greedy plan
    carries: valid whatever the prices), then windows of one block solved in sequence, each
    ``OVERLAP_BLOCKS`` of a block longer than it keeps and selling what it leaves at the bound's
    prices at its end (:func:`.windows.window_values`); if the plan is not within ``gap_limit`` of
    that bound, the bound once more with the carries priced from the plan's, the smaller kept.
    Every limit is deterministic, so the plan and whether it is proven do not depend on the
    machine's speed (unless a wall-clock safety net stops a step: then ``reproducible`` is false)."""
    t0 = time.perf_counter()
    P, det = F.problem, max(s.time_limit_s * BLOCK_SHARE, 1.0)
    b = horizon.decomposition_bound(P, s, det, WALL_FACTOR * det, carried=lambda t: horizon.carries_of(F, g_vals, t))
    n = len(windows.windows_of(P, s.block_days))
    w = windows.window_values(F, s, det * n, window_days=s.block_days, overlap_days=OVERLAP_BLOCKS * s.block_days,
                              wall_s=WALL_FACTOR * det, guided=True, prices=b.price_at)
    vals = w.values if F.objective_value(w.values) >= F.objective_value(g_vals) else g_vals
    vals = settle_soft(F, vals)
    obj = F.objective_value(vals)
    if relative_gap(obj, b.value) > s.gap_limit:
        # not proven: the bound again, priced from what the plan carries (often tighter; the smaller
        # of two valid bounds is valid)
        again = horizon.decomposition_bound(P, s, det, WALL_FACTOR * det,
                                            carried=lambda t: horizon.carries_of(F, vals, t))
        b = (again if again.value < b.value else b)._replace(
            time_s=round(b.time_s + again.time_s, 3), cut_by_time=b.cut_by_time or again.cut_by_time)
    note = None
    bound = b.value
    if bound < obj:  # cannot happen with a valid bound: say so rather than report a negative gap
        note, bound = "the decomposition bound was below the plan (please report this as a bug)", obj
    gap = relative_gap(obj, bound)
    return to_plan(F, vals, SolveReport(
        solver="cpsat", status="OPTIMAL" if gap <= s.gap_limit else "FEASIBLE", objective_points=obj / POINT_SCALE,
        bound=bound / POINT_SCALE, gap=gap, bound_source=horizon.source_text(b, s.block_days),
        reproducible=not (b.cut_by_time or w.cut_by_time),
        solve_time_s=round(time.perf_counter() - t0, 3), workers=1, deterministic=True, seed=s.seed,
        time_limit_s=s.time_limit_s, windows=w.windows, window_statuses=w.window_statuses,
        window_time_s=round(w.window_time_s + b.time_s, 3), window_objective=F.objective_value(w.values) / POINT_SCALE,
        note=note))


#: deterministic seconds of the first, whole-model CP-SAT solve of a short horizon (at most the time
#: limit): the baseline week is proven optimal in 0.01 of them, network-6's week in 0.6
FIRST_DET_S = 10.0


def short_horizon(problem: Problem, F, s: PlanningSettings, hint, fallback) -> Plan:
    """A horizon of at most 1.5 windows on one deterministic CP-SAT thread, in a fixed order that
    does not race the clock: CP-SAT on the whole model for ``FIRST_DET_S`` deterministic seconds
    (the wall clock, at WALL_FACTOR times that, only a safety net); if it does not prove its plan
    within ``gap_limit``, the LP relaxation (:mod:`.relaxation`, stopped by work) gives a certified
    bound and the plan it guides (CP-SAT on what the LP leaves fractional, a quarter of the time
    limit in deterministic seconds), and the better of the two plans is reported against the
    smaller bound.  Before, CP-SAT had the whole time limit on the clock too, so on a loaded
    machine network-6's week ended FEASIBLE 2.0 % from its bound, a plan a rerun would not give."""
    T = s.time_limit_s
    det = min(T, FIRST_DET_S)
    plan = cpsat.solve(problem, s.model_copy(update={"time_limit_s": det}), hint=hint, formulation=F,
                       fallback=fallback, wall_s=WALL_FACTOR * det)
    if plan.report.status == "OPTIMAL":
        plan.report = plan.report.replace(time_limit_s=T)
        return plan
    t0 = time.perf_counter()
    # the deterministic limit, not the clock, stopped CP-SAT unless its wall time reached the safety net
    cut_first = (plan.report.solve_time_s or 0.0) >= 0.99 * WALL_FACTOR * det
    start, lp, extra, cut = long_horizon_start(F, s, joined=False)
    obj = round(plan.report.objective_points * POINT_SCALE)
    if start is not None and F.objective_value(start) > obj:
        start = settle_soft(F, start)
        obj, b = F.objective_value(start), plan.report.bound
        plan = to_plan(F, start, plan.report.replace(
            status="FEASIBLE", objective_points=obj / POINT_SCALE, note=None,
            gap=None if b is None else relative_gap(obj, b * POINT_SCALE)))
    rep = plan.report.replace(solve_time_s=round((plan.report.solve_time_s or 0.0) + time.perf_counter() - t0, 3))
    if lp.bound is not None:
        rep = with_lp_bound(rep, lp, s.gap_limit)
    if rep.gap is not None and rep.gap <= s.gap_limit:
        rep = rep.replace(status="OPTIMAL")
    plan.report = rep.replace(**extra, time_limit_s=T, reproducible=not (cut or cut_first))
    return plan


def _start_name(extra: dict) -> str:
    if extra.get("guided_objective") is not None:
        return "the LP-guided plan"
    return "the rounded LP plan" if extra.get("lp_bound") is not None else "the joined rolling-window plan"


def _finish(problem: Problem, F, g_plan: Plan, plan: Plan, validate_plan: bool) -> Plan:
    """The greedy comparison, the independent validation and the formulation kept for explain."""
    g = g_plan.figures.delivered_mbit
    d = plan.figures.delivered_mbit
    plan.report = plan.report.replace(
        greedy_delivered_mbit=g, greedy_objective=g_plan.report.objective_points,
        gain_vs_greedy_pct=round(100.0 * (d - g) / g, 3) if g > 0 else None, excluded_options=len(F.excluded))
    if validate_plan:
        problems = validate(problem, plan)
        if problems:
            raise RuntimeError("the plan failed independent validation:\n" + "\n".join(map(str, problems)))
    plan.formulation = F  # the model of ``problem``, which relay.explain reuses instead of rebuilding it
    return plan


def with_lp_bound(rep: SolveReport, lp: relaxation.Relaxation, gap_limit: float) -> SolveReport:
    """``rep`` with the LP relaxation's bound where it is lower than the solver's own."""
    obj = round(rep.objective_points * POINT_SCALE)
    if lp.bound < obj - 0.5:  # cannot happen with a valid bound: keep the solver's, and say so
        return rep.replace(note=((rep.note + "; ") if rep.note else "") + "the LP bound was below the plan "
                           "and was not used (please report this as a bug)")
    if rep.bound is not None and rep.bound * POINT_SCALE <= lp.bound:
        return rep
    gap = relative_gap(obj, lp.bound)
    note = rep.note and rep.note.replace("CP-SAT's bound", "the LP relaxation's bound").replace(
        "the solver's bound", "the LP relaxation's bound")
    return rep.replace(bound=lp.bound / POINT_SCALE, gap=gap, bound_source=relaxation.SOURCE, note=note,
                       status="OPTIMAL" if gap <= gap_limit else rep.status)


def lp_first(F, s: PlanningSettings) -> bool:
    """Whether a horizon of any length starts from the LP-guided plan: one deterministic CP-SAT
    thread on a model that chooses the Earth leg (daily downlink-hours rows, issue 19).  There the
    LP relaxation is almost integral (the baseline week: 105 of 480 downlink pieces fractional, the
    guided plan 6e-6 from the LP bound in 0.6 s at load 2) while CP-SAT's own search took 6 s to
    leave a plan 1.4 % below it."""
    return bool(F.hours_groups) and s.solver == "cpsat" and s.deterministic


def long_horizon_start(F, s: PlanningSettings, joined: bool = True):
    """The starting plan of a long horizon and the LP relaxation: the
    LP-guided plan (:mod:`.relaxation`: the LP, then CP-SAT on the rest of the model in a quarter
    of the time limit in deterministic seconds), the rounded LP plan when that CP-SAT solve finds
    none, or, when the LP gives no bound, the joined rolling-window plan (``joined``) or None;
    the report's extra fields; and whether a wall-clock limit cut a step (then a rerun may differ).
    The LP's wall clock (WALL_FACTOR x half the time limit) and CP-SAT's (WALL_FACTOR x its
    deterministic share) are safety nets only: on a loaded machine the steps take longer, not
    other turns."""
    T = s.time_limit_s
    lp = relaxation.solve_lp(F, WALL_FACTOR * 0.5 * T)  # serial simplex: the clock only a safety net
    extra: dict = {"lp_status": lp.status, "lp_time_s": lp.time_s,
                   "lp_bound": None if lp.bound is None else lp.bound / POINT_SCALE}
    if lp.bound is None and not joined:
        return None, lp, extra, lp.cut_by_time
    if lp.bound is None:
        w = windows.window_values(F, s, 0.5 * T, wall_s=WALL_FACTOR * 0.5 * T)
        extra.update(windows=w.windows, window_statuses=w.window_statuses, window_time_s=w.window_time_s,
                     window_objective=F.objective_value(w.values) / POINT_SCALE)
        return w.values, lp, extra, lp.cut_by_time
    vals, status, found, by_wall = relaxation.guided_values(F, lp, s, 0.25 * T, WALL_FACTOR * 0.25 * T)
    extra["guided_status"] = status
    if found:
        extra["guided_objective"] = F.objective_value(vals) / POINT_SCALE
    return vals, lp, extra, lp.cut_by_time or by_wall
