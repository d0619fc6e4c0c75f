"""report.html's "Predicted vs achieved" section (issue 22): `relay actuals ingest` puts it in the plan
folder's report, with numbers checked against sums of the hand-made reports, every user string
escaped, nothing dropped, and the folder still whole (its manifest lists the new report)."""
from __future__ import annotations

import hashlib
import io
import json
import math
from contextlib import redirect_stdout
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from relay.actuals.accounting import aboard_at, backlog_at, ledger, sol_accounts, sol_end_tdb_s
from relay.actuals.report_section import render_report_section
from relay.cli import main
from relay.errors import RelayInputError
from relay.outputs.actuals_views import BEGIN, END, ActualsView, pair_chart, render_section, splice_section
from relay.planfolder import verify_plan_folder
# the small plan of test_actuals.py (its fixture plan_dir, solved once for this module) and its helpers
from test_actuals import fresh, plan_dir, report_of, run, schedule, write_reports  # noqa: F401

NOTE = "<script>alert(1)</script> & co"


class Tables(HTMLParser):
    """The tables of a page by id: header and rows of cell texts (entities decoded)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, dict] = {}
        self._table = self._row = self._cell = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._table = self.tables.setdefault(dict(attrs).get("id") or f"#{len(self.tables)}",
                                                 {"head": [], "rows": []})
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(("th" if tag == "th" else "td", "".join(self._cell)))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if all(kind == "th" for kind, _ in self._row):
                self._table["head"] = [t for _, t in self._row]
            else:
                self._table["rows"].append([t for _, t in self._row])
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def section_of(page: str) -> str:
    a, b = page.rfind(BEGIN), page.find(END)
    assert 0 <= a < b and page.count(BEGIN) == 1
    return page[a + len(BEGIN):b]


def frames(section: str) -> dict[str, pd.DataFrame]:
    p = Tables()
    p.feed(section)
    return {k: pd.DataFrame(t["rows"], columns=t["head"]) for k, t in p.tables.items()}


def num(text: str) -> float:
    return float("nan") if text == "" else float(text.replace(",", ""))


def shown(text: str, want: float) -> bool:
    """A cell as the report writes a number (3 decimals, 1 from 1,000 up) against a hand figure."""
    if math.isnan(want):
        return text == ""
    return abs(num(text) - want) <= (0.051 if abs(want) >= 1000 else 0.00051)


@pytest.fixture(scope="module")
def ingested(plan_dir, tmp_path_factory):  # noqa: F811  (the fixture imported above)
    """A copy of the small plan with hand-made reports: three sessions reported (one failed, one
    with a note holding markup), one report matching no session."""
    tmp = tmp_path_factory.mktemp("views")
    out = fresh(plan_dir, tmp)
    ses = list(schedule(out).itertuples(index=False))
    reports = [report_of(ses[0], 12.5, "partial", shift_s=20.0), report_of(ses[1], 0.0, "failed"),
               {**report_of(ses[2], 40.25), "note": f'"{NOTE}"'},
               {**report_of(ses[3], 7.0), "start": "2020-01-01T00:00:00Z", "end": "2020-01-01T00:10:00Z"}]
    rep = tmp / "reports.csv"
    write_reports(rep, reports)
    printed = io.StringIO()
    with redirect_stdout(printed):
        assert main(["actuals", "ingest", str(rep), "--plan", str(out)]) == 0
    return out, ses, {ses[0].option_id: 12.5, ses[1].option_id: 0.0, ses[2].option_id: 40.25}, printed.getvalue()


def test_the_section_is_in_the_report_after_ingest_and_the_folder_verifies(ingested, capsys):
    out, ses, achieved, text = ingested
    assert f"updated {out / 'report.html'}" in text
    manifest = verify_plan_folder(out)        # the manifest lists the new report.html: the folder is whole
    data = (out / "report.html").read_bytes()
    assert manifest["files"]["report.html"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert run(["validate", out], capsys)[0] == 0
    assert not list(out.parent.glob("plan.tmp-*")) and not list(out.parent.glob("plan.old-*"))
    page = data.decode()
    assert page.count('<section id="actuals">') == 1 and "<h2>Predicted vs achieved</h2>" in page


def test_per_pair_figures_are_the_sums_of_the_reports(ingested):
    out, ses, achieved, _ = ingested
    t = frames(section_of((out / "report.html").read_text()))["actuals-pairs"]
    options = {o["option_id"]: o for o in json.loads((out / "problem.json").read_text())["options"]}
    sched = schedule(out)
    assert len(t) == len(set(zip(sched["orbiter"], sched["asset"])))
    for row in t.itertuples(index=False):
        mine = sched[(sched["orbiter"] == row.orbiter) & (sched["asset"] == row.asset)]
        rep = mine[mine["option_id"].isin(achieved)]
        predicted = sum(options[o]["capacity_mbit"] for o in rep["option_id"])   # no calibration: the link model's
        got = sum(achieved[o] for o in rep["option_id"])
        assert int(row.sessions) == len(mine) and int(row.reported) == len(rep)
        assert int(row.failed_or_missed) == int((rep["option_id"] == ses[1].option_id).sum())
        assert shown(row.predicted_mbit, predicted) and shown(row.achieved_mbit, got)
        assert shown(row.planned_mbit, float(rep["volume_mbit"].sum()))
        assert shown(row.ratio, got / predicted if predicted else float("nan"))
        unplanned = (row.orbiter, row.asset) == (ses[3].orbiter, ses[3].asset)
        assert int(row.unplanned) == int(unplanned) and shown(row.unplanned_mbit, 7.0 if unplanned else 0.0)


def test_per_sol_figures_are_the_accountings_and_the_data_aboard_adds_up(ingested):
    out, ses, achieved, _ = ingested
    t = frames(section_of((out / "report.html").read_text()))["actuals-sols"]
    led = ledger(out)
    acc = sol_accounts(led)
    assert len(t) == len(acc)
    for row, want in zip(t.itertuples(index=False), acc.itertuples(index=False)):
        assert (row.asset, row.sol) == (want.asset, str(want.sol) if want.sol >= 0 else "-")
        for col in ("planned_mbit", "received_mbit", "shortfall_mbit"):
            assert shown(getattr(row, col), getattr(want, col)), col
        assert (int(row.sessions), int(row.reported), int(row.failed_or_missed)) == (want.sessions, want.reported,
                                                                                    want.lost)
        if want.sol < 0:          # the unmatched report's: in no sol of the plan
            assert row.aboard_mbit == row.aboard_planned_mbit == ""
            continue
        # by hand: at the end of the sol the lander holds, beyond what the plan has it hold, what the
        # reported sessions ending by then did not return, less the unplanned sessions' data
        end = sol_end_tdb_s(led, want.asset, want.sol)
        sched = schedule(out)
        done = sched[(sched["asset"] == want.asset) & (sched["end_tdb_s"] <= end) & sched["option_id"].isin(achieved)]
        left = sum(v - achieved[o] for o, v in zip(done["option_id"], done["volume_mbit"]))
        extra = 7.0 if want.asset == ses[3].asset else 0.0   # the unmatched report lies before the plan
        assert num(row.aboard_mbit) - num(row.aboard_planned_mbit) == pytest.approx(left - extra, abs=0.1)
    total = sum(num(x) for x in t["received_mbit"])
    assert total == pytest.approx(sum(achieved.values()) + 7.0, abs=0.01)


def test_the_data_aboard_at_many_times_is_the_backlog_at_each(ingested):
    out, ses, achieved, _ = ingested
    led = ledger(out)
    sched = schedule(out)
    times = sorted({float(led.problem.start_tdb_s) - 1.0, *sched["end_tdb_s"], *(sched["end_tdb_s"] - 1e-3),
                    float(led.problem.end_tdb_s)})
    for a in led.problem.assets:
        many = aboard_at(led, a.name, times)
        assert many.tolist() == pytest.approx([backlog_at(led, t)[a.name] for t in times], abs=1e-9)


def test_nothing_is_dropped_and_every_user_string_is_escaped(ingested):
    out, ses, achieved, _ = ingested
    page = (out / "report.html").read_text()
    sec = section_of(page)
    t = frames(sec)
    assert set(t["actuals-sessions"]["option_id"]) == set(achieved)
    assert set(t["actuals-unreported"]["option_id"]) == {s.option_id for s in ses} - set(achieved)
    nomatch = t["actuals-unmatched"]
    assert len(nomatch) == 1 and (nomatch["orbiter"].iloc[0], nomatch["asset"].iloc[0]) == (ses[3].orbiter,
                                                                                            ses[3].asset)
    assert num(nomatch["achieved_mbit"].iloc[0]) == 7.0 and nomatch["report"].iloc[0] == "reports.csv line 5"
    # the note: text in the table, escaped in the markup and in the chart's JSON
    note = t["actuals-sessions"].set_index("option_id").loc[ses[2].option_id, "note"]
    assert note == NOTE
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in sec
    marks = json.loads(sec.split('id="relay-actuals-marks">')[1].split("</script>")[0])
    assert marks == {"pairs": len(t["actuals-pairs"]), "reported": 3, "unreported": len(ses) - 3, "unmatched": 1,
                     "calibration": ""}


def test_without_reports_no_section_and_a_second_ingest_replaces_it(plan_dir, tmp_path, capsys):  # noqa: F811
    page = (plan_dir / "report.html").read_text()
    assert BEGIN + END in page and 'id="actuals"' not in page and "Predicted vs achieved" not in page
    out = fresh(plan_dir, tmp_path)
    ses = list(schedule(out).itertuples(index=False))
    for k, row in enumerate(ses[:2]):
        rep = tmp_path / f"r{k}.csv"
        write_reports(rep, [report_of(row, 3.0)])
        assert run(["actuals", "ingest", rep, "--plan", out], capsys)[0] == 0
    page = (out / "report.html").read_text()
    assert page.count('<section id="actuals">') == 1
    assert set(frames(section_of(page))["actuals-sessions"]["option_id"]) == {ses[0].option_id, ses[1].option_id}
    verify_plan_folder(out)


def test_a_changed_folder_is_refused_and_left_alone(plan_dir, tmp_path, capsys):  # noqa: F811
    out = fresh(plan_dir, tmp_path)
    rep = tmp_path / "r.csv"
    write_reports(rep, [report_of(next(schedule(out).itertuples(index=False)), 1.0)])
    assert run(["actuals", "ingest", rep, "--plan", out], capsys)[0] == 0
    (out / "sols.csv").write_text((out / "sols.csv").read_text() + "\n")
    before = (out / "report.html").read_bytes()
    with pytest.raises(RelayInputError, match="sols.csv"):
        render_report_section(out)
    assert (out / "report.html").read_bytes() == before


def test_a_report_of_an_older_relay_gets_the_section_once():
    page = '<html><body><h1>x</h1>\n<script type="application/json" id="relay-marks">{}</script></body></html>'
    once = splice_section(page, "<p>A</p>")
    assert once.index("<p>A</p>") < once.index('id="relay-marks"') and once.count(BEGIN) == 1
    assert splice_section(once, "<p>B</p>") == once.replace("<p>A</p>", "<p>B</p>")


def test_the_chart_draws_the_calibrations_band():
    mu, sigma = math.log(0.8), 0.25
    sessions = pd.DataFrame({"option_id": ["a", "b", "c"], "orbiter": ["O"] * 3, "asset": ["A"] * 3,
                             "start": ["2026-01-01T00:00:00Z"] * 3, "outcome": ["ok", "partial", "missed"],
                             "predicted_mbit": [100.0, 200.0, 50.0], "planned_mbit": [80.0, 160.0, 40.0],
                             "achieved_mbit": [90.0, 120.0, 0.0], "note": ["", "<b>x</b>", ""],
                             "mu": [mu] * 3, "sigma": [sigma] * 3})
    fig = pair_chart(sessions, "O", "A", "#123456", "cal <1>")
    lower, upper, median = fig["data"][:3]
    x = upper["x"][1]
    assert x == pytest.approx(200.0 * 1.05)
    assert lower["y"][1] == pytest.approx(x * 0.8 * math.exp(-sigma)) and upper["fill"] == "tonexty"
    assert upper["y"][1] == pytest.approx(x * 0.8 * math.exp(sigma)) and median["y"][1] == pytest.approx(x * 0.8)
    assert "cal &lt;1&gt;" in upper["name"]
    points = {t["name"]: t for t in fig["data"] if t.get("mode") == "markers"}
    assert set(points) == {"ok (1)", "partial (1)", "missed (1)"}
    assert points["partial (1)"]["y"] == [120.0] and "&lt;b&gt;x&lt;/b&gt;" in points["partial (1)"]["hovertext"][0]
    # without a calibration (or with the uncalibrated spread) no band is drawn
    assert not any(t.get("fill") for t in pair_chart(sessions.assign(mu=0.0, sigma=0.0), "O", "A", "#1", "c")["data"])
    assert not any(t.get("fill") for t in pair_chart(sessions, "O", "A", "#1", "")["data"])


def test_a_folder_whose_reports_are_all_gone_says_so():
    empty = pd.DataFrame(columns=["orbiter", "asset", "sessions", "reported", "lost", "predicted_mbit", "planned_mbit",
                                  "achieved_mbit", "ratio", "unplanned", "unplanned_mbit"])
    none = pd.DataFrame(columns=["orbiter", "asset", "outcome"])
    html = render_section(ActualsView(empty, none, pd.DataFrame(), none, pd.DataFrame(), ""))
    assert "(no pass reports ingested)" in html and "actuals-pair-" not in html
