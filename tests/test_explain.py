"""Every reason code of relay.explain on a small instance built to produce it."""
from __future__ import annotations

import dataclasses

import pytest
from planning_helpers import T0, tiny

from relay.explain import REASONS, Explainer, per_sol, stranded_warnings
from relay.planning import cpsat
from relay.planning.plan import Plan
from relay.planning.problem import Asset, Objective, SessionOption
from relay.planning.settings import PlanningSettings
from relay.planning.validate import validate

FAST = PlanningSettings(time_limit_s=10)
DL = [("dl", "O", 15000, 19000, 1e5)]


def reasons(P, plan=None, **kw):
    plan = plan or cpsat.solve(P, FAST)
    assert validate(P, plan) == []
    ex = Explainer(P, plan, **kw)
    return {p.pass_id: ex.reason(p) for p in P.passes}, plan


def test_whole_and_taken():
    # two assets see one orbiter over the same 600 s: whole for one (600) beats any split (< 600)
    P = tiny([("pA", "O", "A", 0, 600), ("pB", "O", "B", 0, 600)], DL,
             assets=(Asset("A", backlog_mbit=1e6, priority_weight=2.0), Asset("B", backlog_mbit=1e6)))
    r, _ = reasons(P)
    assert r["pA"].code == "whole"
    assert r["pB"].code == "taken" and "O with A" in r["pB"].detail


def test_split_names_the_other_asset_and_the_cut():
    P = tiny([("pA", "O", "A", 0, 600), ("pB", "O", "B", 300, 900)], DL)
    r, _ = reasons(P)
    # an optimum (840 Mbit, see test_planning_solve): one asset for its whole pass, the other for
    # the rest of its pass after the turnaround; either way round
    (whole, split) = sorted(r, key=lambda k: r[k].code != "whole")
    assert r[whole].code == "whole" and r[split].code == "split"
    other = "A" if split == "pB" else "B"
    assert f"shared with {other}" in r[split].detail
    assert ("starts at" if split == "pB" else "ends at") in r[split].detail


def test_cut_when_part_of_the_pass_is_not_usable():
    # a cut option of the pass only (the rest of it is not offered)
    P = tiny([("p", "O", "A", 0, 600)], DL)
    P = dataclasses.replace(P, options=(SessionOption("p#c", "p", "O", "A", T0 + 100, T0 + 500, 400.0),))
    r, _ = reasons(P)
    assert r["p"].code == "cut" and "starts at" in r["p"].detail and "ends at" in r["p"].detail


def test_fixed():
    P = tiny([("pA", "O", "A", 0, 600), ("pB", "O", "B", 300, 900)], DL)
    P = dataclasses.replace(P, options=tuple(dataclasses.replace(x, fixed=True) if x.option_id == "pB#0" else x
                                             for x in P.options))
    r, _ = reasons(P)
    assert r["pB"].code == "fixed"


def test_no_volume_and_frozen():
    P = tiny([("p", "O", "A", 0, 100), ("q", "O", "A", 5000, 5600)], DL)  # p: shorter than 120 s, no option
    P = dataclasses.replace(P, options=tuple(x for x in P.options if x.pass_id != "q"))
    r, _ = reasons(P)
    assert r["p"].code == "no_volume" and r["q"].code == "no_volume"
    r, _ = reasons(P, frozen_until_tdb_s=T0 + 6000)
    assert r["q"].code == "frozen" and r["p"].code == "frozen"


@pytest.mark.parametrize("code, edit", [
    ("too_short", lambda P: dataclasses.replace(P, options=(
        SessionOption("p#s", "p", "O", "A", T0, T0 + 60, 60.0),))),
    ("outside_wake", lambda P: dataclasses.replace(P, assets=(
        Asset("A", backlog_mbit=1e6, wake_windows=((T0 + 5000, T0 + 9000),)),))),
    ("below_min_volume", lambda P: dataclasses.replace(P, assets=(Asset("A", backlog_mbit=1e6,
                                                                        min_session_mbit=700.0),))),
    ("conjunction", lambda P: dataclasses.replace(P, conjunction=((T0 - 10, T0 + 700),), options=tuple(
        dataclasses.replace(x, kind="forward", option_id=x.option_id + "f") for x in P.options))),
])
def test_options_the_model_leaves_out(code, edit):
    P = edit(tiny([("p", "O", "A", 0, 600)], DL))
    r, _ = reasons(P)
    assert r["p"].code == code, r["p"]


def test_outside_horizon():
    P = tiny([("p", "O", "A", 19700, 20300)], [("dl", "O", 1000, 5000, 1e5)])
    P = dataclasses.replace(P, options=(SessionOption("p#h", "p", "O", "A", T0 + 19700, T0 + 20300, 600.0),))
    r, _ = reasons(P)
    assert r["p"].code == "outside_horizon"


def test_sol_cap_and_energy():
    sols = ((1, T0, T0 + 88775.0),)
    P = tiny([("p", "O", "A", 0, 600), ("q", "O", "A", 6000, 6300)], DL,
             assets=(Asset("A", backlog_mbit=1e6, sols=sols, max_sessions_per_sol=1),))
    r, _ = reasons(P)
    assert r["p"].code == "whole" and r["q"].code == "sol_cap" and "cap 1" in r["q"].detail
    P = tiny([("p", "O", "A", 0, 600), ("q", "O", "A", 6000, 6300)], DL,
             assets=(Asset("A", backlog_mbit=1e6, sols=sols, energy_wh_per_min=1.0, energy_wh_per_sol=10.0),))
    r, _ = reasons(P)
    assert r["p"].code == "whole" and r["q"].code == "energy" and "Wh" in r["q"].detail


def test_data_limited():
    P = tiny([("p", "O", "A", 0, 600), ("q", "O", "A", 6000, 6600)], DL, backlog_mbit=300.0)
    r, plan = reasons(P)
    assert sorted(c.code for c in r.values()) == ["data_limited", "whole"]
    assert plan.delivered_mbit == pytest.approx(300.0)


def test_store_full():
    # a 500 Mbit store and no downlink before both passes: the second pass has nowhere to go
    P = tiny([("p", "O", "A", 0, 600), ("q", "O", "A", 6000, 6600)], DL, capacity_mbit=500.0)
    r, _ = reasons(P)
    assert sorted(c.code for c in r.values()) == ["store_full", "whole"]


def test_earth_limited():
    # a 200 Mbit downlink, and data left aboard is worth nothing: the second pass adds nothing
    P = tiny([("p", "O", "A", 0, 600), ("q", "O", "A", 6000, 6600)], [("dl", "O", 15000, 19000, 200.0)],
             objective=Objective(latency_per_mbit_day=0.0, elevation_per_session=0.0, end_store_discount=0.0))
    r, _ = reasons(P)
    assert sorted(c.code for c in r.values()) == ["earth_limited", "whole"]


def test_better_alternative_on_a_plan_that_left_a_useful_pass_out():
    # a solver stopped early: q could carry data home, the plan (p only) does not use it
    P = tiny([("p", "O", "A", 0, 600), ("q", "O", "A", 6000, 6600)], DL)
    full = cpsat.solve(P, FAST)
    part = Plan([s for s in full.sessions if s.pass_id == "p"],
                [d for d in full.downlinks if d.volume_mbit <= 600.0 + 1e-6][:1])
    r, _ = reasons(P, part)
    assert r["q"].code == "better_alternative"


def test_every_code_is_documented_and_tested():
    import pathlib

    text = pathlib.Path(__file__).read_text()
    for code in REASONS:
        assert f'"{code}"' in text.replace(f'"{code}": ', ""), code


def test_per_sol_and_stranded_warnings():
    import relay

    r = relay.plan("configs/insight-2019.yaml", "2019-06-03T00:00:00Z", 2.0)
    assert r.per_sol is not None and set(r.per_sol["limited_by"]) <= {"data", "link", "earth", "constraint"}
    tot = r.per_sol.groupby("asset")["planned_mbit"].sum()
    relayed = r.sessions.groupby("asset")["volume_mbit"].sum()
    for a in tot.index:
        assert tot[a] == pytest.approx(relayed[a], abs=0.01)
    assert "reason" in r.passes and (r.passes["reason"] != "").all()
    assert set(r.passes["reason"]) <= set(REASONS)
    # the warnings follow the rule they state
    fig = r.summary.figures
    relayed_orb = r.sessions.groupby("orbiter")["volume_mbit"].sum().to_dict()
    assert list(r.summary.warnings) == stranded_warnings(r.summary, relayed_orb)
    stranded = [o for o, v in relayed_orb.items() if v > 0 and fig.delivered_by_orbiter.get(o, 0.0) <= 0]
    assert len([w for w in r.summary.warnings if "stranded" in w]) == len(stranded)
    assert len(per_sol(r.problem, r.passes, r.sessions)) == len(r.per_sol)


@pytest.mark.slow
def test_insight_week_warns_of_data_stranded_aboard_odyssey():
    """The insight-2019 week with Odyssey's X-band table as it was before the low rates (nothing
    below 62.5 kbps, so no rate at June 2019's Earth range): Odyssey still holds relay sessions,
    delivers nothing, and the plan says so."""
    import relay

    sc = relay.load_scenario("configs/insight-2019.yaml",
                             overrides={"orbiters.Odyssey.xband.rates_kbps": [62.5, 125.0, 250.0]})
    r = relay.plan(sc, "2019-06-03T00:00:00Z", 7)
    assert r.summary.figures.delivered_by_orbiter["Odyssey"] == 0.0
    odyssey = r.sessions[r.sessions["orbiter"] == "Odyssey"]
    assert len(odyssey) > 0
    (w,) = [w for w in r.summary.warnings if w.startswith("Odyssey")]
    assert "stranded" in w and f"{odyssey['volume_mbit'].sum():,.1f} Mbit" in w
    # the shipped tables reach Odyssey's low rates: no stranded-data warning for it
    r2 = relay.plan("configs/insight-2019.yaml", "2019-06-03T00:00:00Z", 7)
    assert not [w for w in r2.summary.warnings if w.startswith("Odyssey")]


def test_unmet_requirements_say_why():
    from relay.planning.problem import DecisionalRequirement, ForwardRequirement
    from relay.summary import Violation

    # two forward sessions wanted, one overflight in the window: no further pass
    req = ForwardRequirement("A", 7, T0, T0 + 20000, 300.0, count=2)
    P = tiny([("p", "O", "A", 0, 600)], DL, forward_assets={"A"}, forward_requirements=(req,))
    plan = cpsat.solve(P, FAST)
    (v,) = [v for v in plan.figures.violations if v.requirement == "forward_link"]
    r = Explainer(P, plan).requirement(v)
    assert r.code == "no_volume" and "p already serve" in r.detail
    # a window whose only pass another asset holds: taken
    req = ForwardRequirement("B", 3, T0, T0 + 1000, 300.0)
    P = tiny([("pA", "O", "A", 0, 600), ("pB", "O", "B", 0, 600)], DL, forward_assets={"B"},
             forward_requirements=(req,), objective=Objective(forward_shortfall_penalty=0.0,
                                                              latency_per_mbit_day=0.0, elevation_per_session=0.0),
             assets=(Asset("A", backlog_mbit=1e6, priority_weight=5.0), Asset("B", backlog_mbit=1e6)))
    plan = cpsat.solve(P, FAST)
    r = Explainer(P, plan).requirement(Violation("B", 3, "forward_link", "1 of 1"))
    assert r.code == "taken" and "pB (O) taken: O with A" in r.detail
    # decisional data relayed but never downlinked before the deadline: earth_limited
    dec = DecisionalRequirement("A", 1, T0, T0 + 1000, T0 + 2000, 10.0)
    P = tiny([("p", "O", "A", 0, 600)], DL, decisional_requirements=(dec,))
    plan = cpsat.solve(P, FAST)
    r = Explainer(P, plan).requirement(Violation("A", 1, "decisional", "late"))
    assert r.code == "earth_limited" and "deadline" in r.detail


def test_outage_and_vetoed():
    # issue 11: a pass whose options an outage or a veto took says so (relay.operations.apply)
    from relay.operations import Operations, Outage, Veto
    from relay.planning.apply import apply

    P = tiny([("pA", "O", "A", 0, 600), ("pB", "O", "B", 3000, 3600), ("pC", "O", "A", 6000, 6600)], DL)
    Q = apply(P, Operations(outages=(Outage("O", "uhf", T0 - 10, T0 + 700, note="safe mode"),),
                            forbid=(Veto(pass_id="pB", note="by hand"),)))
    r, _ = reasons(Q)
    assert r["pA"].code == "outage" and "safe mode" in r["pA"].detail
    assert r["pB"].code == "vetoed" and "pB" in r["pB"].detail
    assert r["pC"].code == "whole"
