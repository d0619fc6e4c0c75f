"""``relay serve`` (the shared relay database and its JSON API) and ``relay db upgrade`` (issue 20)."""

from __future__ import annotations

from . import integer

DEFAULT_DATA = "./relay-data"


def register(sub) -> None:
    p = sub.add_parser(
        "serve", help="serve the shared relay database and its JSON API",
        description="Serve the relay service: planning cycles, relay requests, unavailability, vetoes and locks "
                    "filed by the teams, planning runs on workers, plan versions reviewed and published by the "
                    "coordinator. The JSON API is under /api/ (OpenAPI at /api/openapi.json). The database is "
                    "SQLite in --data unless --db names a PostgreSQL server; it is created and migrated on start.")
    database_options(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", default=8000, type=integer("--port", 1, 65535), help="port (default 8000)")
    p.add_argument("--demo", action="store_true",
                   help="seed the baseline scenario, a cycle for the coming week and one account per role, and "
                        "print how to log in")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", default=1, type=integer("--workers", 1, 64), metavar="N",
                       help="planning worker processes of the local Dask cluster (default 1)")
    where.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="run plans on the Dask cluster at this scheduler address (tcp://host:8786)")
    p.add_argument("--threads", default=8, type=integer("--threads", 1, 256),
                   help="request threads of the WSGI server (default 8)")
    p.set_defaults(func=run_serve)

    db = sub.add_parser("db", help="the service's database", description="Manage the relay service's database.")
    dsub = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    up = dsub.add_parser("upgrade", help="create or migrate the database to the current schema")
    database_options(up)
    up.set_defaults(func=run_upgrade)


def database_options(p) -> None:
    p.add_argument("--data", default=DEFAULT_DATA, metavar="DIR",
                   help=f"the service's data folder: SQLite database, secret key (default {DEFAULT_DATA})")
    p.add_argument("--db", default=None, metavar="URL",
                   help="postgresql://user:password@host:port/database (default: SQLite in --data)")


def _configure(args) -> None:
    from . import out_dir
    from ..service.settings import configure

    out_dir("--data")(args.data)
    configure(args.data, args.db, host=args.host if hasattr(args, "host") else "127.0.0.1")


def run_upgrade(args) -> int:
    _configure(args)
    from ..service.server import upgrade

    upgrade(verbosity=1)
    print("database is up to date")
    return 0


def run_serve(args) -> int:
    _configure(args)
    from ..service.server import serve, upgrade

    url = f"http://{args.host if ':' not in args.host else '[' + args.host + ']'}:{args.port}"
    if args.demo:
        from ..service.demo import login_text, seed

        upgrade()
        print(login_text(url, seed()), flush=True)

    def ready(server):
        print(f"relay service listening on {url} (Ctrl-C to stop)", flush=True)

    try:
        serve(args.host, args.port, threads=args.threads, executor="dask", workers=args.workers,
              scheduler=args.scheduler, ready=ready)
    except KeyboardInterrupt:
        pass
    return 0
