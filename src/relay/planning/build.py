"""Build the planning :class:`~relay.planning.problem.Problem` from a scenario.

This is the "Problem" stage of the pipeline: it takes the geometry (passes,
station tracks, Earth-Mars geometry), the link model (sub-window volumes,
downlink capacities) and the scenario's operating settings, and turns local
solar times into absolute intervals.  Everything the solvers see is in the
returned Problem; nothing here solves anything.

Rules stated here once:

* Session options are the whole pass plus split options where two assets see
  one orbiter at once (:func:`relay.planning.options.session_options`).
* ``min_session_s`` is the smallest and ``turnaround_s`` the largest of the
  assets' settings (the Problem has one of each).
* Forward-link requirements: every local sol of the asset whose LMST window
  lies wholly inside the horizon (a window cut by the horizon's start or end
  belongs to the neighbouring plan), at least ``sessions_per_sol`` sessions of at least
  ``min_duration_s`` (or the link model's command-session minimum, whichever is
  longer).  During solar conjunction there is no commanding: requirements of
  sols whose window falls in a conjunction interval are not made, and the plan
  says so (``conjunction``).
* Decisional data: each sol's LMST window; the deadline is the first time at
  ``deadline_utc_hour`` (UTC) or ``deadline_lmst_hour`` (the asset's LMST)
  after the window ends; sols whose window starts before the horizon or whose
  deadline falls after it are left to the neighbouring plans.
* Fixed sessions (committed, from a CSV or a DataFrame ``orbiter, asset,
  start, end[, kind]``) become fixed options of the pass that overlaps them most,
  kept exactly as committed (they are already uplinked) even where an updated
  orbit moved the window a little; their volume is what the part inside the
  predicted window carries, and the plan notes the overhang.  A fixed session
  that overlaps no pass of its pair is an input error naming its row.
* A frozen period (``frozen_until``): no option starts in it but the fixed ones.
* Outages, vetoes, relay requests and locks (issue 11) are applied to the built
  Problem afterwards, by :func:`relay.operations.apply` (``pipeline.problem_of``),
  which ``relay replan`` also uses on a saved instance.
* Planning at a confidence (issue 22, :func:`problem_at_confidence`): with ``link.calibration``
  every option's capacity is the ``planning.volume_quantile`` quantile of its calibrated
  volume; ``assets[].operations.min_sol_mbit`` becomes a guaranteed minimum of each sol
  wholly inside the horizon.
* Station time under the daily cap (issue 19): where the link model offers station windows
  (source ``"station window"``, :mod:`relay.links.stations`), each orbiter's
  ``xband.max_hours_per_day`` becomes its ``downlink_hours_per_day`` and the model chooses
  the pieces to use; with bookings (or the first-come rule) the station time is given.
* Previous sessions (an earlier plan's schedule) earn ``change_penalty_mbit``
  x ``delivered_per_mbit`` points when held again unchanged, so dropping or
  moving one costs that much; one that no option reproduces becomes an option.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Callable

import numpy as np
import pandas as pd

from ..config_links import XBandSpec
from ..links.calibration import Calibration, quantile_factor, read_calibration
from ..links.stations import OFFERED
from ..errors import RelayInputError
from ..ids import pass_labels
from ..inputs import read_sessions_table
from ..sols import clock_of
from ..timescales import SOL_S, lmst_hours, tdb_s_to_datetime, utc_to_tdb_s
from .options import chunk_downlinks, session_options
from .problem import (Asset, Confidence, DecisionalRequirement, ForwardRequirement, OptionSpread, Orbiter,
                      PassWindow, Problem, SessionOption, SolGuarantee, generation_steps, lmst_intervals,
                      objective_from_settings, sol_spans)


@dataclass
class Inputs:
    """The stage outputs a Problem is built from (kept for the plan's report and tables)."""

    passes: pd.DataFrame          # geometry + volume columns (relay.links.pass_volumes)
    volume_table: Any             # relay.links.VolumeTable (pass_id, t0, t1) -> Mbit
    downlinks: pd.DataFrame       # relay.links.track_capacities downlinks
    earth_mars: pd.DataFrame      # relay.geometry.earth_mars


def conjunction_intervals(earth_mars: pd.DataFrame) -> tuple[tuple[float, float], ...]:
    """Contiguous intervals in which the conjunction flag is set (grid resolution)."""
    if earth_mars is None or not len(earth_mars):
        return ()
    flag = earth_mars["conjunction"].to_numpy(dtype=bool)
    t = earth_mars["tdb_s"].to_numpy(dtype=float)
    out = []
    k = 0
    while k < flag.size:
        if flag[k]:
            j = k
            while j + 1 < flag.size and flag[j + 1]:
                j += 1
            out.append((float(t[k]), float(t[min(j + 1, t.size - 1)])))
            k = j + 1
        else:
            k += 1
    return tuple(out)


def _overlaps(intervals, s, e) -> bool:
    return any(a < e and s < b for a, b in intervals)


def _host(windows, orbiter, asset, s, e):
    """The pass of (orbiter, asset) that overlaps [s, e) the most, or None."""
    best, most = None, 0.0
    for w in windows:
        if w.orbiter == orbiter and w.asset == asset:
            ov = min(e, w.set_tdb_s) - max(s, w.rise_tdb_s)
            if ov > most:
                best, most = w, ov
    return best


def hosts(windows) -> Callable[[str, str, float, float], Any]:
    """``host(orbiter, asset, s, e)``: :func:`_host` of ``windows``, looking only at the pair's windows
    that may overlap [s, e) (found by bisection on their rises when they are in rise order)."""
    by_pair: dict[tuple[str, str], list] = {}
    for w in windows:
        by_pair.setdefault((w.orbiter, w.asset), []).append(w)
    index: dict[tuple[str, str], tuple[list[float], float] | None] = {}
    for pair, ws in by_pair.items():
        rises = [w.rise_tdb_s for w in ws]
        ordered = all(a <= b for a, b in zip(rises, rises[1:]))
        index[pair] = (rises, max(w.set_tdb_s - w.rise_tdb_s for w in ws) + 1.0) if ordered else None

    def host(orbiter, asset, s, e):
        ws = by_pair.get((orbiter, asset), [])
        ix = index.get((orbiter, asset))
        if ix is not None:  # the windows rising before e and after s less the longest window
            rises, longest = ix
            ws = ws[bisect_left(rises, s - longest):bisect_left(rises, e)]
        return _host(ws, orbiter, asset, s, e)
    return host


def _deadline(window_end: float, asset_lon: float, dd) -> float:
    if dd.deadline_utc_hour is not None:
        end_utc = tdb_s_to_datetime(window_end)
        midnight = end_utc.replace(hour=0, minute=0, second=0, microsecond=0)
        t = midnight + timedelta(hours=dd.deadline_utc_hour)
        while t <= end_utc:
            t += timedelta(days=1)
        return float(utc_to_tdb_s(t))
    lm = float(lmst_hours(window_end, asset_lon))
    dh = (dd.deadline_lmst_hour - lm) % 24.0 or 24.0
    return float(window_end + dh / 24.0 * SOL_S)


@dataclass(frozen=True)
class PassContext:
    """What the option builders need of one horizon's passes."""

    start_tdb_s: float
    end_tdb_s: float
    windows: list[PassWindow]
    volume: Callable[..., Any]     # volume(pass_id, t0, t1) -> Mbit (t0, t1 may be arrays)
    max_el: dict[str, float]       # pass id -> max elevation, deg
    min_session_s: float
    turnaround_s: float


def build_problem(scenario, start_tdb_s: float, end_tdb_s: float, inputs: Inputs, *,
                  fixed_sessions: pd.DataFrame | None = None,
                  backlogs: dict[str, float] | None = None,
                  previous_sessions: pd.DataFrame | None = None,
                  change_penalty_mbit: float = 0.0,
                  frozen_until_tdb_s: float | None = None) -> Problem:
    """The Problem of one planning horizon (see the module docstring for the rules)."""
    ps = scenario.planning
    conj = conjunction_intervals(inputs.earth_mars)
    ctx = pass_context(scenario, start_tdb_s, end_tdb_s, inputs)
    forward_assets = {a.name for a in scenario.assets if a.operations.forward_link is not None}
    options = session_options(ctx.windows, ctx.volume, min_session_s=ctx.min_session_s,
                              turnaround_s=ctx.turnaround_s,
                              elevation_score={k: v / 90.0 for k, v in ctx.max_el.items()},
                              forward_assets=forward_assets, split=ps.split_passes, vectorised=True,
                              batched=True)
    if conj:
        # no commanded (forward) sessions during solar conjunction
        options = [o for o in options if not (o.kind == "forward" and _overlaps(conj, o.start_tdb_s, o.end_tdb_s))]
    options, fixed_passes = _with_fixed_sessions(ctx, options, fixed_sessions)
    if previous_sessions is not None and len(previous_sessions) and change_penalty_mbit > 0:
        points = float(change_penalty_mbit) * float(ps.weights.delivered_per_mbit)
        options = _with_previous_sessions(ctx, options, previous_sessions, fixed_passes, points)
    if frozen_until_tdb_s is not None:
        # a frozen period: its sessions are the committed (fixed) ones and no others
        options = [o for o in options if o.fixed or o.start_tdb_s >= frozen_until_tdb_s]
    options = sorted(options, key=lambda x: (x.start_tdb_s, x.orbiter, x.asset, x.option_id))
    assets = tuple(_asset(a, start_tdb_s, end_tdb_s, backlogs) for a in scenario.assets)
    fwd = [r for a in scenario.assets for r in _forward_requirements(a, start_tdb_s, end_tdb_s, inputs.passes, conj)]
    dec = [r for a in scenario.assets for r in _decisional_requirements(a, start_tdb_s, end_tdb_s)]
    chosen = "source" in inputs.downlinks.columns and bool((inputs.downlinks["source"] == OFFERED).any())
    orbiters = tuple(Orbiter(o.name, o.storage.capacity_mbit, o.storage.initial_fill_mbit,
                             o.storage.initial_fill_weight,
                             downlink_hours_per_day=daily_downlink_hours(o) if chosen else None)
                     for o in scenario.orbiters)
    return at_confidence(scenario, Problem(
        start_tdb_s=float(start_tdb_s), end_tdb_s=float(end_tdb_s), orbiters=orbiters, assets=assets,
        passes=tuple(ctx.windows), options=tuple(_useful_forward_options(options, fwd)),
        downlinks=tuple(downlink_chunks(inputs.downlinks, ps)),
        forward_requirements=tuple(fwd), decisional_requirements=tuple(dec), conjunction=conj,
        min_session_s=float(ctx.min_session_s), turnaround_s=float(ctx.turnaround_s),
        min_downlink_s=float(ps.min_downlink_s), volume_unit_mbit=float(ps.volume_unit_mbit),
        objective=objective_from_settings(ps.weights), name=scenario.name))


def daily_downlink_hours(orbiter) -> float:
    """The station time a scenario orbiter may use per UTC day, h (its X-band's ``max_hours_per_day``)."""
    return float((getattr(orbiter, "xband", None) or XBandSpec()).max_hours_per_day)


def pass_context(scenario, start_tdb_s: float, end_tdb_s: float, inputs: Inputs) -> PassContext:
    """The passes of the horizon as PassWindows, their volume query and the session limits
    (the smallest ``min_session_s`` and the largest ``turnaround_s`` of the assets)."""
    passes = inputs.passes
    ops = [a.operations for a in scenario.assets]
    labels = pass_labels(passes)  # the stable ids (relay.ids); the table is numbered by the integer ids
    windows = [PassWindow(k, r.orbiter, r.asset, float(r.rise_tdb_s), float(r.set_tdb_s))
               for k, r in zip(labels, passes.itertuples(index=False))]
    by_pid = dict(zip(labels, (int(p) for p in passes["pass_id"])))
    table = inputs.volume_table

    def volume(pid, t0, t1):
        """Mbit of the sub-window [t0, t1] of a pass (t0, t1 may be arrays; so may ``pid``, an array
        of pass ids broadcast against them)."""
        if isinstance(pid, np.ndarray):
            ids = np.fromiter((by_pid[k] for k in pid.ravel()), dtype=np.int64, count=pid.size)
            return table.volume_mbit(ids.reshape(pid.shape), t0, t1)
        return table.volume_mbit(by_pid[pid], t0, t1)

    max_el = dict(zip(labels, passes["max_elevation_deg"].astype(float)))
    return PassContext(float(start_tdb_s), float(end_tdb_s), windows, volume, max_el,
                       min(o.min_session_s for o in ops), max(o.turnaround_s for o in ops))


def _with_fixed_sessions(ctx: PassContext, options: list[SessionOption], fixed) -> tuple[list[SessionOption], set]:
    """Committed sessions become fixed options of the pass that holds them (its other options go);
    returns the options and the passes they hold."""
    if fixed is not None and not (isinstance(fixed, pd.DataFrame) and "start_tdb_s" in fixed.columns):
        fixed = read_sessions_table(fixed)
    fixed_passes: set[str] = set()
    if fixed is None or not len(fixed):
        return options, fixed_passes
    keep = []
    src, label = fixed.attrs.get("source", "fixed sessions"), fixed.attrs.get("label", "row")
    held: dict[str, Any] = {}
    host = hosts(ctx.windows)
    for i, r in enumerate(fixed.itertuples(index=False)):
        s, e = float(r.start_tdb_s), float(r.end_tdb_s)
        if e <= ctx.start_tdb_s or s >= ctx.end_tdb_s:
            continue  # outside this horizon
        w = host(r.orbiter, r.asset, s, e)
        where = f"{label} {getattr(r, 'line', i + 1)}"
        if w is None:
            raise RelayInputError(
                f"the committed session {r.orbiter} -> {r.asset} {r.start} to {r.end} overlaps no "
                "visibility window of that pair over this horizon (check the orbit inputs or the row)",
                source=src, where=where)
        if w.pass_id in held:
            raise RelayInputError(
                f"the committed session {r.orbiter} -> {r.asset} {r.start} to {r.end} lies in the same pass "
                f"{w.pass_id} as the session of {label} {getattr(held[w.pass_id], 'line', '?')}; expected "
                "at most one session per pass (a session is one contiguous interval)", source=src, where=where)
        held[w.pass_id] = r
        # kept exactly as committed (it is already uplinked); its volume is what the part
        # inside the predicted window carries
        s, e = max(s, ctx.start_tdb_s), min(e, ctx.end_tdb_s)
        vs, ve = max(s, w.rise_tdb_s), min(e, w.set_tdb_s)
        fixed_passes.add(w.pass_id)  # the pass's other options go (below)
        keep.append(SessionOption(option_id=f"{w.pass_id}#fixed", pass_id=w.pass_id, orbiter=w.orbiter,
                                  asset=w.asset, start_tdb_s=s, end_tdb_s=e,
                                  capacity_mbit=ctx.volume(w.pass_id, vs, ve) if ve > vs else 0.0,
                                  kind=str(r.kind), elevation_score=ctx.max_el[w.pass_id] / 90.0, fixed=True))
    return [o for o in options if o.pass_id not in fixed_passes] + keep, fixed_passes


def _with_previous_sessions(ctx: PassContext, options: list[SessionOption], prev, fixed_passes: set,
                            points: float) -> list[SessionOption]:
    """A previous plan: holding one of its sessions again earns ``points`` (so dropping or moving
    it costs that much); a session no option reproduces becomes an option of its own."""
    options = list(options)
    if "start_tdb_s" not in prev.columns:
        prev = read_sessions_table(prev, "previous sessions")
    by_id = {o.option_id: k for k, o in enumerate(options)}
    by_pass: dict[str, list[int]] = {}   # the options of each pass, in order
    for k, o in enumerate(options):
        by_pass.setdefault(o.pass_id, []).append(k)
    host = hosts(ctx.windows)
    for r in prev.itertuples(index=False):
        s, e = float(r.start_tdb_s), float(r.end_tdb_s)
        if s < ctx.start_tdb_s or e > ctx.end_tdb_s:
            continue
        w = host(r.orbiter, r.asset, s, e)
        if w is None or w.pass_id in fixed_passes:
            continue
        kind = str(getattr(r, "kind", "return") or "return")
        s, e = max(s, w.rise_tdb_s), min(e, w.set_tdb_s)
        match = [k for k in by_pass.get(w.pass_id, ()) if options[k].kind == kind
                 and abs(options[k].start_tdb_s - s) < 1e-3 and abs(options[k].end_tdb_s - e) < 1e-3]
        if match:
            k = match[0]
            options[k] = replace(options[k], keep_points=points)
        elif e - s >= ctx.min_session_s:
            oid = f"{w.pass_id}#prev"
            if oid in by_id:
                continue
            by_id[oid] = len(options)
            by_pass.setdefault(w.pass_id, []).append(len(options))
            options.append(SessionOption(option_id=oid, pass_id=w.pass_id, orbiter=w.orbiter, asset=w.asset,
                                         start_tdb_s=s, end_tdb_s=e, capacity_mbit=ctx.volume(w.pass_id, s, e),
                                         kind=kind, elevation_score=ctx.max_el[w.pass_id] / 90.0,
                                         keep_points=points))
    return options


def _asset(a, start_tdb_s: float, end_tdb_s: float, backlogs: dict[str, float] | None) -> Asset:
    """The problem's record of a scenario asset (wake windows and sols as absolute intervals)."""
    lon, o = a.longitude_deg, a.operations
    wake = None
    if o.wake_windows_lmst:
        ivs = sorted((s, e) for w in o.wake_windows_lmst
                     for _, s, e in lmst_intervals(start_tdb_s, end_tdb_s, lon, w[0], w[1]))
        wake = tuple((float(s), float(e)) for s, e in ivs)
    backlog = a.data.backlog_mbit if not backlogs or a.name not in backlogs else float(backlogs[a.name])
    return Asset(
        name=a.name, priority_weight=a.data.priority_weight, backlog_mbit=backlog,
        generation=generation_steps(start_tdb_s, end_tdb_s, a.data.generation_mbit_per_sol,
                                    a.data.generation_step_h * 3600.0),
        sols=sol_spans(start_tdb_s, end_tdb_s, lon),
        max_sessions_per_sol=o.max_sessions_per_sol,
        energy_wh_per_min=o.energy_wh_per_uhf_min, energy_wh_per_sol=o.energy_wh_per_sol,
        wake_windows=wake, min_session_mbit=float(o.min_session_mbit),
        east_longitude_deg=float(lon), mission_sol_offset=clock_of(lon, a.landing).sol_offset)


def _forward_requirements(a, start_tdb_s: float, end_tdb_s: float, passes: pd.DataFrame,
                          conj) -> list[ForwardRequirement]:
    o = a.operations
    if o.forward_link is None or o.forward_link.sessions_per_sol <= 0:
        return []
    fl = o.forward_link
    cmd_min = passes.loc[passes["asset"] == a.name, "forward_min_duration_s"]
    min_dur = max(fl.min_duration_s, float(cmd_min.max()) if len(cmd_min) else 0.0)
    out = []
    for sol, s, e in lmst_intervals(start_tdb_s, end_tdb_s, a.longitude_deg, *fl.lmst_window, clip=False):
        if s < start_tdb_s or e > end_tdb_s or _overlaps(conj, s, e):
            continue  # a window cut by the horizon belongs to the neighbouring plan
        out.append(ForwardRequirement(a.name, int(sol), float(s), float(e), float(min_dur), int(fl.sessions_per_sol)))
    return out


def _decisional_requirements(a, start_tdb_s: float, end_tdb_s: float) -> list[DecisionalRequirement]:
    dd = a.operations.decisional
    if dd is None:
        return []
    out = []
    for sol, s, e in lmst_intervals(start_tdb_s, end_tdb_s, a.longitude_deg, *dd.lmst_window, clip=False):
        deadline = _deadline(e, a.longitude_deg, dd)
        if s < start_tdb_s or deadline > end_tdb_s:
            continue  # decided by the neighbouring plan (its deadline lies beyond this one)
        out.append(DecisionalRequirement(a.name, int(sol), float(s), float(e), deadline, float(dd.min_volume_mbit)))
    return out


def at_confidence(scenario, problem: Problem) -> Problem:
    """``problem`` planned at the scenario's confidence (issue 22): with ``link.calibration``, a
    ``planning.volume_quantile`` other than the median or an asset's ``operations.min_sol_mbit``,
    :func:`problem_at_confidence` of them; otherwise ``problem`` itself."""
    ps = scenario.planning
    minima = {a.name: a.operations.min_sol_mbit for a in scenario.assets if a.operations.min_sol_mbit is not None}
    path = scenario.link.calibration
    if path is None and ps.volume_quantile == 0.5 and not minima:
        return problem
    cal = read_calibration(scenario.resolve_path(path)) if path else Calibration(label="uncalibrated")
    return problem_at_confidence(problem, cal, volume_quantile=ps.volume_quantile,
                                 guarantee_confidence=ps.guarantee_confidence, min_sol_mbit=minima,
                                 penalty_points=ps.guarantee_penalty_points, label=cal.label or str(path))


def problem_at_confidence(problem: Problem, cal: Calibration, *, volume_quantile: float = 0.5,
                          guarantee_confidence: float | None = None, min_sol_mbit: dict[str, float] | None = None,
                          penalty_points: float = 100_000.0, label: str = "") -> Problem:
    """``problem`` with every option's capacity at ``volume_quantile`` of its calibrated volume
    (:func:`relay.links.calibration.quantile_factor` of its pair's fit, by the pass's maximum elevation,
    ``90 x elevation_score``; a pair ``cal`` does not name keeps the link model's volume), the
    :class:`Confidence` block (each option's prediction, spread and guaranteed volume: the
    ``1 - guarantee_confidence`` quantile, default ``volume_quantile``, rounded down to the volume
    unit) and a guaranteed minimum (``min_sol_mbit``, per asset) for each sol of the asset lying
    wholly inside the horizon (a sol cut by the horizon belongs to the neighbouring plan)."""
    q, unit = volume_quantile, problem.volume_unit_mbit
    conf = 1.0 - q if guarantee_confidence is None else guarantee_confidence
    options, spreads = [], []
    for x in problem.options:
        fit = cal.fit_of(x.orbiter, x.asset, 90.0 * x.elevation_score)
        factor = quantile_factor(fit, q)
        options.append(x if factor == 1.0 else replace(x, capacity_mbit=x.capacity_mbit * factor))
        g = x.capacity_mbit * quantile_factor(fit, 1.0 - conf)
        spreads.append(OptionSpread(x.option_id, float(x.capacity_mbit), round(math.floor(g / unit + 1e-9) * unit, 6),
                                    fit.mu, fit.sigma, fit.fail_p))
    guarantees = [SolGuarantee(a.name, int(sol), float(s0), float(s1), float(min_sol_mbit[a.name]), float(penalty_points))
                  for a in problem.assets if (min_sol_mbit or {}).get(a.name)
                  for sol, s0, s1 in a.sols if s0 >= problem.start_tdb_s and s1 <= problem.end_tdb_s]
    return replace(problem, options=tuple(options), guarantees=tuple(guarantees),
                   confidence=Confidence(float(q), float(conf), label or cal.label, tuple(spreads)))


def downlink_chunks(downlinks: pd.DataFrame, ps) -> list:
    """The problem's downlink chunks of the link model's windows: windows carrying data, cut into
    chunks of ``ps.downlink_chunk_s``, without chunks shorter than ``ps.min_downlink_s``."""
    wins = [(f"D{int(r.downlink_id):05d}", r.orbiter, r.station, float(r.start_tdb_s), float(r.end_tdb_s),
             float(r.volume_mbit)) for r in downlinks.itertuples(index=False) if float(r.volume_mbit) > 0]
    return [c for c in chunk_downlinks(wins, chunk_s=ps.downlink_chunk_s)
            if c.end_tdb_s - c.start_tdb_s >= ps.min_downlink_s]


def _useful_forward_options(options: list[SessionOption], fwd: list[ForwardRequirement]) -> list[SessionOption]:
    """A forward session that can count for no requirement is a return session by another name:
    keep forward options only where one can (smaller model, same optimum).  Each option is checked
    against the requirements of its asset that may hold it (found by bisection on their starts)."""
    fwd_windows: dict[str, list[tuple[float, float, float]]] = {}
    for r in fwd:
        fwd_windows.setdefault(r.asset, []).append((r.start_tdb_s, r.end_tdb_s, r.min_duration_s))
    starts, longest = {}, {}
    for asset, ws in fwd_windows.items():
        ws.sort()
        starts[asset] = [a for a, _, _ in ws]
        longest[asset] = max(b - a for a, b, _ in ws) + 1.0

    def near(o: SessionOption):
        """The asset's windows starting by o's start and ending after it (a superset, in start order)."""
        ws = fwd_windows.get(o.asset, ())
        if not ws:
            return ws
        st = starts[o.asset]
        return ws[bisect_left(st, o.start_tdb_s - longest[o.asset]):bisect_right(st, o.start_tdb_s + 1.0)]
    return [o for o in options if o.kind != "forward" or o.fixed or o.keep_points > 0
            or any(a - 1e-6 <= o.start_tdb_s and o.end_tdb_s <= b + 1e-6 and o.duration_s >= d - 1e-6
                   for a, b, d in near(o))]
