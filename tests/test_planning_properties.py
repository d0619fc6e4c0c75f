"""Property tests on many small random problems: every plan validates; CP-SAT >= greedy; CP-SAT == MIP."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planning_helpers import check_solvers_agree
from relay.planning import cpsat, greedy, synthetic
from relay.planning.formulation import build
from relay.planning.settings import PlanningSettings

FAST = PlanningSettings(time_limit_s=5, workers=2, gap_limit=0)  # optima compared exactly

instances = st.builds(
    lambda seed, no, na, days, tight, req, chunk, bias: synthetic.instance(
        seed, n_orbiters=no, n_assets=na, days=days, tight=tight, requirements=req, chunk_s=chunk,
        overlap_bias=bias),
    seed=st.integers(0, 10_000), no=st.integers(1, 3), na=st.integers(1, 3),
    days=st.sampled_from([0.5, 1.0, 1.5]), tight=st.booleans(), req=st.booleans(),
    chunk=st.sampled_from([0.0, 1800.0]), bias=st.sampled_from([0.0, 0.5, 0.9]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances)
def test_every_plan_validates_and_cpsat_dominates_greedy(P):
    check_solvers_agree(P, FAST)


@settings(max_examples=15, deadline=None)
@given(instances)
def test_greedy_hint_and_rerun_give_the_same_optimum(P):
    F = build(P)
    a = cpsat.solve(P, FAST, formulation=F)
    b = cpsat.solve(P, FAST, formulation=F, hint=greedy.greedy_values(F))
    if a.report.status == b.report.status == "OPTIMAL":
        assert a.report.objective_points == b.report.objective_points
    again = cpsat.solve(P, FAST, formulation=F)
    assert again.sessions == a.sessions and again.downlinks == a.downlinks
