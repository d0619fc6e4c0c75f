"""The model's constraint families, each on its own (relay.planning.formulation).

Each test builds a tiny problem, a formulation holding only the option
variables (``base``) plus the family under test (and what it needs), solves it
with CP-SAT, and shows the family binds: with it the optimum is what the rule
allows, without it the optimum is larger.  Objective here: 500 points per Mbit
relayed (delivered_per_mbit 1000 x end_store_discount 0.5), 500 more per Mbit
downlinked; 1 Mbit/s over every pass.
"""
from __future__ import annotations

import dataclasses

from ortools.sat.python import cp_model

from planning_helpers import T0, tiny
from relay.planning import cpsat
from relay.planning import formulation as fm
from relay.planning.problem import Asset, DecisionalRequirement, ForwardRequirement

RELAYED = 500.0  # points per Mbit relayed (and kept aboard)


def optimum(F) -> tuple[float, list[int]]:
    m, xs = cpsat.make_model(F)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    status = solver.Solve(m)
    assert status == cp_model.OPTIMAL
    return solver.ObjectiveValue() / fm.POINT_SCALE, [solver.Value(x) for x in xs]


def held(F, vals) -> list[str]:
    return [x.option_id for i, x in enumerate(F.options) if vals[F.b[i]]]


def relay_only(P):
    """Options, their variables and the relayed-volume points (no downlinks in P)."""
    F = fm.base(P)
    fm.add_downlinks(F)
    return F


def test_exclusivity_and_turnaround():
    # two passes of one orbiter 30 s apart: closer than the 60 s turnaround
    P = tiny([("pA", "O", "A", 0, 600), ("pB", "O", "B", 630, 1200)], [])
    F = relay_only(P)
    assert optimum(F)[0] == (600 + 570) * RELAYED
    fm.add_exclusivity(F)
    fm.finish_exclusivity(F)
    obj, vals = optimum(F)
    assert obj == 600 * RELAYED and held(F, vals) == ["pA#0"]


def test_split_pass_choice():
    # two overlapping passes of one orbiter: each has a whole and split options
    P = tiny([("pA", "O", "A", 0, 600), ("pB", "O", "B", 300, 900)], [])
    F = relay_only(P)
    free = optimum(F)[0]
    fm.add_split_pass_choice(F)
    fm.finish_exclusivity(F)
    obj, vals = optimum(F)
    assert obj == 1200 * RELAYED < free
    assert sorted(held(F, vals)) == ["pA#0", "pB#0"]  # one option per pass: the whole ones


def _three_passes(**asset):
    return tiny([("p1", "O", "A", 0, 600), ("p2", "O", "A", 3000, 3600), ("p3", "O", "A", 6000, 6600)], [],
                assets=(Asset("A", backlog_mbit=1e6, sols=((0, T0, T0 + 88775.0),), **asset),))


def test_sol_caps():
    P = _three_passes(max_sessions_per_sol=2)
    F = relay_only(P)
    assert optimum(F)[0] == 1800 * RELAYED
    fm.add_sol_caps_and_energy(F)
    assert optimum(F)[0] == 1200 * RELAYED


def test_wake_windows_leave_options_out():
    P = _three_passes(wake_windows=((T0 + 2000.0, T0 + 7000.0),))
    F = relay_only(P)
    assert [x.option_id for x in F.options] == ["p2#0", "p3#0"]
    assert F.excluded == [("p1#0", "outside the asset's wake windows")]
    assert optimum(F)[0] == 1200 * RELAYED


def test_energy():
    # 1 Wh a minute, 25 Wh a sol: two 10-minute sessions, not three
    P = _three_passes(energy_wh_per_min=1.0, energy_wh_per_sol=25.0)
    F = relay_only(P)
    fm.add_sol_caps_and_energy(F)
    assert [g.budget for g in F.energy_groups] == [25000]
    assert optimum(F)[0] == 1200 * RELAYED


def test_data_availability():
    P = tiny([("p1", "O", "A", 0, 600), ("p2", "O", "A", 3000, 3600)], [],
             assets=(Asset("A", backlog_mbit=100.0, generation=((T0 + 2000.0, 50.0),)),))
    F = relay_only(P)
    assert optimum(F)[0] == 1200 * RELAYED
    fm.add_data_availability(F)
    obj, vals = optimum(F)
    assert obj == 150 * RELAYED
    assert vals[F.v[0]] <= 1000  # by p1's end only the backlog exists (units of 0.1 Mbit)


def test_store_flow():
    # a 300 Mbit store, a 600 Mbit pass, a later 2000 Mbit downlink
    P = tiny([("p1", "O", "A", 0, 600)], [("dl", "O", 1000, 2000, 2000.0)], capacity_mbit=300.0)
    F = fm.base(P)
    fm.add_downlinks(F)
    loose = optimum(F)[0]
    assert loose == 600 * RELAYED + 2000 * RELAYED  # downlinks data that never came aboard
    fm.add_store_flow(F)
    obj, vals = optimum(F)
    assert obj == 300 * RELAYED * 2 and vals[F.v[0]] == 3000


def test_downlinks_capacity_and_shortest_downlink():
    P = tiny([("p1", "O", "A", 0, 600)], [("dl", "O", 1000, 2000, 100.0), ("sliver", "O", 2100, 2105, 500.0)],
             min_downlink_s=10.0)
    F = fm.base(P)
    fm.add_downlinks(F)
    fm.add_store_flow(F)
    assert [c.chunk_id for c in F.chunks] == ["dl"]
    obj, vals = optimum(F)
    assert obj == 600 * RELAYED + 100 * RELAYED
    assert sum(vals[v] for (ci, _), v in F.d.items()) == 1000


def test_forward_link():
    P = tiny([("p1", "O", "A", 0, 600)], [], forward_assets={"A"})
    req = ForwardRequirement("A", 0, T0, T0 + 1000.0, 300.0, 1)
    F = relay_only(dataclasses.replace(P, forward_requirements=(req,)))
    fm.add_split_pass_choice(F)
    fm.finish_exclusivity(F)
    fm.add_forward_link(F)
    obj, vals = optimum(F)
    assert obj == 600 * RELAYED and held(F, vals) == ["p1#0f"] and vals[F.short[0]] == 0
    # a window no forward option fits: the shortfall costs the penalty
    late = dataclasses.replace(req, start_tdb_s=T0 + 5000.0, end_tdb_s=T0 + 9000.0)
    F = relay_only(dataclasses.replace(P, forward_requirements=(late,)))
    fm.add_split_pass_choice(F)
    fm.finish_exclusivity(F)
    fm.add_forward_link(F)
    obj, vals = optimum(F)
    assert obj == 600 * RELAYED - P.objective.forward_shortfall_penalty and vals[F.short[0]] == 1


def _decisional(deadline_rel_s):
    P = tiny([("p1", "O", "A", 0, 600)], [("dl", "O", 1000, 2000, 5000.0)])
    req = DecisionalRequirement("A", 0, T0, T0 + 700.0, T0 + deadline_rel_s, 10.0)
    F = fm.base(dataclasses.replace(P, decisional_requirements=(req,)))
    fm.add_downlinks(F)
    fm.add_store_flow(F)
    fm.add_decisional(F)
    return F


def test_decisional_data():
    # the session's data is on Earth at the chunk's end (2000 s): met by a 2500 s deadline only
    on_time, late = optimum(_decisional(2500.0)), optimum(_decisional(1500.0))
    assert on_time[0] - late[0] == 100.0  # decisional_per_sol
    F = _decisional(2500.0)
    assert on_time[1][F.met[0]] == 1


def test_fixed_sessions():
    # pA#4 (120 Mbit, a piece of pA beside pB) committed: pB can then not be whole
    P = tiny([("pA", "O", "A", 0, 600), ("pB", "O", "B", 300, 900)], [])
    P = dataclasses.replace(P, options=tuple(dataclasses.replace(x, fixed=x.option_id == "pA#4") for x in P.options))

    def model(fixed: bool):
        F = relay_only(P)
        if fixed:
            fm.add_fixed_sessions(F)
        fm.add_split_pass_choice(F)
        fm.add_exclusivity(F)
        fm.finish_exclusivity(F)
        return F

    free, _ = optimum(model(False))
    F = model(True)
    obj, vals = optimum(F)
    assert "pA#4" in held(F, vals) and obj < free
    assert obj == (120 + 240) * RELAYED  # pA#4 then pB#4 (660-900 s)


def test_daily_downlink_hours():
    # issue 19: two 1000 Mbit chunks in one UTC day, 1000 s of station time a day: one is used
    P = tiny([("p1", "O", "A", 0, 1800)], [("dl1", "O", 2000, 3000, 1000.0), ("dl2", "O", 4000, 5000, 1000.0)])
    P = dataclasses.replace(P, orbiters=tuple(dataclasses.replace(o, downlink_hours_per_day=1000.0 / 3600.0)
                                              for o in P.orbiters))
    F = fm.base(P)
    fm.add_downlinks(F)
    fm.add_store_flow(F)
    assert optimum(F)[0] == 1800 * RELAYED + 1800 * RELAYED
    fm.add_daily_downlink_hours(F)
    obj, vals = optimum(F)
    assert obj == 1800 * RELAYED + 1000 * RELAYED
    assert sum(vals[u] for u in F.u.values()) == 1
