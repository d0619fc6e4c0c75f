"""The content-addressed geometry cache (relay.geocache) that sweep runs share.

A plan made from cached passes and tracks is the plan made without the cache; an entry is
found again only when everything that determines the geometry is the same: a changed orbit
(an override of its elements, or a changed elements file) misses, while a change of a
setting that does not touch the geometry (storage, the planner's time limit) hits.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from relay import api, geocache, pipeline
from relay.analysis.overrides import resolve
from relay.analysis.sweep import sweep
from relay.config import load_scenario

START = "2026-11-23T00:00:00Z"
DAYS = 2.0
PLAN = dict(time_limit_s=20, workers=1, seed=0)


def _entries(folder: Path, kind: str) -> list[Path]:
    return sorted(folder.glob(f"{kind}-*.pkl"))


def _same_plan(a, b) -> None:
    for name in ("sessions", "downlinks", "passes", "store"):
        pd.testing.assert_frame_equal(getattr(a, name).reset_index(drop=True),
                                      getattr(b, name).reset_index(drop=True), check_exact=True)
    assert a.summary.figures == b.summary.figures


def test_cached_geometry_gives_the_same_plan(small, tmp_path, monkeypatch):
    sc = load_scenario(small)
    plain = api.plan(sc, START, DAYS, **PLAN)
    geo = tmp_path / "geo"
    with geocache.using(geo):
        first = api.plan(sc, START, DAYS, **PLAN)
    assert len(_entries(geo, "passes")) == 1 and len(_entries(geo, "tracks")) == 1

    # the second plan must read both from the cache: the geometry searches are not run
    def no_search(*a, **k):
        raise AssertionError("the geometry was searched again instead of read from the cache")

    monkeypatch.setattr(pipeline, "find_pass_set", no_search)
    monkeypatch.setattr(pipeline, "find_track_set", no_search)
    with geocache.using(geo):
        second = api.plan(sc, START, DAYS, **PLAN)
    _same_plan(plain, first)
    _same_plan(plain, second)
    assert len(plain.sessions) > 0


def test_a_changed_orbit_misses_and_other_settings_hit(small, tmp_path):
    sc = load_scenario(small)
    t0 = pipeline.span_of(START, DAYS)
    key = {k: geocache.key(k, sc, t0.start_tdb_s, t0.end_tdb_s) for k in ("passes", "tracks")}

    moved = resolve(sc, {"orbiters.TGO.orbit.periapsis_altitude_km": 300.0,
                         "orbiters.TGO.orbit.apoapsis_altitude_km": 300.0})
    for k in key:
        assert geocache.key(k, moved, t0.start_tdb_s, t0.end_tdb_s) != key[k]
    # a later span, another site's mask: other passes; a station's mask: other tracks
    assert geocache.key("passes", sc, t0.start_tdb_s + 60.0, t0.end_tdb_s) != key["passes"]
    masked = resolve(sc, {"assets.Curiosity.min_elevation_deg": 15.0})
    assert geocache.key("passes", masked, t0.start_tdb_s, t0.end_tdb_s) != key["passes"]
    assert geocache.key("tracks", masked, t0.start_tdb_s, t0.end_tdb_s) == key["tracks"]
    # settings that do not change the geometry share it
    other = resolve(sc, {"orbiters.TGO.storage.capacity_mbit": 1234.0, "planning.time_limit_s": 7.0})
    for k in key:
        assert geocache.key(k, other, t0.start_tdb_s, t0.end_tdb_s) == key[k]

    # the same orbit override in a file: the elements file's contents are part of the key
    eph = tmp_path / "eph"
    shutil.copytree(Path(__file__).resolve().parents[1] / "ephemerides", eph)
    text = (eph / "tgo.yaml").read_text()
    assert "periapsis_altitude_km: 400.0" in text
    cfg = tmp_path / "moved.yaml"
    cfg.write_text(Path(small).read_text().replace(
        str((Path(__file__).resolve().parents[1] / "ephemerides").as_posix()), eph.as_posix()))
    same_files = load_scenario(cfg)
    assert geocache.key("passes", same_files, t0.start_tdb_s, t0.end_tdb_s) == key["passes"]
    (eph / "tgo.yaml").write_text(text.replace("periapsis_altitude_km: 400.0", "periapsis_altitude_km: 300.0")
                                  .replace("apoapsis_altitude_km: 400.0", "apoapsis_altitude_km: 300.0"))
    changed = load_scenario(cfg)
    assert geocache.key("passes", changed, t0.start_tdb_s, t0.end_tdb_s) != key["passes"]

    # and a plan of the changed orbit, with the first orbit's entries in the cache, misses them
    geo = tmp_path / "geo"
    with geocache.using(geo):
        base = api.plan(sc, START, DAYS, **PLAN)
        after = api.plan(changed, START, DAYS, **PLAN)
    assert len(_entries(geo, "passes")) == 2 and len(_entries(geo, "tracks")) == 2
    tgo = lambda r: r.passes[r.passes["orbiter"] == "TGO"][["rise_tdb_s", "set_tdb_s"]].to_numpy()  # noqa: E731
    assert tgo(base).shape != tgo(after).shape or (abs(tgo(base) - tgo(after)) > 1.0).any()
    plain = api.plan(changed, START, DAYS, **PLAN)
    _same_plan(plain, after)


def test_sweep_runs_share_the_geometry(small, tmp_path):
    spec = {"base": str(small), "days": 1.0, "starts": [START], "plan": {"time_limit_s": 10, "workers": 1, "seed": 0},
            "grid": {"orbiters.TGO.storage.capacity_mbit": [2000, 4000, 8000]}}
    df = sweep(spec, out=tmp_path / "out", scheduler="serial", progress=False)
    assert df["ok"].all() and len(df) == 3
    geo = tmp_path / "out" / "cache" / "geometry"
    # three runs, one geometry: storage does not change passes or tracks
    assert len(_entries(geo, "passes")) == 1 and len(_entries(geo, "tracks")) == 1


def test_an_unusable_cache_folder_plans_without_it(small, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    sc = load_scenario(small)
    with geocache.using(blocker / "geo"):
        r = api.plan(sc, START, 1.0, **PLAN)
    assert len(r.passes) > 0


@pytest.mark.parametrize("kind", ["passes", "tracks"])
def test_a_damaged_entry_is_computed_again(small, tmp_path, kind):
    sc = load_scenario(small)
    geo = tmp_path / "geo"
    with geocache.using(geo):
        good = api.plan(sc, START, 1.0, **PLAN)
    entry = _entries(geo, kind)[0]
    entry.write_bytes(b"\x80\x05garbage")
    with geocache.using(geo):
        again = api.plan(sc, START, 1.0, **PLAN)
    _same_plan(good, again)
    assert entry.read_bytes() != b"\x80\x05garbage"
