"""Creating and changing records: the checks, optimistic locking and the audit log.

Every change goes through here, in one transaction with its :class:`~relay.service.models.AuditEvent`
(who, what, when, the record before and after).  An edit names the version it read; a
stale one raises :class:`Conflict` (the API answers 409 with the current record).  A
user's mistake raises :class:`relay.errors.RelayInputError` with the command line's
message, before anything is stored; a refused action raises :class:`Denied`.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

import pandas as pd
from django.conf import settings
from django.db import transaction

from ..errors import RelayInputError
from . import engine, notify
from .models import ApiToken, AuditEvent, Cycle, Entry, ScenarioVersion
from .permissions import allowed, team_id


class Conflict(Exception):
    """An edit at a stale version: ``current`` is the record as it is now."""

    def __init__(self, current):
        super().__init__(f"the record changed since version {getattr(current, 'version', '?')} was read")
        self.current = current


class Denied(Exception):
    """The user may not do this to this record."""


def require(user, action: str, record=None) -> None:
    if not allowed(user, action, record):
        raise Denied(f"{action} is not allowed for this account on this record")


def now() -> datetime:
    return datetime.now(timezone.utc)


def iso(t) -> str | None:
    return None if t is None else t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def snapshot(obj) -> dict:
    """The record's columns as JSON-ready values (for the audit log)."""
    out = {}
    for f in obj._meta.concrete_fields:  # noqa: SLF001 (Django's documented model API)
        if f.get_internal_type() == "BinaryField":
            continue
        v = getattr(obj, f.attname)
        out[f.attname] = iso(v) if isinstance(v, datetime) else v
    return out


def audit(user, action: str, obj, before: dict | None, cycle_id=None) -> None:
    AuditEvent.objects.create(who=user if user is not None and user.is_authenticated else None, action=action,
                              model=type(obj).__name__, object_id=obj.pk, cycle_id=cycle_id,
                              before=before, after=snapshot(obj) if obj.pk is not None else None)


def data_dir() -> Path:
    return Path(settings.RELAY_DATA_DIR)


def scenario_folder() -> Path:
    """Where an uploaded scenario's relative file names resolve (DATA/scenario-files)."""
    p = data_dir() / "scenario-files"
    p.mkdir(parents=True, exist_ok=True)
    return p


# ----------------------------------------------------------------------------- scenarios
@lru_cache(maxsize=16)
def scenario_of_text(text: str):
    return engine.load_scenario_text(text, scenario_folder())


def scenario_of(sv: ScenarioVersion):
    """The checked :class:`relay.config.Scenario` of a stored version (cached per text)."""
    return scenario_of_text(sv.text)


def create_scenario(user, name: str, text: str, source: str = "scenario") -> ScenarioVersion:
    """A new version of the scenario ``name`` (its YAML text checked by relay's loader)."""
    require(user, "scenario.create")
    sc = engine.load_scenario_text(text, scenario_folder(), source)
    names = engine.scenario_names(sc)
    with transaction.atomic():
        last = ScenarioVersion.objects.filter(name=name).order_by("-number").first()
        sv = ScenarioVersion.objects.create(name=name, number=(last.number + 1) if last else 1, text=text,
                                            sha256=hashlib.sha256(text.encode()).hexdigest(), author=user, **names)
        audit(user, "scenario.create", sv, None)
    return sv


# ----------------------------------------------------------------------------- cycles
def create_cycle(user, name: str, scenario: ScenarioVersion, start: datetime, days: float,
                 deadline: datetime | None = None) -> Cycle:
    require(user, "cycle.create")
    with transaction.atomic():
        c = Cycle.objects.create(name=name, scenario=scenario, start=start, days=days, deadline=deadline, author=user)
        audit(user, "cycle.create", c, None, c.pk)
    return c


def locked(model, pk: int, version: int | None):
    """The row ``pk`` locked for this transaction; :class:`Conflict` if ``version`` is stale."""
    obj = model.objects.select_for_update().get(pk=pk)
    if version is not None and obj.version != version:
        raise Conflict(obj)
    return obj


def edit_cycle(user, cycle: Cycle, version: int, changes: dict) -> Cycle:
    require(user, "cycle.edit", cycle)
    with transaction.atomic():
        c = locked(Cycle, cycle.pk, version)
        before = snapshot(c)
        for k, v in changes.items():
            setattr(c, k, v)
        c.version += 1
        c.save()
        audit(user, "cycle.edit", c, before, c.pk)
    return c


# ----------------------------------------------------------------------------- operational records
def entry_rows(kind: str, src, cycle: Cycle, source: str) -> list[dict]:
    """The rows of a table (CSV path or DataFrame) of ``kind`` checked against the cycle's
    scenario by relay's reader; a path's message names ``source`` (the uploaded file's name)."""
    try:
        return engine.check_rows(kind, src, scenario_of(cycle.scenario))
    except RelayInputError as exc:
        raise engine.rename_source(exc, src, source) if isinstance(src, (str, Path)) else exc from None


def new_entry(user, cycle: Cycle, kind: str, row: dict) -> Entry:
    return Entry(cycle=cycle, kind=kind, fields=row["fields"], asset=row["asset"], orbiter=row["orbiter"],
                 start=parse_iso(row["start"]), end=parse_iso(row["end"]), sol=row["sol"], author=user,
                 team_id=team_id(user))


def parse_iso(text):
    return None if not text else datetime.fromisoformat(text.replace("Z", "+00:00"))


def check_request_ids(cycle: Cycle, entries: list[Entry], source: str, skip: int | None = None) -> None:
    """A relay request id names one live request of the cycle."""
    taken = {e.fields.get("id"): e.pk for e in cycle.entries.filter(kind="request", withdrawn=False)
             if e.pk != skip}
    for i, e in enumerate(entries, 1):
        rid = e.fields.get("id")
        if e.kind == "request" and rid in taken:
            raise RelayInputError(f"the request id {rid!r} is already used in this cycle (record {taken[rid]}); "
                                  "expected a new id", source=source, where=f"row {i}, column id")
        taken[rid] = None


def check_open(cycle: Cycle, source: str) -> None:
    if cycle.status == "closed":
        raise RelayInputError(f"cycle {cycle.pk} ({cycle.name}) is closed; expected a cycle that is not closed",
                              source=source)


def create_entries(user, cycle: Cycle, kind: str, src, source: str) -> list[Entry]:
    """Store the records of a table (a DataFrame of one JSON record, or an uploaded CSV): all
    checked first (reader, permission per row, unique request ids), then stored together."""
    check_open(cycle, source)
    entries = [new_entry(user, cycle, kind, row) for row in entry_rows(kind, src, cycle, source)]
    for e in entries:
        require(user, "entry.create", e)
    check_request_ids(cycle, entries, source)
    with transaction.atomic():
        for e in entries:
            e.save()
            audit(user, f"{kind}.create", e, None, cycle.pk)
        notify.entries_filed(user, cycle, entries)
    return entries


def edit_entry(user, entry: Entry, version: int, fields: dict, source: str) -> Entry:
    """Change a record's cells (checked again by the reader), at the version read."""
    require(user, "entry.edit", entry)
    check_open(entry.cycle, source)
    merged = {**entry.fields, **fields}
    row = entry_rows(entry.kind, pd.DataFrame([merged], columns=engine.COLUMNS[entry.kind], dtype=str),
                     entry.cycle, source)[0]
    candidate = new_entry(user, entry.cycle, entry.kind, row)
    candidate.team_id = entry.team_id
    require(user, "entry.edit", candidate)
    check_request_ids(entry.cycle, [candidate], source, skip=entry.pk)
    with transaction.atomic():
        e = locked(Entry, entry.pk, version)
        before = snapshot(e)
        for k in ("fields", "asset", "orbiter", "start", "end", "sol"):
            setattr(e, k, getattr(candidate, k))
        e.version += 1
        e.save()
        audit(user, f"{e.kind}.edit", e, before, e.cycle_id)
    return e


def withdraw_entry(user, entry: Entry, version: int) -> Entry:
    require(user, "entry.edit", entry)
    check_open(entry.cycle, "withdraw")
    with transaction.atomic():
        e = locked(Entry, entry.pk, version)
        before = snapshot(e)
        e.withdrawn = True
        e.version += 1
        e.save()
        audit(user, f"{e.kind}.withdraw", e, before, e.cycle_id)
    return e


# ----------------------------------------------------------------------------- tokens
def token_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_token(user, name: str) -> tuple[ApiToken, str]:
    """A new script token: its record and the key, shown once (only its hash is stored)."""
    key = "rly_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        t = ApiToken.objects.create(user=user, name=name, digest=token_digest(key))
        audit(user, "token.create", t, None)
    return t, key


def revoke_token(user, token: ApiToken) -> ApiToken:
    with transaction.atomic():
        before = snapshot(token)
        token.revoked = now()
        token.save()
        audit(user, "token.revoke", token, before)
    return token
