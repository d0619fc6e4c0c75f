"""The planning pipeline as typed stages.

    scenario -> Span -> Geometry -> Volumes -> DownlinkWindows -> Problem
             -> solved and validated Plan -> PlanResult (tables, PlanSummary) -> files

Each stage function takes and returns frozen dataclasses (or the planning
package's own records).  This module is the one place where a Scenario is
adapted to the stages: the ephemerides are built once per plan and shared by
the pass search and the station tracks; the user's operational inputs
(fixed and previous sessions, backlogs, bookings, a frozen period) travel as
one :class:`PlanInputs`.  :func:`run` chains the stages and times each one
under the names of :data:`relay.summary.PLAN_STAGES`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from . import geocache
from .config import Scenario, scenario_hash
from .geometry.earth import earth_mars, stations_of
from .geostage import Span, pass_columns, span_of
from .geometry.tracks import TRACK_COLUMNS, TRACK_PROFILE_COLUMNS, TrackSet, find_tracks
from .ids import LabelledVolumes
from .inputs import (bookings_path, check_landings, read_backlogs, read_forbid, read_outages, read_requests,
                     read_sessions_table)
from .links.stations import track_capacities
from .links.volumes import pass_volumes
from .orbits import ephemerides_of
from .operations import Operations, merge, operations_from_scenario, scenario_names
from .timescales import parse_utc, utc_to_tdb_s


# ---------------------------------------------------------------------------
# stage records
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Geometry:
    """The geometry stage: passes over the assets, station tracks, Earth-Mars geometry."""

    span: Span
    passes: Any          # relay.geometry.PassSet
    tracks: Any          # relay.geometry.TrackSet
    earth_mars: pd.DataFrame


@dataclass(frozen=True)
class Volumes:
    """The UHF link stage: every pass with its volume columns, and sub-window volumes."""

    passes: pd.DataFrame  # geometry columns + relay.links.PASS_VOLUME_COLUMNS
    table: Any            # relay.links.VolumeTable: (pass_id, t0, t1) -> Mbit


@dataclass(frozen=True)
class DownlinkWindows:
    """The X-band stage: the downlink windows a planner may use, with their capacities."""

    windows: pd.DataFrame  # relay.links.track_capacities downlinks


@dataclass(frozen=True)
class PlanInputs:
    """The operational inputs of one plan, already read and checked."""

    fixed: pd.DataFrame | None = None      # committed sessions, kept exactly
    previous: pd.DataFrame | None = None   # an earlier plan's schedule, preferred
    backlogs: dict | None = None           # asset -> backlog at the start (Mbit)
    bookings: Any = None                   # station bookings (path or DataFrame); None: scenario's
    change_penalty_mbit: float = 0.0
    frozen_until_tdb_s: float | None = None
    operations: Any = None                 # relay.operations.Operations: outages, vetoes, requests
    # the nightly job: a fixed (frozen) session a new outage or veto covers is dropped, not an error;
    # problem_of appends (option, why) of each to dropped_locks
    drop_covered_locks: bool = False
    dropped_locks: list = field(default_factory=list, compare=False)


# ---------------------------------------------------------------------------
# stages
# ---------------------------------------------------------------------------

def find_pass_set(scenario: Scenario, span: Span, ephemerides: dict | None = None):
    """The passes of every orbiter over every asset (a :class:`relay.geometry.PassSet`): the
    columns of :func:`relay.geostage.pass_columns` as DataFrames."""
    return pass_columns(scenario, span, ephemerides).pass_set()


def find_track_set(scenario: Scenario, span: Span, ephemerides: dict | None = None):
    """Ground-station tracks of every orbiter (a :class:`relay.geometry.TrackSet`)."""
    if not scenario.stations:
        return TrackSet(pd.DataFrame(columns=TRACK_COLUMNS), pd.DataFrame(columns=TRACK_PROFILE_COLUMNS),
                        span.start_tdb_s, span.end_tdb_s)
    ephs = ephemerides_of(scenario) if ephemerides is None else ephemerides
    return find_tracks(ephs, stations_of(scenario), span.start_tdb_s, span.end_tdb_s,
                       profile_step_s=scenario.geometry.track_profile_step_s)


def geometry(scenario: Scenario, span: Span, mark=None) -> Geometry:
    """The geometry stage; the ephemerides are built once for passes and tracks."""
    mark = mark or (lambda name: None)
    ephs = ephemerides_of(scenario)
    t0, t1 = span.start_tdb_s, span.end_tdb_s  # an active geometry cache shares these between runs
    passes = geocache.get("passes", scenario, t0, t1, lambda: find_pass_set(scenario, span, ephs))
    mark("geometry")
    tracks = geocache.get("tracks", scenario, t0, t1, lambda: find_track_set(scenario, span, ephs))
    em = earth_mars(span.start_tdb_s, span.end_tdb_s, 3600.0, scenario.geometry.conjunction_deg)
    mark("tracks")
    return Geometry(span, passes, tracks, em)


def volumes(scenario: Scenario, geo: Geometry) -> Volumes:
    """The UHF link stage: the volume of every pass and of any part of it."""
    pv, _, table = pass_volumes(scenario, geo.passes.passes, geo.passes.profiles, with_rate_profiles=False)
    return Volumes(pv, table)


def downlink_windows(scenario: Scenario, geo: Geometry, bookings=None) -> DownlinkWindows:
    """The X-band stage: the usable downlink windows (``bookings`` None: the scenario's own)."""
    book = bookings if bookings is not None else bookings_path(scenario)
    _, windows, _ = track_capacities(scenario, geo.tracks.tracks, geo.tracks.profiles, bookings=book)
    return DownlinkWindows(windows)


def problem_of(scenario: Scenario, geo: Geometry, vol: Volumes, dl: DownlinkWindows, inputs: PlanInputs,
               warnings: list | None = None, originals: dict | None = None):
    """The Problem stage: the planning instance (see :mod:`relay.planning.build`).  An outage,
    veto or lock that changes nothing adds a sentence to ``warnings`` (a list the caller passes)."""
    from .planning.apply import apply  # lazy: planner records, 0.04-0.05 s of import (load 5) relay passes never needs
    from .planning.build import Inputs, build_problem  # lazy: as above (the instance builder)

    stage = Inputs(passes=vol.passes, volume_table=vol.table, downlinks=dl.windows, earth_mars=geo.earth_mars)
    problem = build_problem(scenario, geo.span.start_tdb_s, geo.span.end_tdb_s, stage,
                            fixed_sessions=inputs.fixed, backlogs=inputs.backlogs,
                            previous_sessions=inputs.previous, change_penalty_mbit=inputs.change_penalty_mbit,
                            frozen_until_tdb_s=inputs.frozen_until_tdb_s)
    if inputs.operations:
        # outages and vetoes remove or cut options and chunks; requests join the requirements
        problem = apply(problem, inputs.operations, volume=LabelledVolumes.of(vol.table, vol.passes),
                        drop_covered_locks=inputs.drop_covered_locks,
                        dropped=inputs.dropped_locks, warnings=warnings, originals=originals)
    return problem


def read_inputs(scenario: Scenario, span: Span, *, fixed_sessions=None, previous_sessions=None,
                backlogs=None, bookings=None, change_penalty_mbit=None, frozen_until=None,
                outages=None, requests=None, forbid=None) -> PlanInputs:
    """Read and check the operational inputs of a plan (paths or DataFrames); ``outages``,
    ``requests`` and ``forbid`` (CSV paths or DataFrames) join the scenario's own lists."""
    check_landings(scenario, span.start_tdb_s, span.end_tdb_s)
    names = {"orbiters": [o.name for o in scenario.orbiters], "assets": [a.name for a in scenario.assets]}
    fixed = read_sessions_table(fixed_sessions, **names) if fixed_sessions is not None else None
    previous = read_sessions_table(previous_sessions, "previous sessions", **names) \
        if previous_sessions is not None else None
    blog = read_backlogs(backlogs, span.start_tdb_s, names["assets"]) if backlogs is not None else None
    penalty = scenario.planning.change_penalty_mbit if change_penalty_mbit is None else float(change_penalty_mbit)
    frozen = utc_to_tdb_s(parse_utc(frozen_until, where="frozen_until")) if frozen_until is not None else None
    known = scenario_names(scenario)
    given = Operations(
        outages=read_outages(outages, **known) if outages is not None else (),
        forbid=read_forbid(forbid, orbiters=known["orbiters"], assets=known["assets"]) if forbid is not None else (),
        requests=read_requests(requests, assets=known["assets"], orbiters=known["orbiters"])
        if requests is not None else ())
    ops = merge(operations_from_scenario(scenario), given)
    return PlanInputs(fixed=fixed, previous=previous, backlogs=blog, bookings=bookings,
                      change_penalty_mbit=penalty, frozen_until_tdb_s=frozen, operations=ops)


class StageTimer:
    """Wall-clock seconds per stage, under the names of :data:`relay.summary.PLAN_STAGES`."""

    def __init__(self):
        self.timings: dict[str, float] = {}
        self._last = time.perf_counter()

    def __call__(self, name: str) -> None:
        from .summary import PLAN_STAGES  # lazy: the summary's records, 0.01 s of import relay passes never needs

        if name not in PLAN_STAGES:
            raise ValueError(f"unknown stage {name!r}; the stages are {', '.join(PLAN_STAGES)}")
        now = time.perf_counter()
        self.timings[name] = round(now - self._last, 3)
        self._last = now


def run(scenario: Scenario, span: Span, inputs: PlanInputs, settings, *, save_problem=None):
    """The whole pipeline from a checked scenario to a :class:`relay.result.PlanResult`."""
    from .planning.solve import solve  # lazy: OR-Tools, 0.1-0.25 s relay passes never needs
    from .planstate import ReplanState  # lazy: with the planner's records, 0.04-0.05 s relay passes never needs
    from .result import result_from_plan  # lazy: tables, explanations, report: 0.03-0.04 s relay passes never needs

    mark = StageTimer()
    geo = geometry(scenario, span, mark)
    vol = volumes(scenario, geo)
    mark("volumes")
    dl = downlink_windows(scenario, geo, inputs.bookings)
    mark("downlinks")
    unmatched: list[str] = []
    originals: dict = {}   # what the operations cut or removed, so that a re-plan can lift them
    problem = problem_of(scenario, geo, vol, dl, inputs, unmatched, originals)
    if save_problem is not None:
        problem.to_json(save_problem)
    mark("problem")
    raw = solve(problem, settings)
    mark("solve")
    # what `relay replan` / PlanResult.replan need (volumes.npz)

    state = ReplanState(vol.table, vol.passes, geo.earth_mars, settings,
                        tuple(s.name for s in scenario.stations or ()), inputs.frozen_until_tdb_s)
    if any(originals.values()) or problem.outages or problem.forbid:
        # the outages and vetoes this plan applied, with what they cut: a re-plan can lift them
        originals["applied"] = [*problem.outages, *problem.forbid]
        state = state.with_originals(originals)
    result = result_from_plan(problem, raw, passes=vol.passes, earth_mars=geo.earth_mars,
                              frozen_until_tdb_s=inputs.frozen_until_tdb_s, state=state)
    changes = changes_vs(inputs.previous, result.sessions, span) if inputs.previous is not None else None
    mark("tables")
    result.summary = result.summary.replace(
        scenario=scenario.name, scenario_hash=scenario_hash(scenario), start=span.start_iso, end=span.end_iso,
        days=span.days, changes_vs_previous=changes, timings_s=dict(mark.timings),
        warnings=tuple(unmatched) + result.summary.warnings)
    result.timings = dict(mark.timings)
    return result


# ---------------------------------------------------------------------------
# figures of a solved plan
# ---------------------------------------------------------------------------

def changes_vs(previous: pd.DataFrame, sessions: pd.DataFrame, span: Span) -> Changes:
    """Sessions of the previous plan (inside this horizon) kept exactly, moved or dropped."""
    from .summary import Changes  # lazy: the summary's records, 0.01 s of import relay passes never needs

    t0, t1 = span.start_tdb_s, span.end_tdb_s
    prev = previous[(previous["end_tdb_s"] > t0) & (previous["start_tdb_s"] < t1)]
    near = _overlapping_sessions(sessions)
    kept = moved = 0
    for r in prev.itertuples(index=False):
        starts, ends = near(r.orbiter, r.asset, r.start_tdb_s, r.end_tdb_s)
        if not len(starts):
            continue
        if np.abs(starts - r.start_tdb_s).min() < 1e-3 and np.abs(ends - r.end_tdb_s).min() < 1e-3:
            kept += 1
        else:
            moved += 1
    return Changes(previous=int(len(prev)), kept=kept, moved=moved, dropped=int(len(prev)) - kept - moved)


def _overlapping_sessions(sessions: pd.DataFrame):
    """``near(orbiter, asset, s, e)``: the starts and ends of the pair's sessions overlapping (s, e),
    found by bisection on the pair's starts (sorted) within the pair's longest session."""
    pairs = {}
    for (o, a), g in sessions.groupby(["orbiter", "asset"], sort=False):
        st = g["start_tdb_s"].to_numpy(dtype=float)
        en = g["end_tdb_s"].to_numpy(dtype=float)
        order = np.argsort(st, kind="stable")
        st, en = st[order], en[order]
        pairs[(o, a)] = (st, en, float(np.max(en - st)) + 1.0 if len(st) else 0.0)

    def near(orbiter, asset, s, e):
        st, en, longest = pairs.get((orbiter, asset), (np.zeros(0), np.zeros(0), 0.0))
        lo, hi = np.searchsorted(st, s - longest, "left"), np.searchsorted(st, e, "left")
        st, en = st[lo:hi], en[lo:hi]
        keep = (st < e) & (en > s)
        return st[keep], en[keep]
    return near


__all__ = ["Span", "Geometry", "Volumes", "DownlinkWindows", "PlanInputs", "span_of", "find_pass_set",
           "find_track_set", "geometry", "volumes", "downlink_windows", "problem_of", "read_inputs", "run",
           "StageTimer", "changes_vs"]
