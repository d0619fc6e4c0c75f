"""Regenerate the README's pictures of the service's pages (docs/service-*.png).

    python scripts/screenshot_service.py        # needs Debian's chromium and Playwright for Python

Starts the service in this process on a fresh data folder (the demo's baseline scenario, a week
from 2026-12-08, one account per role; runs on a thread pool), plays the issue's flow in headless
Chromium at 1366x768 (a lander team's request by sol + LMST with the passes of its window, the
coordinator's run and publication, an orbiter team's outage preview, the re-plan's diff with its
causes, the timeline and the diff's timeline, the per-sol table, the lander's home) and photographs each page.  Every
request to anywhere but 127.0.0.1 is blocked.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
DOCS = ROOT / "docs"
START = "2026-12-08T00:00:00Z"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def start_service(data: Path, days: float = 7.0, scenario=None) -> tuple[str, dict, int]:
    """(base URL, user name -> password, the cycle's id): the service in a thread of this process."""
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # the script reads the database between steps
    from relay.service.settings import configure

    configure(data)
    from django.core.wsgi import get_wsgi_application
    from waitress import create_server

    from relay.service import demo, runs, server
    from relay.service.models import Cycle

    server.upgrade()
    runs.start_executor("thread", 1)
    passwords = demo.seed(scenario or demo.BASELINE, START, days)
    cycle = Cycle.objects.order_by("-pk").first()
    srv = create_server(get_wsgi_application(), host="127.0.0.1", port=0, threads=4, ident="relay")
    threading.Thread(target=srv.run, daemon=True).start()
    return f"http://127.0.0.1:{srv.effective_port}", passwords, cycle.pk


def browser_context(browser, blocked: list[str]):
    context = browser.new_context(viewport={"width": 1366, "height": 768})

    def route(r):
        if r.request.url.startswith("http://127.0.0.1:"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    return context


def log_in(browser, base: str, user: str, password: str, blocked: list[str]):
    page = browser_context(browser, blocked).new_page()
    page.goto(base + "/login")
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(base + "/")
    return page


def shot(page, name: str, full: bool = False) -> None:
    path = DOCS / f"service-{name}.png"
    page.screenshot(path=str(path), full_page=full)
    print(f"wrote {path.relative_to(ROOT)}")


def run_and_publish(page, base: str, cid: int, comment: str, name: str | None = None) -> None:
    page.goto(f"{base}/cycles/{cid}/review")
    page.get_by_role("button", name="Run a plan now").click()
    if name:
        page.wait_for_load_state()
        shot(page, name)
    page.wait_for_url(f"{base}/plans/*", timeout=600_000)
    page.get_by_label("Comment (shown to the teams)").fill(comment)
    page.get_by_role("button", name="Publish plan").click()
    page.wait_for_selector("text=Published")


def lander_request(page, base: str, cid: int, sol: int) -> None:
    page.goto(f"{base}/cycles/{cid}/requests")
    page.get_by_label("Request id").fill("DRIVE-1201")
    page.get_by_label("Asset", exact=True).fill("Perseverance")
    page.get_by_label("by sol and LMST of the asset").check()
    page.get_by_label("Sol (mission sol of the asset)").fill(str(sol))
    page.get_by_label("LMST window").fill("12:00-18:00")
    page.get_by_label("Minimum volume (Mbit)").fill("50")
    page.get_by_label("Note").fill("drive images of sol " + str(sol))
    page.locator("#window-passes-table tbody tr").first.wait_for()
    page.locator("#h-new").scroll_into_view_if_needed()
    shot(page, "request", full=True)
    page.get_by_role("button", name="Submit the request").click()
    page.wait_for_selector("text=filed")


def orbiter_outage(page, base: str, cid: int) -> None:
    page.goto(f"{base}/cycles/{cid}/outages")
    page.get_by_label("Target (orbiter, station or asset)").select_option("TGO")
    page.get_by_label("Start (UTC, with its zone)").fill("2026-12-09T00:00:00Z")
    page.get_by_label("End (UTC, with its zone)").fill("2026-12-09T12:00:00Z")
    page.get_by_label("Note").fill("safe mode")
    page.get_by_role("button", name="Preview the sessions it hits").click()
    page.locator("#outage-preview").scroll_into_view_if_needed()
    shot(page, "outage-preview")
    page.get_by_role("button", name="Declare the outage").click()
    page.wait_for_selector("text=Outage saved")


def main() -> int:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        print("Chromium is not installed (apt-get install chromium)", file=sys.stderr)
        return 2
    data = Path(tempfile.mkdtemp(prefix="relay-screens-"))
    try:
        base, pw, cid = start_service(data)
        from relay.service.pages_common import clocks
        from relay.service.models import Cycle
        from relay.timescales import utc_to_tdb_s

        cycle = Cycle.objects.get(pk=cid)
        sol = int(clocks(cycle.scenario_id)["Perseverance"].sol(utc_to_tdb_s("2026-12-09T12:00:00Z")))
        blocked: list[str] = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            lander = log_in(browser, base, "lander", pw["lander"], blocked)
            lander_request(lander, base, cid, sol)
            coord = log_in(browser, base, "coordinator", pw["coordinator"], blocked)
            run_and_publish(coord, base, cid, "first plan of the week", "run-progress")
            orbiter_outage(log_in(browser, base, "orbiter", pw["orbiter"], blocked), base, cid)
            run_and_publish(coord, base, cid, "re-planned after the TGO safe mode")
            coord.locator("#h-diff").scroll_into_view_if_needed()
            shot(coord, "review")
            coord.goto(f"{base}/cycles/{cid}/timeline")
            coord.wait_for_function("document.querySelectorAll('#timeline-asset .barlayer .point').length > 0")
            shot(coord, "timeline")
            coord.locator("#timeline-diff").scroll_into_view_if_needed()
            shot(coord, "timeline-diff")
            coord.goto(f"{base}/cycles/{cid}/sols")
            shot(coord, "sols")
            lander.goto(base + "/")
            shot(lander, "home")
            browser.close()
        if blocked:
            print(f"blocked {len(blocked)} request(s) leaving the machine: {blocked[:3]}", file=sys.stderr)
            return 1
        return 0
    finally:
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
