"""Predicted against achieved in the service (issues 21, 22): pass performance reports uploaded
against a plan version, listed, and shown on its page.

A report file is read by the engine's own code, :func:`relay.actuals.reports.ingest` (the same
reader, matching and messages as ``relay actuals ingest``), run on the version's plan folder
unzipped in a temporary folder; its rows of actuals.csv are then checked against the team's right
(:data:`relay.service.permissions.RULES` ``actuals.create``: the coordinator any, an orbiter team
those of its own orbiters; a row of another orbiter refuses the whole file, 403, naming it), and
stored together as :class:`~relay.service.models.ActualsReport` records, audited; a stored report
of a session the file reports again is kept, marked ``replaced`` (the engine's rule: a later
report of a session replaces the earlier one).  A bad file stores nothing.

The version's "Predicted vs achieved" section is the engine's (:func:`relay.actuals.report_section.actuals_view`
of :func:`relay.actuals.accounting.ledger`, drawn by :func:`relay.outputs.actuals_views.render_section`)
of the plan folder with the stored reports written as its actuals.csv: the sums are the engine's.
"""
from __future__ import annotations

import csv
import io
import tempfile
from functools import lru_cache
from pathlib import Path

from django.db import transaction
from django.db.models.functions import Length
from ninja import File, Query, Router
from ninja.files import UploadedFile

from ..actuals.accounting import ledger
from ..actuals.report_section import actuals_view
from ..actuals.reports import ACTUALS_COLUMNS, ACTUALS_FILE, actuals_text, ingest
from ..errors import RelayInputError
from ..outputs.actuals_views import render_section
from . import engine, plans, records
from .apiutil import AUTH, SPAN_FILTERS, check_query, filtered, filters_of, guard, listing, public
from .models import ActualsReport, PlanVersion
from .pages_common import plan_header
from .permissions import allowed, team_id
from .records import Denied
from .routes_records import csv_name, upload_text

router = Router(tags=["actuals"])
ACTUALS_FILTERS = filters_of("Actuals", *SPAN_FILTERS)
#: the columns of the list's CSV: the record's, then actuals.csv's
LIST_COLUMNS = ["id", "plan_id", "team", "author_id", "created", "version", *ACTUALS_COLUMNS]


def report_name(upload: UploadedFile | None) -> str:
    return csv_name(upload, "reports.csv", "a pass performance reports CSV file")


def folder_of(plan_id: int, number: int) -> bytes:
    """The version's zipped plan folder (:class:`relay.service.plans.FilesMissing`, 409, without one)."""
    files = plans.files_of(plan_id)
    if not files:
        raise plans.FilesMissing("has no plan folder; expected a version its planning run stored with its files",
                                 source=f"plan version {number}")
    return files


def ingested_rows(plan: PlanVersion, text: str, name: str) -> tuple[list[dict], tuple[str, ...]]:
    """The rows of actuals.csv ``relay actuals ingest`` makes of the report file (its text) on the
    plan version's folder (cells as text), and the reports matching no planned session."""
    with tempfile.TemporaryDirectory(dir=records.data_dir()) as tmp:
        folder = engine.unzip_to(folder_of(plan.pk, plan.number), Path(tmp) / "plan")
        path = Path(tmp) / "upload" / "reports.csv"  # the user's name only in messages, never a path
        path.parent.mkdir()
        path.write_text(text, encoding="utf-8")
        try:
            done = ingest(path, folder)
        except RelayInputError as exc:
            raise engine.rename_source(exc, path, name) from None
    rows = list(csv.DictReader(io.StringIO(actuals_text(done.actuals))))
    for row in rows:  # the file as the user named it, not the temporary one it was read from
        if row.get("source") in (str(path), path.name):
            row["source"] = name
    return rows, done.unmatched


def store_reports(user, plan: PlanVersion, text: str, name: str) -> tuple[list[ActualsReport], int, tuple]:
    """Read, check and store a report file against a plan version (see the module docstring):
    (the new records, how many stored ones they replaced, the reports matching no session)."""
    rows, unmatched = ingested_rows(plan, text, name)
    new = [ActualsReport(plan=plan, author=user, team_id=team_id(user), orbiter=r["orbiter"], asset=r["asset"],
                         option_id=r["option_id"], fields=r) for r in rows]
    refused_orbiters = sorted({a.orbiter for a in new if not allowed(user, "actuals.create", a)})
    if refused_orbiters:
        raise Denied(f"{name}: reports of the orbiter(s) {', '.join(refused_orbiters)} are not allowed for this "
                     "account (an orbiter team reports its own orbiters' sessions only); nothing was stored")
    ids = {a.option_id for a in new if a.option_id}
    with transaction.atomic():
        old = list(ActualsReport.objects.select_for_update().filter(plan=plan, replaced=False, option_id__in=ids))
        for a in old:
            before = records.snapshot(a)
            a.replaced, a.version = True, a.version + 1
            a.save()
            records.audit(user, "actuals.replace", a, before, plan.cycle_id)
        for a in new:
            a.save()
            records.audit(user, "actuals.create", a, None, plan.cycle_id)
    section_html.cache_clear()
    return new, len(old), unmatched


def report_json(a: ActualsReport) -> dict:
    return {**public(a, ("fields", "replaced")), "team": a.team.name if a.team_id else None, **a.fields}


def live_reports(plan_id: int) -> list[ActualsReport]:
    return list(ActualsReport.objects.filter(plan_id=plan_id, replaced=False).select_related("team").order_by("pk"))


@router.post("/plans/{plan_id}/actuals", auth=AUTH)
def upload_actuals(request, plan_id: int, file: File[UploadedFile]):
    """Upload pass performance reports of a plan version's sessions (the CSV ``relay actuals
    ingest`` reads: orbiter, asset, start, end, achieved_mbit[, outcome][, note][, session_id]),
    read and matched by the same code, the coordinator's or an orbiter team's for its own
    orbiters; all stored or none."""
    guard(request, "actuals.create")
    plan = plan_header(plan_id)
    guard(request, "plan.read", plan)
    name = report_name(file)
    new, replaced, unmatched = store_reports(request.user, plan, upload_text(file, "CSV"), name)
    return {"count": len(new), "replaced": replaced, "unmatched": list(unmatched),
            "items": [report_json(a) for a in new]}


@router.get("/plans/{plan_id}/actuals", auth=AUTH)
def list_actuals(request, plan_id: int, f: Query[ACTUALS_FILTERS]):  # type: ignore[valid-type]
    """The plan version's stored pass performance reports (those a later one did not replace),
    filtered; ``format=csv`` gives them with actuals.csv's columns (formula-safe)."""
    guard(request, "actuals.read")
    check_query(request, f)
    plan = plan_header(plan_id)
    guard(request, "plan.read", plan)
    rows = [report_json(a) for a in live_reports(plan.pk)]
    for r in rows:
        r["sol"] = int(r["sol"]) if str(r.get("sol", "")).lstrip("-").isdigit() else None
    return listing(filtered(rows, f), f, f"actuals-v{plan.number}", LIST_COLUMNS)


# ----------------------------------------------------------------------------- the page's section
def has_files(plan_id: int) -> bool:
    return bool(PlanVersion.objects.filter(pk=plan_id).annotate(n=Length("files")).values_list("n", flat=True)[0])


@lru_cache(maxsize=32)
def section_html(plan_id: int, stored: tuple[int, ...]) -> str:
    """The engine's "Predicted vs achieved" section of the plan version with the stored reports
    ``stored`` (their ids: the key of this per-process cache), written as its folder's actuals.csv."""
    cells = [a.fields for a in ActualsReport.objects.filter(pk__in=stored).order_by("pk")]
    cells.sort(key=lambda r: (float(r["start_tdb_s"]), r["orbiter"], r["asset"], r["option_id"]))  # actuals.csv's order
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(ACTUALS_COLUMNS), lineterminator="\n", extrasaction="ignore")
    w.writeheader()
    w.writerows(cells)
    with tempfile.TemporaryDirectory(dir=records.data_dir()) as tmp:
        folder = engine.unzip_to(folder_of(plan_id, 0), Path(tmp) / "plan")
        (folder / ACTUALS_FILE).write_text(buf.getvalue(), encoding="utf-8")
        return render_section(actuals_view(ledger(folder)))


def section_context(user, plan: PlanVersion) -> dict:
    """What the plan page shows of the reports: the section (relay's escaped markup, "" without
    reports or files), how many are stored, and whether this account may upload."""
    stored = tuple(ActualsReport.objects.filter(plan=plan, replaced=False).order_by("pk").values_list("pk", flat=True))
    html = section_html(plan.pk, stored) if stored and has_files(plan.pk) else ""
    return {"actuals_html": html, "actuals_count": len(stored),
            "may_report": allowed(user, "actuals.create") and allowed(user, "plan.read", plan)}


__all__ = ["router", "report_name", "store_reports", "section_context"]
