"""Mars: IAU 2015 rotation, the reference spheroid and surface sites.

The rotation model is the IAU WGCCRE 2015 one (Archinal et al. 2018, Celest.
Mech. Dyn. Astr. 130:22), identical to NAIF's ``pck00011.tpc``, periodic
terms included (they move the pole by up to 1.6 degrees and the prime
meridian by 0.6 degrees, so they matter for pass times)::

    alpha0 = 317.269202 - 0.10927547 T + sum ra_k  sin(theta_k)
    delta0 =  54.432516 - 0.05827105 T + sum dec_k cos(theta_k)
    W      = 176.049863 + 350.891982443297 d + sum pm_k sin(theta_k)

with ``T`` Julian centuries and ``d`` days of TDB past J2000 and
``theta_k = A_k + B_k T``.

Skyfield cannot build this frame from text constants (it reads only binary
PCKs, which NAIF publishes for the Earth and Moon), so :data:`MARS_FRAME`
implements Skyfield's frame protocol (``rotation_at`` and
``_dRdt_times_RT_at``) and works with ``frame_latlon``, ``frame_xyz`` and
``frame_xyz_and_velocity``.  :class:`SurfaceSite` is a Skyfield
``VectorFunction`` centred on Mars (499) with an ``altaz`` rotation, so
``(orbiter - site).at(t).altaz()`` and ``earth.at(t).observe(mars + site)``
work.

Inside relay's numerics the same model is used as plain numpy on arrays of
TDB seconds (:func:`rotation_matrices`), which is what the pass finder calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from skyfield.vectorlib import VectorFunction

from .constants import AU_KM
from .timescales import DAY_S, skyfield_to_tdb_s

#: IAU 2015 equatorial and polar radii of Mars, km (Archinal et al. 2018).
EQUATORIAL_RADIUS_KM = 3396.19
POLAR_RADIUS_KM = 3376.20
#: GM of Mars, km^3/s^2 (NASA Mars fact sheet).
GM_KM3_S2 = 42828.37
#: J2 of Mars (NASA Mars fact sheet).
J2 = 1.96045e-3
#: NAIF id of Mars.
MARS_NAIF_ID = 499

CENTURY_S = 36525.0 * DAY_S

# pck00011 / Archinal et al. 2018: (amplitude_deg, A_deg, B_deg_per_century)
_RA_TERMS = np.array([
    (0.000068, 198.991226, 19139.4819985),
    (0.000238, 226.292679, 38280.8511281),
    (0.000052, 249.663391, 57420.7251593),
    (0.000009, 266.183510, 76560.6367950),
    (0.419057, 79.398797, 0.5042615),
])
_DEC_TERMS = np.array([
    (0.000051, 122.433576, 19139.9407476),
    (0.000141, 43.058401, 38280.8753272),
    (0.000031, 57.663379, 57420.7517205),
    (0.000005, 79.476401, 76560.6495004),
    (1.591274, 166.325722, 0.5042615),
])
_PM_TERMS = np.array([
    (0.000145, 129.071773, 19140.0328244),
    (0.000157, 36.352167, 38281.0473591),
    (0.000040, 56.668646, 57420.9295360),
    (0.000001, 67.364003, 76560.2552215),
    (0.000001, 104.792680, 95700.4387578),
    (0.584542, 95.391654, 0.5042615),
])
_RA0, _RA1 = 317.269202, -0.10927547
_DEC0, _DEC1 = 54.432516, -0.05827105
#: the prime meridian's uniform part, ``W = MERIDIAN_J2000_DEG + MERIDIAN_RATE_DEG_PER_DAY d``
#: plus the periodic terms (``d`` days of TDB past J2000)
MERIDIAN_J2000_DEG, MERIDIAN_RATE_DEG_PER_DAY = 176.049863, 350.891982443297


def _series(terms: np.ndarray, T: np.ndarray, fn):
    """Sum of amp*fn(A + B T) and its derivative with respect to T (degrees)."""
    amp, a, b = terms[:, 0], terms[:, 1], terms[:, 2]
    theta = np.radians(a[None, :] + b[None, :] * T[:, None])
    if fn is np.sin:
        value = (amp * np.sin(theta)).sum(axis=1)
        deriv = (amp * np.cos(theta) * np.radians(b)).sum(axis=1)
    else:
        value = (amp * np.cos(theta)).sum(axis=1)
        deriv = (-amp * np.sin(theta) * np.radians(b)).sum(axis=1)
    return value, deriv


def pole_and_meridian_deg(tdb_s):
    """IAU 2015 ``(alpha0, delta0, W)`` in degrees and their rates in degrees/second.

    Accepts a scalar or an array of TDB seconds past J2000; returns arrays.
    """
    tdb_s = np.atleast_1d(np.asarray(tdb_s, dtype=float))
    T = tdb_s / CENTURY_S
    d = tdb_s / DAY_S
    ra_p, ra_pd = _series(_RA_TERMS, T, np.sin)
    dec_p, dec_pd = _series(_DEC_TERMS, T, np.cos)
    w_p, w_pd = _series(_PM_TERMS, T, np.sin)
    ra = _RA0 + _RA1 * T + ra_p
    dec = _DEC0 + _DEC1 * T + dec_p
    w = MERIDIAN_J2000_DEG + MERIDIAN_RATE_DEG_PER_DAY * d + w_p
    ra_rate = (_RA1 + ra_pd) / CENTURY_S
    dec_rate = (_DEC1 + dec_pd) / CENTURY_S
    w_rate = MERIDIAN_RATE_DEG_PER_DAY / DAY_S + w_pd / CENTURY_S
    return (ra, dec, w), (ra_rate, dec_rate, w_rate)


def mars_pole_radec_deg(tdb_s) -> tuple[float, float]:
    """Right ascension and declination of Mars's IAU 2015 pole (periodic terms included)."""
    (ra, dec, _), _ = pole_and_meridian_deg(tdb_s)
    return float(ra[0]), float(dec[0])


def _pz(angle):
    """Passive rotation about z by ``angle`` (radians), shape (N,3,3), and its derivative."""
    c, s = np.cos(angle), np.sin(angle)
    z, o = np.zeros_like(c), np.ones_like(c)
    m = np.stack([np.stack([c, s, z], -1), np.stack([-s, c, z], -1), np.stack([z, z, o], -1)], -2)
    dm = np.stack([np.stack([-s, c, z], -1), np.stack([-c, -s, z], -1), np.stack([z, z, z], -1)], -2)
    return m, dm


def _px(angle):
    """Passive rotation about x by ``angle`` (radians), shape (N,3,3), and its derivative."""
    c, s = np.cos(angle), np.sin(angle)
    z, o = np.zeros_like(c), np.ones_like(c)
    m = np.stack([np.stack([o, z, z], -1), np.stack([z, c, s], -1), np.stack([z, -s, c], -1)], -2)
    dm = np.stack([np.stack([z, z, z], -1), np.stack([z, -s, c], -1), np.stack([z, -c, -s], -1)], -2)
    return m, dm


def rotation_matrices(tdb_s, with_rate: bool = False):
    """ICRF -> Mars body-fixed (IAU_MARS) rotation matrices, shape (N, 3, 3).

    ``R = Rz(W) Rx(90 - delta0) Rz(90 + alpha0)`` (passive rotations), as in
    SPICE's PCK frames.  With ``with_rate`` also returns ``dR/dt`` per second.
    """
    (ra, dec, w), (ra_r, dec_r, w_r) = pole_and_meridian_deg(tdb_s)
    a1, d1 = _pz(np.radians(90.0 + ra))
    a2, d2 = _px(np.radians(90.0 - dec))
    a3, d3 = _pz(np.radians(w))
    r = a3 @ a2 @ a1
    if not with_rate:
        return r
    rate = (
        (d3 * np.radians(w_r)[:, None, None]) @ a2 @ a1
        + a3 @ (d2 * np.radians(-dec_r)[:, None, None]) @ a1
        + a3 @ a2 @ (d1 * np.radians(ra_r)[:, None, None])
    )
    return r, rate


def mean_equator_matrix(pole_ra_deg: float, pole_dec_deg: float) -> np.ndarray:
    """Rotation from the Mars mean-equator-and-IAU-node frame of a pole to the ICRF.

    The frame's z axis is the pole (right ascension, declination); its x axis is
    the ascending node of that equator on the ICRF equator, at right ascension
    ``pole_ra + 90 deg`` (the frame SPICE's SPK type 17 uses).  Columns of the
    returned matrix are the frame's axes in ICRF coordinates.
    """
    ra, dec = np.radians(pole_ra_deg), np.radians(pole_dec_deg)
    z = np.array([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)])
    x = np.array([-np.sin(ra), np.cos(ra), 0.0])
    y = np.cross(z, x)
    return np.column_stack([x, y, z])


class MarsFrame:
    """Mars body-fixed frame (IAU 2015) for Skyfield's frame methods.

    >>> lat, lon, distance = position.frame_latlon(MARS_FRAME)   # doctest: +SKIP
    """

    center = MARS_NAIF_ID

    def rotation_at(self, t):
        """Rotation matrix ICRF -> body-fixed at Skyfield time ``t`` ((3,3) or (3,3,N))."""
        r = rotation_matrices(skyfield_to_tdb_s(t))
        return r[0] if np.ndim(t.tt) == 0 else np.moveaxis(r, 0, -1)

    def rotation_and_rate_at(self, t):
        r, rate = rotation_matrices(skyfield_to_tdb_s(t), with_rate=True)
        rate = rate * DAY_S
        if np.ndim(t.tt) == 0:
            return r[0], rate[0]
        return np.moveaxis(r, 0, -1), np.moveaxis(rate, 0, -1)

    def _dRdt_times_RT_at(self, t):
        """dR/dt R^T in radians per day (Skyfield adds it to velocities)."""
        r, rate = rotation_matrices(skyfield_to_tdb_s(t), with_rate=True)
        m = rate @ np.swapaxes(r, 1, 2) * DAY_S
        return m[0] if np.ndim(t.tt) == 0 else np.moveaxis(m, 0, -1)


MARS_FRAME = MarsFrame()


def spheroid_point(lat_deg: float, lon_deg: float, height_m: float = 0.0,
                   a_km: float = EQUATORIAL_RADIUS_KM, b_km: float = POLAR_RADIUS_KM):
    """Body-fixed position (km) and outward normal of a site.

    ``lat_deg`` is planetocentric, ``lon_deg`` east; the site lies ``height_m``
    along the spheroid's normal above the surface point at that planetocentric
    latitude.  Returns ``(position_km, normal)``.
    """
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    r = 1.0 / np.sqrt((np.cos(lat) / a_km) ** 2 + (np.sin(lat) / b_km) ** 2)
    p = r * np.array([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
    n = np.array([p[0] / a_km**2, p[1] / a_km**2, p[2] / b_km**2])
    n /= np.linalg.norm(n)
    return p + n * (height_m / 1000.0), n


@dataclass
class Site:
    """A surface site: planetocentric latitude, east longitude, height on the IAU 2015 spheroid.

    ``mask_az_deg`` / ``mask_el_deg`` describe an optional azimuth-dependent
    horizon (terrain, crater rims) interpolated linearly and periodically in
    azimuth; the effective mask is the larger of it and ``min_elevation_deg``.
    """

    name: str
    latitude_deg: float
    longitude_deg: float
    height_m: float = 0.0
    min_elevation_deg: float = 10.0
    mask_az_deg: np.ndarray | None = None
    mask_el_deg: np.ndarray | None = None
    position_km: np.ndarray = field(init=False, repr=False)
    up: np.ndarray = field(init=False, repr=False)
    north: np.ndarray = field(init=False, repr=False)
    east: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        self.position_km, self.up = spheroid_point(self.latitude_deg, self.longitude_deg, self.height_m)
        lon = np.radians(self.longitude_deg)
        self.east = np.array([-np.sin(lon), np.cos(lon), 0.0])
        self.north = np.cross(self.up, self.east)
        if self.mask_az_deg is not None:
            order = np.argsort(np.asarray(self.mask_az_deg, dtype=float) % 360.0)
            self.mask_az_deg = np.asarray(self.mask_az_deg, dtype=float)[order] % 360.0
            self.mask_el_deg = np.asarray(self.mask_el_deg, dtype=float)[order]

    @property
    def enu_matrix(self) -> np.ndarray:
        """Rows north, east, up: body-fixed vector -> (north, east, up) components."""
        return np.vstack([self.north, self.east, self.up])

    def mask_deg(self, azimuth_deg):
        """Elevation mask (degrees) at the given azimuth(s)."""
        az = np.asarray(azimuth_deg, dtype=float)
        if self.mask_az_deg is None:
            return np.full_like(az, self.min_elevation_deg)
        terrain = np.interp(az % 360.0, self.mask_az_deg, self.mask_el_deg, period=360.0)
        return np.maximum(terrain, self.min_elevation_deg)

    @property
    def max_mask_deg(self) -> float:
        if self.mask_el_deg is None:
            return self.min_elevation_deg
        return max(self.min_elevation_deg, float(np.max(self.mask_el_deg)))

    @property
    def has_terrain_mask(self) -> bool:
        return self.mask_az_deg is not None

    def elevation_margin_deg(self, body_fixed_km: np.ndarray) -> np.ndarray:
        """Elevation minus the mask (degrees): positive while the point is in view.

        Computes the azimuth only when a terrain mask needs it.
        """
        if self.has_terrain_mask:
            el, az, _ = self.look_angles(body_fixed_km)
            return el - self.mask_deg(az)
        d = np.asarray(body_fixed_km) - self.position_km
        rng = np.sqrt(np.einsum("...i,...i->...", d, d))
        return np.degrees(np.arcsin(np.clip((d @ self.up) / rng, -1.0, 1.0))) - self.min_elevation_deg

    def look_angles(self, body_fixed_km: np.ndarray):
        """Elevation, azimuth (degrees) and range (km) of body-fixed points seen from the site.

        ``body_fixed_km`` has shape (..., 3).  Elevation is above the spheroid's
        tangent plane; azimuth is measured from north towards east.
        """
        d = np.asarray(body_fixed_km) - self.position_km
        rng = np.sqrt(np.einsum("...i,...i->...", d, d))
        u = d @ self.up
        n = d @ self.north
        e = d @ self.east
        el = np.degrees(np.arcsin(np.clip(u / rng, -1.0, 1.0)))
        az = np.degrees(np.arctan2(e, n)) % 360.0
        return el, az, rng

    def skyfield(self) -> "SurfaceSite":
        """This site as a Skyfield vector function centred on Mars."""
        return SurfaceSite(self)


class SurfaceSite(VectorFunction):
    """A :class:`Site` as a Skyfield ``VectorFunction`` from Mars's centre (499).

    ``(orbiter - site).at(t).altaz()`` gives elevation above the spheroid's
    tangent plane and azimuth from north through east.
    """

    center = MARS_NAIF_ID

    def __init__(self, site: Site):
        self.site = site
        self.target_name = site.name

    @property
    def target(self):
        return self

    def _at(self, t):
        r, rate = rotation_matrices(skyfield_to_tdb_s(t), with_rate=True)
        p_km = self.site.position_km
        pos = np.einsum("nji,j->in", r, p_km) / AU_KM          # R^T p
        vel = np.einsum("nji,j->in", rate, p_km) / AU_KM * DAY_S  # dR^T/dt p
        if np.ndim(t.tt) == 0:
            pos, vel = pos[:, 0], vel[:, 0]
        return pos, vel, None, None

    def rotation_at(self, t):
        """ICRF -> (north, east, up) rotation for Skyfield's ``altaz``."""
        r = rotation_matrices(skyfield_to_tdb_s(t))
        m = self.site.enu_matrix @ r
        return m[0] if np.ndim(t.tt) == 0 else np.moveaxis(m, 0, -1)
