"""``relay validate``: a written plan folder checked as a whole, from its files alone.

Three kinds of findings, listed alike (:class:`relay.planning.validate.Violation`):

* ``manifest``: a file that does not match manifest.json (missing, changed,
  or a plan file it does not list; :mod:`relay.planfolder`);
* the rules R1..R27 of the instance (:func:`relay.planning.validate.validate`,
  the independent validator);
* ``summary``: a figure summary.json claims that the plan's own files do not
  give: recomputed from schedule.csv and downlinks.csv, the volume delivered
  per asset and per orbiter, the volume relayed and left aboard, the sessions
  per asset and in all, the volume unit, the conjunction flag and the span
  (start, end, days) from problem.json; and each request's status in
  requests.csv (:func:`relay.planning.requests.request_status`).

A folder without a manifest, or whose files cannot be read, is an input error
(:class:`~relay.errors.RelayInputError`), not a finding.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import RelayInputError
from .planfolder import FROM_SCRATCH, PlanFiles, read_plan_files, read_table
from .planning.plan import Plan
from .planning.problem import Problem
from .planning.requests import request_status
from .planning.validate import Violation, validate
from .timescales import utc_to_tdb_s

#: schedule.csv holds volumes to the kbit: each session's may be off by half of one
SESSION_ROUNDING_MBIT = 5e-4
#: downlinks.csv holds volumes to six decimals; summary.json's figures are rounded to six
TOL_MBIT = 1e-3
#: the span's times are written to the millisecond
TOL_S = 1e-3


@dataclass(frozen=True)
class FolderCheck:
    """The plan folder's instance and plan as read, and every finding (empty: valid)."""

    problem: Problem
    plan: Plan
    violations: list


def _totals(pairs, keys) -> dict:
    out = {k: 0 for k in keys}
    for k, v in pairs:
        out[k] = out.get(k, 0) + v
    return out


def _map_claims(name: str, claimed: dict, got: dict, tol: float) -> list[tuple]:
    return [(f"{name}[{k}]", claimed.get(k, 0), got.get(k, 0), tol) for k in sorted(set(claimed) | set(got))]


def figure_claims(f: PlanFiles) -> list[tuple]:
    """(figure, claimed, recomputed, tolerance) of every figure of summary.json the plan's
    sessions and downlinks give."""
    P, fig = f.problem, f.summary.figures
    assets = [a.name for a in P.assets]
    relayed = sum(s.volume_mbit for s in f.sessions)
    delivered = sum(d.volume_mbit for d in f.downlinks)
    tol = TOL_MBIT + SESSION_ROUNDING_MBIT * len(f.sessions)
    by_asset = _totals(((d.asset, d.volume_mbit) for d in f.downlinks if d.asset in assets), assets)
    by_orbiter = _totals(((d.orbiter, d.volume_mbit) for d in f.downlinks), [o.name for o in P.orbiters])
    return [("relayed_mbit", fig.relayed_mbit, relayed, tol),
            ("onboard_end_mbit", fig.onboard_end_mbit,
             sum(o.initial_fill_mbit for o in P.orbiters) + relayed - delivered, tol),
            ("sessions", fig.sessions, len(f.sessions), 0), ("conjunction", fig.conjunction, bool(P.conjunction), 0),
            ("volume_unit_mbit", fig.volume_unit_mbit, P.volume_unit_mbit, 1e-12),
            *_map_claims("delivered_by_asset", fig.delivered_by_asset, by_asset, TOL_MBIT),
            *_map_claims("delivered_by_orbiter", fig.delivered_by_orbiter, by_orbiter, TOL_MBIT),
            *_map_claims("sessions_by_asset", fig.sessions_by_asset, _totals(((s.asset, 1) for s in f.sessions),
                                                                             assets), 0)]


def span_claims(f: PlanFiles) -> list[tuple]:
    """(figure, claimed, recomputed, tolerance) of summary.json's span against problem.json's."""
    P, s = f.problem, f.summary
    out = []
    for name, text, t in (("start", s.start, P.start_tdb_s), ("end", s.end, P.end_tdb_s)):
        if text is not None:
            try:
                out.append((name + " (TDB s)", utc_to_tdb_s(text), t, TOL_S))
            except (RelayInputError, ValueError, TypeError):
                out.append((name, text, "a time", None))
    if s.days is not None:
        out.append(("days", s.days, (P.end_tdb_s - P.start_tdb_s) / 86400.0, 2.0 / 86400.0))
    return out


def _differs(claimed, got, tol) -> bool:
    if tol is None:
        return True
    if isinstance(claimed, bool) or isinstance(got, bool):
        return bool(claimed) != bool(got)
    try:
        return not abs(float(claimed) - float(got)) <= tol
    except (TypeError, ValueError):
        return True


def summary_violations(f: PlanFiles) -> list[Violation]:
    """A ``summary`` finding per figure of summary.json that the plan's files do not give."""
    if f.summary is None:
        return []
    return [Violation("summary", f"summary.json claims {what} = {claimed}, the plan's files give {got}")
            for what, claimed, got, tol in figure_claims(f) + span_claims(f) if _differs(claimed, got, tol)]


def request_violations(out: Path, f: PlanFiles) -> list[Violation]:
    """A ``summary`` finding per request whose status in requests.csv the sessions do not give."""
    if not os.path.lexists(out / "requests.csv"):
        return []
    table, _ = read_table(out, "requests.csv", ["id", "status"])
    claimed = dict(zip(table["id"], table["status"]))
    got = {q["id"]: "met" if q["met"] else "unmet" for q in request_status(f.problem, f.sessions)}
    return [Violation("summary", f"requests.csv says request {k} is {claimed.get(k, '(not listed)')}, the "
                                 f"sessions make it {got.get(k, '(not a request of problem.json)')}")
            for k in sorted(set(claimed) | set(got)) if claimed.get(k) != got.get(k)]


def check_folder(plan_dir) -> FolderCheck:
    """Every finding about the plan folder ``plan_dir`` (see the module docstring)."""
    out = Path(plan_dir)
    f = read_plan_files(out, verify=False)
    found = [Violation("manifest", f"{why}; {FROM_SCRATCH}") for _, why in f.mismatches]
    found += validate(f.problem, f.plan)
    found += summary_violations(f) + request_violations(out, f)
    return FolderCheck(f.problem, f.plan, found)


__all__ = ["FolderCheck", "figure_claims", "span_claims", "summary_violations", "request_violations",
           "check_folder"]
