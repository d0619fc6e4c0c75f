"""The timeline page's charts: made when a run stores its plan version (kept in the database, the
page only reads them), made on a first visit for a version without them, the same charts either
way; a long plan's drawn lighter (report.html's short tooltips; per asset SVG lines with a tooltip
per session), every session, unused pass and downlink still drawn with its tooltip."""
from __future__ import annotations

import importlib.util
import json
import re
import time

import pytest

if importlib.util.find_spec("django") is None or importlib.util.find_spec("ninja") is None:
    pytest.skip("the service extra is not installed (pip install -e '.[service]')", allow_module_level=True)

from service_world import World, django_ready  # noqa: E402

pytestmark = pytest.mark.xdist_group("service")


@pytest.fixture(scope="module")
def planned():
    """A cycle planned once through the pages, its plan version and a coordinator's client."""
    django_ready()
    from django.test import Client

    from relay.service.models import PlanVersion, Run

    w = World()
    c = Client()
    c.force_login(w.users["coordinator"])
    r = c.post(f"/cycles/{w.cycle.pk}/run", {"mode": "full"})
    run_id = int(r["Location"].rsplit("=", 1)[1])
    t_end = time.monotonic() + 120
    while Run.objects.get(pk=run_id).status not in ("done", "failed") and time.monotonic() < t_end:
        time.sleep(0.1)
    run = Run.objects.get(pk=run_id)
    assert run.status == "done", run.error
    return w, c, PlanVersion.objects.get(run=run)


def charts_of(plan_id: int, timeout_s: float = 60.0) -> dict:
    """The plan version's chart rows once the run's driver thread has made them (key -> row)."""
    from relay.service.models import PlanChart

    t_end = time.monotonic() + timeout_s
    while PlanChart.objects.filter(plan_id=plan_id).count() < 3 and time.monotonic() < t_end:
        time.sleep(0.1)
    return {r.key: r for r in PlanChart.objects.filter(plan_id=plan_id)}


def page_traces(html: str, div_id: str) -> list[dict]:
    m = re.search(r'Plotly\.newPlot\("%s", (\[.*?\]), (\{.*?\}), \{' % div_id, html, re.S)
    assert m, div_id
    return json.loads(m.group(1))


def test_the_run_makes_the_charts_and_the_page_only_reads_them(planned, monkeypatch):
    from relay.service import pages_charts
    from relay.service.models import PlanChart

    w, c, plan = planned
    rows = charts_of(plan.pk)
    assert set(rows) == {"timeline-orbiter", "timeline-asset", "marks"}
    marks = json.loads(rows["marks"].data)
    assert set(marks["sols"]) == {"Perseverance", "Curiosity"}
    assert rows["marks"].layout["span"][0].startswith("2026-12-08")
    pages_charts.plan_charts.cache_clear()
    monkeypatch.setattr(pages_charts, "make", lambda plan_id: pytest.fail("the page made charts it had"))
    html = c.get(f"/cycles/{w.cycle.pk}/timeline", {"plan": plan.pk}).content.decode()
    for key in ("timeline-orbiter", "timeline-asset"):
        assert f'Plotly.newPlot("{key}", {rows[key].data},' in html
    # the stored traces: one bar per session on each timeline (a short plan: bars, its full tooltips)
    bars = [t for t in json.loads(rows["timeline-asset"].data) if t["type"] == "bar"]
    assert sum(len(t["x"]) for t in bars) == len(plan.sessions)
    assert all("max elevation deg: " in h for t in bars for h in t["hovertext"])
    # a version without its charts (stored before them, or their making failed) gets them on a visit
    monkeypatch.undo()
    PlanChart.objects.filter(plan_id=plan.pk).delete()
    pages_charts.plan_charts.cache_clear()
    again = c.get(f"/cycles/{w.cycle.pk}/timeline", {"plan": plan.pk}).content.decode()
    remade = charts_of(plan.pk, 0)
    assert {k: r.data for k, r in remade.items()} == {k: r.data for k, r in rows.items()}
    assert page_traces(again, "timeline-asset") == json.loads(rows["timeline-asset"].data)
    # zoomed to a sol: the same traces, the range of that sol
    sol = marks["sols"]["Perseverance"][0]
    zoom = c.get(f"/cycles/{w.cycle.pk}/timeline", {"plan": plan.pk, "asset": "Perseverance", "sol": sol[0]})
    assert f'"range":["{sol[1]}","{sol[2]}"]' in zoom.content.decode()


def test_preparing_never_fails_the_run(planned, monkeypatch, caplog):
    from relay.service import pages_charts
    from relay.service.models import PlanChart

    w, c, plan = planned
    charts_of(plan.pk)
    PlanChart.objects.filter(plan_id=plan.pk).delete()
    monkeypatch.setattr(pages_charts, "make", lambda plan_id: 1 / 0)
    pages_charts.prepare(plan.pk)  # logged, not raised
    assert "could not prepare the timelines" in caplog.text and not PlanChart.objects.filter(plan_id=plan.pk).exists()
    monkeypatch.undo()
    pages_charts.prepare(plan.pk)
    assert PlanChart.objects.filter(plan_id=plan.pk).count() == 3


def test_a_long_plans_charts_are_lighter_and_keep_every_mark_and_tooltip(planned, monkeypatch):
    from relay.service import pages_charts

    w, c, plan = planned
    full, _ = pages_charts.figures_of(plan.pk)
    monkeypatch.setattr(pages_charts, "is_long", lambda summary: True)
    figs, marks = pages_charts.figures_of(plan.pk)
    n_sessions = len(plan.sessions)
    n_unused = sum(1 for p in plan.passes if not p["used"])
    # per orbiter: the same bars (sessions, unused passes, downlinks), each tooltip cut to the short lines
    orbit, orbit_full = figs["timeline-orbiter"]["data"], full["timeline-orbiter"]["data"]
    assert [len(t["x"]) for t in orbit] == [len(t["x"]) for t in orbit_full] and {t["type"] for t in orbit} == {"bar"}
    for t, f in zip(orbit, orbit_full):
        for short, long in zip(t["hovertext"], f["hovertext"]):
            assert short.split("<br>") == [x for x in long.split("<br>") if x.split(":")[0] in pages_charts.SHORT]
            assert "max elevation deg" not in short and ("reason: " in short) == ("reason: " in long)
    assert sum(len(t["x"]) for t in orbit if t["name"].startswith("unused")) == n_unused
    # per asset: no WebGL, no range slider; a line of segments per orbiter, a tooltip per session
    asset = figs["timeline-asset"]
    assert {t["type"] for t in asset["data"]} == {"scatter"} and "rangeslider" not in asset["layout"]["xaxis"]
    lines = [t for t in asset["data"] if t.get("mode") == "lines" and t["name"] != "request windows"]
    tips = [t for t in asset["data"] if t.get("mode") == "none" and "hovertext" in t]
    assert sum(t["x"].count(None) for t in lines) == n_sessions == sum(len(t["hovertext"]) for t in tips)
    assert all("marker" not in t for t in tips) and all(h.startswith("orbiter: ") for t in tips for h in t["hovertext"])
    # the sol bands: a filled path per asset lane (every other sol of it, shaded); outages shaded as shapes
    lanes = asset["layout"]["yaxis"]["ticktext"]
    fills = [t for t in asset["data"] if t.get("fill") == "toself"]
    assert sorted(t["name"] for t in fills) == sorted(f"sols of {a}" for a in lanes if a in marks.sols)
    assert all(t["x"].count(None) == len(marks.sols[t["name"][8:]][::2]) for t in fills)


def test_light_keeps_each_trace_but_its_drawing():
    from relay.service.pages_charts import light

    fig = {"data": [
        {"type": "scattergl", "mode": "lines", "name": "unused: TGO", "x": [1, 2, None], "y": [0, 0, None],
         "opacity": 0.18, "line": {"color": "#0072B2", "width": 18}},
        {"type": "scattergl", "mode": "markers", "name": "unused: TGO", "x": [1.5], "y": [0],
         "marker": {"opacity": 0, "size": 18}, "hovertext": ["pass <b>"], "hoverinfo": "text"},
        {"type": "scatter", "mode": "none", "fill": "toself", "x": [1, 2, 2, 1, 1], "y": [0, 0, 1, 1, 0]}],
        "layout": {"xaxis": {"type": "date", "rangeslider": {"visible": True}, "rangeselector": {"buttons": []}}}}
    out = light(fig)
    assert out["data"][0] == {"type": "scatter", "mode": "lines", "name": "unused: TGO", "x": [1, 2, None],
                              "y": [0, 0, None], "line": {"color": "rgba(0,114,178,0.18)", "width": 18}}
    assert out["data"][1] == {"type": "scatter", "mode": "none", "name": "unused: TGO", "x": [1.5], "y": [0],
                              "hovertext": ["pass <b>"], "hoverinfo": "text"}
    assert out["data"][2] == fig["data"][2]
    assert out["layout"]["xaxis"] == {"type": "date", "rangeselector": {"buttons": []}}
    assert fig["data"][0]["type"] == "scattergl" and "rangeslider" in fig["layout"]["xaxis"]  # the input: as it was


def test_marks_survive_the_database():
    from relay.outputs.report import TimelineMarks
    from relay.service.pages_charts import marks_json, marks_of

    m = TimelineMarks({"Perseverance": [(54366, "2026-12-08T00:00:00.000", "2026-12-08T12:00:00.000")]},
                      [{"kind": "outage", "label": "outage TGO", "lanes": {"TGO", "MRO"}, "span": (1.0, 2.5),
                        "hover": "outage </script>", "start": "2026-12-08T01:00:00.000",
                        "end": "2026-12-08T02:00:00.000"}],
                      [{"id": "R1", "asset": "Perseverance", "start": "a", "end": "b", "hover": "h"}])
    back = marks_of(json.loads(json.dumps(marks_json(m))))
    assert back == m and marks_of(None) is None and marks_json(None) is None


def test_pages_draw_with_plotlys_basic_bundle_unless_webgl(planned, monkeypatch):
    """The timeline loads the vendored basic bundle (plotly.js's core with scatter, bar and pie:
    every trace the pages draw without WebGL, short or long plan), the same plotly.js version as the
    installed plotly's full bundle, kept for good under its versioned name; the full one stays
    served for WebGL (``COMPACT_TIMELINES``)."""
    from plotly.offline import get_plotlyjs_version

    from relay.outputs.report import plotly_js
    from relay.service import pages_charts, pages_common

    w, c, plan = planned
    from relay.outputs import report

    assert report.plotly_version(report.plotly_basic_js()) == get_plotlyjs_version()
    basic, full = pages_common.plotly_name(), pages_common.plotly_name(webgl=True)
    assert basic == report.BASIC_BUNDLE and full != basic
    page = c.get(f"/cycles/{w.cycle.pk}/timeline").content.decode()
    assert f'<script src="/static/{basic}"></script>' in page and full not in page
    got = c.get(f"/static/{basic}")
    vendored = (report.Path(report.__file__).parents[1] / "vendor" / basic).read_bytes()
    assert got.content == vendored and "immutable" in got["Cache-Control"]
    assert vendored.startswith(b"/**\n* plotly.js (basic - minified) v")
    got_full = c.get(f"/static/{full}")
    assert got_full.content == plotly_js().encode() and "immutable" in got_full["Cache-Control"]
    assert c.get("/static/plotly-basic-0.0.0.min.js").status_code == 404
    for long in (False, True):  # every trace type of both drawings is in the basic bundle
        monkeypatch.setattr(pages_charts, "is_long", lambda summary, long=long: long)
        figs, _ = pages_charts.figures_of(plan.pk)
        assert {t["type"] for f in figs.values() for t in f["data"]} <= {"scatter", "bar", "pie"}
