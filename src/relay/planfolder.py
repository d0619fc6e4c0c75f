"""A plan folder: the files ``relay plan``, ``relay solve`` and ``relay replan`` write, as one unit.

The folder holds the plan's tables (schedule.csv, downlinks.csv, passes.csv,
store.csv, sols.csv, requests.csv, and a re-plan's diff.csv), its summary
(summary.json), its report (report.html), the solver's instance (problem.json),
what re-planning needs beside it (volumes.npz, :mod:`relay.planstate`), and,
written last, manifest.json: every other file with its sha256
digest and size, the scenario's name and hash, the span and relay's version.

:func:`write_plan_folder` writes a new folder beside the old one and swaps it
in (on Linux one atomic exchange of the two folders), so a reader finds the
old plan or the complete new one, never a mix; leftovers of an interrupted
write are removed by the next.  :func:`verify_plan_folder` refuses a folder
whose files do not match its manifest (missing, extra or changed), or that has
none (written by an older relay).  Every file is read with the rules of
:mod:`relay.fileio` (regular files of bounded size; volumes.npz as
:mod:`relay.planstate` says).
:func:`load_plan_dir` reads ``(problem, plan)`` back for ``relay validate``;
:func:`read_plan_folder` everything re-planning needs.  A missing or broken
file is a :class:`~relay.errors.RelayInputError` naming it.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__
from .errors import RelayInputError
from .fileio import fsync_dir, process_alive, read_text, regular_file, write_text
from .inputs import read_csv_table
from .planning.plan import Downlink, Plan, Session
from .planning.problem import Problem
from .planstate import STATE_FILE, ReplanState
from .summary import PlanSummary

#: the files a plan directory holds, in the order written (diff.csv: a re-plan's only); manifest.json last
PLAN_FILES = ("schedule.csv", "downlinks.csv", "passes.csv", "store.csv", "sols.csv", "requests.csv", "diff.csv",
              "summary.json", "report.html", "problem.json", "volumes.npz")
#: the file listing every other one with its digest, written last
MANIFEST_FILE = "manifest.json"
#: the diff of a re-plan against the plan it started from
DIFF_FILE = "diff.csv"
MANIFEST_SCHEMA = "relay.plan_manifest"
MANIFEST_VERSION = 1
#: what a refusal tells the user to do
FROM_SCRATCH = "re-plan from scratch (relay plan CONFIG --out FOLDER) to get a whole plan folder"
#: the largest summary.json and manifest.json read
MAX_SUMMARY_BYTES = 64 << 20
MAX_MANIFEST_BYTES = 1 << 20
#: the largest file a manifest may list
MAX_PLAN_FILE_BYTES = 4 << 30
_RENAME_EXCHANGE = 2        # renameat2's flag (Linux >= 3.15)
_AT_FDCWD = -100


# ----------------------------------------------------------------------------- the manifest

def manifest_of(contents: dict[str, bytes], summary: PlanSummary | None) -> dict:
    """manifest.json of a plan folder holding ``contents`` (name -> bytes)."""
    s = summary
    return {"schema": MANIFEST_SCHEMA, "version": MANIFEST_VERSION, "relay_version": __version__,
            "scenario": s.scenario if s else None, "scenario_hash": s.scenario_hash if s else None,
            "start": s.start if s else None, "end": s.end if s else None, "days": s.days if s else None,
            "files": {name: {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
                      for name, data in contents.items()}}


def _bad_manifest(path: Path, why: str) -> RelayInputError:
    return RelayInputError(f"is not the manifest.json relay writes ({why}); {FROM_SCRATCH}", source=str(path))


def read_manifest(plan_dir) -> dict:
    """The manifest of a plan folder, its form checked; a folder without one was written by an
    older relay (or not to the end) and is refused."""
    out = Path(plan_dir)
    path = out / MANIFEST_FILE
    if not os.path.lexists(path):
        raise RelayInputError(f"has no {MANIFEST_FILE}: it was written by an older relay, before plan folders "
                              f"carried one, or its writing did not finish; {FROM_SCRATCH}", source=str(out))
    try:
        data = json.loads(read_text(path, "plan manifest (manifest.json)", MAX_MANIFEST_BYTES))
    except json.JSONDecodeError as exc:
        raise _bad_manifest(path, f"not valid JSON: {exc.msg}, line {exc.lineno}") from None
    if not isinstance(data, dict) or data.get("schema") != MANIFEST_SCHEMA:
        raise _bad_manifest(path, f"not a {MANIFEST_SCHEMA} object")
    if data.get("version") != MANIFEST_VERSION:
        raise _bad_manifest(path, f"version {data.get('version')!r}; this relay reads version {MANIFEST_VERSION}")
    files = data.get("files")
    if not isinstance(files, dict):
        raise _bad_manifest(path, "no files object")
    for name, entry in files.items():
        if name not in PLAN_FILES:
            raise _bad_manifest(path, f"lists {name!r}, which is not a file of a plan")
        if not (isinstance(entry, dict) and isinstance(entry.get("sha256"), str)
                and re.fullmatch(r"[0-9a-f]{64}", entry["sha256"]) and type(entry.get("bytes")) is int
                and 0 <= entry["bytes"] <= MAX_PLAN_FILE_BYTES):
            raise _bad_manifest(path, f"the entry of {name} is not a sha256 digest and a size")
    return data


def file_digest(path: Path, size: int) -> str | None:
    """The sha256 digest of the regular file ``path`` when it holds ``size`` bytes, None when it
    holds another number (read in blocks, never more than ``size`` bytes)."""
    p = regular_file(path, f"plan file ({path.name})", MAX_PLAN_FILE_BYTES)
    if p.stat().st_size != size:
        return None
    h = hashlib.sha256()
    left = size + 1
    with open(p, "rb") as fh:
        while left > 0 and (block := fh.read(min(left, 1 << 20))):
            h.update(block)
            left -= len(block)
    return h.hexdigest() if left == 1 else None


def manifest_mismatches(plan_dir, manifest: dict) -> list[tuple[str, str]]:
    """(file name, what is wrong) of every file of the plan that does not match ``manifest``:
    a listed file missing or changed, a plan file present that it does not list."""
    out = Path(plan_dir)
    wrong = []
    for name, want in manifest["files"].items():
        if not os.path.lexists(out / name):
            wrong.append((name, f"{name} is missing though {MANIFEST_FILE} lists it"))
        elif file_digest(out / name, want["bytes"]) != want["sha256"]:
            wrong.append((name, f"{name} differs from the file {MANIFEST_FILE} lists (its size or sha256 digest)"))
    for name in PLAN_FILES:
        if name not in manifest["files"] and os.path.lexists(out / name):
            wrong.append((name, f"{name} is not listed in {MANIFEST_FILE}"))
    return wrong


def verify_plan_folder(plan_dir) -> dict:
    """The manifest of a plan folder whose files all match it; otherwise a RelayInputError naming
    the first file that does not (a folder mixed by an interrupted write, or edited by hand) and
    saying how to re-plan from scratch.  For every reader of a plan folder (relay replan, relay
    validate, the nightly job's base plan)."""
    out = Path(plan_dir)
    manifest = read_manifest(out)
    wrong = manifest_mismatches(out, manifest)
    if wrong:
        name, why = wrong[0]
        more = f" (and {len(wrong) - 1} other file(s): {', '.join(n for n, _ in wrong[1:])})" if len(wrong) > 1 else ""
        raise RelayInputError(f"{why}{more}, so the folder is not one whole plan (a write was interrupted or a file "
                              f"was changed by hand); {FROM_SCRATCH}", source=str(out / name))
    return manifest


# ----------------------------------------------------------------------------- writing, as a whole

def _write_file(path: Path, data: bytes) -> None:
    with open(path, "xb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def target_folder(out_dir) -> Path:
    """The folder a plan is written to: ``out_dir`` made absolute, a link followed to its folder
    (the link stays; the folder it names is replaced)."""
    out = Path(os.path.abspath(out_dir))
    return out.resolve() if out.is_symlink() else out


def check_replaceable(out_dir) -> None:
    """A RelayInputError unless ``out_dir`` is absent, an empty folder or a plan folder: a plan is
    written as a whole, replacing the folder, so a folder holding anything else is refused."""
    out = target_folder(out_dir)
    if not out.is_dir():
        return
    known = set(PLAN_FILES) | {MANIFEST_FILE}
    for entry in sorted(os.scandir(out), key=lambda e: e.name):
        if entry.name not in known or entry.is_dir(follow_symlinks=False):
            raise RelayInputError(f"holds {entry.name}, which is not a file of a plan; relay replaces a plan folder "
                                  "as a whole, so expected a new folder, an empty one or a plan folder",
                                  source=str(out))


def _leftover_pid(name: str, out: Path) -> int | None:
    m = re.fullmatch(re.escape(out.name) + r"\.(?:tmp|old)-(\d+)", name)
    return int(m.group(1)) if m else None


def remove_leftovers(out: Path) -> None:
    """Remove the ``OUT.tmp-PID`` and ``OUT.old-PID`` folders of writes of ``out`` that were
    interrupted (their process is gone, or it is this one)."""
    if not out.parent.is_dir():
        return
    for entry in os.scandir(out.parent):
        pid = _leftover_pid(entry.name, out)
        if pid is not None and entry.is_dir(follow_symlinks=False) and (pid == os.getpid() or not process_alive(pid)):
            shutil.rmtree(entry.path, ignore_errors=True)


@lru_cache(maxsize=1)
def _renameat2():
    import ctypes  # only where a plan is written

    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn, ctypes.get_errno


def exchange(a: Path, b: Path) -> bool:
    """Swap the folders ``a`` and ``b`` in one atomic step (Linux renameat2 RENAME_EXCHANGE);
    False where the system or the file system cannot."""
    found = _renameat2()
    if found is None:
        return False
    fn, get_errno = found
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def swap_in(new: Path, out: Path) -> None:
    """Put the complete folder ``new`` in the place of ``out``: renamed when ``out`` is absent,
    exchanged with it in one step where the system can (``new`` then holds the old folder), else
    the old renamed aside and removed once the new one is in."""
    if not os.path.lexists(out):
        os.rename(new, out)
    elif not exchange(new, out):
        aside = out.parent / f"{out.name}.old-{os.getpid()}"
        os.rename(out, aside)
        os.rename(new, out)
        shutil.rmtree(aside, ignore_errors=True)
    fsync_dir(out.parent)


def write_plan_folder(out_dir, texts: dict[str, str | bytes], summary: PlanSummary | None = None) -> list[Path]:
    """Write the rendered files of a plan (name -> text, or bytes for volumes.npz) as the folder
    ``out_dir``, whole: into ``OUT.tmp-PID`` beside it, each file flushed to disk, manifest.json
    last, then swapped in for the old folder (:func:`swap_in`).  The paths written."""
    out = target_folder(out_dir)
    contents = {name: (t if isinstance(t, bytes) else t.encode("utf-8"))
                for name in PLAN_FILES if (t := texts.get(name)) is not None}
    manifest = json.dumps(manifest_of(contents, summary), indent=1, sort_keys=True) + "\n"
    check_replaceable(out)
    remove_leftovers(out)
    tmp = out.parent / f"{out.name}.tmp-{os.getpid()}"
    tmp.mkdir(parents=True)
    try:
        for name, data in contents.items():
            _write_file(tmp / name, data)
        _write_file(tmp / MANIFEST_FILE, manifest.encode("utf-8"))
        fsync_dir(tmp)
        swap_in(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)   # after an exchange: the old folder
    return [Path(out_dir) / name for name in (*contents, MANIFEST_FILE)]


# ----------------------------------------------------------------------------- reading

def read_summary(path) -> PlanSummary:
    """The :class:`~relay.summary.PlanSummary` of a summary.json file."""
    p = Path(path)
    text = read_text(p, "plan summary (summary.json)", MAX_SUMMARY_BYTES)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RelayInputError(f"not valid JSON: {exc.msg} (line {exc.lineno})", source=str(p)) from None
    if not isinstance(data, dict):
        raise RelayInputError("is not a JSON object (expected the summary.json relay plan writes)", source=str(p))
    try:
        return PlanSummary.from_json(data)
    except (TypeError, ValueError) as exc:
        raise RelayInputError(f"is not a relay plan summary ({exc})", source=str(p)) from None


def _number(v, path, line, col) -> float:
    try:
        x = float(v)
    except ValueError:
        x = float("nan")
    if not np.isfinite(x):
        raise RelayInputError(f"{col} {v!r} is not a number", source=str(path), where=f"line {line}")
    return x


def read_table(out: Path, name: str, cols: list[str]) -> tuple[pd.DataFrame, Path]:
    """A table of the plan folder ``out`` (all cells as text) with at least ``cols``, and its path."""
    return read_csv_table(out / name, cols, "the columns relay plan writes", name)[0], out / name


def read_sessions(out: Path) -> list[Session]:
    """The sessions of a plan folder's schedule.csv."""
    ses, sp = read_table(out, "schedule.csv", ["orbiter", "asset", "volume_mbit", "kind", "pass_id", "option_id",
                                               "start_tdb_s", "end_tdb_s"])
    sessions = []
    for i, r in enumerate(ses.itertuples(index=False), start=2):
        sessions.append(Session(option_id=r.option_id, pass_id=r.pass_id, orbiter=r.orbiter, asset=r.asset,
                                start_tdb_s=_number(r.start_tdb_s, sp, i, "start_tdb_s"),
                                end_tdb_s=_number(r.end_tdb_s, sp, i, "end_tdb_s"),
                                volume_mbit=_number(r.volume_mbit, sp, i, "volume_mbit"), kind=r.kind,
                                fixed=str(getattr(r, "fixed", "False")).lower() in ("true", "1")))
    return sessions


def read_downlinks(out: Path) -> list[Downlink]:
    """The downlinks of a plan folder's downlinks.csv, one per data owner of each chunk."""
    dl, dp = read_table(out, "downlinks.csv", ["orbiter", "station", "assets", "window_id", "chunk_id",
                                               "start_tdb_s", "end_tdb_s"])
    downlinks = []
    for i, r in enumerate(dl.itertuples(index=False), start=2):
        for part in filter(None, str(r.assets).split(";")):
            asset, _, vol = part.rpartition("=")
            if not asset:
                raise RelayInputError(f"assets {r.assets!r} is not a list of asset=Mbit separated by ';'",
                                      source=str(dp), where=f"line {i}")
            downlinks.append(Downlink(chunk_id=r.chunk_id, window_id=r.window_id, orbiter=r.orbiter,
                                      station=r.station, asset=asset,
                                      start_tdb_s=_number(r.start_tdb_s, dp, i, "start_tdb_s"),
                                      end_tdb_s=_number(r.end_tdb_s, dp, i, "end_tdb_s"),
                                      volume_mbit=_number(vol, dp, i, "assets")))
    return downlinks


def check_plan_dir(out: Path) -> None:
    """A RelayInputError unless ``out`` is a folder holding a problem.json."""
    if not out.is_dir():
        raise RelayInputError("is not a plan directory (expected the --out folder of relay plan)", source=str(out))
    if not os.path.lexists(out / "problem.json"):
        raise RelayInputError("has no problem.json: validate needs the instance the plan was made for "
                              "(relay plan and relay solve write it beside the plan)", source=str(out))


def _identity(out: Path) -> tuple[int, int]:
    st = os.stat(out)
    return st.st_dev, st.st_ino


def replaced(out: Path) -> RelayInputError:
    """The error of a folder another run swapped while it was being read."""
    return RelayInputError("was replaced by another relay run while being read; run the command again",
                           source=str(out))


@dataclass(frozen=True)
class PlanFiles:
    """What a plan folder holds as data: the instance, the sessions and downlinks, the summary
    (None when the folder has no summary.json) and the manifest's disagreements (see
    :func:`manifest_mismatches`; empty when asked to verify, which refuses any)."""

    problem: Problem
    sessions: list
    downlinks: list
    summary: PlanSummary | None
    mismatches: tuple = ()

    @property
    def plan(self) -> Plan:
        if self.summary is None:
            return Plan(self.sessions, self.downlinks)
        return Plan(self.sessions, self.downlinks, report=self.summary.solve, figures=self.summary.figures)


def read_plan_files(plan_dir, *, verify: bool = True) -> PlanFiles:
    """The instance, sessions, downlinks and summary of a plan folder, its files checked against
    its manifest first: any disagreement refused (``verify``), or returned in ``mismatches`` for
    ``relay validate`` to list.  A folder replaced by another run while being read is refused."""
    out = Path(plan_dir)
    check_plan_dir(out)
    before = _identity(out)
    if verify:
        verify_plan_folder(out)
        wrong = ()
    else:
        wrong = tuple(manifest_mismatches(out, read_manifest(out)))
    problem = Problem.from_json(out / "problem.json")
    sessions, downlinks = read_sessions(out), read_downlinks(out)
    summary = read_summary(out / "summary.json") if os.path.lexists(out / "summary.json") else None
    if _identity(out) != before:
        raise replaced(out)
    return PlanFiles(problem, sessions, downlinks, summary, wrong)


def load_plan_dir(out_dir) -> tuple[Problem, Plan]:
    """``(problem, plan)`` of a plan directory written by :meth:`relay.result.PlanResult.write`
    (problem.json, schedule.csv, downlinks.csv, summary.json when present; checked against its
    manifest), for :func:`relay.planning.validate.validate`."""
    f = read_plan_files(out_dir)
    return f.problem, f.plan


def load_plan(out_dir) -> tuple[Problem, Plan]:
    """``(problem, plan)`` of a written plan directory (see :func:`load_plan_dir`)."""
    return load_plan_dir(out_dir)


@dataclass(frozen=True)
class PlanFolder:
    """What re-planning reads of a plan folder: the instance, the solver plan, the summary and
    the :class:`ReplanState`."""

    problem: Problem
    plan: Plan
    summary: PlanSummary
    state: ReplanState


def check_state(state: ReplanState, problem: Problem, path) -> None:
    """A RelayInputError naming ``path`` unless ``state``'s passes are the instance's."""
    table, numbers = state.volume_table, state.volumes.numbers
    known = dict(zip((int(i) for i in table.pass_ids), zip(table.rise_tdb_s, table.set_tdb_s)))
    for p in problem.passes:
        got = known.get(numbers.get(str(p.pass_id), -1))
        if got is None or abs(got[0] - p.rise_tdb_s) > 1e-3 or abs(got[1] - p.set_tdb_s) > 1e-3:
            raise RelayInputError(f"does not belong to problem.json beside it (pass {p.pass_id} differs); expected "
                                  "the link volumes of the same plan", source=str(path))


def read_plan_folder(plan_dir) -> PlanFolder:
    """A plan folder as far as re-planning needs it, checked against its manifest: its instance
    (problem.json), its sessions and downlinks, summary (summary.json) and state (volumes.npz,
    checked to belong to the instance)."""
    out = Path(plan_dir)
    f = read_plan_files(out)
    before = _identity(out)
    if not os.path.lexists(out / STATE_FILE):
        raise RelayInputError(f"has no {STATE_FILE}: relay replan needs the link volumes saved beside problem.json "
                              "(relay plan writes them; re-run relay plan with this version of relay)",
                              source=str(out))
    state = ReplanState.read(out / STATE_FILE)
    check_state(state, f.problem, out / STATE_FILE)
    if _identity(out) != before:
        raise replaced(out)
    if f.summary is None:
        raise RelayInputError("has no summary.json (expected the folder relay plan writes)", source=str(out))
    return PlanFolder(f.problem, f.plan, f.summary, state)


def _identity(path: Path) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_dev, st.st_ino


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def replace_plan_files(plan_dir, texts: dict[str, str]) -> Path:
    """The verified plan folder ``plan_dir`` with the plan files ``texts`` (name -> text)
    replaced and manifest.json updated to list them, swapped in whole: written beside it as
    ``OUT.tmp-PID`` (every other file hard-linked, or copied where the file system cannot link),
    then exchanged in one step (:func:`swap_in`); every other file (reports included) kept as it
    is.  The folder's path.  Used to put the "Predicted vs achieved" section in report.html."""
    out = target_folder(plan_dir)
    manifest = verify_plan_folder(out)
    before = _identity(out)
    unknown = sorted(set(texts) - set(PLAN_FILES))
    if unknown:
        raise ValueError(f"not files of a plan: {unknown}")
    remove_leftovers(out)
    tmp = out.parent / f"{out.name}.tmp-{os.getpid()}"
    try:
        shutil.copytree(out, tmp, symlinks=True, copy_function=_link_or_copy,
                        ignore=lambda d, names: [n for n in names
                                                 if Path(d) == out and (n in texts or n == MANIFEST_FILE)])
        for name, text in texts.items():
            data = text.encode("utf-8")
            write_text(tmp / name, text)
            manifest["files"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
        write_text(tmp / MANIFEST_FILE, json.dumps(manifest, indent=1, sort_keys=True) + "\n")
        fsync_dir(tmp)
        if _identity(out) != before:
            raise replaced(out)
        swap_in(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)   # after an exchange: the old folder
    return out


__all__ = ["PLAN_FILES", "MANIFEST_FILE", "DIFF_FILE", "FROM_SCRATCH", "manifest_of", "read_manifest", "file_digest",
           "manifest_mismatches", "verify_plan_folder", "target_folder", "check_replaceable", "remove_leftovers",
           "exchange", "swap_in", "write_plan_folder", "read_summary", "read_table", "read_sessions", "read_downlinks",
           "check_plan_dir", "replaced", "PlanFiles", "read_plan_files", "load_plan_dir", "load_plan", "PlanFolder",
           "check_state", "read_plan_folder", "replace_plan_files"]
