"""What changed between two archived plans (``relay diff``), and the run list (``relay history``).

Two plans are compared over their common span (sessions by their start).
Sessions with the same orbiter, asset, kind and times (within
:data:`~relay.planning.formulation.FIXED_WINDOW_TOLERANCE_S`) are the same
session: *unchanged*, or *changed* when their volume differs by one volume
unit or more (both volumes listed).  The rest are matched, same orbiter, asset
and kind, when their passes' windows overlap or they overlap each other;
pairs are taken greedily by the smallest shift of the start: *moved*
(``shift_s``, ``end_shift_s``, both volumes).  What is left is *removed* (old
plan only) or *added* (new plan only).
"""

from __future__ import annotations

from ..errors import RelayInputError
from ..planning.formulation import FIXED_WINDOW_TOLERANCE_S
from .base import returned_by_asset

DIFF_CSV_COLUMNS = ["change", "orbiter", "asset", "kind", "start_before", "end_before", "start_after",
                    "end_after", "shift_s", "end_shift_s", "volume_before_mbit", "volume_after_mbit"]
HISTORY_HEADER = "run  started  status  exit  span  sessions  delivered  solver  base (or error)"


def _num(df, name, i):
    import pandas as pd

    return float(df[name].iloc[i]) if name in df.columns and pd.notna(df[name].iloc[i]) else None


def _window(df, lo, hi):
    import pandas as pd

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
    import numpy as np

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
    return {"orbiter": df["orbiter"].iloc[i], "asset": df["asset"].iloc[i], "kind": df["kind"].iloc[i],
            f"start_{when}": df["start"].iloc[i], f"end_{when}": df["end"].iloc[i],
            f"volume_{when}_mbit": _num(df, "volume_mbit", i)}


def _pair(a, i, b, j) -> dict:
    return {**_row(a, i, "before"), **_row(b, j, "after"),
            "shift_s": round(_num(b, "start_tdb_s", j) - _num(a, "start_tdb_s", i), 3),
            "end_shift_s": round(_num(b, "end_tdb_s", j) - _num(a, "end_tdb_s", i), 3)}


def diff_sessions(a, b, lo: float | None = None, hi: float | None = None, unit_mbit: float = 0.1) -> dict:
    """Compare the sessions of two plans over ``[lo, hi)`` (TDB s); see the module docstring."""
    a, out_a = _window(a, lo, hi)
    b, out_b = _window(b, lo, hi)
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
    changed = [_pair(a, i, b, j) for i, j in same
               if abs((_num(b, "volume_mbit", j) or 0.0) - (_num(a, "volume_mbit", i) or 0.0)) >= unit_mbit - 1e-9]
    key = (lambda r: (r["start_before"], r["orbiter"], r["asset"]))
    va, vb = returned_by_asset(a, -1e300, 1e300), returned_by_asset(b, -1e300, 1e300)
    per_asset = [{"asset": k, "volume_before_mbit": round(va.get(k, 0.0), 3),
                  "volume_after_mbit": round(vb.get(k, 0.0), 3),
                  "change_mbit": round(vb.get(k, 0.0) - va.get(k, 0.0), 3)} for k in sorted(set(va) | set(vb))]
    return {"unchanged": len(same) - len(changed), "changed": sorted(changed, key=key),
            "moved": sorted(moved, key=key),
            "removed": [_row(a, i, "before") for i in range(len(a)) if i not in used_a],
            "added": [_row(b, j, "after") for j in range(len(b)) if j not in used_b],
            "volume_by_asset": per_asset, "outside_before": out_a, "outside_after": out_b,
            "volume_unit_mbit": unit_mbit}


def counts(d: dict) -> dict:
    """The diff's counts (the JSON log's ``diff`` event, the printed line)."""
    return {"unchanged": d["unchanged"], **{k: len(d[k]) for k in ("changed", "moved", "added", "removed")}}


def counts_text(d: dict) -> str:
    c = counts(d)
    return (f"{c['added']} added, {c['removed']} removed, {c['moved']} moved, {c['changed']} changed volume, "
            f"{c['unchanged']} unchanged")


def diff_runs(archive, run_a: int | None = None, run_b: int | None = None) -> dict:
    """Diff two archived runs (default: the last two good runs) over their common span."""
    from ..summary import PlanSummary
    from ..timescales import tdb_s_to_iso

    if run_a is None or run_b is None:
        good = archive.good_runs()
        if len(good) < 2:
            raise RelayInputError(f"has {len(good)} planned run(s); a diff needs two (or name RUN_A RUN_B)",
                                  source=str(archive.path))
        ra, rb = good[-2], good[-1]
    else:
        ra, rb = archive.run(run_a), archive.run(run_b)
    for r in (ra, rb):
        if r["exit_code"] not in (0, 3):
            raise RelayInputError(f"run {r['id']} failed (exit {r['exit_code']}) and has no plan to compare",
                                  source=str(archive.path))
    sa, sb = (PlanSummary.from_json(r.get("summary") or {}) for r in (ra, rb))
    lo = max(float(ra["plan_start_tdb_s"]), float(rb["plan_start_tdb_s"]))
    hi = min(float(ra["plan_start_tdb_s"]) + 86400.0 * float(ra["days"]),
             float(rb["plan_start_tdb_s"]) + 86400.0 * float(rb["days"]))
    unit = max(sa.figures.volume_unit_mbit, sb.figures.volume_unit_mbit)
    d = diff_sessions(archive.sessions(ra["id"]), archive.sessions(rb["id"]), lo, hi, unit)
    d.update(run_before=ra["id"], run_after=rb["id"], span_start=tdb_s_to_iso(lo), span_end=tdb_s_to_iso(hi),
             delivered_before_mbit=sa.delivered_mbit, delivered_after_mbit=sb.delivered_mbit)
    return d


def diff_table(d: dict):
    """The diff as one table: a row per added/removed/moved/changed session, then one per asset
    (``change = asset_volume``, the asset's volume over the common span before and after)."""
    import pandas as pd

    rows = [{"change": kind, **r} for kind in ("removed", "added", "moved", "changed") for r in d[kind]]
    rows.sort(key=lambda r: (r.get("start_before") or r.get("start_after"), r["orbiter"], r["asset"],
                             r["change"]))
    for r in d["volume_by_asset"]:
        rows.append({"change": "asset_volume", "asset": r["asset"], "volume_before_mbit": r["volume_before_mbit"],
                     "volume_after_mbit": r["volume_after_mbit"]})
    return pd.DataFrame(rows, columns=DIFF_CSV_COLUMNS)


def diff_text(d: dict) -> str:
    lines = [f"run {d['run_before']} -> run {d['run_after']}, common span {d['span_start']} to {d['span_end']}: "
             + counts_text(d)]
    if d["outside_before"] or d["outside_after"]:
        lines.append(f"  (outside the common span: {d['outside_before']} session(s) of run {d['run_before']}, "
                     f"{d['outside_after']} of run {d['run_after']})")
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
    lines.append("  returned volume by asset over the common span (Mbit, before -> after):")
    for r in d["volume_by_asset"]:
        lines.append(f"    {r['asset']}: {r['volume_before_mbit']:.1f} -> {r['volume_after_mbit']:.1f} "
                     f"({r['change_mbit']:+.1f})")
    if d.get("delivered_before_mbit") is not None and d.get("delivered_after_mbit") is not None:
        lines.append(f"  whole plans (different spans): {float(d['delivered_before_mbit']):.1f} -> "
                     f"{float(d['delivered_after_mbit']):.1f} Mbit delivered")
    return "\n".join(lines)


def history_lines(runs: list[dict], current_id: int | None) -> list[str]:
    """A header, then one line per run: id, start time, status and exit code, planning span,
    sessions, returned volume, solver status, base run (failed runs: the error's last line)."""
    from ..summary import PlanSummary

    lines = [HISTORY_HEADER]
    for r in runs:
        span = f"{r['plan_start']} +{r['days']:g}d" if r.get("plan_start") else "(no span)"
        parts = [f"{r['id']:>4}", r["started"][:19] + "Z", f"{r['status']:<8}", f"exit {r['exit_code']}", span]
        if r["exit_code"] in (0, 3):
            data = r.get("summary") if isinstance(r.get("summary"), dict) else {}
            s = PlanSummary.from_json(data)
            job = data.get("nightly") if isinstance(data.get("nightly"), dict) else {}
            if job.get("sessions") is not None:
                parts.append(f"{job['sessions']} sessions")
            parts.append(f"{s.delivered_mbit:.1f} Mbit")
            parts.append(s.status)
            parts.append(f"base {r['base_run']}" if r.get("base_run") else "base -")
            if job.get("degraded"):
                parts.append("degraded: " + "; ".join(job["degraded"]))
        else:
            first = (r.get("error") or "").strip().splitlines()
            parts.append("error: " + (first[-1] if first else "?"))
        if r["id"] == current_id:
            parts.append("<- current")
        lines.append("  ".join(parts))
    return lines
