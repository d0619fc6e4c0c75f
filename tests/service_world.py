"""Helpers of the service tests (tests/test_service_*.py): one configured Django per test process.

:func:`django_ready` configures the service once per process on a fresh SQLite data folder
(or on the database named by ``RELAY_TEST_DB_URL``, which the PostgreSQL test sets for the
child pytest it starts), migrates it from empty, and makes runs execute on a thread pool
through the same code path as on Dask.  :func:`world` makes teams, one account per role
(with an API token each) and a cycle of the small scenario, all with unique names.
"""
from __future__ import annotations

import atexit
import itertools
import shutil
import os
import tempfile
import threading
import time
from pathlib import Path

from conftest import write_small_scenario

START = "2026-12-08T00:00:00Z"
_COUNTER = itertools.count()
_STATE: dict = {}


def django_ready() -> Path:
    if "data" in _STATE:
        return _STATE["data"]
    from relay.service.settings import configure

    data = Path(tempfile.mkdtemp(prefix="relay-service-test-"))
    small = Path(tempfile.mkdtemp(prefix="relay-small-"))
    atexit.register(shutil.rmtree, data, ignore_errors=True)
    atexit.register(shutil.rmtree, small, ignore_errors=True)
    # argon2 stays first in the service; tests hash with MD5 to stay fast (no hashing is under test)
    configure(data, os.environ.get("RELAY_TEST_DB_URL") or None,
              PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    from relay.service import runs, server

    server.upgrade()
    runs.start_executor("thread", 1)
    _STATE["data"] = data
    _STATE["scenario_dir"] = write_small_scenario(small).parent
    return data


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unique(prefix: str) -> str:
    return f"{prefix}{os.getpid()}x{next(_COUNTER)}"


class World:
    """Teams, users (role -> user), tokens (role -> key), clients, a scenario and a cycle."""

    def __init__(self, days: float = 1.0):
        from django.contrib.auth import get_user_model

        from relay.service import engine, records
        from relay.service.models import Cycle, Profile, ScenarioVersion, Team

        tag = unique("w")
        self.teams = {
            "orbiter": Team.objects.create(name=f"TGO team {tag}", kind="orbiter", names=["TGO"]),
            "lander": Team.objects.create(name=f"Perseverance team {tag}", kind="lander", names=["Perseverance"]),
            "lander2": Team.objects.create(name=f"Curiosity team {tag}", kind="lander", names=["Curiosity"]),
            "orbiter2": Team.objects.create(name=f"MRO team {tag}", kind="orbiter", names=["MRO"]),
        }
        self.users, self.tokens = {}, {}
        for role, team in (("coordinator", None), ("orbiter", "orbiter"), ("lander", "lander"), ("viewer", None),
                           ("admin", None), ("lander2", "lander2"), ("orbiter2", "orbiter2")):
            u = get_user_model().objects.create_user(f"{role}-{tag}", password="pw-" + tag,
                                                     is_staff=role == "admin", is_superuser=role == "admin")
            Profile.objects.create(user=u, role=role.rstrip("2"), team=self.teams.get(team))
            self.users[role] = u
            self.tokens[role] = records.create_token(u, "test")[1]
        self.password = "pw-" + tag
        text = engine.scenario_text(_STATE["scenario_dir"] / "small.yaml")
        self.scenario = records.create_scenario(self.users["coordinator"], f"small-{tag}", text)
        self.cycle = records.create_cycle(self.users["coordinator"], f"cycle {tag}", self.scenario,
                                          engine_time(START), days)
        assert ScenarioVersion.objects.filter(pk=self.scenario.pk).exists()
        assert Cycle.objects.filter(pk=self.cycle.pk).exists()

    def client(self, role: str | None):
        """A test client authenticated by ``role``'s token (None: anonymous)."""
        from django.test import Client

        if role is None:
            return Client()
        return Client(HTTP_AUTHORIZATION=f"Bearer {self.tokens[role]}")


def engine_time(text: str):
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def wait_run(client, run_id: int, timeout_s: float = 120.0) -> dict:
    """Poll a run until it is done or failed."""
    t_end = time.monotonic() + timeout_s
    while True:
        r = client.get(f"/api/runs/{run_id}").json()
        if r["status"] in ("done", "failed") or time.monotonic() > t_end:
            return r
        time.sleep(0.1)


def planned_run(world: "World", client) -> dict:
    """POST a run of the world's cycle as ``client`` and wait until it is done (asserted): the run."""
    run = wait_run(client, client.post(f"/api/cycles/{world.cycle.pk}/runs", {}, content_type="application/json")
                   .json()["id"])
    assert run["status"] == "done", run["error"]
    return run


def hold_task(monkeypatch, name: str, timeout_s: float = 120.0) -> tuple[threading.Event, threading.Event]:
    """Hold the engine's task ``name`` (``plan_task``, ``files_task``) back when a run reaches it:
    (it has started, release it); it goes on once released."""
    from relay.service import engine

    started, release = threading.Event(), threading.Event()
    real = getattr(engine, name)

    def held(arg):
        started.set()
        assert release.wait(timeout_s)
        return real(arg)

    monkeypatch.setattr(engine, name, held)
    return started, release
