"""Synthetic test geometry: passes of a circular orbit over a non-rotating sphere.

Not a model of any real orbiter: it exists so that tests and benchmarks
(``scripts/bench_links.py``) can exercise the link model on pass profiles
sampled like the geometry stage's, without computing any geometry.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..mars import GM_KM3_S2
from .budget import MARS_MEAN_RADIUS_KM


def synthetic_pass(altitude_km: float, max_elevation_deg: float, *, step_s: float = 10.0,
                   mask_deg: float = 0.0, t0_tdb_s: float = 0.0,
                   body_radius_km: float = MARS_MEAN_RADIUS_KM):
    """One pass of a circular orbit over a non-rotating sphere, sampled like the geometry stage.

    The ground track passes at the central angle that gives ``max_elevation_deg``
    at closest approach.  Returns ``(tdb_s, elevation_deg, range_km)`` on a
    uniform ``step_s`` grid from rise to set above ``mask_deg``, including the
    exact rise and set as the first and last samples.
    """
    R = body_radius_km
    r = R + altitude_km
    w = 2.0 * math.pi / (2.0 * math.pi * math.sqrt(r ** 3 / GM_KM3_S2))

    def gamma_for(el_deg):  # central angle at which the orbiter is seen at elevation el
        e = math.radians(el_deg)
        return math.acos(R * math.cos(e) / r) - e

    beta = gamma_for(max_elevation_deg)
    g_mask = gamma_for(mask_deg)
    if beta >= g_mask:
        raise ValueError("max_elevation_deg must exceed mask_deg")
    half = math.acos(math.cos(g_mask) / math.cos(beta)) / w
    n = int(math.floor(2 * half / step_s))
    tt = np.concatenate([np.arange(n + 1) * step_s, [2 * half]])
    if tt[-2] >= 2 * half - 1e-9:
        tt = tt[:-1]
    gam = np.arccos(np.clip(math.cos(beta) * np.cos(w * (tt - half)), -1, 1))
    el = np.degrees(np.arctan2(np.cos(gam) - R / r, np.sin(gam)))
    el[0] = el[-1] = mask_deg
    rng = np.sqrt(R ** 2 + r ** 2 - 2 * R * r * np.cos(gam))
    return t0_tdb_s + tt, el, rng


def synthetic_tables(specs, *, step_s: float = 10.0, mask_deg: float = 0.0, gap_s: float = 3600.0):
    """Build ``passes`` and ``profiles`` DataFrames from [(orbiter, asset, altitude_km, max_el)].

    Passes are laid one after another ``gap_s`` apart.
    """
    rows, prof = [], []
    t0 = 0.0
    for k, (o, a, alt, mx) in enumerate(specs):
        tt, el, rng = synthetic_pass(alt, mx, step_s=step_s, mask_deg=mask_deg, t0_tdb_s=t0)
        i = int(np.argmax(el))
        rows.append((k, o, a, tt[0], tt[-1], tt[-1] - tt[0], el[i], tt[i], rng.min(), False, False))
        prof.append(pd.DataFrame({"pass_id": k, "tdb_s": tt, "elevation_deg": el,
                                  "azimuth_deg": 0.0, "range_km": rng}))
        t0 = tt[-1] + gap_s
    passes = pd.DataFrame(rows, columns=["pass_id", "orbiter", "asset", "rise_tdb_s", "set_tdb_s",
                                         "duration_s", "max_elevation_deg", "max_elevation_tdb_s",
                                         "min_range_km", "truncated_start", "truncated_end"])
    profiles = pd.concat(prof, ignore_index=True) if prof else pd.DataFrame(
        columns=["pass_id", "tdb_s", "elevation_deg", "azimuth_deg", "range_km"])
    return passes, profiles
