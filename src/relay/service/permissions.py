"""Who may do what: plain functions of ``(user, role, record)``, and ONE table of them.

:data:`RULES` maps each action to its rule; :func:`allowed` looks the action up and
answers; :func:`role_of` and :func:`team_names` read a user's role and team.  Every API
route calls :func:`allowed` (or :func:`require`) before it reads or changes a record, so
that the matrix test (tests/test_service_permissions.py) walks one table.

Roles: ``coordinator`` (cycles, runs, review, publication; any team's records),
``orbiter`` (a team of one or more orbiters: their outages, vetoes and downlink bookings), ``lander`` (a team
of one or more assets: their relay requests, vetoes, asset outages and backlogs), ``viewer``
(reads), ``admin`` (accounts and teams; reads).  A team touches only the records of its
own orbiters or assets, and edits only records its team filed.
"""
from __future__ import annotations

from .models import Profile

READERS = ("coordinator", "orbiter", "lander", "viewer", "admin")
WRITERS = ("coordinator", "orbiter", "lander", "admin")


def role_of(user) -> str | None:
    """The user's role (None: anonymous or without a profile)."""
    if user is None or not user.is_authenticated:
        return None
    try:
        return user.relay.role
    except Profile.DoesNotExist:
        return "admin" if user.is_superuser else None


def team_names(user) -> set[str]:
    """The orbiters or assets of the user's team (empty without one)."""
    try:
        team = user.relay.team
    except (Profile.DoesNotExist, AttributeError):
        return set()
    return set(team.names) if team is not None else set()


def team_id(user):
    try:
        return user.relay.team_id
    except (Profile.DoesNotExist, AttributeError):
        return None


# ----------------------------------------------------------------------------- the rules
def anyone(user, role, record) -> bool:
    return role in READERS


def contributor(user, role, record) -> bool:
    return role in WRITERS


def coordinator(user, role, record) -> bool:
    return role == "coordinator"


def administrator(user, role, record) -> bool:
    return role == "admin"


def oversight(user, role, record) -> bool:
    return role in ("coordinator", "admin")


def entry_names(record) -> tuple[str, str]:
    """(asset, orbiter) an operational record concerns (an outage's target is either)."""
    f = record.fields
    if record.kind == "outage":
        target = f.get("target", "")
        return target, f.get("orbiter") or target
    return f.get("asset", ""), f.get("orbiter", "")


def team_may_file(user, role, record) -> bool:
    """A lander team: requests, vetoes, outages and backlogs of its own assets; an orbiter team:
    outages, vetoes and station bookings of its own orbiters; the coordinator: any record, locks
    included."""
    if role == "coordinator":
        return True
    asset, orbiter = entry_names(record)
    names = team_names(user)
    if role == "lander":
        return record.kind in ("request", "veto", "outage", "backlog") and bool(asset) and asset in names
    if role == "orbiter":
        return record.kind in ("outage", "veto", "booking") and bool(orbiter) and orbiter in names
    return False


def team_may_edit(user, role, record) -> bool:
    """Edit or withdraw: the coordinator, or the team that filed the record (and still may)."""
    if role == "coordinator":
        return True
    return record.team_id is not None and record.team_id == team_id(user) and team_may_file(user, role, record)


def team_may_report(user, role, record) -> bool:
    """Pass performance reports of a plan version (issue 22): the coordinator any; an orbiter team
    those of its own orbiters' sessions (it runs the pass and measures what came back); a lander
    team none (its data is what the report counts; what its rover says it got is a note for the
    orbiter team).  Without a report (the route itself): the coordinator and the orbiter teams."""
    if role == "coordinator":
        return True
    if role != "orbiter":
        return False
    return record is None or getattr(record, "orbiter", "") in team_names(user)


def own_record(user, role, record) -> bool:
    return role in WRITERS and record.author_id == user.id


#: action -> rule(user, role, record)
RULES = {
    "scenario.read": anyone, "scenario.create": oversight,
    "cycle.read": anyone, "cycle.create": coordinator, "cycle.edit": coordinator,
    "entry.read": anyone, "entry.create": team_may_file, "entry.edit": team_may_edit,
    "run.read": anyone, "run.create": coordinator,
    "plan.read": anyone, "plan.publish": coordinator,
    "actuals.read": anyone, "actuals.create": team_may_report,
    "comment.read": anyone, "comment.create": contributor, "comment.edit": own_record,
    "audit.read": oversight, "accounts.manage": administrator,
    "self.read": anyone,
}


def allowed(user, action: str, record=None) -> bool:
    """May ``user`` do ``action`` (a key of :data:`RULES`) on ``record``?"""
    return RULES[action](user, role_of(user), record)
