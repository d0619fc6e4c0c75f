"""The JSON API under ``/api/`` (django-ninja; OpenAPI at ``/api/openapi.json``).

Routers: :mod:`~relay.service.routes_accounts`, :mod:`~relay.service.routes_records`,
:mod:`~relay.service.routes_plans`.  Errors answer one JSON paragraph ``{"detail": ...}``:
a user's mistake (the command line's message: file or field, row, value, what is
expected) 400, a malformed or unknown field 422, no login 401, no right 403, no record 404,
an edit at a stale version 409 with the current record.  Nothing is stored on an error.
"""
from __future__ import annotations

from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import ValidationError

from ..errors import RelayInputError
from . import routes_accounts, routes_plans, routes_records
from .apiutil import public
from .records import Conflict, Denied

api = NinjaAPI(title="relay service", version="1", urls_namespace="relay-api", docs_url=None,
               description="The shared relay database: planning cycles, relay requests, unavailability, "
                           "vetoes, locks, planning runs, plan versions, review and publication.")
api.add_router("/", routes_accounts.router)
api.add_router("/", routes_records.router)
api.add_router("/", routes_plans.router)


def validation_text(errors: list[dict]) -> str:
    """One paragraph for the body's schema errors (field path: what is wrong)."""
    parts = []
    for e in errors[:5]:
        loc = ".".join(str(x) for x in e.get("loc", ()) if x not in ("body", "query", "path", "payload"))
        msg = e.get("msg", "invalid")
        if e.get("type") == "extra_forbidden":
            msg = "unknown field; expected only the fields the API describes (/api/openapi.json)"
        parts.append(f"{loc or 'request body'}: {msg}")
    return "request body: " + "; ".join(parts)


@api.exception_handler(RelayInputError)
def input_error(request, exc):
    return api.create_response(request, {"detail": str(exc)}, status=400)


@api.exception_handler(ValidationError)
def schema_error(request, exc):
    return api.create_response(request, {"detail": validation_text(exc.errors)}, status=422)


@api.exception_handler(Denied)
def denied(request, exc):
    return api.create_response(request, {"detail": str(exc)}, status=403)


@api.exception_handler(Http404)
def not_found(request, exc):
    return api.create_response(request, {"detail": str(exc) or "not found"}, status=404)


@api.exception_handler(Conflict)
def conflict(request, exc):
    cur = exc.current
    body = {"detail": f"{type(cur).__name__} {cur.pk} is at version {cur.version}: it changed since you read it; "
                      "expected the current version (below)",
            "current": public(cur, ("files", "sessions", "passes", "requests", "inputs"))}
    return api.create_response(request, body, status=409)
