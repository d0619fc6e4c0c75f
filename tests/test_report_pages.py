"""report.html and compare.html from Jinja2 templates (relay/templates, issue 17): every user string
escaped by the templates, relay's own chart markup as it is, a missing variable an error, and the
templates shipped as package data."""
from __future__ import annotations

import re
import tomllib
from importlib.resources import files
from pathlib import Path

import jinja2
import pandas as pd
import pytest

from relay.outputs import compare_report, pages, report
from relay.outputs.tables import utc
from relay.summary import PlanFigures, PlanSummary, SolveReport

ROOT = Path(__file__).resolve().parents[1]
ODD = "Odd <b>&amp;</b> </script><script>alert(1)</script>"


def _plan_inputs():
    t0 = [8.1e8 + 3600.0 * k for k in range(3)]
    sessions = pd.DataFrame({"orbiter": ["MRO", "TGO", ODD], "asset": ["Curiosity", ODD, "Curiosity"],
                             "start": utc(t0), "end": utc([t + 600.0 for t in t0]), "volume_mbit": [1.5, 2.0, 3.0],
                             "kind": ["return"] * 3, "pass_id": ["P00000", "P00001", "P00002"]})
    downlinks = pd.DataFrame({"orbiter": ["MRO"], "station": [ODD], "start": utc([8.1e8]),
                              "end": utc([8.1e8 + 60.0]), "volume_mbit": [1.0]})
    store = pd.DataFrame({"orbiter": ["MRO", "MRO"], "time": utc([8.1e8, 8.1e8 + 60.0]), "fill_mbit": [0.0, 1.5]})
    summary = PlanSummary(solve=SolveReport(status="OPTIMAL", note=ODD),
                          figures=PlanFigures(delivered_by_asset={ODD: 2.0}, delivered_by_orbiter={"MRO": 1.0}),
                          scenario=ODD, start="2025-09-01T00:00:00Z", end="2025-09-02T00:00:00Z",
                          warnings=(ODD,), sol_numbering={ODD: "mission"})
    return sessions, downlinks, store, summary


def test_user_strings_are_escaped_by_the_report_template():
    sessions, downlinks, store, summary = _plan_inputs()
    diff = pd.DataFrame({"change": ["added"], "orbiter": [ODD]})
    page = report.render_report(sessions, downlinks, store, summary, diff=diff)
    assert "alert(1)</script>" not in page and "<b>&amp;</b>" not in page
    escaped = "Odd &lt;b&gt;&amp;amp;&lt;/b&gt; &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"
    title = f"relay re-plan: {escaped} (changes against the plan re-planned)"   # a diff: a re-plan's page
    assert f"<title>{title}</title>" in page and f"<h1>{title}</h1>" in page
    assert f"<p class='warn'>warning: {escaped}</p>" in page
    assert f"<th class='l'>note</th><td class='l'>{escaped}</td>" in page
    assert f"sols: {escaped}: mission sols;" in page
    assert f"<td class='l'>{escaped}</td>" in page.split("id='diff-table'")[1]
    # the scripts: plotly.js, one per chart, and the JSON of relay-marks; none opened by user text
    assert len(re.findall("<script", page)) == 2 + 4 + 1
    assert '<script type="application/json" id="relay-marks">{"sessions": 3}</script>' in page
    # relay's chart markup is as figure_html writes it (its JSON escapes <, > and /)
    colours = report.chart_colours(sessions, downlinks, store, summary, None)
    chart = report.figure_html(report.timeline(sessions, None, downlinks, "asset", colours), "timeline-asset",
                               with_js=False)
    assert chart in page and "&lt;\\u002fscript&gt;&lt;script&gt;alert(1)" in chart


def test_compare_tables_escape_names_and_headers():
    df = pd.DataFrame({"config": [ODD], "name": ["a&b"], "d_sessions": [-2], "odd<col>": ["x"]})
    out = compare_report.html_table(df, "t")
    assert out.startswith("<table id='t'><thead><tr><th class='l'>config</th><th class='l'>name</th>"
                          "<th class=''>change in sessions</th><th class=''>odd&lt;col&gt;</th></tr></thead>")
    assert ("<tr><td class='l'>Odd &lt;b&gt;&amp;amp;&lt;/b&gt; &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"
            "</td><td class='l'>a&amp;b</td><td class='bad'>-2</td><td class=''>x</td></tr>") in out
    assert compare_report.html_table(df.iloc[:0], "t") == "<table id='t'><tbody><tr><td>(none)</td></tr></tbody></table>"


def test_the_environment_autoescapes_and_refuses_a_missing_variable():
    env = pages.environment()
    assert env is pages.environment()  # made once per process
    assert env.autoescape("report.html") and env.autoescape("compare.html")
    with pytest.raises(jinja2.UndefinedError):
        pages.render_page("base.html")
    assert pages.render_page("base.html", title="<x>").count("&lt;x&gt;") == 2


def test_the_pages_share_the_base_layout_and_ship_as_package_data():
    root = files("relay") / "templates"
    names = {"base.html", "tables.html", "report.html", "compare.html"}
    assert names <= {p.name for p in root.iterdir()}
    for page in ("report.html", "compare.html"):
        text = (root / page).read_text(encoding="utf-8")
        assert '{% extends "base.html" %}' in text and "|safe" not in text and "<style>" not in text
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "templates/*" in config["tool"]["setuptools"]["package-data"]["relay"]
    assert any(d.replace(" ", "").startswith("jinja2>=") for d in config["project"]["dependencies"])
