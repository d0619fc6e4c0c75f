"""API routes of planning: runs (queued off the request path) and plan versions (sessions,
overflights, requests and their status, the diff with causes, publication, files)."""
from __future__ import annotations

import io
import json
import zipfile
from functools import lru_cache

from django.db.models.signals import post_delete, post_save
from django.http import HttpResponse
from ninja import Query, Router, Status

from ..errors import RelayInputError
from . import plans, runs
from .apiutil import (AUTH, SPAN_FILTERS, Answer, answer_response, check_query, choice, etag_of, filtered, filters_of,
                      forget_answers, get, guard, keep_answer, listing, public)
from .engine import PASS_FIELDS, SESSION_FIELDS
from .models import PLAN_STATUSES, RUN_STATUSES, Cycle, PlanVersion, Run
from .schemas import PublishIn, RunIn

router = Router(tags=["planning"])
#: a plan version's columns shown in lists (its tables and files have their own routes)
PLAN_TABLES = ("files", "sessions", "passes", "requests", "diff", "inputs")
#: the filters of each list of this router (those that make sense for its rows)
RUN_FILTERS = filters_of("Run", "cycle", "status")
PLAN_FILTERS = filters_of("Plan", "cycle", "status")
TABLE_FILTERS = filters_of("PlanTable", *SPAN_FILTERS)
ORBITER_FILTERS = filters_of("OrbiterSessions", "asset", "sol", "start", "end")


def run_json(r: Run) -> dict:
    out = public(r)
    out["plan"] = PlanVersion.objects.filter(run=r).values_list("pk", flat=True).first()
    return out


@router.post("/cycles/{cycle_id}/runs", auth=AUTH, response={202: dict})
def new_run(request, cycle_id: int, body: RunIn):
    """Queue a planning run; answered at once (202) while a worker plans."""
    cycle = get(Cycle, cycle_id)
    guard(request, "run.create", cycle)
    return Status(202, run_json(runs.submit(request.user, cycle, body.mode)))


@router.get("/runs", auth=AUTH)
def list_runs(request, f: Query[RUN_FILTERS]):  # type: ignore[valid-type]
    """Planning runs: of a cycle, in a status."""
    guard(request, "run.read")
    check_query(request, f)
    q = Run.objects.order_by("pk")
    if f.cycle is not None:
        q = q.filter(cycle_id=f.cycle)
    if choice(f.status, RUN_STATUSES, "status"):
        q = q.filter(status=f.status)
    return listing([run_json(r) for r in q], f, "runs")


@router.get("/runs/{run_id}", auth=AUTH)
def one_run(request, run_id: int):
    r = get(Run, run_id)
    guard(request, "run.read", r)
    return run_json(r)


@router.post("/runs/{run_id}/retry", auth=AUTH, response={202: dict})
def retry_run(request, run_id: int):
    r = get(Run, run_id)
    guard(request, "run.create", r.cycle)
    return Status(202, run_json(runs.retry(request.user, r)))


# ----------------------------------------------------------------------------- plan versions
def plan_json(p: PlanVersion) -> dict:
    return public(p, PLAN_TABLES)


def plan_of(request, plan_id: int, *keep: str) -> PlanVersion:
    """The plan version, its large columns left in the database but those in ``keep``."""
    found = list(PlanVersion.objects.defer(*(c for c in PLAN_TABLES if c not in keep)).filter(pk=plan_id)[:1])
    p = found[0] if found else get(PlanVersion, plan_id)
    guard(request, "plan.read", p)
    return p


@router.get("/plans", auth=AUTH)
def list_plans(request, f: Query[PLAN_FILTERS]):  # type: ignore[valid-type]
    """Plan versions: of a cycle, in a status (proposed, published, superseded)."""
    guard(request, "plan.read")
    check_query(request, f)
    q = PlanVersion.objects.defer(*PLAN_TABLES).order_by("cycle_id", "number")
    if f.cycle is not None:
        q = q.filter(cycle_id=f.cycle)
    if choice(f.status, PLAN_STATUSES, "status"):
        q = q.filter(status=f.status)
    return listing([plan_json(p) for p in q], f, "plans")


@router.get("/plans/{plan_id}", auth=AUTH)
def one_plan(request, plan_id: int):
    p = plan_of(request, plan_id, "diff")
    return {**plan_json(p), "summary": p.summary, "diff_counts": counts(p.diff)}


def counts(diff: dict | None) -> dict | None:
    if diff is None:
        return None
    return {"unchanged": diff["unchanged"], **{k: len(diff[k]) for k in ("changed", "moved", "added", "removed")}}


@lru_cache(maxsize=256)
def table_answer(plan_id: int, number: int, table: str, f) -> tuple[bytes, str, str, str]:
    """(body, content type, disposition, ETag) of a plan table's listing: a plan version's
    tables never change once its run stored them, so each answer is made once per process."""
    rows = PlanVersion.objects.filter(pk=plan_id).values_list(table, flat=True)[0]
    keys = ("rise", "set") if table == "passes" else ("start", "end")
    columns = {"sessions": SESSION_FIELDS, "passes": PASS_FIELDS}.get(table)
    out = listing(filtered(rows, f, *keys), f, f"{table}-v{number}", columns)
    if isinstance(out, dict):
        body = json.dumps(out).encode()
        return body, "application/json; charset=utf-8", "", etag_of(body)
    return out.content, out["Content-Type"], out["Content-Disposition"], etag_of(out.content)


@lru_cache(maxsize=4096)
def plan_record(plan_id: int) -> PlanVersion:
    """A plan version's fields that never change (id, number, cycle), as the record its tables'
    reads are checked against; a missing plan raises 404, not cached."""
    found = list(PlanVersion.objects.filter(pk=plan_id).values_list("number", "cycle_id")[:1])
    if not found:
        get(PlanVersion, plan_id)
    return PlanVersion(pk=plan_id, number=found[0][0], cycle_id=found[0][1])


def forget_plan(sender, instance, **kw) -> None:
    """A plan version saved (published, superseded) or deleted: its kept answers and record go,
    so that the next read of it is answered and checked from the database again."""
    plan_record.cache_clear()
    forget_answers(lambda record: record.pk != instance.pk)


post_save.connect(forget_plan, sender=PlanVersion, dispatch_uid="relay-forget-plan-saved")
post_delete.connect(forget_plan, sender=PlanVersion, dispatch_uid="relay-forget-plan-deleted")


def table_response(request, plan_id: int, table: str, f) -> HttpResponse:
    """A plan table's listing: its tables are written once with the plan version (by its run)
    and never change, so the answer is kept per process (its repeats with a script token are
    answered by :class:`relay.service.apiutil.KeptAnswers`, checked the same way); an
    ``If-None-Match`` with its ETag answers 304."""
    guard(request, "plan.read")
    check_query(request, f)
    record = plan_record(plan_id)
    guard(request, "plan.read", record)
    body, ctype, disposition, etag = table_answer(plan_id, record.number, table, f)
    answer = Answer(body, ctype, disposition, etag, record, "plan.read")
    keep_answer(request, answer)
    return answer_response(request, answer)


@router.get("/plans/{plan_id}/sessions", auth=AUTH)
def plan_sessions(request, plan_id: int, f: Query[TABLE_FILTERS]):  # type: ignore[valid-type]
    """The plan's relay sessions (schedule.csv's columns), filtered."""
    return table_response(request, plan_id, "sessions", f)


@router.get("/plans/{plan_id}/passes", auth=AUTH)
def plan_passes(request, plan_id: int, f: Query[TABLE_FILTERS]):  # type: ignore[valid-type]
    """The cycle's overflights as this plan saw them: sol, LMST, volume, used or why not."""
    return table_response(request, plan_id, "passes", f)


@router.get("/plans/{plan_id}/requests", auth=AUTH)
def plan_requests(request, plan_id: int, f: Query[TABLE_FILTERS]):  # type: ignore[valid-type]
    """Each relay request's status in this plan (met or not, with the reason)."""
    return table_response(request, plan_id, "requests", f)


@router.get("/plans/{plan_id}/diff", auth=AUTH)
def plan_diff(request, plan_id: int):
    """The diff against the cycle's published version when this one was planned: sessions
    removed, added, moved, changed, each with the plan's reason and the records that caused it."""
    p = plan_of(request, plan_id, "diff")
    return {"plan": p.pk, "number": p.number, "replanned": p.replanned, "diff": p.diff, "counts": counts(p.diff)}


@router.post("/plans/{plan_id}/publish", auth=AUTH)
def publish_plan(request, plan_id: int, body: PublishIn):
    p = plan_of(request, plan_id)
    guard(request, "plan.publish", p)
    return plan_json(plans.publish(request.user, p, body.version, body.comment))


@router.get("/plans/{plan_id}/files", auth=AUTH)
def plan_files(request, plan_id: int):
    """The plan's folder as ``relay plan`` writes it, zipped (a run writes it just after it stores
    the version: a download meanwhile waits for it; 409 when the run failed before it)."""
    p = plan_of(request, plan_id)
    resp = HttpResponse(plans.files_of(p.pk), content_type="application/zip")
    resp["Content-Disposition"] = f'attachment; filename="cycle{p.cycle_id}-plan-v{p.number}.zip"'
    return resp


@router.get("/plans/{plan_id}/files/{name}", auth=AUTH)
def plan_file(request, plan_id: int, name: str):
    """One file of the plan's folder (schedule.csv, summary.json, report.html...)."""
    p = plan_of(request, plan_id)
    with zipfile.ZipFile(io.BytesIO(plans.files_of(p.pk))) as z:
        if name not in z.namelist():
            raise RelayInputError(f"got {name!r}, expected one of {', '.join(sorted(z.namelist()))}", source="URL")
        data = z.read(name)
    types = {"csv": "text/csv", "json": "application/json", "html": "text/html"}
    resp = HttpResponse(data, content_type=types.get(name.rsplit(".", 1)[-1], "application/octet-stream"))
    resp["Content-Disposition"] = f'attachment; filename="{name}"'
    return resp


@router.get("/plans/{plan_id}/orbiters/{orbiter}", auth=AUTH)
def orbiter_sessions(request, plan_id: int, orbiter: str, f: Query[ORBITER_FILTERS]):  # type: ignore[valid-type]
    """One orbiter's session list (for its team), CSV unless ``format=json``; filtered by
    asset, sol and span."""
    p = plan_of(request, plan_id, "sessions")
    check_query(request, f)
    if orbiter not in p.scenario.orbiters:
        raise RelayInputError(f"got {orbiter!r}, expected an orbiter of the scenario "
                              f"({', '.join(p.scenario.orbiters)})", source="URL", where="orbiter")
    rows = filtered([r for r in p.sessions if r["orbiter"] == orbiter], f)
    fmt = f if "format" in request.GET else f.model_copy(update={"format": "csv"})
    return listing(rows, fmt, f"{orbiter}-sessions-v{p.number}", SESSION_FIELDS)
