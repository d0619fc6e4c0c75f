"""The one interface every orbit source implements.

Numerics inside relay use TDB seconds past J2000 (``tdb_s``) as float64 numpy
arrays; positions are Mars-centred (NAIF 499), in kilometres, axes of the ICRF
(J2000).  An orbit source is anything with:

``name``
    the orbiter's name (for messages);
``coverage_tdb_s``
    ``(start, end)`` TDB seconds of the span it can answer for
    (``(-inf, inf)`` for an analytic orbit);
``state_km(tdb_s)``
    ``(position_km, velocity_km_s)``, each of shape ``(N, 3)``, for a 1-D array
    of N times; raises :class:`relay.errors.CoverageError` naming the covered
    span when a time falls outside it.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from ..constants import AU_KM
from ..errors import CoverageError
from ..timescales import DAY_S, skyfield_to_tdb_s, tdb_s_to_iso


@runtime_checkable
class Ephemeris(Protocol):
    name: str

    @property
    def coverage_tdb_s(self) -> tuple[float, float]: ...

    def state_km(self, tdb_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


def check_coverage(eph: Ephemeris, tdb_s: np.ndarray, source: str | None = None) -> None:
    """Raise CoverageError if any time lies outside ``eph.coverage_tdb_s``."""
    start, end = eph.coverage_tdb_s
    tdb_s = np.asarray(tdb_s, dtype=float)
    if tdb_s.size == 0:
        return
    lo, hi = float(tdb_s.min()), float(tdb_s.max())
    # A nanosecond of slack absorbs round-off at the exact boundaries.
    if lo < start - 1e-9 or hi > end + 1e-9:
        raise CoverageError(coverage_message(eph.name, [(start, end)], lo if lo < start else hi),
                            source=source)


def coverage_message(name: str, intervals, bad_tdb_s: float) -> str:
    """What a CoverageError says: the covered ``intervals`` (TDB seconds) of the orbit of ``name``
    and the requested time ``bad_tdb_s`` outside them."""
    spans = "; ".join(f"{tdb_s_to_iso(a)} to {tdb_s_to_iso(b)}" for a, b in intervals)
    what = "covers" if len(intervals) == 1 else "covers only the intervals"
    return (f"the orbit of {name} {what} {spans}, but {tdb_s_to_iso(bad_tdb_s)} was requested; "
            "choose a span inside the covered one or load an orbit file that covers it")


class OrbiterVector:
    """Skyfield ``VectorFunction`` of an Ephemeris, centred on Mars (499).

    ``earth.at(t).observe(mars + OrbiterVector(eph))`` and
    ``(OrbiterVector(eph) - site).at(t).altaz()`` then work as for any body.
    Built lazily so importing this module does not import Skyfield.
    """

    def __new__(cls, eph: Ephemeris, naif_id: int | None = None):
        from skyfield.vectorlib import VectorFunction

        class _Orbiter(VectorFunction):
            center = 499
            target = naif_id if naif_id is not None else eph.name
            target_name = eph.name

            def _at(self, t):
                tdb = np.atleast_1d(skyfield_to_tdb_s(t))
                pos, vel = eph.state_km(tdb)
                pos, vel = pos.T / AU_KM, vel.T / AU_KM * DAY_S
                if np.ndim(t.tt) == 0:
                    pos, vel = pos[:, 0], vel[:, 0]
                return pos, vel, None, None

        return _Orbiter()
