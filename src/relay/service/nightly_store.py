"""``relay nightly --db``: a nightly run recorded in the service's database as a plan version.

The command layer sets Django up on the database (:func:`relay.service.settings.configure`,
as ``relay serve`` does) and, once the nightly job has archived its run, calls
:func:`record`:

- the database must answer and be migrated (:func:`check_database`; else "run ``relay db
  upgrade``");
- the **cycle** is the newest one, not closed, of the scenario named as the config's
  ``name:`` whose span (start to start + days) contains the run's plan start; without one the
  message names the database, the run's span and scenario and says to create the cycle;
- the **scenario version** is the one of that name whose SHA-256 is the config's text (made
  self-contained as a scenario upload is, without its ``nightly:`` section, whose local paths
  and hook addresses stay out of the shared database); a text not yet stored becomes the
  scenario's next version, authored by the ``nightly`` account;
- a **run** of mode ``nightly``: ``done`` (its progress says DEGRADED and its ``error``
  holds the reasons when the job flagged the plan) or ``failed`` with the job's error;
- a planned run's **plan version** is stored by :func:`relay.service.plans.store_result` from
  the payload a service run stores (:func:`relay.service.engine.stored_payload`: the zipped
  plan folder, summary, sessions, passes, requests and the diff against the cycle's published
  version from the run's plan start on: the published sessions that end before it are history,
  not removed), so it notifies the teams it touches like any other.  The nightly job plans from
  its own inputs, not from the cycle's records: the version lists none as its inputs.

The ``nightly`` account is made on first use: inactive, no password, role viewer (it logs in
nowhere and hears no notification); an account of that name that exists is used as it is.
"""
from __future__ import annotations

import hashlib
import tempfile
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import yaml
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from ..api import load_scenario
from ..errors import RelayInputError
from ..timescales import utc_to_tdb_s
from . import engine, plans
from .models import Cycle, PlanVersion, Profile, Run, ScenarioVersion
from .records import audit, now

#: the account that authors what the nightly job records
NIGHTLY_USER = "nightly"
#: the most of a run's degraded reasons its progress line names
PROGRESS_CHARS = 200


def check_database(label: str, upgrade: str) -> None:
    """A :class:`RelayInputError` naming the database (``label``) unless it answers and its
    schema is the current one (``upgrade``: the ``relay db upgrade`` command that fixes it)."""
    try:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as exc:
        why = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise RelayInputError(f"cannot read the relay service's database ({why}); expected a running database made "
                              f"by `{upgrade}` (check the URL, the server and the password)",
                              source=label, where="--db") from None
    if pending:
        first = pending[0][0]
        raise RelayInputError(f"the relay service's database is not migrated ({len(pending)} migration(s) pending, "
                              f"the first {first.app_label}.{first.name}); run `{upgrade}` first",
                              source=label, where="--db")


def scenario_text(config) -> str:
    """The config as the self-contained text a scenario upload keeps, without ``nightly:``."""
    data = yaml.safe_load(engine.scenario_text(config))
    data.pop("nightly", None)
    return yaml.safe_dump(data, sort_keys=False)


def contains(cycle: Cycle, start: datetime) -> bool:
    return cycle.start <= start < cycle.start + timedelta(days=cycle.days)


def cycle_for(name: str, start: datetime, outcome: dict, sha: str, label: str) -> Cycle:
    """The newest open cycle of scenario ``name`` whose span contains ``start``; else the message."""
    cycles = Cycle.objects.filter(scenario__name=name).order_by("-start", "-pk")
    found = [c for c in cycles if c.status != "closed" and contains(c, start)]
    if found:
        return found[0]
    closed = [c for c in cycles if contains(c, start)]
    others = "; ".join(f"{c.name!r} from {c.start:%Y-%m-%dT%H:%MZ} for {c.days:g} d ({c.status})"
                       for c in (closed or list(cycles))[:3])
    raise RelayInputError(
        f"no planning cycle takes nightly run {outcome['run_id']} (scenario {name!r}, the config's name, text "
        f"sha256 {sha[:12]}; plans {outcome.get('plan_start')} to {outcome.get('plan_end')}): expected a cycle of "
        f"scenario {name!r}, not closed, whose span contains {outcome.get('plan_start')}"
        + (f" (the scenario's cycles: {others})" if others else " (the database has no cycle of that scenario)")
        + "; create that cycle in the service (POST /api/cycles as a coordinator); the run stays archived",
        source=label, where="--db")


def nightly_account():
    """The ``nightly`` account (made on first use: inactive, no password, role viewer)."""
    user, made = get_user_model().objects.get_or_create(username=NIGHTLY_USER, defaults={"is_active": False})
    if made:
        user.set_unusable_password()
        user.save()
        Profile.objects.get_or_create(user=user, defaults={"role": "viewer"})
    return user


def scenario_version(name: str, text: str, sha: str, sc, user) -> ScenarioVersion:
    """The stored version of ``name`` with this text, or its next version (inside a transaction)."""
    sv = ScenarioVersion.objects.filter(name=name, sha256=sha).order_by("-number").first()
    if sv is not None:
        return sv
    last = ScenarioVersion.objects.filter(name=name).order_by("-number").first()
    sv = ScenarioVersion.objects.create(name=name, number=(last.number + 1) if last else 1, text=text, sha256=sha,
                                        author=user, **engine.scenario_names(sc))
    audit(user, "scenario.create", sv, None)
    return sv


def payload_of(result, plan_dir: Path, cycle: Cycle) -> tuple[dict, PlanVersion | None]:
    """What a service run stores of the run's plan, its diff against the cycle's published version
    taken from the run's plan start (the published sessions that end before it are history)."""
    published = plans.published_of(cycle)
    with tempfile.TemporaryDirectory(dir=engine.scratch_folder()) as tmp:
        old = engine.published_result(bytes(published.files) if published else None, Path(tmp) / "published")
        if old is not None:
            ses = old.sessions
            old = replace(old, sessions=ses[ses["end_tdb_s"].astype(float) > utc_to_tdb_s(result.summary.start)]
                          .reset_index(drop=True))
        return engine.stored_payload(result, plan_dir, old), published


def run_fields(outcome: dict) -> dict:
    """The Run row's status, progress and error of a nightly outcome (before its plan's number)."""
    started = datetime.fromisoformat(outcome["started"].replace("Z", "+00:00"))
    finished = now()
    fields = {"mode": "nightly", "started": started, "finished": finished,
              "seconds": round((finished - started).total_seconds(), 3)}
    if outcome.get("status") == "failed":
        return {**fields, "status": "failed", "progress": f"nightly run {outcome['run_id']} failed",
                "error": outcome.get("error") or ""}
    reasons = outcome.get("reasons") or []
    return {**fields, "status": "done", "progress": "", "error": "\n".join(f"degraded: {r}" for r in reasons)}


def record(outcome: dict, result, *, config: str, label: str, upgrade: str) -> str:
    """Record an archived nightly run (``outcome``: :func:`relay.nightly.job.run_nightly`'s; ``result``
    its PlanResult, None for a failed run) in the service's database; returns the line to print."""
    check_database(label, upgrade)
    if not outcome.get("plan_start"):
        return "not recorded in the service: the run failed before its planning span was known"
    sc = load_scenario(config)
    text = scenario_text(config)
    sha = hashlib.sha256(text.encode()).hexdigest()
    start = datetime.fromisoformat(outcome["plan_start"].replace("Z", "+00:00"))
    cycle = cycle_for(sc.name, start, outcome, sha, label)
    payload, published = payload_of(result, Path(outcome["plan_dir"]), cycle) if result is not None else (None, None)
    with transaction.atomic():
        user = nightly_account()
        sv = scenario_version(sc.name, text, sha, sc, user)
        run = Run.objects.create(cycle=cycle, requested_by=user, **run_fields(outcome))
        audit(user, "run.create", run, None, cycle.pk)
        if payload is None:
            return f"recorded in the service: cycle {cycle.name!r}, failed run {run.pk}"
        plan = plans.store_result(run, payload, {"inputs": {}, "base": None, "published": published,
                                                 "scenario": sv, "changes": []})
        flag = f"; DEGRADED (nightly run {outcome['run_id']})" if outcome.get("status") == "degraded" else ""
        run.progress = f"plan version {plan.number} stored{flag}"[:PROGRESS_CHARS]
        run.save(update_fields=["progress"])
    return (f"recorded in the service: cycle {cycle.name!r} plan version {plan.number} (id {plan.pk}, run {run.pk}, "
            f"scenario {sv.name!r} version {sv.number})")
