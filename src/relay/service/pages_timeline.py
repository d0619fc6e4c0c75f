"""The cycle's timeline and per-sol table, from a plan version (proposed or published).

The charts are report.html's (:mod:`relay.outputs.report`): the timeline per orbiter (sessions
by asset, downlinks by station, unused passes faint with their reason in the tooltip) and per
asset (sol bands and LMST, outages and vetoes shaded, request windows marked).  plotly.js is
served by the service from the installed plotly package (no CDN).  A plan version never changes
once stored, so its charts and tables are made once per process.
"""
from __future__ import annotations

import io
import tempfile
import zipfile
from functools import lru_cache
from pathlib import Path

import pandas as pd
from django.http import Http404
from markupsafe import Markup

from ..outputs.report import chart_colours, chart_parts, timeline, timeline_marks, with_requests
from ..result import result_from_folder
from .engine import unzip_to
from .models import PlanVersion
from .pages_common import HEAVY, cycle_of, latest_plan, login_required, page, refused
from .permissions import allowed


def plan_for(cycle, plan_id: str) -> PlanVersion | None:
    """The plan version asked for (``?plan=ID`` of this cycle), else the cycle's latest."""
    if plan_id.isdigit():
        p = PlanVersion.objects.defer(*HEAVY).filter(pk=int(plan_id), cycle=cycle).first()
        if p is None:
            raise Http404(f"no plan version {plan_id} in cycle {cycle.pk}")
        return p
    return latest_plan(cycle)


def zipped_table(files: bytes, name: str) -> pd.DataFrame:
    with zipfile.ZipFile(io.BytesIO(files)) as z:
        if name not in z.namelist():
            return pd.DataFrame()
        return pd.read_csv(z.open(name), keep_default_na=False, na_values=[""])


#: the diff's kinds of change on its timeline (named in the legend and tooltips, not by colour only)
DIFF_COLOURS = {"removed": "#D55E00", "added": "#009E73", "moved from": "#999999", "moved to": "#0072B2",
                "changed": "#E69F00"}
#: change -> the bars it draws: (label, the side of the diff row: before or after)
DIFF_BARS = {"removed": [("removed", "before")], "added": [("added", "after")], "changed": [("changed", "after")],
             "moved": [("moved from", "before"), ("moved to", "after")]}


def diff_sessions(diff: dict | None) -> pd.DataFrame:
    """The diff's sessions as the timeline draws sessions: one bar per removed (its old time),
    added, changed (its new time) and moved session (from and to), labelled ``change: asset``,
    the cause and the plan's reason in the tooltip."""
    rows = []
    for kind in ("removed", "added", "moved", "changed"):
        for r in (diff or {}).get(kind, []):
            for label, side in DIFF_BARS[kind]:
                detail = "; ".join(x for x in (r.get("cause"), r.get("reason_detail"), *(r.get("records") or ())) if x)
                rows.append({"orbiter": r.get("orbiter"), "asset": f"{label}: {r.get('asset')}",
                             "start": r.get(f"start_{side}"), "end": r.get(f"end_{side}"), "kind": r.get("kind"),
                             "sol": r.get("sol"), "volume_mbit": r.get(f"volume_{side}_mbit"),
                             "pass_id": r.get("pass_id"), "reason": r.get("reason") or kind, "reason_detail": detail})
    return pd.DataFrame(rows, columns=["orbiter", "asset", "start", "end", "kind", "sol", "volume_mbit", "pass_id",
                                       "reason", "reason_detail"]).dropna(subset=["start", "end"])


def diff_figure(diff: dict | None, marks, span: tuple[str, str]) -> dict | None:
    """The diff against the published version on report.html's timeline per orbiter, over the
    plan's ``span`` (ISO UTC)."""
    df = diff_sessions(diff)
    if not len(df):
        return None
    names = {a: DIFF_COLOURS[a.split(":", 1)[0]] for a in df["asset"]}
    fig = timeline(df, None, pd.DataFrame(), "orbiter", {"asset": names, "orbiter": {}, "station": {}}, marks)
    fig["layout"]["title"]["text"] = "Changes against the published version, per orbiter (tooltips: cause, reason)"
    if all(span):
        fig["layout"].setdefault("xaxis", {})["range"] = [t.rstrip("Z") for t in span]
    return fig


@lru_cache(maxsize=8)
def plan_figures(plan_id: int) -> tuple[dict, dict, dict, dict | None]:
    """(timeline per orbiter, per asset, the sol bands by asset, the diff's timeline) of a plan version."""
    p = PlanVersion.objects.get(pk=plan_id)
    files = bytes(p.files)
    with tempfile.TemporaryDirectory() as tmp:
        result = result_from_folder(unzip_to(files, Path(tmp)))
    passes = pd.DataFrame(p.passes) if p.passes else None
    requests = pd.DataFrame(p.requests) if p.requests else None
    downlinks = zipped_table(files, "downlinks.csv")
    colours = chart_colours(result.sessions, downlinks, pd.DataFrame(), result.summary, passes)
    marks = timeline_marks(result.problem, passes, requests)
    shown = with_requests(result.sessions, requests)
    return (timeline(shown, passes, downlinks, "orbiter", colours, marks),
            timeline(shown, passes, downlinks, "asset", colours, marks), dict(marks.sols) if marks else {},
            diff_figure(p.diff, marks, (p.summary.get("start", ""), p.summary.get("end", ""))))


def zoomed(fig: dict, span: tuple[str, str] | None) -> dict:
    if span is None:
        return fig
    lay = {**fig["layout"], "xaxis": {**fig["layout"].get("xaxis", {}), "range": list(span)}}
    return {**fig, "layout": lay}


def chart_html(fig: dict, div_id: str) -> Markup:
    """A chart's markup as report.html writes it (its JSON escapes <, > and /: no user string
    can end its script), plotly.js loaded once by the page."""
    return Markup("".join(chart_parts(fig, div_id, with_js=False)))  # noqa: S704 (relay's own markup)


def sol_span(sols: dict, asset: str, sol: str) -> tuple[str, str] | None:
    for n, a, b in sols.get(asset, ()):
        if str(n) == sol:
            return a, b
    return None


@login_required
def timeline_page(request, cycle_id: int):
    """The cycle's timeline for a plan version; ``asset`` + ``sol`` zoom to that sol."""
    cycle = cycle_of(cycle_id)
    if not allowed(request.user, "plan.read"):
        return refused(request, "plan.read is not allowed for this account")
    plan = plan_for(cycle, request.GET.get("plan", ""))
    ctx = {"title": f"Timeline: {cycle.name}", "cycle": cycle, "plan": plan, "charts": [],
           "versions": list(PlanVersion.objects.filter(cycle=cycle).defer(*HEAVY).order_by("number")),
           "asset": request.GET.get("asset", "")[:200], "sol": request.GET.get("sol", "")[:12], "sols": {},
           "zoom_error": ""}
    if plan is not None:
        by_orbiter, by_asset, sols, by_change = plan_figures(plan.pk)
        span = sol_span(sols, ctx["asset"], ctx["sol"]) if ctx["sol"] else None
        if ctx["sol"] and span is None:
            ctx["zoom_error"] = (f"sol {ctx['sol']} of {ctx['asset'] or 'no asset'} is not in this cycle; "
                                 "expected one of the sols listed")
        charts = [chart_html(zoomed(by_orbiter, span), "timeline-orbiter"),
                  chart_html(zoomed(by_asset, span), "timeline-asset")]
        if by_change is not None:
            charts.append(chart_html(zoomed(by_change, span), "timeline-diff"))
        ctx.update(sols=sols, charts=charts)
    return page(request, "timeline.html", ctx)


@lru_cache(maxsize=16)
def sol_table(plan_id: int) -> pd.DataFrame:
    return zipped_table(bytes(PlanVersion.objects.values_list("files", flat=True).get(pk=plan_id)), "sols.csv")


@login_required
def sols_page(request, cycle_id: int):
    """Per asset and sol: capacity, data, planned, what limited it (the plan's sols.csv)."""
    cycle = cycle_of(cycle_id)
    if not allowed(request.user, "plan.read"):
        return refused(request, "plan.read is not allowed for this account")
    plan = plan_for(cycle, request.GET.get("plan", ""))
    df = sol_table(plan.pk) if plan is not None else pd.DataFrame()
    asset = request.GET.get("asset", "")[:200]
    if asset and "asset" in df:
        df = df[df["asset"] == asset]
    rows = [["" if isinstance(v, float) and v != v else (f"{v:,.1f}" if isinstance(v, float) else v) for v in r]
            for r in df.itertuples(index=False)]
    return page(request, "sols.html", {"title": f"Per sol: {cycle.name}", "cycle": cycle, "plan": plan,
                                       "columns": list(df.columns), "rows": rows, "asset": asset,
                                       "assets": list(cycle.scenario.assets)})
