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
   option at all is ``no_volume`` (too short or too weak a link for any
   session) or ``frozen`` (inside the frozen period);
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
model's answer, not a guess.  :func:`per_sol` adds, per asset and mission
sol, the link capacity the passes offered, the data the asset had, the volume
planned and what limited it; :func:`stranded_warnings` flags data relayed to
an orbiter that cannot bring it home.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .planning.formulation import build
from .planning.greedy import FeasibilityState
from .sols import clocks_of
from .timescales import tdb_s_to_iso

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


def _used_reason(p, held: list, sessions_by_orbiter: dict, tt: TimeTexts) -> Reason:
    """The reason of a pass with held sessions (``held``: its sessions)."""
    if any(s.fixed for s in held):
        return Reason("fixed", "committed session kept as given")
    s = held[0]
    if s.start_tdb_s <= p.rise_tdb_s + 1.0 and s.end_tdb_s >= p.set_tdb_s - 1.0:
        return Reason("whole", f"{tt.hms(s.start_tdb_s)}-{tt.hms(s.end_tdb_s)} UTC")
    cuts = ([f"starts at {tt.hms(s.start_tdb_s)}"] if s.start_tdb_s > p.rise_tdb_s + 1.0 else []) + \
           ([f"ends at {tt.hms(s.end_tdb_s)}"] if s.end_tdb_s < p.set_tdb_s - 1.0 else [])
    others = [o for o in sessions_by_orbiter.get(p.orbiter, ())
              if o.asset != p.asset and o.start_tdb_s < p.set_tdb_s and o.end_tdb_s > p.rise_tdb_s]
    if others:
        o = others[0]
        return Reason("split", f"shared with {o.asset} ({tt.hms(o.start_tdb_s)}-{tt.hms(o.end_tdb_s)} UTC); "
                               + ", ".join(cuts))
    return Reason("cut", ", ".join(cuts) + f" (pass {tt.hms(p.rise_tdb_s)}-{tt.hms(p.set_tdb_s)} UTC)")


class Explainer:
    """Reasons for the passes of one solved plan (``problem``, its raw ``plan``)."""

    def __init__(self, problem, plan, frozen_until_tdb_s: float | None = None):
        self.P, self.plan, self.frozen = problem, plan, frozen_until_tdb_s
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
        self.by_orbiter: dict[str, list] = {}
        self.by_asset: dict[str, list] = {}
        for s in plan.sessions:
            self.held_by_pass.setdefault(s.pass_id, []).append(s)
            self.by_orbiter.setdefault(s.orbiter, []).append(s)
            self.by_asset.setdefault(s.asset, []).append(s)
        # the times the explanations name, converted to text at once
        self.tt = TimeTexts([t for w in problem.passes for t in (w.rise_tdb_s, w.set_tdb_s)]
                            + [t for x in F.options for t in (x.start_tdb_s, x.end_tdb_s)]
                            + [t for x in plan.sessions for t in (x.start_tdb_s, x.end_tdb_s)])

    def reason(self, p) -> Reason:
        held = self.held_by_pass.get(p.pass_id)
        if held:
            return _used_reason(p, held, self.by_orbiter, self.tt)
        opts = self.opts_of_pass.get(p.pass_id, [])
        if not opts:
            if self.frozen is not None and p.rise_tdb_s < self.frozen:
                return Reason("frozen", f"the frozen period lasts until {self.tt.iso(self.frozen)}")
            op = _operational_reason(self.P, p, self.tt)
            if op is not None:
                return op
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
        sol) is unmet, in the same vocabulary: the reasons of the passes in its window."""
        P = self.P
        sol = v.local_sol if v.local_sol is not None else v.sol
        if v.requirement == "forward_link":
            req = next((r for r in P.forward_requirements if r.asset == v.asset and r.sol == sol), None)
            if req is not None:
                return self._window(v.asset, req.start_tdb_s, req.end_tdb_s, req.min_duration_s, "forward")
        if v.requirement == "decisional":
            req = next((r for r in P.decisional_requirements if r.asset == v.asset and r.sol == sol), None)
            if req is not None:
                held = [s for s in self.by_asset.get(v.asset, ()) if s.kind == "return"
                        and req.start_tdb_s <= s.start_tdb_s and s.end_tdb_s <= req.end_tdb_s
                        and s.volume_mbit >= req.min_volume_mbit - 1e-9]
                if held:
                    return Reason("earth_limited", f"the data of the {self.tt.hms(held[0].start_tdb_s)} UTC session does not "
                                                   f"reach Earth before the deadline {self.tt.iso(req.deadline_tdb_s)}")
                return self._window(v.asset, req.start_tdb_s, req.end_tdb_s, P.min_session_s, "return")
        if v.requirement == "fixed_session":
            return Reason("fixed", v.detail)
        if v.requirement == "request":
            req = next((r for r in P.requests if f"request {r.id} " in v.detail), None)
            if req is not None:
                return self._window(v.asset, req.start_tdb_s, req.end_tdb_s, max(P.min_session_s, req.min_duration_s),
                                    req.kind, orbiter=req.orbiter)
        return Reason(v.requirement, v.detail)

    def _window(self, asset: str, t0: float, t1: float, min_s: float, kind: str, orbiter: str | None = None) -> Reason:
        """The reason a window gets no (more) session of ``kind``: the reasons of its passes."""
        ps = [p for p in self.P.passes if p.asset == asset and p.rise_tdb_s < t1 and p.set_tdb_s > t0
              and min(p.set_tdb_s, t1) - max(p.rise_tdb_s, t0) >= min_s - 1e-6 and orbiter in (None, p.orbiter)]
        if not ps:
            return Reason("no_volume", f"no pass of {asset}{' by ' + orbiter if orbiter else ''} of at least "
                                       f"{min_s:.0f} s in the window "
                                       f"{self.tt.iso(t0)} to {self.tt.iso(t1)}")
        parts, codes, serving = [], [], []
        for p in ps:
            held = self.held_by_pass.get(p.pass_id)
            if held and any(s.kind == kind for s in held):
                serving.append(p.pass_id)
                continue
            r = Reason("taken", f"used for {held[0].kind} data") if held else self.reason(p)
            parts.append(f"{p.pass_id} ({p.orbiter}) {r.code}: {r.detail}")
            codes.append(r.code)
        if not codes:
            return Reason("no_volume", f"no further pass of {asset} of at least {min_s:.0f} s in the window "
                                       f"{self.tt.iso(t0)} to {self.tt.iso(t1)} ({', '.join(serving)} already serve it)")
        code = max(sorted(set(codes)), key=codes.count)
        return Reason(code, "; ".join(parts))

    def table(self) -> pd.DataFrame:
        """``pass_id, reason, reason_detail`` for every pass of the problem."""
        rows = [(p.pass_id, *self.reason(p).__dict__.values()) for p in self.P.passes]
        return pd.DataFrame(rows, columns=["pass_id", "reason", "reason_detail"])


def per_sol(problem, passes: pd.DataFrame, sessions: pd.DataFrame) -> pd.DataFrame:
    """Per asset and mission sol: ``capacity_mbit`` (what the passes could carry),
    ``data_mbit`` (the data the asset had to send: backlog on the first sol plus the
    sol's generation), ``planned_mbit`` (relayed by the plan) and ``limited_by``:
    ``data`` (it sent all it had), ``earth`` (passes left for store or downlink reasons),
    ``constraint`` (passes left for exclusivity, caps, energy or wake windows) or ``link``
    (the passes offered no more)."""
    clocks = clocks_of(problem)
    rows = []
    for a in problem.assets:
        c = clocks.get(a.name)
        if c is None:
            continue
        ps = passes[passes["asset"] == a.name]
        ss = sessions[sessions["asset"] == a.name]
        gen_t = np.array([t for t, _ in a.generation], dtype=float)
        gen_v = np.array([v for _, v in a.generation], dtype=float)
        gen_sol = c.sol(gen_t) if len(gen_t) else np.array([], dtype=int)
        sols = sorted(set(int(s) for s in ps["sol"] if s != "") | set(int(s) for s in ss["sol"] if s != ""))
        for k, sol in enumerate(sols):
            pk = ps[ps["sol"] == sol]
            cap = float(pk["volume_mbit"].astype(float).sum()) if "volume_mbit" in pk else float("nan")
            data = float(gen_v[gen_sol == sol].sum()) + (a.backlog_mbit if k == 0 else 0.0)
            planned = float(ss.loc[ss["sol"] == sol, "volume_mbit"].sum())
            reasons = set(pk.loc[~pk["used"].astype(bool), "reason"]) if "reason" in pk else set()
            rows.append({"asset": a.name, "sol": sol, "capacity_mbit": round(cap, 3), "data_mbit": round(data, 3),
                         "planned_mbit": round(planned, 3), "limited_by": _limited_by(reasons, planned, cap)})
    return pd.DataFrame(rows, columns=["asset", "sol", "capacity_mbit", "data_mbit", "planned_mbit", "limited_by"])


def _limited_by(reasons: set, planned: float, capacity: float) -> str:
    if "data_limited" in reasons:
        return "data"
    if reasons & {"store_full", "earth_limited"}:
        return "earth"
    if reasons & {"taken", "sol_cap", "energy", "outside_wake", "conjunction", "frozen", "better_alternative"}:
        return "constraint"
    return "link"


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


__all__ = ["REASONS", "Reason", "Explainer", "per_sol", "stranded_warnings"]
