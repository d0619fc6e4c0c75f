"""Uploads and bad requests of the relay service API; the CSRF check of the JSON log-in.

- Asset backlogs (the CSV ``relay plan --backlogs`` reads: ``asset, time, backlog_mbit``) are
  uploaded per cycle like the other CSV files, read by the same reader with the same message
  (compared with the reader's own on the same file), filed by the lander team of the asset,
  and used by the cycle's runs: the plan equals ``relay.api.plan`` given the same file, and
  differs from the plan without it.
- Each kind of bad request (malformed JSON, an unknown field, a time without a zone, a name
  not in the scenario, an upload too large, of the wrong kind or not text) answers 4xx with
  one paragraph naming what is wrong, and stores nothing (no record, no audit event).
- ``POST /api/auth/login`` makes a session, so it is CSRF-checked like the log-in form:
  ``GET /api/auth/csrf`` first, the token in ``X-CSRFToken``.
"""
from __future__ import annotations

import importlib.util

import pytest

if importlib.util.find_spec("django") is None or importlib.util.find_spec("ninja") is None:
    pytest.skip("the service extra is not installed (pip install -e '.[service]')", allow_module_level=True)

from service_world import START, World, django_ready, wait_run  # noqa: E402

#: one worker process runs the service tests (one configured Django, one SQLite database)
pytestmark = pytest.mark.xdist_group("service")

J = "application/json"
BACKLOGS = ("asset,time,backlog_mbit\nPerseverance,2026-12-07T00:00:00Z,0\nCuriosity,2026-12-07T00:00:00Z,0\n"
            "Perseverance,2026-12-09T00:00:00Z,900\n")


@pytest.fixture(scope="module")
def world():
    django_ready()
    return World()


def upload(client, cycle_id, kind, name, data):
    from django.core.files.uploadedfile import SimpleUploadedFile

    body = data if isinstance(data, bytes) else data.encode()
    return client.post(f"/api/cycles/{cycle_id}/upload/{kind}", {"file": SimpleUploadedFile(name, body)})


def stored() -> tuple[int, int]:
    """(records, audit events): a refused request changes neither."""
    from relay.service.models import AuditEvent, Entry

    return Entry.objects.count(), AuditEvent.objects.count()


def reader_message(tmp_path, text: str, scenario_text: str) -> str:
    """What relay's backlog reader (the one ``relay plan --backlogs`` uses) says of ``text``
    saved as backlogs.csv, with the path as the file's name."""
    from relay import api
    from relay.errors import RelayInputError
    from relay.inputs import read_backlog_table

    path = tmp_path / "backlogs.csv"
    path.write_text(text)
    (tmp_path / "s.yaml").write_text(scenario_text)
    sc = api.load_scenario(tmp_path / "s.yaml")
    with pytest.raises(RelayInputError) as e:
        read_backlog_table(str(path), [a.name for a in sc.assets])
    return str(e.value).replace(str(path), "backlogs.csv")


# ----------------------------------------------------------------------------- backlogs
def test_backlogs_upload_is_read_by_the_plan_commands_reader(world, tmp_path):
    w = world
    r = upload(w.client("coordinator"), w.cycle.pk, "backlogs", "backlogs.csv", BACKLOGS)
    assert r.status_code == 200, r.content
    assert r.json()["count"] == 3
    rows = w.client("viewer").get("/api/entries", {"cycle": w.cycle.pk, "kind": "backlog"}).json()["items"]
    assert [(e["asset"], e["fields"]["backlog_mbit"], e["start"]) for e in rows][-3:] == [
        ("Perseverance", "0", "2026-12-07T00:00:00.000Z"), ("Curiosity", "0", "2026-12-07T00:00:00.000Z"),
        ("Perseverance", "900", "2026-12-09T00:00:00.000Z")]
    for bad in ("asset,time,backlog_mbit\nPerseverance,2026-12-07T00:00:00Z,-5\n",
                "asset,time,backlog_mbit\nNope,2026-12-07T00:00:00Z,5\n",
                "asset,time,backlog_mbit\nPerseverance,2026-12-07T00:00:00,5\n",
                "asset,when,backlog_mbit\nPerseverance,2026-12-07T00:00:00Z,5\n"):
        before = stored()
        r = upload(w.client("coordinator"), w.cycle.pk, "backlogs", "backlogs.csv", bad)
        assert r.status_code == 400, r.content
        assert r.json()["detail"] == reader_message(tmp_path, bad, w.scenario.text)
        assert stored() == before


def test_backlogs_are_filed_by_the_lander_team_of_the_asset(world):
    w = world
    mine = "asset,time,backlog_mbit\nPerseverance,2026-12-07T06:00:00Z,40\n"
    assert upload(w.client("lander"), w.cycle.pk, "backlogs", "b.csv", mine).status_code == 200
    for role, text in (("lander2", mine), ("orbiter", mine), ("viewer", mine),
                       ("lander", mine + "Curiosity,2026-12-07T06:00:00Z,40\n")):
        before = stored()
        r = upload(w.client(role), w.cycle.pk, "backlogs", "b.csv", text)
        assert r.status_code == 403, (role, r.content)
        assert stored() == before
    r = w.client("lander").post("/api/backlogs", {"cycle": w.cycle.pk, "asset": "Perseverance",
                                                  "time": "2026-12-07T07:00:00Z", "backlog_mbit": 12.5},
                                content_type=J)
    assert r.status_code == 200 and r.json()["fields"] == {"asset": "Perseverance",
                                                           "time": "2026-12-07T07:00:00.000Z",
                                                           "backlog_mbit": "12.5"}


@pytest.mark.slow
def test_a_cycles_backlogs_plan_as_relay_plan_backlogs_does(tmp_path):
    from relay import api

    django_ready()
    w = World()
    coord = w.client("coordinator")
    plain = wait_run(coord, coord.post(f"/api/cycles/{w.cycle.pk}/runs", {}, content_type=J).json()["id"])
    assert plain["status"] == "done", plain["error"]
    published = coord.post(f"/api/plans/{plain['plan']}/publish", {"version": 1}, content_type=J)
    assert published.status_code == 200, published.content
    assert upload(coord, w.cycle.pk, "backlogs", "backlogs.csv", BACKLOGS).status_code == 200
    run = wait_run(coord, coord.post(f"/api/cycles/{w.cycle.pk}/runs", {}, content_type=J).json()["id"])
    assert run["status"] == "done", run["error"]
    with_backlogs = coord.get(f"/api/plans/{run['plan']}").json()
    assert with_backlogs["replanned"] is False  # new backlogs plan the cycle anew, not the re-plan path
    (tmp_path / "s.yaml").write_text(w.scenario.text)
    (tmp_path / "backlogs.csv").write_text(BACKLOGS)
    ref = api.plan(api.load_scenario(tmp_path / "s.yaml"), START, 1.0, backlogs=str(tmp_path / "backlogs.csv"))
    without = coord.get(f"/api/plans/{plain['plan']}").json()["summary"]["delivered_mbit"]
    got = with_backlogs["summary"]["delivered_mbit"]
    assert got == pytest.approx(ref.summary.figures.delivered_mbit, rel=1e-9)
    assert got != pytest.approx(without, rel=1e-3)  # the backlogs changed the plan


# ----------------------------------------------------------------------------- bad requests
@pytest.mark.parametrize("path", ["/api/requests", "/api/backlogs", "/api/cycles", "/api/comments", "/api/tokens"])
def test_malformed_json_answers_400_and_stores_nothing(world, path):
    before = stored()
    r = world.client("coordinator").post(path, '{"cycle": 1,', content_type=J)
    assert r.status_code == 400
    detail = r.json()["detail"]
    assert detail.startswith("request body: is not JSON (Expecting property name enclosed in double quotes: "
                             "line 1 column 13 (char 12)); expected one JSON object"), detail
    assert stored() == before


@pytest.mark.parametrize("path, body, status, detail", [
    ("/api/backlogs", {"asset": "Perseverance", "time": "2026-12-07T00:00:00Z", "backlog_mbit": 1, "colour": "red"},
     422, "request body: colour: unknown field; expected only the fields the API describes (/api/openapi.json)"),
    ("/api/backlogs", {"asset": "Perseverance", "time": "2026-12-07T00:00:00", "backlog_mbit": 1}, 400,
     "backlogs: row 1, column time: got '2026-12-07T00:00:00' with no time zone; relay reads times as UTC only: "
     "add a Z (2026-12-07T00:00:00Z)"),
    ("/api/backlogs", {"asset": "Opportunity", "time": "2026-12-07T00:00:00Z", "backlog_mbit": 1}, 400,
     "backlogs: row 1: asset 'Opportunity' is not in the scenario; expected one of Curiosity, Perseverance"),
    ("/api/backlogs", {"asset": "Perseverance", "time": "2026-12-07T00:00:00Z", "backlog_mbit": "lots"}, 400,
     "backlogs: row 1, column backlog_mbit: got 'lots'"),
    ("/api/backlogs", {"asset": "Perseverance", "time": "2026-12-07T00:00:00Z"}, 422,
     "request body: backlog_mbit: Field required"),
    ("/api/cycles", {"name": "c", "start": "2026-12-08T00:00:00", "days": 1}, 400,
     "request body: start: got '2026-12-08T00:00:00' with no time zone"),
])
def test_a_bad_body_answers_its_paragraph_and_stores_nothing(world, path, body, status, detail):
    w = world
    body = {**body, "cycle": w.cycle.pk} if path != "/api/cycles" else {**body, "scenario": w.scenario.pk}
    before = stored()
    r = w.client("coordinator").post(path, body, content_type=J)
    assert r.status_code == status, r.content
    assert r.json()["detail"].startswith(detail), r.json()["detail"]
    assert "\n" not in r.json()["detail"]
    assert stored() == before


@pytest.mark.parametrize("kind, name, data, detail", [
    ("colours", "colours.csv", "a,b\n1,2\n", "URL: kind: got 'colours', expected outages, requests, vetoes (forbid), "
                                             "locks, bookings or backlogs"),
    ("backlogs", "backlogs.txt", BACKLOGS, "backlogs.txt: is not a .csv file; expected the CSV file relay reads"),
    ("backlogs", "backlogs.csv", b"asset,time,backlog_mbit\n\xff\xfe,x,1\n",
     "backlogs.csv: is not UTF-8 text; expected a CSV file"),
    ("backlogs", "big.csv", "asset,time,backlog_mbit\n" + "Perseverance,2026-12-07T00:00:00Z,1\n" * 70000,
     "big.csv: is 2,520,024 bytes; expected at most 2,097,152 bytes"),
    ("backlogs", "outages.csv", "target,what,start,end\nTGO,uhf,2026-12-08T00:00:00Z,2026-12-08T01:00:00Z\n",
     "outages.csv: "),
    ("outages", "backlogs.csv", BACKLOGS, "backlogs.csv: "),
    ("requests", "requests.csv", "id,asset,start,end\nQ1,Opportunity,2026-12-08T00:00:00Z,2026-12-08T01:00:00Z\n",
     "requests.csv: line 2: asset 'Opportunity' is not in the scenario; expected one of Curiosity, Perseverance"),
])
def test_a_bad_upload_answers_its_paragraph_and_stores_nothing(world, kind, name, data, detail):
    before = stored()
    r = upload(world.client("coordinator"), world.cycle.pk, kind, name, data)
    assert r.status_code == 400, r.content
    assert r.json()["detail"].startswith(detail), r.json()["detail"]
    assert "\n" not in r.json()["detail"] and "Traceback" not in r.json()["detail"]
    assert stored() == before


def test_an_upload_without_its_file_is_refused(world):
    before = stored()
    r = world.client("coordinator").post(f"/api/cycles/{world.cycle.pk}/upload/backlogs", {})
    assert 400 <= r.status_code < 500 and "file" in r.json()["detail"]
    assert stored() == before


# ----------------------------------------------------------------------------- log-in CSRF
def test_the_json_log_in_is_csrf_checked(world):
    from django.test import Client

    w = world
    creds = {"username": w.users["viewer"].username, "password": w.password}
    forged = Client(enforce_csrf_checks=True)  # a page of another site posting the attacker's account
    r = forged.post("/api/auth/login", creds, content_type=J)
    assert r.status_code == 403
    assert r.json()["detail"].startswith("CSRF check failed: log-in needs the relay_csrftoken cookie")
    assert "relay_session" not in r.cookies
    other = Client(enforce_csrf_checks=True).get("/api/auth/csrf").json()["csrftoken"]
    r = forged.post("/api/auth/login", creds, content_type=J, HTTP_X_CSRFTOKEN=other)  # a token without its cookie
    assert r.status_code == 403 and "relay_session" not in r.cookies

    browser = Client(enforce_csrf_checks=True)
    first = browser.get("/api/auth/csrf")
    assert first.status_code == 200 and first.cookies["relay_csrftoken"].value
    r = browser.post("/api/auth/login", creds, content_type=J, HTTP_X_CSRFTOKEN=first.json()["csrftoken"])
    assert r.status_code == 200 and r.json()["role"] == "viewer"
    assert r.cookies["relay_session"]["httponly"]
    # log-in rotates the token; the answer carries the new one for the unsafe calls that follow
    assert browser.post("/api/tokens", {"name": "s"}, content_type=J,
                        HTTP_X_CSRFTOKEN=r.json()["csrftoken"]).status_code == 200


def test_a_refused_csrf_check_is_not_a_failed_log_in(world):
    """A forged log-in is refused before the password is tried: it does not count towards the
    rate limit (a third party cannot lock an account out through a visitor's browser)."""
    from django.test import Client

    w = world
    name = w.users["lander2"].username
    for _ in range(8):
        assert Client(enforce_csrf_checks=True).post("/api/auth/login", {"username": name, "password": "no"},
                                                     content_type=J).status_code == 403
    assert Client().post("/api/auth/login", {"username": name, "password": w.password},
                         content_type=J).status_code == 200
