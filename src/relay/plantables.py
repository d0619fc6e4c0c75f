"""The tables of a solved plan, as the plan folder and the report show them.

Built from a solver plan (:class:`relay.planning.plan.Plan`) and its instance:
:func:`sessions_table` (schedule.csv), :func:`downlinks_table`
(downlinks.csv), :func:`store_table` (store.csv), :func:`candidate_passes_table`
(passes.csv, without the reasons :mod:`relay.explain` adds), :func:`requests_table`
(requests.csv), and :func:`summary_of`, the typed summary with each asset's
latency to Earth (:func:`latency_by_asset`).  Times are ISO 8601 UTC beside TDB
seconds; sols and LMST are each asset's own (:mod:`relay.sols`).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from .links.volumes import PASS_VOLUME_COLUMNS
from .outputs.tables import labelled, local_time_columns, passes_frame, utc
from .planning.problem import TOL_S
from .planning.requests import request_status
from .sols import SolClock, clocks_of
from .summary import Latency, PlanSummary, Violation
from .timescales import tdb_s_to_iso

#: requests.csv: every relay request of the plan and whether it is met (by which sessions, or why not)
REQUEST_COLUMNS = ["id", "asset", "orbiter", "kind", "start", "end", "sol", "priority", "points", "status",
                   "sessions", "reason", "reason_detail"]
#: schedule.csv, downlinks.csv and store.csv
SESSION_COLUMNS = ["orbiter", "asset", "start", "end", "sol", "lmst_start", "lmst_end", "duration_s", "volume_mbit",
                   "kind", "pass_id", "fixed", "option_id", "start_tdb_s", "end_tdb_s"]
DOWNLINK_COLUMNS = ["orbiter", "station", "start", "end", "volume_mbit", "assets", "window_id", "chunk_id",
                    "start_tdb_s", "end_tdb_s"]
STORE_COLUMNS = ["orbiter", "time", "tdb_s", "fill_mbit"]


def sessions_table(raw, clocks: dict[str, SolClock] | None = None) -> pd.DataFrame:
    """schedule.csv: one row per relay session, with each asset's sol and LMST (``clocks``)."""
    ses = raw.sessions
    base = pd.DataFrame({"asset": [s.asset for s in ses], "t0": [s.start_tdb_s for s in ses],
                         "t1": [s.end_tdb_s for s in ses]})
    local = local_time_columns(base, clocks or {}, "t0", "t1")
    return pd.DataFrame({
        "orbiter": [s.orbiter for s in ses], "asset": [s.asset for s in ses],
        "start": utc([s.start_tdb_s for s in ses]), "end": utc([s.end_tdb_s for s in ses]),
        "sol": local["sol"], "lmst_start": local["lmst_start"], "lmst_end": local["lmst_end"],
        "duration_s": np.round([s.duration_s for s in ses], 3),
        "volume_mbit": np.round([s.volume_mbit for s in ses], 3),
        "kind": [s.kind for s in ses], "pass_id": [s.pass_id for s in ses],
        "fixed": [bool(s.fixed) for s in ses], "option_id": [s.option_id for s in ses],
        "start_tdb_s": np.round([s.start_tdb_s for s in ses], 6),
        "end_tdb_s": np.round([s.end_tdb_s for s in ses], 6),
    }, columns=SESSION_COLUMNS)


def downlinks_table(raw) -> pd.DataFrame:
    """One row per chunk used, volume summed over the data owners (``assets``: asset=Mbit;...)."""
    agg: dict[str, dict] = {}
    for d in raw.downlinks:
        r = agg.setdefault(d.chunk_id, {"chunk_id": d.chunk_id, "window_id": d.window_id, "orbiter": d.orbiter,
                                        "station": d.station, "start_tdb_s": d.start_tdb_s,
                                        "end_tdb_s": d.end_tdb_s, "volume_mbit": 0.0, "by_asset": {}})
        r["volume_mbit"] += d.volume_mbit
        r["by_asset"][d.asset] = r["by_asset"].get(d.asset, 0.0) + d.volume_mbit
    rows = sorted(agg.values(), key=lambda r: (r["start_tdb_s"], r["orbiter"], r["station"]))
    rows = [r for r in rows if r["volume_mbit"] > 0]
    return pd.DataFrame({
        "orbiter": [r["orbiter"] for r in rows], "station": [r["station"] for r in rows],
        "start": utc([r["start_tdb_s"] for r in rows]), "end": utc([r["end_tdb_s"] for r in rows]),
        "volume_mbit": np.round([r["volume_mbit"] for r in rows], 3),
        "assets": [";".join(f"{k}={v:.6f}" for k, v in sorted(r["by_asset"].items())) for r in rows],
        "window_id": [r["window_id"] for r in rows], "chunk_id": [r["chunk_id"] for r in rows],
        "start_tdb_s": np.round([r["start_tdb_s"] for r in rows], 6),
        "end_tdb_s": np.round([r["end_tdb_s"] for r in rows], 6),
    }, columns=DOWNLINK_COLUMNS)


def store_table(raw) -> pd.DataFrame:
    """store.csv: the fill of each orbiter store after each event."""
    return pd.DataFrame({
        "orbiter": [p.orbiter for p in raw.store], "time": utc([p.tdb_s for p in raw.store]),
        "tdb_s": np.round([p.tdb_s for p in raw.store], 3), "fill_mbit": np.round([p.fill_mbit for p in raw.store], 3),
    }, columns=STORE_COLUMNS)


def candidate_passes_table(problem, used: set, passes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every candidate pass (with its volume columns when the link stage's table is given),
    its mission sol and LMST at rise and set, and whether a session uses it."""
    ptab = _candidate_passes(problem, used, passes)
    local = local_time_columns(ptab, clocks_of(problem), "rise_tdb_s", "set_tdb_s")
    at = list(ptab.columns).index("set") + 1
    for k, col in enumerate(("sol", "lmst_start", "lmst_end")):
        ptab.insert(at + k, col, local[col])
    return ptab


def _candidate_passes(problem, used: set, passes: pd.DataFrame | None) -> pd.DataFrame:
    if passes is None:
        ptab = pd.DataFrame({"pass_id": [p.pass_id for p in problem.passes],
                             "orbiter": [p.orbiter for p in problem.passes],
                             "asset": [p.asset for p in problem.passes],
                             "rise": utc([p.rise_tdb_s for p in problem.passes]),
                             "set": utc([p.set_tdb_s for p in problem.passes]),
                             "rise_tdb_s": [p.rise_tdb_s for p in problem.passes],
                             "set_tdb_s": [p.set_tdb_s for p in problem.passes]})
        ptab.insert(5, "used", ptab["pass_id"].isin(used))
        return ptab
    ptab = labelled(passes_frame(passes))
    keep = ["pass_id", "orbiter", "asset", "rise", "set", "duration_s", "max_elevation_deg",
            "max_elevation_time", "min_range_km", "truncated"]
    extra = [c for c in PASS_VOLUME_COLUMNS if c in ptab.columns]
    ptab = ptab[keep + extra + ["rise_tdb_s", "set_tdb_s"]].copy()
    if "volume_mbit" in ptab:
        ptab["volume_mbit"] = ptab["volume_mbit"].astype(float).round(3)
    ptab.insert(len(keep), "used", ptab["pass_id"].isin(used))
    return ptab


def latency_by_asset(raw, earth_mars: pd.DataFrame | None = None) -> dict[str, Latency]:
    """Hours from the end of the relay session that carried a Mbit to its arrival on Earth
    (downlink end plus one-way light time), first in first out per orbiter and asset,
    over the data delivered in the horizon."""
    have_lt = earth_mars is not None and len(earth_mars)
    if have_lt:
        lt_t, lt_v = earth_mars["tdb_s"].to_numpy(float), earth_mars["light_time_s"].to_numpy(float)
    acc: dict[str, list] = {}
    for orb, asset in sorted({(s.orbiter, s.asset) for s in raw.sessions}):
        ins = sorted((s.end_tdb_s, s.volume_mbit) for s in raw.sessions
                     if s.orbiter == orb and s.asset == asset and s.volume_mbit > 0)
        outs = sorted((d.end_tdb_s, d.volume_mbit) for d in raw.downlinks
                      if d.orbiter == orb and d.asset == asset and d.volume_mbit > 0)
        i, left = 0, (ins[0][1] if ins else 0.0)
        for t_out, v in outs:
            lt = float(np.interp(t_out, lt_t, lt_v)) if have_lt else 0.0
            while v > 1e-9 and i < len(ins):
                take = min(v, left)
                if take > 0:
                    acc.setdefault(asset, []).append((take, (t_out + lt - ins[i][0]) / 3600.0))
                v -= take
                left -= take
                if left <= 1e-9:
                    i += 1
                    left = ins[i][1] if i < len(ins) else 0.0
    out = {}
    for asset, items in sorted(acc.items()):
        vol = sum(v for v, _ in items)
        if vol > 0:
            out[asset] = Latency(mean_h=round(sum(v * h for v, h in items) / vol, 3),
                                 worst_h=round(max(h for _, h in items), 3), mbit=round(vol, 3))
    return out


def summary_of(problem, raw, earth_mars: pd.DataFrame | None = None) -> PlanSummary:
    """The summary of a solved plan before the run's figures (scenario, span) are added; the
    violations name each asset's mission sol."""
    clocks = clocks_of(problem)
    viol = []
    for v in raw.figures.violations:
        c = clocks.get(v.asset)
        if c is not None and v.sol is not None and c.sol_offset:
            v = replace(v, sol=int(c.sol_of_local(v.sol)), local_sol=v.sol)
        viol.append(v)
    return PlanSummary(solve=raw.report, figures=raw.figures.replace(violations=tuple(viol)), scenario=problem.name,
                       start=tdb_s_to_iso(problem.start_tdb_s), end=tdb_s_to_iso(problem.end_tdb_s),
                       latency_by_asset=latency_by_asset(raw, earth_mars),
                       sol_numbering={k: c.kind for k, c in sorted(clocks.items())})


def requests_table(problem, raw, explainer=None) -> pd.DataFrame:
    """requests.csv: every relay request of the instance, ``met`` when enough sessions meet it
    (:func:`relay.planning.requests.request_status`; ``sessions``: their option ids; ``reason``: how the
    first one uses its pass, whole, split, cut or fixed; ``reason_detail``: their times and volumes)
    or ``unmet`` with the reason in :mod:`relay.explain`'s vocabulary (the reasons of the passes in
    its window)."""
    clocks = clocks_of(problem)
    by_id = {s.option_id: s for s in raw.sessions}
    requests = {r.id: r for r in problem.requests}
    worth = {r.id: float(r.points) for r in problem.requests}
    passes = {p.pass_id: p for p in problem.passes}
    rows = []
    for q in request_status(problem, raw.sessions):
        if q["met"]:
            held = [by_id[o] for o in q["sessions"].split(";") if o in by_id]
            # the reason of the meeting session's pass (whole, split, cut, fixed), and the sessions
            reason = explainer.reason(passes[held[0].pass_id]).code if explainer is not None and held else ""
            detail = "; ".join(f"{s.orbiter} {_hms(s.start_tdb_s)}-{_hms(s.end_tdb_s)} UTC {s.volume_mbit:.1f} Mbit"
                               for s in held)
        elif explainer is not None:
            r = explainer.request(requests[q["id"]])
            reason, detail = r.code, r.detail
        else:
            reason, detail = "", ""
        c = clocks.get(q["asset"])
        rows.append({"id": q["id"], "asset": q["asset"], "orbiter": q["orbiter"], "kind": q["kind"],
                     "start": q["start_tdb_s"], "end": q["end_tdb_s"],
                     # the sol its window opens in; a window opening at a sol's first instant (a request
                     # for sol N from LMST 00:00) is in sol N, float rounding of the boundary aside
                     "sol": int(c.sol(np.array([q["start_tdb_s"] + TOL_S]))[0]) if c is not None else "",
                     "priority": q["priority"], "points": worth.get(q["id"], 0.0), "status": "met" if q["met"] else "unmet",
                     "sessions": q["sessions"], "reason": reason, "reason_detail": detail})
    df = pd.DataFrame(rows, columns=REQUEST_COLUMNS)
    df["start"] = utc(df["start"].astype(float).tolist())
    df["end"] = utc(df["end"].astype(float).tolist())
    return df


def _hms(t: float) -> str:
    return str(tdb_s_to_iso(t))[11:19]


__all__ = ["SESSION_COLUMNS", "DOWNLINK_COLUMNS", "STORE_COLUMNS", "REQUEST_COLUMNS", "local_time_columns",
           "sessions_table", "downlinks_table", "store_table", "candidate_passes_table", "latency_by_asset",
           "summary_of", "requests_table"]
