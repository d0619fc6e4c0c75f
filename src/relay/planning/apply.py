"""Operations applied to a Problem: outages, vetoes, requests and locks become part of the instance.

:func:`apply` turns a set of :class:`relay.operations.Operations` into a planning
instance: every session option and downlink chunk that overlaps an outage of a
resource it uses, or a veto, is removed, or cut to its largest usable part when
that part still meets ``min_session_s`` and the minimum volume.  A cut option's
capacity is the link model's volume of the part (``volume``: a
:class:`relay.links.VolumeTable` or a callable ``(pass_id, t0, t1) -> Mbit``;
without one, the option's capacity pro rata of its duration); a cut downlink
chunk keeps its capacity pro rata of its duration (the chunks already share a
window's capacity at a constant rate).  Locked sessions become fixed options,
and a forward request gets forward options where only return ones exist.  The
requests are added and the outages and vetoes recorded in the Problem
(``outages``, ``forbid``, ``requests`` of problem.json) so the independent
validator checks them from problem.json alone (rules R25 to R27).

The records and their checks of a single row live in :mod:`relay.operations`;
this module checks them against the instance (names of the plan, the horizon,
pass ids) and transforms it.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

from ..errors import RelayInputError, excerpt
from ..operations import KINDS, PRIORITIES, WHATS, Operations, Outage, Request, Veto, check_order, check_unique_ids
from ..timescales import tdb_s_to_iso as _iso
from .problem import TOL_S, OutageSpan, RelayRequest, SessionOption, VetoSpan

VolumeFn = Callable[[str, float, float], float]


def volume_fn(volume) -> VolumeFn | None:
    if volume is None:
        return None
    if hasattr(volume, "volume_mbit"):
        return lambda pid, a, b: float(volume.volume_mbit(int(str(pid).lstrip("P")), a, b))
    return lambda pid, a, b: float(volume(pid, a, b))


def _free_parts(s: float, e: float, blocks: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """[s, e) minus the union of ``blocks``."""
    out, t = [], s
    for a, b in sorted(blocks):
        if b <= t:
            continue
        if a > t:
            out.append((t, min(a, e)))
        t = max(t, b)
        if t >= e:
            break
    if t < e:
        out.append((t, e))
    return [(a, b) for a, b in out if b > a]


def _covers(intervals, s: float, e: float) -> bool:
    """Whether the union of ``intervals`` covers [s, e]."""
    return not _free_parts(s, e, [(a, b) for a, b in intervals])


def apply(problem, operations: Operations | None, *, volume=None, drop_covered_locks: bool = False,
          dropped: list | None = None, warnings: list | None = None, originals: dict | None = None):
    """The instance with ``operations`` applied (see the module docstring): options and chunks
    overlapping an outage of a resource they use, or a veto, removed or cut; locks made fixed
    options; requests added (a request whose id the problem already has replaces it); the
    outages and vetoes recorded.  Bad input raises :class:`RelayInputError` naming its row.

    A fixed (locked or frozen) session under a new outage or veto is an input error; with
    ``drop_covered_locks`` (the nightly job) it is removed instead, and ``(option, why)`` is
    appended to ``dropped`` (a list the caller passes) for each one.

    An input that changes nothing (an outage or a veto that touches no session option or
    downlink chunk, a lock outside the horizon) is not an error: a sentence naming its file and
    row is appended to ``warnings`` (a list the caller passes) for each one, for the summary
    and the terminal (:func:`unmatched`).

    ``originals`` (a dict the caller passes) receives, by id, the option or chunk as it was
    before this call removed, cut or (a lock) replaced it; an id it already holds keeps its
    first version (so a plan's originals, passed on from re-plan to re-plan, stay un-cut):
    what lifting an outage, a veto or a lock restores (:func:`relay.replan.lift`)."""
    ops = operations or Operations()
    P = problem
    vol = volume_fn(volume)
    orbiters = {o.name for o in P.orbiters}
    assets = {a.name: a for a in P.assets}
    stations = {c.station for c in P.downlinks}
    passes = {p.pass_id: p for p in P.passes}
    outages = [_outage_span(o, orbiters, stations, set(assets), P) for o in ops.outages]
    vetoes = [_veto_span(v, orbiters, set(assets), passes, P) for v in ops.forbid]
    check_unique_ids(ops.requests)
    requests = [_request_span(r, orbiters, set(assets), P) for r in ops.requests]
    options = list(P.options)
    if ops.locks is not None and len(ops.locks):
        before = options
        options = _with_locks(P, options, ops.locks, vol, warnings)
        keep_originals(originals, before, options, "options")
    if warnings is not None:
        warnings.extend(unmatched(P, options, ops, outages, vetoes))
    # fixed (locked) sessions cannot move: an outage or veto over one is an input error, or (for
    # the nightly job, ``drop_covered_locks``) the session is dropped and listed in ``dropped``
    covered = covered_locks(options, ops, outages, vetoes)
    if covered and not drop_covered_locks:
        x, rec, why = covered[0]
        raise RelayInputError(why, source=rec.source, where=rec.where)
    gone = {id(x) for x, _, _ in covered}
    options = [x for x in options if id(x) not in gone]
    if dropped is not None:
        dropped.extend((x, why) for x, _, why in covered)
    for r, sp in zip(ops.requests, requests):
        if sp.priority == "required":
            _check_request_vetoes(r, sp, ops.forbid, vetoes)
    all_out = tuple(P.outages) + tuple(outages)
    all_veto = tuple(P.forbid) + tuple(vetoes)
    kept = []
    for x in options:
        y = x if x.fixed else cut_option(P, x, all_out, all_veto, vol)
        if y is not None:
            kept.append(y)
    keep_originals(originals, options, kept, "options")
    chunks = [c for c in (cut_chunk(P, c, all_out) for c in P.downlinks) if c is not None]
    keep_originals(originals, P.downlinks, chunks, "downlinks")
    new_ids = {r.id for r in requests}
    all_req = tuple(r for r in P.requests if r.id not in new_ids) + tuple(requests)
    plain = {id(x) for x in kept}
    kept = forward_twins(kept, all_req)
    if originals is not None:   # the forward twins made for requests (a withdrawn one's go)
        originals.setdefault("twins", set()).update(x.option_id for x in kept if id(x) not in plain)
    kept.sort(key=lambda x: (x.start_tdb_s, x.orbiter, x.asset, x.option_id))
    out = dataclasses.replace(P, options=tuple(kept), downlinks=tuple(chunks), outages=all_out,
                              forbid=all_veto, requests=all_req)
    out.check("operations")
    return out


def keep_originals(originals: dict | None, before, after, what: str) -> None:
    """Record in ``originals[what]`` (id -> option or chunk) each of ``before`` that ``after``
    does not hold unchanged (removed or cut), unless an earlier version is already there."""
    if originals is None:
        return
    idk = "option_id" if what == "options" else "chunk_id"
    now = {id(x) for x in after}
    book = originals.setdefault(what, {})
    for x in before:
        if id(x) not in now:
            book.setdefault(getattr(x, idk), x)


def covered_locks(options, ops: Operations, outages, vetoes) -> list[tuple]:
    """The fixed options an outage or veto of ``ops`` covers: ``(option, record, why)`` with
    the record (its source and row) and a sentence saying what covers which session."""
    out = []
    for x in options:
        if not x.fixed:
            continue
        for o, sp in zip(ops.outages, outages):
            if sp.blocks_session(x.orbiter, x.asset) and x.start_tdb_s < sp.end_tdb_s and sp.start_tdb_s < x.end_tdb_s:
                out.append((x, o, f"the outage of {o.target} ({o.what}) {_iso(o.start_tdb_s)} to {_iso(o.end_tdb_s)} "
                                  f"covers the locked session {x.orbiter} -> {x.asset} {_iso(x.start_tdb_s)} to "
                                  f"{_iso(x.end_tdb_s)}; expected no outage over a locked (fixed) session: unlock it "
                                  "or correct the outage"))
                break
        else:
            for v, sp in zip(ops.forbid, vetoes):
                if sp.forbids(x.pass_id, x.orbiter, x.asset, x.start_tdb_s, x.end_tdb_s):
                    out.append((x, v, f"the veto forbids the locked session {x.orbiter} -> {x.asset} "
                                      f"{_iso(x.start_tdb_s)} to {_iso(x.end_tdb_s)}; expected no veto over a locked "
                                      "(fixed) session"))
                    break
    return out


def _outage_span(o: Outage, orbiters, stations, assets, P):
    kind = o.kind
    if kind is None:
        kind = ("orbiter" if o.target in orbiters else "asset" if o.target in assets
                else "station" if o.target in stations else None)
        if kind is None:
            raise RelayInputError(f"target {excerpt(o.target)} is not an orbiter, station or asset of the plan; "
                                  f"expected one of {', '.join(sorted(orbiters | assets | stations))}",
                                  source=o.source, where=o.where)
    elif (kind == "orbiter" and o.target not in orbiters) or (kind == "asset" and o.target not in assets):
        raise RelayInputError(f"target {excerpt(o.target)} is not an {kind} of the plan", source=o.source,
                              where=o.where)
    if o.what not in WHATS:
        raise RelayInputError(f"what {excerpt(o.what)} is not one of 'uhf', 'xband', 'all'", source=o.source,
                              where=o.where)
    if o.orbiter is not None and o.orbiter not in orbiters:
        raise RelayInputError(f"orbiter {excerpt(o.orbiter)} is not in the plan; expected one of "
                              f"{', '.join(sorted(orbiters))}", source=o.source, where=o.where)
    check_order(o.start_tdb_s, o.end_tdb_s, o.source, o.where)
    _check_horizon(o.start_tdb_s, o.end_tdb_s, P, o.source, o.where, "outage")
    return OutageSpan(o.target, kind, o.what, float(o.start_tdb_s), float(o.end_tdb_s), o.orbiter, o.note)


def _veto_span(v: Veto, orbiters, assets, passes, P):
    if v.orbiter is not None and v.orbiter not in orbiters:
        raise RelayInputError(f"orbiter {excerpt(v.orbiter)} is not in the plan; expected one of "
                              f"{', '.join(sorted(orbiters))}", source=v.source, where=v.where)
    if v.asset is not None and v.asset not in assets:
        raise RelayInputError(f"asset {excerpt(v.asset)} is not in the plan; expected one of "
                              f"{', '.join(sorted(assets))}", source=v.source, where=v.where)
    if v.pass_id is not None:
        _check_pass_veto(v, passes)
        return VetoSpan(pass_id=v.pass_id, note=v.note)
    if v.orbiter is None and v.asset is None:
        raise RelayInputError("a veto needs an orbiter and/or an asset with start and end, or a pass_id",
                              source=v.source, where=v.where)
    if v.start_tdb_s is None or v.end_tdb_s is None:
        raise RelayInputError("a veto by orbiter or asset needs both start and end", source=v.source, where=v.where)
    check_order(v.start_tdb_s, v.end_tdb_s, v.source, v.where)
    _check_horizon(v.start_tdb_s, v.end_tdb_s, P, v.source, v.where, "veto")
    return VetoSpan(v.orbiter, v.asset, float(v.start_tdb_s), float(v.end_tdb_s), None, v.note)


def _check_pass_veto(v: Veto, passes) -> None:
    """A veto of pass ``v.pass_id``: a pass of the plan, and the orbiter, asset and span the veto
    also gives (if any) are that pass's."""
    p = passes.get(v.pass_id)
    if p is None:
        raise RelayInputError(f"pass_id {excerpt(v.pass_id)} is not a pass of the plan; expected an id such as "
                              f"{next(iter(passes), 'P00000')} (passes.csv)", source=v.source, where=v.where)
    for what, given, own in (("orbiter", v.orbiter, p.orbiter), ("asset", v.asset, p.asset)):
        if given is not None and given != own:
            raise RelayInputError(f"pass {v.pass_id} is {p.orbiter} over {p.asset}, but the veto gives {what} "
                                  f"{excerpt(given)}; expected {what} {own!r} or none", source=v.source, where=v.where)
    if v.start_tdb_s is not None and not (v.start_tdb_s < p.set_tdb_s and p.rise_tdb_s < v.end_tdb_s):
        raise RelayInputError(f"pass {v.pass_id} ({_iso(p.rise_tdb_s)} to {_iso(p.set_tdb_s)}) lies outside the "
                              f"veto's span {_iso(v.start_tdb_s)} to {_iso(v.end_tdb_s)}; expected a span "
                              "overlapping the pass, or none", source=v.source, where=v.where)


def unmatched(P, options, ops: Operations, outages, vetoes) -> list[str]:
    """A sentence (naming the file and row) for each outage of ``ops`` that touches no session
    option of ``options`` and no downlink chunk of ``P``, and each veto that forbids no option:
    inputs that change nothing, most likely a mistaken name, time or pass id."""
    out = []
    for o, sp in zip(ops.outages, outages):
        if not (any(sp.blocks_session(x.orbiter, x.asset) and x.start_tdb_s < sp.end_tdb_s
                    and sp.start_tdb_s < x.end_tdb_s for x in options)
                or any(sp.blocks_downlink(c.orbiter, c.station) and c.start_tdb_s < sp.end_tdb_s
                       and sp.start_tdb_s < c.end_tdb_s for c in P.downlinks)):
            out.append(f"{_row(o)}the outage of {o.target} ({o.what}) {_iso(sp.start_tdb_s)} to "
                       f"{_iso(sp.end_tdb_s)} touches no session option or downlink of the plan; it changes nothing")
    for v, sp in zip(ops.forbid, vetoes):
        if not any(sp.forbids(x.pass_id, x.orbiter, x.asset, x.start_tdb_s, x.end_tdb_s) for x in options):
            what = (f"pass {sp.pass_id}" if sp.pass_id is not None else
                    f"{sp.orbiter or 'any orbiter'} -> {sp.asset or 'any asset'} {_iso(sp.start_tdb_s)} to "
                    f"{_iso(sp.end_tdb_s)}")
            out.append(f"{_row(v)}the veto of {what} forbids no session option of the plan; it changes nothing")
    return out


def _row(rec) -> str:
    """``source: where: `` of an input record, for a warning."""
    return f"{rec.source}: " + (f"{rec.where}: " if rec.where else "")


def _request_span(r: Request, orbiters, assets, P):
    if r.asset not in assets:
        raise RelayInputError(f"asset {excerpt(r.asset)} is not in the plan; expected one of "
                              f"{', '.join(sorted(assets))}", source=r.source, where=r.where)
    if r.orbiter is not None and r.orbiter not in orbiters:
        raise RelayInputError(f"orbiter {excerpt(r.orbiter)} is not in the plan; expected one of "
                              f"{', '.join(sorted(orbiters))}", source=r.source, where=r.where)
    if r.kind not in KINDS or r.priority not in PRIORITIES:
        raise RelayInputError(f"kind {excerpt(r.kind)} / priority {excerpt(r.priority)}: expected kind 'return' or "
                              "'forward' and priority 'required' or 'preferred'", source=r.source, where=r.where)
    check_order(r.start_tdb_s, r.end_tdb_s, r.source, r.where)
    _check_horizon(r.start_tdb_s, r.end_tdb_s, P, r.source, r.where, "request")
    return RelayRequest(r.id, r.asset, r.kind, float(r.start_tdb_s), float(r.end_tdb_s), r.priority, r.orbiter,
                        float(r.min_mbit), float(r.min_duration_s), float(r.points), 1, r.note)


def _check_horizon(s: float, e: float, P, source, where, what: str) -> None:
    if e <= P.start_tdb_s or s >= P.end_tdb_s:
        raise RelayInputError(f"the {what} {_iso(s)} to {_iso(e)} lies outside the horizon {_iso(P.start_tdb_s)} to "
                              f"{_iso(P.end_tdb_s)}; expected a span overlapping it", source=source, where=where)


def _check_request_vetoes(r: Request, sp, vetoes_in, vetoes) -> None:
    """A required request whose window the vetoes of its asset (or orbiter) cover wholly."""
    spans, who = [], []
    for v, vs in zip(vetoes_in, vetoes):
        if vs.pass_id is not None:
            continue
        pair_ok = (vs.asset in (None, sp.asset)) and (vs.orbiter is None or vs.orbiter == sp.orbiter)
        if pair_ok and (vs.asset is not None or vs.orbiter is not None):
            spans.append((vs.start_tdb_s, vs.end_tdb_s))
            who.append(v)
    if spans and _covers(spans, sp.start_tdb_s, sp.end_tdb_s):
        v = who[0]
        raise RelayInputError(
            f"the required request {r.id!r} ({r.asset}, {_iso(r.start_tdb_s)} to {_iso(r.end_tdb_s)}) lies wholly in "
            f"the span vetoed by {v.source}{', ' + v.where if v.where else ''}; expected a required request a plan "
            "may meet: lift the veto or make the request preferred", source=r.source, where=r.where)


def _largest_part(s: float, e: float, blocks, min_len: float) -> tuple[float, float] | None:
    """The longest part of [s, e) outside ``blocks`` (the earliest of equal ones), if it lasts
    at least ``min_len``."""
    parts = _free_parts(s, e, blocks)
    if not parts:
        return None
    a, b = max(parts, key=lambda p: (p[1] - p[0], -p[0]))
    return (a, b) if b - a >= min_len else None


def cut_option(P, x, outages, vetoes, vol):
    """``x`` unchanged, cut to its largest usable part, or None (removed)."""
    blocks = []
    for v in vetoes:
        if v.pass_id is not None:
            if v.pass_id == x.pass_id:
                return None
        elif v.forbids(x.pass_id, x.orbiter, x.asset, x.start_tdb_s, x.end_tdb_s):
            blocks.append((v.start_tdb_s, v.end_tdb_s))
    for o in outages:
        if o.blocks_session(x.orbiter, x.asset) and x.start_tdb_s < o.end_tdb_s and o.start_tdb_s < x.end_tdb_s:
            blocks.append((o.start_tdb_s, o.end_tdb_s))
    if not blocks:
        return x
    part = _largest_part(x.start_tdb_s, x.end_tdb_s, blocks, P.min_session_s - 1e-6)
    if part is None:
        return None
    s, e = part
    cap = vol(x.pass_id, s, e) if vol is not None else x.capacity_mbit * (e - s) / x.duration_s
    cap = min(float(cap), x.capacity_mbit)
    unit = P.volume_unit_mbit
    need = max(unit, P.asset(x.asset).min_session_mbit) if x.kind == "return" else 0.0
    if cap < need - 1e-9 or cap <= 0:
        return None
    # a cut session is not the previous plan's session any more: no keep points
    return dataclasses.replace(x, start_tdb_s=float(s), end_tdb_s=float(e), capacity_mbit=cap, keep_points=0.0)


def cut_chunk(P, c, outages):
    blocks = [(o.start_tdb_s, o.end_tdb_s) for o in outages if o.blocks_downlink(c.orbiter, c.station)
              and c.start_tdb_s < o.end_tdb_s and o.start_tdb_s < c.end_tdb_s]
    if not blocks:
        return c
    part = _largest_part(c.start_tdb_s, c.end_tdb_s, blocks, max(P.min_downlink_s, 1e-3))
    if part is None:
        return None
    s, e = part
    return dataclasses.replace(c, start_tdb_s=float(s), end_tdb_s=float(e),
                               capacity_mbit=c.capacity_mbit * (e - s) / (c.end_tdb_s - c.start_tdb_s))


def forward_twins(options, requests):
    """Forward requests need forward options: a return option of the asset (and orbiter) lying in
    a forward request's window, long enough, without a forward twin, gets one (id + "f")."""
    fwd = [r for r in requests if r.kind == "forward"]
    if not fwd:
        return options
    have = {(x.pass_id, round(x.start_tdb_s, 3), round(x.end_tdb_s, 3)) for x in options if x.kind == "forward"}
    ids = {x.option_id for x in options}
    extra = []
    for x in options:
        if x.kind != "return" or x.fixed:
            continue
        key = (x.pass_id, round(x.start_tdb_s, 3), round(x.end_tdb_s, 3))
        if key in have:
            continue
        if any(r.asset == x.asset and r.orbiter in (None, x.orbiter) and r.start_tdb_s - TOL_S <= x.start_tdb_s
               and x.end_tdb_s <= r.end_tdb_s + TOL_S and x.duration_s >= r.min_duration_s - TOL_S for r in fwd):
            oid = x.option_id + "f"
            while oid in ids:
                oid += "f"
            ids.add(oid)
            have.add(key)
            extra.append(dataclasses.replace(x, option_id=oid, kind="forward", keep_points=0.0))
    return options + extra


def _with_locks(P, options, locks, vol, warnings: list | None = None):
    """Locked sessions (a fixed-sessions table) become fixed options of the pass that holds them
    most (that pass's other options go), kept exactly; one that overlaps no pass is an error, one
    outside the horizon is left out (and reported in ``warnings``)."""
    src, label = locks.attrs.get("source", "locks"), locks.attrs.get("label", "row")
    held: set[str] = set()
    for i, r in enumerate(locks.itertuples(index=False)):
        s, e = float(r.start_tdb_s), float(r.end_tdb_s)
        where = f"{label} {getattr(r, 'line', i + 1)}"
        if e <= P.start_tdb_s or s >= P.end_tdb_s:
            if warnings is not None:
                warnings.append(f"{src}: {where}: the locked session {r.orbiter} -> {r.asset} {_iso(s)} to "
                                f"{_iso(e)} lies outside the horizon {_iso(P.start_tdb_s)} to "
                                f"{_iso(P.end_tdb_s)}; it is left out")
            continue
        best, most = None, 0.0
        for w in P.passes:
            if w.orbiter == r.orbiter and w.asset == r.asset:
                ov = min(e, w.set_tdb_s) - max(s, w.rise_tdb_s)
                if ov > most:
                    best, most = w, ov
        if best is None:
            raise RelayInputError(f"the locked session {r.orbiter} -> {r.asset} {_iso(s)} to {_iso(e)} overlaps no "
                                  "pass of that pair in the plan", source=src, where=where)
        if best.pass_id in held:
            raise RelayInputError(f"the locked session {r.orbiter} -> {r.asset} {_iso(s)} to {_iso(e)} lies in pass "
                                  f"{best.pass_id} with another locked session; expected one per pass",
                                  source=src, where=where)
        held.add(best.pass_id)
        same = [x for x in options if x.pass_id == best.pass_id]
        s, e = max(s, P.start_tdb_s), min(e, P.end_tdb_s)
        vs, ve = max(s, best.rise_tdb_s), min(e, best.set_tdb_s)
        if vol is not None:
            cap = vol(best.pass_id, vs, ve) if ve > vs else 0.0
        else:   # pro rata of the pass's best option
            top = max(same, key=lambda x: x.capacity_mbit / x.duration_s, default=None)
            cap = top.capacity_mbit / top.duration_s * max(0.0, ve - vs) if top is not None else 0.0
        kind = str(getattr(r, "kind", "return") or "return")
        score = max((x.elevation_score for x in same), default=0.0)
        options = [x for x in options if x.pass_id != best.pass_id]
        options.append(SessionOption(option_id=f"{best.pass_id}#fixed", pass_id=best.pass_id, orbiter=best.orbiter,
                                     asset=best.asset, start_tdb_s=s, end_tdb_s=e, capacity_mbit=float(cap),
                                     kind=kind, elevation_score=score, fixed=True))
    return options


__all__ = ["apply", "volume_fn", "keep_originals", "cut_option", "cut_chunk", "forward_twins", "covered_locks", "unmatched",
           "VolumeFn"]
