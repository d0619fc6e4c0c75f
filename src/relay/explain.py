"""Why each pass is used as it is, or not at all: a reason from the model's own constraints.

For a solved plan every candidate pass gets a ``reason`` from the vocabulary
:data:`REASONS` and a ``reason_detail`` naming the other party.  A used pass
is ``whole``, ``split`` (shared with another asset in the same overflight: with
whom, cut where), ``cut`` (part of it only) or ``fixed``.  For an unused pass
the reason is the first constraint family that forbids adding its best option
to the solved plan, asked of the model in this order:

1. the model left every option of the pass out (:func:`~relay.planning.
   formulation.exclusion_reason`): ``too_short``, ``outside_wake``,
   ``conjunction``, ``below_min_volume``, ``outside_horizon``; a pass with no
   option at all is ``outage`` or ``vetoed`` (an outage or a veto took them,
   named first, inside the frozen period too), ``frozen`` (inside the frozen
   period) or ``no_volume`` (too short or too weak a link for any session);
2. exclusivity (one orbiter radio serves one asset, one asset talks to one
   orbiter, with the turnaround): ``taken`` by which session, when;
3. the asset's sessions-per-sol cap (``sol_cap``) and energy budget (``energy``);
4. data availability: the asset has no data left to send by the pass's end
   (``data_limited``);
5. the orbiter's store would overflow before its next downlink (``store_full``);
6. otherwise the pass could be added: ``earth_limited`` when the data it
   would carry could not reach Earth in the horizon (no downlink capacity
   left), else ``better_alternative`` (the optimum is worth more without it).

The checks reuse the greedy's public :class:`~relay.planning.greedy.
FeasibilityState` seeded with the plan's sessions, so a reason is the
model's answer, not a guess.  An unmet requirement or request
(:meth:`Explainer.requirement`) is explained link first: the best volume a
pass in its window could carry (``link_limited`` when none could carry what
it needs), then the reasons of the passes that could, used ones included.
:func:`per_sol` adds, per asset and mission sol, the usable capacity of the
passes, the data the asset had (its generation integrated over the sol), the
volume planned and the binding family (:data:`LIMITS`);
:func:`stranded_warnings` flags data relayed to an orbiter that cannot bring
it home.
"""
from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from .planning.formulation import build
from .planning.greedy import FeasibilityState
from .sols import clocks_of
from .timescales import local_sol_start_tdb_s, tdb_s_to_iso

#: the reason vocabulary: code -> meaning (README "Why a pass is used or not")
REASONS = {
    "whole": "used for the whole pass",
    "split": "shared with another asset in the same overflight (with whom, cut where)",
    "cut": "used for part of the pass only (where it was cut)",
    "fixed": "a committed session, kept as given",
    "no_volume": "no usable session: too short or too weak a link for the minimum session",
    "frozen": "inside the frozen period, where no new session is added",
    "too_short": "shorter than operations.min_session_s",
    "outside_wake": "outside the asset's wake windows",
    "conjunction": "a commanded session during solar conjunction",
    "below_min_volume": "carries less than the asset's minimum session volume",
    "outside_horizon": "outside the planning horizon",
    "taken": "the orbiter or the asset is in another session then (which, when)",
    "sol_cap": "the asset's sessions-per-sol cap is reached",
    "energy": "the asset's energy budget for the sol is spent",
    "data_limited": "the asset has no data left to send",
    "store_full": "the orbiter's store would be full before its next downlink",
    "earth_limited": "no downlink capacity left in the horizon to bring the data to Earth",
    "better_alternative": "feasible, but the optimum is worth more without it",
    "outage": "the orbiter's UHF or the asset's UHF is out then (an outage: which, when)",
    "vetoed": "a planner forbade sessions of that orbiter or asset then, or this pass (a veto)",
    "link_limited": "(a requirement) no pass in its window could carry the volume it needs: the best one's volume",
}

#: the binding family of each reason (sols.csv's and compare's ``limited_by``): code -> family
FAMILY = {
    "outage": "outage", "vetoed": "veto", "sol_cap": "sol_cap", "energy": "energy", "outside_wake": "wake_window",
    "data_limited": "data", "store_full": "store", "earth_limited": "earth", "taken": "contention",
    "better_alternative": "contention", "conjunction": "conjunction", "frozen": "frozen",
    "no_volume": "link", "too_short": "link", "below_min_volume": "link", "outside_horizon": "link",
    "link_limited": "link",
}
#: the families of ``limited_by``, with their meaning (README "The planner's view")
LIMITS = {
    "data": "the asset sent all the data it had",
    "link": "the passes offered no more (too short, too weak or below the minimum volume)",
    "outage": "an outage of the orbiter's or the asset's UHF blocked passes",
    "veto": "a planner's veto blocked passes",
    "sol_cap": "the asset's sessions-per-sol cap",
    "energy": "the asset's energy budget per sol",
    "wake_window": "passes outside the asset's wake windows",
    "store": "an orbiter's store would overflow before its next downlink",
    "earth": "the Earth leg: no downlink capacity left to bring more data home",
    "contention": "the orbiters' radio time went to other sessions (taken, or worth more elsewhere)",
    "conjunction": "solar conjunction (no commanded sessions)",
    "frozen": "the frozen period (no new session)",
}

_EXCLUSION = (("shorter than min_session_s", "too_short"), ("wake windows", "outside_wake"),
              ("solar conjunction", "conjunction"), ("min_session_mbit", "below_min_volume"),
              ("outside the horizon", "outside_horizon"), ("overlaps an outage", "outage"), ("vetoed", "vetoed"))


@dataclass(frozen=True)
class Reason:
    code: str
    detail: str


def _operational_reason(P, p, tt: TimeTexts) -> "Reason | None":
    """An outage or a veto that took every option of pass ``p`` (relay.operations.apply removes
    them), or None."""
    for v in P.forbid:
        if v.forbids(p.pass_id, p.orbiter, p.asset, p.rise_tdb_s, p.set_tdb_s):
            what = f"pass {v.pass_id}" if v.pass_id else f"{v.orbiter or 'any orbiter'}/{v.asset or 'any asset'} " \
                                                         f"{tt.iso(v.start_tdb_s)} to {tt.iso(v.end_tdb_s)}"
            return Reason("vetoed", what + (f" ({v.note})" if v.note else ""))
    for o in P.outages:
        if o.blocks_session(p.orbiter, p.asset) and o.start_tdb_s < p.set_tdb_s and p.rise_tdb_s < o.end_tdb_s:
            return Reason("outage", f"{o.target} {o.what} out {tt.iso(o.start_tdb_s)} to {tt.iso(o.end_tdb_s)}"
                                    + (f" ({o.note})" if o.note else ""))
    return None


class TimeTexts:
    """ISO 8601 UTC texts of TDB seconds, converted in one vectorised call for the times a plan's
    explanations name (pass rises and sets, sessions, options); other times one by one."""

    def __init__(self, times=()):
        ts = np.unique(np.asarray(list(times), dtype=float))
        self._text = dict(zip(ts.tolist(), (str(x) for x in tdb_s_to_iso(ts)))) if ts.size else {}

    def iso(self, t: float) -> str:
        text = self._text.get(float(t))
        if text is None:
            text = self._text[float(t)] = str(tdb_s_to_iso(float(t)))
        return text

    def hms(self, t: float) -> str:
        return self.iso(t)[11:19]


class Overlaps:
    """The plan's sessions of each orbiter indexed by start, to find the first (in the plan's order)
    overlapping a span without reading them all (a year: thousands of passes times thousands of
    sessions)."""

    def __init__(self, sessions):
        rows: dict[str, list] = {}
        for pos, s in enumerate(sessions):
            rows.setdefault(s.orbiter, []).append((s.start_tdb_s, pos, s))
        self.index = {}
        for orbiter, rs in rows.items():
            rs.sort(key=lambda r: (r[0], r[1]))
            self.index[orbiter] = ([r[0] for r in rs], rs, max(s.end_tdb_s - s.start_tdb_s for _, _, s in rs))

    def first(self, orbiter: str, t0: float, t1: float, other_than: str):
        """The first session of ``orbiter`` in the plan's order, of an asset other than
        ``other_than``, with start < t1 and end > t0; None if there is none."""
        if orbiter not in self.index:
            return None
        starts, rows, longest = self.index[orbiter]
        # a session starting before t0 - longest ended by t0 (1 s of margin for rounding)
        lo, hi = bisect_left(starts, t0 - longest - 1.0), bisect_left(starts, t1)
        found = [(pos, s) for _, pos, s in rows[lo:hi] if s.asset != other_than and s.end_tdb_s > t0]
        return min(found, key=lambda f: f[0])[1] if found else None


def _used_reason(p, held: list, overlaps: Overlaps, tt: TimeTexts) -> Reason:
    """The reason of a pass with held sessions (``held``: its sessions)."""
    if any(s.fixed for s in held):
        return Reason("fixed", "committed session kept as given")
    s = held[0]
    if s.start_tdb_s <= p.rise_tdb_s + 1.0 and s.end_tdb_s >= p.set_tdb_s - 1.0:
        return Reason("whole", f"{tt.hms(s.start_tdb_s)}-{tt.hms(s.end_tdb_s)} UTC")
    cuts = ([f"starts at {tt.hms(s.start_tdb_s)}"] if s.start_tdb_s > p.rise_tdb_s + 1.0 else []) + \
           ([f"ends at {tt.hms(s.end_tdb_s)}"] if s.end_tdb_s < p.set_tdb_s - 1.0 else [])
    o = overlaps.first(p.orbiter, p.rise_tdb_s, p.set_tdb_s, p.asset)
    if o is not None:
        return Reason("split", f"shared with {o.asset} ({tt.hms(o.start_tdb_s)}-{tt.hms(o.end_tdb_s)} UTC); "
                               + ", ".join(cuts))
    return Reason("cut", ", ".join(cuts) + f" (pass {tt.hms(p.rise_tdb_s)}-{tt.hms(p.set_tdb_s)} UTC)")


def volume_fn(volume):
    """``(pass_id, t0, t1) -> Mbit or None`` of a :class:`relay.links.table.VolumeTable` (pass
    ``P00013`` is its row 13) or of a callable; None without either.  A pass the table does not
    know gives None."""
    if volume is None or callable(volume):
        return volume

    def of_table(pass_id, t0, t1):
        try:
            return float(volume.volume_mbit(int(str(pass_id).lstrip("P")), t0, t1))
        except (KeyError, ValueError, TypeError, IndexError):
            return None
    return of_table


class Explainer:
    """Reasons for the passes of one solved plan (``problem``, its raw ``plan``); ``volume`` (the
    link stage's VolumeTable, or a callable ``(pass_id, t0, t1) -> Mbit``) tells what a pass
    could carry in a requirement's window, outages and vetoes aside."""

    def __init__(self, problem, plan, frozen_until_tdb_s: float | None = None, volume=None):
        self.P, self.plan, self.frozen = problem, plan, frozen_until_tdb_s
        self.volume = volume_fn(volume)
        F = plan.__dict__.pop("formulation", None)  # the solve's model of this problem (not kept on the plan)
        self.F = F = F if F is not None and F.problem is problem else build(problem)
        self.index = {x.option_id: i for i, x in enumerate(F.options)}
        self.state = st = FeasibilityState(F)
        unit = F.unit
        for s in plan.sessions:
            i = self.index.get(s.option_id)
            if i is not None and st.can_take(i):
                st.take(i, int(round(s.volume_mbit / unit)))
        self.excluded = {e.option_id: e.reason for e in F.excluded}
        self.option_of_b = {F.b[j]: j for j in range(len(F.options))}
        self.opts_of_pass: dict[str, list] = {}
        for x in problem.options:
            self.opts_of_pass.setdefault(x.pass_id, []).append(x)
        self.held_by_pass: dict[str, list] = {}
        self.overlaps = Overlaps(plan.sessions)
        self.by_asset: dict[str, list] = {}
        for s in plan.sessions:
            self.held_by_pass.setdefault(s.pass_id, []).append(s)
            self.by_asset.setdefault(s.asset, []).append(s)
        self.requests = {r.id: r for r in problem.requests}
        self.passes_by_asset: dict[str, tuple] = {}
        for name in {p.asset for p in problem.passes}:
            ps = sorted((p for p in problem.passes if p.asset == name), key=lambda p: (p.rise_tdb_s, p.pass_id))
            self.passes_by_asset[name] = ([p.rise_tdb_s for p in ps], ps,
                                          max(p.set_tdb_s - p.rise_tdb_s for p in ps))
        # the times the explanations name, converted to text at once
        self.tt = TimeTexts([t for w in problem.passes for t in (w.rise_tdb_s, w.set_tdb_s)]
                            + [t for x in F.options for t in (x.start_tdb_s, x.end_tdb_s)]
                            + [t for x in plan.sessions for t in (x.start_tdb_s, x.end_tdb_s)])

    def reason(self, p) -> Reason:
        held = self.held_by_pass.get(p.pass_id)
        if held:
            return _used_reason(p, held, self.overlaps, self.tt)
        opts = self.opts_of_pass.get(p.pass_id, [])
        if not opts:
            # an outage or a veto first: it removes the pass inside the frozen period too
            op = _operational_reason(self.P, p, self.tt)
            if op is not None:
                return op
            if self.frozen is not None and p.rise_tdb_s < self.frozen:
                return Reason("frozen", f"the frozen period lasts until {self.tt.iso(self.frozen)}")
            return Reason("no_volume", f"{p.set_tdb_s - p.rise_tdb_s:.0f} s pass: no part of it makes a session of "
                                       f"at least {self.P.min_session_s:.0f} s with usable volume")
        live = [x for x in opts if x.option_id in self.index]
        if not live:
            return self._excluded(opts)
        return self._blocked(max(live, key=lambda x: (x.capacity_mbit, x.option_id)))

    def _excluded(self, opts) -> Reason:
        why = self.excluded.get(max(opts, key=lambda x: x.capacity_mbit).option_id, "")
        for text, code in _EXCLUSION:
            if text in why:
                if code == "below_min_volume":
                    best = max(x.capacity_mbit for x in opts)
                    a = self.P.asset(opts[0].asset)
                    return Reason(code, f"at most {best:.1f} Mbit; the minimum is {max(a.min_session_mbit, self.F.unit):g}"
                                        " Mbit")
                return Reason(code, why)
        return Reason("no_volume", why or "no option of this pass is eligible")

    def _blocked(self, x) -> Reason:
        F, st = self.F, self.state
        i = self.index[x.option_id]
        bvar = F.b[i]
        for g in st.group_of[bvar]:
            if st.group_used[g]:
                j = next((self.option_of_b[v] for v in F.at_most_one[g]
                          if v in self.option_of_b and st.taken[self.option_of_b[v]]), None)
                if j is not None:
                    o = F.options[j]
                    who = f"{o.orbiter} with {o.asset}" if o.asset != x.asset else f"{o.asset} with {o.orbiter}"
                    return Reason("taken", f"{who} {self.tt.hms(o.start_tdb_s)}-{self.tt.hms(o.end_tdb_s)} UTC "
                                           f"({self.tt.iso(o.start_tdb_s)[:10]})")
        for k in st.sol_of[bvar]:
            g = F.sol_groups[k]
            if st.sol_count[k] + 1 > g.cap:
                return Reason("sol_cap", f"{g.asset} already holds {st.sol_count[k]} sessions in that sol "
                                         f"(cap {g.cap})")
        for k, c in st.energy_of[bvar]:
            g = F.energy_groups[k]
            if st.energy_used[k] + c > g.budget:
                return Reason("energy", f"{g.asset}: {st.energy_used[k] / 1000:.1f} of {g.budget / 1000:.1f} Wh used "
                                        f"in that sol, the session needs {c / 1000:.1f} Wh")
        need = st.min_volume(i)
        slack = st.data_slack(i)
        if slack < max(need, 1):
            return Reason("data_limited", f"{x.asset} has {slack * F.unit:.1f} Mbit left to send by "
                                          f"{self.tt.hms(x.end_tdb_s)} UTC (the session needs {max(need, 1) * F.unit:.1f})")
        if st.best_volume(i) < max(need, 1):
            return Reason("store_full", f"{x.orbiter}'s store would exceed its capacity before its next downlink")
        extra = min(F.cap_u[i], slack)
        before = sum(st.simulate(x.orbiter).sent.values())
        after = sum(st.simulate(x.orbiter, (i, extra)).sent.values())
        if after <= before:
            return Reason("earth_limited", f"{x.orbiter} has no downlink capacity left in the horizon after "
                                           f"{self.tt.hms(x.end_tdb_s)} UTC for this data")
        return Reason("better_alternative", f"could carry {extra * F.unit:.1f} Mbit; the optimum is worth more "
                                            "without it (its volume or radio time serves better elsewhere)")

    def requirement(self, v) -> Reason:
        """Why an unmet requirement (a :class:`~relay.summary.Violation` with the instance's
        sol) is unmet, in the same vocabulary: first what the passes in its window could carry at
        best (``link_limited`` when none could carry the volume it needs), then the reasons of the
        passes that could, used ones included (a used pass whose session carries too little)."""
        P = self.P
        sol = v.local_sol if v.local_sol is not None else v.sol
        if v.requirement == "forward_link":
            req = next((r for r in P.forward_requirements if r.asset == v.asset and r.sol == sol), None)
            if req is not None:
                return self._window(Window(v.asset, req.start_tdb_s, req.end_tdb_s, req.min_duration_s, "forward"))
        if v.requirement == "decisional":
            req = next((r for r in P.decisional_requirements if r.asset == v.asset and r.sol == sol), None)
            if req is not None:
                return self._decisional(req)
        if v.requirement == "fixed_session":
            return Reason("fixed", v.detail)
        if v.requirement == "request" and v.request_id in self.requests:
            return self.request(self.requests[v.request_id])
        return Reason(v.requirement, v.detail)

    def request(self, req) -> Reason:
        """Why relay request ``req`` (a :class:`~relay.planning.problem.RelayRequest`) is unmet."""
        need = req.min_mbit if req.kind == "return" else 0.0
        return self._window(Window(req.asset, req.start_tdb_s, req.end_tdb_s,
                                   max(self.P.min_session_s, req.min_duration_s), req.kind, req.orbiter, need))

    def _decisional(self, req) -> Reason:
        held = [s for s in self.by_asset.get(req.asset, ()) if s.kind == "return"
                and req.start_tdb_s <= s.start_tdb_s and s.end_tdb_s <= req.end_tdb_s
                and s.volume_mbit >= req.min_volume_mbit - 1e-9]
        if held:
            return Reason("earth_limited", f"the data of the {self.tt.hms(held[0].start_tdb_s)} UTC session does not "
                                           f"reach Earth before the deadline {self.tt.iso(req.deadline_tdb_s)}")
        return self._window(Window(req.asset, req.start_tdb_s, req.end_tdb_s, self.P.min_session_s, "return",
                                   need_mbit=req.min_volume_mbit))

    def passes_near(self, asset: str, t0: float, t1: float) -> list:
        """The passes of ``asset`` that may overlap [t0, t1], in time order: those rising before
        t1 and after t0 less the asset's longest pass (a bisection, not a scan of every pass)."""
        rises, passes, longest = self.passes_by_asset.get(asset, ((), (), 0.0))
        return passes[bisect_left(rises, t0 - longest):bisect_left(rises, t1)]

    def window_capacity(self, p, t0: float, t1: float) -> float | None:
        """What pass ``p`` could carry inside [t0, t1] by the link model, outages and vetoes
        aside (the VolumeTable given; else the largest option of the pass lying in the window);
        None when neither tells (no table, and an outage or veto took every option)."""
        a, b = max(p.rise_tdb_s, t0), min(p.set_tdb_s, t1)
        if b <= a:
            return 0.0
        if self.volume is not None:
            v = self.volume(p.pass_id, a, b)
            if v is not None:
                return v
        opts = self.opts_of_pass.get(p.pass_id, [])
        if not opts:
            return None
        return max((x.capacity_mbit for x in opts if x.start_tdb_s >= a - 1e-3 and x.end_tdb_s <= b + 1e-3),
                   default=0.0)

    def _window(self, w: "Window") -> Reason:
        """The reason a window gets no (more) session of ``w.kind`` carrying ``w.need_mbit``: the
        best volume its passes could carry (``link_limited`` when none could carry it), then the
        reasons of the passes that could."""
        who = f"{w.asset}{' by ' + w.orbiter if w.orbiter else ''}"
        span = f"{self.tt.iso(w.t0)} to {self.tt.iso(w.t1)}"
        ps = [p for p in self.passes_near(w.asset, w.t0, w.t1) if p.rise_tdb_s < w.t1 and p.set_tdb_s > w.t0
              and min(p.set_tdb_s, w.t1) - max(p.rise_tdb_s, w.t0) >= w.min_s - 1e-6 and w.orbiter in (None, p.orbiter)]
        if not ps:
            return Reason("no_volume", f"no pass of {who} of at least {w.min_s:.0f} s in the window {span}")
        caps = {p.pass_id: self.window_capacity(p, w.t0, w.t1) for p in ps}
        head = self._best(ps, caps, w)
        parts, codes, serving = [], [], []
        for p in ps:
            part = self._pass_part(p, caps[p.pass_id], w)
            if part is None:
                serving.append(p.pass_id)
                continue
            parts.append(f"{p.pass_id} ({p.orbiter}) {part.code}: {part.detail}")
            cap = caps[p.pass_id]
            if w.need_mbit <= 0 or cap is None or cap >= w.need_mbit - 1e-9:
                codes.append(part.code)   # a pass that could carry it: its reason binds
        if not parts:
            return Reason("no_volume", f"no further pass of {w.asset} of at least {w.min_s:.0f} s in the window "
                                       f"{span} ({', '.join(serving)} already serve it)")
        detail = "; ".join(([head] if head else []) + parts)
        if not codes:
            return Reason("link_limited", detail)
        return Reason(max(sorted(set(codes)), key=codes.count), detail)

    def _best(self, ps, caps: dict, w: "Window") -> str:
        """The best volume a pass of the window could carry, as the head of a reason's detail."""
        known = [(c, p.pass_id, p) for p in ps if (c := caps[p.pass_id]) is not None]
        if w.need_mbit <= 0 or not known:
            return ""
        c, _, p = max(known, key=lambda t: (t[0], t[1]))
        return (f"the best pass in the window, {p.pass_id} ({p.orbiter} {self.tt.hms(p.rise_tdb_s)}-"
                f"{self.tt.hms(p.set_tdb_s)} UTC), could carry {c:.1f} Mbit of the {w.need_mbit:.1f} needed")

    def _pass_part(self, p, cap: float | None, w: "Window") -> "Reason | None":
        """Why pass ``p`` does not meet the window's need (None: a session of it serves it)."""
        held = self.held_by_pass.get(p.pass_id)
        if not held:
            return self.reason(p)
        same = [s for s in held if s.kind == w.kind]
        if not same:
            return Reason("taken", f"used for {held[0].kind} data")
        s = max(same, key=lambda s: s.volume_mbit)
        if w.need_mbit <= 0 or s.volume_mbit >= w.need_mbit - 1e-6:
            return None
        used = self.reason(p)
        could = f"; the pass could carry {cap:.1f} Mbit in the window" if cap is not None else ""
        code = "link_limited" if cap is not None and cap < w.need_mbit - 1e-9 else _USED_SHORT.get(used.code,
                                                                                                   "better_alternative")
        return Reason(code, f"used, its {self.tt.hms(s.start_tdb_s)} UTC session carries {s.volume_mbit:.1f} Mbit of "
                            f"the {w.need_mbit:.1f} needed ({used.code}: {used.detail}){could}")

    def usable_mbit(self, p) -> float:
        """What pass ``p`` can carry in this instance: its largest session option the model keeps
        (none when an outage, a veto, the frozen period or a rule of the model took them all)."""
        return max((x.capacity_mbit for x in self.opts_of_pass.get(p.pass_id, ())
                    if x.option_id in self.index), default=0.0)

    def table(self) -> pd.DataFrame:
        """``pass_id, reason, reason_detail, usable_mbit`` for every pass of the problem."""
        rows = [(p.pass_id, *self.reason(p).__dict__.values(), round(self.usable_mbit(p), 3)) for p in self.P.passes]
        return pd.DataFrame(rows, columns=["pass_id", "reason", "reason_detail", "usable_mbit"])


@dataclass(frozen=True)
class Window:
    """A requirement's window: sessions of ``asset`` (by ``orbiter``, when set) of ``kind`` lasting at
    least ``min_s`` in [t0, t1], carrying at least ``need_mbit``."""

    asset: str
    t0: float
    t1: float
    min_s: float
    kind: str
    orbiter: str | None = None
    need_mbit: float = 0.0


#: a used pass whose session carries too little for a requirement: why it carries no more
_USED_SHORT = {"split": "taken", "cut": "better_alternative", "whole": "link_limited", "fixed": "fixed"}


def per_sol(problem, passes: pd.DataFrame, sessions: pd.DataFrame) -> pd.DataFrame:
    """Per asset and mission sol: ``capacity_mbit`` (what the passes could carry in this instance:
    ``usable_mbit`` of passes.csv, so passes an outage, a veto or a rule of the model took count
    nothing), ``data_mbit`` (the data the asset had to send: backlog on the first sol plus its
    generation integrated over the sol, within the horizon), ``planned_mbit`` (relayed by the plan)
    and ``limited_by``, the binding family (:data:`LIMITS`, :func:`limited_by`)."""
    clocks = clocks_of(problem)
    rows = []
    cap_col = "usable_mbit" if "usable_mbit" in passes else "volume_mbit"
    for a in problem.assets:
        c = clocks.get(a.name)
        if c is None:
            continue
        # only the columns read here and by limited_by (a sol's rows of every column cost a take per
        # column: seconds a year)
        ps = passes.loc[passes["asset"] == a.name,
                        [k for k in dict.fromkeys(("sol", cap_col, "reason", "used", "volume_mbit")) if k in passes]]
        ss = sessions.loc[sessions["asset"] == a.name, ["sol", "volume_mbit"]]
        sols = sorted(set(int(s) for s in ps["sol"] if s != "") | set(int(s) for s in ss["sol"] if s != ""))
        # each sol's rows, in their order (what ``ps[ps["sol"] == sol]`` selects), grouped once: a
        # selection per sol read every pass of the horizon for every sol (a year: minutes)
        pass_rows, session_rows = _rows_by_sol(ps), _rows_by_sol(ss)
        for k, sol in enumerate(sols):
            pk = ps.iloc[pass_rows.get(sol, [])]
            cap = float(pk[cap_col].astype(float).sum()) if cap_col in pk else float("nan")
            data = sol_generation(problem, a, c, sol) + (a.backlog_mbit if k == 0 else 0.0)
            planned = float(ss["volume_mbit"].iloc[session_rows.get(sol, [])].sum())
            rows.append({"asset": a.name, "sol": sol, "capacity_mbit": round(cap, 3), "data_mbit": round(data, 3),
                         "planned_mbit": round(planned, 3), "limited_by": limited_by(pk)})
    return pd.DataFrame(rows, columns=["asset", "sol", "capacity_mbit", "data_mbit", "planned_mbit", "limited_by"])


def _rows_by_sol(table: pd.DataFrame) -> dict:
    """The positions of ``table``'s rows per value of its ``sol`` column, in order."""
    rows: dict = {}
    for pos, sol in enumerate(table["sol"]):
        rows.setdefault(sol, []).append(pos)
    return rows


@lru_cache(maxsize=16)
def _generation_curve(start_tdb_s: float, generation: tuple) -> tuple[np.ndarray, np.ndarray]:
    """The times and the cumulative data of an asset's generation steps (built once per asset, not
    once per sol: a year's per-sol table asks for it hundreds of times)."""
    t = np.array([start_tdb_s] + [t for t, _ in generation], dtype=float)
    cum = np.concatenate([[0.0], np.cumsum([v for _, v in generation])])
    t.flags.writeable = cum.flags.writeable = False
    return t, cum


def sol_generation(problem, asset, clock, sol: int) -> float:
    """The data ``asset`` generates in mission ``sol`` (within the horizon): its generation steps
    (each the data of the time since the previous step) integrated over the sol, at a constant rate
    within each step, so a constant rate gives exactly its Mbit per sol for a whole sol."""
    if not asset.generation:
        return 0.0
    t, cum = _generation_curve(problem.start_tdb_s, asset.generation)
    local = sol - (clock.sol_offset or 0)
    s0, s1 = (float(x) for x in local_sol_start_tdb_s(np.array([local, local + 1]), clock.east_longitude_deg))
    g0, g1 = np.interp([max(s0, t[0]), min(s1, t[-1])], t, cum)
    return float(max(g1 - g0, 0.0))


def limited_by(pk: pd.DataFrame) -> str:
    """What limited a sol's planned volume (``pk``: the sol's rows of passes.csv): ``data`` when a
    pass was left because the asset had no data left, else the family (:data:`FAMILY`) whose
    reasons left the most link volume unused (an outage, a veto, the sol cap, energy, wake windows,
    an orbiter's store, the Earth leg, contention for the orbiters' time...), else ``link`` (the
    passes offered no more)."""
    if "reason" not in pk:
        return "link"
    unused = pk[~pk["used"].astype(bool)]
    if (unused["reason"] == "data_limited").any():
        return "data"
    lost: dict[str, float] = {}
    for reason, vol in zip(unused["reason"], unused["volume_mbit"].astype(float) if "volume_mbit" in unused
                           else [1.0] * len(unused)):
        fam = FAMILY.get(reason, "link")
        if fam != "link" and vol > 0:
            lost[fam] = lost.get(fam, 0.0) + float(vol)
    return max(sorted(lost), key=lambda f: lost[f]) if lost else "link"


def stranded_warnings(summary, relayed_by_orbiter: dict[str, float], *, max_aboard_share: float = 0.25) -> list[str]:
    """Warnings about data relayed to orbiters that cannot bring it home in the horizon: an orbiter
    that holds relay sessions but delivers nothing, or more than ``max_aboard_share`` of the relayed
    data still aboard at the end."""
    out = []
    fig = summary.figures
    for orb, relayed in sorted(relayed_by_orbiter.items()):
        if relayed > 0 and fig.delivered_by_orbiter.get(orb, 0.0) <= 0.0:
            out.append(f"{orb} holds relay sessions carrying {relayed:,.1f} Mbit but delivers nothing to Earth in "
                       "the horizon (no downlink capacity): that data is stranded aboard")
    if fig.relayed_mbit > 0 and fig.onboard_end_mbit > max_aboard_share * fig.relayed_mbit:
        out.append(f"{fig.onboard_end_mbit:,.1f} Mbit ({100 * fig.onboard_end_mbit / fig.relayed_mbit:.0f} % of the "
                   f"relayed data) is still aboard the orbiters at the end of the horizon (more than "
                   f"{100 * max_aboard_share:.0f} %)")
    return out


__all__ = ["REASONS", "FAMILY", "LIMITS", "Reason", "Window", "Explainer", "volume_fn", "per_sol", "sol_generation",
           "limited_by", "stranded_warnings"]
