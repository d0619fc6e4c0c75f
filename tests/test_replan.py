"""relay replan and PlanResult.replan (issue 11): re-solving a plan after a veto, an outage, a
lock or a request from its saved instance and link volumes; the diff; bad input; requests.csv;
the shipped operations example.

The references are independent of the re-plan path: a plan made from scratch with the same
input at plan time (the whole pipeline, geometry included) must be the same plan; the diff's
counts must match set arithmetic on the two schedules; the sessions must avoid the outage and
the veto by their times."""
from __future__ import annotations

from scenario_texts import NIGHTLY

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import relay.api as api
from relay.cli import main
from relay.outputs.tables import iso_text
from relay.planstate import ReplanState, STATE_FILE
from relay.timescales import parse_utc, utc_to_tdb_s

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "configs" / "baseline.yaml"
EXAMPLE = ROOT / "configs" / "examples" / "operations.yaml"
START = "2026-11-23T00:00:00Z"
DAYS = 2.0

pytestmark = pytest.mark.xdist_group("replan")


def run(args, capsys):
    rc = main([str(a) for a in args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def iso(ts) -> str:
    return iso_text([ts])[0]


def tdb(text: str) -> float:
    return float(utc_to_tdb_s(parse_utc(text)))


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """The baseline's first two days, planned and written; (result, plan folder)."""
    out = tmp_path_factory.mktemp("base") / "plan"
    result = api.plan(str(BASELINE), START, DAYS)
    result.write(out)
    return result, out


def biggest_session(result, orbiter=None):
    ses = result.sessions
    if orbiter is not None:
        ses = ses[ses["orbiter"] == orbiter]
    return ses.sort_values("volume_mbit", ascending=False).iloc[0]


def same_sessions(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    cols = ["orbiter", "asset", "kind", "pass_id", "option_id", "start_tdb_s", "end_tdb_s", "volume_mbit"]
    return a[cols].reset_index(drop=True).equals(b[cols].reset_index(drop=True))


def keys(df: pd.DataFrame) -> set:
    return {(r.orbiter, r.asset, r.kind, round(r.start_tdb_s, 3), round(r.end_tdb_s, 3))
            for r in df.itertuples(index=False)}


# ----------------------------------------------------------------------------- the saved state

def test_plan_folder_holds_the_link_volumes_and_requests(base):
    result, out = base
    assert (out / STATE_FILE).stat().st_size > 0 and (out / "requests.csv").exists()
    state = ReplanState.read(out / STATE_FILE)
    # the saved VolumeTable answers every sub-window exactly as the one the plan was built with
    mine, theirs = result.state.volume_table, state.volume_table
    rng = np.random.default_rng(5)
    ids = rng.choice(mine.pass_ids, 200)
    rows = mine.index_of(ids)
    t0 = mine.rise_tdb_s[rows] + rng.uniform(0, 1, 200) * (mine.set_tdb_s[rows] - mine.rise_tdb_s[rows])
    t1 = t0 + rng.uniform(0, 1, 200) * (mine.set_tdb_s[rows] - t0)
    assert np.array_equal(mine.volume_mbit(ids, t0, t1), theirs.volume_mbit(ids, t0, t1))
    assert state.passes.equals(result.state.passes.reset_index(drop=True))
    assert state.settings == result.state.settings
    assert set(state.stations) == {"Goldstone", "Madrid", "Canberra", "New Norcia", "Cebreros", "Malargue"}
    # the same plan renders the same bytes (the nightly job's byte-identical runs)
    assert result.render()["volumes.npz"] == (out / STATE_FILE).read_bytes()


# ----------------------------------------------------------------------------- veto

def test_replan_after_a_veto_removes_the_session_and_reoptimises(base, tmp_path, capsys):
    result, out = base
    victim = biggest_session(result)
    veto = write_csv(tmp_path / "veto.csv", f"pass_id,note\n{victim.pass_id},rejected by hand\n")
    new = result.replan(forbid=veto)
    assert victim.pass_id not in set(new.sessions["pass_id"])
    assert new.summary.figures.delivered_mbit < result.summary.figures.delivered_mbit + 1e-6
    # re-optimised: exactly the plan made from scratch with the veto at plan time (geometry recomputed)
    fresh = api.plan(str(BASELINE), START, DAYS, forbid=veto)
    assert new.problem.options == fresh.problem.options
    assert same_sessions(new.sessions, fresh.sessions)
    assert new.summary.solve.objective_points == pytest.approx(fresh.summary.solve.objective_points, abs=1e-6)
    # the session is in the diff as removed (or moved out of its pass)
    d = new.diff_record
    gone = [r for r in d["removed"] + d["moved"] if r["start_before"] == iso(victim.start)]
    assert len(gone) == 1
    # the CLI: the veto is recorded and the validator accepts the new plan from its files alone
    rc, text, err = run(["replan", out, "--forbid", veto, "--out", tmp_path / "new", "--quiet"], capsys)
    assert rc == 0, err
    p = json.loads((tmp_path / "new" / "problem.json").read_text())
    assert [v["pass_id"] for v in p["forbid"]] == [victim.pass_id]
    assert run(["validate", tmp_path / "new"], capsys)[0] == 0


# ----------------------------------------------------------------------------- outage

def test_replan_after_an_outage_removes_or_cuts_exactly_the_overlapped_sessions(base, tmp_path):
    result, _ = base
    s = biggest_session(result, "MRO")
    # MRO's UHF out from the middle of its biggest session for six hours
    t0 = float(s.start_tdb_s + s.end_tdb_s) / 2.0
    from relay.timescales import tdb_s_to_iso
    a, b = tdb_s_to_iso(t0), tdb_s_to_iso(t0 + 6 * 3600.0)
    outage = write_csv(tmp_path / "out.csv", f"target,what,start,end,note\nMRO,uhf,{a},{b},safe mode\n")
    lo, hi = tdb(a), tdb(b)
    new = result.replan(outages=outage)

    def hit(x):
        return x.orbiter == "MRO" and x.start_tdb_s < hi - 1e-3 and lo < x.end_tdb_s - 1e-3

    # the instance: every option off the outage kept as it was; every option over it removed or cut
    old_opts = {x.option_id: x for x in result.problem.options}
    new_opts = {x.option_id: x for x in new.problem.options}
    for oid, x in old_opts.items():
        if not hit(x):
            assert new_opts.get(oid) == x, oid
    for x in new.problem.options:
        assert not hit(x), x.option_id
        old = old_opts.get(x.option_id)
        if old is not None and hit(old):   # cut: the part of it off the outage, no more volume
            assert old.start_tdb_s - 1e-6 <= x.start_tdb_s < x.end_tdb_s <= old.end_tdb_s + 1e-6
            assert x.capacity_mbit <= old.capacity_mbit + 1e-9
    # the plan: no MRO session overlaps the outage; the old ones that did are gone or cut
    assert not any(hit(x) for x in new.plan.sessions)
    over = {(r.orbiter, r.asset, r.kind, round(r.start_tdb_s, 3), round(r.end_tdb_s, 3))
            for r in result.plan.sessions if hit(r)}
    assert over and not over & keys(new.sessions)
    # downlinks (X-band) untouched by a UHF outage
    assert [c for c in new.problem.downlinks] == [c for c in result.problem.downlinks]
    # and the same plan as planning from scratch with the outage
    fresh = api.plan(str(BASELINE), START, DAYS, outages=outage)
    assert new.problem.options == fresh.problem.options
    assert same_sessions(new.sessions, fresh.sessions)


# ----------------------------------------------------------------------------- the diff

def test_diff_counts_match_the_two_schedules(base, tmp_path):
    result, _ = base
    victims = result.sessions.sort_values("volume_mbit", ascending=False).iloc[:3]
    veto = write_csv(tmp_path / "veto.csv", "pass_id,note\n" + "".join(f"{p},x\n" for p in victims["pass_id"]))
    new = result.replan(forbid=veto)
    d = new.diff_record
    old_k, new_k = keys(result.sessions), keys(new.sessions)
    n_changed = len(d["changed"])
    assert d["unchanged"] + n_changed == len(old_k & new_k)
    # a session turned from return to forward (same times) is one "changed kind" row
    assert len(d["removed"]) + len(d["moved"]) + len(d["changed_kind"]) == len(old_k - new_k)
    assert len(d["added"]) + len(d["moved"]) + len(d["changed_kind"]) == len(new_k - old_k)
    assert len(d["removed"]) + len(d["moved"]) >= 3
    # the same answer as relay.nightly.diff on the whole schedules (plan_diff sets identical ones aside first)
    from relay.plandiff import diff_sessions
    from relay.plandiff import with_pass_windows as _with_pass_windows
    whole = diff_sessions(_with_pass_windows(result.sessions, result.problem),
                          _with_pass_windows(new.sessions, new.problem), unit_mbit=result.problem.volume_unit_mbit)
    def no_cause(rows):   # diff_sessions alone does not know the re-plan's records: causes aside
        return rows if not isinstance(rows, list) else [{k: v for k, v in r.items() if k != "cause"} for r in rows]

    for k in ("unchanged", "changed", "changed_kind", "moved", "removed", "added", "volume_by_asset"):
        assert no_cause(d[k]) == no_cause(whole[k]), k
    # volume per asset before and after: every session's returned data, forward (bidirectional) ones too
    for r in d["volume_by_asset"]:
        for df, col in ((result.sessions, "volume_before_mbit"), (new.sessions, "volume_after_mbit")):
            sel = df[df["asset"] == r["asset"]]
            assert r[col] == pytest.approx(sel["volume_mbit"].sum(), abs=1e-3)
    # diff.csv: one row per change, then one per asset
    table = pd.read_csv(pd.io.common.StringIO(new.render()["diff.csv"]))
    counts = table["change"].value_counts().to_dict()
    assert counts.get("removed", 0) == len(d["removed"]) and counts.get("added", 0) == len(d["added"])
    assert counts.get("moved", 0) == len(d["moved"])
    assert counts["asset_volume"] == len(d["volume_by_asset"])


# ----------------------------------------------------------------------------- API == CLI

def test_api_replan_equals_cli_replan(base, tmp_path, capsys):
    result, out = base
    victim = biggest_session(result, "TGO")
    veto = write_csv(tmp_path / "veto.csv", f"orbiter,asset,start,end,note\nTGO,{victim.asset},"
                                            f"{iso(victim.start)},{iso(victim.end)},slew\n")
    rc, text, err = run(["replan", out, "--forbid", veto, "--out", tmp_path / "cli"], capsys)
    assert rc == 0, err
    assert "removed" in text and "volume by asset" in text
    texts = result.replan(forbid=veto).render()
    # the report lists the veto with the pass it blocks, and the changes against PLANDIR
    html = (tmp_path / "cli" / "report.html").read_text()
    assert "id='diff-table'" in html and "id='operations-table'" in html and victim.pass_id in html
    for name in ("schedule.csv", "downlinks.csv", "passes.csv", "store.csv", "sols.csv", "requests.csv", "diff.csv",
                 "problem.json", "volumes.npz"):
        got = (tmp_path / "cli" / name).read_bytes()
        want = texts[name] if isinstance(texts[name], bytes) else texts[name].encode("utf-8")
        assert got == want, name


def test_replan_of_a_replan_keeps_the_earlier_inputs(base, tmp_path, capsys):
    result, out = base
    s1, s2 = result.sessions.sort_values("volume_mbit", ascending=False).iloc[:2].itertuples(index=False)
    v1 = write_csv(tmp_path / "v1.csv", f"pass_id,note\n{s1.pass_id},first\n")
    v2 = write_csv(tmp_path / "v2.csv", f"pass_id,note\n{s2.pass_id},second\n")
    assert run(["replan", out, "--forbid", v1, "--out", tmp_path / "a", "--quiet"], capsys)[0] == 0
    assert run(["replan", tmp_path / "a", "--forbid", v2, "--out", tmp_path / "b", "--quiet"], capsys)[0] == 0
    sched = pd.read_csv(tmp_path / "b" / "schedule.csv")
    assert not {s1.pass_id, s2.pass_id} & set(sched["pass_id"])
    both = result.replan(forbid=pd.concat([pd.read_csv(v1), pd.read_csv(v2)], ignore_index=True))
    assert list(sched["option_id"]) == list(both.sessions["option_id"])


# ----------------------------------------------------------------------------- locks and requests

def test_replan_with_a_lock_and_a_request(base, tmp_path):
    result, _ = base
    # lock a session the plan did not choose: an unused pass of TGO long enough for one
    unused = result.passes[~result.passes["used"] & (result.passes["orbiter"] == "TGO")
                           & (result.passes["volume_mbit"] > 5)]
    p = unused.iloc[0]
    lock = write_csv(tmp_path / "lock.csv", f"orbiter,asset,start,end\nTGO,{p.asset},"
                                            f"{iso(p.rise)},{iso(p.set)}\n")
    new = result.replan(lock=lock)
    held = new.sessions[new.sessions["pass_id"] == p.pass_id]
    assert len(held) == 1 and bool(held["fixed"].iloc[0])
    # a required request in a window: met by a session inside it (checked here by its times)
    s = biggest_session(result, "MAVEN")
    a, b = iso(s.start), iso(s.end)
    req = write_csv(tmp_path / "req.csv", f"id,asset,orbiter,kind,start,end,priority,min_mbit\n"
                                          f"R1,{s.asset},MAVEN,return,{a},{b},required,1\n")
    new = result.replan(requests=req)
    row = new.requests.set_index("id").loc["R1"]
    assert row["status"] == "met"
    ses = new.sessions.set_index("option_id").loc[row["sessions"].split(";")]
    assert (ses["orbiter"] == "MAVEN").all() and (ses["start_tdb_s"] >= tdb(a) - 1e-3).all()
    assert (ses["end_tdb_s"] <= tdb(b) + 1e-3).all()


# ----------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("name,text,needle", [
    ("forbid", "orbiter,asset,start,end\nJuno,Curiosity,2026-11-23T01:00:00Z,2026-11-23T02:00:00Z\n", "Juno"),
    ("outages", "target,what,start,end\nMRO,all,2026-11-23T05:00:00Z,2026-11-23T04:00:00Z\n", "end"),
    ("outages", "target,what,start,end\nMRO,all,2027-03-01T00:00:00Z,2027-03-02T00:00:00Z\n", "horizon"),
    ("requests", "id,asset,kind,start,end,priority\nR1,Zhurong,return,2026-11-23T01:00:00Z,2026-11-23T02:00:00Z,"
                 "required\n", "Zhurong"),
    ("lock", "orbiter,asset,start,end\nTGO,Curiosity,2026-11-23T01:00:00Z,2026-11-23T00:30:00Z\n", "end"),
])
def test_bad_input_exits_2_and_writes_nothing(base, tmp_path, capsys, name, text, needle):
    _, out = base
    before = snapshot(out)
    f = write_csv(tmp_path / f"{name}.csv", text)
    rc, _, err = run(["replan", out, f"--{name}", f, "--out", tmp_path / "new"], capsys)
    assert rc == 2, err
    assert str(f) in err and "line 2" in err and needle in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "new").exists()
    assert snapshot(out) == before


def test_outage_over_a_lock_is_an_error(base, tmp_path, capsys):
    result, out = base
    s = biggest_session(result, "TGO")
    a, b = iso(s.start), iso(s.end)
    lock = write_csv(tmp_path / "lock.csv", f"orbiter,asset,start,end\nTGO,{s.asset},{a},{b}\n")
    outage = write_csv(tmp_path / "out.csv", f"target,what,start,end\nTGO,all,{a},{b}\n")
    rc, _, err = run(["replan", out, "--lock", lock, "--outages", outage, "--out", tmp_path / "new"], capsys)
    assert rc == 2 and str(outage) in err and "locked" in err and "Traceback" not in err
    assert not (tmp_path / "new").exists()


def test_a_plan_folder_without_its_volumes_or_onto_itself(base, tmp_path, capsys):
    _, out = base
    partial = tmp_path / "partial"
    partial.mkdir()
    for f in out.iterdir():
        if f.name != STATE_FILE:
            (partial / f.name).write_bytes(f.read_bytes())
    rc, _, err = run(["replan", partial, "--out", tmp_path / "new"], capsys)
    assert rc == 2 and STATE_FILE in err and str(partial) in err and not (tmp_path / "new").exists()
    (partial / STATE_FILE).write_bytes(b"PK\x03\x04 not a real archive")
    rc, _, err = run(["replan", partial, "--out", tmp_path / "new"], capsys)
    assert rc == 2 and STATE_FILE in err and "Traceback" not in err
    before = snapshot(out)
    rc, _, err = run(["replan", out, "--out", out], capsys)
    assert rc == 2 and "--out" in err and snapshot(out) == before


# ----------------------------------------------------------------------------- the shipped example

@pytest.fixture(scope="module")
def example(tmp_path_factory):
    out = tmp_path_factory.mktemp("example") / "plan"
    result = api.plan(str(EXAMPLE), START, 7.0)
    result.write(out)
    return result, out


def test_example_plans_cleanly_and_its_report_shows_each_input(example, capsys):
    import yaml

    result, out = example
    cfg = yaml.safe_load(EXAMPLE.read_text())
    fig = result.summary.figures
    assert result.summary.solve.status == "OPTIMAL" and not fig.violations
    assert run(["validate", out], capsys)[0] == 0
    kinds = {(o["target"], o["what"]) for o in cfg["outages"]}
    assert {("MRO", "all"), ("New Norcia", "xband"), ("Perseverance", "uhf")} <= kinds
    assert len(cfg["forbid"]) == 1
    prio = [r["priority"] for r in cfg["requests"]]
    assert prio.count("required") == 2 and prio.count("preferred") == 2
    req = pd.read_csv(out / "requests.csv").set_index("id")
    assert list(req.index) == [r["id"] for r in cfg["requests"]]
    assert (req.loc[req["priority"] == "required", "status"] == "met").all()
    from relay.explain import REASONS
    assert set(req["status"]) <= {"met", "unmet"} and set(req["reason"]) <= set(REASONS)
    # an unmet request says why by the passes in its window; a met one names its sessions, held in the plan
    for rid, r in req.iterrows():
        if r["status"] == "met":
            assert set(str(r["sessions"]).split(";")) <= set(result.sessions["option_id"])
        else:
            assert isinstance(r["reason_detail"], str)
            assert any(p in r["reason_detail"] for p in result.passes["pass_id"])
    html = (out / "report.html").read_text()
    for o in cfg["outages"] + cfg["forbid"]:
        assert o["note"] in html
    for r in cfg["requests"]:
        assert r["id"] in html
    # every session avoids the outages of the resources it uses and the veto, by its times
    v = cfg["forbid"][0]
    for s in result.plan.sessions:
        for o in cfg["outages"]:
            if o["target"] in (s.orbiter, s.asset) and o["what"] in ("uhf", "all"):
                assert not (s.start_tdb_s < tdb(o["end"]) and tdb(o["start"]) < s.end_tdb_s), (s, o)
        if s.orbiter == v["orbiter"] and s.asset == v["asset"]:
            assert not (s.start_tdb_s < tdb(v["end"]) and tdb(v["start"]) < s.end_tdb_s), s
    # the cancelled station pass: no TGO downlink at New Norcia in that span
    nn = [o for o in cfg["outages"] if o["target"] == "New Norcia"][0]
    for d in result.plan.downlinks:
        if d.orbiter == "TGO" and d.station == "New Norcia" and d.volume_mbit > 1e-6:
            assert not (d.start_tdb_s < tdb(nn["end"]) and tdb(nn["start"]) < d.end_tdb_s), d


# ----------------------------------------------------------------------------- the nightly job



def test_nightly_drops_a_frozen_session_under_a_new_outage_and_exits_3(tmp_path, capsys):
    cfg = tmp_path / "scenario.yaml"
    cfg.write_text(NIGHTLY.replace("name: nightly-test", "name: nightly-ops"))
    drop, archive = tmp_path / "drop", tmp_path / "archive" / "plans.db"
    drop.mkdir()
    out = archive.parent / "plans-out"

    def night(start):
        return run(["nightly", cfg, "--archive", archive, "--drop", drop, "--start", start], capsys)

    rc, text, err = night("2026-11-23T00:00:00Z")
    assert rc == 0, err + text
    first = pd.read_csv(out / "runs" / "1" / "schedule.csv")
    t2 = tdb("2026-11-24T00:00:00Z")
    frozen = first[(first["start_tdb_s"] >= t2) & (first["start_tdb_s"] < t2 + 86400.0)]
    assert len(frozen) >= 2
    victim = frozen.iloc[0]
    from relay.timescales import tdb_s_to_iso
    a, b = tdb_s_to_iso(victim.start_tdb_s - 60.0), tdb_s_to_iso(victim.end_tdb_s + 60.0)
    (drop / "outages-1124.csv").write_text(
        f"target,what,start,end,note\nTGO,uhf,{a},{b},safe mode\nTGO,all,2026-12-20T00:00:00Z,"
        "2026-12-21T00:00:00Z,next month\n")
    rc, text, err = night("2026-11-24T00:00:00Z")
    assert rc == 3, err + text
    assert "DEGRADED" in text and "dropped" in text and "outages-1124.csv" in text and "line 2" in text
    second = pd.read_csv(out / "runs" / "2" / "schedule.csv")
    # no session overlaps the outage; every other frozen session is kept exactly
    assert not ((second["start_tdb_s"] < tdb(b)) & (second["end_tdb_s"] > tdb(a))).any()
    for r in frozen.iloc[1:].itertuples(index=False):
        assert ((second["start_tdb_s"] - r.start_tdb_s).abs() < 1e-2).any(), r
    job = json.loads((out / "runs" / "2" / "nightly.json").read_text())
    job = job.get("nightly", job)
    assert len(job["frozen_sessions_dropped"]) == 1 and job["fixed_sessions_missing"] == []
    assert "outside this run's horizon" in text   # the row of next month is left out, and said so
