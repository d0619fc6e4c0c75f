"""API routes of records: scenarios, planning cycles, operational records (outages, requests,
vetoes, locks, station bookings, asset backlogs: one JSON record or an uploaded CSV file, read
by relay's readers), comments.  Each list takes the filters that make sense for its rows
(:func:`relay.service.apiutil.filters_of`) and refuses any other."""

import tempfile
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

import pandas as pd
from django.db import transaction
from ninja import File, Query, Router
from ninja.files import UploadedFile

from ..errors import RelayInputError, excerpt
from ..inputs import check_plain_name
from ..timescales import parse_utc, utc_to_tdb_s
from . import records
from .apiutil import (AUTH, SPAN_FILTERS, Filters, check_query, choice, filtered, filters_of, get, guard, listing,
                      overlaps, public, span_of)
from .engine import COLUMNS, asset_clocks, cell_text, overflights
from .models import CYCLE_STATUSES, ENTRY_KINDS, Comment, Cycle, Entry, PlanVersion, ScenarioVersion
from .schemas import ENTRY_IN, CommentIn, CommentPatch, CycleIn, CyclePatch, EntryPatch, ScenarioIn, VersionIn
from .settings import MAX_UPLOAD_BYTES

router = Router(tags=["records"])
#: the URL word of each kind of record (and the CSV file it comes from)
PLURAL = {"outage": "outages", "request": "requests", "veto": "vetoes", "lock": "locks", "booking": "bookings",
          "backlog": "backlogs"}
#: the filters of each list of this router (those that make sense for its rows)
SCENARIO_FILTERS = filters_of("Scenario", "scenario", "cycle", "asset", "orbiter")
CYCLE_FILTERS = filters_of("Cycle", "scenario", "status", "asset", "orbiter", "start", "end")
OVERFLIGHT_FILTERS = filters_of("Overflight", *SPAN_FILTERS)
ENTRY_FILTERS = filters_of("Entry", "cycle", "kind", "withdrawn", *SPAN_FILTERS)


def upload_text(upload: UploadedFile, what: str) -> str:
    """An uploaded file's text: at most MAX_UPLOAD_BYTES of UTF-8, else the reader's kind of message."""
    name = upload.name or what
    if upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
        raise RelayInputError(f"is {upload.size:,} bytes; expected at most {MAX_UPLOAD_BYTES:,} bytes", source=name)
    data = upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise RelayInputError(f"is larger than {MAX_UPLOAD_BYTES:,} bytes; expected a smaller file", source=name)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise RelayInputError(f"is not UTF-8 text; expected a {what} file", source=name) from None


def csv_name(upload: UploadedFile | None, default: str, expected: str) -> str:
    """An uploaded CSV file's name as its messages show it (the last part of the name the browser
    gave, ``default`` without one), refused unless it ends in .csv; it never becomes a path."""
    name = Path((upload.name if upload is not None else "") or default).name
    if not name.lower().endswith(".csv"):
        raise RelayInputError(f"is not a .csv file; expected {expected}", source=name)
    return name


# ----------------------------------------------------------------------------- scenarios
@router.get("/scenarios", auth=AUTH)
def list_scenarios(request, f: Query[SCENARIO_FILTERS]):  # type: ignore[valid-type]
    """Scenario versions: by name (``scenario``), the version a cycle uses, with an asset or orbiter."""
    guard(request, "scenario.read")
    check_query(request, f)
    q = ScenarioVersion.objects.order_by("name", "number")
    if f.scenario:
        q = q.filter(name=f.scenario)
    if f.cycle is not None:
        q = q.filter(cycles__pk=f.cycle)
    rows = [public(s, ("text",)) for s in q
            if (not f.asset or f.asset in s.assets) and (not f.orbiter or f.orbiter in s.orbiters)]
    return listing(rows, f, "scenarios")


@router.post("/scenarios", auth=AUTH)
def new_scenario(request, body: ScenarioIn):
    """A new version of a scenario (its YAML text, checked by relay's loader)."""
    guard(request, "scenario.create")
    check_plain_name(body.name, "scenario name", source="request body")
    return public(records.create_scenario(request.user, body.name, body.text), ("text",))


@router.post("/scenarios/upload", auth=AUTH)
def upload_scenario(request, name: str, file: File[UploadedFile]):
    guard(request, "scenario.create")
    check_plain_name(name, "scenario name", source="query")
    text = upload_text(file, "scenario YAML")
    return public(records.create_scenario(request.user, name, text, file.name or "scenario"), ("text",))


@router.get("/scenarios/{scenario_id}", auth=AUTH)
def one_scenario(request, scenario_id: int):
    guard(request, "scenario.read")
    return public(get(ScenarioVersion, scenario_id))


# ----------------------------------------------------------------------------- cycles
@router.get("/cycles", auth=AUTH)
def list_cycles(request, f: Query[CYCLE_FILTERS]):  # type: ignore[valid-type]
    """Planning cycles: of a scenario (its name), in a status, whose scenario has an asset or
    orbiter, overlapping a span (``start``, ``end``)."""
    guard(request, "cycle.read")
    check_query(request, f)
    status = choice(f.status, CYCLE_STATUSES, "status")
    lo, hi = span_of(f)
    q = Cycle.objects.select_related("scenario").defer("scenario__text").order_by("start", "pk")
    if f.scenario:
        q = q.filter(scenario__name=f.scenario)
    if status:
        q = q.filter(status=status)
    rows = []
    for c in q:
        sv = c.scenario
        if (f.asset and f.asset not in sv.assets) or (f.orbiter and f.orbiter not in sv.orbiters):
            continue
        row = public(c)
        if (f.start or f.end) and not overlaps(row["start"], records.iso(c.start + timedelta(days=c.days)), lo, hi):
            continue
        rows.append(row)
    return listing(rows, f, "cycles")


@router.get("/cycles/{cycle_id}", auth=AUTH)
def one_cycle(request, cycle_id: int):
    guard(request, "cycle.read")
    return public(get(Cycle, cycle_id))


@router.post("/cycles", auth=AUTH)
def new_cycle(request, body: CycleIn):
    guard(request, "cycle.create")
    sv = get(ScenarioVersion, body.scenario)
    start = parse_utc(body.start, source="request body", where="start")
    deadline = parse_utc(body.deadline, source="request body", where="deadline") if body.deadline else None
    if not 0 < body.days <= 60:
        raise RelayInputError(f"got {body.days:g}, expected a number of days above 0 to 60", source="request body",
                              where="days")
    return public(records.create_cycle(request.user, body.name, sv, start, body.days, deadline))


@lru_cache(maxsize=32)
def cycle_overflights(scenario_id: int, start: str, days: float) -> tuple[dict, ...]:
    """The overflights of a span of a scenario version (both immutable: kept per process)."""
    sc = records.scenario_of(get(ScenarioVersion, scenario_id))
    return tuple(overflights(sc, start, days))


@router.get("/cycles/{cycle_id}/overflights", auth=AUTH)
def list_overflights(request, cycle_id: int, f: Query[OVERFLIGHT_FILTERS]):  # type: ignore[valid-type]
    """Every pass of the cycle's span: orbiter, asset, rise, set, sol and LMST of the asset
    (geometry only; a plan version's ``/passes`` add each pass's volume and use)."""
    c = get(Cycle, cycle_id)
    guard(request, "cycle.read", c)
    check_query(request, f)
    rows = list(cycle_overflights(c.scenario_id, records.iso(c.start), c.days))
    return listing(filtered(rows, f, "rise", "set"), f, f"overflights-cycle{c.pk}")


@router.patch("/cycles/{cycle_id}", auth=AUTH)
def edit_cycle(request, cycle_id: int, body: CyclePatch):
    c = get(Cycle, cycle_id)
    guard(request, "cycle.edit", c)
    changes = body.model_dump(exclude_none=True, exclude={"version"})
    if "deadline" in changes:
        changes["deadline"] = parse_utc(changes["deadline"], source="request body", where="deadline")
    return public(records.edit_cycle(request.user, c, body.version, changes))


# ----------------------------------------------------------------------------- operational records
def entry_json(e: Entry) -> dict:
    return {**public(e), "team": e.team.name if e.team_id else None}


@router.get("/entries", auth=AUTH)
def list_entries(request, f: Query[ENTRY_FILTERS]):  # type: ignore[valid-type]
    """Outages, requests, vetoes, locks, bookings and backlogs, filtered (a record's sol: the
    one it names, else its asset's sol at its start); ``format=csv`` with a ``kind`` gives the
    CSV file relay reads."""
    guard(request, "entry.read")
    check_query(request, f)
    kind = choice(f.kind, ENTRY_KINDS, "kind")
    span_of(f)
    q = Entry.objects.select_related("team").order_by("pk")
    if f.cycle is not None:
        q = q.filter(cycle_id=f.cycle)
    if kind:
        q = q.filter(kind=kind)
    if not f.withdrawn:
        q = q.filter(withdrawn=False)
    if f.asset:
        q = q.filter(asset=f.asset)
    if f.orbiter:
        q = q.filter(orbiter=f.orbiter)
    entries = list(q)
    if f.sol is not None:
        sols = sol_reader()
        entries = [e for e in entries if sols(e) == f.sol]
    rows = filtered([entry_json(e) for e in entries], f.model_copy(update={"sol": None}))
    if f.format == "csv" and kind:
        return listing([{**r["fields"]} for r in rows], f, PLURAL[kind], COLUMNS[kind])
    return listing(rows, f, "records")


def sol_reader():
    """A function of a record: the sol it names, else its asset's sol at its start (None
    without either); each cycle's scenario read once."""
    clocks: dict[int, dict] = {}

    def sol(e: Entry) -> int | None:
        if e.sol is not None or e.start is None or not e.asset:
            return e.sol
        if e.cycle_id not in clocks:
            clocks[e.cycle_id] = asset_clocks(records.scenario_of(Cycle.objects.get(pk=e.cycle_id).scenario))
        clock = clocks[e.cycle_id].get(e.asset)
        return None if clock is None else int(clock.sol(utc_to_tdb_s(e.start)))

    return sol


@router.get("/entries/{entry_id}", auth=AUTH)
def one_entry(request, entry_id: int):
    e = get(Entry, entry_id)
    guard(request, "entry.read", e)
    return entry_json(e)


def post_entry(request, kind: str, body) -> dict:
    cycle = get(Cycle, body.cycle)
    cells = {c: cell_text(v) for c, v in body.model_dump(exclude={"cycle"}).items()}
    df = pd.DataFrame([cells], columns=COLUMNS[kind], dtype=str)
    entries = records.create_entries(request.user, cycle, kind, df, PLURAL[kind])
    return entry_json(entries[0])


def add_entry_route(kind: str) -> None:
    schema = ENTRY_IN[kind]

    def create(request, body: schema):  # type: ignore[valid-type]
        guard(request, "entry.read")
        return post_entry(request, kind, body)

    create.__name__ = f"new_{kind}"
    create.__doc__ = f"File one {kind} (the columns of {PLURAL[kind]}.csv); checked by relay's reader."
    router.post(f"/{PLURAL[kind]}", auth=AUTH)(create)


for _kind in ENTRY_KINDS:
    add_entry_route(_kind)


@router.post("/cycles/{cycle_id}/upload/{kind}", auth=AUTH)
def upload_entries(request, cycle_id: int, kind: str, file: File[UploadedFile]):
    """Upload the CSV file relay reads (outages, requests, forbid, locks, bookings, backlogs): every
    row checked by the same reader as ``relay plan``, each against the team's rights, then all
    stored or none."""
    guard(request, "entry.read")
    cycle = get(Cycle, cycle_id)
    kinds = {v: k for k, v in PLURAL.items()} | {"forbid": "veto"} | {k: k for k in ENTRY_KINDS}
    if kind not in kinds:
        raise RelayInputError(f"got {excerpt(kind)}, expected outages, requests, vetoes (forbid), locks, bookings or "
                              "backlogs", source="URL", where="kind")
    name = csv_name(file, f"{kind}.csv", "the CSV file relay reads")
    text = upload_text(file, "CSV")
    with tempfile.TemporaryDirectory(dir=records.data_dir()) as tmp:
        path = Path(tmp) / "upload.csv"
        path.write_text(text, encoding="utf-8")
        entries = records.create_entries(request.user, cycle, kinds[kind], str(path), name)
    return {"count": len(entries), "items": [entry_json(e) for e in entries]}


@router.patch("/entries/{entry_id}", auth=AUTH)
def edit_entry(request, entry_id: int, body: EntryPatch):
    e = get(Entry, entry_id)
    guard(request, "entry.edit", e)
    unknown = sorted(set(body.fields) - set(COLUMNS[e.kind]))
    if unknown:
        raise RelayInputError(f"got the column {unknown[0]!r}, expected columns of {PLURAL[e.kind]}: "
                              f"{', '.join(COLUMNS[e.kind])}", source="request body", where="fields")
    cells = {k: cell_text(v) for k, v in body.fields.items()}
    return entry_json(records.edit_entry(request.user, e, body.version, cells, PLURAL[e.kind]))


@router.post("/entries/{entry_id}/withdraw", auth=AUTH)
def withdraw_entry(request, entry_id: int, body: VersionIn):
    e = get(Entry, entry_id)
    guard(request, "entry.edit", e)
    return entry_json(records.withdraw_entry(request.user, e, body.version))


# ----------------------------------------------------------------------------- comments
@router.get("/comments", auth=AUTH)
def list_comments(request, target: str, target_id: int, format: str = "json"):
    """The comments on a record (``target=entry``) or a plan version (``target=plan``)."""
    guard(request, "comment.read")
    check_query(request, None, "target", "target_id", "format")
    choice(target, ("entry", "plan"), "target")
    rows = [{**public(c), "author": c.author.username if c.author else None}
            for c in Comment.objects.filter(target=target, target_id=target_id).select_related("author")]
    return listing(rows, Filters(format=format), "comments")


@router.post("/comments", auth=AUTH)
def new_comment(request, body: CommentIn):
    guard(request, "comment.create")
    get(Entry if body.target == "entry" else PlanVersion, body.target_id)
    with transaction.atomic():
        c = Comment.objects.create(target=body.target, target_id=body.target_id, text=body.text, author=request.user)
        records.audit(request.user, "comment.create", c, None)
    return public(c)


@router.patch("/comments/{comment_id}", auth=AUTH)
def edit_comment(request, comment_id: int, body: CommentPatch):
    c = get(Comment, comment_id)
    guard(request, "comment.edit", c)
    with transaction.atomic():
        cur = records.locked(Comment, c.pk, body.version)
        before = records.snapshot(cur)
        cur.text, cur.version = body.text, cur.version + 1
        cur.save()
        records.audit(request.user, "comment.edit", cur, before)
    return public(cur)
