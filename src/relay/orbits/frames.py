"""Inertial frames an orbit file may be written in, as rotations to relay's ICRF axes.

Relay's numerics use Mars-centred positions on the axes of the ICRF.  Orbit
files come in three kinds of inertial axes:

``ICRF``
    nothing to do.  SPICE's ``J2000`` frame is, by NAIF's convention, the
    ICRF realisation too (SPICE does not distinguish them), so SPK data in
    ``J2000`` are used as they are.
``EME2000``
    the dynamical mean equator and equinox of J2000 (CCSDS's name).  It
    differs from the ICRF by the frame bias (IERS Conventions 2010, sec. 5.5.4;
    about 23 milliarcseconds, i.e. 0.4 m at 3800 km from Mars's centre), taken
    from Skyfield's ``framelib.ICRS_to_J2000``.
``MCI``
    Mars Centred Inertial (the CCSDS SANA reference-frame name): Mars's mean
    equator and IAU node of an epoch.  Relay defines it as the frame of SPICE's
    SPK type 17 and of :class:`relay.orbits.keplerian.KeplerianOrbit`: z along
    Mars's IAU 2015 pole at the epoch (periodic terms included), x along the
    ascending node of that equator on the ICRF equator (right ascension
    ``pole_ra + 90 deg``).
"""

from __future__ import annotations

import numpy as np

from ..mars import mars_pole_radec_deg, mean_equator_matrix

#: CCSDS REF_FRAME names relay reads as the Mars mean-equator frame of an epoch.
MARS_MEAN_EQUATOR_NAMES = ("MCI", "MARS_MCI", "MARS_MEAN_EQUATOR", "MARS_MEAN")


def mean_equator_to_icrf_matrix(pole_ra_deg: float, pole_dec_deg: float) -> np.ndarray:
    """Rotation matrix ``M`` with ``r_icrf = M @ r_mean_equator`` for a pole (RA, Dec in degrees).

    The columns of ``M`` are the frame's x, y, z axes in ICRF coordinates: z
    is the pole, x the ascending node of the pole's equator on the ICRF
    equator (right ascension ``pole_ra + 90 deg``).  One implementation serves
    the orbit readers and the Keplerian orbits: :func:`relay.mars.mean_equator_matrix`.
    """
    return mean_equator_matrix(float(pole_ra_deg), float(pole_dec_deg))


def mars_mean_equator_to_icrf_matrix(epoch_tdb_s: float) -> np.ndarray:
    """``r_icrf = M @ r_mci`` for Mars's mean equator and IAU node of ``epoch_tdb_s``.

    The pole is relay's IAU 2015 one (:func:`relay.mars.mars_pole_radec_deg`,
    periodic terms included).
    """
    ra, dec = mars_pole_radec_deg(float(epoch_tdb_s))
    return mean_equator_to_icrf_matrix(ra, dec)


def eme2000_to_icrf_matrix() -> np.ndarray:
    """``r_icrf = B.T @ r_eme2000``: the transpose of the IERS frame bias matrix ``B``."""
    from skyfield.framelib import ICRS_to_J2000

    return np.array(ICRS_to_J2000, dtype=float).T
