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
from .metrics import METRICS
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
    return df


def plot_sweep(df: pd.DataFrame, params: list[str], metric: str, path: str | Path) -> Path:
    """One panel per swept parameter: every run (dots) and the mean over the others (line)."""
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
