"""report.html's "Predicted vs achieved" section (issue 22): a plan's pass performance reports
against what it planned, as the page shows them.

What the section shows comes in an :class:`ActualsView` of plain tables, made by
:mod:`relay.actuals.report_section` from the reports stored beside the plan (actuals.csv):

* per orbiter-asset pair: a table (sessions, reported, failed or missed, predicted, planned and
  achieved Mbit over the reported sessions, the ratio achieved / predicted, the reports that
  match no planned session) and a scatter chart of predicted against achieved per session
  (plotly, like the report's other charts: the page inlines plotly.js once, in its first chart),
  with the calibration's median and one-sigma band when the plan was made with one
  (``link.calibration``: each session's spread as the plan's instance holds it);
* per asset and sol: planned against received, and the data on the lander at the end of the sol
  as planned and with the reports (the backlog a short or failed pass leaves);
* the reported sessions (with their notes), the planned sessions without a report and the
  reports that match no planned session: listed, never dropped.

The section is rendered alone (``actuals.html``'s macro, autoescaping every user string) and
:func:`splice_section` puts it between report.html's :data:`BEGIN` and :data:`END` markers
(which a plan's report carries empty), replacing what a previous ingest put there; a report
written before the markers existed gets them before its closing data block.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from .pages import Table, render_macro
from .report import ASSET_COLOURS, chart_parts, colour_map, plain, table_view

#: the markers around the section in report.html (the page escapes every user string, and
#: plotly's JSON escapes ``<``, so no text of the page can hold them)
BEGIN = "<!-- relay:actuals -->"
END = "<!-- /relay:actuals -->"
#: where a report without the markers gets the section
FALLBACK_BEFORE = ('<script type="application/json" id="relay-marks">', "</body>")
#: outcomes of a session that returned nothing
LOST = ("failed", "missed")
OUTCOME_SYMBOLS = {"ok": "circle", "partial": "diamond", "failed": "x", "missed": "x-open"}


@dataclass(frozen=True)
class ActualsView:
    """What the section shows (every table a DataFrame; the column names are the page's):
    ``pairs`` (per orbiter-asset pair), ``sessions`` (every planned session: ``option_id,
    orbiter, asset, sol, start, end, predicted_mbit, planned_mbit, achieved_mbit, ratio, outcome,
    note, report`` and the calibration's ``mu, sigma``, NaN without one), ``sols`` (per asset
    and sol), ``unmatched`` (reports matching no session), ``aboard`` (per asset, the data on the
    lander at ``aboard_at``, the end of the latest session reported), ``calibration`` (the label
    of the calibration the plan was made with, "" without one)."""

    pairs: pd.DataFrame
    sessions: pd.DataFrame
    sols: pd.DataFrame
    unmatched: pd.DataFrame
    aboard: pd.DataFrame
    aboard_at: str
    calibration: str = ""


def bands_of(g: pd.DataFrame) -> list[tuple[float, float]]:
    """The distinct calibrated spreads ``(mu, sigma)`` of a pair's sessions (none uncalibrated)."""
    if "mu" not in g.columns:
        return []
    spreads = {(float(m), float(s)) for m, s in zip(g["mu"], g["sigma"]) if m == m and s == s}
    return sorted(x for x in spreads if x != (0.0, 0.0))


def _band_traces(bands: list[tuple[float, float]], x_max: float, label: str) -> list[dict]:
    traces = []
    for k, (mu, sigma) in enumerate(bands):
        x = [0.0, x_max]
        name = plain(f"calibration {label}: median x{math.exp(mu):.2f}, +-1 sigma ({sigma:.2f})")
        traces += [{"type": "scatter", "mode": "lines", "x": x, "y": [v * math.exp(mu - sigma) for v in x],
                    "line": {"width": 0}, "showlegend": False, "hoverinfo": "skip", "legendgroup": f"band{k}"},
                   {"type": "scatter", "mode": "lines", "x": x, "y": [v * math.exp(mu + sigma) for v in x],
                    "fill": "tonexty", "fillcolor": "rgba(0,114,178,0.15)", "line": {"width": 0},
                    "name": name, "legendgroup": f"band{k}", "hoverinfo": "skip"},
                   {"type": "scatter", "mode": "lines", "x": x, "y": [v * math.exp(mu) for v in x],
                    "line": {"color": "#0072B2", "dash": "dash", "width": 1}, "name": name,
                    "legendgroup": f"band{k}", "showlegend": False, "hoverinfo": "skip"}]
    return traces


def _hover(r) -> str:
    lines = [("session", r.option_id), ("start UTC", r.start), ("outcome", r.outcome),
             ("predicted Mbit", f"{r.predicted_mbit:,.1f}"), ("planned Mbit", f"{r.planned_mbit:,.1f}"),
             ("achieved Mbit", f"{r.achieved_mbit:,.1f}"), ("note", r.note)]
    return "<br>".join(f"{k}: {plain(v)}" for k, v in lines if str(v) != "")


def pair_chart(sessions: pd.DataFrame, orbiter: str, asset: str, colour: str, calibration: str) -> dict:
    """Predicted against achieved of one pair's reported sessions (one marker per outcome), the
    line achieved = predicted and the calibration's band (:func:`bands_of`)."""
    g = sessions[(sessions["orbiter"] == orbiter) & (sessions["asset"] == asset)
                 & (sessions["outcome"] != "unreported")]
    x_max = max([float(v) for v in g["predicted_mbit"]] + [float(v) for v in g["achieved_mbit"]] + [1.0]) * 1.05
    traces = _band_traces(bands_of(g), x_max, calibration) if calibration else []
    traces.append({"type": "scatter", "mode": "lines", "x": [0.0, x_max], "y": [0.0, x_max],
                   "name": "achieved = predicted",
                   "line": {"color": "#57606a", "dash": "dot", "width": 1}, "hoverinfo": "skip"})
    for outcome, symbol in OUTCOME_SYMBOLS.items():
        h = g[g["outcome"] == outcome]
        if len(h):
            traces.append({"type": "scatter", "mode": "markers", "name": f"{outcome} ({len(h)})",
                           "x": [float(v) for v in h["predicted_mbit"]], "y": [float(v) for v in h["achieved_mbit"]],
                           "marker": {"symbol": symbol, "size": 8, "color": "#b42318" if outcome in LOST else colour},
                           "hovertext": [_hover(r) for r in h.itertuples(index=False)], "hoverinfo": "text",
                           "hoverlabel": {"align": "left"}})
    lay = {"title": {"text": plain(f"{orbiter} -> {asset}: {len(g)} session(s) reported"), "x": 0,
                     "font": {"size": 13}},
           "height": 380, "width": 520, "margin": {"l": 60, "r": 10, "t": 50, "b": 45}, "hovermode": "closest",
           "legend": {"font": {"size": 10}, "orientation": "h", "y": -0.25},
           "xaxis": {"title": {"text": "predicted, Mbit"}, "rangemode": "tozero"},
           "yaxis": {"title": {"text": "achieved, Mbit"}, "rangemode": "tozero"}}
    return {"data": traces, "layout": lay}


def _calibration_text(sessions: pd.DataFrame, orbiter: str, asset: str) -> str:
    g = sessions[(sessions["orbiter"] == orbiter) & (sessions["asset"] == asset)]
    return "; ".join(f"x{math.exp(mu):.3f} +-{sigma:.3f}" for mu, sigma in bands_of(g)) or "uncalibrated"


def pair_frame(view: ActualsView) -> pd.DataFrame:
    """The per-pair table as the page shows it (with the calibration's median ratio and spread of
    the log ratio when the plan was made with one)."""
    df = view.pairs.rename(columns={"lost": "failed_or_missed"})
    if view.calibration and len(df):
        df = df.assign(calibration=[_calibration_text(view.sessions, o, a) for o, a in zip(df["orbiter"], df["asset"])])
    return df


def sol_frame(sols: pd.DataFrame) -> pd.DataFrame:
    """The per asset and sol table as the page shows it (a sol outside the plan's sols as -)."""
    if not len(sols):
        return sols
    df = sols.rename(columns={"lost": "failed_or_missed"})
    df = df.assign(sol=["-" if int(s) < 0 else str(int(s)) for s in df["sol"]])
    return df[[c for c in SOL_COLUMNS if c in df.columns]]


SOL_COLUMNS = ["asset", "sol", "sessions", "reported", "failed_or_missed", "unplanned", "planned_mbit",
               "reported_planned_mbit", "received_mbit", "shortfall_mbit", "aboard_planned_mbit", "aboard_mbit"]
SESSION_COLUMNS = ["option_id", "orbiter", "asset", "sol", "start", "predicted_mbit", "planned_mbit", "achieved_mbit",
                   "ratio", "outcome", "note", "report"]
UNREPORTED_COLUMNS = ["option_id", "orbiter", "asset", "sol", "start", "end", "predicted_mbit", "planned_mbit"]
UNMATCHED_COLUMNS = ["orbiter", "asset", "start", "end", "achieved_mbit", "outcome", "note", "report"]
TEXT = ("option_id", "orbiter", "asset", "start", "end", "outcome", "note", "report", "calibration")


def section_tables(view: ActualsView) -> dict[str, Table]:
    """The section's tables (relay.outputs.pages.Table), each with its id."""
    s = view.sessions
    reported = s[s["outcome"] != "unreported"] if len(s) else s
    unreported = s[s["outcome"] == "unreported"] if len(s) else s
    return {
        "pairs": table_view(pair_frame(view), left=TEXT, table_id="actuals-pairs"),
        "sols": table_view(sol_frame(view.sols), left=("asset",), table_id="actuals-sols"),
        "aboard": table_view(view.aboard, left=("asset",), table_id="actuals-aboard"),
        "reported": table_view(reported[SESSION_COLUMNS] if len(reported) else None, left=TEXT,
                               table_id="actuals-sessions"),
        "unreported": table_view(unreported[UNREPORTED_COLUMNS] if len(unreported) else None, left=TEXT,
                                 table_id="actuals-unreported"),
        "unmatched": table_view(view.unmatched[UNMATCHED_COLUMNS] if len(view.unmatched) else None, left=TEXT,
                                table_id="actuals-unmatched"),
    }


def section_marks(view: ActualsView) -> dict:
    """Facts of the section for scripts reading the page (``#relay-actuals-marks``)."""
    s = view.sessions
    return {"pairs": int(len(view.pairs)), "reported": int((s["outcome"] != "unreported").sum()) if len(s) else 0,
            "unreported": int((s["outcome"] == "unreported").sum()) if len(s) else 0,
            "unmatched": int(len(view.unmatched)), "calibration": view.calibration}


def render_section(view: ActualsView) -> str:
    """The section's HTML (``actuals.html``'s macro; every user string escaped), a chart per pair
    (plotly.js not inlined again: the page has it)."""
    s = view.sessions
    colours = colour_map(view.pairs["asset"], ASSET_COLOURS) if len(view.pairs) else {}
    drawn = set(zip(s["orbiter"], s["asset"], s["outcome"] != "unreported")) if len(s) else set()
    charts = [chart_parts(pair_chart(s, o, a, colours.get(str(a), "#0072B2"), view.calibration),
                          f"actuals-pair-{k}", with_js=False)
              for k, (o, a) in enumerate(zip(view.pairs["orbiter"], view.pairs["asset"])) if (o, a, True) in drawn]
    return render_macro("actuals.html", "actuals_section", {
        "tables": section_tables(view), "charts": charts, "marks": section_marks(view),
        "calibration": view.calibration, "aboard_at": view.aboard_at})


def splice_section(page: str, section: str) -> str:
    """``page`` (a report.html) with ``section`` between its markers, replacing what they held; a
    page without them gets them, with the section, before its closing data block."""
    start = page.rfind(BEGIN)
    end = page.find(END, start) if start >= 0 else -1
    if start >= 0 and end >= 0:
        return page[:start] + BEGIN + section + page[end:]
    for anchor in FALLBACK_BEFORE:
        at = page.rfind(anchor)
        if at >= 0:
            return page[:at] + BEGIN + section + END + "\n" + page[at:]
    return page + BEGIN + section + END


__all__ = ["BEGIN", "END", "ActualsView", "bands_of", "pair_chart", "pair_frame", "sol_frame", "section_tables",
           "section_marks", "render_section", "splice_section"]
