"""The service's fast paths behave exactly as the slow ones (behaviour only: nothing is timed).

Kept answers: a plan table's answer is kept per process and a repeated read with a script
token is answered by :class:`relay.service.apiutil.KeptAnswers` in front of the session, CSRF
and URL machinery.  The reference is the route's own answer: the kept one is the same bytes
and headers, and every read is still checked (the token looked up, revoked at once; the
permission table asked about the plan version read; the host against ALLOWED_HOSTS);
``If-None-Match`` with the ETag answers 304, but only to whom may read it; a publication, or
the version's deletion, drops what was kept of it.

Files after the version: a run stores its plan version (usable: tables, summary, diff) before
the worker writes the plan's folder; the run is done once the version has it, a download or a
publication meanwhile waits for it, and a run that fails before it leaves a version that
answers 409 with the reason (never a half-written zip) until a retry makes a new one.
"""
from __future__ import annotations

import importlib.util
import io
import threading
import time
import zipfile

import pytest

if importlib.util.find_spec("django") is None or importlib.util.find_spec("ninja") is None:
    pytest.skip("the service extra is not installed (pip install -e '.[service]')", allow_module_level=True)

from service_world import World, django_ready, hold_task, planned_run, wait_run  # noqa: E402

#: one worker process runs the service tests (one configured Django, one SQLite database)
pytestmark = pytest.mark.xdist_group("service")

J = "application/json"


@pytest.fixture(scope="module")
def planned():
    """A world whose cycle has a plan version (not published), and the path of its sessions."""
    django_ready()
    w = World()
    run = planned_run(w, w.client("coordinator"))
    return w, run["plan"], f"/api/plans/{run['plan']}/sessions"


@pytest.fixture
def route_calls(monkeypatch):
    """How many reads of a plan table reached the route (the others were answered as kept)."""
    from relay.service import routes_plans

    calls = []
    real = routes_plans.table_response

    def counted(*args):
        calls.append(args[2])
        return real(*args)

    monkeypatch.setattr(routes_plans, "table_response", counted)
    return calls


def kept(path: str, query: str = ""):
    from django.test import RequestFactory

    from relay.service.apiutil import kept_answer

    return kept_answer(RequestFactory().get(path, QUERY_STRING=query))


def test_a_kept_answer_is_the_routes_answer_and_every_read_is_checked(planned, route_calls):
    w, plan, path = planned
    viewer = w.client("viewer")
    first = viewer.get(path)
    assert first.status_code == 200 and first.json()["count"] == len(first.json()["items"]) > 0
    again, other = viewer.get(path), w.client("lander").get(path)
    assert len(route_calls) <= 1  # the first read may fill the answer; the repeats are answered as kept
    for r in (again, other):
        assert r.status_code == 200 and r.content == first.content
        assert {k: r[k] for k in ("Content-Type", "ETag", "Cache-Control", "X-Frame-Options",
                                  "X-Content-Type-Options")} == \
               {k: first[k] for k in ("Content-Type", "ETag", "Cache-Control", "X-Frame-Options",
                                      "X-Content-Type-Options")}
    assert first["ETag"].startswith('"') and first["Cache-Control"] == "private, no-cache"
    assert kept(path) is not None
    # no token, a wrong one, a cookie-less anonymous client: refused as by the route
    from django.test import Client

    assert Client().get(path).status_code == 401
    assert Client(HTTP_AUTHORIZATION="Bearer rly_not-a-token").get(path).status_code == 401
    # a host not allowed answers 400 on the kept path too
    assert viewer.get(path, HTTP_HOST="evil.example").status_code == 400


def test_a_revoked_token_is_refused_at_once_on_a_kept_answer(planned):
    from django.test import Client

    w, plan, path = planned
    key = w.client("viewer").post("/api/tokens", {"name": "kept"}, content_type=J).json()
    bearer = Client(HTTP_AUTHORIZATION=f"Bearer {key['token']}")
    assert bearer.get(path).status_code == 200 and bearer.get(path).status_code == 200
    assert kept(path) is not None
    assert w.client("viewer").delete(f"/api/tokens/{key['id']}").status_code == 200
    assert bearer.get(path).status_code == 401


def test_the_permission_is_asked_about_the_plan_read_each_time(planned, monkeypatch, route_calls):
    """A rule refusing this plan version (and only it) refuses its kept answer: the check is per
    request and per record, on the record the route checks."""
    from django.contrib.auth import get_user_model

    from relay.service import permissions, records

    w, plan, path = planned
    viewer = w.client("viewer")
    assert viewer.get(path).status_code == 200 and kept(path) is not None
    seen = []
    real = permissions.RULES["plan.read"]

    def not_this_plan(user, role, record):
        seen.append(getattr(record, "pk", None))
        return real(user, role, record) and getattr(record, "pk", None) != plan

    monkeypatch.setitem(permissions.RULES, "plan.read", not_this_plan)
    r = viewer.get(path)
    assert r.status_code == 403 and plan in seen
    monkeypatch.undo()
    assert viewer.get(path).status_code == 200
    # an account without a role (no profile) is refused though the answer is kept
    u = get_user_model().objects.create_user(f"norole-{plan}-{time.monotonic_ns()}", password="x")
    from django.test import Client

    bare = Client(HTTP_AUTHORIZATION=f"Bearer {records.create_token(u, 't')[1]}")
    assert bare.get(path).status_code == 403


def test_if_none_match_answers_304_only_to_a_reader(planned):
    from django.test import Client

    w, plan, path = planned
    viewer = w.client("viewer")
    first = viewer.get(path)
    etag = first["ETag"]
    for _ in range(2):  # the route's answer, then the kept one
        r = viewer.get(path, HTTP_IF_NONE_MATCH=etag)
        assert r.status_code == 304 and r.content == b"" and r["ETag"] == etag
    stale = viewer.get(path, HTTP_IF_NONE_MATCH='"0123"')
    assert stale.status_code == 200 and stale.content == first.content
    assert Client().get(path, HTTP_IF_NONE_MATCH=etag).status_code == 401
    assert Client(HTTP_AUTHORIZATION="Bearer rly_x").get(path, HTTP_IF_NONE_MATCH=etag).status_code == 401


def test_each_query_is_kept_apart_and_a_bad_one_is_never_kept(planned, route_calls):
    w, plan, path = planned
    viewer = w.client("viewer")
    rows = viewer.get(path).json()["items"]
    orbiter = rows[0]["orbiter"]
    one = viewer.get(path, {"orbiter": orbiter})
    assert one.status_code == 200 and {r["orbiter"] for r in one.json()["items"]} == {orbiter}
    assert viewer.get(path, {"orbiter": orbiter}).content == one.content
    csv = viewer.get(path, {"format": "csv"})
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    again = viewer.get(path, {"format": "csv"})
    assert again.content == csv.content and again["Content-Disposition"] == csv["Content-Disposition"]
    assert "attachment" in again["Content-Disposition"]
    for _ in range(2):
        bad = viewer.get(path, {"sol": "abc"})
        assert bad.status_code == 400 and "sol" in bad.json()["detail"]
        assert viewer.get(path, {"colour": "red"}).status_code == 400
    assert kept(path, "sol=abc") is None and kept(path, "colour=red") is None


def test_publishing_drops_the_kept_answers_of_the_version(planned, route_calls):
    w, plan, path = planned
    viewer, coord = w.client("viewer"), w.client("coordinator")
    before = viewer.get(path)
    viewer.get(path)
    assert kept(path) is not None
    version = coord.get(f"/api/plans/{plan}").json()["version"]
    assert coord.post(f"/api/plans/{plan}/publish", {"version": version}, content_type=J).status_code == 200
    assert kept(path) is None  # what was kept of it is gone with its status change
    n = len(route_calls)
    after = viewer.get(path)
    assert len(route_calls) == n + 1 and after.content == before.content  # a stored plan's tables never change


def test_a_deleted_plan_version_is_not_answered_from_what_was_kept(planned):
    from relay.service.models import PlanVersion, Run

    w, _, _ = planned
    src = PlanVersion.objects.get(pk=planned[1])
    run = Run.objects.create(cycle=w.cycle, requested_by=w.users["coordinator"], status="done")
    copy = PlanVersion.objects.create(cycle=w.cycle, number=900 + src.number, run=run, scenario=src.scenario,
                                      sessions=src.sessions, files=b"", author=w.users["coordinator"])
    path = f"/api/plans/{copy.pk}/sessions"
    viewer = w.client("viewer")
    assert viewer.get(path).status_code == 200 and viewer.get(path).status_code == 200
    copy.delete()
    assert viewer.get(path).status_code == 404


# ----------------------------------------------------------------------------- files after the version
@pytest.fixture
def files_held(monkeypatch):
    """A run's files held back until released: (the files are being written, release them)."""
    writing, release = hold_task(monkeypatch, "files_task")
    yield writing, release
    release.set()


def held_run(files_held):
    """A coordinator's client and a run (its JSON) whose worker is writing its files, held back."""
    django_ready()
    w = World()
    coord = w.client("coordinator")
    run = coord.post(f"/api/cycles/{w.cycle.pk}/runs", {}, content_type=J).json()
    assert files_held[0].wait(120)
    return coord, run


def waits_for_the_files(call, files_held, meanwhile=lambda: None):
    """``call()`` in a thread: still waiting after 0.5 s while the files are held (``meanwhile()``
    checked then), its answer once they are released."""
    got: dict = {}
    t = threading.Thread(target=lambda: got.setdefault("r", call()))
    try:
        t.start()
        t.join(0.5)
        assert t.is_alive() and "r" not in got  # waits: no half-written or empty file is used
        meanwhile()
    finally:
        files_held[1].set()
    t.join(120)
    return got["r"]


def test_a_run_stores_its_version_first_and_a_download_waits_for_the_files(files_held):
    coord, run = held_run(files_held)
    now = coord.get(f"/api/runs/{run['id']}").json()
    assert now["status"] == "running" and now["plan"] is not None and "writing its files" in now["progress"]
    sessions = coord.get(f"/api/plans/{now['plan']}/sessions")
    assert sessions.status_code == 200 and sessions.json()["count"] > 0  # usable before its files
    assert coord.get(f"/api/plans/{now['plan']}/diff").status_code == 200
    r = waits_for_the_files(lambda: coord.get(f"/api/plans/{now['plan']}/files"), files_held)
    assert r.status_code == 200 and r["Content-Type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
    assert {"schedule.csv", "summary.json", "report.html", "manifest.json"} <= set(names)
    done = wait_run(coord, run["id"])
    assert done["status"] == "done" and done["plan"] == now["plan"]


def test_a_publication_waits_for_the_files(files_held):
    coord, run = held_run(files_held)
    plan = coord.get(f"/api/runs/{run['id']}").json()["plan"]
    version = coord.get(f"/api/plans/{plan}").json()["version"]

    def still_proposed():
        assert coord.get(f"/api/plans/{plan}").json()["status"] == "proposed"

    r = waits_for_the_files(lambda: coord.post(f"/api/plans/{plan}/publish", {"version": version}, content_type=J),
                            files_held, still_proposed)
    assert r.status_code == 200 and r.json()["status"] == "published"
    assert zipfile.ZipFile(io.BytesIO(coord.get(f"/api/plans/{plan}/files").content)).namelist()


def test_a_run_that_fails_before_its_files_leaves_a_version_answering_409(monkeypatch):
    from relay.service import engine

    django_ready()
    w = World()
    coord = w.client("coordinator")

    def lost(key):
        raise RuntimeError("the worker stopped")

    monkeypatch.setattr(engine, "files_task", lost)
    run = wait_run(coord, coord.post(f"/api/cycles/{w.cycle.pk}/runs", {}, content_type=J).json()["id"])
    assert run["status"] == "failed" and run["plan"] is not None
    assert "stored but its files were not written" in run["error"] and "retry the run" in run["error"]
    plan = run["plan"]
    assert coord.get(f"/api/plans/{plan}/sessions").status_code == 200  # its tables are there
    for r in (coord.get(f"/api/plans/{plan}/files"), coord.get(f"/api/plans/{plan}/files/schedule.csv"),
              coord.post(f"/api/plans/{plan}/publish", {"version": 1}, content_type=J)):
        assert r.status_code == 409, r.content
        detail = r.json()["detail"]
        assert detail.startswith(f"plan version ") and f"run {run['id']} failed" in detail and "retry" in detail
    assert coord.get(f"/api/plans/{plan}").json()["status"] == "proposed"
    monkeypatch.undo()
    again = wait_run(coord, coord.post(f"/api/runs/{run['id']}/retry", {}, content_type=J).json()["id"])
    assert again["status"] == "done" and again["plan"] != plan
    version = coord.get(f"/api/plans/{again['plan']}").json()["version"]
    assert coord.post(f"/api/plans/{again['plan']}/publish", {"version": version},
                      content_type=J).status_code == 200


def test_a_replan_names_its_base_by_key_and_sends_the_files_to_a_worker_without_it(monkeypatch):
    """A re-plan's payload names the published plan by the SHA-256 of its files; a worker that
    holds no such plan (here: an emptied cache) gets the payload again with the files, and the
    run re-plans as before."""
    import hashlib

    from relay.service import engine, plans
    from relay.service.models import PlanVersion, Run

    django_ready()
    w = World()
    coord = w.client("coordinator")
    first = wait_run(coord, coord.post(f"/api/cycles/{w.cycle.pk}/runs", {}, content_type=J).json()["id"])
    version = coord.get(f"/api/plans/{first['plan']}").json()["version"]
    assert coord.post(f"/api/plans/{first['plan']}/publish", {"version": version}, content_type=J).status_code == 200
    s = coord.get(f"/api/plans/{first['plan']}/sessions").json()["items"][0]
    assert coord.post("/api/outages", {"cycle": w.cycle.pk, "target": s["orbiter"], "what": "all",
                                       "start": s["start"], "end": s["end"]}, content_type=J).status_code == 200
    files = bytes(PlanVersion.objects.get(pk=first["plan"]).files)
    payload, kept = plans.payload_for(Run(cycle=w.cycle, mode="auto"))
    assert payload["base"] is None and payload["base_key"] == hashlib.sha256(files).hexdigest()
    assert payload["published"] is None and payload["published_key"] is None and payload["base_is_published"]
    assert plans.with_files(payload, kept)["base"] == files
    sent = []
    real = engine.plan_task

    def recorded(p):
        sent.append(p["base"] is not None)
        return real(p)

    monkeypatch.setattr(engine, "plan_task", recorded)
    monkeypatch.setattr(engine, "PLANS", engine.PlanCache())  # the worker holds nothing
    run = wait_run(coord, coord.post(f"/api/cycles/{w.cycle.pk}/runs", {}, content_type=J).json()["id"])
    assert run["status"] == "done", run["error"]
    assert sent == [False, True]  # by key, then with the files
    diff = coord.get(f"/api/plans/{run['plan']}/diff").json()
    assert diff["replanned"] and [r["start_before"] for r in diff["diff"]["removed"]] == [s["start"]]
    again = wait_run(coord, coord.post(f"/api/cycles/{w.cycle.pk}/runs", {}, content_type=J).json()["id"])
    assert again["status"] == "done" and sent == [False, True, False]  # now held: by key alone


def test_records_of_gives_the_rows_pandas_gives():
    """The tables go to JSON column by column; the reference is pandas' own row dicts with the
    times formatted by strftime (what the service stored before): same values, same types."""
    import math

    import pandas as pd

    from relay.service.engine import records_of

    df = pd.DataFrame({
        "start": pd.to_datetime(["2026-12-08T00:00:00.1239Z", None, "2026-12-09T23:59:59.9996Z"], utc=True,
                                format="ISO8601"),
        "naive": pd.to_datetime(["2026-12-08T01:02:03.004", "2026-12-08T01:02:03.000", None], format="ISO8601"),
        "x": [1.5, float("nan"), -0.1], "n": [1, 2, 3], "ok": [True, False, True],
        "name": ["MRO", None, "=cmd"], "mixed": [1, "a", None]})

    def reference(frame):
        out = frame.copy()
        for c in out.columns:
            if pd.api.types.is_datetime64_any_dtype(out[c]):
                out[c] = out[c].dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z"
        return [{k: (None if isinstance(v, float) and math.isnan(v) else (v.item() if hasattr(v, "item") else v))
                 for k, v in row.items()} for row in out.to_dict("records")]

    got, want = records_of(df), reference(df)
    assert got == want
    assert [[type(v) for v in r.values()] for r in got] == [[type(v) for v in r.values()] for r in want]
    assert got[0]["start"] == "2026-12-08T00:00:00.123Z" and got[1]["start"] is None and got[2]["naive"] is None
    assert records_of(df, ["n", "missing", "x"]) == [{k: r[k] for k in ("n", "x")} for r in want]
    assert records_of(None) == [] and records_of(df.iloc[:0]) == []
