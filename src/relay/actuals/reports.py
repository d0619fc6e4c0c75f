"""Pass performance reports: read, matched to a plan's sessions, stored beside the plan.

A report file (CSV, read by :func:`relay.inputs.read_table` with every rule of relay's other
input files) has one row per relay session as it happened::

    orbiter, asset, start, end, achieved_mbit[, outcome][, note][, session_id]

``outcome`` is ``ok`` (default), ``partial``, ``failed`` or ``missed``; a failed or missed
session returned nothing (``achieved_mbit`` 0).  ``session_id``, when given, is the option id of
the planned session (schedule.csv's ``option_id``) and matches it alone; otherwise a report
matches the planned session of its orbiter and asset whose start and end both lie within
:data:`MATCH_TOLERANCE_S` (60 s) of the report's, the nearest when several do.

:func:`ingest` reads a plan folder through :mod:`relay.planfolder` (checked against its
manifest), matches every report, and stores the matched and unmatched reports (nothing is
dropped: an unmatched report is kept with an empty ``option_id``) in the folder's
:data:`ACTUALS_FILE`, merged with those already stored (a later report of the same session
replaces the earlier one), written atomically (:mod:`relay.fileio`).  actuals.csv is not a file
of the plan's manifest (:data:`relay.planfolder.PLAN_FILES`), so adding it never makes the
folder fail verification; and because ``relay plan`` only replaces a folder holding nothing but
plan files, a plan folder with reports is never overwritten by a new plan.  A mistake in the
report file is one :class:`~relay.errors.RelayInputError` naming the file, line, column and value,
and nothing is written.
"""
from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import RelayInputError
from ..fileio import write_text
from ..inputs import NOTE, Column, TableSpec, read_csv_table, read_table
from ..operations import MAX_ID_CHARS
from ..planfolder import read_plan_files, read_table as read_plan_table
from ..planning.problem import Problem

#: the reports stored in a plan folder
ACTUALS_FILE = "actuals.csv"
#: a report without a session id matches a planned session whose start and end are this close (s)
MATCH_TOLERANCE_S = 60.0
#: the most a report may state (Mbit)
MAX_ACHIEVED_MBIT = 1e6
OUTCOMES = ("ok", "partial", "failed", "missed")

REPORTS = TableSpec("pass performance reports", (
    Column("orbiter", "name", name_of="orbiter"), Column("asset", "name", name_of="asset"),
    Column("start", "time"), Column("end", "time"),
    Column("achieved_mbit", "number", minimum=0.0, maximum=MAX_ACHIEVED_MBIT, meaning="megabits"),
    Column("outcome", "choice", required=False, default="ok", choices=OUTCOMES), NOTE,
    Column("session_id", required=False, default="", max_chars=MAX_ID_CHARS)))

#: the columns of actuals.csv, in order
ACTUALS_COLUMNS = ("option_id", "pass_id", "orbiter", "asset", "kind", "sol", "start", "end", "start_tdb_s",
                   "end_tdb_s", "max_elevation_deg", "predicted_mbit", "capacity_mbit", "planned_mbit",
                   "achieved_mbit", "outcome", "report_start", "report_end", "note", "source", "line")


@dataclass(frozen=True)
class Ingest:
    """What :func:`ingest` did: the stored table, and the lists a person must see."""

    actuals: pd.DataFrame        # the folder's actuals.csv after the ingest (ACTUALS_COLUMNS)
    matched: int                 # reports of this file matched to a planned session
    replaced: tuple[str, ...]    # option ids whose stored report this file replaced
    unmatched: tuple[str, ...]   # reports of this file that match no planned session (one line each)
    unreported: tuple[str, ...]  # planned sessions with no report stored (one line each)
    path: Path                   # actuals.csv


def read_reports(src, *, orbiters=None, assets=None) -> pd.DataFrame:
    """The reports of a CSV (or DataFrame), every row checked: end after start, a failed or
    missed session with nothing achieved.  Columns ``line`` and :data:`REPORTS`' (times with
    ``_tdb_s``)."""
    df = read_table(src, REPORTS, known={"orbiter": orbiters, "asset": assets})
    source, label = df.attrs["source"], df.attrs["label"]
    for r in df.itertuples(index=False):
        if not r.end_tdb_s > r.start_tdb_s:
            raise RelayInputError(f"end {r.end} is not after start {r.start}; expected end > start", source=source,
                                  where=f"{label} {r.line}, column end")
        if r.outcome in ("failed", "missed") and r.achieved_mbit > 0:
            raise RelayInputError(f"got achieved_mbit {r.achieved_mbit:g} with outcome {r.outcome}; expected 0 for "
                                  "a session that returned nothing (or outcome partial)", source=source,
                                  where=f"{label} {r.line}, column achieved_mbit")
    return df


def mission_sol(problem: Problem, asset: str, tdb_s: float) -> int | None:
    """The mission sol (local sol when the asset has no landing) in which ``tdb_s`` falls."""
    a = problem.asset(asset)
    for sol, s0, s1 in a.sols:
        if s0 <= tdb_s < s1:
            return int(sol) + (a.mission_sol_offset or 0)
    return None


def planned_sessions(problem: Problem, plan_dir: Path) -> pd.DataFrame:
    """The plan's sessions (schedule.csv) with what calibration needs of their options: the link
    model's prediction (``predicted_mbit``: before any calibration), the capacity planned with and
    the pass's maximum elevation."""
    cols = ["option_id", "pass_id", "orbiter", "asset", "kind", "sol", "start", "end", "start_tdb_s", "end_tdb_s",
            "volume_mbit"]
    ses, _ = read_plan_table(Path(plan_dir), "schedule.csv", cols)
    options = {x.option_id: x for x in problem.options}
    conf = {c.option_id: c for c in problem.confidence.options} if problem.confidence is not None else {}
    rows = []
    for r in ses.itertuples(index=False):
        x = options.get(r.option_id)
        cap = x.capacity_mbit if x is not None else float(r.volume_mbit)
        c = conf.get(r.option_id)
        rows.append({"option_id": r.option_id, "pass_id": r.pass_id, "orbiter": r.orbiter, "asset": r.asset,
                     "kind": r.kind, "sol": int(r.sol) if str(r.sol).lstrip("-").isdigit()
                     else mission_sol(problem, r.asset, float(r.start_tdb_s)), "start": r.start, "end": r.end,
                     "start_tdb_s": float(r.start_tdb_s), "end_tdb_s": float(r.end_tdb_s),
                     "max_elevation_deg": round(90.0 * x.elevation_score, 3) if x is not None else float("nan"),
                     "predicted_mbit": round(c.predicted_mbit if c is not None else cap, 6),
                     "capacity_mbit": round(cap, 6), "planned_mbit": float(r.volume_mbit)})
    return pd.DataFrame(rows, columns=list(ACTUALS_COLUMNS[:14]))


def _match(reports: pd.DataFrame, planned: pd.DataFrame, tol_s: float) -> list[int | None]:
    """Per report, the index of its planned session (None: unmatched); a session reported twice
    in one file is an input error naming both lines."""
    source, label = reports.attrs["source"], reports.attrs["label"]
    by_id = {oid: k for k, oid in enumerate(planned["option_id"])}
    out, taken = [], {}
    for r in reports.itertuples(index=False):
        if r.session_id:
            k = by_id.get(r.session_id)
            if k is not None and (planned["orbiter"].iloc[k], planned["asset"].iloc[k]) != (r.orbiter, r.asset):
                raise RelayInputError(
                    f"session_id {r.session_id} is the session {planned['orbiter'].iloc[k]} -> "
                    f"{planned['asset'].iloc[k]}, not {r.orbiter} -> {r.asset}; expected the orbiter and asset of "
                    "that session (or no session_id)", source=source, where=f"{label} {r.line}, column session_id")
        else:
            near = planned[(planned["orbiter"] == r.orbiter) & (planned["asset"] == r.asset)
                           & ((planned["start_tdb_s"] - r.start_tdb_s).abs() <= tol_s)
                           & ((planned["end_tdb_s"] - r.end_tdb_s).abs() <= tol_s)]
            k = None
            if len(near):
                miss = (near["start_tdb_s"] - r.start_tdb_s).abs() + (near["end_tdb_s"] - r.end_tdb_s).abs()
                k = int(planned.index.get_loc(miss.idxmin()))
        if k is not None and k in taken:
            raise RelayInputError(f"reports the session {planned['option_id'].iloc[k]} again (already reported at "
                                  f"{label} {taken[k]}); expected one report per session", source=source,
                                  where=f"{label} {r.line}")
        if k is not None:
            taken[k] = r.line
        out.append(k)
    return out


def _rows(reports: pd.DataFrame, planned: pd.DataFrame, match: list[int | None]) -> pd.DataFrame:
    name = Path(reports.attrs["source"]).name
    rows = []
    for r, k in zip(reports.itertuples(index=False), match):
        base = planned.iloc[k].to_dict() if k is not None else {
            "option_id": "", "pass_id": "", "orbiter": r.orbiter, "asset": r.asset, "kind": "", "sol": "",
            "start": r.start, "end": r.end, "start_tdb_s": r.start_tdb_s, "end_tdb_s": r.end_tdb_s,
            "max_elevation_deg": float("nan"), "predicted_mbit": float("nan"), "capacity_mbit": float("nan"),
            "planned_mbit": 0.0}
        base.update(achieved_mbit=float(r.achieved_mbit), outcome=r.outcome, report_start=r.start,
                    report_end=r.end, note=r.note, source=name, line=int(r.line))
        rows.append(base)
    return pd.DataFrame(rows, columns=list(ACTUALS_COLUMNS))


def read_actuals(plan_dir) -> pd.DataFrame:
    """The reports stored in a plan folder (an empty table when it has none)."""
    path = Path(plan_dir) / ACTUALS_FILE
    if not os.path.lexists(path):
        return pd.DataFrame(columns=list(ACTUALS_COLUMNS))
    df, _ = read_csv_table(path, ACTUALS_COLUMNS, "the columns relay actuals ingest writes", ACTUALS_FILE)
    df = df[list(ACTUALS_COLUMNS)].copy()
    for c in ("start_tdb_s", "end_tdb_s", "max_elevation_deg", "predicted_mbit", "capacity_mbit", "planned_mbit",
              "achieved_mbit"):
        df[c] = pd.to_numeric(df[c].replace("", "nan"), errors="coerce")
    return df


def _merge(old: pd.DataFrame, new: pd.DataFrame) -> tuple[pd.DataFrame, tuple[str, ...]]:
    ids = set(new.loc[new["option_id"] != "", "option_id"])
    replaced = tuple(sorted(ids & set(old["option_id"])))
    keep = old[~old["option_id"].isin(ids) | (old["option_id"] == "")]
    both = pd.concat([keep, new], ignore_index=True) if len(keep) else new
    both = both.sort_values(["start_tdb_s", "orbiter", "asset", "option_id"], kind="mergesort")
    return both.reset_index(drop=True), replaced


def actuals_text(df: pd.DataFrame) -> str:
    """actuals.csv's text (six decimals, ``nan`` as an empty cell)."""
    buf = io.StringIO()
    df.to_csv(buf, index=False, columns=list(ACTUALS_COLUMNS), float_format="%.6f", na_rep="", lineterminator="\n")
    return buf.getvalue()


def _unreported(planned: pd.DataFrame, stored: pd.DataFrame) -> tuple[str, ...]:
    have = set(stored["option_id"])
    return tuple(f"{r.option_id} {r.orbiter} -> {r.asset} {r.start} to {r.end} ({r.planned_mbit:g} Mbit planned)"
                 for r in planned.itertuples(index=False) if r.option_id not in have)


def ingest(report_file, plan_dir, *, tolerance_s: float = MATCH_TOLERANCE_S) -> Ingest:
    """Read ``report_file``, match its reports to ``plan_dir``'s sessions and store them in the
    folder's actuals.csv (see the module docstring)."""
    out = Path(plan_dir)
    files = read_plan_files(out)
    planned = planned_sessions(files.problem, out)
    reports = read_reports(report_file, orbiters=[o.name for o in files.problem.orbiters],
                           assets=[a.name for a in files.problem.assets])
    match = _match(reports, planned, tolerance_s)
    new = _rows(reports, planned, match)
    stored, replaced = _merge(read_actuals(out), new)
    path = out / ACTUALS_FILE
    write_text(path, actuals_text(stored))
    label = reports.attrs["label"]
    unmatched = tuple(f"{label} {r.line}: {r.orbiter} -> {r.asset} {r.start} to {r.end}, {r.achieved_mbit:g} Mbit "
                      f"{r.outcome}" + (f" (no planned session {r.session_id})" if r.session_id else
                                        f" (no planned session within {tolerance_s:g} s)")
                      for r, k in zip(reports.itertuples(index=False), match) if k is None)
    return Ingest(stored, sum(k is not None for k in match), replaced, unmatched, _unreported(planned, stored), path)


__all__ = ["ACTUALS_FILE", "MATCH_TOLERANCE_S", "OUTCOMES", "REPORTS", "ACTUALS_COLUMNS", "Ingest", "read_reports",
           "mission_sol", "planned_sessions", "read_actuals", "actuals_text", "ingest"]
