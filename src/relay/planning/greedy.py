"""A strong greedy baseline: best value first, every constraint respected.

1. Fixed sessions are taken first.
2. Forward-link requirements: for each, the most valuable eligible forward
   options are taken until the count is met (where the constraints allow).
3. All other options in decreasing order of value (priority weight x capacity,
   or that per second of radio time: both orders are run and the better plan
   is kept; ties by elevation, then earlier start): an option is taken when none of its
   exclusive groups (pass, orbiter and asset cliques) holds a taken option and
   the per-sol caps and energy allow it; its volume is the largest that keeps
   the asset's data availability and the orbiter store feasible, found by
   bisection on a simulation in which every downlink chunk sends as much as is
   aboard at its start, highest priority first.  Under a daily downlink-hours
   cap (issue 19) the simulation uses, of each orbiter's chunks in a capped
   UTC day, the largest first while the day's hours allow (ties: the earlier).

The checks do not replay the horizon (issue 23: a year of network-6 tries some
230,000 options): :class:`FeasibilityState` keeps, per asset, the data left at
each option's end and, per orbiter, each chunk's sends and the room left in the
store at each option's end, updated as sessions are held; one more session
moves only the sends of the chunks that absorb it, so its check looks at the
held sessions between its end and theirs (tests/test_build_linear.py checks
every answer against the whole-horizon replay, :meth:`FeasibilityState.simulate`).

The result is a value vector of the same :class:`~.formulation.Formulation`
as the exact solvers (so it can hint CP-SAT and its objective compares exactly).
"""
from __future__ import annotations

import time
from bisect import bisect_left, bisect_right
from collections import defaultdict
from typing import NamedTuple

import numpy as np

from ..summary import SolveReport
from .formulation import ONBOARD, POINT_SCALE, Formulation, build, settle_soft, to_plan
from .plan import Plan
from .problem import Problem


class Simulation(NamedTuple):
    """The as-soon-as-possible downlinks of one orbiter (:meth:`FeasibilityState.simulate`)."""

    feasible: bool                          # the store never exceeds its capacity
    sent: dict[tuple[int, str], int]        # (chunk index, flow) -> units sent


def chunks_over_the_cap(F: Formulation, prefer: frozenset[int] = frozenset()) -> set[int]:
    """The chunks the greedy leaves unused so that every daily downlink-hours cap holds: per
    capped day (``F.hours_groups``), the chunks of ``prefer`` first (the ones a window plan chose,
    :func:`relay.planning.windows.window_values`), then the largest chunks first (ties: the earlier)
    while the hours allow, the rest left out (on the baseline week this greedy delivers 7671 Mbit,
    7259 taking the earliest first)."""
    out: set[int] = set()
    for g in F.hours_groups:
        kept = within_hours(g, sorted(g.chunks, key=lambda ci: (ci not in prefer, -F.chunk_cap_u[ci], ci)))
        out.update(ci for ci in g.chunks if ci not in kept)
    return out


def within_hours(g, order: list[int]) -> set[int]:
    """The chunks of the capped day ``g`` (a :class:`~.formulation.HoursGroup`) kept when taken in
    ``order`` while their seconds still fit in the day's hours (a chunk that does not fit is
    skipped, a later shorter one may still fit)."""
    secs = dict(zip(g.chunks, g.secs))
    left, kept = g.budget_s, set()
    for ci in order:
        if secs[ci] <= left:
            left -= secs[ci]
            kept.add(ci)
    return kept


#: an inactive position of :class:`_SuffixBlocks` (never the minimum of a range holding an active one)
_BIG = 1 << 62
#: positions per block of :class:`_SuffixBlocks` (a state reads it when built; tests make it small)
BLOCK = 128


class _SuffixBlocks:
    """Integers at positions ``0..n-1``, each active or not, in blocks of ``B`` with a pending add
    per block: add to every position from one on (:meth:`add_from`), read one (:meth:`get`),
    activate one (:meth:`activate`), the least active value of a range (:meth:`min_range`); each
    in a few array operations of at most ``B`` or ``n / B`` elements, so the greedy's checks no
    longer grow with the horizon (exact: integers; an inactive position holds ``_BIG`` plus the
    adds, which stay far below ``_BIG``, in the array the minima are taken of)."""

    def __init__(self, values: list[int]):
        n, B = len(values), BLOCK
        self.n, self.B = n, B
        self.v = np.array(values, dtype=np.int64)      # every position (without the blocks' pending adds)
        self.w = self.v + _BIG                           # the same, _BIG more where inactive
        nb = (n + B - 1) // B
        self.lazy = np.zeros(nb, dtype=np.int64)        # added to every position of the block
        self.bmin = np.full(nb, _BIG, dtype=np.int64)   # least w of the block (pending add aside)
        for b in range(nb):
            self.bmin[b] = self.w[b * B:(b + 1) * B].min()

    def add_from(self, lo: int, x: int) -> None:
        if lo >= self.n or not x:
            return
        b = lo // self.B
        hi = min((b + 1) * self.B, self.n)
        self.v[lo:hi] += x
        self.w[lo:hi] += x
        self.bmin[b] = self.w[b * self.B:hi].min()
        self.lazy[b + 1:] += x

    def get(self, p: int) -> int:
        return int(self.v[p] + self.lazy[p // self.B])

    def activate(self, p: int) -> None:
        if self.w[p] != self.v[p]:
            self.w[p] = self.v[p]
            b = p // self.B
            self.bmin[b] = min(int(self.bmin[b]), int(self.v[p]))

    def min_range(self, lo: int, hi: int) -> int | None:
        """The least active value in ``[lo, hi)``, None when none is active."""
        hi = min(hi, self.n)
        if lo >= hi:
            return None
        B = self.B
        bl, bh = lo // B, (hi - 1) // B
        if bl == bh:
            best = int(self.w[lo:hi].min() + self.lazy[bl])
        else:
            best = min(int(self.w[lo:(bl + 1) * B].min() + self.lazy[bl]),
                       int(self.w[bh * B:hi].min() + self.lazy[bh]))
            if bh > bl + 1:
                best = min(best, int((self.bmin[bl + 1:bh] + self.lazy[bl + 1:bh]).min()))
        return None if best >= _BIG // 2 else best


class _AssetData:
    """One asset's data availability for :meth:`FeasibilityState.data_slack`, kept as sessions are
    held: at each option's end (sorted), the data available by then less the volume of the held
    sessions ending by then (+ 1e-9 s), active where a held session ends."""

    def __init__(self, F: Formulation, opts: list[int], asset: str):
        if asset not in F.avail_u:  # a model without the availability family: data_slack fails as it did
            self.left = None
            return
        times, avail = F.avail_u[asset].times, F.avail_u[asset].units
        order = sorted(opts, key=lambda i: F.options[i].end_tdb_s)
        self.pos = {i: k for k, i in enumerate(order)}
        self.ends = [F.options[i].end_tdb_s for i in order]
        self.ends_plus = [e + 1e-9 for e in self.ends]
        self.left = _SuffixBlocks([avail[bisect_right(times, e + 1e-9)] for e in self.ends])

    def take(self, i: int, end: float, units: int) -> None:
        if self.left is not None:
            self.left.add_from(bisect_left(self.ends_plus, end), -units)
            self.left.activate(self.pos[i])

    def slack(self, i: int, end: float) -> int:
        if self.left is None:
            raise KeyError(f"no data availability in the model for option {i}'s asset")
        s = self.left.get(self.pos[i])
        later = self.left.min_range(bisect_right(self.ends, end), self.left.n)
        return max(s if later is None else min(s, later), 0)


class _Store:
    """One orbiter's store for :meth:`FeasibilityState.best_volume`, kept as sessions are held:
    the as-soon-as-possible sends of each downlink chunk (only totals matter: a chunk sends
    ``min(room, aboard)`` whatever the flows) and, at each option's end (sorted), the room left
    in the store after the arrivals up to then, active where a held session carrying data ends
    (the checks of :meth:`FeasibilityState.simulate`).  One more session of ``u`` units only
    moves the sends of the chunks it reaches until they absorb it: :meth:`feasible` checks the
    held sessions' ends in between, not the whole horizon."""

    def __init__(self, F: Formulation, opts: list[int], chunks: list[int], orbiter: str):
        order = sorted(opts, key=lambda i: F.options[i].end_tdb_s)
        self.pos = {i: k for k, i in enumerate(order)}
        self.ends = [F.options[i].end_tdb_s for i in order]
        self.ends_minus = [e - 1e-9 for e in self.ends]
        self.c_start = [F.chunks[ci].start_tdb_s + 1e-9 for ci in chunks]
        self.c_end = [F.chunks[ci].end_tdb_s for ci in chunks]
        self.spare = [F.chunk_cap_u[ci] for ci in chunks]
        self.next = list(range(len(chunks) + 1))  # a chunk with spare room at or after k (path-halved)
        self.room = _SuffixBlocks([F.store_cap_u.get(orbiter, 0) - F.init_u.get(orbiter, 0)] * len(order))
        self.broken = False  # a held volume the simulation rejects: best_volume replays the whole store
        onboard = F.onboard_u[orbiter] if ONBOARD in F.flows.get(orbiter, []) else 0
        for k, e in self._cascade(0, onboard):
            self._send(k, e)

    def _find(self, k: int) -> int:
        nxt = self.next
        while nxt[k] != k:
            nxt[k] = nxt[nxt[k]]
            k = nxt[k]
        return k

    def _cascade(self, k: int, units: int) -> list[tuple[int, int]]:
        """(chunk, units) more sent when ``units`` more are aboard before chunk ``k``."""
        out = []
        k = self._find(k)
        while units > 0 and k < len(self.spare):
            e = min(self.spare[k], units)
            out.append((k, e))
            units -= e
            k = self._find(k + 1)
        return out

    def _popped(self, k: int) -> int:
        """The first option end whose check counts chunk ``k``'s send as gone (chunk processed, ended)."""
        return max(bisect_right(self.ends, self.c_start[k]), bisect_right(self.ends_minus, self.c_end[k]))

    def _send(self, k: int, e: int) -> None:
        self.spare[k] -= e
        if not self.spare[k]:
            self.next[k] = k + 1
        self.room.add_from(self._popped(k), e)

    def feasible(self, end: float, units: int) -> bool:
        """Whether the store stays within capacity with one more session of ``units`` ending at ``end``."""
        if units <= 0:
            return True
        p0 = bisect_right(self.ends, end)
        if self.room.get(p0 - 1) < units:
            return False  # its own arrival (and those at the same time) overfill the store
        sends = self._cascade(bisect_left(self.c_start, end), units)
        steps = sorted((self._popped(k), e) for k, e in sends)
        lo, owed = p0, units  # owed: what the arrival still adds to the fill at the checks from lo
        for r, e in steps:
            if r > lo:
                least = self.room.min_range(lo, r)
                if least is not None and least < owed:
                    return False
                lo = r
            owed -= e
        if owed > 0:
            least = self.room.min_range(lo, self.room.n)
            return least is None or least >= owed
        return True

    def take(self, i: int, end: float, units: int) -> None:
        if units <= 0:
            return
        if not self.feasible(end, units):
            self.broken = True
        self.room.add_from(bisect_left(self.ends, end), -units)
        self.room.activate(self.pos[i])
        for k, e in self._cascade(bisect_left(self.c_start, end), units):
            self._send(k, e)


class FeasibilityState:
    """A set of held sessions of a :class:`~.formulation.Formulation` that keeps every hard
    constraint, grown one session at a time (the greedy's state, and the rolling-window mode's).

    Interface:

    * :meth:`can_take` ``(i)``: option ``i`` may be added without breaking an exclusivity group
      (pass, orbiter and asset cliques), a per-sol cap or a per-sol energy budget;
    * :meth:`best_volume` ``(i)``: the largest volume (units) option ``i`` may carry given the
      sessions already held (its capacity, its asset's available data, its orbiter's store);
    * :meth:`min_volume` ``(i)``: the fewest units option ``i`` must carry to be held;
    * :meth:`take` ``(i, units)``: hold option ``i`` with that volume;
    * :attr:`taken` (per option: held?) and :attr:`vol` (per option: units) are read-only views
      for callers; :meth:`simulate` ``(orbiter)`` gives the as-soon-as-possible downlinks.
    """

    def __init__(self, F: Formulation, prefer: frozenset[int] = frozenset()):
        """``prefer``: chunks used first under a daily downlink-hours cap (:func:`chunks_over_the_cap`)."""
        self.F = F
        self.vol = [0] * len(F.options)  # units, per option (0 if not taken)
        self.taken = [False] * len(F.options)
        self.chunks_by_orb: dict[str, list[int]] = defaultdict(list)
        left_out = chunks_over_the_cap(F, prefer)
        for ci, c in enumerate(F.chunks):
            if ci not in left_out:
                self.chunks_by_orb[c.orbiter].append(ci)
        self.opts_by_orb: dict[str, list[int]] = defaultdict(list)
        self.opts_by_asset: dict[str, list[int]] = defaultdict(list)
        self.held_by_orb: dict[str, list[int]] = defaultdict(list)    # options taken, per orbiter
        self.held_by_asset: dict[str, list[int]] = defaultdict(list)  # and per asset
        for i, x in enumerate(F.options):
            self.opts_by_orb[x.orbiter].append(i)
            self.opts_by_asset[x.asset].append(i)
        self.group_of: dict[int, list[int]] = defaultdict(list)  # b var -> AtMostOne groups
        for g, members in enumerate(F.at_most_one):
            for var in members:
                self.group_of[var].append(g)
        self.group_used = [False] * len(F.at_most_one)
        self.sol_of: dict[int, list[int]] = defaultdict(list)
        self.sol_count = [0] * len(F.sol_groups)
        for k, grp in enumerate(F.sol_groups):
            for var in grp.b_vars:
                self.sol_of[var].append(k)
        self.energy_of: dict[int, list[tuple[int, int]]] = defaultdict(list)
        self.energy_used = [0] * len(F.energy_groups)
        for k, grp in enumerate(F.energy_groups):
            for var, c in zip(grp.b_vars, grp.coefs):
                self.energy_of[var].append((k, c))
        # what data_slack and best_volume check, kept as sessions are held (not replayed each time)
        self._data = {a: _AssetData(F, opts, a) for a, opts in self.opts_by_asset.items()}
        self._store = {o: _Store(F, opts, self.chunks_by_orb.get(o, []), o) for o, opts in self.opts_by_orb.items()}

    # -- feasibility of holding option i ----------------------------------------
    def can_take(self, i: int) -> bool:
        F, bvar = self.F, self.F.b[i]
        if self.taken[i] or any(self.group_used[g] for g in self.group_of[bvar]):
            return False
        if any(self.sol_count[k] + 1 > F.sol_groups[k].cap for k in self.sol_of[bvar]):
            return False
        return all(self.energy_used[k] + c <= F.energy_groups[k].budget for k, c in self.energy_of[bvar])

    def take(self, i: int, volume_u: int) -> None:
        bvar, x = self.F.b[i], self.F.options[i]
        self.taken[i] = True
        self.vol[i] = volume_u
        self._data[x.asset].take(i, x.end_tdb_s, volume_u)
        self._store[x.orbiter].take(i, x.end_tdb_s, volume_u)
        self.held_by_orb[self.F.options[i].orbiter].append(i)
        self.held_by_asset[self.F.options[i].asset].append(i)
        for g in self.group_of[bvar]:
            self.group_used[g] = True
        for k in self.sol_of[bvar]:
            self.sol_count[k] += 1
        for k, c in self.energy_of[bvar]:
            self.energy_used[k] += c

    def take_up_to(self, i: int, volume_u: int) -> int | None:
        """Hold option i with at most ``volume_u`` units, as many as still fit, if it can be held
        and then carries at least its minimum: the units taken, or None when not held."""
        if not self.can_take(i):
            return None
        u = min(volume_u, self.best_volume(i))
        if u < self.min_volume(i):
            return None  # a return session left with (too) little to carry is not held
        self.take(i, u)
        return u

    @property
    def down(self) -> dict[str, dict[tuple[int, str], int]]:
        """The as-soon-as-possible downlinks of each orbiter holding sessions: units per (chunk,
        flow) (computed when asked: :meth:`take` no longer simulates the store each time)."""
        return {orb: self.simulate(orb).sent for orb, held in self.held_by_orb.items() if held}

    # -- volumes -----------------------------------------------------------------
    def data_slack(self, i: int) -> int:
        """Largest extra volume option i may carry without exceeding its asset's available data: at
        its end and at every later end of a held session of the asset, the data available by then
        less what the held sessions ending by then carry (+ 1e-9 s)."""
        x = self.F.options[i]
        return self._data[x.asset].slack(i, x.end_tdb_s)

    def simulate(self, orbiter: str, extra: tuple[int, int] | None = None) -> "Simulation":
        """ASAP downlinks of one orbiter, with ``extra`` = (option, units) added to the held
        sessions: whether the store stays within capacity, and the units sent per (chunk, flow)."""
        F = self.F
        flows = F.flows.get(orbiter, [])
        arrivals = [(F.options[j].end_tdb_s, F.options[j].asset, self.vol[j])
                    for j in self.held_by_orb[orbiter] if self.vol[j] > 0]
        if extra is not None and extra[1] > 0:
            j, u = extra
            arrivals.append((F.options[j].end_tdb_s, F.options[j].asset, u))
        arrivals.sort()
        aboard = {f: 0 for f in flows}
        if ONBOARD in aboard:
            aboard[ONBOARD] = F.onboard_u[orbiter]
        fill = F.init_u[orbiter]
        cap = F.store_cap_u[orbiter]
        order = sorted(flows, key=lambda f: (-F.flow_weight[(orbiter, f)], f))
        sent: dict[tuple[int, str], int] = {}
        pending_out: list[tuple[float, int]] = []  # (chunk end, units) not yet removed from the fill
        k = 0
        held = sum(aboard.values())  # units aboard not yet sent (a chunk with none sends nothing)
        for ci in self.chunks_by_orb.get(orbiter, []):
            if not held and k == len(arrivals):
                break  # nothing aboard and nothing to come: the later chunks send nothing
            c = F.chunks[ci]
            # arrivals up to the chunk start, with the capacity check before each drain that precedes them
            while k < len(arrivals) and arrivals[k][0] <= c.start_tdb_s + 1e-9:
                t, f, u = arrivals[k]
                pending_out.sort()
                while pending_out and pending_out[0][0] < t - 1e-9:
                    fill -= pending_out.pop(0)[1]
                fill += u
                aboard[f] += u
                held += u
                if fill > cap:
                    return Simulation(False, sent)
                k += 1
            if not held:
                continue
            room = F.chunk_cap_u[ci]
            total = 0
            for f in order:
                u = min(room, aboard[f])
                if u > 0:
                    sent[(ci, f)] = u
                    aboard[f] -= u
                    room -= u
                    total += u
            if total:
                held -= total
                pending_out.append((c.end_tdb_s, total))
        while k < len(arrivals):
            t, f, u = arrivals[k]
            pending_out.sort()
            while pending_out and pending_out[0][0] < t - 1e-9:
                fill -= pending_out.pop(0)[1]
            fill += u
            if fill > cap:
                return Simulation(False, sent)
            k += 1
        return Simulation(True, sent)

    def store_feasible(self, i: int, units: int) -> bool:
        """Whether holding option ``i`` with ``units`` more keeps its orbiter's store within capacity
        (``simulate(orbiter, (i, units)).feasible``, checked without replaying the whole horizon
        unless the held sessions already overfill the simulated store)."""
        x = self.F.options[i]
        store = self._store[x.orbiter]
        if store.broken:
            return self.simulate(x.orbiter, (i, units)).feasible
        return store.feasible(x.end_tdb_s, units)

    def min_volume(self, i: int) -> int:
        """The fewest units option i must carry when held (the formulation's ``min_units``)."""
        return self.F.min_u[i]

    def best_volume(self, i: int) -> int:
        hi = min(self.F.cap_u[i], self.data_slack(i))
        if hi <= 0:
            return 0
        if self.store_feasible(i, hi):
            return hi
        lo = 0  # feasible
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self.store_feasible(i, mid):
                lo = mid
            else:
                hi = mid
        return lo


#: the orders the greedy tries (the best plan wins): "value" takes the most valuable option
#: first; "density" the most valuable per second of radio time (turnaround included), which
#: prefers the parts of a split pass that leave the rest of the overflight to the other asset
RULES = ("value", "density")


def greedy_values(F: Formulation) -> list[int]:
    """A feasible value vector of ``F``: the best, by the model's objective, of the greedy
    orders in :data:`RULES` (see the module docstring)."""
    best, best_obj = None, None
    for rule in RULES:
        vals = greedy_values_by(F, rule)
        obj = F.objective_value(vals)
        if best_obj is None or obj > best_obj:
            best, best_obj = vals, obj
    return best


def greedy_values_by(F: Formulation, rule: str, st: "FeasibilityState | None" = None) -> list[int]:
    """The greedy by ``rule``; ``st`` a state already holding some sessions (kept), or None."""
    st = st or FeasibilityState(F)
    P = F.problem
    weight = {a.name: a.priority_weight for a in P.assets}

    def key(i):
        x = F.options[i]
        # value in points: the volume, plus what holding it keeps of a previous plan
        value = weight[x.asset] * F.cap_u[i] * F.unit * P.objective.delivered_per_mbit + x.keep_points
        if rule == "density":
            value /= x.duration_s + P.turnaround_s
        return (-value, -x.elevation_score, x.start_tdb_s, x.option_id)

    for i in sorted((i for i, x in enumerate(F.options) if x.fixed and not st.taken[i]), key=key):
        st.take(i, st.best_volume(i))  # fixed: the exclusivity was decided by whoever fixed it
    for r in sorted(F.fwd_members):
        need = P.forward_requirements[r].count - sum(st.taken[i] for i in F.fwd_members[r])
        for i in sorted(F.fwd_members[r], key=key):
            if need <= 0:
                break
            if st.can_take(i):
                st.take(i, st.best_volume(i))
                need -= 1
    for i in sorted(range(len(F.options)), key=key):
        if st.can_take(i):
            u = st.best_volume(i)
            if u > 0 and u >= st.min_volume(i):
                st.take(i, u)
    return values_from_state(F, st)


def values_from_state(F: Formulation, st: FeasibilityState) -> list[int]:
    """The full value vector of the sessions held in ``st`` (downlinks as soon as possible,
    highest priority first; shortfalls and decisional indicators as they come out)."""
    vals = [0] * F.num_vars
    for i in range(len(F.options)):
        vals[F.b[i]] = int(st.taken[i])
        vals[F.v[i]] = st.vol[i]
    for orb in F.flows:
        for (ci, f), u in st.simulate(orb).sent.items():
            vals[F.d[(ci, f)]] = u
    return settle_soft(F, vals)


def solve(problem: Problem, settings=None, *, formulation: Formulation | None = None) -> Plan:
    """The greedy plan of ``problem`` (``settings`` is accepted for symmetry and unused)."""
    t0 = time.perf_counter()
    F = formulation or build(problem)
    vals = greedy_values(F)
    return to_plan(F, vals, SolveReport(solver="greedy", status="FEASIBLE",
                                        solve_time_s=round(time.perf_counter() - t0, 3)))
