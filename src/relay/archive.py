"""The plan archive of the nightly job: one SQLite database (stdlib ``sqlite3``).

Tables (schema version 1, ``PRAGMA user_version``):

``runs``
    one row per run that got past its inputs: ``id`` (1, 2, ... never
    reused), ``started``/``finished`` (ISO 8601 UTC), ``status`` (``ok``,
    ``degraded``, ``failed``), ``exit_code`` (0, 3, 1), the planning span
    (``plan_start``, ``plan_end``, ``freeze_end`` and ``plan_start_tdb_s``),
    ``base_run`` (the run whose plan this one continued), ``config_path``,
    ``config_hash`` (:func:`relay.config.scenario_hash` of the resolved
    scenario), ``input_hashes`` (JSON ``{input: sha256}``), ``summary``
    (JSON: the plan's :meth:`relay.summary.PlanSummary.to_json` plus the job's
    own figures, ``nightly.json``, under ``nightly``; read it back with
    :meth:`~relay.summary.PlanSummary.from_json`),
    ``out_dir`` (the output directory OUT; the run's plan files are in
    ``OUT/runs/<id>/``) and ``error`` (failed runs: the traceback).
``sessions`` / ``downlinks``
    the plan of each good run, one row per session / downlink (``seq`` is the
    row's position in ``schedule.csv`` / ``downlinks.csv``).  Sessions carry
    ``frozen`` (kept from the base plan) and the window of their pass
    (``pass_rise_tdb_s``, ``pass_set_tdb_s``) so that runs can be compared.
``inputs``
    every input file of every run: ``kind`` (config, orbit, bookings,
    backlogs, drop, base_plan), ``name``, ``path``, ``sha256``, ``bytes``,
    ``detail`` (JSON).
``acks``
    acknowledged problems (``relay ack``, a drop folder's ``ack*.csv``):
    ``violation`` (a degraded reason's key, or a prefix of it by whole fields,
    or words of its text), ``until`` (it covers the runs whose plan starts
    before then), ``run_id`` (the run it was seen in), ``note``, ``source``.
``rejections``
    runs refused for a user's mistake (exit 2; nothing of them is a run):
    ``started``, ``finished``, ``plan_start``, ``config_path``, ``reason``.
``pointer``
    the current plan (``name = 'current'``): the run ``OUT/current`` names.
    A run becomes current when its plan starts no earlier than the current
    one's (a back-fill of an older night does not, unless forced);
    :meth:`Archive.promote` points it at a chosen run.

The last three tables came after schema 1 and are added to an older archive
when it is opened (an older relay ignores them).

Every run is written in ONE transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``),
in WAL mode with ``synchronous=FULL``: a process killed at any moment leaves
either the whole run or none of it, and the database readable.  The
*current* plan is the pointer's run (in an archive without one, the last run
with exit status 0 or 3).
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import pandas as pd

from .errors import RelayInputError
from .timescales import iso_z

SCHEMA_VERSION = 1
GOOD_EXIT_CODES = (0, 3)

SESSION_COLUMNS = ["orbiter", "asset", "start", "end", "duration_s", "volume_mbit", "kind", "pass_id",
                   "start_tdb_s", "end_tdb_s", "frozen", "pass_rise_tdb_s", "pass_set_tdb_s"]
DOWNLINK_COLUMNS = ["orbiter", "station", "start", "end", "volume_mbit", "start_tdb_s", "end_tdb_s"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    started          TEXT NOT NULL,
    finished         TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('ok', 'degraded', 'failed')),
    exit_code        INTEGER NOT NULL,
    plan_start       TEXT,
    plan_end         TEXT,
    freeze_end       TEXT,
    plan_start_tdb_s REAL,
    days             REAL,
    base_run         INTEGER REFERENCES runs(id),
    config_path      TEXT,
    config_hash      TEXT,
    input_hashes     TEXT NOT NULL DEFAULT '{}',
    summary          TEXT,
    out_dir          TEXT,
    error            TEXT
);
CREATE TABLE IF NOT EXISTS sessions (
    run_id          INTEGER NOT NULL REFERENCES runs(id),
    seq             INTEGER NOT NULL,
    orbiter         TEXT NOT NULL,
    asset           TEXT NOT NULL,
    start           TEXT NOT NULL,
    "end"           TEXT NOT NULL,
    duration_s      REAL,
    volume_mbit     REAL,
    kind            TEXT,
    pass_id         INTEGER,
    start_tdb_s     REAL,
    end_tdb_s       REAL,
    frozen          INTEGER NOT NULL DEFAULT 0,
    pass_rise_tdb_s REAL,
    pass_set_tdb_s  REAL,
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS downlinks (
    run_id      INTEGER NOT NULL REFERENCES runs(id),
    seq         INTEGER NOT NULL,
    orbiter     TEXT NOT NULL,
    station     TEXT NOT NULL,
    start       TEXT NOT NULL,
    "end"       TEXT NOT NULL,
    volume_mbit REAL,
    start_tdb_s REAL,
    end_tdb_s   REAL,
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS inputs (
    run_id  INTEGER NOT NULL REFERENCES runs(id),
    kind    TEXT NOT NULL,
    name    TEXT NOT NULL,
    path    TEXT,
    sha256  TEXT,
    bytes   INTEGER,
    detail  TEXT
);
CREATE INDEX IF NOT EXISTS runs_good ON runs (exit_code, id);
"""
#: the tables added after schema 1 (created when missing; an older relay ignores them)
_LATER_SCHEMA = """
CREATE TABLE IF NOT EXISTS acks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    created     TEXT NOT NULL,
    run_id      INTEGER,
    violation   TEXT NOT NULL,
    until       TEXT NOT NULL,
    until_tdb_s REAL NOT NULL,
    note        TEXT,
    source      TEXT NOT NULL,
    UNIQUE (violation, until, source)
);
CREATE TABLE IF NOT EXISTS rejections (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    started     TEXT NOT NULL,
    finished    TEXT NOT NULL,
    exit_code   INTEGER NOT NULL,
    plan_start  TEXT,
    config_path TEXT,
    reason      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pointer (
    name    TEXT PRIMARY KEY,
    run_id  INTEGER NOT NULL REFERENCES runs(id),
    set_at  TEXT,
    how     TEXT
);
"""
ACK_COLUMNS = ("id", "created", "run_id", "violation", "until", "until_tdb_s", "note", "source")


class Archive:
    """The nightly archive.  ``Archive(path)`` opens (and creates) it for writing;
    ``Archive.open_existing(path)`` opens an existing one (an input error if missing)."""

    def __init__(self, path: str | Path, *, create: bool = True):
        self.path = Path(path)
        if not create and not self.path.exists():
            raise RelayInputError("no archive here; run `relay nightly CONFIG --archive PATH` first",
                                  source=str(self.path))
        if self.path.is_dir():
            raise RelayInputError("is a directory; expected the archive's SQLite file (created on the first run)",
                                  source=str(self.path))
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE ... COMMIT)
            self.db = sqlite3.connect(str(self.path), timeout=60.0, isolation_level=None)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA busy_timeout = 60000")
            if create:
                self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute("PRAGMA synchronous = FULL")
            self.db.execute("PRAGMA foreign_keys = ON")
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            if version == 0 and create:
                self.db.execute("BEGIN IMMEDIATE")
                try:
                    for stmt in _SCHEMA.split(";"):
                        if stmt.strip():
                            self.db.execute(stmt)
                    self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                    self.db.execute("COMMIT")
                except BaseException:
                    self.db.execute("ROLLBACK")
                    raise
            elif version == 0:
                raise RelayInputError("is not a relay archive (no runs table)", source=str(self.path))
            elif version > SCHEMA_VERSION:
                raise RelayInputError(f"was written by a newer relay (archive schema {version}, this relay "
                                      f"reads up to {SCHEMA_VERSION})", source=str(self.path))
            self._add_later_tables()
        except sqlite3.DatabaseError as exc:
            raise RelayInputError(f"is not a readable SQLite archive ({exc})", source=str(self.path)) from None

    @classmethod
    def open_existing(cls, path: str | Path) -> "Archive":
        return cls(path, create=False)

    def _add_later_tables(self) -> None:
        """Create the tables of :data:`_LATER_SCHEMA` that an older archive lacks (a read-only
        archive stays as it is: its readers then find no acks, rejections or pointer)."""
        have = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if {"acks", "rejections", "pointer"} <= have:
            return
        try:
            self.db.execute("BEGIN IMMEDIATE")
            for stmt in _LATER_SCHEMA.split(";"):
                if stmt.strip():
                    self.db.execute(stmt)
            self.db.execute("COMMIT")
        except sqlite3.OperationalError:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")

    def _table_exists(self, name: str) -> bool:
        q = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        return self.db.execute(q, (name,)).fetchone() is not None

    def close(self) -> None:
        self.db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------ reading
    def runs(self) -> list[dict]:
        return [_run_dict(r) for r in self.db.execute("SELECT * FROM runs ORDER BY id")]

    def run(self, run_id: int) -> dict:
        row = self.db.execute("SELECT * FROM runs WHERE id = ?", (int(run_id),)).fetchone()
        if row is None:
            ids = [r["id"] for r in self.db.execute("SELECT id FROM runs ORDER BY id")]
            shown = f"{ids[0]} to {ids[-1]}" if ids else "none yet"
            raise RelayInputError(f"has no run {run_id} (runs: {shown})", source=str(self.path))
        return _run_dict(row)

    def good_runs(self) -> list[dict]:
        q = f"SELECT * FROM runs WHERE exit_code IN {GOOD_EXIT_CODES} ORDER BY id"
        return [_run_dict(r) for r in self.db.execute(q)]

    def current(self) -> dict | None:
        """The current plan: the pointer's run (without a pointer, the last run with exit status 0 or 3)."""
        if self._table_exists("pointer"):
            row = self.db.execute("SELECT runs.* FROM pointer JOIN runs ON runs.id = pointer.run_id "
                                  "WHERE pointer.name = 'current'").fetchone()
            if row is not None:
                return _run_dict(row)
        q = f"SELECT * FROM runs WHERE exit_code IN {GOOD_EXIT_CODES} ORDER BY id DESC LIMIT 1"
        row = self.db.execute(q).fetchone()
        return _run_dict(row) if row else None

    def acks(self) -> list[dict]:
        """Every acknowledgement, oldest first (expired ones included)."""
        if not self._table_exists("acks"):
            return []
        cols = ", ".join(ACK_COLUMNS)
        return [dict(r) for r in self.db.execute(f"SELECT {cols} FROM acks ORDER BY id")]

    def rejections(self) -> list[dict]:
        """Every run refused for a user's mistake (exit 2), oldest first."""
        if not self._table_exists("rejections"):
            return []
        return [dict(r) for r in self.db.execute("SELECT * FROM rejections ORDER BY id")]

    def base_for(self, plan_start_tdb_s: float) -> dict | None:
        """The plan a new one starting at ``plan_start_tdb_s`` continues: the last good run
        whose plan starts strictly earlier (so re-running a night repeats it exactly)."""
        q = (f"SELECT * FROM runs WHERE exit_code IN {GOOD_EXIT_CODES} AND plan_start_tdb_s < ? "
             "ORDER BY id DESC LIMIT 1")
        row = self.db.execute(q, (float(plan_start_tdb_s) - 1e-3,)).fetchone()
        return _run_dict(row) if row else None

    def sessions(self, run_id: int) -> pd.DataFrame:
        cols = ", ".join(f'"{c}"' for c in SESSION_COLUMNS)
        rows = self.db.execute(f"SELECT {cols} FROM sessions WHERE run_id = ? ORDER BY seq", (int(run_id),))
        return pd.DataFrame([tuple(r) for r in rows], columns=SESSION_COLUMNS)

    def downlinks(self, run_id: int) -> pd.DataFrame:
        cols = ", ".join(f'"{c}"' for c in DOWNLINK_COLUMNS)
        rows = self.db.execute(f"SELECT {cols} FROM downlinks WHERE run_id = ? ORDER BY seq", (int(run_id),))
        return pd.DataFrame([tuple(r) for r in rows], columns=DOWNLINK_COLUMNS)

    def inputs(self, run_id: int) -> list[dict]:
        rows = self.db.execute("SELECT kind, name, path, sha256, bytes, detail FROM inputs WHERE run_id = ? "
                               "ORDER BY rowid", (int(run_id),))
        return [{**dict(r), "detail": json.loads(r["detail"]) if r["detail"] else None} for r in rows]

    def integrity_ok(self) -> bool:
        return self.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    # ------------------------------------------------------------------ writing
    def store_run(self, run: dict, sessions: pd.DataFrame | None = None, downlinks: pd.DataFrame | None = None,
                  inputs: list[dict] | None = None,
                  in_transaction: Callable[[int], None] | None = None, *, force_current: bool = False) -> int:
        """Store a whole run in one transaction and return its id.

        ``in_transaction(run_id)`` is called after the rows are inserted and
        before COMMIT (the job renames the run's directory into place there);
        if it raises, nothing is stored.  A good run (exit 0 or 3) becomes the
        current plan when its plan starts no earlier than the current one's, or
        with ``force_current``.
        """
        cols = ["started", "finished", "status", "exit_code", "plan_start", "plan_end", "freeze_end",
                "plan_start_tdb_s", "days", "base_run", "config_path", "config_hash", "input_hashes",
                "summary", "out_dir", "error"]
        values = []
        for c in cols:
            v = run.get(c)
            if c in ("input_hashes", "summary") and v is not None and not isinstance(v, str):
                v = json.dumps(v, sort_keys=True, default=_json_default)
            values.append(v)
        if values[cols.index("input_hashes")] is None:
            values[cols.index("input_hashes")] = "{}"
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            cur = db.execute(f"INSERT INTO runs ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", values)
            run_id = int(cur.lastrowid)
            if sessions is not None and len(sessions):
                rows = _rows(sessions, SESSION_COLUMNS, run_id)
                db.executemany(f"INSERT INTO sessions (run_id, seq, {', '.join(_q(SESSION_COLUMNS))}) "
                               f"VALUES ({', '.join('?' * (len(SESSION_COLUMNS) + 2))})", rows)
            if downlinks is not None and len(downlinks):
                rows = _rows(downlinks, DOWNLINK_COLUMNS, run_id)
                db.executemany(f"INSERT INTO downlinks (run_id, seq, {', '.join(_q(DOWNLINK_COLUMNS))}) "
                               f"VALUES ({', '.join('?' * (len(DOWNLINK_COLUMNS) + 2))})", rows)
            for item in inputs or []:
                db.execute("INSERT INTO inputs (run_id, kind, name, path, sha256, bytes, detail) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?)",
                           (run_id, item.get("kind"), item.get("name"), item.get("path"), item.get("sha256"),
                            item.get("bytes"),
                            json.dumps(item.get("detail"), sort_keys=True, default=_json_default)
                            if item.get("detail") is not None else None))
            if run.get("exit_code") in GOOD_EXIT_CODES:
                self._advance_current(run_id, run.get("plan_start_tdb_s"), force_current)
            if in_transaction is not None:
                in_transaction(run_id)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return run_id

    def _advance_current(self, run_id: int, plan_start_tdb_s, force: bool) -> None:
        """Inside a transaction: point ``current`` at the new run unless it plans an older night."""
        cur = self.current()
        older = (cur is not None and cur["id"] != run_id and plan_start_tdb_s is not None
                 and cur.get("plan_start_tdb_s") is not None
                 and float(plan_start_tdb_s) < float(cur["plan_start_tdb_s"]) - 1e-3)
        if older and not force:
            if not self.db.execute("SELECT 1 FROM pointer WHERE name = 'current'").fetchone():
                self._point(cur["id"], "kept")  # an archive of before the pointer: pin what was current
            return
        self._point(run_id, "forced" if older else "newest night")

    def _point(self, run_id: int, how: str) -> None:
        now = iso_z(datetime.now(timezone.utc))
        self.db.execute("INSERT INTO pointer (name, run_id, set_at, how) VALUES ('current', ?, ?, ?) "
                        "ON CONFLICT (name) DO UPDATE SET run_id = excluded.run_id, set_at = excluded.set_at, "
                        "how = excluded.how", (int(run_id), now, how))

    def promote(self, run_id: int) -> dict:
        """Make a good run the current plan (``relay promote``); returns the run."""
        run = self.run(run_id)
        if run["exit_code"] not in GOOD_EXIT_CODES:
            raise RelayInputError(f"run {run_id} is {run['status']} (exit {run['exit_code']}) and has no plan to "
                                  "make current", source=str(self.path), where="RUN")
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self._point(run["id"], "promoted")
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return run

    def add_ack(self, ack: dict) -> tuple[int, bool]:
        """Store an acknowledgement (keys of :data:`ACK_COLUMNS` but ``id``); the same violation,
        until and source again is not stored twice.  Returns (its id, whether it is new)."""
        cols = [c for c in ACK_COLUMNS if c != "id"]
        self.db.execute("BEGIN IMMEDIATE")
        try:
            cur = self.db.execute(f"INSERT OR IGNORE INTO acks ({', '.join(cols)}) VALUES "
                                  f"({', '.join('?' * len(cols))})", [ack.get(c) for c in cols])
            new = cur.rowcount == 1
            row = self.db.execute("SELECT id FROM acks WHERE violation = ? AND until = ? AND source = ?",
                                  (ack["violation"], ack["until"], ack["source"])).fetchone()
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return int(row[0]), new

    def add_rejection(self, rec: dict) -> int:
        """Record a run refused for a user's mistake (exit 2); returns its row id."""
        cols = ["started", "finished", "exit_code", "plan_start", "config_path", "reason"]
        cur = self.db.execute(f"INSERT INTO rejections ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                              [rec.get(c) for c in cols])
        return int(cur.lastrowid)

    def next_id_hint(self) -> int:
        """The id the next stored run will most likely get (for messages only)."""
        row = self.db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'runs'").fetchone()
        return (int(row[0]) if row else 0) + 1


def _q(cols):
    return [f'"{c}"' for c in cols]


def _rows(df: pd.DataFrame, cols: list[str], run_id: int) -> list[tuple]:
    data = []
    for c in cols:
        if c in df.columns:
            data.append([_plain(v) for v in df[c].tolist()])
        else:
            data.append([0 if c == "frozen" else None] * len(df))
    return [(run_id, i, *vals) for i, vals in enumerate(zip(*data))]


def _plain(v):
    if v is None:
        return None
    if isinstance(v, pd.Timestamp):  # UTC timestamps are stored as the files spell them
        return iso_z(v)
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(v, "item"):
        return v.item()
    return v


def _json_default(o):
    if hasattr(o, "item"):
        return o.item()
    if hasattr(o, "tolist"):
        return o.tolist()
    return str(o)


def _run_dict(row) -> dict:
    d = dict(row)
    for k in ("input_hashes", "summary"):
        if d.get(k):
            try:
                d[k] = json.loads(d[k])
            except ValueError:
                pass
    return d


def read_runs(path: str | Path) -> list[dict]:
    with closing(Archive.open_existing(path)) as a:
        return a.runs()
