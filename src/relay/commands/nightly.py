"""``relay nightly``, ``history``, ``show``, ``diff``, ``ack``, ``promote``: the unattended planning job and its archive.

Exit status of ``relay nightly``: 0 planned; 2 a user's mistake (nothing
archived, the current plan stays); 3 planned but degraded; 1 any other
failure, including "another run holds the lock" (the only one worth
retrying).  With ``--db`` an archived run is then recorded in the relay service's
database (:mod:`relay.service.nightly_store`); a run that planned but could not be
recorded there exits 2, and stays archived and current.  See ``docs/nightly.md``.
"""

from __future__ import annotations

import sys

from . import integer, utc_time

#: the most runs ``relay history --limit`` takes (more than any archive holds)
MAX_HISTORY_LIMIT = 10**9
#: what ``--drop`` reads (relay.nightly.drop.DROP_FILE_KINDS, checked by tests/test_alerts.py)
DROP_HELP = ("drop folder of new inputs, regular files only (a name starting with a dot is an upload in progress): "
             "*.oem and *.bsp orbit files; bookings*.csv station bookings; backlog*.csv asset backlogs; "
             "outage*.csv outages; request*.csv relay requests; forbid*.csv vetoes; ack*.csv acknowledgements "
             "(violation, until[, note])")


def register(sub) -> None:
    p = sub.add_parser(
        "nightly", help="plan the coming days unattended and archive the run",
        description="Plan from the start of the next planning day, keeping the frozen sessions of the "
                    "last plan, pick up new inputs from a drop folder, archive the run (SQLite) and point "
                    "OUT/current at the new plan.  Exit status: 0 planned, 2 bad input (nothing archived), "
                    "3 planned but degraded, 1 any other failure or another run holding the lock.  Every "
                    "option may also be set in the config's `nightly:` section (the command line wins).")
    p.add_argument("config", help="scenario YAML file (may hold a `nightly:` section)")
    p.add_argument("--archive", default=None, help="SQLite archive file (created on the first run)")
    p.add_argument("--out", default=None,
                   help="directory of the plan files: OUT/runs/<id>/ and the OUT/current link "
                        "(default: ARCHIVE_STEM-out/ beside the archive, e.g. plans-out/ for plans.db)")
    p.add_argument("--drop", default=None, help=DROP_HELP)
    p.add_argument("--start", default=None,
                   help="ISO 8601 UTC start of the plan (default: the next day boundary after now)")
    p.add_argument("--day-boundary", dest="day_boundary", default=None,
                   help="UTC time of day at which planning days start, HH:MM (default 00:00)")
    p.add_argument("--days", type=float, default=None,
                   help="planning horizon in days (default: the scenario's planning.horizon_days, 7)")
    p.add_argument("--freeze-hours", dest="freeze_hours", type=float, default=None,
                   help="sessions of the last plan starting within this many hours of the start are "
                        "kept exactly (default 48)")
    p.add_argument("--change-penalty-mbit", dest="change_penalty_mbit", type=float, default=None,
                   help="cost of moving or dropping a session of the last plan beyond the freeze "
                        "(default: the planner's)")
    p.add_argument("--max-drop-pct", dest="max_drop_pct", type=float, default=None,
                   help="exit 3 (degraded) when the returned volume over the span both plans cover is "
                        "down more than this percentage from the last plan's (default 10)")
    p.add_argument("--log", default=None, help="JSON-lines log file (default: OUT/nightly.jsonl)")
    p.add_argument("--time-limit", dest="time_limit_s", type=float, default=None, help="solver time limit, s")
    p.add_argument("--workers", type=int, default=None, help="solver workers")
    p.add_argument("--seed", type=int, default=None, help="solver random seed")
    p.add_argument("--quiet", action="store_true", help="print only errors")
    p.add_argument("--force", action="store_true",
                   help="make the run current even when it plans an earlier night than the current plan "
                        "(a back-fill or retry of an older night is otherwise archived but not made current)")
    p.add_argument("--db", default=None, metavar="URL",
                   help="also record the archived run in the relay service's database as a plan version of the "
                        "cycle holding its start: postgresql://user:password@host:port/database, "
                        "sqlite:///PATH/relay.sqlite3 or the service's data folder (relay serve --data DIR); "
                        "exit 2 when no cycle takes it or the database is not reachable and migrated (the run "
                        "stays archived)")
    p.set_defaults(func=run_nightly_command)
    _register_archive_readers(sub)
    _register_archive_changes(sub)


def _register_archive_readers(sub) -> None:
    """``relay history``, ``relay show``, ``relay diff``."""
    h = sub.add_parser("history", help="list the runs of a nightly archive, one line each",
                       description="List the runs of a nightly archive: id, start, status, exit code, "
                                   "planning span, sessions, delivered volume, base run; the current plan "
                                   "is marked.")
    h.add_argument("--archive", required=True, help="SQLite archive file")
    h.add_argument("--limit", type=integer("--limit", 1, MAX_HISTORY_LIMIT), default=None,
                   help="show only the last N runs (N >= 1)")
    h.add_argument("--accounts", action="store_true",
                   help="also the running accountability of the runs' pass performance reports (relay actuals)")
    h.set_defaults(func=run_history)

    s = sub.add_parser("show", help="one run of a nightly archive in full",
                       description="One run in full: span, status, the degraded reasons with their keys (what "
                                   "`relay ack --violation` names), acknowledged reasons, the diff against its "
                                   "base run, its files, inputs and error.")
    s.add_argument("run", type=integer("RUN", 1, MAX_HISTORY_LIMIT), metavar="RUN", help="run id")
    s.add_argument("--archive", required=True, help="SQLite archive file")
    s.set_defaults(func=run_show)

    d = sub.add_parser("diff", help="what changed between two archived plans",
                       description="Sessions added, removed, moved (with the shift) and changed in volume "
                                   "(by one volume unit or more), and the volume per asset before and "
                                   "after, between two runs over their common span (default: the last two "
                                   "planned runs).")
    d.add_argument("runs", nargs="*", type=int, metavar="RUN", help="RUN_A RUN_B (default: the last two)")
    d.add_argument("--archive", required=True, help="SQLite archive file")
    d.add_argument("--out", default=None, help="also write the diff to this file (.json, else CSV)")
    d.set_defaults(func=run_diff)


def _register_archive_changes(sub) -> None:
    """``relay ack``, ``relay promote``."""
    a = sub.add_parser("ack", help="acknowledge a known problem so that it no longer degrades the nightly runs",
                       description="Acknowledge a degraded reason of RUN: the runs whose plan starts before UNTIL "
                                   "are not degraded by a reason VIOLATION names (its key as `relay show RUN` "
                                   "prints it, a prefix of the key by whole fields, or words of its text); the "
                                   "acknowledgement is listed in `relay history` and expires at UNTIL.")
    a.add_argument("run", type=integer("RUN", 1, MAX_HISTORY_LIMIT), metavar="RUN", help="the run that showed it")
    a.add_argument("--archive", required=True, help="SQLite archive file")
    a.add_argument("--violation", required=True, help="the reason's key (e.g. requirement:Curiosity:1502:"
                                                       "forward_link), a prefix of it, or words of its text")
    a.add_argument("--until", required=True, type=utc_time("--until"), help="ISO 8601 UTC time it expires")
    a.add_argument("--note", default="", help="why (listed in the history)")
    a.set_defaults(func=run_ack)

    m = sub.add_parser("promote", help="make an archived run the current plan",
                       description="Point the archive's current plan, and OUT/current, at RUN (a planned or "
                                   "degraded run), e.g. after a back-fill of an older night.")
    m.add_argument("run", type=integer("RUN", 1, MAX_HISTORY_LIMIT), metavar="RUN", help="run id")
    m.add_argument("--archive", required=True, help="SQLite archive file")
    m.set_defaults(func=run_promote)


def run_nightly_command(args) -> int:
    from ..errors import RelayInputError
    from ..nightly.job import run_nightly
    from ..nightly.options import resolve

    cli = {k: getattr(args, k) for k in ("archive", "out", "drop", "start", "day_boundary", "days",
                                         "freeze_hours", "change_penalty_mbit", "max_drop_pct", "log",
                                         "time_limit_s", "workers", "seed", "quiet", "force", "db")}
    try:
        job = resolve(args.config, cli)
        record = service_recorder(job) if job.db is not None else None
    except RelayInputError as exc:
        print(f"relay nightly: error: {exc}", file=sys.stderr)
        print("relay nightly: nothing archived; the current plan is unchanged", file=sys.stderr)
        return 2
    return run_nightly(job, record=record)


def service_database(value: str) -> tuple[str, str | None, str, str]:
    """``--db`` as ``relay serve`` takes it: (data folder, database URL or None, the database as
    messages name it (no password), the ``relay db upgrade`` command that makes it).  A URL
    gets a throwaway data folder: the nightly job needs none of the service's secret key."""
    import tempfile
    from pathlib import Path
    from urllib.parse import urlparse

    from ..errors import RelayInputError
    from ..service.settings import database

    if "://" not in value:   # the service's data folder
        folder = Path(value).absolute()
        if not (folder / "relay.sqlite3").is_file():
            raise RelayInputError(f"{folder} holds no relay.sqlite3; expected postgresql://..., sqlite:///PATH or "
                                  f"the data folder of `relay serve --data` (make it with `relay db upgrade --data "
                                  f"{value}`)", source="command line", where="--db")
        return str(folder), None, str(folder), f"relay db upgrade --data {value}"
    u = urlparse(value)
    label = value.replace(f":{u.password}@", ":***@") if u.password else value
    entry = database(Path("."), value)  # the URL checked as `relay serve --db` checks it
    if entry["ENGINE"].endswith("sqlite3") and not Path(entry["NAME"]).is_file():
        raise RelayInputError(f"{entry['NAME']} does not exist; expected the relay service's SQLite database (make it "
                              f"with `relay db upgrade --db {label}`)", source="command line", where="--db")
    return tempfile.mkdtemp(prefix="relay-nightly-db-"), value, label, f"relay db upgrade --db {label}"


def service_recorder(job):
    """Django set up on ``--db`` (the service's own settings) and the callable that records a
    run there after the job (relay.service.nightly_store.record); checks the URL now."""
    import atexit
    import functools
    import importlib.util
    import shutil
    from pathlib import Path

    from ..errors import RelayInputError

    if importlib.util.find_spec("django") is None:
        raise RelayInputError("the relay service is not installed; install its extra (pip install "
                              "'mars-relay[service]') or leave --db out", source="command line", where="--db")
    from django.conf import settings

    from ..service.settings import configure, database

    data, url, label, upgrade = service_database(job.db)
    if url is not None:
        atexit.register(shutil.rmtree, data, ignore_errors=True)
    want = database(Path(data), url)
    have = settings.DATABASES["default"] if settings.configured else want
    if any(str(have.get(k) or "") != str(want.get(k) or "") for k in ("ENGINE", "NAME", "HOST", "PORT")):
        raise RelayInputError(f"this process already uses the database {have.get('NAME')}; expected one database "
                              "per process", source="command line", where="--db")
    configure(data, url)
    from ..service import nightly_store

    return functools.partial(nightly_store.record, config=job.config, label=label, upgrade=upgrade)


def run_history(args) -> int:
    from ..archive import Archive
    from ..nightly.history import history_lines

    with Archive.open_existing(args.archive) as arch:
        runs, rejections, acks = arch.runs(), arch.rejections(), arch.acks()
        cur = arch.current()
    if args.limit:
        runs = runs[-args.limit:]
        first = runs[0]["started"] if runs else ""
        rejections = [r for r in rejections if r["started"] >= first][-args.limit:]
    if not runs and not rejections:
        print("(no runs yet)")
        return 0
    # a header, then a line per run (and refused run), then the acknowledgements
    for line in history_lines(runs, cur["id"] if cur else None, rejections, acks):
        print(line)
    if args.accounts:
        from ..actuals.accounting import run_accounts

        print("\n".join(run_accounts(runs)))
    return 0


def run_show(args) -> int:
    from ..archive import Archive
    from ..nightly.history import show_lines

    with Archive.open_existing(args.archive) as arch:
        run, cur, inputs = arch.run(args.run), arch.current(), arch.inputs(args.run)
    print("\n".join(show_lines(run, cur["id"] if cur else None, inputs)))
    return 0


def run_ack(args) -> int:
    from ..archive import Archive
    from ..nightly.alerts import check_violation_text
    from ..nightly.safety import utcnow
    from ..timescales import iso_z, parse_utc, utc_to_tdb_s

    violation = check_violation_text(args.violation)
    until = parse_utc(args.until, where="--until")
    with Archive.open_existing(args.archive) as arch:
        arch.run(args.run)  # it must exist
        ack_id, new = arch.add_ack({"created": utcnow(), "run_id": args.run, "violation": violation,
                                    "until": iso_z(until),
                                    "until_tdb_s": utc_to_tdb_s(until), "note": args.note, "source": "relay ack"})
    print(f"ack {ack_id} {'stored' if new else 'already stored'}: {violation!r} no longer degrades the runs whose "
          f"plan starts before {args.until} (relay history lists it)")
    return 0


def run_promote(args) -> int:
    from pathlib import Path

    from ..archive import Archive
    from ..nightly.safety import LockHeld, RunLock, set_current, utcnow

    with Archive.open_existing(args.archive) as arch:
        arch.run(args.run)  # the archive and the run exist before the lock file is made beside it
    lock = RunLock(Path(args.archive).resolve())
    try:
        lock.acquire(utcnow())
    except LockHeld as exc:
        print(f"relay promote: error: {exc}", file=sys.stderr)
        return 1
    try:
        with Archive.open_existing(args.archive) as arch:
            run = arch.promote(args.run)
        if run.get("out_dir"):
            set_current(Path(run["out_dir"]), run["id"])
    finally:
        lock.release()
    print(f"run {run['id']} ({run.get('plan_start')} +{run.get('days') or 0:g} d) is the current plan"
          + (f"; {Path(run['out_dir']) / 'current'} -> runs/{run['id']}" if run.get("out_dir") else ""))
    return 0


def run_diff(args) -> int:
    import json

    from ..archive import Archive
    from ..errors import RelayInputError
    from ..fileio import write_text
    from ..nightly.diff import diff_runs
    from ..outputs.files import write_table
    from ..plandiff import diff_table, diff_text
    from . import inputs_are_not_outputs

    if len(args.runs) not in (0, 2):
        raise RelayInputError(f"got {len(args.runs)} run id(s); give two (RUN_A RUN_B) or none for the last two",
                              source="command line", where="RUN")
    inputs_are_not_outputs({"--archive": args.archive}, {"--out": args.out})
    with Archive.open_existing(args.archive) as arch:
        d = diff_runs(arch, *(args.runs or (None, None)))
    print(diff_text(d))
    if args.out:
        if str(args.out).lower().endswith(".json"):
            write_text(args.out, json.dumps(d, indent=2, sort_keys=True, default=str) + "\n")
        else:
            write_table(diff_table(d), args.out)
    return 0
