"""Operational inputs of a plan: outages, vetoes (forbid), relay requests and locks.

A relay week never goes as first planned: an orbiter drops into safe mode, a
station pass is cancelled, a lander team asks for a specific overflight, a
planner rejects a session by hand.  These arrive as records of this module:

* :class:`Outage` ``(target, what, start, end, note, orbiter)``: a resource is
  unavailable over [start, end): an orbiter's UHF relay (``what`` "uhf"), its
  X-band downlink ("xband") or both ("all", safe mode); a ground station (its
  downlinks, for every orbiter or for ``orbiter`` only; "xband" or "all"); an
  asset's UHF ("uhf" or "all").
* :class:`Veto` ``(orbiter, asset, start, end, pass_id, note)``: no session of
  that orbiter and/or asset overlaps [start, end); or no session in a pass.
* :class:`Request` ``(id, asset, kind, start, end, priority, orbiter, min_mbit,
  min_duration_s, points, note)``: a lander team asks for a session in a window
  (``required``: met whenever any plan can meet it, reported when none can;
  ``preferred``: earns ``points`` when met).  A request given as a mission
  ``sol`` and an ``lmst_window`` is converted to absolute times with the asset's
  clock (:mod:`relay.sols`).
* :class:`Operations`: the four together (``locks``: a fixed-sessions table as
  :func:`relay.inputs.read_sessions_table` returns, kept exactly).

They are read from CSV files or DataFrames (:func:`relay.inputs.read_outages`,
:func:`relay.inputs.read_requests`, :func:`relay.inputs.read_forbid`) and from a
scenario's ``outages:``, ``requests:`` and ``forbid:`` lists
(:func:`operations_from_scenario`); :func:`merge` joins two sets.

:mod:`relay.planning.apply` turns them into a planning instance (options
and downlink chunks under an outage or a veto removed or cut, requests added);
:mod:`relay.planning.requests` says which sessions of a plan meet each request.
This module holds the records, their scenario schema (:class:`OutageConfig`,
:class:`ForbidConfig`, :class:`RequestConfig`) and the checks of a single
record; it knows nothing of a planning instance.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .errors import RelayInputError, excerpt
from .sols import clock_of
from .timescales import SOL_S, iso_z, local_sol_start_tdb_s, parse_utc, tdb_s_to_iso, utc_to_tdb_s

WHATS = ("uhf", "xband", "all")
KINDS = ("return", "forward")
PRIORITIES = ("required", "preferred")
#: Longest id (of a request or a pass) and name an operational input may give (characters).
MAX_ID_CHARS = 100
#: Longest note an operational input may carry (characters); a longer one is refused, not cut.
MAX_NOTE_CHARS = 1000


# ---------------------------------------------------------------------------
# records
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Outage:
    """A resource unavailable over [start, end) (TDB s).  ``target``: an orbiter, station or asset
    name; ``what``: "uhf", "xband" or "all"; ``orbiter``: for a station, the one orbiter whose
    downlinks it cancels (None: all).  ``kind`` ("orbiter", "station", "asset") is set by the
    readers (None: found from the problem's names); ``source``/``where`` name the row."""

    target: str
    what: str
    start_tdb_s: float
    end_tdb_s: float
    note: str = ""
    orbiter: str | None = None
    kind: str | None = field(default=None, compare=False)
    source: str = field(default="outages", compare=False)
    where: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Veto:
    """Sessions forbidden: of ``orbiter`` and/or ``asset`` overlapping [start, end), or every
    session of pass ``pass_id``."""

    orbiter: str | None = None
    asset: str | None = None
    start_tdb_s: float | None = None
    end_tdb_s: float | None = None
    pass_id: str | None = None
    note: str = ""
    source: str = field(default="forbid", compare=False)
    where: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Request:
    """A relay request: a session of ``asset`` (and ``orbiter``) lying in [start, end], of
    ``kind`` "return" or "forward", carrying at least ``min_mbit`` and lasting at least
    ``min_duration_s``; ``priority`` "required" or "preferred" (earns ``points`` when met)."""

    id: str
    asset: str
    kind: str
    start_tdb_s: float
    end_tdb_s: float
    priority: str
    orbiter: str | None = None
    min_mbit: float = 0.0
    min_duration_s: float = 0.0
    points: float = 0.0
    note: str = ""
    source: str = field(default="requests", compare=False)
    where: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Operations:
    """The operational inputs of a plan (empty by default)."""

    outages: tuple[Outage, ...] = ()
    forbid: tuple[Veto, ...] = ()
    requests: tuple[Request, ...] = ()
    locks: Any = None   # a fixed-sessions table (relay.inputs.read_sessions_table) or None

    def __bool__(self) -> bool:
        return bool(self.outages or self.forbid or self.requests
                    or (self.locks is not None and len(self.locks)))


def merge(a: Operations | None, b: Operations | None) -> Operations:
    """Both sets of inputs together (``a``'s records first; locks of both, stacked)."""
    a, b = a or Operations(), b or Operations()
    locks = a.locks if b.locks is None else b.locks if a.locks is None else _stack(a.locks, b.locks)
    return Operations(a.outages + b.outages, a.forbid + b.forbid, a.requests + b.requests, locks)


def _stack(x, y):
    import pandas as pd

    out = pd.concat([x, y], ignore_index=True)
    out.attrs = dict(y.attrs)
    return out


# ---------------------------------------------------------------------------
# scenario keys (outages:, requests:, forbid:) and their conversion
# ---------------------------------------------------------------------------

def _utc(v):
    if v is None:
        return v
    if isinstance(v, datetime):   # YAML reads an unquoted time as a datetime
        if v.tzinfo is None:
            raise ValueError(f"got {v.isoformat()} without a zone; write it in UTC with a Z")
        v = iso_z(v)
    elif isinstance(v, date):     # and an unquoted bare date as a date
        v = v.isoformat()
    if not isinstance(v, str) or len(v) > 64:
        raise ValueError(f"got {excerpt(v)}, expected an ISO 8601 UTC time such as 2026-11-23T00:00:00Z")
    try:
        parse_utc(v, source=None)
    except RelayInputError as exc:
        raise ValueError(exc.detail) from None
    return v


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


_Name = Field(min_length=1, max_length=MAX_ID_CHARS)


class OutageConfig(_Strict):
    """An outage in a scenario (``outages:``); times ISO 8601 UTC."""

    target: str = _Name
    what: Literal["uhf", "xband", "all"] = "all"
    start: str
    end: str
    note: str = Field("", max_length=MAX_NOTE_CHARS)
    orbiter: str | None = Field(None, min_length=1, max_length=MAX_ID_CHARS,
                                description="for a station: the one orbiter it cannot serve")

    _times = field_validator("start", "end", mode="before")(classmethod(lambda cls, v: _utc(v)))


class ForbidConfig(_Strict):
    """A veto in a scenario (``forbid:``): an orbiter and/or asset and a span, or a pass id."""

    orbiter: str | None = Field(None, min_length=1, max_length=MAX_ID_CHARS)
    asset: str | None = Field(None, min_length=1, max_length=MAX_ID_CHARS)
    start: str | None = None
    end: str | None = None
    pass_id: str | None = Field(None, min_length=1, max_length=MAX_ID_CHARS)
    note: str = Field("", max_length=MAX_NOTE_CHARS)

    _times = field_validator("start", "end", mode="before")(classmethod(lambda cls, v: _utc(v)))

    @model_validator(mode="after")
    def _shape(self):
        if self.pass_id is None and (self.start is None or self.end is None
                                     or (self.orbiter is None and self.asset is None)):
            raise ValueError("a veto needs a pass_id, or an orbiter and/or an asset with start and end")
        return self


class RequestConfig(_Strict):
    """A relay request in a scenario (``requests:``): start and end (UTC), or sol and lmst_window."""

    id: str = _Name
    asset: str = _Name
    orbiter: str | None = Field(None, min_length=1, max_length=MAX_ID_CHARS)
    kind: Literal["return", "forward"] = "return"
    start: str | None = None
    end: str | None = None
    sol: int | None = Field(None, ge=-100000, le=100000, description="the asset's mission sol (or MSD)")
    lmst_window: tuple[float, float] | None = Field(None, description="LMST hours [from, to] on that sol")
    priority: Literal["required", "preferred"] = "required"
    min_mbit: float = Field(0.0, ge=0, le=1e9)
    min_duration_s: float = Field(0.0, ge=0, le=86400)
    points: float = Field(0.0, ge=0, le=1e9)
    note: str = Field("", max_length=MAX_NOTE_CHARS)

    _times = field_validator("start", "end", mode="before")(classmethod(lambda cls, v: _utc(v)))

    @field_validator("lmst_window")
    @classmethod
    def _lmst(cls, v):
        if v is not None and not (0 <= v[0] <= 24 and 0 <= v[1] <= 24 and v[0] != v[1]):
            raise ValueError(f"got {list(v)}, expected two different LMST hours from 0 to 24")
        return v

    @model_validator(mode="after")
    def _when(self):
        by_time = self.start is not None or self.end is not None
        by_sol = self.sol is not None or self.lmst_window is not None
        if by_time == by_sol or (by_time and (self.start is None or self.end is None)) \
                or (by_sol and (self.sol is None or self.lmst_window is None)):
            raise ValueError("a request needs start and end (UTC), or sol and lmst_window, not both")
        return self


def _tdb(text: str, source, where) -> float:
    return float(utc_to_tdb_s(parse_utc(text, source=source, where=where)))


def scenario_names(scenario) -> dict:
    """The names an operational input may refer to: orbiters, stations, assets (lists) and the
    assets' clocks (for requests by sol)."""
    return {"orbiters": [o.name for o in scenario.orbiters], "stations": [s.name for s in scenario.stations],
            "assets": {a.name: clock_of(a.longitude_deg, a.landing) for a in scenario.assets}}


def operations_from_scenario(scenario) -> Operations:
    """The scenario's ``outages:``, ``requests:`` and ``forbid:`` as records (names checked;
    errors name the scenario file and the key, e.g. ``outages[2].target``)."""
    names = scenario_names(scenario)
    src = getattr(scenario, "path", None) or "scenario"
    outs, vetoes, reqs = [], [], []
    for i, o in enumerate(getattr(scenario, "outages", None) or ()):
        w = f"outages[{i}]"
        outs.append(outage_record(o.target, o.what, _tdb(o.start, src, w + ".start"), _tdb(o.end, src, w + ".end"),
                                  note=o.note, orbiter=o.orbiter, source=src, where=w, **names))
    for i, v in enumerate(getattr(scenario, "forbid", None) or ()):
        w = f"forbid[{i}]"
        vetoes.append(veto_record(v.orbiter, v.asset, _tdb(v.start, src, w + ".start") if v.start else None,
                                  _tdb(v.end, src, w + ".end") if v.end else None, v.pass_id, v.note,
                                  source=src, where=w, orbiters=names["orbiters"], assets=names["assets"]))
    for i, r in enumerate(getattr(scenario, "requests", None) or ()):
        w = f"requests[{i}]"
        s = _tdb(r.start, src, w + ".start") if r.start else None
        e = _tdb(r.end, src, w + ".end") if r.end else None
        reqs.append(request_record(r.id, r.asset, r.kind, s, e, r.priority, orbiter=r.orbiter, min_mbit=r.min_mbit,
                                   min_duration_s=r.min_duration_s, points=r.points, note=r.note, sol=r.sol,
                                   lmst_window=r.lmst_window, source=src, where=w,
                                   orbiters=names["orbiters"], assets=names["assets"]))
    check_unique_ids(reqs)
    return Operations(tuple(outs), tuple(vetoes), tuple(reqs))


# ---------------------------------------------------------------------------
# record makers (shared by the CSV readers and the scenario keys)
# ---------------------------------------------------------------------------

def _check_name(value, known, what: str, source, where) -> None:
    if known is not None and value not in set(known):
        raise RelayInputError(f"{what} {excerpt(value)} is not in the scenario; expected one of "
                              f"{', '.join(sorted(known)) or '(none)'}", source=source, where=where)


def check_order(s: float, e: float, source, where) -> None:
    """An input error naming the row unless ``e`` is after ``s`` (TDB s)."""
    if not e > s:
        raise RelayInputError(f"end {tdb_s_to_iso(e)} is not after start {tdb_s_to_iso(s)}; expected end > start",
                              source=source, where=where)


def outage_record(target: str, what: str, start_tdb_s: float, end_tdb_s: float, *, note: str = "",
                  orbiter: str | None = None, source: str = "outages", where: str | None = None,
                  orbiters=None, stations=None, assets=None) -> Outage:
    """An :class:`Outage` with its target's kind found and checked (an asset has no X-band, a
    station no UHF; ``orbiter`` only for a station)."""
    kinds = [k for k, names in (("orbiter", orbiters), ("station", stations), ("asset", assets))
             if names is not None and target in set(names)]
    if orbiters is not None or stations is not None or assets is not None:
        if not kinds:
            every = sorted(set(orbiters or ()) | set(stations or ()) | set(assets or ()))
            raise RelayInputError(f"target {excerpt(target)} is not an orbiter, station or asset of the scenario; "
                                  f"expected one of {', '.join(every)}", source=source, where=where)
    kind = kinds[0] if kinds else None
    if what not in WHATS:
        raise RelayInputError(f"what {excerpt(what)} is not one of 'uhf', 'xband', 'all'", source=source, where=where)
    if kind == "asset" and what == "xband":
        raise RelayInputError(f"target {target!r} is an asset, which has no X-band link; expected what 'uhf' or 'all'",
                              source=source, where=where)
    if kind == "station" and what == "uhf":
        raise RelayInputError(f"target {target!r} is a ground station, which has no UHF link; expected what "
                              "'xband' or 'all'", source=source, where=where)
    if orbiter:
        if kind not in (None, "station"):
            raise RelayInputError(f"orbiter {excerpt(orbiter)} is given for the {kind} {target!r}; expected an "
                                  "orbiter only for a station's outage (the one orbiter it cannot serve)",
                                  source=source, where=where)
        _check_name(orbiter, orbiters, "orbiter", source, where)
    check_order(start_tdb_s, end_tdb_s, source, where)
    return Outage(target, what, float(start_tdb_s), float(end_tdb_s), note or "", orbiter or None, kind, source, where)


def veto_record(orbiter, asset, start_tdb_s, end_tdb_s, pass_id=None, note: str = "", *,
                source: str = "forbid", where: str | None = None, orbiters=None, assets=None) -> Veto:
    """A :class:`Veto`: a pass id, or an orbiter and/or asset with a span (names checked)."""
    orbiter, asset, pass_id = orbiter or None, asset or None, pass_id or None
    if orbiter:
        _check_name(orbiter, orbiters, "orbiter", source, where)
    if asset:
        _check_name(asset, assets, "asset", source, where)
    if pass_id is None:
        if orbiter is None and asset is None:
            raise RelayInputError("a veto needs an orbiter and/or an asset with start and end, or a pass_id; "
                                  "got none of them", source=source, where=where)
        if start_tdb_s is None or end_tdb_s is None:
            raise RelayInputError("a veto by orbiter or asset needs both start and end (ISO 8601 UTC)",
                                  source=source, where=where)
        check_order(start_tdb_s, end_tdb_s, source, where)
    elif (start_tdb_s is None) != (end_tdb_s is None):
        raise RelayInputError("a veto gives both start and end, or neither (a pass id alone)", source=source,
                              where=where)
    return Veto(orbiter, asset, None if start_tdb_s is None else float(start_tdb_s),
                None if end_tdb_s is None else float(end_tdb_s), pass_id, note or "", source, where)


def request_record(id: str, asset: str, kind: str, start_tdb_s, end_tdb_s, priority: str, *, orbiter=None,
                   min_mbit: float = 0.0, min_duration_s: float = 0.0, points: float = 0.0, note: str = "",
                   sol=None, lmst_window=None, source: str = "requests", where: str | None = None,
                   orbiters=None, assets=None) -> Request:
    """A :class:`Request`; given by ``sol`` and ``lmst_window`` (hours) it is converted with the
    asset's clock (``assets``: a mapping name -> :class:`relay.sols.SolClock`)."""
    if not str(id).strip():
        raise RelayInputError(f"request id {excerpt(id)} is empty; expected an id naming the request (such as "
                              "CUR-5086-drive)", source=source, where=where)
    _check_name(asset, assets, "asset", source, where)
    if orbiter:
        _check_name(orbiter, orbiters, "orbiter", source, where)
    if kind not in KINDS:
        raise RelayInputError(f"kind {excerpt(kind)} is not one of 'return', 'forward'", source=source, where=where)
    if priority not in PRIORITIES:
        raise RelayInputError(f"priority {excerpt(priority)} is not one of 'required', 'preferred'",
                              source=source, where=where)
    if sol is not None:
        if start_tdb_s is not None or end_tdb_s is not None:
            raise RelayInputError("a request gives start and end, or sol and lmst_window, not both",
                                  source=source, where=where)
        clock = assets.get(asset) if isinstance(assets, Mapping) else None
        if clock is None or lmst_window is None:
            raise RelayInputError("a request by sol needs an lmst_window and the asset's clock (its longitude)",
                                  source=source, where=where)
        if clock.sol_offset is not None and int(sol) < 0:
            raise RelayInputError(f"sol {int(sol)} of {asset} is before its landing (its mission sols count "
                                  "from 0, the sol of the landing); expected a sol of 0 or later",
                                  source=source, where=where)
        start_tdb_s, end_tdb_s = sol_window(clock, int(sol), lmst_window)
    if start_tdb_s is None or end_tdb_s is None:
        raise RelayInputError("a request needs start and end (ISO 8601 UTC), or sol and lmst_window",
                              source=source, where=where)
    check_order(start_tdb_s, end_tdb_s, source, where)
    return Request(str(id), asset, kind, float(start_tdb_s), float(end_tdb_s), priority, orbiter or None,
                   float(min_mbit), float(min_duration_s), float(points), note or "", source, where)


def sol_window(clock, sol: int, lmst_window) -> tuple[float, float]:
    """TDB seconds of LMST ``lmst_window`` (hours; the end may wrap past midnight) on mission sol
    ``sol`` of an asset's :class:`relay.sols.SolClock`."""
    h0, h1 = float(lmst_window[0]), float(lmst_window[1])
    local = int(sol) - int(clock.sol_offset or 0)
    s = float(local_sol_start_tdb_s(local, clock.east_longitude_deg)) + h0 / 24.0 * SOL_S
    return s, s + ((h1 - h0) % 24.0 or 24.0) / 24.0 * SOL_S


_HOUR = r"(\d{1,2}(?::\d{2}(?::\d{2})?)?|\d{1,2}\.\d*)"
_LMST = re.compile(rf"^\s*{_HOUR}\s*(?:-|to|/)\s*{_HOUR}\s*$")


def _lmst_hours(t: str) -> float | None:
    """LMST hours of ``13``, ``13.5``, ``13:30`` or ``13:30:15`` (minutes and seconds below 60,
    hours below 24 or 24:00 exactly), or None."""
    if ":" not in t:
        h = float(t)
        return h if 0 <= h <= 24 else None
    parts = [int(p) for p in t.split(":")]
    h, m, sec = (parts + [0, 0])[:3]
    if m >= 60 or sec >= 60 or h > 24 or (h == 24 and (m or sec)):
        return None
    return h + m / 60.0 + sec / 3600.0


def parse_lmst_window(text: str, source, where) -> tuple[float, float]:
    """``"13:00-15:30"`` or ``"13-15.5"`` as LMST hours."""
    m = _LMST.match(text or "")
    if m:
        h0, h1 = _lmst_hours(m.group(1)), _lmst_hours(m.group(2))
        if h0 is not None and h1 is not None and h0 != h1:
            return h0, h1
    raise RelayInputError(f"lmst_window {excerpt(text)} is not an LMST window; expected two different times of "
                          "day such as 13:00-15:30 or 13-15.5 (hours 0 to 24, minutes and seconds below 60)",
                          source=source, where=where)


def check_unique_ids(reqs) -> None:
    """An input error naming the second row when two requests share an id."""
    seen: dict[str, Request] = {}
    for r in reqs:
        if r.id in seen:
            raise RelayInputError(f"request id {excerpt(r.id)} is used twice (also at {seen[r.id].where}); expected "
                                  "a unique id per request", source=r.source, where=r.where)
        seen[r.id] = r


__all__ = ["WHATS", "KINDS", "PRIORITIES", "MAX_ID_CHARS", "MAX_NOTE_CHARS", "Outage", "Veto", "Request",
           "Operations", "OutageConfig", "ForbidConfig", "RequestConfig", "merge", "operations_from_scenario",
           "scenario_names", "outage_record", "veto_record", "request_record", "sol_window", "parse_lmst_window",
           "check_order", "check_unique_ids"]
