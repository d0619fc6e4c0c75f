"""Small hand-built planning problems for the planning tests."""
from __future__ import annotations

from relay.planning.options import session_options
from relay.planning.problem import Asset, DownlinkChunk, Objective, Orbiter, PassWindow, Problem

T0 = 1.0e9  # horizon start, TDB s


def linear_volume(rate_mbit_s: float = 1.0, hailing_s: float = 0.0):
    """volume(pass_id, t0, t1) = rate x (t1 - t0 - hailing): the same rate over every pass."""
    def volume(pass_id, t0, t1):
        return max(0.0, rate_mbit_s * (t1 - t0 - hailing_s))
    return volume


def tiny(passes, downlinks, *, capacity_mbit=1e6, backlog_mbit=1e6, objective=None, volume=None,
         assets=None, horizon_s=20000.0, **kw) -> Problem:
    """A problem from ``passes`` [(pass_id, orbiter, asset, rise_rel_s, set_rel_s)] and
    ``downlinks`` [(chunk_id, orbiter, start_rel_s, end_rel_s, capacity_mbit)] (times relative to T0)."""
    pw = [PassWindow(p, o, a, T0 + r, T0 + s) for p, o, a, r, s in passes]
    opts = session_options(pw, volume or linear_volume(), min_session_s=kw.pop("min_session_s", 120.0),
                           turnaround_s=kw.get("turnaround_s", 60.0), forward_assets=kw.pop("forward_assets", ()))
    orbs = sorted({p.orbiter for p in pw} | {d[1] for d in downlinks})
    names = sorted({p.asset for p in pw})
    return Problem(
        start_tdb_s=T0, end_tdb_s=T0 + horizon_s,
        orbiters=tuple(Orbiter(o, capacity_mbit=capacity_mbit) for o in orbs),
        assets=tuple(assets or (Asset(a, backlog_mbit=backlog_mbit) for a in names)),
        passes=tuple(pw), options=tuple(kw.pop("options", opts)),
        downlinks=tuple(DownlinkChunk(c, c, o, "DSS-63", T0 + s, T0 + e, cap) for c, o, s, e, cap in downlinks),
        objective=objective or Objective(latency_per_mbit_day=0.0, elevation_per_session=0.0),
        **kw)


def check_solvers_agree(P, settings):
    """The property the planner's tests share: the greedy, CP-SAT and MIP plans of ``P`` all pass
    the independent validator, CP-SAT is at least the greedy and below its own bound, and when both
    prove optimality CP-SAT and MIP agree within one objective unit (0.01 point, counted in units:
    SCIP's tolerances on the big-M rows once landed exactly one unit off, 1556300.17 against .18).
    Returns (formulation, greedy plan, CP-SAT plan, MIP plan)."""
    from relay.planning import cpsat, greedy, mip
    from relay.planning.formulation import build
    from relay.planning.validate import validate

    F = build(P)
    g = greedy.solve(P, formulation=F)
    assert validate(P, g) == [], "greedy"
    c = cpsat.solve(P, settings, formulation=F)
    assert validate(P, c) == [], "cpsat"
    assert c.report.objective_points >= g.report.objective_points - 1e-9
    assert c.report.bound >= c.report.objective_points - 1e-9
    m = mip.solve(P, settings, formulation=F)
    assert validate(P, m) == [], "mip"
    if c.report.status == "OPTIMAL" and m.report.status == "OPTIMAL":
        assert abs(round(m.report.objective_points * 100) - round(c.report.objective_points * 100)) <= 1
    return F, g, c, m
