"""Re-planning a written or in-memory plan after an operational change (issue 11).

A plan keeps what re-planning needs beside its instance: ``problem.json`` (the
solver's instance, with the outages, vetoes and requests already applied) and
``volumes.npz`` (:class:`ReplanState`: the link stage's pass table and its
:class:`~relay.links.VolumeTable`, the Earth-Mars geometry, the planner's
settings, the scenario's station names and the frozen period).  :func:`replan`
applies new inputs (locks, vetoes, outages, requests; see
:mod:`relay.operations`) ON TOP of the ones the plan already had, re-solves,
and compares the new sessions with the old ones (:mod:`relay.nightly.diff`'s
rules: added, removed, moved, volume per asset before and after).  No geometry
is recomputed: a cut session's volume comes from the saved VolumeTable.

``relay replan PLANDIR ... --out DIR`` and :meth:`relay.result.PlanResult.replan`
share :func:`replan`; a bad input raises :class:`~relay.errors.RelayInputError`
before anything is written.
"""
from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: the file of a plan directory that holds the :class:`ReplanState`
STATE_FILE = "volumes.npz"
#: the diff of a re-plan against the plan it started from
DIFF_FILE = "diff.csv"
_STATE_SCHEMA = "relay.replan_state"
_STATE_VERSION = 1
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)   # fixed: the same plan gives a byte-identical file
#: the largest volumes.npz read (a 60-day horizon of a large network holds a few tens of MB)
MAX_STATE_BYTES = 1 << 30


@dataclass(frozen=True)
class ReplanState:
    """What re-planning needs beyond the instance: the link stage's pass table (geometry and
    volume columns, :data:`relay.pipeline.Volumes.passes`) and its VolumeTable, the Earth-Mars
    geometry (light times, for latencies), the planner's settings, the scenario's station
    names (an outage may name a station without windows in the horizon) and the frozen period."""

    volume_table: Any                         # relay.links.VolumeTable
    passes: pd.DataFrame
    earth_mars: pd.DataFrame | None = None
    settings: Any = None                      # relay.planning.settings.PlanningSettings
    stations: tuple[str, ...] = ()
    frozen_until_tdb_s: float | None = None
    extra: dict = field(default_factory=dict)

    # -------------------------------------------------------------- the volumes.npz file
    def to_bytes(self) -> bytes:
        """``volumes.npz``: every array under its name (deflated), no pickled object, a fixed zip date."""
        arrays = {f"vt.{k}": np.asarray(v) for k, v in self.volume_table.to_arrays().items()}
        frames = {}
        for name, df in (("passes", self.passes), ("earth_mars", self.earth_mars)):
            if df is None:
                continue
            frames[name] = list(map(str, df.columns))
            for k, c in enumerate(df.columns):
                arrays[f"{name}.{k}"] = _column_array(df[c])
        meta = {"schema": _STATE_SCHEMA, "version": _STATE_VERSION, "frames": frames,
                "settings": self.settings.model_dump(mode="json") if self.settings is not None else None,
                "stations": list(self.stations), "frozen_until_tdb_s": self.frozen_until_tdb_s,
                "extra": self.extra}
        arrays["meta"] = np.frombuffer(json.dumps(meta, sort_keys=True).encode("utf-8"), dtype=np.uint8)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for name in sorted(arrays):
                one = io.BytesIO()
                np.lib.format.write_array(one, np.asarray(arrays[name]), allow_pickle=False)
                # deflate level 1: a tenth of the size for a few milliseconds
                zf.writestr(zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_DATE), one.getvalue(),
                            compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)
        return buf.getvalue()

    @classmethod
    def read(cls, path) -> "ReplanState":
        """The state of a ``volumes.npz`` file; anything else is a RelayInputError naming it."""
        from .errors import RelayInputError
        from .inputs import regular_file
        from .links import VolumeTable
        from .planning.settings import PlanningSettings

        p = regular_file(path, "link volumes (volumes.npz)", MAX_STATE_BYTES)
        bad = ("is not the volumes.npz relay plan writes (expected the link volumes saved beside problem.json; "
               "re-run relay plan to write it)")
        try:
            with np.load(p, allow_pickle=False) as z:
                a = {k: z[k] for k in z.files}
            meta = json.loads(bytes(a["meta"]).decode("utf-8"))
            if meta.get("schema") != _STATE_SCHEMA or meta.get("version") != _STATE_VERSION:
                raise ValueError("schema")
            table = VolumeTable.from_arrays({k[3:]: v for k, v in a.items() if k.startswith("vt.")})
            frames = {name: pd.DataFrame({c: a[f"{name}.{k}"] for k, c in enumerate(cols)}, columns=cols)
                      for name, cols in meta["frames"].items()}
            settings = PlanningSettings.model_validate(meta["settings"]) if meta.get("settings") else None
        except (KeyError, ValueError, TypeError, OSError, zipfile.BadZipFile, UnicodeDecodeError):
            raise RelayInputError(bad, source=str(p)) from None
        return cls(table, frames["passes"], frames.get("earth_mars"), settings, tuple(meta.get("stations") or ()),
                   meta.get("frozen_until_tdb_s"), dict(meta.get("extra") or {}))


def _column_array(col: pd.Series) -> np.ndarray:
    if col.dtype == bool or col.dtype.kind in "iuf":
        return col.to_numpy()
    return np.asarray(col.astype(str).to_numpy(), dtype=str)


# ---------------------------------------------------------------------------
# loading a plan directory
# ---------------------------------------------------------------------------

def load_for_replan(plan_dir):
    """The :class:`~relay.result.PlanResult` of a plan directory as far as re-planning needs it:
    its instance (problem.json), its sessions (schedule.csv), summary (summary.json) and state
    (volumes.npz).  A missing or broken file is a RelayInputError naming it."""
    from .errors import RelayInputError
    from .result import PlanResult, load_plan_dir, read_summary, sessions_table
    from .sols import clocks_of

    out = Path(plan_dir)
    problem, plan = load_plan_dir(out)
    if not (out / STATE_FILE).exists():
        raise RelayInputError(f"has no {STATE_FILE}: relay replan needs the link volumes saved beside problem.json "
                              "(relay plan writes them; re-run relay plan with this version of relay)",
                              source=str(out))
    state = ReplanState.read(out / STATE_FILE)
    table = state.volume_table
    known = dict(zip((int(i) for i in table.pass_ids), zip(table.rise_tdb_s, table.set_tdb_s)))
    for p in problem.passes:
        got = known.get(int(str(p.pass_id).lstrip("P") or -1))
        if got is None or abs(got[0] - p.rise_tdb_s) > 1e-3 or abs(got[1] - p.set_tdb_s) > 1e-3:
            raise RelayInputError(f"does not belong to problem.json beside it (pass {p.pass_id} differs); expected "
                                  "the link volumes of the same plan", source=str(out / STATE_FILE))
    summary = read_summary(out / "summary.json") if (out / "summary.json").exists() else None
    if summary is None:
        raise RelayInputError("has no summary.json (expected the folder relay plan writes)", source=str(out))
    sessions = sessions_table(plan, clocks_of(problem))
    return PlanResult(sessions, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), summary, problem=problem,
                      plan=plan, state=state)


# ---------------------------------------------------------------------------
# re-planning
# ---------------------------------------------------------------------------

def read_operations(base, *, lock=None, forbid=None, outages=None, requests=None):
    """The new operational inputs (CSV paths or DataFrames) read against the plan's names,
    as one :class:`relay.operations.Operations`."""
    from .inputs import read_forbid, read_outages, read_requests, read_sessions_table
    from .operations import Operations

    P = base.problem
    orbiters = [o.name for o in P.orbiters]
    assets = [a.name for a in P.assets]
    stations = list(base.state.stations) if base.state is not None and base.state.stations else \
        sorted({d.station for d in P.downlinks})
    locks = read_sessions_table(lock, orbiters=orbiters, assets=assets, min_session_s=P.min_session_s,
                                turnaround_s=P.turnaround_s) if lock is not None else None
    return Operations(
        outages=read_outages(outages, orbiters=orbiters, stations=stations, assets=_asset_arg(P))
        if outages is not None else (),
        forbid=read_forbid(forbid, orbiters=orbiters, assets=assets) if forbid is not None else (),
        requests=read_requests(requests, assets=_asset_arg(P), orbiters=orbiters) if requests is not None else (),
        locks=locks)


def _asset_arg(problem):
    """The assets as the readers take them: name -> sol clock (a request by sol needs it)."""
    from .sols import clocks_of

    clocks = clocks_of(problem)
    return {a.name: clocks.get(a.name) for a in problem.assets}


def replan(base, *, lock=None, forbid=None, outages=None, requests=None, settings=None):
    """Re-solve ``base`` (a :class:`~relay.result.PlanResult` with its instance and
    :class:`ReplanState`) with new locks, vetoes, outages and requests applied on top of the
    ones it already had; the new PlanResult carries ``diff`` against ``base``."""
    import time

    from .errors import RelayInputError
    from .operations import apply
    from .planning.solve import solve
    from .result import result_from_plan
    from .summary import PLAN_STAGES

    t0 = time.perf_counter()
    state = base.state
    if state is None or base.problem is None:
        raise RelayInputError("this plan carries no saved instance and link volumes to re-plan from "
                              "(plan it with relay.plan, or load a plan folder with relay.replan.load_for_replan)",
                              source="replan")
    ops = read_operations(base, lock=lock, forbid=forbid, outages=outages, requests=requests)
    problem = apply(base.problem, ops, volume=state.volume_table)
    t1 = time.perf_counter()
    raw = solve(problem, settings if settings is not None else state.settings)
    t2 = time.perf_counter()
    result = result_from_plan(problem, raw, passes=state.passes, earth_mars=state.earth_mars,
                              frozen_until_tdb_s=state.frozen_until_tdb_s, state=state)
    t3 = time.perf_counter()
    timings = {"problem": round(t1 - t0, 3), "solve": round(t2 - t1, 3), "tables": round(t3 - t2, 3)}
    timings = {k: v for k, v in timings.items() if k in PLAN_STAGES}
    s = base.summary
    result.summary = result.summary.replace(scenario=s.scenario, scenario_hash=s.scenario_hash, start=s.start,
                                            end=s.end, days=s.days, timings_s=timings)
    result.timings = timings
    result.diff = plan_diff(base, result)
    return result


# ---------------------------------------------------------------------------
# the diff
# ---------------------------------------------------------------------------

def _with_pass_windows(sessions: pd.DataFrame, problem) -> pd.DataFrame:
    """The sessions with their passes' windows (for matching moved sessions) and ISO text times."""
    from .outputs.tables import iso_text

    w = {p.pass_id: (p.rise_tdb_s, p.set_tdb_s) for p in problem.passes}
    return sessions.assign(start=iso_text(sessions["start"]), end=iso_text(sessions["end"]),
                           pass_rise_tdb_s=[w.get(p, (np.nan, np.nan))[0] for p in sessions["pass_id"]],
                           pass_set_tdb_s=[w.get(p, (np.nan, np.nan))[1] for p in sessions["pass_id"]])


def plan_diff(old, new) -> dict:
    """The sessions of ``new`` against ``old`` (two PlanResults of one horizon), with the rules of
    :func:`relay.nightly.diff.diff_sessions`; plus the delivered volume of each plan.  Sessions
    held identically by both (same orbiter, asset, kind, times and volume within a unit) are
    counted unchanged before the matching, which then only sees the rest (the same answer: an
    identical pair is the matching's first choice), so a re-plan's diff takes milliseconds."""
    from .nightly.base import returned_by_asset
    from .nightly.diff import diff_sessions

    unit = new.problem.volume_unit_mbit
    a = _with_pass_windows(old.sessions, old.problem)
    b = _with_pass_windows(new.sessions, new.problem)

    def key(df):
        return list(zip(df["orbiter"], df["asset"], df["kind"], np.round(df["start_tdb_s"].astype(float), 3),
                        np.round(df["end_tdb_s"].astype(float), 3)))

    vol_b = dict(zip(key(b), b["volume_mbit"].astype(float)))
    same = [k in vol_b and abs(vol_b[k] - v) < unit - 1e-9 for k, v in zip(key(a), a["volume_mbit"].astype(float))]
    keys_same = {k for k, s in zip(key(a), same) if s}
    rest_a = a[~np.array(same, dtype=bool)] if len(a) else a
    rest_b = b[~np.array([k in keys_same for k in key(b)], dtype=bool)] if len(b) else b
    d = diff_sessions(rest_a.reset_index(drop=True), rest_b.reset_index(drop=True), unit_mbit=unit)
    d["unchanged"] += len(keys_same)
    va, vb = returned_by_asset(a, -1e300, 1e300), returned_by_asset(b, -1e300, 1e300)
    d["volume_by_asset"] = [{"asset": k, "volume_before_mbit": round(va.get(k, 0.0), 3),
                             "volume_after_mbit": round(vb.get(k, 0.0), 3),
                             "change_mbit": round(vb.get(k, 0.0) - va.get(k, 0.0), 3)}
                            for k in sorted(set(va) | set(vb))]
    d.update(delivered_before_mbit=old.summary.figures.delivered_mbit,
             delivered_after_mbit=new.summary.figures.delivered_mbit)
    return d


def diff_frame(d: dict) -> pd.DataFrame:
    """``diff.csv``: one row per added, removed, moved or changed session, then one per asset."""
    from .nightly.diff import diff_table

    return diff_table(d)


def diff_lines(d: dict, before: str, after: str) -> str:
    """The printed diff (the nightly job's wording after a header naming both plans)."""
    from .nightly.diff import counts_text, diff_text

    lines = diff_text({**d, "run_before": before, "run_after": after, "span_start": "", "span_end": ""}).split("\n")
    lines[0] = f"{before} -> {after}: {counts_text(d)}"
    out = [line.replace("over the common span ", "") for line in lines
           if not line.lstrip().startswith("whole plans")]
    out.append(f"  delivered to Earth (Mbit): {float(d['delivered_before_mbit']):.1f} -> "
               f"{float(d['delivered_after_mbit']):.1f}")
    return "\n".join(out)


__all__ = ["STATE_FILE", "DIFF_FILE", "ReplanState", "load_for_replan", "read_operations", "replan", "plan_diff",
           "diff_frame", "diff_lines"]
