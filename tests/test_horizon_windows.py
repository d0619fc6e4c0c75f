"""The windows of a long horizon (relay.planning.windows, issue 23).

- a window holds the sessions planned in the sol before it, so every session it plans can be
  taken into the joined plan (exclusivity, one session per pass, per-sol caps and energy are the
  whole model's), on random instances with tight per-sol caps;
- what a window leaves at its end is sold at the given prices: its LP values data aboard and
  data left at an asset as priced (hand-checked coefficients);
- the joined plan's fill at a time is what its sessions brought aboard less what its
  as-soon-as-possible downlinks sent (checked against the greedy's own store simulation).
"""
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relay.planning import greedy, synthetic, windows
from relay.planning.formulation import DAY_S, build
from relay.planning.settings import PlanningSettings

S = PlanningSettings(gap_limit=0)


def before(F, t0):
    """A state holding the greedy plan's sessions that start before ``t0``."""
    full = greedy.FeasibilityState(F)
    greedy.greedy_values_by(F, "value", full)
    state = greedy.FeasibilityState(F)
    for i, x in enumerate(F.options):
        if full.taken[i] and x.start_tdb_s < t0:
            state.take(i, full.vol[i])
    return state


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10_000), st.integers(1, 3))
def test_every_session_a_window_plans_fits_after_the_sessions_held_before_it(seed, n_assets):
    P = synthetic.instance(seed, n_orbiters=2, n_assets=n_assets, days=3.0, requirements=True)
    F = build(P, coupling_rows=False)
    t0 = P.start_tdb_s + 1.3 * DAY_S
    state = before(F, t0)
    held = windows.held_before(F, state, t0)
    assert {h.option_id for h in held} == {x.option_id for i, x in enumerate(F.options) if state.taken[i]
                                           and t0 - windows.HELD_S <= x.start_tdb_s < t0}
    assert all(h.fixed and h.capacity_mbit == 0 and h.keep_points == 0 for h in held)
    sub = windows.sub_problem(P, t0, P.end_tdb_s, {o.name: 0.0 for o in P.orbiters}, {}, whole_end=True, held=held)
    plan = windows.window_plan(sub, S, 5.0, 500.0, True)
    index = {x.option_id: i for i, x in enumerate(F.options)}
    for ses in plan.sessions:
        if ses.start_tdb_s >= t0 - 1e-6:
            assert state.can_take(index[ses.option_id]), ses.option_id
            state.take(index[ses.option_id], 0)  # the next one must fit with this one held too


def test_a_window_sells_what_it_leaves_at_the_prices():
    P = synthetic.instance(3, n_orbiters=2, n_assets=2, days=1.0)
    Fs = build(P)
    before_obj = dict(Fs.objective)
    o, a = P.orbiters[0].name, P.assets[0].name
    windows.price_end(Fs, {("store", o): 70, ("data", a): 30})
    for i, x in enumerate(Fs.options):
        want = before_obj.get(Fs.v[i], 0) + (70 if x.orbiter == o else 0) - (30 if x.asset == a else 0)
        assert Fs.objective.get(Fs.v[i], 0) == want
        assert Fs.objective.get(Fs.b[i], 0) == before_obj.get(Fs.b[i], 0)
    for (ci, f), var in Fs.d.items():
        assert Fs.objective.get(var, 0) == before_obj.get(var, 0) - (70 if Fs.chunks[ci].orbiter == o else 0)


def test_the_joined_fill_is_what_arrived_less_what_the_asap_downlinks_sent():
    P = synthetic.instance(5, n_orbiters=2, n_assets=2, days=2.0, tight=True)
    F = build(P, coupling_rows=False)
    state = before(F, P.end_tdb_s + 1)
    for t in (P.start_tdb_s + 0.5 * DAY_S, P.start_tdb_s + 1.2 * DAY_S):
        fill = windows.fill_at(F, state, t)
        for o in P.orbiters:
            arrived = sum(state.vol[i] for i in state.held_by_orb.get(o.name, []) if F.options[i].end_tdb_s <= t)
            sim = state.simulate(o.name).sent.items() if state.held_by_orb.get(o.name) else []
            sent = sum(u for (ci, _), u in sim if F.chunks[ci].start_tdb_s < t)
            assert math.isclose(fill[o.name], (F.onboard_u[o.name] + arrived - sent) * F.unit)
            assert fill[o.name] <= o.capacity_mbit + 1e-6
