"""Link-budget primitives shared by the UHF and X-band budgets.

Boltzmann's constant in dB, the Mars radius the off-nadir angle uses, free-space
loss, the angles and ranges of a pass on a sphere, linear interpolation in a
(x, y) table of the config, and the flooring of a supportable rate to a rate table.
"""
from __future__ import annotations

import math

import numpy as np

from ..constants import C_KM_S

#: 10 log10 of Boltzmann's constant, dBW/K/Hz.
BOLTZMANN_DBW = 10.0 * math.log10(1.380649e-23)
#: Mars mean radius used for the off-nadir angle, km (IAU 2015 mean ~3389.5 km).
MARS_MEAN_RADIUS_KM = 3389.5


def free_space_loss_db(range_km, frequency_mhz):
    """Free-space loss 20 log10(4 pi d f / c), dB, for d in km and f in MHz."""
    d = np.maximum(np.asarray(range_km, dtype=float), 1e-6)
    return 20.0 * np.log10(d) + 20.0 * np.log10(frequency_mhz) + 20.0 * math.log10(
        4.0 * math.pi * 1e9 / (C_KM_S * 1e3))


def off_nadir_deg(elevation_deg, range_km, body_radius_km: float = MARS_MEAN_RADIUS_KM):
    """Orbiter off-nadir angle of the asset, deg, from the asset's elevation and the range.

    Orbiter radius r^2 = R^2 + rho^2 + 2 R rho sin(el); sin(off-nadir) = R cos(el) / r.
    """
    el = np.radians(np.asarray(elevation_deg, dtype=float))
    rho = np.asarray(range_km, dtype=float)
    r = np.sqrt(body_radius_km ** 2 + rho ** 2 + 2.0 * body_radius_km * rho * np.sin(el))
    s = np.clip(body_radius_km * np.cos(el) / np.maximum(r, 1e-9), -1.0, 1.0)
    return np.degrees(np.arcsin(s))


def range_from_elevation_km(elevation_deg, altitude_km, body_radius_km: float = MARS_MEAN_RADIUS_KM):
    """Slant range to an orbiter at ``altitude_km`` seen at ``elevation_deg`` (sphere), km."""
    el = np.radians(np.asarray(elevation_deg, dtype=float))
    R = body_radius_km
    r = R + np.asarray(altitude_km, dtype=float)
    return -R * np.sin(el) + np.sqrt((R * np.sin(el)) ** 2 + r ** 2 - R ** 2)


def interp_table(table, x):
    """Linear interpolation in a config table of (x, y) rows, clamped at its ends."""
    xs = np.array([row[0] for row in table], dtype=float)
    ys = np.array([row[1] for row in table], dtype=float)
    return np.interp(np.asarray(x, dtype=float), xs, ys)


def floor_rate_index(rates_db: np.ndarray, supportable_db) -> np.ndarray:
    """Index of the largest rate (dB-bps, ascending) <= supportable, -1 if none."""
    return np.searchsorted(rates_db, np.asarray(supportable_db, dtype=float), side="right") - 1
