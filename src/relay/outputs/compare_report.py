"""The comparison of several plans: ``compare.csv`` and a self-contained ``compare.html``.

The HTML has inline CSS and its charts embedded as base64 PNG (matplotlib,
Agg), so it opens anywhere with no network: delivered volume per asset,
cumulative volume delivered to Earth over time, sessions per sol; then the
comparison tables (totals with the differences against the first config, per
asset, per orbiter).  The page around them is the ``compare.html`` template
(relay/templates, see :mod:`relay.outputs.pages`), which escapes every text it shows.
"""

from __future__ import annotations

import base64
import io
import math
import numbers
from datetime import datetime
from pathlib import Path

import pandas as pd

from ..constants import SOL_S
from ..fileio import write_text
from .files import write_table
from .pages import Table, render_macro, render_page


def png_data_uri(fig) -> str:
    """A matplotlib figure as an inline PNG data URI (the figure is closed)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


#: the tables of compare.html: (id, title, scope, columns); the totals are split in two so that
#: no table needs horizontal scrolling at 1400 px
_TABLES = [
    ("table-total", "Totals: volume and link use (differences against the first config)", "total",
     ["config", "status", "delivered_mbit", "d_delivered_mbit", "d_delivered_pct", "spare_capacity_mbit",
      "d_spare_capacity_mbit", "sessions", "d_sessions", "session_hours", "utilisation_pct",
      "d_utilisation_pct"]),
    ("table-total-latency", "Totals: latency, requirements and solver", "total",
     ["config", "mean_latency_h", "d_mean_latency_h", "worst_latency_h", "d_worst_latency_h",
      "decisional_sols_met", "d_decisional_sols_met", "violations", "gap", "solve_time_s"]),
    ("table-asset", "Per asset", "asset",
     ["config", "name", "delivered_mbit", "d_delivered_mbit", "d_delivered_pct", "spare_capacity_mbit",
      "limited_by", "sessions", "d_sessions", "worst_latency_h", "d_worst_latency_h", "decisional_sols_met",
      "utilisation_pct", "violations"]),
    ("table-orbiter", "Per orbiter", "orbiter",
     ["config", "name", "delivered_mbit", "d_delivered_mbit", "d_delivered_pct", "spare_capacity_mbit",
      "sessions", "d_sessions", "session_hours", "utilisation_pct", "d_utilisation_pct"]),
]

#: column -> header shown on the page (units in brackets; "change" is against the first config)
HEADERS = {
    "config": "config", "name": "name", "status": "solver status",
    "delivered_mbit": "delivered (Mbit)", "d_delivered_mbit": "change (Mbit)", "d_delivered_pct": "change (%)",
    "spare_capacity_mbit": "spare link capacity (Mbit)", "d_spare_capacity_mbit": "change in spare (Mbit)",
    "limited_by": "limited by", "sessions": "sessions", "d_sessions": "change in sessions",
    "session_hours": "session time (h)", "utilisation_pct": "link utilisation (%)",
    "d_utilisation_pct": "change in utilisation (points)", "mean_latency_h": "mean latency (h)",
    "d_mean_latency_h": "change in mean latency (h)", "worst_latency_h": "worst latency (h)",
    "d_worst_latency_h": "change in worst latency (h)", "decisional_sols_met": "decisional sols met",
    "d_decisional_sols_met": "change in decisional sols", "violations": "unmet requirements",
    "gap": "optimality gap", "solve_time_s": "solve time (s)", "asset": "asset", "sol": "mission sol",
}

def _mpl():
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["text.parse_math"] = False  # user strings ($, \\) are plain text, never mathtext
    import matplotlib.pyplot as plt

    return plt


def _times(values) -> list[datetime]:
    """Python datetimes (UTC) of a column of timestamps or ISO 8601 text."""
    return [t.to_pydatetime() for t in pd.to_datetime(pd.Series(list(values), dtype=object), utc=True,
                                                           format="ISO8601")]


def _colours(names):
    plt = _mpl()
    return {n: plt.cm.tab10(i % 10) for i, n in enumerate(names)}


def chart_delivered_per_asset(result):
    plt = _mpl()
    t = result.by_asset
    assets = sorted(set(t["name"]))
    names = result.names
    col = _colours(names)
    fig, ax = plt.subplots(figsize=(10, 3.2))
    w = 0.8 / max(1, len(names))
    for i, n in enumerate(names):
        sub = t[t["config"] == n].set_index("name")["delivered_mbit"]
        ax.bar([k + (i - (len(names) - 1) / 2) * w for k in range(len(assets))],
               [float(sub.get(a, 0.0)) for a in assets], width=w, color=col[n], label=n)
    ax.set_xticks(range(len(assets)), assets)
    ax.set_ylabel("delivered to Earth (Mbit)")
    ax.set_title("Delivered volume per asset", fontsize=11, pad=26)
    ax.grid(axis="y", alpha=0.3)
    _legend_above(ax, len(names))
    return fig


def _delivery_events(plan) -> tuple[list[datetime], list[float], str]:
    """(times, volumes, what): downlinks to Earth if the plan has them, else return sessions."""
    dl = plan.downlinks
    if dl is not None and len(dl) and "volume_mbit" in dl.columns:
        if "asset" in dl.columns:  # data aboard at the start is not the surface assets' data
            dl = dl[dl["asset"] != "(onboard)"]
        d = dl.sort_values("end", kind="mergesort")
        return _times(d["end"]), d["volume_mbit"].astype(float).tolist(), "downlinks"
    s = plan.sessions
    if s is not None and len(s):
        if "kind" in s.columns:
            s = s[s["kind"] != "forward"]
        s = s.sort_values("end", kind="mergesort")
        return _times(s["end"]), s["volume_mbit"].astype(float).tolist(), "relay sessions"
    return [], [], "downlinks"


def chart_cumulative(result):
    plt = _mpl()
    col = _colours(result.names)
    fig, ax = plt.subplots(figsize=(10, 3.2))
    start = datetime.fromisoformat(result.start.replace("Z", "+00:00"))
    what = set()
    for n in result.names:
        times, vols, w = _delivery_events(result.plans[n])
        what.add(w)
        cum, acc = [], 0.0
        for v in vols:
            acc += v
            cum.append(acc)
        ax.step([start] + times, [0.0] + cum, where="post", color=col[n], label=n)
    import matplotlib.dates as mdates

    loc = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))
    ax.set_ylabel("cumulative (Mbit)")
    ax.set_title(f"Cumulative volume delivered over time ({' / '.join(sorted(what))})", fontsize=11, pad=26)
    ax.grid(alpha=0.3)
    _legend_above(ax, len(result.names))
    return fig


def _legend_above(ax, n: int) -> None:
    """The legend in a row above the axes, clear of the bars and lines."""
    ax.legend(fontsize=8, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=max(1, min(n, 6)), frameon=False)


def sessions_per_sol(result) -> pd.DataFrame:
    """Relay sessions per asset and mission sol (the ``sol`` column of each plan's schedule),
    one column per config."""
    keys: set[tuple[str, int]] = set()
    counts = {}
    for n in result.names:
        s = result.plans[n].sessions
        c = {}
        if s is not None and len(s) and "sol" in s.columns:
            for a, sol in zip(s["asset"], s["sol"]):
                if sol == "" or sol is None:
                    continue
                keys.add((str(a), int(sol)))
                c[(str(a), int(sol))] = c.get((str(a), int(sol)), 0) + 1
        counts[n] = c
    rows = sorted(keys)
    out = pd.DataFrame({"asset": [a for a, _ in rows], "sol": [k for _, k in rows]})
    for n in result.names:
        out[n] = [counts[n].get(k, 0) for k in rows]
    return out


def chart_sessions_per_sol(result):
    """Relay sessions per mission sol: one panel per asset with its own sols on the x axis (whole
    numbers, at most about a dozen labels, so no label overlaps another), a bar per config."""
    plt = _mpl()
    from matplotlib.ticker import MaxNLocator

    col = _colours(result.names)
    table = sessions_per_sol(result)
    names = result.names
    assets = sorted(set(table["asset"])) or [""]
    fig, axes = plt.subplots(len(assets), 1, figsize=(10, 1.3 + 1.8 * len(assets)), squeeze=False)
    w = 0.8 / max(1, len(names))
    for ax, asset in zip(axes[:, 0], assets):
        t = table[table["asset"] == asset]
        for i, n in enumerate(names):
            ax.bar(t["sol"].astype(float) + (i - (len(names) - 1) / 2) * w, t[n], width=w, color=col[n], label=n)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=12, integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
        ax.set_ylabel(f"{asset}\nsessions", fontsize=8)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("mission sol of the asset", fontsize=9)
    axes[0, 0].set_title("Sessions per mission sol of each asset", fontsize=11, pad=26)
    _legend_above(axes[0, 0], len(names))
    fig.tight_layout()
    return fig


_INTS = {"sessions", "decisional_sols_met", "violations", "sol"}
#: changes shown without a better / worse colour
_NEUTRAL = {"d_spare_capacity_mbit"}
#: percentages, shown to one decimal (as compare.csv holds them)
_PCTS = {"utilisation_pct", "delivered_pct"}


def _fmt(v, col: str = "") -> str:
    if v is None or v is pd.NA:
        return ""
    if col == "sol" and isinstance(v, numbers.Integral):
        return str(int(v))
    if isinstance(v, numbers.Integral) and not isinstance(v, bool):
        return f"{int(v):{'+' if col.startswith('d_') else ''},d}"
    if isinstance(v, numbers.Real) and not isinstance(v, bool):
        v = float(v)
        if not math.isfinite(v):
            return ""
        sign = "+" if col.startswith("d_") else ""
        if col.removeprefix("d_") in _INTS:
            return f"{v:{sign},.0f}"
        if col.removeprefix("d_") in _PCTS:
            return f"{v:{sign},.1f}"
        return f"{v:{sign},.3f}" if abs(v) < 1000 else f"{v:{sign},.1f}"
    return str(v)


def _cls(col: str, v) -> str:
    classes = []
    if col in ("config", "name", "status", "asset", "limited_by"):
        classes.append("l")
    # spare capacity is neither better nor worse: its change is not coloured
    if (col.startswith("d_") and col not in _NEUTRAL and isinstance(v, numbers.Real) and not isinstance(v, bool)
            and math.isfinite(float(v)) and v != 0):
        good = v > 0 if "latency" not in col else v < 0
        classes.append("ok" if good else "bad")
    return " ".join(classes)


def table_view(df: pd.DataFrame | None, table_id: str) -> Table:
    """A comparison table as compare.html shows it: headers from :data:`HEADERS`, every cell
    formatted (:func:`_fmt`) and classed (:func:`_cls`: aligned left, better or worse)."""
    if df is None or not len(df):
        return Table(table_id, [], [])
    head = [("l" if c in ("config", "name", "status", "asset") else "", HEADERS.get(str(c), str(c)))
            for c in df.columns]
    rows = [[(_cls(c, v), _fmt(v, c)) for c, v in zip(df.columns, rec)] for rec in df.itertuples(index=False)]
    return Table(table_id, head, rows)


def html_table(df: pd.DataFrame, table_id: str) -> str:
    """A comparison table as escaped HTML (one row reading (none) when it has no rows)."""
    return render_macro("tables.html", "table_or_empty_row", table_view(df, table_id))


def render_compare(result) -> str:
    """compare.html as one string (deterministic for the same inputs)."""
    charts = [
        ("delivered per asset", png_data_uri(chart_delivered_per_asset(result))),
        ("cumulative delivered", png_data_uri(chart_cumulative(result))),
        ("sessions per sol", png_data_uri(chart_sessions_per_sol(result))),
    ]
    tables = []
    for table_id, title, scope, columns in _TABLES:
        t = result.table[result.table["scope"] == scope]
        tables.append((title, table_view(t[[c for c in columns if c in t.columns]], table_id)))
    configs = [(n, str(result.sources.get(n, "")),
                ", ".join(f"{k}={v}" for k, v in (result.overrides.get(n) or {}).items())) for n in result.names]
    return render_page("compare.html", title="relay compare: " + " vs ".join(result.names), start=result.start,
                       days=f"{result.days:g}", first=result.names[0], configs=configs, charts=charts,
                       totals=tables[:2], details=tables[2:], sols=table_view(sessions_per_sol(result), "table-sols"))


def write_compare(result, out_dir: str | Path) -> list[Path]:
    """Write ``compare.csv`` (the whole table) and ``compare.html`` atomically; return their paths."""
    out = Path(out_dir)
    csv, page = out / "compare.csv", out / "compare.html"
    write_table(result.table, csv)
    write_text(page, render_compare(result))
    return [csv, page]
