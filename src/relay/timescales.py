"""Time: ISO 8601 UTC strings at the boundaries, TDB seconds past J2000 inside.

Skyfield's builtin timescale is used throughout (leap seconds and Delta T that
ship inside Skyfield), so nothing is downloaded and the expired
``finals2000A.all`` in skyfield-data is never read.

Mars time follows the Mars24 algorithm (Allison & McEwen 2000, Planet. Space
Sci. 48, 215; NASA GISS Mars24 notes): Mars Sol Date (MSD), Coordinated Mars
Time (MTC) and Local Mean Solar Time (LMST) at an east longitude.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from functools import lru_cache

import numpy as np

from .constants import MARS24_SOL_DAYS, SOL_S
from .errors import RelayInputError

J2000_JD = 2451545.0
DAY_S = 86400.0
#: TT - TAI, seconds.
TT_MINUS_TAI_S = 32.184

_ISO_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]00:?00)?$"
)


@lru_cache(maxsize=1)
def timescale():
    """Skyfield's builtin timescale (no network, no expired files): what
    ``skyfield.api.load.timescale(builtin=True)`` returns, built from the same bundled
    ``iers.npz`` arrays the same way (skyfield.iokit.Loader.timescale), without importing
    ``skyfield.api`` and its download machinery (urllib, ssl, http; about 50 ms of every
    command's start-up).  ``tests/test_timescales.py`` checks it against Skyfield's own."""
    try:
        from skyfield.functions import load_bundled_npy
        from skyfield.timelib import Timescale

        arrays = load_bundled_npy("iers.npz")
        daily_tt = arrays["tt_jd_minus_arange"]
        daily_tt += np.arange(len(daily_tt))
        daily_delta_t = (arrays["delta_t_1e7"] / 1e7).round(7)
        return Timescale((daily_tt, daily_delta_t), arrays["leap_dates"], arrays["leap_offsets"])
    except (ImportError, KeyError, TypeError):  # another Skyfield's layout: its own loader
        from skyfield.api import load

        return load.timescale(builtin=True)


def iso_z(t: datetime, places: int = 3) -> str:
    """The spelling of one time at every boundary of relay: ISO 8601 UTC with a Z, to ``places``
    decimals of the second (3: milliseconds, as in every file; 0: whole seconds; 6:
    microseconds).  An aware time is converted to UTC; a naive one is taken as UTC already
    (pandas UTC timestamps compare and print as such)."""
    if t.tzinfo is not None:
        t = t.astimezone(timezone.utc)
    text = t.strftime("%Y-%m-%dT%H:%M:%S")
    if places:
        text += "." + f"{t.microsecond:06d}"[:places]
    return text + "Z"


def parse_utc(text: str, *, source: str | None = "command line", where: str | None = None) -> datetime:
    """Parse an ISO 8601 UTC time ("2026-11-23T00:00:00Z" or a bare date).

    A time with a zone other than UTC, or no zone on a time of day, is refused:
    relay never guesses a time zone.
    """
    if isinstance(text, datetime):
        if text.tzinfo is None:
            raise RelayInputError(
                f"got a time without a zone ({text.isoformat()}); write it in UTC with a Z, "
                "for example 2026-11-23T00:00:00Z",
                source=source, where=where,
            )
        return text.astimezone(timezone.utc)
    s = str(text).strip()
    m = _ISO_RE.match(s)
    if not m:
        raise RelayInputError(
            f"got {s!r}, expected an ISO 8601 UTC time such as 2026-11-23T00:00:00Z",
            source=source, where=where,
        )
    year, month, day, hh, mm, ss, frac, zone = m.groups()
    if hh is not None and zone is None:
        raise RelayInputError(
            f"got {s!r} with no time zone; relay reads times as UTC only: add a Z "
            f"({s}Z)",
            source=source, where=where,
        )
    try:
        micro = int((frac or "0").ljust(6, "0")[:6])
        return datetime(int(year), int(month), int(day), int(hh or 0), int(mm or 0),
                        int(ss or 0), micro, tzinfo=timezone.utc)
    except ValueError as exc:
        raise RelayInputError(f"got {s!r}: {exc}", source=source, where=where) from None


def utc_to_tdb_s(when) -> float:
    """UTC datetime (aware) or ISO string -> TDB seconds past J2000."""
    if not isinstance(when, datetime):
        when = parse_utc(when)
    ts = timescale()
    frac_s = when.second + when.microsecond * 1e-6
    t = ts.utc(when.year, when.month, when.day, when.hour, when.minute, frac_s)
    return skyfield_to_tdb_s(t)


def skyfield_to_tdb_s(t) -> np.ndarray | float:
    """Skyfield Time -> TDB seconds past J2000 (keeps sub-microsecond precision)."""
    return (t.whole - J2000_JD) * DAY_S + t.tdb_fraction * DAY_S


def tdb_s_to_skyfield(tdb_s):
    """TDB seconds past J2000 -> Skyfield Time (scalar or vector)."""
    ts = timescale()
    tdb_s = np.asarray(tdb_s, dtype=float)
    days = np.floor(tdb_s / DAY_S)
    return ts.tdb_jd(J2000_JD + days, (tdb_s - days * DAY_S) / DAY_S)


def tdb_s_to_iso(tdb_s, places: int = 3):
    """TDB seconds -> ISO 8601 UTC string(s) with a Z, to the millisecond by default."""
    scalar = np.ndim(tdb_s) == 0
    t = tdb_s_to_skyfield(np.atleast_1d(np.asarray(tdb_s, dtype=float)))
    out = t.utc_iso(places=places)
    return out[0] if scalar else out


def tdb_s_to_datetime(tdb_s):
    """TDB seconds -> aware UTC datetime(s) (microsecond resolution)."""
    scalar = np.ndim(tdb_s) == 0
    t = tdb_s_to_skyfield(np.atleast_1d(np.asarray(tdb_s, dtype=float)))
    out = [d.replace(tzinfo=timezone.utc) if d.tzinfo is None else d for d in t.utc_datetime()]
    return out[0] if scalar else out


def utc_days(tdb_s) -> np.ndarray:
    """The UTC calendar day of each of an array of TDB times, as days since 1970-01-01, in one
    conversion."""
    if len(tdb_s) == 0:
        return np.zeros(0, dtype=np.int64)
    dts = tdb_s_to_datetime(np.asarray(tdb_s, dtype=float))
    return np.array([d.date().toordinal() for d in dts], dtype=np.int64) - 719163


def tt_s_from_tdb_s(tdb_s):
    """TT seconds past J2000 from TDB seconds (periodic term, <2 ms, Fairhead & Bretagnon)."""
    tdb_s = np.asarray(tdb_s, dtype=float)
    g = np.radians(357.53 + 0.98560028 * (tdb_s / DAY_S))
    return tdb_s - 0.001657 * np.sin(g) - 0.000014 * np.sin(2 * g)


def mars_sol_date(tdb_s):
    """Mars Sol Date (Mars24 eq. C-2): MSD = (JD_TT - 2405522.0028779) / 1.0274912517."""
    jd_tt = J2000_JD + tt_s_from_tdb_s(tdb_s) / DAY_S
    return (jd_tt - 2405522.0028779) / MARS24_SOL_DAYS


def lmst_hours(tdb_s, east_longitude_deg):
    """Local Mean Solar Time in hours [0, 24) at an east longitude (Mars24 C-3, C-4)."""
    msd = mars_sol_date(tdb_s)
    mtc = (24.0 * msd) % 24.0
    return (mtc + np.asarray(east_longitude_deg) / 15.0) % 24.0


def local_sol(tdb_s, east_longitude_deg):
    """Integer local sol number (local MSD: the sol of the site's own midnight-to-midnight)."""
    return np.floor(mars_sol_date(tdb_s) + np.asarray(east_longitude_deg) / 360.0).astype(np.int64)


def local_sol_start_tdb_s(sol, east_longitude_deg):
    """TDB seconds at local mean midnight starting local sol ``sol`` (inverse of local_sol)."""
    msd = np.asarray(sol, dtype=float) - np.asarray(east_longitude_deg) / 360.0
    jd_tt = msd * MARS24_SOL_DAYS + 2405522.0028779
    tt_s = (jd_tt - J2000_JD) * DAY_S
    # invert the <2 ms TT->TDB term by one fixed-point step
    return tt_s + (tt_s - tt_s_from_tdb_s(tt_s))
