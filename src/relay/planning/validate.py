"""Independent validator: re-checks a :class:`~.plan.Plan` against its :class:`~.problem.Problem`.

It restates, on its own, every rule R1..R29 that :mod:`relay.planning.problem`
documents (the module docstring there gives each rule's exact inequality), and
shares no code and no reading of a rule with the model (:mod:`.formulation`,
:mod:`.cpsat`, :mod:`.mip`, :mod:`.greedy`): it reads the problem's dataclasses
and the plan's rows and simulates the stated semantics from scratch, in exact
Mbit, with the tolerances :data:`TOL_MBIT`, :data:`TOL_S` and
:data:`TOL_POINTS`.

:func:`validate` returns a list of :class:`Violation` (empty: the plan is
valid); each names its rule (``R7``) and its check (``one_session_per_pass``).
:data:`RULES` is the table of rules, in order.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass
from itertools import accumulate
from typing import Callable, Iterator

from ..timescales import tdb_s_to_datetime
from .plan import ONBOARD, Plan
from .problem import Problem

#: volumes may exceed a bound by this much (Mbit): the files hold six decimals
TOL_MBIT = 1e-6
#: times may differ by this much (s): the files hold TDB seconds to the millisecond
TOL_S = 1e-3
#: the summary's weighted sum may differ from the recomputed one by this many points
#: (plus 1e-9 of its magnitude)
TOL_POINTS = 0.01
DAY_S = 86400.0


@dataclass(frozen=True)
class Violation:
    check: str
    detail: str
    rule: str = ""

    def __str__(self) -> str:
        return f"{self.rule + ' ' if self.rule else ''}{self.check}: {self.detail}"


Found = Iterator[tuple[str, str]]  # (check, detail) of each breach a rule finds


def _name(s) -> str:
    return f"session {s.option_id} ({s.orbiter}/{s.asset})"


def _options(P: Problem) -> dict:
    return {x.option_id: x for x in P.options}


# -- sessions ---------------------------------------------------------------------------------------

def r1_option(P: Problem, plan: Plan) -> Found:
    options = _options(P)
    for s in plan.sessions:
        x = options.get(s.option_id)
        if x is None:
            yield "unknown_option", f"{_name(s)} is not a candidate option of the problem"
            continue
        if (x.pass_id, x.orbiter, x.asset, x.kind) != (s.pass_id, s.orbiter, s.asset, s.kind):
            yield "option_mismatch", f"{_name(s)}: pass/orbiter/asset/kind differ from the option's"
        if abs(x.start_tdb_s - s.start_tdb_s) > TOL_S or abs(x.end_tdb_s - s.end_tdb_s) > TOL_S:
            yield "option_mismatch", f"{_name(s)}: times differ from the option's"


def r2_horizon(P: Problem, plan: Plan) -> Found:
    for s in plan.sessions:
        if s.start_tdb_s < P.start_tdb_s - TOL_S or s.end_tdb_s > P.end_tdb_s + TOL_S:
            yield "horizon", f"{_name(s)}: outside the horizon"


def r3_visibility(P: Problem, plan: Plan) -> Found:
    passes = {p.pass_id: p for p in P.passes}
    for s in plan.sessions:
        p = passes.get(s.pass_id)
        if p is None:
            yield "visibility", f"{_name(s)}: unknown pass {s.pass_id}"
        elif s.fixed and not (s.start_tdb_s < p.set_tdb_s and p.rise_tdb_s < s.end_tdb_s):
            yield "visibility", f"{_name(s)}: a fixed session that does not overlap its pass {p.pass_id}"
        elif not s.fixed and (s.start_tdb_s < p.rise_tdb_s - TOL_S or s.end_tdb_s > p.set_tdb_s + TOL_S):
            yield "visibility", f"{_name(s)}: outside its pass {p.pass_id}"


def r4_duration(P: Problem, plan: Plan) -> Found:
    for s in plan.sessions:
        if not s.fixed and s.end_tdb_s - s.start_tdb_s < P.min_session_s - TOL_S:
            yield "duration", f"{_name(s)}: {s.end_tdb_s - s.start_tdb_s:.1f} s < min {P.min_session_s:.0f} s"


def r5_volume(P: Problem, plan: Plan) -> Found:
    options = _options(P)
    for s in plan.sessions:
        if s.volume_mbit < -TOL_MBIT:
            yield "volume", f"{_name(s)}: negative volume {s.volume_mbit}"
        x = options.get(s.option_id)
        if x is not None and s.volume_mbit > x.capacity_mbit + TOL_MBIT:
            yield "over_capacity", f"{_name(s)}: {s.volume_mbit:.3f} Mbit > capacity {x.capacity_mbit:.3f} Mbit"


def r6_min_volume(P: Problem, plan: Plan) -> Found:
    assets = {a.name: a for a in P.assets}
    for s in plan.sessions:
        if s.kind != "return" or s.fixed or s.asset not in assets:
            continue
        floor = max(P.volume_unit_mbit, assets[s.asset].min_session_mbit)
        if s.volume_mbit < floor - TOL_MBIT:
            yield "empty_session", (f"{_name(s)}: a return session that carries {s.volume_mbit:.3f} Mbit, less than "
                                    f"max(one volume unit, the asset's min_session_mbit) = {floor:g} Mbit")


def r7_one_session_per_pass(P: Problem, plan: Plan) -> Found:
    per_pass: dict[str, int] = defaultdict(int)
    for s in plan.sessions:
        per_pass[s.pass_id] += 1
    for pid, k in sorted(per_pass.items()):
        if k > 1:
            yield "one_session_per_pass", f"pass {pid} holds {k} sessions"


def r8_turnaround(P: Problem, plan: Plan) -> Found:
    for attr in ("orbiter", "asset"):
        groups = defaultdict(list)
        for s in plan.sessions:
            groups[getattr(s, attr)].append(s)
        for who, ss in sorted(groups.items()):
            ss.sort(key=lambda s: s.start_tdb_s)
            for a, b in zip(ss, ss[1:]):
                if b.start_tdb_s < a.end_tdb_s + P.turnaround_s - TOL_S:
                    yield f"overlap_{attr}", (f"{who}: {a.option_id} and {b.option_id} are closer than the "
                                              f"turnaround of {P.turnaround_s:.0f} s")


def r9_wake_window(P: Problem, plan: Plan) -> Found:
    assets = {a.name: a for a in P.assets}
    for s in plan.sessions:
        a = assets.get(s.asset)
        if a is None or a.wake_windows is None or s.fixed:
            continue
        if not any(w0 - TOL_S <= s.start_tdb_s and s.end_tdb_s <= w1 + TOL_S for w0, w1 in a.wake_windows):
            yield "wake_window", f"{_name(s)}: outside the asset's wake windows"


def r10_conjunction(P: Problem, plan: Plan) -> Found:
    for s in plan.sessions:
        if s.kind == "forward" and not s.fixed and any(s.start_tdb_s < c1 and c0 < s.end_tdb_s
                                                       for c0, c1 in P.conjunction):
            yield "conjunction", f"{_name(s)}: forward session during solar conjunction"


def _in_sol(plan: Plan, asset: str, s0: float, s1: float) -> list:
    return [s for s in plan.sessions if s.asset == asset and s0 <= s.start_tdb_s < s1]


def r11_sessions_per_sol(P: Problem, plan: Plan) -> Found:
    for a in P.assets:
        if a.max_sessions_per_sol is None:
            continue
        for sol, s0, s1 in a.sols:
            in_sol = _in_sol(plan, a.name, s0, s1)
            n_fixed = sum(1 for s in in_sol if s.fixed)
            if len(in_sol) > max(a.max_sessions_per_sol, n_fixed):
                yield "sessions_per_sol", f"{a.name} sol {sol}: {len(in_sol)} sessions > {a.max_sessions_per_sol}"


def r12_energy(P: Problem, plan: Plan) -> Found:
    for a in P.assets:
        if a.energy_wh_per_min is None or a.energy_wh_per_sol is None:
            continue
        for sol, s0, s1 in a.sols:
            in_sol = _in_sol(plan, a.name, s0, s1)
            used = sum((s.end_tdb_s - s.start_tdb_s) / 60.0 * a.energy_wh_per_min for s in in_sol)
            fixed = sum((s.end_tdb_s - s.start_tdb_s) / 60.0 * a.energy_wh_per_min for s in in_sol if s.fixed)
            if used > max(a.energy_wh_per_sol, fixed) + 1e-6:
                yield "energy", f"{a.name} sol {sol}: {used:.2f} Wh > {a.energy_wh_per_sol:.2f} Wh"


def r13_fixed_kept(P: Problem, plan: Plan) -> Found:
    held = {s.option_id: s for s in plan.sessions}
    for x in P.options:
        if not x.fixed:
            continue
        s = held.get(x.option_id)
        if s is None or abs(s.start_tdb_s - x.start_tdb_s) > TOL_S or abs(s.end_tdb_s - x.end_tdb_s) > TOL_S \
                or (s.orbiter, s.asset, s.kind, s.fixed) != (x.orbiter, x.asset, x.kind, True):
            yield "fixed_session", f"fixed session {x.option_id} is not kept as committed"


def r14_data_available(P: Problem, plan: Plan) -> Found:
    for a in P.assets:
        mine = sorted((s for s in plan.sessions if s.asset == a.name), key=lambda s: s.end_tdb_s)
        steps = sorted(a.generation, key=lambda step: step[0])
        times = [t for t, _ in steps]
        made = [0.0, *accumulate(m for _, m in steps)]   # made[k]: the first k steps, summed in order
        relayed = 0.0
        for s in mine:
            relayed += s.volume_mbit
            produced = a.backlog_mbit + made[bisect_right(times, s.end_tdb_s + 1e-9)]
            if relayed > produced + TOL_MBIT:
                yield "data_available", (f"{a.name}: {relayed:.3f} Mbit relayed by the end of {s.option_id} "
                                         f"but only {produced:.3f} Mbit produced")


# -- downlinks and stores ---------------------------------------------------------------------------

def _chunks(P: Problem) -> dict:
    return {c.chunk_id: c for c in P.downlinks}


def r15_downlink_chunk(P: Problem, plan: Plan) -> Found:
    chunks = _chunks(P)
    assets = {a.name for a in P.assets}
    for d in plan.downlinks:
        c = chunks.get(d.chunk_id)
        if c is None:
            yield "unknown_downlink", f"downlink chunk {d.chunk_id} is not in the problem"
            continue
        if (c.orbiter, c.station) != (d.orbiter, d.station) or abs(c.start_tdb_s - d.start_tdb_s) > TOL_S \
                or abs(c.end_tdb_s - d.end_tdb_s) > TOL_S:
            yield "downlink_mismatch", f"downlink {d.chunk_id}: orbiter/station/times differ from the problem's"
        if c.start_tdb_s < P.start_tdb_s - TOL_S or c.end_tdb_s > P.end_tdb_s + TOL_S:
            yield "downlink_horizon", f"downlink {d.chunk_id}: outside the horizon"
        if d.volume_mbit < -TOL_MBIT:
            yield "downlink_volume", f"downlink {d.chunk_id}: negative volume"
        if d.asset != ONBOARD and d.asset not in assets:
            yield "downlink_owner", f"downlink {d.chunk_id}: unknown data owner {d.asset!r}"


def r16_min_downlink(P: Problem, plan: Plan) -> Found:
    for d in plan.downlinks:
        if d.volume_mbit > TOL_MBIT and d.end_tdb_s - d.start_tdb_s < P.min_downlink_s - TOL_S:
            yield "downlink_duration", (f"downlink {d.chunk_id} ({d.orbiter} to {d.station}): "
                                        f"{d.end_tdb_s - d.start_tdb_s:.3f} s < min_downlink_s {P.min_downlink_s:g} s")


def r17_downlink_capacity(P: Problem, plan: Plan) -> Found:
    chunks = _chunks(P)
    per_chunk: dict[str, float] = defaultdict(float)
    for d in plan.downlinks:
        per_chunk[d.chunk_id] += d.volume_mbit
    for cid, v in sorted(per_chunk.items()):
        if cid in chunks and v > chunks[cid].capacity_mbit + TOL_MBIT:
            yield "downlink_capacity", f"downlink {cid}: {v:.3f} Mbit > capacity {chunks[cid].capacity_mbit:.3f}"


def r18_downlink_after_arrival(P: Problem, plan: Plan) -> Found:
    chunks = _chunks(P)
    for o in P.orbiters:
        downs = [d for d in plan.downlinks if d.orbiter == o.name and d.chunk_id in chunks]
        for owner in sorted({d.asset for d in downs}):
            initial = o.initial_fill_mbit if owner == ONBOARD else 0.0
            mine_in = [s for s in plan.sessions if s.orbiter == o.name and s.asset == owner]
            mine_out = [d for d in downs if d.asset == owner]
            for d in sorted(mine_out, key=lambda d: d.start_tdb_s):
                sent = sum(e.volume_mbit for e in mine_out if e.start_tdb_s <= d.start_tdb_s + 1e-9)
                aboard = initial + sum(s.volume_mbit for s in mine_in if s.end_tdb_s <= d.start_tdb_s + 1e-9)
                if sent > aboard + TOL_MBIT:
                    yield "downlink_before_arrival", (f"{o.name}: {owner} data sent by the chunk {d.chunk_id} "
                                                      f"({sent:.3f} Mbit in all) exceeds what was aboard at its "
                                                      f"start ({aboard:.3f} Mbit)")


def _store_fills(o, plan: Plan, chunks: dict) -> list[tuple[float, float]]:
    """(time, fill) of an orbiter's store after each event, from ``initial_fill_mbit``: sessions
    in at their end, downlinks out at theirs, arrivals first at equal times."""
    events = sorted([(s.end_tdb_s, 0, s.volume_mbit) for s in plan.sessions if s.orbiter == o.name]
                    + [(d.end_tdb_s, 1, -d.volume_mbit) for d in plan.downlinks
                       if d.orbiter == o.name and d.chunk_id in chunks])
    fill, out = o.initial_fill_mbit, []
    for t, _, dv in events:
        fill += dv
        out.append((t, fill))
    return out


def r19_store_capacity(P: Problem, plan: Plan) -> Found:
    for o in P.orbiters:
        for t, fill in _store_fills(o, plan, _chunks(P)):
            if fill > o.capacity_mbit + TOL_MBIT:
                yield "store_overflow", (f"{o.name}: store holds {fill:.3f} Mbit > capacity {o.capacity_mbit:.3f} "
                                         f"at TDB {t:.1f} s")


def r20_store_not_negative(P: Problem, plan: Plan) -> Found:
    for o in P.orbiters:
        for t, fill in _store_fills(o, plan, _chunks(P)):
            if fill < -TOL_MBIT:
                yield "store_negative", f"{o.name}: store below zero ({fill:.3f} Mbit) at TDB {t:.1f} s"


def r29_downlink_hours(P: Problem, plan: Plan) -> Found:
    for o in P.orbiters:
        if o.downlink_hours_per_day is None:
            continue
        used: dict[str, tuple[float, float]] = {}   # chunk id -> (start, end) of a chunk carrying data
        for d in plan.downlinks:
            if d.orbiter == o.name and d.volume_mbit > TOL_MBIT:
                used[d.chunk_id] = (d.start_tdb_s, d.end_tdb_s)
        per_day: dict = defaultdict(float)
        for a, b in used.values():
            per_day[tdb_s_to_datetime(0.5 * (a + b)).date()] += b - a
        for day, secs in sorted(per_day.items()):
            if secs > 3600.0 * o.downlink_hours_per_day + TOL_S:
                yield "downlink_hours", (f"{o.name}: downlinks of {day.isoformat()} (UTC) last {secs / 3600.0:.3f} h "
                                         f"> {o.downlink_hours_per_day:g} h per day")


# -- soft requirements and the summary's claims -----------------------------------------------------

def forward_sessions(P: Problem, plan: Plan, r) -> int:
    """Forward sessions of requirement ``r``: of its asset, lying in its window, long enough."""
    return sum(1 for s in plan.sessions if s.asset == r.asset and s.kind == "forward"
               and s.start_tdb_s >= r.start_tdb_s - TOL_S and s.end_tdb_s <= r.end_tdb_s + TOL_S
               and s.end_tdb_s - s.start_tdb_s >= r.min_duration_s - TOL_S)


def decisional_met(P: Problem, plan: Plan) -> list[bool]:
    """Per decisional requirement: some session of its asset, lying in its window, ending before
    its deadline and carrying at least max(one unit, min_volume_mbit), had all its asset's data
    relayed to that orbiter up to its end downlinked by the deadline (first in, first out per
    orbiter and asset: the chunks that started before the session ended count too)."""
    by_asset: dict[str, list] = defaultdict(list)          # per asset, sessions by start
    arrivals: dict[tuple, list] = defaultdict(list)        # per orbiter and asset, in the plan's order
    departures: dict[tuple, list] = defaultdict(list)
    for s in sorted(plan.sessions, key=lambda s: s.start_tdb_s):
        by_asset[s.asset].append(s)
    for s in plan.sessions:
        arrivals[(s.orbiter, s.asset)].append(s)
    for d in plan.downlinks:
        departures[(d.orbiter, d.asset)].append(d)
    starts = {a: [s.start_tdb_s for s in ss] for a, ss in by_asset.items()}
    out = []
    for r in P.decisional_requirements:
        need = max(P.volume_unit_mbit, r.min_volume_mbit)
        ok = False
        mine, begun = by_asset.get(r.asset, []), starts.get(r.asset, [])
        # the sessions starting in the window (one lying in it starts there); any order: one is enough
        lo, hi = bisect_left(begun, r.start_tdb_s - TOL_S), bisect_right(begun, r.end_tdb_s + TOL_S)
        for s in mine[lo:hi]:
            if s.volume_mbit < need - TOL_MBIT or s.start_tdb_s < r.start_tdb_s - TOL_S \
                    or s.end_tdb_s > r.end_tdb_s + TOL_S or s.end_tdb_s >= r.deadline_tdb_s:
                continue
            arrived = sum(x.volume_mbit for x in arrivals[(s.orbiter, s.asset)] if x.end_tdb_s <= s.end_tdb_s + 1e-9)
            gone = sum(d.volume_mbit for d in departures.get((s.orbiter, s.asset), ())
                       if d.start_tdb_s < s.end_tdb_s - 1e-9 or d.end_tdb_s <= r.deadline_tdb_s + 1e-9)
            if gone >= arrived - TOL_MBIT:
                ok = True
                break
        out.append(ok)
    return out


def weighted_sum(P: Problem, plan: Plan) -> float:
    """The plan's objective by the documented weights, exactly (problem.py, "Objective")."""
    W = P.objective
    options = _options(P)
    weight = {a.name: a.priority_weight for a in P.assets}
    total = 0.0
    for s in plan.sessions:
        x = options.get(s.option_id)
        if x is not None:
            total += W.elevation_per_session * x.elevation_score + x.keep_points
        total += W.delivered_per_mbit * weight.get(s.asset, 0.0) * W.end_store_discount * s.volume_mbit
    fill_weight = {o.name: o.initial_fill_weight for o in P.orbiters}
    for d in plan.downlinks:
        w = fill_weight.get(d.orbiter, 0.0) if d.asset == ONBOARD else weight.get(d.asset, 0.0)
        total += W.delivered_per_mbit * w * (1.0 - W.end_store_discount) * d.volume_mbit
        total += W.latency_per_mbit_day * d.volume_mbit * (P.end_tdb_s - d.end_tdb_s) / DAY_S
    total += W.decisional_per_sol * sum(decisional_met(P, plan))
    for r in P.forward_requirements:
        total -= W.forward_shortfall_penalty * max(0, r.count - forward_sessions(P, plan, r))
    for r in P.requests:
        met = request_sessions(plan, r) >= r.count
        if r.priority == "required" and not met:
            total -= W.forward_shortfall_penalty
        elif r.priority == "preferred" and met:
            total += r.points
    for g, got in zip(P.guarantees, guaranteed_volumes(P, plan)):
        if got < g.min_mbit - TOL_MBIT:
            total -= g.penalty_points
    return total


def guaranteed_volumes(P: Problem, plan: Plan) -> list[float]:
    """Per guaranteed minimum (R28): the volume its asset's sessions starting in its sol carry,
    each counted at most at its option's guaranteed volume (its own volume when the problem
    states no spread of that option)."""
    cap = {c.option_id: c.guaranteed_mbit for c in P.confidence.options} if P.confidence is not None else {}
    out = []
    for g in P.guarantees:
        out.append(sum(min(s.volume_mbit, cap.get(s.option_id, s.volume_mbit)) for s in plan.sessions
                       if s.asset == g.asset and g.start_tdb_s <= s.start_tdb_s < g.end_tdb_s))
    return out


def request_sessions(plan: Plan, r) -> int:
    """Sessions meeting request ``r``: of its asset (and orbiter), lying in its window, long
    enough, forward when it asks for forward, carrying at least min_mbit."""
    return sum(1 for s in plan.sessions
               if s.asset == r.asset and (r.orbiter is None or s.orbiter == r.orbiter)
               and (r.kind != "forward" or s.kind == "forward")
               and s.start_tdb_s >= r.start_tdb_s - TOL_S and s.end_tdb_s <= r.end_tdb_s + TOL_S
               and s.end_tdb_s - s.start_tdb_s >= r.min_duration_s - TOL_S
               and s.volume_mbit >= r.min_mbit - TOL_MBIT)


def _hits(start: float, end: float, a: float, b: float) -> bool:
    """[start, end) overlaps [a, b) by more than TOL_S."""
    return start < b - TOL_S and a < end - TOL_S


def r25_outages(P: Problem, plan: Plan) -> Found:
    for o in P.outages:
        for s in plan.sessions:
            uses = ((o.kind == "orbiter" and o.target == s.orbiter and o.what in ("uhf", "all"))
                    or (o.kind == "asset" and o.target == s.asset and o.what in ("uhf", "all")))
            if uses and _hits(s.start_tdb_s, s.end_tdb_s, o.start_tdb_s, o.end_tdb_s):
                yield "outage", f"{_name(s)} overlaps the {o.what} outage of {o.kind} {o.target}"
        for d in plan.downlinks:
            if d.volume_mbit <= TOL_MBIT:
                continue
            uses = ((o.kind == "orbiter" and o.target == d.orbiter and o.what in ("xband", "all"))
                    or (o.kind == "station" and o.target == d.station and o.what in ("xband", "all")
                        and o.orbiter in (None, d.orbiter)))
            if uses and _hits(d.start_tdb_s, d.end_tdb_s, o.start_tdb_s, o.end_tdb_s):
                yield "outage", (f"downlink {d.chunk_id} ({d.orbiter} -> {d.station}) overlaps the {o.what} outage "
                                 f"of {o.kind} {o.target}")


def r26_vetoes(P: Problem, plan: Plan) -> Found:
    for v in P.forbid:
        for s in plan.sessions:
            if v.pass_id is not None:
                if s.pass_id == v.pass_id:
                    yield "veto", f"{_name(s)} lies in the vetoed pass {v.pass_id}"
            elif (v.orbiter in (None, s.orbiter) and v.asset in (None, s.asset)
                  and _hits(s.start_tdb_s, s.end_tdb_s, v.start_tdb_s, v.end_tdb_s)):
                yield "veto", f"{_name(s)} overlaps a veto of {v.orbiter or 'any orbiter'}/{v.asset or 'any asset'}"


def r27_requests_reported(P: Problem, plan: Plan) -> Found:
    fig = plan.figures
    if fig is None:
        return
    # by exact id (a plan read from an older summary.json: the exact start of the line it wrote)
    ids = {v.request_id for v in fig.violations if v.requirement == "request" and v.request_id is not None}
    details = [v.detail for v in fig.violations if v.requirement == "request" and v.request_id is None]
    for r in P.requests:
        if r.priority != "required" or request_sessions(plan, r) >= r.count:
            continue
        if r.id not in ids and not any(d.startswith(f"required request {r.id} not met:") for d in details):
            yield "unreported_request", f"required request {r.id} ({r.asset}) is not met and not reported"


def r28_guarantees_reported(P: Problem, plan: Plan) -> Found:
    fig = plan.figures
    if fig is None:
        return
    reported = {(v.asset, v.local_sol if v.local_sol is not None else v.sol) for v in fig.violations
                if v.requirement == "guaranteed_minimum"}
    for g, got in zip(P.guarantees, guaranteed_volumes(P, plan)):
        if got < g.min_mbit - TOL_MBIT and (g.asset, g.sol) not in reported:
            yield "unreported_guarantee", (f"{g.asset} sol {g.sol}: {got:.3f} of {g.min_mbit:g} Mbit guaranteed, "
                                           "not reported")


def r21_forward_reported(P: Problem, plan: Plan) -> Found:
    fig = plan.figures
    if fig is None:
        return
    # a violation names the mission sol for people and the instance's own sol as local_sol
    reported = {(v.asset, v.local_sol if v.local_sol is not None else v.sol) for v in fig.violations
                if v.requirement == "forward_link"}
    for r in P.forward_requirements:
        got = forward_sessions(P, plan, r)
        if got < r.count and (r.asset, r.sol) not in reported:
            yield "unreported_requirement", f"{r.asset} sol {r.sol}: forward link {got} of {r.count}, not reported"


def r22_decisional_claims(P: Problem, plan: Plan) -> Found:
    fig = plan.figures
    if fig is None:
        return
    met: dict[str, int] = defaultdict(int)
    for r, ok in zip(P.decisional_requirements, decisional_met(P, plan)):
        met[r.asset] += int(ok)
    for asset, n in sorted(fig.decisional_sols_met.items()):
        if n > met.get(asset, 0):
            yield "summary", f"summary claims {n} decisional sols for {asset}, the plan achieves {met.get(asset, 0)}"


def r23_delivered_claim(P: Problem, plan: Plan) -> Found:
    fig = plan.figures
    delivered = sum(d.volume_mbit for d in plan.downlinks)
    if fig is not None and abs(fig.delivered_mbit - delivered) > 1e-3:
        yield "summary", f"summary claims {fig.delivered_mbit} Mbit delivered, downlinks sum to {delivered:.3f}"


def r24_weighted_sum(P: Problem, plan: Plan) -> Found:
    fig = plan.figures
    if fig is None or fig.weighted_sum_points is None:
        return
    exact = weighted_sum(P, plan)
    if abs(fig.weighted_sum_points - exact) > TOL_POINTS + 1e-9 * abs(exact):
        yield "weighted_sum", (f"summary claims a weighted sum of {fig.weighted_sum_points:,.6f} points, the plan's "
                               f"is {exact:,.6f} by the documented weights")


Rule = Callable[[Problem, Plan], Found]

#: the rules of problem.py, in order: (id, function)
RULES: tuple[tuple[str, Rule], ...] = (
    ("R1", r1_option), ("R2", r2_horizon), ("R3", r3_visibility), ("R4", r4_duration), ("R5", r5_volume),
    ("R6", r6_min_volume), ("R7", r7_one_session_per_pass), ("R8", r8_turnaround), ("R9", r9_wake_window),
    ("R10", r10_conjunction), ("R11", r11_sessions_per_sol), ("R12", r12_energy), ("R13", r13_fixed_kept),
    ("R14", r14_data_available), ("R15", r15_downlink_chunk), ("R16", r16_min_downlink),
    ("R17", r17_downlink_capacity), ("R18", r18_downlink_after_arrival), ("R19", r19_store_capacity),
    ("R20", r20_store_not_negative), ("R21", r21_forward_reported), ("R22", r22_decisional_claims),
    ("R23", r23_delivered_claim), ("R24", r24_weighted_sum), ("R25", r25_outages), ("R26", r26_vetoes),
    ("R27", r27_requests_reported), ("R28", r28_guarantees_reported), ("R29", r29_downlink_hours),
)


def validate(problem: Problem, plan: Plan) -> list[Violation]:
    """Every violated rule of ``plan`` (empty list: valid)."""
    return [Violation(check, detail, rule) for rule, fn in RULES for check, detail in fn(problem, plan)]


def check(problem: Problem, plan: Plan) -> None:
    """Raise ``AssertionError`` listing the violations, if any (for tests)."""
    v = validate(problem, plan)
    if v:
        raise AssertionError("plan violates the problem:\n" + "\n".join(f"  {x}" for x in v))
