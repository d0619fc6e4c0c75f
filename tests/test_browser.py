"""The HTML reports in a real browser: report.html (relay plan) and compare.html (relay compare).

Each page is opened in headless Chromium (Debian's ``chromium`` package),
driven by subprocess only:

* the page as written, with ``--screenshot`` (saved in tmp_path) and
  ``--enable-logging=stderr``: any console message (an error, an uncaught
  exception, a resource that failed to load) fails the test, and the
  screenshot must not be blank;
* a copy with a small probe script prepended, with ``--dump-dom``: every chart
  image decoded (naturalWidth > 0) and the expected tables present with rows.

Without Chromium the tests are skipped with a message saying how to install it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
START = "2026-11-23T00:00:00Z"

CHROMIUM = next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser"), "/usr/bin/chromium")
                 if p and Path(p).exists()), None)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed: the browser test of the HTML reports "
                       "needs Debian's chromium (`apt-get install chromium`; .ci/run installs it)"),
]

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--virtual-time-budget=5000"]

PROBE = """<script>
(function () {
  var errors = [];
  window.addEventListener('error', function (e) { errors.push(String(e.message || e.type)); }, true);
  var ce = console.error;
  console.error = function () { errors.push([].slice.call(arguments).join(' ')); ce.apply(console, arguments); };
  function probe() {
    var imgs = [].slice.call(document.images);
    var b = document.body;
    b.setAttribute('data-probe-resources', String(performance.getEntriesByType('resource').length));
    var tl = document.getElementById('timeline-asset');
    if (tl && window.Plotly) {
      b.setAttribute('data-probe-marks', String(tl.querySelectorAll('.barlayer .point').length));
      var first = tl.data.length ? tl.data[0] : null;
      if (first && first.x.length) {
        Plotly.Fx.hover(tl, [{curveNumber: 0, pointNumber: 0}]);
        var tip = tl.querySelector('.hoverlayer .hovertext');
        b.setAttribute('data-probe-tooltip', tip ? tip.textContent.replace(/"/g, "'") : '');
      }
    }
    b.setAttribute('data-probe-imgs', imgs.map(function (i) { return i.complete ? i.naturalWidth : -1; }).join(','));
    b.setAttribute('data-probe-tables', [].slice.call(document.querySelectorAll('table')).map(function (t) {
      return (t.id || '-') + ':' + t.querySelectorAll('tbody tr').length; }).join(','));
    b.setAttribute('data-probe-errors', String(errors.length));
    b.setAttribute('data-probe-done', '1');
  }
  window.addEventListener('load', function () { setTimeout(probe, 300); });
})();
</script>"""


def _chromium(tmp_path: Path, url: str, *extra: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"chromium-profile-{len(list(tmp_path.glob('chromium-profile-*')))}"
    cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *extra, url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def _console_messages(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def check_page(page: Path, tmp_path: Path, tables: list[str], min_images: int) -> tuple[Path, dict]:
    """Open ``page``: no console message, no network request, images decoded, ``tables`` present with
    rows; return the screenshot and the probe's findings."""
    shot = tmp_path / f"{page.stem}.png"
    r = _chromium(tmp_path, page.resolve().as_uri(), f"--screenshot={shot}", "--window-size=1280,2200")
    assert r.returncode == 0, r.stderr[-2000:]
    assert not _console_messages(r.stderr), _console_messages(r.stderr)
    assert shot.exists() and shot.stat().st_size > 10_000
    import matplotlib.image as mpimg

    img = mpimg.imread(shot)
    assert img.std() > 0.02, "the screenshot is blank"

    probed = tmp_path / f"probed-{page.name}"
    text = page.read_text(encoding="utf-8")
    probed.write_text(text.replace("<head>", "<head>" + PROBE, 1), encoding="utf-8")
    r = _chromium(tmp_path, probed.resolve().as_uri(), "--dump-dom")
    assert r.returncode == 0, r.stderr[-2000:]
    body = re.search(r"<body([^>]*)>", r.stdout)
    assert body, r.stdout[:500]
    attrs = dict(re.findall(r'(data-probe-[a-z]+)="([^"]*)"', body.group(1)))
    assert attrs.get("data-probe-done") == "1", attrs
    assert attrs["data-probe-errors"] == "0"
    assert attrs["data-probe-resources"] == "0", "the page loaded a resource (it must be self-contained)"
    assert not _console_messages(r.stderr), _console_messages(r.stderr)
    widths = [int(w) for w in attrs["data-probe-imgs"].split(",") if w]
    assert len(widths) >= min_images and all(w > 100 for w in widths), widths
    present = dict(t.split(":") for t in attrs["data-probe-tables"].split(",") if t)
    for t in tables:
        assert t in present, (t, present)
        assert int(present[t]) > 0, (t, present)
    return shot, attrs


def test_plan_report_renders_in_chromium(tmp_path, small_config):
    import relay
    from relay.outputs.tables import iso_text

    plan = relay.plan(relay.load_scenario(small_config), START, days=1, time_limit_s=10, workers=1, seed=0)
    plan.write(tmp_path / "plan")
    shot, probe = check_page(tmp_path / "plan" / "report.html", tmp_path, tables=["summary", "sessions-table"],
                             min_images=0)
    # the timeline per asset holds one mark per session, and hovering one shows its tooltip
    assert int(probe["data-probe-marks"]) == len(plan.sessions) > 0
    first = plan.sessions.sort_values(["orbiter", "start_tdb_s"]).iloc[0]
    tip = probe["data-probe-tooltip"]
    assert "volume Mbit" in tip and iso_text([first["start"]])[0] in tip, tip
    print(f"screenshot: {shot}")


def test_compare_report_renders_in_chromium(tmp_path, small_config):
    import relay

    res = relay.compare([small_config], START, days=1, out=tmp_path / "cmp", write_plans=False,
                        variants={"mask20": {"assets.Curiosity.min_elevation_deg": 20}},
                        plan_options={"time_limit_s": 10, "workers": 1, "seed": 0})
    assert res.names == ["small", "mask20"]
    shot, _ = check_page(tmp_path / "cmp" / "compare.html", tmp_path,
                      tables=["configs", "table-total", "table-asset", "table-orbiter", "table-sols"], min_images=3)
    print(f"screenshot: {shot}")
