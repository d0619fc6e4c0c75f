"""``relay nightly --db`` (issue 20): nightly runs recorded in the service's database as plan versions.

The nightly tests' scenario (``scenario_texts.NIGHTLY``, one orbiter over one rover, 3-day
horizon, 24 h freeze) under a name of its own per test, planned in-process through the command
line with ``--db`` naming the service's data folder that tests/service_world.py migrated (or,
in the PostgreSQL child run of tests/test_service_pg.py, its server).  What the service holds
is read through its API (Django's test client) and compared with the nightly archive: the same
sessions and files, the frozen sessions unchanged in the diff, the next night the next version.
"""
from __future__ import annotations

import importlib.util
import io
import json
import os
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from scenario_texts import NIGHTLY

if importlib.util.find_spec("django") is None or importlib.util.find_spec("ninja") is None:
    pytest.skip("the service extra is not installed (pip install -e '.[service]')", allow_module_level=True)

from service_world import World, django_ready, engine_time, unique  # noqa: E402

from relay.archive import Archive  # noqa: E402
from relay.cli import main  # noqa: E402

#: one worker process runs the service tests (one configured Django, one SQLite database)
pytestmark = pytest.mark.xdist_group("service")

ROOT = Path(__file__).resolve().parents[1]
NIGHT1 = "2026-11-23T00:00:00Z"
NIGHT2 = "2026-11-24T00:00:00Z"
J = "application/json"


@pytest.fixture(scope="module")
def world():
    django_ready()
    return World()


def db_option() -> str:
    """The service's database as ``--db`` names it: its data folder, or the PostgreSQL URL."""
    return os.environ.get("RELAY_TEST_DB_URL") or str(django_ready())


def write_config(folder: Path, name: str, time_limit_s: int = 5) -> Path:
    """The nightly tests' scenario, named ``name`` (and with another solver time limit: another text)."""
    text = NIGHTLY.replace("name: nightly-test", f"name: {name}")
    text = text.replace("time_limit_s: 5", f"time_limit_s: {time_limit_s}")
    p = folder / "scenario.yaml"
    p.write_text(text)
    return p


def nightly(config: Path, start: str, capsys, *extra) -> tuple[int, str, str]:
    rc = main(["nightly", str(config), "--archive", str(config.parent / "archive" / "plans.db"), "--start", start,
               *map(str, extra)])
    out = capsys.readouterr()
    return rc, out.out, out.err


def seeded_cycle(world, config: Path, name: str):
    """A version of the scenario as the nightly job stores it, and a week's cycle from 2026-11-22."""
    from relay.service import nightly_store, records

    coord = world.users["coordinator"]
    sv = records.create_scenario(coord, name, nightly_store.scenario_text(config))
    return sv, records.create_cycle(coord, f"week {name}", sv, engine_time("2026-11-22T00:00:00Z"), 7)


def plans_of(client, cycle_id: int) -> list[dict]:
    r = client.get(f"/api/plans?cycle={cycle_id}")
    assert r.status_code == 200, r.content
    return r.json()["items"]


def times(values) -> list:
    return list(pd.to_datetime(pd.Series(list(values)), utc=True))


def test_nightly_runs_become_plan_versions_of_the_cycle(world, tmp_path, capsys):
    name = unique("nightly-")
    config = write_config(tmp_path, name)
    sv1, cycle = seeded_cycle(world, config, name)
    coord = world.client("coordinator")

    rc, out, err = nightly(config, NIGHT1, capsys, "--db", db_option())
    assert rc == 0, err
    assert f"recorded in the service: cycle 'week {name}' plan version 1" in out
    [p1] = plans_of(coord, cycle.pk)
    assert (p1["number"], p1["status"], p1["scenario_id"]) == (1, "proposed", sv1.pk)  # the text is version 1
    run = coord.get(f"/api/runs/{p1['run_id']}").json()
    assert (run["mode"], run["status"], run["plan"], run["error"]) == ("nightly", "done", p1["id"], "")
    archive = tmp_path / "archive" / "plans.db"
    with Archive.open_existing(archive) as a:
        archived = a.sessions(1)
    ses = coord.get(f"/api/plans/{p1['id']}/sessions").json()["items"]
    assert len(ses) == len(archived) > 0
    assert [(s["orbiter"], s["asset"]) for s in ses] == list(zip(archived["orbiter"], archived["asset"]))
    assert times(s["start"] for s in ses) == times(archived["start"])
    assert coord.get(f"/api/plans/{p1['id']}").json()["diff_counts"] is None  # nothing published yet
    # the plan's files are the archived run's folder
    files = zipfile.ZipFile(io.BytesIO(coord.get(f"/api/plans/{p1['id']}/files").content))
    run_dir = tmp_path / "archive" / "plans-out" / "runs" / "1"
    assert files.read("schedule.csv") == (run_dir / "schedule.csv").read_bytes()
    assert sorted(files.namelist()) == sorted(p.name for p in run_dir.iterdir())
    # the teams whose orbiter and asset it plans hear of it, as of any plan version
    for role in ("orbiter", "lander2"):
        notes = world.client(role).get(f"/api/notifications?all=true&cycle={cycle.pk}").json()["items"]
        assert any(n["topic"] == "plan.proposed" and "plan version 1" in n["text"] for n in notes), notes
    assert not world.client("lander").get(f"/api/notifications?all=true&cycle={cycle.pk}").json()["items"]

    pub = coord.post(f"/api/plans/{p1['id']}/publish", {"version": p1["version"], "comment": "night 1"},
                     content_type=J)
    assert pub.status_code == 200, pub.content
    # the next night, with another scenario text: the scenario's next version, by the nightly account
    write_config(tmp_path, name, time_limit_s=6)
    rc, out, err = nightly(config, NIGHT2, capsys, "--db", db_option())
    assert rc == 0, err
    p1_, p2 = plans_of(coord, cycle.pk)
    assert (p1_["number"], p1_["status"], p2["number"], p2["status"]) == (1, "published", 2, "proposed")
    sv2 = coord.get(f"/api/scenarios/{p2['scenario_id']}").json()
    assert (sv2["name"], sv2["number"]) == (name, 2)
    from django.contrib.auth import get_user_model

    assert sv2["author_id"] == get_user_model().objects.get(username="nightly").pk
    # its diff against the published night: the sessions frozen by the nightly job are unchanged
    with Archive.open_existing(archive) as a:
        runs = a.runs()
    assert [(r["id"], r["status"]) for r in runs] == [(1, "ok"), (2, "ok")]
    frozen = json.loads((tmp_path / "archive" / "plans-out" / "runs" / "2" / "nightly.json").read_text())
    d = coord.get(f"/api/plans/{p2['id']}/diff").json()
    assert d["diff"] is not None and d["counts"]["unchanged"] >= frozen["frozen_sessions"] > 0
    # every published session from night 2 on, and every new one, is accounted for once
    old = [s for s in coord.get(f"/api/plans/{p1['id']}/sessions").json()["items"] if s["end"] > NIGHT2]
    new = coord.get(f"/api/plans/{p2['id']}/sessions").json()["items"]
    c = d["counts"]
    assert c["unchanged"] + c["changed"] + c["moved"] + c["removed"] == len(old)
    assert c["unchanged"] + c["changed"] + c["moved"] + c["added"] == len(new)
    assert os.readlink(tmp_path / "archive" / "plans-out" / "current") == "runs/2"


def test_no_cycle_is_a_message_and_the_run_stays_archived(world, tmp_path, capsys):
    from relay.service.models import Run

    name = unique("nocycle-")
    config = write_config(tmp_path, name)
    before = Run.objects.count()
    rc, out, err = nightly(config, NIGHT1, capsys, "--db", db_option())
    assert rc == 2, err
    label = os.environ.get("RELAY_TEST_DB_URL") or db_option()
    msg = " ".join(err.split())
    assert f"{label}: --db: no planning cycle takes nightly run 1 (scenario {name!r}" in msg
    assert f"plans {NIGHT1} to 2026-11-26T00:00:00Z" in msg
    assert "create that cycle in the service" in msg and "run 1 stays archived" in msg
    assert "Traceback" not in err
    with Archive.open_existing(tmp_path / "archive" / "plans.db") as a:
        assert [(r["id"], r["status"]) for r in a.runs()] == [(1, "ok")]
    assert os.readlink(tmp_path / "archive" / "plans-out" / "current") == "runs/1"
    assert Run.objects.count() == before


def test_a_failed_or_degraded_run_is_a_run_of_its_kind(world, tmp_path):
    """A failed nightly run is a failed run of the cycle with the job's error, and no plan version
    (recorded without planning: the outcome the job hands over); a degraded one lists its reasons."""
    from relay.service import nightly_store
    from relay.service.models import PlanVersion, Run

    name = unique("failed-")
    config = write_config(tmp_path, name)
    _, cycle = seeded_cycle(world, config, name)
    outcome = {"run_id": 4, "status": "failed", "error": "RuntimeError: the planner found no plan",
               "started": "2026-11-22T23:00:00Z", "plan_start": NIGHT1, "plan_end": "2026-11-26T00:00:00Z"}
    line = nightly_store.record(outcome, None, config=str(config), label="db", upgrade="relay db upgrade")
    run = Run.objects.get(cycle=cycle)
    assert line == f"recorded in the service: cycle 'week {name}', failed run {run.pk}"
    assert (run.mode, run.status, run.error, run.requested_by.username) == \
        ("nightly", "failed", outcome["error"], "nightly")
    assert not PlanVersion.objects.filter(cycle=cycle).exists()
    fields = nightly_store.run_fields({**outcome, "status": "degraded", "reasons": ["a", "b"]})
    assert (fields["status"], fields["error"]) == ("done", "degraded: a\ndegraded: b")


@pytest.mark.parametrize("db, expected", [
    ("mysql://u@h/relay", "--db: got a mysql URL, expected postgresql://"),
    ("no-such-folder", "holds no relay.sqlite3; expected postgresql://"),
    ("sqlite:///no/such/relay.sqlite3", "/no/such/relay.sqlite3 does not exist"),
])
def test_a_bad_database_is_refused_before_the_run(world, tmp_path, capsys, db, expected):
    config = write_config(tmp_path, unique("bad-"))
    rc, out, err = nightly(config, NIGHT1, capsys, "--db", db)
    assert rc == 2
    assert expected in " ".join(err.split()) and "nothing archived" in err
    assert not (tmp_path / "archive").exists()


@pytest.mark.slow
def test_an_unmigrated_database_says_to_upgrade(tmp_path):
    """In a process of its own (one configured Django per process): an SQLite file that is
    not the service's database; the run is archived and the message says to migrate it."""
    empty = tmp_path / "empty.sqlite3"
    with sqlite3.connect(empty) as db:
        db.execute("CREATE TABLE t (a)")
    config = write_config(tmp_path, "unmigrated")
    url = f"sqlite:///{empty}"
    r = subprocess.run([sys.executable, "-m", "relay", "nightly", str(config), "--archive",
                        str(tmp_path / "archive" / "plans.db"), "--start", NIGHT1, "--db", url],
                       capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert r.returncode == 2, r.stderr
    msg = " ".join(r.stderr.split())
    assert f"{url}: --db: the relay service's database is not migrated" in msg
    assert f"run `relay db upgrade --db {url}` first" in msg and "run 1 stays archived" in msg
    with Archive.open_existing(tmp_path / "archive" / "plans.db") as a:
        assert [r["status"] for r in a.runs()] == ["ok"]
