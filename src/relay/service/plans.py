"""Plan versions: what a run plans from, storing its result, the diff's causes, publication.

- :func:`payload_for` gathers what a run needs (the scenario text, the cycle's live
  records as the cells of their CSV rows, and, when the cycle has a published plan whose
  records are all still there unchanged, that plan's files and the records added since,
  so the run takes the engine's re-plan path);
- :func:`store_result` keeps a run's result as the cycle's next plan version, with the
  records it was planned with and, on each changed session of its diff, the records
  added, edited or withdrawn since the published version that touch it;
- :func:`publish` makes a proposed version the cycle's one published version (the row
  lock on the cycle and a unique constraint leave exactly one).
"""
from __future__ import annotations

from django.db import transaction
from django.db.models import Max

from . import notify
from .models import Cycle, Entry, PlanVersion
from .records import Conflict, audit, iso, locked, require, scenario_folder


def live_entries(cycle: Cycle) -> list[Entry]:
    return list(Entry.objects.filter(cycle=cycle, withdrawn=False).order_by("pk"))


def engine_cells(e: Entry) -> dict:
    """A record's cells as the planner reads them (a request by sol given by its UTC window)."""
    f = dict(e.fields)
    if e.kind == "request" and f.get("sol"):
        f.update(start=iso(e.start), end=iso(e.end), sol="", lmst_window="")
    return f


def inputs_of(entries: list[Entry]) -> dict:
    return {str(e.pk): {"kind": e.kind, "version": e.version, "fields": engine_cells(e)} for e in entries}


def tables_of(inputs: dict) -> dict:
    out: dict[str, list] = {}
    for rec in inputs.values():
        out.setdefault(rec["kind"], []).append(rec["fields"])
    return out


#: a plan version's large columns that a run does not read of the published version
TABLES = ("summary", "sessions", "requests", "passes", "diff")


def published_of(cycle: Cycle) -> PlanVersion | None:
    """The cycle's published version, its tables left in the database (a run needs its files
    and records; its tables are loaded if read)."""
    return PlanVersion.objects.filter(cycle=cycle, status="published").defer(*TABLES).first()


def payload_for(run) -> tuple[dict, dict]:
    """(the worker's payload, what the service keeps of it) for a run of its cycle."""
    cycle = run.cycle
    current = inputs_of(live_entries(cycle))
    published = published_of(cycle)
    base = published if run.mode != "full" else None
    if base is not None and any(current.get(k, {}).get("version") != v["version"] for k, v in base.inputs.items()):
        base = None  # a record of the published plan was edited or withdrawn: plan the cycle again
    if base is not None and any(v["kind"] in ("booking", "backlog") for k, v in current.items()
                                if k not in base.inputs):
        base = None  # new station bookings (downlink windows) or backlogs (data at the start): plan anew
    added = {k: v for k, v in current.items() if base is not None and k not in base.inputs}
    payload = {"scenario_text": cycle.scenario.text, "folder": str(scenario_folder()),
               "start": iso(cycle.start), "days": cycle.days, "tables": tables_of(current),
               "base": bytes(base.files) if base is not None else None, "added": tables_of(added),
               "published": bytes(published.files) if published is not None and base is None else None,
               "base_is_published": base is not None}
    return payload, {"inputs": current, "base": base, "published": published}


def changes_since(published: PlanVersion | None, current: dict) -> list[dict]:
    """The records added, edited or withdrawn since the published version (id, what, cells)."""
    if published is None:
        return []
    old = published.inputs
    out = []
    for k, v in current.items():
        if k not in old:
            out.append({"record": int(k), "change": "added", "kind": v["kind"], "fields": v["fields"]})
        elif old[k]["version"] != v["version"]:
            out.append({"record": int(k), "change": "edited", "kind": v["kind"], "fields": v["fields"]})
    for k, v in old.items():
        if k not in current:
            out.append({"record": int(k), "change": "withdrawn", "kind": v["kind"], "fields": v["fields"]})
    return out


def touches(change: dict, row: dict) -> bool:
    """Does a changed record concern a diff row (same orbiter or asset, overlapping times)?"""
    f = change["fields"]
    names = {f.get("orbiter"), f.get("asset"), f.get("target")} - {None, ""}
    if names and not names & {row.get("orbiter"), row.get("asset")}:
        return False
    if f.get("pass_id") and f.get("pass_id") == row.get("pass_id"):
        return True
    s = row.get("start_before") or row.get("start_after") or ""
    e = row.get("end_before") or row.get("end_after") or ""
    lo, hi = f.get("start") or "", f.get("end") or "9999"
    return lo < e and hi > s


def label(change: dict) -> str:
    f = change["fields"]
    what = ", ".join(f"{k}={v}" for k, v in f.items() if v and k in ("id", "target", "orbiter", "asset", "start",
                                                                      "end", "note"))
    return f"{change['kind']} {change['record']} {change['change']} ({what})"


def with_record_causes(diff: dict | None, changes: list[dict]) -> dict | None:
    if diff is None:
        return None
    for kind in ("removed", "added", "moved", "changed"):
        for row in diff.get(kind, []):
            row["records"] = [label(c) for c in changes if touches(c, row)]
    diff["changes"] = changes
    return diff


def store_result(run, result: dict, kept: dict) -> PlanVersion:
    """Keep a run's result as the cycle's next plan version (one transaction).  ``kept`` may
    also name the ``scenario`` version planned (default: the cycle's) and the record ``changes``
    its diff cites (default: those since the published version); a nightly run gives both."""
    changes = kept["changes"] if "changes" in kept else changes_since(kept["published"], kept["inputs"])
    with transaction.atomic():
        cycle = locked(Cycle, run.cycle_id, None)
        number = (PlanVersion.objects.filter(cycle=cycle).aggregate(n=Max("number"))["n"] or 0) + 1
        plan = PlanVersion.objects.create(
            cycle=cycle, number=number, run=run, scenario=kept.get("scenario") or cycle.scenario, base=kept["base"],
            replanned=kept["base"] is not None, summary=result["summary"], sessions=result["sessions"],
            requests=result["requests"], passes=result["passes"], diff=with_record_causes(result["diff"], changes),
            inputs=kept["inputs"], files=result["files"], author=run.requested_by)
        if cycle.status == "open":
            cycle.status = "planned"
            cycle.version += 1
            cycle.save()
        audit(run.requested_by, "plan.create", plan, None, cycle.pk)
        notify.plan_stored(plan, "proposed")
    return plan


def publish(user, plan: PlanVersion, version: int, comment: str = "") -> PlanVersion:
    """Publish a proposed version at the version read; the cycle's former one is superseded."""
    require(user, "plan.publish", plan)
    with transaction.atomic():
        cycle = locked(Cycle, plan.cycle_id, None)
        p = locked(PlanVersion, plan.pk, version)
        if p.status != "proposed":
            raise Conflict(p)
        old = PlanVersion.objects.select_for_update().filter(cycle=cycle, status="published").first()
        if old is not None:
            before = {"status": old.status}
            old.status = "superseded"
            old.save(update_fields=["status", "updated"])
            audit(user, "plan.supersede", old, before, cycle.pk)
        before = {"status": p.status, "version": p.version}
        p.status, p.published, p.published_by, p.comment = "published", cycle.updated, user, comment
        p.version += 1
        p.save()
        cycle.status = "published"
        cycle.version += 1
        cycle.save()
        p.published = cycle.updated
        p.save(update_fields=["published"])
        audit(user, "plan.publish", p, before, cycle.pk)
        notify.plan_stored(p, "published")
    return p
