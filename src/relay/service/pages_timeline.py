"""The cycle's timeline and per-sol table, from a plan version (proposed or published), and the
diff between any two plan versions of the cycle.

The charts are report.html's (:mod:`relay.outputs.report`): the timeline per orbiter (sessions
by asset, downlinks by station, unused passes faint with their reason in the tooltip) and per
asset (sol bands and LMST, outages and vetoes shaded, request windows marked), made when the plan
version is stored and kept in the database (:mod:`relay.service.pages_charts`, light for a long
plan).  plotly.js is served by the service from the installed plotly package (no CDN), under a
name carrying plotly's version, so a browser keeps it for good (see
:func:`relay.service.views.static_file`; the home page asks the browser to fetch it ahead).  The
diff between two versions is made once per process.
"""
from __future__ import annotations

from functools import lru_cache

import pandas as pd
from django.http import Http404
from markupsafe import Markup

from ..outputs.report import chart_parts, timeline
from ..plandiff import plan_diff, with_pass_windows
from .models import PlanVersion
from .pages_charts import COMPACT_TIMELINES, chart_markup, plan_charts, stored_result, zipped_table
from .plans import files_of
from .pages_common import HEAVY, cycle_of, latest_plan, login_required, page, plotly_name, refused
from .pages_review import compared_to, diff_table_rows
from .permissions import allowed


def plan_for(cycle, plan_id: str) -> PlanVersion | None:
    """The plan version asked for (``?plan=ID`` of this cycle), else the cycle's latest."""
    if plan_id.isdigit():
        p = PlanVersion.objects.defer(*HEAVY).filter(pk=int(plan_id), cycle=cycle).first()
        if p is None:
            raise Http404(f"no plan version {plan_id} in cycle {cycle.pk}")
        return p
    return latest_plan(cycle)


def compare_for(cycle, plan: PlanVersion | None, compare_id: str) -> PlanVersion | None:
    """The version the diff compares ``plan`` with: ``?compare=ID`` of this cycle (404 for a
    version of another cycle), else the one the review page compares it with: the cycle's
    published version, or for the published one itself the version it superseded (None without one)."""
    if compare_id.isdigit():
        return plan_for(cycle, compare_id)
    return None if plan is None else compared_to(plan)


@lru_cache(maxsize=16)
def versions_diff(before_id: int, after_id: int) -> dict:
    """The engine's diff (:func:`relay.plandiff.plan_diff`, each row's ``cause``) of version
    ``after_id`` against ``before_id``; a removed or moved session gets the reason the later
    version gives for its pass (``reason``, ``reason_detail``), as a run's stored diff does."""
    old, new = stored_result(before_id), stored_result(after_id)
    d = plan_diff(old.sessions, old.problem, new.sessions, new.problem)
    passes = {p["pass_id"]: p for p in PlanVersion.objects.values_list("passes", flat=True).get(pk=after_id) or ()}
    olds = {(r.orbiter, r.asset, r.start): r.pass_id for r in with_pass_windows(old.sessions, old.problem).itertuples()}
    for row in d["removed"] + d["moved"]:
        p = passes.get(olds.get((row["orbiter"], row["asset"], row["start_before"])))
        if p is not None:
            row.update(pass_id=p["pass_id"], reason=str(p.get("reason") or ""),
                       reason_detail=str(p.get("reason_detail") or ""))
    return d


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


def diff_figure(diff: dict | None, marks, span: tuple[str, str], title: str) -> dict | None:
    """A diff on report.html's timeline per orbiter, over the plan's ``span`` (ISO UTC)."""
    df = diff_sessions(diff)
    if not len(df):
        return None
    names = {a: DIFF_COLOURS[a.split(":", 1)[0]] for a in df["asset"]}
    fig = timeline(df, None, pd.DataFrame(), "orbiter", {"asset": names, "orbiter": {}, "station": {}}, marks)
    fig["layout"]["title"]["text"] = f"{title}, per orbiter (tooltips: cause, reason)"
    if all(span):
        fig["layout"].setdefault("xaxis", {})["range"] = [t.rstrip("Z") for t in span]
    return fig


@lru_cache(maxsize=16)
def diff_chart(before_id: int, after_id: int, title: str) -> tuple[dict | None, Markup | None]:
    """The diff's timeline between two versions (figure and markup; None without a change)."""
    charts = plan_charts(after_id)
    fig = diff_figure(versions_diff(before_id, after_id), charts.marks, charts.span, title)
    return fig, (chart_html(fig, "timeline-diff") if fig is not None else None)


def zoomed(layout: dict, span: tuple[str, str]) -> dict:
    return {**layout, "xaxis": {**layout.get("xaxis", {}), "range": list(span)}}


def chart_html(fig: dict, div_id: str) -> Markup:
    """A chart's markup as report.html writes it (its JSON escapes <, > and /: no user string
    can end its script), plotly.js loaded once by the page."""
    return Markup("".join(chart_parts(fig, div_id, with_js=False)))  # noqa: S704 (relay's own markup)


def sol_span(sols: dict, asset: str, sol: str) -> tuple[str, str] | None:
    for n, a, b in sols.get(asset, ()):
        if str(n) == sol:
            return a, b
    return None


def shown_charts(plan: PlanVersion, other: PlanVersion | None, span) -> tuple[list[Markup], dict | None]:
    """The page's charts (the whole cycle's markup as made once, a zoomed one made now) and the
    diff of ``plan`` against ``other`` (None without another version)."""
    charts = plan_charts(plan.pk)
    out = [charts.markup[k] if span is None else chart_markup(k, charts.data[k], zoomed(charts.layouts[k], span))
           for k in charts.data]
    if other is None:
        return out, None
    fig, markup = diff_chart(other.pk, plan.pk, f"Changes from v{other.number} ({other.status}) to v{plan.number}")
    if fig is not None:
        out.append(markup if span is None else chart_html({**fig, "layout": zoomed(fig["layout"], span)},
                                                          "timeline-diff"))
    return out, versions_diff(other.pk, plan.pk)


@login_required
def timeline_page(request, cycle_id: int):
    """The cycle's timeline for a plan version (``plan``), and its diff against another version
    of the cycle (``compare``, by default the published one); ``asset`` + ``sol`` zoom to that sol."""
    cycle = cycle_of(cycle_id)
    if not allowed(request.user, "plan.read"):
        return refused(request, "plan.read is not allowed for this account")
    plan = plan_for(cycle, request.GET.get("plan", ""))
    other = compare_for(cycle, plan, request.GET.get("compare", ""))
    ctx = {"title": f"Timeline: {cycle.name}", "cycle": cycle, "plan": plan, "other": other, "charts": [],
           "versions": list(PlanVersion.objects.filter(cycle=cycle).defer(*HEAVY).order_by("number")),
           "asset": request.GET.get("asset", "")[:200], "sol": request.GET.get("sol", "")[:12], "sols": {},
           "zoom_error": "", "counts": None, "diff": [], "plotly": plotly_name(webgl=COMPACT_TIMELINES)}
    if plan is not None:
        sols = plan_charts(plan.pk).sols
        span = sol_span(sols, ctx["asset"], ctx["sol"]) if ctx["sol"] else None
        if ctx["sol"] and span is None:
            ctx["zoom_error"] = (f"sol {ctx['sol']} of {ctx['asset'] or 'no asset'} is not in this cycle; "
                                 "expected one of the sols listed")
        charts, diff = shown_charts(plan, other, span)
        ctx.update(sols=sols, charts=charts)
        if diff is not None:
            ctx.update(counts={k: len(diff.get(k, [])) for k in ("removed", "moved", "added", "changed")},
                       unchanged=diff.get("unchanged"), diff=diff_table_rows(diff, cycle.scenario_id))
    return page(request, "timeline.html", ctx)


@lru_cache(maxsize=16)
def sol_table(plan_id: int) -> pd.DataFrame:
    return zipped_table(files_of(plan_id), "sols.csv")


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
