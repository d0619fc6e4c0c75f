"""The JSON API under ``/api/`` (django-ninja; OpenAPI at ``/api/openapi.json``).

Routers: :mod:`~relay.service.routes_accounts`, :mod:`~relay.service.routes_records`,
:mod:`~relay.service.routes_plans`, :mod:`~relay.service.routes_actuals`.  Errors answer one JSON
paragraph ``{"detail": ...}``:
a user's mistake (the command line's message: file or field, row, value, what is
expected) 400, a body that is not JSON 400, a filter a list does not take or of the wrong
type 400, a body field unknown, missing or of the wrong type 422, no login 401, no right
403, no record 404, an edit at a stale version 409 with the current record (and 409 for a plan
version whose run failed before it wrote its files).  Nothing is
stored on an error.
"""
from __future__ import annotations

from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import HttpError, ValidationError

from ..errors import RelayInputError, excerpt
from . import routes_accounts, routes_actuals, routes_plans, routes_records
from .apiutil import public
from .plans import FilesMissing
from .records import Conflict, Denied

api = NinjaAPI(title="relay service", version="1", urls_namespace="relay-api", docs_url=None,
               description="The shared relay database: planning cycles, relay requests, unavailability, "
                           "vetoes, locks, planning runs, plan versions, review and publication.")
api.add_router("/", routes_accounts.router)
api.add_router("/", routes_records.router)
api.add_router("/", routes_plans.router)
api.add_router("/", routes_actuals.router)


def validation_text(errors: list[dict], query=None) -> str:
    """One paragraph for the schema errors of the body or the query (field path: the value
    given, from ``query`` for a query's, what is wrong)."""
    parts = []
    for e in errors[:5]:
        loc = ".".join(str(x) for x in e.get("loc", ()) if x not in ("body", "query", "path", "payload", "f"))
        msg = e.get("msg", "invalid")
        if e.get("type") == "extra_forbidden":
            msg = "unknown field; expected only the fields the API describes (/api/openapi.json)"
        elif e.get("type") != "missing" and query is not None and (e.get("loc") or ("",))[0] == "query":
            msg = f"got {excerpt(query.get(loc, ''))}: {msg}"
        parts.append(f"{loc or 'request body'}: {msg}")
    return f"{where_of(errors)}: " + "; ".join(parts)


def where_of(errors: list[dict]) -> str:
    """``query`` when every error is in the URL's query, ``request body`` otherwise."""
    places = {(e.get("loc") or ("body",))[0] for e in errors}
    return "query" if places == {"query"} else "URL" if places == {"path"} else "request body"


@api.exception_handler(RelayInputError)
def input_error(request, exc):
    return api.create_response(request, {"detail": str(exc)}, status=400)


@api.exception_handler(FilesMissing)
def files_missing(request, exc):
    """A plan version's files its run failed to write: the version conflicts with the request."""
    return api.create_response(request, {"detail": str(exc)}, status=409)


@api.exception_handler(ValidationError)
def schema_error(request, exc):
    """A body not of the schema: 422; a filter of the wrong type (``sol=abc``): 400, as every
    other bad filter."""
    status = 400 if where_of(exc.errors) == "query" else 422
    return api.create_response(request, {"detail": validation_text(exc.errors, request.GET)}, status=status)


@api.exception_handler(HttpError)
def http_error(request, exc):
    """ninja's own refusals; a body that is not JSON gets the parser's reason and what is expected."""
    cause = exc.__cause__
    if exc.status_code == 400 and cause is not None:
        text = (f"request body: is not JSON ({str(cause)[:120]}); expected one JSON object with the "
                "fields the API describes (/api/openapi.json)")
        return api.create_response(request, {"detail": text}, status=400)
    return api.create_response(request, {"detail": str(exc)}, status=exc.status_code)


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
