"""The service's pages outside a cycle: log in and out (a form with Django's CSRF protection;
attempts rate-limited by django-axes), the home page of each role, the audit log, and the
page scripts (the vendored script and plotly.js, served from the package: no CDN)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from axes.exceptions import AxesBackendPermissionDenied
from django.contrib.auth import authenticate, login, logout
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from ..outputs.report import BASIC_BUNDLE, plotly_basic_js, plotly_js
from . import notify
from .models import AuditEvent, Cycle, Entry, Run
from .pages_common import latest_plan, login_required, page, plotly_name, refused, when
from .permissions import allowed, role_of, team_names
from .records import iso

STATIC = Path(__file__).resolve().parent / "static"
#: the scripts the pages load (name -> content type)
SCRIPTS = {"relay-pages.js": "text/javascript; charset=utf-8"}


@require_http_methods(["GET", "POST"])
def login_page(request):
    nxt = request.POST.get("next") or request.GET.get("next") or "/"
    if not url_has_allowed_host_and_scheme(nxt, allowed_hosts=None) or not nxt.startswith("/"):
        nxt = "/"
    ctx = {"title": "relay service: log in", "username": "", "error": "", "next": nxt}
    if request.method == "POST":
        name = request.POST.get("username", "")[:150]
        try:
            user = authenticate(request, username=name, password=request.POST.get("password", ""))
        except AxesBackendPermissionDenied:
            user = None
        if getattr(request, "axes_locked_out", False):
            ctx.update(username=name, error="Too many failed log-in attempts; try again later.")
            return page(request, "login.html", ctx, status=429)
        if user is None:
            ctx.update(username=name, error="User name or password not recognised.")
            return page(request, "login.html", ctx, status=401)
        login(request, user)
        return redirect(nxt)
    if request.user.is_authenticated:
        return redirect("home")
    return page(request, "login.html", ctx)


@require_http_methods(["POST"])
def logout_page(request):
    logout(request)
    return redirect("login")


def request_status(plan, rid: str) -> dict | None:
    for r in (plan.requests if plan is not None else []):
        if r.get("id") == rid:
            return r
    return None


def my_requests(user, cycles) -> list[dict]:
    names = team_names(user)
    out = []
    for c in cycles:
        plan = latest_plan(c, "requests")
        for e in Entry.objects.filter(cycle=c, kind="request", withdrawn=False, asset__in=names).order_by("pk"):
            st = request_status(plan, e.fields.get("id"))
            out.append({"cycle": c, "entry": e, "plan": plan, "status": st,
                        "start": when(c.scenario_id, e.asset, iso(e.start))})
    return out


def outages_over_mine(user, cycles) -> list[dict]:
    """Outages of the user's orbiters or assets, or over passes of them (the latest plan's
    overflights, used or not), with how many of those passes each one covers."""
    names = team_names(user)
    out = []
    for c in cycles:
        plan = latest_plan(c, "passes")
        passes = [p for p in (plan.passes if plan is not None else []) if names & {p["orbiter"], p["asset"]}]
        for e in Entry.objects.filter(cycle=c, kind="outage", withdrawn=False).order_by("start"):
            lo, hi = iso(e.start) or "", iso(e.end) or "9999"
            target = e.fields.get("target")
            mine = [p for p in passes if target in (p["orbiter"], p["asset"]) and p["rise"] < hi and p["set"] > lo]
            if target in names or mine:
                out.append({"cycle": c, "entry": e, "hits": len(mine)})
    return out


@login_required
def home(request):
    """What needs my attention: notifications, my requests, outages over my passes, deadlines."""
    user, role = request.user, role_of(request.user)
    cycles = list(Cycle.objects.exclude(status="closed").select_related("scenario").order_by("-start", "-pk")[:20])
    ctx = {"title": f"relay service: {role or 'no role'}", "cycles": cycles,
           "notifications": list(notify.unseen(user)[:30]) if role else [],
           "requests": my_requests(user, cycles) if role == "lander" else [],
           "outages": outages_over_mine(user, cycles) if role in ("lander", "orbiter") else [],
           "runs": list(Run.objects.filter(status__in=("queued", "running")).order_by("-pk")[:10])
           if role == "coordinator" else []}
    return page(request, "home.html", ctx)


@login_required
def audit_page(request):
    """Who changed what, filterable by user, action, model and cycle."""
    if not allowed(request.user, "audit.read"):
        return refused(request, "audit.read is not allowed for this account")
    q = AuditEvent.objects.select_related("who").order_by("-when", "-pk")
    f = {k: request.GET.get(k, "").strip()[:100] for k in ("who", "action", "model", "cycle")}
    if f["who"]:
        q = q.filter(who__username=f["who"])
    if f["action"]:
        q = q.filter(action__startswith=f["action"])
    if f["model"]:
        q = q.filter(model=f["model"])
    if f["cycle"].isdigit():
        q = q.filter(cycle_id=int(f["cycle"]))
    return page(request, "audit.html", {"title": "Audit log", "events": list(q[:300]), "f": f})


@lru_cache(maxsize=4)
def static_bytes(name: str) -> bytes:
    if name == "plotly.min.js":
        return plotly_js().encode("utf-8")
    if name == BASIC_BUNDLE:
        return (plotly_basic_js() or "").encode("utf-8")
    return (STATIC / name).read_bytes()


#: how long a browser keeps a script: plotly.js under its versioned name for good (a new plotly
#: is a new name), the others an hour
KEEP_FOR_GOOD = "public, max-age=31536000, immutable"


def static_file(request, name: str):
    """The pages' scripts, from the package (plotly.js from the installed plotly, or the basic
    bundle vendored beside the pages' script when it is the same plotly.js version)."""
    versioned = (plotly_name(), plotly_name(webgl=True))
    if name not in SCRIPTS and name != "plotly.min.js" and name not in versioned:
        raise Http404(name)
    full = name == plotly_name(webgl=True)  # the installed plotly's bundle under its versioned name
    resp = HttpResponse(static_bytes("plotly.min.js" if full else name), content_type="text/javascript; charset=utf-8")
    resp["Cache-Control"] = KEEP_FOR_GOOD if name in versioned else "max-age=3600"
    return resp
