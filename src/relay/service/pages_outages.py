"""The orbiter teams' page: declare an unavailability (a safe mode, a radio outage) of a cycle,
with a preview of the planned sessions it hits before it is saved.

The preview reads the typed outage with the same reader as ``relay plan`` and checks the team's
right to file it (nothing stored); saving goes through :func:`relay.service.records.create_entries`.
"""
from __future__ import annotations

import pandas as pd
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

from ..errors import RelayInputError
from . import engine, records
from .engine import COLUMNS
from .models import Entry
from .pages_common import cycle_of, field_of, latest_plan, login_required, page, refused, scenario, typed, when
from .permissions import allowed, role_of, team_names
from .records import Denied, iso, require

FIELDS = COLUMNS["outage"]


def frame(cells: dict) -> pd.DataFrame:
    return pd.DataFrame([cells], columns=FIELDS, dtype=str)


def hits_of(cycle, row: dict) -> tuple[object, list[dict]]:
    """(the plan looked at, its sessions the outage ``row`` (checked cells, ISO span) overlaps on
    its target: the same test as the notification the teams get, :func:`relay.service.notify.sessions_hit`)."""
    plan = latest_plan(cycle, "sessions")
    if plan is None:
        return None, []
    target = row["fields"]["target"]
    lo, hi = row["start"], row["end"]
    out = []
    for s in plan.sessions:
        if target not in (s["orbiter"], s["asset"]) or not (s["start"] < hi and s["end"] > lo):
            continue
        out.append({**s, "when": when(cycle.scenario_id, s["asset"], s["start"])})
    return plan, out


def preview(user, cycle, cells: dict) -> tuple[dict, object, list[dict]]:
    """Check a typed outage as saving would (reader, then the team's right), store nothing."""
    row = engine.check_rows("outage", frame(cells), scenario(cycle.scenario))[0]
    require(user, "entry.create", records.new_entry(user, cycle, "outage", row))
    plan, hits = hits_of(cycle, row)
    return row, plan, hits


def targets_of(user, cycle) -> list[str]:
    names = team_names(user)
    everything = [*cycle.scenario.orbiters, *cycle.scenario.stations, *cycle.scenario.assets]
    mine = [n for n in everything if n in names]
    return mine if role_of(user) != "coordinator" else everything


def outages_context(request, cycle, form: dict, **extra) -> dict:
    q = Entry.objects.filter(cycle=cycle, kind="outage").select_related("team", "cycle").order_by("withdrawn", "start")
    listed = [{"e": e, "may_edit": allowed(request.user, "entry.edit", e),
               "start": when(cycle.scenario_id, "", iso(e.start)), "end": when(cycle.scenario_id, "", iso(e.end))}
              for e in q]
    err = extra.pop("error", None)
    return {"title": f"Unavailability: {cycle.name}", "cycle": cycle, "form": form, "outages": listed,
            "targets": targets_of(request.user, cycle), "may_file": role_of(request.user) in ("orbiter", "lander",
                                                                                                 "coordinator"),
            "error": str(err) if err else "", "error_field": field_of(err, FIELDS) if err else "",
            "preview": None, "hits": [], "plan": None, **extra}


@login_required
@require_http_methods(["GET", "POST"])
def outages_page(request, cycle_id: int):
    """The cycle's outages; the form previews (``action=preview``) or saves (``action=save``)."""
    cycle = cycle_of(cycle_id)
    if not allowed(request.user, "entry.read"):
        return refused(request, "entry.read is not allowed for this account")
    if request.method == "GET":
        targets = targets_of(request.user, cycle)
        form = {"target": targets[0] if targets else "", "what": "all", "start": "", "end": "", "note": "",
                "orbiter": ""}
        return page(request, "outages.html", outages_context(request, cycle, form))
    form = typed(request.POST, FIELDS)
    try:
        row, plan, hits = preview(request.user, cycle, form)
        if request.POST.get("action") != "save":
            return page(request, "outages.html", outages_context(request, cycle, form, preview=row, plan=plan,
                                                                 hits=hits))
        entries = records.create_entries(request.user, cycle, "outage", frame(form), "outages")
    except RelayInputError as exc:
        return page(request, "outages.html", outages_context(request, cycle, form, error=exc), status=400)
    except Denied as exc:
        return refused(request, str(exc))
    return redirect(f"/cycles/{cycle.pk}/outages?saved={entries[0].pk}&hits={len(hits)}")
