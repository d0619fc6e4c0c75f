"""The metrics of one plan, read the same way by a comparison and by a sweep.

:func:`plan_tables`: one row per scope (``total``, each asset, each orbiter)
with :data:`METRICS`; :func:`plan_metrics`: the same figures as one flat dict
(a sweep row).  A sweep row and a comparison row of the same configuration
therefore agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

#: the scopes of a plan's metrics table, in their order
SCOPES = ("total", "asset", "orbiter")
#: the metrics of every scope (NaN where a scope has none)
METRICS = ["delivered_mbit", "sessions", "session_hours", "mean_latency_h", "worst_latency_h",
           "decisional_sols_met", "utilisation_pct", "spare_capacity_mbit", "violations"]
#: the metrics a comparison gives differences of (``d_<metric>``)
DIFF_METRICS = ["delivered_mbit", "sessions", "mean_latency_h", "worst_latency_h",
                "decisional_sols_met", "utilisation_pct", "spare_capacity_mbit"]
#: metrics that count (whole numbers in every table and file) and percentages (rounded to PCT_DIGITS)
COUNT_METRICS = ("sessions", "decisional_sols_met", "violations")
PERCENT_METRICS = ("utilisation_pct", "delivered_pct")
PCT_DIGITS = 1


def rounded(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its count columns as whole numbers (nullable: empty where a scope has none)
    and its percentages rounded to :data:`PCT_DIGITS` decimals: a metric column, its difference
    ``d_<metric>`` or a sweep's ``<metric>.<name>``."""
    out = df.copy()
    for c in out.columns:
        base = str(c).removeprefix("d_").split(".", 1)[0]
        if base in COUNT_METRICS:
            out[c] = pd.to_numeric(out[c], errors="coerce").round().astype("Int64")
        elif base in PERCENT_METRICS:
            out[c] = pd.to_numeric(out[c], errors="coerce").astype(float).round(PCT_DIGITS)
    return out


def is_metric(name: str) -> bool:
    """Whether ``name`` can be a column of a sweep's results: a metric, or ``<metric>.<asset or
    orbiter>`` (those exist when the plans have that asset or orbiter)."""
    return name.split(".", 1)[0] in METRICS


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


def _usable(passes: pd.DataFrame) -> pd.Series | None:
    """What each candidate pass can carry in its plan's instance (``usable_mbit``: outages, vetoes
    and the model's rules applied); a table without it (an older plan) its link volume."""
    for col in ("usable_mbit", "volume_mbit"):
        if len(passes) and col in passes:
            return passes[col].astype(float)
    return None


@dataclass(frozen=True)
class _PlanFrames:
    """A plan's sessions and candidate passes with their durations and volumes: the sums
    per asset or orbiter that the metrics are made of."""

    sessions: pd.DataFrame
    passes: pd.DataFrame
    sess_dur: pd.Series
    pass_dur: pd.Series
    pass_vol: pd.Series | None
    ses_vol: pd.Series
    per_sol: pd.DataFrame | None

    @classmethod
    def of(cls, plan) -> _PlanFrames:
        sessions = plan.sessions if plan.sessions is not None else pd.DataFrame()
        passes = plan.passes if getattr(plan, "passes", None) is not None else pd.DataFrame()
        return cls(
            sessions=sessions, passes=passes,
            sess_dur=_duration_s(sessions) if len(sessions) else pd.Series(dtype=float),
            pass_dur=(passes["duration_s"].astype(float) if len(passes) and "duration_s" in passes
                      else pd.Series(dtype=float)),
            pass_vol=_usable(passes),
            ses_vol=sessions["volume_mbit"].astype(float) if len(sessions) else pd.Series(dtype=float),
            per_sol=getattr(plan, "per_sol", None))

    def names(self, col: str) -> set:
        """The names in column ``col`` (asset or orbiter) of the sessions and passes."""
        return ((set(self.sessions[col]) if len(self.sessions) else set()) |
                (set(self.passes[col]) if len(self.passes) and col in self.passes else set()))

    def util(self, col: str, name: str) -> float:
        """Session time / candidate pass time of ``name``, in %."""
        ss = self.sess_dur[self.sessions[col] == name].sum() if len(self.sessions) else 0.0
        ps = self.pass_dur[self.passes[col] == name].sum() if len(self.passes) and col in self.passes else 0.0
        return 100.0 * ss / ps if ps > 0 else float("nan")

    def count(self, col: str, name: str) -> int:
        return int((self.sessions[col] == name).sum()) if len(self.sessions) else 0

    def hours(self, col: str, name: str) -> float:
        return float(self.sess_dur[self.sessions[col] == name].sum()) / 3600.0 if len(self.sessions) else 0.0

    def spare(self, col: str | None = None, name: str | None = None) -> float:
        """The usable UHF volume of the candidate passes (``usable_mbit``: what an outage, a veto
        or a rule of the model took counts nothing) less what was relayed (of ``name``, or all)."""
        if self.pass_vol is None:
            return float("nan")
        offered = float(self.pass_vol.sum() if col is None else self.pass_vol[self.passes[col] == name].sum())
        used = (float(self.ses_vol.sum() if col is None else self.ses_vol[self.sessions[col] == name].sum())
                if len(self.sessions) else 0.0)
        return max(offered - used, 0.0)

    def limited(self, asset: str) -> str:
        """What limited ``asset`` on most of its sols ("" without a per-sol table)."""
        if self.per_sol is None or not len(self.per_sol):
            return ""
        s = self.per_sol.loc[self.per_sol["asset"] == asset, "limited_by"]
        return s.value_counts().sort_index().idxmax() if len(s) else ""


def _total_row(plan, fr: _PlanFrames, means: list[float], worsts: list[float]) -> dict:
    rep, fig = plan.summary.solve, plan.summary.figures
    dec = fig.decisional_sols_met
    finite_means = [m for m in means if math.isfinite(m)]
    finite_worsts = [w for w in worsts if math.isfinite(w)]
    total_pass = float(fr.pass_dur.sum()) if len(fr.pass_dur) else 0.0
    return {
        "scope": "total", "name": "(all)",
        "delivered_mbit": _num(fig.delivered_mbit, 0.0),
        "sessions": int(len(fr.sessions)),
        "session_hours": float(fr.sess_dur.sum()) / 3600.0 if len(fr.sess_dur) else 0.0,
        "mean_latency_h": sum(finite_means) / len(finite_means) if finite_means else float("nan"),
        "worst_latency_h": max(finite_worsts) if finite_worsts else float("nan"),
        "decisional_sols_met": int(sum(int(v) for v in dec.values())) if dec else 0,
        "utilisation_pct": 100.0 * float(fr.sess_dur.sum()) / total_pass if total_pass > 0 else float("nan"),
        "spare_capacity_mbit": fr.spare(),
        "violations": len(fig.violations),
        "status": rep.status, "gap": _num(rep.gap),
        "solve_time_s": _num(rep.solve_time_s),
    }


def _asset_row(fig, fr: _PlanFrames, asset: str, mean_h: float, worst_h: float) -> dict:
    return {
        "scope": "asset", "name": asset, "delivered_mbit": _num(fig.delivered_by_asset.get(asset), 0.0),
        "sessions": fr.count("asset", asset), "session_hours": fr.hours("asset", asset),
        "mean_latency_h": mean_h, "worst_latency_h": worst_h,
        "decisional_sols_met": int(fig.decisional_sols_met.get(asset, 0) or 0),
        "utilisation_pct": fr.util("asset", asset),
        "spare_capacity_mbit": fr.spare("asset", asset),
        "violations": sum(1 for v in fig.violations if v.asset == asset),
        "limited_by": fr.limited(asset),
    }


def _orbiter_row(fig, fr: _PlanFrames, orbiter: str) -> dict:
    return {
        "scope": "orbiter", "name": orbiter, "delivered_mbit": _num(fig.delivered_by_orbiter.get(orbiter), 0.0),
        "sessions": fr.count("orbiter", orbiter), "session_hours": fr.hours("orbiter", orbiter),
        "utilisation_pct": fr.util("orbiter", orbiter),
        "spare_capacity_mbit": fr.spare("orbiter", orbiter),
    }


def _table(rows: list[dict]) -> pd.DataFrame:
    """The rows as the metrics table: every metric column present, in the documented order."""
    df = pd.DataFrame(rows)
    for c in METRICS + ["status", "gap", "solve_time_s"]:
        if c not in df.columns:
            df[c] = float("nan")
    df["limited_by"] = df["limited_by"].fillna("") if "limited_by" in df else ""
    return rounded(df[["scope", "name"] + METRICS + ["limited_by", "status", "gap", "solve_time_s"]])


def plan_tables(plan) -> pd.DataFrame:
    """The metrics of one plan, one row per scope: ``total``, each asset, each orbiter.

    Columns: scope, name, delivered_mbit, sessions, session_hours,
    mean_latency_h, worst_latency_h, decisional_sols_met, utilisation_pct
    (session time / candidate pass time, in %), spare_capacity_mbit (the usable UHF volume
    of the candidate passes, whole and counted per orbiter, less what was relayed: the
    link capacity left unused; a pass an outage or a veto took counts nothing), violations,
    status, gap, solve_time_s (the last three on the total row), and limited_by on asset
    rows (the binding family on most of its sols, relay.explain.LIMITS: data, link, outage,
    veto, sol_cap, energy, wake_window, store, earth, contention...; see relay.explain.per_sol).
    """
    fig = plan.summary.figures
    fr = _PlanFrames.of(plan)
    lat = plan.summary.latency_by_asset
    assets = sorted(set(fig.delivered_by_asset) | set(lat) | set(fig.decisional_sols_met) | fr.names("asset"))
    orbiters = sorted(set(fig.delivered_by_orbiter) | fr.names("orbiter"))
    means = [_num(lat[a].mean_h if a in lat else None) for a in assets]
    worsts = [_num(lat[a].worst_h if a in lat else None) for a in assets]
    rows = [_total_row(plan, fr, means, worsts)]
    rows += [_asset_row(fig, fr, a, m, w) for a, m, w in zip(assets, means, worsts)]
    rows += [_orbiter_row(fig, fr, o) for o in orbiters]
    return _table(rows)


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
