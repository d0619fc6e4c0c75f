"""Tracks: the windows in which each ground station sees each orbiter.

A track is the intersection of "the orbiter is above the station's mask" and
"Mars does not hide it", at reception times at the station, light time
included (:func:`find_tracks`).  Both are bracketed on cheap grids with the
window finder of :mod:`relay.geometry.windows` and refined with the exact
station-and-orbiter geometry.  The result is a :class:`TrackSet`: one row per
track in (start, orbiter, station) order, and each track's profile.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from .. import mars
from ..constants import C_KM_S  # speed of light, km/s
from ..orbits.base import Ephemeris, check_coverage
from .bodyfixed import BodyFixed, positions_km
from .earth import EarthStations, Station
from .windows import Windows, find_windows, profile_times, refined_windows, time_grid

TRACK_COLUMNS = ["track_id", "orbiter", "station", "start_tdb_s", "end_tdb_s", "duration_s",
                 "max_elevation_deg", "truncated_start", "truncated_end"]
TRACK_PROFILE_COLUMNS = ["track_id", "tdb_s", "elevation_deg", "range_km"]


@dataclass
class TrackSet:
    tracks: pd.DataFrame
    profiles: pd.DataFrame
    start_tdb_s: float
    end_tdb_s: float


def _occultation_margin_km(bf: BodyFixed, te: np.ndarray, orb_icrf_km: np.ndarray,
                           towards_earth: np.ndarray) -> np.ndarray:
    """Clearance (km) of the line from the orbiter towards Earth above Mars's spheroid.

    The spheroid is scaled to a sphere of the equatorial radius (an affine map
    keeps lines straight).  With ``q`` the scaled unit direction towards the
    Earth and ``p`` the scaled orbiter position: when ``p.q < 0`` Mars's centre
    lies ahead on the line and the margin is its closest approach minus the
    radius; otherwise it is the orbiter's own height.  The two agree at
    ``p.q = 0``, so the margin is continuous; negative means hidden.
    """
    scale = np.array([1.0, 1.0, mars.EQUATORIAL_RADIUS_KM / mars.POLAR_RADIUS_KM])
    p = bf.to_body_fixed(te, orb_icrf_km) * scale
    q = bf.to_body_fixed(te, towards_earth) * scale
    q /= np.linalg.norm(q, axis=1)[:, None]
    along = np.einsum("ij,ij->i", p, q)
    closest = np.sqrt(np.maximum(np.einsum("ij,ij->i", p, p) - along**2, 0.0))
    radius = mars.EQUATORIAL_RADIUS_KM
    return np.where(along < 0, closest - radius, np.linalg.norm(p, axis=1) - radius)


class _EarthView:
    """Station-side geometry of one orbiter, light time included.

    For a reception time ``t`` at a station the signal left the orbiter at
    ``t - lt``; ``lt`` is iterated on the station-to-orbiter distance with
    Mars's position from de421 and the orbiter's Mars-centred state.  The
    elevation is that of the geometric direction at emission (aberration and
    refraction, both below 0.01 degree, are left out).
    """

    def __init__(self, eph: Ephemeris, earth: EarthStations, bf: BodyFixed):
        self.eph = eph
        self.earth = earth
        self.bf = bf

    def geocentric_margin_km(self, tdb_s: np.ndarray) -> np.ndarray:
        """Occultation margin (as in :meth:`evaluate`) seen from the geocentre: for bracketing."""
        earth = self.earth.earth_table.position_km(tdb_s)
        mars_pos = self.earth.mars_table.position_km(tdb_s)
        lt = np.linalg.norm(mars_pos - earth, axis=1) / C_KM_S
        te = tdb_s - lt
        orb = positions_km(self.eph, te)
        d = self.earth.mars_table.position_km(te) + orb - earth
        return _occultation_margin_km(self.bf, te, orb, -d / np.linalg.norm(d, axis=1)[:, None])

    def evaluate(self, tdb_s: np.ndarray, series: np.ndarray):
        """(elevation_deg, visibility_margin_km, range_km) for (time, station index) pairs.

        The visibility margin is positive when Mars does not hide the orbiter:
        the closest approach of the line of sight to Mars's spheroid (scaled to
        a sphere), or the orbiter's height when Mars lies behind it.
        """
        # all pairs at once (the stations' positions gathered per pair)
        t = np.asarray(tdb_s, dtype=float)
        st_pos, up = self.earth.positions_and_ups(t, series)
        lt = np.zeros(t.size)
        for _ in range(3):
            te = t - lt
            mars_pos = self.earth.mars_table.position_km(te)
            orb = positions_km(self.eph, te)
            d = mars_pos + orb - st_pos
            lt = np.sqrt(np.einsum("ij,ij->i", d, d)) / C_KM_S
        dist = np.sqrt(np.einsum("ij,ij->i", d, d))
        u = d / dist[:, None]
        el = np.degrees(np.arcsin(np.clip(np.einsum("ij,ij->i", up, u), -1, 1)))
        vis = _occultation_margin_km(self.bf, te, orb, -u)
        return el, vis, dist


def find_tracks(orbiters: Mapping[str, Ephemeris], stations: Sequence[Station],
                start_tdb_s: float, end_tdb_s: float, *, mars_step_s: float = 600.0,
                occultation_step_s: float | None = None, profile_step_s: float = 600.0,
                tol_s: float = 1e-2, body_fixed: BodyFixed | None = None) -> TrackSet:
    """Windows in which each station sees each orbiter above its mask, not hidden by Mars.

    Times are reception times at the station.  A track is the intersection of
    "above the station's mask" and "not occulted by Mars".  Both are
    bracketed on cheap grids (the elevation of Mars's centre per station,
    shared by all orbiters; the occultation margin seen from the geocentre,
    per orbiter) and every crossing is then refined with the exact
    station-and-orbiter geometry, light time included, to ``tol_s``.
    """
    bf = body_fixed or BodyFixed(start_tdb_s - 1800.0, end_tdb_s)
    earth = EarthStations(stations, start_tdb_s, end_tdb_s)
    masks = np.array([s.min_elevation_deg for s in stations])
    mars_w = _mars_above_masks(earth, masks, start_tdb_s, end_tdb_s, mars_step_s)
    rows = []
    for orb_name, eph in orbiters.items():
        view = _EarthView(eph, earth, bf)
        for i, s0, e0, ts, te in _orbiter_tracks(view, mars_w, masks, start_tdb_s, end_tdb_s,
                                                 occultation_step_s, tol_s):
            rows.append((orb_name, stations[i].name, s0, e0, ts, te))
    if not rows:
        return TrackSet(pd.DataFrame(columns=TRACK_COLUMNS), pd.DataFrame(columns=TRACK_PROFILE_COLUMNS),
                        start_tdb_s, end_tdb_s)
    tracks, profiles = _tracks_and_profiles(rows, orbiters, stations, earth, bf, profile_step_s)
    return TrackSet(tracks, profiles, start_tdb_s, end_tdb_s)


def _mars_above_masks(earth: EarthStations, masks: np.ndarray, start_tdb_s: float, end_tdb_s: float,
                      mars_step_s: float) -> Windows:
    """Windows of Mars's centre above each station's mask (orbiter-independent, to 1 s)."""
    mgrid = time_grid(start_tdb_s, end_tdb_s, mars_step_s)
    mars_el = np.empty((masks.size, mgrid.size))
    for i in range(masks.size):
        mars_el[i] = earth.mars_elevation_deg(mgrid, i) - masks[i]
    return find_windows(lambda t, s: earth.mars_elevation_deg_pairs(t, s) - masks[s],
                        mgrid, mars_el, tol_s=1.0, peaks=False)


def _orbiter_tracks(view: "_EarthView", mars_w: Windows, masks: np.ndarray, start_tdb_s: float,
                    end_tdb_s: float, occultation_step_s: float | None, tol_s: float) -> list[tuple]:
    """The tracks of one orbiter: (station index, start, end, truncated start, truncated end).

    The elevation windows are those of Mars's centre refined with the
    orbiter's exact elevation; the visibility windows (not occulted) are
    bracketed from the geocentre and refined, per station, only where they
    touch its elevation windows.
    """
    eph = view.eph
    period = getattr(eph, "period_s", None)
    ostep = occultation_step_s or (min(300.0, period / 40.0) if period else 120.0)
    ogrid = time_grid(start_tdb_s, end_tdb_s, ostep)
    check_coverage(eph, ogrid - 1400.0 if np.isfinite(eph.coverage_tdb_s[0]) else ogrid)
    geo_vis = view.geocentric_margin_km(ogrid)
    occ_w = find_windows(lambda t, s: view.geocentric_margin_km(t), ogrid, geo_vis[None, :], tol_s=1.0,
                         peaks=False)
    w_el = refined_windows(mars_w, lambda t, s: view.evaluate(t, s)[0] - masks[s],
                           start_tdb_s, end_tdb_s, tol_s)
    a_els, occ_sel = _visibility_near_elevation(w_el, occ_w, masks.size)
    if not a_els:
        return []
    w_vis = refined_windows(occ_sel, lambda t, s: view.evaluate(t, s)[1],
                            start_tdb_s, end_tdb_s, tol_s)
    out = []
    for i, a_el in a_els.items():
        for s0, e0, ts, te in _intersect(a_el, _intervals(w_vis, i)):
            out.append((i, s0, e0, ts, te))
    return out


def _visibility_near_elevation(w_el: Windows, occ_w: Windows, n_st: int):
    """Per station, its elevation intervals, and the visibility windows that touch them.

    Returns ({station: intervals}, the selected visibility windows with the
    station as their series), so they are refined for every station in one batch.
    """
    a_els, sel_s, sel_k = {}, [], []
    for i in range(n_st):
        a_el = _intervals(w_el, i)
        if not a_el:
            continue
        a_els[i] = a_el
        keep = np.zeros(occ_w.series.size, bool)
        for s0, e0, _, _ in a_el:
            keep |= (occ_w.end_tdb_s > s0 - 60) & (occ_w.start_tdb_s < e0 + 60)
        k = np.flatnonzero(keep)
        sel_s.append(np.full(k.size, i)), sel_k.append(k)
    if not a_els:
        return a_els, None
    k = np.concatenate(sel_k)
    occ_sel = Windows(np.concatenate(sel_s), occ_w.start_tdb_s[k], occ_w.end_tdb_s[k],
                      occ_w.truncated_start[k], occ_w.truncated_end[k], occ_w.peak_tdb_s[k],
                      occ_w.peak_value[k])
    return a_els, occ_sel


def _tracks_and_profiles(rows, orbiters, stations, earth, bf, profile_step_s: float):
    """The tracks table in (start, orbiter, station) order, numbered, and their profiles."""
    df = pd.DataFrame(rows, columns=["orbiter", "station", "start_tdb_s", "end_tdb_s",
                                     "truncated_start", "truncated_end"])
    df["duration_s"] = df["end_tdb_s"] - df["start_tdb_s"]
    df = df[df["duration_s"] > 0].sort_values(["start_tdb_s", "orbiter", "station"], kind="mergesort")
    df = df.reset_index(drop=True)
    df["track_id"] = np.arange(len(df), dtype=np.int64)
    st_index = {s.name: i for i, s in enumerate(stations)}
    max_el = np.empty(len(df))
    profs = []
    for orb_name, sub in df.groupby("orbiter", sort=False):
        view = _EarthView(orbiters[orb_name], earth, bf)
        t, win = profile_times(sub["start_tdb_s"].to_numpy(), sub["end_tdb_s"].to_numpy(), profile_step_s)
        series = np.array([st_index[s] for s in sub["station"]])[win]
        el, _, rng = view.evaluate(t, series)
        ids = sub["track_id"].to_numpy()[win]
        profs.append(pd.DataFrame({"track_id": ids, "tdb_s": t, "elevation_deg": el, "range_km": rng}))
        max_el[sub.index.to_numpy()] = pd.Series(el).groupby(win).max().to_numpy()
    df["max_elevation_deg"] = max_el
    prof = pd.concat(profs, ignore_index=True).sort_values(["track_id", "tdb_s"], kind="mergesort")
    return df[TRACK_COLUMNS].copy(), prof.reset_index(drop=True)[TRACK_PROFILE_COLUMNS]


def _intervals(w: Windows, series: int):
    m = w.series == series
    return list(zip(w.start_tdb_s[m], w.end_tdb_s[m], w.truncated_start[m], w.truncated_end[m]))


def _intersect(a, b):
    """Intersection of two sorted interval lists, keeping truncation flags of the ends used."""
    out = []
    i = j = 0
    while i < len(a) and j < len(b):
        s = max(a[i][0], b[j][0])
        e = min(a[i][1], b[j][1])
        if e > s:
            ts = a[i][2] if a[i][0] >= b[j][0] else b[j][2]
            te = a[i][3] if a[i][1] <= b[j][1] else b[j][3]
            out.append((s, e, bool(ts), bool(te)))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out
