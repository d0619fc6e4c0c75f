"""The human report of a plan: one self-contained, interactive ``report.html``.

The charts are plotly figures (plotly.js is inlined once, so the page works
with no network): a timeline per orbiter (relay sessions coloured by asset,
the unused passes faint, downlinks coloured by station) and per asset
(sessions coloured by orbiter), each mark with a tooltip (UTC times, and the
mission sol, LMST and reason where the tables carry them); the store fill
of each orbiter with its capacity line; what each orbiter delivered and
still holds at the end.  The timeline per asset carries each asset's sols
(alternate bands labelled with the mission sol, from local midnight to
midnight, LMST 00:00 to 24:00) and the relay requests' windows (markers;
a session's tooltip names the requests it meets); both timelines shade the
outages and vetoes over the lanes they take (the whole chart for a station's
or another timeline's).  The store fill shows each orbiter's capacity as a
line only when the fill comes near it (so that the usual fills stay
readable).  A re-plan's report says so in its title and shows its changes
near the top; a nightly run's says what the run is (:class:`NightlyBanner`),
and DEGRADED at the top with the reasons when it is.  Then the summary, the
per-asset figures, the requirements, the sessions and the downlinks as tables.  Every user string
(names, notes) is escaped: it is plain text in the charts and in the HTML.
One colour per asset and one per orbiter, the same on every chart.

A plan over more than two weeks (:data:`relay.outputs.horizon_views.LONG_HORIZON_DAYS`) stays
light and legible at the scale of its horizon: its timelines are compact (WebGL segments, one
invisible marker per mark for its tooltip, a range slider and buttons from a day to the whole
horizon, the sol bands as one filled path per asset; an unused pass's tooltip shortened), it
shows what each asset relayed per sol and delivered per week, and the requirements met per month
(:mod:`relay.outputs.horizon_views`); and a table longer than :data:`ROWS_SHOWN` rows (the
sessions, downlinks, unused passes, sols) shows its first rows and links to its CSV beside the page.

This module makes the figures, the charts' markup and the tables' cells; the
page around them is the ``report.html`` template (relay/templates, see
:mod:`relay.outputs.pages`), which escapes every text it shows.
"""

from __future__ import annotations

import dataclasses
import decimal
import functools
import html
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from ..sols import clocks_of
from ..summary import PlanSummary
from ..timescales import iso_z, tdb_s_to_iso
from . import horizon_views as hv
from .pages import Table, render_macro, render_page
from .tables import iso_text, utc_ms

#: colour-blind-safe qualitative palettes (Okabe-Ito, then Tableau 10) for assets and orbiters
ASSET_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442", "#000000")
ORBITER_COLOURS = ("#4E79A7", "#F28E2B", "#E15759", "#76B7B2", "#59A14F", "#EDC948", "#B07AA1", "#FF9DA7",
                   "#9C755F", "#BAB0AC")
STATION_COLOURS = ("#636363", "#8C6D31", "#843C39", "#7B4173", "#3182BD", "#31A354", "#756BB1", "#E6550D")


def colour_map(names, palette) -> dict[str, str]:
    """A fixed colour per name (sorted), cycling through ``palette``."""
    return {n: palette[i % len(palette)] for i, n in enumerate(sorted(set(map(str, names))))}


def plain(text) -> str:
    """A user string as plain text for plotly (which reads a subset of HTML in labels)."""
    return html.escape(str(text), quote=False)


def column_values(col: pd.Series) -> list:
    """A table column's values as the report shows them: UTC timestamps in the file spelling
    (``NaT`` for a missing one), everything else as it is (one numpy call for a UTC column)."""
    ms = utc_ms(col)
    if ms is None:
        return [iso_z(v) if isinstance(v, pd.Timestamp) else v for v in col.tolist()]
    return [t if t == "NaT" else t + "Z" for t in np.datetime_as_string(ms, unit="ms").tolist()]


def _hover(df: pd.DataFrame, rows: list[tuple[str, str]]) -> list[str]:
    """One tooltip per row: ``label: value`` lines for the columns the table has (a missing
    or empty value gives no line)."""
    lines = []
    for label, col in rows:
        if col not in df.columns:
            continue
        lines.append([None if v is None or (isinstance(v, float) and v != v) or (isinstance(v, str) and v == "")
                      else f"{label}: {plain(f'{v:,.1f}' if isinstance(v, float) else v)}"
                      for v in column_values(df[col])])
    return ["<br>".join(line for line in row if line is not None) for row in zip(*lines)] if lines else [""] * len(df)


def _marks(df: pd.DataFrame, lane: str, hover: list[tuple[str, str]], start: str = "start",
           end: str = "end") -> dict[str, list]:
    """Each row of ``df`` as a horizontal bar on a date axis, from ``start`` to ``end`` in the
    row's ``lane``: its base (UTC, ms), length (ms), lane and tooltip, for :func:`_bars`."""
    t0 = pd.to_datetime(df[start], utc=True)
    t1 = pd.to_datetime(df[end], utc=True)
    ns = (t1 - t0).to_numpy(dtype="timedelta64[ns]").astype(np.int64).tolist()
    return {"base": [t[:-1] if t != "NaT" else None for t in column_values(t0)],
            "ms": _epoch_ms(t0), "end_ms": _epoch_ms(t1),
            "x": [pd.Timedelta(d).total_seconds() * 1000.0 for d in ns],
            "y": [plain(v) for v in df[lane].tolist()], "hovertext": _hover(df, hover)}


def _epoch_ms(t: pd.Series) -> list[int | None]:
    """UTC timestamps as milliseconds since 1970 (a date axis reads them as such; None for NaT)."""
    ms = t.to_numpy(dtype="datetime64[ms]").astype(np.int64).tolist()
    return [None if v == np.iinfo(np.int64).min else v for v in ms]


def _groups(values) -> list[tuple[object, list[int]]]:
    """The rows of each value (sorted, missing values left out), as ``groupby(sort=True)``."""
    rows: dict = {}
    for i, v in enumerate(values):
        if v is not None and v == v:
            rows.setdefault(v, []).append(i)
    return sorted(rows.items())


def _bars(marks: dict[str, list], rows: list[int], name: str, colour: str, *, opacity: float = 1.0,
          width: float = 0.6, offset: float = 0.0, legendgroup: str | None = None, showlegend: bool = True) -> dict:
    """A horizontal-bar trace on a date axis: the bars of ``marks`` (see :func:`_marks`) at ``rows``."""
    def pick(key):
        return [marks[key][i] for i in rows]

    return {
        "type": "bar", "orientation": "h", "name": plain(name), "legendgroup": legendgroup or plain(name),
        "showlegend": showlegend, "base": pick("base"), "x": pick("x"), "y": pick("y"), "width": width,
        "offset": offset - width / 2, "marker": {"color": colour, "opacity": opacity, "line": {"width": 0}},
        "hovertext": pick("hovertext"), "hoverinfo": "text", "hoverlabel": {"align": "left"},
    }


#: pixels of a compact timeline's lane per unit of a bar's width (a session's bar, 0.6, is 18 px thick)
LANE_PX = 30.0


def _segments(marks: dict[str, list], rows: list[int], name: str, colour: str, *, y_of: dict[str, int],
              opacity: float = 1.0, width: float = 0.6, offset: float = 0.0, legendgroup: str | None = None,
              showlegend: bool = True) -> list[dict]:
    """:func:`_bars` drawn compactly (a long plan's timeline): a WebGL trace whose thick line draws
    each bar as a segment from its start to its end (milliseconds since 1970, segments apart:
    ``None`` between) on the lane's number in ``y_of`` plus ``offset`` (one draw for thousands of
    bars, where SVG makes an element of each), and a WebGL trace of invisible markers, one at each
    bar's middle, carrying its tooltip."""
    xs, ys, mid, my, tips = [], [], [], [], []
    for i in rows:
        a, b, lane = marks["ms"][i], marks["end_ms"][i], marks["y"][i]
        if a is None or b is None or lane not in y_of:
            continue
        y = y_of[lane] + offset
        xs += [a, b, None]
        ys += [y, y, None]
        mid.append((a + b) // 2)
        my.append(y)
        tips.append(marks["hovertext"][i])
    group = legendgroup or plain(name)
    px = max(2.0, round(width * LANE_PX))
    return [{"type": "scattergl", "mode": "lines", "name": plain(name), "legendgroup": group, "showlegend": showlegend,
             "x": xs, "y": ys, "connectgaps": False, "opacity": opacity, "hoverinfo": "skip",
             "line": {"color": colour, "width": px, "simplify": False}},
            {"type": "scattergl", "mode": "markers", "name": plain(name), "legendgroup": group, "showlegend": False,
             "x": mid, "y": my, "marker": {"color": colour, "opacity": 0, "size": px, "symbol": "square"},
             "hovertext": tips, "hoverinfo": "text", "hoverlabel": {"align": "left"}}]


def _compact_axes(lay: dict, lanes: list[str]) -> None:
    """A compact timeline's axes: the lanes numbered (0 at the bottom, as a category axis would
    put them), the UTC axis with a range slider and buttons from a day to the whole horizon."""
    lay["height"] += 90
    lay["yaxis"].update(tickmode="array", tickvals=list(range(len(lanes))), ticktext=lanes,
                        range=[-0.5, len(lanes) - 0.5], zeroline=False, showgrid=False)
    lay["margin"]["t"] = 120
    # the legend above the buttons (about 30 px over the plot area, in the plot's own height units)
    lay["legend"]["y"] = 1.0 + 34.0 / max(100.0, lay["height"] - 120 - 40 - 60)
    lay["xaxis"].update(rangeslider={"visible": True, "thickness": 0.08}, rangeselector={
        "x": 1, "xanchor": "right", "y": 1.0, "yanchor": "bottom", "buttons": [
        {"count": 1, "label": "1 d", "step": "day", "stepmode": "backward"},
        {"count": 7, "label": "1 w", "step": "day", "stepmode": "backward"},
        {"count": 1, "label": "1 m", "step": "month", "stepmode": "backward"},
        {"step": "all", "label": "all"}]})


SESSION_HOVER = [("orbiter", "orbiter"), ("asset", "asset"), ("kind", "kind"), ("start UTC", "start"),
                 ("end UTC", "end"), ("sol", "sol"), ("LMST", "lmst_start"), ("LMST end", "lmst_end"),
                 ("volume Mbit", "volume_mbit"), ("max elevation deg", "max_elevation_deg"),
                 ("pass", "pass_id"), ("reason", "reason"), ("detail", "reason_detail"),
                 ("meets request", "request")]
PASS_HOVER = [("unused pass of", "orbiter"), ("asset", "asset"), ("rise UTC", "rise"), ("set UTC", "set"),
              ("sol", "sol"), ("LMST", "lmst_start"), ("volume Mbit", "volume_mbit"),
              ("max elevation deg", "max_elevation_deg"), ("pass", "pass_id"), ("reason", "reason"),
              ("detail", "reason_detail")]
#: a session's tooltip on a compact timeline (thousands of them, on both timelines: the pass, its
#: elevation and the reason's detail are in schedule.csv and passes.csv)
SESSION_HOVER_SHORT = [("orbiter", "orbiter"), ("asset", "asset"), ("kind", "kind"), ("start UTC", "start"),
                       ("end UTC", "end"), ("sol", "sol"), ("LMST", "lmst_start"), ("volume Mbit", "volume_mbit"),
                       ("reason", "reason"), ("meets request", "request")]
#: an unused pass's tooltip on a compact timeline (thousands of them: the rest is in passes.csv)
PASS_HOVER_SHORT = [("unused pass of", "orbiter"), ("asset", "asset"), ("rise UTC", "rise"),
                    ("volume Mbit", "volume_mbit"), ("reason", "reason")]
DOWNLINK_HOVER = [("downlink", "orbiter"), ("station", "station"), ("start UTC", "start"), ("end UTC", "end"),
                  ("volume Mbit", "volume_mbit"), ("data of", "assets")]


def _layout(title: str, n_lanes: int, *, date_axis: bool = True, barmode: str = "overlay") -> dict:
    lay = {"title": {"text": plain(title), "x": 0, "font": {"size": 15}},
           "height": 140 + 42 * max(1, n_lanes), "margin": {"l": 110, "r": 20, "t": 70, "b": 40},
           "barmode": barmode, "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
           "hovermode": "closest", "yaxis": {"automargin": True}}
    if date_axis:
        lay["xaxis"] = {"type": "date", "title": {"text": "UTC"}}
    return lay


def with_pass_columns(sessions: pd.DataFrame, passes: pd.DataFrame | None) -> pd.DataFrame:
    """The sessions with their pass's max elevation and reason (for the tooltips)."""
    cols = [c for c in ("max_elevation_deg", "reason", "reason_detail") if passes is not None and c in passes]
    if not cols or not len(sessions):
        return sessions
    extra = passes.set_index("pass_id")[cols]
    out = sessions.copy()
    for c in cols:
        out[c] = extra[c].reindex(out["pass_id"]).to_numpy()
    return out


def _lanes(sessions: pd.DataFrame, passes: pd.DataFrame | None, downlinks: pd.DataFrame, by: str,
           compact: bool) -> list[str]:
    """A timeline's lanes (plain text) in the order of its axis, top lane last."""
    lanes = set(sessions[by]) | (set(downlinks["orbiter"]) if by == "orbiter" and len(downlinks) else set())
    if compact and passes is not None and len(passes) and "used" in passes:
        lanes |= set(passes.loc[~passes["used"].astype(bool), by])
    return sorted({plain(v) for v in lanes}, reverse=True)


def timeline(sessions: pd.DataFrame, passes: pd.DataFrame | None, downlinks: pd.DataFrame, by: str,
             colours: dict[str, dict[str, str]], overlay: "TimelineMarks | None" = None, *,
             compact: bool = False) -> dict:
    """The timeline per orbiter (``by='orbiter'``: sessions by asset, downlinks by station, unused
    passes faint) or per asset (``by='asset'``: sessions coloured by orbiter); ``overlay`` adds the
    sol bands, outage and veto spans and request windows (:func:`add_marks`).  ``compact`` (a long
    plan's): each colour's bars WebGL segments (:func:`_segments`), a range slider and buttons to zoom
    from the whole horizon to a day, and the sol bands as one filled path per asset, unlabelled."""
    other = "asset" if by == "orbiter" else "orbiter"
    traces = []
    sessions = with_pass_columns(sessions, passes)
    lanes = _lanes(sessions, passes if by == "orbiter" else None, downlinks, by, compact)
    draw = functools.partial(_segments, y_of={v: k for k, v in enumerate(lanes)}) if compact \
        else lambda *a, **k: [_bars(*a, **k)]
    if by == "asset":
        passes = None  # the unused passes are drawn on the orbiters' timeline
    if passes is not None and len(passes) and "used" in passes:
        unused = passes[~passes["used"].astype(bool)]
        marks = _marks(unused, by, PASS_HOVER_SHORT if compact else PASS_HOVER, start="rise", end="set")
        for name, rows in _groups(unused[other].tolist()):
            traces.extend(draw(marks, rows, f"unused: {name}", colours[other].get(str(name), "#999"), opacity=0.18,
                                legendgroup=f"unused-{plain(name)}", showlegend=False))
    marks = _marks(sessions, by, SESSION_HOVER_SHORT if compact else SESSION_HOVER)
    for name, rows in _groups(sessions[other].tolist()):
        traces.extend(draw(marks, rows, str(name), colours[other].get(str(name), "#999")))
    if by == "orbiter" and len(downlinks):
        marks = _marks(downlinks, "orbiter", DOWNLINK_HOVER)
        for name, rows in _groups(downlinks["station"].tolist()):
            traces.extend(draw(marks, rows, f"downlink {name}", colours["station"].get(str(name), "#444"),
                                width=0.18, offset=0.36))
    title = ("Relay sessions (by asset) and downlinks (by station) per orbiter; faint: unused passes"
             if by == "orbiter" else "Relay sessions per asset (by orbiter)")
    lay = _layout(title, len(lanes))
    if compact:
        _compact_axes(lay, lanes)
    else:
        lay["yaxis"].update(categoryorder="category descending")
    fig = {"data": traces, "layout": lay}
    if overlay is not None:
        add_marks(fig, overlay, by, lanes, compact=compact)
    return fig


# ----------------------------------------------------------------------------- sols, operations, requests
SOL_BAND_COLOUR = "#6e7781"
SPAN_COLOURS = {"outage": "#D55E00", "veto": "#CC79A7"}
REQUEST_COLOUR = "#6e40c9"


@dataclass
class TimelineMarks:
    """What the timelines draw beside the plan: ``sols`` (asset -> (mission sol, start, end) of
    each sol over the horizon, ISO UTC without the Z), ``spans`` (outages and vetoes: kind,
    label, tooltip, the names of the lanes they take, start, end) and ``requests`` (each relay
    request's id, asset, window and tooltip)."""

    sols: dict[str, list[tuple[int, str, str]]] = field(default_factory=dict)
    spans: list[dict] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)


def _iso_axis(tdb_s) -> list[str]:
    """TDB seconds as the date axis reads them (ISO UTC to the millisecond, no Z)."""
    return [t[:-1] for t in tdb_s_to_iso(np.atleast_1d(np.asarray(tdb_s, dtype=float)))]


def _sol_bands(problem, t0: float, t1: float) -> dict[str, list[tuple[int, str, str]]]:
    clocks = clocks_of(problem)
    out = {}
    for a in problem.assets:
        sols = [(int(n), max(float(s0), t0), min(float(s1), t1)) for n, s0, s1 in (a.sols or ()) if s1 > t0 and s0 < t1]
        if a.name not in clocks or not sols:
            continue
        clock = clocks[a.name]
        starts, ends = _iso_axis([s for _, s, _ in sols]), _iso_axis([e for _, _, e in sols])
        out[a.name] = [(int(clock.sol_of_local(n)), s, e) for (n, _, _), s, e in zip(sols, starts, ends)]
    return out


def _spans(problem, passes: pd.DataFrame | None, t0: float, t1: float) -> list[dict]:
    spans = []
    for o in getattr(problem, "outages", ()) or ():
        lanes = {o.target} | ({o.orbiter} if o.orbiter else set())
        spans.append({"kind": "outage", "label": f"outage {o.target}", "lanes": lanes,
                      "span": (o.start_tdb_s, o.end_tdb_s),
                      "hover": f"outage of {o.target}" + (f" for {o.orbiter}" if o.orbiter else "")
                               + f" ({o.what})" + (f": {o.note}" if o.note else "")})
    rise = dict(zip(passes["pass_id"].astype(str), zip(passes["rise_tdb_s"], passes["set_tdb_s"]))) \
        if passes is not None and len(passes) and "rise_tdb_s" in passes else {}
    for v in getattr(problem, "forbid", ()) or ():
        if v.pass_id is not None:
            if str(v.pass_id) not in rise:
                continue
            span, who = rise[str(v.pass_id)], f"pass {v.pass_id}"
            lanes = set(passes.loc[passes["pass_id"].astype(str) == str(v.pass_id), ["orbiter", "asset"]]
                        .iloc[0].tolist())
        else:
            span = (v.start_tdb_s if v.start_tdb_s is not None else t0, v.end_tdb_s if v.end_tdb_s is not None else t1)
            who = " with ".join(x for x in (v.orbiter, v.asset) if x) or "every session"
            lanes = {x for x in (v.orbiter, v.asset) if x}
        spans.append({"kind": "veto", "label": f"veto {who}", "lanes": lanes, "span": span,
                      "hover": f"veto of {who}" + (f": {v.note}" if v.note else "")})
    kept = []
    for sp in spans:
        a, b = max(float(sp["span"][0]), t0), min(float(sp["span"][1]), t1)
        if b > a:
            sp["start"], sp["end"] = _iso_axis([a, b])
            kept.append(sp)
    return kept


def _request_marks(requests: pd.DataFrame | None) -> list[dict]:
    if requests is None or not len(requests):
        return []
    out = []
    for r in requests.itertuples(index=False):
        t = pd.to_datetime(pd.Series([r.start, r.end]), utc=True)
        if t.isna().any():
            continue
        ends = [x[:-1] for x in column_values(t)]
        hover = "<br>".join(f"{k}: {plain(v)}" for k, v in (
            ("request", r.id), ("asset", r.asset), ("kind", r.kind), ("window UTC", f"{r.start} to {r.end}"),
            ("priority", r.priority), ("status", r.status), ("reason", getattr(r, "reason", ""))) if str(v) != "")
        out.append({"id": str(r.id), "asset": str(r.asset), "start": ends[0], "end": ends[1], "hover": hover})
    return out


def timeline_marks(problem, passes: pd.DataFrame | None, requests: pd.DataFrame | None) -> TimelineMarks | None:
    """The sols, outage and veto spans and request windows of a plan's instance (None without one)."""
    if problem is None or getattr(problem, "assets", None) is None:
        return None
    t0, t1 = float(problem.start_tdb_s), float(problem.end_tdb_s)
    return TimelineMarks(_sol_bands(problem, t0, t1), _spans(problem, passes, t0, t1), _request_marks(requests))


def _lane_box(lanes: list[str], names: set) -> list[tuple[str, float, float]]:
    """The (yref, y0, y1) boxes of the lanes among ``names`` (category k spans k +- 0.5), or the
    whole chart when none is a lane of this timeline."""
    hit = [k for k, lane in enumerate(lanes) if lane in {plain(n) for n in names}]
    return [("y", k - 0.5, k + 0.5) for k in hit] or [("paper", 0.0, 1.0)]


def _sol_fills(marks: TimelineMarks, lanes: list[str]) -> list[dict]:
    """A compact timeline's sol bands: every other sol of each asset shaded, one filled path per
    asset (no shape or label per sol: a year has hundreds; the sessions' tooltips name their sol)."""
    traces = []
    for k, lane in enumerate(lanes):
        xs, ys = [], []
        for _, a, b in marks.sols.get(html.unescape(lane), ())[::2]:
            xs += [a, b, b, a, a, None]
            ys += [k - 0.5, k - 0.5, k + 0.5, k + 0.5, k - 0.5, None]
        if xs:
            traces.append({"type": "scatter", "mode": "none", "fill": "toself", "fillcolor": "rgba(110,119,129,0.10)",
                           "x": xs, "y": ys, "name": plain(f"sols of {html.unescape(lane)}"), "showlegend": False,
                           "hoverinfo": "skip", "connectgaps": False})
    return traces


def _sol_shapes(marks: TimelineMarks, lanes: list[str]) -> tuple[list[dict], list[dict]]:
    """Each sol of each asset lane as a band (every other one shaded) and a label."""
    shapes, notes = [], []
    for k, lane in enumerate(lanes):
        for i, (sol, a, b) in enumerate(marks.sols.get(html.unescape(lane), ())):
            shapes.append({"type": "rect", "xref": "x", "yref": "y", "x0": a, "x1": b, "y0": k - 0.5,
                           "y1": k + 0.5, "fillcolor": SOL_BAND_COLOUR, "opacity": 0.10 if i % 2 == 0 else 0.0,
                           "line": {"width": 0.5, "color": SOL_BAND_COLOUR, "dash": "dot"}, "layer": "below",
                           "name": plain(f"sol {lane} {sol}")})
            notes.append({"x": a, "y": k + 0.5, "xref": "x", "yref": "y", "xanchor": "left", "yanchor": "top",
                          "text": f"sol {sol}", "showarrow": False, "font": {"size": 9, "color": "#57606a"},
                          "hovertext": plain(f"{html.unescape(lane)} sol {sol}: LMST 00:00 at {a}Z "
                                             f"to 24:00 at {b}Z")})
    return shapes, notes


def add_marks(fig: dict, marks: TimelineMarks, by: str, lanes: list[str], *, compact: bool = False) -> None:
    """Sol bands (per asset), outage and veto spans, and request windows on a timeline whose
    lanes are ``lanes`` (the categories in the order of the axis; ``compact``: numbered lanes,
    the sol bands filled paths under the sessions, see :func:`_sol_fills`)."""
    shapes, notes = [], []
    if by == "asset" and compact:
        fig["data"][:0] = _sol_fills(marks, lanes)
    elif by == "asset":
        shapes, notes = _sol_shapes(marks, lanes)
    for sp in marks.spans:
        for yref, y0, y1 in _lane_box(lanes, sp["lanes"]):
            shapes.append({"type": "rect", "xref": "x", "yref": yref, "x0": sp["start"], "x1": sp["end"], "y0": y0,
                           "y1": y1, "fillcolor": SPAN_COLOURS[sp["kind"]], "opacity": 0.16, "line": {"width": 0},
                           "layer": "below", "name": plain(sp["label"])})
            notes.append({"x": sp["start"], "y": y1, "xref": "x", "yref": yref, "xanchor": "left",
                          "yanchor": "top", "text": plain(sp["label"]), "showarrow": False,
                          "font": {"size": 9, "color": SPAN_COLOURS[sp["kind"]]}, "hovertext": plain(sp["hover"])})
    if by == "asset":
        reqs = [r for r in marks.requests if plain(r["asset"]) in lanes]
        lane_y = lanes.index if compact else str
        if reqs:
            fig["data"].append({
                "type": "scatter", "mode": "lines+markers", "name": "request windows", "legendgroup": "requests",
                "x": [x for r in reqs for x in (r["start"], r["end"], None)],
                "y": [y for r in reqs for y in (lane_y(plain(r["asset"])),) * 2 + (None,)],
                "line": {"color": REQUEST_COLOUR, "width": 1, "dash": "dot"},
                "marker": {"symbol": "line-ns-open", "size": 16, "color": REQUEST_COLOUR, "line": {"width": 2}},
                "hovertext": [h for r in reqs for h in (r["hover"], r["hover"], None)], "hoverinfo": "text",
                "hoverlabel": {"align": "left"}, "connectgaps": False})
    fig["layout"]["shapes"] = shapes
    fig["layout"]["annotations"] = notes


def with_requests(sessions: pd.DataFrame, requests: pd.DataFrame | None) -> pd.DataFrame:
    """The sessions with the ids of the requests each meets (``request``, for the tooltips)."""
    if requests is None or not len(requests) or "option_id" not in sessions.columns or not len(sessions):
        return sessions
    met: dict[str, list[str]] = {}
    for rid, opts in zip(requests["id"].astype(str), requests["sessions"].fillna("").astype(str)):
        for o in filter(None, opts.split(";")):
            met.setdefault(o.strip(), []).append(rid)
    out = sessions.copy()
    out["request"] = [", ".join(met.get(str(o), [])) for o in out["option_id"]]
    return out


#: the store chart draws an orbiter's capacity line when its fill reaches this fraction of it
CAPACITY_SHOWN_FRACTION = 0.5


def store_chart(store: pd.DataFrame, capacity_mbit: dict[str, float], colours: dict[str, str]) -> dict:
    """The store fill of each orbiter (steps, Mbit, the axis scaled to the fills) with its capacity
    as a dashed line when the fill comes near it (:data:`CAPACITY_SHOWN_FRACTION`); the legend
    names each capacity and the peak fill."""
    traces = []
    for orb, g in store.groupby("orbiter", sort=True):
        c = colours.get(str(orb), "#444")
        fills = [float(v) for v in g["fill_mbit"]]
        cap = capacity_mbit.get(orb)
        peak = max(fills, default=0.0)
        name = f"{orb} (peak {peak:,.1f}" + (f" of {cap:,.0f} Mbit)" if cap else " Mbit)")
        traces.append({"type": "scatter", "mode": "lines", "line": {"shape": "hv", "color": c},
                       "name": plain(name), "legendgroup": plain(orb), "x": iso_text(g["time"]),
                       "y": fills, "hovertemplate": plain(orb) + " %{x}<br>%{y:,.1f} Mbit aboard<extra></extra>"})
        if cap and len(g) and peak >= CAPACITY_SHOWN_FRACTION * cap:
            traces.append({"type": "scatter", "mode": "lines", "line": {"dash": "dash", "color": c, "width": 1},
                           "name": plain(f"{orb} capacity"), "legendgroup": plain(orb), "showlegend": False,
                           "x": iso_text([g["time"].iloc[0], g["time"].iloc[-1]]),
                           "y": [capacity_mbit[orb]] * 2,
                           "hovertemplate": plain(orb) + " capacity %{y:,.0f} Mbit<extra></extra>"})
    lay = _layout("Orbiter store fill, Mbit (dashed: the capacity, drawn when the fill reaches half of it)", 6)
    lay["height"] = 340
    lay["yaxis"].update(title={"text": "Mbit aboard"}, rangemode="tozero")
    return {"data": traces, "layout": lay}


def delivered_chart(summary: PlanSummary, store: pd.DataFrame, colours: dict[str, str]) -> dict:
    """Delivered to Earth per orbiter, and still aboard at the end of the horizon."""
    fig = summary.figures
    orbs = sorted(fig.delivered_by_orbiter)
    aboard = {o: float(g["fill_mbit"].iloc[-1]) for o, g in store.groupby("orbiter", sort=True)} \
        if len(store) else {}
    traces = [
        {"type": "bar", "orientation": "h", "name": "delivered to Earth", "y": [plain(o) for o in orbs],
         "x": [fig.delivered_by_orbiter[o] for o in orbs], "marker": {"color": [colours.get(o, "#444") for o in orbs]},
         "hovertemplate": "%{y}: %{x:,.1f} Mbit delivered<extra></extra>"},
        {"type": "bar", "orientation": "h", "name": "still aboard at the end", "y": [plain(o) for o in orbs],
         "x": [aboard.get(o, 0.0) for o in orbs], "marker": {"color": "#BAB0AC"},
         "hovertemplate": "%{y}: %{x:,.1f} Mbit still aboard<extra></extra>"},
    ]
    lay = _layout("Delivered per orbiter, and still aboard at the end (Mbit)", len(orbs), date_axis=False,
                  barmode="stack")
    lay["xaxis"] = {"title": {"text": "Mbit"}}
    return {"data": traces, "layout": lay}


#: the chart options of every figure (plotly.js config)
CHART_CONFIG = {"displaylogo": False, "responsive": True}

# The markup plotly.io.to_html(fig, full_html=False, validate=False) writes for a figure dict
# (plotly 6), reproduced so that rendering a report needs no plotly import (0.1 s of a re-plan):
# the same page byte for byte; tests/test_replan_speed_report.py checks it against plotly.io.
_PLOTLYJS_CONFIG = """<script>window.PlotlyConfig = {MathJaxConfig: 'local'};</script>"""
_LOAD_PLOTLYJS = """\
        {win_config}
        <script>{plotlyjs}</script>\
    """
_NEW_PLOT = """\
                if (document.getElementById("{id}")) {{\
                    Plotly.newPlot(\
                        "{id}",\
                        {data},\
                        {layout},\
                        {config}\
                    )\
                }}"""
_CHART_DIV = """\
<div style="height:{height}; width:{width};">\
        \
        {load_plotlyjs}\
            <div id="{id}" class="plotly-graph-div" \
style="height:100%; width:100%;"></div>\
            <script>\
                window.PLOTLYENV=window.PLOTLYENV || {{}};\
                {script};\
            </script>\
        </div>"""
#: characters plotly escapes in the figure JSON (it may sit inside a <script>)
_JSON_ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("/", "\\u002f"))


@lru_cache(maxsize=1)
def plotly_js() -> str:
    """plotly.min.js as the installed plotly package ships it (what plotly.io inlines), read
    without importing plotly."""
    from importlib.util import find_spec
    from pathlib import Path

    spec = find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the plotly package is not installed: report.html inlines its plotly.min.js")
    return (Path(spec.submodule_search_locations[0]) / "package_data" / "plotly.min.js").read_bytes().decode("utf-8")


#: plotly.js's basic bundle (its core with the scatter, bar and pie traces: every chart relay draws
#: without WebGL), npm's plotly.js-basic-dist-min vendored unchanged in ``relay/vendor/`` (MIT, its
#: licence beside it): 1.2 MB against the full bundle's 4.8, a quarter of the code for a browser to
#: parse and compile
BASIC_BUNDLE = "plotly-basic-4.1.1.min.js"
_VENDOR = Path(__file__).resolve().parents[1] / "vendor"


def plotly_version(js: str) -> str:
    """The plotly.js version a bundle's banner names (empty if none)."""
    found = re.match(r"/\*\*\s*\* plotly\.js (?:\([^)]*\) )?v(\S+)", js[:200])
    return found.group(1) if found else ""


@lru_cache(maxsize=1)
def plotly_basic_js() -> str | None:
    """The vendored basic bundle, when it is the installed plotly's plotly.js version (else None:
    the full bundle serves)."""
    path = _VENDOR / BASIC_BUNDLE
    if not path.is_file():
        return None
    js = path.read_bytes().decode("utf-8")
    ours = plotly_version(js)
    return js if ours and ours == plotly_version(plotly_js()) else None


def _json_value(obj):
    """A value json cannot write, as plotly's JSON encoder writes it."""
    if obj is pd.NaT or obj is pd.NA:
        return None
    if isinstance(obj, np.ndarray) and obj.dtype.kind == "M":
        return np.datetime_as_string(obj).tolist()
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, decimal.Decimal):
        return float(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def figure_json(obj) -> str:
    """Compact JSON of (part of) a figure as plotly writes it: NaN and infinities as null, and
    ``<``, ``>`` and ``/`` escaped."""
    text = json.dumps(obj, separators=(",", ":"), default=_json_value)
    if "NaN" in text or "Infinity" in text:
        text = json.dumps(json.loads(text, parse_constant=lambda _: None), separators=(",", ":"))
    for char, escaped in _JSON_ESCAPES:
        text = text.replace(char, escaped)
    return text


def _css_size(value) -> str:
    try:
        float(value)
    except (ValueError, TypeError):
        return value
    return f"{value}px"


def figure_html(fig: dict, div_id: str, *, with_js: bool) -> str:
    """One chart as an HTML fragment (a figure dict, as plotly.io.to_html writes it with
    ``full_html=False``); ``with_js`` inlines plotly.js (once per page)."""
    return "".join(chart_parts(fig, div_id, with_js=with_js))


def chart_parts(fig: dict, div_id: str, *, with_js: bool, basic: bool = False) -> list[str]:
    """:func:`figure_html` in pieces, plotly.js (4.8 million characters) one of them as it is:
    the page joins them once instead of copying the script at each step.  The pieces are markup
    relay writes (user text inside is JSON with ``<``, ``>`` and ``/`` escaped, so no
    ``</script>`` can end a script early): report.html shows them as they are, unescaped, and
    as plain ``str`` (a ``Markup`` or ``|safe`` would copy plotly.js, 10 MB, on every page).
    ``basic``: the page draws no WebGL trace, so plotly.js's basic bundle serves when it is the
    installed version (:func:`plotly_basic_js`)."""
    layout = fig.get("layout", {})
    template = layout.get("template", {}).get("layout", {})
    script = _NEW_PLOT.format(id=div_id, data=figure_json(fig.get("data", [])), layout=figure_json(layout),
                              config=json.dumps(CHART_CONFIG))
    head, tail = _CHART_DIV.split("{load_plotlyjs}")
    parts = [head.format(height=_css_size(layout.get("height", template.get("height", "100%"))),
                         width=_css_size(layout.get("width", template.get("width", "100%"))))]
    if with_js:
        before, after = _LOAD_PLOTLYJS.split("{plotlyjs}")
        parts += [before.format(win_config=_PLOTLYJS_CONFIG), (basic and plotly_basic_js()) or plotly_js(), after]
    return parts + [tail.format(id=div_id, script=script)]


#: the rows a table of report.html shows at most: a longer one shows its first rows and links to its CSV
ROWS_SHOWN = 1000


def table_view(df: pd.DataFrame | None, left: tuple[str, ...] = (), table_id: str | None = None, *,
               cap: int | None = None, file: str | None = None) -> Table:
    """A DataFrame as the report's templates show it: every cell's text (see :func:`_cell`), the
    ``left`` columns aligned left; no rows when ``df`` is None or empty.  With ``cap``, a longer
    table shows its first ``cap`` rows and says that ``file`` (beside the page) holds them all."""
    if df is None or not len(df):
        return Table(table_id, [], [])
    total = len(df) if cap is not None and len(df) > cap else None
    if total is not None:
        df = df.iloc[:cap]
    classes = ["l" if c in left else "" for c in df.columns]
    cols = [[str(_cell(v)) for v in column_values(df.iloc[:, k])] for k in range(len(classes))]
    return Table(table_id, list(zip(classes, map(str, df.columns))),
                 [list(zip(classes, cells)) for cells in zip(*cols)], total, file if total is not None else None)


def html_table(df: pd.DataFrame | None, left: tuple[str, ...] = (), table_id: str | None = None) -> str:
    """A DataFrame as an escaped HTML table (a paragraph reading (none) when it has no rows)."""
    return render_macro("tables.html", "table_or_note", table_view(df, left, table_id))


def _cell(v):
    """A table cell's value: a number to 3 decimals (1 from 1,000 up), empty when missing."""
    if isinstance(v, float):
        return "" if v != v else (f"{v:,.3f}" if abs(v) < 1000 else f"{v:,.1f}")
    return v


def _num(x) -> str:
    return "n/a" if x is None else f"{x:,.1f}"


def _summary_rows(summary: PlanSummary) -> list[tuple[str, str]]:
    rep, fig = summary.solve, summary.figures
    gap = rep.gap
    return [
        ("scenario", summary.scenario or ""),
        ("span", f"{summary.start or ''} to {summary.end or ''}"),
        ("solver status", rep.status),
        ("delivered to Earth (Mbit)", f"{fig.delivered_mbit:,.1f}"),
        ("relayed from the surface (Mbit)", f"{fig.relayed_mbit:,.1f}"),
        ("still aboard at the end (Mbit)", f"{fig.onboard_end_mbit:,.1f}"),
        ("objective / best bound (points)", f"{_num(rep.objective_points)} / {_num(rep.bound)}"),
        ("relative gap", "n/a" if gap is None else f"{100 * gap:.3f} %"),
        ("bound from", rep.bound_source or "n/a"),
        ("greedy baseline (Mbit)", _num(rep.greedy_delivered_mbit)),
        ("gain over greedy", "n/a" if rep.gain_vs_greedy_pct is None else f"{rep.gain_vs_greedy_pct:+.2f} %"),
        ("solve time (s)", "n/a" if rep.solve_time_s is None else f"{rep.solve_time_s:.2f}"),
        ("solar conjunction", "yes: no commanded sessions" if fig.conjunction else "no"),
        ("violated requirements", str(len(fig.violations))),
    ] + ([("note", rep.note)] if rep.note else [])


def _per_asset(summary: PlanSummary) -> pd.DataFrame:
    fig = summary.figures
    names = sorted(fig.delivered_by_asset)
    lat = summary.latency_by_asset
    out = pd.DataFrame({
        "asset": names,
        "delivered_mbit": [fig.delivered_by_asset[a] for a in names],
        "sessions": [fig.sessions_by_asset.get(a, 0) for a in names],
        "mean_latency_h": [lat[a].mean_h if a in lat else float("nan") for a in names],
        "worst_latency_h": [lat[a].worst_h if a in lat else float("nan") for a in names],
    })
    if fig.decisional_sols_met:
        out["decisional_sols"] = [fig.decisional_sols_met.get(a, 0) for a in names]
    return out


def _tdb_text(t) -> str:
    return "" if t is None else str(tdb_s_to_iso(float(t)))


def operations_frame(problem, passes: pd.DataFrame | None) -> pd.DataFrame:
    """One row per outage and veto of the instance (``problem.outages``, ``problem.forbid``):
    what it takes and when, and the candidate passes it blocks or cuts (the sessions lost to it:
    their ids and the volume those passes offered)."""
    rows = []
    have = passes is not None and len(passes) and "rise_tdb_s" in passes.columns
    p_rows = list(passes[["pass_id", "orbiter", "asset", "rise_tdb_s", "set_tdb_s"]
                         + (["volume_mbit"] if "volume_mbit" in passes.columns else [])].itertuples(index=False)) \
        if have else []

    def hit(test):
        ids = [p for p in p_rows if test(p)]
        vol = sum(float(getattr(p, "volume_mbit", 0.0) or 0.0) for p in ids)
        return " ".join(str(p.pass_id) for p in ids), round(vol, 3)

    for o in getattr(problem, "outages", ()) or ():
        ids, vol = hit(lambda p: o.blocks_session(p.orbiter, p.asset) and p.rise_tdb_s < o.end_tdb_s
                       and o.start_tdb_s < p.set_tdb_s)
        rows.append({"input": "outage", "target": o.target + (f" (for {o.orbiter})" if o.orbiter else ""),
                     "what": o.what, "start": _tdb_text(o.start_tdb_s), "end": _tdb_text(o.end_tdb_s),
                     "passes_blocked_or_cut": ids, "their_volume_mbit": vol, "note": o.note})
    for v in getattr(problem, "forbid", ()) or ():
        if v.pass_id is not None:
            ids, vol = hit(lambda p: str(p.pass_id) == v.pass_id)
            target, start, end = f"pass {v.pass_id}", "", ""
        else:
            ids, vol = hit(lambda p: v.forbids(str(p.pass_id), p.orbiter, p.asset, p.rise_tdb_s, p.set_tdb_s))
            target = " with ".join(x for x in (v.orbiter, v.asset) if x)
            start, end = _tdb_text(v.start_tdb_s), _tdb_text(v.end_tdb_s)
        rows.append({"input": "veto", "target": target, "what": "sessions", "start": start, "end": end,
                     "passes_blocked_or_cut": ids, "their_volume_mbit": vol, "note": v.note})
    return pd.DataFrame(rows, columns=["input", "target", "what", "start", "end", "passes_blocked_or_cut",
                                       "their_volume_mbit", "note"])


def chart_colours(sessions: pd.DataFrame, downlinks: pd.DataFrame, store: pd.DataFrame, summary: PlanSummary,
                  passes: pd.DataFrame | None) -> dict[str, dict[str, str]]:
    """One colour per asset, orbiter and station of the plan, the same on every chart."""
    fig = summary.figures
    assets = set(sessions.get("asset", [])) | set(fig.delivered_by_asset)
    orbiters = set(sessions.get("orbiter", [])) | set(fig.delivered_by_orbiter) | set(store.get("orbiter", []))
    if passes is not None and len(passes):
        assets |= set(passes["asset"])
        orbiters |= set(passes["orbiter"])
    return {"asset": colour_map(assets, ASSET_COLOURS), "orbiter": colour_map(orbiters, ORBITER_COLOURS),
            "station": colour_map(downlinks.get("station", []), STATION_COLOURS)}


def report_charts(sessions: pd.DataFrame, downlinks: pd.DataFrame, store: pd.DataFrame, summary: PlanSummary,
                  passes: pd.DataFrame | None, capacity_mbit: dict[str, float], problem=None,
                  requests: pd.DataFrame | None = None, *, compact: bool = False) -> list[list[str]]:
    """The report's charts (timelines per orbiter and per asset, with the sols, outages, vetoes
    and requests of ``problem`` and ``requests``; store fill; delivered), each as its markup in
    pieces (:func:`chart_parts`), plotly.js inlined in the first; ``compact``: a long plan's
    timelines (see :func:`timeline`)."""
    colours = chart_colours(sessions, downlinks, store, summary, passes)
    overlay = timeline_marks(problem, passes, requests)
    shown = with_requests(sessions, requests)
    charts = [("timeline-orbiter", timeline(shown, passes, downlinks, "orbiter", colours, overlay, compact=compact)),
              ("timeline-asset", timeline(shown, passes, downlinks, "asset", colours, overlay, compact=compact)),
              ("store", store_chart(store, capacity_mbit, colours["orbiter"])),
              ("delivered", delivered_chart(summary, store, colours["orbiter"]))]
    return [chart_parts(f, cid, with_js=(k == 0), basic=not compact) for k, (cid, f) in enumerate(charts)]


def horizon_views(sessions: pd.DataFrame, downlinks: pd.DataFrame, store: pd.DataFrame, summary: PlanSummary,
                  passes: pd.DataFrame | None, per_sol: pd.DataFrame | None, problem=None) -> dict:
    """A long plan's views per sol, week and month (:mod:`relay.outputs.horizon_views`): the
    charts (relayed per asset per sol, delivered per asset per week; plotly.js comes with the
    timelines, drawn before them) and the weekly and monthly tables; empty for a short plan."""
    if not hv.is_long(summary):
        return {"long": False, "horizon_charts": [], "weekly": None, "monthly": None}
    colours = chart_colours(sessions, downlinks, store, summary, passes)["asset"]
    weekly = hv.weekly_frame(sessions, downlinks, summary)
    overlay = timeline_marks(problem, passes, None)
    figs = [("per-sol-chart", hv.sol_chart(per_sol, overlay.sols if overlay else {}, colours)),
            ("weekly-chart", hv.weekly_chart(weekly, colours))]
    monthly = hv.monthly_requirements(problem, summary)
    return {"long": True, "horizon_charts": [chart_parts(f, cid, with_js=False) for cid, f in figs if f is not None],
            "weekly": table_view(weekly, left=("from", "asset"), table_id="per-week", cap=ROWS_SHOWN),
            "monthly": None if monthly is None else table_view(monthly, left=("month", "asset"),
                                                               table_id="per-month")}


def plan_tables(sessions: pd.DataFrame, downlinks: pd.DataFrame, passes: pd.DataFrame | None,
                per_sol: pd.DataFrame | None) -> dict[str, Table]:
    """The report's tables of the plan itself: per asset and sol, unused passes, sessions, downlinks."""
    scols = [c for c in ["orbiter", "asset", "start", "end", "sol", "lmst_start", "duration_s", "volume_mbit",
                         "kind", "pass_id"] if c in sessions.columns]
    dcols = [c for c in ["orbiter", "station", "start", "end", "volume_mbit"] if c in downlinks.columns]
    unused = None
    if passes is not None and "reason" in passes and len(passes):
        cols = [c for c in ["pass_id", "orbiter", "asset", "rise", "set", "sol", "lmst_start", "volume_mbit",
                            "reason", "reason_detail"] if c in passes.columns]
        unused = passes.loc[~passes["used"].astype(bool), cols]
    capped = functools.partial(table_view, cap=ROWS_SHOWN)
    return {
        "per_sol": capped(per_sol, left=("asset", "limited_by"), table_id="per-sol", file="sols.csv"),
        "unused": capped(unused, left=("pass_id", "orbiter", "asset", "rise", "set", "reason", "reason_detail"),
                         table_id="unused-passes", file="passes.csv"),
        "sessions": capped(sessions[scols] if len(sessions) else sessions,
                           left=("orbiter", "asset", "start", "end", "kind"), table_id="sessions-table",
                           file="schedule.csv"),
        "downlinks": capped(downlinks[dcols] if len(downlinks) else downlinks,
                            left=("orbiter", "station", "start", "end"), table_id="downlinks-table",
                            file="downlinks.csv"),
    }


def input_tables(summary: PlanSummary, passes: pd.DataFrame | None, requests: pd.DataFrame | None, operations,
                 diff: pd.DataFrame | None) -> dict[str, Table | None]:
    """The report's tables of what the plan was asked: per asset, requirements, relay requests,
    outages and vetoes, and a re-plan's changes (None when not a re-plan)."""
    viol = pd.DataFrame([dataclasses.asdict(v) for v in summary.figures.violations])
    ops = operations_frame(operations, passes) if operations is not None else None
    return {
        "per_asset": table_view(_per_asset(summary), left=("asset",)),
        "requirements": table_view(viol, left=("asset", "requirement", "detail"), table_id="requirements"),
        "requests": table_view(requests, left=("id", "asset", "orbiter", "kind", "start", "end", "priority",
                                               "status", "sessions", "reason", "reason_detail"),
                               table_id="requests-table"),
        "operations": table_view(ops, left=("input", "target", "what", "start", "end", "passes_blocked_or_cut",
                                            "note"), table_id="operations-table"),
        "diff": None if diff is None else table_view(
            diff, left=("change", "orbiter", "asset", "kind", "start_before", "end_before", "start_after",
                        "end_after"), table_id="diff-table"),
    }


@dataclass(frozen=True)
class NightlyBanner:
    """What the report of a nightly run says at its top: DEGRADED and the ``reasons`` when there
    are any (with the ``run_id``: only a degraded run's report names its run, so that re-running
    a good night gives the same bytes), the ``acknowledged`` reasons, ``frozen_until``, the
    ``base_run`` (the last night's plan) and the ``diff`` against it (its counts in words)."""

    run_id: int | None = None
    reasons: tuple[str, ...] = ()
    acknowledged: tuple[str, ...] = ()
    frozen_until: str | None = None
    base_run: int | None = None
    plan_start: str | None = None
    plan_end: str | None = None
    diff: str | None = None

    @property
    def degraded(self) -> bool:
        return bool(self.reasons)


def report_title(summary: PlanSummary, diff, nightly: NightlyBanner | None) -> str:
    """``relay plan: NAME``; a re-plan's ``relay re-plan: NAME (changes against the plan
    re-planned)``; a nightly run's ``relay nightly plan: NAME`` (DEGRADED first when it is)."""
    name = summary.scenario or ""
    if nightly is not None:
        return ("DEGRADED " if nightly.degraded else "") + f"relay nightly plan: {name}"
    if diff is not None:
        return f"relay re-plan: {name} (changes against the plan re-planned)"
    return f"relay plan: {name}"


def render_report(sessions: pd.DataFrame, downlinks: pd.DataFrame, store: pd.DataFrame, summary: PlanSummary,
                  *, passes: pd.DataFrame | None = None, capacity_mbit: dict[str, float] | None = None,
                  per_sol: pd.DataFrame | None = None, requests: pd.DataFrame | None = None,
                  operations=None, diff: pd.DataFrame | None = None, nightly: NightlyBanner | None = None) -> str:
    """The whole report as one HTML string (deterministic for the same inputs).  ``requests``:
    the plan's requests.csv; ``operations``: the instance, whose outages and vetoes are listed
    with the passes they block and drawn on the timelines; ``diff``: a re-plan's diff.csv (or a
    nightly run's, against its base run); ``nightly``: a nightly run's banner."""
    degraded = nightly is not None and nightly.degraded
    status = summary.solve.status
    views = horizon_views(sessions, downlinks, store, summary, passes, per_sol, operations)
    return render_page(
        "report.html", title=report_title(summary, diff, nightly), start=str(summary.start or ""),
        end=str(summary.end or ""), status=f"DEGRADED (solver {status})" if degraded else status,
        ok=status == "OPTIMAL" and not degraded, nightly=nightly, replan=diff is not None and nightly is None,
        warnings=list(summary.warnings), summary_rows=[(k, str(v)) for k, v in _summary_rows(summary)],
        numbering=[(str(a), k) for a, k in summary.sol_numbering.items()],
        charts=report_charts(sessions, downlinks, store, summary, passes, capacity_mbit or {}, operations, requests,
                             compact=views["long"]),
        marks={"sessions": int(len(sessions))} | ({"long": True} if views["long"] else {}), **views,
        **input_tables(summary, passes, requests, operations, diff), **plan_tables(sessions, downlinks, passes, per_sol))
