"""What every page of the service shares: rendering with the layout, the login check, the
cycle and its clocks (times shown in UTC and in sol + LMST of the asset), form errors.

The pages go through the same permission table and record functions as the API
(:mod:`relay.service.permissions`, :mod:`relay.service.records`): a refused action answers
403 with a page, a user's mistake the command line's one-paragraph message beside the field.
"""
from __future__ import annotations

import re
from functools import lru_cache, wraps
from importlib.metadata import version

from django.http import Http404
from django.shortcuts import redirect, render

from ..errors import RelayInputError
from ..outputs.report import BASIC_BUNDLE, plotly_basic_js
from ..timescales import parse_utc, utc_to_tdb_s
from . import engine, records
from .models import Cycle, PlanVersion, ScenarioVersion
from .permissions import allowed, role_of, team_names

#: the columns of a plan version that pages seldom need (left in the database)
HEAVY = ("files", "sessions", "passes", "requests", "diff", "inputs")
_COLUMN = re.compile(r"column (\w+)")


@lru_cache(maxsize=2)
def plotly_name(webgl: bool = False) -> str:
    """The name plotly.js is served under, carrying its version so that a browser may keep it for
    good (a new plotly is a new name): plotly.js's basic bundle (:data:`relay.outputs.report.BASIC_BUNDLE`)
    when it is the installed plotly's plotly.js version and no WebGL trace is drawn, else the
    installed plotly's full bundle, ``plotly-<version>.min.js``."""
    if not webgl and plotly_basic_js() is not None:
        return BASIC_BUNDLE
    return f"plotly-{version('plotly')}.min.js"


def login_required(view):
    """The page for a logged-in user with a role; else the log-in page."""
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect(f"/login?next={request.path}")
        return view(request, *args, **kwargs)
    return wrapped


def page(request, template: str, ctx: dict, status: int = 200):
    """Render ``template`` (under templates/service/) with the layout's context."""
    user = request.user if request.user.is_authenticated else None
    base = {"user": user, "role": role_of(user) if user else None, "team": sorted(team_names(user)) if user else [],
            "path": request.path, "allowed": lambda action, rec=None: allowed(request.user, action, rec),
            "plotly_ahead": plotly_name()}
    return render(request, f"service/{template}", {**base, **ctx}, status=status)


def refused(request, message: str):
    """The 403 page (the same refusal the API answers)."""
    return page(request, "refused.html", {"title": "Not allowed", "message": message}, status=403)


def cycle_of(cycle_id: int) -> Cycle:
    c = Cycle.objects.select_related("scenario").filter(pk=cycle_id).first()
    if c is None:
        raise Http404(f"no cycle {cycle_id}")
    return c


def plan_header(plan_id: int) -> PlanVersion:
    p = PlanVersion.objects.defer(*HEAVY).select_related("cycle").filter(pk=plan_id).first()
    if p is None:
        raise Http404(f"no plan version {plan_id}")
    return p


def scenario(sv: ScenarioVersion):
    return records.scenario_of(sv)


@lru_cache(maxsize=32)
def clocks(scenario_id: int) -> dict:
    """Each asset's sol clock of a stored scenario version (immutable: kept per process)."""
    return engine.asset_clocks(records.scenario_of(ScenarioVersion.objects.get(pk=scenario_id)))


def utc_text(iso: str | None) -> str:
    """``2026-12-08 10:00:00 UTC`` of an ISO time (seconds, no fraction)."""
    if not iso:
        return ""
    return str(iso).replace("T", " ")[:19] + " UTC"


def sol_text(scenario_id: int, asset: str, iso: str | None) -> str:
    """``sol 1234 13:05:10 LMST`` of an instant at ``asset`` (empty for a name without a clock)."""
    clock = clocks(scenario_id).get(asset)
    if clock is None or not iso:
        return ""
    t = utc_to_tdb_s(parse_utc(str(iso), source=None))
    return f"sol {int(clock.sol(t))} {clock.lmst(t)[0]} LMST"


def when(scenario_id: int, asset: str, iso: str | None) -> str:
    """An instant in UTC and, for an asset, in its sol and LMST."""
    s = sol_text(scenario_id, asset, iso)
    return utc_text(iso) + (f" (sol {s[4:]} at {asset})" if s else "")


def field_of(exc: RelayInputError, fields) -> str:
    """The form field a reader's message is about (its ``column X``, or the column its text
    starts with), else ``""`` (the message stands above the form)."""
    m = _COLUMN.search(exc.where or "")
    name = m.group(1) if m else (exc.detail or "").split(" ", 1)[0]  # "orbiter 'X' is not in the scenario"
    return name if name in fields else ""


def typed(post, names) -> dict[str, str]:
    """The cells the person typed (stripped, capped), for the reader and to show them again."""
    return {n: post.get(n, "").strip()[:2000] for n in names}


def latest_plan(cycle: Cycle, *keep: str) -> PlanVersion | None:
    """The cycle's published plan, else its newest version (heavy columns but ``keep`` deferred)."""
    q = PlanVersion.objects.filter(cycle=cycle).defer(*(c for c in HEAVY if c not in keep))
    return q.filter(status="published").first() or q.order_by("-number").first()
