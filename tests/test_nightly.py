"""The nightly job (issue 6): rolling horizon with frozen sessions, drop folder, archive, lock, diff.

Small scenarios (one orbiter, one asset, three stations, 2-day horizons, a
short solver time limit, one worker).  End-to-end runs go through the command
line (in-process, or in a subprocess where the test kills it or runs two at
once).  A subprocess runs ``child.py`` (written by :func:`child_script`), which
replaces :func:`relay.nightly.safety.checkpoint` to SIGKILL itself or to hold
the lock at a named step.
"""

from __future__ import annotations

from scenario_texts import NIGHTLY

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest

import relay.api
from relay.archive import Archive
from relay.cli import main
from relay.config_nightly import next_planning_day, parse_day_boundary
from relay.nightly.history import HISTORY_HEADER
from relay.nightly.drop import orbiter_for_file, scan_drop
from relay.nightly.safety import LockHeld, RunLock
from relay.plandiff import DIFF_CSV_COLUMNS, diff_sessions, diff_table, diff_text
from relay.errors import RelayInputError
from relay.orbits.keplerian import KeplerianOrbit
from relay.orbits.oem import write_oem
from relay.summary import Violation
from relay.timescales import utc_to_tdb_s

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent

NIGHT1 = "2026-11-23T00:00:00Z"
NIGHT2 = "2026-11-24T00:00:00Z"
MANOEUVRE = "2026-11-25T06:00:00Z"  # after night 2's freeze horizon (24 h)

SCENARIO = NIGHTLY


# ----------------------------------------------------------------------------- fixtures
def _tgo(mean_anomaly_deg: float) -> KeplerianOrbit:
    return KeplerianOrbit("TGO", utc_to_tdb_s("2026-11-20T00:00:00Z"), 3796.19, 0.0, 74.0, 0.0, 0.0,
                          mean_anomaly_deg)


def write_tgo_oem(path: Path, created: str, manoeuvre_shift_deg: float | None = None) -> Path:
    """A TGO OEM from 2026-11-21 to 2026-11-29; with ``manoeuvre_shift_deg`` a second segment
    from MANOEUVRE on has the orbit's phase shifted (the first segment is identical)."""
    t0, t1 = utc_to_tdb_s("2026-11-21T00:00:00Z"), utc_to_tdb_s("2026-11-29T00:00:00Z")
    if manoeuvre_shift_deg is None:
        return write_oem(path, _tgo(0.0), start_tdb_s=t0, stop_tdb_s=t1, step_s=60.0, creation_date=created)
    tm = utc_to_tdb_s(MANOEUVRE)
    a = write_oem(path.with_suffix(".a"), _tgo(0.0), start_tdb_s=t0, stop_tdb_s=tm, step_s=60.0,
                  creation_date=created).read_text()
    b = write_oem(path.with_suffix(".b"), _tgo(manoeuvre_shift_deg), start_tdb_s=tm, stop_tdb_s=t1, step_s=60.0,
                  creation_date=created).read_text()
    path.with_suffix(".a").unlink()
    path.with_suffix(".b").unlink()
    path.write_text(a + "\n" + b[b.index("META_START"):])
    return path


@pytest.fixture(scope="module")
def oem_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("oem")
    return {"v1": write_tgo_oem(d / "TGO_v1.oem", "2026-11-21T00:00:00"),
            "v2": write_tgo_oem(d / "TGO_v2.oem", "2026-11-22T00:00:00", manoeuvre_shift_deg=40.0)}


class Site:
    """A scenario, a drop folder and an archive in a directory."""

    def __init__(self, root: Path, oem_files: dict):
        self.root = root
        self.config = root / "scenario.yaml"
        self.config.write_text(SCENARIO)
        self.drop = root / "drop"
        self.drop.mkdir()
        shutil.copy(oem_files["v1"], self.drop / "TGO_v1.oem")
        self.oem_files = oem_files
        self.archive = root / "archive" / "plans.db"
        self.out = root / "archive" / "plans-out"

    def args(self, start: str, *extra) -> list[str]:
        return ["nightly", str(self.config), "--archive", str(self.archive), "--drop", str(self.drop),
                "--start", start, *map(str, extra)]

    def add_v2(self):
        shutil.copy(self.oem_files["v2"], self.drop / "TGO_v2.oem")

    def current_link(self) -> str | None:
        try:
            return os.readlink(self.out / "current")
        except OSError:
            return None

    def runs(self) -> list[dict]:
        with Archive.open_existing(self.archive) as a:
            return a.runs()


@pytest.fixture
def site(tmp_path, oem_files):
    return Site(tmp_path, oem_files)


def run(args, capsys) -> tuple[int, str, str]:
    rc = main(list(map(str, args)))
    out = capsys.readouterr()
    return rc, out.out, out.err


def child_script(root: Path) -> Path:
    p = root / "child.py"
    p.write_text(f"""\
import os, signal, sys, time
sys.path.insert(0, {str(TESTS)!r})
import relay.nightly.safety as n
mode, _, point = os.environ.get("NIGHTLY_TEST_MODE", "").partition(":")
flag = os.environ.get("NIGHTLY_TEST_FLAG")
def checkpoint(name):
    if name != point:
        return
    if mode == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if mode == "hold":
        open(flag, "w").close()
        time.sleep(120)
n.checkpoint = checkpoint
from relay.cli import main
sys.exit(main(sys.argv[1:]))
""")
    return p


def child(site: Site, args, mode: str = "", flag: Path | None = None) -> subprocess.Popen:
    env = dict(os.environ, NIGHTLY_TEST_MODE=mode, NIGHTLY_TEST_FLAG=str(flag or ""))
    return subprocess.Popen([sys.executable, str(child_script(site.root)), *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def check_consistent(site: Site) -> dict | None:
    """The archive is readable and whole; ``current`` points at a complete, archived good plan."""
    with sqlite3.connect(site.archive) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with Archive.open_existing(site.archive) as a:
        runs = a.runs()
        good = a.good_runs()
        cur = a.current()
        for r in runs:
            assert r["status"] in ("ok", "degraded", "failed")
            assert (r["exit_code"] in (0, 3)) == (r["status"] != "failed")
        for r in good:
            ses = a.sessions(r["id"])
            run_dir = site.out / "runs" / str(r["id"])
            sched = pd.read_csv(run_dir / "schedule.csv")
            assert len(sched) == len(ses) == r["summary"]["nightly"]["sessions"]
            assert (run_dir / "summary.json").exists() and (run_dir / "nightly.json").exists()
    if cur is None:
        assert site.current_link() is None
        return None
    link = site.current_link()
    # the link follows the archive; killed between COMMIT and the link it still names the
    # previous good plan (complete), and the next run repairs it
    allowed = {f"runs/{cur['id']}"} | ({f"runs/{good[-2]['id']}"} if len(good) > 1 else set())
    assert link in allowed, (link, allowed)
    assert (site.out / "current" / "schedule.csv").exists()
    return cur


# ----------------------------------------------------------------------------- unit tests
@pytest.mark.parametrize("now, boundary, expected", [
    ("2026-11-22T20:00:00", "00:00", "2026-11-23T00:00:00Z"),
    ("2026-11-23T00:00:00", "00:00", "2026-11-24T00:00:00Z"),   # strictly after now
    ("2026-11-22T20:00:00", "21:30", "2026-11-22T21:30:00Z"),
    ("2026-11-22T22:00:00", "21:30", "2026-11-23T21:30:00Z"),
])
def test_next_planning_day(now, boundary, expected):
    when = datetime.fromisoformat(now).replace(tzinfo=timezone.utc)
    assert next_planning_day(when, boundary) == expected


def test_bad_day_boundary_is_an_input_error():
    with pytest.raises(RelayInputError, match="HH:MM"):
        parse_day_boundary("25:00")


@pytest.mark.parametrize("name, own, expected", [
    ("whatever.oem", "TGO", "TGO"),                       # OBJECT_NAME first
    ("MRO_20261122.oem", "UNKNOWN", "MRO"),               # then the file-name prefix
    ("mars-express-v2.bsp", None, "Mars Express"),
    ("mars_express.oem", "NAIF -41", "Mars Express"),
    ("MROX.oem", "UNKNOWN", None),                        # a prefix must end at a separator
    ("tgo.oem", "MARS RECONNAISSANCE ORBITER", "TGO"),
])
def test_drop_file_to_orbiter_rule(name, own, expected):
    got, _ = orbiter_for_file(Path(name), own, ["TGO", "MRO", "Mars Express"])
    assert got == expected


def test_drop_folder_newest_covering_file_wins(tmp_path, oem_files):
    drop = tmp_path / "drop"
    drop.mkdir()
    shutil.copy(oem_files["v1"], drop / "TGO_v1.oem")
    shutil.copy(oem_files["v2"], drop / "TGO_v2.oem")
    # newest of all, but it covers only a day: not a candidate
    t0 = utc_to_tdb_s("2026-11-23T00:00:00Z")
    write_oem(drop / "TGO_short.oem", _tgo(0.0), start_tdb_s=t0, stop_tdb_s=t0 + 86400, step_s=60.0,
              creation_date="2026-11-22T12:00:00")
    (drop / "notes.txt").write_text("ignored")
    got = scan_drop(drop, ["TGO"], ["Curiosity"], utc_to_tdb_s(NIGHT2), utc_to_tdb_s(NIGHT2) + 2 * 86400)
    status = {f.path.name: f.status for f in got.orbit_files}
    assert status["TGO_v2.oem"] == "used"
    assert status["TGO_v1.oem"] == "superseded by TGO_v2.oem"
    assert status["TGO_short.oem"].startswith("not used")
    assert got.overrides == {"orbiters.0.orbit": {"type": "oem", "path": str((drop / "TGO_v2.oem").resolve())}}
    assert [p.name for p, _ in got.ignored] == ["notes.txt"]


def test_lock_refuses_a_second_holder_and_names_the_first(tmp_path):
    a = RunLock(tmp_path / "x.db")
    a.acquire("2026-11-22T20:00:00.000Z")
    try:
        with pytest.raises(LockHeld, match=f"PID {os.getpid()} .*started 2026-11-22T20:00:00.000Z"):
            RunLock(tmp_path / "x.db").acquire("later")
    finally:
        a.release()
    b = RunLock(tmp_path / "x.db")
    b.acquire("again")  # released: free again
    b.release()


def test_diff_matches_moves_by_pass_and_overlap():
    def ses(rows):
        df = pd.DataFrame(rows, columns=["orbiter", "asset", "start", "end", "start_tdb_s", "end_tdb_s",
                                         "volume_mbit", "kind", "pass_rise_tdb_s", "pass_set_tdb_s"])
        return df

    a = ses([["O", "A", "t100", "t200", 100.0, 200.0, 10.0, "return", 90.0, 210.0],
             ["O", "A", "t1000", "t1100", 1000.0, 1100.0, 10.0, "return", 990.0, 1110.0],
             ["O", "B", "t2000", "t2100", 2000.0, 2100.0, 10.0, "return", 1990.0, 2110.0],
             ["O", "A", "t5000", "t5100", 5000.0, 5100.0, 10.0, "return", 4990.0, 5110.0]])
    b = ses([["O", "A", "t100", "t200", 100.0, 200.0, 10.0, "return", 90.0, 210.0],       # unchanged
             ["O", "A", "t1005", "t1107", 1005.0, 1107.0, 11.0, "return", 995.0, 1115.0],  # moved (+5 s)
             ["O", "A", "t3000", "t3100", 3000.0, 3100.0, 10.0, "return", 2990.0, 3110.0],  # added
             ["O", "A", "t9000", "t9100", 9000.0, 9100.0, 10.0, "return", 8990.0, 9110.0]])  # outside
    d = diff_sessions(a, b, 0.0, 8000.0)
    assert d["unchanged"] == 1
    assert [(m["start_before"], m["start_after"], m["shift_s"], m["end_shift_s"]) for m in d["moved"]] == \
        [("t1000", "t1005", 5.0, 7.0)]
    assert sorted(r["start_before"] for r in d["removed"]) == ["t2000", "t5000"]
    assert [r["start_after"] for r in d["added"]] == ["t3000"]
    assert d["outside_after"] == 1
    vol = {r["asset"]: (r["volume_before_mbit"], r["volume_after_mbit"]) for r in d["volume_by_asset"]}
    assert vol == {"A": (30.0, 31.0), "B": (10.0, 0.0)}


# ----------------------------------------------------------------------------- end to end
@pytest.mark.slow
def test_two_nights_with_a_changed_orbit_keep_the_freeze_and_diff_lists_the_moves(site, capsys, tmp_path):
    rc, out, err = run(site.args(NIGHT1), capsys)
    assert rc == 0, err
    assert "run 1 planned" in out and "TGO_v1.oem: TGO: used" in out
    site.add_v2()
    rc, out, err = run(site.args(NIGHT2), capsys)
    assert rc == 0, err + out
    assert "TGO_v1.oem: TGO: superseded by TGO_v2.oem" in out
    assert site.current_link() == "runs/2"

    with Archive.open_existing(site.archive) as a:
        r1, r2 = a.runs()
        s1, s2 = a.sessions(1), a.sessions(2)
        inputs = {i["name"]: i for i in a.inputs(2)}
    assert r2["base_run"] == 1
    assert inputs["TGO_v2.oem"]["detail"]["status"] == "used"
    assert r2["input_hashes"]["drop-orbit:TGO_v2.oem"] == inputs["TGO_v2.oem"]["sha256"]
    key = ["orbiter", "asset", "kind", "start", "end"]
    t_n2, t_freeze = utc_to_tdb_s(NIGHT2), utc_to_tdb_s(NIGHT2) + 24 * 3600.0
    t_end1 = utc_to_tdb_s(NIGHT1) + 3 * 86400.0

    def part(df, lo, hi):
        return df[(df["start_tdb_s"] >= lo) & (df["start_tdb_s"] < hi)]

    # the freeze horizon of night 2: night 1's sessions exactly, nothing else
    f1 = part(s1, t_n2, t_freeze)[key].reset_index(drop=True)
    f2 = part(s2, t_n2, t_freeze)[key].reset_index(drop=True)
    assert len(f1) > 0
    pd.testing.assert_frame_equal(f1, f2)
    assert part(s2, t_n2, t_freeze)["frozen"].all()

    # the diff (default: the last two runs) lists exactly the sessions that differ
    rc, out, err = run(["diff", "--archive", site.archive, "--out", tmp_path / "d.json"], capsys)
    assert rc == 0, err
    d = json.loads((tmp_path / "d.json").read_text())
    assert (d["run_before"], d["run_after"]) == (1, 2)
    c1, c2 = part(s1, t_n2, t_end1), part(s2, t_n2, t_end1)
    only1 = set(map(tuple, c1[key].values)) - set(map(tuple, c2[key].values))
    only2 = set(map(tuple, c2[key].values)) - set(map(tuple, c1[key].values))
    before = {(m["orbiter"], m["asset"], m["kind"], m["start_before"], m["end_before"])
              for m in d["moved"] + d["removed"]}
    after = {(m["orbiter"], m["asset"], m["kind"], m["start_after"], m["end_after"]) for m in d["moved"] + d["added"]}
    assert before == only1 and after == only2
    assert d["unchanged"] == len(set(map(tuple, c1[key].values)) & set(map(tuple, c2[key].values)))
    assert only1 or only2, "the changed orbit changed nothing"
    for m in d["moved"]:
        assert m["start_before"] >= "2026-11-25" and m["start_after"] >= "2026-11-25"  # beyond the freeze
        sb = c1.loc[c1["start"] == m["start_before"], "start_tdb_s"].iloc[0]
        sa = c2.loc[c2["start"] == m["start_after"], "start_tdb_s"].iloc[0]
        assert m["shift_s"] == pytest.approx(sa - sb, abs=1e-3)
    for m in d["added"]:
        assert m["start_after"] >= "2026-11-25"
    for m in d["removed"]:
        assert m["start_before"] >= "2026-11-25"
    assert {r["asset"] for r in d["volume_by_asset"]} == {"Curiosity"}
    assert f"{len(d['moved'])} moved" in out

    # the CSV form, and history
    rc, out, _ = run(["diff", "1", "2", "--archive", site.archive, "--out", tmp_path / "d.csv"], capsys)
    csv = pd.read_csv(tmp_path / "d.csv")
    assert list(csv.columns) == DIFF_CSV_COLUMNS
    assert (csv["change"] == "moved").sum() == len(d["moved"])
    assert (csv["change"] == "asset_volume").sum() == 1
    rc, out, _ = run(["history", "--archive", site.archive], capsys)
    lines = out.strip().splitlines()
    assert lines[0] == HISTORY_HEADER  # a header, then one line per run
    assert len(lines) == 3 and lines[2].strip().startswith("2") and "<- current" in lines[2]

    # structured log: one JSON line per stage with timings
    events = [json.loads(x) for x in (site.out / "nightly.jsonl").read_text().splitlines()]
    stages = [e["stage"] for e in events if e["event"] == "stage" and e["pid"] == os.getpid()]
    for stage in ("load", "plan", "check", "write", "archive"):
        assert stage in stages
    assert all(isinstance(e["seconds"], float) for e in events if e["event"] == "stage")


@pytest.mark.slow
def test_identical_inputs_give_byte_identical_outputs(site, capsys, tmp_path):
    rc, _, err = run(site.args(NIGHT1), capsys)
    assert rc == 0, err
    rc, _, err = run(site.args(NIGHT1), capsys)          # the same night again, same archive
    assert rc == 0, err
    other = tmp_path / "other" / "plans.db"
    rc, _, err = run(site.args(NIGHT1)[:3] + [str(other)] + site.args(NIGHT1)[4:], capsys)  # a fresh archive
    assert rc == 0, err
    dirs = [site.out / "runs" / "1", site.out / "runs" / "2", other.parent / "plans-out" / "runs" / "1"]
    names = sorted(p.name for p in dirs[0].iterdir())
    assert "schedule.csv" in names and "nightly.json" in names
    for d in dirs[1:]:
        assert sorted(p.name for p in d.iterdir()) == names
        for n in names:
            assert (d / n).read_bytes() == (dirs[0] / n).read_bytes(), n
    runs = site.runs()
    assert runs[0]["input_hashes"] == runs[1]["input_hashes"]
    assert runs[1]["base_run"] is None  # a re-run continues the same base plan as the run it repeats


@pytest.fixture
def night1(site, capsys):
    rc, _, err = run(site.args(NIGHT1), capsys)
    assert rc == 0, err
    return site


@pytest.mark.parametrize("name, content, line, words", [
    ("backlog_20261123.csv", "asset,time,backlog_mbit\nCuriosity,2026-11-23T00:00:00Z,100\n"
                             "Curiosity,2026-11-32T00:00:00Z,200\n", "line 3", "2026-11-32"),
    ("backlog_a.csv", "asset,time,backlog_mbit\nCuriosity,2026-11-23T00:00:00,100\n", "line 2", "add a Z"),
    ("backlog_b.csv", "asset,time,backlog_mbit\nCuriosity,2026-11-23T00:00:00Z,lots\n", "line 2", "lots"),
    ("backlog_c.csv", "asset,time,backlog_mbit\nCuriosty,2026-11-23T00:00:00Z,5\n", "line 2", "Curiosty"),
    ("bookings_1.csv", "orbiter,station,start,end\nTGO,Madrid,2026-11-24T01:00:00Z,yesterday\n", "line 2",
     "yesterday"),
    ("TGO_v3.oem", "mid-line", "line 3000", "truncated"),
    ("TGO_v4.oem", "last-number", "line 3000", "truncated"),
    ("TGO_v5.oem", "bad-epoch", "line 3000", "2026-02-30"),   # once a segfault in numpy's date parsing
])
def test_corrupt_drop_file_is_rejected_exit_2_nothing_archived(night1, capsys, name, content, line, words):
    site = night1
    if content in ("mid-line", "last-number"):  # an OEM cut short in line 3000
        lines = site.oem_files["v2"].read_text().splitlines(keepends=True)
        last = lines[2999]
        cut = last.index(" ", 30) if content == "mid-line" else len(last) - 3
        content = "".join(lines[:2999]) + last[:cut]
    elif content == "bad-epoch":  # an impossible date in line 3000 of a whole OEM
        lines = site.oem_files["v2"].read_text().splitlines(keepends=True)
        lines[2999] = "2026-02-30" + lines[2999][10:]
        content = "".join(lines)
    (site.drop / name).write_text(content)
    before = (site.archive.read_bytes(), site.current_link())
    rc, out, err = run(site.args(NIGHT2), capsys)
    assert rc == 2, err + out
    assert name in err and line in err and words in err, err
    assert "nothing archived" in err and "Traceback" not in err
    assert [r["id"] for r in site.runs()] == [1]
    assert site.current_link() == before[1] == "runs/1"
    assert sorted(p.name for p in (site.out / "runs").iterdir()) == ["1"]


def test_failure_is_archived_as_failed_and_never_current(night1, capsys, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("solver exploded")

    monkeypatch.setattr(relay.api, "plan", boom)
    rc, out, err = run(night1.args(NIGHT2), capsys)
    assert rc == 1
    assert "solver exploded" in err and "archived as failed run 2" in err
    runs = night1.runs()
    assert [(r["id"], r["status"], r["exit_code"]) for r in runs] == [(1, "ok", 0), (2, "failed", 1)]
    assert "RuntimeError: solver exploded" in runs[1]["error"]
    assert night1.current_link() == "runs/1"
    rc, out, _ = run(["history", "--archive", night1.archive], capsys)
    assert "failed" in out.splitlines()[2] and "solver exploded" in out.splitlines()[2]
    assert "<- current" in out.splitlines()[1]
    check_consistent(night1)


@pytest.mark.parametrize("how", ["violation", "volume"])
def test_degraded_plan_exit_3_is_current(night1, capsys, monkeypatch, how):
    real = relay.api.plan

    def worse(*a, **k):
        res = real(*a, **k)
        if how == "violation":
            v = Violation("Curiosity", 1, "forward_link", "1 of 2 sessions")
            res.summary = res.summary.replace(figures=res.summary.figures.replace(
                violations=res.summary.violations + (v,)))
        else:  # half of every session's volume: the returned volume over the common span halves
            res.sessions["volume_mbit"] = (0.5 * res.sessions["volume_mbit"]).round(3)
        return res

    monkeypatch.setattr(relay.api, "plan", worse)
    rc, out, err = run(night1.args(NIGHT2, "--max-drop-pct", 25), capsys)
    assert rc == 3, err + out
    assert "DEGRADED" in out
    assert ("forward_link" in out) if how == "violation" else ("below run 1's" in out and "same span" in out)
    runs = night1.runs()
    assert runs[-1]["status"] == "degraded" and night1.current_link() == "runs/2"


@pytest.mark.slow
def test_second_run_during_the_first_exits_at_once_with_the_lock_message(site, capsys):
    flag = site.root / "holding"
    first = child(site, site.args(NIGHT1), mode="hold:locked", flag=flag)
    try:
        for _ in range(600):
            if flag.exists() or first.poll() is not None:
                break
            time.sleep(0.1)
        assert flag.exists(), first.communicate()
        second = subprocess.run([sys.executable, "-m", "relay", *site.args(NIGHT1)], capture_output=True,
                                text=True, timeout=120)
        assert second.returncode == 1
        assert "another nightly run holds the lock" in second.stderr
        assert f"PID {first.pid} " in second.stderr
        assert not site.archive.exists() or site.runs() == []
    finally:
        first.kill()  # the holder dies: the kernel releases its lock
        first.wait()
    rc, _, err = run(site.args(NIGHT1), capsys)
    assert rc == 0, err


@pytest.mark.slow
@pytest.mark.parametrize("point", ["planned", "written", "renamed", "committed"])
def test_run_killed_at_each_step_leaves_the_last_good_plan(site, capsys, point):
    rc, _, err = run(site.args(NIGHT1), capsys)
    assert rc == 0, err
    site.add_v2()
    p = child(site, site.args(NIGHT2), mode=f"kill:{point}")
    p.communicate(timeout=600)
    assert p.returncode == -signal.SIGKILL
    cur = check_consistent(site)
    expected = 2 if point == "committed" else 1
    assert cur["id"] == expected
    # the next run repairs what the killed one left, and plans
    rc, out, err = run(site.args(NIGHT2), capsys)
    assert rc == 0, err
    cur = check_consistent(site)
    assert site.current_link() == f"runs/{cur['id']}"
    assert sorted(int(x.name) for x in (site.out / "runs").iterdir()) == [r["id"] for r in site.runs()]


@pytest.mark.slow
def test_run_killed_at_random_moments_leaves_the_archive_readable(site, capsys):
    site.add_v2()
    t = time.monotonic()
    p = child(site, site.args(NIGHT1))
    p.communicate(timeout=600)
    assert p.returncode == 0
    duration = time.monotonic() - t   # used only to spread the kill times, never asserted on
    good = 1
    for seed in (1, 2, 3, 4):
        delay = random.Random(seed).uniform(0.2 * duration, 1.05 * duration)
        p = child(site, site.args(NIGHT2))
        try:
            p.communicate(timeout=delay)
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGKILL)
            p.communicate()
        if p.returncode == 0:
            good += 1
        cur = check_consistent(site)
        assert cur is not None and cur["id"] >= 1
        assert len(site.runs()) >= good
    rc, _, err = run(site.args(NIGHT2), capsys)
    assert rc == 0, err
    check_consistent(site)
    assert site.current_link() == f"runs/{site.runs()[-1]['id']}"


def test_config_nightly_section_and_command_line_errors(site, capsys):
    site.config.write_text(SCENARIO.replace("freeze_hours: 24}", "freeze_hours: 24, freze: 3}"))
    rc, _, err = run(site.args(NIGHT1), capsys)
    assert rc == 2 and "nightly: unknown key(s) freze" in err and "scenario.yaml" in err
    site.config.write_text(SCENARIO)
    rc, _, err = run(site.args(NIGHT1, "--freeze-hours", 100), capsys)
    assert rc == 2 and "longer than the planning horizon" in err
    rc, _, err = run(["history", "--archive", site.root / "nope.db"], capsys)
    assert rc == 2 and "no archive here" in err
    assert not site.archive.exists()


# ----------------------------------------------------------------------------- issue 13: trust
@pytest.mark.slow
def test_three_plain_nights_of_the_baseline_exit_0(tmp_path, capsys):
    """The same geometry recomputed never degrades a run: frozen sessions match the recomputed
    passes within planning's tolerance, and no fixed-session note is raised."""
    archive = tmp_path / "plans.db"
    for night, start in enumerate(("2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z", "2026-12-03T00:00:00Z"), 1):
        rc, out, err = run(["nightly", ROOT / "configs" / "baseline.yaml", "--archive", archive, "--start", start],
                           capsys)
        assert rc == 0, out + err
        assert "DEGRADED" not in out
        job = json.loads((tmp_path / "plans-out" / "runs" / str(night) / "nightly.json").read_text())
        assert job["degraded"] == [] and job["fixed_sessions_missing"] == []
        summary = json.loads((tmp_path / "plans-out" / "runs" / str(night) / "summary.json").read_text())
        assert not [v for v in summary["violations"] if v["requirement"] == "fixed_session"]
        if night > 1:
            assert job["frozen_sessions"] > 0 and job["diff"]["added"] == job["diff"]["removed"] == 0


def _frame(rows):
    return pd.DataFrame(rows, columns=["orbiter", "asset", "start", "end", "start_tdb_s", "end_tdb_s", "volume_mbit",
                                       "kind"])


def test_diff_counts_a_volume_change_of_one_unit_as_changed_with_both_volumes():
    a = _frame([["O", "A", "t100", "t200", 100.0, 200.0, 10.0, "return"],
                ["O", "A", "t300", "t400", 300.0, 400.0, 10.0, "return"],
                ["O", "A", "t500", "t600", 500.0, 600.0, 10.0, "return"]])
    b = _frame([["O", "A", "t100", "t200", 100.0, 200.0, 10.1, "return"],      # one unit more: changed
                ["O", "A", "t300", "t400", 300.004, 400.0, 10.05, "return"],   # 4 ms, half a unit: same
                ["O", "A", "t500", "t600", 500.0, 600.0, 7.0, "return"]])      # 3 Mbit less: changed
    d = diff_sessions(a, b, 0.0, 1000.0, unit_mbit=0.1)
    assert d["unchanged"] == 1 and not d["moved"] and not d["added"] and not d["removed"]
    assert [(c["start_before"], c["volume_before_mbit"], c["volume_after_mbit"]) for c in d["changed"]] == \
        [("t100", 10.0, 10.1), ("t500", 10.0, 7.0)]
    text = diff_text({**d, "run_before": 1, "run_after": 2, "span_start": "s", "span_end": "e"})
    assert "2 changed volume" in text and "10.0 -> 7.0 Mbit" in text
    assert (diff_table(d)["change"] == "changed").sum() == 2


def test_volume_check_compares_the_span_both_plans_cover():
    """Run N covers days 0-7, this run days 1-8: the totals differ by whole days, the check compares
    days 1-7 only (hand-made sessions, one per day of 100 Mbit)."""
    from relay.nightly.base import BasePlan
    from relay.nightly.job import Prepared, volume_check

    day = 86400.0

    def plan(days, scale=1.0):
        return _frame([["O", "A", f"d{d}", f"d{d}e", d * day + 3600, d * day + 4200, 100.0 * scale, "return"]
                       for d in days])

    base_ses = plan(range(0, 7))
    base = BasePlan({"id": 4, "plan_start_tdb_s": 0.0, "days": 7.0}, base_ses, None, None, 7 * day, [])
    prep = Prepared(None, "s", "e", day, 8 * day, "f", 3 * day, base, None, None, {}, [], [])
    fig, why = volume_check(prep, plan(range(1, 8)), base_ses, 10.0)
    assert (fig["returned_mbit"], fig["base_returned_mbit"], fig["change_pct"]) == (600.0, 600.0, 0.0)
    assert why is None
    fig, why = volume_check(prep, plan(range(1, 8), scale=0.8), base_ses, 10.0)
    assert (fig["returned_mbit"], fig["change_pct"]) == (480.0, -20.0)
    assert "20.0 % below run 4's 600.0 Mbit over the same span" in why


@pytest.mark.slow
def test_second_night_records_its_inputs_penalty_backlogs_and_diff(night1, capsys):
    """nightly.json and the JSON log of night 2; the backlogs night 2 starts from are those night 1's
    plan leaves at its start (its problem.json backlog + generation - return volume relayed before)."""
    site = night1
    (site.drop / "notes.txt").write_text("not an input")
    secret = site.root / "secret.txt"
    secret.write_text("TOP SECRET first line\n")
    (site.drop / "bookings_link.csv").symlink_to(secret)
    rc, out, err = run(site.args(NIGHT2), capsys)
    assert rc == 0, out + err
    assert "TOP SECRET" not in out + err + (site.out / "nightly.jsonl").read_text()
    assert "bookings_link.csv: a symbolic link" in out
    job1 = json.loads((site.out / "runs" / "1" / "nightly.json").read_text())
    job2 = json.loads((site.out / "runs" / "2" / "nightly.json").read_text())
    assert job1["frozen_until"] is None and job1["change_penalty_mbit"] is None
    assert job2["frozen_until"] == "2026-11-25T00:00:00Z" and job2["frozen_sessions"] > 0
    assert job2["change_penalty_mbit"] == 50.0 and job2["change_penalty_in_effect"]   # planning's default
    events = [json.loads(x) for x in (site.out / "nightly.jsonl").read_text().splitlines()]
    drop = [e for e in events if e["event"] == "drop"][-1]
    assert drop["orbit"] == {"TGO_v1.oem": "used"}
    assert set(drop["ignored"]) == {"notes.txt", "bookings_link.csv"}
    diff = [e for e in events if e["event"] == "diff"][-1]
    assert diff["base_run"] == 1 and diff["unchanged"] + diff["changed"] + diff["moved"] > 0
    assert {k: diff[k] for k in ("unchanged", "changed", "moved", "added", "removed")} == job2["diff"]
    # the carried backlog, from night 1's own files
    p1 = json.loads((site.out / "runs" / "1" / "problem.json").read_text())
    p2 = json.loads((site.out / "runs" / "2" / "problem.json").read_text())
    s1 = pd.read_csv(site.out / "runs" / "1" / "schedule.csv")
    t2 = utc_to_tdb_s(NIGHT2)
    a1 = next(a for a in p1["assets"] if a["name"] == "Curiosity")
    relayed = s1[(s1["start_tdb_s"] < t2) & (s1["asset"] == "Curiosity") & (s1["kind"] == "return")]["volume_mbit"]
    expected = a1["backlog_mbit"] + sum(v for t, v in a1["generation"] if t <= t2) - relayed.sum()
    got = next(a for a in p2["assets"] if a["name"] == "Curiosity")["backlog_mbit"]
    assert got == pytest.approx(expected, abs=0.01)
    assert got != pytest.approx(a1["backlog_mbit"], abs=1.0)  # not the scenario's starting backlog again
    assert job2["backlogs"] == {"Curiosity": "carried from run 1"}


@pytest.mark.slow
def test_a_new_backlog_row_wins_over_the_carried_backlog(night1, capsys):
    (night1.drop / "backlog_1.csv").write_text("asset,time,backlog_mbit\n"
                                               "Curiosity,2026-11-23T12:00:00Z,1234.5\n"   # newer than run 1
                                               "Curiosity,2026-11-22T00:00:00Z,99\n")     # older: run 1 knew it
    rc, out, err = run(night1.args(NIGHT2), capsys)
    assert rc == 0, out + err
    p2 = json.loads((night1.out / "runs" / "2" / "problem.json").read_text())
    assert p2["assets"][0]["backlog_mbit"] == 1234.5
    assert "Curiosity drop folder row of 2026-11-23T12:00:00.000Z" in out


@pytest.mark.slow
def test_current_that_is_a_directory_is_repaired(night1, capsys):
    site = night1
    link = site.out / "current"
    link.unlink()
    shutil.copytree(site.out / "runs" / "1", link)  # a restore that followed the link
    rc, out, err = run(site.args(NIGHT2), capsys)
    assert rc == 0, out + err
    assert "was a directory, not a link" in out
    assert site.current_link() == "runs/2"
    aside = [p for p in site.out.iterdir() if p.name.startswith("current.replaced-")]
    assert len(aside) == 1 and (aside[0] / "schedule.csv").exists()
    check_consistent(site)


def _long_line_csv(site):
    (site.drop / "backlog_x.csv").write_text("asset,time,backlog_mbit\n" + "X" * 5000 + ",2026-11-23T00:00:00Z,1\n")


@pytest.mark.parametrize("case, words", [
    ("out-is-a-file", ["--out", "not a directory"]),
    ("archive-is-a-directory", ["plans.db"]),
    ("days-inf", ["--days", "inf"]),
    ("start-empty", ["--start", "empty"]),
    ("start-impossible", ["2026-02-30"]),
    ("seed-huge", ["--seed"]),
    ("log-is-a-directory", ["log"]),
    ("drop-not-a-folder", ["drop", "not a directory"]),
    ("bookings-unknown-orbiter", ["bookings_1.csv", "line 2", "MROO"]),
    ("long-line", ["backlog_x.csv", "line 2"]),
])
def test_user_mistakes_exit_2_with_one_paragraph_and_nothing_archived(site, capsys, case, words):
    args = site.args(NIGHT1)
    if case == "out-is-a-file":
        (site.root / "outfile").write_text("x")
        args += ["--out", site.root / "outfile"]
    elif case == "archive-is-a-directory":
        site.archive.mkdir(parents=True)
    elif case == "days-inf":
        args += ["--days", "inf"]
    elif case == "start-empty":
        args[args.index("--start") + 1] = ""
    elif case == "start-impossible":
        args[args.index("--start") + 1] = "2026-02-30T00:00:00Z"
    elif case == "seed-huge":
        args += ["--seed", str(2 ** 70)]
    elif case == "log-is-a-directory":
        (site.root / "logdir").mkdir()
        args += ["--log", site.root / "logdir"]
    elif case == "drop-not-a-folder":
        (site.root / "dropfile").write_text("x")
        args[args.index("--drop") + 1] = site.root / "dropfile"
    elif case == "bookings-unknown-orbiter":
        (site.drop / "bookings_1.csv").write_text("orbiter,station,start,end\n"
                                                  "MROO,Madrid,2026-11-23T01:00:00Z,2026-11-23T02:00:00Z\n")
    elif case == "long-line":
        _long_line_csv(site)
    rc, out, err = run(args, capsys)
    assert rc == 2, out + err
    assert "Traceback" not in err and "nothing archived" in err
    message = err.strip().splitlines()[0]
    for w in words:
        assert w in message, message
    assert len(message) < 700, message  # a short excerpt at most, never a file's content
    assert not site.archive.is_file() or site.runs() == []


def test_a_missing_frozen_session_is_named_with_times_and_the_shift():
    from relay.nightly.base import missing_frozen

    fixed = pd.DataFrame([["TGO", "Curiosity", "2026-12-03T06:00:00.000Z", "2026-12-03T06:10:00.000Z", 1000.0,
                           1600.0]], columns=["orbiter", "asset", "start", "end", "start_tdb_s", "end_tdb_s"])
    near = pd.DataFrame([["TGO", "Curiosity", "2026-12-03T06:00:00.020Z", "2026-12-03T06:10:00.000Z", 1000.02,
                          1600.0]], columns=["orbiter", "asset", "start", "end", "start_tdb_s", "end_tdb_s"])
    assert missing_frozen(fixed, near.assign(start_tdb_s=1000.009)) == []   # within 10 ms: the same session
    (msg,) = missing_frozen(fixed, near)
    assert msg.startswith("TGO -> Curiosity 2026-12-03T06:00:00.000Z to 2026-12-03T06:10:00.000Z")
    assert "start +0.020 s" in msg and "2026-12-03T06:00:00.020Z" in msg


def test_nightly_section_is_part_of_the_scenario_schema(site, capsys):
    from relay.config import load_scenario
    from relay.nightly.options import resolve

    site.config.write_text(SCENARIO.replace("freeze_hours: 24}", "freeze_hours: 24, max_drop_pct: -5}"))
    with pytest.raises(RelayInputError, match=r"nightly\.max_drop_pct: got -5"):
        load_scenario(site.config)           # every command checks it, not only relay nightly
    rc, _, err = run(site.args(NIGHT1), capsys)
    assert rc == 2 and "scenario.yaml" in err and "nightly.max_drop_pct" in err
    site.config.write_text(SCENARIO.replace("freeze_hours: 24}", "freeze_hours: 24, archive: a/plans.db, "
                                                                 "max_drop_pct: 20}"))
    job = resolve(str(site.config), {"max_drop_pct": None, "freeze_hours": 12.0})
    assert job.options.archive == str(site.root / "a" / "plans.db")    # relative to the config file
    assert (job.options.max_drop_pct, job.options.freeze_hours, job.days) == (20.0, 12.0, 3.0)
    assert job.change_penalty_mbit == 50.0                               # planning.change_penalty_mbit


@pytest.mark.slow
@pytest.mark.parametrize("overhang_s, degraded", [(0.005, False), (0.5, True)])
def test_a_frozen_session_past_its_recomputed_pass_is_flagged_beyond_the_tolerance(night1, capsys, overhang_s,
                                                                                     degraded):
    """A committed session that ends ``overhang_s`` after its pass sets: within the 10 ms tolerance it is
    the same geometry recomputed (exit 0); beyond it the plan notes it, naming orbiter, asset, times, amount."""
    site = night1
    t_n2 = utc_to_tdb_s(NIGHT2)
    with sqlite3.connect(site.archive) as db:
        seq, end = db.execute("SELECT seq, pass_set_tdb_s FROM sessions WHERE run_id = 1 AND start_tdb_s >= ? "
                              "AND end_tdb_s >= pass_set_tdb_s - 1e-3 ORDER BY seq LIMIT 1", (t_n2,)).fetchone()
        db.execute("UPDATE sessions SET end_tdb_s = ? WHERE run_id = 1 AND seq = ?", (end + overhang_s, seq))
    rc, out, err = run(site.args(NIGHT2), capsys)
    assert rc == (3 if degraded else 0), out + err
    if degraded:
        line = next(x for x in out.splitlines() if "DEGRADED" in x and "fixed_session" in x)
        assert "TGO -> Curiosity" in line and f"reaches {overhang_s:.3f} s outside" in line
        assert line.count("Z to 2026-11-") == 2  # the session's and the pass window's UTC times


# ----------------------------------------------------------------------------- issue 18
def test_scenario_operations_outside_the_horizon_are_left_out_with_a_note(site, capsys):
    """A scenario's outages (and vetoes, requests) of past days no longer stop every later night:
    those that miss the run's horizon are left out with a note, the others are planned with."""
    site.config.write_text(SCENARIO + """\
outages:
  - {target: TGO, what: all, start: "2026-11-20T00:00:00Z", end: "2026-11-21T00:00:00Z", note: last week}
  - {target: Madrid, what: xband, start: "2026-11-23T06:00:00Z", end: "2026-11-23T09:00:00Z"}
  - {target: Curiosity, what: uhf, start: "2026-12-20T00:00:00Z", end: "2026-12-21T00:00:00Z"}
forbid:
  - {orbiter: TGO, asset: Curiosity, start: "2026-11-19T00:00:00Z", end: "2026-11-19T12:00:00Z"}
requests:
  - {id: old, asset: Curiosity, kind: return, start: "2026-11-18T00:00:00Z", end: "2026-11-18T06:00:00Z",
     priority: required}
""")
    rc, out, err = run(site.args(NIGHT1), capsys)
    assert rc == 0, out + err
    notes = [line for line in out.splitlines() if "left out" in line]
    assert len(notes) == 4, out
    assert any("outages[0]: the outage of TGO (2026-11-20T00:00:00.000Z to 2026-11-21T00:00:00.000Z) lies before "
               "this run's horizon" in n for n in notes), notes
    assert any("outages[2]: the outage of Curiosity" in n and "lies after" in n for n in notes), notes
    assert any("forbid[0]: the veto of TGO -> Curiosity" in n for n in notes), notes
    assert any("requests[0]: the request old" in n for n in notes), notes
    assert not any("outages[1]" in n for n in notes)          # it overlaps the horizon: planned with
    problem = json.loads((site.out / "current" / "problem.json").read_text())
    assert [o["target"] for o in problem["outages"]] == ["Madrid"]
    log = [json.loads(line) for line in (site.out / "nightly.jsonl").read_text().splitlines()]
    assert sum(e["event"] == "note" and "left out" in e["note"] for e in log) == 4


def test_a_second_archive_cannot_take_over_another_archives_out(night1, capsys):
    site = night1
    before = {p.relative_to(site.out): (p.read_bytes() if p.is_file() and not p.is_symlink() else None)
              for p in site.out.rglob("*")}
    other = site.root / "other" / "plans.db"
    args = site.args(NIGHT2)
    args[args.index("--archive") + 1] = other
    rc, out, err = run(args + ["--out", site.out], capsys)
    assert rc == 2, out + err
    message = err.strip().splitlines()[0]
    assert "--out" in message and str(site.archive) in message and str(other) in message, message
    assert "Traceback" not in err and "nothing archived" in err
    assert not other.exists() and not other.parent.exists()              # nothing written
    after = {p.relative_to(site.out): (p.read_bytes() if p.is_file() and not p.is_symlink() else None)
             for p in site.out.rglob("*")}
    assert after == before
    rc, out, err = run(site.args(NIGHT2), capsys)                       # its own archive still plans there
    assert rc in (0, 3), out + err


def test_an_output_folder_of_an_older_relay_is_claimed_only_by_its_archive(night1, capsys):
    """Written before the marker file: its run directories name the archive they belong to."""
    site = night1
    (site.out / ".relay-archive").unlink()
    other = site.root / "other" / "plans.db"
    args = site.args(NIGHT2)
    args[args.index("--archive") + 1] = other
    rc, out, err = run(args + ["--out", site.out], capsys)
    assert rc == 2 and "did not write" in err and not other.exists(), out + err
    rc, out, err = run(site.args(NIGHT2), capsys)
    assert rc in (0, 3), out + err
    assert (site.out / ".relay-archive").read_text().strip() == str(site.archive.resolve())


@pytest.mark.parametrize("limit", ["-5", "0"])
def test_history_limit_must_be_a_positive_count(tmp_path, capsys, limit):
    rc, out, err = run(["history", "--archive", tmp_path / "plans.db", "--limit", limit], capsys)
    assert rc == 2 and out == ""
    assert "--limit" in err and repr(limit) in err and "Traceback" not in err


@pytest.mark.parametrize("option, target, words", [
    ("--log", "config", ["is the config file"]),
    ("--log", "archive", ["is the archive"]),
    ("--log", "archive-wal", ["is the archive (its wal file)"]),
    ("--log", "drop-file", ["inside the drop folder"]),
    ("--out", "drop", ["is the drop folder"]),
    ("--out", "in-drop", ["inside the drop folder"]),
])
def test_inputs_are_never_outputs(site, capsys, option, target, words):
    (site.drop / "bookings_1.csv").write_text("orbiter,station,start,end\n")
    path = {"config": site.config, "archive": site.archive, "archive-wal": f"{site.archive}-wal",
            "drop-file": site.drop / "bookings_1.csv", "drop": site.drop, "in-drop": site.drop / "out"}[target]
    config, drop = site.config.read_bytes(), sorted(p.name for p in site.drop.iterdir())
    rc, out, err = run(site.args(NIGHT1) + [option, path], capsys)
    assert rc == 2, out + err
    message = err.strip().splitlines()[0]
    assert option in message and all(w in message for w in words), message
    assert site.config.read_bytes() == config and sorted(p.name for p in site.drop.iterdir()) == drop
    assert (site.drop / "bookings_1.csv").read_text() == "orbiter,station,start,end\n"
    assert not site.archive.exists() and not site.out.exists()          # nothing written


@pytest.mark.slow
def test_a_nights_diff_names_the_outage_dropped_in(night1, capsys):
    """Night 2 with an outage file in the drop folder: the sessions it removes from night 1's plan
    read ``outage of ...`` in the run's diff.csv, not a displacement (issue 19)."""
    site = night1
    (site.drop / "outage_tgo.csv").write_text("target,what,start,end,note\n"
                                             "TGO,all,2026-11-25T06:00:00Z,2026-11-26T06:00:00Z,safe mode\n")
    rc, out, err = run(site.args(NIGHT2), capsys)
    assert rc in (0, 3), out + err
    diff = pd.read_csv(site.out / "runs" / "2" / "diff.csv")
    removed_tgo = diff[(diff["change"] == "removed") & (diff["orbiter"] == "TGO")]
    assert len(removed_tgo) > 0
    assert removed_tgo["cause"].str.startswith("outage of TGO").all(), removed_tgo["cause"].tolist()
