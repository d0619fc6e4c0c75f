"""Mars's body-fixed frame for many times, fast, and orbiter positions to rotate into it.

:class:`BodyFixed` rotates ICRF vectors into Mars's IAU 2015 body-fixed frame
(and back) for arrays of times, interpolating the slow parts of the rotation
model of :mod:`relay.mars`; :func:`positions_km` gives an orbit source's
Mars-centred ICRF positions by its fast path where it has one.
"""

from __future__ import annotations

import numpy as np

from .. import mars
from ..orbits.base import Ephemeris
from ..timescales import DAY_S


class BodyFixed:
    """ICRF -> Mars body-fixed for many times, exact to ~1e-9 degree.

    Only the prime meridian angle ``W`` moves fast; the pole and the periodic
    terms move by at most ~1 degree a century per day and are interpolated
    linearly from nodes ``node_step_s`` apart (error < 1e-8 degree for one
    day).  ``to_body_fixed`` then costs one sine and cosine per time.
    """

    def __init__(self, start_tdb_s: float, end_tdb_s: float, node_step_s: float = 86400.0):
        n = max(2, int(np.ceil((end_tdb_s - start_tdb_s) / node_step_s)) + 1)
        self.nodes = np.linspace(start_tdb_s - 1.0, end_tdb_s + 1.0, n + 1)
        (ra, dec, w), _ = mars.pole_and_meridian_deg(self.nodes)
        self.ra = ra
        self.dec = dec
        self.w_periodic = w - (mars.MERIDIAN_J2000_DEG + mars.MERIDIAN_RATE_DEG_PER_DAY * self.nodes / DAY_S)
        # the pole's angles move by well under a microradian a day: their
        # cosines and sines are interpolated as linearly as the angles were
        # (the difference is below 1e-15), leaving two of the six sines and
        # cosines per time.  Tables: cos phi, sin phi, cos theta, sin theta, W's
        # periodic part (degrees), and their steps; nodes are evenly spaced.
        phi, theta = np.radians(90.0 + ra), np.radians(90.0 - dec)
        self._table = [np.cos(phi), np.sin(phi), np.cos(theta), np.sin(theta), self.w_periodic]
        self._slope = [np.diff(row) for row in self._table]
        self._dn = float(self.nodes[1] - self.nodes[0])

    def _cos_sin(self, tdb_s):
        """cos and sin of phi, theta and W at times ``tdb_s`` (clamped to the nodes like np.interp)."""
        tdb_s = np.asarray(tdb_s, dtype=float)
        last = self.nodes.size - 1
        u = np.clip((tdb_s - self.nodes[0]) / self._dn, 0.0, float(last))
        k = np.minimum(u.astype(np.int64), last - 1)
        f = u - k
        cp, sp, ct, st, wp = (row[k] + f * slope[k] for row, slope in zip(self._table, self._slope))
        w = np.radians(mars.MERIDIAN_J2000_DEG + mars.MERIDIAN_RATE_DEG_PER_DAY * (tdb_s / DAY_S) + wp)
        return cp, sp, ct, st, np.cos(w), np.sin(w)

    def to_body_fixed(self, tdb_s, vec_icrf):
        """Rotate ICRF vectors (N, 3) at times (N,) into the Mars body-fixed frame."""
        cp, sp, ct, st, cw, sw = self._cos_sin(tdb_s)
        x, y, z = vec_icrf[:, 0], vec_icrf[:, 1], vec_icrf[:, 2]
        x1 = cp * x + sp * y
        y1 = cp * y - sp * x
        y2 = ct * y1 + st * z
        out = np.empty((x.size, 3))
        out[:, 2] = ct * z - st * y1
        out[:, 0] = cw * x1 + sw * y2
        out[:, 1] = cw * y2 - sw * x1
        return out

    def to_icrf(self, tdb_s, vec_bf):
        """Inverse of :meth:`to_body_fixed`."""
        cp, sp, ct, st, cw, sw = self._cos_sin(tdb_s)
        x, y, z = vec_bf[:, 0], vec_bf[:, 1], vec_bf[:, 2]
        x1 = cw * x - sw * y
        y2 = sw * x + cw * y
        y1 = ct * y2 - st * z
        z1 = st * y2 + ct * z
        return np.stack([cp * x1 - sp * y1, sp * x1 + cp * y1, z1], axis=-1)


def positions_km(eph: Ephemeris, tdb_s: np.ndarray) -> np.ndarray:
    """Positions only (the fast path of sources that have one)."""
    fast = getattr(eph, "position_km", None)
    return fast(tdb_s) if fast is not None else eph.state_km(tdb_s)[0]
