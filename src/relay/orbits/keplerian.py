"""Mean Keplerian elements propagated with the J2 secular rates.

The elements are referred to Mars's mean equator and IAU node of the epoch:
z along Mars's IAU 2015 pole at the epoch (periodic terms included, the pole
SPICE's SPK type 17 is given), x along the ascending node of that equator on
the ICRF equator.  With ``n = sqrt(GM/a^3)``, ``p = a(1-e^2)`` and
``k = 1.5 J2 (Re/p)^2 n`` the secular rates are (Vallado, *Fundamentals of
Astrodynamics*, 4th ed., eqs. 9-41 to 9-43)::

    node rate       = -k cos i
    periapsis rate  = 0.5 k (5 cos^2 i - 1)
    mean anomaly    = n + 0.5 k sqrt(1 - e^2) (3 cos^2 i - 1)

This is the model of SPICE's SPK type 17, which the test suite uses as an
independent reference.  Like MaROS's quick overflight estimator it ignores
higher harmonics, drag and manoeuvres: it is a planning model, and a real OEM
or SPK file replaces it when one is available.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import mars
from ..ephem import planets
from ..timescales import SOL_S, tdb_s_to_skyfield


def solve_kepler(mean_anomaly: np.ndarray, e: float, tol: float = 1e-14) -> np.ndarray:
    """Eccentric anomaly for arrays of mean anomalies (radians).

    Halley's method (cubic convergence: three or four steps from the starting
    guess for e up to about 0.6, against five or six for Newton's), stopping
    when every step is below ``tol``.
    """
    m = np.mod(mean_anomaly, 2 * np.pi)
    if e == 0.0:
        return m
    big_e = m + e * np.sin(m) if e < 0.8 else np.full_like(m, np.pi)
    for _ in range(50):
        es, ec = e * np.sin(big_e), e * np.cos(big_e)
        f = big_e - es - m
        fp = 1.0 - ec
        step = f / (fp - 0.5 * f * es / fp)
        big_e = big_e - step
        if np.max(np.abs(step), initial=0.0) < tol:
            break
    return big_e


# -- the eccentric anomaly's cosine and sine, fast -----------------------------
# Halley's method costs two sines or cosines per step and three to five steps
# at MAVEN's or MEX's eccentricity (about 300 ns a time here); a table over one
# revolution, interpolated by cubic Hermite in the mean anomaly (derivatives in
# closed form), costs a few gathers and multiplications (about 40 ns) and agrees
# with Halley's method to round-off (tests/test_geometry.py checks it).

#: nodes per revolution of the eccentric-anomaly table (a power of two)
_E_TABLE_SIZE = 1 << 16
#: above this eccentricity the table is not used (Halley's method instead)
_E_TABLE_MAX_ECC = 0.9
_E_TABLES: dict[float, tuple] = {}


def _eccentric_table(e: float) -> tuple:
    """cos E, sin E and h times their derivatives by M, at M = 2 pi k / N (k = 0..N)."""
    tab = _E_TABLES.get(e)
    if tab is None:
        h = 2 * np.pi / _E_TABLE_SIZE
        m = np.arange(_E_TABLE_SIZE + 1) * h
        big_e = solve_kepler(m, e)
        big_e[-1] = big_e[0] + 2 * np.pi
        c, s = np.cos(big_e), np.sin(big_e)
        de = h / (1.0 - e * c)          # h dE/dM
        tab = (c, s, -s * de, c * de)
        if len(_E_TABLES) > 64:
            _E_TABLES.clear()
        _E_TABLES[e] = tab
    return tab


def cos_sin_eccentric_anomaly(mean_anomaly: np.ndarray, e: float):
    """cos E and sin E for arrays of mean anomalies M (radians), E - e sin E = M.

    Cubic Hermite interpolation in M between nodes 2 pi / 65536 apart (error
    about h^4/384 times the fourth derivative: below 1e-15 up to e = 0.9,
    where the table is used; 1e-13 at 0.9, measured); Halley's method on the
    few times or higher eccentricities.  Circular orbits use the table too
    (it is then cos M and sin M, faster than np.cos and np.sin of a large M).
    """
    m = np.asarray(mean_anomaly, dtype=float)
    if m.size < 8192 or not (0.0 <= e <= _E_TABLE_MAX_ECC):
        big_e = solve_kepler(m, e)
        return np.cos(big_e), np.sin(big_e)
    c_tab, s_tab, dc_tab, ds_tab = _eccentric_table(float(e))
    u = m * (_E_TABLE_SIZE / (2 * np.pi))
    k = np.floor(u)
    x = u - k
    k = k.astype(np.int64) & (_E_TABLE_SIZE - 1)
    k1 = k + 1
    # Hermite basis: h01 = x^2 (3 - 2x), h00 = 1 - h01, h10 = x (x-1)^2, h11 = x^2 (x-1)
    xm = x - 1.0
    h11 = x * x * xm
    h10 = x * xm * xm
    h01 = x * x * (3.0 - 2.0 * x)
    c = c_tab[k] + h01 * (c_tab[k1] - c_tab[k]) + h10 * dc_tab[k] + h11 * dc_tab[k1]
    s = s_tab[k] + h01 * (s_tab[k1] - s_tab[k]) + h10 * ds_tab[k] + h11 * ds_tab[k1]
    return c, s


@dataclass
class KeplerianOrbit:
    """A J2-precessing mean-element orbit about Mars; implements the Ephemeris protocol."""

    name: str
    epoch_tdb_s: float
    semi_major_axis_km: float
    eccentricity: float
    inclination_deg: float
    raan_deg: float
    arg_periapsis_deg: float
    mean_anomaly_deg: float
    gm_km3_s2: float = mars.GM_KM3_S2
    reference_radius_km: float = mars.EQUATORIAL_RADIUS_KM
    j2: float = mars.J2
    pole_ra_deg: float | None = None
    pole_dec_deg: float | None = None
    _to_icrf: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        if self.pole_ra_deg is None or self.pole_dec_deg is None:
            self.pole_ra_deg, self.pole_dec_deg = mars.mars_pole_radec_deg(self.epoch_tdb_s)
        self._to_icrf = mars.mean_equator_matrix(self.pole_ra_deg, self.pole_dec_deg)

    @property
    def coverage_tdb_s(self) -> tuple[float, float]:
        return (-np.inf, np.inf)

    # -- rates -----------------------------------------------------------------
    @property
    def mean_motion_rad_s(self) -> float:
        return float(np.sqrt(self.gm_km3_s2 / self.semi_major_axis_km**3))

    def secular_rates_rad_s(self) -> tuple[float, float, float]:
        """(node rate, periapsis rate, mean anomaly rate) in radians per second."""
        a, e = self.semi_major_axis_km, self.eccentricity
        n = self.mean_motion_rad_s
        p = a * (1.0 - e * e)
        k = 1.5 * self.j2 * (self.reference_radius_km / p) ** 2 * n
        ci = np.cos(np.radians(self.inclination_deg))
        node = -k * ci
        peri = 0.5 * k * (5.0 * ci * ci - 1.0)
        mean = n + 0.5 * k * np.sqrt(1.0 - e * e) * (3.0 * ci * ci - 1.0)
        return float(node), float(peri), float(mean)

    @property
    def period_s(self) -> float:
        """Anomalistic period (periapsis to periapsis), seconds."""
        return 2 * np.pi / self.secular_rates_rad_s()[2]

    @property
    def periapsis_radius_km(self) -> float:
        return self.semi_major_axis_km * (1.0 - self.eccentricity)

    @property
    def apoapsis_radius_km(self) -> float:
        return self.semi_major_axis_km * (1.0 + self.eccentricity)

    # -- state -----------------------------------------------------------------
    def elements_at(self, tdb_s):
        """(node, periapsis argument, mean anomaly) in radians at the given times."""
        dt = np.asarray(tdb_s, dtype=float) - self.epoch_tdb_s
        node_rate, peri_rate, mean_rate = self.secular_rates_rad_s()
        node = np.radians(self.raan_deg) + node_rate * dt
        peri = np.radians(self.arg_periapsis_deg) + peri_rate * dt
        mean = np.radians(self.mean_anomaly_deg) + mean_rate * dt
        return node, peri, mean

    def position_km(self, tdb_s) -> np.ndarray:
        """Mars-centred ICRF position (km), shape (N, 3): the pass search's fast path."""
        tdb_s = np.atleast_1d(np.asarray(tdb_s, dtype=float))
        a, e = self.semi_major_axis_km, self.eccentricity
        dt = tdb_s - self.epoch_tdb_s
        node_rate, peri_rate, mean_rate = self.secular_rates_rad_s()
        cos_e, sin_e = cos_sin_eccentric_anomaly(np.radians(self.mean_anomaly_deg) + mean_rate * dt, e)
        xp = a * (cos_e - e)
        yp = a * np.sqrt(1.0 - e * e) * sin_e
        ci, si = np.cos(np.radians(self.inclination_deg)), np.sin(np.radians(self.inclination_deg))
        node = np.radians(self.raan_deg) + node_rate * dt
        peri = np.radians(self.arg_periapsis_deg) + peri_rate * dt
        cn, sn = np.cos(node), np.sin(node)
        cw, sw = np.cos(peri), np.sin(peri)
        # position = xp P + yp Q, with P, Q in the mean-equator frame, then to
        # ICRF; as components along the node line (along) and across it in the
        # orbit plane (across): fewer operations than P and Q themselves
        along = xp * cw - yp * sw
        across = xp * sw + yp * cw
        across_eq = across * ci
        x = along * cn - across_eq * sn
        y = along * sn + across_eq * cn
        z = across * si
        m = self._to_icrf
        out = np.empty((tdb_s.size, 3))
        for k in range(3):
            out[:, k] = m[k, 0] * x + m[k, 1] * y + m[k, 2] * z
        return out

    def state_km(self, tdb_s) -> tuple[np.ndarray, np.ndarray]:
        """Mars-centred ICRF position (km) and velocity (km/s), shape (N, 3)."""
        tdb_s = np.atleast_1d(np.asarray(tdb_s, dtype=float))
        a, e = self.semi_major_axis_km, self.eccentricity
        node, peri, mean = self.elements_at(tdb_s)
        node_rate, peri_rate, mean_rate = self.secular_rates_rad_s()
        big_e = solve_kepler(mean, e)
        cos_e, sin_e = np.cos(big_e), np.sin(big_e)
        b_over_a = np.sqrt(1.0 - e * e)
        # perifocal position and its derivative with respect to time
        xp = a * (cos_e - e)
        yp = a * b_over_a * sin_e
        e_dot = mean_rate / (1.0 - e * cos_e)
        vxp = -a * sin_e * e_dot
        vyp = a * b_over_a * cos_e * e_dot
        ci, si = np.cos(np.radians(self.inclination_deg)), np.sin(np.radians(self.inclination_deg))
        cn, sn = np.cos(node), np.sin(node)
        cw, sw = np.cos(peri), np.sin(peri)
        # columns P, Q of the perifocal -> equatorial rotation
        px = cn * cw - sn * sw * ci
        py = sn * cw + cn * sw * ci
        pz = sw * si
        qx = -cn * sw - sn * cw * ci
        qy = -sn * sw + cn * cw * ci
        qz = cw * si
        pos = np.stack([px * xp + qx * yp, py * xp + qy * yp, pz * xp + qz * yp], axis=-1)
        vel = np.stack([px * vxp + qx * vyp, py * vxp + qy * vyp, pz * vxp + qz * vyp], axis=-1)
        # precession of node and periapsis also moves the position
        # d/dt about z (node) and within the orbit plane (periapsis)
        h_hat = np.stack([sn * si, -cn * si, np.full_like(cn, ci)], axis=-1)
        vel = vel + node_rate * np.cross(np.array([0.0, 0.0, 1.0]), pos) + peri_rate * np.cross(h_hat, pos)
        m = self._to_icrf
        return pos @ m.T, vel @ m.T

    # -- constructors ----------------------------------------------------------
    @classmethod
    def sun_synchronous_node_deg(cls, epoch_tdb_s: float, local_time_hours: float,
                                 pole_ra_deg: float | None = None, pole_dec_deg: float | None = None) -> float:
        """Node (deg, in the mean-equator frame of the epoch) whose local true solar time is given.

        The ascending node lies at local true solar time ``local_time_hours`` at
        the epoch: it sits ``(local_time - 12 h) * 15 deg`` east of the
        sub-solar direction projected on Mars's equator (the Sun from de421).
        """
        if pole_ra_deg is None or pole_dec_deg is None:
            pole_ra_deg, pole_dec_deg = mars.mars_pole_radec_deg(epoch_tdb_s)
        sun_icrf_km = sun_from_mars_km(np.array([epoch_tdb_s]))[0]
        sun_eq = mars.mean_equator_matrix(pole_ra_deg, pole_dec_deg).T @ sun_icrf_km
        sun_lon = np.degrees(np.arctan2(sun_eq[1], sun_eq[0]))
        return float((sun_lon + (local_time_hours - 12.0) * 15.0) % 360.0)

    def mean_motion_per_sol(self) -> float:
        return self.secular_rates_rad_s()[2] * SOL_S / (2 * np.pi)


def sun_from_mars_km(tdb_s: np.ndarray) -> np.ndarray:
    """Geometric position of the Sun relative to Mars (ICRF, km), from de421."""
    eph = planets()
    t = tdb_s_to_skyfield(tdb_s)
    v = (eph["sun"] - eph["mars"]).at(t).position.km
    return np.atleast_2d(v.T)
