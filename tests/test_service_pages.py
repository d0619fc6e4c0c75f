"""The service's pages through Django's test client (the browser flow is tests/test_service_browser.py).

Each page goes through the same record functions and permission table as the API: a lander team
files a request by sol + LMST and sees the passes of its window; a bad entry shows the command
line's message beside its field, keeps what was typed and stores nothing; another lander team
sees no edit control and is refused (403) when it posts anyway; an orbiter team previews the
sessions an outage hits before saving; the coordinator runs, reviews the diff and publishes; the
request is then met with its reason.  User strings are escaped on every page.
"""
from __future__ import annotations

import importlib.util
import re
import time

import pytest

if importlib.util.find_spec("django") is None or importlib.util.find_spec("ninja") is None:
    pytest.skip("the service extra is not installed (pip install -e '.[service]')", allow_module_level=True)

from service_world import World, django_ready  # noqa: E402

#: one worker process runs the service tests (one configured Django, one SQLite database)
pytestmark = pytest.mark.xdist_group("service")

#: the small scenario's Perseverance is on Mars sol (MSD) 54366 on 2026-12-08 (no landing: MSD numbering)
SOL = "54366"


@pytest.fixture(scope="module")
def world():
    django_ready()
    return World()


def browser(w, role):
    from django.test import Client

    c = Client()
    c.force_login(w.users[role])
    return c


def request_form(**over) -> dict:
    form = {"id": "DRIVE-1", "asset": "Perseverance", "orbiter": "", "kind": "return", "priority": "required",
            "mode": "sol", "start": "", "end": "", "sol": SOL, "lmst_window": "13:00-18:30", "min_mbit": "1",
            "min_duration_s": "", "points": "", "note": "drive <b>data</b>"}
    return {**form, **over}


def entries(w, kind):
    from relay.service.models import Entry

    return list(Entry.objects.filter(cycle=w.cycle, kind=kind))


def test_every_page_needs_a_login(world):
    from django.test import Client

    from relay.service.urls import PAGES

    anon = Client()
    for p in PAGES:
        url = "/" + re.sub(r"<int:\w+>", str(world.cycle.pk), str(p.pattern))
        r = anon.get(url)
        assert r.status_code == 302 and r["Location"].startswith("/login"), (url, r.status_code)


def test_login_page_and_home_per_role(world):
    from django.test import Client

    c = Client()
    page = c.get("/login")
    assert page.status_code == 200 and b"csrfmiddlewaretoken" in page.content and b'<label for="username">' in page.content
    r = c.post("/login", {"username": world.users["lander"].username, "password": world.password})
    assert r.status_code == 302 and r["Location"] == "/"
    home = c.get("/").content.decode()
    assert "My relay requests" in home and "Unavailability over my passes" in home and "Notifications" in home
    assert world.cycle.name in home
    # the browser fetches the timeline's plotly.js (under the versioned name it is served by) ahead
    from relay.service.pages_common import plotly_name

    assert f'<link rel="prefetch" href="/static/{plotly_name()}">' in home
    assert c.get(f"/static/{plotly_name()}").status_code == 200
    assert "prefetch" not in page.content.decode()  # not before the log-in
    coord = browser(world, "coordinator").get("/").content.decode()
    assert "Runs in flight" in coord and "My relay requests" not in coord
    assert c.post("/logout").status_code == 302 and c.get("/").status_code == 302


@pytest.mark.parametrize("over, field, words", [
    ({"mode": "utc", "start": "2026-12-08T10:00:00", "end": "2026-12-08T12:00:00Z"}, "start", "zone"),
    ({"lmst_window": "13:75"}, "lmst_window", "13:00-15:30"),
    ({"orbiter": "Voyager"}, "orbiter", "Voyager"),
])
def test_a_bad_entry_shows_the_readers_message_beside_its_field_and_stores_nothing(world, over, field, words):
    from relay.errors import RelayInputError
    from relay.service import engine, records
    from relay.service.pages_requests import cells_of, frame

    before = len(entries(world, "request"))
    form = request_form(id="BAD-1", **over)
    r = browser(world, "lander").post(f"/cycles/{world.cycle.pk}/requests", form)
    assert r.status_code == 400
    html = r.content.decode()
    with pytest.raises(RelayInputError) as exc:  # the message relay's reader gives (as the command line)
        engine.check_rows("request", frame(cells_of(form)), records.scenario_of(world.cycle.scenario))
    import html as h

    shown = re.search(rf'<p class="error field-error" id="e-{field}" role="alert">(.*?)</p>', html, re.S)
    assert shown, html[:3000]
    assert h.unescape(shown.group(1)) == str(exc.value) and words in str(exc.value)
    typed = over.get(field) or form[field]
    assert f'value="{h.escape(typed)}"' in html  # what was typed is kept
    assert len(entries(world, "request")) == before


def test_lander_files_by_sol_and_lmst_and_sees_the_passes_of_its_window(world):
    c = browser(world, "lander")
    passes = c.get(f"/cycles/{world.cycle.pk}/window-passes", request_form()).content.decode()
    assert "window-passes-table" in passes and "TGO" in passes
    n = int(re.search(r"<strong>(\d+) pass\(es\)</strong>", passes).group(1))
    from relay.service.pages_requests import cells_of, window_passes

    rows, (lo, hi) = window_passes(world.cycle, cells_of(request_form()))
    assert n == len(rows) > 0 and all(p["asset"] == "Perseverance" and p["rise"] < hi and p["set"] > lo for p in rows)
    r = c.post(f"/cycles/{world.cycle.pk}/requests", request_form())
    assert r.status_code == 302, r.content[:2000]
    page = c.get(r["Location"]).content.decode()
    assert "DRIVE-1 filed" in page and "drive &lt;b&gt;data&lt;/b&gt;" in page and "<b>data" not in page
    assert f"sol {SOL}, 13:00-18:30 LMST" in page


def test_another_lander_team_sees_no_edit_control_and_is_refused(world):
    own = browser(world, "lander")
    own.post(f"/cycles/{world.cycle.pk}/requests", request_form(id="MINE-1"))
    e = next(x for x in entries(world, "request") if x.fields["id"] == "MINE-1")
    assert f'href="/requests/{e.pk}#h-edit"' in own.get(f"/cycles/{world.cycle.pk}/requests").content.decode()
    other = browser(world, "lander2")
    listing = other.get(f"/cycles/{world.cycle.pk}/requests").content.decode()
    assert "MINE-1" in listing and f'href="/requests/{e.pk}#h-edit"' not in listing
    assert f'action="/requests/{e.pk}/withdraw"' not in listing
    detail = other.get(f"/requests/{e.pk}").content.decode()
    assert 'id="request-form"' not in detail
    assert other.post(f"/requests/{e.pk}", request_form(id="MINE-1", note="hijack") | {"version": e.version}) \
        .status_code == 403
    assert other.post(f"/requests/{e.pk}/withdraw", {"version": e.version}).status_code == 403
    assert other.post(f"/cycles/{world.cycle.pk}/requests", request_form(id="THEIRS-1")).status_code == 403
    e.refresh_from_db()
    assert e.fields["note"] == "drive <b>data</b>" and not e.withdrawn and e.version == 1


def test_an_edit_that_lost_a_race_shows_the_current_version(world):
    c = browser(world, "lander")
    c.post(f"/cycles/{world.cycle.pk}/requests", request_form(id="RACE-1"))
    e = next(x for x in entries(world, "request") if x.fields["id"] == "RACE-1")
    assert c.post(f"/requests/{e.pk}", request_form(id="RACE-1", note="first") | {"version": 1}).status_code == 302
    r = c.post(f"/requests/{e.pk}", request_form(id="RACE-1", note="second") | {"version": 1})
    assert r.status_code == 409
    html = r.content.decode()
    assert "now at version 2" in html and "<td class=\"l\">first</td><td class=\"l\">second</td>" in html


def wait_done(client, run_id, timeout_s=120.0):
    t_end = time.monotonic() + timeout_s
    while True:
        run = client.get(f"/runs/{run_id}/progress").json()
        if run["status"] in ("done", "failed") or time.monotonic() > t_end:
            return run
        time.sleep(0.1)


@pytest.mark.slow
def test_outage_preview_run_review_publish_and_the_request_met():
    django_ready()
    w = World()
    lander, orbiter, coord = browser(w, "lander"), browser(w, "orbiter"), browser(w, "coordinator")
    form = request_form(mode="utc", start="2026-12-08T00:00:00Z", end="2026-12-08T08:00:00Z", sol="",
                        lmst_window="")
    assert lander.post(f"/cycles/{w.cycle.pk}/requests", form).status_code == 302
    assert orbiter.post(f"/cycles/{w.cycle.pk}/run").status_code == 403
    r = coord.post(f"/cycles/{w.cycle.pk}/run", {"mode": "auto"})
    run_id = int(r["Location"].rsplit("=", 1)[1])
    run = wait_done(coord, run_id)
    assert run["status"] == "done", run
    plan = coord.get(f"/plans/{run['plan']}").content.decode()
    assert "Publish plan v1" in plan and "No published version" in plan
    from relay.service.models import PlanVersion

    p = PlanVersion.objects.get(pk=run["plan"])
    assert "Publish plan" not in lander.get(f"/plans/{p.pk}").content.decode()
    assert lander.post(f"/plans/{p.pk}/publish", {"version": p.version}).status_code == 403
    assert coord.post(f"/plans/{p.pk}/publish", {"version": p.version, "comment": "week <ok>"}).status_code == 302
    p.refresh_from_db()
    assert p.status == "published" and p.comment == "week <ok>"

    # the orbiter team previews an outage (nothing stored), then saves it
    out = {"target": "TGO", "what": "all", "start": "2026-12-08T00:00:00Z", "end": "2026-12-08T06:00:00Z",
           "note": "safe mode", "orbiter": ""}
    pre = orbiter.post(f"/cycles/{w.cycle.pk}/outages", {**out, "action": "preview"}).content.decode()
    hit = [s for s in p.sessions if s["orbiter"] == "TGO" and s["start"] < out["end"] and s["end"] > out["start"]]
    assert hit and f"<strong>{len(hit)} planned session(s)</strong>" in pre and not entries(w, "outage")
    assert orbiter.post(f"/cycles/{w.cycle.pk}/outages", {**out, "target": "MRO", "action": "preview"}) \
        .status_code == 403
    assert orbiter.post(f"/cycles/{w.cycle.pk}/outages", {**out, "action": "save"}).status_code == 302
    assert len(entries(w, "outage")) == 1
    covered = [x for x in p.passes if x["orbiter"] == "TGO" and x["asset"] == "Perseverance"
               and x["rise"] < "2026-12-08T06:00:00.000Z" and x["set"] > "2026-12-08T00:00:00.000Z"]
    home = lander.get("/").content.decode()
    assert covered and "safe mode" in home and f"<td>{len(covered)}</td>" in home

    # the lander team sees its request met, with the reason, in the published version
    status = lander.get(f"/requests/{entries(w, 'request')[0].pk}").content.decode()
    req = p.requests[0]
    assert req["status"] == "met" and f'<span class="tag">met</span>' in status and req["reason"] in status
    # a re-plan after the outage: the diff names it
    run = wait_done(coord, int(coord.post(f"/cycles/{w.cycle.pk}/run")["Location"].rsplit("=", 1)[1]))
    diff = coord.get(f"/plans/{run['plan']}").content.decode()
    assert "outage of TGO (all)" in diff and f"{len(hit)} removed" in diff
    timeline = coord.get(f"/cycles/{w.cycle.pk}/timeline").content.decode()  # the published version: no diff
    assert 'id="timeline-orbiter"' in timeline and 'id="timeline-asset"' in timeline
    assert 'id="timeline-diff"' not in timeline
    replanned = coord.get(f"/cycles/{w.cycle.pk}/timeline", {"plan": run["plan"]}).content.decode()
    assert 'id="timeline-diff"' in replanned and "removed: Perseverance" in replanned
    assert replanned.count("removed: ") >= len(hit)
    from relay.service.pages_common import plotly_name

    js = coord.get(f"/static/{plotly_name()}")  # versioned: kept by the browser for good
    assert f"/static/{plotly_name()}" in timeline and js.status_code == 200 and "immutable" in js["Cache-Control"]
    sols = coord.get(f"/cycles/{w.cycle.pk}/sols").content.decode()
    assert 'id="per-sol"' in sols and "Perseverance" in sols


def test_audit_page_is_for_oversight(world):
    assert browser(world, "lander").get("/audit").status_code == 403
    page = browser(world, "coordinator").get("/audit", {"action": "cycle."}).content.decode()
    assert "cycle.create" in page and "request.create" not in page


def test_a_sol_before_the_landing_shows_the_readers_message_and_stores_nothing(world):
    """With a landing in the scenario (mission sols), sol -3 is refused beside its field with the
    reader's paragraph (as ``relay plan --requests`` gives it), and nothing is stored."""
    import yaml

    from relay.service import records
    from relay.service.models import Entry

    data = yaml.safe_load(world.scenario.text)
    for a in data["assets"]:
        if a["name"] == "Perseverance":
            a["landing"] = {"date": "2021-02-18T20:44:00Z", "sol": 0}
    sv = records.create_scenario(world.users["coordinator"], f"{world.scenario.name}-landed", yaml.safe_dump(data))
    cycle = records.create_cycle(world.users["coordinator"], f"{world.cycle.name} landed", sv, world.cycle.start, 1)
    form = request_form(id="EARLY-1", sol="-3", lmst_window="12:00-13:00")
    r = browser(world, "lander").post(f"/cycles/{cycle.pk}/requests", form)
    assert r.status_code == 400
    html = r.content.decode()
    assert "sol -3 of Perseverance is before its landing" in html and 'value="-3"' in html
    assert not Entry.objects.filter(cycle=cycle).exists()


@pytest.fixture(scope="module")
def two_versions():
    """A cycle with two proposed plan versions (none published): v1, then v2 planned after an
    outage of TGO over its first six hours; and the TGO sessions of v1 the outage covers."""
    django_ready()
    w = World()
    coord, orbiter = browser(w, "coordinator"), browser(w, "orbiter")
    from relay.service.models import PlanVersion

    def run():
        r = coord.post(f"/cycles/{w.cycle.pk}/run", {"mode": "full"})
        result = wait_done(coord, int(r["Location"].rsplit("=", 1)[1]))
        assert result["status"] == "done", result
        return PlanVersion.objects.get(pk=result["plan"])

    v1 = run()
    out = {"target": "TGO", "what": "all", "start": "2026-12-08T00:00:00Z", "end": "2026-12-08T06:00:00Z",
           "note": "safe mode", "orbiter": "", "action": "save"}
    assert orbiter.post(f"/cycles/{w.cycle.pk}/outages", out).status_code == 302
    v2 = run()
    hit = [s for s in v1.sessions if s["orbiter"] == "TGO" and s["start"] < "2026-12-08T06:00:00.000Z"
           and s["end"] > "2026-12-08T00:00:00.000Z"]
    assert hit and v1.status == v2.status == "proposed"
    return w, v1, v2, hit


def diff_table(html: str) -> list[list[str]]:
    import html as h

    body = re.search(r'<table id="diff-table">.*?<tbody>(.*?)</tbody>', html, re.S)
    rows = re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S) if body else []
    return [[h.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)] for r in rows]


@pytest.mark.slow
def test_the_timeline_compares_any_two_versions_with_causes(two_versions):
    w, v1, v2, hit = two_versions
    c = browser(w, "lander")
    url = f"/cycles/{w.cycle.pk}/timeline"
    page = c.get(url, {"plan": v2.pk, "compare": v1.pk}).content.decode()
    assert f'<option value="{v1.pk}" selected>v1 (proposed)</option>' in page.replace("  ", " ")
    assert 'id="timeline-diff"' in page and "Changes from v1 (proposed) to v2" in page
    rows = diff_table(page)
    removed = [r for r in rows if r[0] == "removed"]
    # the TGO sessions of v1 inside the outage are removed (or moved out of it), each caused by the outage
    gone = [r for r in rows if r[0] in ("removed", "moved") and r[1] == "TGO"]
    assert removed and len(gone) >= len(hit) and f"{len(removed)} removed" in page
    inside = [r for r in gone if r[3][:19] < "2026-12-08 06:00:00"]
    assert len(inside) == len(hit) and all("outage of TGO (all)" in r[6] for r in inside), gone
    assert page.count("removed: ") >= len(removed)  # each removed session is a bar of the diff's timeline
    # the same diff the engine gives for the two stored plans
    from relay.plandiff import plan_diff
    from relay.service.pages_timeline import stored_result

    a, b = stored_result(v1.pk), stored_result(v2.pk)
    assert len(removed) == len(plan_diff(a.sessions, a.problem, b.sessions, b.problem)["removed"])
    # a version against itself: no change
    same = c.get(url, {"plan": v2.pk, "compare": v2.pk}).content.decode()
    assert 'id="timeline-diff"' not in same and f"No change: {len(v2.sessions)} session(s)" in same
    assert not diff_table(same)
    # no version published or superseded: no default to compare with
    alone = c.get(url, {"plan": v2.pk}).content.decode()
    assert 'id="timeline-diff"' not in alone and "No version to compare with by default" in alone


@pytest.mark.slow
def test_a_version_of_another_cycle_or_an_account_without_a_role_is_refused(two_versions, world):
    from django.contrib.auth import get_user_model
    from django.test import Client

    w, v1, v2, _ = two_versions
    c = browser(w, "coordinator")
    other = world.cycle.pk  # another cycle: its timeline does not compare with this cycle's versions
    assert c.get(f"/cycles/{other}/timeline", {"compare": v1.pk}).status_code == 404
    assert c.get(f"/cycles/{other}/timeline", {"plan": v2.pk}).status_code == 404
    assert c.get(f"/cycles/{w.cycle.pk}/timeline", {"plan": v2.pk, "compare": "999999999"}).status_code == 404
    nobody = get_user_model().objects.create_user(f"norole-{v1.pk}", password="x")
    anon = Client()
    anon.force_login(nobody)
    r = anon.get(f"/cycles/{w.cycle.pk}/timeline", {"plan": v2.pk, "compare": v1.pk})
    assert r.status_code == 403 and "plan.read is not allowed" in r.content.decode()


def test_notifications_are_marked_seen_one_by_one_from_the_home_page(world):
    from django.test import Client

    from relay.service import notify
    from relay.service.models import Notification

    user = world.users["orbiter2"]
    Notification.objects.filter(user=user).delete()  # (other tests' plans touch this team's orbiter too)
    for k in range(3):
        notify.send([user], world.cycle.pk, "test", f"note {k} <i>x</i>")
        time.sleep(0.002)
    notes = list(Notification.objects.filter(user=user).order_by("created"))
    assert len(notes) == 3
    c = Client(enforce_csrf_checks=True)
    c.force_login(user)
    home = c.get("/").content.decode()
    assert 'action="/notifications/seen"' in home and "Mark all seen" in home
    assert home.count('name="id" value="') == 3 and 'aria-label="Mark seen: note 1 &lt;i&gt;x&lt;/i&gt;"' in home
    assert "note 2 &lt;i&gt;x&lt;/i&gt;" in home and "<i>x" not in home
    assert c.post("/notifications/seen", {"id": notes[0].pk}).status_code == 403  # no CSRF token: refused
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', home).group(1)
    r = c.post("/notifications/seen", {"id": notes[1].pk, "csrfmiddlewaretoken": token})
    assert r.status_code == 302
    # only the middle one is seen: the older note 0 and the newer note 2 are still shown
    assert [n.pk for n in notify.unseen(user)] == [notes[2].pk, notes[0].pk]
    assert Notification.objects.get(pk=notes[1].pk).seen is not None
    home = c.get("/").content.decode()
    assert "note 2" in home and "note 1" not in home and "note 0" in home
    other = Notification.objects.create(user=world.users["lander"], topic="t", text="theirs")
    assert c.post("/notifications/seen", {"id": other.pk, "csrfmiddlewaretoken": token}).status_code == 404
    assert Notification.objects.get(pk=other.pk).seen is None  # another user's: untouched
    for bad in ("", "abc", "-1", "9" * 30):
        assert c.post("/notifications/seen", {"id": bad, "csrfmiddlewaretoken": token}).status_code == 404
    assert c.post("/notifications/seen", {"all": "1", "csrfmiddlewaretoken": token}).status_code == 302
    assert not list(notify.unseen(user)) and "Nothing new." in c.get("/").content.decode()
    assert Notification.objects.get(pk=other.pk).seen is None  # "all" is all of mine only
    assert c.get("/notifications/seen").status_code == 405


def test_the_notifications_api_lists_and_marks_seen_per_notification(world):
    from django.test import Client

    from relay.service import notify
    from relay.service.models import Notification

    user = world.users["orbiter2"]
    Notification.objects.filter(user=user).delete()
    for k in range(3):
        notify.send([user], world.cycle.pk, "test", f"api note {k}")
        time.sleep(0.002)
    notify.send([world.users["lander"]], world.cycle.pk, "test", "not mine")
    notes = list(Notification.objects.filter(user=user).order_by("created"))
    c = Client()
    c.force_login(user)

    def texts(**q):
        r = c.get("/api/notifications", q)
        assert r.status_code == 200, r.content
        return [n["text"] for n in r.json()["items"]]

    assert texts() == ["api note 2", "api note 1", "api note 0"]  # newest first, unseen by default
    mine = Notification.objects.filter(user=world.users["lander"]).first().pk
    r = c.post("/api/notifications/seen", {"ids": [notes[0].pk, mine]}, content_type="application/json")
    assert r.status_code == 200 and r.json() == {"marked": 1}  # the lander's left alone
    assert texts() == texts(seen="false") == ["api note 2", "api note 1"]
    assert texts(seen="true") == ["api note 0"]
    assert texts(all="true") == ["api note 2", "api note 1", "api note 0"]
    assert c.get("/api/notifications", {"seen": "maybe"}).status_code in (400, 422)
    assert c.post("/api/notifications/seen", {"ids": "x"}, content_type="application/json").status_code == 422
    assert c.post("/api/notifications/seen", {"id": 1}, content_type="application/json").status_code == 422
    r = c.post("/api/notifications/seen", {}, content_type="application/json")
    assert r.json() == {"marked": 2} and texts() == [] and len(texts(seen="true")) == 3
    csv = c.get("/api/notifications", {"seen": "true", "format": "csv"}).content.decode()
    assert csv.splitlines()[0].split(",").count("seen") == 1 and csv.count("api note") == 3
