"""The base plan a nightly run continues, and what carries over from it.

The *base plan* is the last good archived run whose plan starts strictly
before this one (so re-running the same night repeats the same plan).  From
it come

* the *fixed sessions*: its sessions starting in the freeze horizon
  ``[start, start + freeze_hours)``, kept exactly (times at full precision);
* the *previous sessions*: its later sessions, which the planner prefers
  (moving or dropping one costs the change penalty);
* the *carried backlogs*: each asset's backlog at the new start as the base
  plan leaves it, :func:`carried_backlogs`;
* the *common span* ``[start, min(end, base end))`` over which the job
  compares the two plans (:func:`relay.plandiff.returned_by_asset`, used by
  ``--max-drop-pct``, the printed "vs run N" line and ``relay diff``).

Frozen sessions are matched to the new plan's sessions within
:data:`~relay.planning.formulation.FIXED_WINDOW_TOLERANCE_S` (the pass
refinement's tolerance plus the millisecond rounding of committed times).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import RelayInputError
from ..planfolder import verify_plan_folder
from ..planning.formulation import FIXED_WINDOW_TOLERANCE_S
from ..planning.problem import Problem

FIXED_COLUMNS = ["orbiter", "asset", "start", "end", "kind", "start_tdb_s", "end_tdb_s"]
PREVIOUS_COLUMNS = ["orbiter", "asset", "start", "end", "duration_s", "volume_mbit", "kind", "pass_id",
                    "start_tdb_s", "end_tdb_s"]


@dataclass
class BasePlan:
    run: dict  # the archived run
    sessions: Any  # its sessions (DataFrame), restricted to the scenario's orbiters and assets
    fixed: Any  # DataFrame of FIXED_COLUMNS or None
    previous: Any  # DataFrame of PREVIOUS_COLUMNS or None
    end_tdb_s: float
    notes: list[str]
    problem: Any = None  # its instance (run folder's problem.json, verified), read once; None: see why
    problem_missing: str | None = None  # why there is no instance (no folder, or not one whole plan)

    @property
    def id(self) -> int:
        return int(self.run["id"])

    def input_record(self) -> dict:
        """The archive's ``inputs`` row of the base plan."""
        blob = self.sessions[["orbiter", "asset", "start", "end", "kind"]].to_csv(index=False, lineterminator="\n")
        out_dir = self.run.get("out_dir")
        return {"kind": "base_plan", "name": f"run {self.id}",
                "path": str(Path(out_dir) / "runs" / str(self.id)) if out_dir else None,
                "sha256": hashlib.sha256(blob.encode()).hexdigest(), "bytes": len(blob),
                "detail": {"run": self.id, "fixed": 0 if self.fixed is None else len(self.fixed),
                           "previous": 0 if self.previous is None else len(self.previous)}}


def load_base(arch, t0: float, t_freeze: float, orbiters: list[str], assets: list[str]) -> BasePlan | None:
    """The base plan of a run starting at ``t0`` (TDB s) with its freeze ending at ``t_freeze``."""
    run = arch.base_for(t0)
    if run is None:
        return None
    ses = arch.sessions(run["id"])
    notes = []
    known = ses["orbiter"].isin(orbiters) & ses["asset"].isin(assets)
    if (~known).any():
        notes.append(f"base run {run['id']}: {int((~known).sum())} session(s) of orbiters/assets no longer "
                     "in the scenario are not carried over")
        ses = ses[known].reset_index(drop=True)
    st = ses["start_tdb_s"].astype(float)
    fixed = ses.loc[(st >= t0 - 1e-3) & (st < t_freeze), FIXED_COLUMNS].reset_index(drop=True)
    fixed["kind"] = fixed["kind"].fillna("return")
    fixed.attrs["source"] = f"the frozen sessions of run {run['id']}"
    previous = ses.loc[st >= t_freeze, [c for c in PREVIOUS_COLUMNS if c in ses.columns]].reset_index(drop=True)
    end = float(run["plan_start_tdb_s"]) + 86400.0 * float(run["days"])
    problem, missing = base_problem(run)
    return BasePlan(run, ses, fixed if len(fixed) else None, previous if len(previous) else None, end, notes,
                    problem, missing)


def base_problem(run: dict) -> tuple[Problem | None, str | None]:
    """The instance an archived run planned (its run folder's problem.json, the folder verified
    against its manifest) and None; or None and why not (no folder, or not one whole plan)."""
    out_dir = run.get("out_dir")
    path = Path(out_dir) / "runs" / str(run["id"]) / "problem.json" if out_dir else None
    if path is None or not path.is_file():
        return None, f"run {run['id']} has no problem.json ({path})"
    try:
        verify_plan_folder(path.parent)   # the base run's files are the plan the archive recorded
        return Problem.from_json(path), None
    except RelayInputError as exc:
        return None, f"run {run['id']}'s folder is not one whole plan ({exc})"


def carried_backlogs(base: BasePlan, t0: float, assets: list[str]) -> tuple[dict[str, float], str | None]:
    """Each asset's backlog at ``t0`` as the base plan leaves it: the base problem's starting
    backlog + the data generated up to ``t0`` - the return volume of the base sessions that
    start before ``t0`` (those are history: the new plan does not hold them).  Reads the base
    run's instance (:attr:`BasePlan.problem`); returns ({asset: Mbit}, None) or ({}, why not)."""
    if t0 > base.end_tdb_s:
        return {}, f"run {base.id}'s plan ends before the start"
    problem = base.problem
    if problem is None:
        return {}, base.problem_missing or f"run {base.id} has no problem.json"
    ses = base.sessions
    done = ses[(ses["start_tdb_s"].astype(float) < t0 - 1e-6) & (ses["kind"].fillna("return") == "return")]
    relayed = done.groupby("asset")["volume_mbit"].sum().to_dict()
    out = {}
    for a in problem.assets:
        if a.name not in assets:
            continue
        generated = sum(v for t, v in a.generation if t <= t0 + 1e-6)
        out[a.name] = round(max(0.0, a.backlog_mbit + generated - float(relayed.get(a.name, 0.0))), 3)
    return out, None


def match_fixed(fixed, orbiter, asset, s, e):
    """Index of the fixed session ``orbiter, asset, [s, e]`` matches within the tolerance, or None."""
    if fixed is None or not len(fixed):
        return None
    tol = FIXED_WINDOW_TOLERANCE_S
    m = ((fixed["orbiter"] == orbiter) & (fixed["asset"] == asset)
         & ((fixed["start_tdb_s"].astype(float) - float(s)).abs() <= tol)
         & ((fixed["end_tdb_s"].astype(float) - float(e)).abs() <= tol))
    return int(m.values.argmax()) if m.any() else None


def missing_frozen(fixed, ses) -> list[str]:
    """The frozen sessions the new plan does not hold, each named with its orbiter, asset, UTC
    times and the nearest session of the pair (the shift in seconds)."""
    if fixed is None:
        return []
    out = []
    for r in fixed.itertuples(index=False):
        if match_fixed(ses, r.orbiter, r.asset, r.start_tdb_s, r.end_tdb_s) is not None:
            continue
        pair = ses[(ses["orbiter"] == r.orbiter) & (ses["asset"] == r.asset)]
        near = ""
        if len(pair):
            d = (pair["start_tdb_s"].astype(float) - float(r.start_tdb_s)).abs()
            j = d.idxmin()
            near = (f"; nearest {pair.at[j, 'start']} to {pair.at[j, 'end']}, start "
                    f"{float(pair.at[j, 'start_tdb_s']) - float(r.start_tdb_s):+.3f} s, end "
                    f"{float(pair.at[j, 'end_tdb_s']) - float(r.end_tdb_s):+.3f} s")
        out.append(f"{r.orbiter} -> {r.asset} {r.start} to {r.end}{near}")
    return out
