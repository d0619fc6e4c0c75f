"""Starting the service: the schema brought up to date, dead runs failed, the WSGI server.

:func:`upgrade` applies Django's migrations (an empty database is created from them);
:func:`serve` starts the run executor and serves the WSGI application with waitress (a
production WSGI server in pure Python) on ``host:port``, 127.0.0.1 unless told otherwise.
"""
from __future__ import annotations

from django.core.management import call_command
from django.core.wsgi import get_wsgi_application

from ..api import default_start
from . import runs
from .demo import BASELINE


def upgrade(verbosity: int = 0) -> None:
    """Create or migrate the database to the current schema."""
    call_command("migrate", interactive=False, verbosity=verbosity)


def serve(host: str = "127.0.0.1", port: int = 8000, *, threads: int = 8, executor: str = "dask",
          workers: int = 1, scheduler: str | None = None, ready=None) -> None:
    """Serve until interrupted; ``ready(server)`` is called once the socket listens."""
    from waitress import create_server

    upgrade()
    failed = runs.recover()
    if failed:
        print(f"{failed} run(s) left by a stopped service marked failed (retry them with POST /api/runs/ID/retry)")
    runs.start_executor(executor, workers, scheduler,
                        warm=(str(BASELINE), default_start()) if BASELINE.exists() else None)
    server = create_server(get_wsgi_application(), host=host, port=port, threads=threads, ident="relay")
    if ready is not None:
        ready(server)
    try:
        server.run()
    finally:
        runs.stop_executor()
