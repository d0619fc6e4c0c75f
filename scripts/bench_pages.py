"""Time the service's pages of a 28-day network-6 cycle in headless Chromium (issue 21: under 2 s).

    python scripts/bench_pages.py [--days 28] [--repeat 5]

Starts the service in this process (a fresh data folder, runs on a thread pool), files the
28-day network-6 cycle (configs/network-6.yaml from 2026-12-08), plans it once (not timed
here: scripts/bench_service.py times runs; the timeline's charts, which the service makes once the
run has stored its plan version, are waited for and their making timed), then opens each page of
the cycle as the coordinator once cold and ``--repeat`` times more, and prints the first, median
and worst time from navigation to the page drawn (the load event, and for the timeline every
chart's bars drawn by plotly), with the number of passes and sessions and the machine's load.

The timeline's first visit is timed twice: in a browser whose cache is empty, logging in straight
to the timeline (plotly.js fetched and compiled on the visit), and after the home page (which asks
the browser to fetch plotly.js ahead while idle; the time the home page took to have it is
printed).  The browser keeps its HTTP cache between visits, as a person's does (plotly.js is served
under a versioned name, kept for good); no request leaves the machine (host names other than the
service's do not resolve; any such request is listed and the script exits non-zero).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from screenshot_service import CHROMIUM, ROOT, START, start_service  # noqa: E402

#: every timeline drawn: its SVG bars or lines (a long plan's), or its WebGL traces drawn by their scene
DRAWN = """(function () {
  function drawn(id) {
    var el = document.getElementById(id);
    if (!el || !el._fullLayout) { return false; }
    if (el.querySelectorAll('.barlayer .point, .scatterlayer .js-line').length > 0) { return true; }
    var gl = el._fullData.filter(function (t) { return t.type === 'scattergl'; }).length;
    var scene = el._fullLayout._plots && el._fullLayout._plots.xy && el._fullLayout._plots.xy._scene;
    return gl > 0 && !!scene && scene.count === gl;
  }
  return drawn('timeline-asset') && drawn('timeline-orbiter');
})()"""
#: Chromium's software WebGL (SwiftShader): headless, no GPU; the automatic fallback to it is deprecated
FLAGS = ["--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader",
         # no request leaves the machine: every host name but the service's address fails to resolve
         # (Playwright's request routing would do it too, but routing turns the browser's cache off)
         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--disable-background-networking"]


#: the home page has plotly.js (its prefetch done: in the browser's cache)
AHEAD = """performance.getEntriesByType('resource').some(function (e) {
  return e.name.indexOf('/static/plotly-') >= 0 && e.responseEnd > 0; })"""


def log_in(browser, base: str, user: str, password: str, left: list[str], to: str = "/"):
    """A page logged in as ``user`` (landing on ``to``) in a fresh browser context with its HTTP cache
    on (as a person's browser: plotly.js is kept between visits); ``left`` collects every request to
    elsewhere."""
    page = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
    page.on("request", lambda r: None if r.url.startswith(("http://127.0.0.1:", "data:", "blob:"))
            else left.append(r.url))
    page.goto(base + "/login?next=" + to)
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(base + to)
    return page


def charts_ready(plan_id: int) -> float:
    """Wait until the service has made the plan version's timeline charts; seconds waited."""
    from relay.service.models import PlanChart

    t0 = time.perf_counter()
    while not PlanChart.objects.filter(plan_id=plan_id).exists() and time.perf_counter() - t0 < 120:
        time.sleep(0.1)
    return time.perf_counter() - t0


def plan_cycle(days: float) -> tuple[int, int, int]:
    """(cycle id, passes, sessions) of the network-6 cycle, planned once (its charts made)."""
    from django.contrib.auth import get_user_model

    from relay.service import engine, records, runs
    from relay.service.models import PlanVersion, Run
    from relay.timescales import parse_utc

    coord = get_user_model().objects.get(username="coordinator")
    sv = records.create_scenario(coord, "network-6", engine.scenario_text(ROOT / "configs" / "network-6.yaml"))
    cycle = records.create_cycle(coord, f"network-6 {days:g} days", sv, parse_utc(START), days)
    run = runs.submit(coord, cycle, "full")
    t0 = time.perf_counter()
    while Run.objects.get(pk=run.pk).status not in ("done", "failed"):
        time.sleep(1.0)
    r = Run.objects.get(pk=run.pk)
    if r.status != "done":
        raise SystemExit(f"the run failed: {r.error}")
    p = PlanVersion.objects.get(run=r)
    print(f"planned the {days:g}-day network-6 cycle in {time.perf_counter() - t0:.1f} s (not part of the figures); "
          f"its timeline charts made {charts_ready(p.pk):.1f} s after the run ended")
    return cycle.pk, len(p.passes), len(p.sessions)


def time_page(page, url: str, wait: str | None) -> float:
    t0 = time.perf_counter()
    page.goto(url, wait_until="load")
    if wait:
        page.wait_for_function(wait, timeout=60_000)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=float, default=28.0)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    data = Path(tempfile.mkdtemp(prefix="relay-bench-pages-"))
    try:
        base, pw, _ = start_service(data, days=1.0)
        cid, n_passes, n_sessions = plan_cycle(args.days)
        from relay.service import pages_charts  # (Django is configured by now)
        pages = [("timeline", f"/cycles/{cid}/timeline", DRAWN), ("per sol", f"/cycles/{cid}/sols", None),
                 ("review", f"/cycles/{cid}/review", None), ("requests", f"/cycles/{cid}/requests", None),
                 ("unavailability", f"/cycles/{cid}/outages", None), ("home", "/", None)]
        blocked: list[str] = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            print(f"load {os.getloadavg()[0]:.2f} (1 min); {n_passes} passes, {n_sessions} sessions; "
                  f"each page's first visit (the service's per-process caches cold), then {args.repeat} visits")
            first = log_in(browser, base, "coordinator", pw["coordinator"], blocked, pages[0][1])
            drawn = first.wait_for_function(f"({DRAWN}) && performance.now()", timeout=60_000).json_value()
            began = first.evaluate("(function (n) { return n.redirectEnd || n.fetchStart; })"
                                   "(performance.getEntriesByType('navigation')[0])")
            print(f"  timeline, empty browser cache (log-in straight to it): drawn {(drawn - began) / 1000:.3f} s "
                  "after its navigation began")
            first.context.close()
            pages_charts.plan_charts.cache_clear()  # the next first visit finds the service's caches cold too
            page = log_in(browser, base, "coordinator", pw["coordinator"], blocked)
            t0 = time.perf_counter()
            page.wait_for_function(AHEAD, timeout=60_000)
            print(f"  home page: plotly.js in the browser's cache {time.perf_counter() - t0:.3f} s after it was shown")
            for name, path, wait in pages:
                cold = time_page(page, base + path, wait)  # the plan's charts are made once per process
                times = [time_page(page, base + path, wait) for _ in range(args.repeat)]
                print(f"  {name:15s} first {cold:6.3f} s, then median {statistics.median(times):6.3f} s  "
                      f"worst {max(times):6.3f} s")
            browser.close()
        if blocked:
            print(f"requests to elsewhere (refused): {blocked[:5]}")
        return 1 if blocked else 0
    finally:
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
