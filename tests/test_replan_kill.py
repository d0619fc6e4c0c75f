"""``relay replan`` killed with SIGKILL at random moments (issue 18): its --out folder is only
ever the old plan or the complete new one (its manifest verifies, its schedule is one of the
two), and a later complete run leaves no ``OUT.tmp-PID`` or ``OUT.old-PID`` behind.  Half the
kills fall anywhere in the run, half while it writes the new folder (the moments that matter)."""
from __future__ import annotations

import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import relay.api as api
from relay.planfolder import verify_plan_folder

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "configs" / "baseline.yaml"
START = "2026-11-23T00:00:00Z"
RUNS = 8

pytestmark = pytest.mark.xdist_group("replan")


def replan_cmd(base: Path, veto: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "relay", "replan", str(base), "--forbid", str(veto), "--out", str(out), "--quiet"]


def wait_for_writing(p: subprocess.Popen, out: Path) -> None:
    """Return once the run ``p`` has begun writing the new folder (or has ended)."""
    writing = out.parent / f"{out.name}.tmp-{p.pid}"
    while p.poll() is None and not writing.exists():
        time.sleep(0.001)


def timed_run(cmd: list[str], out: Path) -> tuple[float, float]:
    """Seconds a complete run takes, and of those the seconds it writes (for spreading kills)."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_for_writing(p, out)
    t1 = time.monotonic()
    assert p.wait() == 0, p.stderr.read()
    t2 = time.monotonic()
    return t2 - t0, t2 - t1


def which(out: Path, old: bytes, new: bytes) -> str:
    """"old" or "new" when ``out`` is one whole plan folder holding that schedule."""
    verify_plan_folder(out)
    schedule = (out / "schedule.csv").read_bytes()
    return {old: "old", new: "new"}.get(schedule, "another plan")


def test_a_killed_replan_leaves_the_old_folder_or_the_complete_new_one(tmp_path):
    base = tmp_path / "base"
    result = api.plan(str(BASELINE), START, 1.0)
    result.write(base)
    veto = tmp_path / "veto.csv"
    veto.write_text(f"pass_id,note\n{result.sessions.sort_values('volume_mbit').iloc[-1]['pass_id']},x\n")
    # the new plan, made once to the end (and how long a run takes, to spread the kills over it)
    ref = tmp_path / "ref"
    duration, writes = timed_run(replan_cmd(base, veto, ref), ref)
    old, new = (base / "schedule.csv").read_bytes(), (ref / "schedule.csv").read_bytes()
    assert old != new
    out = tmp_path / "plans" / "current"
    shutil.copytree(base, out)                      # the folder being replaced holds the old plan
    rng = random.Random(18)
    seen = []
    for k in range(RUNS):
        p = subprocess.Popen(replan_cmd(base, veto, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if k % 2 == 0:      # anywhere in the run
            time.sleep(rng.uniform(0.0, 1.1 * duration))
        else:               # while it writes: from the moment its OUT.tmp-PID appears
            wait_for_writing(p, out)
            time.sleep(rng.uniform(0.0, 1.2 * writes))
        p.kill()
        p.wait()
        seen.append(which(out, old, new))
        assert seen[-1] in ("old", "new"), seen
    r = subprocess.run(replan_cmd(base, veto, out), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert which(out, old, new) == "new"
    assert sorted(p.name for p in out.parent.iterdir()) == ["current"]   # no OUT.tmp-PID, no OUT.old-PID
