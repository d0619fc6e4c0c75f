"""Candidate session options from passes (model shape B1 of the planner notes).

Each pass gives its whole window as an option.  Where a pass overlaps, on the
same orbiter, a pass over another asset, the orbiter may serve each asset for
a contiguous part of the overlap, so the pass also gets split options:

* cut at the other pass's rise (this pass first) or set (this pass last),
  with the turnaround between the two sessions;
* cut at the overlap midpoint (either order);
* the pairwise volume-optimal cut (either order): the cut that maximises the
  sum of both parts' volumes, searched on a grid of the overlap then refined.

Volumes come from the link model's sub-window query, a callable
``volume(pass_id, t0_tdb_s, t1_tdb_s) -> Mbit`` (e.g.
``relay.links.VolumeTable.volume_mbit``), which includes hailing overhead.
Options shorter than ``min_session_s`` or with no volume are dropped; options
of one pass are mutually exclusive in the model.  Denser cut grids were
measured to add at most 0.01 % of volume (planner notes) and are not made.

Usage by a problem builder::

    options = session_options(passes, table.volume_mbit, min_session_s=120, turnaround_s=60,
                              elevation_score={p.pass_id: max_el[p.pass_id] / 90 for p in passes},
                              forward_assets={"Perseverance"})
    chunks = chunk_downlinks(windows, chunk_s=3600)
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence

import numpy as np

from .problem import DownlinkChunk, PassWindow, SessionOption

VolumeFn = Callable[[str, float, float], float]

_EPS_S = 1e-3


def _overlap(p: PassWindow, q: PassWindow) -> tuple[float, float] | None:
    a, b = max(p.rise_tdb_s, q.rise_tdb_s), min(p.set_tdb_s, q.set_tdb_s)
    return (a, b) if b > a else None


def _best_cut(first: PassWindow, second: PassWindow, volume: VolumeFn, lo: float, hi: float,
              turnaround_s: float, min_session_s: float, grid: int = 24,
              vectorised: bool = False) -> float | None:
    """Cut time c maximising volume(first, rise, c - tau/2) + volume(second, c + tau/2, set).

    A grid of the overlap, then two finer grids around the best point (each 2 cells wide,
    48 steps): the cut is found to 1/576 of a grid cell, three volume queries per level when
    ``volume`` takes arrays of times (``vectorised``), one per point otherwise.
    """
    half = turnaround_s / 2.0
    lo = max(lo, first.rise_tdb_s + min_session_s + half)
    hi = min(hi, second.set_tdb_s - min_session_s - half)
    if hi <= lo:
        return None

    def one(pid, t0, t1):
        if vectorised:
            return np.asarray(volume(pid, t0, t1), dtype=float)
        return np.array([float(volume(pid, a, b)) for a, b in np.broadcast(t0, t1)])

    def total(c: np.ndarray) -> np.ndarray:
        return one(first.pass_id, first.rise_tdb_s, c - half) + one(second.pass_id, c + half, second.set_tdb_s)

    best_c, best_v = lo, -np.inf
    a, b, n = lo, hi, grid
    for _ in range(3):
        cuts = np.linspace(a, b, n + 1)
        vals = total(cuts)
        k = int(np.argmax(vals))  # the first of equal maxima: the earliest cut
        if vals[k] > best_v:
            best_c, best_v = float(cuts[k]), float(vals[k])
        a, b, n = float(cuts[max(k - 1, 0)]), float(cuts[min(k + 1, n)]), 48
        if b - a < 0.5:
            break
    return best_c


def linspaces(start, stop, num: int) -> np.ndarray:
    """``np.linspace(start[r], stop[r], num)`` of each row ``r`` at once, by the same arithmetic
    row by row (``np.linspace`` of arrays treats a row of zero step differently when any row has one)."""
    start, stop = np.asarray(start, dtype=float), np.asarray(stop, dtype=float)
    div = num - 1
    delta = stop - start
    step = delta / div
    k = np.arange(0, num, dtype=float)
    y = k[None, :] * step[:, None]
    zero = step == 0
    if zero.any():
        y[zero] = (k / div)[None, :] * delta[zero, None]
    y += start[:, None]
    y[:, -1] = stop
    return y


def _best_cuts(pairs: list[tuple[PassWindow, PassWindow, float, float]], volume: VolumeFn, turnaround_s: float,
               min_session_s: float, grid: int = 24) -> list[float | None]:
    """:func:`_best_cut` of many pairs ``(first, second, lo, hi)`` at once, the same arithmetic
    level by level (the same cuts bit for bit); ``volume`` takes arrays of pass ids and times."""
    half = turnaround_s / 2.0
    out: list[float | None] = [None] * len(pairs)
    a, b, best_v, act = {}, {}, {}, []
    for r, (first, second, lo, hi) in enumerate(pairs):
        lo = max(lo, first.rise_tdb_s + min_session_s + half)
        hi = min(hi, second.set_tdb_s - min_session_s - half)
        if hi > lo:
            out[r], best_v[r], a[r], b[r] = lo, -np.inf, lo, hi
            act.append(r)
    n = grid
    for _ in range(3):
        if not act:
            break
        cuts = linspaces([a[r] for r in act], [b[r] for r in act], n + 1)
        ids1 = np.array([pairs[r][0].pass_id for r in act], dtype=object)[:, None]
        ids2 = np.array([pairs[r][1].pass_id for r in act], dtype=object)[:, None]
        rise = np.array([pairs[r][0].rise_tdb_s for r in act])[:, None]
        sets = np.array([pairs[r][1].set_tdb_s for r in act])[:, None]
        vals = (np.asarray(volume(ids1, rise, cuts - half), dtype=float)
                + np.asarray(volume(ids2, cuts + half, sets), dtype=float))
        ks = np.argmax(vals, axis=1)  # the first of equal maxima: the earliest cut
        nxt = []
        for row, r in enumerate(act):
            k = int(ks[row])
            if vals[row, k] > best_v[r]:
                out[r], best_v[r] = float(cuts[row, k]), float(vals[row, k])
            a[r], b[r] = float(cuts[row, max(k - 1, 0)]), float(cuts[row, min(k + 1, n)])
            if b[r] - a[r] >= 0.5:
                nxt.append(r)
        act, n = nxt, 48
    return out


def _pieces(p: PassWindow, others: Iterable[PassWindow], volume: VolumeFn,
            turnaround_s: float, min_session_s: float, vectorised: bool = False,
            cut: Callable[[PassWindow, PassWindow, float, float], float | None] | None = None
            ) -> list[tuple[float, float]]:
    """The (start, end) intervals of the options of pass ``p``; ``cut(first, second, lo, hi)``: the
    volume-optimal cut of two overlapping passes (default :func:`_best_cut` with ``volume``)."""
    if cut is None:
        def cut(first, second, lo, hi):
            return _best_cut(first, second, volume, lo, hi, turnaround_s, min_session_s, vectorised=vectorised)
    out = [(p.rise_tdb_s, p.set_tdb_s)]
    half = turnaround_s / 2.0
    for q in others:
        ov = _overlap(p, q)
        if ov is None:
            continue
        lo, hi = ov
        # cut at q's rise (p first) and at q's set (p last), with the turnaround
        out.append((p.rise_tdb_s, q.rise_tdb_s - turnaround_s))
        out.append((q.set_tdb_s + turnaround_s, p.set_tdb_s))
        mid = (lo + hi) / 2.0
        out.append((p.rise_tdb_s, mid - half))
        out.append((mid + half, p.set_tdb_s))
        c = cut(p, q, lo, hi)  # p first
        if c is not None:
            out.append((p.rise_tdb_s, c - half))
        c = cut(q, p, lo, hi)  # p last
        if c is not None:
            out.append((c + half, p.set_tdb_s))
    kept = set()
    for s, e in out:
        s, e = max(s, p.rise_tdb_s), min(e, p.set_tdb_s)
        if e - s >= min_session_s - _EPS_S:
            kept.add((round(s, 3), round(e, 3)))
    return sorted(kept)


def _overlapping(passes: Sequence[PassWindow]) -> Callable[[PassWindow], list[PassWindow]]:
    """``overlapping(p)``: the passes of ``p``'s orbiter that may overlap ``p`` (a superset, in
    rise order): those rising before ``p`` sets and after ``p`` rises less the orbiter's longest
    pass and a second of margin (a bisection, not a scan of every pass of the orbiter)."""
    by_orbiter: dict[str, list[PassWindow]] = defaultdict(list)
    for p in passes:
        by_orbiter[p.orbiter].append(p)
    rises: dict[str, list[float]] = {}
    longest: dict[str, float] = {}
    for orb, ps in by_orbiter.items():
        ps.sort(key=lambda q: q.rise_tdb_s)
        rises[orb] = [q.rise_tdb_s for q in ps]
        longest[orb] = max(max(q.set_tdb_s - q.rise_tdb_s for q in ps), 0.0) + 1.0

    def overlapping(p: PassWindow) -> list[PassWindow]:
        r = rises[p.orbiter]
        return by_orbiter[p.orbiter][bisect_right(r, p.rise_tdb_s - longest[p.orbiter]):
                                     bisect_left(r, p.set_tdb_s)]
    return overlapping


def session_options(passes: Sequence[PassWindow], volume: VolumeFn, *, min_session_s: float = 120.0,
                    turnaround_s: float = 60.0,
                    elevation_score: Mapping[str, float] | Callable[[str, float, float], float] | None = None,
                    forward_assets: Collection[str] = (), split: bool = True,
                    min_volume_mbit: float = 1e-6, vectorised: bool = False,
                    batched: bool = False) -> list[SessionOption]:
    """Candidate session options of every pass (whole and split), sorted by (start, orbiter, asset).

    ``elevation_score`` gives each option a 0-1 score (a mapping by pass id or a
    callable ``(pass_id, t0, t1)``; default 0).  Passes of ``forward_assets``
    give each option twice, as a "return" and as a "forward" session.  With
    ``split=False`` only whole passes are options (model shape A).
    Option ids are ``<pass_id>#<k>`` (k = 0 is the whole pass when it qualifies).
    ``vectorised``: ``volume`` accepts arrays of times (as ``VolumeTable.volume_mbit`` does),
    so the cut searches query many times at once.  ``batched``: ``volume`` also accepts arrays
    of pass ids (broadcast against the times), so every pass's cut searches run level by level
    in a few queries (:func:`_best_cuts`, each pair of passes searched once) and every option's
    capacity in one (the same figures: a horizon of a year makes some 300,000 queries otherwise).
    """
    ordered = sorted(passes, key=lambda p: (p.rise_tdb_s, p.pass_id))
    overlapping = _overlapping(passes)
    others = {p.pass_id: [q for q in overlapping(p) if q.asset != p.asset and q.pass_id != p.pass_id
                          and q.rise_tdb_s < p.set_tdb_s and p.rise_tdb_s < q.set_tdb_s] if split else []
              for p in ordered}  # the passes it overlaps (the others give no option: _pieces skips them)
    cut = _batched_cuts(ordered, others, volume, turnaround_s, min_session_s) if batched else None
    pieces = {}
    for p in ordered:
        ps = _pieces(p, others[p.pass_id], volume, turnaround_s, min_session_s, vectorised, cut=cut)
        ps.sort(key=lambda se: (se != (round(p.rise_tdb_s, 3), round(p.set_tdb_s, 3)), se))
        pieces[p.pass_id] = ps
    caps = _capacities(ordered, pieces, volume, vectorised, batched)
    out: list[SessionOption] = []
    for p in ordered:
        for k, (s, e) in enumerate(pieces[p.pass_id]):
            cap = float(caps[p.pass_id][k])
            if not cap >= min_volume_mbit:
                continue
            if callable(elevation_score):
                score = float(elevation_score(p.pass_id, s, e))
            elif elevation_score is not None:
                score = float(elevation_score.get(p.pass_id, 0.0))
            else:
                score = 0.0
            kinds = ("return", "forward") if p.asset in forward_assets else ("return",)
            for kind in kinds:
                suffix = "" if kind == "return" else "f"
                out.append(SessionOption(option_id=f"{p.pass_id}#{k}{suffix}", pass_id=p.pass_id,
                                         orbiter=p.orbiter, asset=p.asset, start_tdb_s=s, end_tdb_s=e,
                                         capacity_mbit=cap, kind=kind,
                                         elevation_score=min(max(score, 0.0), 1.0)))
    out.sort(key=lambda x: (x.start_tdb_s, x.orbiter, x.asset, x.option_id))
    return out


def _batched_cuts(ordered: Sequence[PassWindow], others: Mapping[str, list[PassWindow]], volume: VolumeFn,
                  turnaround_s: float, min_session_s: float):
    """The cut function :func:`_pieces` takes, every pair's search made in advance by :func:`_best_cuts`."""
    index: dict[tuple[str, str], int] = {}
    pairs = []
    for p in ordered:
        for q in others[p.pass_id]:
            ov = _overlap(p, q)
            if ov is None:
                continue
            for first, second in ((p, q), (q, p)):
                if (first.pass_id, second.pass_id) not in index:
                    index[(first.pass_id, second.pass_id)] = len(pairs)
                    pairs.append((first, second, *ov))
    cuts = _best_cuts(pairs, volume, turnaround_s, min_session_s)

    def cut(first: PassWindow, second: PassWindow, lo: float, hi: float) -> float | None:
        return cuts[index[(first.pass_id, second.pass_id)]]
    return cut


def _capacities(ordered: Sequence[PassWindow], pieces: Mapping[str, list[tuple[float, float]]], volume: VolumeFn,
                vectorised: bool, batched: bool) -> dict[str, Sequence[float]]:
    """The volume of each piece of each pass (one query per piece, per pass, or for all at once)."""
    if batched:
        ids = np.array([p.pass_id for p in ordered for _ in pieces[p.pass_id]], dtype=object)
        t0 = np.array([a for p in ordered for a, _ in pieces[p.pass_id]], dtype=float)
        t1 = np.array([b for p in ordered for _, b in pieces[p.pass_id]], dtype=float)
        flat = np.asarray(volume(ids, t0, t1), dtype=float) if len(ids) else np.zeros(0)
        out, k = {}, 0
        for p in ordered:
            n = len(pieces[p.pass_id])
            out[p.pass_id], k = flat[k:k + n], k + n
        return out
    caps: dict[str, Sequence[float]] = {}
    for p in ordered:
        ps = pieces[p.pass_id]
        if vectorised and ps:
            caps[p.pass_id] = np.asarray(volume(p.pass_id, np.array([a for a, _ in ps]),
                                                np.array([b for _, b in ps])), dtype=float)
        else:
            caps[p.pass_id] = [float(volume(p.pass_id, a, b)) for a, b in ps]
    return caps


def chunk_downlinks(windows: Iterable[tuple[str, str, str, float, float, float]], chunk_s: float = 0.0
                    ) -> list[DownlinkChunk]:
    """Downlink chunks from windows ``(window_id, orbiter, station, start, end, capacity_mbit)``.

    With ``chunk_s > 0`` a window is cut into ``ceil(duration / chunk_s)`` equal
    chunks sharing its capacity in proportion to their length (a constant-rate
    approximation); keep chunks few: the model grows with their square.
    """
    import math

    out = []
    for wid, orb, sta, s, e, cap in windows:
        n = max(1, math.ceil((e - s) / chunk_s - 1e-9)) if chunk_s > 0 else 1
        for k in range(n):
            a, b = s + (e - s) * k / n, s + (e - s) * (k + 1) / n
            out.append(DownlinkChunk(chunk_id=f"{wid}" if n == 1 else f"{wid}.{k}", window_id=wid,
                                     orbiter=orb, station=sta, start_tdb_s=a, end_tdb_s=b,
                                     capacity_mbit=cap / n))
    out.sort(key=lambda d: (d.start_tdb_s, d.orbiter, d.chunk_id))
    return out
