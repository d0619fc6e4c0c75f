"""The permission matrix of the relay service: every API route against every role.

:data:`MATRIX` lists each route (method and path as in /api/openapi.json), how to call it
on the test world, and the roles allowed.  An allowed role must not get 401/403, a denied
one must get 403, an anonymous client 401 or 403 on every route but the log-in and the
OpenAPI description (public: it describes the routes, it holds no record).  The set of
routes in the table must be the set the API serves, so a new route cannot skip the table;
the Django URLs outside /api/ (log-in page, admin) are walked too.
"""
from __future__ import annotations

import importlib.util
import itertools

import pytest

if importlib.util.find_spec("django") is None or importlib.util.find_spec("ninja") is None:
    pytest.skip("the service extra is not installed (pip install -e '.[service]')", allow_module_level=True)

from service_world import World, django_ready, wait_run  # noqa: E402

#: one worker process runs the service tests (one configured Django, one SQLite database)
pytestmark = pytest.mark.xdist_group("service")

ROLES = ("coordinator", "orbiter", "lander", "viewer", "admin")
ALL = set(ROLES)
WRITERS = {"coordinator", "orbiter", "lander", "admin"}
COORD = {"coordinator"}
OVERSIGHT = {"coordinator", "admin"}
PUBLIC = {("POST", "/api/auth/login"), ("GET", "/api/auth/csrf"), ("GET", "/api/openapi.json")}
J = "application/json"
_n = itertools.count()


@pytest.fixture(scope="module")
def ctx():
    django_ready()
    w = World()
    coord = w.client("coordinator")
    lander_entry = w.client("lander").post("/api/requests", {
        "cycle": w.cycle.pk, "id": "M0", "asset": "Perseverance", "start": "2026-12-08T00:00:00Z",
        "end": "2026-12-08T06:00:00Z"}, content_type=J).json()
    run = coord.post(f"/api/cycles/{w.cycle.pk}/runs", {}, content_type=J).json()
    run = wait_run(coord, run["id"])
    assert run["status"] == "done", run["error"]
    return {"w": w, "entry": lander_entry["id"], "plan": run["plan"], "run": run["id"]}


def fresh_entry(c):
    from relay.service import records
    import pandas as pd

    w = c["w"]
    df = pd.DataFrame([{"id": f"F{next(_n)}", "asset": "Perseverance", "start": "2026-12-08T00:00:00Z",
                        "end": "2026-12-08T01:00:00Z"}], dtype=str)
    return records.create_entries(w.users["lander"], w.cycle, "request", df, "requests")[0]


def fresh_plan(c):
    from relay.service.models import PlanVersion, Run

    w = c["w"]
    run = Run.objects.create(cycle=w.cycle, requested_by=w.users["coordinator"], status="done")
    n = 1000 + next(_n)
    return PlanVersion.objects.create(cycle=w.cycle, number=n, run=run, scenario=w.scenario, files=b"",
                                      author=w.users["coordinator"])


def failed_run(c):
    from relay.service.models import Run

    return Run.objects.create(cycle=c["w"].cycle, requested_by=c["w"].users["coordinator"], status="failed")


def entry_version(c):
    from relay.service.models import Entry

    return Entry.objects.get(pk=c["entry"]).version


def cycle_version(c):
    from relay.service.models import Cycle

    return Cycle.objects.get(pk=c["w"].cycle.pk).version


def comment(c):
    from relay.service.models import Comment

    return Comment.objects.create(target="entry", target_id=c["entry"], text="hi", author=c["w"].users[c["role"]])


def cell(c, **kw):
    return {"cycle": c["w"].cycle.pk, **kw}


def span(**kw):
    return {"start": "2026-12-08T02:00:00Z", "end": "2026-12-08T03:00:00Z", **kw}


#: (method, OpenAPI path, function(ctx) -> (url, body or query), roles allowed)
MATRIX = [
    ("POST", "/api/auth/logout", lambda c: ("/api/auth/logout", {}), ALL),
    ("GET", "/api/auth/me", lambda c: ("/api/auth/me", None), ALL),
    ("GET", "/api/tokens", lambda c: ("/api/tokens", None), ALL),
    ("POST", "/api/tokens", lambda c: ("/api/tokens", {"name": "x"}), ALL),
    ("DELETE", "/api/tokens/{token_id}", lambda c: (f"/api/tokens/{extra_token(c)}", None), ALL),
    ("GET", "/api/teams", lambda c: ("/api/teams", None), ALL),
    ("POST", "/api/teams", lambda c: ("/api/teams", {"name": f"T{next(_n)}", "kind": "lander",
                                                     "names": ["Curiosity"]}), {"admin"}),
    ("GET", "/api/users", lambda c: ("/api/users", None), {"admin"}),
    ("POST", "/api/users", lambda c: ("/api/users", {"username": f"u{next(_n)}-{c['w'].password}",
                                                     "password": "pw", "role": "viewer"}), {"admin"}),
    ("GET", "/api/notifications", lambda c: ("/api/notifications", None), ALL),
    ("POST", "/api/notifications/seen", lambda c: ("/api/notifications/seen", {}), ALL),
    ("GET", "/api/audit", lambda c: ("/api/audit", {"cycle": c["w"].cycle.pk}), OVERSIGHT),
    ("GET", "/api/scenarios", lambda c: ("/api/scenarios", None), ALL),
    ("POST", "/api/scenarios", lambda c: ("/api/scenarios", {"name": f"s{next(_n)}",
                                                             "text": c["w"].scenario.text}), OVERSIGHT),
    ("POST", "/api/scenarios/upload", lambda c: (f"/api/scenarios/upload?name=up{next(_n)}",
                                                 {"file": upload("s.yaml", c["w"].scenario.text)}), OVERSIGHT),
    ("GET", "/api/scenarios/{scenario_id}", lambda c: (f"/api/scenarios/{c['w'].scenario.pk}", None), ALL),
    ("GET", "/api/cycles", lambda c: ("/api/cycles", None), ALL),
    ("POST", "/api/cycles", lambda c: ("/api/cycles", {"name": "c", "scenario": c["w"].scenario.pk,
                                                       "start": "2026-12-08T00:00:00Z", "days": 1}), COORD),
    ("GET", "/api/cycles/{cycle_id}", lambda c: (f"/api/cycles/{c['w'].cycle.pk}", None), ALL),
    ("GET", "/api/cycles/{cycle_id}/overflights",
     lambda c: (f"/api/cycles/{c['w'].cycle.pk}/overflights", {"asset": "Perseverance"}), ALL),
    ("PATCH", "/api/cycles/{cycle_id}", lambda c: (f"/api/cycles/{c['w'].cycle.pk}",
                                                   {"version": cycle_version(c), "name": "n"}), COORD),
    ("GET", "/api/entries", lambda c: ("/api/entries", {"cycle": c["w"].cycle.pk}), ALL),
    ("GET", "/api/entries/{entry_id}", lambda c: (f"/api/entries/{c['entry']}", None), ALL),
    ("POST", "/api/outages", lambda c: ("/api/outages", cell(c, target="TGO", what="uhf", **span())),
     {"coordinator", "orbiter"}),
    ("POST", "/api/requests", lambda c: ("/api/requests", cell(c, id=f"Q{next(_n)}", asset="Perseverance",
                                                               **span())), {"coordinator", "lander"}),
    ("POST", "/api/vetoes", lambda c: ("/api/vetoes", cell(c, orbiter="TGO", asset="Perseverance", **span())),
     {"coordinator", "orbiter", "lander"}),
    ("POST", "/api/bookings", lambda c: ("/api/bookings", cell(c, orbiter="TGO", station="Madrid", **span())),
     {"coordinator", "orbiter"}),
    ("POST", "/api/locks", lambda c: ("/api/locks", cell(c, orbiter="TGO", asset="Perseverance", **span())),
     COORD),
    ("POST", "/api/backlogs", lambda c: ("/api/backlogs", cell(c, asset="Perseverance", time="2026-12-07T00:00:00Z",
                                                               backlog_mbit=120)), {"coordinator", "lander"}),
    ("POST", "/api/cycles/{cycle_id}/upload/{kind}",
     lambda c: (f"/api/cycles/{c['w'].cycle.pk}/upload/requests",
                {"file": upload("requests.csv", f"id,asset,start,end\nV{next(_n)},Perseverance,"
                                                "2026-12-08T02:00:00Z,2026-12-08T03:00:00Z\n")}),
     {"coordinator", "lander"}),
    ("PATCH", "/api/entries/{entry_id}", lambda c: (f"/api/entries/{c['entry']}",
                                                    {"version": entry_version(c), "fields": {"note": "n"}}),
     {"coordinator", "lander"}),
    ("POST", "/api/entries/{entry_id}/withdraw",
     lambda c: (f"/api/entries/{fresh_entry(c).pk}/withdraw", {"version": 1}), {"coordinator", "lander"}),
    ("GET", "/api/comments", lambda c: ("/api/comments", {"target": "entry", "target_id": c["entry"]}), ALL),
    ("POST", "/api/comments", lambda c: ("/api/comments", {"target": "entry", "target_id": c["entry"],
                                                           "text": "<b>x</b>"}), WRITERS),
    ("PATCH", "/api/comments/{comment_id}", lambda c: (f"/api/comments/{comment(c).pk}",
                                                       {"version": 1, "text": "y"}), WRITERS),
    ("POST", "/api/cycles/{cycle_id}/runs", lambda c: (f"/api/cycles/{c['w'].cycle.pk}/runs", {}), COORD),
    ("GET", "/api/runs", lambda c: ("/api/runs", None), ALL),
    ("GET", "/api/runs/{run_id}", lambda c: (f"/api/runs/{c['run']}", None), ALL),
    ("POST", "/api/runs/{run_id}/retry", lambda c: (f"/api/runs/{failed_run(c).pk}/retry", {}), COORD),
    ("GET", "/api/plans", lambda c: ("/api/plans", None), ALL),
    ("GET", "/api/plans/{plan_id}", lambda c: (f"/api/plans/{c['plan']}", None), ALL),
    ("GET", "/api/plans/{plan_id}/sessions", lambda c: (f"/api/plans/{c['plan']}/sessions", None), ALL),
    ("GET", "/api/plans/{plan_id}/passes", lambda c: (f"/api/plans/{c['plan']}/passes", None), ALL),
    ("GET", "/api/plans/{plan_id}/requests", lambda c: (f"/api/plans/{c['plan']}/requests", None), ALL),
    ("GET", "/api/plans/{plan_id}/diff", lambda c: (f"/api/plans/{c['plan']}/diff", None), ALL),
    ("POST", "/api/plans/{plan_id}/publish",
     lambda c: (f"/api/plans/{fresh_plan(c).pk}/publish", {"version": 1}), COORD),
    ("GET", "/api/plans/{plan_id}/files", lambda c: (f"/api/plans/{c['plan']}/files", None), ALL),
    ("GET", "/api/plans/{plan_id}/files/{name}",
     lambda c: (f"/api/plans/{c['plan']}/files/summary.json", None), ALL),
    ("GET", "/api/plans/{plan_id}/orbiters/{orbiter}",
     lambda c: (f"/api/plans/{c['plan']}/orbiters/TGO", None), ALL),
    ("POST", "/api/plans/{plan_id}/actuals",  # a TGO report: the coordinator's or TGO's team's (issue 22)
     lambda c: (f"/api/plans/{c['plan']}/actuals",
                {"file": upload("reports.csv", "orbiter,asset,start,end,achieved_mbit\nTGO,Perseverance,"
                                               "2026-12-08T02:00:00Z,2026-12-08T02:10:00Z,5\n")}),
     {"coordinator", "orbiter"}),
    ("GET", "/api/plans/{plan_id}/actuals", lambda c: (f"/api/plans/{c['plan']}/actuals", None), ALL),
]


def extra_token(c):
    from relay.service import records

    return records.create_token(c["w"].users[c["role"]], "spare")[0].pk


def upload(name, text):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, text.encode())


def call(client, method, url, body):
    if method == "GET":
        return client.get(url, body or {})
    if method == "DELETE":
        return client.delete(url)
    if isinstance(body, dict) and "file" in body:
        return client.post(url, body)
    return client.generic(method, url, __import__("json").dumps(body or {}), content_type=J)


def served_routes() -> set[tuple[str, str]]:
    from relay.service.api import api

    paths = api.get_openapi_schema()["paths"]
    return {(m.upper(), p) for p, ops in paths.items() for m in ops} | {("GET", "/api/openapi.json")}


def test_every_route_is_in_the_matrix():
    django_ready()
    table = {(m, p) for m, p, _, _ in MATRIX} | PUBLIC
    assert served_routes() == table


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method, path, make, allowed", MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX])
def test_matrix(ctx, role, method, path, make, allowed):
    c = {**ctx, "role": role}
    url, body = make(c)
    r = call(ctx["w"].client(role), method, url, body)
    if role in allowed:
        assert 200 <= r.status_code < 300, (r.status_code, r.content[:300])
    else:
        assert r.status_code == 403, (r.status_code, r.content[:300])


@pytest.mark.parametrize("method, path, make, allowed", MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX])
def test_anonymous_is_refused_everywhere(ctx, method, path, make, allowed):
    url, body = make({**ctx, "role": "coordinator"})
    r = call(ctx["w"].client(None), method, url, body)
    assert r.status_code in (401, 403), (r.status_code, r.content[:300])


def test_django_urls_outside_the_api_need_a_login(ctx):
    from django.urls import get_resolver

    from django.test import Client

    anon = Client()
    from relay.service.urls import PAGES

    names = {p.pattern.describe() for p in get_resolver().url_patterns}
    pages = {p.pattern.describe() for p in PAGES}  # each needs a log-in: tests/test_service_pages.py walks them
    assert "'' [name='home']" in pages
    assert names - pages == {"'api/'", "'login' [name='login']", "'logout' [name='logout']", "'admin/'",
                             "'static/<str:name>' [name='static']"}
    assert anon.get("/").status_code == 302 and anon.get("/")["Location"].startswith("/login")
    assert anon.get("/admin/")["Location"].startswith("/admin/login")
    page = anon.get("/login")
    assert page.status_code == 200 and b"csrfmiddlewaretoken" in page.content


def test_revoked_token_and_session_csrf(ctx):
    from django.test import Client

    w = ctx["w"]
    key = w.client("viewer").post("/api/tokens", {"name": "t"}, content_type=J).json()
    bearer = Client(HTTP_AUTHORIZATION=f"Bearer {key['token']}")
    assert bearer.get("/api/auth/me").status_code == 200
    assert w.client("viewer").delete(f"/api/tokens/{key['id']}").status_code == 200
    assert bearer.get("/api/auth/me").status_code == 401
    browser = Client(enforce_csrf_checks=True)
    token = browser.get("/api/auth/csrf").json()["csrftoken"]
    r = browser.post("/api/auth/login", {"username": w.users["viewer"].username, "password": w.password},
                     content_type=J, HTTP_X_CSRFTOKEN=token)
    assert r.status_code == 200
    assert r.cookies["relay_session"]["httponly"] and r.cookies["relay_session"]["samesite"] == "Lax"
    assert browser.post("/api/comments", {"target": "entry", "target_id": 1, "text": "x"},
                        content_type=J).status_code == 403  # no CSRF token: refused
    assert browser.post("/api/auth/logout", {}, content_type=J,
                        HTTP_X_CSRFTOKEN=browser.cookies["relay_csrftoken"].value).status_code == 200


def test_login_attempts_are_rate_limited(ctx):
    from django.test import Client

    name = ctx["w"].users["orbiter"].username
    codes = [Client().post("/api/auth/login", {"username": name, "password": "wrong"},
                           content_type=J).status_code for _ in range(7)]
    assert codes[:4] == [401] * 4 and codes[4:] == [429] * 3  # the 5th failure locks the account out
    good = Client().post("/api/auth/login", {"username": name, "password": ctx["w"].password}, content_type=J)
    assert good.status_code == 429  # locked out even with the right password
