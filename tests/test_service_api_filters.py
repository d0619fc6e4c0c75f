"""The filters of every list of the relay service API, table-driven over the lists.

:data:`LISTS` names each list route (as /api/openapi.json spells it), the query it always
needs, and each filter it takes with a value that keeps some rows of the test world and
drops others, and the test's OWN rule for a row to match (decided on the unfiltered answer,
not by the service's code: times compared as datetimes, sols from the overflights' sol and
LMST, a cycle's span from its start and days).  A filter the list does not take, a misspelt
one and a bad value (a time without a zone, an end before the start, ``sol=abc``, an unknown
status) answer 400 with one paragraph naming it.  The table must hold every list the API
serves: a new list cannot skip it.
"""
from __future__ import annotations

import importlib.util
import json
import math
from datetime import datetime, timedelta

import pytest

if importlib.util.find_spec("django") is None or importlib.util.find_spec("ninja") is None:
    pytest.skip("the service extra is not installed (pip install -e '.[service]')", allow_module_level=True)

from service_world import World, django_ready, wait_run  # noqa: E402

#: one worker process runs the service tests (one configured Django, one SQLite database)
pytestmark = pytest.mark.xdist_group("service")

J = "application/json"
#: Mars's mean solar day (s) and its hours of LMST (an LMST hour is 1/24 of it)
SOL_S = 88775.244
SPAN = ("2026-12-08T06:00:00Z", "2026-12-08T12:00:00Z")


def t(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def ctx():
    django_ready()
    from relay.service import records

    w = World(days=2)  # two sols of each asset: a sol filter keeps some rows and drops others
    coord, lander = w.client("coordinator"), w.client("lander")
    later = records.create_cycle(w.users["coordinator"], "later cycle", w.scenario, t("2026-12-20T00:00:00Z"), 2)
    passes = coord.get(f"/api/cycles/{w.cycle.pk}/overflights").json()["items"]
    # each asset's sol clock from one overflight: the sol starts LMST hours before its rise
    anchors = {}
    for p in passes:
        h, m, s = (float(x) for x in p["lmst_start"].split(":"))
        anchors.setdefault(p["asset"], (t(p["rise"]) - timedelta(seconds=(h + m / 60 + s / 3600) * SOL_S / 24),
                                        p["sol"]))
    sol = max(p["sol"] for p in passes if p["asset"] == "Perseverance")

    def filed(path, **cells):
        r = coord.post(path, {"cycle": w.cycle.pk, **cells}, content_type=J)
        assert r.status_code == 200, r.content
        return r.json()

    filed("/api/requests", id="R1", asset="Perseverance", start="2026-12-08T00:00:00Z", end="2026-12-08T05:00:00Z")
    filed("/api/requests", id="R2", asset="Curiosity", start="2026-12-08T13:00:00Z", end="2026-12-08T18:00:00Z")
    filed("/api/requests", id="R3", asset="Perseverance", orbiter="MRO", start="2026-12-08T20:00:00Z",
          end="2026-12-08T23:00:00Z")
    filed("/api/requests", id="RS", asset="Perseverance", sol=sol, lmst_window="13:00-15:00")
    filed("/api/outages", target="TGO", what="uhf", start="2026-12-08T10:00:00Z", end="2026-12-08T11:00:00Z")
    filed("/api/vetoes", orbiter="MRO", asset="Curiosity", start="2026-12-08T05:00:00Z", end="2026-12-08T05:30:00Z")
    filed("/api/bookings", orbiter="TGO", station="Madrid", start="2026-12-08T03:00:00Z", end="2026-12-08T04:30:00Z")
    filed("/api/backlogs", asset="Perseverance", time="2026-12-07T12:00:00Z", backlog_mbit=300)
    gone = filed("/api/requests", id="RW", asset="Curiosity", start="2026-12-08T01:00:00Z",
                 end="2026-12-08T02:00:00Z")
    assert coord.post(f"/api/entries/{gone['id']}/withdraw", {"version": 1}, content_type=J).status_code == 200
    run = wait_run(coord, coord.post(f"/api/cycles/{w.cycle.pk}/runs", {}, content_type=J).json()["id"])
    assert run["status"] == "done", run["error"]
    lander.post("/api/comments", {"target": "plan", "target_id": run["plan"], "text": "fine"}, content_type=J)
    reports_of_every_session(coord, run["plan"])
    lander.post("/api/comments", {"target": "entry", "target_id": gone["id"], "text": "gone"}, content_type=J)
    others(w, later)
    scenarios = {s["id"]: s for s in coord.get("/api/scenarios").json()["items"]}
    return {"w": w, "later": later, "plan": run["plan"], "sol": sol, "anchors": anchors, "withdrawn": gone["id"],
            "scenarios": scenarios, "entry": gone["id"]}


def reports_of_every_session(coord, plan_id: int) -> None:
    """Pass performance reports of every session of the plan (each achieving its planned volume)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    sessions = coord.get(f"/api/plans/{plan_id}/sessions").json()["items"]
    text = "orbiter,asset,start,end,achieved_mbit\n" + "".join(
        f"{s['orbiter']},{s['asset']},{s['start']},{s['end']},{s['volume_mbit']}\n" for s in sessions)
    r = coord.post(f"/api/plans/{plan_id}/actuals", {"file": SimpleUploadedFile("reports.csv", text.encode())})
    assert r.status_code == 200 and r.json()["count"] == len(sessions), r.content[:300]


def others(w, later) -> None:
    """Rows each filter must drop: a scenario of Curiosity and MRO only with a cycle, a failed
    run and a published plan of the later cycle, a notification of it."""
    import yaml

    from relay.service import records
    from relay.service.models import Notification, PlanVersion, Run

    data = yaml.safe_load(w.scenario.text)
    data["orbiters"] = [o for o in data["orbiters"] if o["name"] == "MRO"]
    data["assets"] = [a for a in data["assets"] if a["name"] == "Curiosity"]
    sv = records.create_scenario(w.users["coordinator"], w.scenario.name + "-mro", yaml.safe_dump(data))
    records.create_cycle(w.users["coordinator"], "MRO cycle", sv, t("2026-12-08T00:00:00Z"), 1)
    run = Run.objects.create(cycle=later, requested_by=w.users["coordinator"], status="failed")
    PlanVersion.objects.create(cycle=later, number=1, run=run, scenario=w.scenario, files=b"", status="published",
                               author=w.users["coordinator"])
    Notification.objects.create(user=w.users["lander"], cycle_id=later.pk, topic="filed", text="x")


def sol_of(c, asset, when) -> int | None:
    """An asset's sol at a time, from the overflights' sol and LMST (the test's own clock)."""
    if asset not in c["anchors"] or not when:
        return None
    origin, sol = c["anchors"][asset]
    return sol + math.floor((t(when) - origin).total_seconds() / SOL_S)


def overlaps(start, end, lo=SPAN[0], hi=SPAN[1]) -> bool:
    """[start, end] (a point when equal; None: open) meets [lo, hi)."""
    s = t(start) if start else datetime.min.replace(tzinfo=t(lo).tzinfo)
    e = t(end) if end else datetime.max.replace(tzinfo=t(lo).tzinfo)
    return s < t(hi) and (e > t(lo) or (e == s and s >= t(lo)))


def names(asset="asset", orbiter="orbiter", start="start", end="end") -> dict:
    """The filters of a list of rows with names, a sol and a span (keys of their times)."""
    return {"asset": ("Perseverance", lambda c, r: r[asset] == "Perseverance"),
            "orbiter": ("TGO", lambda c, r: r[orbiter] == "TGO"),
            "sol": (lambda c: c["sol"], lambda c, r: r["sol"] == c["sol"]),
            "start": (SPAN[0], lambda c, r: overlaps(r[start], r[end], SPAN[0], "9999-12-31T00:00:00Z")),
            "end": (SPAN[1], lambda c, r: overlaps(r[start], r[end], "0001-01-01T00:00:00Z", SPAN[1]))}


def cycle_end(r) -> str:
    return (t(r["start"]) + timedelta(days=r["days"])).isoformat()


def entry_sol(c, r):
    return r["sol"] if r["sol"] is not None else sol_of(c, r["asset"], r["start"])


#: (path as in OpenAPI, role, function(ctx) -> (url, query it always takes), filters: name ->
#: (value or function(ctx) -> value, rule(ctx, row) -> kept?), True when the list drops every
#: filter's non-matching rows in this world (each filter keeps some rows and drops others))
LISTS = [
    ("/api/entries", "coordinator", lambda c: ("/api/entries", {"cycle": c["w"].cycle.pk}), {
        **names(),
        "sol": (lambda c: c["sol"], lambda c, r: entry_sol(c, r) == c["sol"]),
        "kind": ("request", lambda c, r: r["kind"] == "request"),
        "withdrawn": ("true", None),
    }),
    ("/api/cycles/{cycle_id}/overflights", "viewer",
     lambda c: (f"/api/cycles/{c['w'].cycle.pk}/overflights", {}), names(start="rise", end="set")),
    ("/api/plans/{plan_id}/sessions", "lander", lambda c: (f"/api/plans/{c['plan']}/sessions", {}), names()),
    ("/api/plans/{plan_id}/passes", "lander", lambda c: (f"/api/plans/{c['plan']}/passes", {}),
     names(start="rise", end="set")),
    ("/api/plans/{plan_id}/requests", "orbiter", lambda c: (f"/api/plans/{c['plan']}/requests", {}), {
        **names(), "orbiter": ("MRO", lambda c, r: r["orbiter"] == "MRO")}),
    ("/api/plans/{plan_id}/orbiters/{orbiter}", "orbiter",
     lambda c: (f"/api/plans/{c['plan']}/orbiters/TGO", {"format": "json"}),
     {k: v for k, v in names().items() if k != "orbiter"}),
    ("/api/plans/{plan_id}/actuals", "viewer", lambda c: (f"/api/plans/{c['plan']}/actuals", {}), names()),
    ("/api/cycles", "viewer", lambda c: ("/api/cycles", {}), {
        "scenario": (lambda c: c["w"].scenario.name, lambda c, r: r["scenario_id"] == c["w"].scenario.pk),
        "status": ("open", lambda c, r: r["status"] == "open"),
        "asset": ("Perseverance", lambda c, r: "Perseverance" in c["scenarios"][r["scenario_id"]]["assets"]),
        "orbiter": ("TGO", lambda c, r: "TGO" in c["scenarios"][r["scenario_id"]]["orbiters"]),
        "start": ("2026-12-19T00:00:00Z", lambda c, r: overlaps(r["start"], cycle_end(r), "2026-12-19T00:00:00Z",
                                                                 "9999-12-31T00:00:00Z")),
        "end": ("2026-12-19T00:00:00Z", lambda c, r: overlaps(r["start"], cycle_end(r), "0001-01-01T00:00:00Z",
                                                               "2026-12-19T00:00:00Z")),
    }),
    ("/api/scenarios", "viewer", lambda c: ("/api/scenarios", {}), {
        "scenario": (lambda c: c["w"].scenario.name, lambda c, r: r["name"] == c["w"].scenario.name),
        "cycle": (lambda c: c["w"].cycle.pk, lambda c, r: r["id"] == c["w"].scenario.pk),
        "asset": ("Perseverance", lambda c, r: "Perseverance" in r["assets"]),
        "orbiter": ("TGO", lambda c, r: "TGO" in r["orbiters"]),
    }),
    ("/api/runs", "viewer", lambda c: ("/api/runs", {}), {
        "cycle": (lambda c: c["w"].cycle.pk, lambda c, r: r["cycle_id"] == c["w"].cycle.pk),
        "status": ("done", lambda c, r: r["status"] == "done"),
    }),
    ("/api/plans", "viewer", lambda c: ("/api/plans", {}), {
        "cycle": (lambda c: c["w"].cycle.pk, lambda c, r: r["cycle_id"] == c["w"].cycle.pk),
        "status": ("proposed", lambda c, r: r["status"] == "proposed"),
    }),
    ("/api/teams", "viewer", lambda c: ("/api/teams", {}), {
        "kind": ("lander", lambda c, r: r["kind"] == "lander"),
        "asset": ("Perseverance", lambda c, r: "Perseverance" in r["names"]),
        "orbiter": ("TGO", lambda c, r: "TGO" in r["names"]),
    }),
    ("/api/audit", "coordinator", lambda c: ("/api/audit", {}), {
        "cycle": (lambda c: c["w"].cycle.pk, lambda c, r: r["cycle_id"] == c["w"].cycle.pk),
        "model": ("Entry", lambda c, r: r["model"] == "Entry"),
        "who": (lambda c: c["w"].users["lander"].username, lambda c, r: r["who"] == c["w"].users["lander"].username),
    }),
    ("/api/comments", "viewer", lambda c: ("/api/comments", {"target": "entry", "target_id": c["entry"]}), {}),
    ("/api/notifications", "lander", lambda c: ("/api/notifications", {"all": "true"}), {
        "cycle": (lambda c: c["w"].cycle.pk, lambda c, r: r["cycle_id"] == c["w"].cycle.pk)}),
    ("/api/tokens", "viewer", lambda c: ("/api/tokens", {}), {}),
    ("/api/users", "admin", lambda c: ("/api/users", {}), {}),
]
#: every filter name some list takes, and a misspelt one
EVERY_FILTER = ("cycle", "scenario", "kind", "status", "asset", "orbiter", "sol", "start", "end", "withdrawn",
                "model", "who", "colour")
CASES = [(path, role, make, name, spec) for path, role, make, filters in LISTS for name, spec in filters.items()]


def answer(c, role, url, query):
    r = c["w"].client(role).get(url, query)
    assert r.status_code == 200, (url, query, r.status_code, r.content[:300])
    return r.json()["items"]


def value_of(c, spec):
    v = spec[0]
    return v(c) if callable(v) else v


@pytest.mark.parametrize("path, role, make, name, spec", CASES, ids=[f"{p} {n}" for p, _, _, n, _ in CASES])
def test_each_filter_keeps_exactly_the_rows_it_names(ctx, path, role, make, name, spec):
    url, base = make(ctx)
    every = answer(ctx, role, url, base)
    got = answer(ctx, role, url, {**base, name: value_of(ctx, spec)})
    if name == "withdrawn":  # withdrawn=true adds the withdrawn records to the live ones
        assert [r["id"] for r in got if r["id"] != ctx["withdrawn"]] == [r["id"] for r in every]
        assert ctx["withdrawn"] in {r["id"] for r in got} - {r["id"] for r in every}
        return
    want = [r for r in every if spec[1](ctx, r)]
    assert got == want
    assert want, f"{name} keeps no row of {url}: the case proves nothing"
    assert len(want) < len(every), f"{name} keeps every row of {url}: the case proves nothing"


@pytest.mark.parametrize("path, role, make, filters", LISTS, ids=[p for p, *_ in LISTS])
def test_a_filter_a_list_does_not_take_answers_400_naming_it(ctx, path, role, make, filters):
    url, base = make(ctx)
    taken = set(filters) | set(base) | {"format", "since", "until"}
    for name in EVERY_FILTER:
        if name in taken:
            continue
        r = ctx["w"].client(role).get(url, {**base, name: "7"})
        assert r.status_code == 400, (url, name, r.status_code, r.content[:300])
        detail = r.json()["detail"]
        assert detail.startswith(f"query: {name}: got {name}='7', but {url} takes no filter '{name}'"), detail
        assert "\n" not in detail


TIMED = [(p, role, make) for p, role, make, filters in LISTS if "start" in filters]


@pytest.mark.parametrize("path, role, make", TIMED, ids=[p for p, *_ in TIMED])
def test_a_bad_span_answers_400(ctx, path, role, make):
    url, base = make(ctx)
    client = ctx["w"].client(role)
    r = client.get(url, {**base, "start": "2026-12-08T06:00:00"})
    assert r.status_code == 400
    assert r.json()["detail"] == ("query: start: got '2026-12-08T06:00:00' with no time zone; relay reads times as "
                                  "UTC only: add a Z (2026-12-08T06:00:00Z)")
    r = client.get(url, {**base, "end": "tomorrow"})
    assert r.status_code == 400 and r.json()["detail"].startswith("query: end: got 'tomorrow', expected an ISO 8601")
    r = client.get(url, {**base, "start": SPAN[1], "end": SPAN[0]})
    assert r.status_code == 400 and "expected an end after the start" in r.json()["detail"]


@pytest.mark.parametrize("name, value, words", [
    ("sol", "abc", "query: sol: got 'abc': Input should be a valid integer"),
    ("cycle", "x", "query: cycle: got 'x': Input should be a valid integer"),
    ("status", "lost", "query: status: got 'lost', expected one of"),
    ("kind", "forbid", "query: kind: got 'forbid', expected one of"),
    ("format", "xml", "query: format: got 'xml', expected json or csv"),
])
def test_a_bad_filter_value_answers_400_naming_it(ctx, name, value, words):
    for path, role, make, filters in LISTS:
        if name not in filters and name != "format" or path in ("/api/tokens", "/api/users"):
            continue
        url, base = make(ctx)
        r = ctx["w"].client(role).get(url, {**base, name: value})
        assert r.status_code == 400, (url, r.status_code, r.content[:300])
        assert r.json()["detail"].startswith(words), (url, r.json())


def test_every_list_takes_csv(ctx):
    for path, role, make, _ in LISTS:
        if path in ("/api/tokens", "/api/users"):
            continue
        url, base = make(ctx)
        r = ctx["w"].client(role).get(url, {**base, "format": "csv"})
        assert r.status_code == 200 and r["Content-Type"].startswith("text/csv"), (url, r.status_code)
    text = ctx["w"].client("viewer").get("/api/entries", {"cycle": ctx["w"].cycle.pk, "kind": "backlog",
                                                          "format": "csv"}).content.decode()
    assert text.splitlines() == ["asset,time,backlog_mbit", "Perseverance,2026-12-07T12:00:00.000Z,300"]


def test_the_table_holds_every_list_the_api_serves(ctx):
    """Every GET route of the API is called; those answering a list (``count`` and ``items``, or
    a CSV file by default) must be in :data:`LISTS`."""
    from relay.service.api import api

    ids = {"cycle_id": ctx["w"].cycle.pk, "plan_id": ctx["plan"], "run_id": 1, "entry_id": ctx["entry"],
           "scenario_id": ctx["w"].scenario.pk, "orbiter": "TGO", "name": "summary.json"}
    lists = set()
    for path, ops in api.get_openapi_schema()["paths"].items():
        if "get" not in ops:
            continue
        url = path.format(**ids)
        base = next((make(ctx)[1] for p, _, make, _ in LISTS if p == path), {})
        r = ctx["w"].client("admin" if path == "/api/users" else "coordinator").get(url, base)
        assert r.status_code in (200, 404), (url, r.status_code)
        body = json.loads(r.content) if r["Content-Type"].startswith("application/json") else None
        if (isinstance(body, dict) and {"count", "items"} <= set(body)) or r["Content-Type"].startswith("text/csv"):
            lists.add(path)
    assert lists == {p for p, *_ in LISTS}


def test_the_openapi_description_names_each_lists_own_filters(ctx):
    from relay.service.api import api

    paths = api.get_openapi_schema()["paths"]
    params = {p: {q["name"] for q in paths[p]["get"].get("parameters", []) if q["in"] == "query"}
              for p, *_ in LISTS}
    assert params["/api/cycles"] == {"scenario", "status", "asset", "orbiter", "start", "end", "format"}
    assert params["/api/plans/{plan_id}/sessions"] == {"asset", "orbiter", "sol", "start", "end", "format"}
    assert "sol" not in params["/api/runs"] and "start" not in params["/api/plans"]
