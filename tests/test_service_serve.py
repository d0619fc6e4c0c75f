"""``relay serve`` as a user starts it: the demo seeded, the WSGI server on 127.0.0.1, runs on a
Dask LocalCluster; kill -9 of the worker during a run leaves the run failed and retryable."""
from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

if importlib.util.find_spec("django") is None or importlib.util.find_spec("waitress") is None:
    pytest.skip("the service extra is not installed (pip install -e '.[service]')", allow_module_level=True)

from service_world import free_port  # noqa: E402

#: one worker process runs the service tests (one configured Django, one SQLite database)
pytestmark = pytest.mark.xdist_group("service")

ROOT = Path(__file__).resolve().parents[1]


class Api:
    def __init__(self, base: str, token: str | None = None):
        self.base, self.token = base, token

    def call(self, method: str, path: str, body=None):
        req = urllib.request.Request(self.base + path, method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json",
                                              **({"Authorization": f"Bearer {self.token}"} if self.token else {})})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")


def token_for(base: str, user: str, password: str) -> str:
    """Log in with a session (the CSRF token fetched first, as the log-in needs it), then make a
    script token (CSRF header from the login answer: log-in rotates the token)."""
    import http.cookiejar

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    first = json.loads(opener.open(base + "/api/auth/csrf", timeout=30).read())["csrftoken"]
    login = urllib.request.Request(base + "/api/auth/login", method="POST",
                                   data=json.dumps({"username": user, "password": password}).encode(),
                                   headers={"Content-Type": "application/json", "X-CSRFToken": first})
    csrf = json.loads(opener.open(login, timeout=30).read())["csrftoken"]
    req = urllib.request.Request(base + "/api/tokens", method="POST", data=b'{"name": "test"}',
                                 headers={"Content-Type": "application/json", "X-CSRFToken": csrf,
                                          "Referer": base + "/"})
    return json.loads(opener.open(req, timeout=30).read())["token"]


def descendants(pid: int) -> list[int]:
    import psutil

    return [p.pid for p in psutil.Process(pid).children(recursive=True)]


def wait(api, run_id, states, timeout_s=180.0, progress: str | None = None, poll_s: float = 0.2):
    """The run once its status is one of ``states`` (and its progress reads ``progress``)."""
    t_end = time.monotonic() + timeout_s
    while time.monotonic() < t_end:
        _, run = api.call("GET", f"/api/runs/{run_id}")
        if run["status"] in states and (progress is None or run["progress"] == progress):
            return run
        time.sleep(poll_s)
    raise AssertionError(f"run {run_id} still {run}")


def start(data: Path, port: int, *extra: str) -> tuple[subprocess.Popen, str]:
    """``relay serve`` in its own process group; returns it and its output up to "listening"."""
    proc = subprocess.Popen([sys.executable, "-m", "relay", "serve", "--data", str(data), "--port", str(port),
                             *extra], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
                            start_new_session=True)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if "listening on" in line:
            break
    text = "".join(lines)
    assert f"listening on http://127.0.0.1:{port}" in text, text
    return proc, text


def stop(proc: subprocess.Popen, sig=signal.SIGTERM) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)


@pytest.mark.slow
def test_serve_demo_and_kill_9_of_the_worker_and_of_the_service(tmp_path):
    port = free_port()
    proc, text = start(tmp_path / "d", port, "--demo")
    try:
        password = re.search(r"^\s+coordinator\s+(\S+)\s+coordinator", text, re.M).group(1)
        base = f"http://127.0.0.1:{port}"
        assert Api(base).call("GET", "/api/cycles")[0] == 401
        assert Api(base).call("GET", "/api/openapi.json")[0] == 200
        api = Api(base, token_for(base, "coordinator", password))
        status, cycles = api.call("GET", "/api/cycles")
        assert status == 200 and cycles["count"] == 1
        # the kill needs a run that lasts: the six-asset network (seconds of planning, where
        # the demo's week takes about one), killed as soon as the worker has the task
        net6 = (ROOT / "configs" / "network-6.yaml").read_text().replace(
            "extends: baseline.yaml", f"extends: {ROOT / 'configs' / 'baseline.yaml'}")
        status, sv = api.call("POST", "/api/scenarios", {"name": "network-6", "text": net6})
        assert status == 200, sv
        status, cyc = api.call("POST", "/api/cycles", {"name": "crowded week", "scenario": sv["id"],
                                                       "start": cycles["items"][0]["start"], "days": 7})
        assert status == 200, cyc
        status, run = api.call("POST", f"/api/cycles/{cyc['id']}/runs", {})
        assert status == 202
        wait(api, run["id"], ("running",), progress="planning", poll_s=0.02)
        workers = descendants(proc.pid)
        assert workers, "no worker process"
        for pid in workers:
            os.kill(pid, signal.SIGKILL)
        failed = wait(api, run["id"], ("failed", "done"))
        assert failed["status"] == "failed", failed
        assert "Killed" in failed["error"] or "worker" in failed["error"].lower(), failed["error"]
        status, again = api.call("POST", f"/api/runs/{run['id']}/retry", {})
        assert status == 202
        done = wait(api, again["id"], ("failed", "done"), timeout_s=300)
        assert done["status"] == "done", done["error"]
        # kill -9 of the whole service during a run: on restart the run is failed, retryable
        status, run = api.call("POST", f"/api/cycles/{cycles['items'][0]['id']}/runs", {"mode": "full"})
        wait(api, run["id"], ("running",))
        stop(proc, signal.SIGKILL)
        proc, text = start(tmp_path / "d", port)
        assert "1 run(s) left by a stopped service marked failed" in text
        _, left = api.call("GET", f"/api/runs/{run['id']}")
        assert left["status"] == "failed" and "stopped" in left["error"]
        status, again = api.call("POST", f"/api/runs/{run['id']}/retry", {})
        assert status == 202
        assert wait(api, again["id"], ("failed", "done"), timeout_s=300)["status"] == "done"
    finally:
        stop(proc)
