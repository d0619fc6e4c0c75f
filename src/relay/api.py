"""The Python API: the functions the command line and notebooks share.

>>> import relay
>>> sc = relay.load_scenario("configs/baseline.yaml")            # doctest: +SKIP
>>> passes = relay.find_passes(sc, "2026-11-23T00:00:00Z", days=7)  # doctest: +SKIP

Results are pandas DataFrames with ISO 8601 UTC time columns (``rise``,
``set``, ...) beside the TDB seconds the numerics use (``rise_tdb_s``...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .config import Scenario, load_scenario, scenario_hash
from .errors import CoverageError
from .timescales import parse_utc, tdb_s_to_iso, utc_to_tdb_s


def default_start() -> str:
    """The next 00:00 UTC (the start of "the coming week")."""
    now = datetime.now(timezone.utc)
    nxt = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return nxt.strftime("%Y-%m-%dT%H:%M:%SZ")


def span_tdb_s(start, days: float) -> tuple[float, float]:
    """(start, end) TDB seconds of a span; checked against de421's coverage."""
    from .ephem import DE421_SPAN, de421_span_tdb_s

    if not (days > 0):
        raise CoverageError(f"--days must be positive, got {days}", source="command line")
    t0 = utc_to_tdb_s(parse_utc(start, where="--start"))
    t1 = t0 + float(days) * 86400.0
    lo, hi = de421_span_tdb_s()
    if t0 < lo + 86400 or t1 > hi - 86400:
        raise CoverageError(
            f"the span {tdb_s_to_iso(t0)} to {tdb_s_to_iso(t1)} is outside the planetary ephemeris "
            f"(de421 covers {DE421_SPAN[0]} to {DE421_SPAN[1]})", source="command line", where="--start")
    return t0, t1


def _iso(values) -> list[str]:
    return list(tdb_s_to_iso(np.asarray(values, dtype=float))) if len(values) else []


def pass_set(scenario: Scenario, start, days: float = 7.0):
    """The geometry stage: a :class:`relay.geometry.PassSet` for the scenario and span."""
    from .geometry import find_passes as _find

    t0, t1 = span_tdb_s(start, days)
    ephs = scenario.ephemerides()
    steps = {o.name: o.step_s for o in scenario.orbiters}
    sites = scenario.sites()
    parts = []
    # orbiters with their own grid step are searched one by one
    if any(steps.values()):
        from .geometry import BodyFixed, PassSet

        bf = BodyFixed(t0, t1)
        for name, eph in ephs.items():
            parts.append(_find({name: eph}, sites, t0, t1, step_s=steps[name],
                               profile_step_s=scenario.geometry.profile_step_s, body_fixed=bf))
        passes = pd.concat([p.passes for p in parts], ignore_index=True)
        profiles = []
        offset = 0
        rows = []
        for p in parts:
            q = p.passes.copy()
            pr = p.profiles.copy()
            q["pass_id"] += offset
            pr["pass_id"] += offset
            offset += len(q)
            rows.append(q)
            profiles.append(pr)
        passes = pd.concat(rows, ignore_index=True).sort_values(["rise_tdb_s", "orbiter", "asset"],
                                                                kind="mergesort")
        remap = dict(zip(passes["pass_id"], range(len(passes))))
        passes["pass_id"] = passes["pass_id"].map(remap)
        prof = pd.concat(profiles, ignore_index=True)
        prof["pass_id"] = prof["pass_id"].map(remap)
        prof = prof.sort_values(["pass_id", "tdb_s"], kind="mergesort").reset_index(drop=True)
        return PassSet(passes.reset_index(drop=True), prof, t0, t1)
    return _find(ephs, sites, t0, t1, profile_step_s=scenario.geometry.profile_step_s)


def passes_table(ps) -> pd.DataFrame:
    """The user-facing pass table (ISO times with Z, to the millisecond) of a PassSet."""
    return passes_frame(ps.passes)


def passes_frame(passes: pd.DataFrame) -> pd.DataFrame:
    """The user-facing table of a pass DataFrame (geometry columns, plus any others it has)."""
    df = passes.copy()
    out = pd.DataFrame({
        "pass_id": df["pass_id"].astype(int),
        "orbiter": df["orbiter"], "asset": df["asset"],
        "rise": _iso(df["rise_tdb_s"]), "set": _iso(df["set_tdb_s"]),
        "duration_s": df["duration_s"].round(3),
        "max_elevation_deg": df["max_elevation_deg"].round(4),
        "max_elevation_time": _iso(df["max_elevation_tdb_s"]),
        "min_range_km": df["min_range_km"].round(3),
        "truncated": np.where(df["truncated_start"] & df["truncated_end"], "both",
                              np.where(df["truncated_start"], "start",
                                       np.where(df["truncated_end"], "end", ""))),
    })
    for col in df.columns:
        if col not in out.columns and col not in ("rise_tdb_s", "set_tdb_s", "max_elevation_tdb_s",
                                                  "truncated_start", "truncated_end"):
            out[col] = df[col].values
    out["rise_tdb_s"] = df["rise_tdb_s"].values
    out["set_tdb_s"] = df["set_tdb_s"].values
    return out


def find_passes(scenario: Scenario | str, start, days: float = 7.0) -> pd.DataFrame:
    """Every pass of every orbiter over every asset, as a DataFrame (see :func:`passes_table`)."""
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    return passes_table(pass_set(scenario, start, days))


def track_set(scenario: Scenario, start, days: float = 7.0):
    """Ground-station tracks (a :class:`relay.geometry.TrackSet`)."""
    from .geometry import find_tracks as _find

    t0, t1 = span_tdb_s(start, days)
    if not scenario.stations:
        from .geometry import TRACK_COLUMNS, TRACK_PROFILE_COLUMNS, TrackSet

        return TrackSet(pd.DataFrame(columns=TRACK_COLUMNS), pd.DataFrame(columns=TRACK_PROFILE_COLUMNS), t0, t1)
    return _find(scenario.ephemerides(), scenario.ground_stations(), t0, t1,
                 profile_step_s=scenario.geometry.track_profile_step_s)


def tracks_table(ts) -> pd.DataFrame:
    df = ts.tracks
    out = pd.DataFrame({
        "track_id": df["track_id"].astype(int),
        "orbiter": df["orbiter"], "station": df["station"],
        "start": _iso(df["start_tdb_s"]), "end": _iso(df["end_tdb_s"]),
        "duration_s": df["duration_s"].astype(float).round(3),
        "max_elevation_deg": df["max_elevation_deg"].astype(float).round(3),
    })
    for col in df.columns:
        if col not in out.columns and col not in ("start_tdb_s", "end_tdb_s", "truncated_start", "truncated_end"):
            out[col] = df[col].values
    out["start_tdb_s"] = df["start_tdb_s"].values
    out["end_tdb_s"] = df["end_tdb_s"].values
    return out


def find_tracks(scenario: Scenario | str, start, days: float = 7.0) -> pd.DataFrame:
    """Every window in which a station sees an orbiter (above its mask, not hidden by Mars)."""
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    return tracks_table(track_set(scenario, start, days))


def earth_mars_table(scenario: Scenario, start, days: float = 7.0, step_s: float = 3600.0) -> pd.DataFrame:
    from .geometry import earth_mars

    t0, t1 = span_tdb_s(start, days)
    df = earth_mars(t0, t1, step_s, scenario.geometry.conjunction_deg)
    df.insert(0, "time", _iso(df["tdb_s"]))
    return df


# ---------------------------------------------------------------------------
# The plan (issue 4): geometry -> link volumes -> Problem -> solver -> PlanResult
# ---------------------------------------------------------------------------

#: summary keys that hold wall-clock figures; a reproducible write leaves them out
VOLATILE_SUMMARY_KEYS = ("solve_time_s", "build_time_s", "timings_s", "reproducible")


@dataclass
class PlanResult:
    """A plan with its tables (ISO Z times beside TDB seconds) and its summary.

    ``sessions`` one row per relay session; ``downlinks`` one row per downlink
    used (volume summed over the assets whose data it carries); ``passes`` every
    candidate pass with its volume and whether a session uses it; ``store`` the
    fill of each orbiter store after each event; ``summary`` a JSON-ready dict;
    ``problem`` the solver's instance; ``plan`` the solver's raw plan;
    ``timings`` wall-clock seconds per stage.
    """

    sessions: pd.DataFrame
    downlinks: pd.DataFrame
    passes: pd.DataFrame
    store: pd.DataFrame
    summary: dict
    problem: Any = None
    plan: Any = None
    timings: dict = field(default_factory=dict)

    def write(self, out_dir, *, reproducible: bool = False) -> list[Path]:
        """Write schedule.csv, downlinks.csv, passes.csv, store.csv, summary.json and report.html
        into ``out_dir``, each atomically.  ``reproducible`` leaves the wall-clock figures
        (solve time, stage timings) out of summary.json and report.html, so that the same
        inputs give byte-identical files (the nightly job writes this way)."""
        import json

        from .outputs.files import write_table, write_text
        from .outputs.report import render_report

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        summary = dict(self.summary)
        if reproducible:
            for k in VOLATILE_SUMMARY_KEYS:
                summary.pop(k, None)
        files = []
        for df, name in ((self.sessions, "schedule.csv"), (self.downlinks, "downlinks.csv"),
                         (self.passes, "passes.csv"), (self.store, "store.csv")):
            write_table(df, out / name)
            files.append(out / name)
        write_text(out / "summary.json", json.dumps(summary, indent=1, sort_keys=True, allow_nan=False) + "\n")
        files.append(out / "summary.json")
        write_text(out / "report.html", render_report(self.sessions, self.downlinks, self.store, summary))
        files.append(out / "report.html")
        if self.problem is not None:
            # the instance, so that `relay validate DIR` and `relay solve` can re-check and re-solve
            self.problem.to_json(out / "problem.json")
            files.append(out / "problem.json")
        return files


def settings_for(ps, solver=None, time_limit_s=None, workers=None, seed=None, gap_limit=None):
    """The :class:`~relay.planning.settings.PlanningSettings` ``ps`` with the given overrides
    (None: keep); a bad value is an input error naming the option."""
    upd = {}
    if gap_limit is not None:
        upd["gap_limit"] = float(gap_limit)
    if solver is not None:
        upd["solver"] = solver
    if time_limit_s is not None:
        upd["time_limit_s"] = float(time_limit_s)
    if workers is not None:
        upd["workers"] = int(workers)
        # more than one worker races threads: faster, not reproducible
        upd["deterministic"] = int(workers) == 1 and ps.deterministic
    if seed is not None:
        upd["seed"] = int(seed)
    if not upd:
        return ps
    try:
        return ps.model_validate({**ps.model_dump(), **upd})
    except Exception as exc:  # pydantic ValidationError: a bad option value
        from .errors import RelayInputError

        err = exc.errors()[0]
        key = ".".join(str(x) for x in err["loc"])
        raise RelayInputError(f"got {upd.get(key, err.get('input'))!r}: {err['msg']}",
                              source="planner options", where=key) from None


def _timer():
    import time

    marks = {}
    last = [time.perf_counter()]

    def mark(name):
        now = time.perf_counter()
        marks[name] = round(now - last[0], 3)
        last[0] = now
    return marks, mark


def plan(scenario: Scenario | str, start, days: float = 7.0, *, fixed_sessions=None,
         previous_sessions=None, change_penalty_mbit: float | None = None, backlogs=None,
         bookings=None, solver: str | None = None, time_limit_s: float | None = None,
         workers: int | None = None, seed: int | None = None, gap_limit: float | None = None,
         frozen_until=None, save_problem=None) -> PlanResult:
    """Plan relay sessions and downlinks over ``days`` from ``start`` (ISO 8601 UTC with Z).

    ``fixed_sessions`` (CSV path or DataFrame ``orbiter, asset, start, end[, kind]``) are kept
    exactly; ``previous_sessions`` (an earlier plan's schedule) are preferred: dropping or moving
    one costs ``change_penalty_mbit`` (default ``planning.change_penalty_mbit``) Mbit of value.
    ``backlogs`` (CSV path or DataFrame ``asset, time, backlog_mbit``; the latest row at or before
    ``start`` wins) overrides the configured backlogs; ``bookings`` (CSV path) replaces the
    scenario's station bookings.  ``solver``, ``time_limit_s``, ``workers``, ``seed``, ``gap_limit``
    override the scenario's ``planning`` settings.  ``frozen_until`` (ISO UTC): no session may start
    before it except the fixed ones (the commands up to then are already on their way).  ``save_problem`` writes the solver's instance as JSON.
    """
    from .geometry import earth_mars
    from .inputs import bookings_path as _bookings_path, read_backlogs, read_sessions_table
    from .links import pass_volumes, track_capacities
    from .planning.build import Inputs, build_problem
    from .planning.solve import solve

    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    settings = settings_for(scenario.planning, solver, time_limit_s, workers, seed, gap_limit)
    marks, mark = _timer()
    t0, t1 = span_tdb_s(start, days)
    fixed = read_sessions_table(fixed_sessions) if fixed_sessions is not None else None
    previous = read_sessions_table(previous_sessions, "previous sessions") if previous_sessions is not None \
        else None
    blog = read_backlogs(backlogs, t0) if backlogs is not None else None
    if blog:
        known = {a.name for a in scenario.assets}
        unknown = sorted(set(blog) - known)
        if unknown:
            from .errors import RelayInputError

            raise RelayInputError(f"unknown asset(s) {', '.join(unknown)}; the scenario has "
                                  f"{', '.join(sorted(known))}", source=str(backlogs) if not isinstance(
                                      backlogs, pd.DataFrame) else "backlogs")
    ps = pass_set(scenario, start, days)
    mark("geometry")
    pv, _, table = pass_volumes(scenario, ps.passes, ps.profiles, with_rate_profiles=False)
    mark("volumes")
    ts = track_set(scenario, start, days)
    mark("tracks")
    book = bookings if bookings is not None else _bookings_path(scenario)
    _, downlinks, _ = track_capacities(scenario, ts.tracks, ts.profiles, bookings=book)
    em = earth_mars(t0, t1, 3600.0, scenario.geometry.conjunction_deg)
    mark("downlinks")
    inputs = Inputs(passes=pv, volume_table=table, downlinks=downlinks, earth_mars=em)
    penalty = scenario.planning.change_penalty_mbit if change_penalty_mbit is None else float(change_penalty_mbit)
    frozen = utc_to_tdb_s(parse_utc(frozen_until, where="frozen_until")) if frozen_until is not None else None
    problem = build_problem(scenario, t0, t1, inputs, fixed_sessions=fixed, backlogs=blog,
                            previous_sessions=previous, change_penalty_mbit=penalty, frozen_until_tdb_s=frozen)
    if save_problem is not None:
        problem.to_json(save_problem)
    mark("problem")
    raw = solve(problem, settings)
    mark("solve")
    result = result_from_plan(problem, raw, passes=pv, downlink_windows=downlinks, earth_mars=em)
    result.summary.update(scenario=scenario.name, scenario_hash=scenario_hash(scenario),
                          start=tdb_s_to_iso(t0), end=tdb_s_to_iso(t1), days=float(days))
    if previous is not None:
        result.summary["changes_vs_previous"] = _changes(previous, result.sessions, t0, t1)
    mark("tables")
    result.timings = dict(marks)
    result.summary["timings_s"] = dict(marks)
    return result


def _changes(previous: pd.DataFrame, sessions: pd.DataFrame, t0: float, t1: float) -> dict:
    """Sessions of the previous plan (inside this horizon) kept exactly, moved or dropped."""
    prev = previous[(previous["end_tdb_s"] > t0) & (previous["start_tdb_s"] < t1)]
    kept = moved = 0
    for r in prev.itertuples(index=False):
        same = sessions[(sessions["orbiter"] == r.orbiter) & (sessions["asset"] == r.asset)
                        & (sessions["start_tdb_s"] < r.end_tdb_s) & (sessions["end_tdb_s"] > r.start_tdb_s)]
        if not len(same):
            continue
        if ((same["start_tdb_s"] - r.start_tdb_s).abs().min() < 1e-3
                and (same["end_tdb_s"] - r.end_tdb_s).abs().min() < 1e-3):
            kept += 1
        else:
            moved += 1
    return {"previous": int(len(prev)), "kept": kept, "moved": moved, "dropped": int(len(prev)) - kept - moved}


def result_from_plan(problem, raw, *, passes: pd.DataFrame | None = None,
                     downlink_windows: pd.DataFrame | None = None, earth_mars: pd.DataFrame | None = None
                     ) -> PlanResult:
    """The user-facing tables and summary of a solver plan (:class:`relay.planning.plan.Plan`)."""
    ses = raw.sessions
    sessions = pd.DataFrame({
        "orbiter": [s.orbiter for s in ses], "asset": [s.asset for s in ses],
        "start": _iso([s.start_tdb_s for s in ses]), "end": _iso([s.end_tdb_s for s in ses]),
        "duration_s": np.round([s.duration_s for s in ses], 3),
        "volume_mbit": np.round([s.volume_mbit for s in ses], 3),
        "kind": [s.kind for s in ses], "pass_id": [s.pass_id for s in ses],
        "fixed": [bool(s.fixed) for s in ses], "option_id": [s.option_id for s in ses],
        "start_tdb_s": np.round([s.start_tdb_s for s in ses], 6),
        "end_tdb_s": np.round([s.end_tdb_s for s in ses], 6),
    }, columns=["orbiter", "asset", "start", "end", "duration_s", "volume_mbit", "kind", "pass_id", "fixed",
                "option_id", "start_tdb_s", "end_tdb_s"])
    # downlinks: one row per chunk used, volume summed over the data owners
    agg: dict[str, dict] = {}
    for d in raw.downlinks:
        r = agg.setdefault(d.chunk_id, {"chunk_id": d.chunk_id, "window_id": d.window_id, "orbiter": d.orbiter,
                                        "station": d.station, "start_tdb_s": d.start_tdb_s,
                                        "end_tdb_s": d.end_tdb_s, "volume_mbit": 0.0, "by_asset": {}})
        r["volume_mbit"] += d.volume_mbit
        r["by_asset"][d.asset] = r["by_asset"].get(d.asset, 0.0) + d.volume_mbit
    rows = sorted(agg.values(), key=lambda r: (r["start_tdb_s"], r["orbiter"], r["station"]))
    rows = [r for r in rows if r["volume_mbit"] > 0]
    downlinks = pd.DataFrame({
        "orbiter": [r["orbiter"] for r in rows], "station": [r["station"] for r in rows],
        "start": _iso([r["start_tdb_s"] for r in rows]), "end": _iso([r["end_tdb_s"] for r in rows]),
        "volume_mbit": np.round([r["volume_mbit"] for r in rows], 3),
        "assets": [";".join(f"{k}={v:.6f}" for k, v in sorted(r["by_asset"].items())) for r in rows],
        "window_id": [r["window_id"] for r in rows], "chunk_id": [r["chunk_id"] for r in rows],
        "start_tdb_s": np.round([r["start_tdb_s"] for r in rows], 6),
        "end_tdb_s": np.round([r["end_tdb_s"] for r in rows], 6),
    }, columns=["orbiter", "station", "start", "end", "volume_mbit", "assets", "window_id", "chunk_id",
                "start_tdb_s", "end_tdb_s"])
    store = pd.DataFrame({
        "orbiter": [p.orbiter for p in raw.store], "time": _iso([p.tdb_s for p in raw.store]),
        "tdb_s": np.round([p.tdb_s for p in raw.store], 3), "fill_mbit": np.round([p.fill_mbit for p in raw.store], 3),
    }, columns=["orbiter", "time", "tdb_s", "fill_mbit"])
    if passes is not None:
        from .links import PASS_VOLUME_COLUMNS

        ptab = passes_frame(passes)
        ptab["pass_id"] = [f"P{int(p):05d}" for p in ptab["pass_id"]]
        keep = ["pass_id", "orbiter", "asset", "rise", "set", "duration_s", "max_elevation_deg",
                "max_elevation_time", "min_range_km", "truncated"]
        extra = [c for c in PASS_VOLUME_COLUMNS if c in ptab.columns]
        ptab = ptab[keep + extra + ["rise_tdb_s", "set_tdb_s"]].copy()
        if "volume_mbit" in ptab:
            ptab["volume_mbit"] = ptab["volume_mbit"].astype(float).round(3)
        used = set(sessions["pass_id"])
        ptab.insert(len(keep), "used", ptab["pass_id"].isin(used))
    else:
        ptab = pd.DataFrame({"pass_id": [p.pass_id for p in problem.passes],
                             "orbiter": [p.orbiter for p in problem.passes],
                             "asset": [p.asset for p in problem.passes],
                             "rise": _iso([p.rise_tdb_s for p in problem.passes]),
                             "set": _iso([p.set_tdb_s for p in problem.passes]),
                             "rise_tdb_s": [p.rise_tdb_s for p in problem.passes],
                             "set_tdb_s": [p.set_tdb_s for p in problem.passes]})
        ptab.insert(5, "used", ptab["pass_id"].isin(set(sessions["pass_id"])))
    summary = dict(raw.summary)
    summary["latency_by_asset"] = latency_by_asset(raw, earth_mars)
    summary.setdefault("start", tdb_s_to_iso(problem.start_tdb_s))
    summary.setdefault("end", tdb_s_to_iso(problem.end_tdb_s))
    summary.setdefault("scenario", problem.name)
    return PlanResult(sessions, downlinks, ptab, store, summary, problem=problem, plan=raw)


def latency_by_asset(raw, earth_mars: pd.DataFrame | None = None) -> dict:
    """Hours from the end of the relay session that carried a Mbit to its arrival on Earth
    (downlink end plus one-way light time), first in first out per orbiter and asset:
    ``{asset: {"mean_h", "worst_h", "mbit"}}`` over the data delivered in the horizon."""
    lt = 0.0
    if earth_mars is not None and len(earth_mars):
        lt_t, lt_v = earth_mars["tdb_s"].to_numpy(float), earth_mars["light_time_s"].to_numpy(float)
    out = {}
    keys = sorted({(s.orbiter, s.asset) for s in raw.sessions})
    acc: dict[str, list] = {}
    for orb, asset in keys:
        ins = sorted((s.end_tdb_s, s.volume_mbit) for s in raw.sessions
                     if s.orbiter == orb and s.asset == asset and s.volume_mbit > 0)
        outs = sorted((d.end_tdb_s, d.volume_mbit) for d in raw.downlinks
                      if d.orbiter == orb and d.asset == asset and d.volume_mbit > 0)
        i = 0
        left = ins[0][1] if ins else 0.0
        for t_out, v in outs:
            if earth_mars is not None and len(earth_mars):
                lt = float(np.interp(t_out, lt_t, lt_v))
            while v > 1e-9 and i < len(ins):
                take = min(v, left)
                if take > 0:
                    acc.setdefault(asset, []).append((take, (t_out + lt - ins[i][0]) / 3600.0))
                v -= take
                left -= take
                if left <= 1e-9:
                    i += 1
                    left = ins[i][1] if i < len(ins) else 0.0
    for asset, items in sorted(acc.items()):
        vol = sum(v for v, _ in items)
        if vol <= 0:
            continue
        out[asset] = {"mean_h": round(sum(v * h for v, h in items) / vol, 3),
                      "worst_h": round(max(h for _, h in items), 3), "mbit": round(vol, 3)}
    return out


def load_plan_dir(out_dir):
    """``(problem, plan)`` of a plan directory written by :meth:`PlanResult.write`
    (problem.json, schedule.csv, downlinks.csv), for :func:`relay.planning.validate.validate`."""
    from .errors import RelayInputError
    from .inputs import read_csv_table
    from .planning.plan import Downlink, Plan, Session
    from .planning.problem import Problem

    out = Path(out_dir)
    if not out.is_dir():
        raise RelayInputError("is not a plan directory (expected the --out folder of relay plan)", source=str(out))
    problem = Problem.from_json(out / "problem.json") if (out / "problem.json").exists() else None
    if problem is None:
        raise RelayInputError("has no problem.json: validate needs the instance the plan was made for "
                              "(relay plan and relay solve write it beside the plan)", source=str(out))

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
    return problem, Plan(sessions, downlinks)
