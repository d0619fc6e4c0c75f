"""The nightly job: one run of ``relay nightly`` from its inputs to the archived, current plan.

A run takes the lock, repairs what an interrupted run left
(:mod:`.safety`), reads and checks every input (the scenario, the drop folder
:mod:`.drop`, the base plan :mod:`.base`), plans with :func:`relay.api.plan`,
checks the plan, writes its files into a temporary directory (fsynced),
renames it to ``OUT/runs/<id>`` inside the archive's transaction and points
``OUT/current`` at it.  Its steps are the log's stages :data:`JOB_STAGES`;
the planner's own stages are logged under the names of
:data:`relay.summary.PLAN_STAGES`.

Exit status: 0 planned; 2 a user's mistake (a bad config, option, drop file,
archive or output path; nothing archived, the current plan stays); 3 planned
but degraded (a violated requirement, a frozen session missing, or the
returned volume over the span both plans cover down more than
``max_drop_pct`` percent from the base plan), still current; 1 any other
failure (archived as failed with its error, never current), and also
"another run holds the lock" (not archived): 1 is the only status worth
retrying.

A reason that an acknowledgement in force covers (:mod:`.alerts`) does not
degrade the run; it is listed as acknowledged.  A run becomes current when
its plan starts no earlier than the current plan's (or with ``--force``).  A
run's files include ``diff.csv`` (against the base plan over the span both
cover; only the header without a base plan), and its ``report.html`` names
the run's frozen-until, base run and diff, and, degraded, says DEGRADED with
the reasons and the run id.  After the run, the hook of its exit status
(``on_degraded`` for 3, ``on_failure`` for 1 and 2) gets the run's JSON
summary (:func:`alert_payload`); a failing hook is logged and printed, and the
exit status stays the run's.  With ``--db`` an archived run is then also recorded in
the relay service's database by the callable the command layer passes
(:func:`record_in_service`; this package never imports the service); when that
fails the run stays archived and a run that planned exits 2.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .. import api, plandiff
from ..archive import Archive
from ..config import load_scenario, scenario_hash
from ..errors import RelayInputError
from ..fileio import fsync_dir, write_text
from ..inputs import bookings_path
from ..operations import scenario_names
from ..outputs.report import NightlyBanner
from ..outputs.tables import csv_text, iso_text
from ..planfolder import write_plan_folder
from ..summary import PLAN_STAGES, PlanSummary
from ..timescales import tdb_s_to_iso
from . import base as base_mod
from . import safety
from .alerts import Reason, hook_for, send_alert, split_acknowledged
from .drop import DropInputs, scan_drop, sha256_file
from .horizon import operations_within, run_span, scenario_within
from .options import NightlyRun
from .safety import (JsonLog, LockHeld, RunLock, Stage, claim_out, fsync_tree, reconcile_outputs,
                     set_current, utcnow)

#: the job's own steps, in order (the log's ``stage`` events; the planner's are PLAN_STAGES)
JOB_STAGES = ("load", "plan", "check", "write", "archive")
GOOD_STATUSES = ("OPTIMAL", "FEASIBLE")
FAILED_STATUSES = ("INFEASIBLE", "MODEL_INVALID")


@dataclass
class Prepared:
    """Everything a run plans with, every input checked."""

    scenario: Any
    start: str
    end: str
    t0: float
    t1: float
    freeze_end: str
    t_freeze: float
    base: base_mod.BasePlan | None
    drop: DropInputs | None
    backlogs: Any  # DataFrame asset, time, backlog_mbit (carried and dropped), or None
    backlog_source: dict  # asset -> "drop file NAME" | "carried from run N"
    inputs: list[dict]
    notes: list[str]

    @property
    def fixed(self):
        return self.base.fixed if self.base else None

    @property
    def previous(self):
        return self.base.previous if self.base else None

    @property
    def common_end_tdb_s(self) -> float:
        """End of the span this plan and the base plan both cover."""
        return min(self.t1, self.base.end_tdb_s) if self.base else self.t1


def default_out(archive_path: Path) -> Path:
    """``plans.db`` -> ``plans-out/`` beside it (one output directory per archive)."""
    return archive_path.parent / f"{archive_path.stem}-out"


def _file_record(kind: str, name: str, path: Path, detail: dict | None = None) -> dict:
    digest, size = sha256_file(path)
    rec = {"kind": kind, "name": name, "path": str(Path(path).resolve()), "sha256": digest, "bytes": size}
    if detail is not None:
        rec["detail"] = detail
    return rec


def _scan(job: NightlyRun, sc0, t0: float, t1: float, inputs: list, notes: list) -> DropInputs | None:
    if not job.options.drop:
        return None
    drop = scan_drop(job.options.drop, [o.name for o in sc0.orbiters], [a.name for a in sc0.assets], t0, t1,
                     stations=[s.name for s in sc0.stations], clocks=scenario_names(sc0)["assets"])
    for f in drop.orbit_files:
        inputs.append({"kind": "drop-orbit", "name": f.path.name, "path": str(f.path.resolve()),
                       "sha256": f.sha256, "bytes": f.bytes, "detail": f.detail()})
    for p in drop.bookings_files:
        inputs.append(_file_record("drop-bookings", p.name, p, {"used": p == drop.bookings}))
    for p in drop.backlog_files:
        inputs.append(_file_record("drop-backlogs", p.name, p))
    for p in drop.operation_files:
        inputs.append(_file_record("drop-operations", p.name, p))
    for p in drop.ack_files:
        inputs.append(_file_record("drop-acks", p.name, p))
    for p, why in drop.ignored:
        notes.append(f"drop folder: ignored {p.name}: {why}")
    notes.extend(operations_within(drop.operations, t0, t1)[1])
    return drop


def _orbit_and_booking_inputs(sc, drop: DropInputs | None, inputs: list) -> None:
    for o in sc.orbiters:
        if o.orbit.type in ("oem", "spk"):
            p = sc.resolve_path(o.orbit.path)
            if p.is_file():
                inputs.append(_file_record("orbit", o.name, p))
    book = bookings_path(sc)
    if book is not None and not (drop and drop.bookings) and book.is_file():
        inputs.append(_file_record("bookings", book.name, book))


def _backlogs(base, drop: DropInputs | None, t0: float, start: str, assets: list[str], notes: list):
    """Each asset's starting backlog: a drop-folder row newer than the base plan's start (the
    latest at or before this start) wins; otherwise the backlog the base plan leaves at the start;
    without either, the scenario's.  Returns (DataFrame or None, {asset: source})."""
    rows: dict[str, tuple[float, str]] = {}
    if base is not None:
        carried, why = base_mod.carried_backlogs(base, t0, assets)
        if why:
            notes.append(f"backlogs not carried over ({why}): the scenario's starting backlogs apply")
        rows.update({a: (v, f"carried from run {base.id}") for a, v in carried.items()})
    if drop is not None and drop.backlogs is not None:
        since = float(base.run["plan_start_tdb_s"]) if base is not None else float("-inf")
        df = drop.backlogs
        df = df[(df["time_tdb_s"] <= t0 + 1e-6) & (df["time_tdb_s"] > since)]
        for r in df.sort_values("time_tdb_s", kind="mergesort").itertuples(index=False):
            rows[r.asset] = (float(r.backlog_mbit), f"drop folder row of {r.time}")
    if not rows:
        return None, {}
    table = pd.DataFrame([(a, start, v) for a, (v, _) in sorted(rows.items())],
                         columns=["asset", "time", "backlog_mbit"])
    return table, {a: src for a, (_, src) in sorted(rows.items())}


def prepare(job: NightlyRun, archive_path: Path) -> Prepared:
    """Everything the planner needs; every input checked (RelayInputError on a bad one)."""
    notes: list[str] = []
    sc0 = load_scenario(job.config)
    start, end, freeze_end, t0, t1, t_freeze = run_span(job)
    orbiters, assets = [o.name for o in sc0.orbiters], [a.name for a in sc0.assets]
    inputs = [_file_record("config", Path(job.config).name, Path(job.config))]
    drop = _scan(job, sc0, t0, t1, inputs, notes)
    sc = load_scenario(job.config, drop.overrides) if drop and drop.overrides else sc0
    sc, left_out = scenario_within(sc, t0, t1)  # past (and far) outages, vetoes, requests
    notes.extend(left_out)
    _orbit_and_booking_inputs(sc, drop, inputs)
    base = None
    if archive_path.exists():
        with Archive.open_existing(archive_path) as arch:
            base = base_mod.load_base(arch, t0, t_freeze, orbiters, assets)
    if base is not None:
        notes.extend(base.notes)
        inputs.append(base.input_record())
    backlogs, source = _backlogs(base, drop, t0, start, assets, notes)
    return Prepared(sc, start, end, t0, t1, freeze_end, t_freeze, base, drop, backlogs, source, inputs, notes)


def input_hashes(inputs: list[dict]) -> dict:
    return {f"{item['kind']}:{item['name']}": item.get("sha256") for item in inputs}


def plan_kwargs(job: NightlyRun, prep: Prepared) -> dict:
    """The keyword arguments of :func:`relay.api.plan` for this run."""
    kw: dict[str, Any] = {"days": job.days}
    if prep.base is not None:
        # the freeze horizon as far as the base plan covers it: its sessions there are the
        # committed ones (fixed_sessions) and the planner adds none beside them
        end = prep.freeze_end if prep.t_freeze <= prep.base.end_tdb_s else prep.base.run.get("plan_end")
        kw["frozen_until"] = end
        if prep.fixed is not None:
            kw["fixed_sessions"] = prep.fixed
        if prep.previous is not None:
            kw["previous_sessions"] = prep.previous
            kw["change_penalty_mbit"] = job.change_penalty_mbit
    if prep.backlogs is not None:
        kw["backlogs"] = prep.backlogs
    if prep.drop is not None and prep.drop.bookings is not None:
        kw["bookings"] = str(prep.drop.bookings)
    for k in ("time_limit_s", "workers", "seed"):
        v = getattr(job.options, k)
        if v is not None:
            kw[k] = v
    return kw


def dropped_frozen(fixed, dropped: list, base_id, ops=None) -> tuple[Any, list[str]]:
    """The frozen sessions still to keep (``fixed`` less the ``dropped`` ones: ``(option, why)``
    from the planner) and a sentence for each dropped one: which session, what covers it, and the
    drop-folder row that says so (found among ``ops``, the drop's operations)."""
    lost = []
    for x, why in dropped:
        i = base_mod.match_fixed(fixed, x.orbiter, x.asset, x.start_tdb_s, x.end_tdb_s)
        if i is not None:
            fixed = fixed.drop(index=fixed.index[i]).reset_index(drop=True)
        rows = [r for r in ((ops.outages + ops.forbid) if ops is not None else ())
                if r.start_tdb_s is not None and r.start_tdb_s < x.end_tdb_s and x.start_tdb_s < r.end_tdb_s
                and {getattr(r, "target", None), getattr(r, "orbiter", None), getattr(r, "asset", None)}
                & {x.orbiter, x.asset}]
        where = "; ".join(f"{r.source}, {r.where}" for r in rows) or "the scenario"
        lost.append(f"frozen session of run {base_id} dropped: {why.split('; expected')[0]} ({where})")
    return (fixed if fixed is not None and len(fixed) else None), lost


def volume_check(prep: Prepared, ses, base_ses, max_drop_pct: float) -> tuple[dict | None, str | None]:
    """The returned volume of both plans over their common span and, when it dropped more than
    ``max_drop_pct`` percent, the reason to flag the run degraded."""
    if prep.base is None or base_ses is None:
        return None, None
    lo, hi = prep.t0, prep.common_end_tdb_s
    before = sum(plandiff.returned_by_asset(base_ses, lo, hi).values())
    after = sum(plandiff.returned_by_asset(ses, lo, hi).values())
    pct = 100.0 * (after - before) / before if before > 0 else 0.0
    fig = {"span_start": tdb_s_to_iso(lo), "span_end": tdb_s_to_iso(hi), "returned_mbit": round(after, 3),
           "base_returned_mbit": round(before, 3), "change_pct": round(pct, 2), "base_run": prep.base.id}
    if -pct > max_drop_pct:
        return fig, (f"returned volume over the span both plans cover ({fig['span_start']} to {fig['span_end']}) "
                     f"is {after:.1f} Mbit, {-pct:.1f} % below run {prep.base.id}'s {before:.1f} Mbit over "
                     f"the same span (limit {max_drop_pct:g} %)")
    return fig, None


def plan_reasons(summary: PlanSummary) -> list[Reason]:
    """Violated requirements and a solver status other than optimal or feasible, with their keys
    (``requirement:ASSET:SOL:REQUIREMENT``, ``solver:STATUS``)."""
    reasons = []
    for v in summary.violations:
        fields = ("asset", "sol", "requirement")
        what = ", ".join(f"{k} {getattr(v, k)}" for k in fields if getattr(v, k) is not None)
        key = "requirement:" + ":".join("-" if getattr(v, k) is None else str(getattr(v, k)) for k in fields)
        reasons.append(Reason(key, f"violated requirement: {what}" + (f" ({v.detail})" if v.detail else "")))
    status = str(summary.status).upper()
    if status and status not in GOOD_STATUSES:
        reasons.append(Reason(f"solver:{status}", f"solver status {status}"))
    return reasons


def degraded_reasons(summary: PlanSummary) -> list[str]:
    """Violated requirements and a solver status other than optimal or feasible."""
    return [r.text for r in plan_reasons(summary)]


def session_table(result, fixed):
    """The result's sessions with their pass window and a ``frozen`` flag, for the archive."""
    ses = result.sessions.copy()
    p = result.passes
    rises = dict(zip(p["pass_id"].astype(str), p["rise_tdb_s"].astype(float)))
    sets = dict(zip(p["pass_id"].astype(str), p["set_tdb_s"].astype(float)))
    ses["pass_rise_tdb_s"] = [rises.get(str(i), float("nan")) for i in ses["pass_id"]]
    ses["pass_set_tdb_s"] = [sets.get(str(i), float("nan")) for i in ses["pass_id"]]
    ses["frozen"] = [int(base_mod.match_fixed(fixed, o, a, s, e) is not None) for o, a, s, e in
                     zip(ses["orbiter"], ses["asset"], ses["start_tdb_s"], ses["end_tdb_s"])]
    return ses


def freeze_intruders(ses, prep: Prepared) -> int:
    """Sessions of the new plan starting in the freeze horizon that are not frozen ones."""
    st = ses["start_tdb_s"].astype(float)
    inside = (st >= prep.t0 - 1e-3) & (st < prep.t_freeze)
    return int((inside & (ses["frozen"] == 0)).sum())


# ----------------------------------------------------------------------------- the run
def run_nightly(job: NightlyRun, stdout=None, stderr=None, record=None) -> int:
    """Run the job once; returns the exit status (0, 1, 2 or 3).  Never raises for a run's failure.
    ``record(outcome, result)``, when given (``--db``: the command layer's, see
    :func:`record_in_service`), records an archived run elsewhere and returns a line to print.
    The hook of the exit status, if the options name one, gets the run's JSON summary."""
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    started = utcnow()
    o = job.options
    archive_path = Path(o.archive).resolve()
    out = Path(o.out).resolve() if o.out else default_out(archive_path)
    log_path = Path(o.log).resolve() if o.log else out / "nightly.jsonl"
    ui = _Ui(job.quiet, stdout, stderr)
    outcome = {"started": started, "config": str(Path(job.config).resolve()), "archive": str(archive_path),
               "out": str(out)}
    try:
        _check_writable_dir(out, "--out")
        check_not_inputs(job, archive_path, out, log_path)
        claim_out(out, archive_path)
        log = JsonLog(log_path, os.getpid(), started)
    except (RelayInputError, OSError) as exc:
        if not isinstance(exc, RelayInputError):
            exc = RelayInputError(f"cannot open the log file: {exc.strerror or exc}", source=str(log_path))
        outcome.update(status="rejected", error=str(exc))
        return _alert(job, ui, None, ui.rejected(exc), outcome)
    lock = RunLock(archive_path)
    try:
        code = _locked_run(job, lock, archive_path, out, log, ui, outcome)
        result = outcome.pop("plan_result", None)
        if record is not None:
            code = record_in_service(record, result, ui, log, code, outcome)
        return _alert(job, ui, log, code, outcome)
    finally:
        lock.release()
        log.close()


def _locked_run(job: NightlyRun, lock: RunLock, archive_path: Path, out: Path, log: JsonLog, ui: "_Ui",
                outcome: dict) -> int:
    """Take the lock and run; ``outcome`` gets what the alert reports."""
    try:
        lock.acquire(outcome["started"])
    except LockHeld as exc:
        log.event("refused", reason=str(exc))
        ui.err(f"error: {exc}")
        outcome.update(status="refused", error=str(exc))
        return 1
    except OSError as exc:  # the archive's folder cannot hold the lock: the path is wrong
        err = RelayInputError(f"cannot create the lock file beside the archive: {exc.strerror or exc}",
                              source=str(lock.path))
        outcome.update(status="rejected", error=str(err))
        return ui.rejected(err)
    o = job.options
    log.event("start", config=str(job.config), archive=str(archive_path), out=str(out), drop=o.drop,
              options=o.model_dump(), days=job.days, change_penalty_mbit=job.change_penalty_mbit)
    safety.checkpoint("locked")
    return _Run(job, archive_path, out, log, outcome["started"], ui, outcome).go()


def record_in_service(record, result, ui: "_Ui", log: JsonLog, code: int, outcome: dict) -> int:
    """Record an archived run with ``record(outcome, result)`` (``--db``: the relay service's
    database).  A run refused or rejected (nothing archived) is not recorded.  A failure is printed
    and logged and the archived run stays as it is; a run that planned then exits 2 (the database's
    message: no cycle, unreachable, not migrated) or 1 (any other failure)."""
    if outcome.get("run_id") is None:
        return code
    try:
        line = record(outcome, result)
    except Exception as exc:  # noqa: BLE001 - the run is archived; the database's problem is reported
        user = isinstance(exc, RelayInputError)
        msg = str(exc) if user else f"{type(exc).__name__}: {exc}"
        log.event("service", ok=False, error=msg,
                  traceback=None if user else "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
        outcome["service"] = {"error": msg}
        ui.err(f"error: {msg}")
        ui.err(f"run {outcome['run_id']} stays archived ({outcome.get('status')}); it is not recorded in the "
               "service's database")
        return code if code == 1 else (2 if user else 1)
    log.event("service", ok=True, recorded=line)
    outcome["service"] = {"recorded": line}
    ui.say(f"  {line}")
    return code


def alert_payload(outcome: dict, exit_code: int) -> dict:
    """The run's JSON summary an alert hook gets (stdin or the POST body): the run id, status,
    exit code, reasons (and the acknowledged ones), span, frozen-until, base run, diff counts,
    delivered volume, where its files are, the error of a failed or rejected run, and (``--db``)
    what the service's database recorded or why it did not."""
    keys = ("run_id", "status", "reasons", "reason_keys", "acknowledged", "plan_start", "plan_end", "frozen_until", "base_run",
            "diff", "delivered_mbit", "solver_status", "current_run", "plan_dir", "report", "error", "started",
            "config", "archive", "out", "service")
    return {"event": "relay-nightly", "exit_code": exit_code, **{k: outcome.get(k) for k in keys}}


def _alert(job: NightlyRun, ui: "_Ui", log: JsonLog | None, exit_code: int, outcome: dict) -> int:
    """Call the hook of ``exit_code`` (if any); its failure is logged and printed, and the
    run's exit status is returned unchanged."""
    which, hook = hook_for(job.options, exit_code)
    if hook is None:
        return exit_code
    problem = send_alert(hook, alert_payload(outcome, exit_code))
    target = hook.url if hook.url is not None else " ".join(map(str, hook.command))
    if log is not None:
        log.event("alert", hook=which, target=target, ok=problem is None, error=problem)
    if problem:
        ui.err(f"warning: the {which} alert failed: {problem} (the run's exit status stays {exit_code})")
    return exit_code


def _check_writable_dir(path: Path, option: str) -> None:
    """``path`` is (or can be made) a writable directory; else an input error naming the option."""
    p = path
    while not p.exists() and p.parent != p:
        p = p.parent
    if p != path or path.exists():
        if not p.is_dir():
            raise RelayInputError(f"{p} is not a directory; expected a directory for the plan files",
                                  source="command line", where=option)
        if not os.access(p, os.W_OK | os.X_OK):
            raise RelayInputError(f"the directory {p} is not writable", source="command line", where=option)


def check_not_inputs(job: NightlyRun, archive_path: Path, out: Path, log_path: Path) -> None:
    """Inputs are never outputs: the log and the plan files' directory are neither the config,
    nor the archive (nor its lock and SQLite side files), nor the drop folder or inside it."""
    inputs = [(Path(job.config).resolve(), "the config file")]
    inputs += [(Path(f"{archive_path}{end}"), "the archive" + (f" (its {end.lstrip('-.')} file)" if end else ""))
               for end in ("", "-wal", "-shm", "-journal", ".lock")]
    drop = Path(job.options.drop).resolve() if job.options.drop else None
    for path, option, what in ((out, "--out", "the plan files' directory"), (log_path, "--log", "the log file")):
        for q, name in inputs:
            if _same_file(path, q):
                raise RelayInputError(f"{path} is {name}, an input of the run; expected {what} elsewhere",
                                      source="command line", where=option)
        if drop is not None and (_same_file(path, drop) or path.is_relative_to(drop)):
            raise RelayInputError(f"{path} is {'' if _same_file(path, drop) else 'inside '}the drop folder {drop}, "
                                  f"whose files are inputs of the run; expected {what} elsewhere",
                                  source="command line", where=option)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a == b or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


class _Ui:
    """What the run prints: the summary on stdout (unless quiet), errors on stderr."""

    def __init__(self, quiet: bool, stdout, stderr):
        self.quiet, self.stdout, self.stderr = quiet, stdout, stderr

    def say(self, msg: str) -> None:
        if not self.quiet:
            print(msg, file=self.stdout)

    def err(self, msg: str) -> None:
        print(f"relay nightly: {msg}", file=self.stderr)

    def rejected(self, exc: RelayInputError) -> int:
        self.err(f"error: {exc}")
        self.err("nothing archived; the current plan is unchanged")
        return 2


class _Run:
    """One locked run, step by step (see the module docstring)."""

    def __init__(self, job: NightlyRun, archive_path: Path, out: Path, log: JsonLog, started: str, ui: _Ui,
                 outcome: dict | None = None):
        self.job, self.archive_path, self.out, self.log, self.started, self.ui = \
            job, archive_path, out, log, started, ui
        self.outcome = outcome if outcome is not None else {}
        self.prep: Prepared | None = None
        self.tmp_dir: Path | None = None

    def go(self) -> int:
        try:
            self.repair()
            result = self.load_and_plan()
            return self.check_and_store(result)
        except RelayInputError as exc:
            self.discard_tmp()
            self.log.event("rejected", exit_code=2, error=str(exc))
            self.outcome.update(status="rejected", error=str(exc))
            self.record_rejection(exc)
            return self.ui.rejected(exc)
        except Exception as exc:  # noqa: BLE001 - any other failure is archived as such
            self.discard_tmp()
            return self.fail(exc)

    def record_rejection(self, exc: RelayInputError) -> None:
        """List a run refused for a user's mistake in the archive's history (an archive that
        exists: a first night refused creates none)."""
        if not self.archive_path.is_file():
            return
        try:
            with Archive(self.archive_path) as arch:
                arch.add_rejection({"started": self.started, "finished": utcnow(), "exit_code": 2,
                                    "plan_start": self.prep.start if self.prep else self.job.options.start,
                                    "config_path": str(Path(self.job.config).resolve()), "reason": str(exc)})
        except Exception as exc2:  # noqa: BLE001 - the refusal itself is what the user must see
            self.log.event("note", note=f"could not record the rejection in the archive: {exc2}")

    def discard_tmp(self) -> None:
        if self.tmp_dir is not None:
            shutil.rmtree(self.tmp_dir, ignore_errors=True)
            self.tmp_dir = None

    def repair(self) -> None:
        if not self.archive_path.exists():
            return
        with Archive(self.archive_path) as arch:
            for note in reconcile_outputs(self.out, arch):
                self.log.event("repair", note=note)
                self.ui.say(f"  repaired: {note}")

    def load_and_plan(self):
        with Stage(self.log, "load") as f:
            prep = self.prep = prepare(self.job, self.archive_path)
            f.update(start=prep.start, end=prep.end, freeze_end=prep.freeze_end,
                     base_run=prep.base.id if prep.base else None,
                     fixed=0 if prep.fixed is None else len(prep.fixed),
                     previous=0 if prep.previous is None else len(prep.previous),
                     backlogs=prep.backlog_source)
            if prep.drop is not None:
                self.log.event("drop", **prep.drop.record())
            for note in prep.notes:
                self.log.event("note", note=note)
        self.run = {"started": self.started, "plan_start": prep.start, "plan_end": prep.end,
                    "freeze_end": prep.freeze_end, "plan_start_tdb_s": prep.t0, "days": self.job.days,
                    "base_run": prep.base.id if prep.base else None,
                    "config_path": str(Path(self.job.config).resolve()),
                    "config_hash": scenario_hash(prep.scenario), "input_hashes": input_hashes(prep.inputs)}
        with Stage(self.log, "plan") as f:
            # the drop folder's outages, requests and vetoes join the scenario's; a frozen session
            # one of them covers is dropped (listed in self.dropped), not an error
            self.dropped = []
            extra = operations_within(prep.drop.operations, prep.t0, prep.t1)[0] if prep.drop else None
            result = api.plan(prep.scenario, prep.start, **plan_kwargs(self.job, prep), operations=extra,
                              dropped_locks=self.dropped)
            summary: PlanSummary = result.summary
            f.update(status=summary.status, sessions=len(result.sessions),
                     solve_time_s=summary.solve.solve_time_s)
        for stage in PLAN_STAGES:
            if stage in summary.timings_s:
                self.log.event("stage", stage=stage, seconds=round(float(summary.timings_s[stage]), 3), ok=True,
                               source="planner")
        safety.checkpoint("planned")
        return result

    def check_and_store(self, result) -> int:
        prep = self.prep
        summary: PlanSummary = result.summary
        with Stage(self.log, "check") as f:
            if str(summary.status).upper() in FAILED_STATUSES:
                raise RuntimeError(f"the planner found no plan (solver status {summary.status})")
            ses = session_table(result, prep.fixed)
            reasons, nightly = self.check(summary, ses, result.problem)
            f.update(exit_code=3 if reasons else 0, reasons=reasons)
        exit_code = 3 if reasons else 0
        self.run.update(summary={**summary.to_json(), "nightly": nightly},
                        status="ok" if exit_code == 0 else "degraded", exit_code=exit_code)
        run_id, current = self.write_and_archive(result, ses, nightly)
        self.log.event("finished", run_id=run_id, exit_code=exit_code, status=self.run["status"], reasons=reasons,
                       acknowledged=nightly["acknowledged"], current_run=current,
                       delivered_mbit=summary.delivered_mbit, sessions=len(ses), stages=self.log.stages)
        plan_dir = self.out / "runs" / str(run_id)
        self.outcome.update(run_id=run_id, status=self.run["status"], reasons=reasons,
                            reason_keys=nightly["degraded_keys"],
                            acknowledged=nightly["acknowledged"], plan_start=prep.start, plan_end=prep.end,
                            frozen_until=nightly["frozen_until"], base_run=nightly["base_run"], diff=nightly["diff"],
                            delivered_mbit=summary.delivered_mbit, solver_status=str(summary.status),
                            current_run=current, plan_dir=str(plan_dir), report=str(plan_dir / "report.html"),
                            plan_result=result)
        _Report(self.ui, run_id, self.run, summary, ses, prep, self.out, self.log.stages).print(
            nightly, self.diff, reasons, current)
        return exit_code

    def acks(self) -> list[dict]:
        """The acknowledgements in the archive and in the drop folder (not yet stored: no id)."""
        stored = []
        if self.archive_path.exists():
            with Archive.open_existing(self.archive_path) as arch:
                stored = arch.acks()
        dropped = [{**a, "id": None} for a in (self.prep.drop.acks if self.prep.drop else [])]
        return stored + dropped

    def reasons(self, summary: PlanSummary, ses, volume_why: str | None) -> list[Reason]:
        """Every reason to flag the run degraded, with its key (before acknowledgements)."""
        prep = self.prep
        reasons = plan_reasons(summary)
        if volume_why:
            reasons.append(Reason("volume-drop", volume_why))
        ops = operations_within(prep.drop.operations, prep.t0, prep.t1)[0] if prep.drop else None
        kept, lost = dropped_frozen(prep.fixed, self.dropped, prep.base.id if prep.base else None, ops)
        reasons += [Reason(f"frozen-dropped:{x.orbiter}:{x.asset}", text) for (x, _), text in zip(self.dropped, lost)]
        self.lost = lost
        self.missing = base_mod.missing_frozen(kept, ses)
        reasons += [Reason("frozen-missing", f"frozen session of run {prep.base.id} missing from the plan: {m}")
                    for m in self.missing]
        self.intruders = freeze_intruders(ses, prep) if prep.base is not None else 0
        if self.intruders:
            reasons.append(Reason("freeze-intruders", f"{self.intruders} session(s) not in the base plan start "
                                                      f"inside the freeze horizon (before {prep.freeze_end})"))
        return reasons

    def check(self, summary: PlanSummary, ses, problem=None) -> tuple[list[str], dict]:
        """The reasons to flag the run degraded (those no acknowledgement covers), and
        nightly.json (the job's own figures).  The diff against the base run names the outages,
        vetoes and requests that came with this night (``problem`` against the base's instance)."""
        prep, job = self.prep, self.job
        base_ses, self.diff = None, None
        if prep.base is not None:
            with Archive.open_existing(self.archive_path) as arch:
                base_ses = arch.sessions(prep.base.id)
            # the new sessions' times spelled as the archive stores them: the diff is `relay diff`'s
            archived = ses.assign(start=iso_text(ses["start"]), end=iso_text(ses["end"]))
            old = prep.base.problem
            causes = plandiff.operation_causes(old, problem) if old is not None and problem is not None else ()
            self.diff = plandiff.diff_sessions(base_ses, archived, prep.t0, prep.common_end_tdb_s,
                                               summary.figures.volume_unit_mbit, causes=causes)
            self.diff.update(latency_over=" of the whole plans", latency_by_asset=plandiff.latency_rows(
                PlanSummary.from_json(prep.base.run.get("summary") or {}).latency_by_asset, summary.latency_by_asset))
            self.log.event("diff", base_run=prep.base.id, **plandiff.counts(self.diff))
        volume, why = volume_check(prep, ses, base_ses, job.options.max_drop_pct)
        left, acknowledged = split_acknowledged(self.reasons(summary, ses, why), self.acks(), prep.t0)
        reasons = [r.text for r in left]
        missing, lost, intruders = self.missing, self.lost, self.intruders
        n_frozen = int(ses["frozen"].sum())
        nightly = {"plan_start": prep.start, "plan_end": prep.end, "days": job.days,
                   "freeze_hours": job.options.freeze_hours, "frozen_until": prep.freeze_end if n_frozen else None,
                   "frozen_sessions": n_frozen, "base_run": self.run["base_run"],
                   "config_hash": self.run["config_hash"], "sessions": len(ses),
                   "fixed_sessions_missing": missing, "frozen_sessions_dropped": lost,
                   "previous_sessions": 0 if prep.previous is None else len(prep.previous),
                   "change_penalty_mbit": job.change_penalty_mbit if prep.previous is not None else None,
                   "change_penalty_in_effect": prep.previous is not None,
                   "backlogs": prep.backlog_source, "vs_base": volume,
                   "diff": plandiff.counts(self.diff) if self.diff else None,
                   "sessions_added_in_freeze": intruders, "degraded": reasons,
                   "degraded_keys": [r.key for r in left], "acknowledged": acknowledged,
                   "inputs": dict(sorted(self.run["input_hashes"].items()))}
        return reasons, nightly

    def render(self, result, nightly: dict) -> dict:
        """The run's files (no wall-clock figures): the plan's, diff.csv against the base plan
        (the header alone without one), and report.html with the run's banner."""
        degraded = bool(nightly["degraded"])
        with Archive(self.archive_path) as arch:  # under the lock: the id this run will get
            run_id = arch.next_id_hint()
        banner = NightlyBanner(run_id=run_id if degraded else None, reasons=tuple(nightly["degraded"]),
                               acknowledged=tuple(a["reason"] for a in nightly["acknowledged"]),
                               frozen_until=nightly["frozen_until"], base_run=nightly["base_run"],
                               plan_start=nightly["plan_start"], plan_end=nightly["plan_end"],
                               diff=plandiff.counts_text(self.diff) if self.diff is not None else None)
        diff = plandiff.diff_table(self.diff) if self.diff is not None else None
        texts = result.render(reproducible=True, diff=diff, nightly=banner)   # the page once, with the banner
        if diff is None:   # no base plan: diff.csv is its header alone
            texts["diff.csv"] = csv_text(pd.DataFrame(columns=plandiff.DIFF_CSV_COLUMNS))
        return texts

    def write_and_archive(self, result, ses, nightly: dict) -> tuple[int, int | None]:
        """Write the files, archive the run; returns its id and the current run after it."""
        with Stage(self.log, "write") as f:
            runs_dir = self.out / "runs"
            runs_dir.mkdir(parents=True, exist_ok=True)
            self.tmp_dir = runs_dir / f".tmp-{os.getpid()}-{int(time.time() * 1000)}"
            self.tmp_dir.mkdir()
            files = write_plan_folder(self.tmp_dir, self.render(result, nightly), result.summary)
            write_text(self.tmp_dir / "nightly.json", json.dumps(nightly, indent=2, sort_keys=True) + "\n")
            fsync_tree(self.tmp_dir)
            f.update(files=len(files) + 1)
        safety.checkpoint("written")
        with Stage(self.log, "archive") as f:
            self.run["finished"] = utcnow()

            def place(run_id: int):
                final = runs_dir / str(run_id)
                if final.exists():  # left by a run killed between its rename and its commit
                    shutil.rmtree(final)
                os.rename(self.tmp_dir, final)
                fsync_dir(runs_dir)
                safety.checkpoint("renamed")

            with Archive(self.archive_path) as arch:
                run_id = arch.store_run({**self.run, "out_dir": str(self.out)}, ses, result.downlinks,
                                        self.prep.inputs, in_transaction=place, force_current=self.job.force)
                current = arch.current()["id"]
                for ack in (self.prep.drop.acks if self.prep.drop else []):
                    arch.add_ack({**ack, "created": self.run["finished"], "run_id": run_id})
            self.tmp_dir = None
            f.update(run_id=run_id, current_run=current)
        safety.checkpoint("committed")
        set_current(self.out, current)
        return run_id, current

    def fail(self, exc: BaseException) -> int:
        """Exit 1: archive the run as failed with its error (never current)."""
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        message = f"{type(exc).__name__}: {exc}"
        self.log.event("failed", exit_code=1, error=message, traceback=tb)
        self.ui.err(f"error: the run failed: {message}")
        run = {"started": self.started, "finished": utcnow(), "status": "failed", "exit_code": 1,
               "config_path": str(Path(self.job.config).resolve()), "error": tb.strip()}
        prep = self.prep
        self.outcome.update(status="failed", error=message)
        if prep is not None:
            self.outcome.update(plan_start=prep.start, plan_end=prep.end)
            run.update(plan_start=prep.start, plan_end=prep.end, freeze_end=prep.freeze_end,
                       plan_start_tdb_s=prep.t0, days=self.job.days, base_run=prep.base.id if prep.base else None,
                       input_hashes=input_hashes(prep.inputs))
        try:
            with Archive(self.archive_path) as arch:
                run_id = arch.store_run(run, inputs=prep.inputs if prep else [])
            self.outcome["run_id"] = run_id
            self.ui.err(f"archived as failed run {run_id}; the current plan is unchanged")
            self.log.event("archived", run_id=run_id, status="failed")
        except Exception as exc2:  # noqa: BLE001
            self.ui.err(f"error: could not archive the failure either: {type(exc2).__name__}: {exc2}")
        return 1


class _Report:
    """The printed summary of a planned run."""

    def __init__(self, ui: _Ui, run_id: int, run: dict, summary: PlanSummary, ses, prep: Prepared, out: Path,
                 stages: dict):
        self.ui, self.run_id, self.run, self.summary, self.ses, self.prep, self.out, self.stages = \
            ui, run_id, run, summary, ses, prep, out, stages

    def print(self, nightly: dict, diff: dict | None, reasons: list[str], current: int | None) -> None:
        say, prep = self.ui.say, self.prep
        word = {0: "planned", 3: "planned, DEGRADED"}[self.run["exit_code"]]
        frozen = f", frozen until {nightly['frozen_until']}" if nightly["frozen_until"] else ""
        say(f"relay nightly: run {self.run_id} {word} (exit {self.run['exit_code']}): {prep.start} to "
            f"{prep.end}{frozen}")
        self.inputs()
        n = len(self.ses)
        head = (f"  {n} sessions ({nightly['frozen_sessions']} frozen, kept from run {prep.base.id})"
                if prep.base else f"  {n} sessions (no earlier plan)")
        say(head + f", delivered {self.summary.delivered_mbit:.1f} Mbit, solver {self.summary.status}")
        by_asset = self.summary.figures.delivered_by_asset
        if by_asset:
            say("  by asset: " + ", ".join(f"{k} {float(v):.1f} Mbit" for k, v in by_asset.items()))
        vs = nightly["vs_base"]
        if vs is not None and diff is not None:
            say(f"  vs run {vs['base_run']} over {vs['span_start']} to {vs['span_end']}: returned "
                f"{vs['returned_mbit']:.1f} Mbit (run {vs['base_run']}: {vs['base_returned_mbit']:.1f} Mbit, "
                f"{vs['change_pct']:+.1f} %); {plandiff.counts_text(diff)}")
        for r in reasons:
            say(f"  DEGRADED: {r}")
        for a in nightly["acknowledged"]:
            who = f"ack {a['ack']}" if a["ack"] is not None else "the drop folder's ack file"
            say(f"  acknowledged ({who}, until {a['until']}): {a['reason']}")
        where = f"current -> runs/{current}"
        if current != self.run_id:
            where = (f"current stays at runs/{current}: this run plans an earlier night than it (make it current "
                     f"with `relay promote {self.run_id}`, or run with --force)")
        say(f"  plan files: {self.out / 'runs' / str(self.run_id)}; {where}")
        say("  stages: " + ", ".join(f"{k} {v:.1f} s" for k, v in self.stages.items()))

    def inputs(self) -> None:
        say, prep = self.ui.say, self.prep
        if prep.drop is not None:
            for f in prep.drop.orbit_files:
                say(f"  drop {f.path.name}: {f.orbiter or '-'}: {f.status}")
            if prep.drop.bookings is not None:
                say(f"  drop {prep.drop.bookings.name}: station bookings")
            for p in prep.drop.backlog_files:
                say(f"  drop {p.name}: asset backlogs")
            for p in prep.drop.operation_files:
                say(f"  drop {p.name}: operational inputs (outages, requests or vetoes)")
        if prep.backlog_source:
            say("  starting backlogs: " + ", ".join(f"{a} {src}" for a, src in prep.backlog_source.items()))
        for note in prep.notes:
            say(f"  note: {note}")
