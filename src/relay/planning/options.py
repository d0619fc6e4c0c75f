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


def _pieces(p: PassWindow, others: Iterable[PassWindow], volume: VolumeFn,
            turnaround_s: float, min_session_s: float, vectorised: bool = False) -> list[tuple[float, float]]:
    """The (start, end) intervals of the options of pass ``p``."""
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
        c = _best_cut(p, q, volume, lo, hi, turnaround_s, min_session_s, vectorised=vectorised)  # p first
        if c is not None:
            out.append((p.rise_tdb_s, c - half))
        c = _best_cut(q, p, volume, lo, hi, turnaround_s, min_session_s, vectorised=vectorised)  # p last
        if c is not None:
            out.append((c + half, p.set_tdb_s))
    kept = set()
    for s, e in out:
        s, e = max(s, p.rise_tdb_s), min(e, p.set_tdb_s)
        if e - s >= min_session_s - _EPS_S:
            kept.add((round(s, 3), round(e, 3)))
    return sorted(kept)


def session_options(passes: Sequence[PassWindow], volume: VolumeFn, *, min_session_s: float = 120.0,
                    turnaround_s: float = 60.0,
                    elevation_score: Mapping[str, float] | Callable[[str, float, float], float] | None = None,
                    forward_assets: Collection[str] = (), split: bool = True,
                    min_volume_mbit: float = 1e-6, vectorised: bool = False) -> list[SessionOption]:
    """Candidate session options of every pass (whole and split), sorted by (start, orbiter, asset).

    ``elevation_score`` gives each option a 0-1 score (a mapping by pass id or a
    callable ``(pass_id, t0, t1)``; default 0).  Passes of ``forward_assets``
    give each option twice, as a "return" and as a "forward" session.  With
    ``split=False`` only whole passes are options (model shape A).
    Option ids are ``<pass_id>#<k>`` (k = 0 is the whole pass when it qualifies).
    ``vectorised``: ``volume`` accepts arrays of times (as ``VolumeTable.volume_mbit`` does),
    so the cut searches query many times at once.
    """
    by_orbiter: dict[str, list[PassWindow]] = defaultdict(list)
    for p in passes:
        by_orbiter[p.orbiter].append(p)
    out: list[SessionOption] = []
    for p in sorted(passes, key=lambda p: (p.rise_tdb_s, p.pass_id)):
        # the passes it overlaps (the others give no option: _pieces skips them)
        others = [q for q in by_orbiter[p.orbiter] if q.asset != p.asset and q.pass_id != p.pass_id
                  and q.rise_tdb_s < p.set_tdb_s and p.rise_tdb_s < q.set_tdb_s] if split else []
        pieces = _pieces(p, others, volume, turnaround_s, min_session_s, vectorised)
        pieces.sort(key=lambda se: (se != (round(p.rise_tdb_s, 3), round(p.set_tdb_s, 3)), se))
        if vectorised and pieces:
            caps = np.asarray(volume(p.pass_id, np.array([a for a, _ in pieces]), np.array([b for _, b in pieces])),
                              dtype=float)
        else:
            caps = [float(volume(p.pass_id, a, b)) for a, b in pieces]
        for k, (s, e) in enumerate(pieces):
            cap = float(caps[k])
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
