"""report.html without plotly.io (issue 11, the re-plan's speed): the charts' markup is written by
relay itself and must be what plotly.io.to_html writes for the same figure, byte for byte; the
column-at-a-time tables and tooltips give what the row-at-a-time ones gave."""
from __future__ import annotations

import decimal
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from relay.outputs import report
from relay.outputs.tables import iso_text, iso_z, utc


@pytest.fixture
def json_engine():
    """plotly.io with its built-in json engine (the one relay's markup follows; orjson, when
    installed, spells some floats and non-ASCII text otherwise)."""
    import plotly.io as pio

    old = pio.json.config.default_engine
    pio.json.config.default_engine = "json"
    yield pio
    pio.json.config.default_engine = old


def _plotly_html(pio, fig, div_id, with_js):
    return pio.to_html(fig, include_plotlyjs=with_js, full_html=False, div_id=div_id, validate=False,
                       config=dict(report.CHART_CONFIG))


def _tables():
    t0 = [8.1e8 + 3600.0 * k + 0.25 * k for k in range(6)]
    sessions = pd.DataFrame({
        "orbiter": ["MRO", "TGO", "MRO", "MAVEN", "TGO", "MRO"],
        "asset": ["Curiosity", "Perseverance", "Perseverance", "Curiosity", "Curiosity", "Perseverance"],
        "start": utc(t0), "end": utc([t + 600.0 + 7.125 * k for k, t in enumerate(t0)]),
        "sol": [1500, 1501, "", 1502, 1503, 1504], "lmst_start": ["13:00:00", "", "14:00:00", "", "", "x<y"],
        "volume_mbit": [101.25, 2000.5, float("nan"), 3.0, 4.5, 0.0], "kind": ["return"] * 6,
        "pass_id": [f"P{k:05d}" for k in range(6)]})
    passes = pd.DataFrame({
        "pass_id": [f"P{k:05d}" for k in range(8)], "orbiter": ["MRO", "TGO"] * 4,
        "asset": ["Curiosity", "Perseverance", "Perseverance", "Curiosity"] * 2,
        "rise": utc([8.1e8 + 1800.0 * k for k in range(8)]), "set": utc([8.1e8 + 1800.0 * k + 900 for k in range(8)]),
        "used": [True] * 6 + [False] * 2, "volume_mbit": [10.0] * 8, "max_elevation_deg": [45.5] * 7 + [float("nan")],
        "reason": ["whole"] * 6 + ["outage", "<b>veto</b> & co"], "reason_detail": [""] * 7 + ["a/b"]})
    downlinks = pd.DataFrame({"orbiter": ["MRO", "TGO"], "station": ["Goldstone", "Madrid"],
                              "start": utc([8.1e8, 8.1e8 + 50.0]), "end": utc([8.1e8 + 3600.0, 8.1e8 + 99.5]),
                              "volume_mbit": [1234.5, 55.0], "assets": ["Curiosity=1234.5", "Perseverance=55"]})
    return sessions, passes, downlinks


def _colours(sessions, passes, downlinks):
    return {"asset": report.colour_map(passes["asset"], report.ASSET_COLOURS),
            "orbiter": report.colour_map(passes["orbiter"], report.ORBITER_COLOURS),
            "station": report.colour_map(downlinks["station"], report.STATION_COLOURS)}


@pytest.mark.parametrize("with_js", [False, True])
def test_chart_markup_is_plotlys_byte_for_byte(json_engine, with_js):
    sessions, passes, downlinks = _tables()
    colours = _colours(sessions, passes, downlinks)
    store = pd.DataFrame({"orbiter": ["MRO", "MRO"], "time": utc([8.1e8, 8.1e8 + 60.0]), "fill_mbit": [0.0, 5.5]})
    figs = [report.timeline(sessions, passes, downlinks, "orbiter", colours),
            report.timeline(sessions, passes, downlinks, "asset", colours),
            report.store_chart(store, {"MRO": 16000.0}, colours["orbiter"])]
    for k, fig in enumerate(figs):
        assert report.figure_html(fig, f"chart-{k}", with_js=with_js) == \
            _plotly_html(json_engine, fig, f"chart-{k}", with_js)


def test_awkward_figure_values_are_written_as_plotly_writes_them(json_engine):
    fig = {"data": [{"type": "scatter", "x": [1.0, float("nan"), float("inf"), -float("inf"), np.int64(3),
                                              np.float32(0.5), np.bool_(True), decimal.Decimal("2.5")],
                     "y": np.array([1, 2, 3]), "text": ["</script><script>alert(1)</script>", "é ü \u2028 \u2029",
                                                        "NaN as text", 'quote " and \\ backslash'],
                     "customdata": [pd.Timestamp("2026-11-23T01:02:03.456Z"), pd.NaT, None,
                                    np.array(["2026-11-23T00:00"], dtype="datetime64[ms]")]}],
           "layout": {"title": {"text": "a/b <i>c</i>"}, "width": 640, "height": 480.5}}
    assert report.figure_html(fig, "odd", with_js=False) == _plotly_html(json_engine, fig, "odd", False)
    fig["layout"] = {"template": {"layout": {"height": "50vh"}}}
    assert report.figure_html(fig, "tpl", with_js=False) == _plotly_html(json_engine, fig, "tpl", False)
    with pytest.raises(TypeError):
        report.figure_json({"x": object()})


def test_the_report_renders_without_importing_plotly():
    code = ("import sys, pickle\n"
            "from relay.outputs import report\n"
            "f = report.figure_html({'data': [], 'layout': {'height': 300}}, 'x', with_js=True)\n"
            "assert 'Plotly.newPlot' in f and len(f) > 1_000_000\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('plotly', 'narwhals')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_timeline_bars_and_tooltips_follow_the_rows():
    sessions, passes, downlinks = _tables()
    fig = report.timeline(sessions, passes, downlinks, "orbiter", _colours(sessions, passes, downlinks))
    traces = {t["name"]: t for t in fig["data"]}
    # one trace per asset (sorted), rows in table order; unused passes faint, one per asset
    assert [t["name"] for t in fig["data"]] == ["unused: Curiosity", "unused: Perseverance", "Curiosity",
                                                "Perseverance", "downlink Goldstone", "downlink Madrid"]
    cur = sessions[sessions["asset"] == "Curiosity"]
    t = traces["Curiosity"]
    assert t["base"] == [s[:-1] for s in iso_text(cur["start"])] and t["y"] == list(cur["orbiter"])
    want = [(e - s).total_seconds() * 1000.0 for s, e in zip(cur["start"], cur["end"])]
    assert t["x"] == want and all(isinstance(x, float) for x in t["x"])
    first = t["hovertext"][0].split("<br>")
    assert first[:4] == ["orbiter: MRO", "asset: Curiosity", "kind: return", f"start UTC: {iso_text(cur['start'])[0]}"]
    assert "volume Mbit: 101.2" in first and "pass: P00000" in first
    # a missing or empty value gives no line; user text is escaped
    per = traces["Perseverance"]["hovertext"]
    lines = [p.split("<br>") for p in per]
    assert "sol: 1501" in lines[0] and not any(line.startswith("LMST:") for line in lines[0])
    assert "LMST: 14:00:00" in lines[1] and not any(line.startswith(("sol:", "volume Mbit:")) for line in lines[1])
    assert "LMST: x&lt;y" in lines[2]
    odd = traces["unused: Curiosity"]["hovertext"][0]
    assert "reason: &lt;b&gt;veto&lt;/b&gt; &amp; co" in odd and "max elevation" not in odd


def test_html_table_cells():
    ts = utc([8.1e8, 8.2e8])
    df = pd.DataFrame({"when": ts, "x": [1234.56, float("nan")], "y": [0.12345, 999.9999], "n": [None, "<a>"],
                       "i": [1, 2], "b": [True, False]})
    html = report.html_table(df, left=("when",), table_id="t")
    assert html.startswith("<table id='t'><thead><tr><th class='l'>when</th><th class=''>x</th>")
    rows = html.split("<tr>")[2:]
    assert rows[0] == (f"<td class='l'>{iso_z(ts[0])}</td><td class=''>1,234.6</td><td class=''>0.123</td>"
                       "<td class=''></td><td class=''>1</td><td class=''>True</td></tr>")
    assert rows[1].startswith(f"<td class='l'>{iso_z(ts[1])}</td><td class=''></td><td class=''>1,000.000</td>"
                              "<td class=''>&lt;a&gt;</td>")
    assert report.html_table(df.iloc[:0]) == "<p class='meta'>(none)</p>"


def test_iso_text_of_a_utc_column_is_iso_z_of_each():
    rng = np.random.default_rng(7)
    t = utc(np.sort(rng.uniform(-3e9, 3e9, 500)))
    t = pd.concat([t, pd.Series([pd.NaT], dtype=t.dtype)], ignore_index=True)
    want = [iso_z(v) if not pd.isna(v) else "" for v in t]
    assert iso_text(t) == want and iso_text(list(t)) == want and iso_text(pd.DatetimeIndex(t)) == want
    # another zone is spelled by strftime, as before (the fast path is for UTC only)
    paris = t.dt.tz_convert("Europe/Paris")
    assert iso_text(paris) == [iso_z(v) if not pd.isna(v) else "" for v in paris]
    assert math.isclose(len(iso_text(t)), 501)
