"""Request status of a plan: which of its sessions meet each relay request of the instance.

The rule is the one of :mod:`relay.planning.problem` ("A request is met"): a
session of the request's asset (and orbiter, when set) lying in the request's
window within :data:`~relay.planning.problem.TOL_S`, lasting at least
``min_duration_s``, of kind "forward" for a forward request, carrying at least
``min_mbit``; a request is met when ``count`` sessions meet it.
:func:`request_status` gives every request's status for requests.csv and the
report (``requests_table``), matching each request by its own record (never by
its id's text), in time linear in the requests: the sessions are indexed by
asset and start once, and each request looks only at the sessions starting in
its window.  The validator checks rule R27 on its own
(:mod:`relay.planning.validate`), independently of this module.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict

from .problem import TOL_S


def request_status(problem, sessions) -> list[dict]:
    """Each request of ``problem`` with the sessions that meet it (by the rule of problem.py,
    "A request is met"): ``id, asset, orbiter, kind, priority, start_tdb_s, end_tdb_s, met,
    sessions`` (option ids, ';'-joined, in the order of ``sessions``) and ``points``.
    ``sessions``: the plan's Session records or rows with ``option_id, orbiter, asset, kind,
    start_tdb_s, end_tdb_s, volume_mbit``."""
    ss = list(sessions.itertuples(index=False)) if hasattr(sessions, "itertuples") else list(sessions)
    index = SessionIndex(ss)
    rows = []
    for r in problem.requests:
        hits = index.meeting(r)
        met = len(hits) >= r.count
        rows.append({"id": r.id, "asset": r.asset, "orbiter": r.orbiter or "", "kind": r.kind,
                     "priority": r.priority, "start_tdb_s": r.start_tdb_s, "end_tdb_s": r.end_tdb_s,
                     "met": met, "sessions": ";".join(str(s.option_id) for s in hits),
                     "points": r.points if met and r.priority == "preferred" else 0.0, "note": r.note})
    return rows


class SessionIndex:
    """A plan's sessions by asset, sorted by start, to find the ones meeting a request without
    looking at the others."""

    def __init__(self, sessions):
        by_asset: dict[str, list] = defaultdict(list)
        for i, s in enumerate(sessions):
            by_asset[s.asset].append((float(s.start_tdb_s), i, s))
        self._by_asset = {a: sorted(v, key=lambda t: (t[0], t[1])) for a, v in by_asset.items()}
        self._starts = {a: [t[0] for t in v] for a, v in self._by_asset.items()}

    def meeting(self, r) -> list:
        """The sessions meeting request ``r``, in their original order."""
        rows = self._by_asset.get(r.asset)
        if not rows:
            return []
        starts = self._starts[r.asset]
        lo = bisect_left(starts, r.start_tdb_s - TOL_S)
        hi = bisect_right(starts, r.end_tdb_s + TOL_S)
        hits = sorted((i, s) for _, i, s in rows[lo:hi] if request_met_by(r, s))
        return [s for _, s in hits]


def request_met_by(r, s, tol_s: float = TOL_S, tol_mbit: float = 1e-6) -> bool:
    """Whether session ``s`` meets request ``r`` (problem.py, "A request is met")."""
    return (s.asset == r.asset and (r.orbiter is None or s.orbiter == r.orbiter)
            and (r.kind == "return" or s.kind == "forward")
            and float(s.start_tdb_s) >= r.start_tdb_s - tol_s and float(s.end_tdb_s) <= r.end_tdb_s + tol_s
            and float(s.end_tdb_s) - float(s.start_tdb_s) >= r.min_duration_s - tol_s
            and float(s.volume_mbit) >= r.min_mbit - tol_mbit)


__all__ = ["request_status", "request_met_by", "SessionIndex"]
