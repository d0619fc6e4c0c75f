"""What every API route shares: authentication, the permission check, errors, filters, CSV.

:data:`AUTH` accepts a script token (``Authorization: Bearer rly_...``, revocable, only its
hash stored) or the session cookie (with Django's CSRF check on unsafe methods).
:func:`guard` runs the permission table (:mod:`relay.service.permissions`) and answers 403.
:func:`listing` answers a list as JSON or, with ``format=csv``, as a formula-safe CSV
file; :func:`filters_of` makes a list's query schema of the filters that apply to its rows,
:func:`check_query` refuses any other (400), :func:`filtered` applies the common ones (asset,
orbiter, sol, time span).

A plan version's tables never change once stored, so their answers are kept per process
(:func:`keep_answer`: the body, its ETag, the record and the action that guard it) and a
repeated read with a script token is answered by :class:`KeptAnswers`, a middleware in front
of the session, CSRF and URL machinery, after the same token look-up and the same permission
check on the same record as the route (a conditional GET with the ETag answers 304).
"""
from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from typing import Any, NamedTuple, Optional

from django.http import Http404, HttpResponse
from django.utils.cache import get_conditional_response
from django.utils.http import quote_etag
from ninja import Schema
from ninja.security import HttpBearer, django_auth
from pydantic import Field, create_model

from ..errors import RelayInputError, excerpt
from ..timescales import parse_utc
from .csvexport import csv_response
from .models import ApiToken
from .permissions import allowed
from .records import Denied, iso, snapshot, token_digest


#: seconds a token's look-up is reused by this process (a revocation here takes effect at
#: once; in another service process sharing the database, within this time)
TOKEN_TTL_S = 2.0
_TOKENS: dict[str, tuple[float, object]] = {}


def forget_token(digest: str) -> None:
    _TOKENS.pop(digest, None)


def token_user(token: str):
    """The active user of a script token (None: unknown, revoked or of an inactive account),
    looked up in the database at most once every :data:`TOKEN_TTL_S` seconds."""
    digest = token_digest(token)
    hit = _TOKENS.get(digest)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    found = list(ApiToken.objects.select_related("user", "user__relay", "user__relay__team")
                 .filter(digest=digest, revoked__isnull=True)[:1])
    t = found[0] if found else None
    if t is None or not t.user.is_active:
        forget_token(digest)
        return None
    if len(_TOKENS) > 10000:
        _TOKENS.clear()
    _TOKENS[digest] = (time.monotonic() + TOKEN_TTL_S, t.user)
    return t.user


class TokenAuth(HttpBearer):
    def authenticate(self, request, token):
        user = token_user(token)
        if user is not None:
            request.user = user
        return user


AUTH = [TokenAuth(), django_auth]


def guard(request, action: str, record=None) -> None:
    """403 unless the permission table lets this user do ``action`` on ``record``."""
    if not allowed(request.user, action, record):
        raise Denied(f"{action} is not allowed for this account on this record")


def get(model, pk: int, **kw):
    obj = model.objects.filter(pk=pk, **kw).first()
    if obj is None:
        raise Http404(f"no {model.__name__} {pk}")
    return obj


#: every filter a list may take: name -> (type, default, what it keeps); each list route takes
#: the ones that make sense for its rows (:func:`filters_of`), and answers 400 for any other
FILTER_FIELDS: dict[str, tuple[Any, Any, str]] = {
    "cycle": (Optional[int], None, "rows of this planning cycle (its id)"),
    "scenario": (Optional[str], None, "rows of this scenario (its name)"),
    "kind": (Optional[str], None, "rows of this kind"),
    "status": (Optional[str], None, "rows with this status"),
    "asset": (Optional[str], None, "rows of this asset (lander)"),
    "orbiter": (Optional[str], None, "rows of this orbiter"),
    "sol": (Optional[int], None, "rows in this sol of their asset (at their start)"),
    "start": (Optional[str], None, "rows ending after this ISO 8601 UTC time (with Z)"),
    "end": (Optional[str], None, "rows starting before this ISO 8601 UTC time (with Z)"),
    "withdrawn": (bool, False, "also the withdrawn records"),
    "format": (str, "json", "json, or csv for the CSV file"),
}


class FilterSet(Schema, frozen=True):
    """The base of a list's filters (frozen: a plan table's answer is kept per filter set)."""

    def get(self, name: str, default=None):
        return getattr(self, name, default)

    @classmethod
    def names(cls) -> list[str]:
        return list(cls.model_fields)


def filters_of(label: str, *names: str) -> type[FilterSet]:
    """The query schema of a list taking the filters ``names`` (and ``format``)."""
    fields = {n: (FILTER_FIELDS[n][0], Field(FILTER_FIELDS[n][1], description=FILTER_FIELDS[n][2]))
              for n in (*names, "format")}
    return create_model(f"{label}Filters", __base__=FilterSet, **fields)


#: every filter (a list of plain rows: names, sol, span; also made by code, e.g. ``Filters(format="csv")``)
Filters = filters_of("All", "cycle", "asset", "orbiter", "sol", "start", "end")
#: the filters of the rows of a span: plan tables, overflights
SPAN_FILTERS = ("asset", "orbiter", "sol", "start", "end")


def check_query(request, f: FilterSet | None, *extra: str) -> None:
    """400 for a query parameter this list does not take: a filter that does not apply to its
    rows (``sol`` of a list of cycles) or a misspelt one is refused, not silently ignored."""
    known = [*(f.names() if f is not None else ()), *extra]
    for key in request.GET:
        if key not in known:
            value = excerpt(request.GET.get(key, ""))
            expected = f"one of its filters: {', '.join(known)}" if known else "no query parameters"
            raise RelayInputError(f"got {key}={value}, but {request.path} takes no filter {key!r}; expected "
                                  f"{expected}", source="query", where=key)


def choice(value: str | None, allowed, where: str) -> str | None:
    """A filter's value among ``allowed`` (400 otherwise)."""
    if value is not None and value not in allowed:
        raise RelayInputError(f"got {excerpt(value)}, expected one of {', '.join(allowed)}", source="query",
                              where=where)
    return value


def span_of(f: FilterSet) -> tuple[str, str]:
    """The filter's span as ISO text (checked by relay's time reader; the end after the start)."""
    lo = iso(parse_utc(f.get("start"), source="query", where="start")) if f.get("start") else ""
    hi = iso(parse_utc(f.get("end"), source="query", where="end")) if f.get("end") else "9999"
    if lo and f.get("end") and hi <= lo:
        raise RelayInputError(f"got end={f.get('end')!r} with start={f.get('start')!r}; expected an end after the "
                              "start", source="query", where="end")
    return lo, hi


def overlaps(s, e, lo: str, hi: str) -> bool:
    """Does the row span [s, e] (ISO text; a point when e == s; None: open) meet [lo, hi)?"""
    s, e = str(s or ""), str(e or "9999")
    return s < hi and (e > lo or (e == s and s >= lo))


def filtered(rows: list[dict], f: FilterSet, start_key: str = "start", end_key: str = "end") -> list[dict]:
    """Rows (dicts) kept by the filters: names, sol and overlap with the span."""
    lo, hi = span_of(f)
    asset, orbiter, sol = f.get("asset"), f.get("orbiter"), f.get("sol")
    spanned = bool(f.get("start") or f.get("end"))
    out = []
    for r in rows:
        if asset and r.get("asset") != asset:
            continue
        if orbiter and r.get("orbiter") != orbiter:
            continue
        if sol is not None and r.get("sol") != sol:
            continue
        if spanned and not overlaps(r.get(start_key), r.get(end_key), lo, hi):
            continue
        out.append(r)
    return out


def listing(rows: list[dict], f: Filters, name: str, columns: list[str] | None = None):
    """The rows as JSON, or as ``name``.csv with ``format=csv``."""
    if f.format == "csv":
        return csv_response(rows, f"{name}.csv", columns)
    if f.format != "json":
        raise RelayInputError(f"got {excerpt(f.format)}, expected json or csv", source="query", where="format")
    return {"count": len(rows), "items": rows}


def public(obj, drop: tuple = ()) -> dict:
    """A record as JSON (its columns, without ``drop``)."""
    return {k: v for k, v in snapshot(obj).items() if k not in drop}


# ----------------------------------------------------------------------------- kept answers
class Answer(NamedTuple):
    """A read's answer kept for repeats: what it says, and what guards it (``action`` on ``record``)."""
    body: bytes
    content_type: str
    disposition: str
    etag: str
    record: Any
    action: str


def etag_of(body: bytes) -> str:
    return quote_etag(hashlib.sha256(body).hexdigest())


#: answers kept per process: (path, query string) -> Answer, the latest :data:`ANSWERS_KEPT`
ANSWERS_KEPT = 256
_ANSWERS: OrderedDict[tuple[str, str], Answer] = OrderedDict()
_ANSWERS_LOCK = threading.Lock()


def answer_key(request) -> tuple[str, str]:
    return request.path_info, request.META.get("QUERY_STRING", "")


def keep_answer(request, answer: Answer) -> None:
    """Keep the answer to this request (its path and exact query) for its repeats."""
    with _ANSWERS_LOCK:
        _ANSWERS[answer_key(request)] = answer
        _ANSWERS.move_to_end(answer_key(request))
        while len(_ANSWERS) > ANSWERS_KEPT:
            _ANSWERS.popitem(last=False)


def kept_answer(request) -> Answer | None:
    return _ANSWERS.get(answer_key(request))


def forget_answers(keep) -> int:
    """Drop the kept answers whose record ``keep(record)`` refuses; returns how many."""
    with _ANSWERS_LOCK:
        gone = [k for k, a in _ANSWERS.items() if not keep(a.record)]
        for k in gone:
            del _ANSWERS[k]
    return len(gone)


def answer_response(request, a: Answer) -> HttpResponse:
    """The answer, or 304 when the request's ``If-None-Match`` holds its ETag (the permission
    is checked before: a 304 tells only who may read it that it did not change)."""
    resp = get_conditional_response(request, etag=a.etag)
    if resp is None:
        resp = HttpResponse(a.body, content_type=a.content_type)
        if a.disposition:
            resp["Content-Disposition"] = a.disposition
    resp["ETag"] = a.etag
    resp["Cache-Control"] = "private, no-cache"  # a browser asks again (with the ETag) each time
    return resp


class KeptAnswers:
    """Middleware: a GET whose answer is kept (:func:`keep_answer`) and that carries a script
    token is answered here, without the session, CSRF and URL machinery behind it, once the
    host is checked (ALLOWED_HOSTS), the token's user looked up (:func:`token_user`) and the
    permission table asked about the action and about the answer's record, as the route does.  Anything
    else (no token, an unknown or revoked token, a refusal, a cookie session) goes on to
    Django and the route, which answers it as always."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        auth = request.META.get("HTTP_AUTHORIZATION")
        if auth and request.method == "GET":
            a = kept_answer(request)
            scheme, _, token = auth.partition(" ")
            if a is not None and scheme.lower() == "bearer":
                request.get_host()  # a host not allowed answers 400, as in CommonMiddleware
                user = token_user(token)
                if user is not None and allowed(user, a.action) and allowed(user, a.action, a.record):
                    request.user = user
                    resp = answer_response(request, a)
                    resp["Content-Length"] = str(len(resp.content))
                    return resp
        return self.get_response(request)
