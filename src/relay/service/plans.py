"""Plan versions: what a run plans from, storing its result, the diff's causes, publication.

- :func:`payload_for` gathers what a run needs (the scenario text, the cycle's live
  records as the cells of their CSV rows, and, when the cycle has a published plan whose
  records are all still there unchanged, that plan (by the SHA-256 of its files, which the
  worker usually holds; :func:`with_files` adds them for one that does not) and the records
  added since, so the run takes the engine's re-plan path);
- :func:`store_result` keeps a run's result as the cycle's next plan version, with the
  records it was planned with and, on each changed session of its diff, the records
  added, edited or withdrawn since the published version that touch it;
- :func:`store_files` gives a stored version the plan folder its run wrote after it (the
  version is usable first: :func:`wait_for_files` and :func:`files_of` wait for them, and
  answer :class:`FilesMissing` when the run failed before they came);
- :func:`publish` makes a proposed version the cycle's one published version (the row
  lock on the cycle and a unique constraint leave exactly one).
"""
from __future__ import annotations

import hashlib
import time

from django.db import transaction
from django.db.models import Max
from django.db.models.functions import Length

from ..errors import RelayInputError
from . import notify
from .models import Cycle, Entry, PlanVersion
from .records import Conflict, audit, iso, locked, require, scenario_folder

#: the longest a download or a publication waits for a version's files (seconds)
FILES_WAIT_S = 120.0


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


def published_of(cycle: Cycle, files: bool = True) -> PlanVersion | None:
    """The cycle's published version, its tables (and without ``files`` its files) left in the
    database (a run needs its files and records; its tables are loaded if read)."""
    return PlanVersion.objects.filter(cycle=cycle, status="published").defer(*TABLES, *(() if files else ("files",))) \
        .first()


def files_digest(plan_id: int) -> str | None:
    """The SHA-256 of a version's zipped folder (None while it has none), by which a worker holds
    the plans it made or read (:class:`relay.service.engine.PlanCache`); kept per process, as a
    version's files never change once written."""
    digest = _DIGESTS.get(plan_id)
    if digest is None:
        files = PlanVersion.objects.filter(pk=plan_id).values_list("files", flat=True)[0]
        if not files:
            return None
        digest = _DIGESTS[plan_id] = hashlib.sha256(bytes(files)).hexdigest()
    return digest


_DIGESTS: dict[int, str] = {}


def payload_for(run) -> tuple[dict, dict]:
    """(the worker's payload, what the service keeps of it) for a run of its cycle.  The plans it
    starts from or is compared with are named by the SHA-256 of their files (``base_key``,
    ``published_key``): the worker holds them, usually; else :func:`with_files` adds the files."""
    cycle = run.cycle
    current = inputs_of(live_entries(cycle))
    published = published_of(cycle, files=False)
    digest = files_digest(published.pk) if published is not None else None
    if digest is None:
        published = None  # no folder to re-plan or diff against (a version made without one)
    base = published if run.mode != "full" else None
    if base is not None and any(current.get(k, {}).get("version") != v["version"] for k, v in base.inputs.items()):
        base = None  # a record of the published plan was edited or withdrawn: plan the cycle again
    if base is not None and any(v["kind"] in ("booking", "backlog") for k, v in current.items()
                                if k not in base.inputs):
        base = None  # new station bookings (downlink windows) or backlogs (data at the start): plan anew
    added = {k: v for k, v in current.items() if base is not None and k not in base.inputs}
    payload = {"scenario_text": cycle.scenario.text, "folder": str(scenario_folder()),
               "start": iso(cycle.start), "days": cycle.days, "tables": tables_of(current),
               "base": None, "base_key": digest if base is not None else None, "added": tables_of(added),
               "published": None, "published_key": digest if published is not None and base is None else None,
               "base_is_published": base is not None}
    return payload, {"inputs": current, "base": base, "published": published}


def with_files(payload: dict, kept: dict) -> dict:
    """The payload with the files of the plan it names by key (the published one), for a worker
    that does not hold it."""
    if kept["published"] is None:
        return payload
    files = bytes(PlanVersion.objects.filter(pk=kept["published"].pk).values_list("files", flat=True)[0])
    return {**payload, "base": files if payload["base_key"] else None,
            "published": files if payload["published_key"] else None}


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


class FilesMissing(RelayInputError):
    """A plan version whose run failed before it wrote the version's files (answered 409)."""


def store_files(plan: PlanVersion, files: bytes) -> None:
    """Give a stored version its zipped plan folder (one statement: a reader sees none or all)."""
    PlanVersion.objects.filter(pk=plan.pk).update(files=files)


def wait_for_files(plan_id: int, timeout_s: float = FILES_WAIT_S) -> None:
    """Return once the version has its files, or has none and its run is no longer writing them;
    :class:`FilesMissing` when its run failed before they came (or they took ``timeout_s``)."""
    t_end = time.monotonic() + timeout_s
    while True:
        n, number, run, status, error = PlanVersion.objects.filter(pk=plan_id).annotate(n=Length("files")) \
            .values_list("n", "number", "run_id", "run__status", "run__error")[0]
        if n or status not in ("queued", "running", "failed"):
            return
        if status == "failed":
            why = error or "no reason recorded"
            raise FilesMissing(f"has no files: its run {run} failed before it wrote them ({why}); expected a "
                               "version whose run is done: retry the run", source=f"plan version {number}")
        if time.monotonic() > t_end:
            raise FilesMissing(f"has no files yet: its run {run} has been writing them for over {timeout_s:.0f} s; "
                               "expected them sooner: try again later", source=f"plan version {number}")
        time.sleep(0.05)


def files_of(plan_id: int) -> bytes:
    """A version's zipped plan folder, once its run has written it (:func:`wait_for_files`)."""
    wait_for_files(plan_id)
    return bytes(PlanVersion.objects.filter(pk=plan_id).values_list("files", flat=True)[0])


def publish(user, plan: PlanVersion, version: int, comment: str = "") -> PlanVersion:
    """Publish a proposed version at the version read, once it has its files (a run stores its
    version before them); the cycle's former one is superseded."""
    require(user, "plan.publish", plan)
    wait_for_files(plan.pk)
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
