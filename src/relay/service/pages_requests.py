"""The lander teams' pages: relay requests of a cycle (submit in UTC or in sol + LMST, with the
passes of the window and their predicted volume; edit, withdraw; status per plan version).

Every change goes through :mod:`relay.service.records` (the same reader, permission checks,
optimistic locking and audit log as the API); a bad entry shows the reader's one-paragraph
message beside its field, keeps what was typed and stores nothing.
"""
from __future__ import annotations

import pandas as pd
from django.http import Http404
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods, require_POST

from ..errors import RelayInputError
from . import engine, records
from .engine import COLUMNS
from .models import Entry, PlanVersion
from .pages_common import cycle_of, field_of, latest_plan, login_required, page, refused, scenario, typed, when
from .permissions import allowed, role_of, team_names
from .records import Conflict, Denied, iso
from .routes_records import cycle_overflights

#: the request form's fields (the columns of requests.csv, and how the window is given)
FIELDS = [*COLUMNS["request"], "mode"]
#: at most this many passes are listed under the form
MAX_PASSES = 60


def cells_of(form: dict) -> dict[str, str]:
    """The CSV cells of a typed request: a window in UTC or by sol + LMST, never both."""
    cells = {c: form.get(c, "") for c in COLUMNS["request"]}
    if form.get("mode") == "sol":
        cells["start"] = cells["end"] = ""
    else:
        cells["sol"] = cells["lmst_window"] = ""
    return cells


def frame(cells: dict) -> pd.DataFrame:
    return pd.DataFrame([cells], columns=COLUMNS["request"], dtype=str)


def form_defaults(cycle, user) -> dict:
    assets = sorted(team_names(user) & set(cycle.scenario.assets)) or list(cycle.scenario.assets)
    return {"id": "", "asset": assets[0] if assets else "", "orbiter": "", "kind": "return", "start": "", "end": "",
            "sol": "", "lmst_window": "", "priority": "required", "min_mbit": "", "min_duration_s": "",
            "points": "", "note": "", "mode": "utc"}


def statuses(cycle) -> list[dict]:
    """Each plan version of the cycle: number, status and its requests' status by id."""
    rows = PlanVersion.objects.filter(cycle=cycle).order_by("number").values("pk", "number", "status", "requests")
    return [{"pk": p["pk"], "number": p["number"], "status": p["status"],
             "by_id": {r.get("id"): r for r in p["requests"] or []}} for p in rows]


def entry_view(e: Entry, user) -> dict:
    sid = e.cycle.scenario_id
    return {"e": e, "start": when(sid, e.asset, iso(e.start)), "end": when(sid, e.asset, iso(e.end)),
            "may_edit": allowed(user, "entry.edit", e)}


def requests_context(request, cycle, form: dict, error: RelayInputError | None = None) -> dict:
    q = Entry.objects.filter(cycle=cycle, kind="request").select_related("team", "cycle").order_by("withdrawn", "pk")
    return {"title": f"Relay requests: {cycle.name}", "cycle": cycle, "form": form,
            "entries": [entry_view(e, request.user) for e in q], "plans": statuses(cycle),
            "error": str(error) if error else "", "error_field": field_of(error, FIELDS) if error else "",
            "may_file": role_of(request.user) in ("lander", "coordinator"),
            "assets": list(cycle.scenario.assets), "orbiters": list(cycle.scenario.orbiters)}


@login_required
@require_http_methods(["GET", "POST"])
def requests_page(request, cycle_id: int):
    """The cycle's requests and the form to submit one."""
    cycle = cycle_of(cycle_id)
    if not allowed(request.user, "entry.read"):
        return refused(request, "entry.read is not allowed for this account")
    if request.method == "GET":
        return page(request, "requests.html", requests_context(request, cycle, form_defaults(cycle, request.user)))
    form = typed(request.POST, FIELDS)
    try:
        entries = records.create_entries(request.user, cycle, "request", frame(cells_of(form)), "requests")
    except RelayInputError as exc:
        return page(request, "requests.html", requests_context(request, cycle, form, exc), status=400)
    except Denied as exc:
        return refused(request, str(exc))
    return redirect(f"/requests/{entries[0].pk}?filed=1")


def entry_of(entry_id: int) -> Entry:
    e = Entry.objects.select_related("cycle", "cycle__scenario", "team").filter(pk=entry_id, kind="request").first()
    if e is None:
        raise Http404(f"no request {entry_id}")
    return e


def form_of(e: Entry) -> dict:
    return {**{c: e.fields.get(c, "") for c in COLUMNS["request"]}, "mode": "sol" if e.fields.get("sol") else "utc"}


def detail_context(request, e: Entry, form: dict, error=None, conflict=None) -> dict:
    return {"title": f"Relay request {e.fields.get('id')} ({e.asset})", "cycle": e.cycle, "view": entry_view(e, request.user),
            "form": form, "plans": statuses(e.cycle), "error": str(error) if error else "",
            "error_field": field_of(error, FIELDS) if error else "", "conflict": conflict,
            "assets": list(e.cycle.scenario.assets), "orbiters": list(e.cycle.scenario.orbiters),
            "filed": request.GET.get("filed") == "1"}


@login_required
@require_http_methods(["GET", "POST"])
def request_page(request, entry_id: int):
    """One request: its status per plan version; for its team, the form to edit it."""
    e = entry_of(entry_id)
    if not allowed(request.user, "entry.read", e):
        return refused(request, "entry.read is not allowed for this account")
    if request.method == "GET":
        return page(request, "request.html", detail_context(request, e, form_of(e)))
    if not allowed(request.user, "entry.edit", e):
        return refused(request, "entry.edit is not allowed for this account on this record")
    form = typed(request.POST, FIELDS)
    version = int(request.POST.get("version", "0") or 0)
    try:
        records.edit_entry(request.user, e, version, cells_of(form), "requests")
    except RelayInputError as exc:
        return page(request, "request.html", detail_context(request, e, form, error=exc), status=400)
    except Denied as exc:
        return refused(request, str(exc))
    except Conflict as exc:
        return page(request, "request.html", detail_context(request, exc.current, form, conflict=differences(
            exc.current, cells_of(form))), status=409)
    return redirect(f"/requests/{e.pk}")


def differences(current: Entry, typed_cells: dict) -> list[tuple[str, str, str]]:
    """(column, the current value, what was typed) where they differ: what a lost race changed."""
    return [(c, current.fields.get(c, ""), v) for c, v in typed_cells.items() if current.fields.get(c, "") != v]


@login_required
@require_POST
def withdraw_page(request, entry_id: int):
    e = entry_of(entry_id)
    if not allowed(request.user, "entry.edit", e):
        return refused(request, "entry.edit is not allowed for this account on this record")
    try:
        records.withdraw_entry(request.user, e, int(request.POST.get("version", "0") or 0))
    except Conflict as exc:
        return page(request, "request.html", detail_context(request, exc.current, form_of(exc.current),
                                                            conflict=[("version", str(exc.current.version), "")]),
                    status=409)
    except RelayInputError as exc:
        return page(request, "request.html", detail_context(request, e, form_of(e), error=exc), status=400)
    return redirect(f"/cycles/{e.cycle_id}/requests")


def window_passes(cycle, cells: dict) -> tuple[list[dict], tuple[str, str]]:
    """The overflights of the request's asset (and orbiter) in its window, with the latest plan's
    predicted volume of each; the window as ISO UTC.  A bad window raises the reader's message."""
    row = engine.check_rows("request", frame({**cells, "id": cells.get("id") or "preview"}),
                                    scenario(cycle.scenario))[0]
    lo, hi = row["start"], row["end"]
    plan = latest_plan(cycle, "passes")
    volume = {p["pass_id"]: p for p in (plan.passes if plan is not None else [])}
    out = []
    for p in cycle_overflights(cycle.scenario_id, iso(cycle.start), cycle.days):
        if p["asset"] != row["asset"] or (row["orbiter"] and p["orbiter"] != row["orbiter"]):
            continue
        if p["rise"] < hi and p["set"] > lo:
            planned = volume.get(p["pass_id"], {})
            out.append({**p, "volume_mbit": planned.get("volume_mbit"), "used": planned.get("used"),
                        "reason": planned.get("reason")})
    return out, (lo, hi)


@login_required
def window_passes_page(request, cycle_id: int):
    """A fragment under the request form: the passes of the typed window (the page's script
    asks for it while the person types; it also answers without the script)."""
    cycle = cycle_of(cycle_id)
    if not allowed(request.user, "cycle.read", cycle):
        return refused(request, "cycle.read is not allowed for this account")
    form = typed(request.GET, FIELDS)
    ctx = {"cycle": cycle, "passes": [], "window": None, "error": "", "plan": latest_plan(cycle)}
    try:
        passes, window = window_passes(cycle, cells_of(form))
        sid = cycle.scenario_id
        ctx.update(passes=passes[:MAX_PASSES], more=max(0, len(passes) - MAX_PASSES), total=len(passes),
                   window=(when(sid, form["asset"], window[0]), when(sid, form["asset"], window[1])),
                   volume=sum(p["volume_mbit"] or 0 for p in passes))
    except RelayInputError as exc:
        ctx["error"] = str(exc)
    return page(request, "window_passes.html", ctx)
