"""The nightly archive's comparison: two archived runs over their common span (``relay diff``).

The rules of the comparison (sessions unchanged, changed, moved, added,
removed; volume per asset) are :mod:`relay.plandiff`'s; this module picks the
runs and their common span from the archive (the run list is
:mod:`relay.nightly.history`'s).
"""

from __future__ import annotations

from ..errors import RelayInputError
from ..plandiff import diff_sessions, latency_rows
from ..summary import PlanSummary
from ..timescales import tdb_s_to_iso


def diff_runs(archive, run_a: int | None = None, run_b: int | None = None) -> dict:
    """Diff two archived runs (default: the last two good runs) over their common span."""
    if run_a is None or run_b is None:
        good = archive.good_runs()
        if len(good) < 2:
            raise RelayInputError(f"has {len(good)} planned run(s); a diff needs two (or name RUN_A RUN_B)",
                                  source=str(archive.path))
        ra, rb = good[-2], good[-1]
    else:
        ra, rb = archive.run(run_a), archive.run(run_b)
    for r in (ra, rb):
        if r["exit_code"] not in (0, 3):
            raise RelayInputError(f"run {r['id']} failed (exit {r['exit_code']}) and has no plan to compare",
                                  source=str(archive.path))
    sa, sb = (PlanSummary.from_json(r.get("summary") or {}) for r in (ra, rb))
    lo = max(float(ra["plan_start_tdb_s"]), float(rb["plan_start_tdb_s"]))
    hi = min(float(ra["plan_start_tdb_s"]) + 86400.0 * float(ra["days"]),
             float(rb["plan_start_tdb_s"]) + 86400.0 * float(rb["days"]))
    unit = max(sa.figures.volume_unit_mbit, sb.figures.volume_unit_mbit)
    d = diff_sessions(archive.sessions(ra["id"]), archive.sessions(rb["id"]), lo, hi, unit)
    d.update(run_before=ra["id"], run_after=rb["id"], span_start=tdb_s_to_iso(lo), span_end=tdb_s_to_iso(hi),
             delivered_before_mbit=sa.delivered_mbit, delivered_after_mbit=sb.delivered_mbit,
             latency_by_asset=latency_rows(sa.latency_by_asset, sb.latency_by_asset),
             latency_over=" of the whole plans")
    return d
