"""A plan version's timelines as the timeline page draws them, made once when the version is
stored and kept in the database (:class:`relay.service.models.PlanChart`).

The charts are report.html's (:func:`relay.outputs.report.timeline`): per orbiter (sessions by
asset, downlinks by station, unused passes faint with their reason in the tooltip) and per asset
(sol bands, outages and vetoes shaded, request windows marked).  A long plan's (more than
:data:`relay.outputs.horizon_views.LONG_HORIZON_DAYS`, as report.html) are drawn lighter, with
report.html's short tooltips of a long plan: per orbiter bars (:func:`short_tips`), per asset each
colour's bars one SVG line broken by gaps, the tooltips on invisible points at each bar's middle
and the sol bands one filled path per asset, unlabelled (:func:`light`; the sessions' tooltips
give their sol and LMST).  Each is the faster in this form in the browser test machine's Chromium
(scripts/bench_pages.py; bars per orbiter drew in about 330 ms against 460 to 630 ms as lines;
per asset 250 to 310 ms against 880 ms as bars with a label per sol).  A short plan's are as in
its report.html.  Made by :func:`prepare` in
the run's driver thread once the version is stored (off any page's request path), so that even
a first visit only reads them; a version stored without them (before this, or when preparing
failed) gets them on its first visit (:func:`plan_charts`; a version whose run is still writing its
files waits for them, :func:`relay.service.plans.files_of`).
"""
from __future__ import annotations

import io
import json
import logging
import re
import tempfile
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd
from markupsafe import Markup

from ..outputs.horizon_views import is_long
from ..outputs.report import CHART_CONFIG, DOWNLINK_HOVER, PASS_HOVER_SHORT, SESSION_HOVER_SHORT, TimelineMarks, \
    chart_colours, figure_json, timeline, timeline_marks, with_requests
from ..result import result_from_folder
from .engine import unzip_to
from .models import PlanChart, PlanVersion
from .plans import files_of

log = logging.getLogger(__name__)

#: draw a long plan's timelines as report.html does (WebGL segments and a range slider) rather than
#: lighter (:func:`short_tips`, :func:`light`).  Off: in Chromium without a GPU (software WebGL: the
#: browser test machine) the 28-day network-6 cycle's timeline page was drawn in a median 3.4 to
#: 7.2 s with WebGL against 1.4 to 2.1 s lighter (7 visits each, load 6.2 to 7.2, 2026-12-07).
COMPACT_TIMELINES = False
#: the page's timelines of a plan version, and the row keeping its marks and span
KEYS = ("timeline-orbiter", "timeline-asset")
MARKS = "marks"
#: the lines of a long plan's tooltips (report.html's for its compact timeline)
SHORT = {label for label, _ in (*SESSION_HOVER_SHORT, *PASS_HOVER_SHORT, *DOWNLINK_HOVER)}
HEX = re.compile(r"#[0-9A-Fa-f]{6}")


def zipped_table(files: bytes, name: str) -> pd.DataFrame:
    with zipfile.ZipFile(io.BytesIO(files)) as z:
        if name not in z.namelist():
            return pd.DataFrame()
        return pd.read_csv(z.open(name), keep_default_na=False, na_values=[""])


@lru_cache(maxsize=4)
def stored_result(plan_id: int):
    """The PlanResult of a stored plan version's folder (read once per process: immutable)."""
    with tempfile.TemporaryDirectory() as tmp:
        return result_from_folder(unzip_to(files_of(plan_id), Path(tmp)))


def rgba(colour: str, alpha: float) -> str:
    """``#RRGGBB`` with opacity ``alpha`` as CSS ``rgba()``."""
    r, g, b = (int(colour[k:k + 2], 16) for k in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha:g})"


def light(fig: dict) -> dict:
    """A compact (WebGL) timeline drawn in SVG: each segment trace an SVG line with gaps, each
    tooltip trace invisible points (``mode: none``: nothing drawn, the tooltip shown on hover), no
    range slider (it draws every trace a second time; the range buttons and the sol zoom stay); a faint
    trace's opacity in its colour (an SVG group's opacity costs the browser a layer of its own)."""
    data = []
    for t in fig["data"]:
        if t.get("type") == "scattergl":
            t = {**t, "type": "scatter"}
            if t.get("mode") == "markers":
                t["mode"] = "none"
                t.pop("marker", None)
            elif t.get("opacity", 1.0) < 1.0 and HEX.fullmatch(str(t.get("line", {}).get("color", ""))):
                t["line"] = {**t["line"], "color": rgba(t["line"]["color"], t.pop("opacity"))}
        data.append(t)
    xaxis = {k: v for k, v in fig["layout"].get("xaxis", {}).items() if k != "rangeslider"}
    return {"data": data, "layout": {**fig["layout"], "xaxis": xaxis}}


def short_tips(fig: dict) -> dict:
    """A timeline of bars with report.html's tooltips of a long plan (:data:`SHORT`: the pass, its
    elevation and the reason's detail are in the passes and sessions CSV files)."""
    def cut(tip):
        return "<br>".join(line for line in (tip or "").split("<br>") if line.split(":", 1)[0] in SHORT)

    data = [{**t, "hovertext": [cut(h) for h in t["hovertext"]]} if "hovertext" in t else t for t in fig["data"]]
    return {**fig, "data": data}


def figures_of(plan_id: int) -> tuple[dict, TimelineMarks | None]:
    """The plan version's two timelines (figure dicts) and their marks."""
    p = PlanVersion.objects.defer("files", "sessions", "diff", "inputs").get(pk=plan_id)
    result = stored_result(plan_id)
    passes = pd.DataFrame(p.passes) if p.passes else None
    requests = pd.DataFrame(p.requests) if p.requests else None
    downlinks = zipped_table(files_of(plan_id), "downlinks.csv")
    colours = chart_colours(result.sessions, downlinks, pd.DataFrame(), result.summary, passes)
    marks = timeline_marks(result.problem, passes, requests)
    shown = with_requests(result.sessions, requests)
    long = is_long(result.summary)
    figs = {f"timeline-{by}": timeline(shown, passes, downlinks, by, colours, marks,
                                       compact=long and (COMPACT_TIMELINES or by == "asset"))
            for by in ("orbiter", "asset")}
    if long and not COMPACT_TIMELINES:
        figs = {"timeline-orbiter": short_tips(figs["timeline-orbiter"]),
                "timeline-asset": light(figs["timeline-asset"])}
    return figs, marks


def marks_json(marks: TimelineMarks | None) -> dict | None:
    if marks is None:
        return None
    spans = [{**sp, "lanes": sorted(sp["lanes"]), "span": [float(x) for x in sp["span"]]} for sp in marks.spans]
    return json.loads(figure_json({"sols": marks.sols, "spans": spans, "requests": marks.requests}))


def marks_of(doc: dict | None) -> TimelineMarks | None:
    if doc is None:
        return None
    spans = [{**sp, "lanes": set(sp["lanes"]), "span": tuple(sp["span"])} for sp in doc["spans"]]
    return TimelineMarks({a: [tuple(b) for b in bands] for a, bands in doc["sols"].items()}, spans, doc["requests"])


def make(plan_id: int) -> list[PlanChart]:
    """The plan version's chart rows (not saved): each timeline's traces and layout, and the marks."""
    figs, marks = figures_of(plan_id)
    summary = PlanVersion.objects.values_list("summary", flat=True).get(pk=plan_id) or {}
    rows = [PlanChart(plan_id=plan_id, key=k, data=figure_json(f["data"]),
                      layout=json.loads(figure_json(f["layout"]))) for k, f in figs.items()]
    span = [summary.get("start", ""), summary.get("end", "")]
    return rows + [PlanChart(plan_id=plan_id, key=MARKS, data=json.dumps(marks_json(marks)), layout={"span": span})]


def prepare(plan_id: int) -> None:
    """Make and keep a stored plan version's timelines (the run's driver thread calls it once the
    version is stored).  Never raises: a failure is logged and the page makes them on its visit."""
    try:
        if not PlanChart.objects.filter(plan_id=plan_id).exists():
            PlanChart.objects.bulk_create(make(plan_id), ignore_conflicts=True)
    except Exception:  # the page makes them itself; the plan version is stored all the same
        log.exception("could not prepare the timelines of plan version %s", plan_id)


@dataclass(frozen=True)
class PlanCharts:
    """A plan version's timelines: per key its traces' JSON text and layout, their markup over the
    whole cycle, its sols by asset, the marks the diff's timeline draws and the plan's span."""

    data: dict
    layouts: dict
    markup: dict
    sols: dict
    marks: object
    span: tuple[str, str]


@lru_cache(maxsize=8)
def plan_charts(plan_id: int) -> PlanCharts:
    """A plan version's timelines as kept (made and kept now for a version without them)."""
    rows = {r.key: r for r in PlanChart.objects.filter(plan_id=plan_id)}
    if set(rows) != {*KEYS, MARKS}:
        made = make(plan_id)
        PlanChart.objects.bulk_create(made, ignore_conflicts=True)
        rows = {r.key: r for r in made}
    marks = marks_of(json.loads(rows[MARKS].data))
    data = {k: rows[k].data for k in KEYS}
    layouts = {k: rows[k].layout for k in KEYS}
    return PlanCharts(data, layouts, {k: chart_markup(k, data[k], layouts[k]) for k in KEYS},
                      dict(marks.sols) if marks else {}, marks, tuple(rows[MARKS].layout["span"]))


def chart_markup(div_id: str, data: str, layout: dict) -> Markup:
    """A chart's markup from its traces' JSON (``<``, ``>`` and ``/`` escaped: no user string can
    end its script) and layout; plotly.js is loaded once by the page."""
    height = layout.get("height")
    size = f"{float(height):g}px" if isinstance(height, (int, float)) else "100%"
    return Markup(  # noqa: S704 (relay's own markup; user text is inside escaped JSON)
        f'<div style="height:{size}; width:100%;"><div id="{div_id}" class="plotly-graph-div" '
        f'style="height:100%; width:100%;"></div><script>Plotly.newPlot("{div_id}", {data}, '
        f'{figure_json(layout)}, {json.dumps(CHART_CONFIG)});</script></div>')
