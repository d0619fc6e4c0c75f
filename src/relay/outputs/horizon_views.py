"""The views of report.html at the scale of a long horizon (issue 23): per week and per month.

A plan over more than :data:`LONG_HORIZON_DAYS` days gets, besides its per-sol table,
what each asset relayed and delivered to Earth per week (UTC weeks from the plan's start:
week 1 is its first seven days), the requirements met per calendar month (UTC) and two
charts: relayed per asset per sol (a step line each, so that a year stays one line per asset)
and delivered to Earth per asset per week (bars).  Delivered to Earth counts each downlink's
share of an asset's data (downlinks.csv's ``assets`` column, ``name=mbit;...``) in the week
the downlink ends.  A requirement (forward link, decisional data) belongs to the month its
window starts in; one is met unless the plan's summary lists it as violated (matched by
asset, kind and the instance's own sol).  The rest of the report (timelines, the capped
tables) is :mod:`relay.outputs.report`'s.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from ..summary import PlanSummary
from ..timescales import tdb_s_to_iso

#: a plan longer than this (days) gets the weekly and monthly views and the compact timeline
LONG_HORIZON_DAYS = 14.0
WEEK = pd.Timedelta(days=7)
WEEK_COLUMNS = ["week", "from", "asset", "sessions", "relayed_mbit", "delivered_mbit"]
MONTH_KINDS = (("forward_link", "forward_requirements"), ("decisional", "decisional_requirements"))


def horizon_days(summary: PlanSummary) -> float | None:
    """The plan's span in days (from the summary's start and end), None when it does not say."""
    try:
        t0, t1 = pd.Timestamp(summary.start), pd.Timestamp(summary.end)
    except (TypeError, ValueError):
        return None
    if pd.isna(t0) or pd.isna(t1):
        return None
    return (t1 - t0).total_seconds() / 86400.0


def is_long(summary: PlanSummary) -> bool:
    """Whether the plan's report shows the long horizon's views."""
    days = horizon_days(summary)
    return days is not None and days > LONG_HORIZON_DAYS


def _week_of(times: pd.Series, t0: pd.Timestamp) -> np.ndarray:
    return ((pd.to_datetime(times, utc=True) - t0) // WEEK).to_numpy(dtype=np.int64) + 1


def _asset_shares(downlinks: pd.DataFrame) -> pd.DataFrame:
    """One row per (downlink, asset) share: end, asset, mbit (from ``assets``: ``name=mbit;...``)."""
    rows = []
    if len(downlinks) and "assets" in downlinks.columns:
        for end, text in zip(downlinks["end"], downlinks["assets"].fillna("").astype(str)):
            for part in filter(None, text.split(";")):
                name, _, mbit = part.rpartition("=")
                try:
                    rows.append((end, name, float(mbit)))
                except ValueError:
                    continue
    return pd.DataFrame(rows, columns=["end", "asset", "mbit"])


def weekly_frame(sessions: pd.DataFrame, downlinks: pd.DataFrame, summary: PlanSummary) -> pd.DataFrame:
    """Per asset and week of the horizon: sessions, Mbit relayed from the surface and Mbit
    delivered to Earth (every week of the horizon and every asset, zeros included)."""
    t0 = pd.Timestamp(summary.start).tz_convert("UTC") if pd.Timestamp(summary.start).tzinfo \
        else pd.Timestamp(summary.start, tz="UTC")
    n_weeks = max(1, int(np.ceil((horizon_days(summary) or 7.0) / 7.0 - 1e-9)))
    shares = _asset_shares(downlinks)
    assets = sorted(set(map(str, sessions.get("asset", []))) | set(map(str, shares["asset"]))
                    | set(summary.figures.delivered_by_asset))
    index = pd.MultiIndex.from_product([range(1, n_weeks + 1), assets], names=["week", "asset"])
    out = pd.DataFrame(index=index, data={"sessions": 0, "relayed_mbit": 0.0, "delivered_mbit": 0.0})
    if len(sessions):
        g = sessions.assign(week=_week_of(sessions["start"], t0), asset=sessions["asset"].astype(str))
        agg = g.groupby(["week", "asset"])["volume_mbit"].agg(["size", "sum"]).reindex(index, fill_value=0)
        out["sessions"], out["relayed_mbit"] = agg["size"].to_numpy(), agg["sum"].to_numpy()
    if len(shares):
        d = shares.assign(week=_week_of(shares["end"], t0)).groupby(["week", "asset"])["mbit"].sum()
        out["delivered_mbit"] = d.reindex(index, fill_value=0.0).to_numpy()
    out = out.reset_index()
    out["from"] = [(t0 + (w - 1) * WEEK).strftime("%Y-%m-%d") for w in out["week"]]
    out["sessions"] = out["sessions"].astype(int)
    out[["relayed_mbit", "delivered_mbit"]] = out[["relayed_mbit", "delivered_mbit"]].astype(float).round(1)
    return out[WEEK_COLUMNS]


def _months(tdb_s: list[float]) -> list[str]:
    """The UTC month (YYYY-MM) of each TDB second (one conversion for all)."""
    return [str(t)[:7] for t in tdb_s_to_iso(np.asarray(tdb_s, dtype=float))] if len(tdb_s) else []


def monthly_requirements(problem, summary: PlanSummary) -> pd.DataFrame | None:
    """Per month (UTC, of each requirement's window start) and asset: the forward-link and
    decisional-data requirements met and asked, and the other violations of the month (requests,
    guarantees, energy...; by the month of their sol).  None without the plan's instance."""
    if problem is None or getattr(problem, "assets", None) is None:
        return None
    sols = [(a.name, int(n), float(s0)) for a in problem.assets for n, s0, _ in (a.sols or ())]
    sol_month = dict(zip([(a, n) for a, n, _ in sols], _months([s for _, _, s in sols])))
    unmet: dict[tuple[str, str, str], int] = {}
    for v in summary.figures.violations:
        local = v.local_sol if v.local_sol is not None else v.sol
        month = sol_month.get((v.asset, int(local))) if local is not None else None
        kind = v.requirement if v.requirement in dict(MONTH_KINDS) else "other"
        key = (month or "(no sol)", v.asset, kind)
        unmet[key] = unmet.get(key, 0) + 1
    asked: dict[tuple[str, str, str], int] = {}
    for kind, attr in MONTH_KINDS:
        reqs = list(getattr(problem, attr, ()) or ())
        for r, month in zip(reqs, _months([r.start_tdb_s for r in reqs])):
            key = (month, r.asset, kind)
            asked[key] = asked.get(key, 0) + 1
    keys = sorted({(m, a) for m, a, _ in asked} | {(m, a) for m, a, _ in unmet})
    rows = []
    for m, a in keys:
        row = {"month": m, "asset": a}
        for kind, _ in MONTH_KINDS:
            n = asked.get((m, a, kind), 0)
            row[f"{kind}_met"] = f"{n - unmet.get((m, a, kind), 0)} of {n}"
        row["other_unmet"] = unmet.get((m, a, "other"), 0)
        rows.append(row)
    return pd.DataFrame(rows, columns=["month", "asset"] + [f"{k}_met" for k, _ in MONTH_KINDS] + ["other_unmet"])


def _plain(text) -> str:
    return html.escape(str(text), quote=False)


def weekly_chart(weekly: pd.DataFrame, colours: dict[str, str]) -> dict:
    """Delivered to Earth per asset per week (grouped bars, one colour per asset)."""
    traces = []
    for asset, g in weekly.groupby("asset", sort=True):
        name = _plain(asset)
        traces.append({"type": "bar", "name": name, "x": [f"week {w} ({d})" for w, d in zip(g["week"], g["from"])],
                       "y": g["delivered_mbit"].tolist(), "marker": {"color": colours.get(str(asset), "#999")},
                       "hovertemplate": name + " %{x}<br>%{y:,.1f} Mbit delivered to Earth<extra></extra>"})
    return {"data": traces, "layout": {
        "title": {"text": "Delivered to Earth per asset per week (Mbit)", "x": 0, "font": {"size": 15}},
        "height": 360, "barmode": "group", "margin": {"l": 70, "r": 20, "t": 70, "b": 90},
        "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0}, "hovermode": "closest",
        "xaxis": {"type": "category", "tickangle": -45}, "yaxis": {"title": {"text": "Mbit"}, "rangemode": "tozero"}}}


def sol_chart(per_sol: pd.DataFrame | None, sols: dict[str, list[tuple[int, str, str]]],
              colours: dict[str, str]) -> dict | None:
    """Relayed per asset per sol (planned_mbit of sols.csv) as a step line per asset on the UTC
    axis (each sol from its local midnight), with a range slider; None without per-sol figures."""
    if per_sol is None or not len(per_sol) or "planned_mbit" not in per_sol.columns:
        return None
    traces = []
    for asset, g in per_sol.groupby("asset", sort=True):
        start = {int(n): s for n, s, _ in sols.get(str(asset), ())}
        pts = [(start[int(n)], float(v), int(n)) for n, v in zip(g["sol"], g["planned_mbit"]) if int(n) in start]
        if not pts:
            continue
        name = _plain(asset)
        traces.append({"type": "scatter", "mode": "lines", "line": {"shape": "hv", "color": colours.get(str(asset),
                       "#999")}, "name": name, "x": [p[0] for p in pts], "y": [p[1] for p in pts],
                       "customdata": [p[2] for p in pts],
                       "hovertemplate": name + " sol %{customdata}<br>%{y:,.1f} Mbit relayed<extra></extra>"})
    if not traces:
        return None
    return {"data": traces, "layout": {
        "title": {"text": "Relayed per asset per sol (Mbit; each step one sol of the asset)", "x": 0,
                  "font": {"size": 15}},
        "height": 380, "margin": {"l": 70, "r": 20, "t": 70, "b": 40}, "hovermode": "closest",
        "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        "xaxis": {"type": "date", "title": {"text": "UTC"}, "rangeslider": {"visible": True, "thickness": 0.1}},
        "yaxis": {"title": {"text": "Mbit per sol"}, "rangemode": "tozero"}}}
