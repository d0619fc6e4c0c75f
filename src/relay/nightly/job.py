"""The nightly planning job: rolling-horizon re-planning, safe to run unattended.

``relay nightly CONFIG --archive PATH`` (or :func:`run_nightly`) plans the
scenario from the start of the next planning day over the horizon and stores
the run in the archive (:mod:`relay.archive`).  See ``docs/nightly.md``.

The rolling horizon
    * start: the next day boundary (``--day-boundary``, default ``00:00`` UTC)
      strictly after now, or ``--start``;
    * the *base plan* is the last good archived run whose plan starts strictly
      before this one (so re-running the same night repeats the same plan:
      it continues from the same base with the same inputs);
    * its sessions that start inside the freeze horizon ``[start, start +
      freeze_hours)`` are passed to the planner as ``fixed_sessions`` (kept
      exactly); its later sessions as ``previous_sessions`` with
      ``change_penalty_mbit``.  Base sessions that start before ``start``
      are history and are not passed.

The drop folder (``--drop DIR``; files whose name starts with a dot are
ignored, so uploaders should write ``.name.part`` and rename)
    * ``*.oem`` (CCSDS OEM, one object per file) and ``*.bsp`` (SPICE SPK, one
      spacecraft) orbit files.  A file belongs to the orbiter whose name equals
      the orbit's own name (the OEM ``OBJECT_NAME``, the SPK body's SPICE
      name), case and punctuation ignored; otherwise to the orbiter whose name
      prefixes the file name (``MRO_20261122.oem``, ``mars-express-v2.bsp``:
      name then ``_``, ``-``, ``.`` or the end; the longest matching name wins).
      Files that map to no orbiter are reported and ignored.  Of an orbiter's
      files, those covering the whole horizon (plus an hour either side for
      light time and edge passes) are candidates, and the newest wins: newest
      by the OEM ``CREATION_DATE`` (else the file's modification time), then by
      the latest coverage start, then by name.  The winner replaces the
      scenario's orbit (``orbiters.NAME.orbit = {type: oem|spk, path}``);
      without a covering file the scenario's own orbit stays.  Every orbit
      file in the folder is read, so a corrupt one stops the run (exit 2).
    * ``bookings*.csv``: station bookings (``orbiter, station, start, end``);
      the last by name is used (name them by date).
    * ``backlog*.csv``: asset backlogs (``asset, time, backlog_mbit``), all
      files, every row checked; the planner takes the latest at or before the
      start.

Exit status: 0 planned; 2 bad input (nothing archived, the current plan
stays); 3 planned but degraded (a violated requirement, or delivered volume
down more than ``max_drop_pct`` percent from the base plan), still current;
1 any other failure (archived as failed with its error, never current), and
also "another run holds the lock" (not archived).
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import io
import json
import math
import os
import re
import shutil
import socket
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from .errors import RelayInputError

#: Margin of orbit-file coverage required beyond each end of the horizon (light time, edge passes).
COVERAGE_MARGIN_S = 3600.0
GOOD_STATUSES = ("OPTIMAL", "FEASIBLE")
FAILED_STATUSES = ("INFEASIBLE", "MODEL_INVALID")

DEFAULTS: dict[str, Any] = {
    "archive": None, "out": None, "drop": None, "log": None, "start": None,
    "day_boundary": "00:00", "days": 7.0, "freeze_hours": 48.0, "change_penalty_mbit": None,
    "max_drop_pct": 10.0, "time_limit_s": None, "workers": None, "seed": None,
}
_PATH_KEYS = ("archive", "out", "drop", "log")


@dataclass
class NightlyOptions:
    config: str
    archive: str | None = None
    out: str | None = None
    drop: str | None = None
    log: str | None = None
    start: str | None = None
    day_boundary: str = "00:00"
    days: float = 7.0
    freeze_hours: float = 48.0
    change_penalty_mbit: float | None = None
    max_drop_pct: float = 10.0
    time_limit_s: float | None = None
    workers: int | None = None
    seed: int | None = None
    now: datetime | None = None  # the clock, for "the next planning day" (tests)
    quiet: bool = False


# ----------------------------------------------------------------------------- hooks
def _checkpoint(name: str) -> None:
    """Called at each step of a run (``locked``, ``planned``, ``written``, ``renamed``,
    ``committed``, ``linked``).  A no-op; the tests replace it to kill the job there."""


def _planner():
    """The planning function (``relay.api.plan``); the tests may replace it."""
    from .api import plan

    return plan


# ----------------------------------------------------------------------------- config
def split_config(path: str | Path) -> tuple[dict, dict]:
    """(scenario data, nightly section) of a config file; ``extends`` resolved.

    The ``nightly:`` mapping holds this job's settings (the keys of
    :data:`DEFAULTS`); relative paths in it are relative to the config file.
    """
    from .config import resolve_extends, read_yaml

    p = Path(path)
    data = resolve_extends(read_yaml(p), p.resolve())
    section = data.pop("nightly", None) or {}
    if not isinstance(section, dict):
        raise RelayInputError("`nightly` must be a mapping of the job's settings", source=str(path),
                              where="nightly")
    unknown = sorted(set(section) - set(DEFAULTS))
    if unknown:
        raise RelayInputError(f"unknown key(s) {', '.join(unknown)}; valid: {', '.join(DEFAULTS)}",
                              source=str(path), where="nightly")
    base = p.resolve().parent
    for k in _PATH_KEYS:
        if section.get(k) is not None:
            q = Path(str(section[k]))
            section[k] = str(q if q.is_absolute() else base / q)
    return data, section


def build_scenario(path: str | Path, data: dict, overrides: dict | None = None):
    """A validated Scenario from the data of :func:`split_config` (as ``load_scenario`` does)."""
    from .config import apply_overrides, resolve_orbit_files, scenario_from_dict

    data = apply_overrides(data, overrides, source=str(path))
    data = resolve_orbit_files(data, Path(path).resolve())
    return scenario_from_dict(data, source=str(path))


def resolve_options(config: str, cli: dict) -> NightlyOptions:
    """Defaults < the config's ``nightly:`` section < command-line values (not None)."""
    data, section = split_config(config)
    merged = dict(DEFAULTS)
    planning = data.get("planning") if isinstance(data.get("planning"), dict) else {}
    if isinstance(planning.get("horizon_days"), (int, float)):
        merged["days"] = float(planning["horizon_days"])  # the scenario's horizon unless the job says
    merged.update({k: v for k, v in section.items() if v is not None})
    merged.update({k: v for k, v in cli.items() if v is not None and k in DEFAULTS})
    opts = NightlyOptions(config=str(config), **merged)
    opts.quiet = bool(cli.get("quiet"))
    _check_options(opts)
    return opts


def _check_options(o: NightlyOptions) -> None:
    src = "command line"
    for key, lo in (("days", 0.0), ("freeze_hours", None), ("max_drop_pct", None)):
        v = getattr(o, key)
        try:
            v = float(v)
        except (TypeError, ValueError):
            raise RelayInputError(f"got {v!r}, expected a number", source=src, where=key) from None
        if not math.isfinite(v) or v < 0 or (lo is not None and v <= lo):
            raise RelayInputError(f"got {v!r}, expected a {'positive' if lo is not None else 'non-negative'} "
                                  "number", source=src, where=key)
        setattr(o, key, v)
    if o.freeze_hours > o.days * 24:
        raise RelayInputError(f"the freeze horizon ({o.freeze_hours:g} h) is longer than the planning "
                              f"horizon ({o.days:g} days)", source=src, where="freeze_hours")
    parse_day_boundary(o.day_boundary)
    if o.archive is None:
        raise RelayInputError("no archive given: pass --archive PATH or set nightly.archive in the config",
                              source=src, where="--archive")


def parse_day_boundary(text) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})(?::00)?\s*Z?\s*", str(text))
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise RelayInputError(f"got {text!r}, expected a UTC time of day HH:MM such as 00:00 or 12:30",
                              source="command line", where="day_boundary")
    return int(m.group(1)), int(m.group(2))


def next_planning_day(now: datetime, day_boundary: str = "00:00") -> str:
    """The first day boundary strictly after ``now`` (UTC), as ISO 8601 with a Z."""
    hh, mm = parse_day_boundary(day_boundary)
    now = now.astimezone(timezone.utc)
    t = now.replace(hour=hh, minute=mm, second=0, microsecond=0)
    if t <= now:
        t += timedelta(days=1)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


# ----------------------------------------------------------------------------- inputs
def sha256_file(path: str | Path) -> tuple[str, int]:
    h = hashlib.sha256()
    n = 0
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
            n += len(chunk)
    return h.hexdigest(), n


def _norm(name: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", str(name).upper()).strip("_")


def orbiter_for_file(path: Path, own_name: str | None, orbiters: list[str]) -> tuple[str | None, str]:
    """(orbiter, rule) of a drop-folder orbit file; see the module docstring."""
    if own_name:
        for o in orbiters:
            if _norm(o) == _norm(own_name):
                return o, "object name"
    stem = _norm(path.name.rsplit(".", 1)[0])
    best = None
    for o in orbiters:
        n = _norm(o)
        if n and (stem == n or stem.startswith(n + "_")):
            if best is None or len(n) > len(_norm(best)):
                best = o
    return best, "file name"


@dataclass
class OrbitFile:
    path: Path
    kind: str  # oem | spk
    own_name: str | None
    orbiter: str | None
    rule: str
    coverage: list[tuple[float, float]]
    created: str  # ISO UTC, from the file or its mtime
    created_from: str
    sha256: str
    bytes: int
    covers: bool = False
    status: str = ""  # used | superseded by X | does not cover ... | no orbiter

    def detail(self) -> dict:
        from .timescales import tdb_s_to_iso

        return {"kind": self.kind, "object": self.own_name, "orbiter": self.orbiter, "rule": self.rule,
                "coverage": [[tdb_s_to_iso(a), tdb_s_to_iso(b)] for a, b in self.coverage],
                "created": self.created, "created_from": self.created_from, "status": self.status}


@dataclass
class DropInputs:
    orbit_files: list[OrbitFile] = field(default_factory=list)
    overrides: dict = field(default_factory=dict)
    bookings: Path | None = None
    bookings_files: list[Path] = field(default_factory=list)
    backlogs: Any = None  # DataFrame
    backlog_files: list[Path] = field(default_factory=list)
    ignored: list[tuple[Path, str]] = field(default_factory=list)


def _created_of(path: Path, header: dict | None) -> tuple[str, str]:
    raw = (header or {}).get("CREATION_DATE")
    if raw:
        s = str(raw).strip().rstrip("Z")
        try:
            d = datetime.fromisoformat(s)
            d = d.replace(tzinfo=timezone.utc) if d.tzinfo is None else d.astimezone(timezone.utc)
            return d.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "CREATION_DATE"
        except ValueError:
            pass
    d = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "mtime"


def read_orbit_file(path: Path, orbiters: list[str]) -> OrbitFile:
    kind = "oem" if path.suffix.lower() == ".oem" else "spk"
    if kind == "oem":
        from .orbits.oem import read_oem

        eph = read_oem(path)
        _check_complete_text(path)
        own = eph.segments[0].object_name
        coverage = list(eph.intervals_tdb_s)
        header = eph.header
    else:
        from .orbits.spk import read_spk

        eph = read_spk(path)
        own = eph.name
        coverage = [(float(a), float(b)) for a, b in eph.intervals_tdb_s]
        header = None
        try:
            eph.close()
        except Exception:  # pragma: no cover - closing is best effort
            pass
    orbiter, rule = orbiter_for_file(path, own, orbiters)
    created, created_from = _created_of(path, header)
    digest, size = sha256_file(path)
    return OrbitFile(path, kind, own, orbiter, rule, coverage, created, created_from, digest, size)


def _check_complete_text(path: Path) -> None:
    """A text orbit file must end with a line end: one that does not was cut short (an upload
    still running, a full disk), even when its last line still parses as a number."""
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        if size == 0:
            raise RelayInputError("is empty", source=str(path))
        fh.seek(size - 1)
        if fh.read(1) not in (b"\n", b"\r"):
            fh.seek(0)
            lines = fh.read().count(b"\n") + 1
            raise RelayInputError("the last line has no line end: the file looks truncated (an upload "
                                  "still in progress?); drop-folder files must be complete, written under a "
                                  "name starting with a dot and renamed when done",
                                  source=str(path), where=f"line {lines}")


def scan_drop(drop: str | Path, orbiters: list[str], assets: list[str], t0: float, t1: float) -> DropInputs:
    """Read and check every file of the drop folder; choose the orbit file of each orbiter."""
    drop = Path(drop)
    if not drop.is_dir():
        raise RelayInputError("the drop folder does not exist (or is not a directory)", source=str(drop))
    out = DropInputs()
    files = sorted(p for p in drop.iterdir() if p.is_file() and not p.name.startswith("."))
    for p in files:
        low = p.name.lower()
        if low.endswith(".oem") or low.endswith(".bsp"):
            out.orbit_files.append(read_orbit_file(p, orbiters))
        elif low.endswith(".csv") and low.startswith("booking"):
            read_bookings_csv(p)
            out.bookings_files.append(p)
        elif low.endswith(".csv") and low.startswith("backlog"):
            out.backlog_files.append(p)
        else:
            out.ignored.append((p, "not an orbit file (.oem, .bsp), bookings*.csv or backlog*.csv"))
    if out.bookings_files:
        out.bookings = out.bookings_files[-1]
    if out.backlog_files:
        import pandas as pd

        frames = [read_backlog_csv(p, assets) for p in out.backlog_files]
        df = pd.concat(frames, ignore_index=True)
        out.backlogs = df.sort_values(["time", "asset"], kind="mergesort").reset_index(drop=True)

    lo, hi = t0 - COVERAGE_MARGIN_S, t1 + COVERAGE_MARGIN_S
    by_orbiter: dict[str, list[OrbitFile]] = {}
    for f in out.orbit_files:
        if f.orbiter is None:
            f.status = "ignored: names no orbiter of the scenario"
            out.ignored.append((f.path, f"orbit of {f.own_name!r} matches no orbiter ({', '.join(orbiters)})"))
            continue
        f.covers = any(a <= lo and b >= hi for a, b in f.coverage)
        if not f.covers:
            f.status = "not used: does not cover the horizon"
        by_orbiter.setdefault(f.orbiter, []).append(f)
    for name in orbiters:
        cands = [f for f in by_orbiter.get(name, []) if f.covers]
        if not cands:
            continue
        cands.sort(key=lambda f: (f.created, max(a for a, _ in f.coverage), f.path.name))
        best = cands[-1]
        best.status = "used"
        for f in cands[:-1]:
            f.status = f"superseded by {best.path.name}"
        idx = orbiters.index(name)
        out.overrides[f"orbiters.{idx}.orbit"] = {"type": best.kind, "path": str(best.path.resolve())}
    return out


def _csv_rows(path: Path, required: list[str]):
    """(line number, row dict) of a CSV file, header checked; errors name the file and line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise RelayInputError(f"cannot be read ({exc})", source=str(path)) from None
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise RelayInputError(f"is empty; expected a header {', '.join(required)}", source=str(path),
                              where="line 1") from None
    header = [h.strip() for h in header]
    missing = [c for c in required if c not in header]
    if missing:
        raise RelayInputError(f"the header has no column(s) {', '.join(missing)} (got {', '.join(header)}); "
                              f"expected {', '.join(required)}", source=str(path), where="line 1")
    line = reader.line_num
    for row in reader:
        start_line = line + 1
        line = reader.line_num
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise RelayInputError(f"has {len(row)} field(s), the header {len(header)}; the file may be "
                                  "truncated", source=str(path), where=f"line {start_line}")
        yield start_line, {h: c.strip() for h, c in zip(header, row)}


def _time_cell(value: str, path: Path, line: int, column: str) -> datetime:
    from .timescales import parse_utc

    try:
        return parse_utc(value, source=str(path), where=f"line {line}")
    except RelayInputError as exc:
        raise RelayInputError(f"{column}: {exc.detail}", source=str(path), where=f"line {line}") from None


def read_backlog_csv(path: Path, assets: list[str]):
    """An asset backlog CSV (``asset, time, backlog_mbit``), every row checked."""
    import pandas as pd

    rows = []
    for line, r in _csv_rows(path, ["asset", "time", "backlog_mbit"]):
        if r["asset"] not in assets:
            raise RelayInputError(f"asset {r['asset']!r} is not in the scenario (assets: {', '.join(assets)})",
                                  source=str(path), where=f"line {line}")
        when = _time_cell(r["time"], path, line, "time")
        try:
            v = float(r["backlog_mbit"])
        except ValueError:
            v = float("nan")
        if not math.isfinite(v) or v < 0:
            raise RelayInputError(f"backlog_mbit: got {r['backlog_mbit']!r}, expected a non-negative number "
                                  "of megabits", source=str(path), where=f"line {line}")
        rows.append((r["asset"], when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z", v))
    return pd.DataFrame(rows, columns=["asset", "time", "backlog_mbit"])


def read_bookings_csv(path: Path) -> int:
    """Check a station bookings CSV (``orbiter, station, start, end``); returns the row count."""
    n = 0
    for line, r in _csv_rows(path, ["orbiter", "station", "start", "end"]):
        a = _time_cell(r["start"], path, line, "start")
        b = _time_cell(r["end"], path, line, "end")
        if not b > a:
            raise RelayInputError(f"end {r['end']} is not after start {r['start']}", source=str(path),
                                  where=f"line {line}")
        n += 1
    return n


# ----------------------------------------------------------------------------- lock
class LockHeld(Exception):
    pass


class RunLock:
    """An exclusive ``fcntl.flock`` on ``<archive>.lock``: the kernel drops it when the
    holder exits or is killed, so it is never stuck.  The holder writes its PID,
    host and start time into the file for the message of a refused run."""

    def __init__(self, archive: Path):
        self.path = Path(str(archive) + ".lock")
        self.fd: int | None = None

    def acquire(self, started: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                holder = os.read(fd, 4096).decode("utf-8", "replace").strip()
            finally:
                os.close(fd)
            info = _holder_text(holder)
            raise LockHeld(f"another nightly run holds the lock {self.path} ({info}); exiting without "
                           "planning (the lock is released when that run ends or is killed)") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": started})
                  .encode() + b"\n", 0)
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            try:
                os.ftruncate(self.fd, 0)
            except OSError:
                pass
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def _holder_text(text: str) -> str:
    try:
        d = json.loads(text)
        return f"PID {d['pid']} on {d.get('host', '?')}, started {d.get('started', '?')}"
    except (ValueError, KeyError, TypeError):
        return "PID unknown: the holder has not written its details yet"


# ----------------------------------------------------------------------------- logs
class JsonLog:
    """JSON lines, one event per stage (``seconds`` its duration), appended and flushed."""

    def __init__(self, path: Path | None, pid: int, started: str):
        self.path = path
        self.fh = None
        self.base = {"pid": pid, "run_started": started}
        self.stages: dict[str, float] = {}
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.fh = open(path, "a", encoding="utf-8")

    def event(self, event: str, **fields) -> None:
        if "seconds" in fields and event == "stage":
            self.stages[fields["stage"]] = fields["seconds"]
        if self.fh is None:
            return
        rec = {"time": _utcnow(), "event": event, **self.base, **fields}
        self.fh.write(json.dumps(rec, sort_keys=False, default=str) + "\n")
        self.fh.flush()

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None


class _Stage:
    def __init__(self, log: JsonLog, name: str, **fields):
        self.log, self.name, self.fields = log, name, fields

    def __enter__(self):
        self.t = time.perf_counter()
        return self.fields

    def __exit__(self, et, ev, tb):
        secs = round(time.perf_counter() - self.t, 3)
        if et is None:
            self.log.event("stage", stage=self.name, seconds=secs, ok=True, **self.fields)
        else:
            self.log.event("stage", stage=self.name, seconds=secs, ok=False,
                           error=f"{et.__name__}: {ev}", **self.fields)
        return False


def _utcnow() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# ----------------------------------------------------------------------------- outputs
def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_tree(path: Path) -> None:
    for p in sorted(path.rglob("*")):
        if p.is_file():
            with open(p, "rb") as fh:
                os.fsync(fh.fileno())
    _fsync_dir(path)


def set_current(out: Path, run_id: int | None) -> None:
    """Point ``<out>/current`` at ``runs/<run_id>`` (atomically: a temp symlink renamed over it)."""
    link = out / "current"
    if run_id is None:
        return
    target = f"runs/{run_id}"
    try:
        if os.readlink(link) == target:
            return
    except OSError:
        pass
    tmp = out / f".current.{os.getpid()}.tmp"
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass
    os.symlink(target, tmp)
    os.replace(tmp, link)
    _fsync_dir(out)


def reconcile_outputs(out: Path, archive) -> list[str]:
    """Repair what a killed run may have left: temp directories and links, run directories
    the archive does not know (renamed in place but never committed), and a ``current``
    link that lags the archive (killed between COMMIT and the link).  Returns notes."""
    notes = []
    runs_dir = out / "runs"
    if runs_dir.is_dir():
        last = archive.next_id_hint() - 1
        for p in sorted(runs_dir.iterdir()):
            if p.name.startswith(".tmp-"):
                shutil.rmtree(p, ignore_errors=True)
                notes.append(f"removed the temporary directory {p} of an interrupted run")
            elif p.name.isdigit() and int(p.name) > last:  # renamed in place, never committed
                shutil.rmtree(p, ignore_errors=True)
                notes.append(f"removed {p}: written by an interrupted run that was never archived")
    for p in out.glob(".current.*.tmp") if out.is_dir() else []:
        try:
            p.unlink()
        except OSError:
            pass
    cur = archive.current()
    if cur is not None:
        try:
            before = os.readlink(out / "current")
        except OSError:
            before = None
        set_current(out, cur["id"])
        if before != f"runs/{cur['id']}":
            notes.append(f"pointed {out / 'current'} at runs/{cur['id']} (the archive's current plan)")
    return notes


# ----------------------------------------------------------------------------- the job
@dataclass
class Prepared:
    scenario: Any
    start: str
    end: str
    t0: float
    t1: float
    freeze_end: str
    t_freeze: float
    base: dict | None
    fixed: Any
    previous: Any
    drop: DropInputs | None
    inputs: list[dict]
    notes: list[str]


def prepare(opts: NightlyOptions, archive_path: Path) -> Prepared:
    """Everything the planner needs; every input checked (RelayInputError on a bad one)."""

    from .api import span_tdb_s
    from .archive import Archive

    notes: list[str] = []
    data, _ = split_config(opts.config)
    sc0 = build_scenario(opts.config, data)
    start = opts.start or next_planning_day(opts.now or datetime.now(timezone.utc), opts.day_boundary)
    t0, t1 = span_tdb_s(start, opts.days)
    from .timescales import parse_utc

    start = parse_utc(start, where="--start").strftime("%Y-%m-%dT%H:%M:%SZ")
    t_freeze = t0 + opts.freeze_hours * 3600.0
    orbiters = [o.name for o in sc0.orbiters]
    assets = [a.name for a in sc0.assets]

    inputs: list[dict] = []
    digest, size = sha256_file(opts.config)
    inputs.append({"kind": "config", "name": Path(opts.config).name, "path": str(Path(opts.config).resolve()),
                   "sha256": digest, "bytes": size})

    drop = None
    overrides = {}
    if opts.drop:
        drop = scan_drop(opts.drop, orbiters, assets, t0, t1)
        overrides = drop.overrides
        for f in drop.orbit_files:
            inputs.append({"kind": "drop-orbit", "name": f.path.name, "path": str(f.path.resolve()),
                           "sha256": f.sha256, "bytes": f.bytes, "detail": f.detail()})
        for p in drop.bookings_files:
            d, n = sha256_file(p)
            inputs.append({"kind": "drop-bookings", "name": p.name, "path": str(p.resolve()), "sha256": d,
                           "bytes": n, "detail": {"used": p == drop.bookings}})
        for p in drop.backlog_files:
            d, n = sha256_file(p)
            inputs.append({"kind": "drop-backlogs", "name": p.name, "path": str(p.resolve()), "sha256": d,
                           "bytes": n})
        for p, why in drop.ignored:
            notes.append(f"drop folder: ignored {p.name}: {why}")
    sc = build_scenario(opts.config, data, overrides) if overrides else sc0

    # orbit files actually used (scenario's own or the drop folder's)
    for o in sc.orbiters:
        if o.orbit.type in ("oem", "spk"):
            p = sc.resolve_path(o.orbit.path)
            if p.exists():
                d, n = sha256_file(p)
                inputs.append({"kind": "orbit", "name": o.name, "path": str(p), "sha256": d, "bytes": n})
    if sc.bookings and not (drop and drop.bookings):
        p = sc.resolve_path(sc.bookings)
        if p.exists():
            d, n = sha256_file(p)
            inputs.append({"kind": "bookings", "name": p.name, "path": str(p), "sha256": d, "bytes": n})

    # the base plan
    base = None
    fixed = previous = None
    if archive_path.exists():
        with Archive.open_existing(archive_path) as arch:
            base = arch.base_for(t0)
            if base is not None:
                ses = arch.sessions(base["id"])
    if base is not None:
        known = ses["orbiter"].isin(orbiters) & ses["asset"].isin(assets)
        if (~known).any():
            gone = ses[~known]
            notes.append(f"base run {base['id']}: {len(gone)} session(s) of orbiters/assets no longer in the "
                         "scenario are not carried over")
            ses = ses[known]
        st = ses["start_tdb_s"].astype(float)
        in_freeze = (st >= t0 - 1e-3) & (st < t_freeze)
        later = st >= t_freeze
        cols = ["orbiter", "asset", "start", "end", "kind", "start_tdb_s", "end_tdb_s"]
        fixed = ses.loc[in_freeze, cols].reset_index(drop=True)
        fixed["kind"] = fixed["kind"].fillna("return")
        prev_cols = [c for c in ["orbiter", "asset", "start", "end", "duration_s", "volume_mbit", "kind",
                                 "pass_id", "start_tdb_s", "end_tdb_s"] if c in ses.columns]
        previous = ses.loc[later, prev_cols].reset_index(drop=True)
        blob = ses[["orbiter", "asset", "start", "end", "kind"]].to_csv(index=False, lineterminator="\n")
        base_dir = str(Path(base["out_dir"]) / "runs" / str(base["id"])) if base.get("out_dir") else None
        inputs.append({"kind": "base_plan", "name": f"run {base['id']}", "path": base_dir,
                       "sha256": hashlib.sha256(blob.encode()).hexdigest(), "bytes": len(blob),
                       "detail": {"run": base["id"], "fixed": int(in_freeze.sum()), "previous": int(later.sum())}})
    d0 = parse_utc(start)
    end = (d0 + timedelta(days=opts.days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    freeze_end = (d0 + timedelta(hours=opts.freeze_hours)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Prepared(sc, start, end, t0, t1, freeze_end, t_freeze, base,
                    fixed if fixed is not None and len(fixed) else None,
                    previous if previous is not None and len(previous) else None, drop, inputs, notes)


def _input_hashes(inputs: list[dict]) -> dict:
    out = {}
    for item in inputs:
        key = f"{item['kind']}:{item['name']}"
        out[key] = item.get("sha256")
    return out


def _plan_kwargs(opts: NightlyOptions, prep: Prepared) -> dict:
    from .timescales import parse_utc

    kw: dict[str, Any] = {"days": opts.days}
    if prep.base is not None:
        # the freeze horizon as far as the base plan covers it: its sessions there are the
        # committed ones (fixed_sessions) and the planner adds none beside them
        end = prep.freeze_end
        base_end = prep.base.get("plan_end")
        if base_end and parse_utc(base_end, where="plan_end") < parse_utc(end, where="freeze_end"):
            end = base_end
        kw["frozen_until"] = end
    if prep.fixed is not None:
        kw["fixed_sessions"] = prep.fixed
    if prep.previous is not None:
        kw["previous_sessions"] = prep.previous
        if opts.change_penalty_mbit is not None:
            kw["change_penalty_mbit"] = float(opts.change_penalty_mbit)
    if prep.drop is not None and prep.drop.backlogs is not None:
        kw["backlogs"] = prep.drop.backlogs
    if prep.drop is not None and prep.drop.bookings is not None:
        kw["bookings"] = str(prep.drop.bookings)
    for k in ("time_limit_s", "workers", "seed"):
        v = getattr(opts, k)
        if v is not None:
            kw[k] = v
    return kw


def degraded_reasons(summary: dict, base: dict | None, max_drop_pct: float) -> list[str]:
    reasons = []
    for v in summary.get("violations") or []:
        if isinstance(v, dict):
            what = ", ".join(f"{k} {v[k]}" for k in ("asset", "sol", "requirement") if v.get(k) is not None)
            reasons.append(f"violated requirement: {what}" + (f" ({v['detail']})" if v.get("detail") else ""))
        else:
            reasons.append(f"violated requirement: {v}")
    status = str(summary.get("status", "")).upper()
    if status and status not in GOOD_STATUSES:
        reasons.append(f"solver status {status}")
    if base is not None and isinstance(base.get("summary"), dict):
        before = base["summary"].get("delivered_mbit")
        after = summary.get("delivered_mbit")
        if before and after is not None and before > 0:
            drop_pct = 100.0 * (float(before) - float(after)) / float(before)
            if drop_pct > max_drop_pct:
                reasons.append(f"delivered volume {float(after):.1f} Mbit is {drop_pct:.1f} % below the base "
                               f"plan's {float(before):.1f} Mbit (run {base['id']}; limit {max_drop_pct:g} %)")
    return reasons


def _session_table(result, t_freeze: float, fixed):
    """The result's sessions with the pass window and a ``frozen`` flag, for the archive."""

    ses = result.sessions.copy()
    if "start_tdb_s" not in ses.columns:
        from .timescales import utc_to_tdb_s

        ses["start_tdb_s"] = [utc_to_tdb_s(s) for s in ses["start"]]
        ses["end_tdb_s"] = [utc_to_tdb_s(s) for s in ses["end"]]
    passes = getattr(result, "passes", None)
    if passes is not None and "pass_id" in ses.columns and "pass_id" in passes.columns:
        p = passes.set_index("pass_id")
        rise = "rise_tdb_s" if "rise_tdb_s" in p.columns else None
        sett = "set_tdb_s" if "set_tdb_s" in p.columns else None
        if rise and sett:
            # the schedule may name passes by number or as "P00012"
            rises, sets = {}, {}
            for pid, a, b in zip(p.index, p[rise], p[sett]):
                for k in {pid, str(pid)} | ({f"P{int(pid):05d}"} if str(pid).isdigit() else set()):
                    rises[k], sets[k] = float(a), float(b)
            ses["pass_rise_tdb_s"] = [rises.get(i, rises.get(str(i), float("nan"))) for i in ses["pass_id"]]
            ses["pass_set_tdb_s"] = [sets.get(i, sets.get(str(i), float("nan"))) for i in ses["pass_id"]]
    ses["frozen"] = [int(_match_fixed(fixed, o, a, s, e) is not None) for o, a, s, e in
                     zip(ses["orbiter"], ses["asset"], ses["start_tdb_s"], ses["end_tdb_s"])]
    return ses


#: A kept session may differ from the committed one by the rounding of its times (ms).
_FIXED_TOL_S = 2e-3


def _match_fixed(fixed, orbiter, asset, s, e):
    if fixed is None or not len(fixed):
        return None
    m = ((fixed["orbiter"] == orbiter) & (fixed["asset"] == asset)
         & ((fixed["start_tdb_s"].astype(float) - float(s)).abs() <= _FIXED_TOL_S)
         & ((fixed["end_tdb_s"].astype(float) - float(e)).abs() <= _FIXED_TOL_S))
    return int(m.values.argmax()) if m.any() else None


def _json_safe(obj):
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        try:
            return obj.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return str(obj)


def default_out(archive_path: Path) -> Path:
    """``plans.db`` -> ``plans-out/`` beside it (one output directory per archive)."""
    return archive_path.parent / f"{archive_path.stem}-out"


def run_nightly(opts: NightlyOptions, stdout=None, stderr=None) -> int:
    """Run the job once; returns the exit status (0, 1, 2 or 3).  Never raises for a run's failure."""
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    started = _utcnow()
    archive_path = Path(opts.archive).resolve()
    out = Path(opts.out).resolve() if opts.out else default_out(archive_path)
    log_path = Path(opts.log).resolve() if opts.log else out / "nightly.jsonl"

    def say(msg):
        if not opts.quiet:
            print(msg, file=stdout)

    def err(msg):
        print(f"relay nightly: {msg}", file=stderr)

    try:
        log = JsonLog(log_path, os.getpid(), started)
    except OSError as exc:
        err(f"error: cannot open the log file {log_path}: {exc}")
        return 1
    lock = RunLock(archive_path)
    try:
        try:
            lock.acquire(started)
        except LockHeld as exc:
            log.event("refused", reason=str(exc))
            err(f"error: {exc}")
            return 1
        except OSError as exc:
            err(f"error: cannot take the lock {lock.path}: {exc}")
            return 1
        log.event("start", config=str(opts.config), archive=str(archive_path), out=str(out),
                  drop=opts.drop, options={k: v for k, v in asdict(opts).items() if k not in ("now", "quiet")})
        _checkpoint("locked")
        return _run_locked(opts, archive_path, out, log, started, say, err)
    finally:
        lock.release()
        log.close()


def _run_locked(opts, archive_path: Path, out: Path, log: JsonLog, started: str, say, err) -> int:
    from .archive import Archive
    from .config import scenario_hash

    # repair what an interrupted run may have left
    if archive_path.exists():
        try:
            with Archive(archive_path) as arch:
                for note in reconcile_outputs(out, arch):
                    log.event("repair", note=note)
                    say(f"  repaired: {note}")
        except RelayInputError as exc:
            log.event("failed", exit_code=1, error=str(exc))
            err(f"error: {exc}")
            return 1

    # inputs: a bad one is exit 2 and nothing is archived
    prep = None
    try:
        with _Stage(log, "load") as f:
            prep = prepare(opts, archive_path)
            f.update(start=prep.start, end=prep.end, freeze_end=prep.freeze_end,
                     base_run=prep.base["id"] if prep.base else None,
                     fixed=0 if prep.fixed is None else len(prep.fixed),
                     previous=0 if prep.previous is None else len(prep.previous))
            for note in prep.notes:
                log.event("note", note=note)
        run = {"started": started, "plan_start": prep.start, "plan_end": prep.end, "freeze_end": prep.freeze_end,
               "plan_start_tdb_s": prep.t0, "days": opts.days,
               "base_run": prep.base["id"] if prep.base else None,
               "config_path": str(Path(opts.config).resolve()), "config_hash": scenario_hash(prep.scenario),
               "input_hashes": _input_hashes(prep.inputs)}
        with _Stage(log, "plan") as f:
            result = _planner()(prep.scenario, prep.start, **_plan_kwargs(opts, prep))
            timings = _plan_timings(result)
            f.update(status=result.summary.get("status"), sessions=len(result.sessions),
                     solve_time_s=result.summary.get("solve_time_s"))
        for stage in ("geometry", "links", "solve", "validate"):
            if stage in timings:
                log.event("stage", stage=stage, seconds=timings[stage], ok=True, source="planner")
        _checkpoint("planned")
    except RelayInputError as exc:
        log.event("rejected", exit_code=2, error=str(exc))
        err(f"error: {exc}")
        err("nothing archived; the current plan is unchanged")
        return 2
    except Exception as exc:  # noqa: BLE001 - any failure is archived as such
        return _fail(opts, archive_path, log, started, prep, exc, err)

    tmp_dir = None
    try:
        with _Stage(log, "check") as f:
            summary = _json_safe(dict(result.summary))
            status = str(summary.get("status", "")).upper()
            if status in FAILED_STATUSES:
                raise RuntimeError(f"the planner found no plan (solver status {status})")
            reasons = degraded_reasons(summary, prep.base, opts.max_drop_pct)
            exit_code = 3 if reasons else 0
            f.update(exit_code=exit_code, reasons=reasons)
        ses = _session_table(result, prep.t_freeze, prep.fixed)
        frozen_kept = _frozen_check(prep.fixed, ses)
        job = {"plan_start": prep.start, "plan_end": prep.end, "freeze_end": prep.freeze_end, "days": opts.days,
               "freeze_hours": opts.freeze_hours, "base_run": run["base_run"], "config_hash": run["config_hash"],
               "sessions": len(ses), "fixed_sessions": 0 if prep.fixed is None else len(prep.fixed),
               "fixed_sessions_missing": frozen_kept, "previous_sessions":
                   0 if prep.previous is None else len(prep.previous),
               "change_penalty_mbit": opts.change_penalty_mbit, "degraded": reasons,
               "inputs": {k: v for k, v in sorted(run["input_hashes"].items())}}
        if frozen_kept:
            reasons.append(f"{len(frozen_kept)} frozen session(s) of the base plan are missing from the plan")
            exit_code = 3
        intruders = _freeze_intruders(ses, prep) if prep.base is not None else 0
        job["sessions_added_in_freeze"] = intruders
        if intruders:
            reasons.append(f"{intruders} session(s) not in the base plan start inside the freeze horizon "
                           f"(before {prep.freeze_end})")
            exit_code = 3
        summary["nightly"] = job
        run.update(summary=summary, status="ok" if exit_code == 0 else "degraded", exit_code=exit_code)

        with _Stage(log, "write") as f:
            runs_dir = out / "runs"
            runs_dir.mkdir(parents=True, exist_ok=True)
            tmp_dir = runs_dir / f".tmp-{os.getpid()}-{int(time.time() * 1000)}"
            tmp_dir.mkdir()
            files = list(result.write(tmp_dir, reproducible=True))  # no wall-clock figures in the files
            from .outputs.files import write_text

            write_text(tmp_dir / "nightly.json", json.dumps(_json_safe(job), indent=2, sort_keys=True) + "\n")
            _fsync_tree(tmp_dir)
            f.update(files=len(files) + 1)
        _checkpoint("written")

        with _Stage(log, "archive") as f:
            run["finished"] = _utcnow()

            def place(run_id: int):
                final = runs_dir / str(run_id)
                if final.exists():  # left by a run killed between its rename and its commit
                    shutil.rmtree(final)
                os.rename(tmp_dir, final)
                _fsync_dir(runs_dir)
                _checkpoint("renamed")

            with Archive(archive_path) as arch:
                run_id = arch.store_run({**run, "out_dir": str(out)}, ses, result.downlinks, prep.inputs,
                                        in_transaction=place)
                base_ses = arch.sessions(prep.base["id"]) if prep.base else None
            tmp_dir = None
            f.update(run_id=run_id)
        _checkpoint("committed")
        set_current(out, run_id)
        _checkpoint("linked")
    except Exception as exc:  # noqa: BLE001
        if tmp_dir is not None:
            shutil.rmtree(tmp_dir, ignore_errors=True)
        return _fail(opts, archive_path, log, started, prep, exc, err)

    log.event("finished", run_id=run_id, exit_code=exit_code, status=run["status"], reasons=reasons,
              delivered_mbit=summary.get("delivered_mbit"), sessions=len(ses), stages=log.stages)
    _print_summary(say, err, run_id, run, summary, ses, prep, base_ses, reasons, out, log.stages)
    return exit_code


def _plan_timings(result) -> dict:
    """Stage timings the planner reports (``result.timings`` or ``summary['timings_s']``), if any."""
    t = getattr(result, "timings", None)
    if not isinstance(t, dict):
        t = result.summary.get("timings_s") if isinstance(result.summary, dict) else None
    if not isinstance(t, dict):
        return {}
    out = {}
    for k, v in t.items():
        try:
            out[str(k)] = round(float(v), 3)
        except (TypeError, ValueError):
            pass
    return out


def _freeze_intruders(ses, prep) -> int:
    """Sessions of the new plan starting in the freeze horizon that are not frozen ones."""
    st = ses["start_tdb_s"].astype(float)
    inside = (st >= prep.t0 - 1e-3) & (st < prep.t_freeze)
    return int((inside & (ses["frozen"] == 0)).sum())


def _frozen_check(fixed, ses) -> list:
    if fixed is None:
        return []
    return [f"{o} {a} {s}" for o, a, s, t0, t1 in zip(fixed["orbiter"], fixed["asset"], fixed["start"],
                                                       fixed["start_tdb_s"], fixed["end_tdb_s"])
            if _match_fixed(ses, o, a, t0, t1) is None]


def _fail(opts, archive_path: Path, log: JsonLog, started: str, prep, exc: BaseException, err) -> int:
    """Exit 1: archive the run as failed with its error (never current)."""
    from .archive import Archive

    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    message = f"{type(exc).__name__}: {exc}"
    log.event("failed", exit_code=1, error=message, traceback=tb)
    err(f"error: the run failed: {message}")
    run = {"started": started, "finished": _utcnow(), "status": "failed", "exit_code": 1,
           "config_path": str(Path(opts.config).resolve()), "error": tb.strip()}
    inputs = []
    if prep is not None:
        run.update(plan_start=prep.start, plan_end=prep.end, freeze_end=prep.freeze_end,
                   plan_start_tdb_s=prep.t0, days=opts.days, base_run=prep.base["id"] if prep.base else None,
                   input_hashes=_input_hashes(prep.inputs))
        inputs = prep.inputs
    try:
        with Archive(archive_path) as arch:
            run_id = arch.store_run(run, inputs=inputs)
        err(f"archived as failed run {run_id}; the current plan is unchanged")
        log.event("archived", run_id=run_id, status="failed")
    except Exception as exc2:  # noqa: BLE001
        err(f"error: could not archive the failure either: {type(exc2).__name__}: {exc2}")
    return 1


def _print_summary(say, err, run_id, run, summary, ses, prep, base_ses, reasons, out, stages) -> None:
    word = {0: "planned", 3: "planned, DEGRADED"}[run["exit_code"]]
    say(f"relay nightly: run {run_id} {word} (exit {run['exit_code']}): {prep.start} to {prep.end}, "
        f"frozen until {prep.freeze_end}")
    if prep.drop is not None:
        for f in prep.drop.orbit_files:
            say(f"  drop {f.path.name}: {f.orbiter or '-'}: {f.status}")
        if prep.drop.bookings is not None:
            say(f"  drop {prep.drop.bookings.name}: station bookings")
        for p in prep.drop.backlog_files:
            say(f"  drop {p.name}: asset backlogs")
    for note in prep.notes:
        say(f"  note: {note}")
    n_frozen = int(ses["frozen"].sum()) if "frozen" in ses.columns else 0
    delivered = summary.get("delivered_mbit")
    line = f"  {len(ses)} sessions ({n_frozen} frozen, kept from run {prep.base['id']})" if prep.base else \
        f"  {len(ses)} sessions (no earlier plan)"
    if delivered is not None:
        line += f", delivered {float(delivered):.1f} Mbit"
        if prep.base and isinstance(prep.base.get("summary"), dict) and prep.base["summary"].get("delivered_mbit"):
            b = float(prep.base["summary"]["delivered_mbit"])
            line += f" (run {prep.base['id']}: {b:.1f} Mbit, {100 * (float(delivered) - b) / b:+.1f} %)"
    say(line + f", solver {summary.get('status', '?')}")
    by_asset = summary.get("delivered_by_asset") or {}
    if by_asset:
        say("  by asset: " + ", ".join(f"{k} {float(v):.1f} Mbit" for k, v in by_asset.items()))
    if base_ses is not None:
        base_end = float(prep.base["plan_start_tdb_s"]) + 86400.0 * float(prep.base["days"])
        d = diff_sessions(base_ses, ses, prep.t0, min(prep.t1, base_end))
        say(f"  vs run {prep.base['id']}: {len(d['added'])} added, {len(d['removed'])} removed, "
            f"{len(d['moved'])} moved, {d['unchanged']} unchanged")
    for r in reasons:
        say(f"  DEGRADED: {r}")
    say(f"  plan files: {out / 'runs' / str(run_id)}; current -> runs/{run_id}")
    say("  stages: " + ", ".join(f"{k} {v:.1f} s" for k, v in stages.items()))


# ----------------------------------------------------------------------------- history and diff
def history_lines(runs: list[dict], current_id: int | None) -> list[str]:
    """One line per run: id, start time, status and exit code, planning span, sessions, volume."""
    lines = []
    for r in runs:
        s = r.get("summary") if isinstance(r.get("summary"), dict) else {}
        span = f"{r['plan_start']} +{r['days']:g}d" if r.get("plan_start") else "(no span)"
        parts = [f"{r['id']:>4}", r["started"][:19] + "Z", f"{r['status']:<8}", f"exit {r['exit_code']}", span]
        if r["exit_code"] in (0, 3):
            job = s.get("nightly") if isinstance(s.get("nightly"), dict) else {}
            if job.get("sessions") is not None:
                parts.append(f"{job['sessions']} sessions")
            if s.get("delivered_mbit") is not None:
                parts.append(f"{float(s['delivered_mbit']):.1f} Mbit")
            if s.get("status"):
                parts.append(str(s["status"]))
            base = r.get("base_run")
            parts.append(f"base {base}" if base else "base -")
            if job.get("degraded"):
                parts.append("degraded: " + "; ".join(job["degraded"]))
        else:
            first = (r.get("error") or "").strip().splitlines()
            parts.append("error: " + (first[-1] if first else "?"))
        if r["id"] == current_id:
            parts.append("<- current")
        lines.append("  ".join(parts))
    return lines


def _overlap(a0, a1, b0, b1) -> bool:
    return a0 < b1 and b0 < a1


def diff_sessions(a, b, lo: float | None = None, hi: float | None = None) -> dict:
    """Compare the sessions of two plans over ``[lo, hi)`` (TDB s; sessions by their start).

    Identical sessions (orbiter, asset, kind, start, end) are unchanged.  The rest
    are matched, same orbiter, asset and kind, when they lie in overlapping
    passes (the windows of their passes overlap) or overlap each other; pairs
    are taken greedily by the smallest shift of the start.  Matched pairs are
    *moved* (``shift_s`` = new start - old start, ``end_shift_s`` likewise),
    the others *removed* (old plan only) or *added* (new plan only).
    """
    import pandas as pd

    def window(df):
        st = df["start_tdb_s"].astype(float)
        keep = pd.Series(True, index=df.index)
        if lo is not None:
            keep &= st >= lo - 1e-3
        if hi is not None:
            keep &= st < hi - 1e-3
        return df[keep].reset_index(drop=True), int((~keep).sum())

    a, out_a = window(a)
    b, out_b = window(b)
    kind_a = a["kind"].fillna("") if "kind" in a.columns else pd.Series([""] * len(a))
    kind_b = b["kind"].fillna("") if "kind" in b.columns else pd.Series([""] * len(b))
    key_a = list(zip(a["orbiter"], a["asset"], kind_a, a["start"], a["end"]))
    key_b = list(zip(b["orbiter"], b["asset"], kind_b, b["start"], b["end"]))
    free_b: dict[tuple, list[int]] = {}
    for j, k in enumerate(key_b):
        free_b.setdefault(k, []).append(j)
    used_a, used_b = set(), set()
    unchanged = 0
    for i, k in enumerate(key_a):
        if free_b.get(k):
            j = free_b[k].pop(0)
            used_a.add(i)
            used_b.add(j)
            unchanged += 1
    rest_a = [i for i in range(len(a)) if i not in used_a]
    rest_b = [j for j in range(len(b)) if j not in used_b]

    def col(df, name, i):
        return float(df[name].iloc[i]) if name in df.columns and pd.notna(df[name].iloc[i]) else None

    pairs = []
    for i in rest_a:
        for j in rest_b:
            if key_a[i][:3] != key_b[j][:3]:
                continue
            sa0, sa1 = col(a, "start_tdb_s", i), col(a, "end_tdb_s", i)
            sb0, sb1 = col(b, "start_tdb_s", j), col(b, "end_tdb_s", j)
            pa = (col(a, "pass_rise_tdb_s", i), col(a, "pass_set_tdb_s", i))
            pb = (col(b, "pass_rise_tdb_s", j), col(b, "pass_set_tdb_s", j))
            same_pass = None not in pa + pb and _overlap(pa[0], pa[1], pb[0], pb[1])
            if same_pass or _overlap(sa0, sa1, sb0, sb1):
                pairs.append((abs(sb0 - sa0), i, j))
    pairs.sort()
    moved = []
    for _, i, j in pairs:
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        if (abs(col(b, "start_tdb_s", j) - col(a, "start_tdb_s", i)) <= _FIXED_TOL_S
                and abs(col(b, "end_tdb_s", j) - col(a, "end_tdb_s", i)) <= _FIXED_TOL_S):
            unchanged += 1  # the same session: pass times recomputed agree to the refinement's 1 ms
            continue
        moved.append({
            "orbiter": a["orbiter"].iloc[i], "asset": a["asset"].iloc[i], "kind": key_a[i][2],
            "start_before": a["start"].iloc[i], "end_before": a["end"].iloc[i],
            "start_after": b["start"].iloc[j], "end_after": b["end"].iloc[j],
            "shift_s": round(col(b, "start_tdb_s", j) - col(a, "start_tdb_s", i), 3),
            "end_shift_s": round(col(b, "end_tdb_s", j) - col(a, "end_tdb_s", i), 3),
            "volume_before_mbit": col(a, "volume_mbit", i), "volume_after_mbit": col(b, "volume_mbit", j),
        })
    moved.sort(key=lambda r: (r["start_before"], r["orbiter"], r["asset"]))

    def rows(df, idx, when):
        return [{"orbiter": df["orbiter"].iloc[i], "asset": df["asset"].iloc[i],
                 "kind": (df["kind"].iloc[i] if "kind" in df.columns else "") or "",
                 f"start_{when}": df["start"].iloc[i], f"end_{when}": df["end"].iloc[i],
                 f"volume_{when}_mbit": col(df, "volume_mbit", i)} for i in idx]

    removed = rows(a, [i for i in range(len(a)) if i not in used_a], "before")
    added = rows(b, [j for j in range(len(b)) if j not in used_b], "after")

    def volumes(df):
        sel = df if "kind" not in df.columns else df[df["kind"].fillna("return") != "forward"]
        return sel.groupby("asset")["volume_mbit"].sum().to_dict() if len(sel) else {}

    va, vb = volumes(a), volumes(b)
    per_asset = [{"asset": k, "volume_before_mbit": round(float(va.get(k, 0.0)), 3),
                  "volume_after_mbit": round(float(vb.get(k, 0.0)), 3),
                  "change_mbit": round(float(vb.get(k, 0.0)) - float(va.get(k, 0.0)), 3)}
                 for k in sorted(set(va) | set(vb))]
    return {"unchanged": unchanged, "added": added, "removed": removed, "moved": moved,
            "volume_by_asset": per_asset, "outside_before": out_a, "outside_after": out_b}


def diff_runs(archive, run_a: int | None = None, run_b: int | None = None) -> dict:
    """Diff two archived runs (default: the last two good runs) over their common span."""
    from .timescales import tdb_s_to_iso

    if run_a is None or run_b is None:
        good = archive.good_runs()
        if len(good) < 2:
            raise RelayInputError(f"has {len(good)} planned run(s); a diff needs two (or name RUN_A RUN_B)",
                                  source=str(archive.path))
        ra, rb = good[-2], good[-1]
    else:
        ra, rb = archive.run(run_a), archive.run(run_b)
    for r in (ra, rb):
        if r["exit_code"] not in (0, 3):
            raise RelayInputError(f"run {r['id']} failed (exit {r['exit_code']}) and has no plan to compare",
                                  source=str(archive.path))
    a, b = archive.sessions(ra["id"]), archive.sessions(rb["id"])
    lo = max(float(ra["plan_start_tdb_s"]), float(rb["plan_start_tdb_s"]))
    hi = min(float(ra["plan_start_tdb_s"]) + 86400.0 * float(ra["days"]),
             float(rb["plan_start_tdb_s"]) + 86400.0 * float(rb["days"]))
    d = diff_sessions(a, b, lo, hi)
    d.update(run_before=ra["id"], run_after=rb["id"], span_start=tdb_s_to_iso(lo), span_end=tdb_s_to_iso(hi))
    sa = ra.get("summary") if isinstance(ra.get("summary"), dict) else {}
    sb = rb.get("summary") if isinstance(rb.get("summary"), dict) else {}
    d["delivered_before_mbit"] = sa.get("delivered_mbit")
    d["delivered_after_mbit"] = sb.get("delivered_mbit")
    return d


DIFF_CSV_COLUMNS = ["change", "orbiter", "asset", "kind", "start_before", "end_before", "start_after",
                    "end_after", "shift_s", "end_shift_s", "volume_before_mbit", "volume_after_mbit"]


def diff_table(d: dict):
    """The diff as one table: a row per added/removed/moved session, then one per asset
    (``change = asset_volume``, the asset's volume over the common span before and after)."""
    import pandas as pd

    rows = []
    for kind in ("removed", "added", "moved"):
        for r in d[kind]:
            rows.append({"change": kind, **r})
    rows.sort(key=lambda r: (r.get("start_before") or r.get("start_after"), r["orbiter"], r["asset"],
                             r["change"]))
    for r in d["volume_by_asset"]:
        rows.append({"change": "asset_volume", "asset": r["asset"], "volume_before_mbit": r["volume_before_mbit"],
                     "volume_after_mbit": r["volume_after_mbit"]})
    return pd.DataFrame(rows, columns=DIFF_CSV_COLUMNS)


def diff_text(d: dict) -> str:
    lines = [f"run {d['run_before']} -> run {d['run_after']}, common span {d['span_start']} to {d['span_end']}: "
             f"{len(d['added'])} added, {len(d['removed'])} removed, {len(d['moved'])} moved, "
             f"{d['unchanged']} unchanged"]
    if d["outside_before"] or d["outside_after"]:
        lines.append(f"  (outside the common span: {d['outside_before']} session(s) of run {d['run_before']}, "
                     f"{d['outside_after']} of run {d['run_after']})")
    for r in d["removed"]:
        lines.append(f"  - removed {r['orbiter']} -> {r['asset']} {r['start_before']} to {r['end_before']}")
    for r in d["added"]:
        lines.append(f"  + added   {r['orbiter']} -> {r['asset']} {r['start_after']} to {r['end_after']}")
    for r in d["moved"]:
        lines.append(f"  ~ moved   {r['orbiter']} -> {r['asset']} {r['start_before']} -> {r['start_after']} "
                     f"(start {r['shift_s']:+.3f} s, end {r['end_shift_s']:+.3f} s)")
    lines.append("  volume by asset over the common span (Mbit, before -> after):")
    for r in d["volume_by_asset"]:
        lines.append(f"    {r['asset']}: {r['volume_before_mbit']:.1f} -> {r['volume_after_mbit']:.1f} "
                     f"({r['change_mbit']:+.1f})")
    if d.get("delivered_before_mbit") is not None and d.get("delivered_after_mbit") is not None:
        lines.append(f"  whole plans: {float(d['delivered_before_mbit']):.1f} -> "
                     f"{float(d['delivered_after_mbit']):.1f} Mbit delivered")
    return "\n".join(lines)
