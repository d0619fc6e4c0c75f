"""Stable pass ids (issue 19, "Pass ids are stable"): a pass is named by its orbiter, asset and the
UTC minute of its true rise (relay.ids), so the same overflight has the same id in every run and
re-plan whose span holds it; and a re-plan's ``result.diff`` is a DataFrame (diff.csv's rows)."""
from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import relay.api as api
import relay.planstate as planstate
from relay.cli import main
from relay.ids import LABEL_COLUMN, legacy_pass_label, name_token, pass_labels, stable_labels
from relay.plandiff import DIFF_CSV_COLUMNS
from relay.planstate import ReplanState
from relay.timescales import parse_utc, utc_to_tdb_s

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "configs" / "baseline.yaml"
NETWORK = ROOT / "configs" / "network-6.yaml"
#: a plain token: safe in file names, CSV cells and HTML without quoting or escaping
TOKEN = re.compile(r"^[A-Za-z0-9_]+-[A-Za-z0-9_]+-\d{8}T\d{4}(-[0-9a-f]{4})?(-\d+)?$")


def tdb(text: str) -> float:
    return utc_to_tdb_s(parse_utc(text))


# ----------------------------------------------------------------------------- the spelling

def test_an_id_is_orbiter_asset_and_the_utc_minute_of_the_rise_floored():
    rise = [tdb("2026-12-14T03:12:59.900Z"), tdb("2026-12-14T03:13:00.000Z")]
    assert stable_labels(["TGO", "TGO"], ["Curiosity", "Curiosity"], rise) == [
        "TGO-Curiosity-20261214T0312", "TGO-Curiosity-20261214T0313"]


def test_names_become_plain_tokens():
    assert name_token("Rosalind Franklin") == "Rosalind_Franklin"
    assert name_token("Mars-Express / MEX, \"2\"") == "Mars_Express_MEX_2"
    assert name_token("Zhurong 祝融") == "Zhurong" and name_token("祝融") == "X"
    (label,) = stable_labels(["MRO"], ["Rosalind Franklin"], [tdb("2026-12-15T22:47:30Z")])
    assert label == "MRO-Rosalind_Franklin-20261215T2247" and TOKEN.match(label)


def test_collisions_get_a_deterministic_suffix():
    t = tdb("2026-12-14T03:12:10Z")
    # two names that differ only in the characters replaced: each gets a hash of its exact names
    labels = stable_labels(["TGO", "TGO"], ["Rosalind Franklin", "Rosalind_Franklin"], [t, t + 5])
    assert len(set(labels)) == 2 and all(x.startswith("TGO-Rosalind_Franklin-20261214T0312-") for x in labels)
    assert stable_labels(["TGO", "TGO"], ["Rosalind_Franklin", "Rosalind Franklin"], [t + 5, t]) == labels[::-1]
    # two windows of one pair in the same minute (a terrain mask splits a pass): the later gets -2
    assert stable_labels(["TGO"] * 3, ["Curiosity"] * 3, [t + 30, t, t + 200]) == [
        "TGO-Curiosity-20261214T0312-2", "TGO-Curiosity-20261214T0312", "TGO-Curiosity-20261214T0315"]
    assert all(TOKEN.match(x) for x in labels)


# ----------------------------------------------------------------------------- across runs

def same_overflights(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """The passes of ``b`` matched to those of ``a`` by orbiter, asset and rise (within 10 ms):
    columns ``pass_id`` (b's) and ``pass_id_a``."""
    key = ["orbiter", "asset"]
    a = a.sort_values("rise_tdb_s")[key + ["rise_tdb_s", "pass_id"]]
    b = b.sort_values("rise_tdb_s")[key + ["rise_tdb_s", "pass_id"]]
    return pd.merge_asof(b, a, on="rise_tdb_s", by=key, suffixes=("", "_a"), tolerance=0.01,
                         direction="nearest")


def test_the_same_overflight_has_the_same_id_in_a_week_and_a_later_three_days():
    week = api.find_passes(str(BASELINE), "2026-12-14T00:00:00Z", 7)
    later = api.find_passes(str(BASELINE), "2026-12-15T00:00:00Z", 3)
    odd = api.find_passes(str(BASELINE), "2026-12-15T05:27:13Z", 2)       # a start off the week's grid
    for other in (later, odd):
        whole = other[other["truncated"].isin(["", "end"])]
        m = same_overflights(week, whole)
        # every pass of the later span that rises inside the week is found there, with its id
        assert m["pass_id_a"].notna().all() and len(m) > 50
        assert (m["pass_id"] == m["pass_id_a"]).all()
    # a pass the later span's start cuts keeps the id of the run that holds its rise: its true rise
    # is followed back before the span (rise 2026-12-14T20:37, up at midnight)
    cut = later[later["truncated"].isin(["start", "both"])]
    assert len(cut) >= 1
    assert set(cut["pass_id"]) <= set(week["pass_id"])
    row = cut.iloc[0]
    assert row["rise"] == pd.Timestamp("2026-12-15T00:00:00Z")
    held = week[week["pass_id"] == row["pass_id"]].iloc[0]
    assert (held["orbiter"], held["asset"]) == (row["orbiter"], row["asset"]) and held["rise"] < row["rise"]


def test_ids_are_unique_plain_tokens_in_four_weeks_of_network_6():
    table = api.find_passes(str(NETWORK), "2026-12-14T00:00:00Z", 28)
    ids = table["pass_id"]
    assert len(table) > 1000 and ids.is_unique
    assert ids.map(lambda x: bool(TOKEN.match(x))).all()
    # each is made of its own row: orbiter, asset, rise minute (no suffix needed here)
    minute = pd.to_datetime(table["rise"]).dt.strftime("%Y%m%dT%H%M")
    whole = table["truncated"].isin(["", "end"])
    want = [f"{name_token(o)}-{name_token(a)}-{m}" for o, a, m in zip(table["orbiter"], table["asset"], minute)]
    assert (ids[whole] == pd.Series(want, index=table.index)[whole]).all()


def test_relay_passes_out_writes_the_ids(tmp_path):
    out, prof = tmp_path / "passes.csv", tmp_path / "profiles.csv"
    assert main(["passes", str(BASELINE), "--start", "2026-12-14T00:00:00Z", "--days", "0.5", "--out", str(out),
                 "--profiles", str(prof)]) == 0
    table, profiles = pd.read_csv(out, dtype=str), pd.read_csv(prof, dtype=str)
    assert table["pass_id"].map(lambda x: bool(TOKEN.match(x))).all() and table["pass_id"].is_unique
    assert "true_rise_tdb_s" not in table.columns and "pass_label" not in table.columns
    assert set(profiles["pass_id"]) == set(table["pass_id"])
    first = table.iloc[0]
    assert first["pass_id"].startswith(f"{name_token(first['orbiter'])}-{name_token(first['asset'])}-20261214T")


# ----------------------------------------------------------------------------- re-plans and folders

@pytest.fixture(scope="module")
def small_plan(small_config):
    return api.plan(str(small_config), "2026-11-23T00:00:00Z", 1.0)


def test_an_id_survives_a_replan_and_the_diff_is_a_dataframe(small_plan, small_config, tmp_path):
    result = small_plan
    # the plan's passes carry the geometry's ids
    geo = api.find_passes(str(small_config), "2026-11-23T00:00:00Z", 1.0)
    assert list(result.passes["pass_id"]) == list(geo["pass_id"])
    victim = result.sessions.iloc[2]
    veto = tmp_path / "veto.csv"
    veto.write_text(f"pass_id,note\n{victim['pass_id']},by hand\n")
    new = result.replan(forbid=veto)
    assert list(new.passes["pass_id"]) == list(result.passes["pass_id"])
    kept = result.sessions.merge(new.sessions, on=["orbiter", "asset", "start", "end"], suffixes=("", "_new"))
    assert len(kept) >= len(result.sessions) - 2 and (kept["pass_id"] == kept["pass_id_new"]).all()
    # result.diff: diff.csv's table, the vetoed pass's session removed under its stable id
    d = new.diff
    assert isinstance(d, pd.DataFrame) and list(d.columns) == DIFF_CSV_COLUMNS
    row = d[(d["change"] == "removed") & (d["pass_id"] == victim["pass_id"])]
    assert len(row) == 1 and row.iloc[0]["cause"].startswith(f"veto of pass {victim['pass_id']}")
    assert new.diff_record["delivered_before_mbit"] == result.summary.figures.delivered_mbit
    assert len(new.diff_record["removed"]) == (d["change"] == "removed").sum()
    assert result.diff is None and result.diff_record is None
    # a re-plan of the re-plan keeps the ids
    again = new.replan()
    assert list(again.passes["pass_id"]) == list(result.passes["pass_id"])


def test_a_state_of_an_older_relay_keeps_its_old_ids(small_plan, monkeypatch, tmp_path):
    state = small_plan.state
    assert LABEL_COLUMN not in state.passes.columns
    monkeypatch.setattr(planstate, "_STATE_VERSION", 1)
    old = state.to_bytes()
    monkeypatch.undo()
    with zipfile.ZipFile(io.BytesIO(old)) as zf:
        meta = np.lib.format.read_array(io.BytesIO(zf.read("meta.npy")))
    assert b'"version": 1' in bytes(meta)
    (tmp_path / "old.npz").write_bytes(old)
    back = ReplanState.read(tmp_path / "old.npz")
    # a version-1 file: its passes keep the spelling its problem.json has
    assert list(back.passes[LABEL_COLUMN]) == [legacy_pass_label(i) for i in state.passes["pass_id"]]
    assert pass_labels(back.passes)[0] == "P00000"
    first = state.passes.iloc[0]
    want = state.volume_table.volume_mbit(int(first["pass_id"]), first["rise_tdb_s"], first["set_tdb_s"])
    assert back.volumes("P00000", first["rise_tdb_s"], first["set_tdb_s"]) == pytest.approx(want)
    assert back.volumes(pass_labels(state.passes)[0], 0.0, 1.0) is None
    # written again (as version 2), it stays what it was: the column is kept
    (tmp_path / "again.npz").write_bytes(back.to_bytes())
    assert pass_labels(ReplanState.read(tmp_path / "again.npz").passes) == pass_labels(back.passes)
    # and the new spelling for a state of this relay
    assert pass_labels(state.passes) == list(small_plan.passes["pass_id"])
