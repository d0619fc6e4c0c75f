"""The human report of a plan: one self-contained ``report.html``.

Charts are drawn with matplotlib (Agg, no display) and embedded as base64
PNG, so the file opens anywhere with no network: a Gantt chart of the relay
sessions and downlinks per orbiter and per asset, the store fill of each
orbiter over time, and the delivered volume per asset; then the summary and
the session table.
"""

from __future__ import annotations

import base64
import html
import io
from datetime import datetime

import pandas as pd

from ..summary import PlanSummary

REPORT_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1b1f24}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px}
.meta{color:#57606a;font-size:13px} table{border-collapse:collapse;font-size:12px;margin:6px 0}
th,td{border:1px solid #d0d7de;padding:3px 7px;text-align:right} th{background:#f6f8fa}
td.l,th.l{text-align:left} .bad{color:#b42318;font-weight:600} .ok{color:#116329;font-weight:600}
img{max-width:100%;border:1px solid #eaeef2}
"""


def png_data_uri(fig) -> str:
    """A matplotlib figure as an inline PNG data URI (the figure is closed)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _times(iso: pd.Series) -> list[datetime]:
    return [datetime.fromisoformat(s.replace("Z", "+00:00")) for s in iso]


def _gantt(sessions: pd.DataFrame, downlinks: pd.DataFrame, by: str, title: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    lanes = sorted(set(sessions[by])) if len(sessions) else []
    if by == "orbiter" and len(downlinks):
        lanes = sorted(set(lanes) | set(downlinks["orbiter"]))
    fig, ax = plt.subplots(figsize=(12, 0.5 + 0.45 * max(1, len(lanes))))
    colours = {k: plt.cm.tab10(i % 10) for i, k in enumerate(sorted(set(sessions.get("asset", []))))}
    for i, lane in enumerate(lanes):
        sub = sessions[sessions[by] == lane]
        for s, e, a, kind in zip(_times(sub["start"]), _times(sub["end"]), sub["asset"], sub["kind"]):
            ax.barh(i, mdates.date2num(e) - mdates.date2num(s), left=mdates.date2num(s), height=0.6,
                    color=colours.get(a, "grey"), hatch="//" if kind == "forward" else None, edgecolor="none")
        if by == "orbiter" and len(downlinks):
            dl = downlinks[downlinks["orbiter"] == lane]
            for s, e in zip(_times(dl["start"]), _times(dl["end"])):
                ax.barh(i + 0.35, mdates.date2num(e) - mdates.date2num(s), left=mdates.date2num(s),
                        height=0.12, color="#444", edgecolor="none")
    ax.set_yticks(range(len(lanes)), lanes)
    ax.xaxis_date()
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d\n%H:%M"))
    ax.set_title(title, fontsize=11, pad=22)
    ax.grid(axis="x", alpha=0.3)
    if colours:
        from matplotlib.patches import Patch

        handles = [Patch(color=c, label=a) for a, c in colours.items()]
        if by == "orbiter":
            handles.append(Patch(color="#444", label="downlink"))
        ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.0), fontsize=8, ncol=len(handles),
                  frameon=False)
    return fig


def _store(store: pd.DataFrame):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(12, 3))
    for orb, sub in store.groupby("orbiter", sort=True):
        ax.step(_times(sub["time"]), sub["fill_mbit"], where="post", label=orb)
    ax.set_ylabel("store fill (Mbit)")
    ax.set_title("Orbiter store fill (relay data aboard)", fontsize=11)
    ax.grid(alpha=0.3)
    if len(store):
        ax.legend(fontsize=8)
    return fig


def _delivered(summary: PlanSummary):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    per = summary.figures.delivered_by_asset
    fig, ax = plt.subplots(figsize=(6, 2.6))
    names = sorted(per)
    ax.barh(names, [per[n] for n in names], color="#2f81f7")
    ax.set_xlabel("delivered to Earth (Mbit)")
    ax.set_title("Delivered volume per asset", fontsize=11)
    ax.grid(axis="x", alpha=0.3)
    return fig


def _table(df: pd.DataFrame, left: tuple[str, ...] = ()) -> str:
    if df is None or not len(df):
        return "<p class='meta'>(none)</p>"
    head = "".join(f"<th class='{'l' if c in left else ''}'>{html.escape(str(c))}</th>" for c in df.columns)
    rows = []
    for rec in df.itertuples(index=False):
        cells = []
        for c, v in zip(df.columns, rec):
            if isinstance(v, float):
                v = f"{v:,.3f}" if abs(v) < 1000 else f"{v:,.1f}"
            cells.append(f"<td class='{'l' if c in left else ''}'>{html.escape(str(v))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _num(x) -> str:
    return "n/a" if x is None else f"{x:,.1f}"


def render_report(sessions: pd.DataFrame, downlinks: pd.DataFrame, store: pd.DataFrame,
                  summary: PlanSummary) -> str:
    """The whole report as one HTML string (deterministic for the same inputs)."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "relay"
    matplotlib.rcParams["text.parse_math"] = False  # user strings ($, \\) are plain text, never mathtext
    rep, fig = summary.solve, summary.figures
    status, gap = rep.status, rep.gap
    ok = status == "OPTIMAL"
    viol = [v.to_json() for v in fig.violations]
    kv = [
        ("scenario", summary.scenario or ""),
        ("span", f"{summary.start or ''} to {summary.end or ''}"),
        ("solver status", status),
        ("delivered to Earth (Mbit)", f"{fig.delivered_mbit:,.1f}"),
        ("objective / best bound (points)", f"{_num(rep.objective_points)} / {_num(rep.bound)}"),
        ("relative gap", "n/a" if gap is None else f"{100 * gap:.3f} %"),
        ("greedy baseline (Mbit)", _num(rep.greedy_delivered_mbit)),
        ("gain over greedy", "n/a" if rep.gain_vs_greedy_pct is None else f"{rep.gain_vs_greedy_pct:+.2f} %"),
        ("solve time (s)", "n/a" if rep.solve_time_s is None else f"{rep.solve_time_s:.2f}"),
        ("solar conjunction", "yes: no commanded sessions" if fig.conjunction else "no"),
        ("violated requirements", str(len(viol))),
    ] + ([("note", rep.note)] if rep.note else [])
    summary_rows = "".join(f"<tr><th class='l'>{html.escape(k)}</th><td class='l'>{html.escape(str(v))}</td></tr>"
                           for k, v in kv)
    per_asset = pd.DataFrame({"asset": sorted(fig.delivered_by_asset)})
    if len(per_asset):
        names = per_asset["asset"]
        per_asset["delivered_mbit"] = [fig.delivered_by_asset[a] for a in names]
        per_asset["sessions"] = [fig.sessions_by_asset.get(a, 0) for a in names]
        lat = summary.latency_by_asset
        per_asset["mean_latency_h"] = [lat[a].mean_h if a in lat else float("nan") for a in names]
        per_asset["worst_latency_h"] = [lat[a].worst_h if a in lat else float("nan") for a in names]
        if fig.decisional_sols_met:
            per_asset["decisional_sols"] = [fig.decisional_sols_met.get(a, 0) for a in names]
    charts = [
        png_data_uri(_gantt(sessions, downlinks, "orbiter", "Relay sessions and downlinks per orbiter")),
        png_data_uri(_gantt(sessions, downlinks.iloc[0:0] if len(downlinks) else downlinks, "asset",
                    "Relay sessions per asset (hatched: forward link)")),
        png_data_uri(_store(store)),
        png_data_uri(_delivered(summary)),
    ]
    imgs = "".join(f"<p><img alt='chart {i + 1}' src='{c}'></p>" for i, c in enumerate(charts))
    viol_html = _table(pd.DataFrame(viol), left=("asset", "requirement", "detail")) if viol else \
        "<p class='ok'>Every requirement is met.</p>"
    cols = [c for c in ["orbiter", "asset", "start", "end", "duration_s", "volume_mbit", "kind", "pass_id"]
            if c in sessions.columns]
    title = f"relay plan: {html.escape(str(summary.scenario or ''))}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title><style>{REPORT_CSS}</style></head>
<body>
<h1>{title}</h1>
<p class="meta">{html.escape(str(summary.start or ''))} to {html.escape(str(summary.end or ''))},
status <span class="{'ok' if ok else 'bad'}">{html.escape(status)}</span></p>
<h2>Summary</h2><table id="summary">{summary_rows}</table>
<h2>Delivered per asset</h2><div id="per-asset">{_table(per_asset, left=("asset",))}</div>
<h2>Charts</h2>{imgs}
<h2>Requirements</h2><div id="violations">{viol_html}</div>
<h2>Sessions</h2><div id="sessions">{_table(sessions[cols] if len(sessions) else sessions, left=("orbiter", "asset", "start", "end", "kind"))}</div>
<h2>Downlinks</h2><div id="downlinks">{_table(downlinks[[c for c in ["orbiter", "station", "start", "end", "volume_mbit"] if c in downlinks.columns]] if len(downlinks) else downlinks, left=("orbiter", "station", "start", "end"))}</div>
</body></html>
"""

