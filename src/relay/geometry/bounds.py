"""How fast an orbiter's elevation can change, seen from a surface site.

The bound on an orbiter's speed in Mars's body-fixed frame
(:func:`speed_bound_km_s`) turns into a bound on how fast the direction to it
turns (:func:`angle_bound_deg`), and into the time for which a site's
elevation margin surely keeps its sign (:class:`Reach`).  The pass search uses
them to skip stretches where no site can see the orbiter, to leave unrefined
the maxima that cannot reach the mask, and to prove the margin's sign between
samples (the ``reach`` of :func:`relay.geometry.windows.find_windows`).
"""

from __future__ import annotations

import numpy as np

from .. import mars
from ..mars import Site
from ..orbits.base import Ephemeris
from ..orbits.keplerian import KeplerianOrbit
from ..timescales import DAY_S

#: Mars's rotation rate (rad/s) with a margin: the spin of the body-fixed frame
#: (the pole's motion adds ~1e-12 rad/s)
_SPIN_BOUND_RAD_S = 1.001 * np.radians(mars.MERIDIAN_RATE_DEG_PER_DAY) / DAY_S


def speed_bound_km_s(eph: Ephemeris, tdb_s: np.ndarray) -> float | None:
    """An upper bound on the orbiter's speed in Mars's body-fixed frame (km/s), or None.

    The speed relative to the rotating frame is at most the inertial speed
    plus the frame's spin times the distance from Mars's centre.  For a
    :class:`~relay.orbits.keplerian.KeplerianOrbit` both come from the conic:
    the speed at periapsis, the apoapsis radius, and the J2 precession of node
    and periapsis (which moves a point at radius r by at most
    (|node rate| + |periapsis rate|) r).  For any other source (OEM, SPK) they
    come from the osculating conics of the states at ``tdb_s`` (the largest
    periapsis speed and apoapsis radius among them, and among the states
    themselves), with a 2 % margin for what the conic leaves out (J2 moves
    them by a fraction of a percent).  None when a state is unbound or nearly
    so: the caller then searches the whole grid.
    """
    if isinstance(eph, KeplerianOrbit) and 0.0 <= eph.eccentricity < 1.0:
        a, e, gm = eph.semi_major_axis_km, eph.eccentricity, eph.gm_km3_s2
        node_rate, peri_rate, _ = eph.secular_rates_rad_s()
        v_peri = np.sqrt(gm * (1.0 + e) / (a * (1.0 - e)))
        r_apo = a * (1.0 + e)
        return float(1.001 * (v_peri + (abs(node_rate) + abs(peri_rate) + _SPIN_BOUND_RAD_S) * r_apo))
    pos, vel = eph.state_km(tdb_s)
    if pos.size == 0 or not (np.all(np.isfinite(pos)) and np.all(np.isfinite(vel))):
        return None
    gm = mars.GM_KM3_S2
    r = np.sqrt(np.einsum("ij,ij->i", pos, pos))
    v2 = np.einsum("ij,ij->i", vel, vel)
    h = np.cross(pos, vel)
    h2 = np.einsum("ij,ij->i", h, h)
    energy = 0.5 * v2 - gm / r
    if r.min() <= 0 or energy.max() >= 0:
        return None
    # the osculating conic of each sampled state: apoapsis radius and periapsis speed
    a = -gm / (2.0 * energy)
    e = np.sqrt(np.maximum(0.0, 1.0 + 2.0 * energy * h2 / gm**2))
    if e.max() >= 0.99:
        return None
    r_apo = max(float(np.max(a * (1.0 + e))), float(r.max()))
    v_peri = max(float(np.sqrt(np.max(gm * (1.0 + e) / (a * (1.0 - e))))), float(np.sqrt(v2.max())))
    return float(1.02 * (v_peri + _SPIN_BOUND_RAD_S * r_apo))


def angle_bound_deg(displacement_km, range_km):
    """Largest change (deg) of the direction to a point at ``range_km`` moved by ``displacement_km``.

    A displacement ``D`` turns the direction by at most ``asin(D / range)``
    while ``D < range``, and by anything up to 180 degrees beyond.  Elevation
    (90 degrees minus the angle from the zenith) changes by no more.
    """
    ratio = np.asarray(displacement_km, dtype=float) / np.asarray(range_km, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.where(ratio < 1.0, np.degrees(np.arcsin(np.minimum(ratio, 1.0))), 180.0) + 1e-9


def _mask_slope(site: Site) -> float:
    """Largest slope (deg of elevation per deg of azimuth) of a site's terrain mask, 0 without one."""
    if not site.has_terrain_mask or site.mask_az_deg.size < 2:
        return 0.0
    az = np.r_[site.mask_az_deg, site.mask_az_deg[0] + 360.0]
    el = np.r_[site.mask_el_deg, site.mask_el_deg[0]]
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.nanmax(np.abs(np.diff(el) / np.diff(az))))


class Reach:
    """How long a site's margin surely keeps its sign around a sample (the ``reach`` of find_windows).

    With ``V`` the orbiter's body-fixed speed bound and ``rho`` its range,
    the direction to it turns at most at ``V / rho(t)`` rad/s, and
    ``rho(t) >= rho - V |t - t0|``.  Without a terrain mask the margin is the
    elevation minus a constant ``c``: the orbiter must travel at least
    ``rho sin|el - c|`` (its distance to the cone ``el = c``) to change the
    sign, which takes ``rho sin|el - c| / V``.  Under a terrain mask ``M``
    (piecewise linear in azimuth, slope at most ``S``) the azimuth turns at
    most at ``1 / cos(el)`` times the direction's rate, so wherever
    ``|el| <= E`` the margin ``el - M(az)`` changes at most at
    ``K = 1 + S / cos(E)`` times it; integrating ``V / (rho - V s)`` gives the
    time ``rho / V (1 - exp(-d / K))`` to change it by ``d`` radians.  A
    negative margin stays below every mask point: ``E`` is the highest mask,
    and the orbiter must climb from below ``-E`` (margin at most
    ``-(E + lowest mask)``) or from the sample, whichever is nearer, so
    ``d = min(-margin, E + lowest mask)``; it must also reach the lowest mask,
    as without terrain.  A positive margin can only fall to 0 at an elevation
    below ``E``; above ``E' = (E + 90) / 2`` the margin exceeds ``E' - E``, so
    ``d = min(margin, E' - E)`` with ``K' = 1 + S / cos(E')``.
    """

    def __init__(self, site: Site, speed_km_s: float):
        self.inv_v = 1.0 / speed_km_s
        self.terrain = site.has_terrain_mask
        self.low = site.min_elevation_deg
        if self.terrain:
            self.low = max(site.min_elevation_deg, float(np.min(site.mask_el_deg)))
            top = site.max_mask_deg
            slope = _mask_slope(site)
            band = abs(top)
            self.k_neg = 1.0 + slope / np.cos(np.radians(min(band, 90.0)))
            self.cap_neg = np.radians(max(0.0, band + self.low))
            top2 = 0.5 * (top + 90.0)
            self.k_pos = 1.0 + slope / np.cos(np.radians(min(max(top2, band), 90.0)))
            # the argument needs the lowest mask inside the band
            self.cap_pos = np.radians(top2 - top) if band + self.low > 0 else 0.0
        self.cos_low, self.sin_low = np.cos(np.radians(self.low)), np.sin(np.radians(self.low))

    def plain(self, up_km, rng):
        """The reach without terrain, from the range and its component along the zenith.

        ``rho |sin(el - c)|``, spelled without angles; beyond 90 degrees from
        the cone it is below ``rho`` (the distance then), so still a bound.
        """
        across = np.sqrt(np.maximum(rng * rng - up_km * up_km, 0.0))
        return np.abs(up_km * self.cos_low - across * self.sin_low) * self.inv_v

    def __call__(self, margin, el, rng):
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            scale = rng * self.inv_v
            # the cone of the lowest mask
            cone = scale * np.sin(np.radians(np.clip(np.abs(el - self.low), 0.0, 90.0)))
            neg = -np.expm1(-np.minimum(np.radians(-margin), self.cap_neg) / self.k_neg) * scale
            neg = np.where(el < self.low, np.maximum(neg, cone), neg)
            pos = -np.expm1(-np.minimum(np.radians(margin), self.cap_pos) / self.k_pos) * scale
            out = np.where(margin < 0, neg, np.where(margin > 0, pos, 0.0))
        return np.where(np.isfinite(out), np.maximum(out, 0.0), 0.0)
