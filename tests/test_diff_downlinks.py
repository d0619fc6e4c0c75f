"""The Earth leg in a re-plan's diff (issue 19, "The Earth leg is chosen, not first-come"):
downlinks removed, added and moved, each with its cause (a station outage with its file and
line), and the latency to Earth per asset before and after.

The baseline week from 2026-12-14 with ``planning.earth_leg: chosen``, planned once, re-planned
with an 8 h Goldstone outage over the afternoon (UTC) of the 16th, when Goldstone sees Mars and
the chosen plan uses it (the reference: the old plan's own Goldstone downlinks over those hours),
and with nothing changed; small hand-made downlink tables for the matching rules.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import relay.api as api
from relay.cli import main
from relay.config import load_scenario
from relay.outputs.tables import iso_text
from relay.plandiff import DIFF_CSV_COLUMNS, diff_lines, diff_table, diff_text
from relay.plandiff_downlinks import REOPTIMISED, diff_downlinks, latency_rows
from relay.planning.problem import OutageSpan
from relay.timescales import parse_utc, utc_to_tdb_s

ROOT = Path(__file__).resolve().parents[1]
START = "2026-12-14T00:00:00Z"
OUT_FROM, OUT_TO = "2026-12-16T12:00:00Z", "2026-12-16T20:00:00Z"
OUTAGE = f"target,what,start,end,note\nGoldstone,all,{OUT_FROM},{OUT_TO},Goldstone antenna maintenance (8 h)\n"
CAUSE = ("outage of Goldstone (all) 2026-12-16T12:00Z to 2026-12-16T20:00Z 'Goldstone antenna maintenance (8 h)' "
         "(goldstone.csv line 2)")

pytestmark = pytest.mark.xdist_group("replan")


@pytest.fixture(scope="module")
def week(tmp_path_factory):
    """(the chosen-Earth-leg plan of the baseline week, written to a folder; the folder; the outage CSV)."""
    tmp = tmp_path_factory.mktemp("earth-leg")
    sc = load_scenario(ROOT / "configs" / "baseline.yaml", overrides={"planning.earth_leg": "chosen"})
    result = api.plan(sc, START, 7.0)
    result.write(tmp / "week")
    outage = tmp / "goldstone.csv"
    outage.write_text(OUTAGE, encoding="utf-8")
    return result, tmp / "week", outage


def _tdb(iso: str) -> float:
    return float(utc_to_tdb_s(parse_utc(iso)))


def _key(df):
    return sorted(zip(df["orbiter"], df["station"], df["start_tdb_s"].astype(float).round(3)))


def _latency_ok(asset_rows: pd.DataFrame, before, after) -> None:
    assert set(asset_rows.index) == set(before) | set(after) and len(asset_rows)
    for asset, row in asset_rows.iterrows():
        assert row["mean_latency_before_h"] == pytest.approx(before[asset].mean_h, abs=1e-6)
        assert row["worst_latency_before_h"] == pytest.approx(before[asset].worst_h, abs=1e-6)
        assert row["mean_latency_after_h"] == pytest.approx(after[asset].mean_h, abs=1e-6)
        assert row["worst_latency_after_h"] == pytest.approx(after[asset].worst_h, abs=1e-6)


def test_a_goldstone_outage_removes_goldstone_downlinks_and_names_itself(week, capsys):
    result, folder, outage = week
    lo, hi = _tdb(OUT_FROM), _tdb(OUT_TO)
    dl = result.downlinks
    hit = dl[(dl["station"] == "Goldstone") & (dl["start_tdb_s"] < hi) & (dl["end_tdb_s"] > lo)]
    assert len(hit) > 0, "the chosen plan uses Goldstone over the outage's hours"

    new = result.replan(outages=outage)
    # the new plan has no Goldstone downlink over the outage
    nd = new.downlinks
    assert not ((nd["station"] == "Goldstone") & (nd["start_tdb_s"] < hi) & (nd["end_tdb_s"] > lo)).any()
    table = new.diff
    assert list(table.columns) == DIFF_CSV_COLUMNS
    down = table[table["what"] == "downlink"]
    assert set(down["change"]) <= {"downlink removed", "downlink added", "downlink moved"}
    gone = down[down["cause"] == CAUSE]
    # exactly the old plan's Goldstone downlinks over the outage, removed (or moved) with the outage as cause
    assert sorted(zip(gone["orbiter"], gone["station"], gone["start_before"])) == \
        sorted(zip(hit["orbiter"], hit["station"], iso_text(hit["start"])))
    assert (gone["change"] == "downlink removed").all() and gone["volume_after_mbit"].isna().all()
    assert (down["cause"].fillna("").str.len() > 0).all()
    # the sessions are the same ones; session rows keep their columns and carry what = session
    assert (table.loc[table["what"] == "session", "change"].isin(
        ["removed", "added", "moved", "changed", "changed kind"])).all()
    # latency rows: the two summaries' figures
    asset_rows = table[table["change"] == "asset_volume"].set_index("asset")
    assert (asset_rows["what"] == "asset").all()
    _latency_ok(asset_rows, result.summary.latency_by_asset, new.summary.latency_by_asset)
    text = diff_lines(new.diff_record, "week", "week-2")
    assert "  - downlink removed " in text and f"cause: {CAUSE}" in text
    assert "latency to Earth by asset (h, mean / worst, before -> after):" in text


def test_relay_replan_of_the_folder_writes_the_downlink_and_latency_rows(week, tmp_path, capsys):
    result, folder, outage = week
    assert main(["replan", str(folder), "--outages", str(outage), "--out", str(tmp_path / "week-2")]) == 0
    text = capsys.readouterr().out
    assert "downlink removed" in text and CAUSE in text and "latency to Earth by asset" in text
    table = pd.read_csv(tmp_path / "week-2" / "diff.csv")
    gone = table[(table["what"] == "downlink") & (table["cause"] == CAUSE)]
    assert len(gone) > 0 and (gone["station"] == "Goldstone").all()
    again = result.replan(outages=outage).diff
    # the folder (downlinks read back from downlinks.csv) gives the API's downlink rows
    cols = ["change", "orbiter", "station", "start_before", "start_after", "cause"]
    assert table.loc[table["what"] == "downlink", cols].fillna("").values.tolist() == \
        again.loc[again["what"] == "downlink", cols].fillna("").values.tolist()
    lat = {k: json.loads((p / "summary.json").read_text())["latency_by_asset"]
           for k, p in (("before", folder), ("after", tmp_path / "week-2"))}
    rows = table[table["change"] == "asset_volume"].set_index("asset")
    for asset, row in rows.iterrows():
        assert row["worst_latency_before_h"] == pytest.approx(lat["before"][asset]["worst_h"])
        assert row["worst_latency_after_h"] == pytest.approx(lat["after"][asset]["worst_h"])
        assert row["mean_latency_after_h"] == pytest.approx(lat["after"][asset]["mean_h"])


def test_a_replan_with_nothing_changed_has_no_downlink_rows(week):
    result, _, _ = week
    new = result.replan()
    d = new.diff_record["downlinks"]
    assert (d["removed"], d["added"], d["moved"]) == ([], [], []) and d["unchanged"] == len(result.downlinks)
    table = new.diff
    assert not (table["what"] == "downlink").any()
    _latency_ok(table[table["change"] == "asset_volume"].set_index("asset"), result.summary.latency_by_asset,
                new.summary.latency_by_asset)


# ----------------------------------------------------------------------------- the matching rules, by hand

def _dl(rows):
    return pd.DataFrame([{"orbiter": o, "station": st, "start": pd.Timestamp(s, tz="UTC"),
                          "end": pd.Timestamp(e, tz="UTC"), "volume_mbit": v,
                          "start_tdb_s": pd.Timestamp(s).timestamp(), "end_tdb_s": pd.Timestamp(e).timestamp()}
                         for o, st, s, e, v in rows])


class _Cause:
    def __init__(self, what, span, label):
        self.what, self.span, self.label = what, span, label


def test_matching_same_moved_removed_added_and_causes():
    old = _dl([("MRO", "Madrid", "2026-12-14T01:00", "2026-12-14T02:00", 10.0),      # same times: unchanged
               ("MRO", "Madrid", "2026-12-14T05:00", "2026-12-14T06:00", 10.0),      # overlapped: moved
               ("MRO", "Goldstone", "2026-12-14T15:00", "2026-12-14T16:00", 8.0),    # outage: removed
               ("TGO", "Canberra", "2026-12-14T20:00", "2026-12-14T21:00", 5.0)])    # other station: removed+added
    new = _dl([("MRO", "Madrid", "2026-12-14T01:00", "2026-12-14T02:00", 12.5),      # volume alone: unchanged
               ("MRO", "Madrid", "2026-12-14T05:30", "2026-12-14T06:30", 10.0),
               ("MRO", "Canberra", "2026-12-14T18:00", "2026-12-14T19:00", 8.0),
               ("TGO", "New Norcia", "2026-12-14T20:00", "2026-12-14T21:00", 5.0)])
    span = OutageSpan(target="Goldstone", kind="station", what="all",
                      start_tdb_s=pd.Timestamp("2026-12-14T14:00").timestamp(),
                      end_tdb_s=pd.Timestamp("2026-12-14T22:00").timestamp())
    d = diff_downlinks(old, new, [_Cause("outage", span, "outage of Goldstone (x.csv line 2)")])
    assert d["unchanged"] == 1
    assert [(r["station"], r["shift_s"], r["end_shift_s"]) for r in d["moved"]] == [("Madrid", 1800.0, 1800.0)]
    assert [(r["orbiter"], r["station"], r["cause"]) for r in d["removed"]] == [
        ("MRO", "Goldstone", "outage of Goldstone (x.csv line 2)"),
        ("TGO", "Canberra", f"{REOPTIMISED}, replaced by TGO->New Norcia 2026-12-14T20:00Z")]
    causes = {r["station"]: r["cause"] for r in d["added"]}
    assert causes["Canberra"] == ("in place of MRO->Goldstone 2026-12-14T15:00Z, removed by outage of Goldstone "
                                  "(x.csv line 2)")
    assert causes["New Norcia"] == f"{REOPTIMISED}, in place of TGO->Canberra 2026-12-14T20:00Z"
    assert d["moved"][0]["cause"] == REOPTIMISED
    # nothing changed: no rows
    same = diff_downlinks(old, old)
    assert (same["removed"], same["added"], same["moved"], same["unchanged"]) == ([], [], [], 4)


def test_latency_rows_pair_the_two_summaries():
    rows = latency_rows({"A": {"mean_h": 1.0, "worst_h": 2.0}}, {"A": {"mean_h": 1.5, "worst_h": 4.0},
                                                                 "B": {"mean_h": 3.0, "worst_h": 3.5}})
    assert rows == [{"asset": "A", "mean_latency_before_h": 1.0, "mean_latency_after_h": 1.5,
                     "worst_latency_before_h": 2.0, "worst_latency_after_h": 4.0},
                    {"asset": "B", "mean_latency_before_h": None, "mean_latency_after_h": 3.0,
                     "worst_latency_before_h": None, "worst_latency_after_h": 3.5}]


def test_the_printed_diff_of_two_runs_gives_the_latency_of_the_whole_plans():
    d = {"run_before": 1, "run_after": 2, "span_start": "s", "span_end": "e", "unchanged": 3, "changed": [],
         "moved": [], "added": [], "removed": [], "outside_before": 0, "outside_after": 0,
         "volume_by_asset": [{"asset": "A", "volume_before_mbit": 1.0, "volume_after_mbit": 1.0, "change_mbit": 0.0}],
         "latency_over": " of the whole plans",
         "latency_by_asset": latency_rows({"A": {"mean_h": 1.0, "worst_h": 2.0}},
                                          {"A": {"mean_h": 1.25, "worst_h": 4.5}})}
    text = diff_text(d)
    assert "  latency to Earth by asset of the whole plans (h, mean / worst, before -> after):\n" \
           "    A: 1.00 / 2.00 -> 1.25 / 4.50" in text
    row = diff_table(d).set_index("change").loc["asset_volume"]
    assert (row["what"], row["worst_latency_before_h"], row["worst_latency_after_h"]) == ("asset", 2.0, 4.5)
    assert "downlink" not in text
