"""The comparison of several plans: ``compare.csv`` and a self-contained ``compare.html``.

The HTML has inline CSS and its charts embedded as base64 PNG (matplotlib,
Agg), so it opens anywhere with no network: delivered volume per asset,
cumulative volume delivered to Earth over time, sessions per sol; then the
comparison tables (totals with the differences against the first config, per
asset, per orbiter).
"""

from __future__ import annotations

import base64
import html
import io
import math
import numbers
from datetime import datetime
from pathlib import Path

import pandas as pd

from .files import write_table, write_text
from .report import REPORT_CSS

from ..constants import SOL_S


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
    plt = _mpl()
    col = _colours(result.names)
    table = sessions_per_sol(result)
    fig, ax = plt.subplots(figsize=(10, 3.0))
    names = result.names
    labels = [f"{a}\nsol {k}" for a, k in zip(table["asset"], table["sol"])]
    w = 0.8 / max(1, len(names))
    for i, n in enumerate(names):
        ax.bar([x + (i - (len(names) - 1) / 2) * w for x in range(len(table))], table[n], width=w, color=col[n],
               label=n)
    step = max(1, len(labels) // 16)
    ax.set_xticks(range(0, len(labels), step), labels[::step], fontsize=7)
    ax.set_ylabel("relay sessions")
    ax.set_title("Sessions per mission sol of each asset", fontsize=11, pad=26)
    ax.grid(alpha=0.3)
    _legend_above(ax, len(names))
    return fig


_INTS = {"sessions", "decisional_sols_met", "violations", "sol"}


def _fmt(v, col: str = "") -> str:
    if v is None:
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
        return f"{v:{sign},.3f}" if abs(v) < 1000 else f"{v:{sign},.1f}"
    return str(v)


def _cls(col: str, v) -> str:
    classes = []
    if col in ("config", "name", "status", "asset", "limited_by"):
        classes.append("l")
    if col.startswith("d_") and isinstance(v, (int, float)) and math.isfinite(float(v)) and v != 0:
        good = v > 0 if "latency" not in col else v < 0
        classes.append("ok" if good else "bad")
    return " ".join(classes)


def html_table(df: pd.DataFrame, table_id: str) -> str:
    if df is None or not len(df):
        return f"<table id='{table_id}'><tbody><tr><td>(none)</td></tr></tbody></table>"
    head = "".join(f"<th class='{'l' if c in ('config', 'name', 'status', 'asset') else ''}'>"
                   f"{html.escape(HEADERS.get(str(c), str(c)))}</th>" for c in df.columns)
    rows = []
    for rec in df.itertuples(index=False):
        cells = "".join(f"<td class='{_cls(c, v)}'>{html.escape(_fmt(v, c))}</td>" for c, v in zip(df.columns, rec))
        rows.append(f"<tr>{cells}</tr>")
    return f"<table id='{table_id}'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def render_compare(result) -> str:
    """compare.html as one string (deterministic for the same inputs)."""
    charts = [
        ("delivered per asset", png_data_uri(chart_delivered_per_asset(result))),
        ("cumulative delivered", png_data_uri(chart_cumulative(result))),
        ("sessions per sol", png_data_uri(chart_sessions_per_sol(result))),
    ]
    imgs = "".join(f"<p><img class='chart' alt='{html.escape(a)}' src='{c}'></p>" for a, c in charts)
    parts = []
    for table_id, title, scope, columns in _TABLES:
        t = result.table[result.table["scope"] == scope]
        cols = [c for c in columns if c in t.columns]
        parts.append(f"<h2>{html.escape(title)}</h2>{html_table(t[cols], table_id)}")
    src_rows = "".join(
        f"<tr><td class='l'>{html.escape(n)}</td><td class='l'>{html.escape(str(result.sources.get(n, '')))}</td>"
        f"<td class='l'>{html.escape(', '.join(f'{k}={v}' for k, v in (result.overrides.get(n) or {}).items()))}</td></tr>"
        for n in result.names)
    first = html.escape(result.names[0])
    title = "relay compare: " + html.escape(" vs ".join(result.names))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title><style>{REPORT_CSS}
td.ok{{color:#116329}} td.bad{{color:#b42318}} th{{white-space:normal;max-width:9em;vertical-align:bottom}}
body{{max-width:1360px}}</style></head>
<body>
<h1>{title}</h1>
<p class="meta">{html.escape(result.start)}, {result.days:g} days; every "change" is against
<b>{first}</b> (green: better than {first}). <b>Link utilisation</b> is the time in relay sessions over
the time of all candidate passes (each orbiter's passes counted). <b>Spare link capacity</b> is the UHF
volume the candidate passes could carry (whole passes, each orbiter's counted) less what was relayed:
a variant that changes nothing while spare capacity stays high is limited by something else.
<b>Limited by</b> (per asset, most of its sols): data (it sent all it had), link (the passes offered no
more), earth (orbiter store or downlinks) or constraint (exclusivity, caps, energy, wake windows).</p>
<h2>Configurations</h2>
<table id="configs"><thead><tr><th class="l">config</th><th class="l">source</th><th class="l">overrides</th></tr></thead>
<tbody>{src_rows}</tbody></table>
{parts[0]}
{parts[1]}
<h2>Charts</h2>{imgs}
{''.join(parts[2:])}
<h2>Sessions per mission sol</h2>{html_table(sessions_per_sol(result), 'table-sols')}
</body></html>
"""


def write_compare(result, out_dir: str | Path) -> list[Path]:
    """Write ``compare.csv`` (the whole table) and ``compare.html`` atomically; return their paths."""
    out = Path(out_dir)
    csv, page = out / "compare.csv", out / "compare.html"
    write_table(result.table, csv)
    write_text(page, render_compare(result))
    return [csv, page]
