"""Mission sols and local mean solar time of a surface asset.

Rover and lander teams plan in their own mission sols and LMST.  A mission
sol is a local mean solar day at the asset's longitude (midnight LMST to
midnight LMST), numbered from the landing: the asset's scenario names its
landing (``landing: {date, sol}``), and the mission sol of an instant is its
local sol (Mars Sol Date at the site, :func:`relay.timescales.local_sol`)
plus the offset that makes the landing instant's local sol equal to the
landing's sol number.  Without a landing the sol is the local Mars Sol Date
(``MSD``), and the files say so.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .timescales import lmst_hours, local_sol, parse_utc, utc_to_tdb_s


@dataclass(frozen=True)
class SolClock:
    """An asset's clock: east longitude and the mission-sol offset (``None``: no landing, MSD)."""

    east_longitude_deg: float
    sol_offset: int | None = None

    @property
    def kind(self) -> str:
        return "mission" if self.sol_offset is not None else "MSD"

    def sol(self, tdb_s) -> np.ndarray:
        """The mission sol (or the local MSD without a landing) of each instant."""
        return local_sol(np.asarray(tdb_s, dtype=float), self.east_longitude_deg) + (self.sol_offset or 0)

    def sol_of_local(self, local) -> np.ndarray:
        """The mission sol of a local sol number (the planner's own numbering of sols)."""
        return np.asarray(local, dtype=np.int64) + (self.sol_offset or 0)

    def lmst(self, tdb_s) -> list[str]:
        """LMST of each instant as ``HH:MM:SS``."""
        h = np.atleast_1d(lmst_hours(np.asarray(tdb_s, dtype=float), self.east_longitude_deg))
        s = np.floor(h * 3600.0 + 1e-6).astype(np.int64) % 86400
        return [f"{v // 3600:02d}:{v // 60 % 60:02d}:{v % 60:02d}" for v in s]


def clock_of(east_longitude_deg: float, landing=None) -> SolClock:
    """The clock of an asset at ``east_longitude_deg`` with an optional landing (``.date``, ``.sol``)."""
    if landing is None:
        return SolClock(float(east_longitude_deg))
    t = utc_to_tdb_s(parse_utc(landing.date, source=None))
    return SolClock(float(east_longitude_deg), int(landing.sol) - int(local_sol(t, east_longitude_deg)))


def clocks_of(problem) -> dict[str, SolClock]:
    """Each asset's clock from a planning instance (``east_longitude_deg``, ``mission_sol_offset``
    of its assets; an asset without a longitude has none)."""
    return {a.name: SolClock(a.east_longitude_deg, a.mission_sol_offset) for a in problem.assets
            if a.east_longitude_deg is not None}


__all__ = ["SolClock", "clock_of", "clocks_of"]
