"""The relay service on a real PostgreSQL server.

A session-scoped fixture starts a throwaway cluster from Debian's postgresql
(``initdb``/``pg_ctl`` under /usr/lib/postgresql/*/bin, run as the ``postgres`` user when
we are root; a temporary folder, a free port on 127.0.0.1, stopped and removed at
teardown).  The service's workflow, permission and concurrency tests then run again in a
child pytest whose Django is configured on that server (``RELAY_TEST_DB_URL``): one
configured Django per process, so PostgreSQL gets its own process.  Skipped, saying why,
only when no PostgreSQL binaries are installed (``apt-get install postgresql``; .ci/run
installs it).
"""
from __future__ import annotations

import glob
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from service_world import free_port

TESTS = Path(__file__).resolve().parent
if importlib.util.find_spec("django") is None or importlib.util.find_spec("psycopg") is None:
    pytest.skip("the service extra is not installed (pip install -e '.[service]')", allow_module_level=True)

#: one worker process runs the service tests (one configured Django, one SQLite database)
pytestmark = pytest.mark.xdist_group("service")


def pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    which = shutil.which("initdb")
    return Path(which).parent if which else None


def as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="session")
def postgres_url():
    bindir = pg_bin()
    if bindir is None:
        pytest.skip("no PostgreSQL binaries (initdb, pg_ctl) installed; apt-get install postgresql")
    root = Path(tempfile.mkdtemp(prefix="relay-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
    port = free_port()
    run = dict(check=True, capture_output=True, text=True)
    subprocess.run(as_postgres([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                                "-E", "UTF8", "--no-sync"]), **run)
    subprocess.run(as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l", str(root / "log"), "-o",
                                f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off", "start"]), **run)
    try:
        subprocess.run(as_postgres([str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
                                    "relay_test"]), **run)
        yield f"postgresql://postgres@127.0.0.1:{port}/relay_test"
    finally:
        subprocess.run(as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.slow
def test_service_on_postgresql(postgres_url):
    env = {**os.environ, "RELAY_TEST_DB_URL": postgres_url}
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x",
                        str(TESTS / "test_service_workflow.py"), str(TESTS / "test_service_permissions.py"),
                        str(TESTS / "test_nightly_db.py")],
                       capture_output=True, text=True, env=env, cwd=TESTS.parent)
    tail = "\n".join(r.stdout.splitlines()[-25:])
    assert r.returncode == 0, tail + r.stderr[-2000:]
    assert " passed" in tail and "skipped" not in tail.splitlines()[-1]


def test_postgresql_url_is_parsed_into_django_settings():
    from relay.service.settings import database

    d = database(Path("/tmp"), "postgresql://u:p%40ss@db.example:5433/relay")
    assert (d["ENGINE"], d["NAME"], d["USER"], d["PASSWORD"], d["HOST"], d["PORT"]) == \
        ("django.db.backends.postgresql", "relay", "u", "p@ss", "db.example", "5433")
