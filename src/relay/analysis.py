"""What-if analysis: compare configurations side by side, run parameter sweeps on Dask.

>>> import relay
>>> cmp = relay.compare(["configs/baseline.yaml", "configs/insight-2019.yaml"],
...                     "2026-11-23T00:00:00Z", days=7, out="out/compare")   # doctest: +SKIP
>>> cmp.table            # one row per config and scope (total / asset / orbiter)  # doctest: +SKIP
>>> df = relay.analysis.sweep("configs/sweep-example.yaml", out="out/sweep")       # doctest: +SKIP

Both plan with :func:`relay.plan` and read the same metrics off each plan
(:func:`plan_metrics`), so a sweep row and a comparison row of the same
configuration agree.

Variants are written as dotted overrides of a base config
(``assets.Curiosity.min_elevation_deg: 15``; list items by name or index).  A
path that does not exist is a :class:`relay.errors.RelayInputError` listing
the valid keys (or item names) at the level where it goes wrong.

Sweep specification (YAML; paths relative to the sweep file)::

    base: baseline.yaml                 # the base config
    days: 7                             # horizon of every run (default 7)
    starts: ["2026-11-23T00:00:00Z"]    # or  start: ...  + weeks: N (N consecutive weeks)
    grid:                               # Cartesian product of every axis
      assets.Curiosity.min_elevation_deg: [10, 15, 20]
      tgo_altitude_km:                  # an axis that sets several keys to the same value
        set: [orbiters.TGO.orbit.periapsis_altitude_km, orbiters.TGO.orbit.apoapsis_altitude_km]
        values: [300, 400]
    variants:                           # and/or a list of named override sets
      - {name: no-mex, set: {orbiters.MEX.radio: ...}}
    plan: {time_limit_s: 30, workers: 1, seed: 0}   # relay.plan options of every run
    cluster: {n_workers: 2}             # LocalCluster size (default: cores // plan.workers)
    metric: delivered_mbit              # default metric of --plot

With both ``grid`` and ``variants`` every variant is combined with every grid
point.  Every combination is run for every start.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import itertools
import json
import math
import os
import sys
import time
import traceback
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from .config import (Scenario, list_item_index, load_scenario, read_yaml, scenario_from_dict, scenario_hash,
                     set_dotted)
from .errors import RelayInputError

from .constants import SOL_S  # a Mars solar day, s
SCOPES = ("total", "asset", "orbiter")
METRICS = ["delivered_mbit", "sessions", "session_hours", "mean_latency_h", "worst_latency_h",
           "decisional_sols_met", "utilisation_pct", "spare_capacity_mbit", "violations"]
DIFF_METRICS = ["delivered_mbit", "sessions", "mean_latency_h", "worst_latency_h",
                "decisional_sols_met", "utilisation_pct", "spare_capacity_mbit"]
FAILED_STATUSES = {"INFEASIBLE", "MODEL_INVALID", "ERROR"}


# ---------------------------------------------------------------------------
# Overrides: checked against the scenario model so that a wrong path lists the valid keys
# ---------------------------------------------------------------------------

def _unwrap(tp):
    """Strip Optional/Annotated; return (kind, inner) with kind in model|list|dict|union|leaf."""
    from pydantic import BaseModel

    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return _unwrap(args[0])
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        return ("union", models) if models else ("leaf", None)
    if origin in (list, tuple):
        args = typing.get_args(tp)
        return ("list", args[0] if args else None)
    if origin is dict:
        args = typing.get_args(tp)
        return ("dict", args[1] if len(args) > 1 else None)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return ("model", tp)
    return ("leaf", None)


def _model_keys(models) -> list[str]:
    keys: list[str] = []
    for m in models:
        for k in m.model_fields:
            if k not in keys and k != "path":
                keys.append(k)
    return keys


def check_override_path(dotted: str, data: dict | None = None, source: str = "override") -> None:
    """Raise :class:`RelayInputError` if ``dotted`` names no key of a scenario.

    The message lists the valid keys at the level where the path goes wrong
    (item names for lists, when ``data``, the raw config, is given).
    """
    parts = str(dotted).split(".")
    kinds = [("model", [Scenario])]
    node = data
    walked: list[str] = []
    for part in parts:
        kind, inner = kinds[-1]
        where = ".".join(walked) or "(top level)"
        if kind in ("model", "union"):
            models = inner if isinstance(inner, list) else [inner]
            # a discriminated union (orbit types): pick the member the data names, if any
            if len(models) > 1 and isinstance(node, dict) and "type" in node:
                typed = [m for m in models if "type" in m.model_fields and
                         node["type"] in (typing.get_args(m.model_fields["type"].annotation) or ())]
                models = typed or models
            fields = {}
            for m in models:
                fields.update({k: f for k, f in m.model_fields.items() if k != "path"})
            if part not in fields:
                raise RelayInputError(f"no key {part!r} under {where}; valid keys: "
                                      f"{', '.join(_model_keys(models))}", source=source, where=dotted)
            kinds.append(_unwrap(fields[part].annotation))
            node = node.get(part) if isinstance(node, dict) else None
        elif kind == "list":
            if isinstance(node, list):
                node = node[list_item_index(node, part, where, source, dotted)]
            else:
                node = None
            kinds.append(_unwrap(inner) if inner is not None else ("leaf", None))
        elif kind == "dict":
            node = node.get(part) if isinstance(node, dict) else None
            kinds.append(_unwrap(inner) if inner is not None else ("leaf", None))
        else:
            raise RelayInputError(f"{where} is a value, not a section; cannot set {part!r} in it",
                                  source=source, where=dotted)
        walked.append(part)


def _raw_config(path: str | Path) -> dict:
    from .config import resolve_extends

    p = Path(path)
    return resolve_extends(read_yaml(p), p.resolve())


def resolve(config: str | Path | Scenario, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """A scenario from a path or a Scenario, with dotted overrides (paths checked first)."""
    overrides = dict(overrides or {})
    if isinstance(config, Scenario):
        data = config.model_dump(mode="json")
        source = config.path or config.name
        for k in overrides:
            check_override_path(k, data, source=str(source))
        for k, v in overrides.items():
            set_dotted(data, k, copy.deepcopy(v), source=str(source))
        if not overrides:
            return config
        return scenario_from_dict(data, source=str(source))
    if overrides:
        data = _raw_config(config)
        for k in overrides:
            check_override_path(k, data, source=str(config))
    return load_scenario(config, overrides=overrides or None)


# ---------------------------------------------------------------------------
# Metrics of one plan
# ---------------------------------------------------------------------------

def _num(x, default=float("nan")) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return default
    return v


def _duration_s(df: pd.DataFrame) -> pd.Series:
    if "duration_s" in df.columns:
        return df["duration_s"].astype(float)
    if "end_tdb_s" in df.columns:
        return (df["end_tdb_s"] - df["start_tdb_s"]).astype(float)
    return pd.Series(0.0, index=df.index)


def plan_tables(plan) -> pd.DataFrame:
    """The metrics of one plan, one row per scope: ``total``, each asset, each orbiter.

    Columns: scope, name, delivered_mbit, sessions, session_hours,
    mean_latency_h, worst_latency_h, decisional_sols_met, utilisation_pct
    (session time / candidate pass time, in %), spare_capacity_mbit (the UHF volume
    of the candidate passes, whole and counted per orbiter, less what was relayed: the
    link capacity left unused), violations, status, gap, solve_time_s (the last three
    on the total row), and limited_by on asset rows (what limited the asset on most of
    its sols: data, link, earth or constraint; see relay.explain.per_sol).
    """
    rep, fig = plan.summary.solve, plan.summary.figures
    sessions = plan.sessions if plan.sessions is not None else pd.DataFrame()
    passes = plan.passes if getattr(plan, "passes", None) is not None else pd.DataFrame()
    sess_dur = _duration_s(sessions) if len(sessions) else pd.Series(dtype=float)
    pass_dur = passes["duration_s"].astype(float) if len(passes) and "duration_s" in passes else pd.Series(dtype=float)
    lat = plan.summary.latency_by_asset
    dec = fig.decisional_sols_met
    viol = fig.violations
    by_asset = fig.delivered_by_asset
    by_orbiter = fig.delivered_by_orbiter
    assets = sorted(set(by_asset) | set(lat) | set(dec) |
                    (set(sessions["asset"]) if len(sessions) else set()) |
                    (set(passes["asset"]) if len(passes) and "asset" in passes else set()))
    orbiters = sorted(set(by_orbiter) | (set(sessions["orbiter"]) if len(sessions) else set()) |
                      (set(passes["orbiter"]) if len(passes) and "orbiter" in passes else set()))

    def util(col, name):
        ss = sess_dur[sessions[col] == name].sum() if len(sessions) else 0.0
        ps = pass_dur[passes[col] == name].sum() if len(passes) and col in passes else 0.0
        return 100.0 * ss / ps if ps > 0 else float("nan")

    def count(col, name):
        return int((sessions[col] == name).sum()) if len(sessions) else 0

    def hours(col, name):
        return float(sess_dur[sessions[col] == name].sum()) / 3600.0 if len(sessions) else 0.0

    pass_vol = passes["volume_mbit"].astype(float) if len(passes) and "volume_mbit" in passes else None
    ses_vol = sessions["volume_mbit"].astype(float) if len(sessions) else pd.Series(dtype=float)

    def spare(col=None, name=None):
        if pass_vol is None:
            return float("nan")
        offered = float(pass_vol.sum() if col is None else pass_vol[passes[col] == name].sum())
        used = float(ses_vol.sum() if col is None else ses_vol[sessions[col] == name].sum()) if len(sessions) else 0.0
        return max(offered - used, 0.0)

    per_sol = getattr(plan, "per_sol", None)

    def limited(asset):
        if per_sol is None or not len(per_sol):
            return ""
        s = per_sol.loc[per_sol["asset"] == asset, "limited_by"]
        return s.value_counts().sort_index().idxmax() if len(s) else ""

    rows = []
    means = [_num(lat[a].mean_h if a in lat else None) for a in assets]
    worsts = [_num(lat[a].worst_h if a in lat else None) for a in assets]
    finite_means = [m for m in means if math.isfinite(m)]
    finite_worsts = [w for w in worsts if math.isfinite(w)]
    total_pass = float(pass_dur.sum()) if len(pass_dur) else 0.0
    rows.append({
        "scope": "total", "name": "(all)",
        "delivered_mbit": _num(fig.delivered_mbit, 0.0),
        "sessions": int(len(sessions)),
        "session_hours": float(sess_dur.sum()) / 3600.0 if len(sess_dur) else 0.0,
        "mean_latency_h": sum(finite_means) / len(finite_means) if finite_means else float("nan"),
        "worst_latency_h": max(finite_worsts) if finite_worsts else float("nan"),
        "decisional_sols_met": int(sum(int(v) for v in dec.values())) if dec else 0,
        "utilisation_pct": 100.0 * float(sess_dur.sum()) / total_pass if total_pass > 0 else float("nan"),
        "spare_capacity_mbit": spare(),
        "violations": len(viol),
        "status": rep.status, "gap": _num(rep.gap),
        "solve_time_s": _num(rep.solve_time_s),
    })
    for a, m, w in zip(assets, means, worsts):
        rows.append({
            "scope": "asset", "name": a, "delivered_mbit": _num(by_asset.get(a), 0.0),
            "sessions": count("asset", a), "session_hours": hours("asset", a),
            "mean_latency_h": m, "worst_latency_h": w,
            "decisional_sols_met": int(dec.get(a, 0) or 0),
            "utilisation_pct": util("asset", a),
            "spare_capacity_mbit": spare("asset", a),
            "violations": sum(1 for v in viol if v.asset == a),
            "limited_by": limited(a),
        })
    for o in orbiters:
        rows.append({
            "scope": "orbiter", "name": o, "delivered_mbit": _num(by_orbiter.get(o), 0.0),
            "sessions": count("orbiter", o), "session_hours": hours("orbiter", o),
            "utilisation_pct": util("orbiter", o),
            "spare_capacity_mbit": spare("orbiter", o),
        })
    df = pd.DataFrame(rows)
    for c in METRICS + ["status", "gap", "solve_time_s"]:
        if c not in df.columns:
            df[c] = float("nan")
    df["limited_by"] = df["limited_by"].fillna("") if "limited_by" in df else ""
    return df[["scope", "name"] + METRICS + ["limited_by", "status", "gap", "solve_time_s"]]


def plan_metrics(plan) -> dict:
    """One flat dict of a plan's metrics (a sweep row): totals, then ``<metric>.<asset>``."""
    t = plan_tables(plan)
    tot = t[t["scope"] == "total"].iloc[0]
    out: dict[str, Any] = {"status": tot["status"], "gap": tot["gap"], "solve_time_s": tot["solve_time_s"]}
    for m in METRICS:
        out[m] = tot[m]
    for rec in t[t["scope"] == "asset"].itertuples(index=False):
        out[f"delivered_mbit.{rec.name}"] = rec.delivered_mbit
        out[f"sessions.{rec.name}"] = rec.sessions
        out[f"worst_latency_h.{rec.name}"] = rec.worst_latency_h
        out[f"decisional_sols_met.{rec.name}"] = rec.decisional_sols_met
        out[f"spare_capacity_mbit.{rec.name}"] = rec.spare_capacity_mbit
        out[f"limited_by.{rec.name}"] = rec.limited_by
    for rec in t[t["scope"] == "orbiter"].itertuples(index=False):
        out[f"utilisation_pct.{rec.name}"] = rec.utilisation_pct
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in out.items()}


# ---------------------------------------------------------------------------
# Compare
# ---------------------------------------------------------------------------

@dataclass
class ComparisonResult:
    """Plans of several configs over the same horizon and their metrics.

    ``table``: one row per (config, scope, name) with :data:`METRICS`, status,
    gap, solve_time_s and, for every config after the first, the differences
    against the first config (``d_<metric>``, ``d_delivered_pct``).
    ``plans``: :class:`relay.api.PlanResult` by config name.
    """

    names: list[str]
    start: str
    days: float
    table: pd.DataFrame
    plans: dict
    sources: dict = field(default_factory=dict)
    overrides: dict = field(default_factory=dict)

    @property
    def totals(self) -> pd.DataFrame:
        return self.table[self.table["scope"] == "total"].reset_index(drop=True)

    @property
    def by_asset(self) -> pd.DataFrame:
        return self.table[self.table["scope"] == "asset"].reset_index(drop=True)

    @property
    def by_orbiter(self) -> pd.DataFrame:
        return self.table[self.table["scope"] == "orbiter"].reset_index(drop=True)

    @property
    def differences(self) -> pd.DataFrame:
        cols = ["config", "scope", "name"] + [c for c in self.table.columns if c.startswith("d_")]
        return self.table[self.table["config"] != self.names[0]][cols].reset_index(drop=True)

    def plot(self, metric: str = "delivered_mbit", scope: str = "asset"):
        """A bar chart of ``metric`` per config, for each name of ``scope`` ("asset", "orbiter" or
        "total"), as a plotly Figure (for a notebook)."""
        import plotly.graph_objects as go

        from .outputs.compare_report import HEADERS

        if metric not in METRICS:
            raise ValueError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {', '.join(SCOPES)}, got {scope!r}")
        t = self.table[self.table["scope"] == scope]
        fig = go.Figure()
        for n in self.names:
            sub = t[t["config"] == n]
            fig.add_bar(name=n, x=list(sub["name"]), y=list(sub[metric]))
        fig.update_layout(barmode="group", title=f"{HEADERS.get(metric, metric)} per {scope}",
                          yaxis_title=HEADERS.get(metric, metric), legend={"orientation": "h", "y": 1.08})
        return fig

    def write(self, out_dir: str | Path, plans: bool = True) -> list[Path]:
        """compare.csv, compare.html and (``plans=True``) every plan in ``out_dir/<config>/``."""
        from .outputs.compare_report import write_compare

        out = Path(out_dir)
        written = write_compare(self, out)
        if plans:
            for name, p in self.plans.items():
                written.extend(Path(x) for x in p.write(out / _safe(name)))
        return written


def _safe(name: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    return keep if keep.strip(".") else "config"


def _name_of(cfg) -> str:
    if isinstance(cfg, Scenario):
        return cfg.name
    return Path(cfg).stem


def _entries(configs_or_scenarios, variants) -> list[tuple[str, Any, dict]]:
    """(name, config, own overrides) for every config and variant."""
    if isinstance(configs_or_scenarios, (str, Path, Scenario)):
        configs_or_scenarios = [configs_or_scenarios]
    entries: list[tuple[str, Any, dict]] = []
    if isinstance(configs_or_scenarios, Mapping):
        items = [(str(k), v, {}) for k, v in configs_or_scenarios.items()]
    else:
        items = []
        for c in configs_or_scenarios:
            if isinstance(c, tuple):
                name, cfg, *rest = c
                items.append((str(name), cfg, dict(rest[0]) if rest else {}))
            else:
                items.append((_name_of(c), c, {}))
    entries.extend(items)
    if variants:
        if not entries:
            raise RelayInputError("variants need a first config to vary", source="compare")
        vitems = variants.items() if isinstance(variants, Mapping) else variants
        for name, ov in vitems:
            from .inputs import check_plain_name

            name = check_plain_name(str(name), "the variant name", "--variant")  # it becomes a folder name
            entries.append((name, entries[0][1], {**entries[0][2], **dict(ov)}))
    seen: dict[str, int] = {}
    out = []
    for name, cfg, ov in entries:
        n = seen.get(name, 0)
        seen[name] = n + 1
        out.append((name if n == 0 else f"{name}#{n + 1}", cfg, ov))
    return out


def compare(configs_or_scenarios, start, days: float = 28.0, *, out=None,
            overrides: Mapping[str, Any] | None = None, variants=None,
            plan_options: Mapping[str, Any] | None = None, write_plans: bool = True,
            progress: bool = False) -> ComparisonResult:
    """Plan every config over the same horizon and compare them.

    ``configs_or_scenarios``: paths, :class:`Scenario` objects, ``(name, config)``
    or ``(name, config, overrides)`` tuples, or a ``{name: config}`` mapping.
    ``overrides`` (dotted keys) apply to every config; ``variants`` (``{name:
    overrides}`` or a list of pairs) add variants of the first config (its own
    overrides and ``overrides`` included).  ``plan_options`` go to
    :func:`relay.plan` (``time_limit_s``, ``workers``, ``seed``...).  With
    ``out`` the comparison (and every plan, ``write_plans``) is written there.
    """
    from .api import plan as _plan

    entries = _entries(configs_or_scenarios, variants)
    if not entries:
        raise RelayInputError("nothing to compare: give at least one config", source="compare")
    common = dict(overrides or {})
    scenarios = {}
    for name, cfg, own in entries:
        scenarios[name] = resolve(cfg, {**common, **own})
    plans = {}
    tables = []
    for i, (name, sc) in enumerate(scenarios.items()):
        if progress:
            print(f"relay compare: planning {name} ({i + 1}/{len(scenarios)})", file=sys.stderr, flush=True)
        p = _plan(sc, start, days, **dict(plan_options or {}))
        plans[name] = p
        t = plan_tables(p)
        t.insert(0, "config", name)
        tables.append(t)
    table = _with_differences(pd.concat(tables, ignore_index=True), list(scenarios))
    result = ComparisonResult(names=list(scenarios), start=str(start), days=float(days), table=table,
                              plans=plans,
                              sources={n: (str(c) if not isinstance(c, Scenario) else (c.path or c.name))
                                       for n, c, _ in entries},
                              overrides={n: {**common, **own} for n, _, own in entries})
    if out is not None:
        result.write(out, plans=write_plans)
    return result


def _with_differences(table: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    first = table[table["config"] == names[0]].set_index(["scope", "name"])
    table = table.copy()
    for m in DIFF_METRICS:
        ref = [first[m].get((sc, n), float("nan")) if (sc, n) in first.index else float("nan")
               for sc, n in zip(table["scope"], table["name"])]
        table[f"d_{m}"] = table[m].astype(float) - pd.Series(ref, index=table.index, dtype=float)
    ref = pd.Series([first["delivered_mbit"].get((sc, n), float("nan")) if (sc, n) in first.index
                     else float("nan") for sc, n in zip(table["scope"], table["name"])],
                    index=table.index, dtype=float)
    table["d_delivered_pct"] = 100.0 * table["d_delivered_mbit"] / ref.where(ref != 0)
    order = {n: i for i, n in enumerate(names)}
    sorder = {s: i for i, s in enumerate(SCOPES)}
    table["_o"] = [order[c] * 10 + sorder[s] for c, s in zip(table["config"], table["scope"])]
    table = table.sort_values(["_o", "name"], kind="mergesort").drop(columns="_o").reset_index(drop=True)
    return table


# ---------------------------------------------------------------------------
# Sweep
# ---------------------------------------------------------------------------

@dataclass
class Run:
    run_id: int
    start: str
    params: dict          # column name -> value (the swept parameters)
    overrides: dict       # dotted key -> value
    variant: str | None = None


@dataclass
class SweepSpec:
    base: str
    days: float
    starts: list[str]
    runs: list[Run]
    params: list[str]
    plan_options: dict
    n_workers: int | None
    metric: str
    source: str

    @property
    def solver_workers(self) -> int:
        return int(self.plan_options.get("workers") or 1)


def _iso_week(start: str, k: int) -> str:
    from datetime import datetime, timedelta

    t = datetime.fromisoformat(str(start).replace("Z", "+00:00")) + timedelta(days=7 * k)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ") if t.microsecond == 0 else \
        t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _iso_start(value, source: str, where: str) -> str:
    """A start time as ISO 8601 UTC with Z (YAML turns unquoted times into datetimes)."""
    from datetime import date, datetime, timezone

    from .timescales import parse_utc

    if isinstance(value, datetime):
        t = parse_utc(value, source=source, where=where)  # refuses a time without a zone
    elif isinstance(value, date):
        t = datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    else:
        t = parse_utc(str(value), source=source, where=where)
    if t.microsecond:
        return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def load_sweep_spec(spec: str | Path | Mapping) -> SweepSpec:
    """Read a sweep specification (see the module docstring) into runs."""
    if isinstance(spec, Mapping):
        data, source, base_dir = dict(spec), "sweep", Path.cwd()
    else:
        data, source, base_dir = read_yaml(spec), str(spec), Path(spec).resolve().parent
    allowed = {"base", "days", "starts", "start", "weeks", "grid", "variants", "plan", "cluster",
               "metric", "name", "description"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise RelayInputError(f"unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(sorted(allowed))}",
                              source=source)
    if "base" not in data:
        raise RelayInputError("`base` (the base config file) is missing", source=source, where="base")
    base = Path(str(data["base"]))
    base = base if base.is_absolute() else (base_dir / base)
    if not base.exists():
        raise RelayInputError(f"the base config {base} does not exist", source=source, where="base")
    days = _num(data.get("days", 7.0))
    if not (0 < days <= 60) or isinstance(data.get("days"), bool):
        raise RelayInputError(f"got {data.get('days')!r}; expected a number of days above 0 and at most 60",
                              source=source, where="days")
    if "starts" in data:
        starts = data["starts"]
        if isinstance(starts, str):
            starts = [starts]
        if not isinstance(starts, list) or not starts:
            raise RelayInputError("expected a list of ISO 8601 UTC times", source=source, where="starts")
    elif "start" in data:
        weeks = data.get("weeks", 1)
        if not isinstance(weeks, int) or weeks < 1:
            raise RelayInputError(f"got {weeks!r}; expected a whole number of weeks >= 1", source=source,
                                  where="weeks")
        first = _iso_start(data["start"], source, "start")
        starts = [_iso_week(first, k) for k in range(weeks)]
    else:
        raise RelayInputError("give `starts: [...]` or `start:` (+ `weeks: N`)", source=source, where="starts")

    starts = [_iso_start(s, source, f"starts[{i}]") for i, s in enumerate(starts)]

    # grid axes: column name -> (keys, values)
    axes: list[tuple[str, list[str], list]] = []
    grid = data.get("grid") or {}
    if not isinstance(grid, Mapping):
        raise RelayInputError("expected a mapping of dotted keys to value lists", source=source, where="grid")
    for col, spec_v in grid.items():
        if isinstance(spec_v, Mapping):
            keys = spec_v.get("set")
            keys = [keys] if isinstance(keys, str) else keys
            values = spec_v.get("values")
            if not keys or not isinstance(keys, list) or not isinstance(values, list) or not values:
                raise RelayInputError("an axis with several keys is {set: [dotted keys], values: [...]}",
                                      source=source, where=f"grid.{col}")
            axes.append((str(col), [str(k) for k in keys], values))
        elif isinstance(spec_v, list) and spec_v:
            axes.append((str(col), [str(col)], spec_v))
        else:
            raise RelayInputError(f"got {spec_v!r}; expected a non-empty list of values", source=source,
                                  where=f"grid.{col}")
    variants: list[tuple[str | None, dict]] = []
    for i, v in enumerate(data.get("variants") or []):
        if not isinstance(v, Mapping) or not isinstance(v.get("set", {}), Mapping):
            raise RelayInputError("a variant is {name: ..., set: {dotted key: value, ...}}", source=source,
                                  where=f"variants[{i}]")
        variants.append((str(v.get("name", f"variant{i + 1}")), dict(v.get("set") or {})))
    if not variants:
        variants = [(None, {})]
    plan_options = dict(data.get("plan") or {})
    plan_options.setdefault("workers", 1)
    cluster = dict(data.get("cluster") or {})
    runs = []
    params = [a[0] for a in axes]
    points = list(itertools.product(*[a[2] for a in axes])) if axes else [()]
    rid = 0
    for vname, vset in variants:
        for point in points:
            ov = dict(vset)
            prm = {}
            for (col, keys, _), value in zip(axes, point):
                prm[col] = value
                for k in keys:
                    ov[k] = value
            for s in starts:
                runs.append(Run(rid, s, prm, ov, vname))
                rid += 1
    return SweepSpec(base=str(base.resolve()), days=float(days), starts=starts, runs=runs, params=params,
                     plan_options=plan_options, n_workers=cluster.get("n_workers"),
                     metric=str(data.get("metric", "delivered_mbit")), source=source)


def run_key(sc_hash: str, start: str, days: float, plan_options: Mapping) -> str:
    """The cache key of one run: resolved config, start, days and the planner options."""
    blob = json.dumps({"scenario": sc_hash, "start": str(start), "days": float(days),
                       "plan": {k: plan_options[k] for k in sorted(plan_options)}},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def execute_run(base: str | Scenario, overrides: dict, start: str, days: float, plan_options: dict,
                geometry_cache: str | None = None) -> dict:
    """Plan one run and return its record (never raises: failures are recorded).

    The task the sweep sends to Dask workers (with the run's resolved scenario as ``base`` and
    no overrides, so that a worker does not read the configuration again); also what a serial
    sweep calls.  ``geometry_cache``: a folder shared by the runs (see :mod:`relay.geocache`), so that
    variants with the same orbits, sites and span compute their geometry once.
    """
    t0, c0 = time.perf_counter(), time.process_time()
    rec: dict[str, Any] = {"ok": False, "error": "", "error_type": ""}
    try:
        sc = resolve(base, overrides)
        from . import geocache
        from .api import plan as _plan

        with geocache.using(geometry_cache) if geometry_cache is not None else contextlib.nullcontext():
            p = _plan(sc, start, days, **plan_options)
        rec.update(plan_metrics(p))
        status = str(rec.get("status", ""))
        if status in FAILED_STATUSES or status.startswith("INFEASIBLE"):
            rec["error"] = f"the solver found no plan (status {status})"
            rec["error_type"] = "Infeasible"
        else:
            rec["ok"] = True
    except RelayInputError as exc:
        rec["error"], rec["error_type"] = str(exc), type(exc).__name__
    except Exception as exc:  # a solver or planner error: recorded, the sweep goes on
        tb = traceback.format_exception_only(type(exc), exc)
        rec["error"], rec["error_type"] = "".join(tb).strip(), type(exc).__name__
    rec["wall_s"] = time.perf_counter() - t0
    rec["cpu_s"] = time.process_time() - c0  # CPU seconds of the process (wall_s also counts waiting for a core)
    rec["worker_pid"] = os.getpid()
    return rec


class Progress:
    """The sweep's progress bar on stderr (tqdm): done, failed, remaining (and cached).

    ``done``, ``failed`` and ``cached`` may be set directly before :meth:`show`.
    """

    def __init__(self, total: int, enabled: bool = True, stream=None, width: int = 30):
        self.total, self.enabled = total, enabled
        self.done = self.failed = self.cached = 0
        self._bar = None
        if enabled:
            from tqdm import tqdm

            self._bar = tqdm(total=total, file=stream or sys.stderr, ascii=" #", mininterval=0.5,
                             bar_format="[{bar:%d}] {n_fmt}/{total_fmt} done{postfix}" % width)

    def update(self, ok: bool, cached: bool = False) -> None:
        self.done += 1
        self.failed += 0 if ok else 1
        self.cached += 1 if cached else 0
        self.show()

    def line(self) -> str:
        extra = f", {self.cached} cached" if self.cached else ""
        return f"{self.failed} failed, {self.total - self.done} remaining{extra}"

    def show(self, final: bool = False) -> None:
        if self._bar is None:
            return
        self._bar.set_postfix_str(self.line(), refresh=False)
        self._bar.update(self.done - self._bar.n)
        if final:
            self._bar.close()
            self._bar = None


def _jsonable(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if hasattr(v, "item"):
        return _jsonable(v.item())
    return v


def _cell(v):
    """Parquet-friendly value of an override column (lists and dicts as JSON)."""
    if isinstance(v, (list, dict, tuple)):
        return json.dumps(v, sort_keys=True)
    return v


def _cluster_size(spec: SweepSpec, n_runs: int) -> int:
    cores = os.cpu_count() or 1
    by_cores = max(1, cores // max(1, spec.solver_workers))
    n = int(spec.n_workers) if spec.n_workers else by_cores
    return max(1, min(n, by_cores, max(1, n_runs)))


def sweep(spec_path_or_dict, *, out, scheduler=None, progress: bool = True, plot=False,
          n_workers: int | None = None) -> pd.DataFrame:
    """Plan every combination of a sweep; one row per run (also ``out/results.parquet``, ``.csv``).

    ``scheduler``: ``None`` starts a :class:`distributed.LocalCluster` (process
    workers, one thread each, workers x CP-SAT workers not above the cores);
    ``"tcp://host:8786"`` submits to that cluster; a :class:`distributed.Client`
    is used as is; ``"serial"`` runs in this process, one run after another.
    Every finished run is cached in ``out/cache/<key>.json`` (key: hash of the
    resolved config, start, days and planner options), so a rerun only plans
    what is missing; runs share their passes and station tracks through
    ``out/cache/geometry`` (content-addressed, :mod:`relay.geocache`), and each
    Dask worker warms up once (:class:`relay.workers.Warmup`).  A failing run
    is recorded (``ok`` False, ``error``) and the sweep goes on.  ``plot``: ``True`` (the spec's metric) or a metric
    name: draws ``out/sweep_<metric>.png``.
    """
    spec = load_sweep_spec(spec_path_or_dict)
    out = Path(out)
    cache = out / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    from .outputs.files import write_table, write_text

    records: dict[int, dict] = {}
    base_raw = _raw_config(spec.base)
    bar = Progress(len(spec.runs), enabled=progress)
    bar.show()

    def to_plan():
        """The runs left to plan, with their keys and scenarios, one at a time (a cluster starts
        on the first while the next are keyed); cached runs and input errors are recorded on the
        way.  The run is planned from this scenario: it is read once."""
        for run in spec.runs:
            base_rec = {"run_id": run.run_id, "start": run.start, "days": spec.days}
            try:
                for k in run.overrides:
                    check_override_path(k, base_raw, source=spec.base)
                sc = load_scenario(spec.base, overrides=run.overrides or None)  # resolve(), paths checked
            except RelayInputError as exc:
                records[run.run_id] = {**base_rec, "key": "", "config_hash": "", "ok": False, "cached": False,
                                       "planned": False, "error": str(exc), "error_type": type(exc).__name__}
                bar.update(False)
                continue
            h = scenario_hash(sc)
            key = run_key(h, run.start, spec.days, spec.plan_options)
            f = cache / f"{key}.json"
            if f.exists():
                try:
                    rec = json.loads(f.read_text(encoding="utf-8"))
                    records[run.run_id] = {**base_rec, "key": key, "config_hash": h, **rec, "cached": True,
                                           "planned": False}
                    bar.update(bool(rec.get("ok")), cached=True)
                    continue
                except (OSError, ValueError):
                    pass  # a damaged cache file: plan again
            records[run.run_id] = {**base_rec, "key": key, "config_hash": h}
            yield run, key, sc

    def finish(run: Run, key: str, rec: dict) -> None:
        rec = {k: _jsonable(v) for k, v in rec.items()}
        records[run.run_id].update(rec)
        records[run.run_id]["cached"] = False
        records[run.run_id]["planned"] = True
        # solver/planner crashes are not cached (a rerun tries again); results and input errors are
        if rec.get("ok") or rec.get("error_type") in ("Infeasible", "RelayInputError", "CoverageError"):
            write_text(cache / f"{key}.json", json.dumps(rec, sort_keys=True))
        bar.update(bool(rec.get("ok")))

    try:
        geo = str((cache / "geometry").resolve())  # absolute: workers elsewhere use the same path
        if scheduler == "serial":
            for run, key, sc in to_plan():
                finish(run, key, execute_run(sc, {}, run.start, spec.days, spec.plan_options, geo))
        else:
            _run_on_dask(spec, to_plan(), finish, scheduler, n_workers, geo)
    finally:
        df = _results_frame(spec, records)
        write_table(df, out / "results.parquet")
        write_table(df, out / "results.csv")
        bar.show(final=True)
    if plot:
        metric = spec.metric if plot is True else str(plot)
        params = spec.params or (["variant"] if "variant" in df.columns else ["start"])
        plot_sweep(df, params, metric, out / f"sweep_{_safe(metric)}.png")
    return df


def _run_on_dask(spec: SweepSpec, pending, finish, scheduler, n_workers,
                 geometry_cache: str | None = None) -> None:
    """Plan the ``pending`` (run, key, scenario) triples (an iterable: each is submitted as soon
    as it comes) on Dask; no cluster is started when there is nothing to plan."""
    from distributed import Client, LocalCluster, as_completed

    from .workers import DASK_CONFIG, Warmup

    pending = iter(pending)
    first = next(pending, None)
    if first is None:
        return
    cluster = None
    own_client = True
    if scheduler is None:
        import logging

        import dask

        n = n_workers or _cluster_size(spec, len(spec.runs))
        with dask.config.set(DASK_CONFIG):  # the workers' environment and settings (relay.workers)
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                                   silence_logs=logging.ERROR)
        client = Client(cluster)
    elif isinstance(scheduler, str):
        client = Client(scheduler)
    else:
        client, own_client = scheduler, False
    try:
        # every worker (and any that joins later) warms up once before its first run
        client.register_plugin(Warmup(spec.base, spec.starts[0] if spec.starts else None))
        futures = {}
        done = as_completed()
        try:
            for run, key, sc in itertools.chain([first], pending):
                fut = client.submit(execute_run, sc, {}, run.start, spec.days, spec.plan_options, geometry_cache,
                                    key=f"relay-run-{key}-{run.run_id}", pure=False)
                futures[fut] = (run, key)
                done.add(fut)
            for fut in done:
                run, key = futures[fut]
                try:
                    rec = fut.result()
                except Exception as exc:  # the worker died, the task was lost...
                    rec = {"ok": False, "error": f"{type(exc).__name__}: {exc}",
                           "error_type": type(exc).__name__}
                finish(run, key, rec)
        except BaseException:
            client.cancel(list(futures))
            raise
    finally:
        if own_client:
            client.close()
        if cluster is not None:
            cluster.close()


def _results_frame(spec: SweepSpec, records: dict[int, dict]) -> pd.DataFrame:
    rows = []
    run_by_id = {r.run_id: r for r in spec.runs}
    for rid in sorted(records):
        run = run_by_id[rid]
        rec = records[rid]
        row = {"run_id": rid}
        if any(r.variant for r in spec.runs):
            row["variant"] = run.variant or ""
        for p in spec.params:
            row[p] = _cell(run.params.get(p))
        row["start"] = run.start
        row["days"] = spec.days
        row["overrides"] = json.dumps(run.overrides, sort_keys=True, default=str)
        row["done"] = "ok" in rec
        for k, v in rec.items():
            if k not in row and k not in ("run_id", "start", "days"):
                row[k] = v
        rows.append(row)
    df = pd.DataFrame(rows)
    lead = ["run_id"] + (["variant"] if "variant" in df.columns else []) + spec.params + \
        ["start", "days", "ok", "status", "error_type", "error"] + METRICS + ["gap", "solve_time_s"]
    lead = [c for c in lead if c in df.columns]
    tail = sorted(c for c in df.columns if c not in lead and "." in c)
    rest = [c for c in df.columns if c not in lead and c not in tail]
    df = df[lead + tail + rest]
    if "ok" in df.columns:
        df["ok"] = df["ok"].fillna(False).astype(bool)
    for c in ("error", "error_type", "status"):
        if c in df.columns:
            df[c] = df[c].fillna("").astype(str)
    return df


# ---------------------------------------------------------------------------
# Plot: the response of a metric to each swept parameter
# ---------------------------------------------------------------------------

def plot_sweep(df: pd.DataFrame, params: list[str], metric: str, path: str | Path) -> Path:
    """One panel per swept parameter: every run (dots) and the mean over the others (line)."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["text.parse_math"] = False  # user strings ($, \\) are plain text, never mathtext
    import matplotlib.pyplot as plt

    from .outputs.files import atomic_path

    if metric not in df.columns:
        metrics = [c for c in df.columns if c in METRICS or c.split(".")[0] in METRICS]
        raise RelayInputError(f"no metric {metric!r} in the sweep results; valid: {', '.join(metrics)}",
                              source="--plot")
    ok = df[df["ok"]] if "ok" in df.columns else df
    params = params or ["start"]
    fig, axes = plt.subplots(1, len(params), figsize=(4.2 * len(params), 3.4), squeeze=False)
    for ax, p in zip(axes[0], params):
        vals = ok[[p, metric]].dropna()
        try:
            x = pd.to_numeric(vals[p])
            numeric = True
        except (ValueError, TypeError):
            x, numeric = vals[p].astype(str), False
        y = vals[metric].astype(float)
        if numeric:
            ax.scatter(x, y, s=14, alpha=0.5, color="#2f81f7", label="runs")
            mean = y.groupby(x).mean().sort_index()
            ax.plot(mean.index, mean.values, "-o", color="#cf222e", label="mean")
        else:
            cats = sorted(set(x))
            pos = {c: i for i, c in enumerate(cats)}
            ax.scatter([pos[c] for c in x], y, s=14, alpha=0.5, color="#2f81f7", label="runs")
            mean = y.groupby(x).mean()
            ax.plot([pos[c] for c in cats], [mean[c] for c in cats], "-o", color="#cf222e", label="mean")
            ax.set_xticks(range(len(cats)), cats, rotation=30, ha="right")
        ax.set_xlabel(p, fontsize=9)
        ax.set_ylabel(metric, fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    failed = int((~df["ok"]).sum()) if "ok" in df.columns else 0
    fig.suptitle(f"{metric} against each swept parameter ({len(ok)} runs"
                 f"{f', {failed} failed' if failed else ''})", fontsize=11)
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return path
