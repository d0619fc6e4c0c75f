"""Predicted against achieved in the service (issues 21, 22): pass performance reports uploaded
against a plan version made by a real planning run, read by ``relay actuals ingest``'s reader.

The page's "Predicted vs achieved" section is compared with the engine's section computed
directly (``relay.actuals.reports.ingest`` on the version's own plan folder, then
``relay.actuals.report_section.actuals_view`` and ``relay.outputs.actuals_views.render_section``)
from the same CSV: the same HTML, so the same figures.  A bad file answers the reader's paragraph
and stores nothing; an orbiter team is refused another orbiter's rows (403 naming it); a lander
team is refused the upload; a ``<script>`` note is escaped on the page and a formula note made
safe in the CSV list.
"""
from __future__ import annotations

import importlib.util
import io
import re
import zipfile

import pytest

if importlib.util.find_spec("django") is None or importlib.util.find_spec("ninja") is None:
    pytest.skip("the service extra is not installed (pip install -e '.[service]')", allow_module_level=True)

from service_world import World, django_ready, planned_run  # noqa: E402

#: one worker process runs the service tests (one configured Django, one SQLite database)
pytestmark = pytest.mark.xdist_group("service")
HEADER = "orbiter,asset,start,end,achieved_mbit,outcome,note\n"
SCRIPT_NOTE = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def ctx():
    django_ready()
    w = World()
    coord = w.client("coordinator")
    run = planned_run(w, coord)
    sessions = coord.get(f"/api/plans/{run['plan']}/sessions").json()["items"]
    assert {s["orbiter"] for s in sessions} >= {"TGO", "MRO"}, sessions
    return {"w": w, "plan": run["plan"], "sessions": sessions}


def upload(name: str, text: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, text.encode())


def report_rows(sessions, orbiter: str, n: int, notes=()) -> str:
    """Reports of the first ``n`` sessions of ``orbiter``: the first achieves 80 % of its plan, the
    second fails, the rest achieve 110 %; ``notes`` go on the first rows."""
    rows = []
    for k, s in enumerate([s for s in sessions if s["orbiter"] == orbiter][:n]):
        achieved, outcome = (0.8 * s["volume_mbit"], "partial") if k == 0 else \
            (0.0, "failed") if k == 1 else (1.1 * s["volume_mbit"], "ok")
        note = notes[k] if k < len(notes) else ""
        rows.append(f'{s["orbiter"]},{s["asset"]},{s["start"]},{s["end"]},{achieved:.3f},{outcome},"{note}"\n')
    return "".join(rows)


def stored(plan_id: int) -> list:
    from relay.service.models import ActualsReport

    return list(ActualsReport.objects.filter(plan_id=plan_id).order_by("pk"))


def section_of(html: str) -> str:
    m = re.search(r'<section id="actuals">.*?</section>', html, re.S)
    assert m is not None, "no Predicted vs achieved section"
    return m.group(0)


def pair_table(section: str) -> dict:
    """The per-pair table of a section: (orbiter, asset) -> column -> cell text."""
    table = re.search(r'<table[^>]*id=.actuals-pairs..*?</table>', section, re.S).group(0)
    head = [re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<th[^>]*>(.*?)</th>", table, re.S)]
    out = {}
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.S):
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        if cells:
            out[(cells[0], cells[1])] = dict(zip(head, cells))
    return out


def engine_section(plan_id: int, files: list[tuple[str, str]], tmp_path) -> str:
    """The engine's section of the version's plan folder with the report ``files`` (name, text)
    ingested in turn (the command line's path)."""
    from relay.actuals.accounting import ledger
    from relay.actuals.report_section import actuals_view
    from relay.actuals.reports import ingest
    from relay.outputs.actuals_views import render_section
    from relay.service.models import PlanVersion

    folder = tmp_path / "plan"
    with zipfile.ZipFile(io.BytesIO(bytes(PlanVersion.objects.get(pk=plan_id).files))) as z:
        z.extractall(folder)
    for k, (name, text) in enumerate(files):
        (tmp_path / str(k)).mkdir()
        src = tmp_path / str(k) / name
        src.write_text(text, encoding="utf-8")
        ingest(src, folder)
    return render_section(actuals_view(ledger(folder)))


def browser(w, role):
    from django.test import Client

    c = Client(enforce_csrf_checks=True)
    c.force_login(w.users[role])
    return c


def csrf_of(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def test_upload_list_and_the_page_show_the_engines_figures(ctx, tmp_path):
    w, plan = ctx["w"], ctx["plan"]
    text = HEADER + report_rows(ctx["sessions"], "TGO", 4, notes=(SCRIPT_NOTE, "=HYPERLINK(1)"))
    text += "TGO,Perseverance,2026-12-08T23:00:00Z,2026-12-08T23:05:00Z,12.5,ok,no such session\n"
    r = w.client("orbiter").post(f"/api/plans/{plan}/actuals", {"file": upload("reports.csv", text)})
    assert r.status_code == 200, r.content[:500]
    body = r.json()
    assert body["count"] == 5 and body["replaced"] == 0 and len(body["unmatched"]) == 1
    assert body["unmatched"][0].startswith("line 6: TGO -> Perseverance 2026-12-08T23:00:00.000Z")
    matched = [i for i in body["items"] if i["option_id"]]
    assert len(matched) == 4 and {i["orbiter"] for i in body["items"]} == {"TGO"}

    # listed for every reader, JSON and formula-safe CSV
    listed = w.client("viewer").get(f"/api/plans/{plan}/actuals").json()
    assert listed["count"] == 5 and {i["note"] for i in listed["items"]} >= {SCRIPT_NOTE, "=HYPERLINK(1)"}
    csv_text = w.client("lander").get(f"/api/plans/{plan}/actuals", {"format": "csv"}).content.decode()
    assert "'=HYPERLINK(1)" in csv_text and ",=HYPERLINK" not in csv_text
    assert csv_text.splitlines()[0].startswith("id,plan_id,team,author_id,created,version,option_id,pass_id")
    only = w.client("viewer").get(f"/api/plans/{plan}/actuals", {"asset": matched[0]["asset"]}).json()
    assert only["count"] == sum(i["asset"] == matched[0]["asset"] for i in body["items"])

    # audited, with author and version
    from relay.service.models import AuditEvent
    reports = stored(plan)
    assert all(a.author_id == w.users["orbiter"].pk and a.version == 1 and not a.replaced for a in reports)
    assert AuditEvent.objects.filter(action="actuals.create", object_id__in=[a.pk for a in reports]).count() == 5

    # the page's section is the engine's, from the same CSV
    page = browser(w, "viewer").get(f"/plans/{plan}").content.decode()
    assert section_of(page) == section_of(engine_section(plan, [("reports.csv", text)], tmp_path))
    ctx["uploaded"] = [("reports.csv", text)]
    pairs = pair_table(section_of(page))
    for (o, a), got in pairs.items():  # hand sums of what was uploaded: achieved over the reported sessions
        mine = [float(i["achieved_mbit"]) for i in matched if (i["orbiter"], i["asset"]) == (o, a)]
        assert got["reported"] == str(len(mine)) and float(got["achieved_mbit"]) == pytest.approx(sum(mine), abs=1e-3)
    assert sum(int(p["reported"]) for p in pairs.values()) == 4
    assert SCRIPT_NOTE not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'id="actuals-upload"' not in page  # a viewer gets no upload form


def test_a_later_report_replaces_the_stored_one_as_the_engine_does(ctx, tmp_path):
    w, plan = ctx["w"], ctx["plan"]
    s = [s for s in ctx["sessions"] if s["orbiter"] == "MRO"][0]
    first = HEADER + f"MRO,{s['asset']},{s['start']},{s['end']},1.0,partial,NOTE-A\n"
    again = HEADER + f"MRO,{s['asset']},{s['start']},{s['end']},2.0,partial,NOTE-B\n"
    coord = w.client("coordinator")
    assert coord.post(f"/api/plans/{plan}/actuals", {"file": upload("a.csv", first)}).json()["replaced"] == 0
    assert coord.post(f"/api/plans/{plan}/actuals", {"file": upload("b.csv", again)}).json()["replaced"] == 1
    live = [i for i in coord.get(f"/api/plans/{plan}/actuals", {"orbiter": "MRO"}).json()["items"]]
    assert [(i["note"], float(i["achieved_mbit"])) for i in live] == [("NOTE-B", 2.0)]
    old = [a for a in stored(plan) if a.fields["note"] == "NOTE-A"][0]
    assert old.replaced and old.version == 2
    # the page: the engine's section of the same files ingested in the same order
    page = browser(w, "lander").get(f"/plans/{plan}").content.decode()
    files = [*ctx.get("uploaded", []), ("a.csv", first), ("b.csv", again)]
    assert section_of(page) == section_of(engine_section(plan, files, tmp_path))
    assert "NOTE-B" in section_of(page) and "NOTE-A" not in section_of(page)


def test_a_bad_csv_answers_the_readers_paragraph_and_stores_nothing(ctx, tmp_path):
    from relay.actuals.reports import read_reports
    from relay.errors import RelayInputError

    w, plan = ctx["w"], ctx["plan"]
    s = ctx["sessions"][0]
    bad = HEADER + f"{s['orbiter']},{s['asset']},{s['start']},{s['end']},-5,ok,\n"
    (tmp_path / "bad.csv").write_text(bad, encoding="utf-8")
    with pytest.raises(RelayInputError) as exc:
        read_reports(tmp_path / "bad.csv", orbiters=["TGO", "MRO"], assets=["Perseverance", "Curiosity"])
    before = len(stored(plan))
    r = w.client("coordinator").post(f"/api/plans/{plan}/actuals", {"file": upload("bad.csv", bad)})
    assert r.status_code == 400
    detail = r.json()["detail"]
    assert detail == str(exc.value).replace(str(tmp_path / "bad.csv"), "bad.csv")
    assert "bad.csv" in detail and "line 2" in detail and "achieved_mbit" in detail and "\n" not in detail
    assert len(stored(plan)) == before

    # the page's form: the same paragraph beside the field, nothing stored
    c = browser(w, "coordinator")
    token = csrf_of(c.get(f"/plans/{plan}").content.decode())
    page = c.post(f"/plans/{plan}/actuals", {"file": upload("bad.csv", bad), "csrfmiddlewaretoken": token})
    assert page.status_code == 400
    err = re.search(r'<p class="error field-error" id="e-file" role="alert">(.*?)</p>', page.content.decode(), re.S)
    assert err is not None and "achieved_mbit" in err.group(1) and "bad.csv" in err.group(1)
    assert len(stored(plan)) == before
    # and without its CSRF token the form is refused
    assert c.post(f"/plans/{plan}/actuals", {"file": upload("bad.csv", bad)}).status_code == 403


def test_an_orbiter_team_is_refused_another_orbiters_rows_and_a_lander_team_any(ctx):
    w, plan = ctx["w"], ctx["plan"]
    before = len(stored(plan))
    mixed = HEADER + report_rows(ctx["sessions"], "TGO", 1) + report_rows(ctx["sessions"], "MRO", 1)
    r = w.client("orbiter").post(f"/api/plans/{plan}/actuals", {"file": upload("mixed.csv", mixed)})
    assert r.status_code == 403 and "MRO" in r.json()["detail"] and "TGO" not in r.json()["detail"]
    assert len(stored(plan)) == before
    own = HEADER + report_rows(ctx["sessions"], "TGO", 1)
    for role in ("lander", "viewer", "admin"):
        r = w.client(role).post(f"/api/plans/{plan}/actuals", {"file": upload("own.csv", own)})
        assert r.status_code == 403, (role, r.content[:300])
    # the page: no form for a lander team, and a post anyway is refused
    c = browser(w, "lander")
    html = c.get(f"/plans/{plan}").content.decode()
    assert 'id="actuals-upload"' not in html
    r = c.post(f"/plans/{plan}/actuals", {"file": upload("own.csv", own), "csrfmiddlewaretoken": csrf_of(html)})
    assert r.status_code == 403
    # the orbiter team's page has the form, and its own rows are stored through it
    c = browser(w, "orbiter")
    html = c.get(f"/plans/{plan}").content.decode()
    assert 'id="actuals-upload"' in html
    r = c.post(f"/plans/{plan}/actuals", {"file": upload("own.csv", own), "csrfmiddlewaretoken": csrf_of(html)})
    assert r.status_code == 302
    assert len(stored(plan)) == before + 1
