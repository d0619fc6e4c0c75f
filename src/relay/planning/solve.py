"""One entry point: greedy baseline, exact solve (CP-SAT or MIP), comparison, validation.

>>> plan = solve(problem, PlanningSettings(time_limit_s=10))      # doctest: +SKIP
>>> plan.report.status, plan.report.gain_vs_greedy_pct            # doctest: +SKIP
"""
from __future__ import annotations

from ..summary import SolveReport
from . import cpsat, greedy, mip, windows
from .formulation import POINT_SCALE, build, relative_gap, to_plan
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
    F = build(problem)
    g_vals = greedy.greedy_values(F)
    g_plan = to_plan(F, g_vals, SolveReport(solver="greedy", status="FEASIBLE"))
    # re-planning against a previous plan: the greedy, which takes the kept sessions first,
    # is that plan as far as it still fits, and is the solver's hint
    keeping = any(x.keep_points > 0 for x in problem.options)
    hint = g_vals if (s.greedy_hint or keeping) else None
    fallback, extra = g_vals, {}
    if windows.applies(problem, s):
        # a long horizon for one deterministic thread: start from the joined rolling-window plan
        # half the time limit to the windows, half to the whole horizon (fixed shares, so that the
        # deterministic time limits, and so the plan, do not depend on the machine's load)
        w = windows.window_values(F, s, 0.5 * s.time_limit_s)
        w_vals = w.values
        extra = {"windows": w.windows, "window_statuses": w.window_statuses, "window_time_s": w.window_time_s,
                 "window_objective": F.objective_value(w_vals) / POINT_SCALE}
        if F.objective_value(w_vals) >= F.objective_value(g_vals):
            hint = fallback = w_vals
        s = s.model_copy(update={"time_limit_s": max(0.5 * s.time_limit_s, 1.0)})
    backend = cpsat if s.solver == "cpsat" else mip
    plan = backend.solve(problem, s, hint=hint, formulation=F, fallback=fallback)
    fb_obj = F.objective_value(fallback)
    rep = plan.report
    if rep.status != "OPTIMAL" and rep.objective_points * POINT_SCALE < fb_obj - 0.5:
        # the solver stopped on a plan worse than its starting point: return the better one
        start = "the joined rolling-window plan" if fallback is not g_vals else "the greedy plan"
        rep = rep.replace(
            reproducible=False, gap=None if rep.bound is None else relative_gap(fb_obj, rep.bound * POINT_SCALE),
            note=f"{s.solver} stopped on a plan worse than its starting point: this is {start}, "
                 "with the solver's bound")
        plan = to_plan(F, fallback, rep)
    elif rep.note and fallback is not g_vals:
        plan.report = rep.replace(note=rep.note.replace("the greedy plan", "the joined rolling-window plan"))
    g = g_plan.figures.delivered_mbit
    d = plan.figures.delivered_mbit
    plan.report = plan.report.replace(
        **extra, greedy_delivered_mbit=g, greedy_objective=g_plan.report.objective_points,
        gain_vs_greedy_pct=round(100.0 * (d - g) / g, 3) if g > 0 else None, excluded_options=len(F.excluded))
    if validate_plan:
        problems = validate(problem, plan)
        if problems:
            raise RuntimeError("the plan failed independent validation:\n" + "\n".join(map(str, problems)))
    plan.formulation = F  # the model of ``problem``, which relay.explain reuses instead of rebuilding it
    return plan
