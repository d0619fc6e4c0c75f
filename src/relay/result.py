"""A plan as the user sees it: its tables, its typed summary, and its files.

:class:`PlanResult` holds the user-facing tables (ISO 8601 UTC times beside TDB
seconds) and the :class:`~relay.summary.PlanSummary`; :meth:`PlanResult.write`
renders every file in memory first and only then writes them, each
atomically, so a failure while rendering (a chart, the report) leaves an
existing plan directory untouched.  :func:`load_plan_dir` reads a written plan
back for ``relay validate``.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .outputs.tables import csv_text, labelled, passes_frame, utc
from .sols import SolClock, clocks_of
from .summary import Latency, PlanSummary, Violation
from .timescales import tdb_s_to_iso

#: the files a plan directory holds, in the order written (diff.csv: a re-plan's only)
PLAN_FILES = ("schedule.csv", "downlinks.csv", "passes.csv", "store.csv", "sols.csv", "requests.csv", "diff.csv",
              "summary.json", "report.html", "problem.json", "volumes.npz")
#: requests.csv: every relay request of the plan and whether it is met (by which sessions, or why not)
REQUEST_COLUMNS = ["id", "asset", "orbiter", "kind", "start", "end", "sol", "priority", "points", "status",
                   "sessions", "reason", "reason_detail"]


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
    (:class:`relay.replan.ReplanState`, written as volumes.npz); ``diff`` a re-plan's changes
    against the plan it started from.
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
    diff: dict | None = None

    def __repr__(self) -> str:
        s = self.summary
        return (f"<PlanResult {s.scenario or ''} {s.start} to {s.end}: {s.solve.status}, "
                f"{len(self.sessions)} sessions, {s.figures.delivered_mbit:,.1f} Mbit delivered>")

    def plot_timeline(self, by: str = "orbiter"):
        """The plan's timeline (``by`` "orbiter" or "asset") as a plotly Figure, as in report.html:
        sessions with tooltips (UTC, sol, LMST, volume, reason), unused passes faint, downlinks."""
        import plotly.graph_objects as go

        from .outputs.report import ASSET_COLOURS, ORBITER_COLOURS, STATION_COLOURS, colour_map, timeline

        if by not in ("orbiter", "asset"):
            raise ValueError(f"by must be 'orbiter' or 'asset', got {by!r}")
        colours = {"asset": colour_map(self.passes["asset"], ASSET_COLOURS),
                   "orbiter": colour_map(self.passes["orbiter"], ORBITER_COLOURS),
                   "station": colour_map(self.downlinks["station"], STATION_COLOURS)}
        return go.Figure(timeline(self.sessions, self.passes, self.downlinks, by, colours))

    def replan(self, *, lock=None, forbid=None, outages=None, requests=None, settings=None) -> "PlanResult":
        """This plan re-solved with new locks (fixed sessions), vetoes (``forbid``), outages and
        requests (CSV paths or DataFrames, the columns of ``relay plan --fixed/--forbid/--outages/
        --requests``) on top of the ones it already had, from its instance and link volumes (no
        geometry recomputed).  The new plan's ``diff`` lists the sessions added, removed and moved
        and the volume per asset before and after (see :mod:`relay.replan`)."""
        from .replan import replan

        return replan(self, lock=lock, forbid=forbid, outages=outages, requests=requests, settings=settings)

    def render(self, *, reproducible: bool = False) -> dict[str, str | bytes]:
        """Every file of the plan by name: text, and the bytes of volumes.npz (nothing is written)."""
        from .outputs.report import render_report

        summary = self.summary.to_json(reproducible=reproducible)
        texts = {}
        for df, name in ((self.sessions, "schedule.csv"), (self.downlinks, "downlinks.csv"),
                         (self.passes, "passes.csv"), (self.store, "store.csv"), (self.per_sol, "sols.csv"),
                         (self.requests, "requests.csv")):
            if df is not None:
                texts[name] = csv_text(df)
        from .replan import diff_frame

        if self.diff is not None:
            texts["diff.csv"] = csv_text(diff_frame(self.diff))
        texts["summary.json"] = json.dumps(summary, indent=1, sort_keys=True, allow_nan=False) + "\n"
        shown = self.summary if not reproducible else PlanSummary.from_json(summary)
        caps = {o.name: o.capacity_mbit for o in self.problem.orbiters} if self.problem is not None else {}
        texts["report.html"] = render_report(self.sessions, self.downlinks, self.store, shown, passes=self.passes,
                                             capacity_mbit=caps, per_sol=self.per_sol, requests=self.requests,
                                             operations=self.problem,
                                             diff=diff_frame(self.diff) if self.diff is not None else None)
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
        from .outputs.files import atomic_path, write_text

        texts = self.render(reproducible=reproducible)
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        files = []
        for name in PLAN_FILES:
            if name in texts:
                if isinstance(texts[name], bytes):
                    with atomic_path(out / name) as tmp:
                        tmp.write_bytes(texts[name])
                else:
                    write_text(out / name, texts[name])
                files.append(out / name)
        return files


# ---------------------------------------------------------------------------
# tables of a solver plan
# ---------------------------------------------------------------------------

SESSION_COLUMNS = ["orbiter", "asset", "start", "end", "sol", "lmst_start", "lmst_end", "duration_s", "volume_mbit",
                   "kind", "pass_id", "fixed", "option_id", "start_tdb_s", "end_tdb_s"]
DOWNLINK_COLUMNS = ["orbiter", "station", "start", "end", "volume_mbit", "assets", "window_id", "chunk_id",
                    "start_tdb_s", "end_tdb_s"]
STORE_COLUMNS = ["orbiter", "time", "tdb_s", "fill_mbit"]


def local_time_columns(df: pd.DataFrame, clocks: dict[str, SolClock], start: str, end: str) -> dict[str, list]:
    """``sol`` (the asset's mission sol of ``start``), ``lmst_start`` and ``lmst_end`` (HH:MM:SS) of
    each row of a table with ``asset`` and TDB-second columns ``start`` and ``end``."""
    sol = [""] * len(df)
    l0 = [""] * len(df)
    l1 = [""] * len(df)
    for asset, idx in df.groupby("asset", sort=False).indices.items():
        c = clocks.get(asset)
        if c is None:
            continue
        t0 = df[start].to_numpy(float)[idx]
        t1 = df[end].to_numpy(float)[idx]
        for k, a, b, v in zip(idx, c.lmst(t0), c.lmst(t1), c.sol(t0)):
            sol[k], l0[k], l1[k] = int(v), a, b
    return {"sol": sol, "lmst_start": l0, "lmst_end": l1}


def sessions_table(raw, clocks: dict[str, SolClock] | None = None) -> pd.DataFrame:
    ses = raw.sessions
    base = pd.DataFrame({"asset": [s.asset for s in ses], "t0": [s.start_tdb_s for s in ses],
                         "t1": [s.end_tdb_s for s in ses]})
    local = local_time_columns(base, clocks or {}, "t0", "t1")
    return pd.DataFrame({
        "orbiter": [s.orbiter for s in ses], "asset": [s.asset for s in ses],
        "start": utc([s.start_tdb_s for s in ses]), "end": utc([s.end_tdb_s for s in ses]),
        "sol": local["sol"], "lmst_start": local["lmst_start"], "lmst_end": local["lmst_end"],
        "duration_s": np.round([s.duration_s for s in ses], 3),
        "volume_mbit": np.round([s.volume_mbit for s in ses], 3),
        "kind": [s.kind for s in ses], "pass_id": [s.pass_id for s in ses],
        "fixed": [bool(s.fixed) for s in ses], "option_id": [s.option_id for s in ses],
        "start_tdb_s": np.round([s.start_tdb_s for s in ses], 6),
        "end_tdb_s": np.round([s.end_tdb_s for s in ses], 6),
    }, columns=SESSION_COLUMNS)


def downlinks_table(raw) -> pd.DataFrame:
    """One row per chunk used, volume summed over the data owners (``assets``: asset=Mbit;...)."""
    agg: dict[str, dict] = {}
    for d in raw.downlinks:
        r = agg.setdefault(d.chunk_id, {"chunk_id": d.chunk_id, "window_id": d.window_id, "orbiter": d.orbiter,
                                        "station": d.station, "start_tdb_s": d.start_tdb_s,
                                        "end_tdb_s": d.end_tdb_s, "volume_mbit": 0.0, "by_asset": {}})
        r["volume_mbit"] += d.volume_mbit
        r["by_asset"][d.asset] = r["by_asset"].get(d.asset, 0.0) + d.volume_mbit
    rows = sorted(agg.values(), key=lambda r: (r["start_tdb_s"], r["orbiter"], r["station"]))
    rows = [r for r in rows if r["volume_mbit"] > 0]
    return pd.DataFrame({
        "orbiter": [r["orbiter"] for r in rows], "station": [r["station"] for r in rows],
        "start": utc([r["start_tdb_s"] for r in rows]), "end": utc([r["end_tdb_s"] for r in rows]),
        "volume_mbit": np.round([r["volume_mbit"] for r in rows], 3),
        "assets": [";".join(f"{k}={v:.6f}" for k, v in sorted(r["by_asset"].items())) for r in rows],
        "window_id": [r["window_id"] for r in rows], "chunk_id": [r["chunk_id"] for r in rows],
        "start_tdb_s": np.round([r["start_tdb_s"] for r in rows], 6),
        "end_tdb_s": np.round([r["end_tdb_s"] for r in rows], 6),
    }, columns=DOWNLINK_COLUMNS)


def store_table(raw) -> pd.DataFrame:
    return pd.DataFrame({
        "orbiter": [p.orbiter for p in raw.store], "time": utc([p.tdb_s for p in raw.store]),
        "tdb_s": np.round([p.tdb_s for p in raw.store], 3), "fill_mbit": np.round([p.fill_mbit for p in raw.store], 3),
    }, columns=STORE_COLUMNS)


def candidate_passes_table(problem, used: set, passes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every candidate pass (with its volume columns when the link stage's table is given),
    its mission sol and LMST at rise and set, and whether a session uses it."""
    ptab = _candidate_passes(problem, used, passes)
    local = local_time_columns(ptab, clocks_of(problem), "rise_tdb_s", "set_tdb_s")
    at = list(ptab.columns).index("set") + 1
    for k, col in enumerate(("sol", "lmst_start", "lmst_end")):
        ptab.insert(at + k, col, local[col])
    return ptab


def _candidate_passes(problem, used: set, passes: pd.DataFrame | None) -> pd.DataFrame:
    if passes is None:
        ptab = pd.DataFrame({"pass_id": [p.pass_id for p in problem.passes],
                             "orbiter": [p.orbiter for p in problem.passes],
                             "asset": [p.asset for p in problem.passes],
                             "rise": utc([p.rise_tdb_s for p in problem.passes]),
                             "set": utc([p.set_tdb_s for p in problem.passes]),
                             "rise_tdb_s": [p.rise_tdb_s for p in problem.passes],
                             "set_tdb_s": [p.set_tdb_s for p in problem.passes]})
        ptab.insert(5, "used", ptab["pass_id"].isin(used))
        return ptab
    from .links import PASS_VOLUME_COLUMNS

    ptab = labelled(passes_frame(passes))
    keep = ["pass_id", "orbiter", "asset", "rise", "set", "duration_s", "max_elevation_deg",
            "max_elevation_time", "min_range_km", "truncated"]
    extra = [c for c in PASS_VOLUME_COLUMNS if c in ptab.columns]
    ptab = ptab[keep + extra + ["rise_tdb_s", "set_tdb_s"]].copy()
    if "volume_mbit" in ptab:
        ptab["volume_mbit"] = ptab["volume_mbit"].astype(float).round(3)
    ptab.insert(len(keep), "used", ptab["pass_id"].isin(used))
    return ptab


def latency_by_asset(raw, earth_mars: pd.DataFrame | None = None) -> dict[str, Latency]:
    """Hours from the end of the relay session that carried a Mbit to its arrival on Earth
    (downlink end plus one-way light time), first in first out per orbiter and asset,
    over the data delivered in the horizon."""
    have_lt = earth_mars is not None and len(earth_mars)
    if have_lt:
        lt_t, lt_v = earth_mars["tdb_s"].to_numpy(float), earth_mars["light_time_s"].to_numpy(float)
    acc: dict[str, list] = {}
    for orb, asset in sorted({(s.orbiter, s.asset) for s in raw.sessions}):
        ins = sorted((s.end_tdb_s, s.volume_mbit) for s in raw.sessions
                     if s.orbiter == orb and s.asset == asset and s.volume_mbit > 0)
        outs = sorted((d.end_tdb_s, d.volume_mbit) for d in raw.downlinks
                      if d.orbiter == orb and d.asset == asset and d.volume_mbit > 0)
        i, left = 0, (ins[0][1] if ins else 0.0)
        for t_out, v in outs:
            lt = float(np.interp(t_out, lt_t, lt_v)) if have_lt else 0.0
            while v > 1e-9 and i < len(ins):
                take = min(v, left)
                if take > 0:
                    acc.setdefault(asset, []).append((take, (t_out + lt - ins[i][0]) / 3600.0))
                v -= take
                left -= take
                if left <= 1e-9:
                    i += 1
                    left = ins[i][1] if i < len(ins) else 0.0
    out = {}
    for asset, items in sorted(acc.items()):
        vol = sum(v for v, _ in items)
        if vol > 0:
            out[asset] = Latency(mean_h=round(sum(v * h for v, h in items) / vol, 3),
                                 worst_h=round(max(h for _, h in items), 3), mbit=round(vol, 3))
    return out


def summary_of(problem, raw, earth_mars: pd.DataFrame | None = None) -> PlanSummary:
    """The summary of a solved plan before the run's figures (scenario, span) are added; the
    violations name each asset's mission sol."""
    clocks = clocks_of(problem)
    viol = []
    for v in raw.figures.violations:
        c = clocks.get(v.asset)
        if c is not None and v.sol is not None and c.sol_offset:
            v = Violation(v.asset, int(c.sol_of_local(v.sol)), v.requirement, v.detail, local_sol=v.sol)
        viol.append(v)
    return PlanSummary(solve=raw.report, figures=raw.figures.replace(violations=tuple(viol)), scenario=problem.name,
                       start=tdb_s_to_iso(problem.start_tdb_s), end=tdb_s_to_iso(problem.end_tdb_s),
                       latency_by_asset=latency_by_asset(raw, earth_mars),
                       sol_numbering={k: c.kind for k, c in sorted(clocks.items())})


def result_from_plan(problem, raw, *, passes: pd.DataFrame | None = None,
                     earth_mars: pd.DataFrame | None = None, frozen_until_tdb_s: float | None = None,
                     state=None) -> PlanResult:
    """The user-facing tables and summary of a solver plan (:class:`relay.planning.plan.Plan`):
    every pass with the reason it is used as it is or not (:mod:`relay.explain`), the figures
    per asset and sol, every relay request with its status, and warnings about stranded data.
    ``state`` (:class:`relay.replan.ReplanState`) is kept for re-planning."""
    from .explain import Explainer, per_sol, stranded_warnings

    sessions = sessions_table(raw, clocks_of(problem))
    ptab = candidate_passes_table(problem, set(sessions["pass_id"]), passes)
    ex = Explainer(problem, raw, frozen_until_tdb_s)
    why = ex.table().set_index("pass_id")
    at = list(ptab.columns).index("used") + 1
    ptab.insert(at, "reason", why["reason"].reindex(ptab["pass_id"]).fillna("").to_numpy())
    ptab.insert(at + 1, "reason_detail", why["reason_detail"].reindex(ptab["pass_id"]).fillna("").to_numpy())
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


def requests_table(problem, raw, explainer=None) -> pd.DataFrame:
    """requests.csv: every relay request of the instance, ``met`` when enough sessions meet it
    (:func:`relay.operations.request_status`; ``sessions``: their option ids; ``reason``: how the
    first one uses its pass, whole, split, cut or fixed; ``reason_detail``: their times and volumes)
    or ``unmet`` with the reason in :mod:`relay.explain`'s vocabulary (the reasons of the passes in
    its window)."""
    from .operations import request_status
    from .summary import Violation

    clocks = clocks_of(problem)
    by_id = {s.option_id: s for s in raw.sessions}
    worth = {r.id: float(r.points) for r in problem.requests}
    passes = {p.pass_id: p for p in problem.passes}
    rows = []
    for q in request_status(problem, raw.sessions):
        if q["met"]:
            held = [by_id[o] for o in q["sessions"].split(";") if o in by_id]
            # the reason of the meeting session's pass (whole, split, cut, fixed), and the sessions
            reason = explainer.reason(passes[held[0].pass_id]).code if explainer is not None and held else ""
            detail = "; ".join(f"{s.orbiter} {_hms(s.start_tdb_s)}-{_hms(s.end_tdb_s)} UTC {s.volume_mbit:.1f} Mbit"
                               for s in held)
        elif explainer is not None:
            r = explainer.requirement(Violation(q["asset"], None, "request", f"request {q['id']} is not met"))
            reason, detail = r.code, r.detail
        else:
            reason, detail = "", ""
        c = clocks.get(q["asset"])
        rows.append({"id": q["id"], "asset": q["asset"], "orbiter": q["orbiter"], "kind": q["kind"],
                     "start": q["start_tdb_s"], "end": q["end_tdb_s"],
                     "sol": int(c.sol(np.array([q["start_tdb_s"]]))[0]) if c is not None else "",
                     "priority": q["priority"], "points": worth.get(q["id"], 0.0), "status": "met" if q["met"] else "unmet",
                     "sessions": q["sessions"], "reason": reason, "reason_detail": detail})
    df = pd.DataFrame(rows, columns=REQUEST_COLUMNS)
    df["start"] = utc(df["start"].astype(float).tolist())
    df["end"] = utc(df["end"].astype(float).tolist())
    return df


def _hms(t: float) -> str:
    from .timescales import tdb_s_to_iso

    return str(tdb_s_to_iso(t))[11:19]


# ---------------------------------------------------------------------------
# reading a plan directory back
# ---------------------------------------------------------------------------

def load_plan(out_dir):
    """``(problem, plan)`` of a written plan directory (see :func:`load_plan_dir`)."""
    return load_plan_dir(out_dir)


def load_plan_dir(out_dir):
    """``(problem, plan)`` of a plan directory written by :meth:`PlanResult.write`
    (problem.json, schedule.csv, downlinks.csv, summary.json when present), for
    :func:`relay.planning.validate.validate`."""
    from .errors import RelayInputError
    from .inputs import read_csv_table
    from .planning.plan import Downlink, Plan, Session
    from .planning.problem import Problem

    out = Path(out_dir)
    if not out.is_dir():
        raise RelayInputError("is not a plan directory (expected the --out folder of relay plan)", source=str(out))
    if not (out / "problem.json").exists():
        raise RelayInputError("has no problem.json: validate needs the instance the plan was made for "
                              "(relay plan and relay solve write it beside the plan)", source=str(out))
    problem = Problem.from_json(out / "problem.json")

    def table(name, cols):
        return read_csv_table(out / name, cols, "the columns relay plan writes", name)[0], out / name

    def num(v, path, line, col):
        try:
            x = float(v)
        except ValueError:
            x = float("nan")
        if not np.isfinite(x):
            raise RelayInputError(f"{col} {v!r} is not a number", source=str(path), where=f"line {line}")
        return x

    ses, sp = table("schedule.csv", ["orbiter", "asset", "volume_mbit", "kind", "pass_id", "option_id",
                                     "start_tdb_s", "end_tdb_s"])
    sessions = []
    for i, r in enumerate(ses.itertuples(index=False), start=2):
        sessions.append(Session(option_id=r.option_id, pass_id=r.pass_id, orbiter=r.orbiter, asset=r.asset,
                                start_tdb_s=num(r.start_tdb_s, sp, i, "start_tdb_s"),
                                end_tdb_s=num(r.end_tdb_s, sp, i, "end_tdb_s"),
                                volume_mbit=num(r.volume_mbit, sp, i, "volume_mbit"), kind=r.kind,
                                fixed=str(getattr(r, "fixed", "False")).lower() in ("true", "1")))
    dl, dp = table("downlinks.csv", ["orbiter", "station", "assets", "window_id", "chunk_id", "start_tdb_s",
                                     "end_tdb_s"])
    downlinks = []
    for i, r in enumerate(dl.itertuples(index=False), start=2):
        for part in filter(None, str(r.assets).split(";")):
            asset, _, vol = part.rpartition("=")
            if not asset:
                raise RelayInputError(f"assets {r.assets!r} is not a list of asset=Mbit separated by ';'",
                                      source=str(dp), where=f"line {i}")
            downlinks.append(Downlink(chunk_id=r.chunk_id, window_id=r.window_id, orbiter=r.orbiter,
                                      station=r.station, asset=asset,
                                      start_tdb_s=num(r.start_tdb_s, dp, i, "start_tdb_s"),
                                      end_tdb_s=num(r.end_tdb_s, dp, i, "end_tdb_s"),
                                      volume_mbit=num(vol, dp, i, "assets")))
    summary = read_summary(out / "summary.json") if (out / "summary.json").exists() else None
    if summary is None:
        return problem, Plan(sessions, downlinks)
    return problem, Plan(sessions, downlinks, report=summary.solve, figures=summary.figures)


def read_summary(path) -> PlanSummary:
    """The :class:`~relay.summary.PlanSummary` of a summary.json file."""
    from .errors import RelayInputError

    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise RelayInputError(f"cannot read the summary ({exc})", source=str(p)) from None
    except json.JSONDecodeError as exc:
        raise RelayInputError(f"not valid JSON: {exc.msg} (line {exc.lineno})", source=str(p)) from None
    if not isinstance(data, dict):
        raise RelayInputError("is not a JSON object (expected the summary.json relay plan writes)", source=str(p))
    try:
        return PlanSummary.from_json(data)
    except (TypeError, ValueError) as exc:
        raise RelayInputError(f"is not a relay plan summary ({exc})", source=str(p)) from None


__all__ = ["summary_of", "latency_by_asset", "PlanResult", "PLAN_FILES", "REQUEST_COLUMNS", "result_from_plan", "requests_table", "load_plan", "load_plan_dir", "read_summary", "sessions_table",
           "downlinks_table", "store_table", "candidate_passes_table"]
