"""The service's calls into the planner: plain data in, plain data out (no Django here).

- :func:`scenario_text` makes a scenario file self-contained YAML text (its ``extends``
  and orbit element files folded in), the form the database keeps;
  :func:`load_scenario_text` loads and checks such a text with :func:`relay.api.load_scenario`;
- :func:`check_rows` reads an operational table (outages, requests, vetoes, locks, station
  bookings) with the SAME reader as ``relay plan`` (:mod:`relay.inputs`), so a bad row
  answers the command line's message, and returns each row's cells and its UTC span;
- :func:`plan_task` is what a worker runs for a planning run: a whole plan of the cycle
  (:func:`relay.api.plan`) or, when the run starts from a plan version, that plan re-planned
  with the records added since (:meth:`relay.result.PlanResult.replan`); it returns the plan's
  files, tables and its diff (:mod:`relay.plandiff`) against the published version, each
  removed or moved session with the reason the new plan gives for its pass; a service run
  takes the tables first and the files after its plan version is stored (``files_later``,
  then :func:`files_task` on the same worker); the worker keeps the plans it made and read
  (:class:`PlanCache`), so that re-planning the published one (usually its own) neither
  unzips nor reads its folder again.
"""
from __future__ import annotations

import hashlib
import io
import math
import os
import shutil
import tempfile
import threading
import time
import zipfile
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from .. import api, inputs
from ..config import read_yaml, resolve_extends, resolve_orbit_files
from ..errors import RelayInputError
from ..fileio import process_alive
from ..plandiff import plan_diff, with_pass_windows
from ..result import result_from_folder
from ..sols import clock_of
from ..timescales import tdb_s_to_iso
from ..workers import worker_address

#: kind of record -> (reader, table spec, the name of its CSV in messages)
READERS = {"outage": (inputs.read_outages, inputs.OUTAGES, "outages"),
           "request": (inputs.read_requests, inputs.REQUESTS, "requests"),
           "veto": (inputs.read_forbid, inputs.FORBID, "forbid"),
           "lock": (inputs.read_sessions_table, inputs.SESSIONS, "locks"),
           "booking": (inputs.read_bookings, inputs.BOOKINGS, "bookings"),
           "backlog": (inputs.read_backlog_table, inputs.BACKLOGS, "backlogs")}
#: each kind's columns, in the order of its CSV file
COLUMNS = {kind: [c.name for c in spec.columns] for kind, (_, spec, _) in READERS.items()}
#: the columns of a plan version's tables kept in the database
SESSION_FIELDS = ["orbiter", "asset", "start", "end", "sol", "lmst_start", "lmst_end", "duration_s", "volume_mbit",
                  "kind", "pass_id", "fixed"]
PASS_FIELDS = ["pass_id", "orbiter", "asset", "rise", "set", "sol", "lmst_start", "lmst_end", "duration_s",
               "max_elevation_deg", "used", "reason", "reason_detail", "volume_mbit"]


# ----------------------------------------------------------------------------- scenarios
def scenario_text(path) -> str:
    """The scenario file at ``path`` as one self-contained YAML text (``extends`` merged, orbit
    element files folded in), checked by :func:`relay.api.load_scenario` first."""
    api.load_scenario(path)
    p = Path(path).resolve()
    data = resolve_orbit_files(resolve_extends(read_yaml(p), p), p)
    return yaml.safe_dump(data, sort_keys=False)


def load_scenario_text(text: str, folder, source: str = "scenario"):
    """The :class:`relay.config.Scenario` of a YAML text (relative file names resolve against
    ``folder``); a mistake is the loader's message with ``source`` for the file name."""
    # on a worker of another host the service's folder is absent: the stored texts are
    # self-contained, so any temporary folder serves
    fd, tmp = tempfile.mkstemp(suffix=".yaml", dir=folder if folder and os.path.isdir(folder) else None)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        try:
            return api.load_scenario(tmp)
        except RelayInputError as exc:
            raise rename_source(exc, tmp, source) from None
    finally:
        os.unlink(tmp)


def rename_source(exc: RelayInputError, path, name: str) -> RelayInputError:
    """The same message with a temporary file's path replaced by the name the user knows."""
    src = (exc.source or "").replace(str(path), name)
    return RelayInputError(exc.detail.replace(str(path), name), source=src or name, where=exc.where)


def scenario_names(sc) -> dict:
    return {"orbiters": [o.name for o in sc.orbiters], "assets": [a.name for a in sc.assets],
            "stations": [s.name for s in sc.stations]}


def asset_clocks(sc) -> dict:
    """Each asset's sol clock (for requests given by sol and LMST)."""
    return {a.name: clock_of(a.longitude_deg, a.landing) for a in sc.assets}


def overflights(sc, start: str, days: float) -> list[dict]:
    """Every pass of every orbiter over every asset of a span (geometry only, no link volume),
    with each asset's sol and LMST at rise and set."""
    df = api.find_passes(sc, start, days)
    clocks = asset_clocks(sc)
    rows = records_of(df, ["pass_id", "orbiter", "asset", "rise", "set", "duration_s", "max_elevation_deg",
                           "min_range_km"])
    for r, rise, end in zip(rows, df["rise_tdb_s"], df["set_tdb_s"]):
        clock = clocks[r["asset"]]
        r["sol"] = int(clock.sol(rise))
        r["lmst_start"], r["lmst_end"] = clock.lmst(rise)[0], clock.lmst(end)[0]
    return rows


# ----------------------------------------------------------------------------- operational records
def read_kind(kind: str, src, sc):
    """Read a table of ``kind`` (a CSV path or a DataFrame of its columns) with relay's reader;
    returns the records (outages, requests, vetoes) or a table (locks, bookings)."""
    names = scenario_names(sc)
    if kind == "outage":
        return inputs.read_outages(src, **names)
    if kind == "request":
        return inputs.read_requests(src, assets=asset_clocks(sc), orbiters=names["orbiters"])
    if kind == "veto":
        return inputs.read_forbid(src, orbiters=names["orbiters"], assets=names["assets"])
    if kind == "backlog":
        return inputs.read_backlog_table(src, names["assets"])
    if kind == "booking":
        return inputs.read_bookings(src, orbiters=names["orbiters"], stations=names["stations"])
    return inputs.read_sessions_table(src, "locks", orbiters=names["orbiters"], assets=names["assets"])


def cell_text(v) -> str:
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.15g}"
    return "" if v is None else str(v)


def check_rows(kind: str, src, sc) -> list[dict]:
    """Each row of a table of ``kind`` (a CSV path or a DataFrame), read by relay's reader:
    ``{"fields": column -> cell text, "start": ISO, "end": ISO, "asset", "orbiter", "sol"}``.
    A mistake raises the reader's :class:`~relay.errors.RelayInputError` (file, row, value)."""
    read = read_kind(kind, src, sc)
    spec = READERS[kind][1]
    tabular = kind in ("lock", "booking", "backlog")
    cells = inputs.read_table(src, spec) if not tabular or kind == "booking" else read
    rows = []
    for i, r in enumerate(cells.to_dict("records")):
        fields = {c: cell_text(r.get(c)) for c in COLUMNS[kind]}
        rec = None if tabular else read[i]
        s = r.get("start_tdb_s", r.get("time_tdb_s")) if rec is None else getattr(rec, "start_tdb_s", None)
        e = r.get("end_tdb_s", r.get("time_tdb_s")) if rec is None else getattr(rec, "end_tdb_s", None)
        rows.append({"fields": fields, "start": iso_or_none(s), "end": iso_or_none(e),
                     "asset": fields.get("asset") or (fields.get("target") if kind == "outage" else "") or "",
                     "orbiter": fields.get("orbiter") or (fields.get("target") if kind == "outage" else "") or "",
                     "sol": int(fields["sol"]) if fields.get("sol") else None})
    return rows


def iso_or_none(tdb_s):
    return None if tdb_s is None or (isinstance(tdb_s, float) and math.isnan(tdb_s)) else tdb_s_to_iso(tdb_s)


def frame(kind: str, rows: list[dict]) -> pd.DataFrame | None:
    """A table of records' cells (None when there is none), for the planner's readers."""
    if not rows:
        return None
    return pd.DataFrame([{c: r.get(c, "") for c in COLUMNS[kind]} for r in rows], columns=COLUMNS[kind], dtype=str)


# ----------------------------------------------------------------------------- plan files
def zip_folder(folder: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for p in sorted(Path(folder).iterdir()):
            if p.is_file():
                z.write(p, p.name)
    return buf.getvalue()


def unzip_to(data: bytes, folder: Path) -> Path:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        z.extractall(folder)
    return Path(folder)


def records_of(df: pd.DataFrame | None, columns: list[str] | None = None) -> list[dict]:
    """A table as JSON-ready rows (times as ISO text with Z to the millisecond, NaN and NaT as
    None, numpy scalars as Python's), column by column (pandas' row dicts and strftime took a
    re-plan 0.05 s)."""
    if df is None or not len(df):
        return []
    cols = [c for c in (columns or df.columns) if c in df.columns]
    values = [column_values(df[c]) for c in cols]
    return [{k: (None if isinstance(v, float) and math.isnan(v) else (v.item() if hasattr(v, "item") else v))
             for k, v in zip(cols, row)} for row in zip(*values)]


def column_values(col: pd.Series) -> list:
    """A column's values as Python objects; times (UTC) as ISO text with Z, to the millisecond."""
    if not pd.api.types.is_datetime64_any_dtype(col):
        return col.tolist()
    utc = col.dt.tz_convert("UTC").dt.tz_localize(None) if col.dt.tz is not None else col
    text = np.datetime_as_string(utc.to_numpy(dtype="datetime64[ns]"), unit="ms")
    return [None if missing else f"{t}Z" for t, missing in zip(text.tolist(), utc.isna().tolist())]


# ----------------------------------------------------------------------------- the worker's task
def plan_task(payload: dict) -> dict:
    """Plan a cycle (the task a worker runs); ``payload``: ``scenario_text``, ``folder``,
    ``start``, ``days``, ``tables`` (kind -> rows of cells: every record of the cycle),
    ``base`` (the zip of the plan to re-plan from, or None), ``added`` (kind -> rows added
    since that plan), ``published`` (the zip of the cycle's published plan, or None) and
    ``base_is_published`` (the base is that plan: its folder is read once).  Returns the
    plan's tables and its zipped folder (:func:`stored_payload`).

    With ``files_later`` (a service run, which stores its plan version first) it returns
    the tables, summary and diff only, and ``files_key`` and ``worker``: where the plan waits
    for :func:`files_task` to write its folder (report.html, the zip: a third of a re-plan's
    time), off the path to a usable plan version."""
    t0 = time.perf_counter()
    tmp: Path | None = run_folder()
    try:
        result, old, base = planned(payload, tmp)
        if payload.get("files_later"):
            stored = result_tables(result, old, base)
            stored["seconds"] = round(time.perf_counter() - t0, 3)
            stored["files_key"], stored["worker"] = PENDING.hold(result, tmp), worker_address()
        else:
            out = tmp / "plan"
            result.write(out)
            stored = stored_payload(result, out, old, t0, base)
            PLANS.keep(stored["files"], out, tmp)  # the next re-plan of this plan starts from it in memory
        tmp = None
        return stored
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def files_task(key: str) -> bytes:
    """The zipped folder ``relay plan`` writes of the plan :func:`plan_task` left under
    ``key`` in this process (which then holds it for a re-plan, :class:`PlanCache`)."""
    result, tmp = PENDING.take(key)
    try:
        out = tmp / "plan"
        result.write(out)
        files = zip_folder(out)
        held = PLANS.keep(files, out, tmp)
        tmp = None
        # read back before the task ends, not in the next run's time (a worker runs one task at once)
        wait([held])
        return files
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def planned(payload: dict, tmp: Path) -> tuple:
    """(the plan of the payload, the published plan its diff is against or None, the plan it
    re-plans or None), made in ``tmp``."""
    base = None
    if payload.get("base") is not None or payload.get("base_key"):
        base = held_or_read(payload.get("base"), payload.get("base_key"), tmp / "base")
        result = replan_of(base, payload["added"])
    else:
        t = payload["tables"]
        sc = load_scenario_text(payload["scenario_text"], payload.get("folder"))
        result = api.plan(sc, payload["start"], payload["days"], outages=frame("outage", t.get("outage")),
                          requests=frame("request", t.get("request")), forbid=frame("veto", t.get("veto")),
                          fixed_sessions=frame("lock", t.get("lock")), backlogs=frame("backlog", t.get("backlog")),
                          bookings=read_kind("booking", frame("booking", t["booking"]), sc)
                          if t.get("booking") else None)
    old = base if base is not None and payload.get("base_is_published") else published_result(
        payload.get("published"), tmp / "published", payload.get("published_key"))
    return result, old, base


def result_tables(result, old, base=None) -> dict:
    """What the service keeps of a plan ``result`` besides its files: summary, diff against the
    published plan ``old`` (None without one; ``base``: the plan ``result`` re-plans), sessions,
    requests and passes."""
    return {"summary": result.summary.to_json(), "diff": diff_against(result, old, base),
            "sessions": records_of(result.sessions, SESSION_FIELDS), "requests": records_of(result.requests),
            "passes": records_of(result.passes, PASS_FIELDS)}


def stored_payload(result, folder: Path, old, t0: float | None = None, base=None) -> dict:
    """What the service keeps of a plan ``result`` written in ``folder`` (a run's, or a nightly
    run's: :mod:`relay.service.nightly_store`): the zipped folder and :func:`result_tables`."""
    with ThreadPoolExecutor(1, thread_name_prefix="relay-zip") as pool:
        # zlib lets go of the GIL: the folder is compressed while the diff and tables are made
        files = pool.submit(zip_folder, folder)
        out = result_tables(result, old, base)
        out["files"] = files.result()
    out["seconds"] = None if t0 is None else round(time.perf_counter() - t0, 3)
    return out


class PendingPlans:
    """Plans made by :func:`plan_task` (``files_later``) whose files :func:`files_task` has yet to write,
    by key, with the scratch folder each run made; the oldest beyond ``size`` (their service
    gone) are dropped with their folder."""

    def __init__(self, size: int = 4):
        self.size = size
        self.lock = threading.Lock()
        self.plans: OrderedDict[str, tuple] = OrderedDict()

    def hold(self, result, tmp: Path) -> str:
        key = f"{os.getpid()}-{tmp.name}"
        with self.lock:
            self.plans[key] = (result, tmp)
            dropped = [self.plans.popitem(last=False)[1] for _ in range(max(0, len(self.plans) - self.size))]
        for _, folder in dropped:
            shutil.rmtree(folder, ignore_errors=True)
        return key

    def take(self, key: str) -> tuple:
        with self.lock:
            held = self.plans.pop(key, None)
        if held is None:
            raise RuntimeError(f"the plan {key} is no longer held by this worker process (pid {os.getpid()}), "
                               "which did not make it or has since restarted: its files cannot be written; "
                               "retry the run")
        return held


#: this process's plans waiting for their files
PENDING = PendingPlans()


def scratch_folder() -> str | None:
    """Where a run writes its plan folder before zipping it: memory (/dev/shm) where there is
    one, so that the folder's flushes to disk cost nothing; else the system's temporary folder."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) else None


#: the name of a run's scratch folder starts with this and the pid of the process running it
RUN_FOLDER = "relay-run-"
SWEPT: set[int] = set()  # the processes that removed dead processes' run folders


def run_folder() -> Path:
    """A new scratch folder for a run of this process.  The first one a process makes removes
    the run folders left by processes that no longer run (a worker killed in a run, or stopped
    while it read a run's plan for :class:`PlanCache`): in /dev/shm they would hold memory."""
    scratch = Path(scratch_folder() or tempfile.gettempdir())
    if os.getpid() not in SWEPT:
        SWEPT.add(os.getpid())
        for old in scratch.glob(f"{RUN_FOLDER}*-*"):
            pid = old.name[len(RUN_FOLDER):].split("-", 1)[0]
            if pid.isdigit() and not process_alive(int(pid)):
                shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"{RUN_FOLDER}{os.getpid()}-", dir=scratch))


def replan_of(base, added: dict):
    """``base`` re-planned with the records added since it (the engine's re-plan path)."""
    return base.replan(lock=frame("lock", added.get("lock")), forbid=frame("veto", added.get("veto")),
                       outages=frame("outage", added.get("outage")), requests=frame("request", added.get("request")))


def published_result(published: bytes | None, folder: Path, key: str | None = None):
    """The PlanResult of the published plan's zipped folder (None without one; unzipped into
    ``folder`` unless this process holds it already, see :class:`PlanCache`), or of the plan
    this process holds by ``key`` (the SHA-256 of that zip) when ``published`` is None."""
    if published is None and not key:
        return None
    return held_or_read(published, key, folder)


class NotHeld(Exception):
    """This worker process holds no plan of the key a payload names: the service sends the
    payload again with the plan's files (a re-plan's payload names the plan it starts from by
    the SHA-256 of its zipped folder first, sparing the 2 MB of most runs' payloads)."""


def held_or_read(files: bytes | None, key: str | None, folder: Path):
    """The PlanResult of the zipped plan folder ``files`` or, without them, of the plan this
    process holds by ``key`` (:class:`NotHeld` when it holds none)."""
    if files is not None:
        return PLANS.result(files, folder)
    held = PLANS.held(key)
    if held is None:
        raise NotHeld(f"no plan {key} held by process {os.getpid()}")
    return held


class PlanCache:
    """The plans this process wrote or read last, by the SHA-256 of their zipped folder, read
    as a re-plan reads them (:func:`relay.result.result_from_folder`, the folder checked
    against its manifest).  A run's plan is read in a background thread once the run has
    returned it (:meth:`keep`), so that a re-plan of it (usually of the cycle's published
    plan, which this worker planned) neither unzips nor reads the folder again; another
    plan is unzipped and read once (:meth:`result`).  Only read, never changed, by the runs
    that share it."""

    def __init__(self, size: int = 2):
        self.size = size
        self.lock = threading.Lock()
        self.plans: OrderedDict[str, Future] = OrderedDict()
        self.reader: ThreadPoolExecutor | None = None

    def result(self, files: bytes, folder: Path):
        """The PlanResult of a zipped plan folder (unzipped into ``folder`` when not held)."""
        key = hashlib.sha256(files).hexdigest()
        with self.lock:
            held = self.plans.get(key)
            if held is not None:
                self.plans.move_to_end(key)
        if held is not None:
            try:
                return held.result()
            except Exception:  # noqa: BLE001 - a failed background read: read it here, with its message
                pass
        done: Future = Future()
        done.set_result(result_from_folder(unzip_to(files, folder)))
        self.hold(key, done)
        return done.result()

    def held(self, key: str):
        """The PlanResult held by ``key`` (the SHA-256 of its zipped folder), or None."""
        with self.lock:
            plan = self.plans.get(key)
            if plan is not None:
                self.plans.move_to_end(key)
        try:
            return None if plan is None else plan.result()
        except Exception:  # noqa: BLE001 - a failed background read: as if not held (read from the files)
            return None

    def keep(self, files: bytes, folder: Path, tmp: Path) -> Future:
        """Read ``folder`` (zipped as ``files``) in the background, then remove ``tmp`` (which holds
        it); returns the read's future."""
        key = hashlib.sha256(files).hexdigest()

        def read():
            try:
                return result_from_folder(folder)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)

        with self.lock:
            if self.reader is None:
                self.reader = ThreadPoolExecutor(1, thread_name_prefix="relay-plan-cache")
            reader = self.reader
        plan = reader.submit(read)
        self.hold(key, plan)
        return plan

    def hold(self, key: str, plan: Future) -> None:
        with self.lock:
            self.plans[key] = plan
            self.plans.move_to_end(key)
            while len(self.plans) > self.size:
                self.plans.popitem(last=False)


#: this process's plans (a service worker's, or the service's own with the thread executor)
PLANS = PlanCache()


def diff_against(result, old, base=None) -> dict | None:
    """The plan's diff against the published plan ``old`` (None without one): each row keeps the
    engine's ``cause`` (the outage, veto, request or lock, or the session that displaced it), and
    a removed or moved session gets the reason the new plan gives for its pass (``reason``,
    ``reason_detail``).  A re-plan of ``old`` itself (``base``) made that diff already."""
    if old is None:
        return None
    own = result.diff_record is not None and (old is base or result.state is old.state)
    d = dict(result.diff_record) if own else plan_diff(old.sessions, old.problem, result.sessions, result.problem)
    d["delivered_before_mbit"] = old.summary.figures.delivered_mbit
    d["delivered_after_mbit"] = result.summary.figures.delivered_mbit
    passes = result.passes.set_index("pass_id") if len(result.passes) else None
    a = with_pass_windows(old.sessions, old.problem)
    olds = {(r.orbiter, r.asset, r.start): r.pass_id for r in a.itertuples()}
    for row in d["removed"] + d["moved"]:
        pid = olds.get((row["orbiter"], row["asset"], row["start_before"]))
        if passes is not None and pid in passes.index:
            row["pass_id"] = pid
            row["reason"] = str(passes.at[pid, "reason"])
            row["reason_detail"] = str(passes.at[pid, "reason_detail"])
    return d

