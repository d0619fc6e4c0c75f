"""Run safety of the nightly job: the lock, the JSON log, durable writes and repairs.

* :class:`RunLock`: one run at a time per archive (``fcntl.flock``; the kernel
  drops it when the holder exits or is killed, so it is never stuck).
* :class:`JsonLog`: one JSON line per event, appended and flushed.
* :func:`fsync_tree`, :func:`set_current`: a run's files reach the disk before
  the archive commits them; ``OUT/current`` is switched by renaming a fresh
  symlink over it.
* :func:`reconcile_outputs`: what a killed run may have left (temporary
  directories, a run directory never committed, a ``current`` that lags the
  archive or is not a symlink at all) is repaired by the next run.
* :func:`claim_out`: an output directory belongs to one archive (its marker
  file :data:`OWNER_FILE` names it); another archive pointing at it is
  refused, so that neither overwrites nor "repairs" the other's runs.
* :func:`checkpoint`: the steps of a run after which a crash leaves a
  different state on disk (``locked``, ``planned``, ``written``, ``renamed``,
  ``committed``).  A no-op; the crash tests replace it to SIGKILL the job at
  each step and check that the archive and ``current`` stay consistent.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import time
from datetime import datetime, timezone
from pathlib import Path

from ..archive import Archive
from ..errors import RelayInputError
from ..fileio import fsync_dir, write_text
from ..timescales import iso_z

#: the file in OUT naming the archive whose runs OUT holds (its resolved path, one line)
OWNER_FILE = ".relay-archive"


def checkpoint(step: str) -> None:
    """Called after each step of a run whose interruption leaves a distinct state (see above)."""


def utcnow() -> str:
    return iso_z(datetime.now(timezone.utc))


# ----------------------------------------------------------------------------- lock
class LockHeld(Exception):
    """Another run holds the archive's lock."""


class RunLock:
    """An exclusive ``fcntl.flock`` on ``<archive>.lock``.  The holder writes its PID,
    host and start time into the file for the message of a refused run."""

    def __init__(self, archive: Path):
        self.path = Path(str(archive) + ".lock")
        self.fd: int | None = None

    def acquire(self, started: str) -> None:
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                holder = os.read(fd, 4096).decode("utf-8", "replace").strip()
            finally:
                os.close(fd)
            raise LockHeld(f"another nightly run holds the lock {self.path} ({_holder_text(holder)}); "
                           "exiting without planning (the lock is released when that run ends or is "
                           "killed)") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": started})
                  .encode() + b"\n", 0)
        self.fd = fd

    def release(self) -> None:
        import fcntl

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


# ----------------------------------------------------------------------------- log
class JsonLog:
    """JSON lines, one event per line (``stage`` events carry ``seconds``), appended and flushed."""

    def __init__(self, path: Path | None, pid: int, started: str):
        self.path = path
        self.fh = None
        self.base = {"pid": pid, "run_started": started}
        self.stages: dict[str, float] = {}
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.fh = open(path, "a", encoding="utf-8")

    def event(self, event: str, **fields) -> None:
        if event == "stage" and "seconds" in fields:
            self.stages[fields["stage"]] = fields["seconds"]
        if self.fh is None:
            return
        rec = {"time": utcnow(), "event": event, **self.base, **fields}
        self.fh.write(json.dumps(rec, sort_keys=False, default=str) + "\n")
        self.fh.flush()

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None


class Stage:
    """``with Stage(log, "plan") as fields:`` logs the stage with its duration and ``fields``."""

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
            self.log.event("stage", stage=self.name, seconds=secs, ok=False, error=f"{et.__name__}: {ev}",
                           **self.fields)
        return False


# ----------------------------------------------------------------------------- durable files
def fsync_tree(path: Path) -> None:
    for p in sorted(path.rglob("*")):
        if p.is_file():
            with open(p, "rb") as fh:
                os.fsync(fh.fileno())
    fsync_dir(path)


def set_current(out: Path, run_id: int | None) -> None:
    """Point ``<out>/current`` at ``runs/<run_id>`` (a temp symlink renamed over it)."""
    if run_id is None:
        return
    link = out / "current"
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
    _current_not_a_link(out)  # os.replace cannot put a link over a directory
    os.replace(tmp, link)
    fsync_dir(out)


def _current_not_a_link(out: Path) -> str | None:
    """Move a ``current`` that is not a symlink (a restore that followed links) aside."""
    link = out / "current"
    try:
        st = os.lstat(link)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(st.st_mode):
        return None
    aside = out / f"current.replaced-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%SZ')}"
    os.rename(link, aside)
    kind = "directory" if stat.S_ISDIR(st.st_mode) else "file"
    return f"{link} was a {kind}, not a link (a restore that followed links?); moved it to {aside.name}"


def claim_out(out: Path, archive_path: Path) -> None:
    """Make ``out`` the output directory of ``archive_path`` (writing :data:`OWNER_FILE`), or
    refuse, writing nothing, when it belongs to another archive: its marker names another one or,
    written before the marker, it holds run directories none of the archive's runs wrote."""
    marker = out / OWNER_FILE
    try:
        owner = marker.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        owner = None
    except (OSError, UnicodeDecodeError) as exc:
        raise RelayInputError(f"cannot read {marker}: {exc}", source="command line", where="--out") from None
    mine = str(archive_path)
    if owner is None:
        _check_unmarked(out, archive_path)
        try:
            out.mkdir(parents=True, exist_ok=True)
            write_text(marker, mine + "\n")
        except OSError as exc:
            raise RelayInputError(f"cannot write {marker}: {exc.strerror or exc}", source="command line",
                                  where="--out") from None
    elif owner != mine:
        raise RelayInputError(f"{out} holds the plan files of the archive {owner} (as {marker} says), not of "
                              f"{mine}; give each archive its own output directory (or, if that archive was "
                              f"moved to {mine}, delete {marker})", source="command line", where="--out")


def _check_unmarked(out: Path, archive_path: Path) -> None:
    """An output directory without a marker (a fresh one, or one of an older relay) whose run
    directories this archive did not write is another archive's."""
    runs_dir = out / "runs"
    ids = sorted(p.name for p in runs_dir.iterdir() if p.name.isdigit()) if runs_dir.is_dir() else []
    if not ids:
        return
    known = []
    if archive_path.exists():
        with Archive.open_existing(archive_path) as arch:
            known = [r.get("out_dir") for r in arch.runs()]
    if not any(d and Path(d).resolve() == out for d in known):
        raise RelayInputError(f"{out} holds plan files of runs ({', '.join(ids[:5])}"
                              f"{', ...' if len(ids) > 5 else ''}) that the archive {archive_path} did not "
                              "write; give each archive its own output directory", source="command line",
                              where="--out")


def reconcile_outputs(out: Path, archive) -> list[str]:
    """Repair what a killed run may have left; returns notes of what was repaired."""
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
    if out.is_dir():
        moved = _current_not_a_link(out)
        if moved:
            notes.append(moved)
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
