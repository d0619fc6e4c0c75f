"""The coordinator's pages: run a plan of a cycle (its progress polled while it runs), review a
plan version against the published one (the diff with its causes, delivered per asset, the
requirements and the requests' status) and publish it with a comment.

Runs are queued with :func:`relay.service.runs.submit` and publication is
:func:`relay.service.plans.publish`, as through the API, behind the same permission table.
"""
from __future__ import annotations

from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from ..errors import RelayInputError
from . import plans, routes_actuals, runs
from .models import PlanVersion, Run
from .pages_common import HEAVY, cycle_of, login_required, page, plan_header, refused, when
from .permissions import allowed
from .records import Conflict, Denied, iso
from .routes_records import upload_text

#: the kinds of change of a diff, in the order the page shows them
CHANGES = ("removed", "moved", "added", "changed")


def run_json(run: Run) -> dict:
    plan = PlanVersion.objects.filter(run=run).values_list("pk", flat=True).first()
    return {"id": run.pk, "status": run.status, "progress": run.progress, "plan": plan, "error": run.error,
            "seconds": run.seconds}


@login_required
def review_page(request, cycle_id: int):
    """The cycle's runs and plan versions; a run in flight shows its progress."""
    cycle = cycle_of(cycle_id)
    if not allowed(request.user, "plan.read"):
        return refused(request, "plan.read is not allowed for this account")
    versions = list(PlanVersion.objects.filter(cycle=cycle).defer(*HEAVY).order_by("-number"))
    recent = list(Run.objects.filter(cycle=cycle).order_by("-pk")[:10])
    watched = request.GET.get("run", "")
    live = next((r for r in recent if str(r.pk) == watched and r.status in ("queued", "running")), None)
    if live is None:
        live = next((r for r in recent if r.status in ("queued", "running")), None)
    return page(request, "review.html", {
        "title": f"Review and publish: {cycle.name}", "cycle": cycle, "versions": versions, "runs": recent,
        "live": live, "published": next((p for p in versions if p.status == "published"), None),
        "may_run": allowed(request.user, "run.create", cycle)})


@login_required
@require_POST
def run_page(request, cycle_id: int):
    """Queue a planning run (answered at once) and show its progress."""
    cycle = cycle_of(cycle_id)
    if not allowed(request.user, "run.create", cycle):
        return refused(request, "run.create is not allowed for this account on this cycle")
    mode = request.POST.get("mode", "auto")
    if mode not in ("auto", "full"):
        mode = "auto"
    try:
        run = runs.submit(request.user, cycle, mode)
    except Denied as exc:
        return refused(request, str(exc))
    return redirect(f"/cycles/{cycle.pk}/review?run={run.pk}")


@login_required
def run_progress(request, run_id: int):
    """A run's status and progress as JSON (what the review page polls)."""
    run = Run.objects.filter(pk=run_id).first()
    if run is None:
        raise Http404(f"no run {run_id}")
    if not allowed(request.user, "run.read", run):
        return JsonResponse({"detail": "run.read is not allowed for this account"}, status=403)
    return JsonResponse(run_json(run))


def per_asset(plan: PlanVersion, other: PlanVersion | None) -> list[dict]:
    """Delivered data per asset: this version, the one it is compared with, the change (Mbit)."""
    mine = plan.summary.get("delivered_by_asset", {})
    old = other.summary.get("delivered_by_asset", {}) if other is not None else {}
    rows = []
    for a in sorted(set(mine) | set(old)):
        after, before = mine.get(a), old.get(a)
        rows.append({"asset": a, "after": after, "before": before,
                     "change": None if after is None or before is None else round(after - before, 1)})
    return rows


def diff_rows(plan: PlanVersion) -> list[dict]:
    """The stored diff's sessions of a plan version (see :func:`diff_table_rows`)."""
    return diff_table_rows(plan.diff, plan.cycle.scenario_id)


def diff_table_rows(diff: dict | None, scenario_id: int) -> list[dict]:
    """A diff's sessions (removed, moved, added, changed) with the time in UTC and sol + LMST,
    the plan's reason and the records that caused the change."""
    out = []
    for kind in CHANGES:
        for r in (diff or {}).get(kind, []):
            start = r.get("start_before") or r.get("start_after")
            out.append({"change": kind, "orbiter": r.get("orbiter"), "asset": r.get("asset"),
                        "when": when(scenario_id, r.get("asset", ""), start), "after": r.get("start_after") or "",
                        "volume": r.get("volume_after_mbit", r.get("volume_before_mbit")),
                        "cause": r.get("cause") or "", "reason": r.get("reason") or "",
                        "detail": r.get("reason_detail") or "", "records": r.get("records") or []})
    return out


def compared_to(plan: PlanVersion) -> PlanVersion | None:
    """The version a plan is reviewed against: the cycle's published one, or, for the published
    one itself, the version it superseded."""
    q = PlanVersion.objects.defer(*HEAVY).filter(cycle=plan.cycle_id).exclude(pk=plan.pk)
    return q.filter(status="published").first() or \
        q.filter(status="superseded", number__lt=plan.number).order_by("-number").first()


@login_required
def plan_page(request, plan_id: int):
    """A plan version against the published one: diff with causes, delivered per asset,
    requirements, requests, predicted vs achieved; the publish form for the coordinator, the pass
    reports' upload form for those who may upload."""
    return plan_view(request, plan_id)


def plan_view(request, plan_id: int, actuals_error: str = "", status: int = 200):
    """The plan page (with a refused upload's message beside its field, ``actuals_error``)."""
    plan = PlanVersion.objects.defer("files", "passes", "inputs").select_related("cycle").filter(pk=plan_id).first()
    if plan is None:
        raise Http404(f"no plan version {plan_id}")
    if not allowed(request.user, "plan.read", plan):
        return refused(request, "plan.read is not allowed for this account")
    other = compared_to(plan)
    diff = plan.diff or {}
    counts = {k: len(diff.get(k, [])) for k in CHANGES} if plan.diff is not None else None
    return page(request, "plan.html", {
        "title": f"Plan version {plan.number} of {plan.cycle.name} ({plan.status})", "cycle": plan.cycle,
        "plan": plan, "other": other,
        "counts": counts, "unchanged": diff.get("unchanged"), "diff": diff_rows(plan),
        "changes": diff.get("changes", []), "assets": per_asset(plan, other),
        "violations": plan.summary.get("violations", []), "requests": plan.requests,
        "may_publish": plan.status == "proposed" and allowed(request.user, "plan.publish", plan),
        "error": request.GET.get("error", "")[:500], "published_at": iso(plan.published),
        "actuals_error": actuals_error, **routes_actuals.section_context(request.user, plan)}, status=status)


@login_required
@require_POST
def actuals_upload_page(request, plan_id: int):
    """The plan page's pass reports form (:mod:`relay.service.routes_actuals`, as the API): stored,
    back to the page; a bad file, the page again with the reader's paragraph beside the field and
    nothing stored (400); a row of another team's orbiter, 403."""
    plan = plan_header(plan_id)
    if not (allowed(request.user, "actuals.create") and allowed(request.user, "plan.read", plan)):
        return refused(request, "actuals.create is not allowed for this account")
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise RelayInputError("no file chosen; expected a pass performance reports CSV file", source="file")
        name = routes_actuals.report_name(upload)
        new, _, _ = routes_actuals.store_reports(request.user, plan, upload_text(upload, "CSV"), name)
    except RelayInputError as exc:
        return plan_view(request, plan_id, actuals_error=str(exc), status=400)
    except Denied as exc:
        return refused(request, str(exc))
    return redirect(f"/plans/{plan.pk}?reported={len(new)}#actuals")


@login_required
@require_POST
def publish_page(request, plan_id: int):
    """Publish a proposed version with the coordinator's comment (at the version read)."""
    plan = plan_header(plan_id)
    if not allowed(request.user, "plan.publish", plan):
        return refused(request, "plan.publish is not allowed for this account")
    comment = request.POST.get("comment", "").strip()[:2000]
    try:
        plans.publish(request.user, plan, int(request.POST.get("version", "0") or 0), comment)
    except Conflict as exc:
        return page(request, "refused.html", {"title": "Publication refused", "cycle": plan.cycle,
                                              "message": f"{exc}; reload the plan version and review it again"},
                    status=409)
    except RelayInputError as exc:
        return page(request, "refused.html", {"title": "Publication refused", "cycle": plan.cycle,
                                              "message": str(exc)}, status=400)
    return redirect(f"/plans/{plan.pk}")
