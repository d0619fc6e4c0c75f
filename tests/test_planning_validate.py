"""The independent validator catches planted violations in an otherwise valid plan."""
from __future__ import annotations

import dataclasses

import pytest

from planning_helpers import T0, tiny
from relay.planning import cpsat
from relay.planning.plan import ONBOARD, Downlink, Plan, Session
from relay.planning.problem import Asset, ForwardRequirement
from relay.planning.settings import PlanningSettings
from relay.planning.validate import validate

FAST = PlanningSettings(time_limit_s=10)


@pytest.fixture(scope="module")
def base():
    P = tiny([("pA", "O", "A", 0, 600), ("pB", "O", "B", 300, 900), ("pC", "O", "A", 3000, 3600)],
             [("dl", "O", 1000, 2000, 2000.0), ("dl2", "O", 4000, 5000, 2000.0)], capacity_mbit=1000.0)
    plan = cpsat.solve(P, FAST)
    assert validate(P, plan) == []
    return P, plan


def checks(P, plan):
    return {v.check for v in validate(P, plan)}


def with_sessions(plan, sessions, downlinks=None):
    return Plan(sessions, plan.downlinks if downlinks is None else downlinks, [], plan.report, plan.figures)


def session_of(P, option_id, volume_mbit, **kw):
    x = P.option(option_id)
    return Session(x.option_id, x.pass_id, x.orbiter, x.asset, x.start_tdb_s, x.end_tdb_s, volume_mbit, x.kind,
                   **kw)


def test_overlap_on_orbiter_and_pass(base):
    P, plan = base
    s = [session_of(P, "pA#0", 100.0), session_of(P, "pB#0", 100.0)]
    got = checks(P, with_sessions(plan, s, []))
    assert "overlap_orbiter" in got


def test_two_sessions_of_one_pass(base):
    P, plan = base
    ids = [x.option_id for x in P.options if x.pass_id == "pA"]
    early = min(ids, key=lambda i: P.option(i).end_tdb_s)
    late = max(ids, key=lambda i: P.option(i).start_tdb_s)
    got = checks(P, with_sessions(plan, [session_of(P, early, 1.0), session_of(P, late, 1.0)], []))
    assert "one_session_per_pass" in got


def test_turnaround_too_short(base):
    P, plan = base
    a = session_of(P, "pA#0", 10.0)
    b = Session("pB#x", "pB", "O", "B", a.end_tdb_s + 30.0, a.end_tdb_s + 230.0, 10.0)
    got = checks(P, with_sessions(plan, [a, b], []))
    assert {"overlap_orbiter", "unknown_option"} <= got


def test_over_capacity(base):
    P, plan = base
    s = [dataclasses.replace(x, volume_mbit=x.volume_mbit + 50.0) if x.pass_id == "pC" else x for x in plan.sessions]
    assert "over_capacity" in checks(P, with_sessions(plan, s))


def test_store_overflow(base):
    P, plan = base
    # hold pA whole (600 Mbit) and pC whole (600 Mbit) with no downlinks: 1200 > 1000 Mbit store
    s = [session_of(P, "pA#0", 600.0), session_of(P, "pC#0", 600.0)]
    got = checks(P, with_sessions(plan, s, []))
    assert "store_overflow" in got


def test_downlink_before_arrival(base):
    P, plan = base
    # send pC's data (ends 3600 s) in the chunk starting at 1000 s
    s = [session_of(P, "pC#0", 500.0)]
    c = P.downlinks[0]
    d = [Downlink(c.chunk_id, c.window_id, c.orbiter, c.station, "A", c.start_tdb_s, c.end_tdb_s, 500.0)]
    got = checks(P, with_sessions(plan, s, d))
    assert "downlink_before_arrival" in got and "store_negative" in got


def test_downlink_over_capacity_and_unknown_owner(base):
    P, plan = base
    c = P.downlinks[1]
    d = [Downlink(c.chunk_id, c.window_id, c.orbiter, c.station, "Nobody", c.start_tdb_s, c.end_tdb_s, 3000.0)]
    got = checks(P, with_sessions(plan, [session_of(P, "pA#0", 600.0)], d))
    assert {"downlink_capacity", "downlink_owner"} <= got


def test_onboard_data_may_be_sent(base):
    P, plan = base
    P2 = dataclasses.replace(P, orbiters=(dataclasses.replace(P.orbiters[0], initial_fill_mbit=100.0),))
    c = P.downlinks[0]
    ok = [Downlink(c.chunk_id, c.window_id, c.orbiter, c.station, ONBOARD, c.start_tdb_s, c.end_tdb_s, 100.0)]
    assert validate(P2, Plan([], ok, [], {})) == []
    too_much = [dataclasses.replace(ok[0], volume_mbit=100.5)]
    assert "downlink_before_arrival" in checks(P2, Plan([], too_much, [], {}))


def test_fixed_session_moved(base):
    P, plan = base
    opts = tuple(dataclasses.replace(x, fixed=True) if x.option_id == "pC#0" else x for x in P.options)
    P2 = dataclasses.replace(P, options=opts)
    s = [x for x in plan.sessions if x.pass_id != "pC"]
    assert "fixed_session" in checks(P2, with_sessions(plan, s))
    moved = s + [dataclasses.replace(session_of(P2, "pC#0", 10.0), start_tdb_s=T0 + 3010.0)]
    assert {"fixed_session", "option_mismatch"} <= checks(P2, with_sessions(plan, moved))


def test_data_not_yet_produced(base):
    P, plan = base
    P2 = dataclasses.replace(P, assets=(Asset("A", backlog_mbit=100.0), Asset("B", backlog_mbit=1e6)))
    assert "data_available" in checks(P2, with_sessions(plan, [session_of(P, "pA#0", 200.0)], []))


def test_wake_window_caps_energy_duration(base):
    P, plan = base
    sols = ((0, T0, T0 + 88775.0),)
    A = Asset("A", backlog_mbit=1e6, wake_windows=((T0 + 2000, T0 + 9000),), sols=sols, max_sessions_per_sol=1,
              energy_wh_per_min=1.0, energy_wh_per_sol=5.0)
    P2 = dataclasses.replace(P, assets=(A, Asset("B", backlog_mbit=1e6)), min_session_s=700.0)
    s = [session_of(P, "pA#0", 1.0), session_of(P, "pC#0", 1.0)]
    got = checks(P2, with_sessions(plan, s, []))
    assert {"wake_window", "sessions_per_sol", "energy", "duration"} <= got


def test_summary_may_not_overclaim(base):
    P, plan = base
    lying = Plan(plan.sessions, plan.downlinks, [], plan.report,
                 plan.figures.replace(delivered_mbit=plan.delivered_mbit + 5))
    assert "summary" in checks(P, lying)


def test_unreported_forward_shortfall(base):
    P, plan = base
    P2 = dataclasses.replace(P, forward_requirements=(ForwardRequirement("A", 0, T0, T0 + 9000, 300.0, 1),))
    silent = Plan(plan.sessions, plan.downlinks, [], plan.report, plan.figures.replace(violations=()))
    assert "unreported_requirement" in checks(P2, silent)


def test_conjunction_forward(base):
    P, plan = base
    P2 = dataclasses.replace(P, conjunction=((T0, T0 + 10000),))
    fwd = dataclasses.replace(session_of(P, "pA#0", 1.0), kind="forward")
    assert "conjunction" in checks(P2, with_sessions(plan, [fwd], []))


def _decisional_met_by_scan(P, plan):
    """The reference: every requirement against every session, every arrival and every departure (the
    validator's first form, quadratic in the horizon)."""
    from relay.planning.validate import TOL_MBIT, TOL_S

    out = []
    for r in P.decisional_requirements:
        need = max(P.volume_unit_mbit, r.min_volume_mbit)
        ok = False
        for s in plan.sessions:
            if s.asset != r.asset or s.volume_mbit < need - TOL_MBIT or s.start_tdb_s < r.start_tdb_s - TOL_S \
                    or s.end_tdb_s > r.end_tdb_s + TOL_S or s.end_tdb_s >= r.deadline_tdb_s:
                continue
            arrived = sum(x.volume_mbit for x in plan.sessions
                          if x.orbiter == s.orbiter and x.asset == s.asset and x.end_tdb_s <= s.end_tdb_s + 1e-9)
            gone = sum(d.volume_mbit for d in plan.downlinks if d.orbiter == s.orbiter and d.asset == s.asset
                       and (d.start_tdb_s < s.end_tdb_s - 1e-9 or d.end_tdb_s <= r.deadline_tdb_s + 1e-9))
            if gone >= arrived - TOL_MBIT:
                ok = True
                break
        out.append(ok)
    return out


def test_decisional_met_is_the_scans():
    """relay.planning.validate.decisional_met (sessions indexed by asset and start, arrivals and
    departures by orbiter and asset) says what the scan of everything says, for any sessions,
    downlinks and requirements (windows, deadlines, volumes at and around the thresholds)."""
    from types import SimpleNamespace

    from hypothesis import given, settings, strategies as st

    from relay.planning.validate import decisional_met

    times = st.integers(0, 12).map(lambda k: k * 250.0)
    session = st.builds(lambda o, a, t, d, v: Session("x", "p", o, a, t, t + d, v), st.sampled_from(["O1", "O2"]),
                        st.sampled_from(["A", "B"]), times, st.sampled_from([250.0, 500.0]),
                        st.sampled_from([0.0, 5.0, 10.0, 20.0]))
    downlink = st.builds(lambda o, a, t, v: Downlink("c", "w", o, "S", a, t, t + 250.0, v),
                         st.sampled_from(["O1", "O2"]), st.sampled_from(["A", "B", ONBOARD]), times,
                         st.sampled_from([0.0, 5.0, 10.0, 20.0]))
    requirement = st.builds(lambda a, t, w, dl, m: SimpleNamespace(asset=a, start_tdb_s=t, end_tdb_s=t + w,
                                                                   deadline_tdb_s=t + w + dl, min_volume_mbit=m),
                            st.sampled_from(["A", "B", "C"]), times, st.sampled_from([250.0, 1000.0, 3000.0]),
                            st.sampled_from([0.0, 250.0, 2000.0]), st.sampled_from([0.0, 10.0]))

    @settings(max_examples=300, deadline=None)
    @given(st.lists(session, max_size=25), st.lists(downlink, max_size=25), st.lists(requirement, max_size=6))
    def check(sessions, downlinks, requirements):
        P = SimpleNamespace(decisional_requirements=requirements, volume_unit_mbit=1.0)
        plan = SimpleNamespace(sessions=sessions, downlinks=downlinks)
        assert decisional_met(P, plan) == _decisional_met_by_scan(P, plan)

    check()
