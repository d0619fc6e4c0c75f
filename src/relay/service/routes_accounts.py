"""API routes of accounts: log in and out, script tokens, teams and users, notifications, audit."""
from __future__ import annotations

from typing import Optional

from axes.exceptions import AxesBackendPermissionDenied
from django.contrib.auth import authenticate, get_user_model, login, logout
from django.db import transaction
from django.http import JsonResponse
from django.middleware.csrf import get_token
from ninja import Query, Router, Schema
from ninja.utils import check_csrf

from ..errors import RelayInputError
from ..timescales import parse_utc
from . import notify
from .apiutil import AUTH, Filters, check_query, choice, filters_of, forget_token, get, guard, listing, public
from .models import ApiToken, AuditEvent, Profile, Team
from .permissions import role_of, team_names
from .records import audit, create_token, revoke_token
from .schemas import LoginIn, SeenIn, TeamIn, TokenIn, UserIn

router = Router(tags=["accounts"])


@router.get("/auth/csrf", auth=None)
def csrf_token(request):
    """The CSRF token (also set as the ``relay_csrftoken`` cookie) that ``POST /api/auth/login``
    and every unsafe call on the session need in the ``X-CSRFToken`` header."""
    return {"csrftoken": get_token(request)}


@router.post("/auth/login", auth=None)
def log_in(request, body: LoginIn):
    """Log in (a session cookie).  Django's CSRF check applies, as on the log-in form: first
    ``GET /api/auth/csrf``, then send its token as ``X-CSRFToken`` with the cookie (no page of
    another site can log a browser into an account of its choosing).  Attempts are rate-limited
    per user name and address (429).  Scripts then make a token (``POST /api/tokens``)."""
    refused = check_csrf(request)
    if refused is not None:
        return JsonResponse({"detail": "CSRF check failed: log-in needs the relay_csrftoken cookie and its token in "
                                       "the X-CSRFToken header; expected GET /api/auth/csrf first"}, status=403)
    try:
        user = authenticate(request, username=body.username, password=body.password)
    except AxesBackendPermissionDenied:
        user = None
    if getattr(request, "axes_locked_out", False):
        return JsonResponse({"detail": "too many failed log-in attempts; try again later"}, status=429)
    if user is None:
        return JsonResponse({"detail": "user name or password not recognised"}, status=401)
    login(request, user)
    return {"username": user.username, "role": role_of(user), "csrftoken": get_token(request)}


@router.post("/auth/logout", auth=AUTH)
def log_out(request):
    guard(request, "self.read")
    logout(request)
    return {"ok": True}


@router.get("/auth/me", auth=AUTH)
def me(request):
    guard(request, "self.read")
    u = request.user
    return {"username": u.username, "role": role_of(u), "team_names": sorted(team_names(u)),
            "csrftoken": get_token(request)}


# ----------------------------------------------------------------------------- tokens
@router.get("/tokens", auth=AUTH)
def list_tokens(request):
    guard(request, "self.read")
    check_query(request, None)
    rows = [public(t, ("digest",)) for t in ApiToken.objects.filter(user=request.user).order_by("pk")]
    return {"count": len(rows), "items": rows}


@router.post("/tokens", auth=AUTH)
def new_token(request, body: TokenIn):
    """A script token, shown once (send it as ``Authorization: Bearer <token>``)."""
    guard(request, "self.read")
    t, key = create_token(request.user, body.name)
    return {"id": t.pk, "name": t.name, "token": key}


@router.delete("/tokens/{token_id}", auth=AUTH)
def delete_token(request, token_id: int):
    guard(request, "self.read")
    t = get(ApiToken, token_id, user=request.user)
    revoke_token(request.user, t)
    forget_token(t.digest)
    return {"id": t.pk, "revoked": True}


# ----------------------------------------------------------------------------- teams and users
TEAM_FILTERS = filters_of("Team", "kind", "asset", "orbiter")


@router.get("/teams", auth=AUTH)
def list_teams(request, f: Query[TEAM_FILTERS]):  # type: ignore[valid-type]
    """Teams: of a kind (orbiter, lander), speaking for an asset or an orbiter."""
    guard(request, "self.read")
    check_query(request, f)
    q = Team.objects.order_by("name")
    if choice(f.kind, ("orbiter", "lander"), "kind"):
        q = q.filter(kind=f.kind)
    rows = [public(t) for t in q if all(n in t.names for n in (f.asset, f.orbiter) if n)]
    return listing(rows, f, "teams")


@router.post("/teams", auth=AUTH)
def new_team(request, body: TeamIn):
    guard(request, "accounts.manage")
    with transaction.atomic():
        t = Team.objects.create(name=body.name, kind=body.kind, names=body.names, author=request.user)
        audit(request.user, "team.create", t, None)
    return public(t)


@router.get("/users", auth=AUTH)
def list_users(request):
    guard(request, "accounts.manage")
    check_query(request, None)
    rows = [{"id": p.user.pk, "username": p.user.username, "role": p.role, "team": p.team.name if p.team else None}
            for p in Profile.objects.select_related("user", "team").order_by("user__username")]
    return {"count": len(rows), "items": rows}


@router.post("/users", auth=AUTH)
def new_user(request, body: UserIn):
    guard(request, "accounts.manage")
    team = Team.objects.filter(name=body.team).first() if body.team else None
    if body.team and team is None:
        raise RelayInputError(f"got {body.team!r}, expected the name of a team", source="request body", where="team")
    with transaction.atomic():
        u = get_user_model().objects.create_user(body.username, password=body.password,
                                                 is_staff=body.role == "admin", is_superuser=body.role == "admin")
        p = Profile.objects.create(user=u, role=body.role, team=team)
        audit(request.user, "user.create", p, None)
    return {"id": u.pk, "username": u.username, "role": p.role}


# ----------------------------------------------------------------------------- notifications and audit
@router.get("/notifications", auth=AUTH)
def notifications(request, all: bool = False, seen: Optional[bool] = None, cycle: Optional[int] = None,
                  format: str = "json"):
    """My notifications not yet marked seen (``seen=true``: those marked seen, ``seen=false``: not
    yet, ``all``: every one), of a cycle; newest first."""
    guard(request, "self.read")
    check_query(request, None, "all", "seen", "cycle", "format")
    q = request.user.relay_notifications.order_by("-created", "-pk")
    if seen is not None:
        q = q.filter(seen__isnull=not seen)
    elif not all:
        q = notify.unseen(request.user)
    if cycle is not None:
        q = q.filter(cycle_id=cycle)
    rows = [public(n) for n in q[:500]]
    return listing(rows, Filters(format=format), "notifications")


@router.post("/notifications/seen", auth=AUTH)
def notifications_seen(request, body: Optional[SeenIn] = None):
    """Mark seen my notifications ``ids`` (every one not yet seen without ``ids``); how many were marked."""
    guard(request, "self.read")
    return {"marked": notify.mark_seen(request.user, None if body is None else body.ids)}


class AuditFilters(Schema, frozen=True):
    cycle: Optional[int] = None
    model: Optional[str] = None
    who: Optional[str] = None
    since: Optional[str] = None
    until: Optional[str] = None
    format: str = "json"


@router.get("/audit", auth=AUTH)
def audit_log(request, f: Query[AuditFilters]):
    """Every change: who, what, when, before and after (coordinator and admin)."""
    guard(request, "audit.read")
    check_query(request, None, *AuditFilters.model_fields)
    q = AuditEvent.objects.select_related("who").order_by("pk")
    if f.cycle is not None:
        q = q.filter(cycle_id=f.cycle)
    if f.model:
        q = q.filter(model=f.model)
    if f.who:
        q = q.filter(who__username=f.who)
    if f.since:
        q = q.filter(when__gte=parse_utc(f.since, source="query", where="since"))
    if f.until:
        q = q.filter(when__lt=parse_utc(f.until, source="query", where="until"))
    rows = [{**public(e), "who": e.who.username if e.who else None} for e in q[:10000]]
    return listing(rows, f, "audit")
