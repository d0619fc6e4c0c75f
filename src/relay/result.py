"""A plan as the user sees it: :class:`PlanResult`, its tables, its typed summary, and its files.

:func:`result_from_plan` makes the PlanResult of a solver plan (the tables of
:mod:`relay.plantables`, each pass's reason from :mod:`relay.explain`);
:func:`result_from_folder` the one of a written plan folder, as far as
re-planning needs it.  :meth:`PlanResult.render` renders every file in memory
and :meth:`PlanResult.write` writes them only then (:mod:`relay.planfolder`),
so a failure while rendering (a chart, the report) leaves an existing plan
directory untouched.  :meth:`PlanResult.replan` re-solves the plan after an
operational change (:mod:`relay.replan`) and diffs the new plan against it
(:mod:`relay.plandiff`).
"""
from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import RelayInputError
from .explain import Explainer, per_sol, stranded_warnings
from .outputs.report import ASSET_COLOURS, ORBITER_COLOURS, STATION_COLOURS, colour_map, render_report, timeline
from .outputs.tables import csv_text
from .plandiff import diff_table, plan_diff
from .planfolder import read_plan_folder, write_plan_folder
from .plantables import (candidate_passes_table, downlinks_table, requests_table, sessions_table, store_table,
                         summary_of)
from .sols import clocks_of
from .summary import PLAN_STAGES, PlanSummary


@dataclass
class PlanResult:
    """A plan with its tables and its summary.

    ``sessions`` one row per relay session; ``downlinks`` one row per downlink
    used (volume summed over the assets whose data it carries); ``passes`` every
    candidate pass with its volume and whether a session uses it; ``store`` the
    fill of each orbiter store after each event; ``summary`` the typed
    :class:`~relay.summary.PlanSummary`; ``problem`` the solver's instance;
    ``plan`` the solver's raw plan; ``timings`` wall-clock seconds per stage; ``requests`` every
    relay request with its status; ``state`` what re-planning needs beyond the instance
    (:class:`relay.planstate.ReplanState`, written as volumes.npz); ``diff_record`` a re-plan's
    changes against the plan it started from as :func:`relay.plandiff.plan_diff` gives them (lists
    of rows per kind of change, the volume per asset and the delivered volume before and after),
    and :attr:`diff` the same changes as a DataFrame (diff.csv's rows, each with its cause).
    """

    sessions: pd.DataFrame
    downlinks: pd.DataFrame
    passes: pd.DataFrame
    store: pd.DataFrame
    summary: PlanSummary
    problem: Any = None
    plan: Any = None
    timings: dict = field(default_factory=dict)
    per_sol: pd.DataFrame | None = None
    requests: pd.DataFrame | None = None
    state: Any = None
    diff_record: dict | None = None

    def __repr__(self) -> str:
        s = self.summary
        return (f"<PlanResult {s.scenario or ''} {s.start} to {s.end}: {s.solve.status}, "
                f"{len(self.sessions)} sessions, {s.figures.delivered_mbit:,.1f} Mbit delivered>")

    def plot_timeline(self, by: str = "orbiter"):
        """The plan's timeline (``by`` "orbiter" or "asset") as a plotly Figure, as in report.html:
        sessions with tooltips (UTC, sol, LMST, volume, reason), unused passes faint, downlinks."""
        import plotly.graph_objects as go

        if by not in ("orbiter", "asset"):
            raise ValueError(f"by must be 'orbiter' or 'asset', got {by!r}")
        colours = {"asset": colour_map(self.passes["asset"], ASSET_COLOURS),
                   "orbiter": colour_map(self.passes["orbiter"], ORBITER_COLOURS),
                   "station": colour_map(self.downlinks["station"], STATION_COLOURS)}
        return go.Figure(timeline(self.sessions, self.passes, self.downlinks, by, colours))

    def replan(self, *, lock=None, forbid=None, outages=None, requests=None, settings=None, lift_outages=None,
               lift_vetoes=None, withdraw=None, release_locks=None) -> "PlanResult":
        """This plan re-solved with new locks (fixed sessions), vetoes (``forbid``), outages and
        requests (CSV paths, ``FILE:LINE``, DataFrames, or records as dicts, the columns of
        ``relay plan --fixed/--forbid/--outages/--requests``) on top of the ones it already had,
        from its instance and link volumes (no geometry recomputed); and without the outages,
        vetoes and locks given as ``lift_outages``, ``lift_vetoes`` and ``release_locks`` (the
        same rows as given before) and the requests whose ids ``withdraw`` names (a shortened
        outage: lift the old row and give the new one).  The new plan's ``diff`` lists the
        sessions added, removed, moved and changed, each with its cause (a DataFrame, diff.csv's
        table), and ``diff_record`` the same with the volume per asset before and after (see
        :mod:`relay.plandiff`)."""
        from .replan import read_lifts, resolve  # lazy: the solver, 0.28-0.41 s of import (load 6) relay passes never needs

        state = self.state
        if state is None or self.problem is None:
            raise RelayInputError("this plan carries no saved instance and link volumes to re-plan from "
                                  "(plan it with relay.plan, or load a plan folder with "
                                  "relay.result.result_from_folder)", source="replan")
        lifts = read_lifts(self.problem, state, outages=lift_outages, forbid=lift_vetoes, withdraw=withdraw,
                           locks=release_locks)
        new = resolve(self.problem, state, lock=lock, forbid=forbid, outages=outages, requests=requests,
                      settings=settings, lifts=lifts)
        state = new.state if new.state is not None else state
        t0 = time.perf_counter()
        result = result_from_plan(new.problem, new.plan, passes=state.passes, earth_mars=state.earth_mars,
                                  frozen_until_tdb_s=state.frozen_until_tdb_s, state=state)
        timings = {**new.timings, "tables": round(time.perf_counter() - t0, 3)}
        timings = {k: v for k, v in timings.items() if k in PLAN_STAGES}
        s = self.summary
        result.summary = result.summary.replace(scenario=s.scenario, scenario_hash=s.scenario_hash, start=s.start,
                                                end=s.end, days=s.days, timings_s=timings,
                                                warnings=tuple(new.warnings) + result.summary.warnings)
        result.timings = timings
        old_downlinks = downlinks_table(self.plan) if self.plan is not None else self.downlinks
        result.diff_record = {**plan_diff(self.sessions, self.problem, result.sessions, result.problem, new.operations,
                                          lifted=(*lifts.outages, *lifts.forbid),
                                          downlinks=(old_downlinks, result.downlinks),
                                          latency=(s.latency_by_asset, result.summary.latency_by_asset)),
                              "delivered_before_mbit": s.figures.delivered_mbit,
                              "delivered_after_mbit": result.summary.figures.delivered_mbit}
        return result

    @property
    def diff(self) -> pd.DataFrame | None:
        """A re-plan's changes as one table: diff.csv's rows (:data:`relay.plandiff.DIFF_CSV_COLUMNS`),
        one per session removed, added, moved or changed, each with its ``pass_id``, sol, LMST and
        ``cause``; None for a plan that is no re-plan (:attr:`diff_record` holds the same changes
        as lists, with the volume per asset before and after)."""
        return diff_table(self.diff_record) if self.diff_record is not None else None

    @property
    def diff_frame(self) -> pd.DataFrame | None:
        """The same as :attr:`diff` (its name before the diff was a DataFrame)."""
        return self.diff

    def render(self, *, reproducible: bool = False, diff: pd.DataFrame | None = None,
               nightly=None) -> dict[str, str | bytes]:
        """Every file of the plan by name: text, and the bytes of volumes.npz (nothing is written).
        ``diff`` (diff.csv's table; None: this re-plan's own, if any) and ``nightly`` (the run's
        banner) are what the nightly job's page shows besides the plan."""
        summary = self.summary.to_json(reproducible=reproducible)
        texts = {}
        for df, name in ((self.sessions, "schedule.csv"), (self.downlinks, "downlinks.csv"),
                         (self.passes, "passes.csv"), (self.store, "store.csv"), (self.per_sol, "sols.csv"),
                         (self.requests, "requests.csv")):
            if df is not None:
                texts[name] = csv_text(df)
        if diff is None:
            diff = self.diff
        if diff is not None:
            texts["diff.csv"] = csv_text(diff)
        texts["summary.json"] = json.dumps(summary, indent=1, sort_keys=True, allow_nan=False) + "\n"
        shown = self.summary if not reproducible else PlanSummary.from_json(summary)
        caps = {o.name: o.capacity_mbit for o in self.problem.orbiters} if self.problem is not None else {}
        texts["report.html"] = render_report(self.sessions, self.downlinks, self.store, shown, passes=self.passes,
                                             capacity_mbit=caps, per_sol=self.per_sol, requests=self.requests,
                                             operations=self.problem, diff=diff, nightly=nightly)
        if self.problem is not None:
            # the instance, so that `relay validate DIR` and `relay solve` can re-check and re-solve
            texts["problem.json"] = self.problem.to_json_text()
        if self.state is not None:
            # the link volumes, so that `relay replan DIR` re-solves without recomputing geometry
            texts["volumes.npz"] = self.state.to_bytes()
        return texts

    def write(self, out_dir, *, reproducible: bool = False) -> list[Path]:
        """Write schedule.csv, downlinks.csv, passes.csv, store.csv, sols.csv, requests.csv,
        summary.json, report.html, problem.json and volumes.npz (and a re-plan's diff.csv) into
        ``out_dir``: all rendered first, then each written atomically.
        ``reproducible`` leaves the wall-clock figures (solve time, stage timings) out of
        summary.json and report.html, so that the same inputs give byte-identical files (the
        nightly job writes this way)."""
        return write_plan_folder(out_dir, self.render(reproducible=reproducible), self.summary)


def result_from_plan(problem, raw, *, passes: pd.DataFrame | None = None,
                     earth_mars: pd.DataFrame | None = None, frozen_until_tdb_s: float | None = None,
                     state=None) -> PlanResult:
    """The user-facing tables and summary of a solver plan (:class:`relay.planning.plan.Plan`):
    every pass with the reason it is used as it is or not (:mod:`relay.explain`), the figures
    per asset and sol, every relay request with its status, and warnings about stranded data.
    ``state`` (:class:`relay.planstate.ReplanState`) is kept for re-planning."""
    sessions = sessions_table(raw, clocks_of(problem))
    ptab = candidate_passes_table(problem, set(sessions["pass_id"]), passes)
    ex = Explainer(problem, raw, frozen_until_tdb_s, volume=state.volumes if state is not None else None)
    why = ex.table().set_index("pass_id")
    at = list(ptab.columns).index("used") + 1
    ptab.insert(at, "reason", why["reason"].reindex(ptab["pass_id"]).fillna("").to_numpy())
    ptab.insert(at + 1, "reason_detail", why["reason_detail"].reindex(ptab["pass_id"]).fillna("").to_numpy())
    # what each pass can carry in this instance (outages, vetoes and the model's rules applied)
    at = list(ptab.columns).index("volume_mbit") + 1 if "volume_mbit" in ptab else at + 2
    ptab.insert(at, "usable_mbit", why["usable_mbit"].reindex(ptab["pass_id"]).fillna(0.0).to_numpy())
    summary = summary_of(problem, raw, earth_mars)
    viol = tuple(dataclasses.replace(v, reason=(r := ex.requirement(v)).code,
                                     detail=f"{v.detail} - {r.code}: {r.detail}" if r.code != "fixed" else v.detail)
                 for v in summary.figures.violations)
    summary = summary.replace(figures=summary.figures.replace(violations=viol))
    relayed = sessions.groupby("orbiter")["volume_mbit"].sum().to_dict() if len(sessions) else {}
    summary = summary.replace(warnings=tuple(stranded_warnings(summary, relayed)))
    return PlanResult(sessions, downlinks_table(raw), ptab, store_table(raw), summary, problem=problem, plan=raw,
                      per_sol=per_sol(problem, ptab, sessions), requests=requests_table(problem, raw, ex),
                      state=state)


def result_from_folder(plan_dir) -> PlanResult:
    """The :class:`PlanResult` of a plan folder as far as re-planning needs it: its instance
    (problem.json), its sessions (schedule.csv), summary (summary.json) and state (volumes.npz);
    see :func:`relay.planfolder.read_plan_folder`."""
    f = read_plan_folder(plan_dir)
    sessions = sessions_table(f.plan, clocks_of(f.problem))
    return PlanResult(sessions, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), f.summary, problem=f.problem,
                      plan=f.plan, state=f.state)


__all__ = ["PlanResult", "result_from_plan", "result_from_folder"]
