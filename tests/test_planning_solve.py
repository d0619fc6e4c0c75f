"""Hand-checked tiny planning instances with known optima (CP-SAT, MIP, greedy, validator)."""
from __future__ import annotations

import dataclasses
import filecmp

import pytest

from planning_helpers import T0, linear_volume, tiny
from relay.planning import cpsat, greedy, mip
from relay.planning.plan import Plan
from relay.planning.problem import (Asset, DecisionalRequirement, ForwardRequirement, Objective,
                                    SessionOption)
from relay.planning.settings import PlanningSettings
from relay.planning.solve import solve
from relay.planning.validate import validate

FAST = PlanningSettings(time_limit_s=10, workers=2, gap_limit=0)  # optima compared exactly


def both(problem):
    plans = [cpsat.solve(problem, FAST), mip.solve(problem, FAST)]
    for p in plans:
        assert p.report.status == "OPTIMAL"
        assert validate(problem, p) == []
    return plans


def test_split_beats_whole_on_overlapping_passes():
    # one orbiter, two assets seen at once for 300 s; 1 Mbit/s throughout
    P = tiny([("pA", "O", "A", 0, 600), ("pB", "O", "B", 300, 900)], [("dl", "O", 1000, 5000, 1e5)])
    for plan in both(P):
        # whole passes: 600 Mbit; best split: 900 s minus the 60 s turnaround = 840 Mbit
        assert plan.delivered_mbit == pytest.approx(840.0)
        assert sorted(s.asset for s in plan.sessions) == ["A", "B"]
        a, b = sorted(plan.sessions, key=lambda s: s.start_tdb_s)
        assert b.start_tdb_s - a.end_tdb_s == pytest.approx(60.0)
    g = greedy.solve(P)
    assert validate(P, g) == []
    assert g.delivered_mbit <= 840.0 + 1e-9


def test_whole_passes_only_gives_one_pass():
    P = tiny([("pA", "O", "A", 0, 600), ("pB", "O", "B", 300, 900)], [("dl", "O", 1000, 5000, 1e5)])
    whole = [x for x in P.options if x.option_id.endswith("#0")]
    P = dataclasses.replace(P, options=tuple(whole))
    for plan in both(P):
        assert plan.delivered_mbit == pytest.approx(600.0)
        assert len(plan.sessions) == 1


def test_storage_bound():
    # a 300 Mbit session, a 100 Mbit store, a big downlink afterwards: only 100 Mbit get through
    P = tiny([("p", "O", "A", 0, 300)], [("dl", "O", 1000, 5000, 1e5)], capacity_mbit=100.0)
    for plan in both(P):
        assert plan.delivered_mbit == pytest.approx(100.0)
        assert plan.sessions[0].volume_mbit == pytest.approx(100.0)
    assert greedy.solve(P).delivered_mbit == pytest.approx(100.0)


def test_storage_refills_between_downlinks():
    # store 100; sessions 300 + 300 Mbit; downlink of 100 between them and 1000 after
    P = tiny([("p1", "O", "A", 0, 300), ("p2", "O", "A", 2000, 2300)],
             [("dl1", "O", 1000, 1500, 100.0), ("dl2", "O", 3000, 5000, 1000.0)], capacity_mbit=100.0)
    for plan in both(P):
        assert plan.delivered_mbit == pytest.approx(200.0)


def test_no_downlink_before_arrival():
    # the chunk starts at 500 s, before the session ends (600 s): it cannot send that data
    P = tiny([("p", "O", "A", 0, 600)], [("dl", "O", 500, 3000, 1e5)],
             objective=Objective(end_store_discount=0.5, latency_per_mbit_day=0, elevation_per_session=0))
    for plan in both(P):
        assert plan.delivered_mbit == 0.0
        assert plan.figures.onboard_end_mbit == pytest.approx(600.0)
    # a chunk starting exactly at the session end may send it
    P2 = tiny([("p", "O", "A", 0, 600)], [("dl", "O", 600, 3000, 1e5)])
    for plan in both(P2):
        assert plan.delivered_mbit == pytest.approx(600.0)


def test_data_availability_limits_volume():
    # backlog 50 Mbit, 100 Mbit more produced at 5000 s; sessions at 0-300 s and 6000-6300 s
    a = Asset("A", backlog_mbit=50.0, generation=((T0 + 5000.0, 100.0),))
    P = tiny([("p1", "O", "A", 0, 300), ("p2", "O", "A", 6000, 6300)], [("dl", "O", 7000, 9000, 1e5)],
             assets=(a,))
    for plan in both(P):
        vols = [s.volume_mbit for s in plan.sessions]
        assert sum(vols) == pytest.approx(150.0)
        first = [s for s in plan.sessions if s.pass_id == "p1"]
        assert not first or first[0].volume_mbit <= 50.0 + 1e-9


def test_priority_weight_decides_which_asset():
    a = (Asset("A", priority_weight=1.0, backlog_mbit=1e6), Asset("B", priority_weight=3.0, backlog_mbit=1e6))
    P = tiny([("pA", "O", "A", 0, 600), ("pB", "O", "B", 0, 600)], [("dl", "O", 1000, 5000, 500.0)],
             assets=a)
    for plan in both(P):
        assert plan.figures.delivered_by_asset["B"] == pytest.approx(500.0)


def test_infeasible_forward_requirement_is_reported_not_fatal():
    # two forward sessions wanted in the sol, only one overflight
    req = ForwardRequirement("A", 7, T0, T0 + 20000, 300.0, count=2)
    P = tiny([("p", "O", "A", 0, 600)], [("dl", "O", 1000, 5000, 1e5)], forward_assets={"A"},
             forward_requirements=(req,))
    for plan in both(P):
        fwd = [v for v in plan.figures.violations if v.requirement == "forward_link"]
        assert len(fwd) == 1 and fwd[0].asset == "A" and fwd[0].sol == 7
        assert "1 of 2" in fwd[0].detail
        assert [s.kind for s in plan.sessions] == ["forward"]
    assert validate(P, greedy.solve(P)) == []


def test_conjunction_forbids_forward_sessions_and_says_so():
    req = ForwardRequirement("A", 1, T0, T0 + 20000, 300.0, count=1)
    P = tiny([("p", "O", "A", 0, 600)], [("dl", "O", 1000, 5000, 1e5)], forward_assets={"A"},
             forward_requirements=(req,), conjunction=((T0, T0 + 20000),))
    plan = solve(P, FAST)
    assert plan.figures.conjunction is True
    assert all(s.kind == "return" for s in plan.sessions)
    assert plan.delivered_mbit == pytest.approx(600.0)
    (v,) = [v for v in plan.figures.violations if v.requirement == "forward_link"]
    assert "conjunction" in v.detail


def test_fixed_session_is_kept_even_if_worse():
    P = tiny([("pA", "O", "A", 0, 600), ("pB", "O", "B", 300, 900)], [("dl", "O", 1000, 5000, 1e5)])
    opts = [dataclasses.replace(x, fixed=True) if x.option_id == "pB#0" else x for x in P.options]
    P = dataclasses.replace(P, options=tuple(opts))
    for plan in both(P) + [greedy.solve(P)]:
        ids = [s.option_id for s in plan.sessions]
        assert "pB#0" in ids
        assert validate(P, plan) == []


def test_decisional_data_counted_when_downlinked_by_deadline():
    # session in the window 0-1000 s; a downlink 2000-3000 s before the 4000 s deadline
    dec = DecisionalRequirement("A", 3, T0, T0 + 1000, T0 + 4000)
    P = tiny([("p", "O", "A", 0, 600)], [("dl", "O", 2000, 3000, 1e5)], decisional_requirements=(dec,))
    for plan in both(P):
        assert plan.figures.decisional_sols_met == {"A": 1}
    # deadline before the downlink: not met, reported
    late = dataclasses.replace(dec, deadline_tdb_s=T0 + 2500)
    P2 = dataclasses.replace(P, decisional_requirements=(late,))
    for plan in both(P2):
        assert plan.figures.decisional_sols_met == {"A": 0}
        assert any(v.requirement == "decisional" and v.sol == 3 for v in plan.figures.violations)


def test_decisional_fifo_earlier_data_goes_first():
    # 500 Mbit relayed earlier on the same orbiter leave first; the downlink before the deadline
    # carries 550 Mbit and the decisional session 200 Mbit: meeting the deadline costs 150 Mbit
    dec = DecisionalRequirement("A", 1, T0 + 5000, T0 + 6000, T0 + 9000)
    P = tiny([("p1", "O", "A", 0, 500), ("p2", "O", "A", 5000, 5200)],
             [("dl", "O", 7000, 8000, 550.0), ("dl2", "O", 10000, 12000, 1e5)], decisional_requirements=(dec,))
    for plan in both(P):  # delivered first (default weights): 700 Mbit, the sol is missed
        assert plan.delivered_mbit == pytest.approx(700.0)
        assert plan.figures.decisional_sols_met == {"A": 0}
    keen = Objective(decisional_per_sol=1e6, latency_per_mbit_day=0, elevation_per_session=0)
    for plan in both(dataclasses.replace(P, objective=keen)):  # a sol worth 1000 Mbit: hold p1 back
        vol = {s.pass_id: s.volume_mbit for s in plan.sessions}
        assert plan.figures.decisional_sols_met == {"A": 1}
        assert vol["p2"] >= 0.1 and vol.get("p1", 0.0) + vol["p2"] <= 550.0 + 1e-6
        assert plan.delivered_mbit == pytest.approx(550.0)


def test_rerun_writes_identical_files(tmp_path):
    from relay.planning import synthetic

    P = synthetic.instance(3, n_orbiters=2, n_assets=2, days=1.0, requirements=True)
    a = solve(P, FAST)
    b = solve(P, FAST)
    a.save(tmp_path / "a")
    b.save(tmp_path / "b")
    for name in ("schedule.csv", "downlinks.csv", "store.csv"):
        assert filecmp.cmp(tmp_path / "a" / name, tmp_path / "b" / name, shallow=False), name


def test_plan_save_load_round_trip(tmp_path):
    P = tiny([("pA", "O", "A", 0, 600), ("pB", "O", "B", 300, 900)], [("dl", "O", 1000, 5000, 1e5)])
    plan = solve(P, FAST)
    files = plan.save(tmp_path)
    assert sorted(f.name for f in files) == ["downlinks.csv", "schedule.csv", "store.csv", "summary.json"]
    back = Plan.load(tmp_path)
    assert [s.option_id for s in back.sessions] == [s.option_id for s in plan.sessions]
    assert back.delivered_mbit == pytest.approx(plan.delivered_mbit)
    assert validate(P, back) == []
    header = (tmp_path / "schedule.csv").read_text().splitlines()[0]
    assert header.startswith("orbiter,asset,start,end,duration_s,volume_mbit,kind,pass_id")
    assert "Z," in (tmp_path / "schedule.csv").read_text().splitlines()[1]


def test_solve_summary_has_comparison_and_bound():
    from relay.planning import synthetic

    P = synthetic.instance(1, days=1.0)
    plan = solve(P, FAST)
    r, f = plan.report, plan.figures
    assert r.status == "OPTIMAL" and r.gap == 0.0 and r.bound == pytest.approx(r.objective_points)
    assert f.delivered_mbit >= r.greedy_delivered_mbit - 1e-6 or r.objective_points >= r.greedy_objective
    assert r.objective_points >= r.greedy_objective - 1e-6


def test_unknown_option_kind_excluded_outside_wake_window():
    # the asset sleeps during the pass: no session
    a = Asset("A", backlog_mbit=1e6, wake_windows=((T0 + 5000, T0 + 9000),))
    P = tiny([("p", "O", "A", 0, 600), ("q", "O", "A", 6000, 6600)], [("dl", "O", 7000, 9000, 1e5)], assets=(a,))
    for plan in both(P):
        assert [s.pass_id for s in plan.sessions] == ["q"]


def test_sessions_per_sol_and_energy_caps():
    sols = ((1, T0, T0 + 88775.0),)
    a = Asset("A", backlog_mbit=1e6, sols=sols, max_sessions_per_sol=1)
    P = tiny([("p", "O", "A", 0, 600), ("q", "O", "A", 6000, 6300)], [("dl", "O", 7000, 9000, 1e5)], assets=(a,))
    for plan in both(P):
        assert len(plan.sessions) == 1 and plan.sessions[0].pass_id == "p"
    # energy: 1 Wh per minute, 6 Wh per sol -> at most a 6-minute session, so only q (5 min)
    a2 = Asset("A", backlog_mbit=1e6, sols=sols, energy_wh_per_min=1.0, energy_wh_per_sol=6.0)
    P2 = dataclasses.replace(P, assets=(a2,))
    for plan in both(P2):
        assert sum(s.duration_s for s in plan.sessions) <= 360.0 + 1e-6
        assert plan.delivered_mbit == pytest.approx(360.0 - 0.0, abs=1e-6) or plan.delivered_mbit <= 360.0


def test_manual_option_volume_unit_rounds_down():
    P = tiny([("p", "O", "A", 0, 600)], [("dl", "O", 1000, 5000, 1e5)])
    opts = [SessionOption("x", "p", "O", "A", T0, T0 + 600, 123.456)]
    P = dataclasses.replace(P, options=tuple(opts))
    for plan in both(P):
        assert plan.delivered_mbit == pytest.approx(123.4)  # 0.1 Mbit unit, rounded down


def test_linear_volume_helper():
    assert linear_volume(2.0, 10.0)("p", 0.0, 100.0) == pytest.approx(180.0)


def test_no_solution_in_the_time_limit_falls_back_to_the_greedy_plan():
    """A time limit too short for CP-SAT to find anything: the greedy plan, said so, still valid."""
    from relay.planning import synthetic
    from relay.planning.validate import validate as check

    P = synthetic.instance(1, n_orbiters=5, n_assets=6, days=14, passes_per_pair_sol=1.5, tight=True)
    plan = solve(P, PlanningSettings(time_limit_s=0.001, window_days=0))
    r = plan.report
    if r.note is None:
        pytest.skip("CP-SAT found a plan even in 1 ms on this machine")
    assert r.status == "FEASIBLE" and "greedy" in r.note
    assert plan.figures.delivered_mbit == r.greedy_delivered_mbit
    assert r.gap is None or r.gap >= 0
    assert check(P, plan) == []


def test_long_horizon_is_proven_by_the_lp_bound_and_reruns_identically():
    """14 days of 3 orbiters x 3 assets on one deterministic thread: the LP relaxation's certified
    bound proves the LP-guided plan within the gap limit (no whole-horizon solve, no windows);
    the bound is not below the optimum that racing CP-SAT workers prove, and a rerun gives the
    same plan byte for byte."""
    from relay.planning import relaxation, synthetic
    from relay.planning.validate import validate as check

    P = synthetic.instance(2, n_orbiters=3, n_assets=3, days=14, passes_per_pair_sol=1.5)
    a = solve(P, PlanningSettings(time_limit_s=20))
    r = a.report
    assert r.lp_status == "OPTIMAL" and r.bound_source == relaxation.SOURCE and r.windows is None
    assert r.status == "OPTIMAL" and r.gap <= 1e-4 and r.bound == r.lp_bound >= r.objective_points
    assert r.objective_points >= r.greedy_objective - 1e-6 and r.reproducible
    assert check(P, a) == []
    exact = solve(P, PlanningSettings(time_limit_s=60, deterministic=False, workers=2, gap_limit=0))
    if exact.report.status == "OPTIMAL":
        assert exact.report.objective_points <= r.lp_bound + 1e-6
        assert r.objective_points >= (1 - 1e-4) * exact.report.objective_points
    b = solve(P, PlanningSettings(time_limit_s=20))
    assert [(s.option_id, s.volume_mbit) for s in a.sessions] == [(s.option_id, s.volume_mbit) for s in b.sessions]
    assert a.downlinks == b.downlinks


def test_long_horizon_without_an_lp_falls_back_to_the_joined_window_plan(monkeypatch):
    """When the LP gives no bound in its share of the time (here: made to stop at once), the
    deterministic solve plans 7-day windows, joins them and solves the whole horizon from there:
    valid, never below the greedy or the windows, the same plan on a rerun."""
    from relay.planning import relaxation, synthetic
    from relay.planning.validate import validate as check

    monkeypatch.setattr(relaxation, "solve_lp", lambda F, limit: relaxation.Relaxation(status="ITERATION_LIMIT"))
    P = synthetic.instance(2, n_orbiters=3, n_assets=3, days=14, passes_per_pair_sol=1.5)
    a = solve(P, PlanningSettings(time_limit_s=20))
    assert a.report.windows == 2 and a.report.lp_status == "ITERATION_LIMIT" and a.report.bound_source == "cpsat"
    assert a.report.objective_points >= a.report.greedy_objective - 1e-6
    assert a.report.objective_points >= a.report.window_objective - 1e-6
    assert check(P, a) == []
    b = solve(P, PlanningSettings(time_limit_s=20))
    assert [(s.option_id, s.volume_mbit) for s in a.sessions] == [(s.option_id, s.volume_mbit) for s in b.sessions]


def test_long_horizon_starts_from_the_rounded_lp_plan_when_the_guided_solve_finds_none(monkeypatch):
    """The LP-guided CP-SAT solve made to find nothing: the rounded LP plan (LP choices taken as
    far as they fit, greedy fill) starts the whole-horizon solve; the better of the LP's and
    CP-SAT's bounds is reported; the plan is valid and never below the rounded plan or the greedy."""
    from relay.planning import cpsat, relaxation, synthetic
    from relay.planning.formulation import build
    from relay.planning.validate import validate as check

    monkeypatch.setattr(cpsat, "solve_fixed", lambda *a, **k: (None, "UNKNOWN", False))
    P = synthetic.instance(2, n_orbiters=3, n_assets=3, days=14, passes_per_pair_sol=1.5)
    F = build(P)
    lp = relaxation.solve_lp(F, 20)
    rounded = relaxation.rounded_values(F, lp)
    assert F.objective_value(rounded) >= F.objective_value(greedy.greedy_values(F))
    plan = solve(P, PlanningSettings(time_limit_s=20))
    r = plan.report
    assert r.guided_status == "UNKNOWN" and r.guided_objective is None and r.windows is None
    assert r.lp_bound == lp.bound / 100 and r.bound <= r.lp_bound  # the better of CP-SAT's and the LP's
    assert r.bound_source == (relaxation.SOURCE if r.bound == r.lp_bound else "cpsat")
    assert r.objective_points * 100 >= F.objective_value(rounded) - 1e-6
    assert r.gap == pytest.approx((r.bound - r.objective_points) / r.bound, abs=1e-9)
    assert check(P, plan) == []


def test_a_solver_cut_short_never_returns_less_than_the_greedy():
    """SCIP stopped after 1 s on a large instance returns a worse plan than the greedy; the
    greedy plan comes back instead, with the solver's bound and a note."""
    from relay.planning import synthetic

    P = synthetic.instance(1, n_orbiters=5, n_assets=6, days=14, passes_per_pair_sol=1.5, tight=True)
    plan = solve(P, PlanningSettings(time_limit_s=1, solver="mip"))
    r = plan.report
    assert r.objective_points >= r.greedy_objective - 1e-6
    if r.status != "OPTIMAL":
        assert plan.figures.delivered_mbit >= r.greedy_delivered_mbit - 1e-6 or r.note is None


def test_a_short_horizon_not_proven_by_cpsat_in_its_deterministic_share_takes_the_lp_path(monkeypatch):
    """A week on one deterministic thread: CP-SAT on the whole model first, for a deterministic
    share (here made too small to prove anything); then the LP relaxation's certified bound and the
    plan it guides, the better plan against the smaller bound; no step cut by the clock, so the
    plan is reproducible and a rerun gives it again."""
    from relay.planning import relaxation, synthetic
    from relay.planning import solve as solve_module
    from relay.planning.formulation import build
    from relay.planning.validate import validate as check

    P = synthetic.instance(4, n_orbiters=3, n_assets=3, days=7, passes_per_pair_sol=1.5)
    s = PlanningSettings(time_limit_s=20)
    assert solve(P, s).report.status == "OPTIMAL"  # the whole-model CP-SAT proves this week
    monkeypatch.setattr(solve_module, "FIRST_DET_S", 0.001)
    monkeypatch.setattr(solve_module, "WALL_FACTOR", 10_000.0)  # the clock's safety net stays far above
    a, b = solve(P, s), solve(P, s)
    r = a.report
    lp = relaxation.solve_lp(build(P), 60)
    assert r.lp_status == "OPTIMAL" and r.lp_bound == lp.bound / 100 and r.reproducible
    assert r.bound <= r.lp_bound and r.bound >= r.objective_points >= r.greedy_objective - 1e-6
    assert r.gap == pytest.approx((r.bound - r.objective_points) / r.bound, abs=1e-9)
    assert (r.status == "OPTIMAL") == (r.gap <= s.gap_limit)
    assert check(P, a) == []
    assert [(x.option_id, x.volume_mbit) for x in a.sessions] == [(x.option_id, x.volume_mbit) for x in b.sessions]
