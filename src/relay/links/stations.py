"""Station time: the X-band capacity of every station window and the downlink windows used.

Which station time is used
--------------------------
Either a bookings CSV (:func:`relay.inputs.read_bookings`), each booking inside
one station window, or, without one, the daily cap ``xband.max_hours_per_day``
of each orbiter, in one of two ways (``earth_leg``):

* ``"chosen"`` (issue 19, the default): every station window is offered, cut
  as in rule 1 below so that no instant of an orbiter is offered twice, and
  cut into pieces of at most :data:`PIECE_S` that never cross a UTC midnight,
  each with its own volume (source ``"station window"``); which pieces to use
  within the cap is the planner's choice (the Problem records the cap per
  orbiter, :mod:`relay.planning.build`);
* ``"first-come"`` (the rule before issue 19): rules 1 and 2
  choose the station time.

``earth_leg`` is the argument of :func:`track_capacities`, else the scenario's
``planning.earth_leg`` when the settings have one, else :data:`EARTH_LEG`.

The first-come rule, per orbiter:

1. windows are taken in order of (start, station, track_id); a window that
   overlaps time already taken by an earlier window of the same orbiter
   (at another station) starts where that time ends -- the orbiter sends one
   downlink at a time, so overlapping views never double the capacity;
2. the remaining windows are charged to the UTC day in which their used part
   starts; within a day they are used in time order until the orbiter's
   ``xband.max_hours_per_day`` is reached, the window that reaches it being
   cut short at its end.

Rates come from :mod:`relay.links.xband`; capacities use the cumulative
machinery of :mod:`relay.links.table` (no hailing, efficiency 1).
"""
from __future__ import annotations

import math
from datetime import datetime, timezone
from functools import lru_cache
from typing import Mapping

import numpy as np
import pandas as pd

from ..config_links import StationXBand, XBandSpec
from ..errors import RelayInputError
from ..inputs import read_bookings
from ..timescales import tdb_s_to_iso, utc_days, utc_to_tdb_s
from .table import (VolumeTable, group_rows, group_sample_bounds, prepare_samples, row_peaks,
                    sample_starts, segment_cumsum)
from .xband import xband_rate_kbps

#: longest piece of a station window offered to the planner under the chosen daily cap (s): the
#: planner uses a piece whole or not at all, so pieces set the grain of its choice (and its model
#: size: the store's prefix sums grow as the pieces squared)
PIECE_S = 10800.0
#: how the daily cap picks station time when neither the call nor the scenario says (module doc):
#: "chosen" or "first-come"
EARTH_LEG = "chosen"
#: the downlinks' source under the chosen daily cap
OFFERED = "station window"


def _match_bookings(bookings: pd.DataFrame, tracks: pd.DataFrame, source: str,
                    tolerance_s: float = 1.0) -> np.ndarray:
    """track_id of the station window holding each booking; error naming the row otherwise."""
    out = np.zeros(len(bookings), dtype=np.int64)
    grp = {k: g for k, g in tracks.groupby(["orbiter", "station"], sort=False)}
    for i, b in enumerate(bookings.itertuples(index=False)):
        g = grp.get((b.orbiter, b.station))
        ok = None
        if g is not None:
            m = (g["start_tdb_s"].to_numpy() - tolerance_s <= b.start_tdb_s) & (
                b.end_tdb_s <= g["end_tdb_s"].to_numpy() + tolerance_s)
            if np.any(m):
                ok = int(g["track_id"].to_numpy()[np.flatnonzero(m)[0]])
        if ok is None:
            where = f"line {b.line}"
            desc = (f"booking {b.orbiter} at {b.station} {tdb_s_to_iso(b.start_tdb_s, 0)} to "
                    f"{tdb_s_to_iso(b.end_tdb_s, 0)}")
            if g is None or len(g) == 0:
                hint = f"{b.station} never sees {b.orbiter} in the scenario's span"
            else:
                mid = 0.5 * (b.start_tdb_s + b.end_tdb_s)
                c = 0.5 * (g["start_tdb_s"].to_numpy() + g["end_tdb_s"].to_numpy())
                k = int(np.argmin(np.abs(c - mid)))
                hint = (f"the nearest window in which {b.station} sees {b.orbiter} runs "
                        f"{tdb_s_to_iso(g['start_tdb_s'].to_numpy()[k], 0)} to "
                        f"{tdb_s_to_iso(g['end_tdb_s'].to_numpy()[k], 0)}")
            raise RelayInputError(
                f"{desc} falls outside the station's view of the orbiter (above its mask and "
                f"not hidden by Mars); {hint}. Expected every booking inside one such window.",
                source=source, where=where)
        out[i] = ok
    return out


def _resolve_overlaps(orbiter, start, end, order_keys):
    """Per orbiter, clip later windows so that no instant is used twice (see module doc)."""
    n = len(start)
    used_start = start.copy()
    used_end = end.copy()
    order = np.lexsort(order_keys[::-1])
    covered: dict[str, float] = {}
    for i in order:
        o = orbiter[i]
        c = covered.get(o, -np.inf)
        s = max(start[i], c)
        if s >= end[i]:
            used_start[i] = used_end[i] = end[i]
        else:
            used_start[i] = s
        covered[o] = max(c, end[i])
    return used_start, used_end, order


def track_capacities(scenario, tracks: pd.DataFrame, track_profiles: pd.DataFrame,
                     bookings=None, earth_leg: str | None = None):
    """X-band capacities for a scenario (see :func:`track_capacities_from_specs`).

    Reads exactly: ``scenario.orbiters`` (each ``.name``, ``.xband``: XBandSpec
    or None for the defaults) and ``scenario.stations`` (each ``.name``,
    ``.xband``: StationXBand or None).  ``bookings`` is None (daily-cap rule),
    a path to a bookings CSV, or a DataFrame as returned by
    :func:`relay.inputs.read_bookings`.  ``earth_leg``: see the module doc (None: the scenario's
    ``planning.earth_leg`` if it has one, else :data:`EARTH_LEG`).
    """
    xo = {str(o.name): (getattr(o, "xband", None) or XBandSpec()) for o in scenario.orbiters}
    xs = {str(s.name): (getattr(s, "xband", None) or StationXBand()) for s in scenario.stations}
    src = "bookings"
    if bookings is not None and not isinstance(bookings, pd.DataFrame):
        src = str(bookings)
        bookings = read_bookings(bookings, orbiters=xo.keys(), stations=xs.keys())
    if earth_leg is None:
        earth_leg = getattr(getattr(scenario, "planning", None), "earth_leg", None)
    return track_capacities_from_specs(xo, xs, tracks, track_profiles, bookings,
                                       bookings_source=src, earth_leg=earth_leg)


def track_capacities_from_specs(xband_by_orbiter: Mapping[str, XBandSpec],
                                xband_by_station: Mapping[str, StationXBand],
                                tracks: pd.DataFrame, track_profiles: pd.DataFrame,
                                bookings: pd.DataFrame | None = None,
                                bookings_source: str = "bookings", earth_leg: str | None = None):
    """X-band capacity of every station window, and the downlink windows a planner may use.

    Returns ``(tracks_out, downlinks, table)``:

    - tracks_out: ``tracks`` plus volume_mbit (capacity of the whole visible
      window), max_rate_kbps, mean_rate_kbps (volume / duration), used_volume_mbit
      (the part used under the first-come daily cap or the bookings);
    - downlinks: one row per usable downlink window: downlink_id, track_id,
      orbiter, station, start_tdb_s, end_tdb_s, duration_s, volume_mbit,
      mean_rate_kbps, source ('station window': offered pieces, the planner
      chooses within the cap; 'daily-cap': the first-come rule; 'booking line N');
    - table: a :class:`~relay.links.table.VolumeTable` keyed by track_id
      (adaptive, no hailing, efficiency 1): ``table.volume_mbit(track_id, t0, t1)``.
    """
    tracks = tracks.reset_index(drop=True)
    n = len(tracks)
    uniq, code_t, order = _specs_in_table_order(xband_by_orbiter, xband_by_station, tracks)
    tid_s = tracks["track_id"].to_numpy(dtype=np.int64)[order]
    orb = tracks["orbiter"].astype(str).to_numpy(dtype=object)[order]
    sta = tracks["station"].astype(str).to_numpy(dtype=object)[order]
    start = tracks["start_tdb_s"].to_numpy(dtype=float)[order]
    end = tracks["end_tdb_s"].to_numpy(dtype=float)[order]

    t, (el, rng), counts, first = prepare_samples(
        tid_s, start, end, track_profiles["track_id"].to_numpy(dtype=np.int64),
        track_profiles["tdb_s"].to_numpy(dtype=float),
        [track_profiles["elevation_deg"].to_numpy(dtype=float),
         track_profiles["range_km"].to_numpy(dtype=float)], [-90.0, 1e12])
    track_start = sample_starts(counts)
    bounds = group_sample_bounds(code_t, len(uniq), track_start, len(t))
    rate = np.zeros(len(t))
    for c, (o, s) in enumerate(uniq):
        r0, r1 = int(bounds[c]), int(bounds[c + 1])
        rate[r0:r1] = xband_rate_kbps(xband_by_orbiter[o], xband_by_station[s], rng[r0:r1],
                                      el[r0:r1])
    cum = segment_cumsum(t, rate, first)
    table = VolumeTable(tid_s, start, end, code_t, np.zeros(n), np.ones(n), counts, t, cum, {})
    full = table.volume_mbit(tid_s, start, end) if n else np.zeros(0)
    max_rate = row_peaks(rate, counts, track_start)

    earth_leg = earth_leg or EARTH_LEG
    if earth_leg not in ("chosen", "first-come"):
        raise ValueError(f"earth_leg must be 'chosen' or 'first-come', got {earth_leg!r}")
    if bookings is None:
        used, dl = _daily_cap_downlinks(table, xband_by_orbiter, tid_s, orb, sta, start, end)
        if earth_leg == "chosen":
            dl = _offered_pieces(table, tid_s, orb, sta, start, end)
    else:
        used, dl = _booked_downlinks(table, tracks, bookings, bookings_source, tid_s, start, end)
    dl = _numbered_downlinks(dl)

    inv = np.empty(n, dtype=np.int64)
    inv[order] = np.arange(n)
    out = tracks.copy()
    dur = end - start
    out["volume_mbit"] = full[inv]
    out["max_rate_kbps"] = max_rate[inv]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["mean_rate_kbps"] = np.where(dur > 0, full * 1e3 / np.where(dur > 0, dur, 1), 0.0)[inv]
    out["used_volume_mbit"] = used[inv]
    return out, dl, table


def _specs_in_table_order(xband_by_orbiter: Mapping[str, XBandSpec],
                          xband_by_station: Mapping[str, StationXBand], tracks: pd.DataFrame):
    """The (orbiter, station) pairs of the tracks (sorted), each track's pair code and the table
    order of the tracks (by pair, then track_id).  KeyError for an orbiter or station without
    an X-band spec."""
    tid = tracks["track_id"].to_numpy(dtype=np.int64)
    okeys = list(zip(tracks["orbiter"].astype(str).tolist(), tracks["station"].astype(str).tolist()))
    uniq, code, order = group_rows(tid, okeys)
    for o, s in uniq:
        if o not in xband_by_orbiter:
            raise KeyError(f"no X-band spec for orbiter {o!r}")
        if s not in xband_by_station:
            raise KeyError(f"no X-band spec for station {s!r}")
    return uniq, code[order], order


def _daily_cap_downlinks(table: VolumeTable, xband_by_orbiter: Mapping[str, XBandSpec],
                         tid_s, orb, sta, start, end):
    """Station time under the daily-cap rule (module doc): ``(used volume per track, downlinks)``."""
    n = len(tid_s)
    us, ue, _ = _resolve_overlaps(orb, start, end, [start, sta.astype(str), tid_s])
    cap_s = np.array([xband_by_orbiter[o].max_hours_per_day * 3600.0 for o in orb]) if n else \
        np.zeros(0)
    _apply_daily_cap(orb, tid_s, us, ue, cap_s)
    vol = table.volume_mbit(tid_s, us, ue) if n else np.zeros(0)
    ok = ue > us
    dl = pd.DataFrame({
        "track_id": tid_s[ok], "orbiter": orb[ok], "station": sta[ok],
        "start_tdb_s": us[ok], "end_tdb_s": ue[ok], "duration_s": (ue - us)[ok],
        "volume_mbit": vol[ok], "source": "daily-cap"})
    return vol, dl


def _offered_pieces(table: VolumeTable, tid_s, orb, sta, start, end) -> pd.DataFrame:
    """Every station window, cut so that no instant of an orbiter is offered twice (rule 1 of the
    module doc), then into pieces of at most :data:`PIECE_S` that never cross a UTC midnight."""
    us, ue, _ = _resolve_overlaps(orb, start, end, [start, sta.astype(str), tid_s])
    rows = []
    for i in np.flatnonzero(ue > us):
        for a, b in _pieces(float(us[i]), float(ue[i])):
            rows.append((int(tid_s[i]), orb[i], sta[i], a, b))
    cols = ["track_id", "orbiter", "station", "start_tdb_s", "end_tdb_s"]
    dl = pd.DataFrame(rows, columns=cols)
    t = dl["track_id"].to_numpy(dtype=np.int64)
    s, e = dl["start_tdb_s"].to_numpy(dtype=float), dl["end_tdb_s"].to_numpy(dtype=float)
    dl["duration_s"] = e - s
    dl["volume_mbit"] = table.volume_mbit(t, s, e) if len(dl) else np.zeros(0)
    dl["source"] = OFFERED
    return dl


def _pieces(s: float, e: float) -> list[tuple[float, float]]:
    """[s, e) cut at every UTC midnight, each part into equal pieces of at most PIECE_S."""
    day = int(utc_days(np.array([s]))[0]) + 1
    cuts = [s]
    while _midnight_tdb_s(day) < e:
        cuts.append(max(cuts[-1], _midnight_tdb_s(day)))
        day += 1
    cuts.append(e)
    out = []
    for a, b in zip(cuts, cuts[1:]):
        n = max(1, math.ceil((b - a) / PIECE_S - 1e-9))
        out += [(a + (b - a) * k / n, a + (b - a) * (k + 1) / n) for k in range(n) if b > a]
    return out


@lru_cache(maxsize=4096)
def _midnight_tdb_s(day: int) -> float:
    """TDB time of 00:00 UTC of ``day`` (days since 1970-01-01)."""
    return float(utc_to_tdb_s(datetime.fromordinal(day + 719163).replace(tzinfo=timezone.utc)))


def _apply_daily_cap(orb, tid_s, us, ue, cap_s) -> None:
    """Cut the used ends ``ue`` (in place) so that no orbiter uses more than its cap per UTC day.

    Windows are charged to the UTC day in which their used part starts, and
    used in time order within the day.
    """
    day = utc_days(us)
    ordr = np.lexsort((tid_s, us, day, orb.astype(str)))
    spent: dict[tuple[str, int], float] = {}
    for i in ordr:
        if ue[i] <= us[i]:
            continue
        key = (orb[i], int(day[i]))
        left = cap_s[i] - spent.get(key, 0.0)
        if left <= 0:
            ue[i] = us[i]
            continue
        ue[i] = min(ue[i], us[i] + left)
        spent[key] = spent.get(key, 0.0) + (ue[i] - us[i])


def _booked_downlinks(table: VolumeTable, tracks: pd.DataFrame, bookings: pd.DataFrame,
                      bookings_source: str, tid_s, start, end):
    """Station time of the bookings: ``(used volume per track, downlinks)``; each booking is
    clipped to its window and to time the orbiter has not used yet (module doc)."""
    used = np.zeros(len(tid_s))
    b = bookings.reset_index(drop=True)
    b_tid = _match_bookings(b, tracks, bookings_source)
    bpos = table.index_of(b_tid)   # rows in table order (by station), not by track id
    bs = np.maximum(b["start_tdb_s"].to_numpy(dtype=float), start[bpos])
    be = np.minimum(b["end_tdb_s"].to_numpy(dtype=float), end[bpos])
    b_orb = b["orbiter"].astype(str).to_numpy(dtype=object)
    us, ue, _ = _resolve_overlaps(b_orb, bs, be,
                                  [bs, b["station"].astype(str).to_numpy(), b["line"].to_numpy()])
    vol = table.volume_mbit(b_tid, us, ue) if len(b) else np.zeros(0)
    np.add.at(used, bpos, vol)
    dl = pd.DataFrame({
        "track_id": b_tid, "orbiter": b_orb, "station": b["station"].astype(str).to_numpy(),
        "start_tdb_s": us, "end_tdb_s": ue, "duration_s": ue - us, "volume_mbit": vol,
        "source": [f"booking line {ln}" for ln in b["line"]]})
    return used, dl[dl["duration_s"] > 0]


def _numbered_downlinks(dl: pd.DataFrame) -> pd.DataFrame:
    """Downlinks in time order with their mean rate and a downlink_id (0, 1, ...)."""
    dl = dl.sort_values(["start_tdb_s", "orbiter", "station", "track_id"], kind="stable")
    dl = dl.reset_index(drop=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        dl["mean_rate_kbps"] = np.where(dl["duration_s"] > 0,
                                        dl["volume_mbit"] * 1e3 / dl["duration_s"], 0.0)
    dl.insert(0, "downlink_id", np.arange(len(dl), dtype=np.int64))
    return dl
