"""Every rule R1..R27 of problem.py, end to end through the command line.

One row per rule: an instance (problem.json of a small hand-built problem,
edited so the rule matters) is solved by ``relay solve``; the plan passes
``relay validate`` and the rule binds in it (the plan sits on the rule's
boundary, or leaves out what only the rule forbids); then the plan (or the
problem it is checked against) is edited to break the rule, and ``relay
validate`` exits 1 naming the rule.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from planning_helpers import T0, tiny
from relay.api import load_plan_dir
from relay.cli import main

PASSES = [("pA", "O1", "A", 0, 600), ("pB", "O1", "B", 300, 900), ("pC", "O1", "A", 3000, 3600),
          ("pD", "O2", "B", 3000, 3500)]
DOWNLINKS = [("dl1", "O1", 1000, 2000, 2000.0), ("dl2", "O1", 4000, 5000, 2000.0), ("dl3", "O2", 4000, 5000, 2000.0)]


def base_problem(forward: bool = False) -> dict:
    P = tiny(PASSES, DOWNLINKS, horizon_s=6000.0, forward_assets={"A"} if forward else ())
    return json.loads(json.dumps(P.to_dict()))


def run(args, capsys) -> tuple[int, str]:
    rc = main([str(a) for a in args])
    out = capsys.readouterr()
    return rc, out.out + out.err


# -- editing the files ------------------------------------------------------------------------------

def rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def write_rows(path: Path, table: list[dict], header: list[str] | None = None) -> None:
    header = header or list(rows(path)[0].keys())
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, header, lineterminator="\n")
        w.writeheader()
        w.writerows(table)


def edit_sessions(out: Path, fn: Callable[[list[dict]], list[dict]]) -> None:
    header = list(rows(out / "schedule.csv")[0].keys())
    write_rows(out / "schedule.csv", fn(rows(out / "schedule.csv")), header)


def edit_downlinks(out: Path, fn: Callable[[list[dict]], list[dict]]) -> None:
    header = list(rows(out / "downlinks.csv")[0].keys())
    write_rows(out / "downlinks.csv", fn(rows(out / "downlinks.csv")), header)


def edit_json(path: Path, fn: Callable[[dict], None]) -> None:
    data = json.loads(path.read_text())
    fn(data)
    path.write_text(json.dumps(data))


def edit_problem(out: Path, fn: Callable[[dict], None]) -> None:
    edit_json(out / "problem.json", fn)


def edit_summary(out: Path, fn: Callable[[dict], None]) -> None:
    edit_json(out / "summary.json", fn)


def session_row(d: dict, option_id: str, volume: float, like: dict) -> dict:
    """A schedule.csv row for an option of problem dict ``d`` (other columns copied from ``like``)."""
    x = next(o for o in d["options"] if o["option_id"] == option_id)
    return {**like, "orbiter": x["orbiter"], "asset": x["asset"], "pass_id": x["pass_id"], "option_id": option_id,
            "kind": x["kind"], "volume_mbit": str(volume), "start_tdb_s": repr(x["start_tdb_s"]),
            "end_tdb_s": repr(x["end_tdb_s"]), "fixed": "False"}


def by_option(table: list[dict], option_id: str) -> dict:
    return next(r for r in table if r["option_id"] == option_id)


# -- the rows ---------------------------------------------------------------------------------------

def _opt(d, oid):
    return next(o for o in d["options"] if o["option_id"] == oid)


def _asset(d, name):
    return next(a for a in d["assets"] if a["name"] == name)


def _energy(P, plan, name):
    a = P.asset(name)
    return sum(s.duration_s / 60.0 * a.energy_wh_per_min for s in plan.sessions if s.asset == name)


def _fills(P, plan, orbiter):
    events = sorted([(s.end_tdb_s, 0, s.volume_mbit) for s in plan.sessions if s.orbiter == orbiter]
                    + [(x.end_tdb_s, 1, -x.volume_mbit) for x in plan.downlinks if x.orbiter == orbiter])
    fill, out = P.orbiter(orbiter).initial_fill_mbit, []
    for _, _, dv in events:
        fill += dv
        out.append(fill)
    return out


def r2_edit(d):
    d["end_tdb_s"] = T0 + 3300.0
    d["downlinks"] = [c for c in d["downlinks"] if c["chunk_id"] == "dl1"]


def r3_break(d):
    next(p for p in d["passes"] if p["pass_id"] == "pC")["rise_tdb_s"] = T0 + 3100.0


def r6_edit(d):
    _asset(d, "A")["min_session_mbit"] = 250.0  # pA's best piece for A beside pB is 240 Mbit


def r9_edit(d):
    _asset(d, "A")["wake_windows"] = [[T0 + 2000.0, T0 + 9000.0]]


def r9_break(d):
    _asset(d, "A")["wake_windows"] = [[T0 + 5000.0, T0 + 9000.0]]


def fwd_req(d, min_duration_s=300.0):
    d["forward_requirements"] = [{"asset": "A", "sol": 0, "start_tdb_s": T0, "end_tdb_s": T0 + 6000.0,
                                  "min_duration_s": min_duration_s, "count": 1}]


def r10_edit(d):
    fwd_req(d)
    d["conjunction"] = [[T0, T0 + 6000.0]]


def r10_break(d):
    d["conjunction"] = [[T0, T0 + 6000.0]]


SOL = [[0, T0, T0 + 88775.0]]


def r11_edit(d):
    _asset(d, "A").update(sols=SOL, max_sessions_per_sol=1)


def r12_edit(d):
    _asset(d, "A").update(sols=SOL, energy_wh_per_min=1.0, energy_wh_per_sol=12.0)


def r13_edit(d):
    _opt(d, "pA#4")["fixed"] = True


def r16_edit(d):
    d["min_downlink_s"] = 10.0
    d["downlinks"].append({"chunk_id": "sliver", "window_id": "sliver", "orbiter": "O1", "station": "DSS-63",
                           "start_tdb_s": T0 + 950.0, "end_tdb_s": T0 + 955.0, "capacity_mbit": 500.0})
    for c in d["downlinks"]:
        if c["chunk_id"] == "dl1":
            c["capacity_mbit"] = 100.0


def r22_edit(d):
    d["decisional_requirements"] = [{"asset": "A", "sol": 0, "start_tdb_s": T0, "end_tdb_s": T0 + 3700.0,
                                     "deadline_tdb_s": T0 + 5000.0, "min_volume_mbit": 100.0}]


def raise_volume(oid, by):
    def fn(t):
        r = by_option(t, oid)
        r["volume_mbit"] = str(float(r["volume_mbit"]) + by)
        return t
    return fn


def raise_downlink(chunk, by):
    def fn(t):
        r = next(x for x in t if x["chunk_id"] == chunk)
        asset, _, vol = r["assets"].split(";")[0].rpartition("=")
        r["assets"] = f"{asset}={float(vol) + by}" + "".join(";" + p for p in r["assets"].split(";")[1:])
        return t
    return fn


@dataclass
class Rule:
    rule: str
    edit: Callable[[dict], None] | None          # the instance (None: the base one)
    binds: Callable                                # (problem, plan) -> bool: the rule is active
    breaks: Callable[[Path], None]                 # edit the plan (or its problem) to break the rule
    forward: bool = False


RULES = [
    # R1: sessions are options: the plan holds split options (pA cut short for pB), not whole passes
    Rule("R1", None, lambda P, p: any(s.option_id == "pA#1" for s in p.sessions),
         lambda out: edit_sessions(out, lambda t: [dict(r, start_tdb_s=str(float(r["start_tdb_s"]) + 10))
                                                   if r["option_id"] == "pA#1" else r for r in t])),
    # R2: the horizon ends inside pC: pC's options are left out although O1 is free then
    Rule("R2", r2_edit, lambda P, p: not any(s.pass_id == "pC" for s in p.sessions),
         lambda out: edit_sessions(out, lambda t: t + [session_row(json.loads((out / "problem.json").read_text()),
                                                                   "pC#0", 10.0, t[0])])),
    # R3: a stretched option reaching outside its pass is not held
    Rule("R3", lambda d: _opt(d, "pD#0").update(start_tdb_s=T0 + 2900.0, capacity_mbit=900.0),
         lambda P, p: not any(s.pass_id == "pD" for s in p.sessions),
         lambda out: edit_problem(out, r3_break)),
    # R4: with min_session_s 500 the split pieces go: one of pA/pB only
    Rule("R4", lambda d: d.update(min_session_s=500.0),
         lambda P, p: sum(s.pass_id in ("pA", "pB") for s in p.sessions) == 1,
         lambda out: edit_problem(out, lambda d: d.update(min_session_s=700.0))),
    # R5: sessions carry their option's capacity
    Rule("R5", None, lambda P, p: any(abs(s.volume_mbit - P.option(s.option_id).capacity_mbit) < 1e-6
                                      for s in p.sessions),
         lambda out: edit_sessions(out, raise_volume("pC#0", 5.0))),
    # R6: A needs 250 Mbit a session: pA's 240 Mbit piece is left out, pB the whole pass instead
    Rule("R6", r6_edit, lambda P, p: all(s.volume_mbit >= 250.0 for s in p.sessions if s.asset == "A")
         and not any(s.option_id == "pA#1" for s in p.sessions),
         lambda out: edit_sessions(out, lambda t: [dict(r, volume_mbit="100") if r["asset"] == "A" else r
                                                   for r in t])),
    # R7: pA has five options, the plan holds one
    Rule("R7", None, lambda P, p: sum(s.pass_id == "pA" for s in p.sessions) == 1,
         lambda out: edit_sessions(out, lambda t: t + [session_row(json.loads((out / "problem.json").read_text()),
                                                                   "pA#4", 1.0, t[0])])),
    # R8: pA#1 ends exactly one turnaround before pB#0 starts
    Rule("R8", None, lambda P, p: any(abs(b.start_tdb_s - a.end_tdb_s - P.turnaround_s) < 1e-6
                                      for a in p.sessions for b in p.sessions if a.orbiter == b.orbiter),
         lambda out: edit_problem(out, lambda d: d.update(turnaround_s=120.0))),
    # R9: A asleep before T0 + 2000: no session of A in pA
    Rule("R9", r9_edit, lambda P, p: not any(s.pass_id == "pA" for s in p.sessions),
         lambda out: edit_problem(out, r9_break)),
    # R10: conjunction: no forward session, the shortfall reported
    Rule("R10", r10_edit, lambda P, p: not any(s.kind == "forward" for s in p.sessions)
         and any(v.requirement == "forward_link" for v in p.figures.violations),
         lambda out: (edit_problem(out, r10_edit),
                      edit_sessions(out, lambda t: [dict(r, kind="forward", option_id=r["option_id"] + "f")
                                                    if r["asset"] == "A" else r for r in t])),
         forward=True),
    # R11: one session of A per sol
    Rule("R11", r11_edit, lambda P, p: sum(s.asset == "A" for s in p.sessions) == 1,
         lambda out: edit_problem(out, lambda d: _asset(d, "A").update(max_sessions_per_sol=0))),
    # R12: 12 Wh a sol at 1 Wh/min: A holds pC only (10 Wh), where the base plan adds pA#1 (4 Wh more)
    Rule("R12", r12_edit, lambda P, p: abs(_energy(P, p, "A") - 10.0) < 1e-6
         and [s.option_id for s in p.sessions if s.asset == "A"] == ["pC#0"],
         lambda out: edit_problem(out, lambda d: _asset(d, "A").update(energy_wh_per_sol=5.0))),
    # R13: the fixed (poor) piece pA#4 is held, so pB#0 cannot be
    Rule("R13", r13_edit, lambda P, p: any(s.option_id == "pA#4" and s.fixed for s in p.sessions),
         lambda out: edit_sessions(out, lambda t: [r for r in t if r["option_id"] != "pA#4"])),
    # R14: A has 100 Mbit to give: it relays exactly that
    Rule("R14", lambda d: _asset(d, "A").update(backlog_mbit=100.0),
         lambda P, p: abs(sum(s.volume_mbit for s in p.sessions if s.asset == "A") - 100.0) < 1e-6,
         lambda out: edit_sessions(out, lambda t: [dict(r, volume_mbit=str(float(r["volume_mbit"]) + 50))
                                                   if r["asset"] == "A" else r for r in t])),
    # R15: a chunk after the horizon is never used
    Rule("R15", lambda d: d["downlinks"].append({"chunk_id": "late", "window_id": "late", "orbiter": "O2",
                                                 "station": "DSS-63", "start_tdb_s": T0 + 5500.0,
                                                 "end_tdb_s": T0 + 6500.0, "capacity_mbit": 9000.0}),
         lambda P, p: not any(x.chunk_id == "late" for x in p.downlinks),
         lambda out: edit_downlinks(out, lambda t: [dict(r, chunk_id="late") if r["chunk_id"] == "dl3" else r
                                                    for r in t])),
    # R16: a 5 s sliver before dl1 is not used although dl1 is full
    Rule("R16", r16_edit, lambda P, p: not any(x.chunk_id == "sliver" for x in p.downlinks)
         and abs(sum(x.volume_mbit for x in p.downlinks if x.chunk_id == "dl1") - 100.0) < 1e-6,
         lambda out: edit_problem(out, lambda d: d.update(min_downlink_s=2000.0))),
    # R17: dl1 carries its whole capacity
    Rule("R17", lambda d: d["downlinks"][0].update(capacity_mbit=300.0),
         lambda P, p: abs(sum(x.volume_mbit for x in p.downlinks if x.chunk_id == "dl1") - 300.0) < 1e-6,
         lambda out: edit_downlinks(out, raise_downlink("dl1", 50.0))),
    # R18: dl1 sends all that had arrived by its start, less than its capacity
    Rule("R18", None, lambda P, p: abs(sum(x.volume_mbit for x in p.downlinks if x.chunk_id == "dl1")
                                       - sum(s.volume_mbit for s in p.sessions
                                             if s.orbiter == "O1" and s.end_tdb_s <= T0 + 1000)) < 1e-6,
         lambda out: edit_downlinks(out, raise_downlink("dl1", 50.0))),
    # R19: a 500 Mbit store: full after pB
    Rule("R19", lambda d: [o.update(capacity_mbit=500.0) for o in d["orbiters"]],
         lambda P, p: abs(max(_fills(P, p, "O1")) - 500.0) < 1e-6,
         lambda out: edit_sessions(out, lambda t: [dict(r, volume_mbit=str(float(r["volume_mbit"]) + 20))
                                                   if r["orbiter"] == "O1" else r for r in t])),
    # R20: the store empties at dl1's end
    Rule("R20", None, lambda P, p: min(_fills(P, p, "O1")) == 0.0,
         lambda out: edit_sessions(out, lambda t: [dict(r, volume_mbit="1") if r["option_id"] == "pB#0" else r
                                                   for r in t])),
    # R21: an unmeetable forward requirement (5000 s) is reported
    Rule("R21", lambda d: fwd_req(d, 5000.0),
         lambda P, p: any(v.requirement == "forward_link" for v in p.figures.violations),
         lambda out: edit_summary(out, lambda s: s.update(violations=[])), forward=True),
    # R22: the decisional data of A reaches Earth by the deadline
    Rule("R22", r22_edit, lambda P, p: p.figures.decisional_sols_met == {"A": 1},
         lambda out: edit_summary(out, lambda s: s.update(decisional_sols_met={"A": 2}))),
    # R23: delivered as claimed
    Rule("R23", None, lambda P, p: abs(p.figures.delivered_mbit - sum(x.volume_mbit for x in p.downlinks)) < 1e-6,
         lambda out: edit_summary(out, lambda s: s.update(delivered_mbit=s["delivered_mbit"] + 5))),
    # R24: the weighted sum as claimed (and equal to the model's objective here: exact weights)
    Rule("R24", None, lambda P, p: abs(p.figures.weighted_sum_points - p.report.objective_points) < 1e-6,
         lambda out: edit_summary(out, lambda s: s.update(weighted_sum_points=s["weighted_sum_points"] + 1))),
    # R25: O1's UHF is out over pC and DSS-63 cannot serve O1 over dl2: neither is used
    Rule("R25", lambda d: d.update(outages=[
        {"target": "O1", "kind": "orbiter", "what": "uhf", "start_tdb_s": T0 + 2900.0, "end_tdb_s": T0 + 3700.0},
        {"target": "DSS-63", "kind": "station", "what": "xband", "orbiter": "O1", "start_tdb_s": T0 + 3900.0,
         "end_tdb_s": T0 + 5100.0}]),
         lambda P, p: not any(s.pass_id == "pC" for s in p.sessions) and not any(x.chunk_id == "dl2"
                                                                                 for x in p.downlinks),
         lambda out: edit_problem(out, lambda d: d["outages"].append(
             {"target": "B", "kind": "asset", "what": "all", "start_tdb_s": T0, "end_tdb_s": T0 + 1000.0}))),
    # R26: pC is vetoed by pass id and B by a span over pD: neither is used
    Rule("R26", lambda d: d.update(forbid=[{"pass_id": "pC"},
                                           {"asset": "B", "start_tdb_s": T0 + 2950.0, "end_tdb_s": T0 + 3100.0}]),
         lambda P, p: not any(s.pass_id in ("pC", "pD") for s in p.sessions),
         lambda out: edit_problem(out, lambda d: d["forbid"].append(
             {"orbiter": "O1", "start_tdb_s": T0, "end_tdb_s": T0 + 100.0}))),
    # R27: a required request in a window without a pass is reported unmet; one in pD's is met
    Rule("R27", lambda d: d.update(requests=[
        {"id": "q1", "asset": "A", "kind": "return", "start_tdb_s": T0 + 5000.0, "end_tdb_s": T0 + 5900.0,
         "priority": "required"},
        {"id": "q2", "asset": "B", "kind": "return", "start_tdb_s": T0 + 3000.0, "end_tdb_s": T0 + 3500.0,
         "priority": "required", "min_mbit": 400.0}]),
         lambda P, p: [v.detail.split()[2] for v in p.figures.violations if v.requirement == "request"] == ["q1"]
         and any(s.pass_id == "pD" and s.volume_mbit >= 400.0 for s in p.sessions),
         lambda out: edit_summary(out, lambda s: s.update(violations=[]))),
    # R28 (issue 22): A's guaranteed minimum counts pC at its guaranteed 50 Mbit only: 5000 Mbit is missed and
    # reported
    Rule("R28", lambda d: d.update(
        confidence={"volume_quantile": 0.16, "guarantee_confidence": 0.84, "calibration": "test", "options": [
            {"option_id": "pC#0", "predicted_mbit": 400.0, "guaranteed_mbit": 50.0, "mu": 0.0, "sigma": 0.5}]},
        guarantees=[{"asset": "A", "sol": 0, "start_tdb_s": T0, "end_tdb_s": T0 + 6000.0, "min_mbit": 5000.0,
                     "penalty_points": 1000.0}]),
         lambda P, p: any(v.requirement == "guaranteed_minimum" for v in p.figures.violations),
         lambda out: edit_summary(out, lambda s: s.update(violations=[]))),
    # R29 (issue 19): O1 may downlink 1000 s a day: one of dl1, dl2 only (all in one UTC day)
    Rule("R29", lambda d: d["orbiters"][0].update(downlink_hours_per_day=1000.0 / 3600.0),
         lambda P, p: len({x.chunk_id for x in p.downlinks if x.orbiter == "O1" and x.volume_mbit > 0}) == 1,
         lambda out: edit_problem(out, lambda d: d["orbiters"][0].update(downlink_hours_per_day=0.1))),
]


def test_every_rule_has_a_row():
    from relay.planning.validate import RULES as CHECKED

    assert [r.rule for r in RULES] == [rule for rule, _ in CHECKED]


@pytest.mark.parametrize("row", RULES, ids=[r.rule for r in RULES])
def test_rule_binds_and_a_plan_breaking_it_is_rejected(row, tmp_path, capsys):
    d = base_problem(row.forward)
    if row.edit is not None:
        row.edit(d)
    pj = tmp_path / "problem.json"
    pj.write_text(json.dumps(d))
    out = tmp_path / "plan"
    rc, text = run(["solve", pj, "--out", out, "--time-limit", "20", "--quiet"], capsys)
    assert rc == 0, text
    rc, text = run(["validate", out], capsys)
    assert rc == 0, text
    P, plan = load_plan_dir(out)
    assert row.binds(P, plan), f"{row.rule} does not bind: {[(s.option_id, s.volume_mbit) for s in plan.sessions]}"
    row.breaks(out)
    rc, text = run(["validate", out], capsys)
    assert rc == 1, text
    assert f"{row.rule} " in text, text
    assert "Traceback" not in text


# -- issue 13's two cases of the minimum session volume, and the shortest downlink ----------------

@pytest.mark.parametrize("min_mbit, capacity, elevation", [
    (5.03, 5.05, 0.0),   # rounds down to 5.0 Mbit, below the asset's 5.03
    (0.0, 0.05, 1.0),    # rounds down to 0.0 Mbit: held only for its elevation points before
])
def test_an_option_below_the_minimum_once_rounded_is_not_held(tmp_path, capsys, min_mbit, capacity, elevation):
    d = base_problem()
    d["objective"]["elevation_per_session"] = 1.0
    _asset(d, "A").update(min_session_mbit=min_mbit)
    _opt(d, "pC#0").update(capacity_mbit=capacity, elevation_score=elevation)
    pj = tmp_path / "problem.json"
    pj.write_text(json.dumps(d))
    out = tmp_path / "plan"
    rc, text = run(["solve", pj, "--out", out, "--quiet"], capsys)
    assert rc == 0, text
    assert not any(r["pass_id"] == "pC" for r in rows(out / "schedule.csv"))
    assert run(["validate", out], capsys)[0] == 0
    # the plan the model used to make (pC held with what its capacity rounds down to) is rejected
    held = round(int(capacity / 0.1 + 1e-9) * 0.1, 6)
    edit_sessions(out, lambda t: t + [session_row(d, "pC#0", held, t[0])])
    rc, text = run(["validate", out], capsys)
    assert rc == 1 and "R6 empty_session" in text and "pC#0" in text


def test_an_option_at_the_minimum_once_rounded_is_held(tmp_path, capsys):
    d = base_problem()
    _asset(d, "A").update(min_session_mbit=5.0)
    _opt(d, "pC#0").update(capacity_mbit=5.05)
    pj = tmp_path / "problem.json"
    pj.write_text(json.dumps(d))
    out = tmp_path / "plan"
    assert run(["solve", pj, "--out", out, "--quiet"], capsys)[0] == 0
    assert float(by_option(rows(out / "schedule.csv"), "pC#0")["volume_mbit"]) == 5.0


def test_the_builder_drops_downlinks_shorter_than_min_downlink_s():
    import pandas as pd

    from relay.planning.build import downlink_chunks
    from relay.planning.settings import PlanningSettings

    windows = pd.DataFrame({"downlink_id": [1, 2, 3], "orbiter": ["MRO"] * 3, "station": ["Madrid"] * 3,
                            "start_tdb_s": [0.0, 100.0, 200.0], "end_tdb_s": [0.04, 109.0, 260.0],
                            "volume_mbit": [0.1, 20.0, 60.0]})
    got = downlink_chunks(windows, PlanningSettings(min_downlink_s=10.0))
    assert [c.chunk_id for c in got] == ["D00003"]
    assert [c.chunk_id for c in downlink_chunks(windows, PlanningSettings(min_downlink_s=0.0))] == \
        ["D00001", "D00002", "D00003"]
