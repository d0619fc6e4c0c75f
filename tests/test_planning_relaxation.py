"""The LP relaxation (relay.planning.relaxation) against independent references.

- its certified bound is never below the optimum CP-SAT proves (weak duality, on random
  instances with requirements, i.e. with big-M rows), and equals GLOP's LP optimum of the
  same model built through pywraplp (another LP solver, another model builder) up to the
  certificate's margin;
- the certificate holds for ANY row multipliers, not only the LP's duals;
- the big-M rows are hand-checked on a tiny enforced constraint;
- the LP-guided start fixes exactly the session options the LP leaves integral.
"""
import dataclasses
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relay.planning import cpsat, mip, relaxation, synthetic
from relay.planning.formulation import Enforced, Formulation, build
from relay.planning.settings import PlanningSettings

EXACT = PlanningSettings(time_limit_s=10, workers=2, deterministic=False, gap_limit=0)

instances = st.builds(
    lambda seed, no, na, days, tight, req: synthetic.instance(
        seed, n_orbiters=no, n_assets=na, days=days, tight=tight, requirements=req),
    seed=st.integers(0, 10_000), no=st.integers(1, 3), na=st.integers(1, 3),
    days=st.sampled_from([0.5, 1.0, 2.0]), tight=st.booleans(), req=st.booleans())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances)
def test_the_lp_bound_is_valid_and_equals_glop_on_the_same_model(P):
    F = build(P)
    lp = relaxation.solve_lp(F, 10.0)
    assert lp.status == "OPTIMAL"
    opt = cpsat.solve(P, EXACT, formulation=F)
    if opt.report.status == "OPTIMAL":
        assert opt.report.objective_points * 100 <= lp.bound + 1e-6
    solver, _ = mip.make_model(F, "GLOP")  # integrality is ignored by an LP solver
    assert solver.Solve() == solver.OPTIMAL
    glop = solver.Objective().Value()
    # the certificate adds 1 unit plus 1e-9 of its terms' magnitude and rounds down
    assert glop - 1e-6 * max(1.0, abs(glop)) <= lp.bound <= glop + 2 + 1e-6 * abs(glop)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10_000), st.floats(0.0, 1e4), st.integers(0, 2 ** 31))
def test_the_certificate_bounds_the_optimum_for_any_multipliers(seed, scale, ygen):
    P = synthetic.instance(seed % 50, n_orbiters=2, n_assets=2, days=0.5, requirements=True)
    F = build(P)
    R = relaxation.rows_of(F)
    y = np.random.default_rng(ygen).normal(0.0, scale, size=len(R.lo))
    opt = cpsat.solve(P, EXACT, formulation=F)
    assert opt.report.status == "OPTIMAL"
    assert relaxation.safe_bound(R, y) >= opt.report.objective_points * 100 - 1e-6


def test_big_m_row_by_hand():
    F = Formulation(problem=None, unit=0.1)
    x = F.new_var("x", 0, 10)
    z = F.new_var("z", 0, 4)
    lit = F.new_var("lit", 0, 1)
    e = Enforced(lit=lit, idx=[x, z], coef=[1, -1], lb=3)
    terms, lb = relaxation.big_m_row(F, e)
    # min(x - z) = -4, so M = 3 - (-4) = 7:  x - z - 7 lit >= -4
    assert terms == {x: 1, z: -1, lit: -7} and lb == -4
    assert relaxation.big_m_row(F, Enforced(lit=lit, idx=[x], coef=[1], lb=0)) is None  # always holds
    for xv in range(11):
        for zv in range(5):
            for lv in (0, 1):
                row = xv - zv - 7 * lv >= -4
                assert row == (lv == 0 or xv - zv >= 3)


@pytest.mark.parametrize("hours", [None, 1.0])
def test_the_guided_start_fixes_the_integral_session_choices_only(hours):
    # and, under a daily downlink-hours cap (issue 19), the integral choices of downlink pieces
    P = synthetic.instance(5, n_orbiters=2, n_assets=3, days=2.0, passes_per_pair_sol=1.5, chunk_s=1800.0)
    P = dataclasses.replace(P, orbiters=tuple(dataclasses.replace(o, downlink_hours_per_day=hours)
                                              for o in P.orbiters))
    F = build(P)
    assert bool(F.u) == (hours is not None)
    lp = relaxation.solve_lp(F, 10.0)
    fixed, hint = relaxation.guided_start(F, lp)
    options = set(F.b) | set(F.u.values())
    assert set(fixed) <= options and len(hint) == F.num_vars
    for i in options:
        integral = abs(lp.values[i] - round(lp.values[i])) <= 1e-6
        assert (i in fixed) == integral
        if integral:
            assert fixed[i] == round(lp.values[i])
    for i, v in hint.items():
        assert F.var_lb[i] <= v <= F.var_ub[i]
        if not F.is_bool(i):
            assert v == math.floor(lp.values[i] + 1e-6)


def test_a_time_limit_gives_no_bound():
    P = synthetic.instance(1, n_orbiters=5, n_assets=6, days=14, passes_per_pair_sol=1.5, tight=True)
    lp = relaxation.solve_lp(build(P), 1e-3)
    if lp.status == "OPTIMAL":
        pytest.skip("the LP finished within 1 ms on this machine")
    assert lp.bound is None and lp.values is None and lp.cut_by_time


def test_relay_solve_says_the_bound_is_the_lp_relaxations(tmp_path, capsys):
    """``relay solve`` of a 14-day instance on the default deterministic thread: the terminal
    summary and summary.json say where the bound came from."""
    import json

    from relay.cli import main

    P = synthetic.instance(2, n_orbiters=3, n_assets=3, days=14, passes_per_pair_sol=1.5)
    P.to_json(tmp_path / "p.json")
    assert main(["solve", str(tmp_path / "p.json"), "--out", str(tmp_path / "out")]) == 0
    text = capsys.readouterr().out
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["bound_source"] == relaxation.SOURCE and summary["lp_status"] == "OPTIMAL"
    assert "(LP relaxation)" in text.splitlines()[1] and summary["gap"] <= 1e-4


def test_prefix_sum_chains_become_running_totals_with_the_same_lp():
    """rows_of writes a chain of prefix-sum rows (Linear.chain) as running totals: one column per
    row, equal at the LP's solution to the row's sum and bounded by the row's bounds; the matrix
    is smaller and the LP bound the same as with every row written out (chains dropped).  A row
    not holding its chain's previous terms is summed from scratch (hand-built)."""
    P = synthetic.instance(11, n_orbiters=2, n_assets=2, days=2.0, tight=True, requirements=True)
    F = build(P)
    chained = relaxation.rows_of(F)
    plain_F = dataclasses.replace(F, linear=[dataclasses.replace(c, chain=None) for c in F.linear])
    plain = relaxation.rows_of(plain_F)
    assert any(c.chain for c in F.linear)
    assert len(chained.val) < len(plain.val) and len(chained.c) > F.num_vars
    a, b = relaxation.solve_lp(F, 10.0), relaxation.solve_lp(plain_F, 10.0)
    assert a.status == b.status == "OPTIMAL"
    assert abs(a.bound - b.bound) <= 2 + 1e-7 * abs(b.bound)
    x = a.values
    col = F.num_vars
    for c in F.linear:
        if c.chain is not None:
            total = sum(k * x[i] for i, k in zip(c.idx, c.coef))
            assert x[col] == pytest.approx(total, abs=1e-5 * (1 + abs(total)))
            assert c.lb - 1e-6 <= x[col] <= c.ub + 1e-6
            col += 1
    # by hand: x0 + x1 <= 1, then x0 + x2 <= 1 (not a superset: summed from scratch), then x0 + x1 + x2
    G = Formulation(problem=P, unit=1.0)
    for _ in range(3):
        G.new_var("x", 0, 1)
    G.add({0: 1, 1: 1}, ub=1, chain=("k",))
    G.add({0: 1, 2: 1}, ub=1, chain=("k",))
    G.add({0: 1, 1: 1, 2: 1}, ub=2, chain=("k",))
    R = relaxation.rows_of(G)
    rows = {}
    for r, cidx, v in zip(R.row, R.col, R.val):
        rows.setdefault(int(r), {})[int(cidx)] = v
    assert rows == {0: {0: 1, 1: 1, 3: -1}, 1: {0: 1, 2: 1, 4: -1}, 2: {1: 1, 4: 1, 5: -1}}
    # the rows' upper bounds; below, what the terms can reach (0) widened by a margin, so that no
    # column rests on a bound that depends on the variables' bounds
    assert list(R.xu[3:]) == [1.0, 1.0, 2.0]
    assert list(R.xl[3:]) == pytest.approx([-(1 + 2e-6), -(1 + 2e-6), -(1 + 3e-6)], abs=1e-12)
