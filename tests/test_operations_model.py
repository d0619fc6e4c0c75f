"""Operational inputs in the model (issue 11): outages, vetoes, relay requests.

Small hand-built instances (tests/planning_helpers.tiny: 1 Mbit/s links unless said) whose
right answer is worked out by hand: an outage removes exactly the options it overlaps or cuts
them to their largest usable part, a required request changes the plan (or is reported with
its reason when no plan can meet it), a preferred one earns its points, a veto removes a
session and the plan re-optimises, and each kind of bad input is an input error naming its
file and row.  Every plan is checked by the independent validator.
"""
from __future__ import annotations

import json

import pandas as pd
import pytest

from planning_helpers import T0, tiny
from relay.errors import RelayInputError
from relay.explain import REASONS, Explainer
from relay.inputs import read_forbid, read_outages, read_requests, read_sessions_table
from relay.operations import Operations, Outage, Request, Veto, merge
from relay.planning.apply import apply
from relay.planning.requests import request_status
from relay.planning.problem import Asset, Problem
from relay.planning.settings import PlanningSettings
from relay.planning.solve import solve
from relay.planning.validate import validate, weighted_sum
from relay.sols import SolClock
from relay.timescales import SOL_S, lmst_hours, local_sol, tdb_s_to_iso


def iso(rel_s: float) -> str:
    return tdb_s_to_iso(T0 + rel_s)


def squared(pass_id, t0, t1):
    """A link whose volume grows with the square of the session length (not pro rata)."""
    return (t1 - t0) ** 2 / 600.0


def planned(P: Problem):
    plan = solve(P, PlanningSettings())
    assert validate(P, plan) == []
    return plan


def held(plan) -> list[str]:
    return sorted(s.option_id for s in plan.sessions)


# -- outages ------------------------------------------------------------------------------------

def outage_problem(volume=None) -> Problem:
    return tiny([("pA", "O1", "A", 0, 600), ("pB", "O1", "B", 2000, 2600), ("pC", "O2", "A", 3000, 3600)],
                [("dl1", "O1", 1000, 2000, 2000.0), ("dl2", "O2", 4000, 5000, 2000.0)], horizon_s=6000.0,
                volume=volume)


OUTAGES = Operations(outages=(
    Outage("O1", "uhf", T0 + 400, T0 + 700),            # pA keeps [0, 400)
    Outage("B", "uhf", T0 + 2100, T0 + 2500),            # pB keeps two 100 s parts: below min_session_s
    Outage("DSS-63", "xband", T0 + 1500, T0 + 1800),     # dl1 keeps [1000, 1500)
    Outage("O2", "xband", T0 + 4000, T0 + 4500),         # dl2 keeps [4500, 5000)
))


def test_an_outage_removes_exactly_the_overlapped_options_or_cuts_them():
    P = outage_problem(volume=squared)
    Q = apply(P, OUTAGES, volume=squared)
    got = {x.option_id: (x.start_tdb_s - T0, x.end_tdb_s - T0, round(x.capacity_mbit, 6)) for x in Q.options}
    # the link model gives the part's volume: 400^2 / 600 (not the pro rata 400)
    assert got == {"pA#0": (0.0, 400.0, round(400.0 ** 2 / 600.0, 6)), "pC#0": (0.0 + 3000, 3600.0, 600.0)}
    assert Q.option("pC#0") == P.option("pC#0")          # not overlapped: untouched
    chunks = {c.chunk_id: (c.start_tdb_s - T0, c.end_tdb_s - T0, c.capacity_mbit) for c in Q.downlinks}
    assert chunks == {"dl1": (1000.0, 1500.0, 1000.0), "dl2": (4500.0, 5000.0, 1000.0)}   # pro rata
    assert [o.kind for o in Q.outages] == ["orbiter", "asset", "station", "orbiter"]
    plan = planned(Q)
    assert held(plan) == ["pA#0", "pC#0"]
    assert {d.chunk_id for d in plan.downlinks} <= {"dl1", "dl2"}
    assert all(d.start_tdb_s >= T0 + 1000 - 1e-6 and d.end_tdb_s <= T0 + 1500 + 1e-6
               for d in plan.downlinks if d.chunk_id == "dl1")


def test_without_the_link_model_a_cut_option_keeps_its_capacity_pro_rata():
    Q = apply(outage_problem(volume=squared), OUTAGES)
    assert Q.option("pA#0").capacity_mbit == pytest.approx(600.0 * 400.0 / 600.0)


def test_an_outage_that_leaves_too_little_volume_removes_the_option():
    P = outage_problem()
    P = Problem.from_dict({**P.to_dict(), "assets": [dict(a.__dict__, min_session_mbit=450.0) for a in P.assets]})
    Q = apply(P, Operations(outages=(Outage("O1", "uhf", T0 + 400, T0 + 700),)), volume=lambda p, a, b: b - a)
    assert "pA#0" not in {x.option_id for x in Q.options}   # 400 s carry 400 Mbit < 450


def test_the_model_excludes_options_of_an_edited_problem_json_under_an_outage():
    """The instance alone (an outage added to problem.json, options left in) plans by the same rule."""
    P = outage_problem()
    d = json.loads(json.dumps(P.to_dict()))
    d["outages"] = [{"target": "O1", "kind": "orbiter", "what": "all", "start_tdb_s": T0 + 500,
                     "end_tdb_s": T0 + 1200}]
    Q = Problem.from_dict(d)
    plan = planned(Q)
    assert "pA#0" not in held(plan) and not any(x.chunk_id == "dl1" for x in plan.downlinks)


# -- requests -----------------------------------------------------------------------------------

def choice_problem(**kw) -> Problem:
    """One orbiter over A and B at once: B is worth twice as much, so the plan serves B."""
    return tiny([("pA", "O1", "A", 0, 600), ("pB", "O1", "B", 0, 600)], [("dl1", "O1", 1000, 2000, 5000.0)],
                horizon_s=6000.0, assets=(Asset("A", backlog_mbit=1e6), Asset("B", priority_weight=2.0,
                                                                               backlog_mbit=1e6)), **kw)


def test_a_required_request_is_met_and_changes_the_plan():
    P = choice_problem()
    base = planned(P)
    assert held(base) == ["pB#0"]
    Q = apply(P, Operations(requests=(Request("drive-1", "A", "return", T0, T0 + 700, "required", min_mbit=500.0),)))
    plan = planned(Q)
    assert held(plan) == ["pA#0"] and plan.sessions[0].volume_mbit >= 500.0
    assert not [v for v in plan.figures.violations if v.requirement == "request"]
    status = request_status(Q, plan.sessions)
    assert status[0]["met"] and status[0]["sessions"] == "pA#0"


def test_a_required_request_no_plan_can_meet_is_reported_with_its_reason():
    P = choice_problem()
    ops = Operations(forbid=(Veto(pass_id="pA", note="radio check"),),
                     requests=(Request("drive-2", "A", "return", T0, T0 + 700, "required"),))
    Q = apply(P, ops)
    plan = planned(Q)
    assert held(plan) == ["pB#0"]
    unmet = [v for v in plan.figures.violations if v.requirement == "request"]
    assert len(unmet) == 1 and "drive-2" in unmet[0].detail and unmet[0].asset == "A"
    reason = Explainer(Q, plan).requirement(unmet[0])
    assert reason.code == "vetoed" and "pA" in reason.detail and reason.code in REASONS
    # the validator's weighted sum counts the shortfall at the documented penalty
    assert weighted_sum(Q, plan) == pytest.approx(weighted_sum(P, plan) - Q.objective.forward_shortfall_penalty)


def test_a_request_needing_more_than_any_pass_carries_is_reported():
    Q = apply(choice_problem(), Operations(requests=(Request("big", "A", "return", T0, T0 + 700, "required",
                                                             min_mbit=5000.0),)))
    plan = planned(Q)
    assert held(plan) == ["pB#0"]
    assert [v.detail.split()[2] for v in plan.figures.violations if v.requirement == "request"] == ["big"]


@pytest.mark.parametrize("points, expect", [(1e6, "pA#0"), (1e5, "pB#0")])
def test_a_preferred_request_earns_its_points(points, expect):
    # serving A instead of B loses 600 Mbit x 1000 points x (2 - 1) = 600,000 points
    P = choice_problem()
    Q = apply(P, Operations(requests=(Request("nice", "A", "return", T0, T0 + 700, "preferred", points=points,
                                                              min_mbit=550.0),)))
    plan = planned(Q)
    assert held(plan) == [expect]
    earned = points if expect == "pA#0" else 0.0
    assert plan.figures.weighted_sum_points == pytest.approx(weighted_sum(P, plan) + earned, abs=0.01)
    assert not [v for v in plan.figures.violations if v.requirement == "request"]


def test_a_forward_request_gets_forward_options_and_is_met_by_a_forward_session():
    P = choice_problem()
    assert all(x.kind == "return" for x in P.options)
    Q = apply(P, Operations(requests=(Request("cmd", "A", "forward", T0, T0 + 700, "required",
                                              min_duration_s=300.0),)))
    twins = {x.option_id + "f" for x in P.options if x.asset == "A" and x.duration_s >= 300.0}
    assert "pA#0f" in twins
    assert {x.option_id for x in Q.options if x.kind == "forward"} == twins
    plan = planned(Q)
    fwd = [s for s in plan.sessions if s.asset == "A"]
    assert len(fwd) == 1 and fwd[0].kind == "forward" and fwd[0].end_tdb_s - fwd[0].start_tdb_s >= 300.0
    assert not [v for v in plan.figures.violations if v.requirement == "request"]


# -- vetoes -------------------------------------------------------------------------------------

@pytest.mark.parametrize("veto", [Veto(pass_id="pB"), Veto(orbiter="O1", asset="B", start_tdb_s=T0 - 10,
                                                             end_tdb_s=T0 + 610),
                                  Veto(asset="B", start_tdb_s=T0 + 20, end_tdb_s=T0 + 580)])
def test_a_veto_removes_the_session_and_the_plan_reoptimises(veto):
    P = choice_problem()
    Q = apply(P, Operations(forbid=(veto,)))
    assert not [x for x in Q.options if x.asset == "B"]   # the parts left are below min_session_s
    plan = planned(Q)
    assert held(plan) == ["pA#0"]   # the orbiter is free: A gets the overflight


def test_a_veto_over_part_of_a_pass_cuts_the_session():
    Q = apply(choice_problem(), Operations(forbid=(Veto(orbiter="O1", start_tdb_s=T0 + 100, end_tdb_s=T0 + 200),)))
    assert {(x.option_id, x.start_tdb_s - T0, x.end_tdb_s - T0) for x in Q.options if x.option_id.endswith("#0")} \
        == {("pA#0", 200.0, 600.0), ("pB#0", 200.0, 600.0)}
    plan = planned(Q)
    assert all(s.start_tdb_s >= T0 + 200 or s.end_tdb_s <= T0 + 100 for s in plan.sessions)


# -- problem.json -------------------------------------------------------------------------------

def test_problem_json_keeps_the_operations_and_old_files_load():
    Q = apply(outage_problem(), merge(OUTAGES, Operations(
        forbid=(Veto(pass_id="pC"),), requests=(Request("r", "A", "return", T0, T0 + 900, "preferred", points=5.0),))))
    again = Problem.from_dict(json.loads(Q.to_json_text()))
    assert again == Q and len(again.outages) == 4 and again.forbid[0].pass_id == "pC"
    old = json.loads(outage_problem().to_json_text())
    for key in ("outages", "forbid", "requests"):
        old.pop(key)
    assert Problem.from_dict(old).requests == ()


def test_a_request_by_sol_and_lmst_window_uses_the_assets_clock():
    clock = SolClock(137.4417, sol_offset=-52000)
    df = pd.DataFrame({"id": ["q"], "asset": ["A"], "sol": ["1234"], "lmst_window": ["13:00-15:30"]})
    (r,) = read_requests(df, assets={"A": clock})
    assert int(local_sol(r.start_tdb_s, 137.4417)) + clock.sol_offset == 1234
    assert float(lmst_hours(r.start_tdb_s, 137.4417)) == pytest.approx(13.0, abs=1e-6)
    assert (r.end_tdb_s - r.start_tdb_s) == pytest.approx(2.5 / 24.0 * SOL_S)


# -- bad input: one error naming the file and the row ---------------------------------------------

def write(path, text: str):
    path.write_text(text)
    return path


NAMES = {"orbiters": ["O1", "O2"], "stations": ["DSS-63"], "assets": ["A", "B"]}


@pytest.mark.parametrize("rows, what", [
    ("MRX,all,{a},{b}", "'MRX'"),                        # an unknown target
    ("O1,uhf,{b},{a}", "is not after start"),            # end before start
    ("A,xband,{a},{b}", "no X-band"),                   # an asset has no X-band
    ("O1,sideways,{a},{b}", "'sideways'"),               # what
])
def test_a_bad_outage_row_is_named(tmp_path, rows, what):
    f = write(tmp_path / "outages.csv", "target,what,start,end\nO2,all,{a},{b}\n".format(a=iso(0), b=iso(60))
              + rows.format(a=iso(100), b=iso(200)) + "\n")
    with pytest.raises(RelayInputError) as exc:
        read_outages(f, **NAMES)
    assert exc.value.source == str(f) and exc.value.where.startswith("line 3") and what in str(exc.value)


def test_an_outage_outside_the_horizon_is_named(tmp_path):
    f = write(tmp_path / "outages.csv", f"target,what,start,end\nO1,all,{iso(0)},{iso(60)}\n"
                                        f"O1,all,{iso(7000)},{iso(8000)}\n")
    ops = Operations(outages=read_outages(f, **NAMES))
    with pytest.raises(RelayInputError, match="outside the horizon") as exc:
        apply(outage_problem(), ops)
    assert exc.value.source == str(f) and exc.value.where == "line 3"


def test_a_required_request_that_contradicts_a_veto_is_named(tmp_path):
    fb = write(tmp_path / "forbid.csv", f"orbiter,asset,start,end,pass_id,note\n,A,{iso(-10)},{iso(800)},,drive\n")
    fr = write(tmp_path / "requests.csv", "id,asset,kind,start,end,priority\n"
                                          f"ok,B,return,{iso(0)},{iso(700)},required\n"
                                          f"drive,A,return,{iso(0)},{iso(700)},required\n")
    ops = Operations(forbid=read_forbid(fb, orbiters=NAMES["orbiters"], assets=NAMES["assets"]),
                     requests=read_requests(fr, assets=NAMES["assets"], orbiters=NAMES["orbiters"]))
    with pytest.raises(RelayInputError, match="lies wholly in the span vetoed") as exc:
        apply(choice_problem(), ops)
    assert exc.value.source == str(fr) and exc.value.where == "line 3"
    # the same request, preferred, is no contradiction (it is simply not met)
    pref = Operations(forbid=ops.forbid, requests=tuple(Request(r.id, r.asset, r.kind, r.start_tdb_s, r.end_tdb_s,
                                                                "preferred", points=1.0) for r in ops.requests))
    assert held(planned(apply(choice_problem(), pref))) == ["pB#0"]


def test_an_outage_over_a_locked_session_is_named(tmp_path):
    locks = read_sessions_table(pd.DataFrame({"orbiter": ["O1"], "asset": ["B"], "start": [iso(0)],
                                              "end": [iso(600)]}), orbiters=["O1"], assets=["A", "B"])
    f = write(tmp_path / "outages.csv", f"target,what,start,end\nB,uhf,{iso(500)},{iso(900)}\n")
    ops = Operations(outages=read_outages(f, **NAMES), locks=locks)
    with pytest.raises(RelayInputError, match="locked session") as exc:
        apply(choice_problem(), ops)
    assert exc.value.source == str(f) and exc.value.where == "line 2"
    # without the outage the lock is kept exactly
    plan = planned(apply(choice_problem(), Operations(locks=locks)))
    assert [(s.option_id, s.fixed) for s in plan.sessions] == [("pB#fixed", True)]


def read_request_file(f):
    return read_requests(f, assets={"A": SolClock(0.0), "B": SolClock(0.0)}, orbiters=["O1"])


def read_forbid_file(f):
    return read_forbid(f, orbiters=["O1"], assets=["A"])


@pytest.mark.parametrize("reader, text, what, where", [
    (read_request_file, "id,asset,start,end\nq,Zhurong,{a},{b}\n", "Zhurong", "line 2"),
    (read_request_file, "id,asset,start,end\nq,A,{b},{a}\n", "is not after start", "line 2"),
    (read_request_file, "id,asset,sol,lmst_window\nq,A,12,25:00-26:00\n", "lmst_window", "line 2, column lmst_window"),
    (read_request_file, "id,asset,start,end\nq,A,{a},{b}\nq,B,{a},{b}\n", "used twice", "line 3"),
    (read_forbid_file, "orbiter,asset,start,end\n,,{a},{b}\n", "needs an orbiter", "line 2"),
    (read_forbid_file, "orbiter,asset,start,end\nO1,,{a},\n", "needs both start and end", "line 2"),
    (read_forbid_file, "orbiter,asset,start,end\nO9,,{a},{b}\n", "'O9'", "line 2"),
])
def test_a_bad_request_or_veto_row_is_named(tmp_path, reader, text, what, where):
    f = write(tmp_path / "input.csv", text.format(a=iso(0), b=iso(100)))
    with pytest.raises(RelayInputError) as exc:
        reader(f)
    assert exc.value.source == str(f) and exc.value.where == where and what in str(exc.value)


def test_an_unknown_pass_id_in_a_veto_is_named():
    with pytest.raises(RelayInputError, match="P99999") as exc:
        apply(choice_problem(), Operations(forbid=read_forbid(pd.DataFrame({"pass_id": ["P99999"]}))))
    assert exc.value.where == "row 1"


# -- through the pipeline -----------------------------------------------------------------------

START = "2026-11-23T00:00:00Z"


@pytest.mark.xdist_group("baseline-day")
def test_relay_plan_takes_outages_vetoes_and_requests_from_files_and_the_scenario(tmp_path):
    import pathlib

    import relay

    base = relay.plan("configs/baseline.yaml", START, 1.0)
    long = base.sessions.sort_values("volume_mbit").iloc[-1]   # the richest session: 80 % of it still counts
    cut_at = float(long.start_tdb_s) + 0.8 * float(long.duration_s)
    other = base.sessions[(base.sessions["pass_id"] != long.pass_id)
                          & (base.sessions["orbiter"] != long.orbiter)].iloc[0]
    pass_set = next(p.set_tdb_s for p in base.problem.passes if p.pass_id == long.pass_id)
    outages = write(tmp_path / "outages.csv", "target,what,start,end,note\n"
                    f"{long.orbiter},uhf,{tdb_s_to_iso(cut_at)},{tdb_s_to_iso(pass_set + 60)},safe mode\n")
    baseline = pathlib.Path("configs/baseline.yaml").resolve()
    scenario = write(tmp_path / "ops.yaml", f"extends: {baseline}\nname: ops\n"
                     f"forbid:\n  - {{pass_id: {other.pass_id}, note: by hand}}\n"
                     "requests:\n  - {id: look, asset: Perseverance, start: '2026-11-23T06:00:00Z', "
                     "end: '2026-11-23T18:00:00Z', priority: preferred, points: 10}\n")
    r = relay.plan(str(scenario), START, 1.0, outages=outages)
    P = r.problem
    assert [o.target for o in P.outages] == [long.orbiter] and P.forbid[0].pass_id == other.pass_id
    assert [q.id for q in P.requests] == ["look"]
    assert other.pass_id not in set(r.sessions["pass_id"])
    lo = P.outages[0].start_tdb_s
    mine = r.sessions[r.sessions["orbiter"] == long.orbiter]
    assert ((mine["end_tdb_s"] <= lo + 1e-3) | (mine["start_tdb_s"] >= P.outages[0].end_tdb_s - 1e-3)).all()
    # the pass the outage cut keeps options ending at the outage's start at most
    assert all(x.end_tdb_s <= lo + 1e-6 for x in P.options if x.pass_id == long.pass_id)
    assert any(abs(x.end_tdb_s - lo) < 1e-6 for x in P.options if x.pass_id == long.pass_id)


def test_a_scenario_outage_with_an_unknown_target_names_the_key(tmp_path):
    from relay.config import load_scenario
    from relay.operations import operations_from_scenario
    from scenario_texts import MINIMAL

    f = write(tmp_path / "s.yaml", MINIMAL + "outages:\n  - {target: TGO, what: all, start: 2026-11-23T01:00:00Z, "
                                             "end: 2026-11-23T02:00:00Z}\n  - {target: Madrid, what: xband, "
                                             "start: 2026-11-23T01:00:00Z, end: 2026-11-23T02:00:00Z}\n")
    with pytest.raises(RelayInputError, match="'Madrid'") as exc:
        operations_from_scenario(load_scenario(f))
    assert exc.value.source == str(f) and exc.value.where == "outages[1]"


def test_the_volume_table_saves_and_loads_exactly(tmp_path):
    import numpy as np

    from relay import pipeline
    from relay.config import load_scenario
    from relay.links.table import VolumeTable
    from scenario_texts import MINIMAL

    sc = load_scenario(write(tmp_path / "s.yaml", MINIMAL))
    span = pipeline.span_of(START, 1.0)
    vol = pipeline.volumes(sc, pipeline.geometry(sc, span))
    vol.table.to_npz(tmp_path / "volumes.npz")
    again = VolumeTable.from_npz(tmp_path / "volumes.npz")
    ids = vol.table.pass_ids
    t0, t1 = vol.table.rise_tdb_s + 30.0, vol.table.set_tdb_s - 10.0
    assert len(ids) and np.array_equal(again.volume_mbit(ids, t0, t1), vol.table.volume_mbit(ids, t0, t1))


def test_the_nightly_job_may_drop_a_locked_session_an_outage_covers_and_is_told_which():
    locks = read_sessions_table(pd.DataFrame({"orbiter": ["O1"], "asset": ["B"], "start": [iso(0)],
                                              "end": [iso(600)]}), orbiters=["O1"], assets=["A", "B"])
    lost: list = []
    Q = apply(choice_problem(), Operations(outages=(Outage("B", "uhf", T0 + 500, T0 + 900, note="fault"),),
                                           locks=locks), drop_covered_locks=True, dropped=lost)
    assert [(x.option_id, "outage of B" in why) for x, why in lost] == [("pB#fixed", True)]
    assert not any(x.fixed for x in Q.options)
    assert held(planned(Q)) == ["pA#0"]
