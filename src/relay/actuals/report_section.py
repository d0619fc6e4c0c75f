"""The plan folder's report.html with its "Predicted vs achieved" section (issue 22).

:func:`actuals_view` makes the section's tables from a plan folder's :class:`Ledger`
(:mod:`relay.actuals.accounting`'s figures: per pair, per asset and sol with the data aboard at
the end of each sol, per session with the reports' notes, the reports matching no session and
the data aboard at the latest report) and :func:`render_report_section` puts the section
(:mod:`relay.outputs.actuals_views`) in the folder's report.html.

report.html is a file of the plan's manifest (manifest.json lists its size and sha256), so the
folder is rewritten as a whole, the way :mod:`relay.planfolder` writes a plan
(:func:`relay.planfolder.replace_plan_files`): a copy ``OUT.tmp-PID`` beside it (every other file hard-linked,
or copied where the file system cannot link: relay never changes a file in place), the new
report.html and manifest.json (the same manifest, report.html's entry updated) written in it, then
swapped in for the folder in one step (:func:`relay.planfolder.swap_in`).  A reader finds the old
folder or the new one, each whole and verifying.
"""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ..errors import RelayInputError
from ..fileio import read_text
from ..outputs.actuals_views import ActualsView, render_section, splice_section
from ..planfolder import MAX_PLAN_FILE_BYTES, replace_plan_files
from ..timescales import tdb_s_to_iso
from .accounting import Ledger, aboard_at, aboard_by_sol, latest_report_tdb_s, ledger, pair_accounts, \
    session_accounts, sol_accounts

REPORT_FILE = "report.html"
#: the columns of the view's sessions
SESSION_COLUMNS = ["option_id", "orbiter", "asset", "sol", "start", "predicted_mbit", "planned_mbit", "achieved_mbit",
                   "outcome", "shortfall_mbit", "ratio", "end", "note", "report", "mu", "sigma"]


def _sessions(led: Ledger) -> pd.DataFrame:
    """Every planned session's account with its end, the report's note and place, and the
    calibrated spread the plan gave its option (NaN without a calibration)."""
    acc = session_accounts(led)
    if not len(acc):
        return pd.DataFrame(columns=SESSION_COLUMNS)
    rep = led.actuals[led.actuals["option_id"] != ""].set_index("option_id")
    ends = dict(zip(led.planned["option_id"], led.planned["end"]))
    conf = led.problem.confidence
    spread = {o.option_id: (o.mu, o.sigma) for o in conf.options} if conf is not None else {}
    nan = (float("nan"), float("nan"))
    return acc.assign(
        end=[ends.get(o, "") for o in acc["option_id"]],
        note=[str(rep.at[o, "note"]) if o in rep.index else "" for o in acc["option_id"]],
        report=[f"{rep.at[o, 'source']} line {rep.at[o, 'line']}" if o in rep.index else "" for o in acc["option_id"]],
        mu=[spread.get(o, nan)[0] for o in acc["option_id"]], sigma=[spread.get(o, nan)[1] for o in acc["option_id"]])


def _unmatched(led: Ledger) -> pd.DataFrame:
    extra = led.actuals[led.actuals["option_id"] == ""]
    return pd.DataFrame({"orbiter": extra["orbiter"], "asset": extra["asset"], "start": extra["start"],
                         "end": extra["end"], "achieved_mbit": extra["achieved_mbit"].astype(float),
                         "outcome": extra["outcome"], "note": extra["note"].astype(str),
                         "report": [f"{s} line {n}" for s, n in zip(extra["source"], extra["line"])]})


def actuals_view(led: Ledger) -> ActualsView:
    """The section's tables of a plan folder's ledger (see the module docstring)."""
    t = latest_report_tdb_s(led)
    names = sorted(a.name for a in led.problem.assets) if t is not None else []
    aboard = pd.DataFrame({"asset": names, "backlog_mbit": [float(aboard_at(led, n, [t])[0]) for n in names]})
    sols = sol_accounts(led)
    conf = led.problem.confidence
    label = (conf.calibration or "calibrated") if conf is not None and any(
        (o.mu, o.sigma) != (0.0, 0.0) for o in conf.options) else ""
    return ActualsView(pair_accounts(led), _sessions(led), aboard_by_sol(led, sols) if len(sols) else sols,
                       _unmatched(led), aboard, str(tdb_s_to_iso(t)) if t is not None else "", label)


def render_report_section(plan_dir) -> Path | None:
    """Put the "Predicted vs achieved" section of the reports stored in ``plan_dir`` in its
    report.html, the folder rewritten as a whole (:func:`relay.planfolder.replace_plan_files`); the
    report's path, or None when the folder has no report.html (nothing is written then)."""
    out = Path(plan_dir)
    led = ledger(out)
    path = out / REPORT_FILE
    if not os.path.lexists(path):
        return None
    page = read_text(path, "plan report (report.html)", MAX_PLAN_FILE_BYTES)
    text = splice_section(page, render_section(actuals_view(led)))
    if text == page:
        return path
    try:
        replace_plan_files(out, {REPORT_FILE: text})
    except OSError as exc:
        raise RelayInputError(f"cannot rewrite the plan folder with its report: {exc.strerror or exc}",
                              source=str(out)) from None
    return path


__all__ = ["REPORT_FILE", "actuals_view", "render_report_section"]
