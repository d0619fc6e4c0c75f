"""The relay service through its API: the whole workflow, bad requests, 409, publication, faults.

A lander team requests, an orbiter team declares a safe mode, the coordinator runs and
publishes, the request is met with its reason, a later veto re-plans (the engine's re-plan
path) and the diff names the veto.  Runs execute on a thread pool through the same code
path as on Dask (tests/service_world.py).  The small scenario, one day, keeps each run fast.
"""
from __future__ import annotations

import csv
import importlib.util
import io
import os
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest

if importlib.util.find_spec("django") is None or importlib.util.find_spec("ninja") is None:
    pytest.skip("the service extra is not installed (pip install -e '.[service]')", allow_module_level=True)

from service_world import World, django_ready, hold_task, wait_run  # noqa: E402

#: one worker process runs the service tests (one configured Django, one SQLite database)
pytestmark = pytest.mark.xdist_group("service")

ROOT = Path(__file__).resolve().parents[1]
J = "application/json"


@pytest.fixture(scope="module")
def world():
    django_ready()
    return World()


def post(client, url, body):
    return client.post(url, body, content_type=J)


def run_and_wait(client, cycle_id, mode="auto"):
    r = post(client, f"/api/cycles/{cycle_id}/runs", {"mode": mode})
    assert r.status_code == 202, r.content
    run = wait_run(client, r.json()["id"])
    assert run["status"] == "done", run["error"]
    return run


@pytest.mark.slow
def test_whole_workflow(world):
    w = World()  # a cycle of its own: the other tests file records in the module's
    lander, orbiter, coord = w.client("lander"), w.client("orbiter"), w.client("coordinator")
    req = post(lander, "/api/requests", {"cycle": w.cycle.pk, "id": "REQ-1", "asset": "Perseverance",
                                         "start": "2026-12-08T00:00:00Z", "end": "2026-12-08T08:00:00Z",
                                         "min_mbit": 5, "note": "drive data"})
    assert req.status_code == 200, req.content
    out = post(orbiter, "/api/outages", {"cycle": w.cycle.pk, "target": "TGO", "what": "all",
                                         "start": "2026-12-08T10:00:00Z", "end": "2026-12-08T14:00:00Z",
                                         "note": "safe mode"})
    assert out.status_code == 200, out.content
    run = run_and_wait(coord, w.cycle.pk)
    plan = coord.get(f"/api/plans/{run['plan']}").json()
    assert plan["status"] == "proposed" and plan["number"] == 1
    sessions = coord.get(f"/api/plans/{run['plan']}/sessions", {"orbiter": "TGO"}).json()["items"]
    assert sessions and not any("2026-12-08T10:00" <= s["start"] < "2026-12-08T14:00" for s in sessions)
    pub = post(coord, f"/api/plans/{run['plan']}/publish", {"version": plan["version"], "comment": "ok"})
    assert pub.status_code == 200, pub.content
    assert pub.json()["status"] == "published"
    status = lander.get(f"/api/plans/{run['plan']}/requests").json()["items"]
    assert [(r["id"], r["status"]) for r in status] == [("REQ-1", "met")]
    assert status[0]["reason"] and status[0]["sessions"]

    # a later veto of the first session the request got: the run re-plans the published version
    first = [s for s in coord.get(f"/api/plans/{run['plan']}/sessions", {"asset": "Perseverance"}).json()["items"]
             if s["start"] < "2026-12-08T08:00"][0]
    veto = post(lander, "/api/vetoes", {"cycle": w.cycle.pk, "orbiter": first["orbiter"], "asset": "Perseverance",
                                        "start": first["start"], "end": first["end"], "note": "arm stowed"})
    assert veto.status_code == 200, veto.content
    run2 = run_and_wait(coord, w.cycle.pk)
    diff = coord.get(f"/api/plans/{run2['plan']}/diff").json()
    assert diff["replanned"] is True
    removed = [r for r in diff["diff"]["removed"] + diff["diff"]["moved"] if r["start_before"] == first["start"]]
    assert removed, diff
    assert removed[0]["reason"] == "vetoed" and "arm stowed" in removed[0]["reason_detail"]
    assert removed[0]["cause"].startswith("veto of ")     # the engine's cause: the veto itself
    assert any(f"veto {veto.json()['id']} added" in x for x in removed[0]["records"])

    # the published plan's files, as relay plan writes them, and the orbiter team's session list
    z = zipfile.ZipFile(io.BytesIO(coord.get(f"/api/plans/{run['plan']}/files").content))
    assert {"schedule.csv", "summary.json", "report.html", "problem.json"} <= set(z.namelist())
    tgo = w.client("orbiter").get(f"/api/plans/{run['plan']}/orbiters/TGO")
    assert tgo["Content-Type"].startswith("text/csv")
    assert all(r["orbiter"] == "TGO" for r in csv.DictReader(io.StringIO(tgo.content.decode())))
    # notifications: the lander team heard of the plan versions touching its asset
    notes = lander.get("/api/notifications").json()["items"]
    assert any("published" in n["text"] and "REQ-1: met" in n["text"] for n in notes)
    audit = coord.get("/api/audit", {"cycle": w.cycle.pk}).json()["items"]
    actions = [a["action"] for a in audit]
    assert {"request.create", "outage.create", "plan.create", "plan.publish", "veto.create"} <= set(actions)
    assert w.client("lander").get("/api/audit").status_code == 403


def test_stale_edit_answers_409_with_the_current_record(world):
    w = world
    lander = w.client("lander")
    e = post(lander, "/api/requests", {"cycle": w.cycle.pk, "id": "R409", "asset": "Perseverance",
                                       "start": "2026-12-08T00:00:00Z", "end": "2026-12-08T06:00:00Z"}).json()
    ok = lander.patch(f"/api/entries/{e['id']}", {"version": 1, "fields": {"min_mbit": 3}}, content_type=J)
    assert ok.status_code == 200 and ok.json()["version"] == 2
    stale = lander.patch(f"/api/entries/{e['id']}", {"version": 1, "fields": {"min_mbit": 4}}, content_type=J)
    assert stale.status_code == 409
    assert stale.json()["current"]["version"] == 2 and stale.json()["current"]["fields"]["min_mbit"] == "3"


@pytest.mark.parametrize("body, status, words", [
    ({"id": "B1", "asset": "Perseverance", "start": "2026-12-08T00:00:00", "end": "2026-12-08T06:00:00Z"}, 400,
     "row 1, column start: got '2026-12-08T00:00:00' with no time zone"),
    ({"id": "B2", "asset": "Perseverance", "orbiter": "Nope", "start": "2026-12-08T00:00:00Z",
      "end": "2026-12-08T06:00:00Z"}, 400, "Nope"),
    ({"id": "B3", "asset": "Perseverance", "colour": "red"}, 422, "colour: unknown field"),
    ({"id": "B4", "asset": "Perseverance", "start": "2026-12-08T06:00:00Z", "end": "2026-12-08T00:00:00Z"}, 400,
     "requests: row 1"),
])
def test_bad_requests_answer_the_command_lines_message_and_store_nothing(world, body, status, words):
    from relay.service.models import Entry

    w = world
    before = Entry.objects.count()
    r = post(w.client("lander"), "/api/requests", {"cycle": w.cycle.pk, **body})
    assert r.status_code == status, r.content
    assert words in r.json()["detail"]
    assert Entry.objects.count() == before


def test_malformed_json_is_refused(world):
    r = world.client("lander").post("/api/requests", "{not json", content_type=J)
    assert 400 <= r.status_code < 500


def test_upload_goes_through_the_same_reader(world, tmp_path):
    from relay.service.models import Entry

    w = world
    lander = w.client("lander")
    good = "id,asset,start,end,note\nU1,Perseverance,2026-12-08T00:00:00Z,2026-12-08T03:00:00Z,=HYPERLINK(1)\n"
    r = lander.post(f"/api/cycles/{w.cycle.pk}/upload/requests",
                    {"file": _upload("requests.csv", good)})
    assert r.status_code == 200, r.content
    assert r.json()["count"] == 1
    bad = "id,asset,start,end\nU2,Perseverance,2026-12-08T00:00:00Z,2026-12-08T03:00:00Z\nU3,Perseverance,x,y\n"
    before = Entry.objects.count()
    r = lander.post(f"/api/cycles/{w.cycle.pk}/upload/requests", {"file": _upload("mine.csv", bad)})
    assert r.status_code == 400
    assert r.json()["detail"].startswith("mine.csv: line 3, column start: got 'x'")
    assert Entry.objects.count() == before
    r = lander.post(f"/api/cycles/{w.cycle.pk}/upload/requests", {"file": _upload("x.txt", good)})
    assert r.status_code == 400 and "not a .csv file" in r.json()["detail"]
    big = "id,asset,start,end\n" + "#" * (3 * 1024 * 1024) + "\n"
    r = lander.post(f"/api/cycles/{w.cycle.pk}/upload/requests", {"file": _upload("big.csv", big)})
    assert 400 <= r.status_code < 500 and Entry.objects.count() == before
    # the CSV export is the file relay reads, formula-safe
    text = w.client("viewer").get("/api/entries", {"cycle": w.cycle.pk, "kind": "request", "format": "csv"})
    assert "'=HYPERLINK(1)" in text.content.decode()


def _upload(name, text):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def test_a_team_cannot_touch_another_teams_records(world):
    w = world
    e = post(w.client("lander"), "/api/requests", {"cycle": w.cycle.pk, "id": "OWN", "asset": "Perseverance",
                                                    "start": "2026-12-08T00:00:00Z",
                                                    "end": "2026-12-08T06:00:00Z"}).json()
    other = w.client("lander2")
    assert other.patch(f"/api/entries/{e['id']}", {"version": 1, "fields": {"note": "x"}},
                       content_type=J).status_code == 403
    assert post(other, f"/api/entries/{e['id']}/withdraw", {"version": 1}).status_code == 403
    assert post(other, "/api/requests", {"cycle": w.cycle.pk, "id": "X", "asset": "Perseverance",
                                         "start": "2026-12-08T00:00:00Z",
                                         "end": "2026-12-08T06:00:00Z"}).status_code == 403
    # an orbiter team cannot declare another orbiter out
    r = post(w.client("orbiter"), "/api/outages", {"cycle": w.cycle.pk, "target": "MRO", "what": "all",
                                                   "start": "2026-12-08T00:00:00Z", "end": "2026-12-08T01:00:00Z"})
    assert r.status_code == 403
    assert post(w.client("lander"), f"/api/entries/{e['id']}/withdraw", {"version": 1}).json()["withdrawn"]


def test_concurrent_publications_leave_exactly_one_published_version(world):
    from django.db import connection

    from relay.service import plans
    from relay.service.models import PlanVersion, Run

    w = World()
    coord = w.users["coordinator"]
    made = []
    for n in (1, 2):
        run = Run.objects.create(cycle=w.cycle, requested_by=coord, status="done")
        made.append(PlanVersion.objects.create(cycle=w.cycle, number=n, run=run, scenario=w.scenario, files=b"",
                                               author=coord))
    outcomes = []

    def publish(p):
        try:
            plans.publish(coord, p, p.version)
            outcomes.append("ok")
        except Exception as exc:  # noqa: BLE001 (the loser's error is the outcome)
            outcomes.append(type(exc).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=publish, args=(p,)) for p in made + made]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert PlanVersion.objects.filter(cycle=w.cycle, status="published").count() == 1
    assert outcomes.count("Conflict") >= 2


def test_runs_left_by_a_dead_process_are_marked_failed_and_retryable(world):
    from relay.service import runs
    from relay.service.models import Run

    w = world
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    owner = f"{runs.owner().rpartition(':')[0]}:{dead.stdout.strip()}"
    r = Run.objects.create(cycle=w.cycle, requested_by=w.users["coordinator"], status="running", owner=owner)
    assert runs.recover() >= 1
    r.refresh_from_db()
    assert r.status == "failed" and "stopped" in r.error
    again = post(w.client("coordinator"), f"/api/runs/{r.pk}/retry", {})
    assert again.status_code == 202
    assert wait_run(w.client("coordinator"), again.json()["id"])["status"] == "done"


def test_migrations_from_empty_and_none_missing(tmp_path):
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    r = subprocess.run([sys.executable, "-m", "relay", "db", "upgrade", "--data", str(tmp_path / "d")],
                       capture_output=True, text=True, env=env, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "d" / "relay.sqlite3").exists()
    assert oct((tmp_path / "d" / "secret_key").stat().st_mode & 0o777) == "0o600"
    check = ("import sys; from relay.service.settings import configure; configure(sys.argv[1]); "
             "from django.core.management import call_command; "
             "call_command('makemigrations', 'relay_service', check=True, dry_run=True)")
    r = subprocess.run([sys.executable, "-c", check, str(tmp_path / "d")], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stdout + r.stderr


def test_the_engine_never_imports_django():
    code = ("import sys, relay.api, relay.result, relay.plandiff, relay.inputs, relay.service.engine; "
            "print(any(m == 'django' or m.startswith('django.') for m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.stdout.strip() == "False", r.stderr


def test_a_request_by_sol_and_lmst_gets_its_utc_window(world):
    w = world
    r = post(w.client("lander"), "/api/requests", {"cycle": w.cycle.pk, "id": "SOL1", "asset": "Perseverance",
                                                   "sol": 54366, "lmst_window": "13:00-15:00"})
    assert r.status_code == 200, r.content
    e = r.json()
    assert e["sol"] == 54366 and e["start"] < e["end"] and e["start"].startswith("2026-12-08")
    bad = post(w.client("lander"), "/api/requests", {"cycle": w.cycle.pk, "id": "SOL2", "asset": "Perseverance",
                                                     "sol": 54366, "lmst_window": "13:75-15:00"})
    assert bad.status_code == 400 and "column lmst_window" in bad.json()["detail"]


def test_user_strings_are_escaped_in_pages_and_csv():
    from django.test import Client

    from relay.service.csvexport import csv_text

    django_ready()
    page = Client().post("/login", {"username": "<script>x</script>", "password": "p"})
    assert page.status_code == 401
    assert b"<script>x" not in page.content and b"&lt;script&gt;x" in page.content
    text = csv_text([{"a": "=1+2", "b": "+x", "c": "-3", "d": "@SUM", "e": 4.5, "f": "plain"}])
    assert text.splitlines()[1] == "'=1+2,'+x,'-3,'@SUM,4.5,plain"


@pytest.mark.slow
def test_station_bookings_of_an_orbiter_team_replace_the_scenarios_and_plan_the_cycle_anew():
    django_ready()
    w = World()
    orbiter, coord = w.client("orbiter"), w.client("coordinator")
    first = run_and_wait(coord, w.cycle.pk)
    plan = coord.get(f"/api/plans/{first['plan']}").json()
    assert post(coord, f"/api/plans/{first['plan']}/publish", {"version": plan["version"]}).status_code == 200
    r = post(orbiter, "/api/bookings", {"cycle": w.cycle.pk, "orbiter": "TGO", "station": "Madrid",
                                        "start": "2026-12-08T07:00:00Z", "end": "2026-12-08T08:00:00Z"})
    assert r.status_code == 200, r.content
    assert post(orbiter, "/api/bookings", {"cycle": w.cycle.pk, "orbiter": "MRO", "station": "Madrid",
                                           "start": "2026-12-08T06:00:00Z",
                                           "end": "2026-12-08T10:00:00Z"}).status_code == 403
    bad = post(orbiter, "/api/bookings", {"cycle": w.cycle.pk, "orbiter": "TGO", "station": "Nowhere",
                                          "start": "2026-12-08T06:00:00Z", "end": "2026-12-08T10:00:00Z"})
    assert bad.status_code == 400 and "Nowhere" in bad.json()["detail"]
    second = run_and_wait(coord, w.cycle.pk)
    diff = coord.get(f"/api/plans/{second['plan']}/diff").json()
    assert diff["replanned"] is False and diff["diff"] is not None
    z = zipfile.ZipFile(io.BytesIO(coord.get(f"/api/plans/{second['plan']}/files").content))
    downlinks = list(csv.DictReader(io.StringIO(z.read("downlinks.csv").decode())))
    assert downlinks and {d["station"] for d in downlinks if d["orbiter"] == "TGO"} <= {"Madrid"}


def test_a_run_in_flight_blocks_neither_reads_nor_edits(world, monkeypatch):
    w = world
    started, release = hold_task(monkeypatch, "plan_task", timeout_s=60)
    coord, lander = w.client("coordinator"), w.client("lander")
    run = post(coord, f"/api/cycles/{w.cycle.pk}/runs", {}).json()
    try:
        assert started.wait(60)
        assert coord.get(f"/api/runs/{run['id']}").json()["status"] == "running"
        assert lander.get("/api/entries", {"cycle": w.cycle.pk}).status_code == 200
        e = post(lander, "/api/requests", {"cycle": w.cycle.pk, "id": "DURING", "asset": "Perseverance",
                                           "start": "2026-12-08T00:00:00Z", "end": "2026-12-08T02:00:00Z"})
        assert e.status_code == 200, e.content
        assert lander.patch(f"/api/entries/{e.json()['id']}", {"version": 1, "fields": {"note": "edited"}},
                            content_type=J).status_code == 200
    finally:
        release.set()
    assert wait_run(coord, run["id"])["status"] == "done"


def test_overflights_of_a_cycle_with_sol_and_lmst(world):
    w = world
    r = w.client("viewer").get(f"/api/cycles/{w.cycle.pk}/overflights", {"asset": "Curiosity", "orbiter": "TGO"})
    assert r.status_code == 200, r.content
    rows = r.json()["items"]
    assert rows and all(x["asset"] == "Curiosity" and x["orbiter"] == "TGO" for x in rows)
    assert rows[0]["rise"].startswith("2026-12-08") and rows[0]["sol"] == 54366
    assert len(rows[0]["lmst_start"]) == 8
    text = w.client("viewer").get(f"/api/cycles/{w.cycle.pk}/overflights", {"format": "csv"}).content.decode()
    assert text.startswith("pass_id,orbiter,asset,rise,set")
