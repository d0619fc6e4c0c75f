"""Compare configurations side by side: plan each over the same horizon, read the same metrics.

>>> import relay
>>> cmp = relay.compare(["configs/baseline.yaml", "configs/insight-2019.yaml"],
...                     "2026-11-23T00:00:00Z", days=7, out="out/compare")   # doctest: +SKIP
>>> cmp.table            # one row per config and scope (total / asset / orbiter)  # doctest: +SKIP

Every config (and variant: dotted overrides of the first config, see
:mod:`relay.analysis.overrides`) is planned with :func:`relay.plan`; the
metrics are :func:`relay.analysis.metrics.plan_tables`, with the differences
against the first config.  :class:`ComparisonResult` holds the tables and the
plans and writes them (:mod:`relay.outputs.compare_report`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from .. import api
from ..config import Scenario
from ..errors import RelayInputError
from ..inputs import check_plain_name
from ..outputs.compare_report import HEADERS, write_compare
from .metrics import DIFF_METRICS, METRICS, SCOPES, plan_tables, rounded
from .overrides import resolve


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
        out = Path(out_dir)
        written = write_compare(self, out)
        if plans:
            for name, p in self.plans.items():
                written.extend(Path(x) for x in p.write(out / safe_name(name)))
        return written


def safe_name(name: str) -> str:
    """``name`` as a file or folder name: other characters than letters, digits, ``-_.`` become ``_``."""
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
        p = api.plan(sc, start, days, **dict(plan_options or {}))
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
    first = table[table["config"] == names[0]].set_index(["scope", "name"]).astype({m: float for m in DIFF_METRICS})
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
    return rounded(table)
