"""The Earth leg in a plan diff: downlinks removed, added or moved, each with its cause, and the
latency to Earth per asset before and after.

Downlinks (downlinks.csv rows: orbiter, station, start, end, volume_mbit) of the old plan are
matched to the new plan's in two rounds:

* *the same downlink*: same orbiter and station, start and end within
  :data:`~relay.planning.formulation.FIXED_WINDOW_TOLERANCE_S`.  It is unchanged whatever its
  volume (a downlink carries what is aboard, first in first out: every change of the relay
  sessions ripples into the volumes of the later downlinks, and listing those would bury the
  changes of the Earth leg itself);
* *moved*: among the rest, same orbiter and station and overlapping time spans (``[start,
  end)`` of the old one against the new one's), pairs taken greedily by the smallest shift of
  the start, each downlink in one pair at most (a station piece shortened, lengthened or shifted).

What is left is *removed* (old plan only) or *added* (new plan only): a downlink at another
station or at a time not overlapping the old one is removed + added, never moved.  Under the
first-come Earth leg the station windows are fixed, so a downlink is removed or added only
when it carries data in one plan alone (downlinks.csv lists the downlinks used), and a station
outage the plan does not use changes nothing.

The cause of a removed or moved downlink: an outage of the re-plan (:func:`relay.plandiff.operation_causes`,
with its file and line) that blocks the downlink's orbiter and station (the station, for every
orbiter or that orbiter, X-band or all; or the orbiter's X-band or all) over the old downlink;
else the relay change that took data away from it (the orbiter's latest session removed or
reduced since its previous downlink both plans keep, with that session's cause); else
"re-optimised (Earth leg)".  An added downlink: a lifted outage over it; else the removed
downlink of the same orbiter and UTC day an outage took, whose hours of the daily cap it uses
("in place of ..."); else the relay change that brought data to it (a session added or grown);
else "re-optimised (Earth leg)".  A downlink left "re-optimised (Earth leg)" also names the nearest
downlink of the same orbiter and UTC day on the other side (``replaced by`` / ``in place of``,
paired one to one by the smallest shift of the start): the daily hours the solver used elsewhere.

:func:`diff_downlinks` compares two downlink tables, :func:`latency_rows` the two summaries'
latency per asset; :func:`downlink_table_rows` and :func:`downlink_lines` give diff.csv's rows
and the printed lines.  This module does not import :mod:`relay.plandiff` (which imports it).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .outputs.tables import iso_text
from .planning.formulation import FIXED_WINDOW_TOLERANCE_S
from .planning.problem import OutageSpan

#: diff.csv's ``change`` of a downlink row (``what`` "downlink")
DOWNLINK_CHANGES = {"removed": "downlink removed", "added": "downlink added", "moved": "downlink moved"}
#: the cause of a downlink change no operational record or relay change explains
REOPTIMISED = "re-optimised (Earth leg)"


def _frame(df) -> pd.DataFrame:
    """A downlink table with ISO text times and float TDB times (an empty one for None)."""
    cols = ["orbiter", "station", "start", "end", "volume_mbit", "start_tdb_s", "end_tdb_s"]
    if df is None or not len(df):
        return pd.DataFrame(columns=cols)
    df = df.reset_index(drop=True)
    return df.assign(start=iso_text(df["start"]), end=iso_text(df["end"]),
                     start_tdb_s=df["start_tdb_s"].astype(float), end_tdb_s=df["end_tdb_s"].astype(float),
                     volume_mbit=df["volume_mbit"].astype(float))


def _rec(df, i, when: str) -> dict:
    r = df.iloc[i]
    return {"orbiter": str(r["orbiter"]), "station": str(r["station"]), f"start_{when}": r["start"],
            f"end_{when}": r["end"], f"volume_{when}_mbit": round(float(r["volume_mbit"]), 3),
            f"_{when}": (float(r["start_tdb_s"]), float(r["end_tdb_s"]))}


def _match(a, b) -> tuple[list, list, set, set]:
    """(same pairs, moved pairs, rows of ``a`` used, rows of ``b`` used); see the module doc."""
    tol = FIXED_WINDOW_TOLERANCE_S
    by_key: dict[tuple, list[int]] = {}
    for j, k in enumerate(zip(b["orbiter"], b["station"])):
        by_key.setdefault(k, []).append(j)
    sa, ea = a["start_tdb_s"].to_numpy(float), a["end_tdb_s"].to_numpy(float)
    sb, eb = b["start_tdb_s"].to_numpy(float), b["end_tdb_s"].to_numpy(float)
    used_a, used_b, same, cands = set(), set(), [], []
    for i, k in enumerate(zip(a["orbiter"], a["station"])):
        for j in by_key.get(k, ()):
            if j not in used_b and abs(sb[j] - sa[i]) <= tol and abs(eb[j] - ea[i]) <= tol:
                used_a.add(i)
                used_b.add(j)
                same.append((i, j))
                break
    for i, k in enumerate(zip(a["orbiter"], a["station"])):
        if i not in used_a:
            cands += [(abs(sb[j] - sa[i]), i, j) for j in by_key.get(k, ())
                      if j not in used_b and sa[i] < eb[j] and sb[j] < ea[i]]
    moved = []
    for _, i, j in sorted(cands):
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            moved.append((i, j))
    return same, moved, used_a, used_b


def _blocks(c, orbiter: str, station: str, s: float, e: float) -> bool:
    sp = c.span
    return isinstance(sp, OutageSpan) and sp.blocks_downlink(orbiter, station) \
        and s < sp.end_tdb_s and sp.start_tdb_s < e


def _kept_before(kept: dict, orbiter: str, t: float) -> float:
    """The end (TDB s) of the orbiter's latest downlink both plans hold that ends by ``t``."""
    ends = [e for e in kept.get(orbiter, ()) if e <= t + 1e-6]
    return max(ends) if ends else -np.inf


def _relay_change(sessions: list[dict], orbiter: str, lo: float, hi: float, sign: int) -> str | None:
    """The orbiter's latest session change ending in ``(lo, hi]`` that took data away (``sign``
    -1) or brought it (+1), preferring one an operational record forced, named with its cause."""
    best = None
    for r in sessions:
        if r.get("orbiter") != orbiter:
            continue
        dv = (r.get("volume_after_mbit") or 0.0) - (r.get("volume_before_mbit") or 0.0)
        t = (r.get("_before") or r.get("_after"))[1] if sign < 0 else (r.get("_after") or r.get("_before"))[1]
        if dv * sign <= 0 or t is None or not (lo < t <= hi):
            continue
        cause = str(r.get("cause") or "")
        rank = (not cause.startswith(("re-optimised", "displaced by", "in place of", "makes up for")), t)
        if best is None or rank > best[0]:
            best = (rank, r)
    if best is None:
        return None
    r = best[1]
    when = str(r.get("start_before") or r.get("start_after") or "")
    what = "less" if sign < 0 else "more"
    return (f"relay change ({what} data aboard {orbiter}): {r['orbiter']}->{r['asset']} {when[:10]} {when[11:16]} "
            f"{r.get('_change', 'changed')}, {r.get('cause') or 're-optimised'}")


def _utc_day(iso: str) -> str:
    return str(iso)[:10]


def _pair_reoptimised(rows: dict) -> None:
    """Name, on the removed and added downlinks left "re-optimised (Earth leg)", the one of the
    same orbiter and UTC day on the other side it traded its daily hours with (pairs one to one,
    greedily by the smallest shift of the start): ``replaced by`` / ``in place of``."""
    left = {k: [r for r in rows[k] if r["cause"] == REOPTIMISED] for k in ("removed", "added")}
    pairs = sorted((abs(b["_after"][0] - a["_before"][0]), i, j)
                   for i, a in enumerate(left["removed"]) for j, b in enumerate(left["added"])
                   if a["orbiter"] == b["orbiter"] and _utc_day(a["start_before"]) == _utc_day(b["start_after"]))
    done_a, done_b = set(), set()
    for _, i, j in pairs:
        if i in done_a or j in done_b:
            continue
        done_a.add(i)
        done_b.add(j)
        a, b = left["removed"][i], left["added"][j]
        a["cause"] = f"{REOPTIMISED}, replaced by {b['orbiter']}->{b['station']} {b['start_after'][:16]}Z"
        b["cause"] = f"{REOPTIMISED}, in place of {a['orbiter']}->{a['station']} {a['start_before'][:16]}Z"


def diff_downlinks(old, new, causes=(), session_rows=()) -> dict:
    """Compare two plans' downlink tables (downlinks.csv's); see the module doc.  ``causes``:
    :func:`relay.plandiff.operation_causes`'s records; ``session_rows``: the session diff's rows
    (with their causes and a ``_change`` name) for the relay change behind a downlink change."""
    a, b = _frame(old), _frame(new)
    same, moved, used_a, used_b = _match(a, b)
    kept: dict[str, list[float]] = {}
    for i, _ in same:
        kept.setdefault(str(a["orbiter"].iloc[i]), []).append(float(a["end_tdb_s"].iloc[i]))
    outages = [c for c in causes if c.what == "outage"]
    lifted = [c for c in causes if c.what == "lifted outage"]
    rows = {"removed": [_rec(a, i, "before") for i in range(len(a)) if i not in used_a],
            "added": [_rec(b, j, "after") for j in range(len(b)) if j not in used_b],
            "moved": []}
    for i, j in moved:
        ra, rb = _rec(a, i, "before"), _rec(b, j, "after")
        rows["moved"].append({**ra, **rb, "shift_s": round(rb["_after"][0] - ra["_before"][0], 3),
                              "end_shift_s": round(rb["_after"][1] - ra["_before"][1], 3)})
    for r in (*rows["removed"], *rows["moved"]):
        s, e = r["_before"]
        hit = next((c.label for c in outages if _blocks(c, r["orbiter"], r["station"], s, e)), None)
        r["_outage"] = hit
        r["cause"] = hit or _relay_change(session_rows, r["orbiter"], _kept_before(kept, r["orbiter"], s), e, -1) \
            or REOPTIMISED
    for r in rows["added"]:
        s, e = r["_after"]
        why = next((c.label for c in lifted if _blocks(c, r["orbiter"], r["station"], s, e)), None)
        if why is None:
            gone = [g for g in rows["removed"] if g["_outage"] and g["orbiter"] == r["orbiter"]
                    and _utc_day(g["start_before"]) == _utc_day(r["start_after"])]
            if gone:
                g = min(gone, key=lambda g: abs(g["_before"][0] - s))
                why = (f"in place of {g['orbiter']}->{g['station']} {g['start_before'][:16]}Z, "
                       f"removed by {g['_outage']}")
        r["cause"] = why or _relay_change(session_rows, r["orbiter"], _kept_before(kept, r["orbiter"], s), e, 1) \
            or REOPTIMISED
    _pair_reoptimised(rows)
    key = (lambda r: (r.get("start_before") or r.get("start_after"), r["orbiter"], r["station"]))
    return {k: sorted(v, key=key) for k, v in rows.items()} | {"unchanged": len(same)}


def latency_rows(before: Mapping | None, after: Mapping | None) -> list[dict]:
    """Per asset, the mean and worst latency to Earth (h) of two plans' summaries
    (:attr:`relay.summary.PlanSummary.latency_by_asset`; None where a plan delivered nothing of it)."""
    before, after = dict(before or {}), dict(after or {})

    def get(lat, name):
        if lat is None:
            return None
        v = lat.get(name) if isinstance(lat, Mapping) else getattr(lat, name, None)
        return None if v is None else float(v)

    return [{"asset": k, "mean_latency_before_h": get(before.get(k), "mean_h"),
             "mean_latency_after_h": get(after.get(k), "mean_h"),
             "worst_latency_before_h": get(before.get(k), "worst_h"),
             "worst_latency_after_h": get(after.get(k), "worst_h")} for k in sorted(set(before) | set(after))]


def downlink_table_rows(d: dict) -> list[dict]:
    """diff.csv's downlink rows (``what`` "downlink", ``change`` "downlink removed/added/moved"),
    by time."""
    dl = d.get("downlinks") or {}
    rows = [{"change": DOWNLINK_CHANGES[k], "what": "downlink",
             **{c: v for c, v in r.items() if not c.startswith("_")}}
            for k in ("removed", "added", "moved") for r in dl.get(k, ())]
    rows.sort(key=lambda r: (r.get("start_before") or r.get("start_after"), r["orbiter"], r["station"], r["change"]))
    return rows


def _fmt(v) -> str:
    return "-" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:.2f}"


def downlink_lines(d: dict) -> list[str]:
    """The printed downlink changes (one line each, its cause on the next); none without them."""
    dl = d.get("downlinks")
    if not dl:
        return []
    n = {k: len(dl.get(k, ())) for k in ("removed", "added", "moved")}
    lines = [f"  downlinks: {n['added']} added, {n['removed']} removed, {n['moved']} moved, "
             f"{dl.get('unchanged', 0)} unchanged"]
    for r in dl.get("removed", ()):
        lines += [f"  - downlink removed {r['orbiter']} -> {r['station']} {r['start_before']} to {r['end_before']} "
                  f"({r['volume_before_mbit']:.1f} Mbit)", f"      cause: {r['cause']}"]
    for r in dl.get("added", ()):
        lines += [f"  + downlink added   {r['orbiter']} -> {r['station']} {r['start_after']} to {r['end_after']} "
                  f"({r['volume_after_mbit']:.1f} Mbit)", f"      cause: {r['cause']}"]
    for r in dl.get("moved", ()):
        lines += [f"  ~ downlink moved   {r['orbiter']} -> {r['station']} {r['start_before']} -> {r['start_after']} "
                  f"(start {r['shift_s']:+.3f} s, end {r['end_shift_s']:+.3f} s; "
                  f"{r['volume_before_mbit']:.1f} -> {r['volume_after_mbit']:.1f} Mbit)", f"      cause: {r['cause']}"]
    return lines


def latency_lines(d: dict) -> list[str]:
    """The printed latency to Earth per asset before and after (``d["latency_over"]``: what it is
    taken over, e.g. " of the whole plans" for two runs compared over their common span); none
    without it."""
    rows = d.get("latency_by_asset")
    if not rows:
        return []
    lines = [f"  latency to Earth by asset{d.get('latency_over', '')} (h, mean / worst, before -> after):"]
    for r in rows:
        lines.append(f"    {r['asset']}: {_fmt(r['mean_latency_before_h'])} / {_fmt(r['worst_latency_before_h'])} -> "
                     f"{_fmt(r['mean_latency_after_h'])} / {_fmt(r['worst_latency_after_h'])}")
    return lines


__all__ = ["DOWNLINK_CHANGES", "REOPTIMISED", "diff_downlinks", "latency_rows", "downlink_table_rows",
           "downlink_lines", "latency_lines"]
