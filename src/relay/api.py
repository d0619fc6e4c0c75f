"""The Python API: the functions the command line and notebooks share.

>>> import relay
>>> sc = relay.load_scenario("configs/baseline.yaml")            # doctest: +SKIP
>>> passes = relay.find_passes(sc, "2026-11-23T00:00:00Z", days=7)  # doctest: +SKIP

Results are pandas DataFrames with ISO 8601 UTC time columns (``rise``,
``set``, ...) beside the TDB seconds the numerics use (``rise_tdb_s``...).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd

from .config import Scenario, load_scenario
from .errors import CoverageError
from .timescales import parse_utc, tdb_s_to_iso, utc_to_tdb_s


def default_start() -> str:
    """The next 00:00 UTC (the start of "the coming week")."""
    now = datetime.now(timezone.utc)
    nxt = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return nxt.strftime("%Y-%m-%dT%H:%M:%SZ")


def span_tdb_s(start, days: float) -> tuple[float, float]:
    """(start, end) TDB seconds of a span; checked against de421's coverage."""
    from .ephem import DE421_SPAN, de421_span_tdb_s

    if not (days > 0):
        raise CoverageError(f"--days must be positive, got {days}", source="command line")
    t0 = utc_to_tdb_s(parse_utc(start, where="--start"))
    t1 = t0 + float(days) * 86400.0
    lo, hi = de421_span_tdb_s()
    if t0 < lo + 86400 or t1 > hi - 86400:
        raise CoverageError(
            f"the span {tdb_s_to_iso(t0)} to {tdb_s_to_iso(t1)} is outside the planetary ephemeris "
            f"(de421 covers {DE421_SPAN[0]} to {DE421_SPAN[1]})", source="command line", where="--start")
    return t0, t1


def _iso(values) -> list[str]:
    return list(tdb_s_to_iso(np.asarray(values, dtype=float))) if len(values) else []


def pass_set(scenario: Scenario, start, days: float = 7.0):
    """The geometry stage: a :class:`relay.geometry.PassSet` for the scenario and span."""
    from .geometry import find_passes as _find

    t0, t1 = span_tdb_s(start, days)
    ephs = scenario.ephemerides()
    steps = {o.name: o.step_s for o in scenario.orbiters}
    sites = scenario.sites()
    parts = []
    # orbiters with their own grid step are searched one by one
    if any(steps.values()):
        from .geometry import BodyFixed, PassSet

        bf = BodyFixed(t0, t1)
        for name, eph in ephs.items():
            parts.append(_find({name: eph}, sites, t0, t1, step_s=steps[name],
                               profile_step_s=scenario.geometry.profile_step_s, body_fixed=bf))
        passes = pd.concat([p.passes for p in parts], ignore_index=True)
        profiles = []
        offset = 0
        rows = []
        for p in parts:
            q = p.passes.copy()
            pr = p.profiles.copy()
            q["pass_id"] += offset
            pr["pass_id"] += offset
            offset += len(q)
            rows.append(q)
            profiles.append(pr)
        passes = pd.concat(rows, ignore_index=True).sort_values(["rise_tdb_s", "orbiter", "asset"],
                                                                kind="mergesort")
        remap = dict(zip(passes["pass_id"], range(len(passes))))
        passes["pass_id"] = passes["pass_id"].map(remap)
        prof = pd.concat(profiles, ignore_index=True)
        prof["pass_id"] = prof["pass_id"].map(remap)
        prof = prof.sort_values(["pass_id", "tdb_s"], kind="mergesort").reset_index(drop=True)
        return PassSet(passes.reset_index(drop=True), prof, t0, t1)
    return _find(ephs, sites, t0, t1, profile_step_s=scenario.geometry.profile_step_s)


def passes_table(ps) -> pd.DataFrame:
    """The user-facing pass table (ISO times with Z, to the millisecond)."""
    df = ps.passes.copy()
    out = pd.DataFrame({
        "pass_id": df["pass_id"].astype(int),
        "orbiter": df["orbiter"], "asset": df["asset"],
        "rise": _iso(df["rise_tdb_s"]), "set": _iso(df["set_tdb_s"]),
        "duration_s": df["duration_s"].round(3),
        "max_elevation_deg": df["max_elevation_deg"].round(4),
        "max_elevation_time": _iso(df["max_elevation_tdb_s"]),
        "min_range_km": df["min_range_km"].round(3),
        "truncated": np.where(df["truncated_start"] & df["truncated_end"], "both",
                              np.where(df["truncated_start"], "start",
                                       np.where(df["truncated_end"], "end", ""))),
    })
    for col in df.columns:
        if col not in out.columns and col not in ("rise_tdb_s", "set_tdb_s", "max_elevation_tdb_s",
                                                  "truncated_start", "truncated_end"):
            out[col] = df[col].values
    out["rise_tdb_s"] = df["rise_tdb_s"].values
    out["set_tdb_s"] = df["set_tdb_s"].values
    return out


def find_passes(scenario: Scenario | str, start, days: float = 7.0) -> pd.DataFrame:
    """Every pass of every orbiter over every asset, as a DataFrame (see :func:`passes_table`)."""
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    return passes_table(pass_set(scenario, start, days))


def track_set(scenario: Scenario, start, days: float = 7.0):
    """Ground-station tracks (a :class:`relay.geometry.TrackSet`)."""
    from .geometry import find_tracks as _find

    t0, t1 = span_tdb_s(start, days)
    if not scenario.stations:
        from .geometry import TRACK_COLUMNS, TRACK_PROFILE_COLUMNS, TrackSet

        return TrackSet(pd.DataFrame(columns=TRACK_COLUMNS), pd.DataFrame(columns=TRACK_PROFILE_COLUMNS), t0, t1)
    return _find(scenario.ephemerides(), scenario.ground_stations(), t0, t1,
                 profile_step_s=scenario.geometry.track_profile_step_s)


def tracks_table(ts) -> pd.DataFrame:
    df = ts.tracks
    out = pd.DataFrame({
        "track_id": df["track_id"].astype(int),
        "orbiter": df["orbiter"], "station": df["station"],
        "start": _iso(df["start_tdb_s"]), "end": _iso(df["end_tdb_s"]),
        "duration_s": df["duration_s"].astype(float).round(3),
        "max_elevation_deg": df["max_elevation_deg"].astype(float).round(3),
    })
    for col in df.columns:
        if col not in out.columns and col not in ("start_tdb_s", "end_tdb_s", "truncated_start", "truncated_end"):
            out[col] = df[col].values
    out["start_tdb_s"] = df["start_tdb_s"].values
    out["end_tdb_s"] = df["end_tdb_s"].values
    return out


def find_tracks(scenario: Scenario | str, start, days: float = 7.0) -> pd.DataFrame:
    """Every window in which a station sees an orbiter (above its mask, not hidden by Mars)."""
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    return tracks_table(track_set(scenario, start, days))


def earth_mars_table(scenario: Scenario, start, days: float = 7.0, step_s: float = 3600.0) -> pd.DataFrame:
    from .geometry import earth_mars

    t0, t1 = span_tdb_s(start, days)
    df = earth_mars(t0, t1, step_s, scenario.geometry.conjunction_deg)
    df.insert(0, "time", _iso(df["tdb_s"]))
    return df
