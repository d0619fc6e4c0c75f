"""A service run re-plans from the plan its worker holds in memory exactly as from the stored files.

:class:`relay.service.engine.PlanCache` keeps the plans a worker wrote (read back from their
folder in the background, as a re-plan reads a folder) by the SHA-256 of their zipped folder,
so that a re-plan of the published plan neither unzips nor reads it again.  The reference is
the same re-plan from the zipped files alone (a fresh cache: unzipped and read as before).
The warm-up a service worker runs at start (:func:`relay.workers.warm_replan`) takes the
re-plan path once and finds the outage it declares in the diff.  A run's scratch folder left
by a process that died (in /dev/shm: memory) is removed by the next process's first run.
"""
from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import zipfile

import pytest

pytest.importorskip("distributed")

from relay import workers  # noqa: E402
from relay.result import result_from_folder  # noqa: E402
from relay.service import engine  # noqa: E402
from relay.summary import VOLATILE_KEYS  # noqa: E402

START = "2026-12-08T00:00:00Z"
#: files whose text carries wall-clock figures (solve and stage seconds), and the manifest of their hashes
TIMED = ("summary.json", "report.html", "manifest.json")


def unzipped(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n) for n in z.namelist()}


def without_clocks(out: dict) -> dict:
    """A run's payload without what a wall clock decides (seconds, the summary's volatile keys, the timed files)."""
    kept = {k: v for k, v in out.items() if k not in ("seconds", "files", "summary")}
    kept["files"] = {n: d for n, d in unzipped(out["files"]).items() if n not in TIMED}
    kept["summary"] = {k: v for k, v in out["summary"].items() if k not in VOLATILE_KEYS}
    return kept


@pytest.fixture(scope="module")
def first(small_config):
    """A day of the small scenario planned by a run (its worker then holds the plan)."""
    payload = {"scenario_text": engine.scenario_text(small_config), "folder": None, "start": START, "days": 1.0,
               "tables": {}, "base": None, "added": {}, "published": None, "base_is_published": False}
    return payload, engine.plan_task(payload)


def test_a_replan_from_the_held_plan_is_the_replan_from_its_files(first, monkeypatch):
    payload, out = first
    s = out["sessions"][0]
    outage = {"target": s["orbiter"], "what": "all", "start": s["start"], "end": s["end"], "note": "test"}
    replan = {**payload, "tables": {"outage": [outage]}, "base": out["files"], "added": {"outage": [outage]},
              "base_is_published": True}
    assert hashlib.sha256(out["files"]).hexdigest() in engine.PLANS.plans  # held since its run returned it
    held = engine.plan_task(replan)
    monkeypatch.setattr(engine, "PLANS", engine.PlanCache())  # nothing held: unzipped and read
    fresh = engine.plan_task(replan)
    assert without_clocks(held) == without_clocks(fresh)
    assert [(r["orbiter"], r["start_before"]) for r in held["diff"]["removed"]] == [(s["orbiter"], s["start"])]
    # the held plan is only read: a second re-plan from it is the same again
    monkeypatch.undo()
    assert without_clocks(engine.plan_task(replan)) == without_clocks(fresh)


def test_the_cache_holds_the_latest_plans_and_reads_a_missing_one_from_its_files(first, tmp_path):
    _, out = first
    cache = engine.PlanCache(size=1)
    a = cache.result(out["files"], tmp_path / "a")
    assert (tmp_path / "a" / "problem.json").exists()  # not held: unzipped and read
    assert cache.result(out["files"], tmp_path / "b") is a and not (tmp_path / "b").exists()
    assert a.sessions.equals(result_from_folder(tmp_path / "a").sessions)


def test_the_warm_up_takes_the_replan_path(small_config):
    assert workers.warm_replan(str(small_config), START) is True


def test_a_run_folder_left_by_a_dead_process_is_removed(tmp_path, monkeypatch):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    left = tmp_path / f"{engine.RUN_FOLDER}{dead.pid}-abc"
    (left / "plan").mkdir(parents=True)
    live = tmp_path / f"{engine.RUN_FOLDER}{os.getpid()}-def"
    live.mkdir()
    other = tmp_path / "someone-elses"
    other.mkdir()
    monkeypatch.setattr(engine, "scratch_folder", lambda: str(tmp_path))
    monkeypatch.setattr(engine, "SWEPT", set())  # this process has not looked yet
    mine = engine.run_folder()
    assert mine.parent == tmp_path and mine.name.startswith(f"{engine.RUN_FOLDER}{os.getpid()}-")
    assert not left.exists() and live.exists() and other.exists()
