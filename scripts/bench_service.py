"""Benchmark of ``relay serve`` on loopback (issue 20): prints each figure.

1. planning the baseline week through the service (POST a run, poll until its plan version
   is stored and its sessions readable; the first run on a fresh worker, then a second one);
2. reading the published week plan (``GET /api/plans/ID/sessions``) at 20 concurrent
   clients, a bounded 2,000 requests: p50, p95, p99, and the CPU a read cost the service and
   this load generator;
3. a re-plan after one outage through the API, end to end (POST the outage, POST the run,
   poll until the new plan version is stored), ``--replans`` times (one more outage each);
4. with ``--network6``: the same reads (1,000) while a 28-day network-6 run executes.

A run stores its plan version (tables, summary, diff: usable) before the worker writes the
plan's folder (report.html, the zip); figures 1 and 3 are to the stored version, and each
also prints when the files were written (the run done); a re-plan starts once the run before
it is done.

The service runs in its own process (``relay serve``, a Dask LocalCluster of one worker)
with a fresh SQLite data folder; the load generator is this process's threads, each with
its own keep-alive socket, all 20 reading at once; each answer is read whole and compared
with the reference body (read and checked as JSON once).  Both share the machine's cores.
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


def run_and_wait(c: Conn, cycle: int, mode: str = "auto", t0: float | None = None) -> tuple[float, float, dict]:
    """POST a run and poll it (every 20 ms): (seconds from ``t0`` until its plan version is
    stored, readable and listed on the run; seconds until the run is done, the version's files
    written too; the run).  The version is usable once stored: a run writes the plan's folder
    (report.html, the zip) after it, and a download or a publication meanwhile waits for it."""
    t0 = time.perf_counter() if t0 is None else t0
    status, run, _ = c.call("POST", f"/api/cycles/{cycle}/runs", {"mode": mode})
    assert status == 202, run
    stored = None
    while True:
        _, run, _ = c.call("GET", f"/api/runs/{run['id']}")
        if stored is None and run["plan"] is not None:
            status, plan, _ = c.call("GET", f"/api/plans/{run['plan']}/sessions")
            assert status == 200 and plan["count"] > 0, plan
            stored = time.perf_counter() - t0
        if run["status"] in ("done", "failed"):
            break
        time.sleep(0.02)
    assert run["status"] == "done", run["error"]
    return stored, time.perf_counter() - t0, run


class RawReader:
    """One client of the read load: a keep-alive socket sending the same GET and reading each
    answer whole (status line, headers, then Content-Length bytes of body), lean so that the
    load generator's own CPU (it shares the two cores with the service) stays small.  Each
    answer is checked: status 200 and the body byte for byte the reference body (read and
    checked as JSON once, by :func:`reference_body`)."""

    def __init__(self, port: int, tok: str, path: str, expected: bytes):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=120)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {tok}\r\n"
                        "Accept: application/json\r\n\r\n").encode()
        self.expected = expected
        self.buf = b""

    def get(self) -> None:
        self.sock.sendall(self.request)
        buf = self.buf
        while (end := buf.find(b"\r\n\r\n")) < 0:
            buf += self.recv()
        head, buf = buf[:end].decode("latin-1"), buf[end + 4:]
        length = re.search(r"(?im)^content-length:\s*(\d+)", head)
        assert head.startswith("HTTP/1.1 200 ") and length, head.split("\r\n")[0]
        n = int(length.group(1))
        while len(buf) < n:
            buf += self.recv()
        body, self.buf = buf[:n], buf[n:]
        assert body == self.expected, f"an answer of {len(body)} bytes differs from the reference"

    def recv(self) -> bytes:
        data = self.sock.recv(262144)
        if not data:
            raise ConnectionError("the service closed the connection")
        return data

    def close(self) -> None:
        self.sock.close()


def reference_body(port: int, tok: str, path: str) -> tuple[bytes, dict]:
    """The answer every read must give: its body, read and checked as JSON (a list whose count
    is its number of items)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    c.request("GET", path, headers={"Authorization": f"Bearer {tok}"})
    r = c.getresponse()
    body = r.read()
    assert r.status == 200, body[:300]
    data = json.loads(body)
    assert data["count"] == len(data["items"]) > 0, data
    return body, data


def read_load(port: int, tok: str, path: str, n: int, clients: int = 20) -> list[float]:
    """``n`` reads of ``path`` by ``clients`` concurrent clients (threads, each with its own
    keep-alive connection, all started before the first read); the seconds of each read."""
    expected, _ = reference_body(port, tok, path)
    per = [n // clients + (1 if i < n % clients else 0) for i in range(clients)]
    readers = [RawReader(port, tok, path, expected) for _ in range(clients)]
    start = threading.Barrier(clients)

    def client(i: int) -> list[float]:
        out, r = [], readers[i]
        start.wait()
        for _ in range(per[i]):
            t0 = time.perf_counter()
            r.get()
            out.append(time.perf_counter() - t0)
        r.close()
        return out

    with ThreadPoolExecutor(clients) as ex:
        return [t for part in ex.map(client, range(clients)) for t in part]


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) the process ``pid`` has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
            measure(port, pw, args, proc.pid)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)


def measured_reads(port: int, tok: str, path: str, n: int, pid: int) -> tuple[list[float], str]:
    """The read load's times, and the CPU it cost the service (process ``pid``) and this load
    generator, per read."""
    s0, c0 = cpu_seconds(pid), time.process_time()
    times = read_load(port, tok, path, n)
    service, client = (cpu_seconds(pid) - s0) / n * 1000, (time.process_time() - c0) / n * 1000
    return times, f"CPU a read: the service {service:.2f} ms, the load generator {client:.2f} ms"


def measure(port: int, pw: dict, args, pid: int) -> None:
    tok = token(port, "coordinator", pw["coordinator"])
    c = Conn(port, tok)
    _, cycles, _ = c.call("GET", "/api/cycles")
    cycle = cycles["items"][0]["id"]
    cold, _, _ = run_and_wait(c, cycle, "full")
    warm, done, run = run_and_wait(c, cycle, "full")
    print(f"planning the baseline week through the service: {warm:.2f} s end to end to the stored plan version "
          f"(the planner's stages {engine_seconds(c, run['plan']):.2f} s; its files written at {done:.2f} s; "
          f"first run on a fresh worker {cold:.2f} s; load {os.getloadavg()[0]:.1f})")
    _, plan, _ = c.call("GET", f"/api/plans/{run['plan']}")
    status, _, _ = c.call("POST", f"/api/plans/{run['plan']}/publish", {"version": plan["version"]})
    assert status == 200
    path = f"/api/plans/{run['plan']}/sessions"
    _, sessions = reference_body(port, tok, path)
    read_load(port, tok, path, 100)  # warm the server's threads and connections
    times, cpu = measured_reads(port, tok, path, args.requests, pid)
    print(f"reading the published week plan ({sessions['count']} sessions), 20 concurrent clients, "
          f"{len(times)} requests: p50 {pct(times, 50):.1f} ms, p95 {pct(times, 95):.1f} ms, "
          f"p99 {pct(times, 99):.1f} ms ({cpu}; load {os.getloadavg()[0]:.1f})")
    replans(c, cycle, [s for s in sessions["items"] if s["orbiter"] == "MRO"][:args.replans])
    if args.network6:
        reads_during_big_run(port, tok, c, path, pid)


def engine_seconds(c: Conn, plan: int) -> float:
    """The seconds of the planner's stages (summary.json's ``timings_s``: for a re-plan, reading
    the change, the solve and the tables); the rest of a run is its files, Dask and the service."""
    _, p, _ = c.call("GET", f"/api/plans/{plan}")
    return sum((p["summary"].get("timings_s") or {}).values())


def replans(c: Conn, cycle: int, hits: list[dict]) -> None:
    """A re-plan after one outage, end to end, once per session of ``hits``: each declares an
    outage over one more session of the published plan and re-plans it (with the outages so far).
    Each starts once the run before it is done (its files written), as after a quiet moment."""
    totals, dones = [], []
    for i, hit in enumerate(hits, 1):
        t0 = time.perf_counter()
        status, out, _ = c.call("POST", "/api/outages", {"cycle": cycle, "target": "MRO", "what": "uhf",
                                                         "start": hit["start"], "end": hit["end"], "note": "bench"})
        assert status == 200, out
        filed = time.perf_counter() - t0
        stored, done, run = run_and_wait(c, cycle, t0=t0)
        totals.append(stored)
        dones.append(done)
        _, diff, _ = c.call("GET", f"/api/plans/{run['plan']}/diff")
        print(f"re-plan after one outage through the API ({i} outage(s) since the published plan): "
              f"{stored:.2f} s end to end to the stored plan version (the outage filed in {filed:.2f} s; the "
              f"engine's re-plan {engine_seconds(c, run['plan']):.2f} s; its files written at {done:.2f} s; "
              f"re-planned: {diff['replanned']}, diff {diff['counts']}; load {os.getloadavg()[0]:.1f})")
    if len(totals) > 1:
        print(f"re-plan after one outage through the API: median {statistics.median(totals):.2f} s of {len(totals)} "
              f"(min {min(totals):.2f} s, max {max(totals):.2f} s; the files written at median "
              f"{statistics.median(dones):.2f} s)")


def reads_during_big_run(port: int, tok: str, c: Conn, path: str, pid: int) -> None:
    cycle = network6_cycle(c)
    status, run, _ = c.call("POST", f"/api/cycles/{cycle}/runs", {"mode": "full"})
    assert status == 202, run
    while c.call("GET", f"/api/runs/{run['id']}")[1]["status"] == "queued":
        time.sleep(0.05)
    times, cpu = measured_reads(port, tok, path, 1000, pid)
    _, r, _ = c.call("GET", f"/api/runs/{run['id']}")
    print(f"reads while a 28-day network-6 run executes (run {r['status']} after the reads), 20 clients, "
          f"{len(times)} requests: p50 {pct(times, 50):.1f} ms, p95 {pct(times, 95):.1f} ms ({cpu}; "
          f"load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
