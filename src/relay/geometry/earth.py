"""The Earth side: ground stations, the Earth-Mars geometry, Earth and Mars positions, fast.

:class:`Station` describes a ground station; :func:`earth_mars` gives the
Earth-Mars range, light time and solar conjunction on a grid;
:class:`BodyTable` tabulates a de421 body's barycentric position for cheap
interpolation, and :class:`EarthStations` gives the stations' ICRF positions
and zeniths and the elevation of Mars from them, for many times at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from ..constants import C_KM_S  # speed of light, km/s
from ..ephem import planets
from ..timescales import tdb_s_to_skyfield
from .windows import time_grid


@dataclass
class Station:
    """A ground station: geodetic (WGS84) latitude, east longitude, height; elevation mask."""

    name: str
    latitude_deg: float
    longitude_deg: float
    height_m: float = 0.0
    min_elevation_deg: float = 10.0


def stations_of(scenario) -> list[Station]:
    """The ground stations of a scenario, as the track search takes them."""
    return [Station(s.name, s.latitude_deg, s.longitude_deg, s.height_m, s.min_elevation_deg)
            for s in scenario.stations]


def earth_mars(start_tdb_s: float, end_tdb_s: float, step_s: float = 3600.0,
               conjunction_deg: float = 3.0) -> pd.DataFrame:
    """Earth-Mars range, one-way light time and Sun-Earth-Mars angle on a grid.

    Range and light time are from the geocentre to Mars's centre (Skyfield
    ``observe``, light time included); ``sun_earth_mars_deg`` is the
    elongation of Mars from the Sun seen from the Earth; ``conjunction`` is
    true where it is below ``conjunction_deg``.
    """
    eph = planets()
    grid = time_grid(start_tdb_s, end_tdb_s, step_s)
    t = tdb_s_to_skyfield(grid)
    earth = eph["earth"].at(t)
    m = earth.observe(eph["mars"])
    s = earth.observe(eph["sun"])
    rng = m.distance().km
    sem = m.separation_from(s).degrees
    return pd.DataFrame({
        "tdb_s": grid,
        "range_km": rng,
        "light_time_s": m.light_time * 86400.0,
        "sun_earth_mars_deg": sem,
        "conjunction": sem < conjunction_deg,
    })


def hermite_cubic(t0: np.ndarray, x0: np.ndarray, v0: np.ndarray, x1: np.ndarray,
                  v1: np.ndarray, h: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Cubic Hermite interpolation of (N, 3) states between nodes ``t0`` and ``t0 + h``."""
    s = ((t - t0) / h)[:, None]
    s2, s3 = s * s, s * s * s
    h00 = 2 * s3 - 3 * s2 + 1
    h10 = s3 - 2 * s2 + s
    h01 = -2 * s3 + 3 * s2
    h11 = s3 - s2
    hh = h[:, None]
    return h00 * x0 + h10 * hh * v0 + h01 * x1 + h11 * hh * v1


class BodyTable:
    """Barycentric positions of a de421 body tabulated on nodes and interpolated.

    Cubic Hermite on position and velocity at nodes ``node_step_s`` apart; for
    the Earth and Mars with hourly nodes the error is below a metre (checked in
    the tests against Skyfield), while a query costs a few array operations
    instead of a Chebyshev evaluation.
    """

    def __init__(self, body: str, start_tdb_s: float, end_tdb_s: float, node_step_s: float = 3600.0):
        n = max(2, int(np.ceil((end_tdb_s - start_tdb_s) / node_step_s)) + 1)
        self.nodes = np.linspace(start_tdb_s, end_tdb_s, n)
        pos = planets()[body].at(tdb_s_to_skyfield(self.nodes))
        self.x = pos.position.km.T
        self.v = pos.velocity.km_per_s.T

    def position_km(self, tdb_s: np.ndarray) -> np.ndarray:
        k = np.clip(np.searchsorted(self.nodes, tdb_s) - 1, 0, self.nodes.size - 2)
        return hermite_cubic(self.nodes[k], self.x[k], self.v[k], self.x[k + 1], self.v[k + 1],
                             self.nodes[k + 1] - self.nodes[k], tdb_s)


class EarthStations:
    """Ground-station positions in the ICRF for many times, fast.

    Skyfield's exact ICRS -> ITRS rotation (``rot_z(-GAST) M``, IAU 2000A
    nutation, no polar motion) is evaluated on nodes ``node_step_s`` apart;
    between nodes the precession-nutation matrix ``M`` and the part of GAST
    that is not the uniform sidereal rotation are interpolated linearly (both
    move by well under a milliarcsecond an hour), and the sidereal rotation
    itself is analytic.  Agreement with Skyfield's own ``altaz`` is checked in
    the tests to 1e-6 degree.
    """

    _SIDEREAL_PER_DAY = 1.00273781191135448

    def __init__(self, stations: Sequence[Station], start_tdb_s: float, end_tdb_s: float,
                 node_step_s: float = 3600.0):
        from skyfield.toposlib import wgs84

        self.stations = stations
        self.planets = planets()
        # light time from Mars is at most ~22 minutes: cover emission times too
        self.earth_table = BodyTable("earth", start_tdb_s - 2 * node_step_s, end_tdb_s + 2 * node_step_s)
        self.mars_table = BodyTable("mars", start_tdb_s - 1500.0 - 2 * node_step_s, end_tdb_s + 2 * node_step_s)
        n = max(2, int(np.ceil((end_tdb_s - start_tdb_s) / node_step_s)) + 1)
        self.nodes = np.linspace(start_tdb_s - node_step_s, end_tdb_s + node_step_s, n + 2)
        t = tdb_s_to_skyfield(self.nodes)
        self.m = np.moveaxis(t.M, -1, 0)  # (K, 3, 3)
        phase = np.unwrap(t.gast * np.pi / 12.0 - self._spin(self.nodes))
        self.phase = phase
        self.itrs_km = []
        self.up_itrs = []
        for st in stations:
            topo = wgs84.latlon(st.latitude_deg, st.longitude_deg, elevation_m=st.height_m)
            self.itrs_km.append(np.asarray(topo.itrs_xyz.km))
            lat, lon = np.radians(st.latitude_deg), np.radians(st.longitude_deg)
            self.up_itrs.append(np.array([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)]))

    def _spin(self, tdb_s):
        return 2 * np.pi * ((self._SIDEREAL_PER_DAY * tdb_s / 86400.0) % 1.0)

    def _rotation(self, tdb_s):
        """ICRS -> ITRS rotation matrices (N, 3, 3)."""
        k = np.clip(np.searchsorted(self.nodes, tdb_s) - 1, 0, self.nodes.size - 2)
        w = ((tdb_s - self.nodes[k]) / (self.nodes[k + 1] - self.nodes[k]))[:, None, None]
        m = self.m[k] * (1 - w) + self.m[k + 1] * w
        gast = self._spin(tdb_s) + np.interp(tdb_s, self.nodes, self.phase)
        c, s = np.cos(gast), np.sin(gast)
        z, o = np.zeros_like(c), np.ones_like(c)
        rz = np.stack([np.stack([c, s, z], -1), np.stack([-s, c, z], -1), np.stack([z, z, o], -1)], -2)
        return rz @ m

    def mars_elevation_deg(self, tdb_s, i):
        """Elevation of Mars's centre (geometric, light time included) from station i."""
        pos, up = self.position_and_up(tdb_s, i)
        lt = np.linalg.norm(self.mars_table.position_km(tdb_s) - pos, axis=1) / C_KM_S
        d = self.mars_table.position_km(tdb_s - lt) - pos
        u = d / np.linalg.norm(d, axis=1)[:, None]
        return np.degrees(np.arcsin(np.clip(np.einsum("ij,ij->i", up, u), -1, 1)))

    def mars_elevation_deg_pairs(self, tdb_s, series):
        out = np.empty(tdb_s.size)
        for i in np.unique(series):
            m = series == i
            out[m] = self.mars_elevation_deg(tdb_s[m], i)
        return out

    def position_and_up(self, tdb_s, i):
        """Station i: barycentric ICRF position (km) and unit zenith (geodetic) at times (N,)."""
        r = self._rotation(tdb_s)
        gcrs = np.einsum("nji,j->ni", r, self.itrs_km[i])
        up = np.einsum("nji,j->ni", r, self.up_itrs[i])
        return self.earth_table.position_km(tdb_s) + gcrs, up

    def positions_and_ups(self, tdb_s, series):
        """As :meth:`position_and_up` for (time, station index) pairs, in one pass."""
        r = self._rotation(tdb_s)
        series = np.asarray(series, dtype=np.int64)
        gcrs = np.einsum("nji,nj->ni", r, np.asarray(self.itrs_km)[series])
        up = np.einsum("nji,nj->ni", r, np.asarray(self.up_itrs)[series])
        return self.earth_table.position_km(tdb_s) + gcrs, up
