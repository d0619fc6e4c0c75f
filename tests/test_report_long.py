"""report.html of a long plan (issue 23, views at the scale of the horizon): per week and per month
tables and charts, a compact zoomable timeline, and tables capped with a link to their CSV.

The figures are checked against hand-built inputs (weeks, months and segments worked out by hand)
and, on a real 15-day plan of the small scenario with forward-link and decisional requirements,
against the plan's own tables (the weeks add up to the sessions and to the summary's delivered
volume per asset; the months to the instance's requirements less the summary's violations).
"""
from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pandas as pd
import pytest

from relay.outputs import horizon_views as hv
from relay.outputs import report
from relay.outputs.tables import utc
from relay.summary import PlanFigures, PlanSummary, SolveReport, Violation
from relay.timescales import parse_utc, utc_to_tdb_s

START = "2026-11-23T00:00:00Z"
T0 = utc_to_tdb_s(parse_utc(START))
DAY = 86400.0


def _summary(days: float, delivered=None, violations=()) -> PlanSummary:
    end = pd.Timestamp(START) + pd.Timedelta(days=days)
    return PlanSummary(solve=SolveReport(status="OPTIMAL"),
                       figures=PlanFigures(delivered_by_asset=delivered or {"A": 0.0, "B": 0.0},
                                           violations=tuple(violations)),
                       scenario="long", start=START, end=end.strftime("%Y-%m-%dT%H:%M:%SZ"))


def test_a_plan_is_long_beyond_two_weeks():
    assert hv.horizon_days(_summary(15)) == pytest.approx(15.0)
    assert not hv.is_long(_summary(14)) and hv.is_long(_summary(14.5))
    assert not hv.is_long(PlanSummary(solve=SolveReport(status="OPTIMAL"), figures=PlanFigures()))


def test_weeks_count_sessions_relayed_and_delivered_by_hand():
    # sessions on day 0 (A, 10), day 6.9 (A, 5), day 7 (B, 2) and day 15 (A, 1): weeks 1, 1, 2, 3
    t = [T0 + d * DAY for d in (0.0, 6.9, 7.0, 15.0)]
    sessions = pd.DataFrame({"asset": ["A", "A", "B", "A"], "start": utc(t), "end": utc([x + 600 for x in t]),
                             "volume_mbit": [10.0, 5.0, 2.0, 1.0]})
    # a downlink ending in week 1 carries 3 of A and 1 of B; one ending on day 14 (week 3) 4 of A
    ends = [T0 + 2 * DAY, T0 + 14 * DAY]
    downlinks = pd.DataFrame({"end": utc(ends), "assets": ["A=3.000000;B=1.000000", "A=4.000000"],
                              "volume_mbit": [4.0, 4.0]})
    w = hv.weekly_frame(sessions, downlinks, _summary(16))
    assert list(w.columns) == hv.WEEK_COLUMNS
    assert len(w) == 3 * 2  # 16 days: three weeks, the last one partial; every asset in every week
    got = {(r.week, r.asset): (r.sessions, r.relayed_mbit, r.delivered_mbit) for r in w.itertuples()}
    assert got == {(1, "A"): (2, 15.0, 3.0), (1, "B"): (0, 0.0, 1.0), (2, "A"): (0, 0.0, 0.0),
                   (2, "B"): (1, 2.0, 0.0), (3, "A"): (1, 1.0, 4.0), (3, "B"): (0, 0.0, 0.0)}
    assert list(w["from"].unique()) == ["2026-11-23", "2026-11-30", "2026-12-07"]


def _problem():
    def req(asset, sol, day):
        return SimpleNamespace(asset=asset, sol=sol, start_tdb_s=T0 + day * DAY)

    # 2026-11-23 + 7 days is still November; + 8 days is 2026-12-01
    return SimpleNamespace(
        assets=[SimpleNamespace(name="A", sols=[(100 + k, T0 + k * DAY, T0 + (k + 1) * DAY) for k in range(10)])],
        forward_requirements=[req("A", 100 + k, k) for k in range(10)],
        decisional_requirements=[req("A", 100 + k, k + 0.5) for k in (0, 8, 9)])


def test_requirements_met_per_month_by_hand():
    # unmet: the forward link of local sol 101 (November) and 109 (December), the decisional data of
    # sol 108 (December, named by its mission sol 5108 and local sol 108), an energy note of sol 102
    viol = [Violation("A", 101, "forward_link", ""), Violation("A", 109, "forward_link", ""),
            Violation("A", 5108, "decisional", "", local_sol=108), Violation("A", 102, "energy", ""),
            Violation("A", None, "fixed_session", "")]
    m = hv.monthly_requirements(_problem(), _summary(10, violations=viol))
    rows = {r.month: (r.forward_link_met, r.decisional_met, r.other_unmet) for r in m.itertuples()}
    assert rows == {"2026-11": ("7 of 8", "1 of 1", 1), "2026-12": ("1 of 2", "1 of 2", 0),
                    "(no sol)": ("0 of 0", "0 of 0", 1)}
    assert hv.monthly_requirements(None, _summary(10)) is None


def test_the_compact_timeline_draws_each_bar_as_a_segment_on_its_lane():
    t = [T0, T0 + 3600.0, T0 + 7200.0]
    sessions = pd.DataFrame({"orbiter": ["MRO", "TGO", "MRO"], "asset": ["A", "B", "B"], "start": utc(t),
                             "end": utc([x + 600.0 for x in t]), "volume_mbit": [1.0, 2.0, 3.0]})
    downlinks = pd.DataFrame({"orbiter": ["TGO"], "station": ["DSS"], "start": utc([T0]),
                              "end": utc([T0 + 60.0]), "volume_mbit": [1.0]})
    colours = {"asset": {"A": "#1", "B": "#2"}, "orbiter": {"MRO": "#3", "TGO": "#4"}, "station": {"DSS": "#5"}}
    fig = report.timeline(sessions, None, downlinks, "orbiter", colours, compact=True)
    assert {tr["type"] for tr in fig["data"]} == {"scattergl"}
    # lanes numbered as a category axis sorted descending would place them: TGO 0 (bottom), MRO 1
    assert fig["layout"]["yaxis"]["ticktext"] == ["TGO", "MRO"] and fig["layout"]["yaxis"]["tickvals"] == [0, 1]
    assert fig["layout"]["xaxis"]["rangeslider"]["visible"]
    lines = {tr["name"]: tr for tr in fig["data"] if tr["mode"] == "lines"}
    ms = int(utc([T0]).iloc[0].value // 10**6)
    assert lines["B"]["x"] == [ms + 3_600_000, ms + 4_200_000, None, ms + 7_200_000, ms + 7_800_000, None]
    assert lines["B"]["y"] == [0, 0, None, 1, 1, None]
    assert lines["downlink DSS"]["y"] == [0.36, 0.36, None] and lines["downlink DSS"]["x"][:2] == [ms, ms + 60_000]
    tips = {tr["name"]: tr for tr in fig["data"] if tr["mode"] == "markers"}
    assert tips["A"]["x"] == [ms + 300_000] and "volume Mbit: 1.0" in tips["A"]["hovertext"][0]
    # the short plan's timeline is as before: bars on a category axis
    bars = report.timeline(sessions, None, downlinks, "orbiter", colours)
    assert {tr["type"] for tr in bars["data"]} == {"bar"} and "rangeslider" not in bars["layout"]["xaxis"]


def test_a_long_table_shows_its_first_rows_and_links_to_its_csv():
    df = pd.DataFrame({"x": range(5)})
    t = report.table_view(df, table_id="t", cap=3, file="schedule.csv")
    assert len(t.rows) == 3 and t.total == 5
    out = report.render_macro("tables.html", "table_or_note", t)
    assert out.startswith("<p class='meta capped'>the first 3 of 5 rows;\nevery row is in "
                          "<a href=\"schedule.csv\">schedule.csv</a></p><table id='t'>")
    assert report.table_view(df, table_id="t", cap=5).total is None
    assert report.html_table(df, table_id="t").startswith("<table id='t'>")


@pytest.fixture(scope="module")
def long_plan(small_config, tmp_path_factory):
    """A real 15-day plan of the small scenario, Curiosity with forward-link and decisional requirements."""
    import relay

    text = small_config.read_text().replace(
        "min_elevation_deg: 10, radio: Electra-Lite}\n  - {name: Perseverance",
        "min_elevation_deg: 10, radio: Electra-Lite, landing: {date: '2012-08-06T05:17:57Z', sol: 0},\n"
        "     operations: {forward_link: {sessions_per_sol: 1, lmst_window: [6, 14], min_duration_s: 300},\n"
        "                  decisional: {lmst_window: [13, 18], deadline_lmst_hour: 7}}}\n  - {name: Perseverance", 1)
    path = tmp_path_factory.mktemp("long") / "small-ops.yaml"
    path.write_text(text)
    return relay.plan(relay.load_scenario(str(path)), START, days=15, time_limit_s=20, workers=1, seed=0)


def _table(page: str, table_id: str) -> pd.DataFrame:
    """A table of the page (its cells' text, numbers as numbers)."""
    body = re.search(rf"<table id='{table_id}'>(.*?)</table>", page, flags=re.S).group(1)
    head = re.findall(r"<th class=[^>]*>(.*?)</th>", body)
    rows = [re.findall(r"<td[^>]*>(.*?)</td>", r) for r in re.findall(r"<tr>(.*?)</tr>", body.split("</thead>")[1])]
    df = pd.DataFrame(rows, columns=head)
    for c in df.columns:
        num = pd.to_numeric(df[c].str.replace(",", ""), errors="coerce")
        if num.notna().all():
            df[c] = num
    return df


@pytest.mark.slow
def test_the_report_of_a_15_day_plan_has_its_weeks_months_and_a_compact_timeline(long_plan):
    res = long_plan
    page = res.render()["report.html"]
    assert "<h2>Per sol, week and month</h2>" in page
    assert json.loads(re.search(r'id="relay-marks">(.*?)</script>', page).group(1))["long"] is True
    # the weeks add up to the sessions and to what the summary says reached Earth per asset
    weeks = _table(page, "per-week")
    assert sorted(set(weeks["week"])) == [1, 2, 3] and len(weeks) == 3 * 2
    by_asset = weeks.groupby("asset").sum(numeric_only=True)
    for asset, g in res.sessions.groupby("asset"):
        assert by_asset.loc[asset, "sessions"] == len(g)
        assert by_asset.loc[asset, "relayed_mbit"] == pytest.approx(g["volume_mbit"].sum(), abs=0.2)
    for asset, mbit in res.summary.figures.delivered_by_asset.items():
        assert by_asset.loc[asset, "delivered_mbit"] == pytest.approx(mbit, abs=0.2)
    # the months: the instance's requirements, less the summary's violations of each kind
    months = _table(page, "per-month")
    asked = len(res.problem.decisional_requirements)
    unmet = sum(v.requirement == "decisional" for v in res.summary.figures.violations)
    met = sum(int(s.split(" of ")[0]) for s in months["decisional_met"])
    assert sum(int(s.split(" of ")[1]) for s in months["decisional_met"]) == asked > 0
    assert met == asked - unmet and unmet > 0
    assert sum(int(s.split(" of ")[1]) for s in months["forward_link_met"]) == len(res.problem.forward_requirements)
    assert set(months["month"]) == {"2026-11", "2026-12"}
    # the timelines are compact: one segment and one tooltip per session, no bars
    for cid in ("per-sol-chart", "weekly-chart"):
        assert f'id="{cid}"' in page
    colours = report.chart_colours(res.sessions, res.downlinks, res.store, res.summary, res.passes)
    fig = report.timeline(res.sessions, res.passes, res.downlinks, "asset", colours,
                          report.timeline_marks(res.problem, res.passes, res.requests), compact=True)
    assert not any(tr["type"] == "bar" for tr in fig["data"])
    tips = [h for tr in fig["data"] if tr.get("mode") == "markers" for h in tr["hovertext"]]
    assert len(tips) == len(res.sessions)
    assert not fig["layout"]["shapes"]  # the sols are filled paths, not hundreds of shapes
    assert any(tr.get("fill") == "toself" for tr in fig["data"])


@pytest.mark.slow
def test_a_short_report_inlines_plotlys_basic_bundle_and_a_long_one_the_full(long_plan, small_config):
    """A short plan's report.html draws bars and scatter only, so it inlines plotly.js's basic bundle
    (vendored, the installed plotly.js version: a quarter of the full one); a long plan's draws its
    timelines with WebGL (scattergl, not in the basic bundle), so it inlines the full bundle."""
    import relay
    from relay.outputs.report import plotly_basic_js, plotly_js, plotly_version

    basic, full = plotly_basic_js(), plotly_js()
    assert basic is not None and plotly_version(basic) == plotly_version(full) != ""
    assert len(basic) < len(full) / 3
    short = relay.plan(relay.load_scenario(str(small_config)), START, days=2, time_limit_s=20, workers=1, seed=0)
    short_page = short.render()["report.html"]
    types = set(re.findall(r'"type":"(\w+)"', short_page))
    assert basic in short_page and full not in short_page and "scattergl" not in types and "bar" in types
    long_page = long_plan.render()["report.html"]
    assert full in long_page and basic not in long_page and '"type":"scattergl"' in long_page
