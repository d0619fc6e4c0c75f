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

:func:`apply` turns them into a planning instance: every session option and
downlink chunk that overlaps an outage of a resource it uses, or a veto, is
removed, or cut to its largest usable part when that part still meets
``min_session_s`` and the minimum volume.  A cut option's capacity is the link
model's volume of the part (``volume``: a :class:`relay.links.VolumeTable` or a
callable ``(pass_id, t0, t1) -> Mbit``; without one, the option's capacity pro
rata of its duration); a cut downlink chunk keeps its capacity pro rata of its
duration (the chunks already share a window's capacity at a constant rate).
The requests are added and the outages and vetoes recorded in the Problem
(``outages``, ``forbid``, ``requests`` of problem.json) so the independent
validator checks them from problem.json alone (rules R25 to R27).
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .errors import RelayInputError, excerpt

WHATS = ("uhf", "xband", "all")
KINDS = ("return", "forward")
PRIORITIES = ("required", "preferred")
TOL_S = 1e-3


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
    from datetime import date, datetime, timezone

    from .timescales import parse_utc

    if v is None:
        return v
    if isinstance(v, datetime):   # YAML reads an unquoted time as a datetime
        if v.tzinfo is None:
            raise ValueError(f"got {v.isoformat()} without a zone; write it in UTC with a Z")
        v = v.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
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


_Name = Field(min_length=1, max_length=100)


class OutageConfig(_Strict):
    """An outage in a scenario (``outages:``); times ISO 8601 UTC."""

    target: str = _Name
    what: Literal["uhf", "xband", "all"] = "all"
    start: str
    end: str
    note: str = Field("", max_length=1000)
    orbiter: str | None = Field(None, min_length=1, max_length=100,
                                description="for a station: the one orbiter it cannot serve")

    _times = field_validator("start", "end", mode="before")(classmethod(lambda cls, v: _utc(v)))


class ForbidConfig(_Strict):
    """A veto in a scenario (``forbid:``): an orbiter and/or asset and a span, or a pass id."""

    orbiter: str | None = Field(None, min_length=1, max_length=100)
    asset: str | None = Field(None, min_length=1, max_length=100)
    start: str | None = None
    end: str | None = None
    pass_id: str | None = Field(None, min_length=1, max_length=100)
    note: str = Field("", max_length=1000)

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
    orbiter: str | None = Field(None, min_length=1, max_length=100)
    kind: Literal["return", "forward"] = "return"
    start: str | None = None
    end: str | None = None
    sol: int | None = Field(None, ge=-100000, le=100000, description="the asset's mission sol (or MSD)")
    lmst_window: tuple[float, float] | None = Field(None, description="LMST hours [from, to] on that sol")
    priority: Literal["required", "preferred"] = "required"
    min_mbit: float = Field(0.0, ge=0, le=1e9)
    min_duration_s: float = Field(0.0, ge=0, le=86400)
    points: float = Field(0.0, ge=0, le=1e9)
    note: str = Field("", max_length=1000)

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
    from .timescales import parse_utc, utc_to_tdb_s

    return float(utc_to_tdb_s(parse_utc(text, source=source, where=where)))


def scenario_names(scenario) -> dict:
    """The names an operational input may refer to: orbiters, stations, assets (lists) and the
    assets' clocks (for requests by sol)."""
    from .sols import clock_of

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


def _check_order(s: float, e: float, source, where) -> None:
    from .timescales import tdb_s_to_iso

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
    _check_order(start_tdb_s, end_tdb_s, source, where)
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
        _check_order(start_tdb_s, end_tdb_s, source, where)
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
        start_tdb_s, end_tdb_s = sol_window(clock, int(sol), lmst_window)
    if start_tdb_s is None or end_tdb_s is None:
        raise RelayInputError("a request needs start and end (ISO 8601 UTC), or sol and lmst_window",
                              source=source, where=where)
    _check_order(start_tdb_s, end_tdb_s, source, where)
    return Request(str(id), asset, kind, float(start_tdb_s), float(end_tdb_s), priority, orbiter or None,
                   float(min_mbit), float(min_duration_s), float(points), note or "", source, where)


def sol_window(clock, sol: int, lmst_window) -> tuple[float, float]:
    """TDB seconds of LMST ``lmst_window`` (hours; the end may wrap past midnight) on mission sol
    ``sol`` of an asset's :class:`relay.sols.SolClock`."""
    from .timescales import SOL_S, local_sol_start_tdb_s

    h0, h1 = float(lmst_window[0]), float(lmst_window[1])
    local = int(sol) - int(clock.sol_offset or 0)
    s = float(local_sol_start_tdb_s(local, clock.east_longitude_deg)) + h0 / 24.0 * SOL_S
    return s, s + ((h1 - h0) % 24.0 or 24.0) / 24.0 * SOL_S


_HOUR = r"(\d{1,2}(?::\d{2}(?::\d{2})?)?|\d{1,2}\.\d*)"
_LMST = re.compile(rf"^\s*{_HOUR}\s*(?:-|to|/)\s*{_HOUR}\s*$")


def parse_lmst_window(text: str, source, where) -> tuple[float, float]:
    """``"13:00-15:30"`` or ``"13-15.5"`` as LMST hours."""
    m = _LMST.match(text or "")

    def hours(t: str) -> float:
        if ":" in t:
            parts = [float(p) for p in t.split(":")]
            return parts[0] + parts[1] / 60.0 + (parts[2] / 3600.0 if len(parts) > 2 else 0.0)
        return float(t)

    if m:
        h0, h1 = hours(m.group(1)), hours(m.group(2))
        if 0 <= h0 <= 24 and 0 <= h1 <= 24 and h0 != h1:
            return h0, h1
    raise RelayInputError(f"lmst_window {excerpt(text)} is not an LMST window; expected two hours such as "
                          "13:00-15:30 or 13-15.5", source=source, where=where)


def check_unique_ids(reqs) -> None:
    seen: dict[str, Request] = {}
    for r in reqs:
        if r.id in seen:
            raise RelayInputError(f"request id {excerpt(r.id)} is used twice (also at {seen[r.id].where}); expected "
                                  "a unique id per request", source=r.source, where=r.where)
        seen[r.id] = r


# ---------------------------------------------------------------------------
# apply: operations -> Problem
# ---------------------------------------------------------------------------

VolumeFn = Callable[[str, float, float], float]


def _volume_fn(volume) -> VolumeFn | None:
    if volume is None:
        return None
    if hasattr(volume, "volume_mbit"):
        return lambda pid, a, b: float(volume.volume_mbit(int(str(pid).lstrip("P")), a, b))
    return lambda pid, a, b: float(volume(pid, a, b))


def _free_parts(s: float, e: float, blocks: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """[s, e) minus the union of ``blocks``."""
    out, t = [], s
    for a, b in sorted(blocks):
        if b <= t:
            continue
        if a > t:
            out.append((t, min(a, e)))
        t = max(t, b)
        if t >= e:
            break
    if t < e:
        out.append((t, e))
    return [(a, b) for a, b in out if b > a]


def _covers(intervals, s: float, e: float) -> bool:
    """Whether the union of ``intervals`` covers [s, e]."""
    return not _free_parts(s, e, [(a, b) for a, b in intervals])


def _iso(t: float) -> str:
    from .timescales import tdb_s_to_iso

    return tdb_s_to_iso(t)


def apply(problem, operations: Operations | None, *, volume=None, drop_covered_locks: bool = False,
          dropped: list | None = None):
    """The instance with ``operations`` applied (see the module docstring): options and chunks
    overlapping an outage of a resource they use, or a veto, removed or cut; locks made fixed
    options; requests added (a request whose id the problem already has replaces it); the
    outages and vetoes recorded.  Bad input raises :class:`RelayInputError` naming its row.

    A fixed (locked or frozen) session under a new outage or veto is an input error; with
    ``drop_covered_locks`` (the nightly job) it is removed instead, and ``(option, why)`` is
    appended to ``dropped`` (a list the caller passes) for each one."""
    from .planning.problem import OutageSpan, RelayRequest, SessionOption, VetoSpan

    ops = operations or Operations()
    P = problem
    vol = _volume_fn(volume)
    orbiters = {o.name for o in P.orbiters}
    assets = {a.name: a for a in P.assets}
    stations = {c.station for c in P.downlinks}
    passes = {p.pass_id: p for p in P.passes}
    outages = [_outage_span(o, orbiters, stations, set(assets), P) for o in ops.outages]
    vetoes = [_veto_span(v, orbiters, set(assets), passes, P) for v in ops.forbid]
    check_unique_ids(ops.requests)
    requests = [_request_span(r, orbiters, set(assets), P) for r in ops.requests]
    options = list(P.options)
    if ops.locks is not None and len(ops.locks):
        options = _with_locks(P, options, ops.locks, vol)
    # fixed (locked) sessions cannot move: an outage or veto over one is an input error, or (for
    # the nightly job, ``drop_covered_locks``) the session is dropped and listed in ``dropped``
    covered = covered_locks(options, ops, outages, vetoes)
    if covered and not drop_covered_locks:
        x, rec, why = covered[0]
        raise RelayInputError(why, source=rec.source, where=rec.where)
    gone = {id(x) for x, _, _ in covered}
    options = [x for x in options if id(x) not in gone]
    if dropped is not None:
        dropped.extend((x, why) for x, _, why in covered)
    for r, sp in zip(ops.requests, requests):
        if sp.priority == "required":
            _check_request_vetoes(r, sp, ops.forbid, vetoes)
    all_out = tuple(P.outages) + tuple(outages)
    all_veto = tuple(P.forbid) + tuple(vetoes)
    kept = []
    for x in options:
        y = x if x.fixed else _cut_option(P, x, all_out, all_veto, vol)
        if y is not None:
            kept.append(y)
    chunks = [c for c in (_cut_chunk(P, c, all_out) for c in P.downlinks) if c is not None]
    new_ids = {r.id for r in requests}
    all_req = tuple(r for r in P.requests if r.id not in new_ids) + tuple(requests)
    kept = _forward_twins(kept, all_req, SessionOption)
    kept.sort(key=lambda x: (x.start_tdb_s, x.orbiter, x.asset, x.option_id))
    out = dataclasses.replace(P, options=tuple(kept), downlinks=tuple(chunks), outages=all_out,
                              forbid=all_veto, requests=all_req)
    out.check("operations")
    return out


def covered_locks(options, ops: Operations, outages, vetoes) -> list[tuple]:
    """The fixed options an outage or veto of ``ops`` covers: ``(option, record, why)`` with
    the record (its source and row) and a sentence saying what covers which session."""
    out = []
    for x in options:
        if not x.fixed:
            continue
        for o, sp in zip(ops.outages, outages):
            if sp.blocks_session(x.orbiter, x.asset) and x.start_tdb_s < sp.end_tdb_s and sp.start_tdb_s < x.end_tdb_s:
                out.append((x, o, f"the outage of {o.target} ({o.what}) {_iso(o.start_tdb_s)} to {_iso(o.end_tdb_s)} "
                                  f"covers the locked session {x.orbiter} -> {x.asset} {_iso(x.start_tdb_s)} to "
                                  f"{_iso(x.end_tdb_s)}; expected no outage over a locked (fixed) session: unlock it "
                                  "or correct the outage"))
                break
        else:
            for v, sp in zip(ops.forbid, vetoes):
                if sp.forbids(x.pass_id, x.orbiter, x.asset, x.start_tdb_s, x.end_tdb_s):
                    out.append((x, v, f"the veto forbids the locked session {x.orbiter} -> {x.asset} "
                                      f"{_iso(x.start_tdb_s)} to {_iso(x.end_tdb_s)}; expected no veto over a locked "
                                      "(fixed) session"))
                    break
    return out


def _outage_span(o: Outage, orbiters, stations, assets, P):
    from .planning.problem import OutageSpan

    kind = o.kind
    if kind is None:
        kind = ("orbiter" if o.target in orbiters else "asset" if o.target in assets
                else "station" if o.target in stations else None)
        if kind is None:
            raise RelayInputError(f"target {excerpt(o.target)} is not an orbiter, station or asset of the plan; "
                                  f"expected one of {', '.join(sorted(orbiters | assets | stations))}",
                                  source=o.source, where=o.where)
    elif (kind == "orbiter" and o.target not in orbiters) or (kind == "asset" and o.target not in assets):
        raise RelayInputError(f"target {excerpt(o.target)} is not an {kind} of the plan", source=o.source,
                              where=o.where)
    if o.what not in WHATS:
        raise RelayInputError(f"what {excerpt(o.what)} is not one of 'uhf', 'xband', 'all'", source=o.source,
                              where=o.where)
    if o.orbiter is not None and o.orbiter not in orbiters:
        raise RelayInputError(f"orbiter {excerpt(o.orbiter)} is not in the plan; expected one of "
                              f"{', '.join(sorted(orbiters))}", source=o.source, where=o.where)
    _check_order(o.start_tdb_s, o.end_tdb_s, o.source, o.where)
    _check_horizon(o.start_tdb_s, o.end_tdb_s, P, o.source, o.where, "outage")
    return OutageSpan(o.target, kind, o.what, float(o.start_tdb_s), float(o.end_tdb_s), o.orbiter, o.note)


def _veto_span(v: Veto, orbiters, assets, passes, P):
    from .planning.problem import VetoSpan

    if v.orbiter is not None and v.orbiter not in orbiters:
        raise RelayInputError(f"orbiter {excerpt(v.orbiter)} is not in the plan; expected one of "
                              f"{', '.join(sorted(orbiters))}", source=v.source, where=v.where)
    if v.asset is not None and v.asset not in assets:
        raise RelayInputError(f"asset {excerpt(v.asset)} is not in the plan; expected one of "
                              f"{', '.join(sorted(assets))}", source=v.source, where=v.where)
    if v.pass_id is not None:
        if v.pass_id not in passes:
            raise RelayInputError(f"pass_id {excerpt(v.pass_id)} is not a pass of the plan; expected an id such as "
                                  f"{next(iter(passes), 'P00000')} (passes.csv)", source=v.source, where=v.where)
        return VetoSpan(pass_id=v.pass_id, note=v.note)
    if v.orbiter is None and v.asset is None:
        raise RelayInputError("a veto needs an orbiter and/or an asset with start and end, or a pass_id",
                              source=v.source, where=v.where)
    if v.start_tdb_s is None or v.end_tdb_s is None:
        raise RelayInputError("a veto by orbiter or asset needs both start and end", source=v.source, where=v.where)
    _check_order(v.start_tdb_s, v.end_tdb_s, v.source, v.where)
    _check_horizon(v.start_tdb_s, v.end_tdb_s, P, v.source, v.where, "veto")
    return VetoSpan(v.orbiter, v.asset, float(v.start_tdb_s), float(v.end_tdb_s), None, v.note)


def _request_span(r: Request, orbiters, assets, P):
    from .planning.problem import RelayRequest

    if r.asset not in assets:
        raise RelayInputError(f"asset {excerpt(r.asset)} is not in the plan; expected one of "
                              f"{', '.join(sorted(assets))}", source=r.source, where=r.where)
    if r.orbiter is not None and r.orbiter not in orbiters:
        raise RelayInputError(f"orbiter {excerpt(r.orbiter)} is not in the plan; expected one of "
                              f"{', '.join(sorted(orbiters))}", source=r.source, where=r.where)
    if r.kind not in KINDS or r.priority not in PRIORITIES:
        raise RelayInputError(f"kind {excerpt(r.kind)} / priority {excerpt(r.priority)}: expected kind 'return' or "
                              "'forward' and priority 'required' or 'preferred'", source=r.source, where=r.where)
    _check_order(r.start_tdb_s, r.end_tdb_s, r.source, r.where)
    _check_horizon(r.start_tdb_s, r.end_tdb_s, P, r.source, r.where, "request")
    return RelayRequest(r.id, r.asset, r.kind, float(r.start_tdb_s), float(r.end_tdb_s), r.priority, r.orbiter,
                        float(r.min_mbit), float(r.min_duration_s), float(r.points), 1, r.note)


def _check_horizon(s: float, e: float, P, source, where, what: str) -> None:
    if e <= P.start_tdb_s or s >= P.end_tdb_s:
        raise RelayInputError(f"the {what} {_iso(s)} to {_iso(e)} lies outside the horizon {_iso(P.start_tdb_s)} to "
                              f"{_iso(P.end_tdb_s)}; expected a span overlapping it", source=source, where=where)


def _check_request_vetoes(r: Request, sp, vetoes_in, vetoes) -> None:
    """A required request whose window the vetoes of its asset (or orbiter) cover wholly."""
    spans, who = [], []
    for v, vs in zip(vetoes_in, vetoes):
        if vs.pass_id is not None:
            continue
        pair_ok = (vs.asset in (None, sp.asset)) and (vs.orbiter is None or vs.orbiter == sp.orbiter)
        if pair_ok and (vs.asset is not None or vs.orbiter is not None):
            spans.append((vs.start_tdb_s, vs.end_tdb_s))
            who.append(v)
    if spans and _covers(spans, sp.start_tdb_s, sp.end_tdb_s):
        v = who[0]
        raise RelayInputError(
            f"the required request {r.id!r} ({r.asset}, {_iso(r.start_tdb_s)} to {_iso(r.end_tdb_s)}) lies wholly in "
            f"the span vetoed by {v.source}{', ' + v.where if v.where else ''}; expected a required request a plan "
            "may meet: lift the veto or make the request preferred", source=r.source, where=r.where)


def _largest_part(s: float, e: float, blocks, min_len: float) -> tuple[float, float] | None:
    """The longest part of [s, e) outside ``blocks`` (the earliest of equal ones), if it lasts
    at least ``min_len``."""
    parts = _free_parts(s, e, blocks)
    if not parts:
        return None
    a, b = max(parts, key=lambda p: (p[1] - p[0], -p[0]))
    return (a, b) if b - a >= min_len else None


def _cut_option(P, x, outages, vetoes, vol):
    """``x`` unchanged, cut to its largest usable part, or None (removed)."""
    blocks = []
    for v in vetoes:
        if v.pass_id is not None:
            if v.pass_id == x.pass_id:
                return None
        elif v.forbids(x.pass_id, x.orbiter, x.asset, x.start_tdb_s, x.end_tdb_s):
            blocks.append((v.start_tdb_s, v.end_tdb_s))
    for o in outages:
        if o.blocks_session(x.orbiter, x.asset) and x.start_tdb_s < o.end_tdb_s and o.start_tdb_s < x.end_tdb_s:
            blocks.append((o.start_tdb_s, o.end_tdb_s))
    if not blocks:
        return x
    part = _largest_part(x.start_tdb_s, x.end_tdb_s, blocks, P.min_session_s - 1e-6)
    if part is None:
        return None
    s, e = part
    cap = vol(x.pass_id, s, e) if vol is not None else x.capacity_mbit * (e - s) / x.duration_s
    cap = min(float(cap), x.capacity_mbit)
    unit = P.volume_unit_mbit
    need = max(unit, P.asset(x.asset).min_session_mbit) if x.kind == "return" else 0.0
    if cap < need - 1e-9 or cap <= 0:
        return None
    # a cut session is not the previous plan's session any more: no keep points
    return dataclasses.replace(x, start_tdb_s=float(s), end_tdb_s=float(e), capacity_mbit=cap, keep_points=0.0)


def _cut_chunk(P, c, outages):
    blocks = [(o.start_tdb_s, o.end_tdb_s) for o in outages if o.blocks_downlink(c.orbiter, c.station)
              and c.start_tdb_s < o.end_tdb_s and o.start_tdb_s < c.end_tdb_s]
    if not blocks:
        return c
    part = _largest_part(c.start_tdb_s, c.end_tdb_s, blocks, max(P.min_downlink_s, 1e-3))
    if part is None:
        return None
    s, e = part
    return dataclasses.replace(c, start_tdb_s=float(s), end_tdb_s=float(e),
                               capacity_mbit=c.capacity_mbit * (e - s) / (c.end_tdb_s - c.start_tdb_s))


def _forward_twins(options, requests, SessionOption):
    """Forward requests need forward options: a return option of the asset (and orbiter) lying in
    a forward request's window, long enough, without a forward twin, gets one (id + "f")."""
    fwd = [r for r in requests if r.kind == "forward"]
    if not fwd:
        return options
    have = {(x.pass_id, round(x.start_tdb_s, 3), round(x.end_tdb_s, 3)) for x in options if x.kind == "forward"}
    ids = {x.option_id for x in options}
    extra = []
    for x in options:
        if x.kind != "return" or x.fixed:
            continue
        key = (x.pass_id, round(x.start_tdb_s, 3), round(x.end_tdb_s, 3))
        if key in have:
            continue
        if any(r.asset == x.asset and r.orbiter in (None, x.orbiter) and r.start_tdb_s - TOL_S <= x.start_tdb_s
               and x.end_tdb_s <= r.end_tdb_s + TOL_S and x.duration_s >= r.min_duration_s - TOL_S for r in fwd):
            oid = x.option_id + "f"
            while oid in ids:
                oid += "f"
            ids.add(oid)
            have.add(key)
            extra.append(dataclasses.replace(x, option_id=oid, kind="forward", keep_points=0.0))
    return options + extra


def _with_locks(P, options, locks, vol):
    """Locked sessions (a fixed-sessions table) become fixed options of the pass that holds them
    most (that pass's other options go), kept exactly; one that overlaps no pass is an error."""
    from .planning.problem import SessionOption

    src, label = locks.attrs.get("source", "locks"), locks.attrs.get("label", "row")
    held: set[str] = set()
    for i, r in enumerate(locks.itertuples(index=False)):
        s, e = float(r.start_tdb_s), float(r.end_tdb_s)
        if e <= P.start_tdb_s or s >= P.end_tdb_s:
            continue
        where = f"{label} {getattr(r, 'line', i + 1)}"
        best, most = None, 0.0
        for w in P.passes:
            if w.orbiter == r.orbiter and w.asset == r.asset:
                ov = min(e, w.set_tdb_s) - max(s, w.rise_tdb_s)
                if ov > most:
                    best, most = w, ov
        if best is None:
            raise RelayInputError(f"the locked session {r.orbiter} -> {r.asset} {_iso(s)} to {_iso(e)} overlaps no "
                                  "pass of that pair in the plan", source=src, where=where)
        if best.pass_id in held:
            raise RelayInputError(f"the locked session {r.orbiter} -> {r.asset} {_iso(s)} to {_iso(e)} lies in pass "
                                  f"{best.pass_id} with another locked session; expected one per pass",
                                  source=src, where=where)
        held.add(best.pass_id)
        same = [x for x in options if x.pass_id == best.pass_id]
        s, e = max(s, P.start_tdb_s), min(e, P.end_tdb_s)
        vs, ve = max(s, best.rise_tdb_s), min(e, best.set_tdb_s)
        if vol is not None:
            cap = vol(best.pass_id, vs, ve) if ve > vs else 0.0
        else:   # pro rata of the pass's best option
            top = max(same, key=lambda x: x.capacity_mbit / x.duration_s, default=None)
            cap = top.capacity_mbit / top.duration_s * max(0.0, ve - vs) if top is not None else 0.0
        kind = str(getattr(r, "kind", "return") or "return")
        score = max((x.elevation_score for x in same), default=0.0)
        options = [x for x in options if x.pass_id != best.pass_id]
        options.append(SessionOption(option_id=f"{best.pass_id}#fixed", pass_id=best.pass_id, orbiter=best.orbiter,
                                     asset=best.asset, start_tdb_s=s, end_tdb_s=e, capacity_mbit=float(cap),
                                     kind=kind, elevation_score=score, fixed=True))
    return options


# ---------------------------------------------------------------------------
# request status of a plan (for requests.csv and the report)
# ---------------------------------------------------------------------------

def request_status(problem, sessions) -> list[dict]:
    """Each request of ``problem`` with the sessions that meet it (by the rule of problem.py,
    "A request is met"): ``id, asset, orbiter, kind, priority, start_tdb_s, end_tdb_s, met,
    sessions`` (option ids, ';'-joined) and ``points``.  ``sessions``: the plan's Session records
    or rows with ``option_id, orbiter, asset, kind, start_tdb_s, end_tdb_s, volume_mbit``."""
    rows = []
    ss = list(sessions.itertuples(index=False)) if hasattr(sessions, "itertuples") else list(sessions)
    for r in problem.requests:
        hits = [s for s in ss if request_met_by(r, s)]
        met = len(hits) >= r.count
        rows.append({"id": r.id, "asset": r.asset, "orbiter": r.orbiter or "", "kind": r.kind,
                     "priority": r.priority, "start_tdb_s": r.start_tdb_s, "end_tdb_s": r.end_tdb_s,
                     "met": met, "sessions": ";".join(str(s.option_id) for s in hits),
                     "points": r.points if met and r.priority == "preferred" else 0.0, "note": r.note})
    return rows


def request_met_by(r, s, tol_s: float = TOL_S, tol_mbit: float = 1e-6) -> bool:
    """Whether session ``s`` meets request ``r`` (problem.py, "A request is met")."""
    return (s.asset == r.asset and (r.orbiter is None or s.orbiter == r.orbiter)
            and (r.kind == "return" or s.kind == "forward")
            and float(s.start_tdb_s) >= r.start_tdb_s - tol_s and float(s.end_tdb_s) <= r.end_tdb_s + tol_s
            and float(s.end_tdb_s) - float(s.start_tdb_s) >= r.min_duration_s - tol_s
            and float(s.volume_mbit) >= r.min_mbit - tol_mbit)


__all__ = ["Outage", "Veto", "Request", "Operations", "OutageConfig", "ForbidConfig", "RequestConfig", "merge",
           "apply", "covered_locks", "operations_from_scenario", "scenario_names", "outage_record", "veto_record",
           "request_record", "sol_window", "parse_lmst_window", "request_status", "request_met_by"]
