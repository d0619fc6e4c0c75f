"""The service's pages in headless Chromium (Debian's chromium driven by Playwright for Python).

The flow of issue 21: a lander team logs in, submits a request by sol + LMST and sees the passes
of its window (asked for by the page's script while it types); the coordinator runs a plan
(progress polled) and publishes it; an orbiter team previews an outage and sees the sessions it
hits, then declares it; the coordinator re-plans, reviews the diff (the outage named as its
cause) and publishes with a comment; the lander team sees its request met with the reason;
a second lander team sees no edit control of the first team's request and is refused (403) when
it posts anyway.  No console error, and no request leaves 127.0.0.1 (every other one is blocked
and recorded).  The service runs in this process (waitress in a thread, runs on a thread pool).
"""
from __future__ import annotations

import importlib.util
import shutil
import threading
from pathlib import Path

import pytest

CHROMIUM = next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser"), "/usr/bin/chromium")
                 if p and Path(p).exists()), None)
if importlib.util.find_spec("django") is None or importlib.util.find_spec("waitress") is None:
    pytest.skip("the service extra is not installed (pip install -e '.[service]')", allow_module_level=True)
if importlib.util.find_spec("playwright") is None:
    pytest.skip("Playwright for Python is not installed (pip install -e '.[test]'; the browser is Debian's "
                "chromium, never `playwright install`)", allow_module_level=True)

from service_world import World, django_ready, free_port  # noqa: E402

pytestmark = [
    pytest.mark.slow, pytest.mark.xdist_group("service"),
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed: the browser test of the service's "
                       "pages needs Debian's chromium (`apt-get install chromium`; .ci/run installs it)"),
]

SOL = "54366"  # the small scenario's Perseverance on 2026-12-08 (MSD numbering: no landing)


@pytest.fixture(scope="module")
def service():
    """The service on a free port of 127.0.0.1 (this process's Django, waitress in a thread)."""
    django_ready()
    from django.core.wsgi import get_wsgi_application
    from waitress import create_server

    server = create_server(get_wsgi_application(), host="127.0.0.1", port=free_port(), threads=4, ident="relay")
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()


class Watch:
    """Console errors, page errors and blocked requests of a browser context."""

    def __init__(self, context):
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.polls: list[str] = []
        context.route("**/*", self.route)

    def route(self, route):
        url = route.request.url
        if url.startswith("http://127.0.0.1:"):
            if url.endswith("/progress"):
                self.polls.append(url)
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def page(self, context):
        page = context.new_page()
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        return page


def log_in(browser, base, watch, user, password):
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    watch_ = Watch(context) if watch is None else watch
    if watch is not None:
        context.route("**/*", watch.route)
    page = watch_.page(context)
    page.goto(base + "/login")  # by keyboard only: the user name field has the focus, Tab, Enter
    page.keyboard.type(user)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    page.wait_for_url(base + "/")
    return page, watch_


UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(e => e.type !== 'hidden' && !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
  .map(e => e.name || e.id)"""


def unlabelled(page) -> list[str]:
    """Form fields of the page without a label (every field must have one)."""
    return page.evaluate(UNLABELLED)


def run_and_publish(page, base, cycle_id, comment):
    page.goto(f"{base}/cycles/{cycle_id}/review")
    page.get_by_role("button", name="Run a plan now").click()
    page.wait_for_url(f"{base}/plans/*", timeout=120_000)
    assert unlabelled(page) == []
    page.get_by_label("Comment (shown to the teams)").fill(comment)
    page.get_by_role("button", name="Publish plan").click()
    page.wait_for_selector("text=Published")
    return page.url.rsplit("/", 1)[1]


def test_the_issue_flow_in_chromium(service, monkeypatch):
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # the test reads the database between page steps
    w = World()
    base, cid = service, w.cycle.pk
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        lander, watch = log_in(browser, base, None, w.users["lander"].username, w.password)
        assert "My relay requests" in lander.content()
        lander.goto(f"{base}/cycles/{cid}/requests")
        lander.get_by_label("Request id").fill("DRIVE-1")
        lander.get_by_label("by sol and LMST of the asset").check()
        lander.get_by_label("Sol (mission sol of the asset)").fill(SOL)
        lander.get_by_label("LMST window").fill("13:00-18:30")
        lander.get_by_label("Minimum volume (Mbit)").fill("1")
        rows = lander.locator("#window-passes-table tbody tr")
        rows.first.wait_for()  # the script asked for the passes while the person typed
        assert rows.count() > 0
        assert "TGO" in lander.locator("#window-passes-table").inner_text()
        assert unlabelled(lander) == []
        lander.get_by_role("button", name="Submit the request").click()
        lander.wait_for_selector("text=DRIVE-1 filed")

        coord, _ = log_in(browser, base, watch, w.users["coordinator"].username, w.password)
        first = run_and_publish(coord, base, cid, "first week")
        orbiter, _ = log_in(browser, base, watch, w.users["orbiter"].username, w.password)
        orbiter.goto(f"{base}/cycles/{cid}/outages")
        orbiter.get_by_label("Target (orbiter, station or asset)").select_option("TGO")
        orbiter.get_by_label("Start (UTC, with its zone)").fill("2026-12-08T00:00:00Z")
        orbiter.get_by_label("End (UTC, with its zone)").fill("2026-12-08T06:00:00Z")
        orbiter.get_by_label("Note").fill("safe mode")
        orbiter.get_by_role("button", name="Preview the sessions it hits").click()
        hits = orbiter.locator("#hits-table tbody tr")
        hits.first.wait_for()
        n_hit = hits.count()
        assert n_hit > 0 and f"{n_hit} planned session(s)" in orbiter.locator("#outage-preview").inner_text()
        assert unlabelled(orbiter) == []
        orbiter.get_by_role("button", name="Declare the outage").click()
        orbiter.wait_for_selector("text=Outage saved")

        second = run_and_publish(coord, base, cid, "after the TGO safe mode")
        assert second != first and watch.polls  # the review page followed the runs' progress
        diff = coord.locator("#diff-table").inner_text()
        assert "outage of TGO (all)" in diff and "removed" in diff
        assert f"{n_hit} removed" in coord.locator("#diff-counts").inner_text()

        lander.goto(f"{base}/cycles/{cid}/requests")
        lander.get_by_role("link", name="DRIVE-1").click()
        status = lander.locator("#request-status").inner_text()
        assert "met" in status and "published" in status
        from relay.service.models import Entry, PlanVersion

        met = next(r for r in PlanVersion.objects.get(pk=int(second)).requests if r["id"] == "DRIVE-1")
        assert met["status"] == "met" and met["reason"] in status

        other, _ = log_in(browser, base, watch, w.users["lander2"].username, w.password)
        other.goto(f"{base}/cycles/{cid}/requests")
        e = Entry.objects.get(cycle_id=cid, kind="request")
        assert "DRIVE-1" in other.locator("#requests-list").inner_text()
        assert other.locator(f'a[href="/requests/{e.pk}#h-edit"]').count() == 0
        assert other.locator(f'form[action="/requests/{e.pk}/withdraw"]').count() == 0
        token = other.locator("input[name=csrfmiddlewaretoken]").first.get_attribute("value")
        refused = other.request.post(f"{base}/requests/{e.pk}/withdraw", form={
            "csrfmiddlewaretoken": token, "version": str(e.version)}, headers={"Referer": f"{base}/"})
        assert refused.status == 403
        e.refresh_from_db()
        assert not e.withdrawn

        coord.goto(f"{base}/cycles/{cid}/timeline")
        coord.wait_for_function("document.querySelectorAll('#timeline-asset .barlayer .point').length > 0")
        assert unlabelled(coord) == []  # the published version against the one it superseded
        coord.wait_for_function("document.querySelectorAll('#timeline-diff .barlayer .point').length > 0")
        assert "outage of TGO (all)" in coord.locator("#diff-table").inner_text()
        assert f"{n_hit} removed" in coord.locator("#diff-counts").inner_text()
        coord.get_by_label("Compare with").select_option(second)  # against itself: no change
        coord.get_by_role("button", name="Show").click()
        coord.wait_for_selector("#diff-counts >> text=No change")
        assert coord.locator("#timeline-diff").count() == 0

        lander.goto(f"{base}/")  # the outage told the lander team; its notifications are marked seen
        assert "hits" in lander.locator("#notifications").inner_text()
        lander.get_by_role("button", name="Mark all seen").click()
        lander.wait_for_selector("text=Nothing new.")
        coord.goto(f"{base}/audit")
        assert unlabelled(coord) == [] and "plan.publish" in coord.locator("#audit-table").inner_text()
        browser.close()
    assert watch.outside == [], watch.outside
    assert watch.errors == [], watch.errors


#: a session's tooltip point on the light timeline per asset: its place on the page (x, y) and its text
TIP_POINT = """() => {
  const gd = document.getElementById('timeline-asset');
  const t = gd._fullData.find(t => t.mode === 'none' && t.hovertext && t.hovertext.length);
  const box = gd.querySelector('.nsewdrag').getBoundingClientRect();
  return [box.left + gd._fullLayout.xaxis.d2p(t.x[0]), box.top + gd._fullLayout.yaxis.d2p(t.y[0]), t.hovertext[0]];
}"""


def test_a_long_plans_light_timeline_draws_every_mark_and_shows_its_tooltips(service, monkeypatch):
    """The timeline a long plan gets (here the small cycle's plan drawn as if it were long): per
    orbiter bars, per asset SVG lines (no WebGL), and hovering a session shows its tooltip."""
    from django.test import Client

    from relay.service import pages_charts
    from relay.service.models import PlanChart, PlanVersion, Run

    w = World()
    c = Client()
    c.force_login(w.users["coordinator"])
    run = int(c.post(f"/cycles/{w.cycle.pk}/run", {"mode": "full"})["Location"].rsplit("=", 1)[1])
    for _ in range(1200):
        if Run.objects.get(pk=run).status in ("done", "failed"):
            break
        threading.Event().wait(0.1)
    plan = PlanVersion.objects.get(run_id=run)
    monkeypatch.setattr(pages_charts, "is_long", lambda summary: True)
    for _ in range(600):  # the run's own charts made, then replaced by the long plan's
        if PlanChart.objects.filter(plan_id=plan.pk).exists():
            break
        threading.Event().wait(0.1)
    PlanChart.objects.filter(plan_id=plan.pk).delete()
    pages_charts.plan_charts.cache_clear()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page, watch = log_in(browser, service, None, w.users["viewer"].username, w.password)
        page.goto(f"{service}/cycles/{w.cycle.pk}/timeline?plan={plan.pk}")
        page.wait_for_function("document.querySelectorAll('#timeline-asset .scatterlayer .js-line').length > 0 && "
                               "document.querySelectorAll('#timeline-orbiter .barlayer .point').length > 0")
        assert page.evaluate("document.querySelectorAll('#timeline-orbiter .barlayer .point').length") == \
            len(plan.sessions) + sum(1 for q in plan.passes if not q["used"]) + \
            page.evaluate("document.getElementById('timeline-orbiter').data.filter(t => t.name.startsWith('downlink'))"
                          ".reduce((n, t) => n + t.x.length, 0)")
        assert page.evaluate("document.querySelectorAll('#timeline-asset canvas').length") == 0  # no WebGL scene
        page.locator("#timeline-asset").scroll_into_view_if_needed()
        x, y, tip = page.evaluate(TIP_POINT)
        page.mouse.move(x, y)
        page.wait_for_function("document.querySelector('#timeline-asset .hoverlayer .hovertext') !== null")
        shown = page.evaluate("document.querySelector('#timeline-asset .hoverlayer .hovertext').textContent")
        assert shown == tip.replace("<br>", "") and "orbiter: " in shown and "LMST: " in shown
        browser.close()
    assert watch.outside == [] and watch.errors == [], (watch.outside, watch.errors)
