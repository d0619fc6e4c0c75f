"""Benchmark of ``relay serve`` on loopback (issue 20): prints each figure.

1. planning the baseline week through the service (POST a run, poll until its plan version
   is stored; the first run on a fresh worker, then a second one);
2. reading the published week plan (``GET /api/plans/ID/sessions``) at 20 concurrent
   clients, a bounded 2,000 requests: p50, p95, p99;
3. a re-plan after one outage through the API, end to end (POST the outage, POST the run,
   poll until the new plan version is stored), ``--replans`` times (one more outage each);
4. with ``--network6``: the same reads (1,000) while a 28-day network-6 run executes.

The service runs in its own process (``relay serve``, a Dask LocalCluster of one worker)
with a fresh SQLite data folder; the load generator is this process's threads, each with
its own keep-alive connection.  Both share the machine's cores.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Conn:
    """One keep-alive HTTP connection with a bearer token (or a session cookie and CSRF)."""

    def __init__(self, port: int, token: str | None = None):
        self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.headers = {"Content-Type": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, body=None):
        self.c.request(method, path, body=None if body is None else json.dumps(body), headers=self.headers)
        r = self.c.getresponse()
        data = r.read()
        return r.status, (json.loads(data) if data and r.getheader("Content-Type", "").startswith("application/json")
                          else data), r


def start_service(data: Path, port: int) -> tuple[subprocess.Popen, dict]:
    proc = subprocess.Popen([sys.executable, "-m", "relay", "serve", "--demo", "--data", str(data), "--port",
                             str(port), "--workers", "1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, cwd=ROOT, start_new_session=True)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if "listening on" in line:
            break
    text = "".join(lines)
    pw = dict(re.findall(r"^\s+(\w+)\s+(\S+)\s+\w+", text, re.M))
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()  # drain the log
    return proc, pw


def cookies_of(r, jar: dict) -> str:
    """The jar with the response's cookies set, as a Cookie header."""
    for k, h in r.getheaders():
        if k.lower() == "set-cookie":
            name, _, value = h.split(";")[0].partition("=")
            jar[name.strip()] = value
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def token(port: int, user: str, password: str) -> str:
    """A script token of ``user``: log in (the CSRF token first, as a browser does), make one."""
    c, jar = Conn(port), {}
    c.headers["Referer"] = f"http://127.0.0.1:{port}/"
    status, csrf, r = c.call("GET", "/api/auth/csrf")  # the log-in is CSRF-checked: the token first
    assert status == 200, csrf
    c.headers.update({"Cookie": cookies_of(r, jar), "X-CSRFToken": csrf["csrftoken"]})
    status, me, r = c.call("POST", "/api/auth/login", {"username": user, "password": password})
    assert status == 200, me
    c.headers.update({"Cookie": cookies_of(r, jar), "X-CSRFToken": me["csrftoken"]})
    status, t, _ = c.call("POST", "/api/tokens", {"name": "bench"})
    assert status == 200, t
    return t["token"]


def run_and_wait(c: Conn, cycle: int, mode: str = "auto") -> tuple[float, dict]:
    t0 = time.perf_counter()
    status, run, _ = c.call("POST", f"/api/cycles/{cycle}/runs", {"mode": mode})
    assert status == 202, run
    while True:
        _, run, _ = c.call("GET", f"/api/runs/{run['id']}")
        if run["status"] in ("done", "failed"):
            break
        time.sleep(0.02)
    assert run["status"] == "done", run["error"]
    return time.perf_counter() - t0, run


def read_load(port: int, tok: str, path: str, n: int, clients: int = 20) -> list[float]:
    per = [n // clients + (1 if i < n % clients else 0) for i in range(clients)]

    def client(k: int) -> list[float]:
        c, out = Conn(port, tok), []
        for _ in range(k):
            t0 = time.perf_counter()
            status, _, _ = c.call("GET", path)
            out.append(time.perf_counter() - t0)
            assert status == 200
        return out

    with ThreadPoolExecutor(clients) as ex:
        return [t for part in ex.map(client, per) for t in part]


def pct(xs: list[float], q: float) -> float:
    return statistics.quantiles(xs, n=100)[q - 1] * 1000 if len(xs) > 1 else xs[0] * 1000


def network6_cycle(c: Conn) -> int:
    from relay.service.engine import scenario_text

    status, sv, _ = c.call("POST", "/api/scenarios", {"name": "network-6",
                                                      "text": scenario_text(ROOT / "configs" / "network-6.yaml")})
    assert status == 200, sv
    status, cy, _ = c.call("POST", "/api/cycles", {"name": "network-6 28 days", "scenario": sv["id"],
                                                   "start": "2026-12-08T00:00:00Z", "days": 28})
    assert status == 200, cy
    return cy["id"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--replans", type=int, default=3,
                    help="re-plans measured, each after one more outage (default 3; the median is printed)")
    ap.add_argument("--network6", action="store_true", help="also read while a 28-day network-6 run executes")
    args = ap.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        proc, pw = start_service(Path(tmp) / "data", port)
        try:
            measure(port, pw, args)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)


def measure(port: int, pw: dict, args) -> None:
    tok = token(port, "coordinator", pw["coordinator"])
    c = Conn(port, tok)
    _, cycles, _ = c.call("GET", "/api/cycles")
    cycle = cycles["items"][0]["id"]
    cold, _ = run_and_wait(c, cycle, "full")
    warm, run = run_and_wait(c, cycle, "full")
    print(f"planning the baseline week through the service: {warm:.2f} s end to end (worker's run "
          f"{run['seconds']:.2f} s, of which the planner's stages {engine_seconds(c, run['plan']):.2f} s; "
          f"first run on a fresh worker {cold:.2f} s)")
    _, plan, _ = c.call("GET", f"/api/plans/{run['plan']}")
    status, _, _ = c.call("POST", f"/api/plans/{run['plan']}/publish", {"version": plan["version"]})
    assert status == 200
    path = f"/api/plans/{run['plan']}/sessions"
    _, sessions, _ = c.call("GET", path)
    read_load(port, tok, path, 100)  # warm the server's threads and connections
    times = read_load(port, tok, path, args.requests)
    print(f"reading the published week plan ({sessions['count']} sessions), 20 concurrent clients, "
          f"{len(times)} requests: p50 {pct(times, 50):.1f} ms, p95 {pct(times, 95):.1f} ms, "
          f"p99 {pct(times, 99):.1f} ms")
    replans(c, cycle, [s for s in sessions["items"] if s["orbiter"] == "MRO"][:args.replans])
    if args.network6:
        reads_during_big_run(port, tok, c, path)


def engine_seconds(c: Conn, plan: int) -> float:
    """The seconds of the planner's stages (summary.json's ``timings_s``: for a re-plan, reading
    the change, the solve and the tables); the rest of a run is its files, Dask and the service."""
    _, p, _ = c.call("GET", f"/api/plans/{plan}")
    return sum((p["summary"].get("timings_s") or {}).values())


def replans(c: Conn, cycle: int, hits: list[dict]) -> None:
    """A re-plan after one outage, end to end, once per session of ``hits``: each declares an
    outage over one more session of the published plan and re-plans it (with the outages so far)."""
    totals = []
    for i, hit in enumerate(hits, 1):
        t0 = time.perf_counter()
        status, out, _ = c.call("POST", "/api/outages", {"cycle": cycle, "target": "MRO", "what": "uhf",
                                                         "start": hit["start"], "end": hit["end"], "note": "bench"})
        assert status == 200, out
        filed = time.perf_counter() - t0
        _, run = run_and_wait(c, cycle)
        totals.append(time.perf_counter() - t0)
        _, diff, _ = c.call("GET", f"/api/plans/{run['plan']}/diff")
        print(f"re-plan after one outage through the API ({i} outage(s) since the published plan): "
              f"{totals[-1]:.2f} s end to end (the outage filed in {filed:.2f} s; the worker's run "
              f"{run['seconds']:.2f} s, of which the engine's re-plan {engine_seconds(c, run['plan']):.2f} s; "
              f"re-planned: {diff['replanned']}, diff {diff['counts']})")
    if len(totals) > 1:
        print(f"re-plan after one outage through the API: median {statistics.median(totals):.2f} s of {len(totals)} "
              f"(min {min(totals):.2f} s, max {max(totals):.2f} s)")


def reads_during_big_run(port: int, tok: str, c: Conn, path: str) -> None:
    cycle = network6_cycle(c)
    status, run, _ = c.call("POST", f"/api/cycles/{cycle}/runs", {"mode": "full"})
    assert status == 202, run
    while c.call("GET", f"/api/runs/{run['id']}")[1]["status"] == "queued":
        time.sleep(0.05)
    times = read_load(port, tok, path, 1000)
    _, r, _ = c.call("GET", f"/api/runs/{run['id']}")
    print(f"reads while a 28-day network-6 run executes (run {r['status']} after the reads), 20 clients, "
          f"{len(times)} requests: p95 {pct(times, 95):.1f} ms")


if __name__ == "__main__":
    main()
