"""The planning instance: plain frozen dataclasses, saved and loaded as JSON.

A :class:`Problem` is everything the solvers need and nothing more: it is built
from geometry and link volumes by a builder (``relay plan``), can be written
with :meth:`Problem.to_json` (``--save-problem``) and re-solved later from
:meth:`Problem.from_json` (``relay solve``) without recomputing geometry.

Conventions
-----------
* Times are TDB seconds past J2000 (floats, ``*_tdb_s``), like the rest of
  relay's numerics; intervals are half-open ``[start, end)``.
* Volumes are Mbit (``*_mbit``), durations seconds (``*_s``).
* A sol is an asset's local sol (midnight to midnight LMST); a session belongs
  to the sol in which it starts.

JSON schema (``"schema": "relay.problem", "version": 1``)
----------------------------------------------------------
Top-level keys (all required unless marked optional)::

    schema, version             "relay.problem", 1
    start_tdb_s, end_tdb_s      horizon
    min_session_s, turnaround_s session length floor; gap between two sessions of one radio
    volume_unit_mbit            integer unit of the model (0.1)
    objective                   Objective: weights (see relay.planning.settings)
    orbiters[]                  name, capacity_mbit, initial_fill_mbit, initial_fill_weight,
                                downlink_hours_per_day (optional, null: the downlink chunks used per
                                UTC day last at most this many hours in all; issue 19)
    assets[]                    name, priority_weight, backlog_mbit,
                                generation [[tdb_s, mbit], ...]  data that becomes available at tdb_s,
                                sols [[sol, start_tdb_s, end_tdb_s], ...] local sols over the horizon,
                                max_sessions_per_sol (null), energy_wh_per_min (null),
                                energy_wh_per_sol (null), wake_windows [[s, e], ...] (null: always),
                                min_session_mbit (optional, 0: a return session carries at least
                                this much, and at least one volume unit)
    passes[]                    pass_id, orbiter, asset, rise_tdb_s, set_tdb_s
    options[]                   option_id, pass_id, orbiter, asset, start_tdb_s, end_tdb_s,
                                capacity_mbit, kind ("return"|"forward"), elevation_score (0-1),
                                fixed (bool: a committed session, kept exactly),
                                keep_points (optional, 0: points for holding this option because it
                                keeps a session of a previous plan; the change penalty)
    downlinks[]                 chunk_id, window_id, orbiter, station, start_tdb_s, end_tdb_s,
                                capacity_mbit
    forward_requirements[]      asset, sol, start_tdb_s, end_tdb_s, min_duration_s, count
    decisional_requirements[]   asset, sol, start_tdb_s, end_tdb_s, deadline_tdb_s,
                                min_volume_mbit (optional, 0: one volume unit)
    conjunction [[s, e], ...]   solar conjunction: no forward (commanding) sessions
    outages[] (optional)        target, kind ("orbiter"|"station"|"asset"), what ("uhf"|"xband"|"all"),
                                start_tdb_s, end_tdb_s, orbiter (null; a station's outage for one
                                orbiter only), note: a resource unavailable over [start, end)
    forbid[] (optional)         orbiter (null), asset (null), start_tdb_s (null), end_tdb_s (null),
                                pass_id (null), note: a veto (a span with an orbiter and/or an asset,
                                or a pass id)
    requests[] (optional)       id, asset, kind ("return"|"forward"), start_tdb_s, end_tdb_s,
                                priority ("required"|"preferred"), orbiter (null), min_mbit (0),
                                min_duration_s (0), points (0), count (1), note: a relay request
    name (optional)             a label
    confidence (optional)       planning at a confidence (issue 22): volume_quantile, guarantee_confidence,
                                calibration (label), options[] of option_id, predicted_mbit (the link
                                model's, before calibration), guaranteed_mbit, mu, sigma, fail_p
    guarantees[] (optional)     asset, sol, start_tdb_s, end_tdb_s, min_mbit, penalty_points: a
                                guaranteed minimum per sol (operations.min_sol_mbit)

Options of one pass are mutually exclusive (one contiguous session per pass).
A "forward" option is a bidirectional session that also carries commands; its
``capacity_mbit`` is the return volume it can carry.  ``min_downlink_s``
(optional, 0) is the shortest downlink (``planning.min_downlink_s``).

Event semantics (stated once, used by every solver and by the validator)
------------------------------------------------------------------------
* Data relayed in a session enters the orbiter store at the session's end; a
  downlink chunk sends only data that was aboard at its start, and its volume
  leaves the store at the chunk's end (so the capacity check is conservative:
  at equal times arrivals count before departures).
* Data generated at an asset is available to sessions ending at or after its
  generation time.
* Data leaves each orbiter's store first in, first out per asset (the order of
  different assets' data is free); a chunk carries data of several owners, and
  ``(onboard)`` is the data aboard at the start (``initial_fill_mbit``, worth
  ``initial_fill_weight``).
* One orbiter downlinks to one station at a time (one X-band radio): the
  chunks of one orbiter may not overlap (an input error of the problem; the
  link model already gives each moment of an orbiter to one station), so
  every chunk has its own capacity and the model needs no constraint between
  chunks.
* Resources an item uses: a session uses its orbiter's UHF and its asset's UHF; a
  downlink uses its orbiter's X-band and its station.  An outage of an orbiter
  blocks its UHF (``what`` "uhf"), its X-band ("xband") or both ("all"); an
  outage of a station blocks its downlinks ("xband" or "all"; of one orbiter
  when ``orbiter`` is set); an outage of an asset blocks its UHF ("uhf" or
  "all").  An item overlaps a span [a, b) when item.start < b - TOL_S and
  a < item.end - TOL_S.
* A veto with ``pass_id`` forbids every session of that pass; otherwise every
  session of its orbiter (when set) and asset (when set) overlapping
  [start, end).
* A request is met by a session of its asset (and orbiter, when set) lying in
  [start, end] (TOL_S), lasting >= min_duration_s - TOL_S, of kind "forward"
  when the request's kind is "forward" (any kind for "return": a forward
  session carries return data too), carrying >= min_mbit - TOL; it is met when
  ``count`` sessions meet it (one session per pass).
* A fixed session (``fixed: true``) is kept exactly as committed: it is exempt
  from the minimum session length and volume (R4, R6), the wake windows (R9) and
  the conjunction rule (R10), needs only to overlap its pass (R3), and a sol
  whose fixed sessions alone exceed ``max_sessions_per_sol`` or the energy
  budget has that cap raised to what they need (R11, R12; the plan notes it).
* The model counts volumes in integer units of ``volume_unit_mbit``: session
  and chunk capacities, store capacities and available data are rounded down,
  minimum volumes and the starting store fill rounded up (a starting fill of
  0.25 Mbit with a 0.1 Mbit unit takes 0.3 Mbit of room; 0.2 Mbit of it may be
  downlinked); so every plan holds in exact Mbit.

Rules (``relay validate`` checks each one as written; TOL_S = 1 ms, TOL = 1e-6 Mbit)
-------------------------------------------------------------------------------------
For a plan's sessions s (of option x, pass p, asset a, orbiter o) and downlinks d
(of chunk c, owner f):

* R1  option: s is an option of the problem: same option_id, pass_id, orbiter,
  asset, kind, and |s.start - x.start| <= TOL_S, |s.end - x.end| <= TOL_S.
* R2  horizon: start_tdb_s - TOL_S <= s.start and s.end <= end_tdb_s + TOL_S.
* R3  visibility: p.rise - TOL_S <= s.start and s.end <= p.set + TOL_S (a fixed
  session: s.start < p.set and p.rise < s.end).
* R4  duration: s.end - s.start >= min_session_s - TOL_S (not fixed).
* R5  volume: -TOL <= s.volume <= x.capacity_mbit + TOL.
* R6  minimum volume: a return session, not fixed:
  s.volume >= max(volume_unit_mbit, a.min_session_mbit) - TOL.  (The model
  admits no option whose capacity, rounded down to units, is below that.)
* R7  one session per pass: at most one session per pass_id.
* R8  turnaround: two sessions s1, s2 of one orbiter, or of one asset, with
  s1.start <= s2.start: s2.start >= s1.end + turnaround_s - TOL_S.
* R9  wake windows (a.wake_windows not null, s not fixed): some window [w0, w1]
  has w0 - TOL_S <= s.start and s.end <= w1 + TOL_S.
* R10 conjunction: no forward session (not fixed) has s.start < c1 and
  c0 < s.end for a conjunction interval [c0, c1).
* R11 sessions per sol: for each (sol, s0, s1) of a.sols, the sessions of a
  with s0 <= s.start < s1 number <= max(max_sessions_per_sol, their fixed ones).
* R12 energy per sol: sum over them of (s.end - s.start) / 60 x
  energy_wh_per_min <= max(energy_wh_per_sol, that sum over their fixed ones)
  + 1e-6 Wh.
* R13 fixed kept: every fixed option is a session of the plan with its times
  (within TOL_S), orbiter, asset and kind, marked fixed.
* R14 data available: for each session s of asset a, the volume of a's
  sessions ending by s.end <= a.backlog_mbit + sum of a.generation steps with
  t <= s.end, + TOL.
* R15 downlink chunk: d is a chunk of the problem (same chunk_id, orbiter,
  station, times within TOL_S) inside the horizon, with volume >= -TOL and an
  owner that is an asset or "(onboard)".
* R16 downlink length: a downlink with volume > TOL has
  d.end - d.start >= min_downlink_s - TOL_S.
* R17 chunk capacity: sum over owners of d.volume <= c.capacity_mbit + TOL.
* R18 nothing leaves before it arrives: per orbiter and owner, at each chunk
  start t: volume of the owner's downlinks starting by t <= (initial_fill_mbit
  for "(onboard)", else 0) + volume of the owner's sessions to that orbiter
  ending by t, + TOL.
* R19 store capacity: per orbiter, after each event (sessions in at their end,
  downlinks out at theirs, arrivals first at equal times) the fill, from
  initial_fill_mbit, <= capacity_mbit + TOL.
* R20 store not negative: that fill >= -TOL.
* R21 forward link (soft): a requirement with fewer than ``count`` forward
  sessions of its asset inside [start, end] (TOL_S) lasting >= min_duration_s -
  TOL_S is listed in the summary's violations (asset, sol, "forward_link").
* R22 decisional data (soft): the summary's decisional_sols_met of an asset <=
  the requirements met, where one is met when some session of its asset inside
  [start, end], ending before deadline_tdb_s and carrying >=
  max(volume_unit_mbit, min_volume_mbit) - TOL, has all the data of its asset
  relayed to its orbiter up to its end downlinked (FIFO: chunks starting
  before the session's end, or ending by the deadline).
* R23 delivered: |summary delivered_mbit - sum of d.volume| <= 1e-3 Mbit.
* R24 weighted sum: |summary weighted_sum_points - the weighted sum below| <=
  0.01 point + 1e-9 of it.
* R25 outages: no session overlaps an outage of a resource it uses, and no
  downlink with volume > TOL overlaps an outage of a resource it uses (see
  "Resources an item uses").
* R26 vetoes: no session overlaps a veto of its orbiter and/or asset, and no
  session lies in a vetoed pass.
* R27 requests (required: soft, reported): a required request the plan does not
  meet (see "A request is met") is listed in the summary's violations
  (requirement "request", the detail naming the request id).
* R28 guaranteed minimum (soft, reported): for each guarantee g of asset a, the
  sessions of a with g.start <= s.start < g.end count min(s.volume, x.guaranteed_mbit)
  (s.volume when confidence lists no spread of x); when they sum to less than
  g.min_mbit - TOL the summary's violations list it (asset, sol, requirement
  "guaranteed_minimum").
* R29 downlink hours per day: for each orbiter o with downlink_hours_per_day set,
  and each UTC day, the chunks of o used by the plan (a downlink with volume >
  TOL; a chunk counts once however many owners it carries) whose midpoint
  (start + end) / 2 lies in that day last, in all, <= 3600 x
  downlink_hours_per_day + TOL_S seconds (the link model cuts the chunks it
  offers at UTC midnight, so each lies in one day).

Objective
---------
The plan's weighted sum by the documented weights (``objective``; w(f) is the
asset's ``priority_weight``, the orbiter's ``initial_fill_weight`` for
"(onboard)")::

    sum over sessions s:   elevation_per_session x x.elevation_score + x.keep_points
                           + delivered_per_mbit x w(a) x end_store_discount x s.volume
  + sum over downlinks d:  delivered_per_mbit x w(f) x (1 - end_store_discount) x d.volume
                           + latency_per_mbit_day x d.volume x (end_tdb_s - d.end) / 86400
  + decisional_per_sol x (decisional requirements met, R22)
  - forward_shortfall_penalty x sum over forward requirements of max(0, count - sessions)
  - forward_shortfall_penalty x (required requests not met)
  + points x (preferred requests met)
  - penalty_points x (guarantees not met, R28)

so relayed data that reaches Earth counts at its full weight, data still aboard
at the end at ``end_store_discount`` (the data aboard at the start counts only
when downlinked, at ``1 - end_store_discount``: a constant offset).  The model
maximises the same sum with every weight rounded to 0.01 point per volume unit
and per session (integer coefficients, points x 100); the summary reports both
(``objective_points``, the model's; ``weighted_sum_points``, this exact sum),
and they differ by less than 0.005 point per volume unit and per session held.
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import ConfigDict, TypeAdapter, ValidationError

from ..errors import RelayInputError
from ..fileio import read_text, write_text
from ..timescales import SOL_S, local_sol, local_sol_start_tdb_s
from .settings import MIN_UNIT_MBIT

SCHEMA = "relay.problem"
VERSION = 1
#: the rules' time tolerance (s): "TOL_S = 1 ms" of the rules above (R1 to R29, "A request is met")
TOL_S = 1e-3

Interval = tuple[float, float]
_FORBID = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Objective:
    """Objective weights in points (see :mod:`relay.planning.settings`)."""

    __pydantic_config__ = _FORBID
    delivered_per_mbit: float = 1000.0
    end_store_discount: float = 0.5
    decisional_per_sol: float = 100.0
    latency_per_mbit_day: float = 1.0
    elevation_per_session: float = 1.0
    forward_shortfall_penalty: float = 1_000_000.0


@dataclass(frozen=True)
class Orbiter:
    __pydantic_config__ = _FORBID
    name: str
    capacity_mbit: float
    initial_fill_mbit: float = 0.0
    initial_fill_weight: float = 1.0
    # issue 19 (optional; left out of problem.json when unset): the station time the planner may
    # choose per UTC day (the X-band's max_hours_per_day); null: every chunk offered may be used
    downlink_hours_per_day: float | None = None


@dataclass(frozen=True)
class Asset:
    __pydantic_config__ = _FORBID
    name: str
    priority_weight: float = 1.0
    backlog_mbit: float = 0.0
    generation: tuple[tuple[float, float], ...] = ()
    sols: tuple[tuple[int, float, float], ...] = ()
    max_sessions_per_sol: int | None = None
    energy_wh_per_min: float | None = None
    energy_wh_per_sol: float | None = None
    wake_windows: tuple[Interval, ...] | None = None
    min_session_mbit: float = 0.0
    # presentation only (no rule reads them): the asset's east longitude, for LMST, and the
    # mission-sol offset (mission sol = local sol + offset; null: no landing, sols are local MSD)
    east_longitude_deg: float | None = None
    mission_sol_offset: int | None = None


@dataclass(frozen=True)
class PassWindow:
    """A visibility window of ``asset`` from ``orbiter`` (rise to set)."""

    __pydantic_config__ = _FORBID
    pass_id: str
    orbiter: str
    asset: str
    rise_tdb_s: float
    set_tdb_s: float


@dataclass(frozen=True)
class SessionOption:
    """A candidate session: one contiguous interval inside a pass, with its volume capacity."""

    __pydantic_config__ = _FORBID
    option_id: str
    pass_id: str
    orbiter: str
    asset: str
    start_tdb_s: float
    end_tdb_s: float
    capacity_mbit: float
    kind: Literal["return", "forward"] = "return"
    elevation_score: float = 0.0
    fixed: bool = False
    keep_points: float = 0.0

    @property
    def duration_s(self) -> float:
        return self.end_tdb_s - self.start_tdb_s


@dataclass(frozen=True)
class DownlinkChunk:
    """A piece of a downlink (X-band) window of ``orbiter`` to ``station``."""

    __pydantic_config__ = _FORBID
    chunk_id: str
    window_id: str
    orbiter: str
    station: str
    start_tdb_s: float
    end_tdb_s: float
    capacity_mbit: float


@dataclass(frozen=True)
class ForwardRequirement:
    """At least ``count`` forward sessions of ``asset`` lying in [start, end) and lasting at
    least ``min_duration_s`` (soft: each missing session costs a penalty)."""

    __pydantic_config__ = _FORBID
    asset: str
    sol: int
    start_tdb_s: float
    end_tdb_s: float
    min_duration_s: float
    count: int = 1


@dataclass(frozen=True)
class DecisionalRequirement:
    """The data of a return session of ``asset`` lying in [start, end) and carrying at least
    ``min_volume_mbit`` should reach Earth by ``deadline_tdb_s`` (soft: the sols that make it
    are counted and maximised)."""

    __pydantic_config__ = _FORBID
    asset: str
    sol: int
    start_tdb_s: float
    end_tdb_s: float
    deadline_tdb_s: float
    min_volume_mbit: float = 0.0


@dataclass(frozen=True)
class OutageSpan:
    """A resource unavailable over [start, end): an orbiter's UHF, X-band or both, a station
    (for every orbiter, or for ``orbiter`` only), an asset's UHF."""

    __pydantic_config__ = _FORBID
    target: str
    kind: Literal["orbiter", "station", "asset"]
    what: Literal["uhf", "xband", "all"]
    start_tdb_s: float
    end_tdb_s: float
    orbiter: str | None = None
    note: str = ""

    def blocks_session(self, orbiter: str, asset: str) -> bool:
        """Whether this outage takes a resource a session of ``orbiter`` -> ``asset`` uses."""
        if self.kind == "orbiter":
            return self.target == orbiter and self.what in ("uhf", "all")
        if self.kind == "asset":
            return self.target == asset and self.what in ("uhf", "all")
        return False

    def blocks_downlink(self, orbiter: str, station: str) -> bool:
        """Whether this outage takes a resource a downlink of ``orbiter`` to ``station`` uses."""
        if self.kind == "orbiter":
            return self.target == orbiter and self.what in ("xband", "all")
        if self.kind == "station":
            return (self.target == station and self.what in ("xband", "all")
                    and (self.orbiter is None or self.orbiter == orbiter))
        return False


@dataclass(frozen=True)
class VetoSpan:
    """Sessions forbidden: of ``orbiter`` and/or ``asset`` overlapping [start, end), or of one pass."""

    __pydantic_config__ = _FORBID
    orbiter: str | None = None
    asset: str | None = None
    start_tdb_s: float | None = None
    end_tdb_s: float | None = None
    pass_id: str | None = None
    note: str = ""

    def forbids(self, pass_id: str, orbiter: str, asset: str, start_tdb_s: float, end_tdb_s: float,
                tol_s: float = 0.0) -> bool:
        """Whether this veto forbids a session of that pass, pair and interval."""
        if self.pass_id is not None:
            return pass_id == self.pass_id
        if (self.orbiter is not None and self.orbiter != orbiter) or (self.asset is not None and self.asset != asset):
            return False
        return start_tdb_s < self.end_tdb_s - tol_s and self.start_tdb_s < end_tdb_s - tol_s


@dataclass(frozen=True)
class RelayRequest:
    """A lander team's request: ``count`` sessions of ``asset`` (and ``orbiter``) in [start, end]
    (see the module docstring, "A request is met"); ``required`` ones are met whenever a plan can
    (a shortfall costs ``forward_shortfall_penalty``), ``preferred`` ones earn ``points``."""

    __pydantic_config__ = _FORBID
    id: str
    asset: str
    kind: Literal["return", "forward"]
    start_tdb_s: float
    end_tdb_s: float
    priority: Literal["required", "preferred"] = "required"
    orbiter: str | None = None
    min_mbit: float = 0.0
    min_duration_s: float = 0.0
    points: float = 0.0
    count: int = 1
    note: str = ""


@dataclass(frozen=True)
class OptionSpread:
    """The calibrated volume distribution of an option (issue 22; :mod:`relay.links.calibration`):
    ``predicted_mbit`` is the link model's volume before calibration (the option's
    ``capacity_mbit`` is the volume planned, at ``Confidence.volume_quantile``); log(achieved /
    predicted) ~ Normal(``mu``, ``sigma``) when held, failure with probability ``fail_p``;
    ``guaranteed_mbit`` the volume it achieves at ``Confidence.guarantee_confidence`` (a multiple
    of the volume unit: rounded down), what counts for a guaranteed minimum (R28)."""

    __pydantic_config__ = _FORBID
    option_id: str
    predicted_mbit: float
    guaranteed_mbit: float
    mu: float = 0.0
    sigma: float = 0.0
    fail_p: float = 0.0


@dataclass(frozen=True)
class Confidence:
    """Planning at a confidence (issue 22): the quantile the options' capacities are planned at,
    the confidence of the guaranteed minima, the calibration's label, each option's spread."""

    __pydantic_config__ = _FORBID
    volume_quantile: float = 0.5
    guarantee_confidence: float = 0.84
    calibration: str = ""
    options: tuple[OptionSpread, ...] = ()


@dataclass(frozen=True)
class SolGuarantee:
    """A guaranteed minimum of ``asset``'s data per local sol (``operations.min_sol_mbit``; soft:
    a sol that misses it costs ``penalty_points``): the return volume of its sessions starting in
    [start, end), each counted at most at its ``guaranteed_mbit`` (R28)."""

    __pydantic_config__ = _FORBID
    asset: str
    sol: int
    start_tdb_s: float
    end_tdb_s: float
    min_mbit: float
    penalty_points: float = 0.0


@dataclass(frozen=True)
class Problem:
    """A planning instance (see the module docstring for the schema and the semantics)."""

    __pydantic_config__ = _FORBID
    start_tdb_s: float
    end_tdb_s: float
    orbiters: tuple[Orbiter, ...]
    assets: tuple[Asset, ...]
    passes: tuple[PassWindow, ...] = ()
    options: tuple[SessionOption, ...] = ()
    downlinks: tuple[DownlinkChunk, ...] = ()
    forward_requirements: tuple[ForwardRequirement, ...] = ()
    decisional_requirements: tuple[DecisionalRequirement, ...] = ()
    conjunction: tuple[Interval, ...] = ()
    outages: tuple[OutageSpan, ...] = ()
    forbid: tuple[VetoSpan, ...] = ()
    requests: tuple[RelayRequest, ...] = ()
    min_session_s: float = 120.0
    turnaround_s: float = 60.0
    min_downlink_s: float = 0.0
    volume_unit_mbit: float = 0.1
    objective: Objective = field(default_factory=Objective)
    name: str = "problem"
    # issue 22 (optional; left out of problem.json when unset, so older instances read and write as before)
    confidence: Confidence | None = None
    guarantees: tuple[SolGuarantee, ...] = ()
    schema: str = SCHEMA
    version: int = VERSION

    # -- lookups --------------------------------------------------------------
    def orbiter(self, name: str) -> Orbiter:
        return next(o for o in self.orbiters if o.name == name)

    def asset(self, name: str) -> Asset:
        return next(a for a in self.assets if a.name == name)

    def option(self, option_id: str) -> SessionOption:
        return next(x for x in self.options if x.option_id == option_id)

    # -- JSON -----------------------------------------------------------------
    def to_dict(self) -> dict:
        # pydantic-core's serializer of the same schema from_dict validates with: the dict
        # dataclasses.asdict gives (tuples kept, so the JSON text is the same), ten times faster
        # (a year of network-6: seconds of every plan's problem.json)
        out = _ADAPTER.dump_python(self)
        for key, unset in (("confidence", None), ("guarantees", [])):   # issue 22's keys only when set
            if out.get(key) in (unset, ()):
                out.pop(key)
        for o in out["orbiters"]:   # issue 19's key only when set
            if o.get("downlink_hours_per_day") is None:
                o.pop("downlink_hours_per_day", None)
        return out

    def to_json(self, path: str | Path) -> Path:
        """Write the problem as JSON (atomically: a temp file, then rename)."""
        p = Path(path)
        write_text(p, self.to_json_text())
        return p

    def to_json_text(self) -> str:
        """The problem.json text (what :meth:`to_json` writes)."""
        return json.dumps(self.to_dict(), indent=1, allow_nan=False) + "\n"

    @classmethod
    def from_dict(cls, data, source: str = "problem") -> "Problem":
        """Validate a dict (as read from JSON); errors name the key path."""
        if not isinstance(data, dict):
            raise RelayInputError("expected a JSON object at the top level", source=source)
        if data.get("schema", SCHEMA) != SCHEMA:
            raise RelayInputError(f"got schema {data.get('schema')!r}, expected {SCHEMA!r}",
                                  source=source, where="schema")
        if data.get("version", VERSION) != VERSION:
            raise RelayInputError(f"got version {data.get('version')!r}; this relay reads version "
                                  f"{VERSION}", source=source, where="version")
        try:
            problem = _ADAPTER.validate_python(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise RelayInputError(f"{err['msg']} (got {_short(err.get('input'))})",
                                  source=source, where=_loc(err["loc"])) from None
        problem.check(source)
        return problem

    @classmethod
    def from_json(cls, path: str | Path) -> "Problem":
        p = Path(path)
        text = read_text(p, "problem", 2**30)   # a regular UTF-8 file of at most 1 GiB (not /dev/zero)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RelayInputError(f"not valid JSON: {exc.msg}", source=str(p),
                                  where=f"line {exc.lineno} column {exc.colno}") from None
        return cls.from_dict(data, source=str(p))

    # -- semantic checks -----------------------------------------------------
    def check(self, source: str = "problem") -> None:
        """Cross-references and ranges; raises RelayInputError naming the key."""

        def bad(where, msg):
            raise RelayInputError(msg, source=source, where=where)

        for key in ("start_tdb_s", "end_tdb_s", "min_session_s", "turnaround_s", "min_downlink_s",
                    "volume_unit_mbit"):
            if not math.isfinite(getattr(self, key)):
                bad(key, "must be a finite number")
        for key in ("min_session_s", "turnaround_s", "min_downlink_s"):
            if not 0 <= getattr(self, key) <= MAX_DURATION_S:
                bad(key, f"got {getattr(self, key)}, expected a duration from 0 to {MAX_DURATION_S:g} s")
        if not MIN_UNIT_MBIT <= self.volume_unit_mbit <= MAX_UNIT_MBIT:
            bad("volume_unit_mbit", f"got {self.volume_unit_mbit}, expected {MIN_UNIT_MBIT:g} to {MAX_UNIT_MBIT:g} Mbit")
        _check_magnitudes(self, bad)
        if not self.end_tdb_s > self.start_tdb_s:
            bad("end_tdb_s", f"end {self.end_tdb_s} is not after start {self.start_tdb_s}")
        if self.volume_unit_mbit <= 0:
            bad("volume_unit_mbit", "must be positive")
        if self.min_downlink_s < 0:
            bad("min_downlink_s", f"got {self.min_downlink_s}, expected a duration >= 0 s")
        orbiters = _unique(self.orbiters, "name", "orbiters", bad)
        assets = _unique(self.assets, "name", "assets", bad)
        passes = _unique(self.passes, "pass_id", "passes", bad)
        _unique(self.options, "option_id", "options", bad)
        _unique(self.downlinks, "chunk_id", "downlinks", bad)
        for i, o in enumerate(self.orbiters):
            if not (o.capacity_mbit >= 0 and 0 <= o.initial_fill_mbit <= o.capacity_mbit):
                bad(f"orbiters[{i}]", f"needs 0 <= initial_fill_mbit <= capacity_mbit, got "
                                      f"{o.initial_fill_mbit} and {o.capacity_mbit}")
            h = o.downlink_hours_per_day
            if h is not None and not (math.isfinite(h) and 0 <= h <= 24):
                bad(f"orbiters[{i}].downlink_hours_per_day", f"got {h}, expected hours from 0 to 24")
        for i, a in enumerate(self.assets):
            if a.backlog_mbit < 0 or a.priority_weight < 0:
                bad(f"assets[{i}]", "backlog_mbit and priority_weight must be >= 0")
            for j, (_, v) in enumerate(a.generation):
                if v < 0:
                    bad(f"assets[{i}].generation[{j}]", f"negative volume {v}")
            for j, w in enumerate(a.wake_windows or ()):
                if not w[1] > w[0]:
                    bad(f"assets[{i}].wake_windows[{j}]", "end is not after start")
        for i, p in enumerate(self.passes):
            if p.orbiter not in orbiters:
                bad(f"passes[{i}].orbiter", f"unknown orbiter {p.orbiter!r}")
            if p.asset not in assets:
                bad(f"passes[{i}].asset", f"unknown asset {p.asset!r}")
            if not p.set_tdb_s > p.rise_tdb_s:
                bad(f"passes[{i}]", "set_tdb_s is not after rise_tdb_s")
        for i, x in enumerate(self.options):
            w = f"options[{i}]"
            if x.orbiter not in orbiters:
                bad(w + ".orbiter", f"unknown orbiter {x.orbiter!r}")
            if x.asset not in assets:
                bad(w + ".asset", f"unknown asset {x.asset!r}")
            if not x.end_tdb_s > x.start_tdb_s:
                bad(w + ".end_tdb_s", "end is not after start")
            if not (x.capacity_mbit >= 0 and math.isfinite(x.capacity_mbit)):
                bad(w + ".capacity_mbit", f"got {x.capacity_mbit}, expected a number >= 0")
            p = passes.get(x.pass_id)
            if p is None:
                bad(w + ".pass_id", f"unknown pass {x.pass_id!r}")
            if (p.orbiter, p.asset) != (x.orbiter, x.asset):
                bad(w, f"orbiter/asset differ from those of pass {x.pass_id!r}")
        for i, d in enumerate(self.downlinks):
            if d.orbiter not in orbiters:
                bad(f"downlinks[{i}].orbiter", f"unknown orbiter {d.orbiter!r}")
            if not d.end_tdb_s > d.start_tdb_s:
                bad(f"downlinks[{i}].end_tdb_s", "end is not after start")
            if d.capacity_mbit < 0:
                bad(f"downlinks[{i}].capacity_mbit", "must be >= 0")
        _no_overlapping_downlinks(self.downlinks, bad)
        for key in ("forward_requirements", "decisional_requirements", "requests", "guarantees"):
            for i, r in enumerate(getattr(self, key)):
                if r.asset not in assets:
                    bad(f"{key}[{i}].asset", f"unknown asset {r.asset!r}")
        _check_operations(self, orbiters, assets, passes, bad)
        _check_confidence(self, bad)


#: Largest volume any field of an instance may hold (Mbit): 1 Pbit, a million times a week of the
#: whole network; with the smallest volume unit, a value stays below 10^12 integer units, so the
#: model's sums stay far inside the 64-bit integers the solvers use.
MAX_MBIT = 1e9
#: Largest weight, price or penalty (points).
MAX_POINTS = 1e9
#: Longest duration of the instance's rules (turnaround, minimum session and downlink), s.
MAX_DURATION_S = 86400.0
MAX_UNIT_MBIT = 1e3
_WEIGHT_FIELDS = ("priority_weight", "initial_fill_weight", "keep_points", "points", "penalty_points")


def _check_number(value, where: str, name: str, bad) -> None:
    """One number of a record against the instance's ranges, by the field's name."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    if not math.isfinite(value):
        bad(where, f"got {value}, expected a finite number")
    if name in _WEIGHT_FIELDS or name.startswith("objective."):
        if not 0 <= value <= MAX_POINTS:
            bad(where, f"got {value:g}, expected a weight from 0 to {MAX_POINTS:g} points")
    elif name.endswith("_mbit") and not 0 <= value <= MAX_MBIT:
        bad(where, f"got {value:g}, expected a volume from 0 to {MAX_MBIT:g} Mbit")


def _check_magnitudes(P: "Problem", bad) -> None:
    """Every number of every record finite, volumes in [0, MAX_MBIT], weights in [0, MAX_POINTS]
    (a hand-edited problem.json gets this paragraph, not an overflow inside a solver)."""
    for f in dataclasses.fields(P.objective):
        _check_number(getattr(P.objective, f.name), f"objective.{f.name}", f"objective.{f.name}", bad)
    for key in ("orbiters", "assets", "passes", "options", "downlinks", "forward_requirements",
                "decisional_requirements", "outages", "forbid", "requests", "guarantees"):
        for i, rec in enumerate(getattr(P, key)):
            for f in dataclasses.fields(rec):
                _check_number(getattr(rec, f.name), f"{key}[{i}].{f.name}", f.name, bad)
    for i, a in enumerate(P.assets):
        for j, (t, v) in enumerate(a.generation):
            _check_number(t, f"assets[{i}].generation[{j}]", "time", bad)
            _check_number(v, f"assets[{i}].generation[{j}]", "volume_mbit", bad)


def _check_operations(P: "Problem", orbiters: dict, assets: dict, passes: dict, bad) -> None:
    """Requests, outages and vetoes refer to known names and have end after start."""
    _unique(P.requests, "id", "requests", bad)
    for i, r in enumerate(P.requests):
        if r.orbiter is not None and r.orbiter not in orbiters:
            bad(f"requests[{i}].orbiter", f"unknown orbiter {r.orbiter!r}")
        if not (r.end_tdb_s > r.start_tdb_s and r.count >= 1 and r.min_mbit >= 0 and r.min_duration_s >= 0
                and math.isfinite(r.points) and r.points >= 0):
            bad(f"requests[{i}]", "needs end after start, count >= 1 and min_mbit, min_duration_s, "
                                  "points >= 0")
    for i, o in enumerate(P.outages):
        known = {"orbiter": orbiters, "asset": assets}.get(o.kind)
        if known is not None and o.target not in known:
            bad(f"outages[{i}].target", f"unknown {o.kind} {o.target!r}")
        if o.orbiter is not None and o.orbiter not in orbiters:
            bad(f"outages[{i}].orbiter", f"unknown orbiter {o.orbiter!r}")
        if not o.end_tdb_s > o.start_tdb_s:
            bad(f"outages[{i}].end_tdb_s", "end is not after start")
    for i, v in enumerate(P.forbid):
        if v.orbiter is not None and v.orbiter not in orbiters:
            bad(f"forbid[{i}].orbiter", f"unknown orbiter {v.orbiter!r}")
        if v.asset is not None and v.asset not in assets:
            bad(f"forbid[{i}].asset", f"unknown asset {v.asset!r}")
        if v.pass_id is not None and v.pass_id not in passes:
            bad(f"forbid[{i}].pass_id", f"unknown pass {v.pass_id!r}; expected the id of one of the instance's passes")
        if v.pass_id is None and (v.start_tdb_s is None or v.end_tdb_s is None
                                  or not v.end_tdb_s > v.start_tdb_s
                                  or (v.orbiter is None and v.asset is None)):
            bad(f"forbid[{i}]", "needs a pass_id, or an orbiter and/or asset with start < end")


def _check_confidence(P: "Problem", bad) -> None:
    """Issue 22's blocks: guarantees with end after start and finite minima and penalties >= 0; a
    confidence block with quantiles in (0, 1) whose options are the problem's, with finite
    volumes >= 0, a spread >= 0 and a failure rate in [0, 1)."""
    for i, g in enumerate(P.guarantees):
        if not (g.end_tdb_s > g.start_tdb_s and 0 <= g.min_mbit < math.inf and 0 <= g.penalty_points < math.inf):
            bad(f"guarantees[{i}]", "needs end after start and finite min_mbit, penalty_points >= 0")
    c = P.confidence
    if c is None:
        return
    for key in ("volume_quantile", "guarantee_confidence"):
        if not 0 < getattr(c, key) < 1:
            bad(f"confidence.{key}", f"got {getattr(c, key)}, expected a probability between 0 and 1")
    ids = {x.option_id for x in P.options}
    _unique(c.options, "option_id", "confidence.options", bad)
    for i, o in enumerate(c.options):
        if o.option_id not in ids:
            bad(f"confidence.options[{i}].option_id", f"unknown option {o.option_id!r}")
        if not (0 <= o.predicted_mbit < math.inf and 0 <= o.guaranteed_mbit < math.inf and math.isfinite(o.mu)
                and 0 <= o.sigma < math.inf and 0 <= o.fail_p < 1):
            bad(f"confidence.options[{i}]", "needs finite predicted_mbit, guaranteed_mbit, mu, sigma >= 0 and "
                                            "0 <= fail_p < 1")


def _no_overlapping_downlinks(chunks, bad) -> None:
    """One X-band radio per orbiter: chunks of one orbiter may not overlap."""
    index = {id(c): i for i, c in enumerate(chunks)}
    last: dict[str, DownlinkChunk] = {}
    for c in sorted(chunks, key=lambda c: (c.start_tdb_s, c.end_tdb_s)):
        prev = last.get(c.orbiter)
        if prev is not None and c.start_tdb_s < prev.end_tdb_s - 1e-6:
            bad(f"downlinks[{index[id(c)]}]", f"chunk {c.chunk_id!r} of {c.orbiter} overlaps chunk "
                                             f"{prev.chunk_id!r} (one downlink at a time per orbiter)")
        if prev is None or c.end_tdb_s > prev.end_tdb_s:
            last[c.orbiter] = c


def _unique(items, key, what, bad) -> dict:
    seen: dict = {}
    for i, it in enumerate(items):
        k = getattr(it, key)
        if k in seen:
            bad(f"{what}[{i}].{key}", f"duplicate {key} {k!r}")
        seen[k] = it
    return seen


def _loc(loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_ADAPTER = TypeAdapter(Problem)


# ---------------------------------------------------------------------------
# Builder helpers: local solar time -> absolute intervals
# ---------------------------------------------------------------------------

def sol_spans(start_tdb_s: float, end_tdb_s: float, east_longitude_deg: float) -> tuple[tuple[int, float, float], ...]:
    """The local sols of a site overlapping [start, end): (sol, sol_start_tdb_s, sol_end_tdb_s)."""
    first = int(local_sol(start_tdb_s, east_longitude_deg))
    last = int(local_sol(end_tdb_s, east_longitude_deg))
    out = []
    for sol in range(first, last + 1):
        s = float(local_sol_start_tdb_s(sol, east_longitude_deg))
        e = float(local_sol_start_tdb_s(sol + 1, east_longitude_deg))
        if e > start_tdb_s and s < end_tdb_s:
            out.append((sol, s, e))
    return tuple(out)


def lmst_intervals(start_tdb_s: float, end_tdb_s: float, east_longitude_deg: float,
                   lmst_start_h: float, lmst_end_h: float, *, clip: bool = True
                   ) -> tuple[tuple[int, float, float], ...]:
    """Absolute intervals of a daily LMST window at a site: ``(sol, start_tdb_s, end_tdb_s)``.

    ``sol`` is the local sol in which the window opens; a window with
    ``lmst_end_h <= lmst_start_h`` wraps past local midnight.  With ``clip``
    the intervals are cut to [start, end) and empty ones dropped.
    """
    length_h = (lmst_end_h - lmst_start_h) % 24.0 or 24.0
    first = int(local_sol(start_tdb_s, east_longitude_deg)) - 1
    last = int(local_sol(end_tdb_s, east_longitude_deg))
    out = []
    for sol in range(first, last + 1):
        s = float(local_sol_start_tdb_s(sol, east_longitude_deg)) + lmst_start_h / 24.0 * SOL_S
        e = s + length_h / 24.0 * SOL_S
        if clip:
            s, e = max(s, start_tdb_s), min(e, end_tdb_s)
        if e > s:
            out.append((sol, s, e))
    return tuple(out)


def generation_steps(start_tdb_s: float, end_tdb_s: float, mbit_per_sol: float,
                     step_s: float = 3600.0) -> tuple[tuple[float, float], ...]:
    """Data produced at a constant rate, released in steps: ``(tdb_s, mbit)`` at each step's end."""
    if mbit_per_sol <= 0:
        return ()
    ends = np.arange(start_tdb_s + step_s, end_tdb_s + step_s, step_s)
    out, prev = [], start_tdb_s
    for t in ends:
        t = min(float(t), end_tdb_s)
        if t > prev:
            out.append((t, mbit_per_sol * (t - prev) / SOL_S))
        prev = t
    return tuple(out)


def objective_from_settings(weights) -> Objective:
    """An :class:`Objective` from a :class:`relay.planning.settings.ObjectiveWeights`."""
    return Objective(**{f.name: float(getattr(weights, f.name)) for f in dataclasses.fields(Objective)})
