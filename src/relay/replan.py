"""Re-solving a plan's instance after an operational change (issue 11), no geometry recomputed.

A plan keeps what re-planning needs beside its instance (see
:mod:`relay.planfolder`: ``problem.json``, the instance with the outages,
vetoes and requests already applied, and ``volumes.npz``, the
:class:`~relay.planstate.ReplanState`).  :func:`resolve` reads new inputs
(locks, vetoes, outages, requests; see :mod:`relay.operations`) against the
plan's names, applies them ON TOP of the ones the instance already had
(:func:`relay.planning.apply.apply`: a cut session's volume comes from the
saved VolumeTable) and re-solves.  It works on plain pieces (an instance, a
state, settings) and returns plain pieces: :meth:`relay.result.PlanResult.replan`
turns them into the new plan's tables and its diff against the old one; a bad
input raises :class:`~relay.errors.RelayInputError` before anything is written.

Re-planning goes both ways: :func:`lift` takes outages and vetoes off the
instance, withdraws requests and releases locks (:class:`Lifts`).  An outage
or veto is named by its row, the same one given to ``relay plan`` or ``relay
replan`` (a CSV file, ``FILE:LINE`` for one row of it, a DataFrame or records;
it matches the plan's record of the same target, span and kind); a request by
its id.  What they removed or cut comes back exactly: every re-plan keeps, in
the plan's state (volumes.npz), each option and downlink chunk as it was before
an operation removed, cut or (a lock) replaced it (:func:`relay.planning.apply.apply`'s
``originals``), and lifting restores those it touched and cuts them again by
the outages and vetoes that remain.  Options a ``relay plan`` run's own
outages or vetoes removed were not kept (the plan folder holds only the cut
instance): lifting one of those is refused with an error that says so.
"""
from __future__ import annotations

import dataclasses
import re
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import RelayInputError
from .inputs import read_forbid, read_outages, read_requests, read_sessions_table
from .operations import Operations
from .planstate import ReplanState
from .planning.apply import apply, cut_chunk, cut_option, forward_twins, volume_fn
from .planning.plan import Plan
from .planning.problem import Problem
from .planning.solve import solve
from .sols import clocks_of
from .timescales import tdb_s_to_iso


def asset_clocks(problem: Problem) -> dict:
    """The assets as the readers take them: name -> sol clock (a request by sol needs it)."""
    clocks = clocks_of(problem)
    return {a.name: clocks.get(a.name) for a in problem.assets}


def table_of(src):
    """An input table as the readers take it: a CSV path or DataFrame as it is, a record (a dict)
    or a list of records as a DataFrame (None where a record has no value)."""
    if isinstance(src, dict):
        src = [src]
    if isinstance(src, (list, tuple)) and src and all(isinstance(r, dict) for r in src):
        return pd.DataFrame([{k: ("" if v is None else v) for k, v in r.items()} for r in src]).fillna("")
    return src


def rows_of(src, read):
    """The records ``read`` (a reader of :mod:`relay.inputs`) makes of ``src``: a table (see
    :func:`table_of`), ``FILE:LINE`` (that row of FILE only), or a list of those."""
    if src is None or (isinstance(src, (list, tuple)) and not src):
        return ()
    if isinstance(src, (list, tuple)) and not all(isinstance(r, dict) for r in src):
        return tuple(x for one in src for x in rows_of(one, read))
    m = re.fullmatch(r"(.+):(\d+)", src) if isinstance(src, str) else None
    if m and not Path(src).exists() and Path(m.group(1)).is_file():
        recs = read(m.group(1))
        recs = recs if isinstance(recs, pd.DataFrame) else tuple(r for r in recs if r.where == f"line {m.group(2)}")
        if isinstance(recs, pd.DataFrame):
            recs = recs[recs["line"] == int(m.group(2))]
        if not len(recs):
            raise RelayInputError(f"has no row at line {m.group(2)}; expected FILE:LINE naming a row of the file",
                                  source=m.group(1))
        return recs
    return read(table_of(src))


def read_operations(problem: Problem, state: ReplanState | None, *, lock=None, forbid=None, outages=None,
                    requests=None) -> Operations:
    """The new operational inputs (CSV paths, DataFrames or records, see :func:`rows_of`) read
    against the names of the plan (its instance, and the station names its state saved), as one
    :class:`relay.operations.Operations`."""
    orbiters = [o.name for o in problem.orbiters]
    assets = [a.name for a in problem.assets]
    stations = list(state.stations) if state is not None and state.stations else \
        sorted({d.station for d in problem.downlinks})
    locks = rows_of(lock, lambda t: read_sessions_table(t, orbiters=orbiters, assets=assets,
                                                        min_session_s=problem.min_session_s,
                                                        turnaround_s=problem.turnaround_s)) \
        if lock is not None else None
    return Operations(
        outages=rows_of(outages, lambda t: read_outages(t, orbiters=orbiters, stations=stations,
                                                        assets=asset_clocks(problem))),
        forbid=rows_of(forbid, lambda t: read_forbid(t, orbiters=orbiters, assets=assets)),
        requests=rows_of(requests, lambda t: read_requests(t, assets=asset_clocks(problem), orbiters=orbiters)),
        locks=locks)


# ----------------------------------------------------------------------------- lifting

@dataclass(frozen=True)
class Lifts:
    """What a re-plan takes away: outages and vetoes (records of :mod:`relay.operations`,
    matched to the plan's own by target, kind and span), request ids to withdraw, and locks (a
    fixed-sessions table) to release."""

    outages: tuple = ()
    forbid: tuple = ()
    withdraw: tuple[str, ...] = ()
    locks: object = None

    def __bool__(self) -> bool:
        return bool(self.outages or self.forbid or self.withdraw or (self.locks is not None and len(self.locks)))


def read_lifts(problem: Problem, state: ReplanState | None, *, outages=None, forbid=None, withdraw=None,
               locks=None) -> Lifts:
    """The outages and vetoes to lift and the locks to release (rows as :func:`rows_of` reads
    them) and the request ids to withdraw (a string or a list of them)."""
    ops = read_operations(problem, state, lock=locks, forbid=forbid, outages=outages)
    ids = (withdraw,) if isinstance(withdraw, str) else tuple(withdraw or ())
    return Lifts(ops.outages, ops.forbid, tuple(str(i) for i in ids), ops.locks)


def _near(a, b) -> bool:
    return a is not None and b is not None and abs(float(a) - float(b)) < 1e-3


def _matching(rec, spans, same) -> int:
    """The index in ``spans`` of the plan's record ``rec`` names, or an error naming its row."""
    for k, sp in enumerate(spans):
        if same(rec, sp):
            return k
    what = "outage" if hasattr(rec, "target") else "veto"
    raise RelayInputError(f"the {what} to lift is not one of the plan's {what}s; expected a row the plan (or a "
                          f"re-plan of it) was given, with the same target, span and kind", source=rec.source,
                          where=rec.where)


def _same_outage(rec, sp) -> bool:
    return rec.target == sp.target and rec.what == sp.what and (rec.orbiter or None) == sp.orbiter \
        and _near(rec.start_tdb_s, sp.start_tdb_s) and _near(rec.end_tdb_s, sp.end_tdb_s)


def _same_veto(rec, sp) -> bool:
    if rec.pass_id is not None or sp.pass_id is not None:
        return rec.pass_id == sp.pass_id
    return (rec.orbiter, rec.asset) == (sp.orbiter, sp.asset) and _near(rec.start_tdb_s, sp.start_tdb_s) \
        and _near(rec.end_tdb_s, sp.end_tdb_s)


def _released(P: Problem, locks) -> set[str]:
    """The ids of the fixed (locked) options the rows of ``locks`` name (same pair and span)."""
    out = set()
    if locks is None or not len(locks):
        return out
    src, label = locks.attrs.get("source", "locks"), locks.attrs.get("label", "row")
    for i, r in enumerate(locks.itertuples(index=False)):
        s, e = max(float(r.start_tdb_s), P.start_tdb_s), min(float(r.end_tdb_s), P.end_tdb_s)
        hit = [x for x in P.options if x.fixed and (x.orbiter, x.asset) == (r.orbiter, r.asset)
               and _near(x.start_tdb_s, s) and _near(x.end_tdb_s, e)]
        if not hit:
            raise RelayInputError(f"the lock to release, {r.orbiter} -> {r.asset} {tdb_s_to_iso(s)} to "
                                  f"{tdb_s_to_iso(e)}, is not a locked session of the plan; expected a row of the "
                                  "locks it was given", source=src, where=f"{label} {getattr(r, 'line', i + 1)}")
        out.update(x.option_id for x in hit)
    return out


def _check_withdraw(P: Problem, ids) -> None:
    known = {r.id for r in P.requests}
    for i in ids:
        if i not in known:
            raise RelayInputError(f"request {i!r} is not a request of the plan; expected one of "
                                  f"{', '.join(sorted(known)) or '(none: the plan has no requests)'}",
                                  source="withdraw")


def lift(problem: Problem, lifts: Lifts, originals: dict, *, volume=None) -> Problem:
    """``problem`` without the outages and vetoes of ``lifts``, its withdrawn requests and its
    released locks: the options and chunks they had removed or cut (``originals``, id -> the
    un-cut option or chunk) restored and cut again by the outages and vetoes that remain."""
    P = problem
    gone_out = {_matching(r, P.outages, _same_outage) for r in lifts.outages}
    gone_veto = {_matching(r, P.forbid, _same_veto) for r in lifts.forbid}
    _check_withdraw(P, lifts.withdraw)
    released = _released(P, lifts.locks)
    outages = tuple(o for k, o in enumerate(P.outages) if k not in gone_out)
    vetoes = tuple(v for k, v in enumerate(P.forbid) if k not in gone_veto)
    requests = tuple(r for r in P.requests if r.id not in set(lifts.withdraw))
    freed = [P.outages[k] for k in gone_out] + [P.forbid[k] for k in gone_veto]
    opened = {x.pass_id for x in P.options if x.option_id in released}
    kept_passes = {x.pass_id for x in originals.get("options", {}).values()}
    for pid in sorted(opened - kept_passes)[:1]:
        raise RelayInputError(f"the lock of pass {pid} was given when the plan was made (relay plan --fixed), and "
                              "the plan folder keeps only that locked session, not the pass's other options; "
                              "expected a lock given to relay replan --lock (plan again without it to release it)",
                              source="release lock")
    _check_kept(freed, originals)
    restore = _to_restore(originals.get("options", {}), freed, opened)
    locked = {x.pass_id for x in P.options if x.fixed and x.option_id not in released}
    restore = {k: x for k, x in restore.items() if x.pass_id not in locked}
    vol = volume_fn(volume)
    options = [x for x in P.options if x.option_id not in restore and x.option_id not in released]
    options += [y for y in (cut_option(P, x, outages, vetoes, vol) for x in restore.values()) if y is not None]
    chunks_back = {k: c for k, c in originals.get("downlinks", {}).items()
                   if any(_frees_chunk(o, c) for o in freed if hasattr(o, "blocks_downlink"))}
    chunks = [c for c in P.downlinks if c.chunk_id not in chunks_back]
    chunks += [y for y in (cut_chunk(P, c, outages) for c in chunks_back.values()) if y is not None]
    twins = originals.get("twins", set())
    options = forward_twins([x for x in options if x.fixed or x.option_id not in twins], requests)
    options.sort(key=lambda x: (x.start_tdb_s, x.orbiter, x.asset, x.option_id))
    if chunks_back:   # restored chunks join in time order (the others keep theirs)
        chunks.sort(key=lambda c: (c.start_tdb_s, c.orbiter, c.station, c.chunk_id))
    out = dataclasses.replace(P, options=tuple(options), downlinks=tuple(chunks), outages=outages, forbid=vetoes,
                              requests=requests)
    out.check("operations")
    return out


def _frees(sp, x) -> bool:
    """Whether the lifted outage or veto ``sp`` took (part of) the un-cut option ``x``."""
    if hasattr(sp, "blocks_session"):
        return sp.blocks_session(x.orbiter, x.asset) and x.start_tdb_s < sp.end_tdb_s and sp.start_tdb_s < x.end_tdb_s
    return sp.forbids(x.pass_id, x.orbiter, x.asset, x.start_tdb_s, x.end_tdb_s)


def _frees_chunk(sp, c) -> bool:
    return sp.blocks_downlink(c.orbiter, c.station) and c.start_tdb_s < sp.end_tdb_s and sp.start_tdb_s < c.end_tdb_s


def _to_restore(book: dict, freed, opened: set) -> dict:
    """The un-cut options a lifted outage or veto took, or of a pass a released lock held."""
    return {k: x for k, x in book.items() if not x.fixed and (x.pass_id in opened or any(_frees(sp, x) for sp in freed))}


def _check_kept(freed, originals: dict) -> None:
    """An outage or veto can be lifted exactly only when the plan folder recorded what it cut:
    ``originals["applied"]`` lists those (relay plan's and every re-plan's own); a folder of an
    older relay, which kept no such record, cannot."""
    applied = originals.get("applied", ())
    for sp in freed:
        if sp not in applied:
            what = "outage of " + sp.target if hasattr(sp, "target") else "veto"
            raise RelayInputError(f"the {what} to lift is one the plan folder kept no record of the session options "
                                  "it removed (a plan of an older relay); expected an outage or veto this plan "
                                  "recorded (to lift this one, plan again without it)", source="lift")


@dataclass(frozen=True)
class Resolved:
    """A re-solved instance: the new instance, its solver plan and the seconds each took
    (``problem``: reading and applying the inputs; ``solve``); ``warnings``: a sentence for each
    new outage, veto or lock that changes nothing (:func:`relay.planning.apply.unmatched`);
    ``operations`` the input records read and ``lifts`` the ones taken away (they name their file
    and line, for the diff's causes); ``state`` the plan's state with what this re-plan removed
    or cut kept (for lifting it later)."""

    problem: Problem
    plan: Plan
    timings: dict
    warnings: tuple = ()
    operations: Operations | None = None
    lifts: Lifts | None = None
    state: ReplanState | None = None


def resolve(problem: Problem, state: ReplanState, *, lock=None, forbid=None, outages=None, requests=None,
            settings=None, lifts: Lifts | None = None) -> Resolved:
    """``problem`` (a plan's instance) without the outages, vetoes, requests and locks of
    ``lifts`` (:func:`lift`) and with new locks, vetoes, outages and requests applied on top of the
    ones it already had, and solved with ``settings`` (None: the plan's own, saved in ``state``)."""
    t0 = time.perf_counter()
    ops = read_operations(problem, state, lock=lock, forbid=forbid, outages=outages, requests=requests)
    warnings: list[str] = []
    book = state.originals()
    base = lift(problem, lifts, book, volume=state.volumes) if lifts else problem
    new = apply(base, ops, volume=state.volumes, warnings=warnings, originals=book)
    added = [sp for sp in (*new.outages, *new.forbid) if sp not in base.outages and sp not in base.forbid]
    book["applied"] = [*book.get("applied", ()), *(sp for sp in added if sp not in book.get("applied", ()))]
    kept = state.with_originals(book)
    state = kept if kept.extra != state.extra else state   # the same state object when nothing was cut
    t1 = time.perf_counter()
    raw = solve(new, settings if settings is not None else state.settings)
    t2 = time.perf_counter()
    return Resolved(new, raw, {"problem": round(t1 - t0, 3), "solve": round(t2 - t1, 3)}, tuple(warnings), ops,
                    lifts, state)


__all__ = ["asset_clocks", "table_of", "rows_of", "read_operations", "Lifts", "read_lifts", "lift", "Resolved",
           "resolve"]
