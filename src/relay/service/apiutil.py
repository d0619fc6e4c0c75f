"""What every API route shares: authentication, the permission check, errors, filters, CSV.

:data:`AUTH` accepts a script token (``Authorization: Bearer rly_...``, revocable, only its
hash stored) or the session cookie (with Django's CSRF check on unsafe methods).
:func:`guard` runs the permission table (:mod:`relay.service.permissions`) and answers 403.
:func:`listing` answers a list as JSON or, with ``format=csv``, as a formula-safe CSV
file; :func:`filtered` applies the common filters (asset, orbiter, sol, time span).
"""
from __future__ import annotations

import time
from typing import Optional

from django.http import Http404
from ninja import Schema
from ninja.security import HttpBearer, django_auth

from ..errors import RelayInputError
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


class TokenAuth(HttpBearer):
    def authenticate(self, request, token):
        digest = token_digest(token)
        hit = _TOKENS.get(digest)
        if hit is not None and hit[0] > time.monotonic():
            request.user = hit[1]
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
        request.user = t.user
        return t.user


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


class Filters(Schema, frozen=True):
    """The filters of every list (each optional): ``cycle``, ``asset``, ``orbiter``, ``sol``,
    ``start``/``end`` (ISO UTC: rows overlapping the span) and ``format`` (``json``, ``csv``)."""

    cycle: Optional[int] = None
    asset: Optional[str] = None
    orbiter: Optional[str] = None
    sol: Optional[int] = None
    start: Optional[str] = None
    end: Optional[str] = None
    format: str = "json"


def span_of(f: Filters) -> tuple[str, str]:
    """The filter's span as ISO text (checked by relay's time reader)."""
    lo = iso(parse_utc(f.start, source="query", where="start")) if f.start else ""
    hi = iso(parse_utc(f.end, source="query", where="end")) if f.end else "9999"
    return lo, hi


def filtered(rows: list[dict], f: Filters, start_key: str = "start", end_key: str = "end") -> list[dict]:
    """Rows (dicts) kept by the filters: names, sol and overlap with the span."""
    lo, hi = span_of(f)
    out = []
    for r in rows:
        if f.asset and r.get("asset") != f.asset:
            continue
        if f.orbiter and r.get("orbiter") != f.orbiter:
            continue
        if f.sol is not None and r.get("sol") != f.sol:
            continue
        s, e = str(r.get(start_key) or ""), str(r.get(end_key) or "9999")
        if (f.start or f.end) and not (s < hi and e > lo):
            continue
        out.append(r)
    return out


def listing(rows: list[dict], f: Filters, name: str, columns: list[str] | None = None):
    """The rows as JSON, or as ``name``.csv with ``format=csv``."""
    if f.format == "csv":
        return csv_response(rows, f"{name}.csv", columns)
    if f.format != "json":
        raise RelayInputError(f"got {f.format!r}, expected json or csv", source="query", where="format")
    return {"count": len(rows), "items": rows}


def public(obj, drop: tuple = ()) -> dict:
    """A record as JSON (its columns, without ``drop``)."""
    return {k: v for k, v in snapshot(obj).items() if k not in drop}
