"""A sweep's results: the table of its runs (:func:`results_frame`) and the plot of a metric.

One row per run: the run id, its variant and swept parameters, start and
days, ``ok``, the status and error, :data:`relay.analysis.metrics.METRICS`,
then the per-asset and per-orbiter figures (``<metric>.<name>``) and the
bookkeeping columns (cache key, timings, worker).  :func:`plot_sweep` draws
the response of a metric to each swept parameter.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..errors import RelayInputError
from ..fileio import atomic_path
from .metrics import METRICS, rounded
from .sweepspec import SweepSpec


def _cell(v):
    """Parquet-friendly value of an override column (lists and dicts as JSON)."""
    if isinstance(v, (list, dict, tuple)):
        return json.dumps(v, sort_keys=True)
    return v


def results_frame(spec: SweepSpec, records: dict[int, dict]) -> pd.DataFrame:
    """The table of a sweep's runs from their records (by run id), in run order."""
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
    return rounded(df)


def plot_sweep(df: pd.DataFrame, params: list[str], metric: str, path: str | Path) -> Path:
    """One panel per swept parameter: ``metric`` against it, one line per group of the other keys
    (the variant, the start week and the other parameters), so runs of different weeks or
    variants are never averaged together."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["text.parse_math"] = False  # user strings ($, \\) are plain text, never mathtext
    import matplotlib.pyplot as plt

    if metric not in df.columns:
        metrics = [c for c in df.columns if c in METRICS or c.split(".")[0] in METRICS]
        raise RelayInputError(f"no metric {metric!r} in the sweep results; valid: {', '.join(metrics)}",
                              source="--plot")
    ok = df[df["ok"]] if "ok" in df.columns else df
    params = params or ["start"]
    keys = [k for k in ["variant"] + list(params) + ["start"] if k in ok.columns]
    keys = list(dict.fromkeys(keys))
    fig, axes = plt.subplots(1, len(params), figsize=(4.6 * len(params), 3.6), squeeze=False)
    for ax, p in zip(axes[0], params):
        sweep_panel(ax, ok, p, [k for k in keys if k != p], metric)
    failed = int((~df["ok"]).sum()) if "ok" in df.columns else 0
    fig.suptitle(f"{metric} against each swept parameter ({len(ok)} runs"
                 f"{f', {failed} failed' if failed else ''})", fontsize=11)
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return path


def sweep_groups(ok: pd.DataFrame, p: str, others: list[str], metric: str) -> list[tuple[str, pd.DataFrame]]:
    """The runs of a panel of ``p`` as ``(label, rows)`` groups, one per combination of the
    ``others`` keys (variant, start week, other parameters), each sorted by ``p``."""
    vals = ok[[p, metric] + others].dropna(subset=[p, metric])
    if not others:
        return [("runs", vals)]
    out = []
    for key, g in vals.groupby(others, sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        label = ", ".join(str(v)[:10] if k == "start" else str(v) if k == "variant" else f"{k}={v}"
                          for k, v in zip(others, key))
        out.append((label, g))
    return out


def sweep_panel(ax, ok: pd.DataFrame, p: str, others: list[str], metric: str) -> None:
    """One panel: ``metric`` against ``p`` (numbers on a numeric axis, else categories), a line
    per group (:func:`sweep_groups`)."""
    import matplotlib.pyplot as plt

    groups = sweep_groups(ok, p, others, metric)
    allx = pd.concat([g[p] for _, g in groups]) if groups else pd.Series(dtype=object)
    try:
        pd.to_numeric(allx)
        cats = None
    except (ValueError, TypeError):
        cats = sorted(set(allx.astype(str)))
    pos = {c: i for i, c in enumerate(cats or ())}
    for i, (label, g) in enumerate(groups):
        x = (pd.to_numeric(g[p]) if cats is None else g[p].astype(str).map(pos)).astype(float)
        order = x.argsort(kind="mergesort")
        ax.plot(x.iloc[order], g[metric].astype(float).iloc[order], "-o", ms=3, lw=1,
                color=plt.cm.tab10(i % 10), label=label)
    if cats is not None:
        ax.set_xticks(range(len(cats)), [c[:10] if p == "start" else c for c in cats], rotation=30, ha="right")
    ax.set_xlabel(p, fontsize=9)
    ax.set_ylabel(metric, fontsize=9)
    ax.grid(alpha=0.3)
    if 0 < len(groups) <= 12:
        ax.legend(fontsize=7)
