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
    from relay.explain import LIMITS

    assert r.per_sol is not None and set(r.per_sol["limited_by"]) <= set(LIMITS)
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


# ---------------------------------------------------------------------------
# issue 19: requirements say what was achievable, used passes explained, outage before frozen
# ---------------------------------------------------------------------------

def _capped_request(min_mbit: float):
    """Asset A holds one session per sol; O's pass carries 600 Mbit, M's 300 Mbit (1 Mbit/s): the
    plan takes O's, and a request for ``min_mbit`` from M in [T0, T0 + 5000] is unmet."""
    from relay.planning.problem import RelayRequest

    req = RelayRequest("R", "A", "return", T0, T0 + 5000, "preferred", "M", min_mbit=min_mbit)
    return tiny([("m", "M", "A", 0, 300), ("o", "O", "A", 2000, 2600)], DL + [("dm", "M", 15000, 19000, 1e5)],
                assets=(Asset("A", backlog_mbit=1e6, sols=((1, T0, T0 + 88775.0),), max_sessions_per_sol=1),),
                requests=(req,))


def test_an_unmet_request_says_first_what_its_passes_could_carry():
    from planning_helpers import linear_volume

    from relay.summary import Violation

    v = Violation("A", None, "request", "request R is not met", request_id="R")
    # 400 Mbit from M: its only pass carries 300, so freeing the sol cap would not help: link first
    P = _capped_request(400.0)
    r, plan = reasons(P)
    assert r["o"].code == "whole" and r["m"].code == "sol_cap"
    why = Explainer(P, plan, volume=linear_volume()).requirement(v)
    assert why.code == "link_limited"
    assert why.detail.startswith("the best pass in the window, m (M 13:45:30-13:50:30 UTC), ")  # T0: 13:45:30
    assert "could carry 300.0 Mbit of the 400.0 needed; m (M) sol_cap: A already holds 1 sessions" in why.detail
    # 250 Mbit: the pass could carry it, the sol cap binds (the best volume still comes first)
    P = _capped_request(250.0)
    why = Explainer(P, cpsat.solve(P, FAST)).requirement(v)
    assert why.code == "sol_cap" and "could carry 300.0 Mbit of the 250.0 needed; m (M) sol_cap" in why.detail


def test_an_unmet_decisional_sol_explains_the_used_passes_too():
    from relay.planning.problem import DecisionalRequirement
    from relay.summary import Violation

    # 500 Mbit wanted in [T0, T0 + 3000]; M's pass (300 Mbit) and O's (200 Mbit) are both used whole
    dec = DecisionalRequirement("A", 1, T0, T0 + 3000, T0 + 19000, 500.0)
    P = tiny([("m", "M", "A", 0, 300), ("o", "O", "A", 1000, 1200)], DL + [("dm", "M", 15000, 19000, 1e5)],
             decisional_requirements=(dec,))
    r, plan = reasons(P)
    assert r["m"].code == "whole" and r["o"].code == "whole"
    why = Explainer(P, plan).requirement(Violation("A", 1, "decisional", "not met"))
    assert why.code == "link_limited"
    assert why.detail.startswith("the best pass in the window, m (M 13:45:30-13:50:30 UTC), could carry 300.0 Mbit "
                                 "of the 500.0 needed; ")
    assert "m (M) link_limited: used," in why.detail and "carries 300.0 Mbit of the 500.0 needed (whole:" in why.detail
    assert "o (O) link_limited: used," in why.detail and "carries 200.0 Mbit of the 500.0 needed" in why.detail


def test_a_pass_an_outage_removed_reads_outage_inside_the_frozen_period_too():
    from relay.operations import Operations, Outage
    from relay.planning.apply import apply

    # p lies in the frozen period (no option, as a nightly run builds it); q is frozen and out
    P = tiny([("p", "O", "A", 0, 600), ("q", "O", "A", 5000, 5600)], DL)
    P = dataclasses.replace(P, options=tuple(x for x in P.options if x.pass_id != "p"))
    Q = apply(P, Operations(outages=(Outage("O", "uhf", T0 + 4000, T0 + 7000, note="safe mode"),)))
    r, _ = reasons(Q, frozen_until_tdb_s=T0 + 8000)
    assert r["p"].code == "frozen"
    assert r["q"].code == "outage" and "safe mode" in r["q"].detail


def test_limited_by_names_the_binding_family():
    import pandas as pd

    from relay.explain import FAMILY, LIMITS, limited_by

    def sol(*rows):
        return pd.DataFrame(rows, columns=["used", "reason", "volume_mbit"])

    assert set(FAMILY.values()) <= set(LIMITS)
    # an outage took the biggest pass: outage, not link
    assert limited_by(sol((True, "whole", 50.0), (False, "outage", 90.0), (False, "taken", 20.0))) == "outage"
    assert limited_by(sol((False, "vetoed", 10.0), (False, "sol_cap", 30.0))) == "sol_cap"
    assert limited_by(sol((False, "outside_wake", 10.0), (False, "energy", 5.0))) == "wake_window"
    assert limited_by(sol((False, "store_full", 10.0), (False, "earth_limited", 50.0))) == "earth"
    # the asset had no data left: data; only weak passes left: link
    assert limited_by(sol((False, "data_limited", 1.0), (False, "outage", 90.0))) == "data"
    assert limited_by(sol((True, "whole", 50.0), (False, "below_min_volume", 3.0), (False, "no_volume", 0.0))) == "link"


def test_sols_count_usable_capacity_and_integrate_generation(small):
    import relay

    from relay.explain import LIMITS

    sc = relay.load_scenario(small, overrides={"assets.Curiosity.data.generation_mbit_per_sol": 600.0,
                                               "assets.Curiosity.data.backlog_mbit": 100.0})
    out = pd_frame([{"target": "MRO", "what": "uhf", "start": "2026-12-08T00:00:00Z", "end": "2026-12-10T00:00:00Z",
                     "note": "MRO out for the whole horizon"}])
    r = relay.plan(sc, "2026-12-08T00:00:00Z", 2.0, outages=out, time_limit_s=10)
    mro = r.passes[r.passes["orbiter"] == "MRO"]
    assert len(mro) and (mro["reason"] == "outage").all() and (mro["usable_mbit"] == 0).all()
    assert (mro["volume_mbit"] > 0).any()             # the link could carry it; the outage takes it
    cur = r.per_sol[r.per_sol["asset"] == "Curiosity"].reset_index(drop=True)
    for row in cur.itertuples():
        ps = r.passes[(r.passes["asset"] == "Curiosity") & (r.passes["sol"] == row.sol)]
        assert row.capacity_mbit == pytest.approx(ps["usable_mbit"].sum(), abs=1e-3)
    # a whole sol generates exactly 600 Mbit; the first (partial) one its share, plus the backlog
    inner = cur.iloc[1:-1]
    assert len(inner) >= 1 and (inner["data_mbit"] == 600.0).all()
    assert 100.0 < cur["data_mbit"].iloc[0] < 700.0
    assert cur["data_mbit"].sum() == pytest.approx(100.0 + 600.0 * 2 * 86400.0 / 88775.244, abs=0.01)
    assert set(r.per_sol["limited_by"]) <= set(LIMITS)


def pd_frame(rows):
    import pandas as pd

    return pd.DataFrame(rows)


def test_a_planned_frozen_period_names_the_outage_first(small):
    import relay

    # as a nightly run plans: nothing new before 06:00; TGO's UHF is out until 03:00.  TGO's passes
    # of the small scenario that night rise at 00:32, 02:22 and 04:21
    out = pd_frame([{"target": "TGO", "what": "uhf", "start": "2026-12-08T00:00:00Z", "end": "2026-12-08T03:00:00Z"}])
    r = relay.plan(small, "2026-12-08T00:00:00Z", 1.0, frozen_until="2026-12-08T06:00:00Z", outages=out,
                   time_limit_s=10)
    early = r.passes[r.passes["rise"] < pd_timestamp("2026-12-08T06:00:00Z")]
    assert list(early["rise"].dt.strftime("%H:%M")) == ["00:32", "02:22", "04:21"]
    assert list(early["reason"]) == ["outage", "outage", "frozen"]
    assert (early["usable_mbit"] == 0).all()


def pd_timestamp(text):
    import pandas as pd

    return pd.Timestamp(text)


def test_a_veto_that_matches_nothing_is_reported_by_plan_and_replan(small, tmp_path):
    import json
    import subprocess
    import sys

    veto = tmp_path / "veto.csv"
    # the small scenario's MRO sees neither rover between 01:00 and 02:00 on 8 December
    veto.write_text("orbiter,asset,start,end,note\nMRO,Curiosity,2026-12-08T01:00:00Z,2026-12-08T02:00:00Z,none\n")
    said = (f"{veto}: line 2: the veto of MRO -> Curiosity 2026-12-08T01:00:00.000Z to 2026-12-08T02:00:00.000Z "
            "forbids no session option of the plan; it changes nothing")

    def relay_cli(*args):
        return subprocess.run([sys.executable, "-m", "relay", *map(str, args)], capture_output=True, text=True,
                              timeout=600)

    for cmd, out in ((("plan", small, "--start", "2026-12-08T00:00:00Z", "--days", "1"), tmp_path / "a"),
                     (("replan", tmp_path / "a"), tmp_path / "b")):
        r = relay_cli(*cmd, "--forbid", veto, "--out", out, "--time-limit", "10")
        assert r.returncode == 0, r.stderr
        assert f"  warning: {said}" in r.stdout.splitlines(), cmd[0]
        assert said in json.loads((out / "summary.json").read_text())["warnings"]
        assert "forbids no session option of the plan; it changes nothing" in (out / "report.html").read_text()


def test_a_request_is_explained_from_its_own_window_when_ids_share_a_prefix():
    """Requests "R" and "R x" (an id with a space that starts with another id): each reason comes
    from its own window (before, "R x" was explained with "R"'s), through requests.csv's table."""
    from dataclasses import replace

    from relay.planning.problem import RelayRequest
    from relay.plantables import requests_table

    P = _capped_request(400.0)
    other = RelayRequest("R x", "A", "return", T0 + 1900, T0 + 2700, "preferred", "O", min_mbit=5000.0)
    P = replace(P, requests=P.requests + (other,))
    r, plan = reasons(P)
    table = requests_table(P, plan, Explainer(P, plan)).set_index("id")
    assert table.loc["R", "status"] == "unmet" and table.loc["R x", "status"] == "unmet"
    assert "m (M)" in table.loc["R", "reason_detail"] and "o (O)" not in table.loc["R", "reason_detail"]
    assert "o (O)" in table.loc["R x", "reason_detail"] and "m (M)" not in table.loc["R x", "reason_detail"]


def test_the_passes_near_a_window_are_those_a_scan_finds():
    """Explainer.passes_near (a bisection over each asset's passes) keeps every pass a full scan
    would find overlapping a window, on random windows."""
    import random

    P = _capped_request(400.0)
    ex = Explainer(P, reasons(P)[1])
    rng = random.Random(7)
    for _ in range(200):
        t0 = T0 + rng.uniform(-3000, 6000)
        t1 = t0 + rng.uniform(0, 4000)
        near = {p.pass_id for p in ex.passes_near("A", t0, t1)}
        scan = {p.pass_id for p in P.passes if p.asset == "A" and p.rise_tdb_s < t1 and p.set_tdb_s > t0}
        assert scan <= near


def _sessions_strategy():
    from hypothesis import strategies as st

    from relay.planning.plan import Session

    one = st.builds(lambda o, a, t, d, k: Session(f"x{k}", f"p{k}", o, a, float(t), float(t + d), 1.0),
                    st.sampled_from(["O1", "O2"]), st.sampled_from(["A", "B", "C"]),
                    st.integers(0, 5000), st.integers(1, 900), st.integers(0, 10**6))
    return st.lists(one, max_size=40)


def test_the_first_overlapping_session_is_the_scans():
    """Explainer's index of sessions by start (relay.explain.Overlaps) finds what a scan of every
    session of the orbiter in the plan's order finds (the reference: the scan it replaced), for any
    sessions and spans, touching ends included."""
    from hypothesis import given, settings, strategies as st

    from relay.explain import Overlaps

    @settings(max_examples=300, deadline=None)
    @given(_sessions_strategy(), st.integers(-100, 6000), st.integers(0, 1200), st.sampled_from(["O1", "O2", "O3"]),
           st.sampled_from(["A", "B", "C"]))
    def check(sessions, t0, length, orbiter, asset):
        t1 = t0 + length
        scan = [o for o in sessions if o.orbiter == orbiter and o.asset != asset
                and o.start_tdb_s < t1 and o.end_tdb_s > t0]
        assert Overlaps(sessions).first(orbiter, float(t0), float(t1), asset) is (scan[0] if scan else None)

    check()
