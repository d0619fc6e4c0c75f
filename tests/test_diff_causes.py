"""A re-plan's diff names, for every change, its pass, kind, the asset's sol and LMST, and its
cause: the outage, veto, request or lock (file and line) that forced it, or the session that
displaced it (issue 19, "Diffs carry their cause").  Small instances with hand-checked answers:
the small scenario's first day (11 sessions, each a whole pass) and hand-made session tables."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import relay.api as api
from relay.cli import main
from relay.plandiff import KIND_CHANGE, diff_sessions, diff_table, volume_by_asset

START = "2026-11-23T00:00:00Z"
ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "configs" / "examples" / "replan-week"

pytestmark = pytest.mark.xdist_group("replan")


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def base(small_config, tmp_path_factory):
    """The small scenario's first day, planned and written: (result, plan folder)."""
    out = tmp_path_factory.mktemp("small") / "plan"
    result = api.plan(str(small_config), START, 1.0)
    result.write(out)
    return result, out


def session(result, pass_id):
    return result.sessions.set_index("pass_id").loc[pass_id]


def rows(d):
    return [r for k in ("removed", "added", "moved", "changed", "changed_kind") for r in d[k]]


def test_an_outage_names_itself_with_its_file_and_line_on_the_session_it_removes(base, tmp_path):
    result, _ = base
    victim = session(result, "TGO-Perseverance-20261123T0952")          # TGO -> Perseverance 09:52-10:05, 317.5 Mbit
    assert (victim["orbiter"], victim["asset"]) == ("TGO", "Perseverance")
    outages = write(tmp_path / "outages.csv", "target,what,start,end,note\n"
                    "TGO,all,2026-11-23T09:00:00Z,2026-11-23T10:30:00Z,safe mode\n")
    d = result.replan(outages=outages).diff_record
    gone = [r for r in d["removed"] + d["moved"] if r["pass_id"] == "TGO-Perseverance-20261123T0952"]
    assert len(gone) == 1
    r = gone[0]
    assert r["cause"] == ("outage of TGO (all) 2026-11-23T09:00Z to 2026-11-23T10:30Z 'safe mode' "
                          "(outages.csv line 2)")
    assert r["kind"] == "return" and r["sol"] == victim["sol"] and r["lmst_before"] == victim["lmst_start"]
    assert all(x["cause"] for x in rows(d))


def test_a_veto_of_a_pass_names_itself_and_the_lost_volume_is_the_sessions(base, tmp_path):
    result, _ = base
    victim = session(result, "TGO-Curiosity-20261123T0548")          # TGO -> Curiosity 05:48-06:00, 197.3 Mbit
    veto = write(tmp_path / "veto.csv", "pass_id,note\nTGO-Curiosity-20261123T0548,\n")
    new = result.replan(forbid=veto)
    d = new.diff_record
    r = [x for x in d["removed"] if x["pass_id"] == "TGO-Curiosity-20261123T0548"]
    assert r and r[0]["cause"] == "veto of pass TGO-Curiosity-20261123T0548 (veto.csv line 2)"
    # the asset's volume row is the sum of its sessions' changes, forward sessions included
    vol = {v["asset"]: v for v in d["volume_by_asset"]}["Curiosity"]
    for df, col in ((result.sessions, "volume_before_mbit"), (new.sessions, "volume_after_mbit")):
        assert vol[col] == pytest.approx(df.loc[df["asset"] == "Curiosity", "volume_mbit"].sum(), abs=1e-3)
    lost = sum(x["volume_before_mbit"] or 0 for x in d["removed"] if x["asset"] == "Curiosity")
    assert lost >= victim["volume_mbit"] - 1e-6


def test_a_forward_request_turns_a_session_forward_in_one_row_through_the_command(base, tmp_path, capsys):
    result, folder = base
    victim = session(result, "TGO-Perseverance-20261123T0952")
    req = write(tmp_path / "requests.csv", "id,asset,orbiter,kind,start,end,min_duration_s\n"
                "PER-up,Perseverance,TGO,forward,2026-11-23T09:30:00Z,2026-11-23T10:30:00Z,300\n")
    out = tmp_path / "after"
    assert main(["replan", str(folder), "--requests", str(req), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    table = pd.read_csv(out / "diff.csv", dtype={"lmst_before": str, "lmst_after": str})
    kind = table[table["change"] == KIND_CHANGE]
    assert len(kind) == 1
    k = kind.iloc[0]
    assert (k["orbiter"], k["asset"], k["kind"], k["pass_id"]) == ("TGO", "Perseverance", "return->forward",
                                                                   "TGO-Perseverance-20261123T0952")
    assert k["start_before"] == k["start_after"] and k["sol"] == victim["sol"]
    assert k["cause"] == "request PER-up (requests.csv line 2)"
    # not also a removed and an added session with the same times
    assert not ((table["change"].isin(["removed", "added"]))
                & (table["pass_id"] == "TGO-Perseverance-20261123T0952")).any()
    assert "1 changed kind" in text
    assert "* kind    TGO -> Perseverance [TGO-Perseverance-20261123T0952, return->forward" in text
    assert "cause: request PER-up (requests.csv line 2)" in text
    changes = table[table["change"] != "asset_volume"]
    assert changes["cause"].fillna("").str.len().gt(0).all()


def test_a_lock_names_itself_on_the_session_it_moves(base, tmp_path):
    result, _ = base
    # MRO -> Perseverance MRO-Perseverance-20261123T1544, 15:44:33-15:52:30, locked shorter
    lock = write(tmp_path / "lock.csv", "orbiter,asset,start,end\n"
                 "MRO,Perseverance,2026-11-23T15:45:00Z,2026-11-23T15:50:00Z\n")
    d = result.replan(lock=lock).diff_record
    r = [x for x in d["moved"] if x["pass_id"] == "MRO-Perseverance-20261123T1544"]
    assert len(r) == 1 and r[0]["start_before"].startswith("2026-11-23T15:44:33")
    assert r[0]["cause"] == "lock MRO -> Perseverance 2026-11-23T15:45Z to 2026-11-23T15:50Z (lock.csv line 2)"


def frame(data):
    df = pd.DataFrame(data, columns=["orbiter", "asset", "start", "end", "start_tdb_s", "end_tdb_s", "volume_mbit",
                                     "kind", "pass_id"])
    return df


def test_a_session_without_a_record_is_displaced_by_the_one_that_took_its_time():
    a = frame([["O", "A", "2026-01-01T01:00:00Z", "2026-01-01T01:10:00Z", 3600.0, 4200.0, 10.0, "return", "P1"],
               ["O", "B", "2026-01-01T02:00:00Z", "2026-01-01T02:10:00Z", 7200.0, 7800.0, 5.0, "return", "P2"],
               ["Q", "B", "2026-01-01T05:00:00Z", "2026-01-01T05:10:00Z", 18000.0, 18600.0, 5.0, "return", "P4"]])
    b = frame([["O", "A", "2026-01-01T01:00:00Z", "2026-01-01T01:10:00Z", 3600.0, 4200.0, 10.0, "return", "P1"],
               ["O", "C", "2026-01-01T02:05:00Z", "2026-01-01T02:15:00Z", 7500.0, 8100.0, 8.0, "return", "P3"],
               ["Q", "B", "2026-01-01T05:00:00Z", "2026-01-01T05:10:00Z", 18000.0, 18600.0, 5.0, "forward", "P4"]])
    d = diff_sessions(a, b)
    assert [(r["pass_id"], r["cause"]) for r in d["removed"]] == [("P2", "displaced by O->C 02:05-02:15 (P3)")]
    assert [(r["pass_id"], r["cause"]) for r in d["added"]] == [("P3", "in place of O->B 2026-01-01 02:00-02:10 (P2)")]
    assert [(r["pass_id"], r["kind"]) for r in d["changed_kind"]] == [("P4", "return->forward")]
    assert d["changed_kind"][0]["cause"].startswith("re-optimised")
    t = diff_table(d)
    assert list(t["change"]) == ["removed", "added", KIND_CHANGE, "asset_volume", "asset_volume", "asset_volume"]
    # a forward session's data counts in its asset's volume (B: 5 + 5 before, 5 after)
    assert {r["asset"]: r["change_mbit"] for r in volume_by_asset(a, b)} == {"A": 0.0, "B": -5.0, "C": 8.0}


def test_the_shipped_example_files_exist_and_read():
    for name in ("outages.csv", "forbid.csv", "requests.csv"):
        assert (EXAMPLE / name).is_file()
    text = (EXAMPLE / "outages.csv").read_text()
    assert "TGO" in text and "Goldstone" in text


@pytest.mark.slow
def test_the_shipped_week_gives_a_cause_on_every_row(tmp_path, capsys):
    """configs/examples/replan-week: the baseline week from 2026-12-14, a 36 h TGO outage, an 8 h
    Goldstone outage, a Perseverance request and a Curiosity veto."""
    base = ROOT / "configs" / "baseline.yaml"
    assert main(["plan", str(base), "--days", "7", "--start", "2026-12-14", "--out", str(tmp_path / "week"),
                 "--quiet"]) == 0
    assert main(["replan", str(tmp_path / "week"), "--outages", str(EXAMPLE / "outages.csv"), "--requests",
                 str(EXAMPLE / "requests.csv"), "--forbid", str(EXAMPLE / "forbid.csv"), "--out",
                 str(tmp_path / "week-2")]) == 0
    capsys.readouterr()
    table = pd.read_csv(tmp_path / "week-2" / "diff.csv")
    changes = table[table["change"] != "asset_volume"]
    assert len(changes) > 0 and changes["cause"].fillna("").str.len().gt(0).all()
    assert changes["cause"].str.contains("outages.csv line 2").any()
    assert changes["cause"].str.contains("forbid.csv line 2").any()
    assert (changes["cause"] == "request PER-fwd-1218 (requests.csv line 2)").any()
    # the Earth leg is the model's choice (issue 19, the default): the Goldstone outage removes Goldstone
    # downlinks, and others take their place
    gold = changes[changes["cause"].str.contains("outages.csv line 3")]
    assert ((gold["change"] == "downlink removed") & (gold["station"] == "Goldstone")).any()
    assert ((gold["change"] == "downlink added") & (gold["station"] != "Goldstone")).any()
    # the per-asset rows add up to the sessions' changes
    for asset, row in table[table["change"] == "asset_volume"].set_index("asset").iterrows():
        mine = changes[changes["asset"] == asset]
        delta = mine["volume_after_mbit"].fillna(0).sum() - mine["volume_before_mbit"].fillna(0).sum()
        assert row["volume_after_mbit"] - row["volume_before_mbit"] == pytest.approx(delta, abs=0.01)
