"""Size and render time of report.html as the horizon grows (issue 23: views at the scale of the horizon).

    python scripts/bench_report.py [--config configs/baseline.yaml] [--days 7 28 90 365] [--repeat 3]
                                   [--cache DIR] [--browser] [--folder PLAN_DIR ...]

Plans the scenario once per horizon from 2026-11-23 (the plan is cached as a pickle in
``--cache``, default /tmp/relay-bench-report, so that a second run times the report only; the
planning time is printed but is not part of the figures), then renders report.html
``--repeat`` times and prints, per horizon: sessions and candidate passes, the page's size in
MB (and without the inlined plotly.js), the points the charts hand to plotly, the rows of the
page's tables, and the median render time.  ``--browser`` also opens each page in headless
Chromium (playwright) and prints the time from navigation to every chart drawn, and the median
time of a zoom of the timeline per asset to one day and back to the whole horizon.
``--folder`` times the reports of plan folders `relay plan --out` wrote instead (the plan rebuilt
from problem.json, volumes.npz and the solver's plan in them, as relay.result.result_from_plan
makes it; nothing is solved): a year planned once by the command line, for instance.
Prints the machine's load: the figures depend on it.
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START = "2026-11-23T00:00:00Z"


def planned(config: Path, days: float, cache: Path):
    """The plan of ``days`` days (from the cache when there)."""
    import relay

    path = cache / f"{config.stem}-{days:g}.pickle"
    if path.exists():
        return pickle.loads(path.read_bytes()), None
    t0 = time.perf_counter()
    res = relay.plan(relay.load_scenario(str(config)), START, days=days, seed=0)
    took = time.perf_counter() - t0
    cache.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(res))
    return res, took


def from_folder(folder: Path):
    """The full PlanResult of a plan folder (its report's inputs rebuilt; nothing solved)."""
    from relay.planfolder import read_plan_folder
    from relay.result import result_from_plan

    f = read_plan_folder(folder)
    res = result_from_plan(f.problem, f.plan, state=f.state)
    res.summary = f.summary  # the summary the solve wrote (status, bound, times)
    return res


def render(res) -> tuple[str, float]:
    """report.html of the plan as PlanResult.render writes it, and the seconds render_report took."""
    import relay.result

    real, spent = relay.result.render_report, []

    def timed(*a, **k):
        t0 = time.perf_counter()
        try:
            return real(*a, **k)
        finally:
            spent.append(time.perf_counter() - t0)

    relay.result.render_report = timed
    try:
        return res.render()["report.html"], sum(spent)
    finally:
        relay.result.render_report = real


def chart_points(page: str) -> dict[str, int]:
    """Per chart: the points (x values) of its traces."""
    out = {}
    dec = json.JSONDecoder()
    for m in re.finditer(r'Plotly\.newPlot\(\s*"([^"]+)",\s*', page):
        data, _ = dec.raw_decode(page, m.end())
        out[m.group(1)] = sum(len(t.get("x") or []) for t in data)
    return out


def table_rows(page: str) -> dict[str, int]:
    out = {}
    for m in re.finditer(r"<table id='([^']+)'>(.*?)</table>", page, flags=re.S):
        out[m.group(1)] = m.group(2).count("<tr>") - 1
    return out


DRAWN = ("() => [...document.querySelectorAll('.plotly-graph-div')]"
         ".every(d => d._fullLayout && d.querySelector('.main-svg'))")


def browser_times(pages: dict[float, Path], repeat: int) -> dict[float, tuple[float, float]]:
    """Per page: seconds from navigation to every chart drawn; median seconds of a zoom of the
    timeline per asset to one day and back."""
    from playwright.sync_api import sync_playwright

    chromium = "/usr/bin/chromium"
    out = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--enable-unsafe-swiftshader"])
        for days, path in pages.items():
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            t0 = time.perf_counter()
            page.goto(path.resolve().as_uri(), wait_until="load")
            page.wait_for_function(DRAWN, timeout=120_000)
            load = time.perf_counter() - t0
            zooms = []
            for _ in range(repeat):
                zooms.append(page.evaluate("""async () => {
                    const tl = document.getElementById('timeline-asset');
                    const r = tl._fullLayout.xaxis.range.slice();
                    const t0 = performance.now();
                    await Plotly.relayout(tl, {'xaxis.range': [r[0], new Date(new Date(r[0]).getTime() + 86400000)]});
                    await Plotly.relayout(tl, {'xaxis.range': r});
                    return (performance.now() - t0) / 1000; }"""))
            out[days] = (load, statistics.median(zooms))
            page.close()
        browser.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, default=ROOT / "configs" / "baseline.yaml")
    ap.add_argument("--days", type=float, nargs="+", default=[7, 28, 90, 365])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/relay-bench-report"))
    ap.add_argument("--browser", action="store_true", help="also time the pages in headless Chromium")
    ap.add_argument("--folder", type=Path, nargs="+", default=None, help="time these plan folders' reports instead")
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}, "
          f"{os.cpu_count()} cores; {args.config.name} from {START}")
    from relay.outputs.report import plotly_js

    js = len(plotly_js().encode())
    pages = {}
    print(f"{'days':>5} {'sessions':>8} {'passes':>7} {'MB':>6} {'MB w/o js':>9} {'render s':>8}  "
          "plotly points per chart; table rows")
    jobs = [(d, None) for d in args.days] if args.folder is None else [(None, f) for f in args.folder]
    for days, folder in jobs:
        if folder is not None:
            res = from_folder(folder)
            days = round((res.problem.end_tdb_s - res.problem.start_tdb_s) / 86400.0, 3)
        else:
            res, took = planned(args.config, days, args.cache)
            if took is not None:
                print(f"  (planned {days:g} days in {took:.1f} s, not part of the figures)", file=sys.stderr)
        times = []
        for _ in range(args.repeat):
            page, took = render(res)
            times.append(took)
        size = len(page.encode())
        args.cache.mkdir(parents=True, exist_ok=True)
        path = args.cache / f"{args.config.stem if folder is None else folder.name}-{days:g}-report.html"
        path.write_text(page, encoding="utf-8")
        pages[days] = path
        print(f"{days:5g} {len(res.sessions):8d} {len(res.passes):7d} {size / 1e6:6.2f} {(size - js) / 1e6:9.2f} "
              f"{statistics.median(times):8.2f}  {chart_points(page)}; {table_rows(page)}")
    if args.browser:
        print(f"{'days':>5} {'drawn s':>8} {'zoom s':>7}  (headless Chromium, software rendering)")
        for days, (load, zoom) in browser_times(pages, args.repeat).items():
            print(f"{days:5g} {load:8.2f} {zoom:7.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
