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


_COLUMNS = {
    "total": ["config", "status", "delivered_mbit", "d_delivered_mbit", "d_delivered_pct", "sessions", "d_sessions",
              "session_hours", "mean_latency_h", "d_mean_latency_h", "worst_latency_h", "d_worst_latency_h",
              "decisional_sols_met", "d_decisional_sols_met", "utilisation_pct", "d_utilisation_pct",
              "violations", "gap", "solve_time_s"],
    "asset": ["config", "name", "delivered_mbit", "d_delivered_mbit", "d_delivered_pct", "sessions", "d_sessions",
              "mean_latency_h", "worst_latency_h", "d_worst_latency_h", "decisional_sols_met",
              "d_decisional_sols_met", "utilisation_pct", "violations"],
    "orbiter": ["config", "name", "delivered_mbit", "d_delivered_mbit", "d_delivered_pct", "sessions", "d_sessions",
                "session_hours", "utilisation_pct", "d_utilisation_pct"],
}


def _mpl():
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["text.parse_math"] = False  # user strings ($, \\) are plain text, never mathtext
    import matplotlib.pyplot as plt

    return plt


def _times(iso) -> list[datetime]:
    return [datetime.fromisoformat(str(s).replace("Z", "+00:00")) for s in iso]


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
    ax.set_title("Delivered volume per asset", fontsize=11)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
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
    ax.set_title(f"Cumulative volume delivered over time ({' / '.join(sorted(what))})", fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def sessions_per_sol(result) -> pd.DataFrame:
    """Sessions per sol (sol 1 starts at the horizon start), one column per config."""
    from ..timescales import parse_utc, utc_to_tdb_s

    t0 = utc_to_tdb_s(parse_utc(result.start, where="start"))
    nsol = max(1, int(math.ceil(result.days * 86400.0 / SOL_S)))
    out = pd.DataFrame({"sol": range(1, nsol + 1)})
    for n in result.names:
        s = result.plans[n].sessions
        counts = [0] * nsol
        if s is not None and len(s) and "start_tdb_s" in s.columns:
            for x in s["start_tdb_s"].astype(float):
                k = int((x - t0) // SOL_S)
                if 0 <= k < nsol:
                    counts[k] += 1
        out[n] = counts
    return out


def chart_sessions_per_sol(result):
    plt = _mpl()
    col = _colours(result.names)
    table = sessions_per_sol(result)
    fig, ax = plt.subplots(figsize=(10, 3.0))
    names = result.names
    w = 0.8 / max(1, len(names))
    for i, n in enumerate(names):
        ax.bar(table["sol"] + (i - (len(names) - 1) / 2) * w, table[n], width=w, color=col[n], label=n)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("sol of the horizon (sol 1 starts at the start)")
    ax.set_ylabel("relay sessions")
    ax.set_title("Sessions per sol", fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


_INTS = {"sessions", "decisional_sols_met", "violations", "sol"}


def _fmt(v, col: str = "") -> str:
    if v is None:
        return ""
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
    if col in ("config", "name", "status"):
        classes.append("l")
    if col.startswith("d_") and isinstance(v, (int, float)) and math.isfinite(float(v)) and v != 0:
        good = v > 0 if "latency" not in col else v < 0
        classes.append("ok" if good else "bad")
    return " ".join(classes)


def html_table(df: pd.DataFrame, table_id: str) -> str:
    if df is None or not len(df):
        return f"<table id='{table_id}'><tbody><tr><td>(none)</td></tr></tbody></table>"
    head = "".join(f"<th class='{'l' if c in ('config', 'name', 'status') else ''}'>{html.escape(c)}</th>"
                   for c in df.columns)
    rows = []
    for rec in df.itertuples(index=False):
        cells = "".join(f"<td class='{_cls(c, v)}'>{html.escape(_fmt(v, c))}</td>" for c, v in zip(df.columns, rec))
        rows.append(f"<tr>{cells}</tr>")
    return (f"<div class='wide'><table id='{table_id}'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>")


def render_compare(result) -> str:
    """compare.html as one string (deterministic for the same inputs)."""
    charts = [
        ("delivered per asset", png_data_uri(chart_delivered_per_asset(result))),
        ("cumulative delivered", png_data_uri(chart_cumulative(result))),
        ("sessions per sol", png_data_uri(chart_sessions_per_sol(result))),
    ]
    imgs = "".join(f"<p><img class='chart' alt='{html.escape(a)}' src='{c}'></p>" for a, c in charts)
    parts = []
    for scope, title in (("total", "Totals (differences against the first config)"),
                         ("asset", "Per asset"), ("orbiter", "Per orbiter")):
        t = result.table[result.table["scope"] == scope]
        cols = [c for c in _COLUMNS[scope] if c in t.columns]
        parts.append(f"<h2>{title}</h2>{html_table(t[cols], f'table-{scope}')}")
    src_rows = "".join(
        f"<tr><td class='l'>{html.escape(n)}</td><td class='l'>{html.escape(str(result.sources.get(n, '')))}</td>"
        f"<td class='l'>{html.escape(', '.join(f'{k}={v}' for k, v in (result.overrides.get(n) or {}).items()))}</td></tr>"
        for n in result.names)
    first = html.escape(result.names[0])
    title = "relay compare: " + html.escape(" vs ".join(result.names))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title><style>{REPORT_CSS}
td.ok{{color:#116329}} td.bad{{color:#b42318}} .wide{{overflow-x:auto}}</style></head>
<body>
<h1>{title}</h1>
<p class="meta">{html.escape(result.start)}, {result.days:g} days; differences (d_...) are against
<b>{first}</b>; latency in hours (green: better than {first}).</p>
<h2>Configurations</h2>
<table id="configs"><thead><tr><th class="l">config</th><th class="l">source</th><th class="l">overrides</th></tr></thead>
<tbody>{src_rows}</tbody></table>
{parts[0]}
<h2>Charts</h2>{imgs}
{''.join(parts[1:])}
<h2>Sessions per sol</h2>{html_table(sessions_per_sol(result), 'table-sols')}
</body></html>
"""


def write_compare(result, out_dir: str | Path) -> list[Path]:
    """Write ``compare.csv`` (the whole table) and ``compare.html`` atomically; return their paths."""
    out = Path(out_dir)
    csv, page = out / "compare.csv", out / "compare.html"
    write_table(result.table, csv)
    write_text(page, render_compare(result))
    return [csv, page]
