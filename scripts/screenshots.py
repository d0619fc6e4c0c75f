"""Regenerate the README's screenshots of report.html and compare.html (docs/*.png).

    python scripts/screenshots.py            # needs Debian's chromium (apt-get install chromium)

Plans two days of configs/baseline.yaml from 2026-12-01, compares it with a 15-degree
mask on Curiosity, and photographs the pages in headless Chromium: the top of the plan
report, its timeline with one session's tooltip shown (the page is opened with a line
that hovers the first session), and the top of the comparison.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
DOCS = ROOT / "docs"
START = "2026-12-01T00:00:00Z"

HOVER = """<script>
window.addEventListener('load', function () { setTimeout(function () {
  var tl = document.getElementById('timeline-orbiter');
  document.body.insertBefore(tl.parentNode, document.body.firstChild);
  var k = tl.data.findIndex(function (t) { return t.name.indexOf('unused') < 0 && t.name.indexOf('downlink') < 0; });
  Plotly.Fx.hover(tl, [{curveNumber: k, pointNumber: 3}]);
}, 300); });
</script>"""


def shoot(chromium: str, page: Path, png: Path, size: str) -> None:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        "--virtual-time-budget=5000", f"--user-data-dir={profile}", f"--window-size={size}",
                        f"--screenshot={png}", page.resolve().as_uri()], check=True, capture_output=True, timeout=120)
    print(f"wrote {png.relative_to(ROOT)}")


def main() -> int:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        sys.exit("screenshots need Debian's chromium: apt-get install chromium")
    import relay

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        plan = relay.plan(str(ROOT / "configs" / "baseline.yaml"), START, 2.0)
        plan.write(out / "plan")
        page = out / "plan" / "report.html"
        shoot(chromium, page, DOCS / "report.png", "1400,1500")
        hover = out / "plan" / "report-hover.html"
        hover.write_text(page.read_text(encoding="utf-8").replace("</body>", HOVER + "</body>"), encoding="utf-8")
        shoot(chromium, hover, DOCS / "report-timeline.png", "1400,700")
        relay.compare([str(ROOT / "configs" / "baseline.yaml")], START, days=2.0, out=out / "cmp", write_plans=False,
                      variants={"mask15": {"assets.Curiosity.min_elevation_deg": 15}})
        shoot(chromium, out / "cmp" / "compare.html", DOCS / "compare.png", "1400,1100")
    return 0


if __name__ == "__main__":
    sys.exit(main())
