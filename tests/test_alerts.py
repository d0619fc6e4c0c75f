"""The nightly job alerts (issue 19): the DEGRADED report, diff.csv, alert hooks, acknowledgements,
``current`` never moving back in time, rejected runs in the history, ``relay show``, the drop
folder's kinds; and the report's sols, outages, vetoes and requests on the timelines.

Nights of the small scenario (conftest's ``small``: two orbiters, two rovers) over 2 days, in
process through ``relay.cli.main``.  A degraded night is made as tests/test_nightly.py makes it:
``relay.api.plan`` wrapped to add a violated requirement.  URL hooks post only to an
``http.server`` on 127.0.0.1 started by the test.
"""

from __future__ import annotations

import http.server
import json
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest

import relay
import relay.api
from relay.archive import Archive
from relay.cli import main
from relay.commands.nightly import DROP_HELP
from relay.nightly.drop import DROP_FILE_KINDS
from relay.nightly.history import HISTORY_HEADER, LINE_WIDTH
from relay.outputs import report
from relay.summary import Violation

ROOT = Path(__file__).resolve().parents[1]
NIGHTS = ["2026-11-23T00:00:00Z", "2026-11-24T00:00:00Z", "2026-11-25T00:00:00Z"]
HOOK = """\
import sys
open(sys.argv[1], "ab").write(sys.stdin.buffer.read() + b"\\x1e")
sys.exit(int(sys.argv[2]) if len(sys.argv) > 2 else 0)
"""


class Night:
    """The small scenario with a ``nightly:`` section, a drop folder and an archive."""

    def __init__(self, small: Path, section: str = ""):
        self.root = small.parent
        self.config = small
        self.drop = self.root / "drop"
        self.drop.mkdir(exist_ok=True)
        self.archive = self.root / "plans.db"
        self.out = self.root / "plans-out"
        self.hook_script = self.root / "hook.py"
        self.hook_script.write_text(HOOK)
        self.alerts = self.root / "alerts.bin"
        small.write_text(small.read_text() + "planning: {time_limit_s: 5, workers: 1}\n"
                         + "nightly: {days: 2, freeze_hours: 24" + section + "}\n")

    def hook(self, exit_code: int = 0) -> str:
        return json.dumps({"command": [sys.executable, str(self.hook_script), str(self.alerts), str(exit_code)]})

    def args(self, night: int, *extra) -> list[str]:
        return ["nightly", str(self.config), "--archive", str(self.archive), "--drop", str(self.drop),
                "--start", NIGHTS[night], *map(str, extra)]

    def received(self) -> list[dict]:
        if not self.alerts.exists():
            return []
        return [json.loads(x) for x in self.alerts.read_bytes().split(b"\x1e") if x.strip()]

    def run_dir(self, run_id: int) -> Path:
        return self.out / "runs" / str(run_id)

    def current(self) -> str:
        import os

        return os.readlink(self.out / "current")


def run(args, capsys) -> tuple[int, str, str]:
    rc = main(list(map(str, args)))
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.fixture
def violated(monkeypatch):
    """``relay.api.plan`` whose plans violate Curiosity's forward link on a sol (degraded)."""
    real = relay.api.plan

    def worse(*a, **k):
        res = real(*a, **k)
        v = Violation("Curiosity", 54351, "forward_link", "1 of 2 sessions")
        res.summary = res.summary.replace(figures=res.summary.figures.replace(
            violations=res.summary.violations + (v,)))
        return res

    return lambda: monkeypatch.setattr(relay.api, "plan", worse)


@pytest.mark.slow
def test_a_degraded_night_says_so_alerts_and_writes_its_diff(small, capsys, violated):
    site = Night(small)
    site.config.write_text(site.config.read_text().replace("freeze_hours: 24}", "freeze_hours: 24, on_degraded: "
                                                           + site.hook() + "}"))
    rc, out, err = run(site.args(0), capsys)
    assert rc == 0, out + err
    assert site.received() == []                               # a good night calls no hook
    head = (site.run_dir(1) / "diff.csv").read_text().splitlines()
    assert len(head) == 1 and head[0].startswith("change,")    # no base plan: the header alone
    page1 = (site.run_dir(1) / "report.html").read_text()
    assert "DEGRADED" not in page1 and "no earlier plan to compare with" in page1

    violated()
    rc, out, err = run(site.args(1), capsys)
    assert rc == 3, out + err
    [alert] = site.received()
    assert alert["exit_code"] == 3 and alert["status"] == "degraded" and alert["run_id"] == 2
    assert any("forward_link" in r for r in alert["reasons"]) and alert["base_run"] == 1
    assert alert["frozen_until"] and alert["report"].endswith("runs/2/report.html")
    # report.html: DEGRADED at the top, the run id, the reasons, frozen-until and the diff against run 1
    page = (site.run_dir(2) / "report.html").read_text()
    top = page[:page.index("<h2>Summary")]
    assert "<title>DEGRADED relay nightly plan: small</title>" in page
    assert "DEGRADED: run 2" in top and "forward_link" in top and f"frozen until {alert['frozen_until']}" in top
    assert "last night's plan (run 1)" in top and "unchanged" in top
    assert "DEGRADED (solver OPTIMAL)" in top and ">OPTIMAL<" not in top
    diff = pd.read_csv(site.run_dir(2) / "diff.csv")
    assert (diff["change"] == "asset_volume").sum() == 2 and "id='diff-table'" in page
    # relay show names the reason's key; relay history fits a terminal
    rc, out, _ = run(["show", "2", "--archive", site.archive], capsys)
    assert rc == 0 and "DEGRADED [requirement:Curiosity:54351:forward_link]" in out
    rc, out, _ = run(["history", "--archive", site.archive], capsys)
    lines = out.splitlines()
    assert lines[0] == HISTORY_HEADER and len(lines) == 3
    assert all(len(x) <= LINE_WIDTH for x in lines) and "degraded" in lines[2] and "<- current" in lines[2]


@pytest.mark.slow
def test_an_acknowledged_violation_no_longer_degrades_and_expires(small, capsys, violated):
    site = Night(small)
    violated()
    rc, out, err = run(site.args(0), capsys)
    assert rc == 3, out + err
    # until the middle of night 2's plan start: covers night 2 (starts before), not night 3
    rc, out, err = run(["ack", "1", "--archive", site.archive, "--violation", "requirement:Curiosity",
                        "--until", "2026-11-24T12:00:00Z", "--note", "known: rover in safe mode"], capsys)
    assert rc == 0 and "ack 1 stored" in out, err
    rc, out, err = run(site.args(1), capsys)
    assert rc == 0, out + err
    assert "acknowledged (ack 1, until 2026-11-24T12:00:00.000Z)" in out and "DEGRADED" not in out
    job = json.loads((site.run_dir(2) / "nightly.json").read_text())
    assert job["degraded"] == [] and job["acknowledged"][0]["key"] == "requirement:Curiosity:54351:forward_link"
    assert "acknowledged: violated requirement" in (site.run_dir(2) / "report.html").read_text()
    rc, out, err = run(site.args(2), capsys)                   # past `until`: degraded again
    assert rc == 3, out + err
    rc, out, _ = run(["history", "--archive", site.archive], capsys)
    assert "ack 1 until 2026-11-24T12:00Z (expired, run 1): requirement:Curiosity - kno" in out
    assert "1 acked" in out.splitlines()[2]
    # a drop folder's ack file does the same, and is stored in the archive with the run
    (site.drop / "ack_rover.csv").write_text("violation,until,note\nforward_link,2026-12-01T00:00:00Z,rover\n")
    rc, out, err = run(site.args(2), capsys)
    assert rc == 0, out + err
    with Archive.open_existing(site.archive) as arch:
        acks = arch.acks()
    assert [(a["violation"], a["source"], a["run_id"]) for a in acks][-1] == ("forward_link", "drop ack_rover.csv", 4)
    (site.drop / "ack_bad.csv").write_text("violation,until\nforward_link,next week\n")
    rc, out, err = run(site.args(2), capsys)
    assert rc == 2 and "ack_bad.csv" in err and "line 2" in err


class _Catcher(http.server.BaseHTTPRequestHandler):
    bodies: list = []

    def do_POST(self):  # noqa: N802 - http.server's name
        n = int(self.headers.get("Content-Length", 0))
        _Catcher.bodies.append((self.headers.get("Content-Type"), json.loads(self.rfile.read(n))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *a):
        pass


@pytest.fixture
def catcher(monkeypatch):
    """An http.server on 127.0.0.1 that keeps the JSON bodies posted to it."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    _Catcher.bodies = []
    server = http.server.HTTPServer(("127.0.0.1", 0), _Catcher)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/alert", _Catcher.bodies
    server.shutdown()
    server.server_close()


@pytest.mark.slow
def test_failed_and_rejected_runs_post_to_the_url_and_appear_in_the_history(small, capsys, monkeypatch, catcher):
    url, bodies = catcher
    site = Night(small, f", on_failure: {{url: '{url}', timeout_s: 10}}")
    rc, out, err = run(site.args(0), capsys)
    assert rc == 0 and bodies == [], out + err
    (site.drop / "backlog_bad.csv").write_text("asset,time,backlog_mbit\nCuriosity,2026-11-24T00:00:00Z,lots\n")
    rc, out, err = run(site.args(1), capsys)
    assert rc == 2 and "nothing archived" in err
    (site.drop / "backlog_bad.csv").unlink()

    def boom(*a, **k):
        raise RuntimeError("solver exploded")

    monkeypatch.setattr(relay.api, "plan", boom)
    rc, out, err = run(site.args(1), capsys)
    assert rc == 1 and "solver exploded" in err
    assert [(ct, b["status"], b["exit_code"]) for ct, b in bodies] == [("application/json", "rejected", 2),
                                                                      ("application/json", "failed", 1)]
    assert "lots" in bodies[0][1]["error"] and "solver exploded" in bodies[1][1]["error"]
    assert bodies[1][1]["run_id"] == 2
    rc, out, _ = run(["history", "--archive", site.archive], capsys)
    lines = out.splitlines()
    assert len(lines) == 4 and all(len(x) <= LINE_WIDTH for x in lines)
    assert "rejected 2" in lines[2] and "backlog_bad.csv" in lines[2]
    assert "failed   1" in lines[3] and "RuntimeError: solver exploded" in lines[3]
    assert "<- current" in lines[1]
    rc, out, _ = run(["show", "2", "--archive", site.archive], capsys)
    assert "run 2: failed (exit 1)" in out and "RuntimeError: solver exploded" in out


@pytest.mark.slow
@pytest.mark.parametrize("how", ["exit", "timeout", "missing", "url"])
def test_a_failing_hook_is_logged_and_never_hides_the_runs_status(small, capsys, violated, how):
    site = Night(small)
    hook = {"exit": site.hook(5),
            "timeout": json.dumps({"command": [sys.executable, "-c", "import time; time.sleep(30)"], "timeout_s": 0.5}),
            "missing": json.dumps({"command": [str(site.root / "no-such-program")]}),
            "url": json.dumps({"url": "http://127.0.0.1:9/nothing-listens", "timeout_s": 2})}[how]
    site.config.write_text(site.config.read_text().replace("freeze_hours: 24}", f"freeze_hours: 24, on_degraded: "
                                                           f"{hook}}}"))
    violated()
    rc, out, err = run(site.args(0), capsys)
    assert rc == 3, out + err
    assert "warning: the on_degraded alert failed" in err and "stays 3" in err
    words = {"exit": "exited 5", "timeout": "within 0.5 s", "missing": "could not be run",
             "url": "POST http://127.0.0.1:9"}[how]
    assert words in err
    events = [json.loads(x) for x in (site.out / "nightly.jsonl").read_text().splitlines()]
    [alert] = [e for e in events if e["event"] == "alert"]
    assert alert["ok"] is False and words in alert["error"]
    assert site.current() == "runs/1"


def test_an_alert_hook_is_checked_with_the_scenario(small, capsys):
    site = Night(small, ", on_failure: {command: [], url: 'ftp://x'}")
    rc, out, err = run(site.args(0), capsys)
    assert rc == 2 and "nightly.on_failure" in err


@pytest.mark.slow
def test_current_never_moves_back_in_time_unless_forced_or_promoted(small, capsys):
    site = Night(small)
    for night in (0, 1):
        rc, out, err = run(site.args(night), capsys)
        assert rc == 0, out + err
    assert site.current() == "runs/2"
    rc, out, err = run(site.args(0), capsys)                   # a back-fill of night 1
    assert rc == 0, out + err
    assert "current stays at runs/2" in out and "relay promote 3" in out
    assert site.current() == "runs/2"
    with Archive.open_existing(site.archive) as arch:
        assert arch.current()["id"] == 2 and [r["id"] for r in arch.runs()] == [1, 2, 3]
    rc, out, err = run(["promote", "3", "--archive", site.archive], capsys)
    assert rc == 0 and "run 3" in out and site.current() == "runs/3"
    rc, out, err = run(site.args(1), capsys)                   # a later night moves it on
    assert rc == 0 and site.current() == "runs/4"
    rc, out, err = run(site.args(0, "--force"), capsys)
    assert rc == 0 and site.current() == "runs/5"
    rc, out, _ = run(["history", "--archive", site.archive], capsys)
    assert "<- current" in out.splitlines()[5]
    rc, _, err = run(["promote", "9", "--archive", site.archive], capsys)
    assert rc == 2 and "has no run 9" in err


def test_every_drop_folder_kind_is_listed_in_the_help_and_the_docs(capsys):
    docs = (ROOT / "docs" / "nightly.md").read_text()
    with pytest.raises(SystemExit):
        main(["nightly", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    for patterns, _ in DROP_FILE_KINDS:
        for pat in patterns:
            assert pat in DROP_HELP and pat in help_text and f"`{pat}`" in docs, pat


# ----------------------------------------------------------------------------- the report's timelines
@pytest.fixture(scope="module")
def planned(small_config):
    out = pd.DataFrame([{"target": "TGO", "what": "all", "start": "2026-11-23T06:00:00Z",
                         "end": "2026-11-23T12:00:00Z", "note": "TGO safe mode"}])
    veto = pd.DataFrame([{"orbiter": "MRO", "asset": "Curiosity", "start": "2026-11-23T16:00:00Z",
                          "end": "2026-11-23T20:00:00Z", "note": "rover busy"}])
    req = pd.DataFrame([{"id": "R1", "asset": "Perseverance", "start": "2026-11-23T12:00:00Z",
                         "end": "2026-11-23T23:00:00Z", "min_mbit": "10"}])
    return relay.plan(relay.load_scenario(small_config), NIGHTS[0], days=1, time_limit_s=10, workers=1, seed=0,
                      outages=out, forbid=veto, requests=req)


def test_timelines_carry_sols_outages_vetoes_and_requests(planned):
    p = planned
    overlay = report.timeline_marks(p.problem, p.passes, p.requests)
    colours = report.chart_colours(p.sessions, p.downlinks, p.store, p.summary, p.passes)
    shown = report.with_requests(p.sessions, p.requests)
    fig = report.timeline(shown, p.passes, p.downlinks, "asset", colours, overlay)
    names = [s["name"] for s in fig["layout"]["shapes"]]
    # each asset's sols: one band per sol over the day, labelled with its number (no landing: MSD)
    for asset in ("Curiosity", "Perseverance"):
        sols = sorted(set(p.sessions.loc[p.sessions["asset"] == asset, "sol"].astype(int)))
        assert all(f"sol {asset} {n}" in names for n in sols), (asset, sols, names)
    labels = [a["text"] for a in fig["layout"]["annotations"]]
    assert any(t.startswith("sol ") for t in labels)
    assert "outage TGO" in names and "veto MRO with Curiosity" in names
    veto = next(s for s in fig["layout"]["shapes"] if s["name"] == "veto MRO with Curiosity")
    assert veto["yref"] == "y" and veto["x0"].startswith("2026-11-23T16:00")   # over Curiosity's lane only
    [req] = [t for t in fig["data"] if t["name"] == "request windows"]
    assert req["x"][:2] == ["2026-11-23T12:00:00.000", "2026-11-23T23:00:00.000"] and "request: R1" in req["hovertext"][0]
    met = p.requests.set_index("id").loc["R1"]
    if met["status"] == "met":                                 # the session meeting it names it
        tips = [h for t in fig["data"] if t.get("type") == "bar" for h in t["hovertext"]]
        assert any("meets request: R1" in h for h in tips)
    # the orbiters' timeline shades the outage over TGO's lane, and the asset's veto over the whole chart
    fig = report.timeline(shown, p.passes, p.downlinks, "orbiter", colours, overlay)
    spans = {s["name"]: s for s in fig["layout"]["shapes"]}
    assert spans["outage TGO"]["yref"] == "y" and spans["veto MRO with Curiosity"]["yref"] == "y"
    assert not any(n.startswith("sol ") for n in spans)


def test_store_fill_is_readable_at_the_fills_that_occur():
    from relay.outputs.tables import utc

    store = pd.DataFrame({"orbiter": ["MRO"] * 3 + ["TGO"] * 3, "time": utc([8.1e8, 8.1e8 + 60, 8.1e8 + 120] * 2),
                          "fill_mbit": [0.0, 40.0, 12.5, 0.0, 9000.0, 15000.0]})
    fig = report.store_chart(store, {"MRO": 16000.0, "TGO": 16000.0}, {"MRO": "#111", "TGO": "#222"})
    names = [t["name"] for t in fig["data"]]
    # MRO's 40 Mbit under a 16 Gbit cap: no capacity line (the axis scales to its data); TGO near it: drawn
    assert names == ["MRO (peak 40.0 of 16,000 Mbit)", "TGO (peak 15,000.0 of 16,000 Mbit)", "TGO capacity"]


def test_a_replans_report_says_so_in_its_title_and_shows_its_changes_first(planned):
    new = planned.replan(outages=pd.DataFrame([{"target": "MRO", "what": "all", "start": "2026-11-23T00:00:00Z",
                                                "end": "2026-11-23T12:00:00Z", "note": "MRO out"}]))
    page = new.render()["report.html"]
    assert "<title>relay re-plan: small (changes against the plan re-planned)</title>" in page
    assert page.index("id='diff-table'") < page.index("<h2>Summary")
    assert "outage MRO" in page


def test_ack_and_promote_check_their_arguments(tmp_path, capsys):
    archive = tmp_path / "plans.db"
    with Archive(archive) as arch:
        arch.store_run({"started": "2026-11-22T20:00:00.000Z", "finished": "2026-11-22T20:01:00.000Z",
                        "status": "failed", "exit_code": 1, "error": "RuntimeError: boom"})
    base = ["ack", "1", "--archive", archive, "--until", "2026-12-01T00:00:00Z", "--violation"]
    rc, _, err = run(base + ["  "], capsys)
    assert rc == 2 and "--violation" in err and "requirement:Curiosity" in err
    rc, _, err = run(["ack", "7", *base[2:], "volume-drop"], capsys)
    assert rc == 2 and "has no run 7" in err
    rc, _, err = run(base[:-3] + ["--until", "next week", "--violation", "volume-drop"], capsys)
    assert rc == 2 and "--until" in err
    rc, _, err = run(["promote", "1", "--archive", archive], capsys)
    assert rc == 2 and "run 1 is failed" in err
    rc, out, _ = run(base + ["volume-drop"], capsys)
    assert rc == 0 and "ack 1 stored" in out
    rc, out, _ = run(base + ["volume-drop"], capsys)
    assert rc == 0 and "ack 1 already stored" in out
    rc, out, _ = run(["history", "--archive", archive], capsys)
    assert "ack 1 until 2026-12-01T00:00Z" in out and "RuntimeError: boom" in out
