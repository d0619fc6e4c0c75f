"""The linear-time routines of the model building and the greedy (issue 23) against straightforward
references on random small cases: the greedy's incremental data and store checks against the
old scans and the whole-horizon replay of the store, the decisional rows and the requirement
members cut by bisection against the scans, the batched cut searches of the option builder
against the pass-by-pass ones.  The references are written out here, independent of the code."""
from __future__ import annotations

import dataclasses
import math
from bisect import bisect_right
from itertools import accumulate

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relay.planning import greedy
from relay.planning.formulation import RowValues, build, fifo_row, fifo_terms, fifo_terms_scan, requirement_members
from relay.planning.options import linspaces, session_options
from relay.planning.problem import DownlinkChunk, PassWindow
from relay.planning.build import hosts
from relay.planning.synthetic import SineVolume, instance

SETTINGS = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.fixture
def monkeypatch_block(monkeypatch):
    """Set the incremental state's block size (positions per block) for the states built next."""
    return lambda n: monkeypatch.setattr(greedy, "BLOCK", n)


# ---------------------------------------------------------------------------
# references (the scans the linear routines replace)
# ---------------------------------------------------------------------------

def ref_data_slack(state: greedy.FeasibilityState, i: int) -> int:
    """The asset's data left for option i: every held session of the asset re-sorted and summed."""
    F = state.F
    x = F.options[i]
    times, avail = F.avail_u[x.asset].times, F.avail_u[x.asset].units
    held = sorted((F.options[j].end_tdb_s, state.vol[j]) for j in range(len(F.options))
                  if state.taken[j] and F.options[j].asset == x.asset)
    ends = [e for e, _ in held]
    used = [0, *accumulate(u for _, u in held)]
    slack = avail[bisect_right(times, x.end_tdb_s + 1e-9)] - used[bisect_right(ends, x.end_tdb_s + 1e-9)]
    for e in ends:
        if e > x.end_tdb_s:
            slack = min(slack, avail[bisect_right(times, e + 1e-9)] - used[bisect_right(ends, e + 1e-9)])
    return max(slack, 0)


def ref_best_volume(state: greedy.FeasibilityState, i: int) -> int:
    """The largest volume by bisection on the whole-horizon replay of the store."""
    hi = min(state.F.cap_u[i], ref_data_slack(state, i))
    if hi <= 0:
        return 0
    orb = state.F.options[i].orbiter
    if state.simulate(orb, (i, hi)).feasible:
        return hi
    lo = 0
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if state.simulate(orb, (i, mid)).feasible:
            lo = mid
        else:
            hi = mid
    return lo


class ReplayState(greedy.FeasibilityState):
    """The greedy's state with the reference checks (every check a scan or a whole replay)."""

    def data_slack(self, i: int) -> int:
        return ref_data_slack(self, i)

    def best_volume(self, i: int) -> int:
        return ref_best_volume(self, i)

    def store_feasible(self, i: int, units: int) -> bool:
        return self.simulate(self.F.options[i].orbiter, (i, units)).feasible


def with_ragged_chunks(P, rng, n: int):
    """``P`` with ``n`` more downlink chunks, some overlapping others of their orbiter, some starting
    exactly where an option ends (ties of the store's checks)."""
    extra = []
    for k in range(n):
        o = P.orbiters[int(rng.integers(len(P.orbiters)))].name
        mine = [x for x in P.options if x.orbiter == o]
        s = mine[int(rng.integers(len(mine)))].end_tdb_s if mine and rng.random() < 0.5 \
            else float(rng.uniform(P.start_tdb_s, P.end_tdb_s - 600))
        d = float(rng.uniform(300, 7200))
        extra.append(DownlinkChunk(f"X{k}", f"XW{k}", o, "DSS9", s, min(s + d, P.end_tdb_s),
                                   float(rng.uniform(0.5, 30.0))))
    chunks = sorted((*P.downlinks, *extra), key=lambda c: (c.start_tdb_s, c.orbiter, c.chunk_id))
    return dataclasses.replace(P, downlinks=tuple(chunks))


def random_problem(seed: int, start: float, ragged: int, requirements: bool = False):
    P = instance(seed, n_orbiters=2, n_assets=2, days=1.5, tight=True, chunk_s=1800.0 if seed % 2 else 0.0,
                 start_tdb_s=start, requirements=requirements)
    return with_ragged_chunks(P, np.random.default_rng(seed), ragged) if ragged else P


# ---------------------------------------------------------------------------
# the greedy's state
# ---------------------------------------------------------------------------

@SETTINGS
@given(seed=st.integers(0, 10_000), start=st.sampled_from([0.0, 8.0e8]), ragged=st.integers(0, 6),
       overfill=st.booleans(), block=st.sampled_from([1, 3, 128]))
def test_incremental_checks_match_the_replay(seed, start, ragged, overfill, block, monkeypatch_block):
    """Along a random sequence of held sessions (some with more than fits, with ``overfill``: the
    replay's fallback), the data slack, the store check at several volumes and the best volume
    of every option agree with the scans and the whole-horizon replay (blocks of 1, 3 and 128
    positions in the incremental state)."""
    monkeypatch_block(block)
    F = build(random_problem(seed, start, ragged))
    rng = np.random.default_rng(seed + 1)
    state = greedy.FeasibilityState(F)
    order = rng.permutation(len(F.options))
    for step, i in enumerate(order):
        i = int(i)
        for j in range(len(F.options)):
            if not state.taken[j]:
                assert state.data_slack(j) == ref_data_slack(state, j)
        if step % 3 == 0:
            for j in range(len(F.options)):
                if not state.taken[j]:
                    orb = F.options[j].orbiter
                    for u in {1, F.cap_u[j], int(rng.integers(1, 4 * F.cap_u[j] + 2)), 10**6}:
                        assert state.store_feasible(j, u) == state.simulate(orb, (j, u)).feasible
                    assert state.best_volume(j) == ref_best_volume(state, j)
        if not state.can_take(i):
            continue
        u = state.best_volume(i)
        if overfill and rng.random() < 0.2:
            u = int(rng.integers(u, 3 * F.cap_u[i] + 2))
        state.take(i, u)


@SETTINGS
@given(seed=st.integers(0, 10_000), start=st.sampled_from([0.0, 8.0e8]), ragged=st.integers(0, 6),
       block=st.sampled_from([1, 5, 128]))
def test_greedy_is_the_replay_greedy(seed, start, ragged, block, monkeypatch_block):
    """Both greedy orders give the same value vector with the incremental checks as with the replay."""
    monkeypatch_block(block)
    F = build(random_problem(seed, start, ragged, requirements=seed % 3 == 0))
    for rule in greedy.RULES:
        assert greedy.greedy_values_by(F, rule) == greedy.greedy_values_by(F, rule, ReplayState(F))


# ---------------------------------------------------------------------------
# the model's rows
# ---------------------------------------------------------------------------

def scan_members(F, asset, orbiter, kind, start, end, min_dur, need=0, tol=1e-6):
    opts = F.options
    return [i for i in F.by_asset.get(asset, [])
            if (orbiter is None or opts[i].orbiter == orbiter) and (kind == "return" or opts[i].kind == "forward")
            and opts[i].start_tdb_s >= start - tol and opts[i].end_tdb_s <= end + tol
            and opts[i].duration_s >= min_dur - tol and F.cap_u[i] >= need]


@SETTINGS
@given(seed=st.integers(0, 10_000), start=st.sampled_from([0.0, 8.0e8]), ragged=st.integers(0, 6),
       data=st.data())
def test_rows_cut_by_bisection_match_the_scans(seed, start, ragged, data):
    """The first-in-first-out rows of the decisional requirements (every option against every
    deadline) and the members of random requirement windows equal the scans'."""
    F = build(random_problem(seed, start, ragged, requirements=True))
    cache: dict = {}
    span = F.problem.end_tdb_s - F.problem.start_tdb_s
    for x in F.options:
        for deadline in (x.end_tdb_s, x.end_tdb_s + 0.3 * span, F.problem.end_tdb_s,
                         data.draw(st.floats(F.problem.start_tdb_s, F.problem.end_tdb_s))):
            assert fifo_terms(F, x, deadline, cache) == fifo_terms_scan(F, x, deadline)
    for _ in range(20):
        a = data.draw(st.sampled_from([a.name for a in F.problem.assets]))
        o = data.draw(st.sampled_from([None, *(o.name for o in F.problem.orbiters)]))
        kind = data.draw(st.sampled_from(["return", "forward"]))
        t0 = data.draw(st.floats(F.problem.start_tdb_s - 600, F.problem.end_tdb_s))
        t1 = t0 + data.draw(st.floats(0, span))
        if data.draw(st.booleans()) and F.options:  # a window edge exactly at an option's start or end
            x = F.options[data.draw(st.integers(0, len(F.options) - 1))]
            t0, t1 = x.start_tdb_s, max(t1, x.end_tdb_s)
        dur, need = data.draw(st.sampled_from([0.0, 200.0, 600.0])), data.draw(st.integers(0, 50))
        assert requirement_members(F, a, o, kind, t0, t1, dur, need, cache=cache) == \
            scan_members(F, a, o, kind, t0, t1, dur, need)


def test_decisional_rows_are_those_of_the_scan():
    """The built model's first-in-first-out rows are exactly the scan's, on an instance with many
    decisional candidates."""
    F = build(instance(7, n_orbiters=2, n_assets=2, days=4, tight=True, requirements=True, chunk_s=1800.0))
    assert F.y
    rows = {e.lit: e for e in F.enforced if e.coef != [1] or len(e.idx) != 1}
    for (r, i), y in F.y.items():
        terms = fifo_terms_scan(F, F.options[i], F.problem.decisional_requirements[r].deadline_tdb_s)
        keys = sorted(terms)
        assert (rows[y].idx, rows[y].coef) == (keys, [terms[k] for k in keys])


# ---------------------------------------------------------------------------
# the option builder
# ---------------------------------------------------------------------------

def array_volume(vol: SineVolume):
    """``vol`` taking arrays of pass ids and times (broadcast), element by element."""
    one = np.vectorize(lambda p, a, b: vol(p, float(a), float(b)), otypes=[float])

    def volume(pid, t0, t1):
        out = one(pid, t0, t1)
        return float(out) if np.ndim(out) == 0 else out
    return volume


@SETTINGS
@given(seed=st.integers(0, 10_000), n=st.integers(1, 40), turnaround=st.sampled_from([0.0, 60.0, 120.0]))
def test_batched_cut_searches_match_pass_by_pass(seed, n, turnaround):
    """Options built with every cut search batched level by level equal those built pass by pass."""
    rng = np.random.default_rng(seed)
    passes = []
    for k in range(n):
        t = float(rng.uniform(0, 20_000))
        passes.append(PassWindow(f"P{k}", f"O{rng.integers(2)}", f"A{rng.integers(3)}", t,
                                 t + float(rng.uniform(150, 900))))
    vol = SineVolume(passes, {p.pass_id: float(rng.choice([128, 256, 1024])) for p in passes})
    kw = dict(min_session_s=120.0, turnaround_s=turnaround, forward_assets={"A0"})
    one_by_one = session_options(passes, array_volume(vol), vectorised=True, **kw)
    batched = session_options(passes, array_volume(vol), vectorised=True, batched=True, **kw)
    scalar = session_options(passes, vol, **kw)
    assert batched == one_by_one
    assert [(x.option_id, x.start_tdb_s, x.end_tdb_s) for x in batched] == \
        [(x.option_id, x.start_tdb_s, x.end_tdb_s) for x in scalar]
    assert all(math.isclose(a.capacity_mbit, b.capacity_mbit, rel_tol=1e-12, abs_tol=1e-12)
               for a, b in zip(batched, scalar))


@SETTINGS
@given(seed=st.integers(0, 10_000), ragged=st.integers(0, 6), data=st.data())
def test_fifo_rows_are_the_sorted_scan(seed, ragged, data):
    """:func:`fifo_row` (lists, no dict) is the scan's row with its variables sorted."""
    F = build(random_problem(seed, 8.0e8, ragged, requirements=True))
    cache: dict = {}
    for x in F.options:
        deadline = data.draw(st.floats(x.end_tdb_s - 3600, F.problem.end_tdb_s))
        terms = fifo_terms_scan(F, x, deadline)
        keys = sorted(terms)
        assert fifo_row(F, x, deadline, cache) == (keys, [terms[k] for k in keys])


@SETTINGS
@given(rows=st.lists(st.tuples(st.floats(-1e9, 1e9), st.floats(0, 1e4), st.booleans()), min_size=1, max_size=30),
       num=st.sampled_from([2, 3, 25, 49]))
def test_linspaces_are_numpys_row_by_row(rows, num):
    """Every row of :func:`linspaces` is ``np.linspace`` of its ends bit for bit, rows of zero
    step among them included."""
    start = [a for a, _, _ in rows]
    stop = [a if zero else a + d for a, d, zero in rows]
    got = linspaces(start, stop, num)
    want = np.array([np.linspace(a, b, num) for a, b in zip(start, stop)])
    assert got.tobytes() == want.tobytes()


# ---------------------------------------------------------------------------
# pass hosts of committed sessions, changes against a previous plan
# ---------------------------------------------------------------------------

def scan_host(windows, orbiter, asset, s, e):
    best, most = None, 0.0
    for w in windows:
        if w.orbiter == orbiter and w.asset == asset:
            ov = min(e, w.set_tdb_s) - max(s, w.rise_tdb_s)
            if ov > most:
                best, most = w, ov
    return best


@SETTINGS
@given(seed=st.integers(0, 10_000), n=st.integers(0, 40), shuffled=st.booleans())
def test_hosts_are_the_scans(seed, n, shuffled):
    """The pass that overlaps a committed session most, found by bisection, is the scan's (ties:
    the first in the windows' order), windows in rise order or not."""
    rng = np.random.default_rng(seed)
    ws = [PassWindow(f"P{k}", f"O{rng.integers(2)}", f"A{rng.integers(2)}", t, t + float(rng.uniform(60, 900)))
          for k, t in enumerate(sorted(rng.uniform(0, 10_000, n)))]
    if shuffled:
        ws = [ws[k] for k in rng.permutation(len(ws))]
    host = hosts(ws)
    for _ in range(40):
        s = float(rng.uniform(-500, 10_500))
        e = s + float(rng.uniform(0, 1500))
        if ws and rng.random() < 0.3:  # exactly on a window's edges
            w = ws[int(rng.integers(len(ws)))]
            s, e = w.rise_tdb_s, w.set_tdb_s
        o, a = f"O{rng.integers(2)}", f"A{rng.integers(2)}"
        assert host(o, a, s, e) is scan_host(ws, o, a, s, e)


def scan_changes(previous, sessions, t0, t1):
    prev = previous[(previous["end_tdb_s"] > t0) & (previous["start_tdb_s"] < t1)]
    kept = moved = 0
    for r in prev.itertuples(index=False):
        same = sessions[(sessions["orbiter"] == r.orbiter) & (sessions["asset"] == r.asset)
                        & (sessions["start_tdb_s"] < r.end_tdb_s) & (sessions["end_tdb_s"] > r.start_tdb_s)]
        if not len(same):
            continue
        if ((same["start_tdb_s"] - r.start_tdb_s).abs().min() < 1e-3
                and (same["end_tdb_s"] - r.end_tdb_s).abs().min() < 1e-3):
            kept += 1
        else:
            moved += 1
    return (int(len(prev)), kept, moved, int(len(prev)) - kept - moved)


@SETTINGS
@given(seed=st.integers(0, 10_000), n=st.integers(0, 30), m=st.integers(0, 30))
def test_changes_vs_previous_are_the_scans(seed, n, m):
    """Kept, moved and dropped sessions of a previous plan, counted by bisection, are the scan's."""
    import pandas as pd

    from relay.pipeline import Span, changes_vs

    rng = np.random.default_rng(seed)

    def frame(k, base=None):
        rows = []
        for j in range(k):
            if base is not None and len(base) and rng.random() < 0.5:  # the same or nearly the same session
                r = base.iloc[int(rng.integers(len(base)))]
                d = float(rng.choice([0.0, 0.0005, 0.5, 30.0]))
                rows.append((r.orbiter, r.asset, r.start_tdb_s + d, r.end_tdb_s + float(rng.choice([0.0, d]))))
                continue
            s = float(rng.uniform(0, 20_000))
            rows.append((f"O{rng.integers(2)}", f"A{rng.integers(2)}", s, s + float(rng.uniform(100, 900))))
        return pd.DataFrame(rows, columns=["orbiter", "asset", "start_tdb_s", "end_tdb_s"])

    sessions = frame(m)
    previous = frame(n, sessions)
    t0, t1 = 1000.0, 19_000.0
    c = changes_vs(previous, sessions, Span(t0, t1, (t1 - t0) / 86400))
    assert (c.previous, c.kept, c.moved, c.dropped) == scan_changes(previous, sessions, t0, t1)


@SETTINGS
@given(vals=st.lists(st.integers(-10**6, 10**6), min_size=1, max_size=200), data=st.data())
def test_row_values_are_the_sums(vals, data):
    """A row's value, long or short, machine integers or not, is the plain sum, and stays so after ``set``."""
    for vs in (vals, [*vals[:-1], 2**70]):   # the last: beyond a machine integer
        value = RowValues(list(vs))
        copy = list(vs)
        for _ in range(5):
            idx = data.draw(st.lists(st.integers(0, len(vs) - 1), max_size=100, unique=True))
            coef = [data.draw(st.integers(-5, 5)) for _ in idx]
            assert value(idx, coef) == sum(c * copy[k] for k, c in zip(idx, coef))
            k = data.draw(st.integers(0, len(vs) - 1))
            copy[k] = 1
            value.vals[k] = 1
            value.set(k, 1)
