"""What changed between two plans: the sessions added, removed, moved and changed, and the volume per asset.

One set of rules for every comparison of two plans (``relay replan``'s diff.csv,
the nightly job's comparison with its base run, ``relay diff`` of two archived
runs).  Plans are compared over a span (sessions by their start).  Sessions
with the same orbiter, asset, kind and times (within
:data:`~relay.planning.formulation.FIXED_WINDOW_TOLERANCE_S`) are the same
session: *unchanged*, or *changed* when their volume differs by one volume
unit or more (both volumes listed).  The rest are matched, same orbiter, asset
and kind, when their passes' windows overlap or they overlap each other;
pairs are taken greedily by the smallest shift of the start: *moved*
(``shift_s``, ``end_shift_s``, both volumes).  A session left over in both
plans at the same orbiter, asset and times but of the other kind (a return
session turned forward) is one *changed kind* row (``kind`` "return->forward").
What is left is *removed* (old plan only) or *added* (new plan only).  Every
row names its ``pass_id``, the asset's ``sol`` and LMST, and its ``cause``: the
outage or veto over the session or its pass, the request or lock it meets, an
outage or veto lifted or a request withdrawn (:func:`operation_causes`, with
the file and line of the input), else the session of the new plan that
displaced it (or, for an added one, the session it replaces), else
"re-optimised".  The volume per asset counts every session's returned data,
forward (bidirectional) sessions' included.

A re-plan's diff (:func:`plan_diff` given both plans' downlinks and latency) also lists the
downlinks removed, added and moved, each with its cause (the rules are
:mod:`relay.plandiff_downlinks`'s), and the mean and worst latency to Earth per asset before
and after, in diff.csv's ``asset_volume`` rows and the printed diff.  diff.csv's ``what`` says
what a row is about: "session", "downlink" or "asset".

:func:`diff_sessions` compares two session tables; :func:`plan_diff` two
solved plans of one horizon (the re-plan's diff); :func:`diff_table` is the
diff as one table (diff.csv), :func:`diff_text` and :func:`diff_lines` the
printed diff of two archived runs and of a re-plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .outputs.tables import iso_text
from .planning.formulation import FIXED_WINDOW_TOLERANCE_S
from .planning.problem import OutageSpan, RelayRequest, VetoSpan
from .plandiff_downlinks import diff_downlinks, downlink_lines, downlink_table_rows, latency_lines, latency_rows
from .timescales import tdb_s_to_iso

#: diff.csv: one row per removed, added, moved or changed session, then one per asset (asset_volume)
DIFF_CSV_COLUMNS = ["change", "orbiter", "asset", "kind", "pass_id", "sol", "lmst_before", "lmst_after",
                    "start_before", "end_before", "start_after", "end_after", "shift_s", "end_shift_s",
                    "volume_before_mbit", "volume_after_mbit", "cause",
                    # appended for the Earth leg (issue 19): what a row is about ("session", "downlink",
                    # "asset"), a downlink's station, and the asset rows' latency to Earth before and after
                    "what", "station", "mean_latency_before_h", "mean_latency_after_h", "worst_latency_before_h",
                    "worst_latency_after_h"]
#: the change of a session held at the same times but turned from one kind to the other
#: (return -> forward): one row, not a removed and an added one with the same times
KIND_CHANGE = "changed kind"


def returned_by_asset(ses, lo: float, hi: float) -> dict[str, float]:
    """Returned volume per asset of the sessions starting in ``[lo, hi)`` (TDB s): every
    session's ``volume_mbit``, a forward (bidirectional) session's included, since the lander
    data it carries home counts as much as a return session's."""
    st = ses["start_tdb_s"].astype(float)
    sel = ses[(st >= lo - 1e-3) & (st < hi - 1e-3)]
    return {str(k): float(v) for k, v in sel.groupby("asset")["volume_mbit"].sum().items()} if len(sel) else {}


def volume_by_asset(a, b) -> list[dict]:
    """The returned volume of each asset in session tables ``a`` (before) and ``b`` (after)."""
    va, vb = returned_by_asset(a, -1e300, 1e300), returned_by_asset(b, -1e300, 1e300)
    return [{"asset": k, "volume_before_mbit": round(va.get(k, 0.0), 3),
             "volume_after_mbit": round(vb.get(k, 0.0), 3),
             "change_mbit": round(vb.get(k, 0.0) - va.get(k, 0.0), 3)} for k in sorted(set(va) | set(vb))]


# ----------------------------------------------------------------------------- matching sessions

def _num(df, name, i):
    """Row ``i``'s ``name`` as a float, None when the column is missing or the value is."""
    return float(df[name].iloc[i]) if name in df.columns and pd.notna(df[name].iloc[i]) else None


def _window(df, lo, hi):
    """(the sessions starting in ``[lo, hi)``, how many were left out), with a ``kind`` and pass
    window columns filled in where the table has none."""
    st = df["start_tdb_s"].astype(float)
    keep = pd.Series(True, index=df.index)
    if lo is not None:
        keep &= st >= lo - 1e-3
    if hi is not None:
        keep &= st < hi - 1e-3
    df = df[keep].reset_index(drop=True)
    df = df.assign(kind=df["kind"].fillna("") if "kind" in df.columns else "")
    for c in ("pass_rise_tdb_s", "pass_set_tdb_s"):
        if c not in df.columns:
            df[c] = float("nan")
    return df, int((~keep).sum())


def _candidates(a, b, rest_a, rest_b):
    """(start shift, i, j) of every pair that may be the same session, moved or not: same
    orbiter, asset and kind, and overlapping pass windows or overlapping sessions."""
    def cols(df):
        return (list(zip(df["orbiter"], df["asset"], df["kind"])),
                *(df[c].astype(float).to_numpy() for c in ("start_tdb_s", "end_tdb_s", "pass_rise_tdb_s",
                                                            "pass_set_tdb_s")))

    ka, s0a, s1a, p0a, p1a = cols(a)
    kb, s0b, s1b, p0b, p1b = cols(b)
    by_key: dict[tuple, list[int]] = {}
    for j in rest_b:
        by_key.setdefault(kb[j], []).append(j)
    pairs = []
    for i in rest_a:
        js = np.array(by_key.get(ka[i], []), dtype=int)
        if not len(js):
            continue
        same_pass = (p0a[i] < p1b[js]) & (p0b[js] < p1a[i])  # False where a window is unknown (NaN)
        overlap = (s0a[i] < s1b[js]) & (s0b[js] < s1a[i])
        for j in js[same_pass | overlap]:
            pairs.append((abs(s0b[j] - s0a[i]), i, int(j)))
    return sorted(pairs)


def _val(df, name, i):
    """Row ``i``'s ``name`` as it is, None when the column is missing or the value is."""
    if name not in df.columns:
        return None
    v = df[name].iloc[i]
    return None if v is None or (isinstance(v, float) and np.isnan(v)) else v


def _get(rec: dict, name: str, number: bool = False):
    """``rec[name]`` (a float when ``number``), None when missing or NaN."""
    v = rec.get(name)
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    return float(v) if number else v


def _row(df, i, when):
    """The diff's columns of session ``i`` of ``df``, ``when`` "before" or "after" (with the
    session's TDB times and pass window under ``_before``/``_after`` keys, for its cause)."""
    r = df.iloc[i].to_dict()
    sol = _get(r, "sol")
    return {"orbiter": r["orbiter"], "asset": r["asset"], "kind": r["kind"], "pass_id": _get(r, "pass_id"),
            "sol": int(sol) if sol is not None and str(sol) != "" else None, f"lmst_{when}": _get(r, "lmst_start"),
            f"start_{when}": r["start"], f"end_{when}": r["end"], f"volume_{when}_mbit": _get(r, "volume_mbit", True),
            f"_{when}": tuple(_get(r, c, True) for c in ("start_tdb_s", "end_tdb_s", "pass_rise_tdb_s",
                                                         "pass_set_tdb_s"))}


def _pair(a, i, b, j) -> dict:
    """The diff's row of session ``i`` of ``a`` and ``j`` of ``b`` held as one, with the shifts."""
    ra, rb = _row(a, i, "before"), _row(b, j, "after")
    return {**ra, **rb, "shift_s": round(rb["_after"][0] - ra["_before"][0], 3),
            "end_shift_s": round(rb["_after"][1] - ra["_before"][1], 3)}


def _same_times(a, i, b, j) -> bool:
    tol = FIXED_WINDOW_TOLERANCE_S
    return abs(_num(b, "start_tdb_s", j) - _num(a, "start_tdb_s", i)) <= tol \
        and abs(_num(b, "end_tdb_s", j) - _num(a, "end_tdb_s", i)) <= tol


def _match(a, b) -> tuple[list, list, set, set]:
    """(same: pairs (i, j) at the same times, moved: rows of the pairs matched otherwise, the rows
    of ``a`` used, the rows of ``b`` used)."""
    used_a, used_b, same = set(), set(), []
    for _, i, j in _candidates(a, b, range(len(a)), range(len(b))):
        if i in used_a or j in used_b:
            continue
        if _same_times(a, i, b, j):
            used_a.add(i)
            used_b.add(j)
            same.append((i, j))
    moved = []
    for _, i, j in _candidates(a, b, [i for i in range(len(a)) if i not in used_a],
                                   [j for j in range(len(b)) if j not in used_b]):
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            moved.append(_pair(a, i, b, j))
    return same, moved, used_a, used_b


def _kind_changes(a, b, used_a: set, used_b: set) -> list[dict]:
    """The sessions left over in both plans at the same orbiter, asset and times but of another
    kind (a return session turned forward), paired as one ``changed kind`` row each (``kind``
    "return->forward"); the rows used are added to ``used_a`` and ``used_b``."""
    tol = FIXED_WINDOW_TOLERANCE_S
    rest_b: dict[tuple, list[int]] = {}
    for j, key in enumerate(zip(b["orbiter"], b["asset"])):
        if j not in used_b:
            rest_b.setdefault(key, []).append(j)
    sa, ea = a["start_tdb_s"].astype(float).to_numpy(), a["end_tdb_s"].astype(float).to_numpy()
    sb, eb = b["start_tdb_s"].astype(float).to_numpy(), b["end_tdb_s"].astype(float).to_numpy()
    out = []
    for i, key in enumerate(zip(a["orbiter"], a["asset"])):
        if i in used_a:
            continue
        for j in rest_b.get(key, ()):
            if j not in used_b and abs(sb[j] - sa[i]) <= tol and abs(eb[j] - ea[i]) <= tol:
                used_a.add(i)
                used_b.add(j)
                out.append({**_pair(a, i, b, j), "kind": f"{a['kind'].iloc[i]}->{b['kind'].iloc[j]}"})
                break
    return out


def diff_sessions(a, b, lo: float | None = None, hi: float | None = None, unit_mbit: float = 0.1,
                  causes=(), context=None) -> dict:
    """Compare the sessions of two plans over ``[lo, hi)`` (TDB s); see the module docstring.
    Every row gets a ``cause`` (:func:`attribute_causes`, with ``causes`` the operational
    records of the change; ``context``: the (before, after) session tables to look for
    displacing sessions in, by default ``a`` and ``b``)."""
    a, out_a = _window(a, lo, hi)
    b, out_b = _window(b, lo, hi)
    same, moved, used_a, used_b = _match(a, b)
    kinds = _kind_changes(a, b, used_a, used_b)
    changed = [_pair(a, i, b, j) for i, j in same
               if abs((_num(b, "volume_mbit", j) or 0.0) - (_num(a, "volume_mbit", i) or 0.0))
               >= unit_mbit - 1e-9]
    key = (lambda r: (r["start_before"], r["orbiter"], r["asset"]))
    d = {"unchanged": len(same) - len(changed), "changed": sorted(changed, key=key),
         "changed_kind": sorted(kinds, key=key), "moved": sorted(moved, key=key),
         "removed": [_row(a, i, "before") for i in range(len(a)) if i not in used_a],
         "added": [_row(b, j, "after") for j in range(len(b)) if j not in used_b],
         "volume_by_asset": volume_by_asset(a, b), "outside_before": out_a, "outside_after": out_b,
         "volume_unit_mbit": unit_mbit}
    before, after = context if context is not None else (a, b)
    attribute_causes(d, causes, before, after)
    return d


# ----------------------------------------------------------------------------- the cause of each change

@dataclass(frozen=True)
class Cause:
    """An operational record a re-plan brought in or took away: ``what`` "outage", "veto",
    "request" or "lock" (or "lifted outage", "lifted veto", "withdrawn request", "released
    lock"), ``span`` the instance's record (:class:`~relay.planning.problem.OutageSpan`,
    :class:`~relay.planning.problem.VetoSpan`, :class:`~relay.planning.problem.RelayRequest`,
    or a lock's ``(orbiter, asset, start_tdb_s, end_tdb_s, kind)``), ``label`` how a diff names
    it (with its file and line when known)."""

    what: str
    span: Any
    label: str

    def forces(self, orbiter, asset, pass_id, s, e) -> bool:
        """Whether this outage or veto takes a session of that pair and pass over [s, e)."""
        sp = self.span
        if isinstance(sp, OutageSpan):
            return sp.blocks_session(orbiter, asset) and s < sp.end_tdb_s and sp.start_tdb_s < e
        if isinstance(sp, VetoSpan):
            return sp.forbids(pass_id, orbiter, asset, s, e)
        return False

    def meets(self, orbiter, asset, kind, s, e) -> bool:
        """Whether a session of that pair, kind and span meets this request or is this lock."""
        sp, tol = self.span, FIXED_WINDOW_TOLERANCE_S
        if isinstance(sp, RelayRequest):
            return sp.asset == asset and sp.orbiter in (None, orbiter) and (sp.kind == "return" or kind == "forward") \
                and sp.start_tdb_s - tol <= s and e <= sp.end_tdb_s + tol
        if isinstance(sp, tuple):
            return sp[:2] == (orbiter, asset) and abs(sp[2] - s) <= tol and abs(sp[3] - e) <= tol
        return False


def _when(s: float, e: float) -> str:
    """``2026-12-15T06:00Z to 2026-12-16T18:00Z``: a span to the minute."""
    a, b = tdb_s_to_iso(np.array([s, e]), places=0)
    return f"{a[:16]}Z to {b[:16]}Z"


def _ref(rec) -> str:
    """`` (outages.csv line 2)``: the file (its name) and row of an input record, if known."""
    if rec is None or not getattr(rec, "source", None):
        return ""
    where = f" {rec.where}" if getattr(rec, "where", None) else ""
    return f" ({Path(str(rec.source)).name}{where})"


def span_label(sp, rec=None) -> str:
    """How a diff names an outage, veto or request of an instance (``rec``: its input record)."""
    note = f" '{sp.note}'" if getattr(sp, "note", "") else ""
    if isinstance(sp, OutageSpan):
        only = f" for {sp.orbiter}" if sp.orbiter else ""
        return f"outage of {sp.target} ({sp.what}{only}) {_when(sp.start_tdb_s, sp.end_tdb_s)}{note}{_ref(rec)}"
    if isinstance(sp, VetoSpan):
        if sp.pass_id is not None:
            return f"veto of pass {sp.pass_id}{note}{_ref(rec)}"
        return (f"veto of {sp.orbiter or 'any orbiter'} -> {sp.asset or 'any asset'} "
                f"{_when(sp.start_tdb_s, sp.end_tdb_s)}{note}{_ref(rec)}")
    return f"request {sp.id}{_ref(rec)}"


def _record_of(sp, records) -> Any:
    """The input record (:mod:`relay.operations`) the instance's span ``sp`` was made of, if any."""
    for r in records:
        if isinstance(sp, RelayRequest):
            if getattr(r, "id", None) == sp.id:
                return r
        elif isinstance(sp, OutageSpan):
            if getattr(r, "target", None) == sp.target and r.what == sp.what and (r.orbiter or None) == sp.orbiter \
                    and abs(r.start_tdb_s - sp.start_tdb_s) < 1e-3 and abs(r.end_tdb_s - sp.end_tdb_s) < 1e-3:
                return r
        elif isinstance(sp, VetoSpan) and hasattr(r, "pass_id") and not hasattr(r, "target") \
                and not hasattr(r, "priority"):
            if (r.pass_id, r.orbiter, r.asset) == (sp.pass_id, sp.orbiter if sp.pass_id is None else r.orbiter,
                                                    sp.asset if sp.pass_id is None else r.asset) \
                    and (sp.pass_id is not None or (abs(r.start_tdb_s - sp.start_tdb_s) < 1e-3
                                                    and abs(r.end_tdb_s - sp.end_tdb_s) < 1e-3)):
                return r
    return None


def operation_causes(old_problem, new_problem, operations=None, lifted=()) -> list[Cause]:
    """The outages, vetoes and requests ``new_problem`` has and ``old_problem`` has not (and the
    ones it lost: lifted, withdrawn), the locks of ``operations`` and the ones released
    (:class:`relay.operations.Operations`; its records and the ``lifted`` ones name their file
    and line)."""
    ops = operations
    records = [*(ops.outages if ops else ()), *(ops.forbid if ops else ()), *(ops.requests if ops else ()),
               *lifted]
    out = []
    for field_, what in (("outages", "outage"), ("forbid", "veto"), ("requests", "request")):
        old, new = tuple(getattr(old_problem, field_, ())), tuple(getattr(new_problem, field_, ()))
        for sp in new:
            if sp not in old:
                out.append(Cause(what, sp, span_label(sp, _record_of(sp, records))))
        gone = "withdrawn request" if what == "request" else f"lifted {what}"
        for sp in old:
            if sp not in new:
                out.append(Cause(gone, sp, f"{gone.split()[0]} {span_label(sp, _record_of(sp, records))}"))
    out += released_locks(old_problem, new_problem)
    locks = getattr(ops, "locks", None) if ops is not None else None
    if locks is not None and len(locks):
        src, label = locks.attrs.get("source", "locks"), locks.attrs.get("label", "row")
        for k, r in enumerate(locks.itertuples(index=False)):
            kind = str(getattr(r, "kind", "return") or "return")
            span = (r.orbiter, r.asset, float(r.start_tdb_s), float(r.end_tdb_s), kind)
            out.append(Cause("lock", span, f"lock {r.orbiter} -> {r.asset} {_when(span[2], span[3])} "
                                           f"({Path(str(src)).name} {label} {getattr(r, 'line', k + 1)})"))
    return out


def released_locks(old_problem, new_problem) -> list[Cause]:
    """The locked (fixed) sessions of ``old_problem`` that ``new_problem`` no longer holds."""
    def fixed(P):
        return {(x.orbiter, x.asset, round(x.start_tdb_s, 3), round(x.end_tdb_s, 3), x.kind)
                for x in getattr(P, "options", ()) if x.fixed}

    return [Cause("released lock", k, f"released lock {k[0]} -> {k[1]} {_when(k[2], k[3])}")
            for k in sorted(fixed(old_problem) - fixed(new_problem))]


def _short(df, i) -> str:
    """``MRO->Perseverance 10:13-10:19 (MRO-Perseverance-20261123T1013)``: a session named for a cause."""
    pid = _val(df, "pass_id", i)
    return (f"{df['orbiter'].iloc[i]}->{df['asset'].iloc[i]} {str(df['start'].iloc[i])[11:16]}-"
            f"{str(df['end'].iloc[i])[11:16]}" + (f" ({pid})" if pid else ""))


def _overlapping(df, orbiter, asset, s, e, skip=()) -> int | None:
    """The session of ``df`` of the same orbiter or asset that overlaps [s, e) most (None: none)."""
    if not len(df) or s is None or e is None:
        return None
    s0, s1 = df["start_tdb_s"].astype(float).to_numpy(), df["end_tdb_s"].astype(float).to_numpy()
    ov = np.minimum(s1, e) - np.maximum(s0, s)
    near = ((df["orbiter"] == orbiter) | (df["asset"] == asset)).to_numpy() & (ov > 0)
    for k in skip:
        if k is not None and 0 <= k < len(near):
            near[k] = False
    return int(np.argmax(np.where(near, ov, -np.inf))) if near.any() else None


def _index_of(df, orbiter, asset, s) -> int | None:
    """The row of ``df`` holding the session of that pair starting at ``s`` (None: none)."""
    if s is None or not len(df):
        return None
    hit = np.flatnonzero(((df["orbiter"] == orbiter) & (df["asset"] == asset)).to_numpy()
                         & (np.abs(df["start_tdb_s"].astype(float).to_numpy() - s) < 1e-3))
    return int(hit[0]) if len(hit) else None


def _forced(r, causes) -> str | None:
    """The outage or veto that takes the old session of row ``r`` (over the session, else over
    its pass, whose options it then all removed or cut), or the withdrawn request it met or the
    released lock it was."""
    s, e, rise, set_ = r["_before"]
    causes = [c for c in causes if c.what in ("outage", "veto", "withdrawn request", "released lock")]
    for c in causes:
        if c.forces(r["orbiter"], r["asset"], r["pass_id"], s, e):
            return c.label
    kind = str(r["kind"]).split("->")[0]
    for c in causes:
        if c.what in ("withdrawn request", "released lock") and c.meets(r["orbiter"], r["asset"], kind, s, e):
            return c.label
    if rise is not None and set_ is not None:
        for c in causes:
            if c.forces(r["orbiter"], r["asset"], r["pass_id"], rise, set_):
                return c.label
    return None


def _brought(r, causes) -> str | None:
    """The request met, lock kept, or lifted outage or veto that frees the new session of row ``r``."""
    s, e = r["_after"][:2]
    kind = r["kind"].split("->")[-1]
    for c in causes:
        if c.what in ("request", "lock") and c.meets(r["orbiter"], r["asset"], kind, s, e):
            return c.label
    for c in causes:
        if c.what.startswith("lifted") and c.forces(r["orbiter"], r["asset"], r["pass_id"], s, e):
            return c.label
    return None


def _cause_of_old(r, causes, before, after) -> str:
    """A removed, moved or changed session's cause: the record forcing it, else the session of
    the new plan on the same orbiter or asset overlapping it, else "re-optimised"."""
    why = _forced(r, causes) or (_brought(r, causes) if "_after" in r else None)
    if why:
        return why
    s, e = r["_before"][:2]
    me = _index_of(after, r["orbiter"], r["asset"], r["_after"][0]) if "_after" in r else None
    k = _overlapping(after, r["orbiter"], r["asset"], s, e, skip=(me,))
    if k is not None:
        return f"displaced by {_short(after, k)}"
    if r.get("volume_before_mbit") == r.get("volume_after_mbit") and "->" in str(r["kind"]):
        return "re-optimised (an equal choice: the same session and volume, of the other kind)"
    return "re-optimised"


def _name(r: dict) -> str:
    """``TGO->Curiosity 2026-12-16 14:55-15:07 (TGO-Curiosity-20261216T1455)``: a diff row's old session."""
    pid = f" ({r['pass_id']})" if r.get("pass_id") else ""
    sb, eb = str(r["start_before"]), str(r["end_before"])
    return f"{r['orbiter']}->{r['asset']} {sb[:10]} {sb[11:16]}-{eb[11:16]}{pid}"


def _cause_of_new(r, causes, gone: list[dict]) -> str:
    """An added session's cause: the request or lock it meets, the lifted record that frees it,
    else the removed or moved-away session it takes the place of (overlapping it, of the same
    asset first, then of the same orbiter; one an outage or veto removed first) and what removed
    that, else the nearest session of its asset an outage or veto removed, else "re-optimised"."""
    why = _brought(r, causes)
    if why:
        return why
    s, e = r["_after"][:2]

    def rank(g):
        gs, ge = g["_before"][:2]
        ov = min(e, ge) - max(s, gs)
        return (g["asset"] == r["asset"], bool(g.get("_forced")), g["orbiter"] == r["orbiter"], ov)

    near = [g for g in gone if (g["asset"] == r["asset"] or g["orbiter"] == r["orbiter"])
            and min(e, g["_before"][1]) > max(s, g["_before"][0])]
    if near:
        g = max(near, key=rank)
        return f"in place of {_name(g)}" + (f", removed by {g['_forced']}" if g.get("_forced") else "")
    lost = [g for g in gone if g["asset"] == r["asset"] and g.get("_forced")]
    if lost:
        g = min(lost, key=lambda g: abs(g["_before"][0] - s))
        return f"makes up for {_name(g)}, removed by {g['_forced']}"
    return "re-optimised"


def attribute_causes(d: dict, causes, before, after) -> None:
    """Set ``cause`` on every row of the diff ``d`` (see :func:`operation_causes`; ``before`` and
    ``after`` the two plans' session tables): a removed, moved or changed session whose session
    or pass an outage or veto takes gets that record; one that meets a new request or lock (an
    added one, a moved one's new place, a kind change) gets it; otherwise the session of the new
    plan that displaced it, or for an added one the session it replaces; else "re-optimised"."""
    causes = list(causes or ())
    gone = []
    for kind in ("removed", "moved", "changed", "changed_kind"):
        for r in d.get(kind, ()):
            forced = _forced(r, causes)
            r["cause"] = forced or _cause_of_old(r, causes, before, after)
            if kind in ("removed", "moved"):
                gone.append({**r, "_forced": forced})
    for r in d.get("added", ()):
        r["cause"] = _cause_of_new(r, causes, gone)
    removed = [g for g in gone if "_after" not in g]
    for r in (*d.get("moved", ()), *d.get("changed", ())):
        if r["cause"] == "re-optimised":   # a session that grew into the time a removed one left
            why = _cause_of_new(r, (), removed)
            r["cause"] = why if why.startswith("in place of") else r["cause"]


# ----------------------------------------------------------------------------- two solved plans

def with_pass_windows(sessions: pd.DataFrame, problem) -> pd.DataFrame:
    """A plan's sessions (schedule.csv's table) with their passes' windows (for matching moved
    sessions) and ISO text times."""
    w = {p.pass_id: (p.rise_tdb_s, p.set_tdb_s) for p in problem.passes}
    return sessions.assign(start=iso_text(sessions["start"]), end=iso_text(sessions["end"]),
                           pass_rise_tdb_s=[w.get(p, (np.nan, np.nan))[0] for p in sessions["pass_id"]],
                           pass_set_tdb_s=[w.get(p, (np.nan, np.nan))[1] for p in sessions["pass_id"]])


def plan_diff(old_sessions: pd.DataFrame, old_problem, new_sessions: pd.DataFrame, new_problem,
              operations=None, lifted=(), downlinks=None, latency=None) -> dict:
    """The sessions of a new plan against an old one of the same horizon (their schedule.csv
    tables and instances), with the rules of :func:`diff_sessions`.  Sessions held identically by
    both (same orbiter, asset, kind, times and volume within a unit) are counted unchanged before
    the matching, which then only sees the rest (the same answer: an identical pair is the
    matching's first choice), so a re-plan's diff takes milliseconds.  Each row's ``cause``
    names the outage, veto, request or lock the new instance has (or lost) that forced it
    (:func:`operation_causes`; ``operations``, the re-plan's input records, name their file
    and line), or the session that displaced it.  ``downlinks``: the (old, new) downlinks.csv
    tables, for the downlinks removed, added and moved (``d["downlinks"]``, see
    :mod:`relay.plandiff_downlinks`); ``latency``: the (old, new) summaries' ``latency_by_asset``
    (``d["latency_by_asset"]``)."""
    unit = new_problem.volume_unit_mbit
    a = with_pass_windows(old_sessions, old_problem)
    b = with_pass_windows(new_sessions, new_problem)

    def key(df):
        return list(zip(df["orbiter"], df["asset"], df["kind"], np.round(df["start_tdb_s"].astype(float), 3),
                        np.round(df["end_tdb_s"].astype(float), 3)))

    vol_b = dict(zip(key(b), b["volume_mbit"].astype(float)))
    same = [k in vol_b and abs(vol_b[k] - v) < unit - 1e-9 for k, v in zip(key(a), a["volume_mbit"].astype(float))]
    keys_same = {k for k, s in zip(key(a), same) if s}
    rest_a = a[~np.array(same, dtype=bool)] if len(a) else a
    rest_b = b[~np.array([k in keys_same for k in key(b)], dtype=bool)] if len(b) else b
    causes = operation_causes(old_problem, new_problem, operations, lifted)
    d = diff_sessions(rest_a.reset_index(drop=True), rest_b.reset_index(drop=True), unit_mbit=unit,
                      causes=causes, context=(a, b))
    d["unchanged"] += len(keys_same)
    d["volume_by_asset"] = volume_by_asset(a, b)
    if downlinks is not None:
        rows = [{**r, "_change": k.replace("_", " ")} for k in ("removed", "added", "moved", "changed", "changed_kind")
                for r in d.get(k, ())]
        d["downlinks"] = diff_downlinks(downlinks[0], downlinks[1], causes, rows)
    if latency is not None:
        d["latency_by_asset"] = latency_rows(*latency)
    return d


# ----------------------------------------------------------------------------- the diff as a table and as text

def counts(d: dict) -> dict:
    """The diff's counts (the JSON log's ``diff`` event, the printed line)."""
    c = {"unchanged": d["unchanged"], **{k: len(d.get(k, ())) for k in ("changed", "moved", "added", "removed")}}
    return {**c, "changed_kind": len(d["changed_kind"])} if d.get("changed_kind") else c


def counts_text(d: dict) -> str:
    c = counts(d)
    kinds = f"{c['changed_kind']} changed kind, " if c.get("changed_kind") else ""
    return (f"{c['added']} added, {c['removed']} removed, {c['moved']} moved, {c['changed']} changed volume, "
            f"{kinds}{c['unchanged']} unchanged")


def diff_table(d: dict) -> pd.DataFrame:
    """The diff as one table (diff.csv): a row per added/removed/moved/changed session, then one
    per asset (``change = asset_volume``, the asset's volume over the compared span before and after)."""
    rows = [{"change": KIND_CHANGE if kind == "changed_kind" else kind, **r, "what": "session"}
            for kind in ("removed", "added", "moved", "changed", "changed_kind") for r in d.get(kind, ())]
    rows.sort(key=lambda r: (r.get("start_before") or r.get("start_after"), r["orbiter"], r["asset"],
                             r["change"]))
    rows += downlink_table_rows(d)
    lat = {r["asset"]: r for r in d.get("latency_by_asset") or ()}
    for r in d["volume_by_asset"]:
        la = {k: x for k, x in lat.get(r["asset"], {}).items() if k != "asset"}
        rows.append({"change": "asset_volume", "what": "asset", "asset": r["asset"],
                     "volume_before_mbit": r["volume_before_mbit"], "volume_after_mbit": r["volume_after_mbit"], **la})
    out = pd.DataFrame(rows, columns=DIFF_CSV_COLUMNS)
    out["sol"] = out["sol"].astype("Int64")
    return out


def outside_lines(d: dict) -> list[str]:
    """The line saying how many sessions lay outside the compared span (none when none did)."""
    if not (d["outside_before"] or d["outside_after"]):
        return []
    return [f"  (outside the common span: {d['outside_before']} session(s) of run {d['run_before']}, "
            f"{d['outside_after']} of run {d['run_after']})"]


def change_lines(d: dict, over: str = "") -> list[str]:
    """One line per removed, added, moved and changed session (with its pass, kind, the asset's
    sol and LMST, and its cause on the next line), then the returned volume per asset (``over``:
    the span it is summed over, e.g. " over the common span")."""
    lines = []
    for r in d["removed"]:
        lines += [f"  - removed {_who(r, 'before')} {r['start_before']} to {r['end_before']} "
                  f"({r['volume_before_mbit']:.1f} Mbit)", *_because(r)]
    for r in d["added"]:
        lines += [f"  + added   {_who(r, 'after')} {r['start_after']} to {r['end_after']} "
                  f"({r['volume_after_mbit']:.1f} Mbit)", *_because(r)]
    for r in d["moved"]:
        lines += [f"  ~ moved   {_who(r, 'before')} {r['start_before']} -> {r['start_after']} "
                  f"(start {r['shift_s']:+.3f} s, end {r['end_shift_s']:+.3f} s; "
                  f"{r['volume_before_mbit']:.1f} -> {r['volume_after_mbit']:.1f} Mbit)", *_because(r)]
    for r in d["changed"]:
        lines += [f"  * volume  {_who(r, 'before')} {r['start_before']} to {r['end_before']}: "
                  f"{r['volume_before_mbit']:.1f} -> {r['volume_after_mbit']:.1f} Mbit", *_because(r)]
    for r in d.get("changed_kind", ()):
        lines += [f"  * kind    {_who(r, 'before')} {r['start_before']} to {r['end_before']}: "
                  f"{r['volume_before_mbit']:.1f} -> {r['volume_after_mbit']:.1f} Mbit", *_because(r)]
    lines += downlink_lines(d)
    lines.append(f"  returned volume by asset{over} (Mbit, before -> after):")
    for r in d["volume_by_asset"]:
        lines.append(f"    {r['asset']}: {r['volume_before_mbit']:.1f} -> {r['volume_after_mbit']:.1f} "
                     f"({r['change_mbit']:+.1f})")
    return lines + latency_lines(d)


def _who(r: dict, when: str) -> str:
    """``TGO -> Perseverance [P00107 return, sol 2072 03:45:30]``: a row's pair, pass, kind, sol and LMST."""
    bits = [str(x) for x in (r.get("pass_id"), r.get("kind")) if x]
    if r.get("sol") is not None:
        bits.append(f"sol {r['sol']}" + (f" {r[f'lmst_{when}']}" if r.get(f"lmst_{when}") else ""))
    return f"{r['orbiter']} -> {r['asset']}" + (f" [{', '.join(bits)}]" if bits else "")


def _because(r: dict) -> list[str]:
    return [f"      cause: {r['cause']}"] if r.get("cause") else []


def diff_text(d: dict) -> str:
    """The printed diff of two archived runs (``relay diff``; ``d`` with ``run_before``,
    ``run_after``, ``span_start`` and ``span_end``)."""
    lines = [f"run {d['run_before']} -> run {d['run_after']}, common span {d['span_start']} to {d['span_end']}: "
             + counts_text(d), *outside_lines(d), *change_lines(d, " over the common span")]
    if d.get("delivered_before_mbit") is not None and d.get("delivered_after_mbit") is not None:
        lines.append(f"  whole plans (different spans): {float(d['delivered_before_mbit']):.1f} -> "
                     f"{float(d['delivered_after_mbit']):.1f} Mbit delivered")
    return "\n".join(lines)


def diff_lines(d: dict, before: str, after: str) -> str:
    """The printed diff of a re-plan: a header naming both plans, the changes, and the volume
    delivered to Earth by each (``d`` of :func:`plan_diff` with ``delivered_before_mbit`` and
    ``delivered_after_mbit``)."""
    lines = [f"{before} -> {after}: {counts_text(d)}",
             *outside_lines({**d, "run_before": before, "run_after": after}), *change_lines(d),
             f"  delivered to Earth (Mbit): {float(d['delivered_before_mbit']):.1f} -> "
             f"{float(d['delivered_after_mbit']):.1f}"]
    return "\n".join(lines)


__all__ = ["DIFF_CSV_COLUMNS", "KIND_CHANGE", "latency_rows", "returned_by_asset", "volume_by_asset",
           "diff_sessions", "Cause", "operation_causes", "span_label", "attribute_causes", "with_pass_windows",
           "plan_diff", "counts", "counts_text", "diff_table", "diff_text", "diff_lines"]
