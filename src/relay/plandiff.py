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
(``shift_s``, ``end_shift_s``, both volumes).  What is left is *removed* (old
plan only) or *added* (new plan only).

:func:`diff_sessions` compares two session tables; :func:`plan_diff` two
solved plans of one horizon (the re-plan's diff); :func:`diff_table` is the
diff as one table (diff.csv), :func:`diff_text` and :func:`diff_lines` the
printed diff of two archived runs and of a re-plan.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .outputs.tables import iso_text
from .planning.formulation import FIXED_WINDOW_TOLERANCE_S

#: diff.csv: one row per removed, added, moved or changed session, then one per asset (asset_volume)
DIFF_CSV_COLUMNS = ["change", "orbiter", "asset", "kind", "pass_id", "sol", "lmst_before", "lmst_after",
                    "start_before", "end_before", "start_after", "end_after", "shift_s", "end_shift_s",
                    "volume_before_mbit", "volume_after_mbit", "cause"]
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


def _row(df, i, when):
    """The diff's columns of session ``i`` of ``df``, ``when`` "before" or "after"."""
    return {"orbiter": df["orbiter"].iloc[i], "asset": df["asset"].iloc[i], "kind": df["kind"].iloc[i],
            f"start_{when}": df["start"].iloc[i], f"end_{when}": df["end"].iloc[i],
            f"volume_{when}_mbit": _num(df, "volume_mbit", i)}


def _pair(a, i, b, j) -> dict:
    """The diff's row of session ``i`` of ``a`` and ``j`` of ``b`` held as one, with the shifts."""
    return {**_row(a, i, "before"), **_row(b, j, "after"),
            "shift_s": round(_num(b, "start_tdb_s", j) - _num(a, "start_tdb_s", i), 3),
            "end_shift_s": round(_num(b, "end_tdb_s", j) - _num(a, "end_tdb_s", i), 3)}


def _match(a, b) -> tuple[list, list, set, set]:
    """(same: pairs (i, j) at the same times, moved: rows of the pairs matched otherwise, the rows
    of ``a`` used, the rows of ``b`` used)."""
    used_a, used_b, same = set(), set(), []
    tol = FIXED_WINDOW_TOLERANCE_S
    for _, i, j in _candidates(a, b, range(len(a)), range(len(b))):
        if i in used_a or j in used_b:
            continue
        if abs(_num(b, "start_tdb_s", j) - _num(a, "start_tdb_s", i)) <= tol \
                and abs(_num(b, "end_tdb_s", j) - _num(a, "end_tdb_s", i)) <= tol:
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


def diff_sessions(a, b, lo: float | None = None, hi: float | None = None, unit_mbit: float = 0.1) -> dict:
    """Compare the sessions of two plans over ``[lo, hi)`` (TDB s); see the module docstring."""
    a, out_a = _window(a, lo, hi)
    b, out_b = _window(b, lo, hi)
    same, moved, used_a, used_b = _match(a, b)
    changed = [_pair(a, i, b, j) for i, j in same
               if abs((_num(b, "volume_mbit", j) or 0.0) - (_num(a, "volume_mbit", i) or 0.0))
               >= unit_mbit - 1e-9]
    key = (lambda r: (r["start_before"], r["orbiter"], r["asset"]))
    return {"unchanged": len(same) - len(changed), "changed": sorted(changed, key=key),
            "moved": sorted(moved, key=key),
            "removed": [_row(a, i, "before") for i in range(len(a)) if i not in used_a],
            "added": [_row(b, j, "after") for j in range(len(b)) if j not in used_b],
            "volume_by_asset": volume_by_asset(a, b), "outside_before": out_a, "outside_after": out_b,
            "volume_unit_mbit": unit_mbit}


# ----------------------------------------------------------------------------- two solved plans

def with_pass_windows(sessions: pd.DataFrame, problem) -> pd.DataFrame:
    """A plan's sessions (schedule.csv's table) with their passes' windows (for matching moved
    sessions) and ISO text times."""
    w = {p.pass_id: (p.rise_tdb_s, p.set_tdb_s) for p in problem.passes}
    return sessions.assign(start=iso_text(sessions["start"]), end=iso_text(sessions["end"]),
                           pass_rise_tdb_s=[w.get(p, (np.nan, np.nan))[0] for p in sessions["pass_id"]],
                           pass_set_tdb_s=[w.get(p, (np.nan, np.nan))[1] for p in sessions["pass_id"]])


def plan_diff(old_sessions: pd.DataFrame, old_problem, new_sessions: pd.DataFrame, new_problem) -> dict:
    """The sessions of a new plan against an old one of the same horizon (their schedule.csv
    tables and instances), with the rules of :func:`diff_sessions`.  Sessions held identically by
    both (same orbiter, asset, kind, times and volume within a unit) are counted unchanged before
    the matching, which then only sees the rest (the same answer: an identical pair is the
    matching's first choice), so a re-plan's diff takes milliseconds."""
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
    d = diff_sessions(rest_a.reset_index(drop=True), rest_b.reset_index(drop=True), unit_mbit=unit)
    d["unchanged"] += len(keys_same)
    d["volume_by_asset"] = volume_by_asset(a, b)
    return d


# ----------------------------------------------------------------------------- the diff as a table and as text

def counts(d: dict) -> dict:
    """The diff's counts (the JSON log's ``diff`` event, the printed line)."""
    return {"unchanged": d["unchanged"], **{k: len(d[k]) for k in ("changed", "moved", "added", "removed")}}


def counts_text(d: dict) -> str:
    c = counts(d)
    return (f"{c['added']} added, {c['removed']} removed, {c['moved']} moved, {c['changed']} changed volume, "
            f"{c['unchanged']} unchanged")


def diff_table(d: dict) -> pd.DataFrame:
    """The diff as one table (diff.csv): a row per added/removed/moved/changed session, then one
    per asset (``change = asset_volume``, the asset's volume over the compared span before and after)."""
    rows = [{"change": kind, **r} for kind in ("removed", "added", "moved", "changed") for r in d[kind]]
    rows.sort(key=lambda r: (r.get("start_before") or r.get("start_after"), r["orbiter"], r["asset"],
                             r["change"]))
    for r in d["volume_by_asset"]:
        rows.append({"change": "asset_volume", "asset": r["asset"], "volume_before_mbit": r["volume_before_mbit"],
                     "volume_after_mbit": r["volume_after_mbit"]})
    return pd.DataFrame(rows, columns=DIFF_CSV_COLUMNS)


def outside_lines(d: dict) -> list[str]:
    """The line saying how many sessions lay outside the compared span (none when none did)."""
    if not (d["outside_before"] or d["outside_after"]):
        return []
    return [f"  (outside the common span: {d['outside_before']} session(s) of run {d['run_before']}, "
            f"{d['outside_after']} of run {d['run_after']})"]


def change_lines(d: dict, over: str = "") -> list[str]:
    """One line per removed, added, moved and changed session, then the returned volume per asset
    (``over``: the span it is summed over, e.g. " over the common span")."""
    lines = []
    for r in d["removed"]:
        lines.append(f"  - removed {r['orbiter']} -> {r['asset']} {r['start_before']} to {r['end_before']} "
                     f"({r['volume_before_mbit']:.1f} Mbit)")
    for r in d["added"]:
        lines.append(f"  + added   {r['orbiter']} -> {r['asset']} {r['start_after']} to {r['end_after']} "
                     f"({r['volume_after_mbit']:.1f} Mbit)")
    for r in d["moved"]:
        lines.append(f"  ~ moved   {r['orbiter']} -> {r['asset']} {r['start_before']} -> {r['start_after']} "
                     f"(start {r['shift_s']:+.3f} s, end {r['end_shift_s']:+.3f} s; "
                     f"{r['volume_before_mbit']:.1f} -> {r['volume_after_mbit']:.1f} Mbit)")
    for r in d["changed"]:
        lines.append(f"  * volume  {r['orbiter']} -> {r['asset']} {r['start_before']} to {r['end_before']}: "
                     f"{r['volume_before_mbit']:.1f} -> {r['volume_after_mbit']:.1f} Mbit")
    lines.append(f"  returned volume by asset{over} (Mbit, before -> after):")
    for r in d["volume_by_asset"]:
        lines.append(f"    {r['asset']}: {r['volume_before_mbit']:.1f} -> {r['volume_after_mbit']:.1f} "
                     f"({r['change_mbit']:+.1f})")
    return lines


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


__all__ = ["DIFF_CSV_COLUMNS", "returned_by_asset", "volume_by_asset", "diff_sessions", "with_pass_windows",
           "plan_diff", "counts", "counts_text", "diff_table", "diff_text", "diff_lines"]
